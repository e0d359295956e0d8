//! runbook's gate in front of a real API: the practice cluster over HTTP, and the practice
//! cluster behind a TLS listener built here (rcgen CA, server and client certificates) that
//! demands a client certificate, as a kubeadm API server does. The real kubectl talks to the
//! gate; every write attempt is refused with a Kubernetes `Status` and the object is
//! unchanged; reads, watches and `logs -f` stream through; a dry run shows the server's
//! answer and persists nothing.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair,
};
use runbook::cluster::Workspace;
use runbook::cluster::gate::Mode;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::lab_support::{self, TestLab, kubectl_available, stderr, stdout};

const NS: &str = "hubble-system";
const POD: &str = "mgmt-f7f97f4fd-lds69";

/// A workspace on `kubeconfig` with its gate running on a runtime of its own.
struct Gated {
    ws: Workspace,
    cache: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

fn gated(kubeconfig: &Path, rt: tokio::runtime::Runtime) -> Gated {
    let mut ws = Workspace::open(Some(kubeconfig), None, None, BTreeMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    {
        let _inside = rt.enter();
        let mut env = BTreeMap::new();
        assert!(ws.arm(true, false, &mut env), "{:?}", ws.gate_problem);
    }
    Gated {
        ws,
        cache: tempfile::tempdir().unwrap_or_else(|e| panic!("{e}")),
        _rt: rt,
    }
}

impl Gated {
    fn gate(&self) -> &runbook::cluster::gate::Gate {
        self.ws.gate().unwrap_or_else(|| panic!("the gate runs"))
    }

    fn kubeconfig(&self) -> PathBuf {
        self.gate().kubeconfig()
    }

    fn cmd(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.env("KUBECONFIG", self.kubeconfig())
            .env("KUBECACHEDIR", self.cache.path())
            .env("HOME", self.cache.path());
        cmd
    }

    /// kubectl, bounded: a command that would wait forever fails the test instead.
    fn kubectl(&self, args: &[&str]) -> Output {
        self.cmd("timeout")
            .args(["60", "kubectl"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
    }

    fn kubectl_ok(&self, args: &[&str]) -> String {
        let o = self.kubectl(args);
        assert!(
            o.status.success(),
            "kubectl {args:?}: {}{}",
            stdout(&o),
            stderr(&o)
        );
        stdout(&o)
    }

    /// The gate's bearer token, as any client reading the kubeconfig finds it.
    fn token(&self) -> String {
        let text = std::fs::read_to_string(self.kubeconfig()).unwrap_or_default();
        text.lines()
            .find_map(|l| l.trim().strip_prefix("token: "))
            .map_or_else(
                || panic!("no token in the gate's kubeconfig"),
                |t| t.trim_matches(['\'', '"']).to_owned(),
            )
    }
}

/// Every way kubectl writes, each with what it would change.
const WRITES: &[&[&str]] = &[
    &["delete", "pod", POD, "-n", NS],
    &["delete", "pods", "--all", "-n", NS],
    &["annotate", "pod", POD, "-n", NS, "runbook/test=1"],
    &["label", "pod", POD, "-n", NS, "x=y"],
    &["scale", "deployment", "auth", "-n", NS, "--replicas=0"],
    &[
        "create",
        "configmap",
        "gate-probe",
        "-n",
        NS,
        "--from-literal=a=b",
    ],
    &[
        "patch",
        "deployment",
        "auth",
        "-n",
        NS,
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ],
    &["set", "image", "deployment/auth", "-n", NS, "auth=nginx:1"],
    &["rollout", "restart", "deployment/auth", "-n", NS],
    &[
        "taint",
        "node",
        "spectro-mgmt-cluster-cp-dt44d",
        "runbook=test:NoSchedule",
    ],
    &["create", "namespace", "gate-probe"],
    &["exec", POD, "-n", NS, "--", "true"],
];

/// What the objects a write could touch look like now.
fn snapshot(lab: &TestLab) -> String {
    let pods = lab.handle.list("Pod", Some(NS));
    let deployments = lab.handle.list("Deployment", Some(NS));
    let configmaps = lab.handle.list("ConfigMap", Some(NS));
    let namespaces = lab.handle.list("Namespace", None);
    let nodes = lab.handle.list("Node", None);
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        if let Some(m) = v["metadata"].as_object_mut() {
            m.remove("managedFields");
        }
        v
    };
    let all: Vec<serde_json::Value> = pods
        .iter()
        .chain(&deployments)
        .chain(&configmaps)
        .chain(&namespaces)
        .chain(&nodes)
        .map(strip)
        .collect();
    serde_json::to_string_pretty(&all).unwrap_or_default()
}

fn assert_refused_and_unchanged(g: &Gated, lab: &TestLab) {
    let before = snapshot(lab);
    for args in WRITES {
        let o = g.kubectl(args);
        let err = stderr(&o);
        assert!(
            !o.status.success(),
            "kubectl {args:?} succeeded: {}",
            stdout(&o)
        );
        assert!(
            err.contains("runbook is in read-only mode: it refuses")
                || err.contains("runbook's read-only mode refuses"),
            "kubectl {args:?}: {err}"
        );
    }
    assert_eq!(snapshot(lab), before, "a refused write changed something");
    assert!(g.gate().refused() >= WRITES.len() as u64);
}

#[test]
fn practice_cluster_writes_are_refused_and_nothing_changes() {
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let g = gated(lab.kubeconfig(), runtime());
    assert_refused_and_unchanged(&g, &lab);
    // The message names runbook's mode, as the step shows it.
    let o = g.kubectl(&["delete", "pod", POD, "-n", NS]);
    assert!(
        stderr(&o).contains(&format!(
            "Error from server (Forbidden): runbook is in read-only mode: it refuses delete of pods \"{POD}\" in namespace \"{NS}\" at the API; nothing was changed"
        )),
        "{}",
        stderr(&o)
    );
}

#[test]
fn reads_discovery_tables_and_logs_pass_through() {
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let g = gated(lab.kubeconfig(), runtime());
    let direct = |args: &[&str]| lab.kubectl_ok(args);
    for args in [
        &["get", "pods", "-A"][..],
        &["get", "pods", "-n", NS, "-o", "name"],
        &[
            "get",
            "deployment",
            "auth",
            "-n",
            NS,
            "-o",
            "jsonpath={.spec.replicas}",
        ],
        &["api-resources", "--no-headers", "-o", "name"],
    ] {
        let through = g.kubectl_ok(args);
        assert!(!through.is_empty(), "{args:?}");
        if args[0] != "get" || args.contains(&"-o") {
            assert_eq!(through, direct(args), "{args:?}");
        }
    }
    // `logs -f` stays open as the kubelet keeps it: its first line streams through the gate.
    let first = direct(&["logs", "deployment/auth", "-n", NS]);
    let first = first.lines().next().unwrap_or_default().to_owned();
    let mut follow = g
        .cmd("kubectl")
        .args(["logs", "-f", "deployment/auth", "-n", NS])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("kubectl logs -f: {e}"));
    let out = follow.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead as _;
        let mut line = String::new();
        let _ = std::io::BufReader::new(out).read_line(&mut line);
        let _ = tx.send(line);
    });
    let streamed = rx.recv_timeout(Duration::from_secs(60));
    let _ = follow.kill();
    let _ = follow.wait();
    assert_eq!(
        streamed.map(|l| l.trim_end().to_owned()).ok(),
        Some(first),
        "logs -f through the gate"
    );
    let described = g.kubectl_ok(&["describe", "pod", POD, "-n", NS]);
    assert!(described.contains(POD), "{described}");
    // OpenAPI: the same answer as direct, whatever the lab's schema holds.
    for args in [
        &["explain", "deployments.spec.replicas"][..],
        &["explain", "pods"],
    ] {
        let (through, direct) = (g.kubectl(args), lab.kubectl(args));
        assert_eq!(
            (through.status.code(), stdout(&through)),
            (direct.status.code(), stdout(&direct)),
            "{args:?}"
        );
    }
    // A question-only POST reaches the server (the lab has no authorization API: 404 from
    // it, not a refusal from the gate).
    let o = g.kubectl(&["auth", "can-i", "delete", "pods"]);
    assert!(!stderr(&o).contains("runbook"), "{}", stderr(&o));
}

