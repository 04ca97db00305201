//! `keyage scan --verify`: is a key id + secret pair found in a file live? One STS
//! GetCallerIdentity per pair (through [`SdkKeyService`], the pair acting as itself), one at a
//! time with a pause between calls (rate-limited), every call bounded by the SDK timeouts of
//! `crate::aws`. Never in the hook; never prints the secret.

use std::time::{Duration, Instant};

use crate::aws::Target;
use crate::env::Env;
use crate::error::Result;
use crate::keys::iam::{ApiFailure, KeyService, SdkKeyService};
use crate::secret::{mask_id, SecretKey};

/// The least time between two calls.
pub(crate) const MIN_GAP: Duration = Duration::from_millis(250);

/// The answer for one pair.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "verdict")]
pub(crate) enum Verdict {
    /// AWS accepted the pair: it is a live key.
    Valid { account: String, arn: String },
    /// AWS refused it (unknown, deleted or inactive key, or a wrong secret).
    Invalid { code: String },
    /// No answer that says either (network, throttling, a service error).
    Unknown { reason: String },
}

/// One checked pair: the masked key id, where the secret was, the verdict.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Checked {
    pub key_id: String,
    pub place: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

impl Checked {
    pub(crate) fn render(&self) -> String {
        let v = match &self.verdict {
            Verdict::Valid { account, arn } => {
                format!("VALID: a live key of account {account} ({arn})")
            }
            Verdict::Invalid { code } => format!("invalid ({code})"),
            Verdict::Unknown { reason } => format!("not checked: {reason}"),
        };
        format!("verify {} at {}: {v}", self.key_id, self.place)
    }
}

/// Checks each `(key id, secret, place)` in turn.
pub(crate) fn check_pairs(
    env: &Env,
    pairs: Vec<(String, SecretKey, String)>,
) -> Result<Vec<Checked>> {
    let rt = crate::aws::runtime()?;
    let mut out = Vec::with_capacity(pairs.len());
    let mut last: Option<Instant> = None;
    for (id, secret, place) in pairs {
        if let Some(t) = last {
            let since = t.elapsed();
            if since < MIN_GAP {
                std::thread::sleep(MIN_GAP - since);
            }
        }
        last = Some(Instant::now());
        let verdict = rt.block_on(async {
            let svc = SdkKeyService::for_key(env, &Target::default(), &id, &secret, None).await;
            match svc.whoami().await {
                Ok(i) => Verdict::Valid {
                    account: i.account,
                    arn: i.arn,
                },
                Err(e) if e.failure == ApiFailure::InvalidKey => Verdict::Invalid {
                    code: e.code.unwrap_or_else(|| "refused".into()),
                },
                Err(e) => Verdict::Unknown {
                    reason: e.code.unwrap_or(e.message),
                },
            }
        });
        out.push(Checked {
            key_id: mask_id(&id),
            place,
            verdict,
        });
    }
    Ok(out)
}
