//! What each program does, as far as the classifier knows: wrappers it looks through,
//! programs that only read (whatever their options, or with the options and sub-commands
//! listed here), and what makes the others destructive.
//!
//! A program that is in no table and has no arm is unproven: `--read-only` refuses it. To
//! teach one more, add its name to [`READERS`] (only reads, whatever the options), or give it
//! an arm in [`Classifier::program`] that reads its options with [`options::parse`] and says
//! what writes; add rows to the table tests.

use super::options::{self, Spec};
use super::{Classifier, has_it, is_system_path, normalise_path, short_flag};

/// Programs (and builtins) that only read, whatever their options and operands. Output
/// redirections are checked separately.
const READERS: &[&str] = &[
    "cat",
    "tac",
    "head",
    "tail",
    "grep",
    "egrep",
    "fgrep",
    "zgrep",
    "zcat",
    "bzcat",
    "xzcat",
    "zstdcat",
    "rg",
    "wc",
    "cut",
    "tr",
    "nl",
    "od",
    "hexdump",
    "strings",
    "base32",
    "base64",
    "md5sum",
    "sha1sum",
    "sha224sum",
    "sha256sum",
    "sha384sum",
    "sha512sum",
    "b2sum",
    "cksum",
    "sum",
    "cmp",
    "diff",
    "comm",
    "join",
    "paste",
    "column",
    "fold",
    "fmt",
    "expand",
    "unexpand",
    "rev",
    "seq",
    "numfmt",
    "expr",
    "factor",
    "echo",
    "true",
    "false",
    ":",
    "test",
    "[",
    "sleep",
    "basename",
    "dirname",
    "realpath",
    "readlink",
    "pwd",
    "ls",
    "dir",
    "vdir",
    "tree",
    "stat",
    "file",
    "df",
    "du",
    "free",
    "uptime",
    "w",
    "who",
    "whoami",
    "id",
    "groups",
    "users",
    "last",
    "lastlog",
    "uname",
    "arch",
    "nproc",
    "getconf",
    "locale",
    "lscpu",
    "lsblk",
    "lspci",
    "lsusb",
    "lsmod",
    "modinfo",
    "dmidecode",
    "lshw",
    "lsof",
    "ss",
    "netstat",
    "ps",
    "pgrep",
    "pidof",
    "vmstat",
    "iostat",
    "mpstat",
    "pidstat",
    "findmnt",
    "blkid",
    "printenv",
    "which",
    "whereis",
    "type",
    "getent",
    "nslookup",
    "dig",
    "host",
    "ping",
    "ping6",
    "traceroute",
    "traceroute6",
    "tracepath",
    "ssh-keyscan",
    "jq",
    "tput",
    "clear",
    "cal",
    "yes",
    "dirs",
    "jobs",
    "times",
    "help",
    "caller",
    "cd",
    "pushd",
    "popd",
    "shift",
    "exit",
    "return",
    "break",
    "continue",
    "wait",
    "ulimit",
    "umask",
    "set",
    "shopt",
    "logout",
    "disown",
    "unalias",
    "sestatus",
    "getenforce",
    "aa-status",
    "apparmor_status",
    "lsattr",
    "namei",
    "mountpoint",
    "ntpq",
    "ntpstat",
    "sensors",
    "iptables-save",
    "ip6tables-save",
    "nproc",
    "whatis",
    "apropos",
    "tty",
    "lsns",
    "lslocks",
    "lsipc",
    "hostid",
    "systemd-detect-virt",
    "systemd-cgls",
    "systemd-cgtop",
    "free",
    "fc-list",
    "zdump",
    "lslogins",
];

/// Programs that need the terminal, and that only read.
const PAGERS: &[&str] = &[
    "less", "more", "most", "top", "htop", "btop", "atop", "iftop", "iotop", "man", "nmon",
];

/// Editors: they need the terminal and change files.
const EDITORS: &[&str] = &[
    "vi", "vim", "nvim", "nano", "emacs", "pico", "joe", "mcedit", "vipw", "vigr", "visudo",
    "sudoedit", "ed", "ex",
];

/// Interpreters and the options that give them an inline program.
const INTERPRETERS: &[(&str, &[&str])] = &[
    ("python", &["c"]),
    ("python2", &["c"]),
    ("python3", &["c"]),
    ("pypy", &["c"]),
    ("pypy3", &["c"]),
    ("node", &["e", "p", "eval", "print"]),
    ("nodejs", &["e", "p", "eval", "print"]),
    ("deno", &["e", "eval"]),
    ("bun", &["e", "eval"]),
    ("ruby", &["e"]),
    ("php", &["r", "B"]),
    ("lua", &["e"]),
    ("Rscript", &["e"]),
    ("osascript", &["e"]),
    ("tclsh", &[]),
    ("jshell", &[]),
    ("irb", &[]),
    ("pwsh", &["c", "Command", "command"]),
];

/// Programs that delete data or disks.
const DELETERS: &[&str] = &[
    "rm",
    "rmdir",
    "unlink",
    "shred",
    "wipefs",
    "mkfs",
    "fdisk",
    "parted",
    "sgdisk",
    "sfdisk",
    "mkswap",
    "blkdiscard",
    "cryptsetup",
    "pvremove",
    "vgremove",
    "lvremove",
];

/// Programs that change files (not destructive unless the file is a system path).
const FILE_WRITERS: &[&str] = &[
    "touch", "mkdir", "mktemp", "mkfifo", "mknod", "patch", "split", "csplit", "zip", "gpg", "scp",
    "sftp", "wget2", "aria2c", "git-lfs", "setfattr", "chattr",
];

/// Programs that change accounts, boot or the system's configuration.
const SYSTEM_CHANGERS: &[(&str, &str)] = &[
    ("useradd", "changes accounts"),
    ("userdel", "changes accounts"),
    ("usermod", "changes accounts"),
    ("groupadd", "changes accounts"),
    ("groupdel", "changes accounts"),
    ("groupmod", "changes accounts"),
    ("passwd", "changes a password"),
    ("chpasswd", "changes passwords"),
    ("update-ca-certificates", "changes the trusted certificates"),
    ("update-grub", "changes the boot loader"),
    ("grub-install", "changes the boot loader"),
    ("grub2-mkconfig", "changes the boot loader"),
    ("dracut", "rebuilds the boot image"),
    ("mkinitramfs", "rebuilds the boot image"),
    ("update-initramfs", "rebuilds the boot image"),
    ("ldconfig", "changes the library cache"),
    ("setenforce", "changes SELinux"),
    ("swapoff", "changes swap"),
    ("swapon", "changes swap"),
    ("losetup", "changes loop devices"),
    ("lvcreate", "changes volumes"),
    ("lvextend", "changes volumes"),
    ("resize2fs", "changes a file system"),
    ("xfs_growfs", "changes a file system"),
    ("tune2fs", "changes a file system"),
    ("fsck", "repairs a file system"),
    ("e2fsck", "repairs a file system"),
    ("xfs_repair", "repairs a file system"),
    ("ntpdate", "sets the clock"),
    ("chronyd", "sets the clock"),
    ("at", "schedules a command"),
    ("batch", "schedules a command"),
];

/// Options of `ssh -o` that run a command here.
const SSH_LOCAL_COMMANDS: &[&str] = &[
    "proxycommand",
    "localcommand",
    "permitlocalcommand",
    "knownhostscommand",
    "match",
    "remotecommand",
];

impl Classifier {
    pub(super) fn not_known(&mut self, written: &str) {
        self.out.unproven(format!(
            "cannot prove read-only: `{written}` is not a command runbook knows to only read"
        ));
    }

