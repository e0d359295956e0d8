//! Deciding what a fenced block is for: a command, its expected output, an example, or config.
//!
//! No single cue decides. Each piece of [`Evidence`] about a block (its fence language, its
//! meta, the words of its title, the prose just before it, the kind of the block before it in
//! the step, and what its content looks like) adds a row of points to the four kinds, and the
//! kind with the most points wins. When the runner-up comes within [`CLOSE`] points, the call
//! was close: the block records the runner-up so that `runbook lint` can ask the author to
//! settle it with an explicit `kind=output|config|example|command`, which always wins.
//!
//! To teach it a new cue: add an [`Evidence`] variant, give it a row in [`WEIGHTS`], detect it
//! in [`evidence`], and add real-shaped cases to the table test in
//! `tests/local/parse_fixtures.rs` (`block_kind_table`); every case there must keep passing.

use std::sync::LazyLock;

use regex::Regex;

use crate::runbook::BlockKind;
use crate::runbook::fence::FenceInfo;

/// Lines of a block's content looked at: a large block costs no more than a small one.
const MAX_LINES_READ: usize = 40;

/// The runner-up within this many points of the winner makes the call a close one.
pub const CLOSE: i32 = 3;

pub const SHELL: &[&str] = &[
    "bash",
    "sh",
    "shell",
    "zsh",
    "console",
    "shell-session",
    "ksh",
    "powershell",
    "ps1",
];
const TEXT: &[&str] = &["text", "txt", "plaintext", "plain", "output", "log", "none"];
/// Data languages: a file's content, or a program's structured output.
const DATA: &[&str] = &[
    "yaml",
    "yml",
    "json",
    "jsonc",
    "json5",
    "xml",
    "toml",
    "ini",
    "properties",
    "env",
    "dotenv",
    "csv",
];

/// Words of a title that name a file or its content.
const TITLE_CONFIG: &[&str] = &[
    "config",
    "configuration",
    "manifest",
    "values",
    "file",
    "user-data",
    "userdata",
    "dockerfile",
    "yaml",
    ".arg",
    "profile",
    "pack",
    "spec",
];
/// Prose that announces what a program printed.
const PROSE_OUTPUT: &[&str] = &[
    "output",
    "prints",
    "displays",
    "indicates",
    "similar to the following",
    "resembles",
    "response",
    "returns the following",
    "shows the following",
    "you should see",
    "you will see",
    "log entries",
    "log lines",
    "error message",
];
/// Phrases that leave no doubt.
const PROSE_OUTPUT_STRONG: &[&str] = &[
    "example output",
    "sample output",
    "output is similar",
    "output resembles",
    "output should be similar",
    "following output",
    "output indicates",
    "output shows",
    "output looks",
    "expected output",
];
const PROSE_CONFIG: &[&str] = &[
    "configuration",
    "yaml",
    "manifest",
    "the following lines",
    "add the following",
    "following content",
    "values file",
    "pack values",
    "editor",
    "file",
];
const PROSE_EXAMPLE: &[&str] = &[
    "for example",
    "as in this example",
    "as in the example",
    "example command",
    "an example",
];
const PROSE_COMMAND: &[&str] = &[
    "command",
    "run the following",
    "execute",
    "issue the following",
    "use the following",
    "terminal",
];

/// One observation about a block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Evidence {
    LangShell,
    LangNone,
    LangText,
    LangData,
    /// Any other language: a Dockerfile, Python, Go, HCL ...
    LangOther,
    HideClipboard,
    /// `hideClipboard` right after a command: docs hide the copy button on what it printed.
    HiddenAfterCommand,
    Highlight,
    TitleOutput,
    TitleConfig,
    TitleExample,
    TitleCommand,
    ProseOutput,
    ProseOutputStrong,
    ProseConfig,
    ProseCommand,
    /// "For example:", "as in this example".
    ProseExample,
    /// The block right before it in the same step is a command.
    AfterCommand,
    /// No command comes before it in the step: there is nothing it could be the output of.
    NoCommandBefore,
    /// The content reads as command lines.
    ContentShell,
    /// The content is shaped like program output: a table, `Key: value`, a log line, numbers.
    ContentOutput,
    /// The content is not valid shell (an unquoted `(` inside a word, an unclosed quote).
    ContentNotShell,
    /// A bare URL on a line of its own.
    ContentUrl,
    ContentJson,
    /// Nested `key: value` mappings or `- item` lists.
    ContentYaml,
}

