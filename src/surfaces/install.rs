//! Installers for the git hook and the shell line. Each install is undone exactly by its
//! uninstall: a repository's own pre-commit hook is moved aside and chained (then moved back),
//! the global mode never replaces a foreign `core.hooksPath`, and the global git config file
//! and rc files get their previous bytes back.

use std::path::{Path, PathBuf};

use crate::env::Env;
use crate::error::{Error, IoContext, Kind, Result};

/// Marks every hook script keyage writes.
pub(crate) const HOOK_MARKER: &str = "# keyage-hook";
/// Where a repository's previous pre-commit hook is kept while keyage's is installed.
pub(crate) const CHAINED: &str = "pre-commit.keyage-chained";
/// Marks the rc-file line.
pub(crate) const RC_MARKER: &str = "# keyage init";

/// Client-side hooks that the global hooks folder passes through to the repository's own.
const PASSTHROUGH: &[&str] = &[
    "applypatch-msg",
    "pre-applypatch",
    "post-applypatch",
    "pre-merge-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-commit",
    "pre-rebase",
    "post-checkout",
    "post-merge",
    "pre-push",
    "pre-auto-gc",
    "post-rewrite",
    "push-to-checkout",
];

/// Shell-quotes a path for /bin/sh.
fn q(p: &Path) -> String {
    crate::surfaces::shell::sh_quote(&p.to_string_lossy())
}

/// The lines that find keyage: the binary that installed the hook, else `keyage` on PATH; a
/// missing keyage warns but does not block (uninstalling keyage must not break commits).
fn find_keyage(exe: &Path) -> String {
    format!(
        "k={}\n[ -x \"$k\" ] || k=$(command -v keyage) || {{\n    echo 'keyage: not found; commit not checked (keyage uninstall git-hook removes this hook)' >&2\n    k=''\n}}\n",
        q(exe)
    )
}

/// The per-repository hook: keyage first, then the hook that was there before.
pub(crate) fn repo_hook_script(exe: &Path) -> String {
    format!(
        "#!/bin/sh\n{HOOK_MARKER}: installed by `keyage install git-hook`; `keyage uninstall git-hook` restores the previous hook.\n{}[ -z \"$k\" ] || \"$k\" hook pre-commit || exit $?\nchained=\"$(dirname \"$0\")/{CHAINED}\"\nif [ -x \"$chained\" ]; then exec \"$chained\" \"$@\"; fi\nexit 0\n",
        find_keyage(exe)
    )
}

/// The global pre-commit hook: keyage, then the repository's own `hooks/pre-commit`, which
/// `core.hooksPath` would otherwise shadow.
pub(crate) fn global_hook_script(exe: &Path) -> String {
    format!(
        "#!/bin/sh\n{HOOK_MARKER} (global): installed by `keyage install git-hook --global`.\n{}[ -z \"$k\" ] || \"$k\" hook pre-commit || exit $?\n{}",
        find_keyage(exe),
        passthrough_tail("pre-commit")
    )
}

fn passthrough_tail(name: &str) -> String {
    format!(
        "own=\"$(git rev-parse --git-common-dir)/hooks/{name}\"\nif [ -x \"$own\" ]; then exec \"$own\" \"$@\"; fi\nexit 0\n"
    )
}

/// A global hook that only runs the repository's own hook of that name.
pub(crate) fn passthrough_script(name: &str) -> String {
    format!(
        "#!/bin/sh\n{HOOK_MARKER} (global passthrough): runs the repository's own hook.\n{}",
        passthrough_tail(name)
    )
}

fn is_ours(path: &Path) -> bool {
    read_small(path).ok().flatten().is_some_and(|b| {
        b.windows(HOOK_MARKER.len())
            .any(|w| w == HOOK_MARKER.as_bytes())
    })
}

/// A hook, git config or rc file (bounded, regular files only); None when missing.
fn read_small(path: &Path) -> Result<Option<Vec<u8>>> {
    crate::sys::fs::read_optional(path, crate::sys::fs::cap::SMALL_TEXT)
}

