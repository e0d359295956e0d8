//! Events: what the lab's stand-in controllers, scheduler and kubelet record, and the two
//! views of one event store.
//!
//! - Recording: after each write the store hands its watch events to its reactor, which the
//!   lab wraps in [`Recording`]: [`on_writes`]
//!   checks the rules of `api/events.yaml` (one line of data per transition: `Scheduled`,
//!   `Started`, `BackOff`, `Killing`, `SuccessfulCreate`, `NodeNotReady`, ...) and records
//!   `v1` Events through [`record`]. A repeat (same object, reason, message and component)
//!   bumps `count` and `lastTimestamp` of the Event already there, as client-go's correlator
//!   does (the store keeps which Event each of those keys is); a new Event is named
//!   `<object>.<unix nanoseconds in hex>`, as client-go names them, so names sort by time.
//! - Views: Events are stored once, as `v1` Events; `events.k8s.io/v1` reads and writes the
//!   same objects through [`to_events_api`] / [`from_events_api`], as the real server
//!   converts between its two versions of one type (`regarding` = `involvedObject`, `note` =
//!   `message`, `deprecatedCount` = `count`, ...).
//!
//! - Scheduling: a rule whose paths start with `scheduler.` sees what the scheduler's filters
//!   would say of the pod ([`scheduling`]: node unschedulable, untolerated taints, including
//!   the `not-ready` / `unreachable` taints of a node that is not Ready, and `nodeSelector`),
//!   so `FailedScheduling` carries the scheduler's own message.
//! - Expiry: Events go one hour after their last update, as with `--event-ttl` (see
//!   [`super::store`]).
//!
//! To emit one more event on a transition, add a rule to `api/events.yaml`; a scenario's
//! own story (a `FailedCreate` from `PodSecurity` admission) goes in its fixture as `v1` Events.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use serde::Deserialize;
use serde_json::{Value, json};
use sha2::Digest as _;

use super::clock::{now, timestamp};
use super::store::{Event, EventKind, Inner, Reactor};

const RULES: &str = include_str!("api/events.yaml");

/// One transition that records an Event (see `api/events.yaml` for the fields).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Rule {
    kind: String,
    #[serde(default)]
    each: Option<String>,
    #[serde(default)]
    when: BTreeMap<String, String>,
    #[serde(default)]
    about: Option<String>,
    #[serde(default)]
    owner_kind: Option<String>,
    #[serde(rename = "type")]
    type_: String,
    reason: String,
    message: String,
    component: String,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    field_path: Option<String>,
}

fn rules() -> &'static [Rule] {
    static RULES_CELL: OnceLock<Vec<Rule>> = OnceLock::new();
    // The table is part of the binary; a unit test proves it parses.
    RULES_CELL.get_or_init(|| serde_yaml::from_str(RULES).unwrap_or_default())
}

/// What an Event says, before it is stored.
#[derive(Debug, Clone, Default)]
pub struct Record {
    /// `involvedObject`: kind, namespace, name, uid, apiVersion (and fieldPath).
    pub involved: Value,
    pub type_: String,
    pub reason: String,
    pub message: String,
    pub component: String,
    pub host: String,
}

/// Record `r` as a `v1` Event (or count a repeat of one already there).
pub(crate) fn record(inner: &mut Inner, r: &Record) {
    let Some(rt) = inner.find_type("events") else {
        return;
    };
    let io = &r.involved;
    let io_name = io["name"].as_str().unwrap_or_default();
    // Events about cluster-scoped objects (nodes) go to `default`, as the recorder puts them.
    let ns = io["namespace"]
        .as_str()
        .filter(|n| !n.is_empty())
        .unwrap_or("default")
        .to_owned();
    let mut digest = sha2::Sha256::new();
    for part in [
        io["uid"].as_str().unwrap_or(io_name),
        io["fieldPath"].as_str().unwrap_or_default(),
        &r.reason,
        &r.message,
        &r.component,
    ] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    let hash = digest.finalize();
    let mut key = [0u8; 8];
    key.copy_from_slice(&hash[..8]);
    let at = timestamp(now());
    if let Some(old) = inner
        .recorded
        .get(&key)
        .and_then(|name| inner.get(&rt, &ns, name))
        .cloned()
    {
        let mut ev = old;
        ev["count"] = json!(ev["count"].as_u64().unwrap_or(1) + 1);
        ev["lastTimestamp"] = json!(at);
        inner.put_internal(&rt.key(), ev);
        return;
    }
    // Named as client-go's recorder names them, `<object>.<nanoseconds in hex>`: names grow
    // with time, so a list (sorted by name) and describe's Events show what happened first,
    // first, also within one second.
    let mut nanos = now().timestamp_nanos_opt().unwrap_or_default();
    let mut name = format!("{io_name}.{nanos:x}");
    while inner.get(&rt, &ns, &name).is_some() {
        nanos += 1;
        name = format!("{io_name}.{nanos:x}");
    }
    inner.recorded.insert(key, name.clone());
    let mut source = json!({"component": r.component});
    if !r.host.is_empty() {
        source["host"] = json!(r.host);
    }
    let ev = json!({
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": name, "namespace": ns},
        "involvedObject": io,
        "reason": r.reason,
        "message": r.message,
        "source": source,
        "firstTimestamp": at,
        "lastTimestamp": at,
        "count": 1,
        "type": r.type_,
        "eventTime": null,
        "reportingComponent": r.component,
        "reportingInstance": r.host,
    });
    let _ = inner.create(&rt, &ns, ev);
}

