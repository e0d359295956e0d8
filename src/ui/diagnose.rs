//! The Diagnose view: a spinner while the checks run, then the ranked scenarios (matched ones
//! marked) beside or above the selected one's evidence and how to open it.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, List, ListItem, ListState, Paragraph, Wrap};

use super::{Theme, fit};
use crate::action::Command;
use crate::diagnose::Finding;
use crate::state::State;
use crate::state::diagnose::{DiagnoseView, Status};

pub fn draw(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    let Some(view) = &state.diagnose else {
        return;
    };
    match &view.status {
        Status::Running(_) => draw_running(frame, state, area, theme),
        Status::Failed(reason) => draw_failed(frame, reason, area, theme),
        Status::Done(results) => {
            let (list_area, detail_area) = split(area);
            draw_results(frame, view, results, list_area, theme);
            let selected = results.get(view.selected);
            draw_evidence(
                frame,
                state,
                selected,
                view.evidence_scroll,
                detail_area,
                theme,
            );
        }
    }
}

fn block(title: String, focused: bool, theme: Theme) -> Block<'static> {
    super::titled(title, focused, theme)
}

fn split(area: Rect) -> (Rect, Rect) {
    super::list_and_detail(area, 45)
}

/// The whole area while the checks run: a spinner and the context they run against.
fn draw_running(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    let (spin, style) = theme.status(crate::state::Status::Running(state.clock), state.ticks);
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
        Paragraph::new(text).block(block(" diagnose ".into(), true, theme)),
        area,
    );
}

/// The whole area when no cluster could be reached: why, and what to do next.
fn draw_failed(frame: &mut Frame<'_>, reason: &str, area: Rect, theme: Theme) {
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
        Paragraph::new(text).wrap(Wrap { trim: false }).block(block(
            " diagnose ".into(),
            true,
            theme,
        )),
        area,
    );
}

/// The ranked scenarios, matched ones marked, under a title that counts the matches.
fn draw_results(
    frame: &mut Frame<'_>,
    view: &DiagnoseView,
    results: &[Finding],
    area: Rect,
    theme: Theme,
) {
    let matched = results.iter().filter(|f| f.matched).count();
    let width = usize::from(area.width.saturating_sub(6));
    let items: Vec<ListItem<'_>> = results
        .iter()
        .map(|f| result_item(f, width, theme))
        .collect();
    let title = if matched == 0 {
        " diagnose · nothing matches ".to_owned()
    } else {
        format!(" diagnose · {matched} of {} match ", results.len())
    };
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

/// One scenario's line: matched, clean or failed mark, and its name.
fn result_item(f: &Finding, width: usize, theme: Theme) -> ListItem<'static> {
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
}

/// The selected scenario's evidence (or error) and how to open it.
fn draw_evidence(
    frame: &mut Frame<'_>,
    state: &State,
    selected: Option<&Finding>,
    scroll: usize,
    area: Rect,
    theme: Theme,
) {
    let lines = selected
        .map(|f| evidence_lines(f, theme))
        .unwrap_or_default();
    // Longer than the pane: it scrolls (J / K), and the title says so. Rows are counted as if
    // cut at the width, with one more allowed per wrapped line for word breaks.
    let inner = usize::from(area.width.saturating_sub(2)).max(1);
    let height = usize::from(area.height.saturating_sub(2));
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let wrapped = lines.iter().filter(|l| l.width() > inner).count();
    let top = scroll.min((rows + wrapped).saturating_sub(height));
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
            .block(block(title, false, theme)),
        area,
    );
}

fn evidence_lines(f: &Finding, theme: Theme) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(Span::styled(f.title.clone(), theme.heading())),
        Line::from(Span::styled(f.scenario.clone(), theme.dim())),
        Line::from(""),
    ];
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
    lines
}
