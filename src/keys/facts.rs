//! What keyage knows about one access key id: who it is (STS), when it was made and whether it
//! is active (ListAccessKeys), when it was last used (GetAccessKeyLastUsed), the user's other
//! keys, when we asked (`checked_at`), when we first saw it in a local file (`first_seen`), and
//! what went wrong when IAM could not answer. No secrets: ids, dates, ARNs and error codes only.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::iam::{iam_action, ApiError, ApiFailure, Identity, KeyMeta, LastUsed};

/// The facts about one local key id (one entry of the cache).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct KeyFacts {
    pub key_id: String,
    /// When keyage first saw this id in a local file; kept forever. The lower bound of the
    /// key's age when IAM cannot tell.
    pub first_seen: DateTime<Utc>,
    /// When IAM last answered about this key (None: never).
    #[serde(default)]
    pub checked_at: Option<DateTime<Utc>>,
    /// STS GetCallerIdentity with this key.
    #[serde(default)]
    pub identity: Option<Identity>,
    /// CreateDate from ListAccessKeys.
    #[serde(default)]
    pub created: Option<DateTime<Utc>>,
    /// Status from ListAccessKeys (None: unknown).
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub last_used: Option<LastUsed>,
    /// The user's other keys (from ListAccessKeys), not including this one.
    #[serde(default)]
    pub others: Vec<OtherKey>,
    /// Why the last refresh was incomplete (empty when IAM answered everything).
    #[serde(default)]
    pub problems: Vec<Problem>,
}

/// Another key of the same IAM user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OtherKey {
    pub key_id: String,
    pub created: Option<DateTime<Utc>>,
    pub active: bool,
    #[serde(default)]
    pub last_used: Option<LastUsed>,
}

/// A failed call, kept for the note and the JSON `problem` field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Problem {
    /// The API operation, e.g. `ListAccessKeys`.
    pub op: String,
    pub failure: ApiFailure,
    pub code: Option<String>,
    pub message: String,
    pub at: DateTime<Utc>,
}

impl Problem {
    /// The full explanation (with the policy statement for AccessDenied).
    #[cfg(test)]
    pub(crate) fn explain(&self) -> String {
        match self.failure {
            ApiFailure::AccessDenied => format!(
                "{} was denied: your IAM identity lacks {}; ask an admin to attach a policy with this statement:\n{}",
                self.op,
                iam_action(&self.op),
                crate::keys::iam::SELF_SERVICE_STATEMENT
            ),
            ApiFailure::InvalidKey => format!(
                "{} rejected the key ({}): it was deleted, made inactive, or its secret is wrong",
                self.op,
                self.code.as_deref().unwrap_or("InvalidClientTokenId")
            ),
            _ => format!("{} failed: {}", self.op, self.message),
        }
    }
    pub(crate) fn from_api(e: &ApiError, at: DateTime<Utc>) -> Self {
        Problem {
            op: e.op.to_string(),
            failure: e.failure,
            code: e.code.clone(),
            message: e.message.clone(),
            at,
        }
    }
    /// The IAM action whose absence caused an AccessDenied.
    pub(crate) fn missing_action(&self) -> Option<&'static str> {
        (self.failure == ApiFailure::AccessDenied).then(|| iam_action(&self.op))
    }
    /// One line for the table's note.
    pub(crate) fn short(&self) -> String {
        match self.failure {
            ApiFailure::AccessDenied => format!("AccessDenied: missing {}", iam_action(&self.op)),
            ApiFailure::InvalidKey => format!(
                "invalid: AWS rejected the key ({})",
                self.code.as_deref().unwrap_or("InvalidClientTokenId")
            ),
            ApiFailure::Unreachable => "IAM unreachable".to_string(),
            ApiFailure::TimedOut => "IAM unreachable (timed out)".to_string(),
            _ => format!(
                "{} failed: {}",
                self.op,
                self.code.as_deref().unwrap_or(&self.message)
            ),
        }
    }
}

/// The answers of one refresh of one key (see `gather`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Fetched {
    pub identity: Option<Identity>,
    /// ListAccessKeys of the caller, when it answered.
    pub keys: Option<Vec<KeyMeta>>,
    /// GetAccessKeyLastUsed per key id that answered.
    pub last_used: Vec<(String, LastUsed)>,
    pub errors: Vec<ApiError>,
}

