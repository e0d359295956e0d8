//! Every style and glyph the UI uses, in one place. `NO_COLOR`/`--no-color` keep only
//! modifiers (bold, reverse, dim); `--ascii` swaps the glyphs for plain ASCII.

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
            Status::Done => ("✓", "[v]", self.ok()),
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
