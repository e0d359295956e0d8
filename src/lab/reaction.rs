//! Scenario behaviour: the declarative `LabReaction` rules of the fixtures, the conditions they
//! test, pod logs, and the "is the scenario fixed" check.
//!
//! A reaction names its `target` objects (kind, namespace, labelSelector or name) and says what
//! the cluster does to them:
//! - `onDelete: recreate`: an owner (`ReplicaSet`, `DaemonSet`, `StatefulSet`) recreates a deleted target,
//!   with a new generated name (`recreateName: generate`, the default) or the same name;
//! - `heal: onRecreate`: a replacement gets the `fixed` merge patch when `whenAny` holds at the
//!   moment it is created (admission-like: `PodSecurity`, a changed kernel);
//! - `heal: inPlace`: a live target gets the `fixed` merge patch as soon as `whenAny` holds
//!   (controller-like: Jet receiving its token).
//!
//! [`Condition`] fields are AND-ed; `whenAny` is a list of alternatives. A condition that cannot
//! be said in fields is a named Rust check in [`builtin`]; add one there and name it in a fixture
//! as `builtin: {name: ...}`.

use std::collections::{BTreeMap, HashSet};

use serde::Deserialize;
use serde_json::{Value, json};

use super::clock::resolve_times;
use super::selector::LabelSelector;
use super::store::{EventKind, Inner, random_suffix};

/// Which objects a reaction or check is about.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Target {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub label_selector: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

impl Target {
    fn matches(&self, kind: &str, obj: &Value) -> bool {
        if kind != self.kind {
            return false;
        }
        let meta = &obj["metadata"];
        if self
            .namespace
            .as_deref()
            .is_some_and(|ns| meta["namespace"].as_str() != Some(ns))
        {
            return false;
        }
        if self
            .name
            .as_deref()
            .is_some_and(|n| meta["name"].as_str() != Some(n))
        {
            return false;
        }
        self.label_selector
            .as_deref()
            .is_none_or(|s| LabelSelector::parse(s).is_ok_and(|sel| sel.matches(&meta["labels"])))
    }
}

/// A check on one field of one object.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObjectCheck {
    pub kind: String,
    #[serde(default)]
    pub namespace: Option<String>,
    pub name: String,
    /// Keys from the object root, e.g. `[data, vsphere.conf]`.
    #[serde(default)]
    pub path: Vec<String>,
    #[serde(default)]
    pub equals: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub not_contains: Option<String>,
    /// True: holds when the object does not exist.
    #[serde(default)]
    pub absent: bool,
}

/// Pods that must all be Running and ready (at least `minCount` of them).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodsCheck {
    pub namespace: String,
    #[serde(default)]
    pub label_selector: Option<String>,
    #[serde(default = "one")]
    pub min_count: usize,
}

fn one() -> usize {
    1
}

/// A named Rust check with its parameters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Builtin {
    pub name: String,
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub except: Vec<String>,
}

/// One condition; every field that is set must hold.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Condition {
    /// Namespace for the namespace checks (defaults to the target's namespace).
    #[serde(default)]
    pub namespace: Option<String>,
    #[serde(default)]
    pub namespace_labels: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub namespace_annotations: Option<BTreeMap<String, String>>,
    /// The target pod's node runs none of these kernels (prefix match on `kernelVersion`).
    #[serde(default)]
    pub node_kernel_not_in: Option<Vec<String>>,
    #[serde(default)]
    pub object: Option<ObjectCheck>,
    #[serde(default)]
    pub pods_running: Option<PodsCheck>,
    #[serde(default)]
    pub builtin: Option<Builtin>,
}

/// A `LabReaction` fixture document's `spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reaction {
    #[serde(default)]
    pub description: String,
    pub target: Target,
    #[serde(default)]
    pub on_delete: Option<String>,
    #[serde(default)]
    pub recreate_name: Option<String>,
    #[serde(default)]
    pub heal: Option<String>,
    #[serde(default)]
    pub when_any: Vec<Condition>,
    #[serde(default)]
    pub fixed: Value,
    #[serde(skip)]
    pub name: String,
}

