//! Redaction: what must never leave a session in a report, an export, or `run --redact`.
//!
//! Secrets are found by what they look like and by what surrounds them, with one table of
//! kinds ([`kinds`]: documented token formats, names that announce a secret, Kubernetes
//! Secret data, private keys) and one detector for all of them ([`scan`]), plus the exact
//! values of the session's secret variables. Each secret is replaced by a marker that is
//! stable within one report, `‹redacted:aws-secret-key#1›`, so that a reader can still tell
//! that two lines held the same value; [`Redactor::summary`] says what was removed (kind and
//! count, never the value).
//!
//! - [`Redactor::redact`] / [`Redactor::redact_json`]: a whole text (a report, an export).
//! - [`Redactor::stream`]: lines as they come (`runbook run --redact`).
//! - [`check`]: where the secrets of any text are (`runbook report --check FILE`).
//! - [`Redactor::with_env`]: the values of environment variables named like a secret
//!   (`PALETTE_API_KEY`, `SPECTROCLOUD_APIKEY`, `…_TOKEN`) or named by the caller as secret are
//!   removed wherever they appear, whatever they look like.
//!
//! To redact one more kind of secret, add a row to [`kinds`] and a sample of it to the corpus
//! test in `tests/local/redact.rs`; the false-positive corpus there must stay under 0.5% of
//! lines changed.

pub mod kinds;
mod literals;
pub mod scan;

use std::collections::{BTreeMap, HashMap};
use std::sync::{LazyLock, Mutex, PoisonError};

use aho_corasick::AhoCorasick;

use scan::Engine;
pub use scan::Finding;

/// The kind of a secret variable's value (known exactly, not by its look).
pub const VALUE_KIND: &str = "secret-value";

/// The kind of a Palette API key: a variable named like one is a secret whatever its value.
const PALETTE_KEY: &str = "palette-api-key";

/// What stands in a text when the detector itself could not be built: nothing may leave.
const UNAVAILABLE: &str = "‹redacted: the redaction rules could not be loaded›";

static ENGINE: LazyLock<Result<Engine, String>> = LazyLock::new(Engine::build);

/// The compiled detector (`Err` only if the table has a broken pattern, which a test catches).
pub fn engine() -> Result<&'static Engine, &'static str> {
    ENGINE.as_ref().map_err(String::as_str)
}

/// Every kind the redactor can report, sorted.
pub fn all_kinds() -> Vec<&'static str> {
    let mut kinds: Vec<&'static str> = kinds::SHAPES
        .iter()
        .map(|s| s.kind)
        .chain(kinds::NAMES.iter().map(|n| n.kind))
        .chain(kinds::PEM_LABELS.iter().map(|(_, k)| *k))
        .chain([kinds::SECRET_DATA, VALUE_KIND])
        .collect();
    kinds.sort_unstable();
    kinds.dedup();
    kinds
}

/// One line of the closing list: a kind, how often it was removed, how many distinct values.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Redacted {
    pub kind: &'static str,
    pub count: usize,
    pub values: u32,
}

/// The numbering of secrets within one report.
#[derive(Debug, Default, Clone)]
struct Markers {
    numbers: HashMap<(&'static str, String), u32>,
    next: BTreeMap<&'static str, u32>,
    counts: BTreeMap<&'static str, usize>,
}

impl Markers {
    fn marker(&mut self, kind: &'static str, key: &str) -> String {
        *self.counts.entry(kind).or_default() += 1;
        let n = if let Some(n) = self.numbers.get(&(kind, key.to_owned())) {
            *n
        } else {
            let next = self.next.entry(kind).or_default();
            *next += 1;
            self.numbers.insert((kind, key.to_owned()), *next);
            *next
        };
        format!("‹redacted:{kind}#{n}›")
    }
}

/// Removes secrets; one per report or export, so that its markers are numbered across it.
pub struct Redactor {
    /// Exact values to remove (secret variables, secret environment variables) and their
    /// kinds, longest first.
    values: Vec<(String, &'static str)>,
    exact: Option<AhoCorasick>,
    markers: Mutex<Markers>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("values", &self.values.len())
            .finish_non_exhaustive()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new(Vec::<String>::new())
    }
}

impl Clone for Redactor {
    fn clone(&self) -> Self {
        let mut copy = Self::with_kinds(self.values.clone());
        copy.markers = Mutex::new(self.lock().clone());
        copy
    }
}

impl Redactor {
    /// A redactor that also removes these exact values (secret variables; 3 characters or
    /// more, shorter ones would remove ordinary text).
    pub fn new<I, S>(values: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self::with_kinds(values.into_iter().map(|v| (v.into(), VALUE_KIND)))
    }

