//! The shape of the code, checked on its source: no import cycle between sibling modules at
//! any level (`action`↔`state`, `exec::nodes`↔`exec::runner`, `lab::store`↔`lab::reaction`
//! were such cycles once), and the layers the architecture promises: the runbook model
//! imports nothing else of ours, and the headless parts never import the screen.
//!
//! A module's references are every `crate::a::b` path in its file (uses and inline paths)
//! and every `super::x`; each is resolved to the deepest module that exists. A reference from
//! `a::b::c` to `a::d::e` is an edge `a::b` → `a::d` between the siblings under `a`.
//! Run alone: `cargo test --test local layers`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

type Module = Vec<String>;

/// Every module of the library with its file's text.
fn modules() -> BTreeMap<Module, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap_or(&path).with_extension("");
            let mut parts: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            if parts == ["lib"] || parts == ["main"] {
                parts.clear();
            }
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
            out.insert(parts, text);
        }
    }
    out
}

/// The module paths `text` (the file of `me`) names, before resolution.
fn references(me: &Module, text: &str) -> BTreeSet<Module> {
    let code: String = text
        .lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n");
    let split = |p: &str| -> Module { p.split("::").map(str::to_owned).collect() };
    let mut out = BTreeSet::new();
    let path = regex::Regex::new(r"\bcrate::((?:\w+::)*\w+)").unwrap_or_else(|e| panic!("{e}"));
    for c in path.captures_iter(&code) {
        out.insert(split(&c[1]));
    }
    let group = regex::Regex::new(r"(?s)use crate::\{(.*?)\};").unwrap_or_else(|e| panic!("{e}"));
    let item = regex::Regex::new(r"(\w+(?:::\w+)*)").unwrap_or_else(|e| panic!("{e}"));
    for c in group.captures_iter(&code) {
        // `use crate::{a::{x, y}, b}`: the first path of each item is enough to find its module.
        for i in item.captures_iter(&c[1]) {
            out.insert(split(&i[1]));
        }
    }
    let sup = regex::Regex::new(r"\bsuper::((?:\w+::)*\w+)").unwrap_or_else(|e| panic!("{e}"));
    for c in sup.captures_iter(&code) {
        let mut m: Module = me[..me.len().saturating_sub(1)].to_vec();
        m.extend(split(&c[1]));
        out.insert(m);
    }
    out
}

/// Edges between sibling modules (`a::b` → `a::d`), each with one file that makes it.
fn edges(modules: &BTreeMap<Module, String>) -> BTreeMap<(Module, Module), Module> {
    let mut out = BTreeMap::new();
    for (me, text) in modules {
        for r in references(me, text) {
            let Some(target) = (1..=r.len())
                .rev()
                .map(|k| r[..k].to_vec())
                .find(|m| modules.contains_key(m))
            else {
                continue;
            };
            let common = me.iter().zip(&target).take_while(|(a, b)| a == b).count();
            if common == me.len() || common == target.len() {
                continue; // an ancestor or a descendant
            }
            out.entry((me[..=common].to_vec(), target[..=common].to_vec()))
                .or_insert_with(|| me.clone());
        }
    }
    out
}

/// Strongly connected groups of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<(Module, Module), Module>) -> Vec<Vec<Module>> {
    struct Walk<'a> {
        next: BTreeMap<&'a Module, Vec<&'a Module>>,
        index: BTreeMap<&'a Module, usize>,
        low: BTreeMap<&'a Module, usize>,
        stack: Vec<&'a Module>,
        found: Vec<Vec<Module>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Module) {
            let i = self.index.len();
            self.index.insert(v, i);
            self.low.insert(v, i);
            self.stack.push(v);
            for w in self.next.get(v).cloned().unwrap_or_default() {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let lw = self.low[w];
                    let lv = self.low.get_mut(v).unwrap_or_else(|| panic!("visited"));
                    *lv = (*lv).min(lw);
                } else if self.stack.contains(&w) {
                    let iw = self.index[w];
                    let lv = self.low.get_mut(v).unwrap_or_else(|| panic!("visited"));
                    *lv = (*lv).min(iw);
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    group.push(w.clone());
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        next: BTreeMap::new(),
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for (a, b) in edges.keys() {
        walk.next.entry(a).or_default().push(b);
    }
    let starts: Vec<&Module> = walk.next.keys().copied().collect();
    for v in starts {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_import_cycle_between_sibling_modules() {
    let modules = modules();
    assert!(modules.len() > 50, "found only {} modules", modules.len());
    let edges = edges(&modules);
    let found = cycles(&edges);
    let report: Vec<String> = found
        .iter()
        .map(|group| {
            let mut lines = vec![
                group
                    .iter()
                    .map(|m| m.join("::"))
                    .collect::<Vec<_>>()
                    .join(" <-> "),
            ];
            for ((a, b), file) in &edges {
                if group.contains(a) && group.contains(b) {
                    lines.push(format!(
                        "    {} -> {} (in {})",
                        a.join("::"),
                        b.join("::"),
                        file.join("::")
                    ));
                }
            }
            lines.join("\n")
        })
        .collect();
    assert!(report.is_empty(), "import cycles:\n{}", report.join("\n"));
}

#[test]
fn the_checker_sees_a_cycle_when_there_is_one() {
    let mut modules = BTreeMap::new();
    modules.insert(vec!["a".to_owned()], "use crate::b::X;".to_owned());
    modules.insert(vec!["b".to_owned()], "fn f() { crate::a::g(); }".to_owned());
    modules.insert(
        vec!["c".to_owned(), "d".to_owned()],
        "use super::e::Y;".to_owned(),
    );
    modules.insert(
        vec!["c".to_owned(), "e".to_owned()],
        "use crate::{c::d::Z, a};".to_owned(),
    );
    modules.insert(vec!["c".to_owned()], "mod d; mod e;".to_owned());
    let found = cycles(&edges(&modules));
    let names: Vec<Vec<String>> = found
        .iter()
        .map(|g| g.iter().map(|m| m.join("::")).collect())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&vec!["a".to_owned(), "b".to_owned()]));
    assert!(names.contains(&vec!["c::d".to_owned(), "c::e".to_owned()]));
}

#[test]
fn the_layers_hold() {
    let modules = modules();
    let edges = edges(&modules);
    let headless = [
        "exec", "cluster", "session", "lab", "runbook", "palette", "fetch", "drive",
    ];
    let screen = ["ui", "state", "app", "action"];
    let mut wrong = Vec::new();
    for ((a, b), file) in &edges {
        let (from, to) = (a[0].as_str(), b[0].as_str());
        if a.len() != 1 {
            continue;
        }
        if from == "runbook" {
            wrong.push(format!("runbook -> {to} (in {})", file.join("::")));
        }
        if headless.contains(&from) && screen.contains(&to) {
            wrong.push(format!("{from} -> {to} (in {})", file.join("::")));
        }
    }
    assert!(wrong.is_empty(), "layering broken:\n{}", wrong.join("\n"));
}
