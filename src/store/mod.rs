//! Where the backout copies of secrets are kept during and after a rotation.
//!
//! CONTRACT: `SecretStore` is the narrow trait the rotation uses (one entry per access key id);
//! two stores implement it:
//! - the OS keyring (`crate::vault::Keyring`: Secret Service, Keychain, Credential Manager);
//! - the encrypted file store (`file::FileStore`): one age file per key id in
//!   `$XDG_DATA_HOME/keyage/store` (0700 folder, 0600 files), encrypted to the user's SSH
//!   public keys or age recipients (writing needs no secret), or to a passphrase (scrypt).
//!
//! `open` picks one from `[store] backend` in config.toml: `keyring`, `file`, or `auto` (the
//! default): the OS keyring when it is there, else the file store. "Not there" means no D-Bus
//! session bus or no Secret Service on it (an SSH box, WSL, a container); a keyring that is
//! there but locked or failing is not silently replaced, since its copies may be in it.
//! `Backend` carries the store with the reason it was chosen (for doctor and status).

pub(crate) mod file;
pub(crate) mod migrate;

use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;

use crate::config::{Config, StoreBackend, StoreConfig};
use crate::env::Env;
use crate::error::Result;
use crate::secret::SecretKey;
use crate::vault::{self, Keyring};

/// Which kind of store holds the copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    /// The OS keyring.
    Keyring,
    /// The encrypted file store.
    File,
}

/// Where secrets are backed up. Implementations must be callable from a blocking context
/// (inside async code, call them from `tokio::task::spawn_blocking`).
pub trait SecretStore {
    /// Stores (or replaces) the secret for `key_id`.
    fn put(&self, key_id: &str, secret: &SecretKey) -> Result<()>;
    /// The secret for `key_id`, or None when there is no entry.
    ///
    /// On the file store this may need the user's private key (and its passphrase); a copy
    /// this process wrote itself is given back after checking that the file on disk is still
    /// exactly what was written (see `file`), so `put` then `get` is a real read-back check.
    fn get(&self, key_id: &str) -> Result<Option<SecretKey>>;
    /// Removes the entry (no error when there is none).
    fn delete(&self, key_id: &str) -> Result<()>;
    /// Proves the store can take a copy: the keyring writes, reads back and deletes a probe
    /// entry; the file store encrypts a probe to its recipients, writes it, re-reads it and
    /// deletes it (without the private key: see docs/store.md for what that proves).
    fn probe(&self) -> Result<()>;
    /// Which store this is. `protect` keeps protected keys only in the OS keyring and refuses
    /// on the file store. (The default, for test fakes, is the keyring.)
    fn kind(&self) -> StoreKind {
        StoreKind::Keyring
    }
    /// Where the copies are, for messages ("the OS keyring (Secret Service, …)", "the
    /// encrypted file store in …").
    fn location(&self) -> String {
        "the OS keyring".to_string()
    }
    /// The key ids with a copy, when the store can list them without reading secrets (the
    /// file store can; the keyring crate cannot: None).
    fn list(&self) -> Result<Option<Vec<String>>> {
        Ok(None)
    }
}

/// No usable store (config.toml asks for one that cannot be opened): every call fails with
/// the reason, so the rotation's probe refuses before anything changes.
pub(crate) struct Unusable(pub crate::error::Error);

impl SecretStore for Unusable {
    fn put(&self, _: &str, _: &SecretKey) -> Result<()> {
        Err(self.0.clone())
    }
    fn get(&self, _: &str) -> Result<Option<SecretKey>> {
        Err(self.0.clone())
    }
    fn delete(&self, _: &str) -> Result<()> {
        Err(self.0.clone())
    }
    fn probe(&self) -> Result<()> {
        Err(self.0.clone())
    }
    fn location(&self) -> String {
        "no usable store".to_string()
    }
}

/// The shared handle the rotation holds.
pub(crate) type Store = Arc<dyn SecretStore + Send + Sync>;

/// The chosen store, and why.
#[derive(Clone)]
pub(crate) struct Backend {
    pub store: Store,
    /// What config.toml asked for.
    pub configured: StoreBackend,
    /// Why this store, one line: e.g. `auto: no D-Bus session bus is reachable`.
    pub why: String,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("kind", &self.kind())
            .field("configured", &self.configured)
            .field("why", &self.why)
            .finish()
    }
}

impl Backend {
    pub(crate) fn kind(&self) -> StoreKind {
        self.store.kind()
    }
    /// True when the copies go to the OS keyring (what `protect` requires).
    pub(crate) fn is_os_keyring(&self) -> bool {
        self.kind() == StoreKind::Keyring
    }
    pub(crate) fn location(&self) -> String {
        self.store.location()
    }
}

/// How long `auto` waits for the keyring to answer its read-only check.
pub(crate) const AUTO_PING: Duration = Duration::from_secs(5);

/// The store config.toml asks for (reads the config; a bad file is an error naming its line).
pub(crate) fn open(env: &Env) -> Result<Backend> {
    let cfg = Config::load(env)?;
    open_with(env, &cfg.store)
}

