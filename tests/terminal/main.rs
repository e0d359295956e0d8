//! End-to-end tests in a real terminal: the TUI runs in tmux and is read with `capture-pane`.

#[path = "../tmux_support/mod.rs"]
mod tmux_support;

mod drift;
mod lab_tui;
mod palette_tui;
mod session_tui;
mod small_screen;
mod tui_e2e;
