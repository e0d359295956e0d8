//! The scenario screen: the checklist, the selected step (text, callouts, blocks), and its
//! output with the runbook's expected output beside it or as a diff.
//!
//! Wide terminals (>= [`WIDE`] columns) get the checklist and step on the left and the output
//! on the right; narrow ones stack checklist, step and output.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, List, ListItem, ListState, Paragraph, Wrap};

use super::{Theme, WIDE, fit, markup};
use crate::action::Command;
use crate::runbook::{BlockKind, Section};
use crate::state::{Focus, Item, OutKind, OutputView, ScenarioView, State, Status};

pub fn draw(
    frame: &mut Frame<'_>,
    state: &State,
    area: Rect,
    theme: Theme,
) -> Option<(u16, u16, u16)> {
    let s = state.scenario.as_ref()?;
    let [header, body] = Layout::vertical([Constraint::Length(2), Constraint::Min(4)]).areas(area);
    draw_header(frame, s, lab_mark(state), header, theme);
    let rows = u16::try_from(s.items.len())
        .unwrap_or(u16::MAX)
        .saturating_add(2);
    let (list_area, step_area, output_area) = if area.width >= WIDE {
        let [left, right] =
            Layout::horizontal([Constraint::Percentage(45), Constraint::Percentage(55)])
                .areas(body);
        let [l, d] = Layout::vertical([
            Constraint::Length(rows.min(left.height / 2).max(4)),
            Constraint::Min(3),
        ])
        .areas(left);
        (l, d, right)
    } else {
        let [l, d, o] = Layout::vertical([
            Constraint::Length(rows.min(body.height * 2 / 5).max(4)),
            Constraint::Percentage(30),
            Constraint::Min(4),
        ])
        .areas(body);
        (l, d, o)
    };
    let clicks = draw_checklist(frame, state, s, list_area, theme);
    if let Some(item) = s.items.get(s.selected) {
        let reference = if s.selected == 0 {
            s.flow.reference()
        } else {
            &[]
        };
        let plan = s.flow.plans.get(s.selected);
        draw_step(
            frame,
            state,
            item,
            (reference, plan),
            s.step_text_scroll(),
            step_area,
            theme,
        );
        draw_output(frame, state, s, item, output_area, theme);
    }
    Some(clicks)
}

/// The practice cluster's word on the scenario on screen, for the header: fixed or not yet.
fn lab_mark(state: &State) -> Option<bool> {
    state
        .lab
        .as_ref()
        .filter(|lab| lab.is_for(state))
        .map(|lab| lab.fixed)
}

