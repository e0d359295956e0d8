//! From bytes to lines: decoding, front matter, and HTML comments.
//!
//! Everything here keeps line numbers intact: a removed comment leaves its line breaks behind,
//! so that every later diagnostic points at the line a user sees in an editor.

use std::borrow::Cow;
use std::path::Path;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{Diagnostic, FrontMatter, Severity};

/// Decodes a file's bytes: invalid UTF-8 is replaced, NUL bytes are dropped; each with a warning.
/// A valid file without NUL bytes (nearly every file) is borrowed, not copied.
pub fn decode<'b>(bytes: &'b [u8], path: &Path, warnings: &mut Vec<Diagnostic>) -> Cow<'b, str> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => Cow::Borrowed(text),
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
            String::from_utf8_lossy(bytes)
        }
    };
    if let Some(at) = memchr::memchr(0, text.as_bytes()) {
        let line = 1 + memchr::memchr_iter(b'\n', &text.as_bytes()[..at]).count();
        warnings.push(diag(
            path,
            line,
            Severity::Warning,
            "nul-byte",
            "the file contains NUL bytes; they were skipped".to_owned(),
        ));
        return Cow::Owned(text.replace('\0', ""));
    }
    text
}

/// The lines of `text` as [`str::lines`] splits them (`\n` or `\r\n`, no empty last line),
/// found with `memchr` into a vector sized once.
pub fn lines(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(memchr::memchr_iter(b'\n', bytes).count() + 1);
    let mut start = 0;
    for end in memchr::memchr_iter(b'\n', bytes) {
        let line = &text[start..end];
        out.push(line.strip_suffix('\r').unwrap_or(line));
        start = end + 1;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// Finds the YAML front matter (`---` on the first line up to the next `---` line) without
/// reading it: the index of its last line (`None`: no front matter, or one never closed, which
/// is reported) and the index of the first body line.
pub fn front_matter_end(
    lines: &[&str],
    path: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> (Option<usize>, usize) {
    let Some(end) = closing_line(lines, path, warnings) else {
        let body = usize::from(lines.first().map(|l| l.trim_end()) == Some("---"));
        return (None, body);
    };
    (Some(end), end + 2)
}

/// Reads the front matter's YAML lines (those between the `---`s) into its fields; what is
/// wrong is reported with its line and loses only itself.
pub fn read_front_matter(
    yaml_lines: &[&str],
    path: &Path,
    warnings: &mut Vec<Diagnostic>,
) -> FrontMatter {
    match yaml_mapping(yaml_lines, path, warnings) {
        Some(Read::Direct(mut front, checks)) => {
            if let Some(checks) = checks {
                front.checks = super::check::from_front_matter(checks, yaml_lines, path, warnings);
            }
            front
        }
        Some(Read::Tree(mapping)) => known_keys(mapping, yaml_lines, path, warnings),
        None => FrontMatter::default(),
    }
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

/// The front matter's YAML, read: `None` when it is empty, too deep, not YAML or not a mapping
/// (each but the first reported).
fn yaml_mapping(yaml_lines: &[&str], path: &Path, warnings: &mut Vec<Diagnostic>) -> Option<Read> {
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
    // The common case, a front matter with nothing wrong in it, is read in one pass straight
    // into its fields; any surprise falls back to the tree below, which says what was wrong.
    if let Ok(Direct { front, checks }) = serde_yaml::from_str::<Direct>(&yaml) {
        return Some(Read::Direct(front, checks));
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
        serde_yaml::Value::Mapping(m) => Some(Read::Tree(m)),
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

/// A front matter as read by [`yaml_mapping`].
enum Read {
    /// Read in one pass ([`Direct`]); the `checks:` value is still to be read.
    Direct(FrontMatter, Option<serde_yaml::Value>),
    /// Read as a tree, when the one pass found something wrong: [`known_keys`] reports it.
    Tree(serde_yaml::Mapping),
}

/// The front matter read straight from `serde_yaml`'s events into its fields: no
/// `serde_yaml::Value` tree for the known keys, and no second conversion out of one. It holds
/// the same values [`known_keys`] would take out of the tree, or fails: a key that is not a
/// string, a key given twice, a value of the wrong type, or a plain scalar that YAML reads as a
/// number, boolean or null where a string belongs. The caller then reads the tree, which says
/// which key was wrong and keeps the others. `placeholders:`, `checks:` and unknown keys are
/// read as values as before (their own readers report with lines).
struct Direct {
    front: FrontMatter,
    checks: Option<serde_yaml::Value>,
}

impl<'de> Deserialize<'de> for Direct {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DirectVisitor)
    }
}

struct DirectVisitor;

impl<'de> Visitor<'de> for DirectVisitor {
    type Value = Direct;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a mapping of front matter keys")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Direct, A::Error> {
        let mut front = FrontMatter::default();
        let mut checks = None;
        let mut seen = [false; 6];
        while let Some(Text(key)) = map.next_key()? {
            let known = [
                "title",
                "description",
                "tags",
                "symptoms",
                "placeholders",
                "checks",
            ]
            .iter()
            .position(|k| *k == key);
            if let Some(i) = known
                && std::mem::replace(&mut seen[i], true)
            {
                return Err(de::Error::custom("a key given twice"));
            }
            match key.as_str() {
                "title" => front.title = map.next_value::<MaybeText>()?.0,
                "description" => front.description = map.next_value::<MaybeText>()?.0,
                "tags" => front.tags = map.next_value::<TextList>()?.0,
                "symptoms" => front.symptoms = map.next_value::<TextList>()?.0,
                "placeholders" => {
                    let value: serde_yaml::Value = map.next_value()?;
                    front.placeholders = serde_yaml::from_value::<
                        Option<std::collections::BTreeMap<String, super::PlaceholderDoc>>,
                    >(value)
                    .map_err(de::Error::custom)?
                    .unwrap_or_default();
                }
                "checks" => checks = Some(map.next_value()?),
                _ => {
                    let value = map.next_value()?;
                    if front.extra.insert(key, value).is_some() {
                        return Err(de::Error::custom("a key given twice"));
                    }
                }
            }
        }
        Ok(Direct { front, checks })
    }
}

/// A string where the `Value` tree would hold a `Value::String`: quoted, or a plain scalar
/// YAML does not read as null, a boolean or a number.
struct Text(String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor).map(Text)
    }
}

struct TextVisitor;

impl Visitor<'_> for TextVisitor {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<String, E> {
        Ok(v.to_owned())
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<String, E> {
        Ok(v)
    }
}

