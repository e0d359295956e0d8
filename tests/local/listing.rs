//! `runbook list` from a warm catalog cache decodes summaries only, while `show` and every other
//! command decode whole runbooks from the same cache: both must agree with a cold parse.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use runbook::runbook::cache::FILE_NAME;
use runbook::runbook::{Catalog, Listing, Summary};

/// The parser fixtures copied into a folder, plus a second `steps.md` in a subfolder (whose id
/// becomes `steps-2`) and a file too large to load (an error entry).
fn corpus() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mdx");
    let mut copied = 0;
    for entry in std::fs::read_dir(&fixtures).into_iter().flatten().flatten() {
        std::fs::copy(entry.path(), dir.path().join(entry.file_name()))
            .unwrap_or_else(|e| panic!("{e}"));
        copied += 1;
    }
    assert!(copied >= 10, "only {copied} fixtures");
    let sub = dir.path().join("more");
    std::fs::create_dir(&sub).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(fixtures.join("steps.md"), sub.join("steps.md"))
        .unwrap_or_else(|e| panic!("{e}"));
    let big = std::fs::File::create(dir.path().join("huge.md")).unwrap_or_else(|e| panic!("{e}"));
    big.set_len(runbook::runbook::MAX_FILE_BYTES + 1)
        .unwrap_or_else(|e| panic!("{e}"));
    dir
}

