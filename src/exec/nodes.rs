//! Steps on every node: a `target=nodes` block runs over `ssh` on each node of the cluster, in
//! parallel, and the outputs are compared side by side ([`compare`]).
//!
//! - Which nodes: a list (config `[ssh] nodes`, `--node ADDR`), else the cluster's nodes'
//!   `InternalIP` addresses read with kube-rs from the session's kubeconfig ([`discover`]),
//!   keeping the node names for the column titles.
//! - How: the user's own `ssh` binary (their config, agent and known hosts apply) with
//!   `BatchMode=yes` (never a prompt) and a connect timeout, plus the configured user,
//!   identity, jump host, port and `-o` options ([`Ssh::argv`]). The block's filled command
//!   goes as one argument, `bash -c '<script>'`, quoted for both shells it crosses. Each ssh
//!   runs through [`super::process::run`], so it has its own process group, the command's
//!   timeout, and dies on cancel like any other command.
//! - `sudo`: a leading `sudo` becomes `sudo -n` ([`sudo_non_interactive`]); a node where sudo
//!   would ask for a password says so ([`diagnose`]).
//! - What went wrong is told apart from ssh's exit 255 and its stderr: cannot connect,
//!   authentication failed, host key unknown or changed.
//!
//! To support another transport, give [`Ssh`] a sibling with its own `argv` and keep
//! [`fan_out`] as it is; to recognise another failure, add a row to [`diagnose`].

pub mod compare;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use futures_util::StreamExt;
use serde::Serialize;
use tokio::sync::mpsc;

use super::output::{Limits, OutputBuffer, Stream};
use super::process::{self, Cancel, CommandSpec, OutputSink};
use super::vars::{Vars, quote};

/// Nodes reached at once, unless configured.
pub const DEFAULT_PARALLEL: usize = 8;
/// Clock offset (seconds) from the median node beyond which a node is flagged.
pub const DEFAULT_MAX_SKEW: f64 = 2.0;
/// ssh's `ConnectTimeout`, in seconds.
pub const CONNECT_TIMEOUT: u32 = 10;
/// Lines per node carried in the comparison event (the whole output is in the events before).
pub const MAX_COLUMN_LINES: usize = 400;

/// One node to reach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Shown as the column title: the cluster's node name, or the address as given.
    pub name: String,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

impl Node {
    /// `host`, `user@host`, `host:port`, `user@host:port`, `[::1]:2222`, `::1`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let bad = |why: &str| Err(format!("node address `{t}`: {why}"));
        if t.is_empty() || t.chars().any(char::is_whitespace) {
            return bad("give `host`, `user@host` or `user@host:port`");
        }
        let (user, rest) = match t.rsplit_once('@') {
            Some((u, r)) if !u.is_empty() => (Some(u.to_owned()), r),
            Some(_) => return bad("the user before `@` is empty"),
            None => (None, t),
        };
        let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
            let Some((host, after)) = inner.split_once(']') else {
                return bad("`[` without `]`");
            };
            match after.strip_prefix(':') {
                Some(p) => (host, Some(p)),
                None if after.is_empty() => (host, None),
                None => return bad("text after `]`"),
            }
        } else if rest.matches(':').count() == 1 {
            let (h, p) = rest.split_once(':').unwrap_or((rest, ""));
            (h, Some(p))
        } else {
            // No colon, or a bare IPv6 address.
            (rest, None)
        };
        if host.is_empty() || host.starts_with('-') {
            return bad("no host");
        }
        let port = match port {
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p > 0 => Some(p),
                _ => return bad("the port is not a number from 1 to 65535"),
            },
            None => None,
        };
        Ok(Self {
            name: t.to_owned(),
            user,
            host: host.to_owned(),
            port,
        })
    }

    /// `user@host:port` as far as known.
    pub fn address(&self) -> String {
        let mut out = String::new();
        if let Some(u) = &self.user {
            out.push_str(u);
            out.push('@');
        }
        if self.host.contains(':') && self.port.is_some() {
            out.push('[');
            out.push_str(&self.host);
            out.push(']');
        } else {
            out.push_str(&self.host);
        }
        if let Some(p) = self.port {
            out.push(':');
            out.push_str(&p.to_string());
        }
        out
    }
}

