//! `/openapi/v2`: the same schemas as Swagger 2.0 `definitions`, for `kubectl explain
//! --output=plaintext-openapiv2` and older kubectl (1.20's explain and client-side validation).
//!
//! kubectl asks for it only as protobuf (`application/com.github.proto-openapi.spec.v2@v1.0+
//! protobuf`, gnostic's `openapi.v2.Document`) and cannot read JSON or take a 406: kubectl 1.32
//! then fails with "the server could not find the requested resource" or a decode error. So the
//! lab encodes the protobuf itself (the few messages a schema needs: `Document`, `Definitions`,
//! `NamedSchema`, `Schema`, `Properties`, `ItemsItem`, `AdditionalPropertiesItem`, `TypeItem`,
//! `NamedAny` for `x-` extensions as YAML), and answers JSON to any other `Accept`.
//!
//! The v2 tree comes from the v3 schemas: `allOf: [{$ref}]` becomes `$ref` beside its
//! description (as the real v2 document has it), refs point to `#/definitions/`, and
//! int-or-string types are `type: string` (v2 has no untyped scalars). Adding a schema feature
//! kubectl reads: convert it in [`convert`] and encode it in [`schema`].

use serde_json::{Map, Value, json};

use super::{SCHEMAS, built_in};

/// What kubectl puts in `Accept`.
pub const PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
/// The `Content-Type` of the answer: the same with `.` for `@`, as the real server sends it
/// (Go's MIME parser refuses the `@`).
pub const PROTOBUF_ANSWER: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// Whether a request's `Accept` asks for the protobuf document.
pub fn wants_protobuf(accept: &str) -> bool {
    accept.contains(PROTOBUF) || accept.contains(PROTOBUF_ANSWER)
}

/// A v3 schema as Swagger 2.0 has it.
fn convert(v3: &Value) -> Value {
    match v3 {
        Value::Object(obj) => {
            let mut out = Map::new();
            for (k, v) in obj {
                match (k.as_str(), v) {
                    ("allOf", Value::Array(all))
                        if all.len() == 1 && all[0]["$ref"].is_string() =>
                    {
                        out.insert("$ref".into(), definition(&all[0]["$ref"]));
                    }
                    ("$ref", r) => {
                        out.insert(k.clone(), definition(r));
                    }
                    ("properties", Value::Object(props)) => {
                        let props: Map<String, Value> =
                            props.iter().map(|(n, s)| (n.clone(), convert(s))).collect();
                        out.insert(k.clone(), Value::Object(props));
                    }
                    _ => {
                        out.insert(k.clone(), convert(v));
                    }
                }
            }
            if out.get("x-kubernetes-int-or-string") == Some(&json!(true))
                && !out.contains_key("type")
            {
                out.insert("type".into(), json!("string"));
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(convert).collect()),
        other => other.clone(),
    }
}

/// A v3 `$ref` as a v2 one (`#/definitions/<name>`).
fn definition(reference: &Value) -> Value {
    let r = reference.as_str().unwrap_or_default();
    json!(format!(
        "#/definitions/{}",
        r.strip_prefix(SCHEMAS).unwrap_or(r)
    ))
}

/// The v2 document's `definitions`: every built-in schema and the custom kinds' own.
fn definitions(custom: &Map<String, Value>) -> Map<String, Value> {
    built_in()
        .schemas
        .iter()
        .chain(custom)
        .map(|(name, s)| (name.clone(), convert(s)))
        .collect()
}

/// `/openapi/v2` as JSON.
pub fn json(crds: &[Value]) -> Value {
    json!({
        "swagger": "2.0",
        "info": {"title": "Kubernetes", "version": "v1.32.4-runbook-lab"},
        "paths": {},
        "definitions": definitions(&super::custom_schemas(crds)),
    })
}

/// `/openapi/v2` as gnostic's protobuf `Document`.
pub fn protobuf(crds: &[Value]) -> Vec<u8> {
    let mut doc = Vec::new();
    string(&mut doc, 1, "2.0");
    let mut info = Vec::new();
    string(&mut info, 1, "Kubernetes");
    string(&mut info, 2, "v1.32.4-runbook-lab");
    message(&mut doc, 2, &info);
    let mut defs = Vec::new();
    for (name, s) in definitions(&super::custom_schemas(crds)) {
        named_schema(&mut defs, 1, &name, &s);
    }
    message(&mut doc, 9, &defs);
    doc
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let low = u8::try_from(v & 0x7f).unwrap_or_default();
        v >>= 7;
        if v == 0 {
            out.push(low);
            return;
        }
        out.push(low | 0x80);
    }
}

fn tag(out: &mut Vec<u8>, field: u64, wire: u64) {
    varint(out, (field << 3) | wire);
}

