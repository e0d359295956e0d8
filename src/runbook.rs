//! The runbook model and its loader.
//!
//! A [`Runbook`] is one Markdown/MDX file. It holds [`Scenario`]s (one troubleshooting problem
//! each), a scenario holds alternative [`Procedure`]s, a procedure holds [`Step`]s, and a step
//! holds [`Block`]s (fenced code: a command to run, its expected output, an example, or config).
//!
//! This module reads and parses; it runs nothing and draws nothing, so every other part of the
//! crate (engine, TUI, lint, lab) can depend on it. Parsing never fails: whatever is wrong with
//! a file becomes a [`Diagnostic`] in [`Runbook::warnings`] and the rest of the file still loads.
//!
//! To teach the parser a new construct: add a line classifier in `parse/line.rs`, give it a
//! branch in `parse.rs`'s builder, and add a fixture under `tests/fixtures/` with its snapshot.

mod bounds;
pub mod cache;
mod catalog;
pub mod check;
mod fence;
mod front;
mod outline;
mod parse;
pub mod placeholder;
mod source;
mod summary;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use bounds::{MAX_SHELL_NESTING, MAX_YAML_NESTING};
pub use catalog::{BUNDLED_PREFIX, Catalog, Listing, LoadError, MAX_FILE_BYTES, Origin};
pub use check::{Check, Read};
pub use fence::{FenceInfo, JUDGING_ATTRIBUTES};
pub use outline::outline;
pub use parse::{Decision, Evidence, decide_kind, looks_like_output, parse, slug};
pub use summary::{ScenarioSummary, Summary};

/// One runbook file. Its front matter, title and warnings are read on first use
/// ([`Runbook::front_matter`], [`Runbook::title`], [`Runbook::warnings`]; see `front.rs`).
#[derive(Debug, Clone)]
pub struct Runbook {
    /// File stem, unique within a catalog (e.g. `enterprise-install`).
    pub id: String,
    /// Where it came from: a path on disk, or `bundled:NAME.md` for an embedded runbook.
    pub path: PathBuf,
    pub scenarios: Vec<Scenario>,
    /// Set for a runbook fetched from a URL (`runbook fetch`): where from, when, and whether
    /// its current content has been shown to the user.
    pub fetched: Option<Fetched>,
    lazy: front::Lazy,
}

/// Where a fetched runbook came from, and what of its current content the user has seen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fetched {
    pub url: String,
    /// Unix seconds of the last download of this content.
    pub fetched_at: i64,
    /// SHA-256 (hex) of the content that was parsed.
    pub sha256: String,
    /// The whole file, at this content, has been shown (`runbook show RUNBOOK`).
    pub reviewed: bool,
    /// Scenario ids shown one by one (`runbook show RUNBOOK/SCENARIO`) at this content.
    pub reviewed_scenarios: Vec<String>,
    /// Some content of this URL was shown before (so "changed since you last looked").
    pub seen_before: bool,
}

impl Fetched {
    /// Whether `scenario_id`'s steps, at the current content, have been shown.
    pub fn is_reviewed(&self, scenario_id: &str) -> bool {
        self.reviewed || self.reviewed_scenarios.iter().any(|s| s == scenario_id)
    }

    /// `host/path` of the URL, for a short mention.
    pub fn host(&self) -> &str {
        let rest = self
            .url
            .split_once("://")
            .map_or(self.url.as_str(), |(_, rest)| rest);
        rest.split('/').next().unwrap_or(rest)
    }
}

/// YAML front matter. Keys the model does not know are kept in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FrontMatter {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Error strings a user would paste into the search box to find this runbook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub symptoms: Vec<String>,
    /// Placeholders explained once for the whole runbook: name -> how to fill it in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub placeholders: BTreeMap<String, PlaceholderDoc>,
    /// Read-only cluster checks for `runbook diagnose` (see [`check`]). Filled in by the parser,
    /// which reports a malformed check with its line instead of failing the whole front matter.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml::Value>,
}

impl FrontMatter {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// How to fill in one placeholder (front matter `placeholders:`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlaceholderDoc {
    /// What the value is, in a few words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The value must never be shown or written in clear.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub secret: bool,
    /// An example value (shown greyed out in prompts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// Everything else (hints for live pickers, added by later features).
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_yaml::Value>,
}

/// One troubleshooting problem: a description and one or more ways to fix it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    /// `<runbook id>/<slug of the title>`.
    pub id: String,
    pub title: String,
    /// 1-based line of the scenario heading.
    pub line: usize,
    /// Prose between the heading and the first step, inline Markdown kept.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callouts: Vec<Callout>,
    /// Blocks before the first step ("step 0"); commands here stay runnable.
    pub intro: Vec<Block>,
    /// Sub-headings that hold no procedure (`### Examples` with prose and config blocks only):
    /// reference material shown with the introduction, never a checklist.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference: Vec<Section>,
    /// Alternatives the user picks from; never empty for a scenario with any steps.
    pub procedures: Vec<Procedure>,
}

/// Reference material of a scenario: a titled piece of prose with its blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    pub title: String,
    pub line: usize,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callouts: Vec<Callout>,
    pub blocks: Vec<Block>,
}

/// A sequence of steps; a scenario's procedures are alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Procedure {
    pub title: String,
    pub line: usize,
    /// Index of the procedure this one is shown under (an `#### Example` below `### Debug Steps`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<usize>,
    /// Prose before the first step ("Repeat the following for each node").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub summary: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callouts: Vec<Callout>,
    pub steps: Vec<Step>,
}

