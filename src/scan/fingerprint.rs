//! Keyed fingerprints of secrets the AWS files no longer hold (a key kept only in the keyring,
//! an old key waiting for finalize), so the hook can still block them without the keyring.
//!
//! A fingerprint is `HMAC-SHA256(machine key, secret)`: the machine key is 32 random bytes
//! made on first use, stored apart from the fingerprints (`<state_dir>/fingerprint.key`,
//! 0600); the fingerprints file (`<state_dir>/fingerprints.json`, 0600) holds key ids and
//! hex digests only. Neither file holds a secret, and a fingerprint is useless without the
//! key (no offline guessing from the state file alone; a secret has 240 random bits anyway).
//! The hook tests each 40-character secret-shaped token of the staged text against the set.
//!
//! This file is the pure part (the set, the digest, the file format); reading and writing the
//! files is `scan::own` (`Fingerprints::load`, `Fingerprints::record`).

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

/// The length of the machine key.
pub(crate) const KEY_LEN: usize = 32;

/// Whether a fingerprinted secret is the user's current key or an old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum FpStatus {
    /// In use (e.g. kept in the keyring by `keyage protect`).
    Current,
    /// Inactive, or waiting for `keyage finalize`.
    Old,
}

/// One entry of the fingerprints file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FpEntry {
    pub key_id: String,
    /// Lower-case hex of HMAC-SHA256(machine key, secret).
    pub hmac: String,
    pub status: FpStatus,
}

/// The fingerprints file's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FpFile {
    pub version: u32,
    pub entries: Vec<FpEntry>,
}

/// The version [`FpFile`] is written with.
pub(crate) const FP_VERSION: u32 = 1;

/// The loaded set: the machine key and the digests. `Debug` shows counts only.
#[derive(Clone, Default)]
pub struct FingerprintSet {
    key: Option<Zeroizing<[u8; KEY_LEN]>>,
    entries: Vec<([u8; 32], FpEntry)>,
}

impl std::fmt::Debug for FingerprintSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FingerprintSet")
            .field("entries", &self.entries.len())
            .finish()
    }
}

/// HMAC-SHA256 of `value` under `key`.
pub fn digest(key: &[u8; KEY_LEN], value: &[u8]) -> [u8; 32] {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("any key length");
    mac.update(value);
    mac.finalize().into_bytes().into()
}

/// Lower-case hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let b = s.as_bytes();
    if b.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let d = |c: u8| (c as char).to_digit(16);
        out[i] = (d(pair[0])? * 16 + d(pair[1])?) as u8;
    }
    Some(out)
}

impl FingerprintSet {
    /// The set for a machine key and the file's entries (entries that are not 64 hex digits
    /// are dropped).
    pub(crate) fn new(key: Zeroizing<[u8; KEY_LEN]>, file: &FpFile) -> Self {
        FingerprintSet {
            key: Some(key),
            entries: file
                .entries
                .iter()
                .filter_map(|e| Some((unhex(&e.hmac)?, e.clone())))
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty() || self.key.is_none()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// The entry whose secret is `candidate`, if any.
    pub(crate) fn lookup(&self, candidate: &[u8]) -> Option<&FpEntry> {
        let key = self.key.as_ref()?;
        if self.entries.is_empty() {
            return None;
        }
        let d = digest(key, candidate);
        self.entries
            .iter()
            .find(|(h, _)| constant_eq(h, &d))
            .map(|(_, e)| e)
    }

    /// The key ids in the set (not secrets: shown masked, searched exactly).
    pub(crate) fn key_ids(&self) -> impl Iterator<Item = (&str, FpStatus)> {
        self.entries
            .iter()
            .map(|(_, e)| (e.key_id.as_str(), e.status))
    }
}

fn constant_eq(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_by_keyed_digest() {
        let key = Zeroizing::new([7u8; KEY_LEN]);
        let secret = b"q9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9oP";
        let file = FpFile {
            version: FP_VERSION,
            entries: vec![FpEntry {
                key_id: "AKIAZ7QW3RTYU2IOPLKJ".into(),
                hmac: hex(&digest(&key, secret)),
                status: FpStatus::Current,
            }],
        };
        let set = FingerprintSet::new(key.clone(), &file);
        assert_eq!(
            set.lookup(secret).map(|e| e.key_id.as_str()),
            Some("AKIAZ7QW3RTYU2IOPLKJ")
        );
        assert!(set
            .lookup(b"q9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9oQ")
            .is_none());
        // Another machine key: no match (the digest is keyed).
        let other = FingerprintSet::new(Zeroizing::new([8u8; KEY_LEN]), &file);
        assert!(other.lookup(secret).is_none());
        assert!(!format!("{set:?}").contains(&file.entries[0].hmac));
    }
}
