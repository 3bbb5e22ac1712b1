//! The state file's permissions: created 0600 before SQLite opens it, and its -wal and -shm
//! files kept no more open than the database itself.

use std::fs::{self, OpenOptions};
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
