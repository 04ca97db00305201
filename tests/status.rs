//! `keyage status` end to end: the real binary, the real SDK, moto (through the rig's wrapper)
//! with keys made to look old.

mod support;

use serde_json::Value;
use support::*;

fn creds(keys: &[(&str, &TestKey)]) -> String {
    keys.iter()
        .map(|(p, k)| k.credentials_section(p))
        .collect::<Vec<_>>()
        .join("\n")
}

fn status(sb: &Sandbox, moto: &Moto, args: &[&str]) -> Out {
    sb.keyage().arg("status").args(args).moto(moto).run()
}

fn key<'a>(j: &'a Value, id: &str) -> &'a Value {
    j["keys"]
        .as_array()
        .expect("keys[]")
        .iter()
        .find(|k| k["key_id"] == id)
        .unwrap_or_else(|| panic!("no key {id} in {j:#}"))
}

#[test]
fn ages_levels_shared_rows_and_exit_codes() {
    let moto = Moto::start();
    let old = moto.create_user("alice");
    let mid = moto.create_user("bob");
    let fresh = moto.create_user("carol");
    moto.make_old(&old.id, 100);
    moto.make_old(&mid.id, 80);
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[
        ("default", &old),
        ("work", &old),
        ("bob", &mid),
        ("carol", &fresh),
    ]));

    let out = status(&sb, &moto, &[]);
    out.expect_code(3);
    let table = &out.stdout;
    // Two profiles with one key: one row.
    let rows: Vec<&str> = table.lines().filter(|l| l.contains(&old.id)).collect();
    assert!(rows[0].starts_with("default, work"), "{table}");
    assert!(
        rows[0].contains("100 d") && rows[0].contains("expired"),
        "{table}"
    );
    let bob_row = table
        .lines()
        .find(|l| l.starts_with("bob "))
        .expect("bob row");
    assert!(
        bob_row.contains("80 d") && bob_row.contains("warn"),
        "{table}"
    );
    let carol_row = table
        .lines()
        .find(|l| l.starts_with("carol "))
        .expect("carol row");
    assert!(
        carol_row.contains("0 d") && carol_row.contains(" ok "),
        "{table}"
    );
    assert!(!table.contains("\x1b["), "no colour when not a terminal");
    assert!(!table.contains(&old.secret) && !out.stderr.contains(&old.secret));

    // JSON: one entry per distinct key, with its profiles.
    let j = status(&sb, &moto, &["--json"]).expect_code(3).json();
    assert_eq!(j["keys"].as_array().unwrap().len(), 3, "{j:#}");
    let a = key(&j, &old.id);
    assert_eq!(a["level"], "expired");
    assert_eq!(a["age_days"], 100);
    assert_eq!(a["profiles"], serde_json::json!(["default", "work"]));
    assert_eq!(key(&j, &mid.id)["level"], "warn");
    assert_eq!(key(&j, &mid.id)["warn_threshold"], 75);
    assert_eq!(key(&j, &fresh.id)["level"], "ok");
    assert_eq!(key(&j, &fresh.id)["user"], "carol");

    // Selection and --fail-on.
    status(&sb, &moto, &["--profile", "carol"]).expect_code(0);
    status(&sb, &moto, &["--profile", "bob"]).expect_code(0);
    status(&sb, &moto, &["--profile", "bob", "--fail-on", "warn"]).expect_code(3);
    let out = status(&sb, &moto, &["--profile", "nobody"]);
    out.expect_code(2);
    assert!(
        out.stderr.contains("no profile named `nobody`"),
        "{}",
        out.stderr
    );

    // The prompt segment files.
    let seg = |n: &str| sb.read(&format!(".local/state/keyage/prompt/{n}"));
    assert_eq!(seg("default"), "key 100d!\n");
    assert_eq!(seg("work"), "key 100d!\n");
    assert_eq!(seg("bob"), "key 80d\n");
    assert_eq!(seg("carol"), "");
    assert!(sb.path(".local/state/keyage/prompt/carol").exists());
    assert_eq!(seg("_all"), "key 100d!\n");
    let meta = seg("_meta");
    assert!(
        meta.contains("credentials_mtime=") && !meta.contains("credentials_mtime=missing"),
        "{meta}"
    );
}

