//! Standard output that never panics: a closed pipe (`keyage status | head -1`,
//! `keyage completions bash | head -c1`) ends the output quietly instead of a panic or an
//! error message, and the command's exit code stays what it was. Other write errors are
//! reported once, as an error. `println!` is not used for program output (it panics on a
//! closed pipe).

use std::io::Write;

use crate::error::{Error, Kind, Result};

/// Maps a write result: a closed pipe is fine, anything else is an error.
pub(crate) fn settle(r: std::io::Result<()>) -> Result<()> {
    match r {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::new(
            Kind::Io,
            format!("cannot write to standard output: {e}"),
        )),
    }
}

/// Stdout as [`with_stdout`] hands it out.
pub(crate) type Stdout = std::io::BufWriter<std::io::StdoutLock<'static>>;

/// Runs `f` with buffered stdout (one `write` per 64 KiB, not per item), then flushes. The
/// writer is a concrete type, not `dyn Write`: serializers write many tiny pieces, and each
/// then stays an inlined copy into the buffer (10,000 profiles of `status --json`: 11 MB).
pub(crate) fn with_stdout(f: impl FnOnce(&mut Stdout) -> std::io::Result<()>) -> Result<()> {
    let stdout = std::io::stdout();
    let mut w = std::io::BufWriter::with_capacity(64 << 10, stdout.lock());
    settle(f(&mut w).and_then(|()| w.flush()))
}

/// Writes `bytes` to stdout.
pub(crate) fn write(bytes: &[u8]) -> Result<()> {
    with_stdout(|w| w.write_all(bytes))
}

/// Writes `text` to stdout.
pub(crate) fn print(text: &str) -> Result<()> {
    write(text.as_bytes())
}

/// Writes `text` and a newline to stdout, ignoring every error (progress lines of a command
/// that must go on even when nobody reads its output, e.g. a rotation).
pub(crate) fn line(text: impl std::fmt::Display) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{text}").and_then(|()| out.flush());
}

/// `println!` that never panics: [`line`] with format arguments.
#[macro_export]
macro_rules! say {
    ($($t:tt)*) => {
        $crate::sys::out::line(format_args!($($t)*))
    };
}
/// Writes `keyage: warning: {text}` and a newline to stderr, ignoring every error (a warning
/// must never end the command).
pub(crate) fn warning(text: impl std::fmt::Display) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "keyage: warning: {text}");
}

/// `eprintln!("keyage: warning: …")` that never panics: [`warning`] with format arguments.
#[macro_export]
macro_rules! warning {
    ($($t:tt)*) => {
        $crate::sys::out::warning(format_args!($($t)*))
    };
}
