//! The detector: finds secrets in text with the table of [`super::kinds`], one pass for all
//! kinds.
//!
//! One search for the literals of every kind (each shape's triggers and the words every secret
//! name holds; `literals.rs`, a table of their first two bytes) runs once over the text
//! and names the few lines worth a look; on each of them the same table says which literals are
//! there and so which detectors can match ([`Leads`]), and only those run. A name runs its
//! forms' regexes only when the bytes around it fit one ([`Fits`]), and names are classified
//! with one anchored [`RegexSet`] of the name table. (A `RegexSet` of every pattern run on each
//! such line was the first version, at about 4 MiB/s; a Teddy search of the literals then gave
//! 44 MiB/s; the table and [`Fits`], about 110-190 MiB/s; `benches/redact.rs`.) Secrets
//! that span lines (Kubernetes Secret `data` maps in YAML, JSON and `kubectl describe`, private
//! key bodies, YAML block scalars and `env` entries under a secret name) are followed by
//! [`Open`], a small state machine fed one line at a time, so that the same code serves a whole
//! text ([`Engine::scan`]) and a live stream of lines ([`Stream`]).
//!
//! To add a structure: an arm in [`Open`], its opener in [`Engine::line`], and its lines in
//! [`Open::feed`].

use std::collections::VecDeque;

use regex::bytes::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::kinds::{
    self, FORMS, NAME_WORDS, NAMES, PEM_LABELS, REFERENCE_SUFFIXES, SECRET_DATA, SHAPES,
    STRUCTURE_TRIGGERS, Value,
};
use super::literals::Literals;

/// What the literals found on a line can lead to.
#[derive(Debug, Clone, Copy, Default)]
struct Leads {
    /// Bit `i`: shape `i` may match.
    shapes: u128,
    /// A secret name may be there.
    names: bool,
    /// A structure may open there.
    structure: bool,
}

impl Leads {
    fn add(&mut self, other: Self) {
        self.shapes |= other.shapes;
        self.names |= other.names;
        self.structure |= other.structure;
    }
}

/// A secret's place in the text: bytes `start..end`, of `kind`. Pieces of one value that spans
/// lines share a `group` (non-zero) so that they get one marker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Finding {
    pub start: usize,
    pub end: usize,
    pub kind: &'static str,
    pub group: u32,
}

/// Indexes in [`FORMS`] of the forms treated apart: the two that take a whole line, and the
/// one that must not take the name a whole-line form has.
const LINE_COLON: usize = 2;
const INLINE_COLON: usize = 3;
const LINE_EQUALS: usize = 5;

/// Lines looked at around an opener, at most.
const LOOK_AROUND: usize = 400;
/// Lines a [`Stream`] remembers for looking back.
const STREAM_MEMORY: usize = 64;

/// The compiled table.
pub struct Engine {
    /// Every literal of the table: the lines worth a look, and what is on them.
    literals: Literals,
    /// What each literal (by its index) leads to.
    leads: Vec<Leads>,
    shapes: Vec<Regex>,
    forms: Vec<Regex>,
    /// `name: DB_PASSWORD` / `"name": "DB_PASSWORD"` of an environment entry.
    env_name: Regex,
    names: RegexSet,
    json_map_open: Regex,
    json_map_inline: Regex,
    json_pair: Regex,
    json_kind: Regex,
    json_value_after: Regex,
}

/// Which object a `data` map belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Secret,
    Other,
    Unknown,
}

/// What the lines around the current one are, for openers that must look.
trait Around {
    /// The lines before, nearest first.
    fn before(&self) -> Box<dyn Iterator<Item = &str> + '_>;
    /// The lines after, nearest first (none in a stream).
    fn after(&self) -> Box<dyn Iterator<Item = &str> + '_>;
}

struct InText<'a> {
    text: &'a str,
    start: usize,
    end: usize,
}

impl Around for InText<'_> {
    fn before(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        let head = &self.text[..self.start.saturating_sub(1).min(self.start)];
        let has = self.start > 0;
        Box::new(
            has.then(|| head.rsplit('\n'))
                .into_iter()
                .flatten()
                .map(|l| l.strip_suffix('\r').unwrap_or(l)),
        )
    }

    fn after(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        let tail = self.text.get(self.end + 1..).unwrap_or_default();
        Box::new(tail.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)))
    }
}

struct InStream<'a> {
    memory: &'a VecDeque<String>,
}

impl Around for InStream<'_> {
    fn before(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(self.memory.iter().rev().map(String::as_str))
    }

    fn after(&self) -> Box<dyn Iterator<Item = &str> + '_> {
        Box::new(std::iter::empty())
    }
}

/// A structure that continues on the next lines.
#[derive(Debug, Clone)]
pub enum Open {
    /// The body of a private key, after its `BEGIN` line (`body`: a base64 line was seen;
    /// before it, PGP armour may have headers and a blank line).
    Pem {
        kind: &'static str,
        group: u32,
        body: bool,
    },
    /// A YAML `data:`/`stringData:` map: every value when it belongs to a Secret, else the
    /// ones that look like base64.
    YamlMap {
        key_indent: usize,
        secret: bool,
        block: Option<(usize, u32)>,
    },
    /// The same in pretty-printed JSON (`"data": {`).
    JsonMap { key_indent: usize, secret: bool },
    /// The `Data` section of `kubectl describe secret`.
    Describe,
    /// The lines of a YAML block scalar (`key: |`) under a secret name.
    Block {
        indent: usize,
        kind: &'static str,
        group: u32,
    },
    /// The `value:` after `- name: DB_PASSWORD` (YAML) or `"name": "DB_PASSWORD",` (JSON).
    EnvValue {
        indent: usize,
        kind: &'static str,
        value: Value,
    },
}

