//! `/openapi/v3`: the root (one document per group-version) and each group-version's document
//! with the real schemas of its kinds, so `kubectl explain` prints what a v1.32 server's schemas
//! make it print, and `kubectl create|apply` sees that the server validates fields.
//!
//! Where the schemas come from: k8s-openapi's `schemars` feature (the types' schemas with their
//! field descriptions, as in the upstream `OpenAPI` spec), generated with `OpenAPI` 3 settings so
//! that a `$ref` with a description becomes `allOf: [{$ref}]` as kube-apiserver serves it. To
//! that the lab adds what the generated schemas leave out and kubectl reads:
//! - `x-kubernetes-group-version-kind` on each kind and its list kind (kubectl finds a kind's
//!   schema by it), and the list kinds themselves (`PodList`; descriptions are the lab's own);
//! - `metadata` not required (k8s-openapi requires it because the Rust field is not optional);
//! - one operation per resource carrying the kind and the `fieldValidation` parameter: kubectl
//!   finds the kind of a resource there, and sends `fieldValidation=Strict` when it sees it;
//! - the upstream `enum` lists and the "Possible enum values:" paragraphs of descriptions, which
//!   k8s-openapi drops: `api/enums.json` (written by `tools/enums.py` from the upstream Go
//!   types) holds each enum field's values and their meanings, and [`add_enums`] puts them back
//!   as the upstream generator writes them, so `kubectl explain` prints `ENUM:` and `enum:`.
//!
//! Built-in documents are built once, on the first request (about 150 ms in a debug build),
//! never at lab start. Custom resources get theirs from the CRD's `openAPIV3Schema` on each
//! request (the CRDs can change), with `apiVersion`, `kind` and `metadata` added as the real
//! server adds them.
//!
//! [`drop_unknown_fields`] checks a write of a built-in kind against its schema for
//! `fieldValidation` (every create, update and patch; custom kinds' unknown fields are pruned
//! instead), [`unknown_fields`] names them for server-side apply, and [`unsupported_values`]
//! finds enum fields outside their values.
//!
//! Adding a kind: a line in [`super::kinds`] (its schema comes with it; its enums too once its
//! package is in `tools/enums.py`'s list and the file is written again). A fix that kubectl
//! needs in every schema goes in [`adjust`].

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ListMeta, ObjectMeta};
use k8s_openapi::schemars::generate::{SchemaGenerator, SchemaSettings};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha512};

use super::kinds::{self, Verbs};
use super::resources::ResourceType;

pub mod v2;

const SCHEMAS: &str = "#/components/schemas/";
const OBJECT_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";
const LIST_META: &str = "io.k8s.apimachinery.pkg.apis.meta.v1.ListMeta";
const METADATA_DOC: &str = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const LIST_METADATA_DOC: &str = "Standard list metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#types-kinds";

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// A served document: its JSON text and the hash kubectl's cache keys it by.
struct Doc {
    json: String,
    hash: String,
}

impl Doc {
    fn new(doc: &Value) -> Self {
        let json = doc.to_string();
        let mut hash = String::with_capacity(128);
        for b in Sha512::digest(json.as_bytes()) {
            let _ = write!(hash, "{b:02X}");
        }
        Self { json, hash }
    }
}

/// Every schema of the built-in kinds (by definition name) and their documents by path.
struct BuiltIn {
    schemas: Map<String, Value>,
    docs: BTreeMap<String, Doc>,
}

fn built_in() -> &'static BuiltIn {
    static BUILT: OnceLock<BuiltIn> = OnceLock::new();
    BUILT.get_or_init(build)
}

/// One resource of a group-version document.
struct Served<'a> {
    group: &'a str,
    version: &'a str,
    kind: &'a str,
    plural: &'a str,
    namespaced: bool,
    create_only: bool,
    /// Definition name of its schema (`io.k8s.api.core.v1.Pod`).
    schema: String,
}

