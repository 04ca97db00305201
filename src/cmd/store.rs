//! `keyage store list|migrate`: which key ids have a backout copy, and moving the copies
//! between the OS keyring and the encrypted file store (`crate::store::migrate`).

use std::io::Write;

use crate::cli::{StoreArgs, StoreTarget, StoreWhat};
use crate::env::Env;
use crate::error::Result;
use crate::store::{self, migrate, StoreKind};

pub(crate) fn run(env: &Env, args: StoreArgs) -> Result<u8> {
    match args.what {
        StoreWhat::List { json } => {
            let b = store::open(env)?;
            let ids = migrate::list(env, b.store.as_ref())?;
            if json {
                let doc = serde_json::json!({
                    "kind": b.kind(),
                    "location": b.location(),
                    "why": b.why,
                    "ids": ids,
                });
                let text = serde_json::to_string_pretty(&doc).unwrap_or_default();
                crate::sys::out::print(&format!("{text}\n"))?;
            } else {
                eprintln!("keyage: copies in {} ({})", b.location(), b.why);
                crate::sys::out::with_stdout(|out| {
                    ids.iter().try_for_each(|id| writeln!(out, "{id}"))
                })?;
            }
            Ok(0)
        }
        StoreWhat::Migrate { to } => {
            let to = match to {
                StoreTarget::Keyring => StoreKind::Keyring,
                StoreTarget::File => StoreKind::File,
            };
            let moved = migrate::migrate(env, to)?;
            crate::sys::out::print(&moved.render())?;
            Ok(0)
        }
    }
}