/// The scenario's reactor with the recorder in front: the store calls it after each write
/// (the store knows reactors, not events).
#[derive(Debug)]
pub(crate) struct Recording(pub Box<dyn Reactor>);

impl Reactor for Recording {
    fn on_seeded(&mut self, inner: &Inner) {
        self.0.on_seeded(inner);
    }

    fn on_events(&mut self, inner: &mut Inner, events: &[Arc<Event>]) {
        on_writes(inner, events);
        self.0.on_events(inner, events);
    }

    fn logs_of(&self, pod: &Value, container: &str, previous: bool) -> String {
        self.0.logs_of(pod, container, previous)
    }

    fn fixed(&self, inner: &Inner) -> bool {
        self.0.fixed(inner)
    }
}

/// Check the rules against the writes just committed and record what they say.
pub(crate) fn on_writes(inner: &mut Inner, writes: &[Arc<Event>]) {
    let mut out = Vec::new();
    for w in writes {
        if w.kind == EventKind::Deleted {
            continue;
        }
        let kind = w.object["kind"].as_str().unwrap_or_default();
        if kind.is_empty() || kind == "Event" {
            continue;
        }
        let old = if w.kind == EventKind::Added {
            None
        } else {
            w.old.as_ref()
        };
        let mut scheduler = None;
        for rule in rules().iter().filter(|r| r.kind == kind) {
            let ctx = if rule.uses_scheduler() {
                scheduler
                    .get_or_insert_with(|| scheduling(inner, &w.object))
                    .clone()
            } else {
                Value::Null
            };
            fire(rule, &w.object, old, &ctx, &mut out);
        }
    }
    for r in &out {
        record(inner, r);
    }
}

impl Rule {
    /// Whether the rule reads what the scheduler would say (`scheduler.` paths).
    fn uses_scheduler(&self) -> bool {
        self.when.keys().any(|k| k.starts_with("scheduler."))
            || self.message.contains("{scheduler.")
    }
}

/// What the scheduler's filters say of `pod` against the nodes there are, as the context of
/// the rules' `scheduler.` paths: `placeable` (some node passes) and `message` (the
/// `FailedScheduling` message, in the scheduler's format), from the lab's one filter
/// ([`super::scheduler::feasible`]).
pub(crate) fn scheduling(inner: &Inner, pod: &Value) -> Value {
    match super::scheduler::feasible(inner, pod) {
        Ok(_) => json!({"placeable": true, "message": ""}),
        Err(message) => json!({"placeable": false, "message": message}),
    }
}

fn fire(rule: &Rule, obj: &Value, old: Option<&Value>, scheduler: &Value, out: &mut Vec<Record>) {
    let owner = obj["metadata"]["ownerReferences"]
        .as_array()
        .and_then(|refs| refs.iter().find(|r| r["controller"] == true))
        .cloned()
        .unwrap_or(Value::Null);
    if rule.about.as_deref() == Some("owner")
        && (owner.is_null()
            || rule
                .owner_kind
                .as_deref()
                .is_some_and(|k| owner["kind"] != k))
    {
        return;
    }
    let items: Vec<(Value, Option<Value>)> = match &rule.each {
        None => vec![(Value::Null, None)],
        Some(path) => {
            let list = |o: &Value| at_path(o, path).as_array().cloned().unwrap_or_default();
            let before = old.map(list).unwrap_or_default();
            list(obj)
                .into_iter()
                .map(|item| {
                    let prev = before.iter().find(|b| b["name"] == item["name"]).cloned();
                    (item, prev)
                })
                .collect()
        }
    };
    for (item, prev) in items {
        // The spec of the container a status item is about.
        let container = obj["spec"]["containers"]
            .as_array()
            .and_then(|l| l.iter().find(|c| c["name"] == item["name"]))
            .cloned()
            .unwrap_or(Value::Null);
        let ctx = json!({"object": obj, "item": item, "owner": owner, "container": container,
            "scheduler": scheduler});
        if !holds(&rule.when, &ctx) {
            continue;
        }
        if let Some(old) = old {
            let before = json!({"object": old, "item": prev.unwrap_or(Value::Null),
                "owner": owner, "container": container, "scheduler": scheduler});
            if holds(&rule.when, &before) {
                continue;
            }
        }
        let about = if rule.about.as_deref() == Some("owner") {
            json!({
                "kind": owner["kind"],
                "namespace": obj["metadata"]["namespace"],
                "name": owner["name"],
                "uid": owner["uid"],
                "apiVersion": owner["apiVersion"],
            })
        } else {
            let mut io = json!({
                "kind": obj["kind"],
                "name": obj["metadata"]["name"],
                "uid": obj["metadata"]["uid"],
                "apiVersion": obj["apiVersion"],
                "resourceVersion": obj["metadata"]["resourceVersion"],
            });
            if let Some(ns) = obj["metadata"]["namespace"].as_str() {
                io["namespace"] = json!(ns);
            }
            if let Some(fp) = &rule.field_path {
                io["fieldPath"] = json!(fill(fp, &ctx));
            }
            io
        };
        out.push(Record {
            involved: about,
            type_: rule.type_.clone(),
            reason: rule.reason.clone(),
            message: fill(&rule.message, &ctx),
            component: rule.component.clone(),
            host: rule
                .host
                .as_deref()
                .map(|h| fill(h, &ctx))
                .unwrap_or_default(),
        });
    }
}