/// What feeding one line to an [`Open`] did.
#[derive(Debug, Clone, Copy)]
pub struct Fed {
    /// The line belongs to the structure; nothing else need look at it.
    pub consumed: bool,
    /// The structure ended (on this line or before it).
    pub done: bool,
}

impl Engine {
    pub fn build() -> Result<Self, String> {
        if SHAPES.len() > 128 {
            return Err("more than 128 shapes: widen Leads::shapes".to_owned());
        }
        let mut leads: std::collections::BTreeMap<String, Leads> =
            std::collections::BTreeMap::new();
        for (i, shape) in SHAPES.iter().enumerate() {
            for t in shape.triggers {
                leads.entry((*t).to_owned()).or_default().shapes |= 1 << i;
            }
        }
        for word in NAME_WORDS {
            let mut capital = (*word).to_owned();
            capital[..1].make_ascii_uppercase();
            for spelling in [(*word).to_owned(), capital, word.to_ascii_uppercase()] {
                leads.entry(spelling).or_default().names = true;
            }
        }
        for t in STRUCTURE_TRIGGERS {
            leads.entry((*t).to_owned()).or_default().structure = true;
        }
        let (literals, leads): (Vec<String>, Vec<Leads>) = leads.into_iter().unzip();
        let literals = Literals::new(&literals)?;
        let words = NAME_WORDS
            .iter()
            .map(|w| regex::escape(w))
            .collect::<Vec<_>>()
            .join("|");
        let name = format!("(?:[A-Za-z0-9_][A-Za-z0-9_.-]*)?(?i:{words})[A-Za-z0-9_.-]*");
        let bytes = |p: &str| {
            RegexBuilder::new(p)
                .unicode(false)
                .build()
                .map_err(|e| format!("{p}: {e}"))
        };
        let names = RegexSetBuilder::new(NAMES.iter().map(|n| format!("^(?:{})$", n.pattern)))
            .unicode(false)
            .case_insensitive(true)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Self {
            literals,
            leads,
            shapes: SHAPES
                .iter()
                .map(|s| bytes(s.pattern))
                .collect::<Result<_, _>>()?,
            forms: FORMS
                .iter()
                .map(|f| bytes(&f.replace("NAME", &name)))
                .collect::<Result<_, _>>()?,
            env_name: bytes(&format!(r#"(?P<n>\bname)"?[ \t]*:[ \t]*"?(?P<v>{name})"?"#))?,
            names,
            json_map_open: bytes(r#"^([ \t]*)"(?:data|stringData)"[ \t]*:[ \t]*\{[ \t]*$"#)?,
            json_map_inline: bytes(
                r#"\\?"(?:data|stringData)\\?"[ \t]*:[ \t]*\{(?P<body>[^{}]*)\}"#,
            )?,
            json_pair: bytes(r#"\\?"[^"\\]*\\?"[ \t]*:[ \t]*\\?"(?P<v>(?:[^"\\]|\\[^"])*)\\?""#)?,
            json_kind: bytes(r#"\\?"kind\\?"[ \t]*:[ \t]*\\?"(?P<k>[A-Za-z0-9]*)"#)?,
            json_value_after: bytes(
                r#"^[ \t]*,?[ \t]*"value"[ \t]*:[ \t]*"(?P<v>(?:[^"\\]|\\.)*)""#,
            )?,
        })
    }

    /// Every secret in `text`.
    pub fn scan(&self, text: &str, out: &mut Vec<Finding>) {
        let mut groups = 0u32;
        let mut pos = 0;
        let len = text.len();
        let bytes = text.as_bytes();
        while pos < len {
            let Some(hit) = self.literals.find(bytes, pos) else {
                break;
            };
            let start = memchr::memrchr(b'\n', &bytes[pos..hit]).map_or(pos, |i| pos + i + 1);
            let end = memchr::memchr(b'\n', &bytes[hit..]).map_or(len, |i| hit + i);
            let line = &text[start..end];
            let line = line.strip_suffix('\r').unwrap_or(line);
            let around = InText { text, start, end };
            let mut open = None;
            let leads = self.line(line, start, &around, &mut groups, out, &mut open);
            // The `END` line of a key cut at its start (`-----END` is a structure's literal).
            if open.is_none() && leads.structure {
                orphan_end(text, start, line, &mut groups, out);
            }
            pos = end + 1;
            if let Some(mut open) = open {
                let mut at = end + 1;
                let mut contiguous = true;
                while at < len {
                    let e = memchr::memchr(b'\n', &bytes[at..]).map_or(len, |i| at + i);
                    let l = &text[at..e];
                    let l = l.strip_suffix('\r').unwrap_or(l);
                    let fed = open.feed(self, l, at, &mut groups, out);
                    if fed.consumed && contiguous {
                        pos = e + 1;
                    } else {
                        contiguous = false;
                    }
                    if fed.done {
                        break;
                    }
                    at = e + 1;
                }
            }
        }
    }

    /// Looks at one line (without its newline) that starts at byte `offset`: the line's
    /// own secrets, and whether a structure opens here; says what its literals led to.
    fn line(
        &self,
        line: &str,
        offset: usize,
        around: &dyn Around,
        groups: &mut u32,
        out: &mut Vec<Finding>,
        open: &mut Option<Open>,
    ) -> Leads {
        let bytes = line.as_bytes();
        let mut leads = Leads::default();
        // Where the words of secret names are, to look at the names around them.
        let mut words: Vec<(usize, usize)> = Vec::new();
        self.literals.each(bytes, |id, start, end| {
            let lead = self.leads[id];
            leads.add(lead);
            if lead.names {
                words.push((start, end));
            }
        });
        if leads.structure {
            *open = self.opener(line, offset, around, groups, out);
        }
        self.shapes_on(line, offset, leads.shapes, out);
        if leads.names {
            self.names_on(line, offset, &words, groups, out, open);
        }
        leads
    }

    /// The secrets of the shapes whose bits are set in `shapes`.
    fn shapes_on(&self, line: &str, offset: usize, shapes: u128, out: &mut Vec<Finding>) {
        for (i, shape) in SHAPES.iter().enumerate() {
            if shapes & (1 << i) != 0 {
                for caps in self.shapes[i].captures_iter(line.as_bytes()) {
                    let Some(s) = caps.name("s") else { continue };
                    if accept(shape.value, &line[s.start()..s.end()]) {
                        out.push(Finding {
                            start: offset + s.start(),
                            end: offset + s.end(),
                            kind: shape.kind,
                            group: 0,
                        });
                    }
                }
            }
        }
    }

    /// The values next to the secret names around `words` (where the name words are).
    fn names_on(
        &self,
        line: &str,
        offset: usize,
        words: &[(usize, usize)],
        groups: &mut u32,
        out: &mut Vec<Finding>,
        open: &mut Option<Open>,
    ) {
        let bytes = line.as_bytes();
        // Each name holding one of those words, once.
        let mut names: Vec<(usize, usize)> = Vec::with_capacity(words.len());
        for &(ws, we) in words {
            let token = name_around(bytes, ws, we);
            if !names.contains(&token) {
                names.push(token);
            }
        }
        for (ts, te) in names {
            let fits = Fits::around(bytes, ts, te);
            if fits.forms == 0 && !fits.env {
                continue;
            }
            let Some(row) = self.classify(&line[ts..te]) else {
                continue;
            };
            // The line's first key: `name: value` on a line of its own takes the whole rest.
            let first = line[..ts]
                .bytes()
                .all(|b| matches!(b, b' ' | b'\t' | b'-' | b'+'));
            for (form, re) in self.forms.iter().enumerate() {
                let own_line = form == LINE_COLON || form == LINE_EQUALS;
                if fits.forms & (1 << form) == 0
                    || own_line != first && (own_line || form == INLINE_COLON)
                {
                    continue;
                }
                let from = if own_line { 0 } else { ts.saturating_sub(3) };
                let Some(caps) = re.captures_at(bytes, from) else {
                    continue;
                };
                let (Some(n), Some(v)) = (caps.name("n"), caps.name("v")) else {
                    continue;
                };
                if n.start() != ts {
                    continue;
                }
                let (vs, ve) = unquote(line, v.start(), v.end());
                let value = &line[vs..ve];
                if form == LINE_COLON && is_block_indicator(value) {
                    if open.is_none() {
                        *groups += 1;
                        *open = Some(Open::Block {
                            indent: indent_of(line),
                            kind: row.kind,
                            group: *groups,
                        });
                    }
                } else if accept(row.value, value) {
                    out.push(Finding {
                        start: offset + vs,
                        end: offset + ve,
                        kind: row.kind,
                        group: 0,
                    });
                }
            }
            if fits.env {
                self.env_entry(line, offset, ts, row, out, open);
            }
        }
    }

    /// An environment entry: `- name: DB_PASSWORD` then `value: …` (YAML, pretty JSON), or
    /// `{"name": "DB_PASSWORD", "value": "…"}` on one line; the secret name starts at `ts`.
    fn env_entry(
        &self,
        line: &str,
        offset: usize,
        ts: usize,
        row: &'static kinds::Name,
        out: &mut Vec<Finding>,
        open: &mut Option<Open>,
    ) {
        let bytes = line.as_bytes();
        let Some(caps) = self.env_name.captures_at(bytes, ts.saturating_sub(12)) else {
            return;
        };
        let (Some(n), Some(v)) = (caps.name("n"), caps.name("v")) else {
            return;
        };
        if v.start() != ts {
            return;
        }
        let rest_at = caps.get(0).map_or(v.end(), |m| m.end());
        if let Some(c) = self
            .json_value_after
            .captures(&bytes[rest_at..])
            .and_then(|c| c.name("v"))
        {
            let (s, e) = (rest_at + c.start(), rest_at + c.end());
            if accept(row.value, &line[s..e]) {
                out.push(Finding {
                    start: offset + s,
                    end: offset + e,
                    kind: row.kind,
                    group: 0,
                });
            }
        } else if open.is_none() {
            let key_start = yaml_indent(line).0;
            if n.start() == key_start || n.start() == key_start + 1 {
                *open = Some(Open::EnvValue {
                    indent: key_start,
                    kind: row.kind,
                    value: row.value,
                });
            }
        }
    }

    /// A structure that starts on this line, if any (findings on the line itself included).
    fn opener(
        &self,
        line: &str,
        offset: usize,
        around: &dyn Around,
        groups: &mut u32,
        out: &mut Vec<Finding>,
    ) -> Option<Open> {
        let trimmed = line.trim();
        // A private key whose body follows on the next lines.
        if let Some(at) = line.find("-----BEGIN ") {
            let rest = &line[at + 11..];
            if let Some(close) = rest.find("-----") {
                let label = &rest[..close];
                let after = rest[close + 5..]
                    .trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'');
                if after.is_empty()
                    && let Some(kind) = pem_kind(label)
                {
                    *groups += 1;
                    return Some(Open::Pem {
                        kind,
                        group: *groups,
                        body: false,
                    });
                }
            }
        }
        // YAML `data:` / `stringData:` with the entries below.
        let key = trimmed.strip_prefix("- ").map_or(trimmed, str::trim_start);
        if key == "data:" || key == "stringData:" {
            let key_indent = line.len() - line.trim_start().len() + (trimmed.len() - key.len());
            return match yaml_owner(around, key_indent) {
                Owner::Other => None,
                owner => Some(Open::YamlMap {
                    key_indent,
                    secret: owner == Owner::Secret,
                    block: None,
                }),
            };
        }
        // Pretty JSON `"data": {` with the entries below.
        if let Some(c) = self.json_map_open.captures(line.as_bytes()) {
            let key_indent = c.get(1).map_or(0, |m| m.len());
            return match json_owner(self, around, key_indent) {
                Owner::Other => None,
                owner => Some(Open::JsonMap {
                    key_indent,
                    secret: owner == Owner::Secret,
                }),
            };
        }
        // Compact JSON, also escaped inside a string (`last-applied-configuration`).
        for c in self.json_map_inline.captures_iter(line.as_bytes()) {
            let (Some(all), Some(body)) = (c.get(0), c.name("body")) else {
                continue;
            };
            let kind_after = self
                .json_kind
                .captures(&line.as_bytes()[all.end()..])
                .and_then(|k| k.name("k"));
            let kind_before = self
                .json_kind
                .captures_iter(&line.as_bytes()[..all.start()])
                .last()
                .and_then(|k| k.name("k").map(|m| m.as_bytes().to_vec()));
            let owner = match kind_after.map(|k| k.as_bytes().to_vec()).or(kind_before) {
                Some(k) if k == b"Secret" => Owner::Secret,
                Some(_) => Owner::Other,
                None => Owner::Unknown,
            };
            if owner == Owner::Other {
                continue;
            }
            for p in self.json_pair.captures_iter(body.as_bytes()) {
                let Some(v) = p.name("v") else { continue };
                let (s, e) = (body.start() + v.start(), body.start() + v.end());
                if owner == Owner::Secret && s < e || base64ish(&line[s..e]) {
                    out.push(Finding {
                        start: offset + s,
                        end: offset + e,
                        kind: SECRET_DATA,
                        group: 0,
                    });
                }
            }
        }
        // `kubectl describe secret`: `Data`, `====`, then `name:  value` lines.
        if trimmed == "====" {
            let mut before = around.before();
            if before.next().map(str::trim) == Some("Data") && describe_secret(before) {
                return Some(Open::Describe);
            }
        }
        None
    }

    /// The kind of a secret held by a variable of this name whose value is `value` (the rules
    /// of a `NAME=value` in a text), or `None`.
    pub fn secret_variable(&self, name: &str, value: &str) -> Option<&'static str> {
        self.classify(name)
            .filter(|row| accept(row.value, value))
            .map(|row| row.kind)
    }

    /// The kind of a secret name, or `None` for any other name.
    pub fn secret_name(&self, name: &str) -> Option<&'static str> {
        self.classify(name).map(|row| row.kind)
    }

    /// The row for a secret name, or `None` for any other name.
    fn classify(&self, name: &str) -> Option<&'static kinds::Name> {
        if name.len() > 80 {
            return None;
        }
        let lower = name.to_ascii_lowercase();
        let lower = lower.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_' || c == '-');
        let matches = self.names.matches(lower.as_bytes());
        let mut first = None;
        for i in &matches {
            let row = &NAMES[i];
            if row.exact {
                return Some(row);
            }
            first.get_or_insert(row);
        }
        let first = first?;
        if lower.contains("public")
            || IGNORED_NAMES.contains(&lower)
            || REFERENCE_SUFFIXES.iter().any(|s| lower.ends_with(s))
        {
            return None;
        }
        Some(first)
    }
}