#[test]
fn second_keys_inactive_noted_active_old_is_a_finding() {
    let moto = Moto::start();
    let k = moto.create_user("dave");
    let spare = moto.create_key("dave");
    moto.make_old(&spare.id, 120);
    moto.set_active(&spare.id, false);
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[("default", &k)]));

    let j = status(&sb, &moto, &["--json"]).expect_code(0).json();
    let o = key(&j, &spare.id);
    assert_eq!(o["source"], "other");
    assert_eq!(o["level"], "skipped");
    assert_eq!(o["finding"], false);
    assert_eq!(o["active"], false);
    assert_eq!(o["found_via"], k.id.as_str());
    assert!(o["note"].as_str().unwrap().contains("inactive"), "{o:#}");
    let table = status(&sb, &moto, &[]).expect_code(0).stdout.clone();
    assert!(
        table.contains(&spare.id) && table.contains("inactive second key of dave"),
        "{table}"
    );

    moto.set_active(&spare.id, true);
    let out = status(&sb, &moto, &["--refresh"]);
    out.expect_code(3);
    assert!(
        out.stdout.contains("second active key of dave"),
        "{}",
        out.stdout
    );
    let j = status(&sb, &moto, &["--json"]).expect_code(3).json();
    let o = key(&j, &spare.id);
    assert_eq!(
        (o["level"].as_str(), o["finding"].as_bool()),
        (Some("expired"), Some(true))
    );
    assert_eq!(key(&j, &k.id)["level"], "ok");
}

#[test]
fn access_denied_on_list_falls_back_to_first_seen() {
    let moto = Moto::start();
    let k = moto.create_user_with(
        "erin",
        Some(&["sts:GetCallerIdentity", "iam:GetAccessKeyLastUsed"]),
    );
    moto.make_old(&k.id, 100);
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[("default", &k)]));

    let out = status(&sb, &moto, &[]);
    out.expect_code(0);
    let row = out.stdout.lines().find(|l| l.contains(&k.id)).expect("row");
    assert!(
        row.contains("≥ 0 d") && row.contains("unknown"),
        "{}",
        out.stdout
    );
    assert!(row.contains("missing iam:ListAccessKeys"), "{}", out.stdout);
    assert!(
        out.stdout.contains("\"Action\": [\"iam:ListAccessKeys\""),
        "{}",
        out.stdout
    );

    let j = status(&sb, &moto, &["--json", "--refresh"])
        .expect_code(0)
        .json();
    let e = key(&j, &k.id);
    assert_eq!(e["problem"], "access_denied");
    assert_eq!(e["missing_action"], "iam:ListAccessKeys");
    assert_eq!(e["age_is_lower_bound"], true);
    assert_eq!(e["age_days"], 0);
    assert_eq!(e["created"], Value::Null);
    assert_eq!(e["user"], "erin");
}

#[test]
fn offline_after_refresh_uses_cache_with_iam_stopped() {
    let moto = Moto::start();
    let k = moto.create_user("frank");
    moto.make_old(&k.id, 100);
    moto.set_last_used(&k.id, Some(3));
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[("default", &k)]));
    let online = status(&sb, &moto, &["--json"]).expect_code(3).json();
    drop(moto);

    let out = sb
        .keyage()
        .args(["status", "--offline", "--json"])
        .endpoint(&dead_endpoint())
        .run();
    let j = out.expect_code(3).json();
    let e = key(&j, &k.id);
    let o = key(&online, &k.id);
    for f in [
        "level",
        "age_days",
        "created",
        "checked_at",
        "last_used",
        "user",
        "arn",
    ] {
        assert_eq!(e[f], o[f], "field {f}");
    }
    assert_eq!(e["age_days"], 100);
    assert_eq!(j["offline"], true);
    // Online again with IAM down: the cache is fresh, so no network and the same answer.
    let j2 = sb
        .keyage()
        .args(["status", "--json"])
        .endpoint(&dead_endpoint())
        .run()
        .expect_code(3)
        .json();
    assert_eq!(key(&j2, &k.id)["age_days"], 100);
    // Forced refresh with IAM down: cached facts stay, marked unreachable.
    let j3 = sb
        .keyage()
        .args(["status", "--json", "--refresh"])
        .endpoint(&dead_endpoint())
        .run()
        .expect_code(3)
        .json();
    let e3 = key(&j3, &k.id);
    assert_eq!(e3["age_days"], 100);
    assert_eq!(e3["problem"], "unreachable");
    // State files are private.
    use std::os::unix::fs::PermissionsExt;
    let m = std::fs::metadata(sb.path(".local/state/keyage/cache.json")).unwrap();
    assert_eq!(m.permissions().mode() & 0o777, 0o600);
    assert!(!sb
        .read(".local/state/keyage/cache.json")
        .contains(&k.secret));
}

