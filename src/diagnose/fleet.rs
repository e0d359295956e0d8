//! `runbook diagnose --fleet`: the read-only checks against many clusters at once.
//!
//! Targets are the kubeconfig contexts whose names match a glob ([`context_targets`]) or every
//! cluster of a Palette project ([`palette_targets`]; each one's kubeconfig is fetched as its
//! diagnosis starts, a few at a time, to stay under Palette's rate limit). [`stream`] diagnoses
//! them with bounded parallelism, each within its own time limit, each on its own kube client;
//! a cluster that cannot be reached, refuses us or is too slow becomes that cluster's `error`,
//! never the fleet's. [`run`] collects the results in target order; the JSON is
//! `{"clusters":[{"cluster","source","results":[...],"error"}]}`.
//!
//! Each client counts the HTTP requests it sends ([`ClusterResult::requests`]): one `/version`,
//! one discovery per API group, one list per resource kind.
//!
//! To add a kind of target: a [`Connect`] variant and how it becomes a kube client in
//! [`connect`].

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_util::{Stream, StreamExt};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::{Deserialize, Serialize};

use super::{Finding, Options as DiagnoseOptions};
use crate::palette;
use crate::runbook::Catalog;

/// Clusters diagnosed at once unless configured.
pub const DEFAULT_PARALLEL: usize = 16;
/// One cluster's limit unless configured.
pub const DEFAULT_CLUSTER_TIMEOUT: Duration = Duration::from_secs(60);
/// Palette kubeconfig downloads at once (Palette allows about 10 requests a second per address).
pub const PALETTE_CONCURRENCY: usize = 4;

/// The config's `[fleet]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FleetConfig {
    /// Clusters diagnosed at once (default 16).
    pub parallel: Option<usize>,
    /// One cluster's limit (`60s`, `2m`).
    pub cluster_timeout: Option<String>,
}

/// The flags `runbook diagnose` adds for fleets, Palette clusters, in-cluster runs and events.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct FleetArgs {
    /// Diagnose many clusters at once: the contexts matching --contexts, or every Palette
    /// cluster of the project (--palette).
    #[arg(long)]
    pub fleet: bool,
    /// With --fleet: the kubeconfig contexts whose names match GLOB (`prod-*`, `*`).
    #[arg(
        long,
        value_name = "GLOB",
        requires = "fleet",
        conflicts_with = "palette"
    )]
    pub contexts: Option<String>,
    /// With --fleet: every cluster of the Palette project (see --project).
    #[arg(long, requires = "fleet")]
    pub palette: bool,
    /// Palette project, name or uid (default: `PALETTE_PROJECT`, then `[palette] project`).
    #[arg(long, value_name = "NAME|UID")]
    pub project: Option<String>,
    /// With --fleet: clusters diagnosed at once (default: `[fleet] parallel`, else 16).
    #[arg(long, value_name = "N", requires = "fleet")]
    pub parallel: Option<usize>,
    /// With --fleet: one cluster's limit as a whole (default: `[fleet] cluster_timeout`, else 60s).
    #[arg(long, value_name = "DUR", requires = "fleet", value_parser = crate::duration::limit_arg)]
    pub cluster_timeout: Option<Duration>,
    /// Diagnose this Palette cluster: its kubeconfig is fetched with your Palette API key.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["fleet", "context", "kubeconfig"])]
    pub palette_cluster: Option<String>,
    /// Use the pod's service account (`KUBERNETES_SERVICE_HOST`, its token and CA); the default
    /// when there is no kubeconfig at all and that variable is set.
    #[arg(long, conflicts_with_all = ["fleet", "context", "kubeconfig", "palette_cluster"])]
    pub in_cluster: bool,
    /// Record each match as a Kubernetes Event (reason `RunbookMatch`) on the object its
    /// evidence names, so `kubectl get events` and Palette show it.
    #[arg(long, conflicts_with = "fleet")]
    pub emit_events: bool,
}

/// Where a cluster of the fleet comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Context,
    Palette,
}

/// How to reach one cluster.
#[derive(Clone)]
pub enum Connect {
    /// A context of a (merged) kubeconfig.
    Kubeconfig {
        kubeconfig: Arc<Kubeconfig>,
        context: String,
    },
    /// A Palette cluster: its kubeconfig is fetched first.
    Palette {
        client: Arc<palette::Client>,
        cluster: palette::Cluster,
        /// Bounds the downloads in flight.
        gate: Arc<tokio::sync::Semaphore>,
    },
}

