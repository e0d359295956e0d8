//! The catalog cache: runbooks parsed by an earlier run, so that a warm `runbook list` (or TUI
//! start) over thousands of files costs little more than reading them.
//!
//! One file, [`FILE_NAME`] in the cache folder (`$RUNBOOK_CACHE_DIR`, else the platform's
//! cache folder for `runbook`), in three sections:
//!
//! 1. One line: the stamp of the program that wrote it (format version, the executable's size
//!    and mtime), a TAB and the byte length of the index. A rebuilt or upgraded binary may
//!    parse differently, and an older format lacks what this one reads, so a cache with another
//!    stamp is ignored, never trusted.
//! 2. The index, one line per parsed file:
//!    `<path as a JSON string> TAB <size> TAB <mtime ns> TAB <sha256 hex> TAB <offset> TAB
//!    <length> TAB <summary as JSON>`, where the summary ([`Summary`]) is what `runbook list`
//!    prints and offset and length place the runbook's JSON in the third section.
//! 3. The runbooks: each file's whole parsed [`Runbook`] as JSON, one after the other.
//!
//! So `list` reads the stamp and the index only and decodes small summaries ([`Want::Summaries`]),
//! while `show`, `run` and the TUI read the whole file and decode the runbooks they are given
//! ([`Want::Runbooks`]). Only hits are deserialized.
//!
//! An entry is used without reading the file when its path, size and mtime match and the file
//! is older than the cache file ([`Cache::unchanged`]): the rule git uses for its index. A file
//! whose mtime is not older than the cache is "racy" (it may have changed again within the
//! filesystem's timestamp granularity, after it was read): it is read and used only when its
//! SHA-256 matches too ([`Cache::lookup`]). An edit that puts back both the size and the mtime
//! of the file (`touch -r`) is not seen, as with `make` and `rsync`. The file is
//! replaced by a rename (never written in place) only when this run parsed something, and keeps
//! at most [`MAX_ENTRIES`] files. A cache that cannot be read or written, or was torn by a
//! crash, is ignored entry by entry: it only ever costs a parse.
//!
//! To change what is cached, change the model (or [`Summary`]) and raise [`FORMAT`]: the file
//! name and the stamp carry it, and a new binary starts a fresh cache anyway.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use sha2::{Digest, Sha256};

use super::{Runbook, Summary};

/// Files remembered; the ones used by the latest run are kept first.
pub const MAX_ENTRIES: usize = 20_000;

/// Environment variable naming the cache folder.
pub const CACHE_DIR_VAR: &str = "RUNBOOK_CACHE_DIR";

/// Version of the file's shape: raise it when the sections, the index line or what is
/// serialized changes.
pub const FORMAT: u32 = 2;

/// The cache file in its folder.
pub const FILE_NAME: &str = "catalog-v2.cache";

/// Files of older formats, removed when a new cache is written.
const OLD_FILE_NAMES: &[&str] = &["catalog-v1.jsonl"];

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

/// Which part of each entry a load decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    /// The summaries only (`runbook list`): the runbooks' section is not even read.
    Summaries,
    /// Whole runbooks.
    Runbooks,
}

/// What a load takes out of the cache: a whole [`Runbook`] or its [`Summary`].
pub trait Part: Sized + Send {
    /// Which section holds it.
    const WANT: Want;
    /// Decodes it from its JSON in the cache, for the file at `path`.
    fn decode(json: &str, path: &Path) -> Option<Self>;
    /// It, from a runbook just parsed.
    fn of(runbook: Runbook) -> Self;
}

impl Part for Runbook {
    const WANT: Want = Want::Runbooks;

    fn decode(json: &str, _: &Path) -> Option<Self> {
        serde_json::from_str(json).ok()
    }

    fn of(runbook: Runbook) -> Self {
        runbook
    }
}

impl Part for Summary {
    const WANT: Want = Want::Summaries;

    fn decode(json: &str, path: &Path) -> Option<Self> {
        let mut summary: Self = serde_json::from_str(json).ok()?;
        path.clone_into(&mut summary.path);
        Some(summary)
    }

    fn of(runbook: Runbook) -> Self {
        Summary::of(&runbook)
    }
}

/// One remembered file: its key, and where its index line's parts and its runbook JSON sit.
struct Entry {
    key: Key,
    /// Path, size, mtime and hash, in the index.
    head: Range<usize>,
    /// The summary's JSON, in the index.
    summary: Range<usize>,
    /// The runbook's JSON, in the runbooks' section.
    runbook: Range<usize>,
}

/// A runbook just parsed, as the cache will write it.
pub struct Record {
    head: String,
    summary: String,
    runbook: String,
}

/// The cache as read at the start of a load, plus what this load parsed.
pub struct Cache {
    file: PathBuf,
    stamp: String,
    /// The index section as read; entries point into it.
    index: String,
    /// The runbooks' section, when read.
    runbooks: Option<String>,
    /// The open cache file, positioned at the runbooks' section when it was not read (a
    /// rename may replace the file meanwhile, never change this one).
    rest: Option<BufReader<std::fs::File>>,
    /// The cache file's mtime: files older than it are taken by size and mtime.
    written_ns: i128,
    /// By path (as stored: a path that is not UTF-8 is never found).
    entries: HashMap<String, Entry>,
    /// Paths used by this run, in order: kept first when the file is trimmed.
    used: Vec<PathBuf>,
    fresh: Vec<(PathBuf, Record)>,
}

