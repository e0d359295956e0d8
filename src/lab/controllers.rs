//! The controller room: the workload controllers, scheduler, kubelet and garbage collector a
//! cluster runs, simulated (nothing is executed) so that the lab behaves over time.
//!
//! It owns:
//! - [`apps`]: Deployment → `ReplicaSet` (rollouts, revisions, `rollout undo`/`restart`, scale)
//!   and `ReplicaSet` → Pods, with ownerReferences and `pod-template-hash` as the real ones;
//! - [`sets`]: `DaemonSet` (one pod per node whose taints the pod tolerates) and `StatefulSet`
//!   (ordinal pods, created in order);
//! - [`job`]: Job → pods that complete (`CronJob`'s Jobs are Jobs: `kubectl create job --from`);
//! - [`kubelet`]: the scheduler's node choice and the kubelet's steps (Pending →
//!   `ContainerCreating` → Running, → Succeeded for run-to-completion pods, Terminating → gone),
//!   for the pods of these controllers and for bare pods created through the API;
//! - [`gc`]: garbage collection through ownerReferences (background, `Foreground`, `Orphan`);
//! - [`endpoints`]: Service → `Endpoints` and `EndpointSlice` from the pods its selector
//!   matches;
//! - [`hpa`]: the autoscaler controller on a cluster without metrics (its target's scale, and
//!   the metrics it cannot read, said as the real one says it).
//!
//! [`Controllers`] wraps the lab's reactor: after each write the store hands it the watch events
//! (under the store's lock, like the event recorder); it lets the scenario reactions and the
//! recorder go first, then reconciles every workload the events touch. Time-based steps use
//! the store's timers ([`Inner::wake_after`]), so nothing polls.
//!
//! Workloads that came with a scenario fixture are the fixture's: their broken state and their
//! `LabReaction` rules stand, and these controllers leave them (and their pods) alone; they only
//! run what is created or changed through the API after the seed, plus garbage collection.
//!
//! To add a controller: a module with `reconcile(ctx, inner, obj)` for its kind, a line in
//! [`Controllers::reconcile`], and (when its pods report to it) nothing more: a pod's change
//! marks its controller owner for reconciling. Its Events go in `api/events.yaml` (section
//! "controllers") when a rule can say them, else through [`record`].

mod apps;
mod endpoints;
mod gc;
mod hpa;
mod job;
mod kubelet;
mod sets;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use serde_json::{Value, json};

use super::clock::{now, timestamp};
use super::events::{self, Record};
use super::store::{Event, EventKind, Inner, Reactor};

/// The kinds these controllers run.
const WORKLOADS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "CronJob",
    "HorizontalPodAutoscaler",
];

/// One object to reconcile: kind, namespace, name.
type Ref = (String, String, String);

/// The lab's reactor with the controllers behind it.
#[derive(Debug)]
pub(crate) struct Controllers {
    inner: Box<dyn Reactor>,
    ctx: Ctx,
}

/// What the controllers share: timing, the fixture's workloads, the kubelet's timers.
#[derive(Debug)]
pub(crate) struct Ctx {
    /// How long a kubelet step takes.
    delay: Duration,
    /// uids of workloads seeded by the scenario (left to its reactions).
    fixture: HashSet<String>,
    /// Pods the kubelet moves along: when each is due, namespace, name, uid.
    due: Vec<(Instant, String, String, String)>,
    /// Pods of ours the scheduler found no node for: namespace, name, uid.
    unscheduled: Vec<(String, String, String)>,
    /// The next scheduled time each `CronJob` (by uid) has a timer for.
    cron_wakes: HashMap<String, DateTime<Utc>>,
}

impl Controllers {
    pub(crate) fn new(inner: Box<dyn Reactor>, delay: Duration) -> Self {
        Self {
            inner,
            ctx: Ctx {
                delay,
                fixture: HashSet::new(),
                due: Vec::new(),
                unscheduled: Vec::new(),
                cron_wakes: HashMap::new(),
            },
        }
    }

