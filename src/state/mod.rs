//! State under `$XDG_STATE_HOME/keyage` (0700 folder, 0600 files, atomic writes, no secrets).
//! Submodules own one file each: the fact cache (issue 4), the rotation journal (issue 5),
//! the notification memory (issue 7), the prompt segment (issue 6).

pub(crate) mod cache;

use std::path::PathBuf;

use crate::env::Env;
use crate::error::Result;

/// The folder and write helpers live on the ground floor (`crate::sys::fs`); re-exported here
/// for the state files' modules.
pub(crate) use crate::sys::fs::{ensure_private_dir, sync_dir, write_atomic};

/// Creates (if needed) and returns the state folder: 0700, a real folder of the current user
/// (a symlink or a folder of someone else is refused with the fix).
pub(crate) fn ensure_dir(env: &Env) -> Result<PathBuf> {
    let dir = env.state_dir();
    ensure_private_dir(&dir)?;
    Ok(dir)
}
