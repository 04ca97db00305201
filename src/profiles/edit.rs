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
pub(crate) type Refusal = (usize, String, String);

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
pub(crate) fn effective_secret_lines(inv: &Inventory, old_id: &str, kind: FileKind) -> Vec<usize> {
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
pub(crate) fn lock(real: &Path) -> Result<crate::sys::lock::FileLock> {
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

// ---------------------------------------------------------------------------------------------
// `keyage protect`: the two static values of a key out, one `credential_process` line in — and
// the exact reverse.

/// One hunk of the exact reverse of a protect edit, in the coordinates of the edited text:
/// remove `remove` bytes at `at`, insert `before` + (the secret, when `secret`) + `after`.
/// Holds no secret: a secret line is kept as the text around its value.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct Hunk {
    pub at: usize,
    pub remove: usize,
    pub before: String,
    pub secret: bool,
    pub after: String,
}

/// A planned protect edit of one document.
#[derive(Debug)]
pub(crate) struct ProtectEdit {
    /// The new text.
    pub text: Zeroizing<String>,
    /// How to get the original text back from `text` (plus the secret).
    pub hunks: Vec<Hunk>,
    /// The profiles (sections) that now read `credential_process`, in file order.
    pub profiles: Vec<String>,
}

/// Takes key `key_id` (whose secret is `secret`) out of `doc`, a file of `kind`: in every
/// section holding it, the `aws_access_key_id` and `aws_secret_access_key` lines (and any
/// duplicate of them) go, and `credential_process = <command(profile)>` takes the place of the
/// first of them, with that line's ending. Every other byte is kept. None when no section holds
/// the key. Checked, not assumed: the new text must parse, hold the secret nowhere, and give the
/// original bytes back through [`restore_exact`].
pub(crate) fn protect_doc(
    doc: &Document,
    kind: FileKind,
    key_id: &str,
    secret: &str,
    effective_secret_lines: &[usize],
    command: &dyn Fn(&str) -> String,
) -> Result<Option<ProtectEdit>, Refusal> {
    let spans = targets(doc, key_id, Some(secret), effective_secret_lines)?;
    if spans.is_empty() {
        return Ok(None);
    }
    let names = super::classify::section_profiles(kind, doc);
    let text = doc.text();
    // Section → its target spans (file order).
    let mut by_section: std::collections::BTreeMap<usize, Vec<&Span>> = Default::default();
    for s in &spans {
        by_section.entry(s.section).or_default().push(s);
    }
    let mut edits: Vec<(Range<usize>, String, Option<Range<usize>>)> = Vec::new();
    let mut profiles = Vec::new();
    for (si, ts) in &by_section {
        let sec = &doc.sections()[*si];
        let Some(name) = names.get(*si).copied().flatten() else {
            return Err((
                sec.line,
                format!("this section holds key {key_id} but the AWS SDKs do not read it as a profile, so its secret would stay in the file"),
                "remove the section, or fix its header so that it is a profile".into(),
            ));
        };
        if !ts.iter().any(|t| t.target == Target::KeyId)
            || !ts.iter().any(|t| t.target == Target::Secret)
        {
            return Err((
                sec.line,
                format!("profile `{name}` keeps the id and the secret of key {key_id} in different sections or files"),
                "put aws_access_key_id and aws_secret_access_key in one section, then run keyage protect again".into(),
            ));
        }
        if let Some(e) = doc.entries(sec).iter().find(|e| {
            e.key == "credential_process"
                || super::classify::NO_STATIC_SOURCES.contains(&e.key.as_ref())
                || e.key == super::classify::SESSION_TOKEN
        }) {
            return Err((
                e.line,
                format!("profile `{name}` also sets {}; keyage will not guess which source the SDKs should use", e.key),
                format!("remove {} from the profile, or protect a profile that holds only the key", e.key),
            ));
        }
        let mut first = true;
        for t in ts {
            let e = doc.entry(t.section, t.entry).ok_or((
                t.line,
                "internal: no such setting".to_string(),
                String::new(),
            ))?;
            if t.target == Target::Secret && doc.value(e) != secret {
                return Err((
                    t.line,
                    format!("profile `{name}` holds another secret for key {key_id} on this line"),
                    "keep one aws_secret_access_key per profile".into(),
                ));
            }
            // A setting line starts with its key.
            let start = e.key_span.start;
            let (_, next, eol) = doc.line_at(start);
            let new = if first {
                format!("credential_process = {}{}", command(name), eol.as_str())
            } else {
                String::new()
            };
            first = false;
            let secret_span = (t.target == Target::Secret).then(|| e.value_span.clone());
            edits.push((start..next, new, secret_span));
        }
        profiles.push(name.to_string());
    }
    edits.sort_by_key(|(r, _, _)| r.start);
    let splices: Vec<(Range<usize>, &str)> = edits
        .iter()
        .map(|(r, s, _)| (r.clone(), s.as_str()))
        .collect();
    let mut out = Zeroizing::new(String::new());
    let refuse = |why: String| {
        (
            1usize,
            why,
            "report this as a bug; nothing was written".to_string(),
        )
    };
    super::document::splice_into_pub(text, &splices, &mut out).map_err(refuse)?;
    let mut hunks = Vec::with_capacity(edits.len());
    let mut shift: isize = 0;
    for (r, new, secret_span) in &edits {
        let at = r
            .start
            .checked_add_signed(shift)
            .ok_or_else(|| refuse("offsets".into()))?;
        let (before, after) = match secret_span {
            Some(v) => (
                text[r.start..v.start].to_string(),
                text[v.end..r.end].to_string(),
            ),
            None => (text[r.clone()].to_string(), String::new()),
        };
        hunks.push(Hunk {
            at,
            remove: new.len(),
            before,
            secret: secret_span.is_some(),
            after,
        });
        shift += new.len() as isize - r.len() as isize;
    }
    // Checks: parses, no secret anywhere, and the exact reverse gives the original back.
    let parsed = Document::parse(&out)
        .map_err(|e| refuse(format!("the edited file would not parse ({e})")))?;
    if out.contains(secret) {
        return Err((
            1,
            format!("the secret of {key_id} appears in the file outside the profiles that hold it (for example in a comment or another setting)"),
            "remove the other copies of the secret from the file, then run keyage protect again".into(),
        ));
    }
    let back = restore_exact(&out, &hunks, secret).map_err(refuse)?;
    if back.as_bytes() != doc.as_bytes() {
        return Err(refuse(
            "the reverse of the edit would not give the file back".into(),
        ));
    }
    let _ = parsed;
    Ok(Some(ProtectEdit {
        text: out,
        hunks,
        profiles,
    }))
}

/// The exact reverse of a protect edit: `post` (the edited text, unchanged since) with every
/// hunk undone. Errors when the hunks do not fit `post`.
pub(crate) fn restore_exact(
    post: &str,
    hunks: &[Hunk],
    secret: &str,
) -> Result<Zeroizing<String>, String> {
    let mut out = Zeroizing::new(String::new());
    let extra: usize = hunks
        .iter()
        .map(|h| h.before.len() + h.after.len() + if h.secret { secret.len() } else { 0 })
        .sum();
    out.reserve_exact(post.len() + extra);
    let mut pos = 0usize;
    for h in hunks {
        let end = h.at.checked_add(h.remove).ok_or("a hunk out of range")?;
        if h.at < pos
            || end > post.len()
            || !post.is_char_boundary(h.at)
            || !post.is_char_boundary(end)
        {
            return Err("the recorded edit does not fit the file".into());
        }
        out.push_str(&post[pos..h.at]);
        out.push_str(&h.before);
        if h.secret {
            out.push_str(secret);
        }
        out.push_str(&h.after);
        pos = end;
    }
    out.push_str(&post[pos..]);
    Ok(out)
}

/// The surgical reverse, for a file changed since `protect`: in every section of `doc` that is
/// one of `profiles` and has a `credential_process` line running keyage's credential-process
/// for it (`ours(profile, value)`), that line becomes the two static lines again (same ending).
/// None when no such line is left.
pub(crate) fn unprotect_doc(
    doc: &Document,
    kind: FileKind,
    profiles: &[String],
    ours: &dyn Fn(&str, &str) -> bool,
    key_id: &str,
    secret: &str,
) -> Result<Option<Zeroizing<String>>, Refusal> {
    if !looks_like_key_id(key_id) || !writable_value(secret) {
        return Err((
            1,
            "the key from the keyring cannot be written to a file".into(),
            "run `keyage doctor`".into(),
        ));
    }
    let names = super::classify::section_profiles(kind, doc);
    let mut edits: Vec<(Range<usize>, Zeroizing<String>)> = Vec::new();
    for (si, sec) in doc.sections().iter().enumerate() {
        let Some(name) = names.get(si).copied().flatten() else {
            continue;
        };
        if !profiles.iter().any(|p| p == name) {
            continue;
        }
        for e in doc.entries(sec) {
            if e.key != "credential_process" || !ours(name, &doc.value(e)) {
                continue;
            }
            if let Some(other) = doc
                .entries(sec)
                .iter()
                .find(|o| o.key == ACCESS_KEY_ID || o.key == SECRET_ACCESS_KEY)
            {
                return Err((
                    other.line,
                    format!("profile `{name}` has a static key line again; keyage will not write a second one"),
                    "remove that line (or the credential_process line) by hand".into(),
                ));
            }
            let (_, next, eol) = doc.line_at(e.key_span.start);
            let mid = match eol {
                super::document::Eol::None => "\n",
                other => other.as_str(),
            };
            let mut s = Zeroizing::new(String::new());
            s.push_str(&format!(
                "{ACCESS_KEY_ID} = {key_id}{mid}{SECRET_ACCESS_KEY} = "
            ));
            s.push_str(secret);
            s.push_str(eol.as_str());
            edits.push((e.key_span.start..next, s));
        }
    }
    if edits.is_empty() {
        return Ok(None);
    }
    let splices: Vec<(Range<usize>, &str)> =
        edits.iter().map(|(r, s)| (r.clone(), s.as_str())).collect();
    let mut out = Zeroizing::new(String::new());
    super::document::splice_into_pub(doc.text(), &splices, &mut out)
        .map_err(|why| (1, why, "report this as a bug; nothing was written".into()))?;
    Document::parse(&out).map_err(|e| {
        (
            e.line,
            format!("the restored file would not parse ({})", e.message),
            "report this as a bug; nothing was written".into(),
        )
    })?;
    Ok(Some(out))
}

/// One file to write: where, the bytes it must still hold, and the new text.
pub(crate) struct Planned<'a> {
    pub path: &'a Path,
    pub expect: &'a [u8],
    pub text: &'a str,
}