#[test]
fn deleted_key_is_invalid() {
    let moto = Moto::start();
    let k = moto.create_user("gina");
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[("default", &k)]));
    status(&sb, &moto, &[]).expect_code(0);
    moto.delete_key(&k.id);
    let out = status(&sb, &moto, &["--refresh"]);
    out.expect_code(0);
    let row = out.stdout.lines().find(|l| l.contains(&k.id)).expect("row");
    assert!(row.contains("invalid"), "{}", out.stdout);
    status(&sb, &moto, &["--fail-on", "warn"]).expect_code(3);
    let j = status(&sb, &moto, &["--json"]).json();
    let e = key(&j, &k.id);
    assert_eq!(e["invalid"], true);
    assert_eq!(e["problem"], "invalid");
    assert_eq!(e["level"], "unknown");
    assert_eq!(e["active"], false);
}

#[test]
fn json_schema_field_by_field() {
    let moto = Moto::start();
    let k = moto.create_user("hank");
    let spare = moto.create_key("hank");
    moto.make_old(&k.id, 80);
    moto.set_last_used(&k.id, Some(2));
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "{}\n[temp]\naws_access_key_id = ASIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\naws_session_token = t\n",
        k.credentials_section("default")
    ));
    sb.write_config("[profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = default\n");
    let j = status(&sb, &moto, &["--json"]).expect_code(0).json();

    let obj = |v: &Value| {
        let mut ks: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        ks.sort();
        ks
    };
    let sorted = |a: &[&str]| {
        let mut v: Vec<String> = a.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(
        obj(&j),
        sorted(&[
            "schema",
            "generated_at",
            "offline",
            "credentials_file",
            "credentials_file_exists",
            "config_file",
            "config_file_exists",
            "keys",
            "profiles",
            "warnings",
            "pending_finalize",
            "store",
            "exit_code",
        ])
    );
    assert_eq!(j["pending_finalize"], serde_json::json!([]));
    assert_eq!(
        obj(&j["store"]),
        sorted(&["kind", "configured", "location", "why"])
    );
    assert_eq!(j["store"]["configured"], "auto");
    assert_eq!(j["schema"], 1);
    assert!(j["generated_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(j["offline"], false);
    assert_eq!(
        j["credentials_file"],
        sb.credentials_path().display().to_string()
    );
    assert_eq!(j["credentials_file_exists"], true);
    assert_eq!(j["config_file_exists"], true);
    assert_eq!(j["exit_code"], 0);
    assert!(j["warnings"].is_array());

    let keys = j["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let e = key(&j, &k.id);
    assert_eq!(
        obj(e),
        sorted(&[
            "key_id",
            "source",
            "profiles",
            "found_via",
            "level",
            "finding",
            "age_days",
            "age_is_lower_bound",
            "days_left",
            "warn_threshold",
            "max_age_days",
            "created",
            "first_seen",
            "checked_at",
            "active",
            "invalid",
            "last_used",
            "last_used_service",
            "last_used_region",
            "account",
            "arn",
            "user",
            "problem",
            "missing_action",
            "note",
        ])
    );
    assert_eq!(e["key_id"], k.id.as_str());
    assert_eq!(e["source"], "local");
    assert_eq!(e["profiles"], serde_json::json!(["default"]));
    assert_eq!(e["found_via"], Value::Null);
    assert_eq!(e["level"], "warn");
    assert_eq!(e["finding"], true);
    assert_eq!(e["age_days"], 80);
    assert_eq!(e["age_is_lower_bound"], false);
    assert_eq!(e["days_left"], 10);
    assert_eq!(e["warn_threshold"], 75);
    assert_eq!(e["max_age_days"], 90);
    let created = chrono::DateTime::parse_from_rfc3339(e["created"].as_str().unwrap()).unwrap();
    assert_eq!((chrono::Utc::now() - created.to_utc()).num_days(), 80);
    assert!(e["first_seen"].is_string() && e["checked_at"].is_string());
    assert_eq!(e["active"], true);
    assert_eq!(e["invalid"], false);
    let lu = chrono::DateTime::parse_from_rfc3339(e["last_used"].as_str().unwrap()).unwrap();
    assert_eq!((chrono::Utc::now() - lu.to_utc()).num_days(), 2);
    assert!(e["last_used_service"].is_string() || e["last_used_service"].is_null());
    assert!(e["last_used_region"].is_string() || e["last_used_region"].is_null());
    assert_eq!(e["account"], "123456789012");
    assert_eq!(e["arn"], "arn:aws:iam::123456789012:user/hank");
    assert_eq!(e["user"], "hank");
    assert_eq!(e["problem"], Value::Null);
    assert_eq!(e["missing_action"], Value::Null);
    assert!(e["note"].as_str().unwrap().contains("expires in 10 d"));

    let o = key(&j, &spare.id);
    assert_eq!(o["source"], "other");
    assert_eq!(o["profiles"], serde_json::json!([]));
    assert_eq!(o["found_via"], k.id.as_str());
    assert_eq!(o["level"], "ok");
    assert_eq!(o["finding"], false);
    assert_eq!(o["first_seen"], Value::Null);

    let profiles = j["profiles"].as_array().unwrap();
    assert_eq!(profiles.len(), 3, "{j:#}");
    for p in profiles {
        assert_eq!(
            obj(p),
            sorted(&[
                "name",
                "kind",
                "key_id",
                "detail",
                "file",
                "file_kind",
                "line",
                "current",
                "shares_key_with",
                "protected",
            ])
        );
        assert_eq!(p["protected"], false);
    }
    let p = |n: &str| profiles.iter().find(|p| p["name"] == n).unwrap();
    assert_eq!(p("default")["kind"], "static");
    assert_eq!(p("default")["key_id"], k.id.as_str());
    assert_eq!(p("default")["file_kind"], "credentials");
    assert_eq!(p("default")["line"], 2);
    assert_eq!(p("default")["current"], true);
    assert_eq!(p("temp")["kind"], "temporary");
    assert_eq!(p("role")["kind"], "no_static_key");
    assert_eq!(p("role")["file_kind"], "config");
    assert!(p("role")["detail"].as_str().unwrap().contains("role_arn"));
}

#[test]
fn offline_lists_profiles_without_network_or_credentials() {
    let sb = Sandbox::new();
    // No credentials file at all.
    let out = sb.keyage().args(["status", "--offline"]).run();
    out.expect_code(0);
    assert!(
        out.stdout.contains(&format!(
            "no credentials file at {}",
            sb.credentials_path().display()
        )),
        "{}",
        out.stdout
    );

    let a = "AKIAIOSFODNN7EXAMPL1";
    let b = "AKIAIOSFODNN7EXAMPL2";
    sb.write_credentials(&format!(
        "[default]\naws_access_key_id = {a}\naws_secret_access_key = s1\n\n[work]\naws_access_key_id = {a}\naws_secret_access_key = s1\n\n[other]\naws_access_key_id = {b}\naws_secret_access_key = s2\n"
    ));
    sb.write_config(
        "[profile sso]\nsso_session = corp\n[sso-session corp]\nsso_start_url = https://x\n",
    );
    let out = sb
        .keyage()
        .args(["status", "--offline"])
        .endpoint(&dead_endpoint())
        .run();
    out.expect_code(0);
    let t = &out.stdout;
    let cred = sb.credentials_path().display().to_string();
    assert!(
        t.lines()
            .any(|l| l.starts_with("default, work") && l.contains(a) && l.contains("unknown")),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "default  {cred}:2  static key {a}  shares its key with work"
        )),
        "{t}"
    );
    assert!(
        t.contains(&format!("work     {cred}:6  static key {a}")),
        "{t}"
    );
    assert!(
        t.contains(&format!("other    {cred}:10  static key {b}")),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "sso      {}:2  no static key (sso_session)",
            sb.config_path().display()
        )),
        "{t}"
    );
    assert!(t.contains("not checked with IAM yet"), "{t}");
}

