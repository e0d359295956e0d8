//! The TUI's flows as plain functions: actions in, state and effects out.

use std::path::Path;
use std::sync::Arc;

use std::ops::{Deref, DerefMut};

use super::*;
use crate::cluster::health::Health;
use crate::drive::{Driver, Setup};
use crate::exec::judge::OutputMatch;
use crate::exec::output::Stream;
use crate::exec::process::CommandOutcome;
use crate::exec::runner::{Event, Shell, Verdict};
use crate::runbook::{Catalog, parse};

/// The state with the pure part of the loop in `app.rs`: a driver per opened scenario (not
/// recording) answers preflights and takes values and modes. What needs IO comes back.
struct T {
    s: State,
    drivers: Vec<Driver>,
    active: Option<(std::path::PathBuf, usize, usize)>,
    shell: Option<Shell>,
}

impl Deref for T {
    type Target = State;
    fn deref(&self) -> &State {
        &self.s
    }
}

impl DerefMut for T {
    fn deref_mut(&mut self) -> &mut State {
        &mut self.s
    }
}

impl T {
    fn new(runbooks: Vec<Arc<Runbook>>, shell: Shell) -> Self {
        Self {
            s: State::new(runbooks, Keymap::default(), shell.vars.clone()),
            drivers: Vec::new(),
            active: None,
            shell: Some(shell),
        }
    }

    fn update(&mut self, action: Action) -> Vec<Effect> {
        let effects = update(&mut self.s, action);
        self.carry_out(effects)
    }

    fn carry_out(&mut self, effects: Vec<Effect>) -> Vec<Effect> {
        let mut out = Vec::new();
        for effect in effects {
            match effect {
                Effect::Open(flow) => {
                    let key = flow.key();
                    let shell = match self.driver_mut() {
                        Some(d) => d.swap_shell(Shell::from_current()),
                        None => self.shell.take().unwrap_or_else(Shell::from_current),
                    };
                    self.active = Some(key.clone());
                    if let Some(d) = self.drivers.iter_mut().find(|d| d.procedure.key() == key) {
                        d.swap_shell(shell);
                    } else {
                        let setup = Setup {
                            mode: self.s.mode,
                            guard: self.s.context.guard,
                            context: self.s.context.context.clone(),
                            confirm_origin: true,
                            ..Setup::default()
                        };
                        self.drivers.push(Driver::new(flow, shell, setup));
                    }
                }
                Effect::Preflight(i) => {
                    let needs = self.driver().preflight(i);
                    let more = update(&mut self.s, Action::Needs(Box::new(needs)));
                    out.extend(self.carry_out(more));
                }
                Effect::SetValue {
                    name,
                    value,
                    secret,
                } => self.driver_mut_or_panic().set_value(&name, value, secret),
                Effect::ClearValue(name) => self.driver_mut_or_panic().clear_value(&name),
                Effect::Choose { step, block } => self.driver_mut_or_panic().choose(step, block),
                Effect::Run {
                    index,
                    confirmed: true,
                } => {
                    // The driver takes the yes as the step starts (`Driver::run_step`).
                    self.driver_mut_or_panic().accept_confirmation();
                    out.push(Effect::Run {
                        index,
                        confirmed: true,
                    });
                }
                Effect::SetMode(mode) => {
                    for d in &mut self.drivers {
                        d.set_mode(mode);
                    }
                    out.push(Effect::SetMode(mode));
                }
                other => out.push(other),
            }
        }
        out
    }

    fn open(&mut self, id: &str) -> bool {
        let Some(effect) = self.s.open(id) else {
            return false;
        };
        self.carry_out(vec![effect]);
        true
    }

    fn driver_mut(&mut self) -> Option<&mut Driver> {
        let key = self.active.clone()?;
        self.drivers.iter_mut().find(|d| d.procedure.key() == key)
    }

    fn driver_mut_or_panic(&mut self) -> &mut Driver {
        self.driver_mut()
            .unwrap_or_else(|| panic!("no scenario open"))
    }

    fn driver(&self) -> &Driver {
        let key = self.active.clone();
        self.drivers
            .iter()
            .find(|d| Some(d.procedure.key()) == key)
            .unwrap_or_else(|| panic!("no scenario open"))
    }

    /// A value given as if with `--var`.
    fn given(&mut self, name: &str, value: &str) {
        self.driver_mut_or_panic()
            .shell_mut()
            .vars
            .set(name, value, Origin::Cli);
        let vars = self.driver().shell().vars.clone();
        self.s.vars = vars;
    }

    /// The value the commands would get for `name`.
    fn value(&self, name: &str) -> Option<String> {
        self.driver()
            .shell()
            .vars
            .get(name)
            .map(|v| v.value.clone())
    }

    /// The step's run is over (as the loop reports it when the driver comes home).
    fn end_run(&mut self, index: usize) -> Vec<Effect> {
        let vars = self.driver().shell().vars.clone();
        self.update(Action::RunEnded {
            index,
            vars: Box::new(vars),
        })
    }
}

