//! From bytes to lines: decoding, front matter, and HTML comments.
//!
//! Everything here keeps line numbers intact: a removed comment leaves its line breaks behind,
//! so that every later diagnostic points at the line a user sees in an editor.

use std::path::Path;

use super::{Diagnostic, FrontMatter, Severity};

/// Decodes a file's bytes: invalid UTF-8 is replaced, NUL bytes are dropped; each with a warning.
pub fn decode(bytes: &[u8], path: &Path, warnings: &mut Vec<Diagnostic>) -> String {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text.to_owned(),
        Err(err) => {
            let valid = &bytes[..err.valid_up_to()];
            let line = 1 + String::from_utf8_lossy(valid).matches('\n').count();
            warnings.push(diag(
                path,
                line,
                Severity::Warning,
                "invalid-utf8",
                "the file is not valid UTF-8; invalid bytes are shown as \u{fffd}".to_owned(),
            ));
            String::from_utf8_lossy(bytes).into_owned()
        }
    };
    if let Some(at) = text.find('\0') {
        let line = 1 + text[..at].matches('\n').count();
        warnings.push(diag(
            path,
            line,
            Severity::Warning,
            "nul-byte",
            "the file contains NUL bytes; they were skipped".to_owned(),
        ));
        return text.replace('\0', "");
    }
    text
}

/// Splits off YAML front matter (`---` on the first line up to the next `---` line). Returns the
/// parsed front matter and the index of the first body line.
pub fn front_matter(
    lines: &[&str],
    path: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> (FrontMatter, usize) {
    let Some(end) = closing_line(lines, path, warnings) else {
        let body = usize::from(lines.first().map(|l| l.trim_end()) == Some("---"));
        return (FrontMatter::default(), body);
    };
    let yaml_lines = &lines[1..=end];
    let front = match yaml_mapping(yaml_lines, path, warnings) {
        Some(mapping) => known_keys(mapping, yaml_lines, path, warnings),
        None => FrontMatter::default(),
    };
    (front, end + 2)
}

/// Index (in `lines`) of the line before the closing `---`, when the file opens with front
/// matter; a front matter that is never closed is reported.
fn closing_line(lines: &[&str], path: &Path, warnings: &mut Vec<Diagnostic>) -> Option<usize> {
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return None;
    }
    let end = lines
        .iter()
        .skip(1)
        .position(|l| matches!(l.trim_end(), "---" | "..."));
    if end.is_none() {
        warnings.push(diag(
            path,
            1,
            Severity::Error,
            "front-matter",
            "front matter opened with `---` is never closed; add a `---` line after it".to_owned(),
        ));
    }
    end
}

/// The front matter's YAML as a mapping: `None` when it is empty, too deep, not YAML or not a
/// mapping (each but the first reported).
fn yaml_mapping(
    yaml_lines: &[&str],
    path: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> Option<serde_yaml::Mapping> {
    if let Some((at, levels)) = super::bounds::yaml_too_deep(yaml_lines) {
        warnings.push(diag(
            path,
            at + 2,
            Severity::Error,
            "front-matter",
            format!(
                "front matter nests {levels} levels deep here (at most {} are read); it was \
                 skipped, the rest of the file loads",
                super::bounds::MAX_YAML_NESTING
            ),
        ));
        return None;
    }
    let yaml = yaml_lines.join("\n");
    if yaml.trim().is_empty() {
        return None;
    }
    // One YAML parse into a tree; the known keys are taken out of it, so that a wrong type in
    // one key loses that key only.
    let tree = match serde_yaml::from_str::<serde_yaml::Value>(&yaml) {
        Ok(tree) => tree,
        Err(err) => {
            // An error found at the end of the YAML (an unclosed `[`) is shown on its last
            // line, not on the closing `---`.
            let line = err
                .location()
                .map_or(2, |l| (l.line() + 1).min(yaml_lines.len() + 1));
            let col = err.location().map_or(1, |l| l.column());
            let mut d = diag(
                path,
                line,
                Severity::Error,
                "front-matter",
                format!(
                    "front matter is not valid YAML: {}",
                    first_sentence(&err.to_string())
                ),
            );
            d.col = col;
            warnings.push(d);
            return None;
        }
    };
    match tree {
        serde_yaml::Value::Mapping(m) => Some(m),
        serde_yaml::Value::Null => None,
        _ => {
            warnings.push(diag(
                path,
                2,
                Severity::Error,
                "front-matter",
                "front matter must be `key: value` lines (a YAML mapping)".to_owned(),
            ));
            None
        }
    }
}

/// Takes the known keys out of the mapping into [`FrontMatter`]; a key of the wrong type is
/// reported and dropped, unknown keys are kept in `extra`.
fn known_keys(
    mapping: serde_yaml::Mapping,
    yaml_lines: &[&str],
    path: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> FrontMatter {
    let mut front = FrontMatter::default();
    for (key, value) in mapping {
        let key = match key {
            serde_yaml::Value::String(k) => k,
            other => serde_yaml::to_string(&other)
                .unwrap_or_default()
                .trim()
                .to_owned(),
        };
        let bad = |key: &str, err: &serde_yaml::Error| {
            diag(
                path,
                key_line(yaml_lines, key),
                Severity::Error,
                "front-matter",
                format!(
                    "front matter key `{key}` is malformed: {}",
                    first_sentence(&err.to_string())
                ),
            )
        };
        match key.as_str() {
            "title" => match serde_yaml::from_value(value) {
                Ok(v) => front.title = v,
                Err(e) => warnings.push(bad(&key, &e)),
            },
            "description" => match serde_yaml::from_value(value) {
                Ok(v) => front.description = v,
                Err(e) => warnings.push(bad(&key, &e)),
            },
            "tags" => match serde_yaml::from_value::<Option<Vec<String>>>(value) {
                Ok(v) => front.tags = v.unwrap_or_default(),
                Err(e) => warnings.push(bad(&key, &e)),
            },
            "symptoms" => match serde_yaml::from_value::<Option<Vec<String>>>(value) {
                Ok(v) => front.symptoms = v.unwrap_or_default(),
                Err(e) => warnings.push(bad(&key, &e)),
            },
            "placeholders" => match serde_yaml::from_value::<
                Option<std::collections::BTreeMap<String, super::PlaceholderDoc>>,
            >(value)
            {
                Ok(v) => front.placeholders = v.unwrap_or_default(),
                Err(e) => warnings.push(bad(&key, &e)),
            },
            "checks" => {
                front.checks = super::check::from_front_matter(value, yaml_lines, path, warnings);
            }
            _ => {
                front.extra.insert(key, value);
            }
        }
    }
    front
}

/// File line of a top-level `key:` of the front matter whose lines are `yaml_lines`.
fn key_line(yaml_lines: &[&str], key: &str) -> usize {
    yaml_lines
        .iter()
        .position(|l| {
            l.strip_prefix(key)
                .is_some_and(|rest| rest.trim_start().starts_with(':'))
        })
        .map_or(2, |i| i + 2)
}

fn first_sentence(message: &str) -> &str {
    message.split(" at line ").next().unwrap_or(message)
}

pub fn diag(
    path: &Path,
    line: usize,
    severity: Severity,
    code: &'static str,
    message: String,
) -> Diagnostic {
    Diagnostic::new(path, line, 1, severity, code, message)
}
