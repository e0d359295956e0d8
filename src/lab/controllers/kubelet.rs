//! The scheduler's choice of node and the kubelet's steps for the pods the controllers make:
//! created Pending (scheduled, `ContainerCreating`), Running and ready one step later, Succeeded
//! one more step later when the pod runs to completion (`restartPolicy` other than `Always`);
//! a pod deleted by a controller is Terminating for one step, then gone. A step is
//! [`super::Ctx::later`]'s delay (`Timing::kubelet_delay`).

use std::collections::BTreeMap;
use std::time::Instant;

use serde_json::{Value, json};

use super::{Ctx, active, name, namespace, uid};
use crate::lab::clock::{now, timestamp};
use crate::lab::scheduler;
use crate::lab::store::{Inner, random_suffix};

/// Create `pod` (metadata and spec filled in by its controller): bind it to a node (or leave it
/// Pending with `FailedScheduling` when none fits), give it the kubelet's first status and
/// start its steps. Returns the stored pod.
pub(super) fn create(ctx: &mut Ctx, inner: &mut Inner, mut pod: Value) -> Option<Value> {
    let rt = inner.find_type("pods")?;
    let ns = namespace(&pod).to_owned();
    let at = timestamp(now());
    match node_for(inner, &pod) {
        Ok(node) => {
            pod["spec"]["nodeName"] = json!(name(&node));
            pod["status"] = starting(&pod, &node, &at);
            let created = create_or_say_why(inner, &rt, &ns, pod)?;
            ctx.later(inner, &created);
            Some(created)
        }
        Err(why) => {
            pod["status"] = json!({
                "phase": "Pending",
                "conditions": [{"type": "PodScheduled", "status": "False", "lastProbeTime": null,
                    "lastTransitionTime": at, "reason": "Unschedulable", "message": why}],
                "qosClass": "BestEffort",
            });
            // Its `FailedScheduling` Event comes from the events table's rule, which reads
            // the same filter ([`scheduler::feasible`]) for every pod without a node.
            let created = create_or_say_why(inner, &rt, &ns, pod)?;
            ctx.unscheduled
                .push((ns, name(&created).to_owned(), uid(&created).to_owned()));
            Some(created)
        }
    }
}

/// Store a controller's pod; when admission refuses it (a `ResourceQuota`), its controller
/// records `FailedCreate` with the server's message, as the real controllers do.
fn create_or_say_why(
    inner: &mut Inner,
    rt: &crate::lab::resources::ResourceType,
    ns: &str,
    pod: Value,
) -> Option<Value> {
    let pod_name = name(&pod).to_owned();
    let owner = super::controller_of(&pod).cloned();
    match inner.create(rt, ns, pod) {
        Ok(created) => Some(created),
        Err(e) => {
            if let Some(owner) = owner
                && let Some(kind) = owner["kind"].as_str()
                && let Some(obj) =
                    super::get(inner, kind, ns, owner["name"].as_str().unwrap_or_default())
            {
                let component = match kind {
                    "StatefulSet" => "statefulset-controller",
                    "DaemonSet" => "daemonset-controller",
                    "Job" => "job-controller",
                    _ => "replicaset-controller",
                };
                let message = if kind == "StatefulSet" {
                    format!(
                        "create Pod {pod_name} in StatefulSet {} failed error: {}",
                        name(&obj),
                        e.message
                    )
                } else {
                    format!("Error creating: {}", e.message)
                };
                super::record(inner, &obj, "Warning", "FailedCreate", message, component);
            }
            None
        }
    }
}

