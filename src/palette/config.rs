//! Where the Palette credentials, endpoint and project come from, and the API key as a type that
//! cannot leak by accident.
//!
//! - Key: `PALETTE_API_KEY`, else the Terraform provider's `SPECTROCLOUD_APIKEY`, else the file
//!   named by `[palette] api_key_file` (which must be readable by its owner only). There is no
//!   flag for it on purpose: a process argument is visible to every user of the machine.
//! - Endpoint: `PALETTE_HOST`, else `SPECTROCLOUD_HOST`, else `[palette] host`, else hosted Palette
//!   ([`DEFAULT_HOST`]). A bare host name means `https://`; plain `http://` is accepted only for
//!   a loopback address (the practice stand-in), so the key never crosses a network in clear.
//! - Project: `--project`, else `PALETTE_PROJECT`, else `[palette] project` (a name or a uid);
//!   none means tenant scope (every project the key can see).
//! - CA: `--ca-cert`, else `[palette] ca_cert`, else the top-level `ca_cert` (as `runbook fetch`).
//!
//! To add a setting: a field in [`PaletteConfig`] (the config's `[palette]` table), resolved in
//! [`Settings::resolve`], with its environment variable if it has one.

use std::path::{Path, PathBuf};

use reqwest::Url;
use serde::Deserialize;

use super::PaletteError;

/// Hosted Palette.
pub const DEFAULT_HOST: &str = "https://api.spectrocloud.com";
/// Environment variables for the key, in the order they are read.
pub const KEY_VARS: [&str; 2] = ["PALETTE_API_KEY", "SPECTROCLOUD_APIKEY"];
/// Environment variables for the endpoint, in the order they are read.
pub const HOST_VARS: [&str; 2] = ["PALETTE_HOST", "SPECTROCLOUD_HOST"];
/// Environment variable for the project (name or uid).
pub const PROJECT_VAR: &str = "PALETTE_PROJECT";

/// The config file's `[palette]` table.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PaletteConfig {
    /// API endpoint (`https://palette.example.com` or `api.spectrocloud.com`).
    pub host: Option<String>,
    /// A file holding the API key (mode 0600).
    pub api_key_file: Option<PathBuf>,
    /// Project name or uid; tenant scope when unset.
    pub project: Option<String>,
    /// Extra CA certificates (PEM) for a self-hosted Palette.
    pub ca_cert: Option<PathBuf>,
}

/// A Palette API key. It has no `Display` and no `Serialize`, and its `Debug` prints no part of
/// it; [`ApiKey::expose`] is called in one place, where the request header is built.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// A key as given; surrounding blanks (a file's last newline) are dropped.
    pub fn new(text: &str) -> Option<Self> {
        let key = text.trim();
        (!key.is_empty() && !key.contains(['\n', '\r'])).then(|| Self(key.to_owned()))
    }

    /// The key itself, for the `ApiKey` header and for nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// Everything a client needs, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `https://api.spectrocloud.com/` (always ends with `/`).
    pub host: Url,
    pub key: ApiKey,
    /// A project name or uid; None for tenant scope.
    pub project: Option<String>,
    pub ca_cert: Option<PathBuf>,
    /// Each request's limit.
    pub timeout: std::time::Duration,
}

/// What the command line adds.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub project: Option<String>,
    pub ca_cert: Option<PathBuf>,
    pub timeout: Option<std::time::Duration>,
}

/// Default limit for one request.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl Settings {
    /// Resolves the settings from `env` (a lookup, so tests need not change the process's
    /// environment), the config's `[palette]` table and the command line.
    pub fn resolve(
        env: &dyn Fn(&str) -> Option<String>,
        config: &PaletteConfig,
        top_ca_cert: Option<&Path>,
        cli: &Overrides,
    ) -> Result<Self, PaletteError> {
        let nonempty = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let key = match KEY_VARS.iter().find_map(|v| nonempty(v)) {
            Some(text) => ApiKey::new(&text).ok_or(PaletteError::NoKey)?,
            None => match &config.api_key_file {
                Some(path) => read_key_file(path)?,
                None => return Err(PaletteError::NoKey),
            },
        };
        let host_text = HOST_VARS
            .iter()
            .find_map(|v| nonempty(v))
            .or_else(|| config.host.clone())
            .unwrap_or_else(|| DEFAULT_HOST.to_owned());
        let host = parse_host(&host_text)?;
        let project = cli
            .project
            .clone()
            .or_else(|| nonempty(PROJECT_VAR))
            .or_else(|| config.project.clone())
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty());
        Ok(Self {
            host,
            key,
            project,
            ca_cert: cli
                .ca_cert
                .clone()
                .or_else(|| config.ca_cert.clone())
                .or_else(|| top_ca_cert.map(Path::to_owned)),
            timeout: cli.timeout.unwrap_or(DEFAULT_TIMEOUT),
        })
    }
}

