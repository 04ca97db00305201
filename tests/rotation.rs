//! `keyage rotate-self`, `backout` and `finalize` end to end, through the binary, against moto
//! in authentication mode (inactive keys rejected) and a real gnome-keyring on a private bus.
//! Every command runs with RUST_LOG=trace and its output is searched for every secret.
//!
//! The kill-at-each-step tests need the binary built with the `failpoints` feature:
//! `cargo test --test rotation --features failpoints` (without it they are compiled out).

mod support;

use std::process::Command;

use support::{Desktop, DesktopOpts, KeyageCommand, Moto, Out, Sandbox, TestKey};

struct T {
    moto: Moto,
    desk: Desktop,
}

impl T {
    fn start() -> T {
        let moto = Moto::start();
        let desk = Desktop::start(DesktopOpts::keyring());
        T { moto, desk }
    }
}

/// One user's sandbox: credentials with the key in two profiles (CRLF, comments, odd order)
/// and an unrelated profile.
struct U {
    sb: Sandbox,
    key: TestKey,
    before: String,
    secrets: Vec<String>,
}

fn credentials(key: &TestKey, other: &TestKey) -> String {
    format!(
        "# my keys -- keep this comment\r\n[default]\r\naws_access_key_id = {id}\r\n; inline note\r\naws_secret_access_key = {s}\r\nregion = us-east-1\r\n\r\n[other]\r\naws_access_key_id = {oid}\r\naws_secret_access_key = {os}\r\n\r\n[work]\r\naws_secret_access_key={s}\r\naws_access_key_id={id}\r\n# trailing comment\r\n",
        id = key.id,
        s = key.secret,
        oid = other.id,
        os = other.secret
    )
}

fn user(t: &T, name: &str) -> U {
    let key = t.moto.create_user(name);
    let other = t.moto.create_user(&format!("{name}-other"));
    let sb = Sandbox::new();
    let before = credentials(&key, &other);
    sb.write_credentials(&before);
    sb.write_config("[default]\r\nregion = us-east-1\r\n");
    U {
        secrets: vec![key.secret.clone(), other.secret.clone()],
        sb,
        key,
        before,
    }
}

fn kg(t: &T, u: &U) -> Command {
    kg_in(t, &u.sb)
}

/// keyage in a sandbox, on the rig's moto and desktop, with the logs and bounds of every test.
fn kg_in(t: &T, sb: &Sandbox) -> Command {
    let mut c = sb.keyage();
    c.moto(&t.moto)
        .desktop(&t.desk)
        .env("RUST_LOG", "trace")
        .env("KEYAGE_VERIFY_TIMEOUT_SECS", "6")
        .env("KEYAGE_LOCK_WAIT_SECS", "1");
    c
}

/// Runs and checks that no known secret (nor the new key's, read from the keyring) leaks.
fn run(t: &T, u: &mut U, args: &[&str]) -> Out {
    let out = kg(t, u).args(args).run();
    let mut secrets = u.secrets.clone();
    for id in key_ids(&u.sb.read(".aws/credentials")) {
        if let Some(s) = t.desk.secret_tool_lookup(&id) {
            secrets.push(s);
        }
    }
    for s in secrets.iter().filter(|s| s.len() >= 16) {
        assert!(
            !out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()),
            "a secret leaked in `keyage {}`",
            args.join(" ")
        );
    }
    u.secrets = secrets;
    out
}

/// (profile, key id, secret) for every section of a credentials text.
fn profile_keys(text: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(String, String, String)> = None;
    for line in text.lines() {
        let l = line.trim_end_matches('\r').trim();
        if let Some(name) = l.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            if let Some(c) = cur.take() {
                out.push(c);
            }
            cur = Some((name.to_string(), String::new(), String::new()));
        } else if let (Some(c), Some((k, v))) = (cur.as_mut(), l.split_once('=')) {
            match k.trim() {
                "aws_access_key_id" => c.1 = v.trim().to_string(),
                "aws_secret_access_key" => c.2 = v.trim().to_string(),
                _ => {}
            }
        }
    }
    out.extend(cur);
    out
}

fn key_ids(text: &str) -> Vec<String> {
    profile_keys(text).into_iter().map(|p| p.1).collect()
}

fn key_of(u: &U, profile: &str) -> (String, String) {
    let p = profile_keys(&u.sb.read(".aws/credentials"))
        .into_iter()
        .find(|p| p.0 == profile)
        .expect("profile in file");
    (p.1, p.2)
}

/// Proves a key works (or not) through the binary: a dry run does STS + ListAccessKeys.
fn key_works(t: &T, id: &str, secret: &str) -> bool {
    let sb = Sandbox::new();
    sb.write_credentials(&format!(
        "[default]\naws_access_key_id = {id}\naws_secret_access_key = {secret}\n"
    ));
    let out = sb
        .keyage()
        .moto(&t.moto)
        .desktop(&t.desk)
        .args(["rotate-self", "--dry-run", "--delete-inactive-spare"])
        .run();
    // A refusal by the plan (two active keys) still means STS and ListAccessKeys accepted it.
    out.code == Some(0) || out.stderr.contains("two active access keys")
}

