//! `labelSelector` and `fieldSelector` parsing and matching, with the real server's 400 messages.
//!
//! Label selectors support `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k` and `!k`.
//! Field selectors support `=`, `==` and `!=` on the fields each resource accepts; to let one more
//! field be selected, add it to [`field_value`] for its resource.

use serde_json::Value;

use super::resources::ResourceType;
use super::status::ApiError;

#[derive(Debug, Clone, PartialEq)]
enum Op {
    Eq(String),
    NotEq(String),
    In(Vec<String>),
    NotIn(Vec<String>),
    Exists,
    NotExists,
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelSelector {
    reqs: Vec<(String, Op)>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Open,
    Close,
    Comma,
    Eq,
    DoubleEq,
    NotEq,
    Bang,
    In,
    NotIn,
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => s.clone(),
        Tok::Open => "(".into(),
        Tok::Close => ")".into(),
        Tok::Comma => ",".into(),
        Tok::Eq => "=".into(),
        Tok::DoubleEq => "==".into(),
        Tok::NotEq => "!=".into(),
        Tok::Bang => "!".into(),
        Tok::In => "in".into(),
        Tok::NotIn => "notin".into(),
    }
}

fn lex(s: &str) -> Vec<Tok> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1;
            }
            ')' => {
                out.push(Tok::Close);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            '=' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push(Tok::DoubleEq);
                    i += 2;
                } else {
                    out.push(Tok::Eq);
                    i += 1;
                }
            }
            '!' => {
                if chars.get(i + 1) == Some(&'=') {
                    out.push(Tok::NotEq);
                    i += 2;
                } else {
                    out.push(Tok::Bang);
                    i += 1;
                }
            }
            _ => {
                let start = i;
                while i < chars.len() && !" \t(),=!".contains(chars[i]) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                out.push(match word.as_str() {
                    "in" => Tok::In,
                    "notin" => Tok::NotIn,
                    _ => Tok::Ident(word),
                });
            }
        }
    }
    out
}

fn parse_err(msg: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(format!("unable to parse requirement: {msg}"))
}

impl LabelSelector {
    pub fn parse(s: &str) -> Result<Self, ApiError> {
        let toks = lex(s);
        let mut reqs = Vec::new();
        let mut i = 0;
        while i < toks.len() {
            let (key, op, next) = parse_requirement(&toks, i)?;
            validate_key(&key)?;
            reqs.push((key, op));
            i = next;
            match toks.get(i) {
                None => break,
                Some(Tok::Comma) => {
                    i += 1;
                    if i >= toks.len() {
                        return Err(parse_err("found '', expected: identifier"));
                    }
                }
                Some(t) => {
                    return Err(parse_err(format!(
                        "found '{}', expected: ',' or 'end of string'",
                        tok_text(t)
                    )));
                }
            }
        }
        Ok(Self { reqs })
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.reqs.is_empty()
    }

    pub fn matches(&self, labels: &Value) -> bool {
        self.reqs.iter().all(|(key, op)| {
            let v = labels.get(key).and_then(Value::as_str);
            match op {
                Op::Eq(want) => v == Some(want.as_str()),
                Op::NotEq(want) => v != Some(want.as_str()),
                Op::In(set) => v.is_some_and(|v| set.iter().any(|s| s == v)),
                Op::NotIn(set) => v.is_none_or(|v| !set.iter().any(|s| s == v)),
                Op::Exists => v.is_some(),
                Op::NotExists => v.is_none(),
            }
        })
    }
}

fn validate_key(key: &str) -> Result<(), ApiError> {
    let ok = !key.is_empty()
        && key.len() <= 317
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c));
    if ok {
        Ok(())
    } else {
        Err(parse_err(format!("invalid label key \"{key}\"")))
    }
}

