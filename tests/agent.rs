//! `keyage agent` end to end, through the binary: moto for IAM, a real dunst on a private bus
//! read back with dbus-monitor (the rig's Desktop), an isolated HOME (the rig's Sandbox).

mod support;

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::thread::sleep;
use std::time::{Duration, Instant};

use support::{no_full_key, Desktop, DesktopOpts, KeyageCommand, Moto, Proc, Sandbox, TestKey};

fn log_path(s: &Sandbox) -> PathBuf {
    s.path(".local/state/keyage/agent.log")
}

fn log(s: &Sandbox) -> String {
    std::fs::read_to_string(log_path(s)).unwrap_or_default()
}

fn count(s: &Sandbox, needle: &str) -> usize {
    log(s).lines().filter(|l| l.contains(needle)).count()
}

/// Waits until the log has at least `n` lines containing `needle`.
fn wait_log(s: &Sandbox, needle: &str, n: usize, timeout: Duration) {
    let end = Instant::now() + timeout;
    while count(s, needle) < n {
        assert!(
            Instant::now() < end,
            "timed out waiting for {n}× {needle:?} in the agent log:\n{}",
            log(s)
        );
        sleep(Duration::from_millis(25));
    }
}

/// A user with one key in profile `work`, `days` old, used yesterday.
fn setup(m: &Moto, s: &Sandbox, days: u32) -> TestKey {
    let k = m.create_user("dev");
    m.make_old(&k.id, days);
    m.set_last_used(&k.id, Some(1));
    s.write_credentials(&k.credentials_section("work"));
    s.write_config("");
    k
}

fn once(s: &Sandbox, m: &Moto, d: &Desktop) {
    s.keyage()
        .moto(m)
        .desktop(d)
        .args(["agent", "--once"])
        .run()
        .expect_code(0);
}

fn spawn(s: &Sandbox, cmd: &mut Command) -> Proc {
    let _ = s;
    cmd.arg("agent").stdout(Stdio::null()).stderr(Stdio::null());
    Proc::spawn("agent", cmd)
}

#[test]
fn warn_once_then_nothing_then_expired_once() {
    let m = Moto::start();
    let d = Desktop::start(DesktopOpts::notifications());
    let s = Sandbox::new();
    let k = setup(&m, &s, 80);

    once(&s, &m, &d);
    let n = d.wait_notifications(1, Duration::from_secs(5));
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].app, "keyage");
    assert_eq!(n[0].summary, "AWS key of profile work is 80 days old");
    let masked = format!("{}…{}", &k.id[..4], &k.id[k.id.len() - 4..]);
    assert_eq!(
        n[0].body,
        format!("Key {masked} reaches the 90-day limit soon (in 10 days). Rotate it: keyage rotate-self --profile work")
    );
    assert_eq!(n[0].urgency, Some(1));

    // The next cycle says nothing.
    once(&s, &m, &d);
    sleep(Duration::from_millis(500));
    assert_eq!(d.notifications().len(), 1, "{:?}", d.notifications());

    // Crossing into expired says one more.
    m.make_old(&k.id, 100);
    once(&s, &m, &d);
    let n = d.wait_notifications(2, Duration::from_secs(5));
    assert_eq!(n.len(), 2, "{n:?}");
    assert_eq!(
        n[1].summary,
        "AWS key of profile work has expired: 100 days old"
    );
    assert!(
        n[1].body.contains("keyage rotate-self --profile work"),
        "{}",
        n[1].body
    );
    assert_eq!(n[1].urgency, Some(2));
    once(&s, &m, &d);
    sleep(Duration::from_millis(500));
    assert_eq!(d.notifications().len(), 2);

    // Nothing secret anywhere the agent writes.
    for x in &n {
        no_full_key(&x.summary, &k);
        no_full_key(&x.body, &k);
    }
    assert!(!log(&s).contains(&k.secret));
    let memory = s.read(".local/state/keyage/agent-notes.json");
    assert!(
        !memory.contains(&k.secret) && memory.contains("expired"),
        "{memory}"
    );
    // The prompt segment is kept current.
    assert_eq!(s.read(".local/state/keyage/prompt/work"), "key 100d!\n");
}

