//! Values for placeholders: where they come from, how they are put into a command, and how
//! secrets are kept out of everything shown.
//!
//! [`Vars`] is the session's store, keyed by the normalised placeholder name
//! ([`placeholder::normalise`]), so `<mgmt-pod-name>`, `[mgmt_pod_name]` and
//! `--var MGMT_POD_NAME=x` are one value, asked once. Values come from `--var`, from an
//! earlier step (`capture=`), or from a prompt callback ([`Vars::resolve`]).
//!
//! Filling ([`Vars::fill`]) is context-aware: the quoting context of each placeholder
//! ([`shell::Script::context_at`]) decides the spelling, so that the shell always expands it
//! to exactly the value, one word, whatever it holds (quotes, `$()`, backquotes, `;`,
//! newlines, globs):
//! - bare `<x>` becomes `'v'` (with `'\''` for quotes inside),
//! - inside `'...<x>...'` the quote is closed, `'v'` inserted and reopened,
//! - inside `"...<x>..."` backslash, double quote, dollar and backquote are escaped,
//! - inside an expanding heredoc body backslash, dollar and backquote are escaped; a literal
//!   (`<<'EOF'`) body takes the value as is; a value that would end the heredoc is refused,
//! - each enclosing backquote level adds one layer of backslash escapes,
//! - placeholders in comments are left alone (and not asked for).
//!
//! Secrets (names that [`placeholder::looks_secret`], `****` stand-ins, exported variables
//! such as `TOKEN`) are replaced by [`MASK`] in every display string; [`Vars::mask`] does the
//! same for output and transcripts. A script with a secret filled in says so
//! ([`Filled::secret`]): it then reaches bash through the environment, never as an argument
//! that every local user can read in `/proc/PID/cmdline`. To support one more quoting context, add a [`Quote`]
//! variant in `shell.rs` and its arm in [`spell`], plus a payload in the tests.

use std::borrow::Cow;
use std::collections::BTreeMap;

use regex::bytes::Regex as BytesRegex;
use serde::Serialize;

use super::shell::{self, Quote};
use crate::runbook::placeholder::{self, Placeholder};

/// What a secret looks like wherever it would be shown.
pub const MASK: &str = "••••••";

