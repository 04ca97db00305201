//! `keyage finalize`.

use crate::cli::FinalizeArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: FinalizeArgs) -> Result<u8> {
    Err(super::not_yet("finalize"))
}
