//! Classification of every command of the bundled runbooks and of the Palette pages they were
//! written from (`../shared/seeds`), as a table: (command, destructive, interactive).
//!
//! `classify` is the raw analysis; fence attributes (`destructive=false` on the sign-in `curl`
//! that POSTs credentials) are checked separately through `classify_block`.

use runbook::exec::safety::Trust;
use runbook::exec::{classify, classify_block};
use runbook::runbook::{BlockKind, Catalog};

const TABLE: &[(&str, bool, bool)] = &[
    (
        r"printf '%s\n' <vcenter-server> | grep --extended-regexp '^https?://'",
        false,
        false,
    ),
    (
        r"curl --insecure --silent --show-error --max-time 10 --output /dev/null \
  --write-out '%{http_code}\n' https://<vcenter-server>",
        false,
        false,
    ),
    (
        r"curl --silent --show-error --max-time 10 --output /dev/null \
  --write-out '%{http_code}\n' https://<palette-endpoint>",
        false,
        false,
    ),
    (
        r#"vmtoolsd --cmd "info-get guestinfo.ovfEnv""#,
        false,
        false,
    ),
    (
        r"kubectl get pods --all-namespaces | grep jet",
        false,
        false,
    ),
    (
        r"curl --silent --show-error --max-time 10 --output /dev/null \
  --write-out '%{http_code}\n' <image-url>",
        false,
        false,
    ),
    (
        r"ssh -i <ssh-key-file> ubuntu@<installer-vm-ip>",
        false,
        true,
    ),
    (r"cat /var/log/cloud-init-output.log", false, false),
    (
        r#"grep --ignore-case --extended-regexp 'error|fail' /var/log/cloud-init-output.log \
  || echo "no error or failure lines found""#,
        false,
        false,
    ),
    (
        r#"cat > pcg-debug.sh << 'EOF'
#!/bin/bash
DESTDIR="/tmp/"
CONTAINER_LOGS_DIR="/var/log/containers/"
CLOUD_INIT_OUTPUT_LOG="/var/log/cloud-init-output.log"
CLOUD_INIT_LOG="/var/log/cloud-init.log"
KERN_LOG="/var/log/kern.log"
KUBELET_LOG="/tmp/kubelet.log"
SYSLOGS="/var/log/syslog*"
FILENAME=spectro-logs-$(date +%-Y%-m%-d)-$(date +%-HH%-MM%-SS).tgz
journalctl -u kubelet > $KUBELET_LOG
tar --create --gzip -h --file=$DESTDIR$FILENAME $CONTAINER_LOGS_DIR $CLOUD_INIT_LOG $CLOUD_INIT_OUTPUT_LOG $KERN_LOG $KUBELET_LOG $SYSLOGS
retVal=$?
if [ $retVal -eq 1 ]; then
    echo "Error creating spectro logs package"
else
    echo "Successfully extracted spectro cloud logs: $DESTDIR$FILENAME"
fi
EOF"#,
        false,
        false,
    ),
    (
        r#"#!/bin/bash

DESTDIR="/tmp/"

CONTAINER_LOGS_DIR="/var/log/containers/"
CLOUD_INIT_OUTPUT_LOG="/var/log/cloud-init-output.log"
CLOUD_INIT_LOG="/var/log/cloud-init.log"
KERN_LOG="/var/log/kern.log"
KUBELET_LOG="/tmp/kubelet.log"
SYSLOGS="/var/log/syslog*"

FILENAME=spectro-logs-$(date +%-Y%-m%-d)-$(date +%-HH%-MM%-SS).tgz

journalctl -u kubelet > $KUBELET_LOG

tar --create --gzip -h --file=$DESTDIR$FILENAME $CONTAINER_LOGS_DIR $CLOUD_INIT_LOG $CLOUD_INIT_OUTPUT_LOG $KERN_LOG $KUBELET_LOG $SYSLOGS

retVal=$?
if [ $retVal -eq 1 ]; then
    echo "Error creating spectro logs package"
else
    echo "Successfully extracted spectro cloud logs: $DESTDIR$FILENAME"
fi"#,
        false,
        false,
    ),
    (r"chmod +x pcg-debug.sh && ./pcg-debug.sh", false, false),
    (r"ls -l /tmp/spectro-logs-*.tgz", false, false),
    (
        r"kubectl get pods --namespace hubble-system | grep mgmt",
        false,
        false,
    ),
    (
        r"kubectl get pods --namespace hubble-system --no-headers \
  --output custom-columns=:metadata.name | grep mgmt",
        false,
        false,
    ),
    (
        r"kubectl delete pod <mgmt-pod-name> --namespace hubble-system",
        true,
        false,
    ),
    (
        r#"kubectl delete pod "$MGMT_POD" --namespace hubble-system"#,
        true,
        false,
    ),
    (r"ssh -i <key-name> spectro@<hostname>", false, true),
    (r"sudo --login", false, true),
    (
        r#"echo "fs.file-max = 1000000" > /etc/sysctl.d/99-maxfiles.conf"#,
        true,
        false,
    ),
    (r"sysctl -p /etc/sysctl.d/99-maxfiles.conf", true, false),
    (r"systemctl restart kubelet containerd", true, false),
    (r"sysctl fs.file-max", false, false),
    (r"export BASE_URL=<base-url>", false, false),
    (
        r#"curl --location "$BASE_URL/v1/auth/syslogin" \
--header 'Content-Type: application/json' \
--data '{
  "password": "<system-password>",
  "username": "<system-username>"
}'"#,
        true,
        false,
    ),
    (r"export TOKEN=<token>", false, false),
    (
        r#"export TOKEN=$(curl --silent --location "$BASE_URL/v1/auth/syslogin" \
--header 'Content-Type: application/json' \
--data '{
  "password": "<system-password>",
  "username": "<system-username>"
}' | jq --raw-output '.Authorization')"#,
        true,
        false,
    ),
    (
        r#"curl --request PUT "$BASE_URL/v1/system/config/maas/image" \
--header "Authorization: $TOKEN" \
--header 'Content-Type: application/json' \
--data '{
   "spec": {
      "imagesHostEndpoint": "https://maasgoldenimage.s3.amazonaws.com",
      "insecureSkipVerify": false,
      "caCert": "<ca-cert>"
   }
}'"#,
        true,
        false,
    ),
    (
        r#"curl --request PUT "$BASE_URL/v1/system/config/vsphere/image" \
--header "Authorization: $TOKEN" \
--header 'Content-Type: application/json' \
--data '{
   "spec": {
      "imagesHostEndpoint": "https://vmwaregoldenimage.s3.amazonaws.com",
      "insecureSkipVerify": false,
      "caCert": "<ca-cert>"
   }
}'"#,
        true,
        false,
    ),
    (
        r#"kubectl get nodes \
--output jsonpath='{range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}'"#,
        false,
        false,
    ),
    (
        r"kubectl get ipclaim --namespace spectro-mgmt",
        false,
        false,
    ),
    (
        r#"kubectl get ipclaim --namespace spectro-mgmt \
--output jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.status.address.name}{"\n"}{end}'"#,
        false,
        false,
    ),
    (
        r#"NODE_IPS=$(kubectl get nodes \
--output jsonpath='{range .items[*]}{.status.addresses[?(@.type=="InternalIP")].address}{"\n"}{end}')
kubectl get ipclaim --namespace spectro-mgmt \
--output jsonpath='{range .items[*]}{.metadata.name}{"\t"}{.status.address.name}{"\n"}{end}' |
while IFS=$'\t' read -r claim address; do
  if [ "$claim" = "spectro-mgmt-cluster" ]; then continue; fi
  in_use=no
  for ip in $NODE_IPS; do
    case "$address" in *-"${ip//./-}") in_use=yes ;; esac
  done
  if [ "$in_use" = no ]; then printf '%s\n' "$claim"; fi