/// Where a value came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// `--var name=value`.
    Cli,
    /// Captured or exported by an earlier step.
    Step,
    /// Typed in at a prompt.
    Prompt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Var {
    pub value: String,
    pub secret: bool,
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FillError {
    #[error("no value for placeholder `{raw}`: pass --var {name}=VALUE")]
    Missing { name: String, raw: String },
    #[error("the value of `{name}` cannot be put into the command: {why}")]
    Unrepresentable { name: String, why: &'static str },
    #[error("`{0}` is not NAME=VALUE")]
    BadAssignment(String),
}

/// A command with its placeholders filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    /// What runs.
    pub script: String,
    /// What is shown: the same text with every secret replaced by [`MASK`].
    pub display: String,
    /// A secret value was filled in: `script` must never be a process argument (see
    /// [`crate::exec::process::CommandSpec::secret`]).
    pub secret: bool,
}

/// The session's placeholder values.
#[derive(Debug, Default, Clone)]
pub struct Vars {
    values: BTreeMap<String, Var>,
    /// Extra secret strings to mask (exported `TOKEN=...` values and the like).
    secret_values: Vec<String>,
    /// Names whose values are secret whoever gives them (the front matter's `secret:`),
    /// remembered before any value arrives.
    secret_names: std::collections::BTreeSet<String>,
    masker: Option<BytesRegex>,
}

impl Vars {
    pub fn new() -> Self {
        Self::default()
    }

    /// Parses `name=value` (`--var`).
    pub fn parse_assignment(text: &str) -> Result<(String, String), FillError> {
        match text.split_once('=') {
            Some((name, value)) if !placeholder::normalise(name).is_empty() => {
                Ok((name.to_owned(), value.to_owned()))
            }
            _ => Err(FillError::BadAssignment(text.to_owned())),
        }
    }

    /// Stores a value; its secrecy follows its name.
    pub fn set(&mut self, name: &str, value: impl Into<String>, origin: Origin) {
        let secret = placeholder::looks_secret(name);
        self.insert(name, value.into(), secret, origin);
    }

    /// Stores a value that must never be shown.
    pub fn set_secret(&mut self, name: &str, value: impl Into<String>, origin: Origin) {
        self.insert(name, value.into(), true, origin);
    }

    fn insert(&mut self, name: &str, value: String, secret: bool, origin: Origin) {
        let key = placeholder::normalise(name);
        let secret = secret
            || self.secret_names.contains(&key)
            || self.values.get(&key).is_some_and(|v| v.secret);
        self.values.insert(
            key,
            Var {
                value,
                secret,
                origin,
            },
        );
        if secret {
            self.rebuild_masker();
        }
    }

    /// Marks a name secret (a `****` stand-in was seen for it, or the front matter says so),
    /// its value now and any value it gets later.
    pub fn mark_secret(&mut self, name: &str) {
        let key = placeholder::normalise(name);
        if let Some(v) = self.values.get_mut(&key)
            && !v.secret
        {
            v.secret = true;
            self.rebuild_masker();
        }
        self.secret_names.insert(key);
    }

    /// Is this name's value secret (now, or once it has one)?
    pub fn is_secret(&self, name: &str) -> bool {
        let key = placeholder::normalise(name);
        self.secret_names.contains(&key) || self.values.get(&key).is_some_and(|v| v.secret)
    }

    /// Adds a raw value to mask wherever it appears (an exported secret variable).
    pub fn add_secret_value(&mut self, value: &str) {
        if !value.is_empty() && !self.secret_values.iter().any(|v| v == value) {
            self.secret_values.push(value.to_owned());
            self.rebuild_masker();
        }
    }

    /// Forgets a value (the user cleared it): a step that needs it asks again. A secret's value
    /// stays masked in what is shown from now on.
    pub fn remove(&mut self, name: &str) -> Option<Var> {
        let var = self.values.remove(&placeholder::normalise(name))?;
        if var.secret {
            self.add_secret_value(&var.value);
        }
        Some(var)
    }

    pub fn get(&self, name: &str) -> Option<&Var> {
        self.values.get(&placeholder::normalise(name))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Var)> {
        self.values.iter()
    }

    /// The placeholders of `script` that must be filled in (not those in comments).
    pub fn placeholders(script: &str) -> Vec<Placeholder> {
        let found = placeholder::find(script);
        if found.is_empty() {
            return found;
        }
        let lexed = shell::parse(script);
        found
            .into_iter()
            .filter(|p| lexed.context_at(p.start).quote != Quote::Comment)
            .collect()
    }

    /// Placeholders of `script` that have no value yet, one per name.
    pub fn missing(&self, script: &str) -> Vec<Placeholder> {
        let mut out: Vec<Placeholder> = Vec::new();
        for p in Self::placeholders(script) {
            if self.get(&p.name).is_none() && !out.iter().any(|o| o.name == p.name) {
                out.push(p);
            }
        }
        out
    }

    /// Asks `prompt` for every missing value of `script` (once per name) and marks secrets.
    /// Returns the first placeholder the prompt could not answer.
    pub fn resolve(
        &mut self,
        script: &str,
        prompt: &mut dyn FnMut(&Placeholder) -> Option<String>,
    ) -> Result<(), FillError> {
        for p in Self::placeholders(script) {
            if self.get(&p.name).is_none() {
                let Some(value) = prompt(&p) else {
                    return Err(FillError::Missing {
                        raw: p.raw(script).to_owned(),
                        name: p.name,
                    });
                };
                self.insert(
                    &p.name,
                    value,
                    p.secret || placeholder::looks_secret(&p.name),
                    Origin::Prompt,
                );
            } else if p.secret {
                self.mark_secret(&p.name);
            }
        }
        Ok(())
    }

    /// `script` with every placeholder filled in, and its display form.
    pub fn fill(&self, script: &str) -> Result<Filled, FillError> {
        let found = Self::placeholders(script);
        if found.is_empty() {
            return Ok(Filled {
                script: script.to_owned(),
                display: self.mask(script).into_owned(),
                secret: false,
            });
        }
        let lexed = shell::parse(script);
        let mut run = String::with_capacity(script.len());
        let mut display = String::with_capacity(script.len());
        let mut last = 0;
        let mut secret = false;
        for p in &found {
            let Some(var) = self.get(&p.name) else {
                return Err(FillError::Missing {
                    name: p.name.clone(),
                    raw: p.raw(script).to_owned(),
                });
            };
            let spelled = spell_at(&var.value, &lexed, p.start).map_err(|why| {
                FillError::Unrepresentable {
                    name: p.name.clone(),
                    why,
                }
            })?;
            run.push_str(&script[last..p.start]);
            run.push_str(&spelled);
            display.push_str(&script[last..p.start]);
            if var.secret || p.secret {
                secret = true;
                // The mask is shown in the placeholder's quoting context, like a value.
                let delimiter = lexed
                    .region_at(p.start)
                    .and_then(|r| r.delimiter.as_deref());
                let mask = spell(MASK, lexed.context_at(p.start), delimiter);
                display.push_str(&mask.unwrap_or_else(|_| MASK.to_owned()));
            } else {
                display.push_str(&spelled);
            }
            last = p.end;
        }
        run.push_str(&script[last..]);
        display.push_str(&script[last..]);
        let display = self.mask(&display).into_owned();
        Ok(Filled {
            script: run,
            display,
            secret,
        })
    }

    /// `text` with every secret value replaced by [`MASK`].
    pub fn mask<'a>(&self, text: &'a str) -> Cow<'a, str> {
        match self.mask_bytes(text.as_bytes()) {
            Cow::Borrowed(_) => Cow::Borrowed(text),
            Cow::Owned(bytes) => Cow::Owned(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }

    /// [`Self::mask`] for raw output bytes.
    pub fn mask_bytes<'a>(&self, bytes: &'a [u8]) -> Cow<'a, [u8]> {
        match &self.masker {
            Some(re) => re.replace_all(bytes, MASK.as_bytes()),
            None => Cow::Borrowed(bytes),
        }
    }

    /// Are there any secrets to mask?
    pub fn has_secrets(&self) -> bool {
        self.masker.is_some()
    }

    fn rebuild_masker(&mut self) {
        let mut needles: Vec<&str> = Vec::new();
        let values = self
            .values
            .values()
            .filter(|v| v.secret)
            .map(|v| v.value.as_str());
        for value in values.chain(self.secret_values.iter().map(String::as_str)) {
            if value.is_empty() {
                continue;
            }
            needles.push(value);
            // A multi-line secret is also masked line by line (output arrives in lines).
            if value.contains('\n') {
                needles.extend(value.lines().filter(|l| l.trim().len() >= 4));
            }
        }
        needles.sort_by_key(|n| std::cmp::Reverse(n.len()));
        needles.dedup();
        if needles.is_empty() {
            self.masker = None;
            return;
        }
        let pattern = needles
            .iter()
            .map(|n| regex::escape(n))
            .collect::<Vec<_>>()
            .join("|");
        self.masker = BytesRegex::new(&pattern).ok();
    }
}

