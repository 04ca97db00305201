//! Any bytes through the matcher and the hook's git-output parsers: no panic, spans in bounds,
//! the fast (SIMD) path gives exactly the general path's hits, masked renderings never hold
//! the user's secret, and a planted own secret is always found.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/secret.rs"]
mod secret;

#[allow(dead_code)]
#[path = "../../src/error.rs"]
mod error;

#[allow(dead_code)]
#[path = "../../src/scan/mod.rs"]
mod scan;

use scan::{findings_for, Allowlist, HitKind, Matcher, OwnValues};

const OWN_ID: &str = "AKIAZ7QW3RTYU2IOPLKJ";
const OWN_SECRET: &str = "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";

fn matcher() -> &'static Matcher {
    static M: OnceLock<Matcher> = OnceLock::new();
    M.get_or_init(|| {
        // Own values that overlap one another and the key-id prefixes, so the fast path's
        // leftmost-longest bookkeeping is exercised.
        let own = OwnValues {
            key_ids: vec![OWN_ID.into(), "ASIAQWERTY234567ABCE".into()],
            secrets: vec![
                (secret::secret(OWN_SECRET), Some(OWN_ID.into())),
                (secret::secret("KIAq9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI"), None),
                (secret::secret("xxAKIAZ7QW3RTYU2IOPLKJq9Xv3mK2pL8sT4wZ7y"), None),
            ],
            ..Default::default()
        };
        let allow = Allowlist::new(
            std::path::Path::new("/r"),
            &[
                ("f".into(), "AKIAQWERTY234567ABCD".into()),
                ("f".into(), "fixtures/**".into()),
            ],
        );
        Matcher::new(&own, allow)
    })
}

fn check(m: &Matcher, data: &[u8]) {
    let hits = m.scan_all(data);
    // The SIMD path and the general path (Aho-Corasick + regex) agree exactly.
    assert!(m.has_fast_path());
    assert_eq!(m.scan(data), m.scan_reference(data));
    let mut last = 0;
    for h in &hits {
        assert!(h.start < h.end && h.end <= data.len());
        assert!(h.start >= last, "hits in order");
        last = h.start;
        assert!(!h.masked.contains(&OWN_SECRET[4..]));
        assert!(!h.masked.contains(OWN_ID));
    }
    let findings = findings_for(m, "f", data);
    for f in &findings {
        assert!(!f.render().contains(&OWN_SECRET[4..]));
    }
    // Line and column (memchr-counted) equal a plain count up to each hit.
    if !findings.is_empty() && !findings[0].binary {
        for (f, h) in findings.iter().zip(&hits) {
            let before = &data[..h.start];
            let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
            let col = h.start - before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1) + 1;
            assert_eq!((f.line, f.column), (Some(line), Some(col)));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let m = matcher();
    check(m, data);
    // A planted secret is always found, whatever surrounds it.
    let mut planted = data.to_vec();
    let at = data.first().map_or(0, |&b| b as usize % (data.len() + 1));
    planted.splice(at..at, OWN_SECRET.bytes());
    assert!(m
        .scan(&planted)
        .iter()
        .any(|h| h.kind == HitKind::OwnSecret));
    // The git-output parsers: the one `git diff -z --raw -p -U0` output, its raw records and
    // patch sections apart, and `git cat-file --batch`.
    let (entries, at) = scan::staged::parse_raw(data);
    assert!(at <= data.len());
    assert!(entries.iter().all(|e| !e.path.contains('\0')));
    if let Ok(files) = scan::staged::parse_diff(data) {
        assert_eq!(files.len(), entries.len());
        let _ = scan::staged::scan_staged(std::path::Path::new("/r"), m, &files);
    }
    for added in scan::staged::parse_patch(data) {
        assert_eq!(
            added.lines.len(),
            added.text.iter().filter(|&&b| b == b'\n').count()
        );
        let _ = scan::staged::findings_in_added(m, "f", &added);
    }
    let blobs = scan::staged::parse_batch(data, 3);
    assert_eq!(blobs.len(), 3);
});
