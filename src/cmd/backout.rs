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
    let session = Session::open(env);
    let done = session::block_on(session.backout(req))?;
    print!("{}", done.render());
    Ok(0)
}