/// `api.spectrocloud.com`, `https://palette.example.com:8443`, `http://127.0.0.1:9`.
pub fn parse_host(text: &str) -> Result<Url, PaletteError> {
    let text = text.trim();
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("https://{text}")
    };
    let mut url = Url::parse(&with_scheme)
        .map_err(|e| PaletteError::BadHost(format!("`{text}` is not a host or URL ({e})")))?;
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&url) => {}
        "http" => {
            return Err(PaletteError::BadHost(format!(
                "`{text}`: plain http:// would send the API key in clear; use https://"
            )));
        }
        other => {
            return Err(PaletteError::BadHost(format!(
                "`{text}`: unsupported scheme {other}://"
            )));
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(PaletteError::BadHost(format!("`{text}` names no host")));
    }
    // The API paths are absolute (`/v1/...`): a path in the host would be dropped, say so.
    if url.path() != "/" && !url.path().is_empty() {
        return Err(PaletteError::BadHost(format!(
            "`{text}`: give the endpoint without a path (the API lives under /v1)"
        )));
    }
    url.set_query(None);
    url.set_fragment(None);
    Ok(url)
}

fn is_loopback(url: &Url) -> bool {
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']');
    host == "localhost"
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

fn read_key_file(path: &Path) -> Result<ApiKey, PaletteError> {
    use std::os::unix::fs::PermissionsExt;
    let bad = |message: String| PaletteError::KeyFile {
        path: path.to_owned(),
        message,
    };
    let meta = std::fs::metadata(path).map_err(|e| bad(e.to_string()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(bad(format!(
            "readable by others (mode {mode:o}); run chmod 600 on it"
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    ApiKey::new(&text).ok_or_else(|| bad("holds no key (one line expected)".to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn resolve(pairs: &[(&str, &str)], config: &PaletteConfig) -> Result<Settings, PaletteError> {
        Settings::resolve(&env(pairs), config, None, &Overrides::default())
    }

    #[test]
    fn the_key_comes_from_either_variable_and_never_shows_in_debug() {
        let s = resolve(&[("SPECTROCLOUD_APIKEY", "k2")], &PaletteConfig::default())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.key.expose(), "k2");
        let s = resolve(
            &[("PALETTE_API_KEY", "k1"), ("SPECTROCLOUD_APIKEY", "k2")],
            &PaletteConfig::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.key.expose(), "k1");
        assert_eq!(s.host.as_str(), "https://api.spectrocloud.com/");
        assert!(!format!("{s:?}").contains("k1"), "{s:?}");
        let none = resolve(&[("PALETTE_API_KEY", "  ")], &PaletteConfig::default());
        assert!(matches!(none, Err(PaletteError::NoKey)), "{none:?}");
    }

    #[test]
    fn the_key_file_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("key");
        std::fs::write(&file, "QMOI1ZVKVIoW6LM6uXqSWFPsjmt0juvl\n")
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        let config = PaletteConfig {
            api_key_file: Some(file.clone()),
            ..PaletteConfig::default()
        };
        let err = resolve(&[], &config).err().map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|e| e.contains("chmod 600")),
            "{err:?}"
        );
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
            .unwrap_or_else(|e| panic!("{e}"));
        let s = resolve(&[], &config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.key.expose(), "QMOI1ZVKVIoW6LM6uXqSWFPsjmt0juvl");
    }

    #[test]
    fn hosts_get_https_and_plain_http_only_on_loopback() {
        let ok = |t: &str| parse_host(t).map(|u| u.to_string()).unwrap_or_default();
        assert_eq!(ok("api.spectrocloud.com"), "https://api.spectrocloud.com/");
        assert_eq!(ok("https://p.example:8443/"), "https://p.example:8443/");
        assert_eq!(ok("http://127.0.0.1:9"), "http://127.0.0.1:9/");
        assert!(parse_host("http://palette.example.com").is_err());
        assert!(parse_host("https://p.example/v1").is_err());
        assert!(parse_host("ftp://p.example").is_err());
    }

    #[test]
    fn project_precedence_is_flag_then_environment_then_config() {
        let config = PaletteConfig {
            project: Some("from-config".into()),
            ..PaletteConfig::default()
        };
        let pairs = [("PALETTE_API_KEY", "k"), ("PALETTE_PROJECT", "from-env")];
        let s = resolve(&pairs, &config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.project.as_deref(), Some("from-env"));
        let s = Settings::resolve(
            &env(&pairs),
            &config,
            None,
            &Overrides {
                project: Some("from-flag".into()),
                ..Overrides::default()
            },
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.project.as_deref(), Some("from-flag"));
        let s = resolve(&[("PALETTE_API_KEY", "k")], &config).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.project.as_deref(), Some("from-config"));
    }
}