fn secrets_of_keys_known(t: &T, u: &U) {
    // No orphan: every key of the user has its secret in the files or the keyring.
    let files = profile_keys(&u.sb.read(".aws/credentials"));
    for k in t.moto.admin_keys(&u.key.user) {
        let in_files = files.iter().any(|p| p.1 == k.key_id);
        let in_ring = t.desk.secret_tool_lookup(&k.key_id).is_some();
        assert!(in_files || in_ring, "orphan key {}", k.key_id);
    }
}

fn expected_after(u: &U, new_id: &str, new_secret: &str) -> String {
    u.before
        .replace(&u.key.id, new_id)
        .replace(&u.key.secret, new_secret)
}

fn state_file(u: &U, name: &str) -> String {
    u.sb.read(&format!(".local/state/keyage/{name}"))
}

#[test]
fn rotate_switches_every_profile_and_keeps_the_old_key_recoverable() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "alice");
    let out = run(&t, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(0);
    assert!(
        out.stdout.contains("Rotate key"),
        "plan shown: {}",
        out.stdout
    );
    let (new_id, new_secret) = key_of(&u, "default");
    assert_ne!(new_id, u.key.id);
    assert_eq!(key_of(&u, "work"), (new_id.clone(), new_secret.clone()));
    // Only the two values changed: comments, CRLF and order kept, other profile untouched.
    assert_eq!(
        u.sb.read(".aws/credentials"),
        expected_after(&u, &new_id, &new_secret)
    );
    assert!(key_works(&t, &new_id, &new_secret), "new key passes STS");
    let keys = t.moto.admin_keys("alice");
    let old = keys
        .iter()
        .find(|k| k.key_id == u.key.id)
        .expect("old key kept");
    assert!(!old.active, "old key inactive");
    assert!(!key_works(&t, &u.key.id, &u.key.secret), "old key rejected");
    assert_eq!(
        t.desk.secret_tool_lookup(&u.key.id).as_deref(),
        Some(u.key.secret.as_str())
    );
    assert_eq!(
        t.desk.secret_tool_lookup(&new_id).as_deref(),
        Some(new_secret.as_str())
    );
    // `status` shows the new key ok.
    let st = run(&t, &mut u, &["status", "--json", "--refresh"]);
    let j = st.json();
    let k = j["keys"]
        .as_array()
        .expect("keys[]")
        .iter()
        .find(|k| k["key_id"] == new_id.as_str())
        .unwrap_or_else(|| panic!("no new key in status: {j:#}"));
    assert_eq!(k["level"], "ok", "{k:#}");
    // …and the pending finalize of the old key, in JSON and in the table.
    let pf = j["pending_finalize"]
        .as_array()
        .expect("pending_finalize[]");
    assert_eq!(pf.len(), 1, "{j:#}");
    assert_eq!(pf[0]["old_key_id"], u.key.id.as_str());
    assert_eq!(pf[0]["new_key_id"], new_id.as_str());
    let table = run(&t, &mut u, &["status", "--offline"]);
    assert!(
        table.stdout.contains("pending finalize: old key") && table.stdout.contains(&u.key.id),
        "{}",
        table.stdout
    );
    secrets_of_keys_known(&t, &u);
    // The journal is gone, the pending finalize recorded, without secrets.
    assert_eq!(state_file(&u, "rotation-journal.json"), "");
    let pending = state_file(&u, "pending-finalize.json");
    assert!(pending.contains(&u.key.id), "{pending}");
    assert!(!pending.contains(&u.key.secret) && !pending.contains(&new_secret));

    // A second rotation now meets the inactive spare: refused without the flag.
    let out = run(&t, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(out.stderr.contains("inactive"), "{}", out.stderr);
}

#[test]
fn backout_restores_the_old_key_and_retires_the_new_one() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "bob");
    run(&t, &mut u, &["rotate-self", "--yes"]).expect_code(0);
    let (new_id, new_secret) = key_of(&u, "default");
    let out = run(&t, &mut u, &["backout", "--yes"]);
    out.expect_code(0);
    assert!(out.stdout.contains("Backed out"), "{}", out.stdout);
    assert_eq!(
        u.sb.read(".aws/credentials"),
        u.before,
        "files byte-identical again"
    );
    assert!(key_works(&t, &u.key.id, &u.key.secret));
    let keys = t.moto.admin_keys("bob");
    assert!(!keys.iter().find(|k| k.key_id == new_id).unwrap().active);
    assert_eq!(
        t.desk.secret_tool_lookup(&new_id).as_deref(),
        Some(new_secret.as_str()),
        "the new key's secret stays in the keyring"
    );
    secrets_of_keys_known(&t, &u);
    // Nothing left to back out.
    run(&t, &mut u, &["backout", "--yes"]).expect_code(1);
}

