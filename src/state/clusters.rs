//! The clusters view: every cluster (each kube context, and each Palette cluster when a key is
//! configured) with its health and how many runbooks match, worst first.
//!
//! The diagnosis runs in the background ([`super::Effect::Fleet`], one pass of
//! [`crate::diagnose::fleet::watch`]) and reports [`Progress`] as [`crate::action::Action::Fleet`];
//! rows fill in as results come, and a new pass starts [`REFRESH`] after the last one ended while
//! the view is shown. Enter pins the selected context and opens its diagnose view with the
//! results already found. To show more per cluster, keep it in [`Row`] and draw it in
//! `ui/clusters.rs`.

use std::time::Duration;

use super::{Effect, Screen, State};
use crate::action::Command;
use crate::diagnose::fleet::{ClusterResult, Progress, Source};
use crate::diagnose::{Finding, Report};

/// How long after a pass the next one starts, while the view is shown.
pub const REFRESH: Duration = Duration::from_secs(60);

/// One cluster's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub name: String,
    pub source: Source,
    pub health: RowHealth,
    /// The last diagnosis (kept while a new pass runs).
    pub results: Vec<Finding>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowHealth {
    /// Not diagnosed yet.
    Pending,
    /// Reached; this many scenarios matched.
    Reached(usize),
    /// Could not be diagnosed, and why.
    Failed(String),
}

impl Row {
    /// Sort key: failed, then most matches, then pending, then clean; by name within.
    fn rank(&self) -> (u8, usize) {
        match &self.health {
            RowHealth::Failed(_) => (0, 0),
            RowHealth::Reached(n) if *n > 0 => (1, usize::MAX - n),
            RowHealth::Pending => (2, 0),
            RowHealth::Reached(_) => (3, 0),
        }
    }
}

/// Where the background pass stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pass {
    /// Asked for, no word yet.
    Starting,
    /// Diagnosing: this many results still to come.
    Running { left: usize },
    /// Ended at this app time.
    Done(Duration),
    /// Nothing to diagnose, and why.
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClustersView {
    pub rows: Vec<Row>,
    pub selected: usize,
    pub pass: Pass,
    /// The user moved the selection: it follows its cluster through re-sorts (else it stays
    /// on the worst one, at the top).
    pub moved: bool,
}

impl ClustersView {
    fn new() -> Self {
        Self {
            rows: Vec::new(),
            selected: 0,
            pass: Pass::Starting,
            moved: false,
        }
    }

    /// The selected row.
    pub fn current(&self) -> Option<&Row> {
        self.rows.get(self.selected)
    }

    fn is_running(&self) -> bool {
        matches!(self.pass, Pass::Starting | Pass::Running { .. })
    }

    /// Re-sorts worst first, keeping the same cluster selected.
    fn sort(&mut self) {
        let keep = self.current().map(|r| (r.name.clone(), r.source));
        let palette = |r: &Row| r.source == Source::Palette;
        self.rows.sort_by(|a, b| {
            a.rank()
                .cmp(&b.rank())
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| palette(a).cmp(&palette(b)))
        });
        if !self.moved {
            self.selected = 0;
        } else if let Some(keep) = keep {
            self.selected = self
                .rows
                .iter()
                .position(|r| (r.name.clone(), r.source) == keep)
                .unwrap_or(0);
        }
    }

    fn move_by(&mut self, delta: i32) {
        self.moved = true;
        let last = i64::try_from(self.rows.len().saturating_sub(1)).unwrap_or(0);
        let target = i64::try_from(self.selected).unwrap_or(0) + i64::from(delta);
        self.selected = usize::try_from(target.clamp(0, last)).unwrap_or(0);
    }

    fn result(&mut self, r: ClusterResult) {
        let health = match &r.error {
            Some(e) => RowHealth::Failed(e.clone()),
            None => RowHealth::Reached(r.matched()),
        };
        let row = Row {
            name: r.cluster,
            source: r.source,
            health,
            results: r.results,
        };
        match self
            .rows
            .iter_mut()
            .find(|x| x.name == row.name && x.source == row.source)
        {
            Some(existing) => *existing = row,
            None => self.rows.push(row),
        }
        if let Pass::Running { left } = &mut self.pass {
            *left = left.saturating_sub(1);
        }
        self.sort();
    }
}

