//! The TUI's loop: terminal events, engine events, job answers and signals become
//! [`Action`]s, [`state::update`] turns them into state changes and [`Effect`]s, effects are
//! carried out here, and the screen is redrawn once per batch, at most [`FRAME`] apart.
//!
//! `update` is the only place that changes [`State`]; this file owns what the state must not:
//! the terminal, the channels, and the scenarios' [`Driver`]s (the same driver `runbook run`
//! uses, one per scenario opened in this run). A step runs on a thread of its own with its
//! driver moved there, and the driver comes home as a [`Message`] when the step ends; the
//! loop never awaits a command or a file.
//!
//! - [`host`]: the engine's view of the TUI (events into actions, the terminal lent to
//!   interactive commands).
//! - [`jobs`]: background work (health, pickers, diagnose, sessions, reports).
//! - [`Headless`]: the same app without a terminal, driven by actions, for tests.

mod editor;
mod host;
mod jobs;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use crossterm::event::{
    DisableBracketedPaste, DisableMouseCapture, EnableBracketedPaste, EnableMouseCapture, Event,
    EventStream, KeyCode, KeyEventKind, KeyModifiers, MouseEventKind,
};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::action::{Action, Command, ContextInfo, Keymap};
use crate::cluster::health::Health;
use crate::cluster::{Pinned, Workspace};
use crate::drive::{Driver, Ending, Procedure, Recording, Setup};
use crate::exec::process::{Cancel, CancelHandle};
use crate::exec::runner::{Options as RunOptions, RunMode, Shell};
use crate::state::{self, Effect, State};
use crate::ui::{self, Theme};
use host::{TermRequest, TuiHost, TuiTerminal};
pub use jobs::{Message, SharedLab};

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
    /// The catalog holds only the runbooks of `paths` (`runbook ./my-runbook.md`).
    pub only_paths: bool,
    pub theme: Theme,
    pub mode: RunMode,
    /// Set by the command line (`--read-only`): `m` cannot change the mode; says which flag.
    pub mode_lock: Option<String>,
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
    /// Where sessions are recorded (`None`: not at all).
    pub recording: Option<Recording>,
    /// The practice cluster the commands run against (`--lab`): its instructions are shown
    /// with its scenario, and a job announces when it is fixed.
    pub lab: Option<SharedLab>,
}

/// Starts the runtime and runs the TUI until the user quits.
pub fn run(options: Options) -> color_eyre::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let result = runtime.block_on(async {
        let (mut app, channels) = App::new(options)?;
        let result = app.run(channels).await;
        app.end().await;
        result
    });
    crate::exec::process::cleanup();
    result
}

/// The receiving ends of the loop's channels.
struct Channels {
    ctl: mpsc::UnboundedReceiver<Action>,
    out: mpsc::Receiver<Action>,
    term: mpsc::UnboundedReceiver<TermRequest>,
    messages: mpsc::UnboundedReceiver<Message>,
}

struct App {
    state: State,
    theme: Theme,
    ctl_tx: mpsc::UnboundedSender<Action>,
    out_tx: mpsc::Sender<Action>,
    term_tx: mpsc::UnboundedSender<TermRequest>,
    msg_tx: mpsc::UnboundedSender<Message>,
    cancel: Option<CancelHandle>,
    quit_deadline: Option<Instant>,
    workspace: Option<Workspace>,
    /// A Palette cluster's kubeconfig pinned from the clusters view (its file lives as long as
    /// this does).
    palette_pin: Option<crate::palette::pin::Fetched>,
    /// The pinned context, for the health probe.
    pinned_tx: tokio::sync::watch::Sender<Option<Pinned>>,
    /// The commands' environment on top of ours: `diagnose` uses its `KUBECONFIG` too.
    env: Vec<(String, String)>,
    /// How new drivers are set up (options, recording); the mode comes from the state.
    setup: Setup,
    /// The shell when no scenario is open; else the open scenario's driver holds it.
    shell: Option<Shell>,
    /// The drivers of the scenarios opened in this run, at home (not running a step).
    drivers: Vec<Driver>,
    /// The open scenario's procedure.
    active: Option<(PathBuf, usize, usize)>,
    /// A step runs: its driver is away on the step's thread.
    away: bool,
    /// Effects that need the driver while it is away, carried out when it is home.
    waiting: Vec<Effect>,
    /// The terminal went away (SIGHUP): the session ends interrupted.
    hung_up: bool,
}

