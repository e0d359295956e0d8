//! Every screen and dialog at 80x24 and 120x40, drawn on ratatui's `TestBackend` and
//! snapshotted with insta; colours that carry meaning are asserted on the cells.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use runbook::action::{Action, Command, Keymap};
use runbook::drive::{Driver, Setup};
use runbook::exec::judge::OutputMatch;
use runbook::exec::output::Stream;
use runbook::exec::process::CommandOutcome;
use runbook::exec::runner::{Event, Shell, Verdict};
use runbook::exec::vars::{Origin, Vars};
use runbook::runbook::{Catalog, Runbook, parse};
use runbook::state::{ContextInfo, Effect, State, Status, update};
use runbook::ui::{self, Theme};

const SIZES: [(u16, u16); 2] = [(80, 24), (120, 40)];

fn state() -> State {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui/demo.md");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut runbooks: Vec<Arc<Runbook>> = Catalog::load(&[], true)
        .runbooks
        .into_iter()
        .map(Arc::new)
        .collect();
    runbooks.push(Arc::new(parse(&bytes, Path::new("demo.md"))));
    let mut s = State::new(runbooks, Keymap::default(), Vars::new());
    s.context = ContextInfo {
        context: Some("lab".to_owned()),
        namespace: Some("default".to_owned()),
        ..ContextInfo::default()
    };
    s
}

