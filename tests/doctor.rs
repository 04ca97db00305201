//! `keyage doctor` end to end through the binary, against the rig: moto (IAM/STS), a private
//! bus with gnome-keyring and dunst, a sandboxed HOME.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::*;

fn checks<'a>(v: &'a Value, id: &str) -> Vec<&'a Value> {
    v["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["id"] == id)
        .collect()
}

fn one<'a>(v: &'a Value, id: &str) -> &'a Value {
    let c = checks(v, id);
    assert_eq!(c.len(), 1, "one `{id}` check expected in {v:#}");
    c[0]
}

fn status(v: &Value, id: &str) -> String {
    one(v, id)["status"].as_str().unwrap_or("").to_string()
}

fn no_secret(out: &Out, key: &TestKey) {
    support::no_secret(&out.stdout, key);
    support::no_secret(&out.stderr, key);
}

/// A sandbox whose default profile is `key`.
fn sandbox_for(key: &TestKey) -> Sandbox {
    let sb = Sandbox::new();
    sb.write_credentials(&key.credentials_section("default"));
    sb
}

fn install_everything(sb: &Sandbox) {
    std::fs::write(
        sb.path(".bashrc"),
        "# mine\neval \"$(keyage init bash)\"  # keyage init\n",
    )
    .expect("bashrc");
    let unit = sb.path(".config/systemd/user/keyage-agent.service");
    std::fs::create_dir_all(unit.parent().expect("parent")).expect("mkdir");
    std::fs::write(&unit, "[Service]\nExecStart=keyage agent\n").expect("unit");
    let hooks = sb.path(".githooks");
    std::fs::create_dir_all(&hooks).expect("hooks");
    std::fs::write(
        hooks.join("pre-commit"),
        "#!/bin/sh\n# keyage-hook\nkeyage hook pre-commit\n",
    )
    .expect("hook");
    let st = sb
        .command("git")
        .args(["config", "--global", "core.hooksPath"])
        .arg(&hooks)
        .status()
        .expect("git config");
    assert!(st.success());
}