#[test]
fn a_watch_streams_through_the_gate() {
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let g = gated(lab.kubeconfig(), runtime());
    let mut watch = g
        .cmd("kubectl")
        .args([
            "get",
            "pods",
            "-n",
            NS,
            "--watch",
            "--output-watch-events",
            "-o",
            "json",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let mut out = watch.stdout.take().unwrap_or_else(|| panic!("stdout"));
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0
                || tx
                    .send(String::from_utf8_lossy(&buf[..n]).into_owned())
                    .is_err()
            {
                break;
            }
        }
    });
    let mut seen = String::new();
    let mut wait_for = |needle: &str| {
        let deadline = Instant::now() + Duration::from_secs(20);
        while !seen.contains(needle) {
            assert!(
                Instant::now() < deadline,
                "no `{needle}` in the watch: {seen}"
            );
            if let Ok(chunk) = rx.recv_timeout(Duration::from_millis(100)) {
                seen.push_str(&chunk);
            }
        }
    };
    wait_for("\"type\":\"ADDED\"");
    // A change made directly (not through the gate) arrives through the open watch.
    lab.kubectl_ok(&["delete", "pod", POD, "-n", NS, "--wait=false"]);
    wait_for("\"type\":\"MODIFIED\"");
    assert!(seen.contains("deletionTimestamp"), "{seen}");
    let _ = watch.kill();
    let _ = watch.wait();
}

