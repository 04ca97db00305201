//! `keyage install agent` / `keyage uninstall agent`: the agent as a systemd user service
//! (Linux), a LaunchAgent (macOS) or a scheduled task (Windows), from the templates in
//! `installers/`, filled with this binary's path.
//!
//! When the service manager cannot be reached (no systemd user session, no launchctl GUI
//! domain), install keeps the file it wrote, says so and prints the manual command, and exits 0:
//! the file is the installation; starting it is the service manager's job.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::env::Env;
use crate::error::{Error, IoContext, Kind, Result};

pub(crate) const SYSTEMD_TEMPLATE: &str =
    include_str!("../../installers/systemd/keyage-agent.service");
pub(crate) const LAUNCHD_TEMPLATE: &str =
    include_str!("../../installers/launchd/dev.keyage.agent.plist");
pub(crate) const TASK_TEMPLATE: &str = include_str!("../../installers/windows/keyage-agent.xml");

pub(crate) const SYSTEMD_UNIT: &str = "keyage-agent.service";
pub(crate) const LAUNCHD_LABEL: &str = "dev.keyage.agent";
pub(crate) const TASK_NAME: &str = "keyage-agent";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    pub(crate) fn current() -> Os {
        if cfg!(target_os = "macos") {
            Os::MacOs
        } else if cfg!(windows) {
            Os::Windows
        } else {
            Os::Linux
        }
    }
}

/// What install writes and runs (pure: built from the environment and the binary's path).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub os: Os,
    pub path: PathBuf,
    pub contents: String,
    /// Run after writing the file.
    pub enable: Vec<Vec<String>>,
    /// Run before removing the file.
    pub disable: Vec<Vec<String>>,
    /// Run after removing the file.
    pub after_remove: Vec<Vec<String>>,
}

/// systemd's ExecStart quoting: double quotes, C escapes, `%` and `$` doubled.
pub(crate) fn systemd_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '%' => out.push_str("%%"),
            '$' => out.push_str("$$"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

pub fn render_systemd(bin: &Path) -> String {
    SYSTEMD_TEMPLATE.replace("{{EXEC}}", &systemd_quote(&bin.to_string_lossy()))
}
pub fn render_launchd(bin: &Path) -> String {
    LAUNCHD_TEMPLATE.replace("{{BIN}}", &xml_escape(&bin.to_string_lossy()))
}
pub fn render_task(bin: &Path) -> String {
    TASK_TEMPLATE.replace("{{BIN}}", &xml_escape(&bin.to_string_lossy()))
}

fn cmd(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| s.to_string()).collect()
}

/// `$XDG_CONFIG_HOME` (absolute), else `~/.config`.
fn xdg_config_home(env: &Env) -> PathBuf {
    env.xdg_config_home()
}

fn uid() -> String {
    #[cfg(unix)]
    {
        // SAFETY: getuid cannot fail and has no preconditions.
        unsafe { libc::getuid() }.to_string()
    }
    #[cfg(not(unix))]
    {
        "0".to_string()
    }
}

