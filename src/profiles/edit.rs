//! The one write path: replace key K (id + secret) with K' everywhere it appears, changing only
//! the bytes of those two values, atomically and under a lock.
//!
//! `targets` and `apply` are pure (document in, new text out, verified by re-parsing);
//! `replace_key` adds the effects: resolve symlinks, lock, re-read and compare, stage every
//! file, then rename them into place.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use zeroize::Zeroizing;

use super::classify::{looks_like_key_id, ACCESS_KEY_ID, SECRET_ACCESS_KEY};
use super::document::Document;
use super::{Class, FileKind, Inventory, LoadedFile};
use crate::error::{Error, IoContext, Kind, Result};
use crate::secret::{ExposeSecret, SecretKey};

/// Which of the two values a span holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    KeyId,
    Secret,
}

/// One value to replace: where it is in the document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub target: Target,
    pub section: usize,
    pub entry: usize,
    /// 1-based line.
    pub line: usize,
    pub span: Range<usize>,
}

/// A reason not to edit: line, message, fix.
pub type Refusal = (usize, String, String);

/// The value spans to replace in `doc` for `old_id`:
/// - every `aws_access_key_id = old_id`, in any section;
/// - in sections holding it, every `aws_secret_access_key` equal to `old_secret` (the secret
///   the SDK pairs with `old_id`);
/// - the secret lines listed in `effective_secret_lines` (the SDK's effective secret of each
///   profile whose effective id is `old_id`, wherever it sits).
///
/// A shadowed secret of another key in the same section is left alone.
pub fn targets(
    doc: &Document,
    old_id: &str,
    old_secret: Option<&str>,
    effective_secret_lines: &[usize],
) -> Result<Vec<Span>, Refusal> {
    let mut out: Vec<Span> = Vec::new();
    for (si, s) in doc.sections().iter().enumerate() {
        let entries = doc.entries(s);
        let holds = entries
            .iter()
            .any(|e| e.key == ACCESS_KEY_ID && doc.value(e) == old_id);
        for (ei, e) in entries.iter().enumerate() {
            let target = if holds && e.key == ACCESS_KEY_ID && doc.value(e) == old_id {
                Target::KeyId
            } else if e.key == SECRET_ACCESS_KEY
                && (effective_secret_lines.contains(&e.line)
                    || (holds && old_secret.is_some_and(|s| doc.value(e) == s)))
            {
                Target::Secret
            } else {
                continue;
            };
            if !e.continuations.is_empty() {
                return Err((
                    e.line,
                    format!("{} continues on an indented line; keyage will not guess where the value ends", e.key),
                    "remove the indented line(s) below it".into(),
                ));
            }
            if !doc.replaceable(e) {
                return Err((
                    e.line,
                    format!("the value of {} ends in an unusual whitespace character right before a comment", e.key),
                    "retype the line as `key = value # comment` with a plain space".into(),
                ));
            }
            out.push(Span {
                target,
                section: si,
                entry: ei,
                line: e.line,
                span: e.value_span.clone(),
            });
        }
    }
    Ok(out)
}

/// The new text with the targets replaced, and nothing else changed. Each target must be
/// the value of its entry; `Document::replace_values` then splices and checks every edited
/// line by parsing it again (why that suffices for the whole file is argued there, and the
/// `parse_edit_roundtrip` fuzz target checks it against a full parse of the result).
pub fn apply(
    doc: &Document,
    targets: &[Span],
    new_id: &str,
    new_secret: &str,
) -> Result<Zeroizing<String>, String> {
    let mut edits: Vec<(usize, usize, &str)> = Vec::with_capacity(targets.len());
    for t in targets {
        let e = doc.entry(t.section, t.entry);
        if !e.is_some_and(|e| e.value_span == t.span && e.line == t.line) {
            return Err(format!(
                "the edit would not land as intended on line {}",
                t.line
            ));
        }
        let v = match t.target {
            Target::KeyId => new_id,
            Target::Secret => new_secret,
        };
        edits.push((t.section, t.entry, v));
    }
    let mut text = Zeroizing::new(String::new());
    doc.replace_values(&edits, &mut text)
        .map_err(|why| format!("the edit would change more than the values ({why})"))?;
    Ok(text)
}

