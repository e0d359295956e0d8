//! The `runbook fetch` command: options from flags and config, the fetch, one line per URL,
//! and the parse diagnostics of every fetched runbook.
//!
//! To print something more per URL: add it to [`crate::fetch::Outcome`] (JSON follows) and to
//! [`line`].

use std::io::Write;
use std::process::ExitCode;

use serde_json::json;

use crate::cli::FetchArgs;
use crate::config::Config;
use crate::fetch::cache::{Cache, Kind, age};
use crate::fetch::{Options, Outcome, Status};
use crate::runbook::Severity;

pub type Error = Box<dyn std::error::Error + Send + Sync>;

pub fn run(args: &FetchArgs) -> Result<ExitCode, Error> {
    let config = Config::load(crate::config::path().as_deref())?;
    let urls = if args.urls.is_empty() {
        config.sources.clone()
    } else {
        args.urls.clone()
    };
    if urls.is_empty() {
        return Err(
            "no URL given and no `sources` in the config file (`runbook config --path` \
                    shows where it is)"
                .into(),
        );
    }
    let timeout = crate::duration::parse(&args.timeout)
        .ok_or_else(|| format!("--timeout {}: use a duration like 30s or 2m", args.timeout))?;
    let options = Options {
        allow_http: args.allow_http,
        ca_cert: args.ca_cert.clone().or(config.ca_cert.clone()),
        timeout,
        max_bytes: config
            .fetch_max_bytes
            .unwrap_or(crate::fetch::DEFAULT_MAX_BYTES),
        max_index_entries: config
            .fetch_max_index_entries
            .unwrap_or(crate::fetch::DEFAULT_MAX_INDEX_ENTRIES),
    };
    let cache = Cache::default_location().ok_or("no home folder, so no cache folder")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let outcomes = runtime.block_on(crate::fetch::fetch(&urls, &options, &cache));

    // The ids to name in each line: the catalog as every other command sees it.
    let catalog = crate::target::load_catalog(&config.paths, true);
    let id_of = |o: &Outcome| {
        catalog
            .runbooks
            .iter()
            .find(|r| r.fetched.as_ref().is_some_and(|f| f.url == o.url))
            .map(|r| r.id.clone())
    };
    let mut out = std::io::stdout().lock();
    if args.json {
        let results: Vec<_> = outcomes
            .iter()
            .map(|o| {
                let mut value = serde_json::to_value(o).unwrap_or_default();
                if let Some(map) = value.as_object_mut() {
                    map.insert("id".to_owned(), json!(id_of(o)));
                }
                value
            })
            .collect();
        serde_json::to_writer(&mut out, &json!({ "results": results }))?;
        writeln!(out)?;
    } else {
        for o in &outcomes {
            writeln!(out, "{}", line(o, id_of(o).as_deref()))?;
        }
    }
    // A fetched file is checked like any other runbook; diagnostics name the URL and line.
    for o in &outcomes {
        if o.kind != Some(Kind::Runbook) || matches!(o.status, Status::Failed { .. }) {
            continue;
        }
        let Some(bytes) = o.path.as_ref().and_then(|p| std::fs::read(p).ok()) else {
            continue;
        };
        let parsed = crate::runbook::parse(&bytes, std::path::Path::new(&o.url));
        for d in parsed
            .warnings()
            .iter()
            .filter(|d| d.severity == Severity::Error)
        {
            eprintln!("{d}");
        }
        if parsed.scenarios.is_empty() {
            eprintln!("{}: no scenario in it; is this a runbook?", o.url);
        }
    }
    Ok(if outcomes.iter().any(Outcome::is_lost) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// One line of the text report, e.g. `unchanged  calico-ipv6  https://h/calico-ipv6.md`.
pub fn line(o: &Outcome, id: Option<&str>) -> String {
    let what = match (o.kind, id) {
        (Some(Kind::Index), _) => "index".to_owned(),
        (_, Some(id)) => id.to_owned(),
        _ => "-".to_owned(),
    };
    let indent = if o.index.is_some() { "  " } else { "" };
    match &o.status {
        Status::Fetched => format!("{indent}fetched    {what}  {}", o.url),
        Status::Unchanged => format!("{indent}unchanged  {what}  {} (304)", o.url),
        Status::Offline { age_secs, reason } => format!(
            "{indent}offline    {what}  {}: using the copy fetched {} ({reason})",
            o.url,
            age(*age_secs)
        ),
        Status::Failed {
            reason,
            cached_age_secs: Some(secs),
        } => format!(
            "{indent}failed     {what}  {}: {reason}; keeping the copy fetched {}",
            o.url,
            age(*secs)
        ),
        Status::Failed {
            reason,
            cached_age_secs: None,
        } => format!("{indent}failed     {what}  {}: {reason}", o.url),
    }
}
