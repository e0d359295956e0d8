//! Live choices for a placeholder: the objects of the cluster it names.
//!
//! A runbook says which objects fit a placeholder in its front matter (see
//! `runbooks/README.md`, "Live pickers"):
//!
//! ```yaml
//! placeholders:
//!   namespace:
//!     pick: namespaces                      # short form: just the resource
//!   mgmt-pod-name:
//!     pick:
//!       resource: pods
//!       namespace: hubble-system            # or "<namespace>": another placeholder's value
//!       contains: mgmt                      # keep names containing this
//!       selector: app=mgmt                  # label selector (optional)
//!   hostname:
//!     pick: {resource: nodes, value: Internal-IP}   # insert a column's cell, not the name
//! ```
//!
//! The list comes from the API server as a `Table` (the columns `kubectl get` prints), so every
//! resource, custom ones included, shows its own status columns.

use serde::Deserialize;
use serde_json::Value;

use crate::runbook::PlaceholderDoc;

/// Most objects one picker lists (one page).
pub const LIMIT: usize = 500;

/// Which objects fit a placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PickSpec {
    /// Plural resource name, with its API group when not core: `pods`,
    /// `ipclaims.ipam.cluster.x-k8s.io`.
    pub resource: String,
    /// A namespace, or `<placeholder>` for another placeholder's value; all when absent.
    #[serde(default)]
    pub namespace: Option<String>,
    /// Label selector.
    #[serde(default)]
    pub selector: Option<String>,
    /// Field selector.
    #[serde(default)]
    pub fields: Option<String>,
    /// Keep only names containing this.
    #[serde(default)]
    pub contains: Option<String>,
    /// The column whose cell is the value, when it is not the name (`Internal-IP` of nodes).
    #[serde(default)]
    pub value: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Hint {
    Short(String),
    Full(PickSpec),
}

impl PickSpec {
    /// The `pick:` hint of a placeholder, if it has one; `Err` says what is wrong with it.
    pub fn of(doc: &PlaceholderDoc) -> Option<Result<Self, String>> {
        let value = doc.extra.get("pick")?;
        Some(
            match serde_yaml::from_value::<Hint>(value.clone()) {
                Ok(Hint::Short(resource)) => Ok(Self {
                    resource,
                    namespace: None,
                    selector: None,
                    fields: None,
                    contains: None,
                    value: None,
                }),
                Ok(Hint::Full(spec)) => Ok(spec),
                Err(e) => Err(format!(
                    "`pick` must be a resource name or a map with resource, namespace, \
                     selector, fields, contains: {e}"
                )),
            }
            .and_then(|s| {
                if s.resource.trim().is_empty() {
                    Err("`pick` needs a resource".to_owned())
                } else {
                    Ok(s)
                }
            }),
        )
    }

    /// The placeholder the namespace comes from (`<namespace>` → `namespace`).
    pub fn namespace_placeholder(&self) -> Option<&str> {
        self.namespace
            .as_deref()
            .and_then(|n| n.strip_prefix('<'))
            .and_then(|n| n.strip_suffix('>'))
    }
}

/// One object offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice {
    pub name: String,
    /// What goes into the command: the name, or the cell of the spec's `value` column.
    pub value: String,
    pub namespace: Option<String>,
    /// The other columns, as `kubectl get` shows them (`1/1  Running  0  5m`).
    pub detail: String,
}

/// Lists the objects `spec` names, in `namespace` (resolved by the caller) or all namespaces.
pub async fn list(
    client: &kube::Client,
    spec: &PickSpec,
    namespace: Option<&str>,
) -> Result<Vec<Choice>, String> {
    let (plural, group) = spec
        .resource
        .split_once('.')
        .unwrap_or((spec.resource.as_str(), ""));
    let discovery = kube::discovery::Discovery::new(client.clone())
        .filter(&[group])
        .run()
        .await
        .map_err(|e| format!("cannot discover `{}`: {}", spec.resource, super::plain(&e)))?;
    let (resource, caps) = discovery
        .groups()
        .flat_map(kube::discovery::ApiGroup::recommended_resources)
        .find(|(r, _)| r.plural == plural)
        .ok_or_else(|| format!("this cluster has no `{}`", spec.resource))?;
    let namespaced = caps.scope == kube::discovery::Scope::Namespaced;
    let base = if resource.group.is_empty() {
        format!("/api/{}", resource.version)
    } else {
        format!("/apis/{}/{}", resource.group, resource.version)
    };
    let path = match namespace {
        Some(ns) if namespaced => format!("{base}/namespaces/{ns}/{}", resource.plural),
        _ => format!("{base}/{}", resource.plural),
    };
    let query = {
        let mut query = form_urlencoded::Serializer::new(String::new());
        query.append_pair("limit", &LIMIT.to_string());
        if let Some(s) = &spec.selector {
            query.append_pair("labelSelector", s);
        }
        if let Some(f) = &spec.fields {
            query.append_pair("fieldSelector", f);
        }
        query.finish()
    };
    let request = http::Request::get(format!("{path}?{query}"))
        .header(
            http::header::ACCEPT,
            "application/json;as=Table;v=v1;g=meta.k8s.io,application/json",
        )
        .body(Vec::new())
        .map_err(|e| e.to_string())?;
    let text = client
        .request_text(request)
        .await
        .map_err(|e| super::health::explain(&e, "the cluster"))?;
    let value: Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
    let mut choices = parse(
        &value,
        namespace.filter(|_| namespaced),
        spec.value.as_deref(),
    );
    if let Some(part) = &spec.contains {
        choices.retain(|c| c.name.contains(part.as_str()));
    }
    Ok(choices)
}

