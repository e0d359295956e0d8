//! `runbook`: guided troubleshooting of Palette-managed Kubernetes clusters.
//!
//! Architecture, one way dependencies:
//! - [`runbook`] is the model and the MDX-tolerant parser: files in, scenarios/procedures/steps
//!   out. It runs nothing and draws nothing.
//! - [`lint`] checks runbooks (structure, shell pitfalls, shellcheck) and reports
//!   `file:line:col` findings.
//! - [`exec`] is the engine: classifies, fills in, runs and judges command blocks, streaming
//!   events that the headless `runbook run` prints and the TUI draws. It imports the model only.
//! - [`drive`] is the one scenario driver both front ends use: the flattened steps with their
//!   plans, the shell, the mode with the context's guard, confirmations, the session record.
//! - [`cmd`] holds the subcommands; [`cmd::run`] is the headless `runbook run`: it resolves
//!   the target, loops over the driver's steps and prints its events as text or JSON lines.
//! - The TUI is [`app`] (the loop: terminal and engine events -> [`action::Action`] ->
//!   [`state::update`] -> effects -> [`ui::draw`]), with [`config`] for the user's file.
//!   `state` imports the engine's types; `ui` draws `State` and imports no engine.
//! - [`lab`] is the practice cluster: an embedded Kubernetes-compatible API server seeded with
//!   the broken state of a scenario, for trainees, first-minute users and tests.
//! - [`cluster`] knows which cluster the commands talk to: kubeconfig contexts read with
//!   kube-rs, the chosen one pinned in a kubeconfig of its own, its health, per-context guard
//!   rails, the gate that enforces read-only and dry-run at the API, and live lists for
//!   placeholder pickers.
//! - [`fetch`] downloads runbooks from URLs into a cache (`runbook fetch`) and adds them to the
//!   catalog with their origin; a fetched runbook runs only after it has been shown.
//! - [`diagnose`] runs the read-only checks declared in runbook front matter against a cluster
//!   (kube-rs) and ranks the scenarios that match; the CLI and the TUI's Diagnose view use it.
//! - [`palette`] speaks Palette's REST API (clusters, gateways, events, kubeconfigs) with the
//!   user's API key, and serves a stand-in for it next to a fleet of practice clusters.
//! - [`session`] persists each run (state, outputs, notes), writes redacted reports and
//!   copy-paste exports; headless `run` and the TUI record through the same [`session::Recorder`].
//!   [`session::redact`] finds secrets by shape and by context, for reports, exports and
//!   `run --redact`.
//! - [`sanitize`] makes text the product did not write (runbooks, cluster data, command
//!   output) safe to print: no escape sequence from it drives the user's terminal.
//! - [`private`] creates the folders and files only their owner may read (sessions, reports,
//!   the fetch cache).
//! - [`cli`] holds the command-line definitions; [`cmd::dispatch`] runs them; `main.rs` prints
//!   any error as one line.
//! - [`duration`] is the one parser and printer of durations; [`target`] resolves what a
//!   command is pointed at (scenario id, runbook file or folder) and loads the catalog.
//!
//! `tests/local/layers.rs` checks on every test run that no sibling modules import each other
//! and that the model and the headless parts never import the screen.

pub mod action;
pub mod app;
pub mod atomic;
pub mod cli;
pub mod cluster;
pub mod cmd;
pub mod config;
pub mod diagnose;
pub mod drive;
pub mod duration;
pub mod exec;
pub mod fetch;
pub mod lab;
pub mod lint;
pub mod palette;
pub mod private;
pub mod runbook;
pub mod sanitize;
pub mod session;
pub mod state;
pub mod target;
pub mod ui;

/// mimalloc for every binary built on this crate (the app, its tests and benches): with
/// glibc's malloc the practice cluster held 201 MiB for 5,000 pods and 20,000 events and 267
/// MiB once it had served them (freed list buffers stay in glibc's arenas), and a parse spent
/// a fifth of its time in malloc/free; with mimalloc, in the same run, 145 and 159 MiB, and
/// parsing 22% faster (`benches/lab.rs`, `benches/parse.rs`).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
