//! The TUI's clusters view (F on the catalog) at 80x24 and 120x40: clusters worst first with
//! their health and matching runbooks, the selected one's matches or error, the pass's progress
//! in the title; an unreachable cluster is red.

use std::path::PathBuf;
use std::time::Duration;

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::style::Color;
use runbook::action::{Action, Command, Keymap};
use runbook::diagnose::Finding;
use runbook::diagnose::fleet::{ClusterResult, Progress, Source};
use runbook::exec::vars::Vars;
use runbook::state::{Screen, State, update};
use runbook::ui::{self, Theme};

fn finding(id: &str, evidence: usize) -> Finding {
    Finding {
        scenario: id.into(),
        title: id.into(),
        path: PathBuf::from("bundled:x.md"),
        matched: true,
        evidence: (0..evidence).map(|i| format!("evidence {i}")).collect(),
        error: None,
        score: 1,
        subjects: Vec::new(),
    }
}

fn result(name: &str, source: Source, results: Vec<Finding>, error: Option<&str>) -> Action {
    Action::Fleet(Progress::Result(Box::new(ClusterResult {
        cluster: name.into(),
        source,
        results,
        error: error.map(str::to_owned),
        requests: 0,
        lists: 0,
        elapsed: Duration::ZERO,
    })))
}

fn view() -> State {
    let mut s = State::new(Vec::new(), Keymap::default(), Vars::new());
    update(&mut s, Action::Command(Command::Clusters));
    assert_eq!(s.screen, Screen::Clusters);
    let targets = vec![
        ("prod-east".to_owned(), Source::Context),
        ("prod-west".to_owned(), Source::Context),
        ("staging".to_owned(), Source::Context),
        ("edge-store-12".to_owned(), Source::Palette),
        ("edge-store-13".to_owned(), Source::Palette),
    ];
    update(&mut s, Action::Fleet(Progress::Targets(targets)));
    update(&mut s, result("staging", Source::Context, Vec::new(), None));
    update(
        &mut s,
        result(
            "edge-store-12",
            Source::Palette,
            vec![
                finding("jet-crashloop/jet-crashloop", 1),
                finding("calico-ipv6/calico-ipv6", 2),
            ],
            None,
        ),
    );
    update(
        &mut s,
        result(
            "prod-west",
            Source::Context,
            Vec::new(),
            Some("cannot reach the cluster: connection refused by https://10.0.0.9:6443"),
        ),
    );
    update(
        &mut s,
        result(
            "prod-east",
            Source::Context,
            vec![finding("microk8s-upgrade/upgrade-pod", 1)],
            None,
        ),
    );
    update(&mut s, Action::Command(Command::Top));
    s
}

fn render(state: &State, w: u16, h: u16) -> Buffer {
    let mut terminal = Terminal::new(TestBackend::new(w, h)).unwrap_or_else(|e| panic!("{e}"));
    terminal
        .draw(|f| {
            ui::draw(f, state, Theme::default());
        })
        .unwrap_or_else(|e| panic!("{e}"));
    terminal.backend().buffer().clone()
}

fn text(buffer: &Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn clusters_worst_first_with_the_selected_ones_detail() {
    let s = view();
    for (w, h) in [(80, 24), (120, 40)] {
        let buffer = render(&s, w, h);
        let screen = text(&buffer);
        insta::assert_snapshot!(format!("palette_clusters_{w}x{h}"), screen);
        // Worst first: unreachable, most matches, fewer, still checking, clean.
        let order: Vec<usize> = [
            "prod-west",
            "edge-store-12",
            "prod-east",
            "edge-store-13",
            "staging",
        ]
        .iter()
        .map(|n| {
            screen
                .find(n)
                .unwrap_or_else(|| panic!("{n} not shown:\n{screen}"))
        })
        .collect();
        assert!(order.windows(2).all(|p| p[0] < p[1]), "{screen}");
        // The unreachable cluster's mark is red.
        let y = screen
            .lines()
            .position(|l| l.contains("prod-west"))
            .unwrap_or_default();
        let y = u16::try_from(y).unwrap_or_default();
        let red = (0..w).any(|x| buffer[(x, y)].fg == Color::Red && buffer[(x, y)].symbol() != " ");
        assert!(red, "prod-west is not red:\n{screen}");
    }
}
