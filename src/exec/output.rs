//! A command's output: split into lines as it streams, kept in a bounded buffer.
//!
//! [`LineSplitter`] turns pipe reads into runs of complete lines (a partial line waits for
//! its end; one longer than [`MAX_CARRY`] is cut so memory stays bounded; a partial line
//! ending in `\r` is a progress update that replaces the previous one for display).
//! [`OutputBuffer`] keeps the first lines (head) and the last bytes (tail) of a step's output
//! and counts what it dropped in between, so 10 GiB of output costs a few MiB at most. It
//! also watches for `expect=`/`expect-no=` regexes on every line as it passes, so a match in
//! the dropped middle still counts.
//!
//! Raw text keeps ANSI colours for display; [`strip_ansi`] is for comparing. To keep more or
//! less, change the caps in [`Limits`].

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::LazyLock;
use std::time::Duration;

use regex::bytes::Regex as BytesRegex;
use serde::Serialize;

/// A partial line longer than this is emitted as a line of its own.
pub const MAX_CARRY: usize = 64 * 1024;
/// Lines are capped at this many bytes for display.
pub const MAX_LINE: usize = 8 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stdout => "stdout",
            Self::Stderr => "stderr",
        }
    }
}

/// Splits a byte stream into runs of complete lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    carry: Vec<u8>,
}

impl LineSplitter {
    /// Feeds `bytes`; `emit(run, false)` gets runs of complete lines (each ending in `\n`),
    /// `emit(text, true)` the latest `\r`-terminated partial line (a progress update).
    pub fn feed(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&[u8], bool)) {
        let Some(last_nl) = memrchr(b'\n', bytes) else {
            self.carry.extend_from_slice(bytes);
            self.check_carry(emit);
            return;
        };
        let (lines, rest) = bytes.split_at(last_nl + 1);
        if self.carry.is_empty() {
            emit(lines, false);
        } else {
            let first_nl = lines
                .iter()
                .position(|&b| b == b'\n')
                .unwrap_or(lines.len() - 1);
            self.carry.extend_from_slice(&lines[..=first_nl]);
            emit(&self.carry, false);
            self.carry.clear();
            if first_nl + 1 < lines.len() {
                emit(&lines[first_nl + 1..], false);
            }
        }
        self.carry.extend_from_slice(rest);
        self.check_carry(emit);
    }

    fn check_carry(&mut self, emit: &mut dyn FnMut(&[u8], bool)) {
        if self.carry.len() > MAX_CARRY {
            self.carry.push(b'\n');
            emit(&self.carry, false);
            self.carry.clear();
        } else if self.carry.last() == Some(&b'\r') {
            let text = &self.carry[..self.carry.len() - 1];
            let start = memrchr(b'\r', text).map_or(0, |p| p + 1);
            emit(&text[start..], true);
        }
    }

    /// The unterminated last line, at end of stream.
    pub fn finish(&mut self, emit: &mut dyn FnMut(&[u8])) {
        if !self.carry.is_empty() {
            self.carry.push(b'\n');
            emit(&self.carry);
            self.carry.clear();
        }
    }
}

fn memrchr(needle: u8, haystack: &[u8]) -> Option<usize> {
    memchr::memrchr(needle, haystack)
}

/// One stored line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub stream: Stream,
    /// Time since the command started.
    pub ts: Duration,
    /// Raw text (ANSI kept), without the newline, capped at [`MAX_LINE`].
    pub text: String,
}

impl Line {
    /// What a terminal would show: the text after the last `\r`.
    pub fn display(&self) -> &str {
        display_text(&self.text)
    }
}

/// The text a terminal would leave visible after `\r` overwrites.
pub fn display_text(text: &str) -> &str {
    let t = text.strip_suffix('\r').unwrap_or(text);
    t.rfind('\r').map_or(t, |p| &t[p + 1..])
}

/// Caps of an [`OutputBuffer`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub head_lines: usize,
    pub head_bytes: usize,
    pub tail_bytes: usize,
    pub tail_lines: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            head_lines: 500,
            head_bytes: 256 * 1024,
            tail_bytes: 1024 * 1024,
            tail_lines: 2000,
        }
    }
}

