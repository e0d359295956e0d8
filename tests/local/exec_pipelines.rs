//! Pipelines judged as a shell user judges them, through real bash: a table of idioms from real
//! runbooks with the verdict a person reading each would give, and `runbook run` showing each
//! member's status where it matters.
//!
//! The upstream members print far more than a pipe holds (`yes`, `seq 1 1000000`), so a
//! downstream member that stops reading early does kill them with SIGPIPE on every run.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use runbook::exec::output::Stream;
use runbook::exec::process::{self, Cancel, CommandOutcome, CommandSpec, OutputSink};

#[derive(Default)]
struct Collect(String);

impl OutputSink for Collect {
    fn lines(&mut self, stream: Stream, _ts: Duration, bytes: &[u8]) {
        if stream == Stream::Stdout {
            self.0.push_str(&String::from_utf8_lossy(bytes));
        }
    }
}

fn run(script: &str, capture_env: bool) -> (CommandOutcome, String) {
    let spec = CommandSpec {
        script: script.to_owned(),
        env: std::env::vars_os().collect::<BTreeMap<OsString, OsString>>(),
        cwd: std::env::temp_dir(),
        timeout: Duration::from_secs(60),
        grace: Duration::from_millis(300),
        interactive: false,
        capture_env,
        secret: false,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    rt.block_on(async {
        let (_h, mut cancel) = Cancel::new();
        let mut sink = Collect::default();
        let outcome = process::run(&spec, &mut sink, &mut cancel)
            .await
            .unwrap_or_else(|e| panic!("{script}: {e}"));
        (outcome, sink.0)
    })
}

struct Idiom {
    what: &'static str,
    script: &'static str,
    /// The exit code a reader expects: 0 passes.
    exit: i32,
    /// Text the output must contain (shows that what follows the pipeline ran, or not).
    shows: Option<&'static str>,
    hides: Option<&'static str>,
    /// The members' statuses recorded, when the script ended with a pipeline.
    members: &'static [i32],
}

const IDIOMS: &[Idiom] = &[
    Idiom {
        what: "the first lines of an endless listing",
        script: "yes 0123456789abcdefghijklmnopqrstuvwxyz | head -n 3",
        exit: 0,
        shows: Some("0123456789abcdefghijklmnopqrstuvwxyz\n"),
        hides: None,
        members: &[141, 0],
    },
    Idiom {
        what: "kubectl get pods -A | head, with a long listing",
        script: "kubectl() { yes 'kube-system   coredns-5d78c9869d-6vh2x   1/1   Running'; }\nkubectl get pods -A | head",
        exit: 0,
        shows: Some("coredns"),
        hides: None,
        members: &[141, 0],
    },
    Idiom {
        what: "journalctl | grep -m1",
        script: "yes 'kubelet[812]: E0101 failed to pull image' | grep -m1 'failed to pull'",
        exit: 0,
        shows: Some("failed to pull image"),
        hides: None,
        members: &[141, 0],
    },
    Idiom {
        what: "sed q",
        script: "seq 1 1000000 | sed 3q",
        exit: 0,
        shows: Some("1\n2\n3\n"),
        hides: Some("4\n"),
        members: &[141, 0],
    },
    Idiom {
        what: "awk exit",
        script: "seq 1 1000000 | awk 'NR == 2 { print \"second:\", $1; exit }'",
        exit: 0,
        shows: Some("second: 2"),
        hides: None,
        members: &[141, 0],
    },
    Idiom {
        what: "kubectl logs | tail (tail reads everything: no SIGPIPE at all)",
        script: "kubectl() { seq 1 200000; }\nkubectl logs mgmt-0 | tail -n 2",
        exit: 0,
        shows: Some("199999\n200000\n"),
        hides: None,
        members: &[0, 0],
    },
    Idiom {
        what: "three members, two cut off",
        script: "yes 'a b c' | head -n 100000 | awk '{ print $2; exit }'",
        exit: 0,
        shows: Some("b\n"),
        hides: None,
        members: &[141, 141, 0],
    },
    Idiom {
        what: "false | cat fails",
        script: "false | cat",
        exit: 1,
        shows: None,
        hides: None,
        members: &[1, 0],
    },
    Idiom {
        what: "a grep that finds nothing in the middle fails",
        script: "printf 'a\\n' | grep nomatch | cat",
        exit: 1,
        shows: None,
        hides: None,
        members: &[0, 1, 0],
    },
    Idiom {
        what: "kubectl get nope | head fails with kubectl's own status",
        script: "kubectl() { echo 'error: the server doesn'\"'\"'t have a resource type \"nope\"' >&2; return 1; }\nkubectl get nope | head",
        exit: 1,
        shows: None,
        hides: None,
        members: &[1, 0],
    },
    Idiom {
        what: "an upstream failure after its output was read fails",
        script: "sh -c 'seq 1 3; exit 3' | head -n 1",
        exit: 3,
        shows: Some("1\n"),
        hides: None,
        members: &[3, 0],
    },
    Idiom {
        what: "SIGPIPE upstream, a real failure downstream",
        script: "yes | head -n 1 | grep nomatch",
        exit: 1,
        shows: None,
        hides: None,
        members: &[141, 0, 1],
    },
    Idiom {
        what: "the last member's own failure",
        script: "yes | head -n 1 | (cat >/dev/null; exit 2)",
        exit: 2,
        shows: None,
        hides: None,
        members: &[141, 0, 2],
    },
    Idiom {
        what: "process substitution that is cut off",
        script: "grep -m1 Running <(yes 'mgmt-0   1/1   Running')\nwhile read -r line; do echo \"first: $line\"; break; done < <(seq 1 1000000 | cat)",
        exit: 0,
        shows: Some("first: 1"),
        hides: None,
        members: &[],
    },
    Idiom {
        what: "a heredoc into a pipeline",
        script: "cat <<'EOF' | grep -c Running\nmgmt-0   1/1   Running\nmgmt-1   0/1   CrashLoopBackOff\nmgmt-2   1/1   Running\nEOF",
        exit: 0,
        shows: Some("2\n"),
        hides: None,
        members: &[0, 0],
    },
    Idiom {
        what: "set -e inside a block goes on after a pipeline cut short",
        script: "set -e\nyes | head -n 1\necho after-the-pipeline",
        exit: 0,
        shows: Some("after-the-pipeline"),
        hides: None,
        members: &[],
    },
    Idiom {
        what: "set -e stops at a pipeline that failed",
        script: "set -e\nfalse | cat\necho never-printed",
        exit: 1,
        shows: None,
        hides: Some("never-printed"),
        members: &[1, 0],
    },
    Idiom {
        what: "set -euo pipefail, the usual script header",
        script: "set -euo pipefail\nseq 1 1000000 | head -n 2\necho after-the-header",
        exit: 0,
        shows: Some("after-the-header"),
        hides: None,
        members: &[],
    },
    Idiom {
        what: "if ... | grep -q",
        script: "if yes 'Ready' | grep -q Ready; then echo found-ready; else echo not-found; fi",
        exit: 0,
        shows: Some("found-ready"),
        hides: Some("not-found"),
        members: &[],
    },
    Idiom {
        what: "&& after a pipeline cut short",
        script: "seq 1 1000000 | head -n 1 && echo chained",
        exit: 0,
        shows: Some("chained"),
        hides: None,
        members: &[],
    },
    Idiom {
        what: "a loop piped into head",
        script: "for i in $(seq 1 100000); do echo \"line $i\"; done | head -n 2",
        exit: 0,
        shows: Some("line 2\n"),
        hides: Some("line 3\n"),
        members: &[141, 0],
    },
    Idiom {
        what: "a substitution of a pipeline cut short",
        script: "count=$(seq 1 1000000 | head -n 5 | wc -l)\ntest \"$count\" -eq 5 && echo count-ok",
        exit: 0,
        shows: Some("count-ok"),
        hides: None,
        members: &[],
    },
    Idiom {
        what: "negated pipeline",
        script: "! printf 'Pending\\n' | grep -q Running",
        exit: 0,
        shows: None,
        hides: None,
        members: &[0, 1],
    },
    Idiom {
        what: "a function whose body is a pipeline",
        script: "first_pod() { yes 'mgmt-0' | head -n 1; }\nfirst_pod",
        exit: 0,
        shows: Some("mgmt-0\n"),
        hides: None,
        members: &[141, 0],
    },
    Idiom {
        what: "a script that reads PIPESTATUS itself runs as written",
        script: "yes | head -n 1\necho \"members: ${PIPESTATUS[*]}\"",
        exit: 0,
        shows: Some("members: 141 0"),
        hides: None,
        members: &[],
    },
    Idiom {
        what: "a script the parser leaves alone is judged afterwards",
        script: "coproc cat </dev/null\nyes | head -n 1",
        exit: 0,
        shows: Some("y\n"),
        hides: None,
        members: &[141, 0],
    },
    Idiom {
        what: "an exit after the pipeline decides",
        script: "yes | head -n 1\nexit 4",
        exit: 4,
        shows: None,
        hides: None,
        members: &[],
    },
];

#[test]
fn idioms_are_judged_as_a_reader_judges_them() {
    let mut wrong = Vec::new();
    for idiom in IDIOMS {
        for capture_env in [false, true] {
            let (o, out) = run(idiom.script, capture_env);
            let mut why = Vec::new();
            if o.exit_code != Some(idiom.exit) {
                why.push(format!("exit {:?}, expected {}", o.exit_code, idiom.exit));
            }
            if let Some(s) = idiom.shows
                && !out.contains(s)
            {
                why.push(format!("output lacks {s:?}"));
            }
            if let Some(s) = idiom.hides
                && out.contains(s)
            {
                why.push(format!("output has {s:?}"));
            }
            if o.pipestatus != idiom.members {
                why.push(format!(
                    "members {:?}, expected {:?}",
                    o.pipestatus, idiom.members
                ));
            }
            if !why.is_empty() {
                wrong.push(format!(
                    "{} (capture_env {capture_env}): {}\n  output: {:?}",
                    idiom.what,
                    why.join("; "),
                    out.chars().take(200).collect::<String>()
                ));
            }
        }
    }
    assert!(IDIOMS.len() >= 15);
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn line_numbers_and_env_are_the_scripts_own() {
    // The prelude stays on the first line: bash's line numbers are the block's.
    let (o, out) = run(
        "yes | head -n 1\necho \"line $LINENO\"\nexport AFTER=1",
        true,
    );
    assert_eq!(o.exit_code, Some(0));
    assert!(out.contains("line 2"), "{out}");
    let env = o.env_after.unwrap_or_else(|| panic!("no env"));
    assert!(env.vars.contains_key(&OsString::from("AFTER")));
    assert!(
        env.vars.keys().all(|k| {
            let k = k.to_string_lossy();
            !k.starts_with("__r") && k != "RUNBOOK_SCRIPT"
        }),
        "{:?}",
        env.vars.keys()
    );
}

fn fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/exec")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn runbook_run_records_each_members_status() {
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["run", &fixture("pipelines.md"), "--json"])
        .env("RUNBOOK_DATA_DIR", data.path())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let out = String::from_utf8_lossy(&o.stdout);
    let finished: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["event"] == "command_finished")
        .collect();
    assert_eq!(finished.len(), 2, "{out}");
    // Step 1 passes although `yes` was killed by SIGPIPE; step 2 fails with sh's status 3.
    assert_eq!(finished[0]["outcome"]["exit_code"], 0, "{out}");
    assert_eq!(
        finished[0]["outcome"]["pipestatus"],
        serde_json::json!([141, 0])
    );
    assert_eq!(finished[0]["failures"], serde_json::json!([]), "{out}");
    assert_eq!(finished[1]["outcome"]["exit_code"], 3, "{out}");
    assert_eq!(
        finished[1]["failures"][0], "exit code 3, expected 0 (pipeline member statuses: 3 | 0)",
        "{out}"
    );
    assert_eq!(o.status.code(), Some(1));

    // The session keeps them too, and the report shows them.
    let o = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["report", "last"])
        .env("RUNBOOK_DATA_DIR", data.path())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let md = String::from_utf8_lossy(&o.stdout);
    assert!(md.contains("(pipeline member statuses 141 | 0)"), "{md}");
    assert!(md.contains("(pipeline member statuses 3 | 0)"), "{md}");
}

