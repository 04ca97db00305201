//! Shell code printed by `keyage init <shell>`. Templates live in `shell/` (include_str!).
//! Each defines a `KEYAGE_SEGMENT` variable refreshed before every prompt from the segment
//! file with builtins only, and (unless `--no-prompt`) puts it in front of the prompt.

use std::path::Path;

use crate::cli::Shell;

const BASH: &str = include_str!("shell/keyage.bash");
const BASH_PROMPT: &str = include_str!("shell/keyage-prompt.bash");
const ZSH: &str = include_str!("shell/keyage.zsh");
/// `__keyage_update`, the same function for bash and zsh.
const UPDATE_FN: &str = include_str!("shell/keyage-update.sh");
const ZSH_PROMPT: &str = include_str!("shell/keyage-prompt.zsh");
const FISH: &str = include_str!("shell/keyage.fish");
const FISH_PROMPT: &str = include_str!("shell/keyage-prompt.fish");
const PWSH: &str = include_str!("shell/keyage.ps1");
const PWSH_PROMPT: &str = include_str!("shell/keyage-prompt.ps1");

/// Renders the init code for `shell`. `segment_dir` is `<state_dir>/prompt`.
pub(crate) fn render(
    shell: Shell,
    segment_dir: &Path,
    scope_all: bool,
    with_prompt: bool,
) -> String {
    let (body, prompt, quote): (&str, &str, fn(&str) -> String) = match shell {
        Shell::Bash => (BASH, BASH_PROMPT, sh_quote),
        Shell::Zsh => (ZSH, ZSH_PROMPT, sh_quote),
        Shell::Fish => (FISH, FISH_PROMPT, sh_quote),
        Shell::Powershell => (PWSH, PWSH_PROMPT, sh_quote),
    };
    let scope = if scope_all { "all" } else { "current" };
    let mut out = body
        .replace("@UPDATE_FN@\n", UPDATE_FN)
        .replace("@STATE_DIR@", &quote(&segment_dir.to_string_lossy()))
        .replace("@SCOPE@", &quote(scope));
    // Bash and zsh export the variable in --no-prompt mode so starship's env_var can show it.
    let prompt_part = if with_prompt {
        prompt.trim_end().to_string()
    } else {
        match shell {
            Shell::Bash | Shell::Zsh => "export KEYAGE_SEGMENT".to_string(),
            Shell::Fish => "set -gx KEYAGE_SEGMENT $KEYAGE_SEGMENT".to_string(),
            Shell::Powershell => String::new(),
        }
    };
    out = out.replace("@PROMPT@", &prompt_part);
    out
}

/// Single-quotes for sh/zsh/fish/PowerShell: `'` becomes `'\''` in POSIX shells. fish and
/// PowerShell read `\'`/`''` differently, so paths with a quote are rejected by the caller.
pub(crate) fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn renders_all_placeholders() {
        for sh in [Shell::Bash, Shell::Zsh, Shell::Fish, Shell::Powershell] {
            for p in [true, false] {
                let s = render(sh, Path::new("/s/keyage/prompt"), false, p);
                assert!(!s.contains('@'), "{sh:?}: {s}");
                assert!(s.contains("'/s/keyage/prompt'"));
            }
        }
    }
}
