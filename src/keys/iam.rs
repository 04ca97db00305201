//! The IAM/STS edge. `KeyService` is the narrow trait the core uses (fakes implement it in unit
//! tests); `SdkKeyService` is the real thing, built from one key.

use std::fmt;

use aws_sdk_iam::error::ProvideErrorMetadata;
use chrono::{DateTime, Utc};

use crate::aws::{self, Target};
use crate::env::Env;
use crate::error::{Error, Kind};
use crate::secret::{secret, SecretKey};

/// STS GetCallerIdentity.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    pub account: String,
    pub arn: String,
    /// The IAM user name, when the ARN is a user's (`arn:aws:iam::1:user/path/name` → `name`).
    pub user_name: Option<String>,
}

impl Identity {
    pub(crate) fn from_arn(account: String, arn: String) -> Self {
        let user_name = arn
            .split_once(":user/")
            .map(|(_, rest)| rest.rsplit('/').next().unwrap_or(rest).to_string());
        Identity {
            account,
            arn,
            user_name,
        }
    }
}

/// One row of ListAccessKeys.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KeyMeta {
    pub key_id: String,
    pub created: Option<DateTime<Utc>>,
    pub active: bool,
}

/// GetAccessKeyLastUsed. `date` is None when the key was never used.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub struct LastUsed {
    pub date: Option<DateTime<Utc>>,
    pub service: Option<String>,
    pub region: Option<String>,
}

/// A freshly created key. The secret is wrapped; `Debug` does not show it.
#[derive(Debug)]
pub struct NewKey {
    pub key_id: String,
    pub secret: SecretKey,
    pub created: Option<DateTime<Utc>>,
}

/// What kind of failure an API call had; decides retry and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiFailure {
    /// AccessDenied / not authorized for the action.
    AccessDenied,
    /// The key is unknown, deleted, inactive or its secret is wrong.
    InvalidKey,
    /// NoSuchEntity.
    NotFound,
    /// LimitExceeded (e.g. a third access key).
    LimitExceeded,
    /// Throttling; safe to retry.
    Throttled,
    /// No connection, DNS, TLS: the network or endpoint is unreachable.
    Unreachable,
    /// Connected (or connecting), but no answer within the call's budget (`aws::Budget`).
    /// Not worth retrying at once: each try costs the whole budget again.
    TimedOut,
    /// 5xx or an unreadable response.
    Service,
    /// Anything else.
    Other,
}

/// An API error: operation, AWS error code and message. Never holds a secret.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub op: &'static str,
    pub failure: ApiFailure,
    pub code: Option<String>,
    pub message: String,
}

impl ApiError {
    /// A call that succeeded but whose answer lacked what it is for (`what`, in words).
    fn empty_answer(op: &'static str, what: &str) -> Self {
        ApiError {
            op,
            failure: ApiFailure::Service,
            code: None,
            message: what.to_string(),
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{} failed: {} ({})", self.op, c, self.message),
            None => write!(f, "{} failed: {}", self.op, self.message),
        }
    }
}

/// The IAM action each operation needs, for AccessDenied messages.
pub(crate) fn iam_action(op: &str) -> &'static str {
    match op {
        "GetCallerIdentity" => "sts:GetCallerIdentity",
        "ListAccessKeys" => "iam:ListAccessKeys",
        "GetAccessKeyLastUsed" => "iam:GetAccessKeyLastUsed",
        "CreateAccessKey" => "iam:CreateAccessKey",
        "UpdateAccessKey" => "iam:UpdateAccessKey",
        "DeleteAccessKey" => "iam:DeleteAccessKey",
        "GenerateCredentialReport" => "iam:GenerateCredentialReport",
        "GetCredentialReport" => "iam:GetCredentialReport",
        "GetSessionToken" => "sts:GetSessionToken",
        _ => "the action",
    }
}

/// The policy statement that lets a user manage their own keys (shown with AccessDenied).
pub(crate) const SELF_SERVICE_STATEMENT: &str = r#"{
  "Effect": "Allow",
  "Action": ["iam:ListAccessKeys", "iam:GetAccessKeyLastUsed", "iam:CreateAccessKey",
             "iam:UpdateAccessKey", "iam:DeleteAccessKey"],
  "Resource": "arn:aws:iam::*:user/${aws:username}"
}"#;

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Error {
        let hint = match e.failure {
            ApiFailure::AccessDenied => Some(format!(
                "your IAM identity lacks {}; ask an admin to attach a policy with this statement:\n{}",
                iam_action(e.op),
                SELF_SERVICE_STATEMENT
            )),
            ApiFailure::InvalidKey => Some(
                "the key was rejected (deleted, inactive or wrong secret); if a rotation ran here, try `keyage backout`; if another machine holding the same key rotated it, copy the new key from there".to_string(),
            ),
            ApiFailure::Unreachable | ApiFailure::TimedOut => Some(
                "check the network (VPN, proxy, firewall), or AWS_ENDPOINT_URL if you set one; `keyage status --offline` works without it".to_string(),
            ),
            ApiFailure::LimitExceeded => Some(
                "IAM allows two access keys per user: delete an unused inactive one first".to_string(),
            ),
            ApiFailure::Throttled | ApiFailure::Service => Some("try again in a minute".to_string()),
            _ => None,
        };
        Error {
            kind: Kind::Aws,
            message: e.to_string(),
            hint,
        }
    }
}

