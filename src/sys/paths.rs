//! The program's own paths: `keyage` (the small front users call) and `keyage-core` (the full
//! program) are installed side by side.

use std::path::{Path, PathBuf};

/// The full program's file name (without the platform's executable suffix).
pub(crate) const CORE: &str = "keyage-core";
/// The front's file name (without the platform's executable suffix).
pub(crate) const FRONT: &str = "keyage";

/// The program called `name` (plus the platform's executable suffix) beside `exe`.
pub(crate) fn beside(exe: &Path, name: &str) -> PathBuf {
    exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// `keyage-core` beside this program.
pub(crate) fn core_path() -> std::io::Result<PathBuf> {
    Ok(beside(&std::env::current_exe()?, CORE))
}

/// The path of the `keyage` users call, for what installers write into hooks, units and rc
/// files: the front beside this program when this is `keyage-core`, else this program.
pub(crate) fn user_facing_exe() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let is_core = exe.file_stem().is_some_and(|s| s == CORE);
    let front = beside(&exe, FRONT);
    Ok(if is_core && front.is_file() {
        front
    } else {
        exe
    })
}
