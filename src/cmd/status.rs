//! `keyage status`.

use crate::cli::StatusArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: StatusArgs) -> Result<u8> {
    Err(super::not_yet("status"))
}
