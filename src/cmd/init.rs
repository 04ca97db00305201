//! `keyage init <shell>`: prints the shell code for `eval "$(keyage init bash)"`.

use crate::cli::InitArgs;
use crate::env::Env;
use crate::error::{Error, Result};
use crate::surfaces::{prompt::segment_dir, shell};

pub(crate) fn run(env: &Env, args: InitArgs) -> Result<u8> {
    let dir = segment_dir(env);
    if dir.to_string_lossy().contains(['\'', '\n']) {
        return Err(Error::usage(format!(
            "the state folder {} contains a quote or newline; the shell code cannot name it safely",
            dir.display()
        ))
        .hint("set KEYAGE_STATE_DIR (or XDG_STATE_HOME) to a plain path"));
    }
    let scope_all = match env.get("KEYAGE_PROMPT_SCOPE") {
        Some(s) => s == "all",
        None => super::prompt::configured_scope(env) == crate::cli::Scope::All,
    };
    let code = shell::render(args.shell, &dir, scope_all, !args.no_prompt);
    crate::sys::out::print(&code)?;
    Ok(0)
}