impl std::fmt::Debug for Connect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Kubeconfig { context, .. } => write!(f, "Kubeconfig({context})"),
            Self::Palette { cluster, .. } => write!(f, "Palette({})", cluster.name),
        }
    }
}

/// One cluster to diagnose.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    pub source: Source,
    pub connect: Connect,
}

/// One cluster's outcome.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterResult {
    pub cluster: String,
    pub source: Source,
    pub results: Vec<Finding>,
    pub error: Option<String>,
    /// HTTP requests sent to the cluster.
    #[serde(skip)]
    pub requests: u64,
    /// List requests among them (one per resource kind, more for long paginated lists).
    #[serde(skip)]
    pub lists: u64,
    #[serde(skip)]
    pub elapsed: Duration,
}

impl ClusterResult {
    /// Scenarios that matched.
    pub fn matched(&self) -> usize {
        self.results.iter().filter(|f| f.matched).count()
    }
}

/// Every cluster's outcome, in target order.
#[derive(Debug, Clone, Default, Serialize)]
pub struct FleetReport {
    pub clusters: Vec<ClusterResult>,
}

impl FleetReport {
    /// 0 when every cluster was reached, 2 when none was, 1 in between.
    pub fn exit_code(&self) -> u8 {
        let failed = self.clusters.iter().filter(|c| c.error.is_some()).count();
        if failed == 0 {
            0
        } else if failed == self.clusters.len() {
            2
        } else {
            1
        }
    }
}

/// How a fleet run is bounded.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub parallel: usize,
    pub cluster_timeout: Duration,
    /// Each API call and check within a cluster.
    pub diagnose: DiagnoseOptions,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            parallel: DEFAULT_PARALLEL,
            cluster_timeout: DEFAULT_CLUSTER_TIMEOUT,
            diagnose: DiagnoseOptions::default(),
        }
    }
}

impl Options {
    /// The config's `[fleet]` table, then the flags.
    pub fn resolve(
        config: &FleetConfig,
        args: &FleetArgs,
        timeout: Duration,
    ) -> Result<Self, String> {
        let configured = match &config.cluster_timeout {
            Some(text) => Some(
                crate::duration::limit_arg(text)
                    .map_err(|e| format!("config [fleet] cluster_timeout: {e}"))?,
            ),
            None => None,
        };
        Ok(Self {
            parallel: args
                .parallel
                .or(config.parallel)
                .unwrap_or(DEFAULT_PARALLEL)
                .max(1),
            cluster_timeout: args
                .cluster_timeout
                .or(configured)
                .unwrap_or(DEFAULT_CLUSTER_TIMEOUT),
            diagnose: DiagnoseOptions { timeout },
        })
    }
}

/// The contexts of `kubeconfig` whose names match `glob`, by name.
pub fn context_targets(kubeconfig: Kubeconfig, glob: &str) -> Result<Vec<Target>, String> {
    let matcher = globset::Glob::new(glob)
        .map_err(|e| format!("--contexts {glob}: not a valid glob ({e})"))?
        .compile_matcher();
    let kubeconfig = Arc::new(kubeconfig);
    let mut names: Vec<String> = kubeconfig
        .contexts
        .iter()
        .map(|c| c.name.clone())
        .filter(|n| matcher.is_match(n))
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        let all: Vec<&str> = kubeconfig
            .contexts
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        return Err(format!(
            "no context matches --contexts {glob}; the kubeconfig has: {}",
            if all.is_empty() {
                "none".to_owned()
            } else {
                all.join(", ")
            }
        ));
    }
    Ok(names
        .into_iter()
        .map(|name| Target {
            name: name.clone(),
            source: Source::Context,
            connect: Connect::Kubeconfig {
                kubeconfig: Arc::clone(&kubeconfig),
                context: name,
            },
        })
        .collect())
}

/// Every cluster of the client's scope, by name.
pub async fn palette_targets(
    client: Arc<palette::Client>,
) -> Result<Vec<Target>, palette::PaletteError> {
    let mut clusters = client.clusters().await?;
    clusters.sort_by(|a, b| a.name.cmp(&b.name));
    let gate = Arc::new(tokio::sync::Semaphore::new(PALETTE_CONCURRENCY));
    Ok(clusters
        .into_iter()
        .map(|cluster| Target {
            name: cluster.name.clone(),
            source: Source::Palette,
            connect: Connect::Palette {
                client: Arc::clone(&client),
                cluster,
                gate: Arc::clone(&gate),
            },
        })
        .collect())
}