impl Cache {
    /// The cache in the default folder; `None` when there is no folder for it.
    pub fn open_default(want: Want) -> Option<Self> {
        let dir = std::env::var_os(CACHE_DIR_VAR)
            .filter(|d| !d.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                directories::ProjectDirs::from("", "", "runbook").map(|d| d.cache_dir().to_owned())
            })?;
        Some(Self::open(&dir, want))
    }

    /// The cache kept in `dir`, read now as far as `want` needs (an unreadable, foreign or
    /// torn file reads as empty).
    pub fn open(dir: &Path, want: Want) -> Self {
        let mut cache = Self {
            file: dir.join(FILE_NAME),
            stamp: program_stamp(),
            index: String::new(),
            runbooks: None,
            rest: None,
            written_ns: i128::MIN,
            entries: HashMap::new(),
            used: Vec::new(),
            fresh: Vec::new(),
        };
        let _ = cache.read(want);
        cache
    }

    /// Reads the stamp, the index and (for [`Want::Runbooks`]) the runbooks' section; `None`
    /// leaves the cache empty.
    fn read(&mut self, want: Want) -> Option<()> {
        let file = std::fs::File::open(&self.file).ok()?;
        let meta = file.metadata().ok()?;
        let mut reader = BufReader::new(file);
        let mut first = String::new();
        reader.by_ref().take(4096).read_line(&mut first).ok()?;
        let (stamp, index_len) = first.strip_suffix('\n')?.split_once('\t')?;
        if stamp != self.stamp {
            return None;
        }
        let index_len: u64 = index_len.parse().ok()?;
        if index_len > meta.len() {
            return None;
        }
        let mut index = Vec::with_capacity(usize::try_from(index_len).ok()?);
        reader
            .by_ref()
            .take(index_len)
            .read_to_end(&mut index)
            .ok()?;
        if index.len() as u64 != index_len {
            return None;
        }
        let index = String::from_utf8(index).ok()?;
        match want {
            Want::Runbooks => self.runbooks = read_rest(&mut reader, &meta, index_len),
            Want::Summaries => self.rest = Some(reader),
        }
        let mut entries = HashMap::new();
        let mut at = 0;
        for line in index.split_terminator('\n') {
            if let Some((path, entry)) = parse_line(line, at) {
                entries.insert(path, entry);
            }
            at += line.len() + 1;
        }
        self.entries = entries;
        self.index = index;
        self.written_ns = mtime_ns(&meta);
        Some(())
    }

    /// What is cached for `path` when the file's size and mtime (`meta`, from a stat) are
    /// those remembered and the file is older than the cache: no need to read it.
    pub fn unchanged<T: Part>(&self, path: &Path, meta: &std::fs::Metadata) -> Option<T> {
        let mtime_ns = mtime_ns(meta);
        let entry = self.entries.get(path.to_str()?).filter(|e| {
            e.key.size == meta.len() && e.key.mtime_ns == mtime_ns && mtime_ns < self.written_ns
        })?;
        self.decode(path, entry)
    }

    /// What is cached for `path` at exactly this content, if any.
    pub fn lookup<T: Part>(&self, path: &Path, key: &Key) -> Option<T> {
        let entry = self.entries.get(path.to_str()?).filter(|e| e.key == *key)?;
        self.decode(path, entry)
    }

    fn decode<T: Part>(&self, path: &Path, entry: &Entry) -> Option<T> {
        let json = match T::WANT {
            Want::Summaries => self.index.get(entry.summary.clone())?,
            Want::Runbooks => self.runbooks.as_deref()?.get(entry.runbook.clone())?,
        };
        T::decode(json, path)
    }

    /// Marks `path` as used by this run (hit or miss): kept first when the cache is trimmed.
    pub fn touch(&mut self, path: &Path) {
        self.used.push(path.to_owned());
    }

    /// The record of a runbook just parsed from `path` at `key` (built by each worker, then
    /// given to [`Cache::put`]).
    pub fn record(path: &Path, key: &Key, runbook: &Runbook) -> Option<Record> {
        let path_json = serde_json::to_string(&path.to_string_lossy()).ok()?;
        Some(Record {
            head: format!(
                "{path_json}\t{}\t{}\t{}",
                key.size,
                key.mtime_ns,
                hex(&key.sha256)
            ),
            summary: serde_json::to_string(&Summary::of(runbook)).ok()?,
            runbook: serde_json::to_string(runbook).ok()?,
        })
    }

    /// Remembers the record of a runbook just parsed from `path`.
    pub fn put(&mut self, path: &Path, record: Record) {
        self.fresh.push((path.to_owned(), record));
    }

    /// Writes the cache back when this run parsed anything.
    pub fn save(mut self) -> std::io::Result<()> {
        if self.fresh.is_empty() {
            return Ok(());
        }
        // The entries kept from the old file need their runbooks, unread by a summaries-only
        // load: read them now from the file that was opened (a rename cannot change it).
        if self.runbooks.is_none()
            && let Some(mut reader) = self.rest.take()
        {
            let mut text = String::new();
            if reader.read_to_string(&mut text).is_ok() {
                self.runbooks = Some(text);
            }
        }
        let old_runbooks = self.runbooks.as_deref().unwrap_or_default();
        let mut index = String::with_capacity(1 << 16);
        let mut runbooks = String::with_capacity(1 << 16);
        let mut add = |head: &str, summary: &str, runbook: &str| {
            use std::fmt::Write;
            let _ = writeln!(
                index,
                "{head}\t{}\t{}\t{summary}",
                runbooks.len(),
                runbook.len()
            );
            runbooks.push_str(runbook);
            runbooks.push('\n');
        };
        let mut written = std::collections::HashSet::new();
        let mut count = 0usize;
        for (path, record) in std::mem::take(&mut self.fresh) {
            if count < MAX_ENTRIES && written.insert(path) {
                add(&record.head, &record.summary, &record.runbook);
                count += 1;
            }
        }
        // Entries used by this run first, then the others, up to the cap.
        let mut rest: Vec<(&String, &Entry)> = self.entries.iter().collect();
        let used: std::collections::HashSet<&str> =
            self.used.iter().filter_map(|p| p.to_str()).collect();
        rest.sort_by_key(|(p, _)| (!used.contains(p.as_str()), p.as_str()));
        for (path, entry) in rest {
            if count >= MAX_ENTRIES {
                break;
            }
            let (Some(head), Some(summary), Some(runbook)) = (
                self.index.get(entry.head.clone()),
                self.index.get(entry.summary.clone()),
                old_runbooks.get(entry.runbook.clone()),
            ) else {
                continue;
            };
            if written.insert(PathBuf::from(path)) {
                add(head, summary, runbook);
                count += 1;
            }
        }
        let dir = self.file.parent().unwrap_or_else(|| Path::new("."));
        std::fs::create_dir_all(dir)?;
        // Replaced whole by a rename, so a reader sees the old file or the new one. Not synced
        // to disk: a file torn by a crash fails its stamp, its index length or its entries'
        // checks and only costs a parse, while syncing 10 MB would cost more than the parse
        // it saves.
        let mut tmp = tempfile::Builder::new()
            .prefix(".catalog-")
            .tempfile_in(dir)?;
        let mut out = std::io::BufWriter::new(tmp.as_file_mut());
        std::io::Write::write_all(
            &mut out,
            format!("{}\t{}\n", self.stamp, index.len()).as_bytes(),
        )?;
        std::io::Write::write_all(&mut out, index.as_bytes())?;
        std::io::Write::write_all(&mut out, runbooks.as_bytes())?;
        std::io::Write::flush(&mut out)?;
        drop(out);
        tmp.persist(&self.file).map_err(|e| e.error)?;
        for old in OLD_FILE_NAMES {
            let _ = std::fs::remove_file(dir.join(old));
        }
        Ok(())
    }
}

