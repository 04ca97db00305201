//! `keyage backout`: from any state after step a, the old key active and back in every file
//! that held it, proven with STS; the new key inactive (or deleted), its secret kept in the
//! keyring until finalize. Works on the unfinished journal, else on the profile's pending
//! finalize. The backout is journaled too (`backout: true`), so a crash in it is resumable by
//! running `keyage backout` again; every step checks IAM and the files first.

use super::edges::{self, Connect, Files};
use super::journal::{self, Journal, PendingFinalize, State};
use super::run::{ignore_not_found, prove, retry_safe, Ctx};
use super::ui;
use super::OldKey;
use crate::error::{Error, Kind, Result};
use crate::keys::iam::{ApiFailure, KeyService};

/// A journal for backing out a finished rotation, from its pending entry.
pub fn journal_from_pending(p: &PendingFinalize, now: chrono::DateTime<chrono::Utc>) -> Journal {
    Journal {
        version: journal::VERSION,
        id: p.rotation_id.clone(),
        profile: p.profile.clone(),
        account: p.account.clone(),
        arn: String::new(),
        user: p.user.clone(),
        old_key_id: p.old_key_id.clone(),
        new_key_id: Some(p.new_key_id.clone()),
        keys_before: vec![p.old_key_id.clone()],
        delete_spare: None,
        holders: Vec::new(),
        files: Vec::new(),
        old_key: p.old_key,
        grace_days: u32::try_from((p.deadline - p.rotated_at).num_days().max(0)).unwrap_or(7),
        mfa_serial: None,
        state: State::Recording,
        backout: true,
        started: now,
        updated: now,
        retired_at: Some(p.rotated_at),
        history: vec![(State::Recording, now)],
    }
}

/// What the backout did.
#[derive(Debug)]
pub struct Undone {
    pub old_key_id: String,
    pub new_key_id: Option<String>,
    pub new_deleted: bool,
    pub profiles: Vec<String>,
    /// Keys not listed before the rotation that keyage cannot prove it made: untouched.
    pub left_alone: Vec<String>,
    pub user: String,
}

impl Undone {
    pub fn render(&self) -> String {
        let mut s = format!(
            "Backed out: key {} is active again, proven with STS, and in your files{}.\n",
            self.old_key_id,
            if self.profiles.is_empty() {
                String::new()
            } else {
                format!(" (profiles {})", self.profiles.join(", "))
            }
        );
        match (&self.new_key_id, self.new_deleted) {
            (Some(n), true) => s.push_str(&format!("The new key {n} is deleted.\n")),
            (Some(n), false) => s.push_str(&format!(
                "The new key {n} is inactive; its secret stays in the keyring until `keyage finalize` deletes it.\n"
            )),
            (None, _) => s.push_str("No new key was left behind.\n"),
        }
        if !self.left_alone.is_empty() {
            s.push_str(&format!(
                "Left alone: key {} of user {} (not made by this rotation as far as keyage can prove).\n  {}\n",
                self.left_alone.join(", "),
                self.user,
                super::run::unexplained_hint(&self.user, &self.left_alone)
            ));
        }
        s
    }
}

