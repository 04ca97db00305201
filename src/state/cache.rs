//! The fact cache: `<state_dir>/cache.json`, one `KeyFacts` per key id (no secrets), written
//! atomically (0600 in a 0700 folder). Entries are never dropped, so `first_seen` is kept
//! forever. A cache that cannot be read (corrupt, from a newer keyage) is set aside as
//! `cache.json.bad` and started afresh: it only holds facts IAM can give again, except
//! `first_seen`, which then restarts.
//!
//! ```json
//! {"version": 1, "keys": {"AKIA…": {"key_id": "AKIA…", "first_seen": "…", "checked_at": "…",
//!   "identity": {"account": "…", "arn": "…", "user_name": "…"}, "created": "…", "active": true,
//!   "last_used": {"date": "…", "service": "…", "region": "…"}, "others": [], "problems": []}}}
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::env::Env;
use crate::error::Result;
use crate::keys::facts::KeyFacts;

pub(crate) const CACHE_FILE: &str = "cache.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Cache {
    pub version: u32,
    pub keys: BTreeMap<String, KeyFacts>,
    #[serde(skip)]
    dirty: bool,
}

impl Cache {
    pub(crate) fn path(env: &Env) -> PathBuf {
        env.state_dir().join(CACHE_FILE)
    }

    /// Reads the cache; a missing file is an empty cache. Never fails on bad contents.
    pub(crate) fn load(env: &Env) -> Cache {
        Self::load_from(&Self::path(env))
    }

    pub(crate) fn load_from(path: &Path) -> Cache {
        let bytes = match crate::sys::fs::read_state(path) {
            Ok(Some(b)) => b,
            Ok(None) => return Cache::empty(),
            Err(e) => {
                tracing::warn!("cannot read the cache: {e}");
                return Cache::empty();
            }
        };
        match serde_json::from_slice::<Cache>(&bytes) {
            Ok(c) if c.version == VERSION => c,
            Ok(c) => {
                tracing::warn!(
                    "cache {} has version {}; starting afresh",
                    path.display(),
                    c.version
                );
                set_aside(path);
                Cache::empty()
            }
            Err(e) => {
                tracing::warn!(
                    "cache {} is unreadable ({e}); starting afresh",
                    path.display()
                );
                set_aside(path);
                Cache::empty()
            }
        }
    }

    pub(crate) fn empty() -> Cache {
        Cache {
            version: VERSION,
            keys: BTreeMap::new(),
            dirty: false,
        }
    }

    /// Writes the cache if anything changed since it was loaded.
    pub(crate) fn save(&mut self, env: &Env) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let dir = crate::state::ensure_dir(env)?;
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| crate::error::Error::internal(format!("cannot encode the cache: {e}")))?;
        crate::state::write_atomic(&dir.join(CACHE_FILE), &bytes)?;
        self.dirty = false;
        Ok(())
    }

    pub(crate) fn get(&self, key_id: &str) -> Option<&KeyFacts> {
        self.keys.get(key_id)
    }

    /// The entry for a key seen in a local file now (creates it with `first_seen = now`).
    pub(crate) fn observe(&mut self, key_id: &str, now: DateTime<Utc>) -> &mut KeyFacts {
        if !self.keys.contains_key(key_id) {
            self.dirty = true;
        }
        self.keys
            .entry(key_id.to_string())
            .or_insert_with(|| KeyFacts::new(key_id, now))
    }

    /// Replaces the facts of one key (after a refresh).
    pub(crate) fn put(&mut self, facts: KeyFacts) {
        self.dirty = true;
        self.keys.insert(facts.key_id.clone(), facts);
    }

    /// True when IAM answered about this key less than `ttl` ago.
    pub(crate) fn is_fresh(&self, key_id: &str, now: DateTime<Utc>, ttl: Duration) -> bool {
        self.keys
            .get(key_id)
            .and_then(|f| f.checked_at)
            .is_some_and(|c| c <= now && now - c < ttl)
    }

    #[cfg(test)]
    pub(crate) fn is_dirty(&self) -> bool {
        self.dirty
    }
}

