//! `keyage audit`: the account-wide view from the IAM credential report.
//!
//! Acts as whoever `--profile` is (the SDK's standard provider chain: SSO, roles, static
//! keys), asks IAM to generate the credential report, polls until it is complete (bounded
//! wait, spinner only on a terminal), fetches it, and judges it with `crate::audit` (pure).
//! Exit 0 without findings, 3 with findings, 1 on error.

use std::future::Future;

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit::{self, Finding, Policy, Summary};
use crate::cli::AuditArgs;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::keys::iam::{api_error, ApiError, ApiFailure};

/// The version of the `--json` document; bumped only on incompatible changes.
pub(crate) const JSON_SCHEMA_VERSION: u32 = 1;

/// How long we wait for IAM to generate the report.
pub(crate) const REPORT_WAIT: Duration = Duration::from_secs(60);

/// The policy statement an auditor needs (shown with AccessDenied).
pub(crate) const AUDIT_STATEMENT: &str = r#"{
  "Effect": "Allow",
  "Action": ["iam:GenerateCredentialReport", "iam:GetCredentialReport"],
  "Resource": "*"
}"#;

pub(crate) fn run(env: &Env, args: AuditArgs) -> Result<u8> {
    let policy = Policy {
        max_age_days: args.max_age_days,
        unused_days: args.unused_days,
    };
    let rt = crate::aws::runtime()?;
    let spinner = Spinner::new();
    let fetched = rt.block_on(async {
        let cfg = crate::aws::config_for_profile(env, args.profile.as_deref()).await?;
        let source = SdkReportSource {
            iam: aws_sdk_iam::Client::new(&cfg),
        };
        fetch(&source, &Wait::default(), &|msg| spinner.set(msg)).await
    });
    spinner.finish();
    let report = fetched?;
    let users = audit::parse(&report.content)?;
    let now = Utc::now();
    let findings = audit::findings(&users, &policy, now);
    let summary = audit::summary(&users, &findings);
    let text = if args.json {
        let doc = JsonReport {
            schema_version: JSON_SCHEMA_VERSION,
            checked_at: now,
            report_generated_at: report.generated,
            policy,
            summary,
            findings: &findings,
        };
        let mut s = serde_json::to_string_pretty(&doc)
            .map_err(|e| Error::internal(format!("cannot write JSON: {e}")))?;
        s.push('\n');
        s
    } else if args.csv {
        render_csv(&findings)?
    } else {
        render_table(&findings, &summary, &policy)
    };
    emit(&text)?;
    Ok(if findings.is_empty() { 0 } else { 3 })
}

/// The `--json` document (see docs/audit.md).
#[derive(Debug, Serialize)]
pub(crate) struct JsonReport<'a> {
    pub schema_version: u32,
    pub checked_at: DateTime<Utc>,
    pub report_generated_at: Option<DateTime<Utc>>,
    pub policy: Policy,
    pub summary: Summary,
    pub findings: &'a [Finding],
}

