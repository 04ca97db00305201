//! The one way keyage runs git, with one error convention:
//! - git cannot be started → `Err` (Kind::Io, "cannot run git: …", fix: install git or fix PATH);
//! - git ran → [`GitOut`], whatever its exit status; [`GitOut::require`] turns a failure into
//!   `Err` ("git <what> failed: <git's first stderr lines>").
//!
//! stdin is closed (or piped with [`spawn_with_stdin`]), stdout and stderr are captured; git
//! inherits keyage's environment (tests isolate HOME / GIT_CONFIG_GLOBAL through it).

use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::error::{Error, Kind, Result};

/// What a finished git said.
#[derive(Debug, Clone)]
pub(crate) struct GitOut {
    pub ok: bool,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl GitOut {
    /// stdout when git succeeded, else the error "git <what> failed: <stderr>".
    pub(crate) fn require(self, what: &str) -> Result<Vec<u8>> {
        if self.ok {
            Ok(self.stdout)
        } else {
            Err(Error::new(
                Kind::Io,
                format!("git {what} failed: {}", self.message()),
            ))
        }
    }
    /// stdout when git succeeded, else nothing (for lookups where "unset" exits non-zero).
    pub(crate) fn stdout_or_empty(self) -> Vec<u8> {
        if self.ok {
            self.stdout
        } else {
            Vec::new()
        }
    }
    /// stdout as text, without the trailing newline(s).
    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout)
            .trim_end_matches(['\n', '\r'])
            .to_string()
    }
    /// stderr as text, trimmed.
    pub(crate) fn message(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_string()
    }
}

fn command(dir: Option<&Path>, args: &[&str]) -> Command {
    let mut c = Command::new("git");
    if let Some(d) = dir {
        c.current_dir(d);
    }
    c.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    c
}

fn cannot_run(e: std::io::Error) -> Error {
    Error::new(Kind::Io, format!("cannot run git: {e}")).hint("install git or fix PATH")
}

/// Starts git in `dir` (a child: keyage works while it runs); [`finish`] collects it.
pub(crate) fn spawn(dir: Option<&Path>, args: &[&str]) -> Result<Child> {
    command(dir, args).spawn().map_err(cannot_run)
}

/// Like [`spawn`], with a piped stdin (write it from a thread, then drop it).
pub(crate) fn spawn_with_stdin(dir: Option<&Path>, args: &[&str]) -> Result<Child> {
    command(dir, args)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(cannot_run)
}

/// Waits for a git child started by [`spawn`].
pub(crate) fn finish(child: Child, what: &str) -> Result<GitOut> {
    let out = child
        .wait_with_output()
        .map_err(|e| Error::new(Kind::Io, format!("git {what}: {e}")))?;
    Ok(GitOut {
        ok: out.status.success(),
        stdout: out.stdout,
        stderr: out.stderr,
    })
}

/// Runs git in `dir` to the end.
pub(crate) fn run(dir: Option<&Path>, args: &[&str]) -> Result<GitOut> {
    let what = args.first().copied().unwrap_or("");
    finish(spawn(dir, args)?, what)
}
