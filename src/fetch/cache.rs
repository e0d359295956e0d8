//! The cache of fetched files, one folder per URL under `<cache dir>/runbook/fetched/`.
//!
//! A URL's folder is named by the first 16 hex digits of the URL's SHA-256; inside are the
//! body, named for the URL's last path segment (`calico-ipv6.md`, so the runbook id reads
//! well), and `meta.json`: the URL, the validators (`ETag`, `Last-Modified`) for revalidation,
//! when it was fetched and checked, the body's SHA-256, and which content the user has been
//! shown. Every write goes to a temporary file in the same folder, is synced, then renamed.
//! Folders are 0700 and files 0600 ([`crate::private`]): what a user fetched, and which of it
//! they reviewed, is theirs.
//!
//! To record something more per URL: add a `#[serde(default)]` field to [`Meta`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::runbook::Fetched;

const META: &str = "meta.json";

/// What a cached body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Runbook,
    Index,
}

/// The sidecar `meta.json` of one cached URL.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Meta {
    pub url: String,
    pub kind: Kind,
    /// The body's file name in the URL's folder.
    pub file: String,
    #[serde(default)]
    pub etag: Option<String>,
    #[serde(default)]
    pub last_modified: Option<String>,
    /// Unix seconds of the last download of a body (200).
    pub fetched_at: i64,
    /// Unix seconds of the last answer from the server (200 or 304).
    pub checked_at: i64,
    /// SHA-256 (hex) of the body.
    pub sha256: String,
    /// SHA-256 of the content last shown whole (`runbook show RUNBOOK`).
    #[serde(default)]
    pub reviewed_sha256: Option<String>,
    /// Scenario id -> SHA-256 of the content when that scenario was shown.
    #[serde(default)]
    pub reviewed_scenarios: BTreeMap<String, String>,
}

/// One cached URL: its folder and sidecar.
#[derive(Debug, Clone)]
pub struct Entry {
    pub dir: PathBuf,
    pub meta: Meta,
}

impl Entry {
    pub fn body_path(&self) -> PathBuf {
        self.dir.join(&self.meta.file)
    }

    pub fn body(&self) -> std::io::Result<Vec<u8>> {
        std::fs::read(self.body_path())
    }
}

