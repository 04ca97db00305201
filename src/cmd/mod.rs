//! One file per subcommand. Each `run` takes the environment snapshot and its arguments and
//! returns the exit code (0 ok, 3 findings); errors are mapped to codes once, in `lib.rs`.

pub mod agent;
pub mod audit;
pub mod backout;
pub mod completions;
pub mod credential_process;
pub mod doctor;
pub mod finalize;
pub mod hook;
pub mod init;
pub mod install;
pub mod man;
pub mod prompt;
pub mod protect;
pub mod rotate;
pub mod scan;
pub mod status;
pub mod store;
pub mod unprotect;

use crate::cli::{Cli, Command};
use crate::env::Env;
use crate::error::Result;

pub fn dispatch(env: &Env, cli: Cli) -> Result<u8> {
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
        Command::Hook(a) => hook::run(env, a),
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
