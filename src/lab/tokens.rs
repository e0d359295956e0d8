//! Service account tokens: what `kubectl create token` asks for (the `TokenRequest`
//! subresource of a `ServiceAccount`), and who a request carrying one of them is.
//!
//! A token is a JWT with the claims a v1.32 server writes (`iss`, `sub`
//! `system:serviceaccount:NS:NAME`, `aud`, `exp`, `iat`, `nbf`, `jti`, and `kubernetes.io`
//! naming the namespace, the service account and the object it is bound to), signed with
//! HMAC-SHA256 under a key the lab makes at start: a real server signs with RS256 and its
//! service-account key, which a practice cluster has no use for. A token authenticates as its
//! service account while it has not expired, the account still exists with the same uid and
//! (for a bound token) its object too, as the real authenticator checks; RBAC then decides
//! (`auth`). To add a claim, add it in [`Issuer::issue`] and read it in [`Issuer::verify`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The issuer and the default audience, as kubeadm configures the API server.
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";
/// A token's life when the request names none (`kubectl create token` without `--duration`).
pub const DEFAULT_SECONDS: i64 = 3600;
/// The shortest life a request may ask for.
pub const MIN_SECONDS: i64 = 600;

/// The kinds a token can be bound to: kind, its `kubernetes.io` claim key, its core resource,
/// and whether it lives in the token's namespace.
const BOUND_KINDS: &[(&str, &str, &str, bool)] = &[
    ("Pod", "pod", "pods", true),
    ("Secret", "secret", "secrets", true),
    ("Node", "node", "nodes", false),
];

/// The core resource of a kind a token can be bound to, and whether it is namespaced.
pub fn bound_resource(kind: &str) -> Option<(&'static str, bool)> {
    BOUND_KINDS
        .iter()
        .find(|(k, ..)| *k == kind)
        .map(|&(_, _, plural, namespaced)| (plural, namespaced))
}

/// Signs and checks the lab's service account tokens.
pub struct Issuer {
    key: [u8; 32],
}

/// What a token says, once its signature and times are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub namespace: String,
    pub name: String,
    pub uid: String,
    /// The object the token is bound to: (kind, name, uid).
    pub bound: Option<(String, String, String)>,
    pub audiences: Vec<String>,
    pub id: String,
}

/// What [`Issuer::issue`] makes a token for.
pub struct Grant<'a> {
    pub namespace: &'a str,
    pub name: &'a str,
    pub uid: &'a str,
    pub audiences: &'a [String],
    pub seconds: i64,
    /// (kind, name, uid) of the object the token lives no longer than.
    pub bound: Option<(&'a str, &'a str, &'a str)>,
}

