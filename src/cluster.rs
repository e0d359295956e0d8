//! Which cluster the commands talk to.
//!
//! The user's kubeconfig (the files in `KUBECONFIG`, merged, or `~/.kube/config`) is read with
//! kube-rs and never written. The chosen context is *pinned*: a minimal kubeconfig holding only
//! that context, its cluster and its user is written to a private folder, and every command
//! runs with `KUBECONFIG` pointing at it. `kubectl` in a step then talks to the cluster shown in
//! the status bar, whatever the user's `current-context` says or becomes meanwhile.
//!
//! - [`health`]: is the pinned cluster reachable, which version, who are we, how slow; or why
//!   not, in words.
//! - [`guard`]: per-context guard rails from the config (read-only, confirm by typing the name).
//! - [`pick`]: live lists of namespaces, nodes, pods, ... for placeholder prompts.

pub mod guard;
pub mod health;
pub mod pick;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube::config::{KubeConfigOptions, Kubeconfig, NamedContext};

/// How long connecting may take before the cluster counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one answer may take.
pub const READ_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("no kubeconfig: {0}")]
    NoKubeconfig(String),
    #[error("cannot read the kubeconfig: {0}")]
    Invalid(String),
    #[error("the kubeconfig has no current context; pick one with --context ({0})")]
    NoCurrentContext(String),
    #[error("no context `{name}` in the kubeconfig; it has: {available}")]
    UnknownContext { name: String, available: String },
    #[error("cannot write the pinned kubeconfig {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// One context of the user's kubeconfig, as the picker shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextEntry {
    pub name: String,
    pub cluster: String,
    pub server: String,
    pub user: String,
    pub namespace: Option<String>,
    /// The kubeconfig's `current-context`.
    pub current: bool,
}

/// The user's kubeconfig, read once.
#[derive(Debug, Clone)]
pub struct Source {
    pub kubeconfig: Kubeconfig,
    /// Where it came from, for messages.
    pub origin: String,
}

