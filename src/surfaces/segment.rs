//! The precomputed prompt segment files, so a shell prompt can show a key's state with builtins
//! only (no fork, no keyage process). `keyage status`, the agent and every command that changes
//! keys (rotate-self, backout, finalize: `keys::after_change`) rewrite them from the same
//! `Finding`s the table shows:
//!
//! - `<state_dir>/prompt/<profile>`: the segment for that profile's key, one line ending in
//!   `\n` (e.g. `key 87d\n`, `key 92d!\n`), or an empty file when all is well. Every profile in
//!   the files gets one (profiles without a static key get an empty file).
//! - `<state_dir>/prompt/_all`: the worst segment over all keys (local and the users' other
//!   active keys).
//! - `<state_dir>/prompt/.ids/<name>`: for each non-empty segment file, the key id it is about
//!   (one line).
//! - `<state_dir>/prompt/_meta`: `key=value` lines: `version=1`, `written_at=<unix seconds>`,
//!   `credentials_file=<path>`, `credentials_mtime=<unix seconds>.<nanoseconds>` (or
//!   `missing`), the same two for `config_`, and `all_level=` the level `_all` shows
//!   (`expired`, `warn`, `unused`, `pending` or `none`), so readers (the git hook) know
//!   "expired" from data, not from the rendered text.
//! - `<state_dir>/prompt/_index`: the name and a hash of every segment file as last written,
//!   so a run writes only the files whose content changed (10,000 profiles: one read, not
//!   10,000).
//!
//! Readers (`surfaces::prompt`, the shell code of `keyage init`) show the first line when the
//! AWS files are unchanged since `_meta` (same paths and modification times). When another tool
//! changed a file since (`aws configure set region …`), they still show it while the key id of
//! `.ids/<name>` is still in the credentials or config file: a write elsewhere never turns a
//! warning into silence, and a key replaced by another tool stops being shown.
//!
//! `_meta` is rewritten only when a line other than `written_at` changes, or `written_at` is
//! older than [`META_REFRESH`].
//!
//! File names: a profile name made only of `A-Z a-z 0-9 . _ -` that does not start with `_` or
//! `.` is used as is; any other byte is written `%XX` (upper-case hex), and so is a leading `_`
//! or `.` (so `_all`/`_meta` and `..` can never be a profile's file).
//!
//! A segment is shown for levels `warn`, `expired` and `unused`, and for a key with a pending
//! rotation; `format` (config `[prompt]`) gets `{age}` (`87`, or `≥12` for a lower bound),
//! `{mark}` (`expired_mark` when expired, `pending_mark` when a rotation is pending, else empty),
//! `{level}` and `{profile}`. Files are replaced atomically (temp file + rename) and only when
//! their content changes.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::config::PromptConfig;
use crate::env::Env;
use crate::error::{IoContext, Result};
use crate::keys::policy::{worst, Finding, Level};
use crate::profiles::{Class, Inventory};

pub(crate) const PROMPT_DIR: &str = "prompt";
pub(crate) const ALL_FILE: &str = "_all";
pub(crate) const META_FILE: &str = "_meta";
pub(crate) const INDEX_FILE: &str = "_index";

/// `_meta` is rewritten at least this often (its `written_at` tells readers the segments are
/// not abandoned; they give up after `prompt::MAX_SEGMENT_AGE`).
pub(crate) const META_REFRESH: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The folder holding the segment files.
pub(crate) fn dir(env: &Env) -> PathBuf {
    env.state_dir().join(PROMPT_DIR)
}

/// The file name for a profile (see the module docs).
pub fn file_name(profile: &str) -> String {
    let mut out = String::with_capacity(profile.len());
    for (i, b) in profile.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'-' || ((b == b'_' || b == b'.') && i > 0);
        if plain {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    if out.is_empty() {
        out.push_str("%00");
    }
    out
}

/// The segment for one finding (empty when nothing needs showing).
pub(crate) fn segment_text(
    f: Option<&Finding>,
    cfg: &PromptConfig,
    label: &str,
    pending: bool,
) -> String {
    let Some(f) = f else {
        return String::new();
    };
    if f.rotated_elsewhere {
        // The files hold a key another machine rotated: whatever the format, say so.
        return format!("key rotated elsewhere{}", cfg.expired_mark);
    }
    let shown = matches!(f.level, Level::Warn | Level::Expired | Level::Unused);
    if !(shown || pending) || f.level == Level::Skipped {
        return String::new();
    }
    let mark = if pending {
        cfg.pending_mark.as_str()
    } else if f.level == Level::Expired {
        cfg.expired_mark.as_str()
    } else {
        ""
    };
    cfg.format
        .replace("{age}", &f.age_text())
        .replace("{mark}", mark)
        .replace("{level}", f.level.as_str())
        .replace("{profile}", label)
}

/// What `_all` shows, for `_meta`'s `all_level` (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AllLevel {
    Expired,
    Warn,
    Unused,
    Pending,
    None,
}

