//! The matcher behind `keyage hook pre-commit` and `keyage scan`.
//!
//! Two kinds of evidence, nothing else (the tool must never cry wolf):
//! - **exact** occurrences of the user's own access key ids and secrets, taken from the
//!   credentials/config files (a multi-literal search: a random 40-character string can never
//!   match by accident);
//! - the **shape of an AWS key id** (`(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}` between
//!   word boundaries), minus the allowlist: the documented `…EXAMPLE` family, values listed in
//!   `.keyageignore` / `git config keyage.allow`, and lines carrying `keyage:allow`.
//!
//! A [`Hit`] holds an offset, a kind and an already-masked rendering: the matched bytes are
//! never copied out of the haystack, so no caller can print a secret by mistake.

use std::collections::HashSet;
use std::path::Path;

use std::sync::OnceLock;

use aho_corasick::{packed, AhoCorasick, AhoCorasickBuilder, MatchKind, Span};
use regex::bytes::Regex;
use zeroize::Zeroizing;

use crate::secret::{mask_id, mask_secret_like, ExposeSecret, SecretKey};

/// The key id AWS documents as an example (never a real key).
pub const EXAMPLE_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret AWS documents as an example (never a real key).
pub const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The key-id shape (without boundaries).
pub const KEY_ID_PATTERN: &str = "(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}";
/// A line containing this text is not reported for pattern matches (own keys still are).
pub const INLINE_ALLOW: &[u8] = b"keyage:allow";
/// git reads NUL bytes in the first 8000 bytes as "binary"; so do we.
const BINARY_PROBE: usize = 8000;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// The secret access key of one of the user's own keys.
    OwnSecret,
    /// The access key id of one of the user's own keys.
    OwnKeyId,
    /// Something shaped like an AWS access key id.
    KeyIdPattern,
}

impl HitKind {
    pub fn describe(self) -> &'static str {
        match self {
            HitKind::OwnSecret => "your own secret access key",
            HitKind::OwnKeyId => "your own access key id",
            HitKind::KeyIdPattern => "an AWS access key id",
        }
    }
    /// Own values are certain; a pattern match may be somebody else's (or a test fixture).
    pub fn is_own(self) -> bool {
        !matches!(self, HitKind::KeyIdPattern)
    }
}

/// One match: byte span in the haystack, kind, and a masked rendering (never the value).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Hit {
    #[serde(skip)]
    pub start: usize,
    #[serde(skip)]
    pub end: usize,
    pub kind: HitKind,
    /// e.g. `AKIA…WXYZ`, or `wJal****…` for a secret (with the owning key id when known).
    pub masked: String,
}

/// Tells whether a 40-character base64 candidate is one of the user's secrets kept out of the
/// files (`keyage protect`: a keyed fingerprint, so no keyring is needed).
pub type SecretTest = std::sync::Arc<dyn Fn(&[u8]) -> bool + Send + Sync>;

/// The user's own values, from the credentials/config files.
#[derive(Default)]
pub struct OwnValues {
    pub key_ids: Vec<String>,
    /// Each secret with the key id it belongs to, when known.
    pub secrets: Vec<(SecretKey, Option<String>)>,
    /// Protected secrets (in no file): tested per 40-character candidate.
    pub secret_test: Option<SecretTest>,
}

impl std::fmt::Debug for OwnValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnValues")
            .field("key_ids", &self.key_ids.len())
            .field("secrets", &self.secrets.len())
            .finish()
    }
}

/// Values and paths that are not reported.
#[derive(Debug, Default)]
pub struct Allowlist {
    values: HashSet<String>,
    paths: Option<ignore::gitignore::Gitignore>,
    /// Line-level problems in the allowlist sources (shown as warnings).
    pub warnings: Vec<String>,
}

/// True for the documented example values: `AKIAIOSFODNN7EXAMPLE`, its secret, and any key id
/// ending in `EXAMPLE` (the AWS docs use several).
pub fn is_documented_example(value: &[u8]) -> bool {
    value == EXAMPLE_KEY_ID.as_bytes()
        || value == EXAMPLE_SECRET.as_bytes()
        || (value.len() == 20 && value.ends_with(b"EXAMPLE"))
        || (value.len() == 40 && value.ends_with(b"EXAMPLEKEY"))
}

