//! The practice cluster: a small Kubernetes-compatible API server, seeded with the broken state of
//! a troubleshooting scenario, that the real kubectl and kube-rs talk to.
//!
//! Layout (the server imports no UI and no app loop):
//! - [`scenario`]: fixtures under `assets/lab/` (plain manifests + `LabScenario` / `LabReaction`
//!   documents), embedded in the binary;
//! - [`kinds`]: every built-in kind of a v1.32 server, one line each over k8s-openapi's type
//!   metadata; [`resources`] builds discovery (plain and aggregated) from it and the CRDs;
//! - [`store`]: objects, resourceVersions, the watch history (bounded by count and bytes),
//!   defaults, graceful deletion, the namespace controllers;
//! - [`events`]: the Events the stand-in controllers and kubelet record (rules in
//!   `api/events.yaml`), one store served as `v1` and `events.k8s.io/v1`;
//! - `controllers`: the workload controllers, scheduler, kubelet and garbage collector
//!   (Deployment → `ReplicaSet` → Pod, `DaemonSet`, `StatefulSet`, Job), driven after each write;
//!   `scheduler`: the filters that decide whether a node can take a pod (the scheduler, the
//!   `DaemonSet` controller and the `FailedScheduling` event all read them);
//! - [`fields`]: `managedFields` and server-side apply; [`disruption`]: `PodDisruptionBudget`
//!   status and the Eviction API;
//! - admission on create: `limit_range` (`LimitRange` defaults and bounds for containers),
//!   then `quota` (`ResourceQuota` counts and compute; the controllers keep `status.used`);
//!   `cron` checks a `CronJob`'s schedule and time zone (and gives the controller its times);
//!   `priority` gives a pod its `PriorityClass`'s priority;
//! - `versions`: kinds served in a version other than the stored one (`events.k8s.io/v1`
//!   Events, `autoscaling/v1` autoscalers), converted on the way in and out; `tokens`: the
//!   service account tokens `kubectl create token` gets and the identity they carry;
//! - [`reaction`]: scenario behaviour (owners recreating pods, healing once the fix is applied);
//! - [`server`]: HTTP routes and encodings, with [`table`] and `printers` (server-side printing
//!   from `api/printers.yaml`), [`selector`], [`patch`], [`protobuf`] (request bodies, field
//!   numbers in `api/protobuf.yaml`), [`openapi`], [`encode`], [`status`] (errors), `auth`
//!   (reviews over RBAC objects), `limit` (request rate per connection) and `tls` (the lab's
//!   CA and serving certificate).
//!
//! A lab serves HTTPS and demands the bearer token its kubeconfig (mode 0600) carries, like a
//! real API server; [`LabOptions::open`] gives the plain-HTTP lab without credentials.
//! Start one with [`Lab::start`] (on the current tokio runtime) or [`Lab::start_blocking`] (on its
//! own thread, for synchronous callers and tests); both write a kubeconfig for it and return a
//! [`LabHandle`]. To add a scenario, see [`scenario`]; to add API behaviour, see [`server`] and
//! [`store`].

mod auth;
mod clock;
mod controllers;
mod cron;
pub mod disruption;
pub mod encode;
pub mod events;
pub mod fields;
pub mod kinds;
mod limit;
mod limit_range;
pub mod openapi;
pub mod patch;
mod printers;
mod priority;
pub mod protobuf;
mod quota;
pub mod reaction;
pub mod resources;
pub mod scenario;
mod scheduler;
pub mod selector;
pub mod server;
pub mod status;
pub mod store;
pub mod table;
mod tls;
mod tokens;
mod versions;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;

pub use scenario::{EMPTY, PRACTICE};
pub use store::Timing;

/// What an open (plain-HTTP) lab publishes as `kube-root-ca.crt`: it has no CA of its own.
const OPEN_LAB_CA: &str = "# the practice cluster runs without TLS (open lab): no CA\n";

