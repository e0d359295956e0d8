//! Raw HTTP against the lab: response shapes from the reference exchanges (discovery, encoding,
//! headers, lists, watches) and Kubernetes-style errors for bad requests, never a panic or hang.

use std::time::{Duration, Instant};

use crate::lab_support::http::{Endpoint, Resp, get, request};
use crate::lab_support::start;
use serde_json::{Value, json};

const TABLE: &str = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
/// How long a test waits for the lab to finish something it does in the background.
const SETTLE: Duration = Duration::from_secs(10);

/// Checks `done` every few milliseconds until it holds or [`SETTLE`] passes; whether it held.
fn eventually(mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + SETTLE;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";

#[test]
fn health_version_and_encoding_quirks() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let r = get(a, "/readyz");
    assert_eq!((r.status, r.body.as_str()), (200, "ok"));
    assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("X-Content-Type-Options"), Some("nosniff"));
    let r = get(a, "/livez?verbose");
    assert!(
        r.body.starts_with("[+]ping ok\n") && r.body.ends_with("livez check passed\n"),
        "{}",
        r.body
    );
    assert_eq!(get(a, "/healthz").body, "ok");
    let r = get(a, "/version?timeout=32s");
    assert!(
        r.body.starts_with("{\n  \"major\": \"1\",") && r.body.ends_with('}'),
        "{}",
        r.body
    );
    for h in ["Audit-Id", "Cache-Control", "Date", "Content-Type"] {
        assert!(r.header(h).is_some(), "missing {h}");
    }
    // Compact JSON with one trailing newline and Go's HTML escaping of table cells.
    let r = request(
        a,
        "GET",
        "/api/v1/namespaces/hubble-system/pods?limit=500",
        &[("Accept", TABLE)],
        b"",
    );
    assert!(
        r.body.ends_with("}\n") && !r.body.contains("\n{"),
        "compact"
    );
    assert!(
        r.body.contains("\"\\u003cnone\\u003e\""),
        "{}",
        &r.body[..300.min(r.body.len())]
    );
    assert_eq!(r.header("Content-Type"), Some("application/json"));
    // curl gets it indented, without the trailing newline.
    let r = request(
        a,
        "GET",
        "/api/v1/namespaces/kube-system",
        &[
            ("User-Agent", "curl/7.88.1"),
            ("Accept", "application/json"),
        ],
        b"",
    );
    assert!(
        r.body
            .starts_with("{\n  \"kind\": \"Namespace\",\n  \"apiVersion\": \"v1\",")
            && r.body.ends_with('}'),
        "{}",
        r.body
    );
}

#[test]
fn aggregated_discovery_lists_every_group_version_and_resource() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let api = get(a, "/api");
    assert!(api.json().get("apiVersion").is_none());
    assert_eq!(api.json()["versions"], json!(["v1"]));
    // kubectl 1.32 asks for aggregated discovery first, and a 1.32 server gives it: every
    // group, version and resource in one answer.
    let agg = request(a, "GET", "/apis", &[("Accept", AGGREGATED)], b"");
    assert_eq!(agg.status, 200);
    assert_eq!(
        agg.header("Content-Type"),
        Some("application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList")
    );
    let doc = agg.json();
    assert_eq!(doc["kind"], "APIGroupDiscoveryList");
    let apps = doc["items"]
        .as_array()
        .and_then(|i| i.iter().find(|g| g["metadata"]["name"] == "apps"))
        .cloned()
        .unwrap_or_default();
    let deploy = apps["versions"][0]["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["resource"] == "deployments"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(deploy["shortNames"], json!(["deploy"]));
    assert_eq!(deploy["scope"], "Namespaced");
    assert_eq!(deploy["subresources"][0]["responseKind"]["kind"], "Scale");
    let core = request(a, "GET", "/api", &[("Accept", AGGREGATED)], b"").json();
    assert_eq!(core["items"][0]["versions"][0]["version"], "v1");
    assert!(core["items"][0]["metadata"].get("name").is_none());
}