/// One request with curl, trusting the gate's CA: (HTTP status, headers and body).
fn curl(g: &Gated, method: &str, path: &str, auth: Option<&str>) -> (u16, String) {
    let ca = g.cache.path().join("gate-ca.pem");
    std::fs::write(&ca, g.gate().ca_pem()).unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = g.cmd("curl");
    cmd.args(["-sS", "-i", "--max-time", "10", "-X", method, "--cacert"])
        .arg(&ca);
    if let Some(a) = auth {
        cmd.args(["-H", &format!("Authorization: {a}")]);
    }
    let o = cmd
        .arg(format!("{}{path}", g.gate().url()))
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    let text = stdout(&o);
    let code = text
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

#[test]
fn any_client_with_the_kubeconfig_is_refused_and_a_wrong_token_is_unauthorised() {
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let g = gated(lab.kubeconfig(), runtime());
    let auth = format!("Bearer {}", g.token());
    let path = format!("/api/v1/namespaces/{NS}/pods/{POD}");
    // curl, as a script would write it, with the server, CA and token of the kubeconfig.
    let (code, text) = curl(&g, "DELETE", &path, Some(&auth));
    assert_eq!(code, 403, "{text}");
    let body = &text[text.find("\r\n\r\n").map_or(0, |i| i + 4)..];
    let status: serde_json::Value =
        serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"));
    assert_eq!(status["kind"], "Status");
    assert_eq!(status["reason"], "Forbidden");
    assert_eq!(status["code"], 403);
    for method in ["PUT", "PATCH", "POST"] {
        assert_eq!(curl(&g, method, &path, Some(&auth)).0, 403, "{method}");
    }
    assert_eq!(curl(&g, "GET", &path, Some("Bearer nope")).0, 401);
    assert_eq!(curl(&g, "GET", &path, None).0, 401);
    let (code, text) = curl(&g, "GET", &path, Some(&auth));
    assert_eq!(code, 200, "{text}");
    assert!(text.contains(POD), "{text}");
    assert!(
        lab.handle.get("Pod", NS, POD).is_some(),
        "the pod is still there"
    );
}

#[test]
fn dry_run_shows_the_servers_answer_and_persists_nothing() {
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let g = gated(lab.kubeconfig(), runtime());
    g.gate().set_mode(Mode::DryRun);
    let before = snapshot(&lab);
    let o = g.kubectl(&["delete", "pod", POD, "-n", NS]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout(&o).trim(), format!("pod \"{POD}\" deleted"));
    assert!(
        stderr(&o).contains("Warning: runbook dry run: the API server checked this write (dryRun=All) and kept nothing"),
        "{}",
        stderr(&o)
    );
    let patched = g.kubectl_ok(&[
        "patch",
        "deployment",
        "auth",
        "-n",
        NS,
        "-p",
        r#"{"spec":{"replicas":5}}"#,
    ]);
    assert!(patched.contains("patched"), "{patched}");
    let created = g.kubectl_ok(&[
        "create",
        "configmap",
        "gate-probe",
        "-n",
        NS,
        "--from-literal=a=b",
    ]);
    assert!(created.contains("created"), "{created}");
    g.kubectl_ok(&["annotate", "pod", POD, "-n", NS, "runbook/test=1"]);
    g.kubectl_ok(&["delete", "pods", "--all", "-n", NS]);
    assert_eq!(snapshot(&lab), before, "a dry run changed something");
    assert!(g.gate().dry_runs() >= 5);
    // Connect subresources cannot be dry-run: refused.
    let o = g.kubectl(&["exec", POD, "-n", NS, "--", "true"]);
    assert!(stderr(&o).contains("Forbidden"), "{}", stderr(&o));
    // And back to read-only while the gate runs.
    g.gate().set_mode(Mode::ReadOnly);
    let o = g.kubectl(&["delete", "pod", POD, "-n", NS]);
    assert!(stderr(&o).contains("read-only mode"), "{}", stderr(&o));
}

#[test]
fn switching_context_retargets_the_gate_and_confirm_mode_gets_the_direct_kubeconfig() {
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let mut g = gated(lab.kubeconfig(), runtime());
    let mut env = BTreeMap::new();
    assert!(g.ws.arm(true, false, &mut env));
    let through = env.get(std::ffi::OsStr::new("KUBECONFIG")).cloned();
    assert_eq!(through, Some(g.kubeconfig().into_os_string()));
    // The file is private.
    let mode = std::fs::metadata(g.kubeconfig())
        .map(|m| m.permissions().mode() & 0o777)
        .unwrap_or_default();
    assert_eq!(mode, 0o600);
    // Confirm mode: the pinned kubeconfig again, no gate in the way.
    assert!(!g.ws.arm(false, false, &mut env));
    let direct = env.get(std::ffi::OsStr::new("KUBECONFIG")).cloned();
    assert_eq!(
        direct,
        g.ws.pinned().map(|p| p.path.clone().into_os_string())
    );
    // A KUBECONFIG the commands exported themselves stays in confirm mode...
    env.insert("KUBECONFIG".into(), "/elsewhere".into());
    g.ws.arm(false, false, &mut env);
    assert_eq!(
        env.get(std::ffi::OsStr::new("KUBECONFIG")).cloned(),
        Some("/elsewhere".into())
    );
    // ...and is replaced by the gate's in read-only.
    assert!(g.ws.arm(true, false, &mut env));
    assert_eq!(
        env.get(std::ffi::OsStr::new("KUBECONFIG")).cloned(),
        through
    );
    // Another namespace: the gate's kubeconfig follows.
    g.ws.switch("runbook-lab", Some(NS))
        .unwrap_or_else(|e| panic!("{e}"));
    let names = g.kubectl_ok(&["get", "pods", "-o", "name"]);
    assert!(names.contains(POD), "{names}");
}

// ---------------------------------------------------------------- TLS with client certificates

struct Pki {
    ca_pem: String,
    issuer: CertifiedIssuer<'static, KeyPair>,
}

fn pki() -> Pki {
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "runbook-test-kubernetes-ca");
    let issuer = CertifiedIssuer::self_signed(params, key).unwrap_or_else(|e| panic!("{e}"));
    Pki {
        ca_pem: issuer.pem(),
        issuer,
    }
}