#[test]
fn restart_does_not_repeat_and_sigterm_exits_cleanly() {
    let m = Moto::start();
    let d = Desktop::start(DesktopOpts::notifications());
    let s = Sandbox::new();
    setup(&m, &s, 80);

    let mut a = spawn(&s, s.keyage().moto(&m).desktop(&d));
    wait_log(&s, "cycle done", 1, Duration::from_secs(30));
    assert_eq!(d.wait_notifications(1, Duration::from_secs(5)).len(), 1);
    // Killed hard (no chance to say goodbye), then started again.
    a.signal(libc::SIGKILL);
    assert!(a.wait_timeout(Duration::from_secs(5)).is_some());
    drop(a);

    let mut a = spawn(&s, s.keyage().moto(&m).desktop(&d));
    wait_log(&s, "cycle done", 2, Duration::from_secs(30));
    sleep(Duration::from_millis(500));
    assert_eq!(d.notifications().len(), 1, "{:?}", d.notifications());
    assert!(a.alive());

    a.signal(libc::SIGTERM);
    let st = a
        .wait_timeout(Duration::from_secs(5))
        .expect("agent stops on SIGTERM");
    assert_eq!(st.code(), Some(0), "{st:?}");
    let l = log(&s);
    assert!(
        l.contains("SIGTERM: stopping") && l.contains("agent stopped"),
        "{l}"
    );
}

#[test]
fn editing_the_credentials_file_refreshes_within_2s() {
    let m = Moto::start();
    let d = Desktop::start(DesktopOpts::notifications());
    let s = Sandbox::new();
    let fresh = m.create_user("dev");
    m.set_last_used(&fresh.id, Some(1));
    s.write_credentials(&fresh.credentials_section("default"));
    s.write_config("");

    let mut a = spawn(&s, s.keyage().moto(&m).desktop(&d));
    wait_log(&s, "cycle done", 1, Duration::from_secs(30));
    assert!(d.notifications().is_empty());

    // An editor-style save (temp file renamed over) adding an 80-day-old key.
    let old = m.create_user("ops");
    m.make_old(&old.id, 80);
    m.set_last_used(&old.id, Some(1));
    let text = format!(
        "{}\n{}",
        fresh.credentials_section("default"),
        old.credentials_section("ops")
    );
    let tmp = s.path(".aws/.credentials.swp");
    std::fs::write(&tmp, text).unwrap();
    let t0 = Instant::now();
    std::fs::rename(&tmp, s.credentials_path()).unwrap();
    wait_log(
        &s,
        "refreshing (a watched file changed)",
        1,
        Duration::from_secs(2),
    );
    let seen = t0.elapsed();
    assert!(seen < Duration::from_secs(2), "{seen:?}");
    let n = d.wait_notifications(1, Duration::from_secs(20));
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].summary, "AWS key of profile ops is 80 days old");

    // A change to keyage's own config counts too.
    std::fs::create_dir_all(s.path(".config/keyage")).unwrap();
    std::fs::write(
        s.path(".config/keyage/config.toml"),
        "max_age_days = 70\nwarn_at_days = [60]\n",
    )
    .unwrap();
    wait_log(
        &s,
        "refreshing (a watched file changed)",
        2,
        Duration::from_secs(2),
    );
    let n = d.wait_notifications(2, Duration::from_secs(20));
    assert_eq!(n.len(), 2, "{n:?}");
    assert_eq!(
        n[1].summary,
        "AWS key of profile ops has expired: 80 days old"
    );
    assert!(a.alive());
}

#[test]
fn no_notification_server_logs_one_warning_and_keeps_running() {
    let m = Moto::start();
    let d = Desktop::start(DesktopOpts::bare());
    let s = Sandbox::new();
    let k = setup(&m, &s, 100);

    let mut a = spawn(&s, s.keyage().moto(&m).desktop(&d));
    wait_log(&s, "cycle done", 1, Duration::from_secs(30));
    // Another cycle (a file change) meets the same missing server.
    s.write_credentials(&format!("# touched\n{}", k.credentials_section("work")));
    wait_log(&s, "cycle done", 2, Duration::from_secs(30));
    assert!(a.alive(), "{}", log(&s));
    let l = log(&s);
    assert_eq!(
        l.lines().filter(|x| x.contains("WARN")).count(),
        1,
        "exactly one warning expected:\n{l}"
    );
    assert!(l.contains("cannot show desktop notifications"), "{l}");
    // Nothing was shown, so nothing is remembered as said.
    let memory = s.read(".local/state/keyage/agent-notes.json");
    assert!(!memory.contains(&k.id), "{memory}");
    a.signal(libc::SIGTERM);
    assert_eq!(
        a.wait_timeout(Duration::from_secs(5))
            .and_then(|s| s.code()),
        Some(0)
    );
}