fn cache_bytes(dir: &Path) -> Vec<u8> {
    std::fs::read(dir.join(FILE_NAME)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_warm_listing_and_a_warm_catalog_agree_with_a_cold_parse() {
    let files = corpus();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = [files.path().to_owned()];
    let cold = Catalog::load(&paths, false);
    assert!(cold.runbooks.iter().any(|r| r.id == "steps-2"));
    assert!(cold.errors.iter().any(|e| e.code == "too-large"));
    assert!(
        cold.runbooks
            .iter()
            .flat_map(runbook::runbook::Runbook::warnings)
            .any(|w| w.severity == runbook::runbook::Severity::Error),
        "the corpus should hold a runbook with an error"
    );
    let summaries: Vec<Summary> = cold.runbooks.iter().map(Summary::of).collect();

    // The first listing parses everything and writes the cache.
    let first = Listing::load_cached_in(&paths, false, cache.path());
    assert_eq!(first.runbooks, summaries);
    assert_eq!(first.errors, cold.errors);
    let written = cache_bytes(cache.path());

    // Warm: every file is a hit (nothing parsed, so the cache is not rewritten).
    let warm = Listing::load_cached_in(&paths, false, cache.path());
    assert_eq!(warm.runbooks, summaries);
    assert_eq!(warm.errors, cold.errors);
    assert_eq!(cache_bytes(cache.path()), written);
    let listed: Vec<_> = warm.errors().collect();
    let expected: Vec<_> = cold
        .diagnostics()
        .filter(|d| d.severity == runbook::runbook::Severity::Error)
        .collect();
    assert_eq!(listed, expected);

    // Whole runbooks from the same cache, also all hits.
    let whole = Catalog::load_cached_in(&paths, false, cache.path());
    assert_eq!(whole.runbooks, cold.runbooks);
    assert_eq!(whole.errors, cold.errors);
    assert_eq!(cache_bytes(cache.path()), written);
}

#[test]
fn a_listing_reads_what_a_catalog_cached_and_sees_an_edit() {
    let files = corpus();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let paths = [files.path().to_owned()];
    // The cache written by a whole-runbook load serves a listing.
    let _ = Catalog::load_cached_in(&paths, false, cache.path());
    let written = cache_bytes(cache.path());
    let warm = Listing::load_cached_in(&paths, false, cache.path());
    assert_eq!(cache_bytes(cache.path()), written);
    let steps = |l: &Listing| {
        l.runbooks
            .iter()
            .find(|r| r.id == "tabs")
            .map(|r| r.title.clone())
            .unwrap_or_default()
    };
    assert!(!steps(&warm).is_empty());

    // An edited file is parsed again; the listing's cache write keeps the other entries'
    // whole runbooks, which it never decoded, for the next whole load.
    let path = files.path().join("tabs.md");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let title = steps(&warm);
    assert!(text.contains(&title), "{title}");
    std::fs::write(&path, text.replacen(&title, &format!("Edited {title}"), 1))
        .unwrap_or_else(|e| panic!("{e}"));
    let edited = Listing::load_cached_in(&paths, false, cache.path());
    assert_eq!(steps(&edited), format!("Edited {title}"));
    assert_ne!(cache_bytes(cache.path()), written);
    let cold = Catalog::load(&paths, false);
    let whole = Catalog::load_cached_in(&paths, false, cache.path());
    assert_eq!(whole.runbooks, cold.runbooks);
}

fn runbook_cmd(data: &Path, cache: &Path) -> Command {
    let mut cmd = crate::isolated_runbook(data);
    cmd.env("RUNBOOK_CACHE_DIR", cache);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("runbook: {e}"));
    assert!(out.status.success(), "{out:?}");
    out
}

#[test]
fn list_from_a_warm_cache_and_show_from_the_same_cache_agree_with_a_cold_parse() {
    let files = corpus();
    let data = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cache = data.path().join("catalog");
    let folder = files.path().as_os_str();
    let list = |json: bool| {
        let mut cmd = runbook_cmd(data.path(), &cache);
        cmd.args(["list", "--no-bundled"]).arg(folder);
        if json {
            cmd.arg("--json");
        }
        run(&mut cmd)
    };
    // Cold: no cache yet, every file parsed.
    let cold_text = list(false);
    let cold_json = list(true);
    let written = cache_bytes(&cache);
    // Warm: the same output, and nothing parsed (the cache is not rewritten).
    let warm_text = list(false);
    let warm_json = list(true);
    assert_eq!(cache_bytes(&cache), written);
    assert_eq!(warm_text.stdout, cold_text.stdout);
    assert_eq!(warm_text.stderr, cold_text.stderr);
    assert_eq!(warm_json.stdout, cold_json.stdout);
    let stdout = String::from_utf8_lossy(&warm_text.stdout);
    assert!(stdout.contains("steps-2  "), "{stdout}");
    assert!(
        String::from_utf8_lossy(&warm_text.stderr).contains("too-large"),
        "{warm_text:?}"
    );

    // `show` by id takes the whole runbook from the same cache; `show FILE` parses the file.
    let show = |target: &std::ffi::OsStr| {
        let mut cmd = runbook_cmd(data.path(), &cache);
        cmd.args(["show", "--json", "--path"])
            .arg(folder)
            .arg(target);
        run(&mut cmd).stdout
    };
    for name in ["tabs", "procedures", "nested-scenarios"] {
        let file: PathBuf = files.path().join(format!("{name}.md"));
        let from_cache = show(std::ffi::OsStr::new(name));
        assert_eq!(cache_bytes(&cache), written);
        let parsed = show(file.as_os_str());
        assert_eq!(
            String::from_utf8_lossy(&from_cache),
            String::from_utf8_lossy(&parsed),
            "{name}"
        );
        assert!(String::from_utf8_lossy(&parsed).contains("\"scenarios\""));
    }
}

#[test]
fn a_folder_loads_in_path_order_as_paths_compare_not_as_strings() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = "## Scenario - One\n\n### Debug Steps\n\n1. Step.\n";
    // As strings "a-b/x.md" < "a.md" < "a/y.md"; as paths a/y.md < a-b/x.md < a.md.
    for file in [
        "a.md",
        "a-b/x.md",
        "a/y.md",
        "a/b/z.md",
        "a/c.md",
        ".hidden/h.md",
    ] {
        let path = dir.path().join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    }
    let catalog = Catalog::load(&[dir.path().to_owned()], false);
    let paths: Vec<PathBuf> = catalog.runbooks.iter().map(|r| r.path.clone()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    let ids: Vec<&str> = catalog.runbooks.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(ids, ["z", "c", "y", "x", "a"]);
}