/// Diagnoses every target, `options.parallel` at a time, yielding each result as it is ready
/// (with its index in `targets`).
pub fn stream(
    targets: Vec<Target>,
    catalog: Arc<Catalog>,
    options: Options,
) -> impl Stream<Item = (usize, ClusterResult)> + Send {
    futures_util::stream::iter(targets.into_iter().enumerate())
        .map(move |(i, target)| {
            let catalog = Arc::clone(&catalog);
            async move { (i, one(target, &catalog, options).await) }
        })
        .buffer_unordered(options.parallel.max(1))
}

/// Diagnoses every target and returns the results in target order.
pub async fn run(targets: Vec<Target>, catalog: Arc<Catalog>, options: Options) -> FleetReport {
    let mut results: Vec<(usize, ClusterResult)> =
        stream(targets, catalog, options).collect().await;
    results.sort_by_key(|(i, _)| *i);
    FleetReport {
        clusters: results.into_iter().map(|(_, r)| r).collect(),
    }
}

async fn one(target: Target, catalog: &Catalog, options: Options) -> ClusterResult {
    let started = Instant::now();
    let counter = Arc::new(Counter::default());
    let work = async {
        let client = connect(&target.connect, Arc::clone(&counter), options).await?;
        super::diagnose(&client, catalog, options.diagnose)
            .await
            .map_err(|e| e.to_string())
    };
    let outcome = match tokio::time::timeout(options.cluster_timeout, work).await {
        Ok(outcome) => outcome,
        Err(_) => Err(format!(
            "no diagnosis within {} (the per-cluster limit, --cluster-timeout)",
            crate::duration::humanize(options.cluster_timeout)
        )),
    };
    let (results, error) = match outcome {
        Ok(report) => (report.results, None),
        Err(e) => (Vec::new(), Some(e)),
    };
    ClusterResult {
        cluster: target.name,
        source: target.source,
        results,
        error,
        requests: counter.requests.load(Ordering::Relaxed),
        lists: counter.lists.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}

/// A kube client for the target whose requests `counter` counts.
async fn connect(
    connect: &Connect,
    counter: Arc<Counter>,
    options: Options,
) -> Result<kube::Client, String> {
    let (kubeconfig, context) = match connect {
        Connect::Kubeconfig {
            kubeconfig,
            context,
        } => ((**kubeconfig).clone(), Some(context.clone())),
        Connect::Palette {
            client,
            cluster,
            gate,
        } => {
            let text = {
                let _permit = gate.acquire().await.map_err(|e| e.to_string())?;
                client
                    .kubeconfig(cluster, palette::Variant::Default)
                    .await
                    .map_err(|e| e.to_string())?
            };
            let kubeconfig = Kubeconfig::from_yaml(&text)
                .map_err(|e| format!("Palette's kubeconfig does not parse: {e}"))?;
            (kubeconfig, None)
        }
    };
    let mut config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &KubeConfigOptions {
            context,
            ..KubeConfigOptions::default()
        },
    )
    .await
    .map_err(|e| format!("cannot read the kubeconfig: {}", crate::cluster::plain(&e)))?;
    config.connect_timeout = Some(
        options
            .diagnose
            .timeout
            .min(crate::cluster::CONNECT_TIMEOUT),
    );
    config.read_timeout = Some(options.diagnose.timeout);
    let server = config.cluster_url.to_string();
    let client = kube::client::ClientBuilder::try_from(config)
        .map_err(|e| crate::cluster::health::explain(&e, &server))?
        .with_layer(&CountLayer(counter))
        .build();
    Ok(client)
}

/// The report as text: each cluster with its matches (and evidence) or its error, then a line
/// of totals.
pub fn render_text(report: &FleetReport, elapsed: Duration) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    for c in &report.clusters {
        let source = match c.source {
            Source::Context => "context",
            Source::Palette => "palette",
        };
        if let Some(e) = &c.error {
            let _ = writeln!(out, "{} ({source})  error: {e}", c.cluster);
            continue;
        }
        let matched: Vec<&Finding> = c.results.iter().filter(|f| f.matched).collect();
        if matched.is_empty() {
            let _ = writeln!(out, "{} ({source})  no match", c.cluster);
        } else {
            let _ = writeln!(out, "{} ({source})  {} match(es)", c.cluster, matched.len());
        }
        for (i, f) in matched.iter().enumerate() {
            let _ = writeln!(out, "  {}. {}  {}", i + 1, f.scenario, f.title);
            for e in &f.evidence {
                let _ = writeln!(out, "     - {e}");
            }
        }
    }
    let failed = report.clusters.iter().filter(|c| c.error.is_some()).count();
    let with_match = report.clusters.iter().filter(|c| c.matched() > 0).count();
    let _ = writeln!(
        out,
        "{} cluster(s): {} reached, {with_match} with a match, {failed} failed ({})",
        report.clusters.len(),
        report.clusters.len() - failed,
        crate::duration::humanize(elapsed)
    );
    out
}

