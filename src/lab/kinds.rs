//! Every built-in kind a v1.32 `kube-apiserver` serves, one line each: the group, version,
//! kind, plural and scope come from k8s-openapi's type metadata ([`k8s_openapi::Resource`]);
//! the line adds what the API types do not say (short names, categories, verbs,
//! subresources, whether writes bump `metadata.generation`).
//!
//! Discovery (plain and aggregated), CRUD, watches, selectors and tables all read this table,
//! so serving one more built-in kind is one more line in [`table`] (and, for `kubectl get`
//! columns, one entry in `api/printers.yaml`).

use std::any::TypeId;

use k8s_openapi::api::{
    admissionregistration::v1 as admission, apps::v1 as apps, authentication::v1 as authn,
    authorization::v1 as authz, autoscaling::v1 as autoscaling_v1, autoscaling::v2 as autoscaling,
    batch::v1 as batch, certificates::v1 as certificates, coordination::v1 as coordination,
    core::v1 as core, discovery::v1 as discovery, events::v1 as events,
    flowcontrol::v1 as flowcontrol, networking::v1 as networking, node::v1 as node,
    policy::v1 as policy, rbac::v1 as rbac, scheduling::v1 as scheduling, storage::v1 as storage,
};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use k8s_openapi::kube_aggregator::pkg::apis::apiregistration::v1 as apiregistration;
use k8s_openapi::schemars::{JsonSchema, Schema, SchemaGenerator};
use k8s_openapi::{NamespaceResourceScope, Resource};

/// What can be done with a kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbs {
    /// create, delete, deletecollection, get, list, patch, update, watch.
    All,
    /// The same without deletecollection (namespaces).
    NoCollection,
    /// create only (reviews, bindings): answered, never stored.
    Create,
    /// get and list (componentstatuses).
    Read,
}

impl Verbs {
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Self::All => &[
                "create",
                "delete",
                "deletecollection",
                "get",
                "list",
                "patch",
                "update",
                "watch",
            ],
            Self::NoCollection => &[
                "create", "delete", "get", "list", "patch", "update", "watch",
            ],
            Self::Create => &["create"],
            Self::Read => &["get", "list"],
        }
    }
}

/// One built-in kind.
#[derive(Debug, Clone)]
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub verbs: Verbs,
    /// Subresources by name (`status`, `scale`, `log`, ...), see [`subresource`].
    pub subresources: &'static [&'static str],
    /// Spec changes bump `metadata.generation` (controllers track it).
    pub generation: bool,
    /// Adds the type's `OpenAPI` schema (and those it uses) to a generator; gives its `$ref`.
    pub schema: fn(&mut SchemaGenerator) -> Schema,
}

fn k<R: Resource + JsonSchema + 'static>(
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    verbs: Verbs,
    subresources: &'static [&'static str],
    generation: bool,
) -> Kind {
    Kind {
        group: R::GROUP,
        version: R::VERSION,
        kind: R::KIND,
        plural: R::URL_PATH_SEGMENT,
        namespaced: TypeId::of::<R::Scope>() == TypeId::of::<NamespaceResourceScope>(),
        short_names,
        categories,
        verbs,
        subresources,
        generation,
        schema: SchemaGenerator::subschema_for::<R>,
    }
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];
const STATUS: &[&str] = &["status"];
const SCALED: &[&str] = &["scale", "status"];
use Verbs::{All, Create, NoCollection, Read};

