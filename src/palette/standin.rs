//! A stand-in for the Palette API on 127.0.0.1, for practice and tests.
//!
//! It answers the operations [`super::client::Client`] uses, at the real paths, demanding the
//! real headers (`ApiKey`, optional `ProjectUid`) and answering in the real JSON shapes (every
//! field it sends is declared by the spec's definition; `tests/cluster/palette_contract.rs`
//! holds it to the schema excerpts under `tests/fixtures/palette/`):
//! - `GET /v1/dashboard/projects/metadata` (`v1ProjectsMetadata`);
//! - `POST /v1/dashboard/spectroclusters/search` (`v1SpectroClustersSearchFilterSummary`), paged
//!   by `limit` (at most 50) and `continue`;
//! - `GET /v1/spectroclusters/{uid}/assets/{kubeconfig|adminKubeconfig|frpKubeconfig|kubeconfigclient}`
//!   (octet-stream, `Content-Disposition`), `404 ResourceNotFound` while not ready;
//! - `GET /v1/overlords` and `/v1/overlords/{uid}` (`v1OverlordsList`, `v1OverlordsUidGet`);
//! - `GET /v1/events/components/spectrocluster/{uid}` (`v1EventsComponentsObjTypeUidList`).
//!
//! Errors are `V1Error` bodies (`{"code","message"}`): 401 without the key, 403 for a project the
//! key may not use, 429 with `Retry-After` when told to rate limit, 404 for anything else.
//!
//! To serve one more operation: add a row to [`ROUTES`] with a handler that answers with the
//! spec's shape.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::watch;

/// A cluster the stand-in knows.
#[derive(Debug, Clone)]
pub struct StandInCluster {
    pub name: String,
    /// 24 hex digits, like Palette's.
    pub uid: String,
    pub project_uid: String,
    pub cloud: String,
    /// `Running`, `Provisioning`, ...
    pub state: String,
    /// `Healthy`, `UnHealthy`; None: no health reported yet.
    pub health: Option<String>,
    pub kubernetes: String,
    /// The kubeconfig it hands out; None: not ready yet (404).
    pub kubeconfig: Option<String>,
    /// Free-form tags (`scenario:<id>`), shown as labels.
    pub labels: Vec<(String, String)>,
}

/// A private cloud gateway the stand-in knows.
#[derive(Debug, Clone)]
pub struct StandInGateway {
    pub name: String,
    pub uid: String,
    pub state: String,
    pub healthy: bool,
}

/// How the stand-in behaves.
#[derive(Debug, Clone, Default)]
pub struct StandInOptions {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// The API key every request must carry.
    pub key: String,
    /// `(uid, name)` of each project.
    pub projects: Vec<(String, String)>,
    /// Projects whose scope the key may not use (403).
    pub denied_projects: Vec<String>,
    pub clusters: Vec<StandInCluster>,
    pub gateways: Vec<StandInGateway>,
    /// Answer this many requests with 429 first.
    pub rate_limit_first: u32,
    /// The `Retry-After` of those 429s, in seconds.
    pub retry_after: u64,
    /// Wait this long before each answer (timeouts).
    pub delay: Duration,
}

/// What was asked, for tests: `METHOD path?query` and whether `ProjectUid` was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Logged {
    pub line: String,
    pub project: Option<String>,
    /// Every header value of the request joined (to check what travelled).
    pub headers: String,
}

struct Shared {
    options: StandInOptions,
    /// 429s still to send.
    limited: AtomicU32,
    requests: AtomicU64,
    log: Mutex<Vec<Logged>>,
    /// Unix seconds at start, for timestamps.
    started: chrono::DateTime<chrono::Utc>,
}

/// A running stand-in; dropping it stops the server.
pub struct StandIn {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl StandIn {
    /// Listens on 127.0.0.1 and serves on the current tokio runtime.
    pub async fn start(options: StandInOptions) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", options.port)).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            limited: AtomicU32::new(options.rate_limit_first),
            options,
            requests: AtomicU64::new(0),
            log: Mutex::new(Vec::new()),
            started: chrono::Utc::now(),
        });
        let (stop, mut stopped) = watch::channel(false);
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        tokio::spawn(async move {
            let graceful = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(graceful)
                .await;
        });
        Ok(Self { addr, shared, stop })
    }

    /// `http://127.0.0.1:<port>`: what `PALETTE_HOST` is set to.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests answered so far (any status).
    pub fn requests(&self) -> u64 {
        self.shared.requests.load(Ordering::Relaxed)
    }

    /// Every request so far, in order.
    pub fn log(&self) -> Vec<Logged> {
        self.shared
            .log
            .lock()
            .map(|l| l.clone())
            .unwrap_or_default()
    }

    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A uid in Palette's form (24 hex digits) from a number.
