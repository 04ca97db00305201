//! keyage: keeps a developer's own AWS access keys young.
//!
//! Data flows one way: the credentials/config files (`profiles`) give the distinct keys;
//! `keys` learns their facts (IAM through `KeyService`, cached in `state`); `keys::policy`
//! (pure) turns facts into levels; the surfaces (`cmd::status`, `surfaces`, `agent`) show them.
//! `rotation` is the one path that writes back, step by step under a journal.

pub mod agent;
pub(crate) mod audit;
pub mod aws;
pub(crate) mod bounded;
pub(crate) mod bus;
pub(crate) mod cli;
pub(crate) mod cmd;
pub(crate) mod config;
pub(crate) mod doctor;
pub mod env;
pub mod error;
pub mod front;
pub mod keys;
pub mod notifier;
pub mod profiles;
pub(crate) mod protect;
pub(crate) mod rotation;
pub mod scan;
pub mod secret;
pub(crate) mod state;
pub(crate) mod store;
pub mod surfaces;
pub(crate) mod sys;
pub mod vault;

use clap::Parser;

/// The full program (`keyage-core`): parses the command line, runs any command, maps errors to
/// exit codes (once, here). The `keyage` users call is the small `front`, which runs the fast
/// paths itself and hands everything else here.
pub fn run() -> u8 {
    let cli = match cli::Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return usage_error(e),
    };
    let env = env::Env::from_process();
    prepare(&env, cli.command.needs());
    finish(cmd::dispatch(&env, cli))
}

/// Prints a clap error (or help/version) and returns its exit code: 0 for help/version, else 2.
fn usage_error(e: clap::Error) -> u8 {
    let _ = e.print();
    match e.kind() {
        clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion => 0,
        _ => 2,
    }
}

/// What every command does before its own work: logging (not on the quiet fast paths), and
/// the notice naming the two ways out of an interrupted rotation (not on the fast paths nor on
/// the rotation commands, which handle it themselves).
fn prepare(env: &env::Env, needs: cli::Needs) {
    if needs.logging {
        init_logging(env);
    }
    if needs.unfinished_notice {
        if let Some(notice) = rotation::unfinished(env) {
            eprintln!("{notice}");
        }
    }
    if needs.unfinished_notice {
        if let Some(notice) = protect::unfinished(env) {
            eprintln!("{notice}");
        }
    }
}

/// A command's result as an exit code; an error is printed once, here.
fn finish(r: error::Result<u8>) -> u8 {
    match r {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keyage: {e}");
            e.exit_code()
        }
    }
}

/// Logs go to stderr, filtered by `KEYAGE_LOG` (else `RUST_LOG`, else `warn`). The SDK's own
/// wire-level targets are capped at `info` whatever the filter says: at trace they would print
/// request and response bodies, and a CreateAccessKey response holds a new secret. The cap is a
/// second, global filter (it can only lower a level: with the default `warn` the SDK's info
/// lines stay hidden).
pub(crate) fn init_logging(env: &env::Env) {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(log_filter(env, "warn"))
        .with_writer(std::io::stderr)
        .with_ansi(
            std::io::IsTerminal::is_terminal(&std::io::stderr()) && env.get("NO_COLOR").is_none(),
        )
        .with_target(true)
        .finish()
        .with(sdk_caps())
        .try_init();
}

/// The filter from `KEYAGE_LOG` (else `RUST_LOG`, else `default` with the SDK's own targets
/// at `error`: keyage says what went wrong itself, in one or two clean lines, so the SDK's
/// WARN lines — e.g. twice "config file overridden via environment variable not found" when
/// `AWS_CONFIG_FILE` names a missing file — never reach the terminal). Always combine it with
/// `sdk_caps()` (the agent's log file does too, see `agent::logfile`).
pub(crate) fn log_filter(env: &env::Env, default: &str) -> tracing_subscriber::EnvFilter {
    use tracing_subscriber::EnvFilter;
    let quiet = || {
        let sdk: String = SDK_LOG_CAPS
            .split(',')
            .filter_map(|d| d.split_once('='))
            .filter(|(t, _)| !matches!(*t, "zbus" | "notify_rust"))
            .map(|(t, _)| format!(",{t}=error"))
            .collect();
        EnvFilter::new(format!("{default}{sdk}"))
    };
    match env.get("KEYAGE_LOG").or_else(|| env.get("RUST_LOG")) {
        Some(base) => EnvFilter::try_new(base).unwrap_or_else(|_| quiet()),
        None => quiet(),
    }
}

/// A filter that only lowers: every target in `SDK_LOG_CAPS` at most `info`, all else passes.
pub(crate) fn sdk_caps() -> tracing_subscriber::filter::Targets {
    use tracing_subscriber::filter::{LevelFilter, Targets};
    SDK_LOG_CAPS
        .split(',')
        .filter_map(|d| d.split_once('='))
        .fold(
            Targets::new().with_default(LevelFilter::TRACE),
            |t, (target, _)| t.with_target(target, LevelFilter::INFO),
        )
}

/// Targets whose trace/debug output may include HTTP bodies or signing material.
pub(crate) const SDK_LOG_CAPS: &str = "aws_smithy_runtime=info,aws_smithy_runtime_api=info,aws_smithy_http=info,aws_smithy_http_client=info,aws_sigv4=info,aws_runtime=info,aws_config=info,aws_sdk_iam=info,aws_sdk_sts=info,hyper=info,hyper_util=info,h2=info,rustls=info,zbus=info,notify_rust=info";