fn render(state: &State, w: u16, h: u16, theme: Theme) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|f| {
            ui::draw(f, state, theme);
        })
        .unwrap_or_else(|e| panic!("{e}"));
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let mut line = String::new();
        for x in 0..area.width {
            line.push_str(buffer[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn snapshot(name: &str, state: &State) {
    for (w, h) in SIZES {
        let buffer = render(state, w, h, Theme::default());
        insta::assert_snapshot!(format!("{name}_{w}x{h}"), text(&buffer));
    }
}

fn cmd(s: &mut State, c: Command) {
    update(s, Action::Command(c));
}

/// The open scenario's driver, as the loop sets it up (values from `given`).
fn driver(s: &State, given: &[(&str, &str)]) -> Driver {
    let flow = s
        .scenario
        .as_ref()
        .map_or_else(|| panic!("no scenario open"), |v| Arc::clone(&v.flow));
    let mut shell = Shell::from_current();
    shell.vars = Vars::new();
    for (name, value) in given {
        shell.vars.set(name, *value, Origin::Cli);
    }
    Driver::new(flow, shell, Setup::default())
}

/// Enter on the selected step, the driver answering the preflight as the loop does.
fn enter(s: &mut State, driver: &Driver) {
    for effect in update(s, Action::Command(Command::Enter)) {
        if let Effect::Preflight(i) = effect {
            update(s, Action::Needs(Box::new(driver.preflight(i))));
        }
    }
}

fn running_demo() -> State {
    let mut s = state();
    s.open("demo/demo");
    let d = driver(&s, &[("greeting", "hello")]);
    enter(&mut s, &d);
    let ev = |e: Event| Action::Engine(0, Box::new(e));
    update(
        &mut s,
        ev(Event::CommandStarted {
            step: 1,
            block: 0,
            line: 18,
            command: "echo \"first line hello\"\necho \"second line\"".to_owned(),
            destructive: false,
            interactive: false,
            reasons: vec![],
        }),
    );
    update(
        &mut s,
        ev(Event::Output {
            step: 1,
            block: 0,
            stream: Stream::Stdout,
            ts_ms: 1,
            text: "first line hello\nsecond line\n".to_owned(),
        }),
    );
    s
}

#[test]
fn catalog() {
    snapshot("catalog", &state());
}

#[test]
fn catalog_search() {
    let mut s = state();
    cmd(&mut s, Command::Search);
    update(&mut s, Action::Paste("Token used before issued".to_owned()));
    snapshot("catalog_search", &s);
}

#[test]
fn scenario_pending() {
    let mut s = state();
    s.open("demo/demo");
    snapshot("scenario_pending", &s);
}

#[test]
fn scenario_running_with_output() {
    let mut s = running_demo();
    update(&mut s, Action::Tick(Duration::from_millis(1200)));
    snapshot("scenario_running", &s);
}

#[test]
fn scenario_passed_and_failed() {
    let mut s = running_demo();
    let ev = |e: Event| Action::Engine(0, Box::new(e));
    update(
        &mut s,
        ev(Event::CommandFinished {
            step: 1,
            block: 0,
            outcome: CommandOutcome {
                exit_code: Some(0),
                duration: Duration::from_millis(40),
                ..CommandOutcome::default()
            },
            failures: vec![],
            output: OutputMatch::Matches,
        }),
    );
    update(
        &mut s,
        ev(Event::StepFinished {
            step: 1,
            number: "1".to_owned(),
            verdict: Verdict::Passed,
            reasons: vec![],
            dropped_lines: 0,
        }),
    );
    update(
        &mut s,
        Action::RunEnded {
            index: 0,
            vars: Box::new(Vars::new()),
        },
    );
    snapshot("scenario_passed", &s);

    let mut f = running_demo();
    let ev = |e: Event| Action::Engine(0, Box::new(e));
    update(
        &mut f,
        ev(Event::CommandFinished {
            step: 1,
            block: 0,
            outcome: CommandOutcome {
                exit_code: Some(2),
                duration: Duration::from_millis(40),
                ..CommandOutcome::default()
            },
            failures: vec!["exit code 2, expected 0".to_owned()],
            output: OutputMatch::Differs {
                diff: " first line hello\n-second line\n+second line!\n".to_owned(),
            },
        }),
    );
    update(
        &mut f,
        ev(Event::StepFinished {
            step: 1,
            number: "1".to_owned(),
            verdict: Verdict::Failed,
            reasons: vec![],
            dropped_lines: 0,
        }),
    );
    update(
        &mut f,
        Action::RunEnded {
            index: 0,
            vars: Box::new(Vars::new()),
        },
    );
    cmd(&mut f, Command::ToggleDiff);
    snapshot("scenario_failed_diff", &f);

    // Failed is red, passed is green: colour carries the verdict.
    let buffer = render(&f, 120, 40, Theme::default());
    let glyph = (0..40)
        .flat_map(|y| (0..120).map(move |x| (x, y)))
        .find(|&(x, y)| buffer[(x, y)].symbol() == "✘");
    let (x, y) = glyph.unwrap_or_else(|| panic!("no failed glyph"));
    assert_eq!(buffer[(x, y)].fg, Color::Red);
    let plain = render(
        &f,
        120,
        40,
        Theme {
            color: false,
            ascii: true,
        },
    );
    assert!(text(&plain).contains("[x] 1."), "{}", text(&plain));
    assert!(
        (0..40).all(|y| (0..120).all(|x| plain[(x, y)].fg == Color::Reset)),
        "no colour with NO_COLOR"
    );
}

#[test]
fn prompt_dialog() {
    let mut s = state();
    s.open("demo/demo");
    let d = driver(&s, &[]);
    enter(&mut s, &d);
    for c in "hel".chars() {
        update(&mut s, Action::Input(c));
    }
    snapshot("prompt", &s);
}

#[test]
fn confirm_dialog() {
    let mut s = state();
    s.open("demo/demo");
    for _ in 0..3 {
        cmd(&mut s, Command::Down);
    }
    let d = driver(&s, &[]);
    enter(&mut s, &d);
    snapshot("confirm", &s);
    // The dialog names the context the command changes.
    let screen = text(&render(&s, 80, 24, Theme::default()));
    assert!(
        screen.contains("Runs against context lab, namespace default"),
        "{screen}"
    );
}

#[test]
fn ascii_draws_no_box_arrow_or_shape_glyph_on_any_screen() {
    let ascii = Theme {
        color: true,
        ascii: true,
    };
    let mut screens = vec![("catalog", state())];
    let mut s = state();
    s.open("demo/demo");
    screens.push(("scenario", s));
    let mut s = state();
    s.open("demo/demo");
    cmd(&mut s, Command::Help);
    screens.push(("help", s));
    let mut s = running_demo();
    cmd(&mut s, Command::FullOutput);
    screens.push(("output", s));
    screens.push(("running", running_demo()));
    let mut s = state();
    s.open("demo/demo");
    for _ in 0..3 {
        cmd(&mut s, Command::Down);
    }
    let d = driver(&s, &[]);
    enter(&mut s, &d);
    screens.push(("confirm", s));
    for (name, s) in &screens {
        for (w, h) in SIZES {
            let screen = text(&render(s, w, h, ascii));
            let odd: String = screen.chars().filter(|c| !c.is_ascii()).collect();
            assert!(odd.is_empty(), "{name} {w}x{h} draws {odd:?}:\n{screen}");
            // Unicode drawing is still there without --ascii (the test sees glyphs at all).
            let fancy = text(&render(s, w, h, Theme::default()));
            assert!(fancy.contains('─') || fancy.contains('│'), "{name}");
        }
    }
}

#[test]
fn help_overlay() {
    let mut s = state();
    s.open("demo/demo");
    cmd(&mut s, Command::Help);
    snapshot("help", &s);
    // At 80x24 the help is longer than the screen: its title says so, and G reaches the end.
    let top = text(&render(&s, 80, 24, Theme::default()));
    assert!(top.contains(" keys 1-"), "{top}");
    assert!(!top.contains("q  quit"), "{top}");
    cmd(&mut s, Command::Bottom);
    let end = text(&render(&s, 80, 24, Theme::default()));
    assert!(end.contains("q  quit"), "{end}");
    assert!(end.contains("runbook config --path"), "{end}");
}

#[test]
fn full_output_overlay() {
    let mut s = running_demo();
    cmd(&mut s, Command::FullOutput);
    snapshot("full_output", &s);
    // Lines the pane could not keep are counted, and the numbers are the command's own.
    let mut s = running_demo();
    let index = s.scenario.as_ref().map_or(0, |v| v.selected);
    update(&mut s, Action::OutputDropped(index, 100_000));
    cmd(&mut s, Command::FullOutput);
    let screen = text(&render(&s, 80, 24, Theme::default()));
    assert!(
        screen.contains("lines 100001-") && screen.contains("the first 100000 lines were not kept"),
        "{screen}"
    );
}

#[test]
fn procedure_picker_and_quit_dialog() {
    let mut s = state();
    s.open("calico-ipv6/calico-ipv6");
    cmd(&mut s, Command::PickProcedure);
    snapshot("procedures", &s);
    let mut q = running_demo();
    cmd(&mut q, Command::Quit);
    snapshot("quit", &q);
    assert!(matches!(
        q.scenario.as_ref().map(|x| x.items[0].status),
        Some(Status::Running(_))
    ));
}

/// A scenario's reference sections (`### Examples` with prose and config only) are not
/// checklist items; the first step's pane shows them, and the other steps' panes do not.
#[test]
fn reference_sections_show_with_the_first_step() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdx/reference-sections.md");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let book = Arc::new(parse(&bytes, Path::new("reference-sections.md")));
    let mut s = State::new(vec![book], Keymap::default(), Vars::new());
    s.open("reference-sections/disk-pressure");
    let view = s.scenario.as_ref().unwrap_or_else(|| panic!("not opened"));
    assert_eq!(view.items.len(), 2, "the reference sections became steps");
    let titles: Vec<&str> = view
        .flow
        .reference()
        .iter()
        .map(|r| r.title.as_str())
        .collect();
    assert_eq!(titles, ["Examples", "Background"]);
    let first = text(&render(&s, 120, 40, Theme::default()));
    assert!(first.contains("reference: Examples"), "{first}");
    assert!(first.contains("kubeletExtraArgs:"), "{first}");
    assert!(first.contains("reference: Background"), "{first}");
    cmd(&mut s, Command::Down);
    let second = text(&render(&s, 120, 40, Theme::default()));
    assert!(!second.contains("reference: Examples"), "{second}");
}

/// A pod list whose STATUS column starts past column 80.
fn wide_output() -> State {
    let mut s = running_demo();
    let line = format!(
        "{:<100}{}",
        "hubble-system   mgmt-7f9c-abcde   1/1", "CrashLoopBackOff"
    );
    update(
        &mut s,
        Action::Engine(
            0,
            Box::new(Event::Output {
                step: 1,
                block: 0,
                stream: Stream::Stdout,
                ts_ms: 2,
                text: format!("{line}\n"),
            }),
        ),
    );
    s
}

#[test]
fn w_wraps_long_output_lines_and_h_l_scroll_them_sideways_at_80x24() {
    let mut s = wide_output();
    let screen = |s: &State| text(&render(s, 80, 24, Theme::default()));
    assert!(!screen(&s).contains("CrashLoop"), "{}", screen(&s));
    // Sideways: l moves 20 columns at a time; h comes back.
    for _ in 0..3 {
        cmd(&mut s, Command::ScrollRight);
    }
    assert!(screen(&s).contains("CrashLoopBackOff"), "{}", screen(&s));
    for _ in 0..3 {
        cmd(&mut s, Command::ScrollLeft);
    }
    assert!(!screen(&s).contains("CrashLoop"), "{}", screen(&s));
    // Wrapped, the column shows in the pane and in o.
    cmd(&mut s, Command::Wrap);
    assert!(screen(&s).contains("CrashLoopBackOff"), "{}", screen(&s));
    cmd(&mut s, Command::FullOutput);
    let full = screen(&s);
    assert!(full.contains("CrashLoopBackOff"), "{full}");
    assert!(full.contains("w cut lines"), "{full}");
    // In o, w cuts again and l scrolls there too.
    cmd(&mut s, Command::Wrap);
    assert!(!screen(&s).contains("CrashLoop"), "{}", screen(&s));
    for _ in 0..4 {
        cmd(&mut s, Command::ScrollRight);
    }
    let full = screen(&s);
    assert!(full.contains("CrashLoopBackOff"), "{full}");
    assert!(full.contains("from column 81"), "{full}");
}

#[test]
fn the_step_text_scrolls_with_j_and_k_at_80x24() {
    let mut s = state();
    s.open("demo/demo");
    let screen = |s: &State| text(&render(s, 80, 24, Theme::default()));
    let first = screen(&s);
    assert!(first.contains("step 1 · pending · J/K more"), "{first}");
    assert!(!first.contains("── expected output"), "{first}");
    for _ in 0..3 {
        cmd(&mut s, Command::StepTextDown);
    }
    let down = screen(&s);
    assert!(down.contains("── expected output"), "{down}");
    assert!(down.contains("· row "), "{down}");
    // Another step starts at its top.
    cmd(&mut s, Command::Down);
    assert!(!screen(&s).contains("· row "), "{}", screen(&s));
    cmd(&mut s, Command::StepTextUp);
    assert!(!screen(&s).contains("· row "), "{}", screen(&s));
}

/// The step pane shows every fence attribute that changes how a block is judged, and says when
/// it was not honoured: a fetched runbook's `destructive=false` cannot relax the guard.
#[test]
fn judging_attributes_show_with_the_step_and_whether_they_hold() {
    let md = "# Attrs\n\n## Scenario - Clean up {#clean}\n\n### Debug Steps\n\n\
              1. Remove the scratch pod.\n\n   ```bash destructive=false\n   kubectl delete pod scratch\n   ```\n";
    for (fetched, want) in [
        (false, "block 1: destructive=false"),
        (
            true,
            "block 1: destructive=false (ignored: a fetched runbook cannot relax",
        ),
    ] {
        let mut book = parse(md.as_bytes(), Path::new("attrs.md"));
        if fetched {
            book.fetched = Some(runbook::runbook::Fetched {
                url: "https://runbooks.example/attrs.md".to_owned(),
                fetched_at: 0,
                sha256: String::new(),
                reviewed: true,
                reviewed_scenarios: Vec::new(),
                seen_before: false,
            });
        }
        let mut s = State::new(vec![Arc::new(book)], Keymap::default(), Vars::new());
        s.open("attrs/clean");
        cmd(&mut s, Command::Down);
        let screen = text(&render(&s, 160, 48, Theme::default()));
        assert!(screen.contains(want), "fetched={fetched}:\n{screen}");
        if !fetched {
            assert!(!screen.contains("ignored"), "{screen}");
        }
    }
}
