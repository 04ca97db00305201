//! `keyage backout`: undo the unfinished rotation, else the profile's last finished one.

use crate::cli::BackoutArgs;
use crate::env::Env;
use crate::error::Result;
use crate::rotation::session::{self, BackoutRequest};
use crate::rotation::Session;

pub fn run(env: &Env, args: BackoutArgs) -> Result<u8> {
    let req = BackoutRequest {
        profile: args.profile.unwrap_or_else(|| env.current_profile()),
        delete_new: args.delete_new,
    };
    crate::rotation::session::confirm_backout(&req.profile, args.yes)?;
    let session = Session::open(env);
    let done = session::block_on(session.backout(req))?;
    print!("{}", done.render());
    crate::keys::after_change(env, &undone(&done), chrono::Utc::now());
    Ok(0)
}

/// What a backout changed in IAM, for the fact cache.
fn undone(d: &crate::rotation::backout::Undone) -> Vec<(String, crate::state::cache::Change)> {
    use crate::state::cache::Change;
    let mut v = vec![(d.old_key_id.clone(), Change::Active(true))];
    if let Some(n) = &d.new_key_id {
        v.push((
            n.clone(),
            if d.new_deleted {
                Change::Deleted
            } else {
                Change::Active(false)
            },
        ));
    }
    v
}
