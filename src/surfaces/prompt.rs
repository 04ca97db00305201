//! Reading the precomputed prompt segments (written by `segment::write_all` after every
//! `keyage status` / agent run), for `keyage prompt` and the hook's age warning. Reads two
//! small files and stats two: no network, no async runtime, no SDK. The shells do the same
//! with builtins (see `shell`).
//!
//! A segment is shown only when `_meta` says it still describes the AWS files: the same
//! credentials/config paths with the same modification times, written less than
//! [`MAX_SEGMENT_AGE`] ago. Otherwise (missing, changed, stale) nothing is printed: better
//! silent than wrong, and never a wait.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::env::Env;
use crate::profiles::{locate, FileKind};
use crate::surfaces::segment::{self, parse_meta, ALL_FILE, META_FILE};

/// Segments not refreshed for this long are not shown.
pub const MAX_SEGMENT_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// `<state_dir>/prompt`.
pub fn segment_dir(env: &Env) -> PathBuf {
    segment::dir(env)
}

/// The credentials file the SDKs read.
pub fn credentials_file(env: &Env) -> PathBuf {
    locate::path(env, FileKind::Credentials)
}

/// `<secs>.<nanos>` or `missing`, as `_meta` records it.
pub fn mtime_text(path: &Path) -> String {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
            Err(_) => "0.000000000".to_string(),
        },
        Err(_) => "missing".to_string(),
    }
}

/// The segment shown for a profile (`current` scope).
pub fn profile_segment(env: &Env, profile: &str, now: SystemTime) -> Option<String> {
    read_segment(env, &segment::file_name(profile), now)
}

/// The segment over all keys (`all` scope).
pub fn all_segment(env: &Env, now: SystemTime) -> Option<String> {
    read_segment(env, ALL_FILE, now)
}

/// The first line of segment file `file` when `_meta` vouches for it; None otherwise.
pub fn read_segment(env: &Env, file: &str, now: SystemTime) -> Option<String> {
    let dir = segment_dir(env);
    let meta = read_small(&dir.join(META_FILE))?;
    let files = [
        ("credentials", credentials_file(env)),
        ("config", locate::path(env, FileKind::Config)),
    ];
    if !meta_vouches(&meta, &files, now) {
        return None;
    }
    let text = read_small(&dir.join(file))?;
    let line = text.lines().next()?.trim_end();
    if line.is_empty() || line.chars().any(char::is_control) {
        return None;
    }
    Some(line.to_string())
}

/// A segment file's text: a regular file (never a link, FIFO or device: the prompt must not
/// block), at most 64 KiB of UTF-8; None otherwise.
fn read_small(path: &Path) -> Option<String> {
    use crate::sys::fs::{cap, read_optional_with, Follow};
    let bytes = read_optional_with(path, cap::SEGMENT, Follow::No).ok()??;
    String::from_utf8(bytes).ok()
}

/// Pure check of `_meta`: written recently, for these files, which have not changed since.
pub fn meta_vouches(meta: &str, files: &[(&str, PathBuf)], now: SystemTime) -> bool {
    let kv = parse_meta(meta);
    let get = |k: &str| kv.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    if get("version") != Some("1") {
        return false;
    }
    let Some(written) = get("written_at").and_then(|v| v.parse::<u64>().ok()) else {
        return false;
    };
    let written = UNIX_EPOCH + Duration::from_secs(written);
    if now.duration_since(written).unwrap_or_default() > MAX_SEGMENT_AGE {
        return false;
    }
    files.iter().all(|(name, path)| {
        get(&format!("{name}_file")) == Some(&*path.to_string_lossy())
            && get(&format!("{name}_mtime")) == Some(&*mtime_text(path))
    })
}

/// What the pre-commit hook says about key ages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeWarning {
    pub message: String,
    pub block: bool,
}

/// A warning when any key is near or past its max age (the `_all` segment); it blocks only
/// with `[hook] block_on_age = true` and an expired key (the segment carries `expired_mark`).
pub fn hook_age_warning(env: &Env) -> Option<AgeWarning> {
    let seg = all_segment(env, SystemTime::now())?;
    // The config is read only when there is something to say (a broken one means: warn only).
    let cfg = crate::config::Config::load(env).unwrap_or_default();
    let mark = cfg.prompt.expired_mark.as_str();
    let format_has_mark = cfg
        .prompt
        .format
        .replace("{mark}", "")
        .replace("{age}", "")
        .contains(mark);
    let expired = !mark.is_empty() && !format_has_mark && seg.contains(mark);
    Some(AgeWarning {
        message: format!(
            "warning: an AWS key is getting old ({seg}); see `keyage status`, rotate with \
             `keyage rotate-self`"
        ),
        block: expired && cfg.hook.block_on_age,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn meta_checks() {
        let d = tempfile::tempdir().unwrap();
        let creds = d.path().join("credentials");
        let config = d.path().join("config");
        std::fs::write(&creds, "x").unwrap();
        let now = SystemTime::now();
        let secs = now.duration_since(UNIX_EPOCH).unwrap().as_secs();
        let meta = |c: &str| {
            format!(
                "version=1\nwritten_at={secs}\ncredentials_file={}\ncredentials_mtime={c}\nconfig_file={}\nconfig_mtime=missing\n",
                creds.display(),
                config.display()
            )
        };
        let files = [("credentials", creds.clone()), ("config", config.clone())];
        assert!(meta_vouches(&meta(&mtime_text(&creds)), &files, now));
        assert!(!meta_vouches(&meta("1.000000000"), &files, now));
        assert!(!meta_vouches(
            &meta(&mtime_text(&creds)),
            &files,
            now + MAX_SEGMENT_AGE * 2
        ));
        let other = [("credentials", config.clone()), ("config", config.clone())];
        assert!(!meta_vouches(&meta(&mtime_text(&creds)), &other, now));
        assert!(!meta_vouches("", &files, now));
    }
}
