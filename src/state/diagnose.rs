//! The Diagnose view's state: a run in progress, then the ranked scenarios with their evidence.
//!
//! The run itself is an effect ([`super::Effect::Diagnose`]) that the app performs off the loop
//! and reports back with [`crate::action::Action::Diagnosed`]. To show more per result, add it
//! to [`crate::diagnose::Finding`] and draw it in `ui/diagnose.rs`.

use std::time::Duration;

use crate::diagnose::{Finding, Report};

/// Where a diagnosis stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Started at this app time.
    Running(Duration),
    Done(Vec<Finding>),
    /// No cluster could be reached (or the kubeconfig read).
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnoseView {
    pub status: Status,
    /// Index into the results.
    pub selected: usize,
    /// Rows the selected finding's evidence is scrolled down (`J` / `K`).
    pub evidence_scroll: usize,
}

impl DiagnoseView {
    pub fn running(now: Duration) -> Self {
        Self {
            status: Status::Running(now),
            selected: 0,
            evidence_scroll: 0,
        }
    }

    pub fn finished(&mut self, outcome: Result<Report, String>) {
        self.status = match outcome {
            Ok(report) => Status::Done(report.results),
            Err(e) => Status::Failed(e),
        };
        self.selected = 0;
    }

    pub fn is_running(&self) -> bool {
        matches!(self.status, Status::Running(_))
    }

    pub fn results(&self) -> &[Finding] {
        match &self.status {
            Status::Done(results) => results,
            _ => &[],
        }
    }

    pub fn move_by(&mut self, delta: i32) {
        let len = self.results().len();
        if len == 0 {
            return;
        }
        let target = i64::try_from(self.selected).unwrap_or(0) + i64::from(delta);
        let last = i64::try_from(len - 1).unwrap_or(0);
        self.selected = usize::try_from(target.clamp(0, last)).unwrap_or(0);
        self.evidence_scroll = 0;
    }

    /// `J` / `K`: scroll the evidence (the drawing stops it at the end).
    pub fn scroll_evidence(&mut self, delta: i32) {
        let moved = i64::try_from(self.evidence_scroll).unwrap_or(0) + i64::from(delta);
        self.evidence_scroll = usize::try_from(moved.clamp(0, 10_000)).unwrap_or(0);
    }

    /// The scenario id Enter opens.
    pub fn selected_scenario(&self) -> Option<&str> {
        self.results()
            .get(self.selected)
            .map(|f| f.scenario.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn finding(id: &str, matched: bool) -> Finding {
        Finding {
            scenario: id.into(),
            title: id.into(),
            path: PathBuf::from("bundled:x.md"),
            matched,
            evidence: if matched { vec!["e".into()] } else { vec![] },
            error: None,
            score: u64::from(matched),
            subjects: Vec::new(),
        }
    }

    #[test]
    fn selection_stays_within_the_results() {
        let mut v = DiagnoseView::running(Duration::ZERO);
        v.move_by(1);
        assert_eq!(v.selected_scenario(), None);
        v.finished(Ok(Report {
            results: vec![finding("a/a", true), finding("b/b", false)],
        }));
        v.move_by(5);
        assert_eq!(v.selected_scenario(), Some("b/b"));
        v.move_by(-9);
        assert_eq!(v.selected_scenario(), Some("a/a"));
        v.finished(Err("no cluster".into()));
        assert_eq!(v.status, Status::Failed("no cluster".into()));
        assert_eq!(v.selected_scenario(), None);
    }
}
