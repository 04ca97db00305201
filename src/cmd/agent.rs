//! `keyage agent`.

use crate::cli::AgentArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: AgentArgs) -> Result<u8> {
    Err(super::not_yet("agent"))
}
