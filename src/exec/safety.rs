//! Is a command safe to run without asking? Classifies command text as destructive and/or
//! interactive, with human-readable reasons.
//!
//! The text is lexed by [`crate::exec::shell`] into simple commands (across pipelines, lists,
//! subshells, `$(...)`, backquotes; heredoc bodies are data, not commands), then each command
//! is looked at word by word: wrappers (`sudo`, `env`, `VAR=x`, `timeout`, `nohup`, `nice`,
//! `xargs`, `watch`, `bash -c '...'`, `ssh host CMD`, `kubectl exec -- CMD`) are peeled off
//! and the real program and its sub-command decide. Substring matches are never used, so
//! `kubectl get pods | grep delete` is read-only and `echo rm` is harmless.
//!
//! Decisions worth knowing:
//! - "Destructive" means "changes state somewhere": the cluster, a node, a registry, a remote
//!   API. `docker push` is destructive (it publishes or overwrites a tag others pull);
//!   `docker tag` is not (local only). `kubectl label`/`annotate` count only with
//!   `--overwrite` or a removal (`key-`), as additive labels are easily undone.
//! - `curl`/`wget` are destructive when their method is PUT/POST/DELETE/PATCH, given with
//!   `-X`/`--request`, implied by `--data*`/`--form`/`--json`/`--upload-file`, or
//!   wget's `--method`/`--post-data`/`--post-file`/`--body-data`.
//! - Writing under `/etc`, `/boot`, `/proc/sys`, `/sys` (a redirection, `tee`, `cp`, `mv`,
//!   `dd of=`, `sed -i`) is destructive.
//! - A fence attribute `destructive=true|false` or `interactive=true|false` overrides the
//!   verdict ([`classify_block`]); the linter warns about overrides.
//!
//! To add a program: give it an arm in [`Classifier::program`] (or a line in a table below),
//! and a row in the table test.

use std::path::Path;

use serde::Serialize;

use super::shell::{self, SimpleCommand};
use crate::runbook::Block;

/// The verdict about one command (block).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Classification {
    /// It changes state: ask before running it.
    pub destructive: bool,
    /// It needs the terminal (a shell, an editor, a pager, `-it`).
    pub interactive: bool,
    /// It opens a shell somewhere else (`ssh host`, `sudo --login`, `su`): what follows in the
    /// runbook is meant to be typed there, not run here.
    pub opens_shell: bool,
    /// Why, in words a user understands ("kubectl delete deletes resources").
    pub reasons: Vec<String>,
    /// A fence attribute decided `destructive` or `interactive` against the analysis.
    pub overridden: bool,
}

impl Classification {
    fn destructive(&mut self, reason: impl Into<String>) {
        self.destructive = true;
        self.push(reason.into());
    }

    fn interactive(&mut self, reason: impl Into<String>) {
        self.interactive = true;
        self.push(reason.into());
    }

    fn push(&mut self, reason: String) {
        if !self.reasons.contains(&reason) {
            self.reasons.push(reason);
        }
    }
}

/// Classifies a command text (a whole command block).
pub fn classify(command: &str) -> Classification {
    let mut c = Classifier {
        out: Classification::default(),
        depth: 0,
    };
    c.script(&neutralise_placeholders(command));
    c.out
}

/// `<key-name>` would lex as redirections: stand every placeholder in for a plain word
/// (`PLACEHOLDER_key_name`) before lexing.
fn neutralise_placeholders(command: &str) -> String {
    crate::runbook::placeholder::replace(command, |p, _| {
        format!("PLACEHOLDER_{}", p.name.replace('-', "_"))
    })
}

/// Classifies a block, honouring `destructive=` and `interactive=` fence attributes.
pub fn classify_block(block: &Block) -> Classification {
    let mut out = classify(&block.code);
    if let Some(v) = block.attribute("destructive").and_then(parse_bool) {
        if v != out.destructive {
            out.overridden = true;
            out.push(format!("the runbook marks it destructive={v}"));
        }
        out.destructive = v;
    }
    if let Some(v) = block.attribute("interactive").and_then(parse_bool) {
        if v != out.interactive {
            out.overridden = true;
            out.push(format!("the runbook marks it interactive={v}"));
        }
        out.interactive = v;
    }
    out
}

pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    }
}

