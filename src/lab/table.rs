//! Server-side printing: `meta.k8s.io/v1` `Table` responses, as `kubectl get` asks for them.
//!
//! Column definitions are the ones a real 1.24 server sends (`src/lab/api/columns.json`); cells
//! are computed here with the real printers' rules (pod STATUS precedence, RESTARTS with "ago",
//! node roles, Go's human-readable ages). A resource without a printer gets the default
//! `Name` / `Created At` table. To print one more kind, add its column definitions to
//! `columns.json` and a `cells_*` function in [`cells`].

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::clock::{age_str, human_duration, parse_ts};
use super::printers;
use super::resources::ResourceType;

fn columns_doc() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        serde_json::from_str(include_str!("api/columns.json")).unwrap_or(Value::Null)
    })
}

fn name_column() -> Value {
    columns_doc()["pods"][0].clone()
}

/// Column definitions for a resource type.
pub fn column_definitions(rt: &ResourceType) -> Value {
    if let Some(cols) = &rt.printer_columns {
        let mut out = vec![name_column()];
        for c in cols {
            let path = c["jsonPath"].as_str().unwrap_or_default();
            let description = c["description"].as_str().map_or_else(
                || format!("Custom resource definition column (in JSONPath format): {path}"),
                str::to_owned,
            );
            out.push(json!({
                "name": c["name"],
                "type": c["type"].as_str().unwrap_or("string"),
                "format": c["format"].as_str().unwrap_or(""),
                "description": description,
                "priority": c["priority"].as_i64().unwrap_or(0),
            }));
        }
        return Value::Array(out);
    }
    if let Some(cols) = printers::columns(&rt.key()) {
        return printers::definitions(cols);
    }
    let key = if rt.group.is_empty() || rt.group == "apiextensions.k8s.io" {
        rt.plural.as_str()
    } else {
        ""
    };
    match columns_doc().get(key) {
        Some(cols) => cols.clone(),
        None => json!([name_column(), {
            "name": "Created At", "type": "date", "format": "",
            "description": "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
            "priority": 0
        }]),
    }
}

/// One table row (`cells` + `object` as `PartialObjectMetadata`).
pub fn row(rt: &ResourceType, obj: &Value, now: DateTime<Utc>) -> Value {
    let mut partial = Map::new();
    partial.insert("kind".into(), "PartialObjectMetadata".into());
    partial.insert("apiVersion".into(), "meta.k8s.io/v1".into());
    partial.insert("metadata".into(), obj["metadata"].clone());
    let mut r = Map::new();
    r.insert("cells".into(), cells(rt, obj, now));
    r.insert("object".into(), Value::Object(partial));
    if rt.plural == "pods" && rt.group.is_empty() {
        let phase = obj["status"]["phase"].as_str().unwrap_or_default();
        if phase == "Failed" || phase == "Succeeded" {
            r.insert("conditions".into(), json!([{
                "type": "Completed", "status": "True", "reason": phase,
                "message": if phase == "Failed" { "The pod failed." } else { "The pod completed successfully." },
            }]));
        }
    }
    Value::Object(r)
}

/// A whole `Table` for a list of objects.
pub fn table(
    rt: &ResourceType,
    objs: &[&Value],
    resource_version: &str,
    extra_meta: Option<&Value>,
    now: DateTime<Utc>,
) -> Value {
    let rows = objs.iter().map(|o| row(rt, o, now)).collect();
    table_of_rows(rt, rows, resource_version, extra_meta)
}

/// A whole `Table` from rows made with [`row`] (moved in: a table of 20,000 rows is not
/// copied again).
pub fn table_of_rows(
    rt: &ResourceType,
    rows: Vec<Value>,
    resource_version: &str,
    extra_meta: Option<&Value>,
) -> Value {
    let mut metadata = Map::new();
    metadata.insert("resourceVersion".into(), resource_version.into());
    if let Some(Value::Object(m)) = extra_meta {
        for (k, v) in m {
            metadata.insert(k.clone(), v.clone());
        }
    }
    let mut t = Map::new();
    t.insert("kind".into(), "Table".into());
    t.insert("apiVersion".into(), "meta.k8s.io/v1".into());
    t.insert("metadata".into(), Value::Object(metadata));
    t.insert("columnDefinitions".into(), column_definitions(rt));
    t.insert("rows".into(), Value::Array(rows));
    Value::Object(t)
}

