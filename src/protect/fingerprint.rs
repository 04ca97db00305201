//! Keyed fingerprints of protected secrets, so that the pre-commit hook and `keyage scan` block
//! a protected secret without the keyring: `fingerprints.json` in the state folder holds a
//! random 32-byte key and HMAC-SHA256(key, secret) of each protected secret (no secret: a
//! 40-character random secret cannot be found from its HMAC). The scanner tests each
//! 40-character base64 candidate against them.

use std::path::Path;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::env::Env;
use crate::error::{Error, Result};
use crate::secret::{ExposeSecret, SecretKey};

pub const FILE: &str = "fingerprints.json";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Fingerprints {
    pub version: u32,
    /// Hex of the 32-byte HMAC key.
    pub key: String,
    /// Hex HMAC-SHA256 of each protected secret.
    pub secrets: Vec<String>,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

impl Fingerprints {
    /// The fingerprints (empty when none). Bounded read; unreadable = empty.
    pub fn load(dir: &Path) -> Fingerprints {
        crate::sys::fs::read_state(&dir.join(FILE))
            .ok()
            .flatten()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }
    fn mac(&self) -> Option<Hmac<Sha256>> {
        let key = unhex(&self.key)?;
        Hmac::<Sha256>::new_from_slice(&key).ok()
    }
    /// HMAC of a candidate, hex.
    pub fn of(&self, candidate: &[u8]) -> Option<String> {
        let mut m = self.mac()?;
        m.update(candidate);
        Some(hex(&m.finalize().into_bytes()))
    }
    /// Is `candidate` a protected secret?
    pub fn matches(&self, candidate: &[u8]) -> bool {
        !self.secrets.is_empty()
            && self
                .of(candidate)
                .is_some_and(|f| self.secrets.contains(&f))
    }
}

/// Records the fingerprint of `secret` (creating the key on first use).
pub fn record(env: &Env, secret: &SecretKey) -> Result<()> {
    let dir = env.state_dir();
    crate::state::ensure_private_dir(&dir)?;
    let mut fp = Fingerprints::load(&dir);
    if fp.mac().is_none() {
        use rand::RngCore;
        let mut k = [0u8; 32];
        rand::rng().fill_bytes(&mut k);
        fp.key = hex(&k);
        fp.secrets.clear();
    }
    fp.version = 1;
    let f = fp
        .of(secret.expose_secret().as_bytes())
        .ok_or_else(|| Error::internal("cannot compute a fingerprint"))?;
    if !fp.secrets.contains(&f) {
        fp.secrets.push(f);
    }
    let bytes = serde_json::to_vec_pretty(&fp)
        .map_err(|e| Error::internal(format!("cannot encode the fingerprints: {e}")))?;
    crate::state::write_atomic(&dir.join(FILE), &bytes)
}