/// `Option<String>` as `serde_yaml::from_value` reads it from the tree: null is `None`.
struct MaybeText(Option<String>);

impl<'de> Deserialize<'de> for MaybeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Option<String>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or nothing")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Option<String>, E> {
                Ok(None)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<String>, E> {
                Ok(Some(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Option<String>, E> {
                Ok(Some(v))
            }
        }
        d.deserialize_any(V).map(MaybeText)
    }
}

/// `Option<Vec<String>>` as read from the tree, null being the empty list.
struct TextList(Vec<String>);

impl<'de> Deserialize<'de> for TextList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Vec<String>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of strings or nothing")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Vec<String>, E> {
                Ok(Vec::new())
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<String>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4).min(64));
                while let Some(Text(item)) = seq.next_element()? {
                    out.push(item);
                }
                Ok(out)
            }
        }
        d.deserialize_any(V).map(TextList)
    }
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The tree's reading of `yaml`, with what it reported.
    fn by_tree(yaml: &str) -> (FrontMatter, Vec<Diagnostic>) {
        let lines: Vec<&str> = yaml.lines().collect();
        let mut warnings = Vec::new();
        let serde_yaml::Value::Mapping(m) = serde_yaml::from_str(yaml).unwrap() else {
            panic!("not a mapping: {yaml}")
        };
        let front = known_keys(m, &lines, Path::new("t.md"), &mut warnings);
        (front, warnings)
    }

    fn direct(yaml: &str) -> Option<FrontMatter> {
        let lines: Vec<&str> = yaml.lines().collect();
        let mut warnings = Vec::new();
        let Direct { mut front, checks } = serde_yaml::from_str::<Direct>(yaml).ok()?;
        if let Some(c) = checks {
            front.checks =
                super::super::check::from_front_matter(c, &lines, Path::new("t.md"), &mut warnings);
        }
        Some(front)
    }

    #[test]
    fn lines_split_as_str_lines_does() {
        for text in [
            "",
            "\n",
            "a",
            "a\n",
            "a\r\nb",
            "a\rb\r\n\r\n",
            "\n\nx\r",
            "é\n\r\nü\r\r\n",
        ] {
            assert_eq!(lines(text), text.lines().collect::<Vec<_>>(), "{text:?}");
        }
    }

    #[test]
    fn the_one_pass_reads_what_the_tree_reads() {
        let mut cases: Vec<String> = Vec::new();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in [
            "runbooks/enterprise",
            "runbooks/pcg",
            "runbooks/packs",
            "runbooks/vmware",
        ] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap().flatten() {
                let text = std::fs::read_to_string(entry.path()).unwrap();
                let rest = text.strip_prefix("---\n").unwrap();
                cases.push(rest[..rest.find("\n---\n").unwrap()].to_owned());
            }
        }
        assert!(cases.len() >= 20, "{}", cases.len());
        cases.extend(
            [
                "title: 'quoted: yes'\ntags: []\nsymptoms: ~",
                "title:\ndescription: \"two\\nlines\"\narea: x\nsource: [1, {a: b}]",
                "tags: [\"1\", '2', three]\nsymptoms:\n  - a # comment\n  - \"b\"",
                "placeholders:\n  pod:\n    description: d\n    secret: true\n    pick: {resource: pods}",
                "anchor: &a x\nother: *a\ntitle: t",
                "'quoted key': 1\n\"title\": T",
            ]
            .map(str::to_owned),
        );
        for yaml in &cases {
            let got = direct(yaml).unwrap_or_else(|| panic!("the one pass refused:\n{yaml}"));
            let (want, warnings) = by_tree(yaml);
            assert!(warnings.is_empty(), "{yaml}: {warnings:?}");
            assert_eq!(got, want, "{yaml}");
        }
    }

    /// What the tree reads differently, or reports, is never read by the one pass.
    #[test]
    fn the_one_pass_refuses_what_the_tree_reports_or_converts() {
        for yaml in [
            "title: 123",
            "title: true",
            "description: [a]",
            "tags: a",
            "tags: [a, 1]",
            "symptoms: [a, ~]",
            "title: a\ntitle: b",
            "x: 1\nx: 2",
            "1: one",
            "true: yes",
            "title: !tag x",
            "placeholders: [a]",
            "placeholders:\n  p:\n    secret: maybe",
            "- a\n- b",
            "just a string",
        ] {
            assert!(direct(yaml).is_none(), "{yaml}");
        }
    }
}
