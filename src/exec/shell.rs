//! A small, forgiving bash lexer: enough structure to reason about a command block without
//! running it.
//!
//! It owns two answers about a script:
//! - the *simple commands* it contains (words, assignments, redirections), flattened across
//!   pipelines and lists (`|`, `&&`, `||`, `;`, `&`, newlines), subshells `( ... )`, groups
//!   `{ ...; }`, command substitutions `$(...)` and `` `...` ``, process substitutions `<(...)`,
//!   and `$(...)` inside expanding heredoc bodies. [`crate::exec::safety`] classifies those.
//! - the *quoting context* of every byte ([`Script::context_at`]): bare, inside `'...'`,
//!   `"..."`, `$'...'`, a heredoc body, a comment, and how many backquote levels deep.
//!   [`crate::exec::vars`] uses it to substitute placeholder values safely.
//!
//! Why not `brush-parser`: that crate builds a full AST and rejects scripts that bash itself
//! would partly run (an unterminated quote in the last line, `case` patterns in odd places).
//! Runbooks are copy-pasted documentation; the lexer must never fail, only degrade, and it
//! must report byte offsets of quoting regions, which an AST does not give directly.
//!
//! Known simplifications: arithmetic `$(( ))`, `(( ))` and `${...}` are opaque words, except
//! for the command substitutions inside them, which are lexed (they run); `case` patterns are
//! lexed as (harmless) commands; aliases and functions are not expanded (the names of the
//! functions a script defines are listed in [`Script::functions`]). To teach it a new
//! construct, add a branch to [`Lexer::word`] or [`Lexer::list`] and a case to the tests.

/// How a byte of the script is quoted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// Outside any quotes (also the inside of `$(...)`, which starts afresh).
    Bare,
    /// Inside `'...'`.
    Single,
    /// Inside `"..."`.
    Double,
    /// Inside `$'...'`.
    AnsiC,
    /// A heredoc body whose delimiter was quoted (`<<'EOF'`): nothing is expanded.
    HeredocLiteral,
    /// A heredoc body with an unquoted delimiter: `$`, `` ` `` and `\` are special.
    HeredocExpand,
    /// A `# comment`.
    Comment,
    /// Inside `${...}`: a name and its operator's operand (`${x:-word}`), whose braces, quotes
    /// and backslashes bash reads by rules of their own.
    Parameter,
    /// Inside arithmetic: `$(( ))`, `(( ))`, `$[ ]`. Bash evaluates the text as an expression,
    /// and an array subscript in it (`a[$(cmd)]`) runs a command: no quoting makes a value
    /// safe here, only being a number.
    Arithmetic,
}

/// The quoting context of one byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Context {
    pub quote: Quote,
    /// How many levels of `` `...` `` enclose the byte (each adds a layer of backslash escapes).
    pub backticks: u8,
    /// How many of those levels sit inside `"..."`, where `\"` is an escape too.
    pub dquoted_backticks: u8,
}

/// A span of the script with one quoting context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    pub start: usize,
    pub end: usize,
    pub context: Context,
    /// For heredoc bodies: the delimiter word.
    pub delimiter: Option<String>,
}

/// A redirection: `2>/dev/null`, `> /etc/x`, `<<EOF`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redirect {
    /// The operator without the fd (`>`, `>>`, `<`, `<<`, `&>`, `<>`, ...).
    pub op: String,
    /// The target word, quotes removed (the delimiter for heredocs).
    pub target: String,
}

impl Redirect {
    /// Does this redirection open its target for writing?
    pub fn writes(&self) -> bool {
        matches!(self.op.as_str(), ">" | ">>" | ">|" | "&>" | "&>>" | "<>")
    }
}

/// One simple command: `VAR=x cmd arg... >file`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SimpleCommand {
    /// Leading `NAME=value` words.
    pub assignments: Vec<String>,
    /// The words, quotes removed; substitutions kept as written (`$(date)`).
    pub words: Vec<String>,
    pub redirects: Vec<Redirect>,
    /// Byte offset where the command starts in the script.
    pub start: usize,
    /// Nesting depth: 0 at top level, 1 inside a `$(...)`, subshell or backquotes, ...
    pub depth: usize,
}

