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
    let mut out = Vec::new();
    let mut pending_heredocs: Vec<(String, bool, usize, usize)> = Vec::new();
    let mut quote: Option<char> = None;
    let mut command_word: Option<String> = None;
    let mut word = String::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let chars: Vec<char> = line.chars().collect();
        let mut c = 0;
        while c < chars.len() {
            let ch = chars[c];
            match quote {
                Some('\'') => {
                    if ch == '\'' {
                        quote = None;
                    } else if ch == '$'
                        && chars
                            .get(c + 1)
                            .is_some_and(|n| n.is_ascii_alphabetic() || *n == '_' || *n == '{')
                        && !command_word
                            .as_deref()
                            .is_some_and(|w| OWN_DOLLAR.contains(&w))
                    {
                        let var: String = chars[c + 1..]
                            .iter()
                            .take_while(|n| {
                                n.is_ascii_alphanumeric() || matches!(n, '_' | '{' | '}')
                            })
                            .collect();
                        out.push(Pitfall::SingleQuotedVar {
                            line: i + 1,
                            col: c + 1,
                            var,
                        });
                    }
                }
                Some('"') => match ch {
                    '\\' => c += 1,
                    '"' => quote = None,
                    _ => {}
                },
                _ => match ch {
                    '\\' => c += 1,
                    '\'' | '"' => {
                        quote = Some(ch);
                        word.push('q');
                    }
                    '#' if word.is_empty() => break,
                    '<' if chars.get(c + 1) == Some(&'<') && chars.get(c + 2) != Some(&'<') => {
                        let dash = chars.get(c + 2) == Some(&'-');
                        let start = c + 2 + usize::from(dash);
                        let rest: String = chars[start..].iter().collect();
                        let rest = rest.trim_start();
                        let term: String = rest
                            .chars()
                            .take_while(|ch| {
                                !ch.is_whitespace() && !matches!(ch, ';' | '|' | '&' | '>' | ')')
                            })
                            .filter(|ch| !matches!(ch, '\'' | '"' | '\\'))
                            .collect();
                        if !term.is_empty() {
                            pending_heredocs.push((term, dash, i + 1, c + 1));
                        }
                        let skip = chars[start..]
                            .iter()
                            .take_while(|ch| ch.is_whitespace())
                            .count()
                            + rest.chars().take_while(|ch| !ch.is_whitespace()).count();
                        c = start + skip;
                        word.clear();
                        continue;
                    }
                    ' ' | '\t' => end_word(&mut word, &mut command_word),
                    '|' | ';' | '&' | '(' | ')' | '`' => {
                        word.clear();
                        command_word = None;
                    }
                    '=' if command_word.is_none() => word.clear(),
                    _ => word.push(ch),
                },
            }
            c += 1;
        }
        if quote.is_none() {
            if line.trim_end().ends_with('\\') {
                end_word(&mut word, &mut command_word);
            } else {
                end_word(&mut word, &mut command_word);
                command_word = None;
            }
        }
        i += 1;
        // Heredoc bodies start on the next line; skip them.
        for (term, dash, at_line, at_col) in std::mem::take(&mut pending_heredocs) {
            let mut found = false;
            let mut indented_at = None;
            while i < lines.len() {
                let body = lines[i];
                let candidate = if dash {
                    body.trim_start_matches('\t')
                } else {
                    body
                };
                i += 1;
                if candidate == term {
                    found = true;
                    break;
                }
                if indented_at.is_none() && body.trim() == term {
                    indented_at = Some(i);
                }
            }
            if !found {
                out.push(Pitfall::HeredocTerminator {
                    line: at_line,
                    col: at_col,
                    word: term,
                    indented_at,
                });
            }
        }
    }
    out
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
