//! The TUI's loop: terminal events, engine events and signals become [`Action`]s, `update`
//! turns them into state changes and [`Effect`]s, effects are carried out here, and the screen
//! is redrawn once per batch, at most [`FRAME`] apart.
//!
//! The loop never awaits a command: each step runs in its own task that reports through two
//! channels, one unbounded for the few control events and one bounded for output, which drops
//! (and counts) lines rather than grow when the screen cannot keep up. Interactive commands
//! get the terminal through [`TuiTerminal`]: the loop stops reading keys, leaves the alternate
//! screen and raw mode, and takes the terminal back when the command ends.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream, KeyCode, KeyEventKind, KeyModifiers, MouseEventKind,
};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::action::{Action, Command, Keymap};
use crate::cluster::health::{self, Health};
use crate::cluster::{Pinned, Workspace, pick};
use crate::exec::process::{Cancel, CancelHandle, Terminal};
use crate::exec::runner::{Event as EngineEvent, Host, Runner, Shell, StepRef};
use crate::runbook::placeholder::Placeholder;
use crate::runbook::{Catalog, PlaceholderDoc};
use crate::state::{self, Effect, Mode, RunRequest, State};
use crate::ui::{self, Theme};

/// Spinners and elapsed times move this often while something runs.
pub const TICK: Duration = Duration::from_millis(100);
/// At most this often a new frame.
pub const FRAME: Duration = Duration::from_nanos(1_000_000_000 / 30);
/// Output events buffered between the engine and the screen (each holds one read's lines).
const OUTPUT_QUEUE: usize = 64;
/// How long one batch of queued actions may take before the screen is drawn again.
const BATCH: Duration = Duration::from_millis(8);
/// How long quitting waits for a cancelled command to be gone.
const QUIT_GRACE: Duration = Duration::from_secs(8);

/// How the TUI starts.
#[derive(Debug, Default)]
pub struct Options {
    /// A scenario (or runbook) id to open instead of the catalog.
    pub target: Option<String>,
    pub paths: Vec<PathBuf>,
    pub theme: Theme,
    pub mode: Mode,
    pub keymap: Keymap,
    /// `--var name=value` values.
    pub vars: Vec<(String, String)>,
    /// Environment for the commands (e.g. a lab's `KUBECONFIG`), on top of ours.
    pub env: Vec<(String, String)>,
    /// Where the commands run (a lab's folder, with its helper scripts); ours by default.
    pub cwd: Option<PathBuf>,
    /// Shown in the status bar until the first key.
    pub notice: Option<String>,
    /// The kube context the commands use (pinned), if any.
    pub workspace: Option<Workspace>,
    /// How steps marked `target=nodes` reach the nodes.
    pub nodes: crate::exec::nodes::NodeOptions,
    /// The practice cluster's URL (`--lab`), recorded in sessions.
    pub lab_url: Option<String>,
}

/// Starts the runtime and runs the TUI until the user quits.
pub fn run(options: Options) -> color_eyre::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(App::start(options));
    crate::exec::process::cleanup();
    result
}

/// A request to hand the terminal to a command (`true`) or take it back (`false`).
struct TermRequest {
    suspend: bool,
    ack: std::sync::mpsc::SyncSender<()>,
}

struct App {
    state: State,
    theme: Theme,
    ctl_tx: mpsc::UnboundedSender<Action>,
    out_tx: mpsc::Sender<Action>,
    term_tx: mpsc::UnboundedSender<TermRequest>,
    cancel: Option<CancelHandle>,
    quit_deadline: Option<Instant>,
    workspace: Option<Workspace>,
    /// The pinned context, for the health probe.
    pinned_tx: tokio::sync::watch::Sender<Option<Pinned>>,
    /// The commands' environment on top of ours: `diagnose` uses its `KUBECONFIG` too.
    env: Vec<(String, String)>,
    /// The session of the open scenario, shared with the step threads that record into it.
    recording: Option<Recording>,
    lab_url: Option<String>,
    /// The terminal went away (SIGHUP): the session ends interrupted.
    hung_up: bool,
    /// The scenario last looked up for an unfinished session.
    offered: Option<(std::path::PathBuf, usize, usize)>,
}