/// Sends one SDK call and classifies its error: `sent("ListAccessKeys", req.send()).await`.
pub(crate) async fn sent<T, E, R>(
    op: &'static str,
    call: impl std::future::Future<
        Output = Result<T, aws_smithy_runtime_api::client::result::SdkError<E, R>>,
    >,
) -> Result<T, ApiError>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    call.await.map_err(|e| api_error(op, e))
}

/// Classifies an SDK error. The message comes from AWS's error code/message or the
/// connector's error chain (as one clean line, see `error::sdk_chain`), neither of which can
/// contain our secret.
pub(crate) fn api_error<E, R>(
    op: &'static str,
    err: aws_smithy_runtime_api::client::result::SdkError<E, R>,
) -> ApiError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: fmt::Debug + Send + Sync + 'static,
{
    use aws_smithy_runtime_api::client::result::SdkError;
    let code = err.code().map(str::to_string);
    let budget = crate::aws::Budget::DEFAULT;
    let (failure, message) = match &err {
        SdkError::TimeoutError(_) => (
            ApiFailure::TimedOut,
            format!("no answer within {} s (timed out)", budget.call.as_secs()),
        ),
        SdkError::DispatchFailure(d) if d.is_timeout() => (
            ApiFailure::TimedOut,
            format!(
                "could not connect within {} s (timed out)",
                budget.connect.as_secs()
            ),
        ),
        SdkError::DispatchFailure(_) => (
            ApiFailure::Unreachable,
            format!("unreachable: {}", crate::error::sdk_chain(&err)),
        ),
        _ => {
            let message = err
                .message()
                .map(str::to_string)
                .unwrap_or_else(|| crate::error::sdk_chain(&err));
            let failure = match code.as_deref() {
                Some("AccessDenied")
                | Some("AccessDeniedException")
                | Some("UnauthorizedOperation") => ApiFailure::AccessDenied,
                Some("InvalidClientTokenId")
                | Some("SignatureDoesNotMatch")
                | Some("UnrecognizedClientException")
                | Some("InvalidAccessKeyId")
                | Some("ExpiredToken") => ApiFailure::InvalidKey,
                Some("NoSuchEntity") => ApiFailure::NotFound,
                Some("LimitExceeded") => ApiFailure::LimitExceeded,
                Some("Throttling") | Some("ThrottlingException") | Some("RequestLimitExceeded") => {
                    ApiFailure::Throttled
                }
                Some(c) if c.contains("ServiceFailure") || c.contains("InternalFailure") => {
                    ApiFailure::Service
                }
                None => ApiFailure::Service,
                _ => ApiFailure::Other,
            };
            (failure, message)
        }
    };
    ApiError {
        op,
        failure,
        code,
        message,
    }
}

/// The narrow IAM/STS interface the core uses. All calls act as the key the service was built
/// with; `user` is None to mean "the caller".
#[allow(async_fn_in_trait)]
pub trait KeyService {
    async fn whoami(&self) -> Result<Identity, ApiError>;
    async fn list_keys(&self, user: Option<&str>) -> Result<Vec<KeyMeta>, ApiError>;
    async fn last_used(&self, key_id: &str) -> Result<LastUsed, ApiError>;
    async fn create_key(&self, user: Option<&str>) -> Result<NewKey, ApiError>;
    async fn set_active(
        &self,
        user: Option<&str>,
        key_id: &str,
        active: bool,
    ) -> Result<(), ApiError>;
    async fn delete_key(&self, user: Option<&str>, key_id: &str) -> Result<(), ApiError>;
    /// STS GetSessionToken with an MFA code (the rotation's MFA path). The default says the
    /// service cannot do it, so fakes need not implement it.
    async fn session_token(&self, serial: &str, code: &str) -> Result<SessionCreds, ApiError> {
        let _ = (serial, code);
        Err(ApiError {
            op: "GetSessionToken",
            failure: ApiFailure::Other,
            code: None,
            message: "not supported by this key service".to_string(),
        })
    }
}

/// Temporary credentials from GetSessionToken. `Debug` redacts the secret and the token.
#[derive(Debug, Clone)]
pub struct SessionCreds {
    pub key_id: String,
    pub secret: SecretKey,
    pub token: SecretKey,
}

/// The real IAM/STS, through the AWS SDK.
#[derive(Clone)]
pub struct SdkKeyService {
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
}

impl fmt::Debug for SdkKeyService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SdkKeyService")
    }
}

