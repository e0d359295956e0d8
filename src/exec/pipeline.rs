//! Pipelines judged as a shell user judges them.
//!
//! With `pipefail`, `kubectl get pods -A | head` fails whenever kubectl writes after `head` has
//! exited: kubectl dies of SIGPIPE (status 141) and that becomes the pipeline's status, in the
//! step's verdict and in every `if`, `&&` and `set -e` on the way. Without it, `kubectl get nope
//! | head` passes. A person reading the pipeline means neither: an upstream member killed by
//! SIGPIPE after the downstream member stopped reading did its job; any other failure fails.
//!
//! Bash has no option for that rule, so [`rewrite`] gives every pipeline of two or more members
//! its status by it: `a | b` runs as `{ a | b; __runbook_pipe "${PIPESTATUS[@]}"; }` (with
//! `pipefail` off), where [`FUNCTIONS`] defines `__runbook_pipe`: the status is that of the
//! rightmost member that failed, where a member other than the last that died of SIGPIPE (141)
//! did not fail. Inside `if`, `while`, `&&`, `||`, `!` and under `set -e` the pipeline then
//! behaves as judged, and the members' own statuses are kept for the record (the `EXIT` trap
//! writes those of the pipeline that ended the script; see [`crate::exec::process`]).
//!
//! [`rewrite`] parses bash (lists, pipelines, compound commands, `case`, `[[ ]]`, arithmetic,
//! quotes, `$( )`, backquotes, process substitution, heredocs) only to find where each pipeline
//! starts and ends; it only inserts text there. A script it cannot parse (bash would not either,
//! or it uses `coproc`) or that reads `PIPESTATUS` itself is left as written and runs with
//! `pipefail`, its last pipeline judged by the same rule afterwards ([`judged_status`]).
//! Pipelines inside backquotes keep bash's own rule (the last member's status).
//!
//! To teach it a construct, add an arm to [`Parser::command`] and an idiom to the table test in
//! `tests/local/exec_pipelines.rs`.

/// The status a pipeline gets from its members' statuses (`PIPESTATUS`): that of the rightmost
/// member that failed, where a member other than the last that died of SIGPIPE (141, the
/// downstream member closed its input) did not fail. 0 when none failed.
pub fn judged_status(statuses: &[i32]) -> i32 {
    let last = statuses.len().saturating_sub(1);
    statuses
        .iter()
        .enumerate()
        .rev()
        .find(|&(i, &s)| s != 0 && !(i < last && s == SIGPIPE_STATUS))
        .map_or(0, |(_, &s)| s)
}

/// 128 + SIGPIPE: how bash reports a member killed by SIGPIPE.
pub const SIGPIPE_STATUS: i32 = 141;

/// The shell functions a rewritten script calls: `__runbook_pipe STATUS...` returns the judged
/// status (see [`judged_status`]) and keeps the statuses in `__runbook_ps` for the exit trap.
/// Its last command is [`PIPE_RETURN`], which the exit trap recognises in `BASH_COMMAND`. One
/// line ending in `; `: the script that follows keeps its line numbers.
pub const FUNCTIONS: &str = "__runbook_pipe() { local -; set +x; __runbook_ps=\"$*\"; \
local __rb_s=0 __rb_n=0 __rb_v; for __rb_v in \"$@\"; do __rb_n=$((__rb_n + 1)); \
if [ \"$__rb_v\" != 0 ] && { [ \"$__rb_n\" = \"$#\" ] || [ \"$__rb_v\" != 141 ]; }; \
then __rb_s=$__rb_v; fi; done; return \"$__rb_s\"; }; ";

/// The last command of `__runbook_pipe`, as `BASH_COMMAND` shows it.
pub const PIPE_RETURN: &str = "return \"$__rb_s\"";

const OPEN: &str = "{ ";
const CLOSE: &str = "; __runbook_pipe \"${PIPESTATUS[@]}\"; }";
/// Opens the group when the script may turn `pipefail` on itself (`set -euo pipefail`): the
/// members' statuses are judged here, so bash must not act on them first.
const OPEN_NO_PIPEFAIL: &str = "{ set +o pipefail; ";

/// Nesting (substitutions, subshells, compound commands) deeper than this is not parsed.
const MAX_DEPTH: usize = 200;

