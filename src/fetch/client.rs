//! The HTTPS client of `runbook fetch` and what its errors say to a user.
//!
//! TLS is rustls with the ring provider; the trusted roots are the system's CA store
//! (`rustls-native-certs`: the certificates the OS and its admin maintain, so a company CA
//! installed system-wide works) plus the PEM given by `--ca-cert` / `ca_cert`. Certificate
//! verification is never turned off.
//!
//! To explain one more failure: add a [`FetchError`] variant and map it in [`classify`].

use std::sync::Arc;
use std::time::Duration;

use reqwest::Url;
use reqwest::header::{ETAG, IF_MODIFIED_SINCE, IF_NONE_MATCH, LAST_MODIFIED};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;

use super::cache::Meta;
use super::{MAX_REDIRECTS, Options};

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("refusing plain http:// (use --allow-http)")]
    PlainHttp,
    #[error("not a URL: {0}")]
    BadUrl(String),
    #[error("only https:// URLs can be fetched, not {0}://")]
    Scheme(String),
    #[error("--ca-cert {path}: {message}")]
    CaCert { path: String, message: String },
    #[error(
        "certificate not trusted for {host}: {detail} (pass --ca-cert if your server uses a private CA)"
    )]
    Untrusted { host: String, detail: String },
    #[error("certificate not valid for {host}: {detail} (check the host name in the URL)")]
    WrongHost { host: String, detail: String },
    #[error("TLS with {host} failed: {detail}")]
    Tls { host: String, detail: String },
    #[error("timed out after {}s", .0.as_secs())]
    Timeout(Duration),
    #[error("cannot reach {host}: {detail}")]
    Unreachable { host: String, detail: String },
    #[error("body larger than {}", size(*.0))]
    TooLarge(u64),
    #[error("more than {MAX_REDIRECTS} redirects (a redirect loop?); last one to {0}")]
    TooManyRedirects(String),
    #[error("refusing a redirect from https:// to plain http:// ({0})")]
    Downgrade(String),
    #[error("the server answered {0}")]
    Status(String),
    #[error("{0}")]
    Other(String),
}

impl FetchError {
    /// The server could not be reached at all: a cached copy stands in ("offline").
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Self::Unreachable { .. } | Self::Timeout(_))
    }
}

/// `4 MiB`, `512 KiB`, `100 bytes`.
fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

/// A redirect refused by the policy; found again in the error's source chain.
#[derive(Debug, thiserror::Error)]
enum RedirectRefused {
    #[error("too many redirects")]
    TooMany(String),
    #[error("https to http")]
    Downgrade(String),
}

/// What a GET brought.
#[derive(Debug)]
pub enum Download {
    Body {
        bytes: Vec<u8>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
    /// 304: the cached copy is current.
    NotModified,
}

pub struct Client {
    http: reqwest::Client,
    options: Options,
}

impl Client {
    pub fn new(options: &Options) -> Result<Self, FetchError> {
        let tls = tls_config(options)?;
        let policy = reqwest::redirect::Policy::custom(|attempt| {
            let to = attempt.url().to_string();
            if attempt.previous().len() > MAX_REDIRECTS {
                attempt.error(RedirectRefused::TooMany(to))
            } else if attempt.url().scheme() == "http"
                && attempt.previous().iter().any(|u| u.scheme() == "https")
            {
                attempt.error(RedirectRefused::Downgrade(to))
            } else {
                attempt.follow()
            }
        });
        let http = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .timeout(options.timeout)
            .redirect(policy)
            .https_only(!options.allow_http)
            .user_agent(concat!("runbook/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FetchError::Other(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            http,
            options: options.clone(),
        })
    }

