//! Where the TUI once drifted from `runbook run` (issue 18), each checked in a real terminal:
//! both front ends now go through one driver, so the TUI plans the whole procedure, keeps the
//! configured output bound and masks the front matter's secrets given with `--var`.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::tmux_support::Tmux;

/// A TUI on `tests/fixtures/drift/` with folders of its own: data, config, marks.
struct Drift {
    tmux: Tmux,
    dir: tempfile::TempDir,
}

impl Drift {
    fn start(name: &str, target: &str, config: &str, extra: &str) -> Option<Self> {
        let tmux = Tmux::new(name)?;
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let config_dir = dir.path().join("xdg/runbook");
        std::fs::create_dir_all(&config_dir).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(config_dir.join("config.toml"), config).unwrap_or_else(|e| panic!("{e}"));
        std::fs::create_dir_all(dir.path().join("marks")).unwrap_or_else(|e| panic!("{e}"));
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift");
        let d = dir.path().display();
        let command = format!(
            "RUNBOOK_DATA_DIR={d}/data XDG_CONFIG_HOME={d}/xdg DRIFT_MARKS={d}/marks {} --path {} {extra} {target}; sleep 60",
            env!("CARGO_BIN_EXE_runbook"),
            fixtures.display(),
        );
        let out = tmux.start(&command);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Self { tmux, dir })
    }

    /// The one session this TUI recorded.
    fn session(&self) -> (PathBuf, Value) {
        let root = self.dir.path().join("data/sessions");
        let folder = std::fs::read_dir(&root)
            .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("session.json").is_file())
            .unwrap_or_else(|| panic!("no session under {}", root.display()));
        let text =
            std::fs::read_to_string(folder.join("session.json")).unwrap_or_else(|e| panic!("{e}"));
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        (folder, json)
    }
}

#[test]
fn a_step_after_a_node_login_is_left_to_the_user_not_run_on_the_workstation() {
    let Some(d) = Drift::start("drift-node", "drift/node-shell", "", "") else {
        return;
    };
    d.tmux.wait("the scenario", |s| {
        s.contains("Commands After a Node Login")
    });
    // Straight to step 2: the login of step 1 was not run here, but it still decides where
    // step 2 belongs.
    d.tmux.keys(&["j", "Enter"]);
    let screen = d
        .tmux
        .wait("the verdict", |s| s.contains("run this on the node"));
    assert!(
        screen.contains("it follows `ssh -i node-key.pem"),
        "{screen}"
    );
    let mark = d.dir.path().join("marks/ran-here");
    assert!(
        !mark.exists(),
        "the node's command ran on the workstation:\n{screen}"
    );
}

#[test]
fn a_front_matter_secret_given_with_var_is_masked_on_screen_and_in_the_session() {
    let Some(d) = Drift::start(
        "drift-secret",
        "drift/secret-var",
        "",
        "--var support-code=hunter2-very-secret",
    ) else {
        return;
    };
    d.tmux
        .wait("the scenario", |s| s.contains("A Secret Given"));
    d.tmux.keys(&["Enter"]);
    let screen = d.tmux.wait("the output", |s| s.contains("the code is"));
    assert!(!screen.contains("hunter2"), "{screen}");
    d.tmux.wait("the verdict", |s| s.contains("exit 0"));
    let (folder, json) = d.session();
    let mut everything = json.to_string();
    for f in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
        everything.push_str(&std::fs::read_to_string(f.path()).unwrap_or_default());
    }
    assert!(everything.contains("the code is"), "{everything}");
    assert!(!everything.contains("hunter2"), "{everything}");
}

#[test]
fn the_session_keeps_the_configured_output_bound() {
    let Some(d) = Drift::start(
        "drift-limit",
        "drift/big-output",
        "session_output_limit = 4096\n",
        "",
    ) else {
        return;
    };
    d.tmux
        .wait("the scenario", |s| s.contains("More Output Than"));
    d.tmux.keys(&["Enter"]);
    d.tmux.wait("the verdict", |s| s.contains("exit 0"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let step = loop {
        let (_, json) = d.session();
        let step = json["steps"][0].clone();
        if step["state"] == "done" {
            break (json, step);
        }
        assert!(std::time::Instant::now() < deadline, "{json}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let (json, step) = step;
    assert_eq!(json["output_limit"], 4096, "{json}");
    let kept = step["bytes_kept"].as_u64().unwrap_or(u64::MAX);
    assert!(kept <= 4096, "{step}");
    assert!(
        step["bytes_dropped"].as_u64().unwrap_or(0) > 100_000,
        "{step}"
    );
}
