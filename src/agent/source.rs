//! The real `Source`: the local files (`profiles::Inventory`), then `keys::assess` (IAM refresh
//! into the fact cache, the pure `keys::policy::evaluate`, the prompt segment files), then the
//! rotation journal and pending-finalize list. The keys refresh builds its own runtime, so it runs on a thread of its own.

use chrono::{DateTime, Utc};

use crate::config::Config;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::keys::policy::{self, Finding};
use crate::profiles::Inventory;
use crate::rotation::finalize::Verdict;

use super::event::{Event, KeySeen, Level, RotationNeed};
use super::{Refreshed, Source};

/// The agent's view of a policy finding (None for ok/unknown/skipped keys with nothing to say).
pub(crate) fn event_from_finding(f: &Finding, now: DateTime<Utc>) -> Option<Event> {
    let level = match f.level {
        policy::Level::Ok => Level::Ok,
        policy::Level::Warn => Level::Warn,
        policy::Level::Expired => Level::Expired,
        policy::Level::Unused => Level::Unused,
        // Nothing certain to say; a key that goes back to unknown keeps its memory.
        policy::Level::Unknown | policy::Level::Skipped => return None,
    };
    let unused_days = f
        .last_used
        .or(f.created)
        .map(|d| (now - d).num_days().max(0));
    Some(Event::Key(KeySeen {
        key_id: f.key_id.clone(),
        profiles: f.profiles.clone(),
        level,
        age_days: f.age_days,
        age_is_lower_bound: f.age_is_lower_bound,
        max_age_days: f.max_age_days,
        warn_stage: f.warn_threshold,
        unused_days: if f.last_used.is_some() {
            unused_days
        } else {
            None
        },
    }))
}

/// Reads the files and the config, refreshes every local key with IAM, evaluates.
#[derive(Debug, Default)]
pub(crate) struct KeysSource;

/// What the blocking half of a refresh found.
struct Found {
    findings: Vec<Finding>,
    rotation: Vec<Event>,
    unreachable: bool,
    auto_rotate: bool,
}

fn refresh_blocking(env: &Env) -> Result<Found> {
    let config = Config::load(env)?;
    let inventory = Inventory::load(env)?;
    let groups = inventory.keys();
    let now = Utc::now();
    let pending = crate::rotation::rotating_keys(&crate::rotation::pending(env));
    // The same pipeline as `keyage status --refresh`: facts from IAM for every key, the cache,
    // the pure policy, the prompt segment files.
    let cache = crate::keys::update_cache(
        env,
        &inventory,
        &config,
        &groups,
        crate::keys::Refresh::force(),
        now,
    )?;
    let findings = crate::keys::assess(&inventory, &cache, &config, now);
    let findings = crate::keys::publish(env, &inventory, &config, &pending, findings);
    let unreachable = findings.iter().any(|f| f.problem == Some("unreachable"));
    let mut rotation = Vec::new();
    if config.agent.auto_finalize {
        rotation.extend(auto_finalize(env, now));
    }
    rotation.extend(rotation_events(env, now));
    Ok(Found {
        findings,
        rotation,
        unreachable,
        auto_rotate: config.agent.auto_rotate,
    })
}

/// `agent.auto_finalize`: runs `keyage finalize` when an old key's grace period has passed;
/// each entry it removed becomes a `Finalized` event. Entries it kept (the key was used since
/// the rotation, IAM failed) stay `FinalizeDue` reminders.
fn auto_finalize(env: &Env, now: DateTime<Utc>) -> Vec<Event> {
    let due: Vec<_> = crate::rotation::pending(env)
        .into_iter()
        .filter(|p| crate::rotation::finalize::due(p, now, false))
        .collect();
    if due.is_empty() {
        return Vec::new();
    }
    tracing::info!(count = due.len(), "auto_finalize: finalizing old keys");
    let session = crate::rotation::Session::open(env);
    let req = crate::rotation::session::FinalizeRequest {
        profile: None,
        force: false,
    };
    let done = match crate::rotation::session::block_on(session.finalize(req)) {
        Ok(done) => done,
        Err(e) => {
            tracing::warn!("auto_finalize: {}", e.message);
            return Vec::new();
        }
    };
    let mut events = Vec::new();
    for (p, r) in done {
        match r {
            Ok(Verdict::Deleted { already_gone, .. }) => {
                tracing::info!(profile = %p.profile, already_gone, "auto_finalize: old key deleted");
                events.push(Event::Rotation(RotationNeed::Finalized {
                    profile: p.profile,
                    old_key_id: p.old_key_id,
                    already_gone,
                }));
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!("auto_finalize: finalize of {}: {}", p.old_key_id, e.message);
            }
        }
    }
    events
}

