//! The allowlist: what pattern matches are not reported. It never excuses the user's own keys
//! (current or old): a path entry still has its files scanned for them.

use std::collections::HashSet;
use std::path::Path;

use regex::bytes::Regex;

use crate::scan::rules::{is_documented_example, KEY_ID_PATTERN};

/// A line containing this text is not reported for pattern matches (own keys still are).
pub(crate) const INLINE_ALLOW: &[u8] = b"keyage:allow";
/// The most of `.keyageignore` that is read.
const MAX_IGNORE_FILE: u64 = 1 << 20;

/// Values and paths whose pattern matches are not reported.
#[derive(Debug, Default)]
pub struct Allowlist {
    values: HashSet<String>,
    paths: Option<ignore::gitignore::Gitignore>,
    /// Line-level problems in the allowlist sources (shown as warnings).
    pub warnings: Vec<String>,
}

impl Allowlist {
    /// An allowlist rooted at `root` (paths in entries are relative to it).
    /// Each entry is a key id (allowed wherever it appears) or a gitignore-style path pattern
    /// (pattern matches in those files are not reported). Empty lines and `#` comments are
    /// skipped.
    pub(crate) fn new(root: &Path, entries: &[(String, String)]) -> Self {
        let id_re = Regex::new(&format!("^{KEY_ID_PATTERN}$")).expect("static regex");
        let mut values = HashSet::new();
        let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
        let mut warnings = Vec::new();
        let mut any_path = false;
        for (source, line) in entries {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if id_re.is_match(t.as_bytes()) {
                values.insert(t.to_string());
            } else if let Err(e) = builder.add_line(None, t) {
                warnings.push(format!("{source}: ignoring allowlist entry: {e}"));
            } else {
                any_path = true;
            }
        }
        let paths = if any_path {
            match builder.build() {
                Ok(g) => Some(g),
                Err(e) => {
                    warnings.push(format!("allowlist paths ignored: {e}"));
                    None
                }
            }
        } else {
            None
        };
        Allowlist {
            values,
            paths,
            warnings,
        }
    }

    /// Reads `<root>/.keyageignore` (if any, bounded) plus extra entries (e.g.
    /// `git config keyage.allow`).
    pub(crate) fn load(root: &Path, extra: &[String]) -> Self {
        let mut entries = Vec::new();
        let mut unreadable = None;
        let file = root.join(".keyageignore");
        // Bounded, regular files only, never a blocking open (a FIFO here must not hang the hook).
        match crate::sys::fs::read_optional(&file, MAX_IGNORE_FILE) {
            Ok(Some(bytes)) => {
                let text = String::from_utf8_lossy(&bytes);
                for (i, l) in text.lines().enumerate() {
                    entries.push((format!("{}:{}", file.display(), i + 1), l.to_string()));
                }
            }
            Ok(None) => {}
            Err(e) => unreadable = Some(format!("ignoring {}: {}", file.display(), e.message)),
        }
        for e in extra {
            entries.push(("git config keyage.allow".to_string(), e.clone()));
        }
        let mut a = Allowlist::new(root, &entries);
        a.warnings.extend(unreadable);
        a
    }

    /// True for a documented example or a listed key id.
    pub(crate) fn allows_value(&self, value: &[u8]) -> bool {
        is_documented_example(value)
            || std::str::from_utf8(value).is_ok_and(|s| self.values.contains(s))
    }

    /// True when `path` (relative to the root, or absolute under it) is listed: its pattern
    /// matches are not reported (its own-key matches are).
    pub(crate) fn allows_path(&self, path: &Path, is_dir: bool) -> bool {
        match &self.paths {
            Some(g) => {
                let rel = if path.is_absolute() {
                    match path.strip_prefix(g.path()) {
                        Ok(r) => r,
                        Err(_) => return false,
                    }
                } else {
                    path
                };
                !rel.has_root() && g.matched_path_or_any_parents(rel, is_dir).is_ignore()
            }
            None => false,
        }
    }
}
