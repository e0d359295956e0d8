//! The TUI's loop without a terminal (`app::Headless`): actions in, effects carried out for
//! real — the driver runs steps in bash on their threads, sessions are written, jobs answer —
//! and the state and screen read back. What only tmux reached before is tested here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use runbook::action::{Action, Command};
use runbook::app::{Headless, Options};
use runbook::drive::Recording;
use runbook::state::{Dialog, Screen, State, Status};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(20);

fn options(data: &Path, target: &str) -> Options {
    options_in(data, "tests/fixtures/tui", target)
}

/// The app on `target` from the fixtures folder `dir`, recording sessions under `data`.
pub(crate) fn options_in(data: &Path, dir: &str, target: &str) -> Options {
    Options {
        target: Some(target.to_owned()),
        paths: vec![Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)],
        recording: Some(Recording {
            root: data.join("sessions"),
            output_limit: 1024 * 1024,
            lab: None,
        }),
        ..Options::default()
    }
}

pub(crate) fn press(app: &mut Headless, command: Command) {
    app.send(Action::Command(command));
}

/// Starts the app on `options` and resumes the unfinished session it offers.
pub(crate) async fn start_and_resume(options: Options) -> Headless {
    let mut app = Headless::start(options, (80, 24)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        app.until(WAIT, |s| matches!(s.dialog, Some(Dialog::Resume(_))))
            .await,
        "{}",
        app.screen()
    );
    press(&mut app, Command::Enter);
    app
}

pub(crate) fn type_text(app: &mut Headless, text: &str) {
    for c in text.chars() {
        app.send(Action::Input(c));
    }
}

pub(crate) fn status(state: &State, index: usize) -> Option<Status> {
    state
        .scenario
        .as_ref()
        .and_then(|s| s.items.get(index))
        .map(|i| i.status)
}

fn idle(state: &State) -> bool {
    state.running().is_none()
}

