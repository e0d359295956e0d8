//! Background work of the TUI: each job runs on the runtime (or a blocking thread for file
//! IO) and reports back as an [`Action`] for `update`, or as a [`Message`] for the loop when
//! what comes back is the loop's own (a driver, a recorder). The loop never waits on IO.
//!
//! To add a job, write a function here that spawns it and sends its answer; start it from an
//! effect in `app.rs`.

use std::path::PathBuf;
use std::time::Duration;

use tokio::sync::mpsc;

use crate::action::{Action, RestoredStep, Resumable};
use crate::cluster::health::{self, Health};
use crate::cluster::pick::{self, PickSpec};
use crate::cluster::{Pinned, READ_TIMEOUT};
use crate::drive::Driver;
use crate::runbook::Catalog;
use crate::session::{Recorder, store};

/// How often the practice cluster is asked whether its scenario is fixed.
const LAB_EVERY: Duration = Duration::from_millis(500);
/// How often the status bar's health is asked again.
const HEALTH_EVERY: Duration = Duration::from_secs(30);
/// How much of each step's output comes back on resume.
const RESUME_TAIL: u64 = 64 * 1024;

/// What comes back to the loop itself rather than to the state.
pub enum Message {
    /// A Palette cluster's kubeconfig, fetched for the clusters view's Enter (or why not).
    PalettePinned(Result<crate::palette::pin::Fetched, String>),
    /// A step ended: its driver is home again.
    DriverHome { index: usize, driver: Box<Driver> },
    /// A session to continue: its recorder for the driver of `key`, its steps for the screen.
    Resumed {
        key: (PathBuf, usize, usize),
        recorder: Box<Recorder>,
        steps: Vec<RestoredStep>,
        vars: Vec<(String, String)>,
    },
}

/// Fetches Palette cluster `name`'s kubeconfig on a thread of its own (the fetch runs its own
/// short-lived runtime) and sends it back to the loop.
pub fn spawn_palette_pin(messages: mpsc::UnboundedSender<Message>, name: String) {
    std::thread::spawn(move || {
        let fetched =
            crate::config::palette_settings(&crate::palette::config::Overrides::default())
                .and_then(|settings| crate::palette::pin::fetch_blocking(settings, &name))
                .map_err(|e| format!("Palette cluster {name}: {e}"));
        let _ = messages.send(Message::PalettePinned(fetched));
    });
}

