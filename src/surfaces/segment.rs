//! The precomputed prompt segment files, so a shell prompt can show a key's state with builtins
//! only (no fork, no keyage process). `keyage status` (and the agent) rewrite them after every
//! run from the same `Finding`s the table shows:
//!
//! - `<state_dir>/prompt/<profile>`: the segment for that profile's key, one line ending in
//!   `\n` (e.g. `key 87d\n`, `key 92d!\n`), or an empty file when all is well. Every profile in
//!   the files gets one (profiles without a static key get an empty file).
//! - `<state_dir>/prompt/_all`: the worst segment over all keys (local and the users' other
//!   active keys).
//! - `<state_dir>/prompt/_meta`: `key=value` lines: `version=1`, `written_at=<unix seconds>`,
//!   `credentials_file=<path>`, `credentials_mtime=<unix seconds>.<nanoseconds>` (or
//!   `missing`), and the same two for `config_`. A reader compares the mtime with the file's
//!   current one to know the segments still describe the files.
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

pub const PROMPT_DIR: &str = "prompt";
pub const ALL_FILE: &str = "_all";
pub const META_FILE: &str = "_meta";

/// The folder holding the segment files.
pub fn dir(env: &Env) -> PathBuf {
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
pub fn segment_text(f: Option<&Finding>, cfg: &PromptConfig, label: &str, pending: bool) -> String {
    let Some(f) = f else {
        return String::new();
    };
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

/// The content of every segment file: (file name, bytes).
pub fn render(
    inventory: &Inventory,
    findings: &[Finding],
    cfg: &PromptConfig,
    pending: &BTreeSet<String>,
) -> Vec<(String, String)> {
    let line = |s: String| if s.is_empty() { s } else { s + "\n" };
    let mut out = Vec::new();
    for p in &inventory.profiles {
        let f = match &p.class {
            Class::Static { key_id } => findings.iter().find(|f| &f.key_id == key_id),
            _ => None,
        };
        let is_pending = f.is_some_and(|f| pending.contains(&f.key_id));
        out.push((
            file_name(&p.name),
            line(segment_text(f, cfg, &p.name, is_pending)),
        ));
    }
    let w = worst(findings.iter().filter(|f| f.level != Level::Skipped));
    let w_pending = findings.iter().find(|f| {
        pending.contains(&f.key_id)
            && !matches!(
                w.map(|w| w.level),
                Some(Level::Expired | Level::Warn | Level::Unused)
            )
    });
    let all = match (w, w_pending) {
        (Some(w), _) if matches!(w.level, Level::Expired | Level::Warn | Level::Unused) => {
            segment_text(Some(w), cfg, "all", pending.contains(&w.key_id))
        }
        (_, Some(p)) => segment_text(Some(p), cfg, "all", true),
        _ => String::new(),
    };
    out.push((ALL_FILE.to_string(), line(all)));
    out
}

/// Writes every segment file and `_meta`; removes files of profiles that are gone.
pub fn write_all(
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
    let files = render(inventory, findings, cfg, pending);
    let mut keep: BTreeSet<String> = files.iter().map(|(n, _)| n.clone()).collect();
    keep.insert(META_FILE.to_string());
    for (name, text) in &files {
        write_if_changed(&dir.join(name), text.as_bytes())?;
    }
    let meta = meta_text(inventory);
    write_if_changed(&dir.join(META_FILE), meta.as_bytes())?;
    if let Ok(rd) = std::fs::read_dir(&dir) {
        for e in rd.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !keep.contains(&name) && !name.starts_with(".keyage-") {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    Ok(())
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
pub fn meta_text(inventory: &Inventory) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    format!(
        "version=1\nwritten_at={now}\ncredentials_file={}\ncredentials_mtime={}\nconfig_file={}\nconfig_mtime={}\n",
        inventory.credentials.path.display(),
        mtime_text(&inventory.credentials.path),
        inventory.config.path.display(),
        mtime_text(&inventory.config.path),
    )
}

/// Parses `_meta` into (key, value) pairs.
pub fn parse_meta(text: &str) -> Vec<(&str, &str)> {
    text.lines().filter_map(|l| l.split_once('=')).collect()
}

/// Replaces `path` with `bytes` (temp file + rename; no fsync: a lost segment is rewritten by
/// the next run) unless it already holds exactly these bytes.
fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if crate::sys::fs::read_optional_with(
        path,
        crate::sys::fs::cap::SEGMENT,
        crate::sys::fs::Follow::No,
    )
    .is_ok_and(|old| old.as_deref() == Some(bytes))
    {
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
