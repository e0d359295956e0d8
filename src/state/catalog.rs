//! The catalog screen's state: runbooks grouped by area, and search.
//!
//! Search ranks scenarios by a fuzzy match of the query against titles, ids and tags (with the
//! matched characters kept for highlighting), and by plain containment both ways against
//! symptoms and step text, so that a user can paste a whole log line (`... due to Token used
//! before issued]`) and land on the scenario whose symptom it contains. A query of several
//! words also ranks by how many of its words a scenario uses (symptoms, title, id and tags
//! count most, step text less), so a pasted line with words no runbook knows, or worded a little
//! differently from the symptom, still finds its scenario; no word has to match for all.

use std::sync::Arc;

use nucleo_matcher::pattern::{AtomKind, CaseMatching, Normalization, Pattern};
use nucleo_matcher::{Config, Matcher, Utf32Str};

use crate::runbook::Runbook;

/// One scenario in the catalog.
#[derive(Debug, Clone)]
pub struct Entry {
    pub runbook: usize,
    pub scenario: usize,
    pub runbook_id: String,
    pub id: String,
    pub title: String,
    pub area: String,
    pub tags: Vec<String>,
    pub symptoms: Vec<String>,
    /// Lowercased step and summary text, for search.
    text: String,
    /// The words of the symptoms, title, id and tags (lowercased), for ranking by words.
    keywords: std::collections::BTreeSet<String>,
}

/// A line of the catalog list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Row {
    Area(String),
    /// An entry, with the character positions of its title that matched the query.
    Entry {
        entry: usize,
        matched: Vec<u32>,
        why: Option<String>,
    },
}

#[derive(Debug)]
pub struct CatalogView {
    pub runbooks: Vec<Arc<Runbook>>,
    pub entries: Vec<Entry>,
    pub query: String,
    pub searching: bool,
    pub rows: Vec<Row>,
    /// Index into `rows`; always an entry row when there is one.
    pub selected: usize,
}

impl CatalogView {
    pub fn new(runbooks: Vec<Arc<Runbook>>) -> Self {
        let mut entries = Vec::new();
        for (ri, r) in runbooks.iter().enumerate() {
            let area = r
                .front_matter()
                .extra
                .get("area")
                .and_then(|v| v.as_str())
                .map_or_else(|| folder_of(r), str::to_owned);
            for (si, s) in r.scenarios.iter().enumerate() {
                let mut text = s.summary.to_lowercase();
                for p in &s.procedures {
                    for step in &p.steps {
                        text.push('\n');
                        text.push_str(&step.text.to_lowercase());
                    }
                }
                let keywords = r
                    .front_matter()
                    .symptoms
                    .iter()
                    .chain(&r.front_matter().tags)
                    .chain([&s.title, &s.id])
                    .flat_map(|t| words(t))
                    .collect();
                entries.push(Entry {
                    keywords,
                    runbook: ri,
                    scenario: si,
                    runbook_id: r.id.clone(),
                    id: s.id.clone(),
                    title: s.title.clone(),
                    area: area.clone(),
                    tags: r.front_matter().tags.clone(),
                    symptoms: r.front_matter().symptoms.clone(),
                    text,
                });
            }
        }
        entries.sort_by(|a, b| {
            (area_rank(&a.area), &a.area, &a.title).cmp(&(area_rank(&b.area), &b.area, &b.title))
        });
        let mut view = Self {
            runbooks,
            entries,
            query: String::new(),
            searching: false,
            rows: Vec::new(),
            selected: 0,
        };
        view.refresh();
        view
    }

    /// Rebuilds the rows for the current query.
    pub fn refresh(&mut self) {
        self.rows = if self.query.trim().is_empty() {
            self.grouped()
        } else {
            self.ranked()
        };
        self.selected = self
            .rows
            .iter()
            .position(|r| matches!(r, Row::Entry { .. }))
            .unwrap_or(0);
    }

    fn grouped(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        let mut area: Option<&str> = None;
        for (i, e) in self.entries.iter().enumerate() {
            if area != Some(e.area.as_str()) {
                rows.push(Row::Area(e.area.clone()));
                area = Some(&e.area);
            }
            rows.push(Row::Entry {
                entry: i,
                matched: Vec::new(),
                why: None,
            });
        }
        rows
    }

