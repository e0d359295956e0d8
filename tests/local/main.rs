//! Tests that need no cluster, no network and no terminal: the parser, the bundled runbooks,
//! lint, the engine (real bash processes), `runbook run`, sessions and the TUI's drawing.
//!
//! One test binary for all of them: each binary links the whole crate (kube, rustls, axum,
//! jaq), so a binary per file made CI spend most of its time linking.

#[path = "../hostile_support/mod.rs"]
mod hostile_support;

mod app;
mod bad_input;
mod bundled;
mod cli;
mod diagnose_jq;
mod drive;
mod edit;
mod exec_bad_input;
mod exec_forms;
mod exec_pipelines;
mod exec_process;
mod exec_run;
mod exec_safety;
mod exec_secrets;
mod exec_slow;
mod exec_vars;
mod exec_watchdog;
mod layers;
mod lint;
mod listing;
mod newcomer;
mod palette_clusters_view;
mod parse_fixtures;
mod read_only;
mod redact;
mod sanitize;
mod session;
mod tui_snapshots;
