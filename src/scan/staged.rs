//! What a commit is about to record, read from git with **one** process:
//! `git diff --cached -z --raw -p -U0 --no-abbrev`. Its output is the raw records (status,
//! paths and the staged blob id of each file, NUL-separated, so any file name works), one NUL,
//! then the `-U0` patch, whose sections come in the same order and give each file's added
//! lines. Binary files are read whole from their staged blob (`git cat-file --batch`, a second
//! process only when a binary file is staged). Only the index against HEAD is read, so
//! `git commit --amend` scans the new changes, never the whole tree.
//!
//! The parsers are pure (bytes in, structures out) and fuzzed; the git calls are at the edge
//! (`scan::git`).

use std::path::Path;

use crate::error::{Error, Result};
use crate::scan::{binary_findings, findings_for, own_only, Finding, LineIndex, Matcher};

/// One record of `git diff --raw -z`: `:<mode> <mode> <oid> <oid> <status>\0<path>\0`
/// (`\0<old path>\0<new path>\0` for a rename or copy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    /// Status letter: A, C, M, R or T.
    pub status: u8,
    /// The path in the new tree.
    pub path: String,
    /// The object id of the staged blob (the record's second oid).
    pub blob: String,
}

/// Parses the raw part of `git diff -z --raw -p`: records up to the NUL that separates them
/// from the patch. Returns the records and the offset where the patch starts.
pub(crate) fn parse_raw(bytes: &[u8]) -> (Vec<RawEntry>, usize) {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        match bytes[pos] {
            // The separator between the records and the patch.
            0 => return (out, pos + 1),
            b':' => {}
            // Not a record: the patch (git printed no separator).
            _ => return (out, pos),
        }
        let mut fields = bytes[pos..].splitn(4, |&b| b == 0);
        let (Some(header), Some(first)) = (fields.next(), fields.next()) else {
            break;
        };
        let mut words = header.split(|&b| b == b' ');
        let blob = words.nth(3).unwrap_or_default();
        let status = words
            .next()
            .and_then(|w| w.first().copied())
            .unwrap_or(b'?');
        let mut used = header.len() + 1 + first.len() + 1;
        let path = if status == b'R' || status == b'C' {
            let Some(second) = fields.next() else { break };
            used += second.len() + 1;
            second
        } else {
            first
        };
        out.push(RawEntry {
            status,
            path: String::from_utf8_lossy(path).into_owned(),
            blob: String::from_utf8_lossy(blob).into_owned(),
        });
        pos = (pos + used).min(bytes.len());
    }
    (out, bytes.len())
}

/// The added side of one file's section of a `-U0` patch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Added {
    /// git said "Binary files … differ" (or sent a binary patch).
    pub binary: bool,
    /// A "deleted file" section: git splits a type change (file ↔ symlink) into a deletion
    /// and a creation. Deletions add nothing.
    pub deleted: bool,
    /// The added lines, newline-joined, and for each its start offset and new-file line number.
    pub text: Vec<u8>,
    pub lines: Vec<(usize, usize)>,
}

/// Splits a `git diff -U0 --no-color` patch into per-file sections and collects each file's
/// added lines with their line numbers.
pub(crate) fn parse_patch(bytes: &[u8]) -> Vec<Added> {
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
            } else if raw.starts_with(b"deleted file mode ") {
                cur.deleted = true;
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

/// One staged file: its raw record, its added lines, and (binary files only, once
/// [`load_binaries`] ran) the staged bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StagedFile {
    pub entry: RawEntry,
    pub added: Added,
    pub content: Option<Vec<u8>>,
}