/// The one session folder under `data`, and its `session.json`.
pub(crate) fn session(data: &Path) -> (PathBuf, Value) {
    let root = data.join("sessions");
    let folder = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("session.json").is_file())
        .unwrap_or_else(|| panic!("no session under {}", root.display()));
    // As a reader sees it: `session.json` with its journal applied.
    let record = runbook::session::Store::open(folder.clone())
        .load()
        .unwrap_or_else(|e| panic!("{e}"));
    let json = serde_json::to_value(record).unwrap_or_else(|e| panic!("{e}"));
    (folder, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_run_through_the_loop_is_recorded_and_reopening_takes_the_scenario_up() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut app = Headless::start(options(data.path(), "demo/demo"), (80, 24))
        .unwrap_or_else(|e| panic!("{e}"));
    // Enter: the driver's preflight asks for the placeholder; the value runs the step.
    press(&mut app, Command::Enter);
    assert!(
        app.until(WAIT, |s| matches!(s.dialog, Some(Dialog::Prompt { .. })))
            .await
    );
    type_text(&mut app, "world");
    press(&mut app, Command::Enter);
    // Output lines travel on their own channel and may land just after the verdict.
    let printed = |s: &State| {
        s.scenario.as_ref().is_some_and(|v| {
            v.items[0]
                .output
                .lines
                .iter()
                .any(|l| l.text.contains("first line world"))
        })
    };
    assert!(
        app.until(WAIT, |s| status(s, 0) == Some(Status::Passed)
            && idle(s)
            && printed(s))
            .await,
        "{}",
        app.screen()
    );
    let screen = app.screen();
    assert!(screen.contains("first line world"), "{screen}");
    let (folder, json) = session(data.path());
    assert_eq!(json["steps"][0]["verdict"], "passed", "{json}");
    assert_eq!(json["vars"]["greeting"]["value"], "world", "{json}");
    let output = std::fs::read_to_string(folder.join("step-001.out")).unwrap_or_default();
    assert!(output.contains("first line world"), "{output}");

    // Space ticks step 3 (manual) off by hand: the session says so, not "not run".
    press(&mut app, Command::Down);
    press(&mut app, Command::Down);
    press(&mut app, Command::MarkDone);
    assert_eq!(status(app.state(), 2), Some(Status::Done));

    // Esc, then the same scenario again: as it was, in the same session.
    press(&mut app, Command::Back);
    assert_eq!(app.state().screen, Screen::Catalog);
    press(&mut app, Command::Search);
    type_text(&mut app, "Demo of the Checklist");
    press(&mut app, Command::Enter);
    assert_eq!(app.state().screen, Screen::Scenario);
    assert_eq!(status(app.state(), 0), Some(Status::Passed));
    assert_eq!(status(app.state(), 2), Some(Status::Done));
    assert_eq!(
        app.state().dialog,
        None,
        "its own session is not offered back"
    );
    // The value given once is still there: step 1 runs again without asking, now under
    // read-only (`m`): the re-run is an attempt of its own, with its own mode.
    press(&mut app, Command::CycleMode);
    press(&mut app, Command::Top);
    press(&mut app, Command::Enter);
    assert!(
        app.until(WAIT, |s| status(s, 0) == Some(Status::Passed) && idle(s))
            .await
    );
    assert!(app.state().dialog.is_none());

    // R: the report lands in the session's folder.
    press(&mut app, Command::Report);
    assert!(
        app.until(WAIT, |s| s
            .message
            .as_deref()
            .is_some_and(|m| m.contains("report written")))
            .await,
        "{:?}",
        app.state().message
    );
    // It names the file and says the clipboard copy was only sent (OSC 52 may be ignored).
    let message = app.state().message.clone().unwrap_or_default();
    assert!(message.contains("report.md"), "{message}");
    assert!(
        message.contains("sent to the terminal's clipboard (OSC 52)"),
        "{message}"
    );
    let report = std::fs::read_to_string(folder.join("report.md")).unwrap_or_default();
    assert!(report.contains("first line world"), "{report}");
    app.quit().await;

    let (_, json) = session(data.path());
    assert_eq!(json["status"], "unfinished", "{json}");
    assert_eq!(json["steps"][2]["verdict"], "manual", "{json}");
    // The first run of step 1 is kept as an attempt, its output under its own name.
    let step = &json["steps"][0];
    assert_eq!(step["mode"], "read-only", "{json}");
    assert_eq!(step["attempts"].as_array().map(Vec::len), Some(1), "{json}");
    assert_eq!(step["attempts"][0]["verdict"], "passed", "{json}");
    assert_eq!(step["attempts"][0]["mode"], "confirm", "{json}");
    let kept = step["attempts"][0]["output"].as_str().unwrap_or_default();
    assert_eq!(kept, "step-001.attempt-1.out", "{json}");
    let first = std::fs::read_to_string(folder.join(kept)).unwrap_or_default();
    assert!(first.contains("first line world"), "{first}");
    let sessions = std::fs::read_dir(data.path().join("sessions")).map_or(0, Iterator::count);
    assert_eq!(sessions, 1, "reopening did not start a second session");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_session_is_offered_by_the_next_app_and_its_steps_come_back() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut first = Headless::start(options(data.path(), "demo/demo"), (80, 24))
        .unwrap_or_else(|e| panic!("{e}"));
    press(&mut first, Command::Enter);
    assert!(
        first
            .until(WAIT, |s| matches!(s.dialog, Some(Dialog::Prompt { .. })))
            .await
    );
    type_text(&mut first, "again");
    press(&mut first, Command::Enter);
    assert!(
        first
            .until(WAIT, |s| status(s, 0) == Some(Status::Passed) && idle(s))
            .await
    );
    first.quit().await;

    let mut second = start_and_resume(options(data.path(), "demo/demo")).await;
    assert!(
        second
            .until(WAIT, |s| status(s, 0) == Some(Status::Passed))
            .await
    );
    let output: Vec<String> = second
        .state()
        .scenario
        .as_ref()
        .map(|s| {
            s.items[0]
                .output
                .lines
                .iter()
                .map(|l| l.text.clone())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        output.iter().any(|l| l.contains("first line again")),
        "{output:?}"
    );
    // The value came back with the session: step 1 runs without asking again.
    press(&mut second, Command::Enter);
    assert!(
        second
            .until(WAIT, |s| s.running().is_some() || s.dialog.is_some())
            .await
    );
    assert!(
        second.state().dialog.is_none(),
        "{:?}",
        second.state().dialog
    );
    assert!(second.until(WAIT, idle).await);
    second.quit().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_on_the_command_line_wins_over_the_resumed_sessions() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut first = Headless::start(options(data.path(), "demo/demo"), (80, 24))
        .unwrap_or_else(|e| panic!("{e}"));
    press(&mut first, Command::Enter);
    assert!(
        first
            .until(WAIT, |s| matches!(s.dialog, Some(Dialog::Prompt { .. })))
            .await
    );
    type_text(&mut first, "stale");
    press(&mut first, Command::Enter);
    assert!(
        first
            .until(WAIT, |s| status(s, 0) == Some(Status::Passed) && idle(s))
            .await
    );
    first.quit().await;

    let mut opts = options(data.path(), "demo/demo");
    opts.vars = vec![("greeting".to_owned(), "from-the-command-line".to_owned())];
    let mut second = start_and_resume(opts).await;
    assert!(
        second
            .until(WAIT, |s| status(s, 0) == Some(Status::Passed))
            .await
    );
    press(&mut second, Command::Enter);
    assert!(
        second
            .until(WAIT, |s| status(s, 0) == Some(Status::Passed) && idle(s))
            .await
    );
    let screen = second.screen();
    assert!(
        screen.contains("first line from-the-command-line"),
        "{screen}"
    );
    second.quit().await;
}

fn kubeconfig(path: &Path, current: &str) {
    std::fs::write(
        path,
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: {current}\nclusters:\n- name: c\n  cluster:\n    server: http://127.0.0.1:9\nusers:\n- name: u\n  user:\n    token: t\ncontexts:\n- name: {current}\n  context:\n    cluster: c\n    user: u\n"
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_step_that_points_kubeconfig_elsewhere_moves_the_status_bar_and_the_guard() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let first = data.path().join("first.yaml");
    let second = data.path().join("second.yaml");
    kubeconfig(&first, "first");
    kubeconfig(&second, "second");
    let mut rules = std::collections::BTreeMap::new();
    rules.insert(
        "second".to_owned(),
        runbook::cluster::guard::ContextRule {
            guard: runbook::cluster::guard::Guard::ReadOnly,
        },
    );
    let workspace = runbook::cluster::Workspace::open(Some(&first), None, None, rules)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut opts = options(data.path(), "switch/switch");
    opts.paths = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster")];
    opts.workspace = Some(workspace);
    opts.env = vec![("OTHER_KUBECONFIG".to_owned(), second.display().to_string())];
    let mut app = Headless::start(opts, (80, 24)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(app.state().context.context.as_deref(), Some("first"));
    // Changing the commands' cluster is asked first, and says so.
    press(&mut app, Command::Enter);
    let Some(Dialog::Confirm { reasons, .. }) = app.state().dialog.clone() else {
        panic!("{:?}", app.state().dialog)
    };
    assert!(
        reasons.iter().any(|r| r.contains("KUBECONFIG")),
        "{reasons:?}"
    );
    press(&mut app, Command::Enter);
    assert!(
        app.until(WAIT, |s| status(s, 0) == Some(Status::Passed) && idle(s))
            .await
    );
    // The bar names the new context, and its guard rail holds.
    assert_eq!(app.state().context.context.as_deref(), Some("second"));
    assert_eq!(app.state().mode, runbook::state::RunMode::ReadOnly);
    assert!(
        app.state()
            .message
            .as_deref()
            .is_some_and(|m| m.contains("commands now talk to context second")),
        "{:?}",
        app.state().message
    );
    // And the commands do talk to it. (Output lines travel on their own, lossy channel and
    // may be drawn a moment after the verdict: wait for the line too.)
    press(&mut app, Command::Down);
    press(&mut app, Command::Enter);
    let printed = |s: &State| {
        s.scenario
            .as_ref()
            .is_some_and(|v| v.items[1].output.lines.iter().any(|l| l.text == "second"))
    };
    assert!(
        app.until(WAIT, |s| status(s, 1) == Some(Status::Passed)
            && idle(s)
            && printed(s))
            .await
    );
    let out: Vec<String> = app
        .state()
        .scenario
        .as_ref()
        .map(|s| {
            s.items[1]
                .output
                .lines
                .iter()
                .map(|l| l.text.clone())
                .collect()
        })
        .unwrap_or_default();
    assert!(out.iter().any(|l| l == "second"), "{out:?}");
    app.quit().await;
    let (_, json) = session(data.path());
    assert_eq!(json["context"]["name"], "second", "{json}");
}