/// Why a lab could not start.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("no lab scenario `{0}`; `runbook lab --list` shows the ids")]
    UnknownScenario(String),
    #[error("lab fixture {path}: {message}")]
    Fixture { path: String, message: String },
    #[error("lab fixture object rejected: {0}")]
    Seed(#[from] status::ApiError),
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "refusing to write the lab kubeconfig over your own {0}; pick another --kubeconfig path"
    )]
    UserKubeconfig(PathBuf),
    #[error(
        "refusing to replace {0}: the lab writes its helper files beside the kubeconfig; pick \
         another --kubeconfig folder"
    )]
    Exists(PathBuf),
    #[error("cannot start the lab runtime: {0}")]
    Runtime(std::io::Error),
}

/// How to start a lab.
#[derive(Debug, Clone, Default)]
pub struct LabOptions {
    /// Scenario id (`backup-stuck/restart-mgmt-pod`); None or `practice` for every scenario.
    pub scenario: Option<String>,
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Where to write the kubeconfig; None for a fresh temporary folder (removed on shutdown).
    pub kubeconfig: Option<PathBuf>,
    /// Extra objects to seed after the scenario's (tests, benchmarks).
    pub extra_objects: Vec<Value>,
    /// Simulated kubelet / namespace-controller delays.
    pub timing: Timing,
    /// The bearer token the API demands, like a real server's static token file: requests
    /// without it get `401 Unauthorized` (only `/healthz`, `/livez`, `/readyz` and `/version`
    /// answer without one). The lab's kubeconfig carries it. None: a fresh random token.
    pub token: Option<String>,
    /// Serve without any authentication. Off by default: every local user can reach
    /// 127.0.0.1, so the lab asks for the token that only its kubeconfig (mode 0600) holds.
    pub open: bool,
    /// Also serve a restricted user (`trainee`, with a token of its own) whose requests RBAC
    /// decides: the kubeconfig gets a second context for it (`runbook-lab-trainee`), made
    /// current; `runbook-lab` stays the admin's.
    pub restricted_user: bool,
    /// How long an Event lives after its last update (kube-apiserver's `--event-ttl`);
    /// None: one hour, as a real server keeps them.
    pub event_ttl: Option<std::time::Duration>,
}

/// Entry points.
pub struct Lab;

/// A running lab; dropping it stops the server.
pub struct LabHandle {
    addr: SocketAddr,
    access: Access,
    kubeconfig: PathBuf,
    /// The scenario's helper files, written beside the kubeconfig.
    files: Vec<PathBuf>,
    owned_dir: Option<PathBuf>,
    store: Arc<store::Store>,
    scenario: scenario::Scenario,
    stop: watch::Sender<bool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Lab {
    /// Start a lab on the current tokio runtime.
    pub async fn start(mut options: LabOptions) -> Result<LabHandle, LabError> {
        let identity = if options.open {
            None
        } else {
            Some(tls::identity().map_err(LabError::Runtime)?)
        };
        let (store, scenario) = build(&mut options, identity.as_ref().map(|i| i.ca_pem.as_str()))?;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port))
            .await
            .map_err(|source| LabError::Bind {
                port: options.port,
                source,
            })?;
        let addr = listener.local_addr().map_err(|source| LabError::Bind {
            port: options.port,
            source,
        })?;
        let (stop, stopped) = watch::channel(false);
        let token = (!options.open).then(|| options.token.clone().unwrap_or_else(fresh_token));
        let scheme = if options.open { "http" } else { "https" };
        let restricted = options.restricted_user.then(fresh_token);
        let access = Access {
            server: format!("{scheme}://{addr}"),
            token: token.clone(),
            ca_pem: identity.as_ref().map(|i| i.ca_pem.clone()),
            restricted_token: restricted.clone(),
        };
        let (kubeconfig, files, owned_dir) = write_files(&options, &access, &scenario)?;
        let app = server::App::with_tokens(Arc::clone(&store), stopped.clone(), token, restricted);
        tokio::spawn(serve(listener, app, identity.map(|i| i.acceptor), stopped));
        Ok(LabHandle {
            addr,
            access,
            kubeconfig,
            files,
            owned_dir,
            store,
            scenario,
            stop,
            thread: None,
        })
    }

    /// Start a lab on its own thread with its own runtime (for synchronous callers and tests).
    pub fn start_blocking(options: LabOptions) -> Result<LabHandle, LabError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("runbook-lab".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = tx.send(Err(LabError::Runtime(e)));
                        return;
                    }
                };
                rt.block_on(async move {
                    match Lab::start(options).await {
                        Ok(handle) => {
                            let mut stopped = handle.stop.subscribe();
                            let _ = tx.send(Ok(handle));
                            let _ = stopped.wait_for(|s| *s).await;
                            // Let in-flight responses finish.
                            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        }
                        Err(e) => {
                            let _ = tx.send(Err(e));
                        }
                    }
                });
            })
            .map_err(LabError::Runtime)?;
        let mut handle = rx
            .recv()
            .map_err(|e| LabError::Runtime(std::io::Error::other(e.to_string())))??;
        handle.thread = Some(thread);
        Ok(handle)
    }
}

