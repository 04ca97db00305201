//! Fetching the IAM credential report: ask IAM to generate it, poll until it is complete
//! (a bounded wait with back-off, progress through a callback), fetch it. The two IAM calls
//! sit behind [`ReportSource`], so the polling is unit-tested without the network.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::error::{Error, Kind, Result};
use crate::keys::iam::{sent, to_utc, ApiError, ApiFailure};

/// How long we wait for IAM to generate the report.
pub(crate) const REPORT_WAIT: Duration = Duration::from_secs(60);

/// The policy statement an auditor needs (shown with AccessDenied).
pub(crate) const AUDIT_STATEMENT: &str = r#"{
  "Effect": "Allow",
  "Action": ["iam:GenerateCredentialReport", "iam:GetCredentialReport"],
  "Resource": "*"
}"#;

/// The report as IAM returned it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawReport {
    pub content: Vec<u8>,
    pub generated: Option<DateTime<Utc>>,
}

/// The two IAM calls behind a narrow trait, so the polling can be unit-tested.
pub(crate) trait ReportSource {
    /// GenerateCredentialReport: true when the report is complete.
    fn generate(&self) -> impl Future<Output = Result<bool, ApiError>>;
    /// GetCredentialReport.
    fn get(&self) -> impl Future<Output = Result<RawReport, ApiError>>;
}

pub(crate) struct SdkReportSource {
    pub iam: aws_sdk_iam::Client,
}

impl ReportSource for SdkReportSource {
    async fn generate(&self) -> Result<bool, ApiError> {
        let call = self.iam.generate_credential_report();
        let out = sent("GenerateCredentialReport", call.send()).await?;
        Ok(matches!(
            out.state(),
            Some(aws_sdk_iam::types::ReportStateType::Complete)
        ))
    }

    async fn get(&self) -> Result<RawReport, ApiError> {
        let out = sent(
            "GetCredentialReport",
            self.iam.get_credential_report().send(),
        )
        .await?;
        Ok(RawReport {
            content: out
                .content()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default(),
            generated: out.generated_time().and_then(to_utc),
        })
    }
}

/// The bounded wait: total, first pause, longest pause.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Wait {
    pub total: Duration,
    pub first: Duration,
    pub max_step: Duration,
}

impl Default for Wait {
    fn default() -> Self {
        Wait {
            total: REPORT_WAIT,
            first: Duration::from_millis(500),
            max_step: Duration::from_secs(4),
        }
    }
}

/// True for GetCredentialReport errors that mean "not ready yet, generate/poll again".
fn not_ready(e: &ApiError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("ReportInProgress") | Some("ReportNotPresent") | Some("ReportExpired")
    )
}

/// Generates the report, polls until complete (within `wait.total`), then fetches it.
pub(crate) async fn fetch(
    src: &impl ReportSource,
    wait: &Wait,
    progress: &dyn Fn(&str),
) -> Result<RawReport> {
    let start = tokio::time::Instant::now();
    let mut pause = wait.first;
    loop {
        progress("Asking IAM for the credential report");
        if src.generate().await.map_err(audit_error)? {
            match src.get().await {
                Ok(r) => return Ok(r),
                Err(e) if not_ready(&e) => {}
                Err(e) => return Err(audit_error(e)),
            }
        }
        let waited = start.elapsed();
        if waited + pause > wait.total {
            return Err(Error::new(
                Kind::Aws,
                format!(
                    "the credential report was not ready after {} s",
                    wait.total.as_secs()
                ),
            )
            .hint("IAM is still generating it; run `keyage audit` again in a minute"));
        }
        progress(&format!(
            "Waiting for IAM to generate the credential report ({} s)",
            waited.as_secs()
        ));
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(wait.max_step);
    }
}

