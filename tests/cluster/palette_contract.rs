//! The Palette stand-in and the client held to the real API's schemas.
//!
//! `tests/fixtures/palette/spec-excerpt.json` is transcribed from the public Swagger spec
//! (`spectrocloud/palette-sdk-go`, `api/spec/palette-apis-spec.json`; see its `source`): the
//! operations `runbook` uses and every definition they reach. Each answer of the stand-in is
//! checked against its operation's response schema, strictly: a field the spec does not declare
//! is an error, as is a wrong type, a missing required field or a value outside an enum. The
//! requests the client sends are checked too: their path and query parameters against the
//! operation's, the search body against `v1SearchFilterSummarySpec`, the key in the `ApiKey`
//! header the spec's security definition names.

use std::collections::BTreeSet;

use runbook::palette::config::{Overrides, Settings};
use runbook::palette::{Client, Variant};
use serde_json::Value;

use super::palette_support::{self as support, PROJECT};

fn spec() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/palette/spec-excerpt.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Every way `value` departs from `schema` (Swagger 2.0, `$ref` into `defs`), strictly.
fn violations(value: &Value, schema: &Value, defs: &Value, at: &str, out: &mut Vec<String>) {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.trim_start_matches("#/definitions/");
        let Some(def) = defs.get(name) else {
            out.push(format!("{at}: $ref {name} is not in the excerpt"));
            return;
        };
        return violations(value, def, defs, at, out);
    }
    if value.is_null() {
        if schema.get("x-nullable") != Some(&Value::Bool(true)) {
            out.push(format!("{at}: null where the spec does not allow it"));
        }
        return;
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        out.push(format!("{at}: {value} is not one of {allowed:?}"));
    }
    let ty = schema.get("type").and_then(Value::as_str).or_else(|| {
        (schema.get("properties").is_some() || schema.get("additionalProperties").is_some())
            .then_some("object")
    });
    match ty {
        Some("string") => match value.as_str() {
            None => out.push(format!("{at}: {value} is not a string")),
            Some(s) if schema.get("format").and_then(Value::as_str) == Some("date-time") => {
                if chrono::DateTime::parse_from_rfc3339(s).is_err() {
                    out.push(format!("{at}: {s} is not an RFC 3339 date-time"));
                }
            }
            Some(_) => {}
        },
        Some("integer") if !(value.is_i64() || value.is_u64()) => {
            out.push(format!("{at}: {value} is not an integer"));
        }
        Some("number") if !value.is_number() => {
            out.push(format!("{at}: {value} is not a number"));
        }
        Some("boolean") if !value.is_boolean() => {
            out.push(format!("{at}: {value} is not a boolean"));
        }
        Some("array") => match value.as_array() {
            None => out.push(format!("{at}: {value} is not an array")),
            Some(items) => {
                let item_schema = schema.get("items").cloned().unwrap_or(Value::Null);
                for (i, item) in items.iter().enumerate() {
                    violations(item, &item_schema, defs, &format!("{at}[{i}]"), out);
                }
            }
        },
        Some("object") => {
            let Some(map) = value.as_object() else {
                out.push(format!("{at}: {value} is not an object"));
                return;
            };
            let props = schema.get("properties").and_then(Value::as_object);
            for req in schema
                .get("required")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
            {
                if !map.contains_key(req) {
                    out.push(format!("{at}: required field `{req}` is missing"));
                }
            }
            for (k, v) in map {
                let field = format!("{at}.{k}");
                match (
                    props.and_then(|p| p.get(k)),
                    schema.get("additionalProperties"),
                ) {
                    (Some(s), _) => violations(v, s, defs, &field, out),
                    (None, Some(extra)) if extra.is_object() => {
                        violations(v, extra, defs, &field, out);
                    }
                    (None, Some(Value::Bool(true))) => {}
                    _ if props.is_none() => {}
                    _ => out.push(format!("{field}: not declared by the spec")),
                }
            }
        }
        _ => {}
    }
}

fn check(value: &Value, schema: &Value, defs: &Value, what: &str) {
    let mut out = Vec::new();
    violations(value, schema, defs, what, &mut out);
    assert!(
        out.is_empty(),
        "{what} departs from the spec:\n{}",
        out.join("\n")
    );
}

#[test]
fn the_validator_catches_what_it_must() {
    let spec = spec();
    let defs = &spec["definitions"];
    let schema = serde_json::json!({"$ref": "#/definitions/v1ProjectsMetadata"});
    let mut out = Vec::new();
    violations(
        &serde_json::json!({"items": [{"metadata": {"name": 1, "extra": true}}]}),
        &schema,
        defs,
        "x",
        &mut out,
    );
    assert_eq!(out.len(), 2, "{out:?}");
    out.clear();
    violations(&serde_json::json!({}), &schema, defs, "x", &mut out);
    assert!(out.iter().any(|o| o.contains("`items`")), "{out:?}");
}