fn bash_accepts(script: &str) -> bool {
    Command::new("bash")
        .args(["-n", "-c", script])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Every command block of the bundled runbooks: what the rewrite produces is still bash (it
/// only inserts at pipeline boundaries), and each of the 11 blocks with pipelines is judged.
#[test]
fn bundled_blocks_stay_bash_after_the_rewrite() {
    use runbook::exec::pipeline::rewrite;
    use runbook::runbook::{BlockKind, Catalog};
    let catalog = Catalog::load(&[], true);
    let mut rewritten = 0;
    let mut broken = Vec::new();
    for r in &catalog.runbooks {
        for block in r
            .scenarios
            .iter()
            .flat_map(runbook::runbook::Scenario::all_blocks)
            .filter(|b| b.kind == BlockKind::Command)
        {
            // As it runs: placeholders filled in.
            let mut vars = runbook::exec::Vars::new();
            for p in runbook::exec::Vars::placeholders(&block.code) {
                vars.set(&p.name, "value", runbook::exec::vars::Origin::Cli);
            }
            let Ok(filled) = vars.fill(&block.code) else {
                continue;
            };
            let Some(new) = rewrite(&filled.script) else {
                continue;
            };
            rewritten += 1;
            if bash_accepts(&filled.script) && !bash_accepts(&new) {
                broken.push(format!("{}:{}:\n{new}", r.id, block.line));
            }
        }
    }
    assert!(broken.is_empty(), "{}", broken.join("\n\n"));
    assert!(
        rewritten >= 11,
        "only {rewritten} bundled blocks were judged"
    );
}
