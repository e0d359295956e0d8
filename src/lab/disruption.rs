//! `PodDisruptionBudgets` and the Eviction API, as the disruption controller and the `eviction`
//! subresource of a v1.32 server handle them: each budget's status (`currentHealthy`,
//! `desiredHealthy`, `disruptionsAllowed`, `expectedPods`, the `DisruptionAllowed` condition)
//! is recomputed from the pods its selector matches whenever a pod or a budget changes, and
//! `POST pods/NAME/eviction` deletes the pod (with its grace period) only when no budget
//! forbids it, else answers 429 with the real message. This is what `kubectl drain` uses.
//!
//! Recreating evicted pods is the workload controllers' business, not this module's. To count
//! one more kind of controller toward `expectedPods`, add it to [`SCALED`].

use std::sync::Arc;

use serde_json::{Value, json};

use super::clock::{now, timestamp};
use super::selector::LabelSelector;
use super::status::ApiError;
use super::store::{Event, Inner, Reactor, Store};

/// Controllers whose `spec.replicas` is a budget's expected scale: (owner kind, type key).
const SCALED: &[(&str, &str)] = &[
    ("ReplicaSet", "replicasets.apps"),
    ("StatefulSet", "statefulsets.apps"),
    ("ReplicationController", "replicationcontrollers"),
];

const PDBS: &str = "poddisruptionbudgets.policy";

/// A `metav1.LabelSelector` object as a parsed selector; None for a null selector (matches
/// nothing, as in policy/v1).
fn selector_of(sel: &Value) -> Option<LabelSelector> {
    let sel = sel.as_object()?;
    let mut parts = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .map(|v| v.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        parts.push(match e["operator"].as_str().unwrap_or_default() {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "DoesNotExist" => format!("!{key}"),
            _ => key.to_owned(),
        });
    }
    LabelSelector::parse(&parts.join(",")).ok()
}

fn is_ready(pod: &Value) -> bool {
    pod["metadata"]["deletionTimestamp"].is_null()
        && pod["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == "Ready" && c["status"] == "True")
        })
}

/// An `intstr` (`2` or `"50%"`) against a total; percentages round up, as the controller does.
fn scaled(v: &Value, total: i64) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let pct: i64 = v.as_str()?.strip_suffix('%')?.parse().ok()?;
    Some((pct * total + 99) / 100)
}

/// The pods in `pdb`'s namespace its selector matches.
fn matching<'a>(inner: &'a Inner, pdb: &Value) -> Vec<&'a Value> {
    let Some(sel) = selector_of(&pdb["spec"]["selector"]) else {
        return Vec::new();
    };
    let Some(pods) = inner.find_type("pods") else {
        return Vec::new();
    };
    let ns = pdb["metadata"]["namespace"].as_str();
    inner
        .list(&pods, ns)
        .into_iter()
        .filter(|p| sel.matches(&p["metadata"]["labels"]))
        .collect()
}

/// The replicas the pods' controllers want (each controller counted once); a pod without a
/// known controller counts for itself.
fn expected_scale(inner: &Inner, pods: &[&Value]) -> i64 {
    let mut seen: Vec<String> = Vec::new();
    let mut total = 0;
    for pod in pods {
        let owner = pod["metadata"]["ownerReferences"]
            .as_array()
            .and_then(|o| o.iter().find(|r| r["controller"] == true));
        let scale = owner.and_then(|o| {
            let (_, key) = SCALED.iter().find(|(k, _)| o["kind"] == *k)?;
            let uid = o["uid"].as_str().unwrap_or_default().to_owned();
            if seen.contains(&uid) {
                return Some(0);
            }
            let rt = inner.find_type(key)?;
            let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
            let name = o["name"].as_str().unwrap_or_default();
            let replicas = inner.get(&rt, ns, name)?["spec"]["replicas"]
                .as_i64()
                .unwrap_or(1);
            seen.push(uid);
            Some(replicas)
        });
        total += scale.unwrap_or(1);
    }
    total
}

