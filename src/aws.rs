//! Building SDK configuration for one static key. Everything that talks to AWS goes through
//! here so that timeouts, retries, region and endpoint rules are the same everywhere.
//!
//! - Credentials are always the exact key we mean (never the SDK's provider chain), so a
//!   profile with both a key and a `role_arn` cannot surprise us.
//! - Region: `AWS_REGION`/`AWS_DEFAULT_REGION`, else the profile's `region`, else `us-east-1`
//!   (IAM is global; we never ask IMDS).
//! - Endpoints: `AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_IAM`/`_STS` and a profile's
//!   `endpoint_url` are honoured by aws-config.

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

/// Timeouts that keep every call bounded even when the network is down.
pub fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(5))
        .read_timeout(Duration::from_secs(20))
        .operation_attempt_timeout(Duration::from_secs(20))
        .operation_timeout(Duration::from_secs(45))
        .build()
}

/// The region keyage signs with.
pub fn region(env: &Env, target: &Target) -> String {
    env.get("AWS_REGION")
        .or_else(|| env.get("AWS_DEFAULT_REGION"))
        .map(str::to_string)
        .or_else(|| target.profile_region.clone())
        .unwrap_or_else(|| "us-east-1".to_string())
}

/// SDK configuration for one static (or session) key.
pub async fn config_for_key(
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
pub async fn config_for_key_with(
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
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .credentials_provider(creds)
        .region(Region::new(region(env, target)))
        .timeout_config(timeouts())
        .retry_config(RetryConfig::standard().with_max_attempts(3));
    if let Some(p) = &target.profile {
        loader = loader.profile_name(p);
    }
    if let Some(h) = http {
        loader = loader.http_client(h);
    }
    loader.load().await
}

/// A current-thread tokio runtime for one command. Fast paths (prompt, hook) never call this.
pub fn runtime() -> crate::error::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| crate::error::Error::internal(format!("cannot start the async runtime: {e}")))
}
