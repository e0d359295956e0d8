//! The horizontal pod autoscaler controller, as it behaves on a cluster without metrics-server
//! (the practice cluster serves no `metrics.k8s.io`, and `kubectl top` says so): it reads its
//! target's scale, every resource metric fails, so `ScalingActive` turns False with the
//! controller's own words, the autoscaler records `FailedGetResourceMetric` and
//! `FailedComputeMetricsReplicas`, and the replicas stay as they are. That is what a trainee
//! meets when "the HPA shows `<unknown>`": the events name the missing metrics API.

use serde_json::{Value, json};

use super::{condition, get, namespace, record, set_status};
use crate::lab::store::Inner;

/// Why a resource metric could not be read, as the controller says it.
const NO_METRICS: &str = "unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)";

const COMPONENT: &str = "horizontal-pod-autoscaler";

/// Reconcile one autoscaler: its status from its target's scale and the failed metrics, and
/// the two Warnings when its metrics first fail.
pub(super) fn autoscaler(inner: &mut Inner, hpa: &Value) {
    let target = &hpa["spec"]["scaleTargetRef"];
    let Some(scaled) = get(
        inner,
        target["kind"].as_str().unwrap_or_default(),
        namespace(hpa),
        target["name"].as_str().unwrap_or_default(),
    ) else {
        return;
    };
    let failures: Vec<(&str, String)> = hpa["spec"]["metrics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|m| m["type"] == "Resource")
        .filter_map(|m| {
            let name = m["resource"]["name"].as_str()?;
            let what = if m["resource"]["target"]["type"] == "Utilization" {
                "utilization"
            } else {
                "usage"
            };
            Some((
                name,
                format!("failed to get {name} {what}: unable to get metrics for resource {name}: {NO_METRICS}"),
            ))
        })
        .collect();
    let old = &hpa["status"];
    let mut status = json!({
        "currentReplicas": scaled["status"]["replicas"].as_i64().unwrap_or(0),
        "desiredReplicas": old["desiredReplicas"].as_i64().unwrap_or(0),
    });
    let Some((first_name, first)) = failures.first() else {
        set_status(inner, hpa, status);
        return;
    };
    let active_message = format!("the HPA was unable to compute the replica count: {first}");
    let already = old["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "ScalingActive" && c["reason"] == "FailedGetResourceMetric")
    });
    let conditions: Vec<Value> = [
        condition(
            old,
            "AbleToScale",
            "True",
            "SucceededGetScale",
            "the HPA controller was able to get the target's current scale",
        ),
        condition(
            old,
            "ScalingActive",
            "False",
            "FailedGetResourceMetric",
            &active_message,
        ),
    ]
    .into_iter()
    .map(|mut c| {
        // An autoscaler's conditions have no update time (a Deployment's do).
        if let Some(m) = c.as_object_mut() {
            m.remove("lastUpdateTime");
        }
        c
    })
    .collect();
    status["conditions"] = json!(conditions);
    set_status(inner, hpa, status);
    if already {
        return;
    }
    for (_, message) in &failures {
        record(
            inner,
            hpa,
            "Warning",
            "FailedGetResourceMetric",
            message.clone(),
            COMPONENT,
        );
    }
    let n = failures.len();
    record(
        inner,
        hpa,
        "Warning",
        "FailedComputeMetricsReplicas",
        format!(
            "invalid metrics ({n} invalid out of {n}), first error is: failed to get {first_name} resource metric value: {first}"
        ),
        COMPONENT,
    );
}