impl Source {
    /// `KUBECONFIG` (every file, merged as kubectl does) or `~/.kube/config`.
    pub fn load() -> Result<Self, ClusterError> {
        if let Some(value) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
            let paths: Vec<PathBuf> = std::env::split_paths(&value).collect();
            Self::from_paths(&paths, &value.to_string_lossy())
        } else {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let path = home.map(|h| h.join(".kube").join("config"));
            match path {
                Some(path) if path.exists() => Self::from_file(&path),
                Some(path) => Err(ClusterError::NoKubeconfig(format!(
                    "KUBECONFIG is not set and {} does not exist",
                    path.display()
                ))),
                None => Err(ClusterError::NoKubeconfig(
                    "KUBECONFIG is not set and there is no home folder".to_owned(),
                )),
            }
        }
    }

    /// The files of a `KUBECONFIG` list, merged as kubectl merges them (the first file to set
    /// a value wins); files that do not exist are skipped, unless none exists.
    pub fn from_paths(paths: &[PathBuf], origin: &str) -> Result<Self, ClusterError> {
        let existing: Vec<&PathBuf> = paths
            .iter()
            .filter(|p| !p.as_os_str().is_empty() && p.exists())
            .collect();
        if existing.is_empty() {
            return Err(ClusterError::NoKubeconfig(format!(
                "none of the files in KUBECONFIG exists ({origin})"
            )));
        }
        let mut merged = Kubeconfig::default();
        for path in existing {
            let next = Kubeconfig::read_from(path)
                .map_err(|e| ClusterError::Invalid(format!("{}: {}", path.display(), plain(&e))))?;
            merged = merged
                .merge(next)
                .map_err(|e| ClusterError::Invalid(plain(&e)))?;
        }
        Ok(Self {
            kubeconfig: merged,
            origin: origin.to_owned(),
        })
    }

    /// One kubeconfig file (the practice cluster's).
    pub fn from_file(path: &Path) -> Result<Self, ClusterError> {
        let kubeconfig = Kubeconfig::read_from(path)
            .map_err(|e| ClusterError::Invalid(format!("{}: {}", path.display(), plain(&e))))?;
        Ok(Self {
            kubeconfig,
            origin: path.display().to_string(),
        })
    }

    /// Every context, in the file's order.
    pub fn contexts(&self) -> Vec<ContextEntry> {
        let kc = &self.kubeconfig;
        kc.contexts
            .iter()
            .map(|c| {
                let ctx = c.context.clone().unwrap_or_default();
                let server = kc
                    .clusters
                    .iter()
                    .find(|x| x.name == ctx.cluster)
                    .and_then(|x| x.cluster.as_ref())
                    .and_then(|x| x.server.clone())
                    .unwrap_or_default();
                ContextEntry {
                    name: c.name.clone(),
                    cluster: ctx.cluster.clone(),
                    server,
                    user: ctx.user.clone().unwrap_or_default(),
                    namespace: ctx.namespace.clone(),
                    current: kc.current_context.as_deref() == Some(c.name.as_str()),
                }
            })
            .collect()
    }

    /// The context to use: the one asked for, else the kubeconfig's current one.
    pub fn resolve(&self, wanted: Option<&str>) -> Result<ContextEntry, ClusterError> {
        let contexts = self.contexts();
        let available = || {
            let names: Vec<&str> = contexts.iter().map(|c| c.name.as_str()).collect();
            if names.is_empty() {
                "no contexts at all".to_owned()
            } else {
                names.join(", ")
            }
        };
        let name = match wanted {
            Some(n) => n.to_owned(),
            None => self
                .kubeconfig
                .current_context
                .clone()
                .filter(|c| !c.is_empty())
                .ok_or_else(|| ClusterError::NoCurrentContext(available()))?,
        };
        contexts
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| ClusterError::UnknownContext {
                name,
                available: available(),
            })
    }

    /// Writes the minimal kubeconfig for `context` (with `namespace` as its default namespace
    /// when given) into `dir`, readable by the user only.
    pub fn pin(
        &self,
        context: Option<&str>,
        namespace: Option<&str>,
        dir: &Path,
    ) -> Result<Pinned, ClusterError> {
        let entry = self.resolve(context)?;
        let kc = &self.kubeconfig;
        let mut named: NamedContext = kc
            .contexts
            .iter()
            .find(|c| c.name == entry.name)
            .cloned()
            .unwrap_or_default();
        if let (Some(ns), Some(ctx)) = (namespace, named.context.as_mut()) {
            ctx.namespace = Some(ns.to_owned());
        }
        let minimal = Kubeconfig {
            clusters: kc
                .clusters
                .iter()
                .filter(|c| c.name == entry.cluster)
                .cloned()
                .collect(),
            auth_infos: kc
                .auth_infos
                .iter()
                .filter(|u| u.name == entry.user)
                .cloned()
                .collect(),
            contexts: vec![named],
            current_context: Some(entry.name.clone()),
            api_version: Some("v1".to_owned()),
            kind: Some("Config".to_owned()),
            preferences: kc.preferences.clone(),
            ..Kubeconfig::default()
        };
        let text =
            serde_yaml::to_string(&minimal).map_err(|e| ClusterError::Invalid(e.to_string()))?;
        let path = dir.join(format!("kubeconfig-{}", file_safe(&entry.name)));
        crate::atomic::write_private(&path, text.as_bytes()).map_err(|source| {
            ClusterError::Write {
                path: path.clone(),
                source,
            }
        })?;
        Ok(Pinned {
            namespace: namespace
                .map(str::to_owned)
                .or_else(|| entry.namespace.clone())
                .unwrap_or_else(|| "default".to_owned()),
            entry,
            path,
            kubeconfig: minimal,
        })
    }
}

/// A context pinned in a kubeconfig of its own.
#[derive(Debug, Clone)]
pub struct Pinned {
    pub entry: ContextEntry,
    /// The namespace commands default to.
    pub namespace: String,
    /// The generated kubeconfig: `KUBECONFIG` for every command.
    pub path: PathBuf,
    pub kubeconfig: Kubeconfig,
}

impl Pinned {
    /// `KUBECONFIG=<pinned file>`, for the commands' environment.
    pub fn env(&self) -> (String, String) {
        ("KUBECONFIG".to_owned(), self.path.display().to_string())
    }

