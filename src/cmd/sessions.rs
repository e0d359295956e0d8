//! `runbook sessions`, `runbook report` and `runbook export`: saved runs listed, pruned,
//! turned into a transcript, and scenarios as copy-paste checklists.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use color_eyre::eyre::{Result, eyre};
use serde_json::json;

use crate::cli::{ExportArgs, ReportArgs, ReportFormat, SessionsArgs};
use crate::sanitize::Sanitizer;

pub fn sessions_root() -> Result<std::path::PathBuf> {
    crate::session::sessions_dir().ok_or_else(|| crate::session::StoreError::NoDataDir.into())
}

pub fn sessions(args: &SessionsArgs) -> Result<ExitCode> {
    use crate::session::store;
    let root = sessions_root()?;
    let mut out = std::io::stdout().lock();
    if args.prune {
        let age = crate::duration::parse(&args.older_than).ok_or_else(|| {
            color_eyre::eyre::eyre!(
                "--older-than {}: use an age like 30d or 12h",
                args.older_than
            )
        })?;
        let cutoff = chrono::TimeDelta::from_std(age)
            .ok()
            .and_then(|age| chrono::Utc::now().checked_sub_signed(age))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
        let removed = store::prune(&root, cutoff)?;
        let unreadable = crate::session::cleanup::prune_unreadable(&root)?;
        if args.json {
            serde_json::to_writer(
                &mut out,
                &json!({ "removed": removed, "unreadable_removed": unreadable }),
            )?;
            writeln!(out)?;
        } else if unreadable.is_empty() {
            writeln!(out, "removed {} session(s)", removed.len())?;
        } else {
            writeln!(
                out,
                "removed {} session(s) and {} unreadable one(s)",
                removed.len(),
                unreadable.len()
            )?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (all, errors) = store::list(&root);
    for e in &errors {
        eprintln!("runbook: {e}");
    }
    if args.json {
        let sessions: Vec<_> = all
            .iter()
            .map(|(s, r)| {
                let (done, total) = r.progress();
                json!({
                    "id": r.id,
                    "scenario": r.scenario,
                    "context": r.context.as_ref().map(|c| &c.name),
                    "server": r.context.as_ref().and_then(|c| c.server.as_ref()),
                    "started": r.started.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "updated": r.updated.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "status": r.status.as_str(),
                    "done": done,
                    "total": total,
                    "path": s.dir(),
                })
            })
            .collect();
        serde_json::to_writer(&mut out, &json!({ "sessions": sessions }))?;
        writeln!(out)?;
        return Ok(ExitCode::SUCCESS);
    }
    if all.is_empty() {
        writeln!(out, "no sessions yet (in {})", root.display())?;
    }
    let clean = Sanitizer::stdout();
    for (_, r) in &all {
        let (done, total) = r.progress();
        let line = format!(
            "{}  {}  {}  started {}  {done}/{total} {}  last {}\n",
            r.id,
            r.scenario,
            r.context.as_ref().map_or("-", |c| c.name.as_str()),
            r.started.format("%Y-%m-%d %H:%M"),
            r.status.as_str(),
            r.updated.format("%Y-%m-%d %H:%M"),
        );
        clean.write(&mut out, &line)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn report(args: &ReportArgs) -> Result<ExitCode> {
    use crate::session::{report, store};
    if !args.check.is_empty() {
        return check(&args.check);
    }
    let query = args.session.as_deref().unwrap_or("last");
    let (store, record) = store::find(&sessions_root()?, query)?;
    let redactor = report::redactor(&[]);
    let text = match (args.format, args.no_redact) {
        (ReportFormat::Md, false) => report::markdown(&store, &record, &redactor),
        (ReportFormat::Md, true) => report::markdown_unredacted(&store, &record),
        (ReportFormat::Json, no_redact) => {
            let value = if no_redact {
                report::json_unredacted(&store, &record)
            } else {
                report::json(&store, &record, &redactor)
            };
            let mut s = serde_json::to_string_pretty(&value)?;
            s.push('\n');
            s
        }
    };
    write_out(args.output.as_deref(), &text)
}

/// `runbook report --check FILE…`: `FILE:LINE:KIND` per secret found; exit 1 when any.
fn check(files: &[std::path::PathBuf]) -> Result<ExitCode> {
    let clean = Sanitizer::stdout();
    let mut out = std::io::stdout().lock();
    let mut found = false;
    for path in files {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) => {
                eprintln!("runbook: error: {}: {e}", path.display());
                return Ok(ExitCode::from(2));
            }
        };
        let hits = crate::session::redact::check(&String::from_utf8_lossy(&bytes))
            .map_err(|e| eyre!("{e}"))?;
        for hit in hits {
            found = true;
            let line = format!("{}:{}:{}\n", path.display(), hit.line, hit.kind);
            clean.write(&mut out, &line)?;
        }
    }
    Ok(if found {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

pub fn export(args: &ExportArgs) -> Result<ExitCode> {
    let (runbook, scenario) =
        super::run::resolve(&args.target, args.scenario.as_deref(), &args.paths)?;
    let procedure = super::run::pick_procedure(&scenario, args.procedure.as_deref())?;
    let mut vars = crate::exec::vars::Vars::new();
    for assignment in &args.vars {
        let (name, value) = crate::exec::vars::Vars::parse_assignment(assignment)?;
        vars.set(&name, value, crate::exec::vars::Origin::Cli);
    }
    for (name, doc) in &runbook.front_matter().placeholders {
        if doc.secret {
            vars.mark_secret(name);
        }
    }
    let mut text = crate::session::export::checklist(&runbook, &scenario, procedure, &vars);
    if !args.no_redact {
        let secrets: Vec<String> = vars
            .iter()
            .filter(|(_, v)| v.secret)
            .map(|(_, v)| v.value.clone())
            .collect();
        let redactor = crate::session::report::redactor(&secrets);
        text = crate::session::export::redacted(&text, &redactor);
    }
    write_out(args.output.as_deref(), &text)
}

/// To FILE (atomically, readable by its owner only) or standard output; either way with no
/// escape sequence that runbook text or an output could have carried in.
pub fn write_out(path: Option<&Path>, text: &str) -> Result<ExitCode> {
    match path {
        Some(p) => {
            crate::session::store::write_atomic(p, Sanitizer::PLAIN.clean(text).as_bytes())?;
        }
        None => Sanitizer::stdout().write(&mut std::io::stdout().lock(), text)?,
    }
    Ok(ExitCode::SUCCESS)
}
