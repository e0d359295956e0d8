//! The kinds of secret the redactor knows, as data: what each looks like, or which names
//! announce one, and how sure a value must look before it is removed.
//!
//! - [`SHAPES`]: documented token formats (`ghp_…`, `AKIA…`, `xoxb-…`, PEM headers, …), found
//!   wherever they appear. The secret is the pattern's group `s`.
//! - [`NAMES`]: a value next to a name (`password`, `token`, `ApiKey`, `client-key-data`, …) in
//!   any of the [`FORMS`] (`k=v`, `k: v`, `"k": "v"`, `--k v`, headers). The first row whose
//!   pattern matches the whole name decides the kind; names that only refer to a secret
//!   (`secretName`, `token-file`, `tokenExpirationSeconds`) are left alone ([`REFERENCE_SUFFIXES`]).
//! - Kubernetes Secret `data`/`stringData` (YAML, JSON, `kubectl describe`) and multi-line
//!   private keys are structures that span lines; `scan.rs` follows them, with the
//!   [`PEM_LABELS`] below and the kind [`SECRET_DATA`].
//!
//! Every shape has triggers, and every name holds one of [`NAME_WORDS`]: literals of which at
//! least one is on any line the row can match. Triggers are matched as written (case counts:
//! list the spellings of a format that has several, like `Bearer`/`bearer`/`BEARER`); name
//! words in lower, Capitalized and UPPER case. One search of all of them (`literals.rs`) runs
//! once over a text; lines with none are never looked at, and on the others only the rows
//! whose literals are there run, which is what makes one pass over a 16 MiB output cheap
//! (keep the literals at 3 bytes or more, rare ones rather than common words, and at most 128
//! shapes). To add a kind:
//! add a row here with its triggers, and a sample of it to the corpus test
//! (`tests/local/redact.rs`), which checks that every kind is found.

/// How a candidate value must look before it is removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value {
    /// The shape says it all: always a secret.
    Any,
    /// Anything but an obvious non-value: empty, a placeholder (`<none>`, `$VAR`, `{{ x }}`),
    /// a mask (`***`, `REDACTED`, `DATA+OMITTED`), a size (`12 bytes`), `null`/`true`/… .
    /// For passwords: they may be short and plain, but they are never meant to be read.
    Present,
    /// [`Value::Present`], at least 6 characters, and not a name or a word (`db-creds`,
    /// `kube-system`, `node.kubernetes.io/not-ready`, a path, a number, a time).
    Credential,
    /// [`Value::Credential`], at least 16 characters, and the entropy of a key (>= 3 bits a
    /// character): for names as common as `key`.
    Entropy,
    /// Not a plain word: `Bearer authentication` in prose is not a token.
    NotWord,
    /// Base64 of `user:password`.
    BasicAuth,
    /// An `Authorization` header's value other than `Bearer`/`Basic` (those have shapes),
    /// and more than a scheme's name.
    AuthHeader,
}

/// A secret found by its format.
#[derive(Debug)]
pub struct Shape {
    pub kind: &'static str,
    pub triggers: &'static [&'static str],
    /// A `regex::bytes` pattern (ASCII, no Unicode classes); group `s` is the secret.
    pub pattern: &'static str,
    pub value: Value,
}

/// A secret announced by the name next to it.
#[derive(Debug)]
pub struct Name {
    pub kind: &'static str,
    /// Matched against the whole name, without case.
    pub pattern: &'static str,
    pub value: Value,
    /// Applies even when the name ends like a reference (`secret_id` ends in `id`).
    pub exact: bool,
}

/// The kind of the values of a Kubernetes Secret's `data`/`stringData`.
pub const SECRET_DATA: &str = "k8s-secret-data";

/// Private key PEM labels and their kinds, most specific first.
pub const PEM_LABELS: &[(&str, &str)] = &[
    ("OPENSSH PRIVATE KEY", "ssh-private-key"),
    ("PGP PRIVATE KEY BLOCK", "pgp-private-key"),
    ("PRIVATE KEY", "pem-private-key"),
];

/// Literals that open the structures `scan.rs` follows across lines.
pub const STRUCTURE_TRIGGERS: &[&str] = &[
    "data:",
    "\"data\"",
    "data\\\"",
    "stringData",
    "====",
    "-----BEGIN",
    "-----END",
];

