//! A check's condition: a jq program compiled and run with jaq (jq's language, std library and
//! JSON values; `fromdateiso8601`, `test`, `any`, ... all work).
//!
//! [`Program`] compiles and evaluates in the calling process; `diagnose` runs it in a child
//! process instead ([`worker`]: `runbook __jq`), because jaq cannot be interrupted inside one
//! expression: there a check is stopped at its time limit by killing the child, and its memory
//! is capped at [`worker::MEMORY_LIMIT_MIB`] (plus a CPU-time backstop).

pub mod worker;

use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Compiler, Ctx, Vars, data};
use jaq_json::Val;
use std::time::Instant;

type Data = data::JustLut<Val>;

/// Most evidence lines one check reports; the rest are summed up in one line.
pub const MAX_EVIDENCE: usize = 50;

/// Longest evidence line, in bytes; a longer one is cut (at a character boundary) and ends
/// with `…`.
pub const MAX_EVIDENCE_BYTES: usize = 4096;

/// Why a program stopped without its evidence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stop {
    /// It was still running at its deadline.
    TimeLimit,
    /// It raised an error (the message says which).
    Failed(String),
}

/// A compiled program.
pub struct Program {
    filter: jaq_core::Filter<Data>,
}

/// Why a program does not compile: the 1-based line within the program and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError {
    pub line: usize,
    pub message: String,
}

impl Program {
    pub fn compile(code: &str) -> Result<Self, CompileError> {
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs());
        let loader = Loader::new(defs);
        let arena = Arena::default();
        let modules = loader
            .load(&arena, File { code, path: () })
            .map_err(|errors| load_error(code, &errors))?;
        let filter = Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                let first = errors.first().and_then(|(_, errs)| errs.first());
                first.map_or_else(
                    || CompileError {
                        line: 1,
                        message: "the program does not compile".into(),
                    },
                    |(name, undefined)| CompileError {
                        line: line_of(code, name),
                        message: format!("undefined {} `{name}`", undefined.as_str()),
                    },
                )
            })?;
        Ok(Self { filter })
    }

    /// Runs the program on `input`: each string output is one piece of evidence (other values
    /// are printed as JSON). At most [`MAX_EVIDENCE`] lines of at most [`MAX_EVIDENCE_BYTES`]
    /// each, plus one that counts the rest.
    ///
    /// Stops at `deadline` between two outputs, so a program that yields without end
    /// (`repeat`, `range(1e18)`, `recurse`) ends with the check's timeout instead of running
    /// on in the background; the outputs it skips past [`MAX_EVIDENCE`] are counted, not kept.
    /// (One output that takes longer than the deadline to build is still finished first: jaq
    /// cannot be interrupted inside an expression; [`worker`] is what bounds that.)
    pub fn evidence(&self, input: Val, deadline: Instant) -> Result<Vec<String>, Stop> {
        let ctx = Ctx::<Data>::new(&self.filter.lut, Vars::new([]));
        let mut out = Vec::new();
        let mut more = 0usize;
        for value in self.filter.id.run((ctx, input)).map(jaq_core::unwrap_valr) {
            if Instant::now() >= deadline {
                return Err(Stop::TimeLimit);
            }
            let value = value.map_err(|e| Stop::Failed(e.to_string()))?;
            if matches!(value, Val::Null | Val::Bool(false)) {
                continue;
            }
            if out.len() >= MAX_EVIDENCE {
                more += 1;
                continue;
            }
            out.push(cut(match &value {
                Val::TStr(s) => String::from_utf8_lossy(s).into_owned(),
                other => other.to_string(),
            }));
        }
        if more > 0 {
            out.push(format!("... and {more} more"));
        }
        Ok(out)
    }
}

/// `line` cut to [`MAX_EVIDENCE_BYTES`].
fn cut(mut line: String) -> String {
    if line.len() > MAX_EVIDENCE_BYTES {
        let mut end = MAX_EVIDENCE_BYTES - '…'.len_utf8();
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        line.truncate(end);
        line.push('…');
    }
    line
}

