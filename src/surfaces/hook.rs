//! What a commit is about to record, read from git: the staged files (`git diff --cached -z
//! --name-status`), the added lines of each (`git diff --cached -U0`), and, for binary files,
//! the staged blob (`git cat-file --batch`). Only the index against HEAD is read, so
//! `git commit --amend` scans the new changes, never the whole tree.
//!
//! The parsers are pure (bytes in, structures out) and fuzzed; the git calls are at the edge.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::error::{Error, Kind, Result};
use crate::surfaces::scan::{binary_findings, Finding, LineIndex, Matcher};

/// One staged path (after rename detection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Staged {
    /// Status letter: A, C, M, R or T.
    pub status: u8,
    /// The path in the new tree.
    pub path: String,
}

/// Parses `git diff --cached -z --name-status` output.
pub fn parse_name_status(bytes: &[u8]) -> Vec<Staged> {
    let mut out = Vec::new();
    let mut parts = bytes.split(|&b| b == 0);
    while let Some(status) = parts.next() {
        let Some(&letter) = status.first() else {
            continue;
        };
        let Some(first) = parts.next() else { break };
        let path = if letter == b'R' || letter == b'C' {
            match parts.next() {
                Some(p) => p,
                None => break,
            }
        } else {
            first
        };
        out.push(Staged {
            status: letter,
            path: String::from_utf8_lossy(path).into_owned(),
        });
    }
    out
}

/// The added side of one file's section of a `-U0` patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Added {
    /// git said "Binary files … differ" (or sent a binary patch).
    pub binary: bool,
    /// The added lines, newline-joined, and for each its start offset and new-file line number.
    pub text: Vec<u8>,
    pub lines: Vec<(usize, usize)>,
}

/// Splits a `git diff -U0 --no-color` patch into per-file sections (in the same order as
/// `--name-status`) and collects each file's added lines with their line numbers.
pub fn parse_patch(bytes: &[u8]) -> Vec<Added> {
    let mut out: Vec<Added> = Vec::new();
    let mut next_line = 0usize;
    let mut in_hunk = false;
    for raw in bytes.split(|&b| b == b'\n') {
        if raw.starts_with(b"diff --git ") || raw.starts_with(b"diff --cc ") {
            out.push(Added::default());
            in_hunk = false;
            continue;
        }
        let Some(cur) = out.last_mut() else { continue };
        if raw.starts_with(b"@@") {
            in_hunk = true;
            next_line = hunk_new_start(raw).unwrap_or(1);
            continue;
        }
        if !in_hunk {
            if raw.starts_with(b"Binary files ") || raw.starts_with(b"GIT binary patch") {
                cur.binary = true;
            }
            continue;
        }
        match raw.first() {
            Some(b'+') => {
                cur.lines.push((cur.text.len(), next_line));
                cur.text.extend_from_slice(&raw[1..]);
                cur.text.push(b'\n');
                next_line += 1;
            }
            Some(b' ') => next_line += 1,
            _ => {}
        }
    }
    out
}

/// `@@ -a,b +c,d @@` → c.
fn hunk_new_start(line: &[u8]) -> Option<usize> {
    let plus = line.iter().position(|&b| b == b'+')?;
    let digits: Vec<u8> = line[plus + 1..]
        .iter()
        .copied()
        .take_while(u8::is_ascii_digit)
        .collect();
    std::str::from_utf8(&digits).ok()?.parse().ok()
}

/// Findings in one text file's added lines, with new-file line numbers.
pub fn findings_in_added(matcher: &Matcher, path: &str, added: &Added) -> Vec<Finding> {
    let hits = matcher.scan(&added.text);
    let mut idx = LineIndex::new(&added.text);
    hits.into_iter()
        .map(|h| {
            let (nth, col) = idx.locate(h.start);
            let line = added.lines.get(nth - 1).map(|&(_, l)| l);
            Finding {
                path: path.to_string(),
                line,
                column: Some(col),
                kind: h.kind,
                masked: h.masked,
                binary: false,
            }
        })
        .collect()
}

/// Runs git in `dir` and returns stdout (a spawned child, so several can run at once).
pub fn spawn_git(dir: &Path, args: &[&str]) -> Result<std::process::Child> {
    Command::new("git")
        .current_dir(dir)
        .args(["-c", "core.quotePath=false"])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            Error::new(Kind::Io, format!("cannot run git: {e}")).hint("install git or fix PATH")
        })
}

/// Waits for a git child; `allow_fail` returns empty output on a non-zero exit.
pub fn finish_git(child: std::process::Child, what: &str, allow_fail: bool) -> Result<Vec<u8>> {
    let out = child
        .wait_with_output()
        .map_err(|e| Error::new(Kind::Io, format!("git {what}: {e}")))?;
    if !out.status.success() && !allow_fail {
        let msg = String::from_utf8_lossy(&out.stderr);
        return Err(Error::new(
            Kind::Io,
            format!("git {what} failed: {}", msg.trim()),
        ));
    }
    Ok(if out.status.success() {
        out.stdout
    } else {
        Vec::new()
    })
}

const DIFF_COMMON: &[&str] = &[
    "diff",
    "--cached",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--find-renames",
    "--diff-filter=ACMRT",
    "--ignore-submodules",
];

