//! `keyage backout`.

use crate::cli::BackoutArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: BackoutArgs) -> Result<u8> {
    Err(super::not_yet("backout"))
}
