//! The engine's view of the TUI: a [`Host`] that turns a step's events into actions for the
//! loop, and a [`Terminal`] that lends the real terminal to interactive commands.

use tokio::sync::mpsc;

use crate::action::Action;
use crate::exec::process::Terminal;
use crate::exec::runner::{Event, Host};

/// A request to hand the terminal to a command (`true`) or take it back (`false`).
pub struct TermRequest {
    pub suspend: bool,
    pub ack: std::sync::mpsc::SyncSender<()>,
}

/// Reports one step's events to the loop: control events on an unbounded channel, output on
/// a bounded one that drops (and counts) lines rather than grow when the screen is behind.
/// The session records every event before it gets here (the driver's recorder), so what the
/// screen drops is still in the session.
pub struct TuiHost {
    pub index: usize,
    pub ctl: mpsc::UnboundedSender<Action>,
    pub out: mpsc::Sender<Action>,
    /// Output lines the screen had no room for since the last report.
    pub dropped: u64,
    pub terminal: TuiTerminal,
}

impl TuiHost {
    pub fn flush_dropped(&mut self) {
        if self.dropped > 0 {
            let _ = self
                .ctl
                .send(Action::OutputDropped(self.index, self.dropped));
            self.dropped = 0;
        }
    }
}

impl Host for TuiHost {
    fn emit(&mut self, event: Event) {
        match event {
            Event::Output { ref text, .. } | Event::Progress { ref text, .. } => {
                let lines = text.lines().count().max(1) as u64;
                if self
                    .out
                    .try_send(Action::Engine(self.index, Box::new(event)))
                    .is_err()
                {
                    self.dropped += lines;
                } else if self.dropped > 0 {
                    self.flush_dropped();
                }
            }
            other => {
                self.flush_dropped();
                let _ = self.ctl.send(Action::Engine(self.index, Box::new(other)));
            }
        }
    }

    fn terminal(&mut self) -> &mut dyn Terminal {
        &mut self.terminal
    }
}

/// Lends the real terminal to an interactive command by asking the loop to step aside.
pub struct TuiTerminal {
    pub requests: mpsc::UnboundedSender<TermRequest>,
}

impl TuiTerminal {
    fn ask(&self, suspend: bool) -> std::io::Result<()> {
        let (ack, done) = std::sync::mpsc::sync_channel(1);
        self.requests
            .send(TermRequest { suspend, ack })
            .map_err(|_| std::io::Error::other("the screen is gone"))?;
        done.recv()
            .map_err(|_| std::io::Error::other("the screen is gone"))
    }
}

impl Terminal for TuiTerminal {
    fn suspend(&mut self) -> std::io::Result<()> {
        self.ask(true)
    }

    fn resume(&mut self) -> std::io::Result<()> {
        self.ask(false)
    }
}
