//! The one scenario driver, as `runbook run` drives it (its answers from a stub): values asked
//! once, the terminal handed to interactive commands (a stub records it), confirmations,
//! secrets masked in every event, cancel.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use runbook::drive::{Answers, Confirmation, Driver, Procedure, Setup};
use runbook::exec::Terminal;
use runbook::exec::output::Stream;
use runbook::exec::process::Cancel;
use runbook::exec::runner::{Event, Host, Missing, Options, RunMode, Shell, Verdict};
use runbook::runbook::{PlaceholderDoc, Runbook, parse};

#[derive(Default)]
struct StubTerminal {
    calls: Vec<&'static str>,
}

impl Terminal for StubTerminal {
    fn suspend(&mut self) -> std::io::Result<()> {
        self.calls.push("suspend");
        Ok(())
    }
    fn resume(&mut self) -> std::io::Result<()> {
        self.calls.push("resume");
        Ok(())
    }
}

#[derive(Default)]
struct Stub {
    events: Vec<Event>,
    answers: BTreeMap<String, String>,
    asked: Vec<String>,
    confirm: bool,
    confirmations: usize,
    terminal: StubTerminal,
    cancel_on_output: Option<runbook::exec::CancelHandle>,
}

impl Host for Stub {
    fn emit(&mut self, event: Event) {
        if let (Event::Output { .. }, Some(h)) = (&event, &self.cancel_on_output) {
            h.cancel();
        }
        self.events.push(event);
    }
    fn terminal(&mut self) -> &mut dyn Terminal {
        &mut self.terminal
    }
}

impl Answers for Stub {
    fn value(&mut self, m: &Missing, _doc: Option<&PlaceholderDoc>) -> Option<String> {
        self.asked.push(m.name.clone());
        self.answers.get(&m.name).cloned()
    }
    fn confirm(&mut self, _c: &Confirmation) -> bool {
        self.confirmations += 1;
        self.confirm
    }
}

