//! Reading the precomputed prompt segments (`<state_dir>/prompt/<profile>`, `_all`), for
//! `keyage prompt` and the hook's age warning. Reads two small files and stats one: no
//! network, no async runtime, no SDK. The shells do the same with builtins (see `shell`).
//!
//! A segment is ignored (nothing shown) when it is missing, when the credentials file was
//! modified after it was written (the key may have changed), or when it is older than
//! [`MAX_SEGMENT_AGE`] (nobody refreshed it: better silent than wrong).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::env::Env;

/// Segments not refreshed for this long are not shown.
pub const MAX_SEGMENT_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// The segment covering every local key.
pub const ALL: &str = "_all";

/// `<state_dir>/prompt`.
pub fn segment_dir(env: &Env) -> PathBuf {
    env.state_dir().join("prompt")
}

/// The credentials file the SDKs read.
pub fn credentials_file(env: &Env) -> PathBuf {
    match env.get("AWS_SHARED_CREDENTIALS_FILE") {
        Some(p) => env.expand_tilde(p),
        None => env.expand_tilde("~/.aws/credentials"),
    }
}

/// A name that is safe as a file name in the segment folder.
fn safe_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0'])
        && name.len() <= 255
}

/// The text of segment `name` (a profile, or [`ALL`]) when it may be shown; None otherwise.
pub fn read_segment(env: &Env, name: &str, now: SystemTime) -> Option<String> {
    if !safe_name(name) {
        return None;
    }
    let path = segment_dir(env).join(name);
    read_fresh(&path, &credentials_file(env), now)
}

/// Pure-ish core: the first line of `seg` unless `creds` is newer or `seg` is too old.
pub fn read_fresh(seg: &Path, creds: &Path, now: SystemTime) -> Option<String> {
    let written = std::fs::metadata(seg).ok()?.modified().ok()?;
    if let Ok(c) = std::fs::metadata(creds).and_then(|m| m.modified()) {
        if c > written {
            return None;
        }
    }
    if now.duration_since(written).unwrap_or_default() > MAX_SEGMENT_AGE {
        return None;
    }
    let text = std::fs::read_to_string(seg).ok()?;
    let line = text.lines().next()?.trim_end();
    if line.is_empty() || line.chars().any(char::is_control) {
        return None;
    }
    Some(line.to_string())
}

/// What the pre-commit hook says about key ages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeWarning {
    pub message: String,
    pub block: bool,
}

/// A warning when any local key is near or past its max age (from the `_all` segment).
pub fn hook_age_warning(env: &Env) -> Option<AgeWarning> {
    let seg = read_segment(env, ALL, SystemTime::now())?;
    // The config is read only when there is something to say (a broken one means: warn only).
    let cfg = crate::config::Config::load(env).unwrap_or_default();
    let mark = cfg.prompt.expired_mark.as_str();
    let expired = !mark.is_empty() && seg.contains(mark);
    Some(AgeWarning {
        message: format!(
            "warning: a local AWS key is getting old ({seg}); see `keyage status`, rotate with \
             `keyage rotate-self`"
        ),
        block: expired && cfg.hook.block_on_age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn fresh_stale_and_changed() {
        let d = tempfile::tempdir().unwrap();
        let seg = d.path().join("default");
        let creds = d.path().join("credentials");
        std::fs::write(&creds, "x").unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&seg, "key 92d!\n").unwrap();
        let now = SystemTime::now();
        assert_eq!(read_fresh(&seg, &creds, now).as_deref(), Some("key 92d!"));
        assert_eq!(read_fresh(&seg, &creds, now + MAX_SEGMENT_AGE * 2), None);
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&creds, "y").unwrap();
        assert_eq!(read_fresh(&seg, &creds, SystemTime::now()), None);
        assert!(!safe_name("../x") && !safe_name(".hidden") && safe_name("work"));
    }
}