/// How to reach nodes (config `[ssh]`).
#[derive(Debug, Clone)]
pub struct Ssh {
    /// The ssh binary (`ssh` from `PATH`).
    pub program: PathBuf,
    pub user: Option<String>,
    pub identity: Option<PathBuf>,
    pub jump: Option<String>,
    pub port: Option<u16>,
    /// Extra `-o` values (`StrictHostKeyChecking=accept-new`).
    pub options: Vec<String>,
    pub parallel: usize,
    /// Seconds of clock offset that count as skew.
    pub max_skew: f64,
}

impl Default for Ssh {
    fn default() -> Self {
        Self {
            program: PathBuf::from("ssh"),
            user: None,
            identity: None,
            jump: None,
            port: None,
            options: Vec::new(),
            parallel: DEFAULT_PARALLEL,
            max_skew: DEFAULT_MAX_SKEW,
        }
    }
}

/// Where the node list comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Source {
    /// Steps on nodes are left to the user (the practice cluster's nodes are not real).
    #[default]
    Off,
    List(Vec<Node>),
    /// The cluster's nodes, from the session's kubeconfig.
    Cluster,
}

/// Everything the runner needs to run steps on nodes.
#[derive(Debug, Clone, Default)]
pub struct NodeOptions {
    pub source: Source,
    pub ssh: Ssh,
}

impl Ssh {
    /// The ssh command line for `remote` on `node` (program first).
    pub fn argv(&self, node: &Node, remote: &str) -> Vec<String> {
        let mut a = vec![
            self.program.to_string_lossy().into_owned(),
            "-T".to_owned(),
            "-o".to_owned(),
            "BatchMode=yes".to_owned(),
            "-o".to_owned(),
            format!("ConnectTimeout={CONNECT_TIMEOUT}"),
        ];
        for o in &self.options {
            a.push("-o".to_owned());
            a.push(o.clone());
        }
        if let Some(user) = node.user.as_ref().or(self.user.as_ref()) {
            a.push("-l".to_owned());
            a.push(user.clone());
        }
        if let Some(port) = node.port.or(self.port) {
            a.push("-p".to_owned());
            a.push(port.to_string());
        }
        if let Some(id) = &self.identity {
            a.push("-i".to_owned());
            a.push(id.to_string_lossy().into_owned());
        }
        if let Some(j) = &self.jump {
            a.push("-J".to_owned());
            a.push(j.clone());
        }
        a.push("--".to_owned());
        a.push(node.host.clone());
        a.push(remote.to_owned());
        a
    }
}

/// What the node's shell runs: the block under `bash -c`, with `sudo` made non-interactive.
/// ssh hands its argument to the remote login shell, which unquotes it once.
pub fn remote_command(script: &str) -> String {
    format!("bash -c {}", quote(&sudo_non_interactive(script)))
}

/// The local `bash -c` text that runs ssh (quoted word by word; `exec` so ssh is the child).
pub fn local_script(argv: &[String]) -> String {
    let mut out = String::from("exec");
    for a in argv {
        out.push(' ');
        out.push_str(&quote(a));
    }
    out
}

