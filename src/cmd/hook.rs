//! `keyage hook`.

use crate::cli::HookArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: HookArgs) -> Result<u8> {
    Err(super::not_yet("hook"))
}