#[test]
fn finalize_deletes_only_after_grace_and_when_unused() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "carol");
    run(
        &t,
        &mut u,
        &["rotate-self", "--yes", "--old-key", "keep-active"],
    )
    .expect_code(0);
    assert!(t.moto.admin_keys("carol").iter().all(|k| k.active));
    // Within the grace period: kept.
    let out = run(&t, &mut u, &["finalize"]);
    out.expect_code(0);
    assert!(out.stdout.contains("grace period ends"), "{}", out.stdout);
    assert_eq!(t.moto.admin_keys("carol").len(), 2);
    // Used after the rotation: kept even with --force.
    t.moto.set_last_used(&u.key.id, Some(0));
    let out = run(&t, &mut u, &["finalize", "--force"]);
    out.expect_code(0);
    assert!(out.stdout.contains("was used"), "{}", out.stdout);
    assert_eq!(t.moto.admin_keys("carol").len(), 2);
    // Unused since (last use before the rotation): --force deletes it and its keyring copy.
    t.moto.set_last_used(&u.key.id, Some(3));
    let out = run(&t, &mut u, &["finalize", "--force"]);
    out.expect_code(0);
    assert!(out.stdout.contains("deleted old key"), "{}", out.stdout);
    let keys = t.moto.admin_keys("carol");
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0].key_id, u.key.id);
    assert_eq!(t.desk.secret_tool_lookup(&u.key.id), None);
    assert_eq!(state_file(&u, "pending-finalize.json"), "");
}

#[test]
fn two_active_keys_refuse_and_an_inactive_spare_needs_consent() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "dave");
    let spare = t.moto.create_key("dave");
    u.secrets.push(spare.secret.clone());
    let out = run(&t, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("two active access keys"),
        "{}",
        out.stderr
    );
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
    t.moto.set_active(&spare.id, false);
    let out = run(&t, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(
        out.stderr.contains("--delete-inactive-spare"),
        "{}",
        out.stderr
    );
    assert_eq!(t.moto.admin_keys("dave").len(), 2);
    run(
        &t,
        &mut u,
        &["rotate-self", "--yes", "--delete-inactive-spare"],
    )
    .expect_code(0);
    let keys = t.moto.admin_keys("dave");
    assert!(keys.iter().all(|k| k.key_id != spare.id), "spare deleted");
    assert_eq!(keys.len(), 2);
}

#[test]
fn no_keyring_refuses_before_any_iam_change() {
    let moto = Moto::start();
    moto.enable_auth();
    let desk = Desktop::start(DesktopOpts::bare());
    let t = T { moto, desk };
    let mut u = user(&t, "erin");
    let out = run(&t, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(out.stderr.contains("keyring"), "{}", out.stderr);
    assert!(out.stderr.contains("fix:"), "{}", out.stderr);
    assert_eq!(t.moto.admin_keys("erin").len(), 1);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
}

#[test]
fn no_terminal_without_yes_refuses_and_dry_run_changes_nothing() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "frank");
    let out = run(&t, &mut u, &["rotate-self"]);
    out.expect_code(1);
    assert!(out.stderr.contains("--yes"), "{}", out.stderr);
    assert!(out.stdout.contains("Rotate key"), "plan printed first");
    let out = run(&t, &mut u, &["rotate-self", "--dry-run"]);
    out.expect_code(0);
    assert!(out.stdout.contains("Dry run"), "{}", out.stdout);
    assert_eq!(t.moto.admin_keys("frank").len(), 1);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
    assert_eq!(state_file(&u, "rotation-journal.json"), "");
}

#[test]
fn delete_disposition_removes_the_old_key() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "gina");
    run(&t, &mut u, &["rotate-self", "--yes", "--old-key", "delete"]).expect_code(0);
    let keys = t.moto.admin_keys("gina");
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0].key_id, u.key.id);
    assert_eq!(t.desk.secret_tool_lookup(&u.key.id), None);
    let out = run(&t, &mut u, &["backout", "--yes"]);
    out.expect_code(1);
}

/// Kill at a step, then `--resume` (one user) and `backout` (another): both end with a
/// working key in the files, no orphan key, no secret lost.
#[cfg(feature = "failpoints")]
fn killed_at(point: &str) {
    let t = T::start();
    t.moto.enable_auth();
    for (i, way) in ["resume", "backout"].iter().enumerate() {
        let mut u = user(&t, &format!("k{i}"));
        let out = kg(&t, &u)
            .env("KEYAGE_FAILPOINT", point)
            .args(["rotate-self", "--yes"])
            .run();
        assert_eq!(out.code, None, "{point}: not killed: {}", out.stderr);
        for s in &u.secrets {
            assert!(!out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()));
        }
        // Every command now reports the interrupted rotation (unless f already removed it).
        let journal = state_file(&u, "rotation-journal.json");
        assert!(
            !journal.contains(&u.key.secret),
            "{point}: secret in the journal"
        );
        if point != "after-create" {
            // (Killed between CreateAccessKey and the keyring write, the new key's secret
            // died with the process; the journal holds its id, the proof that it is this
            // rotation's: resume/backout delete that key, checked below.)
            secrets_of_keys_known(&t, &u);
        }
        if !journal.is_empty() {
            let notice = run(&t, &mut u, &["rotate-self", "--yes"]);
            notice.expect_code(1);
            assert!(notice.stderr.contains("--resume"), "{}", notice.stderr);
        }
        let out = if *way == "resume" {
            run(&t, &mut u, &["rotate-self", "--resume", "--yes"])
        } else {
            run(&t, &mut u, &["backout", "--yes"])
        };
        let finished_before = journal.is_empty();
        if finished_before && *way == "resume" {
            // f finished the rotation before the kill: nothing to resume.
            out.expect_code(1);
        } else {
            out.expect_code(0);
        }
        let (id, secret) = key_of(&u, "default");
        assert_eq!(key_of(&u, "work"), (id.clone(), secret.clone()));
        assert!(
            key_works(&t, &id, &secret),
            "{point}/{way}: the files' key works"
        );
        if *way == "backout" {
            assert_eq!(u.sb.read(".aws/credentials"), u.before, "{point}");
        } else {
            assert_ne!(id, u.key.id, "{point}: resumed to the new key");
            assert!(!key_works(&t, &u.key.id, &u.key.secret));
        }
        let keys = t.moto.admin_keys(&u.key.user);
        assert_eq!(
            keys.iter().filter(|k| k.active).count(),
            1,
            "{point}/{way}: {keys:?}"
        );
        assert_eq!(
            t.desk
                .secret_tool_lookup(&u.key.id)
                .as_deref()
                .or((id == u.key.id).then_some(u.key.secret.as_str())),
            Some(u.key.secret.as_str()),
            "{point}/{way}: old secret kept"
        );
        secrets_of_keys_known(&t, &u);
        assert_eq!(state_file(&u, "rotation-journal.json"), "", "{point}/{way}");
    }
}

