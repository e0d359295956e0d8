//! `runbook diagnose --emit-events`: each match recorded as a Kubernetes Event (core/v1, type
//! `Warning`, reason [`REASON`]) on the object its evidence names ([`super::subject`]), so it
//! shows in `kubectl get events`, `kubectl describe` and Palette's event views. The note names
//! the runbook scenario and the evidence. Only `create` is used: each run adds its own Events
//! (named like the kubelet's, `<object>.<hex time>`), and the API server expires them.
//!
//! Evidence that names no object the check read gets no Event (it is counted as skipped).

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use kube::api::{Api, PostParams};

use super::Report;

/// The Event reason.
pub const REASON: &str = "RunbookMatch";
/// The reporting component.
pub const COMPONENT: &str = "runbook";
/// Longest note (the API server refuses more than 1 KiB... of `message` in events.k8s.io; keep
/// core/v1 the same).
const MAX_MESSAGE: usize = 1024;

/// What `--emit-events` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Emitted {
    pub created: usize,
    /// Evidence that names no object.
    pub skipped: usize,
    /// Why some could not be created (one line each).
    pub failed: Vec<String>,
}

/// The Event for one piece of evidence.
pub fn event(
    scenario: &str,
    evidence: &str,
    subject: &super::subject::ObjectRef,
    now: chrono::DateTime<chrono::Utc>,
) -> Event {
    let mut message = format!("runbook {scenario}: {evidence}");
    if message.len() > MAX_MESSAGE {
        let mut cut = MAX_MESSAGE - 3;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        message.truncate(cut);
        message.push_str("...");
    }
    let nanos = now.timestamp_nanos_opt().unwrap_or_default();
    let namespace = subject
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let instance = std::env::var("HOSTNAME").ok().filter(|h| !h.is_empty());
    Event {
        metadata: ObjectMeta {
            name: Some(format!("{}.{nanos:x}", subject.name)),
            namespace: Some(namespace),
            ..ObjectMeta::default()
        },
        involved_object: ObjectReference {
            api_version: Some(subject.api_version.clone()),
            kind: Some(subject.kind.clone()),
            name: Some(subject.name.clone()),
            namespace: subject.namespace.clone(),
            uid: subject.uid.clone(),
            ..ObjectReference::default()
        },
        reason: Some(REASON.to_owned()),
        message: Some(message),
        type_: Some("Warning".to_owned()),
        source: Some(EventSource {
            component: Some(COMPONENT.to_owned()),
            host: None,
        }),
        reporting_component: Some(COMPONENT.to_owned()),
        reporting_instance: instance,
        action: Some("Diagnose".to_owned()),
        first_timestamp: Some(Time(now_jiff(now))),
        last_timestamp: Some(Time(now_jiff(now))),
        count: Some(1),
        ..Event::default()
    }
}

fn now_jiff(now: chrono::DateTime<chrono::Utc>) -> k8s_openapi::jiff::Timestamp {
    k8s_openapi::jiff::Timestamp::from_nanosecond(i128::from(
        now.timestamp_nanos_opt().unwrap_or_default(),
    ))
    .unwrap_or_default()
}

/// Creates one Event per piece of evidence of every matched scenario.
pub async fn emit(client: &kube::Client, report: &Report) -> Emitted {
    let mut done = Emitted::default();
    let now = chrono::Utc::now();
    for finding in report.results.iter().filter(|f| f.matched) {
        for (i, evidence) in finding.evidence.iter().enumerate() {
            let Some(Some(subject)) = finding.subjects.get(i) else {
                done.skipped += 1;
                continue;
            };
            // A distinct time per Event keeps their names distinct.
            let at = now + chrono::TimeDelta::nanoseconds(i64::try_from(done.created).unwrap_or(0));
            let event = event(&finding.scenario, evidence, subject, at);
            let namespace = event.metadata.namespace.clone().unwrap_or_default();
            let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
            match api.create(&PostParams::default(), &event).await {
                Ok(_) => done.created += 1,
                Err(e) => done.failed.push(super::fetch::describe(
                    &e,
                    &format!("creating an Event in namespace {namespace}"),
                )),
            }
        }
    }
    done
}
