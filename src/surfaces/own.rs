//! The user's own values for the matcher, from the AWS files (kept apart from `scan` so the
//! matcher builds alone, e.g. in the fuzz target).

use crate::secret::ExposeSecret;
use crate::surfaces::scan::OwnValues;

impl OwnValues {
    /// Every static key id and every secret held in the files.
    pub fn from_inventory(inv: &crate::profiles::Inventory) -> Self {
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

    /// The values from the user's AWS files. A file that cannot be read is not fatal here
    /// (the pattern check still runs): the note says why exact matching is off.
    pub fn load(env: &crate::env::Env) -> (Self, Option<String>) {
        match crate::profiles::Inventory::load(env) {
            Ok(inv) => {
                let mut own = OwnValues::from_inventory(&inv);
                if !inv.protected.is_empty() {
                    let fp = crate::protect::fingerprint::Fingerprints::load(&env.state_dir());
                    own.secret_test = Some(std::sync::Arc::new(move |c: &[u8]| fp.matches(c)));
                }
                (own, None)
            }
            Err(e) => (
                OwnValues::default(),
                Some(format!(
                    "your own keys are not checked (the AWS files could not be read: {})",
                    e.message
                )),
            ),
        }
    }
}
