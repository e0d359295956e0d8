//! The HTTP side: routes, content negotiation, response encoding, watches.
//!
//! One fallback handler parses every path the way `kube-apiserver` lays them out
//! (`/api/v1/namespaces/<ns>/<resource>/<name>/<subresource>`, `/apis/<group>/<version>/...`),
//! picks the verb from the method and the query (`watch=true`), and answers with the shapes
//! recorded from a real server: compact Go-style JSON, `Table` when kubectl asks for one, `Status`
//! objects for errors, `text/plain` for health checks and `404 page not found` for unknown
//! group-versions. To serve a new subresource, add it to [`subresource`]; a new top-level path
//! goes in [`route`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;

use super::auth;
use super::clock::{now, timestamp};
use super::encode;
use super::fields::Writer;
use super::limit::Bucket;
use super::openapi;
use super::patch::PatchType;
use super::protobuf;
use super::resources::{self, ResourceType};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::store::{Deleted, Event, EventKind, Live, Store};
use super::table;
use super::tokens;
use super::versions;

/// Largest request body accepted (the real server's limit for most writes is 3 MiB).
pub const MAX_BODY: usize = 3 * 1024 * 1024;

/// How much of a too-large body is read and dropped before the 413 is sent: a server that
/// answers while the client is still sending, then closes, makes the client's kernel reset
/// the connection and lose the answer.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// The body, or `None` past [`MAX_BODY`] (the rest read and dropped, up to [`DRAIN_LIMIT`]).
async fn read_body(body: Body) -> Option<Bytes> {
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len();
        if seen <= MAX_BODY {
            kept.extend_from_slice(&chunk);
        } else if seen > DRAIN_LIMIT {
            break;
        }
    }
    (seen <= MAX_BODY).then(|| Bytes::from(kept))
}
/// Requests whose bodies are being read at once; the rest wait (bounds memory under load).
const BODY_PERMITS: usize = 128;
/// What `/version` reports.
const VERSION: &str = r#"{
  "major": "1",
  "minor": "32",
  "gitVersion": "v1.32.4-runbook-lab",
  "gitCommit": "0000000000000000000000000000000000000000",
  "gitTreeState": "clean",
  "buildDate": "2026-01-01T00:00:00Z",
  "goVersion": "go1.23.8",
  "compiler": "gc",
  "platform": "linux/amd64"
}"#;
/// The checks a 1.24 kube-apiserver lists for `/readyz?verbose` and `/livez?verbose` (readyz
/// adds `informer-sync`).
const HEALTH_CHECKS: &[&str] = &[
    "ping",
    "log",
    "etcd",
    "informer-sync",
    "poststarthook/start-kube-apiserver-admission-initializer",
    "poststarthook/generic-apiserver-start-informers",
    "poststarthook/max-in-flight-filter",
    "poststarthook/start-apiextensions-informers",
    "poststarthook/start-apiextensions-controllers",
    "poststarthook/crd-informer-synced",
    "poststarthook/bootstrap-controller",
    "poststarthook/scheduling/bootstrap-system-priority-classes",
    "poststarthook/priority-and-fairness-config-producer",
    "poststarthook/start-cluster-authentication-info-controller",
    "poststarthook/start-kube-aggregator-informers",
    "poststarthook/apiservice-registration-controller",
    "poststarthook/apiservice-status-available-controller",
    "poststarthook/kube-apiserver-autoregistration",
    "autoregister-completion",
    "poststarthook/apiservice-openapi-controller",
];

/// Shared state of the HTTP handlers.
pub struct App {
    pub store: Arc<Store>,
    pub shutdown: watch::Receiver<bool>,
    permits: Semaphore,
    /// The bearer token every request must carry (None: an open lab).
    token: Option<String>,
    /// The restricted user's token, when the lab has one: its requests go through RBAC.
    restricted_token: Option<String>,
    /// Signs the service account tokens it issues (`kubectl create token`) and reads them back.
    issuer: tokens::Issuer,
}

impl App {
    pub fn new(store: Arc<Store>, shutdown: watch::Receiver<bool>) -> Arc<Self> {
        Self::with_token(store, shutdown, None)
    }

    pub fn with_token(
        store: Arc<Store>,
        shutdown: watch::Receiver<bool>,
        token: Option<String>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            shutdown,
            permits: Semaphore::new(BODY_PERMITS),
            token,
            restricted_token: None,
            issuer: tokens::Issuer::fresh(),
        })
    }

    /// The same, also accepting `restricted` as the token of [`auth::Identity::restricted`].
    pub fn with_tokens(
        store: Arc<Store>,
        shutdown: watch::Receiver<bool>,
        token: Option<String>,
        restricted: Option<String>,
    ) -> Arc<Self> {
        Arc::new(Self {
            store,
            shutdown,
            permits: Semaphore::new(BODY_PERMITS),
            token,
            restricted_token: restricted,
            issuer: tokens::Issuer::fresh(),
        })
    }

    /// The service account a token this lab issued stands for, while the token is valid: not
    /// expired, its account still there with the same uid, and the object it is bound to too.
    fn service_account(&self, token: &str) -> Option<(auth::Identity, tokens::Claims)> {
        if token.is_empty() {
            return None;
        }
        let claims = self.issuer.verify(token, now())?;
        let live_uid = |plural: &str, ns: &str, name: &str| {
            let rt = self.store.resolve("", "v1", plural)?;
            let obj = self.store.get(&rt, ns, name).ok()?;
            obj["metadata"]["uid"].as_str().map(str::to_owned)
        };
        if live_uid("serviceaccounts", &claims.namespace, &claims.name)? != claims.uid {
            return None;
        }
        if let Some((kind, name, uid)) = &claims.bound {
            let (plural, namespaced) = tokens::bound_resource(kind)?;
            let ns = if namespaced {
                claims.namespace.as_str()
            } else {
                ""
            };
            if live_uid(plural, ns, name).as_ref() != Some(uid) {
                return None;
            }
        }
        let who = auth::Identity::service_account(&claims.namespace, &claims.name);
        Some((who, claims))
    }
}

/// What a handler produced, before encoding.
enum Reply {
    Json(StatusCode, Value),
    /// Pre-encoded JSON (recorded discovery documents).
    Raw(StatusCode, String),
    /// JSON with another `Content-Type` (aggregated discovery).
    Typed(StatusCode, &'static str, Value),
    Text(StatusCode, String),
    /// 200 with another body type (`/openapi/v2` as protobuf).
    Bytes(&'static str, Vec<u8>),
    /// A protobuf answer (see [`protobuf::encode`]).
    Proto(StatusCode, Vec<u8>),
    Stream(Body),
    /// A protobuf watch stream (see [`protobuf::watch_frame`]).
    ProtoStream(Body),
    /// A `text/plain` body that stays open (`kubectl logs -f`).
    TextStream(Body),
    /// An answer with `Warning` headers (`fieldValidation=Warn`), which kubectl prints as
    /// `Warning: ...`.
    Warned(Vec<String>, Box<Reply>),
}

struct Req {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    accept: String,
    content_type: String,
    body: Bytes,
    /// Who sent it; anyone but the admin is checked against RBAC.
    who: auth::Identity,
    /// The field manager its writes are recorded under (`fieldManager`, else the User-Agent's
    /// first word).
    manager: String,
}

impl Req {
    /// Whether RBAC decides this request (the admin is bound to cluster-admin: it may do
    /// anything, and checking would cost every request).
    fn checked(&self) -> bool {
        self.who.user != auth::USER
    }

    fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.param(key), Some("true" | "1"))
    }

    /// Who writes `rt` (or its `subresource`) with this request, as `managedFields` records it.
    fn writer(&self, rt: &ResourceType, subresource: &str) -> Writer {
        Writer {
            manager: self.manager.clone(),
            api_version: rt.api_version(),
            subresource: subresource.to_owned(),
            time: super::clock::timestamp(now()),
        }
    }

    fn wants_table(&self) -> bool {
        self.accept
            .split(',')
            .any(|part| part.contains("as=Table") && part.contains("g=meta.k8s.io"))
    }
}

