//! Redaction by shape and by context: every kind of the table found in a realistic setting,
//! stable markers, a false-positive measure on the kubectl/journalctl corpus under
//! `tests/fixtures/redact/corpus/`, and the whole route through `runbook run`, `report`,
//! `export` and `run --json --redact` with each kind placed in output, a command, a `--var`
//! value, a note and a captured variable.
//!
//! The samples are generated here from a fixed seed (never written down as files), in the
//! documented formats of each issuer.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::isolated_runbook;

use runbook::session::redact::{self, Redactor};

/// A secret of one kind in the setting it is usually seen in.
#[derive(Debug, Clone)]
pub struct Sample {
    pub kind: &'static str,
    /// The text as a command prints it (one or more lines, no trailing newline).
    pub text: String,
    /// What must not survive redaction.
    pub secrets: Vec<String>,
}

/// A small deterministic generator (xorshift), so the samples are the same on every run.
struct Gen(u64);

impl Gen {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn from(&mut self, alphabet: &str, len: usize) -> String {
        let chars: Vec<char> = alphabet.chars().collect();
        (0..len)
            .map(|_| chars[usize::try_from(self.next() % chars.len() as u64).unwrap_or(0)])
            .collect()
    }

    fn alnum(&mut self, len: usize) -> String {
        self.from(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
            len,
        )
    }

    fn upper(&mut self, len: usize) -> String {
        self.from("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", len)
    }

    fn lower(&mut self, len: usize) -> String {
        self.from("abcdefghijklmnopqrstuvwxyz0123456789", len)
    }

    fn hex(&mut self, len: usize) -> String {
        self.from("0123456789abcdef", len)
    }

    fn b64(&mut self, len: usize) -> String {
        self.from(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
            len,
        )
    }

    fn url_safe(&mut self, len: usize) -> String {
        self.from(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
            len,
        )
    }

