//! The execution engine: runs a step's command blocks and reports what happened.
//!
//! The TUI and the headless `runbook run` share it. It imports the model
//! ([`crate::runbook`]) and nothing of the UI.
//!
//! - [`shell`] lexes bash text (words, pipelines, quoting contexts) without running it.
//! - [`safety`] classifies a command as destructive and/or interactive, with reasons.
//! - [`process`] runs one block in its own process group (streaming, timeout, cancel that
//!   leaves nothing behind, env carried out); [`output`] splits and bounds what it prints.
//! - [`vars`] holds placeholder values, fills them in shell-quoted, and masks secrets.
//!
//! To add a concern (a new gate, a new kind of event), give it its own module here and wire it
//! into the runner; keep every module free of terminal drawing.

pub mod output;
pub mod process;
pub mod safety;
pub mod shell;
pub mod vars;

pub use safety::{Classification, classify, classify_block};
