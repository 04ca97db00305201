//! Where warnings reach the developer: the prompt segment files (`segment`, written by status
//! and the agent; read by `prompt` and the shells), the shell templates (`shell`), the matcher
//! (`scan`, with the user's own values from `own`), the staged-changes reader behind the git
//! pre-commit hook (`hook`), and the installers (`install`). Nothing here builds an async
//! runtime or touches the network.

pub mod hook;
pub mod install;
pub mod own;
pub mod prompt;
pub mod scan;
pub mod segment;
pub mod shell;
