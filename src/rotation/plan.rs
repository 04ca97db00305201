//! Pure planning: the profiles, the caller's identity, ListAccessKeys, the arguments and `now`
//! in; a plan or a refusal out. No I/O here.

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use super::edges::Holder;
use super::{OldKey, Owner, Retire};
use crate::error::{Error, Kind};
use crate::keys::iam::{Identity, KeyMeta};
use crate::profiles::{Class, Inventory};

/// What one profile holds, as far as planning goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileInfo {
    pub name: String,
    /// The static key id, or why there is none.
    pub key: Result<String, String>,
    pub file: PathBuf,
    pub line: usize,
    pub mfa_serial: Option<String>,
}

/// The planning view of an inventory.
pub fn profile_infos(inv: &Inventory) -> Vec<ProfileInfo> {
    inv.profiles
        .iter()
        .map(|p| ProfileInfo {
            name: p.name.clone(),
            key: match &p.class {
                Class::Static { key_id } => Ok(key_id.clone()),
                Class::Temporary { key_id } => Err(format!(
                    "holds a temporary key ({key_id}, with a session token); only long-term keys are rotated"
                )),
                Class::NoStaticKey { source } => {
                    Err(format!("has no key of its own (it uses {source})"))
                }
                Class::Incomplete { reason } => Err(format!("is incomplete: {reason}")),
            },
            file: p.file.clone(),
            line: p.line,
            mfa_serial: p.mfa_serial.clone(),
        })
        .collect()
}

/// What the user asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub profile: String,
    pub retire: Retire,
    pub mfa_serial: Option<String>,
    pub delete_inactive_spare: bool,
}

/// The key to rotate and where it lives (known before any network call).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    pub profile: String,
    pub old_key_id: String,
    pub holders: Vec<Holder>,
    pub files: Vec<PathBuf>,
    pub mfa_serial: Option<String>,
}

/// Why no rotation. The message is the variant's `#[error]` text; [`Refusal::hint`] says what
/// to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("there is no profile `{profile}` in your AWS credentials or config file")]
    NoProfile { profile: String },
    #[error("profile `{profile}` {why}")]
    NotStatic { profile: String, why: String },
    #[error("the key belongs to {arn}, not an IAM user; keyage rotates IAM users' own keys")]
    NotAUser { arn: String },
    #[error("IAM does not list key {key_id} for user {user}")]
    KeyNotListed { key_id: String, user: String },
    #[error("key {key_id} is inactive; a rotation starts from a working key")]
    OldInactive { key_id: String },
    /// Two keys; the other one is inactive: deleting it (asked) makes room.
    #[error(
        "you already have two access keys; the other one, {spare}, is inactive and IAM allows only two"
    )]
    SpareInactive { spare: String },
    /// Two keys, both active: never delete an active key unasked.
    #[error(
        "you already have two active access keys (the other one is {spare}); IAM allows only two, and keyage never deletes an active key unasked"
    )]
    SpareActive { spare: String },
}

impl Refusal {
    fn kind(&self) -> Kind {
        match self {
            Refusal::NoProfile { .. } => Kind::Usage,
            Refusal::KeyNotListed { .. } => Kind::Conflict,
            _ => Kind::Refused,
        }
    }

    /// What to do about it.
    pub fn hint(&self) -> Option<String> {
        let fixed = match self {
            Refusal::NoProfile { .. } => "pick one with --profile (see `keyage status`)",
            Refusal::NotStatic { .. } => {
                "rotate the profile that holds the long-term key (see `keyage status`)"
            }
            Refusal::NotAUser { .. } => return None,
            Refusal::KeyNotListed { .. } => {
                "run `keyage status --refresh`; the key may have been deleted elsewhere"
            }
            Refusal::OldInactive { .. } => {
                "if another machine holding the same key rotated it, copy the new key from there (`keyage status` shows your keys)"
            }
            Refusal::SpareInactive { .. } => {
                "confirm its deletion when asked, or pass --delete-inactive-spare (its secret cannot be recovered after that)"
            }
            Refusal::SpareActive { spare } => {
                return Some(format!(
                    "find out what uses {spare} (`keyage status`, GetAccessKeyLastUsed); make it inactive or delete it yourself, then rotate again; if another machine holding the same key is rotating it right now, let it finish and copy its new key from there"
                ))
            }
        };
        Some(fixed.to_string())
    }
}

impl From<Refusal> for Error {
    fn from(r: Refusal) -> Error {
        Error {
            kind: r.kind(),
            message: r.to_string(),
            hint: r.hint(),
        }
    }
}

