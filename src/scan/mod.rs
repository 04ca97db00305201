//! The scanner: what `keyage hook pre-commit` and `keyage scan` look for, and where.
//!
//! - [`matcher`]: one SIMD search for every candidate, then the rules at each candidate;
//! - [`rules`]: the shapes (key id, secret with context, the id + secret pair, the account a
//!   key id belongs to, the documented examples), pure functions of bytes and a position;
//! - [`decode`]: base64 runs around candidates, the base64 forms of own secrets, UTF-16;
//! - [`allow`]: the allowlist (pattern matches only; own keys are always reported);
//! - [`fingerprint`]: keyed digests of secrets the AWS files no longer hold;
//! - [`own`]: the user's own values, from the AWS files, the pending list, the cache and the
//!   fingerprints file;
//! - [`staged`]: what a commit is about to record, parsed from one `git diff` (pure), and
//!   [`git`], the git calls behind it;
//! - [`files`]: bounded reads of regular files (special files and virtual file systems are
//!   skipped, never read).
//!
//! Nothing here builds an async runtime or touches the network: the hook runs all of it.
//! (`keyage scan --verify` is the one online step; it lives in `keys::verify`.)

pub(crate) mod allow;
pub(crate) mod decode;
#[cfg(not(fuzzing))]
pub(crate) mod files;
pub mod fingerprint;
#[cfg(not(fuzzing))]
pub(crate) mod git;
pub(crate) mod home;
pub(crate) mod matcher;
// The fuzz target includes this wing by path, without the AWS files, state and git edges.
#[cfg(not(fuzzing))]
pub(crate) mod own;
pub(crate) mod rules;
pub(crate) mod staged;

pub use allow::Allowlist;
pub(crate) use matcher::{Hit, HitKind};
pub use matcher::{Matcher, OwnValues};

/// git reads NUL bytes in the first 8000 bytes as "binary"; so do we.
const BINARY_PROBE: usize = 8000;

/// git's heuristic: a NUL byte in the first 8000 bytes means binary.
pub(crate) fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

/// Maps byte offsets to 1-based line and column numbers, walking forward only.
pub(crate) struct LineIndex<'a> {
    hay: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(hay: &'a [u8]) -> Self {
        LineIndex {
            hay,
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }
    /// Line and column of `offset`; offsets must not decrease between calls.
    pub(crate) fn locate(&mut self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.hay.len());
        if offset < self.pos {
            *self = LineIndex::new(self.hay);
        }
        // memchr (SIMD) rather than a byte loop: a hit near the end of a 200 MB file
        // otherwise costs a walk over every byte before it.
        let span = &self.hay[self.pos..offset];
        if let Some(last) = memchr::memrchr(b'\n', span) {
            self.line += memchr::memchr_iter(b'\n', span).count();
            self.line_start = self.pos + last + 1;
        }
        self.pos = offset;
        (self.line, offset - self.line_start + 1)
    }
}

/// A hit placed in a file: what the hook and `keyage scan` print.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Finding {
    pub path: String,
    /// 1-based; None for a binary file (reported once per file).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub binary: bool,
    /// What was found (kind, masked value, what it is, account, encoded).
    #[serde(flatten)]
    pub hit: Hit,
    /// The file is UTF-16 text (scanned as text; line numbers count its lines).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub utf16: bool,
}

impl Finding {
    fn from_hit(path: &str, line: Option<usize>, column: Option<usize>, h: Hit) -> Self {
        Finding {
            path: path.to_string(),
            line,
            column,
            binary: line.is_none(),
            hit: h,
            utf16: false,
        }
    }

    pub(crate) fn render(&self) -> String {
        let place = match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{}:{}", self.path, l, c),
            (Some(l), None) => format!("{}:{}", self.path, l),
            _ => format!("{} (binary file)", self.path),
        };
        let h = &self.hit;
        match &h.what {
            Some(w) => format!("{place}: {} {} ({w})", h.kind.describe(), h.masked),
            None => format!("{place}: {} {}", h.kind.describe(), h.masked),
        }
    }
}

/// Scans one file's bytes and returns its findings, the documented examples included (see
/// [`HitKind::blocks`]): a binary file gives at most one finding (by file, not line); a text
/// file one per hit with line and column. UTF-16 text with a byte-order mark is text.
pub(crate) fn findings_for(matcher: &Matcher, path: &str, bytes: &[u8]) -> Vec<Finding> {
    if let Some(text) = decode::utf16_text(bytes) {
        let mut f = text_findings(matcher, path, &text);
        for x in &mut f {
            x.utf16 = true;
        }
        return f;
    }
    if is_binary(bytes) {
        return binary_findings(path, matcher.scan_all(bytes));
    }
    text_findings(matcher, path, bytes)
}

