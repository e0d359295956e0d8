//! The parser against fixtures that reproduce each construct of Palette's MDX pages.
//!
//! Each fixture's `show --json` model is snapshotted (`tests/snapshots/`), and the rules that
//! matter most are asserted directly below so that a careless snapshot update cannot hide them.

use std::path::{Path, PathBuf};

use runbook::runbook::{Block, BlockKind, Runbook, Severity, parse};

fn fixture(name: &str) -> Runbook {
    let path = PathBuf::from("tests/fixtures/mdx").join(name);
    let bytes = std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(&path))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&bytes, &path)
}

fn blocks(runbook: &Runbook) -> Vec<&Block> {
    runbook
        .scenarios
        .iter()
        .flat_map(runbook::runbook::Scenario::all_blocks)
        .collect()
}

#[test]
fn snapshots_of_every_fixture() {
    insta::glob!(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures"),
        "mdx/*",
        |path| {
            let bytes = std::fs::read(path).unwrap_or_default();
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let runbook = parse(&bytes, &Path::new("tests/fixtures/mdx").join(name));
            insta::assert_json_snapshot!(serde_json::json!({ "runbooks": [runbook] }));
        }
    );
}

#[test]
fn a_longer_fence_is_one_block_and_info_lines_never_close() {
    let r = fixture("nested-fences.md");
    let s = &r.scenarios[0];
    assert_eq!(s.intro.len(), 1);
    assert!(s.intro[0].code.starts_with("```shell hideClipboard"));
    assert_eq!(s.intro[0].kind, BlockKind::Output);
    let steps = &s.procedures[0].steps;
    assert_eq!(steps.len(), 3);
    assert!(steps[0].blocks[0].code.contains("printf 'two\\n'"));
    assert_eq!(steps[1].blocks[0].code, "echo tilde\n");
    assert_eq!(steps[2].blocks[0].code, "```\nstill inside\n````\n");
    assert!(
        r.warnings
            .iter()
            .any(|w| w.code == "nested-fence" && w.line == 10)
    );
}

#[test]
fn comments_vanish_with_the_fences_inside_them() {
    let r = fixture("comments.md");
    let json = serde_json::to_string(&r).unwrap_or_default();
    assert!(!json.contains("hidden-command"), "{json}");
    assert!(!json.contains("commented-out"));
    assert!(!json.contains("inline remark"));
    let s = &r.scenarios[0];
    assert_eq!(s.id, "comments/comments");
    assert_eq!(s.procedures[0].steps.len(), 2);
    assert_eq!(
        s.procedures[0].steps[1].text,
        "Second step.  Still the second step."
    );
}

#[test]
fn scenario_headings_tolerate_typos_dashes_and_indentation() {
    let r = fixture("headings.md");
    let titles: Vec<&str> = r.scenarios.iter().map(|s| s.title.as_str()).collect();
    assert_eq!(
        titles,
        [
            "Typo in the Label",
            "Missing Space After the Dash",
            "Em Dash and Indented Heading",
            "Colon Separator",
            "A Heading Without the Label",
        ]
    );
    assert_eq!(r.scenarios[2].id, "headings/em-dash");
    assert_eq!(r.scenarios[1].procedures[0].title, "Debugging Steps");
    assert_eq!(r.scenarios[0].line, 7);
    assert!(r.scenarios.iter().all(|s| s.procedures[0].steps.len() == 1));
}

#[test]
fn alternative_procedures_and_examples_shown_under_them() {
    let r = fixture("procedures.md");
    let s = &r.scenarios[0];
    let shape: Vec<(&str, Option<usize>)> = s
        .procedures
        .iter()
        .map(|p| (p.title.as_str(), p.parent))
        .collect();
    assert_eq!(
        shape,
        [
            ("Debug Steps - Use a Fixed Kernel", None),
            ("Example - Pin the Kernel in an Image", Some(0)),
            ("Example - Pin the Kernel at Provisioning", Some(0)),
            ("Debug Steps - Disable IPv6", None),
        ]
    );
    assert_eq!(r.scenarios.len(), 2);
}

#[test]
fn steps_substeps_and_blocks_at_column_zero() {
    let r = fixture("steps.md");
    let p = &r.scenarios[0].procedures[0];
    assert_eq!(p.summary, "Repeat the following on every node.");
    let numbers: Vec<&str> = p.steps.iter().map(|s| s.number.as_str()).collect();
    assert_eq!(numbers, ["1", "1", "1", "10"]);
    assert_eq!(
        p.steps[0].blocks[0].code,
        "cat /var/log/cloud-init-output.log\n"
    );
    assert_eq!(p.steps[1].substeps.len(), 2);
    assert_eq!(p.steps[1].substeps[0].blocks[0].code, "echo sub\n");
    assert!(
        p.steps[1]
            .text
            .contains("- a bullet that is part of the step's text")
    );
    assert_eq!(
        p.steps[2].blocks.len(),
        1,
        "a column-0 fence belongs to the step above"
    );
    assert!(p.steps[2].text.contains("Text at column zero"));
    assert_eq!(p.steps[3].blocks[0].kind, BlockKind::Output);
}

