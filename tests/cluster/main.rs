//! Tests that talk to a server started here: the practice cluster (HTTP, kube-rs, real
//! kubectl), contexts and health, `diagnose`, `fetch` over real TLS, and node steps over a
//! real sshd on 127.0.0.1; Palette's API (a stand-in) and fleets of practice clusters.

#[path = "../lab_support/mod.rs"]
mod lab_support;

mod contexts;
mod diagnose;
mod diagnose_jq;
mod fetch;
mod gate;
mod lab_api;
mod lab_battery;
mod lab_bounds;
mod lab_cli;
mod lab_controllers;
mod lab_events;
mod lab_exchanges;
mod lab_kinds;
mod lab_kube_rs;
mod lab_kubectl;
mod lab_openapi;
mod lab_protobuf;
mod lab_restricted;
mod lab_run;
mod lab_scenarios;
mod lab_wire;
mod nodes_ssh;
mod palette_cli;
mod palette_contract;
mod palette_deploy;
mod palette_fleet;
mod palette_support;