#[derive(Debug)]
struct Segment {
    stream: Stream,
    ts: Duration,
    bytes: Vec<u8>,
    lines: u64,
}

/// A regex watched on every line that passes.
#[derive(Debug)]
struct Watch {
    re: BytesRegex,
    found: bool,
}

/// Head and tail of a step's output, with what was dropped in between.
#[derive(Debug, Default)]
pub struct OutputBuffer {
    limits: Limits,
    head: Vec<Line>,
    head_bytes: usize,
    tail: VecDeque<Segment>,
    tail_bytes: usize,
    tail_lines: u64,
    pub dropped_lines: u64,
    pub dropped_bytes: u64,
    /// Some stdout line was dropped (a capture of it would be incomplete).
    pub stdout_dropped: bool,
    pub total_bytes: u64,
    watches: Vec<Watch>,
}

impl OutputBuffer {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            ..Self::default()
        }
    }

    /// Watches `re` (line-anchored: `^`/`$` match at line ends) on ANSI-stripped lines;
    /// returns its index for [`Self::found`].
    pub fn watch(&mut self, re: &regex::Regex) -> Option<usize> {
        let re = BytesRegex::new(&format!("(?m){}", re.as_str())).ok()?;
        self.watches.push(Watch { re, found: false });
        Some(self.watches.len() - 1)
    }

    pub fn found(&self, index: usize) -> bool {
        self.watches.get(index).is_some_and(|w| w.found)
    }

    /// Adds a run of complete lines (each ending in `\n`).
    pub fn push(&mut self, stream: Stream, ts: Duration, lines: &[u8]) {
        self.total_bytes += lines.len() as u64;
        if self.watches.iter().any(|w| !w.found) {
            let stripped = strip_ansi_bytes(lines);
            let text = stripped.as_ref();
            for w in self.watches.iter_mut().filter(|w| !w.found) {
                w.found = w.re.is_match(text);
            }
        }
        let mut rest = lines;
        while self.tail.is_empty()
            && self.head.len() < self.limits.head_lines
            && self.head_bytes < self.limits.head_bytes
            && !rest.is_empty()
        {
            let end = rest
                .iter()
                .position(|&b| b == b'\n')
                .map_or(rest.len(), |p| p + 1);
            let (line, more) = rest.split_at(end);
            rest = more;
            self.head_bytes += line.len();
            self.head.push(Line {
                stream,
                ts,
                text: cap_line(line),
            });
        }
        if rest.is_empty() {
            return;
        }
        let mut lines = count_newlines(rest);
        if lines > self.limits.tail_lines || rest.len() > self.limits.tail_bytes {
            // This run alone overflows the tail: everything before its last lines goes,
            // without copying what is dropped.
            let (keep, kept_lines) =
                keep_start(rest, self.limits.tail_bytes, self.limits.tail_lines);
            for seg in self.tail.drain(..) {
                self.dropped_lines += seg.lines;
                self.dropped_bytes += seg.bytes.len() as u64;
                self.stdout_dropped |= seg.stream == Stream::Stdout;
            }
            self.tail_bytes = 0;
            self.tail_lines = 0;
            let dropped = lines - kept_lines;
            self.dropped_lines += dropped;
            self.dropped_bytes += keep as u64;
            self.stdout_dropped |= stream == Stream::Stdout && keep > 0;
            lines -= dropped;
            rest = &rest[keep..];
            if rest.is_empty() {
                return;
            }
        }
        self.tail_bytes += rest.len();
        self.tail_lines += lines;
        self.tail.push_back(Segment {
            stream,
            ts,
            bytes: rest.to_vec(),
            lines,
        });
        self.trim();
    }

    /// Drops whole lines from the front of the tail until it is within both caps.
    fn trim(&mut self) {
        while self.tail_bytes > self.limits.tail_bytes || self.tail_lines > self.limits.tail_lines {
            let excess_bytes = self.tail_bytes.saturating_sub(self.limits.tail_bytes);
            let excess_lines = self.tail_lines.saturating_sub(self.limits.tail_lines);
            let Some(front) = self.tail.front_mut() else {
                break;
            };
            let whole = front.bytes.len() <= excess_bytes || front.lines <= excess_lines;
            let (cut, lines) = if whole {
                (front.bytes.len(), front.lines)
            } else {
                let by_bytes = front.bytes[excess_bytes..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(front.bytes.len(), |p| excess_bytes + p + 1);
                let by_lines = nth_line_end(&front.bytes, excess_lines);
                let cut = by_bytes.max(by_lines);
                (cut, count_newlines(&front.bytes[..cut]))
            };
            self.dropped_lines += lines;
            self.dropped_bytes += cut as u64;
            self.stdout_dropped |= front.stream == Stream::Stdout;
            self.tail_bytes -= cut;
            self.tail_lines -= lines;
            if cut == front.bytes.len() {
                self.tail.pop_front();
            } else {
                front.bytes.drain(..cut);
                front.lines -= lines;
            }
        }
    }

    /// Lines kept at the start.
    pub fn head(&self) -> &[Line] {
        &self.head
    }

    /// Lines kept at the end (after the dropped middle).
    pub fn tail(&self) -> Vec<Line> {
        let mut out = Vec::new();
        for seg in &self.tail {
            for raw in seg.bytes.split_inclusive(|&b| b == b'\n') {
                out.push(Line {
                    stream: seg.stream,
                    ts: seg.ts,
                    text: cap_line(raw),
                });
            }
        }
        out
    }

    /// Every kept line, head then tail.
    pub fn lines(&self) -> Vec<Line> {
        let mut out = self.head.clone();
        out.extend(self.tail());
        out
    }

    /// The kept text of one stream, ANSI stripped, lines as displayed.
    pub fn text(&self, stream: Stream) -> String {
        let mut out = String::new();
        let mut add = |raw: &str| {
            out.push_str(&strip_ansi(display_text(raw)));
            out.push('\n');
        };
        for line in self.head.iter().filter(|l| l.stream == stream) {
            add(&line.text);
        }
        for seg in self.tail.iter().filter(|s| s.stream == stream) {
            for raw in seg.bytes.split_inclusive(|&b| b == b'\n') {
                add(&cap_line(raw));
            }
        }
        out
    }
}

