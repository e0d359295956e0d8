//! Protobuf answers for the kinds kubectl's typed clients read (pods, nodes, workloads, events,
//! budgets, endpoints, leases): every object each scenario's lab serves encodes with the field
//! table (no JSON fallback) and decodes back to its JSON answer; protoc and kubectl read them.

use std::time::{Duration, Instant};

use runbook::lab::protobuf;
use serde_json::{Value, json};

use crate::lab_support::http::{Resp, request};
use crate::lab_support::{TestLab, kubectl_available, start_with};

const PROTO_FIRST: &str = "application/vnd.kubernetes.protobuf,application/json";

/// The list paths of the kinds whose answers must be protobuf, with the kind of their items.
const KINDS: &[(&str, &str, &str)] = &[
    ("/api/v1/pods", "v1", "Pod"),
    ("/api/v1/nodes", "v1", "Node"),
    ("/api/v1/events", "v1", "Event"),
    ("/api/v1/endpoints", "v1", "Endpoints"),
    ("/apis/apps/v1/replicasets", "apps/v1", "ReplicaSet"),
    ("/apis/apps/v1/deployments", "apps/v1", "Deployment"),
    ("/apis/apps/v1/daemonsets", "apps/v1", "DaemonSet"),
    ("/apis/apps/v1/statefulsets", "apps/v1", "StatefulSet"),
    ("/apis/events.k8s.io/v1/events", "events.k8s.io/v1", "Event"),
    (
        "/apis/policy/v1/poddisruptionbudgets",
        "policy/v1",
        "PodDisruptionBudget",
    ),
    (
        "/apis/discovery.k8s.io/v1/endpointslices",
        "discovery.k8s.io/v1",
        "EndpointSlice",
    ),
    (
        "/apis/coordination.k8s.io/v1/leases",
        "coordination.k8s.io/v1",
        "Lease",
    ),
    ("/api/v1/services", "v1", "Service"),
    ("/api/v1/configmaps", "v1", "ConfigMap"),
    ("/api/v1/secrets", "v1", "Secret"),
    ("/api/v1/namespaces", "v1", "Namespace"),
    ("/api/v1/serviceaccounts", "v1", "ServiceAccount"),
    ("/api/v1/limitranges", "v1", "LimitRange"),
    ("/api/v1/resourcequotas", "v1", "ResourceQuota"),
    (
        "/api/v1/replicationcontrollers",
        "v1",
        "ReplicationController",
    ),
    (
        "/api/v1/persistentvolumeclaims",
        "v1",
        "PersistentVolumeClaim",
    ),
    ("/api/v1/persistentvolumes", "v1", "PersistentVolume"),
    ("/apis/batch/v1/jobs", "batch/v1", "Job"),
    ("/apis/batch/v1/cronjobs", "batch/v1", "CronJob"),
    (
        "/apis/networking.k8s.io/v1/ingresses",
        "networking.k8s.io/v1",
        "Ingress",
    ),
    (
        "/apis/networking.k8s.io/v1/ingressclasses",
        "networking.k8s.io/v1",
        "IngressClass",
    ),
    (
        "/apis/networking.k8s.io/v1/networkpolicies",
        "networking.k8s.io/v1",
        "NetworkPolicy",
    ),
    (
        "/apis/autoscaling/v2/horizontalpodautoscalers",
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
    ),
    (
        "/apis/storage.k8s.io/v1/storageclasses",
        "storage.k8s.io/v1",
        "StorageClass",
    ),
    (
        "/apis/scheduling.k8s.io/v1/priorityclasses",
        "scheduling.k8s.io/v1",
        "PriorityClass",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/roles",
        "rbac.authorization.k8s.io/v1",
        "Role",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
    ),
];

