//! The keyring backup: one entry per access key id under service `keyage`.
//!
//! CONTRACT: `SecretStore` is the narrow trait the rotation uses; `Keyring` is the OS keyring
//! (Secret Service on Linux via the keyring crate's pure-Rust zbus backend, Keychain on macOS,
//! Credential Manager on Windows). A product build never uses the keyring crate's mock store:
//! on Linux the Secret Service credential is built explicitly (no default-builder lookup), the
//! other platforms check that the default builder persists, and any other target fails to
//! compile.
//!
//! Threading: the keyring crate's Secret Service backend drives zbus with its own `block_on`,
//! which deadlocks or panics when called on a thread that is running an async runtime. Every
//! `Keyring` call therefore runs on a short-lived thread of its own and is waited for with a
//! bound (`Keyring::timeout`, 10 s by default: a keyring waiting for an unlock prompt must not
//! hang keyage). The methods are blocking; async callers should still call them through
//! `tokio::task::spawn_blocking` so that they do not stall a runtime worker while waiting.
//!
//! Entries: service `keyage`, user = the access key id (Secret Service attributes
//! `service=keyage username=<id> target=default application=rust-keyring`, so
//! `secret-tool lookup service keyage username AKIA…` finds them).

use std::time::Duration;

use crate::error::{Error, Kind, Result};
use crate::secret::{secret, ExposeSecret, SecretKey};
use crate::store::StoreKind;

#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
compile_error!(
    "keyage needs an OS keyring: Linux (Secret Service), macOS (Keychain) or Windows (Credential Manager)"
);

/// The keyring service name every entry is stored under.
pub(crate) const SERVICE: &str = "keyage";

pub use crate::store::SecretStore;

/// The OS keyring.
#[derive(Debug, Clone)]
pub struct Keyring {
    /// How long one keyring call may take before keyage gives up on it.
    pub timeout: Duration,
    /// The keyring service the entries live under: [`SERVICE`] for the rotation's backout
    /// copies, [`PROTECTED_SERVICE`] for keys `keyage protect` serves.
    pub service: &'static str,
}

/// The keyring service of the keys `keyage protect` took out of the files (user = key id).
pub(crate) const PROTECTED_SERVICE: &str = "keyage-protected";

impl Default for Keyring {
    fn default() -> Self {
        Keyring {
            timeout: Duration::from_secs(10),
            service: SERVICE,
        }
    }
}

/// Which backend this build uses (for doctor and error messages).
pub(crate) fn backend_name() -> &'static str {
    if cfg!(target_os = "linux") {
        "Secret Service"
    } else if cfg!(target_os = "macos") {
        "macOS Keychain"
    } else {
        "Windows Credential Manager"
    }
}

#[cfg(target_os = "linux")]
fn entry(service: &str, user: &str) -> keyring::Result<keyring::Entry> {
    let cred = keyring::secret_service::SsCredential::new_with_target(None, service, user)?;
    Ok(keyring::Entry::new_with_credential(Box::new(cred)))
}

#[cfg(not(target_os = "linux"))]
fn entry(service: &str, user: &str) -> keyring::Result<keyring::Entry> {
    if !default_builder_persists() {
        return Err(keyring::Error::NoStorageAccess(
            "this build has no OS keyring backend (the keyring crate fell back to its mock store)"
                .into(),
        ));
    }
    keyring::Entry::new(service, user)
}

/// True when the keyring crate's default store keeps secrets beyond this process (i.e. it is
/// not the mock store).
#[cfg(any(test, not(target_os = "linux")))]
pub(crate) fn default_builder_persists() -> bool {
    use keyring::credential::CredentialPersistence;
    !matches!(
        keyring::default::default_credential_builder().persistence(),
        CredentialPersistence::EntryOnly | CredentialPersistence::ProcessOnly
    )
}

impl Keyring {
    pub fn new() -> Self {
        Self::default()
    }

    /// A read-only check that the keyring answers: looks up an entry that does not exist
    /// (writes nothing). Used by `[store] backend = "auto"` and `status`.
    pub(crate) fn ping(&self) -> Result<()> {
        let service = self.service;
        self.bounded("look up an entry", move || {
            match entry(service, "keyage-ping").and_then(|e| e.get_password()) {
                Ok(_) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(keyring_error(e, "look up", "a probe entry")),
            }
        })
    }

    /// The entries of protected keys (service [`PROTECTED_SERVICE`]).
    pub(crate) fn protected() -> Self {
        Keyring {
            service: PROTECTED_SERVICE,
            ..Self::default()
        }
    }