    /// A kube-rs client for the pinned context, with bounded connect and read times.
    pub async fn client(&self) -> Result<kube::Client, String> {
        let mut config = kube::Config::from_custom_kubeconfig(
            self.kubeconfig.clone(),
            &KubeConfigOptions::default(),
        )
        .await
        .map_err(|e| format!("cannot use context `{}`: {}", self.entry.name, plain(&e)))?;
        config.connect_timeout = Some(CONNECT_TIMEOUT);
        config.read_timeout = Some(READ_TIMEOUT);
        config.write_timeout = Some(READ_TIMEOUT);
        kube::Client::try_from(config).map_err(|e| health::explain(&e, &self.entry.server))
    }
}

/// What a session holds: the user's kubeconfig, the pinned context, its folder and the
/// config's guard rails. Without a kubeconfig it holds the reason, and commands run with the
/// environment as it is.
#[derive(Debug)]
pub struct Workspace {
    source: Option<Source>,
    /// Why there is no pinned context.
    pub problem: Option<String>,
    pinned: Option<Pinned>,
    rules: std::collections::BTreeMap<String, guard::ContextRule>,
    dir: tempfile::TempDir,
}

impl Workspace {
    /// Reads the kubeconfig (`kubeconfig` when given, e.g. the practice cluster's) and pins
    /// `context` (default: the current one). A context asked for by name that does not exist
    /// is an error; a missing kubeconfig is not (the workspace says why it has no context).
    pub fn open(
        kubeconfig: Option<&Path>,
        context: Option<&str>,
        namespace: Option<&str>,
        rules: std::collections::BTreeMap<String, guard::ContextRule>,
    ) -> Result<Self, ClusterError> {
        let dir = private_dir().map_err(|source| ClusterError::Write {
            path: std::env::temp_dir(),
            source,
        })?;
        let source = match kubeconfig {
            Some(path) => Source::from_file(path),
            None => Source::load(),
        };
        let mut ws = Self {
            source: None,
            problem: None,
            pinned: None,
            rules,
            dir,
        };
        match source {
            Ok(source) => {
                match source.pin(context, namespace, ws.dir.path()) {
                    Ok(pinned) => ws.pinned = Some(pinned),
                    Err(e) if context.is_some() => return Err(e),
                    Err(e) => ws.problem = Some(e.to_string()),
                }
                ws.source = Some(source);
            }
            Err(e) if context.is_some() => return Err(e),
            Err(e) => ws.problem = Some(e.to_string()),
        }
        Ok(ws)
    }

    /// The same rules over another kubeconfig (a step pointed `KUBECONFIG` at it): its
    /// current context pinned, or an error saying why it cannot be.
    pub fn follow(&self, kubeconfig: Option<&Path>) -> Result<Self, ClusterError> {
        let ws = Self::open(kubeconfig, None, None, self.rules.clone())?;
        match ws.problem {
            Some(p) if ws.pinned.is_none() => Err(ClusterError::Invalid(p)),
            _ => Ok(ws),
        }
    }

    /// Pins another context (or the same one with another namespace).
    pub fn switch(&mut self, context: &str, namespace: Option<&str>) -> Result<(), ClusterError> {
        let source = self
            .source
            .as_ref()
            .ok_or_else(|| ClusterError::Invalid(self.problem.clone().unwrap_or_default()))?;
        let pinned = source.pin(Some(context), namespace, self.dir.path())?;
        self.pinned = Some(pinned);
        self.problem = None;
        Ok(())
    }

    pub fn pinned(&self) -> Option<&Pinned> {
        self.pinned.as_ref()
    }

    /// The kubeconfig the contexts come from (the user's, merged, or the practice cluster's).
    pub fn kubeconfig(&self) -> Option<&Kubeconfig> {
        self.source.as_ref().map(|s| &s.kubeconfig)
    }

    pub fn contexts(&self) -> Vec<ContextEntry> {
        self.source
            .as_ref()
            .map(Source::contexts)
            .unwrap_or_default()
    }

    /// The guard rail of the pinned context.
    pub fn guard(&self) -> guard::Guard {
        self.pinned.as_ref().map_or(guard::Guard::Normal, |p| {
            guard::guard_for(&self.rules, &p.entry.name)
        })
    }

    /// `KUBECONFIG` for the commands, when a context is pinned.
    pub fn env(&self) -> Option<(String, String)> {
        self.pinned.as_ref().map(Pinned::env)
    }
}

