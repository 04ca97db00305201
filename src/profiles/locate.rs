//! Where the two files are, and reading them, exactly as the AWS SDKs do:
//! `AWS_SHARED_CREDENTIALS_FILE` (default `~/.aws/credentials`) and `AWS_CONFIG_FILE`
//! (default `~/.aws/config`); a leading `~` is expanded with HOME, then USERPROFILE.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::document::Document;
use super::{FileKind, LoadedFile};
use crate::env::Env;
use crate::error::{Error, Kind, Result};

/// The path the SDK reads for this file.
pub(crate) fn path(env: &Env, kind: FileKind) -> PathBuf {
    let (var, default) = match kind {
        FileKind::Credentials => ("AWS_SHARED_CREDENTIALS_FILE", "~/.aws/credentials"),
        FileKind::Config => ("AWS_CONFIG_FILE", "~/.aws/config"),
    };
    env.expand_tilde(env.get(var).unwrap_or(default))
}

/// The environment variable that moves this file.
pub(crate) fn variable(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Credentials => "AWS_SHARED_CREDENTIALS_FILE",
        FileKind::Config => "AWS_CONFIG_FILE",
    }
}

fn kind_word(kind: FileKind) -> &'static str {
    match kind {
        FileKind::Credentials => "credentials",
        FileKind::Config => "config",
    }
}

/// Reads and parses one file (bounded: a regular file of at most 32 MiB). A missing file (or a symlink to nothing) is not an error.
pub(crate) fn read(kind: FileKind, path: &Path) -> Result<LoadedFile> {
    let missing = || LoadedFile {
        kind,
        path: path.to_path_buf(),
        doc: None,
        mode: None,
    };
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(missing()),
        Err(e) => return Err(Error::io("read", path, e)),
    };
    if meta.is_dir() {
        return Err(Error::new(
            Kind::Input,
            format!("{}: is a folder, not a file", path.display()),
        )
        .hint(format!(
            "move the folder away, or point {} at the right file",
            variable(kind)
        )));
    }
    use crate::sys::fs::{cap, read_regular_with, Follow, ReadError};
    let bytes = match read_regular_with(path, cap::AWS_FILE, Follow::Yes) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return Ok(missing()),
        Err(e @ ReadError::NotRegular { .. }) => {
            return Err(Error::new(Kind::Input, e.to_string()).hint(format!(
                "point {} at a regular file, or move the special file away",
                variable(kind)
            )))
        }
        Err(e @ ReadError::TooBig { .. }) => {
            return Err(Error::new(Kind::Input, e.to_string()).hint(format!(
                "check that {} names your AWS {} file",
                variable(kind),
                kind_word(kind)
            )))
        }
        Err(e) => return Err(e.into()),
    };
    let doc = Document::parse_bytes(&bytes)
        .map_err(|e| Error::input(path, e.line, &e.message).hint(e.hint))?;
    Ok(LoadedFile {
        kind,
        path: path.to_path_buf(),
        doc: Some(doc),
        mode: mode_of(&meta),
    })
}

#[cfg(unix)]
fn mode_of(meta: &std::fs::Metadata) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt;
    Some(meta.permissions().mode() & 0o7777)
}
#[cfg(not(unix))]
fn mode_of(_meta: &std::fs::Metadata) -> Option<u32> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_and_defaults() {
        let e = Env::from_pairs([("HOME", "/h")]);
        assert_eq!(
            path(&e, FileKind::Credentials),
            PathBuf::from("/h/.aws/credentials")
        );
        assert_eq!(path(&e, FileKind::Config), PathBuf::from("/h/.aws/config"));
        let e = Env::from_pairs([
            ("HOME", "/h"),
            ("AWS_SHARED_CREDENTIALS_FILE", "~/c"),
            ("AWS_CONFIG_FILE", "/etc/x"),
        ]);
        assert_eq!(path(&e, FileKind::Credentials), PathBuf::from("/h/c"));
        assert_eq!(path(&e, FileKind::Config), PathBuf::from("/etc/x"));
        let e = Env::from_pairs([("USERPROFILE", "/u")]);
        assert_eq!(path(&e, FileKind::Config), PathBuf::from("/u/.aws/config"));
    }

    #[test]
    fn missing_folder_and_bad_bytes() {
        let d = tempfile::tempdir().unwrap();
        let f = read(FileKind::Credentials, &d.path().join("nope")).unwrap();
        assert!(f.doc.is_none());
        let e = read(FileKind::Credentials, d.path()).unwrap_err();
        assert_eq!(e.kind, Kind::Input);
        let p = d.path().join("bad");
        std::fs::write(&p, b"[a]\nx=\xfe\n").unwrap();
        let e = read(FileKind::Config, &p).unwrap_err();
        assert!(e.message.contains(":2:"), "{}", e.message);
    }
}
