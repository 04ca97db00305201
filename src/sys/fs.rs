//! Files: bounded reads of regular files only, atomic replacement, private folders.
//!
//! Every file keyage reads goes through [`read_regular`] / [`read_optional`]: the file is
//! opened non-blocking (a FIFO cannot hold the open or the read), checked on the open
//! descriptor (no race between the check and the read) to be a regular file, and read up to a
//! cap. Devices, FIFOs, sockets and folders are refused with an error that names the file and
//! the fix; so is a file over the cap (the error names the cap).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, IoContext, Kind, Result};

/// Caps for what keyage reads. A credentials file with 10,000 profiles is ≈ 1 MB.
pub(crate) mod cap {
    /// The AWS credentials and config files.
    pub(crate) const AWS_FILE: u64 = 32 << 20;
    /// keyage's own `config.toml`.
    pub(crate) const CONFIG: u64 = 1 << 20;
    /// keyage's state files (cache, journal, pending list, memory) and install records.
    pub(crate) const STATE: u64 = 64 << 20;
    /// One prompt segment file or `_meta`.
    pub(crate) const SEGMENT: u64 = 64 << 10;
    /// A git hook, an rc file, a git config file.
    pub(crate) const SMALL_TEXT: u64 = 4 << 20;
}

/// Whether the last path component may be a symlink.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Follow {
    /// Follow it (the user's AWS files, config.toml: dotfile managers link them).
    Yes,
    /// Refuse it (keyage's own state files: nobody should plant a link there).
    No,
}

/// Why a bounded read failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("{} does not exist", path.display())]
    NotFound { path: PathBuf },
    #[error("{} is {what}, not a regular file; keyage reads regular files only", path.display())]
    NotRegular { path: PathBuf, what: &'static str },
    #[error("{} is larger than keyage's limit of {} for this file", path.display(), human(*cap))]
    TooBig { path: PathBuf, cap: u64 },
    #[error("{} is a symbolic link; keyage does not follow links in its own folders", path.display())]
    Symlink { path: PathBuf },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl ReadError {
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, ReadError::NotFound { .. })
    }
    /// What to do about it.
    pub(crate) fn fix(&self) -> String {
        match self {
            ReadError::NotFound { path } => format!("create {} or point keyage elsewhere", path.display()),
            ReadError::NotRegular { path, .. } => format!(
                "point keyage at a regular file (the variable or setting that names {}), or move the special file away",
                path.display()
            ),
            ReadError::TooBig { path, .. } => format!(
                "check that {} is the right file; it is far larger than such a file should be",
                path.display()
            ),
            ReadError::Symlink { path } => format!(
                "remove the link {} (keyage writes a fresh file there)",
                path.display()
            ),
            ReadError::Io { path, source } => match source.kind() {
                std::io::ErrorKind::PermissionDenied => format!(
                    "make it readable by you: chmod u+r {} (and check its folder)",
                    path.display()
                ),
                _ => format!("check {} and its folder", path.display()),
            },
        }
    }
}

impl From<ReadError> for Error {
    fn from(e: ReadError) -> Self {
        let kind = match &e {
            ReadError::NotRegular { .. } | ReadError::TooBig { .. } | ReadError::Symlink { .. } => {
                Kind::Input
            }
            _ => Kind::Io,
        };
        let fix = e.fix();
        Error::new(kind, e.to_string()).hint(fix)
    }
}

fn human(cap: u64) -> String {
    if cap >= 1 << 20 && cap % (1 << 20) == 0 {
        format!("{} MiB", cap >> 20)
    } else if cap >= 1 << 10 && cap % (1 << 10) == 0 {
        format!("{} KiB", cap >> 10)
    } else {
        format!("{cap} bytes")
    }
}

/// What a non-regular file is, in words.
fn what(ft: &std::fs::FileType) -> &'static str {
    type Test = fn(&std::fs::FileType) -> bool;
    #[cfg(unix)]
    use std::os::unix::fs::FileTypeExt;
    let kinds: &[(Test, &'static str)] = &[
        #[cfg(unix)]
        (|t| t.is_fifo(), "a FIFO (named pipe)"),
        #[cfg(unix)]
        (|t| t.is_socket(), "a socket"),
        #[cfg(unix)]
        (|t| t.is_char_device(), "a character device"),
        #[cfg(unix)]
        (|t| t.is_block_device(), "a block device"),
        (|t| t.is_dir(), "a folder"),
        (|t| t.is_symlink(), "a symbolic link"),
    ];
    kinds
        .iter()
        .find(|(is, _)| is(ft))
        .map_or("a special file", |&(_, name)| name)
}