/// Objects a real cluster holds that the scenario fixtures do not: a leader-election lease
/// (`MicroTime` fields), a budget, a slice, a `StatefulSet` with a claim template and probes,
/// and one object of each further kind the table covers (in `pb-limits` where admission reads
/// it).
fn extra_objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "pb-controller", "namespace": "default"},
            "spec": {"holderIdentity": "pb-controller-7d9f8c6b5d-q4z7m", "leaseDurationSeconds": 40,
                "renewTime": "2026-12-04T21:16:27.123456Z"}}),
        json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "pb-web", "namespace": "default"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "pb-web"}}}}),
        json!({"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "pb-web-abcde", "namespace": "default",
                "labels": {"kubernetes.io/service-name": "pb-web"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": ["10.244.1.7"], "conditions": {"ready": true},
                "nodeName": "worker-pb", "targetRef": {"kind": "Pod", "name": "pb-web-0",
                "namespace": "default"}}],
            "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}]}),
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet",
            "metadata": {"name": "pb-db", "namespace": "default"},
            "spec": {"replicas": 1, "serviceName": "pb-db",
                "selector": {"matchLabels": {"app": "pb-db"}},
                "template": {"metadata": {"labels": {"app": "pb-db"}},
                    "spec": {"containers": [{"name": "db", "image": "postgres:16",
                        "readinessProbe": {"exec": {"command": ["pg_isready"]}, "periodSeconds": 5},
                        "livenessProbe": {"tcpSocket": {"port": 5432}},
                        "env": [{"name": "PGUSER", "valueFrom": {"configMapKeyRef": {"name": "pb-db", "key": "user"}}}],
                        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/postgresql"},
                            {"name": "scratch", "mountPath": "/tmp"}],
                        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}}}],
                        "volumes": [{"name": "scratch", "emptyDir": {}}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "data"},
                    "spec": {"accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}}}}]}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "pb-limits"}}),
        json!({"apiVersion": "v1", "kind": "LimitRange",
            "metadata": {"name": "pb-defaults", "namespace": "pb-limits"},
            "spec": {"limits": [{"type": "Container", "default": {"cpu": "500m"},
                "defaultRequest": {"cpu": "100m"}, "max": {"memory": "2Gi"}}]}}),
        json!({"apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "pb-quota", "namespace": "pb-limits"},
            "spec": {"hard": {"pods": "10", "requests.cpu": "4"}}}),
        json!({"apiVersion": "v1", "kind": "ReplicationController",
            "metadata": {"name": "pb-legacy", "namespace": "pb-limits"},
            "spec": {"replicas": 0, "selector": {"app": "pb-legacy"},
                "template": {"metadata": {"labels": {"app": "pb-legacy"}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]}}}}),
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "pb-lb", "namespace": "default"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "pb-web"},
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
                "externalTrafficPolicy": "Local"},
            "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pb-pv"},
            "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "pb-thin",
                "csi": {"driver": "csi.vsphere.vmware.com", "volumeHandle": "0d1f-4e2a"}}}),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "pb-data", "namespace": "default"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "pb-thin",
                "resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pb-pv"}}),
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "pb-thin"}, "provisioner": "csi.vsphere.vmware.com",
            "parameters": {"storagepolicyname": "vSAN Default"}, "reclaimPolicy": "Delete",
            "volumeBindingMode": "WaitForFirstConsumer", "allowVolumeExpansion": true}),
        json!({"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": "pb-backup", "namespace": "default"},
            "spec": {"schedule": "0 3 * * *", "suspend": true, "jobTemplate": {"spec": {
                "template": {"spec": {"restartPolicy": "OnFailure",
                    "containers": [{"name": "backup", "image": "busybox:1.36",
                        "args": ["sh", "-c", "echo backup"]}]}}}}}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": "pb-nginx"}, "spec": {"controller": "k8s.io/ingress-nginx"}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": "pb-web", "namespace": "default"},
            "spec": {"ingressClassName": "pb-nginx",
                "tls": [{"hosts": ["web.example.com"], "secretName": "pb-web-tls"}],
                "rules": [{"host": "web.example.com", "http": {"paths": [{"path": "/",
                    "pathType": "Prefix", "backend": {"service": {"name": "pb-lb",
                    "port": {"name": "http"}}}}]}}]}}),
        json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
            "metadata": {"name": "pb-deny", "namespace": "default"},
            "spec": {"podSelector": {"matchLabels": {"app": "pb-db"}}, "policyTypes": ["Ingress"],
                "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "pb-web"}}}],
                    "ports": [{"protocol": "TCP", "port": 5432}]}]}}),
        json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "pb-web", "namespace": "default"},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                    "name": "pb-web"},
                "minReplicas": 1, "maxReplicas": 5, "metrics": [{"type": "Resource",
                    "resource": {"name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 80}}}]}}),
        json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
            "metadata": {"name": "pb-critical"}, "value": 1_000_000,
            "description": "for the lab's protobuf test"}),
    ]
}

