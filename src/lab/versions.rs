//! Kinds served in more than one version: the server stores one (the storage version) and
//! converts on the way in and out, so a client of either version reads every object in its own
//! version, whichever version wrote it.
//!
//! [`CONVERSIONS`] lists each served version that is not the stored one, with the functions
//! that convert its objects: `events.k8s.io/v1` Events over the stored `v1` Events (in
//! `events`), and `autoscaling/v1` `HorizontalPodAutoscaler`s over the stored `autoscaling/v2`
//! ones (here: v1's `targetCPUUtilizationPercentage` is v2's CPU utilization metric). To serve
//! one more version of a kind, add a line and its two functions.

use serde_json::{Value, json};

use super::events;
use super::resources::{self, ResourceType};

/// A served version converted to and from the stored one.
pub(crate) struct Conversion {
    /// The served view: group, version and plural.
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    /// Where the objects are stored.
    pub stored_group: &'static str,
    pub stored_version: &'static str,
    /// Stored object → the view's; the view's → stored.
    pub to_view: fn(&Value) -> Value,
    pub from_view: fn(&Value) -> Value,
    /// A field selector in the view's terms → the stored version's.
    pub field_selector: fn(&str) -> String,
}

impl Conversion {
    /// The view's `apiVersion`.
    pub fn api_version(&self) -> String {
        resources::api_version(self.group, self.version)
    }
}

pub(crate) const CONVERSIONS: &[Conversion] = &[
    Conversion {
        group: "events.k8s.io",
        version: "v1",
        plural: "events",
        stored_group: "",
        stored_version: "v1",
        to_view: events::to_events_api,
        from_view: events::from_events_api,
        field_selector: events::selector_to_core,
    },
    Conversion {
        group: "autoscaling",
        version: "v1",
        plural: "horizontalpodautoscalers",
        stored_group: "autoscaling",
        stored_version: "v2",
        to_view: hpa_to_v1,
        from_view: hpa_from_v1,
        field_selector: str::to_owned,
    },
];

/// The conversion `rt` is served through, when it is a converted view.
pub(crate) fn view_of(rt: &ResourceType) -> Option<&'static Conversion> {
    CONVERSIONS
        .iter()
        .find(|c| c.group == rt.group && c.version == rt.version && c.plural == rt.plural)
}

/// The CPU utilization metric of a v2 metric list: (`resource` entry's key, its percentage).
fn cpu_utilization(metrics: &Value, side: &str) -> Option<i64> {
    metrics.as_array()?.iter().find_map(|m| {
        (m["type"] == "Resource" && m["resource"]["name"] == "cpu")
            .then(|| m["resource"][side]["averageUtilization"].as_i64())
            .flatten()
    })
}

/// An `autoscaling/v2` autoscaler as `autoscaling/v1` shows it: its CPU utilization target
/// and current value as v1's two fields (v1 has no place for other metrics or the behavior).
fn hpa_to_v1(v2: &Value) -> Value {
    let mut v1 = v2.clone();
    v1["apiVersion"] = json!("autoscaling/v1");
    let spec = &mut v1["spec"];
    if let Some(target) = cpu_utilization(&v2["spec"]["metrics"], "target") {
        spec["targetCPUUtilizationPercentage"] = json!(target);
    }
    if let Some(m) = spec.as_object_mut() {
        m.remove("metrics");
        m.remove("behavior");
    }
    if v2["status"].is_object() {
        let status = &mut v1["status"];
        if let Some(current) = cpu_utilization(&v2["status"]["currentMetrics"], "current") {
            status["currentCPUUtilizationPercentage"] = json!(current);
        }
        if status["currentReplicas"].is_null() {
            status["currentReplicas"] = json!(0);
        }
        if let Some(m) = status.as_object_mut() {
            m.remove("currentMetrics");
            m.remove("conditions");
        }
    }
    v1
}

/// An `autoscaling/v1` autoscaler as the `autoscaling/v2` object stored for it.
fn hpa_from_v1(v1: &Value) -> Value {
    let mut v2 = v1.clone();
    v2["apiVersion"] = json!("autoscaling/v2");
    let spec = &mut v2["spec"];
    if let Some(target) = v1["spec"]["targetCPUUtilizationPercentage"].as_i64() {
        spec["metrics"] = json!([{"type": "Resource", "resource": {"name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": target}}}]);
    }
    if let Some(m) = spec.as_object_mut() {
        m.remove("targetCPUUtilizationPercentage");
    }
    if let Some(status) = v2["status"].as_object_mut()
        && let Some(current) = status.remove("currentCPUUtilizationPercentage")
    {
        status.insert(
            "currentMetrics".to_owned(),
            json!([{"type": "Resource", "resource": {"name": "cpu",
                "current": {"averageUtilization": current}}}]),
        );
    }
    v2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_v1_autoscaler_is_stored_as_v2_and_reads_back_the_same() {
        let v1 = json!({"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                     "minReplicas": 2, "maxReplicas": 5, "targetCPUUtilizationPercentage": 70},
            "status": {"currentReplicas": 2, "desiredReplicas": 2, "currentCPUUtilizationPercentage": 35}});
        let v2 = hpa_from_v1(&v1);
        assert_eq!(v2["apiVersion"], "autoscaling/v2");
        assert_eq!(
            v2["spec"]["metrics"][0]["resource"]["target"],
            json!({"type": "Utilization", "averageUtilization": 70})
        );
        assert!(v2["spec"]["targetCPUUtilizationPercentage"].is_null());
        assert_eq!(
            v2["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"],
            35
        );
        assert_eq!(hpa_to_v1(&v2), v1);
        // v1 has no place for v2's other metrics: only the CPU target comes through.
        let mut two = v2.clone();
        if let Some(metrics) = two["spec"]["metrics"].as_array_mut() {
            metrics.push(json!({"type": "Pods", "pods": {"metric": {"name": "qps"}}}));
        }
        assert_eq!(hpa_to_v1(&two)["spec"], v1["spec"]);
    }
}
