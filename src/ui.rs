//! Pure drawing: `ui::draw(frame, &State, Theme)`. Nothing here changes state or does IO, and
//! nothing here knows about the engine: everything shown comes from [`State`].
//!
//! Each screen has its module; dialogs and overlays are drawn last, over the screen. To add a
//! pane, give it a function taking `(&State, Rect, &mut Buffer-like frame)` in the screen's
//! module and place it in that screen's layout.

mod catalog;
mod clusters;
mod diagnose;
mod dialogs;
mod edit;
mod markup;
mod nodes;
mod scenario;
pub mod theme;

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::action::Command;
use crate::cluster::health::Health;
use crate::state::{Screen, State};
pub use theme::Theme;

/// Columns from which panes sit side by side instead of stacked.
pub const WIDE: u16 = 120;

/// Draws the whole screen.
pub fn draw(frame: &mut Frame<'_>, state: &State, theme: Theme) -> Option<(u16, u16, u16)> {
    let area = frame.area();
    let [body, status] = Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(area);
    let checklist = match state.screen {
        Screen::Catalog => {
            catalog::draw(frame, state, body, theme);
            None
        }
        Screen::Scenario => scenario::draw(frame, state, body, theme),
        Screen::Diagnose => {
            diagnose::draw(frame, state, body, theme);
            None
        }
        Screen::Clusters => {
            clusters::draw(frame, state, body, theme);
            None
        }
    };
    status_bar(frame, state, status, theme);
    dialogs::draw(frame, state, area, theme);
    if theme.ascii {
        theme::asciify(frame.buffer_mut());
    }
    checklist
}

/// Context, mode and key hints (or the latest message) on the last line.
fn status_bar(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    let sep = Span::styled(format!(" {} ", theme.separator()), theme.dim());
    let info = &state.context;
    let context = info.context.as_deref().unwrap_or("no kube context");
    let mut spans = vec![Span::styled(format!(" ctx {context}"), theme.title())];
    if info.context.is_some() {
        let (up, style) = match &info.health {
            Health::Up { .. } => (Some(true), theme.ok()),
            Health::Down(_) => (Some(false), theme.bad()),
            Health::Unknown => (None, theme.dim()),
        };
        spans.push(Span::styled(format!(" {}", theme.health(up)), style));
    }
    if let Some(badge) = info.guard.badge() {
        spans.push(Span::styled(format!(" {badge}"), theme.warn()));
    }
    if let Some(ns) = &info.namespace {
        spans.push(Span::raw(format!(" ns {ns}")));
    }
    // Details only where there is room for them; `c` shows them anywhere.
    let detail = match &info.health {
        _ if !info.detail.is_empty() => info.detail.clone(),
        Health::Unknown => String::new(),
        h => h.summary(),
    };
    if !detail.is_empty() && area.width >= WIDE {
        spans.push(Span::styled(
            format!(" ({})", fit(&detail, 60)),
            theme.dim(),
        ));
    } else if matches!(info.health, Health::Down(_)) {
        spans.push(Span::styled(" unreachable", theme.bad()));
    }
    spans.push(sep.clone());
    let mode_style = match state.mode {
        crate::state::RunMode::Confirm | crate::state::RunMode::Yes => theme.base(),
        _ => theme.warn(),
    };
    // Which guarantee holds: in full where there is room, else whether the API enforces it.
    let (read_only, dry_run) = (state.mode.read_only(), state.mode.dry_run());
    let guarantee = crate::cluster::gate::guarantee(read_only, dry_run, info.gated);
    let mode = match guarantee {
        Some(full) if area.width >= WIDE => full.to_owned(),
        Some(_) if info.gated => format!("mode {} (at the API)", state.mode.label()),
        Some(_) => format!("mode {} (checked)", state.mode.label()),
        None => format!("mode {}", state.mode.label()),
    };
    spans.push(Span::styled(mode, mode_style));
    spans.push(sep);
    if let Some(message) = &state.message {
        spans.push(Span::styled(message.clone(), theme.warn()));
    } else {
        let hints: &[Command] = match state.screen {
            Screen::Catalog => &[
                Command::Enter,
                Command::Search,
                Command::Diagnose,
                Command::Help,
                Command::Quit,
            ],
            Screen::Diagnose => &[
                Command::Enter,
                Command::Diagnose,
                Command::Back,
                Command::Help,
            ],
            Screen::Clusters => &[Command::Enter, Command::Back, Command::Help],
            Screen::Scenario => &[
                Command::Enter,
                Command::MarkDone,
                Command::Skip,
                Command::Cancel,
                Command::FullOutput,
                Command::Help,
                Command::Back,
            ],
        };
        for (i, c) in hints.iter().enumerate() {
            if i > 0 {
                spans.push(Span::raw("  "));
            }
            spans.push(Span::styled(state.keymap.first_key(*c), theme.title()));
            let word = if state.screen != Screen::Scenario && *c == Command::Enter {
                "open"
            } else {
                c.hint()
            };
            spans.push(Span::raw(format!(" {word}")));
        }
    }
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(theme.status_bar()),
        area,
    );
}

/// Cuts `text` to `width` columns, with an ellipsis when cut.
/// A bordered block with a title, its border showing focus.
fn titled(title: String, focused: bool, theme: Theme) -> ratatui::widgets::Block<'static> {
    ratatui::widgets::Block::default()
        .borders(ratatui::widgets::Borders::ALL)
        .border_style(theme.border(focused))
        .title(Span::styled(title, theme.title()))
}

/// A list and its detail: side by side on a wide screen; on a narrow one the detail below,
/// taking `narrow_percent` of the height.
fn list_and_detail(area: Rect, narrow_percent: u16) -> (Rect, Rect) {
    if area.width >= WIDE {
        let [l, d] = Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
            .areas(area);
        (l, d)
    } else {
        let [l, d] = Layout::vertical([Constraint::Min(5), Constraint::Percentage(narrow_percent)])
            .areas(area);
        (l, d)
    }
}

pub fn fit(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut out: String = text.chars().take(width.saturating_sub(1)).collect();
    out.push('…');
    out
}
