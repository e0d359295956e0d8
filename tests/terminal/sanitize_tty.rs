//! On a real terminal (tmux), `runbook show` keeps a runbook's colours but none of its other
//! escapes: the window title and the clipboard stay as they were, and the attempt is shown as
//! a visible `␛`. Needs tmux (`.ci/run` installs it); fails without it when `CI` is set.

use crate::tmux_support::Tmux;

#[test]
fn show_on_a_terminal_keeps_colours_and_obeys_nothing_else() {
    let Some(tmux) = Tmux::new("sanitize") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let e = '\u{1b}';
    let file = dir.path().join("review.md");
    std::fs::write(
        &file,
        format!(
            "---\ntitle: \"Review\"\n---\n\n## Scenario - Review me {{#review}}\n\n\
             ### Debug Steps\n\n\
             1. Look at {e}[31mred{e}[0m here.{e}]0;owned-title\u{7}{e}]52;c;b3duZWQ=\u{7}\n\n   \
             ```bash\n   kubectl get ns\n   ```\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // The command waits for Enter, so that the clipboard option is set before it prints.
    let command = format!(
        "read _; {} show {}; echo SHOWN; sleep 60",
        env!("CARGO_BIN_EXE_runbook"),
        file.display()
    );
    assert!(tmux.start(&command).status.success());
    // Let applications set the clipboard, so that an obeyed OSC 52 would show as a buffer.
    tmux.run(&["set-option", "-g", "set-clipboard", "on"]);
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the runbook shown", |s| s.contains("SHOWN"));
    assert!(
        screen.contains("␛]0;owned-title^G␛]52;c;b3duZWQ=^G"),
        "{screen}"
    );
    let title = tmux.run(&["display-message", "-p", "-t", "e2e", "#{pane_title}"]);
    assert!(
        !String::from_utf8_lossy(&title.stdout).contains("owned-title"),
        "the window title was changed"
    );
    let buffers = tmux.run(&["list-buffers"]);
    assert!(
        String::from_utf8_lossy(&buffers.stdout).trim().is_empty(),
        "the clipboard was written: {}",
        String::from_utf8_lossy(&buffers.stdout)
    );
    // The colour stays on a terminal: the pane's cells for `red` are red.
    let styled = tmux.run(&["capture-pane", "-p", "-e", "-t", "e2e"]);
    let styled = String::from_utf8_lossy(&styled.stdout);
    assert!(styled.contains("\u{1b}[31mred"), "{styled:?}");
}