/// Parses the whole `git diff -z --raw -p -U0` output. Every record must have its patch
/// section (deletion halves of type changes aside), else the output is not what we asked for.
pub(crate) fn parse_diff(bytes: &[u8]) -> Result<Vec<StagedFile>> {
    let (entries, at) = parse_raw(bytes);
    let patch: Vec<Added> = parse_patch(&bytes[at..])
        .into_iter()
        .filter(|a| !a.deleted)
        .collect();
    if entries.len() != patch.len() {
        return Err(Error::internal(format!(
            "git listed {} staged files but its patch has {} sections",
            entries.len(),
            patch.len()
        )));
    }
    Ok(entries
        .into_iter()
        .zip(patch)
        .map(|(entry, added)| StagedFile {
            entry,
            added,
            content: None,
        })
        .collect())
}

/// Findings in one text file's added lines, with new-file line numbers.
pub(crate) fn findings_in_added(matcher: &Matcher, path: &str, added: &Added) -> Vec<Finding> {
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
                binary: false,
                hit: h,
                utf16: false,
            }
        })
        .collect()
}

/// Parses `git cat-file --batch` output: `<oid> <type> <size>\n<bytes>\n` or `<x> missing\n`.
pub(crate) fn parse_batch(mut bytes: &[u8], n: usize) -> Vec<Option<Vec<u8>>> {
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
/// (reported once per file; UTF-16 text with a byte-order mark is scanned as text). In files
/// whose path the matcher's allowlist lists, only the user's own keys are reported (those are
/// never allowlisted); `root` is the folder the paths are relative to. Documented examples
/// are left out (they never block).
pub(crate) fn scan_staged(root: &Path, matcher: &Matcher, files: &[StagedFile]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for f in files {
        let mut found = if f.added.binary {
            match &f.content {
                Some(b) if crate::scan::decode::utf16_text(b).is_some() => {
                    findings_for(matcher, &f.entry.path, b)
                }
                Some(b) => binary_findings(&f.entry.path, matcher.scan(b)),
                None => Vec::new(),
            }
        } else {
            findings_in_added(matcher, &f.entry.path, &f.added)
        };
        found.retain(|x| x.hit.kind.blocks());
        if matcher
            .allowlist()
            .allows_path(&root.join(&f.entry.path), false)
        {
            own_only(&mut found);
        }
        findings.extend(found);
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    const OID: &str = "393b0cbf2ee37a3a07eb95b6969078dd9dd6c29f";

    #[test]
    fn raw_records_renames_odd_names_and_separator() {
        let mut s = Vec::new();
        s.extend_from_slice(format!(":100644 100644 {OID} {OID} M\0a.txt\0").as_bytes());
        s.extend_from_slice(
            format!(":100644 100644 {OID} {OID} R087\0old\0new\nname\0").as_bytes(),
        );
        s.extend_from_slice(
            format!(
                ":000000 100644 {} {OID} A\0diff --git x\0\0",
                "0".repeat(40)
            )
            .as_bytes(),
        );
        s.extend_from_slice(b"diff --git a/a.txt b/a.txt\n");
        let (v, at) = parse_raw(&s);
        assert_eq!(v.len(), 3);
        assert_eq!(v[1].path, "new\nname");
        assert_eq!(v[1].status, b'R');
        assert_eq!(v[2].path, "diff --git x");
        assert_eq!(v[2].blob, OID);
        assert!(s[at..].starts_with(b"diff --git a/a.txt"));
        assert_eq!(parse_raw(b""), (vec![], 0));
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
    fn type_change_is_one_file() {
        let mut s = format!(":100644 120000 {OID} {OID} T\0f\0\0").into_bytes();
        s.extend_from_slice(b"diff --git a/f b/f\ndeleted file mode 100644\nindex 1..0\n--- a/f\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\ndiff --git a/f b/f\nnew file mode 120000\nindex 0..2\n--- /dev/null\n+++ b/f\n@@ -0,0 +1 @@\n+target\n\\ No newline at end of file\n");
        let v = parse_diff(&s).unwrap();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].added.text, b"target\n");
        // A record without its patch section is an error, not a silent pass.
        let s = format!(":100644 100644 {OID} {OID} M\0f\0\0").into_bytes();
        assert!(parse_diff(&s).is_err());
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
