//! Unit-test help for the modules that touch files: a temporary folder holding one file.

use std::path::PathBuf;

/// A new temporary folder (removed when the first value drops) with the file `name` in it
/// holding `bytes`; on Unix its mode is set to `mode` when one is given.
pub(crate) fn temp_file(
    name: &str,
    bytes: &[u8],
    mode: Option<u32>,
) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    #[cfg(unix)]
    if let Some(m) = mode {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
    }
    #[cfg(not(unix))]
    let _ = mode;
    (dir, path)
}