/// Writes to stdout; a closed pipe (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    crate::sys::out::print(text)
}

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
        let out = self
            .iam
            .generate_credential_report()
            .send()
            .await
            .map_err(|e| api_error("GenerateCredentialReport", e))?;
        Ok(matches!(
            out.state(),
            Some(aws_sdk_iam::types::ReportStateType::Complete)
        ))
    }

    async fn get(&self) -> Result<RawReport, ApiError> {
        let out = self
            .iam
            .get_credential_report()
            .send()
            .await
            .map_err(|e| api_error("GetCredentialReport", e))?;
        Ok(RawReport {
            content: out
                .content()
                .map(|b| b.as_ref().to_vec())
                .unwrap_or_default(),
            generated: out
                .generated_time()
                .and_then(|d| DateTime::<Utc>::from_timestamp(d.secs(), d.subsec_nanos())),
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

/// The one spinner (`crate::sys::progress`).
struct Spinner(crate::sys::progress::Spinner);

impl Spinner {
    fn new() -> Self {
        Spinner(crate::sys::progress::spinner(""))
    }
    fn set(&self, msg: &str) {
        self.0.set(msg);
    }
    fn finish(&self) {
        self.0.finish();
    }
}

/// The `--csv` output: one line per finding, with a header.
pub(crate) fn render_csv(findings: &[Finding]) -> Result<String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| Error::internal(format!("cannot write CSV: {e}"));
    w.write_record([
        "user",
        "arn",
        "root",
        "kind",
        "slot",
        "last_rotated",
        "age_days",
        "last_used",
        "days_since_used",
        "detail",
    ])
    .map_err(fail)?;
    let opt = |v: Option<String>| v.unwrap_or_default();
    let date = |d: Option<DateTime<Utc>>| {
        opt(d.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
    };
    for f in findings {
        w.write_record([
            f.user.clone(),
            f.arn.clone(),
            f.root.to_string(),
            f.kind.as_str().to_string(),
            opt(f.slot.map(|s| s.to_string())),
            date(f.last_rotated),
            opt(f.age_days.map(|d| d.to_string())),
            date(f.last_used),
            opt(f.days_since_used.map(|d| d.to_string())),
            f.detail.clone(),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| Error::internal(format!("cannot write CSV: {e}")))?;
    String::from_utf8(bytes).map_err(|e| Error::internal(format!("cannot write CSV: {e}")))
}

/// The table: one row per finding, then a summary line.
pub(crate) fn render_table(findings: &[Finding], summary: &Summary, policy: &Policy) -> String {
    let limits = format!(
        "max age {} d, unused after {} d",
        policy.max_age_days, policy.unused_days
    );
    let scope = format!(
        "{} user{}, {} active key{}",
        summary.users,
        plural(summary.users),
        summary.active_keys,
        plural(summary.active_keys)
    );
    if findings.is_empty() {
        return format!("No findings: {scope} checked ({limits}).\n");
    }
    let rows: Vec<[String; 4]> = findings
        .iter()
        .map(|f| {
            [
                f.user.clone(),
                f.slot.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                f.kind.as_str().to_string(),
                f.detail.clone(),
            ]
        })
        .collect();
    let mut table = crate::sys::table::Table::new(&["USER", "KEY", "FINDING", "DETAIL"]);
    for r in rows {
        table.row(r);
    }
    let mut out = table.render();
    out.push_str(&format!(
        "\n{} finding{} in {scope} ({limits}).\n",
        findings.len(),
        plural(findings.len())
    ));
    out
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
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
        let fake = Fake::new(vec![]);
        fake.get_results.borrow_mut().push(Err(api(
            "GetCredentialReport",
            ApiFailure::Other,
            "ReportInProgress",
        )));
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

        let fake = Fake::new(vec![]);
        fake.get_results.borrow_mut().push(Err(api(
            "GetCredentialReport",
            ApiFailure::AccessDenied,
            "AccessDenied",
        )));
        let e = block(fetch(&fake, &quick(5_000), &|_| {})).unwrap_err();
        assert!(e.hint.unwrap().contains("lacks iam:GetCredentialReport"));
    }

    fn sample() -> (Vec<Finding>, Summary, Policy) {
        let now = DateTime::parse_from_rfc3339("2026-11-23T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let text = "user,arn,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date\n\
            alice,\"arn:aws:iam::1:user/alice\",true,2026-08-01T00:00:00+00:00,2026-11-22T00:00:00+00:00,true,2026-11-01T00:00:00+00:00,N/A\n\
            bob,arn:aws:iam::1:user/bob,false,N/A,N/A,false,N/A,N/A\n";
        let users = audit::parse(text.as_bytes()).unwrap();
        let p = Policy::default();
        let f = audit::findings(&users, &p, now);
        let s = audit::summary(&users, &f);
        (f, s, p)
    }

    #[test]
    fn table_lists_findings_and_a_summary() {
        let (f, s, p) = sample();
        let t = render_table(&f, &s, &p);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].starts_with("USER "), "{t}");
        assert!(lines[1].starts_with("alice  -    two_active_keys"), "{t}");
        assert!(lines[2].starts_with("alice  1    key_not_rotated"), "{t}");
        assert!(
            t.ends_with(
                "2 findings in 2 users, 2 active keys (max age 90 d, unused after 45 d).\n"
            ),
            "{t}"
        );
        let none = render_table(&[], &s, &p);
        assert_eq!(
            none,
            "No findings: 2 users, 2 active keys checked (max age 90 d, unused after 45 d).\n"
        );
    }

    #[test]
    fn csv_output_round_trips() {
        let (f, _, _) = sample();
        let text = render_csv(&f).unwrap();
        let mut r = csv::Reader::from_reader(text.as_bytes());
        let head: Vec<String> = r.headers().unwrap().iter().map(str::to_string).collect();
        assert_eq!(head[0], "user");
        assert_eq!(head.len(), 10);
        let rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows.len(), 2);
        assert_eq!(&rows[0][3], "two_active_keys");
        assert_eq!(&rows[0][4], "");
        assert_eq!(&rows[1][3], "key_not_rotated");
        assert_eq!(&rows[1][4], "1");
        assert_eq!(&rows[1][5], "2026-08-01T00:00:00Z");
        assert_eq!(&rows[1][6], "114");
        assert_eq!(&rows[1][8], "1");
    }
}