fn pct_decode(s: &str, plus_is_space: bool) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(b) = hex {
                    out.push(b);
                    i += 3;
                } else {
                    out.push(b'%');
                    i += 1;
                }
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (pct_decode(k, true), pct_decode(v, true))
        })
        .collect()
}

/// Paths anyone may read without credentials, as the real server's `system:public-info-viewer`
/// role grants them to `system:unauthenticated`.
fn public_info(path: &str) -> bool {
    matches!(path, "/healthz" | "/livez" | "/readyz" | "/version")
}

/// The single entry point for every request; `bucket` is its connection's rate limit.
pub async fn handle(app: Arc<App>, bucket: &Bucket, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let header = |h: header::HeaderName| {
        parts
            .headers
            .get(h)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let pretty = header(header::USER_AGENT).starts_with("curl");
    if !bucket.allow() {
        let mut resp = encode_reply(
            Reply::Json(
                StatusCode::TOO_MANY_REQUESTS,
                ApiError::too_many_requests().to_status(),
            ),
            pretty,
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        return resp;
    }
    // A static-token server answers a wrong token with a bare 401 Status; without one, only the
    // public health and version paths answer.
    let authorization = header(header::AUTHORIZATION);
    let bearer = authorization.strip_prefix("Bearer ").unwrap_or_default();
    // The static tokens first (the admin's is every request of kubectl's own context); a
    // service account token's signature is checked only when neither matches.
    let who = if app.restricted_token.as_deref() == Some(bearer) {
        Some(auth::Identity::restricted())
    } else if app.token.as_deref() == Some(bearer) {
        Some(auth::Identity::admin())
    } else if let Some((account, _)) = app.service_account(bearer) {
        Some(account)
    } else {
        app.token.is_none().then(auth::Identity::admin)
    };
    let Some(who) = who.or_else(|| {
        (authorization.is_empty() && public_info(parts.uri.path())).then(auth::Identity::admin)
    }) else {
        return encode_reply(
            Reply::Json(
                StatusCode::UNAUTHORIZED,
                ApiError::unauthorized().to_status(),
            ),
            pretty,
        );
    };
    let accept = header(header::ACCEPT);
    let content_type = header(header::CONTENT_TYPE);
    let body = if parts.method == Method::GET || parts.method == Method::HEAD {
        Bytes::new()
    } else {
        let Ok(_permit) = app.permits.acquire().await else {
            return encode_reply(
                Reply::Json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    ApiError::internal("shutting down").to_status(),
                ),
                pretty,
            );
        };
        if let Some(b) = read_body(body).await {
            b
        } else {
            let err = ApiError::too_large(MAX_BODY);
            return encode_reply(
                Reply::Json(StatusCode::PAYLOAD_TOO_LARGE, err.to_status()),
                pretty,
            );
        }
    };
    let query = parse_query(parts.uri.query().unwrap_or_default());
    let manager = Writer::manager_of(
        query
            .iter()
            .find(|(k, _)| k == "fieldManager")
            .map(|(_, v)| v.as_str()),
        &header(header::USER_AGENT),
    );
    let req = Req {
        method: parts.method.clone(),
        path: pct_decode(parts.uri.path(), false),
        query,
        manager,
        accept,
        content_type,
        body,
        who,
    };
    // A bug in a handler answers 500 instead of dropping the connection.
    let routed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| route(&app, &req)))
        .unwrap_or_else(|_| Err(ApiError::internal("the lab failed to handle this request")));
    let reply = match routed {
        Ok(r) => r,
        // The real server writes its 406 Status indented (its negotiation failed before encoding).
        Err(e) if e.code == 406 => {
            return encode_reply(Reply::Json(StatusCode::NOT_ACCEPTABLE, e.to_status()), true);
        }
        Err(e) => Reply::Json(
            StatusCode::from_u16(e.code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            e.to_status(),
        ),
    };
    let (reply, warnings) = match reply {
        Reply::Warned(warnings, reply) => (*reply, warnings),
        other => (other, Vec::new()),
    };
    let reply = match reply {
        // Protobuf where the client prefers it and the table covers the whole answer.
        Reply::Json(code, v) if protobuf::preferred(&req.accept) => match protobuf::encode(&v) {
            Some(bytes) => Reply::Proto(code, bytes),
            None => Reply::Json(code, v),
        },
        other => other,
    };
    let mut resp = encode_reply(reply, pretty);
    for w in warnings {
        // RFC 7234 warn-text: a quoted string, its quotes and backslashes escaped.
        let text = w.replace('\\', "\\\\").replace('"', "\\\"");
        if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{text}\"")) {
            resp.headers_mut().append("Warning", v);
        }
    }
    resp
}

fn base_headers(headers: &mut HeaderMap, content_type: &'static str) {
    headers.insert(
        "Audit-Id",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
            .unwrap_or(HeaderValue::from_static("0")),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, private"),
    );
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    if let Ok(v) = HeaderValue::from_str(&date) {
        headers.insert(header::DATE, v);
    }
}

fn encode_reply(reply: Reply, pretty: bool) -> Response {
    let (status, ct, body) = match reply {
        Reply::Json(status, v) => {
            let bytes = if pretty {
                encode::pretty(&v)
            } else {
                encode::compact(&v)
            };
            (status, "application/json", Body::from(bytes))
        }
        Reply::Raw(status, s) => (status, "application/json", Body::from(s)),
        Reply::Typed(status, ct, v) => {
            let bytes = if pretty {
                encode::pretty(&v)
            } else {
                encode::compact(&v)
            };
            (status, ct, Body::from(bytes))
        }
        Reply::Text(status, s) => (status, "text/plain; charset=utf-8", Body::from(s)),
        Reply::Bytes(ct, b) => (StatusCode::OK, ct, Body::from(b)),
        Reply::Proto(status, bytes) => (status, protobuf::MEDIA_TYPE, Body::from(bytes)),
        Reply::Stream(body) => (StatusCode::OK, "application/json", body),
        Reply::ProtoStream(body) => (StatusCode::OK, protobuf::WATCH_MEDIA_TYPE, body),
        Reply::TextStream(body) => (StatusCode::OK, "text/plain", body),
        Reply::Warned(_, reply) => return encode_reply(*reply, pretty),
    };
    let mut resp = Response::new(body);
    *resp.status_mut() = status;
    base_headers(resp.headers_mut(), ct);
    if ct.starts_with("text/plain") {
        resp.headers_mut().insert(
            "X-Content-Type-Options",
            HeaderValue::from_static("nosniff"),
        );
    }
    resp
}

fn page_not_found() -> Reply {
    Reply::Text(StatusCode::NOT_FOUND, "404 page not found\n".into())
}

/// Whether the client asks for aggregated discovery (`apidiscovery.k8s.io/v2`) first, as
/// kubectl 1.32 does.
fn wants_aggregated(accept: &str) -> bool {
    accept.split(',').next().is_some_and(|first| {
        first.contains("as=APIGroupDiscoveryList")
            && first.contains("g=apidiscovery.k8s.io")
            && first.split(';').any(|p| p.trim() == "v=v2")
    })
}

/// Accept checks for discovery: JSON (or anything) is fine; aggregated-only is 406.
fn check_accept(accept: &str) -> Result<(), ApiError> {
    if accept.is_empty() {
        return Ok(());
    }
    let ok = accept.split(',').any(|part| {
        let media = part.split(';').next().unwrap_or_default().trim();
        let aggregated = part.contains("as=APIGroupDiscoveryList");
        !aggregated
            && matches!(
                media,
                "application/json"
                    | "*/*"
                    | "application/*"
                    | "application/yaml"
                    | "application/vnd.kubernetes.protobuf"
                    | "application/json-patch+json"
            )
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::not_acceptable())
    }
}

fn health(req: &Req, name: &str) -> Reply {
    if req.param("verbose").is_some() {
        let mut s = String::new();
        for c in HEALTH_CHECKS {
            if *c == "informer-sync" && name != "readyz" {
                continue;
            }
            s.push_str("[+]");
            s.push_str(c);
            s.push_str(" ok\n");
        }
        if name == "readyz" {
            s.push_str("[+]shutdown ok\n");
        }
        s.push_str(name);
        s.push_str(" check passed\n");
        Reply::Text(StatusCode::OK, s)
    } else {
        Reply::Text(StatusCode::OK, "ok".into())
    }
}