/// The spellings of a name next to its value. Group `n` is the name, `v` the value; `NAME`
/// stands for the name's characters. Each is tried on one line at a time.
pub const FORMS: &[&str] = &[
    // "name": "value" (JSON, also inside a JSON string: \"name\":\"value\").
    r#""(?P<n>NAME)"\s*:\s*"(?P<v>(?:[^"\\]|\\.)*)""#,
    r#"\\"(?P<n>NAME)\\"\s*:\s*\\"(?P<v>(?:[^"\\]|\\[^"])*)\\""#,
    // name: value on a line of its own (YAML, HTTP headers, `kubectl describe`; also as a
    // line of a diff).
    r"^[+-]?[ \t]*(?:-[ \t]+)?(?P<n>NAME)[ \t]*:[ \t]+(?P<v>[^\r\n]*?)[ \t]*$",
    // name: value inside a line (`-H 'ApiKey: …'`, `{password: …}`).
    r#"(?:^|[\s{,'"(\[`])(?P<n>NAME)[ \t]*:[ \t]*(?P<v>"[^"]*"|'[^']*'|[^\s,;'"`}\]]+)"#,
    // name=value (environment, query strings, `--name=value`, `--set a.password=value`).
    r#"(?:^|[\s?&;'"(,`{\[:/])-{0,2}(?P<n>NAME)=(?P<v>"[^"]*"|'[^']*'|[^\s&;'"`,)}\]]+)"#,
    // name = value on a line of its own (INI, ~/.aws/credentials, .env, TOML).
    r"^[+-]?[ \t]*(?:export[ \t]+)?(?P<n>NAME)(?:[ \t]+=[ \t]*|=[ \t]+)(?P<v>[^\r\n]*?)[ \t]*$",
    // name = value inside a line (`echo 'aws_secret_access_key = …' >> credentials`).
    r#"(?:^|[\s'"(;`])(?P<n>NAME)(?:[ \t]+=[ \t]*|=[ \t]+)(?P<v>"[^"]*"|'[^']*'|[^\s'"`]+)"#,
    // --name value (command-line flags).
    r#"(?:^|\s)--?(?P<n>NAME)[ \t]+(?P<v>"[^"]*"|'[^']*'|[^\s'"-][^\s'"]*)"#,
];

/// A name in [`FORMS`] holds one of these (in lower, Capitalized or UPPER case); they are also
/// the triggers of every row of [`NAMES`], whose patterns must each need one of them.
pub const NAME_WORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "auth",
    "cred",
    "session",
    "sid",
    "certificate-data",
];

/// Name endings that mean the value only refers to a secret (its name, file, type, age…).
pub const REFERENCE_SUFFIXES: &[&str] = &[
    "name",
    "names",
    "ref",
    "refs",
    "file",
    "files",
    "path",
    "paths",
    "dir",
    "id",
    "ids",
    "type",
    "kind",
    "ttl",
    "count",
    "size",
    "length",
    "mode",
    "url",
    "uri",
    "endpoint",
    "seconds",
    "expiry",
    "expires",
    "expiration",
    "enabled",
    "required",
    "optional",
    "hash",
    "policy",
    "provider",
    "format",
    "namespace",
    "field",
    "header",
    "version",
    "duration",
    "timeout",
    "interval",
    "source",
    "template",
    "prefix",
    "rotation",
    "limit",
    "usage",
    "algorithm",
    "method",
    "selector",
    "strategy",
    "secretref",
    "keyref",
    "stdin",
];