    /// A password a person would choose.
    fn password(&mut self) -> String {
        format!(
            "{}-{}{}",
            self.from("BCDFGHJKLMNPRSTVWZ", 1),
            self.lower(7),
            self.from("!#%+", 1)
        )
    }
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn pem_body(g: &mut Gen, lines: usize) -> Vec<String> {
    (0..lines).map(|_| g.b64(64)).collect()
}

/// Samples as they are made: one generator for all, so that they are the same on every run.
struct Samples {
    rng: Gen,
    out: Vec<Sample>,
}

impl Samples {
    fn add(&mut self, kind: &'static str, text: String, secrets: Vec<String>) {
        self.out.push(Sample {
            kind,
            text,
            secrets,
        });
    }
}

/// At least one sample of every kind the redactor names (but `secret-value`, which is not
/// found by look), each in its usual setting.
pub fn samples() -> Vec<Sample> {
    let mut s = Samples {
        rng: Gen(0x5eed_1234_abcd_0042),
        out: Vec::new(),
    };
    cloud_keys(&mut s);
    forge_tokens(&mut s);
    service_tokens(&mut s);
    private_keys(&mut s);
    logins(&mut s);
    named_values(&mut s);
    s.out
}

/// AWS, Google Cloud and Azure credentials.
fn cloud_keys(s: &mut Samples) {
    let id = format!("AKIA{}", s.rng.upper(16));
    s.add(
        "aws-access-key-id",
        format!("aws_access_key_id = {id}"),
        vec![id],
    );
    let key = s.rng.b64(40);
    s.add(
        "aws-secret-key",
        format!("aws_secret_access_key = {key}"),
        vec![key],
    );
    let token = format!("IQoJb3JpZ2luX2VjE{}", s.rng.b64(180));
    s.add(
        "aws-session-token",
        format!("aws_session_token = {token}"),
        vec![token],
    );
    let sig = s.rng.hex(64);
    s.add(
        "aws-request-signature",
        format!(
            "https://backups.s3.amazonaws.com/velero/backup.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260412T091403Z&X-Amz-Expires=600&X-Amz-SignedHeaders=host&X-Amz-Signature={sig}"
        ),
        vec![sig],
    );
    let key = format!("AIza{}", s.rng.url_safe(35));
    s.add(
        "gcp-api-key",
        format!(
            "curl -s \"https://maps.googleapis.com/maps/api/geocode/json?address=x&key={key}\""
        ),
        vec![key],
    );
    let pk = pem_body(&mut s.rng, 6).join("\\n");
    s.add(
        "gcp-service-account-key",
        format!(
            "  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{pk}\\n-----END PRIVATE KEY-----\\n\","
        ),
        vec![pk[..64].to_owned()],
    );
    let value = format!("GOCSPX-{}", s.rng.url_safe(28));
    s.add(
        "google-oauth-client-secret",
        format!("  \"client_secret\": \"{value}\","),
        vec![value],
    );
    let ak = format!("{}==", s.rng.b64(86));
    s.add(
        "azure-storage-key",
        format!(
            "DefaultEndpointsProtocol=https;AccountName=veleroprod;AccountKey={ak};EndpointSuffix=core.windows.net"
        ),
        vec![ak],
    );
    let sas = format!("{}%2B{}%3D", s.rng.alnum(20), s.rng.alnum(20));
    s.add(
        "azure-sas-token",
        format!(
            "https://veleroprod.blob.core.windows.net/velero?sv=2022-11-02&ss=b&srt=co&sp=rwdlac&se=2026-05-01T00:00:00Z&st=2026-04-01T00:00:00Z&spr=https&sig={sas}"
        ),
        vec![sas],
    );
}

/// Tokens of code forges, chat and package registries.
fn forge_tokens(s: &mut Samples) {
    let gh = format!("ghp_{}", s.rng.alnum(36));
    s.add(
        "github-token",
        format!("export GITHUB_TOKEN={gh}"),
        vec![gh],
    );
    let fg = format!("github_pat_{}_{}", s.rng.alnum(22), s.rng.alnum(59));
    s.add(
        "github-fine-grained-token",
        format!("curl -H \"Authorization: token {fg}\" https://api.github.com/user"),
        vec![fg],
    );
    let gl = format!("glpat-{}", s.rng.url_safe(20));
    s.add(
        "gitlab-token",
        format!("curl --header \"PRIVATE-TOKEN: {gl}\" https://gitlab.example.com/api/v4/projects"),
        vec![gl],
    );
    let sl = format!(
        "xoxb-{}-{}-{}",
        s.rng.from("0123456789", 12),
        s.rng.from("0123456789", 13),
        s.rng.alnum(24)
    );
    s.add("slack-token", format!("SLACK_BOT_TOKEN={sl}"), vec![sl]);
    let hook = format!(
        "T{}/B{}/{}",
        s.rng.upper(8),
        s.rng.upper(10),
        s.rng.alnum(24)
    );
    s.add(
        "slack-webhook",
        format!("curl -X POST -d @alert.json https://hooks.slack.com/services/{hook}"),
        vec![hook],
    );
    let npm = format!("npm_{}", s.rng.alnum(36));
    s.add(
        "npm-token",
        format!("//registry.npmjs.org/:_authToken={npm}"),
        vec![npm],
    );
    let pypi = format!("pypi-AgEIcHlwaS5vcmc{}", s.rng.url_safe(64));
    s.add("pypi-token", format!("password = {pypi}"), vec![pypi]);
    let vault = format!("hvs.{}", s.rng.url_safe(90));
    s.add(
        "vault-token",
        format!("export VAULT_TOKEN={vault}"),
        vec![vault],
    );
}

/// API keys and tokens of hosted services, JWTs and join tokens.
fn service_tokens(s: &mut Samples) {
    let stripe = format!("sk_live_{}", s.rng.alnum(24));
    s.add(
        "stripe-key",
        format!("STRIPE_API_KEY={stripe} ./billing-sync"),
        vec![stripe],
    );
    let openai = format!("sk-proj-{}", s.rng.url_safe(48));
    s.add(
        "openai-api-key",
        format!("OPENAI_API_KEY={openai}"),
        vec![openai],
    );
    let anthropic = format!("sk-ant-api03-{}", s.rng.url_safe(93));
    s.add(
        "anthropic-api-key",
        format!("curl -H \"x-api-key: {anthropic}\" https://api.anthropic.com/v1/messages"),
        vec![anthropic],
    );
    let sg = format!("SG.{}.{}", s.rng.url_safe(22), s.rng.url_safe(43));
    s.add(
        "sendgrid-api-key",
        format!("SENDGRID_API_KEY={sg}"),
        vec![sg],
    );
    let hf = format!("hf_{}", s.rng.alnum(34));
    s.add("huggingface-token", format!("HF_TOKEN={hf}"), vec![hf]);
    let dop = format!("dop_v1_{}", s.rng.hex(64));
    s.add(
        "digitalocean-token",
        format!("doctl auth init --access-token {dop}"),
        vec![dop],
    );
    let shp = format!("shpat_{}", s.rng.hex(32));
    s.add(
        "shopify-token",
        format!("X-Shopify-Access-Token: {shp}"),
        vec![shp],
    );
    let glsa = format!("glsa_{}_{}", s.rng.alnum(32), s.rng.hex(8));
    s.add(
        "grafana-token",
        format!("GRAFANA_SA_TOKEN={glsa}"),
        vec![glsa],
    );
    let tfc = format!("{}.atlasv1.{}", s.rng.alnum(14), s.rng.url_safe(67));
    s.add(
        "terraform-cloud-token",
        format!("      \"token\": \"{tfc}\""),
        vec![tfc],
    );
    let age = format!("AGE-SECRET-KEY-1{}", s.rng.upper(58));
    s.add("age-secret-key", age.clone(), vec![age]);
    let jwt = format!(
        "eyJhbGciOiJSUzI1NiIsImtpZCI6Ik{}.eyJhdWQiOlsiaHR0cHM6Ly9rdWJlcm5ldGVz{}.{}",
        s.rng.url_safe(20),
        s.rng.url_safe(120),
        s.rng.url_safe(86)
    );
    s.add("jwt", jwt.clone(), vec![jwt]);
    let kubeadm = format!("{}.{}", s.rng.lower(6), s.rng.lower(16));
    let hash = s.rng.hex(64);
    s.add(
        "kubeadm-bootstrap-token",
        format!(
            "kubeadm join 10.10.227.5:6443 --token {kubeadm} --discovery-token-ca-cert-hash sha256:{hash}"
        ),
        vec![kubeadm],
    );
}

/// Private keys, multi-line.
fn private_keys(s: &mut Samples) {
    let ssh = pem_body(&mut s.rng, 7);
    s.add(
        "ssh-private-key",
        format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----",
            ssh.join("\n")
        ),
        ssh,
    );
    let pgp = pem_body(&mut s.rng, 6);
    let checksum = s.rng.b64(4);
    s.add(
        "pgp-private-key",
        format!(
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\n{}\n={checksum}\n-----END PGP PRIVATE KEY BLOCK-----",
            pgp.join("\n"),
        ),
        pgp,
    );
    let rsa = pem_body(&mut s.rng, 10);
    s.add(
        "pem-private-key",
        format!(
            "-----BEGIN RSA PRIVATE KEY-----\n{}\n-----END RSA PRIVATE KEY-----",
            rsa.join("\n")
        ),
        rsa,
    );
}

