//! The state file's permissions: created 0600 before SQLite opens it, and its -wal and -shm
//! files kept no more open than the database itself.

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::StoreError;

/// Creates `path` with mode 0600 unless it exists; SQLite then gives its -wal and -shm files
/// the same mode.
pub(super) fn create_private(path: &Path) -> Result<(), StoreError> {
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path);
    let err = |cause| StoreError::Create {
        path: path.to_path_buf(),
        cause,
    };
    match created {
        // The mode above is filtered by the umask; set it exactly.
        Ok(file) => file
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(err),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(err(e)),
    }
}

/// Gives existing -wal and -shm files no more permissions than the database file itself.
pub(super) fn restrict_sidecars(path: &Path) -> Result<(), StoreError> {
    let perm_err = |p: &Path, cause| StoreError::Permissions {
        path: p.to_path_buf(),
        cause,
    };
    let main_mode = fs::metadata(path)
        .map_err(|e| perm_err(path, e))?
        .permissions()
        .mode()
        & 0o777;
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let sidecar = PathBuf::from(name);
        let Ok(meta) = fs::metadata(&sidecar) else {
            continue;
        };
        if meta.permissions().mode() & 0o777 & !main_mode != 0 {
            fs::set_permissions(&sidecar, fs::Permissions::from_mode(main_mode))
                .map_err(|e| perm_err(&sidecar, e))?;
        }
    }
    Ok(())
}

/// Holds `<state>.lock` exclusively while this process writes to the state database, so two
/// daemons (or a daemon and `cursor reset`) never interleave their commits. The lock goes away
/// with the returned file, or with the process.
pub fn lock_state(path: &Path) -> Result<File, StoreError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let err = |cause| StoreError::Create {
        path: lock_path.clone(),
        cause,
    };
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(err)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(TryLockError::WouldBlock) => Err(StoreError::Locked {
            path: path.to_path_buf(),
        }),
        Err(TryLockError::Error(cause)) => Err(err(cause)),
    }
}
