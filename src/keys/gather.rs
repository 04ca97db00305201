//! Refreshing facts from IAM: every distinct key in parallel (bounded), each through its own
//! `SdkKeyService` (the key acts as itself): STS GetCallerIdentity, IAM ListAccessKeys of the
//! caller, GetAccessKeyLastUsed for each of the user's keys. Failures are data (`Fetched::errors`),
//! never a reason to stop the other keys. The only place `status` builds an async runtime.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::aws::Target;
use crate::env::Env;
use crate::error::Result;
use crate::keys::facts::Fetched;
use crate::keys::iam::{ApiError, ApiFailure, KeyService, SdkKeyService};
use crate::profiles::Inventory;
use crate::secret::SecretKey;
use crate::state::cache::Cache;

/// How many keys are asked about at once (each key makes two rounds of two calls). High enough
/// that a developer's keys are usually all asked in one wave — the wall time is then about two
/// network round trips whatever the number of keys; calls IAM throttles are retried by the SDK
/// with back-off.
pub(crate) const CONCURRENCY: usize = 64;

/// Asks IAM about one key through `svc` (built from that key).
pub(crate) async fn fetch<S: KeyService>(svc: &S, key_id: &str) -> Fetched {
    let mut f = Fetched::default();
    let (who, list) = tokio::join!(svc.whoami(), svc.list_keys(None));
    match who {
        Ok(i) => f.identity = Some(i),
        Err(e) => {
            // A rejected or unreachable key gets no further answers.
            let stop = matches!(
                e.failure,
                ApiFailure::InvalidKey | ApiFailure::Unreachable | ApiFailure::TimedOut
            );
            f.errors.push(e);
            if stop {
                return f;
            }
        }
    }
    match list {
        Ok(keys) => f.keys = Some(keys),
        Err(e) => f.errors.push(e),
    }
    let other = f.keys.as_ref().and_then(|ks| {
        ks.iter()
            .find(|k| k.key_id != key_id)
            .map(|k| k.key_id.clone())
    });
    let (own, other) = tokio::join!(svc.last_used(key_id), async {
        match &other {
            Some(id) => Some((id.clone(), svc.last_used(id).await)),
            None => None,
        }
    });
    match own {
        Ok(lu) => f.last_used.push((key_id.to_string(), lu)),
        Err(e) => f.errors.push(e),
    }
    match other {
        Some((id, Ok(lu))) => f.last_used.push((id, lu)),
        Some((_, Err(e))) => f.errors.push(e),
        None => {}
    }
    f
}

/// The answer for a key IAM did not answer about within the refresh budget.
fn timed_out(budget: std::time::Duration) -> Fetched {
    Fetched {
        errors: vec![ApiError {
            op: "GetCallerIdentity",
            failure: ApiFailure::TimedOut,
            code: None,
            message: format!("no answer within {} s (timed out)", budget.as_secs()),
        }],
        ..Default::default()
    }
}

/// One key to refresh: its id, its secret and the profile whose settings apply.
struct Job {
    key_id: String,
    secret: SecretKey,
    target: Target,
}