/// Delete a pod as a controller does: gone at once when no kubelet runs it, else Terminating
/// until the kubelet has stopped it.
pub(super) fn delete(ctx: &mut Ctx, inner: &mut Inner, pod: &Value) {
    let Some(rt) = inner.find_type("pods") else {
        return;
    };
    if pod["metadata"]["deletionTimestamp"].is_string() {
        return;
    }
    let on_node = pod["spec"]["nodeName"]
        .as_str()
        .is_some_and(|n| !n.is_empty());
    if !on_node || !active(pod) {
        inner.remove(&rt.key(), namespace(pod), name(pod));
        return;
    }
    let grace = pod["spec"]["terminationGracePeriodSeconds"]
        .as_i64()
        .unwrap_or(30);
    let mut marked = pod.clone();
    marked["metadata"]["deletionTimestamp"] =
        json!(timestamp(now() + chrono::TimeDelta::seconds(grace)));
    marked["metadata"]["deletionGracePeriodSeconds"] = json!(grace);
    inner.put_internal(&rt.key(), marked.clone());
    ctx.later(inner, &marked);
}

/// The kubelet's due steps.
pub(super) fn on_tick(ctx: &mut Ctx, inner: &mut Inner) {
    let now_i = Instant::now();
    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut ctx.due)
        .into_iter()
        .partition(|(at, ..)| *at <= now_i);
    ctx.due = later;
    let Some(rt) = inner.find_type("pods") else {
        return;
    };
    for (_, ns, pod_name, pod_uid) in due {
        let Some(pod) = inner.get(&rt, &ns, &pod_name).cloned() else {
            continue;
        };
        if uid(&pod) != pod_uid {
            continue;
        }
        if pod["metadata"]["deletionTimestamp"].is_string() {
            inner.remove(&rt.key(), &ns, &pod_name);
            continue;
        }
        let at = timestamp(now());
        let completes = pod["spec"]["restartPolicy"] != "Always";
        match pod["status"]["phase"].as_str() {
            Some("Pending") if pod["spec"]["nodeName"].is_string() => {
                let mut next = pod.clone();
                next["status"] = running(&pod, &pod_ip(inner, &pod), &at);
                inner.put_internal(&rt.key(), next.clone());
                if completes {
                    ctx.later(inner, &next);
                }
            }
            Some("Running") if completes => {
                let mut next = pod.clone();
                next["status"] = succeeded(&pod, &at);
                inner.put_internal(&rt.key(), next);
            }
            _ => {}
        }
    }
}

/// A node may have become usable: try the pods that found none again.
pub(super) fn retry_unscheduled(ctx: &mut Ctx, inner: &mut Inner) {
    let Some(rt) = inner.find_type("pods") else {
        return;
    };
    let waiting = std::mem::take(&mut ctx.unscheduled);
    for (ns, pod_name, pod_uid) in waiting {
        let Some(pod) = inner.get(&rt, &ns, &pod_name).cloned() else {
            continue;
        };
        if uid(&pod) != pod_uid || !active(&pod) {
            continue;
        }
        match node_for(inner, &pod) {
            Ok(node) => {
                let at = timestamp(now());
                let mut bound = pod.clone();
                bound["spec"]["nodeName"] = json!(name(&node));
                bound["status"] = starting(&bound, &node, &at);
                inner.put_internal(&rt.key(), bound.clone());
                ctx.later(inner, &bound);
            }
            Err(_) => ctx.unscheduled.push((ns, pod_name, pod_uid)),
        }
    }
}

/// The node a pod runs on: the one it names (`spec.nodeName` set by its author, as `kubectl
/// debug node/...` does: the scheduler never sees it), else the scheduler's choice.
fn node_for(inner: &Inner, pod: &Value) -> Result<Value, String> {
    match pod["spec"]["nodeName"].as_str().filter(|n| !n.is_empty()) {
        Some(n) => super::get(inner, "Node", "", n).ok_or_else(String::new),
        None => pick_node(inner, pod),
    }
}

/// The scheduler: a node [`scheduler::feasible`] for the pod, the one running the fewest pods; else the
/// `FailedScheduling` message.
fn pick_node(inner: &Inner, pod: &Value) -> Result<Value, String> {
    let fit = scheduler::feasible(inner, pod)?;
    let mut load: BTreeMap<&str, usize> = BTreeMap::new();
    if let Some(rt) = inner.find_type("pods") {
        for p in inner.list(&rt, None) {
            if let Some(n) = p["spec"]["nodeName"].as_str() {
                *load.entry(n).or_default() += 1;
            }
        }
    }
    fit.into_iter()
        .min_by_key(|n| load.get(name(n)).copied().unwrap_or(0))
        .cloned()
        .ok_or_else(String::new)
}

