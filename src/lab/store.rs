//! The object store: every object the lab serves, the resourceVersion clock, the watch event
//! history, and the server-side behaviour of writes (defaults, validation, graceful deletion,
//! namespace finalization).
//!
//! All state sits behind one mutex; every write bumps the global resourceVersion and records an
//! [`Event`] in a history bounded by count and by bytes, like the real watch cache. Watches pull
//! from that history at their own pace (a [`Live`] receiver only says "something changed"), so an
//! unread watch costs nothing but its cursor; one that falls behind the history is told
//! `410 Expired`, as a real server tells it. After each write the scenario [`Engine`] reacts (recreating pods, healing objects) under
//! the same lock, so a client never sees a half-applied reaction.
//!
//! Deletions that a kubelet or the namespace controller would finish are finished by timers
//! ([`Timing`]): a scheduled pod is gone `kubelet_delay` after its DELETE, a namespace
//! `namespace_delay` after its DELETE, with everything in it.
//! To add server-side behaviour for a kind, extend [`Inner::defaults`] (create) or
//! [`Store::delete`] (deletion).
//!
//! Events expire as kube-apiserver's `--event-ttl` makes them: [`EVENT_TTL`] (one hour, or
//! the lab's `event_ttl`) after their last update. The last update is the latest of the
//! Event's `lastTimestamp`, `eventTime` and `series.lastObservedTime` and, for an Event
//! written after seeding, the time of that write (a seeded Event's story is told by its
//! timestamps; `creationTimestamp` only counts when it has none of them). Expiry happens on
//! access, not by a timer: every [`Store::lock`] compares the clock with the earliest expiry
//! (one comparison when nothing is due) and, once it has passed, removes the expired Events
//! with DELETED watch events, as the watch cache reports a TTL deletion. Tests shorten the
//! TTL (`LabOptions::event_ttl`) or seed Events whose timestamps are older than it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};
use tokio::sync::watch;

use super::clock::{now, parse_ts, timestamp};
use super::fields::{self, Writer};
use super::patch::{self, PatchType};
use super::resources::{self, ResourceType};
use super::selector::{FieldSelector, LabelSelector};
use super::status::ApiError;
use super::{cron, limit_range, priority, quota};

/// How many past events a watch can resume from...
const HISTORY: usize = 10_000;
/// ...and how many bytes of objects they may hold at most (oldest dropped first).
const HISTORY_BYTES: usize = 32 * 1024 * 1024;
/// Reaction rounds per write; guards against rules that keep triggering each other.
const MAX_REACTION_ROUNDS: usize = 16;

/// How long an Event lives after its last update: kube-apiserver's `--event-ttl` default.
pub const EVENT_TTL: Duration = Duration::from_secs(60 * 60);
/// The type key of the stored (`v1`) Events.
const EVENTS: &str = "events";

/// What a watch event says happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    Added,
    Modified,
    Deleted,
}

impl EventKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// One change to one object.
#[derive(Debug, Clone)]
pub struct Event {
    pub kind: EventKind,
    /// [`ResourceType::key`] of the object's type.
    pub resource: String,
    pub namespace: String,
    pub object: Value,
    /// The object before a MODIFIED event (to turn "stopped matching a selector" into DELETED).
    pub old: Option<Value>,
    pub rv: u64,
    /// Roughly the bytes this event holds (its objects' JSON length), for the history bound.
    pub size: usize,
}

/// Delays that stand in for the kubelet and the namespace controller.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub kubelet_delay: Duration,
    pub namespace_delay: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            kubelet_delay: Duration::from_millis(300),
            namespace_delay: Duration::from_millis(800),
        }
    }
}

type Key = (String, String, String);
/// A live watch's doorbell: the latest resourceVersion, changed after every write. The events
/// themselves are read with [`Store::events_after`].
pub type Live = watch::Receiver<u64>;

pub(crate) struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    types: Vec<ResourceType>,
    history: VecDeque<Arc<Event>>,
    history_bytes: usize,
    history_start: u64,
    pending: Vec<Arc<Event>>,
    bell: watch::Sender<u64>,
    /// The cluster CA published in every namespace; None: no namespace controllers (the
    /// empty lab, which mirrors the recorded server that ran none).
    root_ca: Option<String>,
    pub(crate) engine: Option<Box<dyn Reactor>>,
    /// The store itself, for timers a reactor asks for ([`Inner::wake_after`]).
    me: Weak<Store>,
    /// Events live this long after their last update.
    event_ttl: TimeDelta,
    /// When each Event written after seeding was last written.
    event_writes: HashMap<Key, DateTime<Utc>>,
    /// The recorder's Events by what makes them one (object, reason, message, source): the
    /// name of the Event a repeat counts on ([`crate::lab::events::record`]).
    pub(crate) recorded: HashMap<[u8; 8], String>,
    /// The earliest time an Event expires (None: no Events).
    next_expiry: Option<DateTime<Utc>>,
    /// Seeding: writes are not updates (a seeded Event's time is its timestamps').
    seeding: bool,
}

/// What reacts to the store's writes, under the same lock: the scenario's
/// [`super::reaction::Engine`] (recreating deleted pods, healing objects, serving logs,
/// judging "fixed"). A trait so that the store does not depend on the reactions.
pub(crate) trait Reactor: Send + Sync + std::fmt::Debug {
    /// The objects were (re)seeded.
    fn on_seeded(&mut self, inner: &Inner);
    /// `events` were just committed.
    fn on_events(&mut self, inner: &mut Inner, events: &[Arc<Event>]);
    /// A container's log (`previous`: the last terminated instance's).
    fn logs_of(&self, pod: &Value, container: &str, previous: bool) -> String;
    /// Whether the scenario's problem is gone.
    fn fixed(&self, inner: &Inner) -> bool;
    /// A timer asked for with [`Inner::wake_after`] went off (time-based steps: a kubelet
    /// starting a container).
    fn on_tick(&mut self, _inner: &mut Inner) {}
}

/// The shared store; cheap to clone through `Arc`.
pub struct Store {
    inner: Mutex<Inner>,
    pub timing: Timing,
}

/// One page of a list (see [`Store::list_page_with`]).
pub struct Page<T> {
    pub items: Vec<T>,
    /// `namespace/name` of the page's last object (where the next page starts).
    pub last: Option<String>,
    /// How many matching objects follow the page.
    pub remaining: usize,
    pub rv: u64,
}

/// What a DELETE answers: the object (pods, namespaces, objects with finalizers) or a Status.
pub enum Deleted {
    Object(Value),
    Status(Value),
}

fn expired(from: u64, start: u64) -> ApiError {
    ApiError::expired(format!("too old resource version: {from} ({start})"))
}

/// The length of `v` as compact JSON, without building the text.
fn json_size(v: &Value) -> usize {
    match v {
        Value::Null => 4,
        Value::Bool(_) => 5,
        Value::Number(_) => 8,
        Value::String(s) => s.len() + 2,
        Value::Array(a) => 2 + a.iter().map(|x| json_size(x) + 1).sum::<usize>(),
        Value::Object(m) => {
            2 + m
                .iter()
                .map(|(k, x)| k.len() + 4 + json_size(x))
                .sum::<usize>()
        }
    }
}

fn meta_str<'a>(obj: &'a Value, field: &str) -> &'a str {
    obj["metadata"][field].as_str().unwrap_or_default()
}

/// RFC 1123 subdomain (most names) or label (namespaces) check; the message is the real one.
fn name_problem(name: &str, label: bool) -> Option<String> {
    let part_ok = |p: &str| {
        !p.is_empty()
            && p.len() <= 63
            && p.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !p.starts_with('-')
            && !p.ends_with('-')
    };
    if label {
        if part_ok(name) {
            return None;
        }
        return Some(format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        ));
    }
    if name.len() <= 253 && name.split('.').all(part_ok) {
        return None;
    }
    Some(format!(
        "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
    ))
}

