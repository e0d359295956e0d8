//! `runbook diagnose`: read-only checks against a cluster that rank the scenarios that fit.
//!
//! Checks live next to the runbooks they point to (front matter `checks:`, see
//! [`crate::runbook::check`]). The engine collects every check of the catalog, unions the
//! resources they read, lists each distinct query once ([`fetch`]: discovery + paginated list,
//! all concurrent, each bounded by [`Options::timeout`]), runs each check's jq program ([`jq`])
//! within the same timeout, one after another in one child process per run that caps its
//! memory ([`jq::worker`]: killed at the limit, restarted for the next check), and ranks the scenarios: matched first (by
//! evidence count times weight), then those that did not match, then those whose checks could
//! not run (each with its reason). Only GET requests are made: nothing is written.
//!
//! Around that engine: [`fleet`] runs it against many clusters at once (kubeconfig contexts or
//! Palette clusters), [`incluster`] gives it the pod's service account, [`subject`] finds the
//! object each piece of evidence names and [`events`] records matches as Kubernetes Events on
//! them; `runbook diagnose` itself is [`crate::cmd::diagnose`].
//!
//! To add a check: add it to a runbook's front matter; no Rust change is needed unless it needs
//! a new kind of input (then extend [`fetch`]).

pub mod events;
pub mod fetch;
pub mod fleet;
pub mod incluster;
pub mod jq;
pub mod subject;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use jaq_json::Val;
use serde::Serialize;

use crate::runbook::{Catalog, Check, Read};

/// How long one list or one check may take unless told otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How a run is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Per API call (discovery, each list) and per check program.
    pub timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: DEFAULT_TIMEOUT,
        }
    }
}

/// Why no diagnosis could be made at all.
#[derive(Debug, thiserror::Error)]
pub enum DiagnoseError {
    #[error("cannot read the kubeconfig: {0}")]
    Kubeconfig(String),
    #[error("cannot reach the cluster: {0}")]
    Unreachable(String),
    /// It answered, but not to us (401, 403).
    #[error("{0}")]
    Refused(String),
}

/// The ranked outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub results: Vec<Finding>,
}

/// What the checks of one scenario found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The scenario id (`runbook <id>` opens it).
    #[serde(rename = "runbook")]
    pub scenario: String,
    pub title: String,
    /// The runbook file (`bundled:...` for a bundled one).
    pub path: PathBuf,
    pub matched: bool,
    pub evidence: Vec<String>,
    /// Why some or all of its checks could not run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Evidence count times weight; the ranking key.
    pub score: u64,
    /// The object each piece of evidence names, when it names one the check read (one entry
    /// per evidence line; for `--emit-events`).
    #[serde(skip)]
    pub subjects: Vec<Option<subject::ObjectRef>>,
}

/// A check with where it comes from.
#[derive(Debug, Clone)]
pub struct Planned {
    pub check: Check,
    pub scenario: String,
    pub title: String,
    pub path: PathBuf,
}

/// Every check of the catalog.
pub fn plan(catalog: &Catalog) -> Vec<Planned> {
    let mut planned = Vec::new();
    for runbook in &catalog.runbooks {
        for check in &runbook.front_matter().checks {
            let Some(id) = check.scenario.as_deref() else {
                continue;
            };
            let title = runbook
                .scenario(id)
                .map_or_else(|| runbook.title().to_owned(), |s| s.title.clone());
            planned.push(Planned {
                check: check.clone(),
                scenario: id.to_owned(),
                title,
                path: runbook.path.clone(),
            });
        }
    }
    planned
}

/// A kube client for `context` of `kubeconfig` (default: `KUBECONFIG` or `~/.kube/config`,
/// and its current context), with the server's URL for messages.
pub async fn client(
    kubeconfig: Option<&Path>,
    context: Option<&str>,
) -> Result<(kube::Client, String), DiagnoseError> {
    use kube::config::{KubeConfigOptions, Kubeconfig};
    let options = KubeConfigOptions {
        context: context.map(str::to_owned),
        ..KubeConfigOptions::default()
    };
    let config = match kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| DiagnoseError::Kubeconfig(format!("{}: {e}", path.display())))?;
            kube::Config::from_custom_kubeconfig(file, &options).await
        }
        None => kube::Config::from_kubeconfig(&options).await,
    }
    .map_err(|e| DiagnoseError::Kubeconfig(e.to_string()))?;
    let url = config.cluster_url.to_string();
    let client =
        kube::Client::try_from(config).map_err(|e| DiagnoseError::Kubeconfig(e.to_string()))?;
    Ok((client, url))
}

/// Runs every check of `catalog` against the cluster behind `client`.
///
/// Fails only when the API server cannot be reached at all; a resource that is missing or
/// forbidden makes the checks that need it report why.
pub async fn diagnose(
    client: &kube::Client,
    catalog: &Catalog,
    options: Options,
) -> Result<Report, DiagnoseError> {
    // One jq worker for the whole run (see `jq::worker`), started while the lists load.
    let mut evaluator = jq::worker::Evaluator::new(Vec::new());
    evaluator.start();
    reachable(client, options.timeout).await?;
    let planned = plan(catalog);
    let queries: BTreeSet<Read> = planned
        .iter()
        .flat_map(|p| p.check.reads.iter().map(Read::query))
        .collect();
    let lists = fetch::list_all(client, &queries, options.timeout).await;
    evaluator.set_lists(list_items(&lists));
    let report = check_all(&mut evaluator, planned, &lists, options.timeout).await;
    evaluator.close().await;
    Ok(report)
}