#[cfg(feature = "failpoints")]
#[test]
fn killed_after_create_a() {
    killed_at("after-create");
}
#[cfg(feature = "failpoints")]
#[test]
fn killed_after_keyring_new_a() {
    killed_at("after-keyring-new");
}
#[cfg(feature = "failpoints")]
#[test]
fn killed_after_backup_b() {
    killed_at("after-backup");
}
#[cfg(feature = "failpoints")]
#[test]
fn killed_after_write_c() {
    killed_at("after-write");
}
#[cfg(feature = "failpoints")]
#[test]
fn killed_after_verify_d() {
    killed_at("after-verify");
}
#[cfg(feature = "failpoints")]
#[test]
fn killed_after_retire_e() {
    killed_at("after-retire");
}
#[cfg(feature = "failpoints")]
#[test]
fn killed_after_record_f() {
    killed_at("after-record");
}

/// MFA: a session token (GetSessionToken with --token-code) makes the IAM calls. moto's
/// authentication mode does not accept the session credentials it issues, so: with auth on,
/// the rejection at ListAccessKeys proves the session (not the valid long-term key) was used,
/// and nothing changed; with auth off, the whole rotation runs on the session.
#[test]
fn mfa_session_is_used_for_iam_calls() {
    let t = T::start();
    let mut actions: Vec<&str> = support::SELF_SERVICE_ACTIONS.to_vec();
    actions.push("sts:GetSessionToken");
    let key = t.moto.create_user_with("mfa", Some(&actions));
    let other = t.moto.create_user("mfa-other");
    t.moto.enable_auth();
    let sb = Sandbox::new();
    let before = credentials(&key, &other);
    sb.write_credentials(&before);
    sb.write_config(
        "[default]\nregion = us-east-1\nmfa_serial = arn:aws:iam::123456789012:mfa/mfa\n",
    );
    let mut u = U {
        secrets: vec![key.secret.clone(), other.secret.clone()],
        sb,
        key,
        before,
    };
    // No terminal and no --token-code: refused before any IAM change.
    let out = run(&t, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(out.stderr.contains("--token-code"), "{}", out.stderr);
    assert_eq!(t.moto.admin_keys("mfa").len(), 1);
    let out = run(
        &t,
        &mut u,
        &["rotate-self", "--yes", "--token-code", "123456"],
    );
    out.expect_code(1);
    assert!(
        out.stderr
            .contains("ListAccessKeys failed: InvalidClientTokenId"),
        "{}",
        out.stderr
    );
    assert_eq!(t.moto.admin_keys("mfa").len(), 1);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);

    // Without authentication the session creds are accepted: the rotation completes.
    let t2 = T::start();
    let key = t2.moto.create_user("mfa");
    let other = t2.moto.create_user("mfa-other");
    let before = credentials(&key, &other);
    u.sb.write_credentials(&before);
    u.secrets = vec![key.secret.clone(), other.secret.clone()];
    u.key = key;
    u.before = before;
    let out = run(
        &t2,
        &mut u,
        &["rotate-self", "--yes", "--token-code", "123456"],
    );
    out.expect_code(0);
    let (new_id, _) = key_of(&u, "default");
    assert_ne!(new_id, u.key.id);
    assert!(
        !t2.moto
            .admin_keys("mfa")
            .iter()
            .find(|k| k.key_id == u.key.id)
            .unwrap()
            .active
    );
}

// ---------------------------------------------------------------------------------------------
// API faults, injected by a loopback proxy between keyage and moto.

mod proxy {
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Fault {
        /// 400 Throttling (awsQuery error).
        Throttle,
        /// 500 InternalFailure.
        Status500,
        /// Close the connection without an answer.
        Reset,
        /// Forward to moto (the call takes effect), then close without an answer.
        LoseResponse,
    }

    pub struct Rule {
        pub action: &'static str,
        pub fault: Fault,
        pub times: usize,
    }

    /// (action, fault injected or None when forwarded), in order.
    pub type Log = Arc<Mutex<Vec<(String, Option<Fault>)>>>;

    pub struct FaultProxy {
        pub port: u16,
        pub rules: Arc<Mutex<Vec<Rule>>>,
        /// (action, fault injected or None when forwarded)
        pub log: Log,
    }