fn route(app: &Arc<App>, req: &Req) -> Result<Reply, ApiError> {
    let segs: Vec<&str> = req.path.split('/').filter(|s| !s.is_empty()).collect();
    let resource_path = matches!(
        segs.as_slice(),
        ["api", "v1", _, ..] | ["apis", _, _, _, ..]
    );
    if req.checked() && !resource_path {
        let verb = req.method.as_str().to_lowercase();
        auth::authorize_path(&app.store, &req.who, &verb, &req.path)?;
    }
    match segs.as_slice() {
        ["version"] => Ok(Reply::Raw(StatusCode::OK, VERSION.into())),
        ["readyz"] => Ok(health(req, "readyz")),
        ["livez"] => Ok(health(req, "livez")),
        ["healthz"] => Ok(health(req, "healthz")),
        ["api" | "apis"] if wants_aggregated(&req.accept) => Ok(Reply::Typed(
            StatusCode::OK,
            resources::AGGREGATED,
            resources::aggregated(segs[0] == "api", &app.store.types(), &app.store.crds()),
        )),
        ["api"] => {
            check_accept(&req.accept)?;
            Ok(Reply::Raw(StatusCode::OK, resources::API_VERSIONS.into()))
        }
        ["apis"] => {
            check_accept(&req.accept)?;
            Ok(Reply::Json(
                StatusCode::OK,
                resources::api_group_list(&app.store.crds()),
            ))
        }
        ["openapi", "v2"] if openapi::v2::wants_protobuf(&req.accept) => Ok(Reply::Bytes(
            openapi::v2::PROTOBUF_ANSWER,
            openapi::v2::protobuf(&app.store.crds()),
        )),
        ["openapi", "v2"] => Ok(Reply::Json(
            StatusCode::OK,
            openapi::v2::json(&app.store.crds()),
        )),
        ["openapi", "v3"] => Ok(Reply::Json(
            StatusCode::OK,
            openapi::root(&app.store.types(), &app.store.crds()),
        )),
        ["openapi", "v3", rest @ ..] => {
            Ok(openapi::group_version(&app.store.crds(), &rest.join("/"))
                .map_or_else(page_not_found, |doc| Reply::Raw(StatusCode::OK, doc)))
        }
        ["api", "v1", rest @ ..] => resource_route(app, req, "", "v1", rest),
        ["apis", group] => {
            let list = resources::api_group_list(&app.store.crds());
            let found = list["groups"]
                .as_array()
                .and_then(|g| g.iter().find(|g| g["name"] == *group))
                .cloned();
            match found {
                Some(mut g) => {
                    g["kind"] = json!("APIGroup");
                    g["apiVersion"] = json!("v1");
                    Ok(Reply::Json(StatusCode::OK, g))
                }
                None => Ok(page_not_found()),
            }
        }
        ["apis", group, version, rest @ ..] => resource_route(app, req, group, version, rest),
        _ => Ok(page_not_found()),
    }
}

fn group_version_exists(app: &App, group: &str, version: &str) -> bool {
    app.store
        .types()
        .iter()
        .any(|t| t.group == group && t.version == version)
}

fn resource_route(
    app: &Arc<App>,
    req: &Req,
    group: &str,
    version: &str,
    rest: &[&str],
) -> Result<Reply, ApiError> {
    if !group_version_exists(app, group, version) {
        return Ok(page_not_found());
    }
    if rest.is_empty() {
        check_accept(&req.accept)?;
        return match resources::resource_list(group, version, &app.store.types()) {
            Some(doc) => Ok(Reply::Json(StatusCode::OK, doc)),
            None => Ok(page_not_found()),
        };
    }
    let (ns, res, name, sub) = resource_path(rest)?;
    let Some(rt) = app.store.resolve(group, version, res) else {
        return Err(ApiError::unknown_resource());
    };
    if (!rt.namespaced && ns.is_some()) || (rt.namespaced && ns.is_none() && name.is_some()) {
        return Err(ApiError::unknown_resource());
    }
    let ns_str = ns.unwrap_or_default();
    if req.checked() {
        auth::authorize(
            &app.store,
            &req.who,
            &auth::Request {
                verb: verb_of(req, name),
                group,
                plural: &rt.plural,
                subresource: sub.unwrap_or_default(),
                name: name.unwrap_or_default(),
                namespace: ns_str,
            },
        )?;
    }
    if req.method == Method::GET && sub != Some("log") {
        check_accept(&req.accept)?;
    }
    if let Some(conv) = versions::view_of(&rt) {
        return converted_view(app, req, (&rt, conv), ns, name, sub);
    }
    if let Some(sub) = sub {
        let name = name.unwrap_or_default();
        return subresource(app, req, &rt, ns_str, name, sub);
    }
    object_route(app, req, &rt, ns, name)
}

/// A resource path's parts after `/api/v1` or `/apis/GROUP/VERSION`: (namespace, resource,
/// name, subresource).
type ResourcePath<'a> = (Option<&'a str>, &'a str, Option<&'a str>, Option<&'a str>);

fn resource_path<'a>(rest: &[&'a str]) -> Result<ResourcePath<'a>, ApiError> {
    Ok(match *rest {
        ["namespaces", ns, res, ref tail @ ..]
            if !(tail.is_empty() && matches!(res, "status" | "finalize")) =>
        {
            match *tail {
                [] => (Some(ns), res, None, None),
                [name] => (Some(ns), res, Some(name), None),
                [name, sub] => (Some(ns), res, Some(name), Some(sub)),
                _ => return Err(ApiError::unknown_resource()),
            }
        }
        [res] => (None, res, None, None),
        [res, name] => (None, res, Some(name), None),
        [res, name, sub] => (None, res, Some(name), Some(sub)),
        _ => return Err(ApiError::unknown_resource()),
    })
}

/// The RBAC verb of a request on a resource (`name`: one object, `None`: the collection).
fn verb_of(req: &Req, name: Option<&str>) -> &'static str {
    match (&req.method, name) {
        (&Method::GET, _) if req.flag("watch") => "watch",
        (&Method::GET | &Method::HEAD, Some(_)) => "get",
        (&Method::GET | &Method::HEAD, None) => "list",
        (&Method::POST, _) => "create",
        (&Method::PUT, _) => "update",
        (&Method::PATCH, _) => "patch",
        (&Method::DELETE, Some(_)) => "delete",
        (&Method::DELETE, None) => "deletecollection",
        _ => "",
    }
}

