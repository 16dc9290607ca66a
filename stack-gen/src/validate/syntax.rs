//! The forms of value that other stages check too: the wizard as it asks.

/// Whether `s` is a conventional environment variable name.
pub fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}
