//! Editing a step's command before it runs (`e`, issue 15 §3): the editor line with the
//! runbook's placeholders highlighted, the edit run through the driver's preflight (values,
//! confirmation) and recorded as "edited from the runbook" with its diff; Esc runs nothing,
//! `E` goes back to the runbook's text, the edit stays on its step.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Color;
use runbook::action::{Action, Command, Keymap};
use runbook::app::{Headless, Options};
use runbook::exec::vars::Vars;
use runbook::runbook::{Runbook, parse};
use runbook::state::{Dialog, State, Status, update};
use runbook::ui::{self, Theme};
use serde_json::Value;

use crate::app::{options_in, press, session, start_and_resume, status, type_text};

const WAIT: Duration = Duration::from_secs(20);

fn options(data: &Path) -> Options {
    options_in(data, "tests/fixtures/edit", "edit/edit")
}

fn printed(state: &State, index: usize, text: &str) -> bool {
    state.scenario.as_ref().is_some_and(|v| {
        v.items[index]
            .output
            .lines
            .iter()
            .any(|l| l.text.contains(text))
    })
}

fn editor_value(state: &State) -> Option<String> {
    match &state.dialog {
        Some(Dialog::Edit(e)) => Some(e.input.value().to_owned()),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_edited_command_runs_is_recorded_with_its_diff_stays_and_resets() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut app = Headless::start(options(data.path()), (80, 24)).unwrap_or_else(|e| panic!("{e}"));
    // `e` opens step 1's command, placeholder and all.
    press(&mut app, Command::Edit);
    assert_eq!(
        editor_value(app.state()).as_deref(),
        Some("echo \"logs of <pod-name>\"")
    );
    // Replace `<pod-name>"` with a name of the user's: the cursor keys move inside the line.
    press(&mut app, Command::NodesLeft);
    for _ in 0.."<pod-name>".len() {
        app.send(Action::Backspace);
    }
    type_text(&mut app, "web-1");
    assert_eq!(
        editor_value(app.state()).as_deref(),
        Some("echo \"logs of web-1\"")
    );
    // Enter: nothing left to fill in, so it runs without a prompt.
    press(&mut app, Command::Enter);
    assert!(
        app.until(WAIT, |s| status(s, 0) == Some(Status::Passed)
            && s.running().is_none()
            && printed(s, 0, "logs of web-1"))
            .await,
        "{}",
        app.screen()
    );
    // The runbook's text did not run (its line shows only in the diff, as `-echo ...`).
    let ran_original = app.state().scenario.as_ref().is_some_and(|v| {
        v.items[0]
            .output
            .lines
            .iter()
            .any(|l| l.text.trim() == "logs of <pod-name>")
    });
    assert!(!ran_original, "{}", app.screen());
    let (folder, json) = session(data.path());
    let step = &json["steps"][0];
    assert_eq!(
        step["commands"][0]["command"].as_str().map(str::trim_end),
        Some("echo \"logs of web-1\""),
        "{json}"
    );
    let notices: Vec<&str> = step["notices"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let notice = notices
        .iter()
        .find(|n| n.starts_with("edited from the runbook"))
        .unwrap_or_else(|| panic!("no edit notice in {json}"));
    assert!(notice.contains("-echo \"logs of <pod-name>\""), "{notice}");
    assert!(notice.contains("+echo \"logs of web-1\""), "{notice}");

    // The report shows the edit and its diff.
    press(&mut app, Command::Report);
    assert!(
        app.until(WAIT, |s| s
            .message
            .as_deref()
            .is_some_and(|m| m.contains("report written")))
            .await
    );
    let report = std::fs::read_to_string(folder.join("report.md")).unwrap_or_default();
    assert!(report.contains("edited from the runbook"), "{report}");
    assert!(report.contains("+echo \"logs of web-1\""), "{report}");

    // Moving away and back keeps the edit; Enter runs it again, still without a prompt.
    press(&mut app, Command::Down);
    press(&mut app, Command::Up);
    let kept = app
        .state()
        .scenario
        .as_ref()
        .and_then(|s| s.items[0].edit.clone())
        .map(|e| e.code);
    assert_eq!(kept.as_deref(), Some("echo \"logs of web-1\""));
    assert!(
        app.screen().contains("· passed · edited"),
        "{}",
        app.screen()
    );
    press(&mut app, Command::Enter);
    assert!(
        app.until(WAIT, |s| s.running().is_none()
            && session(data.path()).1["steps"][0]["attempts"]
                .as_array()
                .is_some_and(|a| a.len() == 1)
            && status(s, 0) == Some(Status::Passed))
            .await
    );
    assert!(app.state().dialog.is_none(), "the edit asked for nothing");

    // `E`: back to the runbook's text, which needs its value again.
    press(&mut app, Command::ResetEdit);
    assert!(
        app.state()
            .scenario
            .as_ref()
            .is_some_and(|s| s.items[0].edit.is_none())
    );
    press(&mut app, Command::Enter);
    assert!(
        app.until(
            WAIT,
            |s| matches!(&s.dialog, Some(Dialog::Prompt { name, .. }) if name == "pod-name")
        )
        .await,
        "{}",
        app.screen()
    );
    press(&mut app, Command::Back);
    app.quit().await;
}

/// Enter in the editor without a change runs that block alone, as written (its placeholder
/// still asked for), and the session says so instead of recording an empty diff.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_edit_runs_the_block_as_written_and_says_so() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut app = Headless::start(options(data.path()), (80, 24)).unwrap_or_else(|e| panic!("{e}"));
    press(&mut app, Command::Edit);
    press(&mut app, Command::Enter);
    assert!(
        app.until(
            WAIT,
            |s| matches!(&s.dialog, Some(Dialog::Prompt { name, .. }) if name == "pod-name")
        )
        .await,
        "{}",
        app.screen()
    );
    type_text(&mut app, "web-2");
    press(&mut app, Command::Enter);
    assert!(
        app.until(WAIT, |s| status(s, 0) == Some(Status::Passed)
            && s.running().is_none()
            && printed(s, 0, "logs of web-2"))
            .await,
        "{}",
        app.screen()
    );
    let (_, json) = session(data.path());
    let notices: Vec<&str> = json["steps"][0]["notices"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        notices
            .iter()
            .any(|n| n.starts_with("run as written, alone")),
        "{json}"
    );
    assert!(
        !notices
            .iter()
            .any(|n| n.starts_with("edited from the runbook")),
        "{json}"
    );
    app.quit().await;
}

/// The edit is part of the session: the next app that resumes it has the edit back on its
/// step, shown as edited, and Enter runs the user's text (no prompt for the placeholder the
/// edit replaced).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_puts_the_edit_back_on_its_step() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut first =
        Headless::start(options(data.path()), (80, 24)).unwrap_or_else(|e| panic!("{e}"));
    press(&mut first, Command::Edit);
    press(&mut first, Command::NodesLeft);
    for _ in 0.."<pod-name>".len() {
        first.send(Action::Backspace);
    }
    type_text(&mut first, "web-7");
    press(&mut first, Command::Enter);
    assert!(
        first
            .until(WAIT, |s| status(s, 0) == Some(Status::Passed)
                && s.running().is_none()
                && printed(s, 0, "logs of web-7"))
            .await,
        "{}",
        first.screen()
    );
    first.quit().await;
    let (_, json) = session(data.path());
    assert_eq!(
        json["steps"][0]["edit"]["code"], "echo \"logs of web-7\"",
        "{json}"
    );

    let mut second = start_and_resume(options(data.path())).await;
    assert!(
        second
            .until(WAIT, |s| s
                .scenario
                .as_ref()
                .is_some_and(|v| v.items[0].edit.is_some()))
            .await,
        "{}",
        second.screen()
    );
    assert!(second.screen().contains("edited"), "{}", second.screen());
    // Run it again: the user's text runs, nothing is asked.
    press(&mut second, Command::Enter);
    assert!(
        second
            .until(WAIT, |s| s.running().is_none()
                && session(data.path()).1["steps"][0]["attempts"]
                    .as_array()
                    .is_some_and(|a| a.len() == 1))
            .await,
        "{}",
        second.screen()
    );
    assert!(
        second.state().dialog.is_none(),
        "{:?}",
        second.state().dialog
    );
    let (folder, json) = session(data.path());
    assert_eq!(
        json["steps"][0]["commands"][0]["command"]
            .as_str()
            .map(str::trim_end),
        Some("echo \"logs of web-7\""),
        "{json}"
    );
    let out = std::fs::read_to_string(folder.join("step-001.out")).unwrap_or_default();
    assert!(out.contains("logs of web-7"), "{out}");
    second.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn esc_runs_nothing_and_an_edit_is_classified_afresh() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scratch = data.path().join("scratch");
    std::fs::write(&scratch, "keep me").unwrap_or_else(|e| panic!("{e}"));
    let mut app = Headless::start(options(data.path()), (80, 24)).unwrap_or_else(|e| panic!("{e}"));
    press(&mut app, Command::Edit);
    type_text(&mut app, "; echo typed");
    press(&mut app, Command::Back);
    assert!(app.state().dialog.is_none());
    assert_eq!(status(app.state(), 0), Some(Status::Pending));
    assert!(
        app.state()
            .scenario
            .as_ref()
            .is_some_and(|s| s.items[0].edit.is_none())
    );

    // Step 2 echoes (nothing to confirm); edited into a removal it asks first, like any
    // destructive command, and saying no leaves the file alone.
    press(&mut app, Command::Down);
    press(&mut app, Command::Edit);
    // Two lines: `e` would open $EDITOR; here the one-line step 3 is used instead.
    assert!(app.state().dialog.is_none());
    press(&mut app, Command::Down);
    press(&mut app, Command::Edit);
    assert!(editor_value(app.state()).is_some());
    for _ in 0.."/tmp/runbook-edit-demo-scratch".len() {
        app.send(Action::Backspace);
    }
    type_text(&mut app, &scratch.display().to_string());
    press(&mut app, Command::Enter);
    assert!(
        app.until(WAIT, |s| matches!(s.dialog, Some(Dialog::Confirm { .. })))
            .await,
        "{}",
        app.screen()
    );
    let screen = app.screen();
    assert!(
        screen.contains("scratch"),
        "the confirmation shows the edit: {screen}"
    );
    press(&mut app, Command::Back);
    assert_ne!(status(app.state(), 2), Some(Status::Passed));
    assert!(scratch.exists(), "not confirmed, not removed");
    app.quit().await;
}