/// One object as a server-side Table (`kubectl get KIND NAME`), at the object's own
/// resourceVersion.
fn one_row_table(rt: &ResourceType, obj: &Value) -> Reply {
    let rv = obj["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default();
    Reply::Json(StatusCode::OK, table::table(rt, &[obj], rv, None, now()))
}

/// A request on a collection (`name` `None`) or one object of a stored resource type.
fn object_route(
    app: &Arc<App>,
    req: &Req,
    rt: &ResourceType,
    ns: Option<&str>,
    name: Option<&str>,
) -> Result<Reply, ApiError> {
    let ns_str = ns.unwrap_or_default();
    match (&req.method, name) {
        (&Method::GET, None) if req.flag("watch") => watch_reply(app, req, rt, ns, None),
        (&Method::GET, None) => list(app, req, rt, ns),
        (&Method::GET, Some(name)) => {
            if req.flag("watch") {
                return watch_reply(app, req, rt, ns, Some(name));
            }
            let obj = app.store.get(rt, ns_str, name)?;
            if req.wants_table() {
                return Ok(one_row_table(rt, &obj));
            }
            Ok(Reply::Json(StatusCode::OK, obj))
        }
        (&Method::POST, None) => {
            if rt.namespaced && ns.is_none() {
                return Err(ApiError::method_not_allowed());
            }
            let mut obj = decode_body(req, rt)?;
            if rt.kind == "TokenReview" {
                return Ok(Reply::Json(StatusCode::CREATED, token_review(app, obj)));
            }
            if !rt.stored() {
                return Ok(Reply::Json(
                    StatusCode::CREATED,
                    auth::review(&app.store, &req.who, rt, ns_str, obj)?,
                ));
            }
            let warnings = field_validation(req, rt, &mut obj)?;
            if req.param("dryRun") == Some("All") {
                return Ok(warned(warnings, Reply::Json(StatusCode::CREATED, obj)));
            }
            let created = app.store.create_as(rt, ns_str, obj, &req.writer(rt, ""))?;
            Ok(warned(warnings, Reply::Json(StatusCode::CREATED, created)))
        }
        (&Method::PUT, Some(name)) => {
            let mut obj = decode_body(req, rt)?;
            let warnings = field_validation(req, rt, &mut obj)?;
            if dry_run(req) {
                app.store.get(rt, ns_str, name)?;
                return Ok(warned(warnings, Reply::Json(StatusCode::OK, obj)));
            }
            let updated = app
                .store
                .update_as(rt, ns_str, name, obj, &req.writer(rt, ""))?;
            Ok(warned(warnings, Reply::Json(StatusCode::OK, updated)))
        }
        (&Method::PATCH, Some(name)) => patch(app, req, rt, ns_str, name, None),
        (&Method::DELETE, Some(name)) if dry_run(req) => Ok(Reply::Json(
            StatusCode::OK,
            app.store.get(rt, ns_str, name)?,
        )),
        (&Method::DELETE, None) if dry_run(req) => list(app, req, rt, ns),
        (&Method::DELETE, Some(name)) => {
            let grace = grace_period(req);
            let policy = propagation_policy(req);
            match app
                .store
                .delete_with(rt, ns_str, name, grace, policy.as_deref())?
            {
                Deleted::Object(o) | Deleted::Status(o) => Ok(Reply::Json(StatusCode::OK, o)),
            }
        }
        (&Method::DELETE, None) => {
            let (labels, fields) = selectors(req, rt)?;
            let (items, rv) = app.store.delete_collection(rt, ns, &labels, &fields);
            Ok(Reply::Json(StatusCode::OK, list_doc(rt, items, rv, None)))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// A version served over another that is stored ([`versions`]: `events.k8s.io/v1` Events over
/// `v1` ones, `autoscaling/v1` autoscalers over `autoscaling/v2` ones), converted on the way in
/// and out, as the real server stores one version and serves them all. Tables print the same
/// columns for each, as the real printers do.
fn converted_view(
    app: &Arc<App>,
    req: &Req,
    (view, conv): (&ResourceType, &'static versions::Conversion),
    ns: Option<&str>,
    name: Option<&str>,
    sub: Option<&str>,
) -> Result<Reply, ApiError> {
    let Some(stored) = app
        .store
        .resolve(conv.stored_group, conv.stored_version, conv.plural)
    else {
        return Err(ApiError::unknown_resource());
    };
    if sub.is_some() {
        return Err(ApiError::unknown_resource());
    }
    let ns_str = ns.unwrap_or_default();
    let req = &stored_request(req, conv);
    let out = |v: Value| (conv.to_view)(&v);
    let current = |name: &str| {
        app.store
            .get(&stored, ns_str, name)
            .map_err(|_| ApiError::not_found(&view.group, &view.plural, name))
    };
    let body = || decode_body(req, view).map(|b| (conv.from_view)(&b));
    match (&req.method, name) {
        (&Method::GET, _) if req.flag("watch") => {
            watch_view(app, req, &stored, ns, name, Some(conv))
        }
        (&Method::GET, None) => match list(app, req, &stored, ns)? {
            Reply::Json(code, mut doc) if doc["kind"] == format!("{}List", stored.kind) => {
                doc["apiVersion"] = json!(view.api_version());
                if let Some(items) = doc["items"].as_array_mut() {
                    for item in items {
                        *item = out(std::mem::take(item));
                    }
                }
                Ok(Reply::Json(code, doc))
            }
            other => Ok(other),
        },
        (&Method::GET, Some(name)) => {
            let obj = current(name)?;
            if req.wants_table() {
                return Ok(one_row_table(&stored, &obj));
            }
            Ok(Reply::Json(StatusCode::OK, out(obj)))
        }
        (&Method::POST, None) if ns.is_some() => {
            let obj = body()?;
            if dry_run(req) {
                return Ok(Reply::Json(StatusCode::CREATED, out(obj)));
            }
            Ok(Reply::Json(
                StatusCode::CREATED,
                out(app
                    .store
                    .create_as(&stored, ns_str, obj, &req.writer(view, ""))?),
            ))
        }
        (&Method::PUT, Some(name)) => {
            let obj = body()?;
            current(name)?;
            if dry_run(req) {
                return Ok(Reply::Json(StatusCode::OK, out(obj)));
            }
            Ok(Reply::Json(
                StatusCode::OK,
                out(app
                    .store
                    .update_as(&stored, ns_str, name, obj, &req.writer(view, ""))?),
            ))
        }
        (&Method::PATCH, Some(name)) => {
            let kind = PatchType::from_content_type(&req.content_type)?;
            let patched = super::patch::apply(&out(current(name)?), &req.body, kind)?;
            if dry_run(req) {
                return Ok(Reply::Json(StatusCode::OK, patched));
            }
            let obj = (conv.from_view)(&patched);
            Ok(Reply::Json(
                StatusCode::OK,
                out(app
                    .store
                    .update_as(&stored, ns_str, name, obj, &req.writer(view, ""))?),
            ))
        }
        (&Method::DELETE, Some(name)) => {
            let obj = current(name)?;
            if dry_run(req) {
                return Ok(Reply::Json(StatusCode::OK, out(obj)));
            }
            match app.store.delete(&stored, ns_str, name, grace_period(req))? {
                Deleted::Object(o) => Ok(Reply::Json(StatusCode::OK, out(o))),
                Deleted::Status(o) => Ok(Reply::Json(StatusCode::OK, o)),
            }
        }
        (&Method::DELETE, None) => {
            let (labels, fields) = selectors(req, &stored)?;
            let (items, rv) = if dry_run(req) {
                let (items, _, rv) = app
                    .store
                    .list_page(&stored, ns, (&labels, &fields), None, 0);
                (items, rv)
            } else {
                app.store.delete_collection(&stored, ns, &labels, &fields)
            };
            let items = items.into_iter().map(out).collect();
            Ok(Reply::Json(StatusCode::OK, list_doc(view, items, rv, None)))
        }
        _ => Err(ApiError::method_not_allowed()),
    }
}

/// The request as the stored version answers it: its field selector in the stored version's
/// terms (`regarding.*` of `events.k8s.io/v1` reads `involvedObject.*`).
fn stored_request(req: &Req, conv: &versions::Conversion) -> Req {
    Req {
        method: req.method.clone(),
        path: req.path.clone(),
        query: req
            .query
            .iter()
            .map(|(k, v)| {
                let v = if k == "fieldSelector" {
                    (conv.field_selector)(v)
                } else {
                    v.clone()
                };
                (k.clone(), v)
            })
            .collect(),
        accept: req.accept.clone(),
        content_type: req.content_type.clone(),
        body: req.body.clone(),
        who: req.who.clone(),
        manager: req.manager.clone(),
    }
}

/// `dryRun=All` in the query, or in a DELETE's options body (which a real server reads
/// instead of the query): validate, answer, persist nothing.
fn dry_run(req: &Req) -> bool {
    req.param("dryRun") == Some("All")
        || serde_json::from_slice::<Value>(&req.body)
            .ok()
            .and_then(|b| b["dryRun"].as_array().cloned())
            .is_some_and(|a| a.iter().any(|v| v == "All"))
}

/// `propagationPolicy` of a DELETE (query or `DeleteOptions` body); `orphanDependents: true`
/// is the old spelling of `Orphan`.
fn propagation_policy(req: &Req) -> Option<String> {
    req.param("propagationPolicy")
        .map(str::to_owned)
        .or_else(|| {
            let body = serde_json::from_slice::<Value>(&req.body).ok()?;
            if body["orphanDependents"] == true {
                return Some("Orphan".to_owned());
            }
            body["propagationPolicy"].as_str().map(str::to_owned)
        })
}

fn grace_period(req: &Req) -> Option<i64> {
    req.param("gracePeriodSeconds")
        .and_then(|g| g.parse().ok())
        .or_else(|| {
            serde_json::from_slice::<Value>(&req.body)
                .ok()
                .and_then(|b| b["gracePeriodSeconds"].as_i64())
        })
}

fn patch(
    app: &Arc<App>,
    req: &Req,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: Option<&str>,
) -> Result<Reply, ApiError> {
    let kind = PatchType::from_content_type(&req.content_type)?;
    let who = req.writer(rt, sub.unwrap_or_default());
    if kind == PatchType::Apply {
        return apply(app, req, rt, (ns, name), &who);
    }
    if dry_run(req) {
        let mut patched = super::patch::apply(&app.store.get(rt, ns, name)?, &req.body, kind)?;
        let warnings = field_validation(req, rt, &mut patched)?;
        return Ok(warned(warnings, Reply::Json(StatusCode::OK, patched)));
    }
    // Field validation reads what the patch makes of the object, under the store's lock.
    let mut warnings = Vec::new();
    let mut validate = |patched: &mut Value| {
        warnings = field_validation(req, rt, patched)?;
        Ok(())
    };
    let stored = app
        .store
        .patch_as(rt, ns, name, (&req.body, kind), &who, &mut validate)?;
    Ok(warned(warnings, Reply::Json(StatusCode::OK, stored)))
}

/// Server-side apply (`application/apply-patch+yaml`): 201 when it created the object.
fn apply(
    app: &Arc<App>,
    req: &Req,
    rt: &ResourceType,
    (ns, name): (&str, &str),
    who: &Writer,
) -> Result<Reply, ApiError> {
    let mut config: Value =
        serde_yaml::from_slice(&req.body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    if !config.is_object() {
        return Err(ApiError::bad_request(
            "the body of the request was in an unknown format",
        ));
    }
    if config["apiVersion"].as_str().is_none_or(str::is_empty)
        || config["kind"].as_str().is_none_or(str::is_empty)
    {
        return Err(ApiError::bad_request("invalid object type: /, Kind="));
    }
    match config["metadata"]["name"].as_str() {
        Some(n) if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        Some(_) => {}
        None => config["metadata"]["name"] = json!(name),
    }
    if rt.namespaced {
        config["metadata"]["namespace"] = json!(ns);
    }
    typed_apply_config(rt, (ns, name), &config)?;
    let (obj, created) = app.store.apply(
        rt,
        (ns, name),
        &config,
        who,
        (req.flag("force"), dry_run(req)),
    )?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(Reply::Json(code, obj))
}

/// `kubectl create token`: a `TokenRequest` for service account `name`, answered with a
/// token of its own ([`tokens`]) that authenticates as the account while it lives.
fn token_request(
    app: &Arc<App>,
    req: &Req,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> Result<Reply, ApiError> {
    let account = app.store.get(rt, ns, name)?;
    let kind = ResourceType {
        kind: "TokenRequest".into(),
        group: "authentication.k8s.io".into(),
        version: "v1".into(),
        ..rt.clone()
    };
    let mut request = decode_body(req, &kind)?;
    let spec = &request["spec"];
    if let Some((field, message)) = tokens::spec_problem(spec) {
        let cause = (field.to_owned(), "FieldValueInvalid", message);
        return Err(ApiError::invalid(&kind.kind, &kind.group, name, &[cause]));
    }
    let seconds = spec["expirationSeconds"]
        .as_i64()
        .unwrap_or(tokens::DEFAULT_SECONDS);
    let audiences: Vec<String> = spec["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .filter(|a: &Vec<String>| !a.is_empty())
        .unwrap_or_else(|| vec![tokens::ISSUER.to_owned()]);
    // A bound token lives no longer than its object, which must exist now.
    let bound_ref = &spec["boundObjectRef"];
    let bound = match bound_ref["kind"].as_str() {
        None => None,
        Some(bound_kind) => {
            let Some((plural, namespaced)) = tokens::bound_resource(bound_kind) else {
                return Err(ApiError::bad_request(format!(
                    "cannot bind token to object of kind {bound_kind:?}: only Pod, Secret and Node"
                )));
            };
            let bound_ns = if namespaced { ns } else { "" };
            let bound_name = bound_ref["name"].as_str().unwrap_or_default();
            let bound_rt = app
                .store
                .resolve("", "v1", plural)
                .ok_or_else(ApiError::unknown_resource)?;
            let object = app.store.get(&bound_rt, bound_ns, bound_name)?;
            let uid = object["metadata"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            if bound_ref["uid"]
                .as_str()
                .is_some_and(|u| !u.is_empty() && u != uid)
            {
                return Err(ApiError::conflict("", plural, bound_name));
            }
            Some((bound_kind.to_owned(), bound_name.to_owned(), uid))
        }
    };
    let at = now();
    let (token, expires) = app.issuer.issue(
        &tokens::Grant {
            namespace: ns,
            name,
            uid: account["metadata"]["uid"].as_str().unwrap_or_default(),
            audiences: &audiences,
            seconds,
            bound: bound
                .as_ref()
                .map(|(k, n, u)| (k.as_str(), n.as_str(), u.as_str())),
        },
        at,
    );
    request["apiVersion"] = json!("authentication.k8s.io/v1");
    request["kind"] = json!("TokenRequest");
    request["metadata"] =
        json!({"name": name, "namespace": ns, "creationTimestamp": timestamp(at)});
    request["spec"]["audiences"] = json!(audiences);
    request["spec"]["expirationSeconds"] = json!(seconds);
    if let Some((k, n, u)) = &bound {
        request["spec"]["boundObjectRef"] =
            json!({"kind": k, "apiVersion": "v1", "name": n, "uid": u});
    }
    request["status"] = json!({"token": token, "expirationTimestamp": timestamp(expires)});
    Ok(Reply::Json(StatusCode::CREATED, request))
}

/// A `TokenReview`: a token this lab issued is its service account's, as the real
/// authenticator answers; any other is not authenticated.
fn token_review(app: &Arc<App>, mut review: Value) -> Value {
    let token = review["spec"]["token"].as_str().unwrap_or_default();
    review["status"] = match app.service_account(token) {
        Some((who, claims)) => json!({
            "authenticated": true,
            "user": {
                "username": who.user,
                "uid": claims.uid,
                "groups": who.groups,
                "extra": {"authentication.kubernetes.io/credential-id": [format!("JTI={}", claims.id)]},
            },
            "audiences": claims.audiences,
        }),
        None => {
            json!({"authenticated": false, "error": "[invalid bearer token, token lookup failed]"})
        }
    };
    review
}

/// An applied configuration must convert to the kind's typed form whatever `fieldValidation`
/// says: a field the schema lacks fails the apply as structured-merge-diff words it.
fn typed_apply_config(
    rt: &ResourceType,
    (ns, name): (&str, &str),
    config: &Value,
) -> Result<(), ApiError> {
    if rt.custom {
        return Ok(());
    }
    let errors: Vec<String> = openapi::unknown_fields(&rt.group, &rt.version, &rt.kind, config)
        .iter()
        .map(|p| {
            format!(
                "{}: field not declared in schema",
                super::fields::typed_path(config, p)
            )
        })
        .collect();
    let errors = match errors.as_slice() {
        [] => return Ok(()),
        [one] => one.clone(),
        many => format!("errors:\n  {}", many.join("\n  ")),
    };
    let ns = if rt.namespaced { ns } else { "" };
    Err(ApiError::unclassified(format!(
        "failed to create typed patch object ({ns}/{name}; {}/{}, Kind={}): {errors}",
        rt.group, rt.version, rt.kind
    )))
}

fn subresource(
    app: &Arc<App>,
    req: &Req,
    rt: &ResourceType,
    ns: &str,
    name: &str,
    sub: &str,
) -> Result<Reply, ApiError> {
    match (sub, &req.method) {
        ("status", &Method::GET) => Ok(Reply::Json(StatusCode::OK, app.store.get(rt, ns, name)?)),
        ("scale", &Method::GET | &Method::PUT | &Method::PATCH)
            if rt.subresources.iter().any(|s| s == "scale") =>
        {
            scale(app, req, rt, ns, name)
        }
        ("status", &Method::PUT) if rt.status_subresource => {
            let obj = decode_body(req, rt)?;
            if dry_run(req) {
                app.store.get(rt, ns, name)?;
                return Ok(Reply::Json(StatusCode::OK, obj));
            }
            Ok(Reply::Json(
                StatusCode::OK,
                app.store
                    .update_as(rt, ns, name, obj, &req.writer(rt, "status"))?,
            ))
        }
        ("status", &Method::PATCH) if rt.status_subresource => {
            patch(app, req, rt, ns, name, Some("status"))
        }
        ("token", &Method::POST) if rt.plural == "serviceaccounts" && rt.group.is_empty() => {
            token_request(app, req, rt, ns, name)
        }
        ("eviction", &Method::POST) if rt.plural == "pods" && rt.group.is_empty() => {
            let eviction = decode_body(
                req,
                &ResourceType {
                    kind: "Eviction".into(),
                    ..rt.clone()
                },
            )?;
            if dry_run(req) {
                app.store.get(rt, ns, name)?;
                return Ok(Reply::Json(StatusCode::CREATED, eviction));
            }
            Ok(Reply::Json(
                StatusCode::CREATED,
                super::disruption::evict(&app.store, ns, name, &eviction)?,
            ))
        }
        // Nothing runs in the practice cluster: say so with a Status, as a real server refuses
        // an upgrade it cannot serve, instead of a 404 that reads like a missing pod.
        ("exec" | "attach" | "portforward", &Method::GET | &Method::POST)
            if rt.plural == "pods" && rt.group.is_empty() =>
        {
            app.store.get(rt, ns, name)?;
            Err(ApiError::bad_request(practice_only(sub, name)))
        }
        ("proxy", _)
            if rt.group.is_empty()
                && matches!(rt.plural.as_str(), "pods" | "services" | "nodes") =>
        {
            app.store.get(rt, ns, name)?;
            Err(ApiError::service_unavailable(practice_only(sub, name)))
        }
        ("log", &Method::GET) if rt.plural == "pods" && rt.group.is_empty() => {
            let (text, started) =
                app.store
                    .container_logs(ns, name, req.param("container"), req.flag("previous"))?;
            let text = log_text(req, &text, started, now());
            if req.flag("follow") {
                // The log stays open, as a running container's does, until the client or
                // the lab goes away.
                let mut shutdown = app.shutdown.clone();
                let rest = futures_util::stream::once(async move {
                    let _ = shutdown.wait_for(|s| *s).await;
                    Ok::<_, Infallible>(Bytes::new())
                });
                let stream =
                    futures_util::stream::once(
                        async move { Ok::<_, Infallible>(Bytes::from(text)) },
                    )
                    .chain(rest);
                return Ok(Reply::TextStream(Body::from_stream(stream)));
            }
            Ok(Reply::Text(StatusCode::OK, text))
        }
        _ => Err(ApiError::unknown_resource()),
    }
}

/// The `autoscaling/v1` `Scale` of an object with replicas.
fn scale_of(obj: &Value) -> Value {
    let selector = &obj["spec"]["selector"];
    let selector = selector["matchLabels"].as_object().map_or_else(
        || {
            selector.as_object().map(|m| {
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(",")
            })
        },
        |m| {
            Some(
                m.iter()
                    .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join(","),
            )
        },
    );
    let meta = &obj["metadata"];
    json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                     "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": obj["spec"]["replicas"].as_i64().unwrap_or(1)},
        "status": {"replicas": obj["status"]["replicas"].as_i64().unwrap_or(0), "selector": selector.unwrap_or_default()},
    })
}

/// GET, PUT and PATCH on `/scale`: the object's replicas seen as a `Scale`.
fn scale(
    app: &Arc<App>,
    req: &Req,
    rt: &ResourceType,
    ns: &str,
    name: &str,
) -> Result<Reply, ApiError> {
    let current = app.store.get(rt, ns, name)?;
    if req.method == Method::GET {
        return Ok(Reply::Json(StatusCode::OK, scale_of(&current)));
    }
    let wanted = if req.method == Method::PUT {
        decode_body(
            req,
            &ResourceType {
                kind: "Scale".into(),
                ..rt.clone()
            },
        )?
    } else {
        super::patch::apply(
            &scale_of(&current),
            &req.body,
            PatchType::from_content_type(&req.content_type)?,
        )?
    };
    let Some(replicas) = wanted["spec"]["replicas"].as_i64() else {
        return Err(ApiError::bad_request("spec.replicas: Required value"));
    };
    let mut updated = current;
    updated["spec"]["replicas"] = json!(replicas);
    let out = app
        .store
        .update_as(rt, ns, name, updated, &req.writer(rt, "scale"))?;
    Ok(Reply::Json(StatusCode::OK, scale_of(&out)))
}

/// A container's log as the kubelet serves it: each line stamped one second after the one
/// before from the container's start (never later than now), filtered by `sinceSeconds` /
/// `sinceTime`, cut to `tailLines` and `limitBytes`, stamped in front with `timestamps`.
fn log_text(
    req: &Req,
    text: &str,
    started: Option<chrono::DateTime<chrono::Utc>>,
    now: chrono::DateTime<chrono::Utc>,
) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let n = i64::try_from(lines.len()).unwrap_or(i64::MAX);
    let start = started.unwrap_or(now - chrono::TimeDelta::seconds(n));
    let at = |i: usize| {
        let t = start + chrono::TimeDelta::seconds(i64::try_from(i).unwrap_or(0) + 1);
        t.min(now)
    };
    let since = req
        .param("sinceSeconds")
        .and_then(|s| s.parse::<i64>().ok())
        .map(|s| now - chrono::TimeDelta::seconds(s))
        .or_else(|| req.param("sinceTime").and_then(super::clock::parse_ts));
    let mut kept: Vec<(usize, &str)> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| since.is_none_or(|s| at(*i) >= s))
        .map(|(i, l)| (i, *l))
        .collect();
    if let Some(tail) = req.param("tailLines").and_then(|t| t.parse::<usize>().ok()) {
        let skip = kept.len().saturating_sub(tail);
        kept.drain(..skip);
    }
    let stamps = req.flag("timestamps");
    let mut out = String::new();
    for (i, line) in kept {
        if stamps {
            out.push_str(&at(i).format("%Y-%m-%dT%H:%M:%S%.9fZ ").to_string());
        }
        out.push_str(line);
        out.push('\n');
    }
    if let Some(limit) = req
        .param("limitBytes")
        .and_then(|l| l.parse::<usize>().ok())
        && out.len() > limit
    {
        let mut cut = limit;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        out.truncate(cut);
    }
    out
}

/// The one sentence the lab says where a real cluster would reach a container or a node.
fn practice_only(sub: &str, name: &str) -> String {
    let what = match sub {
        "exec" => "exec (and cp, which runs tar through exec)",
        "attach" => "attach",
        "portforward" => "port-forward",
        _ => "proxy",
    };
    format!(
        "{what} to {name} is not possible in the practice cluster (runbook lab): its pods are simulated and no container runs"
    )
}

/// `fieldValidation`, as the real server applies it to a write: fields the kind's schema
/// lacks are refused with `Strict` (strict decoding error), and otherwise dropped from `obj`:
/// silently with `Ignore`, with one warning each with `Warn` (the server's default), which
/// the caller returns as `Warning` headers ([`warned`]). Then an enum field outside its enum
/// is refused with a 422 (`Unsupported value`).
fn field_validation(
    req: &Req,
    rt: &ResourceType,
    obj: &mut Value,
) -> Result<Vec<String>, ApiError> {
    if rt.custom {
        return Ok(Vec::new());
    }
    let mode = req.param("fieldValidation").unwrap_or("Warn");
    let fields: Vec<String> = openapi::drop_unknown_fields(&rt.group, &rt.version, &rt.kind, obj)
        .iter()
        .map(|f| format!("unknown field \"{f}\""))
        .collect();
    let warnings = match mode {
        "Ignore" => Vec::new(),
        "Strict" if !fields.is_empty() => {
            return Err(ApiError::bad_request(format!(
                "{kind} in version \"{version}\" cannot be handled as a {kind}: strict decoding error: {}",
                fields.join(", "),
                kind = rt.kind,
                version = rt.version,
            )));
        }
        _ => fields,
    };
    // Then validation, after decoding as on the real server: an enum field's value must be
    // one the enum has.
    let causes: Vec<(String, &str, String)> =
        openapi::unsupported_values(&rt.group, &rt.version, &rt.kind, obj)
            .into_iter()
            .map(|(path, value, supported)| {
                let supported: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
                let message = format!(
                    "Unsupported value: {value:?}: supported values: {}",
                    supported.join(", ")
                );
                (path, "FieldValueNotSupported", message)
            })
            .collect();
    if !causes.is_empty() {
        let name = obj["metadata"]["name"].as_str().unwrap_or_default();
        return Err(ApiError::invalid(&rt.kind, &rt.group, name, &causes));
    }
    Ok(warnings)
}

/// `reply` with `warnings` as `Warning` headers (none: `reply` as it is).
fn warned(warnings: Vec<String>, reply: Reply) -> Reply {
    if warnings.is_empty() {
        reply
    } else {
        Reply::Warned(warnings, Box::new(reply))
    }
}

fn decode_body(req: &Req, rt: &ResourceType) -> Result<Value, ApiError> {
    let ct = req
        .content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim();
    let obj: Value = match ct {
        "application/vnd.kubernetes.protobuf" => protobuf::decode(&req.body)?,
        "application/yaml" => serde_yaml::from_slice(&req.body).map_err(|e| ApiError::bad_request(e.to_string()))?,
        _ => serde_json::from_slice(&req.body).map_err(|e| {
            let head: String = String::from_utf8_lossy(&req.body).chars().take(30).collect();
            // Go's encoding/json wording for the common case.
            let e = if e.is_eof() { "unexpected end of JSON input".to_owned() } else { e.to_string() };
            ApiError::bad_request(format!(
                "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: {e} ({head} ...)",
                rt.kind
            ))
        })?,
    };
    if !obj.is_object() {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): couldn't get version/kind; json parse error: not an object",
            rt.kind
        )));
    }
    if let Some(kind) = obj["kind"].as_str()
        && kind != rt.kind
        && !kind.is_empty()
    {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {}): kind {kind} does not match",
            rt.kind
        )));
    }
    Ok(obj)
}