fn demo_state() -> T {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui/demo.md");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut runbooks: Vec<Arc<Runbook>> = Catalog::load(&[], true)
        .runbooks
        .into_iter()
        .map(Arc::new)
        .collect();
    runbooks.push(Arc::new(parse(&bytes, Path::new("demo.md"))));
    let mut shell = Shell::from_current();
    shell.vars = Vars::new();
    T::new(runbooks, shell)
}

fn cmd(state: &mut T, c: Command) -> Vec<Effect> {
    state.update(Action::Command(c))
}

fn type_text(state: &mut T, text: &str) {
    for c in text.chars() {
        state.update(Action::Input(c));
    }
}

fn scenario(state: &State) -> &ScenarioView {
    state
        .scenario
        .as_ref()
        .unwrap_or_else(|| panic!("no scenario open"))
}

fn engine(state: &mut T, index: usize, event: Event) {
    state.update(Action::Engine(index, Box::new(event)));
}

#[test]
fn run_asks_for_a_placeholder_once_then_runs() {
    let mut s = demo_state();
    assert!(s.open("demo/demo"));
    assert_eq!(scenario(&s).items.len(), 5);
    assert!(cmd(&mut s, Command::Enter).is_empty());
    let Some(Dialog::Prompt {
        name,
        context,
        example,
        ..
    }) = &s.dialog
    else {
        panic!("{:?}", s.dialog)
    };
    assert_eq!(name, "greeting");
    assert_eq!(context, "echo \"first line <greeting>\"");
    assert_eq!(example.as_deref(), Some("hello"));
    // Letters are text while the prompt is open, not commands.
    assert!(typing(&s));
    type_text(&mut s, "hi q");
    let effects = cmd(&mut s, Command::Enter);
    assert!(s.dialog.is_none());
    let [
        Effect::Run {
            index: 0,
            confirmed: false,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(scenario(&s).items[0].number, "1");
    assert_eq!(s.value("greeting").as_deref(), Some("hi q"));
    assert_eq!(s.driver().mode(), RunMode::Confirm);
    assert_eq!(s.running(), Some(0));
    assert!(matches!(scenario(&s).items[0].status, Status::Running(_)));
    // Asked once: the next run of the step asks nothing.
    s.end_run(0);
    let effects = cmd(&mut s, Command::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Run { index: 0, .. }]));
}

#[test]
fn output_streams_in_and_the_verdict_lands() {
    let mut s = demo_state();
    s.open("demo/demo");
    s.given("greeting", "hi");
    let effects = cmd(&mut s, Command::Enter);
    assert!(matches!(effects.as_slice(), [Effect::Run { index: 0, .. }]));
    engine(
        &mut s,
        0,
        Event::CommandStarted {
            step: 1,
            block: 0,
            line: 18,
            command: "echo \"first line hi\"".to_owned(),
            destructive: false,
            interactive: false,
            reasons: Vec::new(),
        },
    );
    engine(
        &mut s,
        0,
        Event::Output {
            step: 1,
            block: 0,
            stream: Stream::Stdout,
            ts_ms: 3,
            text: "first line hi\nsecond line\n".to_owned(),
        },
    );
    engine(
        &mut s,
        0,
        Event::Output {
            step: 1,
            block: 0,
            stream: Stream::Stderr,
            ts_ms: 4,
            text: "warn\n".to_owned(),
        },
    );
    let out = &scenario(&s).items[0].output;
    let kinds: Vec<OutKind> = out.lines.iter().map(|l| l.kind).collect();
    assert_eq!(
        kinds,
        [
            OutKind::Command,
            OutKind::Stdout,
            OutKind::Stdout,
            OutKind::Stderr
        ]
    );
    assert_eq!(out.lines[1].text, "first line hi");
    engine(
        &mut s,
        0,
        Event::CommandFinished {
            step: 1,
            block: 0,
            outcome: CommandOutcome {
                exit_code: Some(3),
                ..CommandOutcome::default()
            },
            failures: vec!["exit code 3, expected 0".to_owned()],
            output: OutputMatch::Differs {
                diff: "-first line hello\n+first line hi\n".to_owned(),
            },
        },
    );
    engine(
        &mut s,
        0,
        Event::StepFinished {
            step: 1,
            number: "1".to_owned(),
            verdict: Verdict::Failed,
            reasons: Vec::new(),
            dropped_lines: 0,
        },
    );
    let item = &scenario(&s).items[0];
    assert_eq!(item.status, Status::Failed);
    assert_eq!(item.output.exit.as_ref().and_then(|e| e.code), Some(3));
    assert_eq!(item.output.matches, Some(false));
    assert!(
        item.output
            .diff
            .as_deref()
            .is_some_and(|d| d.contains("+first line hi"))
    );
    assert_eq!(item.output.reasons, ["exit code 3, expected 0"]);
    s.end_run(0);
    assert_eq!(s.running(), None);
    assert_eq!(scenario(&s).selected, 0, "the step's output stays in view");
}

