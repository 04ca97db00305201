//! The matcher behind `keyage hook pre-commit` and `keyage scan`.
//!
//! Evidence, from the most certain down (the tool must never cry wolf):
//! - **exact** occurrences of the user's own access key ids and secrets (current and old),
//!   taken from the credentials/config files, the rotation's pending list and the cache, also
//!   in their base64 forms (a multi-literal search: a random string can never match by
//!   accident); secrets the files no longer hold are recognised by their keyed fingerprint
//!   ([`crate::scan::fingerprint`]);
//! - the **shape of an AWS key id** (`(A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}` between
//!   word boundaries), with its account decoded offline;
//! - a 40-character **secret with context**: right after a secret-like name, or within a few
//!   lines after a key id ([`crate::scan::rules`]);
//! - the same inside **base64** runs, decoded where a candidate sits
//!   ([`crate::scan::decode`]).
//!
//! Pattern matches (not own keys) are subject to the allowlist: the documented `…EXAMPLE`
//! family, values listed in `.keyageignore` / `git config keyage.allow`, and lines carrying
//! `keyage:allow`.
//!
//! One SIMD (Teddy) search finds every candidate at once: the own values and their base64
//! forms, the key-id prefixes, the two spellings of "ecret", and the base64 forms of
//! `AKIA`/`ASIA`. The rules then run only at those positions.
//!
//! A [`Hit`] holds an offset, a kind and an already-masked rendering: the matched bytes are
//! never copied out of the haystack, so no caller can print a secret by mistake.

use std::collections::HashSet;
use std::sync::OnceLock;

use aho_corasick::{packed, AhoCorasick, AhoCorasickBuilder, MatchKind, Span};
use regex::bytes::Regex;
use zeroize::Zeroizing;

pub(crate) use crate::scan::allow::{Allowlist, INLINE_ALLOW};
use crate::scan::decode;
use crate::scan::fingerprint::{FingerprintSet, FpStatus};
pub(crate) use crate::scan::rules::KEY_ID_PATTERN;
use crate::scan::rules::{self, is_documented_example, key_id_at, KEY_ID_LEN};
use crate::secret::{mask_id, mask_secret_like, ExposeSecret, SecretKey};

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// The secret access key of one of the user's own current keys.
    OwnSecret,
    /// The access key id of one of the user's own current keys.
    OwnKeyId,
    /// The secret of one of the user's old keys (inactive, or waiting for finalize).
    OldSecret,
    /// The access key id of one of the user's old keys.
    OldKeyId,
    /// Something shaped like an AWS access key id.
    KeyIdPattern,
    /// A 40-character AWS secret shape with context (a secret-like name, or a key id before).
    SecretWithContext,
    /// AWS's documented example values (never blocks; `keyage scan` mentions them).
    DocumentedExample,
}

impl HitKind {
    pub(crate) fn describe(self) -> &'static str {
        match self {
            HitKind::OwnSecret => "your own secret access key",
            HitKind::OwnKeyId => "your own access key id",
            HitKind::OldSecret => "the secret of your old access key",
            HitKind::OldKeyId => "your old access key id",
            HitKind::KeyIdPattern => "an AWS access key id",
            HitKind::SecretWithContext => "an AWS secret access key",
            HitKind::DocumentedExample => "a documented example or placeholder",
        }
    }
    /// Own values (current or old) are certain, and never allowlisted; a pattern match may be
    /// somebody else's (or a test fixture).
    pub(crate) fn is_own(self) -> bool {
        matches!(
            self,
            HitKind::OwnSecret | HitKind::OwnKeyId | HitKind::OldSecret | HitKind::OldKeyId
        )
    }
    /// Everything but the documented examples blocks a commit.
    pub(crate) fn blocks(self) -> bool {
        self != HitKind::DocumentedExample
    }
    /// Seriousness (0 = worst), for the one finding of a binary file.
    pub(crate) fn rank(self) -> u8 {
        match self {
            HitKind::OwnSecret => 0,
            HitKind::OldSecret => 1,
            HitKind::OwnKeyId => 2,
            HitKind::OldKeyId => 3,
            HitKind::SecretWithContext => 4,
            HitKind::KeyIdPattern => 5,
            HitKind::DocumentedExample => 6,
        }
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
    /// What it is, in words: `account 123456789012 (not one of yours)`, `temporary (ASIA)
    /// key`, `waiting for keyage finalize`, `next to key id AKIA…ABCD`, …
    pub what: Option<String>,
    /// The AWS account of a key id, decoded offline (key ids from about 2019 on).
    pub account: Option<String>,
    /// Found inside a base64 run (the span is the run's decoded window).
    pub encoded: bool,
}

