//! Is the pinned cluster there, and who are we to it?
//!
//! [`probe`] asks the API server for its version (which also measures the round trip) and, once
//! per context, who the server thinks we are (`SelfSubjectReview`; servers without it fall back
//! to what the kubeconfig says). Failures come back as a [`Health::Down`] with a reason a user
//! can act on — no kubeconfig, refused credentials, TLS, timeout — never a stack trace.

use std::time::{Duration, Instant};

use serde_json::json;

use super::{Pinned, READ_TIMEOUT, plain};

/// How long the status bar's probe waits for an answer.
pub const PROBE_BOUND: Duration = Duration::from_secs(20);

/// The cluster's state, as the status bar shows it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Health {
    /// Not asked yet.
    #[default]
    Unknown,
    Up {
        /// `v1.32.4`.
        version: String,
        /// The user the server sees, or the kubeconfig's user when it cannot say.
        identity: Option<String>,
        latency: Duration,
    },
    /// Why not, in words.
    Down(String),
}

impl Health {
    /// One short phrase for the status bar.
    pub fn summary(&self) -> String {
        match self {
            Self::Unknown => "checking…".to_owned(),
            Self::Up {
                version,
                identity,
                latency,
            } => {
                let who = identity
                    .as_deref()
                    .map(|i| format!(" as {i}"))
                    .unwrap_or_default();
                format!("{version}{who} · {} ms", latency.as_millis())
            }
            Self::Down(reason) => reason.clone(),
        }
    }
}

/// Asks the server, waiting at most `bound`; `identity` is what an earlier probe learnt (asked
/// only when `None`).
pub async fn probe(pinned: &Pinned, identity: Option<String>, bound: Duration) -> Health {
    let server = pinned.entry.server.clone();
    let client = match pinned.client().await {
        Ok(c) => c,
        Err(reason) => return Health::Down(reason),
    };
    let started = Instant::now();
    let version = match tokio::time::timeout(bound, client.apiserver_version()).await {
        Ok(Ok(info)) => info.git_version,
        Ok(Err(e)) => return Health::Down(explain(&e, &server)),
        Err(_) => {
            return Health::Down(format!(
                "no answer from {server} within {} s",
                bound.as_secs()
            ));
        }
    };
    let latency = started.elapsed();
    let identity = match identity {
        Some(i) => Some(i),
        None => who_am_i(&client)
            .await
            .or_else(|| kubeconfig_identity(pinned)),
    };
    Health::Up {
        version,
        identity,
        latency,
    }
}

/// `kubectl auth whoami`: the server's view of us, where it offers `SelfSubjectReview`.
/// The review is not stored by the server: nothing is written.
async fn who_am_i(client: &kube::Client) -> Option<String> {
    let body = serde_json::to_vec(&json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "SelfSubjectReview",
    }))
    .ok()?;
    let request = http::Request::post("/apis/authentication.k8s.io/v1/selfsubjectreviews")
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .ok()?;
    let answer: serde_json::Value = tokio::time::timeout(READ_TIMEOUT, client.request(request))
        .await
        .ok()?
        .ok()?;
    answer
        .pointer("/status/userInfo/username")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
}

/// What the kubeconfig says about the user: its name and how it authenticates.
fn kubeconfig_identity(pinned: &Pinned) -> Option<String> {
    let user = pinned.kubeconfig.auth_infos.first()?;
    let info = user.auth_info.as_ref();
    let how = info.map_or("", |a| {
        if a.exec.is_some() {
            "exec plugin"
        } else if a.token.is_some() || a.token_file.is_some() {
            "token"
        } else if a.client_certificate.is_some() || a.client_certificate_data.is_some() {
            "client certificate"
        } else if a.auth_provider.is_some() {
            "auth provider"
        } else if a.username.is_some() {
            "basic auth"
        } else {
            ""
        }
    });
    Some(if how.is_empty() {
        user.name.clone()
    } else {
        format!("{} ({how})", user.name)
    })
}

/// A kube-rs error as a reason a user can act on.
pub fn explain(err: &kube::Error, server: &str) -> String {
    if let kube::Error::Api(status) = err {
        let message = if status.message.is_empty() {
            status.reason.clone()
        } else {
            status.message.clone()
        };
        return match status.code {
            401 => format!(
                "{server} refused our credentials (401 Unauthorized): the token or \
                 certificate has expired or is wrong; get a fresh kubeconfig"
            ),
            403 => format!("reachable, but forbidden (403): {message}"),
            code => format!("{server} answered {code}: {message}"),
        };
    }
    let detail = plain(err);
    let lower = detail.to_ascii_lowercase();
    if lower.contains("connection refused") {
        format!("connection refused by {server}: is the API server up and the address right?")
    } else if lower.contains("certificate")
        || lower.contains("unknownissuer")
        || lower.contains("tls")
        || lower.contains("handshake")
        || lower.contains("corrupt message")
    {
        format!("TLS error talking to {server}: {}", tls_reason(&detail))
    } else if lower.contains("dns") || lower.contains("failed to lookup") {
        format!("cannot resolve the host of {server}")
    } else if lower.contains("timed out") || lower.contains("elapsed") || lower.contains("timeout")
    {
        format!("no answer from {server} in time (timed out)")
    } else if lower.contains("auth") || lower.contains("exec") {
        format!("cannot get credentials for {server}: {detail}")
    } else {
        format!("cannot reach {server}: {detail}")
    }
}

/// The useful end of a rustls error chain.
fn tls_reason(detail: &str) -> String {
    let lower = detail.to_ascii_lowercase();
    if lower.contains("unknownissuer") || lower.contains("unknown issuer") {
        "the server's certificate is signed by an authority the kubeconfig does not trust"
            .to_owned()
    } else if lower.contains("notvalidforname") || lower.contains("not valid for name") {
        "the server's certificate is not valid for this address".to_owned()
    } else if lower.contains("corrupt message") || lower.contains("invalidcontenttype") {
        "the server did not answer in TLS (is it an http:// address?)".to_owned()
    } else if lower.contains("expired") {
        "the server's certificate has expired".to_owned()
    } else {
        detail
            .rsplit(": ")
            .next()
            .unwrap_or(detail)
            .trim()
            .to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summaries_say_what_a_user_needs() {
        let up = Health::Up {
            version: "v1.32.4".into(),
            identity: Some("trainee".into()),
            latency: Duration::from_millis(12),
        };
        assert_eq!(up.summary(), "v1.32.4 as trainee · 12 ms");
        assert_eq!(Health::Down("nope".into()).summary(), "nope");
    }

    #[test]
    fn tls_reasons_are_words() {
        assert!(
            tls_reason("error trying to connect: invalid peer certificate: UnknownIssuer")
                .contains("authority")
        );
        assert!(tls_reason("invalid peer certificate: NotValidForName").contains("address"));
    }
}