fn draw_header(
    frame: &mut Frame<'_>,
    s: &ScenarioView,
    lab: Option<bool>,
    area: Rect,
    theme: Theme,
) {
    let title = s.scenario().map_or("", |x| x.title.as_str());
    let procedure = s
        .scenario()
        .and_then(|x| x.procedures.get(s.procedure))
        .map_or("", |p| p.title.as_str());
    let (done, total) = s.progress();
    let gauge_width = 20usize;
    let filled = (done * gauge_width).checked_div(total).unwrap_or(0);
    let gauge = format!(
        "{}{} {done}/{total}",
        theme.bar_full().repeat(filled),
        theme.bar_empty().repeat(gauge_width - filled)
    );
    let width = usize::from(area.width);
    let left = fit(title, width.saturating_sub(gauge.chars().count() + 2));
    let pad = width.saturating_sub(left.chars().count() + gauge.chars().count());
    let mut more = if s.procedure_count() > 1 {
        format!("  (p: {} other procedures)", s.procedure_count() - 1)
    } else {
        String::new()
    };
    let (mark, mark_style) = match lab {
        Some(true) => ("  practice cluster: FIXED", theme.ok()),
        Some(false) => ("  practice cluster: not fixed yet (i)", theme.warn()),
        None => ("", theme.dim()),
    };
    if !mark.is_empty() {
        more.clear();
    }
    let lines = vec![
        Line::from(vec![
            Span::styled(left, theme.title()),
            Span::raw(" ".repeat(pad)),
            Span::styled(gauge, theme.ok()),
        ]),
        Line::from(vec![
            Span::styled(
                fit(
                    &format!("{} · {procedure}", s.runbook.id),
                    width.saturating_sub(more.len() + mark.len()),
                ),
                theme.dim(),
            ),
            Span::styled(more, theme.dim()),
            Span::styled(mark, mark_style),
        ]),
    ];
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_checklist(
    frame: &mut Frame<'_>,
    state: &State,
    s: &ScenarioView,
    area: Rect,
    theme: Theme,
) -> (u16, u16, u16) {
    let width = usize::from(area.width.saturating_sub(4));
    let items: Vec<ListItem<'_>> = s
        .items
        .iter()
        .map(|item| {
            let (glyph, style) = theme.status(item.status, state.ticks);
            let indent = "  ".repeat(item.depth);
            let number = if item.number == "0" {
                "0".to_owned()
            } else {
                item.number.clone()
            };
            let mut spans = vec![
                Span::styled(format!("{indent}{glyph} "), style),
                Span::styled(format!("{number}. "), theme.dim()),
            ];
            let suffix = match item.status {
                Status::Running(d) => format!(" {}", elapsed(d)),
                _ => String::new(),
            };
            let used = indent.len() + glyph.chars().count() + number.len() + 3 + suffix.len();
            spans.push(Span::raw(fit(
                &plain(item.title()),
                width.saturating_sub(used),
            )));
            spans.push(Span::styled(suffix, theme.warn()));
            ListItem::new(Line::from(spans))
        })
        .collect();
    let focused = state.focus == Focus::Checklist;
    let mut list_state = ListState::default().with_selected(Some(s.selected));
    frame.render_stateful_widget(
        List::new(items)
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border(focused))
                    .title(Span::styled(" checklist ", theme.title())),
            )
            .highlight_style(theme.selected())
            .highlight_symbol(theme.pointer()),
        area,
        &mut list_state,
    );
    let offset = u16::try_from(list_state.offset()).unwrap_or(0);
    (area.y + 1, area.height.saturating_sub(2), offset)
}