/// The user's own values: from the credentials/config files (current), the pending list and
/// the cache (old key ids), the fingerprints file (secrets the files do not hold).
#[derive(Default)]
pub struct OwnValues {
    pub key_ids: Vec<String>,
    /// Each secret with the key id it belongs to, when known.
    pub secrets: Vec<(SecretKey, Option<String>)>,
    /// Old key ids, each with why it is old (`inactive`, `waiting for keyage finalize`).
    pub old_key_ids: Vec<(String, String)>,
    /// The AWS accounts of the user's keys (from the cache), to tell "yours" from "another".
    pub accounts: Vec<String>,
    /// Keyed fingerprints of secrets kept elsewhere (the keyring).
    pub fingerprints: FingerprintSet,
}

impl std::fmt::Debug for OwnValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnValues")
            .field("key_ids", &self.key_ids.len())
            .field("secrets", &self.secrets.len())
            .field("old_key_ids", &self.old_key_ids.len())
            .field("fingerprints", &self.fingerprints.len())
            .finish()
    }
}

/// Own-value pattern: which kind, and the masked label to show.
struct OwnPattern {
    kind: HitKind,
    label: String,
    what: Option<String>,
    encoded: bool,
}

/// What a fixed (not own) needle is a candidate for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needle {
    /// A key-id prefix: check the key-id shape here.
    KeyId,
    /// "ecret"/"ECRET": check the context rule here.
    Name,
    /// A base64 form of `AKIA`/`ASIA` at this alignment: decode around here.
    Fragment(u8),
}

/// The fixed needles, in search priority after the own values.
fn needles() -> &'static [(Vec<u8>, Needle)] {
    static N: OnceLock<Vec<(Vec<u8>, Needle)>> = OnceLock::new();
    N.get_or_init(|| {
        let mut v: Vec<(Vec<u8>, Needle)> = Vec::new();
        for p in rules::KEY_ID_PREFIXES {
            v.push((p.to_vec(), Needle::KeyId));
        }
        for n in rules::NAME_NEEDLES {
            v.push((n.to_vec(), Needle::Name));
        }
        for (k, f) in decode::fragments() {
            v.push((f.clone(), Needle::Fragment(*k)));
        }
        v
    })
}

/// Candidate positions, as both search paths give them.
#[derive(Debug, Default, PartialEq, Eq)]
struct Candidates {
    /// (own pattern, start, end), leftmost-longest, not overlapping.
    own: Vec<(usize, usize, usize)>,
    /// Starts of key-id matches.
    key_ids: Vec<usize>,
    /// Positions of "ecret"/"ECRET".
    names: Vec<usize>,
    /// (position, alignment) of base64 fragments.
    fragments: Vec<(usize, u8)>,
}

/// The general search (and the reference the fast path is checked against): Aho-Corasick
/// (leftmost-longest) over the own values, the key-id regex, and a plain search for each
/// fixed needle. Built on first use.
struct Reference {
    own: Option<AhoCorasick>,
    key_id: Regex,
}

/// The compiled matcher. Build once, scan many buffers.
///
/// The fast path is one SIMD (Teddy) search for the own values and the fixed needles
/// together; each candidate is checked in place. It needs x86-64 or aarch64 and at most 64
/// patterns (about 10 own keys); otherwise the general path (Aho-Corasick + regex + memmem)
/// runs. Both give the same candidates, so the same hits (fuzzed: `fuzz/fuzz_targets/scan.rs`).
pub struct Matcher {
    /// Own values, longest first (so "first added" is "longest" at a given start).
    own_patterns: Vec<OwnPattern>,
    own_bytes: Vec<Zeroizing<Vec<u8>>>,
    packed: Option<packed::Searcher>,
    reference: OnceLock<Reference>,
    allow: Allowlist,
    accounts: Vec<String>,
    fingerprints: FingerprintSet,
}

impl std::fmt::Debug for Matcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matcher")
            .field("own_patterns", &self.own_patterns.len())
            .field("fast_path", &self.packed.is_some())
            .finish()
    }
}

/// Key ids too short to be a key, or documented examples, are not the user's own.
fn usable(b: &[u8]) -> bool {
    b.len() >= 16 && !is_documented_example(b)
}