impl<C: Connect, F: Files + ?Sized> Ctx<'_, C, F> {
    pub async fn backout(&self, j: &mut Journal, delete_new: bool) -> Result<Undone> {
        j.backout = true;
        j.save(&self.dir)?;
        let user = j.user.clone();
        let old_id = j.old_key_id.clone();
        let old_secret = self.secret_of(&old_id).await?.ok_or_else(|| {
            Error::new(
                Kind::Keyring,
                format!("no copy of the old key {old_id}'s secret in the keyring or the files"),
            )
            .hint("keyage cannot back out without it; the new key is the one to keep: run `keyage rotate-self --resume`")
        })?;
        let old_svc = self.connect.connect(&old_id, &old_secret, None).await;

        // Who can call IAM: the MFA session, else the old key if it still works, else the new.
        let old_works = old_svc.whoami().await.is_ok();
        let admin = match (&self.session, old_works, &j.new_key_id) {
            (Some(_), _, _) | (None, true, _) => self.admin(&old_id).await?,
            (None, false, Some(n)) => self.as_key(n).await?,
            (None, false, None) => {
                return Err(Error::new(
                    Kind::Aws,
                    format!("the old key {old_id} is rejected and there is no new key to act with"),
                ))
            }
        };
        let u = Some(user.as_str());
        let keys = retry_safe(|| admin.list_keys(u)).await?;
        match keys.iter().find(|k| k.key_id == old_id) {
            None => {
                return Err(Error::new(
                    Kind::Refused,
                    format!("the old key {old_id} no longer exists in IAM (deleted at step e or by hand); there is nothing to back out to"),
                )
                .hint(match j.new_key_id.as_deref() {
                    Some(_) if j.state < State::Retiring => "run `keyage rotate-self --resume` to finish with the new key".to_string(),
                    _ => "keep the new key; `keyage status` shows it".to_string(),
                }))
            }
            // Only this rotation's step e (or a finished rotation) made the old key inactive;
            // before it, someone else did: another machine's rotation, which a backout here
            // must not undo.
            Some(k) if !k.active && j.state < State::Retiring => {
                let active: Vec<String> = keys
                    .iter()
                    .filter(|k| k.active)
                    .map(|k| k.key_id.clone())
                    .collect();
                let _ = journal::note_elsewhere(&self.dir, &old_id, &active, (self.now)());
                return Err(Error::new(
                    Kind::Conflict,
                    format!(
                        "the old key {old_id} is inactive in IAM, and this rotation did not make it so (it stopped at {}): it was rotated elsewhere (another machine holding the same key) or changed by hand; keyage leaves it alone and changed nothing",
                        j.state.describe()
                    ),
                )
                .hint(super::run::elsewhere_hint(&user, &old_id, &[])))
            }
            Some(k) if !k.active => {
                retry_safe(|| admin.set_active(u, &old_id, true)).await?;
                ui::step(&format!("made the old key {old_id} active again"));
            }
            Some(_) => {}
        }
        // The new key: the journal's (this rotation's own CreateAccessKey answer). Any other
        // key keyage cannot prove it made (a secret in the store is no proof: a keyring may
        // be shared by two HOMEs): reported, never touched.
        let new_id = j.new_key_id.clone();
        let mut left_alone = Vec::new();
        for k in keys.iter().filter(|k| {
            k.key_id != old_id
                && !j.keys_before.contains(&k.key_id)
                && Some(&k.key_id) != j.delete_spare.as_ref()
        }) {
            if new_id.as_deref() == Some(k.key_id.as_str()) {
                continue;
            }
            ui::step(&format!(
                "leaving key {} alone: keyage cannot prove it made it",
                k.key_id
            ));
            left_alone.push(k.key_id.clone());
        }
        // The files: every profile on the new key goes back to the old one.
        let mut profiles = Vec::new();
        if let Some(n) = &new_id {
            let holders = self.files.holders(n)?;
            if !holders.is_empty() {
                profiles = holders.iter().map(|h| h.profile.clone()).collect();
                for f in self.files.replace(n, &old_id, &old_secret)? {
                    ui::step(&format!("put key {old_id} back in {}", f.display()));
                }
            }
        }
        if profiles.is_empty() {
            profiles = j.holders.iter().map(|h| h.profile.clone()).collect();
        }
        // Prove the old key works before touching the new one.
        let pb = ui::spinner("waiting for IAM to accept the old key again");
        let r = prove(&old_svc, self.verify_timeout).await;
        pb.finish_and_clear();
        r.map_err(|e| {
            Error::from(e).hint("the files hold the old key again and the new key is untouched; run `keyage backout` again in a minute")
        })?;
        // The new key: deleted when it never reached the files (or when asked), else inactive.
        let mut new_deleted = false;
        if let Some(n) = &new_id {
            let never_used = j.state < State::Writing;
            let listed = keys.iter().find(|k| &k.key_id == n);
            let admin = self.admin(&old_id).await?;
            if listed.is_some() {
                if delete_new || never_used {
                    ignore_not_found(retry_safe(|| admin.delete_key(u, n)).await)?;
                    new_deleted = true;
                } else if listed.map(|k| k.active).unwrap_or(false) {
                    match retry_safe(|| admin.set_active(u, n, false)).await {
                        Err(e) if e.failure == ApiFailure::NotFound => {}
                        r => r?,
                    }
                }
            } else {
                new_deleted = true;
            }
            if new_deleted {
                edges::store_delete(&self.store, n).await?;
            } else {
                // The inactive new key waits for finalize like any old key.
                let now = (self.now)();
                journal::add_pending(
                    &self.dir,
                    PendingFinalize {
                        rotation_id: format!("{}-backout", j.id),
                        profile: j.profile.clone(),
                        profiles: profiles.clone(),
                        account: j.account.clone(),
                        user: user.clone(),
                        old_key_id: n.clone(),
                        new_key_id: old_id.clone(),
                        old_key: OldKey::Inactive,
                        rotated_at: now,
                        deadline: super::after_days(now, j.grace_days),
                        backout: true,
                    },
                )?;
            }
        }
        journal::remove_pending(&self.dir, &j.id)?;
        Journal::remove(&self.dir)?;
        Ok(Undone {
            old_key_id: old_id,
            new_key_id: new_id,
            new_deleted,
            profiles,
            left_alone,
            user,
        })
    }
}
