//! `runbook lab --palette --clusters N`: a fleet of practice clusters behind a Palette stand-in.
//!
//! Built on the lab's public API only ([`crate::lab::Lab`], [`crate::lab::LabOptions`]): each
//! cluster is one practice cluster seeded with one scenario, round robin over every lab
//! scenario plus a healthy (empty) one; its kubeconfig is the lab's own (whatever server,
//! credentials and CA the lab writes), renamed after the cluster. The stand-in
//! ([`super::standin`]) lists them in one project, with a private cloud gateway, and hands out
//! each one's kubeconfig (server, token, a context named after the cluster). A merged
//! kubeconfig with every context and a `palette.env` file (`PALETTE_HOST`, `PALETTE_API_KEY`,
//! mode 0600) are written to the fleet's folder.
//!
//! To vary the fleet (more projects, a provisioning cluster): extend [`FleetOptions`] and the
//! stand-in options built in [`PaletteLab::start`].

use std::path::{Path, PathBuf};

use kube::config::Kubeconfig;

use super::standin::{self, StandIn, StandInCluster, StandInGateway, StandInOptions};
use crate::lab::{Lab, LabError, LabHandle, LabOptions, Timing};

/// The practice project's name.
pub const PROJECT: &str = "Default";
/// What a healthy cluster is seeded with.
pub const HEALTHY: &str = crate::lab::EMPTY;

/// How to start a fleet.
#[derive(Debug, Clone, Default)]
pub struct FleetOptions {
    /// How many practice clusters.
    pub clusters: usize,
    /// The stand-in's port on 127.0.0.1 (0 picks a free one).
    pub port: u16,
    pub timing: Timing,
}

/// One practice cluster of the fleet.
pub struct Member {
    pub name: String,
    pub uid: String,
    /// The lab scenario it is seeded with ([`HEALTHY`] for none).
    pub scenario: String,
    pub lab: LabHandle,
    /// Its kubeconfig (as the stand-in hands it out).
    pub kubeconfig: Kubeconfig,
}

/// A running fleet and its stand-in.
pub struct PaletteLab {
    pub standin: StandIn,
    pub members: Vec<Member>,
    key: super::ApiKey,
    dir: tempfile::TempDir,
}

/// Why a fleet could not start.
#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error(transparent)]
    Lab(#[from] LabError),
    #[error("cannot start the Palette stand-in on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--clusters must be at least 1")]
    NoClusters,
    #[error("the practice cluster's kubeconfig: {0}")]
    Kubeconfig(String),
}

/// The scenarios the fleet cycles through: every lab scenario, then a healthy cluster.
pub fn rotation() -> Result<Vec<String>, LabError> {
    let mut ids: Vec<String> = crate::lab::scenario::list()?
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    ids.push(HEALTHY.to_owned());
    Ok(ids)
}

/// A kubeconfig for one cluster at `server`, its context named after the cluster, with a
/// bearer token when given.
pub fn kubeconfig_for(name: &str, server: &str, token: Option<&str>) -> String {
    let user = token.map_or_else(|| " {}".to_owned(), |t| format!("\n    token: {t}"));
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: {name}\n  cluster:\n    server: {server}\ncontexts:\n- name: {name}\n  context:\n    cluster: {name}\n    user: {name}-admin\n    namespace: default\ncurrent-context: {name}\nusers:\n- name: {name}-admin\n  user:{user}\npreferences: {{}}\n"
    )
}

/// A practice cluster's own kubeconfig (its HTTPS URL, CA and token) with its context named
/// after the cluster, as Palette hands one out.
pub fn kubeconfig_of(lab: &LabHandle, name: &str) -> Result<String, FleetError> {
    let own = Kubeconfig::read_from(lab.kubeconfig_path())
        .map_err(|e| FleetError::Kubeconfig(e.to_string()))?;
    serde_yaml::to_string(&renamed(&own, name)).map_err(|e| FleetError::Kubeconfig(e.to_string()))
}

/// The current context of `kubeconfig` (its cluster and user) under new names: cluster and
/// context `name`, user `<name>-admin`.
pub fn renamed(kubeconfig: &Kubeconfig, name: &str) -> Kubeconfig {
    let current = kubeconfig.current_context.clone().unwrap_or_default();
    let mut context = kubeconfig
        .contexts
        .iter()
        .find(|c| c.name == current)
        .cloned()
        .unwrap_or_default();
    let inner = context.context.clone().unwrap_or_default();
    let mut cluster = kubeconfig
        .clusters
        .iter()
        .find(|c| c.name == inner.cluster)
        .cloned()
        .unwrap_or_default();
    let mut user = kubeconfig
        .auth_infos
        .iter()
        .find(|u| Some(&u.name) == inner.user.as_ref())
        .cloned()
        .unwrap_or_default();
    let user_name = format!("{name}-admin");
    name.clone_into(&mut cluster.name);
    user.name.clone_from(&user_name);
    name.clone_into(&mut context.name);
    context.context = Some(kube::config::Context {
        cluster: name.to_owned(),
        user: Some(user_name),
        ..inner
    });
    Kubeconfig {
        clusters: vec![cluster],
        auth_infos: vec![user],
        contexts: vec![context],
        current_context: Some(name.to_owned()),
        api_version: Some("v1".to_owned()),
        kind: Some("Config".to_owned()),
        ..Kubeconfig::default()
    }
}

