//! Every style and glyph the UI uses, in one place. `NO_COLOR`/`--no-color` keep only
//! modifiers (bold, reverse, dim); `--ascii` swaps the glyphs for plain ASCII.
//!
//! `--ascii` holds for the whole screen, not only for the glyphs chosen here: after a frame is
//! drawn, [`asciify`] replaces every box, arrow, shape or dingbat left in it (ratatui's
//! borders, key names like `↑`, a runbook's own `→`) by its ASCII stand-in from
//! [`ascii_for`]. To support another glyph, add it to that table.

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier, Style};

use crate::state::Status;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
    pub ascii: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Self {
            color: true,
            ascii: false,
        }
    }
}

impl Theme {
    fn fg(self, color: Color) -> Style {
        if self.color {
            Style::new().fg(color)
        } else {
            Style::new()
        }
    }

    pub fn base(self) -> Style {
        Style::new()
    }
    pub fn dim(self) -> Style {
        self.fg(Color::DarkGray).add_modifier(if self.color {
            Modifier::empty()
        } else {
            Modifier::DIM
        })
    }
    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn heading(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn border(self, focused: bool) -> Style {
        if focused {
            self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
        } else {
            self.fg(Color::DarkGray)
        }
    }
    pub fn matched(self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
    pub fn code(self) -> Style {
        self.fg(Color::Green)
    }
    pub fn command(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn stderr(self) -> Style {
        self.fg(Color::LightRed)
    }
    pub fn notice(self) -> Style {
        self.fg(Color::Magenta)
    }
    pub fn ok(self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }
    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    /// A step ticked off by hand: nothing checked it, so it is not drawn like a pass.
    pub fn by_hand(self) -> Style {
        self.fg(Color::Blue).add_modifier(Modifier::ITALIC)
    }
    pub fn warn(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }
    pub fn highlight_line(self) -> Style {
        if self.color {
            Style::new().bg(Color::Rgb(60, 60, 0))
        } else {
            Style::new().add_modifier(Modifier::BOLD)
        }
    }
    pub fn status_bar(self) -> Style {
        if self.color {
            Style::new().bg(Color::Rgb(30, 30, 40)).fg(Color::White)
        } else {
            Style::new().add_modifier(Modifier::REVERSED)
        }
    }

    /// The glyph and style of a step status; `frame` animates the spinner.
    pub fn status(self, status: Status, frame: u64) -> (&'static str, Style) {
        const SPIN: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
        const SPIN_ASCII: [&str; 4] = ["|", "/", "-", "\\"];
        let spin = |f: u64| {
            if self.ascii {
                SPIN_ASCII[usize::try_from(f % 4).unwrap_or(0)]
            } else {
                SPIN[usize::try_from(f % 10).unwrap_or(0)]
            }
        };
        let (unicode, ascii, style) = match status {
            Status::Pending => ("○", "[ ]", self.dim()),
            Status::Running(_) => ("", "", self.warn()),
            Status::Passed => ("✔", "[+]", self.ok()),
            Status::Failed => ("✘", "[x]", self.bad()),
            Status::Skipped => ("↷", "[s]", self.dim()),
            Status::Blocked => ("⊘", "[b]", self.bad()),
            // Ticked off by hand: a pen, not a second tick, and not the colour of a pass.
            Status::Done => ("✎", "[h]", self.by_hand()),
            Status::Cancelled => ("■", "[c]", self.warn()),
            Status::NeedsYou => ("☛", "[!]", self.warn()),
            Status::Shown => ("◌", "[d]", self.dim()),
        };
        if matches!(status, Status::Running(_)) {
            return (spin(frame), style);
        }
        (if self.ascii { ascii } else { unicode }, style)
    }

    /// Marks the selected row, so that selection shows without colour or reverse video.
    /// Marks a runbook fetched from a URL, before its host.
    pub fn fetched(self) -> &'static str {
        if self.ascii { "@" } else { "↓" }
    }

    pub fn pointer(self) -> &'static str {
        if self.ascii { "> " } else { "▶ " }
    }

    pub fn bullet(self) -> &'static str {
        if self.ascii { ">" } else { "›" }
    }
    pub fn bar_full(self) -> &'static str {
        if self.ascii { "#" } else { "█" }
    }
    pub fn bar_empty(self) -> &'static str {
        if self.ascii { "." } else { "░" }
    }
    /// The cluster's health in one glyph: up, down, not known yet.
    pub fn health(self, up: Option<bool>) -> &'static str {
        match (up, self.ascii) {
            (Some(true), false) => "●",
            (Some(true), true) => "+",
            (Some(false), false) => "✗",
            (Some(false), true) => "x",
            (None, false) => "○",
            (None, true) => "?",
        }
    }
    pub fn separator(self) -> &'static str {
        if self.ascii { "|" } else { "│" }
    }
}