/// `value` without `null`s, empty strings, lists and objects: Go writes a zero `Time` as
/// `null`, an empty struct as `{}` and an empty string without `omitempty` as `""` in JSON,
/// and protobuf has no empty repeated field; the lab's decoder leaves them out (a Go client
/// reads the same zero values either way).
fn without_zero_values(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| (k, without_zero_values(v)))
                .filter(|(_, v)| {
                    !v.is_null() && *v != json!({}) && *v != json!("") && *v != json!([])
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_zero_values).collect()),
        other => other,
    }
}

fn get(lab: &TestLab, path: &str, accept: &str) -> Resp {
    request(lab.endpoint(), "GET", path, &[("Accept", accept)], b"")
}

/// Poll until the lab's resourceVersion holds still for a while (the controllers, scheduler and
/// kubelet have made their `ReplicaSets`, pods and events), with a deadline.
fn settle(lab: &TestLab) {
    let rv = || {
        get(lab, "/api/v1/events", "application/json").json()["metadata"]["resourceVersion"].clone()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut last = rv();
    let mut still_since = Instant::now();
    while still_since.elapsed() < Duration::from_millis(1500) {
        assert!(Instant::now() < deadline, "the lab never settled");
        std::thread::sleep(Duration::from_millis(100));
        let now = rv();
        if now != last {
            last = now;
            still_since = Instant::now();
        }
    }
}

/// Every object of every kind in [`KINDS`] encodes, decodes back to the same JSON, and the
/// lab's list answer is protobuf that decodes to its JSON answer. Returns the objects checked.
fn check_lab(lab: &TestLab, scenario: &str) -> usize {
    let mut checked = 0;
    for (path, api_version, kind) in KINDS {
        let json_answer = get(lab, path, "application/json").json();
        let items = json_answer["items"].as_array().cloned().unwrap_or_default();
        for item in &items {
            let mut obj = item.clone();
            obj["apiVersion"] = json!(api_version);
            obj["kind"] = json!(kind);
            let name = obj["metadata"]["name"].clone();
            let bytes = protobuf::encode(&obj)
                .unwrap_or_else(|| panic!("{scenario}: {kind} {name} falls back to JSON: {obj}"));
            let back = protobuf::decode(&bytes)
                .unwrap_or_else(|e| panic!("{scenario}: {kind} {name} does not decode: {e:?}"));
            assert_eq!(
                without_zero_values(back),
                without_zero_values(obj),
                "{scenario}: {kind} {name} changed in the round trip"
            );
            checked += 1;
        }
        let answer = get(lab, path, PROTO_FIRST);
        assert_eq!(
            answer.header("content-type"),
            Some("application/vnd.kubernetes.protobuf"),
            "{scenario}: {path} answered {}",
            answer.body
        );
        let decoded = protobuf::decode(&answer.raw)
            .unwrap_or_else(|e| panic!("{scenario}: {path} list does not decode: {e:?}"));
        assert_eq!(decoded["kind"], format!("{kind}List"));
        assert_eq!(
            decoded["items"].as_array().map_or(0, Vec::len),
            items.len(),
            "{scenario}: {path}"
        );
    }
    checked
}

#[test]
fn every_object_each_scenario_serves_is_answered_in_protobuf() {
    let mut scenarios: Vec<String> = runbook::lab::scenario::list()
        .unwrap_or_else(|e| panic!("scenarios: {e}"))
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    scenarios.push(runbook::lab::PRACTICE.to_owned());
    let mut total = 0;
    for scenario in &scenarios {
        let lab = start_with(scenario, extra_objects());
        settle(&lab);
        total += check_lab(&lab, scenario);
    }
    // Seven scenarios and the practice lab, each with nodes, pods, workloads and events.
    assert!(total > 150, "only {total} objects checked");
}

#[test]
fn workloads_kubectl_creates_are_answered_in_protobuf() {
    if !kubectl_available() {
        return;
    }
    let mut seed =
        vec![json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}})];
    seed.extend(extra_objects());
    let lab = start_with(runbook::lab::EMPTY, seed);
    lab.kubectl_ok(&[
        "create",
        "deployment",
        "web",
        "--image=nginx:1.27",
        "--replicas=2",
    ]);
    lab.kubectl_ok(&["create", "job", "once", "--image=busybox"]);
    lab.kubectl_ok(&["scale", "deployment", "web", "--replicas=3"]);
    settle(&lab);
    assert!(check_lab(&lab, "empty + kubectl create") >= 8);
}

