//! What a listing shows of a runbook: its id, path, title, tags, scenario ids and titles, and
//! the errors found loading it. `runbook list` prints only these, so a warm `list` decodes this
//! small record from the catalog cache (see [`super::cache`]) and never the whole model.
//!
//! To show one more thing in `list`, add the field here and fill it in [`Summary::of`]; the
//! cache's format version (in [`super::cache`]) must go up with it, so that no older cache is
//! read as if it had the field.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Diagnostic, Fetched, Runbook, Severity};

/// A runbook as a listing shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    pub id: String,
    /// Not stored in the cache: the cache's key is the path.
    #[serde(skip)]
    pub path: PathBuf,
    pub title: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    pub scenarios: Vec<ScenarioSummary>,
    /// The runbook's warnings of severity error (the ones `list` reports).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<Diagnostic>,
    #[serde(skip)]
    pub fetched: Option<Fetched>,
}

/// A scenario as a listing shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioSummary {
    pub id: String,
    pub title: String,
}

impl Summary {
    /// The summary of a parsed runbook.
    pub fn of(runbook: &Runbook) -> Self {
        Self {
            id: runbook.id.clone(),
            path: runbook.path.clone(),
            title: runbook.title().to_owned(),
            tags: runbook.front_matter().tags.clone(),
            scenarios: runbook
                .scenarios
                .iter()
                .map(|s| ScenarioSummary {
                    id: s.id.clone(),
                    title: s.title.clone(),
                })
                .collect(),
            errors: runbook
                .warnings()
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .cloned()
                .collect(),
            fetched: runbook.fetched.clone(),
        }
    }
}
