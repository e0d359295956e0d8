//! The output pane of a step run on every node: one column per node (title: status glyph,
//! node name, clock offset when skewed), the lines that differ from the majority
//! highlighted, and a one-line summary with left/right paging when the columns do not fit.
//!
//! To show more per column, add it to `state::NodeColumn` and draw it in [`column`].

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::{Theme, fit};
use crate::state::{NodeColumn, NodeStatus, NodesView};

/// Narrowest column worth showing.
const MIN_COLUMN: u16 = 24;

/// How many columns fit in `width`.
pub fn columns_that_fit(width: u16, total: usize) -> usize {
    usize::from((width / MIN_COLUMN).max(1)).min(total.max(1))
}

/// Draws `view` into `area` (borders included).
pub fn draw(frame: &mut Frame<'_>, view: &NodesView, area: Rect, focused: bool, theme: Theme) {
    let outer = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(" output · every node ", theme.title()));
    let inner = outer.inner(area);
    frame.render_widget(outer, area);
    if inner.height < 2 || inner.width < 4 {
        return;
    }
    let [cols_area, summary_area] =
        Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(inner);
    let total = view.columns.len();
    let shown = columns_that_fit(cols_area.width, total);
    let first = view.first.min(total.saturating_sub(shown));
    let areas = Layout::horizontal(vec![
        Constraint::Ratio(1, u32::try_from(shown).unwrap_or(1));
        shown
    ])
    .split(cols_area);
    for (c, a) in view
        .columns
        .iter()
        .skip(first)
        .take(shown)
        .zip(areas.iter())
    {
        column(frame, c, *a, theme);
    }
    let mut spans = Vec::new();
    if total > shown {
        let (l, r) = if theme.ascii {
            ("<", ">")
        } else {
            ("◀", "▶")
        };
        spans.push(Span::styled(
            format!("{l} {}-{} of {total} {r}  ", first + 1, first + shown),
            theme.dim(),
        ));
    }
    let done = view
        .columns
        .iter()
        .filter(|c| c.status != NodeStatus::Running)
        .count();
    let summary = view
        .summary
        .clone()
        .unwrap_or_else(|| format!("{done} of {total} nodes done"));
    let agree = view
        .columns
        .iter()
        .all(|c| c.differing.is_empty() && c.skew.is_none())
        && view.columns.iter().all(|c| c.status != NodeStatus::Failed);
    let style = if view.summary.is_some() && !agree {
        theme.warn()
    } else {
        theme.base()
    };
    spans.push(Span::styled(summary, style));
    frame.render_widget(Paragraph::new(Line::from(spans)), summary_area);
}

fn column(frame: &mut Frame<'_>, c: &NodeColumn, area: Rect, theme: Theme) {
    let (glyph, style) = match (c.status, theme.ascii) {
        (NodeStatus::Running, false) => ("…", theme.warn()),
        (NodeStatus::Running, true) => ("..", theme.warn()),
        (NodeStatus::Shown, false) => ("◌", theme.dim()),
        (NodeStatus::Shown, true) => ("[d]", theme.dim()),
        (NodeStatus::Passed, false) => ("✔", theme.ok()),
        (NodeStatus::Passed, true) => ("[+]", theme.ok()),
        (NodeStatus::Failed, false) => ("✘", theme.bad()),
        (NodeStatus::Failed, true) => ("[x]", theme.bad()),
    };
    let width = usize::from(area.width.saturating_sub(2));
    // The offset before the name: a long name is what gets cut.
    let mut title = vec![Span::styled(format!(" {glyph} "), style)];
    if let Some(skew) = &c.skew {
        title.push(Span::styled(format!("{skew} "), theme.bad()));
    }
    title.push(Span::styled(c.name.clone(), theme.title()));
    title.push(Span::raw(" "));
    let height = usize::from(area.height.saturating_sub(2));
    let message: Vec<Line<'static>> = c
        .message
        .iter()
        .map(|m| Line::from(Span::styled(fit(&format!("! {m}"), width), theme.bad())))
        .collect();
    let room = height.saturating_sub(message.len());
    // Differing lines first in view: start at the first one when it would be off screen.
    let start = c
        .differing
        .first()
        .copied()
        .filter(|&d| d >= room)
        .map_or(0, |d| d.saturating_sub(room / 2));
    let mut lines: Vec<Line<'static>> = c
        .lines
        .iter()
        .enumerate()
        .skip(start)
        .take(room)
        .map(|(k, l)| {
            // Right-aligned labels (`timedatectl`) would spend a narrow column on spaces.
            let text = fit(l.replace('\t', "    ").trim_start(), width);
            if c.differing.contains(&k) {
                Line::from(Span::styled(text, theme.highlight_line()))
            } else {
                Line::from(Span::styled(text, theme.base()))
            }
        })
        .collect();
    lines.extend(message);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(if c.skew.is_some() || c.status == NodeStatus::Failed {
                    theme.bad()
                } else {
                    theme.border(false)
                })
                .title(Line::from(title)),
        ),
        area,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_fit_the_width() {
        assert_eq!(columns_that_fit(78, 5), 3);
        assert_eq!(columns_that_fit(158, 5), 5);
        assert_eq!(columns_that_fit(10, 5), 1);
        assert_eq!(columns_that_fit(200, 2), 2);
    }
}