/// (success, stdout on success else stderr) of git; Err only when git cannot run.
fn git(dir: Option<&Path>, env: &Env, args: &[&str]) -> Result<(bool, String)> {
    // Tests isolate HOME / GIT_CONFIG_GLOBAL through the environment snapshot's process env.
    let _ = env;
    let out = crate::sys::git::run(dir, args)?;
    let text = if out.ok {
        out.text()
    } else {
        String::from_utf8_lossy(&out.stderr)
            .trim_end_matches('\n')
            .to_string()
    };
    Ok((out.ok, text))
}

fn write_exec(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).at("write", path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).at("chmod", path)?;
    }
    Ok(())
}

/// The hooks folder git uses for the repository at `repo`.
fn repo_hooks_dir(repo: &Path, env: &Env) -> Result<PathBuf> {
    let (ok, out) = git(
        Some(repo),
        env,
        &["rev-parse", "--path-format=absolute", "--git-common-dir"],
    )?;
    if !ok {
        return Err(Error::new(
            Kind::Refused,
            format!("{} is not a git repository: {out}", repo.display()),
        )
        .hint("run it inside a repository or pass --repo PATH"));
    }
    Ok(PathBuf::from(out).join("hooks"))
}

/// What an install or uninstall did, for the user.
pub(crate) type Outcome = Vec<String>;

pub(crate) fn install_repo_hook(env: &Env, repo: &Path, exe: &Path) -> Result<Outcome> {
    let hooks = repo_hooks_dir(repo, env)?;
    let mut said = Vec::new();
    let (_, hp) = git(Some(repo), env, &["config", "--get", "core.hooksPath"])?;
    if !hp.is_empty() {
        said.push(format!(
            "note: core.hooksPath is set ({hp}); git runs the hooks there, not in {} (keyage's global hook runs this one)",
            hooks.display()
        ));
    }
    std::fs::create_dir_all(&hooks).at("create", &hooks)?;
    let hook = hooks.join("pre-commit");
    if is_ours(&hook) {
        said.push(format!("already installed: {}", hook.display()));
        return Ok(said);
    }
    let chained = hooks.join(CHAINED);
    if hook.exists() || hook.symlink_metadata().is_ok() {
        if chained.symlink_metadata().is_ok() {
            return Err(Error::new(
                Kind::Conflict,
                format!("{} already exists", chained.display()),
            )
            .hint("move it away, then install again"));
        }
        std::fs::rename(&hook, &chained).at("move aside", &hook)?;
        said.push(format!(
            "kept your hook: {} (still runs after keyage's check)",
            chained.display()
        ));
    }
    write_exec(&hook, &repo_hook_script(exe))?;
    said.push(format!("installed {}", hook.display()));
    Ok(said)
}

pub(crate) fn uninstall_repo_hook(env: &Env, repo: &Path) -> Result<Outcome> {
    let hooks = repo_hooks_dir(repo, env)?;
    let hook = hooks.join("pre-commit");
    let chained = hooks.join(CHAINED);
    if !is_ours(&hook) {
        return Ok(vec![format!("no keyage hook in {}", hooks.display())]);
    }
    std::fs::remove_file(&hook).at("remove", &hook)?;
    let mut said = vec![format!("removed {}", hook.display())];
    if chained.symlink_metadata().is_ok() {
        std::fs::rename(&chained, &hook).at("restore", &chained)?;
        said.push(format!("restored your hook {}", hook.display()));
    }
    Ok(said)
}

/// keyage's global hooks folder.
pub(crate) fn global_hooks_dir(env: &Env) -> PathBuf {
    env.config_dir().join("git-hooks")
}

/// The file `git config --global` writes.
pub(crate) fn global_git_config(env: &Env) -> PathBuf {
    if let Some(p) = env.get("GIT_CONFIG_GLOBAL") {
        return env.expand_tilde(p);
    }
    let home = env.home().unwrap_or_else(|| PathBuf::from("."));
    let dot = home.join(".gitconfig");
    if dot.exists() {
        return dot;
    }
    let xdg = env.xdg_config_home().join("git/config");
    if xdg.exists() {
        xdg
    } else {
        dot
    }
}

/// Saved global config bytes: where, and the marker for "there was no file".
fn saved_config(env: &Env) -> PathBuf {
    env.state_dir().join("gitconfig-before-keyage")
}
const NO_FILE: &[u8] = b"\0keyage:no-file\0";

