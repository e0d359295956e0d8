//! `--read-only` for what is not the cluster (issue 12 §3): a block runs only when the
//! classifier shows it does not write; otherwise it is refused with the reason.
//!
//! - A corpus of bypass attempts written for this test (files, redirections, indirection,
//!   interpreters, wrappers, shell features that run strings, credentials that would take
//!   kubectl past the gate): every one is refused.
//! - Harmless look-alikes are allowed, and are then run for real with bash in a scratch
//!   folder that must be unchanged afterwards.
//! - Every command block of every bundled runbook with its read-only verdict, so that what
//!   only reads keeps running.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use runbook::exec::classify;
use runbook::exec::safety::Trust;
use runbook::runbook::{BlockKind, Catalog};

/// Attempts to write (or to run something unchecked) under read-only.
const BYPASSES: &[&str] = &[
    // Redirections, every spelling.
    "echo x > out.txt",
    ": > out.txt",
    "printf x >| out.txt",
    "echo x >> file.txt",
    "cat file.txt &> out.txt",
    "exec 3<>out.txt",
    "exec 3>out.txt; echo x >&3",
    "cat <<EOF > out.txt\nx\nEOF",
    "{ echo a; } > out.txt",
    "cd /tmp && > out.txt",
    "echo x > /dev/tcp/127.0.0.1/9",
    "exec 3<>/dev/tcp/127.0.0.1/80; printf 'DELETE /x HTTP/1.0\\r\\n\\r\\n' >&3",
    "kubectl get pods -o yaml > pods.yaml",
    // Commands and options that write.
    "cp file.txt copy.txt",
    "mv file.txt moved.txt",
    "install -m 644 file.txt copy.txt",
    "ln -sf file.txt link",
    "touch new.txt",
    "mkdir newdir",
    "echo x | tee out.txt",
    "sed -i 's/a/b/' file.txt",
    "sed -Ei 's/a/b/' file.txt",
    "sed -n 'w out.txt' file.txt",
    "sed 's/a/b/w out.txt' file.txt",
    "sed '1e touch out.txt' file.txt",
    "find . -name '*.txt' -delete",
    "find . -exec rm {} \\;",
    "find . -fprint out.txt",
    "truncate -s 0 file.txt",
    "dd if=file.txt of=copy.txt",
    "rsync -a . ../copy",
    "chmod 777 file.txt",
    "sort -o out.txt file.txt",
    "uniq file.txt out.txt",
    "tar -cf out.tar file.txt",
    "gzip file.txt",
    "yq -i '.a = 1' f.yaml",
    "curl -o out.txt https://example.invalid",
    "curl -sO https://example.invalid/x",
    "curl -sXDELETE https://example.invalid/x",
    "curl -s -d a=1 https://example.invalid/x",
    "wget https://example.invalid/file",
    "git clone https://example.invalid/x",
    "crontab file.txt",
    "date -s '2020-01-01'",
    "ip link set eth0 down",
    "systemctl -H h restart kubelet",
    // Indirection.
    "eval \"echo x > out.txt\"",
    "eval \"$(printf 'rm file.txt')\"",
    "source ./script.sh",
    ". ./script.sh",
    "x=rm; $x file.txt",
    "$(echo rm) file.txt",
    "`echo rm` file.txt",
    "\"${CMD:-rm}\" file.txt",
    "{rm,file.txt}",
    "/bin/r? file.txt",
    "bash -c 'echo x > out.txt'",
    "sh -c \"rm file.txt\"",
    "bash script.sh",
    "./script.sh",
    "cat file.txt | sh",
    "echo file.txt | xargs rm",
    "echo file.txt | xargs sh -c 'rm \"$0\"'",
    "f() { rm file.txt; }; f",
    "function g { rm file.txt; }; g",
    "ls() { echo hidden; }; ls",
    // Inline programs.
    "python3 -c 'open(\"out.txt\", \"w\")'",
    "python3 script.py",
    "perl -e 'unlink \"file.txt\"'",
    "perl -pi -e 's/a/b/' file.txt",
    "awk 'BEGIN{system(\"rm file.txt\")}'",
    "awk '{print > \"out.txt\"}' file.txt",
    "awk '{print | \"sh\"}' file.txt",
    "node -e 'require(\"fs\").writeFileSync(\"out.txt\", \"x\")'",
    "ruby -e 'File.write(\"out.txt\", \"x\")'",
    // Wrappers around a write.
    "sudo rm file.txt",
    "sudo -iu root rm file.txt",
    "ssh host 'rm file.txt'",
    "ssh -o ProxyCommand='touch out.txt' host true",
    "env -S 'rm file.txt'",
    "timeout 5 rm file.txt",
    "nohup rm file.txt",
    "\\rm file.txt",
    "/bin/rm file.txt",
    "time -p rm file.txt",
    "su -c 'rm file.txt'",
    "runuser -u nobody -- rm file.txt",
    "flock lock rm file.txt",
    "script -qc 'rm file.txt' /dev/null",
    "setsid rm file.txt",
    "busybox rm file.txt",
    "command rm file.txt",
    "exec rm file.txt",
    "nice -n 5 rm file.txt",
    // Shell features that run a string.
    "echo ${X:-$(touch out.txt)}",
    "(( $(touch out.txt) ))",
    "X='a[$(touch out.txt)]'; (( X > 0 ))",
    "[[ $REPLICAS -gt 0 ]] && echo many",
    "echo ${ARR[$I]}",
    "declare -i n=$VALUE",
    "PS4='$(touch out.txt)'; set -x; true",
    "PROMPT_COMMAND='touch out.txt'",
    "trap 'touch out.txt' EXIT",
    "alias ls='touch out.txt'",
    "read PS4 <<< '$(touch out.txt)'",
    "printf -v PROMPT_COMMAND 'touch out.txt'",
    "declare -n r=PS4",
    "mapfile -C 'touch out.txt' -c 1 lines < file.txt",
    "hash -p /bin/rm ls",
    "PATH=.:$PATH ls",
    "BASH_ENV=./script.sh bash -c true",
    "LD_PRELOAD=./evil.so ls",
    // Past the gate: other credentials, another shell, a container.
    "export KUBECONFIG=~/.kube/config",
    "KUBECONFIG=/root/.kube/config kubectl get pods",
    "unset KUBECONFIG",
    "env -u KUBECONFIG kubectl get pods",
    "kubectl --kubeconfig ~/.kube/config delete pod x",
    "kubectl --server https://api:6443 --token t delete pod x",
    "sudo kubectl delete pod x",
    "ssh node kubectl delete pod x",
    "kubectl exec p -- rm -rf /data",
    "kubectl cp p:/etc/x ./x",
    "kubectl config set-context --current --namespace=x",
    "kubectl proxy --port=8001",
    "helm --kube-token t uninstall app",
    "helm repo add x https://example.invalid",
    "kubectl delete pod x",
    "kubectl annotate pod x a=b",
];