/// Which scenario a session belongs to, and its recorder.
struct Recording {
    key: (std::path::PathBuf, usize, usize),
    recorder: Arc<std::sync::Mutex<crate::session::Recorder>>,
}

/// How often the status bar's health is asked again.
const HEALTH_EVERY: Duration = Duration::from_secs(30);

impl App {
    async fn start(options: Options) -> color_eyre::Result<()> {
        let catalog = crate::fetch::load_catalog(&options.paths, true);
        let runbooks = catalog.runbooks.into_iter().map(Arc::new).collect();
        let mut session = Shell::from_current();
        for (k, v) in &options.env {
            session.env.insert(k.into(), v.into());
        }
        if let Some(cwd) = &options.cwd {
            session.cwd.clone_from(cwd);
        }
        for (name, value) in &options.vars {
            session
                .vars
                .set(name, value.clone(), crate::exec::vars::Origin::Cli);
        }
        let mut state = State::new(runbooks, options.keymap, session);
        state.mode = options.mode;
        state.nodes = options.nodes.clone();
        if !catalog.errors.is_empty() {
            state.message = Some(format!(
                "{} runbook file(s) could not be loaded: runbook lint shows why",
                catalog.errors.len()
            ));
        }
        if let Some(target) = &options.target
            && !state.open(target)
        {
            color_eyre::eyre::bail!(
                "no scenario or runbook `{target}`; `runbook list` shows the ids"
            );
        }
        if options.notice.is_some() {
            state.message = options.notice;
        }
        let (ctl_tx, ctl_rx) = mpsc::unbounded_channel();
        let (out_tx, out_rx) = mpsc::channel(OUTPUT_QUEUE);
        let (term_tx, term_rx) = mpsc::unbounded_channel();
        let (pinned_tx, pinned_rx) = tokio::sync::watch::channel(None);
        spawn_health(ctl_tx.clone(), pinned_rx);
        let mut app = Self {
            state,
            theme: options.theme,
            ctl_tx,
            out_tx,
            term_tx,
            cancel: None,
            quit_deadline: None,
            workspace: options.workspace,
            pinned_tx,
            env: options.env.clone(),
            recording: None,
            lab_url: options.lab_url,
            hung_up: false,
            offered: None,
        };
        app.state.contexts = app
            .workspace
            .as_ref()
            .map(Workspace::contexts)
            .unwrap_or_default();
        app.context_changed();
        let result = app.run(ctl_rx, out_rx, term_rx).await;
        app.end_recording();
        result
    }

    /// The recorder of the open scenario, started (and the previous one paused) when the
    /// scenario changed. `None` when sessions cannot be written (reported once).
    fn recorder(&mut self) -> Option<Arc<std::sync::Mutex<crate::session::Recorder>>> {
        let view = self.state.scenario.as_ref()?;
        let key = (view.runbook.path.clone(), view.scenario, view.procedure);
        if let Some(r) = &self.recording
            && r.key == key
        {
            return Some(r.recorder.clone());
        }
        let record = self.new_record(view)?;
        self.end_recording();
        let root = crate::session::sessions_dir()?;
        let recorder = crate::session::Store::create(&root, &record.id)
            .and_then(|store| crate::session::Recorder::create(store, record));
        match recorder {
            Ok(r) => {
                let recorder = Arc::new(std::sync::Mutex::new(r));
                self.recording = Some(Recording {
                    key,
                    recorder: recorder.clone(),
                });
                Some(recorder)
            }
            Err(e) => {
                self.state.message = Some(format!("not recording a session: {e}"));
                None
            }
        }
    }

    /// A fresh session record for the open scenario: its steps, context and mode.
    fn new_record(
        &self,
        view: &crate::state::ScenarioView,
    ) -> Option<crate::session::SessionRecord> {
        let scenario = view.runbook.scenarios.get(view.scenario)?;
        let mode = match self.state.mode {
            Mode::Confirm => "confirm",
            Mode::ReadOnly => "read-only",
            Mode::DryRun => "dry-run",
        };
        let mut record = crate::session::SessionRecord::new(&scenario.id, &view.runbook.path, mode);
        record.scenario_title.clone_from(&scenario.title);
        record.procedure = scenario
            .procedures
            .get(view.procedure)
            .map(|p| p.title.clone());
        let kubeconfig = self.commands_kubeconfig();
        record.context = crate::session::current_context_of(kubeconfig.as_deref());
        record.lab.clone_from(&self.lab_url);
        for (i, item) in view.items.iter().enumerate() {
            let title = item.step.text.lines().next().unwrap_or_default();
            record.step_mut(i, &item.number, title);
        }
        Some(record)
    }

