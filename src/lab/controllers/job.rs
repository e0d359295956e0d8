//! The job and cronjob controllers. A Job gets the selector and labels the server gives it,
//! runs up to `parallelism` pods at a time until `completions` of them have succeeded, then
//! is `Complete` (with `SuccessCriteriaMet`, as v1.32 says it).
//!
//! A `CronJob` makes a Job at each time its `schedule` names (standard five fields or
//! `@hourly`-style, in its `timeZone` or UTC; what a schedule means is `lab::cron`'s), named
//! `<cronjob>-<minutes since the epoch>` and annotated with the scheduled time, as the real
//! controller does: only the latest missed time runs, not before the `CronJob` existed, not
//! past `startingDeadlineSeconds`, never while `suspend`ed; `concurrencyPolicy` `Forbid`
//! skips a time while a Job runs, `Replace` deletes the running ones first. Finished Jobs
//! beyond `successfulJobsHistoryLimit` (3) and `failedJobsHistoryLimit` (1) are deleted,
//! oldest first. A timer wakes the controller at the next scheduled time. `kubectl create
//! job --from=cronjob/x` makes an ordinary Job owned by the `CronJob`.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use super::{
    Ctx, active, condition, key_of, kubelet, name, namespace, owned, owner_ref, ready, record,
    set_status, uid,
};
use crate::lab::clock::{now, parse_ts, timestamp};
use crate::lab::store::Inner;

fn spec_n(job: &Value, field: &str) -> usize {
    job["spec"][field]
        .as_u64()
        .map_or(1, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// The selector and template labels the API server gives a Job without `manualSelector`.
fn with_selector(job: &Value) -> Option<Value> {
    if !job["spec"]["selector"].is_null() || job["spec"]["manualSelector"] == true {
        return None;
    }
    let id = uid(job).to_owned();
    let job_name = job["metadata"]["name"].clone();
    let mut next = job.clone();
    next["spec"]["selector"] = json!({"matchLabels": {"batch.kubernetes.io/controller-uid": id}});
    let labels = &mut next["spec"]["template"]["metadata"]["labels"];
    labels["batch.kubernetes.io/controller-uid"] = json!(id);
    labels["batch.kubernetes.io/job-name"] = job_name.clone();
    labels["controller-uid"] = json!(id);
    labels["job-name"] = job_name;
    // A Job without labels of its own takes its template's.
    if next["metadata"]["labels"]
        .as_object()
        .is_none_or(serde_json::Map::is_empty)
    {
        next["metadata"]["labels"] = next["spec"]["template"]["metadata"]["labels"].clone();
    }
    Some(next)
}

pub(super) fn job(ctx: &mut Ctx, inner: &mut Inner, job: &Value) {
    let mut job = job.clone();
    if let Some(next) = with_selector(&job) {
        inner.put_internal(&key_of(inner, "Job"), next.clone());
        job = next;
    }
    let ns = super::namespace(&job).to_owned();
    let completions = spec_n(&job, "completions");
    let parallelism = spec_n(&job, "parallelism");
    let old = job["status"].clone();
    let complete = has_condition(&job, &["Complete"]);
    let pods = owned(inner, "Pod", &ns, &job);
    let succeeded = pods
        .iter()
        .filter(|p| p["status"]["phase"] == "Succeeded")
        .count()
        .max(usize::try_from(old["succeeded"].as_u64().unwrap_or(0)).unwrap_or(0));
    let running = pods.iter().filter(|p| active(p)).count();
    if !complete && job["spec"]["suspend"] != true {
        let room = parallelism.min(completions.saturating_sub(succeeded));
        for _ in running..room {
            let pod = kubelet::pod_from(
                &job,
                &job["spec"]["template"],
                &format!("{}-", super::name(&job)),
                None,
                &[],
            );
            kubelet::create(ctx, inner, pod);
        }
    }
    let pods = owned(inner, "Pod", &ns, &job);
    let active_n = pods.iter().filter(|p| active(p)).count();
    let ready_n = pods.iter().filter(|p| ready(p)).count();
    let at = timestamp(now());
    let mut status = json!({
        "startTime": old["startTime"].as_str().unwrap_or(&at),
        "ready": ready_n,
        "terminating": 0,
        "uncountedTerminatedPods": {},
    });
    if active_n > 0 {
        status["active"] = json!(active_n);
    }
    if succeeded > 0 {
        status["succeeded"] = json!(succeeded);
    }
    if succeeded >= completions {
        let msg = "Reached expected number of succeeded pods";
        status["completionTime"] = json!(old["completionTime"].as_str().unwrap_or(&at));
        let mut met = condition(
            &old,
            "SuccessCriteriaMet",
            "True",
            "CompletionsReached",
            msg,
        );
        let mut done = condition(&old, "Complete", "True", "CompletionsReached", msg);
        for c in [&mut met, &mut done] {
            if let Some(m) = c.as_object_mut()
                && let Some(t) = m.remove("lastUpdateTime")
            {
                m.insert("lastProbeTime".into(), t);
            }
        }
        status["conditions"] = json!([met, done]);
    }
    set_status(inner, &job, status);
}

/// A `CronJob`: its Job for the latest scheduled time that is due, its history pruned, its
/// status following its Jobs (the running ones in `active`, the last success in
/// `lastSuccessfulTime`), and a timer for its next time.
pub(super) fn cron_job(ctx: &mut Ctx, inner: &mut Inner, cron: &Value) {
    let ns = super::namespace(cron).to_owned();
    let scheduled = run_schedule(ctx, inner, cron);
    prune_history(inner, cron);
    let jobs = owned(inner, "Job", &ns, cron);
    let active: Vec<Value> = jobs
        .iter()
        .filter(|j| !finished(j))
        .map(|j| {
            json!({"kind": "Job", "namespace": ns, "name": j["metadata"]["name"],
                   "uid": j["metadata"]["uid"], "apiVersion": "batch/v1",
                   "resourceVersion": j["metadata"]["resourceVersion"]})
        })
        .collect();
    let last_success = jobs
        .iter()
        .filter_map(|j| j["status"]["completionTime"].as_str())
        .max()
        .map(str::to_owned);
    let mut status = cron["status"].clone();
    if !status.is_object() {
        status = json!({});
    }
    if active.is_empty() {
        if let Some(m) = status.as_object_mut() {
            m.remove("active");
        }
    } else {
        status["active"] = json!(active);
    }
    if let Some(t) = last_success {
        status["lastSuccessfulTime"] = json!(t);
    }
    if let Some(t) = scheduled {
        status["lastScheduleTime"] = json!(timestamp(t));
    }
    set_status(inner, cron, status);
}

/// Makes the Job of the latest due time, if any, and sets a timer for the next one. Returns
/// the time it scheduled.
fn run_schedule(ctx: &mut Ctx, inner: &mut Inner, cron: &Value) -> Option<DateTime<Utc>> {
    let spec = &cron["spec"];
    if spec["suspend"] == true {
        return None;
    }
    let at = now();
    let since = cron["status"]["lastScheduleTime"]
        .as_str()
        .or(cron["metadata"]["creationTimestamp"].as_str())
        .and_then(parse_ts)
        .unwrap_or(at);
    let (due, next) = crate::lab::cron::times(
        spec["schedule"].as_str().unwrap_or_default(),
        spec["timeZone"].as_str(),
        since,
        at,
    )
    .ok()?;
    if let Some(next) = next {
        ctx.wake_cron(inner, uid(cron), next, at);
    }
    let due = due?;
    if let Some(deadline) = spec["startingDeadlineSeconds"].as_i64()
        && at - due > TimeDelta::seconds(deadline)
    {
        return None;
    }
    let ns = namespace(cron).to_owned();
    let running: Vec<Value> = owned(inner, "Job", &ns, cron)
        .into_iter()
        .filter(|j| !finished(j))
        .collect();
    match spec["concurrencyPolicy"].as_str() {
        Some("Forbid") if !running.is_empty() => return None,
        Some("Replace") => {
            for job in &running {
                delete_job(inner, cron, job);
            }
        }
        _ => {}
    }
    let job_name = format!("{}-{}", name(cron), due.timestamp() / 60);
    let template = &spec["jobTemplate"];
    let mut annotations = template["metadata"]["annotations"].clone();
    if !annotations.is_object() {
        annotations = json!({});
    }
    annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] = json!(timestamp(due));
    let job = json!({
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": job_name,
            "namespace": ns,
            "labels": template["metadata"]["labels"],
            "annotations": annotations,
            "ownerReferences": [owner_ref(cron)],
        },
        "spec": template["spec"],
    });
    let rt = inner.find_type_by_kind(Some("batch/v1"), "Job")?;
    inner.create(&rt, &ns, job).ok()?;
    record(
        inner,
        cron,
        "Normal",
        "SuccessfulCreate",
        format!("Created job {job_name}"),
        "cronjob-controller",
    );
    Some(due)
}