#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// `<platform cache dir>/runbook/fetched` (`~/.cache/runbook/fetched` on Linux, or under
    /// `XDG_CACHE_HOME`); `None` without a home folder.
    pub fn default_location() -> Option<Self> {
        directories::ProjectDirs::from("", "", "runbook")
            .map(|d| Self::at(d.cache_dir().join("fetched")))
    }

    pub fn at(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of `url`.
    pub fn dir_for(&self, url: &str) -> PathBuf {
        self.root.join(url_key(url))
    }

    /// The cached entry of `url`, when there is one with its body.
    pub fn load(&self, url: &str) -> Option<Entry> {
        let dir = self.dir_for(url);
        let meta: Meta = serde_json::from_slice(&std::fs::read(dir.join(META)).ok()?).ok()?;
        let entry = Entry { dir, meta };
        (entry.meta.url == url && entry.body_path().is_file()).then_some(entry)
    }

    /// Stores a freshly downloaded body; what the user was shown before is kept (it is
    /// compared by hash, so changed content counts as not shown).
    pub fn store(
        &self,
        url: &str,
        kind: Kind,
        body: &[u8],
        etag: Option<String>,
        last_modified: Option<String>,
        now: i64,
    ) -> std::io::Result<Entry> {
        let dir = self.dir_for(url);
        crate::private::dir(&self.root)?;
        crate::private::dir(&dir)?;
        let previous = self.load(url);
        let file = match kind {
            Kind::Index => "index.txt".to_owned(),
            Kind::Runbook => format!("{}.md", stem(url)),
        };
        write_atomic(&dir, &file, body)?;
        if let Some(old) = &previous
            && old.meta.file != file
        {
            let _ = std::fs::remove_file(old.body_path());
        }
        let (reviewed_sha256, reviewed_scenarios) = previous
            .map(|p| (p.meta.reviewed_sha256, p.meta.reviewed_scenarios))
            .unwrap_or_default();
        let meta = Meta {
            url: url.to_owned(),
            kind,
            file,
            etag,
            last_modified,
            fetched_at: now,
            checked_at: now,
            sha256: sha256_hex(body),
            reviewed_sha256,
            reviewed_scenarios,
        };
        write_meta(&dir, &meta)?;
        Ok(Entry { dir, meta })
    }

    /// A 304: the copy is current as of `now`.
    pub fn touch(&self, entry: &mut Entry, now: i64) -> std::io::Result<()> {
        entry.meta.checked_at = now;
        write_meta(&entry.dir, &entry.meta)
    }

    /// Every cached runbook (not index), sorted by URL.
    pub fn entries(&self) -> Vec<Entry> {
        let Ok(dirs) = std::fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut out: Vec<Entry> = dirs
            .flatten()
            .filter_map(|d| {
                let meta: Meta =
                    serde_json::from_slice(&std::fs::read(d.path().join(META)).ok()?).ok()?;
                Some(Entry {
                    dir: d.path(),
                    meta,
                })
            })
            .filter(|e| e.meta.kind == Kind::Runbook && e.body_path().is_file())
            .collect();
        out.sort_by(|a, b| a.meta.url.cmp(&b.meta.url));
        out
    }

    /// Every cached runbook as (path, bytes, origin) for [`crate::runbook::Catalog::add_fetched`].
    /// The hash is of the bytes read here, so what is parsed is what counts as shown or not.
    pub fn runbooks(&self, max_bytes: u64) -> Vec<(PathBuf, Vec<u8>, Fetched)> {
        self.entries()
            .into_iter()
            .filter_map(|e| {
                let path = e.body_path();
                let bytes = std::fs::read(&path).ok()?;
                if bytes.len() as u64 > max_bytes.max(crate::runbook::MAX_FILE_BYTES) {
                    return None;
                }
                let sha256 = sha256_hex(&bytes);
                let fetched = Fetched {
                    url: e.meta.url.clone(),
                    fetched_at: e.meta.fetched_at,
                    reviewed: e.meta.reviewed_sha256.as_deref() == Some(sha256.as_str()),
                    reviewed_scenarios: e
                        .meta
                        .reviewed_scenarios
                        .iter()
                        .filter(|(_, sha)| **sha == sha256)
                        .map(|(id, _)| id.clone())
                        .collect(),
                    seen_before: e.meta.reviewed_sha256.is_some()
                        || !e.meta.reviewed_scenarios.is_empty(),
                    sha256,
                };
                Some((path, bytes, fetched))
            })
            .collect()
    }
}

/// Records that the content with `sha256` of the cached runbook at `body` was shown: the whole
/// file, or only `scenario`.
pub fn mark_reviewed(body: &Path, sha256: &str, scenario: Option<&str>) -> std::io::Result<()> {
    let dir = body
        .parent()
        .ok_or_else(|| std::io::Error::other("a cached runbook has a folder"))?;
    let mut meta: Meta =
        serde_json::from_slice(&std::fs::read(dir.join(META))?).map_err(std::io::Error::other)?;
    match scenario {
        None => meta.reviewed_sha256 = Some(sha256.to_owned()),
        Some(id) => {
            meta.reviewed_scenarios
                .insert(id.to_owned(), sha256.to_owned());
        }
    }
    write_meta(dir, &meta)
}

fn write_meta(dir: &Path, meta: &Meta) -> std::io::Result<()> {
    let json = serde_json::to_vec_pretty(meta).map_err(std::io::Error::other)?;
    write_atomic(dir, META, &json)
}

fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> std::io::Result<()> {
    crate::atomic::write_private(&dir.join(name), bytes)
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    Sha256::digest(bytes)
        .iter()
        .fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The folder name of `url`: 16 hex digits of its SHA-256.
pub fn url_key(url: &str) -> String {
    sha256_hex(url.as_bytes())[..16].to_owned()
}

/// A readable file stem from the URL's last path segment: `.../calico-ipv6.md?x=1` ->
/// `calico-ipv6`; characters other than letters, digits, `-` and `_` become `-`.
pub fn stem(url: &str) -> String {
    let path = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest.split_once('/').map_or("", |(_, p)| p));
    let path = path.split(['?', '#']).next().unwrap_or_default();
    let last = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or_default();
    let base = last.split_once('.').map_or(last, |(b, _)| b);
    let clean: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .take(60)
        .collect();
    let clean = clean.trim_matches('-');
    if clean.is_empty() {
        "runbook".to_owned()
    } else {
        clean.to_owned()
    }
}

