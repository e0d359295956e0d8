//! Fuzz the runbook parser: any bytes must parse without a panic, and the model must serialise.
//! Run: `cargo fuzz run parse` (seed corpus: `tests/fixtures/mdx` and `runbooks/`).
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let runbook = runbook::runbook::parse(data, Path::new("fuzz.md"));
    let _ = serde_json::to_vec(&runbook);
    for finding in runbook::lint::lint_runbook(&runbook, runbook::lint::Options::default()) {
        assert!(finding.line >= 1);
    }
});