fn parse_requirement(toks: &[Tok], mut i: usize) -> Result<(String, Op, usize), ApiError> {
    if toks.get(i) == Some(&Tok::Bang) {
        i += 1;
        return match toks.get(i) {
            Some(Tok::Ident(k)) => Ok((k.clone(), Op::NotExists, i + 1)),
            Some(t) => Err(parse_err(format!(
                "found '{}', expected: identifier",
                tok_text(t)
            ))),
            None => Err(parse_err("found '', expected: identifier")),
        };
    }
    let key = match toks.get(i) {
        Some(Tok::Ident(k)) => k.clone(),
        Some(t) => {
            return Err(parse_err(format!(
                "found '{}', expected: !, identifier, or 'end of string'",
                tok_text(t)
            )));
        }
        None => return Err(parse_err("found '', expected: identifier")),
    };
    i += 1;
    match toks.get(i) {
        None | Some(Tok::Comma) => Ok((key, Op::Exists, i)),
        Some(Tok::Eq | Tok::DoubleEq) => {
            let (v, n) = single_value(toks, i + 1);
            Ok((key, Op::Eq(v), n))
        }
        Some(Tok::NotEq) => {
            let (v, n) = single_value(toks, i + 1);
            Ok((key, Op::NotEq(v), n))
        }
        Some(t @ (Tok::In | Tok::NotIn)) => {
            let is_in = *t == Tok::In;
            i += 1;
            match toks.get(i) {
                Some(Tok::Open) => {}
                Some(t) => {
                    return Err(parse_err(format!("found '{}' expected: '('", tok_text(t))));
                }
                None => return Err(parse_err("found '' expected: '('")),
            }
            i += 1;
            let mut values = Vec::new();
            loop {
                match toks.get(i) {
                    Some(Tok::Ident(v)) => {
                        values.push(v.clone());
                        i += 1;
                    }
                    Some(Tok::Close) => {
                        i += 1;
                        break;
                    }
                    Some(Tok::Comma) => i += 1,
                    Some(t) => {
                        return Err(parse_err(format!(
                            "found '{}', expected: ',', ')' or identifier",
                            tok_text(t)
                        )));
                    }
                    None => return Err(parse_err("found '', expected: ')'")),
                }
            }
            Ok((
                key,
                if is_in {
                    Op::In(values)
                } else {
                    Op::NotIn(values)
                },
                i,
            ))
        }
        Some(t) => Err(parse_err(format!(
            "found '{}', expected: in, notin, =, ==, !=, gt, lt",
            tok_text(t)
        ))),
    }
}

fn single_value(toks: &[Tok], i: usize) -> (String, usize) {
    match toks.get(i) {
        Some(Tok::Ident(v)) => (v.clone(), i + 1),
        _ => (String::new(), i),
    }
}

/// A parsed field selector: `field=value` / `field!=value` terms, all of which must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSelector {
    terms: Vec<(String, bool, String)>,
}

impl FieldSelector {
    /// Parse and check every field against what `rt` supports (400 like the real server).
    pub fn parse(s: &str, rt: &ResourceType) -> Result<Self, ApiError> {
        let mut terms = Vec::new();
        for part in split_unescaped(s) {
            if part.is_empty() {
                continue;
            }
            let (field, eq, value) = if let Some((f, v)) = part.split_once("!=") {
                (f, false, v)
            } else if let Some((f, v)) = part.split_once("==") {
                (f, true, v)
            } else if let Some((f, v)) = part.split_once('=') {
                (f, true, v)
            } else {
                return Err(ApiError::bad_request(format!(
                    "invalid selector: '{s}'; can't understand '{part}'"
                )));
            };
            let field = field.trim().to_owned();
            if !supported(rt, &field) {
                return Err(unsupported(rt, &field));
            }
            terms.push((field, eq, value.trim().replace("\\,", ",")));
        }
        Ok(Self { terms })
    }

    /// Whether the selector selects everything.
    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    pub fn matches(&self, rt: &ResourceType, obj: &Value) -> bool {
        self.terms.iter().all(|(field, eq, want)| {
            let got = field_value(rt, obj, field).unwrap_or_default();
            (got == *want) == *eq
        })
    }
}

