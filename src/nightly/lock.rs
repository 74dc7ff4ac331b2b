//! The lock file that keeps two runs off one state directory.
//!
//! Two nightly runs over the same state would each start from the same generation and the
//! later commit would silently drop the earlier night. The lock is a file created with
//! `O_EXCL` holding the owner's process id; it is removed when the run ends, however it ends
//! short of a crash. A crash leaves it behind, so a lock whose process no longer exists (on
//! systems with `/proc`) is taken over and said so; anywhere else the user removes it.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A held lock; dropping it releases it.
#[derive(Debug)]
pub struct Lock {
    path: PathBuf,
    /// The process id of a crashed run whose lock was taken over.
    pub took_over_from: Option<u32>,
}

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another run holds it.
    #[error(
        "{path} is held by process {owner}: another run is using this state directory (if none is, remove the file)"
    )]
    Held {
        /// The lock file.
        path: PathBuf,
        /// What the file says of its owner.
        owner: String,
    },
    /// The file system refused.
    #[error("taking the lock {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

impl Lock {
    /// Takes the lock file `path`.
    pub fn acquire(path: &Path) -> Result<Lock, LockError> {
        let io_err = |source| LockError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut took_over_from = None;
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(mut f) => {
                    writeln!(f, "{}", std::process::id()).map_err(io_err)?;
                    f.sync_all().map_err(io_err)?;
                    return Ok(Lock {
                        path: path.to_path_buf(),
                        took_over_from,
                    });
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(path).unwrap_or_default();
                    let owner = owner.trim().to_string();
                    match owner.parse::<u32>() {
                        Ok(pid) if took_over_from.is_none() && !alive(pid) => {
                            std::fs::remove_file(path).map_err(io_err)?;
                            took_over_from = Some(pid);
                        }
                        _ => {
                            return Err(LockError::Held {
                                path: path.to_path_buf(),
                                owner: if owner.is_empty() {
                                    "unknown".into()
                                } else {
                                    owner
                                },
                            });
                        }
                    }
                }
                Err(e) => return Err(io_err(e)),
            }
        }
        Err(LockError::Held {
            path: path.to_path_buf(),
            owner: "unknown".into(),
        })
    }
}

/// Whether process `pid` exists; `true` where that cannot be known, so that a lock is never
/// taken from a run that may be alive.
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if !proc.join("self").exists() {
        return true;
    }
    pid == std::process::id() || proc.join(pid.to_string()).exists()
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_and_released_on_drop() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        let first = Lock::acquire(&path).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap().trim(),
            std::process::id().to_string()
        );
        let err = Lock::acquire(&path).unwrap_err();
        assert!(
            matches!(&err, LockError::Held { owner, .. } if *owner == std::process::id().to_string()),
            "{err}"
        );
        drop(first);
        assert!(!path.exists());
        Lock::acquire(&path).unwrap();
    }

    #[test]
    fn lock_of_a_dead_process_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        // Above the kernel's pid_max (at most 2^22), so no process has it.
        std::fs::write(&path, "4194305\n").unwrap();
        let lock = Lock::acquire(&path).unwrap();
        assert_eq!(lock.took_over_from, Some(4_194_305));
    }

    #[test]
    fn unreadable_owner_is_never_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lock");
        std::fs::write(&path, "someone\n").unwrap();
        assert!(matches!(Lock::acquire(&path), Err(LockError::Held { .. })));
    }
}