/// The global `core.hooksPath`, or "" when unset.
fn global_hooks_path(env: &Env) -> Result<String> {
    Ok(git(
        None,
        env,
        &["config", "--global", "--get", "core.hooksPath"],
    )?
    .1)
}

pub(crate) fn install_global_hook(env: &Env, exe: &Path) -> Result<Outcome> {
    let dir = global_hooks_dir(env);
    let current = global_hooks_path(env)?;
    let mut said = Vec::new();
    if !current.is_empty() {
        if env.expand_tilde(&current) == dir {
            said.push(format!(
                "already installed: core.hooksPath = {}",
                dir.display()
            ));
        } else {
            return Err(Error::new(
                Kind::Refused,
                format!(
                    "core.hooksPath is already set globally to {current}; keyage will not replace it"
                ),
            )
            .hint(format!(
                "add `keyage hook pre-commit` to {current}/pre-commit yourself, or install per repository (keyage install git-hook --repo PATH), or unset it (git config --global --unset core.hooksPath) and run this again"
            )));
        }
    }
    crate::state::ensure_private_dir(&dir)?;
    write_exec(&dir.join("pre-commit"), &global_hook_script(exe))?;
    for name in PASSTHROUGH {
        write_exec(&dir.join(name), &passthrough_script(name))?;
    }
    if current.is_empty() {
        let cfg = global_git_config(env);
        let before = read_small(&cfg)?.unwrap_or_else(|| NO_FILE.to_vec());
        crate::state::ensure_dir(env)?;
        crate::state::write_atomic(&saved_config(env), &before)?;
        let (ok, out) = git(
            None,
            env,
            &[
                "config",
                "--global",
                "core.hooksPath",
                &dir.to_string_lossy(),
            ],
        )?;
        if !ok {
            return Err(Error::new(Kind::Io, format!("git config failed: {out}")));
        }
        // Remember what the file looked like right after our change, to restore exactly.
        let after = crate::sys::fs::read_regular(&cfg, crate::sys::fs::cap::SMALL_TEXT)?;
        crate::state::write_atomic(&saved_after(env), &after)?;
        said.push(format!(
            "installed {} and set core.hooksPath in {}",
            dir.display(),
            cfg.display()
        ));
        said.push("each repository's own hooks still run (keyage's hooks call them)".into());
    }
    Ok(said)
}

fn saved_after(env: &Env) -> PathBuf {
    env.state_dir().join("gitconfig-after-keyage")
}

pub(crate) fn uninstall_global_hook(env: &Env) -> Result<Outcome> {
    let dir = global_hooks_dir(env);
    let current = global_hooks_path(env)?;
    let mut said = Vec::new();
    if !current.is_empty() && env.expand_tilde(&current) == dir {
        let cfg = global_git_config(env);
        let before = read_small(&saved_config(env)).ok().flatten();
        let after = read_small(&saved_after(env)).ok().flatten();
        let now = read_small(&cfg).ok().flatten();
        match (before, after) {
            // Untouched since install: put the exact previous bytes back.
            (Some(b), Some(a)) if now.as_deref() == Some(&a[..]) => {
                if b == NO_FILE {
                    std::fs::remove_file(&cfg).at("remove", &cfg)?;
                } else {
                    crate::state::write_atomic(&cfg, &b)?;
                    restore_mode(&cfg);
                }
                said.push(format!("restored {}", cfg.display()));
            }
            _ => {
                let (ok, out) = git(
                    None,
                    env,
                    &["config", "--global", "--unset", "core.hooksPath"],
                )?;
                if !ok {
                    return Err(Error::new(Kind::Io, format!("git config failed: {out}")));
                }
                said.push(format!("unset core.hooksPath in {}", cfg.display()));
            }
        }
        let _ = std::fs::remove_file(saved_config(env));
        let _ = std::fs::remove_file(saved_after(env));
    } else if !current.is_empty() {
        said.push(format!(
            "core.hooksPath is {current}, not keyage's; left as it is"
        ));
    }
    if dir.exists() {
        for e in std::fs::read_dir(&dir).at("read", &dir)?.flatten() {
            if is_ours(&e.path()) {
                let _ = std::fs::remove_file(e.path());
            }
        }
        let _ = std::fs::remove_dir(&dir);
        said.push(format!("removed {}", dir.display()));
    }
    if said.is_empty() {
        said.push("no global keyage hook installed".into());
    }
    Ok(said)
}