fn selectors(req: &Req, rt: &ResourceType) -> Result<(LabelSelector, FieldSelector), ApiError> {
    let labels = LabelSelector::parse(req.param("labelSelector").unwrap_or_default())?;
    let fields = FieldSelector::parse(req.param("fieldSelector").unwrap_or_default(), rt)?;
    Ok((labels, fields))
}

fn list_doc(rt: &ResourceType, items: Vec<Value>, rv: u64, extra: Option<Value>) -> Value {
    let items: Vec<Value> = items
        .into_iter()
        .map(|mut o| {
            // Built-in list items come without kind/apiVersion from the real server.
            if !rt.custom
                && let Some(m) = o.as_object_mut()
            {
                m.remove("kind");
                m.remove("apiVersion");
            }
            o
        })
        .collect();
    let mut metadata = json!({"resourceVersion": rv.to_string()});
    if let Some(Value::Object(m)) = extra {
        for (k, v) in m {
            metadata[k] = v;
        }
    }
    json!({
        "kind": format!("{}List", rt.kind),
        "apiVersion": rt.api_version(),
        "metadata": metadata,
        "items": items,
    })
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(s: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn list(app: &Arc<App>, req: &Req, rt: &ResourceType, ns: Option<&str>) -> Result<Reply, ApiError> {
    let (labels, fields) = selectors(req, rt)?;
    let after = match req.param("continue").filter(|t| !t.is_empty()) {
        None => None,
        Some(token) => Some(
            unb64(token)
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .and_then(|v| v["start"].as_str().map(|s| s.trim_end_matches('\0').to_owned()))
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)",
                    )
                })?,
        ),
    };
    let limit = req
        .param("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(0);
    let continued = |last: Option<String>, remaining: usize, rv: u64| {
        (remaining > 0).then(|| {
            let last = last.unwrap_or_default();
            let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{last}\u{0}")});
            let encoded = encode::compact(&token);
            json!({"continue": b64(encoded.strip_suffix(b"\n").unwrap_or(&encoded)), "remainingItemCount": remaining})
        })
    };
    let selectors = (&labels, &fields);
    if req.wants_table() && req.param("includeObject") != Some("Object") {
        // Rows are made as the objects are read: no copy of each whole object first.
        let at = now();
        let page = app
            .store
            .list_page_with(rt, ns, selectors, after.as_deref(), limit, |o| {
                table::row(rt, o, at)
            });
        let extra = continued(page.last, page.remaining, page.rv);
        let mut t = table::table_of_rows(rt, page.items, &page.rv.to_string(), extra.as_ref());
        include_objects(req, rt, &mut t, &[]);
        return Ok(Reply::Json(StatusCode::OK, t));
    }
    let page = app
        .store
        .list_page_with(rt, ns, selectors, after.as_deref(), limit, Value::clone);
    let (items, rv) = (page.items, page.rv);
    let extra = continued(page.last, page.remaining, rv);
    if req.wants_table() {
        let refs: Vec<&Value> = items.iter().collect();
        let mut t = table::table(rt, &refs, &rv.to_string(), extra.as_ref(), now());
        include_objects(req, rt, &mut t, &items);
        return Ok(Reply::Json(StatusCode::OK, t));
    }
    Ok(Reply::Json(StatusCode::OK, list_doc(rt, items, rv, extra)))
}

