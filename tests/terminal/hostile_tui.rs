//! Hostile runbooks in the real TUI (issue 17 §5): a command nesting `$(` far past the lexer's
//! bound, front matter nested far too deep and 100,000 placeholders each open, show their
//! scenario and quit cleanly; the terminal is never left on the alternate screen.

use std::fmt::Write;

use crate::tmux_support::Tmux;

const MIB: usize = 1024 * 1024;

fn hostile_files(dir: &std::path::Path) {
    let head =
        "## Scenario - Deep Substitution\n\n### Debug Steps\n\n1. Run it.\n\n   ```bash\n   echo ";
    let levels = (MIB - head.len() - 16) / 3;
    let deep = format!(
        "{head}{}x{}\n   ```\n",
        "$(".repeat(levels),
        ")".repeat(levels)
    );
    let levels = (MIB - 200) / 2;
    let yaml = format!(
        "---\ntitle: Deep\ntags: {}{}\n---\n\n## Scenario - Deep Front Matter\n\n### Debug Steps\n\n1. Step.\n",
        "[".repeat(levels),
        "]".repeat(levels)
    );
    let mut many = String::from(
        "## Scenario - Many Placeholders\n\n### Debug Steps\n\n1. Fill in.\n\n   ```bash\n   echo",
    );
    for n in 0..100_000 {
        if n % 12 == 11 {
            many.push_str("\n   echo");
        }
        let _ = write!(many, " <v-{n}>");
    }
    many.push_str("\n   ```\n");
    for (name, text) in [("deep.md", deep), ("yaml.md", yaml), ("many.md", many)] {
        std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }
}

#[test]
fn hostile_runbooks_open_and_quit_leaving_the_normal_screen() {
    let files = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    hostile_files(files.path());
    for (scenario, title) in [
        ("deep/deep-substitution", "Deep Substitution"),
        ("yaml/deep-front-matter", "Deep Front Matter"),
        ("many/many-placeholders", "Many Placeholders"),
    ] {
        let Some(tmux) = Tmux::new("hostile") else {
            return;
        };
        let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let command = format!(
            "RUNBOOK_DATA_DIR={data} RUNBOOK_CACHE_DIR={data}/cache XDG_CONFIG_HOME={data}/config \
             {bin} --path {files} {scenario}; echo RUNBOOK-EXITED-$?; sleep 60",
            data = data.path().display(),
            bin = env!("CARGO_BIN_EXE_runbook"),
            files = files.path().display(),
        );
        let out = tmux.start(&command);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        tmux.wait(title, |s| s.contains(title) && s.contains("checklist"));
        tmux.keys(&["q"]);
        let screen = tmux.wait("the exit", |s| s.contains("RUNBOOK-EXITED-"));
        assert!(screen.contains("RUNBOOK-EXITED-0"), "{scenario}:\n{screen}");
        let alt = tmux.run(&["display-message", "-p", "-t", "e2e", "#{alternate_on}"]);
        assert_eq!(
            String::from_utf8_lossy(&alt.stdout).trim(),
            "0",
            "{scenario}: still in the alternate screen"
        );
    }
}
