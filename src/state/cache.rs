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

pub const CACHE_FILE: &str = "cache.json";
const VERSION: u32 = 1;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cache {
    pub version: u32,
    pub keys: BTreeMap<String, KeyFacts>,
    #[serde(skip)]
    dirty: bool,
}

impl Cache {
    pub fn path(env: &Env) -> PathBuf {
        env.state_dir().join(CACHE_FILE)
    }

    /// Reads the cache; a missing file is an empty cache. Never fails on bad contents.
    pub fn load(env: &Env) -> Cache {
        Self::load_from(&Self::path(env))
    }

    pub fn load_from(path: &Path) -> Cache {
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

    pub fn empty() -> Cache {
        Cache {
            version: VERSION,
            keys: BTreeMap::new(),
            dirty: false,
        }
    }

    /// Writes the cache if anything changed since it was loaded.
    pub fn save(&mut self, env: &Env) -> Result<()> {
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

    pub fn get(&self, key_id: &str) -> Option<&KeyFacts> {
        self.keys.get(key_id)
    }

    /// The entry for a key seen in a local file now (creates it with `first_seen = now`).
    pub fn observe(&mut self, key_id: &str, now: DateTime<Utc>) -> &mut KeyFacts {
        if !self.keys.contains_key(key_id) {
            self.dirty = true;
        }
        self.keys
            .entry(key_id.to_string())
            .or_insert_with(|| KeyFacts::new(key_id, now))
    }

    /// Replaces the facts of one key (after a refresh).
    pub fn put(&mut self, facts: KeyFacts) {
        self.dirty = true;
        self.keys.insert(facts.key_id.clone(), facts);
    }

    /// True when IAM answered about this key less than `ttl` ago.
    pub fn is_fresh(&self, key_id: &str, now: DateTime<Utc>, ttl: Duration) -> bool {
        self.keys
            .get(key_id)
            .and_then(|f| f.checked_at)
            .is_some_and(|c| c <= now && now - c < ttl)
    }

    pub fn is_dirty(&self) -> bool {
        self.dirty
    }
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
    fn corrupt_cache_is_set_aside() {
        let d = tempfile::tempdir().unwrap();
        let env = Env::from_pairs([("KEYAGE_STATE_DIR", d.path().to_str().unwrap())]);
        std::fs::write(Cache::path(&env), b"{not json").unwrap();
        let c = Cache::load(&env);
        assert!(c.keys.is_empty());
        assert!(d.path().join("cache.json.bad").exists());
    }
}
