//! Secrets are wrapped so they cannot be printed by accident: `Debug` shows `[REDACTED]`,
//! there is no `Display`, and the bytes are zeroed on drop (secrecy). Reach the value only
//! with `expose_secret()` at the one place that must hand it to an SDK, the keyring or a file.

pub use secrecy::{ExposeSecret, SecretString};

/// An AWS secret access key.
pub(crate) type SecretKey = SecretString;

/// Makes a secret from a string (the string is moved in, not copied).
pub fn secret(s: impl Into<String>) -> SecretKey {
    SecretString::from(s.into())
}

/// A key id masked for display where a full id is not needed: `AKIA…WXYZ`.
pub(crate) fn mask_id(id: &str) -> String {
    let n = id.chars().count();
    if n <= 8 {
        return "*".repeat(n);
    }
    let head: String = id.chars().take(4).collect();
    let tail: String = id.chars().skip(n - 4).collect();
    format!("{head}…{tail}")
}

/// Masks any string that may be a secret: keeps the first 4 characters only.
pub(crate) fn mask_secret_like(s: &str) -> String {
    let head: String = s.chars().take(4).collect();
    format!(
        "{head}{}",
        "*".repeat(s.chars().count().saturating_sub(4).min(36))
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn debug_is_redacted() {
        let s = secret("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY");
        let d = format!("{s:?}");
        assert!(!d.contains("wJalr"), "{d}");
    }
    #[test]
    fn masks() {
        assert_eq!(mask_id("AKIAIOSFODNN7EXAMPLE"), "AKIA…MPLE");
        assert_eq!(mask_id("short"), "*****");
    }
}
