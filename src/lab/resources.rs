//! The resource types the lab serves, and the discovery documents built from them.
//!
//! Built-in types come from the kinds table ([`super::kinds`], k8s-openapi's type metadata plus
//! a line of data per kind); custom resources come from the `CustomResourceDefinition` objects
//! in the store, so a CRD created through the API shows up in discovery at once. Both the plain
//! documents (`APIResourceList` per group-version) and the aggregated ones kubectl 1.32 asks
//! for first (`apidiscovery.k8s.io/v2` `APIGroupDiscoveryList`) are built here. To serve one
//! more built-in kind, add its line to [`super::kinds::table`].

use serde_json::{Value, json};

use super::kinds::{self, Verbs};

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
    /// What can be done with it (discovery lists these).
    pub verbs: Verbs,
    pub categories: Vec<String>,
    /// Subresource names (`status`, `scale`, `log`, ...).
    pub subresources: Vec<String>,
    /// Spec changes bump `metadata.generation`.
    pub generation: bool,
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
        api_version(&self.group, &self.version)
    }

    /// Built-in API types carry `generation` only when they have a spec that controllers track.
    pub fn has_generation(&self) -> bool {
        self.custom || self.generation
    }

    /// Whether objects of this type are stored (reviews and bindings are only answered).
    pub fn stored(&self) -> bool {
        matches!(self.verbs, Verbs::All | Verbs::NoCollection)
    }
}