/// Paths whose modification changes the system.
const SYSTEM_PATHS: &[&str] = &[
    "/etc/",
    "/boot/",
    "/proc/sys/",
    "/sys/",
    "/usr/",
    "/lib/systemd/",
];

fn is_system_path(path: &str) -> bool {
    let p = path.trim_matches(['"', '\'']);
    SYSTEM_PATHS
        .iter()
        .any(|root| p.starts_with(root) || p == root.trim_end_matches('/'))
}

struct Classifier {
    out: Classification,
    depth: usize,
}

/// Options (of a wrapper program) that take a separate value.
struct Opts<'a> {
    with_value: &'a [&'a str],
}

impl Opts<'_> {
    /// Index of the first non-option word after `words[0]`.
    fn skip(&self, words: &[String]) -> usize {
        let mut i = 1;
        while let Some(w) = words.get(i) {
            if w == "--" {
                return i + 1;
            }
            if !w.starts_with('-') || w == "-" {
                break;
            }
            if self.with_value.contains(&w.as_str()) {
                i += 1;
            }
            i += 1;
        }
        i
    }
}

const SUDO: Opts = Opts {
    with_value: &[
        "-u",
        "--user",
        "-g",
        "--group",
        "-h",
        "--host",
        "-p",
        "--prompt",
        "-C",
        "--close-from",
        "-D",
        "--chdir",
        "-r",
        "--role",
        "-t",
        "--type",
        "-U",
        "--other-user",
        "-T",
        "--command-timeout",
    ],
};
const ENV: Opts = Opts {
    with_value: &["-u", "--unset", "-C", "--chdir", "-S", "--split-string"],
};
const TIMEOUT: Opts = Opts {
    with_value: &["-s", "--signal", "-k", "--kill-after"],
};
const NICE: Opts = Opts {
    with_value: &["-n", "--adjustment"],
};
const XARGS: Opts = Opts {
    with_value: &[
        "-I",
        "-n",
        "-P",
        "-L",
        "-d",
        "-E",
        "-s",
        "-a",
        "--max-args",
        "--max-procs",
        "--delimiter",
        "--arg-file",
    ],
};
const WATCH: Opts = Opts {
    with_value: &["-n", "--interval", "-q", "--equexit", "-g"],
};
const STDBUF: Opts = Opts {
    with_value: &["-i", "-o", "-e"],
};
const SSH: Opts = Opts {
    with_value: &[
        "-b", "-c", "-D", "-E", "-e", "-F", "-I", "-i", "-J", "-L", "-l", "-m", "-O", "-o", "-p",
        "-Q", "-R", "-S", "-W", "-w", "-B",
    ],
};
const KUBECTL_GLOBAL: &[&str] = &[
    "-n",
    "--namespace",
    "--kubeconfig",
    "--context",
    "--cluster",
    "--user",
    "-s",
    "--server",
    "--token",
    "--as",
    "--as-group",
    "--request-timeout",
    "--cache-dir",
    "--certificate-authority",
    "--client-certificate",
    "--client-key",
    "-v",
    "--v",
    "-l",
    "--selector",
    "-o",
    "--output",
    "-c",
    "--container",
    "-f",
    "--filename",
];

impl Classifier {
    fn script(&mut self, text: &str) {
        if self.depth > 8 {
            return;
        }
        self.depth += 1;
        let script = shell::parse(text);
        for cmd in &script.commands {
            self.command(cmd);
        }
        self.depth -= 1;
    }

    fn command(&mut self, cmd: &SimpleCommand) {
        for r in &cmd.redirects {
            if r.writes() && is_system_path(&r.target) {
                self.out.destructive(format!(
                    "it writes to {}",
                    r.target.trim_matches(['"', '\''])
                ));
            }
        }
        self.words(&cmd.words);
    }

