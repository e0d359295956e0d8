//! Diagnose checks declared in a runbook's front matter (`checks:`).
//!
//! A check names the scenario it points to, the resources it reads (`pods`, `nodes`,
//! `ipclaims.ipam.cluster.x-k8s.io`, or a mapping with a namespace and selectors) and a jq
//! program that turns those lists into evidence strings. This module only reads and validates
//! the declaration (keys, resource syntax, positions); compiling and running the jq program is
//! `diagnose`'s job, and `lint` reports a program that does not compile.
//!
//! To add a key: add it to [`CheckDecl`] or [`ReadDecl`] (both refuse unknown keys, so a typo is
//! a lint error), carry it into [`Check`] / [`Read`], and document it in `runbooks/README.md`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Diagnostic, Severity};

/// One check: when its program prints anything, the scenario matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// The scenario this check points to: as written (slug or full id) after parsing, the full
    /// scenario id once the runbook's scenarios are known. None only when unresolvable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// What the check looks for, in a few words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Resource lists the program gets, each under its key.
    pub reads: Vec<Read>,
    /// The jq program: input `{"<key>": [objects...], ..., "now": "<RFC3339>"}`, output one
    /// string per piece of evidence.
    pub jq: String,
    /// How much one piece of evidence counts when ranking (default 1).
    pub weight: u32,
    /// 1-based line of the check's list item in the file.
    pub line: usize,
    /// 1-based file line of the first line of the jq program.
    pub jq_line: usize,
}

/// One resource list a check reads.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Read {
    /// Plural resource name (`pods`, `ipclaims`).
    pub resource: String,
    /// API group; empty for the core group.
    pub group: String,
    /// API version; None for the group's preferred version.
    pub version: Option<String>,
    /// Only this namespace; None for all namespaces (or a cluster-scoped resource).
    pub namespace: Option<String>,
    pub label_selector: Option<String>,
    pub field_selector: Option<String>,
    /// Name of the list in the program's input (default: the plural name).
    pub key: String,
}

impl Read {
    /// The query without the key: two reads with the same query share one list call.
    #[must_use]
    pub fn query(&self) -> Read {
        Read {
            key: String::new(),
            ..self.clone()
        }
    }

