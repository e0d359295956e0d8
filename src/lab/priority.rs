//! Priority admission: a pod's `priorityClassName` becomes its `priority` and
//! `preemptionPolicy`, read from the `PriorityClass` objects (every cluster has the two system
//! classes, seeded from `assets/lab/_base/`), and a pod that names no class gets the global
//! default class's, else priority 0, as the `Priority` admission plugin does. To change what a
//! class gives a pod, change the class.

use serde_json::{Value, json};

/// Fills in `pod`'s priority from `classes`; the refusal's message when it names a class that
/// does not exist.
pub(crate) fn admit(classes: &[&Value], pod: &mut Value) -> Result<(), String> {
    let spec = &mut pod["spec"];
    let class = match spec["priorityClassName"].as_str().filter(|n| !n.is_empty()) {
        Some(wanted) => Some(
            *classes
                .iter()
                .find(|c| c["metadata"]["name"] == wanted)
                .ok_or_else(|| format!("no PriorityClass with name {wanted} was found"))?,
        ),
        None => classes.iter().find(|c| c["globalDefault"] == true).copied(),
    };
    let Some(class) = class else {
        return Ok(());
    };
    if spec["priorityClassName"].is_null() {
        spec["priorityClassName"] = class["metadata"]["name"].clone();
    }
    spec["priority"] = json!(class["value"].as_i64().unwrap_or(0));
    spec["preemptionPolicy"] = class
        .get("preemptionPolicy")
        .cloned()
        .unwrap_or_else(|| json!("PreemptLowerPriority"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::admit;
    use serde_json::json;

    #[test]
    fn a_pod_takes_its_class_value_or_is_refused_for_a_missing_one() {
        let critical = json!({"metadata": {"name": "system-node-critical"}, "value": 2_000_001_000,
                              "preemptionPolicy": "PreemptLowerPriority"});
        let batch = json!({"metadata": {"name": "batch"}, "value": 100, "globalDefault": true,
                           "preemptionPolicy": "Never"});
        let classes = [&critical, &batch];
        let mut pod = json!({"spec": {"priorityClassName": "system-node-critical"}});
        admit(&classes, &mut pod).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pod["spec"]["priority"], 2_000_001_000);
        let mut plain = json!({"spec": {}});
        admit(&classes, &mut plain).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (
                &plain["spec"]["priorityClassName"],
                &plain["spec"]["priority"],
                &plain["spec"]["preemptionPolicy"]
            ),
            (&json!("batch"), &json!(100), &json!("Never"))
        );
        let mut typo = json!({"spec": {"priorityClassName": "system-critical"}});
        assert_eq!(
            admit(&classes, &mut typo),
            Err("no PriorityClass with name system-critical was found".to_owned())
        );
        let mut none = json!({"spec": {}});
        admit(&[&critical], &mut none).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            none["spec"]["priority"].is_null(),
            "left to the defaults (0)"
        );
    }
}