/// The ssh command as a user would type it.
pub fn display(argv: &[String]) -> String {
    argv.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:@,+%".contains(c));
            if plain { a.clone() } else { quote(a) }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every command word `sudo` (not already `-n`) becomes `sudo -n`: a node never waits for a
/// password nobody can type. Word-level, from the lexer: `echo sudo` and heredoc bodies are
/// left alone.
pub fn sudo_non_interactive(script: &str) -> String {
    let parsed = super::shell::parse(script);
    let mut at: Vec<usize> = parsed
        .commands
        .iter()
        .filter(|c| c.assignments.is_empty())
        .filter(|c| c.words.first().is_some_and(|w| w == "sudo"))
        .filter(|c| {
            c.words
                .get(1)
                .is_none_or(|w| w != "-n" && w != "--non-interactive")
        })
        // Where the `sudo` word starts: a command may start at the blank after `|` or `;`,
        // or before a heredoc body that comes between it and its first word.
        .filter_map(|c| {
            let mut word = c.start;
            loop {
                let rest = script.get(word..)?;
                word += rest.len() - rest.trim_start().len();
                match parsed
                    .regions
                    .iter()
                    .find(|r| r.delimiter.is_some() && r.start <= word && word < r.end)
                {
                    Some(body) => {
                        // Past the body and its terminator line.
                        word = body.end;
                        let rest = script.get(word..)?;
                        let line = rest.trim_start_matches(['\t', '\n']);
                        if let Some(d) = body.delimiter.as_deref()
                            && line.starts_with(d)
                        {
                            word += rest.len() - line.len() + d.len();
                        }
                    }
                    None => break,
                }
            }
            let rest = script.get(word..)?;
            (rest.starts_with("sudo") && rest[4..].starts_with([' ', '\t'])).then_some(word + 4)
        })
        .collect();
    at.sort_unstable();
    at.dedup();
    let mut out = script.to_owned();
    for pos in at.into_iter().rev() {
        out.insert_str(pos, " -n");
    }
    out
}

/// Why a node's command did not do its job, from ssh's and sudo's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeError {
    /// No connection: refused, timed out, no route, unknown host name.
    Unreachable,
    /// Connected, but no key (or agent identity) was accepted.
    AuthFailed,
    /// The node's host key is not in `known_hosts`, or changed.
    HostKey,
    /// ssh failed for another reason (its message says which).
    Ssh,
    /// `sudo -n` needs a password on the node.
    SudoPassword,
    /// The node has no `sudo`.
    NoSudo,
    TimedOut,
    Cancelled,
}

/// Reads ssh's exit 255 and stderr (and sudo's) into a [`NodeError`] and a sentence.
pub fn diagnose(node: &str, exit_code: Option<i32>, stderr: &str) -> Option<(NodeError, String)> {
    let has = |s: &str| stderr.contains(s);
    if has("a password is required") || has("a terminal is required") || has("no tty present") {
        return Some((
            NodeError::SudoPassword,
            format!(
                "sudo needs a password on {node}: allow NOPASSWD for this command or run the step by hand"
            ),
        ));
    }
    if exit_code == Some(127) && (has("sudo: command not found") || has("sudo: not found")) {
        return Some((
            NodeError::NoSudo,
            format!("sudo is not installed on {node}: run the step as root by hand"),
        ));
    }
    if exit_code != Some(255) {
        return None;
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("ssh failed")
        .trim();
    let found = if has("Host key verification failed")
        || has("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || has("host key is known")
        || has("No matching host key")
    {
        (
            NodeError::HostKey,
            format!(
                "host key of {node} unknown or changed: check it and add it to known_hosts ({last})"
            ),
        )
    } else if has("Permission denied") || has("Too many authentication failures") {
        (
            NodeError::AuthFailed,
            format!("authentication failed on {node}: check the user and key ({last})"),
        )
    } else if has("Connection refused")
        || has("timed out")
        || has("No route to host")
        || has("Could not resolve hostname")
        || has("Network is unreachable")
        || has("Connection closed by")
        || has("Connection reset")
    {
        (
            NodeError::Unreachable,
            format!("cannot connect to {node}: {last}"),
        )
    } else if has("ssh:") || has("kex_exchange") || has("Bad configuration") {
        (NodeError::Ssh, format!("ssh to {node} failed: {last}"))
    } else {
        // The remote command itself exited 255.
        return None;
    };
    Some(found)
}

/// How one node's run ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeResult {
    pub node: String,
    pub address: String,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    /// Seconds.
    pub duration: f64,
    pub error: Option<NodeError>,
    /// What went wrong, in a sentence (with [`Self::error`]).
    pub message: Option<String>,
    /// Failed expectations (`expect=`, exit code).
    pub failures: Vec<String>,
}

impl NodeResult {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.failures.is_empty() && self.exit_code == Some(0)
    }
}

/// What a fan-out reports as it goes.
#[derive(Debug, Clone)]
pub enum NodeEvent {
    Started {
        node: String,
        address: String,
        command: String,
    },
    Output {
        node: String,
        stream: Stream,
        ts_ms: u64,
        text: String,
    },
    Finished(NodeResult),
}

/// What to run on every node.
pub struct Job<'a> {
    /// The filled-in block (not yet rewritten for sudo).
    pub script: &'a str,
    pub env: &'a BTreeMap<OsString, OsString>,
    pub cwd: &'a std::path::Path,
    pub timeout: Duration,
    pub grace: Duration,
    pub limits: Limits,
    /// Masks secrets in the output.
    pub vars: &'a Vars,
    pub expectations: &'a super::judge::Expectations,
}

