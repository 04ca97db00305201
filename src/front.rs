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

use crate::cli::{self, Cli, Command};
use crate::cmd;
use crate::env::Env;

use crate::sys::paths::{CORE, FRONT};

/// `main` of the `keyage` binary.
pub fn run() -> u8 {
    let args: Vec<OsString> = std::env::args_os().collect();
    let early = cmd::hook::EarlyDiff::start(&args);
    let command = match parse_alone(&args) {
        Some(c) => c,
        None => match Cli::try_parse_from(&args) {
            Ok(c) => c.command,
            Err(_) => return hand_over(&args),
        },
    };
    let needs = command.needs();
    let Some(run_here) = fast_path(command, early) else {
        return hand_over(&args);
    };
    let env = Env::from_process();
    super::prepare(&env, needs);
    super::finish(run_here(&env))
}

/// The command line of a command the front may run itself, parsed with that one subcommand's
/// clap definitions: building the whole tree (every subcommand's arguments) first was most of
/// the front's own work on the prompt. None for any other command, and whenever this parse
/// fails (`--help`, `--version`, a typo): the full parse then answers, so every message still
/// comes from one place.
fn parse_alone(args: &[OsString]) -> Option<Command> {
    use clap::{Args, FromArgMatches};
    let sub = match args.get(1)?.to_str()? {
        "prompt" => cli::PromptArgs::augment_args(clap::Command::new("prompt")),
        "hook" => cli::HookArgs::augment_args(clap::Command::new("hook")),
        "init" => cli::InitArgs::augment_args(clap::Command::new("init")),
        "status" => cli::StatusArgs::augment_args(clap::Command::new("status")),
        _ => return None,
    };
    let matches = clap::Command::new("keyage")
        .subcommand(sub)
        .try_get_matches_from(args)
        .ok()?;
    Some(Cli::from_arg_matches(&matches).ok()?.command)
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Whenever the lone parse answers, it answers what the full parse does; whenever the full
    /// parse refuses (or prints help or the version), the lone parse does not answer.
    #[test]
    fn the_lone_parse_agrees_with_the_full_one() {
        let lines: &[&[&str]] = &[
            &["prompt"],
            &["prompt", "--scope", "all"],
            &["prompt", "--scope=current"],
            &["prompt", "--scope", "nope"],
            &["prompt", "--help"],
            &["prompt", "--version"],
            &["prompt", "extra"],
            &["hook", "pre-commit"],
            &["hook"],
            &["hook", "pre-push"],
            &["init", "zsh"],
            &["init", "fish", "--no-prompt"],
            &["init"],
            &["status", "--offline"],
            &[
                "status",
                "--offline",
                "--json",
                "-p",
                "a",
                "--profile=b",
                "--fail-on",
                "warn",
            ],
            &["status", "--offline", "--refresh"],
            &["status"],
            &["status", "-h"],
            &["doctor"],
            &["--version"],
            &[],
        ];
        let mut answered = 0;
        for line in lines {
            let args: Vec<OsString> = std::iter::once("keyage")
                .chain(line.iter().copied())
                .map(OsString::from)
                .collect();
            let full = Cli::try_parse_from(&args).map(|c| format!("{:?}", c.command));
            match parse_alone(&args) {
                Some(alone) => {
                    answered += 1;
                    assert_eq!(Ok(format!("{alone:?}")), full.map_err(|_| ()), "{line:?}");
                    // It names only commands the front runs itself (status: when offline).
                    let runs_here = fast_path(alone, cmd::hook::EarlyDiff::default()).is_some();
                    assert!(runs_here || line == &["status"], "{line:?}");
                }
                None => assert!(
                    full.is_err() || !["prompt", "hook", "init", "status"].contains(&line[0]),
                    "{line:?}: the full parse answers, the lone one should too"
                ),
            }
        }
        assert_eq!(answered, 9);
    }
}