/// Writes every planned file atomically under its lock, after checking (under the locks,
/// through the locked descriptor) that each still holds `expect`; then reads each back and
/// compares. Nothing is written when any file changed (`Kind::Conflict`). Returns the
/// (configured) paths written. The same steps as `replace_key`.
pub(crate) fn write_planned(plans: &[Planned<'_>]) -> Result<Vec<PathBuf>> {
    let mut real: Vec<(PathBuf, &Planned<'_>)> = Vec::new();
    for p in plans {
        real.push((std::fs::canonicalize(p.path).at("resolve", p.path)?, p));
    }
    if real.len() == 2 && real[0].0 == real[1].0 {
        return Err(Error::new(
            Kind::Conflict,
            format!(
                "AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE both lead to {}; keyage will not edit one file as two",
                real[0].0.display()
            ),
        )
        .hint("point them at different files"));
    }
    real.sort_by(|a, b| a.0.cmp(&b.0));
    let mut locks = Vec::new();
    for (r, _) in &real {
        locks.push(lock(r)?);
    }
    for ((r, p), l) in real.iter().zip(locks.iter_mut()) {
        #[cfg(unix)]
        let now = Zeroizing::new(
            crate::sys::fs::read_open(l.file(), r, crate::sys::fs::cap::AWS_FILE)
                .map_err(Error::from)?,
        );
        #[cfg(not(unix))]
        let now = {
            let _ = &l;
            Zeroizing::new(crate::sys::fs::read_regular(
                r,
                crate::sys::fs::cap::AWS_FILE,
            )?)
        };
        if now.as_slice() != p.expect {
            return Err(Error::new(
                Kind::Conflict,
                format!(
                    "{} changed since keyage read it (another program wrote it); nothing was written",
                    p.path.display()
                ),
            )
            .hint("run the command again"));
        }
    }
    let mut staged = Vec::new();
    for (r, p) in &real {
        staged.push(crate::sys::fs::stage(
            r,
            p.text.as_bytes(),
            crate::sys::fs::Keep::Existing,
        )?);
    }
    let mut written = Vec::new();
    for ((_, p), tmp) in real.iter().zip(staged) {
        tmp.commit()?;
        written.push(p.path.to_path_buf());
    }
    drop(locks);
    // Re-read: what is on disk must be what we wrote.
    for (r, p) in &real {
        let back = Zeroizing::new(crate::sys::fs::read_regular(
            r,
            crate::sys::fs::cap::AWS_FILE,
        )?);
        if back.as_slice() != p.text.as_bytes() {
            return Err(Error::new(
                Kind::Conflict,
                format!("{} does not hold what keyage just wrote (another program wrote it at the same time)", p.path.display()),
            )
            .hint("check the file, then run the command again"));
        }
    }
    written.sort();
    Ok(written)
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
    const ID: &str = "AKIAZ7QW3RTYU2IOPLKJ";
    const SECRET: &str = "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";

    fn cmd(p: &str) -> String {
        format!("/opt/bin/keyage credential-process --profile {p}")
    }

    fn protect(src: &str) -> ProtectEdit {
        let doc = Document::parse(src).unwrap();
        protect_doc(&doc, FileKind::Credentials, ID, SECRET, &[], &cmd)
            .unwrap()
            .expect("holds the key")
    }

    #[test]
    fn protect_edits_two_lines_and_reverses_exactly() {
        let src = format!(
            "\u{feff}# top\r\n[default]\r\naws_access_key_id = {ID} ; old\r\n; note\naws_secret_access_key={SECRET}\r\nregion = x\n[other]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\naws_secret_access_key=zzz\n[work]\naws_secret_access_key = {SECRET}\naws_access_key_id = {ID}"
        );
        let e = protect(&src);
        assert_eq!(
            e.text.as_str(),
            format!("\u{feff}# top\r\n[default]\r\ncredential_process = {}\r\n; note\nregion = x\n[other]\naws_access_key_id=AKIAI44QH8DHBEXAMPLE\naws_secret_access_key=zzz\n[work]\ncredential_process = {}\n", cmd("default"), cmd("work"))
        );
        assert_eq!(e.profiles, ["default", "work"]);
        assert!(!serde_json::to_string(&e.hunks).unwrap().contains(SECRET));
        assert_eq!(
            restore_exact(&e.text, &e.hunks, SECRET).unwrap().as_str(),
            src
        );
        // The surgical reverse writes the two values where the line is (a missing final
        // newline stays missing).
        let doc = Document::parse(&e.text).unwrap();
        let back = unprotect_doc(
            &doc,
            FileKind::Credentials,
            &["default".into(), "work".into()],
            &|p, v| v == cmd(p),
            ID,
            SECRET,
        )
        .unwrap()
        .unwrap();
        assert!(back.ends_with(&format!(
            "[work]\naws_access_key_id = {ID}\naws_secret_access_key = {SECRET}\n"
        )));
        assert!(back.contains(&format!(
            "[default]\r\naws_access_key_id = {ID}\r\naws_secret_access_key = {SECRET}\r\n; note\n"
        )));
    }

    #[test]
    fn protect_refuses_what_it_cannot_hold() {
        let d = |s: String| Document::parse(&s).unwrap();
        let run = |doc: &Document| protect_doc(doc, FileKind::Credentials, ID, SECRET, &[], &cmd);
        // Another source in the same profile.
        assert!(run(&d(format!(
            "[a]\naws_access_key_id={ID}\naws_secret_access_key={SECRET}\nrole_arn=x\n"
        )))
        .is_err());
        // The secret elsewhere in the file (a comment).
        let e = run(&d(format!(
            "[a]\naws_access_key_id={ID}\naws_secret_access_key={SECRET}\n# {SECRET}\n"
        )))
        .unwrap_err();
        assert!(e.1.contains("outside"), "{}", e.1);
        // Id without secret in the section.
        assert!(run(&d(format!("[a]\naws_access_key_id={ID}\n"))).is_err());
        // A section the SDK ignores.
        assert!(run(&d(format!(
            "[profile a]\naws_access_key_id={ID}\naws_secret_access_key={SECRET}\n"
        )))
        .is_err());
        // Not there: nothing to do.
        assert!(run(&d("[a]\nregion=x\n".into())).unwrap().is_none());
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum L {
            Blank,
            Comment(String),
            Setting(String, String, &'static str),
        }

        fn line() -> impl Strategy<Value = L> {
            prop_oneof![
                Just(L::Blank),
                "[#;][ -~]{0,20}".prop_map(L::Comment),
                (
                    "[a-z]{1,6}",
                    "[A-Za-z0-9./-]{0,12}",
                    prop::sample::select(vec!["=", " = ", "  =\t"])
                )
                    .prop_map(|(k, v, eq)| L::Setting(format!("x{k}"), v, eq)),
            ]
        }

        #[derive(Debug, Clone)]
        struct Sec {
            holder: bool,
            lines: Vec<(L, bool)>,
            id_at: usize,
            secret_at: usize,
            id_eq: &'static str,
            secret_tail: &'static str,
        }

        fn section() -> impl Strategy<Value = Sec> {
            (
                any::<bool>(),
                prop::collection::vec((line(), any::<bool>()), 0..5),
                0usize..6,
                0usize..6,
                prop::sample::select(vec!["=", " = ", " =  "]),
                prop::sample::select(vec!["", "  ", " # c", "\t; note"]),
            )
                .prop_map(|(holder, lines, id_at, secret_at, id_eq, secret_tail)| {
                    Sec {
                        holder,
                        lines,
                        id_at,
                        secret_at,
                        id_eq,
                        secret_tail,
                    }
                })
        }

        /// (input, expected protect output, expected surgical unprotect output)
        fn build(secs: &[Sec], final_eol: bool) -> (String, String, String, Vec<String>) {
            let (mut src, mut want, mut back) = (String::new(), String::new(), String::new());
            let mut holders = Vec::new();
            let mut last_is_key = false;
            for (n, s) in secs.iter().enumerate() {
                let name = format!("p{n}");
                let h = format!("[{name}]\n");
                src.push_str(&h);
                want.push_str(&h);
                back.push_str(&h);
                // The section's lines, with the two key lines placed among them.
                let mut items: Vec<(Option<&L>, u8, bool)> = s
                    .lines
                    .iter()
                    .map(|(l, crlf)| (Some(l), 0u8, *crlf))
                    .collect();
                if s.holder {
                    let i = s.id_at.min(items.len());
                    items.insert(i, (None, 1, false));
                    let j = s.secret_at.min(items.len());
                    items.insert(j, (None, 2, true));
                    holders.push(name.clone());
                }
                let mut first = true;
                last_is_key = false;
                for (l, what, crlf) in items {
                    last_is_key = what != 0;
                    let eol = if crlf { "\r\n" } else { "\n" };
                    let text = match (l, what) {
                        (Some(L::Blank), _) => String::new(),
                        (Some(L::Comment(c)), _) => c.clone(),
                        (Some(L::Setting(k, v, eq)), _) => format!("{k}{eq}{v}"),
                        (None, 1) => format!("aws_access_key_id{}{ID}", s.id_eq),
                        _ => format!("aws_secret_access_key = {SECRET}{}", s.secret_tail),
                    };
                    src.push_str(&text);
                    src.push_str(eol);
                    if what == 0 {
                        want.push_str(&text);
                        want.push_str(eol);
                        back.push_str(&text);
                        back.push_str(eol);
                    } else if first {
                        first = false;
                        want.push_str(&format!("credential_process = {}{eol}", cmd(&name)));
                        back.push_str(&format!(
                            "aws_access_key_id = {ID}{eol}aws_secret_access_key = {SECRET}{eol}"
                        ));
                    }
                }
            }
            if !final_eol {
                // Drop the last newline of all three (it is the same line in each).
                // The second key line of a section is removed: then only the input loses it.
                let texts = if last_is_key {
                    vec![&mut src]
                } else {
                    vec![&mut src, &mut want, &mut back]
                };
                for t in texts {
                    if t.ends_with("\r\n") {
                        t.truncate(t.len() - 2);
                    } else if t.ends_with('\n') {
                        t.truncate(t.len() - 1);
                    }
                }
            }
            (src, want, back, holders)
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(512))]
            /// Bytes outside the two lines never change; the exact reverse gives the input back;
            /// the surgical reverse writes the two values in place of the one line.
            #[test]
            fn protect_changes_only_the_key_lines(secs in prop::collection::vec(section(), 1..6), final_eol in any::<bool>()) {
                let (src, want, back, holders) = build(&secs, final_eol);
                let doc = Document::parse(&src).unwrap();
                let r = protect_doc(&doc, FileKind::Credentials, ID, SECRET, &[], &cmd);
                if holders.is_empty() {
                    prop_assert!(r.unwrap().is_none());
                    return Ok(());
                }
                let e = r.unwrap().unwrap();
                prop_assert_eq!(e.text.as_str(), want.as_str());
                prop_assert_eq!(&e.profiles, &holders);
                let exact = restore_exact(&e.text, &e.hunks, SECRET).unwrap();
                prop_assert_eq!(exact.as_str(), src.as_str());
                let post = Document::parse(&e.text).unwrap();
                let b = unprotect_doc(&post, FileKind::Credentials, &holders, &|p, v| v == cmd(p), ID, SECRET).unwrap().unwrap();
                prop_assert_eq!(b.as_str(), back.as_str());
            }
        }
    }
}