/// (certificate PEM, key PEM, certificate DER, key DER) for a leaf signed by the CA.
fn leaf(
    pki: &Pki,
    names: &[&str],
    cn: &str,
    usage: ExtendedKeyUsagePurpose,
) -> (String, String, Vec<u8>, Vec<u8>) {
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
    let mut params = CertificateParams::new(names).unwrap_or_else(|e| panic!("{e}"));
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    let cert = params
        .signed_by(&key, &pki.issuer)
        .unwrap_or_else(|e| panic!("{e}"));
    (
        cert.pem(),
        key.serialize_pem(),
        cert.der().to_vec(),
        key.serialize_der(),
    )
}

/// A TLS front for the lab that demands a client certificate from the test CA, like a
/// kubeadm API server; counts the handshakes that presented one.
struct TlsFront {
    url: String,
    with_client_cert: Arc<AtomicUsize>,
}

fn tls_front(rt: &tokio::runtime::Runtime, pki: &Pki, lab: std::net::SocketAddr) -> TlsFront {
    let (_, _, cert_der, key_der) = leaf(
        pki,
        &["127.0.0.1", "localhost"],
        "kube-apiserver",
        ExtendedKeyUsagePurpose::ServerAuth,
    );
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.issuer.der().to_vec()))
        .unwrap_or_else(|e| panic!("{e}"));
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        Arc::clone(&provider),
    )
    .build()
    .unwrap_or_else(|e| panic!("{e}"));
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap_or_else(|e| panic!("{e}"))
        .with_client_cert_verifier(verifier)
        .with_single_cert(
            vec![CertificateDer::from(cert_der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key_der)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    // The lab speaks HTTP/1.1: the front passes bytes through, so it offers only that.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
    let with_client_cert = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&with_client_cert);
    rt.spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                if tls
                    .get_ref()
                    .1
                    .peer_certificates()
                    .is_some_and(|c| !c.is_empty())
                {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                if let Ok(mut upstream) = tokio::net::TcpStream::connect(lab).await {
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                }
            });
        }
    });
    TlsFront {
        url: format!("https://127.0.0.1:{port}"),
        with_client_cert,
    }
}

