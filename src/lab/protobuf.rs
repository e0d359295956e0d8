//! Kubernetes protobuf request bodies (`Content-Type: application/vnd.kubernetes.protobuf`), as
//! kubectl sends them for `create namespace|configmap|secret|deployment|serviceaccount|job|
//! cronjob|service|role|...` and `auth can-i|whoami`.
//!
//! Decision: the lab never *answers* in protobuf (kubectl always offers `application/json` as a
//! fallback in `Accept`, and client-go takes JSON). A body is the envelope (`k8s\0` +
//! `runtime.Unknown{typeMeta, raw}`) and, inside, the kind's message, decoded field by field
//! with the field numbers in `api/protobuf.yaml`; fields not listed there are skipped. A kind
//! without an entry is answered 415, so the client reports a clear error instead of creating a
//! wrong object. To accept one more kind, add its messages to `api/protobuf.yaml`.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde_json::{Map, Value, json};

use super::status::ApiError;

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn varint(&mut self) -> Option<u64> {
        let mut out = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.pos)?;
            self.pos += 1;
            out |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(out);
            }
        }
        None
    }

    /// Next `(field number, payload)`; payload is the bytes of length-delimited fields, empty
    /// for other wire types (their values are skipped).
    fn field(&mut self) -> Option<(u64, &'a [u8])> {
        self.field_raw().map(|(n, p, _)| (n, p))
    }

    /// Like [`Reader::field`], plus the raw bytes of a varint value (empty for other types).
    fn field_raw(&mut self) -> Option<(u64, &'a [u8], &'a [u8])> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let start = self.pos;
        let tag = self.varint()?;
        let (num, wire) = (tag >> 3, tag & 7);
        if wire == 0 {
            let value = self.pos;
            self.varint()?;
            return Some((num, &[], &self.buf[value..self.pos]));
        }
        self.pos = start;
        self.field_inner().map(|(n, p)| (n, p, &[][..]))
    }

    fn field_inner(&mut self) -> Option<(u64, &'a [u8])> {
        if self.pos >= self.buf.len() {
            return None;
        }
        let tag = self.varint()?;
        let (num, wire) = (tag >> 3, tag & 7);
        match wire {
            0 => {
                self.varint()?;
                Some((num, &[]))
            }
            1 => {
                self.pos += 8;
                Some((num, &[]))
            }
            2 => {
                let len = usize::try_from(self.varint()?).ok()?;
                let end = self.pos.checked_add(len)?;
                let bytes = self.buf.get(self.pos..end)?;
                self.pos = end;
                Some((num, bytes))
            }
            5 => {
                self.pos += 4;
                Some((num, &[]))
            }
            _ => None,
        }
    }
}

fn string(b: &[u8]) -> Result<String, ApiError> {
    String::from_utf8(b.to_vec()).map_err(|_| bad())
}

fn bad() -> ApiError {
    ApiError::bad_request("the object provided is unrecognized: malformed protobuf body")
}

fn map_entry(b: &[u8]) -> Result<(String, Value), ApiError> {
    let mut r = Reader::new(b);
    let (mut k, mut v) = (String::new(), String::new());
    while let Some((n, p)) = r.field() {
        match n {
            1 => k = string(p)?,
            2 => v = string(p)?,
            _ => {}
        }
    }
    Ok((k, Value::String(v)))
}

type Schema = BTreeMap<String, BTreeMap<u64, String>>;

fn schema() -> &'static Schema {
    static DOC: OnceLock<Schema> = OnceLock::new();
    DOC.get_or_init(|| serde_yaml::from_str(include_str!("api/protobuf.yaml")).unwrap_or_default())
}

fn varint_value(b: &[u8]) -> i64 {
    let mut r = Reader::new(b);
    r.varint().map_or(0, u64::cast_signed)
}