#[test]
fn network_down_backs_off_quietly() {
    let d = Desktop::start(DesktopOpts::notifications());
    let s = Sandbox::new();
    s.write_credentials(
        "[work]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n",
    );
    s.write_config("");
    let mut a = spawn(
        &s,
        s.keyage().endpoint(&support::dead_endpoint()).desktop(&d),
    );
    wait_log(&s, "cycle done", 1, Duration::from_secs(60));
    let l = log(&s);
    assert!(l.contains("IAM is unreachable"), "{l}");
    assert!(!l.contains("WARN") && !l.contains("ERROR"), "{l}");
    assert!(!l.contains("wJalrXUtnFEMI"), "{l}");
    assert!(a.alive());
    sleep(Duration::from_millis(300));
    assert!(d.notifications().is_empty());
    a.signal(libc::SIGINT);
    assert_eq!(
        a.wait_timeout(Duration::from_secs(5))
            .and_then(|s| s.code()),
        Some(0)
    );
    assert!(log(&s).contains("SIGINT: stopping"));
}

#[test]
fn one_agent_at_a_time() {
    let d = Desktop::start(DesktopOpts::bare());
    let s = Sandbox::new();
    let mut a = spawn(
        &s,
        s.keyage().endpoint(&support::dead_endpoint()).desktop(&d),
    );
    wait_log(&s, "cycle done", 1, Duration::from_secs(30));
    let out = s.keyage().args(["agent", "--once"]).run();
    out.expect_code(0);
    assert!(
        out.stderr.contains("another agent is already running"),
        "{}",
        out.stderr
    );
    assert!(a.alive());
}

/// The grace period of every pending finalize passes (its deadline moved into the past in
/// keyage's own pending list).
fn grace_passed(s: &Sandbox) {
    let pending = s.path(".local/state/keyage/pending-finalize.json");
    let text = std::fs::read_to_string(&pending).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    fn past(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(o) => {
                for (k, x) in o.iter_mut() {
                    if k == "deadline" {
                        *x = serde_json::Value::String("2000-01-01T00:00:00Z".into());
                    } else {
                        past(x);
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(past),
            _ => {}
        }
    }
    past(&mut v);
    std::fs::write(&pending, serde_json::to_string(&v).unwrap()).unwrap();
}

/// `auto_finalize` on an old key someone already deleted in IAM: the notification says it was
/// already gone (not that keyage deleted it); the keyring copy and the pending entry go, the
/// new key stays.
#[test]
fn auto_finalize_of_an_old_key_deleted_elsewhere_says_so() {
    let m = Moto::start();
    let d = Desktop::start(DesktopOpts::full());
    let s = Sandbox::new();
    let k = setup(&m, &s, 80);
    m.enable_auth();
    std::fs::create_dir_all(s.path(".config/keyage")).unwrap();
    let cfg = s.path(".config/keyage/config.toml");
    std::fs::write(&cfg, "[agent]\nauto_rotate = true\n").unwrap();
    once(&s, &m, &d);
    assert_eq!(
        d.wait_notifications(1, Duration::from_secs(10)).len(),
        1,
        "{}",
        log(&s)
    );
    grace_passed(&s);
    m.delete_key(&k.id);
    std::fs::write(&cfg, "[agent]\nauto_rotate = true\nauto_finalize = true\n").unwrap();
    once(&s, &m, &d);
    let n = d.wait_notifications(2, Duration::from_secs(10));
    assert_eq!(n.len(), 2, "{n:?}\n{}", log(&s));
    assert_eq!(
        n[1].summary,
        "The old AWS key of profile work was already deleted"
    );
    assert!(
        n[1].body.contains("already been deleted in IAM"),
        "{}",
        n[1].body
    );
    no_full_key(&n[1].body, &k);
    let keys = m.admin_keys("dev");
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0].key_id, k.id);
    assert_eq!(
        d.secret_tool_lookup(&k.id),
        None,
        "the old key's keyring copy is gone"
    );
    assert!(!s
        .read(".local/state/keyage/pending-finalize.json")
        .contains(&k.id));
    assert!(!log(&s).contains(&k.secret));
}