/// Points per kind, in the order command, output, example, config.
const WEIGHTS: &[(Evidence, [i32; 4])] = &[
    (Evidence::LangShell, [3, 0, 1, -3]),
    (Evidence::LangNone, [1, 1, 0, 0]),
    (Evidence::LangText, [-6, 6, -4, 0]),
    (Evidence::LangData, [-6, 1, -4, 4]),
    (Evidence::LangOther, [-6, 0, -4, 6]),
    (Evidence::HideClipboard, [-5, 1, 3, 1]),
    (Evidence::HiddenAfterCommand, [-2, 3, -1, -1]),
    (Evidence::Highlight, [-1, 1, 0, 1]),
    (Evidence::TitleOutput, [-6, 9, -4, -3]),
    (Evidence::TitleConfig, [-3, -2, 0, 5]),
    (Evidence::TitleExample, [-3, 1, 6, 1]),
    (Evidence::TitleCommand, [1, -3, 2, -3]),
    (Evidence::ProseOutput, [-1, 2, 0, 0]),
    (Evidence::ProseOutputStrong, [-1, 3, -1, -1]),
    (Evidence::ProseConfig, [0, 0, 0, 2]),
    (Evidence::ProseCommand, [2, -1, 1, 0]),
    (Evidence::ProseExample, [0, 0, 1, 0]),
    (Evidence::AfterCommand, [0, 2, 0, 0]),
    (Evidence::NoCommandBefore, [0, -2, 0, 0]),
    (Evidence::ContentShell, [4, -4, 1, -1]),
    (Evidence::ContentOutput, [-3, 4, -3, 0]),
    (Evidence::ContentNotShell, [-4, 2, -4, 1]),
    (Evidence::ContentUrl, [-4, 4, -4, 0]),
    (Evidence::ContentJson, [-3, 2, -3, 2]),
    (Evidence::ContentYaml, [-2, 1, -2, 3]),
];

const KINDS: [BlockKind; 4] = [
    BlockKind::Command,
    BlockKind::Output,
    BlockKind::Example,
    BlockKind::Config,
];

/// The prose word lists, in the order of [`PROSE_EVIDENCE`].
const PROSE_LISTS: [&[&str]; 5] = [
    PROSE_OUTPUT_STRONG,
    PROSE_OUTPUT,
    PROSE_CONFIG,
    PROSE_COMMAND,
    PROSE_EXAMPLE,
];
const PROSE_EVIDENCE: [Evidence; 5] = [
    Evidence::ProseOutputStrong,
    Evidence::ProseOutput,
    Evidence::ProseConfig,
    Evidence::ProseCommand,
    Evidence::ProseExample,
];

/// Every word of every list in one automaton (ASCII case ignored), with the list of each word.
static PROSE: LazyLock<Option<(aho_corasick::AhoCorasick, Vec<usize>)>> = LazyLock::new(|| {
    let mut words = Vec::new();
    let mut list_of = Vec::new();
    for (list, ws) in PROSE_LISTS.iter().enumerate() {
        for w in *ws {
            words.push(*w);
            list_of.push(list);
        }
    }
    aho_corasick::AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .build(words)
        .ok()
        .map(|a| (a, list_of))
});

/// Bytes of prose before a block that are read: the sentences right before it.
const MAX_PROSE_READ: usize = 400;

/// What the parser knows about a block's surroundings.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// The prose between the previous block (or the start of the step) and this block.
    pub prose: &'a str,
    /// The kind of the block right before this one in the same step.
    pub previous: Option<BlockKind>,
    /// A command block comes earlier in the same step.
    pub command_before: bool,
}

/// The kind a block was given, and how sure the call was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub kind: BlockKind,
    /// The runner-up when it came within [`CLOSE`] points; `None` for a clear or explicit call.
    pub close_call: Option<BlockKind>,
    /// Points per kind (command, output, example, config); zero for an explicit `kind=`.
    pub scores: [i32; 4],
    pub evidence: Vec<Evidence>,
}

