//! Rotation follow-ups through the binary, against moto (authentication mode) and a real
//! gnome-keyring: finalize after a spare is deleted (#14.1), `finalize --profile nosuch` and
//! `backout` without a terminal (#14.8), the preflight (#13.3, #13.7) and the summary's
//! "what else to do" (#14.11). The resume test needs the `failpoints` feature.

mod support;

use support::rotating::{start, Rig, User};
use support::{KeyageCommand, Out};

fn run(t: &Rig, u: &User, args: &[&str]) -> Out {
    let out = t.kg(u).args(args).run();
    // The old secret, and the secret (from the keyring) of the key the files hold now.
    let mut secrets = vec![u.key.secret.clone()];
    secrets.extend(t.desk.secret_tool_lookup(&u.files_key()));
    for s in &secrets {
        assert!(
            !out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()),
            "a secret leaked in `keyage {}`",
            args.join(" ")
        );
    }
    out
}

fn pending_old_keys(t: &Rig, u: &User) -> Vec<String> {
    let j = run(t, u, &["status", "--json", "--offline"]).json();
    j["pending_finalize"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| p["old_key_id"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn finalize_after_the_spare_is_deleted() {
    let t = start();
    let u = t.user("spare");
    let a = u.key.id.clone();
    // A→B, backout (B inactive, waiting for finalize), then A→C deleting the spare B.
    run(&t, &u, &["rotate-self", "--yes"]).expect_code(0);
    let b = u.files_key();
    run(&t, &u, &["backout", "--yes"]).expect_code(0);
    assert_eq!(u.files_key(), a);
    assert_eq!(pending_old_keys(&t, &u), vec![b.clone()]);
    let stale_list = u.state("pending-finalize.json");
    let out = run(&t, &u, &["rotate-self", "--yes", "--delete-inactive-spare"]);
    out.expect_code(0);
    let c = u.files_key();
    assert!(c != a && c != b);
    assert!(!t.moto.admin_keys("spare").iter().any(|k| k.key_id == b));
    // The deleted B no longer waits for finalize; status and backout agree on A→C.
    assert_eq!(pending_old_keys(&t, &u), vec![a.clone()]);
    assert!(!u.state("pending-finalize.json").contains(&b));
    assert_eq!(t.desk.secret_tool_lookup(&b), None, "B's keyring copy gone");

    // A pending list left by an older keyage (B→A still listed) is handled too: acting as A
    // (inactive) fails, so the key that replaced it (C) acts, and the gone B is dropped.
    let now = u.state("pending-finalize.json");
    let mut list: serde_json::Value = serde_json::from_str(&now).unwrap();
    let old: serde_json::Value = serde_json::from_str(&stale_list).unwrap();
    list["pending"]
        .as_array_mut()
        .unwrap()
        .push(old["pending"][0].clone());
    std::fs::write(
        u.sb.path(".local/state/keyage/pending-finalize.json"),
        serde_json::to_vec(&list).unwrap(),
    )
    .unwrap();
    t.moto.set_last_used(&a, Some(3));
    let out = run(&t, &u, &["finalize", "--force"]);
    out.expect_code(0);
    assert!(
        !out.stderr.contains("InvalidClientTokenId"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.contains(&format!("deleted old key {a}")),
        "{}",
        out.stdout
    );
    assert_eq!(pending_old_keys(&t, &u), Vec::<String>::new());
    let keys = t.moto.admin_keys("spare");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].key_id, c);
    // Nothing pending, nothing to back out: they agree.
    let out = run(&t, &u, &["backout", "--yes"]);
    out.expect_code(1);
    assert!(out.stderr.contains("no rotation"), "{}", out.stderr);
    run(&t, &u, &["finalize"]).expect_code(0);
}

#[test]
fn finalize_of_an_unknown_profile_and_backout_without_a_terminal() {
    let t = start();
    let u = t.user("usage");
    let out = run(&t, &u, &["finalize", "--profile", "nosuch"]);
    out.expect_code(2);
    assert!(out.stderr.contains("nosuch"), "{}", out.stderr);
    run(&t, &u, &["status", "--profile", "nosuch"]).expect_code(2);
    run(&t, &u, &["rotate-self", "--yes"]).expect_code(0);
    let rotated = u.sb.read(".aws/credentials");
    // No terminal, no --yes: refused like rotate-self, nothing changed.
    let out = run(&t, &u, &["backout"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("no terminal") && out.stderr.contains("--yes"),
        "{}",
        out.stderr
    );
    assert_eq!(u.sb.read(".aws/credentials"), rotated);
    run(&t, &u, &["backout", "--yes"]).expect_code(0);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
}

fn key_count(t: &Rig, u: &User) -> usize {
    t.moto.admin_keys(&u.key.user).len()
}

/// `--dry-run` and the real run both refuse with `needle`, and IAM and the files are untouched.
fn refused_before_iam(t: &Rig, u: &User, needle: &str) -> Out {
    let files = u.sb.read(".aws/credentials");
    let mut last = None;
    for args in [
        &["rotate-self", "--dry-run"][..],
        &["rotate-self", "--yes"][..],
    ] {
        let out = run(t, u, args);
        out.expect_code(1);
        assert!(out.stderr.contains(needle), "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("fix:"), "{}", out.stderr);
        assert_eq!(key_count(t, u), 1, "IAM changed");
        assert_eq!(u.sb.read(".aws/credentials"), files);
        assert_eq!(u.state("rotation-journal.json"), "");
        last = Some(out);
    }
    last.unwrap()
}

#[test]
fn preflight_refuses_one_file_through_a_link() {
    let t = start();
    let u = t.user("onefile");
    let config = u.sb.config_path();
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("credentials", &config).unwrap();
    refused_before_iam(&t, &u, "are one file");
    std::fs::remove_file(&config).unwrap();
    std::fs::hard_link(u.sb.credentials_path(), &config).unwrap();
    refused_before_iam(&t, &u, "are one file");
}

#[test]
fn preflight_refuses_an_unreadable_pending_list_and_status_says_so() {
    let t = start();
    let u = t.user("pending");
    let dir = u.sb.path(".local/state/keyage");
    std::fs::create_dir_all(&dir).unwrap();
    let list = dir.join("pending-finalize.json");
    std::fs::write(&list, "{ garbled").unwrap();
    let out = refused_before_iam(&t, &u, "pending-finalize.json");
    assert!(out.stderr.contains("mv "), "{}", out.stderr);
    let st = run(&t, &u, &["status", "--offline"]);
    assert!(
        st.stderr.contains("pending-finalize.json") && st.stderr.contains("cannot be shown"),
        "{}",
        st.stderr
    );
    let j = run(&t, &u, &["status", "--offline", "--json"]).json();
    assert!(
        j["warnings"].to_string().contains("pending-finalize.json"),
        "{j:#}"
    );
    std::fs::remove_file(&list).unwrap();
    std::fs::create_dir(&list).unwrap();
    refused_before_iam(&t, &u, "a folder");
    let st = run(&t, &u, &["status", "--offline"]);
    assert!(st.stderr.contains("pending-finalize.json"), "{}", st.stderr);
}

#[test]
fn preflight_refuses_a_linked_or_foreign_state_folder() {
    let t = start();
    let u = t.user("statedir");
    let target = u.sb.path("elsewhere");
    std::fs::create_dir(&target).unwrap();
    support::set_mode(&target, 0o755);
    let dir = u.sb.path(".local/state/keyage");
    std::os::unix::fs::symlink(&target, &dir).unwrap();
    refused_before_iam(&t, &u, "symbolic link");
    assert_eq!(
        support::mode(&target),
        0o755,
        "the link's target was not chmod'ed"
    );
    std::fs::remove_file(&dir).unwrap();
    std::fs::create_dir(&dir).unwrap();
    // SAFETY: chown on a path we created; the tests run as root in the rig, else skipped.
    let c = std::ffi::CString::new(dir.to_str().unwrap()).unwrap();
    if unsafe { libc::chown(c.as_ptr(), 12345, 12345) } == 0 {
        refused_before_iam(&t, &u, "belongs to user id 12345");
    }
}

#[test]
fn a_readable_credentials_file_is_narrowed_before_the_new_secret_and_stale_temps_go() {
    let t = start();
    let u = t.user("modes");
    let creds = u.sb.credentials_path();
    support::set_mode(&creds, 0o644);
    let out = run(&t, &u, &["rotate-self", "--dry-run"]);
    out.expect_code(0);
    assert!(out.stderr.contains("narrows it to 0600"), "{}", out.stderr);
    assert_eq!(support::mode(&creds), 0o644, "a dry run changes nothing");
    // Temp files of a killed keyage (an hour old) beside the files and in the state folder;
    // a fresh one may be a live writer's and stays.
    let dir = u.sb.path(".local/state/keyage");
    std::fs::create_dir_all(&dir).unwrap();
    support::set_mode(&dir, 0o700);
    let stale = [
        dir.join(".keyage-killed.tmp"),
        u.sb.path(".aws/.keyage-killed.tmp"),
    ];
    for p in &stale {
        std::fs::write(p, "x").unwrap();
        let ok = std::process::Command::new("touch")
            .args(["-d", "1 hour ago"])
            .arg(p)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    let fresh = dir.join(".keyage-live.tmp");
    std::fs::write(&fresh, "x").unwrap();
    let out = run(&t, &u, &["rotate-self", "--yes"]);
    out.expect_code(0);
    assert!(
        out.stderr.contains("(0644); it is now 0600"),
        "{}",
        out.stderr
    );
    assert_eq!(support::mode(&creds), 0o600);
    for p in &stale {
        assert!(!p.exists(), "{} left behind", p.display());
    }
    assert!(fresh.exists());
}

/// The real AWS CLI (v1, from the venv) in `u`'s sandbox, on moto.
fn aws(t: &Rig, u: &User, args: &[&str]) -> std::process::Output {
    let mut c =
        u.sb.command(&support::venv().join("bin/aws").to_string_lossy());
    c.env("AWS_ENDPOINT_URL", t.moto.endpoint())
        .args(args)
        .output()
        .expect("run aws")
}

#[test]
fn the_summary_names_copies_clears_old_sessions_and_says_when_org_checks_see_it() {
    let t = start();
    let mut actions = support::SELF_SERVICE_ACTIONS.to_vec();
    actions.push("sts:AssumeRole");
    let u = t.user_for(t.moto.create_user_with("after", Some(&actions)));
    u.sb.write_config(
        "[default]\nregion = us-east-1\n\n[profile deploy]\nrole_arn = arn:aws:iam::123456789012:role/deploy\nsource_profile = default\nregion = us-east-1\n",
    );
    // A copy of the key in a .env file, and a role session the real CLI cached with it.
    std::fs::write(
        u.sb.path("project.env"),
        format!(
            "AWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
            u.key.id, u.key.secret
        ),
    )
    .unwrap();
    let o = aws(
        &t,
        &u,
        &["sts", "get-caller-identity", "--profile", "deploy"],
    );
    assert!(o.status.success(), "{}", support::text(&o.stderr));
    let cache = u.sb.path(".aws/cli/cache");
    let cached: Vec<_> = std::fs::read_dir(&cache).unwrap().flatten().collect();
    assert_eq!(cached.len(), 1, "the CLI cached one session");
    let out = run(&t, &u, &["rotate-self", "--yes"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("Other copies") && out.stdout.contains("project.env"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains("Cleared the cached session of role profile `deploy`"),
        "{}",
        out.stdout
    );
    assert!(!cached[0].path().exists(), "the old key's session is gone");
    assert!(
        out.stdout.contains("IAM.3") && out.stdout.contains("up to 4 h old"),
        "{}",
        out.stdout
    );
    // The CLI makes a fresh session with the new key.
    let o = aws(
        &t,
        &u,
        &["sts", "get-caller-identity", "--profile", "deploy"],
    );
    assert!(o.status.success(), "{}", support::text(&o.stderr));
    // Nothing to clear: a session of another role stays.
    run(&t, &u, &["backout", "--yes"]).expect_code(0);
}

/// `chattr` on `p` (the rig runs as root, where permission bits do not stop a write; the
/// immutable flag does). False when the file system does not support it.
fn chattr(flag: &str, p: &std::path::Path) -> bool {
    std::process::Command::new("chattr")
        .arg(flag)
        .arg(p)
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn preflight_refuses_a_file_it_cannot_replace() {
    let t = start();
    let u = t.user("readonly");
    let creds = u.sb.credentials_path();
    support::set_mode(&creds, 0o400);
    if chattr("+i", &creds) {
        refused_before_iam(&t, &u, "is not writable by you");
        chattr("-i", &creds);
    }
    let dir = u.sb.path(".aws");
    support::set_mode(&creds, 0o600);
    if chattr("+i", &dir) {
        refused_before_iam(&t, &u, "cannot create a file in");
        chattr("-i", &dir);
    }
    run(&t, &u, &["rotate-self", "--yes"]).expect_code(0);
}

#[cfg(feature = "failpoints")]
#[test]
fn resume_refuses_an_unreadable_pending_list_before_any_step() {
    let t = start();
    let u = t.user("resumelist");
    let out = t
        .kg(&u)
        .env("KEYAGE_FAILPOINT", "after-verify")
        .args(["rotate-self", "--yes"])
        .run();
    assert_eq!(out.code, None, "killed: {}", out.stderr);
    let list = u.sb.path(".local/state/keyage/pending-finalize.json");
    std::fs::write(&list, "[").unwrap();
    let journal = u.state("rotation-journal.json");
    let out = run(&t, &u, &["rotate-self", "--resume", "--yes"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("pending-finalize.json") && out.stderr.contains("changed nothing"),
        "{}",
        out.stderr
    );
    assert_eq!(u.state("rotation-journal.json"), journal);
    assert!(t.active(&u, &u.key.id), "the old key was not retired");
    std::fs::remove_file(&list).unwrap();
    run(&t, &u, &["rotate-self", "--resume", "--yes"]).expect_code(0);
    assert!(!t.active(&u, &u.key.id));
}

/// The old key was deleted elsewhere (by hand, another machine's finalize) before finalize
/// ran: finalize says so instead of claiming it deleted it, removes the keyring copy and the
/// pending entry, and leaves the new key alone.
#[test]
fn finalize_of_an_old_key_deleted_elsewhere_says_so() {
    let t = start();
    let u = t.user("gone");
    let a = u.key.id.clone();
    run(&t, &u, &["rotate-self", "--yes"]).expect_code(0);
    let b = u.files_key();
    assert_eq!(pending_old_keys(&t, &u), vec![a.clone()]);
    t.moto.delete_key(&a);
    let out = run(&t, &u, &["finalize", "--force"]);
    out.expect_code(0);
    assert!(
        out.stdout
            .contains(&format!("old key {a} was already deleted in IAM")),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("deleted old key"), "{}", out.stdout);
    assert_eq!(pending_old_keys(&t, &u), Vec::<String>::new());
    assert_eq!(t.desk.secret_tool_lookup(&a), None, "A's keyring copy gone");
    let keys = t.moto.admin_keys("gone");
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0].key_id, b);
}