/// `includeObject=Object` (what `kubectl get --sort-by` asks for): each row carries the whole
/// object, not its metadata; `includeObject=None`: no object.
fn include_objects(req: &Req, rt: &ResourceType, table: &mut Value, items: &[Value]) {
    let mode = req.param("includeObject").unwrap_or_default();
    if mode != "Object" && mode != "None" {
        return;
    }
    let Some(rows) = table["rows"].as_array_mut() else {
        return;
    };
    if mode == "None" {
        for row in rows.iter_mut() {
            if let Some(r) = row.as_object_mut() {
                r.remove("object");
            }
        }
        return;
    }
    for (row, item) in rows.iter_mut().zip(items) {
        let mut obj = item.clone();
        obj["kind"] = json!(rt.kind);
        obj["apiVersion"] = json!(rt.api_version());
        row["object"] = obj;
    }
}

struct WatchFilter {
    rt: ResourceType,
    ns: Option<String>,
    labels: LabelSelector,
    fields: FieldSelector,
    table: bool,
    /// Objects go out in a converted view's version (`events.k8s.io/v1` over stored `v1`).
    view: Option<&'static versions::Conversion>,
    /// Events go out as protobuf frames (the client asked for protobuf first and every object
    /// there was when the watch began could be encoded).
    proto: bool,
}

