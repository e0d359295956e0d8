//! Dialogs (placeholder prompt, destructive-command confirmation, procedure picker, quit) and
//! full-screen overlays (help, output), drawn over the screen.
//!
//! Each dialog has a function that says what its box holds (a [`Modal`]: title, lines,
//! width); [`draw`] picks it by the open [`Dialog`] and frames it. To add a dialog, write its
//! function and give it an arm in [`draw`].

use ratatui::Frame;
use ratatui::layout::{Constraint, Flex, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::Theme;
use crate::action::{Command, Resumable};
use crate::drive::Alternative;
use crate::state::{Dialog, Live, LiveState, Overlay, State};

/// Rows of a live list shown at once.
const LIVE_ROWS: usize = 8;

/// What a dialog's box holds: drawn centred by [`modal`].
struct Modal {
    title: String,
    lines: Vec<Line<'static>>,
    /// The widest it gets (a narrow screen gets less).
    width: u16,
}

impl Modal {
    fn new(title: &str, lines: Vec<Line<'static>>, width: u16) -> Self {
        Self {
            title: title.to_owned(),
            lines,
            width,
        }
    }
}

pub fn draw(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme) {
    match &state.overlay {
        Some(Overlay::Help { scroll }) => help(frame, state, area, theme, *scroll),
        Some(Overlay::Output {
            scroll,
            query,
            searching,
        }) => output(frame, state, area, theme, *scroll, query, *searching),
        None => {}
    }
    let shown = match &state.dialog {
        Some(d @ Dialog::Prompt { .. }) => prompt(state, d, area, theme),
        Some(d @ Dialog::Confirm { .. }) => confirm(state, d, theme),
        Some(Dialog::Procedure { selected }) => Some(procedure(state, *selected, theme)),
        Some(Dialog::Alternatives {
            options, selected, ..
        }) => Some(alternatives(options, *selected, theme)),
        Some(Dialog::Contexts { selected }) => Some(contexts(state, *selected, theme)),
        Some(Dialog::Namespace { input, live }) => Some(namespace(state, input, live, area, theme)),
        Some(Dialog::Resume(r)) => Some(resume(r, theme)),
        Some(Dialog::Note { step, input }) => Some(note(state, *step, input, theme)),
        Some(Dialog::Values { selected, editing }) => {
            Some(values(state, *selected, editing.as_deref(), theme))
        }
        Some(Dialog::Lab) => lab(state, theme),
        Some(Dialog::Edit(editor)) => {
            let (title, lines, width) = super::edit::modal(state, editor, theme);
            Some(Modal {
                title,
                lines,
                width,
            })
        }
        Some(Dialog::Quit) => Some(quit(theme)),
        None => None,
    };
    if let Some(m) = shown {
        modal(frame, area, &m.title, m.lines, theme, m.width);
    }
}

/// A value for a placeholder: where it goes, the field, and the cluster's choices or the
/// values given before. `None` unless `dialog` is a [`Dialog::Prompt`].
fn prompt(state: &State, dialog: &Dialog, area: Rect, theme: Theme) -> Option<Modal> {
    let Dialog::Prompt {
        name,
        raw,
        context,
        description,
        example,
        secret,
        input,
        choices,
        live,
        ..
    } = dialog
    else {
        return None;
    };
    let mut lines = vec![Line::from(vec![
        Span::raw("Value for "),
        Span::styled(raw.clone(), theme.title()),
    ])];
    if let Some(d) = description {
        lines.push(Line::from(Span::raw(d.clone())));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled("where it goes:", theme.dim())));
    let (before, after) = context
        .split_once(raw.as_str())
        .unwrap_or((context.as_str(), ""));
    lines.push(Line::from(vec![
        Span::styled(format!("  {before}"), theme.code()),
        Span::styled(raw.clone(), theme.matched()),
        Span::styled(after.to_owned(), theme.code()),
    ]));
    lines.push(Line::raw(""));
    let shown = if *secret {
        "•".repeat(input.chars().count())
    } else {
        input.clone()
    };
    lines.push(Line::from(vec![
        Span::styled("> ", theme.title()),
        Span::raw(shown),
        Span::styled("▏", theme.title()),
    ]));
    if input.is_empty()
        && let Some(e) = example
    {
        lines.push(Line::from(Span::styled(format!("  e.g. {e}"), theme.dim())));
    }
    if let Some(live) = live {
        lines.extend(live_lines(
            live,
            input,
            theme,
            (width_of(70, area), state.size.1),
        ));
    } else if !choices.is_empty() && !*secret {
        lines.push(Line::from(Span::styled(
            format!("  ↑ previous: {}", choices.join(", ")),
            theme.dim(),
        )));
    }
    lines.push(Line::raw(""));
    let note = if *secret {
        "secret: never shown, never saved · "
    } else {
        ""
    };
    lines.push(Line::from(Span::styled(
        format!("{note}Enter: use it for every `{name}` · Esc: cancel"),
        theme.dim(),
    )));
    Some(Modal::new(" fill in a placeholder ", lines, 70))
}

