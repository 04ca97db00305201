//! `keyage finalize`: delete pending old keys whose grace passed and which stayed unused.

use crate::aws;
use crate::cli::FinalizeArgs;
use crate::env::Env;
use crate::error::Result;
use crate::profiles::Inventory;
use crate::rotation::edges::{self, InventoryFiles, SdkConnect};
use crate::rotation::journal;
use crate::rotation::lock;
use crate::rotation::run::{self, Ctx};

pub fn run(env: &Env, args: FinalizeArgs) -> Result<u8> {
    let rt = aws::runtime()?;
    rt.block_on(finalize(env, args))
}

async fn finalize(env: &Env, args: FinalizeArgs) -> Result<u8> {
    let dir = env.state_dir();
    let _lock = lock::acquire(&dir, lock::wait_from(env))?;
    let pending: Vec<_> = journal::load_pending(&dir)?
        .into_iter()
        .filter(|p| match &args.profile {
            Some(pr) => &p.profile == pr || p.profiles.contains(pr),
            None => true,
        })
        .collect();
    if pending.is_empty() {
        println!("Nothing to finalize.");
        return Ok(0);
    }
    let inv = Inventory::load(env).ok();
    let store = crate::rotation::open_store(env)?;
    edges::store_probe(&store).await?;
    let files = InventoryFiles { env: env.clone() };
    let mut failed = None;
    for p in &pending {
        let connect = SdkConnect {
            env: env.clone(),
            target: super::rotate::target_for(inv.as_ref(), &p.profile),
        };
        let ctx = Ctx {
            connect: &connect,
            files: &files,
            store: store.clone(),
            dir: dir.clone(),
            verify_timeout: run::verify_timeout_from(env),
            session: None,
            now: chrono::Utc::now,
        };
        match ctx.finalize_one(p, args.force).await {
            Ok(v) => println!("{}", v.render()),
            Err(e) => {
                eprintln!("keyage: finalize of {}: {e}", p.old_key_id);
                failed = Some(e);
            }
        }
    }
    match failed {
        Some(e) => Err(e),
        None => Ok(0),
    }
}
