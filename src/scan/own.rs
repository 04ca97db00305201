//! The user's own values for the matcher (kept apart from the matcher so it builds alone,
//! e.g. in the fuzz target): current keys from the AWS files, old keys from the rotation's
//! pending list and the fact cache, accounts from the cache, and the fingerprints of secrets
//! kept elsewhere ([`Fingerprints`]). Everything is local: no network, no keyring.

use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::env::Env;
use crate::error::{Error, IoContext, Result};
use crate::scan::fingerprint::{
    digest, hex, FingerprintSet, FpEntry, FpFile, FpStatus, FP_VERSION, KEY_LEN,
};
use crate::scan::matcher::OwnValues;
use crate::secret::{ExposeSecret, SecretKey};

/// The fingerprints file in the state folder (key ids and keyed digests; no secret).
pub(crate) const FINGERPRINTS_FILE: &str = "fingerprints.json";
/// The machine key the digests are made with (32 random bytes, 0600).
pub(crate) const FINGERPRINT_KEY_FILE: &str = "fingerprint.key";
/// The most of the fingerprints file that is read.
const MAX_FP_FILE: u64 = 1 << 20;

impl OwnValues {
    /// Every static key id and every secret held in the files.
    pub(crate) fn from_inventory(inv: &crate::profiles::Inventory) -> Self {
        let mut own = OwnValues::default();
        for g in inv.keys() {
            if let Some(s) = inv.secret_for(&g.key_id) {
                own.secrets.push((s.clone(), Some(g.key_id.clone())));
            }
            own.key_ids.push(g.key_id);
        }
        for p in &inv.profiles {
            if let crate::profiles::Class::Temporary { key_id } = &p.class {
                own.key_ids.push(key_id.clone());
            }
        }
        for s in inv.all_secrets() {
            if !own
                .secrets
                .iter()
                .any(|(k, _)| k.expose_secret() == s.expose_secret())
            {
                own.secrets.push((s.clone(), None));
            }
        }
        own
    }

    /// Adds what the state knows: old keys waiting for finalize (pending list), the user's
    /// other keys from the cache (inactive ones as old), the accounts of the user's keys.
    pub(crate) fn add_state(
        &mut self,
        pending: &[crate::rotation::journal::PendingFinalize],
        cache: &crate::state::cache::Cache,
    ) {
        let current: std::collections::HashSet<String> = self.key_ids.iter().cloned().collect();
        for p in pending {
            if !current.contains(&p.old_key_id) {
                self.old_key_ids
                    .push((p.old_key_id.clone(), "waiting for keyage finalize".into()));
            }
            if !self.accounts.contains(&p.account) && !p.account.is_empty() {
                self.accounts.push(p.account.clone());
            }
        }
        for id in &current {
            let Some(f) = cache.get(id) else { continue };
            if let Some(i) = &f.identity {
                if !i.account.is_empty() && !self.accounts.contains(&i.account) {
                    self.accounts.push(i.account.clone());
                }
            }
            for o in &f.others {
                if current.contains(&o.key_id) {
                    continue;
                }
                if o.active {
                    self.key_ids.push(o.key_id.clone());
                } else if !self.old_key_ids.iter().any(|(k, _)| k == &o.key_id) {
                    self.old_key_ids.push((o.key_id.clone(), "inactive".into()));
                }
            }
        }
    }

    /// The values from the user's AWS files and the state. A file that cannot be read is
    /// not fatal here (the pattern check still runs): the notes say what is not checked.
    pub(crate) fn load(env: &Env) -> (Self, Vec<String>) {
        let mut notes = Vec::new();
        let mut own = match crate::profiles::Inventory::load(env) {
            Ok(inv) => OwnValues::from_inventory(&inv),
            Err(e) => {
                notes.push(format!(
                    "your own keys are not checked (the AWS files could not be read: {})",
                    e.message
                ));
                OwnValues::default()
            }
        };
        let pending = crate::rotation::journal::load_pending(&env.state_dir()).unwrap_or_default();
        let cache = crate::state::cache::Cache::load(env);
        own.add_state(&pending, &cache);
        match Fingerprints::load(env) {
            Ok(f) => own.fingerprints = f,
            Err(e) => notes.push(format!(
                "protected keys are not checked (fingerprints: {})",
                e.message
            )),
        }
        (own, notes)
    }
}

/// The fingerprints file and its machine key, in the state folder. What `keyage protect`
/// (or a rotation) calls when a secret leaves the AWS files, so the hook still blocks it:
///
/// ```ignore
/// // (crate-internal: not compiled as a doctest)
/// # use crate::{env::Env, scan::own::Fingerprints, scan::fingerprint::FpStatus, secret::secret};
/// # let env = Env::from_process();
/// Fingerprints::record(&env, "AKIA…", &secret("…"), FpStatus::Current)?;
/// # Ok::<(), crate::error::Error>(())
/// ```
pub(crate) struct Fingerprints;

