//! Shell pitfalls found by reading a command as bash would tokenise it: `$VAR` inside single
//! quotes (never expands) and heredocs whose terminator can never match.
//!
//! This is a scanner, not a parser: it tracks quoting, comments and heredoc bodies, which is all
//! these checks need. Positions are 1-based (line, column) within the block's code.

/// Tools whose single-quoted programs use `$` for their own variables.
const OWN_DOLLAR: &[&str] = &[
    "awk", "gawk", "mawk", "jq", "yq", "perl", "sed", "ruby", "python", "python3",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pitfall {
    /// `'$BASE_URL/v1'`: the variable is passed literally.
    SingleQuotedVar {
        line: usize,
        col: usize,
        var: String,
    },
    /// The heredoc's terminator only appears indented (or not at all).
    HeredocTerminator {
        line: usize,
        col: usize,
        word: String,
        indented_at: Option<usize>,
    },
}

pub fn pitfalls(code: &str) -> Vec<Pitfall> {
    let lines: Vec<&str> = code.lines().collect();
    let mut scan = Scanner::default();
    let mut i = 0;
    while i < lines.len() {
        scan.line(i, lines[i]);
        i += 1;
        // Heredoc bodies start on the next line; skip them.
        for heredoc in std::mem::take(&mut scan.pending_heredocs) {
            scan.skip_heredoc(heredoc, &lines, &mut i);
        }
    }
    scan.out
}

/// A heredoc whose body starts on the next line.
struct Heredoc {
    term: String,
    /// `<<-`: tabs before the terminator are allowed.
    dash: bool,
    line: usize,
    col: usize,
}

/// The scanner's state between characters and lines.
#[derive(Default)]
struct Scanner {
    out: Vec<Pitfall>,
    pending_heredocs: Vec<Heredoc>,
    quote: Option<char>,
    command_word: Option<String>,
    word: String,
}

impl Scanner {
    /// Scans one line (index `i`) outside heredoc bodies.
    fn line(&mut self, i: usize, line: &str) {
        let chars: Vec<char> = line.chars().collect();
        let mut c = 0;
        while c < chars.len() {
            let ch = chars[c];
            match self.quote {
                Some('\'') => {
                    if ch == '\'' {
                        self.quote = None;
                    } else if ch == '$' {
                        self.dollar_in_single_quotes(&chars, i, c);
                    }
                }
                Some('"') => match ch {
                    '\\' => c += 1,
                    '"' => self.quote = None,
                    _ => {}
                },
                _ => match ch {
                    '\\' => c += 1,
                    '\'' | '"' => {
                        self.quote = Some(ch);
                        self.word.push('q');
                    }
                    '#' if self.word.is_empty() => break,
                    '<' if chars.get(c + 1) == Some(&'<') && chars.get(c + 2) != Some(&'<') => {
                        c = self.heredoc_start(&chars, i, c);
                        continue;
                    }
                    ' ' | '\t' => end_word(&mut self.word, &mut self.command_word),
                    '|' | ';' | '&' | '(' | ')' | '`' => {
                        self.word.clear();
                        self.command_word = None;
                    }
                    '=' if self.command_word.is_none() => self.word.clear(),
                    _ => self.word.push(ch),
                },
            }
            c += 1;
        }
        if self.quote.is_none() {
            end_word(&mut self.word, &mut self.command_word);
            if !line.trim_end().ends_with('\\') {
                self.command_word = None;
            }
        }
    }

    /// A `$` at `c` inside single quotes: a pitfall when a variable name follows and the
    /// command is not a tool that uses `$` itself.
    fn dollar_in_single_quotes(&mut self, chars: &[char], i: usize, c: usize) {
        let names_var = chars
            .get(c + 1)
            .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_' || *n == '{');
        let own_dollar = self
            .command_word
            .as_deref()
            .is_some_and(|w| OWN_DOLLAR.contains(&w));
        if names_var && !own_dollar {
            let var: String = chars[c + 1..]
                .iter()
                .take_while(|n| n.is_ascii_alphanumeric() || matches!(n, '_' | '{' | '}'))
                .collect();
            self.out.push(Pitfall::SingleQuotedVar {
                line: i + 1,
                col: c + 1,
                var,
            });
        }
    }

    /// `<<WORD` (or `<<-WORD`) at `c`: notes the heredoc; returns where scanning goes on.
    fn heredoc_start(&mut self, chars: &[char], i: usize, c: usize) -> usize {
        let dash = chars.get(c + 2) == Some(&'-');
        let start = c + 2 + usize::from(dash);
        let rest: String = chars[start..].iter().collect();
        let rest = rest.trim_start();
        let term: String = rest
            .chars()
            .take_while(|ch| !ch.is_whitespace() && !matches!(ch, ';' | '|' | '&' | '>' | ')'))
            .filter(|ch| !matches!(ch, '\'' | '"' | '\\'))
            .collect();
        if !term.is_empty() {
            self.pending_heredocs.push(Heredoc {
                term,
                dash,
                line: i + 1,
                col: c + 1,
            });
        }
        let skip = chars[start..]
            .iter()
            .take_while(|ch| ch.is_whitespace())
            .count()
            + rest.chars().take_while(|ch| !ch.is_whitespace()).count();
        self.word.clear();
        start + skip
    }

    /// Skips a heredoc's body from line `*i` to its terminator; a pitfall when there is none.
    fn skip_heredoc(&mut self, heredoc: Heredoc, lines: &[&str], i: &mut usize) {
        let mut indented_at = None;
        while *i < lines.len() {
            let body = lines[*i];
            let candidate = if heredoc.dash {
                body.trim_start_matches('\t')
            } else {
                body
            };
            *i += 1;
            if candidate == heredoc.term {
                return;
            }
            if indented_at.is_none() && body.trim() == heredoc.term {
                indented_at = Some(*i);
            }
        }
        self.out.push(Pitfall::HeredocTerminator {
            line: heredoc.line,
            col: heredoc.col,
            word: heredoc.term,
            indented_at,
        });
    }
}

fn end_word(word: &mut String, command_word: &mut Option<String>) {
    if word.is_empty() {
        return;
    }
    if command_word.is_none()
        && !matches!(
            word.as_str(),
            "sudo" | "env" | "time" | "exec" | "command" | "nohup"
        )
    {
        let base = word.rsplit('/').next().unwrap_or(word).to_owned();
        *command_word = Some(base);
    }
    word.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_quoted_variables() {
        let got = pitfalls(
            "curl --location '$BASE_URL/v1/auth/syslogin' \\\n--header 'Authorization: $TOKEN'",
        );
        assert_eq!(
            got,
            [
                Pitfall::SingleQuotedVar {
                    line: 1,
                    col: 18,
                    var: "BASE_URL".into()
                },
                Pitfall::SingleQuotedVar {
                    line: 2,
                    col: 26,
                    var: "TOKEN".into()
                },
            ]
        );
        assert!(pitfalls("curl \"$BASE_URL/v1\"").is_empty());
        assert!(pitfalls("awk '{print $NF}' f").is_empty());
        assert!(pitfalls("kubectl get pods | awk '{print $1}'").is_empty());
        assert!(pitfalls("echo '$5 costs'").is_empty());
        assert!(pitfalls("# echo '$X'").is_empty());
    }

    #[test]
    fn heredocs() {
        assert!(pitfalls("cat > a.sh << 'EOF'\necho $X\nEOF\necho done").is_empty());
        assert!(pitfalls("cat <<-EOF\n\tx\n\tEOF").is_empty());
        assert_eq!(
            pitfalls("cat > a.sh << 'EOF'\n  echo\n  EOF"),
            [Pitfall::HeredocTerminator {
                line: 1,
                col: 12,
                word: "EOF".into(),
                indented_at: Some(3)
            }]
        );
        assert_eq!(
            pitfalls("cat <<EOF\nx"),
            [Pitfall::HeredocTerminator {
                line: 1,
                col: 5,
                word: "EOF".into(),
                indented_at: None
            }]
        );
        // A heredoc body's quotes do not open strings.
        assert!(pitfalls("cat <<'EOF'\nit's '$X'\nEOF\necho \"$Y\"").is_empty());
    }
}
