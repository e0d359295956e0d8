//! The catalog: every runbook the app knows, bundled ones first, then the user's files.
//!
//! The bundled `runbooks/` folder is embedded in the binary, so the catalog works from any
//! directory. Files are read and parsed in parallel; a file that cannot be read or is too large
//! becomes an error entry and every other file still loads.
//!
//! A [`Catalog`] holds whole runbooks; a [`Listing`] holds only their [`Summary`] (what
//! `runbook list` prints), which a warm catalog cache gives without decoding any runbook. Both
//! load the same files the same way ([`Part`] says what each takes from a parse or the cache),
//! and name runbooks with the same unique ids.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};
use rayon::prelude::*;

use super::cache::{Cache, Key, Part};
use super::source::diag;
use super::{Diagnostic, Fetched, Runbook, Scenario, Severity, Summary, parse};

/// Files larger than this are refused.
pub const MAX_FILE_BYTES: u64 = 8 * 1024 * 1024;

/// Prefix of the path of an embedded runbook (`bundled:packs/calico-ipv6.md`).
pub const BUNDLED_PREFIX: &str = "bundled:";

/// File names read from a folder.
const EXTENSIONS: &[&str] = &["md", "mdx", "markdown"];

static BUNDLED: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/runbooks");

/// A file that could not be loaded at all.
pub type LoadError = Diagnostic;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    Bundled,
    User,
}

#[derive(Debug, Default)]
pub struct Catalog {
    pub runbooks: Vec<Runbook>,
    /// Files that could not be read at all (missing, unreadable, too large).
    pub errors: Vec<LoadError>,
}

impl Catalog {
    /// The bundled runbooks plus every runbook under `paths` (files, or folders searched for
    /// `.md`/`.mdx`).
    pub fn load(paths: &[PathBuf], bundled: bool) -> Self {
        Self::load_with(paths, bundled, None)
    }

    /// Like [`Catalog::load`], reusing runbooks parsed by earlier runs from the catalog cache
    /// (see [`super::cache`]) when a file's path, size and mtime are unchanged (and its content
    /// hash, for a file not older than the cache).
    pub fn load_cached(paths: &[PathBuf], bundled: bool) -> Self {
        Self::load_with(paths, bundled, Cache::open_default(Runbook::WANT))
    }

    /// [`Catalog::load`] with the cache kept in `dir`.
    pub fn load_cached_in(paths: &[PathBuf], bundled: bool, dir: &Path) -> Self {
        Self::load_with(paths, bundled, Some(Cache::open(dir, Runbook::WANT)))
    }

    fn load_with(paths: &[PathBuf], bundled: bool, cache: Option<Cache>) -> Self {
        let (mut runbooks, errors) = load_parts(paths, bundled, cache);
        make_ids_unique(&mut runbooks);
        Self { runbooks, errors }
    }

    /// Adds runbooks fetched from URLs: the cached file's path, its bytes (the caller read and
    /// hashed them, so the hash is of exactly what is parsed) and where it came from. They go
    /// after every other runbook, so a fetched file never takes a bundled or local runbook's id.
    pub fn add_fetched(&mut self, files: Vec<(PathBuf, Vec<u8>, Fetched)>) {
        self.runbooks.extend(parse_fetched(files));
        make_ids_unique(&mut self.runbooks);
    }

    pub fn origin(runbook: &Runbook) -> Origin {
        if runbook.path.to_string_lossy().starts_with(BUNDLED_PREFIX) {
            Origin::Bundled
        } else {
            Origin::User
        }
    }

    pub fn runbook(&self, id: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.id == id)
    }

    /// A scenario by its id (`file-stem/slug`), or the only scenario of a runbook id.
    pub fn scenario(&self, id: &str) -> Option<(&Runbook, &Scenario)> {
        for runbook in &self.runbooks {
            if let Some(s) = runbook.scenario(id) {
                return Some((runbook, s));
            }
        }
        let runbook = self.runbook(id)?;
        match runbook.scenarios.as_slice() {
            [only] => Some((runbook, only)),
            _ => None,
        }
    }

    /// Every diagnostic: load errors and each runbook's warnings.
    pub fn diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.errors
            .iter()
            .chain(self.runbooks.iter().flat_map(|r| r.warnings().iter()))
    }
}

