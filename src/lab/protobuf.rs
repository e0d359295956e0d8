//! Kubernetes protobuf (`application/vnd.kubernetes.protobuf`): request bodies, as kubectl
//! sends them for `create namespace|configmap|secret|deployment|serviceaccount|job|
//! cronjob|service|role|...` and `auth can-i|whoami`.
//!
//! A body is the envelope (`k8s\0` + `runtime.Unknown{typeMeta, raw}`) and, inside, the kind's
//! message, decoded field by field with the field numbers in `api/protobuf.yaml`; fields not
//! listed there are skipped. A kind without an entry is answered 415, so the client reports a
//! clear error instead of creating a wrong object.
//!
//! Answers: when a request's `Accept` puts protobuf first ([`preferred`]), the answer is
//! encoded with the same table ([`encode`]) if every field of the object (or list, or
//! `Status`) has a number there; anything else is answered in JSON, which kubectl also
//! accepts, so an object is never cut short. Tables stay JSON. Watches asking for protobuf
//! first ([`watch_preferred`]) stream length-delimited `WatchEvent`s ([`watch_frame`]) when
//! every object there is at the start encodes (JSON framing otherwise); an object met later
//! that cannot be encoded ends the watch with `410 Expired`, and the client lists again.
//!
//! To accept or answer one more built-in kind, add it to `ROOTS` in `tools/protobuf.py` and
//! run it: it writes the kind's messages into `api/protobuf.yaml`, each field's JSON name,
//! pointer-ness and `json:",inline"` from k8s.io/api's `types.go` and its number and type
//! from `generated.proto` (the table's header says how the entries read).

use std::borrow::Cow;
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

/// A map entry's key and the bytes of its value (a string, bytes or a message).
fn map_entry(b: &[u8]) -> Result<(String, &[u8]), ApiError> {
    let mut r = Reader::new(b);
    let (mut k, mut v): (String, &[u8]) = (String::new(), &[]);
    while let Some((n, p)) = r.field() {
        match n {
            1 => k = string(p)?,
            2 => v = p,
            _ => {}
        }
    }
    Ok((k, v))
}

type Schema = BTreeMap<String, BTreeMap<u64, String>>;

/// The JSON name of a field that holds an embedded Go struct (`json:",inline"`).
const INLINE: &str = "..";

fn schema() -> &'static Schema {
    static DOC: OnceLock<Schema> = OnceLock::new();
    DOC.get_or_init(|| serde_yaml::from_str(include_str!("api/protobuf.yaml")).unwrap_or_default())
}

/// The table entry of a top-level kind: `<apiVersion>.<Kind>` where two groups share a kind
/// name (`events.k8s.io/v1.Event`), else `<Kind>`.
fn kind_entry(api_version: &str, kind: &str) -> String {
    let qualified = format!("{api_version}.{kind}");
    let item = qualified.strip_suffix("List").unwrap_or(&qualified);
    if schema().contains_key(&qualified) || schema().contains_key(item) {
        qualified
    } else {
        kind.to_owned()
    }
}

/// The fields of message `name`; `<Kind>List` is `ListMeta` plus the kind's items.
fn fields_of(name: &str) -> Option<Cow<'static, BTreeMap<u64, String>>> {
    if let Some(f) = schema().get(name) {
        return Some(Cow::Borrowed(f));
    }
    let item = name.strip_suffix("List")?;
    schema().get(item)?;
    Some(Cow::Owned(BTreeMap::from([
        (1, "metadata:ListMeta".to_owned()),
        (2, format!("items:[{item}]")),
    ])))
}