/// Passwords of logins and headers, kubeconfig data, a Secret, the Palette key.
fn logins(s: &mut Samples) {
    let bearer = s.rng.url_safe(40);
    s.add(
        "bearer-token",
        format!("curl -sS -H \"Authorization: Bearer {bearer}\" https://10.10.227.5:6443/api"),
        vec![bearer],
    );
    let pw = s.rng.password();
    let basic = base64(format!("admin:{pw}").as_bytes());
    s.add(
        "basic-auth",
        format!("Authorization: Basic {basic}"),
        vec![basic],
    );
    let pw = s.rng.password();
    s.add(
        "url-credentials",
        format!("psql postgresql://app:{pw}@db.internal:5432/hubble"),
        vec![pw],
    );
    let pw = s.rng.password();
    s.add(
        "database-password",
        format!("mysql -h db.internal -u root -p{pw} -e 'show databases'"),
        vec![pw],
    );
    let pw = s.rng.password();
    s.add(
        "registry-password",
        format!("docker login registry.example.com -u robot -p {pw}"),
        vec![pw],
    );
    let pw = s.rng.password();
    s.add(
        "netrc-password",
        format!("machine api.example.com login deploy password {pw}"),
        vec![pw],
    );
    let ck = s.rng.b64(120);
    s.add(
        "kubeconfig-client-key",
        format!("    client-key-data: {ck}"),
        vec![ck],
    );
    let cc = s.rng.b64(120);
    s.add(
        "kubeconfig-client-certificate",
        format!("    client-certificate-data: {cc}"),
        vec![cc],
    );
    let user = base64(format!("svc-{}", s.rng.lower(6)).as_bytes());
    let pass = base64(s.rng.password().as_bytes());
    s.add(
        "k8s-secret-data",
        format!(
            "apiVersion: v1\ndata:\n  password: {pass}\n  username: {user}\nkind: Secret\nmetadata:\n  name: db-creds\n  namespace: hubble-system\ntype: Opaque"
        ),
        vec![user, pass],
    );
    let palette = s.rng.alnum(32);
    s.add(
        "palette-api-key",
        format!("curl -s -H \"ApiKey: {palette}\" https://api.spectrocloud.com/v1/users/me"),
        vec![palette],
    );
}

