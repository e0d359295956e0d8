//! Field ownership (`metadata.managedFields`) and server-side apply, as a v1.32 server keeps
//! them: every write records which manager set which fields (`fieldsType: FieldsV1`, the
//! `f:`/`k:`/`v:` tree), and an apply (`application/apply-patch+yaml`) merges by ownership,
//! answers 409 on a conflict with another manager unless forced, and removes the fields its
//! manager stopped applying when no one else owns them.
//!
//! No crate does structured-merge-diff in Rust, so this is the small subset the lab needs,
//! without `OpenAPI` schemas: lists are associative, sets or atomic by field name
//! ([`LIST_KEYS`], [`SET_LISTS`]); struct fields that a typed zero object already has
//! ([`ZERO_PRESENT`]) are not claimed by a create. To key one more list, add its field name
//! and merge keys to [`LIST_KEYS`].

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{Map, Value, json};

use super::status::ApiError;

/// Associative lists: (field name, merge keys). The first alternative whose first key the
/// item has is used (container ports and service ports share the name `ports`).
const LIST_KEYS: &[(&str, &[&[&str]])] = &[
    ("containers", &[&["name"]]),
    ("initContainers", &[&["name"]]),
    ("ephemeralContainers", &[&["name"]]),
    ("containerStatuses", &[&["name"]]),
    ("initContainerStatuses", &[&["name"]]),
    ("env", &[&["name"]]),
    ("volumes", &[&["name"]]),
    ("volumeMounts", &[&["mountPath"]]),
    ("imagePullSecrets", &[&["name"]]),
    (
        "ports",
        &[&["containerPort", "protocol"], &["port", "protocol"]],
    ),
    ("conditions", &[&["type"]]),
    ("addresses", &[&["type"]]),
    ("ownerReferences", &[&["uid"]]),
    ("podIPs", &[&["ip"]]),
    ("hostIPs", &[&["ip"]]),
];

/// Lists of scalars kept as sets (`v:` elements).
const SET_LISTS: &[&str] = &["finalizers"];

/// Whether the map `v` in field `field` is atomic: a `LabelSelector` (`+structType=atomic`).
fn atomic_map(field: &str, v: &Value) -> bool {
    field == "selector"
        && v.as_object()
            .is_some_and(|m| m.contains_key("matchLabels") || m.contains_key("matchExpressions"))
}

/// Struct fields a typed zero object already holds: a create does not claim them, only what
/// is under them (the real server diffs against `New()` of the kind).
const ZERO_PRESENT: &[&str] = &[
    "metadata",
    "spec",
    "status",
    "template",
    "strategy",
    "updateStrategy",
    "jobTemplate",
    "containers",
];

/// Metadata the server owns: never part of anyone's field set.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// A set of field paths in `FieldsV1`'s shape: `member` says the path itself is in the set
/// (`FieldsV1`'s `"."`, or `{}` for a leaf), `children` are keyed `f:name`, `k:{..}`, `v:..`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldSet {
    member: bool,
    children: BTreeMap<String, FieldSet>,
}

impl FieldSet {
    /// Read a `fieldsV1` value (anything malformed reads as the empty set).
    pub fn from_v1(v: &Value) -> Self {
        let mut out = Self::default();
        if let Value::Object(m) = v {
            for (k, child) in m {
                if k == "." {
                    out.member = true;
                } else {
                    let mut c = Self::from_v1(child);
                    if child.as_object().is_some_and(Map::is_empty) {
                        c.member = true;
                    }
                    out.children.insert(k.clone(), c);
                }
            }
        }
        out
    }

    /// The `fieldsV1` value.
    pub fn to_v1(&self) -> Value {
        let mut m = Map::new();
        if self.member && !self.children.is_empty() {
            m.insert(".".into(), json!({}));
        }
        for (k, c) in &self.children {
            m.insert(k.clone(), c.to_v1());
        }
        Value::Object(m)
    }

    pub fn is_empty(&self) -> bool {
        !self.member && self.children.values().all(Self::is_empty)
    }

    fn child(&mut self, key: String) -> &mut Self {
        self.children.entry(key).or_default()
    }

    fn prune(&mut self) {
        for c in self.children.values_mut() {
            c.prune();
        }
        self.children.retain(|_, c| !c.is_empty());
    }

    pub fn union(&mut self, other: &Self) {
        self.member |= other.member;
        for (k, c) in &other.children {
            self.child(k.clone()).union(c);
        }
    }