    /// The kubeconfig the commands use: the pinned context's, else the environment's.
    fn commands_kubeconfig(&self) -> Option<PathBuf> {
        self.workspace
            .as_ref()
            .and_then(Workspace::pinned)
            .map(|p| p.path.clone())
            .or_else(|| {
                self.env
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "KUBECONFIG")
                    .map(|(_, v)| PathBuf::from(v))
            })
    }

    /// A scenario was just opened: an unfinished session of it on this context is offered.
    fn offer_resume(&mut self) {
        let Some(view) = &self.state.scenario else {
            self.offered = None;
            return;
        };
        let key = (view.runbook.path.clone(), view.scenario, view.procedure);
        if self.offered.as_ref() == Some(&key)
            || self.recording.as_ref().is_some_and(|r| r.key == key)
        {
            return;
        }
        self.offered = Some(key);
        let Some(scenario) = view.runbook.scenarios.get(view.scenario) else {
            return;
        };
        let Some(root) = crate::session::sessions_dir() else {
            return;
        };
        let context = self.state.context.context.as_deref();
        if let Some((_, record)) =
            crate::session::store::latest_unfinished(&root, &scenario.id, context)
        {
            let (done, total) = record.progress();
            let updated = record.updated.format("%Y-%m-%d %H:%M UTC").to_string();
            self.apply(Action::Resumable(state::Resumable {
                id: record.id,
                done,
                total,
                updated,
            }));
        }
    }

    /// Continues session `id`: it records from here on, and its steps come back.
    fn resume(&mut self, id: &str) {
        let Some(root) = crate::session::sessions_dir() else {
            return;
        };
        let Some(view) = &self.state.scenario else {
            return;
        };
        let key = (view.runbook.path.clone(), view.scenario, view.procedure);
        let (store, record) = match crate::session::store::find(&root, id) {
            Ok(found) => found,
            Err(e) => {
                self.state.message = Some(format!("cannot resume: {e}"));
                return;
            }
        };
        let steps = record
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| state::RestoredStep {
                index,
                status: restored_status(step),
                output: store
                    .output_tail(step, 64 * 1024)
                    .map(|t| t.lines().map(str::to_owned).collect())
                    .unwrap_or_default(),
                note: step.notes.clone(),
            })
            .collect();
        let vars = record
            .vars
            .iter()
            .filter(|(_, v)| !v.secret)
            .filter_map(|(name, v)| Some((name.clone(), v.value.clone()?)))
            .collect();
        self.end_recording();
        let recorder = crate::session::Recorder::resume(store, record);
        self.recording = Some(Recording {
            key,
            recorder: Arc::new(std::sync::Mutex::new(recorder)),
        });
        self.apply(Action::Restored { steps, vars });
    }

    /// `R`: the open session's report, redacted, into its folder and onto the clipboard.
    fn write_report(&mut self) {
        let Some(r) = &self.recording else {
            self.state.message = Some("no session yet: run a step first".to_owned());
            return;
        };
        let Ok(recorder) = r.recorder.lock() else {
            return;
        };
        let secrets: Vec<String> = self
            .state
            .shell
            .as_ref()
            .map(|s| {
                s.vars
                    .iter()
                    .filter(|(_, v)| v.secret)
                    .map(|(_, v)| v.value.clone())
                    .collect()
            })
            .unwrap_or_default();
        let redactor = crate::session::report::redactor(&secrets);
        let md =
            crate::session::report::markdown(recorder.store(), recorder.record_ref(), &redactor);
        let path = recorder.store().dir().join("report.md");
        drop(recorder);
        self.state.message = Some(
            match crate::session::store::write_atomic(&path, md.as_bytes()) {
                Ok(()) => {
                    copy_osc52(&md);
                    format!("report written to {} and copied", path.display())
                }
                Err(e) => format!("cannot write the report: {e}"),
            },
        );
    }

    /// Saves the open session for the last time: interrupted when the terminal went away
    /// (or a step was still running), else left to be resumed or finished.
    fn end_recording(&mut self) {
        if let Some(r) = self.recording.take()
            && let Ok(mut recorder) = r.recorder.lock()
        {
            let running = recorder
                .record_ref()
                .steps
                .iter()
                .any(|s| s.state == crate::session::StepState::Running);
            if self.hung_up || running {
                recorder.interrupt();
            } else {
                recorder.pause();
            }
        }
    }

    async fn run(
        &mut self,
        mut ctl_rx: mpsc::UnboundedReceiver<Action>,
        mut out_rx: mpsc::Receiver<Action>,
        mut term_rx: mpsc::UnboundedReceiver<TermRequest>,
    ) -> color_eyre::Result<()> {
        let mut terminal = enter()?;
        let mut events = Some(EventStream::new());
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
        let started = Instant::now();
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut dirty = true;
        let mut last_draw = Instant::now()
            .checked_sub(FRAME)
            .unwrap_or_else(Instant::now);
        let size = terminal.size()?;
        self.state.size = (size.width, size.height);

        loop {
            if dirty && events.is_some() && last_draw.elapsed() >= FRAME {
                let mut clicks = None;
                terminal.draw(|f| clicks = ui::draw(f, &self.state, self.theme))?;
                self.state.checklist_area = clicks;
                last_draw = Instant::now();
                dirty = false;
            }
            if self.state.should_quit && self.state.running().is_none() {
                break;
            }
            if self.quit_deadline.is_some_and(|d| Instant::now() > d) {
                break;
            }
            let next_frame = tokio::time::Instant::from_std(last_draw + FRAME);
            let action = tokio::select! {
                // In this order: keys and signals first, output last, so that the screen
                // answers the user and keeps drawing while output floods in.
                biased;
                Some(event) = next_event(&mut events) => match event {
                    Ok(event) => self.translate(&event),
                    Err(_) => Some(Action::Terminate),
                },
                _ = hangup.recv() => {
                    self.hung_up = true;
                    Some(Action::Terminate)
                }
                _ = terminate.recv() => Some(Action::Terminate),
                Some(request) = term_rx.recv() => {
                    if request.suspend {
                        events = None;
                        leave();
                    } else {
                        terminal = enter()?;
                        terminal.clear()?;
                        events = Some(EventStream::new());
                        dirty = true;
                    }
                    let _ = request.ack.send(());
                    None
                }
                Some(action) = ctl_rx.recv() => Some(action),
                _ = tick.tick(), if self.state.running().is_some() || self.state.should_quit => {
                    Some(Action::Tick(started.elapsed()))
                }
                () = tokio::time::sleep_until(next_frame), if dirty => None,
                Some(action) = out_rx.recv() => Some(action),
            };
            if let Some(action) = action {
                self.apply(action);
                dirty = true;
                // Take what else is already waiting before drawing again, for a bounded time.
                let batch = Instant::now();
                while batch.elapsed() < BATCH {
                    let Ok(more) = ctl_rx.try_recv().or_else(|_| out_rx.try_recv()) else {
                        break;
                    };
                    self.apply(more);
                }
            }
        }
        leave();
        Ok(())
    }

    fn translate(&self, event: &Event) -> Option<Action> {
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => {
                if state::typing(&self.state) {
                    match key.code {
                        KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                            Some(Action::Command(Command::Back))
                        }
                        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
                            Some(Action::Input(c))
                        }
                        KeyCode::Backspace => Some(Action::Backspace),
                        KeyCode::Enter => Some(Action::Command(Command::Enter)),
                        KeyCode::Esc => Some(Action::Command(Command::Back)),
                        KeyCode::Up => Some(Action::Command(Command::Up)),
                        KeyCode::Down => Some(Action::Command(Command::Down)),
                        _ => None,
                    }
                } else {
                    self.state.keymap.command(key).map(Action::Command)
                }
            }
            Event::Paste(text) => Some(Action::Paste(text.clone())),
            Event::Mouse(m) => match m.kind {
                MouseEventKind::ScrollUp => Some(Action::Scroll(-3)),
                MouseEventKind::ScrollDown => Some(Action::Scroll(3)),
                MouseEventKind::Down(_) => Some(Action::Click(m.column, m.row)),
                _ => None,
            },
            Event::Resize(w, h) => Some(Action::Resize(*w, *h)),
            _ => None,
        }
    }

    fn apply(&mut self, action: Action) {
        if matches!(action, Action::Command(Command::Report)) && !state::typing(&self.state) {
            self.write_report();
            return;
        }
        if let Action::RunEnded(_, session) = &action
            && let Some(r) = &self.recording
            && let Ok(mut recorder) = r.recorder.lock()
        {
            recorder.set_vars(&session.vars);
        }
        let effects = state::update(&mut self.state, action);
        self.offer_resume();
        for effect in effects {
            match effect {
                Effect::Resume(id) => self.resume(&id),
                Effect::Note { step, text } => {
                    if let Some(recorder) = self.recorder()
                        && let Ok(mut r) = recorder.lock()
                    {
                        r.set_note(step, &text);
                    }
                }
                Effect::Run { index, run } => self.spawn_step(index, *run),
                Effect::Cancel => {
                    if let Some(c) = &self.cancel {
                        c.cancel();
                    }
                    if self.state.should_quit {
                        self.quit_deadline
                            .get_or_insert(Instant::now() + QUIT_GRACE);
                    }
                }
                Effect::Copy(text) => copy_osc52(&text),
                Effect::SwitchContext { context, namespace } => {
                    let switched = self
                        .workspace
                        .as_mut()
                        .map(|w| w.switch(&context, namespace.as_deref()));
                    match switched {
                        Some(Ok(())) => self.context_changed(),
                        Some(Err(e)) => self.state.message = Some(e.to_string()),
                        None => {}
                    }
                }
                Effect::ListChoices {
                    token,
                    spec,
                    namespace,
                } => {
                    let pinned = self.workspace.as_ref().and_then(Workspace::pinned).cloned();
                    let tx = self.ctl_tx.clone();
                    tokio::spawn(async move {
                        let result = match pinned {
                            None => Err("no kube context".to_owned()),
                            Some(p) => match p.client().await {
                                Ok(client) => {
                                    let listing = pick::list(&client, &spec, namespace.as_deref());
                                    tokio::time::timeout(crate::cluster::READ_TIMEOUT, listing)
                                        .await
                                        .unwrap_or_else(|_| Err("the list timed out".to_owned()))
                                }
                                Err(e) => Err(e),
                            },
                        };
                        let _ = tx.send(Action::Choices { token, result });
                    });
                }
                Effect::Diagnose => self.spawn_diagnose(),
                Effect::Quit => {
                    self.quit_deadline
                        .get_or_insert(Instant::now() + QUIT_GRACE);
                }
            }
        }
    }

    /// After a (re)pin: commands get the new `KUBECONFIG`, the status bar the new context,
    /// and the health probe starts over.
    fn context_changed(&mut self) {
        let Some(ws) = &self.workspace else {
            return;
        };
        let info = match ws.pinned() {
            Some(p) => {
                if let (Some(session), (k, v)) = (&mut self.state.shell, p.env()) {
                    session.env.insert(k.into(), v.into());
                }
                state::ContextInfo {
                    context: Some(p.entry.name.clone()),
                    namespace: Some(p.namespace.clone()),
                    server: Some(p.entry.server.clone()),
                    health: Health::Unknown,
                    guard: ws.guard(),
                    detail: String::new(),
                }
            }
            None => state::ContextInfo {
                detail: ws.problem.clone().unwrap_or_default(),
                ..state::ContextInfo::default()
            },
        };
        self.state.contexts = ws.contexts();
        let _ = self.pinned_tx.send(ws.pinned().cloned());
        self.apply(Action::Cluster(Box::new(info)));
    }

    /// Runs `diagnose` on the loop's runtime against the cluster the commands use (the
    /// `KUBECONFIG` of their environment, e.g. the lab's), reporting `Diagnosed`.
    fn spawn_diagnose(&self) {
        let catalog = Catalog {
            runbooks: self
                .state
                .catalog
                .runbooks
                .iter()
                .map(|r| (**r).clone())
                .collect(),
            errors: Vec::new(),
        };
        let kubeconfig = self.commands_kubeconfig();
        let tx = self.ctl_tx.clone();
        tokio::spawn(async move {
            let outcome = async {
                let (client, url) = crate::diagnose::client(kubeconfig.as_deref(), None)
                    .await
                    .map_err(|e| e.to_string())?;
                crate::diagnose::diagnose(&client, &catalog, crate::diagnose::Options::default())
                    .await
                    .map_err(|e| format!("{e} ({url})"))
            }
            .await;
            let _ = tx.send(Action::Diagnosed(Box::new(outcome)));
        });
    }

    fn spawn_step(&mut self, index: usize, run: RunRequest) {
        let (handle, cancel) = Cancel::new();
        self.cancel = Some(handle);
        let ctl = self.ctl_tx.clone();
        let recorder = self.recorder();
        let mut host = TuiHost {
            index,
            recorder,
            ctl: self.ctl_tx.clone(),
            out: self.out_tx.clone(),
            dropped: 0,
            terminal: TuiTerminal {
                requests: self.term_tx.clone(),
            },
        };
        // The engine's future borrows its host and is not `Send`: each step gets a thread
        // with a runtime of its own, which also lets it block while the terminal is lent.
        let spawned = std::thread::Builder::new()
            .name(format!("step-{index}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let RunRequest {
                    number,
                    step,
                    shell: session,
                    options,
                    docs,
                } = run;
                let session = match runtime {
                    Ok(runtime) => runtime.block_on(async {
                        let mut runner = Runner::new(options, session, &mut host, cancel);
                        runner.docs = docs;
                        runner
                            .run(&[StepRef {
                                number,
                                step: &step,
                            }])
                            .await;
                        std::mem::replace(&mut runner.shell, Shell::from_current())
                    }),
                    Err(e) => {
                        let _ = host.ctl.send(Action::Engine(
                            index,
                            Box::new(EngineEvent::Notice {
                                step: 0,
                                text: format!("cannot start the step: {e}"),
                            }),
                        ));
                        session
                    }
                };
                host.flush_dropped();
                let _ = ctl.send(Action::RunEnded(index, Box::new(session)));
            });
        if let Err(e) = spawned {
            self.state.message = Some(format!("cannot start the step: {e}"));
        }
    }
}