impl Issuer {
    /// An issuer with a fresh random key.
    pub fn fresh() -> Self {
        let mut key = [0u8; 32];
        key[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        key[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
        Self { key }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC takes a key of any length; this one cannot fail.
        <Hmac<Sha256> as Mac>::new_from_slice(&self.key).unwrap_or_else(|_| unreachable!())
    }

    /// A signed token for `grant`, issued at `now`, and when it expires.
    pub fn issue(&self, grant: &Grant<'_>, now: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let exp = now + TimeDelta::seconds(grant.seconds);
        let mut k8s = json!({
            "namespace": grant.namespace,
            "serviceaccount": {"name": grant.name, "uid": grant.uid},
        });
        if let Some((kind, name, uid)) = grant.bound
            && let Some((_, key, ..)) = BOUND_KINDS.iter().find(|(k, ..)| *k == kind)
        {
            k8s[*key] = json!({"name": name, "uid": uid});
        }
        let claims = json!({
            "aud": grant.audiences,
            "exp": exp.timestamp(),
            "iat": now.timestamp(),
            "iss": ISSUER,
            "jti": uuid::Uuid::new_v4().to_string(),
            "kubernetes.io": k8s,
            "nbf": now.timestamp(),
            "sub": super::auth::service_account_user(grant.namespace, grant.name),
        });
        let head = B64.encode(json!({"alg": "HS256", "kid": "runbook-lab"}).to_string());
        let body = B64.encode(claims.to_string());
        let signing = format!("{head}.{body}");
        let mut mac = self.mac();
        mac.update(signing.as_bytes());
        let signature = B64.encode(mac.finalize().into_bytes());
        (format!("{signing}.{signature}"), exp)
    }

    /// The claims of `token` when this issuer signed it and it is valid at `now`.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Option<Claims> {
        let (signing, signature) = token.rsplit_once('.')?;
        let mut mac = self.mac();
        mac.update(signing.as_bytes());
        mac.verify_slice(&B64.decode(signature).ok()?).ok()?;
        let (_, body) = signing.split_once('.')?;
        let claims: Value = serde_json::from_slice(&B64.decode(body).ok()?).ok()?;
        let at = now.timestamp();
        if claims["nbf"].as_i64()? > at || claims["exp"].as_i64()? <= at {
            return None;
        }
        let k8s = &claims["kubernetes.io"];
        let text = |v: &Value| v.as_str().map(str::to_owned);
        let bound = BOUND_KINDS.iter().find_map(|(kind, key, ..)| {
            let o = &k8s[*key];
            Some(((*kind).to_owned(), text(&o["name"])?, text(&o["uid"])?))
        });
        Some(Claims {
            namespace: text(&k8s["namespace"])?,
            name: text(&k8s["serviceaccount"]["name"])?,
            uid: text(&k8s["serviceaccount"]["uid"])?,
            bound,
            audiences: claims["aud"]
                .as_array()
                .map(|a| a.iter().filter_map(text).collect())
                .unwrap_or_default(),
            id: text(&claims["jti"])?,
        })
    }
}

/// Why a `TokenRequest`'s spec is refused, as validation words it: (field, message).
pub fn spec_problem(spec: &Value) -> Option<(&'static str, String)> {
    let seconds = spec["expirationSeconds"].as_i64()?;
    if seconds < MIN_SECONDS {
        return Some((
            "spec.expirationSeconds",
            format!("Invalid value: {seconds}: may not specify a duration less than 10 minutes"),
        ));
    }
    if seconds > 1 << 32 {
        return Some((
            "spec.expirationSeconds",
            format!(
                "Invalid value: {seconds}: may not specify a duration larger than 2^32 seconds"
            ),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::clock::parse_ts;

    fn at(s: &str) -> DateTime<Utc> {
        parse_ts(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn a_token_reads_back_as_its_account_until_it_expires() {
        let issuer = Issuer::fresh();
        let audiences = vec![ISSUER.to_owned()];
        let grant = Grant {
            namespace: "demo",
            name: "builder",
            uid: "u-1",
            audiences: &audiences,
            seconds: 600,
            bound: Some(("Pod", "web-0", "p-1")),
        };
        let (token, exp) = issuer.issue(&grant, at("2026-12-04T10:00:00Z"));
        assert_eq!(exp, at("2026-12-04T10:10:00Z"));
        let claims = issuer
            .verify(&token, at("2026-12-04T10:09:59Z"))
            .unwrap_or_else(|| panic!("valid token refused"));
        assert_eq!(
            (
                claims.namespace.as_str(),
                claims.name.as_str(),
                claims.uid.as_str()
            ),
            ("demo", "builder", "u-1")
        );
        assert_eq!(
            claims.bound,
            Some(("Pod".to_owned(), "web-0".to_owned(), "p-1".to_owned()))
        );
        assert_eq!(claims.audiences, audiences);
        // Expired, tampered with, or signed by another lab: not a token of this lab.
        assert!(issuer.verify(&token, at("2026-12-04T10:10:00Z")).is_none());
        let (head, rest) = token.split_once('.').unwrap_or_default();
        let (_, signature) = rest.split_once('.').unwrap_or_default();
        let forged = B64.encode(
            json!({"exp": i64::MAX, "nbf": 0, "kubernetes.io": {"namespace": "kube-system",
                "serviceaccount": {"name": "admin", "uid": "x"}}, "jti": "j"})
            .to_string(),
        );
        let forged = format!("{head}.{forged}.{signature}");
        assert!(issuer.verify(&forged, at("2026-12-04T10:01:00Z")).is_none());
        assert!(
            Issuer::fresh()
                .verify(&token, at("2026-12-04T10:01:00Z"))
                .is_none()
        );
    }

    #[test]
    fn a_life_under_ten_minutes_is_refused() {
        let (field, message) =
            spec_problem(&json!({"expirationSeconds": 60})).unwrap_or_else(|| panic!("accepted"));
        assert_eq!(field, "spec.expirationSeconds");
        assert_eq!(
            message,
            "Invalid value: 60: may not specify a duration less than 10 minutes"
        );
        assert!(spec_problem(&json!({"expirationSeconds": 3600})).is_none());
        assert!(spec_problem(&json!({})).is_none());
    }
}