/// Git config files are usually 0644; write_atomic makes 0600.
fn restore_mode(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = path;
}

/// The rc file and the line for a shell.
pub(crate) fn rc_line(env: &Env, shell: crate::cli::Shell) -> Result<(PathBuf, String)> {
    use crate::cli::Shell;
    let home = env
        .home()
        .ok_or_else(|| Error::usage("HOME is not set; cannot find your rc file"))?;
    Ok(match shell {
        Shell::Bash => (
            home.join(".bashrc"),
            format!("command -v keyage >/dev/null && eval \"$(keyage init bash)\"  {RC_MARKER}"),
        ),
        Shell::Zsh => (
            env.get("ZDOTDIR")
                .map(PathBuf::from)
                .unwrap_or(home)
                .join(".zshrc"),
            format!("command -v keyage >/dev/null && eval \"$(keyage init zsh)\"  {RC_MARKER}"),
        ),
        Shell::Fish => (
            env.xdg_config_home().join("fish/config.fish"),
            format!("command -q keyage; and keyage init fish | source  {RC_MARKER}"),
        ),
        Shell::Powershell => {
            return Err(
                Error::new(Kind::Refused, "keyage does not edit PowerShell profiles").hint(
                    "add `Invoke-Expression (& keyage init powershell | Out-String)` to $PROFILE",
                ),
            )
        }
    })
}

/// Adds `line` (ending in [`RC_MARKER`]) to `text` unless a marked line is there. When the
/// text does not end with a newline one is added first and the marker says so (`+nl`), so
/// the removal can give back the exact bytes.
pub(crate) fn add_rc_line(text: &[u8], line: &str) -> Option<Vec<u8>> {
    if find_marked(text).is_some() {
        return None;
    }
    let mut out = text.to_vec();
    let mut line = line.to_string();
    if !out.is_empty() && !out.ends_with(b"\n") {
        out.push(b'\n');
        line.push_str(" +nl");
    }
    out.extend_from_slice(line.as_bytes());
    out.push(b'\n');
    Some(out)
}

/// Removes the marked line (and the newline it added, if any); None when absent.
pub(crate) fn remove_rc_line(text: &[u8]) -> Option<Vec<u8>> {
    let (start, end, added_nl) = find_marked(text)?;
    let mut out = text[..start].to_vec();
    if added_nl && out.ends_with(b"\n") {
        out.pop();
    }
    out.extend_from_slice(&text[end..]);
    Some(out)
}

/// Span (with its newline) of the first line ending in the marker (optionally `+nl`).
fn find_marked(text: &[u8]) -> Option<(usize, usize, bool)> {
    let mut start = 0;
    for line in text.split_inclusive(|&b| b == b'\n') {
        let end = start + line.len();
        let body = line.strip_suffix(b"\n").unwrap_or(line);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        if body.ends_with(format!("{RC_MARKER} +nl").as_bytes()) {
            return Some((start, end, true));
        }
        if body.ends_with(RC_MARKER.as_bytes()) {
            return Some((start, end, false));
        }
        start = end;
    }
    None
}

/// Rewrites a user file in place of its real target (symlinks followed), keeping its mode.
pub(crate) fn rewrite_user_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    #[cfg(unix)]
    let mode = {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(&real)
            .map(|m| m.permissions().mode() & 0o7777)
            .unwrap_or(0o644)
    };
    if let Some(parent) = real.parent() {
        std::fs::create_dir_all(parent).at("create", parent)?;
    }
    crate::state::write_atomic(&real, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(mode))
            .at("chmod", &real)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rc_line_round_trips() {
        let line = format!("eval x  {RC_MARKER}");
        for before in [&b""[..], b"a\n", b"a\nb", b"x\r\n"] {
            let added = add_rc_line(before, &line).unwrap();
            assert!(add_rc_line(&added, &line).is_none(), "idempotent");
            assert_eq!(remove_rc_line(&added).unwrap(), before);
        }
        assert!(remove_rc_line(b"nothing\n").is_none());
    }
}
