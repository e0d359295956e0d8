//! Side-by-side comparison of what the same command printed on several nodes.
//!
//! Pure: node outputs in, [`Comparison`] out. Nodes whose outputs are identical form a group;
//! the largest group is the reference ("the majority") and every line of another node that
//! the majority does not have is marked as differing. Clocks get special treatment, because
//! two healthy nodes never print the same second: every timestamp in a line (`Local time:
//! Sat 2026-11-21 10:00:03 UTC`, `date` output, RFC 3339) is read, each node's clock offset
//! from the median node is computed, and
//! - a node beyond the threshold is flagged ("+312 s"), and its lines holding a time differ;
//! - within the threshold, lines that differ only in their timestamps count as equal.
//!
//! To recognise another timestamp format, add a pattern to [`timestamps`] and a test.

use std::sync::LazyLock;

use chrono::{NaiveDate, NaiveDateTime};
use regex::Regex;
use serde::Serialize;

/// One node's output as compared.
#[derive(Debug, Clone, Default)]
pub struct NodeOutput {
    pub name: String,
    /// The output lines, each with the local time (seconds since the epoch) it arrived at,
    /// when known: a node's clock is compared against the moment its line was read.
    pub lines: Vec<(String, Option<f64>)>,
    /// The node gave no usable output (cannot connect, ...): left out of the comparison.
    pub failed: Option<String>,
}

/// What the comparison found.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Comparison {
    /// Per node (input order): the indices of its lines that differ from the majority.
    pub differing: Vec<Vec<usize>>,
    /// Per node: its clock's offset in seconds from the median node, when it printed a time.
    pub offsets: Vec<Option<f64>>,
    /// Per node: its clock is off by more than the threshold.
    pub skewed: Vec<bool>,
    /// Per node: it agrees with the majority (same output, clock within the threshold).
    pub agrees: Vec<bool>,
    /// "3 of 4 nodes agree; node-c differs: +312 s".
    pub summary: String,
}

/// `+312 s`, `-2.5 s`: an offset as shown next to a node's name.
pub fn format_offset(secs: f64) -> String {
    if secs.abs() >= 10.0 {
        format!("{secs:+.0} s")
    } else {
        format!("{secs:+.1} s")
    }
}

/// Compares the outputs; `threshold` is the largest clock offset (seconds) that is no skew.
pub fn compare(nodes: &[NodeOutput], threshold: f64) -> Comparison {
    let n = nodes.len();
    // Each node's clock: the first time it printed, minus the local time it was read at.
    let raw: Vec<Option<f64>> = nodes
        .iter()
        .map(|node| {
            if node.failed.is_some() {
                return None;
            }
            node.lines.iter().find_map(|(text, local)| {
                timestamps(text)
                    .first()
                    .map(|t| t.secs - local.unwrap_or(0.0))
            })
        })
        .collect();
    let mut known: Vec<f64> = raw.iter().flatten().copied().collect();
    known.sort_by(f64::total_cmp);
    let median = match known.len() {
        0 => None,
        k if k % 2 == 1 => Some(known[k / 2]),
        k => Some(f64::midpoint(known[k / 2 - 1], known[k / 2])),
    };
    let offsets: Vec<Option<f64>> = raw
        .iter()
        .map(|r| r.zip(median).map(|(r, m)| r - m))
        .collect();
    let skewed: Vec<bool> = offsets
        .iter()
        .map(|o| o.is_some_and(|o| o.abs() > threshold))
        .collect();

    // Lines with their timestamps masked: the text that must match.
    let normalised: Vec<Vec<String>> = nodes
        .iter()
        .map(|node| node.lines.iter().map(|(t, _)| mask_times(t)).collect())
        .collect();
    // Groups of identical (masked) output among the nodes that answered.
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in (0..n).filter(|&i| nodes[i].failed.is_none()) {
        match groups
            .iter_mut()
            .find(|g| normalised[g[0]] == normalised[i] && skewed[g[0]] == skewed[i])
        {
            Some(g) => g.push(i),
            None => groups.push(vec![i]),
        }
    }
    // The majority: the largest group, preferring unskewed, then the first.
    let majority = groups
        .iter()
        .enumerate()
        .max_by_key(|(k, g)| (g.len(), !skewed[g[0]], std::cmp::Reverse(*k)))
        .map(|(_, g)| g.clone())
        .unwrap_or_default();
    let reference: Vec<&String> = majority
        .first()
        .map(|&r| normalised[r].iter().collect())
        .unwrap_or_default();

    let mut differing = vec![Vec::new(); n];
    let mut agrees = vec![false; n];
    for i in 0..n {
        if nodes[i].failed.is_some() {
            continue;
        }
        agrees[i] = majority.contains(&i) && !skewed[i];
        for (k, line) in normalised[i].iter().enumerate() {
            let has_time = skewed[i] && !timestamps(&nodes[i].lines[k].0).is_empty();
            if has_time || !reference.contains(&line) {
                differing[i].push(k);
            }
        }
    }
    let summary = summary(nodes, &agrees, &offsets, &skewed);
    Comparison {
        differing,
        offsets,
        skewed,
        agrees,
        summary,
    }
}

