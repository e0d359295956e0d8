//! Lab scenarios: the fixtures under `assets/lab/`, embedded in the binary.
//!
//! Each folder `assets/lab/<runbook>__<scenario>/` holds plain Kubernetes manifests (any number of
//! `*.yaml` files, `---`-separated documents) plus documents of `apiVersion: lab.runbook.dev/v1alpha1`:
//! - `kind: LabScenario` (one per folder): `metadata.name` is the runbook scenario id it practises
//!   (`namespace-labels/privileged-labels`); `spec` has `title`, `hint` (printed when the lab starts),
//!   `fixedWhenAll` (conditions that hold once the scenario is fixed), `logs` (text for
//!   `kubectl logs`), `files` (helper files written next to the kubeconfig) and `standIns`
//!   (shell lines that stand in for steps done outside the cluster, see [`StandIn`]);
//! - `kind: LabReaction`: cluster behaviour, see [`super::reaction`].
//!
//! `assets/lab/_base/` is seeded into every lab. Timestamps may be relative: `now`, `now-45m`,
//! `now-2h-5m` (units s, m, h, d) become RFC 3339 times when the lab starts.
//! To add a scenario: make a folder, put the broken cluster state in it as manifests, add a
//! `LabScenario` document and the reactions, and add a test in `tests/lab_scenarios.rs`.

use include_dir::{Dir, include_dir};
use serde::Deserialize;
use serde_json::Value;

use super::LabError;
use super::reaction::{Condition, LogRule, Reaction};

static ASSETS: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR/assets/lab");

const LAB_API: &str = "lab.runbook.dev/v1alpha1";
/// Id of the default lab that holds every scenario at once.
pub const PRACTICE: &str = "practice";
/// Id of a lab with nothing in it (not even system namespaces); tests seed their own objects.
pub const EMPTY: &str = "empty";

/// A helper file written next to the kubeconfig (e.g. a stand-in for a vendor script).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HelperFile {
    pub name: String,
    #[serde(default)]
    pub executable: bool,
    pub content: String,
}

/// What the trainee does in the lab for a runbook step that happens outside the cluster (in the
/// Palette UI, on a node): a shell line run from the lab's folder with `KUBECONFIG` set, before
/// the step's own commands. Headless runs (`runbook run --yes` against a lab) execute these.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StandIn {
    /// Scenario id it belongs to (filled in when loading).
    #[serde(default)]
    pub scenario: String,
    /// Title of the procedure (`### Debug Steps...`) the step is in; empty: the first one.
    #[serde(default)]
    pub procedure: String,
    /// The step number as printed in the runbook ("1", "3").
    pub step: String,
    /// Shell line, run from the folder of the lab's kubeconfig.
    pub run: String,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ScenarioSpec {
    #[serde(default)]
    title: String,
    #[serde(default)]
    hint: String,
    #[serde(default)]
    fixed_when_all: Vec<Condition>,
    #[serde(default)]
    logs: Vec<LogRule>,
    #[serde(default)]
    files: Vec<HelperFile>,
    #[serde(default)]
    stand_ins: Vec<StandIn>,
}

/// One loaded scenario (or the merged practice state).
#[derive(Debug, Clone, Default)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    pub hint: String,
    pub objects: Vec<Value>,
    pub reactions: Vec<Reaction>,
    pub logs: Vec<LogRule>,
    pub fixed_when_all: Vec<Condition>,
    pub files: Vec<HelperFile>,
    pub stand_ins: Vec<StandIn>,
}

/// Id and title of each lab scenario, in folder order.
pub fn list() -> Result<Vec<(String, String)>, LabError> {
    Ok(all()?.into_iter().map(|s| (s.id, s.title)).collect())
}

