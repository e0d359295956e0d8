//! API errors as Kubernetes `Status` objects (`kind: Status`, `status: Failure`).
//!
//! Every failing request ends up here: handlers return `Result<_, ApiError>` and the server turns
//! the error into the exact JSON a real `kube-apiserver` sends (see the reference exchanges for
//! each constructor). To add an error kind, add a constructor that fills `code`, `reason` and
//! `details` the way the real server does.

use serde_json::{Value, json};

/// One failed API request; rendered with [`ApiError::to_status`].
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code} {reason}: {message}")]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
    pub details: Option<Value>,
}

impl ApiError {
    fn new(code: u16, reason: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            reason,
            message: message.into(),
            details: None,
        }
    }

    #[must_use]
    pub fn with_details(mut self, details: Value) -> Self {
        self.details = Some(details);
        self
    }

    /// `pods "x" not found`, with `details {name, group?, kind: <plural>}`.
    pub fn not_found(group: &str, plural: &str, name: &str) -> Self {
        let resource = qualified(group, plural);
        Self::new(404, "NotFound", format!("{resource} \"{name}\" not found"))
            .with_details(details(name, group, plural))
    }

    /// The route names no resource this server serves.
    pub fn unknown_resource() -> Self {
        Self::new(
            404,
            "NotFound",
            "the server could not find the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn already_exists(group: &str, plural: &str, name: &str) -> Self {
        let resource = qualified(group, plural);
        Self::new(
            409,
            "AlreadyExists",
            format!("{resource} \"{name}\" already exists"),
        )
        .with_details(details(name, group, plural))
    }

    pub fn conflict(group: &str, plural: &str, name: &str) -> Self {
        let resource = qualified(group, plural);
        Self::new(
            409,
            "Conflict",
            format!(
                "Operation cannot be fulfilled on {resource} \"{name}\": the object has been \
                 modified; please apply your changes to the latest version and try again"
            ),
        )
        .with_details(details(name, group, plural))
    }

    /// A server-side apply that would take fields another manager owns (`details.causes[]`
    /// names each field and its manager).
    pub fn apply_conflict(message: impl Into<String>, details: Value) -> Self {
        Self::new(409, "Conflict", message).with_details(details)
    }

    /// An eviction that a `PodDisruptionBudget` forbids: 429 with a `DisruptionBudget` cause.
    pub fn disruption_budget(cause: impl Into<String>) -> Self {
        Self::new(
            429,
            "TooManyRequests",
            "Cannot evict pod as it would violate the pod's disruption budget.",
        )
        .with_details(json!({"causes": [{"reason": "DisruptionBudget", "message": cause.into()}]}))
    }

    pub fn service_unavailable(message: impl Into<String>) -> Self {
        Self::new(503, "ServiceUnavailable", message)
    }

    /// What the real server answers for an error its handlers did not turn into a `Status`:
    /// 500 with no reason, which kubectl prints as `Error from server: <message>`.
    pub fn unclassified(message: impl Into<String>) -> Self {
        Self::new(500, "", message)
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(400, "BadRequest", message)
    }

    /// 422 with one `details.causes[]` entry per `(field, reason, message)`; the message names
    /// the kind qualified by its group (`CronJob.batch "x" is invalid: ...`), as the server's
    /// `NewInvalid` does.
    pub fn invalid(kind: &str, group: &str, name: &str, causes: &[(String, &str, String)]) -> Self {
        let joined: Vec<String> = causes
            .iter()
            .map(|(field, _, msg)| format!("{field}: {msg}"))
            .collect();
        let qualified = qualified(group, kind);
        let message = if joined.len() == 1 {
            format!("{qualified} \"{name}\" is invalid: {}", joined[0])
        } else {
            format!("{qualified} \"{name}\" is invalid: [{}]", joined.join(", "))
        };
        let causes: Vec<Value> = causes
            .iter()
            .map(|(field, reason, msg)| json!({"reason": reason, "message": msg, "field": field}))
            .collect();
        let mut d = json!({"name": name, "kind": kind, "causes": causes});
        if !group.is_empty() {
            d["group"] = json!(group);
        }
        Self::new(422, "Invalid", message).with_details(d)
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(415, "UnsupportedMediaType", "415: Unsupported Media Type")
            .with_details(json!({}))
    }

    pub fn unsupported_patch_for_cr() -> Self {
        Self::new(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: \
             application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
        )
        .with_details(json!({}))
    }

    pub fn not_acceptable() -> Self {
        Self::new(
            406,
            "NotAcceptable",
            "only the following media types are accepted: application/json, application/yaml, \
             application/vnd.kubernetes.protobuf",
        )
    }

    pub fn method_not_allowed() -> Self {
        Self::new(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
        .with_details(json!({}))
    }

    pub fn too_large(limit: usize) -> Self {
        Self::new(
            413,
            "RequestEntityTooLarge",
            format!("Request entity too large: limit is {limit}"),
        )
    }

    pub fn expired(message: impl Into<String>) -> Self {
        Self::new(410, "Expired", message)
    }

    pub fn forbidden_terminating(group: &str, plural: &str, name: &str, ns: &str) -> Self {
        let resource = qualified(group, plural);
        Self::new(
            403,
            "Forbidden",
            format!(
                "{resource} \"{name}\" is forbidden: unable to create new content in namespace \
                 {ns} because it is being terminated"
            ),
        )
        .with_details(details(name, group, plural))
    }

    /// What a server says to a request whose credentials it does not accept.
    /// A request over the per-connection rate (the message is the real server's).
    pub fn too_many_requests() -> Self {
        Self::new(
            429,
            "TooManyRequests",
            "Too many requests, please try again later.",
        )
        .with_details(json!({"retryAfterSeconds": 1}))
    }

    /// An admission plugin's refusal: `pods "x" is forbidden: MESSAGE` (resource quota).
    pub fn forbidden_by_admission(group: &str, plural: &str, name: &str, message: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!(
                "{} \"{name}\" is forbidden: {message}",
                qualified(group, plural)
            ),
        )
        .with_details(details(name, group, plural))
    }

    /// RBAC's refusal: `pods "x" is forbidden: User "u" cannot get resource "pods" in API
    /// group "" in the namespace "n"` (`at the cluster scope` without a namespace).
    pub fn forbidden(
        user: &str,
        verb: &str,
        (group, plural, subresource): (&str, &str, &str),
        name: &str,
        namespace: &str,
    ) -> Self {
        let resource = qualified(group, plural);
        let subject = if name.is_empty() {
            resource
        } else {
            format!("{resource} \"{name}\"")
        };
        let full = if subresource.is_empty() {
            plural.to_owned()
        } else {
            format!("{plural}/{subresource}")
        };
        let scope = if namespace.is_empty() {
            "at the cluster scope".to_owned()
        } else {
            format!("in the namespace \"{namespace}\"")
        };
        let mut d = details(name, group, plural);
        if name.is_empty()
            && let Some(m) = d.as_object_mut()
        {
            m.remove("name");
        }
        Self::new(
            403,
            "Forbidden",
            format!(
                "{subject} is forbidden: User \"{user}\" cannot {verb} resource \"{full}\" in \
                 API group \"{group}\" {scope}"
            ),
        )
        .with_details(d)
    }

    /// RBAC's refusal of a non-resource path.
    pub fn forbidden_path(user: &str, verb: &str, path: &str) -> Self {
        Self::new(
            403,
            "Forbidden",
            format!("forbidden: User \"{user}\" cannot {verb} path \"{path}\""),
        )
        .with_details(json!({}))
    }

    pub fn unauthorized() -> Self {
        Self::new(401, "Unauthorized", "Unauthorized")
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(500, "InternalError", message)
    }

    /// The `Status` object sent as the response body.
    pub fn to_status(&self) -> Value {
        let mut s = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        });
        if self.reason.is_empty() {
            // `StatusReasonUnknown` is the empty string, which the server omits.
            if let Some(m) = s.as_object_mut() {
                m.remove("reason");
            }
        }
        if let Some(d) = &self.details {
            s["details"] = d.clone();
        }
        s
    }
}

/// A resource or kind named with its group, as the server's messages name it (`pods`,
/// `deployments.apps`, `CronJob.batch`).
fn qualified(group: &str, name: &str) -> String {
    if group.is_empty() {
        name.to_owned()
    } else {
        format!("{name}.{group}")
    }
}

fn details(name: &str, group: &str, plural: &str) -> Value {
    if group.is_empty() {
        json!({"name": name, "kind": plural})
    } else {
        json!({"name": name, "group": group, "kind": plural})
    }
}