/// Step 0 (offline): the profile's key and every profile/file that holds it.
pub fn select(profiles: &[ProfileInfo], req: &Request) -> Result<Selected, Refusal> {
    let p = profiles
        .iter()
        .find(|p| p.name == req.profile)
        .ok_or_else(|| Refusal::NoProfile {
            profile: req.profile.clone(),
        })?;
    let key_id = p.key.clone().map_err(|why| Refusal::NotStatic {
        profile: p.name.clone(),
        why,
    })?;
    let holders: Vec<Holder> = profiles
        .iter()
        .filter(|q| q.key.as_deref() == Ok(key_id.as_str()))
        .map(|q| Holder {
            profile: q.name.clone(),
            file: q.file.clone(),
            line: q.line,
        })
        .collect();
    let mut files: Vec<PathBuf> = holders.iter().map(|h| h.file.clone()).collect();
    files.sort();
    files.dedup();
    Ok(Selected {
        profile: p.name.clone(),
        old_key_id: key_id,
        holders,
        files,
        mfa_serial: req.mfa_serial.clone().or_else(|| p.mfa_serial.clone()),
    })
}

/// The full plan, after the preflight calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub sel: Selected,
    pub owner: Owner,
    pub keys_before: Vec<String>,
    pub delete_spare: Option<String>,
    pub retire: Retire,
    pub deadline: DateTime<Utc>,
}

/// Checks the identity and the user's keys against the selection.
pub fn plan(
    sel: Selected,
    identity: &Identity,
    keys: &[KeyMeta],
    req: &Request,
    now: DateTime<Utc>,
) -> Result<Plan, Refusal> {
    let user = identity
        .user_name
        .clone()
        .ok_or_else(|| Refusal::NotAUser {
            arn: identity.arn.clone(),
        })?;
    let old = keys
        .iter()
        .find(|k| k.key_id == sel.old_key_id)
        .ok_or_else(|| Refusal::KeyNotListed {
            key_id: sel.old_key_id.clone(),
            user: user.clone(),
        })?;
    if !old.active {
        return Err(Refusal::OldInactive {
            key_id: old.key_id.clone(),
        });
    }
    let mut delete_spare = None;
    if let Some(other) = keys.iter().find(|k| k.key_id != sel.old_key_id) {
        if other.active {
            return Err(Refusal::SpareActive {
                spare: other.key_id.clone(),
            });
        }
        if !req.delete_inactive_spare {
            return Err(Refusal::SpareInactive {
                spare: other.key_id.clone(),
            });
        }
        delete_spare = Some(other.key_id.clone());
    }
    Ok(Plan {
        sel,
        owner: Owner {
            account: identity.account.clone(),
            arn: identity.arn.clone(),
            user,
        },
        keys_before: keys.iter().map(|k| k.key_id.clone()).collect(),
        delete_spare,
        retire: req.retire,
        deadline: super::after_days(now, req.retire.grace_days),
    })
}