    /// The paths of `self` that are not in `other`.
    #[must_use]
    pub fn minus(&self, other: &Self) -> Self {
        let mut out = Self {
            member: self.member && !other.member,
            children: BTreeMap::new(),
        };
        for (k, c) in &self.children {
            let rest = match other.children.get(k) {
                Some(o) => c.minus(o),
                None => c.clone(),
            };
            out.children.insert(k.clone(), rest);
        }
        out.prune();
        out
    }

    /// The paths in both.
    #[must_use]
    pub fn intersect(&self, other: &Self) -> Self {
        let mut out = Self {
            member: self.member && other.member,
            children: BTreeMap::new(),
        };
        for (k, c) in &self.children {
            if let Some(o) = other.children.get(k) {
                out.children.insert(k.clone(), c.intersect(o));
            }
        }
        out.prune();
        out
    }

    /// Member paths as path elements, in order.
    pub fn paths(&self) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        self.collect(&mut Vec::new(), &mut out);
        out
    }

    fn collect(&self, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        if self.member && !prefix.is_empty() {
            out.push(prefix.clone());
        }
        for (k, c) in &self.children {
            prefix.push(k.clone());
            c.collect(prefix, out);
            prefix.pop();
        }
    }

    /// Keep only the paths that still exist in `obj`.
    fn retain_in(&mut self, obj: &Value) {
        self.children.retain(|k, c| match lookup(obj, k) {
            Some(v) => {
                c.retain_in(v);
                true
            }
            None => false,
        });
    }
}

/// The child of `v` a path element names.
fn lookup<'a>(v: &'a Value, element: &str) -> Option<&'a Value> {
    if let Some(name) = element.strip_prefix("f:") {
        return v.as_object()?.get(name);
    }
    let items = v.as_array()?;
    if let Some(key) = element.strip_prefix("k:") {
        let key: Map<String, Value> = serde_json::from_str(key).ok()?;
        return items
            .iter()
            .find(|i| key.iter().all(|(k, want)| i.get(k) == Some(want)));
    }
    if let Some(value) = element.strip_prefix("v:") {
        let value: Value = serde_json::from_str(value).ok()?;
        return items.iter().find(|i| **i == value);
    }
    let index: usize = element.strip_prefix("i:")?.parse().ok()?;
    items.get(index)
}

/// How the items of a list named `field` are told apart.
enum ListKind {
    Keyed(&'static [&'static [&'static str]]),
    Set,
    Atomic,
}

fn list_kind(field: &str) -> ListKind {
    if let Some((_, keys)) = LIST_KEYS.iter().find(|(f, _)| *f == field) {
        return ListKind::Keyed(keys);
    }
    if SET_LISTS.contains(&field) {
        return ListKind::Set;
    }
    ListKind::Atomic
}

/// The `k:`/`v:` element of one list item, None when the item lacks its key.
fn item_element(kind: &ListKind, item: &Value) -> Option<String> {
    match kind {
        ListKind::Keyed(alternatives) => {
            let m: Map<String, Value> = item_key(alternatives, item)?
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.clone()))
                .collect();
            Some(format!("k:{}", Value::Object(m)))
        }
        ListKind::Set => Some(format!("v:{item}")),
        ListKind::Atomic => None,
    }
}