/// `F` (or the configured key): shows the view, starting a pass unless one runs.
pub fn open(state: &mut State) -> Vec<Effect> {
    state.screen = Screen::Clusters;
    match &mut state.clusters {
        Some(view) if view.is_running() => Vec::new(),
        Some(view) => {
            view.pass = Pass::Starting;
            vec![Effect::Fleet]
        }
        None => {
            state.clusters = Some(ClustersView::new());
            vec![Effect::Fleet]
        }
    }
}

/// A word from the background pass.
pub fn progress(state: &mut State, progress: Progress) -> Vec<Effect> {
    let now = state.clock;
    let Some(view) = &mut state.clusters else {
        return Vec::new();
    };
    match progress {
        Progress::Targets(targets) => {
            view.pass = Pass::Running {
                left: targets.len(),
            };
            for (name, source) in targets {
                if !view
                    .rows
                    .iter()
                    .any(|r| r.name == name && r.source == source)
                {
                    view.rows.push(Row {
                        name,
                        source,
                        health: RowHealth::Pending,
                        results: Vec::new(),
                    });
                }
            }
            view.sort();
        }
        Progress::Result(result) => view.result(*result),
        Progress::Done => view.pass = Pass::Done(now),
        Progress::Failed(why) => view.pass = Pass::Failed(why),
    }
    Vec::new()
}

