//! Smoke tests of the rig itself: each part starts, answers, and is torn down.

mod support;

use std::time::Duration;

use keyage::keys::iam::{ApiFailure, KeyService, SdkKeyService};
use support::*;

/// The product's IAM/STS adapter acting as `key` against `endpoint`.
fn service_at(endpoint: &str, key: &TestKey) -> (tokio::runtime::Runtime, SdkKeyService) {
    let rt = keyage::aws::runtime().expect("runtime");
    let cfg = rt.block_on(
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .credentials_provider(aws_credential_types::Credentials::new(
                &key.id,
                &key.secret,
                None,
                None,
                "rig-test",
            ))
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .timeout_config(keyage::aws::timeouts())
            .load(),
    );
    let svc = SdkKeyService {
        iam: aws_sdk_iam::Client::new(&cfg),
        sts: aws_sdk_sts::Client::new(&cfg),
    };
    (rt, svc)
}

fn service(moto: &Moto, key: &TestKey) -> (tokio::runtime::Runtime, SdkKeyService) {
    service_at(&moto.endpoint(), key)
}

#[test]
fn moto_speaks_iam_and_closes_stock_gaps() {
    let moto = Moto::start();
    let alice = moto.create_user("alice");
    let bob = moto.create_user_with("bob", Some(&["sts:GetCallerIdentity"]));
    moto.enable_auth();

    let (rt, a) = service(&moto, &alice);
    let who = rt.block_on(a.whoami()).expect("whoami");
    assert_eq!(who.user_name.as_deref(), Some("alice"));
    assert_eq!(who.account, "123456789012");

    // make_old / set_last_used are visible through the real API.
    moto.make_old(&alice.id, 100);
    moto.set_last_used(&alice.id, Some(3));
    let keys = rt.block_on(a.list_keys(None)).expect("list");
    assert_eq!(keys.len(), 1);
    let age = chrono::Utc::now() - keys[0].created.expect("created");
    assert!((99..=101).contains(&age.num_days()), "age {age}");
    let lu = rt.block_on(a.last_used(&alice.id)).expect("last used");
    let ago = chrono::Utc::now() - lu.date.expect("date");
    assert_eq!(ago.num_days(), 3, "pinned last-used survives our own calls");
    moto.set_last_used(&alice.id, None);
    assert_eq!(rt.block_on(a.last_used(&alice.id)).expect("lu").date, None);

    // Gap 2: auth errors carry a code the SDK can read.
    let (_rt2, b) = service(&moto, &bob);
    let e = rt
        .block_on(b.list_keys(None))
        .expect_err("bob may not list");
    assert_eq!(e.failure, ApiFailure::AccessDenied, "{e}");
    assert_eq!(e.code.as_deref(), Some("AccessDenied"));

    // Gap 1: an Inactive key is refused.
    let spare = moto.create_key("alice");
    let (_rt3, s) = service(&moto, &spare);
    rt.block_on(s.whoami()).expect("spare works while active");
    moto.set_active(&spare.id, false);
    let e = rt.block_on(s.whoami()).expect_err("inactive key");
    assert_eq!(e.failure, ApiFailure::InvalidKey, "{e}");
    assert_eq!(e.code.as_deref(), Some("InvalidClientTokenId"));

    // A deleted key is unknown.
    moto.delete_key(&spare.id);
    let e = rt.block_on(s.whoami()).expect_err("deleted key");
    assert_eq!(e.code.as_deref(), Some("InvalidClientTokenId"));

    let admin = moto.admin_keys("alice");
    assert_eq!(admin.len(), 1);
    assert!(admin[0].active);
}

#[test]
fn dead_endpoint_is_unreachable() {
    let moto = Moto::start();
    let k = moto.create_user("carol");
    let (rt, dead) = service_at(&dead_endpoint(), &k);
    let e = rt
        .block_on(dead.list_keys(None))
        .expect_err("nothing listens");
    assert_eq!(e.failure, ApiFailure::Unreachable, "{e}");
}