impl Matcher {
    pub fn new(own: &OwnValues, allow: Allowlist) -> Self {
        let mut pats: Vec<(Zeroizing<Vec<u8>>, OwnPattern)> = Vec::new();
        let mut seen: HashSet<Vec<u8>> = HashSet::new();
        let mut push =
            |pats: &mut Vec<(Zeroizing<Vec<u8>>, OwnPattern)>, b: &[u8], p: OwnPattern| {
                if usable(b) && seen.insert(b.to_vec()) {
                    pats.push((Zeroizing::new(b.to_vec()), p));
                }
            };
        for id in &own.key_ids {
            let p = OwnPattern {
                kind: HitKind::OwnKeyId,
                label: mask_id(id),
                what: None,
                encoded: false,
            };
            push(&mut pats, id.as_bytes(), p);
        }
        for (id, why) in &own.old_key_ids {
            let p = OwnPattern {
                kind: HitKind::OldKeyId,
                label: mask_id(id),
                what: Some(why.clone()),
                encoded: false,
            };
            push(&mut pats, id.as_bytes(), p);
        }
        for (id, status) in own.fingerprints.key_ids() {
            let kind = match status {
                FpStatus::Current => HitKind::OwnKeyId,
                FpStatus::Old => HitKind::OldKeyId,
            };
            let p = OwnPattern {
                kind,
                label: mask_id(id),
                what: None,
                encoded: false,
            };
            push(&mut pats, id.as_bytes(), p);
        }
        for (s, owner) in &own.secrets {
            let v = s.expose_secret().as_bytes();
            let label = match owner {
                Some(id) => format!(
                    "{} (secret of {})",
                    mask_secret_like(s.expose_secret()),
                    mask_id(id)
                ),
                None => mask_secret_like(s.expose_secret()),
            };
            if !usable(v) {
                continue;
            }
            push(
                &mut pats,
                v,
                OwnPattern {
                    kind: HitKind::OwnSecret,
                    label: label.clone(),
                    what: None,
                    encoded: false,
                },
            );
            for (_, form) in decode::encoded_forms(v) {
                let form = Zeroizing::new(form);
                push(
                    &mut pats,
                    &form,
                    OwnPattern {
                        kind: HitKind::OwnSecret,
                        label: label.clone(),
                        what: Some("base64-encoded".into()),
                        encoded: true,
                    },
                );
            }
        }
        // Longest first (stable: ids before secrets of the same length).
        pats.sort_by_key(|(b, _)| std::cmp::Reverse(b.len()));
        let mut builder = packed::Config::new()
            .match_kind(packed::MatchKind::LeftmostFirst)
            .builder();
        for (b, _) in &pats {
            builder.add(&**b);
        }
        for (n, _) in needles() {
            builder.add(n);
        }
        Matcher {
            packed: builder.build(),
            own_bytes: pats.iter().map(|(b, _)| b.clone()).collect(),
            own_patterns: pats.into_iter().map(|(_, p)| p).collect(),
            reference: OnceLock::new(),
            allow,
            accounts: own.accounts.clone(),
            fingerprints: own.fingerprints.clone(),
        }
    }