/// The runbooks of a catalog as `runbook list` shows them: each one's [`Summary`], loaded
/// like [`Catalog`] (same files, same order, same ids), but a warm cache decodes no runbook.
#[derive(Debug, Default)]
pub struct Listing {
    pub runbooks: Vec<Summary>,
    /// Files that could not be read at all (missing, unreadable, too large).
    pub errors: Vec<LoadError>,
}

impl Listing {
    /// [`Catalog::load`], summarised.
    pub fn load(paths: &[PathBuf], bundled: bool) -> Self {
        Self::load_with(paths, bundled, None)
    }

    /// [`Catalog::load_cached`], summarised: only the summaries are read from the cache.
    pub fn load_cached(paths: &[PathBuf], bundled: bool) -> Self {
        Self::load_with(paths, bundled, Cache::open_default(Summary::WANT))
    }

    /// [`Listing::load_cached`] with the cache kept in `dir`.
    pub fn load_cached_in(paths: &[PathBuf], bundled: bool, dir: &Path) -> Self {
        Self::load_with(paths, bundled, Some(Cache::open(dir, Summary::WANT)))
    }

    fn load_with(paths: &[PathBuf], bundled: bool, cache: Option<Cache>) -> Self {
        let (mut runbooks, errors) = load_parts(paths, bundled, cache);
        make_ids_unique(&mut runbooks);
        Self { runbooks, errors }
    }

    /// [`Catalog::add_fetched`], summarised.
    pub fn add_fetched(&mut self, files: Vec<(PathBuf, Vec<u8>, Fetched)>) {
        self.runbooks
            .extend(parse_fetched(files).iter().map(Summary::of));
        make_ids_unique(&mut self.runbooks);
    }

    /// Every error: files that could not be loaded, then each runbook's errors (what
    /// [`Catalog::diagnostics`] holds of severity error).
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.errors
            .iter()
            .chain(self.runbooks.iter().flat_map(|r| r.errors.iter()))
            .filter(|d| d.severity == Severity::Error)
    }
}

/// The bundled runbooks (when `bundled`) and every file under `paths`, each as a `T`, with
/// the files that could not be loaded.
fn load_parts<T: Part>(
    paths: &[PathBuf],
    bundled: bool,
    cache: Option<Cache>,
) -> (Vec<T>, Vec<LoadError>) {
    let mut parts: Vec<T> = Vec::new();
    let mut errors = Vec::new();
    if bundled {
        parts = bundled_files()
            .par_iter()
            .map(|(path, bytes)| T::of(parse(bytes, Path::new(path))))
            .collect();
    }
    let mut files = Vec::new();
    for path in paths {
        collect_files(path, &mut files, &mut errors);
    }
    let loaded: Vec<Result<T, LoadError>> = match cache {
        None => files.par_iter().map(|p| load_file(p).map(T::of)).collect(),
        Some(cache) => load_through(cache, &files),
    };
    for result in loaded {
        match result {
            Ok(part) => parts.push(part),
            Err(error) => errors.push(error),
        }
    }
    (parts, errors)
}

fn parse_fetched(files: Vec<(PathBuf, Vec<u8>, Fetched)>) -> Vec<Runbook> {
    files
        .into_par_iter()
        .map(|(path, bytes, fetched)| {
            let mut runbook = parse(&bytes, &path);
            runbook.fetched = Some(fetched);
            runbook
        })
        .collect()
}

/// What carries a runbook id: a runbook, or its summary.
trait Named {
    fn id(&self) -> &str;
    fn path(&self) -> &Path;
    /// Renames it (and its scenarios) to `new`, noting why in `warning`.
    fn rename(&mut self, new: String, warning: Diagnostic);
}

