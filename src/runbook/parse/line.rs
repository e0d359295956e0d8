//! Pass 1: the MDX lexer. Turns the body into classified lines, with fences already gathered
//! into one item each and HTML comments removed.
//!
//! MDX, not `CommonMark`, decides block structure here: fences, headings and list markers count
//! at any indentation (there are no indented code blocks), and a fence closes only on a line
//! holding nothing but a run of its own character at least as long as the one that opened it.

use std::borrow::Cow;

/// Tabs count as this many spaces of indentation.
const TAB_WIDTH: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    Blank,
    Heading {
        level: usize,
        text: Cow<'a, str>,
    },
    Fence(Fence),
    Item {
        indent: usize,
        ordered: bool,
        marker: Cow<'a, str>,
        content_indent: usize,
        text: Cow<'a, str>,
    },
    AdmonitionOpen {
        kind: String,
        title: Option<String>,
    },
    AdmonitionClose,
    Tag(Tag),
    /// `import X from '...'` and `export const ...` lines of MDX.
    Import,
    Text {
        indent: usize,
        text: Cow<'a, str>,
    },
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fence {
    pub indent: usize,
    pub info: String,
    pub code: String,
    /// `false` when the file ended before the closing fence.
    pub closed: bool,
    /// 1-based line of a fence-looking line inside a longer fence (four backticks holding three).
    pub nested_fence_line: Option<usize>,
}

/// A JSX/HTML tag that fills its whole line: `<Tabs>`, `<TabItem label="x">`, `</InfoBox>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub closing: bool,
    pub self_closing: bool,
    pub attrs: String,
}

impl Tag {
    /// The value of `key="value"` (or `key='value'`, `key={"value"}`) in the tag.
    pub fn attr(&self, key: &str) -> Option<String> {
        let mut rest = self.attrs.as_str();
        while let Some(at) = rest.find(key) {
            let before_ok =
                at == 0 || rest[..at].ends_with(|c: char| c.is_whitespace() || c == '<');
            let after = rest[at + key.len()..].trim_start();
            if before_ok && let Some(value) = after.strip_prefix('=') {
                let value = value.trim_start();
                let value = value.strip_prefix('{').unwrap_or(value);
                if let Some(q) = value.chars().next().filter(|c| matches!(c, '"' | '\'')) {
                    let inner = &value[1..];
                    return inner.find(q).map(|end| inner[..end].to_owned());
                }
            }
            rest = &rest[at + key.len()..];
        }
        None
    }
}

/// Problems the lexer saw, reported by the builder with the file's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LexIssue {
    UnterminatedComment { line: usize },
    UnterminatedFence { line: usize },
}

