//! The shape rules, each a pure function of the haystack and one candidate position (the
//! matcher only calls them where its SIMD search found a candidate):
//! - [`key_id_at`]: an AWS access key id between word boundaries;
//! - [`context_secret`]: a 40-character secret right after a secret-like name
//!   (`aws_secret_access_key = …`, `"SecretAccessKey": "…"`, `AWS_SECRET_ACCESS_KEY=…`,
//!   `secret_key = "…"` near an AWS word, a Kubernetes `data:` value holding its base64 form);
//! - [`pair_secret`]: a 40-character secret within a few lines after a key id;
//! - [`account_of`]: the AWS account a key id belongs to (decoded offline);
//! - [`is_documented_example`]: AWS's documented example values.

use base64::Engine;
use zeroize::Zeroizing;

/// The key id AWS documents as an example (never a real key).
pub(crate) const EXAMPLE_KEY_ID: &str = "AKIAIOSFODNN7EXAMPLE";
/// The secret AWS documents as an example (never a real key).
pub(crate) const EXAMPLE_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
/// The key-id shape (without boundaries).
pub(crate) const KEY_ID_PATTERN: &str = "(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}";
/// The literal starts of [`KEY_ID_PATTERN`].
pub(crate) const KEY_ID_PREFIXES: [&[u8]; 5] = [b"AKIA", b"ASIA", b"ABIA", b"ACCA", b"A3T"];
/// The length of every key id the pattern matches.
pub(crate) const KEY_ID_LEN: usize = 20;
/// The length of an AWS secret access key.
pub(crate) const SECRET_LEN: usize = 40;
/// The two spellings of the middle of "secret" the search looks for (`secret`, `Secret`,
/// `SECRET`, `aws_secret_access_key`, `SecretAccessKey`, …).
pub(crate) const NAME_NEEDLES: [&[u8]; 2] = [b"ecret", b"ECRET"];
/// How far (bytes) around a weak name (`secret_key`, `secret`) an AWS word must be.
const AWS_CONTEXT: usize = 1024;
/// How far after a key id the pair rule looks for its secret.
const PAIR_LINES: usize = 6;
const PAIR_BYTES: usize = 1024;

/// True for the documented example values: `AKIAIOSFODNN7EXAMPLE`, its secret, and any key id
/// ending in `EXAMPLE` (the AWS docs use several) or secret ending in `EXAMPLEKEY`.
pub(crate) fn is_documented_example(value: &[u8]) -> bool {
    value == EXAMPLE_KEY_ID.as_bytes()
        || value == EXAMPLE_SECRET.as_bytes()
        || (value.len() == KEY_ID_LEN && value.ends_with(b"EXAMPLE"))
        || (value.len() == SECRET_LEN && value.ends_with(b"EXAMPLEKEY"))
}

/// `[0-9A-Za-z_]`: the regex's ASCII `\b` word bytes.
pub(crate) fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// True when `(?-u)\b(?:A3T[A-Z0-9]|AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}\b` matches at `start`.
pub(crate) fn key_id_at(hay: &[u8], start: usize) -> bool {
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

/// A placeholder like `AKIAXXXXXXXXXXXXXXXX` or `AKIAAAAABBBBCCCCDDDD` is not a key: the 16
/// characters after the prefix of a real key id are random (about 12 distinct ones).
pub(crate) fn key_id_random_enough(id: &[u8]) -> bool {
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in id.get(4..).unwrap_or_default() {
        if !seen[b as usize] {
            seen[b as usize] = true;
            distinct += 1;
        }
    }
    distinct >= 6
}

/// A byte of a secret access key (the standard base64 alphabet without `=`).
pub(crate) fn is_secret_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'/' || b == b'+'
}

/// A byte that glues onto a token (so the token is part of something longer).
fn glues(b: u8) -> bool {
    is_secret_byte(b) || b == b'_' || b == b'-'
}

