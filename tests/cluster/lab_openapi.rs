//! The lab's `/openapi/v3` documents have the shapes kubectl reads (issue 13 §1): a root that
//! names one document per served group-version (CRDs' too), and group-version documents whose
//! `components.schemas` hold each kind, its list kind and the types they use, tagged with
//! `x-kubernetes-group-version-kind`, with an operation per resource that lists
//! `fieldValidation`; and `/openapi/v2` as JSON or, as kubectl asks for it, gnostic protobuf.
//! Enum fields carry the upstream `enum` and "Possible enum values:" paragraph, and the real
//! kubectl prints them. More of `kubectl explain`'s own output (v3 and `plaintext-openapiv2`)
//! is in the battery (`lab_battery`).

use crate::lab_support::http::{Endpoint, Resp, get, request};
use crate::lab_support::{kubectl_available, start, stdout};
use serde_json::{Value, json};

fn gvk_of(schema: &Value) -> Option<&Value> {
    schema["x-kubernetes-group-version-kind"]
        .as_array()
        .and_then(|a| a.first())
}

/// The group-version document the root points to for `path`.
fn document(to: &Endpoint, root: &Value, path: &str) -> Value {
    let url = root["paths"][path]["serverRelativeURL"]
        .as_str()
        .unwrap_or_else(|| panic!("root lacks {path}: {root}"));
    assert!(
        url.starts_with(&format!("/openapi/v3/{path}?hash=")),
        "{url}"
    );
    let r = get(to, url);
    assert_eq!(r.status, 200, "{url}: {}", r.body);
    r.json()
}

