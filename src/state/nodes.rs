//! What the output pane shows for a step run on every node: one column per node, built from
//! the engine's node events, replaced by the comparison once every node is done.
//!
//! The UI draws it (`ui/nodes.rs`) without knowing the engine; to show more per node, add a
//! field to [`NodeColumn`] and fill it in [`NodesView::event`].

use crate::exec::nodes::compare::format_offset;
use crate::exec::runner::Event;

/// Lines kept per node while the outputs stream in.
const MAX_LINES: usize = 1000;

/// How far a node got.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NodeStatus {
    #[default]
    Running,
    /// Shown, not run (dry run).
    Shown,
    Passed,
    Failed,
}

/// One node's column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodeColumn {
    pub name: String,
    pub address: String,
    pub status: NodeStatus,
    /// `+312 s` when the node's clock is off.
    pub skew: Option<String>,
    pub lines: Vec<String>,
    /// Indices into `lines` that differ from the majority.
    pub differing: Vec<usize>,
    /// What went wrong (cannot connect, sudo needs a password, ...).
    pub message: Option<String>,
}

/// The nodes of one step, side by side.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NodesView {
    pub columns: Vec<NodeColumn>,
    /// "2 of 3 nodes agree; node-c differs: +312 s", once every node is done.
    pub summary: Option<String>,
    /// The first column shown (left/right paging).
    pub first: usize,
}

impl NodesView {
    /// Takes a node event; other events are ignored.
    pub fn event(&mut self, event: &Event) {
        match event {
            Event::NodeStarted {
                node,
                address,
                command,
                ..
            } => {
                // A new run of the block: start afresh.
                if self.summary.is_some() {
                    *self = Self::default();
                }
                self.columns.push(NodeColumn {
                    name: node.clone(),
                    address: address.clone(),
                    lines: vec![format!("$ {command}")],
                    ..NodeColumn::default()
                });
            }
            Event::NodeOutput { node, text, .. } => {
                if let Some(c) = self.column(node) {
                    for l in text.lines() {
                        if c.lines.len() < MAX_LINES {
                            c.lines
                                .push(crate::exec::output::strip_ansi(l).into_owned());
                        }
                    }
                }
            }
            Event::NodeFinished { result, .. } => {
                if let Some(c) = self.column(&result.node) {
                    c.status = if result.ok() {
                        NodeStatus::Passed
                    } else {
                        NodeStatus::Failed
                    };
                    c.message.clone_from(&result.message);
                    if c.message.is_none() && !result.failures.is_empty() {
                        c.message = Some(result.failures.join("; "));
                    }
                }
            }
            Event::NodesCompared { report, .. } => {
                for col in &report.columns {
                    let name = &col.result.node;
                    if let Some(c) = self.column(name) {
                        c.lines.clone_from(&col.lines);
                        c.differing.clone_from(&col.differing);
                        c.skew = col.offset.filter(|_| col.skewed).map(format_offset);
                    }
                }
                self.summary = Some(report.summary.clone());
            }
            Event::StepFinished { .. } => {
                for c in &mut self.columns {
                    if c.status == NodeStatus::Running {
                        c.status = NodeStatus::Shown;
                    }
                }
            }
            _ => {}
        }
    }

    fn column(&mut self, name: &str) -> Option<&mut NodeColumn> {
        self.columns.iter_mut().find(|c| c.name == name)
    }

    /// Pages the columns: `delta` columns right (negative: left), kept in range.
    pub fn page(&mut self, delta: isize) {
        let last = self.columns.len().saturating_sub(1);
        self.first = self.first.saturating_add_signed(delta).min(last);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::nodes::{NodeColumn as Col, NodeResult, NodesReport};

    #[test]
    fn columns_follow_the_events_and_take_the_comparison() {
        let mut v = NodesView::default();
        for n in ["a", "b"] {
            v.event(&Event::NodeStarted {
                step: 0,
                block: 0,
                node: n.to_owned(),
                address: format!("{n}:22"),
                command: "ssh x".to_owned(),
            });
        }
        v.event(&Event::NodeOutput {
            step: 0,
            block: 0,
            node: "b".to_owned(),
            stream: crate::exec::output::Stream::Stdout,
            ts_ms: 1,
            text: "hello\nworld\n".to_owned(),
        });
        assert_eq!(v.columns[1].lines, ["$ ssh x", "hello", "world"]);
        v.event(&Event::NodeFinished {
            step: 0,
            block: 0,
            result: NodeResult {
                node: "a".to_owned(),
                message: Some("cannot connect to a".to_owned()),
                ..NodeResult::default()
            },
        });
        assert_eq!(v.columns[0].status, NodeStatus::Failed);
        v.event(&Event::NodesCompared {
            step: 0,
            block: 0,
            report: NodesReport {
                columns: vec![Col {
                    result: NodeResult {
                        node: "b".to_owned(),
                        ..NodeResult::default()
                    },
                    lines: vec!["world".to_owned()],
                    differing: vec![0],
                    offset: Some(312.0),
                    skewed: true,
                    agrees: false,
                }],
                summary: "b differs: +312 s".to_owned(),
            },
        });
        assert_eq!(v.columns[1].skew.as_deref(), Some("+312 s"));
        assert_eq!(v.columns[1].differing, [0]);
        v.page(5);
        assert_eq!(v.first, 1);
        v.page(-3);
        assert_eq!(v.first, 0);
    }
}
