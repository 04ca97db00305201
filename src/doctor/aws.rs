//! Doctor checks that ask AWS, one static key at a time, all keys in parallel: who the key is
//! (STS GetCallerIdentity) and whether it may list its own keys (IAM ListAccessKeys).
//! Every call is bounded (`aws::Budget::QUICK`: 6 s per call, at most 2 attempts; 12 s per key
//! overall).

use std::time::Duration;

use crate::aws::{config_for_key, runtime, Budget, Target};
use crate::env::Env;
use crate::error::Error;
use crate::keys::iam::{ApiError, ApiFailure, KeyService, SdkKeyService};
use crate::profiles::Inventory;
use crate::secret::SecretKey;

use super::Check;

/// The bound on all AWS checks of one key.
pub(crate) const PER_KEY: Duration = Duration::from_secs(12);

struct Job {
    key_id: String,
    profiles: Vec<String>,
    target: Target,
    secret: Option<SecretKey>,
}

/// Identity and list-permission checks for every static key in `inv`.
pub(crate) fn check(env: &Env, inv: &Inventory) -> Vec<Check> {
    let jobs: Vec<Job> = inv
        .keys()
        .into_iter()
        .map(|g| {
            let first = g.profiles.first().cloned();
            let region = first
                .as_deref()
                .and_then(|p| inv.profile(p))
                .and_then(|p| p.region.clone());
            Job {
                secret: inv.secret_for(&g.key_id).cloned(),
                key_id: g.key_id,
                profiles: g.profiles,
                target: Target {
                    profile: first,
                    profile_region: region,
                },
            }
        })
        .collect();
    let logins: Vec<String> = inv
        .profiles
        .iter()
        .filter(|p| {
            crate::profiles::classify::CredentialKind::of(inv, &p.name)
                == crate::profiles::classify::CredentialKind::Login
        })
        .map(|p| p.name.clone())
        .collect();
    let mut login_checks = Vec::new();
    if !logins.is_empty() {
        match runtime() {
            Ok(rt) => {
                for name in &logins {
                    login_checks.push(rt.block_on(login_profile(env, name)));
                }
            }
            Err(e) => login_checks.push(Check::fail("login", "aws login", e.message)),
        }
    }
    if jobs.is_empty() && !login_checks.is_empty() {
        return login_checks;
    }
    if jobs.is_empty() {
        return vec![Check::warn(
            "identity",
            "identity",
            "no static access keys in your AWS files: nothing for keyage to watch",
        )
        .fix("add a profile with aws_access_key_id / aws_secret_access_key (`aws configure`)")];
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return vec![Check::fail("identity", "identity", e.message)],
    };
    let mut checks = rt.block_on(async {
        let mut handles = Vec::new();
        for job in jobs {
            let env = env.clone();
            handles.push(tokio::spawn(async move { one_key(&env, job).await }));
        }
        let mut out = Vec::new();
        for h in handles {
            match h.await {
                Ok(mut checks) => out.append(&mut checks),
                Err(e) => out.push(Check::fail(
                    "identity",
                    "identity",
                    format!("internal error: {e}"),
                )),
            }
        }
        out
    });
    checks.append(&mut login_checks);
    checks
}

/// An `aws login` profile (`login_session`, AWS CLI ≥ 2.32): who it signs in as, through the
/// SDK's login provider (aws-config's `credentials-login`), bounded like every call.
async fn login_profile(env: &Env, name: &str) -> Check {
    let title = format!("aws login [{name}]");
    let work = async {
        let cfg = crate::aws::config_for_profile(env, Some(name)).await?;
        let svc = SdkKeyService::from_config(&cfg);
        svc.whoami().await.map_err(Error::from)
    };
    match tokio::time::timeout(PER_KEY, work).await {
        Ok(Ok(who)) => Check::ok(
            "login",
            title,
            format!(
                "{name} is an `aws login` profile, signed in as {} (no key of its own to age)",
                who.arn
            ),
        ),
        Ok(Err(e)) => Check::fail(
            "login",
            title,
            format!("{name} is an `aws login` profile: {}", e.message),
        )
        .fix_opt(e.hint),
        Err(_) => Check::fail(
            "login",
            title,
            format!(
                "{name} is an `aws login` profile: AWS did not answer within {} s",
                PER_KEY.as_secs()
            ),
        )
        .fix(crate::aws::unreachable_hint(env)),
    }
}