#[test]
fn all_green_with_every_part_present() {
    let t0 = Instant::now();
    let (moto, desk) = start_rig(DesktopOpts::full());
    let alice = moto.create_user("alice");
    moto.enable_auth();
    let sb = sandbox_for(&alice);
    install_everything(&sb);
    eprintln!("rig start (moto + full desktop) took {:?}", t0.elapsed());

    let t = Instant::now();
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .moto(&moto)
        .desktop(&desk)
        .run();
    let took = t.elapsed();
    eprintln!("doctor (all parts present) took {took:?}");
    out.expect_code(0);
    no_secret(&out, &alice);
    let v = out.json();
    assert_eq!(v["version"], 1);
    assert_eq!(v["ok"], true);
    for c in v["checks"].as_array().expect("checks") {
        assert_eq!(c["status"], "ok", "{c:#}");
    }
    let id = one(&v, "identity");
    assert!(
        id["detail"]
            .as_str()
            .expect("detail")
            .contains("arn:aws:iam::123456789012:user/alice"),
        "{id:#}"
    );
    assert_eq!(id["key_id"], alice.id.as_str());
    assert_eq!(id["profiles"], serde_json::json!(["default"]));
    assert!(one(&v, "notifications")["detail"]
        .as_str()
        .expect("detail")
        .contains("dunst"));
    assert!(one(&v, "shell_init")["detail"]
        .as_str()
        .expect("d")
        .contains(".bashrc"));
    // The probe entry is gone again.
    let left = desk
        .command("secret-tool")
        .args(["search", "--all", "service", "keyage"])
        .output()
        .expect("secret-tool");
    assert!(
        text(&left.stdout).trim().is_empty() && !text(&left.stderr).contains("keyage-probe"),
        "probe entry left behind"
    );
    assert!(took < Duration::from_secs(20), "doctor took {took:?}");

    // Text mode: the same verdict, one line per check.
    let out = sb.keyage().arg("doctor").moto(&moto).desktop(&desk).run();
    out.expect_code(0);
    no_secret(&out, &alice);
    assert!(
        out.stdout.contains("ok    identity [default]"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(" 0 warnings, 0 failed"),
        "{}",
        out.stdout
    );
    // Nothing was notified by doctor itself.
    assert!(desk.notifications().is_empty());
}

#[test]
fn missing_installs_are_warnings_not_failures() {
    let (moto, desk) = start_rig(DesktopOpts::full());
    let bob = moto.create_user("bob");
    let sb = sandbox_for(&bob);
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .moto(&moto)
        .desktop(&desk)
        .run();
    out.expect_code(0);
    let v = out.json();
    for id in ["git_hook", "shell_init", "agent"] {
        let c = one(&v, id);
        assert_eq!(c["status"], "warn", "{c:#}");
        assert!(
            c["fix"].as_str().expect("fix").contains("keyage install"),
            "{c:#}"
        );
    }
    assert_eq!(status(&v, "git"), "ok");

    // Without git on PATH: a warning with the fix, the hook check says why it was skipped.
    let bin_only = std::path::Path::new(KEYAGE).parent().expect("bin dir");
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .env("PATH", bin_only)
        .moto(&moto)
        .desktop(&desk)
        .run();
    out.expect_code(0);
    let v = out.json();
    let g = one(&v, "git");
    assert_eq!(g["status"], "warn", "{g:#}");
    assert!(g["fix"].as_str().expect("fix").contains("install git"));
    assert!(one(&v, "git_hook")["detail"]
        .as_str()
        .expect("d")
        .contains("git is missing"));

    // A repository-local hook counts too.
    let repo = sb.path("proj");
    std::fs::create_dir_all(&repo).expect("repo");
    assert!(sb
        .command("git")
        .args(["init", "-q"])
        .current_dir(&repo)
        .status()
        .expect("git init")
        .success());
    std::fs::write(
        repo.join(".git/hooks/pre-commit"),
        "#!/bin/sh\nkeyage hook pre-commit\n",
    )
    .expect("hook");
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .current_dir(&repo)
        .moto(&moto)
        .desktop(&desk)
        .run();
    let v = out.json();
    let c = one(&v, "git_hook");
    assert_eq!(c["status"], "ok", "{c:#}");
    assert!(c["detail"].as_str().expect("d").contains("this repository"));
}

#[test]
fn no_bus_fails_the_keyring_and_warns_about_notifications() {
    let moto = Moto::start();
    let k = moto.create_user("carol");
    let sb = sandbox_for(&k);
    let out = sb.keyage().args(["doctor", "--json"]).moto(&moto).run();
    out.expect_code(1);
    let v = out.json();
    assert_eq!(v["ok"], false);
    let ring = one(&v, "keyring");
    assert_eq!(ring["status"], "fail", "{ring:#}");
    assert!(
        ring["detail"]
            .as_str()
            .expect("d")
            .contains("no D-Bus session bus"),
        "{ring:#}"
    );
    assert!(ring["fix"].as_str().expect("fix").contains("gnome-keyring"));
    let n = one(&v, "notifications");
    assert_eq!(n["status"], "warn", "{n:#}");
    // The AWS side is unaffected.
    assert_eq!(status(&v, "identity"), "ok");
    assert_eq!(status(&v, "list_keys"), "ok");

    // Text mode names the failure and its fix.
    let out = sb.keyage().arg("doctor").moto(&moto).run();
    out.expect_code(1);
    assert!(out.stdout.contains("FAIL  keyring"), "{}", out.stdout);
    assert!(out.stdout.contains("fix: "), "{}", out.stdout);
}

#[test]
fn bus_without_keyring_or_notification_daemon() {
    let (moto, desk) = start_rig(DesktopOpts::bare());
    let k = moto.create_user("dave");
    let sb = sandbox_for(&k);
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .moto(&moto)
        .desktop(&desk)
        .run();
    out.expect_code(1);
    let v = out.json();
    let ring = one(&v, "keyring");
    assert_eq!(ring["status"], "fail");
    assert!(
        ring["detail"]
            .as_str()
            .expect("d")
            .contains("no Secret Service"),
        "{ring:#}"
    );
    let n = one(&v, "notifications");
    assert_eq!(n["status"], "warn");
    assert!(
        n["detail"]
            .as_str()
            .expect("d")
            .contains("no notification server"),
        "{n:#}"
    );

    // Keyring alone: notifications still warn, nothing fails.
    let desk = Desktop::start(DesktopOpts::keyring());
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .moto(&moto)
        .desktop(&desk)
        .run();
    out.expect_code(0);
    let v = out.json();
    assert_eq!(status(&v, "keyring"), "ok");
    assert_eq!(status(&v, "notifications"), "warn");
}

#[test]
fn iam_down_fails_fast_with_a_fix() {
    let (moto, desk) = start_rig(DesktopOpts::keyring());
    let k = moto.create_user("erin");
    let sb = sandbox_for(&k);
    let t = Instant::now();
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .endpoint(&dead_endpoint())
        .desktop(&desk)
        .run();
    let took = t.elapsed();
    out.expect_code(1);
    let v = out.json();
    let id = one(&v, "identity");
    assert_eq!(id["status"], "fail", "{id:#}");
    assert!(
        id["fix"].as_str().expect("fix").contains("network"),
        "{id:#}"
    );
    assert!(checks(&v, "list_keys").is_empty());
    assert_eq!(status(&v, "keyring"), "ok");
    assert!(took < Duration::from_secs(20), "doctor took {took:?}");
}

#[test]
fn access_denied_and_dead_keys() {
    let moto = Moto::start();
    let only_sts = moto.create_user_with("frank", Some(&["sts:GetCallerIdentity"]));
    let dead = moto.create_user("gina");
    let inactive = moto.create_user("hank");
    moto.enable_auth();
    moto.delete_key(&dead.id);
    moto.set_active(&inactive.id, false);
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "{}\n{}\n{}",
        only_sts.credentials_section("default"),
        dead.credentials_section("old"),
        inactive.credentials_section("parked"),
    ));
    let out = sb.keyage().args(["doctor", "--json"]).moto(&moto).run();
    out.expect_code(1);
    for k in [&only_sts, &dead, &inactive] {
        no_secret(&out, k);
    }
    let v = out.json();
    let ids = checks(&v, "identity");
    assert_eq!(ids.len(), 3, "{v:#}");
    let by_key = |id: &str, key: &str| -> Value {
        checks(&v, id)
            .into_iter()
            .find(|c| c["key_id"] == key)
            .cloned()
            .unwrap_or(Value::Null)
    };
    // frank: who he is works, listing keys is denied, and the fix names the permission.
    assert_eq!(by_key("identity", &only_sts.id)["status"], "ok");
    let list = by_key("list_keys", &only_sts.id);
    assert_eq!(list["status"], "fail", "{list:#}");
    assert!(list["detail"].as_str().expect("d").contains("AccessDenied"));
    assert!(list["fix"]
        .as_str()
        .expect("fix")
        .contains("iam:ListAccessKeys"));
    // Deleted and Inactive keys are rejected by AWS.
    for k in [&dead, &inactive] {
        let c = by_key("identity", &k.id);
        assert_eq!(c["status"], "fail", "{c:#}");
        assert!(
            c["detail"]
                .as_str()
                .expect("d")
                .contains("InvalidClientTokenId"),
            "{c:#}"
        );
    }
}

