//! `--palette-cluster NAME`: the cluster's kubeconfig fetched from Palette into a private file
//! (a 0700 folder, the file 0600, removed when the returned [`Fetched`] is dropped), which the
//! caller then pins the way `--context` pins a context ([`crate::cluster::Workspace::open`]
//! with that file). The user's own kubeconfig is neither read nor written.

use std::path::{Path, PathBuf};

use super::{Client, Cluster, PaletteError, Settings, Variant};

/// A kubeconfig fetched for one cluster.
#[derive(Debug)]
pub struct Fetched {
    pub cluster: Cluster,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Fetched {
    /// The kubeconfig file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Fetches `name`'s kubeconfig with `client`.
pub async fn fetch_with(
    client: &Client,
    name: &str,
    variant: Variant,
) -> Result<Fetched, PaletteError> {
    let cluster = client.cluster(name).await?;
    let text = client.kubeconfig(&cluster, variant).await?;
    let dir = crate::cluster::private_dir().map_err(|source| PaletteError::Write {
        path: std::env::temp_dir(),
        source,
    })?;
    let path = dir
        .path()
        .join(format!("kubeconfig-palette-{}", file_safe(&cluster.name)));
    crate::atomic::write_private(&path, text.as_bytes()).map_err(|source| PaletteError::Write {
        path: path.clone(),
        source,
    })?;
    Ok(Fetched {
        cluster,
        path,
        _dir: dir,
    })
}

/// For synchronous callers (`runbook run`, the TUI's start): a short-lived runtime, the
/// default kubeconfig variant.
pub fn fetch_blocking(settings: Settings, name: &str) -> Result<Fetched, PaletteError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| PaletteError::Other(format!("cannot start a runtime: {e}")))?;
    runtime.block_on(async {
        let client = Client::connect(settings).await?;
        fetch_with(&client, name, Variant::Default).await
    })
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}
