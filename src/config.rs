//! The user's config file (TOML, in the platform's config folder; `runbook config --path`
//! prints where). Every key is optional:
//!
//! ```toml
//! paths = ["~/runbooks"]          # extra runbook files or folders, after the bundled ones
//! mode = "read-only"              # confirm | read-only | dry-run
//! [theme]
//! color = false                   # like NO_COLOR
//! ascii = true                    # ASCII glyphs
//! session_output_limit = 16777216 # bytes of output a session keeps per step (head + tail)
//! [keys]
//! enter = ["enter", "r"]          # command name = keys (see `?` in the app for the names)
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
    #[serde(default)]
    pub theme: ThemeConfig,
    #[serde(default)]
    pub keys: BTreeMap<Command, Vec<String>>,
    /// Bytes of output a session keeps per step (head and tail); 16 MiB when unset.
    #[serde(default)]
    pub session_output_limit: Option<u64>,
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
        for p in &mut config.paths {
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
        std::fs::write(&file, "paths = [\"/srv/rb\"]\nmode = \"dry-run\"\n[theme]\nascii = true\n[keys]\nenter = [\"r\"]\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let c = Config::load(Some(&file)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.paths, [PathBuf::from("/srv/rb")]);
        assert_eq!(c.theme.ascii, Some(true));
        assert_eq!(c.keys[&Command::Enter], ["r"]);
        std::fs::write(&file, "[theme]\ncolour = false\n").unwrap_or_else(|e| panic!("{e}"));
        let err = Config::load(Some(&file))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.contains("colour"), "{err}");
        assert!(Config::load(Some(&dir.path().join("missing.toml"))).is_ok());
    }
}