#[test]
fn bad_files_exit_1_naming_the_line_and_write_nothing() {
    let sb = Sandbox::new();
    let bad =
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n[broken\naws_secret_access_key = x\n";
    sb.write_credentials(bad);
    let out = sb.keyage().args(["status", "--offline"]).run();
    out.expect_code(1);
    let cred = sb.credentials_path().display().to_string();
    assert!(out.stderr.contains(&format!("{cred}:3")), "{}", out.stderr);
    assert_eq!(sb.read(".aws/credentials"), bad, "bytes unchanged");
    assert!(!sb.path(".local/state/keyage/cache.json").exists());

    sb.write_credentials(
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = x\n",
    );
    std::fs::create_dir_all(sb.path(".config/keyage")).unwrap();
    std::fs::write(
        sb.path(".config/keyage/config.toml"),
        "max_age_days = 90\n\n[prompt]\nformatt = \"x\"\n",
    )
    .unwrap();
    let out = sb.keyage().args(["status", "--offline"]).run();
    out.expect_code(1);
    let cfg = sb.path(".config/keyage/config.toml").display().to_string();
    assert!(
        out.stderr.contains(&format!("{cfg}:4")) && out.stderr.contains("formatt"),
        "{}",
        out.stderr
    );
    std::fs::write(
        sb.path(".config/keyage/config.toml"),
        "warn_at_days = [75, 95]\n",
    )
    .unwrap();
    let out = sb.keyage().args(["status", "--offline"]).run();
    out.expect_code(1);
    assert!(out.stderr.contains(&format!("{cfg}:1")), "{}", out.stderr);
}

/// No SDK log line or Rust Debug dump on the terminal (issue 14 item 6).
fn clean(stderr: &str) {
    for bad in [
        "WARN",
        "ERROR",
        "aws_runtime",
        "aws_config",
        "aws_smithy",
        "DispatchFailure(",
        "ConnectorError",
        "TimeoutError(",
        "{ ",
    ] {
        assert!(!stderr.contains(bad), "`{bad}` in stderr:\n{stderr}");
    }
}

#[test]
fn a_black_hole_endpoint_gives_up_within_the_budget() {
    // Accepts connections, never answers: the SDK's default would wait 45 s per call.
    let hole = BlackHole::start();
    let sb = Sandbox::new();
    sb.write_credentials(
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    let t = std::time::Instant::now();
    let out = sb
        .keyage()
        .args(["status", "--refresh", "--json"])
        .endpoint(&hole.endpoint())
        .run();
    let took = t.elapsed();
    // The target (≤ 10 s) is in the docs and the benchmark; this is a hang guard.
    assert!(took < std::time::Duration::from_secs(15), "took {took:?}");
    let j = out.json();
    assert_eq!(key(&j, "AKIAIOSFODNN7EXAMPLE")["problem"], "unreachable");
    assert!(
        out.stderr.contains("IAM did not answer about 1 key")
            && out.stderr.contains("timed out")
            && out.stderr.contains("fix: check the network"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.lines().count() <= 2, "{}", out.stderr);
    clean(&out.stderr);

    // A refused port: quick, and as clean.
    let t = std::time::Instant::now();
    let out = sb
        .keyage()
        .args(["status", "--refresh"])
        .endpoint(&dead_endpoint())
        .run();
    assert!(t.elapsed() < std::time::Duration::from_secs(15));
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);
    clean(&out.stderr);
}

#[test]
fn a_slow_endpoint_still_answers() {
    // 1.5 s per call (two rounds of calls): slower than IAM ever is, within the budget.
    let moto = Moto::start_slow(1500);
    let k = moto.create_user("slow");
    moto.make_old(&k.id, 100);
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[("default", &k)]));
    let t = std::time::Instant::now();
    let out = status(&sb, &moto, &["--refresh", "--json"]);
    assert!(t.elapsed() < std::time::Duration::from_secs(15));
    let j = out.expect_code(3).json();
    assert_eq!(key(&j, &k.id)["age_days"], 100);
    assert!(key(&j, &k.id)["problem"].is_null(), "{j:#}");
    clean(&out.stderr);
}

