//! Building SDK configuration for one static key. Everything that talks to AWS goes through
//! here so that timeouts, retries, region and endpoint rules are the same everywhere.
//!
//! - Credentials are always the exact key we mean (never the SDK's provider chain), so a
//!   profile with both a key and a `role_arn` cannot surprise us. The one exception is
//!   `config_for_profile`, for commands that act as whoever the profile is (`keyage audit`).
//! - Region: `AWS_REGION`/`AWS_DEFAULT_REGION`, else the profile's `region`, else `us-east-1`
//!   (IAM is global; we never ask IMDS).
//! - Endpoints: `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_IAM`/`_STS` and a profile's
//!   `endpoint_url` are honoured by aws-config.
//! - Waits: every call is bounded by [`Budget`] (connect, one attempt, one call with its
//!   retries); a command adds its own total (e.g. [`REFRESH_BUDGET`] for `status`). The worst
//!   waits are listed in docs/keys.md ("Network waits").

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

use crate::env::Env;
use crate::secret::{ExposeSecret, SecretKey};

/// Who a key is, what region and endpoints apply.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// The profile whose settings (endpoint_url, region) apply, if any.
    pub profile: Option<String>,
    /// The profile's own region (from our inventory), used when the env sets none.
    pub profile_region: Option<String>,
}

/// How long one AWS call may take: the knobs every client keyage builds gets (the rotation's
/// too, through `SdkKeyService::for_key`).
///
/// Against an endpoint that accepts connections and never answers, one call gives up after
/// `call` (its attempts time out after `attempt` each, the last one is cut by `call`); against
/// one that refuses connections, after about `attempts` quick tries with back-off (< 2 s).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// One attempt (send, wait, read the answer).
    pub attempt: Duration,
    /// One call, all attempts and back-off included.
    pub call: Duration,
    /// Attempts per call (throttling, 5xx and connection failures are retried).
    pub attempts: u32,
}

impl Budget {
    /// Every call keyage makes, unless a command says otherwise.
    pub(crate) const DEFAULT: Budget = Budget {
        connect: Duration::from_secs(3),
        attempt: Duration::from_secs(4),
        call: Duration::from_secs(8),
        attempts: 3,
    };
    /// `keyage doctor`: quick answers, one retry.
    pub(crate) const QUICK: Budget = Budget {
        connect: Duration::from_secs(3),
        attempt: Duration::from_secs(4),
        call: Duration::from_secs(6),
        attempts: 2,
    };

    pub(crate) fn timeout_config(&self) -> TimeoutConfig {
        TimeoutConfig::builder()
            .connect_timeout(self.connect)
            .read_timeout(self.attempt)
            .operation_attempt_timeout(self.attempt)
            .operation_timeout(self.call)
            .build()
    }

    /// Standard retries (with the SDK's client-side rate limiting for throttled calls), short
    /// back-off so the retries fit in `call`.
    pub(crate) fn retry_config(&self) -> RetryConfig {
        RetryConfig::standard()
            .with_max_attempts(self.attempts)
            .with_initial_backoff(Duration::from_millis(300))
            .with_max_backoff(Duration::from_secs(2))
    }
}

/// The total time `keyage status` (and the agent) give one refresh of all keys. Keys IAM has
/// not answered about by then keep their cached facts and are marked unreachable.
pub(crate) const REFRESH_BUDGET: Duration = Duration::from_secs(9);

/// Timeouts that keep every call bounded even when the network is down
/// ([`Budget::DEFAULT`]).
pub fn timeouts() -> TimeoutConfig {
    Budget::DEFAULT.timeout_config()
}

/// The endpoint settings that point keyage away from AWS, for messages
/// (`AWS_ENDPOINT_URL=http://…`), if any.
pub(crate) fn endpoint_setting(env: &Env) -> Option<String> {
    [
        "AWS_ENDPOINT_URL_IAM",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL",
    ]
    .iter()
    .find_map(|k| {
        env.get(k)
            .filter(|v| !v.is_empty())
            .map(|v| format!("{k}={v}"))
    })
}

/// What to do when AWS does not answer (one line, for hints).
pub(crate) fn unreachable_hint(env: &Env) -> String {
    match endpoint_setting(env) {
        Some(s) => format!(
            "check the network and that {s} is right and answers; `keyage status --offline` shows what keyage knew without asking"
        ),
        None => "check the network (VPN, proxy, firewall); `keyage status --offline` shows what keyage knew without asking".to_string(),
    }
}

