//! The `keyage` program users call: a small front that runs the fast paths itself and hands
//! every other command, unchanged, to `keyage-core` (installed beside it).
//!
//! Why two programs: the full program links the AWS SDK (~25 MB), and as a position-independent
//! executable the dynamic loader must relocate ~48,000 pointers (writing ~200 pages) at every
//! start, whatever the command. That is most of the cost of `keyage prompt` (run by prompt
//! tools on every prompt), of the git hook (every commit), of `keyage init` (every new shell)
//! and of `keyage status --offline`. The front links none of the SDK (it never reaches
//! [`crate::keys::gather`]; a test checks the binary) and so starts about as fast as a C
//! program, with ASLR kept. Other commands pay one extra `exec` (~1 ms), next to network
//! calls.
//!
//! The command line is parsed by the same clap definitions ([`crate::cli`]); a parse error,
//! `--help` or `--version` is handed over too, so every message comes from one place.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::cmd;
use crate::env::Env;

/// The full program's file name (without the platform's executable suffix).
pub const CORE: &str = "keyage-core";
/// This program's file name (without the platform's executable suffix).
pub const FRONT: &str = "keyage";

/// `main` of the `keyage` binary.
pub fn run() -> u8 {
    let args: Vec<OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(_) => return hand_over(&args),
    };
    if !runs_here(&cli.command) {
        return hand_over(&args);
    }
    let env = Env::from_process();
    super::prepare(&env, &cli);
    let result = match cli.command {
        Command::Prompt(a) => cmd::prompt::run(&env, a),
        Command::Hook(a) => cmd::hook::run(&env, a),
        Command::Init(a) => cmd::init::run(&env, a),
        Command::Status(a) => cmd::status::run_offline(&env, a),
        _ => return hand_over(&args),
    };
    super::finish(result)
}

/// The commands the front runs itself: none of them can reach the network.
fn runs_here(command: &Command) -> bool {
    match command {
        Command::Prompt(_) | Command::Hook(_) | Command::Init(_) => true,
        Command::Status(a) => a.offline,
        _ => false,
    }
}

/// The program called `name` (plus the platform's executable suffix) beside `exe`.
fn beside(exe: &Path, name: &str) -> PathBuf {
    exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX))
}

/// `keyage-core` beside this program.
fn core_path() -> std::io::Result<PathBuf> {
    Ok(beside(&std::env::current_exe()?, CORE))
}

/// Runs `keyage-core` with this command line (same argv[0], so its messages say `keyage`).
/// On Unix the front is replaced (signals, exit code and stdio are the core's own); elsewhere
/// it waits and passes the exit code on.
fn hand_over(args: &[OsString]) -> u8 {
    let core = match core_path() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("keyage: cannot find this program's own path: {e}");
            return 1;
        }
    };
    let mut command = std::process::Command::new(&core);
    command.args(args.iter().skip(1));
    let err = run_replacing(command, args.first());
    eprintln!(
        "keyage: cannot run {}: {err}\n  fix: keyage is two programs installed side by side \
         ({FRONT} and {CORE}); reinstall both with `cargo install --locked keyage` (or from a \
         checkout: `cargo install --locked --path .`)",
        core.display()
    );
    1
}

#[cfg(unix)]
fn run_replacing(mut command: std::process::Command, arg0: Option<&OsString>) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    if let Some(a) = arg0 {
        command.arg0(a);
    }
    command.exec()
}

#[cfg(not(unix))]
fn run_replacing(mut command: std::process::Command, _arg0: Option<&OsString>) -> std::io::Error {
    match command.status() {
        Ok(status) => std::process::exit(status.code().unwrap_or(1)),
        Err(e) => e,
    }
}

/// The path of the `keyage` users call, for what installers write into hooks, units and rc
/// files: the front beside this program when this is `keyage-core`, else this program.
pub fn user_facing_exe() -> std::io::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let is_core = exe.file_stem().is_some_and(|s| s == CORE);
    let front = beside(&exe, FRONT);
    Ok(if is_core && front.is_file() {
        front
    } else {
        exe
    })
}
