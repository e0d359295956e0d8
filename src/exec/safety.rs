//! Is a command safe to run without asking, and can it be shown to only read? Classifies
//! command text as destructive and/or interactive, and says why a block cannot be proven
//! read-only, in words a user understands.
//!
//! The text is lexed by [`crate::exec::shell`] into simple commands (across pipelines, lists,
//! subshells, `$(...)`, backquotes, substitutions inside `${...}` and arithmetic; heredoc
//! bodies are data, not commands), then each command is looked at word by word: wrappers
//! (`sudo -iu root`, `env -S`, `VAR=x`, `timeout`, `nohup`, `nice`, `setsid`, `flock`,
//! `su -c`, `runuser`, `script -c`, `xargs`, `watch`, `bash -c '...'`, `ssh host CMD`,
//! `find -exec`, `kubectl exec -- CMD`) are peeled off, and the real program's options are
//! read from a table ([`options`]: which options take a value), so `curl -sXDELETE`,
//! `helm -n ns uninstall` and `systemctl -H host restart` read as what they are. Substring
//! matches are never used: `kubectl get pods | grep delete` only reads, `echo rm` is harmless.
//!
//! Two verdicts come out of one pass:
//! - *destructive* (confirm mode asks first): it changes state somewhere — the cluster, a
//!   node, a registry, a remote API, a system path. `docker push` is destructive (it publishes
//!   or overwrites a tag others pull), `docker tag` is not; `kubectl label`/`annotate` count
//!   only with `--overwrite` or a removal (`key-`); `curl`/`wget` when their method writes;
//!   writing under `/etc`, `/boot`, `/proc`, `/sys`, `/usr`, `/dev`, ... however spelled
//!   (`//etc/x`, `>& /etc/x`, `{ ...; } > /etc/x`, `cd /etc && > x`).
//! - *read-only proof* (`--read-only` runs a block only when it holds): default deny. A
//!   command counts as only reading when it is in the tables of [`programs`] with options
//!   that do not write; everything else says why not in [`Classification::unproven`]
//!   ("output redirected to a file", "the command name comes from a variable", "eval of a
//!   string", "inline program for python3", "`./csi-helper` is not known to only read").
//!   Kubernetes calls through the session's kubeconfig are the exception: the cluster is
//!   guarded by runbook's gate at the API ([`crate::cluster::gate`]), so a recognised cluster
//!   write is listed in [`Classification::cluster_writes`] (refused by read-only, sent with
//!   `dryRun=All` by a dry run) and a cluster read runs. Under `sudo`, `ssh`, `env -i` or a
//!   `--kubeconfig` of its own, kubectl does not reach the gate: its writes are unproven.
//! - Fence attributes ([`classify_block`]): `destructive=true`, `interactive=true` make a
//!   block more careful and are always honoured; `destructive=false`/`interactive=false` only
//!   for a bundled runbook or a local file the user named ([`Trust::Local`]), never for a
//!   fetched one, and never for the read-only proof. Every judging attribute is listed in
//!   [`Classification::attributes`], with why it was ignored; the linter warns about
//!   overrides.
//!
//! To add a program: give it a row in [`options::SPECS`] when it has options that take a
//! value, an arm in [`programs`] (or a name in one of its tables), and a row in the table
//! test (`tests/local/exec_safety.rs`).

mod kube;
pub mod options;
mod programs;

use std::path::Path;

use serde::Serialize;

use super::shell::{self, Quote, SimpleCommand};
use crate::runbook::{Block, Runbook};

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
    /// Why the block cannot be shown to only read (empty: it only reads, or only talks to
    /// the cluster through the session's kubeconfig). `--read-only` refuses it.
    pub unproven: Vec<String>,
    /// Writes to the cluster through the session's kubeconfig, recognised
    /// (`kubectl annotate ...`): refused by `--read-only` (the gate would refuse them too),
    /// sent with `dryRun=All` by a dry run through the gate.
    pub cluster_writes: Vec<String>,
    /// The fence attributes that change how the block is judged, as written.
    pub attributes: Vec<Attribute>,
}