impl SdkKeyService {
    /// Clients that act as `key_id` (with `session_token` for MFA sessions).
    pub(crate) async fn for_key(
        env: &Env,
        target: &Target,
        key_id: &str,
        secret: &SecretKey,
        session_token: Option<&SecretKey>,
    ) -> Self {
        let cfg = aws::config_for_key(env, target, key_id, secret, session_token).await;
        Self::from_config(&cfg)
    }
    /// Clients from an already built configuration (see `aws::config_for_key_with`).
    pub(crate) fn from_config(cfg: &aws_config::SdkConfig) -> Self {
        SdkKeyService {
            iam: aws_sdk_iam::Client::new(cfg),
            sts: aws_sdk_sts::Client::new(cfg),
        }
    }
}

/// An SDK timestamp as a UTC time (None when out of range).
pub(crate) fn to_utc(d: &aws_smithy_types::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(d.secs(), d.subsec_nanos())
}

impl KeyService for SdkKeyService {
    async fn whoami(&self) -> Result<Identity, ApiError> {
        let out = sent("GetCallerIdentity", self.sts.get_caller_identity().send()).await?;
        Ok(Identity::from_arn(
            out.account().unwrap_or_default().to_string(),
            out.arn().unwrap_or_default().to_string(),
        ))
    }

    async fn list_keys(&self, user: Option<&str>) -> Result<Vec<KeyMeta>, ApiError> {
        let out = sent(
            "ListAccessKeys",
            self.iam
                .list_access_keys()
                .set_user_name(user.map(str::to_string))
                .send(),
        )
        .await?;
        Ok(out
            .access_key_metadata()
            .iter()
            .filter_map(|m| {
                Some(KeyMeta {
                    key_id: m.access_key_id()?.to_string(),
                    created: m.create_date().and_then(to_utc),
                    active: m.status().map(|s| s.as_str() == "Active").unwrap_or(false),
                })
            })
            .collect())
    }

    async fn last_used(&self, key_id: &str) -> Result<LastUsed, ApiError> {
        let out = sent(
            "GetAccessKeyLastUsed",
            self.iam
                .get_access_key_last_used()
                .access_key_id(key_id)
                .send(),
        )
        .await?;
        let lu = out.access_key_last_used();
        let clean = |s: Option<&str>| {
            s.filter(|v| *v != "N/A" && !v.is_empty())
                .map(str::to_string)
        };
        Ok(LastUsed {
            date: lu.and_then(|l| l.last_used_date()).and_then(to_utc),
            service: clean(lu.map(|l| l.service_name())),
            region: clean(lu.map(|l| l.region())),
        })
    }

    async fn create_key(&self, user: Option<&str>) -> Result<NewKey, ApiError> {
        let out = sent(
            "CreateAccessKey",
            self.iam
                .create_access_key()
                .set_user_name(user.map(str::to_string))
                // One attempt only: a retry behind a lost answer would make a second key whose
                // secret nobody saw (the rotation finds and reports such a key instead).
                .customize()
                .config_override(
                    aws_sdk_iam::config::Builder::default()
                        .retry_config(aws_config::retry::RetryConfig::disabled()),
                )
                .send(),
        )
        .await?;
        let k = out
            .access_key()
            .ok_or_else(|| ApiError::empty_answer("CreateAccessKey", "the response held no key"))?;
        Ok(NewKey {
            key_id: k.access_key_id().to_string(),
            secret: secret(k.secret_access_key().to_string()),
            created: k.create_date().and_then(to_utc),
        })
    }

    async fn set_active(
        &self,
        user: Option<&str>,
        key_id: &str,
        active: bool,
    ) -> Result<(), ApiError> {
        let status = if active {
            aws_sdk_iam::types::StatusType::Active
        } else {
            aws_sdk_iam::types::StatusType::Inactive
        };
        let call = self
            .iam
            .update_access_key()
            .set_user_name(user.map(str::to_string))
            .access_key_id(key_id)
            .status(status);
        sent("UpdateAccessKey", call.send()).await.map(drop)
    }

    async fn delete_key(&self, user: Option<&str>, key_id: &str) -> Result<(), ApiError> {
        let call = self
            .iam
            .delete_access_key()
            .set_user_name(user.map(str::to_string))
            .access_key_id(key_id);
        sent("DeleteAccessKey", call.send()).await.map(drop)
    }

    async fn session_token(&self, serial: &str, code: &str) -> Result<SessionCreds, ApiError> {
        let out = sent(
            "GetSessionToken",
            self.sts
                .get_session_token()
                .serial_number(serial)
                .token_code(code)
                .duration_seconds(3600)
                .send(),
        )
        .await?;
        let c = out.credentials().ok_or_else(|| {
            ApiError::empty_answer("GetSessionToken", "the response held no credentials")
        })?;
        Ok(SessionCreds {
            key_id: c.access_key_id().to_string(),
            secret: secret(c.secret_access_key().to_string()),
            token: secret(c.session_token().to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn user_name_from_arn() {
        let i = Identity::from_arn(
            "1".into(),
            "arn:aws:iam::123456789012:user/dev/alice".into(),
        );
        assert_eq!(i.user_name.as_deref(), Some("alice"));
        let i = Identity::from_arn("1".into(), "arn:aws:sts::1:assumed-role/r/s".into());
        assert_eq!(i.user_name, None);
    }
}