#[test]
fn a_tls_api_server_with_client_certificates_is_gated_too() {
    if !kubectl_available() {
        return;
    }
    // The lab in plain HTTP behind the TLS front, which demands the client certificate.
    let lab = lab_support::start_open("backup-stuck/restart-mgmt-pod");
    let rt = runtime();
    let pki = pki();
    let front = tls_front(&rt, &pki, lab.handle.addr());
    let (cert_pem, key_pem, _, _) = leaf(&pki, &[], "trainee", ExtendedKeyUsagePurpose::ClientAuth);
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let user_kubeconfig = dir.path().join("config");
    std::fs::write(
        &user_kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: tls\n  cluster:\n    server: {}\n    certificate-authority-data: {}\nusers:\n- name: trainee\n  user:\n    client-certificate-data: {}\n    client-key-data: {}\ncontexts:\n- name: tls-lab\n  context:\n    cluster: tls\n    user: trainee\n    namespace: {NS}\ncurrent-context: tls-lab\n",
            front.url,
            b64(&pki.ca_pem),
            b64(&cert_pem),
            b64(&key_pem)
        ),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // Without a client certificate the server does not answer at all.
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap_or_else(|e| panic!("{e}"));
    let o = Command::new("curl")
        .args(["-sS", "--max-time", "5", "--cacert"])
        .arg(&ca)
        .arg(format!("{}/version", front.url))
        .output()
        .unwrap_or_else(|e| panic!("curl: {e}"));
    assert!(!o.status.success(), "answered without a client certificate");

    let g = gated(&user_kubeconfig, rt);
    let pods = g.kubectl_ok(&["get", "pods", "-o", "name"]);
    assert!(pods.contains(POD), "{pods}");
    assert!(
        front.with_client_cert.load(Ordering::SeqCst) > 0,
        "the gate presented the user's client certificate"
    );
    assert_refused_and_unchanged(&g, &lab);
    g.gate().set_mode(Mode::DryRun);
    let before = snapshot(&lab);
    let o = g.kubectl(&["delete", "pod", POD]);
    assert_eq!(
        stdout(&o).trim(),
        format!("pod \"{POD}\" deleted"),
        "{}",
        stderr(&o)
    );
    assert_eq!(snapshot(&lab), before);
}