    /// Classifies `words` (a command line without assignments or redirections).
    fn words(&mut self, words: &[String]) {
        let mut words = words;
        // Leading assignments (after `env`, or in `xargs`).
        while words.first().is_some_and(|w| shell::is_assignment(w)) {
            words = &words[1..];
        }
        let Some(first) = words.first() else { return };
        let name = program_name(first);
        match name.as_str() {
            "sudo" | "doas" => {
                let i = SUDO.skip(words);
                let flags = &words[1..i.min(words.len())];
                let has = |f: &[&str]| {
                    flags
                        .iter()
                        .any(|w| f.contains(&w.as_str()) || short_flag(w, f))
                };
                if i >= words.len() {
                    if has(&["-i", "--login", "-s", "--shell"]) {
                        self.out
                            .interactive(format!("`{}` opens a root shell", words.join(" ")));
                        self.out.opens_shell = true;
                    } else if has(&["-e", "--edit"]) {
                        self.out.interactive("sudo --edit opens an editor");
                    }
                    return;
                }
                self.words(&words[i..]);
            }
            "su" => {
                if !words.iter().any(|w| w == "-c" || w == "--command") {
                    self.out.interactive("su opens a shell");
                    self.out.opens_shell = true;
                }
            }
            "env" => self.wrapped(words, &ENV),
            "timeout" => {
                let i = TIMEOUT.skip(words);
                // The duration, then the command.
                self.words(words.get(i + 1..).unwrap_or_default());
            }
            "nohup" | "command" | "builtin" | "exec" | "time" | "unbuffer" | "ionice"
            | "chronic" => {
                self.wrapped(
                    words,
                    &Opts {
                        with_value: &["-c", "-n", "-p"],
                    },
                );
            }
            "nice" => self.wrapped(words, &NICE),
            "stdbuf" => self.wrapped(words, &STDBUF),
            "xargs" => self.wrapped(words, &XARGS),
            "watch" => {
                self.out
                    .interactive("watch refreshes the screen until stopped");
                self.wrapped(words, &WATCH);
            }
            "bash" | "sh" | "zsh" | "dash" | "ksh" => self.shell(words),
            "ssh" => self.ssh(words),
            _ => self.program(&name, &words[1..]),
        }
    }

    fn wrapped(&mut self, words: &[String], opts: &Opts) {
        let i = opts.skip(words);
        self.words(words.get(i..).unwrap_or_default());
    }

    fn shell(&mut self, words: &[String]) {
        if let Some(pos) = words.iter().position(|w| {
            w == "-c" || (w.starts_with('-') && !w.starts_with("--") && w.contains('c'))
        }) {
            if let Some(script) = words.get(pos + 1) {
                self.script(script);
            }
            return;
        }
        let args = words[1..].iter().filter(|w| !w.starts_with('-')).count();
        if args == 0 {
            self.out
                .interactive(format!("`{}` opens an interactive shell", words.join(" ")));
            self.out.opens_shell = true;
        }
    }

    fn ssh(&mut self, words: &[String]) {
        let i = SSH.skip(words);
        let Some(host) = words.get(i) else { return };
        let remote = &words[i + 1..];
        if remote.is_empty() {
            self.out
                .interactive(format!("ssh {host} opens a remote shell"));
            self.out.opens_shell = true;
            return;
        }
        let before = self.out.destructive;
        self.script(&remote.join(" "));
        if self.out.destructive && !before {
            self.out.push(format!("it runs on {host}"));
        }
        if words[1..i].iter().any(|w| w == "-t" || w == "-tt") {
            self.out
                .interactive("ssh -t gives the remote command a terminal");
        }
    }

