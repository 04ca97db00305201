//! One rotation (or backout/finalize) at a time: an exclusive lock on `rotation.lock` (0600)
//! in the state folder, through the ground floor's lock (`crate::sys::lock`). A second
//! process waits briefly (`KEYAGE_LOCK_WAIT_SECS`, default 10 s), then refuses.

use std::path::Path;
use std::time::Duration;

use crate::error::{Error, Kind, Result};
use crate::sys::lock::FileLock;

pub const LOCK_FILE: &str = "rotation.lock";

/// Held while the guard lives; the OS releases it when the process dies.
pub type RotationLock = FileLock;

pub fn acquire(dir: &Path, wait: Duration) -> Result<RotationLock> {
    crate::sys::fs::ensure_private_dir(dir)?;
    let path = dir.join(LOCK_FILE);
    FileLock::acquire(&path, wait)?.ok_or_else(|| {
        Error::new(
            Kind::Conflict,
            format!(
                "another keyage rotation, backout or finalize is running (it holds {})",
                path.display()
            ),
        )
        .hint("wait for it to finish, then run the command again")
    })
}

/// The wait bound from `KEYAGE_LOCK_WAIT_SECS` (default 10 s).
pub fn wait_from(env: &crate::env::Env) -> Duration {
    Duration::from_secs(
        env.get("KEYAGE_LOCK_WAIT_SECS")
            .and_then(|v| v.parse().ok())
            .unwrap_or(10),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn second_lock_refuses() {
        let d = tempfile::tempdir().unwrap();
        let a = acquire(d.path(), Duration::from_millis(0)).unwrap();
        let e = acquire(d.path(), Duration::from_millis(200)).unwrap_err();
        assert_eq!(e.kind, Kind::Conflict);
        drop(a);
        acquire(d.path(), Duration::from_millis(0)).unwrap();
    }
}