/// The legacy documents without the aggregated media type; 406 for a type it cannot give.
#[test]
fn legacy_discovery_documents_and_their_errors() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let plain = get(a, "/apis").json();
    assert_eq!(plain["kind"], "APIGroupList");
    let groups: Vec<&str> = plain["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| g["name"].as_str())
        .collect();
    for g in [
        "apps",
        "batch",
        "rbac.authorization.k8s.io",
        "policy",
        "networking.k8s.io",
        "storage.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
    ] {
        assert!(groups.contains(&g), "{g} missing: {groups:?}");
    }
    let only = request(a, "GET", "/apis", &[("Accept", "text/html")], b"");
    assert_eq!(
        (only.status, only.json()["reason"].clone()),
        (406, json!("NotAcceptable"))
    );
    let missing = get(a, "/apis/nosuch.example.io/v1");
    assert_eq!(
        (missing.status, missing.body.as_str()),
        (404, "404 page not found\n")
    );
    let v1 = get(a, "/api/v1").json();
    let pods = v1["resources"]
        .as_array()
        .and_then(|r| r.iter().find(|r| r["name"] == "pods"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(pods["shortNames"], json!(["po"]));
    let ipam = get(a, "/apis/ipam.cluster.x-k8s.io/v1alpha1").json();
    assert_eq!(ipam["groupVersion"], "ipam.cluster.x-k8s.io/v1alpha1");
    assert_eq!(
        ipam["resources"][0]["verbs"],
        json!([
            "delete",
            "deletecollection",
            "get",
            "list",
            "patch",
            "create",
            "update",
            "watch"
        ])
    );
}

#[test]
fn a_crd_created_through_the_api_is_served_at_once() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let crd = json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster",
                 "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wg"]},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
                               "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}]}]}
    });
    let r = request(
        a,
        "POST",
        "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
        &[("Content-Type", "application/json")],
        crd.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(get(a, "/apis").body.contains("\"example.com\""));
    assert_eq!(
        get(a, "/apis/example.com/v1").json()["resources"][0]["kind"],
        "Widget"
    );
    let w = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w1"}, "spec": {"size": 3}});
    let r = request(
        a,
        "POST",
        "/apis/example.com/v1/widgets",
        &[("Content-Type", "application/json")],
        w.to_string().as_bytes(),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.json()["metadata"]["generation"], 1);
    let t = request(
        a,
        "GET",
        "/apis/example.com/v1/widgets?limit=500",
        &[("Accept", TABLE)],
        b"",
    )
    .json();
    assert_eq!(t["columnDefinitions"][1]["name"], "Size");
    assert_eq!(t["rows"][0]["cells"], json!(["w1", 3]));
}

