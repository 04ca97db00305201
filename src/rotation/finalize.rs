//! `keyage finalize`: deletes each pending old key whose grace passed (or `--force`) and that
//! GetAccessKeyLastUsed shows unused since the rotation; removes its keyring entry.

use chrono::{DateTime, Utc};

use super::edges::{self, Connect, Files};
use super::journal::{self, PendingFinalize};
use super::run::{ignore_not_found, retry_safe, Ctx};
use crate::error::{Error, Kind, Result};
use crate::keys::iam::{ApiFailure, KeyService};

/// Pure: may this entry be deleted now, going by time alone?
pub fn due(p: &PendingFinalize, now: DateTime<Utc>, force: bool) -> bool {
    force || now >= p.deadline
}

/// What finalize did with one entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The old key is gone from IAM and from the store; `already_gone`: IAM no longer listed
    /// it (deleted elsewhere), so finalize only removed the store's copy.
    Deleted { key_id: String, already_gone: bool },
    NotYet {
        key_id: String,
        deadline: DateTime<Utc>,
    },
    UsedSince {
        key_id: String,
        last_used: DateTime<Utc>,
        service: Option<String>,
    },
}

impl Verdict {
    pub fn render(&self) -> String {
        match self {
            Verdict::Deleted {
                key_id,
                already_gone: false,
            } => format!("deleted old key {key_id} and its keyring copy"),
            Verdict::Deleted {
                key_id,
                already_gone: true,
            } => format!(
                "old key {key_id} was already deleted in IAM (elsewhere); removed its keyring copy"
            ),
            Verdict::NotYet { key_id, deadline } => format!(
                "kept old key {key_id}: its grace period ends {} (or use --force)",
                deadline.format("%Y-%m-%d %H:%M UTC")
            ),
            Verdict::UsedSince {
                key_id,
                last_used,
                service,
            } => format!(
                "kept old key {key_id}: it was used on {}{} after the rotation; find what still uses it, switch that to the new key, then run finalize again",
                last_used.format("%Y-%m-%d %H:%M UTC"),
                service
                    .as_deref()
                    .map(|s| format!(" ({s})"))
                    .unwrap_or_default()
            ),
        }
    }
}

impl<C: Connect, F: Files + ?Sized> Ctx<'_, C, F> {
    #[cfg(test)]
    pub async fn finalize_one(&self, p: &PendingFinalize, force: bool) -> Result<Verdict> {
        self.finalize_acting(p, force, std::slice::from_ref(&p.new_key_id))
            .await
    }

    /// The first of `acting` (see `journal::acting_keys`) whose secret keyage has and that
    /// IAM accepts makes the calls: the entry's new key may itself be inactive or gone.
    async fn acting_admin(&self, acting: &[String]) -> Result<C::Svc> {
        if let Some(s) = &self.session {
            return Ok(self
                .connect
                .connect(&s.key_id, &s.secret, Some(&s.token))
                .await);
        }
        let mut last = None;
        for id in acting {
            match self.as_key(id).await {
                Ok(svc) => match svc.whoami().await {
                    Ok(_) => return Ok(svc),
                    Err(e) => last = Some(Error::from(e)),
                },
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::internal("no key to act with")))
    }

    pub async fn finalize_acting(
        &self,
        p: &PendingFinalize,
        force: bool,
        acting: &[String],
    ) -> Result<Verdict> {
        let now = (self.now)();
        if !due(p, now, force) {
            return Ok(Verdict::NotYet {
                key_id: p.old_key_id.clone(),
                deadline: p.deadline,
            });
        }
        // The entry must be one this rotation could have written, for the caller's own user;
        // an old key that should be inactive but is active again is not deleted.
        // (Asked with the acting new key: a call with the old one would mark it used.)
        let j = super::backout::journal_from_pending(p, now);
        let path = self.dir.join(journal::PENDING_FILE);
        j.validate(&path, None)?;
        let admin = self.acting_admin(acting).await?;
        let who = retry_safe(|| admin.whoami()).await?;
        j.validate(&path, Some(&who))?;
        let u = Some(p.user.as_str());
        let keys = retry_safe(|| admin.list_keys(u)).await?;
        if p.old_key == super::OldKey::Inactive
            && keys.iter().any(|k| k.key_id == p.old_key_id && k.active)
        {
            return Err(Error::new(
                Kind::Refused,
                format!(
                    "old key {} is active again in IAM, although the rotation made it inactive; keyage does not delete it",
                    p.old_key_id
                ),
            )
            .hint("someone (a backout, another machine, by hand) re-activated it: check `keyage status`; make it inactive yourself if it is unused, then run finalize again"));
        }
        // Not listed any more: deleted elsewhere (by hand, another machine's finalize); only
        // the store's copy and the pending entry are left to remove.
        let already_gone = !keys.iter().any(|k| k.key_id == p.old_key_id);
        if !already_gone {
            match retry_safe(|| admin.last_used(&p.old_key_id)).await {
                Ok(lu) => {
                    if let Some(d) = lu.date.filter(|d| *d > p.rotated_at) {
                        return Ok(Verdict::UsedSince {
                            key_id: p.old_key_id.clone(),
                            last_used: d,
                            service: lu.service,
                        });
                    }
                    ignore_not_found(retry_safe(|| admin.delete_key(u, &p.old_key_id)).await)?;
                }
                Err(e) if e.failure == ApiFailure::NotFound => {}
                Err(e) => return Err(e.into()),
            }
        }
        edges::store_delete(&self.store, &p.old_key_id).await?;
        journal::remove_pending(&self.dir, &p.rotation_id)?;
        Ok(Verdict::Deleted {
            key_id: p.old_key_id.clone(),
            already_gone,
        })
    }
}
