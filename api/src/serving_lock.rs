//! One Talo per data directory at a time.
//!
//! The embedded store assigns positions in its one writer, and read models write their
//! snapshots into the data directory: a second server on the same directory would run a
//! second writer on the same log and overwrite the first one's snapshots. A server therefore
//! holds an exclusive lock on `DIR/serving.lock` while it runs. It is an OS file lock, so a
//! crashed server leaves nothing stale behind. The auditors' commands (`talo verify`,
//! `replay`, `export`) open the log without it and may run beside a server.

use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The lock file's name inside the data directory.
pub const LOCK_FILE: &str = "serving.lock";

#[derive(Debug, thiserror::Error)]
pub enum ServingLockError {
    #[error(
        "data directory `{}` is served by another Talo (it holds `{}`): stop that one first; `talo verify`, `replay` and `export` may run beside it",
        dir.display(),
        lock.display()
    )]
    InUse { dir: PathBuf, lock: PathBuf },
    #[error("data directory `{}`: locking `{}`: {source}", dir.display(), lock.display())]
    Io {
        dir: PathBuf,
        lock: PathBuf,
        source: std::io::Error,
    },
}

/// Held while a Talo serves its data directory; released when released or dropped.
#[derive(Debug)]
pub struct ServingLock(Mutex<Option<File>>);

impl ServingLock {
    /// Takes the directory's lock, or says who has it. The directory must exist.
    pub fn take(dir: &Path) -> Result<Self, ServingLockError> {
        let lock = dir.join(LOCK_FILE);
        let io = |source| ServingLockError::Io {
            dir: dir.to_owned(),
            lock: lock.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(ServingLock(Mutex::new(Some(file)))),
            Err(TryLockError::WouldBlock) => Err(ServingLockError::InUse {
                dir: dir.to_owned(),
                lock,
            }),
            Err(TryLockError::Error(source)) => Err(io(source)),
        }
    }

    /// Lets another Talo open the directory: once this one has closed its store, before every
    /// handle to it is gone (a restart in the same process).
    pub fn release(&self) {
        // Closing the file releases the lock.
        self.0.lock().unwrap_or_else(|p| p.into_inner()).take();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_releases() {
        let dir = tempfile::tempdir().unwrap();
        let first = ServingLock::take(dir.path()).expect("the first takes it");
        let refused = ServingLock::take(dir.path()).expect_err("the second is refused");
        assert!(matches!(refused, ServingLockError::InUse { .. }));
        assert!(
            refused.to_string().contains("served by another Talo"),
            "{refused}"
        );
        first.release();
        let second = ServingLock::take(dir.path()).expect("free once released");
        drop(second);
        ServingLock::take(dir.path()).expect("free once dropped");
    }

    #[test]
    fn a_directory_that_cannot_hold_the_lock_file_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("not-there");
        let error = ServingLock::take(&missing).expect_err("no directory");
        assert!(matches!(error, ServingLockError::Io { .. }));
        assert!(error.to_string().contains(LOCK_FILE), "{error}");
    }
}
