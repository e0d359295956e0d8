//! The job controller: a Job gets the selector and labels the server gives it, runs up to
//! `parallelism` pods at a time until `completions` of them have succeeded, then is
//! `Complete` (with `SuccessCriteriaMet`, as v1.32 says it). A `CronJob`'s Job (`kubectl create
//! job --from=cronjob/x`) is an ordinary Job owned by the `CronJob`.

use serde_json::{Value, json};

use super::{Ctx, active, condition, key_of, kubelet, owned, ready, set_status, uid};
use crate::lab::clock::{now, timestamp};
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
    let complete = old["conditions"].as_array().is_some_and(|cs| {
        cs.iter()
            .any(|c| c["type"] == "Complete" && c["status"] == "True")
    });
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

/// A `CronJob`'s status follows its Jobs: the running ones in `active`, the last success in
/// `lastSuccessfulTime`. (Runs on its schedule are not simulated: `kubectl create job --from`
/// starts one.)
pub(super) fn cron_job(inner: &mut Inner, cron: &Value) {
    let ns = super::namespace(cron).to_owned();
    let jobs = owned(inner, "Job", &ns, cron);
    let done = |j: &Value| {
        j["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                matches!(c["type"].as_str(), Some("Complete" | "Failed")) && c["status"] == "True"
            })
        })
    };
    let active: Vec<Value> = jobs
        .iter()
        .filter(|j| !done(j))
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
    set_status(inner, cron, status);
}