#[test]
fn output_is_bounded_and_dropped_lines_are_counted() {
    let mut s = demo_state();
    s.open("demo/demo");
    let mut text = String::new();
    for i in 0..MAX_OUTPUT_LINES + 5 {
        text.push_str("line ");
        text.push_str(&i.to_string());
        text.push('\n');
    }
    engine(
        &mut s,
        0,
        Event::Output {
            step: 1,
            block: 0,
            stream: Stream::Stdout,
            ts_ms: 0,
            text,
        },
    );
    s.update(Action::OutputDropped(0, 7));
    let out = &scenario(&s).items[0].output;
    assert_eq!(out.lines.len(), MAX_OUTPUT_LINES);
    assert_eq!(out.dropped, 12);
    assert_eq!(
        out.lines.back().map(|l| l.text.as_str()),
        Some(format!("line {}", MAX_OUTPUT_LINES + 4).as_str())
    );
}

#[test]
fn cancel_and_quit_while_running() {
    let mut s = demo_state();
    s.open("demo/demo");
    scenario_mut(&mut s).selected = 1;
    assert!(matches!(
        cmd(&mut s, Command::Enter).as_slice(),
        [Effect::Run { index: 1, .. }]
    ));
    assert!(matches!(
        cmd(&mut s, Command::Cancel).as_slice(),
        [Effect::Cancel]
    ));
    // Enter again while running does not start a second run.
    assert!(cmd(&mut s, Command::Enter).is_empty());
    assert!(
        s.message
            .as_deref()
            .is_some_and(|m| m.contains("is running"))
    );
    // q asks first; Enter stops the command and quits when it is gone.
    assert!(cmd(&mut s, Command::Quit).is_empty());
    assert_eq!(s.dialog, Some(Dialog::Quit));
    assert!(matches!(
        cmd(&mut s, Command::Enter).as_slice(),
        [Effect::Cancel]
    ));
    let effects = s.end_run(1);
    assert!(matches!(effects.as_slice(), [Effect::Quit]));
    assert_eq!(scenario(&s).items[1].status, Status::Cancelled);
    assert!(s.should_quit);
}

fn scenario_mut(s: &mut T) -> &mut ScenarioView {
    s.scenario
        .as_mut()
        .unwrap_or_else(|| panic!("no scenario open"))
}

#[test]
fn destructive_commands_ask_first_and_read_only_mode_does_not() {
    let mut s = demo_state();
    s.open("demo/demo");
    scenario_mut(&mut s).selected = 3;
    assert!(cmd(&mut s, Command::Enter).is_empty());
    let Some(Dialog::Confirm {
        commands, reasons, ..
    }) = &s.dialog
    else {
        panic!("{:?}", s.dialog)
    };
    assert_eq!(commands, &["rm -f /tmp/runbook-tui-demo-scratch"]);
    assert!(!reasons.is_empty());
    // Esc: nothing runs.
    assert!(cmd(&mut s, Command::Back).is_empty());
    assert!(s.dialog.is_none());
    assert_eq!(s.running(), None);
    // Enter in the dialog: runs, confirmed.
    cmd(&mut s, Command::Enter);
    let effects = cmd(&mut s, Command::Enter);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Run {
                index: 3,
                confirmed: true
            }]
        ),
        "{effects:?}"
    );
    s.end_run(3);

    cmd(&mut s, Command::CycleMode);
    assert_eq!(s.mode, RunMode::ReadOnly);
    let effects = cmd(&mut s, Command::Enter);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Run {
                confirmed: false,
                ..
            }]
        ),
        "{effects:?}"
    );
    assert_eq!(
        s.driver().mode(),
        RunMode::ReadOnly,
        "the engine refuses it and marks it blocked"
    );
}

#[test]
fn skip_done_and_manual_steps() {
    let mut s = demo_state();
    s.open("demo/demo");
    let effects = cmd(&mut s, Command::Skip);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Mark {
                index: 0,
                verdict: Verdict::Skipped
            }]
        ),
        "the session records it: {effects:?}"
    );
    assert_eq!(scenario(&s).items[0].status, Status::Skipped);
    assert_eq!(scenario(&s).selected, 1);
    cmd(&mut s, Command::Down);
    assert!(
        cmd(&mut s, Command::Enter).is_empty(),
        "a manual step does not run"
    );
    assert!(s.message.as_deref().is_some_and(|m| m.contains("manual")));
    cmd(&mut s, Command::MarkDone);
    assert!(s.message.is_none(), "the next key replaces the message");
    assert_eq!(scenario(&s).items[2].status, Status::Done);
    assert_eq!(scenario(&s).progress(), (2, 5));
}

#[test]
fn pick_another_procedure() {
    let mut s = demo_state();
    assert!(s.open("calico-ipv6/calico-ipv6"));
    let first = scenario(&s).items.len();
    cmd(&mut s, Command::PickProcedure);
    assert!(matches!(s.dialog, Some(Dialog::Procedure { selected: 0 })));
    cmd(&mut s, Command::Down);
    cmd(&mut s, Command::Enter);
    assert!(s.dialog.is_none());
    assert_eq!(scenario(&s).procedure, 1);
    assert!(
        scenario(&s).items.len() != first
            || scenario(&s)
                .items
                .iter()
                .all(|i| i.status == Status::Pending)
    );
}