fn message(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    tag(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn string(out: &mut Vec<u8>, field: u64, s: &str) {
    if !s.is_empty() {
        message(out, field, s.as_bytes());
    }
}

fn boolean(out: &mut Vec<u8>, field: u64, b: bool) {
    if b {
        tag(out, field, 0);
        varint(out, 1);
    }
}

fn int64(out: &mut Vec<u8>, field: u64, v: Option<u64>) {
    if let Some(v) = v.filter(|v| *v != 0) {
        tag(out, field, 0);
        varint(out, v);
    }
}

fn double(out: &mut Vec<u8>, field: u64, v: Option<f64>) {
    if let Some(v) = v {
        tag(out, field, 1);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// `NamedSchema { name = 1; value = 2 }` as field `field`.
fn named_schema(out: &mut Vec<u8>, field: u64, name: &str, s: &Value) {
    let mut named = Vec::new();
    string(&mut named, 1, name);
    message(&mut named, 2, &schema(s));
    message(out, field, &named);
}

/// `Any { yaml = 2 }`: a value as YAML, as gnostic keeps extensions and defaults.
fn any(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    string(&mut out, 2, &serde_yaml::to_string(v).unwrap_or_default());
    out
}

/// gnostic's `Schema` message (field numbers from `OpenAPIv2.proto`).
fn schema(s: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let text = |k: &str| s[k].as_str().unwrap_or_default();
    string(&mut out, 1, text("$ref"));
    string(&mut out, 2, text("format"));
    string(&mut out, 3, text("title"));
    string(&mut out, 4, text("description"));
    if !s["default"].is_null() {
        message(&mut out, 5, &any(&s["default"]));
    }
    double(&mut out, 6, s["multipleOf"].as_f64());
    double(&mut out, 7, s["maximum"].as_f64());
    boolean(&mut out, 8, s["exclusiveMaximum"] == true);
    double(&mut out, 9, s["minimum"].as_f64());
    boolean(&mut out, 10, s["exclusiveMinimum"] == true);
    int64(&mut out, 11, s["maxLength"].as_u64());
    int64(&mut out, 12, s["minLength"].as_u64());
    string(&mut out, 13, text("pattern"));
    int64(&mut out, 14, s["maxItems"].as_u64());
    int64(&mut out, 15, s["minItems"].as_u64());
    boolean(&mut out, 16, s["uniqueItems"] == true);
    int64(&mut out, 17, s["maxProperties"].as_u64());
    int64(&mut out, 18, s["minProperties"].as_u64());
    for r in s["required"].as_array().into_iter().flatten() {
        string(&mut out, 19, r.as_str().unwrap_or_default());
    }
    for e in s["enum"].as_array().into_iter().flatten() {
        message(&mut out, 20, &any(e));
    }
    match &s["additionalProperties"] {
        Value::Bool(b) => {
            let mut item = Vec::new();
            tag(&mut item, 2, 0);
            varint(&mut item, u64::from(*b));
            message(&mut out, 21, &item);
        }
        v @ Value::Object(_) => {
            let mut item = Vec::new();
            message(&mut item, 1, &schema(v));
            message(&mut out, 21, &item);
        }
        _ => {}
    }
    if let Some(t) = s["type"].as_str() {
        let mut item = Vec::new();
        string(&mut item, 1, t);
        message(&mut out, 22, &item);
    }
    if s["items"].is_object() {
        let mut item = Vec::new();
        message(&mut item, 1, &schema(&s["items"]));
        message(&mut out, 23, &item);
    }
    for a in s["allOf"].as_array().into_iter().flatten() {
        message(&mut out, 24, &schema(a));
    }
    if let Some(props) = s["properties"].as_object() {
        let mut list = Vec::new();
        for (name, p) in props {
            named_schema(&mut list, 1, name, p);
        }
        message(&mut out, 25, &list);
    }
    boolean(&mut out, 27, s["readOnly"] == true);
    if let Some(obj) = s.as_object() {
        for (k, v) in obj.iter().filter(|(k, _)| k.starts_with("x-")) {
            let mut named = Vec::new();
            string(&mut named, 1, k);
            message(&mut named, 2, &any(v));
            message(&mut out, 31, &named);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_little_endian_groups_of_seven() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        assert_eq!(out, [0xac, 0x02]);
    }

    #[test]
    fn a_described_ref_is_a_ref_beside_its_description() {
        let v3 = json!({"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}], "description": "d"});
        assert_eq!(
            convert(&v3),
            json!({"$ref": "#/definitions/io.k8s.api.core.v1.PodSpec", "description": "d"})
        );
        let ios = json!({"description": "d", "x-kubernetes-int-or-string": true});
        assert_eq!(convert(&ios)["type"], "string");
    }

    #[test]
    fn a_schema_encodes_its_fields_by_number() {
        let s = json!({"type": "string", "description": "d"});
        // description (4) then type (22, a TypeItem with value = 1).
        assert_eq!(
            schema(&s),
            [
                0x22, 1, b'd', 0xb2, 0x01, 8, 0x0a, 6, b's', b't', b'r', b'i', b'n', b'g'
            ]
        );
    }
}
