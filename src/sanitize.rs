//! One sanitiser for everything the product prints that it did not write itself: runbook
//! text (titles, steps, commands, placeholder help), cluster data (`diagnose` evidence, values
//! a step prints) and the output of commands. A fetched runbook's title must not write the
//! user's clipboard (OSC 52), retitle the window, clear the screen or hide part of a command
//! line during the very review `runbook show` exists for.
//!
//! What [`Sanitizer::clean`] does:
//! - SGR (`ESC [ … m`, colours and bold) is kept when the output is a terminal and colour is
//!   on ([`Sanitizer::stdout`]); elsewhere it is dropped, so files and pipes get plain text.
//! - Every other escape (OSC, DCS, APC, PM, SOS, CSI cursor moves, erases, private modes, and
//!   two-byte escapes) loses its ESC, which is shown as a visible `␛`: the rest of the sequence
//!   is printable and stays, so a reader sees what was attempted.
//! - Other C0 controls and DEL are shown as `^X` (`^G`, `^H`, `^M` for a carriage return that
//!   is not part of a CRLF, `^?`); tab and newline stay.
//! - C1 controls (U+0080–U+009F) are the 8-bit spellings of escapes: shown as `␛` and the
//!   7-bit letter (U+009B, an 8-bit CSI, shows as `␛[`).
//! - Bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069), which reorder how
//!   a line reads, are shown as `⟨U+202E⟩`.
//!
//! To handle one more control: add its arm in [`Sanitizer::clean`] and a case to the tests
//! below and to `tests/local/sanitize.rs`, which checks each print route's bytes.

use std::borrow::Cow;
use std::io::{IsTerminal, Write};

/// The visible stand-in for ESC.
pub const ESC_SHOWN: char = '␛';

/// How text from outside is made safe to print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sanitizer {
    /// Keep SGR colour sequences (a terminal with colour on).
    pub keep_sgr: bool,
}

/// Is colour wanted at all (`NO_COLOR` unset or empty, `TERM` not `dumb`)?
pub fn colour_on() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        && std::env::var_os("TERM").is_none_or(|t| t != "dumb")
}

impl Sanitizer {
    /// Plain text everywhere: for files, reports and pipes.
    pub const PLAIN: Self = Self { keep_sgr: false };

    /// For standard output: colours kept only on a terminal with colour on.
    pub fn stdout() -> Self {
        Self {
            keep_sgr: std::io::stdout().is_terminal() && colour_on(),
        }
    }

    /// For standard error, the same way.
    pub fn stderr() -> Self {
        Self {
            keep_sgr: std::io::stderr().is_terminal() && colour_on(),
        }
    }

    /// `text` safe to print.
    pub fn clean<'a>(&self, text: &'a str) -> Cow<'a, str> {
        if !needs_cleaning(text) {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len() + 16);
        let mut chars = text.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '\n' | '\t' => out.push(c),
                '\r' if text[i + 1..].starts_with('\n') => out.push(c),
                '\u{1b}' => {
                    if let Some(len) = sgr_len(&text[i..]) {
                        if self.keep_sgr {
                            out.push_str(&text[i..i + len]);
                        }
                        // Skip the rest of the sequence (all ASCII).
                        while chars.peek().is_some_and(|(j, _)| *j < i + len) {
                            chars.next();
                        }
                    } else {
                        out.push(ESC_SHOWN);
                    }
                }
                '\u{0}'..='\u{1f}' => {
                    out.push('^');
                    out.push(char::from(
                        u8::try_from(u32::from(c) + 0x40).unwrap_or(b'?'),
                    ));
                }
                '\u{7f}' => out.push_str("^?"),
                '\u{80}'..='\u{9f}' => {
                    out.push(ESC_SHOWN);
                    out.push(char::from(
                        u8::try_from(u32::from(c) - 0x40).unwrap_or(b'?'),
                    ));
                }
                '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                    use std::fmt::Write as _;
                    let _ = write!(out, "⟨U+{:04X}⟩", u32::from(c));
                }
                _ => out.push(c),
            }
        }
        Cow::Owned(out)
    }

    /// Writes `text`, cleaned, to `out`.
    pub fn write(&self, out: &mut dyn Write, text: &str) -> std::io::Result<()> {
        out.write_all(self.clean(text).as_bytes())
    }
}