fn draw_step(
    frame: &mut Frame<'_>,
    state: &State,
    item: &Item,
    (reference, plan): (&[Section], Option<&crate::exec::StepPlan>),
    scroll: usize,
    area: Rect,
    theme: Theme,
) {
    let mut lines: Vec<Line<'static>> = markup::lines(&item.step.text, theme.base(), theme);
    // Every fence attribute that changes how a block is judged, and whether it was honoured
    // (a fetched runbook's `destructive=false` is not): the review shows what the guard sees.
    for b in plan.map(|p| p.blocks.as_slice()).unwrap_or_default() {
        for a in &b.class.attributes {
            let (text, style) = match &a.ignored {
                Some(why) => (
                    format!(
                        "block {}: {}={} (ignored: {why})",
                        b.index + 1,
                        a.key,
                        a.value
                    ),
                    theme.warn(),
                ),
                None => (
                    format!("block {}: {}={}", b.index + 1, a.key, a.value),
                    theme.dim(),
                ),
            };
            lines.push(Line::from(Span::styled(text, style)));
        }
    }
    for c in &item.step.callouts {
        let style = if matches!(c.kind.as_str(), "warning" | "danger" | "caution") {
            theme.warn()
        } else {
            theme.notice()
        };
        lines.push(Line::raw(""));
        let title = c.title.clone().unwrap_or_else(|| c.kind.to_uppercase());
        lines.push(Line::from(Span::styled(format!("▌ {title}"), style)));
        for l in markup::lines(&c.text, theme.base(), theme) {
            let mut spans = vec![Span::styled("▌ ", style)];
            spans.extend(l.spans);
            lines.push(Line::from(spans));
        }
    }
    for (index, b) in item.step.blocks.iter().enumerate() {
        lines.push(Line::raw(""));
        let tab = b
            .attribute("tab")
            .map(|t| format!(" [{t}]"))
            .unwrap_or_default();
        let (label, style) = match b.kind {
            BlockKind::Command => ("run", theme.command()),
            BlockKind::Output => ("expected output", theme.dim()),
            BlockKind::Example => ("example, not run", theme.dim()),
            BlockKind::Config => ("config, not run", theme.dim()),
        };
        lines.push(Line::from(Span::styled(
            format!("── {label}{tab}"),
            theme.dim(),
        )));
        for (i, code) in b.code.lines().enumerate() {
            let prefix = if b.kind == BlockKind::Command {
                if i == 0 { "$ " } else { "  " }
            } else {
                "  "
            };
            lines.push(Line::from(Span::styled(format!("{prefix}{code}"), style)));
        }
        if let Some(edit) = item.edit.as_ref().filter(|e| e.block == index) {
            lines.extend(super::edit::edited_lines(edit, &state.keymap, theme));
        }
    }
    for r in reference {
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!("── reference: {}", r.title),
            theme.heading(),
        )));
        lines.extend(markup::lines(&r.text, theme.base(), theme));
        for b in &r.blocks {
            lines.push(Line::raw(""));
            for code in b.code.lines() {
                lines.push(Line::from(Span::styled(format!("  {code}"), theme.dim())));
            }
        }
    }
    // Longer than the box: it scrolls, and the title says how. Rows are counted as if cut at
    // the width; each line that wraps may take one more row at a word break, so that much
    // more scrolling is allowed.
    let inner = usize::from(area.width.saturating_sub(2)).max(1);
    let height = usize::from(area.height.saturating_sub(2));
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner)).sum();
    let wrapped = lines.iter().filter(|l| l.width() > inner).count();
    let edited = if item.edit.is_some() {
        " · edited"
    } else {
        ""
    };
    let mut title = format!(" step {} · {}{edited} ", item.number, item.status.label());
    let top = scroll.min((rows + wrapped).saturating_sub(height));
    if rows > height {
        let keys = format!(
            "{}/{}",
            state.keymap.first_key(Command::StepTextDown),
            state.keymap.first_key(Command::StepTextUp)
        );
        let more = if top == 0 {
            format!("· {keys} more ")
        } else {
            format!("· row {} · {keys} ", top + 1)
        };
        title.push_str(&more);
    }
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((u16::try_from(top).unwrap_or(u16::MAX), 0))
            .block(
                Block::default()
                    .borders(Borders::ALL)
                    .border_style(theme.border(false))
                    .title(title),
            ),
        area,
    );
}

fn draw_output(
    frame: &mut Frame<'_>,
    state: &State,
    s: &ScenarioView,
    item: &Item,
    area: Rect,
    theme: Theme,
) {
    let focused = state.focus == Focus::Output;
    if let Some(view) = &item.output.nodes {
        super::nodes::draw(frame, view, area, focused, theme);
        return;
    }
    let expected = item.expected();
    let (actual_area, expected_area) = match expected {
        Some(_) if area.height >= 12 || area.width >= WIDE => {
            let [a, e] = Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)])
                .areas(area);
            (a, Some(e))
        }
        // No room for both: `d` swaps the pane to the expected output (or the diff).
        Some(_) if s.show_diff => (Rect::default(), Some(area)),
        _ => (area, None),
    };

    // Actual output, following the stream unless scrolled back.
    let out = &item.output;
    let height = usize::from(actual_area.height.saturating_sub(2));
    let mut lines: Vec<Line<'static>> = Vec::new();
    if out.dropped > 0 {
        lines.push(Line::from(Span::styled(
            format!("… the first {} lines were not kept", out.dropped),
            theme.dim(),
        )));
    }
    let total = out.lines.len() + usize::from(out.progress.is_some());
    let end = total.saturating_sub(out.scroll_back);
    let room = height.saturating_sub(lines.len());
    let start = end.saturating_sub(room);
    let mut body: Vec<Line<'static>> = out
        .lines
        .iter()
        .skip(start)
        .take(end.saturating_sub(start))
        .map(|l| output_line(l, theme))
        .collect();
    if let Some(p) = &out.progress
        && end > out.lines.len()
    {
        body.push(Line::from(Span::styled(display(p), theme.dim())));
    }
    let width = usize::from(actual_area.width.saturating_sub(2));
    let body = shape(body, s.wrap, s.hscroll, width);
    // Wrapped, the last lines may take more rows than there are: the newest rows stay.
    lines.extend(
        body.into_iter()
            .rev()
            .take(room)
            .collect::<Vec<_>>()
            .into_iter()
            .rev(),
    );
    if out.lines.is_empty() && out.progress.is_none() {
        let hint = if item.step.commands().next().is_some() {
            "Enter runs this step; its output appears here."
        } else {
            "A manual step: do it, then Space marks it done."
        };
        lines.push(Line::from(Span::styled(hint, theme.dim())));
    }
    for r in &out.reasons {
        lines.push(Line::from(Span::styled(format!("! {r}"), theme.bad())));
    }
    let title = output_title(item, theme);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(focused))
                .title(title),
        ),
        actual_area,
    );

    if let (Some(area), Some(expected)) = (expected_area, expected) {
        draw_expected(frame, s, out, expected, area, theme);
    }
}