/// May a destructive command (or a fetched runbook's first) run: why it asks, against which
/// cluster, the commands, and the name to type on a protected context. `None` unless
/// `dialog` is a [`Dialog::Confirm`].
fn confirm(state: &State, dialog: &Dialog, theme: Theme) -> Option<Modal> {
    let Dialog::Confirm {
        commands,
        reasons,
        require,
        input,
        origin,
        ..
    } = dialog
    else {
        return None;
    };
    let mut lines = Vec::new();
    if let Some(url) = origin {
        lines.push(Line::from(Span::styled(
            "This runbook was fetched from",
            theme.warn(),
        )));
        lines.push(Line::from(Span::styled(format!("  {url}"), theme.title())));
        lines.push(Line::from(Span::raw(
            "and none of its commands has run in this session yet.",
        )));
    }
    if !reasons.is_empty() {
        lines.push(Line::from(Span::styled(
            "This changes the cluster or the machine:",
            theme.warn(),
        )));
    }
    for r in reasons {
        lines.push(Line::from(Span::raw(format!("  • {r}"))));
    }
    lines.push(target_line(state, theme));
    lines.push(Line::raw(""));
    for c in commands {
        for (i, l) in c.lines().enumerate() {
            let prefix = if i == 0 { "$ " } else { "  " };
            lines.push(Line::from(Span::styled(
                format!("{prefix}{l}"),
                theme.command(),
            )));
        }
    }
    lines.push(Line::raw(""));
    if let Some(name) = require {
        lines.push(Line::from(vec![
            Span::styled("Protected context: type ", theme.warn()),
            Span::styled(name.clone(), theme.title()),
            Span::styled(" to run it", theme.warn()),
        ]));
        lines.push(Line::from(vec![
            Span::styled("> ", theme.title()),
            Span::raw(input.clone()),
            Span::styled("▏", theme.title()),
        ]));
    }
    lines.push(Line::from(vec![
        Span::styled("Enter", theme.title()),
        Span::raw(" run it   "),
        Span::styled("Esc", theme.title()),
        Span::raw(" don't"),
    ]));
    let title = if origin.is_some() && reasons.is_empty() {
        " run commands from a fetched runbook? "
    } else {
        " run a destructive command? "
    };
    Some(Modal::new(title, lines, 76))
}

/// Which cluster a confirmed command changes: the pinned context (and namespace), by name.
fn target_line(state: &State, theme: Theme) -> Line<'static> {
    let info = &state.context;
    let mut target = vec![Span::raw("Runs against ")];
    match &info.context {
        Some(name) => {
            target.push(Span::raw("context "));
            target.push(Span::styled(name.clone(), theme.warn()));
            if let Some(ns) = &info.namespace {
                target.push(Span::raw(format!(", namespace {ns}")));
            }
            if let Some(server) = &info.server {
                target.push(Span::styled(format!(" ({server})"), theme.dim()));
            }
        }
        None => target.push(Span::styled(
            "no pinned kube context (your shell's kubeconfig decides)",
            theme.warn(),
        )),
    }
    Line::from(target)
}

