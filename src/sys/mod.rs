//! The ground floor: system helpers, each written once, used by every other module.
//!
//! - [`fs`]: bounded reads of regular files (FIFOs, devices and sockets refused, size caps),
//!   atomic replacement (temp file beside the target, fsync, rename, fsync of the folder,
//!   mode and owner kept or private), private folders (0700, no symlink, our own);
//! - [`lock`]: advisory locks with a bounded wait (0600 lock files in the state folder; the
//!   user's AWS files are locked on themselves, so nothing is left in `~/.aws`);
//! - [`git`]: the one git runner and its error convention;
//! - [`paths`]: the program's own paths (the front and the core beside it);
//! - [`out`]: stdout that never panics on a closed pipe; [`table`]: the one table renderer;
//!   [`progress`]: the one spinner for network waits.
//!
//! Nothing here links the AWS SDK or an async runtime: the small front uses it.

pub(crate) mod fs;
pub(crate) mod git;
pub(crate) mod lock;
pub(crate) mod out;
pub(crate) mod paths;
pub(crate) mod progress;
pub(crate) mod table;
#[cfg(test)]
pub(crate) mod testing;