/// A field spec `jsonName:type` split in two (`s` when no type is given).
fn split_spec(spec: &str) -> (&str, &str) {
    spec.split_once(':').unwrap_or((spec, "s"))
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
    let fields = fields_of(name).ok_or_else(ApiError::unsupported_media_type)?;
    let mut reader = Reader::new(bytes);
    let mut out = Map::new();
    while let Some((number, p, raw)) = reader.field_raw() {
        let Some(spec) = fields.get(&number) else {
            continue;
        };
        let (json_name, ty) = split_spec(spec);
        // An embedded Go struct (`json:",inline"`): its fields sit beside ours in JSON.
        if json_name == INLINE {
            if let Value::Object(inner) = message(ty, p, depth + 1)? {
                out.extend(inner);
            }
            continue;
        }
        let value = match ty {
            "s" => json!(string(p)?),
            "i" => json!(varint_value(raw)),
            // Go ints and bools without a pointer: zero means absent.
            "i0" => match varint_value(raw) {
                0 => continue,
                n => json!(n),
            },
            "b0" => match varint_value(raw) {
                0 => continue,
                _ => json!(true),
            },
            "t" | "mt" => match time_value(p, ty == "mt") {
                Some(t) => json!(t),
                None => continue,
            },
            "q" => {
                let mut q = Reader::new(p);
                let mut text = String::new();
                while let Some((n, pp)) = q.field() {
                    if n == 1 {
                        text = string(pp)?;
                    }
                }
                json!(text)
            }
            "fieldsv1" => {
                let mut q = Reader::new(p);
                let mut raw_json = Value::Null;
                while let Some((n, pp)) = q.field() {
                    if n == 1 {
                        raw_json = serde_json::from_slice(pp).map_err(|_| bad())?;
                    }
                }
                raw_json
            }
            "b" => json!(varint_value(raw) != 0),
            "map" | "bytesmap" | "qmap" | "tmap" => {
                let (k, v) = map_entry(p)?;
                let v = match ty {
                    "bytesmap" => json!(base64(v)),
                    "qmap" => {
                        let mut q = Reader::new(v);
                        let mut text = String::new();
                        while let Some((n, p)) = q.field() {
                            if n == 1 {
                                text = string(p)?;
                            }
                        }
                        json!(text)
                    }
                    "tmap" => time_value(v, false).map_or(Value::Null, Value::String),
                    _ => json!(string(v)?),
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
                let items = match inner {
                    "s" => vec![json!(string(p)?)],
                    // Repeated integers: one varint per field, or packed in one payload.
                    "i" if p.is_empty() => vec![json!(varint_value(raw))],
                    "i" => {
                        let mut q = Reader::new(p);
                        std::iter::from_fn(|| q.varint())
                            .map(|v| json!(v.cast_signed()))
                            .collect()
                    }
                    msg => vec![message(msg, p, depth + 1)?],
                };
                let entry = out.entry(json_name.to_owned()).or_insert_with(|| json!([]));
                if let Some(a) = entry.as_array_mut() {
                    a.extend(items);
                }
                continue;
            }
            msg => message(msg.trim_end_matches('*'), p, depth + 1)?,
        };
        // proto2 optional fields that are empty are still sent: keep JSON's shape by
        // leaving out empty strings and empty messages, but for a selector (empty means
        // "everything") and a Go pointer (`Type*`: an empty `emptyDir: {}` means something).
        if value == json!("") || (value == json!({}) && ty != "LabelSelector" && !ty.ends_with('*'))
        {
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
    let mut obj = message(&kind_entry(&api_version, &kind), raw, 0)?;
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

/// A `metav1.Time` message (`seconds`, `nanos`) as RFC 3339, or a `metav1.MicroTime` (`micro`)
/// with six fractional digits as the real server writes it; None for the zero time.
fn time_value(p: &[u8], micro: bool) -> Option<String> {
    let mut r = Reader::new(p);
    let (mut seconds, mut nanos) = (0, 0);
    while let Some((n, _, raw)) = r.field_raw() {
        match n {
            1 => seconds = varint_value(raw),
            2 => nanos = varint_value(raw),
            _ => {}
        }
    }
    if seconds == 0 {
        return None;
    }
    if micro {
        let t = chrono::DateTime::from_timestamp(seconds, u32::try_from(nanos).ok()?)?;
        return Some(t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
    }
    chrono::DateTime::from_timestamp(seconds, 0).map(super::clock::timestamp)
}

/// Protobuf bytes being written: tags, varints, length-delimited fields.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.0.push(u8::try_from(v & 0x7f).unwrap_or(0) | 0x80);
            v >>= 7;
        }
        self.0.push(u8::try_from(v).unwrap_or(0));
    }

    fn int(&mut self, number: u64, v: i64) {
        self.varint(number << 3);
        self.varint(v.cast_unsigned());
    }

    fn bytes(&mut self, number: u64, b: &[u8]) {
        self.varint((number << 3) | 2);
        self.varint(b.len() as u64);
        self.0.extend_from_slice(b);
    }
}

/// The `metav1.Time` message of an RFC 3339 timestamp.
fn time_message(text: &str) -> Option<Vec<u8>> {
    let t = super::clock::parse_ts(text)?;
    let mut out = Out::default();
    out.int(1, t.timestamp());
    out.int(2, i64::from(t.timestamp_subsec_nanos()));
    Some(out.0)
}

/// One field of type `ty` holding `v`; None when `v` does not fit the type or holds a field
/// the schema lacks (the object is then answered as JSON, never cut short).
fn encode_field(out: &mut Out, number: u64, ty: &str, v: &Value, depth: usize) -> Option<()> {
    match ty {
        "s" => out.bytes(number, v.as_str()?.as_bytes()),
        "i" | "i0" => out.int(number, v.as_i64()?),
        "b" | "b0" => out.int(number, i64::from(v.as_bool()?)),
        "t" | "mt" => out.bytes(number, &time_message(v.as_str()?)?),
        "q" => {
            let mut q = Out::default();
            q.bytes(1, v.as_str()?.as_bytes());
            out.bytes(number, &q.0);
        }
        "fieldsv1" => {
            let mut inner = Out::default();
            let text = serde_json::to_vec(v).ok()?;
            inner.bytes(1, &text);
            out.bytes(number, &inner.0);
        }
        "map" | "bytesmap" | "qmap" | "tmap" => {
            // Map entries go out sorted by key, as the generated Go code writes them.
            let mut sorted: Vec<(&String, &Value)> = v.as_object()?.iter().collect();
            sorted.sort_by_key(|(k, _)| *k);
            for (k, val) in sorted {
                let mut entry = Out::default();
                entry.bytes(1, k.as_bytes());
                let text = val.as_str()?;
                match ty {
                    "bytesmap" => {
                        use base64::Engine as _;
                        let raw = base64::engine::general_purpose::STANDARD
                            .decode(text)
                            .ok()?;
                        entry.bytes(2, &raw);
                    }
                    "qmap" => {
                        let mut q = Out::default();
                        q.bytes(1, text.as_bytes());
                        entry.bytes(2, &q.0);
                    }
                    "tmap" => entry.bytes(2, &time_message(text)?),
                    _ => entry.bytes(2, text.as_bytes()),
                }
                out.bytes(number, &entry.0);
            }
        }
        "ios" => {
            let mut m = Out::default();
            if let Value::String(text) = v {
                m.int(1, 1);
                m.int(2, 0);
                m.bytes(3, text.as_bytes());
            } else {
                m.int(1, 0);
                m.int(2, v.as_i64()?);
                m.bytes(3, b"");
            }
            out.bytes(number, &m.0);
        }
        list if list.starts_with('[') => {
            let inner = list.trim_matches(['[', ']']);
            for item in v.as_array()? {
                match inner {
                    "s" => out.bytes(number, item.as_str()?.as_bytes()),
                    "i" => out.int(number, item.as_i64()?),
                    msg => out.bytes(number, &encode_message(msg, item, depth + 1)?),
                }
            }
        }
        msg => out.bytes(
            number,
            &encode_message(msg.trim_end_matches('*'), v, depth + 1)?,
        ),
    }
    Some(())
}

/// Encode `obj` as message `name`, fields in number order; `<Kind>List` is `ListMeta` plus
/// the kind's items. None when a field of `obj` has no number in the schema.
fn encode_message(name: &str, obj: &Value, depth: usize) -> Option<Vec<u8>> {
    if depth > 32 {
        return None;
    }
    let fields = fields_of(name)?;
    let mut present: Vec<(u64, &str, &Value)> = Vec::new();
    // Fields of embedded structs (`..:Type`), gathered into their own objects.
    let mut inlined: BTreeMap<u64, (&str, Map<String, Value>)> = BTreeMap::new();
    for (key, v) in obj.as_object()? {
        if v.is_null() || (depth == 0 && (key == "apiVersion" || key == "kind")) {
            continue;
        }
        if let Some((number, spec)) = fields
            .iter()
            .find(|(_, spec)| split_spec(spec).0 == key.as_str())
        {
            present.push((*number, split_spec(spec).1, v));
            continue;
        }
        let (number, ty) = fields.iter().find_map(|(n, spec)| {
            let (json_name, ty) = split_spec(spec);
            let inner = schema().get(ty)?;
            (json_name == INLINE && inner.values().any(|f| split_spec(f).0 == key.as_str()))
                .then_some((*n, ty))
        })?;
        let entry = inlined.entry(number).or_insert((ty, Map::new()));
        entry.1.insert(key.clone(), v.clone());
    }
    let inlined: Vec<(u64, &str, Value)> = inlined
        .into_iter()
        .map(|(n, (ty, m))| (n, ty, Value::Object(m)))
        .collect();
    present.extend(inlined.iter().map(|(n, ty, v)| (*n, *ty, v)));
    present.sort_by_key(|(n, _, _)| *n);
    let mut out = Out::default();
    for (number, ty, v) in present {
        encode_field(&mut out, number, ty, v, depth)?;
    }
    Some(out.0)
}

/// The protobuf answer for `obj` (envelope `k8s\0` + `runtime.Unknown{typeMeta, raw}`), when
/// every field it holds has a number in `api/protobuf.yaml`; None: answer JSON.
pub fn encode(obj: &Value) -> Option<Vec<u8>> {
    let kind = obj["kind"].as_str()?;
    let api_version = obj["apiVersion"].as_str()?;
    let raw = encode_message(&kind_entry(api_version, kind), obj, 0)?;
    let mut type_meta = Out::default();
    type_meta.bytes(1, api_version.as_bytes());
    type_meta.bytes(2, kind.as_bytes());
    let mut unknown = Out::default();
    unknown.bytes(1, &type_meta.0);
    unknown.bytes(2, &raw);
    unknown.bytes(3, b"");
    unknown.bytes(4, b"");
    let mut body = b"k8s\0".to_vec();
    body.extend_from_slice(&unknown.0);
    Some(body)
}

/// Whether a request's `Accept` puts protobuf first (kubectl's typed clients send
/// `application/vnd.kubernetes.protobuf,application/json`); Tables and watches stay JSON.
pub fn preferred(accept: &str) -> bool {
    let first = accept.split(',').next().unwrap_or_default();
    let mut parts = first.split(';').map(str::trim);
    parts.next() == Some(MEDIA_TYPE)
        && parts.all(|p| !p.starts_with("as=") && !p.starts_with("stream="))
}

/// The media type of protobuf bodies.
pub const MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf";

/// The media type of a protobuf watch stream.
pub const WATCH_MEDIA_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// Whether a watch request's `Accept` puts protobuf first: client-go's typed clients send
/// `application/vnd.kubernetes.protobuf,application/json` (`kubectl events -w`), others
/// `application/vnd.kubernetes.protobuf;stream=watch`. Tables stay JSON.
pub fn watch_preferred(accept: &str) -> bool {
    let first = accept.split(',').next().unwrap_or_default();
    let mut parts = first.split(';').map(str::trim);
    parts.next() == Some(MEDIA_TYPE) && parts.all(|p| !p.starts_with("as="))
}

/// Whether objects of this kind can be answered in protobuf at all (the table has the kind).
pub fn knows_kind(api_version: &str, kind: &str) -> bool {
    schema().contains_key(&kind_entry(api_version, kind))
}

/// One event of a protobuf watch stream, framed as apimachinery's `LengthDelimitedFramer`
/// writes it: a 4-byte big-endian length, then a `metav1.WatchEvent{1 type, 2 object:
/// runtime.RawExtension{1 raw}}` without envelope (the stream's `RawSerializer`), whose raw is
/// the object's own enveloped encoding ([`encode`]). None when the object cannot be encoded.
pub fn watch_frame(event_type: &str, obj: &Value) -> Option<Vec<u8>> {
    let object = encode(obj)?;
    let mut raw = Out::default();
    raw.bytes(1, &object);
    let mut event = Out::default();
    event.bytes(1, event_type.as_bytes());
    event.bytes(2, &raw.0);
    let len = u32::try_from(event.0.len()).ok()?;
    let mut frame = len.to_be_bytes().to_vec();
    frame.extend_from_slice(&event.0);
    Some(frame)
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

    /// A real v1.24 server's protobuf answer to `GET configmaps/vsphere-cloud-config`
    /// (reference exchange 066), and its JSON answer to the same request (exchange 067).
    const RECORDED_PB: &str = "azhzAAoPCgJ2MRIJQ29uZmlnTWFwEoECCr8BChR2c3BoZXJlLWNsb3VkLWNvbmZpZxIAGgtrdWJlLXN5c3RlbSIAKiRmMjJmM2Y1YS0yNjk5LTRlMjUtYTM5OS1jYzIzZmQ4N2IyODMyAjcxOABCCAj4mojYBhAAegCKAV0KDmt1YmVjdGwtY3JlYXRlEgZVcGRhdGUaAnYxIggI+JqI2AYQADIIRmllbGRzVjE6KQoneyJmOmRhdGEiOnsiLiI6e30sImY6dnNwaGVyZS5jb25mIjp7fX19QgASPQoMdnNwaGVyZS5jb25mEi1bR2xvYmFsXQppbnNlY3VyZS1mbGFnID0gInRydWUiCnBvcnQgPSAiNDQzIgoaACIA";
    const RECORDED_JSON: &str = r#"{"kind":"ConfigMap","apiVersion":"v1","metadata":{"name":"vsphere-cloud-config","namespace":"kube-system","uid":"f22f3f5a-2699-4e25-a399-cc23fd87b283","resourceVersion":"71","creationTimestamp":"2026-11-21T21:30:32Z","managedFields":[{"manager":"kubectl-create","operation":"Update","apiVersion":"v1","time":"2026-11-21T21:30:32Z","fieldsType":"FieldsV1","fieldsV1":{"f:data":{".":{},"f:vsphere.conf":{}}}}]},"data":{"vsphere.conf":"[Global]\ninsecure-flag = \"true\"\nport = \"443\"\n"}}"#;

    fn recorded() -> (Vec<u8>, Value) {
        use base64::Engine as _;
        let pb = base64::engine::general_purpose::STANDARD
            .decode(RECORDED_PB)
            .unwrap_or_default();
        let json = serde_json::from_str(RECORDED_JSON).unwrap_or_default();
        (pb, json)
    }

    #[test]
    fn a_real_servers_protobuf_answer_decodes_to_its_json_answer() {
        let (pb, json) = recorded();
        assert_eq!(decode(&pb).ok(), Some(json));
    }

    #[test]
    fn encoded_answers_decode_back_to_the_same_object() {
        let (_, json) = recorded();
        let bytes = encode(&json);
        assert!(bytes.as_ref().is_some_and(|b| b.starts_with(b"k8s\0")));
        assert_eq!(bytes.and_then(|b| decode(&b).ok()), Some(json));
    }

    #[test]
    fn a_small_config_map_encodes_to_hand_checked_bytes() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}});
        let mut want = b"k8s\0".to_vec();
        // Unknown.typeMeta {apiVersion "v1", kind "ConfigMap"}
        want.extend_from_slice(&[0x0a, 0x0f, 0x0a, 0x02, b'v', b'1', 0x12, 0x09]);
        want.extend_from_slice(b"ConfigMap");
        // Unknown.raw: ConfigMap {metadata {name "a"}, data {"k": "v"}}
        want.extend_from_slice(&[0x12, 0x0d, 0x0a, 0x03, 0x0a, 0x01, b'a']);
        want.extend_from_slice(&[0x12, 0x06, 0x0a, 0x01, b'k', 0x12, 0x01, b'v']);
        // Unknown.contentEncoding "", Unknown.contentType ""
        want.extend_from_slice(&[0x1a, 0x00, 0x22, 0x00]);
        assert_eq!(encode(&obj), Some(want));
    }

    #[test]
    fn objects_with_fields_the_table_lacks_are_not_encoded() {
        let class = json!({"apiVersion": "node.k8s.io/v1", "kind": "RuntimeClass",
            "metadata": {"name": "p"}, "handler": "runc"});
        assert_eq!(encode(&class), None);
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
            "spec": {"containers": [{"name": "c", "image": "i", "flavour": "odd"}]}});
        assert_eq!(encode(&pod), None);
        let odd =
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "extra": 1});
        assert_eq!(encode(&odd), None);
        let list = json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {"resourceVersion": "5"},
            "items": [{"metadata": {"name": "a"}}]});
        assert!(encode(&list).is_some());
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": "configmaps \"x\" not found", "reason": "NotFound",
            "details": {"name": "x", "kind": "configmaps"}, "code": 404});
        assert_eq!(encode(&status).and_then(|b| decode(&b).ok()), Some(status));
    }

    #[test]
    fn inline_structs_pointers_quantities_and_micro_times_round_trip() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "db-0"},
            "spec": {"containers": [{"name": "db", "image": "postgres:16",
                "env": [{"name": "USER", "valueFrom": {"configMapKeyRef": {"name": "db", "key": "user"}}}],
                "readinessProbe": {"exec": {"command": ["pg_isready"]}, "periodSeconds": 5},
                "resources": {"limits": {"memory": "1Gi"}},
                "securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}],
                "securityContext": {"supplementalGroups": [1000, 2000]},
                "volumes": [{"name": "scratch", "emptyDir": {}},
                    {"name": "cache", "emptyDir": {"sizeLimit": "1Gi"}}]}});
        assert_eq!(encode(&pod).and_then(|b| decode(&b).ok()), Some(pod));
        let budget = json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
            "metadata": {"name": "web"}, "status": {"disruptionsAllowed": 0,
                "disruptedPods": {"web-1": "2026-12-04T21:16:27Z"}}});
        assert_eq!(encode(&budget).and_then(|b| decode(&b).ok()), Some(budget));
        let secret = json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "bin"},
            "data": {"key": "/w==", "text": "aGk="}, "type": "Opaque"});
        assert_eq!(encode(&secret).and_then(|b| decode(&b).ok()), Some(secret));
        let lease = json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
            "metadata": {"name": "n"}, "spec": {"renewTime": "2026-12-04T21:16:27.123456Z"}});
        assert_eq!(encode(&lease).and_then(|b| decode(&b).ok()), Some(lease));
    }

    #[test]
    fn events_of_both_groups_use_their_own_field_numbers() {
        let core = json!({"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"},
            "reason": "Scheduled"});
        let new = json!({"apiVersion": "events.k8s.io/v1", "kind": "Event",
            "metadata": {"name": "e"}, "reason": "Scheduled"});
        let raw = |obj: &Value| {
            let body = encode(obj).unwrap_or_default();
            let mut r = Reader::new(body.strip_prefix(b"k8s\0").unwrap_or_default());
            let mut inner = Vec::new();
            while let Some((n, p)) = r.field() {
                if n == 2 {
                    inner = p.to_vec();
                }
            }
            inner
        };
        // core/v1 Event.reason is field 3, events.k8s.io/v1 Event.reason field 7.
        assert!(raw(&core).ends_with(&[
            0x1a, 9, b'S', b'c', b'h', b'e', b'd', b'u', b'l', b'e', b'd'
        ]));
        assert!(raw(&new).ends_with(&[
            0x3a, 9, b'S', b'c', b'h', b'e', b'd', b'u', b'l', b'e', b'd'
        ]));
        assert_eq!(encode(&new).and_then(|b| decode(&b).ok()), Some(new));
    }

    #[test]
    fn every_message_the_table_names_has_an_entry() {
        for (name, fields) in schema() {
            for spec in fields.values() {
                let (_, ty) = split_spec(spec);
                let ty = ty.trim_matches(['[', ']']).trim_end_matches('*');
                let scalar = [
                    "s", "i", "i0", "b", "b0", "t", "mt", "q", "ios", "map", "bytesmap", "qmap",
                    "tmap", "fieldsv1",
                ];
                assert!(
                    scalar.contains(&ty) || schema().contains_key(ty),
                    "{name}: {spec}"
                );
            }
        }
    }

    #[test]
    fn watch_frames_are_length_prefixed_watch_events_around_enveloped_objects() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}});
        let frame = watch_frame("ADDED", &obj).unwrap_or_default();
        let object = encode(&obj).unwrap_or_default();
        let mut want = Vec::new();
        // WatchEvent.type "ADDED"
        want.extend_from_slice(&[0x0a, 5]);
        want.extend_from_slice(b"ADDED");
        // WatchEvent.object: RawExtension{raw: the object as a GET answers it}
        want.extend_from_slice(&[0x12, u8::try_from(object.len() + 2).unwrap_or(0), 0x0a]);
        want.push(u8::try_from(object.len()).unwrap_or(0));
        want.extend_from_slice(&object);
        let len = u32::try_from(want.len()).unwrap_or(0).to_be_bytes();
        assert_eq!(frame[..4], len);
        assert_eq!(frame[4..], want[..]);
        assert!(watch_preferred(
            "application/vnd.kubernetes.protobuf;stream=watch"
        ));
        assert!(watch_preferred(
            "application/vnd.kubernetes.protobuf,application/json"
        ));
        assert!(!watch_preferred("application/json"));
        assert!(!watch_preferred(
            "application/vnd.kubernetes.protobuf;as=Table;v=v1;g=meta.k8s.io"
        ));
    }

    #[test]
    fn protobuf_is_answered_only_when_preferred() {
        assert!(preferred(
            "application/vnd.kubernetes.protobuf,application/json"
        ));
        assert!(!preferred(
            "application/json,application/vnd.kubernetes.protobuf"
        ));
        assert!(!preferred(
            "application/vnd.kubernetes.protobuf;stream=watch"
        ));
        assert!(!preferred(""));
    }

    #[test]
    fn garbage_is_a_bad_request_not_a_panic() {
        assert!(decode(b"k8s\0\x0a\xff\xff\xff").is_err());
        assert!(decode(b"nope").is_err());
    }
}
