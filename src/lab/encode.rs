//! Go-compatible JSON output: the byte shape `kube-apiserver` writes.
//!
//! Three quirks matter to clients that compare bytes or print raw bodies:
//! - `<`, `>` and `&` are escaped as `\u003c`, `\u003e`, `\u0026` (Go's HTML-safe encoder);
//! - compact output ends with one `\n`; pretty output (curl User-Agents) has none;
//! - keys come in Go struct order (`kind`, `apiVersion`, `metadata`, `spec`, `status`, ...), not
//!   alphabetically. [`KEY_ORDER`] lists the keys that go first; every other key follows in
//!   alphabetical order. To fix an ordering, add the key to [`KEY_ORDER`] at the right place.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::OnceLock;

use serde_json::Value;

/// Keys written first, in this order; unlisted keys follow alphabetically.
const KEY_ORDER: &[&str] = &[
    "type",
    "object",
    "kind",
    "apiVersion",
    "groupVersion",
    "major",
    "minor",
    "gitVersion",
    "gitCommit",
    "gitTreeState",
    "buildDate",
    "goVersion",
    "compiler",
    "platform",
    "metadata",
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "continue",
    "remainingItemCount",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
    "columnDefinitions",
    "rows",
    "cells",
    "format",
    "description",
    "priority",
    "data",
    "binaryData",
    "items",
    "spec",
    "status",
    "message",
    "reason",
    "details",
    "code",
];

fn rank(key: &str) -> usize {
    static RANKS: OnceLock<HashMap<&'static str, usize>> = OnceLock::new();
    RANKS
        .get_or_init(|| KEY_ORDER.iter().enumerate().map(|(i, k)| (*k, i)).collect())
        .get(key)
        .copied()
        .unwrap_or(KEY_ORDER.len())
}

/// Compact Go-style JSON followed by a newline.
pub fn compact(value: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, None, 0);
    out.push('\n');
    out.into_bytes()
}

/// Indented (2 spaces) Go-style JSON without a trailing newline, as served to curl.
pub fn pretty(value: &Value) -> Vec<u8> {
    let mut out = String::with_capacity(256);
    write_value(&mut out, value, Some(2), 0);
    out.into_bytes()
}

fn newline(out: &mut String, indent: Option<usize>, level: usize) {
    if let Some(width) = indent {
        out.push('\n');
        for _ in 0..width * level {
            out.push(' ');
        }
    }
}

fn write_value(out: &mut String, value: &Value, indent: Option<usize>, level: usize) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return;
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_value(out, item, indent, level + 1);
            }
            newline(out, indent, level);
            out.push(']');
        }
        Value::Object(map) => {
            if map.is_empty() {
                out.push_str("{}");
                return;
            }
            let mut keys: Vec<(usize, &String)> = map.keys().map(|k| (rank(k), k)).collect();
            keys.sort_unstable();
            out.push('{');
            for (i, (_, key)) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, indent, level + 1);
                write_string(out, key);
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                if let Some(v) = map.get(key.as_str()) {
                    write_value(out, v, indent, level + 1);
                }
            }
            newline(out, indent, level);
            out.push('}');
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    // Runs of bytes that need no escape are copied whole; every byte that starts an escape is
    // ASCII or the first of U+2028 / U+2029 (E2 80 A8 / A9), so each cut is a char boundary.
    let mut plain = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            b'<' => "\\u003c",
            b'>' => "\\u003e",
            b'&' => "\\u0026",
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA8) => "\\u2028",
            0xE2 if bytes.get(i + 1) == Some(&0x80) && bytes.get(i + 2) == Some(&0xA9) => "\\u2029",
            b if b < 0x20 => "",
            _ => continue,
        };
        out.push_str(&s[plain..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        plain = if escape.starts_with("\\u20") {
            i + 3
        } else {
            i + 1
        };
    }
    out.push_str(&s[plain..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn escapes_html_and_orders_keys_like_go() {
        let v = json!({"status": {}, "metadata": {"name": "a"}, "kind": "X", "apiVersion": "v1", "cell": "<none>"});
        assert_eq!(
            String::from_utf8_lossy(&compact(&v)),
            "{\"kind\":\"X\",\"apiVersion\":\"v1\",\"metadata\":{\"name\":\"a\"},\"status\":{},\"cell\":\"\\u003cnone\\u003e\"}\n"
        );
    }

    #[test]
    fn strings_escape_like_go_around_plain_runs() {
        let v = json!("a<b>&\"c\\d\n\u{1}é\u{2028}x\u{2029}");
        assert_eq!(
            String::from_utf8_lossy(&compact(&v)),
            "\"a\\u003cb\\u003e\\u0026\\\"c\\\\d\\n\\u0001é\\u2028x\\u2029\"\n"
        );
    }

    #[test]
    fn pretty_has_no_trailing_newline() {
        let v = json!({"a": [1, 2], "b": {}});
        assert_eq!(
            String::from_utf8_lossy(&pretty(&v)),
            "{\n  \"a\": [\n    1,\n    2\n  ],\n  \"b\": {}\n}"
        );
    }
}