/// Five characters from the alphabet Kubernetes uses for generated name suffixes.
pub fn random_suffix(len: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes
        .iter()
        .take(len)
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

impl Inner {
    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn emit(&mut self, kind: EventKind, rt_key: &str, object: &Value, old: Option<Value>) {
        let size = json_size(object) + old.as_ref().map_or(0, json_size);
        let ev = Arc::new(Event {
            kind,
            resource: rt_key.to_owned(),
            namespace: meta_str(object, "namespace").to_owned(),
            object: object.clone(),
            old,
            rv: self.rv,
            size,
        });
        self.history_bytes += size;
        self.history.push_back(ev.clone());
        while (self.history.len() > HISTORY || self.history_bytes > HISTORY_BYTES)
            && self.history.len() > 1
            && let Some(e) = self.history.pop_front()
        {
            self.history_bytes -= e.size;
            self.history_start = e.rv;
        }
        self.bell.send_replace(self.rv);
        if rt_key == EVENTS {
            self.event_written(kind, object);
        }
        self.pending.push(ev);
    }

    /// Keep the Events' expiry bookkeeping after a write to one of them.
    fn event_written(&mut self, kind: EventKind, ev: &Value) {
        let key = (
            EVENTS.to_owned(),
            meta_str(ev, "namespace").to_owned(),
            meta_str(ev, "name").to_owned(),
        );
        if kind == EventKind::Deleted {
            self.event_writes.remove(&key);
            return;
        }
        if !self.seeding {
            self.event_writes.insert(key.clone(), now());
        }
        let expiry = self.expiry(&key, ev);
        self.next_expiry = Some(self.next_expiry.map_or(expiry, |t| t.min(expiry)));
    }

    /// When an Event was last updated (see the module doc).
    fn last_update(&self, key: &Key, ev: &Value) -> DateTime<Utc> {
        let stamped = [
            &ev["lastTimestamp"],
            &ev["eventTime"],
            &ev["series"]["lastObservedTime"],
        ]
        .into_iter()
        .filter_map(|v| v.as_str().and_then(parse_ts))
        .chain(self.event_writes.get(key).copied())
        .max();
        stamped
            .or_else(|| {
                ev["metadata"]["creationTimestamp"]
                    .as_str()
                    .and_then(parse_ts)
            })
            .unwrap_or_else(now)
    }

    fn expiry(&self, key: &Key, ev: &Value) -> DateTime<Utc> {
        self.last_update(key, ev)
            .checked_add_signed(self.event_ttl)
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    }

    /// Remove the Events whose time is up (DELETED watch events), once the earliest expiry
    /// has passed; otherwise one comparison.
    fn expire_events(&mut self) {
        let at = now();
        if self.next_expiry.is_none_or(|t| at < t) {
            return;
        }
        let mut doomed = Vec::new();
        let mut next: Option<DateTime<Utc>> = None;
        let start = (EVENTS.to_owned(), String::new(), String::new());
        for (key, ev) in self
            .objects
            .range(start..)
            .take_while(|((k, _, _), _)| k == EVENTS)
        {
            let expiry = self.expiry(key, ev);
            if expiry <= at {
                doomed.push(key.clone());
            } else {
                next = Some(next.map_or(expiry, |t| t.min(expiry)));
            }
        }
        self.next_expiry = next;
        for (_, ns, name) in doomed {
            self.remove(EVENTS, &ns, &name);
        }
        // The removals just made are not someone's writes: nothing reacts to them, but the
        // next write's reaction round must not see them either.
        self.pending.clear();
    }

    pub(crate) fn find_type_by_kind(
        &self,
        api_version: Option<&str>,
        kind: &str,
    ) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| t.kind == kind && api_version.is_none_or(|av| t.api_version() == av))
            .cloned()
    }

    pub(crate) fn find_type(&self, key: &str) -> Option<ResourceType> {
        self.types.iter().find(|t| t.key() == key).cloned()
    }

    pub(crate) fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(&(rt.key(), ns.to_owned(), name.to_owned()))
    }

    /// Objects of one type, optionally in one namespace, in etcd key order.
    pub(crate) fn list(&self, rt: &ResourceType, ns: Option<&str>) -> Vec<&Value> {
        let key = rt.key();
        let start = (
            key.clone(),
            ns.unwrap_or_default().to_owned(),
            String::new(),
        );
        self.objects
            .range(start..)
            .take_while(|((k, n, _), _)| *k == key && ns.is_none_or(|ns| ns == n))
            .map(|(_, v)| v)
            .collect()
    }

    fn refresh_types(&mut self) {
        let mut types = resources::builtin();
        let crd_key = "customresourcedefinitions.apiextensions.k8s.io".to_owned();
        for ((k, _, _), crd) in &self.objects {
            if *k == crd_key {
                types.extend(resources::from_crd(crd));
            }
        }
        self.types = types;
    }

    pub(crate) fn crds(&self) -> Vec<Value> {
        let crd_key = "customresourcedefinitions.apiextensions.k8s.io".to_owned();
        self.objects
            .iter()
            .filter(|((k, _, _), _)| *k == crd_key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    fn namespace_state(&self, ns: &str) -> Option<bool> {
        let key = ("namespaces".to_owned(), String::new(), ns.to_owned());
        self.objects
            .get(&key)
            .map(|n| n["metadata"]["deletionTimestamp"].is_string())
    }

    /// Server-side defaults for a new object (uid, timestamps, kind-specific fields).
    fn defaults(rt: &ResourceType, obj: &mut Value, now: DateTime<Utc>) {
        obj["apiVersion"] = json!(rt.api_version());
        obj["kind"] = json!(rt.kind);
        let meta = &mut obj["metadata"];
        meta["uid"] = json!(uuid::Uuid::new_v4().to_string());
        if !meta["creationTimestamp"].is_string() {
            meta["creationTimestamp"] = json!(timestamp(now));
        }
        if rt.has_generation() {
            meta["generation"] = json!(1);
        }
        if let Some(m) = meta.as_object_mut() {
            m.remove("deletionTimestamp");
            m.remove("deletionGracePeriodSeconds");
            m.remove("resourceVersion");
            m.remove("selfLink");
        }
        if rt.group == "batch" {
            batch_defaults(&rt.plural, obj);
            return;
        }
        if rt.group == "autoscaling" && rt.plural == "horizontalpodautoscalers" {
            autoscaler_defaults(obj);
            return;
        }
        if !rt.group.is_empty() && rt.group != "apps" && rt.group != "apiextensions.k8s.io" {
            return;
        }
        match (rt.group.as_str(), rt.plural.as_str()) {
            ("", "limitranges") => limit_range::defaults(obj),
            ("", "namespaces") => {
                let name = meta_str(obj, "name").to_owned();
                obj["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
                obj["spec"] = json!({"finalizers": ["kubernetes"]});
                if !obj["status"]["phase"].is_string() {
                    obj["status"] = json!({"phase": "Active"});
                }
            }
            ("", "pods") => pod_defaults(obj),
            ("apps", plural) => apps_defaults(plural, obj),
            ("", "services") => service_defaults(obj, now),
            ("", "events") => {
                for (k, v) in [
                    ("eventTime", Value::Null),
                    ("reportingComponent", json!("")),
                    ("reportingInstance", json!("")),
                ] {
                    if obj.get(k).is_none() {
                        obj[k] = v;
                    }
                }
            }
            ("apiextensions.k8s.io", "customresourcedefinitions") => {
                let names = obj["spec"]["names"].clone();
                let mut accepted = names.clone();
                if accepted["singular"].is_null() {
                    accepted["singular"] =
                        json!(names["kind"].as_str().unwrap_or_default().to_lowercase());
                }
                if accepted["listKind"].is_null() {
                    accepted["listKind"] = json!(format!(
                        "{}List",
                        names["kind"].as_str().unwrap_or_default()
                    ));
                }
                obj["spec"]["names"] = accepted.clone();
                let ts = timestamp(now);
                let stored: Vec<Value> = obj["spec"]["versions"]
                    .as_array()
                    .map(|vs| {
                        vs.iter()
                            .filter(|v| v["storage"].as_bool() == Some(true))
                            .map(|v| v["name"].clone())
                            .collect()
                    })
                    .unwrap_or_default();
                if obj["spec"]["conversion"].is_null() {
                    obj["spec"]["conversion"] = json!({"strategy": "None"});
                }
                obj["status"] = json!({
                    "conditions": [
                        {"type": "NamesAccepted", "status": "True", "lastTransitionTime": ts, "reason": "NoConflicts", "message": "no conflicts found"},
                        {"type": "Established", "status": "True", "lastTransitionTime": ts, "reason": "InitialNamesAccepted", "message": "the initial names have been accepted"}
                    ],
                    "acceptedNames": accepted,
                    "storedVersions": stored,
                });
            }
            _ => {}
        }
    }

    /// Fields the server code indexes into must have the right JSON shape (the real server's
    /// decoder rejects anything else with a 400).
    fn check_shape(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
        let must_be_map = [
            ("metadata.labels", &obj["metadata"]["labels"]),
            ("metadata.annotations", &obj["metadata"]["annotations"]),
            ("spec", &obj["spec"]),
            ("status", &obj["status"]),
            ("data", &obj["data"]),
        ];
        for (field, v) in must_be_map {
            if !v.is_null() && !v.is_object() {
                return Err(ApiError::bad_request(format!(
                    "the object provided is unrecognized (must be of type {}): {field} must be a JSON object",
                    rt.kind
                )));
            }
        }
        if rt.plural == "customresourcedefinitions" {
            let spec = &obj["spec"];
            let ok = spec["group"].is_string()
                && spec["names"]["plural"].is_string()
                && spec["names"]["kind"].is_string()
                && spec["versions"]
                    .as_array()
                    .is_some_and(|v| v.iter().all(|v| v["name"].is_string()));
            if !ok {
                let name = meta_str(obj, "name");
                return Err(ApiError::invalid(
                    &rt.kind,
                    &rt.group,
                    name,
                    &[(
                        "spec".to_owned(),
                        "FieldValueRequired",
                        "Required value: group, names.plural, names.kind and versions[].name"
                            .to_owned(),
                    )],
                ));
            }
        }
        Ok(())
    }

    fn validate(rt: &ResourceType, obj: &Value) -> Result<(), ApiError> {
        Self::check_shape(rt, obj)?;
        let name = meta_str(obj, "name");
        let mut causes = Vec::new();
        if name.is_empty() {
            causes.push((
                "metadata.name".to_owned(),
                "FieldValueRequired",
                "Required value: name or generateName is required".to_owned(),
            ));
        } else if rt.group == "rbac.authorization.k8s.io" {
            // RBAC objects only need a valid path segment (`system:discovery`).
            if matches!(name, "." | "..") || name.contains(['/', '%']) {
                causes.push((
                    "metadata.name".to_owned(),
                    "FieldValueInvalid",
                    format!("Invalid value: \"{name}\": may not contain '/' or '%'"),
                ));
            }
        } else if let Some(p) = name_problem(name, rt.plural == "namespaces" && rt.group.is_empty())
        {
            causes.push(("metadata.name".to_owned(), "FieldValueInvalid", p));
        }
        if rt.group.is_empty()
            && rt.plural == "pods"
            && obj["spec"]["containers"]
                .as_array()
                .is_none_or(Vec::is_empty)
        {
            causes.push((
                "spec.containers".to_owned(),
                "FieldValueRequired",
                "Required value".to_owned(),
            ));
        }
        causes.extend(Self::spec_problems(rt, obj));
        if causes.is_empty() {
            Ok(())
        } else {
            Err(ApiError::invalid(&rt.kind, &rt.group, name, &causes))
        }
    }

    /// What a kind's own validation refuses in `spec`, on create and update alike.
    fn spec_problems(rt: &ResourceType, obj: &Value) -> Vec<cron::Cause> {
        if rt.group == "batch" && rt.plural == "cronjobs" {
            cron::problems(&obj["spec"])
        } else {
            Vec::new()
        }
    }

    /// The namespace's objects of `plural.group` (core when `group` is empty).
    pub(crate) fn objects_of(&self, plural: &str, group: &str, ns: &str) -> Vec<&Value> {
        let key = if group.is_empty() {
            plural.to_owned()
        } else {
            format!("{plural}.{group}")
        };
        self.find_type(&key)
            .map(|rt| self.list(&rt, Some(ns)))
            .unwrap_or_default()
    }

    /// `ResourceQuota` admission ([`quota::admit`]) of one more object in `ns`.
    fn admit_quota(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        obj: &Value,
    ) -> Result<(), ApiError> {
        let quotas = self.objects_of("resourcequotas", "", ns);
        if quotas.is_empty() {
            return Ok(());
        }
        let objects = |plural: &str, group: &str| self.objects_of(plural, group, ns);
        quota::admit(&quotas, &rt.plural, &rt.group, obj, &objects).map_err(|message| {
            ApiError::forbidden_by_admission(&rt.group, &rt.plural, name, &message)
        })
    }

    /// Create `obj` of type `rt` in `ns` (empty for cluster-scoped); the core of POST.
    pub(crate) fn create(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        self.create_as(rt, ns, obj, None)
    }

    /// [`Inner::create`], recording `who`'s fields in `managedFields` when given.
    pub(crate) fn create_as(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        mut obj: Value,
        who: Option<&Writer>,
    ) -> Result<Value, ApiError> {
        if !obj.is_object() {
            return Err(ApiError::bad_request("the object provided is unrecognized"));
        }
        if !obj["metadata"].is_object() {
            obj["metadata"] = json!({});
        }
        let body_ns = meta_str(&obj, "namespace").to_owned();
        if rt.namespaced {
            if !body_ns.is_empty() && body_ns != ns {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
            obj["metadata"]["namespace"] = json!(ns);
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        if meta_str(&obj, "name").is_empty() {
            let prefix = meta_str(&obj, "generateName").to_owned();
            if !prefix.is_empty() {
                obj["metadata"]["name"] = json!(format!("{prefix}{}", random_suffix(5)));
            }
        }
        Self::validate(rt, &obj)?;
        if let Some(schema) = &rt.schema {
            resources::prune(&mut obj, schema, true);
        }
        let name = meta_str(&obj, "name").to_owned();
        if rt.namespaced {
            match self.namespace_state(ns) {
                None => return Err(ApiError::not_found("", "namespaces", ns)),
                Some(true) => {
                    return Err(ApiError::forbidden_terminating(
                        &rt.group, &rt.plural, &name, ns,
                    ));
                }
                Some(false) => {}
            }
        }
        let key = (rt.key(), ns.to_owned(), name.clone());
        if self.objects.contains_key(&key) {
            return Err(ApiError::already_exists(&rt.group, &rt.plural, &name));
        }
        if rt.group.is_empty() && rt.plural == "pods" && !self.seeding {
            let classes = self.objects_of("priorityclasses", "scheduling.k8s.io", "");
            priority::admit(&classes, &mut obj).map_err(|message| {
                ApiError::forbidden_by_admission(&rt.group, &rt.plural, &name, &message)
            })?;
        }
        Self::defaults(rt, &mut obj, now());
        if rt.namespaced && !self.seeding {
            if rt.group.is_empty() && rt.plural == "pods" {
                let ranges = self.objects_of("limitranges", "", ns);
                limit_range::admit(&ranges, &mut obj).map_err(|message| {
                    ApiError::forbidden_by_admission(&rt.group, &rt.plural, &name, &message)
                })?;
            }
            self.admit_quota(rt, ns, &name, &obj)?;
        }
        if let Some(who) = who {
            fields::record_create(&mut obj, who, rt.status_subresource);
        }
        let rv = self.next_rv();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects.insert(key, obj.clone());
        if rt.plural == "customresourcedefinitions" {
            self.refresh_types();
        }
        self.emit(EventKind::Added, &rt.key(), &obj, None);
        if rt.group.is_empty() && rt.plural == "namespaces" {
            self.namespace_created(&obj);
        }
        Ok(obj)
    }

    /// What the service-account controller and the root-CA publisher do for a new namespace:
    /// its `default` service account and the `kube-root-ca.crt` config map.
    fn namespace_created(&mut self, ns: &Value) {
        let Some(root_ca) = self.root_ca.clone() else {
            return;
        };
        let name = meta_str(ns, "name").to_owned();
        let at = ns["metadata"]["creationTimestamp"].clone();
        let objects = [
            (
                "serviceaccounts",
                json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "default", "creationTimestamp": at}}),
            ),
            (
                "configmaps",
                json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "creationTimestamp": at,
                             "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": root_ca}}),
            ),
        ];
        for (key, obj) in objects {
            if let Some(rt) = self.find_type(key) {
                let _ = self.create(&rt, &name, obj);
            }
        }
    }

    /// Replace an object (PUT, and the second half of PATCH).
    pub(crate) fn update(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        obj: Value,
        subresource: Option<&str>,
    ) -> Result<Value, ApiError> {
        self.update_as(rt, ns, name, obj, subresource, None)
    }

    /// [`Inner::update`], recording what `who` changed in `managedFields` when given.
    pub(crate) fn update_as(
        &mut self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        mut obj: Value,
        subresource: Option<&str>,
        who: Option<&Writer>,
    ) -> Result<Value, ApiError> {
        let key = (rt.key(), ns.to_owned(), name.to_owned());
        let Some(old) = self.objects.get(&key).cloned() else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        if !obj.is_object() || (!obj["metadata"].is_object() && !obj["metadata"].is_null()) {
            return Err(ApiError::bad_request("the object provided is unrecognized"));
        }
        Self::check_shape(rt, &obj)?;
        if let Some(schema) = &rt.schema {
            resources::prune(&mut obj, schema, true);
        }
        let body_name = meta_str(&obj, "name");
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(
                "the name of the object does not match the name on the URL",
            ));
        }
        let body_rv = meta_str(&obj, "resourceVersion");
        if !body_rv.is_empty() && body_rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::conflict(&rt.group, &rt.plural, name));
        }
        if subresource.is_none() {
            let causes = Self::spec_problems(rt, &obj);
            if !causes.is_empty() {
                return Err(ApiError::invalid(&rt.kind, &rt.group, name, &causes));
            }
        }
        let mut new = if subresource == Some("status") {
            let mut n = old.clone();
            n["status"] = obj["status"].clone();
            n
        } else {
            if rt.status_subresource {
                obj["status"] = old["status"].clone();
            }
            obj
        };
        // Fields the server owns.
        new["apiVersion"] = json!(rt.api_version());
        new["kind"] = json!(rt.kind);
        for f in [
            "uid",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "generation",
        ] {
            if old["metadata"][f].is_null() {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(f);
                }
            } else {
                new["metadata"][f] = old["metadata"][f].clone();
            }
        }
        new["metadata"]["name"] = json!(name);
        if rt.namespaced {
            new["metadata"]["namespace"] = json!(ns);
        }
        if rt.group.is_empty() && rt.plural == "namespaces" {
            new["metadata"]["labels"]["kubernetes.io/metadata.name"] = json!(name);
            if new["spec"].is_null() {
                new["spec"] = old["spec"].clone();
            }
        }
        if new["status"].is_null()
            && let Some(m) = new.as_object_mut()
        {
            m.remove("status");
        }
        if rt.has_generation() && new["spec"] != old["spec"] {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
            new["metadata"]["generation"] = json!(g + 1);
        }
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if let Some(who) = who {
            fields::record_update(&old, &mut new, who, rt.status_subresource);
        } else if new["metadata"]["managedFields"].is_null()
            && let Some(kept) = old["metadata"].get("managedFields")
        {
            // Writers that do not say who they are (reactions, seeds) keep the record.
            new["metadata"]["managedFields"] = kept.clone();
        }
        if new == old {
            return Ok(old);
        }
        // An object waiting only for its finalizers goes once they are gone.
        let finalizers_gone = new["metadata"]["deletionTimestamp"].is_string()
            && new["metadata"]["finalizers"]
                .as_array()
                .is_none_or(Vec::is_empty)
            && !(rt.group.is_empty() && matches!(rt.plural.as_str(), "pods" | "namespaces"));
        let rv = self.next_rv();
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        if finalizers_gone {
            self.objects.remove(&key);
            self.emit(EventKind::Deleted, &rt.key(), &new, Some(old));
            return Ok(new);
        }
        self.objects.insert(key, new.clone());
        if rt.plural == "customresourcedefinitions" {
            self.refresh_types();
        }
        self.emit(EventKind::Modified, &rt.key(), &new, Some(old));
        Ok(new)
    }

    /// Remove an object now (emits DELETED).
    pub(crate) fn remove(&mut self, rt_key: &str, ns: &str, name: &str) -> Option<Value> {
        let key = (rt_key.to_owned(), ns.to_owned(), name.to_owned());
        let mut obj = self.objects.remove(&key)?;
        let rv = self.next_rv();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        if rt_key == "customresourcedefinitions.apiextensions.k8s.io" {
            self.refresh_types();
            // The CRD's objects go with it.
            let plural_group = meta_str(&obj, "name").to_owned();
            let doomed: Vec<Key> = self
                .objects
                .keys()
                .filter(|(k, _, _)| *k == plural_group)
                .cloned()
                .collect();
            for (k, n, name) in doomed {
                self.remove(&k, &n, &name);
            }
        }
        self.emit(EventKind::Deleted, rt_key, &obj, None);
        Some(obj)
    }

    /// Replace an object without API checks (for reactions); emits MODIFIED when it changed.
    pub(crate) fn put_internal(&mut self, rt_key: &str, mut obj: Value) {
        let key = (
            rt_key.to_owned(),
            meta_str(&obj, "namespace").to_owned(),
            meta_str(&obj, "name").to_owned(),
        );
        let Some(old) = self.objects.get(&key).cloned() else {
            return;
        };
        obj["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if obj == old {
            return;
        }
        let rv = self.next_rv();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.objects.insert(key, obj.clone());
        self.emit(EventKind::Modified, rt_key, &obj, Some(old));
    }

    /// Every (type key, object) pair; reactions use it to evaluate conditions.
    pub(crate) fn all(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.objects.iter().map(|((k, _, _), v)| (k.as_str(), v))
    }

    /// Fixture Events name their object by kind and name; give them its uid, as a real event
    /// has (`kubectl describe` selects events by `involvedObject.uid`).
    fn link_events(&mut self) {
        let Some(events) = self.find_type("events") else {
            return;
        };
        let keys: Vec<Key> = self
            .list(&events, None)
            .iter()
            .map(|e| {
                (
                    events.key(),
                    meta_str(e, "namespace").to_owned(),
                    meta_str(e, "name").to_owned(),
                )
            })
            .collect();
        for key in keys {
            let Some(ev) = self.objects.get(&key) else {
                continue;
            };
            let io = &ev["involvedObject"];
            if io["uid"].is_string() {
                continue;
            }
            let (kind, ns, name) = (
                io["kind"].as_str().unwrap_or_default().to_owned(),
                io["namespace"].as_str().unwrap_or_default().to_owned(),
                io["name"].as_str().unwrap_or_default().to_owned(),
            );
            let Some(rt) = self.find_type_by_kind(None, &kind) else {
                continue;
            };
            let uid = self
                .get(&rt, if rt.namespaced { &ns } else { "" }, &name)
                .map(|o| o["metadata"]["uid"].clone());
            if let (Some(uid), Some(ev)) = (uid, self.objects.get_mut(&key)) {
                ev["involvedObject"]["uid"] = uid;
            }
        }
    }

    /// Have the reactor's [`Reactor::on_tick`] called after `delay` (on the current tokio
    /// runtime; without one, never), like the timers that finish graceful deletions.
    pub(crate) fn wake_after(&self, delay: Duration) {
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.me.clone();
        handle.spawn(async move {
            tokio::time::sleep(delay).await;
            if let Some(store) = store.upgrade() {
                store.tick();
            }
        });
    }

    /// Run scenario reactions on the writes since the last call.
    fn react(&mut self) {
        for _ in 0..MAX_REACTION_ROUNDS {
            if self.pending.is_empty() {
                return;
            }
            let events = std::mem::take(&mut self.pending);
            if let Some(mut engine) = self.engine.take() {
                engine.on_events(self, &events);
                self.engine = Some(engine);
            }
        }
        self.pending.clear();
    }
}

