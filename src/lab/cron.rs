//! What a `CronJob`'s `schedule` and `timeZone` mean: admission's check of both, in the real
//! server's words, and the times the controller runs at.
//!
//! The API server validates a schedule with robfig/cron's standard parser; [`problems`] gives
//! its messages (`expected exactly 5 fields, found 3: [a b c]`, `end of range (61) above
//! maximum (59): 61`, ...) so `kubectl create` is refused as a real cluster refuses it, and a
//! stored `CronJob` is always one the real controller could run. The times themselves come from
//! the `croner` crate ([`times`]), in the `CronJob`'s `timeZone` (IANA names, from `chrono-tz`)
//! or UTC; robfig's `@every <duration>`, which croner does not read, counts from the last
//! run. To accept one more schedule form, extend [`robfig_error`] and check `croner` reads it.

use std::str::FromStr as _;

use chrono::{DateTime, TimeDelta, Utc};
use chrono_tz::Tz;
use serde_json::Value;

/// One field error: (field path, reason, message), as [`super::status::ApiError::invalid`]
/// takes them.
pub(crate) type Cause = (String, &'static str, String);

/// The field errors of a `CronJob` spec's `schedule` and `timeZone` (empty: valid).
pub(crate) fn problems(spec: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    let invalid = |field: &str, value: &str, why: String| {
        (
            format!("spec.{field}"),
            "FieldValueInvalid",
            format!("Invalid value: {}: {why}", Value::from(value)),
        )
    };
    match spec["schedule"].as_str() {
        None | Some("") => causes.push((
            "spec.schedule".to_owned(),
            "FieldValueRequired",
            "Required value".to_owned(),
        )),
        Some(schedule) => {
            if let Some(why) = robfig_error(schedule) {
                causes.push(invalid("schedule", schedule, why));
            }
            if schedule.contains("TZ") {
                let why = "cannot use TZ or CRON_TZ in schedule, use timeZone field instead";
                causes.push(invalid("schedule", schedule, why.to_owned()));
            }
        }
    }
    if let Some(zone) = spec["timeZone"].as_str()
        && let Err(why) = zone_problem(zone)
    {
        causes.push(invalid("timeZone", zone, why));
    }
    causes
}

/// Why `zone` is not a time zone the controller can use, in the API server's words.
fn zone_problem(zone: &str) -> Result<Tz, String> {
    if zone.is_empty() {
        return Err("timeZone must be nil or non-empty string".to_owned());
    }
    let part_ok = |p: &str| {
        !matches!(p, "." | "..")
            && !p.starts_with('-')
            && (1..=14).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-+".contains(&b))
    };
    if !zone.split('/').all(part_ok) {
        return Err(format!("unknown time zone {zone}"));
    }
    if zone.eq_ignore_ascii_case("Local") {
        return Err(
            "timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"
                .to_owned(),
        );
    }
    Tz::from_str(zone).map_err(|_| format!("unknown time zone {zone}"))
}

const MONTHS: &[&str] = &[
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: &[&str] = &["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/// robfig/cron v3's error for `spec` under the standard parser (five fields and the
/// descriptors), word for word; `None` when it parses.
fn robfig_error(spec: &str) -> Option<String> {
    let mut spec = spec;
    if spec.starts_with("TZ=") || spec.starts_with("CRON_TZ=") {
        let end = spec.find(' ').unwrap_or(spec.len());
        let zone = spec[..end].split_once('=').map_or("", |(_, z)| z);
        if Tz::from_str(zone).is_err() {
            return Some(format!(
                "provided bad location {zone}: unknown time zone {zone}"
            ));
        }
        spec = spec[end..].trim();
    }
    if spec.is_empty() {
        return Some("empty spec string".to_owned());
    }
    if spec.starts_with('@') {
        return descriptor_error(spec);
    }
    let fields: Vec<&str> = spec.split_whitespace().collect();
    if fields.len() != 5 {
        return Some(format!(
            "expected exactly 5 fields, found {}: [{}]",
            fields.len(),
            fields.join(" ")
        ));
    }
    // (min, max, names and the number of the first name)
    let bounds: [(u64, u64, &[&str], u64); 5] = [
        (0, 59, &[], 0),
        (0, 23, &[], 0),
        (1, 31, &[], 0),
        (1, 12, MONTHS, 1),
        (0, 6, DAYS, 0),
    ];
    fields.iter().zip(bounds).find_map(|(field, bounds)| {
        field
            .split(',')
            .filter(|r| !r.is_empty())
            .find_map(|r| range_error(r, bounds).err())
    })
}

/// robfig's `getRange`: `number | number "-" number [ "/" number ]`, `*` or `?`.
fn range_error(
    expr: &str,
    (min, max, names, first): (u64, u64, &[&str], u64),
) -> Result<(), String> {
    let int = |s: &str| -> Result<u64, String> {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(s)) {
            return Ok(first + i as u64);
        }
        let n: i64 = s.parse().map_err(|e: std::num::ParseIntError| {
            let why = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    "value out of range"
                }
                _ => "invalid syntax",
            };
            format!("failed to parse int from {s}: strconv.Atoi: parsing {s:?}: {why}")
        })?;
        u64::try_from(n).map_err(|_| format!("negative number ({n}) not allowed: {s}"))
    };
    let parts: Vec<&str> = expr.split('/').collect();
    let low_high: Vec<&str> = parts[0].split('-').collect();
    let (start, mut end) = if matches!(low_high[0], "*" | "?") {
        (min, max)
    } else {
        let start = int(low_high[0])?;
        match low_high.len() {
            1 => (start, start),
            2 => (start, int(low_high[1])?),
            _ => return Err(format!("too many hyphens: {expr}")),
        }
    };
    let step = match parts.len() {
        1 => 1,
        2 => {
            if low_high.len() == 1 {
                end = max;
            }
            int(parts[1])?
        }
        _ => return Err(format!("too many slashes: {expr}")),
    };
    if start < min {
        return Err(format!(
            "beginning of range ({start}) below minimum ({min}): {expr}"
        ));
    }
    if end > max {
        return Err(format!(
            "end of range ({end}) above maximum ({max}): {expr}"
        ));
    }
    if start > end {
        return Err(format!(
            "beginning of range ({start}) beyond end of range ({end}): {expr}"
        ));
    }
    if step == 0 {
        return Err(format!("step of range should be a positive number: {expr}"));
    }
    Ok(())
}