#[test]
fn a_missing_config_file_prints_no_sdk_lines() {
    let moto = Moto::start();
    let k = moto.create_user("nocfg");
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[("default", &k)]));
    let out = sb
        .keyage()
        .args(["status", "--refresh"])
        .env("AWS_CONFIG_FILE", sb.path(".aws/no-such-config"))
        .moto(&moto)
        .run();
    out.expect_code(0);
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

/// The real AWS CLI (v1, from the test venv).
fn aws_cli(sb: &Sandbox, moto: Option<&Moto>) -> std::process::Command {
    let mut c = sb.command(venv().join("bin/aws").to_str().unwrap());
    c.env("AWS_DEFAULT_REGION", "us-east-1");
    if let Some(m) = moto {
        c.env("AWS_ENDPOINT_URL", m.endpoint());
    }
    c
}

#[test]
fn inline_comments_the_cli_would_misread_are_warned() {
    let moto = Moto::start();
    let k = moto.create_user("commented");
    moto.enable_auth();
    let sb = Sandbox::new();
    let text = format!(
        "[default]\naws_access_key_id = {} # laptop\naws_secret_access_key = {}\n",
        k.id, k.secret
    );
    sb.write_credentials(&text);
    // The AWS CLI keeps the comment in the key id and fails …
    let cli = aws_cli(&sb, Some(&moto))
        .args(["sts", "get-caller-identity"])
        .output()
        .unwrap();
    assert!(!cli.status.success(), "the CLI accepted the commented key");
    let got = aws_cli(&sb, None)
        .args(["configure", "get", "aws_access_key_id"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&got.stdout).contains("# laptop"));
    // … so keyage warns, naming the file, the line and the fix (it reads the key as the SDK).
    let out = status(&sb, &moto, &["--refresh"]);
    out.expect_code(0);
    let cred = sb.credentials_path().display().to_string();
    assert!(
        out.stderr.contains(&format!(
            "{cred}:2: `aws_access_key_id` has an inline comment"
        )) && out.stderr.contains("AWS CLI and boto3")
            && out
                .stderr
                .contains("fix: move the comment to a line of its own"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("laptop"));
    // doctor says the same.
    let d = sb.keyage().args(["doctor"]).moto(&moto).run();
    assert!(
        d.stdout.contains(&format!("{cred}:2")) && d.stdout.contains("inline comment"),
        "{}",
        d.stdout
    );
    // Fixed: both agree, no warning.
    sb.write_credentials(&format!(
        "[default]\n# laptop\naws_access_key_id = {}\naws_secret_access_key = {}\n",
        k.id, k.secret
    ));
    let cli = aws_cli(&sb, Some(&moto))
        .args(["sts", "get-caller-identity"])
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let out = status(&sb, &moto, &[]);
    assert!(!out.stderr.contains("inline comment"), "{}", out.stderr);
}

#[test]
fn another_tools_write_keeps_the_prompt_warning() {
    let moto = Moto::start();
    let old = moto.create_user("olga");
    moto.make_old(&old.id, 100);
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[("default", &old)]));
    sb.write_config("[profile other]\nregion = us-east-1\n");
    status(&sb, &moto, &[]).expect_code(3);
    let prompt = |sb: &Sandbox| sb.keyage().arg("prompt").run().stdout;
    assert_eq!(prompt(&sb), "key 100d!");
    let meta = sb.read(".local/state/keyage/prompt/_meta");
    assert!(meta.contains("all_level=expired"), "{meta}");
    // _meta is not rewritten by a run that changes nothing.
    let before = std::fs::metadata(sb.path(".local/state/keyage/prompt/_meta"))
        .unwrap()
        .modified()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    status(&sb, &moto, &["--offline"]).expect_code(3);
    let after = std::fs::metadata(sb.path(".local/state/keyage/prompt/_meta"))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(before, after, "_meta rewritten without a change");

    // The real AWS CLI changes another profile's region (both files may be rewritten).
    std::thread::sleep(std::time::Duration::from_millis(20));
    let o = aws_cli(&sb, None)
        .args([
            "configure",
            "set",
            "region",
            "eu-west-1",
            "--profile",
            "other",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(sb.read(".aws/config").contains("eu-west-1"));
    assert_eq!(prompt(&sb), "key 100d!", "the warning must survive");
    // And in a real shell.
    let out = interactive_bash(
        &sb,
        "eval \"$(keyage init bash)\"\n:\necho \"seg=[$KEYAGE_SEGMENT]\"\n",
    );
    assert!(out.contains("seg=[key 100d!]"), "{out}");
    for (shell, args) in [
        ("zsh", &["-f", "-c"][..]),
        ("fish", &["--no-config", "-c"][..]),
    ] {
        let script = match shell {
            "zsh" => "eval \"$(keyage init zsh)\"; __keyage_update; echo \"seg=[$KEYAGE_SEGMENT]\"",
            _ => "keyage init fish | source; __keyage_update; echo \"seg=[$KEYAGE_SEGMENT]\"",
        };
        let Ok(o) = sb.command(shell).args(args).arg(script).output() else {
            eprintln!("{shell} not installed: skipped");
            continue;
        };
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.contains("seg=[key 100d!]"), "{shell}: {out}");
    }

    // Another tool replaces the key: the old key's warning goes.
    let o = aws_cli(&sb, None)
        .args([
            "configure",
            "set",
            "aws_access_key_id",
            "AKIAIOSFODNN7EXAMPLE",
            "--profile",
            "default",
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    assert_eq!(prompt(&sb), "");
    let out = interactive_bash(
        &sb,
        "eval \"$(keyage init bash)\"\n:\necho \"seg=[$KEYAGE_SEGMENT]\"\n",
    );
    assert!(out.contains("seg=[]"), "{out}");
}

/// An interactive bash of the sandbox reading `script`; stdout + stderr.
fn interactive_bash(sb: &Sandbox, script: &str) -> String {
    use std::io::Write;
    let mut child = sb
        .command("bash")
        .args(["--norc", "--noprofile", "-i"])
        .env("PS1", "P> ")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn status_and_prompt_follow_keyages_own_changes() {
    let moto = Moto::start();
    let desk = Desktop::start(DesktopOpts::keyring());
    let k = moto.create_user("rita");
    moto.make_old(&k.id, 100);
    moto.enable_auth();
    let sb = Sandbox::new();
    sb.write_credentials(&creds(&[("default", &k)]));
    let kg = |args: &[&str], endpoint: &str| {
        sb.keyage()
            .args(args)
            .endpoint(endpoint)
            .desktop(&desk)
            .env("KEYAGE_VERIFY_TIMEOUT_SECS", "6")
            .run()
    };
    let ep = moto.endpoint();
    let j = kg(&["status", "--json"], &ep).expect_code(3).json();
    assert_eq!(key(&j, &k.id)["level"], "expired");
    assert_eq!(sb.keyage().arg("prompt").run().stdout, "key 100d!");

    // A refused port: the dry run's error is clean (no `DispatchFailure(…)` dump).
    let out = kg(&["rotate-self", "--dry-run"], &dead_endpoint());
    out.expect_code(1);
    clean(&out.stderr);
    assert!(out.stderr.contains("unreachable"), "{}", out.stderr);

    kg(&["rotate-self", "--yes"], &ep).expect_code(0);
    let new_id = sb
        .read(".aws/credentials")
        .lines()
        .find_map(|l| l.strip_prefix("aws_access_key_id = "))
        .map(str::to_string)
        .expect("new key in the file");
    assert_ne!(new_id, k.id);
    // The segments were rewritten by the rotation itself: no stale "100d!", no blank file.
    let seg = sb.read(".local/state/keyage/prompt/default");
    assert!(!seg.contains("100d"), "{seg}");
    assert!(!sb.keyage().arg("prompt").run().stdout.contains("100d"));

    kg(&["backout", "--yes"], &ep).expect_code(0);
    // Plain status (no --refresh; the old key's facts are fresh) shows the now-inactive
    // second key at once.
    let j = kg(&["status", "--json"], &ep).expect_code(3).json();
    let b = key(&j, &new_id);
    assert_eq!(b["source"], "other", "{j:#}");
    assert_eq!(b["active"], false, "{j:#}");
    assert_eq!(b["found_via"], k.id.as_str());
    // The prompt knows the old key again (marked while its backout is pending finalize).
    let p = sb.keyage().arg("prompt").run().stdout;
    assert!(p.starts_with("key 100d"), "{p}");
}
