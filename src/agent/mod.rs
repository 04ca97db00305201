//! `keyage agent`: background reminders.
//!
//! One loop (tokio, current thread): refresh at start, then every `agent.refresh_hours`
//! (jittered ±10 %), and shortly after the credentials, AWS config or keyage config file
//! changes (their folders are watched: editors replace files). Each cycle refreshes key facts
//! (`Source`), keeps the prompt segment current, decides what to say (`memory::decide`, pure)
//! and says it (`Notifier`, called off the loop with a bounded wait). Network down: back off
//! (1 min doubling to 30 min) and retry quietly. SIGTERM/SIGINT: clean exit.
//!
//! - `event`: what a cycle found; `texts`: what a notification says; `memory`: what was said;
//! - `logfile`: the size-capped log; `source`: the real `Source`; `install`: service files.

pub(crate) mod event;
pub mod install;
pub(crate) mod logfile;
pub(crate) mod memory;
pub(crate) mod source;
pub(crate) mod texts;
pub(crate) mod watch;

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;

use crate::env::Env;
use crate::error::Result;
use crate::notifier::Notifier;

pub(crate) use event::{Event, Level, RotationNeed};
pub(crate) use memory::{decide, Memory, Planned};

/// What one refresh learned.
#[derive(Debug, Clone, Default)]
pub(crate) struct Refreshed {
    pub events: Vec<Event>,
    /// IAM could not be reached (network down): retry soon, quietly.
    pub unreachable: bool,
    /// `agent.auto_rotate`: rotate a key when it enters warn (and say how it went).
    pub auto_rotate: bool,
}

/// Where the facts come from (the keys module, IAM, the rotation journal).
pub(crate) trait Source {
    /// Refreshes facts, keeps the prompt segment current, and returns what needs attention.
    fn refresh(&self, env: &Env) -> impl std::future::Future<Output = Result<Refreshed>>;
    /// Rotates the key of `profile` (for `agent.auto_rotate`). Err: why not, one line.
    fn rotate(
        &self,
        env: &Env,
        profile: &str,
    ) -> impl std::future::Future<Output = std::result::Result<(), String>>;
    /// `agent.refresh_hours` from the config (re-read each cycle; 0 = only on file changes).
    fn refresh_hours(&self, env: &Env) -> u32;
}

/// Timing knobs (tests shorten nothing: these are the product values).
#[derive(Debug, Clone)]
pub(crate) struct Timing {
    /// Quiet time after a file event before refreshing.
    pub debounce: Duration,
    /// Longest single sleep, so a wall-clock deadline is noticed after a suspend.
    pub max_sleep: Duration,
    pub backoff_first: Duration,
    pub backoff_max: Duration,
    /// Bound on one notification (a server that never answers must not hang us).
    pub notify_timeout: Duration,
}

impl Default for Timing {
    fn default() -> Self {
        Timing {
            debounce: Duration::from_millis(300),
            max_sleep: Duration::from_secs(15 * 60),
            backoff_first: Duration::from_secs(60),
            backoff_max: Duration::from_secs(30 * 60),
            notify_timeout: Duration::from_secs(5),
        }
    }
}

/// The next periodic refresh: `hours` ± 10 % (None when periodic refresh is off).
pub(crate) fn next_interval(hours: u32, jitter: f64) -> Option<Duration> {
    if hours == 0 {
        return None;
    }
    let base = f64::from(hours) * 3600.0;
    let j = jitter.clamp(-1.0, 1.0) * 0.1;
    Some(Duration::from_secs_f64(base * (1.0 + j)))
}

/// Sends notes and remembers the ones shown. Logs one warning when notifications cannot be
/// shown, then stays quiet until they work again.
pub(crate) struct Speaker<N> {
    notifier: Arc<N>,
    timeout: Duration,
    failing: bool,
}

impl<N: Notifier + Send + Sync + 'static> Speaker<N> {
    pub(crate) fn new(notifier: N, timeout: Duration) -> Self {
        Speaker {
            notifier: Arc::new(notifier),
            timeout,
            failing: false,
        }
    }

    /// Shows what `decide` planned; records each shown note in `memory` and saves it at once
    /// to `save_to` (so a kill right after cannot make a restart repeat it). Returns how many
    /// were shown.
    pub(crate) async fn say(
        &mut self,
        planned: Vec<Planned>,
        memory: &mut Memory,
        save_to: Option<&std::path::Path>,
    ) -> usize {
        let mut shown = 0;
        for p in planned {
            let n = self.notifier.clone();
            let note = p.note.clone();
            let sent = tokio::time::timeout(
                self.timeout,
                tokio::task::spawn_blocking(move || n.send(&note)),
            )
            .await;
            let outcome = match sent {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(e))) => Err(e.message),
                Ok(Err(e)) => Err(format!("notification task failed: {e}")),
                Err(_) => Err(format!(
                    "the notification server did not answer within {} s",
                    self.timeout.as_secs()
                )),
            };
            match outcome {
                Ok(()) => {
                    if self.failing {
                        tracing::info!("desktop notifications work again");
                    }
                    self.failing = false;
                    tracing::info!(entry = %p.entry, summary = %p.note.summary, "notified");
                    memory.record(&p, Utc::now());
                    shown += 1;
                    if let Some(path) = save_to {
                        if let Err(e) = memory.save(path) {
                            tracing::warn!("cannot save the notification memory: {e}");
                        }
                    }
                }
                Err(e) => {
                    if !self.failing {
                        tracing::warn!(
                            "cannot show desktop notifications ({e}); the agent keeps running and will retry quietly"
                        );
                    } else {
                        tracing::debug!("notification not shown: {e}");
                    }
                    self.failing = true;
                    // Not recorded: said once a server is there.
                }
            }
        }
        shown
    }
}

