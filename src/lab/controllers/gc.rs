//! The garbage collector: dependents go with their owner, through `ownerReferences`.
//!
//! - Background (the default): the owner is deleted at once; its dependents are deleted after
//!   it (pods gracefully), theirs after them.
//! - `Foreground`: the server holds the owner with the `foregroundDeletion` finalizer; its
//!   dependents are deleted (the same way), and the owner goes once none is left.
//! - `Orphan`: the server holds the owner with the `orphan` finalizer; the dependents lose their
//!   reference to it and stay, and the owner goes.
//!
//! Dependents are looked for among [`DEPENDENT_KINDS`] in the owner's namespace.

use serde_json::{Value, json};

use super::{Ctx, get, key_of, kubelet, name, namespace, uid};
use crate::lab::store::{Event, EventKind, Inner};

/// The kinds that have owners here: what the controllers make, and what fixtures own.
const DEPENDENT_KINDS: &[&str] = &[
    "Pod",
    "ReplicaSet",
    "Job",
    "ControllerRevision",
    "EndpointSlice",
];

fn finalizers(obj: &Value) -> Vec<String> {
    obj["metadata"]["finalizers"]
        .as_array()
        .map(|f| {
            f.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn owned_by(obj: &Value, owner_uid: &str) -> bool {
    obj["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|refs| refs.iter().any(|r| r["uid"] == owner_uid))
}

fn dependents(inner: &Inner, owner: &Value) -> Vec<Value> {
    let ns = namespace(owner);
    let owner_uid = uid(owner);
    if ns.is_empty() || owner_uid.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for kind in DEPENDENT_KINDS {
        if let Some(rt) = inner.find_type_by_kind(None, kind) {
            out.extend(
                inner
                    .list(&rt, Some(ns))
                    .into_iter()
                    .filter(|o| owned_by(o, owner_uid))
                    .cloned(),
            );
        }
    }
    out
}

/// Delete one dependent: pods as a controller deletes them, anything else at once
/// (`foreground`: held with the finalizer until its own dependents are gone).
fn delete_dependent(ctx: &mut Ctx, inner: &mut Inner, dep: &Value, foreground: bool) {
    if dep["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let kind = dep["kind"].as_str().unwrap_or_default();
    if kind == "Pod" {
        kubelet::delete(ctx, inner, dep);
        return;
    }
    let key = key_of(inner, kind);
    if foreground {
        let mut marked = dep.clone();
        let mut f = finalizers(dep);
        f.push("foregroundDeletion".to_owned());
        marked["metadata"]["finalizers"] = json!(f);
        marked["metadata"]["deletionTimestamp"] =
            json!(crate::lab::clock::timestamp(crate::lab::clock::now()));
        marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
        inner.put_internal(&key, marked);
    } else {
        inner.remove(&key, namespace(dep), name(dep));
    }
}

/// Drop `finalizer` from a deleting owner; it goes when no finalizer is left.
fn finish(inner: &mut Inner, owner: &Value, finalizer: &str) {
    let key = key_of(inner, owner["kind"].as_str().unwrap_or_default());
    let left: Vec<String> = finalizers(owner)
        .into_iter()
        .filter(|f| f != finalizer)
        .collect();
    if left.is_empty() {
        inner.remove(&key, namespace(owner), name(owner));
    } else {
        let mut next = owner.clone();
        next["metadata"]["finalizers"] = json!(left);
        inner.put_internal(&key, next);
    }
}

fn foreground(ctx: &mut Ctx, inner: &mut Inner, owner: &Value) {
    let deps = dependents(inner, owner);
    for d in &deps {
        delete_dependent(ctx, inner, d, true);
    }
    if dependents(inner, owner).is_empty() {
        finish(inner, owner, "foregroundDeletion");
    }
}

fn orphan(inner: &mut Inner, owner: &Value) {
    let owner_uid = uid(owner).to_owned();
    for d in dependents(inner, owner) {
        let mut next = d.clone();
        if let Some(refs) = next["metadata"]["ownerReferences"].as_array_mut() {
            refs.retain(|r| r["uid"] != owner_uid.as_str());
        }
        if next["metadata"]["ownerReferences"]
            .as_array()
            .is_some_and(Vec::is_empty)
            && let Some(m) = next["metadata"].as_object_mut()
        {
            m.remove("ownerReferences");
        }
        let key = key_of(inner, d["kind"].as_str().unwrap_or_default());
        inner.put_internal(&key, next);
    }
    finish(inner, owner, "orphan");
}

/// What the collector does about one watch event.
pub(super) fn on_event(ctx: &mut Ctx, inner: &mut Inner, ev: &Event) {
    let obj = &ev.object;
    let kind = obj["kind"].as_str().unwrap_or_default();
    let deleting = obj["metadata"]["deletionTimestamp"].is_string();
    if ev.kind == EventKind::Deleted && kind != "Pod" {
        // Background: whatever it owned goes after it.
        for d in dependents(inner, obj) {
            delete_dependent(ctx, inner, &d, false);
        }
    } else if ev.kind != EventKind::Deleted && deleting {
        let f = finalizers(obj);
        if f.iter().any(|x| x == "orphan") {
            orphan(inner, obj);
        } else if f.iter().any(|x| x == "foregroundDeletion") {
            foreground(ctx, inner, obj);
        }
    }
    // A dependent gone (or going): an owner waiting in the foreground may be done.
    if ev.kind == EventKind::Deleted || deleting {
        let refs = obj["metadata"]["ownerReferences"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        for r in refs {
            let (Some(k), Some(n)) = (r["kind"].as_str(), r["name"].as_str()) else {
                continue;
            };
            let Some(owner) = get(inner, k, namespace(obj), n) else {
                continue;
            };
            if owner["metadata"]["uid"] == r["uid"]
                && owner["metadata"]["deletionTimestamp"].is_string()
                && finalizers(&owner).iter().any(|f| f == "foregroundDeletion")
                && dependents(inner, &owner).is_empty()
            {
                finish(inner, &owner, "foregroundDeletion");
            }
        }
    }
}
