//! The real binary in a real terminal: tmux runs it at 80x24, `send-keys` types, and
//! `capture-pane` reads the screen as a user would. Needs tmux (`.ci/run` installs it); the
//! test fails without it when `CI` is set.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::tmux_support::{Tmux, processes};

#[test]
fn fill_run_cancel_and_quit_in_a_real_terminal() {
    let Some(tmux) = Tmux::new("main") else {
        return;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tui");
    // Sessions of earlier runs would be offered for resuming: this run gets a folder of its own.
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let command = format!(
        "RUNBOOK_DATA_DIR={} {} --path {} demo/demo; echo RUNBOOK-EXITED-$?; sleep 60",
        data.path().display(),
        env!("CARGO_BIN_EXE_runbook"),
        fixtures.display()
    );
    let out = tmux.start(&command);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    tmux.wait("the scenario", |s| {
        s.contains("Demo of the Checklist") && s.contains("checklist")
    });

    // Step 1 asks for its placeholder, then prints known lines into the output pane.
    tmux.keys(&["Enter"]);
    tmux.wait("the prompt", |s| {
        s.contains("fill in a placeholder") && s.contains("<greeting>")
    });
    tmux.text("world");
    tmux.keys(&["Enter"]);
    // The command's exit shows a moment before the step's verdict (the run ends after its
    // session is saved): wait for both.
    let screen = tmux.wait("the output and the verdict", |s| {
        s.contains("first line world") && s.contains("exit 0") && s.contains("✔ 1.")
    });
    let step_row = screen
        .lines()
        .position(|l| l.contains("1. Print known lines"))
        .unwrap_or(usize::MAX);
    let output_row = screen
        .lines()
        .position(|l| l.contains("first line world"))
        .unwrap_or(0);
    assert!(
        step_row < output_row,
        "the output shows with the step:\n{screen}"
    );
    assert!(screen.contains("second line"));
    assert!(screen.contains("✔ 1."), "step 1 passed:\n{screen}");

    // Step 2 runs a long command; x cancels it and nothing it started is left.
    tmux.keys(&["j", "Enter"]);
    tmux.wait("the long command", |s| s.contains("running"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while processes("sleep 4243").is_empty() {
        assert!(Instant::now() < deadline, "the command never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    tmux.keys(&["x"]);
    tmux.wait("the cancel", |s| s.contains("cancelled"));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<String> = processes("sleep 424")
            .into_iter()
            .filter(|p| !p.contains("tmux"))
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes survived the cancel: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // An interactive command gets the real terminal: the TUI steps aside, the command reads
    // what is typed, and the checklist comes back with the step passed.
    // The cancelled step's run ends (its session saved) a moment after its processes are
    // gone: the screen stops saying it is running.
    tmux.wait("the cancelled run to end", |s| !s.contains("running"));
    tmux.keys(&["G", "Enter"]);
    tmux.wait("the interactive prompt", |s| {
        s.contains("type a word:") && !s.contains("checklist")
    });
    tmux.text("banana");
    tmux.keys(&["Enter"]);
    tmux.wait("the command's answer", |s| s.contains("you typed banana"));
    tmux.wait("the checklist again", |s| {
        s.contains("checklist") && s.contains("✔ 5.")
    });

    // q quits and gives the terminal back: the shell's next line is on the normal screen.
    tmux.keys(&["q"]);
    tmux.wait("the exit", |s| s.contains("RUNBOOK-EXITED-0"));
    let alt = tmux.run(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
    assert_eq!(
        String::from_utf8_lossy(&alt.stdout).trim(),
        "0",
        "still in the alternate screen"
    );
}

#[test]
fn the_status_bar_names_a_healthy_context_and_a_placeholder_picks_a_live_pod() {
    let Some(tmux) = Tmux::new("picker") else {
        return;
    };
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let command = format!(
        "HOME={} {} --lab backup-stuck/restart-mgmt-pod; echo RUNBOOK-EXITED-$?; sleep 60",
        home.path().display(),
        env!("CARGO_BIN_EXE_runbook"),
    );
    let out = tmux.start(&command);
    assert!(out.status.success());
    // The lab's context, pinned, and the health probe's verdict.
    tmux.wait("a healthy context", |s| s.contains("ctx runbook-lab ●"));
    // The lab's instructions open with its scenario; Enter closes them.
    tmux.wait("the lab's instructions", |s| s.contains("In this lab:"));
    tmux.keys(&["Enter"]);
    tmux.wait("the checklist", |s| !s.contains("In this lab:"));
    // Step 3 deletes the mgmt pod, two ways: the user picks typing its name.
    tmux.keys(&["j", "j", "j", "Enter"]);
    tmux.wait("the choice", |s| {
        s.contains("which way?") && s.contains("1. Type the pod name")
    });
    tmux.keys(&["Enter"]);
    // `<mgmt-pod-name>`: the prompt lists the mgmt pods from the cluster.
    tmux.wait("the live list", |s| {
        s.contains("from the cluster: pods in hubble-system")
            && s.contains("mgmt-f7f97f4fd-lds69  1/1  Running")
    });
    tmux.keys(&["Down"]);
    tmux.wait("the highlighted pod", |s| {
        s.contains("▶ mgmt-f7f97f4fd-lds69")
    });
    tmux.keys(&["Enter"]);
    tmux.wait("the confirmation", |s| {
        s.contains("kubectl delete pod 'mgmt-f7f97f4fd-lds69'")
    });
    tmux.keys(&["Enter"]);
    tmux.wait("the deletion", |s| {
        s.contains("pod \"mgmt-f7f97f4fd-lds69\" deleted")
    });
    tmux.keys(&["q"]);
    tmux.wait("a clean exit", |s| s.contains("RUNBOOK-EXITED-0"));
}