/// Opens `path` for reading without blocking (O_NONBLOCK: a FIFO with no writer opens at once
/// and is then refused), without becoming a controlling terminal, and (with `Follow::No`)
/// without following a final symlink.
pub(crate) fn open_nonblocking(
    path: &Path,
    follow: Follow,
) -> std::result::Result<std::fs::File, ReadError> {
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
        if follow == Follow::No {
            flags |= libc::O_NOFOLLOW;
        }
        opts.custom_flags(flags);
    }
    #[cfg(not(unix))]
    if follow == Follow::No
        && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
    {
        return Err(ReadError::Symlink {
            path: path.to_path_buf(),
        });
    }
    #[cfg(not(unix))]
    if let Ok(m) = std::fs::metadata(path) {
        if !m.is_file() {
            return Err(ReadError::NotRegular {
                path: path.to_path_buf(),
                what: what(&m.file_type()),
            });
        }
    }
    opts.open(path)
        .map_err(|e| classify_open_error(path, follow, e))
}

fn classify_open_error(path: &Path, follow: Follow, e: std::io::Error) -> ReadError {
    let path = path.to_path_buf();
    if e.kind() == std::io::ErrorKind::NotFound {
        return ReadError::NotFound { path };
    }
    #[cfg(unix)]
    if follow == Follow::No && e.raw_os_error() == Some(libc::ELOOP) {
        return ReadError::Symlink { path };
    }
    let _ = follow;
    // A folder opens fine on unix; elsewhere it may fail here.
    if std::fs::metadata(&path).is_ok_and(|m| m.is_dir()) {
        return ReadError::NotRegular {
            path,
            what: "a folder",
        };
    }
    ReadError::Io { path, source: e }
}

/// Reads all of an open file, checked on its descriptor to be regular, up to `cap` bytes.
pub(crate) fn read_open(
    file: &mut std::fs::File,
    path: &Path,
    cap: u64,
) -> std::result::Result<Vec<u8>, ReadError> {
    let io = |source| ReadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            what: what(&meta.file_type()),
        });
    }
    let too_big = || ReadError::TooBig {
        path: path.to_path_buf(),
        cap,
    };
    if meta.len() > cap {
        return Err(too_big());
    }
    // The length may be 0 for files that still have content (procfs); read to the cap.
    let mut buf = Vec::with_capacity(meta.len() as usize);
    let mut limited = (&mut *file).take(cap + 1);
    match limited.read_to_end(&mut buf) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            return Err(ReadError::NotRegular {
                path: path.to_path_buf(),
                what: "a file that cannot be read without waiting",
            })
        }
        Err(e) => return Err(io(e)),
    }
    if buf.len() as u64 > cap {
        return Err(too_big());
    }
    Ok(buf)
}

/// Reads a regular file of at most `cap` bytes (see the module docs).
pub(crate) fn read_regular_with(
    path: &Path,
    cap: u64,
    follow: Follow,
) -> std::result::Result<Vec<u8>, ReadError> {
    let mut f = open_nonblocking(path, follow)?;
    read_open(&mut f, path, cap)
}

/// A file's bytes as [`view_regular`] gives them: read into memory (zeroed when dropped), or,
/// for a large file on unix, mapped read-only (nothing is copied, so nothing is left to zero).
pub enum Contents {
    Read(zeroize::Zeroizing<Vec<u8>>),
    #[cfg(unix)]
    Mapped(Mapping),
}

impl std::ops::Deref for Contents {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Contents::Read(v) => v,
            #[cfg(unix)]
            Contents::Mapped(m) => m.bytes(),
        }
    }
}

/// From this size on, [`view_regular`] maps the file: reading 200 MB into fresh memory costs
/// a page fault per 4 KiB, a copy, and a zeroing pass at the end, more than scanning it.
pub const MAP_FROM: u64 = 4 << 20;