    fn program(&mut self, name: &str, args: &[String]) {
        let sub = first_operand(args);
        match name {
            "kubectl" | "oc" | "k" | "microk8s.kubectl" => self.kubectl(name, args),
            "microk8s" if sub == Some("kubectl") => {
                let rest = args
                    .iter()
                    .skip_while(|a| *a != "kubectl")
                    .skip(1)
                    .cloned()
                    .collect::<Vec<_>>();
                self.kubectl("kubectl", &rest);
            }
            "helm" => {
                if let Some(
                    s
                    @ ("uninstall" | "delete" | "del" | "un" | "install" | "upgrade" | "rollback"),
                ) = sub
                {
                    self.out
                        .destructive(format!("helm {s} changes releases in the cluster"));
                }
            }
            "systemctl" => {
                if let Some(
                    s @ ("restart" | "stop" | "start" | "reload" | "try-restart"
                    | "reload-or-restart" | "disable" | "enable" | "mask" | "kill" | "reboot"
                    | "poweroff" | "halt" | "isolate" | "daemon-reload" | "set-property"),
                ) = sub
                {
                    self.out
                        .destructive(format!("systemctl {s} changes running services"));
                } else if sub == Some("edit") {
                    self.out.interactive("systemctl edit opens an editor");
                    self.out.destructive("systemctl edit changes a unit");
                }
            }
            "service"
                if args.get(1).is_some_and(|a| {
                    matches!(
                        a.as_str(),
                        "restart" | "stop" | "start" | "reload" | "force-reload"
                    )
                }) =>
            {
                self.out
                    .destructive(format!("service {} changes a running service", args[1]));
            }
            "reboot" | "shutdown" | "poweroff" | "halt" | "kexec" => {
                self.out.destructive(format!("{name} stops the machine"));
            }
            "init" | "telinit" if matches!(sub, Some("0" | "6")) => self.out.destructive(format!(
                "{name} {} stops the machine",
                sub.unwrap_or_default()
            )),
            "rm" | "rmdir" | "unlink" | "shred" | "wipefs" | "mkfs" | "fdisk" | "parted"
            | "sgdisk" => {
                self.out.destructive(format!("{name} deletes data"));
            }
            _ if name.starts_with("mkfs.") => {
                self.out.destructive(format!("{name} formats a disk"));
            }
            "truncate" => self.out.destructive("truncate empties files"),
            "dd" => {
                if let Some(of) = args.iter().find_map(|a| a.strip_prefix("of=")) {
                    self.out.destructive(format!("dd writes to {of}"));
                }
            }
            "sysctl" => {
                let writes = args.iter().any(|a| {
                    matches!(a.as_str(), "-w" | "--write" | "-p" | "--load" | "--system")
                        || (a.starts_with("--load=") || short_flag(a, &["-p", "-w"]))
                        || (!a.starts_with('-') && a.contains('='))
                });
                if writes {
                    self.out.destructive("sysctl -p/-w changes kernel settings");
                }
            }
            "tee" => {
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    if is_system_path(a) {
                        self.out.destructive(format!("tee writes to {a}"));
                    }
                }
            }
            "cp" | "mv" | "install" | "ln" | "rsync" | "chmod" | "chown" | "chgrp" | "setfacl" => {
                if let Some(target) = args.iter().rev().find(|a| !a.starts_with('-'))
                    && is_system_path(target)
                {
                    self.out.destructive(format!("{name} changes {target}"));
                }
                if name == "mv" {
                    self.out.destructive("mv moves or overwrites files");
                }
            }
            "sed" | "perl"
                if args.iter().any(|a| {
                    a == "-i"
                        || a.starts_with("-i")
                        || a == "--in-place"
                        || a.starts_with("--in-place=")
                }) =>
            {
                self.out
                    .destructive(format!("{name} -i edits files in place"));
            }
            "curl" => self.curl(args),
            "wget" => self.wget(args),
            "crictl" => {
                if let Some(s @ ("rm" | "rmi" | "rmp" | "stop" | "stopp")) = sub {
                    self.out
                        .destructive(format!("crictl {s} removes containers or images"));
                }
                self.it_flags(name, args, &["exec", "attach"]);
            }
            "ctr" | "nerdctl" | "docker" | "podman" => self.container_tool(name, sub, args),
            "apt" | "apt-get" | "aptitude" | "yum" | "dnf" | "zypper" | "microdnf" | "apk"
            | "snap" | "pip" | "pip3" => {
                if let Some(
                    s @ ("install" | "remove" | "purge" | "autoremove" | "upgrade" | "dist-upgrade"
                    | "full-upgrade" | "erase" | "update" | "reinstall" | "downgrade" | "add"
                    | "del" | "uninstall"),
                ) = sub
                    && !(s == "update" && matches!(name, "apt" | "apt-get"))
                {
                    self.out
                        .destructive(format!("{name} {s} changes installed packages"));
                }
            }
            "dpkg" | "rpm"
                if args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "-i" | "--install"
                            | "-r"
                            | "--remove"
                            | "-P"
                            | "--purge"
                            | "-e"
                            | "--erase"
                            | "-U"
                            | "--upgrade"
                    ) || (name == "rpm" && short_flag(a, &["-i", "-U", "-e"]))
                }) =>
            {
                self.out
                    .destructive(format!("{name} changes installed packages"));
            }
            "git"
                if (matches!(sub, Some("push"))
                    || (sub == Some("reset") && args.iter().any(|a| a == "--hard"))
                    || (sub == Some("clean")
                        && args.iter().any(|a| {
                            a.starts_with("-f") || a.contains('f') && a.starts_with('-')
                        }))) =>
            {
                self.out.destructive(format!(
                    "git {} discards or publishes work",
                    sub.unwrap_or_default()
                ));
            }
            "kill" | "pkill" | "killall" | "skill" => {
                self.out.destructive(format!("{name} stops processes"));
            }
            "mount" | "umount" | "swapoff" | "swapon" if !args.is_empty() => {
                self.out.destructive(format!("{name} changes mounts"));
            }
            "iptables" | "ip6tables" | "nft"
                if args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "-A" | "-D"
                            | "-I"
                            | "-R"
                            | "-F"
                            | "-X"
                            | "-P"
                            | "-N"
                            | "-Z"
                            | "--append"
                            | "--delete"
                            | "--insert"
                            | "--flush"
                            | "add"
                            | "delete"
                            | "flush"
                            | "insert"
                            | "replace"
                    )
                }) =>
            {
                self.out
                    .destructive(format!("{name} changes firewall rules"));
            }
            "ip" if args.iter().any(|a| {
                matches!(
                    a.as_str(),
                    "add" | "del" | "delete" | "flush" | "set" | "change" | "replace"
                )
            }) =>
            {
                self.out.destructive("ip changes network configuration");
            }
            "timedatectl" | "hostnamectl" if sub.is_some_and(|s| s.starts_with("set")) => {
                self.out.destructive(format!(
                    "{name} {} changes system settings",
                    sub.unwrap_or_default()
                ));
            }
            "kubeadm" => {
                if let Some(s @ ("reset" | "init" | "join" | "upgrade")) = sub {
                    self.out
                        .destructive(format!("kubeadm {s} changes the cluster"));
                }
            }
            "etcdctl" => {
                if let Some(s @ ("del" | "put" | "compact" | "defrag" | "move-leader")) = sub {
                    self.out.destructive(format!("etcdctl {s} changes etcd"));
                } else if args.iter().any(|a| a == "restore") {
                    self.out
                        .destructive("etcdctl snapshot restore replaces etcd data");
                }
            }
            "crontab" => {
                if args.iter().any(|a| a == "-r") {
                    self.out.destructive("crontab -r removes the crontab");
                }
                if args.iter().any(|a| a == "-e") {
                    self.out.interactive("crontab -e opens an editor");
                }
            }
            "modprobe" | "rmmod" | "insmod" => self
                .out
                .destructive(format!("{name} changes kernel modules")),
            "vi" | "vim" | "nvim" | "nano" | "emacs" | "pico" | "joe" | "mcedit" | "vipw"
            | "visudo" | "sudoedit" => {
                self.out.interactive(format!("{name} is an editor"));
            }
            "less" | "more" | "most" | "top" | "htop" | "btop" | "atop" | "iftop" | "man"
            | "tmux" | "screen" | "k9s" | "mc" => {
                self.out.interactive(format!("{name} needs the terminal"));
            }
            "python" | "python3" | "node" | "irb" | "psql" | "mysql" | "redis-cli"
            | "etcdctl-shell"
                if args.is_empty() =>
            {
                self.out
                    .interactive(format!("{name} without arguments opens a prompt"));
            }
            _ => {}
        }
    }

    fn kubectl(&mut self, name: &str, args: &[String]) {
        // Skip global flags before the verb.
        let mut i = 0;
        while let Some(a) = args.get(i) {
            if !a.starts_with('-') {
                break;
            }
            if KUBECTL_GLOBAL.contains(&a.as_str()) {
                i += 1;
            }
            i += 1;
        }
        let Some(verb) = args.get(i).map(String::as_str) else {
            return;
        };
        let rest = &args[i + 1..];
        let flag = |f: &str| {
            rest.iter()
                .any(|a| a == f || a.starts_with(&format!("{f}=")))
        };
        match verb {
            "delete" => self
                .out
                .destructive(format!("{name} delete deletes resources")),
            "drain" => self
                .out
                .destructive(format!("{name} drain evicts every pod from a node")),
            "cordon" | "uncordon" => self
                .out
                .destructive(format!("{name} {verb} changes whether a node takes pods")),
            "taint" => self
                .out
                .destructive(format!("{name} taint changes where pods may run")),
            "patch" | "apply" | "replace" | "create" | "set" | "autoscale" | "expose" | "run" => {
                self.out
                    .destructive(format!("{name} {verb} changes resources"));
            }
            "edit" => {
                self.out
                    .destructive(format!("{name} edit changes resources"));
                self.out.interactive(format!("{name} edit opens an editor"));
            }
            "scale" => self
                .out
                .destructive(format!("{name} scale changes the number of replicas")),
            "label" | "annotate" => {
                let removes = rest
                    .iter()
                    .any(|a| !a.starts_with('-') && a.ends_with('-') && !a.contains('='));
                if flag("--overwrite") || removes {
                    self.out.destructive(format!(
                        "{name} {verb} --overwrite replaces existing {verb}s"
                    ));
                }
            }
            "rollout" => {
                if let Some(s @ ("restart" | "undo" | "pause" | "resume")) = first_operand(rest) {
                    self.out
                        .destructive(format!("{name} rollout {s} restarts or changes workloads"));
                }
            }
            "certificate" => {
                if let Some(s @ ("approve" | "deny")) = first_operand(rest) {
                    self.out.destructive(format!(
                        "{name} certificate {s} changes a certificate request"
                    ));
                }
            }
            "cp" if rest
                .iter()
                .rfind(|a| !a.starts_with('-'))
                .is_some_and(|dest| dest.contains(':')) =>
            {
                self.out
                    .destructive(format!("{name} cp writes into a container"));
            }
            "exec" | "attach" | "debug" => {
                if has_it(rest) {
                    self.out
                        .interactive(format!("{name} {verb} -it needs the terminal"));
                }
                if verb == "debug" {
                    self.out.destructive(format!("{name} debug creates a pod"));
                }
                if let Some(dd) = rest.iter().position(|a| a == "--") {
                    self.words(&rest[dd + 1..]);
                }
            }
            _ => {}
        }
    }

    fn it_flags(&mut self, name: &str, args: &[String], verbs: &[&str]) {
        if let Some(verb) = first_operand(args).filter(|v| verbs.contains(v))
            && has_it(args)
        {
            self.out
                .interactive(format!("{name} {verb} -it needs the terminal"));
        }
    }

    fn container_tool(&mut self, name: &str, sub: Option<&str>, args: &[String]) {
        let operands: Vec<&str> = args
            .iter()
            .filter(|a| !a.starts_with('-'))
            .map(String::as_str)
            .collect();
        let destructive = match operands.as_slice() {
            ["push", ..] => Some("publishes an image to a registry"),
            ["rm" | "rmi" | "kill" | "stop" | "restart", ..] => Some("removes or stops containers"),
            [_, "rm" | "remove" | "delete" | "del" | "prune" | "kill", ..] => {
                Some("removes containers, images or data")
            }
            _ => None,
        };
        if let Some(why) = destructive {
            self.out
                .destructive(format!("{name} {} {why}", sub.unwrap_or_default()));
        }
        self.it_flags(name, args, &["exec", "run", "attach"]);
    }

    fn curl(&mut self, args: &[String]) {
        let mut method: Option<String> = None;
        let mut implied: Option<&str> = None;
        let mut iter = args.iter();
        while let Some(a) = iter.next() {
            let a = a.as_str();
            if a == "-X" || a == "--request" {
                method = iter.next().cloned();
            } else if let Some(m) = a.strip_prefix("--request=") {
                method = Some(m.to_owned());
            } else if let Some(m) = a.strip_prefix("-X").filter(|m| !m.is_empty()) {
                method = Some(m.to_owned());
            } else if a.starts_with("--data")
                || a == "-d"
                || a == "--json"
                || (a.starts_with("-d") && !a.starts_with("--"))
                || a == "-F"
                || a.starts_with("--form")
            {
                implied = Some("POST");
            } else if a == "-T" || a == "--upload-file" {
                implied = implied.or(Some("PUT"));
            } else if a == "-G" || a == "--get" {
                implied = Some("GET");
            }
        }
        let method = method
            .map(|m| m.to_ascii_uppercase())
            .or(implied.map(str::to_owned));
        if let Some(m @ ("PUT" | "POST" | "DELETE" | "PATCH")) = method.as_deref() {
            self.out.destructive(format!("curl sends a {m} request"));
        }
    }

    fn wget(&mut self, args: &[String]) {
        let mut iter = args.iter();
        while let Some(a) = iter.next() {
            let method = if a == "--method" {
                iter.next().map(|m| m.to_ascii_uppercase())
            } else if let Some(m) = a.strip_prefix("--method=") {
                Some(m.to_ascii_uppercase())
            } else if a.starts_with("--post-data") || a.starts_with("--post-file") {
                Some("POST".to_owned())
            } else if a.starts_with("--body-data") || a.starts_with("--body-file") {
                Some("PUT".to_owned())
            } else {
                None
            };
            if let Some(m @ ("PUT" | "POST" | "DELETE" | "PATCH")) = method.as_deref() {
                self.out.destructive(format!("wget sends a {m} request"));
            }
        }
    }
}

