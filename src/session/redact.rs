//! Redaction: what must never leave a session in a report or an export.
//!
//! [`Redactor::redact`] replaces, in any text (commands, output, notes, values):
//! - the values of secret variables (exact strings),
//! - PEM `PRIVATE KEY` blocks (also one cut off by output trimming),
//! - `Bearer <token>` and the value of `Authorization` headers (curl `-H`, HTTP dumps, JSON),
//! - JWTs (service-account tokens) wherever they appear,
//! - the value of secret-looking keys in JSON (`"password": "..."`), YAML (`token: ...`),
//!   query strings and assignments (`password=...`, `--token=...`, `--password ...`), which
//!   covers kubeconfig `client-key-data`, `client-certificate-data` and `token`,
//! - `user:password@` in URLs,
//! - the values of `data:`/`stringData:` maps of Kubernetes Secrets, YAML and JSON (and any
//!   long base64 value in such a map even when the kind is not shown).
//!
//! To redact one more kind of secret, add a rule to [`RULES`] (a regex and what to keep) or a
//! pass to [`Redactor::redact`], and a string of that kind to the test in `tests/session.rs`.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::{Captures, Regex};

/// What stands where a secret was.
pub const REDACTED: &str = "[REDACTED]";

/// Key names whose values are secret, as a regex fragment (matched case-insensitively).
const SECRET_KEY: &str = r"[A-Za-z0-9_.-]*(?:password|passwd|passphrase|secret|token|api[_-]?key|apikey|client-key-data|client-certificate-data|private[_-]?key|credentials?)[A-Za-z0-9_.-]*";

/// Keys that merely name a secret (`secretName`, `token-file`, `secret_ref`) keep their value.
fn names_a_secret(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    [
        "name", "ref", "file", "path", "id", "type", "kind", "ttl", "count",
    ]
    .iter()
    .any(|suffix| lower.ends_with(suffix))
        && !lower.ends_with("token")
}

struct Rules {
    pem: Regex,
    bearer: Regex,
    authorization: Regex,
    jwt: Regex,
    json_key: Regex,
    yaml_key: Regex,
    assignment: Regex,
    flag_space: Regex,
    url_password: Regex,
    json_data: Regex,
    json_pair: Regex,
    secret_kind: Regex,
    base64ish: Regex,
}

