//! `keyage scan`.

use crate::cli::ScanArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: ScanArgs) -> Result<u8> {
    Err(super::not_yet("scan"))
}
