//! The front matter, read on first use.
//!
//! Parsing a file finds where its YAML front matter is and keeps that text, but does not run
//! the YAML parser: that is most of a parse's cost, and a reader that needs only the steps
//! never pays it. The first call to [`Runbook::front_matter`], [`Runbook::title`] or
//! [`Runbook::warnings`] reads the YAML once (fields, checks resolved against the scenarios,
//! the title, and every warning in file order) and keeps the result for the life of the value.
//! A runbook built from the catalog cache arrives already read.
//!
//! What a malformed front matter reports, and where, is unchanged: only *when* it is computed
//! moved. Everything that shows or lints a runbook reads `warnings()`, which forces the read.
//! To add a front-matter field: add it to [`FrontMatter`] and to the reader in `source.rs`;
//! nothing here changes.

use std::path::Path;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::source::{self, diag};
use super::{Diagnostic, Fetched, FrontMatter, Runbook, Scenario, Severity};

/// What a parse found out before the YAML was read.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Pending {
    /// The front matter's YAML (the lines between the `---`s, joined by `\n`); `None` when the
    /// file has none.
    pub yaml: Option<Box<str>>,
    /// The title when the front matter gives none: the first heading, else the id.
    pub fallback_title: String,
    /// Warnings found while parsing the body, in file order; the front matter's go at
    /// `front_at`, the checks' at `checks_at`.
    pub warnings: Vec<Diagnostic>,
    pub front_at: usize,
    pub checks_at: usize,
}

/// The front matter, read.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Read {
    pub front_matter: FrontMatter,
    pub title: String,
    pub warnings: Vec<Diagnostic>,
}

/// A runbook's front matter, title and warnings: pending until first asked for.
#[derive(Debug, Clone)]
pub(super) struct Lazy {
    /// Empty once read from the cache (the `OnceLock` is then already set).
    pending: Box<Pending>,
    read: OnceLock<Read>,
}

impl Lazy {
    pub(super) fn pending(pending: Pending) -> Self {
        Self {
            pending: Box::new(pending),
            read: OnceLock::new(),
        }
    }

    pub(super) fn read(read: Read) -> Self {
        Self {
            pending: Box::default(),
            read: OnceLock::from(read),
        }
    }

    pub(super) fn get(&self, path: &Path, scenarios: &[Scenario]) -> &Read {
        self.read
            .get_or_init(|| read(&self.pending, path, scenarios))
    }

    /// Adds a warning after all the others.
    pub(super) fn push(&mut self, warning: Diagnostic) {
        match self.read.get_mut() {
            Some(read) => read.warnings.push(warning),
            None => self.pending.warnings.push(warning),
        }
    }

    /// Whether the YAML has been read (for tests and the bench).
    pub(super) fn is_read(&self) -> bool {
        self.read.get().is_some()
    }
}

fn read(p: &Pending, path: &Path, scenarios: &[Scenario]) -> Read {
    let mut front_warnings = Vec::new();
    let mut front_matter = p.yaml.as_deref().map_or_else(FrontMatter::default, |yaml| {
        let lines = source::lines(yaml);
        source::read_front_matter(&lines, path, &mut front_warnings)
    });
    let mut check_warnings = Vec::new();
    resolve_check_scenarios(&mut front_matter, scenarios, path, &mut check_warnings);
    let mut warnings =
        Vec::with_capacity(p.warnings.len() + front_warnings.len() + check_warnings.len());
    let (head, rest) = p.warnings.split_at(p.front_at.min(p.warnings.len()));
    let (middle, tail) = rest.split_at(p.checks_at.saturating_sub(p.front_at).min(rest.len()));
    warnings.extend_from_slice(head);
    warnings.extend(front_warnings);
    warnings.extend_from_slice(middle);
    warnings.extend(check_warnings);
    warnings.extend_from_slice(tail);
    let title = front_matter
        .title
        .clone()
        .unwrap_or_else(|| p.fallback_title.clone());
    Read {
        front_matter,
        title,
        warnings,
    }
}