#[test]
fn tabs_in_the_intro_in_a_step_and_at_the_top_of_a_procedure() {
    let r = fixture("tabs.md");
    let intro = &r.scenarios[0].intro;
    assert_eq!(intro[0].kind, BlockKind::Command);
    assert_eq!(intro[1].attribute("tab"), Some("Output from node 1"));
    assert_eq!(intro[2].attribute("tab"), Some("Output from node 2"));
    assert_eq!(intro[1].kind, BlockKind::Output);
    let step = &r.scenarios[0].procedures[0].steps[0];
    let tabs: Vec<Option<&str>> = step.blocks.iter().map(|b| b.attribute("tab")).collect();
    assert_eq!(tabs, [Some("Debian"), Some("RHEL")]);
    let procedures: Vec<(&str, usize)> = r.scenarios[1]
        .procedures
        .iter()
        .map(|p| (p.title.as_str(), p.steps.len()))
        .collect();
    assert_eq!(procedures, [("8.0", 1), ("7.0", 2)]);
}

#[test]
fn admonitions_and_boxes_become_callouts_and_jsx_is_dropped() {
    let r = fixture("callouts.md");
    let s = &r.scenarios[0];
    assert_eq!(s.summary, "When the Calico pack fails.");
    let kinds: Vec<&str> = s.callouts.iter().map(|c| c.kind.as_str()).collect();
    assert_eq!(kinds, ["info", "warning"]);
    let steps = &s.procedures[0].steps;
    assert_eq!(
        steps[0].callouts[0].title.as_deref(),
        Some("Before you start")
    );
    assert_eq!(steps[0].callouts[0].text, "The support VM is not listed.");
    assert_eq!(steps[0].blocks.len(), 1);
    assert_eq!(steps[1].callouts[0].kind, "warning");
    assert!(steps[2].text.contains("Text inside an unknown wrapper."));
    assert!(
        !serde_json::to_string(&r)
            .unwrap_or_default()
            .contains("<br")
    );
}

#[test]
fn fence_info_strings() {
    let r = fixture("fence-info.md");
    let b = blocks(&r);
    assert_eq!(b[0].language.as_deref(), Some("sh"));
    assert_eq!(b[0].attribute("name"), Some("POD_NAME"));
    assert_eq!(b[1].language.as_deref(), Some("bash"));
    assert_eq!(b[1].highlight, [4, 9, 14]);
    assert_eq!(b[2].highlight, [2, 3, 4]);
    assert_eq!(b[2].attribute("title"), Some("Example output"));
    assert_eq!(b[3].attribute("timeout"), Some("90s"));
    assert_eq!(b[3].attribute("capture"), Some("NODES"));
    assert_eq!(b[3].attribute("expect"), Some("/Ready/"));
    assert_eq!(b[4].language, None);
    assert_eq!(b[4].highlight, [12]);
    assert_eq!(b[4].kind, BlockKind::Output);
}

#[test]
fn block_kinds() {
    use BlockKind::{Command, Config, Example, Output};
    let r = fixture("block-kinds.md");
    let kinds: Vec<BlockKind> = blocks(&r).iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [
            Command, Example, Config, Config, Output, Output, Command, Output
        ]
    );
}

#[test]
fn plain_text_loads_with_zero_scenarios_and_a_warning() {
    let r = fixture("plain-text.txt");
    assert!(r.scenarios.is_empty());
    assert_eq!(r.warnings.len(), 1);
    assert_eq!(r.warnings[0].code, "no-scenarios");
    assert_eq!(r.warnings[0].severity, Severity::Warning);
}

#[test]
fn bad_front_matter_is_reported_with_its_line_and_the_body_loads() {
    let r = fixture("bad-front-matter.md");
    let w = &r.warnings[0];
    assert_eq!((w.code, w.severity), ("front-matter", Severity::Error));
    assert!((2..=4).contains(&w.line), "{w}");
    assert_eq!(r.scenarios.len(), 1);
    assert_eq!(r.title, "Still Loads");
}

#[test]
fn unknown_front_matter_keys_are_kept() {
    let r = fixture("unknown-keys.md");
    let fm = &r.front_matter;
    assert_eq!(fm.symptoms, ["Exhausted IP Pools"]);
    assert_eq!(fm.extra["sidebar_position"], serde_yaml::Value::from(60));
    assert!(fm.placeholders["token"].secret);
    assert_eq!(
        fm.placeholders["claim-name"].example.as_deref(),
        Some("spectro-mgmt-cluster-cp-qx4vw-0")
    );
}

#[test]
fn intro_commands_stay_runnable_and_prose_only_procedures_become_a_step() {
    let r = fixture("intro-and-prose-only.md");
    let s = &r.scenarios[0];
    assert_eq!(s.intro[0].kind, BlockKind::Command);
    assert_eq!(s.intro[0].code, "timedatectl\n");
    assert_eq!(s.procedures[0].steps.len(), 1);
    assert!(
        s.procedures[0].steps[0]
            .text
            .starts_with("Complete the installation")
    );
    assert_eq!(r.scenarios[1].procedures[0].title, "Steps");
    assert_eq!(r.scenarios[1].procedures[0].steps.len(), 2);
}