    fn with_kinds(values: impl IntoIterator<Item = (String, &'static str)>) -> Self {
        let mut values: Vec<(String, &'static str)> =
            values.into_iter().filter(|(v, _)| v.len() >= 3).collect();
        values.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        values.dedup_by(|a, b| a.0 == b.0);
        let exact = (!values.is_empty())
            .then(|| {
                aho_corasick::AhoCorasick::builder()
                    .match_kind(aho_corasick::MatchKind::LeftmostLongest)
                    .build(values.iter().map(|(v, _)| v))
                    .ok()
            })
            .flatten();
        Self {
            values,
            exact,
            markers: Mutex::new(Markers::default()),
        }
    }

    /// This redactor, also removing the value of every variable of `vars` that is a secret:
    /// named like a Palette API key (`PALETTE_API_KEY`, `SPECTROCLOUD_APIKEY`: any value),
    /// named like another secret (by the table of [`kinds`], with the rules a `NAME=value`
    /// line gets: a `…_PASSWORD`, a `…_TOKEN` that is not a word), or listed in `secret_names` (compared without case; main's Palette key names, a
    /// runbook's secret variables). Values are removed wherever they appear, by value, under
    /// the kind of their name. Markers numbered so far are kept.
    #[must_use]
    pub fn with_env<I, K, V>(self, vars: I, secret_names: &[&str]) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let Ok(engine) = engine() else {
            return self;
        };
        let mut values = self.values.clone();
        for (name, value) in vars {
            let (name, value) = (name.as_ref(), value.as_ref().trim());
            let named = engine.secret_name(name);
            let kind = if secret_names.iter().any(|n| n.eq_ignore_ascii_case(name)) {
                Some(named.unwrap_or(VALUE_KIND))
            } else if named == Some(PALETTE_KEY) {
                named
            } else {
                engine.secret_variable(name, value)
            };
            if let Some(kind) = kind {
                values.push((value.to_owned(), kind));
            }
        }
        let mut copy = Self::with_kinds(values);
        copy.markers = Mutex::new(self.lock().clone());
        copy
    }

    /// [`Self::with_env`] over this process's environment (what the steps of a run inherit).
    #[must_use]
    pub fn with_process_env(self, secret_names: &[&str]) -> Self {
        self.with_env(
            std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?))),
            secret_names,
        )
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Markers> {
        self.markers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Where the secrets of `text` are: sorted, overlaps merged, on character boundaries.
    pub fn find(&self, text: &str) -> Result<Vec<Finding>, &'static str> {
        let engine = engine()?;
        let mut found = Vec::new();
        self.exact_values(text, &mut found);
        engine.scan(text, &mut found);
        Ok(merge(text, found, true))
    }

    fn exact_values(&self, text: &str, found: &mut Vec<Finding>) {
        if let Some(ac) = &self.exact {
            found.extend(ac.find_iter(text).map(|m| {
                Finding {
                    start: m.start(),
                    end: m.end(),
                    kind: self
                        .values
                        .get(m.pattern().as_usize())
                        .map_or(VALUE_KIND, |(_, kind)| kind),
                    group: 0,
                }
            }));
        }
    }

    /// `text` with every secret replaced by its marker.
    pub fn redact(&self, text: &str) -> String {
        match self.find(text) {
            Ok(found) if found.is_empty() => text.to_owned(),
            Ok(found) => {
                let mut markers = self.lock();
                render(text, &found, |f| {
                    markers.marker(f.kind, &text[f.start..f.end])
                })
            }
            Err(_) => UNAVAILABLE.to_owned(),
        }
    }

