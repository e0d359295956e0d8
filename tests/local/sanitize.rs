//! Text from runbooks and from command output never drives the terminal: the bytes of each
//! print route (`show`, `list`, `lint`, `run` with its header, step text, commands and
//! streamed output, `report`, `export`) hold no escape sequence from a hostile runbook; each is
//! shown as a visible `␛`, other controls as `^X`. `run --raw-output` passes the output's bytes
//! through (and only those). `diagnose` evidence is checked in `tests/cluster/diagnose.rs`, a
//! real terminal keeping colours in `tests/terminal/sanitize_tty.rs`.

use std::path::Path;
use std::process::{Command, Output};

const ESC: char = '\u{1b}';

/// A runbook whose every piece of text tries to drive the terminal: the clipboard (OSC 52)
/// and window title (OSC 0) in its title and scenario, a screen clear in its summary, a
/// line erase hiding part of a command, and a command whose output carries the same.
pub fn hostile_runbook() -> String {
    let e = ESC;
    format!(
        "---\ntitle: \"Clip\\e]52;c;ZWNobyBwd25lZA==\\aboard\"\n---\n\n\
         ## Scenario - Review me{e}]0;owned-title\u{7} {{#review}}\n\n\
         Summary{e}[2J{e}[H cleared.\n\n\
         ### Debug Steps\n\n\
         1. Look at {e}[31mred{e}[0m and {e}[2K{e}[1Ghidden text.\n\n   \
         ```bash\n   \
         echo visible #{e}[2K{e}[1Gecho harmless\n   \
         printf 'out \\033]52;c;b3duZWQ=\\007 \\033[2J\\033[31mred\\033[0m done\\n'\n   \
         ```\n"
    )
}

fn runbook(data: &Path) -> Command {
    let mut cmd = crate::isolated_runbook(data);
    cmd.env_remove("NO_COLOR");
    cmd
}

fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("runbook: {e}"))
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// No ESC and no BEL in `bytes`, and the attempts are visible.
fn assert_clean(route: &str, bytes: &[u8], shown: &[&str]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        !bytes.contains(&0x1b) && !bytes.contains(&0x07),
        "{route} printed a raw escape:\n{text:?}"
    );
    for s in shown {
        assert!(text.contains(s), "{route}: {s:?} is not shown:\n{text}");
    }
}

#[test]
fn no_print_route_passes_an_escape_through() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = data.path().join("review.md");
    std::fs::write(&file, hostile_runbook()).unwrap_or_else(|e| panic!("{e}"));
    let file = file.display().to_string();

    let o = output(runbook(data.path()).args(["show", &file]));
    assert!(o.status.success(), "{}", all(&o));
    assert_clean(
        "show",
        &o.stdout,
        &[
            "Clip␛]52;c;ZWNobyBwd25lZA==^Gboard",
            "␛]0;owned-title^G",
            "echo visible #␛[2K␛[1Gecho harmless",
        ],
    );

    let o = output(runbook(data.path()).args(["list", "--no-bundled", &file]));
    assert!(o.status.success(), "{}", all(&o));
    assert_clean("list", &o.stdout, &["Clip␛]52;c;", "␛]0;owned-title^G"]);

    let o = output(runbook(data.path()).args(["lint", "--no-shellcheck", &file]));
    assert_clean("lint", &o.stdout, &[]);

    let o = output(runbook(data.path()).args(["run", &file, "--yes"]));
    assert!(o.status.success(), "{}", all(&o));
    assert_clean(
        "run",
        &o.stdout,
        &[
            "Look at red and ␛[2K␛[1Ghidden text.",
            "$ echo visible #␛[2K␛[1Gecho harmless",
            "out ␛]52;c;b3duZWQ=^G ␛[2Jred done",
        ],
    );
    assert_clean("run (stderr)", &o.stderr, &[]);

    // The bytes of the output, as asked; the runbook's own text stays clean.
    let o =
        output(runbook(data.path()).args(["run", &file, "--yes", "--raw-output", "--no-session"]));
    assert!(o.status.success(), "{}", all(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("out \u{1b}]52;c;b3duZWQ=\u{7} \u{1b}[2J\u{1b}[31mred\u{1b}[0m done"),
        "{out:?}"
    );
    assert!(
        out.contains("echo visible #␛[2K␛[1Gecho harmless"),
        "{out:?}"
    );
    assert!(!out.contains("owned-title\u{7}"), "{out:?}");

    let o = output(runbook(data.path()).args(["report", "last"]));
    assert!(o.status.success(), "{}", all(&o));
    assert_clean(
        "report",
        &o.stdout,
        &["␛]0;owned-title^G", "echo visible #␛[2K␛[1Gecho harmless"],
    );
    let report = data.path().join("report.md");
    let o = output(
        runbook(data.path())
            .args(["report", "last", "-o"])
            .arg(&report),
    );
    assert!(o.status.success(), "{}", all(&o));
    assert_clean(
        "report --output",
        &std::fs::read(&report).unwrap_or_default(),
        &["echo visible #␛[2K"],
    );

    let o = output(runbook(data.path()).args(["export", &file]));
    assert!(o.status.success(), "{}", all(&o));
    assert_clean(
        "export",
        &o.stdout,
        &["Look at red and ␛[2K␛[1Ghidden text.", "echo visible #␛[2K"],
    );
}
