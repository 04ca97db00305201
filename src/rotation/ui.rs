//! Talking to the person at the terminal: confirmation, the MFA code, the spinner. Without a
//! terminal nothing is asked: the caller must have said `--yes` / `--token-code`.

use std::io::{BufRead, IsTerminal, Write};

use crate::error::{Error, Kind, Result};

/// True when both stdin and stderr are terminals (we ask on stderr, read stdin).
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks a yes/no question (default no). `yes` answers it; without a terminal it refuses.
pub fn confirm(question: &str, yes: bool, what_flag: &str) -> Result<bool> {
    if yes {
        return Ok(true);
    }
    if !interactive() {
        return Err(Error::new(
            Kind::Refused,
            "no terminal to ask for confirmation on, and no --yes".to_string(),
        )
        .hint(format!(
            "read the plan above, then run again with {what_flag}"
        )));
    }
    let line = ask(&format!("{question} [y/N] "))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}

/// Reads the MFA code from the terminal.
pub fn mfa_code(serial: &str) -> Result<String> {
    if !interactive() {
        return Err(Error::new(
            Kind::Refused,
            format!("MFA device {serial} needs a code, and there is no terminal to ask on"),
        )
        .hint("pass --token-code CODE"));
    }
    let line = ask(&format!("MFA code for {serial}: "))?;
    Ok(line.trim().to_string())
}

fn ask(prompt: &str) -> Result<String> {
    let mut err = std::io::stderr();
    let _ = write!(err, "{prompt}");
    let _ = err.flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::new(Kind::Io, format!("cannot read the answer: {e}")))?;
    Ok(line)
}

/// A spinner on stderr when it is a terminal, else nothing (the one spinner:
/// `crate::sys::progress`).
pub fn spinner(msg: &str) -> crate::sys::progress::Spinner {
    crate::sys::progress::spinner(msg)
}

/// One progress line on stderr.
pub fn step(msg: &str) {
    eprintln!("keyage: {msg}");
}