/// The scenario's procedures, sub-procedures indented.
fn procedure(state: &State, selected: usize, theme: Theme) -> Modal {
    let mut lines = vec![Line::from(Span::styled(
        "The scenario can be fixed in several ways:",
        theme.dim(),
    ))];
    if let Some(s) = state.scenario.as_ref().and_then(|s| s.scenario()) {
        for (i, p) in s.procedures.iter().enumerate() {
            let indent = if p.parent.is_some() { "    " } else { "" };
            let style = if i == selected {
                theme.selected()
            } else {
                theme.base()
            };
            lines.push(Line::from(Span::styled(
                format!("{indent}{}. {}", i + 1, p.title),
                style,
            )));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "↑↓ choose · Enter open · Esc cancel",
        theme.dim(),
    )));
    Modal::new(" procedures ", lines, 76)
}

/// A step's alternatives (tabs), each with its command.
fn alternatives(options: &[Alternative], selected: usize, theme: Theme) -> Modal {
    let mut lines = vec![Line::from(Span::styled(
        "The runbook gives this step several ways; only the one you pick runs:",
        theme.dim(),
    ))];
    for (i, a) in options.iter().enumerate() {
        let style = if i == selected {
            theme.selected()
        } else {
            theme.base()
        };
        let needs = if a.ready { "" } else { "  (asks for values)" };
        lines.push(Line::raw(""));
        lines.push(Line::from(Span::styled(
            format!("{}. {}{needs}", i + 1, a.tab),
            style,
        )));
        for l in a.command.lines() {
            lines.push(Line::from(Span::styled(format!("   $ {l}"), theme.dim())));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "↑↓ choose · Enter use it · Esc cancel",
        theme.dim(),
    )));
    Modal::new(" which way? ", lines, 76)
}

/// The kubeconfig's contexts, the pinned one marked, and its health.
fn contexts(state: &State, selected: usize, theme: Theme) -> Modal {
    let mut lines = vec![Line::from(Span::styled(
        "Commands run against the context picked here (your kubeconfig is not changed):",
        theme.dim(),
    ))];
    let width = state
        .contexts
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0);
    for (i, c) in state.contexts.iter().enumerate() {
        let style = if i == selected {
            theme.selected()
        } else {
            theme.base()
        };
        let mark = if state.context.context.as_deref() == Some(c.name.as_str()) {
            theme.pointer()
        } else {
            "  "
        };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark}{:width$}", c.name), style),
            Span::styled(format!("  {}", c.server), theme.dim()),
        ]));
    }
    lines.push(Line::raw(""));
    if state.context.context.is_some() {
        lines.push(Line::from(Span::styled(
            format!("now: {}", state.context.health.summary()),
            theme.dim(),
        )));
    }
    lines.push(Line::from(Span::styled(
        "↑↓ choose · Enter use it · Esc cancel",
        theme.dim(),
    )));
    Modal::new(" kube context ", lines, 90)
}

/// The namespace field over the cluster's list.
fn namespace(state: &State, input: &str, live: &Live, area: Rect, theme: Theme) -> Modal {
    let mut lines = vec![Line::from(vec![
        Span::styled("> ", theme.title()),
        Span::raw(input.to_owned()),
        Span::styled("▏", theme.title()),
    ])];
    lines.extend(live_lines(
        live,
        input,
        theme,
        (width_of(76, area), state.size.1),
    ));
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "Enter: commands default to this namespace · Esc cancel",
        theme.dim(),
    )));
    Modal::new(" namespace ", lines, 76)
}

/// An unfinished session of this scenario: resume it or start over.
fn resume(r: &Resumable, theme: Theme) -> Modal {
    let lines = vec![
        Line::from(Span::raw(format!(
            "An unfinished session of this scenario on this context: {} of {} steps \
             done, last active {}.",
            r.done, r.total, r.updated
        ))),
        Line::from(Span::styled(
            "Resuming brings back the steps' states, outputs and values; secrets are \
             asked again. A step that was running is shown as interrupted.",
            theme.dim(),
        )),
        Line::raw(""),
        Line::from(vec![
            Span::styled("Enter", theme.title()),
            Span::raw(" resume   "),
            Span::styled("Esc", theme.title()),
            Span::raw(" start over"),
        ]),
    ];
    Modal::new(" resume? ", lines, 70)
}

