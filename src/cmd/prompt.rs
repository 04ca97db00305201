//! `keyage prompt`.

use crate::cli::PromptArgs;
use crate::env::Env;
use crate::error::Result;

pub fn run(_env: &Env, _args: PromptArgs) -> Result<u8> {
    Err(super::not_yet("prompt"))
}