async fn next_event(events: &mut Option<EventStream>) -> Option<std::io::Result<Event>> {
    match events {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}

type Term = ratatui::DefaultTerminal;

/// Alternate screen, raw mode, mouse and bracketed paste; the panic hook restores them.
fn enter() -> std::io::Result<Term> {
    let terminal = ratatui::init();
    crossterm::execute!(std::io::stdout(), EnableMouseCapture, EnableBracketedPaste)?;
    Ok(terminal)
}

/// Gives the terminal back as it was.
fn leave() {
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste
    );
    ratatui::restore();
}

/// OSC 52: the terminal (even at the far end of SSH and tmux) puts the text on the clipboard.
fn copy_osc52(text: &str) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = write!(out, "\u{1b}]52;c;{encoded}\u{7}");
    let _ = out.flush();
}

/// How a recorded step shows again: interrupted is never passed.
fn restored_status(step: &crate::session::store::StepRecord) -> state::Status {
    use crate::exec::runner::Verdict;
    use crate::session::StepState;
    match (step.state, step.verdict) {
        (StepState::Pending, _) => state::Status::Pending,
        (StepState::Running | StepState::Interrupted, _)
        | (StepState::Done, Some(Verdict::Cancelled)) => state::Status::Cancelled,
        (StepState::Done, Some(Verdict::Passed)) => state::Status::Passed,
        (StepState::Done, Some(Verdict::Skipped)) => state::Status::Skipped,
        (StepState::Done, Some(Verdict::Blocked)) => state::Status::Blocked,
        (StepState::Done, Some(Verdict::Manual)) => state::Status::Done,
        (StepState::Done, Some(Verdict::Pending | Verdict::DryRun) | None) => {
            state::Status::Pending
        }
        (StepState::Done, Some(Verdict::Failed)) => state::Status::Failed,
    }
}

