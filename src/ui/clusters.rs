//! The clusters view: one line per cluster, worst first (unreachable, then most runbooks
//! matching, then not checked yet, then clean), beside or above the selected one's matches or
//! error; the title says how the background pass stands.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use super::{Theme, WIDE, fit};
use crate::diagnose::fleet::Source;
use crate::state::State;
use crate::state::clusters::{Pass, RowHealth};

pub fn draw(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    let Some(view) = &state.clusters else {
        return;
    };
    let block = |title: String, focused: bool| {
        Block::default()
            .borders(Borders::ALL)
            .border_style(theme.border(focused))
            .title(Span::styled(title, theme.title()))
    };
    let (list_area, detail_area) = if area.width >= WIDE {
        let [l, d] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(area);
        (l, d)
    } else {
        let [l, d] = Layout::vertical([Constraint::Min(5), Constraint::Percentage(40)]).areas(area);
        (l, d)
    };
    let title = match &view.pass {
        Pass::Starting => " clusters · listing… ".to_owned(),
        Pass::Running { left } => format!(" clusters · diagnosing, {left} to go "),
        Pass::Done(at) => format!(
            " clusters · checked {}s ago ",
            state.clock.saturating_sub(*at).as_secs()
        ),
        Pass::Failed(_) => " clusters ".to_owned(),
    };
    if let (Pass::Failed(why), true) = (&view.pass, view.rows.is_empty()) {
        let text = vec![
            Line::from(Span::styled(" Nothing to diagnose: ", theme.bad())),
            Line::from(format!(" {why}")),
            Line::from(""),
            Line::from(Span::styled(
                " Add contexts to your kubeconfig, or set PALETTE_API_KEY for Palette's clusters.",
                theme.dim(),
            )),
        ];
        frame.render_widget(
            Paragraph::new(text)
                .wrap(Wrap { trim: false })
                .block(block(title, true)),
            area,
        );
        return;
    }
    let width = usize::from(list_area.width.saturating_sub(8));
    let label = |r: &crate::state::clusters::Row| match r.source {
        Source::Context => r.name.clone(),
        Source::Palette => format!("{} (palette)", r.name),
    };
    let column = view
        .rows
        .iter()
        .map(|r| label(r).chars().count())
        .max()
        .unwrap_or(0)
        .min(width / 2 + 6);
    let items: Vec<ListItem<'_>> = view
        .rows
        .iter()
        .map(|r| {
            let (mark, style, what) = match &r.health {
                RowHealth::Failed(_) => (
                    theme.health(Some(false)),
                    theme.bad(),
                    "unreachable".to_owned(),
                ),
                RowHealth::Reached(0) => (
                    theme.health(Some(true)),
                    theme.ok(),
                    "no runbook matches".to_owned(),
                ),
                RowHealth::Reached(n) => (
                    if theme.ascii { "!" } else { "●" },
                    theme.warn(),
                    format!("{n} runbook(s) match"),
                ),
                RowHealth::Pending => (theme.health(None), theme.dim(), "checking…".to_owned()),
            };
            ListItem::new(Line::from(vec![
                Span::styled(format!("{mark} "), style),
                Span::raw(format!("{:<column$}  ", fit(&label(r), column))),
                Span::styled(what, style),
            ]))
        })
        .collect();
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
    if let Some(r) = view.current() {
        lines.push(Line::from(Span::styled(r.name.clone(), theme.heading())));
        lines.push(Line::from(""));
        match &r.health {
            RowHealth::Failed(e) => lines.push(Line::from(Span::styled(e.clone(), theme.bad()))),
            RowHealth::Pending => lines.push(Line::from(Span::styled(
                "Its checks are running.",
                theme.dim(),
            ))),
            RowHealth::Reached(_) => {
                let matched: Vec<_> = r.results.iter().filter(|f| f.matched).collect();
                if matched.is_empty() {
                    lines.push(Line::from(Span::styled(
                        "No runbook's checks found anything.",
                        theme.dim(),
                    )));
                }
                for f in matched {
                    lines.push(Line::from(vec![
                        Span::styled(format!("{} ", theme.bullet()), theme.warn()),
                        Span::styled(f.scenario.clone(), theme.base()),
                        Span::styled(format!("  ({} evidence)", f.evidence.len()), theme.dim()),
                    ]));
                }
            }
        }
        lines.push(Line::from(""));
        let action = match r.source {
            Source::Context => " pins it and shows its diagnosis",
            Source::Palette => " shows its diagnosis",
        };
        lines.push(Line::from(vec![
            Span::styled("Enter", theme.title()),
            Span::raw(action),
        ]));
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(" matches ".into(), false)),
        detail_area,
    );
}
