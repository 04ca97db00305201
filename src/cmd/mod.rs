//! One file per subcommand. Each `run` takes the environment snapshot and its arguments and
//! returns the exit code (0 ok, 3 findings); errors are mapped to codes once, in `lib.rs`.

pub(crate) mod agent;
pub(crate) mod audit;
pub(crate) mod backout;
pub(crate) mod completions;
pub(crate) mod credential_process;
pub(crate) mod doctor;
pub(crate) mod finalize;
pub(crate) mod hook;
pub(crate) mod init;
pub(crate) mod install;
pub(crate) mod man;
pub(crate) mod prompt;
pub(crate) mod protect;
pub(crate) mod rotate;
pub(crate) mod scan;
pub(crate) mod status;
pub(crate) mod store;
pub(crate) mod unprotect;

use crate::cli::{Cli, Command};
use crate::env::Env;
use crate::error::Result;

pub(crate) fn dispatch(env: &Env, cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Status(a) => status::run(env, a),
        Command::Doctor(a) => doctor::run(env, a),
        Command::RotateSelf(a) => rotate::run(env, a),
        Command::Finalize(a) => finalize::run(env, a),
        Command::Backout(a) => backout::run(env, a),
        Command::Protect(a) => protect::run(env, a),
        Command::Unprotect(a) => unprotect::run(env, a),
        Command::CredentialProcess(a) => credential_process::run(env, a),
        Command::Prompt(a) => prompt::run(env, a),
        Command::Init(a) => init::run(env, a),
        Command::Hook(a) => hook::run(env, a, hook::EarlyDiff::default()),
        Command::Scan(a) => scan::run(env, a),
        Command::Install(a) => install::run(env, a, true),
        Command::Uninstall(a) => install::run(env, a, false),
        Command::Agent(a) => agent::run(env, a),
        Command::Audit(a) => audit::run(env, a),
        Command::Store(a) => store::run(env, a),
        Command::Completions(a) => completions::run(a),
        Command::Man => man::run(),
    }
}
