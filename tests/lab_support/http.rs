//! A tiny HTTP/1.1 client for raw requests against the lab (`Connection: close`, reads to EOF,
//! de-chunks), so tests see exact status lines, headers and body bytes.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

/// Where a request goes: the lab's address, the bearer token it demands and the CA of its TLS
/// certificate (None: plain HTTP, an open lab).
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub addr: std::net::SocketAddr,
    pub token: Option<String>,
    pub ca_pem: Option<String>,
}

impl From<std::net::SocketAddr> for Endpoint {
    fn from(addr: std::net::SocketAddr) -> Self {
        Self {
            addr,
            token: None,
            ca_pem: None,
        }
    }
}

impl From<&runbook::lab::LabHandle> for Endpoint {
    fn from(lab: &runbook::lab::LabHandle) -> Self {
        Self {
            addr: lab.addr(),
            token: lab.token().map(str::to_owned),
            ca_pem: lab.ca_pem().map(str::to_owned),
        }
    }
}

/// A rustls client that trusts only `ca_pem`.
pub fn tls_client(ca_pem: &str) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject as _;
    let mut roots = rustls::RootCertStore::empty();
    let ca = rustls::pki_types::CertificateDer::from_pem_slice(ca_pem.as_bytes())
        .unwrap_or_else(|e| panic!("lab CA: {e}"));
    roots.add(ca).unwrap_or_else(|e| panic!("lab CA: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap_or_else(|e| panic!("{e}"))
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A byte stream to the endpoint: TLS when it has a CA, plain TCP otherwise.
pub trait Stream: Read + Write {}
impl<T: Read + Write> Stream for T {}

/// Connect to the endpoint (verifying the lab's certificate for 127.0.0.1); reads time out
/// after 10 s.
pub fn connect(to: &Endpoint) -> Box<dyn Stream> {
    connect_for(to, Duration::from_secs(10))
}

/// [`connect`] with another read timeout.
pub fn connect_for(to: &Endpoint, read_timeout: Duration) -> Box<dyn Stream> {
    let tcp = TcpStream::connect(to.addr).unwrap_or_else(|e| panic!("connect: {e}"));
    tcp.set_read_timeout(Some(read_timeout)).ok();
    match &to.ca_pem {
        None => Box::new(tcp),
        Some(ca) => {
            let name = rustls::pki_types::ServerName::IpAddress(to.addr.ip().into());
            let conn = rustls::ClientConnection::new(tls_client(ca), name)
                .unwrap_or_else(|e| panic!("tls: {e}"));
            Box::new(rustls::StreamOwned::new(conn, tcp))
        }
    }
}

impl From<&Endpoint> for Endpoint {
    fn from(e: &Endpoint) -> Self {
        e.clone()
    }
}

pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The body's bytes as sent (protobuf answers are not text).
    pub raw: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(pos) = rest.windows(2).position(|w| w == b"\r\n") {
        let size =
            usize::from_str_radix(String::from_utf8_lossy(&rest[..pos]).trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = pos + 2;
        out.extend_from_slice(&rest[start..(start + size).min(rest.len())]);
        rest = &rest[(start + size + 2).min(rest.len())..];
    }
    out
}

/// One HTTP/1.1 request with `Connection: close`; reads to EOF. The endpoint's token goes in
/// `Authorization` unless the headers give one.
pub fn request(
    to: impl Into<Endpoint>,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Resp {
    let to = to.into();
    let mut s = connect(&to);
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: lab\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
    {
        head.push_str("User-Agent: kubectl/v1.32.4 (linux/amd64) kubernetes/4cb5f07\r\n");
    }
    if let Some(token) = &to.token
        && !headers
            .iter()
            .any(|(k, _)| k.eq_ignore_ascii_case("authorization"))
    {
        head.push_str("Authorization: Bearer ");
        head.push_str(token);
        head.push_str("\r\n");
    }
    for (k, v) in headers {
        head.push_str(k);
        head.push_str(": ");
        head.push_str(v);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes())
        .unwrap_or_else(|e| panic!("write: {e}"));
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let body_raw = raw.get(split + 4..).unwrap_or_default();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v == "chunked");
    let body = if chunked {
        dechunk(body_raw)
    } else {
        body_raw.to_vec()
    };
    Resp {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        raw: body,
    }
}

pub fn get(to: impl Into<Endpoint>, path: &str) -> Resp {
    request(to, "GET", path, &[("Accept", "application/json")], b"")
}
