//! `runbook`: guided troubleshooting of Palette-managed Kubernetes clusters.
//!
//! Architecture, one way dependencies:
//! - [`runbook`] is the model and the MDX-tolerant parser: files in, scenarios/procedures/steps
//!   out. It runs nothing and draws nothing.
//! - [`lint`] checks runbooks (structure, shell pitfalls, shellcheck) and reports
//!   `file:line:col` findings.
//! - [`lab`] is the practice cluster: an embedded Kubernetes-compatible API server seeded with
//!   the broken state of a scenario, for trainees, first-minute users and tests.
//! - [`cli`] holds the command-line definitions; `main.rs` dispatches them.

pub mod cli;
pub mod lab;
pub mod lint;
pub mod runbook;