impl AllLevel {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            AllLevel::Expired => "expired",
            AllLevel::Warn => "warn",
            AllLevel::Unused => "unused",
            AllLevel::Pending => "pending",
            AllLevel::None => "none",
        }
    }
}

/// The rendered segment files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rendered {
    /// (file name, content) for every profile and `_all`, and `.ids/<name>` for the
    /// non-empty ones.
    pub files: Vec<(String, String)>,
    pub all_level: AllLevel,
}

/// The folder (inside the segment folder) with the key id of each non-empty segment: file
/// `.ids/<name>` beside segment file `<name>`. A name starting with `.` is never a profile's.
pub(crate) const IDS_DIR: &str = ".ids";

/// A segment file's content: the segment line, or nothing; with the key id it is about.
fn content(segment: String, key_id: &str) -> (String, Option<String>) {
    if segment.is_empty() {
        (segment, None)
    } else {
        (segment + "\n", Some(format!("{key_id}\n")))
    }
}

/// The content of every segment file.
pub(crate) fn render(
    inventory: &Inventory,
    findings: &[Finding],
    cfg: &PromptConfig,
    pending: &BTreeSet<String>,
) -> Rendered {
    let by_id: std::collections::HashMap<&str, &Finding> = findings
        .iter()
        .rev()
        .map(|f| (f.key_id.as_str(), f))
        .collect();
    let mut out = Vec::with_capacity(inventory.profiles.len() + 1);
    for p in &inventory.profiles {
        let f = match &p.class {
            Class::Static { key_id } => by_id.get(key_id.as_str()).copied(),
            _ => None,
        };
        let is_pending = f.is_some_and(|f| pending.contains(&f.key_id));
        let name = file_name(&p.name);
        match f {
            Some(f) => {
                let (text, id) =
                    content(segment_text(Some(f), cfg, &p.name, is_pending), &f.key_id);
                if let Some(id) = id {
                    out.push((format!("{IDS_DIR}/{name}"), id));
                }
                out.push((name, text));
            }
            None => out.push((name, String::new())),
        }
    }
    let w = worst(findings.iter().filter(|f| f.level != Level::Skipped));
    let w_pending = findings.iter().find(|f| {
        pending.contains(&f.key_id)
            && !matches!(
                w.map(|w| w.level),
                Some(Level::Expired | Level::Warn | Level::Unused)
            )
    });
    // A key rotated elsewhere outranks every age: the files hold a key that no longer works.
    let elsewhere = findings.iter().find(|f| f.rotated_elsewhere);
    let (all, all_level) = match (w, w_pending, elsewhere) {
        (_, _, Some(e)) => (
            content(segment_text(Some(e), cfg, "all", false), &e.key_id),
            AllLevel::Expired,
        ),
        (Some(w), _, None) if matches!(w.level, Level::Expired | Level::Warn | Level::Unused) => (
            content(
                segment_text(Some(w), cfg, "all", pending.contains(&w.key_id)),
                &w.key_id,
            ),
            match w.level {
                Level::Expired => AllLevel::Expired,
                Level::Warn => AllLevel::Warn,
                _ => AllLevel::Unused,
            },
        ),
        (_, Some(p), None) => (
            content(segment_text(Some(p), cfg, "all", true), &p.key_id),
            AllLevel::Pending,
        ),
        _ => ((String::new(), None), AllLevel::None),
    };
    let (all, all_id) = all;
    let all_level = if all.is_empty() {
        AllLevel::None
    } else {
        all_level
    };
    if let Some(id) = all_id {
        out.push((format!("{IDS_DIR}/{ALL_FILE}"), id));
    }
    out.push((ALL_FILE.to_string(), all));
    Rendered {
        files: out,
        all_level,
    }
}