/// The merge keys that tell an item of a keyed list apart, with the item's values, sorted by
/// key (None: the item lacks the first key of every alternative).
fn item_key<'v>(
    alternatives: &[&'static [&'static str]],
    item: &'v Value,
) -> Option<Vec<(&'static str, &'v Value)>> {
    let keys = alternatives
        .iter()
        .find(|keys| item.get(keys[0]).is_some())?;
    let mut pairs: Vec<(&'static str, &Value)> = keys
        .iter()
        .filter_map(|k| item.get(*k).map(|v| (*k, v)))
        .collect();
    pairs.sort_unstable_by_key(|(k, _)| *k);
    Some(pairs)
}

/// `path` as the field-validation walk writes it (`spec.containers[0].foo`, `data[key]`), in
/// structured-merge-diff's notation over `obj` (`.spec.containers[name="c"].foo`): a keyed
/// list's item by its merge keys, a set's by its value, as the server's apply errors name a
/// field.
pub(crate) fn typed_path(obj: &Value, path: &str) -> String {
    let mut out = String::new();
    let mut cur = Some(obj);
    let mut field = "";
    let mut rest = path;
    while !rest.is_empty() {
        let (segment, bracketed, tail) = if let Some(inner) = rest.strip_prefix('[') {
            let end = inner.find(']').unwrap_or(inner.len());
            (
                &inner[..end],
                true,
                inner.get(end + 1..).unwrap_or_default(),
            )
        } else {
            let body = rest.strip_prefix('.').unwrap_or(rest);
            let end = body.find(['.', '[']).unwrap_or(body.len());
            (&body[..end], false, &body[end..])
        };
        rest = tail;
        let item = match (cur, bracketed) {
            (Some(Value::Array(items)), true) => {
                segment.parse::<usize>().ok().and_then(|i| items.get(i))
            }
            (Some(v), _) => v.get(segment),
            (None, _) => None,
        };
        if let (Some(Value::Array(_)), Some(item)) = (cur, item) {
            let element = match list_kind(field) {
                ListKind::Keyed(alternatives) => item_key(alternatives, item).map(|pairs| {
                    let pairs: Vec<String> =
                        pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    format!("[{}]", pairs.join(","))
                }),
                ListKind::Set => Some(format!("[={item}]")),
                ListKind::Atomic => None,
            };
            out.push_str(&element.unwrap_or_else(|| format!("[{segment}]")));
        } else {
            out.push('.');
            out.push_str(segment);
            field = segment;
        }
        cur = item;
    }
    out
}

/// The items of a keyed or set list by element (None: the list is atomic, or an item has no key).
fn elements<'a>(field: &str, items: &'a [Value]) -> Option<Vec<(String, &'a Value)>> {
    let kind = list_kind(field);
    if matches!(kind, ListKind::Atomic) {
        return None;
    }
    items
        .iter()
        .map(|i| item_element(&kind, i).map(|e| (e, i)))
        .collect()
}

/// What an applied configuration sets: every scalar, empty map, atomic list and list item
/// (structured-merge-diff's `ToFieldSet`).
pub fn set_of(config: &Value) -> FieldSet {
    let mut out = FieldSet::default();
    walk_set(config, "", &mut out);
    strip_server_fields(&mut out);
    out
}

fn walk_set(v: &Value, field: &str, out: &mut FieldSet) {
    match v {
        Value::Object(m) if !m.is_empty() && !atomic_map(field, v) => {
            for (k, c) in m {
                walk_set(c, k, out.child(format!("f:{k}")));
            }
        }
        Value::Array(items) => match elements(field, items) {
            Some(els) => {
                for (e, item) in els {
                    let node = out.child(e);
                    node.member = true;
                    walk_set(item, "", node);
                }
            }
            None => out.member = true,
        },
        _ => out.member = true,
    }
}

/// What an update changed from `old` to `new`: added or modified paths (a whole added subtree
/// is claimed, node by node, as the real server's compare does).
pub fn changed(old: &Value, new: &Value) -> FieldSet {
    let mut out = FieldSet::default();
    walk_changed(Some(old), new, "", &mut out);
    strip_server_fields(&mut out);
    out
}

fn walk_changed(old: Option<&Value>, new: &Value, field: &str, out: &mut FieldSet) {
    let Some(old) = old else {
        out.member = true;
        match new {
            Value::Object(m) if !atomic_map(field, new) => {
                for (k, c) in m {
                    walk_changed(None, c, k, out.child(format!("f:{k}")));
                }
            }
            Value::Array(items) => {
                for (e, item) in elements(field, items).unwrap_or_default() {
                    walk_changed(None, item, "", out.child(e));
                }
            }
            _ => {}
        }
        return;
    };
    match (old, new) {
        (Value::Object(o), Value::Object(n)) if !atomic_map(field, new) => {
            for (k, c) in n {
                walk_changed(o.get(k), c, k, out.child(format!("f:{k}")));
            }
        }
        (Value::Array(_) | Value::Null, Value::Array(items)) => {
            let before = old.as_array().map_or(&[][..], Vec::as_slice);
            match (elements(field, before), elements(field, items)) {
                (Some(o), Some(n)) => {
                    for (e, item) in n {
                        let was = o.iter().find(|(oe, _)| *oe == e).map(|(_, v)| *v);
                        walk_changed(was, item, "", out.child(e));
                    }
                }
                _ => out.member |= old != new,
            }
        }
        _ => out.member |= old != new,
    }
}