/// Decides a block's kind from all the evidence.
pub fn decide(info: &FenceInfo, code: &str, cx: &Context<'_>) -> Decision {
    if let Some(kind) = info.attributes.get("kind").and_then(|k| explicit(k)) {
        return Decision {
            kind,
            close_call: None,
            scores: [0; 4],
            evidence: Vec::new(),
        };
    }
    let evidence = evidence(info, code, cx);
    let mut scores = [0i32; 4];
    for e in &evidence {
        if let Some((_, row)) = WEIGHTS.iter().find(|(w, _)| w == e) {
            for (s, w) in scores.iter_mut().zip(row) {
                *s += w;
            }
        }
    }
    // Ties go to the kind that runs nothing: config, then example, then output, then command.
    let mut order = [3usize, 2, 1, 0];
    order.sort_by_key(|&i| std::cmp::Reverse(scores[i]));
    let (best, second) = (order[0], order[1]);
    let close = scores[best] - scores[second] < CLOSE;
    Decision {
        kind: KINDS[best],
        close_call: close.then_some(KINDS[second]),
        scores,
        evidence,
    }
}

/// `kind=` values an author may write.
pub fn explicit(kind: &str) -> Option<BlockKind> {
    match kind {
        "command" => Some(BlockKind::Command),
        "output" => Some(BlockKind::Output),
        "example" => Some(BlockKind::Example),
        "config" => Some(BlockKind::Config),
        _ => None,
    }
}

fn evidence(info: &FenceInfo, code: &str, cx: &Context<'_>) -> Vec<Evidence> {
    let mut out = Vec::new();
    let lang = info.language.as_deref().unwrap_or("");
    out.push(if lang.is_empty() {
        Evidence::LangNone
    } else if SHELL.contains(&lang) {
        Evidence::LangShell
    } else if TEXT.contains(&lang) {
        Evidence::LangText
    } else if DATA.contains(&lang) {
        Evidence::LangData
    } else {
        Evidence::LangOther
    });
    if info.attributes.contains_key("hideClipboard") {
        out.push(Evidence::HideClipboard);
        if cx.previous == Some(BlockKind::Command) {
            out.push(Evidence::HiddenAfterCommand);
        }
    }
    if !info.highlight.is_empty() {
        out.push(Evidence::Highlight);
    }

    let title = info
        .attributes
        .get("title")
        .map(|t| t.to_lowercase())
        .unwrap_or_default();
    if title.contains("output") {
        out.push(Evidence::TitleOutput);
    }
    if TITLE_CONFIG.iter().any(|w| title.contains(w)) {
        out.push(Evidence::TitleConfig);
    }
    if (title.starts_with("example") || title.starts_with("sample")) && !title.contains("output") {
        out.push(Evidence::TitleExample);
    }
    if title.contains("command") {
        out.push(Evidence::TitleCommand);
    }

    // One pass over the end of the prose finds the words of every list at once.
    let prose = tail(cx.prose, MAX_PROSE_READ);
    if !prose.is_empty()
        && let Some((automaton, list_of)) = PROSE.as_ref()
    {
        let mut found = [false; PROSE_LISTS.len()];
        for m in automaton.find_overlapping_iter(prose) {
            if let Some(&list) = list_of.get(m.pattern().as_usize()) {
                found[list] = true;
            }
        }
        for (hit, evidence) in found.iter().zip(PROSE_EVIDENCE) {
            if *hit {
                out.push(evidence);
            }
        }
    }
    if cx.previous == Some(BlockKind::Command) {
        out.push(Evidence::AfterCommand);
    }
    if !cx.command_before {
        out.push(Evidence::NoCommandBefore);
    }

    let content = Content::of(code);
    if content.url {
        out.push(Evidence::ContentUrl);
    } else if content.json {
        out.push(Evidence::ContentJson);
    } else if content.output && !content.yaml {
        // `key: value` lines with nesting are YAML, whatever else they could be.
        out.push(Evidence::ContentOutput);
    }
    if content.yaml {
        out.push(Evidence::ContentYaml);
    }
    if !content.lexes {
        out.push(Evidence::ContentNotShell);
    } else if content.command && !content.output && !content.url && !content.json {
        out.push(Evidence::ContentShell);
    }
    out
}

