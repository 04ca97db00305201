//! The keyring backup: one entry per access key id under service `keyage`.
//!
//! CONTRACT: `SecretStore` is the narrow trait the rotation uses; `Keyring` is the OS keyring
//! (Secret Service on Linux via the keyring crate's pure-Rust zbus backend, Keychain on macOS,
//! Credential Manager on Windows). A product build never uses the keyring crate's mock store.
//! TODO (issue 2): the `Keyring` implementation and its probe.

use crate::error::Result;
use crate::secret::SecretKey;

/// The keyring service name every entry is stored under.
pub const SERVICE: &str = "keyage";

/// Where secrets are backed up. Implementations must be callable from a blocking context
/// (inside async code, call them from `tokio::task::spawn_blocking`).
pub trait SecretStore {
    /// Stores (or replaces) the secret for `key_id`.
    fn put(&self, key_id: &str, secret: &SecretKey) -> Result<()>;
    /// The secret for `key_id`, or None when there is no entry.
    fn get(&self, key_id: &str) -> Result<Option<SecretKey>>;
    /// Removes the entry (no error when there is none).
    fn delete(&self, key_id: &str) -> Result<()>;
    /// Proves the store works: writes, reads back and deletes a probe entry.
    fn probe(&self) -> Result<()>;
}