// ---------------------------------------------------------------- through `runbook run`

fn runbook_file(dir: &Path, steps: &[&str]) -> PathBuf {
    let mut md = String::from("# Gate\n\n## Scenario - Gate {#gate}\n\n### Debug Steps\n\n");
    for (i, s) in steps.iter().enumerate() {
        let _ = write!(md, "{}. Step.\n\n   ```bash\n   {s}\n   ```\n\n", i + 1);
    }
    let path = dir.join("gate.md");
    std::fs::write(&path, md).unwrap_or_else(|e| panic!("{e}"));
    path
}

fn run(lab: &TestLab, file: &Path, mode: &str) -> String {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["run", &file.display().to_string(), mode, "--no-session"])
        .env("KUBECONFIG", lab.kubeconfig())
        .env("KUBECACHEDIR", lab.cache.path())
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join(".config"))
        .output()
        .unwrap_or_else(|e| panic!("runbook run: {e}"));
    format!("{}{}", stdout(&o), stderr(&o))
}

#[test]
fn runbook_run_read_only_goes_through_the_gate_and_says_so() {
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = runbook_file(
        dir.path(),
        &[
            "kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}{\"\\n\"}'",
            &format!("kubectl get pods -n {NS}"),
            &format!("kubectl delete pod {POD} -n {NS}"),
        ],
    );
    let t = run(&lab, &file, "--read-only");
    assert!(
        t.contains("read-only: cluster writes blocked at the API; local commands checked"),
        "{t}"
    );
    // The commands' kubeconfig is the gate's, not the lab's.
    let server = t
        .lines()
        .skip_while(|l| !l.starts_with("$ kubectl config view"))
        .nth(1)
        .unwrap_or_default();
    assert!(server.starts_with("https://127.0.0.1:"), "{t}");
    assert_ne!(server, lab.handle.url(), "{t}");
    assert!(t.contains(POD), "{t}");
    assert!(
        t.contains("refused in read-only mode: kubectl delete deletes resources"),
        "{t}"
    );
    assert!(lab.handle.get("Pod", NS, POD).is_some());
}

#[test]
fn runbook_run_dry_run_shows_the_servers_answer() {
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = runbook_file(
        dir.path(),
        &[
            &format!("kubectl delete pod {POD} -n {NS}"),
            "rm -f /tmp/runbook-gate-never-runs",
        ],
    );
    let t = run(&lab, &file, "--dry-run");
    assert!(
        t.contains("dry-run: cluster writes checked by the API server and kept nowhere"),
        "{t}"
    );
    assert!(t.contains(&format!("pod \"{POD}\" deleted")), "{t}");
    assert!(t.contains("Warning: runbook dry run"), "{t}");
    assert!(t.contains("step 1 dry-run"), "{t}");
    assert!(
        lab.handle.get("Pod", NS, POD).is_some(),
        "nothing persisted"
    );
}

