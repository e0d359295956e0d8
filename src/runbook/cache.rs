//! The catalog cache: runbooks parsed by an earlier run, so that a warm `runbook list` (or TUI
//! start) over thousands of files costs little more than reading them.
//!
//! One file, `catalog-v1.jsonl` in the cache folder (`$RUNBOOK_CACHE_DIR`, else the platform's
//! cache folder for `runbook`). Its first line names the program that wrote it (the executable's
//! size and mtime): a rebuilt or upgraded binary may parse differently, so it ignores a cache it
//! did not write. Every other line is one parsed file:
//! `<path as a JSON string> TAB <size> TAB <mtime ns> TAB <sha256 hex> TAB <runbook as JSON>`,
//! so a lookup reads the key without touching the JSON, and only hits are deserialized.
//!
//! An entry is used without reading the file when its path, size and mtime match and the file
//! is older than the cache file ([`Cache::unchanged`]): the rule git uses for its index. A file
//! whose mtime is not older than the cache is "racy" (it may have changed again within the
//! filesystem's timestamp granularity, after it was read): it is read and used only when its
//! SHA-256 matches too ([`Cache::lookup`]). An edit that puts back both the size and the mtime
//! of the file (`touch -r`) is not seen, as with `make` and `rsync`. The file is
//! replaced by a rename (never written in place) only when this run parsed something, and keeps
//! at most [`MAX_ENTRIES`] files. A cache that cannot be read or written, or was torn by a
//! crash, is ignored line by line: it only ever costs a parse.
//!
//! To change what is cached, change the model: entries are `serde_json` of [`Runbook`], and a
//! new binary starts a fresh cache anyway.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::Runbook;

/// Files remembered; the ones used by the latest run are kept first.
pub const MAX_ENTRIES: usize = 20_000;

/// Environment variable naming the cache folder.
pub const CACHE_DIR_VAR: &str = "RUNBOOK_CACHE_DIR";

const FILE_NAME: &str = "catalog-v1.jsonl";

/// What identifies a file's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub size: u64,
    pub mtime_ns: i128,
    pub sha256: [u8; 32],
}

impl Key {
    /// The key of `bytes` just read from a file with this metadata.
    pub fn of(meta: &std::fs::Metadata, bytes: &[u8]) -> Self {
        Self {
            size: bytes.len() as u64,
            mtime_ns: mtime_ns(meta),
            sha256: Sha256::digest(bytes).into(),
        }
    }
}

/// One remembered file: its key and where its line and runbook JSON sit in the cache text
/// (the JSON is parsed only on a hit).
struct Entry {
    key: Key,
    line: std::ops::Range<usize>,
    json_at: usize,
}

/// The cache as read at the start of a load, plus what this load parsed.
pub struct Cache {
    file: PathBuf,
    stamp: String,
    /// The cache file as read; entries point into it.
    text: String,
    /// The cache file's mtime: files older than it are taken by size and mtime.
    written_ns: i128,
    entries: HashMap<PathBuf, Entry>,
    /// Paths used by this run, in order: kept first when the file is trimmed.
    used: Vec<PathBuf>,
    fresh: Vec<(PathBuf, String)>,
}

