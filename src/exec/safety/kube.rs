//! kubectl and helm: which verbs read, which write to the cluster (and whether they are
//! destructive), which write here or open the cluster to other programs.
//!
//! A cluster write through the session's kubeconfig is listed in
//! [`super::Classification::cluster_writes`] (runbook's gate refuses it under read-only and
//! makes it a server-side dry run in a dry run); the same write with a kubeconfig, server or
//! token of its own, or under `sudo`/`ssh`, does not reach the gate and is unproven. To add a
//! verb, put it in the match of [`Classifier::kubectl`] or [`Classifier::helm`].

use super::options::{self, Spec};
use super::{Classifier, has_it};

/// Options that make kubectl talk to a cluster, or as someone, of its own choosing.
const KUBECTL_OWN_CREDENTIALS: &[&str] = &[
    "kubeconfig",
    "server",
    "s",
    "token",
    "username",
    "password",
    "client-certificate",
    "client-key",
    "certificate-authority",
];

/// Options that make helm talk to a cluster of its own choosing.
const HELM_OWN_CREDENTIALS: &[&str] =
    &["kubeconfig", "kube-apiserver", "kube-token", "kube-ca-file"];

impl Classifier {
    /// A write to the cluster: through the gate when `gated`, else unproven.
    fn cluster_write(&mut self, reason: String, destructive: bool, gated: bool) {
        if destructive {
            self.out.destructive = true;
            self.out.push(reason.clone());
        }
        if gated {
            super::push(&mut self.out.cluster_writes, reason);
        } else {
            self.out.unproven(format!(
                "{reason}, and not through runbook's gate (its own credentials, sudo or ssh)"
            ));
        }
    }