// ---------------------------------------------------------------- bypass attempts on the cluster

/// Ways to write to the cluster that a runbook could hide; `{POD}`, `{NS}` are filled in.
const CLUSTER_BYPASSES: &[&str] = &[
    "eval \"kubectl delete pod {POD} -n {NS}\"",
    "x=kubectl; $x delete pod {POD} -n {NS}",
    "$(echo kubectl) delete pod {POD} -n {NS}",
    "k() { kubectl \"$@\"; }; k delete pod {POD} -n {NS}",
    "kubectl get pods -n {NS} -o name | xargs kubectl delete -n {NS}",
    "bash -c 'kubectl delete pod {POD} -n {NS}'",
    "echo {POD} | xargs -I{} sh -c 'kubectl delete pod {} -n {NS}'",
    "kubectl annotate pod {POD} -n {NS} bypass=1",
    "kubectl label pod {POD} -n {NS} bypass=1",
    "kubectl create configmap bypass -n {NS} --from-literal=a=b",
    "kubectl apply -n {NS} -f - <<'EOF'\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bypass\ndata:\n  a: b\nEOF",
    "kubectl patch deployment auth -n {NS} -p '{\"spec\":{\"replicas\":7}}'",
    "kubectl scale deployment auth -n {NS} --replicas=0",
    "kubectl set env deployment/auth -n {NS} BYPASS=1",
    "kubectl rollout restart deployment/auth -n {NS}",
    "kubectl delete namespace {NS} --wait=false",
    "kubectl delete pods --all -A --wait=false",
    "kubectl drain spectro-mgmt-cluster-cp-dt44d --ignore-daemonsets --force",
    "kubectl cordon spectro-mgmt-cluster-cp-dt44d",
    "kubectl taint node spectro-mgmt-cluster-cp-dt44d bypass=1:NoSchedule",
    "kubectl exec {POD} -n {NS} -- true",
    "kubectl debug {POD} -n {NS} --image=busybox",
    "kubectl --as=admin delete pod {POD} -n {NS}",
    "kubectl create token default -n {NS}",
    "kubectl replace --force -f <(kubectl get pod {POD} -n {NS} -o yaml)",
    "S=$(kubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.server}')\nT=$(kubectl config view --minify --raw -o jsonpath='{.users[0].user.token}')\nkubectl config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d > ca.pem\ncurl -sS --cacert ca.pem -X DELETE -H \"Authorization: Bearer $T\" \"$S/api/v1/namespaces/{NS}/pods/{POD}\"",
];

#[test]
fn cluster_bypass_attempts_are_refused_by_the_check_and_by_the_gate() {
    if !kubectl_available() {
        return;
    }
    assert!(CLUSTER_BYPASSES.len() >= 20);
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let before = snapshot(&lab);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let g = gated(lab.kubeconfig(), runtime());
    for attempt in CLUSTER_BYPASSES {
        let script = attempt.replace("{POD}", POD).replace("{NS}", NS);
        // Through runbook: the check refuses it before anything runs.
        let file = runbook_file(dir.path(), &[&script.replace('\n', "\n   ")]);
        let t = run(&lab, &file, "--read-only");
        assert!(
            t.contains("step 1 blocked: refused in read-only mode"),
            "{script}\n{t}"
        );
        // Had the check missed it, the gate holds: run it as it is, with the session's
        // kubeconfig, and every write it tries is refused.
        let refused = g.gate().refused();
        let o = g
            .cmd("timeout")
            .args(["60", "bash", "-c", &script])
            .current_dir(dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            g.gate().refused() > refused,
            "the gate saw no write from:\n{script}\n{}{}",
            stdout(&o),
            stderr(&o)
        );
        assert_eq!(snapshot(&lab), before, "{script} changed the cluster");
    }
}

// ---------------------------------------------------------------- the driver arms the gate