/// `agent.auto_rotate`: a key that enters a warn stage is rotated; its note becomes the
/// outcome (rotated, or why not and what to run).
/// Returns the entries it acted on.
async fn auto_rotate<S: Source>(env: &Env, source: &S, planned: &mut [Planned]) -> Vec<Planned> {
    let mut attempted = Vec::new();
    for p in planned.iter_mut() {
        let Event::Key(k) = &p.event else { continue };
        if k.level != Level::Warn {
            continue;
        }
        let Some(profile) = k.profiles.first() else {
            continue;
        };
        tracing::info!(profile = %profile, "auto_rotate: rotating");
        let error = source.rotate(env, profile).await.err();
        match &error {
            None => tracing::info!(profile = %profile, "auto_rotate: rotated"),
            Some(e) => tracing::warn!(profile = %profile, "auto_rotate failed: {e}"),
        }
        let outcome = Event::Rotation(RotationNeed::AutoRotated {
            profile: profile.clone(),
            key_id: k.key_id.clone(),
            error,
        });
        if let Some(note) = texts::note_for(&outcome) {
            p.note = note;
        }
        attempted.push(p.clone());
    }
    attempted
}

/// Why the loop woke.
enum Wake {
    Timer,
    Files,
    Stop(&'static str),
}

/// Runs the agent until a signal (or, with `once`, for one cycle). Exit code 0.
pub(crate) async fn run_loop<S: Source, N: Notifier + Send + Sync + 'static>(
    env: &Env,
    source: &S,
    mut speaker: Speaker<N>,
    timing: Timing,
    once: bool,
) -> Result<u8> {
    let mem_path = Memory::path(env);
    let mut memory = Memory::load(&mem_path);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut watcher = if once {
        None
    } else {
        Some(watch::Watch::new(env, tx))
    };
    let mut stop = Stop::new()?;

    let mut backoff: Option<Duration> = None;
    let mut deadline = tokio::time::Instant::now();
    let mut wall_deadline = std::time::SystemTime::now();
    let mut first = true;
    loop {
        let wake = if first {
            first = false;
            Wake::Timer
        } else {
            wait(&mut rx, &mut stop, deadline, wall_deadline, &timing).await
        };
        let why = match wake {
            Wake::Stop(sig) => {
                tracing::info!("{sig}: stopping");
                break;
            }
            Wake::Files => "a watched file changed",
            Wake::Timer => "scheduled",
        };
        tracing::info!("refreshing ({why})");
        let result = tokio::select! {
            r = source.refresh(env) => r,
            sig = stop.recv() => {
                tracing::info!("{sig} during a refresh: stopping");
                break;
            }
        };
        let mut retry_soon = false;
        match result {
            Ok(r) => {
                if r.unreachable {
                    retry_soon = true;
                    tracing::info!("IAM is unreachable (network down?); will retry");
                } else {
                    backoff = None;
                }
                let now = Utc::now();
                let mut planned = decide(&r.events, &memory, now);
                let attempted = if r.auto_rotate {
                    auto_rotate(env, source, &mut planned).await
                } else {
                    Vec::new()
                };
                let due = planned.len();
                let shown = speaker.say(planned, &mut memory, Some(&mem_path)).await;
                // A rotation attempt is not repeated even when its note could not be shown.
                for p in &attempted {
                    if !memory.said.contains_key(&p.entry) {
                        memory.record(p, now);
                    }
                }
                memory.prune(&r.events, now);
                if let Err(e) = memory.save(&mem_path) {
                    tracing::warn!("cannot save the notification memory: {e}");
                }
                tracing::info!(events = r.events.len(), due, shown, "cycle done");
            }
            Err(e) => {
                tracing::warn!("refresh failed: {e}");
                tracing::info!("cycle done (refresh failed)");
                // `--once` reports a malformed file like any command (exit 1, file:line, fix);
                // the long-running agent keeps going and picks up the fix when the file changes.
                if once && e.kind == crate::error::Kind::Input {
                    return Err(e);
                }
                retry_soon = e.kind == crate::error::Kind::Aws;
            }
        }
        if once {
            break;
        }
        if let Some(w) = watcher.as_mut() {
            w.rewatch();
        }
        let wait_for = if retry_soon {
            let b = backoff
                .map(|b| (b * 2).min(timing.backoff_max))
                .unwrap_or(timing.backoff_first);
            backoff = Some(b);
            Some(b)
        } else {
            next_interval(source.refresh_hours(env), rand::random::<f64>() * 2.0 - 1.0)
        };
        // None: no periodic refresh; a far deadline that only file events beat.
        let wait_for = wait_for.unwrap_or(Duration::from_secs(10 * 365 * 86400));
        deadline = tokio::time::Instant::now() + wait_for;
        wall_deadline = std::time::SystemTime::now() + wait_for;
        tracing::debug!(seconds = wait_for.as_secs(), "next refresh");
    }
    drop(watcher);
    Ok(0)
}