#[test]
fn credentials_file_found_parseable_and_private() {
    let sb = Sandbox::new();
    // Missing.
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .endpoint(&dead_endpoint())
        .run();
    out.expect_code(1);
    let v = out.json();
    let c = one(&v, "credentials_file");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(c["fix"].as_str().expect("fix").contains("aws configure"));

    // Open to others.
    sb.write_credentials(
        "[default]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        sb.credentials_path(),
        std::fs::Permissions::from_mode(0o644),
    )
    .expect("chmod");
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .endpoint(&dead_endpoint())
        .run();
    out.expect_code(1);
    assert!(!out.stdout.contains("wJalrXUtnFEMI"));
    let v = out.json();
    assert_eq!(status(&v, "credentials_file"), "ok");
    assert_eq!(status(&v, "files_parse"), "ok");
    assert!(checks(&v, "env_keys").is_empty());
    let m = one(&v, "credentials_mode");
    // A warning, as `status` says it (issue #14.8 asked for one judgement; it was a fail here).
    assert_eq!(m["status"], "warn", "{m:#}");
    assert!(
        m["detail"]
            .as_str()
            .unwrap()
            .contains("every user on this machine: they can read it"),
        "{m:#}"
    );
    let st = sb.keyage().args(["status", "--offline"]).run();
    assert!(
        st.stderr
            .contains("every user on this machine: they can read it"),
        "status says the same: {}",
        st.stderr
    );
    assert_eq!(
        m["fix"].as_str().expect("fix"),
        format!("chmod 600 {}", sb.credentials_path().display())
    );

    // A key in the environment is pointed out (and its secret not printed).
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .endpoint(&dead_endpoint())
        .env("AWS_ACCESS_KEY_ID", "AKIAENVKEY0000000001")
        .env("AWS_SECRET_ACCESS_KEY", "envSecretValueThatMustNotShow")
        .run();
    assert!(!out.stdout.contains("envSecretValueThatMustNotShow"));
    assert_eq!(status(&out.json(), "env_keys"), "warn");

    // Malformed: the file and line are named.
    sb.write_credentials("[default\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\n");
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .endpoint(&dead_endpoint())
        .run();
    out.expect_code(1);
    let v = out.json();
    let p = one(&v, "files_parse");
    assert_eq!(p["status"], "fail", "{p:#}");
    let want = format!("{}:1", sb.credentials_path().display());
    assert!(p["detail"].as_str().expect("d").contains(&want), "{p:#}");
    assert!(checks(&v, "identity").is_empty());
}