/// The lexed script.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub commands: Vec<SimpleCommand>,
    pub regions: Vec<Region>,
    /// Names of the functions the script defines (`f() {`, `function f {`).
    pub functions: Vec<String>,
    /// Byte offset of the first `$(`, `(` or `<(` nested deeper than [`MAX_NESTING`]. Deeper
    /// levels are lexed flat (their commands are still listed, at depth `MAX_NESTING`), so the
    /// quoting contexts past this point are approximate: callers should refuse to run or fill in
    /// such a script.
    pub too_deep: Option<usize>,
}

/// Nesting of substitutions and subshells lexed as such; deeper levels are read flat, so that
/// `$(` repeated 10,000 times costs no stack.
pub const MAX_NESTING: usize = crate::runbook::MAX_SHELL_NESTING;

impl Script {
    /// The innermost quoting context at byte `offset`.
    pub fn context_at(&self, offset: usize) -> Context {
        self.region_at(offset).map_or(BARE, |r| r.context)
    }

    /// The innermost region containing `offset`, if any.
    pub fn region_at(&self, offset: usize) -> Option<&Region> {
        self.regions
            .iter()
            .filter(|r| r.start <= offset && offset < r.end)
            .min_by_key(|r| r.end - r.start)
    }
}

const BARE: Context = Context {
    quote: Quote::Bare,
    backticks: 0,
    dquoted_backticks: 0,
};

