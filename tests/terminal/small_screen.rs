//! The real binary at 80x24 with the flags a cautious user passes: `--ascii` draws only ASCII
//! on every screen visited, `--read-only` is not undone by `m`, and the help scrolls to its
//! last key.

use std::path::Path;

use crate::tmux_support::Tmux;

#[test]
fn ascii_read_only_and_help_at_80x24() {
    let Some(tmux) = Tmux::new("small") else {
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui");
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let command = format!(
        "RUNBOOK_DATA_DIR={} {} --ascii --read-only --path {} demo/demo; sleep 60",
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
    let only_ascii = |what: &str, screen: &str| {
        let odd: String = screen.chars().filter(|c| !c.is_ascii()).collect();
        assert!(odd.is_empty(), "{what} draws {odd:?}:\n{screen}");
    };
    let screen = tmux.wait("the scenario", |s| s.contains("Demo of the Checklist"));
    only_ascii("the scenario", &screen);
    assert!(screen.contains("mode read-only"), "{screen}");
    // m twice would have reached confirm: it stays read-only and says why.
    tmux.keys(&["m"]);
    let screen = tmux.wait("the refusal", |s| s.contains("--read-only"));
    tmux.keys(&["m"]);
    let screen2 = tmux.wait("the refusal again", |s| s.contains("--read-only"));
    assert!(
        screen.contains("mode read-only") && screen2.contains("mode read-only"),
        "{screen2}"
    );
    // The help, at its top and scrolled to its end.
    tmux.keys(&["?"]);
    let screen = tmux.wait("the help", |s| s.contains("keys 1-"));
    only_ascii("the help", &screen);
    tmux.keys(&["G"]);
    let screen = tmux.wait("the end of the help", |s| s.contains("q  quit"));
    only_ascii("the end of the help", &screen);
    tmux.keys(&["Escape"]);
    tmux.wait("the help closed", |s| !s.contains("q  quit"));
    // The prompt and the catalog.
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the prompt", |s| s.contains("fill in a placeholder"));
    only_ascii("the prompt", &screen);
    tmux.keys(&["Escape"]);
    tmux.wait("the prompt closed", |s| {
        !s.contains("fill in a placeholder")
    });
    tmux.keys(&["Escape"]);
    let screen = tmux.wait("the catalog", |s| s.contains(" scenarios "));
    only_ascii("the catalog", &screen);
    tmux.keys(&["q"]);
}
