//! What a user names on the command line: `runbook TARGET`, `runbook run TARGET`, `show`,
//! `export`. One reading for all of them:
//!
//! - a file or folder that exists (`./my-runbook.md`, `~/runbooks/`): the runbooks in it, and
//!   nothing else — one scenario in it is that scenario;
//! - else a scenario id (`backup-stuck/restart-mgmt-pod`) or a runbook id (`backup-stuck`)
//!   among the bundled, configured and fetched runbooks.
//!
//! Errors are the user's: one sentence, and a hint for what to type instead.
//!
//! To accept another kind of target (a URL, say), add a variant to [`Named`] and read it in
//! [`resolve`].

use std::fmt;
use std::path::{Path, PathBuf};

use crate::runbook::{Catalog, Listing, Runbook, Scenario};

/// A user's mistake: what is wrong, and what to do instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError {
    pub message: String,
    pub hint: Option<String>,
}

impl UserError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            hint: None,
        }
    }

    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for UserError {}

/// What a target names.
#[derive(Debug, Clone)]
pub enum Named {
    /// One scenario (index into the runbook's scenarios).
    Scenario(Runbook, usize),
    /// A runbook with several scenarios.
    Runbook(Runbook),
    /// A folder's runbooks, or a file with several: the user picks.
    Files {
        path: PathBuf,
        runbooks: Vec<Runbook>,
    },
}

impl Named {
    /// Every runbook it names.
    pub fn runbooks(&self) -> Vec<&Runbook> {
        match self {
            Self::Scenario(r, _) | Self::Runbook(r) => vec![r],
            Self::Files { runbooks, .. } => runbooks.iter().collect(),
        }
    }

    /// The scenario, when exactly one is named.
    pub fn scenario(&self) -> Option<(&Runbook, &Scenario)> {
        match self {
            Self::Scenario(r, i) => r.scenarios.get(*i).map(|s| (r, s)),
            Self::Runbook(_) | Self::Files { .. } => None,
        }
    }
}

/// Reads `target`: a path that exists, else an id among the bundled runbooks, `paths` and the
/// fetched ones.
pub fn resolve(target: &str, paths: &[PathBuf]) -> Result<Named, UserError> {
    let path = Path::new(target);
    if path.exists() {
        return from_path(path);
    }
    let catalog = load_catalog(paths, true);
    if let Some((r, s)) = catalog
        .runbooks
        .iter()
        .find_map(|r| r.scenario(target).map(|s| (r, s)))
    {
        let index = r.scenarios.iter().position(|x| x.id == s.id).unwrap_or(0);
        return Ok(Named::Scenario(r.clone(), index));
    }
    if let Some(r) = catalog.runbook(target) {
        return Ok(match r.scenarios.len() {
            1 => Named::Scenario(r.clone(), 0),
            _ => Named::Runbook(r.clone()),
        });
    }
    let markdown = Path::new(target)
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("md") || e.eq_ignore_ascii_case("mdx"));
    let looks_like_a_path = markdown || target.starts_with(['.', '~', '/']);
    Err(if looks_like_a_path {
        UserError::new(format!("{target}: no such file or folder"))
    } else {
        UserError::new(format!("no scenario or runbook `{target}`"))
            .hint("`runbook list` shows the ids; a file or folder path works too")
    })
}

fn from_path(path: &Path) -> Result<Named, UserError> {
    let catalog = Catalog::load(&[path.to_owned()], false);
    let mut runbooks = catalog.runbooks;
    runbooks.retain(|r| !r.scenarios.is_empty());
    let scenarios: usize = runbooks.iter().map(|r| r.scenarios.len()).sum();
    match (runbooks.len(), scenarios) {
        (_, 0) => {
            let why = catalog.errors.first().map_or_else(
                || format!("{}: no scenario in it", path.display()),
                ToString::to_string,
            );
            Err(UserError::new(why).hint(
                "a scenario is a heading followed by a Debug Steps list; runbooks/README.md shows the format",
            ))
        }
        (1, 1) => Ok(Named::Scenario(runbooks.remove(0), 0)),
        (1, _) if path.is_file() => Ok(Named::Runbook(runbooks.remove(0))),
        _ => Ok(Named::Files {
            path: path.to_owned(),
            runbooks,
        }),
    }
}

/// One scenario out of `named`, or `want` among several (`--scenario`: its id or the part
/// after the `/`).
pub fn pick_scenario(
    target: &str,
    named: Named,
    want: Option<&str>,
) -> Result<(Runbook, Scenario), UserError> {
    let all: Vec<(Runbook, Scenario)> = match named {
        Named::Scenario(r, i) => {
            let s = r.scenarios.get(i).cloned();
            return s
                .map(|s| (r, s))
                .ok_or_else(|| UserError::new(format!("{target}: no scenario in it")));
        }
        Named::Runbook(r) => r.scenarios.iter().map(|s| (r.clone(), s.clone())).collect(),
        Named::Files { runbooks, .. } => runbooks
            .iter()
            .flat_map(|r| r.scenarios.iter().map(move |s| (r.clone(), s.clone())))
            .collect(),
    };
    let ids = || {
        all.iter()
            .map(|(_, s)| s.id.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match want {
        Some(want) => all
            .iter()
            .find(|(_, s)| s.id == want || s.id.rsplit('/').next() == Some(want))
            .cloned()
            .ok_or_else(|| {
                UserError::new(format!("{target}: no scenario `{want}`"))
                    .hint(format!("it has: {}", ids()))
            }),
        None => Err(UserError::new(format!("{target} has several scenarios"))
            .hint(format!("pick one with --scenario: {}", ids()))),
    }
}

/// The catalog every command shows: bundled runbooks (when `bundled`), the runbooks under
/// `paths` (through the catalog cache, see [`Catalog::load_cached`]), then every fetched
/// runbook in the fetch cache.
pub fn load_catalog(paths: &[PathBuf], bundled: bool) -> Catalog {
    let mut catalog = Catalog::load_cached(paths, bundled);
    let fetched = fetched_files();
    if !fetched.is_empty() {
        catalog.add_fetched(fetched);
    }
    catalog
}

/// The same catalog as [`load_catalog`], as `runbook list` shows it: a warm catalog cache
/// gives each runbook's summary without decoding the runbook.
pub fn load_listing(paths: &[PathBuf], bundled: bool) -> Listing {
    let mut listing = Listing::load_cached(paths, bundled);
    let fetched = fetched_files();
    if !fetched.is_empty() {
        listing.add_fetched(fetched);
    }
    listing
}

/// Every runbook in the fetch cache: its file, bytes and origin.
fn fetched_files() -> Vec<(PathBuf, Vec<u8>, crate::runbook::Fetched)> {
    let Some(cache) = crate::fetch::cache::Cache::default_location() else {
        return Vec::new();
    };
    let max = crate::config::Config::load(crate::config::path().as_deref())
        .ok()
        .and_then(|c| c.fetch_max_bytes)
        .unwrap_or(crate::fetch::DEFAULT_MAX_BYTES);
    cache.runbooks(max)
}