#[test]
fn protoc_and_kubectl_read_the_pod_and_node_answers() {
    if !kubectl_available() || !crate::lab_wire::protoc_available() {
        return;
    }
    let lab = start_with("backup-stuck/restart-mgmt-pod", Vec::new());
    settle(&lab);
    let pod = get(
        &lab,
        "/api/v1/namespaces/hubble-system/pods/mgmt-f7f97f4fd-lds69",
        PROTO_FIRST,
    );
    assert_eq!(
        pod.header("content-type"),
        Some("application/vnd.kubernetes.protobuf")
    );
    let text = crate::lab_wire::decode_raw(&pod.raw);
    // runtime.Unknown{1 typeMeta, 2 raw: Pod{1 metadata{1 name, 3 namespace}, 2 spec, 3 status}}
    assert!(
        text.starts_with(
            "1 {\n  1: \"v1\"\n  2: \"Pod\"\n}\n2 {\n  1 {\n    1: \"mgmt-f7f97f4fd-lds69\"\n"
        ),
        "{text}"
    );
    // PodSpec.containers (2) {name (1), image (2)}; PodStatus.phase (1), podIP (6).
    assert!(
        text.contains("  2 {\n    2 {\n      1: \"mgmt\"\n"),
        "{text}"
    );
    assert!(text.contains("  3 {\n    1: \"Running\"\n"), "{text}");
    let pod_ip = lab.kubectl_ok(&[
        "get",
        "pod",
        "-n",
        "hubble-system",
        "mgmt-f7f97f4fd-lds69",
        "-o",
        "jsonpath={.status.podIP}",
    ]);
    assert!(text.contains(&format!("    6: \"{pod_ip}\"\n")), "{text}");
    let node = get(
        &lab,
        "/api/v1/nodes/spectro-mgmt-cluster-cp-43978-dw858",
        PROTO_FIRST,
    );
    let text = crate::lab_wire::decode_raw(&node.raw);
    // NodeStatus (3): capacity (1) entries {key, Quantity{string}}, nodeInfo (7) kernelVersion (4).
    assert!(
        text.contains("    1 {\n      1: \"cpu\"\n      2 {\n        1: \"8\"\n"),
        "{text}"
    );
    assert!(text.contains("    7 {\n"), "{text}");
    assert!(text.contains("      4: \"5.15.0-130-generic\"\n"), "{text}");
    // kubectl's typed clients (describe reads the object with protobuf first) read them.
    let described = lab.kubectl_ok(&[
        "describe",
        "pod",
        "-n",
        "hubble-system",
        "mgmt-f7f97f4fd-lds69",
    ]);
    for line in [
        "Name:         mgmt-f7f97f4fd-lds69\n",
        "Node:         spectro-mgmt-cluster-cp-43978-dw858/192.0.2.14\n",
        "Status:       Running\n",
        &format!("IP:           {pod_ip}\n"),
        "Controlled By:  ReplicaSet/mgmt-f7f97f4fd\n",
        "    Image:          gcr.io/spectro-images-public/release/hubble-mgmt:4.6.32\n",
        "    State:          Running\n",
        "    Ready:          True\n",
        "    Restart Count:  0\n",
        "  Ready             True \n",
        "QoS Class:          BestEffort\n",
        "Tolerations:        node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n",
    ] {
        assert!(
            described.contains(line),
            "{line:?} missing in:\n{described}"
        );
    }
    let described = lab.kubectl_ok(&["describe", "node", "spectro-mgmt-cluster-cp-43978-dw858"]);
    for line in [
        "Taints:             node-role.kubernetes.io/control-plane:NoSchedule\n",
        "  InternalIP:  192.0.2.14\n",
        "  Kernel Version:             5.15.0-130-generic\n",
        "  ephemeral-storage:  94580335255\n",
        "  Ready            True    ",
        "PodCIDR:                      192.168.2.0/24\n",
    ] {
        assert!(
            described.contains(line),
            "{line:?} missing in:\n{described}"
        );
    }
}

