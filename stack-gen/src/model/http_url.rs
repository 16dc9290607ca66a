//! The one check of the http(s) URLs obs.toml holds (a service's `public_url`, `grafana_url`):
//! absolute, http or https, with a host, without credentials, query or fragment. Each key keeps
//! its own type; this is the rule they share, so both refuse the same URLs with the same words.

/// Checks `s` and parses it. The message starts with the value as written (quoted), except for
/// a URL carrying credentials, which is never repeated, and ends with what to write instead.
pub(super) fn parse(s: &str) -> Result<url::Url, String> {
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
    Ok(url)
}

/// `grafana_url`: the root URL people open Grafana at (a path is allowed, for a Grafana served
/// under one), where every alert's `dashboard_url` starts. Checked once, when obs.toml or
/// `--grafana-url` is read; kept as written, without a trailing `/`.
///
/// ```
/// use obs_gen::model::GrafanaUrl;
/// let url: GrafanaUrl = "https://grafana.example.com/".parse().unwrap();
/// assert_eq!(url.as_str(), "https://grafana.example.com");
/// assert!("grafana.example.com".parse::<GrafanaUrl>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct GrafanaUrl(String);

impl GrafanaUrl {
    /// The URL, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::str::FromStr for GrafanaUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse(s)?;
        Ok(GrafanaUrl(s.trim_end_matches('/').to_owned()))
    }
}

impl TryFrom<String> for GrafanaUrl {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<GrafanaUrl> for String {
    fn from(url: GrafanaUrl) -> String {
        url.0
    }
}

impl std::fmt::Display for GrafanaUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_http_urls_pass() {
        assert!(parse("https://grafana.example.com/sub/").is_ok());
        assert!(parse("http://localhost:3000").is_ok());
        for bad in [
            "grafana.example.com",
            "ftp://x.example.com",
            "https://x.example.com/?a=1",
            "https://x.example.com/#f",
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.starts_with(&format!("{bad:?} ")), "{e}");
        }
        let e = parse("https://user:secret@x.example.com").unwrap_err();
        assert!(!e.contains("secret"), "{e}");
    }
}