/// A zero object of the same shape for the parts [`ZERO_PRESENT`] names: what a create diffs
/// against.
fn zero_like(obj: &Value) -> Value {
    let Value::Object(m) = obj else {
        return json!({});
    };
    let mut out = Map::new();
    for (k, v) in m {
        if !ZERO_PRESENT.contains(&k.as_str()) {
            continue;
        }
        out.insert(
            k.clone(),
            if v.is_object() {
                zero_like(v)
            } else {
                Value::Null
            },
        );
    }
    Value::Object(out)
}

fn strip_server_fields(set: &mut FieldSet) {
    set.children.remove("f:apiVersion");
    set.children.remove("f:kind");
    if let Some(meta) = set.children.get_mut("f:metadata") {
        for f in SERVER_METADATA {
            meta.children.remove(&format!("f:{f}"));
        }
    }
    set.prune();
}

/// One `managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: Value,
    subresource: String,
    set: FieldSet,
}

impl Entry {
    fn read(v: &Value) -> Option<Self> {
        Some(Self {
            manager: v["manager"].as_str()?.to_owned(),
            operation: v["operation"].as_str().unwrap_or("Update").to_owned(),
            api_version: v["apiVersion"].as_str().unwrap_or_default().to_owned(),
            time: v["time"].clone(),
            subresource: v["subresource"].as_str().unwrap_or_default().to_owned(),
            set: FieldSet::from_v1(&v["fieldsV1"]),
        })
    }

    fn write(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
        });
        if !self.time.is_null() {
            v["time"] = self.time.clone();
        }
        v["fieldsType"] = json!("FieldsV1");
        v["fieldsV1"] = self.set.to_v1();
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }

    fn is(&self, who: &Writer, operation: &str) -> bool {
        self.manager == who.manager
            && self.operation == operation
            && self.subresource == who.subresource
            && (operation == "Apply" || self.api_version == who.api_version)
    }

    /// How a conflict message names this manager.
    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            let _ = write!(s, " with subresource {:?}", self.subresource);
        }
        if self.operation == "Update" {
            let _ = write!(s, " using {}", self.api_version);
        }
        s
    }
}

/// Who writes: the field manager (`fieldManager`, or the User-Agent's first word), the
/// object's apiVersion, the subresource written (empty for the object), and when.
#[derive(Debug, Clone)]
pub struct Writer {
    pub manager: String,
    pub api_version: String,
    pub subresource: String,
    pub time: String,
}

impl Writer {
    /// The manager a request names: `fieldManager`, else the User-Agent up to its first `/`.
    pub fn manager_of(field_manager: Option<&str>, user_agent: &str) -> String {
        field_manager.filter(|m| !m.is_empty()).map_or_else(
            || user_agent.split('/').next().unwrap_or_default().to_owned(),
            str::to_owned,
        )
    }
}

fn entries(obj: &Value) -> Vec<Entry> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| a.iter().filter_map(Entry::read).collect())
        .unwrap_or_default()
}

/// Write the entries back, sorted as the real server sorts them (Apply before Update, then
/// by time, manager, apiVersion, subresource); none at all removes the field.
fn store_entries(obj: &mut Value, mut list: Vec<Entry>, new: &Value) {
    for e in &mut list {
        e.set.retain_in(new);
        e.set.prune();
    }
    list.retain(|e| !e.set.is_empty());
    list.sort_by(|a, b| {
        (
            &a.operation,
            a.time.as_str(),
            &a.manager,
            &a.api_version,
            &a.subresource,
        )
            .cmp(&(
                &b.operation,
                b.time.as_str(),
                &b.manager,
                &b.api_version,
                &b.subresource,
            ))
    });
    let Some(meta) = obj["metadata"].as_object_mut() else {
        return;
    };
    if list.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert(
            "managedFields".into(),
            Value::Array(list.iter().map(Entry::write).collect()),
        );
    }
}

/// The parts of an object a write on `subresource` may own: `status` alone for the status
/// subresource, everything but `status` for the object when `status` is a subresource.
fn scope(set: &mut FieldSet, subresource: &str, status_subresource: bool) {
    if subresource == "status" {
        set.children.retain(|k, _| k == "f:status");
    } else if status_subresource {
        set.children.remove("f:status");
    }
}