/// What a client needs to reach a lab: its URL, the token and the CA that signed its
/// certificate (both None for an open lab).
#[derive(Debug, Clone)]
struct Access {
    server: String,
    token: Option<String>,
    ca_pem: Option<String>,
    /// The restricted user's token (see [`LabOptions::restricted_user`]).
    restricted_token: Option<String>,
}

/// How long a client may take over its TLS handshake.
const HANDSHAKE: std::time::Duration = std::time::Duration::from_secs(10);

/// Accept connections until `stop`, each served on its own task with its own rate limit.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Arc<server::App>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stop.wait_for(|s| *s) => return,
            a = listener.accept() => a,
        };
        let Ok((tcp, _)) = accepted else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let (app, tls, stop) = (Arc::clone(&app), tls.clone(), stop.clone());
        tokio::spawn(async move {
            match tls {
                Some(acceptor) => {
                    if let Ok(Ok(stream)) =
                        tokio::time::timeout(HANDSHAKE, acceptor.accept(tcp)).await
                    {
                        connection(stream, app, stop).await;
                    }
                }
                None => connection(tcp, app, stop).await,
            }
        });
    }
}

/// HTTP/1.1 on one connection; ends gracefully when the lab stops.
async fn connection<S>(io: S, app: Arc<server::App>, mut stop: watch::Receiver<bool>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let bucket = Arc::new(limit::Bucket::default());
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let (app, bucket) = (Arc::clone(&app), Arc::clone(&bucket));
        async move {
            Ok::<_, std::convert::Infallible>(
                server::handle(app, &bucket, req.map(axum::body::Body::new)).await,
            )
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(io), service);
    tokio::pin!(conn);
    let stopping = tokio::select! {
        _ = conn.as_mut() => false,
        r = stop.wait_for(|s| *s) => { drop(r); true }
    };
    if stopping {
        conn.as_mut().graceful_shutdown();
        let _ = conn.await;
    }
}