fn build() -> BuiltIn {
    let mut generator = SchemaGenerator::new(SchemaSettings::openapi3());
    let table = kinds::table();
    let mut served = Vec::new();
    for k in &table {
        let reference = (k.schema)(&mut generator);
        let schema = reference
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix(SCHEMAS))
            .unwrap_or_default()
            .to_owned();
        served.push(Served {
            group: k.group,
            version: k.version,
            kind: k.kind,
            plural: k.plural,
            namespaced: k.namespaced,
            create_only: k.verbs == Verbs::Create,
            schema,
        });
    }
    generator.subschema_for::<ObjectMeta>();
    generator.subschema_for::<ListMeta>();
    let mut schemas = generator.take_definitions(true);
    for schema in schemas.values_mut() {
        adjust(schema);
    }
    add_enums(&mut schemas, &enums());
    for s in &served {
        add_kind(&mut schemas, s);
    }
    let mut paths: Vec<String> = Vec::new();
    for s in &served {
        let p = gv_path(s.group, s.version);
        if !paths.contains(&p) {
            paths.push(p);
        }
    }
    let docs = paths
        .into_iter()
        .map(|path| {
            let mine: Vec<&Served> = served
                .iter()
                .filter(|s| gv_path(s.group, s.version) == path)
                .collect();
            let doc = document(&path, &mine, &schemas, &Map::new());
            (path, Doc::new(&doc))
        })
        .collect();
    BuiltIn { schemas, docs }
}

/// One enum field of `api/enums.json`: its values (in the upstream order) and what each means.
#[derive(Debug, Deserialize)]
struct EnumField {
    values: Vec<String>,
    #[serde(default)]
    meanings: BTreeMap<String, String>,
    /// Where a slice or map of the enum type has it: `items` or `values` (none: the field).
    #[serde(default)]
    on: Option<String>,
}

/// The enum fields by definition name and field name.
type Enums = BTreeMap<String, BTreeMap<String, EnumField>>;

fn enums() -> Enums {
    serde_json::from_str(include_str!("api/enums.json")).unwrap_or_default()
}

/// Gives each enum field of `schemas` its `enum` and, on the field itself, the paragraph the
/// upstream generator appends to its description.
fn add_enums(schemas: &mut Map<String, Value>, enums: &Enums) {
    for (definition, fields) in enums {
        let Some(props) = schemas
            .get_mut(definition)
            .and_then(|s| s.get_mut("properties"))
            .and_then(Value::as_object_mut)
        else {
            continue;
        };
        for (name, field) in fields {
            let Some(prop) = props.get_mut(name) else {
                continue;
            };
            let values = json!(field.values);
            match field.on.as_deref() {
                Some("items") if prop["items"].is_object() => prop["items"]["enum"] = values,
                Some("values") if prop["additionalProperties"].is_object() => {
                    prop["additionalProperties"]["enum"] = values;
                }
                None => {
                    let mut text = prop["description"].as_str().unwrap_or_default().to_owned();
                    if !text.is_empty() {
                        text.push_str("\n\n");
                    }
                    text.push_str(&enum_paragraph(field));
                    prop["description"] = json!(text);
                    prop["enum"] = values;
                }
                Some(_) => {}
            }
        }
    }
}

/// "Possible enum values:" and a line per value, `"value"` quoted as Go quotes it, sorted, as
/// kube-openapi's generator writes them.
fn enum_paragraph(field: &EnumField) -> String {
    let mut lines: Vec<String> = field
        .values
        .iter()
        .map(|v| {
            let quoted = serde_json::to_string(v).unwrap_or_default();
            let meaning = field.meanings.get(v).map_or("", String::as_str);
            format!(" - `{quoted}` {meaning}").trim_end().to_owned()
        })
        .collect();
    lines.sort();
    format!("Possible enum values:\n{}", lines.join("\n"))
}