    /// [`Self::redact`] on every string of a JSON value (object keys stay).
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

    /// What was removed so far, by kind.
    pub fn summary(&self) -> Vec<Redacted> {
        let markers = self.lock();
        markers
            .counts
            .iter()
            .map(|(kind, count)| Redacted {
                kind,
                count: *count,
                values: markers.next.get(kind).copied().unwrap_or_default(),
            })
            .collect()
    }

    /// This redactor for lines as they come (`runbook run --redact`).
    pub fn into_stream(self) -> StreamRedactor {
        StreamRedactor {
            redactor: self,
            stream: scan::Stream::default(),
        }
    }
}

/// Lines redacted as they are printed: multi-line structures (a private key's body, a
/// Secret's data) carry from one line to the next.
#[derive(Debug)]
pub struct StreamRedactor {
    redactor: Redactor,
    stream: scan::Stream,
}

impl StreamRedactor {
    /// One line of output, without its newline.
    pub fn line(&mut self, line: &str) -> String {
        let Ok(engine) = engine() else {
            return UNAVAILABLE.to_owned();
        };
        let mut found = Vec::new();
        self.redactor.exact_values(line, &mut found);
        self.stream.line(engine, line, &mut found);
        if found.is_empty() {
            return line.to_owned();
        }
        let found = merge(line, found, false);
        let mut markers = self.redactor.lock();
        render(line, &found, |f| {
            if f.group == 0 {
                markers.marker(f.kind, &line[f.start..f.end])
            } else {
                markers.marker(f.kind, &format!("\u{0}stream-group-{}", f.group))
            }
        })
    }

    /// Lines of output (the engine emits whole lines; a last one without its newline is
    /// redacted as it is).
    pub fn chunk(&mut self, chunk: &str) -> String {
        let mut out = String::with_capacity(chunk.len());
        for piece in chunk.split_inclusive('\n') {
            let line = piece.strip_suffix('\n');
            out.push_str(&self.line(line.unwrap_or(piece)));
            if line.is_some() {
                out.push('\n');
            }
        }
        out
    }

    /// Text that is not output (a command, a title, a notice): redacted as a whole.
    pub fn other(&self, text: &str) -> String {
        self.redactor.redact(text)
    }

    /// One event of `runbook run --json`: the `line` of an output event through the stream,
    /// every string of any other event as a whole.
    pub fn event(&mut self, event: &mut serde_json::Value) {
        let output = matches!(
            event.get("event").and_then(serde_json::Value::as_str),
            Some("output" | "node_output")
        );
        if output && let Some(serde_json::Value::String(line)) = event.get_mut("line") {
            *line = self.line(line);
        } else {
            self.redactor.redact_json(event);
        }
    }

    /// What was removed so far, by kind.
    pub fn summary(&self) -> Vec<Redacted> {
        self.redactor.summary()
    }
}

/// Sorted, one finding per multi-line value (when `join_groups`), overlaps merged (the kind
/// of the one that starts first), on character boundaries.
fn merge(text: &str, mut found: Vec<Finding>, join_groups: bool) -> Vec<Finding> {
    for f in &mut found {
        while f.start > 0 && !text.is_char_boundary(f.start) {
            f.start -= 1;
        }
        while f.end < text.len() && !text.is_char_boundary(f.end) {
            f.end += 1;
        }
        f.end = f.end.min(text.len());
    }
    if join_groups && found.iter().any(|f| f.group != 0) {
        let mut spans: BTreeMap<u32, Finding> = BTreeMap::new();
        let mut single = Vec::with_capacity(found.len());
        for f in found {
            if f.group == 0 {
                single.push(f);
            } else {
                spans
                    .entry(f.group)
                    .and_modify(|s| {
                        s.start = s.start.min(f.start);
                        s.end = s.end.max(f.end);
                    })
                    .or_insert(f);
            }
        }
        single.extend(spans.into_values());
        found = single;
    }
    found.retain(|f| f.start < f.end);
    found.sort_by_key(|f| (f.start, std::cmp::Reverse(f.end)));
    let mut merged: Vec<Finding> = Vec::with_capacity(found.len());
    for f in found {
        match merged.last_mut() {
            Some(last) if f.start < last.end => last.end = last.end.max(f.end),
            _ => merged.push(f),
        }
    }
    merged
}