/// A fence attribute that changes how a block is judged (`destructive=false`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribute {
    pub key: String,
    pub value: String,
    /// Why it was not honoured (`a fetched runbook cannot relax the guards`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored: Option<String>,
}

/// Whose word a runbook's fence attributes are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trust {
    /// Bundled with runbook, or a file the user named: `destructive=false` is honoured.
    Local,
    /// Fetched from a URL (or of unknown origin): attributes may only make a block more
    /// careful.
    #[default]
    Fetched,
}

impl Trust {
    pub fn of(runbook: &Runbook) -> Self {
        if runbook.fetched.is_some() {
            Self::Fetched
        } else {
            Self::Local
        }
    }
}

impl Classification {
    fn destructive(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        self.destructive = true;
        push(&mut self.unproven, reason.clone());
        push(&mut self.reasons, reason);
    }

    fn interactive(&mut self, reason: impl Into<String>) {
        self.interactive = true;
        push(&mut self.reasons, reason.into());
    }

    fn push(&mut self, reason: String) {
        push(&mut self.reasons, reason);
    }

    fn unproven(&mut self, reason: impl Into<String>) {
        push(&mut self.unproven, reason.into());
    }

    /// Why `--read-only` refuses this block, or `None` when it may run: every cluster write
    /// it makes and everything it does that cannot be shown to only read.
    pub fn read_only_refusal(&self) -> Option<String> {
        let mut why: Vec<&str> = Vec::new();
        for r in self.cluster_writes.iter().chain(&self.unproven) {
            if !why.contains(&r.as_str()) {
                why.push(r);
            }
        }
        (!why.is_empty()).then(|| why.join("; "))
    }

    /// In a dry run: may this block run for real? Only through runbook's gate (`gated`),
    /// which sends cluster writes with `dryRun=All`, and only when everything it does here
    /// only reads. Without the gate a dry run runs nothing.
    pub fn runs_in_dry_run(&self, gated: bool) -> bool {
        gated && self.unproven.is_empty()
    }
}

fn push(list: &mut Vec<String>, reason: String) {
    if !list.contains(&reason) {
        list.push(reason);
    }
}

/// Classifies a command text (a whole command block).
pub fn classify(command: &str) -> Classification {
    let mut c = Classifier {
        out: Classification::default(),
        depth: 0,
        functions: Vec::new(),
        gated: true,
        cwd: None,
    };
    let text = neutralise_placeholders(command);
    // Lexed once for both questions.
    let lexed = shell::parse(&text);
    c.lexed(&text, &lexed);
    let mut out = c.out;
    if let Some(why) = reads_the_terminal(&text, &lexed) {
        out.interactive = true;
        push(&mut out.reasons, why.to_owned());
    }
    for list in [&mut out.reasons, &mut out.unproven, &mut out.cluster_writes] {
        for r in list.iter_mut() {
            if r.contains(PLACEHOLDER) {
                *r = restore_placeholders(r);
            }
        }
    }
    out
}

/// Does the script wait for a person to type (`read -p "Name? " n`)? Only when `read` takes
/// its input from the terminal: not after a pipe (`… | while read -r x`), not with a
/// redirect or `-u FD`, and not in a loop whose input is redirected (`done < file`).
fn reads_the_terminal(script: &str, lexed: &shell::Script) -> Option<&'static str> {
    let loop_fed = script.contains("done <") || script.contains("done<");
    lexed
        .commands
        .iter()
        .find(|c| {
            c.words.first().is_some_and(|w| w == "read")
                && !c.words.iter().any(|w| w == "-u" || w.starts_with("-u"))
                && !c.redirects.iter().any(|r| r.op.starts_with('<'))
                && !loop_fed
                && !piped_into(script, c.start)
        })
        .map(|_| "read waits for what is typed at the terminal")
}