/// A change keyage itself just made in IAM, so the cache can follow without asking IAM again
/// (`keyage status` then shows it at once, not after `--refresh` or the TTL).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// keyage created this key for the same IAM user as `sibling` (a key it already knows).
    Created {
        sibling: String,
        created: Option<DateTime<Utc>>,
    },
    /// UpdateAccessKey made it active (`true`) or inactive (`false`).
    Active(bool),
    /// DeleteAccessKey removed it.
    Deleted,
}

impl Cache {
    /// Applies a change keyage made to `key_id` at `now`: the key's own entry (if any) and
    /// every entry that lists it among the user's other keys (or, for `Created`, every entry of
    /// the sibling's user) follow. Identity and `checked_at` of other entries are kept; the
    /// key's own entry is not marked as checked (IAM did not tell us its last use).
    pub(crate) fn record(&mut self, key_id: &str, change: &Change, now: DateTime<Utc>) {
        use crate::keys::facts::OtherKey;
        match change {
            Change::Created { sibling, created } => {
                let sib = self.keys.get(sibling.as_str()).cloned();
                let same_user = |f: &KeyFacts| {
                    f.key_id == *sibling
                        || f.others.iter().any(|o| o.key_id == *sibling)
                        || match (&f.identity, sib.as_ref().and_then(|s| s.identity.as_ref())) {
                            (Some(a), Some(b)) => a.arn == b.arn,
                            _ => false,
                        }
                };
                for f in self.keys.values_mut() {
                    if f.key_id == key_id || !same_user(f) {
                        continue;
                    }
                    match f.others.iter_mut().find(|o| o.key_id == key_id) {
                        Some(o) => o.active = true,
                        None => f.others.push(OtherKey {
                            key_id: key_id.to_string(),
                            created: created.or(Some(now)),
                            active: true,
                            last_used: None,
                        }),
                    }
                    self.dirty = true;
                }
                let me = self
                    .keys
                    .entry(key_id.to_string())
                    .or_insert_with(|| KeyFacts::new(key_id, now));
                me.created = created.or(me.created).or(Some(now));
                me.active = Some(true);
                me.problems.clear();
                if let Some(s) = sib {
                    me.identity = me.identity.take().or(s.identity.clone());
                    if !me.others.iter().any(|o| o.key_id == s.key_id) {
                        me.others.push(OtherKey {
                            key_id: s.key_id.clone(),
                            created: s.created,
                            active: s.active.unwrap_or(true),
                            last_used: s.last_used.clone(),
                        });
                    }
                }
                self.dirty = true;
            }
            Change::Active(active) => {
                for f in self.keys.values_mut() {
                    if f.key_id == key_id {
                        f.active = Some(*active);
                        if *active {
                            f.problems.clear();
                        }
                        self.dirty = true;
                    } else if let Some(o) = f.others.iter_mut().find(|o| o.key_id == key_id) {
                        o.active = *active;
                        self.dirty = true;
                    }
                }
            }
            Change::Deleted => {
                for f in self.keys.values_mut() {
                    if f.key_id == key_id {
                        f.active = Some(false);
                        f.problems = vec![crate::keys::facts::Problem {
                            op: "DeleteAccessKey".to_string(),
                            failure: crate::keys::iam::ApiFailure::InvalidKey,
                            code: None,
                            message: "keyage deleted this key".to_string(),
                            at: now,
                        }];
                        self.dirty = true;
                    } else if f.others.iter().any(|o| o.key_id == key_id) {
                        f.others.retain(|o| o.key_id != key_id);
                        self.dirty = true;
                    }
                }
            }
        }
    }
}