/// Names that look secret and are not: the shell's working folder, `/etc/nsswitch.conf`'s
/// `passwd:` database line.
const IGNORED_NAMES: &[&str] = &["pwd", "oldpwd", "passwd"];

const GOING: Fed = Fed {
    consumed: false,
    done: false,
};
const ENDED: Fed = Fed {
    consumed: false,
    done: true,
};
const TAKEN: Fed = Fed {
    consumed: true,
    done: false,
};

/// A line's content without its indentation and trailing blanks, as one piece of a value.
fn whole_line(line: &str, offset: usize, kind: &'static str, group: u32, out: &mut Vec<Finding>) {
    let start = indent_of(line);
    let end = line.trim_end().len();
    if start < end {
        out.push(Finding {
            start: offset + start,
            end: offset + end,
            kind,
            group,
        });
    }
}

/// A value at `start..end` of a line starting at `offset`.
fn value_at(offset: usize, start: usize, end: usize, kind: &'static str) -> Finding {
    Finding {
        start: offset + start,
        end: offset + end,
        kind,
        group: 0,
    }
}

impl Open {
    /// Feeds the next line (starting at byte `offset`).
    pub fn feed(
        &mut self,
        engine: &Engine,
        line: &str,
        offset: usize,
        groups: &mut u32,
        out: &mut Vec<Finding>,
    ) -> Fed {
        match self {
            Self::Pem { kind, group, body } => Self::pem(line, offset, (kind, *group), body, out),
            Self::Block {
                indent: parent,
                kind,
                group,
            } => {
                if line.trim().is_empty() {
                    return GOING;
                }
                if indent_of(line) <= *parent {
                    return ENDED;
                }
                whole_line(line, offset, kind, *group, out);
                TAKEN
            }
            Self::YamlMap {
                key_indent,
                secret,
                block,
            } => Self::yaml_map(line, offset, (*key_indent, *secret), block, groups, out),
            Self::JsonMap { key_indent, secret } => {
                let trimmed = line.trim();
                if trimmed.is_empty() || indent_of(line) <= *key_indent {
                    return ENDED;
                }
                if let Some(v) = engine
                    .json_pair
                    .captures(line.as_bytes())
                    .and_then(|c| c.name("v"))
                    && (*secret && v.start() < v.end() || base64ish(&line[v.start()..v.end()]))
                {
                    out.push(value_at(offset, v.start(), v.end(), SECRET_DATA));
                }
                GOING
            }
            Self::Describe => {
                if line.trim().is_empty() || indent_of(line) > 0 {
                    return ENDED;
                }
                if let Some((_, value)) = line.split_once(':') {
                    let v = value.trim();
                    let start = line.len() - value.trim_start().len();
                    if !v.is_empty() && !is_size(v) {
                        out.push(value_at(offset, start, start + v.len(), SECRET_DATA));
                    }
                }
                TAKEN
            }
            Self::EnvValue {
                indent: at,
                kind,
                value,
            } => {
                Self::env_value(engine, line, offset, (*at, kind, *value), out);
                ENDED
            }
        }
    }