#[test]
fn search_lands_on_the_scenario_of_a_pasted_error_line() {
    let mut s = demo_state();
    cmd(&mut s, Command::Search);
    assert!(typing(&s));
    update(
        &mut s,
        Action::Paste(
            "E0312 ipam: Exhausted IP Pools while allocating for machine cp-2".to_owned(),
        ),
    );
    let entry = s
        .catalog
        .selected_entry()
        .map(|e| s.catalog.entries[e].id.clone());
    assert_eq!(entry.as_deref(), Some("ip-pool-exhausted/orphaned-ipclaim"));
    // Fuzzy title match with highlighted positions.
    cmd(&mut s, Command::Back);
    cmd(&mut s, Command::Search);
    type_text(&mut s, "cilium eks");
    let Some(Row::Entry { entry, matched, .. }) = s.catalog.rows.first().cloned() else {
        panic!("no rows")
    };
    assert_eq!(s.catalog.entries[entry].id, "eks-cilium/eks-cilium");
    assert!(!matched.is_empty());
    // Enter opens the selected scenario.
    cmd(&mut s, Command::Enter);
    assert_eq!(s.screen, Screen::Scenario);
    assert_eq!(
        scenario(&s).scenario().map(|x| x.id.as_str()),
        Some("eks-cilium/eks-cilium")
    );
}

#[test]
fn search_ranks_by_matched_words_so_a_line_with_unknown_words_still_finds_its_scenario() {
    let mut s = demo_state();
    cmd(&mut s, Command::Search);
    // No symptom is inside this line, nor this line inside a symptom, and several of its words
    // ("could", "E1204", "reset") are in no runbook.
    update(
        &mut s,
        Action::Paste(
            "E1204 failed to deploy the image: could not create govomiClient for vCenter (reset)"
                .to_owned(),
        ),
    );
    let first = s
        .catalog
        .selected_entry()
        .map(|e| s.catalog.entries[e].runbook_id.clone());
    assert_eq!(
        first.as_deref(),
        Some("deploy-image-failed"),
        "{:?}",
        s.catalog.rows
    );
    let Some(Row::Entry { why: Some(why), .. }) = s.catalog.rows.first() else {
        panic!("{:?}", s.catalog.rows)
    };
    assert!(why.contains("words"), "{why}");
    // A line of nothing but unknown words finds nothing.
    cmd(&mut s, Command::Back);
    cmd(&mut s, Command::Search);
    type_text(&mut s, "zzqx wvvk qqpl");
    assert!(s.catalog.rows.is_empty(), "{:?}", s.catalog.rows);
}

#[test]
fn copy_gives_the_filled_in_command_with_secrets_masked() {
    let mut s = demo_state();
    s.open("demo/demo");
    s.given("greeting", "hello");
    let effects = cmd(&mut s, Command::Copy);
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(text.contains("first line hello"), "{text}");
    // The terminal may ignore OSC 52: the message says what was done, not that it was copied.
    let message = s.message.clone().unwrap_or_default();
    assert!(
        message.contains("sent") && message.contains("OSC 52"),
        "{message}"
    );
    assert!(!message.contains("copied"), "{message}");
}

#[test]
fn help_and_full_output_overlays() {
    let mut s = demo_state();
    s.open("demo/demo");
    cmd(&mut s, Command::Help);
    assert_eq!(s.overlay, Some(Overlay::Help { scroll: 0 }));
    cmd(&mut s, Command::Back);
    assert!(s.overlay.is_none());
    engine(
        &mut s,
        0,
        Event::Output {
            step: 1,
            block: 0,
            stream: Stream::Stdout,
            ts_ms: 0,
            text: "a\nneedle\nb\nneedle\n".to_owned(),
        },
    );
    cmd(&mut s, Command::FullOutput);
    cmd(&mut s, Command::Search);
    type_text(&mut s, "needle");
    cmd(&mut s, Command::Enter);
    cmd(&mut s, Command::NextStep);
    assert!(
        matches!(s.overlay, Some(Overlay::Output { scroll: 1, .. })),
        "{:?}",
        s.overlay
    );
    cmd(&mut s, Command::NextStep);
    assert!(
        matches!(s.overlay, Some(Overlay::Output { scroll: 3, .. })),
        "{:?}",
        s.overlay
    );
}

/// A state with one scenario whose placeholder has a `pick:` hint, and a pinned context.
fn picker_state(guard: Guard) -> T {
    let text = "---\ntitle: Pick\ndescription: d\nplaceholders:\n  pod-name:\n    description: the pod\n    pick: {resource: pods, namespace: hubble-system, contains: mgmt}\n---\n\n## Scenario - Pick {#pick}\n\n### Debug Steps\n\n1. Delete it.\n\n   ```bash\n   kubectl delete pod <pod-name> --namespace hubble-system\n   ```\n";
    let runbook = parse(text.as_bytes(), Path::new("pick.md"));
    let mut shell = Shell::from_current();
    shell.vars = Vars::new();
    let mut s = T::new(vec![Arc::new(runbook)], shell);
    s.update(Action::Cluster(
        Box::new(ContextInfo {
            context: Some("prod-east".to_owned()),
            namespace: Some("default".to_owned()),
            guard,
            ..ContextInfo::default()
        }),
        Vec::new(),
    ));
    assert!(s.open("pick/pick"));
    s
}

fn choice(name: &str) -> Choice {
    Choice {
        name: name.to_owned(),
        value: name.to_owned(),
        namespace: Some("hubble-system".to_owned()),
        detail: "1/1  Running".to_owned(),
    }
}

