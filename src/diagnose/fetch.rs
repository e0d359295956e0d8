//! Listing what the checks read: each distinct query once, all concurrently, each bounded in
//! time, paginated. Only GET requests: API discovery and `list`.
//!
//! Items are deserialized straight into jaq values (no typed or `DynamicObject` round trip),
//! because every check reads them as JSON anyway.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_util::future::join_all;
use jaq_json::Val;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use kube::Client;
use kube::api::{ApiResource, DynamicObject, ListParams};
use kube::core::Resource;
use kube::discovery::{self, ApiCapabilities, ApiGroup, Scope};
use serde::Deserialize;

use crate::runbook::Read;

/// Items per list page.
pub const PAGE_SIZE: u32 = 500;

/// What one query gave: the items, or why they could not be listed.
pub type Listed = Result<Items, String>;

/// A list's items (a JSON array, as the API sends them) and their type, which the items of a
/// list do not carry themselves.
#[derive(Debug, Clone)]
pub struct Items {
    pub items: Val,
    pub api_version: String,
    pub kind: String,
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    metadata: ListMeta,
    #[serde(default)]
    items: Option<Vec<Val>>,
}

/// Lists every query (reads without their keys) once. Discovery is one call per API group,
/// then one paginated list per query; all of it concurrent, each step within `timeout`.
pub async fn list_all(
    client: &Client,
    queries: &BTreeSet<Read>,
    timeout: Duration,
) -> BTreeMap<Read, Listed> {
    let groups: BTreeSet<(String, Option<String>)> = queries
        .iter()
        .map(|q| (q.group.clone(), q.version.clone()))
        .collect();
    let discovered: BTreeMap<(String, Option<String>), Result<ApiGroup, String>> =
        join_all(groups.into_iter().map(|key| async move {
            let found = bounded(timeout, discover(client, &key.0, key.1.as_deref())).await;
            (key, found)
        }))
        .await
        .into_iter()
        .collect();
    let lists = queries.iter().map(|q| {
        let group = discovered.get(&(q.group.clone(), q.version.clone()));
        async move {
            let listed = match group {
                Some(Ok(group)) => match resource(group, q) {
                    Ok((ar, caps)) => bounded(timeout, list(client, q, &ar, &caps)).await,
                    Err(e) => Err(e),
                },
                Some(Err(e)) => Err(e.clone()),
                None => Err("API group was not looked up".into()),
            };
            (q.clone(), listed)
        }
    });
    join_all(lists).await.into_iter().collect()
}

async fn bounded<T>(
    timeout: Duration,
    work: impl Future<Output = Result<T, String>>,
) -> Result<T, String> {
    tokio::time::timeout(timeout, work)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "timed out after {}",
                crate::duration::humanize(timeout)
            ))
        })
}

async fn discover(client: &Client, group: &str, version: Option<&str>) -> Result<ApiGroup, String> {
    let found = match version {
        Some(v) => {
            let gv = kube::core::GroupVersion::gv(group, v);
            discovery::pinned_group(client, &gv).await
        }
        None => discovery::group(client, group).await,
    };
    found.map_err(|e| {
        let name = if group.is_empty() { "core" } else { group };
        describe(&e, &format!("API group `{name}`"))
    })
}

fn resource(group: &ApiGroup, q: &Read) -> Result<(ApiResource, ApiCapabilities), String> {
    let candidates = match &q.version {
        Some(v) => group.versioned_resources(v),
        None => group.recommended_resources(),
    };
    candidates
        .into_iter()
        .find(|(ar, _)| ar.plural == q.resource)
        .ok_or_else(|| {
            format!(
                "`{}` is not served by this cluster (no such resource in API group `{}`)",
                q.display(),
                if q.group.is_empty() { "core" } else { &q.group }
            )
        })
}

async fn list(
    client: &Client,
    q: &Read,
    ar: &ApiResource,
    caps: &ApiCapabilities,
) -> Result<Items, String> {
    let namespace = match caps.scope {
        Scope::Namespaced => q.namespace.as_deref(),
        Scope::Cluster => None,
    };
    let request = kube::core::Request::new(DynamicObject::url_path(ar, namespace));
    let mut params = ListParams::default().limit(PAGE_SIZE);
    if let Some(l) = &q.label_selector {
        params = params.labels(l);
    }
    if let Some(f) = &q.field_selector {
        params = params.fields(f);
    }
    let mut items: Vec<Val> = Vec::new();
    loop {
        let mut http = request
            .list(&params)
            .map_err(|e| format!("cannot build the list request: {e}"))?;
        http.extensions_mut().insert("list");
        let page: Page = client
            .request(http)
            .await
            .map_err(|e| describe(&e, &format!("listing `{}`", q.display())))?;
        items.extend(page.items.unwrap_or_default());
        match page.metadata.continue_.filter(|t| !t.is_empty()) {
            Some(token) => params = params.continue_token(&token),
            None => break,
        }
    }
    Ok(Items {
        items: Val::from_iter(items),
        api_version: ar.api_version.clone(),
        kind: ar.kind.clone(),
    })
}

/// A kube error as a short reason, with 403 and 404 said in words.
pub fn describe(e: &kube::Error, what: &str) -> String {
    match e {
        kube::Error::Api(status) if status.code == 403 => {
            format!("{what} is forbidden for this user: {}", status.message)
        }
        kube::Error::Api(status) if status.code == 404 => {
            format!("{what} is not served by this cluster (404 Not Found)")
        }
        kube::Error::Api(status) => format!("{what} failed ({}): {}", status.code, status.message),
        kube::Error::Discovery(d) => format!("{what} is not served by this cluster: {d}"),
        other => format!("{what} failed: {other}"),
    }
}