/// True when exactly 40 secret bytes start at `s`, not glued to a longer token (a `=` after
/// them is base64 padding: a longer encoding, not a key).
pub(crate) fn secret_token_at(hay: &[u8], s: usize) -> bool {
    let Some(w) = hay.get(s..s + SECRET_LEN) else {
        return false;
    };
    if s > 0 && glues(hay[s - 1]) {
        return false;
    }
    if hay
        .get(s + SECRET_LEN)
        .is_some_and(|&b| glues(b) || b == b'=')
    {
        return false;
    }
    w.iter().all(|&b| is_secret_byte(b))
}

/// What an AWS secret looks like and a word, a path, a hex digest or a placeholder does not:
/// upper case, lower case and a digit (or `/`, `+`), not all hex, and many distinct bytes.
pub(crate) fn looks_random(v: &[u8]) -> bool {
    let upper = v.iter().any(u8::is_ascii_uppercase);
    let lower = v.iter().any(u8::is_ascii_lowercase);
    let digit = v
        .iter()
        .any(|&b| b.is_ascii_digit() || b == b'/' || b == b'+');
    let hex = v.iter().all(u8::is_ascii_hexdigit);
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in v {
        if !seen[b as usize] {
            seen[b as usize] = true;
            distinct += 1;
        }
    }
    upper && lower && digit && !hex && distinct >= 16
}

/// `[A-Za-z0-9_.-]`: the bytes of a name like `aws.secretKey` or `AWS_SECRET_ACCESS_KEY`.
fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-'
}

/// How much a name says "AWS secret".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Strength {
    /// `aws_secret_access_key`, `SecretAccessKey`, `aws_secret`, `AWS_SECRET_KEY`, …
    Strong,
    /// `secret_key`, `secretKey`, `secret`: only with an AWS word nearby.
    Weak,
}

fn name_strength(name: &[u8]) -> Option<Strength> {
    if name.len() > 48 {
        return None;
    }
    let norm: Vec<u8> = name
        .iter()
        .filter(|&&b| b.is_ascii_alphanumeric())
        .map(u8::to_ascii_lowercase)
        .collect();
    let has = |w: &[u8]| memchr::memmem::find(&norm, w).is_some();
    if !has(b"secret") {
        return None;
    }
    // Secrets of other things that happen to be 40 characters long.
    for other in [
        &b"client"[..],
        b"token",
        b"github",
        b"oauth",
        b"consumer",
        b"webhook",
        b"session",
        b"jwt",
        b"hmac",
        b"app",
        b"api",
        b"azure",
        b"gcp",
        b"google",
        b"stripe",
        b"slack",
        b"twitter",
    ] {
        if has(other) {
            return None;
        }
    }
    if has(b"secretaccesskey") || has(b"aws") || has(b"amazon") || has(b"s3") {
        Some(Strength::Strong)
    } else if norm.len() <= 16 {
        Some(Strength::Weak)
    } else {
        None
    }
}

/// An AWS word near `[s, e)`: `aws`/`AWS`/`Aws`, `amazon`, or a key-id prefix.
fn aws_nearby(hay: &[u8], s: usize, e: usize) -> bool {
    let lo = s.saturating_sub(AWS_CONTEXT);
    let hi = (e + AWS_CONTEXT).min(hay.len());
    let w = &hay[lo..hi];
    [
        &b"aws"[..],
        b"AWS",
        b"Aws",
        b"amazon",
        b"Amazon",
        b"AKIA",
        b"ASIA",
    ]
    .iter()
    .any(|n| memchr::memmem::find(w, n).is_some())
}

/// A secret found by a rule: its span, and whether the haystack holds its base64 form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SecretSpan {
    pub start: usize,
    pub end: usize,
    /// The span is the base64 encoding of the secret (a Kubernetes `data:` value).
    pub encoded: bool,
}