#[test]
fn lists_selectors_and_pagination() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let l = get(a, "/api/v1/pods").json();
    assert_eq!(
        (l["kind"].clone(), l["apiVersion"].clone()),
        (json!("PodList"), json!("v1"))
    );
    assert!(
        l["metadata"]["resourceVersion"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    let total = l["items"].as_array().map_or(0, Vec::len);
    let mut seen = 0;
    let mut path = "/api/v1/pods?limit=2".to_owned();
    loop {
        let page = get(a, &path).json();
        seen += page["items"].as_array().map_or(0, Vec::len);
        match page["metadata"]["continue"].as_str() {
            Some(c) => path = format!("/api/v1/pods?limit=2&continue={c}"),
            None => break,
        }
    }
    assert_eq!(seen, total);
    let ok = |path: &str| get(a, path).json()["items"].as_array().map_or(0, Vec::len);
    assert_eq!(
        ok("/api/v1/pods?fieldSelector=metadata.namespace%3Dmetallb-system"),
        3
    );
    assert_eq!(
        ok(
            "/api/v1/pods?fieldSelector=spec.nodeName%3D%3Dspectro-mgmt-cluster-cp-dt44d,status.phase%21%3DRunning"
        ),
        2
    );
    assert_eq!(
        ok("/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%20in%20(calico-node,x)"),
        3
    );
    assert_eq!(
        ok("/api/v1/namespaces/kube-system/pods?labelSelector=k8s-app%20notin%20(calico-node)"),
        0
    );
    assert_eq!(
        // mgmt, auth, system (backup-stuck) and mongo-2 (cns-mapping)
        ok("/api/v1/namespaces/hubble-system/pods?labelSelector=app,!nothing,app!%3Dui"),
        4
    );
    assert_eq!(ok("/api/v1/namespaces/nope/pods"), 0);
    let bad = |path: &str| {
        let r = get(a, path);
        (
            r.status,
            r.json()["message"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert_eq!(
        bad("/api/v1/pods?fieldSelector=spec.foo%3Dbar"),
        (400, "field label not supported: spec.foo".into())
    );
    assert_eq!(
        bad("/api/v1/nodes?fieldSelector=status.phase%21%3DRunning"),
        (400, "field label not supported: status.phase".into())
    );
    assert_eq!(
        bad("/api/v1/namespaces/kube-system/configmaps?fieldSelector=status.phase%21%3DRunning"),
        (400, "\"status.phase\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\"".into())
    );
    assert_eq!(
        bad("/api/v1/pods?labelSelector=app%20in%20hubble"),
        (
            400,
            "unable to parse requirement: found 'hubble' expected: '('".into()
        )
    );
}

/// The headers of a JSON write.
const JSON_CT: [(&str, &str); 2] = [
    ("Content-Type", "application/json"),
    ("Accept", "application/json"),
];

/// Creates namespace `demo` as `kubectl create` does.
fn create_demo(a: &Endpoint) -> Resp {
    request(
        a,
        "POST",
        "/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict",
        &JSON_CT,
        br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"demo"}}"#,
    )
}

#[test]
fn creates_and_their_errors() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let json_ct = JSON_CT;
    let ns = create_demo(a);
    assert_eq!(ns.status, 201);
    let ns = ns.json();
    assert_eq!(
        ns["metadata"]["labels"]["kubernetes.io/metadata.name"],
        "demo"
    );
    assert_eq!(ns["spec"]["finalizers"], json!(["kubernetes"]));
    assert!(ns["metadata"]["uid"].is_string() && ns["metadata"]["creationTimestamp"].is_string());
    let again = request(
        a,
        "POST",
        "/api/v1/namespaces",
        &json_ct,
        br#"{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"demo"}}"#,
    );
    assert_eq!(
        (
            again.status,
            again.json()["reason"].clone(),
            again.json()["details"]["kind"].clone()
        ),
        (409, json!("AlreadyExists"), json!("namespaces"))
    );
    let malformed = request(
        a,
        "POST",
        "/api/v1/namespaces/demo/pods",
        &json_ct,
        br#"{"apiVersion":"v1","kind":"Pod","#,
    );
    assert_eq!(
        (malformed.status, malformed.json()["reason"].clone()),
        (400, json!("BadRequest"))
    );
    let invalid = request(a, "POST", "/api/v1/namespaces/demo/pods", &json_ct, br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"Bad_Name","namespace":"demo"},"spec":{"containers":[]}}"#);
    assert_eq!(invalid.status, 422);
    assert_eq!(
        invalid.json()["details"]["causes"].as_array().map(Vec::len),
        Some(2)
    );
    let mismatch = request(a, "POST", "/api/v1/namespaces/hubble-system/pods", &json_ct, br#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web","namespace":"demo"},"spec":{"containers":[{"name":"c","image":"nginx"}]}}"#);
    assert_eq!(mismatch.status, 400);
    let unknown = get(a, "/api/v1/namespaces/default/foos");
    assert_eq!(
        (unknown.status, unknown.json()["message"].clone()),
        (
            404,
            json!("the server could not find the requested resource")
        )
    );
    let missing = get(a, "/api/v1/namespaces/hubble-system/pods/does-not-exist");
    assert_eq!(
        missing.json()["message"],
        "pods \"does-not-exist\" not found"
    );
    // Huge bodies are refused with a Status.
    let huge = vec![b' '; 4 * 1024 * 1024];
    let r = request(a, "POST", "/api/v1/namespaces", &json_ct, &huge);
    assert_eq!((r.status, r.json()["code"].clone()), (413, json!(413)));
}

#[test]
fn patch_flavours_and_stale_puts() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let json_ct = JSON_CT;
    assert_eq!(create_demo(a).status, 201);
    let p = request(
        a,
        "PATCH",
        "/api/v1/namespaces/demo",
        &[("Content-Type", "application/json")],
        br#"{"metadata":{"labels":{"x":"y"}}}"#,
    );
    assert_eq!(
        (p.status, p.json()["reason"].clone()),
        (415, json!("UnsupportedMediaType"))
    );
    let p = request(
        a,
        "PATCH",
        "/api/v1/namespaces/demo?fieldManager=kubectl-label",
        &[("Content-Type", "application/merge-patch+json")],
        br#"{"metadata":{"labels":{"x":"y"}}}"#,
    );
    assert_eq!(p.json()["metadata"]["labels"]["x"], "y");
    let p = request(
        a,
        "PATCH",
        "/api/v1/namespaces/demo",
        &[("Content-Type", "application/json-patch+json")],
        br#"[{"op":"add","path":"/metadata/annotations","value":{"note":"x"}}]"#,
    );
    assert_eq!(p.json()["metadata"]["annotations"]["note"], "x");
    let p = request(
        a,
        "PATCH",
        "/api/v1/namespaces/demo",
        &[("Content-Type", "application/strategic-merge-patch+json")],
        br#"{"metadata":{"labels":{"x":null}}}"#,
    );
    assert!(p.json()["metadata"]["labels"].get("x").is_none());
    let cr = request(
        a,
        "PATCH",
        "/apis/ipam.cluster.x-k8s.io/v1alpha1/namespaces/spectro-mgmt/ipclaims/spectro-mgmt-cluster",
        &[("Content-Type", "application/strategic-merge-patch+json")],
        b"{}",
    );
    assert_eq!(cr.status, 415);
    // PUT with a stale resourceVersion.
    let mut stale = p.json();
    stale["metadata"]["resourceVersion"] = json!("1");
    let put = request(
        a,
        "PUT",
        "/api/v1/namespaces/demo",
        &json_ct,
        stale.to_string().as_bytes(),
    );
    assert_eq!(
        (put.status, put.json()["reason"].clone()),
        (409, json!("Conflict"))
    );
}

