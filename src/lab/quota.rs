//! `ResourceQuota`, as the API server's admission plugin and the quota controller apply it:
//! what a namespace's objects use of each `spec.hard` entry, and whether one more object fits.
//!
//! Tracked: object counts (`pods`, `services`, `configmaps`, `secrets`,
//! `persistentvolumeclaims`, `replicationcontrollers`, `resourcequotas`, and
//! `count/<resource>[.<group>]`) and pod compute (`requests.cpu`, `requests.memory`,
//! `limits.cpu`, `limits.memory`; bare `cpu`/`memory` mean requests). Pods that have finished
//! (Succeeded, Failed) use nothing. A create that would go over a limit is refused 403 with the
//! server's message (`exceeded quota: NAME, requested: ..., used: ..., limited: ...`), and a pod
//! that does not set a compute resource a quota limits is refused with `must specify`. The
//! store calls [`admit`] on every namespaced create; the controllers keep `status.used` current
//! with [`used`]. To track another resource, extend [`counts`] or [`compute`].
//!
//! A leaf: it reads objects handed to it and imports nothing of the store.

use serde_json::{Value, json};

/// A quantity in thousandths of its unit (millicores, millibytes), so `100m` is exact.
type Milli = i128;

/// `100m`, `1.5`, `128Mi`, `1G`, `2e3` as thousandths (rounded up, as the API rounds a
/// quantity finer than its milli scale); `None` for what is not a quantity.
pub(crate) fn parse_quantity(text: &str) -> Option<Milli> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let (whole, frac) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && frac.is_empty() {
        return None;
    }
    let digits: Milli = format!("{whole}{frac}").parse().ok()?;
    let pow10 = |n: u32| Milli::from(10u8).checked_pow(n);
    // The value is digits * num / den.
    let (num, den): (Milli, Milli) = match suffix {
        "" => (1, 1),
        "m" => (1, 1000),
        "k" => (1000, 1),
        "M" => (1_000_000, 1),
        "G" => (pow10(9)?, 1),
        "T" => (pow10(12)?, 1),
        "P" => (pow10(15)?, 1),
        "E" => (pow10(18)?, 1),
        "Ki" => (1 << 10, 1),
        "Mi" => (1 << 20, 1),
        "Gi" => (1 << 30, 1),
        "Ti" => (1 << 40, 1),
        "Pi" => (1 << 50, 1),
        "Ei" => (1 << 60, 1),
        _ => {
            let exp: i32 = suffix.strip_prefix(['e', 'E'])?.parse().ok()?;
            let e = pow10(exp.unsigned_abs())?;
            if exp >= 0 { (e, 1) } else { (1, e) }
        }
    };
    let den = den.checked_mul(pow10(u32::try_from(frac.len()).ok()?)?)?;
    let scaled = digits.checked_mul(num)?.checked_mul(1000)?;
    Some((scaled + den - 1) / den)
}

/// A quantity written back: whole units, or `m` for cpu; binary suffixes for memory.
fn format_quantity(resource: &str, milli: Milli) -> String {
    if resource.ends_with("memory") {
        let bytes = milli / 1000;
        for (suffix, size) in [("Gi", 1i128 << 30), ("Mi", 1 << 20), ("Ki", 1 << 10)] {
            if bytes != 0 && bytes % size == 0 {
                return format!("{}{suffix}", bytes / size);
            }
        }
        return bytes.to_string();
    }
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

/// The object-count entries and the resource each counts (plural, group).
fn counts(key: &str) -> Option<(&str, &str)> {
    if let Some(rest) = key.strip_prefix("count/") {
        return Some(rest.split_once('.').unwrap_or((rest, "")));
    }
    match key {
        "pods"
        | "services"
        | "configmaps"
        | "secrets"
        | "persistentvolumeclaims"
        | "replicationcontrollers"
        | "resourcequotas" => Some((key, "")),
        _ => None,
    }
}

/// The compute entries: (`requests`|`limits`, `cpu`|`memory`).
fn compute(key: &str) -> Option<(&str, &str)> {
    match key {
        "cpu" | "memory" => Some(("requests", key)),
        _ => key.split_once('.').filter(|(kind, what)| {
            matches!(*kind, "requests" | "limits") && matches!(*what, "cpu" | "memory")
        }),
    }
}

/// Whether a pod still uses quota.
fn live_pod(pod: &Value) -> bool {
    !matches!(
        pod["status"]["phase"].as_str(),
        Some("Succeeded" | "Failed")
    ) && !pod["metadata"]["deletionTimestamp"].is_string()
}

/// What one object of `plural.group` adds to `key`.
fn demand(key: &str, plural: &str, group: &str, obj: &Value) -> Milli {
    if let Some((p, g)) = counts(key) {
        let counted = p == plural && g == group && (p != "pods" || !g.is_empty() || live_pod(obj));
        return if counted { 1000 } else { 0 };
    }
    let Some((kind, what)) = compute(key) else {
        return 0;
    };
    if plural != "pods" || !group.is_empty() || !live_pod(obj) {
        return 0;
    }
    containers(obj)
        .filter_map(|c| c["resources"][kind][what].as_str().and_then(parse_quantity))
        .sum()
}

fn containers(pod: &Value) -> impl Iterator<Item = &Value> {
    pod["spec"]["containers"].as_array().into_iter().flatten()
}

/// What the namespace's objects use of `key`, in thousandths; `objects(plural, group)` lists
/// the namespace's objects of a resource.
fn usage<'a>(key: &str, objects: &dyn Fn(&str, &str) -> Vec<&'a Value>) -> Milli {
    // A count entry counts its resource; a compute entry sums the pods'.
    let (plural, group) = counts(key).unwrap_or(("pods", ""));
    objects(plural, group)
        .into_iter()
        .map(|o| demand(key, plural, group, o))
        .sum()
}