/// Values announced by the name next to them.
fn named_values(s: &mut Samples) {
    let pw = s.rng.password();
    s.add("password", format!("    password: {pw}"), vec![pw]);
    let tok = s.rng.alnum(32);
    s.add(
        "token",
        format!("argocd login argocd.example.com --auth-token {tok}"),
        vec![tok],
    );
    let value = s.rng.alnum(40);
    s.add("secret", format!("WEBHOOK_SECRET={value}"), vec![value]);
    let key = s.rng.hex(32);
    s.add("api-key", format!("DD_API_KEY={key}"), vec![key]);
    let cred = s.rng.alnum(24);
    s.add(
        "credential",
        format!("  \"credentials\": \"{cred}\","),
        vec![cred],
    );
    let key = s.rng.alnum(32);
    s.add("key", format!("license_key = {key}"), vec![key]);
    let key = s.rng.b64(44);
    s.add("private-key", format!("SIGNING_KEY={key}"), vec![key]);
    let value = s.rng.alnum(34);
    s.add(
        "client-secret",
        format!("kubelogin get-token --client-id kubernetes --client-secret {value}"),
        vec![value],
    );
    let sid = s.rng.alnum(32);
    s.add(
        "session-cookie",
        format!("curl -b 'lang=en' -H \"Cookie: session={sid}\" https://console.example.com/"),
        vec![sid],
    );
    let auth = base64(format!("robot$ci:{}", s.rng.alnum(32)).as_bytes());
    s.add(
        "docker-auth",
        format!("{{\"auths\":{{\"registry.example.com\":{{\"auth\":\"{auth}\"}}}}}}"),
        vec![auth],
    );
    let neg = s.rng.b64(60);
    s.add(
        "authorization",
        format!("Proxy-Authorization: Negotiate {neg}"),
        vec![neg],
    );
}

#[test]
fn every_kind_is_found_in_its_setting() {
    let samples = samples();
    let mut kinds: Vec<&str> = samples.iter().map(|s| s.kind).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert!(kinds.len() >= 40, "{} kinds: {kinds:?}", kinds.len());
    // Every kind of the table has a sample (but the exact values of secret variables).
    for kind in redact::all_kinds() {
        assert!(
            kind == redact::VALUE_KIND || kinds.contains(&kind),
            "no sample of {kind}"
        );
    }
    for sample in &samples {
        let r = Redactor::default();
        let out = r.redact(&sample.text);
        for secret in &sample.secrets {
            assert!(
                !out.contains(secret.as_str()),
                "{}: {secret} survived:\n{out}",
                sample.kind
            );
        }
        assert!(
            out.contains(&format!("‹redacted:{}#1›", sample.kind)),
            "{}: found as another kind:\n{out}",
            sample.kind
        );
        // The same through a stream of lines, as `run --redact` prints them.
        let mut stream = Redactor::default().into_stream();
        let streamed = stream.chunk(&format!("{}\n", sample.text));
        for secret in &sample.secrets {
            assert!(
                !streamed.contains(secret.as_str()),
                "{} (streamed): {secret} survived:\n{streamed}",
                sample.kind
            );
        }
        let hits = redact::check(&sample.text).unwrap_or_default();
        assert!(
            hits.iter().any(|h| h.kind == sample.kind),
            "{}: check found {hits:?}",
            sample.kind
        );
    }
}