    fn ranked(&self) -> Vec<Row> {
        let query = self.query.trim();
        let lower = query.to_lowercase();
        let mut matcher = Matcher::new(Config::DEFAULT);
        let pattern = Pattern::new(
            query,
            CaseMatching::Ignore,
            Normalization::Smart,
            AtomKind::Fuzzy,
        );
        let query_words: Vec<String> = {
            let mut w: Vec<String> = words(&lower).collect();
            w.sort_unstable();
            w.dedup();
            w
        };
        let mut buf = Vec::new();
        let mut scored: Vec<(u32, usize, Vec<u32>, Option<String>)> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let mut best = 0u32;
            let mut why = None;
            let mut title_hits = Vec::new();
            // A symptom inside the pasted text, or the text inside a symptom: the best signal.
            for symptom in &e.symptoms {
                let s = symptom.to_lowercase();
                if s.len() >= 4 && (lower.contains(&s) || s.contains(&lower)) {
                    let score = 10_000 + u32::try_from(s.len().min(lower.len())).unwrap_or(0);
                    if score > best {
                        best = score;
                        why = Some(format!("symptom: {symptom}"));
                    }
                }
            }
            let mut indices = Vec::new();
            if let Some(score) = pattern.indices(
                Utf32Str::new(&e.title, &mut buf),
                &mut matcher,
                &mut indices,
            ) && score + 1_000 > best
            {
                best = score + 1_000;
                why = None;
                indices.sort_unstable();
                indices.dedup();
                title_hits = indices;
            }
            for field in std::iter::once(&e.id).chain(e.tags.iter()) {
                if let Some(score) = pattern.score(Utf32Str::new(field, &mut buf), &mut matcher)
                    && score + 500 > best
                {
                    best = score + 500;
                    why = Some(format!("id or tag: {field}"));
                }
            }
            // Words in common: each word of a symptom, title, id or tag counts most.
            if query_words.len() >= 2 {
                let strong = query_words
                    .iter()
                    .filter(|w| e.keywords.contains(*w))
                    .count();
                let weak = query_words
                    .iter()
                    .filter(|w| !e.keywords.contains(*w) && e.text.contains(w.as_str()))
                    .count();
                let score = u32::try_from(400 * strong + 40 * weak).unwrap_or(u32::MAX);
                if strong > 0 && 1_000 + score > best {
                    best = 1_000 + score;
                    why = Some(format!("{} of {} words", strong + weak, query_words.len()));
                }
            }
            if best == 0 && lower.len() >= 3 && e.text.contains(&lower) {
                best = 100;
                why = Some("step text".to_owned());
            }
            if best > 0 {
                scored.push((best, i, title_hits, why));
            }
        }
        scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        scored
            .into_iter()
            .map(|(_, entry, matched, why)| Row::Entry {
                entry,
                matched,
                why,
            })
            .collect()
    }

    pub fn move_by(&mut self, delta: i32) {
        let entries: Vec<usize> = self
            .rows
            .iter()
            .enumerate()
            .filter(|(_, r)| matches!(r, Row::Entry { .. }))
            .map(|(i, _)| i)
            .collect();
        if entries.is_empty() {
            return;
        }
        let at = entries
            .iter()
            .position(|&i| i == self.selected)
            .unwrap_or(0);
        let len = i64::try_from(entries.len()).unwrap_or(i64::MAX);
        let next = (i64::try_from(at).unwrap_or(0) + i64::from(delta)).clamp(0, len - 1);
        self.selected = entries[usize::try_from(next).unwrap_or(0)];
    }

    pub fn selected_entry(&self) -> Option<usize> {
        match self.rows.get(self.selected) {
            Some(Row::Entry { entry, .. }) => Some(*entry),
            _ => None,
        }
    }
}

/// Words worth matching: lowercased runs of letters and digits, three or more long, without the
/// small words every sentence has.
fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    const COMMON: &[&str] = &[
        "the", "and", "for", "with", "while", "from", "this", "that", "was", "are", "not", "has",
        "have", "into", "due", "its", "but", "you", "your", "can", "all", "any", "out", "will",
        "been", "were", "when", "then", "than", "via",
    ];
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() >= 3)
        .map(str::to_lowercase)
        .filter(|w| !COMMON.contains(&w.as_str()))
}

fn folder_of(r: &Runbook) -> String {
    // A fetched runbook's folder is a cache key; its host says more.
    if let Some(fetched) = &r.fetched {
        return fetched.host().to_owned();
    }
    let path = r.path.to_string_lossy();
    let path = path.trim_start_matches(crate::runbook::BUNDLED_PREFIX);
    match path.rsplit_once('/') {
        Some((dir, _)) => dir.rsplit('/').next().unwrap_or(dir).to_owned(),
        None => "Runbooks".to_owned(),
    }
}

/// Bundled areas first in a fixed order, then the user's folders.
fn area_rank(area: &str) -> u8 {
    match area {
        "Enterprise Install" => 0,
        "Private Cloud Gateway" => 1,
        "Packs" => 2,
        "VMware" => 3,
        _ => 4,
    }
}
