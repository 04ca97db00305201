//! parse -> replace some single-line values -> parse again: the new file parses to the same
//! structure, the edited values read back as written, every other value is unchanged, and the
//! bytes outside the edited spans are identical.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/profiles/document.rs"]
mod document;

use document::Document;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(doc) = Document::parse_bytes(rest) else {
        return;
    };
    // Pick entries to edit from the selector byte; only single-line values (as keyage does).
    let mut edits = Vec::new();
    let mut n = 0usize;
    for (si, s) in doc.sections().iter().enumerate() {
        for (ei, e) in s.entries.iter().enumerate() {
            n += 1;
            if doc.replaceable(e) && (selector as usize >> (n % 8)) & 1 == 1 {
                edits.push((si, ei, e.value_span.clone(), format!("NEW{si}x{ei}/+=")));
            }
        }
    }
    let spans: Vec<(std::ops::Range<usize>, &str)> = edits
        .iter()
        .map(|(_, _, r, v)| (r.clone(), v.as_str()))
        .collect();
    let out = doc
        .splice(&spans)
        .expect("spans from the parser never overlap");
    let after = Document::parse(&out).expect("edited file parses");
    assert_eq!(after.render(), out);
    assert_eq!(after.lines().len(), doc.lines().len());
    assert_eq!(after.sections().len(), doc.sections().len());
    for (si, (a, b)) in doc.sections().iter().zip(after.sections()).enumerate() {
        assert_eq!(a.entries.len(), b.entries.len());
        for (ei, (x, y)) in a.entries.iter().zip(&b.entries).enumerate() {
            assert_eq!(x.key, y.key);
            match edits.iter().find(|(s, e, _, _)| *s == si && *e == ei) {
                Some((_, _, _, v)) => assert_eq!(after.value(y), v.as_str()),
                None => assert_eq!(after.value(y), doc.value(x)),
            }
        }
    }
    // Bytes outside the edited spans are untouched.
    let mut sorted = edits.clone();
    sorted.sort_by_key(|(_, _, r, _)| r.start);
    let (mut pos_old, mut pos_new) = (0usize, 0usize);
    let (old, new) = (doc.text().as_bytes(), out.as_bytes());
    for (_, _, r, v) in &sorted {
        let len = r.start - pos_old;
        assert_eq!(old[pos_old..r.start], new[pos_new..pos_new + len]);
        pos_new += len + v.len();
        pos_old = r.end;
    }
    assert_eq!(old[pos_old..], new[pos_new..]);
});
