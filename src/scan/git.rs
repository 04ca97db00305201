//! The git calls behind the hook (the parsers are in `scan::staged`): the one
//! `git diff --cached` call, `git config --get-all keyage.allow`, and `git cat-file --batch`
//! for staged binary files.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Kind, Result};
use crate::scan::staged::{parse_batch, parse_diff, StagedFile};

/// Runs git in `dir` with piped stdout/stderr (a spawned child: keyage works while it runs).
pub(crate) fn spawn_git(dir: &Path, args: &[&str]) -> Result<std::process::Child> {
    crate::sys::git::spawn(Some(dir), args)
}

/// Waits for a git child; `allow_fail` returns empty output on a non-zero exit.
pub(crate) fn finish_git(
    child: std::process::Child,
    what: &str,
    allow_fail: bool,
) -> Result<Vec<u8>> {
    let out = crate::sys::git::finish(child, what)?;
    if allow_fail {
        Ok(out.stdout_or_empty())
    } else {
        out.require(what)
    }
}

/// The one git call: staged changes against HEAD, raw records then the `-U0` patch.
pub(crate) const DIFF_ARGS: &[&str] = &[
    "diff",
    "--cached",
    "-z",
    "--raw",
    "-p",
    "-U0",
    "--no-abbrev",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    "--diff-filter=ACMRT",
    "--ignore-submodules",
    "--src-prefix=a/",
    "--dst-prefix=b/",
];

/// Starts the diff; [`finish_diff`] collects it (do other work in between).
pub(crate) fn spawn_diff(dir: &Path) -> Result<std::process::Child> {
    spawn_git(dir, DIFF_ARGS)
}

pub(crate) fn finish_diff(child: std::process::Child) -> Result<Vec<StagedFile>> {
    parse_diff(&finish_git(child, "diff --cached", false)?)
}

/// `git config --get-all keyage.allow` (git's own lookup: every level, includes,
/// `includeIf`, `git -c`). Unset, or a config git cannot read, gives no entries.
pub(crate) fn allow_config(dir: &Path) -> Result<Vec<String>> {
    let child = spawn_git(dir, &["config", "--get-all", "keyage.allow"])?;
    Ok(String::from_utf8_lossy(&finish_git(child, "config", true)?)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.trim().is_empty())
        .collect())
}

/// Reads the staged blobs of the binary files (one `git cat-file --batch`, by object id) into
/// their `content`. A blob git does not have stays None.
pub(crate) fn load_binaries(dir: &Path, files: &mut [StagedFile]) -> Result<()> {
    let wanted: Vec<usize> = (0..files.len())
        .filter(|&i| files[i].added.binary)
        .collect();
    let n = wanted.len();
    if n == 0 {
        return Ok(());
    }
    let mut child = crate::sys::git::spawn_with_stdin(Some(dir), &["cat-file", "--batch"])?;
    let mut input = Vec::new();
    for &i in &wanted {
        // An object id is hex; anything else asks for nothing (git answers "missing").
        let blob = &files[i].entry.blob;
        if !blob.is_empty() && blob.bytes().all(|b| b.is_ascii_hexdigit()) {
            input.extend_from_slice(blob.as_bytes());
        }
        input.push(b'\n');
    }
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| Error::internal("git cat-file: no stdin"))?;
    // Write from a thread so a large blob on stdout cannot deadlock us.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .map_err(|e| Error::new(Kind::Io, format!("git cat-file: {e}")))?;
    let _ = writer.join();
    for (i, blob) in wanted.into_iter().zip(parse_batch(&out.stdout, n)) {
        files[i].content = blob;
    }
    Ok(())
}
