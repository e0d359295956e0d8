//! Bad input never panics and never loses the catalog: arbitrary bytes, mutated fixtures,
//! invalid UTF-8, NUL bytes, huge files, deep nesting and broken YAML each become a finding
//! with <file:line> while every other runbook still loads.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use runbook::runbook::{Catalog, MAX_FILE_BYTES, Severity, parse};

use crate::hostile_support::{MIB, deep_front_matter, deep_substitution, many_placeholders};

fn fixtures() -> Vec<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdx");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// Walks the whole model so that a malformed tree would be noticed, and checks invariants.
fn check(bytes: &[u8]) {
    let r = parse(bytes, Path::new("fuzz.md"));
    let json = serde_json::to_string(&r).unwrap_or_default();
    assert!(json.starts_with('{'));
    let lines = bytes.split(|&b| b == b'\n').count().max(1);
    for w in r.warnings() {
        assert!(
            w.line >= 1 && w.line <= lines + 1,
            "{w} beyond {lines} lines"
        );
    }
    for s in &r.scenarios {
        assert!(s.line >= 1 && s.line <= lines);
        for b in s.all_blocks() {
            assert!(b.line >= 1 && b.line <= lines);
        }
        for p in &s.procedures {
            assert!(p.parent.is_none_or(|i| i < s.procedures.len()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
        check(&bytes);
    }

    #[test]
    fn markdown_shaped_noise_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("```".to_owned()), Just("````shell hideClipboard".to_owned()), Just("~~~".to_owned()),
                Just("<!--".to_owned()), Just("-->".to_owned()), Just("``` -->".to_owned()),
                Just(":::info".to_owned()), Just(":::".to_owned()), Just("<Tabs>".to_owned()),
                Just("</Tabs>".to_owned()), Just("<TabItem label=\"x\">".to_owned()), Just("</TabItem>".to_owned()),
                Just("## Scenario - x".to_owned()), Just("### Debug Steps".to_owned()), Just("#### Example".to_owned()),
                Just("---".to_owned()), Just("<InfoBox>".to_owned()), Just("</InfoBox>".to_owned()),
                "[ ]{0,12}[0-9]{1,3}\\. [a-z <>`*]{0,10}",
                "[ ]{0,12}- [a-z]{0,5}",
                "[ ]{0,8}```[a-z]{0,5} [{}0-9,\\-=a-z\" ]{0,12}",
                "[^\n]{0,30}",
            ],
            0..60,
        )
    ) {
        check(lines.join("\n").as_bytes());
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..64,
        edits in proptest::collection::vec((any::<u16>(), any::<u8>(), 0u8..3), 1..24),
    ) {
        let all = fixtures();
        let mut bytes = all[which % all.len()].clone();
        for (at, byte, op) in edits {
            if bytes.is_empty() { bytes.push(byte); continue; }
            let at = usize::from(at) % bytes.len();
            match op {
                0 => bytes[at] = byte,
                1 => { bytes.insert(at, byte); }
                _ => { bytes.remove(at); }
            }
        }
        check(&bytes);
    }
}

#[test]
fn invalid_utf8_is_read_lossily_with_a_warning() {
    let r = parse(
        b"## Scenario - Caf\xe9\n\n### Debug Steps\n\n1. Step\n",
        Path::new("latin1.md"),
    );
    assert_eq!(r.scenarios[0].title, "Caf\u{fffd}");
    let w = &r.warnings()[0];
    assert_eq!(
        (w.code, w.line, w.severity),
        ("invalid-utf8", 1, Severity::Warning)
    );
}

#[test]
fn nul_bytes_are_skipped_with_a_warning() {
    let r = parse(
        b"## Scenario - A\n\n### Debug Steps\n\n1. St\0ep\n",
        Path::new("nul.md"),
    );
    assert_eq!(r.scenarios[0].procedures[0].steps[0].text, "Step");
    let w = &r.warnings()[0];
    assert_eq!((w.code, w.line), ("nul-byte", 5));
}

