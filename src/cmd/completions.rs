//! `keyage completions <shell>`.

use clap::CommandFactory;

use crate::cli::{Cli, CompletionsArgs};
use crate::error::Result;

pub fn run(args: CompletionsArgs) -> Result<u8> {
    let mut cmd = Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "keyage", &mut std::io::stdout());
    Ok(0)
}
