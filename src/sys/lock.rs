//! Advisory file locks with a bounded wait (fs4: `flock` on unix, `LockFileEx` on Windows).
//!
//! Two kinds:
//! - [`FileLock::acquire`]: a lock file of keyage's own, in its state folder, created 0600
//!   (an existing one with a wider mode is narrowed), never through a symlink. The file stays
//!   (it is empty and private); the lock is released when the guard drops or the process dies.
//! - [`lock_target`] (unix): the lock on a file keyage is about to replace — the user's
//!   credentials or config file — is taken on that file itself, so no lock file is left
//!   beside it in `~/.aws`. Because the file is replaced by a rename, the inode a waiter
//!   locked may no longer be the file at that path: after taking the lock we check that the
//!   path still names the locked inode, and start over if not. Whoever holds the lock on the
//!   inode currently at the path is the one writer. (Elsewhere, where locks are mandatory and
//!   would stop the rename, a lock file in the state folder is used instead.)

use std::fs::File;
use std::path::Path;
use std::time::{Duration, Instant};

use fs4::fs_std::FileExt;

use crate::error::{Error, IoContext, Result};

const POLL: Duration = Duration::from_millis(50);

/// Held while the guard lives; the OS releases it when the process dies.
#[derive(Debug)]
pub struct FileLock {
    file: File,
}

impl FileLock {
    /// Takes an exclusive lock on `path` (created 0600 if missing), waiting at most `wait`.
    /// `Ok(None)`: someone else held it for the whole wait (the caller says who and what to do).
    pub(crate) fn acquire(path: &Path, wait: Duration) -> Result<Option<FileLock>> {
        let file = open_lock_file(path)?;
        let start = Instant::now();
        loop {
            if FileExt::try_lock_exclusive(&file).at("lock", path)? {
                return Ok(Some(FileLock { file }));
            }
            if start.elapsed() >= wait {
                return Ok(None);
            }
            std::thread::sleep(POLL);
        }
    }
    /// The locked file (for [`lock_target`]: the very inode the caller will read).
    pub(crate) fn file(&mut self) -> &mut File {
        &mut self.file
    }
}

fn open_lock_file(path: &Path) -> Result<File> {
    let mut opts = std::fs::OpenOptions::new();
    opts.create(true).truncate(false).read(true).write(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_NOCTTY);
    }
    let file = opts.open(path).map_err(|e| {
        #[cfg(unix)]
        if e.raw_os_error() == Some(libc::ELOOP) {
            return Error::new(
                crate::error::Kind::Refused,
                format!(
                    "{} is a symbolic link; keyage will not lock through it",
                    path.display()
                ),
            )
            .hint(format!("remove {}", path.display()));
        }
        Error::io("create the lock file", path, e)
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = file.metadata().at("read the metadata of", path)?;
        if !meta.is_file() {
            return Err(crate::sys::fs::ReadError::NotRegular {
                path: path.to_path_buf(),
                what: "not a regular file",
            }
            .into());
        }
        // A lock file made by an older keyage may be 0644.
        if meta.permissions().mode() & 0o777 != 0o600 {
            file.set_permissions(std::fs::Permissions::from_mode(0o600))
                .at("chmod", path)?;
        }
    }
    Ok(file)
}

/// Locks the file at `path` itself (unix; see the module docs), waiting at most `wait`.
/// `Ok(None)`: another writer held it for the whole wait. The returned lock's
/// [`FileLock::file`] is open for reading on the locked inode, which is the file at `path`.
#[cfg(unix)]
pub(crate) fn lock_target(path: &Path, wait: Duration) -> Result<Option<FileLock>> {
    use std::os::unix::fs::MetadataExt;
    let start = Instant::now();
    loop {
        let file = open_target(path)?;
        let mut got = false;
        loop {
            if FileExt::try_lock_exclusive(&file).at("lock", path)? {
                got = true;
                break;
            }
            if start.elapsed() >= wait {
                break;
            }
            std::thread::sleep(POLL);
        }
        if !got {
            return Ok(None);
        }
        let held = file.metadata().at("read the metadata of", path)?;
        match std::fs::metadata(path) {
            Ok(now) if (now.dev(), now.ino()) == (held.dev(), held.ino()) => {
                return Ok(Some(FileLock { file }))
            }
            // Replaced while we waited: the lock that counts is on the new file.
            Ok(_) if start.elapsed() < wait => continue,
            Ok(_) => return Ok(None),
            Err(e) => return Err(Error::io("read the metadata of", path, e)),
        }
    }
}

/// Opens the file to lock: read-write when allowed (NFS emulates `flock` with POSIX locks,
/// and an exclusive one needs a descriptor open for writing), else read-only. Never truncates
/// or creates; non-blocking, so a FIFO cannot hold the open (it is refused when read).
#[cfg(unix)]
fn open_target(path: &Path) -> Result<File> {
    use std::os::unix::fs::OpenOptionsExt;
    let rw = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path);
    match rw {
        Ok(f) => Ok(f),
        Err(e)
            if e.kind() == std::io::ErrorKind::PermissionDenied
                || e.raw_os_error() == Some(libc::EROFS) =>
        {
            crate::sys::fs::open_nonblocking(path, crate::sys::fs::Follow::Yes).map_err(Error::from)
        }
        Err(e) => Err(
            crate::sys::fs::open_nonblocking(path, crate::sys::fs::Follow::Yes)
                .err()
                .map(Error::from)
                .unwrap_or_else(|| Error::io("open", path, e)),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_waits_then_gives_up() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.lock");
        let a = FileLock::acquire(&p, Duration::ZERO).unwrap().unwrap();
        assert!(FileLock::acquire(&p, Duration::from_millis(120))
            .unwrap()
            .is_none());
        drop(a);
        assert!(FileLock::acquire(&p, Duration::ZERO).unwrap().is_some());
        #[cfg(unix)]
        {
            assert_eq!(crate::sys::fs::mode(&p), Some(0o600));
        }
    }

    #[cfg(unix)]
    #[test]
    fn an_old_wide_lock_file_is_narrowed() {
        let (_d, p) = crate::sys::testing::temp_file("x.lock", b"", Some(0o644));
        let _l = FileLock::acquire(&p, Duration::ZERO).unwrap().unwrap();
        assert_eq!(crate::sys::fs::mode(&p), Some(0o600));
    }

    #[cfg(unix)]
    #[test]
    fn target_lock_follows_a_replacement() {
        let (d, p) = crate::sys::testing::temp_file("credentials", b"a", None);
        let mut a = lock_target(&p, Duration::ZERO).unwrap().unwrap();
        assert!(lock_target(&p, Duration::from_millis(100))
            .unwrap()
            .is_none());
        // The holder replaces the file; a waiter then locks the new inode.
        let p2 = p.clone();
        let waiter = std::thread::spawn(move || {
            let mut l = lock_target(&p2, Duration::from_secs(5)).unwrap().unwrap();
            let mut s = String::new();
            std::io::Read::read_to_string(l.file(), &mut s).unwrap();
            s
        });
        std::thread::sleep(Duration::from_millis(100));
        crate::sys::fs::stage(&p, b"b", crate::sys::fs::Keep::Existing)
            .unwrap()
            .commit()
            .unwrap();
        let _ = a.file();
        drop(a);
        assert_eq!(waiter.join().unwrap(), "b");
        assert_eq!(std::fs::read_dir(d.path()).unwrap().count(), 1);
    }
}