/// The items of each list in the order of `lists` (a check's reads name a list by its
/// position there); null for a list that could not be listed.
pub fn list_items(lists: &BTreeMap<Read, fetch::Listed>) -> Vec<Val> {
    lists
        .values()
        .map(|l| l.as_ref().map_or(Val::Null, |l| l.items.clone()))
        .collect()
}

/// Runs the `planned` checks on `lists` one after another in `evaluator` (made from
/// [`list_items`] of the same `lists`), each within `timeout`, and ranks them.
pub async fn check_all(
    evaluator: &mut jq::worker::Evaluator,
    planned: Vec<Planned>,
    lists: &BTreeMap<Read, fetch::Listed>,
    timeout: Duration,
) -> Report {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut outcomes = Vec::with_capacity(planned.len());
    for p in planned {
        let outcome = run_check(evaluator, &p.check, lists, &now, timeout).await;
        outcomes.push((p, outcome));
    }
    rank(outcomes)
}

async fn reachable(client: &kube::Client, timeout: Duration) -> Result<(), DiagnoseError> {
    match tokio::time::timeout(timeout, client.apiserver_version()).await {
        Ok(Ok(_)) => Ok(()),
        Ok(Err(e @ kube::Error::Api(_))) => Err(DiagnoseError::Refused(
            crate::cluster::health::explain(&e, "the API server"),
        )),
        Ok(Err(e)) => Err(DiagnoseError::Unreachable(first_line(&e.to_string()))),
        Err(_) => Err(DiagnoseError::Unreachable(format!(
            "no answer within {}",
            crate::duration::humanize(timeout)
        ))),
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or(text).to_owned()
}

/// One piece of evidence and the object it names.
type Evidence = (String, Option<subject::ObjectRef>);

/// One check's evidence, or why it could not run. Its program gets `timeout` (counted when
/// it starts), whatever ran before it.
async fn run_check(
    evaluator: &mut jq::worker::Evaluator,
    check: &Check,
    lists: &BTreeMap<Read, fetch::Listed>,
    now: &str,
    timeout: Duration,
) -> Result<Vec<Evidence>, String> {
    let mut reads = Vec::new();
    let mut read_lists = Vec::new();
    for read in &check.reads {
        let query = read.query();
        match lists.get(&query) {
            Some(Ok(listed)) => {
                let id = lists.range(..&query).count();
                reads.push((read.key.clone(), id));
                read_lists.push(listed);
            }
            Some(Err(e)) => return Err(e.clone()),
            None => return Err(format!("`{}` was not listed", read.display())),
        }
    }
    let evidence = evaluator.evidence(&check.jq, &reads, now, timeout).await?;
    Ok(evidence
        .into_iter()
        .map(|e| {
            let subject = subject::find(&e, read_lists.iter().copied());
            (e, subject)
        })
        .collect())
}

/// Merges the outcomes per scenario and orders them: matched (highest score first), not
/// matched, could not run; ties by scenario id.
fn rank(outcomes: Vec<(Planned, Result<Vec<Evidence>, String>)>) -> Report {
    let mut by_scenario: BTreeMap<String, Finding> = BTreeMap::new();
    for (p, outcome) in outcomes {
        let finding = by_scenario
            .entry(p.scenario.clone())
            .or_insert_with(|| Finding {
                scenario: p.scenario.clone(),
                title: p.title.clone(),
                path: p.path.clone(),
                matched: false,
                evidence: Vec::new(),
                error: None,
                score: 0,
                subjects: Vec::new(),
            });
        match outcome {
            Ok(evidence) => {
                if !evidence.is_empty() {
                    finding.matched = true;
                    finding.score += u64::try_from(evidence.len())
                        .unwrap_or(u64::MAX)
                        .saturating_mul(u64::from(p.check.weight));
                    for (text, subject) in evidence {
                        finding.evidence.push(text);
                        finding.subjects.push(subject);
                    }
                }
            }
            Err(e) => {
                let reason = format!("cannot run: {e}");
                finding.error = Some(match finding.error.take() {
                    Some(prev) => format!("{prev}; {reason}"),
                    None => reason,
                });
            }
        }
    }
    let mut results: Vec<Finding> = by_scenario.into_values().collect();
    let class = |f: &Finding| match (f.matched, f.error.is_some()) {
        (true, _) => 0,
        (false, false) => 1,
        (false, true) => 2,
    };
    results.sort_by(|a, b| {
        class(a)
            .cmp(&class(b))
            .then(b.score.cmp(&a.score))
            .then(a.scenario.cmp(&b.scenario))
    });
    Report { results }
}

/// The report as text: matched scenarios with their evidence and how to open them, then the
/// rest, one line each.
pub fn render_text(report: &Report) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    let matched = report.results.iter().filter(|f| f.matched).count();
    if matched == 0 {
        out.push_str("No scenario matches what the cluster shows.\n");
    }
    for (i, f) in report.results.iter().enumerate() {
        if f.matched {
            let _ = writeln!(out, "{}. {}  {}", i + 1, f.scenario, f.title);
            for e in &f.evidence {
                let _ = writeln!(out, "   - {e}");
            }
            if let Some(err) = &f.error {
                let _ = writeln!(out, "   ! {err}");
            }
            let _ = writeln!(out, "   open with: runbook {}", f.scenario);
        } else if let Some(err) = &f.error {
            let _ = writeln!(out, "   {}  {err}", f.scenario);
        } else {
            let _ = writeln!(out, "   {}  no match", f.scenario);
        }
    }
    out
}