/// 64-bit FNV-1a, for the index (not security: a changed file with an equal hash would only
/// be rewritten one change later).
fn hash(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// [`write_all`], a failure being one warning line (the segments are a cache of the findings:
/// the command that computed them goes on).
pub(crate) fn write_or_warn(
    env: &Env,
    inventory: &Inventory,
    findings: &[Finding],
    cfg: &PromptConfig,
    pending: &BTreeSet<String>,
) {
    if let Err(e) = write_all(env, inventory, findings, cfg, pending) {
        crate::warning!("prompt segment not written: {e}");
    }
}

/// Writes the segment files that changed, `_index` and `_meta`; removes files of profiles that
/// are gone.
pub(crate) fn write_all(
    env: &Env,
    inventory: &Inventory,
    findings: &[Finding],
    cfg: &PromptConfig,
    pending: &BTreeSet<String>,
) -> Result<()> {
    let dir = dir(env);
    // The state folder first (refused when a symlink or someone else's), then its subfolder.
    crate::state::ensure_dir(env)?;
    crate::state::ensure_private_dir(&dir)?;
    crate::state::ensure_private_dir(&dir.join(IDS_DIR))?;
    let rendered = render(inventory, findings, cfg, pending);
    let index_path = dir.join(INDEX_FILE);
    // The index of the last write: name → hash. Missing or unreadable: check every file.
    let old_index = read_small(&index_path).and_then(|b| String::from_utf8(b).ok());
    let old: Option<std::collections::HashMap<&str, &str>> = old_index
        .as_deref()
        .map(|t| t.lines().filter_map(|l| l.split_once('\t')).collect());
    let mut new_index = String::with_capacity(rendered.files.len() * 32);
    for (name, text) in &rendered.files {
        let h = format!("{:016x}", hash(text.as_bytes()));
        let known = old
            .as_ref()
            .and_then(|o| o.get(name.as_str()))
            .is_some_and(|old_h| *old_h == h);
        if !known {
            write_if_changed(&dir.join(name), text.as_bytes())?;
        }
        new_index.push_str(name);
        new_index.push('\t');
        new_index.push_str(&h);
        new_index.push('\n');
    }
    let meta = meta_text(inventory, rendered.all_level);
    if meta_needs_write(&dir.join(META_FILE), &meta) {
        write_if_changed(&dir.join(META_FILE), meta.as_bytes())?;
    }
    match &old {
        // Known: remove the files the last write made that are gone now.
        Some(o) => {
            // A hash set: 20,000 names at 10,000 profiles, one lookup each (a B-tree paid
            // ~15 string compares per insert and per lookup).
            let keep: std::collections::HashSet<&str> =
                rendered.files.iter().map(|(n, _)| n.as_str()).collect();
            for name in o.keys() {
                let ours = !name.starts_with('.') && !name.contains('/')
                    || name
                        .strip_prefix(IDS_DIR)
                        .and_then(|r| r.strip_prefix('/'))
                        .is_some_and(|r| !r.contains('/') && !r.starts_with('.'));
                if !keep.contains(name) && ours {
                    let _ = std::fs::remove_file(dir.join(name));
                }
            }
        }
        // Unknown: look at the whole folder once.
        None => {
            let mut keep: BTreeSet<String> =
                rendered.files.iter().map(|(n, _)| n.clone()).collect();
            keep.insert(META_FILE.to_string());
            keep.insert(INDEX_FILE.to_string());
            for (sub, prefix) in [(dir.clone(), ""), (dir.join(IDS_DIR), ".ids/")] {
                let Ok(rd) = std::fs::read_dir(&sub) else {
                    continue;
                };
                for e in rd.flatten() {
                    let name = format!("{prefix}{}", e.file_name().to_string_lossy());
                    let is_file = e.file_type().is_ok_and(|t| t.is_file());
                    if is_file
                        && !keep.contains(&name)
                        && !name.contains("/.keyage-")
                        && !name.starts_with(".keyage-")
                    {
                        let _ = std::fs::remove_file(e.path());
                    }
                }
            }
        }
    }
    if old_index.as_deref() != Some(new_index.as_str()) {
        write_if_changed(&index_path, new_index.as_bytes())?;
    }
    Ok(())
}

/// True unless `_meta` at `path` already says `meta` (apart from `written_at`) and was
/// written less than [`META_REFRESH`] ago.
fn meta_needs_write(path: &Path, meta: &str) -> bool {
    let Some(old) = read_small(path).and_then(|b| String::from_utf8(b).ok()) else {
        return true;
    };
    let without = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("written_at="))
            .map(str::to_string)
            .collect()
    };
    if without(&old) != without(meta) {
        return true;
    }
    let written = parse_meta(&old)
        .into_iter()
        .find(|(k, _)| *k == "written_at")
        .and_then(|(_, v)| v.parse::<u64>().ok());
    let now = unix_now();
    match written {
        Some(w) => now.saturating_sub(w) >= META_REFRESH.as_secs() || w > now,
        None => true,
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A regular file's bytes (never through a link, never blocking on a FIFO or device), at most
/// `sys::fs::cap::SMALL_TEXT` bytes (`_index` of 10,000 profiles is ~300 KB); None otherwise.
fn read_small(path: &Path) -> Option<Vec<u8>> {
    use crate::sys::fs::{cap, read_optional_with, Follow};
    read_optional_with(path, cap::SMALL_TEXT, Follow::No).ok()?
}

fn mtime_text(path: &Path) -> String {
    match std::fs::metadata(path).and_then(|m| m.modified()) {
        Ok(t) => match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => format!("{}.{:09}", d.as_secs(), d.subsec_nanos()),
            Err(_) => "0.000000000".to_string(),
        },
        Err(_) => "missing".to_string(),
    }
}