/// The runbook's expected output, highlighted lines marked; after a run, `d` swaps it for
/// the diff against what the command printed.
fn draw_expected(
    frame: &mut Frame<'_>,
    s: &ScenarioView,
    out: &OutputView,
    (code, highlight): (&str, &[u32]),
    area: Rect,
    theme: Theme,
) {
    let mut lines = Vec::new();
    let title;
    if s.show_diff && out.exit.is_some() {
        title = " expected vs actual (d: back) ".to_owned();
        match (&out.diff, out.matches) {
            (Some(diff), _) => {
                for l in diff.lines() {
                    let style = if l.starts_with('+') {
                        theme.ok()
                    } else if l.starts_with('-') {
                        theme.bad()
                    } else {
                        theme.dim()
                    };
                    lines.push(Line::from(Span::styled(l.to_owned(), style)));
                }
            }
            (None, Some(true)) => lines.push(Line::from(Span::styled(
                "output matches the runbook",
                theme.ok(),
            ))),
            _ => lines.push(Line::from(Span::styled(
                "run the step to compare",
                theme.dim(),
            ))),
        }
    } else {
        title = match out.matches {
            Some(true) => " expected · matches (d: diff) ".to_owned(),
            Some(false) => " expected · differs (d: diff) ".to_owned(),
            None => " expected output (d: diff) ".to_owned(),
        };
        for (i, l) in code.lines().enumerate() {
            let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let marked = highlight.contains(&n);
            let (mark, style) = if marked {
                ("▶ ", theme.highlight_line())
            } else {
                ("  ", theme.dim())
            };
            lines.push(Line::from(vec![
                Span::styled(mark, theme.warn()),
                Span::styled(l.to_owned(), style),
            ]));
        }
    }
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(false))
                .title(title),
        ),
        area,
    );
}

fn output_title(item: &Item, theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(" output ", theme.title())];
    if let Some(exit) = &item.output.exit {
        let (text, style): (String, Style) = if exit.cancelled {
            ("cancelled".to_owned(), theme.warn())
        } else if exit.timed_out {
            ("timed out".to_owned(), theme.bad())
        } else if let Some(sig) = exit.signal {
            (format!("signal {sig}"), theme.bad())
        } else {
            match exit.code {
                Some(0) => ("exit 0".to_owned(), theme.ok()),
                Some(c) => (format!("exit {c}"), theme.bad()),
                None => ("no exit code".to_owned(), theme.warn()),
            }
        };
        spans.push(Span::styled(format!("· {text} "), style));
        spans.push(Span::styled(
            format!("· {} ", elapsed(exit.duration)),
            theme.dim(),
        ));
    } else if let Status::Running(d) = item.status {
        spans.push(Span::styled(
            format!("· running {} ", elapsed(d)),
            theme.warn(),
        ));
    }
    let n = item.output.lines.len();
    if n > 0 {
        spans.push(Span::styled(format!("· {n} lines "), theme.dim()));
    }
    Line::from(spans)
}