/// A heredoc delimiter word as bash compares it: quotes removed (`'EOF'`, `"EOF"`, `$'EOF'`,
/// `E\OF` are all `EOF`).
fn unquote_delimiter(raw: &[u8]) -> String {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&c) = raw.get(i) {
        match c {
            b'\\' => {
                out.extend(raw.get(i + 1));
                i += 2;
            }
            b'$' if matches!(raw.get(i + 1), Some(b'\'' | b'"')) => i += 1,
            b'\'' | b'"' => {
                let end = raw[i + 1..]
                    .iter()
                    .position(|&b| b == c)
                    .map_or(raw.len(), |p| i + 1 + p);
                out.extend_from_slice(&raw[i + 1..end]);
                i = end + 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Lexes `script`. Never fails: malformed input yields what could be understood.
pub fn parse(script: &str) -> Script {
    let mut lexer = Lexer {
        s: script.as_bytes(),
        i: 0,
        out: Script::default(),
        heredocs: Vec::new(),
        backticks: 0,
        dquoted_backticks: 0,
        flat: Vec::new(),
        split: false,
        opaque_depth: 0,
    };
    lexer.list(None, 0);
    lexer.out.commands.sort_by_key(|c| c.start);
    // Unterminated quotes and substitutions can leave a region running past the end.
    let len = script.len();
    for r in &mut lexer.out.regions {
        r.end = r.end.min(len);
        r.start = r.start.min(r.end);
    }
    lexer.out
}

/// Words that start or continue a compound command; skipped at command position. (`[[` is
/// kept as a command word: its operands are a test, not a command.)
const KEYWORDS: &[&str] = &[
    "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "!", "{", "}", "time",
    "esac",
];

struct PendingHeredoc {
    delimiter: String,
    quoted: bool,
    strip_tabs: bool,
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
    out: Script,
    heredocs: Vec<PendingHeredoc>,
    backticks: u8,
    dquoted_backticks: u8,
    /// Levels opened past [`MAX_NESTING`] and not yet closed, lexed flat; `true` for a `$(`
    /// that sat inside `"..."` (its closing `)` resumes the double-quoted string).
    flat: Vec<bool>,
    /// A `$(` past the bound ended the current word: the list finishes its command.
    split: bool,
    /// `${…}` and arithmetic bodies open now (each may hold more); past [`MAX_NESTING`] they
    /// are skipped unlexed, so `${x:-${x:-…}}` 100,000 deep costs no stack.
    opaque_depth: usize,
}

impl Lexer<'_> {
    /// May a level be opened at `depth + 1`? Past the bound, records where and lexes it flat.
    fn enter(&mut self, depth: usize, in_double: bool) -> bool {
        if depth < MAX_NESTING {
            return true;
        }
        self.out.too_deep.get_or_insert(self.i);
        self.flat.push(in_double);
        false
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn starts_with(&self, pat: &str) -> bool {
        self.s[self.i.min(self.s.len())..].starts_with(pat.as_bytes())
    }

    /// `s[a..b]`, clamped: unterminated input can leave `i` one past the end.
    fn bytes(&self, a: usize, b: usize) -> &[u8] {
        let b = b.min(self.s.len());
        &self.s[a.min(b)..b]
    }

    fn region(&mut self, start: usize, end: usize, quote: Quote, delimiter: Option<String>) {
        self.out.regions.push(Region {
            start,
            end,
            context: Context {
                quote,
                backticks: self.backticks,
                dquoted_backticks: self.dquoted_backticks,
            },
            delimiter,
        });
    }

    /// Commands until end of input or an unquoted `close` byte at command level.
    fn list(&mut self, close: Option<u8>, depth: usize) {
        let mut cmd = SimpleCommand {
            start: self.i,
            depth,
            ..SimpleCommand::default()
        };
        let mut skip_rest = false;
        let mut case_depth = 0usize;
        // After the `function` keyword: the next word names the function.
        let mut naming = false;
        while let Some(c) = self.peek() {
            if std::mem::take(&mut self.split) {
                self.finish(&mut cmd, &mut skip_rest, depth);
            }
            match c {
                b')' if !self.flat.is_empty() && case_depth == 0 => {
                    self.i += 1;
                    self.finish(&mut cmd, &mut skip_rest, depth);
                    if self.flat.pop() == Some(true) {
                        // The rest of the double-quoted string the `$(` sat in.
                        let mut text = String::new();
                        self.double_quoted(depth, &mut text);
                        cmd.words.push(text);
                    }
                }
                b' ' | b'\t' => self.i += 1,
                b'\\' if self.at(1) == Some(b'\n') => self.i += 2,
                b'\n' => {
                    self.i += 1;
                    self.finish(&mut cmd, &mut skip_rest, depth);
                    self.read_heredocs(depth);
                }
                b'#' => {
                    let start = self.i;
                    while self.peek().is_some_and(|c| c != b'\n') {
                        self.i += 1;
                    }
                    self.region(start, self.i, Quote::Comment, None);
                }
                b')' if close == Some(b')') && case_depth == 0 => {
                    self.i += 1;
                    break;
                }
                b';' | b'&' | b'|' | b')' if !(c == b'&' && self.at(1) == Some(b'>')) => {
                    self.i += 1;
                    while self.peek().is_some_and(|c| matches!(c, b';' | b'&' | b'|')) {
                        self.i += 1;
                    }
                    self.finish(&mut cmd, &mut skip_rest, depth);
                }
                b'(' => self.paren(&mut cmd, &mut skip_rest, depth),
                b'<' | b'>' if self.at(1) == Some(b'(') => {
                    self.i += 2;
                    cmd.words.push("<(...)".to_owned());
                    if self.enter(depth, false) {
                        self.list(Some(b')'), depth + 1);
                    } else {
                        self.finish(&mut cmd, &mut skip_rest, depth);
                    }
                }
                b'<' | b'>' | b'&' => self.redirect(&mut cmd, depth),
                _ => {
                    let (word, fd_like) = self.word(depth);
                    if fd_like && matches!(self.peek(), Some(b'<' | b'>')) {
                        self.redirect(&mut cmd, depth);
                        continue;
                    }
                    if skip_rest {
                        continue;
                    }
                    if naming {
                        // `function f {` or `function f() {`: the body's commands follow.
                        naming = false;
                        self.out.functions.push(word);
                        continue;
                    }
                    if cmd.words.is_empty() && cmd.redirects.is_empty() && is_assignment(&word) {
                        cmd.assignments.push(word);
                    } else if cmd.words.is_empty() && KEYWORDS.contains(&word.as_str()) {
                        if word == "esac" {
                            case_depth = case_depth.saturating_sub(1);
                        }
                        cmd.start = self.i;
                    } else if cmd.words.is_empty() && word == "function" {
                        naming = true;
                    } else if cmd.words.is_empty()
                        && matches!(word.as_str(), "for" | "select" | "case")
                    {
                        if word == "case" {
                            case_depth += 1;
                        }
                        skip_rest = true;
                    } else {
                        cmd.words.push(word);
                    }
                }
            }
        }
        self.finish(&mut cmd, &mut skip_rest, depth);
    }

    /// An unquoted `(` at command level: `name()` declares a function, `((` opens arithmetic,
    /// anything else a subshell.
    fn paren(&mut self, cmd: &mut SimpleCommand, skip_rest: &mut bool, depth: usize) {
        self.i += 1;
        if !cmd.words.is_empty() {
            while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
                self.i += 1;
            }
            if self.peek() == Some(b')') {
                self.i += 1;
                // The body's commands follow (`{` is skipped as a keyword).
                if cmd.words.len() == 1 {
                    self.out.functions.append(&mut cmd.words);
                }
                cmd.words.clear();
                return;
            }
        }
        if self.peek() == Some(b'(') {
            // Arithmetic: opaque, but substitutions inside it run.
            let start = self.i + 1;
            self.opaque(b'(', b')', 1, depth);
            self.arithmetic(start, self.i.saturating_sub(2));
            return;
        }
        self.finish(cmd, skip_rest, depth);
        if self.enter(depth, false) {
            self.list(Some(b')'), depth + 1);
        }
        cmd.start = self.i;
    }

    fn finish(&mut self, cmd: &mut SimpleCommand, skip_rest: &mut bool, depth: usize) {
        let done = std::mem::replace(
            cmd,
            SimpleCommand {
                start: self.i,
                depth,
                ..SimpleCommand::default()
            },
        );
        *skip_rest = false;
        if !done.words.is_empty() || !done.redirects.is_empty() || !done.assignments.is_empty() {
            self.out.commands.push(done);
        }
    }

    /// Skips to the balanced `close` without lexing what is inside (past the nesting bound,
    /// where lexing would recurse further).
    fn skip_balanced(&mut self, open: u8, close: u8, mut level: usize) {
        while let Some(c) = self.peek() {
            self.i += 1;
            if c == open {
                level += 1;
            } else if c == close {
                level -= 1;
                if level == 0 {
                    return;
                }
            }
        }
    }

    /// Marks `start..end` as arithmetic (an empty or inverted span, from a malformed script, is
    /// skipped).
    fn arithmetic(&mut self, start: usize, end: usize) {
        if start < end {
            self.region(start, end, Quote::Arithmetic, None);
        }
    }

    /// Skips an arithmetic or `${...}` body up to the balanced `close`, lexing the command
    /// substitutions inside it (`${x:-$(cmd)}`, `(( $(cmd) > 0 ))`): they run too.
    fn opaque(&mut self, open: u8, close: u8, level: usize, depth: usize) {
        if self.opaque_depth >= MAX_NESTING {
            self.out.too_deep.get_or_insert(self.i);
            self.skip_balanced(open, close, level);
            return;
        }
        self.opaque_depth += 1;
        self.opaque_body(open, close, level, depth);
        self.opaque_depth -= 1;
    }

    fn opaque_body(&mut self, open: u8, close: u8, mut level: usize, depth: usize) {
        let mut sink = String::new();
        while let Some(c) = self.peek() {
            match c {
                b'\\' => self.i += 2,
                b'\'' if open == b'{' => {
                    self.i += 1;
                    while self.peek().is_some_and(|c| c != b'\'') {
                        self.i += 1;
                    }
                    self.i += 1;
                }
                b'"' => {
                    self.i += 1;
                    self.double_quoted(depth, &mut sink);
                }
                b'$' if matches!(self.at(1), Some(b'(' | b'{')) => {
                    self.dollar(depth, &mut sink, false);
                }
                b'`' => self.backquoted(depth, &mut sink, false),
                _ => {
                    self.i += 1;
                    if c == open {
                        level += 1;
                    } else if c == close {
                        level = level.saturating_sub(1);
                        if level == 0 {
                            return;
                        }
                    }
                }
            }
        }
    }

    fn redirect(&mut self, cmd: &mut SimpleCommand, depth: usize) {
        const OPS: &[&str] = &[
            "&>>", "<<<", "<<-", "&>", ">>", "<<", ">&", "<&", ">|", "<>", ">", "<",
        ];
        let Some(op) = OPS.iter().find(|op| self.starts_with(op)) else {
            // A lone `&` is handled by the caller; consume defensively.
            self.i += 1;
            return;
        };
        self.i += op.len();
        while self.peek().is_some_and(|c| c == b' ' || c == b'\t') {
            self.i += 1;
        }
        if matches!(*op, "<<" | "<<-") {
            let start = self.i;
            let _ = self.word(depth);
            let raw = self.bytes(start, self.i);
            let quoted = raw.iter().any(|&c| matches!(c, b'\'' | b'"' | b'\\'));
            let delimiter = unquote_delimiter(raw);
            self.heredocs.push(PendingHeredoc {
                delimiter: delimiter.clone(),
                quoted,
                strip_tabs: *op == "<<-",
            });
            cmd.redirects.push(Redirect {
                op: (*op).to_owned(),
                target: delimiter,
            });
            return;
        }
        if self
            .peek()
            .is_none_or(|c| matches!(c, b'\n' | b';' | b'|' | b'&'))
        {
            return;
        }
        let (target, _) = self.word(depth);
        cmd.redirects.push(Redirect {
            op: (*op).to_owned(),
            target,
        });
    }

    /// Reads the bodies of heredocs whose operator was on the line just ended.
    fn read_heredocs(&mut self, depth: usize) {
        for doc in std::mem::take(&mut self.heredocs) {
            let body_start = self.i;
            let mut body_end = self.s.len();
            let mut after = self.s.len();
            let mut line_start = self.i;
            while line_start < self.s.len() {
                let line_end = self.s[line_start..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(self.s.len(), |p| line_start + p);
                let mut line = &self.s[line_start..line_end];
                if doc.strip_tabs {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                if line == doc.delimiter.as_bytes() {
                    body_end = line_start;
                    after = (line_end + 1).min(self.s.len());
                    break;
                }
                line_start = line_end + 1;
            }
            let quote = if doc.quoted {
                Quote::HeredocLiteral
            } else {
                Quote::HeredocExpand
            };
            self.region(body_start, body_end, quote, Some(doc.delimiter.clone()));
            if !doc.quoted {
                // Substitutions in an expanding body run: lex them.
                self.i = body_start;
                while self.i < body_end {
                    match self.peek() {
                        Some(b'\\') => self.i += 2,
                        Some(b'$') if self.at(1) == Some(b'(') && self.at(2) != Some(b'(') => {
                            self.i += 2;
                            let start = self.i;
                            if depth < MAX_NESTING {
                                self.list(Some(b')'), depth + 1);
                            } else {
                                self.out.too_deep.get_or_insert(start);
                                self.skip_balanced(b'(', b')', 1);
                            }
                            self.region(start, self.i.saturating_sub(1), Quote::Bare, None);
                        }
                        Some(b'`') => {
                            let mut sink = String::new();
                            self.backquoted(depth, &mut sink, false);
                        }
                        _ => self.i += 1,
                    }
                }
            }
            self.i = after.max(self.i.min(self.s.len()));
        }
    }

    /// One word, quotes removed. Also says whether it was a bare run of digits (an fd).
    fn word(&mut self, depth: usize) -> (String, bool) {
        let mut text = String::new();
        let start = self.i;
        let mut quoted = false;
        while let Some(c) = self.peek() {
            match c {
                b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')' => break,
                b'\\' => {
                    if self.at(1) == Some(b'\n') {
                        self.i += 2;
                    } else {
                        quoted = true;
                        self.push_char(&mut text, self.i + 1);
                        self.i += 2;
                    }
                }
                b'\'' => {
                    quoted = true;
                    self.i += 1;
                    let s = self.i;
                    while self.peek().is_some_and(|c| c != b'\'') {
                        self.i += 1;
                    }
                    self.region(s, self.i, Quote::Single, None);
                    text.push_str(&String::from_utf8_lossy(&self.s[s..self.i]));
                    self.i += 1;
                }
                b'"' => {
                    quoted = true;
                    self.i += 1;
                    self.double_quoted(depth, &mut text);
                    if self.split {
                        break;
                    }
                }
                b'$' => {
                    self.dollar(depth, &mut text, false);
                    if self.split {
                        break;
                    }
                }
                b'`' => self.backquoted(depth, &mut text, false),
                _ => {
                    let n = self.push_char(&mut text, self.i);
                    self.i += n;
                }
            }
        }
        let fd_like = !quoted
            && !text.is_empty()
            && text.bytes().all(|c| c.is_ascii_digit())
            && self.i > start;
        (text, fd_like)
    }

    /// Pushes the UTF-8 character at `at` (or a lossy byte) and returns its length.
    fn push_char(&self, text: &mut String, at: usize) -> usize {
        let Some(&b) = self.s.get(at) else { return 1 };
        let len = match b {
            0xF0..=0xF7 => 4,
            0xE0..=0xEF => 3,
            0xC0..=0xDF => 2,
            _ => 1,
        };
        let end = (at + len).min(self.s.len());
        text.push_str(&String::from_utf8_lossy(&self.s[at..end]));
        len
    }

    fn double_quoted(&mut self, depth: usize, text: &mut String) {
        let start = self.i;
        let mut region_start = start;
        while let Some(c) = self.peek() {
            match c {
                b'"' => break,
                b'\\' => {
                    if self
                        .at(1)
                        .is_some_and(|c| matches!(c, b'"' | b'\\' | b'$' | b'`'))
                    {
                        self.push_char(text, self.i + 1);
                    } else if self.at(1) != Some(b'\n') {
                        text.push('\\');
                        self.push_char(text, self.i + 1);
                    }
                    self.i += 2;
                }
                // Inside double quotes `$'` is a `$` and a quote, not an ANSI-C string.
                b'$' if self.at(1) == Some(b'\'') => {
                    let n = self.push_char(text, self.i);
                    self.i += n;
                }
                b'$' | b'`' => {
                    let before = self.i;
                    if c == b'$' {
                        self.dollar(depth, text, true);
                        if self.split {
                            // Lexed flat from here; the string resumes after the `)`.
                            self.region(region_start, before, Quote::Double, None);
                            return;
                        }
                    } else {
                        self.backquoted(depth, text, true);
                    }
                    // Keep the Double region around but not across substitutions, so that
                    // their inside reads as Bare (it starts afresh).
                    if self.s.get(before + 1) == Some(&b'(') || c == b'`' {
                        self.region(region_start, before, Quote::Double, None);
                        region_start = self.i;
                    }
                }
                _ => {
                    let n = self.push_char(text, self.i);
                    self.i += n;
                }
            }
        }
        self.region(region_start, self.i.min(self.s.len()), Quote::Double, None);
        self.i += 1;
    }

    fn dollar(&mut self, depth: usize, text: &mut String, in_double: bool) {
        let start = self.i;
        match self.at(1) {
            Some(b'(') if self.at(2) == Some(b'(') => {
                self.i += 1;
                self.opaque(b'(', b')', 0, depth);
                self.arithmetic(start + 3, self.i.saturating_sub(2));
            }
            Some(b'[') => {
                // `$[ expr ]`, the old spelling of `$(( expr ))`.
                self.i += 1;
                self.opaque(b'[', b']', 0, depth);
                self.arithmetic(start + 2, self.i.saturating_sub(1));
            }
            Some(b'(') if !self.enter(depth, in_double) => {
                self.i += 2;
                self.split = true;
            }
            Some(b'(') => {
                self.i += 2;
                let inner = self.i;
                self.list(Some(b')'), depth + 1);
                let end = self.i.saturating_sub(1).max(inner);
                self.out.regions.push(Region {
                    start: inner,
                    end,
                    context: Context {
                        quote: Quote::Bare,
                        backticks: self.backticks,
                        dquoted_backticks: self.dquoted_backticks,
                    },
                    delimiter: None,
                });
            }
            Some(b'{') => {
                self.i += 1;
                self.opaque(b'{', b'}', 0, depth);
                let end = self.i.saturating_sub(1);
                if start + 2 < end {
                    self.region(start + 2, end, Quote::Parameter, None);
                }
            }
            Some(b'\'') => {
                self.i += 2;
                let s = self.i;
                while let Some(c) = self.peek() {
                    if c == b'\\' {
                        self.i += 2;
                    } else if c == b'\'' {
                        break;
                    } else {
                        self.i += 1;
                    }
                }
                self.i = self.i.min(self.s.len());
                self.region(s, self.i, Quote::AnsiC, None);
                self.i += 1;
            }
            _ => self.i += 1,
        }
        let end = self.i.min(self.s.len());
        text.push_str(&String::from_utf8_lossy(&self.s[start..end]));
    }

    /// `` `...` ``: the body is lexed again after removing one level of backslash escapes.
    fn backquoted(&mut self, depth: usize, text: &mut String, in_double: bool) {
        let start = self.i;
        self.i += 1;
        let mut body = Vec::new();
        let mut map = Vec::new();
        while let Some(c) = self.peek() {
            match c {
                b'`' => break,
                b'\\'
                    if self.at(1).is_some_and(|c| {
                        matches!(c, b'`' | b'\\' | b'$') || (in_double && c == b'"')
                    }) =>
                {
                    map.push(self.i + 1);
                    body.push(self.s[self.i + 1]);
                    self.i += 2;
                }
                _ => {
                    map.push(self.i);
                    body.push(c);
                    self.i += 1;
                }
            }
        }
        let end = self.i.min(self.s.len());
        self.i = end + 1;
        text.push_str(&String::from_utf8_lossy(
            &self.s[start..end.min(self.s.len())],
        ));
        let body_text = String::from_utf8_lossy(&body).into_owned();
        let mut inner = Lexer {
            s: body_text.as_bytes(),
            i: 0,
            out: Script::default(),
            heredocs: Vec::new(),
            backticks: self.backticks.saturating_add(1),
            dquoted_backticks: self.dquoted_backticks.saturating_add(u8::from(in_double)),
            flat: Vec::new(),
            split: false,
            opaque_depth: self.opaque_depth,
        };
        inner.list(None, (depth + 1).min(MAX_NESTING));
        let to_outer = |k: usize| map.get(k).copied().unwrap_or(end);
        if let Some(at) = inner.out.too_deep {
            self.out.too_deep.get_or_insert(to_outer(at));
        }
        for mut c in inner.out.commands {
            c.start = to_outer(c.start);
            self.out.commands.push(c);
        }
        self.out.regions.push(Region {
            start: start + 1,
            end,
            context: Context {
                quote: Quote::Bare,
                backticks: self.backticks.saturating_add(1),
                dquoted_backticks: self.dquoted_backticks.saturating_add(u8::from(in_double)),
            },
            delimiter: None,
        });
        for r in inner.out.regions {
            let s = to_outer(r.start);
            let e = if r.end == 0 {
                s
            } else {
                to_outer(r.end - 1) + 1
            };
            self.out.regions.push(Region {
                start: s,
                end: e,
                ..r
            });
        }
    }
}

/// `NAME=value` (or `NAME+=value`, `NAME[i]=value`).
pub fn is_assignment(word: &str) -> bool {
    let Some(eq) = word.find('=') else {
        return false;
    };
    let name = word[..eq].trim_end_matches('+');
    let name = name.split('[').next().unwrap_or(name);
    !name.is_empty()
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        parse(script)
            .commands
            .into_iter()
            .map(|c| c.words)
            .collect()
    }

    #[test]
    fn lists_and_pipelines() {
        assert_eq!(
            words("a 1 | b 2 && c; d & e || f\ng"),
            [
                vec!["a", "1"],
                vec!["b", "2"],
                vec!["c"],
                vec!["d"],
                vec!["e"],
                vec!["f"],
                vec!["g"]
            ]
        );
    }

    #[test]
    fn quotes_and_substitutions() {
        let w = words(r#"echo "a $(rm -rf x) b" 'c d' `kubectl delete pod p`"#);
        assert_eq!(w[0][0], "echo");
        assert_eq!(w[0][2], "c d");
        assert!(w.contains(&vec!["rm".to_owned(), "-rf".to_owned(), "x".to_owned()]));
        assert!(
            w.iter()
                .any(|c| c.first().map(String::as_str) == Some("kubectl"))
        );
    }

    #[test]
    fn heredoc_bodies_are_not_commands() {
        let s = parse("cat > x.sh << 'EOF'\nrm -rf /\nEOF\nchmod +x x.sh");
        let w: Vec<_> = s.commands.iter().map(|c| c.words.clone()).collect();
        assert_eq!(w, [vec!["cat"], vec!["chmod", "+x", "x.sh"]]);
        assert_eq!(s.commands[0].redirects[0].target, "x.sh");
        let body = s
            .regions
            .iter()
            .find(|r| r.context.quote == Quote::HeredocLiteral);
        assert!(body.is_some());
    }

    #[test]
    fn redirections_and_fds() {
        let s = parse("echo x > /etc/a 2>/dev/null; exec 3<>/dev/tcp/h/443");
        assert_eq!(s.commands[0].redirects.len(), 2);
        assert_eq!(s.commands[0].redirects[0].target, "/etc/a");
        assert_eq!(s.commands[1].words, ["exec"]);
    }

    #[test]
    fn keywords_and_loops() {
        let w = words("for v in a b; do\n  if [ -n \"$v\" ]; then rm \"$v\"; fi\ndone");
        assert!(w.contains(&vec!["rm".to_owned(), "$v".to_owned()]));
        assert!(
            !w.iter()
                .any(|c| c.first().map(String::as_str) == Some("for"))
        );
    }

    #[test]
    fn function_bodies_are_commands() {
        let w = words("f() { export A=1; rm x; }; f");
        assert!(
            w.contains(&vec!["export".to_owned(), "A=1".to_owned()]),
            "{w:?}"
        );
        assert!(w.contains(&vec!["rm".to_owned(), "x".to_owned()]), "{w:?}");
    }

    #[test]
    fn function_keyword_form_and_names() {
        let s = parse("function f { rm x; }\nfunction g() { ls; }\nh () { cat y; }; f");
        let w: Vec<_> = s.commands.iter().map(|c| c.words.clone()).collect();
        assert!(w.contains(&vec!["rm".to_owned(), "x".to_owned()]), "{w:?}");
        assert!(w.contains(&vec!["cat".to_owned(), "y".to_owned()]), "{w:?}");
        assert_eq!(s.functions, ["f", "g", "h"]);
    }

    #[test]
    fn substitutions_inside_expansions_and_arithmetic_are_commands() {
        for script in [
            "echo ${x:-$(rm a)}",
            "echo \"${x:=`rm a`}\"",
            "(( $(rm a) > 0 ))",
            "echo $(( 1 + $(rm a) ))",
            "echo ${x:-${y:-$(rm a)}}",
        ] {
            let w = words(script);
            assert!(
                w.contains(&vec!["rm".to_owned(), "a".to_owned()]),
                "{script}: {w:?}"
            );
        }
        // Quotes inside are skipped, not mistaken for the end.
        let w = words("echo ${x:-')'} ; rm b");
        assert!(w.contains(&vec!["rm".to_owned(), "b".to_owned()]), "{w:?}");
    }

    #[test]
    fn case_inside_substitution() {
        let w = words("x=$(case $a in b) echo b ;; esac); rm y");
        assert!(w.contains(&vec!["rm".to_owned(), "y".to_owned()]));
    }

    #[test]
    fn contexts() {
        let text = r#"a '<s>' "<d>" <b> $(x "<e>") # <c>"#;
        let s = parse(text);
        let at = |needle: &str| s.context_at(text.find(needle).unwrap_or(0) + 1).quote;
        assert_eq!(at("<s>"), Quote::Single);
        assert_eq!(at("<d>"), Quote::Double);
        assert_eq!(at("<b>"), Quote::Bare);
        assert_eq!(at("<e>"), Quote::Double);
        assert_eq!(at("<c>"), Quote::Comment);
    }
}

#[cfg(test)]
mod deep {
    use super::*;

    /// `${…}` and arithmetic nested far past the bound: lexed without recursing (this test's
    /// thread has a 2 MiB stack); the nestings that would recurse are flagged as too deep.
    #[test]
    fn nested_expansions_and_arithmetic_cost_no_stack() {
        let n = 100_000;
        for (open, close, recurses) in [
            ("${x:-", "}", true),
            ("$(( ", " ))", true),
            ("$[ ", " ]", false),
            ("(( ", " ))", false),
        ] {
            let script = format!("echo {}1{}", open.repeat(n), close.repeat(n));
            let lexed = parse(&script);
            assert_eq!(lexed.too_deep.is_some(), recurses, "{open}");
        }
    }
}
