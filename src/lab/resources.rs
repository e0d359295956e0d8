//! The resource types the lab serves, and the discovery documents built from them.
//!
//! Built-in types come from the real discovery documents recorded from a 1.24 `kube-apiserver`
//! (`src/lab/api/*.json`, served byte for byte); custom resources come from the
//! `CustomResourceDefinition` objects in the store, so a CRD created through the API shows up in
//! discovery at once. To serve one more built-in group, add its recorded `APIResourceList` to
//! `src/lab/api/` and list it in [`BUILTIN_GROUPS`].

use serde_json::{Value, json};

/// Recorded discovery documents of the built-in group-versions: (group, version, document).
const BUILTIN_GROUPS: &[(&str, &str, &str)] = &[
    ("", "v1", include_str!("api/core-v1.json")),
    ("apps", "v1", include_str!("api/apps-v1.json")),
];

/// `/api` as recorded (no `apiVersion` field, one trailing newline).
pub const API_VERSIONS: &str = include_str!("api/api.json");

/// One servable resource (a plural name in a group-version).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceType {
    pub group: String,
    pub version: String,
    pub plural: String,
    pub singular: String,
    pub kind: String,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    /// CRD additional printer columns (None for built-ins).
    pub printer_columns: Option<Vec<Value>>,
    /// True for custom resources (defined by a CRD).
    pub custom: bool,
    /// Writes to the main resource keep the stored `status` (a `/status` subresource exists).
    pub status_subresource: bool,
    /// The CRD version's `openAPIV3Schema`, used to prune unknown fields.
    pub schema: Option<Value>,
}