/// Does `text` hold anything [`Sanitizer::clean`] would change? (The common case is no, and
/// costs one pass over the bytes.)
fn needs_cleaning(text: &str) -> bool {
    let b = text.as_bytes();
    // Fast path for the usual output (printable ASCII, newlines, tabs): 64 bytes at a time
    // without branching per byte, so the compiler can vectorise it; a gigabyte of kubectl
    // output streams through `runbook run` at pipe speed. Anything else takes the exact scan.
    // Bitwise on purpose: no branch per byte (measured: 1 GiB in 1.1 s against 1.4 s).
    #[allow(clippy::needless_bitwise_bool)]
    let plain = b.chunks(64).all(|chunk| {
        chunk.iter().fold(true, |ok, &c| {
            ok & ((0x20..0x7f).contains(&c) | (c == b'\n') | (c == b'\t'))
        })
    });
    !plain && needs_cleaning_exact(b)
}

fn needs_cleaning_exact(b: &[u8]) -> bool {
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\n' | b'\t' => false,
        b'\r' => b.get(i + 1) != Some(&b'\n'),
        0..=0x1f | 0x7f => true,
        // U+0080–U+009F are C2 80–C2 9F in UTF-8.
        0xc2 => b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)),
        // U+202A–U+202E are E2 80 AA–AE; U+2066–U+2069 are E2 81 A6–A9.
        0xe2 => matches!(
            (b.get(i + 1), b.get(i + 2)),
            (Some(0x80), Some(0xaa..=0xae)) | (Some(0x81), Some(0xa6..=0xa9))
        ),
        _ => false,
    })
}

/// The length of an SGR sequence at the start of `text` (`ESC [` digits, `;`, `:` then `m`).
fn sgr_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("\u{1b}[")?;
    let params = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b';' || *b == b':')
        .count();
    (rest.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLOUR: Sanitizer = Sanitizer { keep_sgr: true };

    #[test]
    fn plain_text_is_borrowed() {
        assert!(matches!(
            Sanitizer::PLAIN.clean("kubectl get pods\n\tok ✔ ünïcode\r\n"),
            Cow::Borrowed(_)
        ));
    }

    #[test]
    fn colours_stay_only_when_asked() {
        let text = "\u{1b}[1;31mred\u{1b}[0m and \u{1b}[38:5:208morange\u{1b}[m";
        assert_eq!(COLOUR.clean(text), text);
        assert_eq!(Sanitizer::PLAIN.clean(text), "red and orange");
    }

    #[test]
    fn every_other_escape_is_shown() {
        for (raw, shown) in [
            // OSC 52: write the clipboard; OSC 0: the window title.
            ("\u{1b}]52;c;ZWNobyBoaQ==\u{7}", "␛]52;c;ZWNobyBoaQ==^G"),
            ("\u{1b}]0;title\u{1b}\\", "␛]0;title␛\\"),
            // Erase the line and go back to its start: hides what came before.
            (
                "kubectl delete ns prod #\u{1b}[2K\u{1b}[1Gkubectl get ns",
                "kubectl delete ns prod #␛[2K␛[1Gkubectl get ns",
            ),
            ("\u{1b}[?1049h\u{1b}[H\u{1b}[2J", "␛[?1049h␛[H␛[2J"),
            ("\u{1b}P1$qm\u{1b}\\", "␛P1$qm␛\\"),
            ("\u{1b}_apc\u{1b}\\ \u{1b}^pm\u{1b}\\", "␛_apc␛\\ ␛^pm␛\\"),
            ("\u{1b}7\u{1b}8\u{1b}c", "␛7␛8␛c"),
            ("back\u{8}\u{8}space\rover", "back^H^Hspace^Mover"),
            ("nul\u{0} del\u{7f}", "nul^@ del^?"),
            ("\u{9b}2J \u{9d}0;x\u{9c}", "␛[2J ␛]0;x␛\\"),
            ("rm -rf /\u{202e}txt.", "rm -rf /⟨U+202E⟩txt."),
            // A colour that is not SGR-shaped is an escape like the others.
            ("\u{1b}[31", "␛[31"),
        ] {
            assert_eq!(COLOUR.clean(raw), shown, "{raw:?}");
            assert!(!Sanitizer::PLAIN.clean(raw).contains('\u{1b}'));
        }
    }
}
