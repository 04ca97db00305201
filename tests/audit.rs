//! `keyage audit` end to end: the binary against moto (through the rig), with users whose keys
//! are made to look old in slot 1 and slot 2, an inactive old key, a user with two active keys
//! and an idle key. Each expected finding appears once and nothing else does.

mod support;

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use support::*;

/// The auditor: a user allowed exactly the two report actions.
const REPORT_ACTIONS: &[&str] = &["iam:GenerateCredentialReport", "iam:GetCredentialReport"];

struct Account {
    moto: Moto,
    sandbox: Sandbox,
}

/// (user, slot, kind) as printed in every output.
type Expect = (&'static str, Option<u64>, &'static str);

/// What `populate` should give with the default policy (90 / 45 days).
const EXPECTED: &[Expect] = &[
    ("old1", Some(1), "key_not_rotated"),
    ("old2", Some(2), "key_not_rotated"),
    ("two", None, "two_active_keys"),
    ("idle", Some(1), "key_unused"),
];

/// An account with several users; the auditor's key is the `auditor` profile.
fn populate() -> Account {
    let moto = Moto::start();
    let auditor = moto.create_user_with("auditor", Some(REPORT_ACTIONS));

    // Fresh and used yesterday: nothing.
    let fresh = moto.create_user("fresh");
    moto.set_last_used(&fresh.id, Some(1));

    // Slot 1 is 100 days old, used two days ago: key_not_rotated on slot 1 only.
    let old1 = moto.create_user("old1");
    moto.make_old(&old1.id, 100);
    moto.set_last_used(&old1.id, Some(2));

    // Slot 1 inactive and 200 days old (never a finding); slot 2 active, 120 days old, used
    // three days ago: key_not_rotated on slot 2 only.
    let old2 = moto.create_user("old2");
    moto.make_old(&old2.id, 200);
    moto.set_active(&old2.id, false);
    let old2b = moto.create_key("old2");
    moto.make_old(&old2b.id, 120);
    moto.set_last_used(&old2b.id, Some(3));

    // Two active fresh keys, both used: two_active_keys only.
    let two = moto.create_user("two");
    let two_b = moto.create_key("two");
    moto.set_last_used(&two.id, Some(1));
    moto.set_last_used(&two_b.id, Some(1));

    // 60 days old and never used: key_unused only (younger than 90).
    let idle = moto.create_user("idle");
    moto.make_old(&idle.id, 60);
    moto.set_last_used(&idle.id, None);

    // Inactive, 300 days old, never used: nothing.
    let gone = moto.create_user("inactive");
    moto.make_old(&gone.id, 300);
    moto.set_active(&gone.id, false);

    let sandbox = Sandbox::new();
    sandbox.write_credentials(&auditor.credentials_section("auditor"));
    sandbox.write_config("[profile auditor]\nregion = us-east-1\n");
    Account { moto, sandbox }
}

fn audit(acct: &Account, args: &[&str]) -> Out {
    acct.sandbox
        .keyage()
        .arg("audit")
        .args(["--profile", "auditor"])
        .args(args)
        .moto(&acct.moto)
        .run()
}

fn set(items: &[Expect]) -> BTreeSet<(String, Option<u64>, String)> {
    items
        .iter()
        .map(|(u, s, k)| (u.to_string(), *s, k.to_string()))
        .collect()
}

fn date(v: &serde_json::Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().unwrap_or_else(|| panic!("not a date: {v}")))
        .unwrap_or_else(|e| panic!("not a date: {v}: {e}"))
        .with_timezone(&Utc)
}

#[test]
fn table_lists_each_expected_finding_once_and_exits_3() {
    let acct = populate();
    let out = audit(&acct, &[]);
    out.expect_code(3);
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert!(out.stdout.starts_with("USER"), "{}", out.stdout);
    let got: Vec<(String, Option<u64>, String)> = rows
        .iter()
        .map(|r| (r[0].to_string(), r[1].parse().ok(), r[2].to_string()))
        .collect();
    assert_eq!(got.len(), EXPECTED.len(), "{}", out.stdout);
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), set(EXPECTED));
    assert!(
        out.stdout
            .contains("4 findings in 7 users, 7 active keys (max age 90 d, unused after 45 d)."),
        "{}",
        out.stdout
    );
    // Not a terminal: no spinner, nothing on stderr.
    assert_eq!(out.stderr, "");
}

