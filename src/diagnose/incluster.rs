//! `runbook diagnose` inside a cluster, with the pod's service account: the API server from
//! `KUBERNETES_SERVICE_HOST` / `KUBERNETES_SERVICE_PORT` (over https), the token, CA and
//! namespace Kubernetes mounts under [`SERVICE_ACCOUNT_DIR`] (`RUNBOOK_SERVICE_ACCOUNT_DIR`
//! names another folder, for a token projected elsewhere). The token is read from its file by
//! kube-rs and re-read as it rotates; it is never copied anywhere.
//!
//! [`wanted`] says when this is the default: no `--kubeconfig`, `--context` or `KUBECONFIG`, no
//! `~/.kube/config`, and `KUBERNETES_SERVICE_HOST` set (the `CronJob` in `assets/deploy/`).

use std::path::{Path, PathBuf};

use kube::config::{
    AuthInfo, Cluster, Context, KubeConfigOptions, Kubeconfig, NamedAuthInfo, NamedCluster,
    NamedContext,
};

use super::DiagnoseError;

/// Where Kubernetes mounts a pod's service account.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// Names another folder holding `token`, `ca.crt` and `namespace`.
pub const DIR_VAR: &str = "RUNBOOK_SERVICE_ACCOUNT_DIR";

/// The service account's folder.
pub fn dir() -> PathBuf {
    std::env::var_os(DIR_VAR)
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(SERVICE_ACCOUNT_DIR), PathBuf::from)
}

/// Should `runbook diagnose` without flags use the service account?
pub fn wanted() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let home_config = std::env::var_os("HOME")
        .map(|h| Path::new(&h).join(".kube").join("config"))
        .is_some_and(|p| p.exists());
    set("KUBERNETES_SERVICE_HOST") && !set("KUBECONFIG") && !home_config
}

/// A kube client for the service account, with the server's URL for messages.
pub async fn client() -> Result<(kube::Client, String), DiagnoseError> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let host = env("KUBERNETES_SERVICE_HOST").ok_or_else(|| {
        DiagnoseError::Kubeconfig(
            "--in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)".to_owned(),
        )
    })?;
    let port = env("KUBERNETES_SERVICE_PORT").unwrap_or_else(|| "443".to_owned());
    let kubeconfig = kubeconfig(&host, &port, &dir())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| DiagnoseError::Kubeconfig(crate::cluster::plain(&e)))?;
    let url = config.cluster_url.to_string();
    let client =
        kube::Client::try_from(config).map_err(|e| DiagnoseError::Kubeconfig(e.to_string()))?;
    Ok((client, url))
}

/// The in-memory kubeconfig of the service account in `dir`.
pub fn kubeconfig(host: &str, port: &str, dir: &Path) -> Result<Kubeconfig, DiagnoseError> {
    let token = dir.join("token");
    let ca = dir.join("ca.crt");
    for needed in [&token, &ca] {
        if !needed.is_file() {
            return Err(DiagnoseError::Kubeconfig(format!(
                "--in-cluster: {} is missing (is a service account mounted?)",
                needed.display()
            )));
        }
    }
    let namespace = std::fs::read_to_string(dir.join("namespace"))
        .ok()
        .map(|n| n.trim().to_owned())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "default".to_owned());
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    Ok(Kubeconfig {
        clusters: vec![NamedCluster {
            name: "in-cluster".to_owned(),
            cluster: Some(Cluster {
                server: Some(format!("https://{host}:{port}")),
                certificate_authority: Some(ca.display().to_string()),
                ..Cluster::default()
            }),
            ..NamedCluster::default()
        }],
        auth_infos: vec![NamedAuthInfo {
            name: "service-account".to_owned(),
            auth_info: Some(AuthInfo {
                token_file: Some(token.display().to_string()),
                ..AuthInfo::default()
            }),
            ..NamedAuthInfo::default()
        }],
        contexts: vec![NamedContext {
            name: "in-cluster".to_owned(),
            context: Some(Context {
                cluster: "in-cluster".to_owned(),
                user: Some("service-account".to_owned()),
                namespace: Some(namespace),
                ..Context::default()
            }),
            ..NamedContext::default()
        }],
        current_context: Some("in-cluster".to_owned()),
        ..Kubeconfig::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_service_account_becomes_an_https_context_with_its_token_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert!(kubeconfig("10.96.0.1", "443", dir.path()).is_err());
        for (f, text) in [("token", "t"), ("ca.crt", "c"), ("namespace", "runbook\n")] {
            std::fs::write(dir.path().join(f), text).unwrap_or_else(|e| panic!("{e}"));
        }
        let kc = kubeconfig("fd00::1", "6443", dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let cluster = kc.clusters[0].cluster.clone().unwrap_or_default();
        assert_eq!(cluster.server.as_deref(), Some("https://[fd00::1]:6443"));
        let user = kc.auth_infos[0].auth_info.clone().unwrap_or_default();
        assert!(user.token_file.is_some_and(|t| t.ends_with("token")));
        let ctx = kc.contexts[0].context.clone().unwrap_or_default();
        assert_eq!(ctx.namespace.as_deref(), Some("runbook"));
    }
}
