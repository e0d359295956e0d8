//! Files only their owner can read. On a shared bastion host every local user could read
//! another engineer's command output from a 0755 folder, so the data folder, each session
//! folder and every file in it, reports written with `--output` or the TUI's `R`, and the
//! fetch cache are created 0700 (folders) and 0600 (files), whatever the umask; a folder or
//! file found wider (made by an older version, or copied in) is tightened when it is next
//! written.
//!
//! Whole files are written with [`crate::atomic::write_private`]; files written a piece at a
//! time (a step's output) are opened with [`create`]; folders go through [`dir`]. To make
//! one more place private, call these instead of `File::create` / `create_dir_all`.

use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Mode of a private folder.
pub const DIR_MODE: u32 = 0o700;
/// Mode of a private file.
pub const FILE_MODE: u32 = 0o600;

/// Creates `path` and any missing parent, each 0700, or tightens `path` to 0700 when it
/// exists wider. Existing parents are left as they are (they may be the user's own folders).
pub fn dir(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => return tighten(path, meta.permissions().mode(), DIR_MODE),
        Ok(_) => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is not a folder", path.display()),
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.exists()
    {
        dir(parent)?;
    }
    match DirBuilder::new().mode(DIR_MODE).create(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    // The umask may have taken bits away (0o700 & !0o277 = 0o500): set it exactly.
    std::fs::set_permissions(path, Permissions::from_mode(DIR_MODE))
}

/// Opens `path` for writing from its start, 0600 from its first byte; an existing file is
/// truncated and tightened.
pub fn create(path: &Path) -> io::Result<File> {
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(FILE_MODE)
        .open(path)?;
    if file.metadata()?.permissions().mode() & 0o777 != FILE_MODE {
        file.set_permissions(Permissions::from_mode(FILE_MODE))?;
    }
    Ok(file)
}

/// Tightens an existing folder to 0700 (a no-op when it already is, or is gone).
pub fn tighten_dir(path: &Path) -> io::Result<()> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => tighten(path, meta.permissions().mode(), DIR_MODE),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

fn tighten(path: &Path, mode: u32, want: u32) -> io::Result<()> {
    if mode & 0o777 == want {
        Ok(())
    } else {
        std::fs::set_permissions(path, Permissions::from_mode(want))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).map_or(0, |m| m.permissions().mode() & 0o777)
    }

    #[test]
    fn folders_and_files_are_private_and_wider_ones_tightened() {
        let top = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let deep = top.path().join("data/sessions/s1");
        dir(&deep).unwrap_or_else(|e| panic!("{e}"));
        for p in [
            top.path().join("data"),
            top.path().join("data/sessions"),
            deep.clone(),
        ] {
            assert_eq!(mode(&p), DIR_MODE, "{}", p.display());
        }
        std::fs::set_permissions(&deep, Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
        dir(&deep).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(mode(&deep), DIR_MODE);
        let file = deep.join("out");
        std::fs::write(&file, b"old").unwrap_or_else(|e| panic!("{e}"));
        std::fs::set_permissions(&file, Permissions::from_mode(0o644))
            .unwrap_or_else(|e| panic!("{e}"));
        drop(create(&file).unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(mode(&file), FILE_MODE);
        assert_eq!(std::fs::read(&file).unwrap_or_default(), b"");
        assert!(dir(&file).is_err(), "a file is not a folder");
    }
}