/// The picker state with its placeholder's list asked for (Enter) and answered with `result`.
fn picker_answered(result: Result<Vec<Choice>, String>) -> T {
    let mut s = picker_state(Guard::Normal);
    let effects = cmd(&mut s, Command::Enter);
    let Some(Effect::ListChoices { token, .. }) = effects.first() else {
        panic!("{effects:?}")
    };
    let token = *token;
    update(&mut s, Action::Choices { token, result });
    s
}

#[test]
fn a_placeholder_with_a_pick_hint_lists_the_cluster_objects_and_takes_the_chosen_one() {
    let mut s = picker_state(Guard::Normal);
    let effects = cmd(&mut s, Command::Enter);
    let [
        Effect::ListChoices {
            token,
            spec,
            namespace,
        },
    ] = effects.as_slice()
    else {
        panic!("{effects:?}")
    };
    assert_eq!(spec.resource, "pods");
    assert_eq!(spec.contains.as_deref(), Some("mgmt"));
    assert_eq!(namespace.as_deref(), Some("hubble-system"));
    let token = *token;
    // An answer to an older request is ignored.
    update(
        &mut s,
        Action::Choices {
            token: token - 1,
            result: Ok(vec![choice("stale")]),
        },
    );
    let Some(Dialog::Prompt {
        live: Some(live), ..
    }) = &s.dialog
    else {
        panic!("{:?}", s.dialog)
    };
    assert_eq!(live.state, LiveState::Loading);
    update(
        &mut s,
        Action::Choices {
            token,
            result: Ok(vec![choice("mgmt-a"), choice("mgmt-b")]),
        },
    );
    // Typing filters; ↓ highlights the first match; Enter takes it.
    type_text(&mut s, "b");
    cmd(&mut s, Command::Down);
    let effects = cmd(&mut s, Command::Enter);
    // Deleting a pod is destructive: the confirmation comes next, then the run.
    assert!(effects.is_empty(), "{effects:?}");
    assert!(matches!(
        s.dialog,
        Some(Dialog::Confirm { require: None, .. })
    ));
    let effects = cmd(&mut s, Command::Enter);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Run {
                confirmed: true,
                ..
            }]
        ),
        "{effects:?}"
    );
    assert_eq!(s.value("pod-name").as_deref(), Some("mgmt-b"));
}

#[test]
fn a_failed_list_still_takes_a_typed_value() {
    let mut s = picker_answered(Err("connection refused".to_owned()));
    type_text(&mut s, "mgmt-typed");
    cmd(&mut s, Command::Down);
    cmd(&mut s, Command::Enter);
    assert_eq!(s.value("pod-name").as_deref(), Some("mgmt-typed"));
}

#[test]
fn a_protected_context_runs_a_destructive_command_only_after_its_name_is_typed() {
    let mut s = picker_state(Guard::ConfirmName);
    s.given("pod-name", "mgmt-a");
    assert!(cmd(&mut s, Command::Enter).is_empty());
    assert!(matches!(
        &s.dialog,
        Some(Dialog::Confirm { require: Some(n), .. }) if n == "prod-east"
    ));
    // Letters go into the field: `q` does not quit.
    assert!(typing(&s));
    type_text(&mut s, "prod");
    assert!(
        cmd(&mut s, Command::Enter).is_empty(),
        "a wrong name runs nothing"
    );
    assert!(
        s.message
            .as_deref()
            .is_some_and(|m| m.contains("prod-east"))
    );
    type_text(&mut s, "-east");
    let effects = cmd(&mut s, Command::Enter);
    assert!(matches!(
        effects.as_slice(),
        [Effect::Run {
            confirmed: true,
            ..
        }]
    ));
}

#[test]
fn a_read_only_context_forces_the_mode_and_keeps_it() {
    let mut s = picker_state(Guard::ReadOnly);
    assert_eq!(s.mode, RunMode::ReadOnly);
    cmd(&mut s, Command::CycleMode);
    assert_eq!(s.mode, RunMode::ReadOnly);
    assert_eq!(s.driver().mode(), RunMode::ReadOnly);
    assert!(
        s.message
            .as_deref()
            .is_some_and(|m| m.contains("read-only"))
    );
}

#[test]
fn a_read_only_mode_from_the_command_line_is_not_undone_by_m() {
    let mut s = picker_state(Guard::Normal);
    s.mode = RunMode::ReadOnly;
    s.mode_lock = Some("--read-only".to_owned());
    for _ in 0..3 {
        let effects = cmd(&mut s, Command::CycleMode);
        assert!(effects.is_empty(), "{effects:?}");
        assert_eq!(s.mode, RunMode::ReadOnly);
    }
    let message = s.message.clone().unwrap_or_default();
    assert!(
        message.contains("--read-only") && message.contains("read-only"),
        "{message}"
    );
}