/// The region keyage signs with.
pub(crate) fn region(env: &Env, target: &Target) -> String {
    env.get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .map(str::to_string)
        .or_else(|| target.profile_region.clone())
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// SDK configuration for one static (or session) key.
pub(crate) async fn config_for_key(
    env: &Env,
    target: &Target,
    key_id: &str,
    secret: &SecretKey,
    session_token: Option<&SecretKey>,
) -> SdkConfig {
    config_for_key_with(env, target, key_id, secret, session_token, None).await
}

/// As `config_for_key`, reusing `http` (another config's `http_client()`) so that many keys
/// share one connection pool and one TLS setup instead of building one each.
pub(crate) async fn config_for_key_with(
    env: &Env,
    target: &Target,
    key_id: &str,
    secret: &SecretKey,
    session_token: Option<&SecretKey>,
    http: Option<aws_smithy_runtime_api::client::http::SharedHttpClient>,
) -> SdkConfig {
    let creds = Credentials::new(
        key_id,
        secret.expose_secret(),
        session_token.map(|t| t.expose_secret().to_string()),
        None,
        "keyage",
    );
    let budget = Budget::DEFAULT;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(creds)
        .region(Region::new(region(env, target)))
        .timeout_config(budget.timeout_config())
        .retry_config(budget.retry_config());
    if let Some(p) = &target.profile {
        loader = loader.profile_name(p);
    }
    if let Some(h) = http {
        loader = loader.http_client(h);
    }
    loader.load().await
}

pub(crate) use crate::profiles::classify::CredentialKind;

/// SDK configuration for a whole profile, with credentials from the SDK's standard provider
/// chain (environment, SSO, `aws login`, `role_arn` + `source_profile`, `credential_process`,
/// static keys, container/instance roles) for `profile` (None: `AWS_PROFILE`, else
/// `default`). For commands that act as whoever the user is (`keyage audit`), not as one key
/// of theirs.
///
/// Same rules as `config_for_key`: [`Budget::DEFAULT`], region from
/// `AWS_REGION`/`AWS_DEFAULT_REGION`, else the profile's `region` (read from the config file
/// only), else `us-east-1`; the region is always set explicitly, so the SDK's region chain
/// (which could ask IMDS) never runs. Credentials are resolved once, here (within one call's
/// budget), so that a missing or broken profile is a clear error before any API call: one
/// line saying what failed, one fix fitting the profile's kind (static, role, SSO, `aws
/// login`, credential_process).
pub(crate) async fn config_for_profile(
    env: &Env,
    profile: Option<&str>,
) -> crate::error::Result<SdkConfig> {
    use aws_config::meta::region::ProvideRegion;
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};

    let name = profile
        .map(str::to_string)
        .unwrap_or_else(|| env.current_profile());
    let from_env = profile.is_none() && env.get("AWS_ACCESS_KEY_ID").is_some();
    let kind = match crate::profiles::Inventory::load(env) {
        Ok(inv) => CredentialKind::of(&inv, &name),
        Err(e) => return Err(e),
    };
    if kind == CredentialKind::Missing && !from_env {
        return Err(crate::error::Error::new(
            crate::error::Kind::Aws,
            format!("no AWS credentials for profile {name}: there is no profile of that name in your AWS files"),
        )
        .hint(kind.fix(&name)));
    }
    let region = match env
        .get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
    {
        Some(r) => r.to_string(),
        None => {
            let mut b = aws_config::profile::ProfileFileRegionProvider::builder();
            if let Some(p) = profile {
                b = b.profile_name(p);
            }
            b.build()
                .region()
                .await
                .map(|r| r.as_ref().to_string())
                .unwrap_or_else(|| "us-east-1".to_string())
        }
    };
    let budget = Budget::DEFAULT;
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(region))
        .timeout_config(budget.timeout_config())
        .retry_config(budget.retry_config());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    let cfg = loader.load().await;
    let what = if from_env {
        "from the environment (AWS_ACCESS_KEY_ID)".to_string()
    } else {
        format!("for profile {name} ({})", kind.phrase())
    };
    let no_creds = |why: String| {
        crate::error::Error::new(
            crate::error::Kind::Aws,
            format!("no AWS credentials {what}: {why}"),
        )
        .hint(if from_env {
            "check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, or unset them to use a profile".to_string()
        } else {
            kind.fix(&name)
        })
    };
    let provider = cfg
        .credentials_provider()
        .ok_or_else(|| no_creds("the SDK found no credentials provider".to_string()))?;
    let creds = match tokio::time::timeout(budget.call * 2, provider.provide_credentials()).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return Err(no_creds(crate::error::sdk_chain(&e))),
        Err(_) => {
            return Err(no_creds(format!(
                "no answer within {} s (timed out)",
                (budget.call * 2).as_secs()
            ))
            .hint(format!("{}; {}", kind.fix(&name), unreachable_hint(env))))
        }
    };
    Ok(cfg
        .into_builder()
        .credentials_provider(SharedCredentialsProvider::new(creds))
        .build())
}

/// A current-thread tokio runtime for one command. Fast paths (prompt, hook) never call this.
pub fn runtime() -> crate::error::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::internal(format!("cannot start the async runtime: {e}")))
}
