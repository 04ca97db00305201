//! State under `$XDG_STATE_HOME/keyage` (0700 folder, 0600 files, atomic writes, no secrets).
//! Submodules own one file each: the fact cache (issue 4), the rotation journal (issue 5),
//! the notification memory (issue 7), the prompt segment (issue 6).

pub(crate) mod cache;

use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Error, Kind, Result};

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

/// Reads one of keyage's versioned JSON documents (bounded, regular files only, never through
/// a symlink: `sys::fs::read_state`); None when there is none. `what` names it in errors
/// ("rotation journal"), `hint` says what to do with a garbled one, and a document whose
/// `version_of` is not `version` is refused.
pub(crate) fn read_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
    hint: &str,
    version: u32,
    version_of: fn(&T) -> u32,
) -> Result<Option<T>> {
    let Some(bytes) = crate::sys::fs::read_state(path)? else {
        return Ok(None);
    };
    let doc: T = serde_json::from_slice(&bytes).map_err(|e| {
        Error::input(path, e.line(), format!("not a keyage {what}: {e}")).hint(hint)
    })?;
    let found = version_of(&doc);
    if found != version {
        let short = what.rsplit(' ').next().unwrap_or(what);
        return Err(Error::new(
            Kind::Conflict,
            format!(
                "{}: {short} version {found} is not supported",
                path.display()
            ),
        ));
    }
    Ok(Some(doc))
}
