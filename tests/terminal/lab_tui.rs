//! A trainee in the practice cluster at 80x24: the lab's instructions open with its scenario,
//! the header says it is not fixed yet, and once the steps fix it the TUI says so (the job that
//! polls `LabHandle::is_fixed`). Needs tmux and kubectl (the steps run it).

use crate::tmux_support::Tmux;

#[test]
fn the_lab_gives_its_instructions_and_announces_the_fix() {
    let Some(tmux) = Tmux::new("lab") else {
        return;
    };
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let command = format!(
        "RUNBOOK_DATA_DIR={} {} --lab backup-stuck/restart-mgmt-pod; sleep 60",
        data.path().display(),
        env!("CARGO_BIN_EXE_runbook"),
    );
    let out = tmux.start(&command);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = tmux.wait("the instructions", |s| s.contains("In this lab:"));
    assert!(screen.contains("hubble-system"), "{screen}");
    assert!(screen.contains("not fixed yet"), "{screen}");
    tmux.keys(&["Enter"]);
    tmux.wait("the checklist", |s| !s.contains("In this lab:"));
    // Step 2 lists the pod, 2.1 keeps its name, 3 deletes it (the captured name, confirmed).
    tmux.keys(&["j", "Enter"]);
    tmux.wait("step 2", |s| s.contains("✔ 2."));
    tmux.keys(&["j", "Enter"]);
    tmux.wait("step 2.1", |s| s.contains("✔ 2.1."));
    tmux.keys(&["j", "Enter"]);
    tmux.wait("the choice of command", |s| s.contains("which way?"));
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the confirmation", |s| {
        s.contains("run a destructive command?")
    });
    assert!(
        screen.contains("Runs against context runbook-lab"),
        "{screen}"
    );
    tmux.keys(&["Enter"]);
    let screen = tmux.wait("the announcement", |s| s.contains("fixed!"));
    assert!(screen.contains("practice cluster: FIXED"), "{screen}");
    assert!(screen.contains("reports this fixed"), "{screen}");
    tmux.keys(&["Enter", "q"]);
}