/// The store seeded with the scenario and `options.extra_objects` (moved in, one at a time:
/// a lab seeded with thousands of objects never holds two copies of them).
fn build(
    options: &mut LabOptions,
    ca_pem: Option<&str>,
) -> Result<(Arc<store::Store>, scenario::Scenario), LabError> {
    let scenario = scenario::load(options.scenario.as_deref())?;
    let now = clock::now();
    let engine = reaction::Engine::new(
        scenario.reactions.clone(),
        scenario.logs.clone(),
        scenario.fixed_when_all.clone(),
    );
    let store = store::Store::new(
        options.timing,
        Box::new(disruption::Budgets(Box::new(
            controllers::Controllers::new(
                Box::new(events::Recording(Box::new(engine))),
                options.timing.kubelet_delay,
            ),
        ))),
    );
    store.set_event_ttl(options.event_ttl.unwrap_or(store::EVENT_TTL));
    if scenario.id != EMPTY {
        // A plain-HTTP lab still publishes a CA bundle, as every cluster does.
        store.set_root_ca(ca_pem.unwrap_or(OPEN_LAB_CA));
    }
    let mut objects: Vec<Value> = scenario.objects.clone();
    if options.restricted_user {
        objects.extend(scenario::parse_docs(
            "src/lab/api/restricted.yaml",
            auth::RESTRICTED_RBAC,
        )?);
    }
    let extra = std::mem::take(&mut options.extra_objects);
    store.seed(objects.into_iter().chain(extra).map(|mut o| {
        clock::resolve_times_in_place(&mut o, now);
        o
    }))?;
    Ok((store, scenario))
}

fn user_kubeconfig() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".kube").join("config"))
}

fn write(path: &Path, text: &str) -> Result<(), LabError> {
    std::fs::write(path, text).map_err(|source| LabError::Write {
        path: path.to_owned(),
        source,
    })
}

/// 256 random bits, hex.
fn fresh_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// A folder only its owner can enter (the kubeconfig in it holds the token).
fn private_dir(dir: &Path) -> Result<(), LabError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)))
        .map_err(|source| LabError::Write {
            path: dir.to_owned(),
            source,
        })
}

/// Writes the kubeconfig and the scenario's helper files beside it: (the kubeconfig, the
/// helper files, the temporary folder to remove on shutdown). In a folder the user named, a
/// file that is already there with other content is never replaced.
fn write_files(
    options: &LabOptions,
    access: &Access,
    scenario: &scenario::Scenario,
) -> Result<(PathBuf, Vec<PathBuf>, Option<PathBuf>), LabError> {
    let addr = access.server.rsplit('/').next().unwrap_or_default();
    let (path, owned) = if let Some(p) = &options.kubeconfig {
        let user = user_kubeconfig();
        let same = |a: &Path, b: &Path| {
            a == b
                || (a
                    .canonicalize()
                    .ok()
                    .is_some_and(|a| b.canonicalize().ok() == Some(a)))
        };
        if user.as_deref().is_some_and(|u| same(p, u)) {
            return Err(LabError::UserKubeconfig(p.clone()));
        }
        if let Some(parent) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| LabError::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        (p.clone(), None)
    } else {
        let dir = std::env::temp_dir().join(format!(
            "runbook-lab-{}-{}",
            std::process::id(),
            addr.rsplit(':').next().unwrap_or_default()
        ));
        private_dir(&dir)?;
        (dir.join("kubeconfig"), Some(dir))
    };
    let dir = path
        .parent()
        .map_or_else(|| PathBuf::from("."), Path::to_owned);
    // Checked before anything is written: a refusal leaves no kubeconfig behind.
    if owned.is_none() {
        for f in &scenario.files {
            let target = dir.join(&f.name);
            if std::fs::read(&target).is_ok_and(|old| old != f.content.as_bytes()) {
                return Err(LabError::Exists(target));
            }
        }
    }
    let text = access.kubeconfig(&access.server);
    crate::atomic::write_private(&path, text.as_bytes()).map_err(|source| LabError::Write {
        path: path.clone(),
        source,
    })?;
    let mut files = Vec::new();
    for f in &scenario.files {
        let target = dir.join(&f.name);
        write(&target, &f.content)?;
        files.push(target.clone());
        #[cfg(unix)]
        if f.executable {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755));
        }
    }
    Ok((path, files, owned))
}