/// The built-in resource types (from the kinds table).
pub fn builtin() -> Vec<ResourceType> {
    kinds::table()
        .into_iter()
        .map(|k| ResourceType {
            group: k.group.to_owned(),
            version: k.version.to_owned(),
            plural: k.plural.to_owned(),
            singular: k.kind.to_lowercase(),
            kind: k.kind.to_owned(),
            namespaced: k.namespaced,
            short_names: k.short_names.iter().map(|s| (*s).to_owned()).collect(),
            printer_columns: None,
            custom: false,
            status_subresource: k.subresources.contains(&"status"),
            schema: None,
            verbs: k.verbs,
            categories: k.categories.iter().map(|s| (*s).to_owned()).collect(),
            subresources: k.subresources.iter().map(|s| (*s).to_owned()).collect(),
            generation: k.generation,
        })
        .collect()
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
                        verbs: Verbs::All,
                        categories: strings(&names["categories"]),
                        subresources: ["status", "scale"]
                            .into_iter()
                            .filter(|s| v["subresources"][*s].is_object())
                            .map(str::to_owned)
                            .collect(),
                        generation: true,
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The CRD groups and their served versions, in CRD order.
fn crd_groups(crds: &[Value]) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    for crd in crds {
        let Some(group) = crd["spec"]["group"].as_str() else {
            continue;
        };
        let versions: Vec<String> = crd["spec"]["versions"]
            .as_array()
            .map(|v| {
                v.iter()
                    .filter(|v| v["served"].as_bool().unwrap_or(true))
                    .filter_map(|v| v["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if versions.is_empty() || kinds::groups().iter().any(|(g, _)| *g == group) {
            continue;
        }
        match out.iter_mut().find(|(g, _)| g == group) {
            Some((_, vs)) => {
                for v in versions {
                    if !vs.contains(&v) {
                        vs.push(v);
                    }
                }
            }
            None => out.push((group.to_owned(), versions)),
        }
    }
    out
}

/// Every group (core as "") with its versions, preferred first: built-ins, then CRD groups.
fn all_groups(crds: &[Value]) -> Vec<(String, Vec<String>)> {
    kinds::groups()
        .into_iter()
        .map(|(g, vs)| (g.to_owned(), vs.into_iter().map(str::to_owned).collect()))
        .chain(crd_groups(crds))
        .collect()
}

/// `/apis`: the built-in groups plus every CRD group.
pub fn api_group_list(crds: &[Value]) -> Value {
    let groups: Vec<Value> = all_groups(crds)
        .iter()
        .filter(|(g, _)| !g.is_empty())
        .map(|(g, vs)| {
            let vs: Vec<&str> = vs.iter().map(String::as_str).collect();
            group_doc(g, &vs)
        })
        .collect();
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

/// `v1` for the core group, `group/version` for the others.
pub(crate) fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    }
}

/// Subresource entries of a type: (name, group, version, kind, verbs).
fn subresources_of(t: &ResourceType) -> Vec<(String, String, String, String, Vec<&'static str>)> {
    let table = kinds::table();
    let owner = table.iter().find(|k| {
        !t.custom && k.group == t.group && k.version == t.version && k.plural == t.plural
    });
    t.subresources
        .iter()
        .map(|name| {
            let (g, v, k, verbs) = match owner {
                Some(o) => kinds::subresource(o, name),
                None if name == "scale" => (
                    "autoscaling",
                    "v1",
                    "Scale",
                    &["get", "patch", "update"][..],
                ),
                None => ("", "", "", &["get", "patch", "update"][..]),
            };
            let (g, v, k) = if k.is_empty() {
                (t.group.clone(), t.version.clone(), t.kind.clone())
            } else {
                (g.to_owned(), v.to_owned(), k.to_owned())
            };
            (name.clone(), g, v, k, verbs.to_vec())
        })
        .collect()
}

/// `/api/v1` or `/apis/<group>/<version>`: the `APIResourceList` of the types served there,
/// or None when there are none.
pub fn resource_list(group: &str, version: &str, types: &[ResourceType]) -> Option<Value> {
    let mut resources = Vec::new();
    for t in types
        .iter()
        .filter(|t| t.group == group && t.version == version)
    {
        let mut r = json!({
            "name": t.plural,
            "singularName": t.singular,
            "namespaced": t.namespaced,
            "kind": t.kind,
            "verbs": if t.custom {
                json!(["delete","deletecollection","get","list","patch","create","update","watch"])
            } else {
                json!(t.verbs.names())
            },
        });
        if !t.short_names.is_empty() {
            r["shortNames"] = json!(t.short_names);
        }
        if !t.categories.is_empty() {
            r["categories"] = json!(t.categories);
        }
        if t.stored() {
            r["storageVersionHash"] = json!(storage_hash(&t.group, &t.version, &t.kind));
        }
        resources.push(r);
        for (name, g, v, k, verbs) in subresources_of(t) {
            let mut sub = json!({
                "name": format!("{}/{name}", t.plural),
                "singularName": "",
                "namespaced": t.namespaced,
            });
            if g != t.group || v != t.version {
                sub["group"] = json!(g);
                sub["version"] = json!(v);
            }
            sub["kind"] = json!(k);
            sub["verbs"] = json!(verbs);
            resources.push(sub);
        }
    }
    if resources.is_empty() {
        return None;
    }
    let mut doc = json!({"kind": "APIResourceList"});
    if !group.is_empty() {
        doc["apiVersion"] = json!("v1");
    }
    doc["groupVersion"] = json!(api_version(group, version));
    doc["resources"] = json!(resources);
    Some(doc)
}

/// The media type of aggregated discovery, as a 1.32 server names it in `Content-Type`.
pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

/// Aggregated discovery (`apidiscovery.k8s.io/v2`): for `/api` the core group (`legacy`),
/// for `/apis` every other group, each version with all its resources.
pub fn aggregated(legacy: bool, types: &[ResourceType], crds: &[Value]) -> Value {
    let items: Vec<Value> = all_groups(crds)
        .iter()
        .filter(|(g, _)| g.is_empty() == legacy)
        .map(|(g, vs)| {
            let versions: Vec<Value> = vs
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = types
                        .iter()
                        .filter(|t| t.group == *g && t.version == *v)
                        .map(|t| {
                            let mut r = json!({
                                "resource": t.plural,
                                "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
                                "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
                                "singularResource": t.singular,
                                "verbs": t.verbs.names(),
                            });
                            if !t.short_names.is_empty() {
                                r["shortNames"] = json!(t.short_names);
                            }
                            if !t.categories.is_empty() {
                                r["categories"] = json!(t.categories);
                            }
                            let subs: Vec<Value> = subresources_of(t)
                                .into_iter()
                                .map(|(name, g, v, k, verbs)| {
                                    json!({"subresource": name, "responseKind": {"group": g, "version": v, "kind": k}, "verbs": verbs})
                                })
                                .collect();
                            if !subs.is_empty() {
                                r["subresources"] = json!(subs);
                            }
                            r
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let mut metadata = json!({"creationTimestamp": null});
            if !g.is_empty() {
                metadata["name"] = json!(g);
            }
            json!({"metadata": metadata, "versions": versions})
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items,
    })
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
