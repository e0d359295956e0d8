//! Deciding what a fenced block is for: a command, its expected output, an example, or config.
//!
//! The rules, first match wins:
//! 1. an explicit `kind=` attribute;
//! 2. a title that mentions output is [`BlockKind::Output`]; a title starting with "Example" is
//!    an example when the content is a command, output otherwise;
//! 3. `text`-like languages are output;
//! 4. config languages are config, except a JSON/YAML block with `hideClipboard` right after a
//!    command, which is that command's output;
//! 5. `hideClipboard` is an example on a command and output on anything else;
//! 6. a shell fence (or one with no language) is a command unless it plainly holds program
//!    output (see [`looks_like_output`]); any other language is config.

use std::sync::LazyLock;

use regex::Regex;

use crate::runbook::BlockKind;
use crate::runbook::fence::FenceInfo;

const SHELL: &[&str] = &[
    "bash",
    "sh",
    "shell",
    "zsh",
    "console",
    "shell-session",
    "ksh",
];
const TEXT: &[&str] = &["text", "txt", "plaintext", "plain", "output", "log", "none"];
const CONFIG: &[&str] = &[
    "yaml",
    "yml",
    "json",
    "jsonc",
    "json5",
    "dockerfile",
    "docker",
    "ini",
    "toml",
    "xml",
    "hcl",
    "conf",
    "cfg",
    "properties",
    "env",
    "dotenv",
    "nginx",
    "tf",
    "terraform",
];

pub fn classify(info: &FenceInfo, code: &str, after_command: bool) -> BlockKind {
    if let Some(kind) = info.attributes.get("kind").and_then(|k| explicit(k)) {
        return kind;
    }
    let title = info
        .attributes
        .get("title")
        .map(|t| t.to_ascii_lowercase())
        .unwrap_or_default();
    let hidden = info.attributes.contains_key("hideClipboard");
    let lang = info.language.as_deref().unwrap_or("");
    if title.contains("output") {
        return BlockKind::Output;
    }
    if title.starts_with("example") {
        return if looks_like_output(code) {
            BlockKind::Output
        } else {
            BlockKind::Example
        };
    }
    if TEXT.contains(&lang) {
        return BlockKind::Output;
    }
    if CONFIG.contains(&lang) {
        return if hidden && after_command && matches!(lang, "json" | "yaml" | "yml") {
            BlockKind::Output
        } else {
            BlockKind::Config
        };
    }
    if hidden {
        return if looks_like_output(code) {
            BlockKind::Output
        } else {
            BlockKind::Example
        };
    }
    if lang.is_empty() || SHELL.contains(&lang) {
        return if looks_like_output(code) {
            BlockKind::Output
        } else {
            BlockKind::Command
        };
    }
    BlockKind::Config
}

fn explicit(kind: &str) -> Option<BlockKind> {
    match kind {
        "command" => Some(BlockKind::Command),
        "output" => Some(BlockKind::Output),
        "example" => Some(BlockKind::Example),
        "config" => Some(BlockKind::Config),
        _ => None,
    }
}

static OUTPUT_SHAPES: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    [
        // `Name:   value`, `Local time: Fri ...`, `Events:  <none>`
        r"^[A-Za-z][A-Za-z0-9 _()./-]{0,40}:(\s|$)",
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
    ]
    .iter()
    .filter_map(|re| Regex::new(re).ok())
    .collect()
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
    if first.starts_with("$ ") || first.starts_with("./") || first.starts_with("sudo ") {
        return false;
    }
    OUTPUT_SHAPES.iter().any(|re| re.is_match(first))
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            assert!(!looks_like_output(cmd), "{cmd}");
        }
    }

    #[test]
    fn rules() {
        let f =
            |info: &str, code: &str, after: bool| classify(&FenceInfo::parse(info), code, after);
        assert_eq!(f("bash", "kubectl get pods", false), BlockKind::Command);
        assert_eq!(
            f(
                "bash hideClipboard title=\"Example output\"",
                "10.0.0.1",
                true
            ),
            BlockKind::Output
        );
        assert_eq!(
            f(
                "bash hideClipboard title=\"Example command\"",
                "kubectl delete x",
                false
            ),
            BlockKind::Example
        );
        assert_eq!(
            f("shell hideClipboard", "export TOKEN=**********", false),
            BlockKind::Example
        );
        assert_eq!(
            f("json hideClipboard", "{\"a\":1}", true),
            BlockKind::Output
        );
        assert_eq!(f("yaml", "a: 1", false), BlockKind::Config);
        assert_eq!(f("dockerfile", "RUN x", false), BlockKind::Config);
        assert_eq!(f("hideClipboard {12}", "Name: x", true), BlockKind::Output);
        assert_eq!(
            f("shell title=\"Example\"", "docker push x", false),
            BlockKind::Example
        );
        assert_eq!(
            f("shell title=\"Example\"", "BASE_IMAGE=x", false),
            BlockKind::Example
        );
        assert_eq!(f("text", "anything", false), BlockKind::Output);
        assert_eq!(f("bash kind=output", "kubectl", false), BlockKind::Output);
    }
}