done"#,
        false,
        false,
    ),
    (
        r"kubectl delete ipclaim --namespace spectro-mgmt <claim-name>",
        true,
        false,
    ),
    (
        r#"kubectl delete ipclaim --namespace spectro-mgmt "$ORPHAN_CLAIM""#,
        true,
        false,
    ),
    (r"timedatectl", false, false),
    (
        r"kubectl logs --namespace hubble-system deployment/auth --since=1h",
        false,
        false,
    ),
    (r"timedatectl show --property=NTPSynchronized", false, false),
    (
        r"openssl s_client -connect <registry-host>:443 -servername <registry-host> \
  -showcerts </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -enddate",
        false,
        false,
    ),
    (r"export KUBECONFIG=<path-to-kubeconfig>", false, false),
    (
        r"curl --output csi-helper https://software.spectrocloud.com/tools/csi-helper/csi-helper",
        false,
        false,
    ),
    (r"chmod +x csi-helper", false, false),
    (
        r"./csi-helper --kubeconfig=<path-to-kubeconfig>",
        false,
        false,
    ),
    (
        r"kubectl describe configmap vsphere-cloud-config --namespace=kube-system",
        false,
        false,
    ),
    (r"export KUBECONFIG=<path-to-kubeconfig-file>", false, false),
    (
        r"kubectl get pods --all-namespaces --field-selector status.phase!=Running",
        false,
        false,
    ),
    (
        r"kubectl get namespace <namespace> --show-labels",
        false,
        false,
    ),
    (
        r"kubectl label namespace <namespace> \
  pod-security.kubernetes.io/enforce=privileged \
  pod-security.kubernetes.io/audit=privileged \
  pod-security.kubernetes.io/warn=privileged \
  --overwrite",
        true,
        false,
    ),
    (
        r"kubectl delete pods --namespace <namespace> --all",
        true,
        false,
    ),
    (r"kubectl get pods --namespace <namespace>", false, false),
    (
        r#"kubectl get pods --all-namespaces --selector k8s-app=calico-node \
  --output jsonpath='{range .items[*]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' |
while read -r ns pod; do
  kubectl logs --namespace "$ns" "$pod" --container calico-node | grep -- '--set-mark' || true
done"#,
        false,
        false,
    ),
    (r"uname --kernel-release", false, false),
    (
        r"git clone https://github.com/kairos-io/kairos.git
cd kairos
git checkout v3.1.3",
        false,
        false,
    ),
    (
        r"./earthly.sh +base-image \
 --FLAVOR=ubuntu \
 --FLAVOR_RELEASE=24.04 \
 --FAMILY=ubuntu \
 --MODEL=generic \
 --VARIANT=core \
 --BASE_IMAGE=ubuntu:24.04 \
 --BOOTLOADER=grub",
        false,
        false,
    ),
    (
        r"docker tag <local-image> <your-registry>/<your-kairos-image>:<your-version>",
        false,
        false,
    ),
    (
        r"docker push <your-registry>/<your-kairos-image>:<your-version>",
        true,
        false,
    ),
    (r"sudo reboot", true, false),
    (
        r"kubectl delete pod upgrade-pod --namespace default",
        true,
        false,
    ),
    (r"kubectl get nodes --output wide", false, false),
    (r"getent hosts <palette-endpoint>", false, false),
    (
        r#"timeout 10 bash -c 'exec 3<>/dev/tcp/<palette-endpoint>/443' \
  && echo "port 443 reachable""#,
        false,
        false,
    ),
    (
        r#"for var in HTTP_PROXY HTTPS_PROXY; do
  if [ -n "${!var}" ]; then echo "$var is set"; else echo "$var is NOT set"; fi
done"#,
        false,
        false,
    ),
    (
        r"printf '%s\n' <tag-value> | grep -E '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'",
        false,
        false,
    ),
    (
        r"./csi-helper --kubeconfig=<PATH_TO_KUBECONFIG>",
        false,
        false,
    ),
    (r"ssh -i <key-name> <spectro@hostname>", false, true),
    (r#"export BASE_URL="REPLACE ME""#, false, false),
    (
        r#"curl --location '$BASE_URL/v1/auth/syslogin' \
--header 'Content-Type: application/json' \
--data '{
  "password": "**********",
  "username": "**********"
}'"#,
        true,
        false,
    ),
    (
        r#"curl --request PUT '$BASE_URL/v1/system/config/maas/image' \
--header 'Authorization: $TOKEN' \
--header 'Content-Type: application/json' \
--data '{
   "spec": {
      "imagesHostEndpoint": "https://maasgoldenimage.s3.amazonaws.com",
      "insecureSkipVerify": false,
      "caCert": "**********"
   }
}'"#,
        true,
        false,
    ),
    (
        r#"curl --request PUT '$BASE_URL/v1/system/config/vsphere/image' \
--header 'Authorization: $TOKEN' \
--header 'Content-Type: application/json' \
--data '{
   "spec": {
      "imagesHostEndpoint": "https://vmwaregoldenimage.s3.amazonaws.com",
      "insecureSkipVerify": false,
      "caCert": "**********"
   }
}'"#,
        true,
        false,
    ),
    (
        r#"TOKEN=$(curl --silent --location "$BASE_URL/v1/auth/syslogin" \
--header 'Content-Type: application/json' \
--data '{
  "password": "<system-password>",
  "username": "<system-username>"
}' | jq --raw-output '.Authorization')
export TOKEN"#,
        true,
        false,
    ),
];