fn title(what: &str, profiles: &[String]) -> String {
    format!("{what} [{}]", profiles.join(", "))
}

async fn one_key(env: &Env, job: Job) -> Vec<Check> {
    let Some(secret) = job.secret.as_ref() else {
        return vec![Check::fail(
            "identity",
            title("identity", &job.profiles),
            format!("{}: no secret found for this key id", job.key_id),
        )
        .key(&job.key_id, &job.profiles)];
    };
    let cfg = config_for_key(env, &job.target, &job.key_id, secret, None)
        .await
        .into_builder()
        .retry_config(Budget::QUICK.retry_config())
        .timeout_config(Budget::QUICK.timeout_config())
        .build();
    let svc = SdkKeyService {
        iam: aws_sdk_iam::Client::new(&cfg),
        sts: aws_sdk_sts::Client::new(&cfg),
    };
    let work = async {
        let mut out = Vec::new();
        match svc.whoami().await {
            Ok(who) => out.push(
                Check::ok(
                    "identity",
                    title("identity", &job.profiles),
                    format!("{}: {}", job.key_id, who.arn),
                )
                .key(&job.key_id, &job.profiles),
            ),
            Err(e) => {
                out.push(api_fail(env, "identity", &job, e));
                return out;
            }
        }
        match svc.list_keys(None).await {
            Ok(keys) => {
                let active = keys.iter().filter(|k| k.active).count();
                out.push(
                    Check::ok(
                        "list_keys",
                        title("list own keys", &job.profiles),
                        format!(
                            "{}: may list its keys ({} key{}, {active} active)",
                            job.key_id,
                            keys.len(),
                            if keys.len() == 1 { "" } else { "s" }
                        ),
                    )
                    .key(&job.key_id, &job.profiles),
                );
            }
            Err(e) => out.push(api_fail(env, "list_keys", &job, e)),
        }
        out
    };
    match tokio::time::timeout(PER_KEY, work).await {
        Ok(v) => v,
        Err(_) => vec![Check::fail(
            "identity",
            title("identity", &job.profiles),
            format!(
                "{}: AWS did not answer within {} s",
                job.key_id,
                PER_KEY.as_secs()
            ),
        )
        .fix(crate::aws::unreachable_hint(env))
        .key(&job.key_id, &job.profiles)],
    }
}

fn api_fail(env: &Env, id: &'static str, job: &Job, e: ApiError) -> Check {
    let what = if id == "identity" {
        "identity"
    } else {
        "list own keys"
    };
    let failure = e.failure;
    let err: Error = e.into();
    let mut c = Check::fail(
        id,
        title(what, &job.profiles),
        format!("{}: {}", job.key_id, short(&err.message)),
    )
    .fix_opt(err.hint)
    .key(&job.key_id, &job.profiles);
    if matches!(failure, ApiFailure::Unreachable | ApiFailure::TimedOut) {
        c.fix = Some(crate::aws::unreachable_hint(env));
    }
    c
}

/// Drops the SDK's trailing Debug dump (` (DispatchFailure(DispatchFailure { … }))`) from an
/// error chain; the readable chain before it stays.
fn short(message: &str) -> &str {
    for marker in [
        " (DispatchFailure(",
        " (TimeoutError(",
        " (ResponseError(",
        " (ConstructionFailure(",
        " (ServiceError(",
    ] {
        if let Some(i) = message.find(marker) {
            return &message[..i];
        }
    }
    message
}

#[cfg(test)]
mod tests {
    #[test]
    fn short_drops_the_debug_dump() {
        let m = "GetCallerIdentity failed: dispatch failure: io error: tcp connect error: Connection refused (os error 111) (DispatchFailure(DispatchFailure { source: x }))";
        assert_eq!(
            super::short(m),
            "GetCallerIdentity failed: dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        );
        assert_eq!(super::short("AccessDenied (x)"), "AccessDenied (x)");
    }
}
