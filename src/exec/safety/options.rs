//! Command-line options, parsed per program from a table: which options take a value.
//!
//! Reading a command by position goes wrong as soon as an option sits before the verb
//! (`helm -n ns uninstall`, `systemctl -H host restart`, `etcdctl --endpoints x del`) or short
//! options are bundled (`curl -sXDELETE`, `sed -Ei`, `sudo -iu root`). [`parse`] reads a word
//! list the way the program's own parser does: `--long=value`, `--long value` for the long
//! options in [`Spec::long`], bundles of short flags where a letter in [`Spec::short`] takes
//! the rest of the bundle or the next word, letters in [`Spec::optional`] that take only an
//! attached value (`-i.bak`), `--` ending the options, and (for wrappers, [`Spec::posix`])
//! options ending at the first operand.
//!
//! To teach it a program, add a [`Spec`] to [`SPECS`] (or use [`Spec::of`] with a name that
//! is not there, which parses with no option taking a value) and a row in the table test.

/// How a program's options are spelled.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub names: &'static [&'static str],
    /// Short options that take a value (attached, `-XDELETE`, or the next word).
    pub short: &'static str,
    /// Short options whose value is optional and only ever attached (`sed -i.bak`).
    pub optional: &'static str,
    /// Long options (without `--`) that take a value (`--request DELETE`, `--request=DELETE`).
    pub long: &'static [&'static str],
    /// Options end at the first operand: what follows is another command (`sudo`, `env`).
    pub posix: bool,
}

/// One option as given: its name without dashes (`X`, `request`), and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opt {
    pub name: String,
    pub value: Option<String>,
}

/// A command line read with a [`Spec`].
#[derive(Debug, Clone, Default)]
pub struct Parsed {
    pub opts: Vec<Opt>,
    pub operands: Vec<String>,
    /// For a [`Spec::posix`] program: the index in the words where the operands start (the
    /// wrapped command), else the number of words.
    pub rest: usize,
}

impl Parsed {
    /// Was any of `names` given (`"i"`, `"in-place"`)?
    pub fn has(&self, names: &[&str]) -> bool {
        self.opts.iter().any(|o| names.contains(&o.name.as_str()))
    }

    /// The last value given to any of `names`.
    pub fn value(&self, names: &[&str]) -> Option<&str> {
        self.opts
            .iter()
            .rev()
            .find(|o| names.contains(&o.name.as_str()))
            .and_then(|o| o.value.as_deref())
    }

    /// Every value given to any of `names`, in order.
    pub fn values<'a>(&'a self, names: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
        self.opts
            .iter()
            .filter(move |o| names.contains(&o.name.as_str()))
            .filter_map(|o| o.value.as_deref())
    }

    /// The first operand (the sub-command of most tools).
    pub fn first(&self) -> Option<&str> {
        self.operands.first().map(String::as_str)
    }
}

const NONE: Spec = Spec {
    names: &[],
    short: "",
    optional: "",
    long: &[],
    posix: false,
};

impl Spec {
    /// The spec for `program`, or one where no option takes a value.
    pub fn of(program: &str) -> &'static Spec {
        SPECS
            .iter()
            .find(|s| s.names.contains(&program))
            .unwrap_or(&NONE)
    }
}

/// Reads `args` (the words after the program name) with `spec`.
pub fn parse(spec: &Spec, args: &[String]) -> Parsed {
    let mut out = Parsed {
        rest: args.len(),
        ..Parsed::default()
    };
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let w = word.as_str();
        if w == "--" {
            out.rest = i + 1;
            out.operands.extend(args[i + 1..].iter().cloned());
            return out;
        }
        if let Some(long) = w.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let value = if attached.is_none() && spec.long.contains(&name) {
                i += 1;
                args.get(i).cloned()
            } else {
                attached
            };
            out.opts.push(Opt {
                name: name.to_owned(),
                value,
            });
        } else if w.len() > 1 && w.starts_with('-') {
            let bundle = &w[1..];
            for (k, c) in bundle.char_indices() {
                let after = &bundle[k + c.len_utf8()..];
                if spec.short.contains(c) {
                    let value = if after.is_empty() {
                        i += 1;
                        args.get(i).cloned()
                    } else {
                        Some(after.to_owned())
                    };
                    out.opts.push(Opt {
                        name: c.to_string(),
                        value,
                    });
                    break;
                }
                if spec.optional.contains(c) {
                    out.opts.push(Opt {
                        name: c.to_string(),
                        value: (!after.is_empty()).then(|| after.to_owned()),
                    });
                    break;
                }
                out.opts.push(Opt {
                    name: c.to_string(),
                    value: None,
                });
            }
        } else if spec.posix {
            out.rest = i;
            out.operands.extend(args[i..].iter().cloned());
            return out;
        } else {
            out.operands.push(word.clone());
        }
        i += 1;
    }
    out
}