impl ResourceType {
    /// `pods`, `ipclaims.ipam.cluster.x-k8s.io`: the store key prefix and error wording.
    pub fn key(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Built-in API types carry `generation` only when they have a spec that controllers track.
    pub fn has_generation(&self) -> bool {
        self.custom
            || self.group == "apps"
            || self.group == "apiextensions.k8s.io"
            || self.group == "batch"
    }
}

/// The built-in resource types (from the recorded discovery documents).
pub fn builtin() -> Vec<ResourceType> {
    let mut out = Vec::new();
    for (group, version, doc) in BUILTIN_GROUPS {
        let Ok(list) = serde_json::from_str::<Value>(doc) else {
            continue;
        };
        let resources = list["resources"].as_array().cloned().unwrap_or_default();
        let subresources: Vec<String> = resources
            .iter()
            .filter_map(|r| r["name"].as_str())
            .filter(|n| n.ends_with("/status"))
            .map(str::to_owned)
            .collect();
        for r in &resources {
            let Some(name) = r["name"].as_str() else {
                continue;
            };
            if name.contains('/') {
                continue;
            }
            let verbs: Vec<&str> = r["verbs"]
                .as_array()
                .map(|v| v.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if !verbs.contains(&"list") {
                continue;
            }
            out.push(ResourceType {
                group: (*group).to_owned(),
                version: (*version).to_owned(),
                plural: name.to_owned(),
                singular: r["kind"].as_str().unwrap_or_default().to_lowercase(),
                kind: r["kind"].as_str().unwrap_or_default().to_owned(),
                namespaced: r["namespaced"].as_bool().unwrap_or(true),
                short_names: strings(&r["shortNames"]),
                printer_columns: None,
                custom: false,
                status_subresource: subresources.contains(&format!("{name}/status")),
                schema: None,
            });
        }
    }
    out.push(ResourceType {
        group: "apiextensions.k8s.io".into(),
        version: "v1".into(),
        plural: "customresourcedefinitions".into(),
        singular: "customresourcedefinition".into(),
        kind: "CustomResourceDefinition".into(),
        namespaced: false,
        short_names: vec!["crd".into(), "crds".into()],
        printer_columns: None,
        custom: false,
        status_subresource: true,
        schema: None,
    });
    out
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The served versions of a CRD object as resource types.
pub fn from_crd(crd: &Value) -> Vec<ResourceType> {
    let spec = &crd["spec"];
    let group = spec["group"].as_str().unwrap_or_default();
    let names = &spec["names"];
    let plural = names["plural"].as_str().unwrap_or_default();
    if group.is_empty() || plural.is_empty() {
        return Vec::new();
    }
    let kind = names["kind"].as_str().unwrap_or_default();
    let singular = names["singular"]
        .as_str()
        .map_or_else(|| kind.to_lowercase(), str::to_owned);
    let namespaced = spec["scope"].as_str() != Some("Cluster");
    spec["versions"]
        .as_array()
        .map(|versions| {
            versions
                .iter()
                .filter(|v| v["served"].as_bool().unwrap_or(true))
                .filter_map(|v| {
                    Some(ResourceType {
                        group: group.to_owned(),
                        version: v["name"].as_str()?.to_owned(),
                        plural: plural.to_owned(),
                        singular: singular.clone(),
                        kind: kind.to_owned(),
                        namespaced,
                        short_names: strings(&names["shortNames"]),
                        printer_columns: v["additionalPrinterColumns"].as_array().cloned(),
                        custom: true,
                        status_subresource: v["subresources"]["status"].is_object(),
                        schema: Some(v["schema"]["openAPIV3Schema"].clone())
                            .filter(Value::is_object),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `/apis`: the built-in groups plus every CRD group.
pub fn api_group_list(crds: &[Value]) -> Value {
    let mut groups: Vec<Value> = vec![group_doc("apps", &["v1"])];
    let mut seen = vec!["apps".to_owned()];
    groups.push(group_doc("apiextensions.k8s.io", &["v1"]));
    seen.push("apiextensions.k8s.io".to_owned());
    for crd in crds {
        let Some(group) = crd["spec"]["group"].as_str() else {
            continue;
        };
        if seen.iter().any(|g| g == group) {
            continue;
        }
        let versions: Vec<&str> = crd["spec"]["versions"]
            .as_array()
            .map(|v| v.iter().filter_map(|v| v["name"].as_str()).collect())
            .unwrap_or_default();
        if versions.is_empty() {
            continue;
        }
        seen.push(group.to_owned());
        groups.push(group_doc(group, &versions));
    }
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`.
pub fn group_doc(group: &str, versions: &[&str]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{group}/{v}"), "version": v}))
        .collect();
    let preferred = vs.first().cloned().unwrap_or(Value::Null);
    json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": vs, "preferredVersion": preferred})
}

/// A recorded built-in `APIResourceList`, if this group-version is built in.
pub fn builtin_resource_list(group: &str, version: &str) -> Option<&'static str> {
    BUILTIN_GROUPS
        .iter()
        .find(|(g, v, _)| *g == group && *v == version)
        .map(|(_, _, doc)| *doc)
}

/// `/apis/apiextensions.k8s.io/v1`.
pub fn apiextensions_resource_list() -> Value {
    json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "apiextensions.k8s.io/v1",
        "resources": [
            {"name": "customresourcedefinitions", "singularName": "", "namespaced": false,
             "kind": "CustomResourceDefinition",
             "verbs": ["create","delete","deletecollection","get","list","patch","update","watch"],
             "shortNames": ["crd","crds"], "storageVersionHash": "jfWCUB31mvA="},
            {"name": "customresourcedefinitions/status", "singularName": "", "namespaced": false,
             "kind": "CustomResourceDefinition", "verbs": ["get","patch","update"]}
        ]
    })
}

/// `/apis/<group>/<version>` for a CRD group-version.
pub fn crd_resource_list(
    group: &str,
    version: &str,
    types: &[ResourceType],
    crds: &[Value],
) -> Option<Value> {
    let mut resources = Vec::new();
    for t in types
        .iter()
        .filter(|t| t.custom && t.group == group && t.version == version)
    {
        let categories = crds
            .iter()
            .find(|c| {
                c["spec"]["group"].as_str() == Some(group)
                    && c["spec"]["names"]["plural"].as_str() == Some(t.plural.as_str())
            })
            .map_or(Value::Null, |c| c["spec"]["names"]["categories"].clone());
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": ["delete","deletecollection","get","list","patch","create","update","watch"],
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if categories.is_array() {
            r["categories"] = categories;
        }
        r["storageVersionHash"] = json!(storage_hash(&t.group, &t.version, &t.kind));
        resources.push(r);
        if t.status_subresource {
            resources.push(json!({
                "name": format!("{}/status", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": ["get","patch","update"],
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": format!("{group}/{version}"),
        "resources": resources,
    }))
}

/// Drop the fields a structural schema does not declare, as the real server does for custom
/// resources (`x-kubernetes-preserve-unknown-fields: true` keeps them). `apiVersion`, `kind`
/// and `metadata` at the root are always kept.
pub fn prune(value: &mut Value, schema: &Value, root: bool) {
    let preserve = schema["x-kubernetes-preserve-unknown-fields"].as_bool() == Some(true);
    match value {
        Value::Object(map) => {
            let props = schema["properties"].as_object();
            let additional = schema["additionalProperties"]
                .is_object()
                .then(|| &schema["additionalProperties"]);
            map.retain(|k, _| {
                (root && matches!(k.as_str(), "apiVersion" | "kind" | "metadata"))
                    || preserve
                    || additional.is_some()
                    || props.is_some_and(|p| p.contains_key(k))
            });
            for (k, v) in map.iter_mut() {
                if root && k == "metadata" {
                    continue;
                }
                if let Some(s) = props.and_then(|p| p.get(k)) {
                    prune(v, s, false);
                } else if let Some(s) = additional {
                    prune(v, s, false);
                }
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for v in items {
                prune(v, &schema["items"], false);
            }
        }
        _ => {}
    }
}

/// The real `storageVersionHash`: base64 of the first 8 bytes of SHA-256("group/version/kind").
fn storage_hash(group: &str, version: &str, kind: &str) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("{group}/{version}/{kind}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(&digest[..8])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_version_hashes_match_the_real_server() {
        assert_eq!(storage_hash("", "v1", "ConfigMap"), "qFsyl6wFWjQ=");
        assert_eq!(
            storage_hash("ipam.cluster.x-k8s.io", "v1alpha1", "IPClaim"),
            "TatjVPeeZBA="
        );
    }
}
