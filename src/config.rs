//! The user's config file (TOML, in the platform's config folder; `runbook config --path`
//! prints where). Every key is optional:
//!
//! ```toml
//! paths = ["~/runbooks"]          # extra runbook files or folders, after the bundled ones
//! mode = "read-only"              # confirm | read-only | dry-run
//! sources = ["https://example.com/runbooks/index.txt"]  # `runbook fetch` with no URL
//! ca_cert = "~/ca.pem"            # extra CA (PEM) trusted by `runbook fetch`
//! fetch_max_bytes = 4194304       # largest body `runbook fetch` accepts
//! fetch_max_index_entries = 500   # most entries of one index `runbook fetch` follows
//! [theme]
//! color = false                   # like NO_COLOR
//! ascii = true                    # ASCII glyphs
//! session_output_limit = 16777216 # bytes of output a session keeps per step (head + tail)
//! [keys]
//! enter = ["enter", "r"]          # command name = keys (see `?` in the app for the names)
//! [contexts."prod-*"]             # guard rails per kube context (a name or a glob)
//! guard = "confirm-name"          # normal | read-only | dry-run | confirm-name
//! [ssh]                           # steps marked `target=nodes`, run on every node
//! nodes = ["10.0.0.5", "ops@10.0.0.6:2222"]  # default: the cluster's nodes' InternalIPs
//! user = "spectro"                # ssh -l
//! identity = "~/.ssh/palette"     # ssh -i
//! jump = "bastion.example.com"    # ssh -J
//! port = 22                       # ssh -p
//! options = ["StrictHostKeyChecking=accept-new"]  # ssh -o, each
//! parallel = 8                    # nodes reached at once
//! max_skew = 2.0                  # seconds of clock offset flagged as skew
//! [palette]                       # the Palette API (see `runbook palette --help`)
//! host = "https://api.spectrocloud.com"  # or PALETTE_HOST / SPECTROCLOUD_HOST
//! api_key_file = "~/.config/runbook/palette.key"  # mode 0600; or PALETTE_API_KEY
//! project = "Default"             # name or uid; none: every project the key sees
//! [fleet]                         # `runbook diagnose --fleet`
//! parallel = 16                   # clusters diagnosed at once
//! cluster_timeout = "60s"         # one cluster's limit
//! ```
//!
//! To add a setting: add a field with `#[serde(default)]` here, a row in [`KEYS`] (what
//! `runbook config` lists; a test fails until it is there), and read it where it applies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::action::Command;

/// The Palette settings from the process's environment, the user's config file (its
/// `[palette]` table and `ca_cert`) and the command line's `overrides`.
pub fn palette_settings(
    overrides: &crate::palette::config::Overrides,
) -> Result<crate::palette::Settings, crate::palette::PaletteError> {
    let config = Config::load(path().as_deref())
        .map_err(|e| crate::palette::PaletteError::Config(e.to_string()))?;
    crate::palette::Settings::resolve(
        &|name| std::env::var(name).ok(),
        &config.palette,
        config.ca_cert.as_deref(),
        overrides,
    )
}

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
    /// The most entries of one index file `runbook fetch` follows (default 500).
    #[serde(default)]
    pub fetch_max_index_entries: Option<usize>,
    #[serde(default)]
    pub theme: ThemeConfig,
    #[serde(default)]
    pub keys: BTreeMap<Command, Vec<String>>,
    /// Bytes of output a session keeps per step (head and tail); 16 MiB when unset.
    #[serde(default)]
    pub session_output_limit: Option<u64>,
    /// Guard rails per kube context, by name or glob.
    #[serde(default)]
    pub contexts: BTreeMap<String, crate::cluster::guard::ContextRule>,
    #[serde(default)]
    pub ssh: SshConfig,
    #[serde(default)]
    pub palette: crate::palette::PaletteConfig,
    #[serde(default)]
    pub fleet: crate::diagnose::fleet::FleetConfig,
}

/// `[ssh]`: how `target=nodes` steps reach the nodes. Your own `ssh` runs them, so your ssh
/// config, agent and known hosts apply; these add to them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SshConfig {
    /// Node addresses (`host`, `user@host`, `user@host:port`); default: the cluster's nodes'
    /// `InternalIP` addresses. `--node` on the command line replaces this list.
    #[serde(default)]
    pub nodes: Vec<String>,
    /// Login user (`ssh -l`), unless the address names one.
    pub user: Option<String>,
    /// Private key (`ssh -i`); `~` is your home folder.
    pub identity: Option<PathBuf>,
    /// Jump host (`ssh -J`).
    pub jump: Option<String>,
    /// Port (`ssh -p`), unless the address names one.
    pub port: Option<u16>,
    /// Extra ssh options, each passed as `-o VALUE`.
    #[serde(default)]
    pub options: Vec<String>,
    /// How many nodes are reached at once (default 8).
    pub parallel: Option<usize>,
    /// Clock offset from the median node, in seconds, flagged as skew (default 2).
    pub max_skew: Option<f64>,
}