/// One node's run, for the comparison.
#[derive(Debug)]
pub struct NodeRun {
    pub result: NodeResult,
    pub buffer: OutputBuffer,
    /// When ssh started (seconds since the epoch, local clock).
    pub started_at: f64,
}

fn epoch_now() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

struct NodeSink<'a> {
    tx: mpsc::UnboundedSender<NodeEvent>,
    node: String,
    vars: &'a Vars,
    buffer: OutputBuffer,
}

impl OutputSink for NodeSink<'_> {
    fn lines(&mut self, stream: Stream, ts: Duration, bytes: &[u8]) {
        let masked = self.vars.mask_bytes(bytes);
        self.buffer.push(stream, ts, &masked);
        let _ = self.tx.send(NodeEvent::Output {
            node: self.node.clone(),
            stream,
            ts_ms: u64::try_from(ts.as_millis()).unwrap_or(u64::MAX),
            text: String::from_utf8_lossy(&masked).into_owned(),
        });
    }
}

/// The ssh command lines that [`fan_out`] would run (for a dry run).
pub fn commands(nodes: &[Node], ssh: &Ssh, script: &str) -> Vec<String> {
    let remote = remote_command(script);
    nodes
        .iter()
        .map(|n| display(&ssh.argv(n, &remote)))
        .collect()
}

/// Runs `job` on every node, at most `ssh.parallel` at once, reporting through `emit`;
/// returns the runs in node order.
pub async fn fan_out(
    nodes: &[Node],
    ssh: &Ssh,
    job: &Job<'_>,
    cancel: &Cancel,
    emit: &mut dyn FnMut(NodeEvent),
) -> Vec<NodeRun> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let remote = remote_command(job.script);
    let runs = futures_util::stream::iter(nodes.iter())
        .map(|node| {
            let tx = tx.clone();
            let mut cancel = cancel.clone();
            let argv = ssh.argv(node, &remote);
            async move { run_one(node, &argv, job, tx, &mut cancel).await }
        })
        .buffered(ssh.parallel.max(1))
        .collect::<Vec<_>>();
    tokio::pin!(runs);
    let out = loop {
        tokio::select! {
            biased;
            Some(ev) = rx.recv() => emit(ev),
            done = &mut runs => break done,
        }
    };
    while let Ok(ev) = rx.try_recv() {
        emit(ev);
    }
    out
}

async fn run_one(
    node: &Node,
    argv: &[String],
    job: &Job<'_>,
    tx: mpsc::UnboundedSender<NodeEvent>,
    cancel: &mut Cancel,
) -> NodeRun {
    let started_at = epoch_now();
    let address = node.address();
    let _ = tx.send(NodeEvent::Started {
        node: node.name.clone(),
        address: address.clone(),
        command: job.vars.mask(&display(argv)).into_owned(),
    });
    let mut buffer = OutputBuffer::new(job.limits);
    let watch_expect = job
        .expectations
        .expect
        .as_ref()
        .and_then(|re| buffer.watch(re));
    let watch_no = job
        .expectations
        .expect_no
        .as_ref()
        .and_then(|re| buffer.watch(re));
    let spec = CommandSpec {
        script: local_script(argv),
        env: job.env.clone(),
        cwd: job.cwd.to_owned(),
        timeout: job.timeout,
        grace: job.grace,
        interactive: false,
        capture_env: false,
    };
    let mut sink = NodeSink {
        tx: tx.clone(),
        node: node.name.clone(),
        vars: job.vars,
        buffer,
    };
    let outcome = process::run(&spec, &mut sink, cancel).await;
    buffer = sink.buffer;
    let mut result = NodeResult {
        node: node.name.clone(),
        address,
        ..NodeResult::default()
    };
    match outcome {
        Err(e) => {
            result.error = Some(NodeError::Ssh);
            result.message = Some(format!("cannot run ssh for {}: {e}", node.name));
        }
        Ok(o) => {
            result.exit_code = o.exit_code;
            result.signal = o.signal;
            result.duration = o.duration.as_secs_f64();
            if o.cancelled {
                result.error = Some(NodeError::Cancelled);
                result.message = Some("cancelled".to_owned());
            } else if o.timed_out {
                result.error = Some(NodeError::TimedOut);
                result.message = Some(format!(
                    "timed out after {} on {}",
                    crate::duration::humanize(job.timeout),
                    node.name
                ));
            } else if let Some((kind, msg)) =
                diagnose(&node.name, o.exit_code, &buffer.text(Stream::Stderr))
            {
                result.error = Some(kind);
                result.message = Some(msg);
            } else {
                let saw = |w: Option<usize>| w.is_some_and(|w| buffer.found(w));
                result.failures = super::judge::judge(
                    job.expectations,
                    o.exit_code,
                    saw(watch_expect),
                    saw(watch_no),
                );
            }
        }
    }
    let _ = tx.send(NodeEvent::Finished(result.clone()));
    NodeRun {
        result,
        buffer,
        started_at,
    }
}