    /// A matcher with no own values and the default allowlist (tests, fuzzing, benchmarks).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn patterns_only() -> Self {
        Matcher::new(&OwnValues::default(), Allowlist::default())
    }

    pub(crate) fn allowlist(&self) -> &Allowlist {
        &self.allow
    }

    /// True when [`Matcher::scan`] takes the SIMD path.
    #[cfg(any(test, fuzzing))]
    pub(crate) fn has_fast_path(&self) -> bool {
        self.packed.is_some()
    }

    /// Every hit that blocks, in order. Own values win over patterns on the same bytes.
    pub fn scan(&self, hay: &[u8]) -> Vec<Hit> {
        let mut v = self.scan_all(hay);
        v.retain(|h| h.kind.blocks());
        v
    }

    /// Every hit, the documented examples included.
    pub(crate) fn scan_all(&self, hay: &[u8]) -> Vec<Hit> {
        let mut budget = decode::BUDGET;
        self.scan_at(hay, 0, &mut budget, true)
    }

    /// The general path alone (the reference the fast path is checked against).
    #[cfg(any(test, fuzzing))]
    pub(crate) fn scan_reference(&self, hay: &[u8]) -> Vec<Hit> {
        let mut budget = decode::BUDGET;
        let mut v = self.scan_at(hay, 0, &mut budget, false);
        v.retain(|h| h.kind.blocks());
        v
    }

    fn scan_at(&self, hay: &[u8], depth: u8, budget: &mut usize, fast: bool) -> Vec<Hit> {
        let c = match (&self.packed, fast) {
            (Some(p), true) => self.candidates_packed(p, hay),
            _ => self.candidates_reference(hay),
        };
        self.evaluate(hay, c, depth, budget, fast)
    }

    /// The fast path. Candidates come leftmost first; restarting one byte after each start
    /// visits every start, and at a given start the longest own value wins (it was added
    /// first). Taking an own value only when it starts after the previous one ended is then
    /// exactly Aho-Corasick's leftmost-longest. At every start the fixed needles are compared
    /// in place (one of them may hide behind an own value starting there too); key ids never
    /// overlap one another (each is a whole run of 20 word bytes), so checking each
    /// candidate alone is the regex's answer.
    fn candidates_packed(&self, searcher: &packed::Searcher, hay: &[u8]) -> Candidates {
        let n_own = self.own_patterns.len();
        let mut c = Candidates::default();
        let mut own_end = 0;
        let mut at = 0;
        while at < hay.len() {
            let Some(m) = searcher.find_in(hay, Span::from(at..hay.len())) else {
                break;
            };
            let (s, pid) = (m.start(), m.pattern().as_usize());
            if pid < n_own && s >= own_end {
                c.own.push((pid, s, m.end()));
                own_end = m.end();
            }
            let mut key_id_done = false;
            for (n, kind) in needles() {
                if !hay[s..].starts_with(n) {
                    continue;
                }
                match *kind {
                    Needle::KeyId => {
                        if !key_id_done && key_id_at(hay, s) {
                            c.key_ids.push(s);
                        }
                        key_id_done = true;
                    }
                    Needle::Name => c.names.push(s),
                    Needle::Fragment(k) => c.fragments.push((s, k)),
                }
            }
            at = s + 1;
        }
        c
    }

    fn reference(&self) -> &Reference {
        self.reference.get_or_init(|| Reference {
            own: if self.own_bytes.is_empty() {
                None
            } else {
                AhoCorasickBuilder::new()
                    .match_kind(MatchKind::LeftmostLongest)
                    .build(self.own_bytes.iter().map(|b| b.as_slice()))
                    .ok()
            },
            key_id: Regex::new(&format!(r"(?-u)\b{KEY_ID_PATTERN}\b")).expect("static regex"),
        })
    }

    /// The general path: Aho-Corasick over the own values, the key-id regex, memmem for the
    /// other needles.
    fn candidates_reference(&self, hay: &[u8]) -> Candidates {
        let r = self.reference();
        let mut c = Candidates::default();
        if let Some(ac) = &r.own {
            c.own = ac
                .find_iter(hay)
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect();
        }
        c.key_ids = r.key_id.find_iter(hay).map(|m| m.start()).collect();
        for (n, kind) in needles() {
            for p in memchr::memmem::find_iter(hay, n) {
                match *kind {
                    Needle::KeyId => {}
                    Needle::Name => c.names.push(p),
                    Needle::Fragment(k) => c.fragments.push((p, k)),
                }
            }
        }
        c.names.sort_unstable();
        c.fragments.sort_unstable();
        c
    }

    fn own_hit(&self, pattern: usize, start: usize, end: usize) -> Hit {
        let p = &self.own_patterns[pattern];
        Hit {
            start,
            end,
            kind: p.kind,
            masked: p.label.clone(),
            what: p.what.clone(),
            account: None,
            encoded: p.encoded,
        }
    }

    /// What a key id is: its account (decoded offline) against the user's, temporary or not.
    fn key_id_hit(&self, hay: &[u8], s: usize) -> Hit {
        let v = &hay[s..s + KEY_ID_LEN];
        // Key ids are ASCII, so this is valid UTF-8.
        let text = std::str::from_utf8(v).unwrap_or_default();
        let example = if is_documented_example(v) {
            Some("key id")
        } else if !rules::key_id_random_enough(v) {
            // `AKIAXXXXXXXXXXXXXXXX`: a placeholder, not a key.
            Some("placeholder key id")
        } else {
            None
        };
        if let Some(what) = example {
            return Hit {
                start: s,
                end: s + KEY_ID_LEN,
                kind: HitKind::DocumentedExample,
                masked: text.to_string(),
                what: Some(what.into()),
                account: None,
                encoded: false,
            };
        }
        let account = rules::account_of(v);
        let mut what = Vec::new();
        if v.starts_with(b"ASIA") {
            what.push("temporary (ASIA) key".to_string());
        }
        if let Some(a) = &account {
            if self.accounts.is_empty() {
                what.push(format!("account {a}"));
            } else if self.accounts.contains(a) {
                what.push(format!("account {a}: one of yours"));
            } else {
                what.push(format!("account {a}: not one of yours"));
            }
        }
        Hit {
            start: s,
            end: s + KEY_ID_LEN,
            kind: HitKind::KeyIdPattern,
            masked: mask_id(text),
            what: (!what.is_empty()).then(|| what.join("; ")),
            account,
            encoded: false,
        }
    }

    /// A secret found by a rule: the user's own (by fingerprint), an example, or a pattern.
    fn secret_hit(&self, hay: &[u8], sp: &rules::SecretSpan, why: Option<String>) -> Hit {
        let value = sp.value(hay);
        let text = std::str::from_utf8(&value).unwrap_or_default();
        let mut what: Vec<String> = why.into_iter().collect();
        if sp.encoded {
            what.push("base64-encoded".into());
        }
        let (kind, masked) = if is_documented_example(&value) {
            (HitKind::DocumentedExample, text.to_string())
        } else if let Some(e) = self.fingerprints.lookup(&value) {
            let kind = match e.status {
                FpStatus::Current => HitKind::OwnSecret,
                FpStatus::Old => HitKind::OldSecret,
            };
            (
                kind,
                format!(
                    "{} (secret of {})",
                    mask_secret_like(text),
                    mask_id(&e.key_id)
                ),
            )
        } else {
            (HitKind::SecretWithContext, mask_secret_like(text))
        };
        Hit {
            start: sp.start,
            end: sp.end,
            kind,
            masked,
            what: (!what.is_empty()).then(|| what.join("; ")),
            account: None,
            encoded: sp.encoded,
        }
    }

    /// The rules at the candidates, the decoded windows, then [`Matcher::finish`].
    fn evaluate(
        &self,
        hay: &[u8],
        c: Candidates,
        depth: u8,
        budget: &mut usize,
        fast: bool,
    ) -> Vec<Hit> {
        let mut own: Vec<Hit> = c
            .own
            .iter()
            .map(|&(p, s, e)| self.own_hit(p, s, e))
            .collect();
        if !self.fingerprints.is_empty() {
            own.extend(self.fingerprint_hits(hay));
        }
        let mut pattern = Vec::new();
        for &s in &c.key_ids {
            let h = self.key_id_hit(hay, s);
            let example = h.kind == HitKind::DocumentedExample;
            let label = h.masked.clone();
            pattern.push(h);
            if !example {
                if let Some(sp) = rules::pair_secret(hay, s + KEY_ID_LEN) {
                    pattern.push(self.secret_hit(
                        hay,
                        &sp,
                        Some(format!("next to key id {label}")),
                    ));
                }
            }
        }
        for &p in &c.names {
            if let Some(sp) = rules::context_secret(hay, p) {
                pattern.push(self.secret_hit(hay, &sp, None));
            }
        }
        let mut decoded = Vec::new();
        if depth < decode::MAX_DEPTH {
            let mut done_to = 0;
            for &(p, k) in &c.fragments {
                if p < done_to || *budget == 0 {
                    continue;
                }
                let Some(w) = decode::window(hay, p, k) else {
                    continue;
                };
                let Some(bytes) = decode::decode_window(hay, w) else {
                    continue;
                };
                let bytes = Zeroizing::new(bytes);
                done_to = w.1;
                *budget = budget.saturating_sub(bytes.len());
                for h in self.scan_at(&bytes, depth + 1, budget, fast) {
                    decoded.push(Hit {
                        start: w.0,
                        end: w.1,
                        what: Some(match h.what {
                            Some(w) if w.contains("base64") => w,
                            Some(w) => format!("{w}; base64-encoded"),
                            None => "base64-encoded".into(),
                        }),
                        encoded: true,
                        ..h
                    });
                }
            }
        }
        self.finish(hay, own, pattern, decoded)
    }

    /// Every 40-character secret-shaped token whose fingerprint is in the set.
    fn fingerprint_hits(&self, hay: &[u8]) -> Vec<Hit> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < hay.len() {
            if !rules::is_secret_byte(hay[i]) {
                i += 1;
                continue;
            }
            let s = i;
            while i < hay.len() && (rules::is_secret_byte(hay[i]) || matches!(hay[i], b'_' | b'-'))
            {
                i += 1;
            }
            if i - s == rules::SECRET_LEN && rules::secret_token_at(hay, s) {
                let sp = rules::SecretSpan {
                    start: s,
                    end: i,
                    encoded: false,
                };
                let h = self.secret_hit(hay, &sp, None);
                if h.kind.is_own() {
                    out.push(h);
                }
            }
        }
        out
    }

    /// Own hits (never filtered) plus the pattern hits that overlap no own hit and are not
    /// allowlisted, plus the decoded hits (already filtered inside), sorted by start.
    fn finish(&self, hay: &[u8], own: Vec<Hit>, pattern: Vec<Hit>, decoded: Vec<Hit>) -> Vec<Hit> {
        let overlaps_own =
            |s: usize, e: usize, own: &[Hit]| own.iter().any(|o| o.start < e && s < o.end);
        let mut hits = Vec::with_capacity(own.len() + pattern.len());
        let mut line = PragmaLine::default();
        for h in pattern {
            if overlaps_own(h.start, h.end, &own) {
                continue;
            }
            if h.kind != HitKind::DocumentedExample && self.allow.allows_value(&hay[h.start..h.end])
            {
                continue;
            }
            if line.has_pragma(hay, h.start, h.end) {
                continue;
            }
            hits.push(h);
        }
        for h in decoded {
            if h.kind.is_own() {
                // Already found as a literal base64 form: one finding is enough.
                if own
                    .iter()
                    .any(|o| o.kind == h.kind && o.start < h.end && h.start < o.end)
                {
                    continue;
                }
            } else if overlaps_own(h.start, h.end, &own) || line.has_pragma(hay, h.start, h.end) {
                continue;
            }
            hits.push(h);
        }
        hits.extend(own);
        hits.sort_by(|a, b| {
            (a.start, a.kind.rank(), a.end, &a.masked).cmp(&(
                b.start,
                b.kind.rank(),
                b.end,
                &b.masked,
            ))
        });
        hits.dedup_by(|a, b| {
            a.start == b.start && a.end == b.end && a.kind == b.kind && a.masked == b.masked
        });
        hits
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::rules::{EXAMPLE_KEY_ID, EXAMPLE_SECRET};
    use crate::secret::secret;
    use std::path::Path;

    const OWN_ID: &str = "AKIAZ7QW3RTYU2IOPLKJ";
    const OWN_SECRET: &str = "q9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9oP";

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

    /// Each of `hays` alone gives `n` hits.
    fn finds(m: &Matcher, n: usize, hays: &[&str]) {
        for h in hays {
            assert_eq!(m.scan(h.as_bytes()).len(), n, "{h}");
        }
    }

    #[test]
    fn random_40_chars_pass() {
        let m = Matcher::new(&own(), Allowlist::default());
        finds(
            &m,
            0,
            &[
                "0123456789abcdef0123456789abcdef01234567",
                "Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2Fy",
                "q9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9oQ",
            ],
        );
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
        finds(
            &m,
            1,
            &[
                "AKIAQWERTY234567ABCD",
                "ASIAABCDEFGHIJKLMNOP",
                "ABIAABCDEFGHIJKLMNOP",
                "ACCAABCDEFGHIJKLMNOP",
                "A3T9ABCDEFGHIJKLMNOP",
                "\"AKIAQWERTY234567ABCD\"",
                "key=AKIAQWERTY234567ABCD;",
            ],
        );
        finds(
            &m,
            0,
            &[
                "XAKIAQWERTY234567ABCD",
                "AKIAQWERTY234567ABCD0",
                "AKIAQWERTY234567ABC1", // 1 is not base32
                "AKIAQWERTY234567ABC",  // too short
                "akiaqwerty234567abcd",
                "AKIAQWERTY234567ABCD_x",
            ],
        );
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
            ..Default::default()
        };
        let m = Matcher::new(&own, Allowlist::default());
        assert!(!m.has_fast_path());
        let hits = m.scan(format!("x {} y", ids[79]).as_bytes());
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].kind, HitKind::OwnKeyId);
    }

    #[test]
    fn debug_never_shows_values() {
        let m = Matcher::new(&own(), Allowlist::default());
        let d = format!("{m:?} {:?}", own());
        assert!(!d.contains(OWN_SECRET) && !d.contains(OWN_ID), "{d}");
    }
}