/// A read-only private mapping of a whole regular file (`munmap` on drop).
#[cfg(unix)]
pub struct Mapping {
    ptr: *mut libc::c_void,
    len: usize,
}

#[cfg(unix)]
impl Mapping {
    fn bytes(&self) -> &[u8] {
        // SAFETY: `ptr` is a live PROT_READ mapping of `len` bytes until `drop`.
        unsafe { std::slice::from_raw_parts(self.ptr.cast::<u8>(), self.len) }
    }
}

#[cfg(unix)]
impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `view_regular`, once.
        unsafe {
            libc::munmap(self.ptr, self.len);
        }
    }
}

/// Like [`read_regular_with`], for files that are only scanned (`keyage scan`): a regular
/// file of at least [`MAP_FROM`] bytes is mapped read-only instead of copied (the same
/// checks: opened without waiting, regular on the open descriptor, at most `cap` bytes).
/// If another process truncates the file while it is mapped, reading the lost pages ends the
/// process (SIGBUS), as with every program that maps files (git, ripgrep): a scan then fails,
/// it never passes.
pub fn view_regular(
    path: &Path,
    cap: u64,
    follow: Follow,
) -> std::result::Result<Contents, ReadError> {
    let mut f = open_nonblocking(path, follow)?;
    #[cfg(unix)]
    if let Ok(meta) = f.metadata() {
        if meta.is_file() && meta.len() >= MAP_FROM && meta.len() <= cap {
            use std::os::unix::io::AsRawFd;
            let len = meta.len() as usize;
            // SAFETY: a fresh read-only private mapping of an open regular file; the result is
            // checked before use and owned by `Mapping`, which unmaps it.
            let ptr = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    len,
                    libc::PROT_READ,
                    libc::MAP_PRIVATE | map_populate(),
                    f.as_raw_fd(),
                    0,
                )
            };
            if ptr != libc::MAP_FAILED {
                return Ok(Contents::Mapped(Mapping { ptr, len }));
            }
            // Not mappable (some file systems): read it.
        }
    }
    read_open(&mut f, path, cap).map(|b| Contents::Read(zeroize::Zeroizing::new(b)))
}

/// Fault the whole mapping in at once (Linux): one walk of the page cache, not one fault
/// per page while scanning.
#[cfg(target_os = "linux")]
fn map_populate() -> libc::c_int {
    libc::MAP_POPULATE
}

#[cfg(all(unix, not(target_os = "linux")))]
fn map_populate() -> libc::c_int {
    0
}

/// Reads a regular file of at most `cap` bytes, following a symlink; a missing file is an error.
pub(crate) fn read_regular(path: &Path, cap: u64) -> Result<Vec<u8>> {
    Ok(read_regular_with(path, cap, Follow::Yes)?)
}

/// Like [`read_regular`], but a missing file is `None`.
pub(crate) fn read_optional(path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    read_optional_with(path, cap, Follow::Yes)
}

/// Like [`read_regular_with`], but a missing file is `None`.
pub(crate) fn read_optional_with(path: &Path, cap: u64, follow: Follow) -> Result<Option<Vec<u8>>> {
    match read_regular_with(path, cap, follow) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// A keyage state file (never through a symlink): `None` when missing.
pub(crate) fn read_state(path: &Path) -> Result<Option<Vec<u8>>> {
    read_optional_with(path, cap::STATE, Follow::No)
}

/// What the new file's mode and owner are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Keep {
    /// A new private file (0600, owned by the current user): keyage's own files.
    Private,
    /// The mode and owner of the file being replaced (0600 when there is none yet).
    Existing,
}

/// A temp file beside its target, written and synced, ready to be renamed into place.
#[derive(Debug)]
pub(crate) struct Staged {
    tmp: tempfile::NamedTempFile,
    target: PathBuf,
}

impl Staged {
    /// Renames it over the target, then fsyncs the folder.
    pub(crate) fn commit(self) -> Result<()> {
        let dir = parent(&self.target).to_path_buf();
        self.tmp
            .persist(&self.target)
            .map_err(|e| Error::io("replace", &self.target, e.error))?;
        sync_dir(&dir);
        Ok(())
    }
}