async fn wait(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<()>,
    stop: &mut Stop,
    deadline: tokio::time::Instant,
    wall_deadline: std::time::SystemTime,
    timing: &Timing,
) -> Wake {
    loop {
        // The monotonic clock stops during suspend; the wall clock does not. Sleep at most
        // `max_sleep` at a time and compare with the wall clock.
        let now = tokio::time::Instant::now();
        let wall_left = wall_deadline
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO);
        if now >= deadline || wall_left.is_zero() {
            return Wake::Timer;
        }
        let nap = (deadline - now).min(wall_left).min(timing.max_sleep);
        tokio::select! {
            _ = tokio::time::sleep(nap) => continue,
            ev = rx.recv() => {
                if ev.is_none() {
                    // The watcher is gone; timers only.
                    tokio::time::sleep(nap).await;
                    continue;
                }
                // Debounce: wait for a quiet spell (editors write several times).
                while let Ok(Some(())) = tokio::time::timeout(timing.debounce, rx.recv()).await {}
                return Wake::Files;
            }
            sig = stop.recv() => return Wake::Stop(sig),
        }
    }
}

/// SIGTERM and SIGINT (Ctrl-C on Windows).
struct Stop {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Stop {
    fn new() -> Result<Stop> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let err = |e: std::io::Error| {
                crate::error::Error::internal(format!("cannot listen for signals: {e}"))
            };
            Ok(Stop {
                term: signal(SignalKind::terminate()).map_err(err)?,
                int: signal(SignalKind::interrupt()).map_err(err)?,
            })
        }
        #[cfg(not(unix))]
        Ok(Stop {})
    }
    async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.int.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "Ctrl-C"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifier::Note;
    use std::sync::Mutex;

    #[test]
    fn interval_jitter() {
        assert_eq!(next_interval(0, 0.5), None);
        assert_eq!(next_interval(6, 0.0), Some(Duration::from_secs(6 * 3600)));
        let hi = next_interval(6, 1.0).unwrap().as_secs_f64();
        let lo = next_interval(6, -1.0).unwrap().as_secs_f64();
        assert!((hi - 6.6 * 3600.0).abs() < 1.0 && (lo - 5.4 * 3600.0).abs() < 1.0);
    }

    struct Fake {
        sent: Mutex<Vec<Note>>,
        fail: bool,
    }
    impl Notifier for Fake {
        fn send(&self, note: &Note) -> Result<()> {
            if self.fail {
                return Err(crate::error::Error::internal("ServiceUnknown"));
            }
            self.sent.lock().unwrap().push(note.clone());
            Ok(())
        }
    }

    fn warn() -> Event {
        Event::Key(super::event::KeySeen {
            key_id: "AKIAIOSFODNN7EXAMPLE".into(),
            profiles: vec!["work".into()],
            level: Level::Warn,
            age_days: Some(80),
            age_is_lower_bound: false,
            max_age_days: 90,
            warn_stage: Some(75),
            unused_days: None,
        })
    }

    fn speaker(fail: bool) -> Speaker<Fake> {
        let fake = Fake {
            sent: Mutex::new(vec![]),
            fail,
        };
        Speaker::new(fake, Duration::from_secs(1))
    }

    #[tokio::test]
    async fn failing_server_is_not_recorded() {
        let mut m = Memory::default();
        let mut s = speaker(true);
        s.say(decide(&[warn()], &m, Utc::now()), &mut m, None).await;
        assert!(m.said.is_empty() && s.failing);
        let mut s = speaker(false);
        s.say(decide(&[warn()], &m, Utc::now()), &mut m, None).await;
        assert_eq!(m.said.len(), 1);
        assert_eq!(s.notifier.sent.lock().unwrap().len(), 1);
    }
}
