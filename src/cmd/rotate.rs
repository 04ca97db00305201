//! `keyage rotate-self`.

use crate::cli::RotateArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: RotateArgs) -> Result<u8> {
    Err(super::not_yet("rotate-self"))
}