/// Refreshes `key_ids` (ids without a secret in the files are skipped) and merges the answers
/// into `cache` at `now`.
pub(crate) fn refresh(
    env: &Env,
    inventory: &Inventory,
    key_ids: &[String],
    cache: &mut Cache,
    now: DateTime<Utc>,
) -> Result<()> {
    let groups = inventory.keys();
    let jobs: Vec<Job> = key_ids
        .iter()
        .filter_map(|id| {
            // A protected key's secret is in the keyring (`keyage protect`), not the files.
            let secret = match inventory.secret_for(id) {
                Some(s) => s.clone(),
                None if inventory.is_protected(id) => {
                    crate::protect::secret_of(id, &crate::protect::store()).ok()??
                }
                None => return None,
            };
            let profile = groups
                .iter()
                .find(|g| &g.key_id == id)
                .and_then(|g| g.profiles.first())
                .and_then(|p| inventory.profile(p));
            Some(Job {
                key_id: id.clone(),
                secret,
                target: Target {
                    profile: profile.map(|p| p.name.clone()),
                    profile_region: profile.and_then(|p| p.region.clone()),
                },
            })
        })
        .collect();
    if jobs.is_empty() {
        return Ok(());
    }
    let rt = crate::aws::runtime()?;
    let env = Arc::new(env.clone());
    let budget = crate::aws::REFRESH_BUDGET;
    // What we wait for, on a terminal only (stderr; the output stays clean).
    let spinner = std::io::IsTerminal::is_terminal(&std::io::stderr()).then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
        pb.enable_steady_tick(std::time::Duration::from_millis(100));
        pb.set_message(format!(
            "asking IAM about {} key{} (at most {} s)",
            jobs.len(),
            if jobs.len() == 1 { "" } else { "s" },
            budget.as_secs()
        ));
        pb
    });
    let results = rt.block_on(async move {
        let deadline = tokio::time::Instant::now() + budget;
        // One HTTP client (connection pool, TLS setup) for all keys.
        let http = match jobs.first() {
            Some(j) => crate::aws::config_for_key(&env, &j.target, &j.key_id, &j.secret, None)
                .await
                .http_client(),
            None => None,
        };
        let mut waiting: std::collections::BTreeSet<String> =
            jobs.iter().map(|j| j.key_id.clone()).collect();
        let sem = Arc::new(tokio::sync::Semaphore::new(CONCURRENCY));
        let mut set = tokio::task::JoinSet::new();
        for job in jobs {
            let sem = sem.clone();
            let env = env.clone();
            let http = http.clone();
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                let cfg = crate::aws::config_for_key_with(
                    &env,
                    &job.target,
                    &job.key_id,
                    &job.secret,
                    None,
                    http,
                )
                .await;
                let svc = SdkKeyService::from_config(&cfg);
                let f = fetch(&svc, &job.key_id).await;
                (job.key_id, f)
            });
        }
        let mut out = Vec::new();
        loop {
            match tokio::time::timeout_at(deadline, set.join_next()).await {
                Ok(Some(Ok(x))) => {
                    waiting.remove(&x.0);
                    out.push(x);
                }
                Ok(Some(Err(e))) => tracing::warn!("a refresh task failed: {e}"),
                Ok(None) => break,
                Err(_) => {
                    // The command's budget is spent: the keys still waiting keep their cached
                    // facts and are marked unreachable.
                    set.abort_all();
                    for id in std::mem::take(&mut waiting) {
                        out.push((id, timed_out(budget)));
                    }
                    break;
                }
            }
        }
        out
    });
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    for (id, fetched) in results {
        let mut facts = cache.observe(&id, now).clone();
        facts.apply(fetched, now);
        cache.put(facts);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::iam::{Identity, KeyMeta, LastUsed, NewKey};

    /// A fake IAM for one user with two keys; `deny_list` makes ListAccessKeys AccessDenied.
    struct Fake {
        deny_list: bool,
        invalid: bool,
    }
    fn err(op: &'static str, failure: ApiFailure) -> ApiError {
        ApiError {
            op,
            failure,
            code: None,
            message: String::new(),
        }
    }
    impl KeyService for Fake {
        async fn whoami(&self) -> Result<Identity, ApiError> {
            if self.invalid {
                return Err(err("GetCallerIdentity", ApiFailure::InvalidKey));
            }
            Ok(Identity::from_arn(
                "1".into(),
                "arn:aws:iam::1:user/u".into(),
            ))
        }
        async fn list_keys(&self, _: Option<&str>) -> Result<Vec<KeyMeta>, ApiError> {
            if self.deny_list {
                return Err(err("ListAccessKeys", ApiFailure::AccessDenied));
            }
            Ok(vec![
                KeyMeta {
                    key_id: "AKIAME".into(),
                    created: None,
                    active: true,
                },
                KeyMeta {
                    key_id: "AKIAOTHER".into(),
                    created: None,
                    active: false,
                },
            ])
        }
        async fn last_used(&self, _: &str) -> Result<LastUsed, ApiError> {
            Ok(LastUsed::default())
        }
        async fn create_key(&self, _: Option<&str>) -> Result<NewKey, ApiError> {
            unreachable!()
        }
        async fn set_active(&self, _: Option<&str>, _: &str, _: bool) -> Result<(), ApiError> {
            unreachable!()
        }
        async fn delete_key(&self, _: Option<&str>, _: &str) -> Result<(), ApiError> {
            unreachable!()
        }
    }

    fn run(deny_list: bool, invalid: bool) -> Fetched {
        let f = Fake { deny_list, invalid };
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(fetch(&f, "AKIAME"))
    }

    #[test]
    fn fetch_asks_for_both_keys() {
        let f = run(false, false);
        assert!(f.identity.is_some());
        assert_eq!(f.keys.unwrap().len(), 2);
        assert_eq!(f.last_used.len(), 2);
        assert!(f.errors.is_empty());
    }

    #[test]
    fn denied_list_still_gets_last_used() {
        let f = run(true, false);
        assert!(f.keys.is_none());
        assert_eq!(f.last_used.len(), 1);
        assert_eq!(f.errors[0].failure, ApiFailure::AccessDenied);
    }

    #[test]
    fn invalid_stops() {
        let f = run(false, true);
        assert!(f.identity.is_none() && f.last_used.is_empty());
        assert_eq!(f.errors.len(), 1);
    }
}
