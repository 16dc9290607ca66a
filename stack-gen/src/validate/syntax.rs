//! The forms of value that other stages check too: the wizard as it asks, the frontend renderer
//! for the origins it writes.

/// Whether `s` is a conventional environment variable name.
pub fn is_env_name(s: &str) -> bool {
    !s.is_empty()
        && !s.as_bytes()[0].is_ascii_digit()
        && s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

/// The origin (`https://api.example.com`, `http://localhost:8080`) of a service's
/// `public_url`, or why it is not one: an absolute http or https URL with a host, without user
/// name, password, query or fragment (a base URL; a path is allowed and ignored).
pub fn public_origin(s: &str) -> Result<String, String> {
    let bad = |why: &str| {
        Err(format!(
            "{s:?} {why}; write an http(s) URL like https://api.example.com"
        ))
    };
    let url = match url::Url::parse(s) {
        Ok(url) => url,
        Err(e) => return bad(&format!("is not a URL ({e})")),
    };
    if !matches!(url.scheme(), "http" | "https") {
        return bad("is not an http or https URL");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return bad("has no host");
    }
    // Secrets never go into generated files (nor into this message), and a URL with
    // credentials is one.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(
            "carries a user name or password (not repeated here); write the URL without them, like https://api.example.com".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad("must not have a query or fragment");
    }
    Ok(url.origin().ascii_serialization())
}