#[test]
fn json_schema_field_by_field() {
    let acct = populate();
    let before = Utc::now();
    let out = audit(&acct, &["--json"]);
    out.expect_code(3);
    let v = out.json();
    let top: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        top,
        BTreeSet::from([
            "schema_version",
            "checked_at",
            "report_generated_at",
            "policy",
            "summary",
            "findings"
        ])
    );
    assert_eq!(v["schema_version"], 1);
    let checked = date(&v["checked_at"]);
    assert!(checked >= before - chrono::Duration::seconds(1) && checked <= Utc::now());
    // IAM's GeneratedTime (moto always answers 2015-02-02T20:02:02Z): a date, passed through.
    date(&v["report_generated_at"]);
    assert_eq!(
        v["policy"],
        serde_json::json!({"max_age_days": 90, "unused_days": 45})
    );
    assert_eq!(
        v["summary"],
        serde_json::json!({"users": 7, "active_keys": 7, "findings": 4})
    );

    let findings = v["findings"].as_array().unwrap();
    let got: Vec<(String, Option<u64>, String)> = findings
        .iter()
        .map(|f| {
            (
                f["user"].as_str().unwrap().to_string(),
                f["slot"].as_u64(),
                f["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(got.len(), EXPECTED.len(), "{v:#}");
    assert_eq!(got.into_iter().collect::<BTreeSet<_>>(), set(EXPECTED));

    let fields = BTreeSet::from([
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
    ]);
    let by = |user: &str| {
        findings
            .iter()
            .find(|f| f["user"] == user)
            .unwrap_or_else(|| panic!("no finding for {user}"))
    };
    for f in findings {
        let keys: BTreeSet<&str> = f.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, fields, "{f:#}");
        assert_eq!(
            f["arn"],
            format!(
                "arn:aws:iam::123456789012:user/{}",
                f["user"].as_str().unwrap()
            )
        );
        assert_eq!(f["root"], false);
        assert!(!f["detail"].as_str().unwrap().is_empty());
    }
    let days_ago = |v: &serde_json::Value| (Utc::now() - date(v)).num_days();

    let old1 = by("old1");
    assert_eq!(old1["slot"], 1);
    assert_eq!(old1["age_days"], 100);
    assert_eq!(days_ago(&old1["last_rotated"]), 100);
    assert_eq!(old1["days_since_used"], 2);
    assert_eq!(days_ago(&old1["last_used"]), 2);
    assert!(old1["detail"].as_str().unwrap().contains("100 days"));

    let old2 = by("old2");
    assert_eq!(old2["slot"], 2);
    assert_eq!(old2["age_days"], 120);
    assert_eq!(old2["days_since_used"], 3);

    let two = by("two");
    assert_eq!(two["slot"], serde_json::Value::Null);
    assert_eq!(two["last_rotated"], serde_json::Value::Null);
    assert_eq!(two["age_days"], serde_json::Value::Null);
    assert_eq!(two["last_used"], serde_json::Value::Null);
    assert_eq!(two["days_since_used"], serde_json::Value::Null);

    let idle = by("idle");
    assert_eq!(idle["slot"], 1);
    assert_eq!(idle["age_days"], 60);
    assert_eq!(idle["last_used"], serde_json::Value::Null);
    assert_eq!(idle["days_since_used"], serde_json::Value::Null);
    assert!(idle["detail"].as_str().unwrap().contains("never used"));
}

#[test]
fn csv_lists_the_same_findings() {
    let acct = populate();
    let out = audit(&acct, &["--csv"]);
    out.expect_code(3);
    let mut lines = out.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("user,arn,root,kind,slot,last_rotated,age_days,last_used,days_since_used,detail")
    );
    let got: BTreeSet<(String, Option<u64>, String)> = lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].to_string(), f[4].parse().ok(), f[3].to_string())
        })
        .collect();
    assert_eq!(got, set(EXPECTED));
    assert_eq!(out.stdout.lines().count(), EXPECTED.len() + 1);
}