/// Programs whose options matter to the classifier. Only options that take a value are
/// listed; any other option is a flag.
pub const SPECS: &[Spec] = &[
    Spec {
        names: &["sudo"],
        short: "uUgpChDrtTR",
        optional: "",
        long: &[
            "user",
            "group",
            "prompt",
            "close-from",
            "chdir",
            "role",
            "type",
            "other-user",
            "command-timeout",
            "host",
            "chroot",
        ],
        posix: true,
    },
    Spec {
        names: &["doas"],
        short: "uC",
        optional: "",
        long: &[],
        posix: true,
    },
    Spec {
        names: &["pkexec"],
        short: "",
        optional: "",
        long: &["user"],
        posix: true,
    },
    Spec {
        names: &["su"],
        short: "cgGsw",
        optional: "",
        long: &[
            "command",
            "session-command",
            "group",
            "supp-group",
            "shell",
            "whitelist-environment",
        ],
        posix: false,
    },
    Spec {
        names: &["runuser"],
        short: "cgGsuw",
        optional: "",
        long: &[
            "command",
            "session-command",
            "group",
            "supp-group",
            "shell",
            "user",
            "whitelist-environment",
        ],
        posix: true,
    },
    Spec {
        names: &["env"],
        short: "uCS",
        optional: "",
        long: &[
            "unset",
            "chdir",
            "split-string",
            "default-signal",
            "ignore-signal",
            "block-signal",
        ],
        posix: true,
    },
    Spec {
        names: &["timeout"],
        short: "sk",
        optional: "",
        long: &["signal", "kill-after"],
        posix: true,
    },
    Spec {
        names: &["nice"],
        short: "n",
        optional: "",
        long: &["adjustment"],
        posix: true,
    },
    Spec {
        names: &["ionice"],
        short: "cnpPu",
        optional: "",
        long: &["class", "classdata", "pid", "pgid", "uid"],
        posix: true,
    },
    Spec {
        names: &["stdbuf"],
        short: "ioe",
        optional: "",
        long: &["input", "output", "error"],
        posix: true,
    },
    Spec {
        names: &["time"],
        short: "fo",
        optional: "",
        long: &["format", "output"],
        posix: true,
    },
    Spec {
        names: &[
            "setsid",
            "nohup",
            "chronic",
            "unbuffer",
            "builtin",
            "caffeinate",
        ],
        short: "",
        optional: "",
        long: &[],
        posix: true,
    },
    Spec {
        names: &["command"],
        short: "",
        optional: "",
        long: &[],
        posix: true,
    },
    Spec {
        names: &["exec"],
        short: "a",
        optional: "",
        long: &[],
        posix: true,
    },
    Spec {
        names: &["flock"],
        short: "wEc",
        optional: "",
        long: &["timeout", "wait", "conflict-exit-code", "command"],
        posix: true,
    },
    Spec {
        names: &["script"],
        short: "cEIOBTm",
        optional: "",
        long: &[
            "command",
            "echo",
            "log-in",
            "log-out",
            "log-io",
            "log-timing",
            "logging-format",
            "output-limit",
        ],
        posix: false,
    },
    Spec {
        names: &["xargs"],
        short: "IndPLEsa",
        optional: "ile",
        long: &[
            "max-args",
            "max-procs",
            "delimiter",
            "arg-file",
            "max-chars",
            "process-slot-var",
        ],
        posix: true,
    },
    Spec {
        names: &["watch"],
        short: "nq",
        optional: "",
        long: &["interval", "equexit"],
        posix: true,
    },
    Spec {
        names: &["nsenter"],
        short: "tSGe",
        optional: "mUiunpCTrw",
        long: &["target", "setuid", "setgid", "env"],
        posix: true,
    },
    Spec {
        names: &["chroot"],
        short: "",
        optional: "",
        long: &["userspec", "groups"],
        posix: true,
    },
    Spec {
        names: &["unshare"],
        short: "S",
        optional: "mUiunpCT",
        long: &["setuid", "setgid", "propagation", "setgroups", "wd", "root"],
        posix: true,
    },
    Spec {
        names: &["taskset"],
        short: "",
        optional: "",
        long: &[],
        posix: true,
    },
    Spec {
        names: &["chrt"],
        short: "T",
        optional: "",
        long: &["sched-runtime", "sched-period", "sched-deadline"],
        posix: true,
    },
    Spec {
        names: &["strace", "ltrace"],
        short: "eoOpsSuEIPXbaA",
        optional: "",
        long: &["output", "signal", "trace", "attach", "user", "env"],
        posix: true,
    },
    Spec {
        names: &["systemd-run"],
        short: "upEMH",
        optional: "",
        long: &[
            "unit",
            "property",
            "description",
            "slice",
            "setenv",
            "uid",
            "gid",
            "nice",
            "machine",
            "host",
            "working-directory",
            "on-active",
            "on-boot",
            "on-startup",
            "on-unit-active",
            "on-unit-inactive",
            "on-calendar",
            "timer-property",
            "path-property",
            "socket-property",
            "service-type",
        ],
        posix: true,
    },
    Spec {
        names: &["ssh"],
        short: "bcDEeFIiJLlmOopQRSWwB",
        optional: "",
        long: &[],
        posix: true,
    },
    Spec {
        names: &["bash", "sh", "zsh", "dash", "ksh", "ash", "busybox-sh"],
        short: "oO",
        optional: "",
        long: &["rcfile", "init-file"],
        posix: true,
    },
    Spec {
        names: &["kubectl", "oc", "k", "microk8s.kubectl", "kubecolor"],
        short: "nsvlocfLk",
        optional: "",
        long: &[
            "namespace",
            "kubeconfig",
            "context",
            "cluster",
            "user",
            "server",
            "token",
            "as",
            "as-group",
            "as-uid",
            "request-timeout",
            "cache-dir",
            "certificate-authority",
            "client-certificate",
            "client-key",
            "tls-server-name",
            "username",
            "password",
            "profile",
            "profile-output",
            "log-dir",
            "log-file",
            "log-file-max-size",
            "log-flush-frequency",
            "log-backtrace-at",
            "vmodule",
            "v",
            "stderrthreshold",
            "selector",
            "output",
            "container",
            "filename",
            "field-selector",
            "type",
            "image",
            "replicas",
            "timeout",
            "grace-period",
            "since",
            "since-time",
            "tail",
            "template",
            "sort-by",
            "label-columns",
            "chunk-size",
            "field-manager",
            "cascade",
            "for",
            "overrides",
            "port",
            "target-port",
            "name",
            "patch",
            "patch-file",
            "subresource",
            "raw",
            "resource-version",
            "kustomize",
            "prune-allowlist",
            "to-revision",
            "limits",
            "requests",
            "env",
            "from",
        ],
        posix: false,
    },
    Spec {
        names: &["helm"],
        short: "nfor",
        optional: "",
        long: &[
            "namespace",
            "kubeconfig",
            "kube-context",
            "kube-apiserver",
            "kube-token",
            "kube-as-user",
            "kube-as-group",
            "kube-ca-file",
            "kube-tls-server-name",
            "burst-limit",
            "qps",
            "registry-config",
            "repository-cache",
            "repository-config",
            "values",
            "set",
            "set-string",
            "set-file",
            "set-json",
            "version",
            "output",
            "timeout",
            "repo",
            "revision",
            "post-renderer",
            "description",
            "username",
            "password",
            "cert-file",
            "key-file",
            "ca-file",
        ],
        posix: false,
    },
    Spec {
        names: &["systemctl"],
        short: "tspPnoHM",
        optional: "",
        long: &[
            "type",
            "state",
            "signal",
            "property",
            "lines",
            "output",
            "host",
            "machine",
            "root",
            "image",
            "kill-whom",
            "kill-value",
            "what",
            "job-mode",
            "boot-loader-entry",
            "boot-loader-menu",
            "reboot-argument",
            "timestamp",
            "preset-mode",
            "message",
            "when",
            "drop-in",
            "check-inhibitors",
        ],
        posix: false,
    },
    Spec {
        names: &["journalctl"],
        short: "unpoSUbDMmFtIi",
        optional: "",
        long: &[
            "unit",
            "user-unit",
            "lines",
            "priority",
            "output",
            "since",
            "until",
            "boot",
            "directory",
            "file",
            "machine",
            "field",
            "identifier",
            "grep",
            "cursor",
            "after-cursor",
            "cursor-file",
            "facility",
            "namespace",
            "root",
            "image",
            "vacuum-size",
            "vacuum-time",
            "vacuum-files",
            "output-fields",
            "interval",
            "verify-key",
        ],
        posix: false,
    },
    Spec {
        names: &["curl"],
        short: "XdFHTouUAbcDeEKrwxyYzmCtQPh",
        optional: "",
        long: &[
            "request",
            "data",
            "data-ascii",
            "data-binary",
            "data-raw",
            "data-urlencode",
            "json",
            "form",
            "form-string",
            "header",
            "upload-file",
            "output",
            "output-dir",
            "user",
            "proxy-user",
            "user-agent",
            "cookie",
            "cookie-jar",
            "dump-header",
            "referer",
            "config",
            "range",
            "write-out",
            "proxy",
            "max-time",
            "connect-timeout",
            "cacert",
            "capath",
            "cert",
            "key",
            "cert-type",
            "key-type",
            "pass",
            "resolve",
            "connect-to",
            "retry",
            "retry-delay",
            "retry-max-time",
            "trace",
            "trace-ascii",
            "stderr",
            "interface",
            "limit-rate",
            "max-filesize",
            "oauth2-bearer",
            "aws-sigv4",
            "url",
            "unix-socket",
            "abstract-unix-socket",
            "noproxy",
            "ciphers",
            "tls-max",
            "expect100-timeout",
            "keepalive-time",
            "max-redirs",
            "quote",
            "variable",
            "url-query",
            "etag-save",
            "etag-compare",
            "hsts",
            "alt-svc",
            "libcurl",
            "netrc-file",
            "ftp-method",
            "ftp-port",
            "mail-from",
            "mail-rcpt",
            "request-target",
            "time-cond",
            "local-port",
        ],
        posix: false,
    },
    Spec {
        names: &["wget"],
        short: "OoaPeiBtTwQUYlDAIXRU",
        optional: "",
        long: &[
            "output-document",
            "output-file",
            "append-output",
            "directory-prefix",
            "execute",
            "input-file",
            "base",
            "tries",
            "timeout",
            "wait",
            "quota",
            "user-agent",
            "level",
            "domains",
            "accept",
            "reject",
            "include-directories",
            "exclude-directories",
            "method",
            "body-data",
            "body-file",
            "post-data",
            "post-file",
            "header",
            "user",
            "password",
            "http-user",
            "http-password",
            "load-cookies",
            "save-cookies",
            "ca-certificate",
            "certificate",
            "private-key",
            "config",
            "bind-address",
            "limit-rate",
        ],
        posix: false,
    },
    Spec {
        names: &["sed", "gsed"],
        short: "efl",
        optional: "i",
        long: &["expression", "file", "line-length"],
        posix: false,
    },
    Spec {
        names: &["perl"],
        short: "eE",
        optional: "il0xCIMmd",
        long: &[],
        posix: false,
    },
    Spec {
        names: &["awk", "gawk", "mawk", "nawk", "busybox-awk"],
        short: "fvFeiElW",
        optional: "",
        long: &[
            "file",
            "assign",
            "field-separator",
            "source",
            "include",
            "exec",
            "load",
            "dump-variables",
        ],
        posix: false,
    },
    Spec {
        names: &["python", "python2", "python3", "pypy", "pypy3"],
        short: "cmWXQ",
        optional: "",
        long: &["check-hash-based-pycs"],
        posix: true,
    },
    Spec {
        names: &["node", "nodejs", "deno", "bun"],
        short: "epr",
        optional: "",
        long: &["eval", "print", "require", "import", "loader", "input-type"],
        posix: true,
    },
    Spec {
        names: &[
            "ruby",
            "php",
            "lua",
            "Rscript",
            "osascript",
            "tclsh",
            "jshell",
        ],
        short: "erIfB",
        optional: "",
        long: &[],
        posix: true,
    },
    Spec {
        names: &["tee"],
        short: "",
        optional: "",
        long: &["output-error"],
        posix: false,
    },
    Spec {
        names: &["cp", "mv", "install", "ln"],
        short: "tSmogb",
        optional: "",
        long: &[
            "target-directory",
            "suffix",
            "mode",
            "owner",
            "group",
            "backup",
            "reflink",
            "sparse",
            "context",
        ],
        posix: false,
    },
    Spec {
        names: &["chmod", "chown", "chgrp"],
        short: "",
        optional: "",
        long: &["reference", "from"],
        posix: false,
    },
    Spec {
        names: &["rsync"],
        short: "eBTfM",
        optional: "",
        long: &[
            "rsh",
            "rsync-path",
            "exclude",
            "include",
            "exclude-from",
            "include-from",
            "filter",
            "temp-dir",
            "backup-dir",
            "suffix",
            "chmod",
            "chown",
            "log-file",
            "password-file",
            "partial-dir",
            "compare-dest",
            "copy-dest",
            "link-dest",
            "files-from",
            "port",
            "timeout",
            "bwlimit",
        ],
        posix: false,
    },
    Spec {
        names: &["sort"],
        short: "otTkS",
        optional: "",
        long: &[
            "output",
            "field-separator",
            "key",
            "temporary-directory",
            "buffer-size",
            "parallel",
            "files0-from",
            "compress-program",
            "batch-size",
            "sort",
            "random-source",
        ],
        posix: false,
    },
    Spec {
        names: &["uniq"],
        short: "fsw",
        optional: "",
        long: &[
            "skip-fields",
            "skip-chars",
            "check-chars",
            "group",
            "all-repeated",
        ],
        posix: false,
    },
    Spec {
        names: &["head", "tail"],
        short: "ncs",
        optional: "",
        long: &[
            "lines",
            "bytes",
            "sleep-interval",
            "pid",
            "max-unchanged-stats",
        ],
        posix: false,
    },
    Spec {
        names: &["grep", "egrep", "fgrep", "zgrep", "rg"],
        short: "efmABCdD",
        optional: "",
        long: &[
            "regexp",
            "file",
            "max-count",
            "after-context",
            "before-context",
            "context",
            "label",
            "include",
            "exclude",
            "exclude-dir",
            "color",
            "colour",
            "binary-files",
            "devices",
            "directories",
            "exclude-from",
            "group-separator",
        ],
        posix: false,
    },
    Spec {
        names: &["tar"],
        short: "fCTXbgHKLNV",
        optional: "",
        long: &[
            "file",
            "directory",
            "files-from",
            "exclude-from",
            "exclude",
            "blocking-factor",
            "listed-incremental",
            "format",
            "starting-file",
            "newer",
            "after-date",
            "label",
            "owner",
            "group",
            "mode",
            "mtime",
            "transform",
            "use-compress-program",
            "to-command",
            "info-script",
            "new-volume-script",
            "checkpoint-action",
            "index-file",
            "rsh-command",
        ],
        posix: false,
    },
    Spec {
        names: &["date"],
        short: "dfrs",
        optional: "I",
        long: &["date", "file", "reference", "set"],
        posix: false,
    },
    Spec {
        names: &["hostname"],
        short: "F",
        optional: "",
        long: &["file"],
        posix: false,
    },
    Spec {
        names: &["dmesg"],
        short: "Fflns",
        optional: "",
        long: &[
            "file",
            "facility",
            "level",
            "console-level",
            "buffer-size",
            "time-format",
        ],
        posix: false,
    },
    Spec {
        names: &["ip"],
        short: "nbfl",
        optional: "",
        long: &[],
        posix: false,
    },
    Spec {
        names: &[
            "iptables",
            "ip6tables",
            "iptables-legacy",
            "ip6tables-legacy",
            "iptables-nft",
        ],
        short: "tApsdijgo",
        optional: "",
        long: &[
            "table",
            "protocol",
            "source",
            "destination",
            "jump",
            "goto",
            "in-interface",
            "out-interface",
            "wait",
            "wait-interval",
            "match",
        ],
        posix: false,
    },
    Spec {
        names: &["crictl"],
        short: "rict",
        optional: "",
        long: &[
            "runtime-endpoint",
            "image-endpoint",
            "timeout",
            "config",
            "output",
            "name",
            "namespace",
            "label",
            "pod",
            "state",
            "image",
            "since",
            "tail",
            "until",
        ],
        posix: false,
    },
    Spec {
        names: &["ctr"],
        short: "na",
        optional: "",
        long: &["namespace", "address", "timeout", "connect-timeout"],
        posix: false,
    },
    Spec {
        names: &["docker", "podman", "nerdctl"],
        short: "Hclefwunpvm",
        optional: "",
        long: &[
            "host",
            "context",
            "config",
            "log-level",
            "namespace",
            "address",
            "format",
            "filter",
            "tail",
            "since",
            "until",
            "user",
            "workdir",
            "env",
            "name",
            "network",
            "volume",
            "label",
            "mount",
            "publish",
            "platform",
            "entrypoint",
            "signal",
            "time",
            "cidfile",
            "tls-ca",
        ],
        posix: false,
    },
    Spec {
        names: &["etcdctl"],
        short: "w",
        optional: "",
        long: &[
            "endpoints",
            "cacert",
            "cert",
            "key",
            "user",
            "password",
            "dial-timeout",
            "command-timeout",
            "keepalive-time",
            "keepalive-timeout",
            "write-out",
            "discovery-srv",
            "discovery-srv-name",
            "auth-jwt-token",
            "limit",
            "rev",
            "sort-by",
            "order",
            "lease",
            "data-dir",
            "name",
            "initial-cluster",
            "initial-cluster-token",
            "initial-advertise-peer-urls",
        ],
        posix: false,
    },
    Spec {
        names: &["openssl"],
        short: "",
        optional: "",
        long: &[],
        posix: false,
    },
    Spec {
        names: &["tcpdump"],
        short: "icCwrsWGEFyTzZBjM",
        optional: "",
        long: &["interface", "snapshot-length", "time-stamp-type"],
        posix: false,
    },
    Spec {
        names: &["nc", "ncat", "netcat"],
        short: "ipswqWTXxIOcsemePLCG",
        optional: "",
        long: &[],
        posix: false,
    },
    Spec {
        names: &["sysctl"],
        short: "",
        optional: "p",
        long: &["pattern"],
        posix: false,
    },
    Spec {
        names: &["jq", "yq"],
        short: "fL",
        optional: "",
        long: &[
            "arg",
            "argjson",
            "slurpfile",
            "rawfile",
            "args",
            "jsonargs",
            "indent",
            "from-file",
            "output-format",
            "input-format",
        ],
        posix: false,
    },
    Spec {
        names: &["dd"],
        short: "",
        optional: "",
        long: &[],
        posix: false,
    },
    Spec {
        names: &["ssh-keygen"],
        short: "bCEfFmNnOPtZaDgIhMrRSuVwzY",
        optional: "",
        long: &[],
        posix: false,
    },
    Spec {
        names: &["git"],
        short: "Cc",
        optional: "",
        long: &[
            "git-dir",
            "work-tree",
            "namespace",
            "exec-path",
            "config-env",
        ],
        posix: false,
    },
    Spec {
        names: &["apt", "apt-get", "aptitude"],
        short: "octS",
        optional: "",
        long: &["option", "config-file", "target-release"],
        posix: false,
    },
    Spec {
        names: &["yum", "dnf", "microdnf", "zypper"],
        short: "cdeRx",
        optional: "",
        long: &[
            "config",
            "installroot",
            "releasever",
            "enablerepo",
            "disablerepo",
            "exclude",
            "setopt",
            "repo",
        ],
        posix: false,
    },
    Spec {
        names: &["find"],
        short: "",
        optional: "",
        long: &[],
        posix: false,
    },
    Spec {
        names: &["shred", "truncate", "split"],
        short: "nslbCr",
        optional: "",
        long: &[
            "iterations",
            "size",
            "reference",
            "lines",
            "bytes",
            "line-bytes",
        ],
        posix: false,
    },
    Spec {
        names: &["vmtoolsd"],
        short: "",
        optional: "",
        long: &["cmd"],
        posix: false,
    },
    Spec {
        names: &["ps", "pgrep", "pkill"],
        short: "pUuGgtsCeoOFPn",
        optional: "",
        long: &[
            "format", "sort", "pid", "ppid", "user", "group", "signal", "session",
        ],
        posix: false,
    },
    Spec {
        names: &["printf"],
        short: "v",
        optional: "",
        long: &[],
        posix: false,
    },
    Spec {
        names: &["read"],
        short: "adinNptu",
        optional: "",
        long: &[],
        posix: false,
    },
    Spec {
        names: &["mapfile", "readarray"],
        short: "dnOsuCc",
        optional: "",
        long: &[],
        posix: false,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn bundles_and_attached_values() {
        let p = parse(Spec::of("curl"), &words("-sXDELETE https://x"));
        assert_eq!(p.value(&["X", "request"]), Some("DELETE"));
        assert!(p.has(&["s"]));
        assert_eq!(p.operands, ["https://x"]);
        let p = parse(Spec::of("curl"), &words("-sX DELETE https://x"));
        assert_eq!(p.value(&["X", "request"]), Some("DELETE"));
        assert_eq!(p.operands, ["https://x"]);
        let p = parse(
            Spec::of("curl"),
            &words("--request=PATCH -o /dev/null https://x"),
        );
        assert_eq!(p.value(&["X", "request"]), Some("PATCH"));
        assert_eq!(p.operands, ["https://x"]);
    }

    #[test]
    fn optional_values_are_attached_only() {
        let p = parse(Spec::of("sed"), &words("-Ei s/a/b/ f"));
        assert!(p.has(&["i"]) && p.has(&["E"]));
        assert_eq!(p.operands, ["s/a/b/", "f"]);
        let p = parse(Spec::of("sed"), &words("-i.bak s/a/b/ f"));
        assert_eq!(p.value(&["i"]), Some(".bak"));
        let p = parse(Spec::of("perl"), &words("-pi -e s/a/b/ f"));
        assert!(p.has(&["i"]) && p.has(&["p"]));
        assert_eq!(p.value(&["e"]), Some("s/a/b/"));
    }

    #[test]
    fn options_before_the_verb() {
        let p = parse(Spec::of("helm"), &words("-n ns uninstall app"));
        assert_eq!(p.first(), Some("uninstall"));
        let p = parse(Spec::of("systemctl"), &words("-H host restart kubelet"));
        assert_eq!(p.first(), Some("restart"));
        let p = parse(
            Spec::of("etcdctl"),
            &words("--endpoints https://e:2379 del /k"),
        );
        assert_eq!(p.first(), Some("del"));
        let p = parse(Spec::of("kubectl"), &words("--profile none delete pod x"));
        assert_eq!(p.first(), Some("delete"));
    }

    #[test]
    fn wrappers_stop_at_the_command() {
        let w = words("-iu root rm -rf /x");
        let p = parse(Spec::of("sudo"), &w);
        assert_eq!(p.value(&["u", "user"]), Some("root"));
        assert_eq!(&w[p.rest..], ["rm", "-rf", "/x"]);
        let w = words("-n 5 -- rm x");
        let p = parse(Spec::of("nice"), &w);
        assert_eq!(&w[p.rest..], ["rm", "x"]);
    }
}