/// The `_meta` file (see the module docs).
pub(crate) fn meta_text(inventory: &Inventory, all_level: AllLevel) -> String {
    format!(
        "version=1\nwritten_at={}\ncredentials_file={}\ncredentials_mtime={}\nconfig_file={}\nconfig_mtime={}\nall_level={}\n",
        unix_now(),
        inventory.credentials.path.display(),
        mtime_text(&inventory.credentials.path),
        inventory.config.path.display(),
        mtime_text(&inventory.config.path),
        all_level.as_str(),
    )
}

/// Parses `_meta` into (key, value) pairs.
pub(crate) fn parse_meta(text: &str) -> Vec<(&str, &str)> {
    text.lines().filter_map(|l| l.split_once('=')).collect()
}

/// Replaces `path` with `bytes` (temp file + rename; no fsync: a lost segment is rewritten by
/// the next run) unless it already holds exactly these bytes.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if read_small(path).is_some_and(|old| old == bytes) {
        return Ok(());
    }
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".keyage-")
        .tempfile_in(dir)
        .at("create a temp file in", dir)?;
    tmp.write_all(bytes).at("write", tmp.path())?;
    tmp.persist(path)
        .map_err(|e| crate::error::Error::io("replace", path, e.error))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::policy::Source;

    fn finding(level: Level, age: i64) -> Finding {
        Finding {
            key_id: "AKIA1".into(),
            source: Source::Local,
            profiles: vec!["default".into()],
            found_via: None,
            level,
            finding: true,
            age_days: Some(age),
            age_is_lower_bound: false,
            days_left: None,
            warn_threshold: None,
            max_age_days: 90,
            created: None,
            first_seen: None,
            checked_at: None,
            active: Some(true),
            invalid: false,
            last_used: None,
            last_used_service: None,
            last_used_region: None,
            account: None,
            arn: None,
            user: None,
            problem: None,
            missing_action: None,
            note: String::new(),
            rotated_elsewhere: false,
        }
    }

    #[test]
    fn names() {
        assert_eq!(file_name("default"), "default");
        assert_eq!(file_name("my-prof.1_x"), "my-prof.1_x");
        assert_eq!(file_name("_all"), "%5Fall");
        assert_eq!(file_name(".."), "%2E.");
        assert_eq!(file_name("a/b c"), "a%2Fb%20c");
        assert_eq!(file_name(""), "%00");
    }

    #[test]
    fn texts() {
        let c = PromptConfig::default();
        assert_eq!(
            segment_text(Some(&finding(Level::Expired, 92)), &c, "p", false),
            "key 92d!"
        );
        assert_eq!(
            segment_text(Some(&finding(Level::Warn, 87)), &c, "p", false),
            "key 87d"
        );
        assert_eq!(
            segment_text(Some(&finding(Level::Ok, 3)), &c, "p", false),
            ""
        );
        assert_eq!(
            segment_text(Some(&finding(Level::Ok, 3)), &c, "p", true),
            "key 3d~"
        );
        assert_eq!(
            segment_text(Some(&finding(Level::Skipped, 300)), &c, "p", true),
            ""
        );
        assert_eq!(segment_text(None, &c, "p", false), "");
        let mut moved = finding(Level::Unknown, 3);
        moved.rotated_elsewhere = true;
        assert_eq!(
            segment_text(Some(&moved), &c, "p", false),
            "key rotated elsewhere!"
        );
        let mut lb = finding(Level::Warn, 80);
        lb.age_is_lower_bound = true;
        assert_eq!(segment_text(Some(&lb), &c, "p", false), "key ≥80d");
        let c2 = PromptConfig {
            format: "{profile}:{level}".into(),
            ..c
        };
        assert_eq!(
            segment_text(Some(&finding(Level::Unused, 50)), &c2, "w", false),
            "w:unused"
        );
    }
}