    fn reconcile(&mut self, inner: &mut Inner, (kind, ns, name): &Ref) {
        let Some(obj) = get(inner, kind, ns, name) else {
            return;
        };
        if self.ctx.fixture.contains(uid(&obj)) || obj["metadata"]["deletionTimestamp"].is_string()
        {
            return;
        }
        match kind.as_str() {
            "Deployment" => apps::deployment(&mut self.ctx, inner, &obj),
            "ReplicaSet" => apps::replica_set(&mut self.ctx, inner, &obj),
            "DaemonSet" => sets::daemon_set(&mut self.ctx, inner, &obj),
            "StatefulSet" => sets::stateful_set(&mut self.ctx, inner, &obj),
            "Job" => job::job(&mut self.ctx, inner, &obj),
            "CronJob" => job::cron_job(&mut self.ctx, inner, &obj),
            "HorizontalPodAutoscaler" => hpa::autoscaler(inner, &obj),
            _ => {}
        }
    }
}

impl Reactor for Controllers {
    fn on_seeded(&mut self, inner: &Inner) {
        self.ctx.fixture = inner
            .all()
            .filter(|(_, o)| o["kind"].as_str().is_some_and(|k| WORKLOADS.contains(&k)))
            .map(|(_, o)| uid(o).to_owned())
            .collect();
        self.ctx.due.clear();
        self.ctx.unscheduled.clear();
        self.inner.on_seeded(inner);
    }

    fn on_events(&mut self, inner: &mut Inner, events: &[Arc<Event>]) {
        self.inner.on_events(inner, events);
        let mut dirty: BTreeSet<Ref> = BTreeSet::new();
        let mut node_changed = false;
        let mut bare_pods = false;
        let mut touched: BTreeSet<String> = BTreeSet::new();
        let mut services: BTreeSet<(String, String)> = BTreeSet::new();
        let mut pod_namespaces: BTreeSet<String> = BTreeSet::new();
        for ev in events {
            let obj = &ev.object;
            let kind = obj["kind"].as_str().unwrap_or_default();
            if kind.is_empty() || kind == "Event" {
                continue;
            }
            gc::on_event(&mut self.ctx, inner, ev);
            if !ev.namespace.is_empty() {
                touched.insert(ev.namespace.clone());
            }
            match (kind, ev.kind) {
                ("Service", EventKind::Deleted) => {
                    endpoints::service_deleted(inner, &ev.namespace, name(obj));
                }
                ("Service", _) => {
                    services.insert((ev.namespace.clone(), name(obj).to_owned()));
                }
                ("Pod", kind) => {
                    pod_namespaces.insert(ev.namespace.clone());
                    // A pod created through the API with no controller (`kubectl run`, a pod
                    // manifest) goes to the scheduler and the kubelet like ours; one that names
                    // its node (`kubectl debug node/...`) straight to that node's kubelet.
                    if kind == EventKind::Added
                        && controller_of(obj).is_none()
                        && obj["status"]["startTime"].is_null()
                    {
                        self.ctx.unscheduled.push((
                            ev.namespace.clone(),
                            name(obj).to_owned(),
                            uid(obj).to_owned(),
                        ));
                        bare_pods = true;
                    }
                }
                _ => {}
            }
            if WORKLOADS.contains(&kind) && ev.kind != EventKind::Deleted {
                dirty.insert((kind.to_owned(), ev.namespace.clone(), name(obj).to_owned()));
            }
            if let Some(owner) = controller_of(obj)
                && let Some(k) = owner["kind"].as_str()
                && WORKLOADS.contains(&k)
            {
                dirty.insert((
                    k.to_owned(),
                    ev.namespace.clone(),
                    owner["name"].as_str().unwrap_or_default().to_owned(),
                ));
            }
            node_changed |= kind == "Node";
        }
        if node_changed || bare_pods {
            kubelet::retry_unscheduled(&mut self.ctx, inner);
        }
        if node_changed && let Some(rt) = inner.find_type_by_kind(None, "DaemonSet") {
            for ds in inner.list(&rt, None) {
                dirty.insert((
                    "DaemonSet".to_owned(),
                    namespace(ds).to_owned(),
                    name(ds).to_owned(),
                ));
            }
        }
        // An autoscaler reads its target's scale: reconcile the autoscalers of a namespace
        // whose workloads changed, after them.
        let scaled: BTreeSet<String> = dirty
            .iter()
            .filter(|(k, ..)| k != "HorizontalPodAutoscaler")
            .map(|(_, ns, _)| ns.clone())
            .collect();
        if let Some(rt) = inner.find_type_by_kind(None, "HorizontalPodAutoscaler") {
            for ns in &scaled {
                for hpa in inner.list(&rt, Some(ns)) {
                    dirty.insert((
                        "HorizontalPodAutoscaler".to_owned(),
                        ns.clone(),
                        name(hpa).to_owned(),
                    ));
                }
            }
        }
        let (workloads, autoscalers): (Vec<&Ref>, Vec<&Ref>) = dirty
            .iter()
            .partition(|(k, ..)| k != "HorizontalPodAutoscaler");
        for r in workloads.into_iter().chain(autoscalers) {
            self.reconcile(inner, r);
        }
        for ns in &touched {
            recount_quotas(inner, ns);
        }
        if let Some(rt) = inner.find_type_by_kind(None, "Service") {
            for ns in &pod_namespaces {
                for svc in inner.list(&rt, Some(ns)) {
                    services.insert((ns.clone(), name(svc).to_owned()));
                }
            }
            for (ns, svc_name) in &services {
                if let Some(svc) = inner.get(&rt, ns, svc_name).cloned() {
                    endpoints::service(inner, &svc);
                }
            }
        }
    }

