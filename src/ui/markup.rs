//! Inline Markdown of step text (`**bold**`, `` `code` ``, `[links](url)`, *emphasis*) as
//! styled spans, one line of text at a time.

use pulldown_cmark::{Event, Parser, Tag, TagEnd};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::Theme;

/// Renders each line of `text`; list bullets and table rows keep their shape.
pub fn lines(text: &str, base: Style, theme: Theme) -> Vec<Line<'static>> {
    text.lines().map(|l| line(l, base, theme)).collect()
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