impl Cache {
    /// The cache in the default folder; `None` when there is no folder for it.
    pub fn open_default() -> Option<Self> {
        let dir = std::env::var_os(CACHE_DIR_VAR)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("", "", "runbook").map(|d| d.cache_dir().to_owned())
            })?;
        Some(Self::open(&dir))
    }

    /// The cache kept in `dir` (read now; an unreadable or foreign file reads as empty).
    pub fn open(dir: &Path) -> Self {
        let file = dir.join(FILE_NAME);
        let stamp = program_stamp();
        let mut cache = Self {
            file,
            stamp,
            text: String::new(),
            written_ns: i128::MIN,
            entries: HashMap::new(),
            used: Vec::new(),
            fresh: Vec::new(),
        };
        let Some((text, written_ns)) = read_with_mtime(&cache.file) else {
            return cache;
        };
        let Some(body) = text
            .strip_prefix(cache.stamp.as_str())
            .and_then(|rest| rest.strip_prefix('\n'))
        else {
            return cache;
        };
        let mut lines = Vec::new();
        let mut at = text.len() - body.len();
        for line in body.split('\n') {
            if !line.is_empty() {
                lines.push(at..at + line.len());
            }
            at += line.len() + 1;
        }
        cache.entries = lines
            .into_iter()
            .filter_map(|range| parse_line(&text, range))
            .collect();
        cache.text = text;
        cache.written_ns = written_ns;
        cache
    }

    /// The runbook cached for `path` when the file's size and mtime (`meta`, from a stat) are
    /// those remembered and the file is older than the cache: no need to read it.
    pub fn unchanged(&self, path: &Path, meta: &std::fs::Metadata) -> Option<Runbook> {
        let mtime_ns = mtime_ns(meta);
        let entry = self.entries.get(path).filter(|e| {
            e.key.size == meta.len() && e.key.mtime_ns == mtime_ns && mtime_ns < self.written_ns
        })?;
        serde_json::from_str::<Runbook>(&self.text[entry.json_at..entry.line.end]).ok()
    }

    /// The runbook cached for `path` at exactly this content, if any.
    pub fn lookup(&self, path: &Path, key: &Key) -> Option<Runbook> {
        let entry = self.entries.get(path).filter(|e| e.key == *key)?;
        serde_json::from_str::<Runbook>(&self.text[entry.json_at..entry.line.end]).ok()
    }

    /// Marks `path` as used by this run (hit or miss).
    pub fn touch(&mut self, path: &Path) {
        self.used.push(path.to_owned());
    }

    /// The cache line of a runbook just parsed from `path` at `key` (built by each worker,
    /// then given to [`Cache::put`]).
    pub fn line(path: &Path, key: &Key, runbook: &Runbook) -> Option<String> {
        let path_json = serde_json::to_string(&path.to_string_lossy()).ok()?;
        let json = serde_json::to_string(runbook).ok()?;
        Some(format!(
            "{path_json}\t{}\t{}\t{}\t{json}",
            key.size,
            key.mtime_ns,
            hex(&key.sha256)
        ))
    }

    /// Remembers the line of a runbook just parsed from `path`.
    pub fn put(&mut self, path: &Path, line: String) {
        self.fresh.push((path.to_owned(), line));
    }

    /// Writes the cache back when this run parsed anything.
    pub fn save(mut self) -> std::io::Result<()> {
        if self.fresh.is_empty() {
            return Ok(());
        }
        let mut out = String::with_capacity(1 << 16);
        out.push_str(&self.stamp);
        out.push('\n');
        let mut written = std::collections::HashSet::new();
        let mut count = 0usize;
        for (path, line) in std::mem::take(&mut self.fresh) {
            if count < MAX_ENTRIES && written.insert(path) {
                out.push_str(&line);
                out.push('\n');
                count += 1;
            }
        }
        // Entries used by this run first, then the others, up to the cap.
        let mut rest: Vec<(&PathBuf, &Entry)> = self.entries.iter().collect();
        let used: std::collections::HashSet<&PathBuf> = self.used.iter().collect();
        rest.sort_by_key(|(p, _)| (!used.contains(p), (*p).clone()));
        for (path, entry) in rest {
            if count >= MAX_ENTRIES {
                break;
            }
            if written.insert(path.clone()) {
                out.push_str(&self.text[entry.line.clone()]);
                out.push('\n');
                count += 1;
            }
        }
        let dir = self.file.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)?;
        // Replaced whole by a rename, so a reader sees the old file or the new one. Not synced
        // to disk: a file torn by a crash fails its stamp or its lines' checks and only costs
        // a parse, while syncing 10 MB would cost more than the parse it saves.
        let mut tmp = tempfile::Builder::new()
            .prefix(".catalog-")
            .tempfile_in(dir)?;
        std::io::Write::write_all(&mut tmp, out.as_bytes())?;
        tmp.persist(&self.file).map_err(|e| e.error)?;
        Ok(())
    }
}

fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// The cache file's text and mtime, with one open.
fn read_with_mtime(file: &Path) -> Option<(String, i128)> {
    use std::io::Read;
    let mut f = std::fs::File::open(file).ok()?;
    let meta = f.metadata().ok()?;
    let mut text = String::with_capacity(usize::try_from(meta.len()).unwrap_or(0));
    f.read_to_string(&mut text).ok()?;
    Some((text, mtime_ns(&meta)))
}

fn parse_line(text: &str, range: std::ops::Range<usize>) -> Option<(PathBuf, Entry)> {
    let line = &text[range.clone()];
    let mut fields = line.splitn(5, '\t');
    let path: String = serde_json::from_str(fields.next()?).ok()?;
    let size = fields.next()?.parse().ok()?;
    let mtime_ns = fields.next()?.parse().ok()?;
    let sha256 = unhex(fields.next()?)?;
    let json = fields.next()?;
    let json_at = range.end - json.len();
    Some((
        PathBuf::from(path),
        Entry {
            key: Key {
                size,
                mtime_ns,
                sha256,
            },
            line: range,
            json_at,
        },
    ))
}

/// Identifies the running program: a different binary ignores this cache.
fn program_stamp() -> String {
    let exe = std::env::current_exe().ok();
    let meta = exe.as_deref().and_then(|p| std::fs::metadata(p).ok());
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!(
        "runbook-catalog-cache {} {} {mtime}",
        env!("CARGO_PKG_VERSION"),
        meta.map_or(0, |m| m.len())
    )
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(i * 2..i * 2 + 2)?, 16).ok()?;
    }
    Some(out)
}