    fn logs_of(&self, pod: &Value, container: &str, previous: bool) -> String {
        self.inner.logs_of(pod, container, previous)
    }

    fn fixed(&self, inner: &Inner) -> bool {
        self.inner.fixed(inner)
    }

    fn on_tick(&mut self, inner: &mut Inner) {
        self.inner.on_tick(inner);
        kubelet::on_tick(&mut self.ctx, inner);
        // CronJobs whose scheduled time has come.
        let at = now();
        let due: Vec<String> = self
            .ctx
            .cron_wakes
            .iter()
            .filter(|(_, t)| **t <= at)
            .map(|(u, _)| u.clone())
            .collect();
        if due.is_empty() {
            return;
        }
        for u in &due {
            self.ctx.cron_wakes.remove(u);
        }
        if let Some(rt) = inner.find_type_by_kind(None, "CronJob") {
            let crons: Vec<Ref> = inner
                .list(&rt, None)
                .into_iter()
                .filter(|c| due.iter().any(|u| u == uid(c)))
                .map(|c| {
                    (
                        "CronJob".to_owned(),
                        namespace(c).to_owned(),
                        name(c).to_owned(),
                    )
                })
                .collect();
            for r in &crons {
                self.reconcile(inner, r);
            }
        }
    }
}

/// The quota controller: each `ResourceQuota` in `ns` says what the namespace uses of it.
fn recount_quotas(inner: &mut Inner, ns: &str) {
    let quotas: Vec<Value> = inner
        .objects_of("resourcequotas", "", ns)
        .into_iter()
        .cloned()
        .collect();
    for q in quotas {
        let used = {
            let objects = |plural: &str, group: &str| inner.objects_of(plural, group, ns);
            super::quota::used(&q, &objects)
        };
        let status = json!({"hard": q["spec"]["hard"], "used": used});
        set_status(inner, &q, status);
    }
}

impl Ctx {
    /// Wake the controllers at `next` for the `CronJob` `cron_uid` (once per time).
    fn wake_cron(&mut self, inner: &Inner, cron_uid: &str, next: DateTime<Utc>, at: DateTime<Utc>) {
        if self.cron_wakes.get(cron_uid) == Some(&next) {
            return;
        }
        self.cron_wakes.insert(cron_uid.to_owned(), next);
        let wait = (next - at).to_std().unwrap_or_default() + Duration::from_millis(20);
        inner.wake_after(wait);
    }

    /// Have the kubelet look at this pod again after one step.
    fn later(&mut self, inner: &Inner, pod: &Value) {
        self.due.push((
            Instant::now() + self.delay,
            namespace(pod).to_owned(),
            name(pod).to_owned(),
            uid(pod).to_owned(),
        ));
        inner.wake_after(self.delay);
    }
}

fn name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

fn namespace(obj: &Value) -> &str {
    obj["metadata"]["namespace"].as_str().unwrap_or_default()
}

fn uid(obj: &Value) -> &str {
    obj["metadata"]["uid"].as_str().unwrap_or_default()
}

/// The ownerReference with `controller: true`.
fn controller_of(obj: &Value) -> Option<&Value> {
    obj["metadata"]["ownerReferences"]
        .as_array()?
        .iter()
        .find(|r| r["controller"] == true)
}