/// The table, in the order a real server lists its groups.
pub fn table() -> Vec<Kind> {
    vec![
        k::<core::Binding>(NONE, NONE, Create, NONE, false),
        k::<core::ComponentStatus>(&["cs"], NONE, Read, NONE, false),
        k::<core::ConfigMap>(&["cm"], NONE, All, NONE, false),
        k::<core::Endpoints>(&["ep"], NONE, All, NONE, false),
        k::<core::Event>(&["ev"], NONE, All, NONE, false),
        k::<core::LimitRange>(&["limits"], NONE, All, NONE, false),
        k::<core::Namespace>(&["ns"], NONE, NoCollection, &["finalize", "status"], false),
        k::<core::Node>(&["no"], NONE, All, &["proxy", "status"], false),
        k::<core::PersistentVolumeClaim>(&["pvc"], NONE, All, STATUS, false),
        k::<core::PersistentVolume>(&["pv"], NONE, All, STATUS, false),
        k::<core::Pod>(
            &["po"],
            ALL,
            All,
            &[
                "attach",
                "binding",
                "ephemeralcontainers",
                "eviction",
                "exec",
                "log",
                "portforward",
                "proxy",
                "status",
            ],
            false,
        ),
        k::<core::PodTemplate>(NONE, NONE, All, NONE, false),
        k::<core::ReplicationController>(&["rc"], ALL, All, SCALED, true),
        k::<core::ResourceQuota>(&["quota"], NONE, All, STATUS, false),
        k::<core::Secret>(NONE, NONE, All, NONE, false),
        k::<core::ServiceAccount>(&["sa"], NONE, All, &["token"], false),
        k::<core::Service>(&["svc"], ALL, All, &["proxy", "status"], false),
        k::<admission::MutatingWebhookConfiguration>(NONE, &["api-extensions"], All, NONE, true),
        k::<admission::ValidatingAdmissionPolicy>(NONE, &["api-extensions"], All, STATUS, true),
        k::<admission::ValidatingAdmissionPolicyBinding>(
            NONE,
            &["api-extensions"],
            All,
            NONE,
            true,
        ),
        k::<admission::ValidatingWebhookConfiguration>(NONE, &["api-extensions"], All, NONE, true),
        k::<apiextensions::CustomResourceDefinition>(
            &["crd", "crds"],
            &["api-extensions"],
            All,
            STATUS,
            true,
        ),
        k::<apiregistration::APIService>(NONE, &["api-extensions"], All, STATUS, false),
        k::<apps::ControllerRevision>(NONE, NONE, All, NONE, false),
        k::<apps::DaemonSet>(&["ds"], ALL, All, STATUS, true),
        k::<apps::Deployment>(&["deploy"], ALL, All, SCALED, true),
        k::<apps::ReplicaSet>(&["rs"], ALL, All, SCALED, true),
        k::<apps::StatefulSet>(&["sts"], ALL, All, SCALED, true),
        k::<authn::SelfSubjectReview>(NONE, NONE, Create, NONE, false),
        k::<authn::TokenReview>(NONE, NONE, Create, NONE, false),
        k::<authz::LocalSubjectAccessReview>(NONE, NONE, Create, NONE, false),
        k::<authz::SelfSubjectAccessReview>(NONE, NONE, Create, NONE, false),
        k::<authz::SelfSubjectRulesReview>(NONE, NONE, Create, NONE, false),
        k::<authz::SubjectAccessReview>(NONE, NONE, Create, NONE, false),
        k::<autoscaling::HorizontalPodAutoscaler>(&["hpa"], ALL, All, STATUS, true),
        k::<autoscaling_v1::HorizontalPodAutoscaler>(&["hpa"], ALL, All, STATUS, true),
        k::<batch::CronJob>(&["cj"], ALL, All, STATUS, true),
        k::<batch::Job>(NONE, ALL, All, STATUS, true),
        k::<certificates::CertificateSigningRequest>(
            &["csr"],
            NONE,
            All,
            &["approval", "status"],
            false,
        ),
        k::<coordination::Lease>(NONE, NONE, All, NONE, false),
        k::<discovery::EndpointSlice>(NONE, NONE, All, NONE, false),
        k::<events::Event>(&["ev"], NONE, All, NONE, false),
        k::<flowcontrol::FlowSchema>(NONE, NONE, All, STATUS, true),
        k::<flowcontrol::PriorityLevelConfiguration>(NONE, NONE, All, STATUS, true),
        k::<networking::IngressClass>(NONE, NONE, All, NONE, true),
        k::<networking::Ingress>(&["ing"], NONE, All, STATUS, true),
        k::<networking::NetworkPolicy>(&["netpol"], NONE, All, NONE, true),
        k::<node::RuntimeClass>(NONE, NONE, All, NONE, false),
        k::<policy::PodDisruptionBudget>(&["pdb"], NONE, All, STATUS, true),
        k::<rbac::ClusterRoleBinding>(NONE, NONE, All, NONE, false),
        k::<rbac::ClusterRole>(NONE, NONE, All, NONE, false),
        k::<rbac::RoleBinding>(NONE, NONE, All, NONE, false),
        k::<rbac::Role>(NONE, NONE, All, NONE, false),
        k::<scheduling::PriorityClass>(&["pc"], NONE, All, NONE, true),
        k::<storage::CSIDriver>(NONE, NONE, All, NONE, false),
        k::<storage::CSINode>(NONE, NONE, All, NONE, false),
        k::<storage::CSIStorageCapacity>(NONE, NONE, All, NONE, false),
        k::<storage::StorageClass>(&["sc"], NONE, All, NONE, false),
        k::<storage::VolumeAttachment>(NONE, NONE, All, STATUS, false),
    ]
}

