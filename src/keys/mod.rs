//! Keys: what we know about each (`facts`), how we learn it (`iam`, behind `KeyService`), and
//! what it means (`policy`, pure).

pub(crate) mod facts;
pub(crate) mod gather;
pub mod iam;
pub(crate) mod policy;
pub(crate) mod verify;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::env::Env;
use crate::error::Result;
use crate::profiles::{Inventory, KeyGroup};
use crate::state::cache::Cache;

/// How stale facts are fetched: [`gather::refresh`] (IAM through the SDK). A parameter rather
/// than a direct call so that code which only ever runs [`Refresh::Offline`] (the fast `keyage`
/// front binary, see `crate::front`) does not link the AWS SDK at all.
pub(crate) type Fetch = fn(&Env, &Inventory, &[String], &mut Cache, DateTime<Utc>) -> Result<()>;

/// When to ask IAM, and how.
#[derive(Clone, Copy)]
pub(crate) enum Refresh {
    /// Never (cache only; no async runtime is built).
    Offline,
    /// Keys whose facts are older than the config's `cache_ttl_hours`.
    Stale(Fetch),
    /// Every selected key.
    Force(Fetch),
}

impl Refresh {
    /// Every key through IAM (`--refresh`, the agent).
    pub(crate) fn force() -> Self {
        Refresh::Force(gather::refresh)
    }
}

/// After keyage changed keys in IAM (rotate-self, backout, finalize): records the changes in
/// the fact cache (`state::cache::Change`) and rewrites the prompt segments from it, offline,
/// so `status`, the prompt and the hook show the new state at once. Never fails the command:
/// problems are one warning line each.
pub(crate) fn after_change(
    env: &Env,
    changes: &[(String, crate::state::cache::Change)],
    now: DateTime<Utc>,
) {
    if let Err(e) = crate::state::cache::record_changes(env, changes, now) {
        crate::warning!("the fact cache was not updated: {e}");
    }
    refresh_surfaces(env, now);
}

/// Rewrites the prompt segment files from the cache (no network): for commands that changed
/// the AWS files or keys.
pub(crate) fn refresh_surfaces(env: &Env, now: DateTime<Utc>) {
    let (Ok(config), Ok(inventory)) = (Config::load(env), Inventory::load(env)) else {
        return;
    };
    let pending = crate::rotation::rotating_keys(&crate::rotation::pending(env));
    let Ok(cache) = update_cache(env, &inventory, &config, &[], Refresh::Offline, now) else {
        return;
    };
    publish(
        env,
        &inventory,
        &config,
        &pending,
        assess(&inventory, &cache, &config, now),
    );
}

/// The effectful half of `status` and the agent: loads the fact cache, records `first_seen`
/// for every local key, refreshes the `selected` keys per `mode` (others stay as cached) and
/// saves the cache. Which keys are refreshed is [`due_for_refresh`]'s decision.
pub(crate) fn update_cache(
    env: &Env,
    inventory: &Inventory,
    config: &Config,
    selected: &[KeyGroup],
    mode: Refresh,
    now: DateTime<Utc>,
) -> Result<Cache> {
    let mut cache = Cache::load(env);
    for g in &inventory.keys() {
        cache.observe(&g.key_id, now);
    }
    let (fetch, force) = match mode {
        Refresh::Offline => (None, false),
        Refresh::Stale(f) => (Some(f), false),
        Refresh::Force(f) => (Some(f), true),
    };
    if let Some(fetch) = fetch {
        let stale = due_for_refresh(selected, &cache, config, force, now);
        if !stale.is_empty() {
            fetch(env, inventory, &stale, &mut cache, now)?;
        }
    }
    if let Err(e) = cache.save(env) {
        crate::warning!("{e}");
    }
    Ok(cache)
}

/// Pure: the `selected` keys to ask IAM about: every one when `force`, else those whose facts
/// are older than the config's `cache_ttl_hours`; never an ignored one.
pub(crate) fn due_for_refresh(
    selected: &[KeyGroup],
    cache: &Cache,
    config: &Config,
    force: bool,
    now: DateTime<Utc>,
) -> Vec<String> {
    selected
        .iter()
        .filter(|g| force || !cache.is_fresh(&g.key_id, now, config.cache_ttl()))
        .filter(|g| {
            !config
                .policy_for(g.profiles.iter().map(String::as_str))
                .ignore
        })
        .map(|g| g.key_id.clone())
        .collect()
}

/// Pure: one finding per key of `inventory` (all keys, not only the refreshed ones), from the
/// facts in `cache`. The callers then [`publish`] them (segment files, the rotated-elsewhere
/// mark).
pub(crate) fn assess(
    inventory: &Inventory,
    cache: &Cache,
    config: &Config,
    now: DateTime<Utc>,
) -> Vec<policy::Finding> {
    policy::evaluate(&inventory.keys(), cache, config, now)
}

/// What every caller of [`assess`] does with the findings before showing them (the effects,
/// kept out of `assess`): marks a key that was rotated on another machine
/// (`rotation::mark_elsewhere`, from the note in the state folder) and rewrites the prompt
/// segment files. Returns the findings to show.
pub(crate) fn publish(
    env: &Env,
    inventory: &Inventory,
    config: &Config,
    pending: &BTreeSet<String>,
    mut findings: Vec<policy::Finding>,
) -> Vec<policy::Finding> {
    crate::rotation::mark_elsewhere(env, &mut findings);
    crate::surfaces::segment::write_or_warn(env, inventory, &findings, &config.prompt, pending);
    findings
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn group(id: &str, profile: &str) -> KeyGroup {
        KeyGroup {
            key_id: id.into(),
            profiles: vec![profile.into()],
        }
    }

    #[test]
    fn due_for_refresh_is_stale_or_forced_and_never_ignored() {
        let now = Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap();
        let groups = [group("AKIA1", "a"), group("AKIA2", "b")];
        let mut cache = Cache::empty();
        let mut fresh = facts::KeyFacts::new("AKIA1", now);
        fresh.checked_at = Some(now);
        cache.put(fresh);
        let config = Config::default();
        assert_eq!(
            due_for_refresh(&groups, &cache, &config, false, now),
            vec!["AKIA2"]
        );
        assert_eq!(
            due_for_refresh(&groups, &cache, &config, true, now),
            vec!["AKIA1", "AKIA2"]
        );
        let ignore_b =
            Config::parse("[profiles.b]\nignore = true\n", std::path::Path::new("/c")).unwrap();
        assert_eq!(
            due_for_refresh(&groups, &cache, &ignore_b, true, now),
            vec!["AKIA1"]
        );
    }
}
