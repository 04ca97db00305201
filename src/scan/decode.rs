//! Encoded copies. A base64 (or base64url) run is decoded and scanned again only where it
//! holds a candidate, and the candidates are literal: the base64 forms of the key-id prefixes
//! `AKIA`/`ASIA` at the three byte alignments ([`fragments`]), searched with everything else
//! in the one SIMD pass. The user's own secrets are searched in their base64 forms directly
//! ([`encoded_forms`]). Windows are bounded (±[`WINDOW`] characters around the candidate),
//! and so is the depth (a base64 `.dockerconfigjson` holding a base64 `auth` is two levels).
//! UTF-16 text (with a byte-order mark) is turned into UTF-8 before scanning ([`utf16_text`]).

use base64::Engine;
use zeroize::Zeroizing;

use crate::scan::rules::{decode_lenient, is_secret_byte};

/// How many base64 characters each side of a candidate are decoded.
pub(crate) const WINDOW: usize = 4096;
/// How deep encodings inside encodings are followed.
pub(crate) const MAX_DEPTH: u8 = 2;
/// How many bytes one top-level scan may decode in all.
pub(crate) const BUDGET: usize = 8 << 20;

/// The characters of `base64(filler[..k] ++ value)` that depend on `value` alone, for the
/// alignments k = 0, 1, 2: what a longer base64 stream holding `value` at any byte offset
/// contains. With the URL alphabet too when it differs. `(alignment, text)` pairs.
pub(crate) fn encoded_forms(value: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut out: Vec<(u8, Vec<u8>)> = Vec::new();
    for k in 0..3u8 {
        // Copies of a secret: zeroed on drop.
        let mut buf = Zeroizing::new(vec![0u8; k as usize]);
        buf.extend_from_slice(value);
        let enc = Zeroizing::new(base64::engine::general_purpose::STANDARD_NO_PAD.encode(&*buf));
        let bits_from = 8 * k as usize;
        let first = bits_from.div_ceil(6);
        let last = (8 * (k as usize + value.len())) / 6;
        if last <= first {
            continue;
        }
        let std = enc.as_bytes()[first..last].to_vec();
        let url: Vec<u8> = std
            .iter()
            .map(|&b| match b {
                b'+' => b'-',
                b'/' => b'_',
                b => b,
            })
            .collect();
        let differs = url != std;
        out.push((k, std));
        if differs {
            out.push((k, url));
        }
    }
    out
}

/// Where the 4-character group holding a fragment of alignment `k` starts, relative to it.
pub(crate) fn group_offset(k: u8) -> usize {
    [0, 2, 3][k as usize % 3]
}

/// The fixed fragments: the base64 forms of `AKIA` and `ASIA` at the three alignments, and
/// of `"auths"` (a `.dockerconfigjson`, whose `auth` values are base64 again: the key id is
/// encoded twice there, so no `AKIA` form shows).
pub(crate) fn fragments() -> &'static [(u8, Vec<u8>)] {
    static F: std::sync::OnceLock<Vec<(u8, Vec<u8>)>> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let mut v = Vec::new();
        for p in [&b"AKIA"[..], b"ASIA", b"\"auths\""] {
            for f in encoded_forms(p) {
                if !v.contains(&f) {
                    v.push(f);
                }
            }
        }
        v
    })
}

/// A byte of a base64 or base64url run.
pub(crate) fn is_b64(b: u8) -> bool {
    is_secret_byte(b) || b == b'-' || b == b'_'
}

/// The window to decode around a fragment of alignment `k` found at `at`: `[start, end)` in
/// `hay`, starting on the fragment's 4-character grid, at most [`WINDOW`] characters each
/// side, within the base64 run. None when the run is too short to hold a key id.
pub(crate) fn window(hay: &[u8], at: usize, k: u8) -> Option<(usize, usize)> {
    let group = at.checked_sub(group_offset(k))?;
    if !hay[group..at].iter().all(|&b| is_b64(b)) {
        return None;
    }
    let mut left = group;
    while left > 0 && group - left < WINDOW && is_b64(hay[left - 1]) {
        left -= 1;
    }
    // Back onto the grid.
    left += (group - left) % 4;
    let mut right = at;
    while right < hay.len() && right - group < WINDOW && is_b64(hay[right]) {
        right += 1;
    }
    (right - left >= 24).then_some((left, right))
}

/// Decodes a window (lenient: either alphabet, no padding needed).
pub(crate) fn decode_window(hay: &[u8], (s, e): (usize, usize)) -> Option<Vec<u8>> {
    decode_lenient(&hay[s..e])
}

/// UTF-16 text with a byte-order mark, as UTF-8 (unpaired surrogates become U+FFFD). Also
/// returns, for each output byte offset, nothing: line numbers are counted in the output.
pub(crate) fn utf16_text(bytes: &[u8]) -> Option<Vec<u8>> {
    let le = match bytes {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return None,
    };
    let units = bytes[2..].chunks_exact(2).map(|c| {
        if le {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let mut out = Vec::with_capacity(bytes.len() / 2);
    for ch in char::decode_utf16(units) {
        let c = ch.unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut b = [0u8; 4];
        out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_found_at_every_offset() {
        let v = b"q9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9oP";
        let forms = encoded_forms(v);
        for pre in 0..6 {
            let mut data = b"[default]\nx = ".to_vec();
            data.truncate(data.len() - pre % 3);
            data.extend_from_slice(v);
            data.extend_from_slice(b"\nmore");
            let enc = base64::engine::general_purpose::STANDARD.encode(&data);
            assert!(
                forms
                    .iter()
                    .any(|(_, f)| memchr::memmem::find(enc.as_bytes(), f).is_some()),
                "offset {pre}"
            );
        }
    }

    #[test]
    fn window_decodes_a_key_id() {
        let inner = b"aws_access_key_id = AKIAQWERTY234567ABCD\n";
        for pad in 0..3 {
            let mut data = vec![b'#'; pad];
            data.extend_from_slice(inner);
            let enc = base64::engine::general_purpose::URL_SAFE.encode(&data);
            let hay = format!("data: {enc}\n");
            let found = fragments()
                .iter()
                .find_map(|(k, f)| memchr::memmem::find(hay.as_bytes(), f).map(|at| (*k, at)));
            let (k, at) = found.expect("fragment");
            let w = window(hay.as_bytes(), at, k).unwrap();
            let d = decode_window(hay.as_bytes(), w).unwrap();
            assert!(
                memchr::memmem::find(&d, b"AKIAQWERTY234567ABCD").is_some(),
                "pad {pad}"
            );
        }
    }

    #[test]
    fn utf16() {
        let s = "id = AKIAQWERTY234567ABCD\n";
        let mut le = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            le.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(utf16_text(&le).unwrap(), s.as_bytes());
        let mut be = vec![0xFE, 0xFF];
        for u in s.encode_utf16() {
            be.extend_from_slice(&u.to_be_bytes());
        }
        assert_eq!(utf16_text(&be).unwrap(), s.as_bytes());
        assert!(utf16_text(b"plain").is_none());
    }
}
