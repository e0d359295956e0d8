//! Just enough Kubernetes protobuf to accept what `kubectl create namespace|configmap|secret`
//! sends (`Content-Type: application/vnd.kubernetes.protobuf`).
//!
//! Decision: the lab never *answers* in protobuf (kubectl always offers `application/json` as a
//! fallback in `Accept`, and client-go takes JSON). For request bodies it decodes the envelope
//! (`k8s\0` + `runtime.Unknown{typeMeta, raw}`) and, inside, the `ObjectMeta` fields `name`,
//! `generateName`, `namespace`, `labels` and `annotations`, plus the `data` map of `ConfigMaps` and
//! Secrets. Anything else in the body is ignored. Types whose other fields matter are answered
//! with 415 so the client reports a clear error instead of creating a wrong object.
//! To accept one more type, decode its fields in [`decode`].

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

fn object_meta(b: &[u8]) -> Result<Value, ApiError> {
    let mut r = Reader::new(b);
    let mut meta = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    while let Some((n, p)) = r.field() {
        match n {
            1 if !p.is_empty() => {
                meta.insert("name".into(), json!(string(p)?));
            }
            2 if !p.is_empty() => {
                meta.insert("generateName".into(), json!(string(p)?));
            }
            3 if !p.is_empty() => {
                meta.insert("namespace".into(), json!(string(p)?));
            }
            11 => {
                let (k, v) = map_entry(p)?;
                labels.insert(k, v);
            }
            12 => {
                let (k, v) = map_entry(p)?;
                annotations.insert(k, v);
            }
            _ => {}
        }
    }
    if !labels.is_empty() {
        meta.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        meta.insert("annotations".into(), Value::Object(annotations));
    }
    Ok(Value::Object(meta))
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
    let mut obj = json!({"apiVersion": api_version, "kind": kind});
    let mut r = Reader::new(raw);
    let mut data = Map::new();
    while let Some((n, p)) = r.field() {
        match (kind.as_str(), n) {
            (_, 1) => obj["metadata"] = object_meta(p)?,
            ("ConfigMap" | "Secret", 2) => {
                let (k, v) = map_entry(p)?;
                data.insert(k, v);
            }
            _ => {}
        }
    }
    match kind.as_str() {
        "Namespace" => {}
        "ConfigMap" => {
            if !data.is_empty() {
                obj["data"] = Value::Object(data);
            }
        }
        "Secret" => {
            // Secret `data` holds raw bytes; JSON carries them base64-encoded.
            let encoded: Map<String, Value> = data
                .into_iter()
                .map(|(k, v)| (k, json!(base64(v.as_str().unwrap_or_default().as_bytes()))))
                .collect();
            if !encoded.is_empty() {
                obj["data"] = Value::Object(encoded);
            }
            obj["type"] = json!("Opaque");
        }
        _ => return Err(ApiError::unsupported_media_type()),
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