/// The status the disruption controller gives `pdb` now (the condition's transition time is
/// kept while its status holds).
pub(crate) fn status_of(inner: &Inner, pdb: &Value) -> Value {
    let pods = matching(inner, pdb);
    let healthy = i64::try_from(pods.iter().filter(|p| is_ready(p)).count()).unwrap_or(0);
    let spec = &pdb["spec"];
    let (expected, desired) = if let Some(max) = spec.get("maxUnavailable").filter(|v| !v.is_null())
    {
        let expected = expected_scale(inner, &pods);
        (expected, expected - scaled(max, expected).unwrap_or(0))
    } else if let Some(min) = spec.get("minAvailable").filter(|v| !v.is_null()) {
        if min.is_i64() {
            (
                i64::try_from(pods.len()).unwrap_or(0),
                min.as_i64().unwrap_or(0),
            )
        } else {
            let expected = expected_scale(inner, &pods);
            (expected, scaled(min, expected).unwrap_or(0))
        }
    } else {
        (i64::try_from(pods.len()).unwrap_or(0), 0)
    };
    let desired = desired.max(0);
    let allowed = (healthy - desired).max(0);
    let generation = pdb["metadata"]["generation"].as_i64().unwrap_or(1);
    let (state, reason) = if allowed > 0 {
        ("True", "SufficientPods")
    } else {
        ("False", "InsufficientPods")
    };
    let old = &pdb["status"]["conditions"][0];
    let since = if old["status"] == state {
        old["lastTransitionTime"].clone()
    } else {
        json!(timestamp(now()))
    };
    let mut status = json!({
        "observedGeneration": generation,
        "disruptionsAllowed": allowed,
        "currentHealthy": healthy,
        "desiredHealthy": desired,
        "expectedPods": expected,
        "conditions": [{
            "type": "DisruptionAllowed", "status": state, "observedGeneration": generation,
            "lastTransitionTime": since, "reason": reason, "message": "",
        }],
    });
    // Pods evicted and not yet gone stay listed until they are.
    if let Some(disrupted) = pdb["status"]["disruptedPods"].as_object() {
        let still: serde_json::Map<String, Value> = disrupted
            .iter()
            .filter(|(name, _)| {
                pods.iter().any(|p| {
                    p["metadata"]["name"] == name.as_str()
                        && p["metadata"]["deletionTimestamp"].is_null()
                })
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !still.is_empty() {
            status["disruptedPods"] = Value::Object(still);
        }
    }
    status
}

/// The disruption controller in front of the scenario's reactions: after the reactions to a
/// write, the budgets its pods touch are recomputed (a [`Reactor`], so the store does not
/// depend on this module).
#[derive(Debug)]
pub(crate) struct Budgets(pub Box<dyn Reactor>);

impl Reactor for Budgets {
    fn on_seeded(&mut self, inner: &Inner) {
        self.0.on_seeded(inner);
    }

    fn on_events(&mut self, inner: &mut Inner, events: &[Arc<Event>]) {
        self.0.on_events(inner, events);
        on_events(inner, events);
    }

    fn logs_of(&self, pod: &Value, container: &str, previous: bool) -> String {
        self.0.logs_of(pod, container, previous)
    }

    fn fixed(&self, inner: &Inner) -> bool {
        self.0.fixed(inner)
    }

    fn on_tick(&mut self, inner: &mut Inner) {
        self.0.on_tick(inner);
    }
}

/// After writes: recompute the budgets in the namespaces where pods or budgets changed.
pub(crate) fn on_events(inner: &mut Inner, events: &[Arc<Event>]) {
    let mut namespaces: Vec<&str> = events
        .iter()
        .filter(|e| e.resource == "pods" || e.resource == PDBS)
        .map(|e| e.namespace.as_str())
        .collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    let Some(pdbs) = inner.find_type(PDBS) else {
        return;
    };
    let mut updates = Vec::new();
    for ns in namespaces {
        for pdb in inner.list(&pdbs, Some(ns)) {
            let status = status_of(inner, pdb);
            if pdb["status"] != status {
                let mut next = pdb.clone();
                next["status"] = status;
                updates.push(next);
            }
        }
    }
    for next in updates {
        inner.put_internal(PDBS, next);
    }
}

/// `POST pods/NAME/eviction`: the pod is deleted (with the grace period the Eviction's
/// `deleteOptions` carry) unless the one budget that covers it has no disruption to spare;
/// answers the `Status` a real server sends (201 Success).
pub fn evict(
    store: &Arc<Store>,
    ns: &str,
    name: &str,
    eviction: &Value,
) -> Result<Value, ApiError> {
    let named = eviction["metadata"]["name"].as_str().unwrap_or_default();
    if !named.is_empty() && named != name {
        return Err(ApiError::bad_request(
            "name in URL does not match name in Eviction object",
        ));
    }
    let grace = eviction["deleteOptions"]["gracePeriodSeconds"].as_i64();
    let pods = store
        .resolve("", "v1", "pods")
        .ok_or_else(ApiError::unknown_resource)?;
    {
        let mut inner = store.lock();
        let Some(pod) = inner.get(&pods, ns, name).cloned() else {
            return Err(ApiError::not_found("", "pods", name));
        };
        let phase = pod["status"]["phase"].as_str().unwrap_or_default();
        // Pods that are done, not yet running or already going need no budget.
        let exempt = matches!(phase, "Succeeded" | "Failed" | "Pending")
            || pod["metadata"]["deletionTimestamp"].is_string();
        if !exempt {
            check_budgets(&mut inner, &pod)?;
        }
    }
    store.delete(&pods, ns, name, grace)?;
    Ok(
        json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}),
    )
}