fn parent(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Writes `bytes` to a temp file in `target`'s folder (created exclusively, 0600), sets the
/// mode and owner per `keep`, and fsyncs it. Nothing is visible at `target` until
/// [`Staged::commit`]; a dropped `Staged` removes its temp file.
pub(crate) fn stage(target: &Path, bytes: &[u8], keep: Keep) -> Result<Staged> {
    let dir = parent(target);
    let meta = match keep {
        Keep::Existing => match std::fs::metadata(target) {
            Ok(m) => Some(m),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io("read the metadata of", target, e)),
        },
        Keep::Private => None,
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".keyage-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .at("create a temp file in", dir)?;
    // tempfile creates files 0600 on unix.
    tmp.write_all(bytes).at("write", tmp.path())?;
    #[cfg(unix)]
    if let Some(meta) = &meta {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let f = tmp.as_file();
        let mine = f.metadata().at("read the metadata of", tmp.path())?;
        if (mine.uid(), mine.gid()) != (meta.uid(), meta.gid()) {
            std::os::unix::fs::fchown(f, Some(meta.uid()), Some(meta.gid())).map_err(|e| {
                Error::io("give the new file the owner of", target, e)
                    .hint("run keyage as the user who owns the file")
            })?;
        }
        f.set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))
            .at("set the mode of", tmp.path())?;
    }
    #[cfg(not(unix))]
    let _ = meta;
    tmp.as_file().sync_all().at("fsync", tmp.path())?;
    Ok(Staged {
        tmp,
        target: target.to_path_buf(),
    })
}

/// Writes `bytes` to `path` atomically as a private file: a 0600 temp file in the same folder,
/// fsync, rename, fsync of the folder. Readers see the old or the new file, never a mix.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    stage(path, bytes, Keep::Private)?.commit()
}

/// fsyncs a folder so a rename in it is durable (best effort; not possible on Windows).
pub(crate) fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(f) = std::fs::File::open(dir) {
        let _ = f.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// The permission bits (`rwx` for user, group, others) of `path`, symlinks followed; None
/// when it cannot be read or off Unix. For tests.
#[cfg(test)]
pub(crate) fn mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path)
            .ok()
            .map(|m| m.permissions().mode() & 0o777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Removes `path` and fsyncs its folder so the removal is durable; a missing file is fine.
/// `action` names the removal in the error (`cannot {action} {path}: …`).
pub(crate) fn remove_durable(path: &Path, action: &str) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            if let Some(dir) = path.parent() {
                sync_dir(dir);
            }
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io(action, path, e)),
    }
}

/// Creates `dir` (missing parents too, 0700) and makes sure it is a private folder of the
/// current user: mode 0700, not a symlink, owned by us. A symlink or a folder owned by
/// someone else is refused with the fix; the mode is set on the folder itself (opened with
/// O_NOFOLLOW), never on a link's target. Only the last component is checked: for a
/// subfolder of the state folder, check the state folder first (`state::ensure_dir`).
pub(crate) fn ensure_private_dir(dir: &Path) -> Result<()> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    if let Err(e) = b.create(dir) {
        // create_dir_all fails on a dangling symlink or a file in the way: say which.
        if std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) {
            return Err(symlink_refusal(dir));
        }
        return Err(Error::io("create", dir, e));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOFOLLOW)
            .open(dir);
        let f = match f {
            Ok(f) => f,
            Err(e)
                if e.raw_os_error() == Some(libc::ELOOP)
                    || std::fs::symlink_metadata(dir).is_ok_and(|m| m.file_type().is_symlink()) =>
            {
                return Err(symlink_refusal(dir))
            }
            Err(e) => return Err(Error::io("open the folder", dir, e)),
        };
        let meta = f.metadata().at("read the metadata of", dir)?;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(foreign_refusal(dir, meta.uid(), me));
        }
        if meta.mode() & 0o777 != 0o700 {
            f.set_permissions(std::fs::Permissions::from_mode(0o700))
                .at("chmod", dir)?;
        }
    }
    Ok(())
}

