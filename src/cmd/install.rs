//! `keyage install` / `keyage uninstall`.

use crate::cli::InstallArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: InstallArgs, _install: bool) -> Result<u8> {
    Err(super::not_yet("install"))
}