/// Records changes keyage just made in IAM (see [`Change`]) in the cache file, in order, with
/// one load and one save. Call it after each IAM change (rotation, backout, finalize).
pub(crate) fn record_changes(
    env: &Env,
    changes: &[(String, Change)],
    now: DateTime<Utc>,
) -> Result<()> {
    let mut c = Cache::load(env);
    for (id, ch) in changes {
        c.record(id, ch, now);
    }
    c.save(env)
}

fn set_aside(path: &Path) {
    let mut bad = path.as_os_str().to_owned();
    bad.push(".bad");
    let _ = std::fs::rename(path, PathBuf::from(bad));
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trip_first_seen_and_ttl() {
        let d = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("KEYAGE_STATE_DIR", d.path().join("s").to_str().unwrap())]);
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut c = Cache::load(&env);
        c.observe("AKIAA", t0);
        c.save(&env).unwrap();
        let mut c = Cache::load(&env);
        // Seen again later: first_seen stays.
        c.observe("AKIAA", t0 + Duration::days(3));
        assert!(!c.is_dirty());
        assert_eq!(c.get("AKIAA").unwrap().first_seen, t0);
        assert!(!c.is_fresh("AKIAA", t0, Duration::hours(6)));
        let mut f = c.get("AKIAA").unwrap().clone();
        f.checked_at = Some(t0);
        c.put(f);
        assert!(c.is_fresh("AKIAA", t0 + Duration::hours(5), Duration::hours(6)));
        assert!(!c.is_fresh("AKIAA", t0 + Duration::hours(6), Duration::hours(6)));
        c.save(&env).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let m = std::fs::metadata(Cache::path(&env))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(m & 0o777, 0o600);
        }
    }

    #[test]
    fn changes_follow_keyages_own_calls() {
        use crate::keys::facts::OtherKey;
        use crate::keys::iam::Identity;
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut c = Cache::empty();
        let mut a = KeyFacts::new("AKIAA", t0);
        a.identity = Some(Identity::from_arn(
            "1".into(),
            "arn:aws:iam::1:user/u".into(),
        ));
        a.active = Some(true);
        a.checked_at = Some(t0);
        c.put(a);
        // Rotation: B created, A made inactive.
        c.record(
            "AKIAB",
            &Change::Created {
                sibling: "AKIAA".into(),
                created: Some(t0),
            },
            t0,
        );
        c.record("AKIAA", &Change::Active(false), t0);
        let b = c.get("AKIAB").unwrap();
        assert_eq!(b.active, Some(true));
        assert_eq!(b.identity.as_ref().unwrap().arn, "arn:aws:iam::1:user/u");
        assert_eq!(b.others[0].key_id, "AKIAA");
        assert!(!b.others[0].active, "the sibling's entry follows");
        let a = c.get("AKIAA").unwrap();
        assert_eq!(a.active, Some(false));
        assert_eq!(
            a.others,
            vec![OtherKey {
                key_id: "AKIAB".into(),
                created: Some(t0),
                active: true,
                last_used: None
            }]
        );
        assert_eq!(a.checked_at, Some(t0), "still fresh: no refresh needed");
        // Backout: A active, B inactive.
        c.record("AKIAA", &Change::Active(true), t0);
        c.record("AKIAB", &Change::Active(false), t0);
        assert!(!c.get("AKIAA").unwrap().others[0].active);
        // Finalize: B deleted.
        c.record("AKIAB", &Change::Deleted, t0);
        assert!(c.get("AKIAA").unwrap().others.is_empty());
        assert!(c.get("AKIAB").unwrap().is_invalid());
    }

    #[test]
    fn corrupt_cache_is_set_aside() {
        let d = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("KEYAGE_STATE_DIR", d.path().to_str().unwrap())]);
        std::fs::write(Cache::path(&env), b"{not json").unwrap();
        let c = Cache::load(&env);
        assert!(c.keys.is_empty());
        assert!(d.path().join("cache.json.bad").exists());
    }
}