/// A small protobuf reader for the test's own watch client: `(field, payload)` of each
/// length-delimited field (other wire types are skipped).
fn fields(mut buf: &[u8]) -> Vec<(u64, &[u8])> {
    fn varint(buf: &mut &[u8]) -> u64 {
        let mut out = 0;
        for shift in (0..64).step_by(7) {
            let Some((&b, rest)) = buf.split_first() else {
                return out;
            };
            *buf = rest;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        out
    }
    let mut out = Vec::new();
    while !buf.is_empty() {
        let tag = varint(&mut buf);
        match tag & 7 {
            0 => {
                varint(&mut buf);
            }
            2 => {
                let len = usize::try_from(varint(&mut buf)).unwrap_or(usize::MAX);
                let (payload, rest) = buf.split_at(len.min(buf.len()));
                out.push((tag >> 3, payload));
                buf = rest;
            }
            other => panic!("unexpected wire type {other}"),
        }
    }
    out
}

/// The events of a protobuf watch body: each frame a 4-byte big-endian length and a
/// `metav1.WatchEvent{1 type, 2 RawExtension{1 raw}}` whose raw is an enveloped object.
fn watch_events(mut body: &[u8]) -> Vec<(String, Value)> {
    let mut events = Vec::new();
    while !body.is_empty() {
        let (len, rest) = body.split_at(4);
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (frame, rest) = rest.split_at(len);
        body = rest;
        let mut kind = String::new();
        let mut object = Value::Null;
        for (n, payload) in fields(frame) {
            match n {
                1 => kind = String::from_utf8_lossy(payload).into_owned(),
                2 => {
                    for (m, raw) in fields(payload) {
                        if m == 1 {
                            assert!(raw.starts_with(b"k8s\0"), "object without envelope");
                            object = protobuf::decode(raw)
                                .unwrap_or_else(|e| panic!("watch object: {e:?}"));
                        }
                    }
                }
                _ => {}
            }
        }
        events.push((kind, object));
    }
    events
}

#[test]
fn watches_asked_in_protobuf_stream_length_delimited_watch_events() {
    let class = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
        "metadata": {"name": "gvisor"}, "handler": "runsc"});
    let lab = start_with("backup-stuck/restart-mgmt-pod", vec![class]);
    settle(&lab);
    let path = "/api/v1/namespaces/hubble-system/pods";
    let list = get(&lab, path, "application/json").json();
    let rv = list["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let watch = |query: &str, accept: &str| {
        get(
            &lab,
            &format!("{path}?watch=true&timeoutSeconds=1{query}"),
            accept,
        )
    };
    let answer = watch("", "application/vnd.kubernetes.protobuf;stream=watch");
    assert_eq!(
        answer.header("content-type"),
        Some("application/vnd.kubernetes.protobuf;stream=watch")
    );
    let events = watch_events(&answer.raw);
    let items = list["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), items.len());
    for ((kind, object), item) in events.iter().zip(&items) {
        assert_eq!(kind, "ADDED");
        let mut want = item.clone();
        want["apiVersion"] = json!("v1");
        want["kind"] = json!("Pod");
        assert_eq!(
            without_zero_values(object.clone()),
            without_zero_values(want)
        );
    }
    // What happens after a resourceVersion: the deleted pod and its replacement.
    let deleted = lab.kubectl_ok(&[
        "delete",
        "pod",
        "-n",
        "hubble-system",
        "mgmt-f7f97f4fd-lds69",
        "--wait=false",
    ]);
    assert_eq!(deleted, "pod \"mgmt-f7f97f4fd-lds69\" deleted\n");
    let later = watch(
        &format!("&resourceVersion={rv}"),
        "application/vnd.kubernetes.protobuf,application/json",
    );
    let events = watch_events(&later.raw);
    let seen: Vec<(&str, &str)> = events
        .iter()
        .map(|(k, o)| {
            (
                k.as_str(),
                o["metadata"]["name"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        seen.iter()
            .any(|(k, n)| *k == "MODIFIED" && *n == "mgmt-f7f97f4fd-lds69"),
        "{seen:?}"
    );
    assert!(
        seen.iter().any(|(k, n)| *k == "ADDED"
            && n.starts_with("mgmt-f7f97f4fd-")
            && *n != "mgmt-f7f97f4fd-lds69"),
        "{seen:?}"
    );
    // events.k8s.io/v1 Events stream with their own field numbers.
    let new_events = get(
        &lab,
        "/apis/events.k8s.io/v1/namespaces/hubble-system/events?watch=true&timeoutSeconds=1",
        "application/vnd.kubernetes.protobuf;stream=watch",
    );
    let events = watch_events(&new_events.raw);
    assert!(!events.is_empty());
    assert!(
        events
            .iter()
            .all(|(_, o)| o["apiVersion"] == "events.k8s.io/v1"
                && o["regarding"]["kind"].is_string())
    );
    // JSON where JSON comes first, and for kinds the table does not cover.
    let json_watch = watch("", "application/json");
    assert_eq!(json_watch.header("content-type"), Some("application/json"));
    assert!(
        json_watch
            .body
            .starts_with("{\"type\":\"ADDED\",\"object\":{"),
        "{}",
        json_watch.body
    );
    let classes = get(
        &lab,
        "/apis/node.k8s.io/v1/runtimeclasses?watch=true&timeoutSeconds=1",
        "application/vnd.kubernetes.protobuf;stream=watch",
    );
    assert_eq!(classes.header("content-type"), Some("application/json"));
    assert!(
        classes.body.contains("\"name\":\"gvisor\""),
        "{}",
        classes.body
    );
}

/// An object met later that the table cannot encode (the lab stores a number where a config
/// map's data holds strings, which a real server refuses) ends a protobuf watch with an ERROR
/// event, 410 Expired, so that the client lists again.
#[test]
fn a_protobuf_watch_meeting_an_object_it_cannot_encode_ends_with_410() {
    let lab = start_with("backup-stuck/restart-mgmt-pod", Vec::new());
    let maps = "/api/v1/namespaces/default/configmaps";
    let map_rv = get(&lab, maps, "application/json").json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    for map in [
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "fine"}, "data": {"a": "b"}}),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "odd"}, "data": {"a": 1}}),
    ] {
        let body = map.to_string();
        let created = request(
            lab.endpoint(),
            "POST",
            maps,
            &[
                ("Content-Type", "application/json"),
                ("Accept", "application/json"),
            ],
            body.as_bytes(),
        );
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let watched = get(
        &lab,
        &format!("{maps}?watch=true&timeoutSeconds=5&resourceVersion={map_rv}"),
        "application/vnd.kubernetes.protobuf;stream=watch",
    );
    let events = watch_events(&watched.raw);
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(events[0].0, "ADDED");
    assert_eq!(events[0].1["metadata"]["name"], "fine");
    assert_eq!(events[1].0, "ERROR");
    assert_eq!(events[1].1["kind"], "Status");
    assert_eq!(events[1].1["code"], 410);
}

