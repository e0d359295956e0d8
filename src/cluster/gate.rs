//! runbook's gate: the cluster API as the commands see it in read-only and dry-run modes.
//!
//! It owns one thing: a small HTTPS server on `127.0.0.1` (a random port) that stands in
//! front of the pinned context's real API server. Commands get a kubeconfig of its own (mode
//! 0600, next to the pinned one) holding the gate's address, the certificate of a CA made for
//! this session only (its key is dropped once the gate's certificate is signed), and a random
//! per-session bearer token, which is never shown, logged or recorded. (TLS because kubectl
//! sends no bearer token over plain HTTP.) Every request with that token is decided by
//! [`policy`] and, when it may go on, forwarded with the user's own credentials as kube-rs
//! resolves them from the pinned context (client certificates, tokens, exec plugins, proxies,
//! CA bundles: a [`kube::Client`] sends the request):
//! - reads pass untouched and streamed (lists, `watch=true`, `logs -f`, discovery, `OpenAPI`,
//!   server-side Table answers); HTTP/2 where the client asks for it (ALPN), else HTTP/1.1;
//! - writes are refused with a Kubernetes `Status` (403, reason `Forbidden`, a message naming
//!   runbook's read-only mode), so kubectl prints `Error from server (Forbidden): ...`; the
//!   question-only POSTs (`selfsubjectaccessreviews`, ...) pass;
//! - in [`Mode::DryRun`] writes are forwarded with `dryRun=All` (and `dryRun: [All]` in a
//!   DELETE's body, which the API server reads instead of the query): the server validates
//!   and admits them, persists nothing, and its answer comes back with a `Warning` header
//!   saying so (kubectl prints it). An accepted DELETE of one object is answered with a
//!   `Status` `Success` naming it, without its uid: kubectl then knows not to wait for a
//!   deletion that will never come (it would wait forever);
//! - connect subresources (`exec`, `attach`, `portforward`, `proxy`, `eviction`) and protocol
//!   upgrades are refused in both modes.
//!
//! The mode is switchable while the gate runs ([`Gate::set_mode`], the TUI's `m` key), and
//! the gate follows the workspace to another context ([`Gate::retarget`]). Start one with
//! [`Gate::start`] on a tokio runtime ([`crate::cluster::Workspace::start_gate`]); dropping
//! it stops the server. The driver (`crate::drive`) holds a handle and calls [`arm`] whenever
//! its mode or pinned context changes.
//!
//! To change what passes, see [`policy`]; to add a header the gate must not forward, add it
//! to [`HOP_BY_HOP`].

pub mod policy;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use base64::Engine as _;
use http::{HeaderMap, HeaderValue, Request, Response, StatusCode, header};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Bytes, Incoming};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde_json::json;
use tokio::sync::{OnceCell, watch};

use super::{CONNECT_TIMEOUT, ClusterError, Pinned};

/// What the gate enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Writes are refused.
    ReadOnly,
    /// Writes are sent with `dryRun=All`: checked by the server, kept nowhere.
    DryRun,
}

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Self::ReadOnly => "read-only",
            Self::DryRun => "dry-run",
        }
    }
}

/// The largest request body the gate forwards (a dry-run write); the API server's own limit
/// is 3 MiB per object.
const MAX_BODY: usize = 16 * 1024 * 1024;

/// Headers that belong to one connection, not to the request: never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "authorization",
    "content-length",
];

/// What the gate says on a dry-run write's answer; kubectl prints it as `Warning: ...`.
const DRY_RUN_WARNING: &str =
    "299 - \"runbook dry run: the API server checked this write (dryRun=All) and kept nothing\"";

type Body = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// The context the gate forwards to, and its client once built.
struct Upstream {
    kubeconfig: Kubeconfig,
    context: String,
    server: String,
    client: OnceCell<kube::Client>,
}

impl Upstream {
    fn new(pinned: &Pinned) -> Self {
        Self {
            kubeconfig: pinned.kubeconfig.clone(),
            context: pinned.entry.name.clone(),
            server: pinned.entry.server.clone(),
            client: OnceCell::new(),
        }
    }

    /// The user's own client for the context: no read timeout (watches and `logs -f` stay
    /// open as long as kubectl wants), no retries (kubectl decides).
    async fn client(&self) -> Result<&kube::Client, String> {
        self.client
            .get_or_try_init(|| async {
                let mut config = kube::Config::from_custom_kubeconfig(
                    self.kubeconfig.clone(),
                    &KubeConfigOptions::default(),
                )
                .await
                .map_err(|e| {
                    format!(
                        "cannot use context `{}`: {}",
                        self.context,
                        super::plain(&e)
                    )
                })?;
                config.connect_timeout = Some(CONNECT_TIMEOUT);
                config.read_timeout = None;
                config.write_timeout = None;
                config.default_retry = false;
                kube::Client::try_from(config).map_err(|e| super::health::explain(&e, &self.server))
            })
            .await
    }
}

