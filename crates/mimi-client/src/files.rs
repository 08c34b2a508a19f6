//! The profile directory on disk.
//!
//! - Private: the directory is 0700 and every file 0600 (they hold tokens and private keys).
//! - Whole: a file is replaced by writing a temporary file, flushing it, renaming it over
//!   the old one and flushing the directory, so a crash leaves the old file or the new one.
//!   `device.mls` is written before `profile.json`, so a profile that names a device always
//!   finds its state.
//! - One operation at a time: [`ProfileLock`] is an exclusive lock on `profile.lock`, held
//!   around each load-change-save, so two `mimi` commands on one profile (a `mimi sync
//!   --follow` and a `mimi send`) take turns and neither writes stale state over the other's
//!   (which would roll a ratchet back and reuse its keys).

use std::fs::{File, OpenOptions};
use std::io::Write as _;
use std::path::Path;

use crate::ClientError;

/// The profile's account file.
pub(crate) const PROFILE: &str = "profile.json";
/// The device's MLS state.
pub(crate) const DEVICE: &str = "device.mls";
const LOCK: &str = "profile.lock";

fn io(what: &Path, e: std::io::Error) -> ClientError {
    ClientError::Profile(format!("{}: {e}", what.display()))
}

#[cfg(unix)]
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    use std::os::unix::fs::OpenOptionsExt as _;
    options.mode(0o600)
}

#[cfg(not(unix))]
fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    options
}

/// Takes `path` (a file or directory) to `mode` when others may read it (a profile made by
/// an earlier version was 0644 in a 0755 directory).
#[cfg(unix)]
fn tighten(path: &Path, mode: u32) -> Result<(), ClientError> {
    use std::os::unix::fs::PermissionsExt as _;
    match std::fs::metadata(path) {
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                .map_err(|e| io(path, e))
        }
        _ => Ok(()),
    }
}

#[cfg(not(unix))]
fn tighten(_: &Path, _: u32) -> Result<(), ClientError> {
    Ok(())
}

/// Creates the profile directory (and its parents) private to its owner; an existing one is
/// made private.
pub(crate) fn create_dir(dir: &Path) -> Result<(), ClientError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| io(dir, e))?;
    tighten(dir, 0o700)
}

/// Creates an empty file at `path` that only its owner may read or write.
pub(crate) fn create_private(path: &Path) -> Result<(), ClientError> {
    private(OpenOptions::new().write(true).create(true).truncate(false))
        .open(path)
        .map(|_| ())
        .map_err(|e| io(path, e))
}

/// Makes an existing profile private: the directory and the files holding secrets.
pub(crate) fn make_private(dir: &Path) -> Result<(), ClientError> {
    tighten(dir, 0o700)?;
    for name in [PROFILE, DEVICE, crate::history::FILE] {
        tighten(&dir.join(name), 0o600)?;
    }
    Ok(())
}

/// The profile's exclusive lock, held until dropped.
pub(crate) struct ProfileLock {
    _file: File,
}

impl ProfileLock {
    /// Waits for the profile in `dir` to be free, then holds it.
    pub(crate) fn take(dir: &Path) -> Result<Self, ClientError> {
        let path = dir.join(LOCK);
        let file = private(OpenOptions::new().read(true).write(true).create(true))
            .truncate(false)
            .open(&path)
            .map_err(|e| io(&path, e))?;
        file.lock().map_err(|e| io(&path, e))?;
        Ok(Self { _file: file })
    }
}

/// Reads `name` from `dir`; `None` when it does not exist.
pub(crate) fn read(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, ClientError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io(&path, e)),
    }
}

/// Replaces `name` in `dir` by `bytes`, whole: a crash leaves either the old file or the
/// new one, and the new one is on disk when this returns.
pub(crate) fn write(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ClientError> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    // Left by a crash mid-write: never renamed, so never read.
    match std::fs::remove_file(&tmp) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(&tmp, e)),
        _ => {}
    }
    let mut file = private(OpenOptions::new().write(true).create_new(true))
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    file.write_all(bytes).map_err(|e| io(&tmp, e))?;
    file.sync_all().map_err(|e| io(&tmp, e))?;
    drop(file);
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
    sync_dir(dir)
}

/// Flushes the directory itself, so that a rename in it survives a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> Result<(), ClientError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io(dir, e))
}

#[cfg(not(unix))]
fn sync_dir(_: &Path) -> Result<(), ClientError> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("mimi-files-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[cfg(unix)]
    #[test]
    fn profile_files_are_private_to_their_owner() {
        let dir = scratch("private");
        create_dir(&dir).unwrap();
        write(&dir, PROFILE, b"{}").unwrap();
        let _lock = ProfileLock::take(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(PROFILE)), 0o600);
        assert_eq!(mode(&dir.join(LOCK)), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn an_earlier_readable_profile_is_made_private() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = scratch("tighten");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::write(dir.join(DEVICE), b"secret").unwrap();
        std::fs::set_permissions(dir.join(DEVICE), std::fs::Permissions::from_mode(0o644)).unwrap();
        make_private(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(DEVICE)), 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_write_interrupted_before_its_rename_leaves_the_old_file() {
        let dir = scratch("torn");
        create_dir(&dir).unwrap();
        write(&dir, DEVICE, b"old").unwrap();
        // A crash after the temporary file was written, before the rename.
        std::fs::write(dir.join(format!("{DEVICE}.tmp")), b"half").unwrap();
        assert_eq!(read(&dir, DEVICE).unwrap().as_deref(), Some(&b"old"[..]));
        write(&dir, DEVICE, b"new").unwrap();
        assert_eq!(read(&dir, DEVICE).unwrap().as_deref(), Some(&b"new"[..]));
        assert!(!dir.join(format!("{DEVICE}.tmp")).exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_profile_lock_is_held_by_one_holder_at_a_time() {
        let dir = scratch("lock");
        create_dir(&dir).unwrap();
        let held = ProfileLock::take(&dir).unwrap();
        let other = File::open(dir.join(LOCK)).unwrap();
        assert!(other.try_lock().is_err(), "a second holder got the lock");
        drop(held);
        assert!(other.try_lock().is_ok(), "the lock was not released");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
