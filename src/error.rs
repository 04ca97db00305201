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

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            hint: None,
        }
    }
    /// Adds (or replaces) the "what to do" line.
    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message)
    }
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(Kind::Internal, message)
    }
    /// A malformed file: names the file and (1-based) line.
    pub(crate) fn input(path: &Path, line: usize, message: impl fmt::Display) -> Self {
        Self::new(
            Kind::Input,
            format!("{}:{}: {}", path.display(), line, message),
        )
    }
    /// An I/O failure on a path, with the OS error (never file contents).
    pub(crate) fn io(action: &str, path: &Path, err: std::io::Error) -> Self {
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
    pub(crate) fn exit_code(&self) -> u8 {
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

/// One clean line from an SDK error and its sources: each level's `Display` joined with `: `
/// (a level that repeats the next one is dropped), never the `Debug` form the SDK's
/// `DisplayErrorContext` appends (`… (DispatchFailure(DispatchFailure { … }))`), cut to 300
/// characters. SDK errors never hold our secrets; this also keeps HTTP headers out.
pub(crate) fn sdk_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        let text = debug_message(&strip_debug(&err.to_string()));
        let text = text.trim().trim_end_matches(':').trim().to_string();
        if !text.is_empty() && !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        cur = err.source();
    }
    let mut out = parts.join(": ");
    out = out.replace(['\n', '\r', '\t'], " ");
    if out.chars().count() > 300 {
        out = out.chars().take(297).collect::<String>() + "...";
    }
    if out.is_empty() {
        "unknown error".to_string()
    } else {
        out
    }
}

/// A whole message that is a Debug dump (`Error { code: "X", message: "…", … }`, as the SDK's
/// error metadata prints) becomes its `message` field, or nothing.
fn debug_message(s: &str) -> String {
    let ident: String = s
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    let is_dump = ident.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && s[ident.len()..].trim_start().starts_with(['{', '(']);
    if !is_dump {
        return s.to_string();
    }
    let Some(at) = s.find("message: \"") else {
        return String::new();
    };
    let rest = &s[at + 10..];
    rest.split('"').next().unwrap_or("").to_string()
}

/// Drops a trailing ` (SomeType(SomeType { … }))`-style Debug dump from one message.
fn strip_debug(s: &str) -> String {
    let b = s.as_bytes();
    let mut i = 0;
    while let Some(k) = s[i..].find(" (") {
        let at = i + k;
        let rest = &s[at + 2..];
        let ident: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = rest[ident.len()..].chars().next();
        if ident.chars().next().is_some_and(|c| c.is_ascii_uppercase())
            && matches!(after, Some('(') | Some('{') | Some(' '))
            && rest[ident.len()..].trim_start().starts_with(['(', '{'])
        {
            return s[..at].to_string();
        }
        i = at + 2;
        if i >= b.len() {
            break;
        }
    }
    s.to_string()
}

/// Helper for `map_err` on I/O results.
pub(crate) trait IoContext<T> {
    fn at(self, action: &str, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, action: &str, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(action, &path.into(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct E(&'static str, Option<Box<E>>);
    impl fmt::Display for E {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for E {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            self.1.as_deref().map(|e| e as _)
        }
    }

    #[test]
    fn chain_is_clean() {
        let e = E(
            "dispatch failure",
            Some(Box::new(E(
                "io error",
                Some(Box::new(E(
                    "tcp connect error: Connection refused (os error 111) (ConnectError(ConnectError { x: 1 }))",
                    None,
                ))),
            ))),
        );
        assert_eq!(
            sdk_chain(&e),
            "dispatch failure: io error: tcp connect error: Connection refused (os error 111)"
        );
        let e = E(
            "an error (ProviderError(ProviderError { source: x }))",
            None,
        );
        assert_eq!(sdk_chain(&e), "an error");
        let e = E(
            "unhandled error (InvalidClientTokenId)",
            Some(Box::new(E(
                "Error { code: \"InvalidClientTokenId\", message: \"The token is invalid.\", aws_request_id: \"x\" }",
                None,
            ))),
        );
        assert_eq!(
            sdk_chain(&e),
            "unhandled error (InvalidClientTokenId): The token is invalid."
        );
        let e = E("same", Some(Box::new(E("same", None))));
        assert_eq!(sdk_chain(&e), "same");
    }
}
