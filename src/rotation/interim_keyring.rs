//! INTERIM: a minimal OS-keyring `SecretStore` used until the rig branch's `vault::Keyring`
//! lands (then `open_store` switches to it and this file goes). Entries: service `keyage`,
//! user = access key id.

use crate::error::{Error, Kind, Result};
use crate::secret::{secret, ExposeSecret, SecretKey};
use crate::vault::{SecretStore, SERVICE};

pub struct InterimKeyring;

fn kr_err(action: &str, key_id: &str, e: keyring::Error) -> Error {
    // BadEncoding/Ambiguous may carry stored data: never show their payloads.
    let why = match &e {
        keyring::Error::PlatformFailure(x) | keyring::Error::NoStorageAccess(x) => x.to_string(),
        keyring::Error::BadEncoding(_) => "the stored value is not text".to_string(),
        keyring::Error::Ambiguous(_) => "more than one entry matches".to_string(),
        other => format!("{:?}", std::mem::discriminant(other)),
    };
    Error::new(
        Kind::Keyring,
        format!("cannot {action} the keyring entry for {key_id}: {why}"),
    )
    .hint("keyage needs a Secret Service (gnome-keyring, KeePassXC) on the session D-Bus, unlocked; `keyage doctor` checks it")
}

fn entry(key_id: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, key_id).map_err(|e| kr_err("open", key_id, e))
}

impl SecretStore for InterimKeyring {
    fn put(&self, key_id: &str, s: &SecretKey) -> Result<()> {
        entry(key_id)?
            .set_password(s.expose_secret())
            .map_err(|e| kr_err("write", key_id, e))
    }
    fn get(&self, key_id: &str) -> Result<Option<SecretKey>> {
        match entry(key_id)?.get_password() {
            Ok(p) => Ok(Some(secret(p))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(kr_err("read", key_id, e)),
        }
    }
    fn delete(&self, key_id: &str) -> Result<()> {
        match entry(key_id)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
            Err(e) => Err(kr_err("delete", key_id, e)),
        }
    }
    fn probe(&self) -> Result<()> {
        let id = "keyage-probe";
        self.put(id, &secret("probe"))?;
        match self.get(id)? {
            Some(v) if v.expose_secret() == "probe" => {}
            _ => {
                return Err(Error::new(
                    Kind::Keyring,
                    "the keyring did not give back the probe entry",
                ))
            }
        }
        self.delete(id)
    }
}
