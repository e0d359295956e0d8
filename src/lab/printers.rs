//! Table columns of the built-in kinds from data (`api/printers.yaml`): each column names a
//! cell in a small language (fields with defaults, templates, and a few functions such as
//! `join`, `selector` and `ports`), plus named printers written here for the cells whose rules
//! are more than a field (`fn:job_status`, `fn:external_ip`, ...).
//!
//! To print one more kind, add its columns to `api/printers.yaml`; to add a function, add an
//! arm to [`function`] or, for a whole printer, write it as a small function and add a row to
//! [`SPECIAL`].

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::clock::{age_str, human_duration, parse_ts};

/// One column of `api/printers.yaml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub priority: i64,
    pub cell: String,
}

fn printers() -> &'static BTreeMap<String, Vec<Column>> {
    static DOC: OnceLock<BTreeMap<String, Vec<Column>>> = OnceLock::new();
    DOC.get_or_init(|| serde_yaml::from_str(include_str!("api/printers.yaml")).unwrap_or_default())
}

/// The columns of a resource (`deployments.apps`, `services`), if it has a printer here.
pub fn columns(key: &str) -> Option<&'static [Column]> {
    printers().get(key).map(Vec::as_slice)
}

/// The column definitions as the `Table` lists them.
pub fn definitions(cols: &[Column]) -> Value {
    Value::Array(
        cols.iter()
            .map(|c| {
                let name = c.cell == "name";
                json!({
                    "name": c.name,
                    "type": c.kind.as_deref().map_or("string", |k| if k == "date" { "string" } else { k }),
                    "format": if name { "name" } else { "" },
                    "description": if name {
                        "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: http://kubernetes.io/docs/user-guide/identifiers#names".to_owned()
                    } else {
                        format!("{} of the object.", c.name)
                    },
                    "priority": c.priority,
                })
            })
            .collect(),
    )
}

/// The cells of one object.
pub fn cells(cols: &[Column], obj: &Value, now: DateTime<Utc>) -> Value {
    Value::Array(cols.iter().map(|c| cell(c, obj, now)).collect())
}

fn cell(c: &Column, obj: &Value, now: DateTime<Utc>) -> Value {
    let text = match c.cell.as_str() {
        "name" => return obj["metadata"]["name"].clone(),
        "created" => return obj["metadata"]["creationTimestamp"].clone(),
        "age" => {
            return json!(
                obj["metadata"]["creationTimestamp"]
                    .as_str()
                    .map_or_else(|| "<unknown>".to_owned(), |t| age_str(t, now))
            );
        }
        cell => eval(cell, obj, now),
    };
    match c.kind.as_deref() {
        Some("integer") => text.parse::<i64>().map_or(json!(text), |n| json!(n)),
        Some("boolean") => match text.as_str() {
            "true" => json!(true),
            "false" => json!(false),
            _ => json!(text),
        },
        _ => json!(text),
    }
}

fn eval(cell: &str, obj: &Value, now: DateTime<Utc>) -> String {
    if let Some(name) = cell.strip_prefix("fn:") {
        return special(name, obj, now);
    }
    if cell.contains('{') {
        let mut out = String::new();
        let mut rest = cell;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            out.push_str(&eval(&rest[start + 1..start + end], obj, now));
            rest = &rest[start + end + 1..];
        }
        out.push_str(rest);
        return out;
    }
    if let Some((f, arg)) = cell.split_once('(') {
        let arg = arg.trim_end_matches(')');
        return function(f, arg, obj, now);
    }
    let (path, default) = cell.split_once('|').unwrap_or((cell, "<none>"));
    match field(obj, path) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Null | Value::String(_)) | None => default.to_owned(),
        Some(v) => v.to_string(),
    }
}

/// The values at a path; `[*]` fans out over a list.
fn values<'a>(v: &'a Value, path: &str) -> Vec<&'a Value> {
    let path = path.strip_prefix('.').unwrap_or(path);
    if path.is_empty() {
        return if v.is_null() { vec![] } else { vec![v] };
    }
    let (head, rest) = path.split_once('.').unwrap_or((path, ""));
    if let Some(list) = head.strip_suffix("[*]") {
        return v[list]
            .as_array()
            .map(|items| items.iter().flat_map(|i| values(i, rest)).collect())
            .unwrap_or_default();
    }
    values(&v[head], rest)
}

