//! The lab as seen by kube-rs: typed list, watch, patch and delete, and dynamic custom
//! resources through `DynamicObject`.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{Namespace, Pod};
use kube::api::{
    Api, ApiResource, DeleteParams, DynamicObject, GroupVersionKind, ListParams, Patch,
    PatchParams, WatchEvent, WatchParams,
};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use runbook::lab::{Lab, LabOptions, Timing};
use serde_json::json;

async fn lab_and_client(scenario: &str) -> (runbook::lab::LabHandle, Client) {
    let lab = Lab::start(LabOptions {
        scenario: Some(scenario.into()),
        timing: Timing {
            kubelet_delay: Duration::from_millis(100),
            namespace_delay: Duration::from_millis(300),
        },
        ..LabOptions::default()
    })
    .await
    .unwrap_or_else(|e| panic!("lab: {e}"));
    let kubeconfig =
        Kubeconfig::read_from(lab.kubeconfig_path()).unwrap_or_else(|e| panic!("kubeconfig: {e}"));
    let config = Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .unwrap_or_else(|e| panic!("config: {e}"));
    let client = Client::try_from(config).unwrap_or_else(|e| panic!("client: {e}"));
    (lab, client)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn typed_list_patch_watch_delete() {
    let (lab, client) = lab_and_client("namespace-labels/privileged-labels").await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "metallb-system");
    let list = pods
        .list(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert_eq!(list.items.len(), 3);
    let not_running = Api::<Pod>::all(client.clone())
        .list(&ListParams::default().fields("status.phase!=Running"))
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert!(not_running.items.len() >= 3);

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let patch =
        json!({"metadata": {"labels": {"pod-security.kubernetes.io/enforce": "privileged"}}});
    let ns = namespaces
        .patch(
            "metallb-system",
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .unwrap_or_else(|e| panic!("patch: {e}"));
    assert_eq!(
        ns.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("pod-security.kubernetes.io/enforce"))
            .map(String::as_str),
        Some("privileged")
    );

    let rv = list.metadata.resource_version.clone().unwrap_or_default();
    let mut stream = pods
        .watch(&WatchParams::default().timeout(5), &rv)
        .await
        .unwrap_or_else(|e| panic!("watch: {e}"))
        .boxed();
    let victim = list.items[0].metadata.name.clone().unwrap_or_default();
    pods.delete(&victim, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    let mut deleted = false;
    let mut added_running = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, stream.try_next())
        .await
        .unwrap_or(Ok(None))
    {
        match ev {
            WatchEvent::Deleted(p) if p.metadata.name.as_deref() == Some(victim.as_str()) => {
                deleted = true;
            }
            WatchEvent::Added(p) => {
                added_running |= p.status.and_then(|s| s.phase).as_deref() == Some("Running");
            }
            _ => {}
        }
        if deleted && added_running {
            break;
        }
    }
    assert!(deleted, "no DELETED event for {victim}");
    assert!(added_running, "the owner did not recreate a Running pod");
    drop(lab);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dynamic_custom_resources() {
    let (lab, client) = lab_and_client("ip-pool-exhausted/orphaned-ipclaim").await;
    let gvk = GroupVersionKind::gvk("ipam.cluster.x-k8s.io", "v1alpha1", "IPClaim");
    let ar = ApiResource::from_gvk_with_plural(&gvk, "ipclaims");
    let claims: Api<DynamicObject> = Api::namespaced_with(client.clone(), "spectro-mgmt", &ar);
    let list = claims
        .list(&ListParams::default())
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert_eq!(list.items.len(), 5);
    let orphan = list
        .items
        .iter()
        .find(|c| c.data["status"]["address"]["name"] == "spectro-mgmt-cluster-cluster1-192-0-2-12")
        .and_then(|c| c.metadata.name.clone())
        .unwrap_or_default();
    assert_eq!(orphan, "spectro-mgmt-cluster-cp-qx4vw-0");
    let patched = claims
        .patch(
            &orphan,
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"orphan": "yes"}}})),
        )
        .await
        .unwrap_or_else(|e| panic!("patch: {e}"));
    assert_eq!(
        patched
            .metadata
            .labels
            .and_then(|l| l.get("orphan").cloned())
            .as_deref(),
        Some("yes")
    );
    let labelled = claims
        .list(&ListParams::default().labels("orphan=yes"))
        .await
        .unwrap_or_else(|e| panic!("list: {e}"));
    assert_eq!(labelled.items.len(), 1);
    let deleted = claims
        .delete(&orphan, &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    assert!(deleted.is_right(), "a CR delete answers a Status");
    assert!(lab.is_fixed());
    let err = claims
        .get("nope")
        .await
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("not found"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watcher_sees_the_initial_state_and_changes() {
    let (lab, client) = lab_and_client("backup-stuck/restart-mgmt-pod").await;
    let pods: Api<Pod> = Api::namespaced(client, "hubble-system");
    let stream =
        kube::runtime::watcher(pods.clone(), kube::runtime::watcher::Config::default()).boxed();
    let mut stream = kube::runtime::WatchStreamExt::applied_objects(stream).boxed();
    let mut names = std::collections::BTreeSet::new();
    while names.len() < 4 {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
        let Ok(Some(Ok(pod))) = next else {
            panic!("watcher stalled: {next:?}")
        };
        names.insert(pod.metadata.name.unwrap_or_default());
    }
    pods.delete("mgmt-f7f97f4fd-lds69", &DeleteParams::default())
        .await
        .unwrap_or_else(|e| panic!("delete: {e}"));
    let replacement = loop {
        let next = tokio::time::timeout(Duration::from_secs(5), stream.next()).await;
        let Ok(Some(Ok(pod))) = next else {
            panic!("watcher stalled: {next:?}")
        };
        let name = pod.metadata.name.unwrap_or_default();
        if name.starts_with("mgmt-") && name != "mgmt-f7f97f4fd-lds69" {
            break name;
        }
    };
    assert!(replacement.starts_with("mgmt-f7f97f4fd-"));
    drop(lab);
}
