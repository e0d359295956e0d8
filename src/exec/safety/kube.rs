//! kubectl and helm: which verbs read, which write to the cluster (and whether they are
//! destructive), which write here or open the cluster to other programs.
//!
//! A cluster write through the session's kubeconfig is listed in
//! [`super::Classification::cluster_writes`] (runbook's gate refuses it under read-only and
//! makes it a server-side dry run in a dry run); the same write with a kubeconfig, server or
//! token of its own, or under `sudo`/`ssh`, does not reach the gate and is unproven. To add a
//! kubectl verb, add a row to `KUBECTL_VERBS` (a [`Classifier`] method where the options
//! decide); a helm one, to the match of [`Classifier::helm`].

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

/// What a kubectl verb (or `verb subcommand`) does: the classifier's per-verb knowledge.
#[derive(Clone, Copy)]
enum Effect {
    /// Only reads.
    Reads,
    /// Changes the cluster (destructive unless a dry run); says what it changes.
    Writes(&'static str),
    /// Sends its writes for the API server to check and keep none (`diff`).
    Checks(&'static str),
    /// Does what the classifier cannot prove harmless (writes here, opens the cluster).
    Unproven(&'static str),
    /// Depends on the subcommand; one not listed is `Otherwise`.
    Sub(&'static [(&'static [&'static str], Effect)], Otherwise),
    /// Depends on options or arguments.
    Special(fn(&mut Classifier, &Call<'_>)),
}

/// A subcommand not in a verb's list.
#[derive(Clone, Copy)]
enum Otherwise {
    NotKnown,
    Unproven(&'static str),
}

/// The kubectl verbs runbook knows. To add one, add a row (or a name to a row).
const KUBECTL_VERBS: &[(&[&str], Effect)] = &[
    (
        &[
            "get",
            "describe",
            "logs",
            "top",
            "explain",
            "api-resources",
            "api-versions",
            "version",
            "events",
            "wait",
            "completion",
            "options",
            "help",
            "kustomize",
        ],
        Effect::Reads,
    ),
    (
        &["cluster-info"],
        Effect::Special(Classifier::kubectl_cluster_info),
    ),
    (
        &["auth"],
        Effect::Sub(
            &[
                (&["can-i", "whoami"], Effect::Reads),
                (&["reconcile"], Effect::Writes("changes roles")),
            ],
            Otherwise::NotKnown,
        ),
    ),
    (
        &["config"],
        Effect::Sub(
            &[(
                &[
                    "view",
                    "get-contexts",
                    "get-clusters",
                    "get-users",
                    "current-context",
                ],
                Effect::Reads,
            )],
            Otherwise::Unproven("changes a kubeconfig"),
        ),
    ),
    (
        &["plugin"],
        Effect::Sub(&[(&["list"], Effect::Reads)], Otherwise::NotKnown),
    ),
    (&["delete"], Effect::Writes("deletes resources")),
    (&["drain"], Effect::Writes("evicts every pod from a node")),
    (
        &["cordon", "uncordon"],
        Effect::Writes("changes whether a node takes pods"),
    ),
    (&["taint"], Effect::Writes("changes where pods may run")),
    (
        &[
            "patch",
            "apply",
            "replace",
            "create",
            "set",
            "autoscale",
            "expose",
            "run",
        ],
        Effect::Writes("changes resources"),
    ),
    (&["edit"], Effect::Special(Classifier::kubectl_edit)),
    (&["scale"], Effect::Writes("changes the number of replicas")),
    (
        &["label", "annotate"],
        Effect::Special(Classifier::kubectl_label),
    ),
    (
        &["rollout"],
        Effect::Sub(
            &[
                (
                    &["restart", "undo", "pause", "resume"],
                    Effect::Writes("restarts or changes workloads"),
                ),
                (&["status", "history"], Effect::Reads),
            ],
            Otherwise::NotKnown,
        ),
    ),
    (
        &["certificate"],
        Effect::Sub(
            &[(
                &["approve", "deny"],
                Effect::Writes("changes a certificate request"),
            )],
            Otherwise::NotKnown,
        ),
    ),
    (
        &["diff"],
        Effect::Checks("asks the API server for a dry run"),
    ),
    (&["cp"], Effect::Special(Classifier::kubectl_cp)),
    (
        &["exec", "attach", "debug"],
        Effect::Special(Classifier::kubectl_exec),
    ),
    (
        &["port-forward"],
        Effect::Unproven("opens a local port into the cluster"),
    ),
    (
        &["proxy"],
        Effect::Unproven("opens the cluster to every local program"),
    ),
];

/// The row for `word` in a table of names.
fn lookup(table: &'static [(&'static [&'static str], Effect)], word: &str) -> Option<Effect> {
    table
        .iter()
        .find(|(names, _)| names.contains(&word))
        .map(|(_, effect)| *effect)
}

/// One kubectl command line, parsed.
struct Call<'a> {
    /// The program as written (`kubectl`, `k`, `oc`).
    name: &'a str,
    verb: &'a str,
    args: &'a [String],
    parsed: &'a options::Parsed,
    operands: &'a [&'a str],
    /// Not a dry run.
    destructive: bool,
    /// Its writes go through runbook's gate.
    gated: bool,
}

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
        // `--dry-run=client` sends nothing; `--dry-run=server` persists nothing.
        let dry = p
            .value(&["dry-run"])
            .map_or(p.has(&["dry-run"]).then_some("client"), Some)
            .filter(|v| *v != "none");
        if dry == Some("client") && verb != "get" {
            return;
        }
        let call = Call {
            name,
            verb,
            args,
            parsed: &p,
            operands: &ops,
            destructive: dry.is_none(),
            gated,
        };
        match lookup(KUBECTL_VERBS, verb) {
            Some(effect) => self.kubectl_effect(&call, verb, effect),
            None => self.not_known(&format!("{name} {verb}")),
        }
    }

    /// Applies a verb's row; `words` is the verb (and subcommand) as the reasons name it.
    fn kubectl_effect(&mut self, call: &Call<'_>, words: &str, effect: Effect) {
        let name = call.name;
        match effect {
            Effect::Reads => {}
            Effect::Writes(what) => self.cluster_write(
                format!("{name} {words} {what}"),
                call.destructive,
                call.gated,
            ),
            Effect::Checks(what) => {
                self.cluster_write(format!("{name} {words} {what}"), false, call.gated);
            }
            Effect::Unproven(what) => self.out.unproven(format!("{name} {words} {what}")),
            Effect::Special(f) => f(self, call),
            Effect::Sub(table, otherwise) => {
                let sub = call.operands.get(1).copied();
                match (sub.and_then(|s| lookup(table, s)), otherwise) {
                    (Some(effect), _) => {
                        let words = format!("{words} {}", sub.unwrap_or_default());
                        self.kubectl_effect(call, &words, effect);
                    }
                    (None, Otherwise::NotKnown) => self.not_known(&format!("{name} {words}")),
                    (None, Otherwise::Unproven(what)) => self
                        .out
                        .unproven(format!("{name} {words} {} {what}", sub.unwrap_or_default())),
                }
            }
        }
    }

    fn kubectl_cluster_info(&mut self, call: &Call<'_>) {
        if call.parsed.has(&["output-directory"]) {
            self.out
                .unproven(format!("{} cluster-info dump writes files", call.name));
        }
    }

    fn kubectl_edit(&mut self, call: &Call<'_>) {
        let name = call.name;
        self.out.interactive(format!("{name} edit opens an editor"));
        self.cluster_write(
            format!("{name} edit changes resources"),
            call.destructive,
            call.gated,
        );
    }

    /// `label`/`annotate`: destructive only when it overwrites or removes.
    fn kubectl_label(&mut self, call: &Call<'_>) {
        let (name, verb, p) = (call.name, call.verb, call.parsed);
        let removes = call.operands[1..]
            .iter()
            .any(|a| a.ends_with('-') && !a.contains('='));
        let overwrite =
            p.has(&["overwrite"]) && p.value(&["overwrite"]).is_none_or(|v| v != "false");
        if (overwrite || removes) && call.destructive {
            self.out.destructive = true;
            self.out.push(format!(
                "{name} {verb} --overwrite replaces existing {verb}s"
            ));
        }
        self.cluster_write(
            format!("{name} {verb} changes resources"),
            false,
            call.gated,
        );
    }

    fn kubectl_cp(&mut self, call: &Call<'_>) {
        let (name, ops) = (call.name, call.operands);
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

    /// `exec`/`attach`/`debug`: a command in a container, classified as if ungated.
    fn kubectl_exec(&mut self, call: &Call<'_>) {
        let (name, verb, args) = (call.name, call.verb, call.args);
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