impl App {
    fn new(options: Options) -> color_eyre::Result<(Self, Channels)> {
        let catalog = if options.only_paths {
            crate::runbook::Catalog::load(&options.paths, false)
        } else {
            crate::target::load_catalog(&options.paths, true)
        };
        let runbooks = catalog.runbooks.into_iter().map(Arc::new).collect();
        let mut shell = Shell::from_current();
        for (k, v) in &options.env {
            shell.env.insert(k.into(), v.into());
        }
        if let Some(cwd) = &options.cwd {
            shell.cwd.clone_from(cwd);
        }
        for (name, value) in &options.vars {
            shell
                .vars
                .set(name, value.clone(), crate::exec::vars::Origin::Cli);
        }
        let mut state = State::new(runbooks, options.keymap, shell.vars.clone());
        state.mode = options.mode;
        state.mode_lock.clone_from(&options.mode_lock);
        state.nodes = options.nodes.clone();
        if !catalog.errors.is_empty() {
            state.message = Some(format!(
                "{} runbook file(s) could not be loaded: runbook lint shows why",
                catalog.errors.len()
            ));
        }
        // Before the target opens: the lab's scenario shows its instructions.
        state.lab = options
            .lab
            .as_ref()
            .map(|lab| crate::state::lab::LabInfo::of(&lab.0));
        let opened = match &options.target {
            Some(target) => Some(state.open(target).ok_or_else(|| {
                color_eyre::eyre::eyre!(
                    "no scenario or runbook `{target}`; `runbook list` shows the ids"
                )
            })?),
            None => None,
        };
        if options.notice.is_some() {
            state.message = options.notice;
        }
        let (ctl_tx, ctl) = mpsc::unbounded_channel();
        let (out_tx, out) = mpsc::channel(OUTPUT_QUEUE);
        let (term_tx, term) = mpsc::unbounded_channel();
        let (msg_tx, messages) = mpsc::unbounded_channel();
        let (pinned_tx, pinned_rx) = tokio::sync::watch::channel(None);
        jobs::spawn_health(ctl_tx.clone(), pinned_rx);
        if let Some(lab) = &options.lab {
            jobs::spawn_lab_watch(ctl_tx.clone(), lab.clone());
        }
        let setup = Setup {
            options: RunOptions {
                terminal: true,
                nodes: options.nodes,
                ..RunOptions::default()
            },
            mode: options.mode,
            recording: options.recording,
            confirm_origin: true,
            ..Setup::default()
        };
        let mut app = Self {
            state,
            theme: options.theme,
            ctl_tx,
            out_tx,
            term_tx,
            msg_tx,
            cancel: None,
            quit_deadline: None,
            workspace: options.workspace,
            palette_pin: None,
            pinned_tx,
            env: options.env,
            setup,
            shell: Some(shell),
            drivers: Vec::new(),
            active: None,
            away: false,
            waiting: Vec::new(),
            hung_up: false,
        };
        app.context_changed();
        if let Some(effect) = opened {
            app.effect(effect);
        }
        let channels = Channels {
            ctl,
            out,
            term,
            messages,
        };
        Ok((app, channels))
    }

