//! The endpoints controllers: a Service with a selector gets an `Endpoints` object of its own
//! name and an `EndpointSlice` (`<service>-<5 chars>`, labelled
//! `kubernetes.io/service-name`, owned by the Service) listing the pods its selector matches
//! that have an IP: ready ones as addresses, the others as not ready. A Service without a
//! selector (`kubernetes`) is left alone, as the real controllers leave it.
//!
//! Reconciled when the Service changes and when a pod of its namespace does; the Service's
//! deletion removes its `Endpoints` (the slice goes with its owner, through garbage
//! collection).

use serde_json::{Map, Value, json};

use super::{name, namespace, owner_ref, uid};
use crate::lab::store::{Inner, random_suffix};

/// Bring the Service's `Endpoints` and `EndpointSlice` in line with its pods.
pub(super) fn service(inner: &mut Inner, svc: &Value) {
    let Some(selector) = svc["spec"]["selector"]
        .as_object()
        .filter(|s| !s.is_empty())
    else {
        return;
    };
    let ns = namespace(svc).to_owned();
    let svc_name = name(svc).to_owned();
    let pods: Vec<Value> = inner
        .find_type_by_kind(None, "Pod")
        .map(|rt| {
            inner
                .list(&rt, Some(&ns))
                .into_iter()
                .filter(|p| selected(selector, p))
                .filter(|p| {
                    p["status"]["podIP"]
                        .as_str()
                        .is_some_and(|ip| !ip.is_empty())
                })
                .filter(|p| !p["metadata"]["deletionTimestamp"].is_string())
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    put_endpoints(inner, svc, &ns, &svc_name, &pods);
    put_slice(inner, svc, &ns, &svc_name, &pods);
}

/// The Service `ns/name` is gone: so is its `Endpoints`.
pub(super) fn service_deleted(inner: &mut Inner, ns: &str, svc_name: &str) {
    if let Some(rt) = inner.find_type_by_kind(None, "Endpoints")
        && inner.get(&rt, ns, svc_name).is_some()
    {
        inner.remove(&rt.key(), ns, svc_name);
    }
}

fn selected(selector: &Map<String, Value>, pod: &Value) -> bool {
    selector
        .iter()
        .all(|(k, v)| pod["metadata"]["labels"][k.as_str()] == *v)
}

fn ready(pod: &Value) -> bool {
    pod["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
    })
}

/// The port a Service port reaches on `pod`: its `targetPort` (a number, or a container port's
/// name), else its `port`.
fn target_port(port: &Value, pod: &Value) -> Option<u64> {
    match &port["targetPort"] {
        Value::Number(n) => n.as_u64(),
        Value::String(named) => pod["spec"]["containers"]
            .as_array()?
            .iter()
            .filter_map(|c| c["ports"].as_array())
            .flatten()
            .find(|p| p["name"] == named.as_str())
            .and_then(|p| p["containerPort"].as_u64()),
        _ => port["port"].as_u64(),
    }
}

/// The ports of an `Endpoints` subset; a slice's ports always carry a `name` (empty when the
/// Service port has none), as kubectl's describe expects.
fn ports(svc: &Value, pod: Option<&Value>, always_named: bool) -> Vec<Value> {
    let empty = json!({});
    let pod = pod.unwrap_or(&empty);
    svc["spec"]["ports"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .filter_map(|p| {
            let mut out = json!({
                "port": target_port(p, pod).or_else(|| p["port"].as_u64())?,
                "protocol": p["protocol"].as_str().unwrap_or("TCP"),
            });
            match p["name"].as_str().filter(|n| !n.is_empty()) {
                Some(n) => out["name"] = json!(n),
                None if always_named => out["name"] = json!(""),
                None => {}
            }
            Some(out)
        })
        .collect()
}

fn target_ref(pod: &Value) -> Value {
    json!({"kind": "Pod", "namespace": namespace(pod), "name": name(pod), "uid": uid(pod)})
}

fn put_endpoints(inner: &mut Inner, svc: &Value, ns: &str, svc_name: &str, pods: &[Value]) {
    let Some(rt) = inner.find_type_by_kind(None, "Endpoints") else {
        return;
    };
    let address = |p: &Value| {
        let mut a = json!({"ip": p["status"]["podIP"], "targetRef": target_ref(p)});
        if let Some(node) = p["spec"]["nodeName"].as_str() {
            a["nodeName"] = json!(node);
        }
        a
    };
    let (up, down): (Vec<&Value>, Vec<&Value>) = pods.iter().partition(|p| ready(p));
    let mut subset = json!({"ports": ports(svc, pods.first(), false)});
    if !up.is_empty() {
        subset["addresses"] = up.iter().map(|p| address(p)).collect();
    }
    if !down.is_empty() {
        subset["notReadyAddresses"] = down.iter().map(|p| address(p)).collect();
    }
    let subsets = if pods.is_empty() {
        Value::Null
    } else {
        json!([subset])
    };
    if let Some(mut old) = inner.get(&rt, ns, svc_name).cloned() {
        if old["subsets"] != subsets {
            old["subsets"] = subsets;
            if old["subsets"].is_null() {
                old.as_object_mut().map(|o| o.remove("subsets"));
            }
            inner.put_internal(&rt.key(), old);
        }
    } else {
        let mut obj = json!({
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": svc_name, "namespace": ns, "labels": svc["metadata"]["labels"].clone()},
        });
        if obj["metadata"]["labels"].is_null() {
            obj["metadata"].as_object_mut().map(|m| m.remove("labels"));
        }
        if !subsets.is_null() {
            obj["subsets"] = subsets;
        }
        let _ = inner.create(&rt, ns, obj);
    }
}

fn put_slice(inner: &mut Inner, svc: &Value, ns: &str, svc_name: &str, pods: &[Value]) {
    let Some(rt) = inner.find_type_by_kind(None, "EndpointSlice") else {
        return;
    };
    let endpoints: Vec<Value> = pods
        .iter()
        .map(|p| {
            let up = ready(p);
            let mut e = json!({
                "addresses": [p["status"]["podIP"]],
                "conditions": {"ready": up, "serving": up, "terminating": false},
                "targetRef": target_ref(p),
            });
            if let Some(node) = p["spec"]["nodeName"].as_str() {
                e["nodeName"] = json!(node);
            }
            e
        })
        .collect();
    let ports = ports(svc, pods.first(), true);
    let existing = inner
        .list(&rt, Some(ns))
        .into_iter()
        .find(|s| s["metadata"]["labels"]["kubernetes.io/service-name"] == svc_name)
        .cloned();
    if let Some(mut old) = existing {
        if old["endpoints"] != json!(endpoints) || old["ports"] != json!(ports) {
            old["endpoints"] = json!(endpoints);
            old["ports"] = json!(ports);
            inner.put_internal(&rt.key(), old);
        }
    } else {
        let obj = json!({
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": format!("{svc_name}-{}", random_suffix(5)),
                "generateName": format!("{svc_name}-"),
                "namespace": ns,
                "labels": {
                    "kubernetes.io/service-name": svc_name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
                "ownerReferences": [owner_ref(svc)],
            },
            "addressType": "IPv4",
            "endpoints": endpoints,
            "ports": ports,
        });
        let _ = inner.create(&rt, ns, obj);
    }
}
