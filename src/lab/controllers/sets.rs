//! The daemon-set and stateful-set controllers.
//!
//! A `DaemonSet` runs one pod on every node whose labels match its `nodeSelector` and whose
//! `NoSchedule`/`NoExecute` taints its pods tolerate (with the tolerations the real controller adds
//! to every daemon pod); pods of an older template are replaced. A `StatefulSet` runs pods
//! `<name>-0` … `<name>-N-1`, each created once the one before it is Running and ready
//! (`OrderedReady`; `Parallel` creates them all), and scales down from the highest ordinal.

use serde_json::{Value, json};

use super::{
    Ctx, active, count, kubelet, name, namespace, owned, ready, record, set_status, template_hash,
};
use crate::lab::store::Inner;

const REVISION_HASH: &str = "controller-revision-hash";

/// Tolerations the daemon-set controller adds to its pods.
fn daemon_tolerations(template: &Value) -> Value {
    let mut ts = template["spec"]["tolerations"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (key, effect) in [
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ] {
        if !ts.iter().any(|t| t["key"] == key) {
            ts.push(json!({"key": key, "operator": "Exists", "effect": effect}));
        }
    }
    json!(ts)
}

fn replicas(obj: &Value) -> usize {
    obj["spec"]["replicas"]
        .as_u64()
        .map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

pub(super) fn daemon_set(ctx: &mut Ctx, inner: &mut Inner, ds: &Value) {
    let ns = namespace(ds).to_owned();
    let mut template = ds["spec"]["template"].clone();
    template["spec"]["tolerations"] = daemon_tolerations(&template);
    let hash = template_hash(&ds["spec"]["template"]);
    let generation = ds["metadata"]["generation"]
        .as_i64()
        .unwrap_or(1)
        .to_string();
    let probe = json!({"spec": template["spec"]});
    let nodes: Vec<Value> = inner
        .find_type("nodes")
        .map(|rt| inner.list(&rt, None).into_iter().cloned().collect())
        .unwrap_or_default();
    let eligible: Vec<String> = nodes
        .iter()
        .filter(|n| crate::lab::scheduler::unfit(&probe, n, true).is_none())
        .map(|n| name(n).to_owned())
        .collect();
    let pods: Vec<Value> = owned(inner, "Pod", &ns, ds)
        .into_iter()
        .filter(active)
        .collect();
    for pod in &pods {
        let node = pod["spec"]["nodeName"].as_str().unwrap_or_default();
        let current = pod["metadata"]["labels"][REVISION_HASH] == hash.as_str();
        let duplicate = pods
            .iter()
            .any(|p| p["spec"]["nodeName"] == node && name(p) < name(pod));
        if !eligible.iter().any(|n| n == node) || !current || duplicate {
            kubelet::delete(ctx, inner, pod);
            record(
                inner,
                ds,
                "Normal",
                "SuccessfulDelete",
                format!("Deleted pod: {}", name(pod)),
                "daemonset-controller",
            );
        }
    }
    // Nodes with no pod of this set (a terminating one is replaced once it is gone).
    let all: Vec<Value> = owned(inner, "Pod", &ns, ds);
    for node in &eligible {
        if all.iter().any(|p| p["spec"]["nodeName"] == node.as_str()) {
            continue;
        }
        let mut pod = kubelet::pod_from(
            ds,
            &template,
            &format!("{}-", name(ds)),
            None,
            &[
                (REVISION_HASH, hash.clone()),
                ("pod-template-generation", generation.clone()),
            ],
        );
        pod["spec"]["nodeName"] = json!(node);
        pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"] = json!({
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]
        });
        kubelet::create(ctx, inner, pod);
    }
    let pods: Vec<Value> = owned(inner, "Pod", &ns, ds)
        .into_iter()
        .filter(active)
        .collect();
    let on_eligible = pods
        .iter()
        .filter(|p| eligible.iter().any(|n| p["spec"]["nodeName"] == n.as_str()))
        .count();
    let ready_n = pods.iter().filter(|p| ready(p)).count();
    let updated = pods
        .iter()
        .filter(|p| p["metadata"]["labels"][REVISION_HASH] == hash.as_str())
        .count();
    let mut status = json!({
        "currentNumberScheduled": on_eligible,
        "desiredNumberScheduled": eligible.len(),
        "numberMisscheduled": pods.len() - on_eligible,
        "numberReady": ready_n,
        "observedGeneration": ds["metadata"]["generation"],
    });
    count(&mut status, "numberAvailable", ready_n);
    count(
        &mut status,
        "numberUnavailable",
        eligible.len().saturating_sub(ready_n),
    );
    count(&mut status, "updatedNumberScheduled", updated);
    set_status(inner, ds, status);
}

