//! Steps on every node against real `sshd`s: each test starts three (or more) on 127.0.0.1,
//! one port per "node", with generated host and user keys and a private `known_hosts` file,
//! then runs the real `runbook run` on `tests/fixtures/nodes/nodes.md`. The sshd of the third
//! node sets `SKEW=312`, which the fixture's clock command adds to the time it prints.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";

fn fixture() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/nodes/nodes.md")
        .display()
        .to_string()
}

/// sshd, ssh and ssh-keygen are there; when not: fail under CI, else skip with the reason.
fn tools() -> bool {
    let have = |p: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {p}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let missing: Vec<&str> = [SSHD, "ssh", "ssh-keygen"]
        .into_iter()
        .filter(|t| !have(t))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{missing:?} not installed but CI is set: install openssh-server and openssh-client"
    );
    eprintln!("skipping: {missing:?} not installed (apt install openssh-server openssh-client)");
    false
}

/// Waits until `child` (an sshd) answers on `port` with an SSH banner; `None` when it exited
/// first (its port was taken) or never answered.
fn ready(mut child: Child, port: u16) -> Option<Child> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().ok().flatten().is_some() {
            return None;
        }
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut banner = [0u8; 4];
            if std::io::Read::read_exact(&mut stream, &mut banner).is_ok() && &banner == b"SSH-" {
                return Some(child);
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"))
        .port()
}

fn keygen(path: &Path) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("ssh-keygen: {e}"));
    assert!(ok.success());
}