/// Asks the pinned cluster for its health now, then every [`HEALTH_EVERY`], and again at once
/// when another context is pinned.
pub fn spawn_health(
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

/// Lists the cluster's objects for a picker; answers [`Action::Choices`] with `token`.
pub fn spawn_choices(
    tx: mpsc::UnboundedSender<Action>,
    pinned: Option<Pinned>,
    token: u64,
    spec: PickSpec,
    namespace: Option<String>,
) {
    tokio::spawn(async move {
        let result = match pinned {
            None => Err("no kube context".to_owned()),
            Some(p) => match p.client().await {
                Ok(client) => {
                    let listing = pick::list(&client, &spec, namespace.as_deref());
                    tokio::time::timeout(READ_TIMEOUT, listing)
                        .await
                        .unwrap_or_else(|_| Err("the list timed out".to_owned()))
                }
                Err(e) => Err(e),
            },
        };
        let _ = tx.send(Action::Choices { token, result });
    });
}

/// Runs `diagnose` against the cluster of `kubeconfig` (the commands' one), answering
/// [`Action::Diagnosed`].
pub fn spawn_diagnose(
    tx: mpsc::UnboundedSender<Action>,
    catalog: Catalog,
    kubeconfig: Option<PathBuf>,
) {
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

/// Looks for an unfinished session of `scenario` on `context`; offers it with
/// [`Action::Resumable`].
pub fn spawn_offer(
    tx: mpsc::UnboundedSender<Action>,
    root: PathBuf,
    scenario: String,
    context: Option<String>,
) {
    tokio::task::spawn_blocking(move || {
        if let Some((_, record)) = store::latest_unfinished(&root, &scenario, context.as_deref()) {
            let (done, total) = record.progress();
            let updated = record.updated.format("%Y-%m-%d %H:%M UTC").to_string();
            let _ = tx.send(Action::Resumable(Resumable {
                id: record.id,
                done,
                total,
                updated,
            }));
        }
    });
}

/// Loads session `id` to continue it: its recorder for the driver of `key`, and its steps
/// (state, verdict, the end of the output, notes) and plain values for the screen.
pub fn spawn_resume(
    messages: mpsc::UnboundedSender<Message>,
    tx: mpsc::UnboundedSender<Action>,
    root: PathBuf,
    id: String,
    key: (PathBuf, usize, usize),
) {
    tokio::task::spawn_blocking(move || {
        let (store, record) = match store::find(&root, &id) {
            Ok(found) => found,
            Err(e) => {
                let _ = tx.send(Action::ReportWritten(Err(format!("cannot resume: {e}"))));
                return;
            }
        };
        let steps = record
            .steps
            .iter()
            .enumerate()
            .map(|(index, step)| RestoredStep {
                index,
                state: step.state,
                verdict: step.verdict,
                output: store
                    .output_tail(step, RESUME_TAIL)
                    .map(|t| t.lines().map(str::to_owned).collect())
                    .unwrap_or_default(),
                note: step.notes.clone(),
                edit: step.edit.clone(),
            })
            .collect();
        let vars = record
            .vars
            .iter()
            .filter(|(_, v)| !v.secret)
            .filter_map(|(name, v)| Some((name.clone(), v.value.clone()?)))
            .collect();
        let recorder = Recorder::resume(store, record);
        let _ = messages.send(Message::Resumed {
            key,
            recorder: Box::new(recorder),
            steps,
            vars,
        });
    });
}

/// Writes the report of session `id` (redacted with `secrets` too) into its folder; answers
/// [`Action::ReportWritten`] with its path and text.
pub fn spawn_report(
    tx: mpsc::UnboundedSender<Action>,
    root: PathBuf,
    id: String,
    secrets: Vec<String>,
) {
    tokio::task::spawn_blocking(move || {
        let result =
            store::find(&root, &id)
                .map_err(|e| e.to_string())
                .and_then(|(store, record)| {
                    let redactor = crate::session::report::redactor(&secrets);
                    let md = crate::session::report::markdown(&store, &record, &redactor);
                    // As `runbook report --output` writes it: no escape sequence in the file.
                    let md = crate::sanitize::Sanitizer::PLAIN.clean(&md).into_owned();
                    let path = store.dir().join("report.md");
                    store::write_atomic(&path, md.as_bytes())
                        .map(|()| (path, md))
                        .map_err(|e| format!("cannot write the report: {e}"))
                });
        let _ = tx.send(Action::ReportWritten(result));
    });
}

/// The practice cluster, shared between `main` (which stops it) and the job that watches it.
#[derive(Clone)]
pub struct SharedLab(pub std::sync::Arc<crate::lab::LabHandle>);

impl std::fmt::Debug for SharedLab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("SharedLab")
            .field(&self.0.scenario_id())
            .finish()
    }
}

/// Asks the practice cluster every [`LAB_EVERY`] whether its scenario is fixed, and says so
/// once ([`Action::LabFixed`]); it keeps asking, since a fix can be undone, and says so again
/// only after it was broken in between.
pub fn spawn_lab_watch(tx: mpsc::UnboundedSender<Action>, lab: SharedLab) {
    tokio::spawn(async move {
        let mut was_fixed = false;
        let mut every = tokio::time::interval(LAB_EVERY);
        loop {
            every.tick().await;
            let fixed = lab.0.is_fixed();
            if fixed && !was_fixed && tx.send(Action::LabFixed).is_err() {
                return;
            }
            was_fixed = fixed;
            if tx.is_closed() {
                return;
            }
        }
    });
}