/// One node's column, as shown side by side.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeColumn {
    pub result: NodeResult,
    /// The output lines (stdout and stderr in order, ANSI stripped), at most
    /// [`MAX_COLUMN_LINES`].
    pub lines: Vec<String>,
    /// Indices into `lines` that differ from the majority.
    pub differing: Vec<usize>,
    /// Clock offset from the median node, seconds.
    pub offset: Option<f64>,
    pub skewed: bool,
    pub agrees: bool,
}

/// The comparison of every node's run.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodesReport {
    pub columns: Vec<NodeColumn>,
    /// "2 of 3 nodes agree; node-c differs: +312 s".
    pub summary: String,
}

/// Lines ssh adds that are no output of the command.
fn ssh_noise(line: &str) -> bool {
    line.starts_with("Warning: Permanently added ")
}

/// Compares the runs side by side.
pub fn report(runs: &[NodeRun], max_skew: f64) -> NodesReport {
    let inputs: Vec<compare::NodeOutput> = runs
        .iter()
        .map(|r| {
            let lines = r
                .buffer
                .lines()
                .into_iter()
                .map(|l| {
                    let text = super::output::strip_ansi(l.display()).into_owned();
                    (text, Some(r.started_at + l.ts.as_secs_f64()))
                })
                .filter(|(t, _)| !ssh_noise(t))
                .take(MAX_COLUMN_LINES)
                .collect();
            // Short words for the summary line; the column says the rest.
            let failed = match r.result.error {
                Some(NodeError::Unreachable) => Some("cannot connect".to_owned()),
                Some(NodeError::AuthFailed) => Some("authentication failed".to_owned()),
                Some(NodeError::HostKey) => Some("host key unknown or changed".to_owned()),
                Some(NodeError::Ssh) => Some("ssh failed".to_owned()),
                Some(NodeError::Cancelled) => Some("cancelled".to_owned()),
                _ => None,
            };
            compare::NodeOutput {
                name: r.result.node.clone(),
                lines,
                failed,
            }
        })
        .collect();
    let c = compare::compare(&inputs, max_skew);
    let columns = runs
        .iter()
        .zip(inputs)
        .enumerate()
        .map(|(i, (r, input))| NodeColumn {
            result: r.result.clone(),
            lines: input.lines.into_iter().map(|(t, _)| t).collect(),
            differing: c.differing.get(i).cloned().unwrap_or_default(),
            offset: c.offsets.get(i).copied().flatten(),
            skewed: c.skewed.get(i).copied().unwrap_or(false),
            agrees: c.agrees.get(i).copied().unwrap_or(false),
        })
        .collect();
    NodesReport {
        columns,
        summary: c.summary,
    }
}