/// Take one disruption from the budget covering `pod`, or say why not.
fn check_budgets(inner: &mut Inner, pod: &Value) -> Result<(), ApiError> {
    let Some(pdbs) = inner.find_type(PDBS) else {
        return Ok(());
    };
    let ns = pod["metadata"]["namespace"].as_str().unwrap_or_default();
    let covering: Vec<Value> = inner
        .list(&pdbs, Some(ns))
        .into_iter()
        .filter(|b| {
            selector_of(&b["spec"]["selector"])
                .is_some_and(|s| s.matches(&pod["metadata"]["labels"]))
        })
        .cloned()
        .collect();
    let budget = match covering.as_slice() {
        [] => return Ok(()),
        [one] => one,
        _ => {
            return Err(ApiError::internal(
                "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
            ));
        }
    };
    let status = status_of(inner, budget);
    let (allowed, healthy, desired) = (
        status["disruptionsAllowed"].as_i64().unwrap_or(0),
        status["currentHealthy"].as_i64().unwrap_or(0),
        status["desiredHealthy"].as_i64().unwrap_or(0),
    );
    let name = budget["metadata"]["name"].as_str().unwrap_or_default();
    let refuse = || {
        ApiError::disruption_budget(format!(
            "The disruption budget {name} needs {desired} healthy pods and has {healthy} currently"
        ))
    };
    if !is_ready(pod) {
        // An unhealthy pod may go while the budget is met (policy IfHealthyBudget).
        return if healthy >= desired {
            Ok(())
        } else {
            Err(refuse())
        };
    }
    if allowed <= 0 {
        return Err(refuse());
    }
    let mut next = budget.clone();
    next["status"] = status;
    next["status"]["disruptionsAllowed"] = json!(allowed - 1);
    let pod_name = pod["metadata"]["name"].as_str().unwrap_or_default();
    next["status"]["disruptedPods"][pod_name] = json!(timestamp(now()));
    inner.put_internal(PDBS, next);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_read_labels_and_expressions() {
        let sel = selector_of(&json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}));
        let sel = sel.unwrap_or_default();
        assert!(sel.matches(&json!({"app": "web", "tier": "b"})));
        assert!(!sel.matches(&json!({"app": "web", "tier": "c"})));
        assert!(selector_of(&Value::Null).is_none());
    }

    #[test]
    fn percentages_round_up() {
        assert_eq!(scaled(&json!("50%"), 3), Some(2));
        assert_eq!(scaled(&json!(1), 3), Some(1));
        assert_eq!(scaled(&json!("x"), 3), None);
    }
}
