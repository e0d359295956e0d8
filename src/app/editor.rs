//! The user's own editor for a step's command of several lines (the TUI's `e`).
//!
//! The block goes into a private temporary file; the terminal is lent to `$VISUAL`, else
//! `$EDITOR`, else `vi` (through `sh -c`, so `EDITOR="code --wait"` works), the same way it is
//! lent to an interactive command; what the file holds when the editor exits comes back as
//! [`Action::Edited`]. An editor that fails or cannot start leaves the step as it was.

use std::io::Write as _;

use tokio::sync::mpsc;

use super::host::TuiTerminal;
use crate::action::Action;
use crate::exec::process::Terminal as _;

/// Edits `text` in the user's editor on a thread of its own (it blocks while the editor runs)
/// and reports the result for step `step`, block `block`.
pub fn spawn(
    ctl: mpsc::UnboundedSender<Action>,
    mut terminal: TuiTerminal,
    step: usize,
    block: usize,
    text: String,
) {
    let report = ctl.clone();
    let spawned = std::thread::Builder::new()
        .name("editor".to_owned())
        .spawn(move || {
            let result = edit(&mut terminal, &text);
            let _ = ctl.send(Action::Edited {
                step,
                block,
                result,
            });
        });
    if let Err(e) = spawned {
        let _ = report.send(Action::Edited {
            step,
            block,
            result: Err(e.to_string()),
        });
    }
}

/// The editor's command line: `$VISUAL`, else `$EDITOR`, else `vi`.
pub fn editor_command() -> String {
    ["VISUAL", "EDITOR"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|v| !v.trim().is_empty())
        .unwrap_or_else(|| "vi".to_owned())
}

fn edit(terminal: &mut TuiTerminal, text: &str) -> Result<String, String> {
    let mut file = tempfile::Builder::new()
        .prefix("runbook-edit-")
        .suffix(".sh")
        .tempfile()
        .map_err(|e| format!("no temporary file: {e}"))?;
    file.write_all(format!("{}\n", text.trim_end()).as_bytes())
        .and_then(|()| file.flush())
        .map_err(|e| format!("cannot write the temporary file: {e}"))?;
    let editor = editor_command();
    terminal
        .suspend()
        .map_err(|e| format!("cannot lend the terminal: {e}"))?;
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("{editor} \"$1\""))
        .arg("sh")
        .arg(file.path())
        .status();
    let resumed = terminal.resume();
    let status = status.map_err(|e| format!("cannot start `{editor}`: {e}"))?;
    resumed.map_err(|e| format!("cannot take the terminal back: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`{editor}` exited with {status}; the step is unchanged"
        ));
    }
    std::fs::read_to_string(file.path()).map_err(|e| format!("cannot read the edit back: {e}"))
}
