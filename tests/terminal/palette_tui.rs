//! The clusters view and `--palette-cluster` in a real terminal, against a practice fleet
//! behind the Palette stand-in: `F` lists every context and Palette cluster worst first as the
//! background pass fills them in; Enter on a context pins it (the status bar says so) and shows
//! its diagnosis; `runbook --palette-cluster NAME` starts pinned to that cluster.

use runbook::palette::lab::{FleetOptions, PaletteLab};

use crate::tmux_support::Tmux;

fn fleet(runtime: &tokio::runtime::Runtime, clusters: usize) -> PaletteLab {
    runtime
        .block_on(PaletteLab::start(FleetOptions {
            clusters,
            ..FleetOptions::default()
        }))
        .unwrap_or_else(|e| panic!("{e}"))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The shell line starting the TUI with the fleet's Palette variables and kubeconfig.
fn command(fleet: &PaletteLab, home: &std::path::Path, args: &str) -> String {
    format!(
        "set -a; . {env}; set +a; HOME={home} XDG_CONFIG_HOME={home}/config RUNBOOK_DATA_DIR={home}/data KUBECONFIG={kc} {bin} {args}; sleep 60",
        env = fleet.env_path().display(),
        home = home.display(),
        kc = fleet.kubeconfig_path().display(),
        bin = env!("CARGO_BIN_EXE_runbook"),
    )
}

#[test]
fn the_clusters_view_fills_in_worst_first_and_enter_pins_a_context() {
    let Some(tmux) = Tmux::new("palette-clusters") else {
        return;
    };
    let runtime = runtime();
    let fleet = fleet(&runtime, 3);
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = tmux.start(&command(&fleet, home.path(), ""));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait("the catalog", |s| s.contains("ctx practice-01"));
    tmux.keys(&["F"]);
    let screen = tmux.wait("the pass to end", |s| {
        s.contains("checked") && !s.contains("checking")
    });
    // Three contexts and the same three through Palette; the ones with a match first.
    for name in [
        "practice-02 (palette)",
        "practice-03 (palette)",
        "practice-01 (palette)",
    ] {
        assert!(screen.contains(name), "{name} missing:\n{screen}");
    }
    let first = screen
        .lines()
        .find(|l| l.contains("practice-"))
        .unwrap_or_default()
        .to_owned();
    assert!(
        first.contains("1 runbook(s) match"),
        "worst first:\n{screen}"
    );
    let no_match = screen.find("no runbook matches").unwrap_or(0);
    let a_match = screen.find("1 runbook(s) match").unwrap_or(usize::MAX);
    assert!(a_match < no_match, "{screen}");
    // The first row is a context (name sorts before its Palette twin): Enter pins it.
    let name = first
        .split_whitespace()
        .find(|w| w.starts_with("practice-"))
        .unwrap_or_default()
        .to_owned();
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the pinned context's diagnosis", |s| {
        s.contains(&format!("ctx {name}")) && s.contains("diagnose ·")
    });
    assert!(screen.contains("1 of"), "{screen}");
    drop(tmux);
    fleet.shutdown();
}

#[test]
fn enter_on_a_palette_row_fetches_its_kubeconfig_and_pins_it() {
    let Some(tmux) = Tmux::new("palette-pin") else {
        return;
    };
    let runtime = runtime();
    let fleet = fleet(&runtime, 2);
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // No kubeconfig of the user's: the only clusters are the Palette ones.
    let line = command(&fleet, home.path(), "").replace(
        &format!("KUBECONFIG={}", fleet.kubeconfig_path().display()),
        &format!("KUBECONFIG={}", home.path().join("none").display()),
    );
    let out = tmux.start(&line);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    tmux.wait("the catalog", |s| s.contains("ctx"));
    tmux.keys(&["F"]);
    let screen = tmux.wait("the pass to end", |s| {
        s.contains("checked") && !s.contains("checking") && s.contains("(palette)")
    });
    let first = screen
        .lines()
        .find(|l| l.contains("(palette)"))
        .unwrap_or_default()
        .to_owned();
    let name = first
        .split_whitespace()
        .find(|w| w.starts_with("practice-"))
        .unwrap_or_default()
        .to_owned();
    tmux.keys(&["Enter"]);
    tmux.wait("the Palette cluster pinned", |s| {
        s.contains(&format!("ctx {name}"))
    });
    drop(tmux);
    fleet.shutdown();
}

#[test]
fn palette_cluster_starts_the_tui_pinned_to_that_cluster() {
    let Some(tmux) = Tmux::new("palette-pin") else {
        return;
    };
    let runtime = runtime();
    let fleet = fleet(&runtime, 2);
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    // No kubeconfig of the user's at all: the Palette cluster's is fetched.
    let line = command(&fleet, home.path(), "--palette-cluster practice-02").replace(
        &format!("KUBECONFIG={}", fleet.kubeconfig_path().display()),
        "KUBECONFIG=",
    );
    tmux.start(&line);
    let screen = tmux.wait("the pinned Palette cluster", |s| {
        s.contains("ctx practice-02")
    });
    assert!(!screen.contains(fleet.key().expose()), "{screen}");
    tmux.keys(&["D"]);
    tmux.wait("its diagnosis", |s| s.contains("calico-ipv6/calico-ipv6"));
    drop(tmux);

    // A cluster that is not there: one line, before any screen.
    let Some(tmux) = Tmux::new("palette-pin-missing") else {
        return;
    };
    let line = command(&fleet, home.path(), "--palette-cluster nope")
        .replace("; sleep 60", "; echo RUNBOOK-EXITED-$?; sleep 60");
    tmux.start(&line);
    let screen = tmux.wait("the error", |s| s.contains("RUNBOOK-EXITED-"));
    // One line, wrapped by the 80-column terminal.
    let unwrapped = screen.replace('\n', "");
    assert!(
        unwrapped.contains(
            "runbook: error: no cluster `nope` in tenant scope; it has: practice-01, practice-02"
        ),
        "{screen}"
    );
    assert!(screen.contains("RUNBOOK-EXITED-2"), "{screen}");
    assert!(
        !screen.contains("Location") && !screen.contains("Backtrace"),
        "{screen}"
    );
    fleet.shutdown();
}