impl KeyFacts {
    pub(crate) fn new(key_id: &str, first_seen: DateTime<Utc>) -> Self {
        KeyFacts {
            key_id: key_id.to_string(),
            first_seen,
            checked_at: None,
            identity: None,
            created: None,
            active: None,
            last_used: None,
            others: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// The problem that decides how the key is shown: invalid first, then access denied.
    pub(crate) fn main_problem(&self) -> Option<&Problem> {
        let rank = |p: &Problem| match p.failure {
            ApiFailure::InvalidKey => 0,
            ApiFailure::AccessDenied => 1,
            _ => 2,
        };
        self.problems.iter().min_by_key(|p| rank(p))
    }

    pub(crate) fn is_invalid(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.failure == ApiFailure::InvalidKey)
    }

    /// Merges a refresh into the facts. Facts that cannot change (CreateDate, identity) are
    /// kept when this refresh could not learn them; a refresh that reached nobody (network
    /// down) keeps everything and does not count as checked.
    pub(crate) fn apply(&mut self, f: Fetched, now: DateTime<Utc>) {
        let reached = f.identity.is_some()
            || f.keys.is_some()
            || f.errors.iter().any(|e| {
                matches!(
                    e.failure,
                    ApiFailure::InvalidKey | ApiFailure::AccessDenied | ApiFailure::NotFound
                )
            });
        self.problems = f.errors.iter().map(|e| Problem::from_api(e, now)).collect();
        if !reached {
            return;
        }
        self.checked_at = Some(now);
        if let Some(id) = f.identity {
            self.identity = Some(id);
        }
        if self.is_invalid() {
            // A rejected key is not usable, whatever IAM said before.
            self.active = Some(false);
            return;
        }
        if let Some(keys) = f.keys {
            match keys.iter().find(|k| k.key_id == self.key_id) {
                Some(me) => {
                    self.created = me.created.or(self.created);
                    self.active = Some(me.active);
                }
                None => self.active = None,
            }
            self.others = keys
                .iter()
                .filter(|k| k.key_id != self.key_id)
                .map(|k| OtherKey {
                    key_id: k.key_id.clone(),
                    created: k.created,
                    active: k.active,
                    last_used: None,
                })
                .collect();
        }
        for (id, lu) in f.last_used {
            if id == self.key_id {
                self.last_used = Some(lu);
            } else if let Some(o) = self.others.iter_mut().find(|o| o.key_id == id) {
                o.last_used = Some(lu);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, d, 0, 0, 0).unwrap()
    }
    fn err(op: &'static str, failure: ApiFailure) -> ApiError {
        ApiError {
            op,
            failure,
            code: Some("X".into()),
            message: "m".into(),
        }
    }

    /// An answer that failed at `op`.
    fn failed(identity: Option<Identity>, op: &'static str, failure: ApiFailure) -> Fetched {
        Fetched {
            identity,
            errors: vec![err(op, failure)],
            ..Default::default()
        }
    }

    fn user_u() -> Identity {
        Identity::from_arn("1".into(), "arn:aws:iam::1:user/u".into())
    }

    #[test]
    fn apply_full_answer() {
        let mut f = KeyFacts::new("AKIAA", t(1));
        f.apply(
            Fetched {
                identity: Some(user_u()),
                keys: Some(vec![
                    KeyMeta {
                        key_id: "AKIAA".into(),
                        created: Some(t(2)),
                        active: true,
                    },
                    KeyMeta {
                        key_id: "AKIAB".into(),
                        created: Some(t(3)),
                        active: false,
                    },
                ]),
                last_used: vec![("AKIAB".into(), LastUsed::default())],
                errors: vec![],
            },
            t(5),
        );
        assert_eq!(f.created, Some(t(2)));
        assert_eq!(f.active, Some(true));
        assert_eq!(f.checked_at, Some(t(5)));
        assert_eq!(f.others.len(), 1);
        assert!(f.others[0].last_used.is_some());
        assert_eq!(f.first_seen, t(1));
    }

    #[test]
    fn unreachable_keeps_old_facts() {
        let mut f = KeyFacts::new("AKIAA", t(1));
        f.created = Some(t(2));
        f.checked_at = Some(t(3));
        f.apply(
            failed(None, "GetCallerIdentity", ApiFailure::Unreachable),
            t(5),
        );
        assert_eq!(f.created, Some(t(2)));
        assert_eq!(f.checked_at, Some(t(3)));
        assert_eq!(f.problems.len(), 1);
    }

    #[test]
    fn denied_list_keeps_created_and_names_action() {
        let mut f = KeyFacts::new("AKIAA", t(1));
        f.apply(
            failed(Some(user_u()), "ListAccessKeys", ApiFailure::AccessDenied),
            t(5),
        );
        assert_eq!(f.created, None);
        let p = f.main_problem().unwrap();
        assert_eq!(p.missing_action(), Some("iam:ListAccessKeys"));
        assert!(p.explain().contains("\"Effect\": \"Allow\""));
    }

    #[test]
    fn invalid_marks_inactive() {
        let mut f = KeyFacts::new("AKIAA", t(1));
        f.apply(
            failed(None, "GetCallerIdentity", ApiFailure::InvalidKey),
            t(5),
        );
        assert!(f.is_invalid());
        assert_eq!(f.active, Some(false));
        assert!(f.main_problem().unwrap().short().starts_with("invalid"));
    }
}
