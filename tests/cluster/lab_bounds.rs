//! The practice cluster's own defences (issue 17 §5): it demands the bearer token of its
//! kubeconfig (kept private on disk), caps the request rate of each connection with `429` and
//! `Retry-After`, and bounds what a watch holds by bytes, ending a watch that fell behind with
//! the real server's `410 Expired` ERROR event.

use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::lab_support::http::{Endpoint, connect_for, get, request};
use crate::lab_support::{kubectl_available, start_with, stderr};
use runbook::lab::{Lab, LabOptions};
use serde_json::json;

#[test]
fn the_lab_demands_the_token_its_private_kubeconfig_holds() {
    let lab = Lab::start_blocking(LabOptions {
        scenario: Some(runbook::lab::EMPTY.into()),
        extra_objects: vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}}),
        ],
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    let token = lab
        .token()
        .unwrap_or_else(|| panic!("a lab has a token by default"));
    assert!(token.len() >= 32, "{token}");
    let text = std::fs::read_to_string(lab.kubeconfig_path()).unwrap_or_default();
    assert!(text.contains(&format!("token: {token}")), "{text}");
    let mode = |p: &std::path::Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or_default()
    };
    assert_eq!(mode(lab.kubeconfig_path()), 0o600);
    assert_eq!(mode(&lab.dir()), 0o700);

    let anonymous = Endpoint {
        token: None,
        ..Endpoint::from(&lab)
    };
    let r = get(anonymous.clone(), "/api/v1/namespaces");
    assert_eq!(r.status, 401, "{}", r.body);
    assert_eq!(r.json()["reason"], "Unauthorized");
    let wrong = Endpoint {
        token: Some("guessed".into()),
        ..Endpoint::from(&lab)
    };
    assert_eq!(get(wrong.clone(), "/api/v1/namespaces").status, 401);
    // Health and version are public, as on a real server; a wrong token is still refused.
    assert_eq!(get(anonymous.clone(), "/readyz").body, "ok");
    assert_eq!(get(anonymous, "/version").status, 200);
    assert_eq!(get(wrong, "/readyz").status, 401);
    assert_eq!(get(&lab, "/api/v1/namespaces").status, 200);
    // Plain HTTP is not spoken, and the certificate is the lab CA's.
    assert!(lab.url().starts_with("https://127.0.0.1:"), "{}", lab.url());
    let plain = get(
        Endpoint {
            ca_pem: None,
            ..Endpoint::from(&lab)
        },
        "/readyz",
    );
    assert_ne!(plain.status, 200);

    if kubectl_available() {
        let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let out = std::process::Command::new("kubectl")
            .args(["get", "namespaces", "-o", "name"])
            .env("KUBECONFIG", lab.kubeconfig_path())
            .env("KUBECACHEDIR", cache.path())
            .env("HOME", cache.path())
            .output()
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "namespace/default\n",
            "{}",
            stderr(&out)
        );
    }
    // An open lab is a choice: no token anywhere.
    let open = Lab::start_blocking(LabOptions {
        scenario: Some(runbook::lab::EMPTY.into()),
        open: true,
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(open.token(), None);
    assert_eq!(get(open.addr(), "/api/v1/namespaces").status, 200);
}

/// `n` pipelined GETs on one keep-alive connection; the status codes in order.
fn pipelined(to: &Endpoint, n: usize) -> Vec<u16> {
    let mut s = connect_for(to, Duration::from_secs(30));
    let mut all = String::new();
    for i in 0..n {
        let close = if i + 1 == n {
            "Connection: close\r\n"
        } else {
            ""
        };
        all.push_str("GET /version HTTP/1.1\r\nHost: lab\r\n");
        all.push_str(close);
        all.push_str("\r\n");
    }
    s.write_all(all.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    raw.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| raw.get(i + 9..i + 12)?.parse().ok())
        .collect()
}

#[test]
fn a_connection_over_its_rate_is_told_to_retry_later() {
    let lab = start_with(runbook::lab::EMPTY, Vec::new());
    let codes = pipelined(&lab.endpoint(), 2_500);
    assert_eq!(codes.len(), 2_500);
    let ok = codes.iter().filter(|c| **c == 200).count();
    let limited = codes.iter().filter(|c| **c == 429).count();
    assert!(ok >= 1_000, "the burst is served: {ok}");
    assert!(limited > 0, "a flood on one connection is held back");
    assert_eq!(ok + limited, codes.len());
    // Another connection is not held back by the first one's flood.
    let r = get(lab.endpoint(), "/version");
    assert_eq!(r.status, 200);
    // What a limited request reads: the real Status and Retry-After.
    let mut s = connect_for(&lab.endpoint(), Duration::from_secs(30));
    let mut flood = "GET /version HTTP/1.1\r\nHost: lab\r\n\r\n".repeat(1_199);
    flood.push_str("GET /version HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n");
    s.write_all(flood.as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut raw = String::new();
    let _ = s.read_to_string(&mut raw);
    let at = raw.find("HTTP/1.1 429").unwrap_or_else(|| panic!("no 429"));
    let reply = &raw[at..];
    assert!(
        reply.contains("retry-after: 1\r\n"),
        "{}",
        &reply[..400.min(reply.len())]
    );
    assert!(reply.contains(r#""reason":"TooManyRequests""#));
    assert!(reply.contains("Too many requests, please try again later."));
}

#[test]
fn an_unread_watch_is_bounded_and_ends_with_410_once_it_fell_behind() {
    let ns = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "default"}});
    let lab = start_with(runbook::lab::EMPTY, vec![ns]);
    let e = lab.endpoint();
    let rv = get(e.clone(), "/api/v1/namespaces/default/configmaps").json()["metadata"]
        ["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    // A watch nobody reads.
    let mut watch = connect_for(&e, Duration::from_secs(60));
    let head = format!(
        "GET /api/v1/namespaces/default/configmaps?watch=true&resourceVersion={rv} HTTP/1.1\r\nHost: lab\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
        e.token.clone().unwrap_or_default()
    );
    watch
        .write_all(head.as_bytes())
        .unwrap_or_else(|err| panic!("{err}"));
    // 64 MiB of writes: twice what the history keeps.
    let big = "x".repeat(512 * 1024);
    for i in 0..128 {
        let body = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("big-{i}")}, "data": {"blob": big}});
        let r = request(
            e.clone(),
            "POST",
            "/api/v1/namespaces/default/configmaps",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        assert_eq!(r.status, 201, "{}", &r.body[..200.min(r.body.len())]);
    }
    // Now read it: what fitted in its budget, then the 410 ERROR event, then the end.
    let mut raw = Vec::new();
    let _ = watch.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let added = text.matches(r#"{"type":"ADDED""#).count();
    assert!(added >= 1, "the watch saw the first writes");
    assert!(added < 128, "it did not hold every write: {added}");
    let tail = &text[text.rfind(r#"{"type":"#).unwrap_or(0)..];
    assert!(
        tail.starts_with(r#"{"type":"ERROR""#),
        "{}",
        &tail[..300.min(tail.len())]
    );
    assert!(
        tail.contains(r#""reason":"Expired""#) && tail.contains(r#""code":410"#),
        "{tail}"
    );
    assert!(tail.contains("too old resource version"), "{tail}");
}

/// Issue 17 §6: a `target=nodes` step pointed at a practice cluster dials none of its nodes
/// (their addresses are documentation addresses, or someone's machine), and says why.
#[test]
fn node_steps_never_dial_the_practice_clusters_nodes() {
    let lab = start_with(runbook::lab::PRACTICE, Vec::new());
    let ips = lab.kubectl_ok(&[
        "get",
        "nodes",
        "-o",
        "jsonpath={.items[*].status.addresses[?(@.type==\"InternalIP\")].address}",
    ]);
    assert!(!ips.is_empty());
    for ip in ips.split_whitespace() {
        assert!(ip.starts_with("192.0.2."), "an RFC 5737 address: {ip}");
    }
    // An `ssh` that records being run: it must not be.
    let bin = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let marker = bin.path().join("dialled");
    let ssh = bin.path().join("ssh");
    std::fs::write(
        &ssh,
        format!("#!/bin/sh\necho \"$@\" >> {}\nexit 255\n", marker.display()),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&ssh, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/nodes/nodes.md");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_runbook"))
        .arg("run")
        .arg(&fixture)
        .args(["--scenario", "clocks"])
        .env("KUBECONFIG", lab.kubeconfig())
        .env("XDG_CONFIG_HOME", bin.path().join("xdg"))
        .env("HOME", bin.path())
        .env("PATH", path)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.contains("node steps do not dial practice-cluster nodes"),
        "{text}"
    );
    assert!(
        !marker.exists(),
        "ssh was run: {:?}",
        std::fs::read_to_string(&marker)
    );
}