/// Whether `job` has a condition of one of `types` that is `True`.
fn has_condition(job: &Value, types: &[&str]) -> bool {
    job["status"]["conditions"].as_array().is_some_and(|cs| {
        cs.iter().any(|c| {
            c["status"] == "True" && c["type"].as_str().is_some_and(|t| types.contains(&t))
        })
    })
}

fn finished(job: &Value) -> bool {
    has_condition(job, &["Complete", "Failed"])
}

/// A `CronJob`'s Job deleted by the cronjob controller (its pods go with it, by garbage
/// collection), with the event the controller records.
fn delete_job(inner: &mut Inner, cron: &Value, job: &Value) {
    inner.remove(&key_of(inner, "Job"), namespace(job), name(job));
    record(
        inner,
        cron,
        "Normal",
        "SuccessfulDelete",
        format!("Deleted job {}", name(job)),
        "cronjob-controller",
    );
}

/// Deletes finished Jobs beyond the history limits, oldest first.
fn prune_history(inner: &mut Inner, cron: &Value) {
    let ns = namespace(cron).to_owned();
    let jobs = owned(inner, "Job", &ns, cron);
    for (failed, limit_field, default) in [
        (false, "successfulJobsHistoryLimit", 3),
        (true, "failedJobsHistoryLimit", 1),
    ] {
        let limit = cron["spec"][limit_field]
            .as_u64()
            .map_or(default, |n| usize::try_from(n).unwrap_or(usize::MAX));
        let mut done: Vec<&Value> = jobs
            .iter()
            .filter(|j| finished(j) && failed_job(j) == failed)
            .collect();
        done.sort_by_key(|j| {
            j["status"]["startTime"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        });
        let extra = done.len().saturating_sub(limit);
        for job in done.into_iter().take(extra) {
            delete_job(inner, cron, job);
        }
    }
}

fn failed_job(job: &Value) -> bool {
    has_condition(job, &["Failed"])
}
