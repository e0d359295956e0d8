//! Drawing a full frame of the scenario screen at 160x48 with 100,000 lines of output in the
//! pane. Target: median under 1 ms.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use runbook::action::{Action, Keymap};
use runbook::exec::output::Stream;
use runbook::exec::runner::Event;
use runbook::runbook::{Catalog, Runbook};
use runbook::state::{State, update};
use runbook::ui::{self, Theme};

fn bench(c: &mut Criterion) {
    let runbooks: Vec<Arc<Runbook>> = Catalog::load(
        &[Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui")],
        true,
    )
    .runbooks
    .into_iter()
    .map(Arc::new)
    .collect();
    let mut state = State::new(
        runbooks,
        Keymap::default(),
        runbook::exec::vars::Vars::new(),
    );
    assert!(state.open("demo/demo").is_some());
    let mut text = String::new();
    for i in 0..100_000 {
        text.push_str("2026-11-21T10:00:00Z INFO controller reconciled object ");
        text.push_str(&i.to_string());
        text.push('\n');
    }
    update(
        &mut state,
        Action::Engine(
            0,
            Box::new(Event::Output {
                step: 1,
                block: 0,
                stream: Stream::Stdout,
                ts_ms: 0,
                text,
            }),
        ),
    );
    let mut terminal = match Terminal::new(TestBackend::new(160, 48)) {
        Ok(t) => t,
        Err(e) => panic!("{e}"),
    };
    c.bench_function("draw_scenario_160x48_100k_lines", |b| {
        b.iter(|| {
            let _ = terminal.draw(|f| {
                black_box(ui::draw(f, &state, Theme::default()));
            });
        });
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