#[test]
fn the_context_picker_switches_and_health_for_another_context_is_ignored() {
    let mut s = picker_state(Guard::Normal);
    s.contexts = ["lab", "prod-east"]
        .iter()
        .map(|n| crate::cluster::ContextEntry {
            name: (*n).to_owned(),
            cluster: (*n).to_owned(),
            server: format!("https://{n}:6443"),
            user: "u".to_owned(),
            namespace: None,
            current: false,
        })
        .collect();
    cmd(&mut s, Command::PickContext);
    assert_eq!(s.dialog, Some(Dialog::Contexts { selected: 1 }));
    cmd(&mut s, Command::Up);
    let effects = cmd(&mut s, Command::Enter);
    assert!(matches!(
        effects.as_slice(),
        [Effect::SwitchContext { context, namespace: None }] if context == "lab"
    ));
    s.update(Action::Health {
        context: "lab".to_owned(),
        health: Health::Down("x".to_owned()),
    });
    assert_eq!(
        s.context.health,
        Health::Unknown,
        "prod-east is still pinned"
    );
    s.update(Action::Health {
        context: "prod-east".to_owned(),
        health: Health::Down("refused".to_owned()),
    });
    assert_eq!(s.context.health, Health::Down("refused".to_owned()));
}

#[test]
fn a_fetched_runbook_asks_once_per_session_naming_its_url() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui/demo.md");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut fetched = parse(&bytes, Path::new("demo.md"));
    let url = "https://runbooks.example/demo.md";
    fetched.fetched = Some(crate::runbook::Fetched {
        url: url.to_owned(),
        fetched_at: 0,
        sha256: String::new(),
        reviewed: false,
        reviewed_scenarios: Vec::new(),
        seen_before: false,
    });
    let mut shell = Shell::from_current();
    shell.vars = Vars::new();
    shell.vars.set("greeting", "hi", Origin::Cli);
    let mut s = T::new(vec![Arc::new(fetched)], shell);
    assert!(s.open("demo/demo"));
    // Step 1 is harmless, but its runbook came from a URL: asked first, naming it.
    assert!(cmd(&mut s, Command::Enter).is_empty());
    let Some(Dialog::Confirm {
        commands,
        reasons,
        origin,
        ..
    }) = &s.dialog
    else {
        panic!("{:?}", s.dialog)
    };
    assert_eq!(origin.as_deref(), Some(url));
    assert!(reasons.is_empty());
    assert!(commands[0].contains("echo \"first line"), "{commands:?}");
    // Esc: nothing runs, and the next Enter asks again.
    assert!(cmd(&mut s, Command::Back).is_empty());
    assert_eq!(s.running(), None);
    cmd(&mut s, Command::Enter);
    let effects = cmd(&mut s, Command::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Run { .. }]),
        "{effects:?}"
    );
    s.end_run(0);
    // Agreed once: a later harmless step runs without asking.
    scenario_mut(&mut s).selected = 0;
    let effects = cmd(&mut s, Command::Enter);
    assert!(s.dialog.is_none(), "{:?}", s.dialog);
    assert!(
        matches!(effects.as_slice(), [Effect::Run { .. }]),
        "{effects:?}"
    );
}

#[test]
fn an_unfinished_session_is_offered_and_resumed_steps_come_back_never_as_passed_when_interrupted() {
    let mut s = demo_state();
    assert!(s.open("demo/demo"));
    let offer = Resumable {
        id: "20261122T000000Z-abc".to_owned(),
        done: 1,
        total: 5,
        updated: "2026-11-22 00:00 UTC".to_owned(),
    };
    s.update(Action::Resumable(offer.clone()));
    assert_eq!(s.dialog, Some(Dialog::Resume(offer)));
    let effects = cmd(&mut s, Command::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Resume(id)] if id == "20261122T000000Z-abc"),
        "{effects:?}"
    );
    s.update(Action::Restored {
        steps: vec![
            RestoredStep {
                index: 0,
                state: crate::session::StepState::Done,
                verdict: Some(Verdict::Passed),
                output: vec!["first line hi".to_owned()],
                note: "looked fine".to_owned(),
                edit: None,
            },
            RestoredStep {
                index: 1,
                state: crate::session::StepState::Interrupted,
                verdict: None,
                output: Vec::new(),
                note: String::new(),
                edit: None,
            },
        ],
        vars: vec![("greeting".to_owned(), "hi".to_owned())],
    });
    let view = scenario(&s);
    assert_eq!(view.items[0].status, Status::Passed);
    assert_eq!(view.items[0].output.lines[0].text, "first line hi");
    assert_eq!(view.items[0].note, "looked fine");
    assert_eq!(view.items[1].status, Status::Cancelled);
    assert_eq!(s.vars.get("greeting").map(|v| v.value.as_str()), Some("hi"));
    // Esc on the offer starts over: nothing is restored.
    let mut fresh = demo_state();
    fresh.open("demo/demo");
    fresh.update(Action::Resumable(Resumable {
        id: "x".to_owned(),
        done: 0,
        total: 5,
        updated: String::new(),
    }));
    assert!(cmd(&mut fresh, Command::Back).is_empty());
    assert!(fresh.dialog.is_none());
}

