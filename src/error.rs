//! One error type for the whole program. Every error says what happened and, where we can,
//! what the user should do about it. Errors never carry secrets: build messages from key ids,
//! paths and API error codes only.

use std::fmt;
use std::path::{Path, PathBuf};

/// What went wrong, coarsely; decides the exit code and the message prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Bad command line (exit 2).
    Usage,
    /// A file the user owns is malformed (exit 1).
    Input,
    /// Reading or writing a file failed (exit 1).
    Io,
    /// An AWS API call failed (exit 1).
    Aws,
    /// The OS keyring failed or is unreachable (exit 1).
    Keyring,
    /// Something changed under us (file rewritten by another tool, lock held) (exit 1).
    Conflict,
    /// A refusal by policy (e.g. no terminal and no `--yes`) (exit 1).
    Refused,
    /// A bug or an impossible state (exit 1).
    Internal,
}

/// The error. `message` says what happened; `hint` says what to do.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    pub hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
        }
    }
    /// Adds (or replaces) the "what to do" line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, message)
    }
    /// A malformed file: names the file and (1-based) line.
    pub fn input(path: &Path, line: usize, message: impl fmt::Display) -> Self {
        Self::new(
            Kind::Input,
            format!("{}:{}: {}", path.display(), line, message),
        )
    }
    /// An I/O failure on a path, with the OS error (never file contents).
    pub fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
        let hint = match err.kind() {
            std::io::ErrorKind::PermissionDenied => Some(format!(
                "check the permissions of {} and its folder",
                path.display()
            )),
            _ => None,
        };
        let e = Self::new(
            Kind::Io,
            format!("cannot {} {}: {}", action, path.display(), err),
        );
        match hint {
            Some(h) => e.hint(h),
            None => e,
        }
    }
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Usage => 2,
            _ => 1,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(h) = &self.hint {
            write!(f, "\n  fix: {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Helper for `map_err` on I/O results.
pub trait IoContext<T> {
    fn at(self, action: &str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, action: &str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(action, &path.into(), e))
    }
}