impl Fingerprints {
    pub(crate) fn path(env: &Env) -> PathBuf {
        env.state_dir().join(FINGERPRINTS_FILE)
    }

    pub(crate) fn key_path(env: &Env) -> PathBuf {
        env.state_dir().join(FINGERPRINT_KEY_FILE)
    }

    /// The set (empty when either file is missing). Bounded reads; a damaged file is an
    /// error naming it.
    pub(crate) fn load(env: &Env) -> Result<FingerprintSet> {
        let p = Self::path(env);
        let Some(text) = read_small(&p, MAX_FP_FILE)? else {
            return Ok(FingerprintSet::default());
        };
        let file: FpFile = serde_json::from_slice(&text).map_err(|e| {
            Error::input(&p, e.line(), format!("not a keyage fingerprints file: {e}"))
                .hint("remove it; `keyage protect` writes it again")
        })?;
        let Some(key) = read_key(&Self::key_path(env))? else {
            return Ok(FingerprintSet::default());
        };
        Ok(FingerprintSet::new(key, &file))
    }

    /// Records (or replaces) the fingerprint of `key_id`'s secret. Makes the machine key on
    /// first use. Both files 0600 in the 0700 state folder; the fingerprints file is written
    /// atomically.
    pub(crate) fn record(
        env: &Env,
        key_id: &str,
        secret: &SecretKey,
        status: FpStatus,
    ) -> Result<()> {
        let dir = crate::state::ensure_dir(env)?;
        let key = ensure_key(&dir.join(FINGERPRINT_KEY_FILE))?;
        let mut file = Self::read_file(env)?;
        file.entries.retain(|e| e.key_id != key_id);
        file.entries.push(FpEntry {
            key_id: key_id.to_string(),
            hmac: hex(&digest(&key, secret.expose_secret().as_bytes())),
            status,
        });
        Self::write_file(env, &mut file)
    }

    fn read_file(env: &Env) -> Result<FpFile> {
        let p = Self::path(env);
        match read_small(&p, MAX_FP_FILE)? {
            None => Ok(FpFile {
                version: FP_VERSION,
                entries: Vec::new(),
            }),
            Some(b) => serde_json::from_slice(&b).map_err(|e| {
                Error::input(&p, e.line(), format!("not a keyage fingerprints file: {e}"))
            }),
        }
    }

    fn write_file(env: &Env, file: &mut FpFile) -> Result<()> {
        file.version = FP_VERSION;
        let dir = crate::state::ensure_dir(env)?;
        let bytes = serde_json::to_vec_pretty(file)
            .map_err(|e| Error::internal(format!("cannot encode the fingerprints: {e}")))?;
        crate::state::write_atomic(&dir.join(FINGERPRINTS_FILE), &bytes)
    }
}

/// Reads a small state file (never through a symlink); None when it does not exist.
fn read_small(p: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    match crate::sys::fs::read_state(p)? {
        Some(b) if b.len() as u64 > cap => Err(Error::new(
            crate::error::Kind::Input,
            format!("{} is larger than {cap} bytes", p.display()),
        )),
        other => Ok(other),
    }
}

fn read_key(p: &Path) -> Result<Option<Zeroizing<[u8; KEY_LEN]>>> {
    let Some(b) = read_small(p, KEY_LEN as u64)? else {
        return Ok(None);
    };
    let b = Zeroizing::new(b);
    if b.len() != KEY_LEN {
        return Err(Error::new(
            crate::error::Kind::Io,
            format!(
                "{}: not a keyage fingerprint key ({} bytes)",
                p.display(),
                b.len()
            ),
        )
        .hint("remove it and the fingerprints file; `keyage protect` makes both again"));
    }
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    k.copy_from_slice(&b);
    Ok(Some(k))
}

/// The machine key, made (32 random bytes, 0600, never replaced) when missing.
fn ensure_key(p: &Path) -> Result<Zeroizing<[u8; KEY_LEN]>> {
    if let Some(k) = read_key(p)? {
        return Ok(k);
    }
    let mut k = Zeroizing::new([0u8; KEY_LEN]);
    rand::fill(&mut k[..]);
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    match opts.open(p) {
        Ok(mut f) => {
            use std::io::Write;
            f.write_all(&k[..]).at("write", p)?;
            f.sync_all().at("fsync", p)?;
            Ok(k)
        }
        // Another keyage made it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            read_key(p)?.ok_or_else(|| Error::internal("fingerprint key vanished"))
        }
        Err(e) => Err(e).at("create", p),
    }
}
