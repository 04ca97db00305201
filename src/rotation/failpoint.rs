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

pub const ALL: &[&str] = &[
    "before-create",
    "after-create",
    "after-keyring-new",
    "after-backup",
    "after-write",
    "after-verify",
    "after-retire",
    "after-record",
];

#[inline]
pub fn hit(name: &str) {
    #[cfg(feature = "failpoints")]
    if std::env::var("KEYAGE_FAILPOINT").ok().as_deref() == Some(name) {
        eprintln!("keyage: failpoint {name}: aborting");
        std::process::abort();
    }
    #[cfg(not(feature = "failpoints"))]
    let _ = name;
}