/// Look-alikes that only read: allowed, then run for real.
const HARMLESS: &[&str] = &[
    "echo rm -rf file.txt",
    "cat file.txt | grep a",
    "ls -la > /dev/null 2>&1",
    "grep -c a file.txt || true",
    "printf '%s\\n' \"$(cat file.txt)\"",
    "awk '{print $1}' file.txt",
    "awk '/a|b/ && $1 > 0 {print $2}' file.txt",
    "sed -n 's/a/b/p' file.txt",
    "find . -name '*.txt'",
    "find . -name '*.txt' -exec cat {} \\;",
    "echo 'rm -rf /' | cat",
    "wc -l < file.txt",
    "sort file.txt | uniq -c",
    "head -n 1 file.txt; tail -n 1 file.txt",
    "test -f file.txt && echo yes",
    "[ \"$(wc -l < file.txt)\" -gt 0 ] && echo lines",
    "for f in *.txt; do echo \"$f\"; done",
    "X=$(cat file.txt); echo \"$X\"",
    "export GREETING=hello; echo \"$GREETING\"",
    "echo $(( 2 + 3 ))",
    "date +%s >/dev/null",
    "jq -n '1 + 1'",
    "command -v rm",
    "type rm",
    "cat file.txt 2>&1 | base64",
];