pub(crate) fn parse_docs(path: &str, text: &str) -> Result<Vec<Value>, LabError> {
    let mut out = Vec::new();
    for doc in serde_yaml::Deserializer::from_str(text) {
        let v = Value::deserialize(doc).map_err(|e| LabError::Fixture {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        if !v.is_null() {
            out.push(v);
        }
    }
    Ok(out)
}

fn load_dir(dir: &Dir<'_>) -> Result<Scenario, LabError> {
    let mut s = Scenario::default();
    let mut files: Vec<_> = dir.files().collect();
    files.sort_by_key(|f| f.path().to_owned());
    for f in files {
        let path = format!("assets/lab/{}", f.path().display());
        let ext = f
            .path()
            .extension()
            .map(|e| e.to_string_lossy().to_lowercase());
        if !matches!(ext.as_deref(), Some("yaml" | "yml")) {
            continue;
        }
        let text = f.contents_utf8().ok_or_else(|| LabError::Fixture {
            path: path.clone(),
            message: "not UTF-8".into(),
        })?;
        for doc in parse_docs(&path, text)? {
            if doc["apiVersion"] != LAB_API {
                s.objects.push(doc);
                continue;
            }
            let name = doc["metadata"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let bad = |e: serde_json::Error| LabError::Fixture {
                path: path.clone(),
                message: format!("{name}: {e}"),
            };
            match doc["kind"].as_str() {
                Some("LabScenario") => {
                    let spec: ScenarioSpec =
                        serde_json::from_value(doc["spec"].clone()).map_err(bad)?;
                    s.id = name;
                    s.title = spec.title;
                    s.hint = spec.hint;
                    s.fixed_when_all = spec.fixed_when_all;
                    s.logs = spec.logs;
                    s.files = spec.files;
                    s.stand_ins = spec
                        .stand_ins
                        .into_iter()
                        .map(|mut st| {
                            st.scenario.clone_from(&s.id);
                            st
                        })
                        .collect();
                }
                Some("LabReaction") => {
                    let mut r: Reaction =
                        serde_json::from_value(doc["spec"].clone()).map_err(bad)?;
                    r.name = name;
                    s.reactions.push(r);
                }
                other => {
                    return Err(LabError::Fixture {
                        path,
                        message: format!("unknown lab kind {other:?}"),
                    });
                }
            }
        }
    }
    Ok(s)
}

/// Every scenario folder (not `_base`), loaded.
pub fn all() -> Result<Vec<Scenario>, LabError> {
    let mut dirs: Vec<_> = ASSETS
        .dirs()
        .filter(|d| !d.path().to_string_lossy().starts_with('_'))
        .collect();
    dirs.sort_by_key(|d| d.path().to_owned());
    let mut out = Vec::new();
    for d in dirs {
        let s = load_dir(d)?;
        if s.id.is_empty() {
            return Err(LabError::Fixture {
                path: format!("assets/lab/{}", d.path().display()),
                message: "no LabScenario document".into(),
            });
        }
        out.push(s);
    }
    Ok(out)
}

fn base() -> Result<Scenario, LabError> {
    ASSETS
        .get_dir("_base")
        .map_or_else(|| Ok(Scenario::default()), load_dir)
}

/// Load one scenario by id, or the practice state (every scenario) for `None` / `"practice"`.
pub fn load(id: Option<&str>) -> Result<Scenario, LabError> {
    if id == Some(EMPTY) {
        return Ok(Scenario {
            id: EMPTY.into(),
            title: "An empty cluster".into(),
            ..Scenario::default()
        });
    }
    let mut s = base()?;
    let scenarios = all()?;
    let picked: Vec<Scenario> = match id {
        None | Some(PRACTICE) => scenarios,
        Some(id) => {
            let Some(one) = scenarios.into_iter().find(|s| s.id == id) else {
                return Err(LabError::UnknownScenario(id.to_owned()));
            };
            vec![one]
        }
    };
    if picked.len() == 1 {
        s.id.clone_from(&picked[0].id);
        s.title.clone_from(&picked[0].title);
        s.hint.clone_from(&picked[0].hint);
    } else {
        s.id = PRACTICE.into();
        s.title = "Every scenario at once: a cluster with all the problems of the bundled runbooks"
            .into();
        s.hint = picked
            .iter()
            .filter(|p| !p.hint.is_empty())
            .map(|p| format!("{}: {}", p.id, p.hint))
            .collect::<Vec<_>>()
            .join("\n");
    }
    for p in picked {
        for o in p.objects {
            if !s.objects.iter().any(|e| same_object(e, &o)) {
                s.objects.push(o);
            }
        }
        s.reactions.extend(p.reactions);
        s.logs.extend(p.logs);
        s.fixed_when_all.extend(p.fixed_when_all);
        s.files.extend(p.files);
        s.stand_ins.extend(p.stand_ins);
    }
    // CRDs, then namespaces, then the rest, so that every object's type and namespace exist.
    s.objects.sort_by_key(|o| match o["kind"].as_str() {
        Some("CustomResourceDefinition") => 0,
        Some("Namespace") => 1,
        _ => 2,
    });
    Ok(s)
}

fn same_object(a: &Value, b: &Value) -> bool {
    a["kind"] == b["kind"]
        && a["apiVersion"] == b["apiVersion"]
        && a["metadata"]["name"] == b["metadata"]["name"]
        && a["metadata"]["namespace"] == b["metadata"]["namespace"]
}
