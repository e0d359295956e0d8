//! The Palette API's JSON, as far as `runbook` reads it, and the plain values it becomes.
//!
//! The wire types follow the definitions of the public Swagger spec
//! (`spectrocloud/palette-sdk-go`, `api/spec/palette-apis-spec.json`, "Palette APIs - 4.8"):
//! every field is optional here (`#[serde(default)]`), because the server omits empty ones and
//! adds new ones over time. Each wire type names the definition it follows. To read one more
//! field: add it to the wire type under the spec's name, carry it into the plain value, and add
//! it to the schema excerpt under `tests/fixtures/palette/` so the contract test covers it.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// `v1ObjectEntity` / `v1ProjectMeta`: a name and a uid.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Entity {
    pub name: String,
    pub uid: String,
}

/// `v1ObjectMeta` (the fields read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ObjectMeta {
    pub name: String,
    pub uid: String,
    pub creation_timestamp: Option<String>,
    pub last_modified_timestamp: Option<String>,
}

/// `v1ListMetaData`: `continue` is empty on the last page.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListMeta {
    #[serde(rename = "continue")]
    pub continue_: String,
    pub count: Option<u64>,
}

/// `v1ProjectsMetadata`, the answer of `v1ProjectsMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProjectsMetadata {
    pub items: Vec<ProjectMetadata>,
}

/// `v1ProjectMetadata`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProjectMetadata {
    pub metadata: Entity,
}

/// `v1SpectroClustersSummary`, the answer of `v1SpectroClustersSearchFilterSummary`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClustersSummary {
    pub items: Vec<ClusterSummary>,
    pub listmeta: ListMeta,
}

/// `v1SpectroClusterSummary` (the fields read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct ClusterSummary {
    pub metadata: ObjectMeta,
    pub spec_summary: SpecSummary,
    pub status: ClusterSummaryStatus,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct SpecSummary {
    /// `v1CloudConfigMeta`.
    pub cloud_config: CloudConfigMeta,
    /// `v1ProjectMeta`.
    pub project_meta: Option<Entity>,
    /// `v1ClusterProfileTemplateMeta[]`: their `k8s` layer pack carries the Kubernetes version.
    pub cluster_profile_templates: Vec<ProfileTemplateMeta>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct CloudConfigMeta {
    pub cloud_type: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ProfileTemplateMeta {
    /// `v1PackRef[]`.
    pub packs: Vec<PackRef>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct PackRef {
    pub name: String,
    /// `kernel`, `os`, `k8s`, `cni`, `csi`, `addon`.
    pub layer: String,
    pub tag: String,
    pub version: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ClusterSummaryStatus {
    pub state: String,
    /// `v1SpectroClusterHealthStatus`.
    pub health: Option<HealthStatus>,
}

/// `v1SpectroClusterHealthStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct HealthStatus {
    pub state: String,
    pub last_heart_beat_timestamp: Option<String>,
    pub conditions: Vec<HealthCondition>,
}

/// `v1SpectroClusterHealthCondition`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HealthCondition {
    #[serde(rename = "type")]
    pub type_: String,
    pub message: String,
}

/// `v1Overlords`, the answer of `v1OverlordsList`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Overlords {
    pub items: Vec<Overlord>,
}

/// `v1Overlord` (the fields read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Overlord {
    pub metadata: ObjectMeta,
    pub status: OverloadStatus,
}

/// `v1OverloadStatus`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct OverloadStatus {
    pub state: String,
    pub is_active: bool,
    pub is_ready: bool,
    pub health: Option<HealthStatus>,
}

/// `v1Events`, the answer of `v1EventsComponentsObjTypeUidList`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Events {
    pub items: Vec<EventItem>,
    pub listmeta: ListMeta,
}

/// `v1Event` (the fields read).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EventItem {
    pub metadata: ObjectMeta,
    pub message: String,
    pub reason: String,
    pub severity: String,
    pub source: EventSource,
}

/// `v1EventSource`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EventSource {
    pub component: String,
}