/// Asks the pinned cluster for its health now, then every [`HEALTH_EVERY`], and again at once
/// when another context is pinned.
fn spawn_health(
    tx: mpsc::UnboundedSender<Action>,
    mut pinned: tokio::sync::watch::Receiver<Option<Pinned>>,
) {
    tokio::spawn(async move {
        // Who we are does not change while the context stays: asked once per context.
        let mut known: Option<(String, String)> = None;
        loop {
            let current = pinned.borrow_and_update().clone();
            if let Some(p) = current {
                let identity = known
                    .as_ref()
                    .filter(|(context, _)| *context == p.entry.name)
                    .map(|(_, who)| who.clone());
                let result = tokio::select! {
                    h = health::probe(&p, identity, health::PROBE_BOUND) => Some(h),
                    _ = pinned.changed() => None,
                };
                let Some(h) = result else { continue };
                if let Health::Up {
                    identity: Some(who),
                    ..
                } = &h
                {
                    known = Some((p.entry.name.clone(), who.clone()));
                }
                if tx
                    .send(Action::Health {
                        context: p.entry.name.clone(),
                        health: h,
                    })
                    .is_err()
                {
                    return;
                }
            }
            tokio::select! {
                () = tokio::time::sleep(HEALTH_EVERY) => {}
                changed = pinned.changed() => if changed.is_err() { return },
            }
        }
    });
}