fn summary(
    nodes: &[NodeOutput],
    agrees: &[bool],
    offsets: &[Option<f64>],
    skewed: &[bool],
) -> String {
    let answered = nodes.iter().filter(|n| n.failed.is_none()).count();
    let agreeing = agrees.iter().filter(|a| **a).count();
    let mut parts = Vec::new();
    if answered > 0 {
        parts.push(if agreeing == answered {
            format!("{answered} of {answered} nodes agree")
        } else {
            format!("{agreeing} of {answered} nodes agree")
        });
    }
    for (i, node) in nodes.iter().enumerate() {
        if let Some(why) = &node.failed {
            parts.push(format!("{}: {why}", node.name));
        } else if skewed[i] {
            let off = offsets[i].map(format_offset).unwrap_or_default();
            parts.push(format!("{} differs: {off}", node.name));
        } else if !agrees[i] {
            parts.push(format!("{} differs", node.name));
        }
    }
    if parts.is_empty() {
        "no node answered".to_owned()
    } else {
        parts.join("; ")
    }
}

/// A timestamp found in a line: where, and when (seconds since the epoch, UTC assumed when
/// the line names no offset).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timestamp {
    pub start: usize,
    pub end: usize,
    pub secs: f64,
}

static ISO: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:?\d{2}\b|\s+(?:UTC|GMT)\b)?",
    )
    .ok()
});
static DATE: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)\s+(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)\s+(\d{1,2})\s+(\d{2}):(\d{2}):(\d{2})(?:\s+([A-Z]{2,5}|[+-]\d{4}))?\s+(\d{4})\b",
    )
    .ok()
});

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Every timestamp in `line`, in order.
pub fn timestamps(line: &str) -> Vec<Timestamp> {
    let mut out = Vec::new();
    if let Some(re) = ISO.as_ref() {
        for c in re.captures_iter(line) {
            let num = |k: usize| c.get(k).and_then(|m| m.as_str().parse::<u32>().ok());
            let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(s)) =
                (num(1), num(2), num(3), num(4), num(5), num(6))
            else {
                continue;
            };
            let frac = c
                .get(7)
                .and_then(|m| format!("0{}", m.as_str()).parse::<f64>().ok())
                .unwrap_or(0.0);
            let zone = c.get(8).map_or(0, |m| zone_offset(m.as_str().trim()));
            if let (Some(secs), Some(m)) = (epoch(y, mo, d, h, mi, s), c.get(0)) {
                out.push(Timestamp {
                    start: m.start(),
                    end: m.end(),
                    secs: secs + frac - f64::from(zone),
                });
            }
        }
    }
    if let Some(re) = DATE.as_ref() {
        for c in re.captures_iter(line) {
            let num = |k: usize| c.get(k).and_then(|m| m.as_str().parse::<u32>().ok());
            let mo = c
                .get(1)
                .and_then(|m| MONTHS.iter().position(|x| *x == m.as_str()))
                .and_then(|p| u32::try_from(p + 1).ok());
            let (Some(mo), Some(d), Some(h), Some(mi), Some(s), Some(y)) =
                (mo, num(2), num(3), num(4), num(5), num(7))
            else {
                continue;
            };
            let zone = c.get(6).map_or(0, |m| zone_offset(m.as_str()));
            if let (Some(secs), Some(m)) = (epoch(y, mo, d, h, mi, s), c.get(0)) {
                out.push(Timestamp {
                    start: m.start(),
                    end: m.end(),
                    secs: secs - f64::from(zone),
                });
            }
        }
    }
    out.sort_by_key(|t| t.start);
    out
}

#[allow(clippy::cast_precision_loss)]
fn epoch(year: u32, month: u32, day: u32, hour: u32, minute: u32, second: u32) -> Option<f64> {
    let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
    let time: NaiveDateTime = date.and_hms_opt(hour, minute, second.min(59))?;
    Some(time.and_utc().timestamp() as f64)
}