impl Plan {
    /// The plan as shown before confirmation. Key ids only, never a secret.
    pub fn render(&self) -> String {
        let mut s = String::new();
        s.push_str(&format!(
            "Rotate key {} of IAM user {} (account {}), profile `{}`:\n",
            self.sel.old_key_id, self.owner.user, self.owner.account, self.sel.profile
        ));
        if let Some(spare) = &self.delete_spare {
            s.push_str(&format!(
                "  0. delete the inactive spare key {spare} to make room (its secret is lost)\n"
            ));
        }
        s.push_str("  a. create a new key; its secret goes to the OS keyring at once\n");
        s.push_str("  b. copy the old secret to the OS keyring (the backout copy)\n");
        s.push_str("  c. switch these profiles to the new key (only the two values change):\n");
        for h in &self.sel.holders {
            s.push_str(&format!(
                "       {} ({}:{})\n",
                h.profile,
                h.file.display(),
                h.line
            ));
        }
        s.push_str("  d. prove the new key works (STS, retried up to 2 minutes)\n");
        let deadline = self.deadline.format("%Y-%m-%d %H:%M UTC");
        match self.retire.old_key {
            OldKey::Inactive => s.push_str(&format!(
                "  e. make the old key inactive; `keyage finalize` deletes it from {deadline} if unused\n"
            )),
            OldKey::Delete => s.push_str("  e. delete the old key (no backout after this)\n"),
            OldKey::KeepActive => s.push_str(&format!(
                "  e. leave the old key active; `keyage finalize` deletes it from {deadline} if unused\n"
            )),
        }
        s.push_str("  f. record the pending finalize\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn infos() -> Vec<ProfileInfo> {
        let f = PathBuf::from("/h/.aws/credentials");
        vec![
            ProfileInfo {
                name: "default".into(),
                key: Ok("AKIAOLD".into()),
                file: f.clone(),
                line: 2,
                mfa_serial: None,
            },
            ProfileInfo {
                name: "sso".into(),
                key: Err("has no key of its own (it uses sso_session)".into()),
                file: f.clone(),
                line: 5,
                mfa_serial: None,
            },
            ProfileInfo {
                name: "copy".into(),
                key: Ok("AKIAOLD".into()),
                file: PathBuf::from("/h/.aws/config"),
                line: 9,
                mfa_serial: Some("arn:aws:iam::1:mfa/a".into()),
            },
        ]
    }

    fn req(profile: &str) -> Request {
        Request {
            profile: profile.into(),
            retire: Retire {
                old_key: OldKey::Inactive,
                grace_days: 7,
            },
            mfa_serial: None,
            delete_inactive_spare: false,
        }
    }

    fn ident() -> Identity {
        Identity::from_arn("1".into(), "arn:aws:iam::1:user/alice".into())
    }

    fn key(id: &str, active: bool) -> KeyMeta {
        KeyMeta {
            key_id: id.into(),
            created: None,
            active,
        }
    }

    #[test]
    fn selects_every_holder() {
        let s = select(&infos(), &req("default")).unwrap();
        assert_eq!(s.old_key_id, "AKIAOLD");
        assert_eq!(s.holders.len(), 2);
        assert_eq!(s.files.len(), 2);
        let s = select(&infos(), &req("copy")).unwrap();
        assert_eq!(s.mfa_serial.as_deref(), Some("arn:aws:iam::1:mfa/a"));
        assert!(matches!(
            select(&infos(), &req("nope")),
            Err(Refusal::NoProfile { .. })
        ));
        assert!(matches!(
            select(&infos(), &req("sso")),
            Err(Refusal::NotStatic { .. })
        ));
    }

    #[test]
    fn two_key_rules() {
        let now = Utc::now();
        let s = select(&infos(), &req("default")).unwrap();
        let p = plan(
            s.clone(),
            &ident(),
            &[key("AKIAOLD", true)],
            &req("default"),
            now,
        )
        .unwrap();
        assert_eq!(p.owner.user, "alice");
        assert_eq!(p.delete_spare, None);
        assert_eq!(p.deadline, now + chrono::Duration::days(7));
        assert!(!p.render().contains("0. delete"));

        let two_active = [key("AKIAOLD", true), key("AKIAOTHER", true)];
        assert_eq!(
            plan(s.clone(), &ident(), &two_active, &req("default"), now),
            Err(Refusal::SpareActive {
                spare: "AKIAOTHER".into()
            })
        );
        let mut r = req("default");
        r.delete_inactive_spare = true;
        assert!(plan(s.clone(), &ident(), &two_active, &r, now).is_err());

        let spare = [key("AKIAOLD", true), key("AKIASPARE", false)];
        assert_eq!(
            plan(s.clone(), &ident(), &spare, &req("default"), now),
            Err(Refusal::SpareInactive {
                spare: "AKIASPARE".into()
            })
        );
        let p = plan(s.clone(), &ident(), &spare, &r, now).unwrap();
        assert_eq!(p.delete_spare.as_deref(), Some("AKIASPARE"));
        assert!(p
            .render()
            .contains("0. delete the inactive spare key AKIASPARE"));
    }

    #[test]
    fn refuses_odd_identities() {
        let now = Utc::now();
        let s = select(&infos(), &req("default")).unwrap();
        let role = Identity::from_arn("1".into(), "arn:aws:sts::1:assumed-role/r/s".into());
        assert!(matches!(
            plan(s.clone(), &role, &[], &req("default"), now),
            Err(Refusal::NotAUser { .. })
        ));
        assert!(matches!(
            plan(
                s.clone(),
                &ident(),
                &[key("AKIAX", true)],
                &req("default"),
                now
            ),
            Err(Refusal::KeyNotListed { .. })
        ));
        assert!(matches!(
            plan(s, &ident(), &[key("AKIAOLD", false)], &req("default"), now),
            Err(Refusal::OldInactive { .. })
        ));
    }
}
