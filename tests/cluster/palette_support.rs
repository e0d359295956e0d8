//! Shared by the Palette tests: the real binary run with a private HOME and the Palette
//! variables of a stand-in, a stand-in with a few clusters, and a TLS terminator (rustls, a CA
//! generated per test with rcgen) in front of any 127.0.0.1 server.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use runbook::palette::standin::{self, StandIn, StandInCluster, StandInGateway, StandInOptions};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A key in Palette's shape (32 letters and digits), made up per test.
pub fn key() -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string();
    // Mixed case like a real key, so a case-insensitive search still finds any copy.
    raw.chars()
        .enumerate()
        .map(|(i, c)| {
            if i % 3 == 0 {
                c.to_ascii_uppercase()
            } else {
                c
            }
        })
        .collect()
}

/// The practice project's uid and name.
pub const PROJECT_UID: &str = "5043000100000000000000a1";
pub const PROJECT: &str = "Default";
/// A project the key may not use.
pub const DENIED_UID: &str = "5043000100000000000000d1";
pub const DENIED: &str = "Restricted";

/// A cluster of the stand-in (no kubeconfig unless given).
pub fn cluster(name: &str, n: usize, state: &str, kubeconfig: Option<String>) -> StandInCluster {
    StandInCluster {
        name: name.to_owned(),
        uid: standin::uid(0x0c15, n),
        project_uid: PROJECT_UID.to_owned(),
        cloud: "edge-native".to_owned(),
        state: state.to_owned(),
        health: (state == "Running").then(|| "Healthy".to_owned()),
        kubernetes: "1.32.4".to_owned(),
        kubeconfig,
        labels: Vec::new(),
    }
}

/// Options for a stand-in with two projects (one denied) and a gateway.
pub fn options(key: &str, clusters: Vec<StandInCluster>) -> StandInOptions {
    StandInOptions {
        key: key.to_owned(),
        projects: vec![
            (PROJECT_UID.to_owned(), PROJECT.to_owned()),
            (DENIED_UID.to_owned(), DENIED.to_owned()),
        ],
        denied_projects: vec![DENIED_UID.to_owned()],
        clusters,
        gateways: vec![StandInGateway {
            name: "pcg-east".to_owned(),
            uid: standin::uid(0x0aa, 1),
            state: "Running".to_owned(),
            healthy: true,
        }],
        ..StandInOptions::default()
    }
}

pub async fn start(options: StandInOptions) -> StandIn {
    StandIn::start(options)
        .await
        .unwrap_or_else(|e| panic!("stand-in: {e}"))
}

/// The real binary with HOME, the XDG folders and the session folder in `home`, no kubeconfig
/// and no Palette variables but `env`.
pub async fn runbook(home: &Path, env: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_runbook"));
    cmd.args(args)
        .current_dir(home)
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("XDG_DATA_HOME", home.join(".local/share"))
        .env("XDG_CACHE_HOME", home.join(".cache"))
        .env("RUNBOOK_DATA_DIR", home.join("data"))
        .env("KUBECACHEDIR", home.join(".kube-cache"))
        .env_remove("KUBECONFIG")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .kill_on_drop(true);
    for var in runbook::palette::config::KEY_VARS
        .iter()
        .chain(&runbook::palette::config::HOST_VARS)
        .chain(&[runbook::palette::config::PROJECT_VAR])
    {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .await
        .unwrap_or_else(|e| panic!("runbook {args:?}: {e}"))
}

/// `PALETTE_HOST` and `PALETTE_API_KEY` for a stand-in.
pub fn palette_env<'a>(url: &'a str, key: &'a str) -> [(&'a str, &'a str); 2] {
    [("PALETTE_HOST", url), ("PALETTE_API_KEY", key)]
}

pub fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a user error: exit 2 and exactly one line, `runbook: error: ...` containing `want`.
pub fn assert_one_line_error(out: &Output, want: &str) -> String {
    let (stdout, stderr) = text(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "not one line: {stderr}");
    assert!(stderr.starts_with("runbook: error: "), "{stderr}");
    assert!(stderr.contains(want), "wanted {want:?} in: {stderr}");
    stderr
}

/// Every file under `dir`, read as text (lossy).
pub fn all_text_under(dir: &Path) -> String {
    let mut out = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(bytes) = std::fs::read(&p) {
                out.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    out
}

// ---------------------------------------------------------------- TLS

/// A CA (PEM) and a TLS terminator on 127.0.0.1 that forwards each connection to `target`.
pub struct TlsFront {
    pub addr: SocketAddr,
    pub ca_pem: String,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl TlsFront {
    pub fn write_ca(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.ca_pem).unwrap_or_else(|e| panic!("{e}"));
        path
    }
}

/// Starts a TLS terminator for `target` with a certificate for 127.0.0.1 and localhost.
pub async fn tls_front(target: SocketAddr) -> TlsFront {
    let ca_key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap_or_else(|e| panic!("{e}"));
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "runbook test CA");
    let issuer = CertifiedIssuer::self_signed(params, ca_key).unwrap_or_else(|e| panic!("{e}"));
    let key = KeyPair::generate().unwrap_or_else(|e| panic!("{e}"));
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])
        .and_then(|p| p.signed_by(&key, &issuer))
        .unwrap_or_else(|e| panic!("{e}"));
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_no_client_auth().with_single_cert(chain, key))
        .unwrap_or_else(|e: rustls::Error| panic!("{e}"));
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    TlsFront {
        addr,
        ca_pem: issuer.pem(),
        task,
    }
}

/// A port on 127.0.0.1 where nothing listens (it was free a moment ago).
pub fn closed_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_or_else(|e| panic!("{e}"), |a| a.port())
}

/// A listener on 127.0.0.1 that accepts connections and never answers.
pub async fn black_hole() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    (addr, task)
}
