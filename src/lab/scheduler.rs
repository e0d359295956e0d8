//! The scheduler's filters, the one place the lab decides whether a node can take a pod: the
//! stand-in scheduler (`controllers/kubelet.rs`) binds pods with it, the `DaemonSet` controller
//! asks it where its pods belong, and the `FailedScheduling` event rule (`events.rs`) quotes
//! its message. To add a filter, add it to [`unfit`] in the default profile's order and give it
//! the scheduler's wording.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::store::Inner;

/// Whether `tolerations` tolerate `taint`.
pub(crate) fn tolerated(tolerations: &Value, taint: &Value) -> bool {
    tolerations.as_array().is_some_and(|ts| {
        ts.iter().any(|t| {
            let effect_ok = t["effect"]
                .as_str()
                .is_none_or(|e| e.is_empty() || taint["effect"] == e);
            let key_ok = match t["operator"].as_str() {
                Some("Exists") => t["key"]
                    .as_str()
                    .is_none_or(|k| k.is_empty() || taint["key"] == k),
                _ => {
                    t["key"] == taint["key"]
                        && t["value"].as_str().unwrap_or_default()
                            == taint["value"].as_str().unwrap_or_default()
                }
            };
            effect_ok && key_ok
        })
    })
}

/// Why `node` cannot take `pod` (the scheduler's wording), or None when it can: the default
/// profile's filters in their order, each node counted under its first failure —
/// `NodeUnschedulable`, `TaintToleration` (with the taint the node lifecycle controller puts on
/// a node that is not Ready), then the node selector. `daemon`: the `DaemonSet` controller's
/// check, which ignores both what a cordon and what a node's readiness say (its pods tolerate
/// them) and reads the node's own taints.
pub(crate) fn unfit(pod: &Value, node: &Value, daemon: bool) -> Option<String> {
    if !daemon && node["spec"]["unschedulable"] == true {
        let taint = json!({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"});
        if !tolerated(&pod["spec"]["tolerations"], &taint) {
            return Some("node(s) were unschedulable".to_owned());
        }
    }
    let mut taints = node["spec"]["taints"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let condition = match ready_status(node) {
        _ if daemon => None,
        Some("True") => None,
        Some("False") => Some("node.kubernetes.io/not-ready"),
        _ => Some("node.kubernetes.io/unreachable"),
    };
    if let Some(key) = condition
        && !taints.iter().any(|t| t["key"] == key)
    {
        taints.push(json!({"key": key, "effect": "NoSchedule"}));
    }
    for taint in &taints {
        if !matches!(taint["effect"].as_str(), Some("NoSchedule" | "NoExecute")) {
            continue;
        }
        if !tolerated(&pod["spec"]["tolerations"], taint) {
            return Some(format!(
                "node(s) had untolerated taint {{{}: {}}}",
                taint["key"].as_str().unwrap_or_default(),
                taint["value"].as_str().unwrap_or_default()
            ));
        }
    }
    if let Some(sel) = pod["spec"]["nodeSelector"].as_object()
        && !sel.iter().all(|(k, v)| node["metadata"]["labels"][k] == *v)
    {
        return Some("node(s) didn't match Pod's node affinity/selector".to_owned());
    }
    None
}

fn ready_status(node: &Value) -> Option<&str> {
    node["status"]["conditions"]
        .as_array()?
        .iter()
        .find(|c| c["type"] == "Ready")?["status"]
        .as_str()
}

/// The lab's nodes that can take `pod`, or the scheduler's `FailedScheduling` message when none
/// can.
pub(crate) fn feasible<'a>(inner: &'a Inner, pod: &Value) -> Result<Vec<&'a Value>, String> {
    let nodes = inner
        .find_type("nodes")
        .map(|rt| inner.list(&rt, None))
        .unwrap_or_default();
    if nodes.is_empty() {
        return Err("no nodes available to schedule pods".to_owned());
    }
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut fit = Vec::new();
    for &node in &nodes {
        match unfit(pod, node, false) {
            Some(w) => *reasons.entry(w).or_default() += 1,
            None => fit.push(node),
        }
    }
    if fit.is_empty() {
        let n = nodes.len();
        let list: Vec<String> = reasons.iter().map(|(w, c)| format!("{c} {w}")).collect();
        return Err(format!(
            "0/{n} nodes are available: {}. preemption: 0/{n} nodes are available: {n} Preemption is not helpful for scheduling.",
            list.join(", ")
        ));
    }
    Ok(fit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(taints: &Value) -> Value {
        json!({"metadata": {"name": "n1", "labels": {"kubernetes.io/os": "linux"}},
            "spec": {"taints": taints},
            "status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    }

    #[test]
    fn taints_keep_off_pods_that_do_not_tolerate_them() {
        let cp = node(
            &json!([{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]),
        );
        let plain = json!({"spec": {}});
        assert_eq!(
            unfit(&plain, &cp, false).as_deref(),
            Some("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }")
        );
        let exists = json!({"spec": {"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}]}});
        assert_eq!(unfit(&exists, &cp, false), None);
        let wrong_effect = json!({"spec": {"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoExecute"}]}});
        assert!(unfit(&wrong_effect, &cp, false).is_some());
        let everything = json!({"spec": {"tolerations": [{"operator": "Exists"}]}});
        assert_eq!(unfit(&everything, &cp, false), None);
        // PreferNoSchedule never keeps a pod off.
        let soft = node(&json!([{"key": "x", "effect": "PreferNoSchedule"}]));
        assert_eq!(unfit(&plain, &soft, false), None);
        // A node that is not Ready carries the lifecycle controller's taint; one that stopped
        // reporting, the unreachable one.
        let mut not_ready = node(&json!([]));
        not_ready["status"]["conditions"][0]["status"] = json!("False");
        assert_eq!(
            unfit(&plain, &not_ready, false).as_deref(),
            Some("node(s) had untolerated taint {node.kubernetes.io/not-ready: }")
        );
        not_ready["status"]["conditions"][0]["status"] = json!("Unknown");
        assert_eq!(
            unfit(&plain, &not_ready, false).as_deref(),
            Some("node(s) had untolerated taint {node.kubernetes.io/unreachable: }")
        );
        // The DaemonSet controller reads the node's own taints only.
        assert_eq!(unfit(&plain, &not_ready, true), None);
        // Filters run in the scheduler's order: taints before the node selector.
        let both = json!({"spec": {"nodeSelector": {"kubernetes.io/os": "windows"}}});
        assert_eq!(
            unfit(&both, &cp, false).as_deref(),
            Some("node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }")
        );
        let selector = json!({"spec": {"nodeSelector": {"kubernetes.io/os": "windows"}}});
        assert!(unfit(&selector, &node(&json!([])), false).is_some());
        let mut cordoned = node(&json!([]));
        cordoned["spec"]["unschedulable"] = json!(true);
        assert!(unfit(&plain, &cordoned, false).is_some());
        assert_eq!(
            unfit(&plain, &cordoned, true),
            None,
            "daemon pods ignore cordons"
        );
    }
}
