//! `runbook sessions`, `runbook report` and `runbook export`: saved runs listed, pruned,
//! turned into a transcript, and scenarios as copy-paste checklists.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use color_eyre::eyre::Result;
use serde_json::json;

use crate::cli::{ExportArgs, ReportArgs, ReportFormat, SessionsArgs};

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
        if args.json {
            serde_json::to_writer(&mut out, &json!({ "removed": removed }))?;
            writeln!(out)?;
        } else {
            writeln!(out, "removed {} session(s)", removed.len())?;
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
                    "started": r.started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
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
    for (_, r) in &all {
        let (done, total) = r.progress();
        writeln!(
            out,
            "{}  {}  {}  started {}  {done}/{total} {}  last {}",
            r.id,
            r.scenario,
            r.context.as_ref().map_or("-", |c| c.name.as_str()),
            r.started.format("%Y-%m-%d %H:%M"),
            r.status.as_str(),
            r.updated.format("%Y-%m-%d %H:%M"),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn report(args: &ReportArgs) -> Result<ExitCode> {
    use crate::session::{report, store};
    let (store, record) = store::find(&sessions_root()?, &args.session)?;
    let redactor = report::redactor(&[]);
    let text = match args.format {
        ReportFormat::Md => report::markdown(&store, &record, &redactor),
        ReportFormat::Json => {
            let mut s = serde_json::to_string_pretty(&report::json(&store, &record, &redactor))?;
            s.push('\n');
            s
        }
    };
    write_out(args.output.as_deref(), &text)
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
    for (name, doc) in &runbook.front_matter.placeholders {
        if doc.secret {
            vars.mark_secret(name);
        }
    }
    let text = crate::session::export::checklist(&runbook, &scenario, procedure, &vars);
    write_out(args.output.as_deref(), &text)
}

/// To FILE (atomically) or standard output.
pub fn write_out(path: Option<&Path>, text: &str) -> Result<ExitCode> {
    match path {
        Some(p) => crate::session::store::write_atomic(p, text.as_bytes())?,
        None => std::io::stdout().lock().write_all(text.as_bytes())?,
    }
    Ok(ExitCode::SUCCESS)
}
