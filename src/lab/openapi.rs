//! A minimal `/openapi/v3`: just enough for kubectl to see that the lab validates fields on the
//! server, so `kubectl create -f` / `kubectl apply -f` send `fieldValidation=Strict` instead of
//! downloading a full schema for client-side validation (which the lab does not have).
//!
//! kubectl reads the root (`paths` → one document per group-version) and, in a group-version
//! document, looks for a PATCH operation tagged with the object's group/version/kind
//! (`x-kubernetes-group-version-kind`) that lists a `fieldValidation` query parameter. Each
//! served resource gets one such operation. Like the recorded 1.24 server, the lab accepts the
//! parameter and does not reject unknown fields.

use serde_json::{Map, Value, json};

use super::resources::ResourceType;

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the group-versions and where their documents are.
pub fn root(types: &[ResourceType]) -> Value {
    let mut paths = Map::new();
    for t in types {
        let p = gv_path(&t.group, &t.version);
        paths.entry(p.clone()).or_insert_with(|| {
            json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000")})
        });
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<api/v1 | apis/group/version>`: one PATCH operation per resource, or None.
pub fn group_version(types: &[ResourceType], path: &str) -> Option<Value> {
    let mut paths = Map::new();
    for t in types
        .iter()
        .filter(|t| gv_path(&t.group, &t.version) == path)
    {
        let url = if t.namespaced {
            format!("/{path}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("/{path}/{}/{{name}}", t.plural)
        };
        paths.insert(
            url,
            json!({
                "patch": {
                    "operationId": format!("patch{}", t.kind),
                    "x-kubernetes-action": "patch",
                    "x-kubernetes-group-version-kind": {"group": t.group, "version": t.version, "kind": t.kind},
                    "parameters": [
                        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
                        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}
                    ],
                    "responses": {"200": {"description": "OK"}}
                }
            }),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.4-runbook-lab"},
        "paths": paths,
        "components": {"schemas": {}},
    }))
}
