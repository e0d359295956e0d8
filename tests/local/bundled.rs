//! The bundled runbooks: every one loads without a warning, covers the scenarios of the Palette
//! pages it comes from, carries what search needs, and lints clean (shellcheck included).

use std::collections::BTreeMap;

use runbook::lint::{self, Options};
use runbook::runbook::{Catalog, Origin, Severity};

fn bundled() -> Catalog {
    let catalog = Catalog::load(&[], true);
    assert!(catalog.errors.is_empty(), "{:?}", catalog.errors);
    catalog
}

#[test]
fn every_bundled_runbook_loads_without_warnings() {
    let catalog = bundled();
    assert!(catalog.runbooks.len() >= 21, "{}", catalog.runbooks.len());
    for r in &catalog.runbooks {
        assert_eq!(Catalog::origin(r), Origin::Bundled);
        assert!(r.warnings().is_empty(), "{}: {:?}", r.id, r.warnings());
        assert_eq!(r.scenarios.len(), 1, "{}: one scenario per file", r.id);
        let s = &r.scenarios[0];
        assert!(!s.procedures.is_empty(), "{}", s.id);
        assert!(s.procedures.iter().all(|p| !p.steps.is_empty()), "{}", s.id);
    }
}

#[test]
fn scenarios_per_area_match_the_source_pages() {
    let catalog = bundled();
    let mut per_area: BTreeMap<String, usize> = BTreeMap::new();
    for r in &catalog.runbooks {
        let folder = r
            .path
            .to_string_lossy()
            .trim_start_matches("bundled:")
            .split('/')
            .next()
            .unwrap_or("")
            .to_owned();
        *per_area.entry(folder).or_default() += r.scenarios.len();
    }
    assert_eq!(per_area.get("enterprise"), Some(&7), "{per_area:?}");
    assert_eq!(per_area.get("pcg"), Some(&9), "{per_area:?}");
    assert_eq!(per_area.get("packs"), Some(&4), "{per_area:?}");
    assert!(
        catalog
            .scenario("pcg-prerequisites-preflight/preflight")
            .is_some()
    );
}

#[test]
fn front_matter_carries_title_area_and_symptoms() {
    for r in &bundled().runbooks {
        let fm = &r.front_matter();
        assert!(fm.title.is_some() && fm.description.is_some(), "{}", r.id);
        assert!(fm.extra.contains_key("area"), "{}: area", r.id);
        assert!(!fm.symptoms.is_empty(), "{}: symptoms", r.id);
    }
}

#[test]
fn error_strings_users_paste_find_their_runbook() {
    let catalog = bundled();
    for (symptom, id) in [
        ("Token used before issued", "time-skew-logouts"),
        ("Exhausted IP Pools", "ip-pool-exhausted"),
        ("too many open files", "too-many-open-files"),
        ("MARK: bad value for option \"--set-mark\"", "calico-ipv6"),
        (
            "failed to deploy image: Failed to create govomiClient",
            "deploy-image-failed",
        ),
    ] {
        let owners: Vec<&str> = catalog
            .runbooks
            .iter()
            .filter(|r| {
                r.front_matter()
                    .symptoms
                    .iter()
                    .any(|s| s.to_lowercase().contains(&symptom.to_lowercase()))
            })
            .map(|r| r.id.as_str())
            .collect();
        assert!(owners.contains(&id), "{symptom}: {owners:?}");
    }
}

#[test]
fn calico_keeps_every_alternative_procedure() {
    let catalog = bundled();
    let (_, s) = catalog
        .scenario("calico-ipv6/calico-ipv6")
        .unwrap_or_else(|| panic!("calico"));
    let top: Vec<&str> = s
        .procedures
        .iter()
        .filter(|p| p.parent.is_none())
        .map(|p| p.title.as_str())
        .collect();
    assert_eq!(top.len(), 4, "{top:?}");
    assert_eq!(
        s.procedures.iter().filter(|p| p.parent.is_some()).count(),
        3
    );
}

#[test]
fn commands_from_the_docs_are_kept_exactly() {
    let catalog = bundled();
    let all: String = catalog
        .runbooks
        .iter()
        .flat_map(|r| {
            r.scenarios
                .iter()
                .flat_map(runbook::runbook::Scenario::all_blocks)
        })
        .map(|b| b.code.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    for command in [
        "kubectl get pods --namespace hubble-system | grep mgmt",
        "kubectl get ipclaim --namespace spectro-mgmt",
        "curl --output csi-helper https://software.spectrocloud.com/tools/csi-helper/csi-helper",
        "echo \"fs.file-max = 1000000\" > /etc/sysctl.d/99-maxfiles.conf",
        "sysctl -p /etc/sysctl.d/99-maxfiles.conf",
        "kubectl get pods --all-namespaces --field-selector status.phase!=Running",
        "kubectl delete pod upgrade-pod --namespace default",
        "uname --kernel-release",
        "cat /var/log/cloud-init-output.log",
        "chmod +x pcg-debug.sh && ./pcg-debug.sh",
    ] {
        assert!(all.contains(command), "missing: {command}");
    }
}

#[test]
fn bundled_runbooks_lint_clean() {
    let ci = std::env::var_os("CI").is_some();
    assert!(
        !ci || lint::shellcheck_available(),
        "shellcheck is not installed; .ci/run installs it"
    );
    for r in &bundled().runbooks {
        let findings: Vec<_> = lint::lint_runbook(r, Options { shellcheck: true })
            .into_iter()
            .filter(|f| f.severity > Severity::Info)
            .collect();
        assert!(
            findings.is_empty(),
            "{}:\n{}",
            r.id,
            findings
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