impl Allowlist {
    /// An allowlist rooted at `root` (paths in entries are relative to it).
    /// Each entry is a key id (allowed wherever it appears) or a gitignore-style path pattern
    /// (files not scanned). Empty lines and `#` comments are skipped.
    pub fn new(root: &Path, entries: &[(String, String)]) -> Self {
        let id_re = Regex::new(&format!("^{KEY_ID_PATTERN}$")).expect("static regex");
        let mut values = HashSet::new();
        let mut builder = ignore::gitignore::GitignoreBuilder::new(root);
        let mut warnings = Vec::new();
        let mut any_path = false;
        for (source, line) in entries {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if id_re.is_match(t.as_bytes()) {
                values.insert(t.to_string());
            } else if let Err(e) = builder.add_line(None, t) {
                warnings.push(format!("{source}: ignoring allowlist entry: {e}"));
            } else {
                any_path = true;
            }
        }
        let paths = if any_path {
            match builder.build() {
                Ok(g) => Some(g),
                Err(e) => {
                    warnings.push(format!("allowlist paths ignored: {e}"));
                    None
                }
            }
        } else {
            None
        };
        Allowlist {
            values,
            paths,
            warnings,
        }
    }

    /// Reads `<root>/.keyageignore` (if any) plus extra entries (e.g. `git config keyage.allow`).
    pub fn load(root: &Path, extra: &[String]) -> Self {
        let mut entries = Vec::new();
        let file = root.join(".keyageignore");
        if let Ok(text) = std::fs::read_to_string(&file) {
            for (i, l) in text.lines().enumerate() {
                entries.push((format!("{}:{}", file.display(), i + 1), l.to_string()));
            }
        }
        for e in extra {
            entries.push(("git config keyage.allow".to_string(), e.clone()));
        }
        Allowlist::new(root, &entries)
    }

    pub fn allows_value(&self, value: &[u8]) -> bool {
        is_documented_example(value)
            || std::str::from_utf8(value).is_ok_and(|s| self.values.contains(s))
    }

    /// True when `path` (relative to the root, or absolute under it) is excluded.
    pub fn allows_path(&self, path: &Path, is_dir: bool) -> bool {
        match &self.paths {
            Some(g) => {
                let rel = if path.is_absolute() {
                    match path.strip_prefix(g.path()) {
                        Ok(r) => r,
                        Err(_) => return false,
                    }
                } else {
                    path
                };
                !rel.has_root() && g.matched_path_or_any_parents(rel, is_dir).is_ignore()
            }
            None => false,
        }
    }
}

/// Own-value pattern: which kind, and the masked label to show.
struct OwnPattern {
    kind: HitKind,
    label: String,
}

/// The literal starts of [`KEY_ID_PATTERN`].
const KEY_ID_PREFIXES: [&[u8]; 5] = [b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"A3T"];
/// The length of every key id the pattern matches.
const KEY_ID_LEN: usize = 20;

/// The general search (and the reference the fast path is checked against): Aho-Corasick
/// (leftmost-longest) over the own values and the key-id regex. Built on first use.
struct Reference {
    own: Option<AhoCorasick>,
    key_id: Regex,
}

/// The compiled matcher. Build once, scan many buffers.
///
/// The fast path is one SIMD (Teddy) search for the own values and the key-id prefixes
/// together; key-id candidates are checked in place. It needs x86-64 or aarch64 and at most
/// ~60 own values; otherwise the general path (Aho-Corasick + regex) runs. Both give the same
/// hits (fuzzed: `fuzz/fuzz_targets/scan.rs`).
pub struct Matcher {
    /// Own values, longest first (so "first added" is "longest" at a given start).
    own_patterns: Vec<OwnPattern>,
    own_bytes: Vec<Zeroizing<Vec<u8>>>,
    packed: Option<packed::Searcher>,
    reference: OnceLock<Reference>,
    allow: Allowlist,
    secret_test: Option<SecretTest>,
}

