//! Shared helpers for the lab tests: start a lab for a scenario id, run the real kubectl (or a
//! shell line) against it with a private discovery cache.
//!
//! `start(id)` is the entry point other tests (e.g. `runbook run --yes` against a lab) use:
//! it returns a [`TestLab`] whose `kubeconfig()` is the path to point tools at.

#![allow(dead_code)]

pub mod http;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use runbook::lab::{Lab, LabHandle, LabOptions, Timing};
use serde_json::Value;

/// A running lab plus a per-test kubectl cache dir.
pub struct TestLab {
    pub handle: LabHandle,
    pub cache: tempfile::TempDir,
}

/// Fast simulated kubelet / namespace controller, so tests do not wait.
pub fn fast_timing() -> Timing {
    Timing {
        kubelet_delay: Duration::from_millis(100),
        namespace_delay: Duration::from_millis(300),
    }
}

/// Start a lab for `scenario` (a lab scenario id, `practice`, or `empty`).
pub fn start(scenario: &str) -> TestLab {
    start_with(scenario, Vec::new())
}

/// Start a lab for `scenario` with extra seed objects.
pub fn start_with(scenario: &str, extra_objects: Vec<Value>) -> TestLab {
    let handle = Lab::start_blocking(LabOptions {
        scenario: Some(scenario.to_owned()),
        extra_objects,
        timing: fast_timing(),
        token: Some(TEST_TOKEN.to_owned()),
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("lab {scenario} did not start: {e}"));
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    TestLab { handle, cache }
}

/// Start a lab for `scenario` serving plain HTTP without authentication, for a test that puts
/// a TLS front of its own before it.
pub fn start_open(scenario: &str) -> TestLab {
    let handle = Lab::start_blocking(LabOptions {
        scenario: Some(scenario.to_owned()),
        timing: fast_timing(),
        open: true,
        ..LabOptions::default()
    })
    .unwrap_or_else(|e| panic!("lab {scenario} did not start: {e}"));
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    TestLab { handle, cache }
}

/// True when kubectl can be run. Missing kubectl fails the test under `CI`, else skips it.
pub fn kubectl_available() -> bool {
    let ok = Command::new("kubectl")
        .args(["version", "--client"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("CI").is_none(),
            "kubectl is not installed but CI is set: the lab conformance tests must run"
        );
        eprintln!("skipping: kubectl not found on PATH");
    }
    ok
}

/// The token test labs demand: the one the context tests write into the user kubeconfigs they
/// make for a lab, so those kubeconfigs authenticate for real.
pub const TEST_TOKEN: &str = "not-a-secret";

impl TestLab {
    /// Address and token for raw HTTP requests ([`http::request`]).
    pub fn endpoint(&self) -> http::Endpoint {
        http::Endpoint::from(&self.handle)
    }

    pub fn kubeconfig(&self) -> &Path {
        self.handle.kubeconfig_path()
    }

    /// The folder of the kubeconfig (helper files like `csi-helper` live there).
    pub fn dir(&self) -> PathBuf {
        self.handle.dir()
    }

    fn env(&self, cmd: &mut Command) {
        cmd.env("KUBECONFIG", self.kubeconfig())
            .env("KUBECACHEDIR", self.cache.path())
            .env("HOME", self.cache.path())
            .env_remove("KUBECTL_EXTERNAL_DIFF")
            .current_dir(self.dir());
    }

    /// `kubectl <args>` against the lab.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new("kubectl");
        cmd.args(args);
        self.env(&mut cmd);
        cmd.output()
            .unwrap_or_else(|e| panic!("kubectl {args:?}: {e}"))
    }

    /// `kubectl <args>` that must succeed; returns stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A bash script against the lab (pipes, loops, variables), from the lab's folder.
    pub fn sh(&self, script: &str) -> Output {
        self.sh_env(script, &[])
    }

    /// [`Self::sh`] with extra variables. A script that hangs (a `kubectl drain` waiting on
    /// an eviction forever, a watch) is killed with its process group after two minutes and
    /// exits 124, so a test fails instead of holding CI.
    pub fn sh_env(&self, script: &str, vars: &[(String, String)]) -> Output {
        let mut cmd = Command::new("timeout");
        cmd.args(["--kill-after=5", "120", "bash", "-c", script]);
        self.env(&mut cmd);
        for (k, v) in vars {
            cmd.env(k, v);
        }
        cmd.output()
            .unwrap_or_else(|e| panic!("bash -c {script}: {e}"))
    }
}

/// stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