    async fn run(&mut self, mut ch: Channels) -> color_eyre::Result<()> {
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
        self.apply(Action::Resize(size.width, size.height));

        loop {
            if dirty && events.is_some() && last_draw.elapsed() >= FRAME {
                let mut clicks = None;
                let drawn = terminal.draw(|f| clicks = ui::draw(f, &self.state, self.theme));
                last_draw = Instant::now();
                dirty = false;
                if drawn.is_err() {
                    // The terminal is gone (a dropped link): end as a hang-up does.
                    self.hung_up = true;
                    events = None;
                    self.apply(Action::Terminate);
                    continue;
                }
                self.apply(Action::Layout(clicks));
            }
            if self.state.should_quit && !self.away {
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
                Some(event) = next_event(&mut events) => if let Ok(event) = event {
                    self.translate(&event)
                } else {
                    self.hung_up = true;
                    events = None;
                    Some(Action::Terminate)
                },
                _ = hangup.recv() => {
                    self.hung_up = true;
                    Some(Action::Terminate)
                }
                _ = terminate.recv() => Some(Action::Terminate),
                Some(request) = ch.term.recv() => {
                    if request.suspend {
                        events = None;
                        leave();
                    } else {
                        terminal = enter()?;
                        let _ = terminal.clear();
                        events = Some(EventStream::new());
                        dirty = true;
                    }
                    let _ = request.ack.send(());
                    None
                }
                Some(message) = ch.messages.recv() => {
                    self.message(message);
                    dirty = true;
                    None
                }
                Some(action) = ch.ctl.recv() => Some(action),
                _ = tick.tick(), if self.state.running().is_some() || self.state.should_quit => {
                    Some(Action::Tick(started.elapsed()))
                }
                () = tokio::time::sleep_until(next_frame), if dirty => None,
                Some(action) = ch.out.recv() => Some(action),
            };
            if let Some(action) = action {
                self.apply(action);
                dirty = true;
                // Take what else is already waiting before drawing again, for a bounded time.
                let batch = Instant::now();
                while batch.elapsed() < BATCH {
                    let Ok(more) = ch.ctl.try_recv().or_else(|_| ch.out.try_recv()) else {
                        break;
                    };
                    self.apply(more);
                }
            }
        }
        leave();
        if self.hung_up {
            // Dropping the terminal would try to show the cursor on a terminal that is gone,
            // and report the failure on a stderr that is gone too.
            std::mem::forget(terminal);
        }
        self.wait_home(&mut ch.messages).await;
        Ok(())
    }

    /// After the loop: a step still running is cancelled and its driver awaited (bounded), so
    /// that its session is closed too.
    async fn wait_home(&mut self, messages: &mut mpsc::UnboundedReceiver<Message>) {
        if !self.away {
            return;
        }
        if let Some(c) = &self.cancel {
            c.cancel();
        }
        let deadline = tokio::time::Instant::now() + QUIT_GRACE;
        while self.away {
            match tokio::time::timeout_at(deadline, messages.recv()).await {
                Ok(Some(message)) => self.message(message),
                Ok(None) | Err(_) => break,
            }
        }
    }