/// The operation whose path template `path` fits, with its declared query parameters.
fn operation<'a>(spec: &'a Value, method: &str, path: &str) -> Option<(&'a str, BTreeSet<String>)> {
    let ops = spec["operations"].as_object()?;
    ops.iter().find_map(|(id, op)| {
        let template = op["path"].as_str()?;
        let fits = op["method"] == method && {
            let t: Vec<&str> = template.split('/').collect();
            let p: Vec<&str> = path.split('/').collect();
            t.len() == p.len()
                && t.iter()
                    .zip(&p)
                    .all(|(t, p)| t == p || (t.starts_with('{') && !p.is_empty()))
        };
        fits.then(|| {
            let query = op["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect();
            (id.as_str(), query)
        })
    })
}

async fn json(response: reqwest::Response) -> Value {
    let bytes = response.bytes().await.unwrap_or_default();
    serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)))
}

async fn get(
    url: &str,
    key: Option<&str>,
    project: Option<&str>,
    method: reqwest::Method,
    body: Option<&Value>,
) -> reqwest::Response {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::new();
    let mut req = client.request(method, url);
    if let Some(k) = key {
        req = req.header("ApiKey", k);
    }
    if let Some(p) = project {
        req = req.header("ProjectUid", p);
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_string());
    }
    req.send().await.unwrap_or_else(|e| panic!("{url}: {e}"))
}

/// The kubeconfig the stand-in's running cluster `edge-1` hands out.
fn edge_kubeconfig() -> String {
    runbook::palette::lab::kubeconfig_for("edge-1", "http://127.0.0.1:1", Some("t"))
}