fn whoami() -> String {
    let out = Command::new("id")
        .arg("-un")
        .output()
        .unwrap_or_else(|e| panic!("id: {e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Three nodes, and the runbook config that reaches them.
struct Nodes {
    dir: tempfile::TempDir,
    sshds: Vec<Child>,
    ports: Vec<u16>,
}

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.sshds {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Nodes {
    fn start(skews: &[u32]) -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let d = dir.path();
        keygen(&d.join("host_key"));
        keygen(&d.join("user_key"));
        std::fs::copy(d.join("user_key.pub"), d.join("authorized_keys"))
            .unwrap_or_else(|e| panic!("{e}"));
        let host_pub =
            std::fs::read_to_string(d.join("host_key.pub")).unwrap_or_else(|e| panic!("{e}"));
        // sshd started by root insists on its privilege separation directory.
        if whoami() == "root" {
            let _ = std::fs::create_dir_all("/run/sshd");
        }
        let mut known = String::new();
        let mut sshds = Vec::new();
        let mut ports = Vec::new();
        for (n, skew) in skews.iter().enumerate() {
            let (child, port) = Self::sshd(d, n, *skew);
            sshds.push(child);
            known.push_str("[127.0.0.1]:");
            known.push_str(&port.to_string());
            known.push(' ');
            known.push_str(&host_pub);
            ports.push(port);
        }
        std::fs::write(d.join("known_hosts"), known).unwrap_or_else(|e| panic!("{e}"));
        let nodes = Self { dir, sshds, ports };
        nodes.write_config("");
        nodes
    }

    /// One sshd, on a port it really holds: other tests in this binary bind ports too, so a
    /// port that was free a moment ago may be taken before sshd binds it. Ready means the
    /// port answers with sshd's own banner; an sshd that exited is started on another port.
    fn sshd(d: &Path, n: usize, skew: u32) -> (Child, u16) {
        for _ in 0..20 {
            let port = free_port();
            let config = d.join(format!("sshd{n}.conf"));
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\nStrictModes no\nUsePAM no\nPidFile {d}/sshd{n}.pid\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nSetEnv SKEW={skew}\nLogLevel ERROR\n",
                    d = d.display()
                ),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            let child = Command::new(SSHD)
                .args(["-D", "-e", "-f"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("sshd: {e}"));
            if let Some(child) = ready(child, port) {
                return (child, port);
            }
        }
        panic!("sshd did not start on any of 20 ports");
    }

    /// `[ssh]` config for runbook, with `extra` lines.
    fn write_config(&self, extra: &str) {
        let d = self.dir.path();
        let cfg = d.join("xdg/runbook");
        std::fs::create_dir_all(&cfg).unwrap_or_else(|e| panic!("{e}"));
        let mut f =
            std::fs::File::create(cfg.join("config.toml")).unwrap_or_else(|e| panic!("{e}"));
        write!(
            f,
            "[ssh]\nuser = \"{}\"\nidentity = \"{}/user_key\"\noptions = [\"UserKnownHostsFile={}/known_hosts\", \"GlobalKnownHostsFile=/dev/null\", \"StrictHostKeyChecking=yes\", \"IdentitiesOnly=yes\", \"IdentityAgent=none\"]\n{extra}",
            whoami(),
            d.display(),
            d.display()
        )
        .unwrap_or_else(|e| panic!("{e}"));
    }

    fn addr(&self, n: usize) -> String {
        format!("127.0.0.1:{}", self.ports[n])
    }

    fn command(&self, scenario: &str, extra: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_runbook"));
        cmd.args(["run", &fixture(), "--scenario", scenario])
            .args(extra)
            .env("XDG_CONFIG_HOME", self.dir.path().join("xdg"))
            .stdin(Stdio::null());
        for n in 0..self.ports.len() {
            cmd.args(["--node", &self.addr(n)]);
        }
        cmd
    }

    fn run(&self, scenario: &str, extra: &[&str]) -> Output {
        self.command(scenario, extra)
            .output()
            .unwrap_or_else(|e| panic!("runbook: {e}"))
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The per-node part of the text output (after the echoed command).
fn columns(t: &str) -> &str {
    t.find("\n== ").map_or("", |i| &t[i..])
}

#[test]
fn clocks_side_by_side_with_the_skewed_node_flagged_and_a_dead_node_reported() {
    if !tools() {
        return;
    }
    let nodes = Nodes::start(&[0, 0, 312]);
    let dead = loop {
        let port = free_port();
        if !nodes.ports.contains(&port) {
            break format!("127.0.0.1:{port}");
        }
    };
    let started = Instant::now();
    let o = nodes.run("clocks", &["--node", &dead]);
    let t = text(&o);
    assert!(started.elapsed() < Duration::from_secs(30), "{t}");
    for n in 0..3 {
        assert!(
            t.contains(&format!("== {a} ({a}) ==", a = nodes.addr(n))),
            "{t}"
        );
    }
    // Every node's clock lines are there, the skewed node's marked as differing.
    let columns = columns(&t);
    assert_eq!(columns.matches("  NTP service: active").count(), 3, "{t}");
    assert_eq!(
        columns.matches("  System clock synchronized: yes").count(),
        2,
        "{t}"
    );
    assert!(columns.contains("! System clock synchronized: no"), "{t}");
    let skewed = nodes.addr(2);
    let header = t
        .lines()
        .find(|l| l.starts_with(&format!("== {skewed} ")))
        .unwrap_or_default();
    assert!(
        ["+311 s", "+312 s", "+313 s"]
            .iter()
            .any(|o| header.contains(&format!("clock {o}"))),
        "{header}"
    );
    let summary = t
        .lines()
        .find(|l| l.trim_start().starts_with("nodes: "))
        .unwrap_or_default();
    assert!(summary.contains("2 of 3 nodes agree"), "{summary}");
    assert!(
        summary.contains(&format!("{skewed} differs: +31")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("{dead}: cannot connect")),
        "{summary}"
    );
    assert!(
        t.contains(&format!("== {dead} ({dead}) == cannot connect to {dead}")),
        "{t}"
    );
    // The dead node fails the step; nothing hung.
    assert_eq!(o.status.code(), Some(1), "{t}");
    assert!(t.contains("note: clock skew:"), "{t}");
}

#[test]
fn json_events_name_the_node_and_an_unknown_host_key_is_told_apart() {
    if !tools() {
        return;
    }
    let nodes = Nodes::start(&[0, 0, 0]);
    let o = nodes.run("clocks", &["--json"]);
    let events: Vec<serde_json::Value> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let of = |kind: &str| -> Vec<&serde_json::Value> {
        events.iter().filter(|e| e["event"] == kind).collect()
    };
    assert_eq!(of("node_started").len(), 3, "{events:?}");
    assert_eq!(of("node_finished").len(), 3);
    assert!(
        of("node_output").iter().all(|e| e["node"]
            .as_str()
            .is_some_and(|n| n.starts_with("127.0.0.1:"))),
        "{events:?}"
    );
    let compared = of("nodes_compared");
    assert_eq!(compared[0]["report"]["summary"], "3 of 3 nodes agree");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));

    // Without the host key in known_hosts, strict checking refuses: said as such.
    std::fs::write(nodes.dir.path().join("known_hosts"), "").unwrap_or_else(|e| panic!("{e}"));
    let o = nodes.run("clocks", &[]);
    let t = text(&o);
    assert!(
        t.contains(&format!("host key of {} unknown or changed", nodes.addr(0))),
        "{t}"
    );
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn tricky_quoting_survives_the_trip() {
    if !tools() {
        return;
    }
    let nodes = Nodes::start(&[0, 0, 7]);
    let o = nodes.run("quoting", &[]);
    let t = text(&o);
    let t = columns(&t);
    for want in [
        "it's \"quoted\"",
        "single $HOME stays",
        "semi;colon && pipe | ok",
        "literal $(not run) `nor this`",
        "two",
        "lines",
    ] {
        assert_eq!(t.matches(&format!("  {want}\n")).count(), 3, "{want}: {t}");
    }
    // The node's own environment is the remote one: node 3's sshd set SKEW=7.
    assert!(t.contains("! skew=7"), "{t}");
    assert_eq!(t.matches("  skew=0\n").count(), 2, "{t}");
}

#[test]
fn sudo_runs_non_interactively_and_says_when_it_needs_a_password() {
    if !tools() {
        return;
    }
    let nodes = Nodes::start(&[0, 0, 0]);
    let o = nodes.run("sudo", &["--json"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    let started: Vec<serde_json::Value> = out
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["event"] == "node_started")
        .collect();
    assert_eq!(started.len(), 3);
    assert!(
        started.iter().all(|e| e["command"]
            .as_str()
            .is_some_and(|c| c.contains("sudo -n cat /etc/shadow"))),
        "{started:?}"
    );
    // The "nodes" are this machine: what sudo does here decides what the step reports.
    let sudo = Command::new("sudo").args(["-n", "true"]).output();
    let node = nodes.addr(0);
    match sudo {
        Err(_) => assert!(
            out.contains(&format!("sudo is not installed on {node}")),
            "{out}"
        ),
        Ok(s) if s.status.success() => assert_eq!(o.status.code(), Some(0), "{out}"),
        Ok(_) => assert!(
            out.contains(&format!(
                "sudo needs a password on {node}: allow NOPASSWD for this command or run the step by hand"
            )),
            "{out}"
        ),
    }
}

#[test]
fn dry_run_prints_the_ssh_commands_without_connecting() {
    if !tools() {
        return;
    }
    let nodes = Nodes::start(&[0]);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = listener.local_addr().map_or(0, |a| a.port());
    let watched = format!("127.0.0.1:{port}");
    let o = nodes.run("destructive", &["--dry-run", "--node", &watched]);
    let t = text(&o);
    assert!(t.contains(&format!("== {watched} ({watched}) ==")), "{t}");
    assert!(
        t.contains("$ ssh -T -o BatchMode=yes -o ConnectTimeout=10 -o UserKnownHostsFile="),
        "{t}"
    );
    assert!(t.contains(&format!("-p {port} -i ")), "{t}");
    assert!(
        t.contains("-- 127.0.0.1 'bash -c '\\''sysctl -w fs.file-max=1000000"),
        "{t}"
    );
    listener
        .set_nonblocking(true)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(listener.accept().is_err(), "a dry run connected: {t}");
    assert_eq!(o.status.code(), Some(0), "{t}");

    // Read-only refuses a destructive command on nodes as it does here.
    let o = nodes.run("destructive", &["--read-only"]);
    let t = text(&o);
    assert!(t.contains("refused in read-only mode"), "{t}");
    assert!(!t.contains("== "), "{t}");
}

/// Live processes (not zombies) whose command line contains `needle`, with argv[0] `want0`.
fn live(want0: &str, needle: &str) -> Vec<i32> {
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_str()?.parse::<i32>().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let args: Vec<String> = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let alive = runbook::exec::process::stat_of(pid).is_some_and(|(s, _)| s != 'Z');
            (alive
                && args.first().is_some_and(|a| a.ends_with(want0))
                && args.iter().any(|a| a.contains(needle)))
            .then_some(pid)
        })
        .collect()
}

#[test]
fn cancel_kills_every_ssh_child() {
    if !tools() {
        return;
    }
    let nodes = Nodes::start(&[0, 0, 0]);
    let mut child = nodes
        .command("slow", &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let deadline = Instant::now() + Duration::from_secs(20);
    while live("ssh", "sleep 4517").len() < 3 {
        assert!(Instant::now() < deadline, "the ssh children never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(child.id()).unwrap_or(0)),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status.code(), Some(128 + 15));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !live("ssh", "sleep 4517").is_empty() {
        assert!(Instant::now() < deadline, "ssh children left behind");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Without a terminal, sshd does not stop the remote command when the client goes: the
    // "nodes" here are this machine, so clean their sleeps up.
    for pid in live("sleep", "4517") {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

#[test]
fn no_node_list_leaves_the_step_to_the_user() {
    // No sshd needed: without --node, config nodes or a readable kubeconfig, the block is
    // the user's to run, as before.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let o = Command::new(env!("CARGO_BIN_EXE_runbook"))
        .args(["run", &fixture(), "--scenario", "clocks"])
        .env("XDG_CONFIG_HOME", dir.path())
        .env("KUBECONFIG", dir.path().join("none"))
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let t = text(&o);
    assert!(t.contains("run this on the node yourself"), "{t}");
    assert!(t.contains("cannot read the kubeconfig"), "{t}");
    assert_eq!(o.status.code(), Some(1), "{t}");
}