    /// Closes every session of this run: interrupted when the terminal went away, else left
    /// to be resumed or finished.
    async fn end(&mut self) {
        let ending = if self.hung_up {
            Ending::Interrupted
        } else {
            Ending::Paused
        };
        let drivers = std::mem::take(&mut self.drivers);
        let _ = tokio::task::spawn_blocking(move || {
            for mut d in drivers {
                d.finish(ending);
            }
        })
        .await;
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
                        // The editor line's cursor (`e`).
                        KeyCode::Left => Some(Action::Command(Command::NodesLeft)),
                        KeyCode::Right => Some(Action::Command(Command::NodesRight)),
                        KeyCode::Home => Some(Action::Command(Command::Top)),
                        KeyCode::End => Some(Action::Command(Command::Bottom)),
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

    /// The one way the state changes: `update`, then its effects.
    fn apply(&mut self, action: Action) {
        for effect in state::update(&mut self.state, action) {
            self.effect(effect);
        }
    }

    fn effect(&mut self, effect: Effect) {
        let needs_driver = matches!(
            effect,
            Effect::Preflight(_)
                | Effect::Choose { .. }
                | Effect::SetValue { .. }
                | Effect::ClearValue(_)
                | Effect::Run { .. }
                | Effect::Mark { .. }
                | Effect::Note { .. }
                | Effect::WriteReport
                | Effect::Open(_)
                | Effect::SwitchContext { .. }
                | Effect::Edit { .. }
        );
        if needs_driver && self.away {
            self.waiting.push(effect);
            return;
        }
        match effect {
            Effect::Open(flow) => self.activate(flow),
            Effect::Preflight(index) => {
                if let Some(d) = self.driver() {
                    let needs = d.preflight(index);
                    self.apply(Action::Needs(Box::new(needs)));
                }
            }
            Effect::SetValue {
                name,
                value,
                secret,
            } => {
                if let Some(d) = self.driver_mut() {
                    d.set_value(&name, value, secret);
                }
            }
            Effect::ClearValue(name) => {
                if let Some(d) = self.driver_mut() {
                    d.clear_value(&name);
                }
            }
            Effect::Choose { step, block } => {
                if let Some(d) = self.driver_mut() {
                    d.choose(step, block);
                }
            }
            Effect::Edit { step, block, code } => {
                if let Some(d) = self.driver_mut() {
                    d.edit(step, block, code.as_deref());
                }
            }
            Effect::EditExternal { step, block, text } => {
                let terminal = TuiTerminal {
                    requests: self.term_tx.clone(),
                };
                editor::spawn(self.ctl_tx.clone(), terminal, step, block, text);
            }
            Effect::Run { index, confirmed } => self.spawn_step(index, confirmed),
            Effect::Mark { index, verdict } => {
                if let Some(d) = self.driver_mut() {
                    d.mark(index, verdict);
                }
            }
            Effect::Note { step, text } => {
                if let Some(d) = self.driver_mut() {
                    d.set_note(step, &text);
                }
            }
            Effect::SetMode(mode) => {
                self.setup.mode = mode;
                for d in &mut self.drivers {
                    d.set_mode(mode);
                }
            }
            Effect::WriteReport => self.write_report(),
            Effect::Resume(id) => {
                let (Some(root), Some(key)) = (self.sessions_root(), self.active.clone()) else {
                    return;
                };
                jobs::spawn_resume(self.msg_tx.clone(), self.ctl_tx.clone(), root, id, key);
            }
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
            Effect::PinPalette(name) => jobs::spawn_palette_pin(self.msg_tx.clone(), name),
            Effect::SwitchContext { context, namespace } => {
                let switched = self
                    .workspace
                    .as_mut()
                    .map(|w| w.switch(&context, namespace.as_deref()));
                match switched {
                    Some(Ok(())) => self.context_changed(),
                    Some(Err(e)) => self.apply(Action::Say(e.to_string())),
                    None => {}
                }
            }
            Effect::ListChoices {
                token,
                spec,
                namespace,
            } => {
                let pinned = self.workspace.as_ref().and_then(Workspace::pinned).cloned();
                jobs::spawn_choices(self.ctl_tx.clone(), pinned, token, spec, namespace);
            }
            Effect::Diagnose => self.spawn_diagnose(),
            Effect::Fleet => self.watch_fleet(),
            Effect::Quit => {
                self.quit_deadline
                    .get_or_insert(Instant::now() + QUIT_GRACE);
            }
        }
    }

    /// Diagnose runs on a job over the catalog, against the context the commands use.
    fn spawn_diagnose(&self) {
        let catalog = crate::state::clusters::catalog(&self.state);
        jobs::spawn_diagnose(self.ctl_tx.clone(), catalog, self.commands_kubeconfig());
    }

    /// The Clusters view's fleet: every cluster's health and matching runbooks, reported as
    /// they come.
    fn watch_fleet(&self) {
        let tx = self.ctl_tx.clone();
        let kubeconfig = self.workspace.as_ref().and_then(Workspace::kubeconfig);
        let catalog = crate::state::clusters::catalog(&self.state);
        let palette =
            crate::config::palette_settings(&crate::palette::config::Overrides::default());
        crate::diagnose::fleet::watch(kubeconfig.cloned(), palette, catalog, move |p| {
            let _ = tx.send(Action::Fleet(p));
        });
    }

    /// What comes back to the loop itself.
    fn message(&mut self, message: Message) {
        match message {
            Message::PalettePinned(Err(e)) => self.apply(Action::Say(e)),
            Message::PalettePinned(Ok(fetched)) => {
                let followed = self
                    .workspace
                    .as_ref()
                    .map(|w| w.follow(Some(fetched.path())));
                match followed {
                    Some(Ok(ws)) => {
                        self.palette_pin = Some(fetched);
                        let name = self.pin_followed(ws);
                        self.apply(Action::Say(format!(
                            "commands now talk to Palette cluster {name}"
                        )));
                    }
                    Some(Err(e)) => self.apply(Action::Say(e.to_string())),
                    None => {}
                }
            }
            Message::DriverHome { index, mut driver } => {
                let vars = driver.shell().vars.clone();
                let switched = driver.take_cluster_change();
                if let Some(e) = driver.record_error.clone() {
                    self.apply(Action::Say(format!("not recording a session: {e}")));
                }
                // The mode may have changed (`m`) while the step ran.
                driver.set_mode(self.setup.mode);
                self.drivers.push(*driver);
                self.away = false;
                self.cancel = None;
                if let Some(path) = switched {
                    self.follow_kubeconfig(&path, index);
                }
                self.apply(Action::RunEnded {
                    index,
                    vars: Box::new(vars),
                });
                for effect in std::mem::take(&mut self.waiting) {
                    self.effect(effect);
                }
            }
            Message::Resumed {
                key,
                recorder,
                steps,
                vars,
            } => {
                // A value given on the command line wins over the session's.
                let vars: Vec<(String, String)> = vars
                    .into_iter()
                    .filter(|(name, _)| {
                        self.state
                            .vars
                            .get(name)
                            .is_none_or(|v| v.origin != crate::exec::vars::Origin::Cli)
                    })
                    .collect();
                if let Some(d) = self.drivers.iter_mut().find(|d| d.procedure.key() == key) {
                    for (name, value) in &vars {
                        d.set_value(name, value.clone(), false);
                    }
                    for s in &steps {
                        if let Some(e) = s.edit.as_ref().filter(|e| state::edit::restorable(e)) {
                            d.edit(s.index, e.block, Some(&e.code));
                        }
                    }
                    d.resume_recording(*recorder);
                }
                if self.active.as_ref() == Some(&key) {
                    self.apply(Action::Restored { steps, vars });
                }
            }
        }
    }

    /// The driver of the open scenario (at home).
    fn driver(&self) -> Option<&Driver> {
        let key = self.active.as_ref()?;
        self.drivers.iter().find(|d| &d.procedure.key() == key)
    }

    fn driver_mut(&mut self) -> Option<&mut Driver> {
        let key = self.active.clone()?;
        self.drivers.iter_mut().find(|d| d.procedure.key() == key)
    }

    /// A scenario was opened: its driver (new, or the one from earlier in this run) takes the
    /// shell, and a new one looks for an unfinished session to offer.
    fn activate(&mut self, flow: Arc<Procedure>) {
        let key = flow.key();
        if self.active.as_ref() == Some(&key) && self.driver().is_some() {
            return;
        }
        let shell = match self.driver_mut() {
            Some(d) => d.swap_shell(Shell::from_current()),
            None => self.shell.take().unwrap_or_else(Shell::from_current),
        };
        self.active = Some(key.clone());
        if let Some(d) = self.drivers.iter_mut().find(|d| d.procedure.key() == key) {
            d.swap_shell(shell);
            return;
        }
        let scenario_id = flow.scenario().map(|s| s.id.clone());
        let mut setup = self.setup.clone();
        setup.mode = self.state.mode;
        setup.guard = self.state.context.guard;
        setup.context.clone_from(&self.state.context.context);
        self.drivers.push(Driver::new(flow, shell, setup));
        if let (Some(root), Some(id)) = (self.sessions_root(), scenario_id) {
            jobs::spawn_offer(
                self.ctl_tx.clone(),
                root,
                id,
                self.state.context.context.clone(),
            );
        }
    }

    fn sessions_root(&self) -> Option<PathBuf> {
        self.setup.recording.as_ref().map(|r| r.root.clone())
    }

    /// `R`: the open session's report, redacted, into its folder and onto the clipboard.
    fn write_report(&mut self) {
        let Some(d) = self.driver() else {
            return;
        };
        let (Some(root), Some(id)) = (self.sessions_root(), d.session_id().map(str::to_owned))
        else {
            self.apply(Action::ReportWritten(Err(
                "no session yet: run a step first".to_owned(),
            )));
            return;
        };
        let secrets = d
            .shell()
            .vars
            .iter()
            .filter(|(_, v)| v.secret)
            .map(|(_, v)| v.value.clone())
            .collect();
        jobs::spawn_report(self.ctl_tx.clone(), root, id, secrets);
    }

    /// Takes `ws` (a workspace that followed another kubeconfig) as the one the commands use:
    /// the bar, the health check and the open scenario's driver move to it. Its context name.
    fn pin_followed(&mut self, ws: Workspace) -> String {
        self.workspace = Some(ws);
        self.context_changed();
        let name = self.state.context.context.clone().unwrap_or_default();
        let pinned = self.workspace.as_ref().and_then(Workspace::pinned).cloned();
        let guard = self.setup.guard;
        if let (Some(d), Some(p)) = (self.driver_mut(), pinned) {
            d.repin(&p.path, Some(name.clone()), guard);
        }
        name
    }

    /// Step `index` pointed `KUBECONFIG` at `path`: its current context is pinned in its
    /// place (health, guard rail, status bar, session), or, when it has none, the pinned one is
    /// put back and the user told why.
    fn follow_kubeconfig(&mut self, path: &Path, index: usize) {
        let step = self
            .state
            .scenario
            .as_ref()
            .and_then(|s| s.items.get(index))
            .map_or_else(String::new, |i| i.number.clone());
        let file = (!path.as_os_str().is_empty()).then_some(path);
        let shown = file.map_or_else(
            || "the default kubeconfig".to_owned(),
            |p| p.display().to_string(),
        );
        let followed = self.workspace.as_ref().map(|w| w.follow(file));
        match followed {
            Some(Ok(ws)) => {
                let name = self.pin_followed(ws);
                self.apply(Action::Say(format!(
                    "step {step} pointed KUBECONFIG at {shown}: commands now talk to context {name}"
                )));
            }
            Some(Err(e)) => {
                // Back to the pinned context: the commands must talk to what the bar names.
                self.context_changed();
                self.apply(Action::Say(format!(
                    "step {step} pointed KUBECONFIG at {shown}, which cannot be used ({e}); commands still use the pinned context"
                )));
            }
            None => {}
        }
    }

    /// After a (re)pin: commands get the new `KUBECONFIG`, the status bar the new context,
    /// the drivers its guard rail, and the health probe starts over.
    fn context_changed(&mut self) {
        // The gate runs from the start, so that `m` can switch to read-only at any time.
        if let Some(ws) = &mut self.workspace {
            ws.start_gate();
        }
        let Some(ws) = &self.workspace else {
            return;
        };
        self.setup.gate = ws.gate_handle();
        let gated = ws.gate().is_some();
        let guard = ws.guard();
        let pinned = ws.pinned().cloned();
        let contexts = ws.contexts();
        let problem = ws.problem.clone().unwrap_or_default();
        let info = match &pinned {
            Some(p) => {
                let (k, v) = p.env();
                if let Some(d) = self.driver_mut() {
                    d.shell_mut().env.insert(k.clone().into(), v.clone().into());
                }
                if let Some(shell) = &mut self.shell {
                    shell.env.insert(k.into(), v.into());
                }
                ContextInfo {
                    context: Some(p.entry.name.clone()),
                    namespace: Some(p.namespace.clone()),
                    server: Some(p.entry.server.clone()),
                    health: Health::Unknown,
                    guard,
                    gated,
                    detail: String::new(),
                }
            }
            None => ContextInfo {
                detail: problem,
                ..ContextInfo::default()
            },
        };
        let name = info.context.clone();
        self.setup.guard = guard;
        self.setup.context.clone_from(&name);
        for d in &mut self.drivers {
            d.set_context(name.clone(), guard);
        }
        let _ = self.pinned_tx.send(pinned);
        self.apply(Action::Cluster(Box::new(info), contexts));
    }

    /// The kubeconfig the commands use: the open driver's, the pinned context's, else the
    /// environment's.
    fn commands_kubeconfig(&self) -> Option<PathBuf> {
        self.driver()
            .and_then(Driver::kubeconfig)
            .or_else(|| {
                self.workspace
                    .as_ref()
                    .and_then(Workspace::pinned)
                    .map(|p| p.path.clone())
            })
            .or_else(|| {
                self.env
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "KUBECONFIG")
                    .map(|(_, v)| PathBuf::from(v))
            })
    }