    /// A private key's body: base64 lines (and, before them, PGP armour headers and a blank
    /// line) up to its `END` line.
    fn pem(
        line: &str,
        offset: usize,
        (kind, group): (&'static str, u32),
        body: &mut bool,
        out: &mut Vec<Finding>,
    ) -> Fed {
        let trimmed = line.trim();
        if trimmed.contains("-----END ") {
            return Fed {
                consumed: true,
                done: true,
            };
        }
        if trimmed.is_empty() && !*body {
            return TAKEN;
        }
        if !is_pem_body(line) {
            return ENDED;
        }
        *body = true;
        whole_line(line, offset, kind, group, out);
        TAKEN
    }

    /// An entry of a YAML `data:` map (or a line of a block scalar inside one).
    fn yaml_map(
        line: &str,
        offset: usize,
        (key_indent, secret): (usize, bool),
        block: &mut Option<(usize, u32)>,
        groups: &mut u32,
        out: &mut Vec<Finding>,
    ) -> Fed {
        let trimmed = line.trim();
        let indent = indent_of(line);
        if trimmed.is_empty() {
            return if block.is_some() { GOING } else { ENDED };
        }
        if indent <= key_indent {
            return ENDED;
        }
        if let Some((entry_indent, group)) = *block {
            if indent > entry_indent {
                if secret {
                    whole_line(line, offset, SECRET_DATA, group, out);
                }
                return GOING;
            }
            *block = None;
        }
        let Some((_, value)) = trimmed.split_once(':') else {
            return GOING;
        };
        let value = value.trim();
        if is_block_indicator(value) {
            *groups += 1;
            *block = Some((indent, *groups));
            return GOING;
        }
        let value_start = line.len() - line.trim_start().len() + trimmed.len() - value.len();
        let (s, e) = unquote(line, value_start, value_start + value.len());
        if s < e && (secret || base64ish(&line[s..e])) {
            out.push(value_at(offset, s, e, SECRET_DATA));
        }
        GOING
    }

    /// The `value:` of an environment entry whose name is a secret's (YAML, or pretty JSON's
    /// `"value": "…"`), on the line after the name.
    fn env_value(
        engine: &Engine,
        line: &str,
        offset: usize,
        (at, kind, rule): (usize, &'static str, Value),
        out: &mut Vec<Finding>,
    ) {
        let key = line.trim().trim_start_matches("- ").trim_start();
        if key.starts_with("value:")
            && indent_of(line) == at
            && let Some(p) = line.find("value:")
        {
            let (s, e) = unquote(line, p + 6, line.len());
            if accept(rule, &line[s..e]) {
                out.push(value_at(offset, s, e, kind));
            }
        } else if let Some(v) = engine
            .json_value_after
            .captures(line.as_bytes())
            .and_then(|c| c.name("v"))
            && accept(rule, &line[v.start()..v.end()])
        {
            out.push(value_at(offset, v.start(), v.end(), kind));
        }
    }
}

/// A stream of lines redacted as they come (`runbook run --redact`): the same detector, with
/// the structures that span lines carried from one line to the next. Lines before the
/// current one cannot be changed any more, and there is no looking ahead: a Secret's `data`
/// whose `kind` comes after it is treated as unknown (its base64-looking values go).
#[derive(Debug, Default)]
pub struct Stream {
    open: Option<Open>,
    memory: VecDeque<String>,
    groups: u32,
}

impl Stream {
    /// The secrets of one line (without its newline); offsets are within the line.
    pub fn line(&mut self, engine: &Engine, line: &str, out: &mut Vec<Finding>) {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut consumed = false;
        if let Some(open) = &mut self.open {
            let fed = open.feed(engine, line, 0, &mut self.groups, out);
            consumed = fed.consumed;
            if fed.done {
                self.open = None;
            }
        }
        if !consumed && engine.literals.find(line.as_bytes(), 0).is_some() {
            let mut open = None;
            let around = InStream {
                memory: &self.memory,
            };
            engine.line(line, 0, &around, &mut self.groups, out, &mut open);
            if open.is_some() {
                self.open = open;
            }
        }
        if self.memory.len() == STREAM_MEMORY {
            self.memory.pop_front();
        }
        self.memory.push_back(line.to_owned());
    }
}

/// The body before an `END` line whose `BEGIN` was cut off (a report keeps only the last
/// lines of a long output): only in a whole text, where earlier lines can still change.
fn orphan_end(text: &str, start: usize, line: &str, groups: &mut u32, out: &mut Vec<Finding>) {
    let Some(at) = line.find("-----END ") else {
        return;
    };
    if line.contains("-----BEGIN ") {
        return;
    }
    let Some(kind) = line[at + 9..].split("-----").next().and_then(pem_kind) else {
        return;
    };
    let bytes = text.as_bytes();
    let (mut first, mut last) = (start, None);
    let mut cur = start;
    for _ in 0..LOOK_AROUND {
        if cur == 0 {
            break;
        }
        let prev_end = cur - 1;
        let prev_start = memchr::memrchr(b'\n', &bytes[..prev_end]).map_or(0, |i| i + 1);
        let l = &text[prev_start..prev_end];
        if !is_pem_body(l) {
            break;
        }
        last.get_or_insert(prev_start + l.trim_end().len());
        first = prev_start + indent_of(l);
        cur = prev_start;
    }
    if let Some(end) = last {
        *groups += 1;
        out.push(Finding {
            start: first,
            end,
            kind,
            group: *groups,
        });
    }
}

/// Which of the [`FORMS`], and whether the name of an environment entry, a name found at
/// `start..end` of a line can be part of, by the bytes right around it: what each form needs
/// next to its name (`"` and `:`, `:`, `=`, a flag's `-`), so that most names (`kind: Secret`,
/// `secretName`, a word in a log line) skip the regexes. Only a test that the regexes pass
/// too: a form it lets through still has to match.
#[derive(Debug, Clone, Copy)]
struct Fits {
    /// Bit `i`: form `i` of [`FORMS`].
    forms: u8,
    /// `name: NAME` or `"name": "NAME"` (then `value: …` may hold the secret).
    env: bool,
}

impl Fits {
    fn around(bytes: &[u8], start: usize, end: usize) -> Self {
        let (before, after) = (&bytes[..start], &bytes[end..]);
        let blank = |b: &u8| matches!(b, b' ' | b'\t');
        // `\s` of the regexes (ASCII): also vertical tab, form feed, CR and LF.
        let space = |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
        let next = |s: &[u8], skip: &dyn Fn(&u8) -> bool| s.iter().find(|b| !skip(b)).copied();
        let json = before.ends_with(b"\"")
            && after.first() == Some(&b'"')
            && next(&after[1..], &space) == Some(b':');
        let escaped = before.ends_with(b"\\\"")
            && after.starts_with(b"\\\"")
            && next(&after[2..], &space) == Some(b':');
        let colon = next(after, &blank) == Some(b':');
        let equals = next(after, &blank) == Some(b'=');
        let flag = before.ends_with(b"-") && after.first().is_some_and(blank);
        let forms = [
            json,
            escaped,
            colon,
            colon,
            after.first() == Some(&b'='),
            equals,
            equals,
            flag,
        ]
        .iter()
        .enumerate()
        .fold(0u8, |bits, (i, on)| bits | (u8::from(*on) << i));
        Self {
            forms,
            env: env_key_before(before),
        }
    }
}

/// Does `before` end like `name: ` or `"name": "` (the key before an environment entry's
/// name; `scan::Engine::env_name` decides)?
fn env_key_before(before: &[u8]) -> bool {
    let blank = |b: &u8| matches!(b, b' ' | b'\t');
    let rest = before.strip_suffix(b"\"").unwrap_or(before);
    let rest = &rest[..rest.len() - rest.iter().rev().take_while(|b| blank(b)).count()];
    let Some(rest) = rest.strip_suffix(b":") else {
        return false;
    };
    let rest = &rest[..rest.len() - rest.iter().rev().take_while(|b| blank(b)).count()];
    rest.strip_suffix(b"\"").unwrap_or(rest).ends_with(b"name")
}

/// The name around a word found at `start..end`: the run of name characters, without
/// leading `-` or `.` (a flag's dashes).
fn name_around(bytes: &[u8], start: usize, end: usize) -> (usize, usize) {
    let name_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-');
    let mut s = start;
    while s > 0 && name_char(bytes[s - 1]) {
        s -= 1;
    }
    while s < start && matches!(bytes[s], b'-' | b'.') {
        s += 1;
    }
    let mut e = end;
    while e < bytes.len() && name_char(bytes[e]) {
        e += 1;
    }
    (s, e)
}

fn pem_kind(label: &str) -> Option<&'static str> {
    PEM_LABELS
        .iter()
        .find(|(l, _)| label.trim().ends_with(l))
        .map(|(_, kind)| *kind)
}

/// A line of a PEM body: base64, or an armour header (`Proc-Type: …`, `Version: …`).
fn is_pem_body(line: &str) -> bool {
    let t = line.trim();
    !t.is_empty()
        && (t
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
            || t.split_once(": ").is_some_and(|(k, _)| {
                matches!(k, "Proc-Type" | "DEK-Info" | "Comment" | "Version")
            }))
}

fn indent_of(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// YAML indentation of a line's key: spaces, plus `- ` of a list item.
fn yaml_indent(line: &str) -> (usize, bool) {
    let n = indent_of(line);
    let rest = &line[n..];
    match rest.strip_prefix("- ") {
        Some(after) => (n + 2 + indent_of(after), true),
        None => (n, false),
    }
}

/// Whose `data:` map is this: the sibling `kind:` nearest to it, before or after, in the same
/// object (an object starts at its list item's `- ` or at `apiVersion:`, as kubectl prints it).
fn yaml_owner(around: &dyn Around, key_indent: usize) -> Owner {
    let kind_of = |line: &str| -> Option<Owner> {
        let key = line.trim_start().trim_start_matches("- ").trim_start();
        let value = key.strip_prefix("kind:")?.trim().trim_matches(['"', '\'']);
        Some(if value == "Secret" {
            Owner::Secret
        } else {
            Owner::Other
        })
    };
    let stop =
        |line: &str| line.trim().is_empty() || line.starts_with("---") || line.starts_with("$ ");
    let mut before = None;
    for (distance, line) in around.before().take(LOOK_AROUND).enumerate() {
        if stop(line) {
            break;
        }
        let (indent, item) = yaml_indent(line);
        if indent < key_indent {
            break;
        }
        if indent == key_indent {
            if let Some(owner) = kind_of(line) {
                before = Some((distance, owner));
                break;
            }
            let key = line.trim_start().trim_start_matches("- ").trim_start();
            if item || key.starts_with("apiVersion:") {
                break;
            }
        }
    }
    let mut after = None;
    for (distance, line) in around.after().take(LOOK_AROUND).enumerate() {
        if stop(line) || before.is_some_and(|(d, _)| distance > d) {
            break;
        }
        let (indent, item) = yaml_indent(line);
        if indent < key_indent || (indent == key_indent && item) {
            break;
        }
        if indent == key_indent
            && let Some(owner) = kind_of(line)
        {
            after = Some(owner);
            break;
        }
    }
    after.or(before.map(|(_, o)| o)).unwrap_or(Owner::Unknown)
}

/// The same for pretty JSON: a `"kind"` at the map's indentation in the same object.
fn json_owner(engine: &Engine, around: &dyn Around, key_indent: usize) -> Owner {
    let kind_of = |line: &str| -> Option<Owner> {
        if indent_of(line) != key_indent {
            return None;
        }
        let c = engine.json_kind.captures(line.as_bytes())?;
        Some(if c.name("k").is_some_and(|k| k.as_bytes() == b"Secret") {
            Owner::Secret
        } else {
            Owner::Other
        })
    };
    for line in around.before().take(LOOK_AROUND) {
        if line.trim().is_empty() || indent_of(line) < key_indent {
            break;
        }
        if let Some(owner) = kind_of(line) {
            return owner;
        }
    }
    for line in around.after().take(LOOK_AROUND) {
        if line.trim().is_empty() || indent_of(line) < key_indent {
            break;
        }
        if let Some(owner) = kind_of(line) {
            return owner;
        }
    }
    Owner::Unknown
}

/// `kubectl describe` prints `Type:` for a Secret and not for a `ConfigMap`.
fn describe_secret<'a>(before: impl Iterator<Item = &'a str>) -> bool {
    for line in before.take(LOOK_AROUND) {
        if line.starts_with("Type:") {
            return true;
        }
        if line.starts_with("Name:") {
            return false;
        }
    }
    false
}

fn is_block_indicator(value: &str) -> bool {
    matches!(value, "|" | "|-" | "|+" | ">" | ">-" | ">+")
}

/// `12 bytes`: what `kubectl describe` shows instead of a value.
fn is_size(value: &str) -> bool {
    value
        .strip_suffix(" bytes")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The span of a value without its quotes (`"x"`, `'x'`, `\"x\"`) and outer blanks.
fn unquote(line: &str, mut start: usize, mut end: usize) -> (usize, usize) {
    let b = line.as_bytes();
    while start < end && b[start].is_ascii_whitespace() {
        start += 1;
    }
    while end > start && b[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    for (open, close) in [("\\\"", "\\\""), ("\"", "\""), ("'", "'")] {
        let v = &line[start..end];
        if v.len() >= open.len() + close.len() && v.starts_with(open) && v.ends_with(close) {
            return (start + open.len(), end - close.len());
        }
    }
    (start, end)
}

/// A value that base64 encodes something: the values of a Secret's `data`.
fn base64ish(value: &str) -> bool {
    let body = value.trim_end_matches('=');
    value.len() >= 8
        && value.len().is_multiple_of(4)
        && value.len() - body.len() <= 2
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
        && !looks_like_name(value)
}

/// Does `value` pass the rule?
pub fn accept(rule: Value, value: &str) -> bool {
    if rule == Value::Any {
        return !value.trim().is_empty();
    }
    let v = value.trim();
    if not_a_value(v) {
        return false;
    }
    match rule {
        Value::Any | Value::Present => true,
        Value::Credential => v.len() >= 6 && !looks_like_name(v),
        Value::Entropy => v.len() >= 16 && !looks_like_name(v) && entropy(v) >= 3.0,
        Value::NotWord => v.len() >= 8 && !v.bytes().all(|b| b.is_ascii_alphabetic()),
        Value::BasicAuth => basic_auth(v),
        Value::AuthHeader => {
            let scheme = v.split_whitespace().next().unwrap_or_default();
            v.len() >= 8
                && !scheme.eq_ignore_ascii_case("bearer")
                && !scheme.eq_ignore_ascii_case("basic")
                && !v.bytes().all(|b| b.is_ascii_alphabetic())
        }
    }
}

/// Placeholders, references, masks, sizes and literals that never hold a secret.
fn not_a_value(v: &str) -> bool {
    const LITERALS: &[&str] = &[
        "null",
        "nil",
        "none",
        "true",
        "false",
        "yes",
        "no",
        "on",
        "off",
        "~",
        "-",
        "[]",
        "{}",
        "|",
        "|-",
        "|+",
        ">",
        ">-",
        ">+",
        "\"\"",
        "''",
        "redacted",
        "[redacted]",
        "(redacted)",
        "data+omitted",
        "omitted",
        "hidden",
        "masked",
        "sensitive",
        "(sensitive)",
        "<redacted>",
        "required",
        "optional",
        "string",
    ];
    v.is_empty()
        || v.starts_with(['<', '$', '@', '‹'])
        || v.starts_with("{{")
        || v.starts_with("%{")
        || v.starts_with("\\\"$")
        || LITERALS.iter().any(|l| v.eq_ignore_ascii_case(l))
        || (v.len() >= 3
            && v.chars()
                .all(|c| matches!(c, '*' | '•' | 'x' | 'X' | '.' | '#')))
        || is_size(v)
}

/// Names, words, numbers, times, paths and URLs: values that name something.
pub fn looks_like_name(v: &str) -> bool {
    if v.bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b':' | b'+'))
    {
        return true;
    }
    if v.starts_with('/') || v.starts_with("./") || v.starts_with("~/") || v.contains("://") {
        return true;
    }
    v.split(['-', '_', '.', '/', ':', '@', ' ', ',', '='])
        .all(wordish)
}

/// One part of a name: a word, maybe with a few digits (`node1`, `v1beta1`, `k8s`, `ipv6`).
fn wordish(s: &str) -> bool {
    if s.is_empty() || s.bytes().all(|b| b.is_ascii_digit()) {
        return true;
    }
    if s.len() > 24 || !s.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let b = s.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let class_changes = b
        .windows(2)
        .filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit())
        .count();
    let humps = b
        .windows(2)
        .filter(|w| w[0].is_ascii_lowercase() && w[1].is_ascii_uppercase())
        .count();
    let letters = b.len() - digits;
    let vowels = b
        .iter()
        .filter(|c| matches!(c.to_ascii_lowercase(), b'a' | b'e' | b'i' | b'o' | b'u'))
        .count();
    digits <= 4 && class_changes <= 2 && humps <= 2 && (letters < 6 || vowels * 5 >= letters)
}