impl Named for Runbook {
    fn id(&self) -> &str {
        &self.id
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn rename(&mut self, new: String, warning: Diagnostic) {
        for scenario in &mut self.scenarios {
            rename_scenario(&mut scenario.id, &self.id, &new);
        }
        self.push_warning(warning);
        self.id = new;
    }
}

impl Named for Summary {
    fn id(&self) -> &str {
        &self.id
    }

    fn path(&self) -> &Path {
        &self.path
    }

    fn rename(&mut self, new: String, warning: Diagnostic) {
        for scenario in &mut self.scenarios {
            rename_scenario(&mut scenario.id, &self.id, &new);
        }
        // A summary keeps what a runbook's summary keeps of its warnings.
        if warning.severity == Severity::Error {
            self.errors.push(warning);
        }
        self.id = new;
    }
}

/// `old/slug` becomes `new/slug`.
fn rename_scenario(id: &mut String, old: &str, new: &str) {
    if let Some(rest) = id.strip_prefix(old).and_then(|r| r.strip_prefix('/')) {
        *id = format!("{new}/{rest}");
    }
}

/// Two files with the same stem: the later one gets `-2`, `-3`, ... and a warning.
fn make_ids_unique<T: Named>(items: &mut [T]) {
    let mut seen = std::collections::HashSet::new();
    for item in items {
        if seen.insert(item.id().to_owned()) {
            continue;
        }
        let old = item.id().to_owned();
        let mut n = 2;
        while !seen.insert(format!("{old}-{n}")) {
            n += 1;
        }
        let new = format!("{old}-{n}");
        let warning = diag(
            item.path(),
            1,
            Severity::Warning,
            "duplicate-id",
            format!("another runbook is already called `{old}`; this one is `{new}`"),
        );
        item.rename(new, warning);
    }
}

/// The embedded runbooks as (`bundled:relative/path.md`, bytes), sorted by path.
pub fn bundled_files() -> Vec<(String, &'static [u8])> {
    let mut out = Vec::new();
    walk_bundled(&BUNDLED, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn walk_bundled(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static [u8])>) {
    for file in dir.files() {
        let path = file.path();
        if is_runbook_file(path) {
            out.push((
                format!("{BUNDLED_PREFIX}{}", path.display()),
                file.contents(),
            ));
        }
    }
    for sub in dir.dirs() {
        walk_bundled(sub, out);
    }
}

fn is_runbook_file(path: &Path) -> bool {
    let markdown = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    let readme = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s.eq_ignore_ascii_case("readme"));
    markdown && !readme
}

fn collect_files(path: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>) {
    match std::fs::metadata(path) {
        // In path order: each folder is walked in name order.
        Ok(meta) if meta.is_dir() => walk_dir(path, files, errors, 0),
        // A file named on the command line is read whatever its extension.
        Ok(_) => files.push(path.to_owned()),
        Err(err) => errors.push(diag(
            path,
            1,
            Severity::Error,
            "unreadable",
            format!("cannot read: {err}"),
        )),
    }
}

fn walk_dir(dir: &Path, found: &mut Vec<PathBuf>, errors: &mut Vec<LoadError>, depth: usize) {
    if depth > 32 {
        return;
    }
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) => {
            errors.push(diag(
                dir,
                1,
                Severity::Error,
                "unreadable",
                format!("cannot read folder: {err}"),
            ));
            return;
        }
    };
    // Sorted by name, files and folders together, then walked in that order: the files come
    // out sorted by path (`Path`'s order compares names component by component), for the
    // cost of comparing names.
    let mut entries: Vec<(PathBuf, std::fs::FileType)> = entries
        .flatten()
        .filter_map(|e| Some((e.path(), e.file_type().ok()?)))
        .collect();
    entries.sort_unstable_by(|a, b| a.0.file_name().cmp(&b.0.file_name()));
    for (path, kind) in entries {
        if kind.is_dir() {
            let hidden = path
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if !hidden {
                walk_dir(&path, found, errors, depth + 1);
            }
        } else if is_runbook_file(&path) {
            found.push(path);
        }
    }
}

/// What one file gave a cached load.
enum Loaded<T> {
    Hit(Box<T>),
    Miss(Vec<u8>, Key),
    Failed(LoadError),
}

