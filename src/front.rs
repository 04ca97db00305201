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

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::cmd;
use crate::env::Env;

pub(crate) use crate::sys::paths::{CORE, FRONT};

/// `main` of the `keyage` binary.
pub fn run() -> u8 {
    let args: Vec<OsString> = std::env::args_os().collect();
    let early = cmd::hook::EarlyDiff::start(&args);
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(_) => return hand_over(&args),
    };
    let needs = cli.command.needs();
    let Some(run_here) = fast_path(cli.command, early) else {
        return hand_over(&args);
    };
    let env = Env::from_process();
    super::prepare(&env, needs);
    super::finish(run_here(&env))
}

type Runner = Box<dyn FnOnce(&Env) -> crate::error::Result<u8>>;

/// The commands the front runs itself (none of them can reach the network), each once: its
/// runner, or None to hand the command line over. `early` is the pre-commit hook's diff, when
/// the front started it before parsing.
fn fast_path(command: Command, early: cmd::hook::EarlyDiff) -> Option<Runner> {
    Some(match command {
        Command::Prompt(a) => Box::new(move |env| cmd::prompt::run(env, a)),
        Command::Hook(a) => Box::new(move |env| cmd::hook::run(env, a, early)),
        Command::Init(a) => Box::new(move |env| cmd::init::run(env, a)),
        Command::Status(a) if a.offline => Box::new(move |env| cmd::status::run_offline(env, a)),
        _ => return None,
    })
}

/// Runs `keyage-core` with this command line (same argv[0], so its messages say `keyage`).
/// On Unix the front is replaced (signals, exit code and stdio are the core's own); elsewhere
/// it waits and passes the exit code on.
fn hand_over(args: &[OsString]) -> u8 {
    let core = match crate::sys::paths::core_path() {
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
