//! Resource bounds on hostile input: how deep a command or the front matter may nest before
//! the parser reports it instead of handing it to a recursive reader.
//!
//! Both scans are single passes over the bytes with a counter, so a 1 MiB file of `$(` or `[`
//! costs what reading it costs. To bound one more construct, add a scan here, call it where
//! the construct is read, and add a hostile case to `tests/local/bad_input.rs`.

/// `$(`, `(` and `<(` levels a command may nest. Real commands use a handful; past this the
/// shell lexer (`exec::shell`) reads the rest flat, so the parser does not let such a block run.
pub const MAX_SHELL_NESTING: usize = 64;

/// Nesting levels of YAML front matter (indentation, `- ` items and `[`/`{` together) read
/// with `serde_yaml`; a deeper front matter is reported and not read.
pub const MAX_YAML_NESTING: usize = 64;

/// The first place `code` nests parentheses deeper than [`MAX_SHELL_NESTING`]: (0-based line of
/// `code`, the deepest level reached anywhere).
pub fn shell_too_deep(code: &str) -> Option<(usize, usize)> {
    let mut depth = 0usize;
    let mut max = 0usize;
    let mut first: Option<usize> = None;
    let mut line = 0usize;
    let mut single = false;
    let mut bytes = code.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\n' => line += 1,
            b'\'' => single = !single,
            _ if single => {}
            b'\\' if bytes.next() == Some(b'\n') => line += 1,
            b'(' => {
                depth += 1;
                if depth > max {
                    max = depth;
                }
                if depth > MAX_SHELL_NESTING && first.is_none() {
                    first = Some(line);
                }
            }
            b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    first.map(|l| (l, max))
}

/// The first line (0-based, of `lines`) where YAML nests deeper than [`MAX_YAML_NESTING`], with
/// the level reached there.
pub fn yaml_too_deep(lines: &[&str]) -> Option<(usize, usize)> {
    let mut indents: Vec<usize> = Vec::new();
    let mut flow = 0usize;
    for (n, line) in lines.iter().enumerate() {
        let body = line.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let indent = line.len() - body.len();
        if flow == 0 {
            while indents.last().is_some_and(|&i| i >= indent) {
                indents.pop();
            }
            indents.push(indent);
        }
        // `- - - x`: each dash opens a sequence one level deeper.
        let mut rest = body;
        let mut dashes = 0usize;
        while let Some(r) = rest.strip_prefix("- ") {
            dashes += 1;
            rest = r.trim_start_matches(' ');
        }
        let mut quote: Option<u8> = None;
        let mut deepest_flow = flow;
        for b in rest.bytes() {
            if let Some(q) = quote {
                if b == q {
                    quote = None;
                }
                continue;
            }
            match b {
                b'"' | b'\'' => quote = Some(b),
                b'#' => break,
                b'[' | b'{' => {
                    flow += 1;
                    deepest_flow = deepest_flow.max(flow);
                }
                b']' | b'}' => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
        let level = indents.len() + dashes + deepest_flow;
        if level > MAX_YAML_NESTING {
            return Some((n, level));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_nesting() {
        assert_eq!(shell_too_deep("echo $(date) $( (ls) )"), None);
        assert_eq!(shell_too_deep("echo '((((((((((((((((('"), None);
        let deep = format!("true\necho {}x{}", "$(".repeat(100), ")".repeat(100));
        assert_eq!(shell_too_deep(&deep), Some((1, 100)));
    }

    #[test]
    fn yaml_nesting() {
        assert_eq!(
            yaml_too_deep(&["title: x", "tags: [a, b]", "a:", "  b: [1]"]),
            None
        );
        let flow = format!("a: {}1{}", "[".repeat(100), "]".repeat(100));
        assert_eq!(yaml_too_deep(&["title: x", &flow]), Some((1, 101)));
        let lines: Vec<String> = (0..70).map(|i| format!("{}k{i}:", " ".repeat(i))).collect();
        let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
        assert_eq!(yaml_too_deep(&refs).map(|(l, _)| l), Some(64));
        let dashes = format!("a:\n{}x", "- ".repeat(80));
        let refs: Vec<&str> = dashes.lines().collect();
        assert!(yaml_too_deep(&refs).is_some());
    }
}
