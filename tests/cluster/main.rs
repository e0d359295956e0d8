//! Tests that talk to a server started here: the practice cluster (HTTP, kube-rs, real
//! kubectl), contexts and health, `diagnose`, `fetch` over real TLS, and node steps over a
//! real sshd on 127.0.0.1.

#[path = "../lab_support/mod.rs"]
mod lab_support;

mod contexts;
mod diagnose;
mod fetch;
mod gate;
mod lab_api;
mod lab_cli;
mod lab_exchanges;
mod lab_kube_rs;
mod lab_kubectl;
mod lab_run;
mod lab_scenarios;
mod nodes_ssh;