/// `1.2s`, `3m05s`.
pub fn elapsed(d: std::time::Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

/// Inline Markdown markers removed, for one-line titles.
fn plain(text: &str) -> String {
    text.replace("**", "").replace('`', "")
}

/// One line of a step's output: the command's own colours (ANSI SGR) are kept when colour is
/// on; other escapes and control characters never reach the terminal.
pub fn output_line(l: &crate::state::OutLine, theme: Theme) -> Line<'static> {
    let style = match l.kind {
        OutKind::Stdout => theme.base(),
        OutKind::Stderr => theme.stderr(),
        OutKind::Command => theme.command(),
        OutKind::Notice => theme.notice(),
    };
    if theme.color && l.text.contains('\u{1b}') {
        let cleaned: String = l
            .text
            .replace('\t', "    ")
            .chars()
            .filter(|c| *c == '\u{1b}' || !c.is_control())
            .collect();
        if let Ok(text) = ansi_to_tui::IntoText::into_text(&cleaned.as_bytes())
            && let Some(line) = text.lines.into_iter().next()
        {
            return line.patch_style(style);
        }
    }
    Line::from(Span::styled(display(&l.text), style))
}

/// Output for the screen: ANSI escapes and control characters removed (colours are not
/// passed through to keep the frame's own styles intact), tabs expanded.
/// Output lines as a pane shows them: wrapped at `width` columns, or (not wrapping) with the
/// first `skip` columns scrolled out of sight; the pane cuts what is wider.
pub fn shape(
    lines: Vec<Line<'static>>,
    wrap: bool,
    skip: usize,
    width: usize,
) -> Vec<Line<'static>> {
    if !wrap && skip == 0 {
        return lines;
    }
    let width = width.max(1);
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        let cells: Vec<(char, ratatui::style::Style)> = line
            .spans
            .iter()
            .flat_map(|span| {
                let style = line.style.patch(span.style);
                span.content.chars().map(move |c| (c, style))
            })
            .collect();
        if wrap {
            if cells.is_empty() {
                out.push(Line::default());
            }
            out.extend(cells.chunks(width).map(cells_line));
        } else {
            out.push(cells_line(&cells[skip.min(cells.len())..]));
        }
    }
    out
}

/// Characters with their styles back into a line of spans.
fn cells_line(cells: &[(char, ratatui::style::Style)]) -> Line<'static> {
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut text = String::new();
    let mut current = None;
    for (c, style) in cells {
        if current.is_some_and(|s| s != *style) {
            spans.push(Span::styled(
                std::mem::take(&mut text),
                current.unwrap_or_default(),
            ));
        }
        current = Some(*style);
        text.push(*c);
    }
    if let Some(style) = current {
        spans.push(Span::styled(text, style));
    }
    Line::from(spans)
}

pub fn display(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                // CSI ... final byte, or a two-character escape.
                if chars.peek() == Some(&'[') {
                    chars.next();
                    for n in chars.by_ref() {
                        if ('@'..='~').contains(&n) {
                            break;
                        }
                    }
                } else {
                    chars.next();
                }
            }
            '\t' => out.push_str("    "),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use ratatui::style::Color;

    use super::*;
    use crate::state::OutLine;

    #[test]
    fn command_colours_are_kept_and_other_escapes_dropped() {
        let l = OutLine {
            kind: OutKind::Stdout,
            text: "\u{1b}[31mred\u{1b}[0m plain\u{7}".to_owned(),
        };
        let line = output_line(&l, Theme::default());
        let red = line
            .spans
            .iter()
            .find(|s| s.content == "red")
            .map(|s| s.style.fg);
        assert_eq!(red, Some(Some(Color::Red)));
        let text: String = line.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "red plain");
        let plain = output_line(
            &l,
            Theme {
                color: false,
                ascii: false,
            },
        );
        let text: String = plain.spans.iter().map(|s| s.content.as_ref()).collect();
        assert_eq!(text, "red plain");
        assert!(plain.spans.iter().all(|s| s.style.fg.is_none()));
    }
}