/// Record a create by `who`: it owns what it set (defaults included), not the server's parts.
pub fn record_create(obj: &mut Value, who: &Writer, status_subresource: bool) {
    let mut set = changed(&zero_like(obj), obj);
    scope(&mut set, "", status_subresource);
    let entry = Entry {
        manager: who.manager.clone(),
        operation: "Update".into(),
        api_version: who.api_version.clone(),
        time: json!(who.time),
        subresource: String::new(),
        set,
    };
    let snapshot = obj.clone();
    store_entries(obj, vec![entry], &snapshot);
}

/// Record an update (PUT, PATCH) of `old` into `new` by `who`: it takes the fields it changed
/// from everyone; fields gone from the object leave every set. Managed fields the request
/// itself carries (and that differ from the stored ones) replace the stored ones first, as a
/// client may edit them.
pub fn record_update(old: &Value, new: &mut Value, who: &Writer, status_subresource: bool) {
    let sent = &new["metadata"]["managedFields"];
    let mut list = if who.subresource.is_empty()
        && sent.as_array().is_some_and(|a| !a.is_empty())
        && *sent != old["metadata"]["managedFields"]
    {
        entries(new)
    } else {
        entries(old)
    };
    let mut claimed = changed(old, new);
    scope(&mut claimed, &who.subresource, status_subresource);
    if !claimed.is_empty() {
        for e in &mut list {
            e.set = e.set.minus(&claimed);
        }
        if let Some(mine) = list.iter_mut().find(|e| e.is(who, "Update")) {
            mine.set.union(&claimed);
            mine.time = json!(who.time);
        } else {
            list.push(Entry {
                manager: who.manager.clone(),
                operation: "Update".into(),
                api_version: who.api_version.clone(),
                time: json!(who.time),
                subresource: who.subresource.clone(),
                set: claimed,
            });
        }
    }
    let snapshot = new.clone();
    store_entries(new, list, &snapshot);
}

/// The result of an apply: the object to store.
pub struct Applied {
    pub object: Value,
}

/// Server-side apply of `config` by `who` onto `live` (None: the object is created). Fails
/// with 409 listing the conflicting fields and their managers unless `force`.
pub fn apply(
    live: Option<&Value>,
    config: &Value,
    who: &Writer,
    force: bool,
    status_subresource: bool,
) -> Result<Applied, ApiError> {
    let mut applied = set_of(config);
    scope(&mut applied, &who.subresource, status_subresource);
    let empty = json!({});
    let base = live.unwrap_or(&empty);
    let mut list = entries(base);
    let previous = list
        .iter()
        .find(|e| e.is(who, "Apply"))
        .map(|e| e.set.clone())
        .unwrap_or_default();
    let mut merged = base.clone();
    merge(&mut merged, config, "");
    // What this manager applied before and no longer does, if no one else owns it, goes.
    let mut others = FieldSet::default();
    for e in list.iter().filter(|e| !e.is(who, "Apply")) {
        others.union(&e.set);
    }
    let dropped = previous.minus(&applied).minus(&others);
    // Deepest first: a map goes only once nothing is left in it; a list item goes whole.
    let doomed = dropped.paths();
    let in_dropped_item = |path: &[String]| {
        (1..path.len()).any(|i| {
            path[i - 1].starts_with(['k', 'v']) && doomed.iter().any(|d| d.as_slice() == &path[..i])
        })
    };
    for path in doomed.iter().rev().filter(|p| !in_dropped_item(p)) {
        remove_path(&mut merged, path);
    }
    if let Some(live) = live {
        let touched = changed(live, &merged).intersect(&applied);
        let mut conflicts: Vec<(String, String)> = Vec::new();
        for e in list.iter_mut().filter(|e| !e.is(who, "Apply")) {
            let clash = e.set.intersect(&touched);
            if clash.is_empty() {
                continue;
            }
            if force {
                e.set = e.set.minus(&clash);
            } else {
                for p in clash.paths() {
                    conflicts.push((e.describe(), path_string(&p)));
                }
            }
        }
        if !conflicts.is_empty() {
            return Err(conflict_error(&conflicts));
        }
    }
    list.retain(|e| !e.is(who, "Apply"));
    list.push(Entry {
        manager: who.manager.clone(),
        operation: "Apply".into(),
        api_version: who.api_version.clone(),
        time: json!(who.time),
        subresource: who.subresource.clone(),
        set: applied,
    });
    let snapshot = merged.clone();
    store_entries(&mut merged, list, &snapshot);
    // Applying the same configuration again changes nothing, not even the times.
    if let Some(live) = live
        && without_times(live) == without_times(&merged)
    {
        return Ok(Applied {
            object: live.clone(),
        });
    }
    Ok(Applied { object: merged })
}