/// Decode one message of type `name` (nesting bounded by `depth`).
fn message(name: &str, bytes: &[u8], depth: usize) -> Result<Value, ApiError> {
    if depth > 32 {
        return Err(bad());
    }
    let fields = schema()
        .get(name)
        .ok_or_else(ApiError::unsupported_media_type)?;
    let mut reader = Reader::new(bytes);
    let mut out = Map::new();
    while let Some((number, p, raw)) = reader.field_raw() {
        let Some(spec) = fields.get(&number) else {
            continue;
        };
        let (json_name, ty) = spec.split_once(':').unwrap_or((spec.as_str(), "s"));
        let value = match ty {
            "s" => json!(string(p)?),
            "i" => json!(varint_value(raw)),
            "b" => json!(varint_value(raw) != 0),
            "map" | "bytesmap" | "qmap" => {
                let (k, v) = map_entry(p)?;
                let v = match ty {
                    "bytesmap" => json!(base64(v.as_str().unwrap_or_default().as_bytes())),
                    "qmap" => {
                        let mut q = Reader::new(v.as_str().unwrap_or_default().as_bytes());
                        let mut text = String::new();
                        while let Some((n, p)) = q.field() {
                            if n == 1 {
                                text = string(p)?;
                            }
                        }
                        json!(text)
                    }
                    _ => v,
                };
                let entry = out.entry(json_name.to_owned()).or_insert_with(|| json!({}));
                entry[k] = v;
                continue;
            }
            "ios" => {
                let mut q = Reader::new(p);
                let (mut kind, mut int, mut text) = (0, 0, String::new());
                while let Some((n, pp, raw)) = q.field_raw() {
                    match n {
                        1 => kind = varint_value(raw),
                        2 => int = varint_value(raw),
                        3 => text = string(pp)?,
                        _ => {}
                    }
                }
                if kind == 1 { json!(text) } else { json!(int) }
            }
            list if list.starts_with('[') => {
                let inner = list.trim_matches(['[', ']']);
                let item = if inner == "s" {
                    json!(string(p)?)
                } else {
                    message(inner, p, depth + 1)?
                };
                let entry = out.entry(json_name.to_owned()).or_insert_with(|| json!([]));
                if let Some(a) = entry.as_array_mut() {
                    a.push(item);
                }
                continue;
            }
            msg => message(msg, p, depth + 1)?,
        };
        // proto2 optional fields that are empty are still sent: keep JSON's shape by
        // leaving out empty strings and empty metadata.
        if value == json!("") {
            continue;
        }
        out.insert(json_name.to_owned(), value);
    }
    Ok(Value::Object(out))
}

/// Decode a protobuf request body into the JSON object it stands for.
pub fn decode(body: &[u8]) -> Result<Value, ApiError> {
    let inner = body.strip_prefix(b"k8s\0").ok_or_else(bad)?;
    let mut r = Reader::new(inner);
    let (mut api_version, mut kind, mut raw): (String, String, &[u8]) =
        (String::new(), String::new(), &[]);
    while let Some((n, p)) = r.field() {
        match n {
            1 => {
                let mut t = Reader::new(p);
                while let Some((n, p)) = t.field() {
                    match n {
                        1 => api_version = string(p)?,
                        2 => kind = string(p)?,
                        _ => {}
                    }
                }
            }
            2 => raw = p,
            _ => {}
        }
    }
    if kind.is_empty() || api_version.is_empty() {
        return Err(bad());
    }
    let mut obj = message(&kind, raw, 0)?;
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    if kind == "Secret" && obj["type"].is_null() {
        obj["type"] = json!("Opaque");
    }
    Ok(obj)
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_kubectl_create_namespace_bytes() {
        // The exact request body of `kubectl create namespace demo` (reference trace 026).
        let body: &[u8] = &[
            0x6b, 0x38, 0x73, 0x00, 0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, 0x4e, 0x61,
            0x6d, 0x65, 0x73, 0x70, 0x61, 0x63, 0x65, 0x12, 0x1c, 0x0a, 0x14, 0x0a, 0x04, 0x64,
            0x65, 0x6d, 0x6f, 0x12, 0x00, 0x1a, 0x00, 0x22, 0x00, 0x2a, 0x00, 0x32, 0x00, 0x38,
            0x00, 0x42, 0x00, 0x12, 0x00, 0x1a, 0x02, 0x0a, 0x00, 0x1a, 0x00, 0x22, 0x00,
        ];
        let obj = decode(body).ok();
        assert_eq!(
            obj,
            Some(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}}))
        );
    }

    #[test]
    fn garbage_is_a_bad_request_not_a_panic() {
        assert!(decode(b"k8s\0\x0a\xff\xff\xff").is_err());
        assert!(decode(b"nope").is_err());
    }
}