    /// Runs `f` on its own thread and waits at most `self.timeout`.
    fn bounded<T: Send + 'static>(
        &self,
        action: &'static str,
        f: impl FnOnce() -> Result<T> + Send + 'static,
    ) -> Result<T> {
        match crate::bounded::run("keyage-keyring", self.timeout, f)? {
            Some(r) => r,
            None => Err(Error::new(
                Kind::Keyring,
                format!(
                    "the {} did not answer within {} s (while trying to {action})",
                    backend_name(),
                    self.timeout.as_secs()
                ),
            )
            .hint("the keyring may be waiting for an unlock prompt: unlock it (log in to your desktop session) and try again")),
        }
    }
}

impl SecretStore for Keyring {
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }

    fn location(&self) -> String {
        format!("the OS keyring ({}, service `{SERVICE}`)", backend_name())
    }

    fn put(&self, key_id: &str, value: &SecretKey) -> Result<()> {
        let id = key_id.to_string();
        let value = value.clone();
        let service = self.service;
        self.bounded("store a secret", move || {
            entry(service, &id)
                .and_then(|e| e.set_password(value.expose_secret()))
                .map_err(|e| keyring_error(e, "store the secret of", &id))
        })
    }

    fn get(&self, key_id: &str) -> Result<Option<SecretKey>> {
        let id = key_id.to_string();
        let service = self.service;
        self.bounded("read a secret", move || {
            match entry(service, &id).and_then(|e| e.get_password()) {
                Ok(s) => Ok(Some(secret(s))),
                Err(keyring::Error::NoEntry) => Ok(None),
                Err(e) => Err(keyring_error(e, "read the secret of", &id)),
            }
        })
    }

    fn delete(&self, key_id: &str) -> Result<()> {
        let id = key_id.to_string();
        let service = self.service;
        self.bounded("delete a secret", move || {
            match entry(service, &id).and_then(|e| e.delete_credential()) {
                Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
                Err(e) => Err(keyring_error(e, "delete the secret of", &id)),
            }
        })
    }

    fn probe(&self) -> Result<()> {
        use rand::Rng;
        let n: u64 = rand::rng().random();
        let user = format!("keyage-probe-{}-{n:016x}", std::process::id());
        let value: String = format!("probe-{:016x}", rand::rng().random::<u64>());
        let service = self.service;
        self.bounded("write, read and delete a probe entry", move || {
            const PROBE: &str = "a probe entry";
            let e = entry(service, &user).map_err(|e| keyring_error(e, "create", PROBE))?;
            e.set_password(&value)
                .map_err(|e| keyring_error(e, "write", PROBE))?;
            let back = e.get_password();
            let del = e.delete_credential();
            match back {
                Ok(v) if v == value => {}
                Ok(_) => {
                    return Err(Error::new(
                        Kind::Keyring,
                        format!(
                            "the {} gave back a different value for the probe entry",
                            backend_name()
                        ),
                    ))
                }
                Err(e) => return Err(keyring_error(e, "read back", PROBE)),
            }
            del.map_err(|e| keyring_error(e, "delete", PROBE))
        })
    }
}

/// Maps a keyring-crate error to ours. Only the platform error's text is used (never
/// `BadEncoding`'s bytes, which are secret material).
/// `what` names the entry (a key id, or e.g. "a probe entry").
pub(crate) fn keyring_error(e: keyring::Error, action: &str, what: &str) -> Error {
    let key_id = what;
    let backend = backend_name();
    match e {
        keyring::Error::PlatformFailure(inner) => {
            let text = inner.to_string();
            let (what, hint) = classify_platform(&text);
            Error::new(
                Kind::Keyring,
                format!("cannot {action} {key_id} in the {backend}: {what} ({text})"),
            )
            .hint(hint)
        }
        keyring::Error::NoStorageAccess(inner) => Error::new(
            Kind::Keyring,
            format!(
                "cannot {action} {key_id}: the {backend} is locked or refused access ({inner})"
            ),
        )
        .hint(if cfg!(target_os = "linux") {
            "unlock your keyring (log in to the desktop session, or run `gnome-keyring-daemon --unlock` and type the password), then retry"
        } else {
            "unlock your keychain / credential store and allow keyage to use it, then retry"
        }),
        keyring::Error::NoEntry => Error::new(
            Kind::Keyring,
            format!("cannot {action} {key_id}: the {backend} has no such entry"),
        ),
        keyring::Error::BadEncoding(_) => Error::new(
            Kind::Keyring,
            format!("the {backend} entry for {key_id} is not valid UTF-8"),
        )
        .hint(format!(
            "remove the entry (service `{SERVICE}`, user `{key_id}`) with your keyring tool"
        )),
        keyring::Error::TooLong(attr, limit) => Error::new(
            Kind::Keyring,
            format!("cannot {action} {key_id}: {attr} is longer than the {backend} allows ({limit})"),
        ),
        keyring::Error::Invalid(attr, why) => Error::new(
            Kind::Keyring,
            format!("cannot {action} {key_id}: invalid {attr}: {why}"),
        ),
        keyring::Error::Ambiguous(_) => Error::new(
            Kind::Keyring,
            format!("cannot {action} {key_id}: the {backend} holds several entries for it"),
        )
        .hint(format!(
            "remove the duplicates (service `{SERVICE}`, user `{key_id}`) with your keyring tool, e.g. `secret-tool clear service {SERVICE} username {key_id}` and store it again"
        )),
        _ => Error::new(
            Kind::Keyring,
            format!("cannot {action} {key_id} in the {backend}"),
        ),
    }
}