/// The field for a note on a step.
fn note(state: &State, step: usize, input: &str, theme: Theme) -> Modal {
    let number = state
        .scenario
        .as_ref()
        .and_then(|s| s.items.get(step))
        .map(|i| i.number.clone())
        .unwrap_or_default();
    let lines = vec![
        Line::from(vec![
            Span::styled("> ", theme.title()),
            Span::raw(input.to_owned()),
            Span::styled("▏", theme.title()),
        ]),
        Line::raw(""),
        Line::from(Span::styled(
            "Enter: keep it in the session and the report · Esc: cancel",
            theme.dim(),
        )),
    ];
    Modal::new(&format!(" note on step {number} "), lines, 70)
}

/// The values given so far, and the field for a new one of the selected.
fn values(state: &State, selected: usize, editing: Option<&str>, theme: Theme) -> Modal {
    let rows = crate::state::values::rows(state);
    let width = rows
        .iter()
        .map(|r| r.name.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = vec![Line::from(Span::styled(
        "What the commands of the steps to come get:",
        theme.dim(),
    ))];
    for (i, r) in rows.iter().enumerate() {
        let chosen = i == selected;
        let style = if chosen {
            theme.selected()
        } else {
            theme.base()
        };
        let mark = if chosen { theme.pointer() } else { "  " };
        lines.push(Line::from(vec![
            Span::styled(format!("{mark}{:width$}  {}", r.name, r.shown), style),
            Span::styled(format!("  ({})", r.from), theme.dim()),
        ]));
        if chosen && let Some(input) = editing {
            let shown = if r.secret {
                "•".repeat(input.chars().count())
            } else {
                input.to_owned()
            };
            lines.push(Line::from(vec![
                Span::styled("    new value> ", theme.title()),
                Span::raw(shown),
                Span::styled("▏", theme.title()),
            ]));
        }
    }
    lines.push(Line::raw(""));
    let keys = if editing.is_some() {
        "Enter: use it (empty: clear it, asked again) · Esc: keep the old one"
    } else {
        "↑↓ choose · Enter change or clear · Esc close"
    };
    lines.push(Line::from(Span::styled(keys, theme.dim())));
    Modal::new(" values ", lines, 76)
}

/// The practice cluster's instructions, or the news that it is fixed; nothing without a lab.
fn lab(state: &State, theme: Theme) -> Option<Modal> {
    let lab = state.lab.as_ref()?;
    let mut lines = Vec::new();
    if lab.fixed {
        lines.push(Line::from(Span::styled(
            format!(
                "{} The practice cluster reports this fixed.",
                theme.status(crate::state::Status::Passed, 0).0
            ),
            theme.ok(),
        )));
        lines.push(Line::raw(""));
    }
    lines.push(Line::from(vec![
        Span::styled("Practice cluster: ", theme.dim()),
        Span::styled(lab.title.clone(), theme.title()),
    ]));
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled("In this lab:", theme.heading())));
    for l in lab.hint.lines() {
        lines.push(Line::from(Span::raw(format!("  {l}"))));
    }
    lines.push(Line::raw(""));
    let finish = if lab.fixed {
        "Enter close · i shows this again"
    } else {
        "Work through the steps; this tells you when the lab is fixed. Enter close · i shows this again"
    };
    lines.push(Line::from(Span::styled(finish, theme.dim())));
    let title = if lab.fixed {
        " fixed! "
    } else {
        " in this lab "
    };
    Some(Modal::new(title, lines, 76))
}

/// Quit while a command runs?
fn quit(theme: Theme) -> Modal {
    let lines = vec![
        Line::from(Span::raw("A command is still running.")),
        Line::from(Span::raw("Quit stops it and everything it started.")),
        Line::raw(""),
        Line::from(vec![
            Span::styled("Enter", theme.title()),
            Span::raw(" stop and quit   "),
            Span::styled("Esc", theme.title()),
            Span::raw(" stay"),
        ]),
    ];
    Modal::new(" quit? ", lines, 50)
}