/// `value` as a single bare shell word: `'...'`, with `'` spelled `'\''`.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

/// How `value` is spelled at a place with `context` so that it expands to exactly `value`.
/// [`spell`] for the placeholder at byte `offset` of the lexed script: its quoting context,
/// its heredoc's delimiter, and whether the command there parses its text again
/// ([`super::reparse`]), where only a plain word is accepted.
pub fn spell_at(value: &str, lexed: &shell::Script, offset: usize) -> Result<String, &'static str> {
    if let Some(kind) = super::reparse::at(lexed, offset)
        && !super::reparse::is_plain(value)
    {
        return Err(kind.why());
    }
    let region = lexed.region_at(offset);
    spell(
        value,
        lexed.context_at(offset),
        region.and_then(|r| r.delimiter.as_deref()),
    )
}

pub fn spell(
    value: &str,
    context: shell::Context,
    delimiter: Option<&str>,
) -> Result<String, &'static str> {
    if value.contains('\0') {
        return Err("it contains a NUL byte, which no shell word can hold");
    }
    let base = match context.quote {
        Quote::Bare => quote(value),
        Quote::Single => format!("'{}'", quote(value)),
        Quote::AnsiC => format!("'{}$'", quote(value)),
        Quote::Double => escape(value, &['\\', '"', '$', '`']),
        Quote::HeredocExpand | Quote::HeredocLiteral => {
            if let Some(d) = delimiter
                && value.lines().any(|l| l.trim_start_matches('\t') == d)
            {
                return Err("a line of it would end the heredoc");
            }
            if context.quote == Quote::HeredocExpand {
                escape(value, &['\\', '$', '`'])
            } else {
                value.to_owned()
            }
        }
        Quote::Comment => return Err("it sits in a comment"),
        Quote::Parameter => {
            if !super::reparse::is_plain(value) {
                return Err(
                    "it sits in a `${…}` expansion, where only a plain word (letters, digits, - _ . / : @ % + , =) is safe",
                );
            }
            value.to_owned()
        }
        Quote::Arithmetic => {
            if !is_number(value) {
                return Err(
                    "it sits in arithmetic (`$(( ))`, `(( ))` or `$[ ]`), where only a number is safe",
                );
            }
            value.trim().to_owned()
        }
    };
    let mut out = base;
    // Innermost level first; a level inside `"..."` also takes `\"` as an escape (the
    // outermost levels are the ones that can sit in double quotes).
    for level in (0..context.backticks).rev() {
        if level < context.dquoted_backticks {
            out = escape(&out, &['\\', '$', '`', '"']);
        } else {
            out = escape(&out, &['\\', '$', '`']);
        }
    }
    Ok(out)
}

