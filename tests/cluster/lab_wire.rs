//! Issue 13 §1-§2 on the wire, with the real kubectl: field ownership (`managedFields`) and
//! server-side apply (conflicts, `--force-conflicts`, fields an applier drops), draining a
//! node through the Eviction API with PodDisruptionBudgets, and protobuf answers.

use crate::lab_support::{TestLab, kubectl_available, start, stderr, stdout};
use serde_json::Value;

fn json_of(lab: &TestLab, args: &[&str]) -> Value {
    let text = lab.kubectl_ok(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?}: {e}: {text}"))
}

fn managers(obj: &Value) -> Vec<(String, String)> {
    obj["metadata"]["managedFields"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["manager"].as_str().unwrap_or_default().to_owned(),
                        e["operation"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn write(lab: &TestLab, name: &str, text: &str) {
    std::fs::write(lab.dir().join(name), text).unwrap_or_else(|e| panic!("{name}: {e}"));
}

fn config_map(data: &str) -> String {
    format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned\n  namespace: default\ndata:\n{data}"
    )
}

#[test]
fn writes_record_their_managers_and_kubectl_hides_them_unless_asked() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    lab.kubectl_ok(&[
        "create",
        "configmap",
        "owned",
        "--from-literal=a=1",
        "--from-literal=b=2",
    ]);
    lab.kubectl_ok(&["label", "configmap", "owned", "tier=web"]);
    let shown = lab.kubectl_ok(&["get", "cm", "owned", "-o", "yaml", "--show-managed-fields"]);
    assert!(shown.contains("manager: kubectl-create"), "{shown}");
    assert!(shown.contains("fieldsType: FieldsV1"), "{shown}");
    assert!(
        shown.contains("f:data:\n        .: {}\n        f:a: {}\n        f:b: {}"),
        "{shown}"
    );
    let hidden = lab.kubectl_ok(&["get", "cm", "owned", "-o", "yaml"]);
    assert!(!hidden.contains("managedFields"), "{hidden}");
    let obj = json_of(
        &lab,
        &["get", "cm", "owned", "-o", "json", "--show-managed-fields"],
    );
    assert_eq!(
        managers(&obj),
        [
            ("kubectl-create".to_owned(), "Update".to_owned()),
            ("kubectl-label".to_owned(), "Update".to_owned())
        ]
    );
    assert_eq!(
        obj["metadata"]["managedFields"][1]["fieldsV1"],
        serde_json::json!({"f:metadata": {"f:labels": {".": {}, "f:tier": {}}}})
    );
    assert!(obj["metadata"]["managedFields"][0]["time"].is_string());
}

#[test]
fn server_side_apply_merges_by_ownership_and_refuses_conflicts() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    lab.kubectl_ok(&[
        "create",
        "configmap",
        "owned",
        "--from-literal=a=1",
        "--from-literal=b=2",
    ]);
    write(
        &lab,
        "conflict.yaml",
        &config_map("  a: \"5\"\n  c: \"3\"\n"),
    );
    let refused = lab.kubectl(&["apply", "--server-side", "-f", "conflict.yaml"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = stderr(&refused);
    assert!(
        err.starts_with(
            "error: Apply failed with 1 conflict: conflict with \"kubectl-create\" using v1: .data.a\n"
        ),
        "{err}"
    );
    assert!(err.contains("--force-conflicts"), "{err}");
    let forced = lab.kubectl_ok(&[
        "apply",
        "--server-side",
        "--force-conflicts",
        "-f",
        "conflict.yaml",
    ]);
    assert_eq!(forced, "configmap/owned serverside-applied\n");
    let obj = json_of(
        &lab,
        &["get", "cm", "owned", "-o", "json", "--show-managed-fields"],
    );
    assert_eq!(
        obj["data"],
        serde_json::json!({"a": "5", "b": "2", "c": "3"})
    );
    assert_eq!(
        managers(&obj),
        [
            ("kubectl".to_owned(), "Apply".to_owned()),
            ("kubectl-create".to_owned(), "Update".to_owned())
        ]
    );
    assert_eq!(
        obj["metadata"]["managedFields"][0]["fieldsV1"],
        serde_json::json!({"f:data": {"f:a": {}, "f:c": {}}})
    );
    // The same configuration again changes nothing, not even the resourceVersion.
    let rv = obj["metadata"]["resourceVersion"].clone();
    lab.kubectl_ok(&["apply", "--server-side", "-f", "conflict.yaml"]);
    let again = json_of(&lab, &["get", "cm", "owned", "-o", "json"]);
    assert_eq!(again["metadata"]["resourceVersion"], rv);
    // Dropping `c`, which only this applier owned, removes it; `b` stays with its creator.
    write(&lab, "fewer.yaml", &config_map("  a: \"5\"\n"));
    lab.kubectl_ok(&["apply", "--server-side", "-f", "fewer.yaml"]);
    let after = json_of(&lab, &["get", "cm", "owned", "-o", "json"]);
    assert_eq!(after["data"], serde_json::json!({"a": "5", "b": "2"}));
}

#[test]
fn server_side_apply_creates_what_is_absent_and_shares_equal_values() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    write(&lab, "new.yaml", &config_map("  a: \"1\"\n"));
    let made = lab.kubectl(&["apply", "--server-side", "-f", "new.yaml"]);
    assert!(made.status.success(), "{}", stderr(&made));
    assert_eq!(stdout(&made), "configmap/owned serverside-applied\n");
    // Another manager setting the same value shares it: no conflict.
    let shared = lab.kubectl(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "new.yaml",
    ]);
    assert!(shared.status.success(), "{}", stderr(&shared));
    let obj = json_of(
        &lab,
        &["get", "cm", "owned", "-o", "json", "--show-managed-fields"],
    );
    assert_eq!(
        managers(&obj),
        [
            ("kubectl".to_owned(), "Apply".to_owned()),
            ("other".to_owned(), "Apply".to_owned())
        ]
    );
    // Two appliers disagreeing: the conflict names the other applier without a version.
    write(&lab, "new.yaml", &config_map("  a: \"2\"\n"));
    let refused = lab.kubectl(&["apply", "--server-side", "-f", "new.yaml"]);
    assert!(
        stderr(&refused)
            .starts_with("error: Apply failed with 1 conflict: conflict with \"other\": .data.a\n"),
        "{}",
        stderr(&refused)
    );
}