/// The last `max` bytes of `text`, cut at a character boundary.
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// What a block's content looks like.
#[derive(Debug, Default)]
struct Content {
    /// The first line reads as the start of a command.
    command: bool,
    output: bool,
    url: bool,
    json: bool,
    yaml: bool,
    /// Quotes balance and no word holds an unquoted `(` that bash would refuse.
    lexes: bool,
}

impl Content {
    fn of(code: &str) -> Self {
        let mut all = code
            .lines()
            .map(str::trim_end)
            .filter(|l| !l.trim().is_empty());
        // The lines read, on the stack: deciding a block allocates nothing for its content.
        let mut read = [""; MAX_LINES_READ];
        let mut n = 0;
        for (slot, line) in read.iter_mut().zip(all.by_ref()) {
            *slot = line;
            n += 1;
        }
        let lines = &read[..n];
        let complete = all.next().is_none();
        let first = lines
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.starts_with('#') && !l.starts_with("```"));
        let Some(first) = first else {
            return Self {
                lexes: true,
                ..Self::default()
            };
        };
        let url = is_url(first);
        let json = first.starts_with('{') || (first.starts_with('[') && !first.starts_with("[ "));
        let yaml_lines = lines.iter().filter(|l| is_yaml_key_line(l)).count();
        let nested = lines
            .iter()
            .any(|l| l.starts_with("  ") || l.starts_with("- "));
        Self {
            command: looks_like_command(first),
            // The same first line `looks_like_output` would find: the code is read once.
            output: output_shaped(first),
            url,
            json,
            yaml: lines.len() > 1 && nested && yaml_lines * 2 >= lines.len(),
            lexes: lexes_as_shell(lines, complete),
        }
    }
}

/// `https://...`, `wss://...` or `oci://...` and nothing else on the line (what
/// `^(https?|wss?|oci)://\S+$` matches).
fn is_url(line: &str) -> bool {
    line.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https" | "ws" | "wss" | "oci")
            && !rest.is_empty()
            && !rest.contains(char::is_whitespace)
    })
}
/// `key: value`, `key:` or `- key: value` (the key a plain word).
fn is_yaml_key_line(line: &str) -> bool {
    let body = line.trim_start();
    let body = body.strip_prefix("- ").unwrap_or(body);
    let Some(first) = body.chars().next() else {
        return false;
    };
    if !(first.is_ascii_alphabetic() || first == '_') {
        return false;
    }
    let key_end = body
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | '/')))
        .unwrap_or(body.len());
    let rest = &body[key_end..];
    rest.strip_prefix(':')
        .is_some_and(|after| after.is_empty() || after.starts_with([' ', '\t']))
}
static COMMAND_START: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(concat!(
        // a command name, a path to a program, an assignment, or shell syntax
        r"^(?:[a-z][a-z0-9._+\-]*(?:\s|$)|\.{0,2}/[\w./\-]+|[A-Za-z_][A-Za-z0-9_]*=|",
        r"(?:if|for|while|until|case|function)\s|[{(]\s|\$\s|\[\[?\s)"
    ))
    .ok()
});

fn looks_like_command(first: &str) -> bool {
    COMMAND_START.as_ref().is_some_and(|re| re.is_match(first))
}

/// Reads the lines as bash would tokenise them, far enough to see what it would refuse: an
/// unquoted `(` in the middle of a word (`msg=audit(1700.1:2)`) or a quote never closed.
fn lexes_as_shell(lines: &[&str], complete: bool) -> bool {
    let mut quote: Option<char> = None;
    for line in lines {
        let mut prev: Option<char> = None;
        let mut chars = line.chars().peekable();
        let start = line.trim_start();
        // Comments, and fence lines nested in a longer fence, are not the script's.
        if quote.is_none() && (start.starts_with('#') || start.starts_with("```")) {
            continue;
        }
        while let Some(c) = chars.next() {
            match quote {
                Some('\'') => {
                    if c == '\'' {
                        quote = None;
                    }
                }
                Some(q) => {
                    if c == '\\' {
                        chars.next();
                    } else if c == q {
                        quote = None;
                    }
                }
                None => match c {
                    '\\' => {
                        chars.next();
                    }
                    '\'' | '"' | '`' => quote = Some(c),
                    '#' if prev.is_none_or(char::is_whitespace) => break,
                    '(' => {
                        // `$(`, `<(`, `>(`, `=(` (array), `f()`, `( sub )` and `((` are bash.
                        let ok = match prev {
                            None => true,
                            Some(p) => {
                                matches!(p, '$' | '<' | '>' | '=' | '(' | '|' | '&' | ';' | '@')
                                    || p.is_whitespace()
                                    || chars.peek() == Some(&')')
                            }
                        };
                        if !ok {
                            return false;
                        }
                    }
                    _ => {}
                },
            }
            prev = Some(c);
        }
    }
    // A quote still open may close past the lines read.
    quote.is_none() || !complete
}