fn holds(when: &BTreeMap<String, String>, ctx: &Value) -> bool {
    when.iter().all(|(path, want)| {
        let got = text(at_path(ctx, path));
        match (want.as_str(), want.strip_prefix('!')) {
            ("*", _) => got.is_some(),
            ("-", _) => got.is_none(),
            (_, Some(not)) => got.as_deref() != Some(not),
            (w, None) => got.as_deref() == Some(w),
        }
    })
}

/// The value at a dotted path; `name[field=value]` picks the list element whose `field` is
/// `value`.
fn at_path<'a>(v: &'a Value, path: &str) -> &'a Value {
    let mut cur = v;
    for part in path.split('.') {
        if let Some((key, pick)) = part.split_once('[') {
            let (field, want) = pick
                .trim_end_matches(']')
                .split_once('=')
                .unwrap_or_default();
            cur = cur[key]
                .as_array()
                .and_then(|l| l.iter().find(|e| e[field].as_str() == Some(want)))
                .unwrap_or(&Value::Null);
        } else {
            cur = &cur[part];
        }
    }
    cur
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// `{path}` replaced with the text at that path (empty when absent); other braces stay.
fn fill(template: &str, ctx: &Value) -> String {
    let mut out = String::with_capacity(template.len() + 32);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let path = after.find('}').map(|close| &after[..close]);
        let known = path.filter(|p| {
            ["object.", "item.", "owner.", "container.", "scheduler."]
                .iter()
                .any(|root| p.starts_with(root))
        });
        if let Some(p) = known {
            out.push_str(&text(at_path(ctx, p)).unwrap_or_default());
            rest = &after[p.len() + 1..];
        } else {
            out.push('{');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Field names of the `events.k8s.io/v1` view and the `v1` fields that hold them.
const RENAMED: &[(&str, &str)] = &[
    ("regarding", "involvedObject"),
    ("note", "message"),
    ("reportingController", "reportingComponent"),
    ("deprecatedSource", "source"),
    ("deprecatedFirstTimestamp", "firstTimestamp"),
    ("deprecatedLastTimestamp", "lastTimestamp"),
    ("deprecatedCount", "count"),
];

/// A stored `v1` Event as `events.k8s.io/v1` serves it.
pub fn to_events_api(core: &Value) -> Value {
    let Some(map) = core.as_object() else {
        return core.clone();
    };
    let mut out = serde_json::Map::new();
    for (k, v) in map {
        let key = RENAMED
            .iter()
            .find(|(_, old)| old == k)
            .map_or(k.as_str(), |(new, _)| new);
        // Empty strings and zero counts are omitted by the newer type.
        if (v.is_string() && v.as_str() == Some("") && key != "reason")
            || (key == "deprecatedCount" && v.as_u64() == Some(0))
        {
            continue;
        }
        out.insert(key.to_owned(), v.clone());
    }
    if map.contains_key("apiVersion") {
        out.insert("apiVersion".into(), json!("events.k8s.io/v1"));
    }
    for k in [
        "eventTime",
        "deprecatedFirstTimestamp",
        "deprecatedLastTimestamp",
    ] {
        out.entry(k).or_insert(Value::Null);
    }
    Value::Object(out)
}

/// An `events.k8s.io/v1` Event as the `v1` Event stored for it.
pub fn from_events_api(event: &Value) -> Value {
    let Some(map) = event.as_object() else {
        return event.clone();
    };
    let mut out = serde_json::Map::new();
    for (k, v) in map {
        let key = RENAMED
            .iter()
            .find(|(new, _)| new == k)
            .map_or(k.as_str(), |(_, old)| old);
        out.insert(key.to_owned(), v.clone());
    }
    if map.contains_key("apiVersion") {
        out.insert("apiVersion".into(), json!("v1"));
    }
    Value::Object(out)
}

/// A field selector written for `events.k8s.io/v1` in the `v1` names it is evaluated on.
pub fn selector_to_core(selector: &str) -> String {
    selector
        .split(',')
        .map(|term| {
            RENAMED
                .iter()
                .find_map(|(new, old)| {
                    term.strip_prefix(new)
                        .filter(|rest| rest.starts_with(['.', '=', '!']))
                        .map(|rest| format!("{old}{rest}"))
                })
                .unwrap_or_else(|| term.to_owned())
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_table_parses() {
        let parsed: Result<Vec<Rule>, _> = serde_yaml::from_str(RULES);
        let parsed = parsed.map_err(|e| e.to_string());
        assert!(parsed.as_ref().is_ok_and(|r| r.len() >= 10), "{parsed:?}");
    }

    #[test]
    fn templates_fill_paths_and_keep_other_braces() {
        let ctx = json!({"item": {"name": "jet"}, "object": {"metadata": {"name": "p"}}});
        assert_eq!(
            fill("spec.containers{{item.name}}", &ctx),
            "spec.containers{jet}"
        );
        assert_eq!(
            fill("Started {object.metadata.name} {x}", &ctx),
            "Started p {x}"
        );
        assert_eq!(fill("{object.missing}.", &ctx), ".");
    }

    #[test]
    fn conditions_see_transitions_and_list_picks() {
        let when: BTreeMap<String, String> = [(
            "object.status.conditions[type=Ready].status".to_owned(),
            "!True".to_owned(),
        )]
        .into();
        let node = |s: &str| json!({"object": {"status": {"conditions": [{"type": "Ready", "status": s}]}}});
        assert!(holds(&when, &node("Unknown")));
        assert!(!holds(&when, &node("True")));
    }

    #[test]
    fn a_started_container_records_pulled_created_started_once() {
        let pod = |running: bool| {
            let state = if running {
                json!({"running": {"startedAt": "2026-01-01T00:00:00Z"}})
            } else {
                json!({"waiting": {"reason": "ContainerCreating"}})
            };
            json!({"kind": "Pod", "apiVersion": "v1",
                "metadata": {"name": "p", "namespace": "n", "uid": "u"},
                "spec": {"nodeName": "node-1", "containers": [{"name": "c", "image": "busybox"}]},
                "status": {"containerStatuses": [{"name": "c", "image": "busybox", "state": state}]}})
        };
        let mut out = Vec::new();
        for rule in rules().iter().filter(|r| r.kind == "Pod") {
            fire(rule, &pod(true), Some(&pod(false)), &Value::Null, &mut out);
        }
        let reasons: Vec<&str> = out.iter().map(|r| r.reason.as_str()).collect();
        assert_eq!(reasons, ["Pulled", "Created", "Started"]);
        assert_eq!(out[0].involved["fieldPath"], "spec.containers{c}");
        assert_eq!(out[1].message, "Created container: c");
        assert_eq!(out[0].host, "node-1");
        let mut again = Vec::new();
        for rule in rules().iter().filter(|r| r.kind == "Pod") {
            fire(rule, &pod(true), Some(&pod(true)), &Value::Null, &mut again);
        }
        assert!(again.is_empty(), "{again:?}");
    }

    #[test]
    fn the_two_views_convert_both_ways() {
        let core = json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": "p.1", "namespace": "n"},
            "involvedObject": {"kind": "Pod", "name": "p"}, "reason": "BackOff",
            "message": "Back-off", "source": {"component": "kubelet"}, "count": 3,
            "firstTimestamp": "t1", "lastTimestamp": "t2", "type": "Warning",
            "eventTime": null, "reportingComponent": "kubelet", "reportingInstance": ""});
        let new = to_events_api(&core);
        assert_eq!(new["apiVersion"], "events.k8s.io/v1");
        assert_eq!(new["regarding"]["name"], "p");
        assert_eq!(new["note"], "Back-off");
        assert_eq!(new["deprecatedCount"], 3);
        assert_eq!(new["reportingController"], "kubelet");
        assert!(new.get("reportingInstance").is_none());
        let back = from_events_api(&new);
        assert_eq!(back["involvedObject"], core["involvedObject"]);
        assert_eq!(back["count"], 3);
        assert_eq!(back["apiVersion"], "v1");
        assert_eq!(
            selector_to_core("regarding.name=p,type=Warning,reportingController=kubelet"),
            "involvedObject.name=p,type=Warning,reportingComponent=kubelet"
        );
    }
}