    impl FaultProxy {
        pub fn start(upstream: u16) -> FaultProxy {
            let l = TcpListener::bind("127.0.0.1:0").expect("proxy bind");
            let port = l.local_addr().unwrap().port();
            let rules: Arc<Mutex<Vec<Rule>>> = Arc::default();
            let log: Log = Arc::default();
            let (r, lg) = (rules.clone(), log.clone());
            std::thread::spawn(move || {
                for c in l.incoming().flatten() {
                    let (r, lg) = (r.clone(), lg.clone());
                    std::thread::spawn(move || {
                        let _ = handle(c, upstream, &r, &lg);
                    });
                }
            });
            FaultProxy { port, rules, log }
        }
        pub fn endpoint(&self) -> String {
            format!("http://127.0.0.1:{}", self.port)
        }
        pub fn set(&self, rules: Vec<Rule>) {
            *self.rules.lock().unwrap() = rules;
        }
        pub fn injected(&self, action: &str) -> usize {
            self.log
                .lock()
                .unwrap()
                .iter()
                .filter(|(a, f)| a == action && f.is_some())
                .count()
        }
    }

    /// Reads one HTTP message (headers + Content-Length body); None at EOF.
    fn read_message(r: &mut impl BufRead) -> std::io::Result<Option<Vec<u8>>> {
        let mut msg = Vec::new();
        let mut len = 0usize;
        loop {
            let mut line = Vec::new();
            if r.read_until(b'\n', &mut line)? == 0 {
                return Ok(None);
            }
            let text = String::from_utf8_lossy(&line).to_ascii_lowercase();
            if let Some(v) = text.strip_prefix("content-length:") {
                len = v.trim().parse().unwrap_or(0);
            }
            msg.extend_from_slice(&line);
            if line == b"\r\n" {
                break;
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        msg.extend_from_slice(&body);
        Ok(Some(msg))
    }

    fn action_of(msg: &[u8]) -> String {
        let s = String::from_utf8_lossy(msg);
        s.split("Action=")
            .nth(1)
            .map(|r| r.split('&').next().unwrap_or("").trim().to_string())
            .unwrap_or_default()
    }

    fn error_response(status: &str, code: &str) -> Vec<u8> {
        let body = format!(
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type><Code>{code}</Code><Message>injected by the test proxy</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
        );
        format!(
            "HTTP/1.1 {status}\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }

    fn forward(msg: &[u8], upstream: u16) -> std::io::Result<Vec<u8>> {
        let mut up = TcpStream::connect(("127.0.0.1", upstream))?;
        up.write_all(msg)?;
        let mut r = BufReader::new(up);
        Ok(read_message(&mut r)?.unwrap_or_default())
    }

    fn handle(
        c: TcpStream,
        upstream: u16,
        rules: &Mutex<Vec<Rule>>,
        log: &Mutex<Vec<(String, Option<Fault>)>>,
    ) -> std::io::Result<()> {
        let mut w = c.try_clone()?;
        let mut r = BufReader::new(c);
        while let Some(msg) = read_message(&mut r)? {
            let action = action_of(&msg);
            let fault = {
                let mut rules = rules.lock().unwrap();
                rules
                    .iter_mut()
                    .find(|x| x.action == action && x.times > 0)
                    .map(|x| {
                        x.times -= 1;
                        x.fault
                    })
            };
            log.lock().unwrap().push((action, fault));
            match fault {
                None => w.write_all(&forward(&msg, upstream)?)?,
                Some(Fault::Throttle) => {
                    w.write_all(&error_response("400 Bad Request", "Throttling"))?
                }
                Some(Fault::Status500) => w.write_all(&error_response(
                    "500 Internal Server Error",
                    "InternalFailure",
                ))?,
                Some(Fault::Reset) => return Ok(()),
                Some(Fault::LoseResponse) => {
                    forward(&msg, upstream)?;
                    return Ok(());
                }
            }
        }
        Ok(())
    }
}

use proxy::{Fault, FaultProxy, Rule};

fn via(t: &T, u: &mut U, p: &FaultProxy, args: &[&str]) -> Out {
    let out = kg(t, u)
        .env("AWS_ENDPOINT_URL", p.endpoint())
        .args(args)
        .run();
    for s in u.secrets.iter().filter(|s| s.len() >= 16) {
        assert!(!out.stdout.contains(s.as_str()) && !out.stderr.contains(s.as_str()));
    }
    out
}

#[test]
fn transient_faults_are_retried() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "flaky");
    let p = FaultProxy::start(t.moto.port());
    p.set(vec![
        Rule {
            action: "GetCallerIdentity",
            fault: Fault::Status500,
            times: 2,
        },
        Rule {
            action: "ListAccessKeys",
            fault: Fault::Throttle,
            times: 2,
        },
        Rule {
            action: "UpdateAccessKey",
            fault: Fault::Reset,
            times: 1,
        },
    ]);
    let out = via(&t, &mut u, &p, &["rotate-self", "--yes"]);
    out.expect_code(0);
    assert_eq!(p.injected("GetCallerIdentity"), 2);
    assert_eq!(p.injected("ListAccessKeys"), 2);
    assert_eq!(p.injected("UpdateAccessKey"), 1);
    let (id, secret) = key_of(&u, "default");
    assert_ne!(id, u.key.id);
    assert!(key_works(&t, &id, &secret));
    assert!(!key_works(&t, &u.key.id, &u.key.secret));
    secrets_of_keys_known(&t, &u);
}

#[test]
fn persistent_5xx_at_step_e_stops_recoverably_then_resumes() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "down");
    let p = FaultProxy::start(t.moto.port());
    p.set(vec![Rule {
        action: "UpdateAccessKey",
        fault: Fault::Status500,
        times: 1000,
    }]);
    let out = via(&t, &mut u, &p, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(out.stderr.contains("step e"), "{}", out.stderr);
    assert!(out.stderr.contains("--resume"), "{}", out.stderr);
    // The files already hold the proven new key: the user is never without a working key.
    let (id, secret) = key_of(&u, "default");
    assert!(key_works(&t, &id, &secret));
    secrets_of_keys_known(&t, &u);
    p.set(vec![]);
    via(&t, &mut u, &p, &["rotate-self", "--resume"]).expect_code(0);
    assert!(!key_works(&t, &u.key.id, &u.key.secret));
    assert_eq!(state_file(&u, "rotation-journal.json"), "");
}

#[test]
fn a_lost_create_response_leaves_no_orphan() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "lost");
    let p = FaultProxy::start(t.moto.port());
    p.set(vec![Rule {
        action: "CreateAccessKey",
        fault: Fault::LoseResponse,
        times: 1,
    }]);
    let out = via(&t, &mut u, &p, &["rotate-self", "--yes"]);
    // Whatever the SDK's retry did, the key made behind the lost response is gone again.
    let keys = t.moto.admin_keys("lost");
    eprintln!(
        "lost create: exit {:?}, CreateAccessKey calls {:?}",
        out.code,
        p.log
            .lock()
            .unwrap()
            .iter()
            .filter(|(a, _)| a == "CreateAccessKey")
            .count()
    );
    if out.code == Some(0) {
        secrets_of_keys_known(&t, &u);
        assert_eq!(keys.len(), 2);
    } else {
        // (Changed by issue #13: the key made behind the lost answer used to be deleted.
        // keyage cannot prove it made it, so it is named and left alone; the user deletes it.)
        assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
        assert_eq!(keys.len(), 2, "{keys:?}");
        let made = keys.iter().find(|k| k.key_id != u.key.id).unwrap();
        assert!(out.stderr.contains(&made.key_id), "{}", out.stderr);
        assert!(out.stderr.contains("delete-access-key"), "{}", out.stderr);
        assert_eq!(u.sb.read(".aws/credentials"), u.before);
        assert_eq!(state_file(&u, "rotation-journal.json"), "");
        t.moto.delete_key(&made.key_id);
        via(&t, &mut u, &p, &["rotate-self", "--yes"]).expect_code(0);
    }
    assert_eq!(p.injected("CreateAccessKey"), 1);
}