/// Lexes `lines[start..]`. Items carry the 1-based line they start on.
pub fn lex<'a>(lines: &[&'a str], start: usize) -> (Vec<(usize, Line<'a>)>, Vec<LexIssue>) {
    let mut out = Vec::with_capacity(lines.len().saturating_sub(start));
    let mut issues = Vec::new();
    let mut comment_from: Option<usize> = None;
    let mut i = start;
    while i < lines.len() {
        let lineno = i + 1;
        let mut line: Cow<'a, str> = Cow::Borrowed(lines[i]);
        i += 1;

        // HTML comments: everything inside goes, fences included; the comment may end on any
        // line (```` ``` --> ````), and what follows `-->` is still read.
        if comment_from.is_some() {
            match line.find("-->") {
                Some(end) => {
                    comment_from = None;
                    line = Cow::Owned(line[end + 3..].to_owned());
                }
                None => continue,
            }
        }
        if line.contains("<!--") {
            let (kept, open) = strip_comments(&line);
            if open {
                comment_from = Some(lineno);
            }
            line = Cow::Owned(kept);
        }

        let (indent, rest) = indentation(&line);
        if rest.is_empty() {
            out.push((lineno, Line::Blank));
            continue;
        }
        if let Some((ch, len, info)) = fence_open(rest) {
            let (fence, next) = gather_fence(lines, i, indent, ch, len, info);
            if !fence.closed {
                issues.push(LexIssue::UnterminatedFence { line: lineno });
            }
            out.push((lineno, Line::Fence(fence)));
            i = next;
            continue;
        }
        let item = classify(&line, indent, rest);
        // A tag may span lines: `<TabItem\n  value="a"\n  label="A"\n>`.
        if let Line::Text { .. } = item
            && let Some(name) = tag_start(rest)
            && !rest.contains('>')
        {
            let mut joined = rest.to_owned();
            let mut j = i;
            while j < lines.len() && j < i + 20 {
                joined.push(' ');
                joined.push_str(lines[j].trim());
                j += 1;
                if lines[j - 1].contains('>') {
                    break;
                }
            }
            if let Some(tag) = whole_tag(&joined) {
                let _ = name;
                out.push((lineno, Line::Tag(tag)));
                i = j;
                continue;
            }
        }
        out.push((lineno, item));
    }
    if let Some(line) = comment_from {
        issues.push(LexIssue::UnterminatedComment { line });
    }
    (out, issues)
}

/// Removes complete `<!-- ... -->` spans; returns the rest and whether a comment stays open.
fn strip_comments(line: &str) -> (String, bool) {
    let mut kept = String::with_capacity(line.len());
    let mut rest = line;
    loop {
        let Some(start) = rest.find("<!--") else {
            kept.push_str(rest);
            return (kept, false);
        };
        kept.push_str(&rest[..start]);
        match rest[start + 4..].find("-->") {
            Some(end) => rest = &rest[start + 4 + end + 3..],
            None => return (kept, true),
        }
    }
}

pub fn indentation(line: &str) -> (usize, &str) {
    let mut width = 0;
    for (at, c) in line.char_indices() {
        match c {
            ' ' => width += 1,
            '\t' => width += TAB_WIDTH - width % TAB_WIDTH,
            _ => return (width, line[at..].trim_end()),
        }
    }
    (width, "")
}

fn fence_open(rest: &str) -> Option<(char, usize, &str)> {
    let ch = rest.chars().next().filter(|c| matches!(c, '`' | '~'))?;
    let len = rest.chars().take_while(|&c| c == ch).count();
    if len < 3 {
        return None;
    }
    let info = rest[len..].trim();
    // CommonMark: a backtick fence's info string has no backticks (``` `x` ``` is inline code).
    if ch == '`' && info.contains('`') {
        return None;
    }
    Some((ch, len, info))
}

fn is_fence_close(line: &str, ch: char, len: usize) -> bool {
    let t = line.trim();
    t.len() >= len && t.chars().all(|c| c == ch)
}

fn gather_fence(
    lines: &[&str],
    from: usize,
    indent: usize,
    ch: char,
    len: usize,
    info: &str,
) -> (Fence, usize) {
    let mut code = String::new();
    let mut nested_fence_line = None;
    let mut j = from;
    while j < lines.len() {
        let raw = lines[j];
        if is_fence_close(raw, ch, len) {
            return (
                Fence {
                    indent,
                    info: info.to_owned(),
                    code,
                    closed: true,
                    nested_fence_line,
                },
                j + 1,
            );
        }
        if nested_fence_line.is_none() && raw.trim_start().starts_with("```") {
            nested_fence_line = Some(j + 1);
        }
        code.push_str(dedent(raw, indent));
        code.push('\n');
        j += 1;
    }
    (
        Fence {
            indent,
            info: info.to_owned(),
            code,
            closed: false,
            nested_fence_line,
        },
        j,
    )
}

/// Removes up to `indent` columns of leading white space.
pub fn dedent(line: &str, indent: usize) -> &str {
    let mut width = 0;
    for (at, c) in line.char_indices() {
        if width >= indent {
            return &line[at..];
        }
        match c {
            ' ' => width += 1,
            '\t' => width += TAB_WIDTH - width % TAB_WIDTH,
            _ => return &line[at..],
        }
    }
    ""
}

fn classify<'a>(line: &Cow<'a, str>, indent: usize, rest: &str) -> Line<'a> {
    let owned = |s: &str| -> Cow<'a, str> {
        match line {
            Cow::Borrowed(b) => {
                // Keep borrowing when `s` is a slice of the original line.
                let start = (s.as_ptr() as usize).checked_sub(b.as_ptr() as usize);
                match start.and_then(|start| b.get(start..start + s.len())) {
                    Some(slice) if slice.as_ptr() == s.as_ptr() => Cow::Borrowed(slice),
                    _ => Cow::Owned(s.to_owned()),
                }
            }
            Cow::Owned(_) => Cow::Owned(s.to_owned()),
        }
    };

    if let Some(level) = heading_level(rest) {
        let text = rest[level..].trim();
        let text = text.trim_end_matches('#').trim_end();
        return Line::Heading {
            level,
            text: owned(text),
        };
    }
    if let Some(colons) = rest.strip_prefix(":::") {
        let word = colons.trim_start_matches(':').trim();
        if word.is_empty() {
            return Line::AdmonitionClose;
        }
        let (kind, title) = word.split_once(char::is_whitespace).unwrap_or((word, ""));
        let kind = kind.split('{').next().unwrap_or(kind).to_ascii_lowercase();
        let title = title.trim();
        let title = title
            .strip_prefix("title=")
            .unwrap_or(title)
            .trim_matches(['"', '\'']);
        return Line::AdmonitionOpen {
            kind,
            title: (!title.is_empty()).then(|| title.to_owned()),
        };
    }
    if let Some((ordered, marker, after)) = list_marker(rest) {
        let content_indent = indent + marker.len() + 1;
        return Line::Item {
            indent,
            ordered,
            marker: owned(marker),
            content_indent,
            text: owned(after.trim()),
        };
    }
    if indent == 0 && is_import(rest) {
        return Line::Import;
    }
    if let Some(tag) = whole_tag(rest) {
        return Line::Tag(tag);
    }
    Line::Text {
        indent,
        text: owned(rest),
    }
}

