//! Doctor checks on this machine: keyring, notification server, git, and whether the git
//! hook, the shell line and the agent are installed (file-based: nothing is run but
//! `git --version`, `git config` and `git rev-parse`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::env::Env;
use crate::notifier;
use crate::vault::{backend_name, Keyring, SecretStore};

use super::Check;

/// The marker `keyage install shell` puts on the line it adds to an rc file.
pub(crate) const RC_MARKER: &str = "# keyage init";
/// The systemd user unit `keyage install agent` writes.
pub(crate) const SYSTEMD_UNIT: &str = "keyage-agent.service";
/// The LaunchAgent label on macOS.
pub(crate) const LAUNCHD_LABEL: &str = "dev.keyage.agent";
/// The scheduled task on Windows.
pub(crate) const TASK_NAME: &str = "keyage-agent";

/// Writes, reads back and deletes a probe entry (bounded to 5 s).
pub(crate) fn keyring() -> Check {
    let ring = Keyring {
        timeout: Duration::from_secs(5),
        ..Keyring::default()
    };
    match ring.probe() {
        Ok(()) => Check::ok(
            "keyring",
            "keyring",
            format!(
                "{}: wrote, read back and deleted a probe entry",
                backend_name()
            ),
        ),
        Err(e) => Check::fail("keyring", "keyring", e.message).fix_opt(e.hint.or_else(|| {
            Some(
                "keyage backs up secrets there during a rotation; start and unlock your keyring"
                    .into(),
            )
        })),
    }
}

/// The keyring check and the `store` check: which store keeps the backout copies, why, and
/// whether it takes one now (probe). When the file store is in use and works, a missing
/// keyring is only a warning (nothing needs it).
pub(crate) fn stores(env: &Env) -> Vec<Check> {
    let mut ring = keyring();
    let store = store(env);
    if store.status == super::Status::Ok
        && store.detail.starts_with("file store")
        && ring.status == super::Status::Fail
    {
        ring.status = super::Status::Warn;
        ring.detail = format!("{} (not needed: the file store is in use)", ring.detail);
    }
    vec![ring, store]
}

/// Which store `[store] backend` picks, why, how many copies it holds, and a probe.
pub(crate) fn store(env: &Env) -> Check {
    const ID: &str = "store";
    const TITLE: &str = "backout store";
    let b = match crate::store::open(env) {
        Ok(b) => b,
        Err(e) => return Check::fail(ID, TITLE, e.message).fix_opt(e.hint),
    };
    let copies = match crate::store::migrate::list(env, b.store.as_ref()) {
        Ok(ids) => format!(
            "{} cop{}",
            ids.len(),
            if ids.len() == 1 { "y" } else { "ies" }
        ),
        Err(_) => "copies not counted".to_string(),
    };
    let mut detail = match b.kind() {
        crate::store::StoreKind::Keyring => {
            format!("keyring: {} ({}; {copies})", b.location(), b.why)
        }
        crate::store::StoreKind::File => {
            let extra = crate::config::Config::load(env)
                .ok()
                .and_then(|c| crate::store::file::FileStore::open(env, &c.store).ok())
                .map(|f| f.encrypted_to())
                .unwrap_or_default();
            format!(
                "file store: {} ({}; {extra}; {copies})",
                b.location(),
                b.why
            )
        }
    };
    match b.store.probe() {
        Ok(()) => {
            detail.push_str("\nprobe: a test copy was encrypted, written, re-read and deleted");
            if b.kind() == crate::store::StoreKind::File {
                detail.push_str(
                    " (reading copies back needs your private key: backout and --resume only)",
                );
            }
            Check::ok(ID, TITLE, detail)
        }
        Err(e) => Check::fail(ID, TITLE, format!("{detail}\n{}", e.message)).fix_opt(e.hint),
    }
}

/// Asks the notification server who it is (bounded to 3 s).
pub(crate) fn notifications() -> Check {
    match notifier::server_info(Duration::from_secs(3)) {
        Ok(i) => {
            let mut d = i.name.clone();
            if !i.version.is_empty() {
                d.push(' ');
                d.push_str(&i.version);
            }
            if !i.vendor.is_empty() && i.vendor != i.name {
                d.push_str(&format!(" ({})", i.vendor));
            }
            Check::ok("notifications", "notification server", d)
        }
        Err(e) => Check::warn(
            "notifications",
            "notification server",
            format!("{} — the agent's reminders will not show", e.message),
        )
        .fix_opt(e.hint),
    }
}

/// git's trimmed stdout, or None when it cannot run or fails (doctor reports, never fails).
fn git(args: &[&str], dir: Option<&Path>) -> Option<String> {
    let out = crate::sys::git::run(dir, args).ok()?;
    out.ok.then(|| out.text().trim().to_string())
}