impl SecretSpan {
    /// The secret's bytes (decoded when `encoded`). Zeroed on drop.
    pub(crate) fn value(&self, hay: &[u8]) -> Zeroizing<Vec<u8>> {
        let raw = &hay[self.start..self.end];
        if self.encoded {
            decode_secret_b64(raw).unwrap_or_default()
        } else {
            Zeroizing::new(raw.to_vec())
        }
    }
}

/// The words a value may follow after the name (`- name: X` / `value: …` in a Kubernetes
/// env list, CloudFormation's `ParameterValue`).
const VALUE_WORDS: [&[u8]; 6] = [
    b"value",
    b"Value",
    b"VALUE",
    b"ParameterValue",
    b"default",
    b"Default",
];

/// The context rule at a name candidate `p` (where [`NAME_NEEDLES`] matched, one byte after
/// the name's `s`/`S`): the secret right after the name, if any.
pub(crate) fn context_secret(hay: &[u8], p: usize) -> Option<SecretSpan> {
    if p == 0 || !matches!(hay[p - 1], b's' | b'S') {
        return None;
    }
    let mut ns = p - 1;
    while ns > 0 && p - ns < 48 && is_name_byte(hay[ns - 1]) {
        ns -= 1;
    }
    let mut ne = p + 5;
    while ne < hay.len() && ne - p < 48 && is_name_byte(hay[ne]) {
        ne += 1;
    }
    // A name glued to a longer identifier we did not measure: not ours.
    if ne < hay.len() && is_name_byte(hay[ne]) {
        return None;
    }
    let strength = name_strength(&hay[ns..ne])?;
    if strength == Strength::Weak && !aws_nearby(hay, ns, ne) {
        return None;
    }
    let v = skip_separators(hay, ne)?;
    if secret_token_at(hay, v) && looks_random(&hay[v..v + SECRET_LEN]) {
        return Some(SecretSpan {
            start: v,
            end: v + SECRET_LEN,
            encoded: false,
        });
    }
    // The base64 form of a secret (56 characters; 4 more when it ends in a newline).
    let mut e = v;
    while e < hay.len() && e - v < 64 && (is_secret_byte(hay[e]) || hay[e] == b'=') {
        e += 1;
    }
    if (52..=60).contains(&(e - v)) && !hay.get(e).is_some_and(|&b| glues(b)) {
        if let Some(d) = decode_secret_b64(&hay[v..e]) {
            if d.len() == SECRET_LEN && d.iter().all(|&b| is_secret_byte(b)) && looks_random(&d) {
                return Some(SecretSpan {
                    start: v,
                    end: e,
                    encoded: true,
                });
            }
        }
    }
    None
}

/// Skips what stands between a name and its value: quotes, `=`, `:`, `=>`, `>`, brackets,
/// commas, spaces, one line break and a `value:` word. At least one byte must be skipped.
fn skip_separators(hay: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    let mut newlines = 0;
    let limit = (from + 48).min(hay.len());
    while i < limit {
        match hay[i] {
            b' ' | b'\t' | b'"' | b'\'' | b'`' | b'\\' | b':' | b'=' | b'>' | b',' | b'('
            | b')' | b'[' | b']' | b'{' | b'}' | b'\r' => i += 1,
            b'\n' if newlines == 0 => {
                newlines += 1;
                i += 1;
            }
            b'-' if hay.get(i + 1) == Some(&b'>') => i += 2,
            // `+=`, `?=`, `.=` (make, PHP), `|` (a YAML block, a pipe)
            b'+' | b'?' | b'.' if hay.get(i + 1) == Some(&b'=') => i += 2,
            b'|' => i += 1,
            _ => {
                if i > from {
                    if let Some(w) = VALUE_WORDS.iter().find(|w| hay[i..].starts_with(w)) {
                        if !hay.get(i + w.len()).is_some_and(|&b| is_name_byte(b)) {
                            i += w.len();
                            continue;
                        }
                    }
                }
                break;
            }
        }
    }
    (i > from && i < hay.len()).then_some(i)
}