impl SshConfig {
    /// The engine's node options: `cli_nodes` (from `--node`) replace the configured list; an
    /// empty list means the cluster's nodes.
    pub fn node_options(
        &self,
        cli_nodes: &[String],
    ) -> Result<crate::exec::nodes::NodeOptions, String> {
        use crate::exec::nodes::{Node, NodeOptions, Source, Ssh};
        let list = if cli_nodes.is_empty() {
            &self.nodes
        } else {
            cli_nodes
        };
        let nodes = list
            .iter()
            .map(|a| Node::parse(a))
            .collect::<Result<Vec<_>, _>>()?;
        let defaults = Ssh::default();
        Ok(NodeOptions {
            source: if nodes.is_empty() {
                Source::Cluster
            } else {
                Source::List(nodes)
            },
            ssh: Ssh {
                user: self.user.clone(),
                identity: self.identity.clone(),
                jump: self.jump.clone(),
                port: self.port,
                options: self.options.clone(),
                parallel: self.parallel.unwrap_or(defaults.parallel).max(1),
                max_skew: self
                    .max_skew
                    .filter(|s| s.is_finite() && *s >= 0.0)
                    .unwrap_or(defaults.max_skew),
                ..defaults
            },
        })
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThemeConfig {
    pub color: Option<bool>,
    pub ascii: Option<bool>,
}

/// Every key of the file, as `runbook config` lists it: `(key, default, meaning)`. The
/// `[keys]` table is listed from the keymap itself ([`listing`]).
pub const KEYS: &[(&str, &str, &str)] = &[
    (
        "paths",
        "[]",
        "extra runbook files or folders, after the bundled ones",
    ),
    (
        "mode",
        "\"confirm\"",
        "starting mode: confirm | read-only | dry-run",
    ),
    (
        "sources",
        "[]",
        "runbook or index URLs that `runbook fetch` with no URL refreshes",
    ),
    (
        "ca_cert",
        "none",
        "extra CA (PEM) trusted by `runbook fetch`",
    ),
    (
        "fetch_max_bytes",
        "4194304",
        "largest body `runbook fetch` accepts, in bytes",
    ),
    (
        "fetch_max_index_entries",
        "500",
        "most entries of one index file `runbook fetch` follows",
    ),
    (
        "session_output_limit",
        "16777216",
        "bytes of output a session keeps per step (head + tail)",
    ),
    (
        "theme.color",
        "true",
        "colours; false is like NO_COLOR or --no-color",
    ),
    (
        "theme.ascii",
        "false",
        "ASCII glyphs and borders only, like --ascii",
    ),
    (
        "contexts.\"NAME-OR-GLOB\".guard",
        "\"normal\"",
        "normal | read-only | dry-run | confirm-name for matching kube contexts",
    ),
    (
        "ssh.nodes",
        "the cluster's nodes",
        "addresses for `target=nodes` steps (host, user@host:port)",
    ),
    ("ssh.user", "none", "login user (ssh -l)"),
    ("ssh.identity", "none", "private key (ssh -i)"),
    ("ssh.jump", "none", "jump host (ssh -J)"),
    ("ssh.port", "22", "port (ssh -p)"),
    (
        "ssh.options",
        "[]",
        "extra ssh options, each passed as -o VALUE",
    ),
    ("ssh.parallel", "8", "nodes reached at once"),
    (
        "ssh.max_skew",
        "2.0",
        "seconds of clock offset from the median node flagged as skew",
    ),
    (
        "palette.host",
        "PALETTE_HOST or SPECTROCLOUD_HOST",
        "the Palette API endpoint",
    ),
    (
        "palette.api_key_file",
        "PALETTE_API_KEY",
        "file holding the API key (mode 0600)",
    ),
    (
        "palette.project",
        "every project the key sees",
        "project name or uid",
    ),
    (
        "palette.ca_cert",
        "none",
        "extra CA (PEM) for a self-hosted Palette",
    ),
    (
        "fleet.parallel",
        "16",
        "clusters `runbook diagnose --fleet` diagnoses at once",
    ),
    (
        "fleet.cluster_timeout",
        "\"60s\"",
        "one cluster's time limit in a fleet diagnosis",
    ),
];

/// What `runbook config` prints after the file: every key with its default and meaning, the
/// `[keys]` table from the keymap (command name, default keys, what it does).
pub fn listing() -> String {
    use std::fmt::Write as _;
    let width = KEYS.iter().map(|(k, _, _)| k.len()).max().unwrap_or(0);
    let mut out = String::from("# every key (default: meaning):\n");
    for (key, default, meaning) in KEYS {
        let _ = writeln!(out, "#   {key:width$}  (default {default}): {meaning}");
    }
    out.push_str("# [keys]: command = [\"key\", ...] (default keys: what it does):\n");
    let keymap = crate::action::Keymap::default();
    for (command, _) in crate::action::DEFAULT_BINDINGS {
        let name = serde_json::to_value(command)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "#   keys.{name:18}  ({}): {}",
            keymap.first_key(*command),
            command.describe()
        );
    }
    out
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
        for p in config
            .paths
            .iter_mut()
            .chain(config.ca_cert.as_mut())
            .chain(config.ssh.identity.as_mut())
            .chain(config.palette.api_key_file.as_mut())
            .chain(config.palette.ca_cert.as_mut())
        {
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

    /// The names serde expects where `text` puts an unknown one (its "expected one of" list).
    fn expected_names(text: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("config.toml");
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
        let Err(error) = Config::load(Some(&file)) else {
            panic!("`{text}` was accepted")
        };
        let message = error.to_string();
        let Some((_, list)) = message.split_once("expected") else {
            panic!("{message}")
        };
        let names: Vec<String> = list
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        assert!(!names.is_empty(), "{message}");
        names
    }

    #[test]
    fn the_listing_names_every_key_the_file_accepts_with_a_default() {
        let listing = listing();
        for (prefix, text) in [
            ("", "zz_unknown = 1\n"),
            ("theme.", "[theme]\nzz_unknown = 1\n"),
            ("ssh.", "[ssh]\nzz_unknown = 1\n"),
            ("palette.", "[palette]\nzz_unknown = 1\n"),
            ("fleet.", "[fleet]\nzz_unknown = 1\n"),
            (
                "contexts.\"NAME-OR-GLOB\".",
                "[contexts.\"x\"]\nzz_unknown = 1\n",
            ),
            ("keys.", "[keys]\nzz_unknown = [\"a\"]\n"),
        ] {
            for name in expected_names(text) {
                let key = format!("{prefix}{name}");
                // A table (theme, ssh, ...) is listed by its keys.
                let listed = listing.lines().any(|l| {
                    l.trim_start_matches('#')
                        .trim_start()
                        .starts_with(&format!("{key} "))
                }) || listing.contains(&format!("#   {key}."));
                assert!(listed, "`{key}` is not listed:\n{listing}");
            }
        }
        for line in listing.lines().filter(|l| l.starts_with("#   ")) {
            assert!(line.contains('(') && line.contains("): "), "{line}");
        }
    }

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

    #[test]
    fn ssh_section_and_node_flags() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("config.toml");
        std::fs::write(
            &file,
            "[ssh]\nnodes = [\"10.0.0.5\", \"ops@10.0.0.6:2222\"]\nuser = \"spectro\"\njump = \"bastion\"\noptions = [\"StrictHostKeyChecking=yes\"]\nparallel = 3\nmax_skew = 5\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let c = Config::load(Some(&file)).unwrap_or_else(|e| panic!("{e}"));
        let o = c.ssh.node_options(&[]).unwrap_or_else(|e| panic!("{e}"));
        let crate::exec::nodes::Source::List(list) = &o.source else {
            panic!("{:?}", o.source)
        };
        assert_eq!(list[1].address(), "ops@10.0.0.6:2222");
        assert_eq!((o.ssh.parallel, o.ssh.max_skew), (3, 5.0));
        assert_eq!(o.ssh.jump.as_deref(), Some("bastion"));
        // --node replaces the list; no list at all means the cluster's nodes.
        let o = c
            .ssh
            .node_options(&["n9".to_owned()])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(&o.source, crate::exec::nodes::Source::List(l) if l[0].host == "n9"));
        let none = SshConfig::default()
            .node_options(&[])
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(none.source, crate::exec::nodes::Source::Cluster);
        assert!(
            SshConfig::default()
                .node_options(&["a b".to_owned()])
                .is_err()
        );
        std::fs::write(&file, "[ssh]\nnode = []\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(Config::load(Some(&file)).is_err(), "a typo is an error");
    }
}