    /// Runs step `index` of the open scenario on a thread of its own, its driver moved there.
    fn spawn_step(&mut self, index: usize, confirmed: bool) {
        let Some(key) = self.active.clone() else {
            return;
        };
        let Some(pos) = self.drivers.iter().position(|d| d.procedure.key() == key) else {
            return;
        };
        let mut driver = self.drivers.swap_remove(pos);
        let (handle, mut cancel) = Cancel::new();
        self.cancel = Some(handle);
        self.away = true;
        let messages = self.msg_tx.clone();
        let ctl = self.ctl_tx.clone();
        let mut host = TuiHost {
            index,
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
                match runtime {
                    Ok(runtime) => {
                        runtime.block_on(driver.run_step(index, &mut host, &mut cancel, confirmed));
                    }
                    Err(e) => {
                        let _ = ctl.send(Action::Engine(
                            index,
                            Box::new(crate::exec::runner::Event::Notice {
                                step: index,
                                text: format!("cannot start the step: {e}"),
                            }),
                        ));
                    }
                }
                host.flush_dropped();
                if let Err(returned) = messages.send(Message::DriverHome {
                    index,
                    driver: Box::new(driver),
                }) {
                    // The loop is gone: close the session here.
                    if let Message::DriverHome { mut driver, .. } = returned.0 {
                        driver.finish(Ending::Interrupted);
                    }
                }
            });
        if let Err(e) = spawned {
            self.away = false;
            self.apply(Action::Say(format!("cannot start the step: {e}")));
        }
    }
}