/// True when a keyring error means there is no keyring at all on this session (no D-Bus
/// session bus, or no Secret Service on it), as on an SSH box, in WSL or a container: then
/// `[store] backend = "auto"` uses the file store. A keyring that is there but locked, slow or
/// failing is not absent (its copies may be in it): auto then refuses and names the fix.
pub(crate) fn is_absent(e: &Error) -> bool {
    e.kind == Kind::Keyring && (e.message.contains(NO_BUS) || e.message.contains(NO_SERVICE))
}

const NO_BUS: &str = "no D-Bus session bus is reachable";
const NO_SERVICE: &str = "no Secret Service is running on the session bus";

/// No session bus, and the fix.
const BUS_MISSING: (&str, &str) = (
    NO_BUS,
    "run keyage inside a desktop session (DBUS_SESSION_BUS_ADDRESS must point at a running bus, e.g. `dbus-run-session -- $SHELL`), then start a Secret Service such as gnome-keyring",
);
/// A bus without a Secret Service on it, and the fix.
const SERVICE_MISSING: (&str, &str) = (
    NO_SERVICE,
    "start a Secret Service such as gnome-keyring (`gnome-keyring-daemon --start --components=secrets`) or KeePassXC with Secret Service integration",
);

/// What a Secret Service platform error means, and the fix.
fn classify_platform(text: &str) -> (&'static str, &'static str) {
    let t = text.to_ascii_lowercase();
    let says = |words: &[&str]| words.iter().any(|w| t.contains(w));
    // secret-service reports "no bus" and "no provider on the bus" with one error
    // (`Unavailable`); look at the bus ourselves to tell them apart.
    let unavailable = t.contains("no secret service provider or dbus session found");
    if unavailable && crate::bus::session_bus_of_process().is_unreachable() {
        BUS_MISSING
    } else if unavailable
        || says(&[
            "serviceunknown",
            "service unknown",
            "was not provided by any",
            "org.freedesktop.secrets",
        ])
    {
        SERVICE_MISSING
    } else if says(&[
        "address",
        "no such file",
        "connection refused",
        "dbus_session_bus_address",
        "session bus",
        "i/o error",
        "input/output",
    ]) {
        BUS_MISSING
    } else {
        (
            "the keyring failed",
            "check that your Secret Service (e.g. gnome-keyring) runs and is unlocked",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn product_build_never_uses_the_mock_store() {
        assert!(default_builder_persists());
        // On Linux the entry is an explicit Secret Service credential.
        #[cfg(target_os = "linux")]
        {
            let e = entry(SERVICE, "AKIAEXAMPLE").expect("entry");
            assert!(e
                .get_credential()
                .downcast_ref::<keyring::secret_service::SsCredential>()
                .is_some());
        }
    }

    #[test]
    fn errors_name_the_fix_and_never_the_bytes() {
        let e = keyring_error(
            keyring::Error::BadEncoding(b"wJalrXUtnFEMI".to_vec()),
            "read",
            "AKIAX",
        );
        let s = format!("{e} {e:?}");
        assert!(!s.contains("wJalr"), "{s}");
        let e = keyring_error(
            keyring::Error::PlatformFailure(
                "org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files".into(),
            ),
            "store the secret of",
            "AKIAX",
        );
        assert!(e.to_string().contains("gnome-keyring"), "{e}");
        let e = keyring_error(
            keyring::Error::PlatformFailure("I/O error: No such file or directory".into()),
            "store the secret of",
            "AKIAX",
        );
        assert!(e.to_string().contains("D-Bus session bus"), "{e}");
    }
}