    pub(super) fn kubectl(&mut self, name: &str, args: &[String]) {
        let p = options::parse(Spec::of("kubectl"), args);
        let gated = self.gated && !p.has(KUBECTL_OWN_CREDENTIALS);
        let ops: Vec<&str> = p.operands.iter().map(String::as_str).collect();
        let Some(verb) = ops.first().copied() else {
            return;
        };
        let sub = ops.get(1).copied();
        // `--dry-run=client` sends nothing; `--dry-run=server` persists nothing.
        let dry = p
            .value(&["dry-run"])
            .map_or(p.has(&["dry-run"]).then_some("client"), Some)
            .filter(|v| *v != "none");
        if dry == Some("client") && verb != "get" {
            return;
        }
        let destructive = dry.is_none();
        let write = |c: &mut Self, reason: String, destructive: bool| {
            c.cluster_write(reason, destructive, gated);
        };
        match verb {
            "get" | "describe" | "logs" | "top" | "explain" | "api-resources" | "api-versions"
            | "version" | "events" | "wait" | "completion" | "options" | "help" | "kustomize" => {}
            "cluster-info" => {
                if p.has(&["output-directory"]) {
                    self.out
                        .unproven(format!("{name} cluster-info dump writes files"));
                }
            }
            "auth" => match sub {
                Some("can-i" | "whoami") => {}
                Some("reconcile") => write(
                    self,
                    format!("{name} auth reconcile changes roles"),
                    destructive,
                ),
                _ => self.not_known(&format!("{name} auth")),
            },
            "config" => match sub {
                Some(
                    "view" | "get-contexts" | "get-clusters" | "get-users" | "current-context",
                ) => {}
                _ => self.out.unproven(format!(
                    "{name} config {} changes a kubeconfig",
                    sub.unwrap_or_default()
                )),
            },
            "plugin" if sub == Some("list") => {}
            "delete" => write(
                self,
                format!("{name} delete deletes resources"),
                destructive,
            ),
            "drain" => write(
                self,
                format!("{name} drain evicts every pod from a node"),
                destructive,
            ),
            "cordon" | "uncordon" => write(
                self,
                format!("{name} {verb} changes whether a node takes pods"),
                destructive,
            ),
            "taint" => write(
                self,
                format!("{name} taint changes where pods may run"),
                destructive,
            ),
            "patch" | "apply" | "replace" | "create" | "set" | "autoscale" | "expose" | "run" => {
                write(
                    self,
                    format!("{name} {verb} changes resources"),
                    destructive,
                );
            }
            "edit" => {
                self.out.interactive(format!("{name} edit opens an editor"));
                write(self, format!("{name} edit changes resources"), destructive);
            }
            "scale" => write(
                self,
                format!("{name} scale changes the number of replicas"),
                destructive,
            ),
            "label" | "annotate" => {
                let removes = ops[1..]
                    .iter()
                    .any(|a| a.ends_with('-') && !a.contains('='));
                let overwrite =
                    p.has(&["overwrite"]) && p.value(&["overwrite"]).is_none_or(|v| v != "false");
                if (overwrite || removes) && destructive {
                    self.out.destructive = true;
                    self.out.push(format!(
                        "{name} {verb} --overwrite replaces existing {verb}s"
                    ));
                }
                write(self, format!("{name} {verb} changes resources"), false);
            }
            "rollout" => match sub {
                Some(s @ ("restart" | "undo" | "pause" | "resume")) => write(
                    self,
                    format!("{name} rollout {s} restarts or changes workloads"),
                    destructive,
                ),
                Some("status" | "history") => {}
                _ => self.not_known(&format!("{name} rollout")),
            },
            "certificate" => match sub {
                Some(s @ ("approve" | "deny")) => write(
                    self,
                    format!("{name} certificate {s} changes a certificate request"),
                    destructive,
                ),
                _ => self.not_known(&format!("{name} certificate")),
            },
            "diff" => write(
                self,
                format!("{name} diff asks the API server for a dry run"),
                false,
            ),
            "cp" => {
                let to_container = ops
                    .last()
                    .is_some_and(|dest| ops.len() > 2 && dest.contains(':'));
                if to_container {
                    self.out.destructive = true;
                    self.out.push(format!("{name} cp writes into a container"));
                }
                self.out
                    .unproven(format!("{name} cp copies files through a container"));
            }
            "exec" | "attach" | "debug" => {
                if has_it(args) {
                    self.out
                        .interactive(format!("{name} {verb} -it needs the terminal"));
                }
                if verb == "debug" {
                    self.out.destructive = true;
                    self.out.push(format!("{name} debug creates a pod"));
                }
                self.out
                    .unproven(format!("{name} {verb} runs a command in a container"));
                if let Some(dd) = args.iter().position(|a| a == "--") {
                    self.ungated(&args[dd + 1..]);
                }
            }
            "port-forward" => self.out.unproven(format!(
                "{name} port-forward opens a local port into the cluster"
            )),
            "proxy" => self.out.unproven(format!(
                "{name} proxy opens the cluster to every local program"
            )),
            _ => self.not_known(&format!("{name} {verb}")),
        }
    }

    pub(super) fn helm(&mut self, args: &[String]) {
        let p = options::parse(Spec::of("helm"), args);
        let gated = self.gated && !p.has(HELM_OWN_CREDENTIALS);
        let ops: Vec<&str> = p.operands.iter().map(String::as_str).collect();
        let sub = ops.get(1).copied();
        let dry = p.has(&["dry-run"]);
        match ops.first().copied() {
            None
            | Some(
                "list" | "ls" | "status" | "get" | "history" | "hist" | "show" | "inspect"
                | "search" | "version" | "env" | "lint" | "verify" | "help" | "completion",
            ) => {}
            Some("template") => {
                if p.has(&["output-dir"]) {
                    self.out.unproven("helm template --output-dir writes files");
                }
            }
            Some(
                s @ ("install" | "upgrade" | "uninstall" | "delete" | "del" | "un" | "rollback"),
            ) => self.cluster_write(
                format!("helm {s} changes releases in the cluster"),
                !dry,
                gated,
            ),
            Some("test") => {
                self.cluster_write(
                    "helm test runs test pods in the cluster".to_owned(),
                    false,
                    gated,
                );
            }
            Some("repo" | "dependency" | "dep" | "plugin") if sub == Some("list") => {}
            Some(
                s @ ("repo" | "dependency" | "dep" | "plugin" | "registry" | "pull" | "fetch"
                | "package" | "create"),
            ) => {
                self.out.unproven(format!("helm {s} writes files here"));
            }
            Some("push") => self.out.destructive("helm push publishes a chart"),
            Some(other) => self.not_known(&format!("helm {other}")),
        }
    }
}