/// What the server task shares with the handle.
struct Shared {
    token: String,
    mode: AtomicU8,
    upstream: RwLock<Arc<Upstream>>,
    refused: AtomicU64,
    dry_runs: AtomicU64,
}

impl Shared {
    fn mode(&self) -> Mode {
        if self.mode.load(Ordering::SeqCst) == 1 {
            Mode::DryRun
        } else {
            Mode::ReadOnly
        }
    }

    fn upstream(&self) -> Arc<Upstream> {
        match self.upstream.read() {
            Ok(u) => Arc::clone(&u),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

/// A running gate. Dropping it stops the server.
pub struct Gate {
    addr: SocketAddr,
    shared: Arc<Shared>,
    kubeconfig: RwLock<PathBuf>,
    /// The pinned context's own kubeconfig (what commands get back outside the modes).
    pinned: RwLock<PathBuf>,
    /// The gate's private folder (0700) for its kubeconfig: it lives as long as the gate, so
    /// the gate can follow a step's kubeconfig from one workspace to the next.
    dir: tempfile::TempDir,
    stop: watch::Sender<bool>,
    ca_pem: String,
}

impl std::fmt::Debug for Gate {
    // The token is a secret: never in a Debug string.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("addr", &self.addr)
            .field("mode", &self.mode())
            .finish_non_exhaustive()
    }
}

impl Gate {
    /// Starts a gate for `pinned` on the current tokio runtime, writing its kubeconfig into a
    /// private folder of its own.
    pub fn start(pinned: &Pinned, mode: Mode) -> Result<Self, ClusterError> {
        let dir = super::private_dir().map_err(|source| ClusterError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        let bind_error = |source| ClusterError::Write {
            path: PathBuf::from("127.0.0.1"),
            source,
        };
        let std_listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(bind_error)?;
        std_listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = std_listener.local_addr().map_err(bind_error)?;
        let listener = tokio::net::TcpListener::from_std(std_listener).map_err(bind_error)?;
        let (ca_pem, tls) = tls_config().map_err(|e| {
            ClusterError::Invalid(format!("cannot make the gate's certificate: {e}"))
        })?;
        let token = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        let shared = Arc::new(Shared {
            token,
            mode: AtomicU8::new(0),
            upstream: RwLock::new(Arc::new(Upstream::new(pinned))),
            refused: AtomicU64::new(0),
            dry_runs: AtomicU64::new(0),
        });
        let (stop, stopped) = watch::channel(false);
        let gate = Self {
            addr,
            shared: Arc::clone(&shared),
            kubeconfig: RwLock::new(PathBuf::new()),
            pinned: RwLock::new(pinned.path.clone()),
            dir,
            stop,
            ca_pem,
        };
        gate.set_mode(mode);
        gate.write_kubeconfig(pinned)?;
        let acceptor = tokio_rustls::TlsAcceptor::from(tls);
        tokio::spawn(serve(listener, acceptor, shared, stopped));
        Ok(gate)
    }

    /// Switches what the gate enforces, from the next request on.
    pub fn set_mode(&self, mode: Mode) {
        self.shared
            .mode
            .store(u8::from(mode == Mode::DryRun), Ordering::SeqCst);
    }

    pub fn mode(&self) -> Mode {
        self.shared.mode()
    }

    /// Forwards to another pinned context from now on, and rewrites the kubeconfig.
    pub fn retarget(&self, pinned: &Pinned) -> Result<(), ClusterError> {
        let next = Arc::new(Upstream::new(pinned));
        match self.shared.upstream.write() {
            Ok(mut u) => *u = next,
            Err(poisoned) => *poisoned.into_inner() = next,
        }
        match self.pinned.write() {
            Ok(mut p) => p.clone_from(&pinned.path),
            Err(poisoned) => poisoned.into_inner().clone_from(&pinned.path),
        }
        self.write_kubeconfig(pinned)
    }

    /// The pinned context's own kubeconfig, which the gate forwards to.
    pub fn pinned_kubeconfig(&self) -> PathBuf {
        match self.pinned.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The kubeconfig commands use to go through the gate.
    pub fn kubeconfig(&self) -> PathBuf {
        match self.kubeconfig.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://{}", self.addr)
    }

    /// The PEM of the CA that signed the gate's certificate (made for this gate only), which
    /// clients trust through the gate's kubeconfig.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// Requests refused so far.
    pub fn refused(&self) -> u64 {
        self.shared.refused.load(Ordering::SeqCst)
    }

    /// Writes sent as server-side dry runs so far.
    pub fn dry_runs(&self) -> u64 {
        self.shared.dry_runs.load(Ordering::SeqCst)
    }

    /// The gate's kubeconfig for `pinned`: its context name and namespace, the gate's address
    /// and token. Written 0600.
    fn write_kubeconfig(&self, pinned: &Pinned) -> Result<(), ClusterError> {
        let name = &pinned.entry.name;
        let doc = json!({
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "runbook-gate", "cluster": {
                "server": self.url(),
                "certificate-authority-data": base64::engine::general_purpose::STANDARD.encode(&self.ca_pem),
            }}],
            "users": [{"name": "runbook-gate", "user": {"token": self.shared.token}}],
            "contexts": [{"name": name, "context": {
                "cluster": "runbook-gate",
                "user": "runbook-gate",
                "namespace": pinned.namespace,
            }}],
            "current-context": name,
            "preferences": {},
        });
        let text = serde_yaml::to_string(&doc).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        let path = self
            .dir
            .path()
            .join(format!("kubeconfig-{}-gate", super::file_safe(name)));
        crate::atomic::write_private(&path, text.as_bytes()).map_err(|source| {
            ClusterError::Write {
                path: path.clone(),
                source,
            }
        })?;
        match self.kubeconfig.write() {
            Ok(mut p) => *p = path,
            Err(poisoned) => *poisoned.into_inner() = path,
        }
        Ok(())
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Points the commands' environment at the gate, or away from it, for a mode: in read-only
/// and dry-run (with a gate) the gate is set to the mode and `KUBECONFIG` in `env` is the
/// gate's kubeconfig (and `BASH_ENV`/`ENV`, files a shell runs first that could point it
/// elsewhere, are dropped); otherwise a `KUBECONFIG` still naming the gate's kubeconfig goes
/// back to the pinned context's (one the commands exported themselves is left alone).
/// Returns whether the gate holds for the commands. The driver calls it whenever the mode or
/// the pinned context changes.
pub fn arm(
    gate: Option<&Gate>,
    read_only: bool,
    dry_run: bool,
    env: &mut std::collections::BTreeMap<std::ffi::OsString, std::ffi::OsString>,
) -> bool {
    let key = std::ffi::OsString::from("KUBECONFIG");
    let Some(g) = gate else {
        return false;
    };
    if read_only || dry_run {
        g.set_mode(if read_only {
            Mode::ReadOnly
        } else {
            Mode::DryRun
        });
        env.insert(key, g.kubeconfig().into_os_string());
        env.remove(std::ffi::OsStr::new("BASH_ENV"));
        env.remove(std::ffi::OsStr::new("ENV"));
        return true;
    }
    if env
        .get(&key)
        .is_some_and(|v| *v == g.kubeconfig().into_os_string())
    {
        env.insert(key, g.pinned_kubeconfig().into_os_string());
    }
    false
}

/// What holds in a mode, in one line: the `run` header and the status bar say it.
pub fn guarantee(read_only: bool, dry_run: bool, gated: bool) -> Option<&'static str> {
    match (read_only, dry_run, gated) {
        (true, _, true) => {
            Some("read-only: cluster writes blocked at the API; local commands checked")
        }
        (true, _, false) => Some(
            "read-only: commands checked, not blocked at the API (no kube context for the gate)",
        ),
        (false, true, true) => Some(
            "dry-run: cluster writes checked by the API server and kept nowhere; other commands shown, not run",
        ),
        (false, true, false) => Some("dry-run: commands shown, not run"),
        (false, false, _) => None,
    }
}

/// A CA made for this gate, and a server configuration with a certificate for `127.0.0.1`
/// signed by it. The CA's key is dropped here: nothing else can ever be signed by it.
fn tls_config() -> Result<(String, Arc<rustls::ServerConfig>), String> {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair,
    };
    let ca_key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(|e| e.to_string())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "runbook gate (this session only)");
    let issuer = CertifiedIssuer::self_signed(ca, ca_key).map_err(|e| e.to_string())?;
    let key = KeyPair::generate().map_err(|e| e.to_string())?;
    let mut leaf = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .map_err(|e| e.to_string())?;
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.distinguished_name
        .push(DnType::CommonName, "runbook gate");
    let cert = leaf.signed_by(&key, &issuer).map_err(|e| e.to_string())?;
    let chain = vec![rustls::pki_types::CertificateDer::from(cert.der().to_vec())];
    let key = rustls::pki_types::PrivateKeyDer::Pkcs8(rustls::pki_types::PrivatePkcs8KeyDer::from(
        key.serialize_der(),
    ));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok((issuer.pem(), Arc::new(config)))
}

async fn serve(
    listener: tokio::net::TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
    mut stopped: watch::Receiver<bool>,
) {
    loop {
        let accepted = tokio::select! {
            _ = stopped.changed() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((stream, _)) = accepted else {
            // Out of file descriptors or similar: give the system a moment.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let mut stopped = stopped.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper::service::service_fn(move |req| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, Infallible>(handle(&shared, req).await) }
            });
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            let conn = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service);
            tokio::select! {
                _ = conn => {}
                _ = stopped.changed() => {}
            }
        });
    }
}

