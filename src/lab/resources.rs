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
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let digest = sha256(format!("{group}/{version}/{kind}").as_bytes());
    let bytes = &digest[..8];
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// SHA-256 (FIPS 180-4), only for [`storage_hash`].
fn sha256(data: &[u8]) -> [u8; 32] {
    const K: [u32; 64] = [
        0x428a_2f98,
        0x7137_4491,
        0xb5c0_fbcf,
        0xe9b5_dba5,
        0x3956_c25b,
        0x59f1_11f1,
        0x923f_82a4,
        0xab1c_5ed5,
        0xd807_aa98,
        0x1283_5b01,
        0x2431_85be,
        0x550c_7dc3,
        0x72be_5d74,
        0x80de_b1fe,
        0x9bdc_06a7,
        0xc19b_f174,
        0xe49b_69c1,
        0xefbe_4786,
        0x0fc1_9dc6,
        0x240c_a1cc,
        0x2de9_2c6f,
        0x4a74_84aa,
        0x5cb0_a9dc,
        0x76f9_88da,
        0x983e_5152,
        0xa831_c66d,
        0xb003_27c8,
        0xbf59_7fc7,
        0xc6e0_0bf3,
        0xd5a7_9147,
        0x06ca_6351,
        0x1429_2967,
        0x27b7_0a85,
        0x2e1b_2138,
        0x4d2c_6dfc,
        0x5338_0d13,
        0x650a_7354,
        0x766a_0abb,
        0x81c2_c92e,
        0x9272_2c85,
        0xa2bf_e8a1,
        0xa81a_664b,
        0xc24b_8b70,
        0xc76c_51a3,
        0xd192_e819,
        0xd699_0624,
        0xf40e_3585,
        0x106a_a070,
        0x19a4_c116,
        0x1e37_6c08,
        0x2748_774c,
        0x34b0_bcb5,
        0x391c_0cb3,
        0x4ed8_aa4a,
        0x5b9c_ca4f,
        0x682e_6ff3,
        0x748f_82ee,
        0x78a5_636f,
        0x84c8_7814,
        0x8cc7_0208,
        0x90be_fffa,
        0xa450_6ceb,
        0xbef9_a3f7,
        0xc671_78f2,
    ];
    let mut h: [u32; 8] = [
        0x6a09_e667,
        0xbb67_ae85,
        0x3c6e_f372,
        0xa54f_f53a,
        0x510e_527f,
        0x9b05_688c,
        0x1f83_d9ab,
        0x5be0_cd19,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u64).wrapping_mul(8);
    msg.push(0x80);
    while msg.len() % 64 != 56 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(64) {
        let mut w = [0u32; 64];
        for (i, word) in block.chunks(4).enumerate() {
            w[i] = u32::from_be_bytes([word[0], word[1], word[2], word[3]]);
        }
        for i in 16..64 {
            let s0 = w[i - 15].rotate_right(7) ^ w[i - 15].rotate_right(18) ^ (w[i - 15] >> 3);
            let s1 = w[i - 2].rotate_right(17) ^ w[i - 2].rotate_right(19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16]
                .wrapping_add(s0)
                .wrapping_add(w[i - 7])
                .wrapping_add(s1);
        }
        let mut v = h;
        for i in 0..64 {
            let s1 = v[4].rotate_right(6) ^ v[4].rotate_right(11) ^ v[4].rotate_right(25);
            let ch = (v[4] & v[5]) ^ (!v[4] & v[6]);
            let t1 = v[7]
                .wrapping_add(s1)
                .wrapping_add(ch)
                .wrapping_add(K[i])
                .wrapping_add(w[i]);
            let s0 = v[0].rotate_right(2) ^ v[0].rotate_right(13) ^ v[0].rotate_right(22);
            let maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
            let t2 = s0.wrapping_add(maj);
            v = [
                t1.wrapping_add(t2),
                v[0],
                v[1],
                v[2],
                v[3].wrapping_add(t1),
                v[4],
                v[5],
                v[6],
            ];
        }
        for (a, b) in h.iter_mut().zip(v) {
            *a = a.wrapping_add(b);
        }
    }
    let mut out = [0u8; 32];
    for (i, word) in h.iter().enumerate() {
        out[i * 4..i * 4 + 4].copy_from_slice(&word.to_be_bytes());
    }
    out
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
