//! The execution engine: runs a step's command blocks and reports what happened.
//!
//! The TUI and the headless `runbook run` share it. It imports the model
//! ([`crate::runbook`]) and nothing of the UI.
//!
//! - [`shell`] lexes bash text (words, pipelines, quoting contexts) without running it.
//! - [`safety`] classifies a command as destructive and/or interactive, with reasons, and says
//!   whether it can be shown to only read (what `--read-only` runs).
//! - [`process`] runs one block in its own process group (streaming, timeout, cancel that
//!   leaves nothing behind, env carried out); [`output`] splits and bounds what it prints.
//! - [`vars`] holds placeholder values, fills them in shell-quoted, and masks secrets.
//! - [`plan`] decides per block: run here, hand the terminal over, or "run this on the node".
//! - [`nodes`] runs a `target=nodes` block on every node over ssh and compares the outputs.
//! - [`pipeline`] gives each pipeline the status a person reading it would give it (an
//!   upstream member killed by SIGPIPE does not fail it).
//! - [`watchdog`] makes sure nothing runbook started outlives it, even after `kill -9`.
//! - [`judge`] decides pass/fail (exit code, `expect=` regexes) and diffs expected output.
//! - [`runner`] runs a procedure through the gates (`--read-only`, confirmation, dry run),
//!   carries the environment between steps, and reports everything as [`runner::Event`]s to a
//!   [`runner::Host`] (the headless printer or the TUI).
//!
//! To add a concern (a new gate, a new kind of event), give it its own module here and wire it
//! into the runner; keep every module free of terminal drawing.

pub mod judge;
pub mod nodes;
pub mod output;
pub mod pipeline;
pub mod plan;
pub mod process;
pub mod reparse;
pub mod runner;
pub mod safety;
pub mod shell;
pub mod vars;

pub use plan::{BlockPlan, StepPlan, step_plan};
pub use process::{Cancel, CancelHandle, Terminal};
pub use runner::{Event, Host, Options, Runner, Shell, Summary, Verdict};
pub use safety::{Classification, classify, classify_block};
pub use vars::Vars;
