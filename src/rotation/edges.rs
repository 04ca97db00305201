//! The effects the rotation needs, behind narrow traits: a `Connect` that makes a
//! `KeyService` acting as one key, the credentials `Files`, and the keyring (`Store`, a shared
//! `SecretStore` called through `spawn_blocking`).

use std::path::PathBuf;
use std::sync::Arc;

use crate::aws::Target;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::keys::iam::{KeyService, SdkKeyService};
use crate::profiles::{Class, Inventory};
use crate::secret::SecretKey;
use crate::vault::SecretStore;

/// Makes a key service that acts as one key (or an MFA session).
#[allow(async_fn_in_trait)]
pub trait Connect {
    type Svc: KeyService;
    async fn connect(
        &self,
        key_id: &str,
        secret: &SecretKey,
        token: Option<&SecretKey>,
    ) -> Self::Svc;
}

/// The real IAM/STS through the SDK, with one profile's region/endpoint settings.
pub struct SdkConnect {
    pub env: Env,
    pub target: Target,
}

impl Connect for SdkConnect {
    type Svc = SdkKeyService;
    async fn connect(
        &self,
        key_id: &str,
        secret: &SecretKey,
        token: Option<&SecretKey>,
    ) -> SdkKeyService {
        SdkKeyService::for_key(&self.env, &self.target, key_id, secret, token).await
    }
}

/// One profile that holds a key, and where.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Holder {
    pub profile: String,
    pub file: PathBuf,
    pub line: usize,
}

/// The credentials/config files, as far as the rotation needs them. Every call reads the files
/// afresh: resume decides from what is on disk now.
pub trait Files {
    /// The profiles (static keys) that hold `key_id`, in file order.
    fn holders(&self, key_id: &str) -> Result<Vec<Holder>>;
    /// The secret the files hold for `key_id`.
    fn secret_for(&self, key_id: &str) -> Result<Option<SecretKey>>;
    /// Rewrites every profile holding `old_id` to `new_id`/`secret`; returns the files changed.
    fn replace(&self, old_id: &str, new_id: &str, secret: &SecretKey) -> Result<Vec<PathBuf>>;
}

/// The real files, through `profiles::Inventory` and `profiles::edit::replace_key`.
pub struct InventoryFiles {
    pub env: Env,
}

impl Files for InventoryFiles {
    fn holders(&self, key_id: &str) -> Result<Vec<Holder>> {
        let inv = Inventory::load(&self.env)?;
        Ok(holders_in(&inv, key_id))
    }
    /// A protected key's secret comes from the protect keyring (`crate::protect`).
    fn secret_for(&self, key_id: &str) -> Result<Option<SecretKey>> {
        let inv = Inventory::load(&self.env)?;
        match inv.secret_for(key_id) {
            Some(s) => Ok(Some(s.clone())),
            None if inv.is_protected(key_id) => {
                crate::protect::secret_of(key_id, &crate::protect::store())
            }
            None => Ok(None),
        }
    }
    /// A protected key is replaced in the keyring and the protect index: no file changes.
    fn replace(&self, old_id: &str, new_id: &str, secret: &SecretKey) -> Result<Vec<PathBuf>> {
        let inv = Inventory::load(&self.env)?;
        if inv.is_protected(old_id) {
            crate::protect::rekey(&self.env, &crate::protect::store(), old_id, new_id, secret)?;
            return Ok(Vec::new());
        }
        crate::profiles::edit::replace_key(&inv, old_id, new_id, secret)
    }
}

/// The static-key profiles of an inventory that hold `key_id`.
pub fn holders_in(inv: &Inventory, key_id: &str) -> Vec<Holder> {
    inv.profiles
        .iter()
        .filter(|p| matches!(&p.class, Class::Static { key_id: k } if k == key_id))
        .map(|p| Holder {
            profile: p.name.clone(),
            file: p.file.clone(),
            line: p.line,
        })
        .collect()
}

/// The keyring, shared with blocking tasks.
pub type Store = Arc<dyn SecretStore + Send + Sync>;

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::new(Kind::Internal, format!("a keyring task failed: {e}")))?
}

pub async fn store_put(store: &Store, key_id: &str, secret: &SecretKey) -> Result<()> {
    let (s, id, sec) = (store.clone(), key_id.to_string(), secret.clone());
    blocking(move || s.put(&id, &sec)).await
}

pub async fn store_get(store: &Store, key_id: &str) -> Result<Option<SecretKey>> {
    let (s, id) = (store.clone(), key_id.to_string());
    blocking(move || s.get(&id)).await
}

pub async fn store_delete(store: &Store, key_id: &str) -> Result<()> {
    let (s, id) = (store.clone(), key_id.to_string());
    blocking(move || s.delete(&id)).await
}

pub async fn store_probe(store: &Store) -> Result<()> {
    let s = store.clone();
    blocking(move || s.probe()).await
}

/// Puts a secret in the keyring and reads it back: a backup we have not read back is no backup.
pub async fn store_put_checked(store: &Store, key_id: &str, secret: &SecretKey) -> Result<()> {
    use crate::secret::ExposeSecret;
    store_put(store, key_id, secret).await?;
    match store_get(store, key_id).await? {
        Some(s) if s.expose_secret() == secret.expose_secret() => Ok(()),
        _ => Err(Error::new(
            Kind::Keyring,
            format!("the keyring did not give back the secret just stored for {key_id}"),
        )
        .hint("run `keyage doctor` to check the keyring")),
    }
}
