//! The agent's log: `<state dir>/agent.log`, at most `MAX_BYTES`; when full it becomes
//! `agent.log.1` (replacing the previous one) and a new file starts. So the log never takes
//! more than twice `MAX_BYTES`. Lines come from `tracing`; nothing logged holds a secret, and
//! the SDK's wire-level targets stay capped (`crate::SDK_LOG_CAPS`).

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// 1 MiB per file.
pub(crate) const MAX_BYTES: u64 = 1024 * 1024;
pub(crate) const FILE: &str = "agent.log";

/// An append-only file that rotates itself at a size limit.
#[derive(Debug)]
pub(crate) struct CappedLog {
    path: PathBuf,
    max: u64,
    file: Option<File>,
    len: u64,
}

impl CappedLog {
    pub(crate) fn open(path: &Path, max: u64) -> io::Result<CappedLog> {
        let mut log = CappedLog {
            path: path.to_path_buf(),
            max,
            file: None,
            len: 0,
        };
        log.reopen()?;
        Ok(log)
    }

    fn reopen(&mut self) -> io::Result<()> {
        let mut opts = OpenOptions::new();
        opts.create(true).append(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        let f = opts.open(&self.path)?;
        self.len = f.metadata().map(|m| m.len()).unwrap_or(0);
        self.file = Some(f);
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        self.file = None;
        let mut old = self.path.clone().into_os_string();
        old.push(".1");
        std::fs::rename(&self.path, PathBuf::from(old))?;
        self.reopen()
    }
}

impl Write for CappedLog {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.len > 0 && self.len + buf.len() as u64 > self.max {
            // A failed rotation must not stop logging: keep appending.
            if self.rotate().is_err() && self.file.is_none() {
                self.reopen()?;
            }
        }
        let f = match self.file.as_mut() {
            Some(f) => f,
            None => return Ok(buf.len()),
        };
        let n = f.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        match self.file.as_mut() {
            Some(f) => f.flush(),
            None => Ok(()),
        }
    }
}

/// Sends `tracing` output to the capped log in `dir` (created 0700). Returns the log's path.
pub(crate) fn init(env: &crate::env::Env, dir: &Path) -> crate::error::Result<PathBuf> {
    use crate::error::IoContext;
    crate::state::ensure_private_dir(dir)?;
    let path = dir.join(FILE);
    let log = CappedLog::open(&path, MAX_BYTES).at("open", &path)?;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(crate::log_filter(env, "info"))
        .with_writer(Mutex::new(log))
        .with_ansi(false)
        .with_target(false)
        .finish()
        .with(crate::sdk_caps())
        .try_init();
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn rotates_at_the_cap() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join(FILE);
        let mut log = CappedLog::open(&p, 100).unwrap();
        for i in 0..30 {
            writeln!(log, "line {i:03} .........").unwrap();
        }
        let cur = std::fs::metadata(&p).unwrap().len();
        let old = std::fs::metadata(d.path().join("agent.log.1"))
            .unwrap()
            .len();
        assert!(cur <= 100 && old <= 100, "{cur} {old}");
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.ends_with("line 029 .........\n"), "{text}");
        #[cfg(unix)]
        {
            assert_eq!(crate::sys::fs::mode(&p), Some(0o600));
        }
    }
}