/// The cluster's nodes (name, `InternalIP`), from the kubeconfig in `env` (`KUBECONFIG`, else
/// `~/.kube/config`), its current context.
pub async fn discover(env: &BTreeMap<OsString, OsString>) -> Result<Vec<Node>, String> {
    use k8s_openapi::api::core::v1::Node as KubeNode;
    use kube::api::{Api, ListParams};
    use kube::config::{KubeConfigOptions, Kubeconfig};

    let path = env
        .get(&OsString::from("KUBECONFIG"))
        .and_then(|v| std::env::split_paths(v).next())
        .filter(|p| !p.as_os_str().is_empty())
        .or_else(|| {
            env.get(&OsString::from("HOME"))
                .map(|h| PathBuf::from(h).join(".kube/config"))
        })
        .ok_or("no KUBECONFIG and no home folder")?;
    let kubeconfig = Kubeconfig::read_from(&path)
        .map_err(|e| format!("cannot read the kubeconfig {}: {e}", path.display()))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default())
        .await
        .map_err(|e| format!("kubeconfig {}: {e}", path.display()))?;
    let client = kube::Client::try_from(config).map_err(|e| format!("kube client: {e}"))?;
    let list = tokio::time::timeout(
        Duration::from_secs(20),
        Api::<KubeNode>::all(client.clone()).list(&ListParams::default()),
    )
    .await
    .map_err(|_| "listing the cluster's nodes timed out".to_owned())?
    .map_err(|e| format!("cannot list the cluster's nodes: {e}"))?;
    let nodes: Vec<Node> = list
        .items
        .iter()
        .filter_map(|n| {
            let name = n.metadata.name.clone()?;
            let ip = n
                .status
                .as_ref()?
                .addresses
                .as_ref()?
                .iter()
                .find(|a| a.type_ == "InternalIP")?
                .address
                .clone();
            Some(Node {
                name,
                user: None,
                host: ip,
                port: None,
            })
        })
        .collect();
    if nodes.is_empty() {
        return Err("the cluster lists no node with an InternalIP".to_owned());
    }
    let practice = tokio::time::timeout(Duration::from_secs(10), client.apiserver_version())
        .await
        .ok()
        .and_then(Result::ok)
        .is_some_and(|v| v.git_version.contains(PRACTICE_VERSION_MARK));
    if practice {
        refuse_practice_nodes(&nodes)?;
    }
    Ok(nodes)
}

/// What the practice cluster (`runbook lab`) puts in its `/version` `gitVersion`.
pub const PRACTICE_VERSION_MARK: &str = "runbook-lab";