/// A decimal integer (optionally signed) or `0x` hex: what arithmetic can take from outside.
/// Names are refused too: bash would evaluate the named variable's text as an expression.
fn is_number(value: &str) -> bool {
    let v = value.trim();
    let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
    match digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        Some(hex) => !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()),
        None => !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()),
    }
}

fn escape(value: &str, special: &[char]) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// How to pick one value out of a command's output (the UI offers this after a step).
#[derive(Debug, Clone)]
pub enum Pick {
    /// The whole output, trimmed.
    All,
    /// Line `n` (1-based; negative counts from the end), trimmed.
    Line(isize),
    /// Whitespace-separated column `col` (1-based) of line `line` (1-based, negative from end).
    Column { line: isize, col: usize },
    /// The first match of a regex: capture group 1 if it has one, else the whole match.
    Regex(regex::Regex),
}

/// Picks a value from `output` (ANSI escapes already stripped by the caller).
pub fn pick(output: &str, how: &Pick) -> Option<String> {
    let lines: Vec<&str> = output.lines().filter(|l| !l.trim().is_empty()).collect();
    let line = |n: isize| -> Option<&str> {
        let idx = if n < 0 {
            lines.len().checked_sub(n.unsigned_abs())?
        } else {
            usize::try_from(n).ok()?.checked_sub(1)?
        };
        lines.get(idx).copied()
    };
    match how {
        Pick::All => Some(output.trim().to_owned()),
        Pick::Line(n) => line(*n).map(|l| l.trim().to_owned()),
        Pick::Column { line: n, col } => line(*n)?
            .split_whitespace()
            .nth(col.checked_sub(1)?)
            .map(str::to_owned),
        Pick::Regex(re) => {
            let caps = re.captures(output)?;
            caps.get(1)
                .or_else(|| caps.get(0))
                .map(|m| m.as_str().to_owned())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_and_masks() {
        let mut vars = Vars::new();
        vars.set("namespace", "kube system", Origin::Cli);
        vars.set("password", "s3cr'et", Origin::Cli);
        let f = vars
            .fill(r#"kubectl get ns <namespace> && curl --data '{"password": "<password>"}'"#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            f.script,
            r#"kubectl get ns 'kube system' && curl --data '{"password": "''s3cr'\''et''"}'"#
        );
        assert!(!f.display.contains("s3cr"));
        assert!(f.display.contains(MASK));
        assert_eq!(
            vars.mask("token s3cr'et here"),
            format!("token {MASK} here")
        );
    }

    #[test]
    fn missing_names_the_var() {
        let vars = Vars::new();
        let err = vars
            .fill("kubectl get ns <namespace>")
            .err()
            .map(|e| e.to_string());
        assert_eq!(
            err.as_deref(),
            Some("no value for placeholder `<namespace>`: pass --var namespace=VALUE")
        );
    }

    #[test]
    fn same_name_asked_once() {
        let mut vars = Vars::new();
        let mut asked = Vec::new();
        let mut prompt = |p: &Placeholder| {
            asked.push(p.name.clone());
            Some("x".to_owned())
        };
        vars.resolve("a <ns> <NS> [ns_x]", &mut prompt)
            .unwrap_or_else(|e| panic!("{e}"));
        vars.resolve("b <ns>", &mut prompt)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(asked, ["ns", "ns-x"]);
    }

    #[test]
    fn stars_are_secret() {
        let mut vars = Vars::new();
        let script = "export API=**********";
        vars.resolve(script, &mut |_| Some("hunter22".to_owned()))
            .unwrap_or_else(|e| panic!("{e}"));
        let f = vars.fill(script).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.script, "export API='hunter22'");
        assert_eq!(f.display, format!("export API='{MASK}'"));
    }

    #[test]
    fn picks() {
        let out = "NAME READY\nmgmt-1 1/1\nmgmt-2 0/1\n";
        assert_eq!(pick(out, &Pick::Line(2)).as_deref(), Some("mgmt-1 1/1"));
        assert_eq!(
            pick(out, &Pick::Column { line: -1, col: 1 }).as_deref(),
            Some("mgmt-2")
        );
        let re = regex::Regex::new(r"(mgmt-\d) 0/1").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pick(out, &Pick::Regex(re)).as_deref(), Some("mgmt-2"));
    }
}
