//! `LimitRange` admission for containers, as the API server's `LimitRanger` plugin applies it to
//! a pod being created: `default` limits and `defaultRequest` requests filled in where a
//! container sets none (and the `kubernetes.io/limit-ranger` annotation saying so), then `min`
//! and `max` enforced with the server's words. Only `type: Container` limits are read; a
//! `LimitRange`'s `defaultRequest` is defaulted from `default`, entry by entry, as the API does. Runs
//! before [`super::quota`], so a quota counts the defaulted requests. A leaf: it reads the
//! objects handed to it.

use serde_json::{Value, json};

use super::quota::parse_quantity;

/// The API's defaults of a `LimitRange` being stored: for each `Container` item, `default`
/// takes `max` where it has no entry, `defaultRequest` takes `default`, then `min`.
pub(crate) fn defaults(range: &mut Value) {
    let Some(items) = range["spec"]["limits"].as_array_mut() else {
        return;
    };
    for item in items.iter_mut().filter(|i| i["type"] == "Container") {
        for (to, from) in [
            ("default", "max"),
            ("defaultRequest", "default"),
            ("defaultRequest", "min"),
        ] {
            let source = item[from].clone();
            for (resource, value) in source.as_object().into_iter().flatten() {
                if item[to][resource].is_null() {
                    item[to][resource] = value.clone();
                }
            }
        }
    }
}

/// Fill in `pod`'s containers from `ranges` and check them; `Err` is the message after
/// `pods "x" is forbidden: `.
pub(crate) fn admit(ranges: &[&Value], pod: &mut Value) -> Result<(), String> {
    let limits: Vec<&Value> = ranges
        .iter()
        .filter_map(|r| r["spec"]["limits"].as_array())
        .flatten()
        .filter(|l| l["type"] == "Container")
        .collect();
    if limits.is_empty() {
        return Ok(());
    }
    let mut said = Vec::new();
    let mut errors = Vec::new();
    let Some(containers) = pod["spec"]["containers"].as_array_mut() else {
        return Ok(());
    };
    for c in containers.iter_mut() {
        let cname = c["name"].as_str().unwrap_or_default().to_owned();
        let mut set_requests = Vec::new();
        let mut set_limits = Vec::new();
        for l in &limits {
            // The API defaults each `defaultRequest` entry from `default`.
            let mut default_request = l["default"].clone();
            for (r, v) in l["defaultRequest"].as_object().into_iter().flatten() {
                default_request[r] = v.clone();
            }
            fill(c, "requests", &default_request, &mut set_requests);
            fill(c, "limits", &l["default"], &mut set_limits);
        }
        if !set_requests.is_empty() {
            said.push(format!(
                "{} request for container {cname}",
                set_requests.join(", ")
            ));
        }
        if !set_limits.is_empty() {
            said.push(format!(
                "{} limit for container {cname}",
                set_limits.join(", ")
            ));
        }
        for l in &limits {
            bounds(c, l, &mut errors);
        }
    }
    if !errors.is_empty() {
        return Err(if errors.len() == 1 {
            errors.remove(0)
        } else {
            format!("[{}]", errors.join(", "))
        });
    }
    if !said.is_empty() {
        pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"] =
            json!(format!("LimitRanger plugin set: {}", said.join("; ")));
    }
    Ok(())
}

/// Sets `container.resources.<field>[r]` from `defaults` where it is absent.
fn fill(container: &mut Value, field: &str, defaults: &Value, set: &mut Vec<String>) {
    for (resource, value) in defaults.as_object().into_iter().flatten() {
        if container["resources"][field][resource].is_null() {
            container["resources"][field][resource] = value.clone();
            set.push(resource.clone());
        }
    }
}

/// `min` against requests (and limits), `max` against limits, in the server's words.
fn bounds(container: &Value, limit: &Value, errors: &mut Vec<String>) {
    let amount = |field: &str, r: &str| {
        container["resources"][field][r]
            .as_str()
            .and_then(|s| parse_quantity(s).map(|q| (q, s.to_owned())))
    };
    for (resource, min) in limit["min"].as_object().into_iter().flatten() {
        let Some(floor) = min.as_str().and_then(parse_quantity) else {
            continue;
        };
        let min_text = min.as_str().unwrap_or_default();
        match amount("requests", resource) {
            Some((q, text)) if q < floor => errors.push(format!(
                "minimum {resource} usage per Container is {min_text}, but request is {text}"
            )),
            None => errors.push(format!(
                "minimum {resource} usage per Container is {min_text}.  No request is specified"
            )),
            _ => {}
        }
    }
    for (resource, max) in limit["max"].as_object().into_iter().flatten() {
        let Some(ceiling) = max.as_str().and_then(parse_quantity) else {
            continue;
        };
        let max_text = max.as_str().unwrap_or_default();
        match amount("limits", resource) {
            Some((q, text)) if q > ceiling => errors.push(format!(
                "maximum {resource} usage per Container is {max_text}, but limit is {text}"
            )),
            None => errors.push(format!(
                "maximum {resource} usage per Container is {max_text}.  No limit is specified"
            )),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_fill_in_and_bounds_refuse() {
        let range = json!({"spec": {"limits": [{"type": "Container",
            "default": {"cpu": "500m", "memory": "256Mi"},
            "defaultRequest": {"cpu": "100m"},
            "min": {"cpu": "50m"}, "max": {"cpu": "1", "memory": "1Gi"}}]}});
        let mut pod = json!({"metadata": {}, "spec": {"containers": [{"name": "web"}]}});
        assert_eq!(admit(&[&range], &mut pod), Ok(()));
        let r = &pod["spec"]["containers"][0]["resources"];
        assert_eq!(r["requests"], json!({"cpu": "100m", "memory": "256Mi"}));
        assert_eq!(r["limits"], json!({"cpu": "500m", "memory": "256Mi"}));
        assert_eq!(
            pod["metadata"]["annotations"]["kubernetes.io/limit-ranger"],
            "LimitRanger plugin set: cpu, memory request for container web; cpu, memory limit for container web"
        );
        let mut big = json!({"metadata": {}, "spec": {"containers": [{"name": "big",
            "resources": {"limits": {"cpu": "2"}, "requests": {"cpu": "10m"}}}]}});
        assert_eq!(
            admit(&[&range], &mut big),
            Err("[minimum cpu usage per Container is 50m, but request is 10m, maximum cpu usage per Container is 1, but limit is 2]".to_owned())
        );
        // Without a Container limit nothing changes.
        let mut plain = json!({"spec": {"containers": [{"name": "x"}]}});
        let before = plain.clone();
        // Stored, a LimitRange's defaults come from max, default and min.
        let mut stored = json!({"spec": {"limits": [{"type": "Container",
            "max": {"cpu": "1", "memory": "1Gi"}, "default": {"cpu": "500m"}, "min": {"ephemeral-storage": "1Gi"}}]}});
        defaults(&mut stored);
        assert_eq!(
            stored["spec"]["limits"][0]["default"],
            json!({"cpu": "500m", "memory": "1Gi"})
        );
        assert_eq!(
            stored["spec"]["limits"][0]["defaultRequest"],
            json!({"cpu": "500m", "memory": "1Gi", "ephemeral-storage": "1Gi"})
        );
        assert_eq!(
            admit(
                &[&json!({"spec": {"limits": [{"type": "Pod", "max": {"cpu": "1"}}]}})],
                &mut plain
            ),
            Ok(())
        );
        assert_eq!(plain, before);
    }
}