/// Maps an API error; AccessDenied names both actions an audit needs.
pub(crate) fn audit_error(e: ApiError) -> Error {
    if e.failure == ApiFailure::AccessDenied {
        let action = crate::keys::iam::iam_action(e.op);
        return Error::new(Kind::Aws, e.to_string()).hint(format!(
            "your IAM identity lacks {action}; an audit needs iam:GenerateCredentialReport and \
             iam:GetCredentialReport: ask an admin to attach a policy with this statement:\n{AUDIT_STATEMENT}"
        ));
    }
    if e.failure == ApiFailure::Unreachable {
        return Error::new(Kind::Aws, e.to_string())
            .hint("check the network, or AWS_ENDPOINT_URL if you set one");
    }
    Error::from(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::{Cell, RefCell};

    /// Answers `generate` with the given states in turn (then "complete"), `get` with `got`.
    struct Fake {
        states: RefCell<Vec<bool>>,
        generate_err: Option<ApiError>,
        get_results: RefCell<Vec<Result<RawReport, ApiError>>>,
        generates: Cell<usize>,
    }

    impl Fake {
        fn new(states: Vec<bool>) -> Self {
            Fake {
                states: RefCell::new(states),
                generate_err: None,
                get_results: RefCell::new(Vec::new()),
                generates: Cell::new(0),
            }
        }
    }

    fn report() -> RawReport {
        RawReport {
            content: b"user,arn\n".to_vec(),
            generated: None,
        }
    }

    fn api(op: &'static str, failure: ApiFailure, code: &str) -> ApiError {
        ApiError {
            op,
            failure,
            code: Some(code.to_string()),
            message: "m".to_string(),
        }
    }

    impl ReportSource for Fake {
        async fn generate(&self) -> Result<bool, ApiError> {
            self.generates.set(self.generates.get() + 1);
            if let Some(e) = &self.generate_err {
                return Err(e.clone());
            }
            let mut s = self.states.borrow_mut();
            Ok(if s.is_empty() { true } else { s.remove(0) })
        }
        async fn get(&self) -> Result<RawReport, ApiError> {
            let mut g = self.get_results.borrow_mut();
            if g.is_empty() {
                Ok(report())
            } else {
                g.remove(0)
            }
        }
    }

    /// A source whose first GetCredentialReport fails with `failure` and `code`.
    fn get_fails(failure: ApiFailure, code: &str) -> Fake {
        let fake = Fake::new(vec![]);
        let e = api("GetCredentialReport", failure, code);
        fake.get_results.borrow_mut().push(Err(e));
        fake
    }

    fn quick(total_ms: u64) -> Wait {
        Wait {
            total: Duration::from_millis(total_ms),
            first: Duration::from_millis(1),
            max_step: Duration::from_millis(4),
        }
    }

    fn block<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn polls_until_complete() {
        let fake = Fake::new(vec![false, false]);
        let seen = RefCell::new(Vec::new());
        let r = block(fetch(&fake, &quick(5_000), &|m| {
            seen.borrow_mut().push(m.to_string())
        }))
        .unwrap();
        assert_eq!(r, report());
        assert_eq!(fake.generates.get(), 3);
        assert!(seen.borrow().iter().any(|m| m.contains("Waiting")));
    }

    #[test]
    fn the_wait_is_bounded() {
        let fake = Fake::new(vec![false; 10_000]);
        let e = block(fetch(&fake, &quick(30), &|_| {})).unwrap_err();
        assert!(e.message.contains("not ready after"), "{}", e.message);
        assert!(e.hint.is_some());
    }

    #[test]
    fn report_in_progress_on_get_polls_again() {
        let fake = get_fails(ApiFailure::Other, "ReportInProgress");
        let r = block(fetch(&fake, &quick(5_000), &|_| {})).unwrap();
        assert_eq!(r, report());
        assert_eq!(fake.generates.get(), 2);
    }

    #[test]
    fn access_denied_names_both_actions() {
        let mut fake = Fake::new(vec![]);
        fake.generate_err = Some(api(
            "GenerateCredentialReport",
            ApiFailure::AccessDenied,
            "AccessDenied",
        ));
        let e = block(fetch(&fake, &quick(5_000), &|_| {})).unwrap_err();
        assert!(
            e.message.contains("GenerateCredentialReport"),
            "{}",
            e.message
        );
        let hint = e.hint.unwrap();
        assert!(
            hint.contains("lacks iam:GenerateCredentialReport"),
            "{hint}"
        );
        assert!(hint.contains("iam:GetCredentialReport"), "{hint}");
        assert!(hint.contains("\"Resource\": \"*\""), "{hint}");

        let fake = get_fails(ApiFailure::AccessDenied, "AccessDenied");
        let e = block(fetch(&fake, &quick(5_000), &|_| {})).unwrap_err();
        assert!(e.hint.unwrap().contains("lacks iam:GetCredentialReport"));
    }
}