async fn handle(shared: &Shared, req: Request<Incoming>) -> Response<Body> {
    let authorised = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| constant_time_eq(t.as_bytes(), shared.token.as_bytes()));
    if !authorised {
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    let upgrade =
        req.headers().contains_key(header::UPGRADE) || req.method() == http::Method::CONNECT;
    let path = req.uri().path().to_owned();
    let decision = policy::decide(req.method(), &path, upgrade, shared.mode());
    let dry_run = match decision {
        policy::Decision::Refuse(message) => {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            return status(StatusCode::FORBIDDEN, "Forbidden", &message);
        }
        policy::Decision::Pass => false,
        policy::Decision::DryRun => true,
    };
    match forward(shared, req, dry_run).await {
        Ok(resp) => {
            if dry_run {
                shared.dry_runs.fetch_add(1, Ordering::SeqCst);
            }
            resp
        }
        Err(resp) => resp,
    }
}

/// Sends the request on with the user's credentials and streams the answer back.
async fn forward(
    shared: &Shared,
    req: Request<Incoming>,
    dry_run: bool,
) -> Result<Response<Body>, Response<Body>> {
    let (parts, body) = req.into_parts();
    let mut query = parts.uri.query().map(str::to_owned);
    if dry_run {
        query = Some(policy::with_dry_run(query.as_deref()));
    }
    let path_and_query = match &query {
        Some(q) if !q.is_empty() => format!("{}?{q}", parts.uri.path()),
        _ => parts.uri.path().to_owned(),
    };
    let bytes = if body_may_be_empty(&parts.method, &parts.headers) {
        Bytes::new()
    } else {
        Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| {
                status(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLarge",
                    &format!("runbook's gate could not read the request: {e}"),
                )
            })?
            .to_bytes()
    };
    let bytes = if dry_run && parts.method == http::Method::DELETE {
        delete_options_dry_run(&parts.headers, &bytes).map_err(|message| {
            shared.refused.fetch_add(1, Ordering::SeqCst);
            status(StatusCode::FORBIDDEN, "Forbidden", &message)
        })?
    } else {
        bytes
    };
    let mut out = Request::builder()
        .method(parts.method.clone())
        .uri(path_and_query);
    if let Some(headers) = out.headers_mut() {
        copy_headers(&parts.headers, headers);
        if dry_run && parts.method == http::Method::DELETE && !bytes.is_empty() {
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
        }
    }
    let out = out.body(kube::client::Body::from(bytes)).map_err(|e| {
        status(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            &format!("runbook's gate could not forward the request: {e}"),
        )
    })?;
    let upstream = shared.upstream();
    let client = upstream
        .client()
        .await
        .map_err(|e| gateway_error(&format!("runbook's gate cannot reach the API server: {e}")))?;
    let resp = client.send(out).await.map_err(|e| {
        gateway_error(&format!(
            "runbook's gate cannot reach the API server at {}: {}",
            upstream.server,
            super::plain(&e)
        ))
    })?;
    let (mut head, body) = resp.into_parts();
    for name in [
        "connection",
        "keep-alive",
        "transfer-encoding",
        "upgrade",
        "proxy-connection",
    ] {
        head.headers.remove(name);
    }
    if dry_run {
        head.headers
            .append(header::WARNING, HeaderValue::from_static(DRY_RUN_WARNING));
        let one_object = policy::target(parts.uri.path()).name.is_some();
        if parts.method == http::Method::DELETE && one_object && head.status.is_success() {
            let mut done = dry_run_deleted(parts.uri.path());
            for (k, v) in &head.headers {
                if k != header::CONTENT_LENGTH
                    && k != header::CONTENT_TYPE
                    && k != header::CONTENT_ENCODING
                {
                    done.headers_mut().append(k.clone(), v.clone());
                }
            }
            return Ok(done);
        }
    }
    let body: Body = body.map_err(Into::into).boxed_unsync();
    Ok(Response::from_parts(head, body))
}