/// Can this string be written as a value (and read back the same)?
fn writable_value(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()) && !s.starts_with(['#', ';'])
}

struct Plan<'a> {
    file: &'a LoadedFile,
    doc: &'a Document,
    real: PathBuf,
    text: Zeroizing<String>,
}

/// Replaces key `old_id` with (`new_id`, `new_secret`) in every section of every file holding
/// it. Returns the (configured) paths of the files written; empty when no section holds
/// `old_id`. Writes nothing when any file changed since `inv` was loaded (`Kind::Conflict`).
pub fn replace_key(
    inv: &Inventory,
    old_id: &str,
    new_id: &str,
    new_secret: &SecretKey,
) -> Result<Vec<PathBuf>> {
    if !looks_like_key_id(new_id) {
        return Err(Error::internal(format!(
            "refusing to write `{new_id}` as an access key id"
        )));
    }
    let new_secret = new_secret.expose_secret();
    if !writable_value(new_secret) {
        return Err(Error::internal(
            "refusing to write the new secret: it has characters a credentials file cannot hold",
        ));
    }
    // Plan every file first (pure): nothing is touched if any plan fails.
    let mut plans: Vec<Plan<'_>> = Vec::new();
    for f in inv.files() {
        let Some(doc) = &f.doc else { continue };
        let extra = effective_secret_lines(inv, old_id, f.kind);
        let old_secret = inv.secret_for(old_id).map(|s| s.expose_secret());
        let t = targets(doc, old_id, old_secret, &extra)
            .map_err(|(line, msg, hint)| Error::input(&f.path, line, msg).hint(hint))?;
        if t.is_empty() {
            continue;
        }
        let text = apply(doc, &t, new_id, new_secret).map_err(|why| {
            Error::internal(format!("{}: {why}; nothing was written", f.path.display()))
        })?;
        let real = std::fs::canonicalize(&f.path).at("resolve", &f.path)?;
        plans.push(Plan {
            file: f,
            doc,
            real,
            text,
        });
    }
    if plans.is_empty() {
        return Ok(Vec::new());
    }
    if plans.len() == 2 && plans[0].real == plans[1].real {
        return Err(Error::new(
            Kind::Conflict,
            format!(
                "AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE both lead to {}; keyage will not edit one file as two",
                plans[0].real.display()
            ),
        )
        .hint("point them at different files"));
    }
    // Lock in a fixed order (by real path) so two writers cannot deadlock.
    plans.sort_by(|a, b| a.real.cmp(&b.real));
    let mut locks = Vec::new();
    for p in &plans {
        locks.push(lock(&p.real)?);
    }
    // Under the locks: every file must still be what we parsed, before any is written. The
    // bytes are read through the locked descriptor, bounded, so they are the locked file's.
    for (p, l) in plans.iter().zip(locks.iter_mut()) {
        #[cfg(unix)]
        let now = Zeroizing::new(
            crate::sys::fs::read_open(l.file(), &p.real, crate::sys::fs::cap::AWS_FILE)
                .map_err(Error::from)?,
        );
        #[cfg(not(unix))]
        let now = {
            let _ = &l;
            Zeroizing::new(crate::sys::fs::read_regular(
                &p.real,
                crate::sys::fs::cap::AWS_FILE,
            )?)
        };
        if now.as_slice() != p.doc.as_bytes() {
            return Err(Error::new(
                Kind::Conflict,
                format!(
                    "{} changed since keyage read it (another program wrote it); nothing was written",
                    p.file.path.display()
                ),
            )
            .hint("run the command again"));
        }
    }
    // Stage every file (written, synced, mode and owner kept), then rename them all.
    let mut staged = Vec::new();
    for p in &plans {
        staged.push(crate::sys::fs::stage(
            &p.real,
            p.text.as_bytes(),
            crate::sys::fs::Keep::Existing,
        )?);
    }
    let mut written = Vec::new();
    for (p, tmp) in plans.iter().zip(staged) {
        tmp.commit()?;
        written.push(p.file.path.clone());
    }
    drop(locks);
    written.sort();
    Ok(written)
}