static OUTPUT_SHAPES: LazyLock<Option<Regex>> = LazyLock::new(|| {
    // `Name:   value` is read by `labelled_value`: as a pattern, its `{0,40}` made this
    // automaton's states many and every line costly.
    let shapes = [
        // a table: words separated by runs of two or more spaces, and no shell syntax
        r#"^[^|&;<>$`'"\\]+\S {2,}\S[^|&;<>$`'"\\]*$"#,
        // `fs.file-max = 1000000` (sysctl)
        r"^[a-z0-9_]+(\.[a-z0-9_\-]+)+ = ",
        // `pod "mgmt-x" deleted`, `namespace/x labeled`
        r#"^[a-z.\-/]+ "?[A-Za-z0-9.\-/]+"? (deleted|created|configured|labeled|annotated|patched|unchanged|cordoned|drained|evicted|restarted|scaled)$"#,
        // JSON or a bare address / number
        r"^[\[{]",
        r"^[0-9]",
        // a sentence or log line: a capitalised word followed by lowercase words
        r"^[A-Z][a-z]+ [a-z]+ ",
        r"^(Error|Warning|error|warning|fatal|panic|WARN|INFO|ERROR)[: ]",
        // `type=AVC msg=audit(...)`, `level=info msg="..."`: logfmt and audit records
        r"^[a-z_]+=\S+ [a-z_]+=\S",
        // a timestamped log line
        r"^\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}",
        // `I0711 09:41:42.123456  1 file.go:12] ...` (klog)
        r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}",
    ];
    // One automaton for all the shapes: a first line is read once, not once per shape.
    let alternation: Vec<String> = shapes.iter().map(|re| format!("(?:{re})")).collect();
    Regex::new(&alternation.join("|")).ok()
});

/// Does a shell fence hold program output rather than a command?
pub fn looks_like_output(code: &str) -> bool {
    let Some(first) = code
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("```") && !l.starts_with('#'))
    else {
        return false;
    };
    output_shaped(first)
}

/// [`looks_like_output`] of a block whose first line (trimmed, not blank, no comment, no
/// fence) is `first`.
fn output_shaped(first: &str) -> bool {
    if first.starts_with("$ ") || first.starts_with("./") || first.starts_with("sudo ") {
        return false;
    }
    // `A=1 B=2 command args`: assignments before a command are a command line.
    if ENV_PREFIX.as_ref().is_some_and(|re| re.is_match(first)) {
        return false;
    }
    labelled_value(first) || OUTPUT_SHAPES.as_ref().is_some_and(|re| re.is_match(first))
}

/// `Name:   value`, `Local time: Fri ...`, `Events:  <none>`: a letter, up to 40 of
/// `[A-Za-z0-9 _()./-]`, a colon, then white space or the end (the pattern
/// `^[A-Za-z][A-Za-z0-9 _()./-]{0,40}:(\s|$)`, as a scan).
fn labelled_value(line: &str) -> bool {
    let bytes = line.as_bytes();
    if !bytes.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    let run = bytes[1..]
        .iter()
        .take(41)
        .take_while(|b| b.is_ascii_alphanumeric() || b" _()./-".contains(b))
        .count();
    run <= 40
        && bytes.get(1 + run) == Some(&b':')
        && line[2 + run..]
            .chars()
            .next()
            .is_none_or(char::is_whitespace)
}