/// git is on PATH.
pub(crate) fn git_present() -> (bool, Check) {
    match git(&["--version"], None) {
        Some(v) => (true, Check::ok("git", "git", v)),
        None => (
            false,
            Check::warn("git", "git", "git was not found on PATH")
                .fix("install git (e.g. `sudo apt install git`) to use the pre-commit hook"),
        ),
    }
}

fn mentions_keyage(p: &Path) -> bool {
    crate::sys::fs::read_optional(p, crate::sys::fs::cap::SMALL_TEXT)
        .ok()
        .flatten()
        .is_some_and(|b| String::from_utf8_lossy(&b).contains("keyage"))
}

/// The pre-commit hook: globally (core.hooksPath) or in the current repository.
pub(crate) fn git_hook(env: &Env, git_ok: bool, cwd: Option<&Path>) -> Check {
    const ID: &str = "git_hook";
    const TITLE: &str = "git pre-commit hook";
    if !git_ok {
        return Check::warn(ID, TITLE, "not checked: git is missing");
    }
    if let Some(hp) = git(&["config", "--global", "--get", "core.hooksPath"], cwd) {
        let dir = env.expand_tilde(&hp);
        if mentions_keyage(&dir.join("pre-commit")) {
            return Check::ok(
                ID,
                TITLE,
                format!("installed for every repository (core.hooksPath = {hp})"),
            );
        }
    }
    if let Some(hooks) = git(&["rev-parse", "--git-path", "hooks"], cwd) {
        let mut dir = PathBuf::from(&hooks);
        if dir.is_relative() {
            if let Some(c) = cwd {
                dir = c.join(dir);
            }
        }
        if mentions_keyage(&dir.join("pre-commit")) {
            return Check::ok(ID, TITLE, "installed in this repository");
        }
    }
    Check::warn(ID, TITLE, "not installed")
        .fix("`keyage install git-hook --global` (every repository) or `keyage install git-hook` (this one)")
}

fn xdg_config(env: &Env) -> PathBuf {
    env.xdg_config_home()
}

/// The rc files `keyage install shell` may have edited.
pub(crate) fn rc_files(env: &Env) -> Vec<(&'static str, PathBuf)> {
    let home = env.home().unwrap_or_default();
    let zdot = env
        .get("ZDOTDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| home.clone());
    vec![
        ("bash", home.join(".bashrc")),
        ("zsh", zdot.join(".zshrc")),
        ("fish", xdg_config(env).join("fish/config.fish")),
        (
            "powershell",
            xdg_config(env).join("powershell/Microsoft.PowerShell_profile.ps1"),
        ),
    ]
}

/// The shell line (`# keyage init` marker) in any rc file.
pub(crate) fn shell_init(env: &Env) -> Check {
    let found: Vec<String> = rc_files(env)
        .into_iter()
        .filter(|(_, p)| {
            crate::sys::fs::read_optional(p, crate::sys::fs::cap::SMALL_TEXT)
                .ok()
                .flatten()
                .is_some_and(|b| String::from_utf8_lossy(&b).contains(RC_MARKER))
        })
        .map(|(sh, p)| format!("{sh} ({})", p.display()))
        .collect();
    if found.is_empty() {
        Check::warn("shell_init", "shell prompt line", "not in any rc file")
            .fix("`keyage install shell` adds one line to your shell's rc file")
    } else {
        Check::ok("shell_init", "shell prompt line", found.join(", "))
    }
}

/// The background agent's unit / LaunchAgent / scheduled task.
pub(crate) fn agent(env: &Env) -> Check {
    const ID: &str = "agent";
    const TITLE: &str = "background agent";
    let fix = "`keyage install agent` (desktop reminders before keys expire)";
    if cfg!(target_os = "windows") {
        let ok = Command::new("schtasks")
            .args(["/Query", "/TN", TASK_NAME])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        return if ok {
            Check::ok(ID, TITLE, format!("scheduled task {TASK_NAME}"))
        } else {
            Check::warn(ID, TITLE, "not installed").fix(fix)
        };
    }
    let path = if cfg!(target_os = "macos") {
        env.home()
            .unwrap_or_default()
            .join("Library/LaunchAgents")
            .join(format!("{LAUNCHD_LABEL}.plist"))
    } else {
        xdg_config(env).join("systemd/user").join(SYSTEMD_UNIT)
    };
    if path.is_file() {
        Check::ok(ID, TITLE, format!("installed ({})", path.display()))
    } else {
        Check::warn(ID, TITLE, format!("not installed (no {})", path.display())).fix(fix)
    }
}