fn field<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    values(v, path).into_iter().next()
}

fn or_none(parts: &[String]) -> String {
    if parts.is_empty() {
        "<none>".to_owned()
    } else {
        parts.join(",")
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn label_pairs(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", text_of(v)))
                .collect()
        })
        .unwrap_or_default()
}

fn function(f: &str, arg: &str, obj: &Value, now: DateTime<Utc>) -> String {
    match f {
        "count" => field(obj, arg)
            .map_or(0, |v| match v {
                Value::Array(a) => a.len(),
                Value::Object(m) => m.len(),
                _ => 0,
            })
            .to_string(),
        "join" => or_none(
            &values(obj, arg)
                .into_iter()
                .map(text_of)
                .collect::<Vec<_>>(),
        ),
        "labels" => or_none(&label_pairs(field(obj, arg))),
        "selector" => {
            let Some(sel) = field(obj, arg) else {
                return "<none>".to_owned();
            };
            let mut parts = label_pairs(sel.get("matchLabels"));
            for e in sel["matchExpressions"].as_array().into_iter().flatten() {
                let key = e["key"].as_str().unwrap_or_default();
                let vals: Vec<String> = e["values"]
                    .as_array()
                    .map(|v| v.iter().map(text_of).collect())
                    .unwrap_or_default();
                parts.push(match e["operator"].as_str().unwrap_or_default() {
                    "In" => format!("{key} in ({})", vals.join(",")),
                    "NotIn" => format!("{key} notin ({})", vals.join(",")),
                    "Exists" => key.to_owned(),
                    _ => format!("!{key}"),
                });
            }
            or_none(&parts)
        }
        "ports" => {
            let parts: Vec<String> = values(obj, arg)
                .into_iter()
                .flat_map(|p| p.as_array().cloned().unwrap_or_default())
                .map(|p| {
                    let proto = p["protocol"].as_str().unwrap_or("TCP");
                    match p["nodePort"].as_i64() {
                        Some(np) => format!("{}:{np}/{proto}", text_of(&p["port"])),
                        None => format!("{}/{proto}", text_of(&p["port"])),
                    }
                })
                .collect();
            or_none(&parts)
        }
        "word" => match field(obj, arg) {
            Some(Value::Bool(true)) => "True".to_owned(),
            Some(Value::Bool(false)) => "False".to_owned(),
            _ => "<unset>".to_owned(),
        },
        "since" => field(obj, arg)
            .and_then(Value::as_str)
            .map_or_else(|| "<none>".to_owned(), |t| age_str(t, now)),
        _ => "<none>".to_owned(),
    }
}

/// A printer written here: the object and the time to measure ages against.
type Printer = fn(&Value, DateTime<Utc>) -> String;

/// The printers that `fn:NAME` cells name. `subjects_KIND` names not listed here are served
/// by [`subjects`] too (see [`special`]).
const SPECIAL: &[(&str, Printer)] = &[
    ("job_status", job_status),
    ("job_completions", job_completions),
    ("job_duration", job_duration),
    ("external_ip", external_ip),
    ("endpoints", endpoints),
    ("slice_ports", slice_ports),
    ("slice_endpoints", slice_endpoints),
    ("access_modes", access_modes),
    ("claim", claim),
    ("storageclass_name", storageclass_name),
    ("ingress_hosts", ingress_hosts),
    ("ingress_ports", ingress_ports),
    ("hpa_targets", hpa_targets),
    ("controller", controller),
    ("csr_duration", csr_duration),
    ("csr_condition", csr_condition),
    ("apiservice_service", apiservice_service),
    ("apiservice_available", apiservice_available),
    ("quota_request", |obj, _| quota(obj, false)),
    ("quota_limit", |obj, _| quota(obj, true)),
    ("component_status", component_status),
    ("component_message", |obj, _| {
        healthy_condition_text(obj, "message")
    }),
    ("component_error", |obj, _| {
        healthy_condition_text(obj, "error")
    }),
];