/// A `ClusterIP` from 10.96.0.0/12 (kubeadm's default service range), derived from the uid so
/// that it is stable for the object and spread over the range.
fn service_defaults(obj: &mut Value, _now: DateTime<Utc>) {
    let spec = &mut obj["spec"];
    if spec["type"].is_null() {
        spec["type"] = json!("ClusterIP");
    }
    let ty = spec["type"].as_str().unwrap_or_default().to_owned();
    if ty != "ExternalName" && spec["clusterIP"].as_str().is_none_or(str::is_empty) {
        let uid = uuid::Uuid::new_v4().into_bytes();
        let ip = format!("10.{}.{}.{}", 96 + (uid[0] & 0x0f), uid[1], uid[2].max(1));
        spec["clusterIP"] = json!(ip);
        spec["clusterIPs"] = json!([ip]);
        spec["ipFamilies"] = json!(["IPv4"]);
        spec["ipFamilyPolicy"] = json!("SingleStack");
    }
    for (k, v) in [
        ("sessionAffinity", json!("None")),
        ("internalTrafficPolicy", json!("Cluster")),
    ] {
        if spec[k].is_null() && ty != "ExternalName" {
            spec[k] = v;
        }
    }
    if let Some(ports) = spec["ports"].as_array_mut() {
        for (i, p) in ports.iter_mut().enumerate() {
            if p["protocol"].is_null() {
                p["protocol"] = json!("TCP");
            }
            if p["targetPort"].is_null() || p["targetPort"] == 0 {
                p["targetPort"] = p["port"].clone();
            }
            if p["nodePort"] == 0
                && let Some(m) = p.as_object_mut()
            {
                m.remove("nodePort");
            }
            if matches!(ty.as_str(), "NodePort" | "LoadBalancer") && p["nodePort"].is_null() {
                p["nodePort"] = json!(
                    30_000
                        + (i as u64 * 7919 + u64::from(uuid::Uuid::new_v4().as_bytes()[0]) * 9)
                            % 2768
                );
            }
        }
    }
    if obj["status"].is_null() {
        obj["status"] = json!({"loadBalancer": {}});
    }
}

