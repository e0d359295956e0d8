//! The editor line on a step's command (`e`) and the edited command under its block.
//!
//! The runbook's placeholders (`<pod-name>`, `${NAMESPACE}`, ...) are highlighted in the line
//! as the user types, so that what still needs a value stands out; the runbook's text is shown
//! under it. To show more about an edit, add it to [`edited_lines`].

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::Theme;
use crate::action::Command;
use crate::runbook::placeholder;
use crate::state::State;
use crate::state::edit::{Edit, Editor};

/// Width of the editor's modal.
const WIDTH: u16 = 100;

/// The editor's modal: its title, lines and width (the dialogs draw it).
pub fn modal(state: &State, editor: &Editor, theme: Theme) -> (String, Vec<Line<'static>>, u16) {
    let number = state
        .scenario
        .as_ref()
        .and_then(|s| s.items.get(editor.step))
        .map(|i| i.number.clone())
        .unwrap_or_default();
    let mut first = vec![Span::styled("$ ", theme.title())];
    first.extend(highlighted(
        editor.input.value(),
        Some(editor.input.cursor()),
        theme.code(),
        theme,
    ));
    let mut lines = vec![Line::from(first), Line::raw("")];
    lines.push(Line::from(Span::styled("from the runbook:", theme.dim())));
    for l in editor.original.lines() {
        let mut spans = vec![Span::raw("  ")];
        spans.extend(highlighted(l, None, theme.dim(), theme));
        lines.push(Line::from(spans));
    }
    lines.push(Line::raw(""));
    let reset = state.keymap.first_key(Command::ResetEdit);
    lines.push(Line::from(Span::styled(
        format!(
            "Enter: run it (values and confirmations as for any step) · Esc: cancel · \
             ←/→ Home/End move · {reset} later: back to the runbook's text"
        ),
        theme.dim(),
    )));
    (format!(" edit step {number} "), lines, WIDTH)
}

/// The edit under the block it replaces in the step's text.
pub fn edited_lines(
    edit: &Edit,
    keymap: &crate::action::Keymap,
    theme: Theme,
) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::raw(""),
        Line::from(Span::styled(
            format!(
                "── edited: runs instead ({} edits, {} back to the runbook)",
                keymap.first_key(Command::Edit),
                keymap.first_key(Command::ResetEdit)
            ),
            theme.title(),
        )),
    ];
    for (i, l) in edit.code.lines().enumerate() {
        let mut spans = vec![Span::styled(
            if i == 0 { "$ " } else { "  " },
            theme.command(),
        )];
        spans.extend(highlighted(l, None, theme.command(), theme));
        lines.push(Line::from(spans));
    }
    lines
}

/// `text` in `style` with its placeholders highlighted, and a cursor mark before the
/// `cursor`th character when there is one.
fn highlighted(
    text: &str,
    cursor: Option<usize>,
    style: Style,
    theme: Theme,
) -> Vec<Span<'static>> {
    let marks = placeholder::find(text);
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_style = style;
    let cursor_byte = cursor.map(|c| text.char_indices().nth(c).map_or(text.len(), |(b, _)| b));
    for (at, ch) in text.char_indices() {
        if cursor_byte == Some(at) {
            flush(&mut spans, &mut run, run_style);
            spans.push(Span::styled("▏", theme.title()));
        }
        let wanted = if marks.iter().any(|p| (p.start..p.end).contains(&at)) {
            theme.matched()
        } else {
            style
        };
        if wanted != run_style {
            flush(&mut spans, &mut run, run_style);
            run_style = wanted;
        }
        run.push(ch);
    }
    flush(&mut spans, &mut run, run_style);
    if cursor_byte == Some(text.len()) {
        spans.push(Span::styled("▏", theme.title()));
    }
    spans
}

fn flush(spans: &mut Vec<Span<'static>>, run: &mut String, style: Style) {
    if !run.is_empty() {
        spans.push(Span::styled(std::mem::take(run), style));
    }
}