/// A subresource's discovery entry: (group, version, kind, verbs) of what it takes and gives.
pub fn subresource(
    owner: &Kind,
    name: &str,
) -> (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
) {
    const RW: &[&str] = &["get", "patch", "update"];
    const CONNECT: &[&str] = &["create", "get"];
    const PROXY: &[&str] = &["create", "delete", "get", "patch", "update"];
    match name {
        "scale" => ("autoscaling", "v1", "Scale", RW),
        "eviction" => ("policy", "v1", "Eviction", &["create"]),
        "token" => ("authentication.k8s.io", "v1", "TokenRequest", &["create"]),
        "binding" => ("", "v1", "Binding", &["create"]),
        "attach" => ("", "v1", "PodAttachOptions", CONNECT),
        "exec" => ("", "v1", "PodExecOptions", CONNECT),
        "portforward" => ("", "v1", "PodPortForwardOptions", CONNECT),
        "log" => (owner.group, owner.version, owner.kind, &["get"]),
        "finalize" => (owner.group, owner.version, owner.kind, &["update"]),
        "proxy" => match owner.kind {
            "Node" => ("", "v1", "NodeProxyOptions", PROXY),
            "Service" => ("", "v1", "ServiceProxyOptions", PROXY),
            _ => ("", "v1", "PodProxyOptions", PROXY),
        },
        _ => (owner.group, owner.version, owner.kind, RW),
    }
}

/// The versions of each group, preferred first, in the order of [`table`].
pub fn groups() -> Vec<(&'static str, Vec<&'static str>)> {
    let mut out: Vec<(&'static str, Vec<&'static str>)> = Vec::new();
    for k in table() {
        match out.iter_mut().find(|(g, _)| *g == k.group) {
            Some((_, vs)) if !vs.contains(&k.version) => vs.push(k.version),
            Some(_) => {}
            None => out.push((k.group, vec![k.version])),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_reads_its_metadata_from_k8s_openapi() {
        let t = table();
        let find = |kind: &str, group: &str| {
            t.iter()
                .find(|k| k.kind == kind && k.group == group)
                .cloned()
        };
        let deploy = find("Deployment", "apps");
        assert_eq!(
            deploy.as_ref().map(|k| (k.plural, k.namespaced)),
            Some(("deployments", true))
        );
        let ns = find("Namespace", "");
        assert_eq!(ns.as_ref().map(|k| k.namespaced), Some(false));
        let crb = find("ClusterRoleBinding", "rbac.authorization.k8s.io");
        assert_eq!(
            crb.map(|k| (k.plural, k.namespaced)),
            Some(("clusterrolebindings", false))
        );
        let hpa = find("HorizontalPodAutoscaler", "autoscaling");
        assert_eq!(hpa.map(|k| k.version), Some("v2"));
        assert!(t.len() >= 55, "{}", t.len());
        let g = groups();
        assert_eq!(g.first().map(|(g, _)| *g), Some(""));
        assert!(
            g.iter()
                .any(|(g, v)| *g == "flowcontrol.apiserver.k8s.io" && v == &["v1"])
        );
    }
}