#[test]
fn markers_tell_equal_values_apart_from_different_ones() {
    let samples = samples();
    let gh = samples
        .iter()
        .find(|s| s.kind == "github-token")
        .map(|s| s.secrets[0].clone())
        .unwrap_or_default();
    let text = format!(
        "export GITHUB_TOKEN={gh}\ngit push https://x:{gh}@github.com/o/r\nother ghp_{}\n",
        "Z".repeat(36)
    );
    let r = Redactor::default();
    let out = r.redact(&text);
    assert_eq!(out.matches("‹redacted:github-token#1›").count(), 2, "{out}");
    assert_eq!(out.matches("‹redacted:github-token#2›").count(), 1, "{out}");
    let summary = r.summary();
    let gh = summary.iter().find(|s| s.kind == "github-token");
    assert_eq!(gh.map(|s| (s.count, s.values)), Some((3, 2)), "{summary:?}");
}

/// The corpus of ordinary output, each file as a command printed it.
fn corpus() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redact/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{e}"));
            (
                p.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
                text,
            )
        })
        .collect()
}

#[test]
fn ordinary_output_stays_readable() {
    let mut total = 0;
    let mut changed = Vec::new();
    for (name, text) in corpus() {
        let out = Redactor::default().redact(&text);
        let (before, after): (Vec<&str>, Vec<&str>) =
            (text.lines().collect(), out.lines().collect());
        assert_eq!(before.len(), after.len(), "{name}: lines were joined");
        total += before.len();
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            if b != a {
                changed.push(format!("{name}:{}: {a}", i + 1));
            }
        }
    }
    assert!(total >= 2_000, "the corpus has {total} lines");
    let percent = |n: usize| {
        f64::from(u32::try_from(n).unwrap_or(u32::MAX)) * 100.0
            / f64::from(u32::try_from(total).unwrap_or(u32::MAX))
    };
    eprintln!(
        "false positives: {} of {total} lines changed ({:.3}%)",
        changed.len(),
        percent(changed.len())
    );
    assert!(
        changed.len() * 200 <= total,
        "{:.3}% changed:\n{}",
        percent(changed.len()),
        changed.join("\n")
    );
    // What must never be lost, whatever the rate.
    let all: String = corpus().into_iter().map(|(_, t)| t).collect();
    let out = Redactor::default().redact(&all);
    for keep in [
        "uid: ",
        "resourceVersion: \"",
        "@sha256:",
        "pod-template-hash=",
        "10.10.227.",
        "kube-root-ca.crt",
        "binaryData:",
        "password:  24 bytes",
        "DATA+OMITTED",
        "Back-off restarting failed container",
    ] {
        assert_eq!(
            all.matches(keep).count(),
            out.matches(keep).count(),
            "{keep} was touched"
        );
    }
}

#[test]
fn secrets_inside_ordinary_output_are_found() {
    // The samples spliced into the corpus, one after each 50 lines.
    let samples = samples();
    let mut text = String::new();
    let mut placed = 0;
    for (_, file) in corpus() {
        for (i, line) in file.lines().enumerate() {
            text.push_str(line);
            text.push('\n');
            if i % 50 == 49 && placed < samples.len() {
                text.push_str(&samples[placed].text);
                text.push('\n');
                placed += 1;
            }
        }
    }
    for s in &samples[placed..] {
        text.push_str(&s.text);
        text.push('\n');
    }
    let out = Redactor::default().redact(&text);
    for s in &samples {
        for secret in &s.secrets {
            assert!(
                !out.contains(secret.as_str()),
                "{}: {secret} survived",
                s.kind
            );
        }
    }
}

// --- The whole route: run, report, export, run --json --redact ----------------------------

fn output(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("runbook: {e}"))
}

