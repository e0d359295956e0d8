//! Finding the places in a command where the user must put a value.
//!
//! Documentation writes them in several ways; all are recognised and given a normalised name so
//! that the same value is asked once however it is spelled:
//! `<namespace>`, `<PATH_TO_KUBECONFIG>`, `[path_to_kubeconfig]`, `REPLACE_ME` / `"REPLACE ME"`,
//! `**********` (a secret stand-in) and `/path/to/...`.
//!
//! To recognise one more spelling, add a pattern to [`PATTERNS`] and a case to the tests.

use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

use regex::Regex;

/// One placeholder occurrence in a piece of text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placeholder {
    /// Normalised name: lowercase, words joined by `-` (`path-to-kubeconfig`).
    pub name: String,
    /// Byte range of the placeholder in the text, delimiters included.
    pub start: usize,
    pub end: usize,
    /// The value must be masked wherever it is shown.
    pub secret: bool,
}

impl Placeholder {
    pub fn raw<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }
}

#[derive(Clone, Copy)]
enum Form {
    Angle,
    Bracket,
    ReplaceMe,
    Stars,
    PathTo,
}

static PATTERNS: LazyLock<Vec<(Form, Regex)>> = LazyLock::new(|| {
    let table = [
        // `<name>`: no space right inside the brackets, so `a < b > c` and heredocs are not one.
        (
            Form::Angle,
            r"<([A-Za-z][A-Za-z0-9_.@\-]*(?:/[A-Za-z0-9_.@\-]+)*)>",
        ),
        // `[path_to_kubeconfig]`: words joined by `_` or `-`, so `[*]` and `[a-z]` are not one.
        (
            Form::Bracket,
            r"\[([A-Za-z][A-Za-z0-9]+(?:[_-][A-Za-z0-9]+)+)\]",
        ),
        (Form::ReplaceMe, r"REPLACE[_ ]ME"),
        (Form::Stars, r"\*{4,}"),
        (Form::PathTo, r"/path/to/[A-Za-z0-9_.\-/]*[A-Za-z0-9_\-]"),
    ];
    table
        .into_iter()
        .filter_map(|(form, re)| Regex::new(re).ok().map(|re| (form, re)))
        .collect()
});

/// `NAME=` or `"name": ` right before a position: the name a value stand-in is given.
static ASSIGNED: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?:([A-Za-z_][A-Za-z0-9_]*)=["']?|"([A-Za-z_][A-Za-z0-9_]*)"\s*:\s*"?)$"#).ok()
});

/// Every placeholder in `text`, in order of position, never overlapping (an earlier pattern
/// of [`PATTERNS`] wins over a later one). `O(n log n)` in the number of matches.
pub fn find(text: &str) -> Vec<Placeholder> {
    let mut found: Vec<Placeholder> = Vec::new();
    // Spans taken so far, start -> end; they never overlap, so the one starting last before a
    // match's end is the only one that can overlap it.
    let mut taken: BTreeMap<usize, usize> = BTreeMap::new();
    for (form, re) in PATTERNS.iter() {
        for m in re.find_iter(text) {
            if taken
                .range(..m.end())
                .next_back()
                .is_some_and(|(_, &end)| end > m.start())
            {
                continue;
            }
            taken.insert(m.start(), m.end());
            let name = match form {
                Form::Angle | Form::Bracket => normalise(&m.as_str()[1..m.as_str().len() - 1]),
                Form::ReplaceMe | Form::Stars => assigned_name(before(text, m.start()))
                    .unwrap_or_else(|| match form {
                        Form::Stars => "secret".to_owned(),
                        _ => "value".to_owned(),
                    }),
                Form::PathTo => normalise(m.as_str().trim_start_matches('/')),
            };
            let secret = matches!(form, Form::Stars) || looks_secret(&name);
            found.push(Placeholder {
                name,
                start: m.start(),
                end: m.end(),
                secret,
            });
        }
    }
    found.sort_by_key(|p| p.start);
    found
}