/// The API server's defaults for deployments, daemon sets and stateful sets
/// (`SetDefaults_Deployment`, `SetDefaults_DaemonSet`, `SetDefaults_StatefulSet`): what
/// `kubectl rollout status` and the controllers read.
fn apps_defaults(plural: &str, obj: &mut Value) {
    let defaults: &[(&str, Value)] = match plural {
        "deployments" => &[
            ("replicas", json!(1)),
            (
                "strategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
            ),
            ("revisionHistoryLimit", json!(10)),
            ("progressDeadlineSeconds", json!(600)),
        ],
        "daemonsets" => &[
            (
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}),
            ),
            ("revisionHistoryLimit", json!(10)),
        ],
        "statefulsets" => &[
            ("replicas", json!(1)),
            ("podManagementPolicy", json!("OrderedReady")),
            (
                "updateStrategy",
                json!({"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}),
            ),
            ("revisionHistoryLimit", json!(10)),
            (
                "persistentVolumeClaimRetentionPolicy",
                json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
            ),
        ],
        "replicasets" => &[("replicas", json!(1))],
        _ => &[],
    };
    let spec = &mut obj["spec"];
    for (k, v) in defaults {
        // A protobuf body spells an unset strategy as an empty message.
        if spec[*k].is_null() || spec[*k].as_object().is_some_and(serde_json::Map::is_empty) {
            spec[*k] = v.clone();
        }
    }
}