/// The practice cluster's nodes are simulated: their addresses are nobody's machines (or, in a
/// private range, someone's machine on the user's network). Only loopback addresses, which a
/// trainee may have pointed at an sshd of their own, are dialled.
pub fn refuse_practice_nodes(nodes: &[Node]) -> Result<(), String> {
    let Some(node) = nodes.iter().find(|n| {
        n.host
            .parse::<std::net::IpAddr>()
            .map_or(true, |ip| !ip.is_loopback())
    }) else {
        return Ok(());
    };
    let private = match node.host.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V4(ip)) => {
            ip.is_private()
                || ip.is_link_local()
                || (ip.octets()[0] == 100 && ip.octets()[1] & 0xc0 == 64)
        }
        Ok(std::net::IpAddr::V6(ip)) => {
            (ip.segments()[0] & 0xfe00) == 0xfc00 || ip.is_unicast_link_local()
        }
        Err(_) => false,
    };
    let why = if private {
        "a private-range address, which on your network may be a real machine"
    } else {
        "an address of a simulated node"
    };
    Err(format!(
        "node {} of the practice cluster has {} ({why}); node steps do not dial practice-cluster nodes: give --node ADDR to practise on a machine of your own",
        node.name, node.host
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn practice_cluster_nodes_are_not_dialled() {
        let node = |host: &str| Node {
            name: format!("n-{host}"),
            user: None,
            host: host.to_owned(),
            port: None,
        };
        assert!(refuse_practice_nodes(&[node("127.0.0.1"), node("::1")]).is_ok());
        let err = refuse_practice_nodes(&[node("127.0.0.1"), node("10.10.227.11")])
            .err()
            .unwrap_or_default();
        assert!(
            err.contains("n-10.10.227.11") && err.contains("private-range"),
            "{err}"
        );
        for private in [
            "192.168.1.4",
            "172.20.0.3",
            "100.64.1.1",
            "fd00::1",
            "169.254.0.9",
        ] {
            let err = refuse_practice_nodes(&[node(private)])
                .err()
                .unwrap_or_default();
            assert!(err.contains("private-range"), "{private}: {err}");
        }
        let err = refuse_practice_nodes(&[node("192.0.2.11")])
            .err()
            .unwrap_or_default();
        assert!(err.contains("simulated") && err.contains("--node"), "{err}");
    }

    #[test]
    fn node_addresses() {
        let n = Node::parse("ops@10.0.0.6:2222").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (n.user.as_deref(), n.host.as_str(), n.port),
            (Some("ops"), "10.0.0.6", Some(2222))
        );
        assert_eq!(n.address(), "ops@10.0.0.6:2222");
        let v6 = Node::parse("[fd00::5]:22").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((v6.host.as_str(), v6.port), ("fd00::5", Some(22)));
        assert_eq!(
            Node::parse("fd00::5").map(|n| n.host),
            Ok("fd00::5".to_owned())
        );
        for bad in ["", "a b", "@h", "h:0", "h:x", "-oProxyCommand=x", "[::1"] {
            assert!(Node::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ssh_argv_never_prompts_and_keeps_the_command_one_word() {
        let ssh = Ssh {
            user: Some("spectro".to_owned()),
            identity: Some(PathBuf::from("/k/id")),
            jump: Some("bastion".to_owned()),
            options: vec!["StrictHostKeyChecking=yes".to_owned()],
            ..Ssh::default()
        };
        let node = Node::parse("10.0.0.5").unwrap_or_else(|e| panic!("{e}"));
        let argv = ssh.argv(&node, "bash -c 'date'");
        assert_eq!(
            argv,
            [
                "ssh",
                "-T",
                "-o",
                "BatchMode=yes",
                "-o",
                "ConnectTimeout=10",
                "-o",
                "StrictHostKeyChecking=yes",
                "-l",
                "spectro",
                "-i",
                "/k/id",
                "-J",
                "bastion",
                "--",
                "10.0.0.5",
                "bash -c 'date'"
            ]
        );
        assert_eq!(
            display(&argv).rsplit_once(" 10.0.0.5 ").map(|(_, r)| r),
            Some(r"'bash -c '\''date'\'''")
        );
    }

    #[test]
    fn sudo_becomes_non_interactive_word_by_word() {
        assert_eq!(
            sudo_non_interactive("sudo sysctl -p x | sudo tee y"),
            "sudo -n sysctl -p x | sudo -n tee y"
        );
        assert_eq!(sudo_non_interactive("sudo -n true"), "sudo -n true");
        assert_eq!(sudo_non_interactive("echo sudo it"), "echo sudo it");
        assert_eq!(
            sudo_non_interactive("cat <<EOF\nsudo x\nEOF\nsudo y"),
            "cat <<EOF\nsudo x\nEOF\nsudo -n y"
        );
        assert_eq!(
            sudo_non_interactive("x=$(sudo cat /etc/shadow)"),
            "x=$(sudo -n cat /etc/shadow)"
        );
    }

    #[test]
    fn ssh_failures_are_told_apart() {
        let kind = |code, err: &str| diagnose("n1", Some(code), err).map(|d| d.0);
        assert_eq!(
            kind(
                255,
                "ssh: connect to host 10.0.0.9 port 22: Connection refused\n"
            ),
            Some(NodeError::Unreachable)
        );
        assert_eq!(
            kind(
                255,
                "ssh: connect to host 10.0.0.9 port 22: Connection timed out\n"
            ),
            Some(NodeError::Unreachable)
        );
        assert_eq!(
            kind(255, "spectro@10.0.0.9: Permission denied (publickey).\n"),
            Some(NodeError::AuthFailed)
        );
        assert_eq!(
            kind(
                255,
                "No ED25519 host key is known for 10.0.0.9 and you have requested strict checking.\nHost key verification failed.\n"
            ),
            Some(NodeError::HostKey)
        );
        assert_eq!(kind(255, "my script failed\n"), None);
        assert_eq!(kind(1, "Connection refused\n"), None);
        let (k, msg) = diagnose("node-b", Some(1), "sudo: a password is required\n")
            .unwrap_or_else(|| panic!("sudo"));
        assert_eq!(k, NodeError::SudoPassword);
        assert_eq!(
            msg,
            "sudo needs a password on node-b: allow NOPASSWD for this command or run the step by hand"
        );
        assert_eq!(
            kind(127, "bash: line 1: sudo: command not found\n"),
            Some(NodeError::NoSudo)
        );
    }
}