/// The engine's view of the TUI.
struct TuiHost {
    index: usize,
    /// Every event is recorded here first (output included, even what the screen drops).
    recorder: Option<Arc<std::sync::Mutex<crate::session::Recorder>>>,
    ctl: mpsc::UnboundedSender<Action>,
    out: mpsc::Sender<Action>,
    /// Output lines the screen had no room for since the last report.
    dropped: u64,
    terminal: TuiTerminal,
}

impl TuiHost {
    fn flush_dropped(&mut self) {
        if self.dropped > 0 {
            let _ = self
                .ctl
                .send(Action::OutputDropped(self.index, self.dropped));
            self.dropped = 0;
        }
    }
}

impl Host for TuiHost {
    fn emit(&mut self, event: EngineEvent) {
        if let Some(r) = &self.recorder
            && let Ok(mut recorder) = r.lock()
        {
            recorder.record(self.index, &event);
        }
        match event {
            EngineEvent::Output { .. } | EngineEvent::Progress { .. } => {
                match self
                    .out
                    .try_send(Action::Engine(self.index, Box::new(event)))
                {
                    Ok(()) if self.dropped > 0 => self.flush_dropped(),
                    Ok(()) => {}
                    // Lines are counted only when the screen had no room (a flood's hot path).
                    Err(full) => {
                        if let Action::Engine(_, dropped) = full.into_inner()
                            && let EngineEvent::Output { text, .. }
                            | EngineEvent::Progress { text, .. } = *dropped
                        {
                            let lines = memchr::memchr_iter(b'\n', text.as_bytes()).count();
                            self.dropped += lines.max(1) as u64;
                        }
                    }
                }
            }
            other => {
                self.flush_dropped();
                let _ = self.ctl.send(Action::Engine(self.index, Box::new(other)));
            }
        }
    }

    /// Values are asked for before the step starts; anything else is missing.
    fn prompt(
        &mut self,
        _placeholder: &Placeholder,
        _doc: Option<&PlaceholderDoc>,
    ) -> Option<String> {
        None
    }

    /// Confirmation happens in a dialog before the step starts.
    fn confirm(&mut self, _command: &str, _reasons: &[String]) -> bool {
        false
    }

    fn terminal(&mut self) -> &mut dyn Terminal {
        &mut self.terminal
    }
}

/// Lends the real terminal to an interactive command by asking the loop to step aside.
struct TuiTerminal {
    requests: mpsc::UnboundedSender<TermRequest>,
}

impl TuiTerminal {
    fn ask(&self, suspend: bool) -> std::io::Result<()> {
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        self.requests
            .send(TermRequest { suspend, ack })
            .map_err(|_| std::io::Error::other("the screen is gone"))?;
        done.recv()
            .map_err(|_| std::io::Error::other("the screen is gone"))
    }
}

impl Terminal for TuiTerminal {
    fn suspend(&mut self) -> std::io::Result<()> {
        self.ask(true)
    }

    fn resume(&mut self) -> std::io::Result<()> {
        self.ask(false)
    }
}