#[test]
fn every_bypass_attempt_is_refused_with_a_reason() {
    assert!(BYPASSES.len() >= 40, "{} attempts", BYPASSES.len());
    let allowed: Vec<&str> = BYPASSES
        .iter()
        .copied()
        .filter(|b| classify(b).read_only_refusal().is_none())
        .collect();
    assert!(
        allowed.is_empty(),
        "allowed under read-only:\n{}",
        allowed.join("\n")
    );
}

#[test]
fn reasons_say_why() {
    let why = |c: &str| classify(c).read_only_refusal().unwrap_or_default();
    assert_eq!(
        why("echo x > out.txt"),
        "output redirected to a file (out.txt)"
    );
    assert_eq!(
        why("x=rm; $x f"),
        "the command name comes from a variable or a substitution"
    );
    assert_eq!(why("eval \"ls\""), "eval of a string");
    assert_eq!(why("python3 -c 'print(1)'"), "inline program for python3");
    assert_eq!(
        why("./csi-helper --kubeconfig=x"),
        "cannot prove read-only: `./csi-helper` is not a command runbook knows to only read"
    );
    assert_eq!(why("rm -rf x"), "rm deletes data");
    assert_eq!(
        why("kubectl delete pod x"),
        "kubectl delete deletes resources"
    );
    assert!(why("sudo kubectl delete pod x").contains("not through runbook's gate"));
    assert_eq!(
        why("export KUBECONFIG=/x"),
        "it sets KUBECONFIG, which decides which cluster kubectl talks to"
    );
}

/// A scratch folder's files and their contents.
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        out.insert(name, std::fs::read(entry.path()).unwrap_or_default());
    }
    out
}

#[test]
fn harmless_look_alikes_run_and_change_nothing() {
    for cmd in HARMLESS {
        let c = classify(cmd);
        assert_eq!(c.read_only_refusal(), None, "{cmd}: {c:?}");
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("file.txt"), "a 1\nb 2\n").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join("other.txt"), "x\n").unwrap_or_else(|e| panic!("{e}"));
        let before = tree(dir.path());
        let o = Command::new("bash")
            .args(["-c", cmd])
            .current_dir(dir.path())
            .env("HOME", dir.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            o.status.success(),
            "{cmd}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert_eq!(tree(dir.path()), before, "{cmd} changed the folder");
    }
}

