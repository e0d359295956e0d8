//! `e` in a real terminal (issue 15 §3): a one-line edit typed into the editor line runs and
//! its output shows; a step of several lines goes to `$EDITOR` with the terminal lent and
//! taken back; the session records both as edited from the runbook; the help lists `e`.

use std::path::Path;

use crate::tmux_support::Tmux;

#[test]
fn an_edited_command_runs_in_a_real_terminal_and_the_session_records_it() {
    let Some(tmux) = Tmux::new("edit") else {
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edit");
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // The "editor" for blocks of several lines changes the file it is given, as a user would.
    let command = format!(
        "unset VISUAL; EDITOR='sed -i s/second/SECOND/' RUNBOOK_DATA_DIR={} {} --path {} \
         edit/edit; echo RUNBOOK-EXITED-$?; sleep 60",
        data.path().display(),
        env!("CARGO_BIN_EXE_runbook"),
        fixtures.display()
    );
    let out = tmux.start(&command);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait("the scenario", |s| {
        s.contains("Edit a Command Before Running It") && s.contains("checklist")
    });

    // The help screen lists `e` (a page down: it is past the first screenful).
    tmux.keys(&["?"]);
    tmux.wait("the help", |s| s.contains("this help"));
    tmux.keys(&["NPage"]);
    tmux.wait("the help", |s| s.contains("edit the step's command"));
    tmux.keys(&["Escape"]);
    tmux.wait("the help closed", |s| {
        !s.contains("edit the step's command")
    });

    // e, the placeholder and its quote erased, a pod name typed, Enter: it runs as written.
    tmux.keys(&["e"]);
    tmux.wait("the editor line", |s| {
        s.contains("edit step 1") && s.contains("$ echo \"logs of <pod-name>\"")
    });
    for _ in 0.."<pod-name>\"".len() {
        tmux.keys(&["BSpace"]);
    }
    tmux.text("web-1\"");
    tmux.wait("the typed line", |s| s.contains("$ echo \"logs of web-1\""));
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the edited command's output", |s| {
        s.contains("logs of web-1") && s.contains("exit 0") && s.contains("✔ 1.")
    });
    assert!(screen.contains("edited"), "{screen}");

    // Step 2 has two lines: $EDITOR gets them, the TUI comes back and runs what it saved.
    tmux.keys(&["j", "e"]);
    tmux.wait("the edited step 2's output", |s| {
        s.contains("SECOND setting") && s.contains("✔ 2.") && s.contains("checklist")
    });

    tmux.keys(&["q"]);
    tmux.wait("the exit", |s| s.contains("RUNBOOK-EXITED-0"));
    let root = data.path().join("sessions");
    let folder = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("session.json").is_file())
        .unwrap_or_else(|| panic!("no session under {}", root.display()));
    let record = runbook::session::Store::open(folder)
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    let notices = |i: usize| record.steps[i].notices.join("\n");
    assert!(
        notices(0).contains("edited from the runbook"),
        "{}",
        notices(0)
    );
    assert!(
        notices(0).contains("+echo \"logs of web-1\""),
        "{}",
        notices(0)
    );
    assert!(
        notices(1).contains("-echo \"second setting\""),
        "{}",
        notices(1)
    );
    assert!(
        notices(1).contains("+echo \"SECOND setting\""),
        "{}",
        notices(1)
    );
}
