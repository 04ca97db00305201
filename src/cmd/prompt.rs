//! `keyage prompt`: prints the segment (nothing when all is well, or when unsure). Never
//! fails, never blocks: state files only, no network, no async runtime, no logging setup.

use std::io::Write;

use crate::cli::{PromptArgs, Scope};
use crate::env::Env;
use crate::error::Result;
use crate::surfaces::prompt::{read_segment, ALL};

pub fn run(env: &Env, args: PromptArgs) -> Result<u8> {
    let scope = args.scope.unwrap_or_else(|| configured_scope(env));
    let name = match scope {
        Scope::All => ALL.to_string(),
        Scope::Current => env.current_profile(),
    };
    if let Some(seg) = read_segment(env, &name, std::time::SystemTime::now()) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(seg.as_bytes());
        let _ = out.flush();
    }
    Ok(0)
}

/// `[prompt] scope` from config.toml; a broken config means the default (never fail here).
pub fn configured_scope(env: &Env) -> Scope {
    match crate::config::Config::load(env).map(|c| c.prompt.scope) {
        Ok(crate::config::PromptScope::All) => Scope::All,
        _ => Scope::Current,
    }
}