/// Shannon entropy in bits per byte.
pub fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        counts[usize::from(b)] += 1;
    }
    let n = f64::from(u32::try_from(v.len()).unwrap_or(u32::MAX));
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = f64::from(*c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Base64 of `user:password` (what `Authorization: Basic` carries).
fn basic_auth(v: &str) -> bool {
    use base64::Engine as _;
    let engines = [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::STANDARD_NO_PAD,
    ];
    engines.iter().any(|e| {
        e.decode(v.as_bytes()).is_ok_and(|bytes| {
            bytes.contains(&b':') && bytes.iter().all(|b| (0x20..0x7f).contains(b))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name on these lines that a form's regex (or the environment entry's) takes, with
    /// the name where the detector looks for it, must pass [`Fits`].
    fn check_fits(engine: &Engine, line: &str) -> usize {
        let bytes = line.as_bytes();
        let mut words = Vec::new();
        engine.literals.each(bytes, |id, s, e| {
            if engine.leads[id].names {
                words.push((s, e));
            }
        });
        let mut taken = 0;
        for (ws, we) in words {
            let (ts, te) = name_around(bytes, ws, we);
            let fits = Fits::around(bytes, ts, te);
            for (form, re) in engine.forms.iter().enumerate() {
                for from in [0, ts.saturating_sub(3)] {
                    if let Some(c) = re.captures_at(bytes, from)
                        && c.name("n").is_some_and(|n| n.start() == ts)
                    {
                        taken += 1;
                        assert!(fits.forms & (1 << form) != 0, "form {form}: {line}");
                    }
                }
            }
            if let Some(c) = engine.env_name.captures_at(bytes, ts.saturating_sub(12))
                && c.name("v").is_some_and(|v| v.start() == ts)
            {
                taken += 1;
                assert!(fits.env, "environment entry: {line}");
            }
        }
        taken
    }

    #[test]
    fn fits_lets_through_every_name_a_form_takes() {
        let engine = Engine::build().unwrap_or_else(|e| panic!("{e}"));
        let lines = [
            r#"{"password": "abc", "x": 1}"#,
            r#"{"password"  :"abc"}"#,
            r#"{\"password\":\"abc\"}"#,
            r#"{\"password\" : \"abc\"}"#,
            "  password: abc",
            "- password:\tabc",
            "+  client-key-data: abc",
            "curl -H 'ApiKey: abc' https://x",
            "{password: abc}",
            "x?token=abc&y=1",
            "--set db.password=abc",
            "password = abc",
            "export DB_PASSWORD= abc",
            "echo 'aws_secret_access_key = abc' >> f",
            "--password abc",
            "-p --token\tabc",
            "- name: DB_PASSWORD",
            r#"{"name": "API_TOKEN", "value": "x"}"#,
            r#"    "name":"API_TOKEN","#,
            "name:API_TOKEN",
        ];
        let mut taken = 0;
        for line in lines {
            let n = check_fits(&engine, line);
            assert!(n > 0, "no form takes a name of {line}");
            taken += n;
        }
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redact/corpus");
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                taken += check_fits(&engine, line);
            }
        }
        assert!(taken > 100, "{taken}");
    }
}