impl Stub {
    fn output(&self) -> String {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::Output {
                    stream: Stream::Stdout,
                    text,
                    ..
                } => Some(text.as_str()),
                _ => None,
            })
            .collect()
    }

    fn verdicts(&self) -> Vec<Verdict> {
        self.events
            .iter()
            .filter_map(|e| match e {
                Event::StepFinished { verdict, .. } => Some(*verdict),
                _ => None,
            })
            .collect()
    }

    fn all_text(&self) -> String {
        self.events
            .iter()
            .map(|e| serde_json::to_string(e).unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

fn book(md: &str) -> Runbook {
    parse(md.as_bytes(), Path::new("inline.md"))
}

fn run(md: &str, host: &mut Stub, opts: Options) -> runbook::exec::Summary {
    let procedure = Arc::new(Procedure::new(Arc::new(book(md)), 0, 0));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let (handle, mut cancel) = Cancel::new();
    if host.cancel_on_output.is_some() {
        host.cancel_on_output = Some(handle);
    }
    let setup = Setup {
        mode: opts.mode,
        options: opts,
        ..Setup::default()
    };
    let mut driver = Driver::new(procedure, Shell::from_current(), setup);
    rt.block_on(driver.run_through(0, host, &mut cancel))
}

const TWO_STEPS: &str = "# T\n\n## Scenario - S {#s}\n\n### Debug Steps\n\n\
1. One.\n\n   ```bash\n   echo \"ns=<namespace> token=<api-token>\"\n   ```\n\n\
2. Two.\n\n   ```bash\n   echo \"again <namespace>\"\n   ```\n";

#[test]
fn placeholders_are_asked_once_and_secrets_never_shown() {
    let mut host = Stub::default();
    host.answers
        .insert("namespace".into(), "kube-system".into());
    host.answers.insert("api-token".into(), "hunter22".into());
    let summary = run(TWO_STEPS, &mut host, Options::default());
    assert!(summary.success, "{}", host.all_text());
    assert_eq!(host.asked, ["namespace", "api-token"]);
    assert_eq!(
        host.output(),
        "ns=kube-system token=••••••\nagain kube-system\n"
    );
    assert!(!host.all_text().contains("hunter22"));
}

#[test]
fn unanswered_placeholder_blocks_the_step() {
    let mut host = Stub::default();
    let summary = run(TWO_STEPS, &mut host, Options::default());
    assert!(!summary.success);
    assert_eq!(host.verdicts()[0], Verdict::Blocked);
    assert!(host.all_text().contains("pass --var namespace=VALUE"));
}

const INTERACTIVE: &str = "# T\n\n## Scenario - S {#s}\n\n### Debug Steps\n\n\
1. Hand over the terminal.\n\n   ```bash interactive=true\n   echo handed-over >/dev/null\n   ```\n";

#[test]
fn interactive_commands_get_the_terminal() {
    let mut host = Stub::default();
    let opts = Options {
        terminal: true,
        ..Options::default()
    };
    let summary = run(INTERACTIVE, &mut host, opts);
    assert!(summary.success, "{}", host.all_text());
    assert_eq!(host.terminal.calls, ["suspend", "resume"]);
    // Without a terminal the step waits for the user instead.
    let mut host = Stub::default();
    let summary = run(INTERACTIVE, &mut host, Options::default());
    assert_eq!(host.verdicts(), [Verdict::Pending]);
    assert!(host.terminal.calls.is_empty());
    assert!(!summary.success);
}

const DESTRUCTIVE: &str = "# T\n\n## Scenario - S {#s}\n\n### Debug Steps\n\n\
1. Restart.\n\n   ```bash\n   kubectl() { echo \"would kubectl $*\"; }\n   kubectl delete pod x\n   ```\n";

#[test]
fn destructive_needs_confirmation() {
    let mut host = Stub::default();
    run(DESTRUCTIVE, &mut host, Options::default());
    assert_eq!(host.confirmations, 1);
    assert_eq!(host.verdicts(), [Verdict::Blocked]);
    assert_eq!(host.output(), "");

    let mut host = Stub {
        confirm: true,
        ..Stub::default()
    };
    run(DESTRUCTIVE, &mut host, Options::default());
    assert_eq!(host.verdicts(), [Verdict::Passed]);
    assert_eq!(host.output(), "would kubectl delete pod x\n");

    let mut host = Stub {
        confirm: true,
        ..Stub::default()
    };
    run(
        DESTRUCTIVE,
        &mut host,
        Options {
            mode: RunMode::ReadOnly,
            ..Options::default()
        },
    );
    assert_eq!(host.confirmations, 0, "read-only refuses before asking");
    assert_eq!(host.verdicts(), [Verdict::Blocked]);

    let mut host = Stub::default();
    run(
        DESTRUCTIVE,
        &mut host,
        Options {
            mode: RunMode::DryRun,
            ..Options::default()
        },
    );
    assert_eq!(host.verdicts(), [Verdict::DryRun]);
    assert_eq!(host.output(), "");
}

const LONG: &str = "# T\n\n## Scenario - S {#s}\n\n### Debug Steps\n\n\
1. Print then hang.\n\n   ```bash\n   echo started\n   sleep 600\n   ```\n\n\
2. Never.\n\n   ```bash\n   echo never\n   ```\n";

#[test]
fn cancel_stops_the_run() {
    let mut host = Stub {
        cancel_on_output: Some(Cancel::new().0),
        ..Stub::default()
    };
    let opts = Options {
        grace: Duration::from_millis(200),
        ..Options::default()
    };
    let summary = run(LONG, &mut host, opts);
    assert!(summary.cancelled);
    assert_eq!(host.verdicts(), [Verdict::Cancelled, Verdict::Skipped]);
}

const EMPTY_CAPTURE: &str = "# T\n\n## Scenario - S {#s}\n\n### Debug Steps\n\n\
1. Find nothing.\n\n   ```bash capture=POD\n   true\n   ```\n\n\
2. Would delete an empty name.\n\n   ```bash\n   echo \"pod=$POD\"\n   ```\n";

#[test]
fn an_empty_capture_fails_the_step() {
    let mut host = Stub::default();
    let summary = run(EMPTY_CAPTURE, &mut host, Options::default());
    assert!(!summary.success);
    assert_eq!(host.verdicts(), [Verdict::Failed, Verdict::Skipped]);
    assert!(
        host.all_text()
            .contains("capture=POD: the command printed nothing to keep")
    );
}

/// Reference sections (`### Examples` with prose and config only) reach the driver's procedure
/// as reference material, never as steps; a nested scenario is a procedure of its own.
#[test]
fn reference_sections_and_nested_scenarios_reach_the_procedure() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdx");
    let read = |name: &str| {
        let bytes = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{e}"));
        Arc::new(parse(&bytes, Path::new(name)))
    };
    let procedure = Procedure::new(read("reference-sections.md"), 0, 0);
    let numbers: Vec<&str> = procedure.steps.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "2"]);
    assert_eq!(procedure.plans.len(), 2);
    let titles: Vec<&str> = procedure
        .reference()
        .iter()
        .map(|r| r.title.as_str())
        .collect();
    assert_eq!(titles, ["Examples", "Background"]);

    let nested = read("nested-scenarios.md");
    assert!(nested.scenarios.len() >= 2, "{:?}", nested.scenarios);
    for (i, scenario) in nested.scenarios.iter().enumerate() {
        let procedure = Procedure::new(Arc::clone(&nested), i, 0);
        let steps: usize = scenario.procedures[0]
            .steps
            .iter()
            .map(|s| 1 + s.substeps.len())
            .sum();
        let intro = usize::from(procedure.steps.first().is_some_and(|s| s.number == "0"));
        assert_eq!(procedure.steps.len(), steps + intro, "{}", scenario.title);
        assert!(procedure.reference().is_empty());
    }
}