/// The app without a terminal, for tests: actions go in, the state comes out, and effects are
/// carried out for real (drivers, steps on their threads, sessions, jobs), with the screen
/// drawn on ratatui's `TestBackend`. Start it inside a multi-threaded tokio runtime.
pub struct Headless {
    app: App,
    ch: Channels,
    screen: ratatui::Terminal<ratatui::backend::TestBackend>,
}

impl Headless {
    pub fn start(options: Options, size: (u16, u16)) -> color_eyre::Result<Self> {
        let (mut app, ch) = App::new(options)?;
        app.apply(Action::Resize(size.0, size.1));
        let screen = ratatui::Terminal::new(ratatui::backend::TestBackend::new(size.0, size.1))?;
        Ok(Self { app, ch, screen })
    }

    pub fn state(&self) -> &State {
        &self.app.state
    }

    /// What the user does: a key's command, typed text, a paste.
    pub fn send(&mut self, action: Action) {
        self.app.apply(action);
    }

    /// Carries out what arrives (engine events, job answers, drivers coming home; terminal
    /// requests are granted) until `done` holds; `false` when `timeout` passed first.
    pub async fn until(&mut self, timeout: Duration, done: impl Fn(&State) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if done(&self.app.state) {
                return true;
            }
            let ch = &mut self.ch;
            let action = tokio::select! {
                Some(message) = ch.messages.recv() => {
                    self.app.message(message);
                    None
                }
                Some(action) = ch.ctl.recv() => Some(action),
                Some(action) = ch.out.recv() => Some(action),
                Some(request) = ch.term.recv() => {
                    let _ = request.ack.send(());
                    None
                }
                () = tokio::time::sleep_until(deadline) => return done(&self.app.state),
            };
            if let Some(action) = action {
                self.app.apply(action);
            }
        }
    }

    /// The screen as a user would read it now.
    pub fn screen(&mut self) -> String {
        let state = &self.app.state;
        let theme = self.app.theme;
        let mut clicks = None;
        if self
            .screen
            .draw(|f| clicks = ui::draw(f, state, theme))
            .is_err()
        {
            return String::new();
        }
        self.app.apply(Action::Layout(clicks));
        let buffer = self.screen.backend().buffer();
        let mut out = String::new();
        for y in 0..buffer.area.height {
            let mut line = String::new();
            for x in 0..buffer.area.width {
                line.push_str(buffer[(x, y)].symbol());
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }

    /// Quits as `q` does: a running step is cancelled and awaited, every session closed.
    pub async fn quit(mut self) {
        self.app.apply(Action::Terminate);
        self.app.wait_home(&mut self.ch.messages).await;
        self.app.end().await;
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

/// Gives the terminal back as it was. Quietly: after a dropped link there is no terminal to
/// give back, and no stderr to say so on (printing there would panic).
fn leave() {
    let _ = crossterm::execute!(
        std::io::stdout(),
        DisableMouseCapture,
        DisableBracketedPaste
    );
    let _ = ratatui::try_restore();
}

/// OSC 52: the terminal (even at the far end of SSH and tmux) puts the text on the clipboard.
fn copy_osc52(text: &str) {
    let encoded = base64::engine::general_purpose::STANDARD.encode(text);
    let mut out = std::io::stdout();
    let _ = write!(out, "\u{1b}]52;c;{encoded}\u{7}");
    let _ = out.flush();
}
