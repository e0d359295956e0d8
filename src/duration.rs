//! Durations as people type and read them: `90s`, `1m30s`, `500ms`, `2h`, or a plain number
//! of seconds. One parser and one printer for every flag, config key, runbook attribute and
//! message, so `--timeout`, `timeout=` on a block and `cluster_timeout` in the config accept
//! the same spellings and every message prints the same way.
//!
//! A leaf: it imports nothing of ours. A new unit goes in [`unit_seconds`].

use std::time::Duration;

/// `90s`, `2m`, `1h`, `500ms`, `1m30s`, `1.5s`, or a number of seconds; `None` if it is none of
/// these.
pub fn parse(text: &str) -> Option<Duration> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return (secs >= 0.0 && secs.is_finite()).then(|| Duration::from_secs_f64(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit() && c != '.')?;
        let (num, after) = rest.split_at(digits);
        let n: f64 = num.parse().ok()?;
        let unit_len = after
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_len);
        let secs = n * unit_seconds(unit)?;
        if !secs.is_finite() {
            return None;
        }
        total = total.checked_add(Duration::try_from_secs_f64(secs).ok()?)?;
        rest = next;
    }
    Some(total)
}

/// Seconds in one `unit`.
fn unit_seconds(unit: &str) -> Option<f64> {
    Some(match unit {
        "ms" => 0.001,
        "s" | "sec" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        _ => return None,
    })
}

/// A command-line limit (clap `value_parser`): a duration of more than zero and at most an
/// hour, or a message that says what to type.
pub fn limit_arg(text: &str) -> Result<Duration, String> {
    let d = parse(text).ok_or_else(|| {
        format!(
            "`{}` is not a duration: use e.g. 10s, 1500ms or 2m",
            text.trim()
        )
    })?;
    if d.is_zero() || d > Duration::from_secs(3600) {
        return Err(format!(
            "`{}` must be more than 0 and at most an hour",
            text.trim()
        ));
    }
    Ok(d)
}

/// `250ms`, `10s`, `1.5s`, `1m30s`, `2h05m`.
pub fn humanize(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        return format!("{ms}ms");
    }
    let s = d.as_secs();
    match s {
        0..60 if d.subsec_millis() == 0 => format!("{s}s"),
        0..60 => format!("{:.1}s", d.as_secs_f64()),
        60..3600 => format!("{}m{:02}s", s / 60, s % 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings() {
        assert_eq!(parse("90s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse("x"), None);
        assert_eq!(parse("5y"), None);
        assert_eq!(parse("1e308h"), None);
    }

    #[test]
    fn limits() {
        assert_eq!(limit_arg("10s"), Ok(Duration::from_secs(10)));
        assert!(limit_arg("0s").is_err_and(|e| e.contains("more than 0")));
        assert!(limit_arg("2h").is_err_and(|e| e.contains("at most an hour")));
        assert!(limit_arg("soon").is_err_and(|e| e.contains("not a duration")));
    }

    #[test]
    fn printed() {
        assert_eq!(humanize(Duration::from_millis(200)), "200ms");
        assert_eq!(humanize(Duration::from_secs(10)), "10s");
        assert_eq!(humanize(Duration::from_millis(1500)), "1.5s");
        assert_eq!(humanize(Duration::from_secs(90)), "1m30s");
        assert_eq!(humanize(Duration::from_secs(7500)), "2h05m");
    }
}
