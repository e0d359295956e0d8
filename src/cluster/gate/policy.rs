//! What the gate lets through, decided from the method, the path and the headers alone, as
//! data: reads pass, the question-only POSTs pass, connect subresources and upgrades are
//! refused, and every other write is refused (read-only) or becomes a server-side dry run.
//!
//! To let one more question through, add its resource to [`QUESTIONS`]; to refuse one more
//! subresource, add it to [`CONNECT`]. Each decision has a row in the tests below.

use std::fmt::Write as _;

use http::Method;

use super::Mode;

/// What to do with one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Forward it untouched.
    Pass,
    /// Forward it with `dryRun=All`.
    DryRun,
    /// Answer `403 Forbidden` with this message.
    Refuse(String),
}

/// Resources whose POST only asks a question (who am I, may I): nothing is created.
pub const QUESTIONS: &[(&str, &str)] = &[
    ("authorization.k8s.io", "selfsubjectaccessreviews"),
    ("authorization.k8s.io", "selfsubjectrulesreviews"),
    ("authorization.k8s.io", "subjectaccessreviews"),
    ("authorization.k8s.io", "localsubjectaccessreviews"),
    ("authentication.k8s.io", "selfsubjectreviews"),
    ("authentication.k8s.io", "tokenreviews"),
];

/// Subresources that open a stream into a workload or act on it directly: refused in every
/// mode (a dry run cannot send them either, they would act for real).
pub const CONNECT: &[&str] = &["exec", "attach", "portforward", "proxy", "eviction"];

/// Subresources a dry run refuses although they are plain writes: they hand out something
/// real (a token) whatever `dryRun` says.
pub const NOT_IN_DRY_RUN: &[&str] = &["token"];

/// The parts of an API path runbook cares about.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Target<'a> {
    /// `""` for the core group.
    pub group: &'a str,
    pub namespace: Option<&'a str>,
    pub resource: Option<&'a str>,
    pub name: Option<&'a str>,
    pub subresource: Option<&'a str>,
}

/// Reads `/api/v1/namespaces/ns/pods/x/exec` and `/apis/apps/v1/deployments` into a
/// [`Target`]; other paths (discovery, `/version`, `/openapi/v3`) have no resource.
pub fn target(path: &str) -> Target<'_> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (group, rest) = match segs.as_slice() {
        ["api", _version, rest @ ..] => ("", rest),
        ["apis", group, _version, rest @ ..] => (*group, rest),
        _ => return Target::default(),
    };
    let mut t = Target {
        group,
        ..Target::default()
    };
    let rest = match rest {
        // `/api/v1/namespaces/ns/pods/...`; `/api/v1/namespaces/ns` and its `status` and
        // `finalize` are the namespace itself.
        ["namespaces", ns, resource, more @ ..]
            if !(more.is_empty() && matches!(*resource, "status" | "finalize")) =>
        {
            t.namespace = Some(ns);
            let mut r = vec![*resource];
            r.extend_from_slice(more);
            r
        }
        other => other.to_vec(),
    };
    t.resource = rest.first().copied();
    t.name = rest.get(1).copied();
    t.subresource = rest.get(2).copied();
    t
}

/// Decides one request. `upgrade`: it asks to switch protocols (SPDY, WebSocket).
pub fn decide(method: &Method, path: &str, upgrade: bool, mode: Mode) -> Decision {
    let t = target(path);
    let what = describe(method, &t, path);
    if upgrade {
        return Decision::Refuse(format!(
            "runbook's {} mode refuses {what}: it opens a stream into the cluster (exec, attach, port-forward)",
            mode.label()
        ));
    }
    // `/api/v1/proxy/...` (the old proxy path) and every connect subresource.
    let old_proxy = t.resource == Some("proxy");
    if let Some(sub) = t
        .subresource
        .filter(|s| CONNECT.contains(s))
        .or(old_proxy.then_some("proxy"))
    {
        return Decision::Refuse(format!(
            "runbook's {} mode refuses {what}: {sub} acts on the workload directly, and cannot be checked or dry-run",
            mode.label()
        ));
    }
    if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
        return Decision::Pass;
    }
    if *method == Method::POST
        && t.name.is_none()
        && QUESTIONS
            .iter()
            .any(|(g, r)| t.group == *g && t.resource == Some(*r))
    {
        return Decision::Pass;
    }
    if !matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    ) {
        return Decision::Refuse(format!(
            "runbook's {} mode refuses {what}: an unknown method",
            mode.label()
        ));
    }
    match mode {
        Mode::ReadOnly => Decision::Refuse(format!(
            "runbook is in read-only mode: it refuses {what} at the API; nothing was changed"
        )),
        Mode::DryRun if t.subresource.is_some_and(|s| NOT_IN_DRY_RUN.contains(&s)) => {
            Decision::Refuse(format!(
                "runbook's dry run refuses {what}: it would hand out a real credential"
            ))
        }
        Mode::DryRun => Decision::DryRun,
    }
}

/// `delete of pods "x" in namespace "default"`, for messages.
fn describe(method: &Method, t: &Target<'_>, path: &str) -> String {
    let verb = match *method {
        Method::GET => "get",
        Method::POST => "create",
        Method::PUT => "update",
        Method::PATCH => "patch",
        Method::DELETE => "delete",
        _ => method.as_str(),
    };
    let Some(resource) = t.resource else {
        return format!("{} {path}", method.as_str());
    };
    let mut out = format!("{verb} of {resource}");
    if let Some(sub) = t.subresource {
        out = format!("{verb} of {resource}/{sub}");
    }
    if let Some(name) = t.name {
        let _ = write!(out, " \"{name}\"");
    }
    if let Some(ns) = t.namespace {
        let _ = write!(out, " in namespace \"{ns}\"");
    }
    out
}