/// `script` with every pipeline of two or more members judged by [`judged_status`], or `None`
/// when it is left as written (not parsed, no pipeline, or it reads `PIPESTATUS` itself).
pub fn rewrite(script: &str) -> Option<String> {
    if !script.contains('|') || script.contains("PIPESTATUS") {
        return None;
    }
    let mut p = Parser {
        s: script.as_bytes(),
        i: 0,
        depth: 0,
        last_end: 0,
        heredocs: Vec::new(),
        pipelines: Vec::new(),
    };
    p.list(&Stop::Eof).ok()?;
    if p.i < p.s.len() || p.pipelines.is_empty() {
        return None;
    }
    let open = if script.contains("pipefail") {
        OPEN_NO_PIPEFAIL
    } else {
        OPEN
    };
    // (offset, order, text): at one offset, outer opens before inner, inner closes first.
    let mut inserts: Vec<(usize, isize, &str)> = Vec::new();
    for pl in &p.pipelines {
        let depth = isize::try_from(pl.depth).unwrap_or(isize::MAX);
        inserts.push((pl.start, depth, open));
        inserts.push((pl.end, -depth, CLOSE));
    }
    inserts.sort_by_key(|&(at, order, _)| (at, order));
    let mut out = String::with_capacity(script.len() + inserts.len() * 24);
    let mut last = 0;
    for (at, _, text) in inserts {
        out.push_str(&script[last..at]);
        out.push_str(text);
        last = at;
    }
    out.push_str(&script[last..]);
    Some(out)
}

#[derive(Debug, Clone, Copy)]
struct Pipeline {
    start: usize,
    end: usize,
    depth: usize,
}

struct Heredoc {
    delimiter: Vec<u8>,
    strip_tabs: bool,
}

/// Where a list of commands ends.
enum Stop {
    Eof,
    /// `)` of a subshell or substitution (not consumed).
    Paren,
    /// One of these reserved words (not consumed).
    Words(&'static [&'static str]),
    /// A `case` item: `;;`, `;&`, `;;&` or `esac` (not consumed).
    CaseItem,
}

/// Not bash, or not a form this parser knows: the script is left as written.
#[derive(Debug)]
struct Unparsed;

type Parsed<T = ()> = Result<T, Unparsed>;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
    /// Just after the last token of the last command parsed.
    last_end: usize,
    heredocs: Vec<Heredoc>,
    pipelines: Vec<Pipeline>,
}

