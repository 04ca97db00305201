//! `keyage finalize`: delete pending old keys whose grace passed and which stayed unused.

use crate::cli::FinalizeArgs;
use crate::env::Env;
use crate::error::Result;
use crate::rotation::session::{self, FinalizeRequest};
use crate::rotation::Session;

pub fn run(env: &Env, args: FinalizeArgs) -> Result<u8> {
    let req = FinalizeRequest {
        profile: args.profile,
        force: args.force,
    };
    let session = Session::open(env);
    let done = session::block_on(session.finalize(req))?;
    if done.is_empty() {
        println!("Nothing to finalize.");
        return Ok(0);
    }
    let total = done.len();
    let mut failed = Vec::new();
    let mut deleted = Vec::new();
    for (p, r) in done {
        match r {
            Ok(v) => {
                println!("{}", v.render());
                if let crate::rotation::finalize::Verdict::Deleted { key_id, .. } = &v {
                    deleted.push((key_id.clone(), crate::state::cache::Change::Deleted));
                }
            }
            Err(e) => {
                eprintln!("keyage: finalize of {}: {e}", p.old_key_id);
                failed.push(e.kind);
            }
        }
    }
    crate::keys::after_change(env, &deleted, chrono::Utc::now());
    // Each failure was printed once above; the error only counts them.
    match failed.first() {
        Some(kind) => Err(crate::error::Error::new(
            *kind,
            format!(
                "{} of {total} pending finalize{} failed (see above)",
                failed.len(),
                if total == 1 { "" } else { "s" }
            ),
        )),
        None => Ok(0),
    }
}
