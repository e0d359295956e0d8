//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and a strategic merge patch
//! that knows the list merge keys of the fields the runbooks and kubectl touch.
//!
//! To merge one more list by key in strategic merge patches, add `(field name, merge key)` to
//! [`MERGE_KEYS`].

use serde_json::{Map, Value};

use super::status::ApiError;

/// The patch flavours selected by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    Merge,
    Strategic,
    Json,
    Apply,
}

impl PatchType {
    /// The patch type of a request `Content-Type`, or 415.
    pub fn from_content_type(ct: &str) -> Result<Self, ApiError> {
        let base = ct.split(';').next().unwrap_or_default().trim();
        match base {
            "application/merge-patch+json" => Ok(Self::Merge),
            "application/strategic-merge-patch+json" => Ok(Self::Strategic),
            "application/json-patch+json" => Ok(Self::Json),
            "application/apply-patch+yaml" => Ok(Self::Apply),
            _ => Err(ApiError::unsupported_media_type()),
        }
    }
}

/// List fields merged by key in strategic merge patches: (field name, merge key).
const MERGE_KEYS: &[(&str, &str)] = &[
    ("containers", "name"),
    ("initContainers", "name"),
    ("containerStatuses", "name"),
    ("initContainerStatuses", "name"),
    ("conditions", "type"),
    ("addresses", "type"),
    ("env", "name"),
    ("volumes", "name"),
    ("volumeMounts", "mountPath"),
    ("ports", "containerPort"),
    ("ownerReferences", "uid"),
    ("imagePullSecrets", "name"),
];

/// Apply a patch body to `current`.
pub fn apply(current: &Value, body: &[u8], kind: PatchType) -> Result<Value, ApiError> {
    match kind {
        PatchType::Json => {
            let ops: json_patch::Patch = serde_json::from_slice(body).map_err(|e| {
                ApiError::bad_request(format!(
                    "the server rejected our request due to an error in our request: {e}"
                ))
            })?;
            let mut out = current.clone();
            json_patch::patch(&mut out, &ops).map_err(|e| ApiError::internal(e.to_string()))?;
            Ok(out)
        }
        PatchType::Merge | PatchType::Strategic | PatchType::Apply => {
            let patch: Value = if kind == PatchType::Apply {
                serde_yaml::from_slice(body).map_err(|e| ApiError::bad_request(e.to_string()))?
            } else {
                serde_json::from_slice(body)
                    .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?
            };
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "the body of the request was in an unknown format",
                ));
            }
            let mut out = current.clone();
            if kind == PatchType::Strategic {
                strategic(&mut out, &patch, "");
            } else {
                json_patch::merge(&mut out, &patch);
            }
            Ok(out)
        }
    }
}

fn strategic(target: &mut Value, patch: &Value, field: &str) {
    let Value::Object(p) = patch else {
        *target = patch.clone();
        return;
    };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut clean = p.clone();
        clean.remove("$patch");
        *target = Value::Object(clean);
        return;
    }
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else { return };
    for (k, v) in p {
        if k.starts_with('$') {
            continue;
        }
        match v {
            Value::Null => {
                t.remove(k);
            }
            Value::Object(_) => {
                let entry = t.entry(k.clone()).or_insert(Value::Null);
                strategic(entry, v, k);
            }
            Value::Array(items) => {
                let key = MERGE_KEYS.iter().find(|(f, _)| f == k).map(|(_, key)| *key);
                match (key, t.get_mut(k)) {
                    (Some(key), Some(Value::Array(existing))) => merge_list(existing, items, key),
                    _ => {
                        t.insert(
                            k.clone(),
                            Value::Array(
                                items
                                    .iter()
                                    .filter(|i| i.get("$patch").is_none())
                                    .cloned()
                                    .collect(),
                            ),
                        );
                    }
                }
            }
            _ => {
                t.insert(k.clone(), v.clone());
            }
        }
    }
    let _ = field;
}

fn merge_list(existing: &mut Vec<Value>, items: &[Value], key: &str) {
    for item in items {
        let id = item.get(key).cloned();
        let pos = id
            .as_ref()
            .and_then(|id| existing.iter().position(|e| e.get(key) == Some(id)));
        let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
        match (pos, delete) {
            (Some(i), true) => {
                existing.remove(i);
            }
            (Some(i), false) => strategic(&mut existing[i], item, key),
            (None, false) => existing.push(item.clone()),
            (None, true) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merges_conditions_by_type() {
        let cur = json!({"status": {"conditions": [{"type": "Ready", "status": "False"}, {"type": "X", "status": "True"}]}});
        let out = apply(
            &cur,
            br#"{"status":{"conditions":[{"type":"Ready","status":"True"}]}}"#,
            PatchType::Strategic,
        );
        assert_eq!(
            out.ok(),
            Some(
                json!({"status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "X", "status": "True"}]}})
            )
        );
    }

    #[test]
    fn merge_patch_removes_nulls() {
        let cur = json!({"metadata": {"labels": {"a": "1", "b": "2"}}});
        let out = apply(
            &cur,
            br#"{"metadata":{"labels":{"a":null}}}"#,
            PatchType::Merge,
        );
        assert_eq!(out.ok(), Some(json!({"metadata": {"labels": {"b": "2"}}})));
    }
}
