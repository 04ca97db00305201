//! Keys: what we know about each (`facts`), how we learn it (`iam`, behind `KeyService`), and
//! what it means (`policy`, pure).

pub mod facts;
pub mod gather;
pub mod iam;
pub mod policy;
pub mod verify;

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
pub type Fetch = fn(&Env, &Inventory, &[String], &mut Cache, DateTime<Utc>) -> Result<()>;

/// When to ask IAM, and how.
#[derive(Clone, Copy)]
pub enum Refresh {
    /// Never (cache only; no async runtime is built).
    Offline,
    /// Keys whose facts are older than the config's `cache_ttl_hours`.
    Stale(Fetch),
    /// Every selected key.
    Force(Fetch),
}

impl Refresh {
    /// Stale keys through IAM (the default of `keyage status`).
    pub fn stale() -> Self {
        Refresh::Stale(gather::refresh)
    }
    /// Every key through IAM (`--refresh`, the agent).
    pub fn force() -> Self {
        Refresh::Force(gather::refresh)
    }
}

/// After keyage changed keys in IAM (rotate-self, backout, finalize): records the changes in
/// the fact cache (`state::cache::Change`) and rewrites the prompt segments from it, offline,
/// so `status`, the prompt and the hook show the new state at once. Never fails the command:
/// problems are one warning line each.
pub fn after_change(
    env: &Env,
    changes: &[(String, crate::state::cache::Change)],
    now: DateTime<Utc>,
) {
    if let Err(e) = crate::state::cache::record_changes(env, changes, now) {
        eprintln!("keyage: warning: the fact cache was not updated: {e}");
    }
    refresh_surfaces(env, now);
}

/// Rewrites the prompt segment files from the cache (no network): for commands that changed
/// the AWS files or keys.
pub fn refresh_surfaces(env: &Env, now: DateTime<Utc>) {
    let (Ok(config), Ok(inventory)) = (Config::load(env), Inventory::load(env)) else {
        return;
    };
    let pending = crate::rotation::rotating_keys(&crate::rotation::pending(env));
    let groups = inventory.keys();
    let _ = assess(
        env,
        &inventory,
        &config,
        &groups,
        Refresh::Offline,
        &pending,
        now,
    );
}

/// The shared pipeline of `status` and the agent: records `first_seen` for every local key,
/// refreshes the `selected` keys per `mode` (others stay as cached), saves the cache, evaluates
/// every key, and rewrites the prompt segment files. Returns the cache and one finding per key
/// (all keys, not only the selected ones). `pending` = key ids with a rotation in progress.
pub fn assess(
    env: &Env,
    inventory: &Inventory,
    config: &Config,
    selected: &[KeyGroup],
    mode: Refresh,
    pending: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Result<(Cache, Vec<policy::Finding>)> {
    let groups = inventory.keys();
    let mut cache = Cache::load(env);
    for g in &groups {
        cache.observe(&g.key_id, now);
    }
    let (fetch, force) = match mode {
        Refresh::Offline => (None, false),
        Refresh::Stale(f) => (Some(f), false),
        Refresh::Force(f) => (Some(f), true),
    };
    if let Some(fetch) = fetch {
        let stale: Vec<String> = selected
            .iter()
            .filter(|g| force || !cache.is_fresh(&g.key_id, now, config.cache_ttl()))
            .filter(|g| {
                !config
                    .policy_for(g.profiles.iter().map(String::as_str))
                    .ignore
            })
            .map(|g| g.key_id.clone())
            .collect();
        if !stale.is_empty() {
            fetch(env, inventory, &stale, &mut cache, now)?;
        }
    }
    if let Err(e) = cache.save(env) {
        eprintln!("keyage: warning: {e}");
    }
    let mut findings = policy::evaluate(&groups, &cache, config, now);
    crate::rotation::mark_elsewhere(env, &mut findings);
    if let Err(e) =
        crate::surfaces::segment::write_all(env, inventory, &findings, &config.prompt, pending)
    {
        eprintln!("keyage: warning: prompt segment not written: {e}");
    }
    Ok((cache, findings))
}
