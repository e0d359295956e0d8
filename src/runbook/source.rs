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
    if lines.first().map(|l| l.trim_end()) != Some("---") {
        return (FrontMatter::default(), 0);
    }
    let Some(end) = lines
        .iter()
        .skip(1)
        .position(|l| matches!(l.trim_end(), "---" | "..."))
    else {
        warnings.push(diag(
            path,
            1,
            Severity::Error,
            "front-matter",
            "front matter opened with `---` is never closed; add a `---` line after it".to_owned(),
        ));
        return (FrontMatter::default(), 1);
    };
    let yaml = lines[1..=end].join("\n");
    if yaml.trim().is_empty() {
        return (FrontMatter::default(), end + 2);
    }
    match serde_yaml::from_str::<FrontMatter>(&yaml) {
        Ok(mut front) => {
            if let Some(checks) = front.extra.remove("checks") {
                front.checks =
                    super::check::from_front_matter(checks, &lines[1..=end], path, warnings);
            }
            (front, end + 2)
        }
        Err(err) => {
            let line = err.location().map_or(2, |l| l.line() + 1);
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
            (FrontMatter::default(), end + 2)
        }
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