fn is_meta(c: u8) -> bool {
    matches!(
        c,
        b' ' | b'\t' | b'\n' | b';' | b'&' | b'|' | b'<' | b'>' | b'(' | b')'
    )
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn at(&self, k: usize) -> Option<u8> {
        self.s.get(self.i + k).copied()
    }

    fn starts_with(&self, pat: &[u8]) -> bool {
        self.s[self.i.min(self.s.len())..].starts_with(pat)
    }

    fn enter(&mut self) -> Parsed {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(Unparsed);
        }
        Ok(())
    }

    /// Spaces, tabs and line continuations.
    fn blanks(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t') => self.i += 1,
                Some(b'\\') if self.at(1) == Some(b'\n') => self.i += 2,
                _ => return,
            }
        }
    }

    /// A `#` comment up to (not including) the end of the line.
    fn comment(&mut self) {
        if self.peek() == Some(b'#') {
            while self.peek().is_some_and(|c| c != b'\n') {
                self.i += 1;
            }
        }
    }

    /// Blanks, comments and newlines (with the heredoc bodies they start).
    fn blanks_and_newlines(&mut self) {
        loop {
            self.blanks();
            self.comment();
            if self.peek() == Some(b'\n') {
                self.newline();
            } else {
                return;
            }
        }
    }

    /// Consumes a newline and the bodies of the heredocs opened on its line.
    fn newline(&mut self) {
        self.i += 1;
        for doc in std::mem::take(&mut self.heredocs) {
            loop {
                if self.i >= self.s.len() {
                    break;
                }
                let end = self.s[self.i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(self.s.len(), |p| self.i + p);
                let mut line = &self.s[self.i..end];
                if doc.strip_tabs {
                    while let [b'\t', rest @ ..] = line {
                        line = rest;
                    }
                }
                self.i = (end + 1).min(self.s.len());
                if line == doc.delimiter.as_slice() {
                    break;
                }
            }
        }
    }

    /// The unquoted reserved word at the cursor, if the next word is a plain one.
    fn reserved(&self) -> Option<&'static str> {
        const RESERVED: &[&str] = &[
            "if", "then", "elif", "else", "fi", "do", "done", "while", "until", "for", "in",
            "case", "esac", "select", "function", "time", "{", "}", "!", "[[", "]]", "coproc",
        ];
        let start = self.i;
        let mut end = start;
        while let Some(&c) = self.s.get(end) {
            if is_meta(c) {
                break;
            }
            if matches!(c, b'\'' | b'"' | b'\\' | b'$' | b'`') {
                return None;
            }
            end += 1;
        }
        let word = std::str::from_utf8(&self.s[start..end]).ok()?;
        RESERVED.iter().find(|r| **r == word).copied()
    }

    fn expect_word(&mut self, word: &str) -> Parsed {
        self.blanks_and_newlines();
        if self.reserved() == Some(word) {
            self.i += word.len();
            self.last_end = self.i;
            Ok(())
        } else {
            Err(Unparsed)
        }
    }

    /// Commands up to `stop`.
    fn list(&mut self, stop: &Stop) -> Parsed {
        self.enter()?;
        loop {
            self.blanks_and_newlines();
            match (self.peek(), stop) {
                (None, Stop::Eof) | (Some(b')'), Stop::Paren) => break,
                (None, _) => return Err(Unparsed),
                (Some(b';'), Stop::CaseItem)
                    if self.at(1) == Some(b';') || self.at(1) == Some(b'&') =>
                {
                    break;
                }
                _ => {}
            }
            match (self.reserved(), stop) {
                (Some("esac"), Stop::CaseItem) => break,
                (Some(w), Stop::Words(words)) if words.contains(&w) => break,
                _ => {}
            }
            self.and_or()?;
            self.blanks();
            self.comment();
            match self.peek() {
                Some(b';') if self.at(1) != Some(b';') && self.at(1) != Some(b'&') => self.i += 1,
                Some(b'&') if self.at(1) != Some(b'&') => self.i += 1,
                Some(b'\n') => self.newline(),
                None | Some(b')' | b';') => {}
                Some(_) => return Err(Unparsed),
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// Pipelines joined by `&&` and `||`.
    fn and_or(&mut self) -> Parsed {
        loop {
            self.pipeline()?;
            self.blanks();
            if self.starts_with(b"&&") || self.starts_with(b"||") {
                self.i += 2;
                self.blanks_and_newlines();
            } else {
                return Ok(());
            }
        }
    }

    fn pipeline(&mut self) -> Parsed {
        loop {
            self.blanks();
            match self.reserved() {
                Some("time") => {
                    self.i += 4;
                    self.blanks();
                    if self.starts_with(b"-p") && self.at(2).is_none_or(is_meta) {
                        self.i += 2;
                    }
                }
                Some("!") => self.i += 1,
                _ => break,
            }
        }
        let start = self.i;
        self.command()?;
        let mut end = self.last_end;
        let mut members = 1;
        loop {
            self.blanks();
            if self.peek() == Some(b'|') && self.at(1) != Some(b'|') {
                self.i += if self.at(1) == Some(b'&') { 2 } else { 1 };
                self.blanks_and_newlines();
                self.command()?;
                end = self.last_end;
                members += 1;
            } else {
                break;
            }
        }
        if members > 1 {
            self.pipelines.push(Pipeline {
                start,
                end,
                depth: self.depth,
            });
        }
        Ok(())
    }

    fn command(&mut self) -> Parsed {
        self.blanks();
        match self.peek() {
            Some(b'(') if self.at(1) == Some(b'(') => {
                self.balanced()?;
                self.last_end = self.i;
                return self.redirections();
            }
            Some(b'(') => {
                self.i += 1;
                self.list(&Stop::Paren)?;
                if self.peek() != Some(b')') {
                    return Err(Unparsed);
                }
                self.i += 1;
                self.last_end = self.i;
                return self.redirections();
            }
            None | Some(b')' | b';' | b'|' | b'&' | b'\n') => return Err(Unparsed),
            _ => {}
        }
        let word = self.reserved();
        if let Some(w) = word {
            // `!`, `{`, `[[` are reserved only as words of their own.
            self.i += w.len();
        }
        match word {
            Some("{") => {
                self.list(&Stop::Words(&["}"]))?;
                self.expect_word("}")?;
            }
            Some("if") => {
                self.list(&Stop::Words(&["then"]))?;
                self.expect_word("then")?;
                loop {
                    self.list(&Stop::Words(&["elif", "else", "fi"]))?;
                    self.blanks_and_newlines();
                    match self.reserved() {
                        Some("elif") => {
                            self.i += 4;
                            self.list(&Stop::Words(&["then"]))?;
                            self.expect_word("then")?;
                        }
                        Some("else") => {
                            self.i += 4;
                            self.list(&Stop::Words(&["fi"]))?;
                            self.expect_word("fi")?;
                            break;
                        }
                        _ => {
                            self.expect_word("fi")?;
                            break;
                        }
                    }
                }
            }
            Some("while" | "until") => {
                self.list(&Stop::Words(&["do"]))?;
                self.expect_word("do")?;
                self.list(&Stop::Words(&["done"]))?;
                self.expect_word("done")?;
            }
            Some("for" | "select") => self.for_loop()?,
            Some("case") => self.case()?,
            Some("[[") => self.test_command()?,
            Some("function") => {
                self.blanks();
                self.word()?;
                self.blanks();
                if self.starts_with(b"()") {
                    self.i += 2;
                } else if self.peek() == Some(b'(') {
                    self.i += 1;
                    self.blanks();
                    if self.peek() != Some(b')') {
                        return Err(Unparsed);
                    }
                    self.i += 1;
                }
                self.blanks_and_newlines();
                return self.command();
            }
            Some("!" | "time") => return self.command(),
            Some(_) => return Err(Unparsed),
            None => return self.simple_command(),
        }
        self.last_end = self.i;
        self.redirections()
    }

    fn for_loop(&mut self) -> Parsed {
        self.blanks();
        if self.starts_with(b"((") {
            self.balanced()?;
        } else {
            self.word()?;
            self.blanks_and_newlines();
            if self.reserved() == Some("in") {
                self.i += 2;
                loop {
                    self.blanks();
                    match self.peek() {
                        Some(b';' | b'\n') | None => break,
                        Some(b'#') => self.comment(),
                        _ => self.word()?,
                    }
                }
            }
        }
        self.blanks();
        if self.peek() == Some(b';') {
            self.i += 1;
        }
        self.blanks_and_newlines();
        match self.reserved() {
            Some("do") => {
                self.i += 2;
                self.list(&Stop::Words(&["done"]))?;
                self.expect_word("done")
            }
            Some("{") => {
                self.i += 1;
                self.list(&Stop::Words(&["}"]))?;
                self.expect_word("}")
            }
            _ => Err(Unparsed),
        }
    }

    fn case(&mut self) -> Parsed {
        self.blanks();
        self.word()?;
        self.expect_word("in")?;
        loop {
            self.blanks_and_newlines();
            if self.reserved() == Some("esac") {
                self.i += 4;
                return Ok(());
            }
            if self.peek() == Some(b'(') {
                self.i += 1;
            }
            loop {
                self.blanks();
                self.word()?;
                self.blanks();
                match self.peek() {
                    Some(b'|') => self.i += 1,
                    Some(b')') => {
                        self.i += 1;
                        break;
                    }
                    _ => return Err(Unparsed),
                }
            }
            self.list(&Stop::CaseItem)?;
            for end in [&b";;&"[..], b";;", b";&"] {
                if self.starts_with(end) {
                    self.i += end.len();
                    break;
                }
            }
        }
    }

    /// `[[ ... ]]`: operators inside are not the shell's (`||`, `<`, `(`).
    fn test_command(&mut self) -> Parsed {
        loop {
            self.blanks_and_newlines();
            if self.starts_with(b"]]") && self.at(2).is_none_or(is_meta) {
                self.i += 2;
                return Ok(());
            }
            match self.peek() {
                None => return Err(Unparsed),
                Some(c) if is_meta(c) => self.i += 1,
                Some(_) => self.word()?,
            }
        }
    }

    fn simple_command(&mut self) -> Parsed {
        let mut words = 0;
        loop {
            self.blanks();
            match self.peek() {
                None | Some(b'\n' | b';' | b'|' | b')' | b'#') => break,
                Some(b'&') if self.at(1) != Some(b'>') => break,
                Some(b'<' | b'>' | b'&') => self.redirection()?,
                Some(b'(') => {
                    // `name() { ...; }` declares a function.
                    if words != 1 {
                        return Err(Unparsed);
                    }
                    self.i += 1;
                    self.blanks();
                    if self.peek() != Some(b')') {
                        return Err(Unparsed);
                    }
                    self.i += 1;
                    self.blanks_and_newlines();
                    return self.command();
                }
                Some(_) => {
                    self.word()?;
                    words += 1;
                }
            }
            self.last_end = self.i;
        }
        Ok(())
    }

    /// Redirections after a compound command (`done < file`, `} 2>&1`).
    fn redirections(&mut self) -> Parsed {
        loop {
            self.blanks();
            let digits = self.s[self.i..]
                .iter()
                .take_while(|c| c.is_ascii_digit())
                .count();
            match self.at(digits) {
                Some(b'<' | b'>') => {
                    self.i += digits;
                    self.redirection()?;
                }
                Some(b'&') if digits == 0 && self.at(1) == Some(b'>') => self.redirection()?,
                _ => return Ok(()),
            }
            self.last_end = self.i;
        }
    }

    fn redirection(&mut self) -> Parsed {
        const OPS: &[&[u8]] = &[
            b"&>>", b"<<<", b"<<-", b"&>", b">>", b"<<", b">&", b"<&", b">|", b"<>", b">", b"<",
        ];
        let op = OPS.iter().find(|op| self.starts_with(op)).ok_or(Unparsed)?;
        // `<(...)` is a process substitution: a word.
        if (*op == b"<" || *op == b">") && self.at(1) == Some(b'(') {
            return self.word();
        }
        self.i += op.len();
        self.blanks();
        let start = self.i;
        self.word()?;
        if *op == b"<<" || *op == b"<<-" {
            let raw = &self.s[start..self.i];
            let delimiter = raw
                .iter()
                .copied()
                .filter(|c| !matches!(c, b'\'' | b'"' | b'\\'))
                .collect();
            self.heredocs.push(Heredoc {
                delimiter,
                strip_tabs: *op == b"<<-",
            });
        }
        Ok(())
    }

    /// One word: quotes, substitutions and expansions inside it are skipped as a whole.
    fn word(&mut self) -> Parsed {
        let start = self.i;
        while let Some(c) = self.peek() {
            match c {
                b'<' | b'>' if self.at(1) == Some(b'(') && self.i == start => {
                    self.i += 2;
                    self.list(&Stop::Paren)?;
                    if self.peek() != Some(b')') {
                        return Err(Unparsed);
                    }
                    self.i += 1;
                }
                b'(' if self.i > start
                    && (matches!(self.s[self.i - 1], b'@' | b'!' | b'+' | b'*' | b'?')
                        || self.s[self.i - 1] == b'=') =>
                {
                    // An extglob `@(a|b)` or an array `a=(1 2)`.
                    self.balanced()?;
                }
                c if is_meta(c) => break,
                b'\\' => self.i += 2,
                b'\'' => self.single_quoted()?,
                b'"' => self.double_quoted()?,
                b'`' => self.backquoted()?,
                b'$' => self.dollar()?,
                _ => self.i += 1,
            }
        }
        self.i = self.i.min(self.s.len());
        if self.i == start {
            return Err(Unparsed);
        }
        Ok(())
    }

    fn single_quoted(&mut self) -> Parsed {
        self.i += 1;
        let close = self.s[self.i..]
            .iter()
            .position(|&c| c == b'\'')
            .ok_or(Unparsed)?;
        self.i += close + 1;
        Ok(())
    }

    fn double_quoted(&mut self) -> Parsed {
        self.i += 1;
        loop {
            match self.peek() {
                None => return Err(Unparsed),
                Some(b'"') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => self.i += 2,
                Some(b'$') => self.dollar()?,
                Some(b'`') => self.backquoted()?,
                Some(_) => self.i += 1,
            }
        }
    }

    /// `` `...` ``: skipped; what runs inside keeps bash's own rule.
    fn backquoted(&mut self) -> Parsed {
        self.i += 1;
        loop {
            match self.peek() {
                None => return Err(Unparsed),
                Some(b'`') => {
                    self.i += 1;
                    return Ok(());
                }
                Some(b'\\') => self.i += 2,
                Some(_) => self.i += 1,
            }
        }
    }

    fn dollar(&mut self) -> Parsed {
        match self.at(1) {
            Some(b'(') if self.at(2) == Some(b'(') => {
                self.i += 1;
                self.balanced()
            }
            Some(b'(') => {
                self.i += 2;
                self.list(&Stop::Paren)?;
                if self.peek() != Some(b')') {
                    return Err(Unparsed);
                }
                self.i += 1;
                Ok(())
            }
            Some(b'{') => {
                self.i += 2;
                self.enter()?;
                loop {
                    match self.peek() {
                        None => return Err(Unparsed),
                        Some(b'}') => {
                            self.i += 1;
                            break;
                        }
                        Some(b'\\') => self.i += 2,
                        Some(b'\'') => self.single_quoted()?,
                        Some(b'"') => self.double_quoted()?,
                        Some(b'`') => self.backquoted()?,
                        Some(b'$') => self.dollar()?,
                        Some(_) => self.i += 1,
                    }
                }
                self.depth -= 1;
                Ok(())
            }
            Some(b'\'') => {
                self.i += 2;
                loop {
                    match self.peek() {
                        None => return Err(Unparsed),
                        Some(b'\\') => self.i += 2,
                        Some(b'\'') => {
                            self.i += 1;
                            return Ok(());
                        }
                        Some(_) => self.i += 1,
                    }
                }
            }
            Some(b'"') => {
                self.i += 1;
                self.double_quoted()
            }
            Some(b'[') => {
                let close = self.s[self.i..]
                    .iter()
                    .position(|&c| c == b']')
                    .ok_or(Unparsed)?;
                self.i += close + 1;
                Ok(())
            }
            _ => {
                self.i += 1;
                Ok(())
            }
        }
    }

    /// From a `(` to its matching `)`, quotes and substitutions skipped as a whole
    /// (arithmetic, extglob patterns, array values).
    fn balanced(&mut self) -> Parsed {
        self.enter()?;
        let mut level = 0usize;
        loop {
            match self.peek() {
                None => return Err(Unparsed),
                Some(b'(') => {
                    level += 1;
                    self.i += 1;
                }
                Some(b')') => {
                    self.i += 1;
                    level -= 1;
                    if level == 0 {
                        break;
                    }
                }
                Some(b'\\') => self.i += 2,
                Some(b'\'') => self.single_quoted()?,
                Some(b'"') => self.double_quoted()?,
                Some(b'`') => self.backquoted()?,
                Some(b'$') => self.dollar()?,
                Some(_) => self.i += 1,
            }
        }
        self.depth -= 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judged() {
        assert_eq!(judged_status(&[141, 0]), 0);
        assert_eq!(judged_status(&[141, 141, 0]), 0);
        assert_eq!(judged_status(&[1, 0]), 1);
        assert_eq!(judged_status(&[0, 1, 0]), 1);
        assert_eq!(judged_status(&[141, 2]), 2);
        assert_eq!(
            judged_status(&[0, 141]),
            141,
            "the last member's SIGPIPE counts"
        );
        assert_eq!(judged_status(&[3, 141, 0]), 3);
        assert_eq!(judged_status(&[]), 0);
    }

    /// The rewrite, with `«` and `»` in `expected` standing for the inserted text.
    fn check(script: &str, expected: Option<&str>) {
        let expected = expected.map(|e| e.replace('«', OPEN).replace('»', CLOSE));
        assert_eq!(rewrite(script), expected, "{script}");
    }

    #[test]
    fn wraps_pipelines_and_only_pipelines() {
        check("yes | head -n 3", Some("«yes | head -n 3»"));
        check("a || b", None);
        check("echo 'a|b' \"c|d\"", None);
        check(
            "if ! a | grep -q x; then b | c; fi",
            Some("if ! «a | grep -q x»; then «b | c»; fi"),
        );
        check(
            "time -p a |& b && c | d &",
            Some("time -p «a |& b» && «c | d» &"),
        );
        check(
            "x=$(a | b) # c | d\ncase $x in a|b) e | f;; esac",
            Some("x=$(«a | b») # c | d\ncase $x in a|b) «e | f»;; esac"),
        );
        check(
            "cat <<EOF | grep a\nx | y\nEOF\nz",
            Some("«cat <<EOF | grep a»\nx | y\nEOF\nz"),
        );
        check(
            "for i in 1 2; do a | b; done | sort >out",
            Some("«for i in 1 2; do «a | b»; done | sort >out»"),
        );
        check(
            "echo $(( 1 | 2 )) ${x//a|b/c} `a | b`; [[ a == b || c ]] | d",
            Some("echo $(( 1 | 2 )) ${x//a|b/c} `a | b`; «[[ a == b || c ]] | d»"),
        );
        check(
            "f() { a | b; }\nwhile read l; do :; done < <(x | y)",
            Some("f() { «a | b»; }\nwhile read l; do :; done < <(«x | y»)"),
        );
    }

    #[test]
    fn leaves_what_it_cannot_read() {
        assert_eq!(rewrite("echo 'unterminated | x"), None);
        assert_eq!(rewrite("a | b; echo ${PIPESTATUS[0]}"), None);
        assert_eq!(rewrite("coproc a | b"), None);
        let deep = format!("{}a | b{}", "$(".repeat(500), ")".repeat(500));
        assert_eq!(rewrite(&deep), None);
    }
}