/// The length of an AWS secret access key.
pub const SECRET_LEN: usize = 40;

fn is_secret_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+'
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("own_patterns", &self.own_patterns.len())
            .field("fast_path", &self.packed.is_some())
            .finish()
    }
}

impl Matcher {
    pub fn new(own: &OwnValues, allow: Allowlist) -> Self {
        let mut pats: Vec<(&[u8], OwnPattern)> = Vec::new();
        let mut seen: HashSet<&[u8]> = HashSet::new();
        for id in &own.key_ids {
            let b = id.as_bytes();
            // Too short to be a key, or a documented example: not the user's secret.
            if b.len() < 16 || is_documented_example(b) || !seen.insert(b) {
                continue;
            }
            let label = mask_id(id);
            pats.push((
                b,
                OwnPattern {
                    kind: HitKind::OwnKeyId,
                    label,
                },
            ));
        }
        for (s, owner) in &own.secrets {
            let b = s.expose_secret().as_bytes();
            if b.len() < 16 || is_documented_example(b) || !seen.insert(b) {
                continue;
            }
            let label = match owner {
                Some(id) => format!(
                    "{} (secret of {})",
                    mask_secret_like(s.expose_secret()),
                    mask_id(id)
                ),
                None => mask_secret_like(s.expose_secret()),
            };
            pats.push((
                b,
                OwnPattern {
                    kind: HitKind::OwnSecret,
                    label,
                },
            ));
        }
        // Longest first (stable: ids before secrets of the same length).
        pats.sort_by_key(|(b, _)| std::cmp::Reverse(b.len()));
        let mut builder = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder();
        for (b, _) in &pats {
            builder.add(b);
        }
        for p in KEY_ID_PREFIXES {
            builder.add(p);
        }
        Matcher {
            packed: builder.build(),
            own_bytes: pats
                .iter()
                .map(|(b, _)| Zeroizing::new(b.to_vec()))
                .collect(),
            own_patterns: pats.into_iter().map(|(_, p)| p).collect(),
            reference: OnceLock::new(),
            allow,
            secret_test: own.secret_test.clone(),
        }
    }

    /// A matcher with no own values and the default allowlist (tests, fuzzing, benchmarks).
    pub fn patterns_only() -> Self {
        Matcher::new(&OwnValues::default(), Allowlist::default())
    }

    pub fn allowlist(&self) -> &Allowlist {
        &self.allow
    }

    /// True when [`Matcher::scan`] takes the SIMD path.
    pub fn has_fast_path(&self) -> bool {
        self.packed.is_some()
    }

    /// Every hit in `hay`, in order. Own values win over the pattern on the same bytes.
    pub fn scan(&self, hay: &[u8]) -> Vec<Hit> {
        let mut hits = match &self.packed {
            Some(p) => self.scan_packed(p, hay),
            None => self.scan_reference(hay),
        };
        if let Some(test) = &self.secret_test {
            self.add_protected(hay, test, &mut hits);
        }
        hits
    }

    /// Every whole run of exactly 40 base64 bytes that `test` recognises (a protected secret)
    /// and no other hit covers.
    fn add_protected(&self, hay: &[u8], test: &SecretTest, hits: &mut Vec<Hit>) {
        let mut found = Vec::new();
        let mut i = 0;
        while i < hay.len() {
            if !is_secret_byte(hay[i]) {
                i += 1;
                continue;
            }
            let start = i;
            while i < hay.len() && is_secret_byte(hay[i]) {
                i += 1;
            }
            if i - start == SECRET_LEN
                && !hits.iter().any(|h| h.start < i && start < h.end)
                && test(&hay[start..i])
            {
                found.push(Hit {
                    start,
                    end: i,
                    kind: HitKind::OwnSecret,
                    masked: "a protected secret (kept in the OS keyring by keyage protect)".into(),
                });
            }
        }
        if !found.is_empty() {
            hits.extend(found);
            hits.sort_by_key(|h| h.start);
        }
    }

