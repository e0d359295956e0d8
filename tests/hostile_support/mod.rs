//! 1 MiB runbooks built to hurt the parser, the lexer and lint: shared by the tests that say
//! they load (`tests/local/bad_input.rs`) and the bench that says how fast (`benches/parse.rs`
//! `hostile/`), so both speak of the same files.

/// 1 MiB, the size the hostile cases are measured at (see `benches/parse.rs`).
pub const MIB: usize = 1024 * 1024;

/// A runbook whose only command nests `$(` about 350,000 levels deep (1 MiB).
pub fn deep_substitution() -> String {
    let head = "## Scenario - Deep\n\n### Debug Steps\n\n1. Run it.\n\n   ```bash\n   echo ";
    let levels = (MIB - head.len() - 16) / 3;
    format!(
        "{head}{}x{}\n   ```\n",
        "$(".repeat(levels),
        ")".repeat(levels)
    )
}

/// Front matter nested 500,000 flow levels deep (1 MiB), then a normal body.
pub fn deep_front_matter() -> String {
    let levels = (MIB - 200) / 2;
    format!(
        "---\ntitle: Deep\ntags: {}{}\n---\n\n## Scenario - Still Here\n\n### Debug Steps\n\n1. Step.\n",
        "[".repeat(levels),
        "]".repeat(levels)
    )
}

/// One command block holding 100,000 distinct placeholders on 120-byte lines (about 1 MiB).
pub fn many_placeholders() -> String {
    let mut code = String::with_capacity(MIB + 4096);
    code.push_str("## Scenario - Many\n\n### Debug Steps\n\n1. Fill them in.\n\n   ```bash\n");
    let mut line = String::from("   echo");
    for n in 0..100_000 {
        let p = format!(" <v-{n}>");
        if line.len() + p.len() > 120 {
            code.push_str(&line);
            code.push('\n');
            line = String::from("   echo");
        }
        line.push_str(&p);
    }
    code.push_str(&line);
    code.push_str("\n   ```\n");
    code
}