/// The checks of [`ensure_private_dir`] without changing anything (for a dry run): a missing
/// folder is fine (it will be created); a symlink or a folder of someone else is refused.
pub(crate) fn check_private_dir(dir: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(dir) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io("read the metadata of", dir, e)),
    };
    if meta.file_type().is_symlink() {
        return Err(symlink_refusal(dir));
    }
    if !meta.is_dir() {
        return Err(Error::new(
            Kind::Refused,
            format!("{} is not a folder", dir.display()),
        )
        .hint(
            "move it away (keyage creates the folder), or set KEYAGE_STATE_DIR to a folder of your own",
        ));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me {
            return Err(foreign_refusal(dir, meta.uid(), me));
        }
    }
    Ok(())
}

#[cfg(unix)]
fn foreign_refusal(dir: &Path, owner: u32, me: u32) -> Error {
    Error::new(
        Kind::Refused,
        format!(
            "{} belongs to user id {owner}, not to you (user id {me}); keyage keeps its state only in a folder of your own",
            dir.display(),
        ),
    )
    .hint(format!(
        "move it away (keyage creates a new one), or `sudo chown -R {me} {}`, or set KEYAGE_STATE_DIR to a folder of your own",
        dir.display()
    ))
}

/// Whether two paths lead to one file (same device and inode, links followed). None when
/// either cannot be read.
pub(crate) fn same_file(a: &Path, b: &Path) -> Option<bool> {
    let (ma, mb) = (std::fs::metadata(a).ok()?, std::fs::metadata(b).ok()?);
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        Some((ma.dev(), ma.ino()) == (mb.dev(), mb.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = (ma, mb);
        Some(std::fs::canonicalize(a).ok()? == std::fs::canonicalize(b).ok()?)
    }
}

/// Whether keyage can replace `path` atomically: the file is writable and its folder takes a
/// new file and a rename. The error names the file and the fix.
pub(crate) fn check_replaceable(path: &Path) -> Result<()> {
    let real = std::fs::canonicalize(path).at("resolve", path)?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let ok = |p: &Path, mode: libc::c_int| {
            std::ffi::CString::new(p.as_os_str().as_bytes())
                // SAFETY: a valid NUL-terminated path; access has no other preconditions.
                .map(|c| unsafe { libc::access(c.as_ptr(), mode) } == 0)
                .unwrap_or(false)
        };
        if !ok(&real, libc::W_OK) {
            return Err(Error::new(
                Kind::Refused,
                format!("{} is not writable by you", path.display()),
            )
            .hint(format!(
                "chmod u+w {} (or run keyage as its owner)",
                real.display()
            )));
        }
        let dir = parent(&real);
        if !ok(dir, libc::W_OK | libc::X_OK) {
            return Err(Error::new(
                Kind::Refused,
                format!(
                    "keyage cannot create a file in {}, so it cannot replace {} atomically",
                    dir.display(),
                    path.display()
                ),
            )
            .hint(format!("chmod u+wx {}", dir.display())));
        }
    }
    #[cfg(not(unix))]
    if std::fs::metadata(&real)
        .at("read the metadata of", path)?
        .permissions()
        .readonly()
    {
        return Err(Error::new(
            Kind::Refused,
            format!("{} is read-only", path.display()),
        ));
    }
    Ok(())
}

/// The mode bits of `path` when group or others may read or write it (unix), else None.
pub(crate) fn open_to_others(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = std::fs::metadata(path).ok()?.permissions().mode() & 0o777;
        (m & 0o077 != 0).then_some(m)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Narrows `path` (links followed) to 0600.
pub(crate) fn make_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).at("chmod", path)?;
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Removes the temp files a killed keyage left in `dir` (`.keyage-*.tmp`, regular files
/// older than `age`: a live writer renames its temp file within milliseconds). Best effort;
/// returns how many went.
pub(crate) fn remove_stale_temps(dir: &Path, age: std::time::Duration) -> usize {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return 0;
    };
    let now = std::time::SystemTime::now();
    let mut n = 0;
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(".keyage-") && name.ends_with(".tmp")) {
            continue;
        }
        let Ok(m) = e.path().symlink_metadata() else {
            continue;
        };
        let old = m
            .modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|d| d >= age);
        if m.is_file() && old && std::fs::remove_file(e.path()).is_ok() {
            n += 1;
        }
    }
    if n > 0 {
        sync_dir(dir);
    }
    n
}

