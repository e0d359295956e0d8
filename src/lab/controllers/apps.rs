//! The deployment and replica-set controllers.
//!
//! A Deployment's pod template names its `ReplicaSet` (`<deployment>-<template hash>`, with the
//! `pod-template-hash` label and selector); a changed template (`set image`, `rollout restart`,
//! `rollout undo` back to an old template) makes or revives that `ReplicaSet` at the next
//! revision (`deployment.kubernetes.io/revision`, `kubernetes.io/change-cause` copied), scales
//! it to the desired replicas and scales the old ones to zero once the new one is available.
//! A paused Deployment is only scaled. The `ReplicaSet` controller keeps the count of its pods.

use serde_json::{Value, json};

use super::{
    Ctx, active, condition, count, key_of, kubelet, name, namespace, owned, owner_ref, ready,
    record, set_status, template_hash,
};
use crate::lab::store::Inner;

const HASH: &str = "pod-template-hash";
const REVISION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

/// A pod template without the `pod-template-hash` label and without empty values (how
/// templates are compared: the real controller compares Go structs, where an absent field, a
/// null, `false` and `{}` are the same zero value).
fn bare_template(template: &Value) -> Value {
    let mut t = without_zeros(template);
    if let Some(labels) = t["metadata"]["labels"].as_object_mut() {
        labels.remove(HASH);
        if labels.is_empty()
            && let Some(m) = t["metadata"].as_object_mut()
        {
            m.remove("labels");
        }
    }
    t
}

fn without_zeros(v: &Value) -> Value {
    let zero = |v: &Value| match v {
        Value::Null | Value::Bool(false) => true,
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Number(_) | Value::Bool(true) => false,
    };
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, v)| (k.clone(), without_zeros(v)))
                .filter(|(_, v)| !zero(v))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(without_zeros).collect()),
        other => other.clone(),
    }
}

