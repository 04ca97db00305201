//! `keyage man`: the man page in roff.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};

pub fn run() -> Result<u8> {
    let man = clap_mangen::Man::new(Cli::command());
    man.render(&mut std::io::stdout())
        .map_err(|e| Error::internal(format!("cannot write the man page: {e}")))?;
    Ok(0)
}