/// The ASCII stand-in of a drawing glyph (box, arrow, shape, dingbat, spinner, typographic
/// mark), or `None` for a character that is not one (letters of any script are kept).
// The order is the table: a glyph's own stand-in comes before the block range that holds it,
// so arms with the same stand-in cannot be merged.
#[allow(clippy::match_same_arms)]
pub fn ascii_for(c: char) -> Option<char> {
    Some(match c {
        // Box drawing: lines and corners.
        '─' | '━' | '┄' | '┅' | '┈' | '┉' | '═' | '╌' | '╍' => '-',
        '│' | '┃' | '┆' | '┇' | '┊' | '┋' | '║' | '╎' | '╏' | '▏' | '▕' | '▎' | '▍' => {
            '|'
        }
        '\u{2500}'..='\u{257F}' => '+',
        // Arrows.
        '←' | '⇐' | '◀' | '◁' => '<',
        '→' | '⇒' | '▶' | '▷' | '↷' | '↪' => '>',
        '↑' | '⇑' | '▲' | '△' => '^',
        '↓' | '⇓' | '▼' | '▽' => 'v',
        '\u{2190}'..='\u{21FF}' => '>',
        // Blocks and shades (bars).
        '░' | '▒' => '.',
        '\u{2580}'..='\u{259F}' => '#',
        // Shapes and marks.
        '●' | '•' | '◆' | '■' | '∙' => '*',
        '○' | '◌' | '◯' | '□' => 'o',
        '·' => '.',
        '…' => '.',
        '✔' | '✓' | '☑' => 'v',
        '✘' | '✗' | '✕' | '×' => 'x',
        '☛' | '❯' | '›' | '»' => '>',
        '‹' | '«' => '<',
        '⊘' => '/',
        '\u{25A0}'..='\u{25FF}' | '\u{2600}'..='\u{27BF}' => '*',
        // Braille (the spinner).
        '\u{2800}'..='\u{28FF}' => '|',
        _ => return None,
    })
}

/// Replaces every drawing glyph in a drawn frame by its ASCII stand-in (`--ascii`).
pub fn asciify(buffer: &mut Buffer) {
    for cell in &mut buffer.content {
        let mut chars = cell.symbol().chars();
        if let (Some(c), None) = (chars.next(), chars.next())
            && !c.is_ascii()
            && let Some(a) = ascii_for(c)
        {
            let mut tmp = [0u8; 4];
            cell.set_symbol(a.encode_utf8(&mut tmp));
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const ALL: [Status; 10] = [
        Status::Pending,
        Status::Running(Duration::ZERO),
        Status::Passed,
        Status::Failed,
        Status::Skipped,
        Status::Blocked,
        Status::Done,
        Status::Cancelled,
        Status::NeedsYou,
        Status::Shown,
    ];

    #[test]
    fn every_status_has_a_glyph_of_its_own_and_passed_is_not_done_by_hand() {
        for theme in [
            Theme::default(),
            Theme {
                color: false,
                ascii: true,
            },
        ] {
            let glyphs: Vec<&str> = ALL.iter().map(|s| theme.status(*s, 0).0).collect();
            for (i, a) in glyphs.iter().enumerate() {
                for b in &glyphs[i + 1..] {
                    assert_ne!(a, b, "two statuses share a glyph ({theme:?})");
                }
            }
            if theme.ascii {
                assert!(glyphs.iter().all(|g| g.is_ascii()), "{glyphs:?}");
            }
            // In colour the two also differ in style, beyond the glyph.
            if theme.color {
                assert_ne!(
                    theme.status(Status::Passed, 0).1,
                    theme.status(Status::Done, 0).1
                );
            }
        }
    }

    #[test]
    fn asciify_leaves_no_drawing_glyph_and_keeps_letters() {
        let text = "┌─┐│└┘╭╮╰╯━▏ ←→↑↓↷ ✔✘✓✗✎ ●○◌▶☛⊘ █░ ⠋ · … ünïcødé";
        let mut buffer = Buffer::empty(ratatui::layout::Rect::new(0, 0, 60, 1));
        buffer.set_string(0, 0, text, Style::new());
        asciify(&mut buffer);
        let out: String = buffer
            .content
            .iter()
            .map(ratatui::buffer::Cell::symbol)
            .collect();
        let kept: String = out.chars().filter(|c| !c.is_ascii()).collect();
        assert_eq!(kept, "üïøé", "{out}");
        assert!(out.starts_with("+-+|++++++-|"), "{out}");
    }
}