#[test]
fn locked_keyring_fails_with_the_unlock_fix() {
    let moto = Moto::spawn();
    let desk = Desktop::start_locked_keyring();
    let moto = moto.ready();
    let k = moto.create_user("ivy");
    let sb = sandbox_for(&k);
    let out = sb
        .keyage()
        .args(["doctor", "--json"])
        .moto(&moto)
        .desktop(&desk)
        .run();
    out.expect_code(1);
    let v = out.json();
    let ring = one(&v, "keyring");
    assert_eq!(ring["status"], "fail", "{ring:#}");
    assert!(
        ring["detail"].as_str().expect("d").contains("locked"),
        "{ring:#}"
    );
    assert!(
        ring["fix"].as_str().expect("fix").contains("unlock"),
        "{ring:#}"
    );
}

#[test]
fn aws_login_profiles_are_named_and_checked() {
    // A `login_session` profile (`aws login`, AWS CLI ≥ 2.32). No sign-in is cached (a real
    // `aws login` cannot run here), so the SDK's login provider fails: doctor names the
    // profile's kind and the fix. `status` names it too.
    let moto = Moto::start();
    let k = moto.create_user("lena");
    let sb = sandbox_for(&k);
    sb.write_config("[profile web]\nlogin_session = arn:aws:iam::123456789012:user/lena\n");
    let out = sb.keyage().args(["doctor", "--json"]).moto(&moto).run();
    let v = out.json();
    let c = one(&v, "login");
    assert_eq!(c["status"], "fail", "{c:#}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("web is an `aws login` profile"),
        "{c:#}"
    );
    assert!(
        c["fix"]
            .as_str()
            .unwrap()
            .contains("`aws login --profile web`"),
        "{c:#}"
    );
    assert!(!out.stderr.contains("WARN"), "{}", out.stderr);
    let st = sb.keyage().args(["status", "--offline"]).run();
    assert!(
        st.stdout
            .contains("no static key (login_session): an `aws login` profile"),
        "{}",
        st.stdout
    );
}