/// A job's STATUS column: the first of these conditions that holds, checked in this order
/// (suspension is checked after them, then "Running").
const JOB_STATES: &[&str] = &["Complete", "Failed", "FailureTarget", "SuccessCriteriaMet"];

/// The short names kubectl prints for volume access modes.
const ACCESS_MODES: &[(&str, &str)] = &[
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
];

/// How many endpoint addresses a cell shows before "+ N more...".
const SHOWN_ADDRESSES: usize = 3;

/// Printers with more rules than a field.
fn special(name: &str, obj: &Value, now: DateTime<Utc>) -> String {
    if let Some((_, printer)) = SPECIAL.iter().find(|(n, _)| *n == name) {
        return printer(obj, now);
    }
    match name.strip_prefix("subjects_") {
        Some(kind) => subjects(obj, kind),
        None => "<none>".to_owned(),
    }
}

/// Whether the object's status has condition `kind` with status "True".
fn condition_holds(obj: &Value, kind: &str) -> bool {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["type"] == kind && c["status"] == "True")
}

/// `join` of the strings, or `empty` when there are none.
fn join_or(parts: &[String], empty: &str) -> String {
    if parts.is_empty() {
        empty.to_owned()
    } else {
        parts.join(",")
    }
}

/// The first [`SHOWN_ADDRESSES`] addresses, then "+ N more..." when there are more.
fn at_most_shown(mut parts: Vec<String>, empty: &str) -> String {
    if parts.len() > SHOWN_ADDRESSES {
        let more = parts.len() - SHOWN_ADDRESSES;
        parts.truncate(SHOWN_ADDRESSES);
        return format!("{} + {more} more...", parts.join(","));
    }
    join_or(&parts, empty)
}

fn job_status(obj: &Value, _: DateTime<Utc>) -> String {
    if let Some(state) = JOB_STATES.iter().find(|s| condition_holds(obj, s)) {
        return (*state).to_owned();
    }
    if obj["spec"]["suspend"] == true || condition_holds(obj, "Suspended") {
        "Suspended".to_owned()
    } else {
        "Running".to_owned()
    }
}

fn job_completions(obj: &Value, _: DateTime<Utc>) -> String {
    let spec = &obj["spec"];
    let succeeded = obj["status"]["succeeded"].as_i64().unwrap_or(0);
    if let Some(c) = spec["completions"].as_i64() {
        return format!("{succeeded}/{c}");
    }
    let parallelism = spec["parallelism"].as_i64().unwrap_or(1);
    if parallelism > 1 {
        format!("{succeeded}/1 of {parallelism}")
    } else {
        format!("{succeeded}/1")
    }
}

fn job_duration(obj: &Value, now: DateTime<Utc>) -> String {
    let status = &obj["status"];
    let Some(start) = status["startTime"].as_str().and_then(parse_ts) else {
        return String::new();
    };
    let end = status["completionTime"]
        .as_str()
        .and_then(parse_ts)
        .unwrap_or(now);
    human_duration(end - start)
}

