//! `keyage prompt`: prints the segment (nothing when all is well, or when unsure). Never
//! fails, never blocks: state files only, no network, no async runtime, no logging setup.

use std::io::Write;

use crate::cli::{PromptArgs, Scope};
use crate::env::Env;
use crate::error::Result;
use crate::surfaces::prompt::{all_segment, profile_segment};

pub(crate) fn run(env: &Env, args: PromptArgs) -> Result<u8> {
    let scope = args.scope.unwrap_or_else(|| configured_scope(env));
    let now = std::time::SystemTime::now();
    let seg = match scope {
        Scope::All => all_segment(env, now),
        Scope::Current => profile_segment(env, &env.current_profile(), now),
    };
    if let Some(seg) = seg {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(seg.as_bytes());
        let _ = out.flush();
    }
    Ok(0)
}

/// `[prompt] scope` from config.toml; a broken config means the default (never fail here).
pub(crate) fn configured_scope(env: &Env) -> Scope {
    match crate::config::Config::load(env).map(|c| c.prompt.scope) {
        Ok(crate::config::PromptScope::All) => Scope::All,
        _ => Scope::Current,
    }
}