/// `query` with every `dryRun` parameter replaced by `dryRun=All`.
pub fn with_dry_run(query: Option<&str>) -> String {
    let mut out: Vec<(String, String)> =
        form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .filter(|(k, _)| k != "dryRun")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    out.push(("dryRun".to_owned(), "All".to_owned()));
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(out)
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RO: Mode = Mode::ReadOnly;
    const DRY: Mode = Mode::DryRun;

    fn d(method: &str, path: &str, mode: Mode) -> Decision {
        let m = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
        decide(&m, path, false, mode)
    }

    #[test]
    fn paths() {
        let t = target("/api/v1/namespaces/ns/pods/x/exec");
        assert_eq!(
            t,
            Target {
                group: "",
                namespace: Some("ns"),
                resource: Some("pods"),
                name: Some("x"),
                subresource: Some("exec")
            }
        );
        let t = target("/apis/apps/v1/namespaces/ns/deployments");
        assert_eq!(
            (t.group, t.resource, t.name),
            ("apps", Some("deployments"), None)
        );
        let t = target("/api/v1/namespaces/ns");
        assert_eq!((t.resource, t.name), (Some("namespaces"), Some("ns")));
        let t = target("/api/v1/namespaces/ns/finalize");
        assert_eq!(
            (t.resource, t.name, t.subresource),
            (Some("namespaces"), Some("ns"), Some("finalize"))
        );
        let t = target("/api/v1/nodes/n1/proxy/metrics");
        assert_eq!((t.resource, t.subresource), (Some("nodes"), Some("proxy")));
        assert_eq!(target("/openapi/v3"), Target::default());
    }

    #[test]
    fn reads_pass_in_both_modes() {
        for mode in [RO, DRY] {
            for (m, p) in [
                ("GET", "/api/v1/pods"),
                ("GET", "/api/v1/namespaces/ns/pods/x/log"),
                ("GET", "/apis"),
                ("GET", "/openapi/v3/apis/apps/v1"),
                ("HEAD", "/version"),
                ("GET", "/api/v1/namespaces/exec"),
                ("GET", "/api/v1/namespaces/ns/pods/exec"),
            ] {
                assert_eq!(d(m, p, mode), Decision::Pass, "{m} {p}");
            }
        }
    }

    #[test]
    fn questions_pass_writes_do_not() {
        for mode in [RO, DRY] {
            assert_eq!(
                d(
                    "POST",
                    "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                    mode
                ),
                Decision::Pass
            );
            assert_eq!(
                d(
                    "POST",
                    "/apis/authentication.k8s.io/v1/selfsubjectreviews",
                    mode
                ),
                Decision::Pass
            );
        }
        for (m, p) in [
            ("POST", "/api/v1/namespaces/ns/pods"),
            ("PUT", "/api/v1/namespaces/ns/configmaps/c"),
            ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale"),
            ("DELETE", "/api/v1/namespaces/ns/pods/x"),
            ("DELETE", "/api/v1/namespaces/ns/pods"),
            (
                "POST",
                "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews/x",
            ),
        ] {
            assert!(matches!(d(m, p, RO), Decision::Refuse(_)), "{m} {p}");
            assert_eq!(d(m, p, DRY), Decision::DryRun, "{m} {p}");
        }
        let Decision::Refuse(msg) = d("DELETE", "/api/v1/namespaces/default/pods/x", RO) else {
            panic!("refused")
        };
        assert_eq!(
            msg,
            "runbook is in read-only mode: it refuses delete of pods \"x\" in namespace \"default\" at the API; nothing was changed"
        );
    }

    #[test]
    fn connect_subresources_and_upgrades_are_refused_in_every_mode() {
        for mode in [RO, DRY] {
            for (m, p) in [
                ("POST", "/api/v1/namespaces/ns/pods/x/exec"),
                ("GET", "/api/v1/namespaces/ns/pods/x/exec"),
                ("POST", "/api/v1/namespaces/ns/pods/x/attach"),
                ("POST", "/api/v1/namespaces/ns/pods/x/portforward"),
                ("GET", "/api/v1/namespaces/ns/services/https:s:443/proxy/"),
                ("GET", "/api/v1/nodes/n/proxy/metrics"),
                ("GET", "/api/v1/proxy/namespaces/ns/pods/x"),
                ("POST", "/api/v1/namespaces/ns/pods/x/eviction"),
            ] {
                assert!(matches!(d(m, p, mode), Decision::Refuse(_)), "{m} {p}");
            }
            assert!(matches!(
                decide(&Method::GET, "/api/v1/pods", true, mode),
                Decision::Refuse(_)
            ));
        }
        assert!(matches!(
            d(
                "POST",
                "/api/v1/namespaces/ns/serviceaccounts/sa/token",
                DRY
            ),
            Decision::Refuse(_)
        ));
        assert!(matches!(
            d("CONNECT", "/api/v1/pods", DRY),
            Decision::Refuse(_)
        ));
    }

    #[test]
    fn dry_run_replaces_any_dry_run_parameter() {
        assert_eq!(with_dry_run(None), "dryRun=All");
        assert_eq!(
            with_dry_run(Some("fieldManager=kubectl&dryRun=&dryRun=x")),
            "fieldManager=kubectl&dryRun=All"
        );
    }
}
