//! Who the lab's user is and what RBAC lets them do: the answers to `SelfSubjectReview`
//! (`kubectl auth whoami`), `SelfSubjectAccessReview` (`kubectl auth can-i`),
//! `SelfSubjectRulesReview` (`kubectl auth can-i --list`) and the other reviews, evaluated
//! against the `Role`, `ClusterRole` and binding objects in the store, as the RBAC authorizer does.
//!
//! The lab's kubeconfig user is kubeadm's admin ([`USER`], in [`GROUPS`]); the RBAC objects a
//! kubeadm cluster starts with are seeded from `assets/lab/_base/rbac.yaml`. A lab started with
//! a restricted user ([`Identity::restricted`], `runbook lab --user restricted`) also knows
//! [`RESTRICTED_USER`], bound by `api/restricted.yaml`; its requests go through [`authorize`],
//! which refuses with the real 403 `Status`. To give a user other rights, change the RBAC
//! objects (through the API or the fixtures).

use serde_json::{Value, json};

use super::resources::ResourceType;
use super::status::ApiError;
use super::store::Store;

/// The user of the lab's kubeconfig, as kubeadm names its admin.
pub const USER: &str = "kubernetes-admin";
/// Its groups.
pub const GROUPS: &[&str] = &["kubeadm:cluster-admins", "system:authenticated"];

/// The restricted user's name (in `system:authenticated` only).
pub const RESTRICTED_USER: &str = "trainee";
/// RBAC objects seeded for the restricted user.
pub const RESTRICTED_RBAC: &str = include_str!("api/restricted.yaml");

/// Who sent a request: the user and groups its token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: Vec<String>,
}