/// kubectl with the driver's kubeconfig (what its commands get).
fn kubectl_via(driver: &runbook::drive::Driver, cache: &Path, args: &[&str]) -> Output {
    let kubeconfig = driver.kubeconfig().unwrap_or_default();
    Command::new("timeout")
        .args(["60", "kubectl"])
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("KUBECACHEDIR", cache)
        .env("HOME", cache)
        .output()
        .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
}

#[test]
fn the_driver_points_commands_at_the_gate_for_its_mode_and_set_mode_switches_it() {
    use runbook::cluster::guard::Guard;
    use runbook::drive::{Driver, Procedure, Setup};
    use runbook::exec::runner::{RunMode, Shell};
    if !kubectl_available() {
        return;
    }
    let lab = lab_support::start("backup-stuck/restart-mgmt-pod");
    let rt = runtime();
    let mut ws = Workspace::open(Some(lab.kubeconfig()), None, None, BTreeMap::new())
        .unwrap_or_else(|e| panic!("{e}"));
    {
        let _inside = rt.enter();
        assert!(ws.start_gate().is_some(), "{:?}", ws.gate_problem);
    }
    let pinned = ws
        .pinned()
        .map_or_else(|| panic!("pinned"), |p| p.path.clone());
    let gate = ws.gate_handle().unwrap_or_else(|| panic!("the gate runs"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = runbook_file(dir.path(), &["kubectl get pods"]);
    let bytes = std::fs::read(&file).unwrap_or_else(|e| panic!("{e}"));
    let procedure = Arc::new(Procedure::new(
        Arc::new(runbook::runbook::parse(&bytes, &file)),
        0,
        0,
    ));
    let mut shell = Shell::from_current();
    shell.env.insert("KUBECONFIG".into(), pinned.clone().into());
    let setup = Setup {
        mode: RunMode::ReadOnly,
        gate: Some(Arc::clone(&gate)),
        ..Setup::default()
    };
    let mut driver = Driver::new(procedure, shell, setup);
    // Read-only: the commands' kubeconfig is the gate's, and a delete is refused there.
    assert!(driver.gated());
    assert_eq!(driver.kubeconfig(), Some(gate.kubeconfig()));
    assert_eq!(gate.mode(), Mode::ReadOnly);
    let o = kubectl_via(&driver, lab.cache.path(), &["delete", "pod", POD, "-n", NS]);
    assert!(
        stderr(&o).starts_with("Error from server (Forbidden)"),
        "{}",
        stderr(&o)
    );
    assert!(lab.handle.get("Pod", NS, POD).is_some());
    // `m` to dry-run: the same gate, now sending writes with dryRun=All.
    driver.set_mode(RunMode::DryRun);
    assert!(driver.gated());
    assert_eq!(gate.mode(), Mode::DryRun);
    let o = kubectl_via(&driver, lab.cache.path(), &["delete", "pod", POD, "-n", NS]);
    assert!(
        stdout(&o).contains(&format!("pod \"{POD}\" deleted")),
        "{}{}",
        stdout(&o),
        stderr(&o)
    );
    assert!(lab.handle.get("Pod", NS, POD).is_some());
    // `m` to confirm: the pinned kubeconfig again, no gate in the way.
    driver.set_mode(RunMode::Confirm);
    assert!(!driver.gated());
    assert_eq!(driver.kubeconfig(), Some(pinned.clone()));
    // A read-only guard rail on the context wins over confirm: back through the gate.
    driver.set_context(Some("lab".to_owned()), Guard::ReadOnly);
    assert_eq!(driver.mode(), RunMode::ReadOnly);
    assert!(driver.gated());
    assert_eq!(driver.kubeconfig(), Some(gate.kubeconfig()));
    // Without a gate nothing is claimed.
    let plain = Driver::new(
        Arc::clone(&driver.procedure),
        Shell::from_current(),
        Setup {
            mode: RunMode::ReadOnly,
            ..Setup::default()
        },
    );
    assert!(!plain.gated());
}