    /// The fast path. Candidates come leftmost first; restarting one byte after each start
    /// visits every start, and at a given start the longest own value wins (it was added
    /// first). Taking an own value only when it starts after the previous one ended is then
    /// exactly Aho-Corasick's leftmost-longest; key ids never overlap one another (each is a
    /// whole run of 20 word bytes), so checking each candidate alone is the regex's answer.
    fn scan_packed(&self, searcher: &packed::Searcher, hay: &[u8]) -> Vec<Hit> {
        let n_own = self.own_patterns.len();
        let mut own = Vec::new();
        let mut keys = Vec::new();
        let mut own_end = 0;
        let mut at = 0;
        while at < hay.len() {
            let Some(m) = searcher.find_in(hay, Span::from(at..hay.len())) else {
                break;
            };
            let (s, pid) = (m.start(), m.pattern().as_usize());
            if pid < n_own {
                if s >= own_end {
                    own.push(self.own_hit(pid, s, m.end()));
                    own_end = m.end();
                }
            } else if key_id_at(hay, s) {
                keys.push((s, s + KEY_ID_LEN));
            }
            at = s + 1;
        }
        self.finish(hay, own, keys.into_iter())
    }

    /// The general path: Aho-Corasick over the own values, then the key-id regex.
    pub fn scan_reference(&self, hay: &[u8]) -> Vec<Hit> {
        let r = self.reference.get_or_init(|| Reference {
            own: if self.own_bytes.is_empty() {
                None
            } else {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(self.own_bytes.iter().map(|b| b.as_slice()))
                    .ok()
            },
            key_id: Regex::new(&format!(r"(?-u)\b{KEY_ID_PATTERN}\b")).expect("static regex"),
        });
        let own = match &r.own {
            Some(ac) => ac
                .find_iter(hay)
                .map(|m| self.own_hit(m.pattern().as_usize(), m.start(), m.end()))
                .collect(),
            None => Vec::new(),
        };
        self.finish(
            hay,
            own,
            r.key_id.find_iter(hay).map(|m| (m.start(), m.end())),
        )
    }

    fn own_hit(&self, pattern: usize, start: usize, end: usize) -> Hit {
        let p = &self.own_patterns[pattern];
        Hit {
            start,
            end,
            kind: p.kind,
            masked: p.label.clone(),
        }
    }

    /// Own hits (in order, not overlapping) plus the key-id matches (in order) that overlap
    /// none of them and are not allowlisted, sorted by start.
    fn finish(
        &self,
        hay: &[u8],
        own: Vec<Hit>,
        keys: impl Iterator<Item = (usize, usize)>,
    ) -> Vec<Hit> {
        let mut hits = own;
        let own_count = hits.len();
        let mut next_own = 0;
        let mut line = PragmaLine::default();
        for (s, e) in keys {
            // Own hits are sorted and disjoint: skip those that end before this match.
            while next_own < own_count && hits[next_own].end <= s {
                next_own += 1;
            }
            if next_own < own_count && hits[next_own].start < e {
                continue;
            }
            let v = &hay[s..e];
            if self.allow.allows_value(v) || line.has_pragma(hay, s, e) {
                continue;
            }
            // Key ids are ASCII, so this is valid UTF-8.
            let text = std::str::from_utf8(v).unwrap_or_default();
            hits.push(Hit {
                start: s,
                end: e,
                kind: HitKind::KeyIdPattern,
                masked: mask_id(text),
            });
        }
        if own_count > 0 && hits.len() > own_count {
            hits.sort_by_key(|h| h.start);
        }
        hits
    }
}