#[test]
fn every_command_is_classified_as_expected() {
    let mut wrong = Vec::new();
    for (command, destructive, interactive) in TABLE {
        let c = classify(command);
        if (c.destructive, c.interactive) != (*destructive, *interactive) {
            wrong.push(format!(
                "{command}\n  expected destructive={destructive} interactive={interactive}, got {c:?}"
            ));
        }
        if c.destructive || c.interactive {
            assert!(!c.reasons.is_empty(), "{command}: a verdict needs a reason");
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

#[test]
fn bundled_commands_are_all_in_the_table() {
    let catalog = Catalog::load(&[], true);
    let mut missing = Vec::new();
    for runbook in &catalog.runbooks {
        for scenario in &runbook.scenarios {
            for block in scenario
                .all_blocks()
                .filter(|b| b.kind == BlockKind::Command)
            {
                if !TABLE.iter().any(|(c, _, _)| c.trim() == block.code.trim()) {
                    missing.push(format!(
                        "{}:{}\n{}",
                        runbook.path.display(),
                        block.line,
                        block.code
                    ));
                }
                // Attributes agree with the analysis, or say why they override it.
                let c = classify_block(block, Trust::Local);
                if let Some(d) = block.attribute("destructive") {
                    assert_eq!(c.destructive, d == "true", "{}", block.code);
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "add these to TABLE:\n{}",
        missing.join("\n\n")
    );
}

#[test]
fn reasons_for_the_dangerous_ones() {
    let reasons = |c: &str| classify(c).reasons.join("; ");
    assert_eq!(
        reasons("kubectl delete pod x --namespace hubble-system"),
        "kubectl delete deletes resources"
    );
    assert_eq!(
        reasons("echo \"fs.file-max = 1000000\" > /etc/sysctl.d/99-maxfiles.conf"),
        "it writes to /etc/sysctl.d/99-maxfiles.conf"
    );
    assert_eq!(
        reasons("curl --request PUT https://x"),
        "curl sends a PUT request"
    );
    assert_eq!(
        reasons("ssh -i k spectro@h"),
        "ssh spectro@h opens a remote shell"
    );
}

#[test]
fn more_shapes() {
    let d = |c: &str| classify(c).destructive;
    assert!(d("kubectl drain node1 --ignore-daemonsets"));
    assert!(d("kubectl cordon node1"));
    assert!(d("kubectl patch deploy x -p '{}'"));
    assert!(d("kubectl apply -f x.yaml"));
    assert!(d("kubectl replace -f x.yaml"));
    assert!(d("kubectl annotate pod x a=b --overwrite"));
    assert!(!d("kubectl annotate pod x a=b"));
    assert!(d("kubectl scale deploy x --replicas 0"));
    assert!(d("kubectl rollout restart deploy/x"));
    assert!(!d("kubectl rollout status deploy/x"));
    assert!(d("helm uninstall x"));
    assert!(d("systemctl stop kubelet"));
    assert!(!d("systemctl status kubelet"));
    assert!(d("shutdown -h now"));
    assert!(d("sysctl -w fs.file-max=1"));
    assert!(d("sysctl --write fs.file-max=1"));
    assert!(!d("sysctl fs.file-max"));
    assert!(d("echo x | sudo tee /etc/hosts"));
    assert!(d("echo x | tee -a /etc/hosts >/dev/null"));
    assert!(!d("echo x | tee /tmp/x"));
    assert!(d("curl -X DELETE https://x"));
    assert!(d("curl -XPOST https://x"));
    assert!(d("curl --data @f https://x"));
    assert!(d("curl -d x=1 https://x"));
    assert!(!d("curl -X GET https://x"));
    assert!(d("wget --method=PATCH https://x"));
    assert!(d("wget --post-data 'a=b' https://x"));
    assert!(!d("wget https://x"));
    assert!(d("crictl rm abc"));
    assert!(d("crictl rmi abc"));
    assert!(!d("crictl ps"));
    assert!(d("apt-get install -y jq"));
    assert!(d("sudo apt install jq"));
    assert!(d("yum remove x"));
    assert!(d("dnf install x"));
    assert!(!d("apt-get update && apt list --installed"));
    assert!(d("docker push r/i:1"));
    assert!(!d("docker tag a r/i:1"));
    assert!(d("cat <<EOF | kubectl apply -f -\napiVersion: v1\nEOF"));
    assert!(!d(
        "cat <<'EOF' > x.sh\nkubectl delete pod x\nrm -rf /\nEOF"
    ));
    assert!(d("cat <<EOF\n$(rm -rf /tmp/x)\nEOF"));
    assert!(d("(cd /tmp && rm x)"));
    assert!(d("sudo env PATH=$PATH rm x"));
    assert!(d("find . -name '*.log' | xargs -0 -I{} rm {}"));
    assert!(d("\\rm x"));
    assert!(d("/bin/rm x"));
}

/// `destructive=false` (issue 17 §2): honoured for bundled and local runbooks, ignored for a
/// fetched one, never a way past `--read-only`, and shown by `runbook show`.
mod overrides {
    use std::path::Path;
    use std::process::Command;

    use runbook::exec::classify_block;
    use runbook::exec::safety::Trust;
    use runbook::runbook::parse;

    fn blocks() -> Vec<runbook::runbook::Block> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/override.md");
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        let book = parse(&bytes, &path);
        book.scenarios[0]
            .all_blocks()
            .filter(|b| b.kind == runbook::runbook::BlockKind::Command)
            .cloned()
            .collect()
    }

    #[test]
    fn a_fetched_runbook_cannot_relax_the_guards() {
        for block in blocks() {
            let local = classify_block(&block, Trust::Local);
            let fetched = classify_block(&block, Trust::Fetched);
            assert!(!local.destructive, "{}", block.code);
            assert!(local.overridden);
            assert!(fetched.destructive, "{}", block.code);
            assert!(!fetched.overridden);
            let attr = fetched
                .attributes
                .iter()
                .find(|a| a.key == "destructive")
                .unwrap_or_else(|| panic!("listed"));
            assert_eq!(attr.value, "false");
            assert!(
                attr.ignored
                    .as_deref()
                    .is_some_and(|w| w.contains("fetched"))
            );
            // And never past read-only, whoever wrote it.
            assert!(local.read_only_refusal().is_some(), "{}", block.code);
            assert!(fetched.read_only_refusal().is_some(), "{}", block.code);
        }
    }

    #[test]
    fn making_a_block_more_careful_always_counts() {
        let md = "## Scenario - S {#s}\n\n### Debug Steps\n\n1. A.\n\n   ```bash destructive=true interactive=true\n   cat /etc/hostname\n   ```\n";
        let book = parse(md.as_bytes(), Path::new("t.md"));
        let block = &book.scenarios[0].procedures[0].steps[0].blocks[0];
        let c = classify_block(block, Trust::Fetched);
        assert!(c.destructive && c.interactive);
        assert_eq!(
            c.read_only_refusal().as_deref(),
            Some("the runbook marks it destructive=true")
        );
    }

    #[test]
    fn show_displays_the_attributes_that_change_the_verdict() {
        let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lint/override.md");
        let out = Command::new(env!("CARGO_BIN_EXE_runbook"))
            .arg("show")
            .arg(&path)
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("command {destructive=false}:"), "{text}");
        assert!(
            text.contains("command {destructive=false reason=\"signs in; changes nothing\"}:"),
            "{text}"
        );
    }
}