/// What the `autoscaling/v2` defaults give an autoscaler: one replica at least, and a CPU
/// utilization target of 80% when it names no metric.
fn autoscaler_defaults(obj: &mut Value) {
    let spec = &mut obj["spec"];
    if spec["minReplicas"].is_null() {
        spec["minReplicas"] = json!(1);
    }
    if spec["metrics"].as_array().is_none_or(Vec::is_empty) {
        spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 80}}}]);
    }
}

/// The API server's defaults for jobs and cron jobs (`SetDefaults_Job`, `SetDefaults_CronJob`).
fn batch_defaults(plural: &str, obj: &mut Value) {
    let spec = &mut obj["spec"];
    let job_defaults: &[(&str, Value)] = &[
        ("backoffLimit", json!(6)),
        ("completionMode", json!("NonIndexed")),
        ("suspend", json!(false)),
        ("podReplacementPolicy", json!("TerminatingOrFailed")),
    ];
    let (target, defaults): (&mut Value, Vec<(&str, Value)>) = if plural == "cronjobs" {
        for (k, v) in [
            ("suspend", json!(false)),
            ("concurrencyPolicy", json!("Allow")),
            ("successfulJobsHistoryLimit", json!(3)),
            ("failedJobsHistoryLimit", json!(1)),
        ] {
            if spec[k].is_null() {
                spec[k] = v;
            }
        }
        (&mut spec["jobTemplate"]["spec"], job_defaults.to_vec())
    } else {
        let mut d = job_defaults.to_vec();
        d.push(("completions", json!(1)));
        d.push(("parallelism", json!(1)));
        (spec, d)
    };
    for (k, v) in defaults {
        if target[k].is_null() {
            target[k] = v;
        }
    }
}