/// Decodes a short base64 value holding a secret (standard or URL alphabet, padded or not,
/// one trailing newline dropped).
fn decode_secret_b64(raw: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let d = Zeroizing::new(decode_lenient(raw)?);
    let mut end = d.len();
    while end > 0 && matches!(d[end - 1], b'\n' | b'\r') {
        end -= 1;
    }
    Some(Zeroizing::new(d[..end].to_vec()))
}

/// The lenient decoder: `-_` read as `+/`, padding optional, a dangling last character
/// dropped, trailing bits ignored.
pub(crate) fn decode_lenient(raw: &[u8]) -> Option<Vec<u8>> {
    let mut s: Zeroizing<Vec<u8>> = Zeroizing::new(
        raw.iter()
            .take_while(|&&b| b != b'=')
            .map(|&b| match b {
                b'-' => b'+',
                b'_' => b'/',
                b => b,
            })
            .collect(),
    );
    if s.len() % 4 == 1 {
        s.pop();
    }
    lenient_engine().decode(&*s).ok()
}

fn lenient_engine() -> &'static base64::engine::GeneralPurpose {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    static E: std::sync::OnceLock<GeneralPurpose> = std::sync::OnceLock::new();
    E.get_or_init(|| {
        GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new()
                .with_decode_allow_trailing_bits(true)
                .with_decode_padding_mode(DecodePaddingMode::Indifferent),
        )
    })
}

