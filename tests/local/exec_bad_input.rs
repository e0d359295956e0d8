//! Whatever a runbook holds, the engine's pure parts never panic: the lexer, the classifier,
//! placeholder filling and masking, the judge's normaliser, the line splitter.

use std::time::Duration;

use proptest::prelude::*;
use runbook::exec::judge::{compare_output, normalise_line};
use runbook::exec::output::{Limits, LineSplitter, OutputBuffer, Stream};
use runbook::exec::vars::{Origin, Vars};
use runbook::exec::{classify, shell};

fn shellish() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just("$(".to_owned()),
        Just("`".to_owned()),
        Just(")".to_owned()),
        Just("<<EOF\n".to_owned()),
        Just("<<-'E'\n".to_owned()),
        Just("\nEOF\n".to_owned()),
        Just("\\".to_owned()),
        Just("${".to_owned()),
        Just("$'".to_owned()),
        Just(" | ".to_owned()),
        Just(" && ".to_owned()),
        Just("; ".to_owned()),
        Just("# ".to_owned()),
        Just("<x-y>".to_owned()),
        Just("[a_b]".to_owned()),
        Just("****".to_owned()),
        Just("kubectl delete ".to_owned()),
        Just("sudo -i ".to_owned()),
        Just("case a in b) ".to_owned()),
        Just("f() { ".to_owned()),
        Just("2>".to_owned()),
        Just("é".to_owned()),
        "[ -~]{0,6}",
        any::<String>(),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn lexer_and_classifier_never_panic(text in shellish()) {
        let script = shell::parse(&text);
        for r in &script.regions {
            prop_assert!(r.start <= r.end && r.end <= text.len());
        }
        let _ = classify(&text);
    }

    #[test]
    fn filling_and_masking_never_panic(text in shellish(), value in any::<String>(), secret in "[a-z0-9]{6,12}") {
        let mut vars = Vars::new();
        for p in Vars::placeholders(&text) {
            vars.set(&p.name, value.clone(), Origin::Cli);
        }
        let _ = vars.fill(&text);
        let _ = vars.mask(&text);
        // Once a value is secret, no display string shows it, wherever it came from.
        vars.set_secret("token", secret.clone(), Origin::Cli);
        for p in Vars::placeholders(&text) {
            vars.set_secret(&p.name, secret.clone(), Origin::Cli);
        }
        if let Ok(filled) = vars.fill(&text) {
            prop_assert!(!filled.display.contains(&secret), "{}", filled.display);
        }
        let joined = text.clone() + &secret;
        let masked = vars.mask(&joined).into_owned();
        prop_assert!(!masked.contains(&secret));
    }

    #[test]
    fn output_handling_never_panics(chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..20), expected in any::<String>()) {
        let mut splitter = LineSplitter::default();
        let mut buffer = OutputBuffer::new(Limits { head_lines: 3, head_bytes: 64, tail_bytes: 128, tail_lines: 5 });
        for c in &chunks {
            splitter.feed(c, &mut |bytes, progress| if !progress { buffer.push(Stream::Stdout, Duration::ZERO, bytes) });
        }
        splitter.finish(&mut |bytes| buffer.push(Stream::Stdout, Duration::ZERO, bytes));
        let text = buffer.text(Stream::Stdout);
        let _ = normalise_line(&expected);
        let _ = compare_output(Some(&expected), &text);
    }
}