#[test]
fn thresholds_come_from_the_flags() {
    let acct = populate();
    let out = audit(
        &acct,
        &["--max-age-days", "110", "--unused-days", "100", "--json"],
    );
    out.expect_code(3);
    let v = out.json();
    assert_eq!(
        v["policy"],
        serde_json::json!({"max_age_days": 110, "unused_days": 100})
    );
    let got: BTreeSet<(String, Option<u64>, String)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["user"].as_str().unwrap().to_string(),
                f["slot"].as_u64(),
                f["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        got,
        set(&[
            ("old2", Some(2), "key_not_rotated"),
            ("two", None, "two_active_keys")
        ])
    );
}

#[test]
fn a_clean_account_exits_0() {
    let moto = Moto::start();
    let auditor = moto.create_user_with("auditor", Some(REPORT_ACTIONS));
    let dev = moto.create_user("dev");
    moto.set_last_used(&dev.id, Some(0));
    // An inactive old spare is never a finding.
    let spare = moto.create_key("dev");
    moto.make_old(&spare.id, 400);
    moto.set_active(&spare.id, false);
    let sb = Sandbox::new();
    sb.write_credentials(&auditor.credentials_section("default"));
    // No --profile: the default profile, through the SDK's chain.
    let out = sb.keyage().arg("audit").moto(&moto).run();
    out.expect_code(0);
    assert_eq!(
        out.stdout,
        "No findings: 2 users, 2 active keys checked (max age 90 d, unused after 45 d).\n"
    );
    let out = sb.keyage().args(["audit", "--json"]).moto(&moto).run();
    out.expect_code(0);
    let v = out.json();
    assert_eq!(v["findings"], serde_json::json!([]));
    assert_eq!(v["summary"]["findings"], 0);
    let out = sb.keyage().args(["audit", "--csv"]).moto(&moto).run();
    out.expect_code(0);
    assert_eq!(out.stdout.lines().count(), 1, "header only: {}", out.stdout);
}

#[test]
fn credentials_come_from_the_profile_chain_role_profile() {
    // A profile with no key of its own: role_arn + source_profile (AssumeRole at moto's STS).
    let acct = populate();
    acct.sandbox.write_config(
        "[profile auditor]\nregion = us-east-1\n\n[profile audit-role]\nrole_arn = arn:aws:iam::123456789012:role/auditor\nsource_profile = auditor\n",
    );
    let out = acct
        .sandbox
        .keyage()
        .args(["audit", "--profile", "audit-role", "--json"])
        .moto(&acct.moto)
        .run();
    out.expect_code(3);
    assert_eq!(out.json()["summary"]["findings"], 4);
}

#[test]
fn access_denied_names_the_report_actions() {
    let moto = Moto::start();
    // A developer with only the self-service policy cannot audit.
    let dev = moto.create_user("dev");
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&dev.credentials_section("dev"));
    let out = sb
        .keyage()
        .args(["audit", "--profile", "dev"])
        .moto(&moto)
        .run();
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.contains("AccessDenied"), "{}", out.stderr);
    assert!(
        out.stderr.contains("lacks iam:GenerateCredentialReport"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("iam:GetCredentialReport"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains(&dev.secret), "no secret in errors");
}

#[test]
fn a_missing_profile_is_a_clear_error() {
    let moto = Moto::start();
    let sb = Sandbox::new();
    sb.write_credentials("");
    let out = sb
        .keyage()
        .args(["audit", "--profile", "nope"])
        .moto(&moto)
        .run();
    out.expect_code(1);
    assert!(
        out.stderr.contains("no AWS credentials for profile nope"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("fix:"), "{}", out.stderr);
}

#[test]
fn json_and_csv_are_exclusive() {
    let sb = Sandbox::new();
    let out = sb.keyage().args(["audit", "--json", "--csv"]).run();
    out.expect_code(2);
}

#[test]
fn a_spinner_only_on_a_terminal() {
    // `script` gives keyage a pseudo-terminal; the table still goes to stdout.
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no `script` (util-linux) for a pseudo-terminal");
        return;
    }
    let acct = populate();
    let out = acct
        .sandbox
        .command("script")
        .args([
            "-qefc",
            &format!("{KEYAGE} audit --profile auditor"),
            "/dev/null",
        ])
        .moto(&acct.moto)
        .run();
    out.expect_code(3);
    assert!(
        out.stdout.contains("credential report"),
        "spinner message expected on the terminal: {:?}",
        out.stdout
    );
    assert!(out.stdout.contains("key_not_rotated"), "{}", out.stdout);
}

#[test]
fn access_denied_on_get_names_get_credential_report() {
    let moto = Moto::start();
    let half = moto.create_user_with("half", Some(&["iam:GenerateCredentialReport"]));
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&half.credentials_section("half"));
    let out = sb
        .keyage()
        .args(["audit", "--profile", "half", "--json"])
        .moto(&moto)
        .run();
    out.expect_code(1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr
            .contains("GetCredentialReport failed: AccessDenied"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("lacks iam:GetCredentialReport"),
        "{}",
        out.stderr
    );
}

/// One or two clean lines: no SDK log line, no Rust Debug dump (issue 14 item 6).
fn clean_error(stderr: &str) {
    for bad in [
        "WARN",
        "aws_config",
        "aws_runtime",
        "ProviderError(",
        "DispatchFailure(",
        "ConnectorError",
        "{ ",
        "x-amzn",
    ] {
        assert!(!stderr.contains(bad), "`{bad}` in stderr:\n{stderr}");
    }
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        (1..=2).contains(&lines.len()) && lines[0].starts_with("keyage: "),
        "{stderr}"
    );
}