#[test]
fn desktop_keyring_is_private_and_unlocked() {
    let d = Desktop::start(DesktopOpts::keyring());
    assert!(d.has_owner("org.freedesktop.secrets"));
    assert!(!d.has_owner("org.freedesktop.Notifications"));
    assert_eq!(d.secret_tool_lookup("AKIARIGTEST000000001"), None);
    d.secret_tool_store("AKIARIGTEST000000001", "not-a-real-secret");
    assert_eq!(
        d.secret_tool_lookup("AKIARIGTEST000000001").as_deref(),
        Some("not-a-real-secret")
    );
}

#[test]
fn desktop_notifications_are_captured() {
    let d = Desktop::start(DesktopOpts::notifications());
    assert!(d.has_owner("org.freedesktop.Notifications"));
    assert!(!d.has_owner("org.freedesktop.secrets"));
    let st = d
        .command("notify-send")
        .args(["-a", "keyage", "-u", "critical", "Key \"old\""])
        .arg("line one\nline \"two\"")
        .status()
        .expect("notify-send");
    assert!(st.success());
    let st = d
        .command("notify-send")
        .args(["-a", "other", "-u", "low", "S2", "B2"])
        .status()
        .expect("notify-send");
    assert!(st.success());
    let n = d.wait_notifications(2, Duration::from_secs(5));
    assert_eq!(n.len(), 2, "{n:?}");
    assert_eq!(n[0].app, "keyage");
    assert_eq!(n[0].summary, "Key \"old\"");
    assert_eq!(n[0].body, "line one\nline \"two\"");
    assert_eq!(n[0].urgency, Some(2));
    assert_eq!(n[1].summary, "S2");
    assert_eq!(n[1].urgency, Some(0));
}

#[test]
fn bare_bus_has_no_services() {
    let d = Desktop::start(DesktopOpts::bare());
    assert!(d.has_owner("org.freedesktop.DBus"));
    assert!(!d.has_owner("org.freedesktop.secrets"));
    assert!(!d.has_owner("org.freedesktop.Notifications"));
}

#[test]
fn binary_runs_in_a_sandbox() {
    let sb = Sandbox::new();
    let out = sb.keyage().args(["completions", "bash"]).run();
    out.expect_code(0);
    assert!(out.stdout.contains("keyage"), "{}", out.stdout);
    let out = sb.keyage().arg("man").run();
    out.expect_code(0);
    assert!(out.stdout.contains(".TH"), "{}", out.stdout);
    // The environment is the sandbox's, not the caller's.
    let out = sb
        .command("sh")
        .args(["-c", "echo $HOME; echo ${DBUS_SESSION_BUS_ADDRESS:-none}"])
        .run();
    let home = sb.home();
    assert_eq!(
        out.stdout,
        format!("{}\nnone\n", home.display()),
        "{}",
        out.stderr
    );
    // `keyage` on the sandbox's PATH is the build under test.
    let out = sb.command("sh").args(["-c", "command -v keyage"]).run();
    assert_eq!(out.stdout.trim(), KEYAGE);
    let out = sb.keyage().arg("--no-such-flag").run();
    out.expect_code(2);
}

#[test]
fn faketime_shifts_the_wall_clock_only() {
    let sb = Sandbox::new();
    let now: i64 = sb
        .command("date")
        .arg("+%s")
        .run()
        .stdout
        .trim()
        .parse()
        .expect("date");
    let later: i64 = sb
        .command("date")
        .arg("+%s")
        .faketime("+8d")
        .run()
        .stdout
        .trim()
        .parse()
        .expect("date");
    let days = (later - now) as f64 / 86400.0;
    assert!((days - 8.0).abs() < 0.01, "{days}");
    // keyage runs under it too, and moto accepts its signatures (no clock-skew check).
    let moto = Moto::start();
    let k = moto.create_user("tina");
    moto.enable_auth();
    sb.write_credentials(&k.credentials_section("default"));
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .moto(&moto)
        .faketime("+30d")
        .run();
    let v = out.json();
    let id = v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == "identity")
        .expect("identity");
    assert_eq!(id["status"], "ok", "{id:#}");
}
