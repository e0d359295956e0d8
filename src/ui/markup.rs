//! Inline Markdown of step text (`**bold**`, `` `code` ``, `[links](url)`, *emphasis*) as
//! styled spans, one line of text at a time.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::Theme;

/// Renders `text` a paragraph per line: lines the source wrapped are joined again, while list
/// bullets, numbered items and table rows keep their own lines.
pub fn lines(text: &str, base: Style, theme: Theme) -> Vec<Line<'static>> {
    let mut joined: Vec<String> = Vec::new();
    for raw in text.lines() {
        let t = raw.trim_start();
        let starts_block = t.is_empty()
            || t.starts_with("- ")
            || t.starts_with("* ")
            || t.starts_with('|')
            || t.split_once(". ")
                .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        match joined.last_mut() {
            Some(prev)
                if !starts_block
                    && !prev.trim().is_empty()
                    && !prev.trim_start().starts_with('|') =>
            {
                prev.push(' ');
                prev.push_str(t);
            }
            _ => joined.push(raw.to_owned()),
        }
    }
    joined.iter().map(|l| line(l, base, theme)).collect()
}

fn line(raw: &str, base: Style, theme: Theme) -> Line<'static> {
    let indent_len = raw.len() - raw.trim_start().len();
    let trimmed = raw.trim_start();
    let (prefix, body) = if let Some(rest) = trimmed
        .strip_prefix("- ")
        .or_else(|| trimmed.strip_prefix("* "))
    {
        (format!("{}{} ", &raw[..indent_len], theme.bullet()), rest)
    } else if trimmed.starts_with('|') {
        // Tables read fine as written.
        return Line::from(Span::styled(raw.to_owned(), base));
    } else {
        (raw[..indent_len].to_owned(), trimmed)
    };
    let mut spans = vec![Span::styled(prefix, base)];
    let mut style = base;
    let mut stack: Vec<Style> = Vec::new();
    for event in Parser::new(body) {
        match event {
            Event::Start(tag) => {
                stack.push(style);
                style = match tag {
                    Tag::Strong => style.add_modifier(Modifier::BOLD),
                    Tag::Emphasis => style.add_modifier(Modifier::ITALIC),
                    Tag::Link { .. } => style.add_modifier(Modifier::UNDERLINED),
                    _ => style,
                };
            }
            Event::End(
                TagEnd::Strong
                | TagEnd::Emphasis
                | TagEnd::Link
                | TagEnd::Paragraph
                | TagEnd::Heading(_),
            ) => {
                style = stack.pop().unwrap_or(base);
            }
            Event::Code(code) => spans.push(Span::styled(code.into_string(), theme.code())),
            Event::Text(text) | Event::Html(text) | Event::InlineHtml(text) => {
                spans.push(Span::styled(text.into_string(), style));
            }
            Event::SoftBreak | Event::HardBreak => spans.push(Span::raw(" ")),
            _ => {}
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_markup_becomes_styles() {
        let theme = Theme::default();
        let l = line(
            "Click **Save** then run `kubectl get pods` [docs](https://x)",
            Style::new(),
            theme,
        );
        let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "Click Save then run kubectl get pods docs");
        let save = l
            .spans
            .iter()
            .find(|s| s.content == "Save")
            .map(|s| s.style);
        assert!(save.is_some_and(|s| s.add_modifier.contains(Modifier::BOLD)));
        let code = l
            .spans
            .iter()
            .find(|s| s.content == "kubectl get pods")
            .map(|s| s.style);
        assert_eq!(code, Some(theme.code()));
    }

    #[test]
    fn wrapped_lines_join_and_bullets_stay() {
        let got = lines(
            "one\ntwo\n- a\n- b\n\nthree",
            Style::new(),
            Theme::default(),
        );
        let text: Vec<String> = got
            .iter()
            .map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect())
            .collect();
        assert_eq!(text, ["one two", "› a", "› b", "", "three"]);
    }

    #[test]
    fn bullets_keep_their_shape() {
        let l = line(
            "   - a bullet",
            Style::new(),
            Theme {
                color: false,
                ascii: true,
            },
        );
        let text: String = l.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "   > a bullet");
    }
}