    /// GETs `url`, conditionally when `cached` has validators; the body is refused as soon as
    /// it grows past the limit.
    pub async fn get(&self, url: &str, cached: Option<&Meta>) -> Result<Download, FetchError> {
        let parsed = Url::parse(url).map_err(|e| FetchError::BadUrl(format!("{url} ({e})")))?;
        match parsed.scheme() {
            "https" => {}
            "http" if self.options.allow_http => {}
            "http" => return Err(FetchError::PlainHttp),
            other => return Err(FetchError::Scheme(other.to_owned())),
        }
        let host = parsed.host_str().unwrap_or_default().to_owned();
        let mut request = self.http.get(parsed);
        if let Some(meta) = cached {
            if let Some(etag) = &meta.etag {
                request = request.header(IF_NONE_MATCH, etag);
            }
            if let Some(date) = &meta.last_modified {
                request = request.header(IF_MODIFIED_SINCE, date);
            }
        }
        let classify = |e: reqwest::Error| classify(&e, &host, self.options.timeout);
        let mut response = request.send().await.map_err(classify)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Download::NotModified);
        }
        if !status.is_success() {
            return Err(FetchError::Status(status.to_string()));
        }
        let limit = self.options.max_bytes;
        if response.content_length().is_some_and(|n| n > limit) {
            return Err(FetchError::TooLarge(limit));
        }
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let etag = header(ETAG);
        let last_modified = header(LAST_MODIFIED);
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(classify)? {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(FetchError::TooLarge(limit));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Download::Body {
            bytes,
            etag,
            last_modified,
        })
    }
}