fn cells(rt: &ResourceType, obj: &Value, now: DateTime<Utc>) -> Value {
    let name = obj["metadata"]["name"].clone();
    let age = age_of(&obj["metadata"]["creationTimestamp"], now);
    if let Some(cols) = &rt.printer_columns {
        let mut out = vec![name];
        for c in cols {
            let v = json_path(obj, c["jsonPath"].as_str().unwrap_or_default());
            out.push(match (c["type"].as_str(), v) {
                (_, None | Some(Value::Null)) => Value::Null,
                (Some("date"), Some(Value::String(ts))) => json!(age_str(&ts, now)),
                (Some("integer" | "number" | "boolean"), Some(v)) => v,
                (_, Some(Value::String(s))) => json!(s),
                (_, Some(v)) => json!(v.to_string()),
            });
        }
        return Value::Array(out);
    }
    if let Some(cols) = printers::columns(&rt.key()) {
        return printers::cells(cols, obj, now);
    }
    if !rt.group.is_empty() && rt.group != "apiextensions.k8s.io" {
        return json!([name, obj["metadata"]["creationTimestamp"]]);
    }
    match rt.plural.as_str() {
        "pods" => pod_cells(obj, now),
        "namespaces" => json!([name, obj["status"]["phase"].as_str().unwrap_or(""), age]),
        "nodes" => node_cells(obj, now),
        "configmaps" => {
            let n = obj["data"].as_object().map_or(0, serde_json::Map::len)
                + obj["binaryData"]
                    .as_object()
                    .map_or(0, serde_json::Map::len);
            json!([name, n, age])
        }
        "events" => event_cells(obj, now),
        _ => json!([name, obj["metadata"]["creationTimestamp"]]),
    }
}

fn none_or(v: &Value) -> String {
    match v.as_str() {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => "<none>".to_owned(),
    }
}

/// The pod STATUS, READY, RESTARTS cells, following kubectl's `printPod`.
fn pod_cells(pod: &Value, now: DateTime<Utc>) -> Value {
    let status = &pod["status"];
    let total = pod["spec"]["containers"].as_array().map_or(0, Vec::len);
    let mut reason = status["phase"].as_str().unwrap_or_default().to_owned();
    if let Some(r) = status["reason"].as_str().filter(|r| !r.is_empty()) {
        r.clone_into(&mut reason);
    }
    let progress = init_progress(pod).unwrap_or_else(|| container_progress(pod, reason));
    let reason = if pod["metadata"]["deletionTimestamp"].is_string() {
        if status["reason"] == "NodeLost" {
            "Unknown".into()
        } else {
            "Terminating".into()
        }
    } else {
        progress.reason
    };
    let restarts_cell = match progress.last_restart {
        Some(t) => format!("{} ({} ago)", progress.restarts, human_duration(now - t)),
        None => progress.restarts.to_string(),
    };
    json!([
        pod["metadata"]["name"],
        format!("{}/{total}", progress.ready),
        reason,
        restarts_cell,
        age_of(&pod["metadata"]["creationTimestamp"], now),
        none_or(&status["podIP"]),
        none_or(&pod["spec"]["nodeName"]),
        none_or(&status["nominatedNodeName"]),
        readiness_gates(pod),
    ])
}

/// Where a pod's containers stand, as `printPod` counts them.
struct Progress {
    reason: String,
    restarts: i64,
    ready: usize,
    last_restart: Option<DateTime<Utc>>,
}