/// Names of secrets, most specific first.
pub const NAMES: &[Name] = &[
    Name {
        kind: "kubeconfig-client-key",
        pattern: "client-key-data",
        value: Value::Present,
        exact: true,
    },
    Name {
        kind: "kubeconfig-client-certificate",
        pattern: "client-certificate-data",
        value: Value::Present,
        exact: true,
    },
    Name {
        kind: "aws-secret-key",
        pattern: r"[a-z0-9_.-]*secret[_-]?access[_-]?key|aws[_-]?secret[_-]?key",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "aws-session-token",
        pattern: r"aws[_-]?session[_-]?token|sessiontoken|x-amz-security-token|aws[_-]?security[_-]?token",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "palette-api-key",
        pattern: r"(?:palette|spectro|spectrocloud)[_-]?api[_-]?key|apikey",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "npm-token",
        pattern: r"_authtoken|npm[_-]?token",
        value: Value::Present,
        exact: false,
    },
    Name {
        kind: "vault-token",
        pattern: r"vault[_-]?token|x-vault-token",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "database-password",
        pattern: r"pgpassword|mysql_pwd|(?:mysql|mariadb|postgres|postgresql|redis|mongo|mongodb)[_-]?(?:initdb[_-]?)?(?:root[_-]?)?(?:password|passwd|pass)|rediscli_auth",
        value: Value::Present,
        exact: false,
    },
    Name {
        kind: "docker-auth",
        pattern: r"auth|identitytoken|registrytoken",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "azure-storage-key",
        pattern: r"accountkey|sharedaccesskey|azure[_-]?storage[_-]?(?:account[_-]?)?key",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "client-secret",
        pattern: r"[a-z0-9_.-]*client[_-]?secret",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "gcp-service-account-key",
        pattern: r"private_key",
        value: Value::Present,
        exact: false,
    },
    Name {
        kind: "secret",
        pattern: r"secret[_-]?id",
        value: Value::Credential,
        exact: true,
    },
    Name {
        kind: "private-key",
        pattern: r"[a-z0-9_.-]*(?:private|signing|encryption|master|secret)[_-]?key",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "session-cookie",
        pattern: r"session|sessionid|session[_-]id|jsessionid|phpsessid|connect\.sid|[a-z0-9_]*_session",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "password",
        pattern: r"[a-z0-9_.-]*(?:password|passwd|passphrase|pwd)[a-z0-9_.-]*|(?:[a-z0-9_.-]*[_.-])?pass",
        value: Value::Present,
        exact: false,
    },
    Name {
        kind: "authorization",
        pattern: r"(?:proxy-)?authorization",
        value: Value::AuthHeader,
        exact: false,
    },
    Name {
        kind: "secret",
        pattern: r"[a-z0-9_.-]*secret[a-z0-9_.-]*",
        value: Value::Credential,
        exact: false,
    },
    Name {
        // A value named just `token` (a kubeconfig user's, `?token=`, `"access_token"`) is
        // one unless it is a plain word (`auth-token: simple` is etcd's mode).
        kind: "token",
        pattern: r"(?:access|refresh|id|auth|bearer|api|session|bootstrap|client)?[_-]?token",
        value: Value::NotWord,
        exact: false,
    },
    Name {
        kind: "token",
        pattern: r"[a-z0-9_.-]*token[a-z0-9_.-]*",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "api-key",
        pattern: r"[a-z0-9_.-]*api[_-]?key[a-z0-9_.-]*",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "credential",
        pattern: r"[a-z0-9_.-]*cred(?:s|entials?)?",
        value: Value::Credential,
        exact: false,
    },
    Name {
        kind: "key",
        pattern: r"[a-z0-9_.-]*key",
        value: Value::Entropy,
        exact: false,
    },
];