pub fn tls_config(options: &Options) -> Result<rustls::ClientConfig, FetchError> {
    let mut roots = rustls::RootCertStore::empty();
    // Unreadable system certificates are skipped; the store keeps the rest.
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = &options.ca_cert {
        let ca_error = |message: String| FetchError::CaCert {
            path: path.display().to_string(),
            message,
        };
        let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
            .map_err(|e| ca_error(e.to_string()))?
            .collect::<Result<_, _>>()
            .map_err(|e| ca_error(e.to_string()))?;
        if certs.is_empty() {
            return Err(ca_error("no PEM certificate in it".to_owned()));
        }
        for cert in certs {
            roots
                .add(cert)
                .map_err(|e| ca_error(format!("not a usable CA certificate: {e}")))?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| FetchError::Other(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(config)
}

/// Turns reqwest's error into one a user can act on, by looking down its source chain for
/// the rustls error, our redirect refusal, or a timeout.
pub fn classify(err: &reqwest::Error, host: &str, timeout: Duration) -> FetchError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if let Some(refused) = e.downcast_ref::<RedirectRefused>() {
            return match refused {
                RedirectRefused::TooMany(to) => FetchError::TooManyRedirects(to.clone()),
                RedirectRefused::Downgrade(to) => FetchError::Downgrade(to.clone()),
            };
        }
        let tls = e.downcast_ref::<rustls::Error>().or_else(|| {
            e.downcast_ref::<std::io::Error>()
                .and_then(|io| io.get_ref())
                .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        });
        if let Some(tls) = tls {
            return tls_error(tls, host);
        }
        source = e.source();
    }
    // The typed rustls error does not always survive the connector's wrapping (an io::Error's
    // `source()` skips its payload); its message does.
    let message = innermost(err);
    if let Some(detail) = message.split("invalid peer certificate: ").nth(1) {
        return if detail.contains("UnknownIssuer") {
            tls_error(
                &rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
                host,
            )
        } else if detail.contains("NotValidForName") || detail.contains("not valid for name") {
            FetchError::WrongHost {
                host: host.to_owned(),
                detail: presented_names(detail),
            }
        } else {
            FetchError::Untrusted {
                host: host.to_owned(),
                detail: detail.to_owned(),
            }
        };
    }
    if err.is_timeout() {
        return FetchError::Timeout(timeout);
    }
    if err.is_connect() {
        return FetchError::Unreachable {
            host: host.to_owned(),
            detail: innermost(err),
        };
    }
    if err.is_redirect() {
        return FetchError::TooManyRedirects(
            err.url().map(ToString::to_string).unwrap_or_default(),
        );
    }
    FetchError::Other(innermost(err))
}

fn tls_error(err: &rustls::Error, host: &str) -> FetchError {
    use rustls::CertificateError as C;
    let host = host.to_owned();
    match err {
        rustls::Error::InvalidCertificate(C::NotValidForNameContext { presented, .. })
            if !presented.is_empty() =>
        {
            // webpki lists the names as `DnsName("x")` / `IpAddress(1.2.3.4)`.
            let names: Vec<&str> = presented
                .iter()
                .map(|p| {
                    p.strip_prefix("DnsName(\"")
                        .and_then(|r| r.strip_suffix("\")"))
                        .or_else(|| {
                            p.strip_prefix("IpAddress(")
                                .and_then(|r| r.strip_suffix(')'))
                        })
                        .unwrap_or(p)
                })
                .collect();
            FetchError::WrongHost {
                host,
                detail: format!("it names {}", names.join(", ")),
            }
        }
        rustls::Error::InvalidCertificate(C::NotValidForNameContext { .. }) => {
            FetchError::WrongHost {
                host,
                detail: "it names another host".to_owned(),
            }
        }
        rustls::Error::InvalidCertificate(C::NotValidForName) => FetchError::WrongHost {
            host,
            detail: "it names another host".to_owned(),
        },
        rustls::Error::InvalidCertificate(C::UnknownIssuer) => FetchError::Untrusted {
            host,
            detail: "issued by an unknown CA".to_owned(),
        },
        rustls::Error::InvalidCertificate(other) => FetchError::Untrusted {
            host,
            detail: format!("{other:?}"),
        },
        other => FetchError::Tls {
            host,
            detail: other.to_string(),
        },
    }
}

/// `it names localhost, 10.0.0.1` from rustls's message listing the certificate's names.
fn presented_names(detail: &str) -> String {
    // Only what the certificate presents, not the name that was expected.
    let detail = detail
        .split_once("only valid for")
        .map_or(detail, |(_, p)| p);
    let names: Vec<&str> = detail
        .split('"')
        .skip(1)
        .step_by(2)
        .chain(
            detail
                .split("IpAddress(")
                .skip(1)
                .filter_map(|r| r.split(')').next()),
        )
        .collect();
    if names.is_empty() {
        "it names another host".to_owned()
    } else {
        format!("it names {}", names.join(", "))
    }
}

/// The last message in the source chain: the one that says what happened
/// ("Connection refused"), not the wrapper ("error sending request").
fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        last = e.to_string();
        source = e.source();
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_to_do() {
        assert_eq!(
            FetchError::TooLarge(4 * 1024 * 1024).to_string(),
            "body larger than 4 MiB"
        );
        assert_eq!(
            FetchError::TooLarge(1536).to_string(),
            "body larger than 1536 bytes"
        );
        assert_eq!(
            FetchError::Timeout(Duration::from_secs(30)).to_string(),
            "timed out after 30s"
        );
        assert_eq!(
            FetchError::PlainHttp.to_string(),
            "refusing plain http:// (use --allow-http)"
        );
        let untrusted = tls_error(
            &rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
            "127.0.0.1",
        );
        assert_eq!(
            untrusted.to_string(),
            "certificate not trusted for 127.0.0.1: issued by an unknown CA (pass --ca-cert if \
             your server uses a private CA)"
        );
    }

    #[tokio::test]
    async fn schemes_are_checked_before_any_connection() {
        let client = Client::new(&Options::default()).unwrap_or_else(|e| panic!("{e}"));
        let err = client.get("http://127.0.0.1:9/a.md", None).await.err();
        assert!(matches!(err, Some(FetchError::PlainHttp)), "{err:?}");
        let err = client.get("ftp://127.0.0.1/a.md", None).await.err();
        assert!(matches!(err, Some(FetchError::Scheme(_))), "{err:?}");
        let err = client.get("not a url", None).await.err();
        assert!(matches!(err, Some(FetchError::BadUrl(_))), "{err:?}");
    }
}