/// `[0-9A-Za-z_]`: the regex's ASCII `\b` word bytes.
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// True when `(?-u)\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b` matches at `start`.
fn key_id_at(hay: &[u8], start: usize) -> bool {
    let Some(w) = hay.get(start..start + KEY_ID_LEN) else {
        return false;
    };
    if start > 0 && is_word(hay[start - 1]) {
        return false;
    }
    if hay.get(start + KEY_ID_LEN).is_some_and(|&b| is_word(b)) {
        return false;
    }
    let prefix = match &w[..4] {
        b"AKIA" | b"ASIA" | b"ABIA" | b"ACCA" => true,
        [b'A', b'3', b'T', c] => c.is_ascii_uppercase() || c.is_ascii_digit(),
        _ => false,
    };
    prefix
        && w[4..]
            .iter()
            .all(|&b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
}

/// Whether the line around a match carries [`INLINE_ALLOW`], remembered for the last line
/// (so many matches on one long line do not rescan it).
#[derive(Default)]
struct PragmaLine {
    start: usize,
    end: usize,
    has: bool,
}

impl PragmaLine {
    fn has_pragma(&mut self, hay: &[u8], start: usize, end: usize) -> bool {
        if self.end == 0 || start < self.start || end > self.end {
            let ls = memchr::memrchr(b'\n', &hay[..start]).map_or(0, |i| i + 1);
            let le = memchr::memchr(b'\n', &hay[end..]).map_or(hay.len(), |i| end + i);
            self.start = ls;
            self.end = le;
            self.has = memchr::memmem::find(&hay[ls..le], INLINE_ALLOW).is_some();
        }
        self.has
    }
}

/// git's heuristic: a NUL byte in the first 8000 bytes means binary.
pub fn is_binary(bytes: &[u8]) -> bool {
    bytes[..bytes.len().min(BINARY_PROBE)].contains(&0)
}

/// Maps byte offsets to 1-based line and column numbers, walking forward only.
pub struct LineIndex<'a> {
    hay: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
}