/// One item of the checklist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The number as printed in the source ("3"), for display only.
    pub number: String,
    pub line: usize,
    /// The step's prose with inline Markdown (`**bold**`, `` `code` ``, links) kept.
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub callouts: Vec<Callout>,
    pub blocks: Vec<Block>,
    pub substeps: Vec<Step>,
}

/// An admonition (`:::info`) or `<InfoBox>` / `<WarningBox>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Callout {
    /// `info`, `warning`, `tip`, `note`, `danger`, `caution`.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub text: String,
    pub line: usize,
}

/// What a fenced block is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockKind {
    /// Runnable.
    Command,
    /// The output the command before it is expected to print.
    Output,
    /// A filled-in example of a command: shown, never run.
    Example,
    /// A file's content (YAML, JSON, Dockerfile, ...): shown and copyable, never run.
    Config,
}

impl BlockKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Command => "command",
            Self::Output => "output",
            Self::Example => "example",
            Self::Config => "config",
        }
    }
}

/// A fenced code block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Block {
    pub kind: BlockKind,
    pub language: Option<String>,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The content, with the fence's own indentation removed.
    pub code: String,
    /// Fence attributes: `title`, `hideClipboard`, `timeout`, `capture`, `name`, `tab`, ...
    pub attributes: BTreeMap<String, String>,
    /// 1-based lines of `code` to highlight (`{5}`, `{4,9}`, `{7-13}`).
    pub highlight: Vec<u32>,
    /// The kind that came second when the evidence left the call close (`runbook lint` asks
    /// for a `kind=` attribute); `None` when the call was clear or the fence says `kind=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close_call: Option<BlockKind>,
    /// A shell command or example the user may open in an editor line, change, and run as a
    /// step of their own (with the runbook's placeholders marked).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub editable: bool,
    /// An example with nothing to fill in that is not a filled-in copy of a command before it
    /// (`kubectl get pv --output wide` under "Example command"): offered to run as written.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub runs_as_is: bool,
}

impl Block {
    pub fn attribute(&self, key: &str) -> Option<&str> {
        self.attributes.get(key).map(String::as_str)
    }

    /// 1-based source line of the `n`th (1-based) line of `code`.
    pub fn source_line(&self, n: usize) -> usize {
        self.line + n
    }
}

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

/// A finding about a file, with its position.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    pub path: PathBuf,
    pub line: usize,
    pub col: usize,
    pub severity: Severity,
    /// Stable short name of the check (`unterminated-fence`, `single-quoted-var`, ...).
    pub code: &'static str,
    pub message: String,
}

impl Diagnostic {
    pub fn new(
        path: &Path,
        line: usize,
        col: usize,
        severity: Severity,
        code: &'static str,
        message: String,
    ) -> Self {
        Self {
            path: path.to_owned(),
            line,
            col,
            severity,
            code,
            message,
        }
    }
}

/// The codes the loader gives its findings: a cached finding is read back as one of these.
const LOAD_CODES: &[&str] = &[
    "bad-check",
    "duplicate-id",
    "front-matter",
    "invalid-utf8",
    "nested-fence",
    "no-scenarios",
    "nul-byte",
    "too-deep",
    "too-large",
    "unreadable",
    "unterminated-comment",
    "unterminated-fence",
];

/// A finding read back from the catalog cache: its code is one of [`LOAD_CODES`].
impl<'de> Deserialize<'de> for Diagnostic {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Stored {
            path: PathBuf,
            line: usize,
            col: usize,
            severity: Severity,
            code: String,
            message: String,
        }
        let s = Stored::deserialize(d)?;
        let code = LOAD_CODES
            .iter()
            .find(|c| **c == s.code)
            .copied()
            .ok_or_else(|| {
                serde::de::Error::custom(format!("unknown finding code `{}`", s.code))
            })?;
        Ok(Self {
            path: s.path,
            line: s.line,
            col: s.col,
            severity: s.severity,
            code,
            message: s.message,
        })
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}: {} [{}]",
            self.path.display(),
            self.line,
            self.col,
            self.severity.as_str(),
            self.message,
            self.code
        )
    }
}

impl Runbook {
    pub fn scenario(&self, id: &str) -> Option<&Scenario> {
        self.scenarios.iter().find(|s| s.id == id)
    }

    /// The id a file at `path` gets: its stem.
    pub fn id_for(path: &Path) -> String {
        path.file_stem().map_or_else(
            || "runbook".to_owned(),
            |s| s.to_string_lossy().into_owned(),
        )
    }
}

impl Scenario {
    /// The intro's blocks, the reference sections' blocks, then those of every step of every
    /// procedure, sub-steps included.
    pub fn all_blocks(&self) -> impl Iterator<Item = &Block> {
        self.intro
            .iter()
            .chain(self.reference.iter().flat_map(|r| r.blocks.iter()))
            .chain(
                self.procedures
                    .iter()
                    .flat_map(|p| p.steps.iter().flat_map(Step::all_blocks)),
            )
    }
}

impl Step {
    /// This step's blocks and those of its sub-steps, in document order.
    pub fn all_blocks(&self) -> Box<dyn Iterator<Item = &Block> + '_> {
        Box::new(
            self.blocks
                .iter()
                .chain(self.substeps.iter().flat_map(Step::all_blocks)),
        )
    }

    /// Blocks that run.
    pub fn commands(&self) -> impl Iterator<Item = &Block> {
        self.blocks.iter().filter(|b| b.kind == BlockKind::Command)
    }
}