/// The plan for `os`, running `bin`.
pub fn plan(env: &Env, os: Os, bin: &Path) -> Result<Plan> {
    let home = || {
        env.home().ok_or_else(|| {
            Error::new(
                Kind::Refused,
                "HOME is not set: cannot tell where to install",
            )
            .hint("set HOME and try again")
        })
    };
    Ok(match os {
        Os::Linux => Plan {
            os,
            path: xdg_config_home(env).join("systemd/user").join(SYSTEMD_UNIT),
            contents: render_systemd(bin),
            enable: vec![
                cmd(&["systemctl", "--user", "daemon-reload"]),
                cmd(&["systemctl", "--user", "enable", "--now", SYSTEMD_UNIT]),
            ],
            disable: vec![cmd(&[
                "systemctl",
                "--user",
                "disable",
                "--now",
                SYSTEMD_UNIT,
            ])],
            after_remove: vec![cmd(&["systemctl", "--user", "daemon-reload"])],
        },
        Os::MacOs => {
            let path = home()?
                .join("Library/LaunchAgents")
                .join(format!("{LAUNCHD_LABEL}.plist"));
            let domain = format!("gui/{}", uid());
            Plan {
                os,
                contents: render_launchd(bin),
                enable: vec![vec![
                    "launchctl".into(),
                    "bootstrap".into(),
                    domain.clone(),
                    path.to_string_lossy().into_owned(),
                ]],
                disable: vec![vec![
                    "launchctl".into(),
                    "bootout".into(),
                    format!("{domain}/{LAUNCHD_LABEL}"),
                ]],
                after_remove: vec![],
                path,
            }
        }
        Os::Windows => {
            let path = env.config_dir().join("keyage-agent.xml");
            Plan {
                os,
                contents: render_task(bin),
                enable: vec![vec![
                    "schtasks".into(),
                    "/Create".into(),
                    "/TN".into(),
                    TASK_NAME.into(),
                    "/XML".into(),
                    path.to_string_lossy().into_owned(),
                    "/F".into(),
                ]],
                disable: vec![cmd(&["schtasks", "/Delete", "/TN", TASK_NAME, "/F"])],
                after_remove: vec![],
                path,
            }
        }
    })
}

