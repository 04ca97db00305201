//! State under `$XDG_STATE_HOME/keyage` (0700 folder, 0600 files, atomic writes, no secrets).
//! Submodules own one file each: the fact cache (issue 4), the rotation journal (issue 5),
//! the notification memory (issue 7), the prompt segment (issue 6).

pub mod cache;

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{IoContext, Result};

/// Creates (if needed) and returns the state folder, mode 0700.
pub fn ensure_dir(env: &Env) -> Result<PathBuf> {
    let dir = env.state_dir();
    ensure_private_dir(&dir)?;
    Ok(dir)
}

/// Creates `dir` (and parents) and makes it 0700.
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).at("create", dir)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).at("chmod", dir)?;
    }
    Ok(())
}

/// Writes `bytes` to `path` atomically: a 0600 temp file in the same folder, fsync, rename,
/// fsync of the folder. Readers see the old or the new file, never a mix.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".keyage-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .at("create a temp file in", dir)?;
    // tempfile creates files 0600 on unix.
    tmp.write_all(bytes).at("write", tmp.path())?;
    tmp.as_file().sync_all().at("fsync", tmp.path())?;
    tmp.persist(path)
        .map_err(|e| crate::error::Error::io("replace", path, e.error))?;
    sync_dir(dir);
    Ok(())
}

/// fsyncs a folder so a rename in it is durable (best effort; not possible on Windows).
pub fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn atomic_write_is_private() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("state");
        ensure_private_dir(&sub).unwrap();
        let p = sub.join("x.json");
        write_atomic(&p, b"{}").unwrap();
        write_atomic(&p, b"{\"a\":1}").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, 0o600);
            let m = std::fs::metadata(&sub).unwrap().permissions().mode() & 0o777;
            assert_eq!(m, 0o700);
        }
    }
}