/// One kubeconfig holding the contexts of several (name, server, token, CA certificate PEM).
pub fn merged_kubeconfig(entries: &[(&str, &str, &str, Option<&str>)]) -> String {
    use base64::Engine as _;
    use std::fmt::Write as _;
    let mut clusters = String::new();
    let mut contexts = String::new();
    let mut users = String::new();
    for (name, server, token, ca) in entries {
        let _ = write!(
            clusters,
            "- name: {name}\n  cluster:\n    server: {server}\n"
        );
        if let Some(ca) = ca {
            let data = base64::engine::general_purpose::STANDARD.encode(ca);
            let _ = writeln!(clusters, "    certificate-authority-data: {data}");
        }
        let _ = write!(
            contexts,
            "- name: {name}\n  context:\n    cluster: {name}\n    user: {name}-admin\n    namespace: default\n"
        );
        let _ = write!(users, "- name: {name}-admin\n  user:\n    token: {token}\n");
    }
    let current = entries.first().map_or("", |e| e.0);
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n{clusters}contexts:\n{contexts}current-context: {current}\nusers:\n{users}preferences: {{}}\n"
    )
}

fn secret() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

impl PaletteLab {
    /// Starts the clusters and the stand-in on the current tokio runtime.
    pub async fn start(options: FleetOptions) -> Result<Self, FleetError> {
        if options.clusters == 0 {
            return Err(FleetError::NoClusters);
        }
        let rotation = rotation()?;
        let project_uid = standin::uid(0x5043_0001, 1);
        let mut members = Vec::with_capacity(options.clusters);
        let mut clusters = Vec::with_capacity(options.clusters);
        let width = options.clusters.to_string().len().max(2);
        for i in 0..options.clusters {
            let scenario = rotation[i % rotation.len()].clone();
            let lab = Lab::start(LabOptions {
                scenario: Some(scenario.clone()),
                timing: options.timing,
                ..LabOptions::default()
            })
            .await?;
            let name = format!("practice-{:0width$}", i + 1);
            let uid = standin::uid(0x5043_0002, i + 1);
            let own = Kubeconfig::read_from(lab.kubeconfig_path())
                .map_err(|e| FleetError::Kubeconfig(e.to_string()))?;
            let kubeconfig = renamed(&own, &name);
            let text = serde_yaml::to_string(&kubeconfig)
                .map_err(|e| FleetError::Kubeconfig(e.to_string()))?;
            clusters.push(StandInCluster {
                name: name.clone(),
                uid: uid.clone(),
                project_uid: project_uid.clone(),
                cloud: if i % 2 == 0 { "edge-native" } else { "vsphere" }.to_owned(),
                state: "Running".to_owned(),
                health: Some(
                    if scenario == HEALTHY {
                        "Healthy"
                    } else {
                        "UnHealthy"
                    }
                    .to_owned(),
                ),
                kubernetes: "1.32.4".to_owned(),
                kubeconfig: Some(text),
                labels: vec![("runbook.scenario".to_owned(), scenario.replace('/', "."))],
            });
            members.push(Member {
                name,
                uid,
                scenario,
                lab,
                kubeconfig,
            });
        }
        let key = secret();
        let standin = StandIn::start(StandInOptions {
            port: options.port,
            key: key.clone(),
            projects: vec![(project_uid, PROJECT.to_owned())],
            clusters,
            gateways: vec![StandInGateway {
                name: "pcg-practice".to_owned(),
                uid: standin::uid(0x5043_0003, 1),
                state: "Running".to_owned(),
                healthy: true,
            }],
            ..StandInOptions::default()
        })
        .await
        .map_err(|source| FleetError::Bind {
            port: options.port,
            source,
        })?;
        let dir = crate::cluster::private_dir().map_err(|source| FleetError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        let lab = Self {
            standin,
            members,
            key: super::ApiKey::new(&key)
                .ok_or_else(|| FleetError::Kubeconfig("no practice key".to_owned()))?,
            dir,
        };
        Self::write(&lab.env_path(), lab.env_text().as_bytes())?;
        Self::write(&lab.kubeconfig_path(), lab.kubeconfig_text()?.as_bytes())?;
        Ok(lab)
    }

    fn write(path: &Path, bytes: &[u8]) -> Result<(), FleetError> {
        crate::atomic::write_private(path, bytes).map_err(|source| FleetError::Write {
            path: path.to_owned(),
            source,
        })
    }

    /// The stand-in's URL (`PALETTE_HOST`).
    pub fn url(&self) -> String {
        self.standin.url()
    }

    /// The practice key (`PALETTE_API_KEY`).
    pub fn key(&self) -> &super::ApiKey {
        &self.key
    }

    /// `PALETTE_HOST=...` and `PALETTE_API_KEY=...` lines.
    pub fn env_text(&self) -> String {
        format!(
            "PALETTE_HOST={}\nPALETTE_API_KEY={}\n",
            self.url(),
            self.key.expose()
        )
    }

    /// The fleet's folder (its `palette.env` and merged `kubeconfig`).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// `palette.env` in the fleet's folder (mode 0600).
    pub fn env_path(&self) -> PathBuf {
        self.dir.path().join("palette.env")
    }

    /// The merged kubeconfig in the fleet's folder: one context per cluster.
    pub fn kubeconfig_path(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn kubeconfig_text(&self) -> Result<String, FleetError> {
        let mut merged = Kubeconfig::default();
        for m in &self.members {
            merged = merged
                .merge(m.kubeconfig.clone())
                .map_err(|e| FleetError::Kubeconfig(e.to_string()))?;
        }
        serde_yaml::to_string(&merged).map_err(|e| FleetError::Kubeconfig(e.to_string()))
    }

    /// Writes the env lines to `path` too (mode 0600, atomically).
    pub fn write_env(&self, path: &Path) -> Result<(), FleetError> {
        Self::write(path, self.env_text().as_bytes())
    }

    /// Stops the stand-in and every cluster.
    pub fn shutdown(self) {
        self.standin.shutdown();
        for m in self.members {
            m.lab.shutdown();
        }
    }
}