fn pod_defaults(obj: &mut Value) {
    let spec = &mut obj["spec"];
    if let Some(containers) = spec["containers"].as_array_mut() {
        for c in containers {
            if c["resources"].is_null() {
                c["resources"] = json!({});
            }
            if c["terminationMessagePath"].is_null() {
                c["terminationMessagePath"] = json!("/dev/termination-log");
            }
            if c["terminationMessagePolicy"].is_null() {
                c["terminationMessagePolicy"] = json!("File");
            }
            if c["imagePullPolicy"].is_null() {
                let image = c["image"].as_str().unwrap_or_default();
                let tagged = image
                    .rsplit('/')
                    .next()
                    .is_some_and(|last| last.contains(':') || last.contains('@'));
                let latest = image.ends_with(":latest");
                c["imagePullPolicy"] = json!(if tagged && !latest {
                    "IfNotPresent"
                } else {
                    "Always"
                });
            }
        }
    }
    for (k, v) in [
        ("restartPolicy", json!("Always")),
        ("terminationGracePeriodSeconds", json!(30)),
        ("dnsPolicy", json!("ClusterFirst")),
        ("securityContext", json!({})),
        ("schedulerName", json!("default-scheduler")),
        (
            "tolerations",
            json!([
                {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
                {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
            ]),
        ),
        ("priority", json!(0)),
        ("enableServiceLinks", json!(true)),
        ("preemptionPolicy", json!("PreemptLowerPriority")),
    ] {
        if spec[k].is_null() {
            spec[k] = v;
        }
    }
    if obj["status"]["phase"].is_null() {
        obj["status"]["phase"] = json!("Pending");
    }
    if obj["status"]["qosClass"].is_null() {
        obj["status"]["qosClass"] = json!("BestEffort");
    }
}

impl Store {
    pub(crate) fn new(timing: Timing, engine: Box<dyn Reactor>) -> Arc<Self> {
        let (bell, _) = watch::channel(1);
        Arc::new_cyclic(|me| Self::with_inner(timing, engine, bell, me.clone()))
    }

    fn with_inner(
        timing: Timing,
        engine: Box<dyn Reactor>,
        bell: watch::Sender<u64>,
        me: Weak<Self>,
    ) -> Self {
        let mut inner = Inner {
            rv: 1,
            objects: BTreeMap::new(),
            types: Vec::new(),
            history: VecDeque::new(),
            history_bytes: 0,
            history_start: 1,
            pending: Vec::new(),
            bell,
            root_ca: None,
            engine: Some(engine),
            me,
            event_ttl: TimeDelta::hours(1),
            event_writes: HashMap::new(),
            recorded: HashMap::new(),
            next_expiry: None,
            seeding: false,
        };
        inner.refresh_types();
        Self {
            inner: Mutex::new(inner),
            timing,
        }
    }

    /// A reactor's timer went off: let it take its time-based steps, then react to them.
    fn tick(&self) {
        let mut inner = self.lock();
        if let Some(mut engine) = inner.engine.take() {
            engine.on_tick(&mut inner);
            inner.engine = Some(engine);
        }
        inner.react();
    }

    /// The state, with the Events whose time is up gone.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Inner> {
        let mut inner = self
            .inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.expire_events();
        inner
    }

    /// Events live `ttl` after their last update from now on (default [`EVENT_TTL`]).
    pub fn set_event_ttl(&self, ttl: Duration) {
        let mut inner = self.lock();
        inner.event_ttl = TimeDelta::from_std(ttl).unwrap_or(TimeDelta::MAX);
        // Recomputed at the next access.
        inner.next_expiry = Some(DateTime::<Utc>::MIN_UTC);
    }

    /// Run the namespace controllers (the `default` service account, `kube-root-ca.crt`) with this CA
    /// from now on.
    pub fn set_root_ca(&self, pem: &str) {
        self.lock().root_ca = Some(pem.to_owned());
    }

    /// Load seed objects (no events, no reactions); later watches start after them.
    pub fn seed(&self, objects: impl IntoIterator<Item = Value>) -> Result<(), ApiError> {
        let mut inner = self.lock();
        inner.seeding = true;
        for obj in objects {
            // Seeding records no watch events: drop each one as it is made, so that a large
            // seed never holds a second copy of every object in the history.
            inner.pending.clear();
            inner.history.clear();
            inner.history_bytes = 0;
            let api_version = obj["apiVersion"].as_str().map(str::to_owned);
            let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
            let Some(rt) = inner.find_type_by_kind(api_version.as_deref(), &kind) else {
                return Err(ApiError::bad_request(format!(
                    "no resource type for {kind} ({})",
                    api_version.unwrap_or_default()
                )));
            };
            let ns = meta_str(&obj, "namespace").to_owned();
            let ns = if rt.namespaced && ns.is_empty() {
                "default".to_owned()
            } else {
                ns
            };
            let status = obj.get("status").cloned();
            let uid = obj["metadata"]["uid"].as_str().map(str::to_owned);
            let mut created = inner.create(&rt, &ns, obj)?;
            // Fixtures may pin uids (events point at their objects through them).
            if let Some(uid) = uid {
                created["metadata"]["uid"] = json!(uid);
                let key = (rt.key(), ns.clone(), meta_str(&created, "name").to_owned());
                inner.objects.insert(key, created.clone());
            }
            if let Some(status) = status.filter(|s| !s.is_null())
                && rt.plural != "customresourcedefinitions"
            {
                let merged = {
                    let mut base = created["status"].clone();
                    if base.is_null() {
                        base = json!({});
                    }
                    json_patch::merge(&mut base, &status);
                    base
                };
                created["status"] = merged;
                let key = (rt.key(), ns.clone(), meta_str(&created, "name").to_owned());
                inner.objects.insert(key, created);
            }
        }
        inner.link_events();
        inner.seeding = false;
        // Seeded Events already past their time never show.
        inner.next_expiry = Some(DateTime::<Utc>::MIN_UTC);
        inner.expire_events();
        inner.pending.clear();
        inner.history.clear();
        inner.history_bytes = 0;
        inner.history_start = inner.rv;
        if let Some(mut engine) = inner.engine.take() {
            engine.on_seeded(&inner);
            inner.engine = Some(engine);
        }
        Ok(())
    }

    pub fn resolve(&self, group: &str, version: &str, plural: &str) -> Option<ResourceType> {
        self.lock()
            .types
            .iter()
            .find(|t| t.group == group && t.version == version && t.plural == plural)
            .cloned()
    }

    pub fn types(&self) -> Vec<ResourceType> {
        self.lock().types.clone()
    }

    pub fn crds(&self) -> Vec<Value> {
        self.lock().crds()
    }

    pub fn get(&self, rt: &ResourceType, ns: &str, name: &str) -> Result<Value, ApiError> {
        self.lock()
            .get(rt, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(&rt.group, &rt.plural, name))
    }

    /// Look an object up by kind (`Pod`, `IPClaim`), for tests and the library API.
    pub fn get_by_kind(&self, kind: &str, ns: &str, name: &str) -> Option<Value> {
        let inner = self.lock();
        let rt = inner.find_type_by_kind(None, kind)?;
        inner.get(&rt, ns, name).cloned()
    }

    /// Objects of a kind (all namespaces when `ns` is None), for tests and the library API.
    pub fn list_by_kind(&self, kind: &str, ns: Option<&str>) -> Vec<Value> {
        let inner = self.lock();
        let Some(rt) = inner.find_type_by_kind(None, kind) else {
            return Vec::new();
        };
        inner.list(&rt, ns).into_iter().cloned().collect()
    }

    /// A filtered list and the resourceVersion it was read at.
    pub fn list(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .list(rt, ns)
            .into_iter()
            .filter(|o| labels.matches(&o["metadata"]["labels"]) && fields.matches(rt, o))
            .cloned()
            .collect();
        (items, inner.rv)
    }

    /// One page of a filtered list: the matching objects after `after` (`namespace/name`), at
    /// most `limit` of them (0: all), how many match after the page, and the resourceVersion.
    /// Only the page is copied, so paging through thousands of objects stays cheap.
    pub fn list_page(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        selectors: (&LabelSelector, &FieldSelector),
        after: Option<&str>,
        limit: usize,
    ) -> (Vec<Value>, usize, u64) {
        let page = self.list_page_with(rt, ns, selectors, after, limit, Value::clone);
        (page.items, page.remaining, page.rv)
    }

    /// [`Store::list_page`] with each matching object made into what the reply needs (a
    /// table row, say) while it is read, instead of copied whole first.
    pub fn list_page_with<T>(
        &self,
        rt: &ResourceType,
        ns: Option<&str>,
        selectors: (&LabelSelector, &FieldSelector),
        after: Option<&str>,
        limit: usize,
        mut make: impl FnMut(&Value) -> T,
    ) -> Page<T> {
        let (labels, fields) = selectors;
        let after = after.map(|a| a.split_once('/').unwrap_or(("", a)));
        let inner = self.lock();
        let key = rt.key();
        // Start right after the continue key (a range, not a scan from the first object: a
        // paged list of n objects costs n, not n²/limit).
        let start = match after {
            Some((a_ns, a_name)) => Bound::Excluded((
                key.clone(),
                ns.unwrap_or(a_ns).to_owned(),
                if ns.is_some_and(|n| n != a_ns) {
                    String::new()
                } else {
                    a_name.to_owned()
                },
            )),
            None => Bound::Included((
                key.clone(),
                ns.unwrap_or_default().to_owned(),
                String::new(),
            )),
        };
        let everything = labels.is_empty() && fields.is_empty();
        let mut page = Page {
            items: Vec::new(),
            last: None,
            remaining: 0,
            rv: inner.rv,
        };
        for ((k, n, name), o) in inner.objects.range((start, Bound::Unbounded)) {
            if *k != key || ns.is_some_and(|ns| ns != n) {
                break;
            }
            if !everything && (!labels.matches(&o["metadata"]["labels"]) || !fields.matches(rt, o))
            {
                continue;
            }
            if limit == 0 || page.items.len() < limit {
                page.items.push(make(o));
                page.last = Some(format!("{n}/{name}"));
            } else {
                page.remaining += 1;
            }
        }
        page
    }

    pub fn create(&self, rt: &ResourceType, ns: &str, obj: Value) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let out = inner.create(rt, ns, obj)?;
        inner.react();
        Ok(out)
    }

    /// A create by `who` (recorded in `managedFields`).
    pub fn create_as(
        &self,
        rt: &ResourceType,
        ns: &str,
        obj: Value,
        who: &Writer,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let out = inner.create_as(rt, ns, obj, Some(who))?;
        inner.react();
        Ok(out)
    }

    /// An update (PUT) by `who`, on the object or on `who.subresource`.
    pub fn update_as(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        obj: Value,
        who: &Writer,
    ) -> Result<Value, ApiError> {
        let sub = Some(who.subresource.as_str()).filter(|s| *s == "status");
        let mut inner = self.lock();
        let out = inner.update_as(rt, ns, name, obj, sub, Some(who))?;
        inner.react();
        Ok(out)
    }

    /// A JSON, merge or strategic patch by `who`; `check` sees the patched object before it is
    /// stored, and may refuse it or change it (the server's field validation).
    pub fn patch_as(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        (body, kind): (&[u8], PatchType),
        who: &Writer,
        check: &mut dyn FnMut(&mut Value) -> Result<(), ApiError>,
    ) -> Result<Value, ApiError> {
        if rt.custom && kind == PatchType::Strategic {
            return Err(ApiError::unsupported_patch_for_cr());
        }
        let sub = Some(who.subresource.as_str()).filter(|s| *s == "status");
        let mut inner = self.lock();
        let Some(current) = inner.get(rt, ns, name).cloned() else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        let mut patched = patch::apply(&current, body, kind)?;
        check(&mut patched)?;
        let out = inner.update_as(rt, ns, name, patched, sub, Some(who))?;
        inner.react();
        Ok(out)
    }

    /// Server-side apply of `config` (an `application/apply-patch+yaml` body, already
    /// parsed) by `who`: creates the object when absent (`true` in the answer), else merges
    /// by field ownership ([`fields::apply`]). `dry_run` answers without storing.
    pub fn apply(
        &self,
        rt: &ResourceType,
        (ns, name): (&str, &str),
        config: &Value,
        who: &Writer,
        (force, dry_run): (bool, bool),
    ) -> Result<(Value, bool), ApiError> {
        let sub = Some(who.subresource.as_str()).filter(|s| *s == "status");
        let mut inner = self.lock();
        let live = inner.get(rt, ns, name).cloned();
        let applied = fields::apply(live.as_ref(), config, who, force, rt.status_subresource)?;
        if dry_run {
            return Ok((applied.object, live.is_none()));
        }
        let out = match live {
            None => inner.create_as(rt, ns, applied.object, None)?,
            Some(_) => inner.update_as(rt, ns, name, applied.object, sub, None)?,
        };
        inner.react();
        Ok((out, live.is_none()))
    }

    pub fn update(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        obj: Value,
        subresource: Option<&str>,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let out = inner.update(rt, ns, name, obj, subresource)?;
        inner.react();
        Ok(out)
    }

    pub fn patch(
        &self,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        body: &[u8],
        kind: PatchType,
        subresource: Option<&str>,
    ) -> Result<Value, ApiError> {
        if rt.custom && kind == PatchType::Strategic {
            return Err(ApiError::unsupported_patch_for_cr());
        }
        let mut inner = self.lock();
        let Some(current) = inner.get(rt, ns, name).cloned() else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        let patched = patch::apply(&current, body, kind)?;
        let out = inner.update(rt, ns, name, patched, subresource)?;
        inner.react();
        Ok(out)
    }

    /// DELETE one object, with the real server's graceful-deletion rules.
    pub fn delete(
        self: &Arc<Self>,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        grace: Option<i64>,
    ) -> Result<Deleted, ApiError> {
        self.delete_with(rt, ns, name, grace, None)
    }

    /// DELETE with a `propagationPolicy`: `Foreground` and `Orphan` hold the object with the
    /// `foregroundDeletion` / `orphan` finalizer until the garbage collector (in
    /// [`super::controllers`]) has dealt with its dependents; `Background` (or none) deletes it
    /// and leaves the dependents to the collector.
    pub fn delete_with(
        self: &Arc<Self>,
        rt: &ResourceType,
        ns: &str,
        name: &str,
        grace: Option<i64>,
        propagation: Option<&str>,
    ) -> Result<Deleted, ApiError> {
        let mut inner = self.lock();
        let Some(mut obj) = inner.get(rt, ns, name).cloned() else {
            return Err(ApiError::not_found(&rt.group, &rt.plural, name));
        };
        let finalizer = match propagation {
            Some("Foreground") => Some("foregroundDeletion"),
            Some("Orphan") => Some("orphan"),
            _ => None,
        };
        let now = now();
        let is_pod = rt.group.is_empty() && rt.plural == "pods";
        let is_ns = rt.group.is_empty() && rt.plural == "namespaces";
        if let Some(f) = finalizer
            && !is_pod
            && !is_ns
            && obj["metadata"]["deletionTimestamp"].is_null()
        {
            let list = obj["metadata"]["finalizers"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !list.iter().any(|x| x == f) {
                let mut list = list;
                list.push(json!(f));
                obj["metadata"]["finalizers"] = json!(list);
            }
        }
        if obj["metadata"]["deletionTimestamp"].is_string() {
            // Already terminating: a force delete finishes it, anything else just reports it.
            if is_pod && grace == Some(0) {
                let gone = inner.remove(&rt.key(), ns, name);
                inner.react();
                return Ok(Deleted::Object(gone.unwrap_or(obj)));
            }
            return Ok(Deleted::Object(obj));
        }
        let out = if is_pod {
            let phase = obj["status"]["phase"].as_str().unwrap_or_default();
            let scheduled = obj["spec"]["nodeName"]
                .as_str()
                .is_some_and(|n| !n.is_empty());
            let grace = if !scheduled || phase == "Failed" || phase == "Succeeded" {
                0
            } else {
                grace.unwrap_or_else(|| {
                    obj["spec"]["terminationGracePeriodSeconds"]
                        .as_i64()
                        .unwrap_or(30)
                })
            };
            let mut marked = obj.clone();
            marked["metadata"]["deletionTimestamp"] =
                json!(timestamp(now + chrono::TimeDelta::seconds(grace)));
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
            if grace == 0 {
                inner.put_internal(&rt.key(), marked);
                let gone = inner.remove(&rt.key(), ns, name);
                Deleted::Object(gone.unwrap_or(obj))
            } else {
                inner.put_internal(&rt.key(), marked);
                let current = inner.get(rt, ns, name).cloned().unwrap_or(obj);
                self.finish_later(
                    rt.key(),
                    ns,
                    name,
                    meta_str(&current, "uid"),
                    self.timing.kubelet_delay,
                );
                Deleted::Object(current)
            }
        } else if is_ns {
            let mut marked = obj.clone();
            marked["metadata"]["deletionTimestamp"] = json!(timestamp(now));
            marked["status"]["phase"] = json!("Terminating");
            inner.put_internal("namespaces", marked);
            let current = inner.get(rt, ns, name).cloned().unwrap_or(obj);
            self.finish_later(
                "namespaces".into(),
                "",
                name,
                meta_str(&current, "uid"),
                self.timing.namespace_delay,
            );
            Deleted::Object(current)
        } else if obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|f| !f.is_empty())
        {
            let mut marked = obj.clone();
            marked["metadata"]["deletionTimestamp"] = json!(timestamp(now));
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            inner.put_internal(&rt.key(), marked);
            Deleted::Object(inner.get(rt, ns, name).cloned().unwrap_or(obj))
        } else {
            inner.remove(&rt.key(), ns, name);
            let mut details =
                json!({"name": name, "kind": rt.plural, "uid": meta_str(&obj, "uid")});
            if !rt.group.is_empty() {
                details["group"] = json!(rt.group);
            }
            Deleted::Status(json!({
                "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details,
            }))
        };
        inner.react();
        Ok(out)
    }

    /// The kubelet / namespace controller finishing a graceful deletion.
    fn finish_later(
        self: &Arc<Self>,
        rt_key: String,
        ns: &str,
        name: &str,
        uid: &str,
        delay: Duration,
    ) {
        let store = Arc::clone(self);
        let (ns, name, uid) = (ns.to_owned(), name.to_owned(), uid.to_owned());
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        handle.spawn(async move {
            tokio::time::sleep(delay).await;
            store.finish_deletion(&rt_key, &ns, &name, &uid);
        });
    }

    fn finish_deletion(&self, rt_key: &str, ns: &str, name: &str, uid: &str) {
        let mut inner = self.lock();
        let Some(rt) = inner.find_type(rt_key) else {
            return;
        };
        let still = inner.get(&rt, ns, name).is_some_and(|o| {
            meta_str(o, "uid") == uid && o["metadata"]["deletionTimestamp"].is_string()
        });
        if !still {
            return;
        }
        if rt_key == "namespaces" {
            let doomed: Vec<Key> = inner
                .objects
                .keys()
                .filter(|(_, n, _)| n == name)
                .cloned()
                .collect();
            for (k, n, obj) in doomed {
                inner.remove(&k, &n, &obj);
            }
        }
        inner.remove(rt_key, ns, name);
        inner.react();
    }

    /// DELETE on a collection: removes what matches and returns the list of deleted objects.
    pub fn delete_collection(
        self: &Arc<Self>,
        rt: &ResourceType,
        ns: Option<&str>,
        labels: &LabelSelector,
        fields: &FieldSelector,
    ) -> (Vec<Value>, u64) {
        let (items, _) = self.list(rt, ns, labels, fields);
        let mut out = Vec::new();
        for item in items {
            let name = meta_str(&item, "name").to_owned();
            let item_ns = meta_str(&item, "namespace").to_owned();
            if let Ok(d) = self.delete(rt, &item_ns, &name, None) {
                out.push(match d {
                    Deleted::Object(o) => o,
                    Deleted::Status(_) => item,
                });
            }
        }
        let rv = self.lock().rv;
        (out, rv)
    }

    /// Start a watch at `from`: Err 410 when the history no longer reaches back that far.
    pub fn watch_from(&self, from: u64) -> Result<Live, ApiError> {
        let inner = self.lock();
        if from < inner.history_start {
            return Err(expired(from, inner.history_start));
        }
        Ok(inner.bell.subscribe())
    }

    /// Start a watch at "now": the current objects (sent as synthetic ADDED events), the
    /// resourceVersion they were read at, and the doorbell.
    pub fn watch_now(&self, rt: &ResourceType, ns: Option<&str>) -> (Vec<Value>, u64, Live) {
        let inner = self.lock();
        let objs = inner.list(rt, ns).into_iter().cloned().collect();
        (objs, inner.rv, inner.bell.subscribe())
    }

    /// Events after resourceVersion `cursor`, oldest first, as many as fit in `max_bytes` (at
    /// least one); Err 410 when events after `cursor` have already left the history.
    pub fn events_after(&self, cursor: u64, max_bytes: usize) -> Result<Vec<Arc<Event>>, ApiError> {
        let inner = self.lock();
        if cursor < inner.history_start {
            return Err(expired(cursor, inner.history_start));
        }
        let start = inner.history.partition_point(|e| e.rv <= cursor);
        let mut bytes = 0;
        let mut out = Vec::new();
        for e in inner.history.range(start..) {
            if !out.is_empty() && bytes + e.size > max_bytes {
                break;
            }
            bytes += e.size;
            out.push(Arc::clone(e));
        }
        Ok(out)
    }

    pub fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// The log text of a pod's container (scenario fixtures provide it).
    pub fn logs(&self, ns: &str, pod: &str, container: Option<&str>) -> Result<String, ApiError> {
        self.container_logs(ns, pod, container, false)
            .map(|(text, _)| text)
    }

    /// The log text of a pod's container (or of its previous instance) and when that
    /// container started, as the kubelet would serve it.
    pub fn container_logs(
        &self,
        ns: &str,
        pod: &str,
        container: Option<&str>,
        previous: bool,
    ) -> Result<(String, Option<DateTime<Utc>>), ApiError> {
        let inner = self.lock();
        let Some(rt) = inner.find_type("pods") else {
            return Err(ApiError::unknown_resource());
        };
        let Some(obj) = inner.get(&rt, ns, pod) else {
            return Err(ApiError::not_found("", "pods", pod));
        };
        let containers: Vec<&str> = obj["spec"]["containers"]
            .as_array()
            .map(|c| c.iter().filter_map(|c| c["name"].as_str()).collect())
            .unwrap_or_default();
        let container = match container {
            Some(c) if !containers.contains(&c) => {
                return Err(ApiError::bad_request(format!(
                    "container {c} is not valid for pod {pod}"
                )));
            }
            Some(c) => c.to_owned(),
            None if containers.len() == 1 => containers[0].to_owned(),
            None => {
                return Err(ApiError::bad_request(format!(
                    "a container name must be specified for pod {pod}, choose one of: [{}]",
                    containers.join(" ")
                )));
            }
        };
        let status = obj["status"]["containerStatuses"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["name"] == container.as_str()))
            .cloned()
            .unwrap_or(Value::Null);
        let ts = |v: &Value| v.as_str().and_then(super::clock::parse_ts);
        if previous {
            let last = &status["lastState"]["terminated"];
            if !last.is_object() {
                return Err(ApiError::bad_request(format!(
                    "previous terminated container \"{container}\" in pod \"{pod}\" not found"
                )));
            }
            return Ok((
                inner
                    .engine
                    .as_ref()
                    .map(|e| e.logs_of(obj, &container, true))
                    .unwrap_or_default(),
                ts(&last["startedAt"]).or_else(|| ts(&obj["status"]["startTime"])),
            ));
        }
        // A container waiting to restart serves the log of its last run.
        let started = ts(&status["state"]["running"]["startedAt"])
            .or_else(|| ts(&status["state"]["terminated"]["startedAt"]))
            .or_else(|| ts(&status["lastState"]["terminated"]["startedAt"]))
            .or_else(|| ts(&obj["status"]["startTime"]));
        let logs = inner
            .engine
            .as_ref()
            .map(|e| e.logs_of(obj, &container, false));
        Ok((logs.unwrap_or_default(), started))
    }

    /// Whether the scenario's "fixed" conditions hold.
    pub fn scenario_fixed(&self) -> bool {
        let inner = self.lock();
        inner.engine.as_ref().is_some_and(|e| e.fixed(&inner))
    }
}