/// The kubeconfig a fleet's contexts come from: `--kubeconfig`, else `KUBECONFIG` (merged), else
/// `~/.kube/config`.
pub fn load_kubeconfig(path: Option<&std::path::Path>) -> Result<Kubeconfig, String> {
    let source = match path {
        Some(p) => crate::cluster::Source::from_file(p),
        None => crate::cluster::Source::load(),
    };
    source.map(|s| s.kubeconfig).map_err(|e| e.to_string())
}

/// What one client sent: every request, and the lists among them.
#[derive(Debug, Default)]
pub struct Counter {
    pub requests: AtomicU64,
    pub lists: AtomicU64,
}

/// Counts the requests of one client.
struct CountLayer(Arc<Counter>);

impl<S> tower_layer::Layer<S> for CountLayer {
    type Service = Count<S>;
    fn layer(&self, inner: S) -> Count<S> {
        Count {
            inner,
            counter: Arc::clone(&self.0),
        }
    }
}

struct Count<S> {
    inner: S,
    counter: Arc<Counter>,
}

impl<S, B> tower_service::Service<http::Request<B>> for Count<S>
where
    S: tower_service::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        self.counter.requests.fetch_add(1, Ordering::Relaxed);
        // `fetch::list` marks its requests.
        if request.extensions().get::<&'static str>() == Some(&"list") {
            self.counter.lists.fetch_add(1, Ordering::Relaxed);
        }
        self.inner.call(request)
    }
}

/// Where a fleet's kubeconfig path comes from, for messages.
pub fn describe_source(path: Option<&std::path::Path>) -> String {
    path.map_or_else(
        || {
            std::env::var_os("KUBECONFIG")
                .filter(|v| !v.is_empty())
                .map_or_else(
                    || "~/.kube/config".to_owned(),
                    |v| v.to_string_lossy().into_owned(),
                )
        },
        |p| PathBuf::from(p).display().to_string(),
    )
}

/// What a background pass over the fleet reports, in order: the clusters it will diagnose,
/// each result as it comes, then the end (or why there was nothing to diagnose).
#[derive(Debug, Clone)]
pub enum Progress {
    Targets(Vec<(String, Source)>),
    Result(Box<ClusterResult>),
    Done,
    Failed(String),
}

/// One cluster's limit in the TUI's background passes (shorter than the CLI's: the screen waits).
pub const WATCH_CLUSTER_TIMEOUT: Duration = Duration::from_secs(20);

/// One background pass for the TUI's clusters view: every context of `kubeconfig` and, when a
/// Palette key is configured (`palette` is not [`palette::PaletteError::NoKey`]), every Palette
/// cluster; `send` gets the [`Progress`]. Runs on the current tokio runtime and returns at once.
pub fn watch(
    kubeconfig: Option<Kubeconfig>,
    palette: Result<palette::Settings, palette::PaletteError>,
    catalog: Catalog,
    send: impl Fn(Progress) + Send + Sync + 'static,
) {
    tokio::spawn(async move {
        let mut targets = Vec::new();
        let mut problems = Vec::new();
        if let Some(kubeconfig) = kubeconfig.filter(|k| !k.contexts.is_empty()) {
            match context_targets(kubeconfig, "*") {
                Ok(t) => targets.extend(t),
                Err(e) => problems.push(e),
            }
        }
        match palette {
            Err(palette::PaletteError::NoKey) => {}
            Err(e) => problems.push(e.to_string()),
            Ok(settings) => {
                let listed = async {
                    let client = palette::Client::connect(settings).await?;
                    palette_targets(Arc::new(client)).await
                }
                .await;
                match listed {
                    Ok(t) => targets.extend(t),
                    Err(e) => problems.push(e.to_string()),
                }
            }
        }
        if targets.is_empty() {
            send(Progress::Failed(if problems.is_empty() {
                "no kube contexts and no Palette API key: nothing to list".to_owned()
            } else {
                problems.join("; ")
            }));
            return;
        }
        send(Progress::Targets(
            targets.iter().map(|t| (t.name.clone(), t.source)).collect(),
        ));
        let options = Options {
            cluster_timeout: WATCH_CLUSTER_TIMEOUT,
            ..Options::default()
        };
        let mut results = stream(targets, Arc::new(catalog), options);
        while let Some((_, result)) = results.next().await {
            send(Progress::Result(Box::new(result)));
        }
        send(Progress::Done);
    });
}