/// A stand-in with `edge-1` running (its kubeconfig ready) and `edge-2` provisioning
/// (none yet, no health), answering to `key`.
async fn edge_standin(key: &str) -> runbook::palette::standin::StandIn {
    let mut provisioning = support::cluster("edge-2", 2, "Provisioning", None);
    provisioning.health = None;
    support::start(support::options(
        key,
        vec![
            support::cluster("edge-1", 1, "Running", Some(edge_kubeconfig())),
            provisioning,
        ],
    ))
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_answer_of_the_stand_in_fits_its_operation_schema() {
    let spec = spec();
    let defs = &spec["definitions"];
    assert_eq!(spec["securityDefinitions"]["ApiKey"]["name"], "ApiKey");
    assert_eq!(spec["securityDefinitions"]["ApiKey"]["in"], "header");
    let key = support::key();
    let standin = edge_standin(&key).await;
    let base = standin.url();
    let ops = &spec["operations"];
    let response_schema = |op: &str| ops[op]["responses"]["200"]["schema"].clone();
    let uid = runbook::palette::standin::uid(0x0c15, 1);

    // JSON operations.
    let cases: Vec<(&str, String, reqwest::Method, Option<Value>)> = vec![
        (
            "v1ProjectsMetadata",
            format!("{base}/v1/dashboard/projects/metadata"),
            reqwest::Method::GET,
            None,
        ),
        (
            "v1SpectroClustersSearchFilterSummary",
            format!("{base}/v1/dashboard/spectroclusters/search?limit=1"),
            reqwest::Method::POST,
            Some(runbook::palette::api::cluster_search_body()),
        ),
        (
            "v1OverlordsList",
            format!("{base}/v1/overlords"),
            reqwest::Method::GET,
            None,
        ),
        (
            "v1OverlordsUidGet",
            format!(
                "{base}/v1/overlords/{}",
                runbook::palette::standin::uid(0x0aa, 1)
            ),
            reqwest::Method::GET,
            None,
        ),
        (
            "v1EventsComponentsObjTypeUidList",
            format!("{base}/v1/events/components/spectrocluster/{uid}"),
            reqwest::Method::GET,
            None,
        ),
    ];
    for (op, url, method, body) in cases {
        let response = get(&url, Some(&key), None, method, body.as_ref()).await;
        assert_eq!(response.status(), 200, "{op}");
        let answer: Value = json(response).await;
        check(&answer, &response_schema(op), defs, op);
        if op == "v1SpectroClustersSearchFilterSummary" {
            // A second page, by the token of the first.
            let token = answer["listmeta"]["continue"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            assert!(!token.is_empty(), "{answer}");
            let next = get(
                &format!("{url}&continue={token}"),
                Some(&key),
                None,
                reqwest::Method::POST,
                body.as_ref(),
            )
            .await;
            let next = json(next).await;
            check(&next, &response_schema(op), defs, "second page");
            assert_eq!(next["items"][0]["metadata"]["name"], "edge-2");
            assert_eq!(next["listmeta"]["continue"], "");
        }
    }
}

/// The kubeconfig downloads: octet-stream with a Content-Disposition, 404 while not ready.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubeconfig_downloads_fit_their_operations_and_404_while_not_ready() {
    let spec = spec();
    let defs = &spec["definitions"];
    let ops = &spec["operations"];
    let key = support::key();
    let standin = edge_standin(&key).await;
    let base = standin.url();
    let kubeconfig = edge_kubeconfig();
    let uid = runbook::palette::standin::uid(0x0c15, 1);
    for (op, asset) in [
        ("v1SpectroClustersUidKubeConfig", "kubeconfig?frp=true"),
        ("v1SpectroClustersUidAdminKubeConfig", "adminKubeconfig"),
        (
            "v1SpectroClustersUidKubeConfigClientGet",
            "kubeconfigclient",
        ),
    ] {
        assert_eq!(ops[op]["produces"][0], "application/octet-stream");
        assert!(ops[op]["responses"]["200"]["headers"]["Content-Disposition"].is_object());
        let url = format!("{base}/v1/spectroclusters/{uid}/assets/{asset}");
        let response = get(&url, Some(&key), None, reqwest::Method::GET, None).await;
        assert_eq!(response.status(), 200, "{op}");
        assert_eq!(
            response.headers()["content-type"],
            "application/octet-stream"
        );
        assert!(response.headers().contains_key("content-disposition"));
        let bytes = response.bytes().await.unwrap_or_default();
        assert_eq!(String::from_utf8_lossy(&bytes), kubeconfig);
        let not_ready = format!(
            "{base}/v1/spectroclusters/{}/assets/{asset}",
            runbook::palette::standin::uid(0x0c15, 2)
        );
        let response = get(&not_ready, Some(&key), None, reqwest::Method::GET, None).await;
        assert_eq!(response.status(), 404);
        let body = json(response).await;
        check(
            &body,
            &serde_json::json!({"$ref": "#/definitions/V1Error"}),
            defs,
            "404 body",
        );
        assert_eq!(body["code"], "ResourceNotFound");
    }
}

/// Errors are `V1Error` bodies: no key, a denied project.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_are_v1_error_bodies() {
    let spec = spec();
    let defs = &spec["definitions"];
    let key = support::key();
    let standin = edge_standin(&key).await;
    let base = standin.url();
    let url = format!("{base}/v1/dashboard/projects/metadata");
    let unauthorized = get(&url, None, None, reqwest::Method::GET, None).await;
    assert_eq!(unauthorized.status(), 401);
    let body = json(unauthorized).await;
    check(
        &body,
        &serde_json::json!({"$ref": "#/definitions/V1Error"}),
        defs,
        "401 body",
    );
    let forbidden = get(
        &url,
        Some(&key),
        Some(support::DENIED_UID),
        reqwest::Method::GET,
        None,
    )
    .await;
    assert_eq!(forbidden.status(), 403);
    let body = json(forbidden).await;
    check(
        &body,
        &serde_json::json!({"$ref": "#/definitions/V1Error"}),
        defs,
        "403 body",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_sends_what_the_spec_declares() {
    let spec = spec();
    let defs = &spec["definitions"];
    let search = &spec["operations"]["v1SpectroClustersSearchFilterSummary"];
    let body_schema = search["parameters"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["in"] == "body"))
        .map(|p| p["schema"].clone())
        .unwrap_or_default();
    check(
        &runbook::palette::api::cluster_search_body(),
        &body_schema,
        defs,
        "search body",
    );

    let key = support::key();
    // 60 clusters: more than one page of 50.
    let clusters: Vec<_> = (1..=60)
        .map(|n| {
            support::cluster(
                &format!("c{n:02}"),
                n,
                "Running",
                Some(runbook::palette::lab::kubeconfig_for(
                    "c",
                    "http://127.0.0.1:1",
                    Some("t"),
                )),
            )
        })
        .collect();
    let standin = support::start(support::options(&key, clusters)).await;
    let settings = Settings::resolve(
        &|name| match name {
            "PALETTE_HOST" => Some(standin.url()),
            "PALETTE_API_KEY" => Some(key.clone()),
            _ => None,
        },
        &runbook::palette::PaletteConfig::default(),
        None,
        &Overrides {
            project: Some(PROJECT.to_owned()),
            ..Overrides::default()
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let client = Client::connect(settings)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let all = client.clusters().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 60);
    assert_eq!(all[59].name, "c60");
    client.gateways().await.unwrap_or_else(|e| panic!("{e}"));
    client
        .events(&all[0])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    for variant in [
        Variant::Default,
        Variant::Direct,
        Variant::Admin,
        Variant::Client,
    ] {
        client
            .kubeconfig(&all[0], variant)
            .await
            .unwrap_or_else(|e| panic!("{variant:?}: {e}"));
    }
    let log = standin.log();
    assert!(log.len() >= 8, "{log:#?}");
    for entry in &log {
        let (method, target) = entry.line.split_once(' ').unwrap_or_default();
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        let Some((op, declared)) = operation(&spec, method, path) else {
            panic!("{} is no operation of the spec excerpt", entry.line);
        };
        for (name, _) in form_urlencoded::parse(query.as_bytes()) {
            assert!(
                declared.contains(name.as_ref()),
                "{op}: query `{name}` is not declared"
            );
        }
        assert!(entry.headers.lines().any(|h| h == key), "{op}: no ApiKey");
        // Projects are listed in tenant scope; everything else in the project's.
        let scoped = op != "v1ProjectsMetadata";
        assert_eq!(entry.project.is_some(), scoped, "{}", entry.line);
    }
}