/// What every generated schema needs to read as the API's own, in this schema and all it
/// contains.
fn adjust(schema: &mut Value) {
    match schema {
        Value::Object(obj) => {
            // k8s-openapi requires `metadata` (a Rust field, never absent); the API does not.
            if let Some(Value::Array(required)) = obj.get_mut("required") {
                required.retain(|r| r != "metadata");
                if required.is_empty() {
                    obj.remove("required");
                }
            }
            obj.values_mut().for_each(adjust);
        }
        Value::Array(items) => items.iter_mut().for_each(adjust),
        _ => {}
    }
}

fn gvk(group: &str, version: &str, kind: &str) -> Value {
    json!([{"group": group, "kind": kind, "version": version}])
}

/// Tags a kind's schema with its group-version-kind and adds its list kind.
fn add_kind(schemas: &mut Map<String, Value>, s: &Served) {
    let Some(schema) = schemas.get_mut(&s.schema) else {
        return;
    };
    schema["x-kubernetes-group-version-kind"] = gvk(s.group, s.version, s.kind);
    if s.create_only {
        return;
    }
    let list = list_schema(schema, s);
    schemas.insert(format!("{}List", s.schema), list);
}

/// `<Kind>List`: apiVersion and kind as the kind has them, `items`, and list metadata.
fn list_schema(kind_schema: &Value, s: &Served) -> Value {
    let props = &kind_schema["properties"];
    json!({
        "description": format!("{}List is a list of {}.", s.kind, s.plural),
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": props["apiVersion"],
            "kind": props["kind"],
            "items": {
                "description": format!("List of {}.", s.plural),
                "type": "array",
                "items": {"$ref": format!("{SCHEMAS}{}", s.schema)},
            },
            "metadata": {
                "allOf": [{"$ref": format!("{SCHEMAS}{LIST_META}")}],
                "description": LIST_METADATA_DOC,
            },
        },
        "x-kubernetes-group-version-kind": gvk(s.group, s.version, &format!("{}List", s.kind)),
    })
}

/// A group-version document: an operation per resource and the schemas its kinds use,
/// found in `own` (custom kinds) or else `schemas`.
fn document(
    path: &str,
    served: &[&Served],
    schemas: &Map<String, Value>,
    own: &Map<String, Value>,
) -> Value {
    let mut paths = Map::new();
    let mut roots = Vec::new();
    for s in served {
        let (url, method) = match (s.create_only, s.namespaced) {
            (true, true) => (
                format!("/{path}/namespaces/{{namespace}}/{}", s.plural),
                "post",
            ),
            (true, false) => (format!("/{path}/{}", s.plural), "post"),
            (false, true) => (
                format!("/{path}/namespaces/{{namespace}}/{}/{{name}}", s.plural),
                "patch",
            ),
            (false, false) => (format!("/{path}/{}/{{name}}", s.plural), "patch"),
        };
        paths.insert(url, json!({ method: operation(method, s) }));
        roots.push(s.schema.clone());
        roots.push(format!("{}List", s.schema));
    }
    let mut components = Map::new();
    let mut todo = roots;
    while let Some(name) = todo.pop() {
        if components.contains_key(&name) {
            continue;
        }
        let Some(schema) = own.get(&name).or_else(|| schemas.get(&name)) else {
            continue;
        };
        let mut refs = BTreeSet::new();
        references(schema, &mut refs);
        todo.extend(refs);
        components.insert(name, schema.clone());
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.4-runbook-lab"},
        "paths": paths,
        "components": {"schemas": components},
    })
}

fn operation(method: &str, s: &Served) -> Value {
    let action = if method == "post" { "post" } else { "patch" };
    let verb = if method == "post" { "create" } else { "patch" };
    let scope = if s.namespaced { "Namespaced" } else { "" };
    json!({
        "operationId": format!("{verb}{scope}{}", s.kind),
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": s.group, "version": s.version, "kind": s.kind},
        "parameters": [
            {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
            {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}}
        ],
        "responses": {"200": {"description": "OK"}}
    })
}

