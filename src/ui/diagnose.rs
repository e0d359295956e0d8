//! The Diagnose view: a spinner while the checks run, then the ranked scenarios (matched ones
//! marked) beside or above the selected one's evidence and how to open it.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use super::{Theme, WIDE, fit};
use crate::action::Command;
use crate::state::State;
use crate::state::diagnose::Status;

pub fn draw(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    let block = |title: String, focused: bool| {
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(focused))
            .title(Span::styled(title, theme.title()))
    };
    let Some(view) = &state.diagnose else {
        return;
    };
    let results = match &view.status {
        Status::Running(_) => {
            let (spin, style) =
                theme.status(crate::state::Status::Running(state.clock), state.ticks);
            let text = vec![
                Line::from(vec![
                    Span::styled(format!(" {spin} "), style),
                    Span::raw("running the runbooks' read-only checks against "),
                    Span::styled(
                        state
                            .context
                            .context
                            .clone()
                            .unwrap_or_else(|| "the current context".into()),
                        theme.title(),
                    ),
                ]),
                Line::from(Span::styled(
                    "   each resource kind is listed once; nothing is written",
                    theme.dim(),
                )),
            ];
            frame.render_widget(
                Paragraph::new(text).block(block(" diagnose ".into(), true)),
                area,
            );
            return;
        }
        Status::Failed(reason) => {
            let text = vec![
                Line::from(Span::styled(" No diagnosis: ", theme.bad())),
                Line::from(format!(" {reason}")),
                Line::from(""),
                Line::from(Span::styled(
                    " Check the kubeconfig and that the API server is up, then press D again.",
                    theme.dim(),
                )),
            ];
            frame.render_widget(
                Paragraph::new(text)
                    .wrap(Wrap { trim: false })
                    .block(block(" diagnose ".into(), true)),
                area,
            );
            return;
        }
        Status::Done(results) => results,
    };

    let (list_area, detail_area) = if area.width >= WIDE {
        let [l, d] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(area);
        (l, d)
    } else {
        let [l, d] = Layout::vertical([Constraint::Min(5), Constraint::Percentage(45)]).areas(area);
        (l, d)
    };
    let matched = results.iter().filter(|f| f.matched).count();
    let width = usize::from(list_area.width.saturating_sub(6));
    let items: Vec<ListItem<'_>> = results
        .iter()
        .map(|f| {
            let (mark, style) = match (f.matched, f.error.is_some()) {
                (true, _) => (if theme.ascii { "[!]" } else { "●" }, theme.bad()),
                (false, false) => (if theme.ascii { "[ ]" } else { "○" }, theme.dim()),
                (false, true) => (if theme.ascii { "[?]" } else { "?" }, theme.warn()),
            };
            let label = if f.matched {
                format!("{}  ({} evidence)", f.scenario, f.evidence.len())
            } else {
                f.scenario.clone()
            };
            ListItem::new(Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::styled(
                    fit(&label, width),
                    if f.matched { theme.base() } else { theme.dim() },
                ),
            ]))
        })
        .collect();
    let title = if matched == 0 {
        " diagnose · nothing matches ".to_owned()
    } else {
        format!(" diagnose · {matched} of {} match ", results.len())
    };
    let mut list_state = ListState::default().with_selected(Some(view.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(block(title, true))
            .highlight_style(theme.selected())
            .highlight_symbol(theme.pointer()),
        list_area,
        &mut list_state,
    );

    let mut lines: Vec<Line<'_>> = Vec::new();
    if let Some(f) = results.get(view.selected) {
        lines.push(Line::from(Span::styled(f.title.clone(), theme.heading())));
        lines.push(Line::from(Span::styled(f.scenario.clone(), theme.dim())));
        lines.push(Line::from(""));
        if f.matched {
            for e in &f.evidence {
                lines.push(Line::from(vec![
                    Span::styled(format!("{} ", theme.bullet()), theme.bad()),
                    Span::raw(e.clone()),
                ]));
            }
        } else if f.error.is_none() {
            lines.push(Line::from(Span::styled(
                "Its checks found nothing on this cluster.",
                theme.dim(),
            )));
        }
        if let Some(e) = &f.error {
            lines.push(Line::from(Span::styled(e.clone(), theme.warn())));
        }
        lines.push(Line::from(""));
        lines.push(Line::from(vec![
            Span::styled("Enter", theme.title()),
            Span::raw(" opens it  ·  "),
            Span::styled(format!("runbook {}", f.scenario), theme.code()),
        ]));
    }
    // Longer than the pane: it scrolls (J / K), and the title says so. Rows are counted as if
    // cut at the width, with one more allowed per wrapped line for word breaks.
    let inner = usize::from(detail_area.width.saturating_sub(2)).max(1);
    let height = usize::from(detail_area.height.saturating_sub(2));
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let wrapped = lines.iter().filter(|l| l.width() > inner).count();
    let top = view
        .evidence_scroll
        .min((rows + wrapped).saturating_sub(height));
    let title = if rows > height {
        let keys = format!(
            "{}/{}",
            state.keymap.first_key(Command::StepTextDown),
            state.keymap.first_key(Command::StepTextUp)
        );
        if top == 0 {
            format!(" evidence · {keys} more ")
        } else {
            format!(" evidence · row {} · {keys} ", top + 1)
        }
    } else {
        " evidence ".to_owned()
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(top).unwrap_or(u16::MAX), 0))
            .block(block(title, false)),
        detail_area,
    );
}
