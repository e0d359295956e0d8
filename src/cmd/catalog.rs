//! `runbook list`, `runbook show` and `runbook lint`: the catalog as text or JSON, one
//! scenario's steps, and the problems found in runbook files.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use color_eyre::eyre::{Result, bail};
use serde_json::json;

use crate::cli::{LintArgs, ListArgs, ShowArgs};
use crate::runbook::{Catalog, Runbook, Severity};
use crate::sanitize::Sanitizer;

pub fn list(args: &ListArgs) -> Result<ExitCode> {
    let listing = crate::target::load_listing(&args.paths, !args.no_bundled);
    // One lock and one buffer for the whole listing: thousands of lines, one write each
    // through the line-buffered stdout, cost more than building them.
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    if args.json {
        let runbooks: Vec<_> = listing
            .runbooks
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "path": r.path,
                    "title": r.title,
                    "tags": r.tags,
                    "origin": r.fetched.as_ref().map(|f| json!({"url": f.url, "fetched_at": f.fetched_at})),
                    "scenarios": r.scenarios.iter().map(|s| json!({"id": s.id, "title": s.title})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::to_writer(&mut out, &json!({ "runbooks": runbooks }))?;
        writeln!(out)?;
    } else {
        use std::fmt::Write as _;
        let clean = Sanitizer::stdout();
        // Each line is built in the same buffer and cleaned whole.
        let mut line = String::with_capacity(256);
        for r in &listing.runbooks {
            line.clear();
            match &r.fetched {
                Some(f) => write!(
                    line,
                    "{}  {}  ({})",
                    r.id,
                    r.title,
                    crate::fetch::describe_origin(f)
                )?,
                None => write!(line, "{}  {}  ({})", r.id, r.title, r.path.display())?,
            }
            line.push('\n');
            clean.write(&mut out, &line)?;
            for s in &r.scenarios {
                line.clear();
                writeln!(line, "  {}  {}", s.id, s.title)?;
                clean.write(&mut out, &line)?;
            }
        }
    }
    out.flush()?;
    drop(out);
    let clean = Sanitizer::stderr();
    for err in listing.errors() {
        eprintln!("{}", clean.clean(&err.to_string()));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn show(args: &ShowArgs) -> Result<ExitCode> {
    let path = Path::new(&args.target);
    let runbooks: Vec<Runbook> = if path.exists() {
        match crate::runbook::Catalog::load(&[path.to_owned()], false) {
            Catalog { runbooks, errors } if runbooks.is_empty() => {
                bail!(
                    "{}",
                    errors.first().map(ToString::to_string).unwrap_or_default()
                )
            }
            c => c.runbooks,
        }
    } else {
        let catalog = crate::target::load_catalog(&args.paths, true);
        if let Some(r) = catalog.runbook(&args.target) {
            vec![r.clone()]
        } else if let Some((r, s)) = catalog
            .runbooks
            .iter()
            .find_map(|r| r.scenario(&args.target).map(|s| (r, s)))
        {
            let mut only = r.clone();
            only.scenarios = vec![s.clone()];
            vec![only]
        } else {
            bail!(
                "no runbook or scenario `{}`; `runbook list` shows the ids",
                args.target
            )
        }
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &json!({ "runbooks": runbooks }))?;
        writeln!(out)?;
    } else {
        let clean = Sanitizer::stdout();
        for r in &runbooks {
            if let Some(f) = &r.fetched {
                clean.write(
                    &mut out,
                    &format!("({})\n", crate::fetch::describe_origin(f)),
                )?;
                writeln!(
                    out,
                    "(fetched: destructive=false and interactive=false are ignored; they cannot relax the guards)"
                )?;
            }
            clean.write(&mut out, &crate::runbook::outline(r))?;
        }
    }
    out.flush()?;
    // Shown in full on a terminal (someone read it), or accepted by name: a fetched runbook at
    // this content may now run. Output to a file or a pipe is not a review.
    let shown = std::io::IsTerminal::is_terminal(&std::io::stdout()) || args.accept;
    for r in &runbooks {
        if let Some(f) = &r.fetched {
            let scenario = (r.id != args.target)
                .then(|| r.scenarios.first().map(|s| s.id.as_str()))
                .flatten();
            if !shown {
                if !scenario.map_or(f.reviewed, |s| f.is_reviewed(s)) {
                    eprintln!(
                        "runbook: {} is not marked as reviewed: the output is not a terminal; \
                         pass --accept once you have read it",
                        scenario.unwrap_or(&r.id)
                    );
                }
                continue;
            }
            if let Err(e) = crate::fetch::cache::mark_reviewed(&r.path, &f.sha256, scenario) {
                eprintln!("runbook: cannot record that {} was shown: {e}", r.id);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn lint(args: &LintArgs) -> Result<ExitCode> {
    let catalog = if args.paths.is_empty() {
        crate::target::load_catalog(&[], true)
    } else {
        Catalog::load(&args.paths, false)
    };
    let options = crate::lint::Options {
        shellcheck: !args.no_shellcheck,
    };
    let mut findings: Vec<_> = catalog.errors.clone();
    for r in &catalog.runbooks {
        findings.extend(crate::lint::lint_runbook(r, options));
    }
    let mut out = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer(&mut out, &json!({ "findings": findings }))?;
        writeln!(out)?;
    } else {
        let clean = Sanitizer::stdout();
        for f in &findings {
            clean.write(&mut out, &format!("{f}\n"))?;
        }
    }
    let errors = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