/// Lines (in the file of `kind`) of the effective secret of each profile whose effective id is
/// `old_id`.
fn effective_secret_lines(inv: &Inventory, old_id: &str, kind: FileKind) -> Vec<usize> {
    inv.profiles
        .iter()
        .filter(|p| {
            matches!(&p.class, Class::Static { key_id } | Class::Temporary { key_id } if key_id == old_id)
        })
        .flat_map(|p| p.sources.iter())
        .filter(|s| s.key == SECRET_ACCESS_KEY && s.file_kind == kind)
        .map(|s| s.line)
        .collect()
}

/// What is locked to serialise keyage writers of `real`: on unix the file itself (nothing is
/// left beside it in `~/.aws`; see `crate::sys::lock`), elsewhere a lock file in the state
/// folder would be needed, so `.<name>.keyage.lock` beside it is kept there.
pub fn lock_path(real: &Path) -> PathBuf {
    if cfg!(unix) {
        return real.to_path_buf();
    }
    let name = real
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "credentials".into());
    real.with_file_name(format!(".{name}.keyage.lock"))
}

/// How long a writer waits for another keyage writing the same file.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Takes the advisory lock that serialises keyage writers of `real` (waits up to 10 s).
pub fn lock(real: &Path) -> Result<crate::sys::lock::FileLock> {
    #[cfg(unix)]
    let got = crate::sys::lock::lock_target(real, LOCK_WAIT)?;
    #[cfg(not(unix))]
    let got = crate::sys::lock::FileLock::acquire(&lock_path(real), LOCK_WAIT)?;
    got.ok_or_else(|| {
        Error::new(
            Kind::Conflict,
            format!(
                "another keyage is writing {} (its lock was held for {} s)",
                real.display(),
                LOCK_WAIT.as_secs()
            ),
        )
        .hint("wait for the other keyage to finish, then run the command again")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_values() {
        let src = "# top\n[default]\r\naws_access_key_id = AKIAIOSFODNN7EXAMPLE ; old\r\naws_secret_access_key=abc\r\n\
                   [other]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\naws_secret_access_key=zzz\n";
        let doc = Document::parse(src).unwrap();
        let t = targets(&doc, "AKIAIOSFODNN7EXAMPLE", Some("abc"), &[]).unwrap();
        assert_eq!(t.len(), 2);
        let out = apply(&doc, &t, "AKIANEWNEWNEWNEWNEW1", "newsecret").unwrap();
        assert_eq!(
            out.as_str(),
            "# top\n[default]\r\naws_access_key_id = AKIANEWNEWNEWNEWNEW1 ; old\r\naws_secret_access_key=newsecret\r\n\
             [other]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\naws_secret_access_key=zzz\n"
        );
    }

    #[test]
    fn refuses_multiline_and_bad_values() {
        let doc = Document::parse(
            "[a]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\naws_secret_access_key=abc\n  def\n",
        )
        .unwrap();
        assert_eq!(
            targets(&doc, "AKIAIOSFODNN7EXAMPLE", None, &[3])
                .unwrap_err()
                .0,
            3
        );
        // A bare CR right before `#` makes the `#` a comment; a new value would undo that.
        let doc = Document::parse(
            "[a]\naws_access_key_id=AKIAIOSFODNN7EXAMPLE\r#c\naws_secret_access_key=abc\n",
        )
        .unwrap();
        assert_eq!(
            targets(&doc, "AKIAIOSFODNN7EXAMPLE\r", None, &[])
                .unwrap_err()
                .0,
            2
        );
        assert!(!writable_value("a b"));
        assert!(!writable_value("#x"));
        assert!(writable_value("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"));
    }
}