/// Deletes: pods answer the object, CRs a Status, collections the list.
#[test]
fn deletes_answer_by_kind() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let json_ct = JSON_CT;
    let del = request(
        a,
        "DELETE",
        "/apis/ipam.cluster.x-k8s.io/v1alpha1/namespaces/spectro-mgmt/ipclaims/spectro-mgmt-cluster-cp-qx4vw-0",
        &json_ct,
        br#"{"propagationPolicy":"Background"}"#,
    );
    assert_eq!(
        (del.json()["kind"].clone(), del.json()["status"].clone()),
        (json!("Status"), json!("Success"))
    );
    let del = request(
        a,
        "DELETE",
        "/api/v1/namespaces/default/pods/upgrade-pod",
        &json_ct,
        br#"{"propagationPolicy":"Background"}"#,
    );
    assert_eq!(del.json()["kind"], "Pod");
    assert_eq!(
        get(a, "/api/v1/namespaces/default/pods/upgrade-pod").status,
        404
    );
    let del = request(
        a,
        "DELETE",
        "/api/v1/namespaces/jet-system/pods?labelSelector=app%3Dnone",
        &json_ct,
        b"",
    );
    assert_eq!(
        (del.json()["kind"].clone(), del.json()["items"].clone()),
        (json!("PodList"), json!([]))
    );
}

#[test]
fn a_deleted_namespace_goes_terminating_then_away_with_its_objects() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let json_ct = JSON_CT;
    let del = request(a, "DELETE", "/api/v1/namespaces/jet-system", &json_ct, b"");
    assert_eq!(del.json()["status"]["phase"], "Terminating");
    let t = request(
        a,
        "GET",
        "/api/v1/namespaces/jet-system",
        &[("Accept", TABLE)],
        b"",
    )
    .json();
    assert_eq!(t["rows"][0]["cells"][1], "Terminating");
    assert!(
        eventually(|| get(a, "/api/v1/namespaces/jet-system").status == 404),
        "the terminating namespace is still there after {SETTLE:?}"
    );
    assert_eq!(get(a, "/api/v1/namespaces/jet-system").status, 404);
    assert!(lab.handle.list("Pod", Some("jet-system")).is_empty());
}

#[test]
fn graceful_pod_deletion_shows_terminating_then_goes() {
    let lab = start("backup-stuck/restart-mgmt-pod");
    let a = &lab.endpoint();
    let del = request(
        a,
        "DELETE",
        "/api/v1/namespaces/hubble-system/pods/ui-7c4d8e9f6b-m2n7q",
        &[("Content-Type", "application/json")],
        br#"{"propagationPolicy":"Background"}"#,
    );
    let pod = del.json();
    assert!(pod["metadata"]["deletionTimestamp"].is_string());
    assert_eq!(pod["metadata"]["deletionGracePeriodSeconds"], 30);
    let t = request(
        a,
        "GET",
        "/api/v1/namespaces/hubble-system/pods/ui-7c4d8e9f6b-m2n7q",
        &[("Accept", TABLE)],
        b"",
    )
    .json();
    assert_eq!(t["rows"][0]["cells"][2], "Terminating");
    let pod = "/api/v1/namespaces/hubble-system/pods/ui-7c4d8e9f6b-m2n7q";
    assert!(
        eventually(|| get(a, pod).status == 404),
        "the terminating pod is still there after {SETTLE:?}"
    );
    assert_eq!(get(a, pod).status, 404);
}

