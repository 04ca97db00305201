//! Where warnings reach the developer: the prompt segment files (`segment`, written by status
//! and the agent; read by `prompt` and the shells), the shell templates (`shell`), and the
//! installers (`install`). The scanner behind the git hook and `keyage scan` is its own wing,
//! `crate::scan`. Nothing here builds an async runtime or touches the network.

pub(crate) mod install;
pub(crate) mod prompt;
pub mod segment;
pub(crate) mod shell;