fn edit_state() -> State {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/edit/edit.md");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let runbooks: Vec<Arc<Runbook>> = vec![Arc::new(parse(&bytes, Path::new("edit.md")))];
    let mut s = State::new(runbooks, Keymap::default(), Vars::new());
    s.context = runbook::state::ContextInfo {
        context: Some("lab".to_owned()),
        namespace: Some("default".to_owned()),
        ..runbook::state::ContextInfo::default()
    };
    s.open("edit/edit");
    s
}

#[test]
fn the_editor_line_highlights_placeholders_at_80x24() {
    let mut s = edit_state();
    update(&mut s, Action::Command(Command::Edit));
    update(&mut s, Action::Command(Command::NodesLeft));
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|f| {
            ui::draw(f, &s, Theme::default());
        })
        .unwrap_or_else(|e| panic!("{e}"));
    let buffer = terminal.backend().buffer().clone();
    let mut text = String::new();
    let mut placeholder_cells = 0;
    for y in 0..buffer.area.height {
        let mut line = String::new();
        for x in 0..buffer.area.width {
            let cell = &buffer[(x, y)];
            line.push_str(cell.symbol());
            if cell.fg == Color::Yellow && "<pod-name>".contains(cell.symbol()) {
                placeholder_cells += 1;
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    insta::assert_snapshot!("edit_line_80x24", text);
    // `<pod-name>` in the line and in the runbook's text under it.
    assert!(
        placeholder_cells >= 2 * "<pod-name>".len(),
        "{placeholder_cells}\n{text}"
    );
    // The help screen lists `e`.
    let help = s.keymap.help();
    assert!(
        help.iter()
            .any(|(k, what)| k == "e" && what.contains("edit")),
        "{help:?}"
    );
}
