//! `keyage completions <shell>`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;

pub(crate) fn run(args: CompletionsArgs) -> Result<u8> {
    let mut cmd = Cli::command();
    // Rendered in memory: clap_complete panics when its writer fails (`| head -c1`).
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "keyage", &mut buf);
    crate::sys::out::write(&buf)?;
    Ok(0)
}