pub fn uid(prefix: u32, n: usize) -> String {
    format!("{prefix:08x}{n:016x}")
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = json!({"code": code, "message": message, "ref": "", "details": {}});
    reply(status, "application/json", body.to_string().into_bytes())
}

fn reply(status: StatusCode, content_type: &str, body: Vec<u8>) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if let Ok(v) = content_type.parse() {
        response.headers_mut().insert(header::CONTENT_TYPE, v);
    }
    response
}

fn ok_json(value: &Value) -> Response {
    reply(
        StatusCode::OK,
        "application/json",
        value.to_string().into_bytes(),
    )
}

async fn handle(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    shared.requests.fetch_add(1, Ordering::Relaxed);
    let project = header_value(&parts.headers, "ProjectUid");
    let target = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path().to_owned(), ToString::to_string);
    if let Ok(mut log) = shared.log.lock() {
        log.push(Logged {
            line: format!("{} {target}", parts.method),
            project: project.clone(),
            headers: parts
                .headers
                .values()
                .filter_map(|v| v.to_str().ok())
                .collect::<Vec<_>>()
                .join("\n"),
        });
    }
    if !shared.options.delay.is_zero() {
        tokio::time::sleep(shared.options.delay).await;
    }
    if header_value(&parts.headers, "ApiKey").as_deref() != Some(shared.options.key.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "Unauthorized",
            "Invalid or missing ApiKey",
        );
    }
    if shared
        .limited
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
    {
        let mut response = error(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            "Too many requests",
        );
        if let Ok(v) = shared.options.retry_after.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return response;
    }
    if let Some(p) = &project {
        if shared.options.denied_projects.contains(p) {
            return error(
                StatusCode::FORBIDDEN,
                "PermissionDenied",
                "The user does not have the permission to access the project",
            );
        }
        if !shared.options.projects.iter().any(|(uid, _)| uid == p) {
            return error(
                StatusCode::NOT_FOUND,
                "ResourceNotFound",
                "Project not found",
            );
        }
    }
    let body = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .unwrap_or_default();
    route(
        &shared,
        &parts.method,
        parts.uri.path(),
        parts.uri.query().unwrap_or_default(),
        project.as_deref(),
        &body,
    )
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn query_value(query: &str, name: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// One request, as the route handlers see it.
struct Call<'a> {
    shared: &'a Shared,
    query: &'a str,
    /// The `ProjectUid` header: only that project's clusters are in scope.
    project: Option<&'a str>,
    body: &'a Bytes,
}

impl Call<'_> {
    fn query(&self, name: &str) -> Option<String> {
        query_value(self.query, name)
    }

    fn in_scope(&self, cluster: &StandInCluster) -> bool {
        self.project.is_none_or(|p| cluster.project_uid == p)
    }

    /// The cluster with this uid in scope.
    fn cluster(&self, uid: &str) -> Option<&StandInCluster> {
        self.shared
            .options
            .clusters
            .iter()
            .find(|c| self.in_scope(c) && c.uid == uid)
    }
}

/// The 404 Palette sends for a cluster that is not there (or not in the project).
fn cluster_not_found() -> Response {
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        "Cluster not found",
    )
}

/// Answers a request; gets the path's `*` segments in order.
type Handler = fn(&Call<'_>, &[&str]) -> Response;

/// The operations served: method, path (`*` stands for one segment, passed to the handler),
/// handler. The first match answers; anything else is a 404.
const ROUTES: &[(&str, &[&str], Handler)] = &[
    (
        "GET",
        &["v1", "dashboard", "projects", "metadata"],
        projects_metadata,
    ),
    (
        "POST",
        &["v1", "dashboard", "spectroclusters", "search"],
        clusters_search,
    ),
    (
        "GET",
        &["v1", "spectroclusters", "*", "assets", "*"],
        cluster_asset,
    ),
    ("GET", &["v1", "overlords"], overlords),
    ("GET", &["v1", "overlords", "*"], overlord_by_uid),
    (
        "GET",
        &["v1", "events", "components", "spectrocluster", "*"],
        cluster_events,
    ),
];

fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &str,
    project: Option<&str>,
    body: &Bytes,
) -> Response {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let call = Call {
        shared,
        query,
        project,
        body,
    };
    for (verb, pattern, handler) in ROUTES {
        if method.as_str() != *verb || pattern.len() != segments.len() {
            continue;
        }
        let matches = pattern
            .iter()
            .zip(&segments)
            .all(|(want, got)| *want == "*" || want == got);
        if matches {
            let captured: Vec<&str> = pattern
                .iter()
                .zip(&segments)
                .filter(|(want, _)| **want == "*")
                .map(|(_, got)| *got)
                .collect();
            return handler(&call, &captured);
        }
    }
    error(
        StatusCode::NOT_FOUND,
        "ResourceNotFound",
        "The requested resource was not found",
    )
}

