//! `keyage audit`: the account-wide view from the IAM credential report.
//!
//! Acts as whoever `--profile` is (the SDK's standard provider chain: SSO, roles, static
//! keys), fetches the credential report with `crate::audit::fetch` (bounded wait, spinner
//! only on a terminal), and judges it with `crate::audit` (pure).
//! Exit 0 without findings, 3 with findings, 1 on error.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::audit::fetch::{fetch, SdkReportSource, Wait};
use crate::audit::{self, Finding, Policy, Summary};
use crate::cli::AuditArgs;
use crate::env::Env;
use crate::error::{Error, Result};

/// The version of the `--json` document; bumped only on incompatible changes.
pub(crate) const JSON_SCHEMA_VERSION: u32 = 1;

pub(crate) fn run(env: &Env, args: AuditArgs) -> Result<u8> {
    let policy = Policy {
        max_age_days: args.max_age_days,
        unused_days: args.unused_days,
    };
    let rt = crate::aws::runtime()?;
    let spinner = crate::sys::progress::spinner("");
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
