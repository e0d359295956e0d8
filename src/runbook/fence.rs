//! Fence info strings: ```` ```bash hideClipboard title="Example output" {5} timeout=90s ````.
//!
//! The language may be missing or come after the meta (`hideClipboard bash`). Words that are
//! meta (`hideClipboard`, `showLineNumbers`) become attributes set to `"true"`; `key=value` and
//! `key="value"` become attributes; `{5}` / `{4,9}` / `{7-13}` are lines to highlight; runme's
//! `{ name=x interactive=true }` is a group of attributes.

use std::collections::BTreeMap;

/// Highlighted line numbers are capped so that `{1-4000000000}` cannot exhaust memory.
const MAX_HIGHLIGHT: u32 = 10_000;

/// Fence attributes that change how a command block is judged: whether it is asked about,
/// run, handed the terminal, or run on the nodes. `runbook show` and the TUI display them.
pub const JUDGING_ATTRIBUTES: &[&str] =
    &["destructive", "interactive", "manual", "target", "reason"];

/// Words that are never a language.
const META_WORDS: &[&str] = &[
    "hideclipboard",
    "showlinenumbers",
    "nocopy",
    "live",
    "noinline",
];

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FenceInfo {
    pub language: Option<String>,
    pub attributes: BTreeMap<String, String>,
    pub highlight: Vec<u32>,
}

impl FenceInfo {
    pub fn parse(info: &str) -> Self {
        let mut out = Self::default();
        for token in tokens(info) {
            match token {
                Token::Braced(inner) => out.braced(&inner),
                Token::Word(word) => out.word(&word),
            }
        }
        out.highlight.sort_unstable();
        out.highlight.dedup();
        out
    }

    fn word(&mut self, word: &str) {
        if let Some((key, value)) = word.split_once('=')
            && !key.is_empty()
        {
            self.attributes
                .insert(key.to_owned(), unquote(value).to_owned());
            return;
        }
        let lower = word.to_ascii_lowercase();
        if META_WORDS.contains(&lower.as_str()) || self.language.is_some() {
            let key = if lower == "hideclipboard" {
                "hideClipboard"
            } else {
                word
            };
            self.attributes.insert(key.to_owned(), "true".to_owned());
        } else {
            self.language = Some(lower);
        }
    }

    fn braced(&mut self, inner: &str) {
        let inner = inner.trim();
        let is_lines = !inner.is_empty()
            && inner
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ',' | '-' | ' '));
        if !is_lines {
            for token in tokens(inner) {
                if let Token::Word(word) = token {
                    self.word(&word);
                }
            }
            return;
        }
        for part in inner.split(',') {
            let part = part.trim();
            let (a, b) = part.split_once('-').unwrap_or((part, part));
            let (Ok(a), Ok(b)) = (a.trim().parse::<u32>(), b.trim().parse::<u32>()) else {
                continue;
            };
            for line in a.min(b)..=a.max(b).min(a.min(b).saturating_add(MAX_HIGHLIGHT)) {
                if self.highlight.len() >= MAX_HIGHLIGHT as usize {
                    return;
                }
                self.highlight.push(line);
            }
        }
    }
}

enum Token {
    Word(String),
    Braced(String),
}

/// Splits on spaces, keeping `"..."` and `'...'` values and `{...}` groups whole.
fn tokens(info: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut chars = info.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        if c == '{' {
            chars.next();
            let mut inner = String::new();
            for c in chars.by_ref() {
                if c == '}' {
                    break;
                }
                inner.push(c);
            }
            out.push(Token::Braced(inner));
            continue;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match quote {
                Some(q) if c == q => quote = None,
                None if c.is_whitespace() || c == '{' => break,
                None if c == '"' || c == '\'' => quote = Some(c),
                _ => {}
            }
            word.push(c);
            chars.next();
        }
        out.push(Token::Word(word));
    }
    out
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if let Some(inner) = value.strip_prefix(q).and_then(|v| v.strip_suffix(q)) {
            return inner;
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_meta_title_and_lines() {
        let f = FenceInfo::parse(r#"bash hideClipboard title="Example output" {5}"#);
        assert_eq!(f.language.as_deref(), Some("bash"));
        assert_eq!(f.attributes["title"], "Example output");
        assert_eq!(f.attributes["hideClipboard"], "true");
        assert_eq!(f.highlight, [5]);
    }

    #[test]
    fn language_after_meta_and_ranges() {
        let f = FenceInfo::parse("hideClipboard bash {4,9,14} {7-9}");
        assert_eq!(f.language.as_deref(), Some("bash"));
        assert_eq!(f.highlight, [4, 7, 8, 9, 14]);
        let f = FenceInfo::parse("hideClipboard {12}");
        assert_eq!(f.language, None);
        assert_eq!(f.highlight, [12]);
    }

    #[test]
    fn runme_group() {
        let f = FenceInfo::parse("sh { name=POD interactive=true }");
        assert_eq!(f.language.as_deref(), Some("sh"));
        assert_eq!(f.attributes["name"], "POD");
        assert_eq!(f.attributes["interactive"], "true");
    }

    #[test]
    fn huge_ranges_are_capped() {
        let f = FenceInfo::parse("{1-4000000000}");
        assert_eq!(f.highlight.len(), MAX_HIGHLIGHT as usize);
    }
}
