//! Placeholder values reach the command as exactly themselves: real bash runs the filled-in
//! command and prints the value back, for a list of injection payloads and a property test.

use std::process::Command;

use proptest::prelude::*;
use runbook::exec::vars::{FillError, Origin, Vars};

/// Templates: (command with `<x>`, text expected before the value, after it, and whether
/// command substitution strips trailing newlines from the value).
const TEMPLATES: &[(&str, &str, &str, bool)] = &[
    ("printf '%s' <x>", "", "", false),
    ("printf '%s' \"pre<x>post\"", "pre", "post", false),
    (
        "printf '%s' '{\"password\": \"<x>\"}'",
        "{\"password\": \"",
        "\"}",
        false,
    ),
    ("printf '%s' $'a<x>b'", "a", "b", false),
    ("printf '%s' \"$BASE_URL/<x>\"", "/base/", "", false),
    ("cat <<EOF\npre<x>post\nEOF", "pre", "post\n", false),
    ("cat <<'EOF'\n<x>\nEOF", "", "\n", false),
    ("cat <<$'EOF'\n<x>\nEOF", "", "\n", false),
    ("cat <<\"EOF\"\n<x>\nEOF", "", "\n", false),
    ("printf '%s' \"$(printf '%s' <x>)\"", "", "", true),
    ("printf '%s' \"$(printf '%s' \"<x>\")\"", "", "", true),
    ("printf '%s' \"`printf '%s' <x>`\"", "", "", true),
    ("x=<x>; printf '%s' \"$x\"", "", "", false),
    ("printf '%s' --kubeconfig=<x>", "--kubeconfig=", "", false),
    // Inside double quotes `$'` is a dollar and a quote, not an ANSI-C string.
    ("printf '%s' \"$'<x>'\"", "$'", "'", false),
    // Parameter-expansion operands.
    ("printf '%s' \"${UNSET_NAME:-<x>}\"", "", "", false),
    // Commands that parse their text a second time: a plain value round-trips, any other
    // is refused (see `refused`).
    ("bash -c \"printf '%s' <x>\"", "", "", false),
    ("eval \"printf '%s' <x>\"", "", "", false),
    ("echo | xargs sh -c 'printf %s <x>'", "", "", false),
];

/// May `template` refuse `value`? Heredoc terminators, and anything but a plain word where
/// the text is parsed again or sits in a `${…}` operand.
fn refused(template: &str, value: &str) -> bool {
    let reparsed = ["bash -c", "eval ", "sh -c", "${"]
        .iter()
        .any(|c| template.contains(c));
    template.contains("<<") || (reparsed && !runbook::exec::reparse::is_plain(value))
}

const PAYLOADS: &[&str] = &[
    // Found by proptest: a double quote inside backquotes inside double quotes.
    "\"{<(",
    "",
    "plain",
    "two words",
    "'",
    "\"",
    "'\"'\"'",
    "$(touch /tmp/runbook-pwned)",
    "`touch /tmp/runbook-pwned`",
    "; touch /tmp/runbook-pwned",
    "&& touch /tmp/runbook-pwned",
    "| touch /tmp/runbook-pwned",
    "a\nb",
    "line\ntouch /tmp/runbook-pwned\n",
    "\n",
    "*",
    "?",
    "[a-z]*",
    "~",
    "~root",
    "\\",
    "\\\\",
    "\\'",
    "\\\"",
    "$HOME",
    "${HOME}",
    "$'\\x41'",
    "!",
    "!!",
    "{a,b}",
    "#not a comment",
    "a # b",
    "\t tab",
    "trailing space ",
    "-n",
    "--",
    "ünïcødé ✓",
    "EOF",
    "x\nEOFX\n",
    "}'",
    "'}",
    "\"}\"",
    "<(touch /tmp/runbook-pwned)",
    ">/tmp/runbook-pwned",
];

fn bash(script: &str) -> Vec<u8> {
    let out = Command::new("bash")
        .arg("-c")
        .arg(script)
        .env("BASE_URL", "/base")
        .output()
        .unwrap_or_else(|e| panic!("bash: {e}"));
    out.stdout
}