#[test]
fn openapi_v3_documents_have_real_schemas_with_their_kinds() {
    let lab = start(runbook::lab::PRACTICE);
    let to = &lab.endpoint();
    let r = get(to, "/openapi/v3");
    assert_eq!(r.status, 200);
    let root = r.json();
    for p in [
        "api/v1",
        "apis/apps/v1",
        "apis/batch/v1",
        "apis/rbac.authorization.k8s.io/v1",
        "apis/ipam.cluster.x-k8s.io/v1alpha1",
    ] {
        assert!(root["paths"][p].is_object(), "root lacks {p}");
    }

    let core = document(to, &root, "api/v1");
    let schemas = &core["components"]["schemas"];
    let pod = &schemas["io.k8s.api.core.v1.Pod"];
    assert_eq!(
        gvk_of(pod),
        Some(&json!({"group": "", "kind": "Pod", "version": "v1"}))
    );
    assert_eq!(
        gvk_of(&schemas["io.k8s.api.core.v1.PodList"]),
        Some(&json!({"group": "", "kind": "PodList", "version": "v1"}))
    );
    // A field with a type of its own refers to it through allOf, with its own description.
    let spec = &pod["properties"]["spec"];
    assert_eq!(
        spec["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.api.core.v1.PodSpec"
    );
    assert!(spec["description"].as_str().is_some_and(|d| !d.is_empty()));
    // metadata is not required, as in the API.
    assert!(
        !pod["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("metadata")))
    );
    // Every type referred to is in the document.
    let text = core.to_string();
    for name in text
        .split("\"#/components/schemas/")
        .skip(1)
        .filter_map(|s| s.split('"').next())
    {
        assert!(schemas[name].is_object(), "api/v1 lacks {name}");
    }
    let replicas =
        &schemas["io.k8s.api.core.v1.ReplicationControllerSpec"]["properties"]["replicas"];
    assert_eq!(replicas["type"], "integer");
    // The operation kubectl reads for server-side field validation.
    let patch = &core["paths"]["/api/v1/namespaces/{namespace}/pods/{name}"]["patch"];
    assert_eq!(
        patch["x-kubernetes-group-version-kind"],
        json!({"group": "", "kind": "Pod", "version": "v1"})
    );
    assert!(
        patch["parameters"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["name"] == "fieldValidation"))
    );

    let apps = document(to, &root, "apis/apps/v1");
    let deploy = &apps["components"]["schemas"]["io.k8s.api.apps.v1.Deployment"];
    assert_eq!(
        gvk_of(deploy),
        Some(&json!({"group": "apps", "kind": "Deployment", "version": "v1"}))
    );
    assert!(apps["components"]["schemas"]["io.k8s.api.core.v1.Pod"].is_null());

    // A CRD's own schema, with the fields the server adds.
    let ipam = document(to, &root, "apis/ipam.cluster.x-k8s.io/v1alpha1");
    let claim = &ipam["components"]["schemas"]["io.x-k8s.cluster.ipam.v1alpha1.IPClaim"];
    assert_eq!(
        gvk_of(claim),
        Some(&json!({"group": "ipam.cluster.x-k8s.io", "kind": "IPClaim", "version": "v1alpha1"}))
    );
    assert_eq!(claim["x-kubernetes-preserve-unknown-fields"], true);
    assert_eq!(
        claim["properties"]["metadata"]["allOf"][0]["$ref"],
        "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
    );
    assert!(
        ipam["components"]["schemas"]["io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"]
            .is_object()
    );

    assert_eq!(
        get(to, "/openapi/v3/apis/nosuch.example.com/v1").status,
        404
    );
}

#[test]
fn openapi_v2_answers_json_or_the_protobuf_kubectl_asks_for() {
    let lab = start(runbook::lab::PRACTICE);
    let to = &lab.endpoint();
    let r = get(to, "/openapi/v2");
    assert_eq!(r.status, 200);
    let doc = r.json();
    assert_eq!(doc["swagger"], "2.0");
    let pod = &doc["definitions"]["io.k8s.api.core.v1.Pod"];
    assert_eq!(
        gvk_of(pod),
        Some(&json!({"group": "", "kind": "Pod", "version": "v1"}))
    );
    // v2 keeps a described reference as `$ref` beside its description.
    assert_eq!(
        pod["properties"]["spec"]["$ref"],
        "#/definitions/io.k8s.api.core.v1.PodSpec"
    );
    assert!(pod["properties"]["spec"]["description"].is_string());
    assert!(doc["definitions"]["io.x-k8s.cluster.ipam.v1alpha1.IPClaim"].is_object());
    assert!(!doc.to_string().contains("#/components/schemas/"));

    let r = openapi_v2_protobuf(to);
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("Content-Type"),
        Some("application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    );
    // Document.swagger (field 1) = "2.0" comes first; the definitions' names follow.
    assert!(
        r.body.as_bytes().starts_with(b"\x0a\x032.0"),
        "{:?}",
        &r.body[..8]
    );
    assert!(r.body.contains("io.k8s.api.apps.v1.Deployment"));
}

/// What kubectl 1.32 prints for `explain pod.spec.containers.imagePullPolicy` against a v1.32
/// server: the `ENUM:` block from the schema's `enum`, then the description with the
/// upstream "Possible enum values:" paragraph (kubectl wraps it at 80 columns).
const IMAGE_PULL_POLICY: &str = "\
KIND:       Pod
VERSION:    v1

FIELD: imagePullPolicy <string>
ENUM:
    Always
    IfNotPresent
    Never

DESCRIPTION:
    Image pull policy. One of Always, Never, IfNotPresent. Defaults to Always if
    :latest tag is specified, or IfNotPresent otherwise. Cannot be updated. More
    info: https://kubernetes.io/docs/concepts/containers/images#updating-images
    
    Possible enum values:
     - `\"Always\"` means that kubelet always attempts to pull the latest image.
    Container will fail If the pull fails.
     - `\"IfNotPresent\"` means that kubelet pulls if the image isn't present on
    disk. Container will fail if the image isn't present and the pull fails.
     - `\"Never\"` means that kubelet never pulls an image, but only uses a local
    image. Container will fail if the image isn't present
    

";

#[test]
fn kubectl_explain_prints_enum_values_and_their_meanings() {
    if !kubectl_available() {
        return;
    }
    let lab = start(runbook::lab::PRACTICE);
    let explain = |args: &str| {
        let args: Vec<&str> = std::iter::once("explain").chain(args.split(' ')).collect();
        let out = lab.kubectl(&args);
        assert!(out.status.success(), "{args:?}: {out:?}");
        stdout(&out)
    };
    assert_eq!(
        explain("pod.spec.containers.imagePullPolicy"),
        IMAGE_PULL_POLICY
    );
    for (field, block, meanings) in [
        (
            "svc.spec.type",
            "FIELD: type <string>\nENUM:\n    ClusterIP\n    ExternalName\n    LoadBalancer\n    NodePort\n",
            &[
                " - `\"ClusterIP\"` means a service will only be accessible inside the cluster,\n",
                " - `\"NodePort\"` means a service will be exposed on one port of every node,\n",
            ][..],
        ),
        (
            "pod.spec.restartPolicy",
            "FIELD: restartPolicy <string>\nENUM:\n    Always\n    Never\n    OnFailure\n",
            // Upstream's constants have no comments: the values stand alone.
            &[
                "    Possible enum values:\n     - `\"Always\"`\n     - `\"Never\"`\n     - `\"OnFailure\"`\n",
            ],
        ),
        (
            "deploy.spec.strategy.type",
            "FIELD: type <string>\nENUM:\n    Recreate\n    RollingUpdate\n",
            &[" - `\"Recreate\"` Kill all existing pods before creating new ones.\n"],
        ),
    ] {
        let text = explain(field);
        assert!(text.contains(block), "explain {field}:\n{text}");
        for m in meanings {
            assert!(text.contains(m), "explain {field} lacks {m:?}:\n{text}");
        }
    }
    // The recursive view prints the values under the field.
    let recursive = explain("pod.spec.containers --recursive");
    assert!(
        recursive.contains("  imagePullPolicy\t<string>\n  enum: Always, IfNotPresent, Never\n"),
        "{recursive}"
    );
}

#[test]
fn openapi_v2_carries_the_enums_as_json_and_protobuf() {
    let lab = start(runbook::lab::PRACTICE);
    let to = &lab.endpoint();
    let doc = get(to, "/openapi/v2").json();
    let strategy =
        &doc["definitions"]["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"]["type"];
    assert_eq!(strategy["enum"], json!(["Recreate", "RollingUpdate"]));
    assert!(
        strategy["description"]
            .as_str()
            .is_some_and(|d| d.contains("\n\nPossible enum values:\n - `\"Recreate\"` Kill")),
        "{strategy}"
    );
    let r = openapi_v2_protobuf(to);
    assert_eq!(r.status, 200);
    // Schema.enum (field 20, bytes: 0xa2 0x01) holding an Any whose yaml (field 2) is the value.
    let recreate = b"\xa2\x01\x0b\x12\x09Recreate\n";
    assert!(
        r.raw.windows(recreate.len()).any(|w| w == recreate),
        "no enum value Recreate in the protobuf document"
    );
}

/// `GET /openapi/v2` as kubectl asks for it: gnostic protobuf.
fn openapi_v2_protobuf(to: impl Into<Endpoint>) -> Resp {
    request(
        to,
        "GET",
        "/openapi/v2",
        &[(
            "Accept",
            "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
        )],
        b"",
    )
}
