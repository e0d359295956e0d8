//! The catalog: runbooks grouped by area (or ranked by the search), and a preview of the
//! selected scenario.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use super::{Theme, WIDE, fit, markup};
use crate::state::{Row, State};

pub fn draw(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    let c = &state.catalog;
    let [search, rest] = Layout::vertical([Constraint::Length(3), Constraint::Min(3)]).areas(area);
    let prompt = if c.searching || !c.query.is_empty() {
        let cursor = if c.searching { "▏" } else { "" };
        Line::from(vec![
            Span::styled(" / ", theme.title()),
            Span::raw(format!("{}{cursor}", c.query)),
        ])
    } else {
        Line::from(Span::styled(
            " / to search titles, tags, step text, or paste an error line from a log",
            theme.dim(),
        ))
    };
    let count = c
        .rows
        .iter()
        .filter(|r| matches!(r, Row::Entry { .. }))
        .count();
    frame.render_widget(
        Paragraph::new(prompt).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(c.searching))
                .title(Span::styled(
                    format!(" runbook · {count} scenarios "),
                    theme.title(),
                )),
        ),
        search,
    );

    let (list_area, preview_area) = if area.width >= WIDE {
        let [l, p] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(rest);
        (l, p)
    } else {
        let [l, p] = Layout::vertical([Constraint::Min(5), Constraint::Length(8)]).areas(rest);
        (l, p)
    };

    let width = usize::from(list_area.width.saturating_sub(4));
    let items: Vec<ListItem<'_>> = c
        .rows
        .iter()
        .map(|row| match row {
            Row::Area(name) => {
                ListItem::new(Line::from(Span::styled(name.clone(), theme.heading())))
            }
            Row::Entry { entry, matched, .. } => {
                let e = &c.entries[*entry];
                let origin = c.runbooks[e.runbook]
                    .fetched
                    .as_ref()
                    .map(|f| format!("  {}{}", theme.fetched(), f.host()))
                    .unwrap_or_default();
                let room = width.saturating_sub(2);
                let title = fit(
                    &e.title,
                    room.saturating_sub(origin.chars().count().min(room / 2)),
                );
                let mut spans = vec![Span::raw("")];
                for (i, ch) in title.chars().enumerate() {
                    let hit = matched.contains(&u32::try_from(i).unwrap_or(u32::MAX));
                    spans.push(Span::styled(
                        ch.to_string(),
                        if hit { theme.matched() } else { theme.base() },
                    ));
                }
                if !origin.is_empty() {
                    spans.push(Span::styled(origin, theme.dim()));
                }
                ListItem::new(Line::from(spans))
            }
        })
        .collect();
    let mut list_state = ListState::default().with_selected(Some(c.selected));
    if c.rows.is_empty() {
        frame.render_widget(
            Paragraph::new(Span::styled(
                "  nothing matches; Esc clears the search",
                theme.dim(),
            ))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border(!c.searching)),
            ),
            list_area,
        );
    } else {
        frame.render_stateful_widget(
            List::new(items)
                .block(
                    Block::default()
                        .borders(Borders::ALL)
                        .border_style(theme.border(!c.searching)),
                )
                .highlight_style(theme.selected())
                .highlight_symbol(theme.pointer()),
            list_area,
            &mut list_state,
        );
    }
    preview(frame, state, preview_area, theme);
}

fn preview(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    let c = &state.catalog;
    let Some((entry, why)) = c.rows.get(c.selected).and_then(|r| match r {
        Row::Entry { entry, why, .. } => Some((*entry, why.clone())),
        Row::Area(_) => None,
    }) else {
        frame.render_widget(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(false)),
            area,
        );
        return;
    };
    let e = &c.entries[entry];
    let runbook = &c.runbooks[e.runbook];
    let scenario = &runbook.scenarios[e.scenario];
    let mut lines = vec![
        Line::from(Span::styled(e.title.clone(), theme.title())),
        Line::from(vec![
            Span::styled(e.id.clone(), theme.dim()),
            Span::styled(format!("  · {}", e.area), theme.dim()),
        ]),
    ];
    if let Some(fetched) = &runbook.fetched {
        lines.push(Line::from(Span::styled(
            format!("{} from {}", theme.fetched(), fetched.url),
            theme.warn(),
        )));
    }
    if let Some(why) = why {
        lines.push(Line::from(Span::styled(
            format!("matched {why}"),
            theme.warn(),
        )));
    }
    let steps: usize = scenario.procedures.iter().map(|p| p.steps.len()).sum();
    lines.push(Line::from(Span::raw(format!(
        "{} procedure{}, {steps} steps",
        scenario.procedures.len(),
        if scenario.procedures.len() == 1 {
            ""
        } else {
            "s"
        }
    ))));
    if !e.symptoms.is_empty() {
        lines.push(Line::from(vec![
            Span::styled("symptoms: ", theme.heading()),
            Span::raw(
                e.symptoms
                    .iter()
                    .take(4)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(" · "),
            ),
        ]));
    }
    lines.push(Line::raw(""));
    lines.extend(markup::lines(&scenario.summary, theme.base(), theme));
    for r in &scenario.reference {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!("reference: {}", r.title),
            theme.heading(),
        )));
        lines.extend(markup::lines(&r.text, theme.base(), theme));
    }
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(false))
                .title(" preview "),
        ),
        area,
    );
}