fn text_findings(matcher: &Matcher, path: &str, bytes: &[u8]) -> Vec<Finding> {
    let hits = matcher.scan_all(bytes);
    let mut idx = LineIndex::new(bytes);
    hits.into_iter()
        .map(|h| {
            let (line, col) = idx.locate(h.start);
            Finding::from_hit(path, Some(line), Some(col), h)
        })
        .collect()
}

/// One finding for a binary file: the most serious kind, the first such match (documented
/// examples only when nothing else is there).
pub(crate) fn binary_findings(path: &str, hits: Vec<Hit>) -> Vec<Finding> {
    let Some(best) = hits.into_iter().min_by_key(|h| (h.kind.rank(), h.start)) else {
        return Vec::new();
    };
    vec![Finding::from_hit(path, None, None, best)]
}

/// How far apart (bytes) a key id and its secret may be to be checked together.
const PAIR_DISTANCE: usize = 2048;

/// The key id + secret pairs in `hay` (plain text, not decoded), for `keyage scan --verify`:
/// each secret found with the nearest key id before it (else after it), with the secret's
/// `line:column`. The values leave the matcher only here, wrapped.
pub(crate) fn pairs(
    matcher: &Matcher,
    hay: &[u8],
) -> Vec<(String, crate::secret::SecretKey, String)> {
    let hits = matcher.scan(hay);
    let is_id = |k: HitKind| {
        matches!(
            k,
            HitKind::KeyIdPattern | HitKind::OwnKeyId | HitKind::OldKeyId
        )
    };
    let is_secret = |k: HitKind| {
        matches!(
            k,
            HitKind::SecretWithContext | HitKind::OwnSecret | HitKind::OldSecret
        )
    };
    let ids: Vec<&Hit> = hits
        .iter()
        .filter(|h| is_id(h.kind) && !h.encoded && h.end - h.start == rules::KEY_ID_LEN)
        .collect();
    let mut out = Vec::new();
    let mut idx = LineIndex::new(hay);
    for s in hits
        .iter()
        .filter(|h| is_secret(h.kind) && !h.encoded && h.end - h.start == rules::SECRET_LEN)
    {
        let before = ids
            .iter()
            .rfind(|i| i.end <= s.start && s.start - i.end <= PAIR_DISTANCE);
        let after = ids
            .iter()
            .find(|i| i.start >= s.end && i.start - s.end <= PAIR_DISTANCE);
        let Some(id) = before.or(after) else { continue };
        let (Ok(id_text), Ok(secret)) = (
            std::str::from_utf8(&hay[id.start..id.end]),
            std::str::from_utf8(&hay[s.start..s.end]),
        ) else {
            continue;
        };
        let (l, c) = idx.locate(s.start);
        out.push((
            id_text.to_string(),
            crate::secret::secret(secret.to_string()),
            format!("{l}:{c}"),
        ));
    }
    out
}

/// Keeps only what the allowlist cannot excuse (own keys), for a file whose path is listed.
pub(crate) fn own_only(findings: &mut Vec<Finding>) {
    findings.retain(|f| f.hit.kind.is_own());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_binary() {
        let m = Matcher::patterns_only();
        let text = b"a\nbb\n  AKIAQWERTY234567ABCD\n";
        let f = findings_for(&m, "f.txt", text);
        assert_eq!((f[0].line, f[0].column), (Some(3), Some(3)));
        let mut bin = vec![0u8, 1, 2];
        for _ in 0..3 {
            bin.extend_from_slice(b"\0AKIAQWERTY234567ABCD\n");
        }
        let f = findings_for(&m, "f.bin", &bin);
        assert_eq!(f.len(), 1);
        assert!(f[0].binary);
        assert!(f[0].render().contains("binary"));
    }

    #[test]
    fn line_index_forward_and_back() {
        let hay = b"ab\ncd\n\nefg\n";
        let mut idx = LineIndex::new(hay);
        assert_eq!(idx.locate(0), (1, 1));
        assert_eq!(idx.locate(1), (1, 2));
        assert_eq!(idx.locate(3), (2, 1));
        assert_eq!(idx.locate(7), (4, 1));
        assert_eq!(idx.locate(9), (4, 3));
        assert_eq!(idx.locate(4), (2, 2)); // backwards restarts
        assert_eq!(idx.locate(100), (5, 1)); // clamped to the end
    }
}