/// What the namespace's objects use of each of `quota`'s hard entries, as `status.used`
/// writes it.
pub(crate) fn used<'a>(quota: &Value, objects: &dyn Fn(&str, &str) -> Vec<&'a Value>) -> Value {
    let mut used = json!({});
    for (key, _) in hard(quota) {
        used[key] = json!(format_quantity(key, usage(key, objects)));
    }
    used
}

fn hard(quota: &Value) -> impl Iterator<Item = (&str, Milli)> {
    quota["spec"]["hard"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k.as_str(), parse_quantity(v.as_str()?)?)))
}

/// Whether one more object of `plural.group` fits every quota; `Err` is the admission
/// message after `... is forbidden: `.
pub(crate) fn admit<'a>(
    quotas: &[&Value],
    plural: &str,
    group: &str,
    obj: &Value,
    objects: &dyn Fn(&str, &str) -> Vec<&'a Value>,
) -> Result<(), String> {
    for quota in quotas {
        let name = quota["metadata"]["name"].as_str().unwrap_or_default();
        // A pod must say what it asks of each compute resource a quota limits.
        if plural == "pods" && group.is_empty() {
            let mut missing = Vec::new();
            let mut keys: Vec<&str> = hard(quota)
                .map(|(k, _)| k)
                .filter(|k| compute(k).is_some())
                .collect();
            keys.sort_unstable();
            for key in keys {
                let Some((kind, what)) = compute(key) else {
                    continue;
                };
                let lacking: Vec<&str> = containers(obj)
                    .filter(|c| c["resources"][kind][what].is_null())
                    .filter_map(|c| c["name"].as_str())
                    .collect();
                if !lacking.is_empty() {
                    missing.push(format!("{kind}.{what} for: {}", lacking.join(",")));
                }
            }
            if !missing.is_empty() {
                return Err(format!(
                    "failed quota: {name}: must specify {}",
                    missing.join("; ")
                ));
            }
        }
        let mut over = Vec::new();
        for (key, limit) in hard(quota) {
            let want = demand(key, plural, group, obj);
            if want == 0 {
                continue;
            }
            let now = usage(key, objects);
            if now + want > limit {
                over.push((key, want, now, limit));
            }
        }
        if !over.is_empty() {
            over.sort_by_key(|(k, ..)| *k);
            // One `key=value` list per column: requested, used, limited.
            let list = |column: usize| {
                over.iter()
                    .map(|&(key, want, now, limit)| {
                        let q = [want, now, limit][column];
                        format!("{key}={}", format_quantity(key, q))
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            };
            return Err(format!(
                "exceeded quota: {name}, requested: {}, used: {}, limited: {}",
                list(0),
                list(1),
                list(2)
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_as_the_api_writes_them() {
        for (text, milli) in [
            ("100m", 100),
            ("1", 1000),
            ("1.5", 1500),
            ("2k", 2_000_000),
            ("128Mi", 128 * 1024 * 1024 * 1000),
            ("1Gi", 1024 * 1024 * 1024 * 1000),
            ("1G", 1_000_000_000_000),
            ("64Ki", 64 * 1024 * 1000),
            ("2e3", 2_000_000),
            ("0", 0),
        ] {
            assert_eq!(parse_quantity(text), Some(milli), "{text}");
        }
        for bad in ["", "abc", "1Qi", "m"] {
            assert_eq!(parse_quantity(bad), None, "{bad}");
        }
        assert_eq!(format_quantity("requests.cpu", 500), "500m");
        assert_eq!(format_quantity("limits.cpu", 2000), "2");
        assert_eq!(
            format_quantity("requests.memory", 128 * 1024 * 1024 * 1000),
            "128Mi"
        );
        assert_eq!(format_quantity("pods", 3000), "3");
    }

    /// A namespace holding `pods` and nothing else.
    fn only_pods<'a>(pods: &'a [&'a Value]) -> impl Fn(&str, &str) -> Vec<&'a Value> {
        move |plural, _| {
            if plural == "pods" {
                pods.to_vec()
            } else {
                Vec::new()
            }
        }
    }

    #[test]
    fn a_pod_over_its_quota_is_refused_with_the_servers_words() {
        let quota = json!({"metadata": {"name": "q"}, "spec": {"hard": {"pods": "2", "requests.cpu": "1"}}});
        let pod = |cpu: &str| json!({"spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]}});
        let (a, b) = (pod("400m"), pod("400m"));
        let two = [&a, &b];
        let objects = only_pods(&two);
        let err = admit(&[&quota], "pods", "", &pod("100m"), &objects)
            .err()
            .unwrap_or_default();
        assert_eq!(
            err,
            "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"
        );
        let one = [&a];
        let objects = only_pods(&one);
        let err = admit(&[&quota], "pods", "", &pod("700m"), &objects)
            .err()
            .unwrap_or_default();
        assert_eq!(
            err,
            "exceeded quota: q, requested: requests.cpu=700m, used: requests.cpu=400m, limited: requests.cpu=1"
        );
        assert_eq!(admit(&[&quota], "pods", "", &pod("600m"), &objects), Ok(()));
        let bare = json!({"spec": {"containers": [{"name": "web"}, {"name": "side"}]}});
        assert_eq!(
            admit(&[&quota], "pods", "", &bare, &objects)
                .err()
                .unwrap_or_default(),
            "failed quota: q: must specify requests.cpu for: web,side"
        );
        // Other resources pass a pod quota by.
        assert_eq!(
            admit(&[&quota], "configmaps", "", &json!({}), &objects),
            Ok(())
        );
        assert_eq!(
            used(&quota, &objects),
            json!({"pods": "1", "requests.cpu": "400m"})
        );
    }
}