impl<'a> LineIndex<'a> {
    pub fn new(hay: &'a [u8]) -> Self {
        LineIndex {
            hay,
            pos: 0,
            line: 1,
            line_start: 0,
        }
    }
    /// Line and column of `offset`; offsets must not decrease between calls.
    pub fn locate(&mut self, offset: usize) -> (usize, usize) {
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
pub struct Finding {
    pub path: String,
    /// 1-based; None for a binary file (reported once per file).
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub kind: HitKind,
    pub masked: String,
    pub binary: bool,
}

impl Finding {
    pub fn render(&self) -> String {
        let place = match (self.line, self.column) {
            (Some(l), Some(c)) => format!("{}:{}:{}", self.path, l, c),
            (Some(l), None) => format!("{}:{}", self.path, l),
            _ => format!("{} (binary file)", self.path),
        };
        format!("{place}: {} {}", self.kind.describe(), self.masked)
    }
}

/// Scans one file's bytes and returns its findings: a binary file gives at most one finding
/// per kind (by file, not line); a text file one per hit with line and column.
pub fn findings_for(matcher: &Matcher, path: &str, bytes: &[u8]) -> Vec<Finding> {
    let hits = matcher.scan(bytes);
    if hits.is_empty() {
        return Vec::new();
    }
    if is_binary(bytes) {
        return binary_findings(path, hits);
    }
    let mut idx = LineIndex::new(bytes);
    hits.into_iter()
        .map(|h| {
            let (line, col) = idx.locate(h.start);
            Finding {
                path: path.to_string(),
                line: Some(line),
                column: Some(col),
                kind: h.kind,
                masked: h.masked,
                binary: false,
            }
        })
        .collect()
}

/// One finding for a binary file: the most serious kind, the first such match.
pub fn binary_findings(path: &str, hits: Vec<Hit>) -> Vec<Finding> {
    let rank = |k: HitKind| match k {
        HitKind::OwnSecret => 0,
        HitKind::OwnKeyId => 1,
        HitKind::KeyIdPattern => 2,
    };
    let Some(best) = hits.into_iter().min_by_key(|h| (rank(h.kind), h.start)) else {
        return Vec::new();
    };
    vec![Finding {
        path: path.to_string(),
        line: None,
        column: None,
        kind: best.kind,
        masked: best.masked,
        binary: true,
    }]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::secret;

    const OWN_ID: &str = "AKIAZ7QW3RTYU2IOPLKJ";
    const OWN_SECRET: &str = "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";

    fn own() -> OwnValues {
        OwnValues {
            key_ids: vec![OWN_ID.into()],
            secrets: vec![(secret(OWN_SECRET), Some(OWN_ID.into()))],
            ..Default::default()
        }
    }

    #[test]
    fn own_secret_exact_anywhere() {
        let m = Matcher::new(&own(), Allowlist::default());
        let hay = format!("x=\"{OWN_SECRET}\"\n");
        let hits = m.scan(hay.as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].kind, HitKind::OwnSecret);
        assert!(!hits[0].masked.contains(OWN_SECRET));
        assert!(!hits[0].masked.contains(&OWN_SECRET[4..]));
        // glued into a longer token: still the user's secret
        let hay = format!("abc{OWN_SECRET}def");
        assert_eq!(m.scan(hay.as_bytes()).len(), 1);
    }

    #[test]
    fn own_id_wins_over_pattern() {
        let m = Matcher::new(&own(), Allowlist::default());
        let hits = m.scan(format!("id {OWN_ID} and AKIAQWERTY234567ABCD").as_bytes());
        assert_eq!(hits.len(), 2);
        assert_eq!(hits[0].kind, HitKind::OwnKeyId);
        assert_eq!(hits[1].kind, HitKind::KeyIdPattern);
        assert_eq!(hits[1].masked, "AKIA…ABCD");
    }

    #[test]
    fn random_40_chars_pass() {
        let m = Matcher::new(&own(), Allowlist::default());
        for s in [
            "0123456789abcdef0123456789abcdef01234567",
            "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2Fy",
            "q9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9oQ",
        ] {
            assert!(m.scan(s.as_bytes()).is_empty(), "{s}");
        }
    }

    #[test]
    fn documented_examples_pass() {
        let m = Matcher::new(
            &OwnValues {
                key_ids: vec![EXAMPLE_KEY_ID.into()],
                secrets: vec![(secret(EXAMPLE_SECRET), None)],
                ..Default::default()
            },
            Allowlist::default(),
        );
        let hay =
            format!("{EXAMPLE_KEY_ID} {EXAMPLE_SECRET} AKIAI44QHXDHBEXAMPLE ASIAIOSFODNN7EXAMPLE");
        assert!(m.scan(hay.as_bytes()).is_empty());
    }

    #[test]
    fn pattern_boundaries_and_prefixes() {
        let m = Matcher::patterns_only();
        for ok in [
            "AKIAQWERTY234567ABCD",
            "ASIAABCDEFGHIJKLMNOP",
            "ABIAABCDEFGHIJKLMNOP",
            "ACCAABCDEFGHIJKLMNOP",
            "A3T9ABCDEFGHIJKLMNOP",
            "\"AKIAQWERTY234567ABCD\"",
            "key=AKIAQWERTY234567ABCD;",
        ] {
            assert_eq!(m.scan(ok.as_bytes()).len(), 1, "{ok}");
        }
        for no in [
            "XAKIAQWERTY234567ABCD",
            "AKIAQWERTY234567ABCD0",
            "AKIAQWERTY234567ABC1", // 1 is not base32
            "AKIAQWERTY234567ABC",  // too short
            "akiaqwerty234567abcd",
            "AKIAQWERTY234567ABCD_x",
        ] {
            assert!(m.scan(no.as_bytes()).is_empty(), "{no}");
        }
    }

    #[test]
    fn allowlist_values_paths_and_pragma() {
        let a = Allowlist::new(
            Path::new("/r"),
            &[
                ("t".into(), "# comment".into()),
                ("t".into(), "AKIAQWERTY234567ABCD".into()),
                ("t".into(), "fixtures/**".into()),
            ],
        );
        assert!(a.allows_path(Path::new("/r/fixtures/a/b.txt"), false));
        assert!(!a.allows_path(Path::new("/r/src/b.txt"), false));
        let m = Matcher::new(&own(), a);
        assert!(m.scan(b"AKIAQWERTY234567ABCD").is_empty());
        assert_eq!(m.scan(b"AKIAQWERTY234567ABCE").len(), 1);
        assert!(m
            .scan(b"x = AKIAQWERTY234567ABCE # keyage:allow\nAKIA")
            .is_empty());
        // the pragma does not excuse the user's own key
        assert_eq!(
            m.scan(format!("{OWN_ID} # keyage:allow").as_bytes()).len(),
            1
        );
    }

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

    /// Own values that start inside a key-id prefix, and one that holds an own key id.
    const KIA_SECRET: &str = "KIAq9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI";
    const OVERLAP_SECRET: &str = "xxAKIAZ7QW3RTYU2IOPLKJq9Xv3mK2pL8sT4wZ7y";

    /// Pieces that make near misses, boundaries, overlaps and pragmas likely.
    fn piece() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        prop_oneof![
            Just(b"AKIA".to_vec()),
            Just(b"ASIA".to_vec()),
            Just(b"A3T".to_vec()),
            Just(b"ACCA".to_vec()),
            Just(b"ABIA".to_vec()),
            Just(b"QWERTY234567ABCD".to_vec()),
            Just(b"Z7QW3RTYU2IOPLKJ".to_vec()),
            Just(OWN_ID.as_bytes().to_vec()),
            Just(OWN_SECRET.as_bytes().to_vec()),
            Just(OWN_SECRET.as_bytes()[..20].to_vec()),
            Just(OWN_SECRET.as_bytes()[20..].to_vec()),
            Just(b"keyage:allow".to_vec()),
            Just(b"AK".to_vec()),
            Just(OVERLAP_SECRET.as_bytes()[..25].to_vec()),
            Just(KIA_SECRET.as_bytes().to_vec()),
            Just(OVERLAP_SECRET.as_bytes().to_vec()),
            Just(EXAMPLE_KEY_ID.as_bytes().to_vec()),
            proptest::collection::vec(
                prop_oneof![
                    Just(b'A'),
                    Just(b'_'),
                    Just(b' '),
                    Just(b'\n'),
                    Just(b'x'),
                    Just(b'2'),
                    Just(0u8)
                ],
                0..3
            ),
        ]
    }

