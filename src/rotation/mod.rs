//! The rotation: the one path that writes back. A pure `plan` (inventory + identity + keys +
//! args + now → plan or refusal) executed step by step (`run`) under a `journal` that records
//! each step *before* its side effect, so that a crash at any point leaves a state from which
//! `keyage rotate-self --resume` continues and `keyage backout` undoes. `finalize` deletes old
//! keys after their grace period.
//!
//! The effects sit behind narrow traits so the core is tested with fakes and, end to end,
//! through the binary: `KeyService` (IAM/STS, one per key, made by a `Connect`), `SecretStore`
//! (the keyring) and `Files` (the credentials/config files, edited only by
//! `profiles::edit::replace_key`).

pub mod after;
pub mod backout;
pub mod edges;
pub mod failpoint;
pub mod finalize;
pub mod journal;
pub mod lock;
pub mod plan;
pub mod preflight;
pub mod proof;
pub mod run;
pub mod session;
#[cfg(test)]
mod tests;
pub mod ui;

pub use journal::{Journal, PendingFinalize};
pub use session::{Session, Terminal, Unattended};

/// What happens to the old key at step e. Written in the journal and the pending list as
/// `inactive`, `delete` or `keep-active` (the command line maps `--old-key` onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OldKey {
    /// Make the old key inactive (CIS default), delete it at finalize.
    Inactive,
    /// Delete the old key as soon as the new one works.
    Delete,
    /// Leave the old key active; remind until finalize.
    KeepActive,
}

/// How the old key is retired, as the user asked: what step e does with it and how many days
/// it stays recoverable before finalize deletes it. The journal keeps the two as fields of
/// its own (no serde flatten: a garbled value's error would then name the object's last line,
/// not its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retire {
    pub old_key: OldKey,
    pub grace_days: u32,
}

/// Whose key a rotation changes: the caller's account, ARN and IAM user name (checked against
/// STS before any step acts). The journal keeps the three as fields of its own (see
/// [`Retire`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub account: String,
    pub arn: String,
    pub user: String,
}

/// The longest grace period `--grace-days` accepts (100 years): dates stay in range.
pub const MAX_GRACE_DAYS: i64 = 36_500;

/// `from` plus `days`, saturating instead of overflowing (no panic on any grace value).
pub fn after_days(from: chrono::DateTime<chrono::Utc>, days: u32) -> chrono::DateTime<chrono::Utc> {
    chrono::TimeDelta::try_days(i64::from(days))
        .and_then(|d| from.checked_add_signed(d))
        .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC)
}

use crate::env::Env;

/// The store for the backout copies: `[store] backend` in config.toml (`auto`: the OS keyring
/// when it is there, else the encrypted file store; see `crate::store`). An error names the
/// fix (bad config line, a keyring that is there but failing): then the store returned fails
/// every call, its probe first, with that error, so the rotation refuses before any change.
/// THE one place the rotation gets its store: `Session::open` calls it.
pub fn open_store(env: &Env) -> edges::Store {
    match crate::store::open(env) {
        Ok(b) => b.store,
        Err(e) => std::sync::Arc::new(crate::store::Unusable(e)),
    }
}

/// A one-paragraph notice when a rotation was interrupted (every command prints it first), or
/// None. Never fails: an unreadable journal is itself reported.
pub fn unfinished(env: &Env) -> Option<String> {
    let dir = env.state_dir();
    match journal::Journal::load(&dir) {
        Ok(None) => None,
        Ok(Some(j)) => Some(journal::unfinished_notice(&j)),
        Err(e) => Some(format!(
            "keyage: the rotation journal in {} cannot be read ({}); a rotation may be unfinished. \
             Inspect it, then run `keyage rotate-self --resume` or `keyage backout`.",
            dir.display(),
            e.message
        )),
    }
}

/// Marks the finding of a key that was rotated elsewhere (the note a stopped rotation here
/// left, see `journal::Elsewhere`): `status`, the prompt segment and the agent all show it. A
/// key IAM still accepts and that is active is not marked (the note is stale, and goes).
pub fn mark_elsewhere(env: &Env, findings: &mut [crate::keys::policy::Finding]) {
    let dir = env.state_dir();
    let Some(note) = journal::load_elsewhere(&dir) else {
        return;
    };
    let Some(f) = findings.iter_mut().find(|f| f.key_id == note.old_key_id) else {
        return;
    };
    if f.active == Some(true) && !f.invalid && f.checked_at.is_some_and(|c| c > note.at) {
        journal::clear_elsewhere(&dir);
        return;
    }
    f.finding = true;
    f.rotated_elsewhere = true;
    f.note = if f.note.is_empty() {
        note.notice()
    } else {
        format!("{}; {}", note.notice(), f.note)
    };
}

/// Old keys waiting for `keyage finalize` (for status and the agent). Unreadable → empty.
pub fn pending(env: &Env) -> Vec<PendingFinalize> {
    journal::load_pending(&env.state_dir()).unwrap_or_default()
}

/// Like [`pending`], with a warning (naming the file and the fix) when the list cannot be read:
/// `status` says so instead of showing nothing.
pub fn pending_or_warning(env: &Env) -> (Vec<PendingFinalize>, Option<String>) {
    match journal::load_pending(&env.state_dir()) {
        Ok(p) => (p, None),
        Err(e) => (
            Vec::new(),
            Some(format!(
                "{}; old keys waiting for `keyage finalize` cannot be shown, and a rotation would stop before it starts
  fix: {}",
                e.message,
                e.hint.unwrap_or_default()
            )),
        ),
    }
}

/// The keys now in the files after a rotation still waiting for finalize: the prompt marks
/// them (`[prompt] pending_mark`) through `keys::assess`.
pub fn rotating_keys(pending: &[PendingFinalize]) -> std::collections::BTreeSet<String> {
    pending.iter().map(|p| p.new_key_id.clone()).collect()
}