/// robfig's descriptors: the nicknames, and `@every <Go duration>`.
fn descriptor_error(spec: &str) -> Option<String> {
    const NICKNAMES: &[&str] = &[
        "@yearly",
        "@annually",
        "@monthly",
        "@weekly",
        "@daily",
        "@midnight",
        "@hourly",
    ];
    if NICKNAMES.contains(&spec) {
        return None;
    }
    let Some(duration) = spec.strip_prefix("@every ") else {
        return Some(format!("unrecognized descriptor: {spec}"));
    };
    go_duration(duration)
        .err()
        .map(|why| format!("failed to parse duration {spec}: {why}"))
}

/// Go's `time.ParseDuration` (`1h30m`, `90s`, `1.5h`), with its error messages.
fn go_duration(orig: &str) -> Result<TimeDelta, String> {
    let invalid = || format!("time: invalid duration {orig:?}");
    let (negative, s) = match orig.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, orig.strip_prefix('+').unwrap_or(orig)),
    };
    if s == "0" {
        return Ok(TimeDelta::zero());
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut rest = s;
    let mut nanos = 0f64;
    while !rest.is_empty() {
        let len = rest
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(rest.len());
        let number: f64 = match &rest[..len] {
            "" | "." => return Err(invalid()),
            n => n.parse().map_err(|_| invalid())?,
        };
        rest = &rest[len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "" => return Err(format!("time: missing unit in duration {orig:?}")),
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return Err(format!("time: unknown unit {unit:?} in duration {orig:?}")),
        };
        nanos += number * scale;
    }
    #[allow(clippy::cast_possible_truncation)]
    let d = TimeDelta::nanoseconds(nanos as i64);
    Ok(if negative { -d } else { d })
}