/// Everything staged, read with three concurrent git processes (plus one for binary blobs).
pub struct StagedChanges {
    pub files: Vec<(Staged, Added)>,
    /// `git config --get-all keyage.allow`.
    pub allow: Vec<String>,
}

pub fn read_staged(dir: &Path) -> Result<StagedChanges> {
    let mut ns_args = DIFF_COMMON.to_vec();
    ns_args.extend(["-z", "--name-status"]);
    let mut patch_args = DIFF_COMMON.to_vec();
    patch_args.extend(["-U0", "--src-prefix=a/", "--dst-prefix=b/"]);
    let ns = spawn_git(dir, &ns_args)?;
    let patch = spawn_git(dir, &patch_args)?;
    let cfg = spawn_git(dir, &["config", "--get-all", "keyage.allow"])?;
    let ns = parse_name_status(&finish_git(ns, "diff --name-status", false)?);
    let patch = parse_patch(&finish_git(patch, "diff", false)?);
    let allow = String::from_utf8_lossy(&finish_git(cfg, "config", true)?)
        .lines()
        .map(str::to_string)
        .filter(|l| !l.trim().is_empty())
        .collect();
    if ns.len() != patch.len() {
        return Err(Error::internal(format!(
            "git listed {} staged files but its patch has {} sections",
            ns.len(),
            patch.len()
        )));
    }
    Ok(StagedChanges {
        files: ns.into_iter().zip(patch).collect(),
        allow,
    })
}

/// Reads staged blobs (`:path`) in one `git cat-file --batch`; None for a missing one.
pub fn staged_blobs(dir: &Path, paths: &[&str]) -> Result<Vec<Option<Vec<u8>>>> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .current_dir(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::new(Kind::Io, format!("cannot run git: {e}")))?;
    let mut input = Vec::new();
    for p in paths {
        // A newline in a path cannot be asked for in batch mode; ask for nothing instead.
        let p = if p.contains('\n') { "" } else { p };
        input.extend_from_slice(b":");
        input.extend_from_slice(p.as_bytes());
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
    Ok(parse_batch(&out.stdout, paths.len()))
}

/// Parses `git cat-file --batch` output: `<oid> <type> <size>\n<bytes>\n` or `<x> missing\n`.
pub fn parse_batch(mut bytes: &[u8], n: usize) -> Vec<Option<Vec<u8>>> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let Some(nl) = bytes.iter().position(|&b| b == b'\n') else {
            break;
        };
        let header = String::from_utf8_lossy(&bytes[..nl]).into_owned();
        bytes = &bytes[nl + 1..];
        let size = header
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse::<usize>().ok());
        match size {
            Some(size) if !header.ends_with(" missing") && size <= bytes.len() => {
                out.push(Some(bytes[..size].to_vec()));
                bytes = &bytes[(size + 1).min(bytes.len())..];
            }
            _ => out.push(None),
        }
    }
    out.resize(n, None);
    out
}

/// Scans the staged changes: added lines of text files, whole staged blobs of binary files
/// (reported once per file). Paths excluded by the allowlist are skipped.
pub fn scan_staged(dir: &Path, matcher: &Matcher, staged: &StagedChanges) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    let mut binaries: Vec<&str> = Vec::new();
    for (s, added) in &staged.files {
        if matcher.allowlist().allows_path(&dir.join(&s.path), false) {
            continue;
        }
        if added.binary {
            binaries.push(&s.path);
        } else {
            findings.extend(findings_in_added(matcher, &s.path, added));
        }
    }
    for (path, blob) in binaries.iter().zip(staged_blobs(dir, &binaries)?) {
        if let Some(b) = blob {
            findings.extend(binary_findings(path, matcher.scan(&b)));
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_status_with_renames() {
        let s = b"M\0a.txt\0R087\0old name\0new name\0A\0b\0";
        let v = parse_name_status(s);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].path, "new name");
        assert_eq!(v[1].status, b'R');
        assert_eq!(v[2].path, "b");
    }

    #[test]
    fn patch_lines() {
        let p = b"diff --git a/x b/x\nindex 1..2 100644\n--- a/x\n+++ b/x\n@@ -1,0 +2,2 @@\n+one\n+two\n@@ -10 +12 @@\n-old\n+new\ndiff --git a/y.bin b/y.bin\nnew file mode 100644\nBinary files /dev/null and b/y.bin differ\n";
        let v = parse_patch(p);
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].text, b"one\ntwo\nnew\n");
        assert_eq!(v[0].lines, vec![(0, 2), (4, 3), (8, 12)]);
        assert!(v[1].binary);
        // "+++" inside a hunk is an added line starting with "++"
        let p = b"diff --git a/x b/x\n@@ -0,0 +1 @@\n+++x\n";
        assert_eq!(parse_patch(p)[0].text, b"++x\n");
    }

    #[test]
    fn batch() {
        let b = b"abc blob 3\nxyz\n:nope missing\ndef blob 0\n\n";
        let v = parse_batch(b, 3);
        assert_eq!(v[0].as_deref(), Some(&b"xyz"[..]));
        assert_eq!(v[1], None);
        assert_eq!(v[2].as_deref(), Some(&b""[..]));
    }
}
