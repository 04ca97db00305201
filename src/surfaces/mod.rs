//! Where warnings reach the developer: the matcher (`scan`), the staged-changes reader behind
//! the git pre-commit hook (`hook`), the shell templates (`shell`), and the installers
//! (`install`). Nothing here builds an async runtime or touches the network.

pub mod hook;
pub mod install;
pub mod prompt;
pub mod own;
pub mod scan;
pub mod shell;