impl WatchFilter {
    fn matches(&self, o: &Value) -> bool {
        self.ns
            .as_deref()
            .is_none_or(|ns| o["metadata"]["namespace"].as_str() == Some(ns))
            && self.labels.matches(&o["metadata"]["labels"])
            && self.fields.matches(&self.rt, o)
    }

    /// The event type to send for `ev`, if any (objects moving in or out of the selection
    /// become ADDED / DELETED, like the real watch cache).
    fn translate(&self, ev: &Event) -> Option<&'static str> {
        if ev.resource != self.rt.key() {
            return None;
        }
        let now_matches = self.matches(&ev.object);
        match ev.kind {
            EventKind::Modified => {
                let was = ev.old.as_ref().is_some_and(|o| self.matches(o));
                match (was, now_matches) {
                    (true, true) => Some("MODIFIED"),
                    (false, true) => Some("ADDED"),
                    (true, false) => Some("DELETED"),
                    (false, false) => None,
                }
            }
            k => now_matches.then_some(k.as_str()),
        }
    }

    /// One event as the stream writes it; a protobuf watch meeting an object the table cannot
    /// encode ends with `410 Expired`, so the client lists again (in JSON) and watches anew.
    fn line(&self, kind: &str, obj: &Value, first: &mut bool) -> Result<Bytes, ApiError> {
        let object = if self.table {
            let rv = obj["metadata"]["resourceVersion"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut t = table::table(&self.rt, &[obj], &rv, None, now());
            if !*first {
                t["columnDefinitions"] = Value::Null;
            }
            *first = false;
            t
        } else if let Some(conv) = self.view {
            (conv.to_view)(obj)
        } else {
            obj.clone()
        };
        if self.proto {
            return protobuf::watch_frame(kind, &object)
                .map(Bytes::from)
                .ok_or_else(|| {
                    ApiError::expired("the lab cannot encode this object as protobuf: list again")
                });
        }
        Ok(Bytes::from(encode::compact(
            &json!({"type": kind, "object": object}),
        )))
    }

    /// The `ERROR` event that ends a watch.
    fn error(&self, e: &ApiError) -> Bytes {
        if self.proto {
            return protobuf::watch_frame("ERROR", &e.to_status())
                .map_or_else(|| error_line(e), Bytes::from);
        }
        error_line(e)
    }
}

