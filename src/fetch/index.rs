//! Index files: one URL per line, a set of runbooks published together.
//!
//! The rule for "is this an index" (documented in runbooks/README.md):
//! 1. a URL whose path ends in `.md`, `.mdx` or `.markdown` is always a runbook;
//! 2. otherwise the body is an index when it is UTF-8, has at least one entry, and every
//!    non-blank line is either a comment (`#` first) or an entry: a single word that is an
//!    absolute `http(s)://` URL or a relative reference ending in `.md`/`.mdx`/`.markdown`
//!    (resolved against the index's URL);
//! 3. anything else is a runbook.
//!
//! The content type is not used: raw file hosts serve Markdown as `text/plain` too, so it
//! cannot tell a runbook from a list. A real runbook has prose (lines with spaces), so it never
//! passes rule 2.

use reqwest::Url;

const MARKDOWN: &[&str] = &[".md", ".mdx", ".markdown"];

fn is_markdown_name(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    MARKDOWN.iter().any(|ext| lower.ends_with(ext))
}

/// The entries of `body` when it is an index fetched from `base`, else `None`.
pub fn parse(base: &Url, body: &[u8]) -> Option<Vec<Url>> {
    if is_markdown_name(base.path()) {
        return None;
    }
    let text = std::str::from_utf8(body).ok()?;
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.contains(char::is_whitespace) {
            return None;
        }
        let url = match Url::parse(line) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => url,
            Err(_) if is_markdown_name(line.split(['?', '#']).next().unwrap_or(line)) => {
                base.join(line).ok()?
            }
            Ok(_) | Err(_) => return None,
        };
        if !entries.contains(&url) {
            entries.push(url);
        }
    }
    (!entries.is_empty()).then_some(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn a_list_of_urls_with_comments_is_an_index_and_relative_entries_resolve() {
        let base = url("https://example.com/rb/index.txt");
        let body = b"# our runbooks\n\ncalico.md\n  net/dns.mdx  \nhttps://other.example/x.md\n../up.md\ncalico.md\n";
        let entries = parse(&base, body).unwrap_or_else(|| panic!("not an index"));
        let got: Vec<&str> = entries.iter().map(Url::as_str).collect();
        assert_eq!(
            got,
            [
                "https://example.com/rb/calico.md",
                "https://example.com/rb/net/dns.mdx",
                "https://other.example/x.md",
                "https://example.com/up.md",
            ]
        );
    }

    #[test]
    fn markdown_names_prose_and_empty_lists_are_runbooks() {
        let base = url("https://example.com/rb/index.md");
        assert!(parse(&base, b"https://example.com/a.md\n").is_none());
        let base = url("https://example.com/rb/list");
        assert!(parse(&base, b"# Title\n\nSome prose here.\n").is_none());
        assert!(parse(&base, b"# only comments\n\n").is_none());
        assert!(
            parse(&base, b"hello\n").is_none(),
            "a bare word is no entry"
        );
        assert!(parse(&base, b"ftp://example.com/a.md\n").is_none());
        assert!(parse(&base, b"\xff\xfe").is_none());
        assert!(parse(&base, b"a.md\n").is_some());
    }
}
