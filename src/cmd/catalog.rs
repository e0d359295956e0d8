//! `runbook list`, `runbook show` and `runbook lint`: the catalog as text or JSON, one
//! scenario's steps, and the problems found in runbook files.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use color_eyre::eyre::{Result, bail};
use serde_json::json;

use crate::cli::{LintArgs, ListArgs, ShowArgs};
use crate::runbook::{Catalog, Runbook, Severity};

pub fn list(args: &ListArgs) -> Result<ExitCode> {
    let catalog = crate::target::load_catalog(&args.paths, !args.no_bundled);
    let mut out = std::io::stdout().lock();
    if args.json {
        let runbooks: Vec<_> = catalog
            .runbooks
            .iter()
            .map(|r| {
                json!({
                    "id": r.id,
                    "path": r.path,
                    "title": r.title,
                    "tags": r.front_matter.tags,
                    "origin": r.fetched.as_ref().map(|f| json!({"url": f.url, "fetched_at": f.fetched_at})),
                    "scenarios": r.scenarios.iter().map(|s| json!({"id": s.id, "title": s.title})).collect::<Vec<_>>(),
                })
            })
            .collect();
        serde_json::to_writer(&mut out, &json!({ "runbooks": runbooks }))?;
        writeln!(out)?;
    } else {
        for r in &catalog.runbooks {
            let origin = r.fetched.as_ref().map_or_else(
                || r.path.display().to_string(),
                crate::fetch::describe_origin,
            );
            writeln!(out, "{}  {}  ({origin})", r.id, r.title)?;
            for s in &r.scenarios {
                writeln!(out, "  {}  {}", s.id, s.title)?;
            }
        }
    }
    for err in catalog
        .diagnostics()
        .filter(|d| d.severity == Severity::Error)
    {
        eprintln!("{err}");
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
        for r in &runbooks {
            if let Some(f) = &r.fetched {
                writeln!(out, "({})", crate::fetch::describe_origin(f))?;
            }
            write!(out, "{}", crate::runbook::outline(r))?;
        }
    }
    out.flush()?;
    // Shown in full, so a fetched runbook at this content may now run.
    for r in &runbooks {
        if let Some(f) = &r.fetched {
            let scenario = (r.id != args.target)
                .then(|| r.scenarios.first().map(|s| s.id.as_str()))
                .flatten();
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
        for f in &findings {
            writeln!(out, "{f}")?;
        }
    }
    let errors = findings.iter().any(|f| f.severity == Severity::Error);
    Ok(if errors {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