fn symlink_refusal(dir: &Path) -> Error {
    Error::new(
        Kind::Refused,
        format!(
            "{} is a symbolic link; keyage keeps its state only in a real folder (it would otherwise change the mode of the link's target)",
            dir.display()
        ),
    )
    .hint(format!(
        "replace the link with a folder (`rm {0} && mkdir -m 700 {0}`), or set KEYAGE_STATE_DIR to a folder of your own",
        dir.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn view_maps_large_files_and_reads_small_ones() {
        let (d, small) = crate::sys::testing::temp_file("small", b"hello", None);
        let v = view_regular(&small, 10, Follow::Yes).unwrap();
        assert!(matches!(v, Contents::Read(_)));
        assert_eq!(&*v, b"hello");
        let big = d.path().join("big");
        let bytes: Vec<u8> = (0..MAP_FROM as usize + 3)
            .map(|i| (i % 251) as u8)
            .collect();
        std::fs::write(&big, &bytes).unwrap();
        let v = view_regular(&big, MAP_FROM * 2, Follow::Yes).unwrap();
        #[cfg(unix)]
        assert!(matches!(v, Contents::Mapped(_)));
        assert_eq!(&*v, &bytes[..]);
        assert!(matches!(
            view_regular(&big, MAP_FROM, Follow::Yes),
            Err(ReadError::TooBig { .. })
        ));
        assert!(
            view_regular(&d.path().join("none"), 10, Follow::Yes).is_err_and(|e| e.is_not_found())
        );
    }

    #[test]
    fn atomic_write_is_private() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("state");
        ensure_private_dir(&sub).unwrap();
        let p = sub.join("x.json");
        write_atomic(&p, b"{}").unwrap();
        write_atomic(&p, b"{\"a\":1}").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":1}");
        #[cfg(unix)]
        {
            assert_eq!(crate::sys::fs::mode(&p), Some(0o600));
            assert_eq!(crate::sys::fs::mode(&sub), Some(0o700));
        }
    }

    #[cfg(unix)]
    #[test]
    fn staging_over_a_file_keeps_its_mode() {
        let (d, p) = crate::sys::testing::temp_file("f", b"a", Some(0o640));
        stage(&p, b"b", Keep::Existing).unwrap().commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"b");
        assert_eq!(crate::sys::fs::mode(&p), Some(0o640));
        let n = std::fs::read_dir(d.path()).unwrap().count();
        assert_eq!(n, 1, "no temp file left");
    }

    #[test]
    fn reads_are_bounded() {
        let (d, p) = crate::sys::testing::temp_file("f", &[b'x'; 100], None);
        assert_eq!(read_regular(&p, 100).unwrap().len(), 100);
        let e = read_regular_with(&p, 99, Follow::Yes).unwrap_err();
        assert!(matches!(e, ReadError::TooBig { cap: 99, .. }), "{e}");
        assert!(read_optional(&d.path().join("nope"), 10).unwrap().is_none());
        let e = read_regular_with(d.path(), 10, Follow::Yes).unwrap_err();
        assert!(matches!(e, ReadError::NotRegular { .. }), "{e}");
        assert!(e.to_string().contains("folder"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn special_files_and_links_are_refused() {
        let e = read_regular_with(Path::new("/dev/zero"), 10, Follow::Yes).unwrap_err();
        assert!(e.to_string().contains("character device"), "{e}");
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let e = read_regular_with(&fifo, 10, Follow::Yes).unwrap_err();
        assert!(e.to_string().contains("FIFO"), "{e}");
        let real = d.path().join("real");
        std::fs::write(&real, "x").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        assert_eq!(read_regular_with(&link, 10, Follow::Yes).unwrap(), b"x");
        let e = read_regular_with(&link, 10, Follow::No).unwrap_err();
        assert!(matches!(e, ReadError::Symlink { .. }), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn private_dir_refuses_a_symlink_and_keeps_its_target() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("target");
        std::fs::create_dir(&target).unwrap();
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = d.path().join("state");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = ensure_private_dir(&link).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        let m = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
        assert_eq!(m, 0o755, "the target's mode is untouched");
    }
}
