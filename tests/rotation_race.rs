//! #13.2: another program writes the credentials file while keyage rotates (a writer that
//! truncates it for 30 ms, a read-modify-write tool that writes its stale copy back). keyage
//! must never say "Rotated" with exit 0 while the files hold the old key, must never retire the
//! old key while the files hold it, and `--resume` must finish. Through the binary, against
//! moto in authentication mode (an inactive key is refused) and a real gnome-keyring.
//!
//! The exact-moment tests pause keyage at a failpoint (`KEYAGE_FAILPOINT_PAUSE`, the
//! `failpoints` feature); the background-writer test needs no feature.

mod support;

use std::time::Duration;

use support::rotating::{start, Rig as T, User as U};
use support::{KeyageCommand, Out};

/// The invariant: "Rotated" with exit 0 only when the files hold a new, active key; a stop is
/// exit 1 with the old key still active and nothing retired while the files hold it.
fn check_invariant(t: &T, u: &U, out: &Out) -> bool {
    let held = u.files_key();
    if out.code == Some(0) {
        assert!(out.stdout.contains("Rotated"), "{}", out.stdout);
        assert_ne!(held, u.key.id, "Rotated, but the files hold the old key");
        assert!(t.active(u, &held), "the files' key {held} is not active");
        true
    } else {
        assert!(
            matches!(out.code, Some(1) | Some(2)),
            "{}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(!out.stdout.contains("Rotated"), "{}", out.stdout);
        if held == u.key.id || held.is_empty() {
            assert!(t.active(u, &u.key.id), "old key retired: {}", out.stderr);
        }
        false
    }
}

/// After a stop: `--resume` finishes, the files hold the new key (nothing else changed), it
/// works, the old key is inactive, the summary names the file.
fn resume_finishes(t: &T, u: &U) {
    let out = t.kg(u).args(["rotate-self", "--resume", "--yes"]).run();
    out.expect_code(0);
    let new_id = u.files_key();
    assert_ne!(new_id, u.key.id);
    assert!(t.active(u, &new_id));
    assert!(!t.active(u, &u.key.id), "old key inactive after resume");
    assert!(
        out.stdout.contains("changed ") && out.stdout.contains(".aws/credentials"),
        "{}",
        out.stdout
    );
    let text = u.sb.read(".aws/credentials");
    assert!(
        text.starts_with("# keep me\n") && !text.contains(&u.key.id),
        "{text}"
    );
    assert_eq!(u.state("rotation-journal.json"), "", "journal gone");
}

/// Runs `rotate-self --yes` paused at `points` in turn; `act(point)` runs at each pause.
#[cfg(feature = "failpoints")]
fn paused(t: &T, u: &U, points: &[&str], mut act: impl FnMut(&str)) -> Out {
    let base = u.sb.root().join("pause");
    let mut c = t.kg(u);
    c.env("KEYAGE_FAILPOINT_PAUSE", points.join(","))
        .env("KEYAGE_FAILPOINT_PAUSE_FILE", &base)
        .args(["rotate-self", "--yes"]);
    let h = std::thread::spawn(move || c.run());
    for p in points {
        let flag = base.with_file_name(format!("pause.{p}"));
        let end = std::time::Instant::now() + Duration::from_secs(60);
        while !flag.exists() && !h.is_finished() && std::time::Instant::now() < end {
            std::thread::sleep(Duration::from_millis(5));
        }
        if flag.exists() {
            act(p);
            std::fs::remove_file(&flag).expect("release the pause");
        }
    }
    h.join().expect("keyage thread")
}

/// A read-modify-write tool's late write: its copy from before keyage's write.
#[cfg(feature = "failpoints")]
fn write_back(path: &std::path::Path, stale: &str) {
    std::fs::write(path, stale).expect("stale write");
}

#[cfg(feature = "failpoints")]
#[test]
fn a_stale_write_after_step_c_stops_before_retiring_and_resume_finishes() {
    let t = start();
    let u = t.user("rmw-c");
    let out = paused(&t, &u, &["after-write"], |_| {
        write_back(&u.sb.credentials_path(), &u.before)
    });
    assert!(!check_invariant(&t, &u, &out), "must stop");
    assert!(
        out.stderr.contains("after step c") && out.stderr.contains("do not hold the new key"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("--resume"), "{}", out.stderr);
    assert_eq!(u.sb.read(".aws/credentials"), u.before);
    assert!(u.state("rotation-journal.json").contains("\"writing\""));
    resume_finishes(&t, &u);
}

#[cfg(feature = "failpoints")]
#[test]
fn a_truncating_writer_during_step_c_never_ends_rotated_on_the_old_key() {
    let t = start();
    let u = t.user("trunc-c");
    let path = u.sb.credentials_path();
    // Truncate for 30 ms while keyage reads and writes, then put the old bytes back.
    let mut writer = None;
    let out = paused(&t, &u, &["before-write"], |_| {
        std::fs::write(&path, "").unwrap();
        let (p, b) = (path.clone(), u.before.clone());
        writer = Some(std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            write_back(&p, &b);
        }));
    });
    if let Some(w) = writer.take() {
        w.join().unwrap();
    }
    if !check_invariant(&t, &u, &out) {
        assert!(
            out.stderr.contains("do not hold the new key"),
            "{}",
            out.stderr
        );
        resume_finishes(&t, &u);
    }
}