fn heading_level(rest: &str) -> Option<usize> {
    let level = rest.bytes().take_while(|&b| b == b'#').count();
    let after = rest.as_bytes().get(level);
    ((1..=6).contains(&level) && after.is_none_or(|b| *b == b' ' || *b == b'\t')).then_some(level)
}

/// `1.` / `12)` / `-` / `*` / `+` followed by a space or the end of the line.
fn list_marker(rest: &str) -> Option<(bool, &str, &str)> {
    let bytes = rest.as_bytes();
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    let (ordered, len) =
        if (1..=9).contains(&digits) && matches!(bytes.get(digits), Some(b'.' | b')')) {
            (true, digits + 1)
        } else if matches!(bytes.first(), Some(b'-' | b'*' | b'+')) {
            (false, 1)
        } else {
            return None;
        };
    match bytes.get(len) {
        None => Some((ordered, &rest[..len], "")),
        Some(b' ' | b'\t') => Some((ordered, &rest[..len], &rest[len + 1..])),
        _ => None,
    }
}

fn is_import(rest: &str) -> bool {
    (rest.starts_with("import ") && (rest.contains(" from ") || rest.ends_with(';')))
        || rest.starts_with("export const ")
        || rest.starts_with("export default ")
        || rest.starts_with("export function ")
}

fn tag_start(rest: &str) -> Option<&str> {
    let body = rest.strip_prefix('<')?;
    let body = body.strip_prefix('/').unwrap_or(body);
    let end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-'))
        .unwrap_or(body.len());
    let name = &body[..end];
    name.chars()
        .next()
        .filter(char::is_ascii_alphabetic)
        .map(|_| name)
}

/// A line that is exactly one tag: `<Tabs>`, `</TabItem>`, `<br />`, `<TabItem label="x">`.
fn whole_tag(rest: &str) -> Option<Tag> {
    let name = tag_start(rest)?.to_owned();
    if !rest.ends_with('>') {
        return None;
    }
    let closing = rest.starts_with("</");
    let inner = rest.trim_start_matches('<').trim_start_matches('/');
    let attrs = inner[name.len()..].trim_end_matches('>');
    // `<InfoBox>text</InfoBox>` is text with tags, not one tag.
    if attrs.contains('<') {
        return None;
    }
    let self_closing = attrs.trim_end().ends_with('/');
    Some(Tag {
        name,
        closing,
        self_closing,
        attrs: attrs.trim_end_matches('/').trim().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Line<'_>> {
        let lines: Vec<&str> = src.lines().collect();
        lex(&lines, 0).0.into_iter().map(|(_, l)| l).collect()
    }

    #[test]
    fn a_longer_fence_holds_shorter_ones() {
        let got = kinds("````shell hideClipboard\n```shell title=\"x\"\nout\n````\nafter");
        let Line::Fence(f) = &got[0] else {
            panic!("{got:?}")
        };
        assert_eq!(f.code, "```shell title=\"x\"\nout\n");
        assert!(f.closed);
        assert_eq!(f.nested_fence_line, Some(2));
        assert!(matches!(&got[1], Line::Text { text, .. } if text == "after"));
    }

    #[test]
    fn a_line_with_an_info_string_never_closes() {
        let got = kinds("```bash\necho\n```bash\n```");
        let Line::Fence(f) = &got[0] else { panic!() };
        assert_eq!(f.code, "echo\n```bash\n");
    }

    #[test]
    fn comments_go_with_the_fences_inside_them() {
        let got = kinds("a\n<!-- x\n```shell\nsecret\n``` -->\nb <!-- c --> d");
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(matches!((&got[1], &got[2]), (Line::Blank, Line::Blank)));
        assert!(matches!(&got[3], Line::Text { text, .. } if text == "b  d"));
    }

    #[test]
    fn indented_headings_items_and_fences_count() {
        let got = kinds("   ### Debug\n  1. one\n     ```bash\n     ls\n     ```");
        assert!(matches!(&got[0], Line::Heading { level: 3, .. }));
        assert!(matches!(
            &got[1],
            Line::Item {
                indent: 2,
                ordered: true,
                content_indent: 5,
                ..
            }
        ));
        let Line::Fence(f) = &got[2] else { panic!() };
        assert_eq!(f.code, "ls\n");
    }

    #[test]
    fn tags() {
        let got = kinds(
            "<TabItem value=\"a\" label=\"Node 1\">\n<br />\n<Tabs.TabPane\n  tab=\"8.0\"\n>",
        );
        let Line::Tag(t) = &got[0] else { panic!() };
        assert_eq!(t.attr("label").as_deref(), Some("Node 1"));
        assert_eq!(t.attr("value").as_deref(), Some("a"));
        assert!(matches!(
            &got[1],
            Line::Tag(Tag {
                self_closing: true,
                ..
            })
        ));
        let Line::Tag(t) = &got[2] else {
            panic!("{got:?}")
        };
        assert_eq!(t.name, "Tabs.TabPane");
        assert_eq!(t.attr("tab").as_deref(), Some("8.0"));
    }
}
