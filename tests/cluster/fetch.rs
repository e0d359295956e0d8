//! `runbook fetch` against a real HTTPS server started here on 127.0.0.1: hyper over
//! tokio-rustls with a certificate from a CA generated per test (rcgen). The client trusts that
//! CA only through `--ca-cert`; verification is never turned off. The real binary runs with
//! HOME and the XDG folders in a temporary folder, so the cache and config are the test's own.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::{Bytes, Frame, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde_json::Value;

// ---------------------------------------------------------------- certificates

/// A CA: its PEM and the issuer that signs server certificates.
struct Ca {
    pem: String,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

fn new_ca(name: &str) -> Ca {
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let issuer = CertifiedIssuer::self_signed(params, key).unwrap_or_else(|e| panic!("{e}"));
    Ca {
        pem: issuer.pem(),
        issuer,
    }
}

/// A rustls server config with a certificate for `names`, signed by `ca`.
fn server_tls(ca: &Ca, names: &[&str]) -> Arc<rustls::ServerConfig> {
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    let cert = CertificateParams::new(names)
        .and_then(|p| p.signed_by(&key, &ca.issuer))
        .unwrap_or_else(|e| panic!("{e}"));
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .unwrap_or_else(|e: rustls::Error| panic!("{e}"));
    Arc::new(config)
}

// ---------------------------------------------------------------- the server

#[derive(Clone)]
enum Route {
    /// A body with its `ETag`; a request with a matching `If-None-Match` gets 304.
    File { body: Vec<u8>, etag: String },
    /// 302 to this location.
    Redirect(String),
    /// A chunked body with no Content-Length that never ends.
    Endless,
}

#[derive(Debug, Clone)]
struct Hit {
    path: String,
    if_none_match: Option<String>,
}

#[derive(Default)]
struct Shared {
    routes: Mutex<BTreeMap<String, Route>>,
    hits: Mutex<Vec<Hit>>,
}

struct Server {
    base: String,
    shared: Arc<Shared>,
    runtime: Option<tokio::runtime::Runtime>,
}

type Body = BoxBody<Bytes, Infallible>;

impl Server {
    /// HTTPS with `tls`, or plain HTTP with `None`.
    fn start(tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"));
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap_or_else(|e| panic!("{e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("{e}"))
            .port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let shared = Arc::new(Shared::default());
        let state = Arc::clone(&shared);
        runtime.spawn(async move {
            let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
            while let Ok((tcp, _)) = listener.accept().await {
                let state = Arc::clone(&state);
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, Infallible>(answer(&req, &state)) }
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match acceptor {
                        Some(acceptor) => {
                            // A client that refuses the certificate ends the handshake here.
                            if let Ok(tls) = acceptor.accept(tcp).await {
                                let _ = http.serve_connection(TokioIo::new(tls), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(tcp), service).await;
                        }
                    }
                });
            }
        });
        Self {
            base: format!("{scheme}://127.0.0.1:{port}"),
            shared,
            runtime: Some(runtime),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn file(&self, path: &str, body: &str, etag: &str) {
        self.route(
            path,
            Route::File {
                body: body.as_bytes().to_vec(),
                etag: format!("\"{etag}\""),
            },
        );
    }

    fn route(&self, path: &str, route: Route) {
        self.shared
            .routes
            .lock()
            .unwrap_or_else(|e| panic!("{e}"))
            .insert(path.to_owned(), route);
    }

    fn hits(&self, path: &str) -> Vec<Hit> {
        self.shared
            .hits
            .lock()
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .filter(|h| h.path == path)
            .cloned()
            .collect()
    }

    /// Stops listening: later connections are refused.
    fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn answer(req: &Request<Incoming>, shared: &Shared) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let if_none_match = req
        .headers()
        .get(hyper::header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    shared
        .hits
        .lock()
        .unwrap_or_else(|e| panic!("{e}"))
        .push(Hit {
            path: path.clone(),
            if_none_match: if_none_match.clone(),
        });
    let route = shared
        .routes
        .lock()
        .unwrap_or_else(|e| panic!("{e}"))
        .get(&path)
        .cloned();
    let full = |b: Vec<u8>| Full::new(Bytes::from(b)).boxed();
    let mut response = Response::builder();
    let body = match route {
        Some(Route::File { body, etag }) => {
            response = response.header(hyper::header::ETAG, etag.as_str());
            if if_none_match.as_deref() == Some(etag.as_str()) {
                response = response.status(StatusCode::NOT_MODIFIED);
                full(Vec::new())
            } else {
                full(body)
            }
        }
        Some(Route::Redirect(to)) => {
            response = response
                .status(StatusCode::FOUND)
                .header(hyper::header::LOCATION, to);
            full(Vec::new())
        }
        Some(Route::Endless) => {
            let chunk = Bytes::from(vec![b'x'; 16 * 1024]);
            let frames = futures::stream::repeat_with(move || Ok(Frame::data(chunk.clone())));
            StreamBody::new(frames).boxed()
        }
        None => {
            response = response.status(StatusCode::NOT_FOUND);
            full(b"not here".to_vec())
        }
    };
    response.body(body).unwrap_or_else(|e| panic!("{e}"))
}

// ---------------------------------------------------------------- the binary

/// A user's home in a temporary folder: cache, config and the CA file live there.
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let path = self.path().join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
        path
    }

    fn ca(&self, ca: &Ca) -> String {
        self.write("ca.pem", &ca.pem).display().to_string()
    }

    fn config(&self, toml: &str) {
        self.write("config/runbook/config.toml", toml);
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_runbook"))
            .args(args)
            .current_dir(self.path())
            .env("HOME", self.path())
            .env("XDG_CACHE_HOME", self.path().join("cache"))
            .env("XDG_CONFIG_HOME", self.path().join("config"))
            .env("XDG_DATA_HOME", self.path().join("data"))
            .env_remove("SSL_CERT_FILE")
            .env_remove("SSL_CERT_DIR")
            .output()
            .unwrap_or_else(|e| panic!("runbook {args:?}: {e}"))
    }

    /// The cached body files (`fetched/<key>/<name>`).
    fn cached(&self, name: &str) -> Vec<PathBuf> {
        let root = self.path().join("cache/runbook/fetched");
        std::fs::read_dir(&root)
            .map(|dirs| {
                dirs.flatten()
                    .map(|d| d.path().join(name))
                    .filter(|p| p.is_file())
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn runbooks_json(home: &Home) -> Vec<Value> {
    let out = home.run(&["list", "--json"]);
    assert!(out.status.success(), "{}", show(&out));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    v["runbooks"].as_array().cloned().unwrap_or_default()
}

fn runbook_md(title: &str, word: &str) -> String {
    format!(
        "---\ntitle: \"{title}\"\n---\n\n## Scenario - Say The Word {{#say}}\n\nPrints a word.\n\n\
         ### Debug Steps\n\n1. Print it.\n\n   ```bash\n   echo {word}\n   ```\n"
    )
}

// ---------------------------------------------------------------- the cases

#[test]
fn a_fresh_fetch_is_cached_and_listed_with_its_origin() {
    let ca = new_ca("test CA");
    let server = Server::start(Some(server_tls(&ca, &["127.0.0.1", "localhost"])));
    server.file("/rb/disk-full.md", &runbook_md("Disk full", "one"), "v1");
    let home = Home::new();
    let url = server.url("/rb/disk-full.md");
    let out = home.run(&["fetch", "--ca-cert", &home.ca(&ca), &url]);
    assert!(out.status.success(), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!("fetched    disk-full  {url}")),
        "{}",
        show(&out)
    );

    let cached = home.cached("disk-full.md");
    assert_eq!(cached.len(), 1, "{cached:?}");
    assert_eq!(
        std::fs::read_to_string(&cached[0]).unwrap_or_default(),
        runbook_md("Disk full", "one")
    );
    // What a user fetched is theirs only: folders 0700, files 0600.
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode() & 0o777);
        let folder = cached[0].parent().unwrap_or_else(|| panic!("in a folder"));
        assert_eq!(mode(&home.path().join("cache/runbook/fetched")), 0o700);
        assert_eq!(mode(folder), 0o700);
        assert_eq!(mode(&cached[0]), 0o600);
        assert_eq!(mode(&folder.join("meta.json")), 0o600);
    }

    let runbooks = runbooks_json(&home);
    let fetched = runbooks
        .iter()
        .find(|r| r["id"] == "disk-full")
        .unwrap_or_else(|| panic!("not listed"));
    assert_eq!(fetched["origin"]["url"], url.as_str());
    assert!(
        fetched["origin"]["fetched_at"]
            .as_i64()
            .is_some_and(|t| t > 0)
    );
    assert_eq!(fetched["title"], "Disk full");
    assert_eq!(fetched["scenarios"][0]["id"], "disk-full/say");
    let bundled = runbooks
        .iter()
        .find(|r| r["id"] == "backup-stuck")
        .unwrap_or_else(|| panic!("bundled runbooks are still listed"));
    assert!(bundled["origin"].is_null());
    assert!(bundled["path"].is_string(), "every existing key is kept");

    let out = home.run(&["list"]);
    let listing = text(&out.stdout);
    assert!(
        listing.contains(&format!(
            "disk-full  Disk full  (from {url}, fetched just now)"
        )),
        "{listing}"
    );
}

#[test]
fn a_second_fetch_revalidates_with_the_etag_and_gets_304() {
    let ca = new_ca("test CA");
    let server = Server::start(Some(server_tls(&ca, &["127.0.0.1"])));
    server.file("/disk-full.md", &runbook_md("Disk full", "one"), "v1");
    let home = Home::new();
    let ca_file = home.ca(&ca);
    let url = server.url("/disk-full.md");
    let first = home.run(&["fetch", "--ca-cert", &ca_file, &url]);
    assert!(first.status.success(), "{}", show(&first));

    let second = home.run(&["fetch", "--ca-cert", &ca_file, &url]);
    assert!(second.status.success(), "{}", show(&second));
    assert!(
        text(&second.stdout).contains(&format!("unchanged  disk-full  {url} (304)")),
        "{}",
        show(&second)
    );
    let hits = server.hits("/disk-full.md");
    assert_eq!(hits.len(), 2);
    assert_eq!(hits[0].if_none_match, None);
    assert_eq!(hits[1].if_none_match.as_deref(), Some("\"v1\""));

    // New content on the server: downloaded again, and the cache holds it.
    server.file("/disk-full.md", &runbook_md("Disk full", "two"), "v2");
    let third = home.run(&["fetch", "--ca-cert", &ca_file, "--json", &url]);
    assert!(third.status.success(), "{}", show(&third));
    let v: Value = serde_json::from_slice(&third.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["results"][0]["status"], "fetched");
    assert_eq!(v["results"][0]["id"], "disk-full");
    let cached = home.cached("disk-full.md");
    assert!(
        std::fs::read_to_string(&cached[0])
            .unwrap_or_default()
            .contains("echo two")
    );
}

#[test]
fn when_the_server_is_gone_the_cached_copy_is_used_with_its_age() {
    let ca = new_ca("test CA");
    let mut server = Server::start(Some(server_tls(&ca, &["127.0.0.1"])));
    server.file("/disk-full.md", &runbook_md("Disk full", "one"), "v1");
    let home = Home::new();
    let ca_file = home.ca(&ca);
    let url = server.url("/disk-full.md");
    let never = server.url("/never-fetched.md");
    assert!(
        home.run(&["fetch", "--ca-cert", &ca_file, &url])
            .status
            .success()
    );
    server.stop();

    let out = home.run(&["fetch", "--ca-cert", &ca_file, &url]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "offline    disk-full  {url}: using the copy fetched just now"
        )),
        "{}",
        show(&out)
    );
    assert!(runbooks_json(&home).iter().any(|r| r["id"] == "disk-full"));