thread_local! {
    /// Each worker reads every file into the same buffer: a hit never allocates for its bytes.
    static READ_BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Reads every file, takes unchanged ones from the cache and parses the others (remembering
/// them), all in parallel.
fn load_through<T: Part>(mut cache: Cache, files: &[PathBuf]) -> Vec<Result<T, LoadError>> {
    let shared = &cache;
    let loaded: Vec<Loaded<T>> = files
        .par_iter()
        .map(|path| {
            // Unchanged since the cache was written: one stat, no read.
            if let Ok(meta) = std::fs::metadata(path)
                && meta.is_file()
                && meta.len() <= MAX_FILE_BYTES
                && let Some(part) = shared.unchanged(path, &meta)
            {
                return Loaded::Hit(Box::new(part));
            }
            READ_BUFFER.with(|buffer| {
                let mut buffer = buffer.borrow_mut();
                let meta = match read_into(path, &mut buffer) {
                    Ok(meta) => meta,
                    Err(e) => return Loaded::Failed(e),
                };
                let key = Key::of(&meta, &buffer);
                match shared.lookup(path, &key) {
                    Some(part) => Loaded::Hit(Box::new(part)),
                    None => Loaded::Miss(buffer.clone(), key),
                }
            })
        })
        .collect();
    let out: Vec<(Result<T, LoadError>, Option<_>)> = files
        .par_iter()
        .zip(loaded)
        .map(|(path, l)| match l {
            Loaded::Hit(part) => (Ok(*part), None),
            Loaded::Failed(e) => (Err(e), None),
            Loaded::Miss(bytes, key) => {
                let runbook = parse(&bytes, path);
                let record = Cache::record(path, &key, &runbook);
                (Ok(T::of(runbook)), record)
            }
        })
        .collect();
    let mut out = out;
    // All hits (the usual warm run): nothing to write, so nothing to remember.
    if out.iter().any(|(_, record)| record.is_some()) {
        for (path, (result, record)) in files.iter().zip(&mut out) {
            if result.is_ok() {
                cache.touch(path);
            }
            if let Some(record) = record.take() {
                cache.put(path, record);
            }
        }
        // A cache that cannot be written costs the next run a parse, nothing more.
        let _ = cache.save();
    }
    out.into_iter().map(|(result, _)| result).collect()
}

/// Reads a file into `buffer` (cleared first) with one open; refuses files over
/// [`MAX_FILE_BYTES`].
fn read_into(path: &Path, buffer: &mut Vec<u8>) -> Result<std::fs::Metadata, LoadError> {
    use std::io::Read;
    let (meta, mut file) = open(path)?;
    buffer.clear();
    file.by_ref()
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(buffer)
        .map_err(|e| unreadable(path, &e))?;
    if buffer.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(path, buffer.len() as u64));
    }
    Ok(meta)
}

fn open(path: &Path) -> Result<(std::fs::Metadata, std::fs::File), LoadError> {
    let file = std::fs::File::open(path).map_err(|e| unreadable(path, &e))?;
    let meta = file.metadata().map_err(|e| unreadable(path, &e))?;
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(path, meta.len()));
    }
    Ok((meta, file))
}

fn too_big(path: &Path, size: u64) -> LoadError {
    diag(
        path,
        1,
        Severity::Error,
        "too-large",
        format!(
            "file is {} MiB; runbooks larger than {} MiB are refused",
            size / (1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        ),
    )
}

fn unreadable(path: &Path, err: &std::io::Error) -> LoadError {
    diag(
        path,
        1,
        Severity::Error,
        "unreadable",
        format!("cannot read: {err}"),
    )
}

fn read_file(path: &Path) -> Result<Vec<u8>, LoadError> {
    let mut bytes = Vec::new();
    read_into(path, &mut bytes)?;
    Ok(bytes)
}

/// Reads and parses one file; refuses files over [`MAX_FILE_BYTES`].
pub fn load_file(path: &Path) -> Result<Runbook, LoadError> {
    let bytes = read_file(path)?;
    Ok(parse(&bytes, path))
}
