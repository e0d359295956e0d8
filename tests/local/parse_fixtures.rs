//! The parser against fixtures that reproduce each construct of Palette's MDX pages.
//!
//! Each fixture's `show --json` model is snapshotted (`tests/snapshots/`), and the rules that
//! matter most are asserted directly below so that a careless snapshot update cannot hide them.

use std::path::{Path, PathBuf};

use runbook::runbook::{Block, BlockKind, Catalog, Runbook, Severity, parse};

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
        r.warnings()
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
    assert_eq!(r.warnings().len(), 1);
    assert_eq!(r.warnings()[0].code, "no-scenarios");
    assert_eq!(r.warnings()[0].severity, Severity::Warning);
}

#[test]
fn bad_front_matter_is_reported_with_its_line_and_the_body_loads() {
    let r = fixture("bad-front-matter.md");
    // The YAML is read on first use, not by the parse...
    assert!(!r.front_matter_read());
    assert_eq!(r.scenarios.len(), 1);
    assert!(!r.front_matter_read());
    // ...and asking for the warnings reads it.
    let w = &r.warnings()[0];
    assert!(r.front_matter_read());
    assert_eq!((w.code, w.severity), ("front-matter", Severity::Error));
    assert!((2..=4).contains(&w.line), "{w}");
    assert_eq!(r.scenarios.len(), 1);
    assert_eq!(r.title(), "Still Loads");
}

#[test]
fn a_catalog_and_lint_report_a_bad_front_matter_read_lazily() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdx/bad-front-matter.md");
    let catalog = Catalog::load(std::slice::from_ref(&path), false);
    let found: Vec<_> = catalog
        .diagnostics()
        .filter(|d| d.code == "front-matter")
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    assert!((2..=4).contains(&found[0].line), "{}", found[0]);
    let r = fixture("bad-front-matter.md");
    let lint = runbook::lint::lint_runbook(&r, runbook::lint::Options::default());
    assert!(
        lint.iter()
            .any(|d| d.code == "front-matter" && d.line == found[0].line),
        "{lint:?}"
    );
}

#[test]
fn a_lazy_front_matter_reads_like_an_eager_one() {
    // The same file, read field by field in a different order, and through JSON (as the
    // catalog cache stores it), gives the same front matter, title and warnings.
    for name in ["unknown-keys.md", "bad-front-matter.md"] {
        let a = fixture(name);
        let b = fixture(name);
        let title = b.title().to_owned();
        let front = b.front_matter().clone();
        assert_eq!(a.warnings(), b.warnings(), "{name}");
        assert_eq!((a.title(), a.front_matter()), (title.as_str(), &front));
        let json = serde_json::to_string(&a).unwrap_or_default();
        let back: Runbook = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}"));
        assert!(back.front_matter_read());
        assert_eq!(back, a, "{name}");
    }
}