/// The store `sc` asks for. `auto` asks the keyring once, read-only (no bus: < 100 ms).
pub(crate) fn open_with(env: &Env, sc: &StoreConfig) -> Result<Backend> {
    open_timed(env, sc, AUTO_PING)
}

fn open_timed(env: &Env, sc: &StoreConfig, ping: Duration) -> Result<Backend> {
    let keyring = |why: String| Backend {
        store: Arc::new(Keyring::new()),
        configured: sc.backend,
        why,
    };
    match sc.backend {
        StoreBackend::Keyring => Ok(keyring(
            "`[store] backend = \"keyring\"` in config.toml".to_string(),
        )),
        StoreBackend::File => Ok(Backend {
            store: Arc::new(file::FileStore::open(env, sc)?),
            configured: sc.backend,
            why: "`[store] backend = \"file\"` in config.toml".to_string(),
        }),
        StoreBackend::Auto => {
            let ring = Keyring {
                timeout: ping,
                ..Keyring::default()
            };
            match ring.ping() {
                Ok(()) => Ok(keyring(format!(
                    "auto: the {} answers on this session",
                    vault::backend_name()
                ))),
                Err(e) if vault::is_absent(&e) => {
                    let why = format!("auto: the OS keyring is not there ({})", absent_reason(&e));
                    Ok(Backend {
                        store: Arc::new(file::FileStore::open(env, sc)?.because(why.clone())),
                        configured: sc.backend,
                        why,
                    })
                }
                Err(e) => Err(crate::error::Error::new(
                    e.kind,
                    format!(
                        "{}; with `[store] backend = \"auto\"` keyage does not switch to the file store while a keyring is there but failing (its copies may be in it)",
                        e.message
                    ),
                )
                .hint(format!(
                    "{}; or choose a store in config.toml: `[store] backend = \"file\"`",
                    e.hint.unwrap_or_else(|| "fix the keyring".to_string())
                ))),
            }
        }
    }
}

/// The short reason out of an "absent" keyring error.
fn absent_reason(e: &crate::error::Error) -> &'static str {
    if e.message.contains("D-Bus session bus") {
        "no D-Bus session bus is reachable"
    } else {
        "no Secret Service is running on the session bus"
    }
}

/// What `status` says about the store: which store `open` would pick and where it is, decided
/// without touching the keyring (status runs in the small front, which links neither D-Bus nor
/// the keyring): for `auto`, a reachable session bus means the keyring (doctor checks it for
/// real), none means the file store. Never fails: a bad config is said in `why`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Summary {
    /// `keyring` or `file`.
    pub kind: Option<StoreKind>,
    /// `auto`, `keyring` or `file` (config.toml).
    pub configured: &'static str,
    /// Where the copies are.
    pub location: String,
    /// Why this store.
    pub why: String,
}

pub(crate) fn summary(env: &Env) -> Summary {
    let file_at = format!(
        "the encrypted file store in {}",
        env.data_dir().join(file::STORE_DIR).display()
    );
    let ring_at = "the OS keyring".to_string();
    let cfg = match Config::load(env) {
        Ok(c) => c,
        Err(e) => {
            return Summary {
                kind: None,
                configured: "auto",
                location: "unknown".to_string(),
                why: e.message,
            }
        }
    };
    let configured = cfg.store.backend.as_str();
    let (kind, location, why) = match cfg.store.backend {
        StoreBackend::Keyring => (
            StoreKind::Keyring,
            ring_at,
            "backend = \"keyring\"".to_string(),
        ),
        StoreBackend::File => (StoreKind::File, file_at, "backend = \"file\"".to_string()),
        StoreBackend::Auto => {
            if cfg!(target_os = "linux") && crate::bus::session_bus(env).is_unreachable() {
                (
                    StoreKind::File,
                    file_at,
                    "auto: no D-Bus session bus is reachable".to_string(),
                )
            } else {
                (
                    StoreKind::Keyring,
                    ring_at,
                    "auto: a session bus is there; `keyage doctor` checks the keyring".to_string(),
                )
            }
        }
    };
    Summary {
        kind: Some(kind),
        configured,
        location,
        why,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_choices_need_no_keyring() {
        let d = tempfile::tempdir().unwrap();
        let home = d.path().to_str().unwrap();
        let env = Env::from_pairs([("HOME", home)]);
        let sc = StoreConfig {
            backend: StoreBackend::Keyring,
            ..Default::default()
        };
        let b = open_with(&env, &sc).unwrap();
        assert!(b.is_os_keyring());
        assert!(b.why.contains("keyring"), "{}", b.why);
        let sc = StoreConfig {
            backend: StoreBackend::File,
            passphrase: true,
            ..Default::default()
        };
        let b = open_with(&env, &sc).unwrap();
        assert_eq!(b.kind(), StoreKind::File);
        assert!(!b.is_os_keyring());
        assert!(b.location().contains("store"), "{}", b.location());
        assert!(!format!("{b:?}").is_empty());
    }
}
