//! Test-only crash points. With the `failpoints` cargo feature, `KEYAGE_FAILPOINT=<name>` makes
//! the process abort (no destructors, no flushing, like a SIGKILL) right after the side effect
//! of the named step and before the journal records it: the worst moment for a resume.
//! Without the feature, `hit` compiles to nothing and the variable is ignored.
//!
//! Names: `before-create` (a: the journal says creating, CreateAccessKey not sent yet),
//! `after-create` (a: the key exists and the journal holds its id; its secret is only in
//! memory), `after-keyring-new`
//! (a: secret in the keyring, journal not updated), `after-backup` (b), `after-write` (c),
//! `after-verify` (d), `after-retire` (e), `after-record` (f).
//!
//! `KEYAGE_FAILPOINT_PAUSE=<name>[,<name>…]` with `KEYAGE_FAILPOINT_PAUSE_FILE=<path>` pauses
//! instead: at each named point keyage creates `<path>.<name>` and waits (up to 60 s) until
//! the test removes it, so a test can act (e.g. write the credentials file as another program
//! would) at an exact moment. Extra pause-only points: `before-write` (c, before the files
//! are read), `before-retire` (e, before the files are checked and the old key retired).

#[inline]
pub fn hit(name: &str) {
    #[cfg(feature = "failpoints")]
    if std::env::var("KEYAGE_FAILPOINT").ok().as_deref() == Some(name) {
        eprintln!("keyage: failpoint {name}: aborting");
        std::process::abort();
    }
    #[cfg(feature = "failpoints")]
    pause(name);
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}

#[cfg(feature = "failpoints")]
fn pause(name: &str) {
    let Ok(names) = std::env::var("KEYAGE_FAILPOINT_PAUSE") else {
        return;
    };
    if !names.split(',').any(|n| n == name) {
        return;
    }
    let Ok(base) = std::env::var("KEYAGE_FAILPOINT_PAUSE_FILE") else {
        return;
    };
    let flag = std::path::PathBuf::from(format!("{base}.{name}"));
    if std::fs::write(&flag, name).is_err() {
        return;
    }
    let start = std::time::Instant::now();
    while flag.exists() && start.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}