/// The answer to an accepted dry-run DELETE of one object: a `Status` `Success` with its name
/// and kind and no uid, so that kubectl does not wait for the object to go away.
fn dry_run_deleted(path: &str) -> Response<Body> {
    let t = policy::target(path);
    let doc = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success",
        "message": "runbook dry run: the API server accepted this delete (dryRun=All) and kept the object",
        "details": {
            "name": t.name.unwrap_or_default(),
            "group": t.group,
            "kind": t.resource.unwrap_or_default(),
        },
    });
    let mut resp = Response::new(
        Full::new(Bytes::from(doc.to_string()))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

/// GET, HEAD and friends without a length or chunked body: nothing to read.
fn body_may_be_empty(method: &http::Method, headers: &HeaderMap) -> bool {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let chunked = headers.contains_key(header::TRANSFER_ENCODING);
    matches!(*method, http::Method::GET | http::Method::HEAD)
        && !chunked
        && declared.unwrap_or(0) == 0
}

/// A DELETE's body (`DeleteOptions`) is what the API server reads instead of the query: it
/// gets `dryRun: ["All"]` too. A body that is not JSON cannot be changed safely: refused.
fn delete_options_dry_run(headers: &HeaderMap, body: &[u8]) -> Result<Bytes, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Bytes::new());
    }
    let protobuf = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("protobuf"));
    let parsed: Option<serde_json::Map<String, serde_json::Value>> = if protobuf {
        None
    } else {
        serde_json::from_slice(body).ok()
    };
    let Some(mut options) = parsed else {
        return Err(
            "runbook's dry run refuses this delete: its options are not JSON, so dryRun cannot be added"
                .to_owned(),
        );
    };
    options.insert("dryRun".to_owned(), json!(["All"]));
    serde_json::to_vec(&options)
        .map(Bytes::from)
        .map_err(|e| e.to_string())
}

