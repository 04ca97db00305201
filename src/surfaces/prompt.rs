//! Reading the precomputed prompt segments (written by `segment::write_all` after every
//! `keyage status` / agent run), for `keyage prompt` and the hook's age warning. Reads two
//! small files and stats two: no network, no async runtime, no SDK. The shells do the same
//! with builtins (see `shell`).
//!
//! A segment is shown when `_meta` says it still describes the AWS files: the same
//! credentials/config paths with the same modification times, written less than
//! [`MAX_SEGMENT_AGE`] ago. When only the modification times differ (another tool wrote a
//! file: `aws configure set region …`), it is still shown while the key id the segment is
//! about (`.ids/<file>`) is still in the credentials or config file: a write elsewhere never
//! turns a warning into silence, and a key another tool replaced is no longer shown. Otherwise
//! (missing, other paths, stale, the key gone) nothing is printed: better silent than wrong,
//! and never a wait (every read is a regular file under a size cap).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::env::Env;
use crate::profiles::{locate, FileKind};
use crate::surfaces::segment::{self, parse_meta, ALL_FILE, META_FILE};

/// Segments not refreshed for this long are not shown.
pub(crate) const MAX_SEGMENT_AGE: Duration = Duration::from_secs(7 * 24 * 3600);

/// `<state_dir>/prompt`.
pub(crate) fn segment_dir(env: &Env) -> PathBuf {
    segment::dir(env)
}

/// The credentials file the SDKs read.
pub(crate) fn credentials_file(env: &Env) -> PathBuf {
    locate::path(env, FileKind::Credentials)
}

/// `<secs>.<nanos>` or `missing`, as `_meta` records it.
pub(crate) fn mtime_text(path: &Path) -> String {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => match t.duration_since(UNIX_EPOCH) {
            Ok(d) => format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
            Err(_) => "0.000000000".to_string(),
        },
        Err(_) => "missing".to_string(),
    }
}

/// The segment shown for a profile (`current` scope).
pub(crate) fn profile_segment(env: &Env, profile: &str, now: SystemTime) -> Option<String> {
    read_segment(env, &segment::file_name(profile), now)
}

/// The segment over all keys (`all` scope).
pub(crate) fn all_segment(env: &Env, now: SystemTime) -> Option<String> {
    read_segment(env, ALL_FILE, now)
}

/// The first line of segment file `file` when `_meta` vouches for it (see the module docs);
/// None otherwise.
pub(crate) fn read_segment(env: &Env, file: &str, now: SystemTime) -> Option<String> {
    let dir = segment_dir(env);
    let meta = read_small(&dir.join(META_FILE))?;
    let files = [
        ("credentials", credentials_file(env)),
        ("config", locate::path(env, FileKind::Config)),
    ];
    let state = meta_state(&meta, &files, now);
    if state == MetaState::Stale {
        return None;
    }
    let text = read_small(&dir.join(file))?;
    let line = text.lines().next()?.trim_end();
    if line.is_empty() || line.chars().any(char::is_control) {
        return None;
    }
    if state == MetaState::FilesChanged {
        let id = read_small(&dir.join(segment::IDS_DIR).join(file))?;
        let key = id.lines().next()?.trim();
        if !crate::profiles::classify::looks_like_key_id(key)
            || !files.iter().any(|(_, p)| file_holds(p, key))
        {
            return None;
        }
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

/// True when the AWS file at `path` still holds `key_id` somewhere.
fn file_holds(path: &Path, key_id: &str) -> bool {
    use crate::sys::fs::{cap, read_optional_with, Follow};
    read_optional_with(path, cap::AWS_FILE, Follow::Yes)
        .ok()
        .flatten()
        .is_some_and(|b| memchr::memmem::find(&b, key_id.as_bytes()).is_some())
}

/// What `_meta` says about the segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MetaState {
    /// Written recently, for these files, which have not changed since.
    Current,
    /// Written recently for these files, but a file changed since (another tool wrote it).
    FilesChanged,
    /// Unreadable, another version, too old, or for other files.
    Stale,
}

/// Pure check of `_meta` (see [`MetaState`]).
pub(crate) fn meta_state(meta: &str, files: &[(&str, PathBuf)], now: SystemTime) -> MetaState {
    let kv = parse_meta(meta);
    let get = |k: &str| kv.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    if get("version") != Some("1") {
        return MetaState::Stale;
    }
    let Some(written) = get("written_at").and_then(|v| v.parse::<u64>().ok()) else {
        return MetaState::Stale;
    };
    let written = UNIX_EPOCH + Duration::from_secs(written);
    if now.duration_since(written).unwrap_or_default() > MAX_SEGMENT_AGE {
        return MetaState::Stale;
    }
    if !files
        .iter()
        .all(|(name, path)| get(&format!("{name}_file")) == Some(&*path.to_string_lossy()))
    {
        return MetaState::Stale;
    }
    if files
        .iter()
        .all(|(name, path)| get(&format!("{name}_mtime")) == Some(&*mtime_text(path)))
    {
        MetaState::Current
    } else {
        MetaState::FilesChanged
    }
}

/// Pure check of `_meta`: written recently, for these files, which have not changed since.
#[cfg(test)]
pub(crate) fn meta_vouches(meta: &str, files: &[(&str, PathBuf)], now: SystemTime) -> bool {
    meta_state(meta, files, now) == MetaState::Current
}

/// One value of `_meta` (e.g. `all_level`).
pub(crate) fn meta_value(env: &Env, key: &str) -> Option<String> {
    let meta = read_small(&segment_dir(env).join(META_FILE))?;
    parse_meta(&meta)
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_string())
}

/// What the pre-commit hook says about key ages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AgeWarning {
    pub message: String,
    pub block: bool,
}

/// A warning when any key is near or past its max age (the `_all` segment); it blocks only
/// with `[hook] block_on_age = true` and an expired key (`_meta` says `all_level=expired`).
pub(crate) fn hook_age_warning(env: &Env) -> Option<AgeWarning> {
    let seg = all_segment(env, SystemTime::now())?;
    let expired = meta_value(env, "all_level").as_deref() == Some("expired");
    // The config is read only when it matters (a broken one means: warn only).
    let block = expired
        && crate::config::Config::load(env)
            .unwrap_or_default()
            .hook
            .block_on_age;
    Some(AgeWarning {
        message: format!(
            "warning: an AWS key is getting old ({seg}); see `keyage status`, rotate with \
             `keyage rotate-self`"
        ),
        block,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn meta_checks() {
        let (d, creds) = crate::sys::testing::temp_file("credentials", b"x", None);
        let config = d.path().join("config");
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
        assert_eq!(
            meta_state(&meta("1.000000000"), &files, now),
            MetaState::FilesChanged
        );
        assert_eq!(
            meta_state(&meta(&mtime_text(&creds)), &other, now),
            MetaState::Stale
        );
        assert!(!meta_vouches("", &files, now));
    }
}