#[test]
fn watches_replay_from_resource_versions() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let rv = get(a, "/api/v1/namespaces/metallb-system/pods").json()["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let r = request(
        a,
        "PATCH",
        "/api/v1/namespaces/metallb-system/pods/lb-metallb-helm-metallb-full-speaker-abcde",
        &[("Content-Type", "application/merge-patch+json")],
        br#"{"metadata":{"labels":{"tier":"edge"}}}"#,
    );
    assert_eq!(r.status, 200);
    let started = Instant::now();
    let w = get(
        a,
        &format!(
            "/api/v1/namespaces/metallb-system/pods?watch=true&resourceVersion={rv}&timeoutSeconds=1"
        ),
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    let events: Vec<Value> = w
        .body
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(events.len(), 1, "{}", w.body);
    assert_eq!(events[0]["type"], "MODIFIED");
    let w = get(
        a,
        "/api/v1/namespaces/metallb-system/pods?watch=true&resourceVersion=0&timeoutSeconds=1",
    );
    assert_eq!(
        w.body.lines().filter(|l| l.contains("\"ADDED\"")).count(),
        3
    );
    let w = request(
        a,
        "GET",
        &format!(
            "/api/v1/namespaces/metallb-system/pods?watch=true&resourceVersion={rv}&timeoutSeconds=1"
        ),
        &[("Accept", TABLE)],
        b"",
    );
    let first: Value =
        serde_json::from_str(w.body.lines().next().unwrap_or_default()).unwrap_or_default();
    assert_eq!(first["object"]["kind"], "Table");
    assert!(first["object"]["columnDefinitions"].is_array());
    let w = get(
        a,
        "/api/v1/namespaces/metallb-system/pods?watch=true&resourceVersion=1",
    );
    let ev: Value = serde_json::from_str(w.body.trim()).unwrap_or_default();
    assert_eq!(
        (w.status, ev["type"].clone(), ev["object"]["code"].clone()),
        (200, json!("ERROR"), json!(410))
    );
}

#[test]
fn protobuf_namespace_create_from_kubectl_bytes() {
    let lab = start(runbook::lab::EMPTY);
    let body: &[u8] = &[
        0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, 0x4e, 0x61, 0x6d,
        0x65, 0x73, 0x70, 0x61, 0x63, 0x65, 0x12, 0x1c, 0x0a, 0x14, 0x0a, 0x04, 0x64, 0x65, 0x6d,
        0x6f, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38, 0x00, 0x42, 0x00,
        0x12, 0x00, 0x1a, 0x02, 0x0a, 0x00, 0x1a, 0x00, 0x22, 0x00,
    ];
    let r = request(
        lab.endpoint(),
        "POST",
        "/api/v1/namespaces?fieldManager=kubectl-create&fieldValidation=Strict",
        &[
            ("Content-Type", "application/vnd.kubernetes.protobuf"),
            (
                "Accept",
                "application/vnd.kubernetes.protobuf,application/json",
            ),
        ],
        body,
    );
    // Answered in protobuf, as the real server answers kubectl (reference exchange 081).
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.kubernetes.protobuf")
    );
    let created = runbook::lab::protobuf::decode(&r.raw).unwrap_or_default();
    assert_eq!(
        (r.status, created["metadata"]["name"].clone()),
        (201, json!("demo"))
    );
    let junk = request(
        lab.endpoint(),
        "POST",
        "/api/v1/namespaces",
        &[("Content-Type", "application/vnd.kubernetes.protobuf")],
        b"k8s\0\x0a\xff",
    );
    assert_eq!(junk.status, 400);
}

/// 1,000 clients at once: every one gets an answer, and the lab still serves afterwards.
#[test]
fn a_thousand_concurrent_clients() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let (addr, auth) = (
        a.addr,
        format!(
            "Authorization: Bearer {}\r\n",
            a.token.clone().unwrap_or_default()
        ),
    );
    let tls = tokio_rustls::TlsConnector::from(crate::lab_support::http::tls_client(
        a.ca_pem.as_deref().unwrap_or_default(),
    ));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let ok = rt.block_on(async move {
        let mut tasks = Vec::new();
        for i in 0..1000 {
            let (auth, tls) = (auth.clone(), tls.clone());
            tasks.push(tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                let Ok(tcp) = tokio::net::TcpStream::connect(addr).await else { return false };
                let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
                let Ok(mut s) = tls.connect(name, tcp).await else { return false };
                let path = if i % 2 == 0 { "/api/v1/pods?limit=500" } else { "/api/v1/namespaces/nope/foos" };
                let req = format!("GET {path} HTTP/1.1\r\nHost: lab\r\nAccept: application/json\r\n{auth}Connection: close\r\n\r\n");
                if s.write_all(req.as_bytes()).await.is_err() {
                    return false;
                }
                let mut buf = Vec::new();
                let read = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut buf)).await;
                read.is_ok() && (buf.starts_with(b"HTTP/1.1 200") || buf.starts_with(b"HTTP/1.1 404"))
            }));
        }
        let mut ok = 0;
        for t in tasks {
            if t.await.unwrap_or(false) {
                ok += 1;
            }
        }
        ok
    });
    assert_eq!(ok, 1000);
    assert!(started.elapsed() < Duration::from_secs(60));
    assert_eq!(get(a, "/readyz").body, "ok");
}

