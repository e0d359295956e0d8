//! Time as the lab's objects and kubectl's columns spell it: RFC 3339 timestamps and Go's
//! `HumanDuration` for every AGE cell. A leaf of the lab: it imports nothing of ours, so the
//! store, the printers and the reactions can all use it.

use chrono::{DateTime, SecondsFormat, TimeDelta, Utc};
use serde_json::Value;

/// The lab's clock.
pub fn now() -> DateTime<Utc> {
    Utc::now()
}

pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// An RFC 3339 timestamp, as a real server parses `sinceTime` and creation stamps.
pub fn parse_ts(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

/// The AGE of `ts` at `now`; `<unknown>` for a timestamp that does not parse.
pub(crate) fn age_str(ts: &str, now: DateTime<Utc>) -> String {
    parse_ts(ts).map_or_else(|| "<unknown>".to_owned(), |t| human_duration(now - t))
}

/// Go's `duration.HumanDuration` (k8s.io/apimachinery), used for every AGE cell.
pub fn human_duration(d: chrono::TimeDelta) -> String {
    let seconds = d.num_seconds();
    if seconds < -1 {
        return "<invalid>".into();
    }
    if seconds < 0 {
        return "0s".into();
    }
    if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 {
            format!("{minutes}m")
        } else {
            format!("{minutes}m{s}s")
        };
    }
    if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = minutes / 60;
    if hours < 8 {
        let m = minutes % 60;
        return if m == 0 {
            format!("{hours}h")
        } else {
            format!("{hours}h{m}m")
        };
    }
    if hours < 48 {
        return format!("{hours}h");
    }
    if hours < 24 * 8 {
        let h = hours % 24;
        return if h == 0 {
            format!("{}d", hours / 24)
        } else {
            format!("{}d{h}h", hours / 24)
        };
    }
    if hours < 24 * 365 * 2 {
        return format!("{}d", hours / 24);
    }
    if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        return if dy == 0 {
            format!("{}y", hours / 24 / 365)
        } else {
            format!("{}y{dy}d", hours / 24 / 365)
        };
    }
    format!("{}y", hours / 24 / 365)
}

/// Replace relative times (`now`, `now-5m`, `now-1h-30m`) in every string of `v`.
pub fn resolve_times(v: &Value, now: DateTime<Utc>) -> Value {
    let mut out = v.clone();
    resolve_times_in_place(&mut out, now);
    out
}

/// [`resolve_times`] on an object the caller owns, without copying it.
pub fn resolve_times_in_place(v: &mut Value, now: DateTime<Utc>) {
    match v {
        Value::String(s) => {
            if let Some(t) = relative_time(s, now) {
                *s = t;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| resolve_times_in_place(x, now)),
        Value::Object(m) => m.values_mut().for_each(|x| resolve_times_in_place(x, now)),
        _ => {}
    }
}

fn relative_time(s: &str, now: DateTime<Utc>) -> Option<String> {
    let mut rest = s.strip_prefix("now")?;
    let mut t = now;
    while !rest.is_empty() {
        let sign = match rest.as_bytes()[0] {
            b'-' => -1,
            b'+' => 1,
            _ => return None,
        };
        rest = &rest[1..];
        let digits = rest.find(|c: char| !c.is_ascii_digit())?;
        let n: i64 = rest[..digits].parse().ok()?;
        let unit = rest[digits..].chars().next()?;
        let d = match unit {
            's' => TimeDelta::seconds(n),
            'm' => TimeDelta::minutes(n),
            'h' => TimeDelta::hours(n),
            'd' => TimeDelta::days(n),
            _ => return None,
        };
        t += d * sign;
        rest = &rest[digits + 1..];
    }
    Some(timestamp(t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations_match_go() {
        let d = chrono::TimeDelta::seconds;
        assert_eq!(human_duration(d(4)), "4s");
        assert_eq!(human_duration(d(301)), "5m1s");
        assert_eq!(human_duration(d(45 * 60)), "45m");
        assert_eq!(human_duration(d(29 * 3600)), "29h");
        assert_eq!(human_duration(d(3 * 86400 + 3600)), "3d1h");
    }

    #[test]
    fn relative_times() {
        let now =
            DateTime::parse_from_rfc3339("2026-01-01T12:00:00Z").map(|t| t.with_timezone(&Utc));
        let Ok(now) = now else { return };
        assert_eq!(
            relative_time("now-1h-30m", now).as_deref(),
            Some("2026-01-01T10:30:00Z")
        );
        assert_eq!(
            relative_time("now", now).as_deref(),
            Some("2026-01-01T12:00:00Z")
        );
        assert_eq!(relative_time("nowhere", now), None);
        assert_eq!(relative_time("mgmt", now), None);
    }
}
