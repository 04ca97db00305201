//! `keyage man`: the man page in roff.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::error::{Error, Result};

pub(crate) fn run() -> Result<u8> {
    let man = clap_mangen::Man::new(Cli::command());
    let mut buf = Vec::new();
    man.render(&mut buf)
        .map_err(|e| Error::internal(format!("cannot write the man page: {e}")))?;
    crate::sys::out::write(&buf)?;
    Ok(0)
}