fn split_unescaped(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_backslash = false;
    for c in s.chars() {
        if c == ',' && !prev_backslash {
            out.push(std::mem::take(&mut cur));
        } else {
            cur.push(c);
        }
        prev_backslash = c == '\\';
    }
    out.push(cur);
    out
}

/// Resources with their own field-label conversion answer "field label not supported"; the
/// others use the generic metadata-only conversion and its different message.
fn own_conversion(rt: &ResourceType) -> bool {
    rt.custom
        || (rt.group.is_empty()
            && matches!(
                rt.plural.as_str(),
                "pods"
                    | "nodes"
                    | "namespaces"
                    | "events"
                    | "secrets"
                    | "replicationcontrollers"
                    | "persistentvolumes"
                    | "persistentvolumeclaims"
            ))
        || rt.plural == "replicasets"
        || rt.plural == "jobs"
}

fn unsupported(rt: &ResourceType, field: &str) -> ApiError {
    if own_conversion(rt) {
        ApiError::bad_request(format!("field label not supported: {field}"))
    } else {
        ApiError::bad_request(format!(
            "\"{field}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
        ))
    }
}

fn supported(rt: &ResourceType, field: &str) -> bool {
    if field == "metadata.name"
        || (field == "metadata.namespace" && rt.plural != "namespaces" && rt.plural != "nodes")
    {
        return true;
    }
    if !rt.group.is_empty() {
        return false;
    }
    match rt.plural.as_str() {
        "pods" => matches!(
            field,
            "spec.nodeName"
                | "spec.restartPolicy"
                | "spec.schedulerName"
                | "spec.serviceAccountName"
                | "status.phase"
                | "status.podIP"
                | "status.nominatedNodeName"
        ),
        "namespaces" => field == "status.phase",
        "nodes" => field == "spec.unschedulable",
        "events" => matches!(
            field,
            "involvedObject.kind"
                | "involvedObject.namespace"
                | "involvedObject.name"
                | "involvedObject.uid"
                | "involvedObject.apiVersion"
                | "involvedObject.resourceVersion"
                | "involvedObject.fieldPath"
                | "reason"
                | "reportingComponent"
                | "source"
                | "type"
        ),
        "secrets" => field == "type",
        _ => false,
    }
}

/// The string value a field selector compares, as the real server computes it.
pub fn field_value(rt: &ResourceType, obj: &Value, field: &str) -> Option<String> {
    let s = |v: &Value| v.as_str().map(str::to_owned);
    match field {
        "metadata.name" => s(&obj["metadata"]["name"]),
        "metadata.namespace" => s(&obj["metadata"]["namespace"]),
        "spec.unschedulable" => Some(
            obj["spec"]["unschedulable"]
                .as_bool()
                .unwrap_or(false)
                .to_string(),
        ),
        "source" if rt.plural == "events" => s(&obj["source"]["component"]),
        _ => {
            let mut cur = obj;
            for part in field.split('.') {
                cur = cur.get(part)?;
            }
            match cur {
                Value::String(v) => Some(v.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors() {
        let labels = json!({"app": "hubble", "tier": "x"});
        for (sel, want) in [
            ("app=hubble", true),
            ("app==hubble", true),
            ("app!=hubble", false),
            ("app in (hubble,relay)", true),
            ("app notin (hubble)", false),
            ("tier", true),
            ("!tier", false),
            ("!missing,app=hubble", true),
            ("", true),
        ] {
            assert_eq!(
                LabelSelector::parse(sel).map(|s| s.matches(&labels)).ok(),
                Some(want),
                "{sel}"
            );
        }
    }

    #[test]
    fn label_selector_error_matches_real_server() {
        let err = LabelSelector::parse("app in hubble")
            .err()
            .map(|e| e.message);
        assert_eq!(
            err.as_deref(),
            Some("unable to parse requirement: found 'hubble' expected: '('")
        );
    }
}