/// The program's base name, without a path (`/usr/bin/rm` -> `rm`) or a leading `\`.
fn program_name(word: &str) -> String {
    let w = word.trim_start_matches('\\');
    Path::new(w)
        .file_name()
        .map_or_else(|| w.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// The first word that is not an option.
fn first_operand(args: &[String]) -> Option<&str> {
    args.iter()
        .map(String::as_str)
        .find(|a| !a.starts_with('-'))
}

/// Is a bundle of short flags (`-it`, `-ti`) carrying one of `flags` (`-i`)?
fn short_flag(word: &str, flags: &[&str]) -> bool {
    let Some(bundle) = word.strip_prefix('-') else {
        return false;
    };
    if bundle.starts_with('-') || bundle.is_empty() {
        return false;
    }
    flags
        .iter()
        .filter_map(|f| f.strip_prefix('-'))
        .filter(|f| f.len() == 1)
        .any(|f| bundle.contains(f))
}

/// `-it`, `-ti`, `-i -t`, `--stdin --tty`.
fn has_it(args: &[String]) -> bool {
    let until_dd: Vec<&String> = args.iter().take_while(|a| *a != "--").collect();
    let stdin = until_dd
        .iter()
        .any(|a| *a == "--stdin" || *a == "--stdin=true" || short_flag(a, &["-i"]));
    let tty = until_dd
        .iter()
        .any(|a| *a == "--tty" || *a == "--tty=true" || short_flag(a, &["-t"]));
    stdin && tty
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substrings_do_not_count() {
        assert!(!classify("kubectl get pods | grep delete").destructive);
        assert!(!classify("echo rm -rf /").destructive);
        assert!(classify("echo $(rm -rf /tmp/x)").destructive);
    }

    #[test]
    fn wrappers_are_peeled() {
        for cmd in [
            "sudo rm -rf /var/lib/x",
            "sudo -u root env FOO=1 rm x",
            "FOO=bar rm x",
            "timeout 10 kubectl delete pod p",
            "kubectl get pods -o name | xargs -n1 kubectl delete",
            "bash -c 'systemctl restart kubelet'",
            "ssh -i k node sudo reboot",
            "nohup nice -n 5 rm x &",
        ] {
            assert!(classify(cmd).destructive, "{cmd}");
        }
    }

    #[test]
    fn reasons_are_words() {
        let c = classify("kubectl --namespace x delete pod p");
        assert_eq!(c.reasons, ["kubectl delete deletes resources"]);
    }

    #[test]
    fn interactive() {
        for cmd in [
            "ssh -i key spectro@host",
            "sudo --login",
            "sudo -i",
            "sudo -s",
            "su -",
            "kubectl exec -it p -- sh",
            "kubectl exec -ti p -- bash",
            "kubectl edit cm x",
            "watch kubectl get pods",
            "vim /etc/hosts",
            "less x",
            "top",
        ] {
            assert!(classify(cmd).interactive, "{cmd}");
        }
        for cmd in [
            "ssh host uptime",
            "sudo -i systemctl status kubelet",
            "kubectl exec p -- ls",
            "bash -c 'ls'",
        ] {
            assert!(!classify(cmd).interactive, "{cmd}");
        }
        assert!(classify("sudo --login").opens_shell);
        assert!(classify("ssh node").opens_shell);
    }
}
