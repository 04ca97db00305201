//! `keyage doctor`.

use crate::cli::DoctorArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: DoctorArgs) -> Result<u8> {
    Err(super::not_yet("doctor"))
}
