//! One spinner for network waits: on stderr, only when stderr is a terminal (hidden
//! otherwise, so logs and pipes stay clean). Drop it, or call `finish`, to clear the line.
//!
//! ```ignore
//! // (crate-internal: not compiled as a doctest)
//! let s = crate::sys::progress::spinner("waiting for IAM ListAccessKeys…");
//! // … the call …
//! s.set("waiting for STS GetCallerIdentity…");
//! drop(s);
//! ```

use std::io::IsTerminal;
use std::time::Duration;

/// A spinner line; cleared when dropped.
#[derive(Debug)]
pub struct Spinner(Option<indicatif::ProgressBar>);

/// Starts a spinner saying `msg` (nothing when stderr is not a terminal).
pub(crate) fn spinner(msg: &str) -> Spinner {
    if !std::io::stderr().is_terminal() {
        return Spinner(None);
    }
    let pb = indicatif::ProgressBar::new_spinner();
    pb.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    pb.set_message(msg.to_string());
    pb.enable_steady_tick(Duration::from_millis(100));
    Spinner(Some(pb))
}

impl Spinner {
    /// Changes the message.
    pub(crate) fn set(&self, msg: &str) {
        if let Some(pb) = &self.0 {
            pb.set_message(msg.to_string());
        }
    }
    /// Clears the line.
    pub(crate) fn finish(&self) {
        if let Some(pb) = &self.0 {
            pb.finish_and_clear();
        }
    }
    /// Clears the line (indicatif's name for it).
    pub(crate) fn finish_and_clear(&self) {
        self.finish();
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.finish();
    }
}
