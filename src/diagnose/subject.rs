//! Which object a piece of evidence is about: the object among those the check read whose
//! `namespace/name` (best) or name (as a whole word) the evidence text contains, longest first.
//! `--emit-events` puts its Event on that object. Evidence that names none of them has no
//! subject.
//!
//! A list's items do not carry `apiVersion` and `kind`; the list's type ([`Items`]) supplies
//! them, so the subject is a full object reference.

use jaq_json::Val;

use super::fetch::Items;

/// An object an Event can point at (`involvedObject`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    /// None for a cluster-scoped object.
    pub namespace: Option<String>,
    pub name: String,
    pub uid: Option<String>,
}

fn field<'a>(v: &'a Val, key: &str) -> Option<&'a Val> {
    match v {
        Val::Obj(map) => map.get(&Val::from(key.to_owned())),
        _ => None,
    }
}

fn text(v: Option<&Val>) -> Option<String> {
    match v {
        Some(Val::TStr(s)) => Some(String::from_utf8_lossy(s).into_owned()),
        _ => None,
    }
}

fn object_ref(item: &Val, list: &Items) -> Option<ObjectRef> {
    let metadata = field(item, "metadata")?;
    Some(ObjectRef {
        api_version: text(field(item, "apiVersion")).unwrap_or_else(|| list.api_version.clone()),
        kind: text(field(item, "kind")).unwrap_or_else(|| list.kind.clone()),
        namespace: text(field(metadata, "namespace")).filter(|n| !n.is_empty()),
        name: text(field(metadata, "name")).filter(|n| !n.is_empty())?,
        uid: text(field(metadata, "uid")),
    })
}

/// Is `word` in `text` with no name character right before or after it?
fn has_word(text: &str, word: &str) -> bool {
    let name_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_');
    text.match_indices(word).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + word.len()..].chars().next();
        // A sentence's full stop after a name is not part of it.
        let after_ok = match after {
            Some('.') => text[at + word.len() + 1..]
                .chars()
                .next()
                .is_none_or(|c| !name_char(c)),
            Some(c) => !name_char(c),
            None => true,
        };
        before.is_none_or(|c| !name_char(c)) && after_ok
    })
}

/// The object `evidence` names among the items of `lists`.
pub fn find<'a>(evidence: &str, lists: impl IntoIterator<Item = &'a Items>) -> Option<ObjectRef> {
    let mut best: Option<(u8, usize, ObjectRef)> = None;
    for list in lists {
        let Val::Arr(items) = &list.items else {
            continue;
        };
        for item in items.iter() {
            let Some(r) = object_ref(item, list) else {
                continue;
            };
            let qualified = r.namespace.as_ref().map(|ns| format!("{ns}/{}", r.name));
            let score = if qualified.as_deref().is_some_and(|q| has_word(evidence, q)) {
                3
            } else if r.name.len() >= 3 && has_word(evidence, &r.name) {
                2
            } else {
                continue;
            };
            let better = best
                .as_ref()
                .is_none_or(|(s, len, _)| (score, r.name.len()) > (*s, *len));
            if better {
                best = Some((score, r.name.len(), r));
            }
        }
    }
    best.map(|(_, _, r)| r)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A list as the API sends it: items without their type.
    fn list(kind: &str, items: serde_json::Value) -> Items {
        Items {
            items: serde_json::from_value(items).unwrap_or_else(|e| panic!("{e}")),
            api_version: "v1".into(),
            kind: kind.into(),
        }
    }

    fn pod(ns: &str, name: &str) -> serde_json::Value {
        serde_json::json!({"metadata": {"namespace": ns, "name": name, "uid": format!("uid-{name}")}})
    }

    #[test]
    fn the_namespaced_name_wins_then_the_longest_whole_name() {
        let pods = list(
            "Pod",
            serde_json::json!([
                pod("default", "upgrade-pod"),
                pod("kube-system", "upgrade"),
                pod("jet-system", "jet-7d9f8c6b5d-q4z7m"),
            ]),
        );
        let r = find("pod default/upgrade-pod is left over", [&pods]);
        assert_eq!(
            r.map(|r| (r.namespace, r.name)),
            Some((Some("default".into()), "upgrade-pod".into()))
        );
        let r = find(
            "pod jet-system/jet-7d9f8c6b5d-q4z7m: container jet is in CrashLoopBackOff",
            [&pods],
        );
        assert_eq!(
            r.map(|r| r.uid),
            Some(Some("uid-jet-7d9f8c6b5d-q4z7m".into()))
        );
        // `upgrade` inside `upgrade-pod` is not a whole word.
        let r = find("the upgrade-pod lingers.", [&pods]).map(|r| r.name);
        assert_eq!(r.as_deref(), Some("upgrade-pod"));
        assert_eq!(find("Calico has IPv6 on", [&pods]), None);
    }

    #[test]
    fn cluster_scoped_objects_are_found_by_name() {
        let nodes = list(
            "Node",
            serde_json::json!([{"metadata": {"name": "mgmt-2"}}]),
        );
        let r = find(
            "node mgmt-2 stamps its heartbeat 4 minutes in the future",
            [&nodes],
        );
        assert_eq!(
            r,
            Some(ObjectRef {
                api_version: "v1".into(),
                kind: "Node".into(),
                namespace: None,
                name: "mgmt-2".into(),
                uid: None,
            })
        );
    }
}