/// `V1Error` (`api/spec/error_v1.json`): what Palette answers on failure.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ApiErrorBody {
    pub code: String,
    pub message: String,
}

/// A project the key can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Project {
    pub uid: String,
    pub name: String,
}

/// A cluster as `runbook palette clusters` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cluster {
    pub name: String,
    pub uid: String,
    /// Project name; None for a tenant-scoped cluster.
    pub project: Option<String>,
    /// `aws`, `vsphere`, `edge-native`, ...
    pub cloud: String,
    /// `Running`, `Provisioning`, `Deleting`, ...
    pub state: String,
    /// `Healthy`, `UnHealthy`, ...; None when Palette has no word yet.
    pub health: Option<String>,
    /// The Kubernetes pack's version (`1.32.4`), when the profile says.
    #[serde(skip)]
    pub kubernetes: Option<String>,
    #[serde(skip)]
    pub last_modified: Option<String>,
}

impl Cluster {
    /// Palette's own test for a cluster it can hand a kubeconfig for.
    pub fn is_running(&self) -> bool {
        self.state.eq_ignore_ascii_case("running")
    }
}

impl From<ClusterSummary> for Cluster {
    fn from(c: ClusterSummary) -> Self {
        let kubernetes = c
            .spec_summary
            .cluster_profile_templates
            .iter()
            .flat_map(|t| &t.packs)
            .find(|p| p.layer == "k8s")
            .map(|p| {
                if p.tag.is_empty() {
                    p.version.clone()
                } else {
                    p.tag.clone()
                }
            })
            .filter(|v| !v.is_empty());
        Self {
            name: c.metadata.name,
            uid: c.metadata.uid,
            project: c
                .spec_summary
                .project_meta
                .map(|p| p.name)
                .filter(|n| !n.is_empty()),
            cloud: c.spec_summary.cloud_config.cloud_type,
            state: c.status.state,
            health: c.status.health.map(|h| h.state).filter(|s| !s.is_empty()),
            kubernetes,
            last_modified: c.metadata.last_modified_timestamp,
        }
    }
}

/// A private cloud gateway (an "overlord" in the API).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gateway {
    pub name: String,
    pub uid: String,
    pub state: String,
    pub health: Option<String>,
    pub active: bool,
    pub ready: bool,
}

impl From<Overlord> for Gateway {
    fn from(o: Overlord) -> Self {
        Self {
            name: o.metadata.name,
            uid: o.metadata.uid,
            state: o.status.state,
            health: o.status.health.map(|h| h.state).filter(|s| !s.is_empty()),
            active: o.status.is_active,
            ready: o.status.is_ready,
        }
    }
}

/// One event Palette recorded for a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    pub time: Option<String>,
    pub severity: String,
    pub reason: String,
    pub message: String,
    pub component: String,
}

impl From<EventItem> for Event {
    fn from(e: EventItem) -> Self {
        Self {
            time: e
                .metadata
                .last_modified_timestamp
                .or(e.metadata.creation_timestamp),
            severity: e.severity,
            reason: e.reason,
            message: e.message,
            component: e.source.component,
        }
    }
}

/// Which kubeconfig of a cluster: Palette offers several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Variant {
    /// `GET /v1/spectroclusters/{uid}/assets/kubeconfig?frp=true` (`v1SpectroClustersUidKubeConfig`):
    /// the reverse-proxy (FRP) one when the cluster has it, else the direct one.
    #[default]
    Default,
    /// The same operation with `frp=false`: the API server's own address.
    Direct,
    /// `GET .../assets/adminKubeconfig` (`v1SpectroClustersUidAdminKubeConfig`), for the admin role.
    Admin,
    /// `GET .../assets/frpKubeconfig` (`v1SpectroClustersUidFrpKubeConfigGet`).
    Frp,
    /// `GET .../assets/kubeconfigclient` (`v1SpectroClustersUidKubeConfigClientGet`).
    Client,
}