/// Secrets found by their documented formats.
pub const SHAPES: &[Shape] = &[
    Shape {
        kind: "aws-access-key-id",
        triggers: &["AKIA", "ASIA"],
        // AKIA: a user's long-term key; ASIA: a temporary one. (AROA, AIDA… name roles and
        // users; they are not credentials.)
        pattern: r"\b(?P<s>(?:AKIA|ASIA)[A-Z0-9]{16})\b",
        value: Value::Any,
    },
    Shape {
        // An access key id followed by its secret key (credentials CSV, `aws configure list`).
        kind: "aws-secret-key",
        triggers: &["AKIA", "ASIA"],
        pattern: r"\b(?:AKIA|ASIA)[A-Z0-9]{16}[\s,;:|]+(?P<s>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        value: Value::Any,
    },
    Shape {
        kind: "aws-request-signature",
        triggers: &["X-Amz-Signature="],
        pattern: r"(?i)x-amz-signature=(?P<s>[0-9a-f]{64})",
        value: Value::Any,
    },
    Shape {
        kind: "gcp-api-key",
        triggers: &["AIza"],
        pattern: r"\b(?P<s>AIza[0-9A-Za-z_-]{35})",
        value: Value::Any,
    },
    Shape {
        kind: "google-oauth-client-secret",
        triggers: &["GOCSPX-"],
        pattern: r"\b(?P<s>GOCSPX-[A-Za-z0-9_-]{28})",
        value: Value::Any,
    },
    Shape {
        kind: "azure-storage-key",
        triggers: &["AccountKey=", "SharedAccessKey="],
        pattern: r"(?i)\b(?:AccountKey|SharedAccessKey)=(?P<s>[A-Za-z0-9+/]{20,}={0,2})",
        value: Value::Any,
    },
    Shape {
        kind: "azure-sas-token",
        triggers: &["sig="],
        pattern: r"[?&;]sig=(?P<s>[A-Za-z0-9%+/=]{16,})",
        value: Value::Any,
    },
    Shape {
        kind: "github-token",
        triggers: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        pattern: r"\b(?P<s>gh[pousr]_[A-Za-z0-9]{36,251})\b",
        value: Value::Any,
    },
    Shape {
        kind: "github-fine-grained-token",
        triggers: &["github_pat_"],
        pattern: r"\b(?P<s>github_pat_[A-Za-z0-9_]{22,255})",
        value: Value::Any,
    },
    Shape {
        kind: "gitlab-token",
        triggers: &[
            "glpat-",
            "glrt-",
            "gldt-",
            "glptt-",
            "glcbt-",
            "gloas-",
            "glft-",
            "glimt-",
            "glagent-",
            "glsoat-",
            "GR1348941",
        ],
        pattern: r"\b(?P<s>(?:gl(?:pat|rt|dt|ptt|cbt|oas|ft|imt|agent|soat)-|GR1348941)[A-Za-z0-9_-]{20,})",
        value: Value::Any,
    },
    Shape {
        kind: "slack-token",
        triggers: &["xox", "xapp-"],
        pattern: r"\b(?P<s>(?:xox[abposre]|xapp)-[A-Za-z0-9-]{10,})",
        value: Value::Any,
    },
    Shape {
        kind: "slack-webhook",
        triggers: &["hooks.slack.com"],
        pattern: r"hooks\.slack\.com/(?:services|workflows|triggers)/(?P<s>[A-Za-z0-9/_-]{16,})",
        value: Value::Any,
    },
    Shape {
        kind: "npm-token",
        triggers: &["npm_"],
        pattern: r"\b(?P<s>npm_[A-Za-z0-9]{36})\b",
        value: Value::Any,
    },
    Shape {
        kind: "pypi-token",
        triggers: &["pypi-AgE"],
        pattern: r"\b(?P<s>pypi-AgE[A-Za-z0-9_-]{50,})",
        value: Value::Any,
    },
    Shape {
        kind: "vault-token",
        triggers: &["hvs.", "hvb.", "hvr."],
        pattern: r"\b(?P<s>hv[sbr]\.[A-Za-z0-9_-]{24,})",
        value: Value::Any,
    },
    Shape {
        kind: "stripe-key",
        triggers: &["k_live_", "k_test_", "whsec_"],
        pattern: r"\b(?P<s>(?:[sr]k_(?:live|test)_|whsec_)[A-Za-z0-9]{16,})",
        value: Value::Any,
    },
    Shape {
        kind: "openai-api-key",
        triggers: &["sk-proj-", "sk-svcacct-", "sk-admin-", "T3BlbkFJ"],
        pattern: r"\b(?P<s>sk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}|sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20})",
        value: Value::Any,
    },
    Shape {
        kind: "anthropic-api-key",
        triggers: &["sk-ant-"],
        pattern: r"\b(?P<s>sk-ant-[a-z]+\d{2}-[A-Za-z0-9_-]{40,})",
        value: Value::Any,
    },
    Shape {
        kind: "sendgrid-api-key",
        triggers: &["SG."],
        pattern: r"\b(?P<s>SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43})",
        value: Value::Any,
    },
    Shape {
        kind: "huggingface-token",
        triggers: &["hf_"],
        pattern: r"\b(?P<s>hf_[A-Za-z0-9]{34,})\b",
        value: Value::Any,
    },
    Shape {
        kind: "digitalocean-token",
        triggers: &["_v1_"],
        pattern: r"\b(?P<s>do[por]_v1_[a-f0-9]{64})\b",
        value: Value::Any,
    },
    Shape {
        kind: "shopify-token",
        triggers: &["shp"],
        pattern: r"\b(?P<s>shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32})\b",
        value: Value::Any,
    },
    Shape {
        kind: "grafana-token",
        triggers: &["glsa_", "glc_"],
        pattern: r"\b(?P<s>glsa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8}|glc_[A-Za-z0-9+/]{32,}={0,2})",
        value: Value::Any,
    },
    Shape {
        kind: "terraform-cloud-token",
        triggers: &[".atlasv1."],
        pattern: r"\b(?P<s>[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_=-]{60,})",
        value: Value::Any,
    },
    Shape {
        kind: "age-secret-key",
        triggers: &["AGE-SECRET-KEY-"],
        pattern: r"(?P<s>AGE-SECRET-KEY-1[0-9A-Z]{58})",
        value: Value::Any,
    },
    Shape {
        kind: "jwt",
        triggers: &["eyJ"],
        pattern: r"\b(?P<s>eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*)",
        value: Value::Any,
    },
    Shape {
        kind: "kubeadm-bootstrap-token",
        triggers: &["--token"],
        pattern: r"\b(?P<s>[a-z0-9]{6}\.[a-z0-9]{16})\b",
        value: Value::Credential,
    },
    Shape {
        kind: "ssh-private-key",
        triggers: &["-----BEGIN"],
        pattern: r"-----BEGIN OPENSSH PRIVATE KEY-----(?P<s>(?:\\[nr]|[A-Za-z0-9+/=:, \t-])+?)(?:\\n)?(?:-----END|[^A-Za-z0-9+/=:,\\ \t-]|$)",
        value: Value::Any,
    },
    Shape {
        kind: "pgp-private-key",
        triggers: &["-----BEGIN"],
        pattern: r"-----BEGIN PGP PRIVATE KEY BLOCK-----(?P<s>(?:\\[nr]|[A-Za-z0-9+/=:, \t-])+?)(?:\\n)?(?:-----END|[^A-Za-z0-9+/=:,\\ \t-]|$)",
        value: Value::Any,
    },
    Shape {
        kind: "pem-private-key",
        triggers: &["-----BEGIN"],
        pattern: r"-----BEGIN (?:(?:RSA|EC|DSA|ENCRYPTED) )?PRIVATE KEY-----(?P<s>(?:\\[nr]|[A-Za-z0-9+/=:, \t-])+?)(?:\\n)?(?:-----END|[^A-Za-z0-9+/=:,\\ \t-]|$)",
        value: Value::Any,
    },
    Shape {
        kind: "bearer-token",
        triggers: &["Bearer", "bearer", "BEARER"],
        pattern: r"(?i)\bbearer[ \t]+(?P<s>[A-Za-z0-9._~+/=-]{8,})",
        value: Value::NotWord,
    },
    Shape {
        kind: "authorization",
        triggers: &["auth", "Auth", "AUTH"],
        pattern: r#"(?i)authorization\\?"?[ \t]*[:=][ \t]*\\?"?(?:negotiate|ntlm|kerberos|hoba|mutual)[ \t]+(?P<s>[A-Za-z0-9+/=._~-]{8,})"#,
        value: Value::Any,
    },
    Shape {
        kind: "basic-auth",
        triggers: &["Basic", "basic", "BASIC"],
        pattern: r"(?i)\bbasic[ \t]+(?P<s>[A-Za-z0-9+/]{6,}={0,2})",
        value: Value::BasicAuth,
    },
    Shape {
        // curl -u user:password, --user user:password
        kind: "basic-auth",
        triggers: &[" -u", "--user"],
        pattern: r#"(?:^|\s)(?:-u|--user)(?:[ \t]+|=)?['"]?[^\s:'"]+:(?P<s>[^\s'"]+)"#,
        value: Value::Present,
    },
    Shape {
        kind: "url-credentials",
        triggers: &["://"],
        pattern: r#"(?i)\b[a-z][a-z0-9+.-]{1,20}://[^\s:/@'"]+:(?P<s>[^\s@/'"]+)@"#,
        value: Value::Present,
    },
    Shape {
        kind: "database-password",
        triggers: &["mysql", "mariadb"],
        pattern: r#"\b(?:mysql|mysqldump|mysqladmin|mysqlsh|mariadb|mariadb-dump)\b[^|;&\n]*?\s-p(?P<s>[^\s'"-][^\s'"]*|'[^']*'|"[^"]*")"#,
        value: Value::Present,
    },
    Shape {
        kind: "database-password",
        triggers: &["redis-cli", "mongo", "sshpass"],
        pattern: r#"\b(?:redis-cli\b[^|;&\n]*?\s-a|mongo(?:sh)?\b[^|;&\n]*?\s-p|sshpass[ \t]+-p)[ \t]*(?P<s>"[^"]*"|'[^']*'|[^\s'"-][^\s'"]*)"#,
        value: Value::Present,
    },
    Shape {
        kind: "registry-password",
        triggers: &["login"],
        pattern: r#"\b(?:docker|podman|nerdctl|helm(?:[ \t]+registry)?|oras|crane|skopeo|buildah)[ \t]+login\b[^|;&\n]*?[ \t]-p(?:[ \t]+|=)?(?P<s>"[^"]*"|'[^']*'|[^\s'"-][^\s'"]*)"#,
        value: Value::Present,
    },
    Shape {
        kind: "netrc-password",
        triggers: &[" login "],
        pattern: r"(?i)\bmachine[ \t]+\S+[ \t]+login[ \t]+\S+[ \t]+password[ \t]+(?P<s>\S+)",
        value: Value::Present,
    },
];