fn build() -> Option<Rules> {
    Some(Rules {
        pem: Regex::new(r"(?s)-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\z)").ok()?,
        bearer: Regex::new(r"(?i)\b(bearer)(\s+)[A-Za-z0-9._~+/=-]{8,}").ok()?,
        authorization: Regex::new(
            r#"(?i)(\\?"?(?:proxy-)?authorization\\?"?\s*[:=]\s*\\?"?)[^"'\\\r\n]+"#,
        )
        .ok()?,
        jwt: Regex::new(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*").ok()?,
        json_key: Regex::new(&format!(
            r#"(?i)(\\?"({SECRET_KEY})\\?"\s*:\s*)(\\?"(?:[^"\\]|\\[^"])*\\?"|[^,}}\s\]]+)"#
        ))
        .ok()?,
        yaml_key: Regex::new(&format!(
            r"(?im)^([+-]?[ \t]*(?:-[ \t]+)?({SECRET_KEY})[ \t]*:[ \t]+)([^\s|>#][^\r\n]*)$"
        ))
        .ok()?,
        assignment: Regex::new(&format!(
            r#"(?i)((?:^|[\s?&;'"(,`])-{{0,2}}({SECRET_KEY})=)("[^"]*"|'[^']*'|[^\s&;'"`]+)"#
        ))
        .ok()?,
        flag_space: Regex::new(
            r#"(?i)(--(?:password|passwd|token|client-secret|secret|api-key)\s+)("[^"]*"|'[^']*'|\S+)"#,
        )
        .ok()?,
        url_password: Regex::new(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@").ok()?,
        json_data: Regex::new(r#"(?s)("(?:data|stringData)"\s*:\s*\{)([^{}]*)\}"#).ok()?,
        json_pair: Regex::new(r#"("[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*""#).ok()?,
        secret_kind: Regex::new(r#"(?i)(?:kind:\s*Secret\b|"kind"\s*:\s*"Secret")"#).ok()?,
        base64ish: Regex::new(r"^[A-Za-z0-9+/]{16,}={0,2}$").ok()?,
    })
}

static RULES: LazyLock<Option<Rules>> = LazyLock::new(build);

/// Redacts secrets from text; built once per session with its secret values.
#[derive(Debug, Default, Clone)]
pub struct Redactor {
    /// Exact strings to remove, longest first.
    values: Vec<String>,
}

impl Redactor {
    /// A redactor that also removes these exact values (secret variables).
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut values: Vec<String> = values
            .into_iter()
            .map(Into::into)
            .filter(|v: &String| v.len() >= 3)
            .collect();
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
        values.dedup();
        Self { values }
    }

    /// `text` with every secret replaced by [`REDACTED`].
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for v in &self.values {
            if out.contains(v.as_str()) {
                out = out.replace(v.as_str(), REDACTED);
            }
        }
        let Some(r) = RULES.as_ref() else {
            // The rules are constants; if they could not be built, nothing may leave.
            return REDACTED.to_owned();
        };
        let secret_kind = r.secret_kind.is_match(&out);
        out = replace(&r.pem, out, |c| {
            format!(
                "-----BEGIN {}PRIVATE KEY----- {REDACTED} -----END {}PRIVATE KEY-----",
                &c[1], &c[1]
            )
        });
        out = replace(&r.authorization, out, |c| format!("{}{REDACTED}", &c[1]));
        out = replace(&r.bearer, out, |c| format!("{}{}{REDACTED}", &c[1], &c[2]));
        out = replace(&r.jwt, out, |_| REDACTED.to_owned());
        out = replace(&r.json_key, out, |c| {
            if names_a_secret(&c[2]) {
                c[0].to_owned()
            } else {
                let quote = if c[3].starts_with("\\\"") {
                    "\\\""
                } else if c[3].starts_with('"') {
                    "\""
                } else {
                    ""
                };
                format!("{}{quote}{REDACTED}{quote}", &c[1])
            }
        });
        out = replace(&r.yaml_key, out, |c| {
            if names_a_secret(&c[2]) {
                c[0].to_owned()
            } else {
                format!("{}{REDACTED}", &c[1])
            }
        });
        out = replace(&r.assignment, out, |c| {
            if names_a_secret(&c[2]) {
                c[0].to_owned()
            } else {
                format!("{}{REDACTED}", &c[1])
            }
        });
        out = replace(&r.flag_space, out, |c| format!("{}{REDACTED}", &c[1]));
        out = replace(&r.url_password, out, |c| format!("{}{REDACTED}@", &c[1]));
        out = replace(&r.json_data, out, |c| {
            let body = replace(&r.json_pair, c[2].to_owned(), |p| {
                let value = p[0][p[1].len()..].trim_matches('"');
                if secret_kind || r.base64ish.is_match(value) {
                    format!("{}\"{REDACTED}\"", &p[1])
                } else {
                    p[0].to_owned()
                }
            });
            format!("{}{body}}}", &c[1])
        });
        yaml_data_maps(&out, secret_kind, &r.base64ish)
    }

    /// [`Self::redact`] on every string of a JSON value.
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::String(s) => *s = self.redact(s),
            serde_json::Value::Array(items) => {
                for v in items {
                    self.redact_json(v);
                }
            }
            serde_json::Value::Object(map) => {
                for v in map.values_mut() {
                    self.redact_json(v);
                }
            }
            _ => {}
        }
    }
}

fn replace(re: &Regex, text: String, f: impl Fn(&Captures<'_>) -> String) -> String {
    match re.replace_all(&text, |c: &Captures<'_>| f(c)) {
        Cow::Borrowed(_) => text,
        Cow::Owned(s) => s,
    }
}

/// Values under `data:` / `stringData:` in YAML: all of them when the text shows a Secret,
/// else the ones that look like base64.
fn yaml_data_maps(text: &str, secret_kind: bool, base64ish: &Regex) -> String {
    let mut out = String::with_capacity(text.len());
    // Indentation of the `data:` line while inside its map.
    let mut map_indent: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        let body = line.trim_end_matches(['\n', '\r']);
        let indent = body.len() - body.trim_start_matches([' ', '-']).len();
        let trimmed = body.trim_start_matches([' ', '-']).trim_end();
        if let Some(level) = map_indent {
            if !trimmed.is_empty() && indent > level {
                if let Some((key, value)) = trimmed.split_once(':') {
                    let value = value.trim();
                    if !value.is_empty() && (secret_kind || base64ish.is_match(value)) {
                        out.push_str(&body[..indent]);
                        out.push_str(key);
                        out.push_str(": ");
                        out.push_str(REDACTED);
                        out.push_str(&line[body.len()..]);
                        continue;
                    }
                }
                out.push_str(line);
                continue;
            }
            if !trimmed.is_empty() {
                map_indent = None;
            }
        }
        if trimmed == "data:" || trimmed == "stringData:" {
            map_indent = Some(indent);
        }
        out.push_str(line);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_text_survives() {
        let r = Redactor::new(Vec::<String>::new());
        for text in [
            "kubectl get secret -n hubble-system",
            "secretName: backup-creds",
            "NAME READY STATUS\nmgmt-0 1/1 Running",
            "https://example.com/api/v1/pods?limit=5",
            "data:\n  replicas: \"3\"\n",
        ] {
            assert_eq!(r.redact(text), text);
        }
    }

    #[test]
    fn each_kind_is_removed() {
        let r = Redactor::new(["hunter2-secret-value"]);
        for (text, secret) in [
            ("echo hunter2-secret-value", "hunter2-secret-value"),
            ("Authorization: Bearer abc.def.ghi123", "abc.def.ghi123"),
            (
                "curl -H 'Authorization: Basic dXNlcjpwYXNz'",
                "dXNlcjpwYXNz",
            ),
            (r#"{"password": "p4ssw0rd!"}"#, "p4ssw0rd!"),
            ("password: p4ssw0rd!", "p4ssw0rd!"),
            ("https://x/login?user=a&password=p4ssw0rd", "p4ssw0rd"),
            ("https://admin:s3cr3tpw@git.example.com/repo", "s3cr3tpw"),
            (
                "    client-key-data: LS0tLS1CRUdJTiBSU0E=",
                "LS0tLS1CRUdJTiBSU0E=",
            ),
            (
                "    token: kubeadm.abcdef0123456789",
                "kubeadm.abcdef0123456789",
            ),
            ("login --password s3cr3t-flag", "s3cr3t-flag"),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----",
                "MIIEowIBAAKCAQEA",
            ),
            (
                "apiVersion: v1\ndata:\n  tls.key: c2VjcmV0LWtleQ==\n  user: YWRtaW4=\nkind: Secret\n",
                "YWRtaW4=",
            ),
            (
                r#"{"apiVersion": "v1", "data": {"user": "YWRtaW4="}, "kind": "Secret"}"#,
                "YWRtaW4=",
            ),
        ] {
            let out = r.redact(text);
            assert!(!out.contains(secret), "{text:?} -> {out:?}");
            assert!(out.contains(REDACTED), "{text:?} -> {out:?}");
        }
    }
}