fn internal_ip(node: &Value) -> String {
    node["status"]["addresses"]
        .as_array()
        .and_then(|a| a.iter().find(|a| a["type"] == "InternalIP"))
        .and_then(|a| a["address"].as_str())
        .unwrap_or("192.0.2.1")
        .to_owned()
}

/// An address from the node's pod CIDR (a /24 or wider: the last octet varies).
fn pod_ip(inner: &Inner, pod: &Value) -> String {
    let node = pod["spec"]["nodeName"]
        .as_str()
        .and_then(|n| super::get(inner, "Node", "", n));
    let cidr = node
        .as_ref()
        .and_then(|n| n["spec"]["podCIDR"].as_str())
        .unwrap_or("10.244.0.0/24");
    let base = cidr.split('/').next().unwrap_or_default();
    let prefix = base.rsplit_once('.').map_or("10.244.0", |(p, _)| p);
    let last = 2 + uuid::Uuid::new_v4().as_bytes()[0] % 250;
    format!("{prefix}.{last}")
}

/// The image as the runtime reports it (`nginx:1.27` → `docker.io/library/nginx:1.27`).
fn full_image(image: &str) -> String {
    let first = image.split('/').next().unwrap_or_default();
    let registry =
        image.contains('/') && (first.contains('.') || first.contains(':') || first == "localhost");
    let tagged = image
        .rsplit('/')
        .next()
        .is_some_and(|l| l.contains(':') || l.contains('@'));
    let mut out = if registry {
        image.to_owned()
    } else if image.contains('/') {
        format!("docker.io/{image}")
    } else {
        format!("docker.io/library/{image}")
    };
    if !tagged {
        out.push_str(":latest");
    }
    out
}

fn hex64() -> String {
    let a = uuid::Uuid::new_v4().simple().to_string();
    let b = uuid::Uuid::new_v4().simple().to_string();
    format!("{a}{b}")
}