/// The rest of the cache file after its index: the runbooks' section.
fn read_rest(
    reader: &mut BufReader<std::fs::File>,
    meta: &std::fs::Metadata,
    index_len: u64,
) -> Option<String> {
    let expected = meta.len().saturating_sub(index_len);
    let mut text = String::with_capacity(usize::try_from(expected).unwrap_or(0));
    reader.read_to_string(&mut text).ok()?;
    Some(text)
}

fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX))
}

/// One index line, which starts at byte `at` of the index.
fn parse_line(line: &str, at: usize) -> Option<(String, Entry)> {
    let mut fields = line.splitn(5, '\t');
    let path: String = serde_json::from_str(fields.next()?).ok()?;
    let size = fields.next()?.parse().ok()?;
    let mtime_ns = fields.next()?.parse().ok()?;
    let sha256 = unhex(fields.next()?)?;
    let rest = fields.next()?;
    let head_end = line.len() - rest.len() - 1;
    let mut fields = rest.splitn(3, '\t');
    let offset: usize = fields.next()?.parse().ok()?;
    let length: usize = fields.next()?.parse().ok()?;
    let summary = fields.next()?;
    let summary_at = line.len() - summary.len();
    Some((
        path,
        Entry {
            key: Key {
                size,
                mtime_ns,
                sha256,
            },
            head: at..at + head_end,
            summary: at + summary_at..at + line.len(),
            runbook: offset..offset.checked_add(length)?,
        },
    ))
}

/// Identifies the running program and the cache's format: a different binary, or one
/// writing another format, ignores this cache.
fn program_stamp() -> String {
    let exe = std::env::current_exe().ok();
    let meta = exe.as_deref().and_then(|p| std::fs::metadata(p).ok());
    let mtime = meta
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!(
        "runbook-catalog-cache {FORMAT} {} {} {mtime}",
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
