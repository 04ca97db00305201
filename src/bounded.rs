//! Calls into libraries that may block forever (a D-Bus peer that owns a name but never
//! answers: notification servers, a keyring waiting on an unlock prompt) run on a thread of
//! their own and are given up after a bound. The abandoned thread ends with the process.

use std::sync::mpsc;
use std::time::Duration;

use crate::error::{Error, Result};

/// Runs `f` on a thread named `thread` and waits at most `timeout` for its result.
/// `Ok(None)` means the time ran out; the caller says what that means for its edge.
pub(crate) fn run<T: Send + 'static>(
    thread: &str,
    timeout: Duration,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<Option<T>> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(thread.to_string())
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| Error::internal(format!("cannot start a {thread} thread: {e}")))?;
    Ok(rx.recv_timeout(timeout).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn answers_or_gives_up() {
        assert_eq!(run("t", Duration::from_secs(5), || 7).unwrap(), Some(7));
        let slow = run("t", Duration::from_millis(20), || {
            std::thread::sleep(Duration::from_secs(2));
        });
        assert_eq!(slow.unwrap(), None);
    }
}