/// While an init container has not exited 0: `Init:…` and the init restarts up to it. None
/// once every init container that reported succeeded (its restarts are then not counted).
fn init_progress(pod: &Value) -> Option<Progress> {
    let statuses = pod["status"]["initContainerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let init_total = pod["spec"]["initContainers"].as_array().map_or(0, Vec::len);
    let mut restarts: i64 = 0;
    for (i, c) in statuses.iter().enumerate() {
        restarts += c["restartCount"].as_i64().unwrap_or(0);
        let term = &c["state"]["terminated"];
        if term.is_object() && term["exitCode"].as_i64() == Some(0) {
            continue;
        }
        let reason = if term.is_object() {
            match term["reason"].as_str().filter(|r| !r.is_empty()) {
                Some(r) => format!("Init:{r}"),
                None => format!("Init:ExitCode:{}", term["exitCode"].as_i64().unwrap_or(0)),
            }
        } else if let Some(r) = c["state"]["waiting"]["reason"]
            .as_str()
            .filter(|r| !r.is_empty() && *r != "PodInitializing")
        {
            format!("Init:{r}")
        } else {
            format!("Init:{i}/{init_total}")
        };
        return Some(Progress {
            reason,
            restarts,
            ready: 0,
            last_restart: None,
        });
    }
    None
}

/// The app containers' restarts, ready count and last restart, and the reason the last of
/// them (in kubectl's reverse order) gives, starting from the pod's own `reason`.
fn container_progress(pod: &Value, mut reason: String) -> Progress {
    let status = &pod["status"];
    let mut progress = Progress {
        reason: String::new(),
        restarts: 0,
        ready: 0,
        last_restart: None,
    };
    let mut has_running = false;
    let statuses = status["containerStatuses"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for c in statuses.iter().rev() {
        progress.restarts += c["restartCount"].as_i64().unwrap_or(0);
        if let Some(t) = c["lastState"]["terminated"]["finishedAt"]
            .as_str()
            .and_then(parse_ts)
            && progress.last_restart.is_none_or(|l| t > l)
        {
            progress.last_restart = Some(t);
        }
        if let Some(r) = container_reason(&c["state"]) {
            reason = r;
        } else if c["ready"].as_bool() == Some(true) && c["state"]["running"].is_object() {
            has_running = true;
            progress.ready += 1;
        }
    }
    if reason == "Completed" && has_running {
        let pod_ready = status["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        });
        reason = if pod_ready {
            "Running".into()
        } else {
            "NotReady".into()
        };
    }
    progress.reason = reason;
    progress
}

/// The reason a waiting or terminated container gives the pod's STATUS.
fn container_reason(state: &Value) -> Option<String> {
    if let Some(r) = state["waiting"]["reason"]
        .as_str()
        .filter(|r| !r.is_empty())
    {
        return Some(r.to_owned());
    }
    if let Some(r) = state["terminated"]["reason"]
        .as_str()
        .filter(|r| !r.is_empty())
    {
        return Some(r.to_owned());
    }
    if !state["terminated"].is_object() {
        return None;
    }
    let sig = state["terminated"]["signal"].as_i64().unwrap_or(0);
    Some(if sig == 0 {
        format!(
            "ExitCode:{}",
            state["terminated"]["exitCode"].as_i64().unwrap_or(0)
        )
    } else {
        format!("Signal:{sig}")
    })
}

/// READINESS GATES: how many of the pod's gates have a true condition, or `<none>`.
fn readiness_gates(pod: &Value) -> String {
    pod["spec"]["readinessGates"]
        .as_array()
        .filter(|g| !g.is_empty())
        .map_or_else(
            || "<none>".to_owned(),
            |g| {
                let conds = pod["status"]["conditions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default();
                let ok = g
                    .iter()
                    .filter(|gate| {
                        conds
                            .iter()
                            .any(|c| c["type"] == gate["conditionType"] && c["status"] == "True")
                    })
                    .count();
                format!("{ok}/{}", g.len())
            },
        )
}

fn node_cells(node: &Value, now: DateTime<Utc>) -> Value {
    let status = &node["status"];
    let conds = status["conditions"].as_array().cloned().unwrap_or_default();
    let mut state = match conds.iter().find(|c| c["type"] == "Ready") {
        Some(c) if c["status"] == "True" => "Ready".to_owned(),
        Some(_) => "NotReady".to_owned(),
        None => "Unknown".to_owned(),
    };
    if node["spec"]["unschedulable"].as_bool() == Some(true) {
        state.push_str(",SchedulingDisabled");
    }
    let mut roles: Vec<String> = node["metadata"]["labels"]
        .as_object()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    if let Some(role) = k.strip_prefix("node-role.kubernetes.io/") {
                        (!role.is_empty()).then(|| role.to_owned())
                    } else if k == "kubernetes.io/role" {
                        v.as_str().map(str::to_owned)
                    } else {
                        None
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    roles.dedup();
    let roles = if roles.is_empty() {
        "<none>".to_owned()
    } else {
        roles.join(",")
    };
    let address = |t: &str| {
        status["addresses"]
            .as_array()
            .and_then(|a| a.iter().find(|x| x["type"] == t))
            .and_then(|x| x["address"].as_str())
            .map_or_else(|| "<none>".to_owned(), str::to_owned)
    };
    let info = &status["nodeInfo"];
    let unknown = |v: &Value| match v.as_str() {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => "<unknown>".to_owned(),
    };
    json!([
        node["metadata"]["name"],
        state,
        roles,
        age_of(&node["metadata"]["creationTimestamp"], now),
        info["kubeletVersion"].as_str().unwrap_or(""),
        address("InternalIP"),
        address("ExternalIP"),
        unknown(&info["osImage"]),
        unknown(&info["kernelVersion"]),
        unknown(&info["containerRuntimeVersion"]),
    ])
}

fn event_cells(ev: &Value, now: DateTime<Utc>) -> Value {
    let last = if ev["lastTimestamp"].is_string() {
        age_of(&ev["lastTimestamp"], now)
    } else if ev["eventTime"].is_string() {
        age_of(&ev["eventTime"], now)
    } else {
        "<unknown>".to_owned()
    };
    let first = if ev["firstTimestamp"].is_string() {
        age_of(&ev["firstTimestamp"], now)
    } else if ev["eventTime"].is_string() {
        age_of(&ev["eventTime"], now)
    } else {
        "<unknown>".to_owned()
    };
    let io = &ev["involvedObject"];
    let object = format!(
        "{}/{}",
        io["kind"].as_str().unwrap_or_default().to_lowercase(),
        io["name"].as_str().unwrap_or_default()
    );
    let mut source = ev["source"]["component"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    if let Some(host) = ev["source"]["host"].as_str().filter(|h| !h.is_empty()) {
        source = format!("{source}, {host}");
    }
    let text = |v: &Value| Value::from(v.as_str().unwrap_or_default());
    Value::Array(vec![
        last.into(),
        text(&ev["type"]),
        text(&ev["reason"]),
        object.into(),
        text(&io["fieldPath"]),
        source.into(),
        ev["message"].as_str().unwrap_or("").trim().into(),
        first.into(),
        ev["count"].as_i64().unwrap_or(1).into(),
        ev["metadata"]["name"].clone(),
    ])
}

/// A (very small) `JSONPath`: `.a.b`, `.a['b.c']`, `.a[0]`.
pub fn json_path(obj: &Value, path: &str) -> Option<Value> {
    let mut cur = obj;
    let mut rest = path.trim().trim_start_matches('{').trim_end_matches('}');
    rest = rest.strip_prefix('$').unwrap_or(rest);
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            cur = cur.get(&r[..end])?;
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim_matches(['\'', '"']);
            cur = match inner.parse::<usize>() {
                Ok(i) => cur.get(i)?,
                Err(_) => cur.get(inner)?,
            };
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(cur.clone())
}

fn age_of(ts: &Value, now: DateTime<Utc>) -> String {
    ts.as_str()
        .map_or_else(|| "<unknown>".to_owned(), |s| age_str(s, now))
}