fn replicas(obj: &Value) -> usize {
    obj["spec"]["replicas"]
        .as_u64()
        .map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

fn status_n(obj: &Value, field: &str) -> usize {
    obj["status"][field]
        .as_u64()
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

fn revision(rs: &Value) -> u64 {
    rs["metadata"]["annotations"][REVISION]
        .as_str()
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

/// `maxSurge` and `maxUnavailable` as numbers of pods (25% each by default; a percentage
/// rounds up for the surge and down for unavailability; both zero means one unavailable).
fn limits(deploy: &Value, desired: usize) -> (usize, usize) {
    let resolve = |v: &Value, up: bool| match v {
        Value::Number(n) => n.as_u64().map_or(0, |n| usize::try_from(n).unwrap_or(0)),
        Value::String(s) => {
            let pct: usize = s.trim_end_matches('%').parse().unwrap_or(25);
            if up {
                (desired * pct).div_ceil(100)
            } else {
                desired * pct / 100
            }
        }
        _ if up => desired.div_ceil(4),
        _ => desired / 4,
    };
    let ru = &deploy["spec"]["strategy"]["rollingUpdate"];
    let surge = resolve(&ru["maxSurge"], true);
    let unavailable = resolve(&ru["maxUnavailable"], false);
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// The stored copy of a `ReplicaSet` (after this sync's writes).
fn fresh(inner: &Inner, rs: &Value) -> Value {
    super::get(inner, "ReplicaSet", namespace(rs), name(rs)).unwrap_or_else(|| rs.clone())
}

/// The rolling update, step by step as the real controller takes it: the new set grows while
/// the total stays within `desired + maxSurge`; old sets shrink (unhealthy pods first) while the
/// available pods stay at or above `desired - maxUnavailable`.
fn rolling(inner: &mut Inner, deploy: &Value, new_rs: &Value, olds: &[Value]) {
    let desired = replicas(deploy);
    let (surge, unavailable) = limits(deploy, desired);
    let new_rs = fresh(inner, new_rs);
    let mut olds: Vec<Value> = olds.iter().map(|r| fresh(inner, r)).collect();
    olds.sort_by_key(|r| {
        r["metadata"]["creationTimestamp"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    });
    let total =
        |new: &Value, olds: &[Value]| replicas(new) + olds.iter().map(replicas).sum::<usize>();
    let current = replicas(&new_rs);
    if current > desired {
        scale(inner, deploy, &new_rs, desired);
    } else if current < desired {
        let all = total(&new_rs, &olds);
        let max_total = desired + surge;
        if all < max_total {
            let up = (max_total - all).min(desired - current);
            scale(inner, deploy, &new_rs, current + up);
        }
    }
    let new_rs = fresh(inner, &new_rs);
    if olds.iter().map(replicas).sum::<usize>() == 0 {
        return;
    }
    let min_available = desired.saturating_sub(unavailable);
    let new_unavailable = replicas(&new_rs).saturating_sub(status_n(&new_rs, "availableReplicas"));
    let all = total(&new_rs, &olds);
    let Some(mut budget) = all
        .checked_sub(min_available + new_unavailable)
        .filter(|b| *b > 0)
    else {
        return;
    };
    // Pods that are not available go first.
    for rs in &mut olds {
        let unhealthy = replicas(rs).saturating_sub(status_n(rs, "availableReplicas"));
        let down = unhealthy.min(budget);
        if down == 0 {
            continue;
        }
        scale(inner, deploy, rs, replicas(rs) - down);
        *rs = fresh(inner, rs);
        budget -= down;
        if budget == 0 {
            break;
        }
    }
    let available: usize = status_n(&new_rs, "availableReplicas")
        + olds
            .iter()
            .map(|r| status_n(r, "availableReplicas"))
            .sum::<usize>();
    if available <= min_available {
        return;
    }
    let mut left = available - min_available;
    for rs in &olds {
        let down = replicas(rs).min(left);
        if down == 0 {
            continue;
        }
        scale(inner, deploy, rs, replicas(rs) - down);
        left -= down;
        if left == 0 {
            break;
        }
    }
}

/// `Recreate`: every old pod gone before the new set grows.
fn recreate(inner: &mut Inner, deploy: &Value, new_rs: &Value, olds: &[Value]) {
    for rs in olds {
        scale(inner, deploy, &fresh(inner, rs), 0);
    }
    let old_pods = olds
        .iter()
        .map(|rs| owned(inner, "Pod", namespace(rs), rs).len())
        .sum::<usize>();
    if old_pods == 0 {
        scale(inner, deploy, &fresh(inner, new_rs), replicas(deploy));
    }
}

/// Scale a `ReplicaSet`, saying so as the deployment controller does.
fn scale(inner: &mut Inner, deploy: &Value, rs: &Value, to: usize) {
    let from = replicas(rs);
    if from == to {
        return;
    }
    let mut next = rs.clone();
    next["spec"]["replicas"] = json!(to);
    next["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] =
        json!(replicas(deploy).to_string());
    bump_generation(&mut next);
    inner.put_internal(&key_of(inner, "ReplicaSet"), next);
    let how = if to > from { "up" } else { "down" };
    record(
        inner,
        deploy,
        "Normal",
        "ScalingReplicaSet",
        format!("Scaled {how} replica set {} from {from} to {to}", name(rs)),
        "deployment-controller",
    );
}

/// A spec change the controller itself writes still moves the generation, as on the server.
fn bump_generation(obj: &mut Value) {
    let g = obj["metadata"]["generation"].as_i64().unwrap_or(1);
    obj["metadata"]["generation"] = json!(g + 1);
}

pub(super) fn deployment(_ctx: &mut Ctx, inner: &mut Inner, deploy: &Value) {
    let ns = namespace(deploy).to_owned();
    let desired = replicas(deploy);
    let template = bare_template(&deploy["spec"]["template"]);
    let mut sets = owned(inner, "ReplicaSet", &ns, deploy);
    let max_rev = sets.iter().map(revision).max().unwrap_or(0);
    let paused = deploy["spec"]["paused"] == true;
    let change_cause = deploy["metadata"]["annotations"][CHANGE_CAUSE].clone();
    let current = sets
        .iter()
        .position(|rs| bare_template(&rs["spec"]["template"]) == template);
    let mut created = false;
    let new_rs = match current {
        Some(i) => {
            let rs = &sets[i];
            // `rollout undo`: an old template comes back as the newest revision.
            if revision(rs) < max_rev && !paused {
                let mut next = rs.clone();
                let old_rev = revision(rs);
                next["metadata"]["annotations"][REVISION] = json!((max_rev + 1).to_string());
                let history =
                    rs["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"]
                        .as_str()
                        .map_or_else(|| old_rev.to_string(), |h| format!("{h},{old_rev}"));
                next["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] =
                    json!(history);
                if change_cause.is_string() {
                    next["metadata"]["annotations"][CHANGE_CAUSE] = change_cause.clone();
                }
                inner.put_internal(&key_of(inner, "ReplicaSet"), next.clone());
                sets[i] = next;
            }
            // The change cause follows the Deployment's annotation onto its current set.
            if change_cause.is_string()
                && sets[i]["metadata"]["annotations"][CHANGE_CAUSE] != change_cause
            {
                let mut next = sets[i].clone();
                next["metadata"]["annotations"][CHANGE_CAUSE] = change_cause.clone();
                inner.put_internal(&key_of(inner, "ReplicaSet"), next.clone());
                sets[i] = next;
            }
            Some(sets[i].clone())
        }
        None if paused => None,
        None => {
            let hash = template_hash(&template);
            let rs_name = format!("{}-{hash}", name(deploy));
            let mut t = template.clone();
            t["metadata"]["labels"][HASH] = json!(hash);
            let mut selector = deploy["spec"]["selector"].clone();
            selector["matchLabels"][HASH] = json!(hash);
            let mut labels = t["metadata"]["labels"].clone();
            labels[HASH] = json!(hash);
            let mut annotations = json!({
                "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                "deployment.kubernetes.io/max-replicas": (desired + limits(deploy, desired).0).to_string(),
                REVISION: (max_rev + 1).to_string(),
            });
            if change_cause.is_string() {
                annotations[CHANGE_CAUSE] = change_cause.clone();
            }
            let mut rs = json!({
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "metadata": {
                    "name": rs_name, "namespace": ns, "labels": labels,
                    "annotations": annotations, "ownerReferences": [owner_ref(deploy)],
                },
                "spec": {"replicas": 0, "selector": selector, "template": t},
            });
            // Go's `int32` with `omitempty`: zero is left out, as the real controller's is.
            let min_ready = deploy["spec"]["minReadySeconds"].as_u64().unwrap_or(0);
            if min_ready > 0 {
                rs["spec"]["minReadySeconds"] = json!(min_ready);
            }
            let stored = inner
                .find_type_by_kind(None, "ReplicaSet")
                .and_then(|rt| inner.create(&rt, &ns, rs).ok());
            created = stored.is_some();
            if let Some(rs) = &stored {
                sets.push(rs.clone());
            }
            stored
        }
    };
    let new_name = new_rs.as_ref().map(|r| name(r).to_owned());
    if let Some(rs) = &new_rs {
        let olds: Vec<Value> = sets
            .iter()
            .filter(|r| name(r) != name(rs))
            .cloned()
            .collect();
        if deploy["spec"]["strategy"]["type"] == "Recreate" {
            recreate(inner, deploy, rs, &olds);
        } else {
            rolling(inner, deploy, rs, &olds);
        }
    }
    // The revision annotation follows the newest ReplicaSet.
    let mut deploy =
        super::get(inner, "Deployment", &ns, name(deploy)).unwrap_or_else(|| deploy.clone());
    if let Some(rs) = new_rs
        .as_ref()
        .and_then(|r| super::get(inner, "ReplicaSet", &ns, name(r)))
    {
        let rev = json!(revision(&rs).to_string());
        if deploy["metadata"]["annotations"][REVISION] != rev {
            deploy["metadata"]["annotations"][REVISION] = rev;
            inner.put_internal(&key_of(inner, "Deployment"), deploy.clone());
        }
    }
    deployment_status(inner, &deploy, new_name.as_deref(), created);
    if let Some(new_name) = &new_name {
        clean_up(inner, &deploy, new_name);
    }
}

/// Once a rollout is complete, old sets scaled to zero beyond `revisionHistoryLimit` go,
/// oldest first (`cleanupDeployment`).
fn clean_up(inner: &mut Inner, deploy: &Value, new_name: &str) {
    let Some(deploy) = super::get(inner, "Deployment", namespace(deploy), name(deploy)) else {
        return;
    };
    let desired = replicas(&deploy);
    let st = |f: &str| status_n(&deploy, f);
    if st("updatedReplicas") != desired
        || st("replicas") != desired
        || st("availableReplicas") < desired
    {
        return;
    }
    let limit = deploy["spec"]["revisionHistoryLimit"]
        .as_u64()
        .map_or(10, |n| usize::try_from(n).unwrap_or(usize::MAX));
    let mut olds: Vec<Value> = owned(inner, "ReplicaSet", namespace(&deploy), &deploy)
        .into_iter()
        .filter(|r| name(r) != new_name)
        .collect();
    if olds.len() <= limit {
        return;
    }
    olds.sort_by_key(revision);
    let mut extra = olds.len() - limit;
    let key = key_of(inner, "ReplicaSet");
    for rs in &olds {
        if extra == 0 {
            break;
        }
        if replicas(rs) == 0 && status_n(rs, "replicas") == 0 {
            inner.remove(&key, namespace(rs), name(rs));
            extra -= 1;
        }
    }
}

fn deployment_status(inner: &mut Inner, deploy: &Value, new_rs: Option<&str>, created: bool) {
    let ns = namespace(deploy).to_owned();
    let desired = replicas(deploy);
    let sets = owned(inner, "ReplicaSet", &ns, deploy);
    let sum = |f: &str| sets.iter().map(|r| status_n(r, f)).sum::<usize>();
    let total: usize = sets.iter().map(|r| status_n(r, "replicas")).sum();
    let spec_total: usize = sets.iter().map(replicas).sum();
    let updated = new_rs
        .and_then(|n| sets.iter().find(|r| name(r) == n))
        .map_or(0, |r| status_n(r, "replicas"));
    let ready_n = sum("readyReplicas");
    let available = sum("availableReplicas");
    let old = &deploy["status"];
    let mut status = json!({"observedGeneration": deploy["metadata"]["generation"]});
    count(&mut status, "replicas", total);
    count(&mut status, "updatedReplicas", updated);
    count(&mut status, "readyReplicas", ready_n);
    count(&mut status, "availableReplicas", available);
    count(
        &mut status,
        "unavailableReplicas",
        spec_total.saturating_sub(available),
    );
    let max_unavailable = desired / 4;
    let available_cond = if available + max_unavailable >= desired {
        condition(
            old,
            "Available",
            "True",
            "MinimumReplicasAvailable",
            "Deployment has minimum availability.",
        )
    } else {
        condition(
            old,
            "Available",
            "False",
            "MinimumReplicasUnavailable",
            "Deployment does not have minimum availability.",
        )
    };
    let rs_name = new_rs.unwrap_or_default();
    let progressing = if deploy["spec"]["paused"] == true {
        condition(
            old,
            "Progressing",
            "Unknown",
            "DeploymentPaused",
            "Deployment is paused",
        )
    } else if updated == desired && total == desired && available >= desired {
        condition(
            old,
            "Progressing",
            "True",
            "NewReplicaSetAvailable",
            &format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
        )
    } else if created {
        condition(
            old,
            "Progressing",
            "True",
            "NewReplicaSetCreated",
            &format!("Created new replica set \"{rs_name}\""),
        )
    } else {
        let prev = old["conditions"]
            .as_array()
            .and_then(|cs| cs.iter().find(|c| c["type"] == "Progressing"));
        // Still the set it just created: keep saying so, as the real controller does until
        // the set's pods change.
        match prev {
            Some(p)
                if p["reason"] == "NewReplicaSetCreated"
                    && p["message"] == format!("Created new replica set \"{rs_name}\"")
                    && updated == 0 =>
            {
                p.clone()
            }
            _ => condition(
                old,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                &format!("ReplicaSet \"{rs_name}\" is progressing."),
            ),
        }
    };
    status["conditions"] = json!([available_cond, progressing]);
    set_status(inner, deploy, status);
}

pub(super) fn replica_set(ctx: &mut Ctx, inner: &mut Inner, rs: &Value) {
    let ns = namespace(rs).to_owned();
    let want = replicas(rs);
    let pods: Vec<Value> = owned(inner, "Pod", &ns, rs)
        .into_iter()
        .filter(active)
        .collect();
    if pods.len() < want {
        let hash = rs["metadata"]["labels"][HASH].as_str().map(str::to_owned);
        for _ in pods.len()..want {
            let labels: Vec<(&str, String)> = hash.iter().map(|h| (HASH, h.clone())).collect();
            let pod = kubelet::pod_from(
                rs,
                &rs["spec"]["template"],
                &format!("{}-", name(rs)),
                None,
                &labels,
            );
            kubelet::create(ctx, inner, pod);
        }
    } else if pods.len() > want {
        // The real controller deletes unscheduled, then not ready, then the youngest first.
        let mut doomed = pods.clone();
        doomed.sort_by_key(|p| {
            (
                p["spec"]["nodeName"].is_string(),
                ready(p),
                std::cmp::Reverse(
                    p["metadata"]["creationTimestamp"]
                        .as_str()
                        .unwrap_or_default()
                        .to_owned(),
                ),
            )
        });
        for pod in doomed.iter().take(pods.len() - want) {
            kubelet::delete(ctx, inner, pod);
            record(
                inner,
                rs,
                "Normal",
                "SuccessfulDelete",
                format!("Deleted pod: {}", name(pod)),
                "replicaset-controller",
            );
        }
    }
    let pods: Vec<Value> = owned(inner, "Pod", &ns, rs)
        .into_iter()
        .filter(active)
        .collect();
    let ready_n = pods.iter().filter(|p| ready(p)).count();
    let mut status =
        json!({"replicas": pods.len(), "observedGeneration": rs["metadata"]["generation"]});
    count(&mut status, "fullyLabeledReplicas", pods.len());
    count(&mut status, "readyReplicas", ready_n);
    count(&mut status, "availableReplicas", ready_n);
    set_status(inner, rs, status);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_compare_as_go_structs_do() {
        // What kubectl's `rollout undo` sends back vs. what a protobuf create stored.
        let stored = json!({"metadata": {"labels": {"app": "web", HASH: "abc"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "resources": {}}], "hostNetwork": false}});
        let undo = json!({"metadata": {"creationTimestamp": null, "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27", "resources": {}}]}});
        assert_eq!(bare_template(&stored), bare_template(&undo));
        let other = json!({"metadata": {"labels": {"app": "web"}},
            "spec": {"containers": [{"name": "nginx", "image": "nginx:1.28"}]}});
        assert_ne!(bare_template(&stored), bare_template(&other));
        assert_ne!(
            template_hash(&bare_template(&stored)),
            template_hash(&bare_template(&other))
        );
    }

    #[test]
    fn rolling_limits_round_as_the_real_controller() {
        let d = |ru: Value| json!({"spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": ru}}});
        // 25% of 3: surge rounds up to 1, unavailable down to 0.
        assert_eq!(limits(&d(json!({})), 3), (1, 0));
        assert_eq!(
            limits(&d(json!({"maxSurge": "50%", "maxUnavailable": "50%"})), 3),
            (2, 1)
        );
        assert_eq!(
            limits(&d(json!({"maxSurge": 0, "maxUnavailable": 0})), 3),
            (0, 1)
        );
        assert_eq!(
            limits(&d(json!({"maxSurge": 2, "maxUnavailable": 1})), 10),
            (2, 1)
        );
    }
}
