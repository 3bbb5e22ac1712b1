//! The SQLite sink for a mirror file other than the state database: each batch is written into
//! its `users` and `system_log` tables in one transaction of its own, on disk before the state
//! cursor moves (`synchronous=FULL`), so a power loss never leaves this mirror behind the cursor.

use std::path::{Path, PathBuf};

use super::{Delta, SinkError};
use crate::store::Store;

/// A separate SQLite mirror, with the same schema as the state database.
#[derive(Debug)]
pub struct SqliteSink {
    path: PathBuf,
    store: Store,
}

impl SqliteSink {
    /// Opens (creating with mode 0600 and migrating if needed) the mirror at `path`.
    pub fn open(path: &Path) -> Result<SqliteSink, SinkError> {
        let store = Store::open_mirror(path).map_err(|cause| SinkError::Mirror {
            path: path.to_path_buf(),
            cause: Box::new(cause),
        })?;
        Ok(SqliteSink {
            path: path.to_path_buf(),
            store,
        })
    }

    /// Writes the batch and commits durably.
    pub fn write_batch(&mut self, deltas: &[Delta]) -> Result<(), SinkError> {
        self.store
            .upsert(deltas)
            .map_err(|cause| SinkError::Mirror {
                path: self.path.clone(),
                cause: Box::new(cause),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_separate_mirror_commits_to_disk_before_the_state_cursor_can_move() {
        let dir = tempfile::tempdir().unwrap();
        let sink = SqliteSink::open(&dir.path().join("mirror.db")).unwrap();
        assert!(sink.store.commits_durably().unwrap());
        let state = Store::open_writer(&dir.path().join("state.db")).unwrap();
        assert!(
            !state.commits_durably().unwrap(),
            "the state database need not"
        );
    }
}