#[test]
fn credential_errors_fit_the_profile_kind() {
    let moto = Moto::start();
    let src = moto.create_user("src");
    moto.enable_auth();
    let sb = Sandbox::new();
    // The role's source key is unknown to IAM: AssumeRole is refused.
    sb.write_credentials(
        "[gone]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    let _ = src;
    sb.write_config(
        "[profile role]\nrole_arn = arn:aws:iam::123456789012:role/r\nsource_profile = gone\n\n\
         [profile sso]\nsso_session = corp\nsso_account_id = 123456789012\nsso_role_name = Dev\n\n\
         [sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\nsso_region = us-east-1\n\n\
         [profile web]\nlogin_session = arn:aws:iam::123456789012:user/dev\n\n\
         [profile proc]\ncredential_process = false\n",
    );
    let run = |p: &str| {
        sb.keyage()
            .args(["audit", "--profile", p])
            .moto(&moto)
            .run()
    };
    let out = run("role");
    out.expect_code(1);
    clean_error(&out.stderr);
    assert!(
        out.stderr
            .contains("no AWS credentials for profile role (a role profile)")
            && out.stderr.contains("assumes a role")
            && out.stderr.contains("source_profile")
            && !out.stderr.contains("sso login"),
        "{}",
        out.stderr
    );

    let out = run("sso");
    out.expect_code(1);
    clean_error(&out.stderr);
    assert!(
        out.stderr.contains("(an SSO profile)")
            && out
                .stderr
                .contains("fix: sign in again: `aws sso login --profile sso`"),
        "{}",
        out.stderr
    );

    // `aws login` (login_session, AWS CLI ≥ 2.32): the SDK's login provider is built in; with
    // no sign-in cached it fails, and the fix says `aws login`. (A real sign-in cannot run here.)
    let out = run("web");
    out.expect_code(1);
    clean_error(&out.stderr);
    assert!(
        out.stderr.contains("(an `aws login` profile)")
            && out.stderr.contains("`aws login --profile web`"),
        "{}",
        out.stderr
    );

    let out = run("proc");
    out.expect_code(1);
    clean_error(&out.stderr);
    assert!(
        out.stderr.contains("(a credential_process profile)")
            && out
                .stderr
                .contains("run the credential_process command of profile proc"),
        "{}",
        out.stderr
    );

    // A static key IAM refuses: the report call fails, in one clean message.
    let out = run("gone");
    out.expect_code(1);
    assert!(
        out.stderr.contains("InvalidClientTokenId"),
        "{}",
        out.stderr
    );
    for bad in ["WARN", "{ ", "ServiceError("] {
        assert!(!out.stderr.contains(bad), "{}", out.stderr);
    }
}