/// `agent.auto_rotate`: the rotation use case with the `Unattended` prompter (the same as
/// `keyage rotate-self --yes --profile P`: old key made inactive, 7 days of grace), on a
/// thread of its own. Err: the first line of the reason.
pub(crate) fn rotate_blocking(env: &Env, profile: &str) -> std::result::Result<(), String> {
    use crate::rotation::session::{self, StartRequest};
    let req = StartRequest {
        plan: crate::rotation::plan::Request {
            profile: profile.to_string(),
            retire: crate::rotation::Retire {
                old_key: crate::rotation::OldKey::Inactive,
                grace_days: 7,
            },
            mfa_serial: None,
            delete_inactive_spare: false,
        },
        dry_run: false,
        token_code: None,
    };
    let s = crate::rotation::Session::open(env);
    match session::block_on(s.start(req, &crate::rotation::Unattended)) {
        Ok(_) => Ok(()),
        Err(e) => Err(e.message.lines().next().unwrap_or("failed").to_string()),
    }
}

/// An interrupted rotation (a journal with no rotation running) and old keys whose grace
/// period has passed.
pub(crate) fn rotation_events(env: &Env, now: DateTime<Utc>) -> Vec<Event> {
    let mut out = Vec::new();
    let dir = env.state_dir();
    if let Ok(Some(j)) = crate::rotation::journal::Journal::load(&dir) {
        // A rotation that is running holds the lock: not interrupted.
        if let Ok(lock) = crate::rotation::lock::acquire(&dir, std::time::Duration::ZERO) {
            drop(lock);
            out.push(Event::Rotation(RotationNeed::Interrupted {
                profile: j.profile.clone(),
                key_id: j.old_key_id.clone(),
            }));
        }
    }
    if let Some(note) = crate::rotation::journal::load_elsewhere(&dir) {
        let holders = Inventory::load(env)
            .map(|inv| crate::rotation::edges::holders_in(&inv, &note.old_key_id))
            .unwrap_or_default();
        if let Some(h) = holders.first() {
            out.push(Event::Rotation(RotationNeed::RotatedElsewhere {
                profile: h.profile.clone(),
                key_id: note.old_key_id.clone(),
                active: note.active.clone(),
            }));
        }
    }
    for p in crate::rotation::pending(env) {
        if crate::rotation::finalize::due(&p, now, false) {
            out.push(Event::Rotation(RotationNeed::FinalizeDue {
                profile: p.profile.clone(),
                old_key_id: p.old_key_id.clone(),
            }));
        }
    }
    out
}

impl Source for KeysSource {
    async fn refresh(&self, env: &Env) -> Result<Refreshed> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let env2 = env.clone();
        // A thread of its own: the keys refresh blocks on its own runtime. If the agent is
        // stopped meanwhile, the thread ends with the process.
        std::thread::Builder::new()
            .name("keyage-refresh".into())
            .spawn(move || {
                let _ = tx.send(refresh_blocking(&env2));
            })
            .map_err(|e| Error::internal(format!("cannot start the refresh thread: {e}")))?;
        let found = rx
            .await
            .map_err(|_| Error::internal("the refresh thread stopped without an answer"))??;
        let now = Utc::now();
        let mut events: Vec<Event> = found
            .findings
            .iter()
            .filter_map(|f| event_from_finding(f, now))
            .collect();
        events.extend(found.rotation);
        let unreachable = found.unreachable;
        trim_memory();
        Ok(Refreshed {
            events,
            unreachable,
            auto_rotate: found.auto_rotate,
        })
    }

    async fn rotate(&self, env: &Env, profile: &str) -> std::result::Result<(), String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let env2 = env.clone();
        let profile = profile.to_string();
        std::thread::Builder::new()
            .name("keyage-rotate".into())
            .spawn(move || {
                let _ = tx.send(rotate_blocking(&env2, &profile));
            })
            .map_err(|e| format!("cannot start the rotation thread: {e}"))?;
        let r = rx
            .await
            .unwrap_or_else(|_| Err("the rotation thread stopped without an answer".into()));
        trim_memory();
        r
    }

    fn refresh_hours(&self, env: &Env) -> u32 {
        Config::load(env)
            .map(|c| c.agent.refresh_hours)
            .unwrap_or(crate::config::AgentConfig::default().refresh_hours)
    }
}

/// Gives the memory the refresh used (SDK clients, TLS, a runtime) back to the system, so the
/// idle agent stays small.
fn trim_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free heap memory; no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
}