/// Log text served for `kubectl logs` of matching pods.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogRule {
    pub namespace: String,
    #[serde(default)]
    pub label_selector: Option<String>,
    #[serde(default)]
    pub container: Option<String>,
    /// Only for pods that are (true) or are not (false) Running and ready.
    #[serde(default)]
    pub ready: Option<bool>,
    /// The log of the previous instance of the container (`kubectl logs --previous`); rules
    /// without it serve the current one, and the previous one when no rule says otherwise.
    #[serde(default)]
    pub previous: bool,
    pub text: String,
}

/// The reaction engine of one lab.
#[derive(Debug, Default)]
pub struct Engine {
    reactions: Vec<Reaction>,
    logs: Vec<LogRule>,
    fixed_when_all: Vec<Condition>,
    healed: HashSet<(usize, String)>,
}

fn kind_of(inner: &Inner, rt_key: &str) -> String {
    inner.find_type(rt_key).map(|t| t.kind).unwrap_or_default()
}

fn pod_ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["containerStatuses"]
            .as_array()
            .is_some_and(|cs| !cs.is_empty() && cs.iter().all(|c| c["ready"] == true))
}

impl super::store::Reactor for Engine {
    fn on_seeded(&mut self, inner: &Inner) {
        Engine::on_seeded(self, inner);
    }
    fn on_events(&mut self, inner: &mut Inner, events: &[std::sync::Arc<super::store::Event>]) {
        Engine::on_events(self, inner, events);
    }
    fn logs_of(&self, pod: &Value, container: &str, previous: bool) -> String {
        Engine::logs_of(self, pod, container, previous)
    }
    fn fixed(&self, inner: &Inner) -> bool {
        Engine::fixed(self, inner)
    }
}

impl Engine {
    pub fn new(
        reactions: Vec<Reaction>,
        logs: Vec<LogRule>,
        fixed_when_all: Vec<Condition>,
    ) -> Self {
        Self {
            reactions,
            logs,
            fixed_when_all,
            healed: HashSet::new(),
        }
    }

    pub(crate) fn on_seeded(&mut self, _inner: &Inner) {
        self.healed.clear();
    }

