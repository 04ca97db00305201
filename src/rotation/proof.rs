//! Proof that the credentials files hold the new key (#13.2): read again after step c and
//! again around step e, because another program may write the files at any time (a writer
//! that truncates the file for a moment, a tool that read it before keyage wrote it and writes
//! its copy back after). Nothing is retired, and "Rotated" is never said, unless the files
//! hold the new key and its secret, and no profile holds the old key.

use std::path::PathBuf;

use super::edges::{Files, Holder};
use crate::error::{Error, Kind, Result};
use crate::secret::{ExposeSecret, SecretKey};

/// What the files hold now, as proven by a fresh read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    /// The profiles that hold the new key (file order).
    pub holders: Vec<Holder>,
}

impl Written {
    /// The files that hold the new key, each once, sorted.
    pub fn files(&self) -> Vec<PathBuf> {
        let mut f: Vec<PathBuf> = self.holders.iter().map(|h| h.file.clone()).collect();
        f.sort();
        f.dedup();
        f
    }
}

/// Why the files do not hold the new key (no secret in it).
pub fn why_not(
    expected: &[Holder],
    old_id: &str,
    still_old: &[Holder],
    now: &[Holder],
    secret_matches: bool,
) -> Option<String> {
    if let Some(h) = still_old.first() {
        return Some(format!(
            "profile `{}` ({} line {}) holds the old key {old_id} again",
            h.profile,
            h.file.display(),
            h.line
        ));
    }
    if let Some(h) = expected
        .iter()
        .find(|e| !now.iter().any(|n| n.profile == e.profile))
    {
        return Some(format!(
            "profile `{}` ({}) no longer holds the new key (the file was emptied or rewritten)",
            h.profile,
            h.file.display()
        ));
    }
    if !secret_matches {
        return Some("the secret beside the new key is not the one IAM issued".into());
    }
    None
}

/// Reads the files again and proves they hold `new_id` with `secret` in every profile of
/// `expected` (the plan's holders; empty for a protected key, whose secret is in the keyring),
/// and nowhere the old key. `at` names the step for the message.
pub fn prove_written<F: Files + ?Sized>(
    files: &F,
    old_id: &str,
    new_id: &str,
    secret: &SecretKey,
    expected: &[Holder],
    at: &str,
) -> Result<Written> {
    let still_old = files.holders(old_id)?;
    let now = files.holders(new_id)?;
    let secret_matches = files
        .secret_for(new_id)?
        .is_some_and(|s| s.expose_secret() == secret.expose_secret());
    match why_not(expected, old_id, &still_old, &now, secret_matches) {
        None => Ok(Written { holders: now }),
        Some(why) => Err(Error::new(
            Kind::Conflict,
            format!(
                "{at}, the credentials files do not hold the new key {new_id}: {why}. Another program changed them after keyage wrote them; the old key {old_id} was not retired"
            ),
        )
        .hint(
            "find what writes your AWS files (a sync tool, an editor, a script running `aws configure`) and let it finish or stop it; `keyage rotate-self --resume` writes the new key again and checks",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(p: &str) -> Holder {
        Holder {
            profile: p.into(),
            file: PathBuf::from("/c"),
            line: 2,
        }
    }

    #[test]
    fn names_what_is_wrong() {
        let exp = [h("default"), h("work")];
        assert_eq!(why_not(&exp, "OLD", &[], &exp, true), None);
        let w = why_not(&exp, "OLD", &[h("work")], &[h("default")], true).unwrap();
        assert!(w.contains("`work`") && w.contains("old key OLD"), "{w}");
        let w = why_not(&exp, "OLD", &[], &[h("default")], true).unwrap();
        assert!(w.contains("`work`") && w.contains("no longer"), "{w}");
        let w = why_not(&exp, "OLD", &[], &exp, false).unwrap();
        assert!(w.contains("secret"), "{w}");
        // A protected key: no profile expected, the secret decides.
        assert_eq!(why_not(&[], "OLD", &[], &[], true), None);
        assert!(why_not(&[], "OLD", &[], &[], false).is_some());
    }
}