fn render(text: &str, found: &[Finding], mut marker: impl FnMut(&Finding) -> String) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for f in found {
        out.push_str(&text[at..f.start]);
        out.push_str(&marker(f));
        at = f.end;
    }
    out.push_str(&text[at..]);
    out
}

/// A secret found by [`check`]: its 1-based line and its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit {
    pub line: usize,
    pub kind: &'static str,
}

/// Where the secrets of `text` are, by line (`runbook report --check`).
pub fn check(text: &str) -> Result<Vec<Hit>, &'static str> {
    let found = Redactor::default().find(text)?;
    let bytes = text.as_bytes();
    let mut line = 1;
    let mut at = 0;
    let mut hits = Vec::with_capacity(found.len());
    for f in found {
        line += memchr::memchr_iter(b'\n', &bytes[at..f.start]).count();
        at = f.start;
        hits.push(Hit { line, kind: f.kind });
    }
    Ok(hits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn redact(text: &str) -> String {
        Redactor::default().redact(text)
    }

    #[test]
    fn the_table_compiles() {
        assert!(engine().is_ok(), "{:?}", engine().err());
        assert!(all_kinds().len() >= 40, "{:?}", all_kinds());
    }

    #[test]
    fn ordinary_text_survives() {
        for text in [
            "kubectl get secret -n hubble-system",
            "secretName: backup-creds",
            "NAME READY STATUS\nmgmt-0 1/1 Running",
            "https://example.com/api/v1/pods?limit=5",
            "data:\n  replicas: \"3\"\nkind: ConfigMap\n",
            "    key: node.kubernetes.io/not-ready",
            "      DB_PASSWORD:  <set to the key 'password' in secret 'db'>  Optional: false",
            "password:  24 bytes",
            "    client-key-data: DATA+OMITTED",
            "automountServiceAccountToken: false",
            "TokenExpirationSeconds:  3607",
            "sudo: ubuntu : TTY=pts/0 ; PWD=/home/ubuntu ; USER=root",
            "Use Bearer authentication for the API",
            "failed to fetch token: serviceaccounts \"x\" is forbidden",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn markers_are_stable_per_value_and_counted() {
        let r = Redactor::default();
        let out =
            r.redact("password: first-pw-1\npassword: second-pw-2\nagain password: first-pw-1\n");
        assert_eq!(
            out,
            "password: ‹redacted:password#1›\npassword: ‹redacted:password#2›\nagain password: ‹redacted:password#1›\n"
        );
        let json = r.redact(r#"{"password": "second-pw-2"}"#);
        assert_eq!(json, r#"{"password": "‹redacted:password#2›"}"#);
        assert_eq!(
            r.summary(),
            [Redacted {
                kind: "password",
                count: 4,
                values: 2
            }]
        );
    }

    #[test]
    fn a_private_key_keeps_its_frame_and_loses_its_body() {
        let text = "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx\nAAAAbbbb==\n-----END RSA PRIVATE KEY-----\nafter\n";
        assert_eq!(
            redact(text),
            "key:\n-----BEGIN RSA PRIVATE KEY-----\n‹redacted:pem-private-key#1›\n-----END RSA PRIVATE KEY-----\nafter\n"
        );
        // Cut by a report's trimming: the end without its beginning.
        let cut = "[… 10 lines left out …]\nMIIEowIBAAKCAQEAx\nAAAAbbbb==\n-----END OPENSSH PRIVATE KEY-----\n";
        assert!(
            !redact(cut).contains("MIIEowIBAAKCAQEAx"),
            "{}",
            redact(cut)
        );
    }

    #[test]
    fn a_stream_carries_structures_across_lines() {
        let mut s = Redactor::default().into_stream();
        let mut out = String::new();
        out.push_str(&s.chunk("apiVersion: v1\ndata:\n"));
        out.push_str(
            &s.chunk("  password: cGFzc3dvcmQxMjM=\n  user: YWRtaW4xMjM=\nkind: Secret\n"),
        );
        out.push_str(&s.chunk("-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkq\nhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----\n"));
        assert!(!out.contains("cGFzc3dvcmQxMjM="), "{out}");
        assert!(!out.contains("YWRtaW4xMjM="), "{out}");
        assert!(!out.contains("MIIEvQIBADANBgkq"), "{out}");
        assert!(!out.contains("hkiG9w0BAQEFAASC"), "{out}");
        // One key, one marker, on both of its lines.
        assert_eq!(
            out.matches("‹redacted:pem-private-key#1›").count(),
            2,
            "{out}"
        );
    }

    #[test]
    fn environment_entries_lose_the_value_of_a_secret_name() {
        let yaml = "    env:\n    - name: DB_PASSWORD\n      value: hunter2-xyz\n    - name: LOG_LEVEL\n      value: debug\n";
        assert_eq!(
            redact(yaml),
            "    env:\n    - name: DB_PASSWORD\n      value: ‹redacted:password#1›\n    - name: LOG_LEVEL\n      value: debug\n"
        );
        let json = r#"{"name": "API_TOKEN", "value": "tok-4f9a8b7c6d5e"}, {"name": "MODE", "value": "fast"}"#;
        assert_eq!(
            redact(json),
            r#"{"name": "API_TOKEN", "value": "‹redacted:token#1›"}, {"name": "MODE", "value": "fast"}"#
        );
        let pretty = "  {\n    \"name\": \"SPECTRO_API_KEY\",\n    \"value\": \"k9Xw2LpQ7vTz4RmN8bYc\"\n  }\n";
        assert!(
            !redact(pretty).contains("k9Xw2LpQ7vTz4RmN8bYc"),
            "{}",
            redact(pretty)
        );
    }

    #[test]
    fn the_palette_api_key_header_is_removed_in_every_spelling() {
        let key = "Q2xm7RkP4vNw9TzA3bYc8HdL6sFj1GeU";
        for line in [
            format!("curl -s -H 'ApiKey: {key}' https://api.spectrocloud.com/v1/users/me"),
            format!("> ApiKey: {key}"),
            format!("apikey: {key}"),
            format!("ApiKey: {key}"),
            format!(r#"{{"headers": {{"ApiKey": "{key}"}}}}"#),
        ] {
            let out = redact(&line);
            assert!(!out.contains(key), "{line} -> {out}");
            assert!(
                out.contains("‹redacted:palette-api-key#1›"),
                "{line} -> {out}"
            );
        }
    }

    #[test]
    fn secret_environment_values_are_removed_by_value() {
        // Values that do not look like secrets at all: only knowing them finds them.
        let env = [
            ("PALETTE_API_KEY", "plainpalettekey"),
            ("SPECTROCLOUD_APIKEY", "otherword"),
            ("DEPLOY_MODE", "fastlane"),
            ("MY_TOKEN_FILE", "/tmp/token"),
            ("SITE_PASSWORD", "tulips"),
            ("FLOWER", "marigold"),
        ];
        let r = Redactor::default().with_env(env, &["flower", "SPECTROCLOUD_APIKEY"]);
        let text = "key plainpalettekey, otherword, tulips, marigold; fastlane /tmp/token\n";
        let out = r.redact(text);
        assert_eq!(
            out,
            "key ‹redacted:palette-api-key#1›, ‹redacted:palette-api-key#2›, ‹redacted:password#1›, \
             ‹redacted:secret-value#1›; fastlane /tmp/token\n"
        );
        // The stream (run --redact) knows them too.
        let mut stream = r.into_stream();
        assert_eq!(
            stream.line("got otherword"),
            "got ‹redacted:palette-api-key#2›"
        );
    }

    #[test]
    fn check_names_lines_and_kinds() {
        let text = "ok\nAKIAIOSFODNN7EXAMPLE here\nfine\nexport GITHUB_TOKEN=ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789\n";
        let hits = check(text).unwrap_or_default();
        assert_eq!(
            hits,
            [
                Hit {
                    line: 2,
                    kind: "aws-access-key-id"
                },
                Hit {
                    line: 4,
                    kind: "github-token"
                }
            ]
        );
    }
}