/// A watch's body, as a protobuf or a JSON stream.
fn stream_reply(proto: bool, body: Body) -> Reply {
    if proto {
        Reply::ProtoStream(body)
    } else {
        Reply::Stream(body)
    }
}

fn watch_reply(
    app: &Arc<App>,
    req: &Req,
    rt: &ResourceType,
    ns: Option<&str>,
    name: Option<&str>,
) -> Result<Reply, ApiError> {
    watch_view(app, req, rt, ns, name, None)
}

fn watch_view(
    app: &Arc<App>,
    req: &Req,
    rt: &ResourceType,
    ns: Option<&str>,
    name: Option<&str>,
    view: Option<&'static versions::Conversion>,
) -> Result<Reply, ApiError> {
    let (labels, mut fields) = selectors(req, rt)?;
    if let Some(name) = name {
        // The deprecated single-object watch path means a metadata.name field selector.
        fields = FieldSelector::parse(&format!("metadata.name={name}"), rt)?;
    }
    let table = req.wants_table();
    let mut filter = WatchFilter {
        rt: rt.clone(),
        ns: ns.map(str::to_owned),
        labels,
        fields,
        table,
        view,
        proto: false,
    };
    let api_version = view.map_or_else(|| rt.api_version(), versions::Conversion::api_version);
    let wants_proto = !table
        && protobuf::watch_preferred(&req.accept)
        && protobuf::knows_kind(&api_version, &rt.kind);
    let timeout = req
        .param("timeoutSeconds")
        .and_then(|t| t.parse::<u64>().ok())
        .map(Duration::from_secs);
    let rv = req.param("resourceVersion").unwrap_or_default();
    let mut first = true;
    let mut initial: Vec<Bytes> = Vec::new();
    let (cursor, bell) = if rv.is_empty() || rv == "0" {
        let (objs, at, bell) = app.store.watch_now(rt, ns);
        let objs: Vec<&Value> = objs.iter().filter(|o| filter.matches(o)).collect();
        // Protobuf when every object there is now encodes; JSON framing otherwise.
        filter.proto = wants_proto;
        let mut lines: Result<Vec<Bytes>, ApiError> = objs
            .iter()
            .map(|o| filter.line("ADDED", o, &mut first))
            .collect();
        if lines.is_err() {
            filter.proto = false;
            first = true;
            lines = objs
                .iter()
                .map(|o| filter.line("ADDED", o, &mut first))
                .collect();
        }
        initial = lines?;
        (at, bell)
    } else {
        filter.proto = wants_proto;
        let from: u64 = rv
            .parse()
            .map_err(|_| ApiError::bad_request(format!("invalid resource version: {rv}")))?;
        match app.store.watch_from(from) {
            Ok(bell) => (from, bell),
            Err(e) => return Ok(stream_reply(filter.proto, Body::from(filter.error(&e)))),
        }
    };
    let (tx, rx) = mpsc::channel::<Queued>(WATCH_QUEUE);
    let budget = Arc::new(Semaphore::new(WATCH_BYTES));
    let proto = filter.proto;
    let watch = Watch {
        store: Arc::clone(&app.store),
        tx,
        budget,
        filter,
        first,
        cursor,
    };
    let shutdown = app.shutdown.clone();
    tokio::spawn(watch.pump(bell, initial, timeout, shutdown));
    let stream = ReceiverStream::new(rx).map(|(bytes, _permit)| Ok::<_, Infallible>(bytes));
    Ok(stream_reply(proto, Body::from_stream(stream)))
}

fn error_line(e: &ApiError) -> Bytes {
    Bytes::from(encode::compact(
        &json!({"type": "ERROR", "object": e.to_status()}),
    ))
}

/// Bytes a watch may have encoded and not yet written to its connection. A client that does
/// not read holds this much at most; the rest waits in the store's history, and once the
/// history has moved past it the watch ends with `410 Expired`.
const WATCH_BYTES: usize = 1024 * 1024;
/// Lines queued per watch (small ones; the byte budget is the real bound).
const WATCH_QUEUE: usize = 1024;
/// A watch whose client has not taken a line for this long is closed, as the real watch cache
/// closes unresponsive watchers.
const SLOW_WATCHER: Duration = Duration::from_secs(30);

/// One encoded line and its share of the watch's byte budget (released once written out).
type Queued = (Bytes, OwnedSemaphorePermit);

struct Watch {
    store: Arc<Store>,
    tx: mpsc::Sender<Queued>,
    budget: Arc<Semaphore>,
    filter: WatchFilter,
    first: bool,
    /// The resourceVersion of the last event looked at.
    cursor: u64,
}

/// Why a watch stops sending.
enum Stop {
    /// The client went away, the timeout passed, the lab is stopping, or the client is too slow.
    Closed,
    /// The history no longer holds the events after the cursor.
    Expired(ApiError),
}

impl Watch {
    /// Queue one line once the budget allows it (a line larger than the whole budget waits for
    /// the queue to empty).
    async fn send(&self, line: Bytes) -> Result<(), Stop> {
        let want = u32::try_from(line.len().clamp(1, WATCH_BYTES)).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.budget).acquire_many_owned(want);
        let Ok(Ok(permit)) = tokio::time::timeout(SLOW_WATCHER, permit).await else {
            return Err(Stop::Closed);
        };
        self.tx.send((line, permit)).await.map_err(|_| Stop::Closed)
    }

    /// Send what happened after the cursor, a budget's worth at a time.
    async fn catch_up(&mut self) -> Result<(), Stop> {
        loop {
            let events = self
                .store
                .events_after(self.cursor, WATCH_BYTES)
                .map_err(Stop::Expired)?;
            let Some(last) = events.last() else {
                return Ok(());
            };
            self.cursor = last.rv;
            for ev in events {
                if let Some(kind) = self.filter.translate(&ev) {
                    let line = self
                        .filter
                        .line(kind, &ev.object, &mut self.first)
                        .map_err(Stop::Expired)?;
                    self.send(line).await?;
                }
            }
        }
    }

    async fn pump(
        mut self,
        mut bell: Live,
        initial: Vec<Bytes>,
        timeout: Option<Duration>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let deadline = tokio::time::sleep(timeout.unwrap_or(Duration::from_secs(30 * 60)));
        tokio::pin!(deadline);
        let run = async {
            for line in initial {
                self.send(line).await?;
            }
            loop {
                self.catch_up().await?;
                tokio::select! {
                    () = self.tx.closed() => return Err::<(), Stop>(Stop::Closed),
                    changed = bell.changed() => {
                        if changed.is_err() {
                            return Err(Stop::Closed);
                        }
                    }
                }
            }
        };
        let stop = tokio::select! {
            () = &mut deadline => Stop::Closed,
            _ = shutdown.changed() => Stop::Closed,
            r = run => r.err().unwrap_or(Stop::Closed),
        };
        if let Stop::Expired(e) = stop {
            // Like the real server: one ERROR event with the 410 Status, then the end.
            let line = self.filter.error(&e);
            let want = u32::try_from(line.len()).unwrap_or(u32::MAX);
            let extra = Arc::new(Semaphore::new(line.len()));
            if let Ok(permit) = extra.acquire_many_owned(want).await {
                let _ = tokio::time::timeout(SLOW_WATCHER, self.tx.send((line, permit))).await;
            }
        }
    }
}