/// A private folder for pinned kubeconfigs, removed when dropped.
pub fn private_dir() -> std::io::Result<tempfile::TempDir> {
    let dir = tempfile::Builder::new().prefix("runbook-ctx-").tempdir()?;
    set_mode(dir.path(), 0o700)?;
    Ok(dir)
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// An error and its causes on one line, without Debug noise.
pub fn plain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        let next = e.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = e.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "apiVersion: v1
kind: Config
current-context: lab
clusters:
- name: lab
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority: ca.crt
- name: prod
  cluster:
    server: https://prod.example:6443
users:
- name: trainee
  user:
    token: abc
- name: admin
  user:
    client-certificate: certs/admin.crt
    client-key: certs/admin.key
contexts:
- name: lab
  context:
    cluster: lab
    user: trainee
- name: prod-east
  context:
    cluster: prod
    user: admin
    namespace: palette-system
";

    fn source(dir: &Path) -> Source {
        let file = dir.join("config");
        std::fs::write(&file, TWO).unwrap_or_else(|e| panic!("{e}"));
        Source::from_file(&file).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn lists_contexts_with_their_servers_and_the_current_one() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let contexts = source(dir.path()).contexts();
        assert_eq!(contexts.len(), 2);
        assert!(contexts[0].current && contexts[0].server == "https://127.0.0.1:6443");
        assert_eq!(contexts[1].namespace.as_deref(), Some("palette-system"));
        assert!(!contexts[1].current);
    }

    #[test]
    fn pins_only_the_chosen_context_with_absolute_paths_and_private_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let src = source(dir.path());
        let out = private_dir().unwrap_or_else(|e| panic!("{e}"));
        let pinned = src
            .pin(Some("prod-east"), Some("kube-system"), out.path())
            .unwrap_or_else(|e| panic!("{e}"));
        let text = std::fs::read_to_string(&pinned.path).unwrap_or_else(|e| panic!("{e}"));
        let back = Kubeconfig::from_yaml(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.current_context.as_deref(), Some("prod-east"));
        assert_eq!(back.contexts.len(), 1);
        assert_eq!(back.clusters.len(), 1);
        assert_eq!(back.auth_infos.len(), 1);
        assert!(
            !text.contains("token: abc"),
            "the other user leaked:\n{text}"
        );
        let key = dir.path().join("certs/admin.key").display().to_string();
        assert!(text.contains(&key), "relative paths made absolute:\n{text}");
        assert_eq!(pinned.namespace, "kube-system");
        let mode = std::fs::metadata(&pinned.path)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default();
        assert_eq!(mode, 0o600);
        // The user's file is untouched.
        assert_eq!(
            std::fs::read_to_string(dir.path().join("config")).unwrap_or_default(),
            TWO
        );
    }

    #[test]
    fn several_files_merge_like_kubectl_and_missing_ones_are_skipped() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let first = dir.path().join("a");
        std::fs::write(&first, TWO).unwrap_or_else(|e| panic!("{e}"));
        let second = dir.path().join("b");
        std::fs::write(
            &second,
            "apiVersion: v1\nkind: Config\ncurrent-context: edge\nclusters:\n- name: edge\n  cluster:\n    server: https://edge:6443\nusers:\n- name: edge\n  user: {}\ncontexts:\n- name: edge\n  context:\n    cluster: edge\n    user: edge\n- name: lab\n  context:\n    cluster: edge\n    user: edge\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let paths = [dir.path().join("missing"), first, second];
        let src = Source::from_paths(&paths, "test").unwrap_or_else(|e| panic!("{e}"));
        let names: Vec<String> = src.contexts().into_iter().map(|c| c.name).collect();
        assert_eq!(names, ["lab", "prod-east", "edge"]);
        // The first file's current context and its `lab` win.
        let lab = src.resolve(None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(lab.name, "lab");
        assert_eq!(lab.server, "https://127.0.0.1:6443");
        assert!(Source::from_paths(&[dir.path().join("none")], "x").is_err());
    }

    #[test]
    fn unknown_context_names_the_ones_there_are() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let err = source(dir.path())
            .pin(Some("staging"), None, dir.path())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("staging") && err.contains("lab, prod-east"),
            "{err}"
        );
    }
}
