//! parse -> replace some single-line values -> parse again: the new file parses to the same
//! structure, the edited values read back as written, every other value is unchanged, and the
//! bytes outside the edited spans are identical.
//!
//! The edit goes through `Document::replace_values` (the writer's path), which checks only the
//! edited lines; the full parse here is what proves that check enough. Values are also tried
//! that must be refused (a comment, a line break, a bare CR, a leading space): whenever
//! `replace_values` accepts one, the full parse must agree.
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
        for (ei, e) in doc.entries(s).iter().enumerate() {
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
    let values: Vec<(usize, usize, &str)> = edits
        .iter()
        .map(|(s, e, _, v)| (*s, *e, v.as_str()))
        .collect();
    let mut checked = String::new();
    doc.replace_values(&values, &mut checked)
        .expect("replace_values accepts plain values in replaceable entries");
    assert_eq!(checked, out);
    // Values that change more than the value: whenever replace_values accepts, a full parse
    // must show only that value changed.
    let odd = ["", "x #c", "x\r", "x\n", " x", "x;y", "a\u{a0}#b", "é"][(selector & 7) as usize];
    if let Some((si, ei, _, _)) = edits.first() {
        let mut tried = String::new();
        if doc.replace_values(&[(*si, *ei, odd)], &mut tried).is_ok() {
            let a = Document::parse(&tried).expect("accepted edit parses");
            assert_eq!(a.lines().len(), doc.lines().len());
            assert_eq!(a.sections().len(), doc.sections().len());
            for (i, (p, q)) in doc.sections().iter().zip(a.sections()).enumerate() {
                assert_eq!(doc.name(p), a.name(q));
                assert_eq!(doc.prefix(p), a.prefix(q));
                assert_eq!(doc.entries(p).len(), a.entries(q).len());
                for (j, (x, y)) in doc.entries(p).iter().zip(a.entries(q)).enumerate() {
                    assert_eq!(x.key, y.key);
                    if (i, j) == (*si, *ei) {
                        assert_eq!(a.value(y), odd);
                    } else {
                        assert_eq!(a.value(y), doc.value(x));
                    }
                }
            }
        }
    }
    let after = Document::parse(&out).expect("edited file parses");
    assert_eq!(after.render(), out);
    assert_eq!(after.lines().len(), doc.lines().len());
    assert_eq!(after.sections().len(), doc.sections().len());
    for (si, (a, b)) in doc.sections().iter().zip(after.sections()).enumerate() {
        assert_eq!(doc.name(a), after.name(b));
        assert_eq!(doc.prefix(a), after.prefix(b));
        assert_eq!(doc.entries(a).len(), after.entries(b).len());
        for (ei, (x, y)) in doc.entries(a).iter().zip(after.entries(b)).enumerate() {
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