/// Seconds east of UTC for `Z`, `+0200`, `-05:30`, `UTC`, `GMT`; 0 for other names (the
/// comparison is relative, so a zone all nodes share cancels out).
fn zone_offset(zone: &str) -> i32 {
    let z = zone.trim();
    let Some(sign) = z
        .strip_prefix('+')
        .map(|r| (1, r))
        .or_else(|| z.strip_prefix('-').map(|r| (-1, r)))
    else {
        return 0;
    };
    let digits: String = sign.1.chars().filter(char::is_ascii_digit).collect();
    let (h, m) = (digits.get(..2), digits.get(2..4));
    match (
        h.and_then(|h| h.parse::<i32>().ok()),
        m.and_then(|m| m.parse::<i32>().ok()),
    ) {
        (Some(h), Some(m)) => sign.0 * (h * 3600 + m * 60),
        _ => 0,
    }
}

/// `line` with every timestamp replaced by `<time>`.
pub fn mask_times(line: &str) -> String {
    let times = timestamps(line);
    if times.is_empty() {
        return line.to_owned();
    }
    let mut out = String::with_capacity(line.len());
    let mut at = 0;
    for t in times {
        if t.start < at {
            continue;
        }
        out.push_str(&line[at..t.start]);
        out.push_str("<time>");
        at = t.end;
    }
    out.push_str(&line[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, text: &str) -> NodeOutput {
        NodeOutput {
            name: name.to_owned(),
            lines: text.lines().map(|l| (l.to_owned(), Some(0.0))).collect(),
            failed: None,
        }
    }

    fn timedatectl(time: &str, synced: &str) -> String {
        format!(
            "               Local time: Sat 2026-11-21 {time} UTC\n           Universal time: Sat 2026-11-21 {time} UTC\n                 RTC time: Sat 2026-11-21 {time}\nSystem clock synchronized: {synced}\n              NTP service: active\n"
        )
    }

    #[test]
    fn reads_the_usual_clock_formats() {
        let t = timestamps("               Local time: Sat 2026-11-21 10:00:03 UTC");
        assert_eq!(t.len(), 1);
        assert!((t[0].secs - 1_795_255_203.0).abs() < 0.5, "{t:?}");
        let date = timestamps("Sat Nov 21 10:00:03 UTC 2026");
        assert_eq!(date.len(), 1);
        assert!((date[0].secs - t[0].secs).abs() < 0.5);
        let rfc = timestamps("at 2026-11-21T12:00:03.5+02:00 done");
        assert!((rfc[0].secs - (t[0].secs + 0.5)).abs() < 0.01, "{rfc:?}");
        assert_eq!(mask_times("now 2026-11-21T10:00:03Z ok"), "now <time> ok");
        assert!(timestamps("fs.file-max = 1000000").is_empty());
        assert!(timestamps("2026-13-45 99:00:00").is_empty(), "not a date");
    }

    #[test]
    fn a_skewed_clock_is_flagged_with_its_offset() {
        let nodes = [
            node("node-a", &timedatectl("10:00:03", "yes")),
            node("node-b", &timedatectl("10:00:04", "yes")),
            node("node-c", &timedatectl("10:05:15", "no")),
        ];
        let c = compare(&nodes, 2.0);
        assert_eq!(c.skewed, [false, false, true]);
        assert_eq!(c.offsets[2].map(format_offset).as_deref(), Some("+311 s"));
        assert_eq!(c.agrees, [true, true, false]);
        // One second apart is no difference worth a highlight.
        assert!(c.differing[0].is_empty() && c.differing[1].is_empty());
        // The skewed node's time lines and its "no" line are highlighted, "NTP service" is not.
        assert_eq!(c.differing[2], [0, 1, 2, 3]);
        assert_eq!(c.summary, "2 of 3 nodes agree; node-c differs: +311 s");
    }

    #[test]
    fn the_local_read_time_cancels_connection_delays() {
        // node-b answered 5 s later (a slow connection) and printed a 5 s later time: no skew.
        let mut b = node("node-b", "Sat Nov 21 10:00:08 UTC 2026");
        b.lines[0].1 = Some(5.0);
        let nodes = [node("node-a", "Sat Nov 21 10:00:03 UTC 2026"), b];
        let c = compare(&nodes, 2.0);
        assert_eq!(c.skewed, [false, false]);
        assert_eq!(c.summary, "2 of 2 nodes agree");
    }

    #[test]
    fn plain_differences_and_failures() {
        let mut down = node("node-d", "");
        down.failed = Some("cannot connect".to_owned());
        let nodes = [
            node("a", "fs.file-max = 1000000\n"),
            node("b", "fs.file-max = 1000000\n"),
            node("c", "fs.file-max = 9223372036854775807\n"),
            down,
        ];
        let c = compare(&nodes, 2.0);
        assert_eq!(c.differing, [vec![], vec![], vec![0], vec![]]);
        assert_eq!(c.agrees, [true, true, false, false]);
        assert_eq!(
            c.summary,
            "2 of 3 nodes agree; c differs; node-d: cannot connect"
        );
        assert_eq!(compare(&[], 2.0).summary, "no node answered");
    }
}