#[test]
fn a_file_over_the_limit_is_refused_and_the_others_load() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let big = dir.path().join("big.md");
    let len = usize::try_from(MAX_FILE_BYTES).unwrap_or(usize::MAX) + 1;
    std::fs::write(&big, vec![b'a'; len]).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("ok.md"),
        "## Scenario - Fine\n\n### Debug Steps\n\n1. x\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("yaml.md"),
        "---\ntitle: [unclosed\n---\n\n## Scenario - Y\n\n1. y\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let catalog = Catalog::load(&[dir.path().to_owned()], true);
    assert_eq!(catalog.errors.len(), 1);
    assert_eq!(catalog.errors[0].code, "too-large");
    assert!(
        catalog.errors[0].message.contains("8 MiB"),
        "{}",
        catalog.errors[0]
    );
    assert!(catalog.runbook("ok").is_some());
    let yaml = catalog
        .runbook("yaml")
        .unwrap_or_else(|| panic!("yaml.md did not load"));
    assert_eq!(yaml.warnings()[0].code, "front-matter");
    assert_eq!(yaml.scenarios.len(), 1);
    assert!(
        catalog.runbook("backup-stuck").is_some(),
        "bundled runbooks still load"
    );
}

#[test]
fn a_missing_path_is_an_error_not_a_crash() {
    let catalog = Catalog::load(&[PathBuf::from("/nonexistent/runbooks")], true);
    assert_eq!(catalog.errors.len(), 1);
    assert_eq!(catalog.errors[0].code, "unreadable");
    assert!(!catalog.runbooks.is_empty());
}

#[test]
fn one_hundred_thousand_nested_list_levels() {
    // On one line: CommonMark reads each marker as a deeper list.
    let mut one_line = String::from("## Scenario - Deep\n\n### Debug Steps\n\n");
    one_line.push_str(&"1. ".repeat(100_000));
    one_line.push_str("x\n");
    let r = parse(one_line.as_bytes(), Path::new("deep.md"));
    assert_eq!(r.scenarios[0].procedures[0].steps.len(), 1);

    // As indentation: every line one level deeper, until the file limit allows no more.
    let mut indented = String::from("## Scenario - Deep\n\n### Debug Steps\n\n");
    let mut level = 0;
    while indented.len() < 7 * 1024 * 1024 {
        indented.push_str(&" ".repeat(level));
        indented.push_str("1. step\n");
        level += 1;
    }
    let r = parse(indented.as_bytes(), Path::new("deep2.md"));
    let mut depth = 0;
    let mut step = &r.scenarios[0].procedures[0].steps[0];
    while let Some(sub) = step.substeps.first() {
        step = sub;
        depth += 1;
    }
    assert!(depth < 16, "nesting is capped, got {depth}");

    // And 100,000 blockquote / admonition levels.
    let quotes = format!("## Scenario - Q\n\n{}\n\n1. x\n", ">".repeat(100_000));
    check(quotes.as_bytes());
    let admonitions = format!("## Scenario - A\n\n{}", ":::info\n".repeat(100_000));
    check(admonitions.as_bytes());
}

#[test]
fn unterminated_fence_and_comment_are_reported_with_their_line() {
    let r = parse(
        b"## Scenario - A\n\n### Debug Steps\n\n1. x\n\n   ```bash\n   ls\n",
        Path::new("f.md"),
    );
    assert!(
        r.warnings()
            .iter()
            .any(|w| w.code == "unterminated-fence" && w.line == 7)
    );
    assert_eq!(r.scenarios[0].procedures[0].steps[0].blocks[0].code, "ls\n");
    let r = parse(b"intro\n<!-- open\n## Scenario - B\n", Path::new("c.md"));
    assert!(
        r.warnings()
            .iter()
            .any(|w| w.code == "unterminated-comment" && w.line == 2)
    );
}

/// Loads `hostile` next to a plain runbook through the catalog (as `runbook list` does), and
/// returns it; every other runbook must load too.
fn load_beside_a_plain_runbook(name: &str, hostile: &str) -> runbook::runbook::Runbook {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join(name), hostile).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("ok.md"),
        "## Scenario - Fine\n\n### Debug Steps\n\n1. x\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let catalog = Catalog::load(&[dir.path().to_owned()], true);
    assert!(catalog.errors.is_empty(), "{:?}", catalog.errors);
    assert!(catalog.runbook("ok").is_some());
    assert!(catalog.runbook("backup-stuck").is_some());
    let stem = name.trim_end_matches(".md");
    catalog
        .runbook(stem)
        .cloned()
        .unwrap_or_else(|| panic!("{name} did not load"))
}

