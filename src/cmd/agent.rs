//! `keyage agent [--once]`: background desktop reminders (see `crate::agent`).

use crate::agent::{self, logfile, source::KeysSource, Speaker, Timing};
use crate::cli::AgentArgs;
use crate::env::Env;
use crate::error::{Error, Kind, Result};

pub(crate) fn run(env: &Env, args: AgentArgs) -> Result<u8> {
    let dir = crate::state::ensure_dir(env)?;
    let log = logfile::init(env, &dir)?;
    // One agent at a time per state folder (else two would say everything twice).
    let lock_path = dir.join("agent.lock");
    let Some(lock) = crate::sys::lock::FileLock::acquire(&lock_path, std::time::Duration::ZERO)?
    else {
        tracing::info!("another agent is running; exiting");
        eprintln!(
            "keyage: another agent is already running (lock {})",
            lock_path.display()
        );
        return Ok(0);
    };
    tracing::info!(
        pid = std::process::id(),
        once = args.once,
        "agent starting; log {}",
        log.display()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Error::new(
                Kind::Internal,
                format!("cannot start the async runtime: {e}"),
            )
        })?;
    let timing = Timing::default();
    let speaker = Speaker::new(crate::notifier::Desktop::new(), timing.notify_timeout);
    let code = rt.block_on(agent::run_loop(
        env,
        &KeysSource,
        speaker,
        timing,
        args.once,
    ));
    rt.shutdown_timeout(std::time::Duration::from_millis(200));
    tracing::info!("agent stopped");
    drop(lock);
    code
}