/// A schedule's times around now: the latest one due, and the next.
pub(crate) type Times = (Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The latest time of `schedule` in `(since, now]`, and the first after `now`, reading the
/// schedule's hours in `zone` (UTC when `None`); `Err` with the parser's message when the
/// schedule or the zone does not parse.
pub(crate) fn times(
    schedule: &str,
    zone: Option<&str>,
    since: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Times, String> {
    if let Some(every) = schedule.strip_prefix("@every ") {
        return every_times(every, since, now);
    }
    let cron = croner::Cron::from_str(schedule).map_err(|e| e.to_string())?;
    let tz = zone.map_or(Ok(Tz::UTC), zone_problem)?;
    let local = now.with_timezone(&tz);
    let due = cron
        .find_previous_occurrence(&local, true)
        .ok()
        .map(|t| t.with_timezone(&Utc))
        .filter(|t| *t > since);
    let next = cron
        .find_next_occurrence(&local, false)
        .ok()
        .map(|t| t.with_timezone(&Utc));
    Ok((due, next))
}

/// robfig's `@every D`: a time every `D` (whole seconds, at least one) from `since`.
fn every_times(every: &str, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<Times, String> {
    let step = go_duration(every)?.num_seconds().max(1);
    let runs = (now - since).num_seconds().max(0) / step;
    let due = (runs > 0).then(|| since + TimeDelta::seconds(runs * step));
    let next = since + TimeDelta::seconds((runs + 1) * step);
    Ok((due, Some(next)))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::{problems, times};
    use crate::lab::clock::parse_ts;

    fn t(s: &str) -> chrono::DateTime<chrono::Utc> {
        parse_ts(s).unwrap_or_else(|| panic!("{s}"))
    }

    /// schedule, zone, since, now -> the due time and the next (`None`: nothing due).
    #[allow(clippy::type_complexity)]
    const CASES: &[(&str, Option<&str>, &str, &str, Option<&str>, &str)] = &[
        (
            "0 1 * * *",
            None,
            "2026-12-03T12:00:00Z",
            "2026-12-04T01:30:00Z",
            Some("2026-12-04T01:00:00Z"),
            "2026-12-05T01:00:00Z",
        ),
        // Nothing is due when the last time is not after `since` (already run, or before the
        // CronJob existed).
        (
            "0 1 * * *",
            None,
            "2026-12-04T01:00:00Z",
            "2026-12-04T01:30:00Z",
            None,
            "2026-12-05T01:00:00Z",
        ),
        // Only the latest of several missed times.
        (
            "*/15 * * * *",
            None,
            "2026-12-04T00:00:00Z",
            "2026-12-04T01:20:00Z",
            Some("2026-12-04T01:15:00Z"),
            "2026-12-04T01:30:00Z",
        ),
        // The nicknames Kubernetes accepts.
        (
            "@hourly",
            None,
            "2026-12-04T01:10:00Z",
            "2026-12-04T01:20:00Z",
            None,
            "2026-12-04T02:00:00Z",
        ),
        (
            "@daily",
            None,
            "2026-12-03T01:10:00Z",
            "2026-12-04T01:20:00Z",
            Some("2026-12-04T00:00:00Z"),
            "2026-12-05T00:00:00Z",
        ),
        // An interval counts from `since` (the last run, or the CronJob's creation).
        (
            "@every 1h30m",
            None,
            "2026-12-04T00:00:00Z",
            "2026-12-04T04:00:00Z",
            Some("2026-12-04T03:00:00Z"),
            "2026-12-04T04:30:00Z",
        ),
        (
            "@every 90s",
            None,
            "2026-12-04T00:00:00Z",
            "2026-12-04T00:01:00Z",
            None,
            "2026-12-04T00:01:30Z",
        ),
        // 01:00 in Tokyo (UTC+9, no summer time) is 16:00 UTC the day before.
        (
            "0 1 * * *",
            Some("Asia/Tokyo"),
            "2026-12-03T12:00:00Z",
            "2026-12-03T16:30:00Z",
            Some("2026-12-03T16:00:00Z"),
            "2026-12-04T16:00:00Z",
        ),
        // New York is UTC-5 in December and UTC-4 in July.
        (
            "30 9 * * *",
            Some("America/New_York"),
            "2026-12-03T00:00:00Z",
            "2026-12-04T15:00:00Z",
            Some("2026-12-04T14:30:00Z"),
            "2026-12-05T14:30:00Z",
        ),
        (
            "30 9 * * *",
            Some("America/New_York"),
            "2026-07-03T00:00:00Z",
            "2026-07-04T15:00:00Z",
            Some("2026-07-04T13:30:00Z"),
            "2026-07-05T13:30:00Z",
        ),
    ];

    #[test]
    fn a_schedule_gives_the_latest_due_time_and_the_next_in_its_zone() {
        for &(schedule, zone, since, now, due, next) in CASES {
            let got = times(schedule, zone, t(since), t(now)).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                got,
                (due.map(t), Some(t(next))),
                "{schedule} in {zone:?} since {since} at {now}"
            );
        }
        let at = t("2026-12-04T01:20:00Z");
        for (bad, zone) in [
            ("61 * * * *", None),
            ("not a schedule", None),
            ("* * * * *", Some("Mars/Olympus")),
        ] {
            assert!(times(bad, zone, at, at).is_err(), "{bad} {zone:?}");
        }
    }

    /// `spec` -> the messages the API server gives (robfig/cron's words for the schedule).
    const REFUSED: &[(&str, &[&str])] = &[
        (
            r#"{"schedule": "not a schedule"}"#,
            &[
                r#"Invalid value: "not a schedule": expected exactly 5 fields, found 3: [not a schedule]"#,
            ],
        ),
        (
            r#"{"schedule": "61 * * * *"}"#,
            &[r#"Invalid value: "61 * * * *": end of range (61) above maximum (59): 61"#],
        ),
        (
            r#"{"schedule": "* * * * 7"}"#,
            &[r#"Invalid value: "* * * * 7": end of range (7) above maximum (6): 7"#],
        ),
        (
            r#"{"schedule": "5-2 * * * *"}"#,
            &[
                r#"Invalid value: "5-2 * * * *": beginning of range (5) beyond end of range (2): 5-2"#,
            ],
        ),
        (
            r#"{"schedule": "* * 0 * *"}"#,
            &[r#"Invalid value: "* * 0 * *": beginning of range (0) below minimum (1): 0"#],
        ),
        (
            r#"{"schedule": "*/0 * * * *"}"#,
            &[r#"Invalid value: "*/0 * * * *": step of range should be a positive number: */0"#],
        ),
        (
            r#"{"schedule": "x * * * *"}"#,
            &[
                r#"Invalid value: "x * * * *": failed to parse int from x: strconv.Atoi: parsing "x": invalid syntax"#,
            ],
        ),
        (
            r#"{"schedule": "@fortnightly"}"#,
            &[r#"Invalid value: "@fortnightly": unrecognized descriptor: @fortnightly"#],
        ),
        (
            r#"{"schedule": "TZ=UTC 0 1 * * *"}"#,
            &[
                r#"Invalid value: "TZ=UTC 0 1 * * *": cannot use TZ or CRON_TZ in schedule, use timeZone field instead"#,
            ],
        ),
        (
            r#"{"schedule": "0 1 * * *", "timeZone": "Mars/Olympus"}"#,
            &[r#"Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus"#],
        ),
        (
            r#"{"schedule": "0 1 * * *", "timeZone": "Local"}"#,
            &[
                r#"Invalid value: "Local": timeZone must be an explicit time zone as defined in https://www.iana.org/time-zones"#,
            ],
        ),
        (
            r#"{"schedule": "@every 5x"}"#,
            &[
                r#"Invalid value: "@every 5x": failed to parse duration @every 5x: time: unknown unit "x" in duration "5x""#,
            ],
        ),
        (
            r#"{"schedule": "@every 5"}"#,
            &[
                r#"Invalid value: "@every 5": failed to parse duration @every 5: time: missing unit in duration "5""#,
            ],
        ),
        (r#"{"schedule": ""}"#, &["Required value"]),
    ];

    #[test]
    fn admission_refuses_what_the_api_server_refuses_in_its_words() {
        for (spec, want) in REFUSED {
            let spec: serde_json::Value =
                serde_json::from_str(spec).unwrap_or_else(|e| panic!("{e}"));
            let got: Vec<String> = problems(&spec).into_iter().map(|(_, _, m)| m).collect();
            assert_eq!(got, *want, "{spec}");
        }
        for good in [
            json!({"schedule": "*/5 * * * *"}),
            json!({"schedule": "0 9-17/2 * JAN-jun mon,FRI"}),
            json!({"schedule": "@every 1h30m"}),
            json!({"schedule": "@weekly", "timeZone": "Europe/Paris"}),
            json!({"schedule": "0 0 1,15 * ?", "timeZone": "Etc/GMT+5"}),
        ] {
            assert_eq!(problems(&good), vec![], "{good}");
            // What admission lets through, the controller can run.
            let schedule = good["schedule"].as_str().unwrap_or_default();
            let at = t("2026-12-04T01:20:00Z");
            let zone = good["timeZone"].as_str();
            assert!(times(schedule, zone, at, at).is_ok(), "{good}");
        }
    }
}