/// Choices from a `Table` (or a plain list, from a server that ignores the table request).
pub fn parse(value: &Value, namespace: Option<&str>, column: Option<&str>) -> Vec<Choice> {
    let ns_of = |object: &Value| {
        object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| namespace.map(str::to_owned))
    };
    if value["kind"] == "Table" {
        // (name, priority): priority 0 is what `kubectl get` shows, the rest is `-o wide`.
        let columns: Vec<(&str, u64)> = value["columnDefinitions"]
            .as_array()
            .map(|c| {
                c.iter()
                    .map(|d| {
                        (
                            d["name"].as_str().unwrap_or(""),
                            d["priority"].as_u64().unwrap_or(0),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let name_at = columns
            .iter()
            .position(|(c, _)| c.eq_ignore_ascii_case("name"))
            .unwrap_or(0);
        let value_at = column.and_then(|want| {
            columns
                .iter()
                .position(|(c, _)| c.eq_ignore_ascii_case(want))
        });
        return value["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .filter_map(|row| {
                        let cells = row["cells"].as_array()?;
                        let name = cells.get(name_at)?.as_str()?.to_owned();
                        // A row without the value column has nothing to offer.
                        let value = match value_at {
                            Some(i) => cell(cells.get(i)?),
                            None => name.clone(),
                        };
                        if value.is_empty() || value == "<none>" {
                            return None;
                        }
                        let detail = cells
                            .iter()
                            .enumerate()
                            .filter(|(i, _)| {
                                *i != name_at
                                    && (Some(*i) == value_at
                                        || columns.get(*i).is_none_or(|(_, p)| *p == 0))
                            })
                            .map(|(_, c)| cell(c))
                            .filter(|c| !c.is_empty())
                            .collect::<Vec<_>>()
                            .join("  ");
                        Some(Choice {
                            name,
                            value,
                            namespace: ns_of(&row["object"]),
                            detail,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
    }
    value["items"]
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    let name = item.pointer("/metadata/name")?.as_str()?.to_owned();
                    Some(Choice {
                        value: name.clone(),
                        name,
                        namespace: ns_of(item),
                        detail: item
                            .pointer("/status/phase")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

fn cell(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(yaml: &str) -> PlaceholderDoc {
        serde_yaml::from_str(yaml).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn reads_short_and_full_hints_and_reports_bad_ones() {
        let short = PickSpec::of(&doc("pick: namespaces")).and_then(Result::ok);
        assert_eq!(short.map(|s| s.resource), Some("namespaces".to_owned()));
        let full = PickSpec::of(&doc(
            "pick: {resource: pods, namespace: '<ns>', contains: mgmt}",
        ))
        .and_then(Result::ok);
        assert_eq!(
            full.as_ref().and_then(PickSpec::namespace_placeholder),
            Some("ns")
        );
        assert!(matches!(
            PickSpec::of(&doc("pick: {resorce: pods}")),
            Some(Err(_))
        ));
        assert!(PickSpec::of(&doc("description: x")).is_none());
    }

    #[test]
    fn parses_tables_and_plain_lists() {
        let table = json!({
            "kind": "Table",
            "columnDefinitions": [{"name": "Name"}, {"name": "Ready"}, {"name": "Status"},
                                  {"name": "IP", "priority": 1}],
            "rows": [{"cells": ["mgmt-1", "1/1", "Running", "10.0.0.1"],
                      "object": {"metadata": {"name": "mgmt-1", "namespace": "hubble-system"}}}],
        });
        let c = parse(&table, None, None);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].detail, "1/1  Running");
        assert_eq!(c[0].value, "mgmt-1");
        let by_ip = parse(&table, None, Some("ip"));
        assert_eq!(by_ip[0].value, "10.0.0.1");
        assert_eq!(by_ip[0].detail, "1/1  Running  10.0.0.1");
        assert_eq!(c[0].namespace.as_deref(), Some("hubble-system"));
        let list = json!({"items": [{"metadata": {"name": "n1"}, "status": {"phase": "Active"}}]});
        assert_eq!(parse(&list, None, None)[0].detail, "Active");
    }
}