fn without_times(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(list) = out["metadata"]["managedFields"].as_array_mut() {
        for e in list.iter_mut().filter_map(Value::as_object_mut) {
            e.remove("time");
        }
    }
    out
}

/// The 409 a real server sends for apply conflicts (`Apply failed with N conflicts: ...`),
/// one `FieldManagerConflict` cause per field.
fn conflict_error(conflicts: &[(String, String)]) -> ApiError {
    let message = if let [(manager, path)] = conflicts {
        format!("Apply failed with 1 conflict: conflict with {manager}: {path}")
    } else {
        let mut by_manager: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for (m, p) in conflicts {
            by_manager.entry(m).or_default().push(p);
        }
        let mut lines = Vec::new();
        for (m, paths) in by_manager {
            lines.push(format!("conflicts with {m}:"));
            lines.extend(paths.iter().map(|p| format!("- {p}")));
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(m, p)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {m}"), "field": p})
        })
        .collect();
    ApiError::apply_conflict(message, json!({"causes": causes}))
}

/// A path as the server prints it: `.spec.containers[name="web"].image`, `[="x"]` for a set.
pub fn path_string(path: &[String]) -> String {
    let mut s = String::new();
    for e in path {
        if let Some(name) = e.strip_prefix("f:") {
            s.push('.');
            s.push_str(name);
        } else if let Some(key) = e.strip_prefix("k:") {
            let pairs: Vec<String> = serde_json::from_str::<Map<String, Value>>(key)
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            let _ = write!(s, "[{}]", pairs.join(","));
        } else if let Some(v) = e.strip_prefix("v:") {
            let _ = write!(s, "[={v}]");
        } else if let Some(i) = e.strip_prefix("i:") {
            let _ = write!(s, "[{i}]");
        }
    }
    s
}