fn load_error(code: &str, errors: &jaq_core::load::Errors<&str, ()>) -> CompileError {
    use jaq_core::load::Error;
    let first = errors.first().map(|(_, e)| e);
    let (at, message) = match first {
        Some(Error::Lex(errs)) => errs.first().map_or((code, String::new()), |(expect, at)| {
            (*at, format!("expected {}", expect.as_str()))
        }),
        Some(Error::Parse(errs)) => errs.first().map_or((code, String::new()), |(expect, at)| {
            let found = if at.is_empty() {
                "the end of the program".to_owned()
            } else {
                format!("`{}`", at.chars().take(20).collect::<String>())
            };
            (
                *at,
                format!("expected {} but found {found}", expect.as_str()),
            )
        }),
        Some(Error::Io(errs)) => errs
            .first()
            .map_or((code, String::new()), |(_, m)| (code, m.clone())),
        None => (code, String::new()),
    };
    CompileError {
        line: line_of(code, at),
        message: if message.is_empty() {
            "the program does not parse".into()
        } else {
            message
        },
    }
}

/// 1-based line of `part` inside `whole` (1 when `part` is not a slice of it).
fn line_of(whole: &str, part: &str) -> usize {
    let start = whole.as_ptr() as usize;
    let at = part.as_ptr() as usize;
    if at < start || at > start + whole.len() {
        return 1;
    }
    1 + whole[..at - start].matches('\n').count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(code: &str, input: serde_json::Value) -> Result<Vec<String>, Stop> {
        let program = Program::compile(code).unwrap_or_else(|e| panic!("{e:?}"));
        let input: Val = serde_json::from_value(input).unwrap_or_else(|e| panic!("{e}"));
        program.evidence(input, Instant::now() + std::time::Duration::from_secs(10))
    }

    #[test]
    fn a_program_that_yields_without_end_stops_at_the_deadline() {
        let program = Program::compile("repeat(\"x\")").unwrap_or_else(|e| panic!("{e:?}"));
        let started = Instant::now();
        let deadline = started + std::time::Duration::from_millis(200);
        let result = program.evidence(Val::Null, deadline);
        assert_eq!(result, Err(Stop::TimeLimit));
    }

    #[test]
    fn a_long_evidence_line_is_cut() {
        let lines =
            run("\"é\" * 10000", serde_json::Value::Null).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].len() <= MAX_EVIDENCE_BYTES, "{}", lines[0].len());
        assert!(
            lines[0].ends_with("é…"),
            "{}",
            &lines[0][lines[0].len() - 8..]
        );
    }

    #[test]
    fn strings_become_evidence_and_nothing_means_no_match() {
        let input = serde_json::json!({"pods": [{"name": "a"}, {"name": "b"}]});
        assert_eq!(
            run(".pods[] | \"pod \\(.name)\"", input.clone()),
            Ok(vec!["pod a".into(), "pod b".into()])
        );
        assert_eq!(
            run(".pods[] | select(.name == \"c\") | .name", input),
            Ok(vec![])
        );
    }

    #[test]
    fn dates_parse_with_the_std_library() {
        let input = serde_json::json!({"now": "2026-01-01T00:10:00Z", "t": "2026-01-01T00:00:00Z"});
        assert_eq!(
            run(
                "(.now | fromdateiso8601) - (.t | fromdateiso8601) | tostring",
                input
            ),
            Ok(vec!["600".into()])
        );
    }

    #[test]
    fn compile_errors_name_the_line() {
        let e = Program::compile(".pods[]\n| select(.x ==)").err();
        assert_eq!(e.map(|e| e.line), Some(2));
        let e = Program::compile(".pods[] | nosuchfunction").err();
        assert!(
            e.as_ref()
                .is_some_and(|e| e.message.contains("nosuchfunction")),
            "{e:?}"
        );
    }

    #[test]
    fn runtime_errors_are_reported() {
        let r = run(
            ".pods | keys[] | ascii_downcase",
            serde_json::json!({"pods": [1]}),
        );
        assert!(r.is_err(), "{r:?}");
    }
}
