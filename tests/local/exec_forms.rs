//! Destructive commands in the forms copied docs and scripts write them (issue 17 §7):
//! options before the verb, bundled short options, wrappers, `find -delete`, `perl -pi`,
//! the `function` keyword, substitutions inside `${...}` and `(( ))`, and redirections to
//! system paths in every spelling; each next to a harmless look-alike. One row per command:
//! `D` destructive (asked in confirm mode), `S` not destructive, `I` interactive,
//! `DI` both.

use runbook::exec::classify;

const FORMS: &[(&str, &str)] = &[
    // curl: the method however spelled.
    ("curl -sXDELETE https://api/x", "D"),
    ("curl -sX DELETE https://api/x", "D"),
    ("curl -XPOST https://api/x", "D"),
    ("curl --request=PATCH https://api/x", "D"),
    ("curl -s -X put https://api/x", "D"),
    ("curl -sd 'a=1' https://api/x", "D"),
    ("curl --json '{}' https://api/x", "D"),
    ("curl -F f=@x https://api/x", "D"),
    ("curl -T file https://api/x", "D"),
    ("curl -fsSL https://api/x", "S"),
    ("curl -sG -d q=1 https://api/x", "S"),
    ("curl -sX GET https://api/x", "S"),
    ("curl -I https://api/x", "S"),
    ("curl -o /dev/null -w '%{http_code}' https://api/x", "S"),
    // wget
    ("wget --method=DELETE https://api/x", "D"),
    ("wget --post-data=a https://api/x", "D"),
    ("wget -qO- https://api/x", "S"),
    // sed / perl in place, bundled.
    ("sed -Ei 's/a/b/' /etc/hosts", "D"),
    ("sed -i.bak 's/a/b/' f", "D"),
    ("sed --in-place 's/a/b/' f", "D"),
    ("sed -ni 's/a/b/p' f", "D"),
    ("sed -n 's/a/b/p' f", "S"),
    ("sed -E 's/(a|b)/c/g' f", "S"),
    ("perl -pi -e 's/a/b/' f", "D"),
    ("perl -i -pe 's/a/b/' f", "D"),
    ("perl -pie 's/a/b/' f", "D"),
    ("perl -ne 'print if /x/' f", "S"),
    // Options before the verb.
    ("helm -n ns uninstall app", "D"),
    ("helm --namespace ns delete app", "D"),
    ("helm --kube-context prod upgrade app chart", "D"),
    ("helm -n ns list", "S"),
    ("helm -n ns status app", "S"),
    ("kubectl --profile none delete pod x", "D"),
    ("kubectl -n ns --context prod delete pod x", "D"),
    ("kubectl --namespace=ns delete pod x", "D"),
    ("kubectl -v 6 delete pod x", "D"),
    ("kubectl --request-timeout 5s get pods", "S"),
    ("kubectl -n delete get pods", "S"),
    ("kubectl get pod delete", "S"),
    ("kubectl delete pod x --dry-run=client", "S"),
    ("kubectl delete pod x --dry-run=server", "S"),
    ("kubectl delete pod x --dry-run=none", "D"),
    ("kubectl label ns x a=b --overwrite", "D"),
    ("kubectl label ns x a-", "D"),
    ("kubectl label ns x a=b", "S"),
    ("kubectl rollout -n ns restart deploy/x", "D"),
    ("kubectl rollout status deploy/x", "S"),
    ("kubectl certificate approve csr-1", "D"),
    ("kubectl debug node/n -it --image=busybox", "DI"),
    ("kubectl exec -it p -- sh", "I"),
    ("kubectl exec p -- rm -rf /data", "D"),
    ("kubectl cp ./f p:/tmp/f", "D"),
    ("kubectl cp p:/tmp/f ./f", "S"),
    ("etcdctl --endpoints https://e:2379 del /registry/x", "D"),
    (
        "etcdctl --endpoints=https://e:2379 --cacert ca.crt put k v",
        "D",
    ),
    ("etcdctl -w table member list", "S"),
    (
        "etcdctl --endpoints https://e:2379 get / --prefix --keys-only",
        "S",
    ),
    ("etcdctl snapshot restore snap.db", "D"),
    ("etcdctl member remove 8e9e05c52164694d", "D"),
    ("ctr -n k8s.io images rm docker.io/x:1", "D"),
    ("ctr --namespace k8s.io containers delete c1", "D"),
    ("ctr -n k8s.io tasks kill c1", "D"),
    ("ctr -n k8s.io images ls", "S"),
    (
        "crictl -r unix:///run/containerd/containerd.sock rmi abc",
        "D",
    ),
    ("crictl --runtime-endpoint unix:///x rm c1", "D"),
    ("crictl -r unix:///x ps -a", "S"),
    ("crictl stopp p1", "D"),
    ("systemctl -H host restart kubelet", "D"),
    ("systemctl --no-pager -M m stop containerd", "D"),
    ("systemctl -t service --state=running list-units", "S"),
    ("systemctl daemon-reload", "D"),
    ("systemctl mask kubelet", "D"),
    ("systemctl status kubelet --no-pager", "S"),
    ("systemctl is-active kubelet", "S"),
    ("docker -H tcp://h:2375 rm -f c1", "D"),
    ("docker system prune -af", "D"),
    ("docker image rm x", "D"),
    ("docker ps -a", "S"),
    ("podman --remote push img", "D"),
    ("nerdctl -n k8s.io rmi x", "D"),
    ("journalctl --vacuum-time=1d", "D"),
    ("journalctl -u kubelet --since -1h", "S"),
    ("timedatectl set-ntp true", "D"),
    ("timedatectl show --property=NTPSynchronized", "S"),
    ("hostnamectl set-hostname n1", "D"),
    ("date -s '2024-01-01 00:00'", "D"),
    ("date +%s", "S"),
    ("hostname new-name", "D"),
    ("hostname -f", "S"),
    ("iptables -t nat -F", "D"),
    ("iptables -w -A INPUT -j DROP", "D"),
    ("iptables -L -n", "S"),
    ("ip route add 10.0.0.0/8 via 1.2.3.4", "D"),
    ("ip -4 addr show", "S"),
    ("dmesg -C", "D"),
    ("dmesg -T", "S"),
    ("mount /dev/sdb1 /mnt", "D"),
    ("mount", "S"),
    (
        "apt-get -y -o Dpkg::Options::=--force-confold install jq",
        "D",
    ),
    ("apt-get update", "S"),
    ("dnf -y --enablerepo=x install jq", "D"),
    ("git -C repo push --force", "D"),
    ("git -C repo status", "S"),
    // Wrappers.
    ("su -c 'systemctl restart kubelet'", "D"),
    ("su - root -c 'rm -rf /var/lib/kubelet'", "D"),
    ("su -lc 'reboot'", "D"),
    ("su -", "I"),
    ("runuser -u kube -- rm -rf /var/lib/x", "D"),
    ("runuser -l kube -c 'systemctl stop kubelet'", "D"),
    ("setsid rm -rf /var/lib/x", "D"),
    ("setsid -f systemctl restart kubelet", "D"),
    ("flock /run/lock/x rm -rf /var/lib/x", "D"),
    ("flock -w 5 /run/lock/x -c 'systemctl restart kubelet'", "D"),
    ("time -p rm -rf /var/lib/x", "D"),
    ("time kubectl delete pod x", "D"),
    ("sudo -iu root rm -rf /var/lib/x", "D"),
    ("sudo -u root -H systemctl restart kubelet", "D"),
    ("sudo -E kubectl delete pod x", "D"),
    ("sudo -iu root", "I"),
    ("env -S 'rm -rf /var/lib/x'", "D"),
    ("env -i PATH=/usr/bin rm x", "D"),
    ("env -u HOME systemctl restart kubelet", "D"),
    ("script -qc 'rm -rf /var/lib/x' /dev/null", "D"),
    ("script -q -c \"kubectl delete pod x\" /dev/null", "D"),
    ("timeout -s KILL 10 rm -rf x", "D"),
    ("nohup systemctl restart kubelet &", "D"),
    ("nice -n 10 ionice -c3 rm -rf x", "D"),
    ("stdbuf -oL rm -rf x", "D"),
    ("busybox rm -rf x", "D"),
    ("command rm x", "D"),
    ("command -v rm", "S"),
    ("exec rm x", "D"),
    ("xargs -0 -I{} rm {}", "D"),
    ("xargs -r -n1 kubectl delete pod", "D"),
    ("watch -n 5 kubectl delete pod x", "DI"),
    (
        "nsenter -t 1 -m -u -i -n -p -- systemctl restart kubelet",
        "D",
    ),
    ("chroot /host systemctl restart kubelet", "D"),
    ("strace -f -o /tmp/t rm x", "D"),
    ("bash -ec 'rm -rf x'", "D"),
    ("bash -o pipefail -c 'kubectl delete pod x'", "D"),
    ("sh -xc \"systemctl stop kubelet\"", "D"),
    ("ssh -p 2222 -i k spectro@h sudo reboot", "D"),
    ("ssh -o StrictHostKeyChecking=no h 'rm -rf /var/lib/x'", "D"),
    ("ssh h uptime", "S"),
    ("eval \"kubectl delete pod x\"", "D"),
    ("trap 'rm -rf /tmp/x' EXIT", "D"),
    // find
    ("find /var/log -name '*.gz' -delete", "D"),
    ("find . -type f -exec rm -f {} \\;", "D"),
    ("find . -name x -exec rm {} +", "D"),
    ("find /etc -name '*.conf' -exec sed -i 's/a/b/' {} \\;", "D"),
    ("find . -name '*.log' -print", "S"),
    ("find . -name x -exec cat {} \\;", "S"),
    // Functions, the keyword form too.
    ("function cleanup { rm -rf /var/lib/x; }; cleanup", "D"),
    ("function cleanup() { systemctl stop kubelet; }", "D"),
    ("cleanup() { rm -rf x; }", "D"),
    ("function show { cat x; }; show", "S"),
    // Substitutions inside ${...} and (( )).
    ("echo ${X:-$(rm -rf /tmp/x)}", "D"),
    ("echo \"${X:=`systemctl stop kubelet`}\"", "D"),
    ("(( $(kubectl delete pod x | wc -l) > 0 ))", "D"),
    ("echo $(( $(rm -f x; echo 1) + 1 ))", "D"),
    ("echo ${X:-default}", "S"),
    ("echo $(( 1 + 2 ))", "S"),
    // Redirections to system paths, every spelling.
    ("echo 1 > //etc/hosts", "D"),
    ("echo 1 > /etc/./hosts", "D"),
    ("echo 1 > /tmp/../etc/hosts", "D"),
    ("echo 1 >& /etc/hosts", "D"),
    ("echo 1 &> /etc/hosts", "D"),
    ("echo 1 >> '/etc/hosts'", "D"),
    ("echo 1 >| /etc/hosts", "D"),
    ("{ echo a; echo b; } > /etc/hosts", "D"),
    ("( echo a ) > /etc/hosts", "D"),
    ("cd /etc && > hosts", "D"),
    ("cd /etc; echo x >> hosts", "D"),
    ("echo b > /proc/sysrq-trigger", "D"),
    ("echo 1 > /proc/sys/net/ipv4/ip_forward", "D"),
    ("cat img > /dev/sda", "D"),
    ("exec 3> /etc/hosts", "D"),
    ("echo x | tee -a /etc/hosts", "D"),
    ("echo 1 > /dev/null", "S"),
    ("echo 1 >&2", "S"),
    ("echo 1 2>&1", "S"),
    ("echo 1 > /tmp/out", "S"),
    ("cd /etc && cat hosts", "S"),
    ("cat < /etc/hosts", "S"),
    // Copies and moves onto system paths.
    ("cp -t /etc/ssl/certs ca.crt", "D"),
    ("install -m 0644 unit /lib/systemd/system/x.service", "D"),
    ("ln -sf /dev/null /etc/systemd/system/x.service", "D"),
    ("chmod 000 /usr/bin/kubelet", "D"),
    ("chown root: /etc/kubernetes/admin.conf", "D"),
    ("dd if=/dev/zero of=/dev/sdb bs=1M", "D"),
    ("dd if=/dev/sda bs=512 count=1 | xxd", "S"),
    ("tar -xzf backup.tgz -C /etc", "D"),
    ("tar -tzf backup.tgz", "S"),
    ("crontab -r", "D"),
    ("crontab -l", "S"),
    ("kill -9 1234", "D"),
    ("kill -l", "S"),
    ("hwclock --systohc", "D"),
    ("chronyc makestep", "D"),
    ("chronyc tracking", "S"),
    ("useradd deploy", "D"),
    ("update-ca-certificates", "D"),
    ("modprobe br_netfilter", "D"),
    ("sysctl -w net.ipv4.ip_forward=1", "D"),
    ("sysctl net.ipv4.ip_forward", "S"),
    // Interactive.
    ("vim /etc/hosts", "I"),
    ("less /var/log/syslog", "I"),
    ("top", "I"),
    ("top -b -n 1", "S"),
    ("mtr 8.8.8.8", "I"),
    ("mtr -r -c 3 8.8.8.8", "S"),
    ("python3", "I"),
    ("ssh node", "I"),
    ("kubectl edit cm x", "DI"),
    ("systemctl edit kubelet", "DI"),
];

fn class(cmd: &str) -> String {
    let c = classify(cmd);
    let mut s = String::new();
    if c.destructive {
        s.push('D');
    }
    if c.interactive {
        s.push('I');
    }
    if s.is_empty() {
        s.push('S');
    }
    s
}

#[test]
fn forms_people_write_are_classified() {
    assert!(FORMS.len() >= 150, "{} rows", FORMS.len());
    let wrong: Vec<String> = FORMS
        .iter()
        .filter(|(cmd, want)| class(cmd) != *want)
        .map(|(cmd, want)| format!("{cmd}\n  want {want}, got {:?}", classify(cmd)))
        .collect();
    assert!(
        wrong.is_empty(),
        "{} wrong:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn every_destructive_verdict_gives_a_reason() {
    for (cmd, _) in FORMS {
        let c = classify(cmd);
        if c.destructive || c.interactive {
            assert!(!c.reasons.is_empty(), "{cmd}");
        }
    }
}