/// Time passes: a new pass once [`REFRESH`] has gone by, while the view is shown.
pub fn tick(state: &mut State) -> Vec<Effect> {
    let now = state.clock;
    match &mut state.clusters {
        Some(view) if state.screen == Screen::Clusters => match view.pass {
            Pass::Done(at) if now.saturating_sub(at) >= REFRESH => {
                view.pass = Pass::Starting;
                vec![Effect::Fleet]
            }
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

pub fn scroll(state: &mut State, delta: i16) {
    if let Some(view) = &mut state.clusters {
        view.move_by(i32::from(delta).signum());
    }
}

/// The catalog's runbooks, for a pass.
pub fn catalog(state: &State) -> crate::runbook::Catalog {
    crate::runbook::Catalog {
        runbooks: state
            .catalog
            .runbooks
            .iter()
            .map(|r| (**r).clone())
            .collect(),
        errors: Vec::new(),
    }
}

/// Keys on the view.
pub fn command(state: &mut State, command: Command) -> Vec<Effect> {
    let Some(view) = &mut state.clusters else {
        state.screen = Screen::Catalog;
        return Vec::new();
    };
    match command {
        Command::Up => view.move_by(-1),
        Command::Down => view.move_by(1),
        Command::PageUp => view.move_by(-10),
        Command::PageDown => view.move_by(10),
        Command::Top => view.move_by(i32::MIN / 2),
        Command::Bottom => view.move_by(i32::MAX / 2),
        Command::Back => state.screen = Screen::Catalog,
        Command::Enter => return enter(state),
        _ => {}
    }
    Vec::new()
}

/// Pins the selected context and shows its results in the diagnose view.
fn enter(state: &mut State) -> Vec<Effect> {
    let Some(row) = state
        .clusters
        .as_ref()
        .and_then(ClustersView::current)
        .cloned()
    else {
        return Vec::new();
    };
    if state.running().is_some() {
        state.message = Some("a command is running; x cancels it first".to_owned());
        return Vec::new();
    }
    let mut view = super::diagnose::DiagnoseView::running(state.clock);
    view.finished(match &row.health {
        RowHealth::Failed(e) => Err(e.clone()),
        _ => Ok(Report {
            results: row.results.clone(),
        }),
    });
    state.diagnose = Some(view);
    state.screen = Screen::Diagnose;
    match row.source {
        Source::Context => vec![Effect::SwitchContext {
            context: row.name,
            namespace: None,
        }],
        Source::Palette => {
            state.message = Some(format!(
                "fetching the kubeconfig of Palette cluster {}…",
                row.name
            ));
            vec![Effect::PinPalette(row.name)]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::time::Duration;

    fn state() -> State {
        State::new(
            Vec::new(),
            crate::action::Keymap::default(),
            crate::exec::vars::Vars::new(),
        )
    }

    fn finding(id: &str) -> Finding {
        Finding {
            scenario: id.into(),
            title: id.into(),
            path: PathBuf::from("bundled:x.md"),
            matched: true,
            evidence: vec!["e".into()],
            error: None,
            score: 1,
            subjects: Vec::new(),
        }
    }

    fn result(name: &str, matched: &[&str], error: Option<&str>) -> Progress {
        Progress::Result(Box::new(ClusterResult {
            cluster: name.into(),
            source: Source::Context,
            results: matched.iter().map(|m| finding(m)).collect(),
            error: error.map(str::to_owned),
            requests: 0,
            lists: 0,
            elapsed: Duration::ZERO,
        }))
    }

    #[test]
    fn rows_fill_in_worst_first_and_enter_pins_and_shows_the_results() {
        let mut s = state();
        assert_eq!(open(&mut s).len(), 1, "a pass starts");
        assert_eq!(s.screen, Screen::Clusters);
        let targets = ["a-clean", "b-two", "c-dead", "d-one"]
            .map(|n| (n.to_owned(), Source::Context))
            .to_vec();
        progress(&mut s, Progress::Targets(targets));
        progress(&mut s, result("a-clean", &[], None));
        progress(&mut s, result("d-one", &["x/x"], None));
        let names = |s: &State| -> Vec<String> {
            s.clusters
                .as_ref()
                .map(|v| v.rows.iter().map(|r| r.name.clone()).collect())
                .unwrap_or_default()
        };
        assert_eq!(names(&s), ["d-one", "b-two", "c-dead", "a-clean"]);
        progress(&mut s, result("b-two", &["x/x", "y/y"], None));
        progress(
            &mut s,
            result("c-dead", &[], Some("cannot reach the cluster")),
        );
        assert_eq!(names(&s), ["c-dead", "b-two", "d-one", "a-clean"]);
        assert_eq!(
            s.clusters.as_ref().map(|v| v.pass.clone()),
            Some(Pass::Running { left: 0 })
        );
        // Opening again while the pass runs starts no second one.
        assert!(open(&mut s).is_empty());
        progress(&mut s, Progress::Done);
        let current = |s: &State| {
            s.clusters
                .as_ref()
                .and_then(|v| v.current())
                .map(|r| r.name.clone())
        };
        // Untouched, the selection stays on the worst cluster.
        assert_eq!(current(&s).as_deref(), Some("c-dead"));
        command(&mut s, Command::Down);
        assert_eq!(current(&s).as_deref(), Some("b-two"));
        // Moved, it follows its cluster through re-sorts.
        progress(&mut s, result("b-two", &[], None));
        assert_eq!(current(&s).as_deref(), Some("b-two"));
        progress(&mut s, result("b-two", &["x/x", "y/y"], None));
        let effects = command(&mut s, Command::Enter);
        assert!(
            matches!(effects.as_slice(), [Effect::SwitchContext { context, .. }] if context == "b-two"),
            "{effects:?}"
        );
        assert_eq!(s.screen, Screen::Diagnose);
        assert_eq!(s.diagnose.as_ref().map(|d| d.results().len()), Some(2));
    }

    #[test]
    fn enter_on_a_palette_cluster_fetches_and_pins_its_kubeconfig() {
        let mut s = state();
        open(&mut s);
        progress(
            &mut s,
            Progress::Targets(vec![("edge-1".to_owned(), Source::Palette)]),
        );
        progress(&mut s, Progress::Done);
        let effects = command(&mut s, Command::Enter);
        assert!(
            matches!(effects.as_slice(), [Effect::PinPalette(name)] if name == "edge-1"),
            "{effects:?}"
        );
        assert!(
            s.message
                .as_deref()
                .is_some_and(|m| m.contains("Palette cluster edge-1")),
            "{:?}",
            s.message
        );
    }

    #[test]
    fn a_new_pass_starts_after_the_refresh_interval_while_shown() {
        let mut s = state();
        open(&mut s);
        progress(&mut s, Progress::Done);
        s.clock = REFRESH / 2;
        assert!(tick(&mut s).is_empty());
        s.clock = REFRESH + Duration::from_secs(1);
        s.screen = Screen::Catalog;
        assert!(tick(&mut s).is_empty(), "not while another screen is shown");
        s.screen = Screen::Clusters;
        assert_eq!(tick(&mut s).len(), 1);
        assert!(tick(&mut s).is_empty(), "one pass at a time");
        progress(&mut s, Progress::Failed("nothing to list".into()));
        assert_eq!(
            s.clusters.as_ref().map(|v| v.pass.clone()),
            Some(Pass::Failed("nothing to list".into()))
        );
    }
}
