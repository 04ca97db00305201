//! `keyage install` / `keyage uninstall`: the git hook (per repository or global) and the
//! shell rc line; the agent's units are written by `agent::install`.

use std::path::PathBuf;

use crate::cli::{InstallArgs, InstallWhat, Shell};
use crate::env::Env;
use crate::error::{Error, IoContext, Kind, Result};
use crate::surfaces::install as inst;

pub(crate) fn run(env: &Env, args: InstallArgs, install: bool) -> Result<u8> {
    let said = match args.what {
        InstallWhat::GitHook { repo, global } => {
            if global {
                if install {
                    inst::install_global_hook(env, &exe()?)?
                } else {
                    inst::uninstall_global_hook(env)?
                }
            } else {
                let repo = match repo {
                    Some(r) => r,
                    None => std::env::current_dir().at("read", ".")?,
                };
                if install {
                    inst::install_repo_hook(env, &repo, &exe()?)?
                } else {
                    inst::uninstall_repo_hook(env, &repo)?
                }
            }
        }
        InstallWhat::Shell { shell } => shell_line(env, shell, install)?,
        InstallWhat::Agent { print } => {
            return if install {
                crate::agent::install::install(env, print)
            } else {
                crate::agent::install::uninstall(env)
            };
        }
    };
    for s in said {
        crate::sys::out::line(s);
    }
    Ok(0)
}

fn exe() -> Result<PathBuf> {
    crate::sys::paths::user_facing_exe()
        .map_err(|e| Error::new(Kind::Io, format!("cannot find keyage's own path: {e}")))
}

fn shell_line(env: &Env, shell: Option<Shell>, install: bool) -> Result<Vec<String>> {
    let shell = match shell {
        Some(s) => s,
        None => detect_shell(env)?,
    };
    let (rc, line) = inst::rc_line(env, shell)?;
    let text = crate::sys::fs::read_optional(&rc, crate::sys::fs::cap::SMALL_TEXT)?;
    let cur = text.as_deref().unwrap_or_default();
    if install {
        match inst::add_rc_line(cur, &line) {
            Some(new) => {
                inst::rewrite_user_file(&rc, &new)?;
                Ok(vec![
                    format!("added to {}: {line}", rc.display()),
                    "open a new shell to see it".into(),
                ])
            }
            None => Ok(vec![format!("already in {}", rc.display())]),
        }
    } else {
        match inst::remove_rc_line(cur) {
            Some(new) => {
                inst::rewrite_user_file(&rc, &new)?;
                Ok(vec![format!(
                    "removed the keyage line from {}",
                    rc.display()
                )])
            }
            None => Ok(vec![format!("no keyage line in {}", rc.display())]),
        }
    }
}

fn detect_shell(env: &Env) -> Result<Shell> {
    let sh = env.get("SHELL").unwrap_or_default();
    let name = sh.rsplit('/').next().unwrap_or_default();
    match name {
        "bash" => Ok(Shell::Bash),
        "zsh" => Ok(Shell::Zsh),
        "fish" => Ok(Shell::Fish),
        _ => Err(
            Error::usage(format!("cannot tell your shell from SHELL={sh:?}"))
                .hint("name it: keyage install shell bash|zsh|fish"),
        ),
    }
}