fn copy_headers(from: &HeaderMap, to: &mut HeaderMap) {
    // Headers named in `Connection` are hop-by-hop too.
    let named: Vec<String> = from
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|s| s.trim().to_ascii_lowercase())
        .collect();
    for (name, value) in from {
        let n = name.as_str();
        if HOP_BY_HOP.contains(&n) || named.iter().any(|x| x == n) {
            continue;
        }
        to.append(name.clone(), value.clone());
    }
}

/// A Kubernetes `Status` answer, which kubectl prints as `Error from server (<reason>): ...`.
fn status(code: StatusCode, reason: &str, message: &str) -> Response<Body> {
    let doc = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code.as_u16(),
    });
    let bytes = Bytes::from(doc.to_string());
    let mut resp = Response::new(
        Full::new(bytes)
            .map_err(|never: Infallible| match never {})
            .boxed_unsync(),
    );
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

fn gateway_error(message: &str) -> Response<Body> {
    status(StatusCode::BAD_GATEWAY, "ServiceUnavailable", message)
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_options_get_dry_run() {
        let h = HeaderMap::new();
        let out = delete_options_dry_run(
            &h,
            br#"{"kind":"DeleteOptions","propagationPolicy":"Background","dryRun":[]}"#,
        )
        .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_default();
        assert_eq!(v["dryRun"], json!(["All"]));
        assert_eq!(v["propagationPolicy"], "Background");
        assert_eq!(
            delete_options_dry_run(&h, b"").unwrap_or_default(),
            Bytes::new()
        );
        assert!(delete_options_dry_run(&h, b"\x0a\x0b").is_err());
    }

    #[test]
    fn guarantees_say_what_holds() {
        assert_eq!(
            guarantee(true, false, true),
            Some("read-only: cluster writes blocked at the API; local commands checked")
        );
        assert_eq!(guarantee(false, false, true), None);
        assert!(guarantee(false, true, false).is_some_and(|g| g.contains("shown, not run")));
    }

    #[test]
    fn hop_by_hop_and_credentials_are_not_forwarded() {
        let mut from = HeaderMap::new();
        from.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer x"));
        from.insert(
            header::CONNECTION,
            HeaderValue::from_static("keep-alive, x-private"),
        );
        from.insert("x-private", HeaderValue::from_static("1"));
        from.insert(
            header::ACCEPT,
            HeaderValue::from_static("application/json;as=Table;v=v1;g=meta.k8s.io"),
        );
        from.insert("impersonate-user", HeaderValue::from_static("bob"));
        let mut to = HeaderMap::new();
        copy_headers(&from, &mut to);
        let names: Vec<&str> = to.keys().map(http::HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "impersonate-user"]);
    }
}