/// How long ago, in words: `just now`, `42 s ago`, `5 min ago`, `3 h ago`, `2 days ago`.
pub fn age(secs: i64) -> String {
    match secs {
        i64::MIN..=4 => "just now".to_owned(),
        5..=59 => format!("{secs} s ago"),
        60..=3599 => format!("{} min ago", secs / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        86_400..=172_799 => "1 day ago".to_owned(),
        _ => format!("{} days ago", secs / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_readable_and_folders_are_per_url() {
        assert_eq!(
            stem("https://h.test/rb/calico-ipv6.md?ref=main#x"),
            "calico-ipv6"
        );
        assert_eq!(stem("https://h.test/rb/net/DNS issue.mdx"), "DNS-issue");
        assert_eq!(stem("https://h.test/"), "runbook");
        assert_eq!(stem("https://h.test/a/b/"), "b");
        assert_eq!(url_key("https://h.test/a.md").len(), 16);
        assert_ne!(
            url_key("https://h.test/a.md"),
            url_key("https://h.test/b/a.md")
        );
    }

    #[test]
    fn ages_read_like_a_person_would_say_them() {
        assert_eq!(age(-3), "just now");
        assert_eq!(age(30), "30 s ago");
        assert_eq!(age(300), "5 min ago");
        assert_eq!(age(3 * 3600 + 59), "3 h ago");
        assert_eq!(age(90_000), "1 day ago");
        assert_eq!(age(5 * 86_400), "5 days ago");
    }

    #[test]
    fn store_keeps_what_was_shown_and_a_change_is_not_shown() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cache = Cache::at(dir.path().join("fetched"));
        let url = "https://h.test/rb/disk-full.md";
        let e = cache
            .store(
                url,
                Kind::Runbook,
                b"# one\n",
                Some("\"v1\"".into()),
                None,
                100,
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(e.body_path().ends_with("disk-full.md"));
        mark_reviewed(&e.body_path(), &e.meta.sha256, None).unwrap_or_else(|e| panic!("{e}"));
        let [(_, bytes, fetched)] = cache
            .runbooks(1 << 20)
            .try_into()
            .unwrap_or_else(|v: Vec<_>| panic!("{}", v.len()));
        assert_eq!(bytes, b"# one\n");
        assert!(fetched.reviewed && fetched.seen_before);
        cache
            .store(url, Kind::Runbook, b"# two\n", None, None, 200)
            .unwrap_or_else(|e| panic!("{e}"));
        let [(_, _, fetched)] = cache
            .runbooks(1 << 20)
            .try_into()
            .unwrap_or_else(|v: Vec<_>| panic!("{}", v.len()));
        assert!(!fetched.reviewed && fetched.seen_before);
        assert_eq!(fetched.fetched_at, 200);
        let mut e = cache.load(url).unwrap_or_else(|| panic!("cached"));
        cache.touch(&mut e, 300).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cache.load(url).map(|e| e.meta.checked_at), Some(300));
        {
            use std::os::unix::fs::PermissionsExt;
            let mode =
                |p: &Path| std::fs::metadata(p).map_or(0, |m| m.permissions().mode() & 0o777);
            assert_eq!(mode(cache.root()), 0o700);
            assert_eq!(mode(&e.dir), 0o700);
            assert_eq!(mode(&e.body_path()), 0o600);
            assert_eq!(mode(&e.dir.join(META)), 0o600);
        }
        let leftovers: Vec<_> = std::fs::read_dir(&e.dir)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
            .map(|d| d.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tmp-"))
            .collect();
        assert!(leftovers.is_empty(), "{leftovers:?}");
    }
}