fn show(c: &[String]) -> String {
    c.iter()
        .map(|a| {
            if a.contains(' ') {
                format!("\"{a}\"")
            } else {
                a.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs one command with the variables of `env` that service managers look at (so tests with
/// an isolated environment never reach the real session). Err: what went wrong, for the user.
fn run(env: &Env, c: &[String]) -> std::result::Result<(), String> {
    let Some((prog, args)) = c.split_first() else {
        return Ok(());
    };
    let mut command = Command::new(prog);
    command.args(args);
    for var in [
        "PATH",
        "HOME",
        "XDG_RUNTIME_DIR",
        "DBUS_SESSION_BUS_ADDRESS",
        "XDG_CONFIG_HOME",
    ] {
        match env.get(var) {
            Some(v) => command.env(var, v),
            None => command.env_remove(var),
        };
    }
    match command.output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => {
            let err = String::from_utf8_lossy(&o.stderr);
            let first = err.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            Err(format!(
                "`{}` failed ({}): {}",
                show(c),
                o.status,
                first.trim()
            ))
        }
        Err(e) => Err(format!("cannot run {prog}: {e}")),
    }
}

fn why_not(os: Os) -> &'static str {
    match os {
        Os::Linux => "no systemd user session is reachable (no `systemctl --user`)",
        Os::MacOs => "launchctl could not load it (no GUI login session?)",
        Os::Windows => "Task Scheduler refused it",
    }
}

fn bytes_for(os: Os, contents: &str) -> Vec<u8> {
    if os == Os::Windows {
        // Task Scheduler wants UTF-16 (little endian, with a byte order mark).
        let text = contents.replacen("encoding=\"UTF-8\"", "encoding=\"UTF-16\"", 1);
        let mut out = vec![0xFF, 0xFE];
        for u in text.encode_utf16() {
            out.extend_from_slice(&u.to_le_bytes());
        }
        out
    } else {
        contents.as_bytes().to_vec()
    }
}

fn current_bin() -> Result<PathBuf> {
    let exe = crate::sys::paths::user_facing_exe()
        .map_err(|e| Error::internal(format!("cannot find this program's path: {e}")))?;
    Ok(std::fs::canonicalize(&exe).unwrap_or(exe))
}

/// Installs (or, with `print`, shows) the agent for this OS. Exit code 0 when the file is in
/// place, also when the service manager could not be reached (then the manual command is
/// printed on stderr).
pub(crate) fn install(env: &Env, print: bool) -> Result<u8> {
    install_with(env, Os::current(), &current_bin()?, print)
}

pub fn install_with(env: &Env, os: Os, bin: &Path, print: bool) -> Result<u8> {
    let p = plan(env, os, bin)?;
    if print {
        crate::say!("# would write {}", p.path.display());
        crate::sys::out::print(&p.contents)?;
        for c in &p.enable {
            crate::say!("# then run: {}", show(c));
        }
        return Ok(0);
    }
    if let Some(dir) = p.path.parent() {
        std::fs::create_dir_all(dir).at("create", dir)?;
    }
    crate::state::write_atomic(&p.path, &bytes_for(os, &p.contents))?;
    crate::say!("wrote {}", p.path.display());
    for (i, c) in p.enable.iter().enumerate() {
        if let Err(e) = run(env, c) {
            let rest: Vec<String> = p.enable[i..].iter().map(|c| show(c)).collect();
            eprintln!(
                "keyage: the agent is installed but not started: {}.\n  {e}\n  fix: once you are logged in to a desktop session, run: {}",
                why_not(os),
                rest.join(" && ")
            );
            return Ok(0);
        }
        crate::say!("ran {}", show(c));
    }
    crate::say!(
        "the agent is running; its log is {}",
        env.state_dir().join(super::logfile::FILE).display()
    );
    Ok(0)
}

/// Stops and removes the agent. Nothing installed: says so, exit 0.
pub(crate) fn uninstall(env: &Env) -> Result<u8> {
    uninstall_with(env, Os::current(), &current_bin()?)
}

pub fn uninstall_with(env: &Env, os: Os, bin: &Path) -> Result<u8> {
    let p = plan(env, os, bin)?;
    if !p.path.exists() {
        crate::say!(
            "the agent is not installed ({} does not exist)",
            p.path.display()
        );
        return Ok(0);
    }
    for c in &p.disable {
        if let Err(e) = run(env, c) {
            eprintln!(
                "keyage: could not stop the agent through the service manager ({e}); removing its file anyway.\n  if it is still running, run: {}",
                show(c)
            );
        }
    }
    std::fs::remove_file(&p.path).at("remove", &p.path)?;
    crate::say!("removed {}", p.path.display());
    for c in &p.after_remove {
        let _ = run(env, c);
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(systemd_quote("/opt/my bin/k%y$"), "\"/opt/my bin/k%%y$$\"");
        assert_eq!(xml_escape("a&b<c>"), "a&amp;b&lt;c&gt;");
        let u = render_systemd(Path::new("/usr/bin/keyage"));
        assert!(u.contains("ExecStart=\"/usr/bin/keyage\" agent\n"), "{u}");
        assert!(u.contains("Restart=on-failure"));
        assert!(
            render_task(Path::new("C:\\k & co\\keyage.exe")).contains("C:\\k &amp; co\\keyage.exe")
        );
    }

    #[test]
    fn paths_follow_xdg() {
        let env = Env::from_pairs([("HOME", "/h"), ("XDG_CONFIG_HOME", "/x")]);
        let p = plan(&env, Os::Linux, Path::new("/b/keyage")).unwrap();
        assert_eq!(
            p.path,
            PathBuf::from("/x/systemd/user/keyage-agent.service")
        );
        let env = Env::from_pairs([("HOME", "/h")]);
        let p = plan(&env, Os::Linux, Path::new("/b/keyage")).unwrap();
        assert_eq!(
            p.path,
            PathBuf::from("/h/.config/systemd/user/keyage-agent.service")
        );
        let p = plan(&env, Os::MacOs, Path::new("/b/keyage")).unwrap();
        assert_eq!(
            p.path,
            PathBuf::from("/h/Library/LaunchAgents/dev.keyage.agent.plist")
        );
        assert!(p.enable[0][2].starts_with("gui/"));
    }

    #[test]
    fn windows_file_is_utf16() {
        let b = bytes_for(
            Os::Windows,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><a/>",
        );
        assert_eq!(&b[..2], &[0xFF, 0xFE]);
        let units: Vec<u16> = b[2..]
            .chunks(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect();
        assert!(String::from_utf16(&units).unwrap().contains("UTF-16"));
    }
}