static ENV_PREFIX: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r#"^(?:[A-Za-z_][A-Za-z0-9_]*=(?:"[^"]*"|'[^']*'|[^\s()"']*)\s+)+[a-z./][\w./\-]*(\s|$)"#,
    )
    .ok()
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_the_pattern_read_them() {
        let Ok(re) = Regex::new(r"^(https?|wss?|oci)://\S+$") else {
            panic!("pattern")
        };
        for line in [
            "https://example.com/a?b=c",
            "http://10.0.0.1:8080",
            "oci://registry/x:1",
            "wss://h/p",
            "ftp://h/p",
            "https://",
            "https://a b",
            "https://a\u{a0}b",
            "xhttps://a",
            "http://a://b",
            "see https://a",
            "HTTPS://a",
        ] {
            assert_eq!(is_url(line), re.is_match(line), "{line}");
        }
    }

    #[test]
    fn labelled_values_as_the_pattern_read_them() {
        let Ok(re) = Regex::new(r"^[A-Za-z][A-Za-z0-9 _()./-]{0,40}:(\s|$)") else {
            panic!("pattern")
        };
        let long = format!("A{}: x", "b".repeat(40));
        let longer = format!("A{}: x", "b".repeat(41));
        for line in [
            "Name:   mgmt",
            "Events:",
            "Local time: Fri 2025-07-11",
            "Status:\u{a0}ok",
            "Status:x",
            "kubectl get pods",
            "a(b).c/d-e_f g:\tx",
            ":x",
            "1a: x",
            "é: x",
            "Aé: x",
            "http://x",
            &long,
            &longer,
        ] {
            assert_eq!(labelled_value(line), re.is_match(line), "{line}");
        }
    }

    #[test]
    fn output_shapes() {
        for out in [
            "NAME   READY   STATUS\nx 1/1 Running",
            "mgmt-f7f97f4fd-lds69                   1/1     Running   0             45m",
            "               Local time: Fri 2025-07-11 09:41:42 UTC",
            "Name:         vsphere-cloud-config",
            "fs.file-max = 1000000",
            "pod \"mgmt-f7f97f4fd-lds69\" deleted",
            "10.10.227.13\n10.10.227.11",
            "Failed to execute ip(6)tables-restore command error=exit status 2",
            "{\n  \"Authorization\": \"x\"\n}",
            "type=AVC msg=audit(1700000000.123:456): avc:  denied  { read }",
            "2025-07-11T09:41:42Z INFO starting",
        ] {
            assert!(looks_like_output(out), "{out}");
        }
        for cmd in [
            "kubectl get pods --namespace hubble-system | grep mgmt",
            "timedatectl",
            "export BASE_URL=\"REPLACE ME\"",
            "./csi-helper --kubeconfig=<PATH_TO_KUBECONFIG>",
            "cat > pcg-debug.sh << 'EOF'\n#!/bin/bash\nEOF",
            "sysctl -p /etc/sysctl.d/99-maxfiles.conf",
            "echo \"fs.file-max = 1000000\" > /etc/sysctl.d/99-maxfiles.conf",
            "docker tag kairos/ubuntu-core-base:latest my-registry.io/kairos/kairos-base:6.8.0-60",
            "BASE_IMAGE=my-registry.io/kairos/kairos-base:6.8.0-60",
            "kubectl get nodes \\\n--output jsonpath='{range .items[*]}{end}'",
            "KUBECONFIG=/tmp/k kubectl get pods",
        ] {
            assert!(!looks_like_output(cmd), "{cmd}");
        }
    }

    #[test]
    fn bash_refuses_a_parenthesis_inside_a_word() {
        assert!(!lexes_as_shell(
            &["type=AVC msg=audit(1700000000.123:456): avc"],
            true
        ));
        assert!(!lexes_as_shell(&["echo 'unclosed"], true));
        assert!(lexes_as_shell(&["echo 'closed later"], false));
        for ok in [
            "echo $(date) <(ls) >(cat)",
            "arr=(a b c)",
            "f() { echo; }",
            "( cd /tmp && ls )",
            "echo \"a (b)\" 'c (d)' # e (f",
            "kubectl get pods -o jsonpath='{.items[*]}'",
        ] {
            assert!(lexes_as_shell(&[ok], true), "{ok}");
        }
    }

    #[test]
    fn an_explicit_kind_always_wins() {
        let d = decide(
            &FenceInfo::parse("bash kind=output"),
            "kubectl get pods",
            &Context::default(),
        );
        assert_eq!((d.kind, d.close_call), (BlockKind::Output, None));
    }
}
