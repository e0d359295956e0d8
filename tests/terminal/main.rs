//! End-to-end tests in a real terminal: the TUI runs in tmux and is read with `capture-pane`.

#[path = "../tmux_support/mod.rs"]
mod tmux_support;

mod drift;
mod edit_tui;
mod exec_kill_tui;
mod hostile_tui;
mod lab_tui;
mod palette_tui;
mod sanitize_tty;
mod session_tui;
mod small_screen;
mod tui_e2e;