/// Is the command starting at byte `start` the receiving end of a pipe? Looks back past blanks
/// and the keywords that may sit between (`| while read`, `|\n  while IFS=… read`).
fn piped_into(script: &str, start: usize) -> bool {
    let mut before = script.get(..start).unwrap_or_default().trim_end();
    // Assignments before the command (`IFS=$'\t' read`) were not part of `start`'s word.
    loop {
        let trimmed = ["while", "until", "do", "then", "!", "{", "("]
            .iter()
            .find_map(|k| before.strip_suffix(k))
            .map(str::trim_end);
        match trimmed {
            Some(t) => before = t,
            None => break,
        }
    }
    before.ends_with('|') && !before.ends_with("||")
}

/// What a placeholder stands in as while the text is lexed.
const PLACEHOLDER: &str = "PLACEHOLDER_";

/// `PLACEHOLDER_host_name` back to `<host-name>` in a reason shown to the user.
fn restore_placeholders(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(PLACEHOLDER) {
        out.push_str(&rest[..at]);
        let after = &rest[at + PLACEHOLDER.len()..];
        let len = after
            .bytes()
            .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
            .count();
        out.push('<');
        out.push_str(&after[..len].replace('_', "-"));
        out.push('>');
        rest = &after[len..];
    }
    out.push_str(rest);
    out
}

/// `<key-name>` would lex as redirections: stand every placeholder in for a plain word
/// (`PLACEHOLDER_key_name`) before lexing.
fn neutralise_placeholders(command: &str) -> String {
    crate::runbook::placeholder::replace(command, |p, _| {
        format!("{PLACEHOLDER}{}", p.name.replace('-', "_"))
    })
}