    /// Classifies one program and its arguments.
    #[allow(clippy::too_many_lines)]
    pub(super) fn program(&mut self, name: &str, written: &str, args: &[String]) {
        if READERS.contains(&name) {
            return;
        }
        if PAGERS.contains(&name) {
            // `top -b`, `less` in a pipeline: reads; the pager needs the terminal.
            if !(name == "top" && args.iter().any(|a| short_flag(a, &["-b"]))) {
                self.out.interactive(format!("{name} needs the terminal"));
            }
            return;
        }
        if EDITORS.contains(&name) {
            self.out.interactive(format!("{name} is an editor"));
            self.out
                .unproven(format!("{name} is an editor: it can change files"));
            return;
        }
        if DELETERS.contains(&name) || name.starts_with("mkfs.") {
            let listing = matches!(name, "fdisk" | "sfdisk" | "parted")
                && args
                    .iter()
                    .any(|a| a == "-l" || a == "--list" || a == "print" || a == "-d");
            if !listing {
                let what = if name.starts_with("mkfs") {
                    "formats a disk"
                } else {
                    "deletes data"
                };
                self.out.destructive(format!("{name} {what}"));
            }
            return;
        }
        if FILE_WRITERS.contains(&name) {
            self.out.unproven(format!("{name} writes files"));
            for a in args.iter().filter(|a| !a.starts_with('-')) {
                if is_system_path(&normalise_path(a, self.cwd.as_deref())) {
                    self.out.destructive(format!("{name} changes {a}"));
                }
            }
            return;
        }
        if let Some((_, what)) = SYSTEM_CHANGERS.iter().find(|(n, _)| *n == name) {
            let listing = matches!(name, "swapon" | "losetup")
                && args
                    .iter()
                    .any(|a| matches!(a.as_str(), "--show" | "-s" | "-a" | "-l" | "--list"));
            if !listing {
                self.out.destructive(format!("{name} {what}"));
            }
            return;
        }
        if let Some((_, inline)) = INTERPRETERS.iter().find(|(n, _)| *n == name) {
            self.interpreter(name, inline, args);
            return;
        }
        match name {
            "sudo" | "doas" | "pkexec" => self.sudo(name, args),
            "su" => {
                let p = options::parse(Spec::of("su"), args);
                if let Some(script) = p.value(&["c", "command", "session-command"]) {
                    self.ungated_script(script);
                } else {
                    self.out.interactive("su opens a shell");
                    self.out.opens_shell = true;
                    self.out
                        .unproven("su opens a shell where anything can be typed");
                }
            }
            "runuser" => {
                let loose = Spec {
                    posix: false,
                    ..*Spec::of("runuser")
                };
                let p = options::parse(&loose, args);
                if let Some(script) = p.value(&["c", "command", "session-command"]) {
                    self.ungated_script(script);
                } else {
                    let p = options::parse(Spec::of("runuser"), args);
                    let inner = &args[p.rest..];
                    if inner.is_empty() {
                        self.out.interactive("runuser opens a shell");
                        self.out.opens_shell = true;
                        self.out
                            .unproven("runuser opens a shell where anything can be typed");
                    } else if p.has(&["u", "user"]) {
                        self.ungated(inner);
                    } else {
                        self.ungated(&inner[1..]);
                    }
                }
            }
            "env" => self.env(args),
            "timeout" => {
                let p = options::parse(Spec::of("timeout"), args);
                // The duration, then the command.
                self.words(args.get(p.rest + 1..).unwrap_or_default());
            }
            "nohup" | "setsid" | "chronic" | "unbuffer" | "builtin" | "caffeinate" | "nice"
            | "stdbuf" | "exec" => self.wrapped(name, args),
            "time" => {
                let p = options::parse(Spec::of("time"), args);
                if let Some(file) = p.value(&["o", "output"]) {
                    let file = file.to_owned();
                    self.writes_file("time", &file, "writes");
                }
                self.words(&args[p.rest..]);
            }
            "ionice" | "chrt" | "taskset" => {
                let p = options::parse(Spec::of(name), args);
                if p.has(&["p", "pid", "P", "pgid", "u", "uid"]) || args.is_empty() {
                    self.out
                        .unproven(format!("{name} changes how a running process is scheduled"));
                }
                // chrt and taskset take a priority or mask before the command.
                let skip = usize::from(matches!(name, "chrt" | "taskset"));
                self.words(args.get(p.rest + skip..).unwrap_or_default());
            }
            "command" => {
                if args.first().is_some_and(|a| a == "-v" || a == "-V") {
                    return;
                }
                self.wrapped(name, args);
            }
            "busybox" | "toybox" => self.words(args),
            "flock" => {
                // `flock FILE -c CMD` puts the option after the lock file.
                let loose = options::parse(
                    &Spec {
                        posix: false,
                        ..*Spec::of("flock")
                    },
                    args,
                );
                let p = options::parse(Spec::of("flock"), args);
                let rest = &args[p.rest..];
                if let Some(script) = loose.value(&["c", "command"]) {
                    self.script(script);
                } else if rest.len() > 1 {
                    self.words(&rest[1..]);
                }
                self.out.unproven("flock creates its lock file");
            }
            "script" => {
                let p = options::parse(Spec::of("script"), args);
                if let Some(cmd) = p.value(&["c", "command"]) {
                    self.script(cmd);
                } else {
                    self.out.interactive("script records an interactive shell");
                    self.out
                        .unproven("script opens a shell where anything can be typed");
                }
                match p.first() {
                    Some(file) => {
                        let file = file.to_owned();
                        self.writes_file("script", &file, "writes");
                    }
                    None => self.out.unproven("script writes ./typescript"),
                }
            }
            "xargs" => {
                let p = options::parse(Spec::of("xargs"), args);
                if p.has(&["a", "arg-file"]) {
                    // reads its arguments from a file: fine.
                }
                self.words(&args[p.rest..]);
            }
            "watch" => {
                self.out
                    .interactive("watch refreshes the screen until stopped");
                let p = options::parse(Spec::of("watch"), args);
                let rest = &args[p.rest..];
                if p.has(&["x", "exec"]) {
                    self.words(rest);
                } else {
                    self.script(&rest.join(" "));
                }
            }
            "nsenter" | "chroot" | "unshare" => {
                let p = options::parse(Spec::of(name), args);
                let mut rest = &args[p.rest..];
                if name == "chroot" && !rest.is_empty() {
                    rest = &rest[1..];
                }
                if rest.is_empty() {
                    self.out.interactive(format!("{name} opens a shell"));
                    self.out.opens_shell = true;
                    self.out
                        .unproven(format!("{name} opens a shell where anything can be typed"));
                } else {
                    self.ungated(rest);
                }
            }
            "strace" | "ltrace" => {
                let p = options::parse(Spec::of(name), args);
                if let Some(file) = p.value(&["o", "output"]) {
                    let file = file.to_owned();
                    self.writes_file(name, &file, "writes");
                }
                self.words(&args[p.rest..]);
            }
            "systemd-run" => {
                let p = options::parse(Spec::of(name), args);
                self.out.unproven("systemd-run starts a unit");
                self.ungated(&args[p.rest..]);
            }
            "bash" | "sh" | "zsh" | "dash" | "ksh" | "ash" => self.shell(name, args),
            "ssh" => self.ssh(args),
            "eval" => {
                self.out.unproven("eval of a string");
                self.script(&args.join(" "));
            }
            "source" | "." => {
                self.out.unproven(format!(
                    "source runs the file {}",
                    args.first().map_or("", String::as_str)
                ));
            }
            "trap" => {
                if args.len() > 1 && !args[0].starts_with('-') {
                    self.out.unproven("trap runs a string later");
                    self.script(&args[0]);
                }
            }
            "alias" => {
                for a in args {
                    if let Some((_, body)) = a.split_once('=') {
                        self.out.unproven("alias defines a command from a string");
                        self.script(body);
                    }
                }
            }
            "enable" | "complete" | "bind" | "fc" | "coproc" => {
                self.out
                    .unproven(format!("{name} can run or load arbitrary code"));
            }
            "compgen" => {
                if args.iter().any(|a| a == "-C" || a == "-F") {
                    self.out.unproven("compgen -C runs a command");
                }
            }
            "hash" => {
                if args.iter().any(|a| short_flag(a, &["-p"])) {
                    self.out
                        .unproven("hash -p changes which program a name runs");
                }
            }
            "history" => {
                if !args.is_empty() && args.iter().any(|a| a.starts_with('-')) {
                    self.out
                        .unproven("history with options changes the history");
                }
            }
            "let" => {
                if args.iter().any(|a| super::reads_variables(a)) {
                    self.out
                        .unproven("arithmetic on a variable can run code hidden in its value");
                }
            }
            "[[" => {
                const ARITH: &[&str] = &["-eq", "-ne", "-lt", "-le", "-gt", "-ge"];
                for (i, w) in args.iter().enumerate() {
                    if ARITH.contains(&w.as_str()) {
                        let around = [i.checked_sub(1), Some(i + 1)];
                        if around
                            .iter()
                            .flatten()
                            .filter_map(|k| args.get(*k))
                            .any(|x| super::reads_variables(x))
                        {
                            self.out.unproven(
                                "[[ ... -eq ... ]] compares as arithmetic, which can run code hidden in a variable",
                            );
                        }
                    }
                }
            }
            "export" | "declare" | "typeset" | "local" | "readonly" => {
                self.declare(name, args);
            }
            "unset" => {
                for a in args.iter().filter(|a| !a.starts_with('-')) {
                    if let Some(why) = super::guarded(a) {
                        self.out.unproven(format!("it unsets {a}, {why}"));
                        if a == "KUBECONFIG" {
                            self.gated = false;
                        }
                    }
                }
            }
            "printf" => {
                let p = options::parse(Spec::of("printf"), args);
                if let Some(var) = p.value(&["v"]) {
                    let var = var.to_owned();
                    self.names_set(&[var]);
                }
            }
            "read" | "mapfile" | "readarray" | "getopts" => {
                let p = options::parse(Spec::of(name), args);
                if p.has(&["C"]) {
                    self.out.unproven(format!("{name} -C runs a callback"));
                }
                let mut names: Vec<String> = p.values(&["a"]).map(str::to_owned).collect();
                let skip = usize::from(name == "getopts");
                names.extend(
                    p.operands
                        .iter()
                        .skip(skip)
                        .take(if name == "getopts" { 1 } else { usize::MAX })
                        .cloned(),
                );
                self.names_set(&names);
            }
            "kill" | "pkill" | "killall" | "skill" => {
                if !(name == "kill" && args.iter().any(|a| a == "-l" || a == "-L")) {
                    self.out.destructive(format!("{name} stops processes"));
                }
            }
            "reboot" | "shutdown" | "poweroff" | "halt" | "kexec" => {
                self.out.destructive(format!("{name} stops the machine"));
            }
            "init" | "telinit" => {
                if matches!(args.first().map(String::as_str), Some("0" | "6")) {
                    self.out
                        .destructive(format!("{name} {} stops the machine", args[0]));
                } else {
                    self.not_known(written);
                }
            }
            "truncate" => self.out.destructive("truncate empties files"),
            "dd" => {
                if let Some(of) = args.iter().find_map(|a| a.strip_prefix("of=")) {
                    let target = normalise_path(of, self.cwd.as_deref());
                    if !super::harmless_target(&target) {
                        self.out.destructive(format!("dd writes to {of}"));
                    }
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
                let p = options::parse(Spec::of("tee"), args);
                for f in &p.operands {
                    self.writes_file("tee", f, "writes to");
                }
            }
            "cp" | "mv" | "install" | "ln" | "rsync" | "chmod" | "chown" | "chgrp" | "setfacl" => {
                self.copy_or_change(name, args);
            }
            "sed" | "gsed" => self.sed(name, args),
            "perl" => self.perl(args),
            "awk" | "gawk" | "mawk" | "nawk" => self.awk(name, args),
            "find" => self.find(args),
            "curl" => self.curl(args),
            "wget" => self.wget(args),
            "sort" => {
                let p = options::parse(Spec::of("sort"), args);
                if let Some(out) = p.value(&["o", "output"]) {
                    let out = out.to_owned();
                    self.writes_file("sort", &out, "writes");
                }
            }
            "uniq" | "xxd" => {
                let p = options::parse(Spec::of(name), args);
                if let Some(out) = p.operands.get(1) {
                    let out = out.clone();
                    self.writes_file(name, &out, "writes");
                }
            }
            "yq" => {
                let p = options::parse(Spec::of("yq"), args);
                if p.has(&["i", "inplace"]) {
                    self.out.unproven("yq -i edits files in place");
                }
            }
            "gzip" | "gunzip" | "bzip2" | "bunzip2" | "xz" | "unxz" | "zstd" | "unzstd" | "lz4"
            | "unlz4" => {
                let p = options::parse(Spec::of(name), args);
                if !p.has(&["c", "stdout", "to-stdout", "l", "list", "t", "test"]) {
                    self.out.unproven(format!("{name} replaces files"));
                }
            }
            "unzip" => {
                if !args
                    .iter()
                    .any(|a| short_flag(a, &["-l", "-t", "-p", "-Z", "-v"]))
                {
                    self.out.unproven("unzip writes files");
                }
            }
            "tar" => self.tar(args),
            "date" => {
                let p = options::parse(Spec::of("date"), args);
                if p.has(&["s", "set"]) || p.operands.iter().any(|o| !o.starts_with('+')) {
                    self.out.destructive("date sets the clock");
                }
            }
            "hwclock" => {
                if args.iter().any(|a| {
                    short_flag(a, &["-w", "-s", "-a"])
                        || matches!(
                            a.as_str(),
                            "--systohc" | "--hctosys" | "--set" | "--adjust" | "--systz"
                        )
                }) {
                    self.out.destructive("hwclock sets a clock");
                }
            }
            "hostname" => {
                let p = options::parse(Spec::of("hostname"), args);
                if !p.operands.is_empty() || p.has(&["F", "file", "b", "boot"]) {
                    self.out.destructive("hostname changes the machine's name");
                }
            }
            "dmesg" => {
                let p = options::parse(Spec::of("dmesg"), args);
                if p.has(&["c", "C", "clear", "read-clear"]) {
                    self.out.destructive("dmesg -C clears the kernel log");
                } else if p.has(&["D", "E", "n", "console-off", "console-on", "console-level"]) {
                    self.out.unproven("dmesg changes console logging");
                }
            }
            "systemctl" => self.systemctl(args),
            "service" => {
                let p = options::parse(Spec::of("service"), args);
                match p.operands.get(1).map(String::as_str) {
                    None | Some("status") => {}
                    Some(
                        verb @ ("restart" | "stop" | "start" | "reload" | "force-reload"
                        | "try-restart" | "condrestart"),
                    ) => self
                        .out
                        .destructive(format!("service {verb} changes a running service")),
                    Some(_) => self.not_known(written),
                }
            }
            "journalctl" => {
                let p = options::parse(Spec::of("journalctl"), args);
                if p.has(&["vacuum-size", "vacuum-time", "vacuum-files"]) {
                    self.out.destructive("journalctl --vacuum deletes logs");
                } else if p.has(&[
                    "rotate",
                    "flush",
                    "sync",
                    "relinquish-var",
                    "smart-relinquish-var",
                    "setup-keys",
                    "update-catalog",
                ]) {
                    self.out.unproven("journalctl changes the journal");
                }
            }
            "timedatectl" | "hostnamectl" | "localectl" => {
                let sub = args
                    .iter()
                    .find(|a| !a.starts_with('-'))
                    .map(String::as_str);
                match sub {
                    None
                    | Some(
                        "status" | "show" | "timesync-status" | "show-timesync" | "list-timezones"
                        | "list-locales" | "list-keymaps",
                    ) => {}
                    Some("hostname")
                        if args.iter().filter(|a| !a.starts_with('-')).count() == 1 => {}
                    Some(s) => self
                        .out
                        .destructive(format!("{name} {s} changes system settings")),
                }
            }
            "chronyc" => match args
                .iter()
                .find(|a| !a.starts_with('-'))
                .map(String::as_str)
            {
                None
                | Some(
                    "sources" | "sourcestats" | "tracking" | "activity" | "ntpdata" | "clients"
                    | "serverstats" | "rtcdata" | "waitsync" | "sourcename" | "authdata"
                    | "selectdata",
                ) => {}
                Some(s) => self
                    .out
                    .destructive(format!("chronyc {s} changes the clock")),
            },
            "resolvectl" | "networkctl" | "loginctl" => {
                match args
                    .iter()
                    .find(|a| !a.starts_with('-'))
                    .map(String::as_str)
                {
                    None
                    | Some(
                        "status" | "query" | "statistics" | "list" | "show" | "list-sessions"
                        | "list-users" | "show-session" | "show-user" | "lldp" | "label",
                    ) => {}
                    Some(_) => self.not_known(written),
                }
            }
            "mtr" => {
                if !args.iter().any(|a| {
                    short_flag(a, &["-r", "-w", "-j", "-C", "-x"])
                        || matches!(
                            a.as_str(),
                            "--report" | "--report-wide" | "--json" | "--csv"
                        )
                }) {
                    self.out.interactive("mtr needs the terminal");
                }
            }
            "ip" => self.ip(written, args),
            "iptables" | "ip6tables" | "iptables-legacy" | "ip6tables-legacy" | "iptables-nft" => {
                const WRITES: &[&str] = &[
                    "A",
                    "D",
                    "I",
                    "R",
                    "F",
                    "X",
                    "P",
                    "N",
                    "Z",
                    "E",
                    "append",
                    "delete",
                    "insert",
                    "replace",
                    "flush",
                    "delete-chain",
                    "policy",
                    "new-chain",
                    "zero",
                    "rename-chain",
                ];
                let p = options::parse(Spec::of("iptables"), args);
                if p.has(WRITES) {
                    self.out
                        .destructive(format!("{name} changes firewall rules"));
                } else if !p.has(&["L", "S", "list", "list-rules"]) {
                    self.not_known(written);
                }
            }
            "iptables-restore" | "ip6tables-restore" | "ipset" | "ebtables" | "arptables" => {
                if !(name == "ipset" && args.first().is_some_and(|a| a == "list")) {
                    self.out
                        .destructive(format!("{name} changes firewall rules"));
                }
            }
            "nft" => match args
                .iter()
                .find(|a| !a.starts_with('-'))
                .map(String::as_str)
            {
                Some("list") => {}
                _ => self
                    .out
                    .destructive("nft changes firewall rules".to_owned()),
            },
            "ipvsadm" => {
                if !args
                    .iter()
                    .all(|a| short_flag(a, &["-L", "-l", "-n", "-S"]) || !a.starts_with('-'))
                    || args.is_empty()
                {
                    self.out.destructive("ipvsadm changes load-balancing rules");
                }
            }
            "conntrack" => {
                if args.iter().any(|a| {
                    short_flag(a, &["-D", "-F", "-U", "-I"])
                        || matches!(a.as_str(), "--delete" | "--flush" | "--update" | "--create")
                }) {
                    self.out
                        .destructive("conntrack changes connection tracking");
                } else if !args
                    .iter()
                    .any(|a| short_flag(a, &["-L", "-G", "-S", "-C", "-E"]) || a == "--dump")
                {
                    self.not_known(written);
                }
            }
            "route" | "arp" => {
                if args.iter().any(|a| {
                    matches!(
                        a.as_str(),
                        "add" | "del" | "delete" | "flush" | "-d" | "-s" | "-f"
                    )
                }) {
                    self.out
                        .destructive(format!("{name} changes network configuration"));
                }
            }
            "ethtool" => {
                if args.iter().any(|a| {
                    short_flag(
                        a,
                        &[
                            "-s", "-K", "-G", "-A", "-C", "-L", "-E", "-W", "-r", "-f", "-N", "-X",
                            "-U",
                        ],
                    ) || a.starts_with("--set")
                        || a.starts_with("--change")
                        || matches!(
                            a.as_str(),
                            "--features"
                                | "--offload"
                                | "--pause"
                                | "--coalesce"
                                | "--reset"
                                | "--flash"
                                | "--config-ntuple"
                        )
                }) {
                    self.out.destructive("ethtool changes a network device");
                }
            }
            "mount" | "umount" => {
                // `mount`, `mount -l`, `mount -t ext4`: a list; anything naming a device or
                // a mount point changes mounts.
                let listing = name == "mount"
                    && options::parse(
                        &Spec {
                            short: "tOo",
                            ..*Spec::of("mount")
                        },
                        args,
                    )
                    .operands
                    .is_empty();
                if !args.is_empty() && !listing {
                    self.out.destructive(format!("{name} changes mounts"));
                }
            }
            "modprobe" | "rmmod" | "insmod" => {
                self.out
                    .destructive(format!("{name} changes kernel modules"));
            }
            "crontab" => {
                if args.iter().any(|a| a == "-r") {
                    self.out.destructive("crontab -r removes the crontab");
                }
                if args.iter().any(|a| a == "-e") {
                    self.out.interactive("crontab -e opens an editor");
                    self.out.destructive("crontab -e changes the crontab");
                }
                if !args.iter().any(|a| a == "-l" || a == "-r" || a == "-e") {
                    self.out.destructive("crontab FILE replaces the crontab");
                }
            }
            "apt" | "apt-get" | "aptitude" | "yum" | "dnf" | "zypper" | "microdnf" | "apk"
            | "snap" | "pip" | "pip3" | "npm" | "gem" | "flatpak" => self.packages(name, args),
            "dpkg" | "rpm" => {
                const WRITES: &[&str] = &[
                    "-i",
                    "--install",
                    "-r",
                    "--remove",
                    "-P",
                    "--purge",
                    "-e",
                    "--erase",
                    "-U",
                    "--upgrade",
                    "-F",
                    "--freshen",
                    "--configure",
                    "--unpack",
                ];
                if args.iter().any(|a| {
                    WRITES.contains(&a.as_str())
                        || (name == "rpm" && short_flag(a, &["-i", "-U", "-e", "-F"]))
                }) {
                    self.out
                        .destructive(format!("{name} changes installed packages"));
                } else if !args.iter().any(|a| {
                    short_flag(a, &["-l", "-L", "-s", "-S", "-q", "-p"])
                        || matches!(
                            a.as_str(),
                            "--list"
                                | "--listfiles"
                                | "--status"
                                | "--search"
                                | "--query"
                                | "--get-selections"
                                | "--print-architecture"
                                | "--verify"
                                | "-V"
                        )
                }) {
                    self.not_known(written);
                }
            }
            "dpkg-query" | "apt-cache" | "rpmquery" => {}
            "git" => self.git(written, args),
            "openssl" => self.openssl(args),
            "ssh-keygen" => {
                let p = options::parse(Spec::of("ssh-keygen"), args);
                if p.has(&["R"]) {
                    self.out.unproven("ssh-keygen -R changes known_hosts");
                } else if !p.has(&["l", "F", "y", "L", "B", "Q"]) {
                    self.out.unproven("ssh-keygen writes keys");
                }
            }
            "scp" | "sftp" => self.out.unproven(format!("{name} copies files")),
            "nc" | "ncat" | "netcat" => {
                let p = options::parse(Spec::of(name), args);
                if !p.has(&["z"]) || p.has(&["l", "e", "c"]) {
                    self.out.unproven(format!("{name} sends whatever it reads"));
                }
            }
            "telnet" => {
                self.out.interactive("telnet needs the terminal");
                self.out.unproven("telnet sends whatever is typed");
            }
            "tcpdump" => {
                let p = options::parse(Spec::of("tcpdump"), args);
                if let Some(f) = p.value(&["w"]) {
                    let f = f.to_owned();
                    self.writes_file("tcpdump", &f, "writes");
                }
                if p.has(&["z"]) {
                    self.out.unproven("tcpdump -z runs a command");
                }
            }
            "vmtoolsd" | "vmware-rpctool" => {
                let p = options::parse(Spec::of(name), args);
                let cmd = p.value(&["cmd"]).or(p.first()).unwrap_or_default();
                if !(cmd.starts_with("info-get")
                    || args.iter().all(|a| a.starts_with("-v") || a == "--version"))
                {
                    self.not_known(written);
                }
            }
            "kubeadm" => {
                let p = options::parse(Spec::of("kubeadm"), args);
                match p.first() {
                    Some(s @ ("reset" | "init" | "join" | "upgrade")) => {
                        self.out
                            .destructive(format!("kubeadm {s} changes the cluster"));
                    }
                    Some("version") => {}
                    Some("certs") if p.operands.get(1).is_some_and(|s| s == "check-expiration") => {
                    }
                    Some("token") if p.operands.get(1).is_some_and(|s| s == "list") => {}
                    Some("config") if p.operands.iter().any(|s| s == "print" || s == "list") => {}
                    _ => self.not_known(written),
                }
            }
            "etcdctl" => self.etcdctl(written, args),
            "crictl" => self.crictl(written, args),
            "ctr" => self.ctr(written, args),
            "docker" | "podman" | "nerdctl" => self.container_tool(name, written, args),
            "kubectl" | "oc" | "k" | "microk8s.kubectl" | "kubecolor" => {
                self.kubectl(name, args);
            }
            "microk8s" if args.first().is_some_and(|a| a == "kubectl") => {
                self.kubectl("kubectl", &args[1..]);
            }
            "helm" => self.helm(args),
            "k9s" | "tmux" | "screen" | "mc" | "psql" | "mysql" | "redis-cli" | "sqlite3"
            | "mongo" | "mongosh" | "etcdctl-shell" => {
                if args.is_empty() || matches!(name, "k9s" | "tmux" | "screen" | "mc") {
                    self.out.interactive(format!("{name} needs the terminal"));
                }
                self.out.unproven(format!("{name} can change data"));
            }
            _ => self.not_known(written),
        }
    }

    /// A wrapper whose options come from [`options::SPECS`] and whose operands are the
    /// command it runs.
    fn wrapped(&mut self, name: &str, args: &[String]) {
        let p = options::parse(Spec::of(name), args);
        self.words(&args[p.rest..]);
    }

    fn sudo(&mut self, name: &str, args: &[String]) {
        let p = options::parse(Spec::of(name), args);
        let inner = &args[p.rest..];
        if inner.is_empty() {
            if p.has(&["i", "login", "s", "shell"]) {
                let line = format!("{name} {}", args.join(" "));
                self.out
                    .interactive(format!("`{}` opens a root shell", line.trim()));
                self.out.opens_shell = true;
                self.out.unproven(format!(
                    "`{}` opens a shell where anything can be typed",
                    line.trim()
                ));
            } else if p.has(&["e", "edit"]) {
                self.out.interactive("sudo --edit opens an editor");
                self.out.unproven("sudo --edit changes files");
            }
            return;
        }
        if p.has(&["e", "edit"]) {
            self.out.interactive("sudo --edit opens an editor");
            self.out.unproven("sudo --edit changes files");
            return;
        }
        // sudo resets the environment: kubectl there does not use the session's kubeconfig.
        self.ungated(inner);
    }

    fn env(&mut self, args: &[String]) {
        let p = options::parse(Spec::of("env"), args);
        let mut rest: &[String] = &args[p.rest..];
        let clears = p.has(&["i", "ignore-environment"]) || rest.first().is_some_and(|a| a == "-");
        if rest.first().is_some_and(|a| a == "-") {
            rest = &rest[1..];
        }
        for name in p.values(&["u", "unset"]) {
            if let Some(why) = super::guarded(name) {
                self.out.unproven(format!("it unsets {name}, {why}"));
            }
        }
        let unsets_kubeconfig = p.values(&["u", "unset"]).any(|n| n == "KUBECONFIG");
        let before = self.gated;
        if clears || unsets_kubeconfig {
            self.gated = false;
        }
        if let Some(split) = p.value(&["S", "split-string"]) {
            let mut line = split.to_owned();
            for w in rest {
                line.push(' ');
                line.push_str(w);
            }
            self.script(&line);
        } else {
            self.words(rest);
        }
        self.gated = before;
    }

    fn shell(&mut self, name: &str, args: &[String]) {
        let p = options::parse(Spec::of(name), args);
        let login = p.has(&["l", "login", "i", "rcfile", "init-file"]);
        if p.has(&["c"]) {
            if let Some(script) = p.first() {
                let script = script.to_owned();
                if login {
                    self.ungated_script(&script);
                } else {
                    self.script(&script);
                }
            }
            return;
        }
        match p.first() {
            None => {
                self.out
                    .interactive(format!("`{}` opens an interactive shell", {
                        let mut l = name.to_owned();
                        for a in args {
                            l.push(' ');
                            l.push_str(a);
                        }
                        l
                    }));
                self.out.opens_shell = true;
                self.out
                    .unproven(format!("{name} runs whatever it reads or is typed"));
            }
            Some(file) => {
                self.out.unproven(format!(
                    "{name} runs the script {file}, which runbook cannot check"
                ));
            }
        }
    }

    fn ssh(&mut self, args: &[String]) {
        let p = options::parse(Spec::of("ssh"), args);
        for o in p.values(&["o"]) {
            let key = o
                .split(['=', ' '])
                .next()
                .unwrap_or_default()
                .to_ascii_lowercase();
            if SSH_LOCAL_COMMANDS.contains(&key.as_str()) {
                self.out
                    .unproven(format!("ssh -o {o} runs a command on this machine"));
            }
        }
        if p.has(&["F"]) {
            self.out
                .unproven("ssh -F reads a configuration that can run commands");
        }
        let Some(host) = args.get(p.rest) else { return };
        let remote = &args[p.rest + 1..];
        if remote.is_empty() {
            self.out
                .interactive(format!("ssh {host} opens a remote shell"));
            self.out.opens_shell = true;
            self.out.unproven(format!(
                "ssh {host} opens a remote shell where anything can be typed"
            ));
            return;
        }
        let before = self.out.destructive;
        self.ungated_script(&remote.join(" "));
        if self.out.destructive && !before {
            self.out.push(format!("it runs on {host}"));
        }
        if p.has(&["t"]) {
            self.out
                .interactive("ssh -t gives the remote command a terminal");
        }
    }

    fn interpreter(&mut self, name: &str, inline: &[&str], args: &[String]) {
        let p = options::parse(Spec::of(name), args);
        if inline.iter().any(|o| p.has(&[o])) {
            self.out.unproven(format!("inline program for {name}"));
            return;
        }
        if name.starts_with("python") || name.starts_with("pypy") {
            if p.value(&["m"]) == Some("json.tool") {
                return;
            }
            if p.has(&["V", "version"]) && p.operands.is_empty() {
                return;
            }
            if p.has(&["m"]) {
                self.out.unproven(format!(
                    "{name} -m runs the module {}",
                    p.value(&["m"]).unwrap_or_default()
                ));
                return;
            }
        }
        if p.has(&["v", "version", "V"]) && p.operands.is_empty() {
            return;
        }
        match p.first() {
            None => {
                self.out
                    .interactive(format!("{name} without arguments opens a prompt"));
                self.out
                    .unproven(format!("{name} runs whatever it reads or is typed"));
            }
            Some(file) => {
                self.out.unproven(format!(
                    "{name} runs the program {file}, which runbook cannot check"
                ));
            }
        }
    }

    fn declare(&mut self, name: &str, args: &[String]) {
        let mut integer = false;
        for a in args {
            if let Some(flags) = a.strip_prefix('-').or_else(|| a.strip_prefix('+')) {
                if flags.contains('n') && name != "export" {
                    self.out
                        .unproven(format!("{name} -n makes a name stand for another variable"));
                }
                if flags.contains('n') && name == "export" {
                    // `export -n NAME` un-exports: checked as a name below.
                }
                if flags.contains('i') {
                    integer = true;
                }
                continue;
            }
            if let Some((_, value)) = a.split_once('=') {
                if integer && super::reads_variables(value) {
                    self.out.unproven(
                        "an integer variable evaluates its value as arithmetic, which can run code hidden in it",
                    );
                }
                self.assignment(a);
            } else if name == "export"
                && let Some(why) = super::guarded(a)
            {
                self.out.unproven(format!("it exports {a}, {why}"));
            }
        }
    }

    /// Variables a builtin assigns by name (`read NAME`, `printf -v NAME`).
    fn names_set(&mut self, names: &[String]) {
        for n in names {
            let base = n.split('[').next().unwrap_or(n);
            if let Some(why) = super::guarded(base) {
                self.out.unproven(format!("it sets {base}, {why}"));
            }
            if n.contains('[') && super::reads_variables(&n[base.len()..]) {
                self.out.unproven(
                    "an array subscript reads a variable, which can run code hidden in its value",
                );
            }
        }
    }

    fn copy_or_change(&mut self, name: &str, args: &[String]) {
        let p = options::parse(Spec::of(name), args);
        let target = p
            .value(&["t", "target-directory"])
            .map(str::to_owned)
            .or_else(|| p.operands.last().cloned());
        let what = if matches!(name, "chmod" | "chown" | "chgrp" | "setfacl") {
            // Every operand after the mode or owner is changed.
            p.operands.iter().skip(1).cloned().collect::<Vec<_>>()
        } else {
            target.into_iter().collect()
        };
        let mut system = false;
        for t in &what {
            let path = normalise_path(t, self.cwd.as_deref());
            if is_system_path(&path) {
                system = true;
                self.out.destructive(format!("{name} changes {t}"));
            }
        }
        if name == "mv" {
            self.out.destructive("mv moves or overwrites files");
        } else if !system {
            self.out.unproven(format!("{name} changes files"));
        }
    }

    fn sed(&mut self, name: &str, args: &[String]) {
        let p = options::parse(Spec::of(name), args);
        if p.has(&["i", "in-place"]) {
            self.out
                .destructive(format!("{name} -i edits files in place"));
            return;
        }
        if p.has(&["f", "file"]) {
            self.out
                .unproven(format!("{name} -f runs a script from a file"));
            return;
        }
        let scripts: Vec<&str> = if p.has(&["e", "expression"]) {
            p.values(&["e", "expression"]).collect()
        } else {
            p.first().into_iter().collect()
        };
        if scripts.iter().any(|s| sed_writes_or_runs(s)) {
            self.out
                .unproven(format!("the {name} script writes a file or runs a command"));
        }
    }

    fn perl(&mut self, args: &[String]) {
        let p = options::parse(Spec::of("perl"), args);
        if p.has(&["i"]) {
            self.out.destructive("perl -i edits files in place");
        }
        if p.has(&["e", "E"]) {
            self.out.unproven("inline program for perl");
        } else if p.has(&["v", "V"]) && p.operands.is_empty() {
        } else if let Some(file) = p.first() {
            self.out.unproven(format!(
                "perl runs the program {file}, which runbook cannot check"
            ));
        } else {
            self.out.unproven("perl runs whatever it reads");
        }
    }

    fn awk(&mut self, name: &str, args: &[String]) {
        let p = options::parse(Spec::of(name), args);
        if p.has(&["i", "include", "l", "load"])
            || args.iter().any(|a| a == "inplace" || a.contains("inplace"))
        {
            self.out
                .unproven(format!("{name} loads an extension that can write files"));
        }
        if p.has(&["f", "file"]) {
            self.out
                .unproven(format!("{name} -f runs a program from a file"));
            return;
        }
        let program = p
            .value(&["e", "source"])
            .map(str::to_owned)
            .or_else(|| p.first().map(str::to_owned))
            .unwrap_or_default();
        for cmd in awk_system_calls(&program) {
            self.script(&cmd);
        }
        if let Some(why) = awk_writes(&program) {
            self.out
                .unproven(format!("inline program for {name} {why}"));
        }
    }

    fn find(&mut self, args: &[String]) {
        let mut i = 0;
        while let Some(a) = args.get(i) {
            match a.as_str() {
                "-delete" => self.out.destructive("find -delete deletes files"),
                "-exec" | "-execdir" | "-ok" | "-okdir" => {
                    let end = args[i + 1..]
                        .iter()
                        .position(|w| w == ";" || w == "+")
                        .map_or(args.len(), |p| i + 1 + p);
                    let inner: Vec<String> = args[i + 1..end]
                        .iter()
                        .map(|w| w.replace("{}", "FOUND"))
                        .collect();
                    self.words(&inner);
                    i = end;
                }
                "-fprint" | "-fprint0" | "-fprintf" | "-fls" => {
                    if let Some(file) = args.get(i + 1) {
                        let file = file.clone();
                        self.writes_file("find", &file, &format!("{a} writes"));
                    }
                    i += 1;
                }
                _ => {}
            }
            i += 1;
        }
    }

    fn curl(&mut self, args: &[String]) {
        let p = options::parse(Spec::of("curl"), args);
        let explicit = p.value(&["X", "request"]).map(str::to_ascii_uppercase);
        let implied = if p.has(&[
            "d",
            "data",
            "data-ascii",
            "data-binary",
            "data-raw",
            "data-urlencode",
            "json",
            "F",
            "form",
            "form-string",
        ]) && !p.has(&["G", "get"])
        {
            Some("POST")
        } else if p.has(&["T", "upload-file"]) {
            Some("PUT")
        } else {
            None
        };
        let method = explicit.or(implied.map(str::to_owned));
        match method.as_deref() {
            None | Some("GET" | "HEAD" | "OPTIONS") => {}
            Some(m @ ("PUT" | "POST" | "DELETE" | "PATCH")) => {
                self.out.destructive(format!("curl sends a {m} request"));
            }
            Some(m) => self.out.unproven(format!("curl sends a {m} request")),
        }
        for out in p.values(&[
            "o",
            "output",
            "D",
            "dump-header",
            "c",
            "cookie-jar",
            "trace",
            "trace-ascii",
            "stderr",
            "libcurl",
            "etag-save",
            "hsts",
            "alt-svc",
        ]) {
            let out = out.to_owned();
            self.writes_file("curl", &out, "writes");
        }
        if p.has(&[
            "O",
            "remote-name",
            "remote-name-all",
            "J",
            "output-dir",
            "create-dirs",
        ]) {
            self.out.unproven("curl saves a file");
        }
        if p.has(&["K", "config"]) {
            self.out.unproven("curl reads options from a file");
        }
    }

    fn wget(&mut self, args: &[String]) {
        let p = options::parse(Spec::of("wget"), args);
        let method = p
            .value(&["method"])
            .map(str::to_ascii_uppercase)
            .or_else(|| {
                p.has(&["post-data", "post-file"])
                    .then(|| "POST".to_owned())
            })
            .or_else(|| p.has(&["body-data", "body-file"]).then(|| "PUT".to_owned()));
        if let Some(m @ ("PUT" | "POST" | "DELETE" | "PATCH")) = method.as_deref() {
            self.out.destructive(format!("wget sends a {m} request"));
        }
        let stdout = p
            .value(&["O", "output-document"])
            .is_some_and(super::harmless_target);
        if !(stdout || p.has(&["spider"])) {
            self.out.unproven("wget saves a file");
        }
        for log in p.values(&["o", "output-file", "a", "append-output", "save-cookies"]) {
            let log = log.to_owned();
            self.writes_file("wget", &log, "writes");
        }
        if p.has(&["e", "execute", "i", "input-file", "config"]) {
            self.out
                .unproven("wget reads commands from its options or a file");
        }
    }

    fn tar(&mut self, args: &[String]) {
        // `tar czf x.tgz dir`: the first word is a bundle of letters without a dash.
        let mut words: Vec<String> = args.to_vec();
        if let Some(first) = words.first_mut()
            && !first.starts_with('-')
            && first.chars().all(|c| c.is_ascii_alphabetic())
        {
            first.insert(0, '-');
        }
        let p = options::parse(Spec::of("tar"), &words);
        let lists = p.has(&["t", "list"]);
        let writes = p.has(&[
            "c",
            "x",
            "r",
            "u",
            "A",
            "create",
            "extract",
            "get",
            "append",
            "update",
            "concatenate",
            "delete",
        ]);
        if writes || !lists {
            let into = p
                .value(&["C", "directory"])
                .map(|d| normalise_path(d, self.cwd.as_deref()));
            if p.has(&["x", "extract", "get"]) && into.as_deref().is_some_and(is_system_path) {
                self.out
                    .destructive(format!("tar extracts into {}", into.unwrap_or_default()));
            } else {
                self.out.unproven("tar writes files");
            }
        }
        if p.has(&[
            "to-command",
            "use-compress-program",
            "info-script",
            "new-volume-script",
            "checkpoint-action",
            "rsh-command",
        ]) || p.has(&["I"])
        {
            self.out.unproven("tar runs a command");
        }
    }

    fn systemctl(&mut self, args: &[String]) {
        let p = options::parse(Spec::of("systemctl"), args);
        match p.first() {
            None
            | Some(
                "status" | "show" | "cat" | "list-units" | "list-unit-files" | "list-sockets"
                | "list-timers" | "list-jobs" | "list-dependencies" | "list-machines"
                | "list-paths" | "is-active" | "is-enabled" | "is-failed" | "is-system-running"
                | "help" | "get-default" | "show-environment",
            ) => {}
            Some("edit") => {
                self.out.interactive("systemctl edit opens an editor");
                self.out.destructive("systemctl edit changes a unit");
            }
            Some(s) => self
                .out
                .destructive(format!("systemctl {s} changes running services")),
        }
    }

    fn ip(&mut self, written: &str, args: &[String]) {
        const WRITES: &[&str] = &[
            "add", "del", "delete", "flush", "set", "change", "replace", "append", "prepend",
            "attach", "detach", "save", "restore", "up", "down",
        ];
        let p = options::parse(Spec::of("ip"), args);
        if p.has(&["b", "batch", "force"]) {
            self.out.unproven("ip -batch runs commands from a file");
        }
        let ops = &p.operands;
        if ops.first().is_some_and(|o| o == "netns") && ops.get(1).is_some_and(|o| o == "exec") {
            // `ip netns exec NAME cmd ...`: find the command after the name.
            if let Some(pos) = args.iter().position(|a| a == "exec") {
                self.words(args.get(pos + 2..).unwrap_or_default());
            }
            return;
        }
        if ops.iter().any(|o| WRITES.contains(&o.as_str())) {
            self.out.destructive("ip changes network configuration");
            return;
        }
        match ops.get(1).map(String::as_str) {
            None | Some("show" | "list" | "lst" | "sh" | "ls" | "l" | "s" | "get" | "help") => {}
            Some(_) if ops.first().is_some_and(|o| o == "monitor" || o == "help") => {}
            Some(_) => self.not_known(written),
        }
    }

    fn packages(&mut self, name: &str, args: &[String]) {
        let p = options::parse(Spec::of(name), args);
        match p.first() {
            Some(
                s @ ("install" | "remove" | "purge" | "autoremove" | "upgrade" | "dist-upgrade"
                | "full-upgrade" | "erase" | "reinstall" | "downgrade" | "add" | "del"
                | "uninstall" | "refresh" | "patch" | "update-minimal" | "distro-sync"),
            ) => self
                .out
                .destructive(format!("{name} {s} changes installed packages")),
            Some("update") if !matches!(name, "apt" | "apt-get") => self
                .out
                .destructive(format!("{name} update changes installed packages")),
            Some(
                "list" | "search" | "show" | "info" | "policy" | "madison" | "list-installed"
                | "repolist" | "check-update" | "provides" | "whatprovides" | "depends"
                | "rdepends" | "freeze" | "outdated" | "version" | "--version",
            ) => {}
            _ => self.out.unproven(format!("{name} changes package lists")),
        }
    }

    fn git(&mut self, written: &str, args: &[String]) {
        let p = options::parse(Spec::of("git"), args);
        if p.has(&["c", "config-env", "exec-path"]) {
            self.out
                .unproven("git -c can configure a command for git to run");
        }
        let sub = p.first();
        let any = |f: &[&str]| args.iter().any(|a| f.contains(&a.as_str()));
        match sub {
            Some("push") => self.out.destructive("git push discards or publishes work"),
            Some("reset") if any(&["--hard"]) => {
                self.out.destructive("git reset discards or publishes work");
            }
            Some("clean")
                if args.iter().any(|a| {
                    a.starts_with('-') && !a.starts_with("--") && a.contains('f') || a == "--force"
                }) =>
            {
                self.out.destructive("git clean discards or publishes work");
            }
            Some(
                "status" | "log" | "diff" | "show" | "rev-parse" | "ls-files" | "ls-remote"
                | "ls-tree" | "describe" | "blame" | "grep" | "shortlog" | "version" | "help"
                | "cat-file" | "rev-list" | "whatchanged" | "reflog",
            ) => {}
            Some("branch" | "tag" | "remote" | "stash")
                if p.operands.len() == 1
                    || any(&["-l", "--list", "-v", "-a", "-r", "show", "list"]) => {}
            Some("config") if any(&["--get", "--get-all", "--list", "-l", "--get-regexp"]) => {}
            _ => self.not_known(&format!("{written} {}", sub.unwrap_or_default())),
        }
    }

    fn openssl(&mut self, args: &[String]) {
        const READS: &[&str] = &[
            "s_client",
            "x509",
            "verify",
            "version",
            "crl",
            "asn1parse",
            "ciphers",
            "pkcs7",
            "s_time",
            "rsa",
            "ec",
            "pkey",
            "dgst",
            "req",
            "base64",
            "enc",
            "sess_id",
            "errstr",
            "list",
            "speed",
            "prime",
            "rand",
            "ocsp",
            "pkcs12",
            "storeutl",
        ];
        const WRITES: &[&str] = &[
            "-out",
            "-keyout",
            "-writerand",
            "-sess_out",
            "-msgfile",
            "-keylogfile",
            "-CAcreateserial",
            "-new",
            "-newkey",
            "-genkey",
        ];
        let sub = args.first().map(String::as_str).unwrap_or_default();
        if !READS.contains(&sub) {
            self.out
                .unproven(format!("openssl {sub} writes keys or files"));
        } else if let Some(w) = args.iter().find(|a| WRITES.contains(&a.as_str())) {
            let what = args
                .iter()
                .skip_while(|a| *a != w)
                .nth(1)
                .cloned()
                .unwrap_or_default();
            if w == "-out" || w == "-keyout" {
                self.writes_file("openssl", &what, "writes");
            } else {
                self.out.unproven(format!("openssl {sub} {w} writes files"));
            }
        }
        if sub == "s_client" && args.iter().any(|a| a == "-proxy_pass" || a == "-starttls") {
            // talks to a server, reads: fine.
        }
    }

    fn etcdctl(&mut self, written: &str, args: &[String]) {
        let p = options::parse(Spec::of("etcdctl"), args);
        let ops: Vec<&str> = p.operands.iter().map(String::as_str).collect();
        match ops.as_slice() {
            [
                s @ ("del" | "put" | "compact" | "defrag" | "move-leader" | "txn" | "elect"
                | "lock"),
                ..,
            ] => {
                self.out.destructive(format!("etcdctl {s} changes etcd"));
            }
            ["snapshot", "restore", ..] => self
                .out
                .destructive("etcdctl snapshot restore replaces etcd data"),
            ["snapshot", "save", file, ..] => {
                let file = (*file).to_owned();
                self.writes_file("etcdctl snapshot save", &file, "writes");
            }
            [
                "member" | "lease" | "alarm" | "auth" | "user" | "role",
                s @ ("add" | "remove" | "update" | "promote" | "revoke" | "grant" | "disarm"
                | "enable" | "disable" | "delete" | "passwd" | "grant-role" | "revoke-role"
                | "grant-permission" | "revoke-permission" | "keep-alive"),
                ..,
            ] => {
                self.out
                    .destructive(format!("etcdctl {} {s} changes etcd", ops[0]));
            }
            [
                "get" | "watch" | "version" | "check" | "endpoint" | "member" | "alarm" | "lease"
                | "user" | "role" | "snapshot",
                ..,
            ] => {
                if ops.first() == Some(&"check") && ops.get(1) == Some(&"datascale") {
                    self.out.destructive("etcdctl check datascale writes keys");
                }
                if ops.first() == Some(&"check") && ops.get(1) == Some(&"perf") {
                    self.out.destructive("etcdctl check perf writes keys");
                }
            }
            _ => self.not_known(written),
        }
    }

    fn crictl(&mut self, written: &str, args: &[String]) {
        let p = options::parse(Spec::of("crictl"), args);
        match p.first() {
            Some(s @ ("rm" | "rmi" | "rmp" | "stop" | "stopp")) => self
                .out
                .destructive(format!("crictl {s} removes containers or images")),
            Some(
                "ps" | "images" | "image" | "img" | "pods" | "inspect" | "inspecti" | "inspectp"
                | "logs" | "stats" | "statsp" | "info" | "version" | "imagefsinfo" | "events"
                | "metricsp" | "metricdescs",
            ) => {}
            Some("config") if !p.has(&["set"]) => {}
            Some(s @ ("exec" | "attach")) => {
                if has_it(args) {
                    self.out
                        .interactive(format!("crictl {s} -it needs the terminal"));
                }
                self.out
                    .unproven(format!("crictl {s} runs a command in a container"));
            }
            _ => self.not_known(written),
        }
    }

    fn ctr(&mut self, written: &str, args: &[String]) {
        let p = options::parse(Spec::of("ctr"), args);
        let ops: Vec<&str> = p.operands.iter().map(String::as_str).collect();
        let group = ops.first().copied().unwrap_or_default();
        let action = ops.get(1).copied().unwrap_or_default();
        if matches!(
            action,
            "rm" | "remove" | "delete" | "del" | "prune" | "kill"
        ) || matches!(group, "run")
        {
            if group == "run" {
                self.out.unproven("ctr run starts a container");
            } else {
                self.out.destructive(format!(
                    "ctr {group} {action} removes containers, images or data"
                ));
            }
            return;
        }
        let reads = matches!(group, "version" | "info" | "events" | "plugins" | "plugin")
            || matches!(
                action,
                "ls" | "list" | "info" | "ps" | "check" | "metrics" | "usage"
            );
        if !reads {
            self.not_known(&format!("{written} {group} {action}"));
        }
    }

    fn container_tool(&mut self, name: &str, written: &str, args: &[String]) {
        const READS: &[&str] = &[
            "ps", "images", "inspect", "logs", "info", "version", "stats", "top", "port",
            "history", "events", "diff", "search",
        ];
        let p = options::parse(Spec::of(name), args);
        let ops: Vec<&str> = p.operands.iter().map(String::as_str).collect();
        let sub = ops.first().copied().unwrap_or_default();
        let destructive = match ops.as_slice() {
            ["push", ..] => Some("publishes an image to a registry"),
            ["rm" | "rmi" | "kill" | "stop" | "restart", ..] => Some("removes or stops containers"),
            [
                _,
                "rm" | "remove" | "delete" | "del" | "prune" | "kill" | "stop",
                ..,
            ] => Some("removes containers, images or data"),
            _ => None,
        };
        if let Some(why) = destructive {
            self.out.destructive(format!("{name} {sub} {why}"));
            return;
        }
        if matches!(sub, "exec" | "run" | "attach") {
            if has_it(args) {
                self.out
                    .interactive(format!("{name} {sub} -it needs the terminal"));
            }
            self.out
                .unproven(format!("{name} {sub} runs a command in a container"));
            return;
        }
        let reads = READS.contains(&sub)
            || (matches!(
                sub,
                "container" | "image" | "network" | "volume" | "system" | "context" | "buildx"
            ) && ops.get(1).is_some_and(|a| {
                matches!(
                    *a,
                    "ls" | "list"
                        | "inspect"
                        | "logs"
                        | "history"
                        | "top"
                        | "port"
                        | "stats"
                        | "diff"
                        | "df"
                        | "info"
                )
            }));
        if !reads {
            self.not_known(&format!("{written} {sub}"));
        }
    }
}

/// Does a sed script write a file (`w`, `W`, `s///w`) or run a command (`e`, `s///e`)?
fn sed_writes_or_runs(script: &str) -> bool {
    let b = script.as_bytes();
    let mut i = 0;
    // Skips a delimited part starting after its opening delimiter `d`; returns the index
    // after the closing one.
    let skip = |mut k: usize, d: u8| {
        while k < b.len() && b[k] != d {
            if b[k] == b'\\' {
                k += 1;
            }
            k += 1;
        }
        k + 1
    };
    while i < b.len() {
        match b[i] {
            b'/' => i = skip(i + 1, b'/'),
            b'\\' if i + 1 < b.len() => i = skip(i + 2, b[i + 1]),
            b's' | b'y' if i + 1 < b.len() => {
                let d = b[i + 1];
                let mut k = skip(i + 2, d);
                k = skip(k, d);
                if b[i] == b's' {
                    while k < b.len() && b[k].is_ascii_alphanumeric() {
                        if matches!(b[k], b'w' | b'W' | b'e') {
                            return true;
                        }
                        k += 1;
                    }
                }
                i = k;
            }
            b'w' | b'W' | b'e' => return true,
            b'a' | b'i' | b'c' | b'r' | b'R' | b'b' | b't' | b'T' | b':' | b'#' => {
                while i < b.len() && b[i] != b'\n' && b[i] != b';' {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    false
}

/// The commands an awk program passes to `system("...")`, when written as string literals.
fn awk_system_calls(program: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = program;
    while let Some(pos) = rest.find("system") {
        let after = rest[pos + 6..].trim_start();
        if let Some(inner) = after.strip_prefix('(').map(str::trim_start)
            && let Some(body) = inner.strip_prefix('"')
        {
            let mut s = String::new();
            let mut chars = body.chars();
            while let Some(c) = chars.next() {
                match c {
                    '"' => break,
                    '\\' => {
                        if let Some(n) = chars.next() {
                            s.push(n);
                        }
                    }
                    _ => s.push(c),
                }
            }
            out.push(s);
        }
        rest = &rest[pos + 6..];
    }
    out
}

/// Why an awk program can write or run something: `system()`, a pipe, `print > file`.
fn awk_writes(program: &str) -> Option<&'static str> {
    // Strings and regular expressions are data: blank them out first.
    let mut plain = String::with_capacity(program.len());
    let mut chars = program.chars().peekable();
    let mut prev_significant = ' ';
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                while let Some(n) = chars.next() {
                    if n == '\\' {
                        chars.next();
                    } else if n == '"' {
                        break;
                    }
                }
                plain.push_str("\"\"");
                prev_significant = '"';
            }
            '/' if matches!(
                prev_significant,
                ' ' | '(' | ',' | '{' | '}' | ';' | '!' | '~' | '&' | '|' | '\n'
            ) =>
            {
                while let Some(n) = chars.next() {
                    if n == '\\' {
                        chars.next();
                    } else if n == '/' {
                        break;
                    }
                }
                plain.push_str("//");
                prev_significant = '/';
            }
            _ => {
                plain.push(c);
                if !c.is_whitespace() {
                    prev_significant = c;
                } else if c == '\n' {
                    prev_significant = '\n';
                }
            }
        }
    }
    if plain.contains("system") {
        return Some("calls system()");
    }
    let pipes = plain.match_indices('|').any(|(i, _)| {
        plain.as_bytes().get(i + 1) != Some(&b'|') && (i == 0 || plain.as_bytes()[i - 1] != b'|')
    });
    if pipes {
        return Some("pipes to or from a command");
    }
    let print_redirect = plain.split([';', '{', '}', '\n']).any(|stmt| {
        let t = stmt.trim_start();
        (t.starts_with("print") || t.starts_with("printf")) && t.contains('>')
    });
    if print_redirect {
        return Some("prints to a file");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sed_scripts() {
        assert!(!sed_writes_or_runs("s/a/b/g"));
        assert!(!sed_writes_or_runs("/^#/d;s|x|y|"));
        assert!(sed_writes_or_runs("s/a/b/w out"));
        assert!(sed_writes_or_runs("1w out"));
        assert!(sed_writes_or_runs("s/x/date/e"));
        assert!(sed_writes_or_runs("/x/e"));
        assert!(!sed_writes_or_runs("s/we/ew/"));
    }

    #[test]
    fn awk_programs() {
        assert_eq!(awk_writes("{print $1}"), None);
        assert_eq!(awk_writes("/a|b/ {print $2}"), None);
        assert_eq!(awk_writes("$1 > 5 || $2 == \"x|y\""), None);
        assert!(awk_writes("BEGIN{system(\"rm x\")}").is_some());
        assert!(awk_writes("{print > \"f\"}").is_some());
        assert!(awk_writes("{print $1 | \"sh\"}").is_some());
        assert_eq!(
            awk_system_calls("BEGIN{system(\"rm -rf /x\")}"),
            ["rm -rf /x"]
        );
    }
}