impl Variant {
    /// The path under the cluster and its query.
    pub fn asset(self) -> (&'static str, Option<(&'static str, &'static str)>) {
        match self {
            Self::Default => ("kubeconfig", Some(("frp", "true"))),
            Self::Direct => ("kubeconfig", Some(("frp", "false"))),
            Self::Admin => ("adminKubeconfig", None),
            Self::Frp => ("frpKubeconfig", None),
            Self::Client => ("kubeconfigclient", None),
        }
    }
}

/// The body of `POST /v1/dashboard/spectroclusters/search` (`v1SearchFilterSummarySpec`): the
/// filter the Go SDK uses for every cluster lookup (not virtual, not deleted), by name.
pub fn cluster_search_body() -> Value {
    json!({
        "filter": {
            "conjunction": "and",
            "filterGroups": [{
                "conjunction": "and",
                "filters": [
                    {
                        "property": "environment",
                        "type": "string",
                        "condition": {"string": {
                            "operator": "eq",
                            "negation": true,
                            "match": {"conjunction": "or", "values": ["nested"]},
                        }},
                    },
                    {
                        "property": "isDeleted",
                        "type": "bool",
                        "condition": {"bool": {"value": false}},
                    },
                ],
            }],
        },
        "sort": [{"field": "clusterName", "order": "asc"}],
    })
}

/// A downloaded kubeconfig as text: Palette may send it base64-encoded (the Go SDK decodes it
/// when it is).
pub fn decode_kubeconfig(bytes: &[u8]) -> Option<String> {
    use base64::Engine as _;
    let text = String::from_utf8_lossy(bytes);
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return None;
    }
    let looks_yaml = |t: &str| t.contains("clusters") && t.contains("apiVersion");
    if looks_yaml(trimmed) {
        return Some(trimmed.to_owned() + "\n");
    }
    let compact: String = trimmed.chars().filter(|c| !c.is_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    looks_yaml(&decoded).then(|| decoded.trim().to_owned() + "\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_becomes_a_cluster_with_its_kubernetes_version() {
        let raw = json!({
            "metadata": {"name": "edge-1", "uid": "6650aa", "lastModifiedTimestamp": "2026-01-02T03:04:05.000Z"},
            "specSummary": {
                "cloudConfig": {"cloudType": "edge-native", "uid": "x"},
                "projectMeta": {"name": "Default", "uid": "p1"},
                "clusterProfileTemplates": [{"packs": [
                    {"name": "ubuntu", "layer": "os", "tag": "22.04"},
                    {"name": "kubernetes", "layer": "k8s", "tag": "1.32.4"}
                ]}],
                "unknownField": 1
            },
            "status": {"state": "Running", "health": {"state": "Healthy", "conditions": []}}
        });
        let summary: ClusterSummary = serde_json::from_value(raw).unwrap_or_else(|e| panic!("{e}"));
        let c = Cluster::from(summary);
        assert_eq!(c.name, "edge-1");
        assert_eq!(c.project.as_deref(), Some("Default"));
        assert_eq!(c.cloud, "edge-native");
        assert_eq!(c.health.as_deref(), Some("Healthy"));
        assert_eq!(c.kubernetes.as_deref(), Some("1.32.4"));
        assert!(c.is_running());
        let minimal: ClusterSummary =
            serde_json::from_value(json!({"metadata": {"name": "n"}})).unwrap_or_default();
        assert_eq!(Cluster::from(minimal).health, None);
    }

    #[test]
    fn kubeconfigs_come_as_text_or_base64() {
        use base64::Engine as _;
        let text = "apiVersion: v1\nclusters: []\n";
        assert_eq!(decode_kubeconfig(text.as_bytes()).as_deref(), Some(text));
        let b64 = base64::engine::general_purpose::STANDARD.encode(text);
        assert_eq!(decode_kubeconfig(b64.as_bytes()).as_deref(), Some(text));
        assert_eq!(decode_kubeconfig(b""), None);
        assert_eq!(decode_kubeconfig(b"<html>oops</html>"), None);
    }
}
