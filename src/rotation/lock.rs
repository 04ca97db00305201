//! One rotation (or backout/finalize) at a time: an exclusive lock on `rotation.lock` in the
//! state folder. A second process waits briefly (`KEYAGE_LOCK_WAIT_SECS`, default 10 s), then
//! refuses.

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;

use crate::error::{Error, IoContext, Kind, Result};

pub const LOCK_FILE: &str = "rotation.lock";

/// Held while the guard lives; the OS releases it when the process dies.
#[derive(Debug)]
pub struct RotationLock {
    _file: File,
}

pub fn acquire(dir: &Path, wait: Duration) -> Result<RotationLock> {
    crate::state::ensure_private_dir(dir)?;
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .at("open", &path)?;
    let start = Instant::now();
    loop {
        match FileExt::try_lock_exclusive(&file) {
            Ok(true) => return Ok(RotationLock { _file: file }),
            Ok(false) => {}
            Err(e) => return Err(Error::io("lock", &path, e)),
        }
        if start.elapsed() >= wait {
            return Err(Error::new(
                Kind::Conflict,
                format!(
                    "another keyage rotation, backout or finalize is running (it holds {})",
                    path.display()
                ),
            )
            .hint("wait for it to finish, then run the command again"));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
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
