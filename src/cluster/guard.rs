//! Guard rails per context, from the config:
//!
//! ```toml
//! [contexts."prod-*"]          # a context name, or a glob over names
//! guard = "confirm-name"       # type the context's name before a destructive command
//! [contexts.lab]
//! guard = "read-only"          # read-only whatever the mode: the gate refuses cluster writes
//! ```
//!
//! An exact name wins over globs; among globs the longest pattern wins. What read-only and
//! dry-run guarantee is enforced elsewhere: cluster writes at the API by [`super::gate`],
//! everything else by the classifier's read-only proof (`crate::exec::safety`).

use std::collections::BTreeMap;

use serde::Deserialize;

/// What a context's rule asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guard {
    /// The session's mode applies (confirm each destructive command by default).
    #[default]
    Normal,
    /// Read-only, and the mode cannot be switched away from it: cluster writes are refused at
    /// the API, other commands run only when shown to only read.
    ReadOnly,
    /// Dry run: cluster writes go to the API server with `dryRun=All`; commands that do not
    /// only read are shown, not run.
    DryRun,
    /// A destructive command runs only after the context's name is typed.
    ConfirmName,
}

impl Guard {
    /// A word for the status bar, or nothing for [`Guard::Normal`].
    pub fn badge(self) -> Option<&'static str> {
        match self {
            Self::Normal => None,
            Self::ReadOnly => Some("READ-ONLY"),
            Self::DryRun => Some("DRY-RUN"),
            Self::ConfirmName => Some("PROTECTED"),
        }
    }
}

/// One `[contexts."pattern"]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextRule {
    #[serde(default)]
    pub guard: Guard,
}

/// The rule for `context` among the configured ones.
pub fn guard_for(rules: &BTreeMap<String, ContextRule>, context: &str) -> Guard {
    if let Some(rule) = rules.get(context) {
        return rule.guard;
    }
    rules
        .iter()
        .filter(|(pattern, _)| {
            globset::Glob::new(pattern).is_ok_and(|g| g.compile_matcher().is_match(context))
        })
        .max_by_key(|(pattern, _)| pattern.len())
        .map(|(_, rule)| rule.guard)
        .unwrap_or_default()
}

/// Patterns in the config that are not valid globs, for a warning at start.
pub fn bad_patterns(rules: &BTreeMap<String, ContextRule>) -> Vec<String> {
    rules
        .keys()
        .filter(|p| globset::Glob::new(p).is_err())
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(pairs: &[(&str, Guard)]) -> BTreeMap<String, ContextRule> {
        pairs
            .iter()
            .map(|(p, g)| ((*p).to_owned(), ContextRule { guard: *g }))
            .collect()
    }

    #[test]
    fn exact_names_beat_globs_and_longer_globs_beat_shorter() {
        let r = rules(&[
            ("prod-*", Guard::ConfirmName),
            ("prod-eu-*", Guard::ReadOnly),
            ("prod-east", Guard::DryRun),
        ]);
        assert_eq!(guard_for(&r, "prod-east"), Guard::DryRun);
        assert_eq!(guard_for(&r, "prod-eu-1"), Guard::ReadOnly);
        assert_eq!(guard_for(&r, "prod-us-1"), Guard::ConfirmName);
        assert_eq!(guard_for(&r, "lab"), Guard::Normal);
    }

    #[test]
    fn reports_bad_globs() {
        let r = rules(&[("prod-[", Guard::ReadOnly)]);
        assert_eq!(bad_patterns(&r), ["prod-["]);
        assert_eq!(
            guard_for(&r, "prod-["),
            Guard::ReadOnly,
            "exact still matches"
        );
    }
}
