//! The clusters view: one line per cluster, worst first (unreachable, then most runbooks
//! matching, then not checked yet, then clean), beside or above the selected one's matches or
//! error; the title says how the background pass stands.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};

use super::{Theme, fit};
use crate::diagnose::fleet::Source;
use crate::state::State;
use crate::state::clusters::{ClustersView, Pass, Row, RowHealth};

pub fn draw(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    let Some(view) = &state.clusters else {
        return;
    };
    let title = title(view, state);
    if let (Pass::Failed(why), true) = (&view.pass, view.rows.is_empty()) {
        draw_nothing(frame, why, title, area, theme);
        return;
    }
    let (list_area, detail_area) = split(area);
    draw_rows(frame, view, title, list_area, theme);
    draw_matches(frame, view.current(), detail_area, theme);
}

fn block(title: String, focused: bool, theme: Theme) -> Block<'static> {
    super::titled(title, focused, theme)
}

fn split(area: Rect) -> (Rect, Rect) {
    super::list_and_detail(area, 40)
}

/// How the background pass stands.
fn title(view: &ClustersView, state: &State) -> String {
    match &view.pass {
        Pass::Starting => " clusters · listing… ".to_owned(),
        Pass::Running { left } => format!(" clusters · diagnosing, {left} to go "),
        Pass::Done(at) => format!(
            " clusters · checked {}s ago ",
            state.clock.saturating_sub(*at).as_secs()
        ),
        Pass::Failed(_) => " clusters ".to_owned(),
    }
}

/// The whole area when there is no cluster at all: why, and where clusters come from.
fn draw_nothing(frame: &mut Frame<'_>, why: &str, title: String, area: Rect, theme: Theme) {
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
            .block(block(title, true, theme)),
        area,
    );
}

/// A row's name as listed: Palette's clusters say so.
fn label(r: &Row) -> String {
    match r.source {
        Source::Context => r.name.clone(),
        Source::Palette => format!("{} (palette)", r.name),
    }
}

/// One line per cluster: its health mark, its name in an aligned column, and its verdict.
fn draw_rows(frame: &mut Frame<'_>, view: &ClustersView, title: String, area: Rect, theme: Theme) {
    let width = usize::from(area.width.saturating_sub(8));
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
        .map(|r| row_item(r, column, theme))
        .collect();
    let mut list_state = ListState::default().with_selected(Some(view.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(block(title, true, theme))
            .highlight_style(theme.selected())
            .highlight_symbol(theme.pointer()),
        area,
        &mut list_state,
    );
}

fn row_item(r: &Row, column: usize, theme: Theme) -> ListItem<'static> {
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
}

/// The selected cluster's matching runbooks (or its error) and what Enter does.
fn draw_matches(frame: &mut Frame<'_>, selected: Option<&Row>, area: Rect, theme: Theme) {
    let lines = selected.map(|r| match_lines(r, theme)).unwrap_or_default();
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .block(block(" matches ".into(), false, theme)),
        area,
    );
}

fn match_lines(r: &Row, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(Span::styled(r.name.clone(), theme.heading())),
        Line::from(""),
    ];
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
    lines
}