    pub(crate) fn on_events(
        &mut self,
        inner: &mut Inner,
        events: &[std::sync::Arc<super::store::Event>],
    ) {
        let now = super::clock::now();
        for ev in events {
            if ev.kind != EventKind::Deleted {
                continue;
            }
            let kind = kind_of(inner, &ev.resource);
            for r in &self.reactions {
                if r.on_delete.as_deref() != Some("recreate")
                    || !r.target.matches(&kind, &ev.object)
                {
                    continue;
                }
                if namespace_terminating(inner, &ev.namespace) {
                    continue;
                }
                let mut obj = ev.object.clone();
                if let Some(meta) = obj["metadata"].as_object_mut() {
                    for f in [
                        "uid",
                        "resourceVersion",
                        "creationTimestamp",
                        "deletionTimestamp",
                        "deletionGracePeriodSeconds",
                        "managedFields",
                    ] {
                        meta.remove(f);
                    }
                }
                if r.recreate_name.as_deref() != Some("same") {
                    let name = obj["metadata"]["name"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned();
                    let prefix = obj["metadata"]["generateName"].as_str().map_or_else(
                        || {
                            name.rsplit_once('-')
                                .map_or_else(|| format!("{name}-"), |(p, _)| format!("{p}-"))
                        },
                        str::to_owned,
                    );
                    obj["metadata"]["generateName"] = json!(prefix);
                    obj["metadata"]["name"] = json!(format!("{prefix}{}", random_suffix(5)));
                }
                let heal = r.heal.as_deref().unwrap_or("onRecreate") == "onRecreate";
                if heal && holds_any(inner, &r.when_any, Some(&obj)) {
                    json_patch::merge(&mut obj, &resolve_times(&r.fixed, now));
                } else if let Some(status) = obj["status"].as_object_mut() {
                    status.insert("startTime".into(), json!(super::clock::timestamp(now)));
                }
                if let Some(rt) = inner.find_type(&ev.resource) {
                    let _ = inner.create(&rt, &ev.namespace, obj);
                }
            }
        }
        // In-place healing: any write may have made a condition true.
        for (i, r) in self.reactions.iter().enumerate() {
            if r.heal.as_deref() != Some("inPlace") {
                continue;
            }
            let targets: Vec<(String, Value)> = inner
                .all()
                .filter(|(k, o)| r.target.matches(&kind_of(inner, k), o))
                .map(|(k, o)| (k.to_owned(), o.clone()))
                .collect();
            for (key, obj) in targets {
                let uid = obj["metadata"]["uid"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                if self.healed.contains(&(i, uid.clone()))
                    || !holds_any(inner, &r.when_any, Some(&obj))
                {
                    continue;
                }
                let mut fixed = obj.clone();
                json_patch::merge(&mut fixed, &resolve_times(&r.fixed, now));
                self.healed.insert((i, uid));
                inner.put_internal(&key, fixed);
            }
        }
    }

    /// Log text for `pod`'s `container`; empty when no rule matches (like a quiet container).
    pub fn logs(&self, pod: &Value, container: &str) -> String {
        self.logs_of(pod, container, false)
    }

    /// Log text of the current (or `previous`) instance of `pod`'s `container`.
    pub fn logs_of(&self, pod: &Value, container: &str, previous: bool) -> String {
        if previous && let Some(text) = self.find_log(pod, container, Some(true)) {
            return text;
        }
        self.find_log(pod, container, Some(false))
            .unwrap_or_default()
    }

    fn find_log(&self, pod: &Value, container: &str, previous: Option<bool>) -> Option<String> {
        let ready = pod_ready(pod);
        self.logs
            .iter()
            .filter(|l| previous.is_none_or(|p| p == l.previous))
            .find(|l| {
                pod["metadata"]["namespace"].as_str() == Some(l.namespace.as_str())
                    && l.container.as_deref().is_none_or(|c| c == container)
                    && l.ready.is_none_or(|r| r == ready)
                    && l.label_selector.as_deref().is_none_or(|s| {
                        LabelSelector::parse(s)
                            .is_ok_and(|sel| sel.matches(&pod["metadata"]["labels"]))
                    })
            })
            .map(|l| l.text.clone())
    }

    pub(crate) fn fixed(&self, inner: &Inner) -> bool {
        self.fixed_when_all.iter().all(|c| holds(inner, c, None))
    }
}

fn namespace_terminating(inner: &Inner, ns: &str) -> bool {
    if ns.is_empty() {
        return false;
    }
    inner
        .find_type("namespaces")
        .and_then(|rt| {
            inner
                .get(&rt, "", ns)
                .map(|n| n["metadata"]["deletionTimestamp"].is_string())
        })
        .unwrap_or(true)
}

fn holds_any(inner: &Inner, conds: &[Condition], target: Option<&Value>) -> bool {
    conds.is_empty() || conds.iter().any(|c| holds(inner, c, target))
}

fn find(inner: &Inner, kind: &str, ns: &str, name: &str) -> Option<Value> {
    let rt = inner.find_type_by_kind(None, kind)?;
    inner.get(&rt, ns, name).cloned()
}

/// Whether one condition holds; `target` is the object a reaction is deciding about.
pub(crate) fn holds(inner: &Inner, c: &Condition, target: Option<&Value>) -> bool {
    let target_ns = target
        .and_then(|t| t["metadata"]["namespace"].as_str())
        .unwrap_or_default();
    let ns_name = c.namespace.as_deref().unwrap_or(target_ns);
    if c.namespace_labels.is_some() || c.namespace_annotations.is_some() {
        let Some(ns) = find(inner, "Namespace", "", ns_name) else {
            return false;
        };
        let has_all = |field: &str, want: &BTreeMap<String, String>| {
            want.iter().all(|(k, v)| {
                ns["metadata"][field][k]
                    .as_str()
                    .is_some_and(|got| v == "*" || got == v)
            })
        };
        if c.namespace_labels
            .as_ref()
            .is_some_and(|w| !has_all("labels", w))
        {
            return false;
        }
        if c.namespace_annotations
            .as_ref()
            .is_some_and(|w| !has_all("annotations", w))
        {
            return false;
        }
    }
    if let Some(kernels) = &c.node_kernel_not_in {
        let node_name = target
            .and_then(|t| t["spec"]["nodeName"].as_str())
            .unwrap_or_default();
        let Some(node) = find(inner, "Node", "", node_name) else {
            return false;
        };
        let kernel = node["status"]["nodeInfo"]["kernelVersion"]
            .as_str()
            .unwrap_or_default();
        if kernels
            .iter()
            .any(|k| kernel == k || kernel.starts_with(&format!("{k}-")))
        {
            return false;
        }
    }
    if let Some(o) = &c.object {
        let obj = find(
            inner,
            &o.kind,
            o.namespace.as_deref().unwrap_or_default(),
            &o.name,
        );
        if o.absent {
            if obj.is_some() {
                return false;
            }
        } else {
            let Some(obj) = obj else { return false };
            let mut cur = &obj;
            for p in &o.path {
                cur = &cur[p.as_str()];
            }
            let text = match cur {
                Value::String(s) => s.clone(),
                Value::Null => String::new(),
                v => v.to_string(),
            };
            if o.equals.as_ref().is_some_and(|e| *e != text)
                || o.contains
                    .as_ref()
                    .is_some_and(|s| !text.contains(s.as_str()))
                || o.not_contains
                    .as_ref()
                    .is_some_and(|s| text.contains(s.as_str()))
            {
                return false;
            }
        }
    }
    if let Some(p) = &c.pods_running {
        let Some(rt) = inner.find_type("pods") else {
            return false;
        };
        let sel = p
            .label_selector
            .as_deref()
            .map(LabelSelector::parse)
            .transpose()
            .ok()
            .flatten()
            .unwrap_or_default();
        let pods: Vec<&Value> = inner
            .list(&rt, Some(&p.namespace))
            .into_iter()
            .filter(|o| sel.matches(&o["metadata"]["labels"]))
            .collect();
        if pods.len() < p.min_count || !pods.iter().all(|p| pod_ready(p)) {
            return false;
        }
    }
    if let Some(b) = &c.builtin
        && !builtin(inner, b)
    {
        return false;
    }
    true
}

/// Named checks that are easier in Rust than in fixture fields.
fn builtin(inner: &Inner, b: &Builtin) -> bool {
    match b.name.as_str() {
        // Every IPClaim (but the excepted ones) holds an address whose name ends in the dashed
        // InternalIP of a current node: `...-192-0-2-12` for 192.0.2.12.
        "no-orphaned-ipclaims" => {
            let node_ips: Vec<String> = inner
                .find_type("nodes")
                .map(|rt| {
                    inner
                        .list(&rt, None)
                        .into_iter()
                        .flat_map(|n| {
                            n["status"]["addresses"]
                                .as_array()
                                .cloned()
                                .unwrap_or_default()
                        })
                        .filter(|a| a["type"] == "InternalIP")
                        .filter_map(|a| a["address"].as_str().map(|s| s.replace('.', "-")))
                        .collect()
                })
                .unwrap_or_default();
            let Some(rt) = inner.find_type_by_kind(None, "IPClaim") else {
                return true;
            };
            inner
                .list(&rt, b.namespace.as_deref())
                .into_iter()
                .all(|claim| {
                    let name = claim["metadata"]["name"].as_str().unwrap_or_default();
                    if b.except.iter().any(|e| e == name) {
                        return true;
                    }
                    let address = claim["status"]["address"]["name"]
                        .as_str()
                        .unwrap_or_default();
                    node_ips
                        .iter()
                        .any(|ip| address.ends_with(&format!("-{ip}")))
                })
        }
        _ => false,
    }
}
