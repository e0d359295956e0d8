//! `runbook fetch`: runbooks from a URL, cached for offline use.
//!
//! - [`client`] builds the HTTPS client (rustls with ring, the system's CAs plus `--ca-cert`,
//!   a timeout, at most 5 redirects and never from https to http) and downloads one body,
//!   revalidating a cached copy with If-None-Match / If-Modified-Since and refusing a body
//!   over the size limit while it streams in.
//! - [`cache`] keeps one folder per URL (body + `meta.json`), written atomically.
//! - [`index`] decides whether a body is an index (a list of URLs) and reads its entries.
//!
//! [`fetch`] drives them for a list of URLs and reports one [`Outcome`] per URL;
//! [`crate::target::load_catalog`] adds the cached runbooks to the catalog every command uses.
//! Fetched runbooks carry [`crate::runbook::Fetched`]; `runbook run` refuses one whose current
//! content has not been shown (`runbook show` records it with [`cache::mark_reviewed`]).
//!
//! To add a per-URL setting: put it in [`Options`], apply it in [`client::Client::new`] or
//! [`client::Client::get`], and give it a flag in `cli.rs` and a key in `config.rs`.

pub mod cache;
pub mod client;
pub mod index;

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::Url;
use serde::Serialize;

use cache::{Cache, Entry, Kind};
use client::{Client, Download, FetchError};

/// Default `--timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// Default `fetch_max_bytes`.
pub const DEFAULT_MAX_BYTES: u64 = 4 * 1024 * 1024;
/// Redirects followed before giving up.
pub const MAX_REDIRECTS: usize = 5;
/// Entries of an index downloaded at once.
const INDEX_CONCURRENCY: usize = 4;

#[derive(Debug, Clone)]
pub struct Options {
    pub allow_http: bool,
    /// Extra CA certificates (PEM) trusted besides the system's.
    pub ca_cert: Option<PathBuf>,
    pub timeout: Duration,
    pub max_bytes: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            allow_http: false,
            ca_cert: None,
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// What happened to one URL.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Status {
    /// A new body was downloaded (200).
    Fetched,
    /// The server said the cached copy is current (304).
    Unchanged,
    /// The server could not be reached; the cached copy is used.
    Offline { age_secs: i64, reason: String },
    /// Refused or failed; `cached_age_secs` is set when an older copy is still used.
    Failed {
        reason: String,
        cached_age_secs: Option<i64>,
    },
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub url: String,
    #[serde(flatten)]
    pub status: Status,
    /// `runbook` or `index`, when known.
    pub kind: Option<Kind>,
    /// The index this URL was listed in.
    pub index: Option<String>,
    /// The cached file.
    pub path: Option<PathBuf>,
}

impl Outcome {
    /// A failure with no copy to fall back on (the exit status is 1 when there is one).
    pub fn is_lost(&self) -> bool {
        matches!(
            self.status,
            Status::Failed {
                cached_age_secs: None,
                ..
            }
        )
    }
}

/// Fetches every URL in turn (an index's entries a few at a time) into `cache`.
pub async fn fetch(urls: &[String], options: &Options, cache: &Cache) -> Vec<Outcome> {
    let client = match Client::new(options) {
        Ok(client) => client,
        Err(err) => {
            return urls
                .iter()
                .map(|url| failed(url, None, &err, cache.load(url).as_ref(), now()))
                .collect();
        }
    };
    let mut out = Vec::new();
    for url in urls {
        let (outcome, entry) = fetch_one(&client, cache, url, None).await;
        let index = entry
            .filter(|e| e.meta.kind == Kind::Index)
            .and_then(|e| e.body().ok())
            .and_then(|body| Url::parse(url).ok().and_then(|u| index::parse(&u, &body)));
        out.push(outcome);
        if let Some(entries) = index {
            let results: Vec<Outcome> = futures_util::stream::iter(entries)
                .map(|entry| {
                    let client = &client;
                    async move { fetch_one(client, cache, entry.as_str(), Some(url)).await.0 }
                })
                .buffered(INDEX_CONCURRENCY)
                .collect()
                .await;
            out.extend(results);
        }
    }
    out
}

/// One URL: download or revalidate, store, or fall back to the cached copy. Returns the
/// outcome and the cache entry in use (for an index, to read its entries).
async fn fetch_one(
    client: &Client,
    cache: &Cache,
    url: &str,
    parent: Option<&str>,
) -> (Outcome, Option<Entry>) {
    let cached = cache.load(url);
    let result = client.get(url, cached.as_ref().map(|e| &e.meta)).await;
    let now = now();
    let outcome = |status, entry: Option<&Entry>| Outcome {
        url: url.to_owned(),
        status,
        kind: entry.map(|e| e.meta.kind),
        index: parent.map(str::to_owned),
        path: entry.map(Entry::body_path),
    };
    match result {
        Ok(Download::NotModified) => {
            let Some(mut entry) = cached else {
                let err = FetchError::Other("the server answered 304 to a plain request".into());
                return (failed(url, parent, &err, None, now), None);
            };
            let status = match cache.touch(&mut entry, now) {
                Ok(()) => Status::Unchanged,
                Err(e) => Status::Failed {
                    reason: format!("cannot update the cache: {e}"),
                    cached_age_secs: Some(now - entry.meta.fetched_at),
                },
            };
            (outcome(status, Some(&entry)), Some(entry))
        }
        Ok(Download::Body {
            bytes,
            etag,
            last_modified,
        }) => {
            let kind = match Url::parse(url) {
                Ok(u) if index::parse(&u, &bytes).is_some() => Kind::Index,
                _ => Kind::Runbook,
            };
            if kind == Kind::Index && parent.is_some() {
                let err = FetchError::Other(
                    "an index listed in an index is not followed; list its runbooks instead".into(),
                );
                return (failed(url, parent, &err, cached.as_ref(), now), None);
            }
            match cache.store(url, kind, &bytes, etag, last_modified, now) {
                Ok(entry) => (outcome(Status::Fetched, Some(&entry)), Some(entry)),
                Err(e) => {
                    let err = FetchError::Other(format!(
                        "cannot write the cache under {}: {e}",
                        cache.root().display()
                    ));
                    (failed(url, parent, &err, cached.as_ref(), now), cached)
                }
            }
        }
        Err(err) if err.is_unreachable() && cached.is_some() => {
            let entry = cached;
            let status = Status::Offline {
                age_secs: entry.as_ref().map_or(0, |e| now - e.meta.fetched_at),
                reason: err.to_string(),
            };
            (outcome(status, entry.as_ref()), entry)
        }
        Err(err) => (failed(url, parent, &err, cached.as_ref(), now), cached),
    }
}

fn failed(
    url: &str,
    parent: Option<&str>,
    err: &FetchError,
    cached: Option<&Entry>,
    now: i64,
) -> Outcome {
    Outcome {
        url: url.to_owned(),
        status: Status::Failed {
            reason: err.to_string(),
            cached_age_secs: cached.map(|e| now - e.meta.fetched_at),
        },
        kind: cached.map(|e| e.meta.kind),
        index: parent.map(str::to_owned),
        path: cached.map(Entry::body_path),
    }
}

/// Unix seconds now.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// `(from https://host/path, fetched 2 h ago)` for `runbook list`.
pub fn describe_origin(fetched: &crate::runbook::Fetched) -> String {
    format!(
        "from {}, fetched {}",
        fetched.url,
        cache::age(now() - fetched.fetched_at)
    )
}