fn containers(pod: &Value) -> Vec<Value> {
    pod["spec"]["containers"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn cond(type_: &str, status: bool, at: &str, reason: Option<&str>, message: Option<&str>) -> Value {
    let mut c = json!({"type": type_, "status": if status { "True" } else { "False" },
        "lastProbeTime": null, "lastTransitionTime": at});
    if let Some(r) = reason {
        c["reason"] = json!(r);
    }
    if let Some(m) = message {
        c["message"] = json!(m);
    }
    c
}

/// Scheduled, containers being created.
fn starting(pod: &Value, node: &Value, at: &str) -> Value {
    let cs = containers(pod);
    let names: Vec<&str> = cs.iter().filter_map(|c| c["name"].as_str()).collect();
    let unready = format!("containers with unready status: [{}]", names.join(" "));
    let ip = internal_ip(node);
    json!({
        "phase": "Pending",
        "conditions": [
            cond("PodReadyToStartContainers", false, at, None, None),
            cond("Initialized", true, at, None, None),
            cond("Ready", false, at, Some("ContainersNotReady"), Some(&unready)),
            cond("ContainersReady", false, at, Some("ContainersNotReady"), Some(&unready)),
            cond("PodScheduled", true, at, None, None),
        ],
        "hostIP": ip,
        "hostIPs": [{"ip": ip}],
        "startTime": at,
        "containerStatuses": cs.iter().map(|c| json!({
            "name": c["name"], "image": c["image"], "imageID": "", "ready": false,
            "started": false, "restartCount": 0,
            "state": {"waiting": {"reason": "ContainerCreating"}}, "lastState": {},
        })).collect::<Vec<_>>(),
        "qosClass": "BestEffort",
    })
}

fn running(pod: &Value, ip: &str, at: &str) -> Value {
    let mut status = pod["status"].clone();
    status["phase"] = json!("Running");
    status["podIP"] = json!(ip);
    status["podIPs"] = json!([{"ip": ip}]);
    let transition = status["startTime"].as_str().unwrap_or(at).to_owned();
    status["conditions"] = json!([
        cond("PodReadyToStartContainers", true, at, None, None),
        cond("Initialized", true, &transition, None, None),
        cond("Ready", true, at, None, None),
        cond("ContainersReady", true, at, None, None),
        cond("PodScheduled", true, &transition, None, None),
    ]);
    status["containerStatuses"] = json!(
        containers(pod)
            .iter()
            .map(|c| {
                let image = full_image(c["image"].as_str().unwrap_or_default());
                let repo = image
                    .rsplit_once(':')
                    .map_or(image.as_str(), |(r, _)| r)
                    .to_owned();
                // The status keeps the spec's spelling of the image (the kubelet's events
                // quote it); the digest names the full reference.
                json!({
                    "name": c["name"], "image": c["image"],
                    "imageID": format!("{repo}@sha256:{}", hex64()),
                    "containerID": format!("containerd://{}", hex64()),
                    "ready": true, "started": true, "restartCount": 0,
                    "state": {"running": {"startedAt": at}}, "lastState": {},
                })
            })
            .collect::<Vec<_>>()
    );
    status
}

fn succeeded(pod: &Value, at: &str) -> Value {
    let mut status = pod["status"].clone();
    status["phase"] = json!("Succeeded");
    let transition = status["startTime"].as_str().unwrap_or(at).to_owned();
    status["conditions"] = json!([
        cond("PodReadyToStartContainers", false, at, None, None),
        cond("Initialized", true, &transition, Some("PodCompleted"), None),
        cond("Ready", false, at, Some("PodCompleted"), None),
        cond("ContainersReady", false, at, Some("PodCompleted"), None),
        cond("PodScheduled", true, &transition, None, None),
    ]);
    if let Some(cs) = status["containerStatuses"].as_array_mut() {
        for c in cs {
            let started = c["state"]["running"]["startedAt"].clone();
            c["ready"] = json!(false);
            c["started"] = json!(false);
            c["state"] = json!({"terminated": {
                "exitCode": 0, "reason": "Completed", "startedAt": started, "finishedAt": at,
                "containerID": c["containerID"],
            }});
        }
    }
    status
}

/// A pod of `owner` from `template`, named `name` (or `<prefix><5 chars>` when `name` is
/// None), with extra labels.
pub(super) fn pod_from(
    owner: &Value,
    template: &Value,
    prefix: &str,
    name: Option<String>,
    labels: &[(&str, String)],
) -> Value {
    let mut meta = template["metadata"].clone();
    if !meta.is_object() {
        meta = json!({});
    }
    if let Some(m) = meta.as_object_mut() {
        m.remove("creationTimestamp");
    }
    meta["namespace"] = owner["metadata"]["namespace"].clone();
    if let Some(n) = name {
        meta["name"] = json!(n);
    } else {
        meta["generateName"] = json!(prefix);
        meta["name"] = json!(format!("{prefix}{}", random_suffix(5)));
    }
    for (k, v) in labels {
        meta["labels"][*k] = json!(v);
    }
    meta["ownerReferences"] = json!([super::owner_ref(owner)]);
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": meta,
        "spec": template["spec"].clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_reported_as_the_runtime_names_them() {
        assert_eq!(full_image("nginx:1.27"), "docker.io/library/nginx:1.27");
        assert_eq!(full_image("nginx"), "docker.io/library/nginx:latest");
        assert_eq!(full_image("bitnami/redis:7"), "docker.io/bitnami/redis:7");
        assert_eq!(
            full_image("quay.io/metallb/speaker:v0.14.8"),
            "quay.io/metallb/speaker:v0.14.8"
        );
        assert_eq!(
            full_image("localhost:5000/app"),
            "localhost:5000/app:latest"
        );
    }
}
