//! Palette: the API of the platform that manages the user's clusters, spoken directly.
//!
//! This module owns everything `runbook` knows about Palette's REST API:
//! - [`config`]: credentials (the API key, a secret that never reaches a screen, log, session,
//!   report or process argument), endpoint, project scope, CA;
//! - [`api`]: the JSON of the operations used, typed after the public Swagger spec
//!   (`spectrocloud/palette-sdk-go`, `api/spec/palette-apis-spec.json`), and the plain values
//!   they become ([`api::Cluster`], [`api::Gateway`], [`api::Event`], [`api::Project`]);
//! - [`client`]: the HTTP client (rustls with the system CAs plus `ca_cert`, `ApiKey` and
//!   `ProjectUid` headers, `Retry-After` honoured) and one method per operation;
//! - [`pin`]: a cluster's kubeconfig fetched into a private file, for `--palette-cluster`;
//! - [`crate::cmd::palette`]: `runbook palette clusters|kubeconfig|gateways|events`;
//! - [`standin`]: a stand-in for the API on 127.0.0.1 (same paths, headers and JSON shapes)
//!   and [`lab`]: a fleet of practice clusters behind it (`runbook lab --palette`).
//!
//! Every failure is a [`PaletteError`]: one line that says what happened and what to do.
//!
//! To use one more operation: look it up in the spec, add its wire type to [`api`] and a method
//! to [`client::Client`] naming its `operationId`, answer it in [`standin`] with the same shape,
//! and add its schema excerpt to `tests/fixtures/palette/` for the contract test.

pub mod api;
pub mod client;
pub mod config;
pub mod lab;
pub mod pin;
pub mod standin;

use std::path::PathBuf;
use std::time::Duration;

pub use api::{Cluster, Event, Gateway, Project, Variant};
pub use client::Client;
pub use config::{ApiKey, PaletteConfig, Settings};

/// Why a Palette call failed, in words a user can act on (each message is one line).
#[derive(Debug, thiserror::Error)]
pub enum PaletteError {
    #[error(
        "no Palette API key: set PALETTE_API_KEY (or SPECTROCLOUD_APIKEY), or api_key_file under [palette] in the config"
    )]
    NoKey,
    #[error("[palette] api_key_file {}: {message}", path.display())]
    KeyFile { path: PathBuf, message: String },
    #[error("Palette endpoint {0}")]
    BadHost(String),
    #[error("config: {0}")]
    Config(String),
    #[error(
        "Palette at {host} refused the API key (401): it is wrong, revoked or expired; create a new one under Profile > My API Keys"
    )]
    Unauthorized { host: String },
    #[error(
        "the API key may not {what} in {scope} (403: {message}); ask for a role there or pick another project with --project"
    )]
    Forbidden {
        what: String,
        scope: String,
        message: String,
    },
    #[error("no project `{wanted}` for this API key; it sees: {available}")]
    NoProject { wanted: String, available: String },
    #[error(
        "no cluster `{name}` in {scope}; it has: {available} (`runbook palette clusters` lists them)"
    )]
    NoCluster {
        name: String,
        scope: String,
        available: String,
    },
    #[error(
        "cluster {name} is {state}: its kubeconfig is not ready yet; try again once `runbook palette clusters` shows it Running"
    )]
    NotReady { name: String, state: String },
    #[error(
        "Palette has no {variant} kubeconfig for cluster {name} (404: {message}); try --variant default"
    )]
    NoKubeconfig {
        name: String,
        variant: String,
        message: String,
    },
    #[error(
        "Palette at {host} is rate limiting this address (429) and asks to wait {}s; try again then",
        wait.as_secs().max(1)
    )]
    RateLimited { host: String, wait: Duration },
    #[error(
        "Palette at {host} did not answer within {}s; check the network or raise --timeout",
        after.as_secs()
    )]
    Timeout { host: String, after: Duration },
    #[error("cannot reach Palette at {host}: {detail}; check PALETTE_HOST and the network")]
    Unreachable { host: String, detail: String },
    #[error("Palette TLS: {0}")]
    Tls(String),
    #[error("Palette answered {code} to `{what}`: {message}")]
    Status {
        code: u16,
        what: String,
        message: String,
    },
    #[error("Palette's answer to `{what}` is not what its API describes: {detail}")]
    BadAnswer { what: String, detail: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Other(String),
}