fn all(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A runbook with one step per sample: the secret in the command itself, printed by a command
/// that does not contain it, in a `--var` value, and captured into a variable.
fn leaky_runbook(samples: &[Sample]) -> String {
    let mut md = String::from(
        "---\ntitle: \"Leaky output\"\n---\n\n## Scenario - Print secrets {#leaky}\n\n### Debug Steps\n\n",
    );
    for (i, s) in samples.iter().enumerate() {
        let encoded = base64(s.text.as_bytes());
        let _ = write!(
            md,
            "{n}. Look at the {kind}.\n\n   ```bash\n   cat >/dev/null <<'EOF'\n{body}\n   EOF\n   ```\n\n   ```bash\n   printf '%s\\n' {encoded} | base64 -d\n   ```\n\n   ```bash\n   true <v{n}>\n   ```\n\n   ```bash capture=C{n}\n   printf '%s\\n' {encoded} | base64 -d\n   ```\n\n",
            n = i + 1,
            kind = s.kind,
            body = s
                .text
                .lines()
                .map(|l| format!("   {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
    }
    md
}

/// Fails naming each secret of `samples` that `text` holds (and the line that holds it).
fn leaked(samples: &[Sample], what: &str, text: &str) {
    let leaks: Vec<String> = samples
        .iter()
        .flat_map(|s| {
            s.secrets
                .iter()
                .filter(|secret| text.contains(secret.as_str()))
                .map(|secret| {
                    let line = text
                        .lines()
                        .find(|l| l.contains(secret.as_str()))
                        .unwrap_or_default();
                    format!("{}: {line}", s.kind)
                })
        })
        .collect();
    assert!(leaks.is_empty(), "{what} leaks:\n{}", leaks.join("\n"));
}

#[test]
fn no_secret_leaves_through_any_route() {
    let samples = samples();
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = data.path().join("leaky.md");
    std::fs::write(&file, leaky_runbook(&samples)).unwrap_or_else(|e| panic!("{e}"));
    let file = file.display().to_string();
    let vars: Vec<String> = samples
        .iter()
        .enumerate()
        .flat_map(|(i, s)| ["--var".to_owned(), format!("v{}={}", i + 1, s.text)])
        .collect();
    run_routes(&samples, data.path(), &file, &vars);
    report_routes(&samples, data.path());
    let o = output(
        isolated_runbook(data.path())
            .args(["export", &file])
            .args(&vars),
    );
    assert!(o.status.success(), "{}", all(&o));
    leaked(&samples, "export", &String::from_utf8_lossy(&o.stdout));
}

/// `run --json` shows a user their own output; `run --json --redact` and `run --redact` do not.
fn run_routes(samples: &[Sample], data: &Path, file: &str, vars: &[String]) {
    let o = output(
        isolated_runbook(data)
            .args(["run", file, "--yes", "--json"])
            .args(vars),
    );
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        samples
            .iter()
            .any(|s| stdout.contains(s.secrets[0].as_str())),
        "without --redact the stream is the output: {}",
        all(&o)
    );
    for line in stdout.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
    let o = output(
        isolated_runbook(data)
            .args(["run", file, "--yes", "--json", "--redact", "--no-session"])
            .args(vars),
    );
    assert!(o.status.success(), "{}", all(&o));
    let stream = String::from_utf8_lossy(&o.stdout).into_owned();
    leaked(samples, "run --json --redact", &stream);
    assert!(stream.contains("‹redacted:"), "{stream}");
    let o = output(
        isolated_runbook(data)
            .args(["run", file, "--yes", "--redact", "--no-session"])
            .args(vars),
    );
    leaked(samples, "run --redact", &all(&o));
}

/// A note on every step, then `report` (md, json, `--output`), the TUI's report and `report
/// --check` on the session's files.
fn report_routes(samples: &[Sample], data: &Path) {
    // A note on every step, as the TUI saves it.
    let root = data.join("runbook/sessions");
    let (store, mut record) =
        runbook::session::store::find(&root, "last").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(record.steps.len(), samples.len());
    for (step, s) in record.steps.iter_mut().zip(samples) {
        step.notes = format!("saw this:\n{}", s.text);
    }
    store.save(&record).unwrap_or_else(|e| panic!("{e}"));
    // The captured variables are recorded as plain values.
    let raw =
        std::fs::read_to_string(store.dir().join("session.json")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        raw.contains(samples[0].secrets[0].as_str()),
        "the session keeps what ran"
    );

    let o = output(isolated_runbook(data).args(["report", "last"]));
    assert!(o.status.success(), "{}", all(&o));
    let md = String::from_utf8_lossy(&o.stdout).into_owned();
    leaked(samples, "report (md)", &md);
    for s in samples {
        assert!(
            md.contains(&format!("‹redacted:{}#", s.kind)),
            "report: no marker of {}",
            s.kind
        );
    }
    assert!(md.contains("## Redacted"), "{md}");
    let o = output(isolated_runbook(data).args(["report", "last", "--format", "json"]));
    let json = String::from_utf8_lossy(&o.stdout).into_owned();
    leaked(samples, "report (json)", &json);
    let value: serde_json::Value =
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert!(
        value["redacted"].as_array().is_some_and(|a| a.len() >= 40),
        "{}",
        value["redacted"]
    );
    // The report written to a file, as `--output` and the TUI's `R` write it.
    let out = data.join("ticket.md");
    let o = output(
        isolated_runbook(data)
            .args(["report", "last", "--output"])
            .arg(&out),
    );
    assert!(o.status.success(), "{}", all(&o));
    leaked(
        samples,
        "report --output",
        &std::fs::read_to_string(&out).unwrap_or_default(),
    );
    let md = runbook::session::report::markdown(
        &store,
        &record,
        &runbook::session::report::redactor(&[]),
    );
    leaked(samples, "the TUI's report", &md);

    // Each step's output file, scanned as a customer's log would be.
    let o = output(
        isolated_runbook(data)
            .args(["report", "--check"])
            .arg(store.dir().join("step-001.out")),
    );
    assert_eq!(o.status.code(), Some(1), "{}", all(&o));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(&format!("step-001.out:2:{}", samples[0].kind)),
        "{}",
        all(&o)
    );
}

#[test]
fn a_palette_key_in_the_environment_is_removed_by_value() {
    // A key that looks like an ordinary word: only knowing the variable finds it. Steps do not
    // get the variables (see exec_secrets); the step prints the words as a tool that reveals
    // the key would, and runbook, which has the variables, removes them.
    let key = "tangerinegardens";
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let file = data.path().join("palette.md");
    std::fs::write(
        &file,
        "---\ntitle: \"Palette\"\n---\n\n## Scenario - Ask Palette {#ask}\n\n### Debug Steps\n\n\
         1. Say which key is used.\n\n   ```bash\n   echo \"using tangerinegardens and lemonorchards now\"\n   ```\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let with_key = |cmd: &mut Command| {
        cmd.env("PALETTE_API_KEY", key)
            .env("SPECTROCLOUD_APIKEY", "lemonorchards");
    };
    let mut cmd = isolated_runbook(data.path());
    with_key(&mut cmd);
    let o = output(cmd.arg("run").arg(&file).args(["--yes", "--redact"]));
    assert!(o.status.success(), "{}", all(&o));
    let text = all(&o);
    assert!(
        text.contains("using ‹redacted:palette-api-key#1› and ‹redacted:palette-api-key#2› now"),
        "{text}"
    );
    assert!(
        !text.contains(key) && !text.contains("lemonorchards"),
        "{text}"
    );

    let mut cmd = isolated_runbook(data.path());
    with_key(&mut cmd);
    let o = output(cmd.args(["report", "last"]));
    assert!(o.status.success(), "{}", all(&o));
    let md = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(!md.contains(key) && !md.contains("lemonorchards"), "{md}");
    assert!(md.contains("‹redacted:palette-api-key#1›"), "{md}");
    // Without the variable, the redactor cannot know the word is a key.
    let o = output(isolated_runbook(data.path()).args(["report", "last"]));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains(key),
        "{}",
        all(&o)
    );
}

#[test]
fn the_palette_key_variables_are_known_to_the_redactor() {
    let engine = runbook::session::redact::engine().unwrap_or_else(|e| panic!("{e}"));
    for name in runbook::palette::config::KEY_VARS {
        assert_eq!(engine.secret_name(name), Some("palette-api-key"), "{name}");
    }
}

// --- What the prefilter must not miss -------------------------------------------------------

fn redacted_all(text: &str, secrets: &[&str]) {
    let out = Redactor::default().redact(text);
    for secret in secrets {
        assert!(!out.contains(secret), "{secret} survived in:\n{out}");
    }
}

#[test]
fn secrets_at_the_very_start_and_end_of_a_text_are_found() {
    let gh = format!("ghp_{}", "aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5");
    redacted_all(&gh, &[&gh]);
    redacted_all(&format!("{gh}\nok\n"), &[&gh]);
    redacted_all(&format!("ok\n{gh}"), &[&gh]);
    redacted_all("ok\npassword: Tr0ub4dor-x", &["Tr0ub4dor-x"]);
    redacted_all("password=Tr0ub4dor-x", &["Tr0ub4dor-x"]);
    redacted_all("AKIAIOSFODNN7EXAMPLE", &["AKIAIOSFODNN7EXAMPLE"]);
}

#[test]
fn secrets_on_crlf_lines_are_found_and_the_line_ends_kept() {
    let text = "first\r\n    password: Tr0ub4dor-x\r\nexport API_TOKEN=tok-4f9a8b7c6d5e\r\nAKIAIOSFODNN7EXAMPLE\r\n";
    let out = Redactor::default().redact(text);
    for secret in ["Tr0ub4dor-x", "tok-4f9a8b7c6d5e", "AKIAIOSFODNN7EXAMPLE"] {
        assert!(!out.contains(secret), "{secret}: {out:?}");
    }
    assert_eq!(out.matches("\r\n").count(), 4, "{out:?}");
    let key = "-----BEGIN RSA PRIVATE KEY-----\r\nMIIEowIBAAKCAQEAx4Yq\r\nAAAAbbbbCCCC==\r\n-----END RSA PRIVATE KEY-----\r\n";
    redacted_all(key, &["MIIEowIBAAKCAQEAx4Yq", "AAAAbbbbCCCC=="]);
}

#[test]
fn names_are_found_in_lower_capitalized_and_upper_case() {
    for name in [
        "password",
        "Password",
        "PASSWORD",
        "db_password",
        "DB_PASSWORD",
        "DbPassword",
        "api_token",
        "Api-Token",
        "API_TOKEN",
        "client_secret",
        "Client-Secret",
        "CLIENT_SECRET",
    ] {
        for line in [
            format!("{name}: Xq7-v9Lp2Rt5"),
            format!("{name}=Xq7-v9Lp2Rt5"),
            format!(r#"{{"{name}": "Xq7-v9Lp2Rt5"}}"#),
            format!("cmd --{name} Xq7-v9Lp2Rt5"),
        ] {
            redacted_all(&line, &["Xq7-v9Lp2Rt5"]);
        }
    }
}

#[test]
fn a_private_key_cut_at_any_byte_loses_what_is_left_of_its_body() {
    let samples = samples();
    for kind in ["pem-private-key", "ssh-private-key"] {
        let sample = samples
            .iter()
            .find(|s| s.kind == kind)
            .unwrap_or_else(|| panic!("no {kind}"));
        let key = &sample.text;
        for cut in (1..key.len()).filter(|i| key.is_char_boundary(*i)) {
            for text in [
                // A report's trimming took its start (the tail of an output)…
                format!(
                    "[… 40 lines left out of this report …]\n{}\nafter\n",
                    &key[cut..]
                ),
                // … or its end (the head of an output).
                format!(
                    "before\n{}\n[… 40 lines left out of this report …]\n",
                    &key[..cut]
                ),
            ] {
                let out = Redactor::default().redact(&text);
                for line in &sample.secrets {
                    for piece in line.as_bytes().chunks(16).filter(|p| p.len() == 16) {
                        let piece = std::str::from_utf8(piece).unwrap_or_default();
                        assert!(
                            !text.contains(piece) || !out.contains(piece),
                            "{kind} cut at {cut}: {piece} survived:\n{out}"
                        );
                    }
                }
            }
        }
    }
}
