//! `keyage store list` and `keyage store migrate --to keyring|file`: which key ids have a copy,
//! and moving every copy from one store to the other without losing one.
//!
//! Migrate, per key id: read from the source, write to the target, read back from the target
//! and compare, and only then delete from the source. Interrupted anywhere, every copy is in
//! the source, the target or both, so running it again finishes the job. It holds the rotation
//! lock: no rotation, backout or finalize runs meanwhile.
//!
//! The keyring cannot be listed through the keyring crate, so for it the candidates are the
//! key ids keyage knows: the unfinished rotation's, the pending finalizes' and every key id in
//! the AWS files (keyage keeps a copy of each key it made).

use std::collections::BTreeSet;

use super::{file::FileStore, SecretStore, StoreKind};
use crate::config::{Config, StoreBackend};
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::secret::ExposeSecret;
use crate::vault::Keyring;

/// The key ids keyage may hold copies for (no secrets are read).
pub(crate) fn known_ids(env: &Env) -> BTreeSet<String> {
    let mut ids = BTreeSet::new();
    if let Ok(Some(j)) = crate::rotation::journal::Journal::load(&env.state_dir()) {
        ids.insert(j.old_key_id.clone());
        ids.extend(j.new_key_id.clone());
        ids.extend(j.keys_before.iter().cloned());
    }
    for p in crate::rotation::pending(env) {
        ids.insert(p.old_key_id);
        ids.insert(p.new_key_id);
    }
    if let Ok(inv) = crate::profiles::Inventory::load(env) {
        for p in &inv.profiles {
            if let crate::profiles::Class::Static { key_id } = &p.class {
                ids.insert(key_id.clone());
            }
        }
    }
    ids
}

/// The key ids with a copy in `store` (listed by the file store; looked up in the keyring).
pub(crate) fn list(env: &Env, store: &dyn SecretStore) -> Result<Vec<String>> {
    if let Some(ids) = store.list()? {
        return Ok(ids);
    }
    let mut out = Vec::new();
    for id in known_ids(env) {
        if store.get(&id)?.is_some() {
            out.push(id);
        }
    }
    Ok(out)
}

/// What a migration did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Moved {
    pub to: StoreKind,
    pub from_location: String,
    pub to_location: String,
    pub ids: Vec<String>,
    /// The config line to add when config.toml does not already pick the target.
    pub config_line: Option<String>,
}

impl Moved {
    pub(crate) fn render(&self) -> String {
        let mut s = if self.ids.is_empty() {
            format!(
                "No copies to move: {} holds none that keyage knows of.\n",
                self.from_location
            )
        } else {
            format!(
                "Moved {} cop{} from {} to {}: {}\n",
                self.ids.len(),
                if self.ids.len() == 1 { "y" } else { "ies" },
                self.from_location,
                self.to_location,
                self.ids.join(", ")
            )
        };
        if let Some(line) = &self.config_line {
            s.push_str(&format!(
                "Now make keyage use it: put `{line}` under `[store]` in config.toml.\n"
            ));
        }
        s
    }
}

/// Moves every copy to the `to` store.
pub(crate) fn migrate(env: &Env, to: StoreKind) -> Result<Moved> {
    let cfg = Config::load(env)?;
    let _lock =
        crate::rotation::lock::acquire(&env.state_dir(), crate::rotation::lock::wait_from(env))?;
    let file = FileStore::open(env, &cfg.store)?;
    let ring = Keyring::new();
    let (source, target): (&dyn SecretStore, &dyn SecretStore) = match to {
        StoreKind::File => (&ring, &file),
        StoreKind::Keyring => (&file, &ring),
    };
    target.probe().map_err(|e| {
        Error::new(
            e.kind,
            format!(
                "{} cannot take copies, so nothing was moved: {}",
                target.location(),
                e.message
            ),
        )
        .hint(
            e.hint
                .unwrap_or_else(|| "`keyage doctor` checks both stores".into()),
        )
    })?;
    let mut moved = Vec::new();
    for id in list(env, source)? {
        let Some(secret) = source.get(&id)? else {
            continue;
        };
        target.put(&id, &secret)?;
        match target.get(&id)? {
            Some(back) if back.expose_secret() == secret.expose_secret() => {}
            _ => {
                return Err(Error::new(
                    Kind::Keyring,
                    format!(
                        "{} did not give back the copy of {id} just written; it stays in {}",
                        target.location(),
                        source.location()
                    ),
                )
                .hint("run `keyage doctor`, then `keyage store migrate` again"))
            }
        }
        source.delete(&id)?;
        moved.push(id);
    }
    let want = match to {
        StoreKind::File => StoreBackend::File,
        StoreKind::Keyring => StoreBackend::Keyring,
    };
    let picks_target = match cfg.store.backend {
        StoreBackend::Auto => super::open_with(env, &cfg.store)
            .map(|b| b.kind() == to)
            .unwrap_or(false),
        b => b == want,
    };
    Ok(Moved {
        to,
        from_location: source.location(),
        to_location: target.location(),
        ids: moved,
        config_line: (!picks_target).then(|| format!("backend = \"{}\"", want.as_str())),
    })
}