    // A URL with no cached copy fails, and the exit status says so.
    let out = home.run(&["fetch", "--ca-cert", &ca_file, &url, &never]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains(&format!("failed     -  {never}: cannot reach 127.0.0.1")),
        "{}",
        show(&out)
    );
}

#[test]
fn an_oversized_body_is_refused_and_the_old_copy_kept() {
    let ca = new_ca("test CA");
    let server = Server::start(Some(server_tls(&ca, &["127.0.0.1"])));
    let home = Home::new();
    let ca_file = home.ca(&ca);
    home.config("fetch_max_bytes = 1024\n");
    server.file("/disk-full.md", &runbook_md("Disk full", "small"), "v1");
    let url = server.url("/disk-full.md");
    assert!(
        home.run(&["fetch", "--ca-cert", &ca_file, &url])
            .status
            .success()
    );

    let big = format!("{}\n{}", runbook_md("Disk full", "big"), "x".repeat(4096));
    server.file("/disk-full.md", &big, "v2");
    let out = home.run(&["fetch", "--ca-cert", &ca_file, &url]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "an old copy is kept: {}",
        show(&out)
    );
    assert!(
        text(&out.stdout).contains("body larger than 1 KiB; keeping the copy fetched just now"),
        "{}",
        show(&out)
    );
    let cached = home.cached("disk-full.md");
    assert!(
        std::fs::read_to_string(&cached[0])
            .unwrap_or_default()
            .contains("echo small")
    );

    // No Content-Length and no end: the limit applies while the body streams in.
    server.route("/endless.md", Route::Endless);
    let endless = server.url("/endless.md");
    let out = home.run(&["fetch", "--ca-cert", &ca_file, "--timeout", "20s", &endless]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains(&format!("failed     -  {endless}: body larger than 1 KiB")),
        "{}",
        show(&out)
    );
    assert!(home.cached("endless.md").is_empty());
}

#[test]
fn plain_http_is_refused_unless_allowed() {
    let server = Server::start(None);
    server.file("/plain.md", &runbook_md("Plain", "one"), "v1");
    let home = Home::new();
    let url = server.url("/plain.md");
    let out = home.run(&["fetch", &url]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("refusing plain http:// (use --allow-http)"),
        "{}",
        show(&out)
    );
    assert!(server.hits("/plain.md").is_empty(), "no request was sent");

    let out = home.run(&["fetch", "--allow-http", &url]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("fetched    plain"),
        "{}",
        show(&out)
    );
    assert_eq!(server.hits("/plain.md").len(), 1);
}

#[test]
fn certificates_from_an_unknown_ca_or_for_another_host_are_refused_clearly() {
    let ca = new_ca("test CA");
    let stranger = new_ca("someone else's CA");
    let server = Server::start(Some(server_tls(&stranger, &["127.0.0.1"])));
    server.file("/a.md", &runbook_md("A", "one"), "v1");
    let home = Home::new();
    let ca_file = home.ca(&ca);
    let url = server.url("/a.md");
    for args in [
        vec!["fetch", url.as_str()],
        vec!["fetch", "--ca-cert", &ca_file, &url],
    ] {
        let out = home.run(&args);
        assert_eq!(out.status.code(), Some(1), "{}", show(&out));
        assert!(
            text(&out.stdout).contains(
                "certificate not trusted for 127.0.0.1: issued by an unknown CA (pass --ca-cert \
                 if your server uses a private CA)"
            ),
            "{}",
            show(&out)
        );
    }
    assert!(
        server.hits("/a.md").is_empty(),
        "nothing was sent over an untrusted connection"
    );

    // Trusted CA, but the certificate names localhost only.
    let other_host = Server::start(Some(server_tls(&ca, &["localhost"])));
    other_host.file("/a.md", &runbook_md("A", "one"), "v1");
    let url = other_host.url("/a.md");
    let out = home.run(&["fetch", "--ca-cert", &ca_file, &url]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("certificate not valid for 127.0.0.1: it names localhost"),
        "{}",
        show(&out)
    );
    // The same server by the name its certificate holds is fine.
    let by_name = url.replace("127.0.0.1", "localhost");
    let out = home.run(&["fetch", "--ca-cert", &ca_file, &by_name]);
    assert!(out.status.success(), "{}", show(&out));
}

#[test]
fn a_self_signed_server_certificate_given_as_its_ca_is_explained() {
    // The server's own certificate, self-signed and flagged as a CA, as `openssl req -x509`
    // makes it by default, and given to --ca-cert.
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params =
        CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap_or_else(|e| panic!("{e}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "127.0.0.1");
    let cert = params.self_signed(&key).unwrap_or_else(|e| panic!("{e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| {
            b.with_no_client_auth().with_single_cert(
                vec![CertificateDer::from(cert.der().to_vec())],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
        })
        .unwrap_or_else(|e: rustls::Error| panic!("{e}"));
    let server = Server::start(Some(Arc::new(config)));
    server.file("/a.md", &runbook_md("A", "one"), "v1");
    let home = Home::new();
    let pem = home
        .write("self-signed.pem", &cert.pem())
        .display()
        .to_string();
    let out = home.run(&["fetch", "--ca-cert", &pem, &server.url("/a.md")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let said = text(&out.stdout);
    assert!(
        said.contains(
            "certificate not accepted for 127.0.0.1: the server presents a CA certificate \
             (CA:TRUE) as its own"
        ),
        "{}",
        show(&out)
    );
    assert!(said.contains("--ca-cert"), "it says what to do: {said}");
    assert!(!said.contains("CaUsedAsEndEntity"), "{said}");
    assert!(server.hits("/a.md").is_empty());
}

#[test]
fn redirects_are_bounded_and_never_go_from_https_to_http() {
    let ca = new_ca("test CA");
    let server = Server::start(Some(server_tls(&ca, &["127.0.0.1"])));
    server.route("/loop.md", Route::Redirect("/loop.md".to_owned()));
    server.route("/moved.md", Route::Redirect("/rb/moved.md".to_owned()));
    server.file("/rb/moved.md", &runbook_md("Moved", "one"), "v1");
    let plain = Server::start(None);
    plain.file("/x.md", &runbook_md("X", "one"), "v1");
    server.route("/down.md", Route::Redirect(plain.url("/x.md")));
    let home = Home::new();
    let ca_file = home.ca(&ca);

    let out = home.run(&["fetch", "--ca-cert", &ca_file, &server.url("/loop.md")]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("more than 5 redirects (a redirect loop?)"),
        "{}",
        show(&out)
    );
    assert_eq!(
        server.hits("/loop.md").len(),
        6,
        "the first request and 5 redirects"
    );

    let out = home.run(&["fetch", "--ca-cert", &ca_file, &server.url("/moved.md")]);
    assert!(
        out.status.success(),
        "one redirect is followed: {}",
        show(&out)
    );

    let out = home.run(&[
        "fetch",
        "--allow-http",
        "--ca-cert",
        &ca_file,
        &server.url("/down.md"),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        text(&out.stdout).contains("refusing a redirect from https:// to plain http://"),
        "{}",
        show(&out)
    );
    assert!(plain.hits("/x.md").is_empty());
}

#[test]
fn an_index_longer_than_the_cap_is_cut_and_says_so() {
    let ca = new_ca("test CA");
    let server = Server::start(Some(server_tls(&ca, &["127.0.0.1"])));
    let names: Vec<String> = (1..=5).map(|i| format!("r{i}")).collect();
    let list = names.join(".md\n") + ".md\n";
    server.file("/big/index.txt", &list, "i1");
    for n in &names {
        server.file(&format!("/big/{n}.md"), &runbook_md(n, n), n);
    }
    let home = Home::new();
    let index = server.url("/big/index.txt");
    home.config(&format!(
        "sources = [\"{index}\"]\nca_cert = \"{}\"\nfetch_max_index_entries = 3\n",
        home.ca(&ca)
    ));
    let out = home.run(&["fetch"]);
    // Cut short is a failure to look at: exit 1, with the reason on its line.
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("the index lists 5 runbooks; only the first 3 are fetched"),
        "{}",
        show(&out)
    );
    let ids: Vec<String> = runbooks_json(&home)
        .iter()
        .filter_map(|r| r["id"].as_str().map(str::to_owned))
        .filter(|id| id.starts_with('r') && id.len() == 2)
        .collect();
    assert_eq!(ids.len(), 3, "{ids:?}");
}

#[test]
fn an_index_file_fetches_its_whole_set() {
    let ca = new_ca("test CA");
    let server = Server::start(Some(server_tls(&ca, &["127.0.0.1"])));
    server.file(
        "/set/index.txt",
        "# our team's runbooks\n\nnet-a.md\nsub/net-b.md\n",
        "i1",
    );
    server.file("/set/net-a.md", &runbook_md("Net A", "a"), "a1");
    server.file("/set/sub/net-b.md", &runbook_md("Net B", "b"), "b1");
    let home = Home::new();
    let index = server.url("/set/index.txt");
    home.config(&format!(
        "sources = [\"{index}\"]\nca_cert = \"{}\"\n",
        home.ca(&ca)
    ));
    // No URL: the config's sources, with its CA.
    let out = home.run(&["fetch"]);
    assert!(out.status.success(), "{}", show(&out));
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            format!("fetched    index  {index}"),
            format!("  fetched    net-a  {}", server.url("/set/net-a.md")),
            format!("  fetched    net-b  {}", server.url("/set/sub/net-b.md")),
        ],
        "{}",
        show(&out)
    );
    let runbooks = runbooks_json(&home);
    for (id, path) in [("net-a", "/set/net-a.md"), ("net-b", "/set/sub/net-b.md")] {
        let r = runbooks
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("{id} not listed"));
        assert_eq!(r["origin"]["url"], server.url(path).as_str());
    }
    assert!(
        !runbooks.iter().any(|r| r["id"] == "index"),
        "an index is no runbook"
    );
}

#[test]
fn a_fetched_runbook_runs_only_after_it_was_shown() {
    let ca = new_ca("test CA");
    let server = Server::start(Some(server_tls(&ca, &["127.0.0.1"])));
    server.file("/say.md", &runbook_md("Say", "first-word"), "v1");
    let home = Home::new();
    let ca_file = home.ca(&ca);
    let url = server.url("/say.md");
    assert!(
        home.run(&["fetch", "--ca-cert", &ca_file, &url])
            .status
            .success()
    );

    let out = home.run(&["run", "say/say", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(&format!(
            "say/say was fetched from {url} and has not been shown yet; read it with `runbook \
             show say/say` first"
        )),
        "{}",
        show(&out)
    );
    assert!(!text(&out.stdout).contains("first-word"));

    // Shown into a pipe, nobody read it: not a review.
    let out = home.run(&["show", "say/say"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stderr).contains(
            "say/say is not marked as reviewed: the output is not a terminal; pass --accept once \
             you have read it"
        ),
        "{}",
        show(&out)
    );
    let out = home.run(&["run", "say/say", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));

    let out = home.run(&["show", "say/say", "--accept"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stderr).is_empty(), "{}", show(&out));
    let shown = text(&out.stdout);
    assert!(
        shown.contains(&format!("(from {url}, fetched just now)")),
        "{shown}"
    );
    assert!(shown.contains("echo first-word"), "{shown}");

    let out = home.run(&["run", "say/say", "--yes"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stdout).contains("first-word"), "{}", show(&out));

    // The server changes it: refused again until shown again.
    server.file("/say.md", &runbook_md("Say", "second-word"), "v2");
    assert!(
        home.run(&["fetch", "--ca-cert", &ca_file, &url])
            .status
            .success()
    );
    let out = home.run(&["run", "say", "--yes"]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("changed since you last looked"),
        "{}",
        show(&out)
    );
    assert!(home.run(&["show", "say", "--accept"]).status.success());
    let out = home.run(&["run", "say", "--yes"]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(text(&out.stdout).contains("second-word"), "{}", show(&out));
}

#[test]
fn a_fetched_file_that_is_not_a_runbook_is_reported_with_its_line() {
    let ca = new_ca("test CA");
    let server = Server::start(Some(server_tls(&ca, &["127.0.0.1"])));
    server.file(
        "/broken.md",
        "---\ntitle: [unclosed\n---\n\n# Broken\n",
        "v1",
    );
    let home = Home::new();
    let url = server.url("/broken.md");
    let out = home.run(&["fetch", "--ca-cert", &home.ca(&ca), &url]);
    assert!(out.status.success(), "{}", show(&out));
    let stderr = text(&out.stderr);
    assert!(stderr.contains(&format!("{url}:2:")), "{}", show(&out));
    assert!(stderr.contains("front matter"), "{}", show(&out));
}
