//! Commands that hand their argument text to a shell to be parsed a second time: `eval`,
//! `bash -c '…'` (also behind `xargs`, `sudo`, `kubectl exec … --`), `su -c`, `watch '…'` and
//! `ssh host '…'`. Quoting a value for the first parse does not protect it from the second:
//! `bash -c "echo <v>"` with `v='$(touch X)'` runs `touch X`. A value placed in such a
//! command must therefore be a plain word ([`is_plain`]); anything else is refused by the
//! caller with [`Reparse::why`].
//!
//! To teach it another re-parsing command, add a row to [`SHELLS`], [`REPARSERS`] or a branch
//! to [`reparse_of`], and a case to the tests here and to the payload test
//! (`tests/local/exec_vars.rs`).

use super::shell::{Script, SimpleCommand};

/// How a command parses its text again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reparse {
    /// `sh -c`, `bash -c`, `su -c`… (any shell with a `-c` flag).
    ShellC,
    /// `eval`.
    Eval,
    /// `watch` runs its command through `sh -c`.
    Watch,
    /// `ssh host command…`: the remote shell parses the command.
    Ssh,
}

impl Reparse {
    /// Why a value with special characters is refused there.
    pub fn why(self) -> &'static str {
        match self {
            Self::ShellC => {
                "the command passes its text to a shell with -c, which parses it again; only a \
                 plain word (letters, digits, - _ . / : @ % + , =) is safe there"
            }
            Self::Eval => {
                "eval parses the text again; only a plain word (letters, digits, - _ . / : @ % \
                 + , =) is safe there"
            }
            Self::Watch => {
                "watch runs its command through sh -c, which parses it again; only a plain word \
                 (letters, digits, - _ . / : @ % + , =) is safe there"
            }
            Self::Ssh => {
                "ssh hands the command to the remote shell, which parses it again; only a plain \
                 word (letters, digits, - _ . / : @ % + , =) is safe there"
            }
        }
    }
}

/// Shells whose `-c` flag takes a script (`su` and `runuser` too: `su -c CMD`).
const SHELLS: &[&str] = &[
    "sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "su", "runuser",
];

/// Programs that always parse their arguments as a command line.
const REPARSERS: &[(&str, Reparse)] = &[("eval", Reparse::Eval), ("watch", Reparse::Watch)];

/// ssh options that take a value (the next word is not the host).
const SSH_VALUE_OPTIONS: &[u8] = b"BbcDEeFIiJLlmOopQRSWw";

/// A value that means the same to every parse: no blank, quote, `$`, glob, operator or escape.
pub fn is_plain(value: &str) -> bool {
    value.bytes().all(|b| {
        b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'-' | b'_' | b'.' | b'/' | b':' | b'@' | b'%' | b'+' | b',' | b'='
            )
    })
}

/// Whether the command holding byte `offset` of the script parses its text again. The
/// holding command is the last one to start at or before `offset`: the text of a quoted
/// argument is one word, so no other command starts inside it.
pub fn at(script: &Script, offset: usize) -> Option<Reparse> {
    let cmd = script
        .commands
        .iter()
        .filter(|c| c.start <= offset)
        .max_by_key(|c| c.start)?;
    reparse_of(cmd)
}

fn reparse_of(cmd: &SimpleCommand) -> Option<Reparse> {
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_owned();
    for (i, word) in cmd.words.iter().enumerate() {
        let name = base(word);
        if let Some((_, kind)) = REPARSERS.iter().find(|(n, _)| *n == name) {
            return Some(*kind);
        }
        if SHELLS.contains(&name.as_str())
            && cmd.words[i + 1..]
                .iter()
                .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('c'))
        {
            return Some(Reparse::ShellC);
        }
        if name == "ssh" && ssh_has_command(&cmd.words[i + 1..]) {
            return Some(Reparse::Ssh);
        }
    }
    None
}

/// After `ssh`: is there a word after the host (a remote command)?
fn ssh_has_command(args: &[String]) -> bool {
    let mut i = 0;
    while let Some(w) = args.get(i) {
        if w == "--" {
            i += 1;
            break;
        }
        match w.strip_prefix('-') {
            Some(flags) if !flags.is_empty() => {
                // `-p 22` takes the next word, `-p22` carries its value, `-tp 22` takes it too.
                let bytes = flags.as_bytes();
                let takes_next = if SSH_VALUE_OPTIONS.contains(&bytes[0]) {
                    bytes.len() == 1
                } else {
                    SSH_VALUE_OPTIONS.contains(&bytes[bytes.len() - 1])
                };
                i += if takes_next { 2 } else { 1 };
            }
            _ => break,
        }
    }
    // args[i] is the host; anything after it is the remote command.
    args.len() > i + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::shell::parse;

    fn kind(script: &str) -> Option<Reparse> {
        let offset = script
            .find("<v>")
            .unwrap_or_else(|| panic!("no <v> in {script}"));
        at(&parse(script), offset)
    }

    #[test]
    fn commands_that_parse_their_text_again() {
        for (script, want) in [
            ("bash -c \"echo <v>\"", Some(Reparse::ShellC)),
            ("sh -lc 'echo <v>'", Some(Reparse::ShellC)),
            ("/bin/sh -c 'echo <v>'", Some(Reparse::ShellC)),
            ("ls | xargs sh -c 'echo <v> $0'", Some(Reparse::ShellC)),
            ("sudo -u root bash -c 'id <v>'", Some(Reparse::ShellC)),
            (
                "kubectl exec -n kube-system pod -- sh -c 'cat <v>'",
                Some(Reparse::ShellC),
            ),
            ("su - admin -c 'id <v>'", Some(Reparse::ShellC)),
            ("eval \"echo <v>\"", Some(Reparse::Eval)),
            ("watch -n 5 'kubectl get pods -n <v>'", Some(Reparse::Watch)),
            (
                "ssh -i key -p 22 user@node 'journalctl -u <v>'",
                Some(Reparse::Ssh),
            ),
            ("ssh -p22 node uptime <v>", Some(Reparse::Ssh)),
            // The value is the host, or the shell reads a file: one parse only.
            ("ssh -i key spectro@<v>", None),
            ("bash ./script.sh <v>", None),
            ("echo <v>; bash -c 'echo hi'", None),
            ("bash -c 'echo hi'; echo <v>", None),
            ("kubectl get pods -n <v>", None),
        ] {
            assert_eq!(kind(script), want, "{script}");
        }
    }

    #[test]
    fn plain_words() {
        for v in [
            "kube-system",
            "10.0.0.1",
            "user@host",
            "a=b,c",
            "50%",
            "/var/log/x.log",
        ] {
            assert!(is_plain(v), "{v}");
        }
        for v in [
            "$(touch X)",
            "a b",
            "a;b",
            "`x`",
            "'",
            "\"",
            "a*",
            "~",
            "a\\b",
            "x\ny",
            "a|b",
        ] {
            assert!(!is_plain(v), "{v}");
        }
    }
}
