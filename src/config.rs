//! The user's config file (TOML, in the platform's config folder; `runbook config --path`
//! prints where). Every key is optional:
//!
//! ```toml
//! paths = ["~/runbooks"]          # extra runbook files or folders, after the bundled ones
//! mode = "read-only"              # confirm | read-only | dry-run
//! sources = ["https://example.com/runbooks/index.txt"]  # `runbook fetch` with no URL
//! ca_cert = "~/ca.pem"            # extra CA (PEM) trusted by `runbook fetch`
//! fetch_max_bytes = 4194304       # largest body `runbook fetch` accepts
//! [theme]
//! color = false                   # like NO_COLOR
//! ascii = true                    # ASCII glyphs
//! [keys]
//! enter = ["enter", "r"]          # command name = keys (see `?` in the app for the names)
//! [contexts."prod-*"]             # guard rails per kube context (a name or a glob)
//! guard = "confirm-name"          # normal | read-only | dry-run | confirm-name
//! ```
//!
//! To add a setting: add a field with `#[serde(default)]` here and read it where it applies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::action::Command;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    #[serde(default)]
    pub mode: Option<String>,
    /// URLs of runbooks or index files that `runbook fetch` without a URL refreshes.
    #[serde(default)]
    pub sources: Vec<String>,
    /// A PEM file of extra CA certificates `runbook fetch` trusts besides the system's (for a
    /// server with a private CA). Verification is never turned off.
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// The largest body `runbook fetch` accepts, in bytes (default 4 MiB).
    #[serde(default)]
    pub fetch_max_bytes: Option<u64>,
    #[serde(default)]
    pub theme: ThemeConfig,
    #[serde(default)]
    pub keys: BTreeMap<Command, Vec<String>>,
    /// Guard rails per kube context, by name or glob.
    #[serde(default)]
    pub contexts: BTreeMap<String, crate::cluster::guard::ContextRule>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeConfig {
    pub color: Option<bool>,
    pub ascii: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: cannot read: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `<config dir>/runbook/config.toml`, or `None` when the platform has no home folder.
pub fn path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "runbook").map(|d| d.config_dir().join("config.toml"))
}

impl Config {
    /// Reads the config; a missing file is the default config.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let Some(path) = path else {
            return Ok(Self::default());
        };
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(source) => {
                return Err(ConfigError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let mut config: Self = toml::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let home = std::env::var_os("HOME").map(PathBuf::from);
        for p in config.paths.iter_mut().chain(config.ca_cert.as_mut()) {
            if let (Ok(rest), Some(home)) = (p.strip_prefix("~"), &home) {
                *p = home.join(rest);
            }
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_section_and_rejects_typos() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("config.toml");
        std::fs::write(&file, "paths = [\"/srv/rb\"]\nmode = \"dry-run\"\nsources = [\"https://x.test/i.txt\"]\nca_cert = \"/etc/ca.pem\"\nfetch_max_bytes = 10\n[theme]\nascii = true\n[keys]\nenter = [\"r\"]\n[contexts.\"prod-*\"]\nguard = \"confirm-name\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let c = Config::load(Some(&file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.paths, [PathBuf::from("/srv/rb")]);
        assert_eq!(c.theme.ascii, Some(true));
        assert_eq!(c.sources, ["https://x.test/i.txt"]);
        assert_eq!(c.ca_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(c.fetch_max_bytes, Some(10));
        assert_eq!(c.keys[&Command::Enter], ["r"]);
        assert_eq!(
            crate::cluster::guard::guard_for(&c.contexts, "prod-east"),
            crate::cluster::guard::Guard::ConfirmName
        );
        std::fs::write(&file, "[theme]\ncolour = false\n").unwrap_or_else(|e| panic!("{e}"));
        let err = Config::load(Some(&file))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("colour"), "{err}");
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_ok());
    }
}
