//! Reading files to scan: regular files only, bounded; FIFOs, sockets and devices are named
//! and skipped (never opened: opening a FIFO waits for a writer), and so are the kernel's
//! virtual file systems (`/proc`, `/sys`, …: their files claim size 0 and some never end).

use std::path::Path;

/// Why a path was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Skip {
    /// Not a regular file: `a FIFO`, `a socket`, `a device`, …
    Special(&'static str),
    /// Bigger than the cap (bytes).
    TooBig(u64),
    /// It could not be read.
    Unreadable(String),
}

impl Skip {
    pub(crate) fn describe(&self) -> String {
        match self {
            Skip::Special(what) => format!("{what}, not a regular file"),
            Skip::TooBig(n) => format!("{} MB, too big", n >> 20),
            Skip::Unreadable(e) => format!("cannot read: {e}"),
        }
    }
}

/// What kind of special file `t` is, or None for a regular file, folder or symlink.
pub(crate) fn special_kind(t: &std::fs::FileType) -> Option<&'static str> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("a FIFO");
        }
        if t.is_socket() {
            return Some("a socket");
        }
        if t.is_block_device() {
            return Some("a block device");
        }
        if t.is_char_device() {
            return Some("a character device");
        }
    }
    if t.is_file() || t.is_dir() || t.is_symlink() {
        None
    } else {
        Some("a special file")
    }
}

/// The virtual file system `path` is on, if it is one whose files are not data.
#[cfg(target_os = "linux")]
pub(crate) fn virtual_fs(path: &Path) -> Option<&'static str> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `c` is a valid NUL-terminated path and `st` a properly sized out-buffer.
    if unsafe { libc::statfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    // The magic numbers of linux/magic.h.
    #[allow(clippy::unnecessary_cast)]
    match st.f_type as i64 {
        0x9fa0 => Some("proc"),
        0x6265_6572 => Some("sysfs"),
        0x6462_6720 => Some("debugfs"),
        0x7472_6163 => Some("tracefs"),
        0x2735_01c5 => Some("cgroup2"),
        0x0027_e0eb => Some("cgroup"),
        0x7361_6d6f => Some("securityfs"),
        0xcafe_4a11 => Some("bpf"),
        0x1cd1 => Some("devpts"),
        0x6e73_6673 => Some("nsfs"),
        0x6573_7173 | 0x5346_5053 => Some("pstore"),
        0xf97c_ff8c => Some("selinuxfs"),
        0x4249_4e4d => Some("binfmt_misc"),
        0x6e61_6e64 => Some("configfs"),
        0x6176_6d00 => Some("fusectl"),
        _ => None,
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn virtual_fs(_path: &Path) -> Option<&'static str> {
    None
}

fn skip_of(e: crate::sys::fs::ReadError, len: u64) -> Skip {
    use crate::sys::fs::ReadError;
    match e {
        ReadError::TooBig { .. } => Skip::TooBig(len),
        ReadError::NotRegular { what, .. } => Skip::Special(what),
        ReadError::Io { source, .. } => Skip::Unreadable(source.to_string()),
        other => Skip::Unreadable(other.to_string()),
    }
}

/// Reads a regular file that is only scanned, at most `cap` bytes (more is
/// [`Skip::TooBig`]), through the ground floor (`sys::fs`: opened without waiting, so a FIFO
/// cannot hang us, checked again on the open handle). The type is checked first, without
/// opening: a FIFO or device is named, not read. A large file is mapped, not copied
/// (`sys::fs::view_regular`; 200 MB: no copy, no page fault per 4 KiB, no zeroing pass).
pub(crate) fn view_regular(path: &Path, cap: u64) -> Result<crate::sys::fs::Contents, Skip> {
    use crate::sys::fs::Follow;
    let meta = std::fs::metadata(path).map_err(|e| Skip::Unreadable(e.to_string()))?;
    if let Some(k) = special_kind(&meta.file_type()) {
        return Err(Skip::Special(k));
    }
    crate::sys::fs::view_regular(path, cap, Follow::Yes).map_err(|e| skip_of(e, meta.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_fifo_and_cap() {
        let (d, f) = crate::sys::testing::temp_file("f", b"hello", None);
        assert_eq!(&*view_regular(&f, 10).unwrap(), b"hello");
        assert_eq!(view_regular(&f, 4).err(), Some(Skip::TooBig(5)));
        #[cfg(unix)]
        {
            let p = d.path().join("fifo");
            let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
            assert_eq!(view_regular(&p, 10).err(), Some(Skip::Special("a FIFO")));
        }
        #[cfg(target_os = "linux")]
        assert_eq!(virtual_fs(Path::new("/proc")), Some("proc"));
        assert_eq!(virtual_fs(d.path()), None);
    }
}
