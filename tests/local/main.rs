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

/// The real binary with its home, XDG folders, data folder and kubeconfig all under `data`:
/// a run that reads nothing of the user's and leaves nothing behind, stdin closed.
pub(crate) fn isolated_runbook(data: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_runbook"));
    cmd.env("HOME", data)
        .env("XDG_DATA_HOME", data.join("share"))
        .env("XDG_CONFIG_HOME", data.join("config"))
        .env("XDG_CACHE_HOME", data.join("cache"))
        .env("RUNBOOK_DATA_DIR", data.join("runbook"))
        .env("KUBECONFIG", data.join("no-kubeconfig"))
        .stdin(std::process::Stdio::null());
    cmd
}