fn get(inner: &Inner, kind: &str, ns: &str, name: &str) -> Option<Value> {
    let rt = inner.find_type_by_kind(None, kind)?;
    inner.get(&rt, ns, name).cloned()
}

/// The type key of a kind (`replicasets.apps`).
fn key_of(inner: &Inner, kind: &str) -> String {
    inner
        .find_type_by_kind(None, kind)
        .map(|t| t.key())
        .unwrap_or_default()
}

/// Objects of `kind` in `ns` whose controller is `owner`.
fn owned(inner: &Inner, kind: &str, ns: &str, owner: &Value) -> Vec<Value> {
    let Some(rt) = inner.find_type_by_kind(None, kind) else {
        return Vec::new();
    };
    let owner_uid = uid(owner);
    inner
        .list(&rt, Some(ns))
        .into_iter()
        .filter(|o| controller_of(o).is_some_and(|r| r["uid"] == owner_uid))
        .cloned()
        .collect()
}

/// An ownerReference to `owner` as its controller.
fn owner_ref(owner: &Value) -> Value {
    json!({
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": true,
        "blockOwnerDeletion": true,
    })
}

/// Record an Event about `obj` (for what a rule in `api/events.yaml` cannot say).
fn record(
    inner: &mut Inner,
    obj: &Value,
    type_: &str,
    reason: &str,
    message: String,
    component: &str,
) {
    events::record(
        inner,
        &Record {
            involved: json!({
                "kind": obj["kind"],
                "namespace": obj["metadata"]["namespace"],
                "name": obj["metadata"]["name"],
                "uid": obj["metadata"]["uid"],
                "apiVersion": obj["apiVersion"],
                "resourceVersion": obj["metadata"]["resourceVersion"],
            }),
            type_: type_.to_owned(),
            reason: reason.to_owned(),
            message,
            component: component.to_owned(),
            host: String::new(),
        },
    );
}

/// Write `status` into the stored `obj` (no-op when it is unchanged).
fn set_status(inner: &mut Inner, obj: &Value, status: Value) {
    let Some(rt) = inner.find_type_by_kind(
        obj["apiVersion"].as_str(),
        obj["kind"].as_str().unwrap_or_default(),
    ) else {
        return;
    };
    let Some(mut current) = inner.get(&rt, namespace(obj), name(obj)).cloned() else {
        return;
    };
    if current["status"] == status {
        return;
    }
    current["status"] = status;
    inner.put_internal(&rt.key(), current);
}

/// A condition, keeping the old one's times when nothing about it changed (and its
/// transition time when only the reason or message did).
fn condition(old: &Value, type_: &str, status: &str, reason: &str, message: &str) -> Value {
    let prev = old["conditions"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["type"] == type_));
    let at = json!(timestamp(now()));
    match prev {
        Some(p) if p["status"] == status && p["reason"] == reason && p["message"] == message => {
            p.clone()
        }
        Some(p) if p["status"] == status => json!({
            "type": type_, "status": status, "reason": reason, "message": message,
            "lastUpdateTime": at, "lastTransitionTime": p["lastTransitionTime"],
        }),
        _ => json!({
            "type": type_, "status": status, "reason": reason, "message": message,
            "lastUpdateTime": at, "lastTransitionTime": at,
        }),
    }
}

/// The name suffix the real controllers derive from a pod template: FNV-32a of it, the
/// decimal digits spelled in the alphabet of generated names (`rand.SafeEncodeString`).
fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let text = template.to_string();
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h.to_string()
        .bytes()
        .map(|b| ALPHABET[usize::from(b) % ALPHABET.len()] as char)
        .collect()
}

/// Whether a pod counts for its controller: not terminating, not finished.
fn active(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && !matches!(
            pod["status"]["phase"].as_str(),
            Some("Succeeded" | "Failed")
        )
}

/// Whether a pod is Running with every container ready.
fn ready(pod: &Value) -> bool {
    pod["status"]["phase"] == "Running"
        && pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// A JSON number, or nothing when it is zero (`omitempty` counters).
fn count(status: &mut Value, field: &str, n: usize) {
    if n == 0 {
        if let Some(m) = status.as_object_mut() {
            m.remove(field);
        }
    } else {
        status[field] = json!(n);
    }
}
