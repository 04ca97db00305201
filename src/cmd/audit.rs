//! `keyage audit`.

use crate::cli::AuditArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: AuditArgs) -> Result<u8> {
    Err(super::not_yet("audit"))
}