/// A live list under a text field: loading, the reason it failed, or a window of the choices
/// that match what is typed, the highlighted one marked.
fn live_lines<'a>(
    live: &Live,
    filter: &str,
    theme: Theme,
    (max_width, height): (u16, u16),
) -> Vec<Line<'a>> {
    let mut lines = vec![Line::from(Span::styled(
        format!("from the cluster: {}", live.what),
        theme.dim(),
    ))];
    match &live.state {
        LiveState::Loading => lines.push(Line::from(Span::styled("  loading…", theme.dim()))),
        LiveState::Failed(e) => lines.push(Line::from(Span::styled(
            format!("  cannot list them: {e} (type the value instead)"),
            theme.warn(),
        ))),
        LiveState::Ready(_) => {
            let visible = live.visible(filter);
            if visible.is_empty() {
                lines.push(Line::from(Span::styled(
                    "  none match (Enter takes what you typed)",
                    theme.dim(),
                )));
            } else if visible.len() == 1 && live.selected.is_none() && !filter.is_empty() {
                lines.push(Line::from(Span::styled(
                    format!("  one match: Enter takes {}", visible[0].value),
                    theme.dim(),
                )));
            }
            // Small terminals get fewer rows.
            let rows = LIVE_ROWS.min(usize::from(height.saturating_sub(16)).max(3));
            let top = live
                .selected
                .map_or(0, |i| i.saturating_sub(rows.saturating_sub(1)));
            let width = visible
                .iter()
                .map(|c| c.name.chars().count())
                .max()
                .unwrap_or(0);
            for (i, c) in visible.iter().enumerate().skip(top).take(rows) {
                let chosen = live.selected == Some(i);
                let style = if chosen {
                    theme.selected()
                } else {
                    theme.base()
                };
                let mark = if chosen { theme.pointer() } else { "  " };
                // The namespace only where the list spans several.
                let ns = c
                    .namespace
                    .as_deref()
                    .filter(|_| !live.what.contains(" in "))
                    .map(|n| format!("{n}  "))
                    .unwrap_or_default();
                let name = format!("{mark}{:width$}", c.name);
                let room = usize::from(max_width).saturating_sub(name.chars().count() + 6);
                lines.push(Line::from(vec![
                    Span::styled(name, style),
                    Span::styled(
                        format!("  {}", super::fit(&format!("{ns}{}", c.detail), room)),
                        theme.dim(),
                    ),
                ]));
            }
            if visible.len() > rows {
                lines.push(Line::from(Span::styled(
                    format!("  {} in all · type to narrow", visible.len()),
                    theme.dim(),
                )));
            }
            lines.push(Line::from(Span::styled(
                "  ↑↓ pick one · or type any value",
                theme.dim(),
            )));
        }
    }
    lines
}

/// The inner width of a modal of `width` in `area`.
fn width_of(width: u16, area: Rect) -> u16 {
    width.min(area.width.saturating_sub(2)).saturating_sub(2)
}

fn modal(
    frame: &mut Frame<'_>,
    area: Rect,
    title: &str,
    lines: Vec<Line<'_>>,
    theme: Theme,
    width: u16,
) {
    let width = width.min(area.width.saturating_sub(2));
    let inner_width = usize::from(width.saturating_sub(2)).max(1);
    let rows: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_width))
        .sum();
    let height = u16::try_from(rows + 2)
        .unwrap_or(u16::MAX)
        .min(area.height.saturating_sub(2));
    let [v] = Layout::vertical([Constraint::Length(height)])
        .flex(Flex::Center)
        .areas(area);
    let [rect] = Layout::horizontal([Constraint::Length(width)])
        .flex(Flex::Center)
        .areas(v);
    frame.render_widget(Clear, rect);
    frame.render_widget(
        Paragraph::new(lines).wrap(Wrap { trim: false }).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(true))
                .title(Span::styled(title.to_owned(), theme.title())),
        ),
        rect,
    );
}