/// Classifies a block, with its fence attributes: `destructive=true` and `interactive=true`
/// always count; `destructive=false` and `interactive=false` only from a [`Trust::Local`]
/// runbook. No attribute changes the read-only proof.
pub fn classify_block(block: &Block, trust: Trust) -> Classification {
    let mut out = classify(&block.code);
    for key in crate::runbook::JUDGING_ATTRIBUTES {
        let Some(value) = block.attribute(key) else {
            continue;
        };
        let mut ignored = None;
        if matches!(*key, "destructive" | "interactive") {
            match parse_bool(value) {
                Some(v) => {
                    let current = if *key == "destructive" {
                        &mut out.destructive
                    } else {
                        &mut out.interactive
                    };
                    if v != *current {
                        if v || trust == Trust::Local {
                            *current = v;
                            out.overridden = true;
                            let why = format!("the runbook marks it {key}={v}");
                            if v && *key == "destructive" {
                                push(&mut out.unproven, why.clone());
                            }
                            push(&mut out.reasons, why);
                        } else {
                            ignored = Some(
                                "a fetched runbook cannot relax the guards, so it is ignored"
                                    .to_owned(),
                            );
                        }
                    }
                }
                None => ignored = Some("not true or false, so it is ignored".to_owned()),
            }
        }
        out.attributes.push(Attribute {
            key: (*key).to_owned(),
            value: value.to_owned(),
            ignored,
        });
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

/// Folders whose modification changes the system.
const SYSTEM_PATHS: &[&str] = &[
    "/etc",
    "/boot",
    "/proc",
    "/sys",
    "/dev",
    "/usr",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/bin",
    "/sbin",
    "/opt",
    "/root",
    "/var/lib",
    "/var/spool",
    "/lib/systemd",
];

/// Where writing changes nothing: the null device, the standard streams, the terminal.
fn harmless_target(path: &str) -> bool {
    matches!(
        path,
        "/dev/null" | "/dev/stdout" | "/dev/stderr" | "/dev/tty" | "-"
    ) || path
        .strip_prefix("/dev/fd/")
        .or_else(|| path.strip_prefix("/proc/self/fd/"))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn is_system_path(path: &str) -> bool {
    if harmless_target(path) {
        return false;
    }
    path == "/"
        || SYSTEM_PATHS.iter().any(|root| {
            path == *root
                || path
                    .strip_prefix(root)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
}

/// `path` as the kernel reads it: quotes removed, relative paths joined to `cwd` when known,
/// `//`, `.` and `..` folded (`//etc/./x/../hosts` is `/etc/hosts`).
fn normalise_path(path: &str, cwd: Option<&str>) -> String {
    let p = path.trim_matches(['"', '\'']);
    let joined = match cwd {
        Some(dir) if !p.starts_with('/') && !p.starts_with('~') && !p.starts_with('$') => {
            format!("{dir}/{p}")
        }
        _ => p.to_owned(),
    };
    if !joined.starts_with('/') {
        return joined;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// Variables whose value changes what other commands do or where kubectl goes: setting one
/// (or unsetting it) cannot be shown to only read.
const GUARDED_VARS: &[(&str, &str)] = &[
    ("KUBECONFIG", "which decides which cluster kubectl talks to"),
    (
        "HOME",
        "where kubectl and other tools find their configuration",
    ),
    ("PATH", "which decides which programs run"),
    ("BASH_ENV", "a file bash runs first"),
    ("ENV", "a file shells run first"),
    ("PROMPT_COMMAND", "a command bash runs"),
    ("PS0", "a string bash expands, running what it holds"),
    ("PS1", "a string bash expands, running what it holds"),
    ("PS2", "a string bash expands, running what it holds"),
    ("PS3", "a string bash expands, running what it holds"),
    ("PS4", "a string bash expands, running what it holds"),
    ("SHELLOPTS", "options for every bash"),
    ("BASHOPTS", "options for every bash"),
    ("EDITOR", "a program other tools start"),
    ("VISUAL", "a program other tools start"),
    ("PAGER", "a program other tools start"),
    ("MANPAGER", "a program other tools start"),
    ("SYSTEMD_PAGER", "a program other tools start"),
    ("LESSOPEN", "a program less starts"),
    ("CURL_HOME", "where curl reads its options"),
    ("WGETRC", "where wget reads its options"),
    ("XDG_CONFIG_HOME", "where tools find their configuration"),
    ("PYTHONSTARTUP", "code python runs"),
    ("PYTHONPATH", "code python loads"),
    ("PERL5OPT", "options for every perl"),
    ("PERL5LIB", "code perl loads"),
    ("NODE_OPTIONS", "options for every node"),
    ("RUBYOPT", "options for every ruby"),
    ("SSH_ASKPASS", "a program ssh starts"),
    ("SUDO_ASKPASS", "a program sudo starts"),
    ("GCONV_PATH", "code loaded into programs"),
];

/// Prefixes of guarded variable names (`KUBECTL_EXTERNAL_DIFF`, `HELM_KUBETOKEN`,
/// `LD_PRELOAD`, `BASH_FUNC_ls%%`, `RUNBOOK_ENV_FILE`).
const GUARDED_PREFIXES: &[(&str, &str)] = &[
    ("KUBECTL_", "which changes what kubectl does"),
    ("KUBE_", "which changes what kubectl does"),
    ("HELM_", "which changes where helm goes"),
    ("LD_", "code loaded into every program"),
    ("BASH_FUNC_", "a function every bash defines"),
    ("RUNBOOK_", "runbook's own"),
    ("GIT_", "which changes what git runs"),
];

fn guarded(name: &str) -> Option<&'static str> {
    GUARDED_VARS
        .iter()
        .find(|(n, _)| *n == name)
        .or_else(|| GUARDED_PREFIXES.iter().find(|(p, _)| name.starts_with(p)))
        .map(|(_, why)| *why)
}

/// Does an arithmetic text read a variable (whose value bash would evaluate as arithmetic
/// too, running any `$(...)` hidden in an array subscript)? `$?` and `$#` are numbers.
fn reads_variables(body: &str) -> bool {
    let body = body.replace("$?", "0").replace("$#", "0");
    let bytes = body.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_digit() {
            // A number, with its base and digits (`0x1F`, `16#ff`).
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'#') {
                i += 1;
            }
            continue;
        }
        if c == b'$' || c.is_ascii_alphabetic() || c == b'_' {
            return true;
        }
        i += 1;
    }
    false
}

struct Classifier {
    out: Classification,
    depth: usize,
    /// Functions the script defines.
    functions: Vec<String>,
    /// kubectl here uses the session's `KUBECONFIG` (the gate's, in read-only and dry-run):
    /// false under `sudo`, `ssh`, `env -i`, a login shell, or a kubeconfig of its own.
    gated: bool,
    /// Where relative paths point, once a `cd` said so.
    cwd: Option<String>,
}

impl Classifier {
    fn script(&mut self, text: &str) {
        if self.depth > 8 {
            self.out
                .unproven("it nests shells too deeply for runbook to follow");
            return;
        }
        self.lexed(text, &shell::parse(text));
    }

    /// [`Self::script`] for text already lexed.
    fn lexed(&mut self, text: &str, script: &shell::Script) {
        self.depth += 1;
        for f in &script.functions {
            if !self.functions.contains(f) {
                self.functions.push(f.clone());
            }
        }
        self.arithmetic(text, script);
        for cmd in &script.commands {
            self.command(cmd);
        }
        self.depth -= 1;
    }

    /// `(( ... ))`, `$(( ... ))` and `$[ ... ]` where bash would expand them: reading a
    /// variable there can run code hidden in its value.
    fn arithmetic(&mut self, text: &str, script: &shell::Script) {
        let bytes = text.as_bytes();
        // `${name[$i]}`: an indexed array's subscript is arithmetic too.
        for (at, _) in text.match_indices("${") {
            let rest = &text[at + 2..];
            let name_len = rest
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
                .count();
            if name_len > 0
                && rest[name_len..].starts_with('[')
                && matches!(
                    script.context_at(at).quote,
                    Quote::Bare | Quote::Double | Quote::HeredocExpand
                )
            {
                let sub = &rest[name_len + 1..];
                let sub = &sub[..sub.find(']').unwrap_or(sub.len())];
                if sub != "@" && sub != "*" && reads_variables(sub) {
                    self.out.unproven(
                        "an array subscript reads a variable, which can run code hidden in its value",
                    );
                }
            }
        }
        let mut i = 0;
        while i + 1 < bytes.len() {
            let open = if bytes[i..].starts_with(b"((") {
                Some((b'(', b')', 2))
            } else if bytes[i..].starts_with(b"$[") {
                Some((b'[', b']', 1))
            } else {
                None
            };
            let expands = matches!(
                script.context_at(i).quote,
                Quote::Bare | Quote::Double | Quote::HeredocExpand
            );
            let Some((o, c, mut level)) = open.filter(|_| expands) else {
                i += 1;
                continue;
            };
            let start = i + 2;
            let mut end = start;
            while end < bytes.len() && level > 0 {
                if bytes[end] == o {
                    level += 1;
                } else if bytes[end] == c {
                    level -= 1;
                }
                end += 1;
            }
            let body = text.get(start..end).unwrap_or_default();
            if reads_variables(body) {
                self.out.unproven(
                    "arithmetic on a variable can run code hidden in its value".to_owned(),
                );
            }
            i = end.max(i + 1);
        }
    }

    fn command(&mut self, cmd: &SimpleCommand) {
        for a in &cmd.assignments {
            self.assignment(a);
        }
        for r in &cmd.redirects {
            self.redirect(r);
        }
        if let [cd, dir] = cmd.words.as_slice()
            && cd == "cd"
        {
            let next = normalise_path(dir, self.cwd.as_deref());
            self.cwd = next.starts_with('/').then_some(next);
        }
        self.words(&cmd.words);
    }

    /// `NAME=value` (alone, before a command, or after `export`/`env`).
    fn assignment(&mut self, word: &str) {
        let Some((lhs, value)) = word.split_once('=') else {
            return;
        };
        let lhs = lhs.trim_end_matches('+');
        let (name, subscript) = match lhs.split_once('[') {
            Some((n, s)) => (n, Some(s.trim_end_matches(']'))),
            None => (lhs, None),
        };
        if let Some(why) = guarded(name) {
            self.out.unproven(format!("it sets {name}, {why}"));
            if name == "KUBECONFIG" || name == "HOME" {
                self.gated = false;
            }
        }
        if subscript.is_some_and(reads_variables) {
            self.out.unproven(
                "an array subscript reads a variable, which can run code hidden in its value",
            );
        }
        let _ = value;
    }

    fn redirect(&mut self, r: &shell::Redirect) {
        let fd = (!r.target.is_empty() && r.target.bytes().all(|b| b.is_ascii_digit()))
            .then(|| r.target.parse::<u32>().unwrap_or(u32::MAX));
        let dup = r.op == ">&" && (r.target == "-" || fd.is_some());
        if dup && fd.is_some_and(|n| n > 2) {
            // Descriptors past stderr were opened by the script: a file, a socket.
            self.out.unproven(format!(
                "it writes to file descriptor {}, which may be a file or a socket",
                r.target
            ));
        }
        let writes = r.writes() || (r.op == ">&" && !dup);
        if !writes {
            return;
        }
        let target = normalise_path(&r.target, self.cwd.as_deref());
        if harmless_target(&target) {
            return;
        }
        if target.starts_with("/dev/tcp/") || target.starts_with("/dev/udp/") {
            // bash's network pseudo-files: `<>` only connects; `>` sends.
            if r.op != "<>" {
                self.out
                    .unproven(format!("it sends data over the network ({target})"));
            }
            return;
        }
        if is_system_path(&target) {
            self.out.destructive(format!("it writes to {target}"));
        }
        self.out
            .unproven(format!("output redirected to a file ({target})"));
    }

    /// A file a command writes (`tee FILE`, `cp ... DEST`): unproven, destructive when it is
    /// a system path.
    fn writes_file(&mut self, program: &str, path: &str, what: &str) {
        let target = normalise_path(path, self.cwd.as_deref());
        if harmless_target(&target) {
            return;
        }
        if is_system_path(&target) {
            self.out.destructive(format!("{program} {what} {target}"));
        } else {
            self.out.unproven(format!("{program} {what} {target}"));
        }
    }

    /// Classifies `words` (a command line without its redirections).
    fn words(&mut self, words: &[String]) {
        let mut words = words;
        // Leading assignments (after `env`, or in `xargs`).
        while let Some(w) = words.first().filter(|w| shell::is_assignment(w)) {
            self.assignment(w);
            words = &words[1..];
        }
        // `time -p cmd`: the lexer skips the `time` keyword, leaving its option.
        if words.first().is_some_and(|w| w == "-p") {
            words = &words[1..];
        }
        let Some(first) = words.first() else { return };
        if let Some(expanded) = brace_expansion(first) {
            let mut all = expanded;
            all.extend(words[1..].iter().cloned());
            self.words(&all);
            return;
        }
        if first.contains('$') || first.contains('`') || first.starts_with("<(") {
            self.out
                .unproven("the command name comes from a variable or a substitution");
            return;
        }
        if first.contains(['*', '?']) || (first.contains('[') && first != "[" && first != "[[") {
            self.out.unproven("the command name is a file pattern");
            return;
        }
        let name = program_name(first);
        if self.functions.contains(&name) {
            // Read as the program it shadows too: confirm mode errs on the careful side.
            self.out.unproven(format!(
                "it calls the function `{name}`, and runbook does not follow calls"
            ));
        }
        self.program(&name, first, &words[1..]);
    }

    /// Runs `inner` (a wrapped command's words) with kubectl not reaching the gate.
    fn ungated(&mut self, inner: &[String]) {
        let before = self.gated;
        self.gated = false;
        self.words(inner);
        self.gated = before;
    }

    /// Runs `script` (a string a shell will parse) with kubectl not reaching the gate.
    fn ungated_script(&mut self, script: &str) {
        let before = self.gated;
        self.gated = false;
        self.script(script);
        self.gated = before;
    }
}

/// The program's base name, without a path (`/usr/bin/rm` -> `rm`) or a leading `\`.
fn program_name(word: &str) -> String {
    let w = word.trim_start_matches('\\');
    Path::new(w)
        .file_name()
        .map_or_else(|| w.to_owned(), |n| n.to_string_lossy().into_owned())
}

/// `{rm,-rf,x}` as bash expands it: one level of comma alternatives, with text around them.
fn brace_expansion(word: &str) -> Option<Vec<String>> {
    let open = word.find('{')?;
    let close = open + word[open..].find('}')?;
    let inner = &word[open + 1..close];
    if !inner.contains(',') || inner.contains('{') {
        return None;
    }
    let (pre, post) = (&word[..open], &word[close + 1..]);
    if post.contains('{') {
        return None;
    }
    Some(
        inner
            .split(',')
            .map(|part| format!("{pre}{part}{post}"))
            .collect(),
    )
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

    #[test]
    fn paths_are_read_as_the_kernel_reads_them() {
        assert_eq!(normalise_path("//etc/./x/../hosts", None), "/etc/hosts");
        assert_eq!(normalise_path("hosts", Some("/etc")), "/etc/hosts");
        assert_eq!(normalise_path("'/etc/hosts'", None), "/etc/hosts");
        assert!(is_system_path("/proc/sysrq-trigger"));
        assert!(!is_system_path("/dev/null"));
        assert!(!is_system_path("/etcetera"));
    }

    #[test]
    fn arithmetic_reading_variables() {
        assert!(reads_variables(" x > 0 "));
        assert!(reads_variables("$n + 1"));
        assert!(!reads_variables("0x1F + 16#ff - 3"));
        assert!(!reads_variables("$? == 0"));
    }

    #[test]
    fn read_only_proof_is_default_deny() {
        assert_eq!(
            classify("kubectl get pods | grep x").read_only_refusal(),
            None
        );
        assert_eq!(
            classify("frobnicate --all").read_only_refusal().as_deref(),
            Some(
                "cannot prove read-only: `frobnicate` is not a command runbook knows to only read"
            )
        );
        let c = classify("kubectl delete pod x");
        assert!(c.unproven.is_empty() && !c.cluster_writes.is_empty());
        assert!(c.runs_in_dry_run(true) && !c.runs_in_dry_run(false));
        let c = classify("sudo kubectl delete pod x");
        assert!(
            !c.unproven.is_empty(),
            "under sudo kubectl does not reach the gate"
        );
    }
}

#[cfg(test)]
mod reads {
    use super::*;

    #[test]
    fn read_is_interactive_only_when_it_reads_the_terminal() {
        for (script, waits) in [
            ("read -p \"Name? \" n; echo \"$n\"", true),
            ("echo start\nread -r answer", true),
            (
                "kubectl get ipclaim -o name |\n  while IFS=$'\\t' read -r claim address; do\n    echo \"$claim\"\n  done",
                false,
            ),
            (
                "kubectl get pods |\nwhile read -r ns pod; do\n  echo $pod\ndone",
                false,
            ),
            ("while read -r l; do echo \"$l\"; done < list.txt", false),
            ("echo x | read y", false),
            ("read -r x <<< \"$v\"", false),
            ("read -u 3 x", false),
            ("kubectl get pods", false),
        ] {
            assert_eq!(classify(script).interactive, waits, "{script}");
        }
    }
}