/// Odd paths, methods and bodies: every one gets an HTTP answer (no panic, no hang).
#[test]
fn odd_requests_always_get_an_answer() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let long = format!("/api/v1/namespaces/{}/pods", "x".repeat(10_000));
    let cases: Vec<(&str, String, &[u8])> = vec![
        ("GET", "/api/v1/namespaces//pods".into(), b""),
        ("GET", "/apis//".into(), b""),
        ("GET", "/api/v1/namespaces/%zz/pods".into(), b""),
        ("GET", long, b""),
        ("GET", "/api/v1/pods/extra/segments/here/too".into(), b""),
        ("GET", "/api/v1/pods?limit=abc&continue=!!!".into(), b""),
        (
            "GET",
            "/api/v1/pods?watch=true&resourceVersion=abc".into(),
            b"",
        ),
        ("POST", "/api/v1/namespaces".into(), b"[]"),
        ("POST", "/api/v1/namespaces".into(), b"null"),
        (
            "POST",
            "/api/v1/namespaces/default/pods".into(),
            b"{\"kind\":\"Namespace\"}",
        ),
        (
            "PUT",
            "/api/v1/namespaces/default".into(),
            b"{\"metadata\":7}",
        ),
        ("PATCH", "/api/v1/namespaces/default".into(), b"{{{"),
        ("DELETE", "/api/v1/nodes".into(), b"not json"),
        ("OPTIONS", "/api/v1/pods".into(), b""),
        (
            "GET",
            "/apis/ipam.cluster.x-k8s.io/v1alpha1/ipclaims/x".into(),
            b"",
        ),
    ];
    for (method, path, body) in cases {
        let ct = if method == "PATCH" {
            "application/merge-patch+json"
        } else {
            "application/json"
        };
        let r = request(
            a,
            method,
            &path,
            &[("Content-Type", ct), ("Accept", "application/json")],
            body,
        );
        assert!(
            (200..600).contains(&r.status),
            "{method} {}: no answer",
            &path[..path.len().min(80)]
        );
        if r.status >= 400 && r.header("Content-Type") == Some("application/json") {
            assert_eq!(r.json()["kind"], "Status", "{method} {path}");
        }
    }
    assert_eq!(get(a, "/readyz").body, "ok");
}

/// Wrongly shaped fields are a 400, not a crash: labels as a string, spec as a number.
#[test]
fn wrongly_shaped_objects_are_bad_requests() {
    let lab = start(runbook::lab::PRACTICE);
    let a = &lab.endpoint();
    let ct = [("Content-Type", "application/json")];
    for (path, body) in [
        (
            "/api/v1/namespaces",
            r#"{"metadata":{"name":"x","labels":"oops"}}"#,
        ),
        (
            "/api/v1/namespaces/default/pods",
            r#"{"metadata":{"name":"p"},"spec":7}"#,
        ),
        (
            "/api/v1/namespaces/default/pods",
            r#"{"metadata":{"name":"p"},"spec":{"containers":[{"name":"c","image":"i"}]},"status":"x"}"#,
        ),
        (
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            r#"{"metadata":{"name":"a.b"},"spec":"x"}"#,
        ),
    ] {
        let r = request(a, "POST", path, &ct, body.as_bytes());
        assert!(
            r.status == 400 || r.status == 422,
            "{path} {body}: {} {}",
            r.status,
            r.body
        );
    }
    let r = request(
        a,
        "PATCH",
        "/api/v1/namespaces/default",
        &[("Content-Type", "application/merge-patch+json")],
        br#"{"metadata":{"labels":"oops"}}"#,
    );
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(get(a, "/readyz").body, "ok");
}