fn help(frame: &mut Frame<'_>, state: &State, area: Rect, theme: Theme, scroll: usize) {
    let entries = state.keymap.help();
    let key_width = entries
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut lines: Vec<Line<'_>> = entries
        .into_iter()
        .map(|(keys, what)| {
            Line::from(vec![
                Span::styled(format!("{keys:>key_width$}"), theme.title()),
                Span::raw(format!("  {what}")),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::from(Span::styled(
        "keys can be changed in the config file: runbook config --path",
        theme.dim(),
    )));
    // Taller than the screen: a window of it (rows counted as wrapped), and the title says
    // where it is.
    let room = usize::from(area.height.saturating_sub(4));
    let inner = usize::from(width_of(64, area)).max(1);
    let rows = |l: &Line<'_>| l.width().max(1).div_ceil(inner);
    let total = lines.len();
    if lines.iter().map(rows).sum::<usize>() <= room {
        modal(frame, area, " keys ", lines, theme, 64);
        return;
    }
    // The last top from which the rest fits.
    let mut last_top = total;
    let mut used = 0;
    while last_top > 0 && used + rows(&lines[last_top - 1]) <= room {
        last_top -= 1;
        used += rows(&lines[last_top]);
    }
    let top = scroll.min(last_top);
    let mut window = Vec::new();
    let mut used = 0;
    for l in lines.into_iter().skip(top) {
        used += rows(&l);
        if used > room {
            break;
        }
        window.push(l);
    }
    let title = format!(
        " keys {}-{} of {total} · ↑↓ scroll ",
        top + 1,
        top + window.len()
    );
    modal(frame, area, &title, window, theme, 64);
}

fn output(
    frame: &mut Frame<'_>,
    state: &State,
    area: Rect,
    theme: Theme,
    scroll: usize,
    query: &str,
    searching: bool,
) {
    frame.render_widget(Clear, area);
    let Some(item) = state
        .scenario
        .as_ref()
        .and_then(|s| s.items.get(s.selected))
    else {
        return;
    };
    let height = usize::from(area.height.saturating_sub(3));
    let total = item.output.lines.len();
    let top = scroll.min(total.saturating_sub(height));
    let (wrap, hscroll) = state
        .scenario
        .as_ref()
        .map_or((false, 0), |s| (s.wrap, s.hscroll));
    let lines: Vec<Line<'static>> = item
        .output
        .lines
        .iter()
        .skip(top)
        .take(height)
        .map(|l| {
            if !query.is_empty() && l.text.contains(query) {
                Line::from(Span::styled(
                    super::scenario::display(&l.text),
                    theme.matched(),
                ))
            } else {
                super::scenario::output_line(l, theme)
            }
        })
        .collect();
    let width = usize::from(area.width.saturating_sub(2));
    let mut lines = super::scenario::shape(lines, wrap, hscroll, width);
    lines.truncate(height);
    let [body, bar] = Layout::vertical([Constraint::Min(1), Constraint::Length(1)]).areas(area);
    frame.render_widget(
        Paragraph::new(lines).block(
            Block::default()
                .borders(Borders::ALL)
                .border_style(theme.border(true))
                .title(Span::styled(
                    output_title(&item.number, top, height, total, item.output.dropped),
                    theme.title(),
                )),
        ),
        body,
    );
    let prompt = if searching || !query.is_empty() {
        format!(
            " /{query}{}  n/N next/previous match · Esc close",
            if searching { "▏" } else { "" }
        )
    } else {
        let key = |c| state.keymap.first_key(c);
        let sideways = if wrap {
            format!("{} cut lines", key(Command::Wrap))
        } else {
            let at = if hscroll > 0 {
                format!(" (from column {})", hscroll + 1)
            } else {
                String::new()
            };
            format!(
                "{} {} sideways{at} · {} wrap",
                key(Command::ScrollLeft),
                key(Command::ScrollRight),
                key(Command::Wrap)
            )
        };
        format!(" ↑↓ PgUp PgDn g G scroll · {sideways} · / search · Esc close")
    };
    frame.render_widget(
        Paragraph::new(Span::styled(prompt, theme.dim())).style(theme.status_bar()),
        bar,
    );
}

/// The `o` view's title: which lines are shown, numbered as the command printed them, and how
/// many from the start were not kept.
fn output_title(number: &str, top: usize, height: usize, total: usize, dropped: u64) -> String {
    let first = dropped + top as u64 + 1;
    let last = dropped + (top + height).min(total) as u64;
    if dropped == 0 {
        format!(" step {number} output · lines {first}-{last} of {total} ")
    } else {
        format!(
            " step {number} output · lines {first}-{last}; the first {dropped} lines were not kept "
        )
    }
}