#[test]
fn kubectl_events_watches_in_protobuf_and_get_watches_in_json() {
    if !kubectl_available() {
        return;
    }
    let lab = start_with("backup-stuck/restart-mgmt-pod", Vec::new());
    settle(&lab);
    let out = lab.cache.path().join("events-w.out");
    let log = lab.cache.path().join("events-w.err");
    let spawn = |args: &[&str], out: &std::path::Path, err: &std::path::Path| {
        std::process::Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", lab.kubeconfig())
            .env("KUBECACHEDIR", lab.cache.path())
            .env("HOME", lab.cache.path())
            .stdout(std::fs::File::create(out).unwrap_or_else(|e| panic!("{e}")))
            .stderr(std::fs::File::create(err).unwrap_or_else(|e| panic!("{e}")))
            .spawn()
            .unwrap_or_else(|e| panic!("kubectl: {e}"))
    };
    let wait_for = |file: &std::path::Path, what: &dyn Fn(&str) -> bool| {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = std::fs::read_to_string(file).unwrap_or_default();
            if what(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "timed out; got:\n{text}");
            std::thread::sleep(Duration::from_millis(100));
        }
    };
    let mut events = spawn(&["events", "-n", "hubble-system", "-w", "-v=8"], &out, &log);
    let watch_log = lab.cache.path().join("get-w.out");
    let mut pods = spawn(
        &["get", "pods", "-n", "hubble-system", "-w"],
        &watch_log,
        &lab.cache.path().join("get-w.err"),
    );
    wait_for(&log, &|t| t.contains("watch=true"));
    wait_for(&watch_log, &|t| t.contains("mgmt-f7f97f4fd-lds69"));
    lab.kubectl_ok(&[
        "delete",
        "pod",
        "-n",
        "hubble-system",
        "mgmt-f7f97f4fd-lds69",
        "--wait=false",
    ]);
    // kubectl's typed events client decodes the protobuf frames: the Killing event of the
    // deleted pod and the ReplicaSet's SuccessfulCreate for its replacement.
    let text = wait_for(&out, &|t| {
        t.contains("Killing") && t.contains("SuccessfulCreate")
    });
    assert!(
        text.lines()
            .any(|l| l.contains("Killing") && l.contains("Pod/mgmt-f7f97f4fd-lds69")),
        "{text}"
    );
    // `kubectl get -w` (Tables in JSON) still sees the replacement.
    wait_for(&watch_log, &|t| {
        t.lines()
            .filter(|l| l.starts_with("mgmt-f7f97f4fd-"))
            .count()
            >= 3
    });
    let _ = events.kill();
    let _ = pods.kill();
    let _ = events.wait();
    let _ = pods.wait();
    // The watch was answered as a protobuf stream (-v=8 logs the response headers).
    let stderr = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(
        stderr.contains("Content-Type: application/vnd.kubernetes.protobuf;stream=watch"),
        "{stderr}"
    );
}