/// A resumed session brings a step's edit back, unless the record had to mask a secret
/// value in it: that text must never run, and the user is told to type it again.
#[test]
fn a_resumed_edit_comes_back_unless_it_held_a_secret() {
    let mut s = demo_state();
    assert!(s.open("demo/demo"));
    let step = |index: usize, code: String| RestoredStep {
        index,
        state: crate::session::StepState::Done,
        verdict: Some(Verdict::Passed),
        output: Vec::new(),
        note: String::new(),
        edit: Some(crate::session::StepEdit { block: 0, code }),
    };
    s.update(Action::Restored {
        steps: vec![
            step(0, "echo first line mine".to_owned()),
            step(
                1,
                format!("curl -H 'Authorization: {}'", crate::exec::vars::MASK),
            ),
        ],
        vars: Vec::new(),
    });
    let view = scenario(&s);
    assert_eq!(
        view.items[0].edit.as_ref().map(|e| e.code.as_str()),
        Some("echo first line mine")
    );
    assert_eq!(view.items[1].edit, None);
    let message = s.message.clone().unwrap_or_default();
    assert!(
        message.contains(&format!(
            "the edit of step {} held a secret",
            view.items[1].number
        )),
        "{message}"
    );
}

#[test]
fn a_note_on_a_step_is_typed_then_kept() {
    let mut s = demo_state();
    s.open("demo/demo");
    scenario_mut(&mut s).selected = 1;
    cmd(&mut s, Command::Note);
    assert!(typing(&s), "letters are text in the note field");
    type_text(&mut s, "q is a letter");
    let effects = cmd(&mut s, Command::Enter);
    assert!(
        matches!(effects.as_slice(), [Effect::Note { step: 1, text }] if text == "q is a letter"),
        "{effects:?}"
    );
    assert_eq!(scenario(&s).items[1].note, "q is a letter");
    assert!(!s.should_quit);
}

/// The IP-pool scenario's step 5: two ways to delete, by a typed name or by the helper's
/// capture. The user picks; the dialog shows exactly the command that runs, its variables
/// expanded; only that one runs.
#[test]
fn alternatives_are_the_users_pick_and_the_confirmation_shows_exactly_what_runs() {
    let mut s = demo_state();
    assert!(s.open("ip-pool-exhausted/orphaned-ipclaim"));
    let step = scenario(&s)
        .items
        .iter()
        .position(|i| i.title().starts_with("Delete the orphaned claim"))
        .unwrap_or_else(|| panic!("no delete step"));
    // The helper of step 4.1 ran and captured a name.
    s.driver_mut_or_panic()
        .shell_mut()
        .env
        .insert("ORPHAN_CLAIM".into(), "cp-qx4vw-0".into());
    scenario_mut(&mut s).selected = step;
    assert!(cmd(&mut s, Command::Enter).is_empty());
    let Some(Dialog::Alternatives {
        options, selected, ..
    }) = s.dialog.clone()
    else {
        panic!("{:?}", s.dialog)
    };
    assert_eq!(options.len(), 2);
    assert_eq!(options[0].tab, "Type the claim name");
    assert!(!options[0].ready, "the typed name is still to give");
    // The rule's pick is highlighted: the one whose values are known, expanded.
    assert_eq!(selected, 1);
    assert_eq!(
        options[1].command,
        "kubectl delete ipclaim --namespace spectro-mgmt \"cp-qx4vw-0\""
    );
    // The user wants the other one: it asks for its name, then confirms exactly it.
    cmd(&mut s, Command::Up);
    cmd(&mut s, Command::Enter);
    assert!(
        matches!(&s.dialog, Some(Dialog::Prompt { name, .. }) if name == "claim-name"),
        "{:?}",
        s.dialog
    );
    type_text(&mut s, "mgmt-typed-0");
    assert!(cmd(&mut s, Command::Enter).is_empty());
    let Some(Dialog::Confirm { commands, .. }) = &s.dialog else {
        panic!("{:?}", s.dialog)
    };
    assert_eq!(
        commands,
        &["kubectl delete ipclaim --namespace spectro-mgmt 'mgmt-typed-0'"]
    );
    let effects = cmd(&mut s, Command::Enter);
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Run {
                confirmed: true,
                ..
            }]
        ),
        "{effects:?}"
    );
    // The choice stays with the step: running it again asks nothing new about it.
    s.end_run(step);
    cmd(&mut s, Command::Enter);
    assert!(
        matches!(&s.dialog, Some(Dialog::Confirm { commands, .. }) if commands[0].ends_with("'mgmt-typed-0'")),
        "{:?}",
        s.dialog
    );
}

#[test]
fn enter_in_a_filtered_picker_with_one_match_takes_the_match() {
    let mut s = picker_answered(Ok(vec![choice("mgmt-a"), choice("mgmt-b7x")]));
    // The typed text is part of one name only: Enter takes that name, not the text.
    type_text(&mut s, "b7");
    cmd(&mut s, Command::Enter);
    assert_eq!(s.value("pod-name").as_deref(), Some("mgmt-b7x"));
}

#[test]
fn a_filter_matching_several_takes_the_typed_text_until_one_is_picked() {
    let mut s = picker_answered(Ok(vec![choice("mgmt-a"), choice("mgmt-b")]));
    type_text(&mut s, "mgmt");
    cmd(&mut s, Command::Enter);
    assert_eq!(s.value("pod-name").as_deref(), Some("mgmt"));
}

