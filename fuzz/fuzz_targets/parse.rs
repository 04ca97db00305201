//! Any bytes: parsing never panics, and whatever parses renders back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[allow(dead_code)]
#[path = "../../src/profiles/document.rs"]
mod document;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = document::Document::parse_bytes(data) {
        assert_eq!(doc.render().as_bytes(), data);
        assert_eq!(doc.as_bytes(), data);
        for s in doc.sections() {
            for e in doc.entries(s) {
                let _ = doc.value(e);
            }
        }
    }
});