/// Every command block of the bundled runbooks and its read-only verdict: `None` runs.
const BUNDLED: &[(&str, Option<&str>)] = &[
    (
        "kubectl get pods --namespace hubble-system | grep mgmt",
        None,
    ),
    (
        "kubectl get pods --namespace hubble-system --no-headers \\\n  --output custom-columns=:metadata.name | grep mgmt",
        None,
    ),
    (
        "kubectl delete pod <mgmt-pod-name> --namespace hubble-system",
        Some("kubectl delete deletes resources"),
    ),
    (
        "kubectl delete pod \"$MGMT_POD\" --namespace hubble-system",
        Some("kubectl delete deletes resources"),
    ),
    (
        "export KUBECONFIG=<path-to-kubeconfig>",
        Some("it sets KUBECONFIG, which decides which cluster kubectl talks to"),
    ),
    (
        "curl --output csi-helper https://software.spectrocloud.com/tools/csi-helper/csi-helper",
        Some("curl writes csi-helper"),
    ),
    ("chmod +x csi-helper", Some("chmod changes files")),
    (
        "./csi-helper --kubeconfig=<path-to-kubeconfig>",
        Some("cannot prove read-only: `./csi-helper` is not a command runbook knows to only read"),
    ),
    (
        "kubectl describe configmap vsphere-cloud-config --namespace=kube-system",
        None,
    ),
    ("export BASE_URL=<base-url>", None),
    (
        "curl --location \"$BASE_URL/v1/auth/syslogin\" \\\n--header 'Content-Type: application/json' \\\n--data '{\n  \"password\": \"<system-password>\",\n  \"username\": \"<system-username>\"\n}'",
        Some("curl sends a POST request"),
    ),
    ("export TOKEN=<token>", None),
    (
        "TOKEN=$(curl --silent --location \"$BASE_URL/v1/auth/syslogin\" \\\n--header 'Content-Type: application/json' \\\n--data '{\n  \"password\": \"<system-password>\",\n  \"username\": \"<system-username>\"\n}' | jq --raw-output '.Authorization')\nexport TOKEN",
        Some("curl sends a POST request"),
    ),
    (
        "curl --request PUT \"$BASE_URL/v1/system/config/maas/image\" \\\n--header \"Authorization: $TOKEN\" \\\n--header 'Content-Type: application/json' \\\n--data '{\n   \"spec\": {\n      \"imagesHostEndpoint\": \"https://maasgoldenimage.s3.amazonaws.com\",\n      \"insecureSkipVerify\": false,\n      \"caCert\": \"<ca-cert>\"\n   }\n}'",
        Some("curl sends a PUT request"),
    ),
    (
        "curl --request PUT \"$BASE_URL/v1/system/config/vsphere/image\" \\\n--header \"Authorization: $TOKEN\" \\\n--header 'Content-Type: application/json' \\\n--data '{\n   \"spec\": {\n      \"imagesHostEndpoint\": \"https://vmwaregoldenimage.s3.amazonaws.com\",\n      \"insecureSkipVerify\": false,\n      \"caCert\": \"<ca-cert>\"\n   }\n}'",
        Some("curl sends a PUT request"),
    ),
    (
        "kubectl get nodes \\\n--output jsonpath='{range .items[*]}{.status.addresses[?(@.type==\"InternalIP\")].address}{\"\\n\"}{end}'",
        None,
    ),
    ("kubectl get ipclaim --namespace spectro-mgmt", None),
    (
        "kubectl get ipclaim --namespace spectro-mgmt \\\n--output jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.status.address.name}{\"\\n\"}{end}'",
        None,
    ),
    (
        "NODE_IPS=$(kubectl get nodes \\\n--output jsonpath='{range .items[*]}{.status.addresses[?(@.type==\"InternalIP\")].address}{\"\\n\"}{end}')\nkubectl get ipclaim --namespace spectro-mgmt \\\n--output jsonpath='{range .items[*]}{.metadata.name}{\"\\t\"}{.status.address.name}{\"\\n\"}{end}' |\nwhile IFS=$'\\t' read -r claim address; do\n  if [ \"$claim\" = \"spectro-mgmt-cluster\" ]; then continue; fi\n  in_use=no\n  for ip in $NODE_IPS; do\n    case \"$address\" in *-\"${ip//./-}\") in_use=yes ;; esac\n  done\n  if [ \"$in_use\" = no ]; then printf '%s\\n' \"$claim\"; fi\ndone",
        None,
    ),
    (
        "kubectl delete ipclaim --namespace spectro-mgmt <claim-name>",
        Some("kubectl delete deletes resources"),
    ),
    (
        "kubectl delete ipclaim --namespace spectro-mgmt \"$ORPHAN_CLAIM\"",
        Some("kubectl delete deletes resources"),
    ),
    (
        "openssl s_client -connect <registry-host>:443 -servername <registry-host> \\\n  -showcerts </dev/null 2>/dev/null | openssl x509 -noout -subject -issuer -enddate",
        None,
    ),
    ("timedatectl", None),
    (
        "kubectl logs --namespace hubble-system deployment/auth --since=1h",
        None,
    ),
    ("timedatectl show --property=NTPSynchronized", None),
    (
        "ssh -i <key-name> spectro@<hostname>",
        Some("ssh spectro@<hostname> opens a remote shell where anything can be typed"),
    ),
    (
        "sudo --login",
        Some("`sudo --login` opens a shell where anything can be typed"),
    ),
    (
        "echo \"fs.file-max = 1000000\" > /etc/sysctl.d/99-maxfiles.conf",
        Some(
            "it writes to /etc/sysctl.d/99-maxfiles.conf; output redirected to a file (/etc/sysctl.d/99-maxfiles.conf)",
        ),
    ),
    (
        "sysctl -p /etc/sysctl.d/99-maxfiles.conf",
        Some("sysctl -p/-w changes kernel settings"),
    ),
    (
        "systemctl restart kubelet containerd",
        Some("systemctl restart changes running services"),
    ),
    ("sysctl fs.file-max", None),
    (
        "kubectl get pods --all-namespaces --selector k8s-app=calico-node \\\n  --output jsonpath='{range .items[*]}{.metadata.namespace}{\" \"}{.metadata.name}{\"\\n\"}{end}' |\nwhile read -r ns pod; do\n  kubectl logs --namespace \"$ns\" \"$pod\" --container calico-node | grep -- '--set-mark' || true\ndone",
        None,
    ),
    ("uname --kernel-release", None),
    (
        "git clone https://github.com/kairos-io/kairos.git\ncd kairos\ngit checkout v3.1.3",
        Some(
            "cannot prove read-only: `git clone` is not a command runbook knows to only read; cannot prove read-only: `git checkout` is not a command runbook knows to only read",
        ),
    ),
    (
        "./earthly.sh +base-image \\\n --FLAVOR=ubuntu \\\n --FLAVOR_RELEASE=24.04 \\\n --FAMILY=ubuntu \\\n --MODEL=generic \\\n --VARIANT=core \\\n --BASE_IMAGE=ubuntu:24.04 \\\n --BOOTLOADER=grub",
        Some("cannot prove read-only: `./earthly.sh` is not a command runbook knows to only read"),
    ),
    (
        "docker tag <local-image> <your-registry>/<your-kairos-image>:<your-version>",
        Some("cannot prove read-only: `docker tag` is not a command runbook knows to only read"),
    ),
    (
        "docker push <your-registry>/<your-kairos-image>:<your-version>",
        Some("docker push publishes an image to a registry"),
    ),
    ("sudo reboot", Some("reboot stops the machine")),
    (
        "kubectl delete pod upgrade-pod --namespace default",
        Some("kubectl delete deletes resources"),
    ),
    ("kubectl get nodes --output wide", None),
    (
        "export KUBECONFIG=<path-to-kubeconfig-file>",
        Some("it sets KUBECONFIG, which decides which cluster kubectl talks to"),
    ),
    (
        "kubectl get pods --all-namespaces --field-selector status.phase!=Running",
        None,
    ),
    ("kubectl get namespace <namespace> --show-labels", None),
    (
        "kubectl label namespace <namespace> \\\n  pod-security.kubernetes.io/enforce=privileged \\\n  pod-security.kubernetes.io/audit=privileged \\\n  pod-security.kubernetes.io/warn=privileged \\\n  --overwrite",
        Some("kubectl label changes resources"),
    ),
    (
        "kubectl delete pods --namespace <namespace> --all",
        Some("kubectl delete deletes resources"),
    ),
    ("kubectl get pods --namespace <namespace>", None),
    (
        "printf '%s\\n' <vcenter-server> | grep --extended-regexp '^https?://'",
        None,
    ),
    (
        "curl --insecure --silent --show-error --max-time 10 --output /dev/null \\\n  --write-out '%{http_code}\\n' https://<vcenter-server>",
        None,
    ),
    (
        "ssh -i <ssh-key-file> ubuntu@<installer-vm-ip>",
        Some("ssh ubuntu@<installer-vm-ip> opens a remote shell where anything can be typed"),
    ),
    ("cat /var/log/cloud-init-output.log", None),
    (
        "grep --ignore-case --extended-regexp 'error|fail' /var/log/cloud-init-output.log \\\n  || echo \"no error or failure lines found\"",
        None,
    ),
    ("vmtoolsd --cmd \"info-get guestinfo.ovfEnv\"", None),
    (
        "curl --silent --show-error --max-time 10 --output /dev/null \\\n  --write-out '%{http_code}\\n' https://<palette-endpoint>",
        None,
    ),
    (
        "cat > pcg-debug.sh << 'EOF'\n#!/bin/bash\nDESTDIR=\"/tmp/\"\nCONTAINER_LOGS_DIR=\"/var/log/containers/\"\nCLOUD_INIT_OUTPUT_LOG=\"/var/log/cloud-init-output.log\"\nCLOUD_INIT_LOG=\"/var/log/cloud-init.log\"\nKERN_LOG=\"/var/log/kern.log\"\nKUBELET_LOG=\"/tmp/kubelet.log\"\nSYSLOGS=\"/var/log/syslog*\"\nFILENAME=spectro-logs-$(date +%-Y%-m%-d)-$(date +%-HH%-MM%-SS).tgz\njournalctl -u kubelet > $KUBELET_LOG\ntar --create --gzip -h --file=$DESTDIR$FILENAME $CONTAINER_LOGS_DIR $CLOUD_INIT_LOG $CLOUD_INIT_OUTPUT_LOG $KERN_LOG $KUBELET_LOG $SYSLOGS\nretVal=$?\nif [ $retVal -eq 1 ]; then\n    echo \"Error creating spectro logs package\"\nelse\n    echo \"Successfully extracted spectro cloud logs: $DESTDIR$FILENAME\"\nfi\nEOF",
        Some("output redirected to a file (pcg-debug.sh)"),
    ),
    (
        "#!/bin/bash\n\nDESTDIR=\"/tmp/\"\n\nCONTAINER_LOGS_DIR=\"/var/log/containers/\"\nCLOUD_INIT_OUTPUT_LOG=\"/var/log/cloud-init-output.log\"\nCLOUD_INIT_LOG=\"/var/log/cloud-init.log\"\nKERN_LOG=\"/var/log/kern.log\"\nKUBELET_LOG=\"/tmp/kubelet.log\"\nSYSLOGS=\"/var/log/syslog*\"\n\nFILENAME=spectro-logs-$(date +%-Y%-m%-d)-$(date +%-HH%-MM%-SS).tgz\n\njournalctl -u kubelet > $KUBELET_LOG\n\ntar --create --gzip -h --file=$DESTDIR$FILENAME $CONTAINER_LOGS_DIR $CLOUD_INIT_LOG $CLOUD_INIT_OUTPUT_LOG $KERN_LOG $KUBELET_LOG $SYSLOGS\n\nretVal=$?\nif [ $retVal -eq 1 ]; then\n    echo \"Error creating spectro logs package\"\nelse\n    echo \"Successfully extracted spectro cloud logs: $DESTDIR$FILENAME\"\nfi",
        Some("output redirected to a file ($KUBELET_LOG); tar writes files"),
    ),
    (
        "chmod +x pcg-debug.sh && ./pcg-debug.sh",
        Some(
            "chmod changes files; cannot prove read-only: `./pcg-debug.sh` is not a command runbook knows to only read",
        ),
    ),
    ("ls -l /tmp/spectro-logs-*.tgz", None),
    ("kubectl get pods --all-namespaces | grep jet", None),
    (
        "curl --silent --show-error --max-time 10 --output /dev/null \\\n  --write-out '%{http_code}\\n' <image-url>",
        None,
    ),
    ("getent hosts <palette-endpoint>", None),
    (
        "timeout 10 bash -c 'exec 3<>/dev/tcp/<palette-endpoint>/443' \\\n  && echo \"port 443 reachable\"",
        None,
    ),
    (
        "for var in HTTP_PROXY HTTPS_PROXY; do\n  if [ -n \"${!var}\" ]; then echo \"$var is set\"; else echo \"$var is NOT set\"; fi\ndone",
        None,
    ),
    (
        "printf '%s\\n' <tag-value> | grep -E '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$'",
        None,
    ),
];

#[test]
fn bundled_blocks_have_their_read_only_verdict() {
    let catalog = Catalog::load(&[], true);
    let mut wrong = Vec::new();
    let mut seen = 0;
    for runbook in &catalog.runbooks {
        for scenario in &runbook.scenarios {
            for block in scenario
                .all_blocks()
                .filter(|b| b.kind == BlockKind::Command)
            {
                seen += 1;
                let got = runbook::exec::classify_block(block, Trust::Local).read_only_refusal();
                let want = BUNDLED
                    .iter()
                    .find(|(code, _)| code.trim() == block.code.trim())
                    .map(|(_, v)| v.map(str::to_owned));
                if want != Some(got.clone()) {
                    wrong.push(format!("({:?}, {:?}),", block.code.trim(), got.as_deref()));
                }
            }
        }
    }
    assert!(seen > 40, "{seen} blocks");
    assert!(wrong.is_empty(), "update BUNDLED:\n{}", wrong.join("\n"));
}