/// Runs every template with `value`, in one bash, separated by NUL bytes.
fn check(value: &str) -> Result<(), String> {
    let mut vars = Vars::new();
    vars.set("x", value, Origin::Cli);
    let mut script = String::new();
    let mut expected = Vec::new();
    for (template, pre, post, strips) in TEMPLATES {
        let filled = match vars.fill(template) {
            Ok(f) => f.script,
            // Refusing is safe; only where `refused` allows it.
            Err(FillError::Unrepresentable { .. }) if refused(template, value) => continue,
            Err(e) => return Err(format!("{template}: {e}")),
        };
        script.push_str(&filled);
        script.push_str("\nprintf '\\0'\n");
        let v = if *strips {
            value.trim_end_matches('\n')
        } else {
            value
        };
        expected.extend_from_slice(format!("{pre}{v}{post}").as_bytes());
        expected.push(0);
    }
    let got = bash(&script);
    if got == expected {
        Ok(())
    } else {
        Err(format!(
            "value {value:?}\nscript:\n{script}\nexpected {:?}\ngot      {:?}",
            String::from_utf8_lossy(&expected),
            String::from_utf8_lossy(&got)
        ))
    }
}

#[test]
fn injection_payloads_are_one_word() {
    let _ = std::fs::remove_file("/tmp/runbook-pwned");
    let failures: Vec<String> = PAYLOADS.iter().filter_map(|p| check(p).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert!(
        !std::path::Path::new("/tmp/runbook-pwned").exists(),
        "a payload ran"
    );
}

/// Arithmetic evaluates array subscripts (`a[$(cmd)]` runs cmd) whatever the quoting: only a
/// number goes in, from `--var`, a prompt or a captured value alike.
#[test]
fn arithmetic_takes_only_numbers() {
    let templates = [
        "printf '%s' $(( <x> + 1 ))",
        "(( <x> > 0 )) && printf '%s' yes",
        "printf '%s' $[ <x> + 1 ]",
        "printf '%s' \"$(( <x> * 2 ))\"",
    ];
    let _ = std::fs::remove_file("/tmp/runbook-pwned-arith");
    let hostile = [
        "a[$(touch /tmp/runbook-pwned-arith)]",
        "x[`touch /tmp/runbook-pwned-arith`]",
        "1 + a[$(touch /tmp/runbook-pwned-arith)]",
        "replicas",
        "",
        "1;touch /tmp/runbook-pwned-arith",
    ];
    for origin in [Origin::Cli, Origin::Prompt, Origin::Step] {
        for value in hostile {
            let mut vars = Vars::new();
            vars.set("x", value, origin);
            for t in templates {
                match vars.fill(t) {
                    Err(FillError::Unrepresentable { why, .. }) => {
                        assert!(why.contains("arithmetic"), "{why}");
                    }
                    other => panic!("{t} with {value:?} from {origin:?}: {other:?}"),
                }
            }
        }
    }
    let mut vars = Vars::new();
    vars.set("x", "41", Origin::Step);
    let script: Vec<String> = templates
        .iter()
        .map(|t| {
            vars.fill(t)
                .map_or_else(|e| panic!("{t}: {e}"), |f| f.script)
        })
        .collect();
    let out = bash(&script.join("; printf ' '; "));
    assert_eq!(String::from_utf8_lossy(&out), "42 yes 42 82");
    assert!(!std::path::Path::new("/tmp/runbook-pwned-arith").exists());
}

#[test]
fn heredoc_terminator_is_refused() {
    let mut vars = Vars::new();
    vars.set("x", "a\nEOF\nrm -rf /tmp/x", Origin::Cli);
    assert!(matches!(
        vars.fill("cat <<EOF\n<x>\nEOF"),
        Err(FillError::Unrepresentable { .. })
    ));
}

fn value() -> impl Strategy<Value = String> {
    let special = prop_oneof![
        Just('\''),
        Just('"'),
        Just('\\'),
        Just('$'),
        Just('`'),
        Just('('),
        Just(')'),
        Just(';'),
        Just('\n'),
        Just('*'),
        Just('!'),
        Just('{'),
        Just('}'),
        Just(' '),
        Just('#'),
        Just('~'),
    ];
    let any_char = any::<char>().prop_filter("no NUL", |c| *c != '\0');
    prop::collection::vec(prop_oneof![3 => special, 1 => any_char], 0..24)
        .prop_map(|cs| cs.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]
    #[test]
    fn any_value_is_exactly_one_word(v in value()) {
        if let Err(e) = check(&v) {
            prop_assert!(false, "{}", e);
        }
    }
}