/// Turns each check's `scenario:` (a slug, a full id, or nothing in a one-scenario file) into
/// the full scenario id; a check that points nowhere is reported and dropped.
fn resolve_check_scenarios(
    front_matter: &mut FrontMatter,
    scenarios: &[Scenario],
    path: &Path,
    warnings: &mut Vec<Diagnostic>,
) {
    let checks = std::mem::take(&mut front_matter.checks);
    for mut check in checks {
        let found = match check.scenario.as_deref() {
            None => match scenarios {
                [only] => Ok(only.id.clone()),
                _ => Err(format!(
                    "this file has {} scenarios: say which one the check points to with `scenario:`",
                    scenarios.len()
                )),
            },
            Some(wanted) => scenarios
                .iter()
                .find(|s| s.id == wanted || s.id.rsplit_once('/').is_some_and(|(_, slug)| slug == wanted))
                .map(|s| s.id.clone())
                .ok_or_else(|| {
                    let ids: Vec<&str> = scenarios.iter().map(|s| s.id.as_str()).collect();
                    format!(
                        "check points to scenario `{wanted}`, which this file does not have (it has: {})",
                        ids.join(", ")
                    )
                }),
        };
        match found {
            Ok(id) => {
                check.scenario = Some(id);
                front_matter.checks.push(check);
            }
            Err(message) => {
                warnings.push(diag(
                    path,
                    check.line,
                    Severity::Error,
                    "bad-check",
                    message,
                ));
            }
        }
    }
}

impl Runbook {
    fn read(&self) -> &Read {
        self.lazy.get(&self.path, &self.scenarios)
    }

    /// The YAML front matter (read on first use).
    pub fn front_matter(&self) -> &FrontMatter {
        &self.read().front_matter
    }

    /// The front matter's `title`, else the first heading, else the id.
    pub fn title(&self) -> &str {
        &self.read().title
    }

    /// What is wrong with the file, in file order; loading went on regardless.
    pub fn warnings(&self) -> &[Diagnostic] {
        &self.read().warnings
    }

    /// Adds a warning after all the others (the catalog's, about the file as a whole).
    pub fn push_warning(&mut self, warning: Diagnostic) {
        self.lazy.push(warning);
    }

    /// Whether the front matter has been read yet (it is read on first use).
    pub fn front_matter_read(&self) -> bool {
        self.lazy.is_read()
    }
}

impl PartialEq for Runbook {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
            && self.path == other.path
            && self.scenarios == other.scenarios
            && self.fetched == other.fetched
            && self.read() == other.read()
    }
}

/// The JSON form of a [`Runbook`] (`runbook show --json`, the catalog cache): every field
/// read, as before the front matter became lazy.
#[derive(Serialize)]
struct Out<'a> {
    id: &'a str,
    path: &'a Path,
    title: &'a str,
    #[serde(skip_serializing_if = "FrontMatter::is_empty")]
    front_matter: &'a FrontMatter,
    warnings: &'a [Diagnostic],
    scenarios: &'a [Scenario],
    #[serde(skip_serializing_if = "Option::is_none")]
    fetched: Option<&'a Fetched>,
}

#[derive(Deserialize)]
struct In {
    id: String,
    path: std::path::PathBuf,
    title: String,
    #[serde(default)]
    front_matter: FrontMatter,
    warnings: Vec<Diagnostic>,
    scenarios: Vec<Scenario>,
}

impl Serialize for Runbook {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let read = self.read();
        Out {
            id: &self.id,
            path: &self.path,
            title: &read.title,
            front_matter: &read.front_matter,
            warnings: &read.warnings,
            scenarios: &self.scenarios,
            fetched: self.fetched.as_ref(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Runbook {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let In {
            id,
            path,
            title,
            front_matter,
            warnings,
            scenarios,
        } = In::deserialize(d)?;
        Ok(Self {
            id,
            path,
            scenarios,
            fetched: None,
            lazy: Lazy::read(Read {
                front_matter,
                title,
                warnings,
            }),
        })
    }
}