/// The definition names a schema refers to.
fn references(schema: &Value, out: &mut BTreeSet<String>) {
    match schema {
        Value::Object(obj) => {
            if let Some(name) = obj
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(SCHEMAS))
            {
                out.insert(name.to_owned());
            }
            obj.values().for_each(|v| references(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| references(v, out)),
        _ => {}
    }
}

/// A custom resource's definition name: the group reversed, as the real server names it
/// (`io.x-k8s.cluster.ipam.v1alpha1.IPClaim`).
fn custom_name(group: &str, version: &str, kind: &str) -> String {
    let reversed: Vec<&str> = group.split('.').rev().collect();
    format!("{}.{version}.{kind}", reversed.join("."))
}

/// Custom kinds' schemas (with their list kinds) and their resources by group-version path.
fn custom(crds: &[Value]) -> (Map<String, Value>, BTreeMap<String, Vec<Served<'_>>>) {
    let type_meta = built_in()
        .schemas
        .get("io.k8s.api.core.v1.Pod")
        .map(|p| p["properties"].clone())
        .unwrap_or_default();
    let mut own = Map::new();
    let mut by_path: BTreeMap<String, Vec<Served>> = BTreeMap::new();
    for crd in crds {
        let spec = &crd["spec"];
        let group = spec["group"].as_str().unwrap_or_default();
        let kind = spec["names"]["kind"].as_str().unwrap_or_default();
        let plural = spec["names"]["plural"].as_str().unwrap_or_default();
        let namespaced = spec["scope"] == "Namespaced";
        for v in spec["versions"].as_array().into_iter().flatten() {
            let Some(version) = v["name"].as_str().filter(|_| v["served"] != false) else {
                continue;
            };
            let name = custom_name(group, version, kind);
            let mut schema = v["schema"]["openAPIV3Schema"].clone();
            if !schema.is_object() {
                schema = json!({"type": "object"});
            }
            if !schema["properties"].is_object() {
                schema["properties"] = json!({});
            }
            schema["properties"]["apiVersion"] = type_meta["apiVersion"].clone();
            schema["properties"]["kind"] = type_meta["kind"].clone();
            schema["properties"]["metadata"] = json!({
                "allOf": [{"$ref": format!("{SCHEMAS}{OBJECT_META}")}],
                "description": METADATA_DOC,
            });
            schema["x-kubernetes-group-version-kind"] = gvk(group, version, kind);
            let served = Served {
                group,
                version,
                kind,
                plural,
                namespaced,
                create_only: false,
                schema: name.clone(),
            };
            own.insert(format!("{name}List"), list_schema(&schema, &served));
            own.insert(name, schema);
            by_path
                .entry(gv_path(group, version))
                .or_default()
                .push(served);
        }
    }
    (own, by_path)
}

/// Custom kinds' schemas by definition name.
fn custom_schemas(crds: &[Value]) -> Map<String, Value> {
    custom(crds).0
}

/// The documents of custom resources' group-versions, built from the CRDs.
fn custom_docs(crds: &[Value]) -> BTreeMap<String, Doc> {
    let (own, by_path) = custom(crds);
    by_path
        .into_iter()
        .map(|(path, served)| {
            let refs: Vec<&Served> = served.iter().collect();
            let doc = document(&path, &refs, &built_in().schemas, &own);
            (path, Doc::new(&doc))
        })
        .collect()
}

/// `/openapi/v3`: the group-versions and where their documents are.
pub fn root(types: &[ResourceType], crds: &[Value]) -> Value {
    let custom = custom_docs(crds);
    let base = built_in();
    let mut paths = Map::new();
    for t in types {
        let p = gv_path(&t.group, &t.version);
        let Some(doc) = custom.get(&p).or_else(|| base.docs.get(&p)) else {
            continue;
        };
        paths.entry(p.clone()).or_insert_with(
            || json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash={}", doc.hash)}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/<api/v1 | apis/group/version>`: the document's JSON text, or None.
pub fn group_version(crds: &[Value], path: &str) -> Option<String> {
    if let Some(doc) = built_in().docs.get(path) {
        return Some(doc.json.clone());
    }
    custom_docs(crds).remove(path).map(|d| d.json)
}

/// The fields of a built-in kind's object that its schema does not have, as the real server's
/// strict decoding names them (`spec.foo`, `spec.containers[0].bar`); empty for custom kinds
/// (their unknown fields are pruned).
pub fn unknown_fields(group: &str, version: &str, kind: &str, obj: &Value) -> Vec<String> {
    drop_unknown_fields(group, version, kind, &mut obj.clone())
}

/// The schema of a built-in kind, found by its group, version and kind.
fn kind_schema<'a>(base: &'a BuiltIn, group: &str, version: &str, kind: &str) -> Option<&'a Value> {
    base.schemas
        .values()
        .find(|s| s["x-kubernetes-group-version-kind"] == gvk(group, version, kind))
}

/// Removes from `obj` the fields [`unknown_fields`] names (what the server's decoding drops
/// with `fieldValidation` `Warn` or `Ignore`), and returns their paths.
pub fn drop_unknown_fields(group: &str, version: &str, kind: &str, obj: &mut Value) -> Vec<String> {
    let base = built_in();
    let Some(schema) = kind_schema(base, group, version, kind) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    unknown(&base.schemas, schema, obj, "", &mut out);
    out
}

/// The order in which validation lists a field's supported values where it is not the enum's
/// sorted order (the server's own lists, e.g. `validateRestartPolicy`).
const SERVER_ORDER: &[(&str, &[&str])] = &[
    ("restartPolicy", &["Always", "OnFailure", "Never"]),
    (
        "dnsPolicy",
        &["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"],
    ),
    (
        "terminationMessagePolicy",
        &["File", "FallbackToLogsOnError"],
    ),
    ("effect", &["NoSchedule", "PreferNoSchedule", "NoExecute"]),
];

/// A value an enum field does not take: (path, value, the values the server supports).
pub type Unsupported = (String, String, Vec<String>);

/// The enum fields under a built-in kind's `spec` whose value is not one of the enum's, as
/// validation refuses them (`spec.containers[0].imagePullPolicy: Unsupported value: ...`).
/// Only fields that carry the enum themselves are checked; an empty value is left to the
/// field's defaulting.
pub fn unsupported_values(group: &str, version: &str, kind: &str, obj: &Value) -> Vec<Unsupported> {
    let base = built_in();
    let Some(schema) = kind_schema(base, group, version, kind) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let spec = &resolve(&base.schemas, schema)["properties"]["spec"];
    if spec.is_object() {
        enum_misses(&base.schemas, spec, &obj["spec"], "spec", &mut out);
    }
    out
}

fn enum_misses(
    schemas: &Map<String, Value>,
    schema: &Value,
    value: &Value,
    path: &str,
    out: &mut Vec<Unsupported>,
) {
    let schema = resolve(schemas, schema);
    if let Some(allowed) = schema["enum"].as_array() {
        let Some(v) = value.as_str().filter(|v| !v.is_empty()) else {
            return;
        };
        if !allowed.iter().any(|a| a == v) {
            let field = path.rsplit('.').next().unwrap_or(path);
            let supported = SERVER_ORDER.iter().find(|(f, _)| *f == field).map_or_else(
                || {
                    allowed
                        .iter()
                        .filter_map(|a| a.as_str().map(str::to_owned))
                        .collect()
                },
                |(_, order)| order.iter().map(|&o| o.to_owned()).collect(),
            );
            out.push((path.to_owned(), v.to_owned(), supported));
        }
        return;
    }
    match value {
        Value::Object(obj) => {
            let Some(props) = schema["properties"].as_object() else {
                return;
            };
            for (k, v) in obj {
                if let Some(s) = props.get(k) {
                    enum_misses(schemas, s, v, &format!("{path}.{k}"), out);
                }
            }
        }
        // Enums on a list's items are validated with the list's own rules: not here.
        Value::Array(items) if resolve(schemas, &schema["items"])["enum"].is_null() => {
            for (i, v) in items.iter().enumerate() {
                enum_misses(schemas, &schema["items"], v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The schema a reference (`$ref` or `allOf: [{$ref}]`) names, or the schema itself.
fn resolve<'a>(schemas: &'a Map<String, Value>, schema: &'a Value) -> &'a Value {
    let reference = schema["$ref"]
        .as_str()
        .or_else(|| schema["allOf"][0]["$ref"].as_str());
    reference
        .and_then(|r| r.strip_prefix(SCHEMAS))
        .and_then(|name| schemas.get(name))
        .unwrap_or(schema)
}

fn unknown(
    schemas: &Map<String, Value>,
    schema: &Value,
    value: &mut Value,
    path: &str,
    out: &mut Vec<String>,
) {
    let schema = resolve(schemas, schema);
    if schema["x-kubernetes-preserve-unknown-fields"] == true {
        return;
    }
    match value {
        Value::Object(obj) => {
            let Some(props) = schema["properties"].as_object() else {
                if schema["additionalProperties"].is_object() {
                    for (k, v) in obj.iter_mut() {
                        let p = format!("{path}[{k}]");
                        unknown(schemas, &schema["additionalProperties"], v, &p, out);
                    }
                }
                return;
            };
            let mut strangers = Vec::new();
            for (k, v) in obj.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let Some(s) = props.get(k) {
                    unknown(schemas, s, v, &p, out);
                } else {
                    out.push(p);
                    strangers.push(k.clone());
                }
            }
            for k in strangers {
                obj.remove(&k);
            }
        }
        Value::Array(items) if schema["items"].is_object() => {
            for (i, v) in items.iter_mut().enumerate() {
                unknown(schemas, &schema["items"], v, &format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_named_by_their_path() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"a": "b"}},
            "spec": {"foo": 1, "containers": [{"name": "c", "image": "i", "bar": true}]},
        });
        assert_eq!(
            unknown_fields("", "v1", "Pod", &pod),
            ["spec.containers[0].bar", "spec.foo"]
        );
        let fine = json!({"apiVersion": "v1", "kind": "ConfigMap", "data": {"k": "v"}});
        assert!(unknown_fields("", "v1", "ConfigMap", &fine).is_empty());
    }

    #[test]
    fn a_value_outside_an_enum_is_named_with_what_the_server_supports() {
        let deploy = json!({"spec": {"strategy": {"type": "Rolling"}, "template": {"spec": {
            "restartPolicy": "Sometimes",
            "containers": [{"name": "c", "image": "i", "imagePullPolicy": "always",
                            "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}}},
            "status": {"conditions": [{"type": "Whatever", "status": "True"}]}});
        let got = unsupported_values("apps", "v1", "Deployment", &deploy);
        let want: Vec<(&str, &str, &[&str])> = vec![
            (
                "spec.strategy.type",
                "Rolling",
                &["Recreate", "RollingUpdate"],
            ),
            (
                "spec.template.spec.containers[0].imagePullPolicy",
                "always",
                &["Always", "IfNotPresent", "Never"],
            ),
            (
                "spec.template.spec.restartPolicy",
                "Sometimes",
                &["Always", "OnFailure", "Never"],
            ),
        ];
        let got: Vec<(&str, &str, Vec<&str>)> = got
            .iter()
            .map(|(p, v, s)| {
                (
                    p.as_str(),
                    v.as_str(),
                    s.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        let want: Vec<(&str, &str, Vec<&str>)> = want
            .into_iter()
            .map(|(p, v, s)| (p, v, s.to_vec()))
            .collect();
        assert_eq!(got, want);
        let fine =
            json!({"spec": {"type": "NodePort", "ports": [{"port": 80, "protocol": "UDP"}]}});
        assert!(unsupported_values("", "v1", "Service", &fine).is_empty());
    }

    #[test]
    fn the_enum_data_covers_the_fields_trainees_explain() {
        let enums = enums();
        for (definition, field, values) in [
            (
                "io.k8s.api.core.v1.Container",
                "imagePullPolicy",
                &["Always", "IfNotPresent", "Never"][..],
            ),
            (
                "io.k8s.api.core.v1.ServiceSpec",
                "type",
                &["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"],
            ),
            (
                "io.k8s.api.core.v1.PodSpec",
                "restartPolicy",
                &["Always", "Never", "OnFailure"],
            ),
            (
                "io.k8s.api.apps.v1.DeploymentStrategy",
                "type",
                &["Recreate", "RollingUpdate"],
            ),
        ] {
            let f = &enums[definition][field];
            assert_eq!(f.values, values, "{definition}.{field}");
            assert!(f.on.is_none(), "{definition}.{field}");
        }
        let pull = &enums["io.k8s.api.core.v1.Container"]["imagePullPolicy"];
        assert!(pull.meanings["Never"].starts_with("means that kubelet never pulls an image"));
    }

    #[test]
    fn enum_fields_read_as_the_upstream_spec_writes_them() {
        let base = built_in();
        let strategy = &base.schemas["io.k8s.api.apps.v1.DeploymentStrategy"]["properties"]["type"];
        assert_eq!(strategy["enum"], json!(["Recreate", "RollingUpdate"]));
        assert_eq!(
            strategy["description"],
            "Type of deployment. Can be \"Recreate\" or \"RollingUpdate\". Default is RollingUpdate.\n\n\
             Possible enum values:\n \
             - `\"Recreate\"` Kill all existing pods before creating new ones.\n \
             - `\"RollingUpdate\"` Replace the old ReplicaSets by new one using rolling update i.e \
             gradually scale down the old ReplicaSets and scale up the new one."
        );
        // Values without a comment upstream are listed bare, without a trailing space.
        let restart = &base.schemas["io.k8s.api.core.v1.PodSpec"]["properties"]["restartPolicy"];
        assert!(
            restart["description"].as_str().is_some_and(|d| d.ends_with(
                "\n\nPossible enum values:\n - `\"Always\"`\n - `\"Never\"`\n - `\"OnFailure\"`"
            )),
            "{restart}"
        );
        // A slice of an enum type has it on its items, and no paragraph.
        let modes = &base.schemas["io.k8s.api.core.v1.PersistentVolumeClaimSpec"]["properties"]["accessModes"];
        assert_eq!(modes["items"]["enum"][0], "ReadOnlyMany");
        assert!(modes["enum"].is_null());
        assert!(
            !modes["description"]
                .as_str()
                .unwrap_or_default()
                .contains("Possible enum")
        );
        // Every field of the data whose definition is served has its enum.
        let mut served = 0;
        for (definition, fields) in enums() {
            let Some(schema) = base.schemas.get(&definition) else {
                continue;
            };
            for (name, field) in fields {
                let prop = &schema["properties"][&name];
                let at = match field.on.as_deref() {
                    Some("items") => &prop["items"],
                    Some("values") => &prop["additionalProperties"],
                    _ => prop,
                };
                assert_eq!(at["enum"], json!(field.values), "{definition}.{name}");
                served += 1;
            }
        }
        eprintln!("{served} enum fields served");
        assert!(served >= 80, "{served} enum fields served");
    }

    #[test]
    fn custom_names_reverse_the_group() {
        assert_eq!(
            custom_name("ipam.cluster.x-k8s.io", "v1alpha1", "IPClaim"),
            "io.x-k8s.cluster.ipam.v1alpha1.IPClaim"
        );
    }
}