#[test]
fn access_denied_names_the_permission_and_changes_nothing() {
    let t = T::start();
    let actions: Vec<&str> = support::SELF_SERVICE_ACTIONS
        .iter()
        .copied()
        .filter(|a| *a != "iam:CreateAccessKey")
        .collect();
    let key = t.moto.create_user_with("denied", Some(&actions));
    let other = t.moto.create_user("denied-other");
    t.moto.enable_auth();
    let sb = Sandbox::new();
    let before = credentials(&key, &other);
    sb.write_credentials(&before);
    let mut u = U {
        secrets: vec![key.secret.clone(), other.secret.clone()],
        sb,
        key,
        before,
    };
    let out = run(&t, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(out.stderr.contains("iam:CreateAccessKey"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was changed"), "{}", out.stderr);
    assert_eq!(t.moto.admin_keys("denied").len(), 1);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
    assert_eq!(state_file(&u, "rotation-journal.json"), "");
}

#[test]
fn a_second_rotation_waits_then_refuses() {
    use fs4::fs_std::FileExt;
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "busy");
    let dir = u.sb.path(".local/state/keyage");
    std::fs::create_dir_all(&dir).unwrap();
    let f = std::fs::File::create(dir.join("rotation.lock")).unwrap();
    assert!(FileExt::try_lock_exclusive(&f).unwrap());
    let started = std::time::Instant::now();
    let out = run(&t, &mut u, &["rotate-self", "--yes"]);
    out.expect_code(1);
    assert!(started.elapsed() >= std::time::Duration::from_millis(900));
    assert!(
        out.stderr.contains("another keyage rotation"),
        "{}",
        out.stderr
    );
    assert_eq!(t.moto.admin_keys("busy").len(), 1);
    drop(f);
    run(&t, &mut u, &["rotate-self", "--yes"]).expect_code(0);
}

// ---------------------------------------------------------------------------------------
// Issue #13: keys keyage did not make, other machines, planted journals, chaos.

/// The AWS CLI from the venv, in the user's sandbox, against moto.
#[cfg(feature = "failpoints")]
fn aws(t: &T, u: &U, args: &[&str]) -> Out {
    u.sb.command(support::venv().join("bin/aws").to_str().unwrap())
        .moto(&t.moto)
        .args(args)
        .args(["--output", "json"])
        .run()
}

/// STS GetCallerIdentity with exactly this key, through the AWS CLI: does IAM accept it?
fn sts_accepts(t: &T, u: &U, id: &str, secret: &str) -> bool {
    let out =
        u.sb.command(support::venv().join("bin/aws").to_str().unwrap())
            .moto(&t.moto)
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .args(["sts", "get-caller-identity", "--output", "json"])
            .run();
    out.code == Some(0)
}

/// A key created for the user elsewhere (the AWS CLI, as another machine or CI would).
#[cfg(feature = "failpoints")]
fn create_elsewhere(t: &T, u: &U) -> String {
    let out = aws(t, u, &["iam", "create-access-key"]);
    out.expect_code(0);
    out.json()["AccessKey"]["AccessKeyId"]
        .as_str()
        .expect("AccessKeyId")
        .to_string()
}

/// Killed before CreateAccessKey; a key made elsewhere meanwhile survives `--resume` and
/// `backout`, and both name it.
#[cfg(feature = "failpoints")]
#[test]
fn a_key_made_elsewhere_during_an_interrupted_rotation_survives() {
    let t = T::start();
    t.moto.enable_auth();
    for (i, way) in ["resume", "backout"].iter().enumerate() {
        let mut u = user(&t, &format!("e{i}"));
        let out = kg(&t, &u)
            .env("KEYAGE_FAILPOINT", "before-create")
            .args(["rotate-self", "--yes"])
            .run();
        assert_eq!(out.code, None, "not killed: {}", out.stderr);
        let other = create_elsewhere(&t, &u);
        let out = if *way == "resume" {
            run(&t, &mut u, &["rotate-self", "--resume", "--yes"])
        } else {
            run(&t, &mut u, &["backout", "--yes"])
        };
        let all = format!("{}{}", out.stdout, out.stderr);
        assert!(all.contains(&other), "{way}: the other key is named: {all}");
        assert!(!all.contains("deleting key"), "{way}: {all}");
        let keys = t.moto.admin_keys(&u.key.user);
        let k = keys.iter().find(|k| k.key_id == other);
        assert!(
            k.is_some_and(|k| k.active),
            "{way}: other key kept active: {keys:?}"
        );
        // The files still hold the old key, which works; nothing else changed.
        assert_eq!(u.sb.read(".aws/credentials"), u.before, "{way}");
        assert!(sts_accepts(&t, &u, &u.key.id, &u.key.secret), "{way}");
        assert_eq!(state_file(&u, "rotation-journal.json"), "", "{way}");
    }
}

/// Two machines (two HOMEs and state folders) holding the same key rotate at once, a few
/// times: neither deletes the other's key; one ends rotated, the other on a clear stop that
/// says the key was rotated elsewhere (its `status` too, when that side got to step a).
#[test]
fn two_machines_rotating_one_key_never_harm_each_other() {
    let moto = Moto::start_slow(15);
    let desk = Desktop::start(DesktopOpts::keyring());
    let t = T { moto, desk };
    // The other machine: its own keyring too.
    let desk_b = Desktop::start(DesktopOpts::keyring());
    t.moto.enable_auth();
    let (mut won, mut stopped_at_a) = (0, 0);
    for round in 0..4 {
        let a = user(&t, &format!("m{round}"));
        let b = U {
            sb: Sandbox::new(),
            key: a.key.clone(),
            before: a.before.clone(),
            secrets: a.secrets.clone(),
        };
        b.sb.write_credentials(&a.before);
        b.sb.write_config("[default]\r\nregion = us-east-1\r\n");
        let outs: Vec<Out> = std::thread::scope(|s| {
            let ha = s.spawn(|| kg(&t, &a).args(["rotate-self", "--yes"]).run());
            let hb = s.spawn(|| {
                kg(&t, &b)
                    .desktop(&desk_b)
                    .args(["rotate-self", "--yes"])
                    .run()
            });
            vec![ha.join().unwrap(), hb.join().unwrap()]
        });
        let keys = t.moto.admin_keys(&a.key.user);
        let sides = [&a, &b];
        let winners: Vec<usize> = (0..2).filter(|&i| outs[i].code == Some(0)).collect();
        assert!(winners.len() <= 1, "round {round}: both rotated: {keys:?}");
        for (i, out) in outs.iter().enumerate() {
            let (id, secret) = key_of(sides[i], "default");
            if out.code == Some(0) {
                won += 1;
                assert_ne!(id, a.key.id);
                assert!(
                    sts_accepts(&t, &a, &id, &secret),
                    "round {round}: winner's key works"
                );
            } else {
                // The loser changed nothing and says why.
                assert_eq!(
                    sides[i].sb.read(".aws/credentials"),
                    a.before,
                    "round {round}"
                );
                assert!(
                    out.stderr.contains("another machine"),
                    "round {round}: the stop names the other rotation: {}",
                    out.stderr
                );
                assert_eq!(state_file(sides[i], "rotation-journal.json"), "");
                if out.stderr.contains("rotated elsewhere")
                    || out.stderr.contains("appeared in IAM")
                {
                    stopped_at_a += 1;
                    let mut c = kg(&t, sides[i]);
                    if i == 1 {
                        c.desktop(&desk_b);
                    }
                    let st = c.args(["status", "--refresh"]).run();
                    assert!(
                        st.stdout.contains("rotated elsewhere"),
                        "round {round}: status on the loser: {}",
                        st.stdout
                    );
                    // …and the prompt (from the segment files status just wrote).
                    let pr = sides[i].sb.keyage().arg("prompt").run();
                    assert!(
                        pr.stdout.contains("rotated elsewhere"),
                        "round {round}: prompt on the loser: {:?}",
                        pr.stdout
                    );
                    // …whichever keys the prompt counts (`_all` too).
                    let pr = sides[i]
                        .sb
                        .keyage()
                        .args(["prompt", "--scope", "all"])
                        .run();
                    assert!(
                        pr.stdout.contains("rotated elsewhere"),
                        "round {round}: prompt --scope all on the loser: {:?}",
                        pr.stdout
                    );
                }
            }
        }
        // Every key is known to one side (no orphan), and a winner's key was never touched.
        for k in &keys {
            let known = k.key_id == a.key.id
                || sides
                    .iter()
                    .any(|s| key_ids(&s.sb.read(".aws/credentials")).contains(&k.key_id))
                || t.desk.secret_tool_lookup(&k.key_id).is_some()
                || desk_b.secret_tool_lookup(&k.key_id).is_some();
            assert!(
                known,
                "round {round}: orphan {}\n--- A\n{}{}\n--- B\n{}{}",
                k.key_id, outs[0].stdout, outs[0].stderr, outs[1].stdout, outs[1].stderr
            );
        }
        assert_eq!(
            keys.iter().filter(|k| k.active).count(),
            1,
            "round {round}: {keys:?}"
        );
    }
    eprintln!("two machines: 4 rounds, {won} rotated, {stopped_at_a} stopped at step a");
    assert!(won >= 1);
}

/// Planted or garbled journals: a clear error naming the file and the fix; nothing changed.
#[cfg(feature = "failpoints")]
#[test]
fn planted_journals_change_nothing() {
    let t = T::start();
    t.moto.enable_auth();
    let mut u = user(&t, "planted");
    let victim = t.moto.create_user("victim");
    // A real journal to plant variants of (killed before any IAM change).
    let out = kg(&t, &u)
        .env("KEYAGE_FAILPOINT", "before-create")
        .args(["rotate-self", "--yes"])
        .run();
    assert_eq!(out.code, None, "{}", out.stderr);
    let real: serde_json::Value =
        serde_json::from_str(&state_file(&u, "rotation-journal.json")).unwrap();
    let path = u.sb.path(".local/state/keyage/rotation-journal.json");
    let mut same = real.clone();
    same["new_key_id"] = real["old_key_id"].clone();
    same["state"] = "written".into();
    let mut other_user = real.clone();
    other_user["user"] = "victim".into();
    other_user["arn"] = "arn:aws:iam::123456789012:user/victim".into();
    other_user["new_key_id"] = victim.id.clone().into();
    other_user["state"] = "written".into();
    let cases: Vec<(&str, Option<String>)> = vec![
        ("new == old", Some(same.to_string())),
        ("another user", Some(other_user.to_string())),
        ("garbage", Some("{\"version\": 1, \"id\": [".to_string())),
        ("a directory", None),
    ];
    for (what, text) in cases {
        let _ = std::fs::remove_file(&path);
        let _ = std::fs::remove_dir_all(&path);
        match &text {
            Some(t) => std::fs::write(&path, t).unwrap(),
            None => std::fs::create_dir(&path).unwrap(),
        }
        let before_keys = |who: &str| {
            let mut v: Vec<(String, bool)> = t
                .moto
                .admin_keys(who)
                .into_iter()
                .map(|k| (k.key_id, k.active))
                .collect();
            v.sort();
            v
        };
        let (mine, theirs) = (before_keys("planted"), before_keys("victim"));
        for args in [
            &["rotate-self", "--resume", "--yes"][..],
            &["backout", "--yes"][..],
        ] {
            let out = run(&t, &mut u, args);
            assert_ne!(out.code, Some(0), "{what}/{args:?}: {}", out.stdout);
            assert!(
                out.stderr.contains("rotation-journal.json"),
                "{what}/{args:?}: names the file: {}",
                out.stderr
            );
            assert_eq!(before_keys("planted"), mine, "{what}/{args:?}");
            assert_eq!(before_keys("victim"), theirs, "{what}/{args:?}");
            assert_eq!(u.sb.read(".aws/credentials"), u.before, "{what}/{args:?}");
        }
    }
}

/// Chaos on the keyring rig (see tests/support/chaos.rs; figures in docs/rotation.md).
#[test]
fn chaos_kill_9_at_random_moments_always_recovers() {
    let moto = Moto::start_slow(10);
    let desk = Desktop::start(DesktopOpts::keyring());
    let t = T { moto, desk };
    t.moto.enable_auth();
    let user = |i: usize| {
        let u = user(&t, &format!("c{i}"));
        (u.sb, u.key)
    };
    let keyage = |sb: &Sandbox| kg_in(&t, sb);
    let stored = |_: &Sandbox, id: &str| t.desk.secret_tool_lookup(id).is_some();
    support::chaos::run(
        &support::chaos::Rig {
            moto: &t.moto,
            user: &user,
            keyage: &keyage,
            stored: &stored,
        },
        30,
    );
}