#[test]
fn the_values_view_lists_values_masks_secrets_and_changes_or_clears_one() {
    let mut s = demo_state();
    s.open("demo/demo");
    // Nothing given yet: v says so.
    cmd(&mut s, Command::Values);
    assert!(s.dialog.is_none());
    s.given("greeting", "helo");
    s.driver_mut_or_panic()
        .set_value("api-token", "s3cr3t-value".to_owned(), true);
    let vars = s.driver().shell().vars.clone();
    s.s.vars = vars;
    cmd(&mut s, Command::Values);
    assert!(matches!(s.dialog, Some(Dialog::Values { .. })));
    let rows = values::rows(&s);
    let names: Vec<&str> = rows.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["api-token", "greeting"]);
    assert!(rows.iter().all(|r| !r.shown.contains("s3cr3t")), "{rows:?}");
    assert_eq!(rows[1].from, "--var");
    // Change the misspelt greeting: Enter, fix the text, Enter.
    cmd(&mut s, Command::Down);
    cmd(&mut s, Command::Enter);
    assert!(typing(&s));
    s.update(Action::Backspace);
    type_text(&mut s, "lo");
    let effects = cmd(&mut s, Command::Enter);
    assert!(effects.is_empty(), "carried out: {effects:?}");
    assert_eq!(s.value("greeting").as_deref(), Some("hello"));
    // The secret's field starts empty (it is never shown); empty + Enter clears it.
    cmd(&mut s, Command::Up);
    cmd(&mut s, Command::Enter);
    assert!(matches!(
        &s.dialog,
        Some(Dialog::Values { editing: Some(e), .. }) if e.is_empty()
    ));
    cmd(&mut s, Command::Enter);
    assert_eq!(s.value("api-token"), None);
    assert!(s.vars.get("api-token").is_none());
    // The copied command now has the new greeting.
    cmd(&mut s, Command::Back);
    assert!(s.dialog.is_none());
    let effects = cmd(&mut s, Command::Copy);
    let [Effect::Copy(text)] = effects.as_slice() else {
        panic!("{effects:?}")
    };
    assert!(text.contains("first line hello"), "{text}");
}

#[test]
fn help_scrolls_and_stops_at_its_end() {
    let mut s = demo_state();
    s.open("demo/demo");
    cmd(&mut s, Command::Help);
    for _ in 0..3 {
        cmd(&mut s, Command::Down);
    }
    assert_eq!(s.overlay, Some(Overlay::Help { scroll: 3 }));
    cmd(&mut s, Command::PageUp);
    assert_eq!(s.overlay, Some(Overlay::Help { scroll: 0 }));
    // Keys under the help do not reach the checklist.
    assert_eq!(scenario(&s).selected, 0);
    cmd(&mut s, Command::Help);
    assert_eq!(s.overlay, None);
}

#[test]
fn the_lab_shows_its_instructions_with_its_scenario_and_announces_the_fix() {
    let mut s = demo_state();
    s.lab = Some(lab::LabInfo {
        scenario: "demo/demo".to_owned(),
        title: "Demo of the Checklist".to_owned(),
        hint: "Print the lines, then tick off step 3.".to_owned(),
        fixed: false,
        shown: false,
    });
    // Another scenario: no instructions.
    s.open("eks-cilium/eks-cilium");
    assert_eq!(s.dialog, None);
    // The lab's own: the instructions open once; Enter closes them; i shows them again.
    s.open("demo/demo");
    assert_eq!(s.dialog, Some(Dialog::Lab));
    cmd(&mut s, Command::Enter);
    assert_eq!(s.dialog, None);
    cmd(&mut s, Command::Back);
    s.open("demo/demo");
    assert_eq!(s.dialog, None, "shown once only");
    cmd(&mut s, Command::Lab);
    assert_eq!(s.dialog, Some(Dialog::Lab));
    cmd(&mut s, Command::Back);
    // The job's word: announced, and kept for the header.
    s.update(Action::LabFixed);
    assert_eq!(s.dialog, Some(Dialog::Lab));
    assert!(s.lab.as_ref().is_some_and(|l| l.fixed));
    assert!(
        s.message.as_deref().is_some_and(|m| m.contains("fixed")),
        "{:?}",
        s.message
    );
}

#[test]
fn without_a_lab_i_says_how_to_start_one() {
    let mut s = demo_state();
    s.open("demo/demo");
    cmd(&mut s, Command::Lab);
    assert_eq!(s.dialog, None);
    assert!(s.message.as_deref().is_some_and(|m| m.contains("--lab")));
}

#[test]
fn the_diagnose_evidence_scrolls_with_j_and_k() {
    let mut s = demo_state();
    let effects = cmd(&mut s, Command::Diagnose);
    assert!(
        matches!(effects.as_slice(), [Effect::Diagnose]),
        "{effects:?}"
    );
    cmd(&mut s, Command::StepTextDown);
    cmd(&mut s, Command::StepTextDown);
    assert_eq!(s.diagnose.as_ref().map(|d| d.evidence_scroll), Some(6));
    cmd(&mut s, Command::StepTextUp);
    assert_eq!(s.diagnose.as_ref().map(|d| d.evidence_scroll), Some(3));
}