    proptest::proptest! {
            #[test]
            fn fast_path_equals_reference(parts in proptest::collection::vec(piece(), 0..24)) {
                let hay = parts.concat();
                let tricky = OwnValues {
                    key_ids: vec![OWN_ID.into(), "ASIAQWERTY234567ABCD".into()],
                    secrets: vec![
                        (secret(OWN_SECRET), None),
                        (secret(KIA_SECRET), None),
                        (secret(OVERLAP_SECRET), None),
                    ],
    ..Default::default()
                };
                for m in [
                    Matcher::new(&own(), Allowlist::default()),
                    Matcher::patterns_only(),
                    Matcher::new(&tricky, Allowlist::default()),
                ] {
                    proptest::prop_assert!(m.has_fast_path() || !cfg!(target_arch = "x86_64"));
                    proptest::prop_assert_eq!(m.scan(&hay), m.scan_reference(&hay));
                }
            }
        }

    #[test]
    fn many_own_values_use_the_general_path() {
        let ids: Vec<String> = (0..80)
            .map(|i| format!("AKIAZ7QW3RTYU2IOP{i:03}"))
            .collect();
        let own = OwnValues {
            key_ids: ids.clone(),
            secrets: vec![],
            ..Default::default()
        };
        let m = Matcher::new(&own, Allowlist::default());
        assert!(!m.has_fast_path());
        let hits = m.scan(format!("x {} y", ids[79]).as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].kind, HitKind::OwnKeyId);
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

    #[test]
    fn debug_never_shows_values() {
        let m = Matcher::new(&own(), Allowlist::default());
        let d = format!("{m:?} {:?}", own());
        assert!(!d.contains(OWN_SECRET) && !d.contains(OWN_ID), "{d}");
    }
}