/// `GET /v1/dashboard/projects/metadata`, filtered by `name`.
fn projects_metadata(call: &Call<'_>, _: &[&str]) -> Response {
    let wanted = call.query("name");
    let items: Vec<Value> = call
        .shared
        .options
        .projects
        .iter()
        .filter(|(_, name)| wanted.as_ref().is_none_or(|w| w == name))
        .map(|(uid, name)| json!({"metadata": {"name": name, "uid": uid}}))
        .collect();
    ok_json(&json!({ "items": items }))
}

/// `POST /v1/dashboard/spectroclusters/search`, paged by `limit` and `continue`.
fn clusters_search(call: &Call<'_>, _: &[&str]) -> Response {
    let shared = call.shared;
    if !call.body.is_empty() && serde_json::from_slice::<Value>(call.body).is_err() {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "The request body is not valid JSON",
        );
    }
    let limit = call
        .query("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(50);
    if limit == 0 || limit > 50 {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "limit must be between 1 and 50",
        );
    }
    let offset = call
        .query("continue")
        .and_then(|c| c.strip_prefix("o-").and_then(|n| n.parse::<usize>().ok()))
        .unwrap_or(0);
    let mut all: Vec<&StandInCluster> = shared
        .options
        .clusters
        .iter()
        .filter(|c| call.in_scope(c))
        .collect();
    all.sort_by(|a, b| a.name.cmp(&b.name));
    let page: Vec<Value> = all
        .iter()
        .skip(offset)
        .take(limit)
        .map(|c| summary(shared, c))
        .collect();
    let next = offset + page.len();
    let token = if next < all.len() {
        format!("o-{next}")
    } else {
        String::new()
    };
    ok_json(&json!({
        "items": page,
        "listmeta": {"continue": token, "count": all.len(), "limit": limit, "offset": next},
    }))
}

/// `GET /v1/spectroclusters/{uid}/assets/{asset}`: a kubeconfig as a download.
fn cluster_asset(call: &Call<'_>, captured: &[&str]) -> Response {
    let [uid, asset] = captured else {
        return error(StatusCode::NOT_FOUND, "ResourceNotFound", "No such asset");
    };
    let Some(cluster) = call.cluster(uid) else {
        return cluster_not_found();
    };
    let frp = call.query("frp");
    let served = match *asset {
        "kubeconfig" if frp.as_deref().is_none_or(|f| f == "true" || f == "false") => {
            cluster.kubeconfig.clone()
        }
        "adminKubeconfig" | "kubeconfigclient" => cluster.kubeconfig.clone(),
        // The practice clusters have no reverse proxy.
        "frpKubeconfig" => None,
        _ => {
            return error(StatusCode::NOT_FOUND, "ResourceNotFound", "No such asset");
        }
    };
    match served {
        Some(text) => {
            let mut response = reply(
                StatusCode::OK,
                "application/octet-stream",
                text.into_bytes(),
            );
            let disposition = format!("attachment; filename={}.kubeconfig", cluster.name);
            if let Ok(v) = disposition.parse() {
                response
                    .headers_mut()
                    .insert(header::CONTENT_DISPOSITION, v);
            }
            response
        }
        None => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            &format!("{asset} for cluster {} is not available", cluster.name),
        ),
    }
}

/// `GET /v1/overlords`.
fn overlords(call: &Call<'_>, _: &[&str]) -> Response {
    let shared = call.shared;
    let items: Vec<Value> = shared
        .options
        .gateways
        .iter()
        .map(|g| overlord(shared, g))
        .collect();
    ok_json(&json!({ "items": items }))
}

/// `GET /v1/overlords/{uid}`.
fn overlord_by_uid(call: &Call<'_>, captured: &[&str]) -> Response {
    let shared = call.shared;
    match shared
        .options
        .gateways
        .iter()
        .find(|g| captured.first() == Some(&g.uid.as_str()))
    {
        Some(g) => ok_json(&overlord(shared, g)),
        None => error(
            StatusCode::NOT_FOUND,
            "ResourceNotFound",
            "Private cloud gateway not found",
        ),
    }
}

