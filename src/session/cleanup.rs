//! Removing sessions that cannot be read. A session whose `session.json` is not a session
//! (cut short by a full disk, edited by hand) can be neither resumed nor reported, and the
//! listing says to remove it with `runbook sessions --prune`, which does so whatever its
//! age. A state file written by a newer version of runbook is not corrupt and stays.

use std::path::{Path, PathBuf};

use super::store::{FORMAT, STATE_FILE, Store, StoreError};

/// Removes every session folder under `root` whose state file cannot be read as a session;
/// returns the folders removed.
pub fn prune_unreadable(root: &Path) -> Result<Vec<PathBuf>, StoreError> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(root) else {
        return Ok(removed);
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        let state = dir.join(STATE_FILE);
        if !state.is_file() {
            continue;
        }
        if !matches!(
            Store::open(dir.clone()).load(),
            Err(StoreError::Corrupt { .. })
        ) || from_a_newer_version(&state)
        {
            continue;
        }
        std::fs::remove_dir_all(&dir).map_err(|e| StoreError::io(&dir, e))?;
        removed.push(dir);
    }
    removed.sort();
    Ok(removed)
}

fn from_a_newer_version(state: &Path) -> bool {
    std::fs::read(state)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|v| v.get("format").and_then(serde_json::Value::as_u64))
        .is_some_and(|format| format > u64::from(FORMAT))
}