/// The distinct placeholder names of `text`, in order of first use.
pub fn names(text: &str) -> Vec<String> {
    let mut seen: HashSet<String> = HashSet::new();
    let mut names: Vec<String> = Vec::new();
    for p in find(text) {
        if seen.insert(p.name.clone()) {
            names.push(p.name);
        }
    }
    names
}

/// `text` with every placeholder replaced by what `with` makes of it.
pub fn replace(text: &str, mut with: impl FnMut(&Placeholder, &str) -> String) -> String {
    let found = find(text);
    if found.is_empty() {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    for p in &found {
        out.push_str(&text[last..p.start]);
        out.push_str(&with(p, p.raw(text)));
        last = p.end;
    }
    out.push_str(&text[last..]);
    out
}

/// Lowercase, with runs of `_`, `-`, `.`, `/`, `@` and spaces turned into one `-`.
pub fn normalise(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    while out.ends_with('-') {
        out.pop();
    }
    out
}

/// Does a variable or placeholder with this name hold a secret?
pub fn looks_secret(name: &str) -> bool {
    let words: Vec<String> = normalise(name).split('-').map(str::to_owned).collect();
    words.iter().enumerate().any(|(i, w)| match w.as_str() {
        "token" | "password" | "passwd" | "secret" | "apikey" | "credential" | "credentials"
        | "passphrase" => true,
        // `<key-name>` and `key-file` name a file, not its content.
        "key" => !matches!(
            words.get(i + 1).map(String::as_str),
            Some("name" | "file" | "path" | "id")
        ),
        _ => false,
    })
}

/// At most the 256 bytes of `text` before `at`: enough for any `NAME=` or `"name": `, and a
/// bounded cost per placeholder however long the text is.
fn before(text: &str, at: usize) -> &str {
    let mut start = at.saturating_sub(256);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..at]
}

fn assigned_name(before: &str) -> Option<String> {
    let re = ASSIGNED.as_ref()?;
    let caps = re.captures(before)?;
    let name = caps.get(1).or_else(|| caps.get(2))?.as_str();
    Some(normalise(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(text: &str) -> Vec<(String, bool)> {
        find(text).into_iter().map(|p| (p.name, p.secret)).collect()
    }

    #[test]
    fn finds_every_documented_spelling() {
        assert_eq!(
            named("kubectl delete pod <mgmt-pod-name> --namespace hubble-system"),
            [("mgmt-pod-name".to_owned(), false)]
        );
        assert_eq!(
            named("./csi-helper --kubeconfig=<PATH_TO_KUBECONFIG>"),
            [("path-to-kubeconfig".to_owned(), false)]
        );
        assert_eq!(
            named("kubectl --kubeconfig [path_to_kubeconfig] get pods"),
            [("path-to-kubeconfig".to_owned(), false)]
        );
        assert_eq!(
            named(r#"export BASE_URL="REPLACE ME""#),
            [("base-url".to_owned(), false)]
        );
        assert_eq!(
            named("export TOKEN=**********"),
            [("token".to_owned(), true)]
        );
        assert_eq!(
            named(r#"  "password": "**********","#),
            [("password".to_owned(), true)]
        );
        assert_eq!(
            named("cp x /path/to/kubeconfig.yaml"),
            [("path-to-kubeconfig-yaml".to_owned(), false)]
        );
        assert_eq!(named("ssh -i <key-name> <spectro@hostname>").len(), 2);
    }

    #[test]
    fn leaves_shell_syntax_alone() {
        for text in [
            "cat > pcg-debug.sh << 'EOF'",
            "sort < input.txt > output.txt",
            "kubectl get nodes -o jsonpath='{range .items[*]}{.status.addresses[?(@.type==\"InternalIP\")].address}{end}'",
            "grep '[a-z]' file",
            "if [ -f x ]; then echo; fi",
            "echo $((1<2))",
        ] {
            assert!(find(text).is_empty(), "{text}: {:?}", find(text));
        }
    }

    #[test]
    fn secret_names() {
        assert!(looks_secret("TOKEN"));
        assert!(looks_secret("api-key"));
        assert!(looks_secret("DB_PASSWORD"));
        assert!(!looks_secret("key-name"));
        assert!(!looks_secret("namespace"));
    }
}