#[test]
fn unknown_front_matter_keys_are_kept() {
    let r = fixture("unknown-keys.md");
    let fm = &r.front_matter();
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

/// One real-shaped block: fence info, content, the prose before it, the kind of the block
/// before it in the step, whether a command comes earlier in the step, and the expected kind.
type KindCase = (
    &'static str,
    &'static str,
    &'static str,
    Option<BlockKind>,
    bool,
    BlockKind,
);

#[test]
fn block_kind_table() {
    use BlockKind::{Command, Config, Example, Output};
    let after = Some(Command);
    #[rustfmt::skip]
    let cases: &[KindCase] = &[
        // Plain commands, as the docs write them.
        ("bash", "kubectl get pods --namespace hubble-system | grep mgmt\n", "Use the following command to list the pods.", None, false, Command),
        ("shell", "timedatectl\n", "Check the clock on each node.", None, false, Command),
        ("bash", "export BASE_URL=\"REPLACE ME\"\n", "Set the URL of your installation.", None, false, Command),
        ("shell", "sudo reboot\n", "Reboot the node.", None, false, Command),
        ("", "./csi-helper --kubeconfig=<PATH_TO_KUBECONFIG>\n", "Run the helper.", None, false, Command),
        ("sh", "cat > pcg-debug.sh << 'EOF'\n#!/bin/bash\necho hi\nEOF\n", "Create the script.", None, false, Command),
        ("bash", "sysctl -p /etc/sysctl.d/99-maxfiles.conf\n", "Apply the settings. The increased limit is returned.", None, false, Command),
        ("bash", "kubectl get nodes \\\n  --output jsonpath='{range .items[*]}{.metadata.name}{end}'\n", "", None, false, Command),
        ("shell", "git clone https://github.com/kairos-io/kairos.git\ncd kairos\n", "Clone the repository.", None, false, Command),
        ("bash", "curl --location --request POST \"$BASE_URL/v1/auth/syslogin\" --data @body.json\n", "Request a token.", None, false, Command),
        ("bash", "kubectl delete pod <mgmt-pod-name> --namespace hubble-system\n", "Delete the pod.", after, true, Command),
        ("shell", "KUBECONFIG=/tmp/admin.conf kubectl get nodes\n", "", after, true, Command),
        ("bash", "systemctl restart kubelet containerd\n", "Check the output of the following command.", None, true, Command),
        // Output of the command before it.
        ("shell hideClipboard", "mgmt-f7f97f4fd-lds69                   1/1     Running   0             45m\n", "", after, true, Output),
        ("shell hideClipboard", "pod \"mgmt-f7f97f4fd-lds69\" deleted\n", "", after, true, Output),
        ("bash hideClipboard", "fs.file-max = 1000000\n", "", after, true, Output),
        ("bash hideClipboard title=\"Example output\"", "NAME        READY   STATUS\nmgmt-x      1/1     Running\n", "", after, true, Output),
        ("bash hideClipboard title=\"Example output\" {5}", "Name:         vsphere-cloud-config\nNamespace:    kube-system\n", "", after, true, Output),
        ("text title=\"Expected output\"", "Ready\n", "", after, true, Output),
        ("hideClipboard {12}", "Name: spectro-ipam\nStatus: Exhausted\n", "", after, true, Output),
        ("json hideClipboard", "{\n  \"Authorization\": \"**********.\"\n}\n", "The output displays the authorization token.", after, true, Output),
        ("shell hideClipboard", "type=AVC msg=audit(1722430110.412:981): avc:  denied  { connectto } for pid=2231\n", "The following output indicates that SELinux blocks the socket.", after, true, Output),
        ("shell hideClipboard", "https://mirror.internal.example:5000\n", "Example output.", after, true, Output),
        ("shell hideClipboard", "https://console.example.com/v1/clusters/5f2a\n", "Example output.", None, false, Output),
        ("shell", "Failed to execute ip(6)tables-restore command error=exit status 2\n", "You can observe the following error in the pod logs.", None, false, Output),
        ("shell hideClipboard title=\"Example output from node 1\"", "Local time: Fri 2025-07-11 09:41:42 UTC\n", "", None, true, Output),
        ("bash", "10.10.227.13\n10.10.227.11\n", "", after, true, Output),
        ("yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: palette-agent\n", "The output is similar to the following.", after, true, Output),
        ("", "2025-07-11T09:41:42Z INFO reconcile done\n", "The agent log shows the following lines.", after, true, Output),
        ("text", "anything at all\n", "", None, false, Output),
        // Filled-in examples: shown, never run.
        ("bash hideClipboard title=\"Example command\"", "kubectl delete ipclaim --namespace spectro-mgmt spectro-mgmt-cluster-cp-qx4vw-0\n", "", after, true, Example),
        ("shell hideClipboard", "export TOKEN=**********\n", "Assign the token to a variable.", None, false, Example),
        ("shell title=\"Example\"", "docker tag kairos/ubuntu-core-base:latest my-registry.io/kairos/kairos-base:6.8.0-60\n", "", after, true, Example),
        ("shell title=\"Example\"", "docker push my-registry.io/kairos/kairos-base:6.8.0-60\n", "Push the image to your registry.", None, false, Example),
        ("shell title=\"Example\"", "BASE_IMAGE=my-registry.io/kairos/kairos-base:6.8.0-60\n", "Set the value in the .arg file.", None, false, Example),
        ("shell hideClipboard title=\"Example command\"", "kubectl get pv --output wide\n", "List the volumes.", None, false, Example),
        ("bash hideClipboard", "ssh -i ~/.ssh/id_rsa spectro@10.10.227.13\n", "For example:", None, false, Example),
        // File content: config.
        ("yaml hideClipboard title=\"Example configuration\"", "containerd:\n  registryMirrors:\n    - endpoint: https://mirror:5000\n", "Open the pack's YAML editor.", None, false, Config),
        ("yaml {14} title=\"Example\"", "pack:\n  content:\n    mirror: m:5000\n  namespace: kube-system\n", "", None, false, Config),
        ("yaml", "env:\n  calicoNode:\n    FELIX_IPV6SUPPORT: false\n", "Add the following to the Calico pack.", None, false, Config),
        ("yaml", "stages:\n  boot:\n    - name: disable-ipv6\n", "Add the following lines to the user-data file.", None, false, Config),
        ("dockerfile", "RUN apt-get clean && rm -rf /var/lib/apt/lists/*\n", "Remove the following lines.", None, true, Config),
        ("ini title=\".arg file in CanvOS\"", "BASE_IMAGE=my-registry.io/kairos/kairos-base:6.8.0-60\n", "", None, false, Config),
        ("json", "{\n  \"insecure-registries\": [\"mirror:5000\"]\n}\n", "Write this to /etc/docker/daemon.json.", None, false, Config),
        ("toml", "[plugins.\"io.containerd.grpc.v1.cri\".registry]\nconfig_path = \"/etc/containerd/certs.d\"\n", "", None, false, Config),
        ("yaml title=\"user-data\"", "#cloud-config\nstylus:\n  site:\n    paletteEndpoint: api.example.com\n", "", None, false, Config),
        // An explicit kind settles it.
        ("text kind=config", "mirror.internal.example:5000\n", "", None, false, Config),
        ("bash kind=output", "kubectl get pods\n", "", None, false, Output),
        ("yaml hideClipboard kind=example", "a: 1\n", "", None, false, Example),
        ("shell hideClipboard kind=command", "kubectl get pv\n", "", None, false, Command),
    ];
    assert!(cases.len() >= 40, "{}", cases.len());
    let mut wrong = Vec::new();
    for (info, code, prose, previous, command_before, expected) in cases {
        let d = runbook::runbook::decide_kind(info, code, prose, *previous, *command_before);
        if d.kind != *expected {
            wrong.push(format!(
                "```{info}  {:?}\n  expected {expected:?}, got {:?} (scores c/o/e/k {:?}, evidence {:?})",
                code.lines().next().unwrap_or(""),
                d.kind,
                d.scores,
                d.evidence
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

#[test]
fn block_kinds_from_all_the_evidence() {
    use BlockKind::{Command, Config, Output};
    let r = fixture("block-evidence.md");
    let kinds: Vec<BlockKind> = blocks(&r).iter().map(|b| b.kind).collect();
    assert_eq!(
        kinds,
        [Config, Config, Command, Output, Command, Output, Config],
        "pasted YAML is config even with hideClipboard or a highlighted line; audit lines and \
         a bare URL after a command are its output; kind= settles the last"
    );
    let b = blocks(&r);
    assert_eq!(b[1].highlight, [3]);
    assert!(b[3].code.starts_with("type=AVC"));
    assert_eq!(b[6].attribute("kind"), Some("config"));
    assert!(
        b.iter().all(|b| b.close_call.is_none()),
        "no call here is close"
    );
}

#[test]
fn a_heading_followed_by_deeper_debug_steps_is_a_scenario_of_its_own() {
    let r = fixture("nested-scenarios.md");
    let shape: Vec<(&str, usize, usize)> = r
        .scenarios
        .iter()
        .map(|s| {
            (
                s.title.as_str(),
                s.procedures.len(),
                s.procedures[0].steps.len(),
            )
        })
        .collect();
    assert_eq!(
        shape,
        [
            ("OS Patch Fails", 1, 2),
            ("OS Patch Fails on AWS with MicroK8s 1.27", 1, 2)
        ]
    );
    assert_eq!(
        r.scenarios[1].summary,
        "On AWS the patch also fails when the snap refresh holds the node."
    );
    assert_eq!(r.scenarios[1].line, 19);
}

#[test]
fn prose_before_top_level_tabs_introduces_each_tab_procedure() {
    let r = fixture("tabs-intro.md");
    let s = &r.scenarios[0];
    let shape: Vec<(&str, usize)> = s
        .procedures
        .iter()
        .map(|p| (p.title.as_str(), p.steps.len()))
        .collect();
    assert_eq!(
        shape,
        [("Ubuntu", 1), ("RHEL", 2)],
        "no one-step procedure of prose"
    );
    for p in &s.procedures {
        assert!(p.summary.starts_with("Pick the tab"), "{}", p.summary);
    }
}

#[test]
fn a_sub_heading_without_a_procedure_is_reference_material() {
    let r = fixture("reference-sections.md");
    let s = &r.scenarios[0];
    let procedures: Vec<&str> = s.procedures.iter().map(|p| p.title.as_str()).collect();
    assert_eq!(procedures, ["Debug Steps"]);
    let reference: Vec<(&str, usize)> = s
        .reference
        .iter()
        .map(|r| (r.title.as_str(), r.blocks.len()))
        .collect();
    assert_eq!(reference, [("Examples", 1), ("Background", 0)]);
    assert_eq!(s.reference[0].blocks[0].kind, BlockKind::Config);
    assert!(s.reference[0].text.contains("A smaller cluster"));
    assert!(s.reference[0].text.starts_with("The kubelet settings"));
}

#[test]
fn a_scenario_number_is_an_ordinal_not_part_of_the_title() {
    let r = fixture("scenario-ordinals.md");
    let titles: Vec<(&str, &str)> = r
        .scenarios
        .iter()
        .map(|s| (s.title.as_str(), s.id.as_str()))
        .collect();
    assert_eq!(
        titles,
        [
            (
                "Cluster Stuck in Provisioning",
                "scenario-ordinals/cluster-stuck-in-provisioning"
            ),
            ("Node Not Ready", "scenario-ordinals/node-not-ready"),
            (
                "3 Nodes Lost at Once",
                "scenario-ordinals/3-nodes-lost-at-once"
            ),
        ]
    );
}

#[test]
fn examples_say_whether_they_may_be_edited_or_run_as_written() {
    use BlockKind::{Command, Example};
    let r = fixture("runnable-examples.md");
    let b = blocks(&r);
    let shape: Vec<(BlockKind, bool, bool)> = b
        .iter()
        .map(|b| (b.kind, b.editable, b.runs_as_is))
        .collect();
    assert_eq!(
        shape,
        [
            // "Example command" with nothing to fill in and no command it copies: may run.
            (Example, true, true),
            (Command, true, false),
            // A filled-in copy of the command before it: edit it, never run it as written.
            (Example, true, false),
            // An example that still holds a placeholder: edit it first.
            (Example, true, false),
        ]
    );
    let config = fixture("block-evidence.md");
    assert!(
        blocks(&config)
            .iter()
            .filter(|b| b.kind != Command)
            .all(|b| !b.editable || b.kind == Example)
    );
}

#[test]
fn every_fixture_survives_the_catalog_cache_round_trip() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdx");
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap_or_default();
        let r = parse(&bytes, &entry.path());
        let json = serde_json::to_string(&r).unwrap_or_else(|e| panic!("{e}"));
        let back: Runbook = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{}: {e}", entry.path().display()));
        assert_eq!(back, r, "{}", entry.path().display());
    }
}

#[test]
fn the_catalog_cache_is_used_while_path_size_and_mtime_match_and_racy_files_are_hashed() {
    let files = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = files.path().join("cached.md");
    let text = "## Scenario - First Title\n\n### Debug Steps\n\n1. Step.\n";
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    let load = || Catalog::load_cached_in(&[files.path().to_owned()], false, cache.path());
    let title = |c: &Catalog| c.runbooks[0].scenarios[0].title.clone();

    let cold = load();
    assert_eq!(title(&cold), "First Title");
    let file = cache.path().join(runbook::runbook::cache::FILE_NAME);
    let stored = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    assert!(stored.contains("First Title"));

    // A warm load takes the runbook from the cache: prove it by editing the cached copy.
    std::fs::write(&file, stored.replace("First Title", "From Cache!"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(title(&load()), "From Cache!");

    // An edit that changes the size (and the mtime) is seen.
    std::fs::write(&path, text.replace("First", "Edited!")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(title(&load()), "Edited! Title");

    // Same size, same mtime, other bytes, in a file not older than the cache ("racy": it may
    // have changed again after it was read, within the clock's granularity): the content hash
    // sends it back to the parser.
    let mtime = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, text.replace("First", "Changed")).unwrap_or_else(|e| panic!("{e}"));
    let set_mtime = |p: &std::path::Path| {
        std::fs::File::options()
            .write(true)
            .open(p)
            .and_then(|f| f.set_modified(mtime))
            .unwrap_or_else(|e| panic!("{e}"));
    };
    set_mtime(&path);
    set_mtime(&file);
    assert_eq!(title(&load()), "Changed Title");
    // And the fresh parse replaced the entry.
    let stored = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    assert!(stored.contains("Changed Title") && !stored.contains("Edited! Title"));

    // A cache written by another program is ignored, never trusted.
    let foreign = stored.replacen("runbook-catalog-cache", "something-else", 1);
    std::fs::write(&file, foreign.replace("Changed Title", "Stale"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(title(&load()), "Changed Title");
}