#[test]
fn substitutions_nested_far_past_the_bound_are_reported_and_never_run() {
    let text = deep_substitution();
    assert!(
        text.len() >= MIB - 64 && text.len() <= MIB,
        "{}",
        text.len()
    );
    let r = load_beside_a_plain_runbook("deep-subst.md", &text);
    let w = r
        .warnings()
        .iter()
        .find(|w| w.code == "too-deep")
        .unwrap_or_else(|| panic!("{:?}", r.warnings()));
    assert_eq!((w.line, w.severity), (8, Severity::Error), "{w}");
    let block = &r.scenarios[0].procedures[0].steps[0].blocks[0];
    assert_eq!(block.kind, runbook::runbook::BlockKind::Example);
    assert!(!block.editable && !block.runs_as_is);
    // The engine's lexer reads it flat instead of recursing: no stack overflow, and it says so.
    let script = runbook::exec::shell::parse(&block.code);
    assert!(script.too_deep.is_some());
    let _ = runbook::exec::classify_block(block, runbook::exec::safety::Trust::Fetched);
    let findings = runbook::lint::lint_runbook(&r, runbook::lint::Options { shellcheck: false });
    assert!(findings.iter().any(|f| f.code == "too-deep" && f.line == 8));
}

#[test]
fn the_lexer_still_sees_commands_nested_past_the_bound() {
    for deep in [
        format!(
            "echo {}rm -rf /tmp/x{}",
            "$(".repeat(10_000),
            ")".repeat(10_000)
        ),
        format!(
            "echo \"{}rm -rf /tmp/x{}\"",
            "$(".repeat(10_000),
            ")".repeat(10_000)
        ),
        format!(
            "{}rm -rf /tmp/x{}",
            "( ".repeat(10_000),
            " )".repeat(10_000)
        ),
    ] {
        let script = runbook::exec::shell::parse(&deep);
        assert!(script.too_deep.is_some());
        assert!(
            script
                .commands
                .iter()
                .any(|c| c.words.first().map(String::as_str) == Some("rm")),
            "{:?}",
            script.commands.iter().take(3).collect::<Vec<_>>()
        );
        assert!(runbook::exec::classify(&deep).destructive);
    }
    let after = format!(
        "echo \"{}x{}\"; rm -rf /tmp/y",
        "$(".repeat(100),
        ")".repeat(100)
    );
    assert!(
        runbook::exec::classify(&after).destructive,
        "a command after the quotes is seen"
    );
}

#[test]
fn front_matter_nested_far_too_deep_is_reported_and_the_body_loads() {
    let text = deep_front_matter();
    assert!(
        text.len() >= MIB - 256 && text.len() <= MIB + 256,
        "{}",
        text.len()
    );
    let r = load_beside_a_plain_runbook("deep-yaml.md", &text);
    let w = &r.warnings()[0];
    assert_eq!(
        (w.code, w.line, w.severity),
        ("front-matter", 3, Severity::Error),
        "{w}"
    );
    assert!(w.message.contains("levels deep"), "{w}");
    assert_eq!(r.scenarios.len(), 1);
    assert_eq!(r.scenarios[0].title, "Still Here");
}

#[test]
fn one_hundred_thousand_placeholders_load_and_lint_in_linear_time() {
    let text = many_placeholders();
    assert!(
        text.len() >= MIB - 128 * 1024 && text.len() <= MIB + 128 * 1024,
        "{}",
        text.len()
    );
    let r = load_beside_a_plain_runbook("many.md", &text);
    let block = &r.scenarios[0].procedures[0].steps[0].blocks[0];
    assert_eq!(
        runbook::runbook::placeholder::find(&block.code).len(),
        100_000
    );
    assert_eq!(
        runbook::runbook::placeholder::names(&block.code).len(),
        100_000
    );
    let findings = runbook::lint::lint_runbook(&r, runbook::lint::Options { shellcheck: false });
    let too_many = findings
        .iter()
        .find(|f| f.code == "too-many-placeholders")
        .unwrap_or_else(|| panic!("no too-many-placeholders finding"));
    assert_eq!(too_many.line, 7);
    assert!(too_many.message.contains("100000"), "{too_many}");
    let unexplained = findings
        .iter()
        .filter(|f| f.code == "unexplained-placeholder")
        .count();
    assert_eq!(unexplained, 200);
}