/// The pair rule: the first secret-shaped token within a few lines after a key id ending at
/// `e` (a CSV row `AKIA…,secret`, an ini section, two env lines).
pub(crate) fn pair_secret(hay: &[u8], e: usize) -> Option<SecretSpan> {
    let end = (e + PAIR_BYTES).min(hay.len());
    let mut lines = 0;
    let mut i = e;
    while i < end {
        let b = hay[i];
        if b == b'\n' {
            lines += 1;
            if lines > PAIR_LINES {
                break;
            }
            i += 1;
            continue;
        }
        if is_secret_byte(b) && (i == 0 || !glues(hay[i - 1])) {
            if secret_token_at(hay, i) && looks_random(&hay[i..i + SECRET_LEN]) {
                return Some(SecretSpan {
                    start: i,
                    end: i + SECRET_LEN,
                    encoded: false,
                });
            }
            // Skip the rest of this token.
            while i < end && glues(hay[i]) {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    None
}

/// The AWS account id a key id belongs to, decoded offline (no call): the ten base32
/// characters after `AKIA`/`ASIA` carry it in bits 1–40 of their first six bytes. Only key
/// ids of this format (fifth character `Q`–`Z` or `2`–`7`, from about 2019 on) carry it.
pub(crate) fn account_of(key_id: &[u8]) -> Option<String> {
    if key_id.len() != KEY_ID_LEN || !(key_id.starts_with(b"AKIA") || key_id.starts_with(b"ASIA")) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in &key_id[4..14] {
        let d = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        v = (v << 5) | u64::from(d);
    }
    // 50 bits read; the first six bytes are the top 48.
    let six = v >> 2;
    if six >> 47 == 0 {
        return None;
    }
    Some(format!("{:012}", (six & 0x7fff_ffff_ff80) >> 7))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: &str = "q9Xv3mK2pL8sT4wZ7yB1nC6dF0gH5jR2eA3uI9oP";

    fn ctx(hay: &str) -> Option<String> {
        let p = memchr::memmem::find(hay.as_bytes(), b"ecret")
            .or_else(|| memchr::memmem::find(hay.as_bytes(), b"ECRET"))?;
        context_secret(hay.as_bytes(), p)
            .map(|s| String::from_utf8(s.value(hay.as_bytes()).to_vec()).unwrap())
    }

    #[test]
    fn context_syntaxes() {
        for hay in [
            format!("aws_secret_access_key = {S}\n"),
            format!("aws_secret_access_key={S}"),
            format!("AWS_SECRET_ACCESS_KEY=\"{S}\"\n"),
            format!("export AWS_SECRET_ACCESS_KEY='{S}'\n"),
            format!("  aws_secret_access_key: {S}\n"),
            format!("{{\"SecretAccessKey\": \"{S}\"}}"),
            format!("{{\\\"SecretAccessKey\\\":\\\"{S}\\\"}}"),
            format!("<SecretAccessKey>{S}</SecretAccessKey>"),
            format!("provider \"aws\" {{\n  secret_key = \"{S}\"\n}}"),
            format!("os.environ[\"AWS_SECRET_ACCESS_KEY\"] = \"{S}\""),
            format!("ENV AWS_SECRET_ACCESS_KEY {S}\n"),
            format!("- name: AWS_SECRET_ACCESS_KEY\n  value: \"{S}\"\n"),
            format!("$aws_secret => '{S}',"),
            format!("aws.secretKey={S}\n"),
            format!("secretAccessKey: \"{S}\""),
            format!("AWS_SECRET_KEY ?= \"{S}\""),
            format!("$awsSecret .= \"{S}\";"),
            format!("aws_secret_key: |\n  {S}\n"),
            format!("<AwsSecretKey>\n    {S}\n</AwsSecretKey>"),
            format!(
                "  AWS_SECRET_ACCESS_KEY: {}\n",
                base64::engine::general_purpose::STANDARD.encode(S)
            ),
            format!(
                "  aws_secret_access_key: {}\n",
                base64::engine::general_purpose::STANDARD.encode(format!("{S}\n"))
            ),
        ] {
            assert_eq!(ctx(&hay).as_deref(), Some(S), "{hay}");
        }
    }

    #[test]
    fn context_negatives() {
        for hay in [
            format!("secret = {S}\n"), // weak name, nothing AWS near
            "aws_secret_access_key = ${AWS_SECRET_ACCESS_KEY}\n".to_string(),
            "aws_secret_access_key = 0123456789abcdef0123456789abcdef01234567\n".to_string(),
            "AWS_SECRET_ACCESS_KEY=YOUR_SECRET_ACCESS_KEY_GOES_HERE_XXXXXXXX\n".to_string(),
            "aws_secret_access_key = xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n".to_string(),
            format!("aws_secret_access_key = {S}x\n"),
            format!("aws_secret_access_key = {S}=\n"),
            format!("github_client_secret = \"{S}\" # aws"),
            format!("aws_secret_access_keys_and_more_words_here_for_a_long_name={S}"),
        ] {
            assert_eq!(ctx(&hay), None, "{hay}");
        }
    }

    #[test]
    fn pair_rule() {
        let hay = format!("AKIAQWERTY234567ABCD,{S}\n");
        assert_eq!(pair_secret(hay.as_bytes(), 20).map(|s| s.start), Some(21));
        let hay = format!("id AKIAQWERTY234567ABCD\n\n\nkey {S}\n");
        assert!(pair_secret(hay.as_bytes(), 23).is_some());
        let far = format!("AKIAQWERTY234567ABCD{}{S}\n", "\nx".repeat(10));
        assert!(pair_secret(far.as_bytes(), 20).is_none());
        let hex = "AKIAQWERTY234567ABCD 0123456789abcdef0123456789abcdef01234567";
        assert!(pair_secret(hex.as_bytes(), 20).is_none());
    }

    #[test]
    fn accounts_decode_offline() {
        // The published example of the decode (a temporary key id).
        assert_eq!(
            account_of(b"ASIAY34FZKBOKMUTVV7A").as_deref(),
            Some("609629065308")
        );
        // The old format carries no account.
        assert_eq!(account_of(b"AKIAIOSFODNN7EXAMPLE"), None);
        assert_eq!(account_of(b"ABIAQWERTY234567ABCD"), None);
    }

    #[test]
    fn randomness() {
        assert!(looks_random(S.as_bytes()));
        assert!(!looks_random(b"0123456789abcdef0123456789abcdef01234567"));
        assert!(!looks_random(b"abcdefghijklmnopqrstuvwxyzabcdefghijklmn"));
    }
}