/// Number of `\n` bytes. Blocks of 255 bytes summed in `u8` lanes vectorise well.
fn count_newlines(bytes: &[u8]) -> u64 {
    bytes
        .chunks(255)
        .map(|block| u64::from(block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// The offset just after the `n`th newline (or the end).
fn nth_line_end(bytes: &[u8], n: u64) -> usize {
    if n == 0 {
        return 0;
    }
    let n = usize::try_from(n).unwrap_or(usize::MAX);
    memchr::memchr_iter(b'\n', bytes)
        .nth(n - 1)
        .map_or(bytes.len(), |p| p + 1)
}

/// Where the last lines of `buf` (which ends in `\n`) start, keeping at most `max_bytes`
/// bytes and `max_lines` lines; searches backwards only over what is kept. Returns the offset
/// and the number of lines kept.
fn keep_start(buf: &[u8], max_bytes: usize, max_lines: u64) -> (usize, u64) {
    let len = buf.len();
    let lowest = len.saturating_sub(max_bytes);
    let mut start = len;
    let mut lines = 0;
    // A newline at `p` starts a kept line at `p + 1`; the final newline ends the last line.
    for p in memchr::memrchr_iter(b'\n', &buf[lowest..len.saturating_sub(1)]) {
        if lines == max_lines {
            break;
        }
        start = lowest + p + 1;
        lines += 1;
    }
    if lowest == 0 && lines < max_lines && len > 0 {
        return (0, lines + 1);
    }
    (start, lines)
}

fn cap_line(raw: &[u8]) -> String {
    let raw = raw.strip_suffix(b"\n").unwrap_or(raw);
    if raw.len() <= MAX_LINE {
        return String::from_utf8_lossy(raw).into_owned();
    }
    let head = String::from_utf8_lossy(&raw[..MAX_LINE]);
    format!("{head}… ({} more bytes)", raw.len() - MAX_LINE)
}

static ANSI: LazyLock<Option<regex::Regex>> = LazyLock::new(|| {
    regex::Regex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]")
        .ok()
});
static ANSI_BYTES: LazyLock<Option<BytesRegex>> = LazyLock::new(|| {
    BytesRegex::new(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]").ok()
});

/// `text` without ANSI escape sequences (colours, cursor moves, titles).
pub fn strip_ansi(text: &str) -> Cow<'_, str> {
    match ANSI.as_ref() {
        Some(re) if text.contains('\x1b') => re.replace_all(text, ""),
        _ => Cow::Borrowed(text),
    }
}

fn strip_ansi_bytes(bytes: &[u8]) -> Cow<'_, [u8]> {
    match ANSI_BYTES.as_ref() {
        Some(re) if bytes.contains(&0x1b) => re.replace_all(bytes, &b""[..]),
        _ => Cow::Borrowed(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]]) -> (Vec<String>, Vec<String>) {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        let mut progress = Vec::new();
        for c in chunks {
            s.feed(c, &mut |l, is_progress| {
                let text = String::from_utf8_lossy(l).into_owned();
                if is_progress {
                    progress.push(text);
                } else {
                    lines.push(text);
                }
            });
        }
        s.finish(&mut |l| lines.push(String::from_utf8_lossy(l).into_owned()));
        (lines, progress)
    }

    #[test]
    fn partial_lines_wait() {
        let (lines, _) = split(&[b"ab", b"c\nd", b"e\nf\ng"]);
        assert_eq!(lines, ["abc\n", "de\n", "f\n", "g\n"]);
    }

    #[test]
    fn progress_bars() {
        let (lines, progress) = split(&[b" 10%\r", b" 50%\r", b"100%\n"]);
        assert_eq!(progress, [" 10%", " 50%"]);
        assert_eq!(lines, [" 10%\r 50%\r100%\n"]);
        assert_eq!(display_text(" 10%\r 50%\r100%"), "100%");
    }

    #[test]
    fn endless_line_is_cut() {
        let big = vec![b'x'; MAX_CARRY + 10];
        let (lines, _) = split(&[&big, b"\n"]);
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn bounded_head_and_tail() {
        let mut b = OutputBuffer::new(Limits {
            head_lines: 2,
            head_bytes: 100,
            tail_bytes: 10,
            tail_lines: 100,
        });
        for i in 0..100 {
            b.push(
                Stream::Stdout,
                Duration::ZERO,
                format!("line{i}\n").as_bytes(),
            );
        }
        assert_eq!(b.head().len(), 2);
        let tail = b.tail();
        assert_eq!(tail.last().map(|l| l.text.as_str()), Some("line99"));
        assert!(b.tail_bytes <= 10);
        assert_eq!(b.dropped_lines + 2 + tail.len() as u64, 100);
    }

    #[test]
    #[allow(clippy::naive_bytecount)]
    fn newline_count() {
        let cases: [&[u8]; 5] = [
            b"",
            b"\n",
            b"a\nb\n\n",
            b"y\ny\ny\ny\ny\ny\ny\ny\ny\n",
            b"\x8a\x0a\xff\n12345678\n",
        ];
        for text in cases {
            let naive = text.iter().filter(|&&b| b == b'\n').count() as u64;
            assert_eq!(count_newlines(text), naive, "{text:?}");
        }
        assert_eq!(nth_line_end(b"a\nb\nc", 2), 4);
        assert_eq!(keep_start(b"a\nb\nc\n", 100, 2), (2, 2));
        assert_eq!(keep_start(b"a\nb\n", 100, 5), (0, 2));
        assert_eq!(keep_start(b"aaaa\nb\n", 3, 10), (5, 1));
        assert_eq!(keep_start(b"aaaa\n", 3, 10), (5, 0));
    }

    #[test]
    fn tail_lines_are_capped() {
        let mut b = OutputBuffer::new(Limits {
            head_lines: 1,
            head_bytes: 100,
            tail_bytes: 1 << 20,
            tail_lines: 3,
        });
        b.push(
            Stream::Stdout,
            Duration::ZERO,
            "h\n1\n2\n3\n4\n5\n".as_bytes(),
        );
        assert_eq!(b.text(Stream::Stdout), "h\n3\n4\n5\n");
        assert_eq!(b.dropped_lines, 2);
    }

    #[test]
    fn ansi() {
        assert_eq!(strip_ansi("\x1b[1;31mred\x1b[0m ok"), "red ok");
    }
}
