//! `keyage backout`: undo the unfinished rotation, else the profile's last finished one.

use crate::aws;
use crate::cli::BackoutArgs;
use crate::env::Env;
use crate::error::{Error, Kind, Result};
use crate::profiles::Inventory;
use crate::rotation::backout::journal_from_pending;
use crate::rotation::edges::{self, InventoryFiles, SdkConnect};
use crate::rotation::journal::{self, Journal};
use crate::rotation::lock;
use crate::rotation::run::{self, Ctx};

pub fn run(env: &Env, args: BackoutArgs) -> Result<u8> {
    let rt = aws::runtime()?;
    rt.block_on(backout(env, args))
}

async fn backout(env: &Env, args: BackoutArgs) -> Result<u8> {
    let dir = env.state_dir();
    let _lock = lock::acquire(&dir, lock::wait_from(env))?;
    let now = chrono::Utc::now();
    let mut j = match Journal::load(&dir)? {
        Some(j) => j,
        None => {
            let profile = args
                .profile
                .clone()
                .unwrap_or_else(|| env.current_profile());
            let pending = journal::load_pending(&dir)?;
            let last = pending
                .iter()
                .filter(|p| !p.rotation_id.ends_with("-backout"))
                .filter(|p| p.profile == profile || p.profiles.contains(&profile))
                .max_by_key(|p| p.rotated_at)
                .ok_or_else(|| {
                    Error::new(
                        Kind::Refused,
                        format!("there is no rotation of profile `{profile}` to back out"),
                    )
                    .hint("`keyage status` lists pending finalizes; pick one with --profile")
                })?;
            journal_from_pending(last, now)
        }
    };
    let inv = Inventory::load(env).ok();
    let connect = SdkConnect {
        env: env.clone(),
        target: super::rotate::target_for(inv.as_ref(), &j.profile),
    };
    let store = crate::rotation::open_store(env)?;
    edges::store_probe(&store).await?;
    let files = InventoryFiles { env: env.clone() };
    let ctx = Ctx {
        connect: &connect,
        files: &files,
        store,
        dir,
        verify_timeout: run::verify_timeout_from(env),
        session: None,
        now: chrono::Utc::now,
    };
    let done = ctx.backout(&mut j, args.delete_new).await?;
    print!("{}", done.render());
    Ok(0)
}