/// Structured merge of an applied configuration: maps merge, keyed lists merge by key, set
/// lists take the union, anything else is replaced.
fn merge(target: &mut Value, config: &Value, field: &str) {
    match (&mut *target, config) {
        (Value::Object(t), Value::Object(c)) if !atomic_map(field, config) => {
            for (k, v) in c {
                match t.get_mut(k) {
                    Some(existing) => merge(existing, v, k),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(c)) => {
            let kind = list_kind(field);
            if matches!(kind, ListKind::Atomic) {
                t.clone_from(c);
                return;
            }
            for item in c {
                let e = item_element(&kind, item);
                let at = t
                    .iter()
                    .position(|x| e.is_some() && item_element(&kind, x) == e);
                match at {
                    Some(i) => merge(&mut t[i], item, ""),
                    None => t.push(item.clone()),
                }
            }
        }
        _ => *target = config.clone(),
    }
}

/// Remove the value at `path`: a list item whole, a field unless it is a map or keyed list
/// that still holds something (fields others own, or that were never owned).
fn remove_path(obj: &mut Value, path: &[String]) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = obj;
    for e in parents {
        let Some(next) = lookup_mut(at, e) else {
            return;
        };
        at = next;
    }
    if let Some(name) = last.strip_prefix("f:") {
        let keep = match at.get(name) {
            Some(Value::Object(m)) => !m.is_empty(),
            Some(Value::Array(a)) => !a.is_empty() && !matches!(list_kind(name), ListKind::Atomic),
            _ => false,
        };
        if let Some(m) = at.as_object_mut().filter(|_| !keep) {
            m.remove(name);
        }
    } else if let Some(items) = at.as_array() {
        let found = lookup(&Value::Array(items.clone()), last).cloned();
        if let (Some(found), Some(items)) = (found, at.as_array_mut()) {
            items.retain(|i| *i != found);
        }
    }
}

fn lookup_mut<'a>(v: &'a mut Value, element: &str) -> Option<&'a mut Value> {
    if let Some(name) = element.strip_prefix("f:") {
        return v.as_object_mut()?.get_mut(name);
    }
    let found = lookup(v, element)?.clone();
    v.as_array_mut()?.iter_mut().find(|i| **i == found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(manager: &str) -> Writer {
        Writer {
            manager: manager.into(),
            api_version: "v1".into(),
            subresource: String::new(),
            time: "2026-12-04T15:00:00Z".into(),
        }
    }

    #[test]
    fn a_created_configmap_is_owned_like_the_recorded_one() {
        // Reference exchange 067: kubectl create of a ConfigMap with one key.
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": "kube-system", "uid": "u", "resourceVersion": "7"},
            "data": {"vsphere.conf": "x"}});
        record_create(&mut cm, &writer("kubectl-create"), false);
        assert_eq!(
            cm["metadata"]["managedFields"],
            json!([{"manager": "kubectl-create", "operation": "Update", "apiVersion": "v1",
                "time": "2026-12-04T15:00:00Z", "fieldsType": "FieldsV1",
                "fieldsV1": {"f:data": {".": {}, "f:vsphere.conf": {}}}}])
        );
    }

    #[test]
    fn a_created_pod_claims_keyed_containers_but_not_the_zero_structs() {
        let mut pod = json!({"metadata": {"name": "p", "labels": {"app": "h"}},
            "spec": {"containers": [{"name": "h", "image": "i"}], "dnsPolicy": "ClusterFirst"}});
        record_create(&mut pod, &writer("kubectl-create"), true);
        assert_eq!(
            pod["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                "f:spec": {"f:containers": {"k:{\"name\":\"h\"}": {".": {}, "f:image": {}, "f:name": {}}},
                           "f:dnsPolicy": {}}})
        );
    }

    #[test]
    fn an_update_takes_the_changed_fields_from_their_owner() {
        let mut cm = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
        record_create(&mut cm, &writer("kubectl-create"), false);
        let mut next = cm.clone();
        next["data"]["a"] = json!("9");
        next["metadata"]["labels"] = json!({"x": "y"});
        record_update(&cm, &mut next, &writer("kubectl-edit"), false);
        let mf = &next["metadata"]["managedFields"];
        assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {".": {}, "f:b": {}}}));
        assert_eq!(mf[1]["manager"], "kubectl-edit");
        assert_eq!(
            mf[1]["fieldsV1"],
            json!({"f:data": {"f:a": {}}, "f:metadata": {"f:labels": {".": {}, "f:x": {}}}})
        );
    }

    #[test]
    fn apply_conflicts_name_the_field_and_the_manager_and_force_takes_it() {
        let mut cm = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        record_create(&mut cm, &writer("kubectl-create"), false);
        let config = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "2"}});
        let err = apply(Some(&cm), &config, &writer("kubectl"), false, false).err();
        let err = err.map(|e| (e.code, e.message));
        assert_eq!(
            err,
            Some((
                409,
                "Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .data.a"
                    .to_owned()
            ))
        );
        // The same value is shared, not a conflict.
        let same = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        assert!(apply(Some(&cm), &same, &writer("kubectl"), false, false).is_ok());
        let forced = apply(Some(&cm), &config, &writer("kubectl"), true, false).ok();
        let obj = forced.map(|a| a.object).unwrap_or_default();
        assert_eq!(obj["data"]["a"], "2");
        let mf = obj["metadata"]["managedFields"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert_eq!(mf.len(), 2, "{mf:?}");
        assert_eq!(mf[0]["operation"], "Apply");
        assert_eq!(mf[0]["fieldsV1"], json!({"f:data": {"f:a": {}}}));
        // The creator keeps the map itself, not the key it lost.
        assert_eq!(mf[1]["fieldsV1"], json!({"f:data": {}}));
    }

    #[test]
    fn apply_removes_what_its_manager_alone_stopped_applying() {
        let first = json!({"metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
        let made = apply(None, &first, &writer("kubectl"), false, false).ok();
        let made = made.map(|a| a.object).unwrap_or_default();
        let second = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        let out = apply(Some(&made), &second, &writer("kubectl"), false, false).ok();
        let out = out.map(|a| a.object).unwrap_or_default();
        assert_eq!(out["data"], json!({"a": "1"}));
        assert_eq!(
            out["metadata"]["managedFields"][0]["fieldsV1"],
            json!({"f:data": {"f:a": {}}})
        );
    }

    #[test]
    fn several_conflicts_are_listed_by_manager() {
        let err = conflict_error(&[
            ("\"a\" using v1".into(), ".data.x".into()),
            ("\"a\" using v1".into(), ".data.y".into()),
        ]);
        assert_eq!(
            err.message,
            "Apply failed with 2 conflicts: conflicts with \"a\" using v1:\n- .data.x\n- .data.y"
        );
    }

    #[test]
    fn a_map_its_applier_no_longer_marks_stays_while_it_holds_applied_keys() {
        // What kubectl's client-side to server-side migration leaves: the applier owns
        // `.data` itself and `.data.a`; applying `data.a` again must keep the map.
        let live = json!({"metadata": {"name": "c", "managedFields": [
            {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {".": {}, "f:a": {}, "f:b": {}}}}]}, "data": {"a": "1", "b": "2"}});
        let config = json!({"metadata": {"name": "c"}, "data": {"a": "1"}});
        let out = apply(Some(&live), &config, &writer("kubectl"), false, false).ok();
        assert_eq!(
            out.map(|a| a.object["data"].clone()),
            Some(json!({"a": "1"}))
        );
    }

    #[test]
    fn a_keyed_item_its_applier_dropped_goes_whole() {
        let first = json!({"metadata": {"name": "d"}, "spec": {"containers": [
            {"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}});
        let made = apply(None, &first, &writer("kubectl"), false, false).ok();
        let mut made = made.map(|a| a.object).unwrap_or_default();
        // A default the server added, owned by no one.
        made["spec"]["containers"][1]["imagePullPolicy"] = json!("Always");
        let second = json!({"metadata": {"name": "d"}, "spec": {"containers": [{"name": "a", "image": "x"}]}});
        let out = apply(Some(&made), &second, &writer("kubectl"), false, false).ok();
        assert_eq!(
            out.map(|a| a.object["spec"]["containers"].clone()),
            Some(json!([{"name": "a", "image": "x"}]))
        );
    }

    #[test]
    fn paths_print_keys_and_set_values() {
        let p = vec![
            "f:spec".to_owned(),
            "f:containers".to_owned(),
            "k:{\"name\":\"web\"}".to_owned(),
            "f:image".to_owned(),
        ];
        assert_eq!(path_string(&p), ".spec.containers[name=\"web\"].image");
        assert_eq!(
            path_string(&["f:metadata".into(), "f:finalizers".into(), "v:\"x\"".into()]),
            ".metadata.finalizers[=\"x\"]"
        );
    }

    #[test]
    fn fields_v1_round_trips() {
        let v = json!({"f:data": {".": {}, "f:a": {}}, "f:spec": {"f:x": {}}});
        assert_eq!(FieldSet::from_v1(&v).to_v1(), v);
    }

    #[test]
    fn a_label_keeps_the_appliers_entries() {
        let live = json!({"metadata": {"name": "c", "managedFields": [
            {"manager": "kubectl", "operation": "Apply", "apiVersion": "v1", "time": "t", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:data": {".": {}, "f:a": {}}}}]}, "data": {"a": "1"}});
        let mut new = live.clone();
        new["metadata"]["labels"] = json!({"x": "y"});
        let w = Writer {
            manager: "kubectl-label".into(),
            api_version: "v1".into(),
            subresource: String::new(),
            time: "u".into(),
        };
        record_update(&live, &mut new, &w, false);
        assert_eq!(
            new["metadata"]["managedFields"].as_array().map(Vec::len),
            Some(2),
            "{}",
            new["metadata"]["managedFields"]
        );
    }

    #[test]
    fn a_typed_path_names_list_items_by_their_merge_keys() {
        let deploy = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "ports": [{"containerPort": 80, "protocol": "TCP", "bogus": 1}]},
        ]}}}, "metadata": {"finalizers": ["x"], "labels": {"a.b/c": "d"}}});
        for (path, want) in [
            (
                "spec.template.spec.containers[0].foo",
                r#".spec.template.spec.containers[name="web"].foo"#,
            ),
            (
                "spec.template.spec.containers[0].ports[0].bogus",
                r#".spec.template.spec.containers[name="web"].ports[containerPort=80,protocol="TCP"].bogus"#,
            ),
            ("metadata.finalizers[0]", r#".metadata.finalizers[="x"]"#),
            ("metadata.labels[a.b/c]", ".metadata.labels.a.b/c"),
            ("spec.nope", ".spec.nope"),
        ] {
            assert_eq!(typed_path(&deploy, path), want, "{path}");
        }
    }
}