fn ordinal(sts: &Value, pod: &Value) -> Option<usize> {
    name(pod)
        .strip_prefix(name(sts))?
        .strip_prefix('-')?
        .parse()
        .ok()
}

pub(super) fn stateful_set(ctx: &mut Ctx, inner: &mut Inner, sts: &Value) {
    let ns = namespace(sts).to_owned();
    let want = replicas(sts);
    let revision = format!("{}-{}", name(sts), template_hash(&sts["spec"]["template"]));
    let parallel = sts["spec"]["podManagementPolicy"] == "Parallel";
    let pods = owned(inner, "Pod", &ns, sts);
    let at = |i: usize| pods.iter().find(|p| ordinal(sts, p) == Some(i));
    let terminating = pods
        .iter()
        .any(|p| p["metadata"]["deletionTimestamp"].is_string());
    for i in 0..want {
        match at(i) {
            Some(p) if !parallel && !ready(p) => break,
            Some(_) => {}
            None if terminating && !parallel => break,
            None => {
                let pod_name = format!("{}-{i}", name(sts));
                let mut pod = kubelet::pod_from(
                    sts,
                    &sts["spec"]["template"],
                    "",
                    Some(pod_name.clone()),
                    &[
                        ("apps.kubernetes.io/pod-index", i.to_string()),
                        (REVISION_HASH, revision.clone()),
                        ("statefulset.kubernetes.io/pod-name", pod_name.clone()),
                    ],
                );
                pod["spec"]["hostname"] = json!(pod_name);
                if let Some(svc) = sts["spec"]["serviceName"]
                    .as_str()
                    .filter(|s| !s.is_empty())
                {
                    pod["spec"]["subdomain"] = json!(svc);
                }
                kubelet::create(ctx, inner, pod);
                if !parallel {
                    break;
                }
            }
        }
    }
    // Scale down from the highest ordinal, one at a time (all at once when Parallel).
    if !terminating || parallel {
        let mut extra: Vec<&Value> = pods
            .iter()
            .filter(|p| ordinal(sts, p).is_none_or(|i| i >= want))
            .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
            .collect();
        extra.sort_by_key(|p| std::cmp::Reverse(ordinal(sts, p)));
        let n = if parallel {
            extra.len()
        } else {
            extra.len().min(1)
        };
        for pod in extra.into_iter().take(n) {
            kubelet::delete(ctx, inner, pod);
            record(
                inner,
                sts,
                "Normal",
                "SuccessfulDelete",
                format!(
                    "delete Pod {} in StatefulSet {} successful",
                    name(pod),
                    name(sts)
                ),
                "statefulset-controller",
            );
        }
    }
    let pods: Vec<Value> = owned(inner, "Pod", &ns, sts)
        .into_iter()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .collect();
    let ready_n = pods.iter().filter(|p| ready(p)).count();
    let mut status = json!({
        "replicas": pods.len(),
        "observedGeneration": sts["metadata"]["generation"],
        "currentRevision": revision,
        "updateRevision": revision,
        "collisionCount": 0,
    });
    count(&mut status, "readyReplicas", ready_n);
    count(&mut status, "availableReplicas", ready_n);
    count(&mut status, "currentReplicas", pods.len());
    count(&mut status, "updatedReplicas", pods.len());
    set_status(inner, sts, status);
}