#[cfg(feature = "failpoints")]
#[test]
fn a_stale_write_right_before_step_e_keeps_the_old_key_active() {
    let t = start();
    let u = t.user("rmw-e");
    let out = paused(&t, &u, &["before-retire"], |_| {
        write_back(&u.sb.credentials_path(), &u.before)
    });
    assert!(!check_invariant(&t, &u, &out), "must stop");
    assert!(out.stderr.contains("right before step e"), "{}", out.stderr);
    assert!(t.active(&u, &u.key.id));
    resume_finishes(&t, &u);
}

#[cfg(feature = "failpoints")]
#[test]
fn a_stale_write_during_step_e_puts_the_old_key_back_to_work() {
    let t = start();
    let u = t.user("rmw-e2");
    let out = paused(&t, &u, &["after-retire"], |_| {
        write_back(&u.sb.credentials_path(), &u.before)
    });
    assert!(!check_invariant(&t, &u, &out), "must stop");
    assert!(out.stderr.contains("right after step e"), "{}", out.stderr);
    assert!(out.stderr.contains("active again"), "{}", out.stderr);
    assert!(t.active(&u, &u.key.id), "the files' (old) key works again");
    resume_finishes(&t, &u);
}

/// A real background writer, no failpoint: a read-modify-write loop (read, 0–30 ms, write the
/// copy back in place, which truncates first) runs during each rotation.
#[test]
fn a_background_read_modify_write_loop_never_ends_rotated_on_the_old_key() {
    let t = start();
    let mut rotated = 0;
    let mut stopped = 0;
    for i in 0..6 {
        let u = t.user(&format!("loop{i}"));
        let path = u.sb.credentials_path();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, s) = (path.clone(), stop.clone());
        let w = std::thread::spawn(move || {
            let mut n = 0u64;
            while !s.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(copy) = std::fs::read(&p) {
                    std::thread::sleep(Duration::from_millis(n % 31));
                    let _ = std::fs::write(&p, &copy);
                }
                n += 7;
            }
        });
        let out = t.kg(&u).args(["rotate-self", "--yes"]).run();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        w.join().unwrap();
        if check_invariant(&t, &u, &out) {
            rotated += 1;
        } else {
            stopped += 1;
            if !u.state("rotation-journal.json").is_empty() {
                resume_finishes(&t, &u);
            }
        }
    }
    eprintln!("background writer: {rotated} rotated, {stopped} stopped then resumed");
}