/// Opt-in automation: `auto_rotate` rotates a key entering warn and says so; a passed grace
/// period is a reminder; `auto_finalize` then deletes the unused old key and says so.
#[test]
fn auto_rotate_finalize_reminder_and_auto_finalize() {
    let m = Moto::start();
    let d = Desktop::start(DesktopOpts::full());
    let s = Sandbox::new();
    let k = setup(&m, &s, 80);
    m.enable_auth();
    std::fs::create_dir_all(s.path(".config/keyage")).unwrap();
    let cfg = s.path(".config/keyage/config.toml");
    std::fs::write(&cfg, "[agent]\nauto_rotate = true\n").unwrap();

    once(&s, &m, &d);
    let n = d.wait_notifications(1, Duration::from_secs(10));
    assert_eq!(n.len(), 1, "{n:?}\n{}", log(&s));
    assert_eq!(n[0].summary, "Rotated the AWS key of profile work");
    assert!(
        n[0].body.contains("keyage finalize --profile work"),
        "{}",
        n[0].body
    );
    let creds = s.read(".aws/credentials");
    assert!(!creds.contains(&k.id), "the files hold the new key");
    let keys = m.admin_keys("dev");
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|x| x.key_id == k.id && !x.active));

    grace_passed(&s);
    m.set_last_used(&k.id, Some(3));

    once(&s, &m, &d);
    let n = d.wait_notifications(2, Duration::from_secs(10));
    assert_eq!(n.len(), 2, "{n:?}\n{}", log(&s));
    assert_eq!(n[1].summary, "Old AWS key of profile work can be deleted");
    assert!(
        n[1].body.contains("keyage finalize --profile work"),
        "{}",
        n[1].body
    );
    assert_eq!(m.admin_keys("dev").len(), 2, "reminding deletes nothing");

    std::fs::write(&cfg, "[agent]\nauto_rotate = true\nauto_finalize = true\n").unwrap();
    once(&s, &m, &d);
    let n = d.wait_notifications(3, Duration::from_secs(10));
    assert_eq!(n.len(), 3, "{n:?}\n{}", log(&s));
    assert_eq!(n[2].summary, "Deleted the old AWS key of profile work");
    let keys = m.admin_keys("dev");
    assert_eq!(keys.len(), 1);
    assert_ne!(keys[0].key_id, k.id);
    for x in &n {
        no_full_key(&x.body, &k);
    }
    assert!(!log(&s).contains(&k.secret));
}

/// A malformed config: `--once` fails like any command (file, line, fix; exit 1); the
/// long-running agent logs it, keeps running, and recovers when the file is fixed.
#[test]
fn bad_config_is_reported_and_survived() {
    let m = Moto::start();
    let d = Desktop::start(DesktopOpts::notifications());
    let s = Sandbox::new();
    setup(&m, &s, 80);
    std::fs::create_dir_all(s.path(".config/keyage")).unwrap();
    let cfg = s.path(".config/keyage/config.toml");
    std::fs::write(&cfg, "# mine\nmax_age_days = -3\n").unwrap();

    let out = s
        .keyage()
        .moto(&m)
        .desktop(&d)
        .args(["agent", "--once"])
        .run();
    out.expect_code(1);
    assert!(out.stderr.contains("config.toml:2:"), "{}", out.stderr);

    let mut a = spawn(&s, s.keyage().moto(&m).desktop(&d));
    wait_log(&s, "cycle done", 2, Duration::from_secs(30));
    assert!(a.alive());
    assert!(log(&s).contains("config.toml:2:"), "{}", log(&s));
    assert!(d.notifications().is_empty());
    std::fs::write(&cfg, "max_age_days = 90\n").unwrap();
    assert_eq!(
        d.wait_notifications(1, Duration::from_secs(20)).len(),
        1,
        "{}",
        log(&s)
    );
}
