//! `keyage init`.

use crate::cli::InitArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: InitArgs) -> Result<u8> {
    Err(super::not_yet("init"))
}