/// A service's EXTERNAL-IP: the external name, the load balancer's addresses, or the
/// external IPs, depending on its type.
fn external_ip(obj: &Value, _: DateTime<Utc>) -> String {
    let spec = &obj["spec"];
    let external: Vec<String> = spec["externalIPs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(text_of)
        .collect();
    match spec["type"].as_str().unwrap_or("ClusterIP") {
        "ExternalName" => spec["externalName"].as_str().unwrap_or("<none>").to_owned(),
        "LoadBalancer" => {
            let all: Vec<String> = load_balancer_addresses(obj)
                .into_iter()
                .chain(external)
                .collect();
            join_or(&all, "<pending>")
        }
        _ => or_none(&external),
    }
}

/// The IPs (or host names) of a service's load balancer ingress.
fn load_balancer_addresses(obj: &Value) -> Vec<String> {
    obj["status"]["loadBalancer"]["ingress"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i["ip"]
                .as_str()
                .or(i["hostname"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// An Endpoints object's `ip:port` pairs (the bare IP for a subset without ports).
fn endpoints(obj: &Value, _: DateTime<Utc>) -> String {
    let mut out = Vec::new();
    for subset in obj["subsets"].as_array().into_iter().flatten() {
        for a in subset["addresses"].as_array().into_iter().flatten() {
            let ip = a["ip"].as_str().unwrap_or_default();
            let ports = subset["ports"].as_array().cloned().unwrap_or_default();
            if ports.is_empty() {
                out.push(ip.to_owned());
            }
            for p in ports {
                out.push(format!("{ip}:{}", text_of(&p["port"])));
            }
        }
    }
    at_most_shown(out, "<none>")
}

fn slice_ports(obj: &Value, _: DateTime<Utc>) -> String {
    let ports: Vec<String> = obj["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| text_of(&p["port"]))
        .collect();
    join_or(&ports, "<unset>")
}

fn slice_endpoints(obj: &Value, _: DateTime<Utc>) -> String {
    let ips: Vec<String> = values(obj, ".endpoints[*].addresses")
        .into_iter()
        .flat_map(|a| a.as_array().cloned().unwrap_or_default())
        .map(|a| text_of(&a))
        .collect();
    at_most_shown(ips, "<unset>")
}

fn access_modes(obj: &Value, _: DateTime<Utc>) -> String {
    let short: Vec<&str> = obj["spec"]["accessModes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            let mode = m.as_str()?;
            ACCESS_MODES
                .iter()
                .find(|(long, _)| *long == mode)
                .map(|(_, short)| *short)
        })
        .collect();
    short.join(",")
}

/// A persistent volume's CLAIM: `namespace/name`, or empty when unbound.
fn claim(obj: &Value, _: DateTime<Utc>) -> String {
    namespaced_ref(&obj["spec"]["claimRef"]).unwrap_or_default()
}

/// `namespace/name` of a reference that has a name.
fn namespaced_ref(r: &Value) -> Option<String> {
    let name = r["name"].as_str()?;
    Some(format!(
        "{}/{name}",
        r["namespace"].as_str().unwrap_or_default()
    ))
}

fn storageclass_name(obj: &Value, _: DateTime<Utc>) -> String {
    let meta = &obj["metadata"];
    let name = meta["name"].as_str().unwrap_or_default().to_owned();
    if meta["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true" {
        format!("{name} (default)")
    } else {
        name
    }
}

fn ingress_hosts(obj: &Value, _: DateTime<Utc>) -> String {
    let hosts: Vec<String> = values(obj, ".spec.rules[*].host")
        .into_iter()
        .map(text_of)
        .collect();
    join_or(&hosts, "*")
}

fn ingress_ports(obj: &Value, _: DateTime<Utc>) -> String {
    if obj["spec"]["tls"].as_array().is_some_and(|t| !t.is_empty()) {
        "80, 443".to_owned()
    } else {
        "80".to_owned()
    }
}

/// An autoscaler's TARGETS: `resource: current/want%` for each utilization metric.
fn hpa_targets(obj: &Value, _: DateTime<Utc>) -> String {
    let metrics = obj["spec"]["metrics"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if metrics.is_empty() {
        return "<none>".to_owned();
    }
    let parts: Vec<String> = metrics
        .iter()
        .filter_map(|m| {
            let name = m["resource"]["name"].as_str()?;
            let want = m["resource"]["target"]["averageUtilization"].as_i64()?;
            let current = current_utilization(obj, name)
                .map_or_else(|| "<unknown>".to_owned(), |c| format!("{c}%"));
            Some(format!("{name}: {current}/{want}%"))
        })
        .collect();
    or_none(&parts)
}

/// The current average utilization an autoscaler reports for a resource.
fn current_utilization(obj: &Value, resource: &str) -> Option<i64> {
    obj["status"]["currentMetrics"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["resource"]["name"] == resource)
        .and_then(|c| c["resource"]["current"]["averageUtilization"].as_i64())
}

/// The controlling owner as `kind.group/name` (`kind/name` for the core group).
fn controller(obj: &Value, _: DateTime<Utc>) -> String {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|o| o["controller"] == true)
        .map_or_else(
            || "<none>".to_owned(),
            |o| {
                let api = o["apiVersion"].as_str().unwrap_or_default();
                let group = api.split_once('/').map_or("", |(g, _)| g);
                let kind = o["kind"].as_str().unwrap_or_default().to_lowercase();
                let kind = if group.is_empty() {
                    kind
                } else {
                    format!("{kind}.{group}")
                };
                format!("{kind}/{}", o["name"].as_str().unwrap_or_default())
            },
        )
}

/// A binding's subjects of one kind; service accounts as `namespace/name`.
fn subjects(obj: &Value, kind: &str) -> String {
    let names: Vec<String> = obj["subjects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|x| x["kind"] == kind)
        .map(|x| match (kind, x["namespace"].as_str()) {
            ("ServiceAccount", Some(ns)) => format!("{ns}/{}", text_of(&x["name"])),
            _ => text_of(&x["name"]),
        })
        .collect();
    names.join(", ")
}

fn csr_duration(obj: &Value, _: DateTime<Utc>) -> String {
    obj["spec"]["expirationSeconds"].as_i64().map_or_else(
        || "<none>".to_owned(),
        |s| human_duration(chrono::TimeDelta::seconds(s)),
    )
}

/// A certificate signing request's CONDITION: its condition types ("Pending" when none),
/// plus "Issued" once it carries a certificate.
fn csr_condition(obj: &Value, _: DateTime<Utc>) -> String {
    let status = &obj["status"];
    let mut conds: Vec<String> = status["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["type"].as_str().map(str::to_owned))
        .collect();
    if conds.is_empty() {
        conds.push("Pending".to_owned());
    }
    if status["certificate"].is_string() {
        conds.push("Issued".to_owned());
    }
    conds.join(",")
}

fn apiservice_service(obj: &Value, _: DateTime<Utc>) -> String {
    namespaced_ref(&obj["spec"]["service"]).unwrap_or_else(|| "Local".to_owned())
}

fn apiservice_available(obj: &Value, _: DateTime<Utc>) -> String {
    obj["status"]["conditions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"] == "Available")
        .map_or_else(
            || "Unknown".to_owned(),
            |c| {
                if c["status"] == "True" {
                    "True".to_owned()
                } else {
                    format!(
                        "{} ({})",
                        text_of(&c["status"]),
                        c["reason"].as_str().unwrap_or_default()
                    )
                }
            },
        )
}

/// A resource quota's REQUEST (`limits` false) or LIMIT (`limits` true) column:
/// `resource: used/hard` for each hard limit on that side.
fn quota(obj: &Value, limits: bool) -> String {
    let status = &obj["status"];
    let hard = status["hard"].as_object().cloned().unwrap_or_default();
    let used = &status["used"];
    let parts: Vec<String> = hard
        .iter()
        .filter(|(k, _)| limits == k.starts_with("limits."))
        .map(|(k, v)| format!("{k}: {}/{}", used[k].as_str().unwrap_or("0"), text_of(v)))
        .collect();
    parts.join(", ")
}

/// A component status's "Healthy" condition (null when it has none).
fn healthy_condition(obj: &Value) -> Value {
    obj["conditions"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["type"] == "Healthy"))
        .cloned()
        .unwrap_or(Value::Null)
}

fn component_status(obj: &Value, _: DateTime<Utc>) -> String {
    if healthy_condition(obj)["status"] == "True" {
        "Healthy".to_owned()
    } else {
        "Unhealthy".to_owned()
    }
}

/// One text field (`message`, `error`) of a component status's "Healthy" condition.
fn healthy_condition_text(obj: &Value, key: &str) -> String {
    healthy_condition(obj)[key]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_printer_parses_and_deployments_print_like_kubectl() {
        assert!(printers().len() >= 38, "{}", printers().len());
        let cols = columns("deployments.apps").unwrap_or_default();
        let d = json!({
            "metadata": {"name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}, {"name": "side", "image": "busybox"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        let now = parse_ts("2026-01-01T00:05:00Z").unwrap_or_else(Utc::now);
        assert_eq!(
            cells(cols, &d, now),
            json!([
                "web",
                "2/3",
                3,
                2,
                "5m",
                "nginx,side",
                "nginx:1.27,busybox",
                "app=web"
            ])
        );
        let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
            "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}]}});
        let cols = columns("services").unwrap_or_default();
        let row = cells(cols, &svc, now);
        assert_eq!(row[1], "NodePort");
        assert_eq!(row[3], "<none>");
        assert_eq!(row[4], "80:30080/TCP,53/UDP");
    }
}