    /// `ipclaims.ipam.cluster.x-k8s.io` style name, with the namespace when there is one.
    pub fn display(&self) -> String {
        let mut s = self.resource.clone();
        if !self.group.is_empty() {
            s.push('.');
            s.push_str(&self.group);
        }
        if let Some(ns) = &self.namespace {
            s.push_str(" in ");
            s.push_str(ns);
        }
        s
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckDecl {
    #[serde(default)]
    scenario: Option<String>,
    #[serde(default)]
    description: Option<String>,
    reads: Vec<serde_yaml::Value>,
    jq: String,
    #[serde(default)]
    weight: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ReadDecl {
    resource: String,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    label_selector: Option<String>,
    #[serde(default)]
    field_selector: Option<String>,
    #[serde(default, rename = "as")]
    key: Option<String>,
}

/// Reads the `checks:` value of a front matter whose YAML text is `yaml_lines` (file line 2
/// onwards). Malformed checks become diagnostics and are left out.
pub fn from_front_matter(
    value: serde_yaml::Value,
    yaml_lines: &[&str],
    path: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Vec<Check> {
    let items_at = item_lines(yaml_lines);
    let checks_line = items_at.first().map_or_else(
        || key_line(yaml_lines).unwrap_or(2),
        |&(first, _)| first.saturating_sub(1).max(2),
    );
    let serde_yaml::Value::Sequence(items) = value else {
        warnings.push(bad(
            path,
            checks_line,
            "`checks:` must be a list of checks (`- reads: [...]` with `jq:`)".to_owned(),
        ));
        return Vec::new();
    };
    let mut checks = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let (line, jq_line) = items_at
            .get(i)
            .copied()
            .unwrap_or((checks_line, checks_line));
        match check(item, path, line, jq_line) {
            Ok(c) => checks.push(c),
            Err(d) => warnings.push(d),
        }
    }
    checks
}

fn bad(path: &Path, line: usize, message: String) -> Diagnostic {
    Diagnostic::new(path, line, 1, Severity::Error, "bad-check", message)
}

fn check(
    item: serde_yaml::Value,
    path: &Path,
    line: usize,
    jq_line: usize,
) -> Result<Check, Diagnostic> {
    let decl: CheckDecl = serde_yaml::from_value(item)
        .map_err(|e| bad(path, line, format!("check is malformed: {e}")))?;
    if decl.reads.is_empty() {
        return Err(bad(
            path,
            line,
            "check reads nothing: list resources under `reads:` (`pods`, `nodes`, ...)".into(),
        ));
    }
    let mut reads: Vec<Read> = Vec::new();
    for r in decl.reads {
        let read = read(r).map_err(|m| bad(path, line, m))?;
        if read.key == "now" || reads.iter().any(|o| o.key == read.key) {
            return Err(bad(
                path,
                line,
                format!(
                    "two reads of this check are both called `{}`; give one another name with `as:`",
                    read.key
                ),
            ));
        }
        reads.push(read);
    }
    if decl.jq.trim().is_empty() {
        return Err(bad(path, line, "check has an empty `jq:` program".into()));
    }
    Ok(Check {
        scenario: decl.scenario.filter(|s| !s.trim().is_empty()),
        description: decl.description,
        reads,
        jq: decl.jq,
        weight: decl.weight.unwrap_or(1),
        line,
        jq_line,
    })
}

fn read(value: serde_yaml::Value) -> Result<Read, String> {
    let decl = match value {
        serde_yaml::Value::String(resource) => ReadDecl {
            resource,
            namespace: None,
            label_selector: None,
            field_selector: None,
            key: None,
        },
        other => serde_yaml::from_value::<ReadDecl>(other)
            .map_err(|e| format!("a read is malformed: {e}"))?,
    };
    let (resource, version, group) = split_resource(&decl.resource)?;
    let key = decl.key.unwrap_or_else(|| resource.clone());
    if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!(
            "`as: {key}` is not a plain name (letters, digits, `_`) the program can use as `.{key}`"
        ));
    }
    Ok(Read {
        resource,
        group,
        version,
        namespace: decl.namespace.filter(|n| !n.is_empty()),
        label_selector: decl.label_selector.filter(|s| !s.is_empty()),
        field_selector: decl.field_selector.filter(|s| !s.is_empty()),
        key,
    })
}

/// `plural[.version][.group]`, as kubectl writes it: `pods`, `deployments.apps`,
/// `ipclaims.v1alpha1.ipam.cluster.x-k8s.io`.
fn split_resource(text: &str) -> Result<(String, Option<String>, String), String> {
    let text = text.trim();
    let (plural, rest) = text.split_once('.').unwrap_or((text, ""));
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !valid(plural) {
        return Err(format!(
            "`{text}` is not a resource: use its lowercase plural name (`pods`, `ipclaims.ipam.cluster.x-k8s.io`)"
        ));
    }
    let (first, after) = rest.split_once('.').unwrap_or((rest, ""));
    let (version, group) = if is_version(first) {
        (Some(first.to_owned()), after.to_owned())
    } else {
        (None, rest.to_owned())
    };
    if !group.is_empty() && !group.split('.').all(valid) {
        return Err(format!("`{group}` in `{text}` is not an API group name"));
    }
    Ok((plural.to_owned(), version, group))
}

fn is_version(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('v') else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    if digits == 0 {
        return false;
    }
    let tail = &rest[digits..];
    tail.is_empty()
        || ["alpha", "beta"].iter().any(|p| {
            tail.strip_prefix(p)
                .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        })
}

/// File line of the top-level `checks:` key.
fn key_line(yaml_lines: &[&str]) -> Option<usize> {
    yaml_lines
        .iter()
        .position(|l| l.starts_with("checks:"))
        .map(|i| i + 2)
}

/// For each item of the top-level `checks:` list: its file line and the file line where its
/// jq program starts. YAML is not re-parsed: items are the `- ` lines at the list's indentation.
fn item_lines(yaml_lines: &[&str]) -> Vec<(usize, usize)> {
    let Some(start) = yaml_lines.iter().position(|l| l.starts_with("checks:")) else {
        return Vec::new();
    };
    let mut items: Vec<(usize, usize)> = Vec::new();
    let mut indent: Option<usize> = None;
    for (offset, line) in yaml_lines.iter().enumerate().skip(start + 1) {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let col = line.len() - body.len();
        if col == 0 && !body.starts_with('-') {
            break;
        }
        let file_line = offset + 2;
        if body.starts_with("- ") || body == "-" {
            if indent.is_none() {
                indent = Some(col);
            }
            if Some(col) == indent {
                items.push((file_line, file_line));
                // `- jq: ...` on the item line itself.
                if body[1..].trim_start().starts_with("jq:") {
                    mark_jq(&mut items, body[1..].trim_start(), file_line);
                }
                continue;
            }
        }
        let key = body.strip_prefix("- ").unwrap_or(body);
        if key.starts_with("jq:") && indent.is_some_and(|i| col > i) {
            mark_jq(&mut items, key, file_line);
        }
    }
    items
}

fn mark_jq(items: &mut [(usize, usize)], key: &str, file_line: usize) {
    let value = key.trim_start_matches("jq:").trim();
    let block = value.starts_with('|') || value.starts_with('>');
    if let Some(last) = items.last_mut() {
        last.1 = if block { file_line + 1 } else { file_line };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_names_split_like_kubectl() {
        assert_eq!(
            split_resource("pods").unwrap_or_else(|e| panic!("{e}")),
            ("pods".into(), None, String::new())
        );
        assert_eq!(
            split_resource("ipclaims.ipam.cluster.x-k8s.io").unwrap_or_else(|e| panic!("{e}")),
            ("ipclaims".into(), None, "ipam.cluster.x-k8s.io".into())
        );
        assert_eq!(
            split_resource("ipclaims.v1alpha1.ipam.cluster.x-k8s.io")
                .unwrap_or_else(|e| panic!("{e}")),
            (
                "ipclaims".into(),
                Some("v1alpha1".into()),
                "ipam.cluster.x-k8s.io".into()
            )
        );
        assert!(split_resource("Pods").is_err());
        assert!(split_resource("pods.Apps").is_err());
    }

    #[test]
    fn item_lines_find_each_check_and_its_program() {
        let yaml = [
            "title: x",
            "checks:",
            "  - scenario: a",
            "    reads: [pods]",
            "    jq: |",
            "      .pods[]",
            "  - reads: [nodes]",
            "    jq: '.nodes[]'",
            "tags: []",
        ];
        assert_eq!(item_lines(&yaml), vec![(4, 7), (8, 9)]);
    }
}