impl Identity {
    /// kubeadm's admin, the lab kubeconfig's default user.
    pub fn admin() -> Self {
        Self {
            user: USER.to_owned(),
            groups: GROUPS.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    /// The restricted user: only what `api/restricted.yaml` and the default roles grant.
    pub fn restricted() -> Self {
        Self {
            user: RESTRICTED_USER.to_owned(),
            groups: vec!["system:authenticated".to_owned()],
        }
    }

    /// A service account, as its token authenticates it: `system:serviceaccount:NS:NAME`, in
    /// `system:serviceaccounts` and its namespace's group.
    pub fn service_account(namespace: &str, name: &str) -> Self {
        Self {
            user: service_account_user(namespace, name),
            groups: vec![
                "system:serviceaccounts".to_owned(),
                format!("system:serviceaccounts:{namespace}"),
                "system:authenticated".to_owned(),
            ],
        }
    }

    fn group_refs(&self) -> Vec<&str> {
        self.groups.iter().map(String::as_str).collect()
    }
}

/// What a request asks to do to a resource, for [`authorize`].
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    pub plural: &'a str,
    pub subresource: &'a str,
    pub name: &'a str,
    /// Empty for cluster-scoped objects and for lists across namespaces.
    pub namespace: &'a str,
}

/// Whether RBAC lets `who` do `r`; the real server's 403 `Status` when not.
pub fn authorize(store: &Store, who: &Identity, r: &Request<'_>) -> Result<(), ApiError> {
    let a = Attributes {
        verb: r.verb.to_owned(),
        group: r.group.to_owned(),
        resource: r.plural.to_owned(),
        subresource: r.subresource.to_owned(),
        name: r.name.to_owned(),
        namespace: r.namespace.to_owned(),
        path: None,
    };
    if decide(store, &who.user, &who.group_refs(), &a).0 {
        return Ok(());
    }
    Err(ApiError::forbidden(
        &who.user,
        r.verb,
        (r.group, r.plural, r.subresource),
        r.name,
        r.namespace,
    ))
}

/// Whether RBAC lets `who` `verb` the non-resource `path` (`/api`, `/version`, ...).
pub fn authorize_path(
    store: &Store,
    who: &Identity,
    verb: &str,
    path: &str,
) -> Result<(), ApiError> {
    let a = Attributes {
        verb: verb.to_owned(),
        path: Some(path.to_owned()),
        ..Attributes::default()
    };
    if decide(store, &who.user, &who.group_refs(), &a).0 {
        return Ok(());
    }
    Err(ApiError::forbidden_path(&who.user, verb, path))
}

/// What is asked: a verb on a resource (group, resource, subresource, name) in a namespace,
/// or a verb on a non-resource path.
#[derive(Debug, Default)]
struct Attributes {
    verb: String,
    group: String,
    resource: String,
    subresource: String,
    name: String,
    namespace: String,
    path: Option<String>,
}

fn strs(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

fn covers(list: &[&str], want: &str) -> bool {
    list.iter().any(|x| *x == "*" || *x == want)
}

fn rule_allows(rule: &Value, a: &Attributes) -> bool {
    if !covers(&strs(&rule["verbs"]), &a.verb) {
        return false;
    }
    if let Some(path) = &a.path {
        return strs(&rule["nonResourceURLs"]).iter().any(|u| {
            *u == "*" || u == path || u.strip_suffix('*').is_some_and(|p| path.starts_with(p))
        });
    }
    let resource = if a.subresource.is_empty() {
        a.resource.clone()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let resources = strs(&rule["resources"]);
    let names = strs(&rule["resourceNames"]);
    covers(&strs(&rule["apiGroups"]), &a.group)
        && (covers(&resources, &resource)
            || (!a.subresource.is_empty()
                && resources.contains(&format!("*/{}", a.subresource).as_str())))
        && (names.is_empty() || names.contains(&a.name.as_str()))
}

/// The user name a service account authenticates as.
pub(crate) fn service_account_user(namespace: &str, name: &str) -> String {
    format!("system:serviceaccount:{namespace}:{name}")
}

fn subject_matches(s: &Value, user: &str, groups: &[&str]) -> bool {
    match s["kind"].as_str() {
        Some("User") => s["name"] == user,
        Some("Group") => s["name"].as_str().is_some_and(|g| groups.contains(&g)),
        Some("ServiceAccount") => {
            user == service_account_user(
                s["namespace"].as_str().unwrap_or_default(),
                s["name"].as_str().unwrap_or_default(),
            )
        }
        _ => false,
    }
}

/// The rules that apply to `user` in `namespace` (cluster-wide ones plus the namespace's),
/// with the binding that grants each (for the review's `reason`).
fn rules_for(store: &Store, user: &str, groups: &[&str], namespace: &str) -> Vec<(Value, String)> {
    let mut out = Vec::new();
    let role_rules = |kind: &str, name: &str, ns: &str| -> Vec<Value> {
        let found = if kind == "ClusterRole" {
            store.get_by_kind("ClusterRole", "", name)
        } else {
            store.get_by_kind("Role", ns, name)
        };
        found
            .and_then(|r| r["rules"].as_array().cloned())
            .unwrap_or_default()
    };
    let mut bindings: Vec<(Value, String)> = store
        .list_by_kind("ClusterRoleBinding", None)
        .into_iter()
        .map(|b| (b, String::new()))
        .collect();
    if !namespace.is_empty() {
        bindings.extend(
            store
                .list_by_kind("RoleBinding", Some(namespace))
                .into_iter()
                .map(|b| (b, namespace.to_owned())),
        );
    }
    for (b, ns) in bindings {
        let Some(subject) = b["subjects"]
            .as_array()
            .and_then(|s| s.iter().find(|s| subject_matches(s, user, groups)))
        else {
            continue;
        };
        let role_kind = b["roleRef"]["kind"].as_str().unwrap_or_default();
        let role_name = b["roleRef"]["name"].as_str().unwrap_or_default();
        let binding_kind = if ns.is_empty() {
            "ClusterRoleBinding"
        } else {
            "RoleBinding"
        };
        let reason = format!(
            "RBAC: allowed by {binding_kind} \"{}\" of {role_kind} \"{role_name}\" to {} \"{}\"",
            b["metadata"]["name"].as_str().unwrap_or_default(),
            subject["kind"].as_str().unwrap_or_default(),
            subject["name"].as_str().unwrap_or_default(),
        );
        for rule in role_rules(role_kind, role_name, &ns) {
            out.push((rule, reason.clone()));
        }
    }
    out
}

fn decide(store: &Store, user: &str, groups: &[&str], a: &Attributes) -> (bool, String) {
    rules_for(store, user, groups, &a.namespace)
        .into_iter()
        .find(|(rule, _)| rule_allows(rule, a))
        .map_or((false, String::new()), |(_, reason)| (true, reason))
}

fn attributes(spec: &Value) -> Attributes {
    let r = &spec["resourceAttributes"];
    let n = &spec["nonResourceAttributes"];
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    if n.is_object() {
        return Attributes {
            verb: s(&n["verb"]),
            path: Some(s(&n["path"])),
            ..Attributes::default()
        };
    }
    Attributes {
        verb: s(&r["verb"]),
        group: s(&r["group"]),
        resource: s(&r["resource"]),
        subresource: s(&r["subresource"]),
        name: s(&r["name"]),
        namespace: s(&r["namespace"]),
        path: None,
    }
}

/// Answer a POST to a create-only kind (reviews, bindings): the object with its `status`.
pub fn review(
    store: &Store,
    who: &Identity,
    rt: &ResourceType,
    ns: &str,
    mut obj: Value,
) -> Result<Value, ApiError> {
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    obj["metadata"]["creationTimestamp"] = Value::Null;
    match rt.kind.as_str() {
        "SelfSubjectReview" => {
            obj["status"] = json!({"userInfo": {"username": who.user, "groups": who.groups}});
        }
        "SelfSubjectAccessReview" | "SubjectAccessReview" | "LocalSubjectAccessReview" => {
            let (user, groups): (String, Vec<String>) = if rt.kind == "SelfSubjectAccessReview" {
                (who.user.clone(), who.groups.clone())
            } else {
                (
                    obj["spec"]["user"].as_str().unwrap_or_default().to_owned(),
                    strs(&obj["spec"]["groups"])
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                )
            };
            let mut a = attributes(&obj["spec"]);
            if rt.kind == "LocalSubjectAccessReview" {
                ns.clone_into(&mut a.namespace);
            }
            let groups: Vec<&str> = groups.iter().map(String::as_str).collect();
            let (allowed, reason) = decide(store, &user, &groups, &a);
            obj["status"] = if allowed {
                json!({"allowed": true, "reason": reason})
            } else {
                json!({"allowed": false})
            };
        }
        "SelfSubjectRulesReview" => {
            let namespace = obj["spec"]["namespace"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let mut resource_rules = Vec::new();
            let mut non_resource_rules = Vec::new();
            for (rule, _) in rules_for(store, &who.user, &who.group_refs(), &namespace) {
                if rule["nonResourceURLs"].is_array() {
                    non_resource_rules.push(
                        json!({"verbs": rule["verbs"], "nonResourceURLs": rule["nonResourceURLs"]}),
                    );
                } else {
                    let mut r = json!({"verbs": rule["verbs"], "apiGroups": rule["apiGroups"], "resources": rule["resources"]});
                    if rule["resourceNames"].is_array() {
                        r["resourceNames"] = rule["resourceNames"].clone();
                    }
                    resource_rules.push(r);
                }
            }
            obj["status"] = json!({
                "resourceRules": resource_rules,
                "nonResourceRules": non_resource_rules,
                "incomplete": false,
            });
        }
        "TokenReview" => {
            obj["status"] = json!({"authenticated": false, "error": "the practice cluster reviews no tokens but its own"});
        }
        _ => {
            return Err(ApiError::bad_request(format!(
                "{} cannot be created in the practice cluster",
                rt.kind
            )));
        }
    }
    Ok(obj)
}