impl Access {
    /// A kubeconfig for the lab reached at `server` (its own URL, or a proxy in front of it),
    /// with the CA and the token.
    fn kubeconfig(&self, server: &str) -> String {
        use base64::Engine as _;
        let mut text = kubeconfig_text(server);
        if let Some(ca) = &self.ca_pem {
            let data = base64::engine::general_purpose::STANDARD.encode(ca);
            text = text.replace(
                "\n    server: ",
                &format!("\n    certificate-authority-data: {data}\n    server: "),
            );
        }
        if let Some(token) = &self.token {
            text = text.replace("  user: {}\n", &format!("  user:\n    token: {token}\n"));
        }
        if let Some(token) = &self.restricted_token {
            let user = auth::RESTRICTED_USER;
            text = text
                .replace(
                    "current-context: runbook-lab\n",
                    &format!(
                        "- name: runbook-lab-{user}\n  context:\n    cluster: runbook-lab\n    user: runbook-lab-{user}\n    namespace: default\ncurrent-context: runbook-lab-{user}\n"
                    ),
                )
                .replace(
                    "preferences: {}\n",
                    &format!("- name: runbook-lab-{user}\n  user:\n    token: {token}\npreferences: {{}}\n"),
                );
        }
        text
    }
}

/// The kubeconfig text for a lab at `server` (plain HTTP on loopback, no credentials).
pub fn kubeconfig_text(server: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: runbook-lab\n  cluster:\n    server: {server}\ncontexts:\n- name: runbook-lab\n  context:\n    cluster: runbook-lab\n    user: runbook-lab\n    namespace: default\ncurrent-context: runbook-lab\nusers:\n- name: runbook-lab\n  user: {{}}\npreferences: {{}}\n"
    )
}

impl LabHandle {
    /// `https://127.0.0.1:<port>` (`http://` for an open lab).
    /// The scenario's helper files (scripts the instructions name), written beside the
    /// kubeconfig.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    pub fn url(&self) -> String {
        self.access.server.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The bearer token requests must carry (None for an open lab); the kubeconfig holds it.
    pub fn token(&self) -> Option<&str> {
        self.access.token.as_deref()
    }

    /// The PEM certificate of the CA that signed the lab's serving certificate (None for an
    /// open lab, which speaks plain HTTP); the kubeconfig holds it.
    pub fn ca_pem(&self) -> Option<&str> {
        self.access.ca_pem.as_deref()
    }

    /// A kubeconfig for this lab reached at `server` (e.g. a proxy in front of it): its CA
    /// and token, another address.
    pub fn kubeconfig_text_at(&self, server: &str) -> String {
        self.access.kubeconfig(server)
    }

    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The folder holding the kubeconfig and the scenario's helper files.
    pub fn dir(&self) -> PathBuf {
        self.kubeconfig
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned)
    }

    pub fn scenario_id(&self) -> &str {
        &self.scenario.id
    }

    pub fn scenario_title(&self) -> &str {
        &self.scenario.title
    }

    /// What the trainee does in the lab where the runbook says to act outside the cluster.
    pub fn hint(&self) -> &str {
        &self.scenario.hint
    }

    /// Shell lines that stand in for the runbook steps done outside the cluster (run them from
    /// [`LabHandle::dir`] with `KUBECONFIG` set to [`LabHandle::kubeconfig_path`]).
    pub fn stand_ins(&self) -> &[scenario::StandIn] {
        &self.scenario.stand_ins
    }

    /// One stored object by kind (`Pod`, `Namespace`, `IPClaim`); `ns` empty for cluster-scoped.
    pub fn get(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        self.store.get_by_kind(kind, ns, name)
    }

    /// Stored objects of a kind, in one namespace or all.
    pub fn list(&self, kind: &str, ns: Option<&str>) -> Vec<Value> {
        self.store.list_by_kind(kind, ns)
    }

    /// Whether the scenario's fix has been applied (its `fixedWhenAll` conditions hold).
    pub fn is_fixed(&self) -> bool {
        self.store.scenario_fixed()
    }

    /// Stop serving (and, for [`Lab::start_blocking`], wait for the thread).
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        let _ = self.stop.send(true);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(dir) = self.owned_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Drop for LabHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}