/// `GET /v1/events/components/spectrocluster/{uid}`.
fn cluster_events(call: &Call<'_>, captured: &[&str]) -> Response {
    let Some(cluster) = call.cluster(captured.first().copied().unwrap_or_default()) else {
        return cluster_not_found();
    };
    ok_json(&json!({
        "items": events(call.shared, cluster),
        "listmeta": {"continue": "", "count": 2, "limit": 50, "offset": 2},
    }))
}

/// The first 22 digits of a uid, for the uids of what belongs to it.
fn stem(uid: &str) -> &str {
    uid.get(..22).unwrap_or(uid)
}

fn stamp(shared: &Shared, seconds_before: i64) -> String {
    (shared.started - chrono::TimeDelta::seconds(seconds_before))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// A `v1SpectroClusterSummary`.
fn summary(shared: &Shared, c: &StandInCluster) -> Value {
    let project = shared
        .options
        .projects
        .iter()
        .find(|(uid, _)| *uid == c.project_uid)
        .map_or("", |(_, name)| name.as_str());
    let labels: serde_json::Map<String, Value> = c
        .labels
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    let mut status = json!({
        "state": c.state,
        "clusterImport": {"isBrownfield": false, "state": ""},
        "fips": {"mode": "none"},
        "notifications": {"isAvailable": false, "isTemplateVariableResolutionPending": false},
    });
    if let Some(health) = &c.health {
        status["health"] = json!({
            "state": health,
            "agentVersion": "4.8.0",
            "lastHeartBeatTimestamp": stamp(shared, 20),
            "conditions": [],
        });
    }
    json!({
        "metadata": {
            "name": c.name,
            "uid": c.uid,
            "annotations": {"scope": "project", "projectUid": c.project_uid},
            "labels": labels,
            "creationTimestamp": stamp(shared, 86_400),
            "lastModifiedTimestamp": stamp(shared, 600),
        },
        "specSummary": {
            "cloudConfig": {"cloudType": c.cloud, "uid": format!("{}cc", stem(&c.uid))},
            "projectMeta": {"name": project, "uid": c.project_uid},
            "clusterProfileTemplates": [{
                "name": "practice-profile",
                "uid": format!("{}cp", stem(&c.uid)),
                "cloudType": c.cloud,
                "type": "cluster",
                "version": 1,
                "scope": "project",
                "packs": [
                    {"name": "ubuntu", "layer": "os", "tag": "22.04", "type": "spectro"},
                    {"name": "kubernetes", "layer": "k8s", "tag": c.kubernetes, "type": "spectro"},
                    {"name": "cni-calico", "layer": "cni", "tag": "3.29.1", "type": "spectro"},
                ],
            }],
        },
        "status": status,
    })
}

/// A `v1Overlord`.
fn overlord(shared: &Shared, g: &StandInGateway) -> Value {
    json!({
        "kind": "overlord",
        "metadata": {
            "name": g.name,
            "uid": g.uid,
            "creationTimestamp": stamp(shared, 172_800),
            "lastModifiedTimestamp": stamp(shared, 60),
        },
        "spec": {"cloudAccountUid": "", "spectroClusterUid": "", "isSystem": false},
        "status": {
            "state": g.state,
            "isActive": g.healthy,
            "isReady": g.healthy,
            "health": {
                "state": if g.healthy { "Healthy" } else { "UnHealthy" },
                "lastHeartBeatTimestamp": stamp(shared, 30),
                "conditions": [],
            },
        },
    })
}

/// Two `v1Event`s for a cluster.
fn events(shared: &Shared, c: &StandInCluster) -> Value {
    let event = |n: u32, reason: &str, message: &str, severity: &str| {
        json!({
            "metadata": {
                "name": format!("{}.{n:x}", c.name),
                "uid": format!("{}{n:02x}", stem(&c.uid)),
                "creationTimestamp": stamp(shared, 3_600 * i64::from(n)),
                "lastModifiedTimestamp": stamp(shared, 3_600 * i64::from(n)),
            },
            "involvedObject": {"kind": "SpectroCluster", "name": c.name, "uid": c.uid},
            "relatedObject": {"kind": "spectrocluster", "name": c.name, "uid": c.uid},
            "reason": reason,
            "message": message,
            "severity": severity,
            "source": {"component": "palette", "host": ""},
        })
    };
    json!([
        event(
            1,
            "ClusterHealth",
            &format!(
                "cluster {} is {}",
                c.name,
                c.health.as_deref().unwrap_or("unknown")
            ),
            "Info"
        ),
        event(
            2,
            "ClusterState",
            &format!("cluster {} is {}", c.name, c.state),
            "Info"
        ),
    ])
}
