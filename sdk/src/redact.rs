//! Which header and field values never reach a log line, a span or an error report.
//!
//! One [`Redactor`] holds the deny-list. [`Config::redactor`](crate::Config::redactor) sets it,
//! [`init`](crate::init!) hands it to the JSON log layer (which hides the values of sensitive
//! event and span fields) and [installs](installed) it process-wide, so the other places that
//! render request data use the same list:
//! - [`Redactor::headers`] renders a `HeaderMap` for a log line with sensitive values hidden;
//! - [`Redactor::mark_sensitive`] flags header values as sensitive, so their `Debug` output (in a
//!   `?request` log field, a panic message, a test failure) reads `Sensitive`, as tower-http's
//!   `SetSensitiveHeadersLayer` does;
//! - [`Redactor::redact_json`] and [`Redactor::redact_map`] clean structured data before it leaves
//!   the process (the Sentry integration runs events through them);
//! - [`redact_url`] hides the password of a connection URL (database DSNs in health-check errors).
//!
//! ```
//! use obs_service::redact::Redactor;
//! use http::HeaderMap;
//!
//! let mut headers = HeaderMap::new();
//! headers.insert("authorization", "Bearer abc".parse().unwrap());
//! headers.insert("accept", "text/html".parse().unwrap());
//! let redactor = Redactor::default();
//! assert_eq!(
//!     redactor.headers(&headers).to_string(),
//!     r#"{"authorization":"[REDACTED]","accept":"text/html"}"#
//! );
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// Decides which fields and headers are sensitive. A name is sensitive when, lower-cased and with
/// `-` read as `_`, it contains one of the deny-list entries: `db_password`, `X-Api-Key`,
/// `Set-Cookie` and `refresh_token` are all caught by the defaults.
///
/// ```
/// use obs_service::redact::Redactor;
///
/// let redactor = Redactor::default();
/// assert!(redactor.is_sensitive("Authorization"));
/// assert!(redactor.is_sensitive("db_password"));
/// assert!(redactor.is_sensitive("X-Api-Key"));
/// assert!(!redactor.is_sensitive("user_id"));
///
/// let custom = Redactor::default().deny("ssn").allow("dsn");
/// assert!(custom.is_sensitive("customer_ssn"));
/// assert!(!custom.is_sensitive("sentry_dsn"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redactor {
    deny: Vec<String>,
    /// Bit `b` is set when some entry starts with byte `b`: field names are checked on every
    /// log line, and most positions of a name can be skipped after one table look-up.
    starts: [u64; 4],
}

/// The default deny-list. `cookie` also covers `set-cookie`, `api_key` covers `x-api-key` and
/// `token` covers `refresh_token`, `x-auth-token` and `x-csrf-token`.
pub const DEFAULT_DENY_LIST: &[&str] = &[
    "authorization",
    "cookie",
    "password",
    "passwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "private_key",
    "credential",
    "dsn",
    "session",
];

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

impl Default for Redactor {
    fn default() -> Self {
        Self::none().deny_all(DEFAULT_DENY_LIST)
    }
}

impl Redactor {
    /// A redactor with an empty deny-list: nothing is hidden.
    pub fn none() -> Self {
        Self {
            deny: Vec::new(),
            starts: [0; 4],
        }
    }

    /// A redactor with exactly `entries` as its deny-list (no defaults).
    pub fn new<I, S>(entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Self::none().deny_all(entries)
    }

    /// Adds an entry to the deny-list.
    pub fn deny(mut self, entry: &str) -> Self {
        let entry = normalise(entry);
        if !entry.is_empty() && !self.deny.contains(&entry) {
            self.deny.push(entry);
        }
        self.index();
        self
    }

    /// Adds several entries to the deny-list.
    pub fn deny_all<I, S>(self, entries: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        entries
            .into_iter()
            .fold(self, |redactor, entry| redactor.deny(entry.as_ref()))
    }

    /// Removes an entry from the deny-list (for example `session`, if a service logs harmless
    /// `session_count` fields). Names still match the other entries.
    pub fn allow(mut self, entry: &str) -> Self {
        let entry = normalise(entry);
        self.deny.retain(|e| *e != entry);
        self.index();
        self
    }

    fn index(&mut self) {
        self.starts = [0; 4];
        for entry in &self.deny {
            let b = entry.as_bytes()[0];
            self.starts[usize::from(b >> 6)] |= 1 << (b & 63);
        }
    }

    /// The deny-list, normalised (lower case, `_` for `-`).
    pub fn deny_list(&self) -> &[String] {
        &self.deny
    }

    /// Whether values under `name` must be hidden.
    pub fn is_sensitive(&self, name: &str) -> bool {
        if self.deny.is_empty() {
            return false;
        }
        // Called for every logged field, so compare in place instead of allocating a
        // normalised copy of the name, and only where an entry can start.
        let name = name.as_bytes();
        (0..name.len()).any(|at| {
            let b = fold(name[at]);
            self.starts[usize::from(b >> 6)] & (1 << (b & 63)) != 0
                && self.deny.iter().any(|entry| {
                    let entry = entry.as_bytes();
                    name.len() - at >= entry.len()
                        && name[at..at + entry.len()]
                            .iter()
                            .zip(entry)
                            .all(|(&n, &e)| fold(n) == e)
                })
        })
    }

    /// `value`, or [`REDACTED`] when `name` is sensitive.
    pub fn value<'a>(&self, name: &str, value: &'a str) -> &'a str {
        if self.is_sensitive(name) {
            REDACTED
        } else {
            value
        }
    }

    /// Renders `headers` for a log line: a JSON object of name to value, sensitive values
    /// replaced by [`REDACTED`], values that are not text shown as `[binary]`. A header sent
    /// several times keeps its last value. Use it as `headers = %redactor.headers(&h)`.
    #[cfg(feature = "runtime")]
    pub fn headers<'a>(&'a self, headers: &'a http::HeaderMap) -> RedactedHeaders<'a> {
        RedactedHeaders {
            redactor: self,
            headers,
        }
    }

    /// Flags the values of sensitive headers as sensitive ([`http::HeaderValue::set_sensitive`]),
    /// so their `Debug` output reads `Sensitive` and HTTP/2 never compresses them into its
    /// header table.
    ///
    /// ```
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("cookie", "sid=abc".parse().unwrap());
    /// obs_service::redact::Redactor::default().mark_sensitive(&mut headers);
    /// assert!(!format!("{headers:?}").contains("sid=abc"));
    /// ```
    #[cfg(feature = "runtime")]
    pub fn mark_sensitive(&self, headers: &mut http::HeaderMap) {
        for (name, value) in headers.iter_mut() {
            if self.is_sensitive(name.as_str()) {
                value.set_sensitive(true);
            }
        }
    }

    /// Replaces, at any depth, the value of every object key that is sensitive by
    /// [`REDACTED`]. For structured data leaving the process (error reports, events).
    ///
    /// ```
    /// let mut event = serde_json::json!({"user": {"name": "ann", "password": "x"}, "token": 1});
    /// obs_service::redact::Redactor::default().redact_json(&mut event);
    /// assert_eq!(event["user"]["password"], "[REDACTED]");
    /// assert_eq!(event["token"], "[REDACTED]");
    /// assert_eq!(event["user"]["name"], "ann");
    /// ```
    #[cfg(feature = "runtime")]
    pub fn redact_json(&self, value: &mut serde_json::Value) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, value) in map.iter_mut() {
                    if self.is_sensitive(key) {
                        *value = serde_json::Value::String(REDACTED.to_owned());
                    } else {
                        self.redact_json(value);
                    }
                }
            }
            serde_json::Value::Array(items) => {
                for item in items {
                    self.redact_json(item);
                }
            }
            _ => {}
        }
    }

    /// Replaces the values of sensitive keys of a string map by [`REDACTED`] (the shape of the
    /// headers, environment and extra data in error reports).
    pub fn redact_map(&self, map: &mut BTreeMap<String, String>) {
        for (key, value) in map.iter_mut() {
            if self.is_sensitive(key) {
                *value = REDACTED.to_owned();
            }
        }
    }
}

/// `headers` rendered for a log line by [`Redactor::headers`].
#[cfg(feature = "runtime")]
#[derive(Clone, Copy)]
pub struct RedactedHeaders<'a> {
    redactor: &'a Redactor,
    headers: &'a http::HeaderMap,
}

#[cfg(feature = "runtime")]
impl fmt::Display for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = serde_json::Map::new();
        for (name, value) in self.headers {
            let shown = if self.redactor.is_sensitive(name.as_str()) || value.is_sensitive() {
                REDACTED
            } else {
                value.to_str().unwrap_or("[binary]")
            };
            map.insert(name.as_str().to_owned(), shown.into());
        }
        f.write_str(&serde_json::Value::Object(map).to_string())
    }
}

#[cfg(feature = "runtime")]
impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

static INSTALLED: OnceLock<Arc<Redactor>> = OnceLock::new();

/// The redactor [`init`](crate::init!) installed, or the default one before (or without) `init`.
/// Integrations that render request data (error reports, Sentry events) use it, so one deny-list
/// governs every output.
pub fn installed() -> Arc<Redactor> {
    INSTALLED
        .get()
        .cloned()
        .unwrap_or_else(|| Arc::new(Redactor::default()))
}

/// Makes `redactor` the one [`installed`] returns. The first call wins; `init` makes it.
pub(crate) fn install(redactor: Arc<Redactor>) {
    let _ = INSTALLED.set(redactor);
}

/// `url` with its password (the `user:password@` part) replaced by [`REDACTED`], for error
/// messages and logs that name a connection URL. Text that is not a URL with credentials comes
/// back unchanged; a `key=value` connection string has its `password` value hidden.
///
/// ```
/// use obs_service::redact::redact_url;
/// assert_eq!(
///     redact_url("postgres://app:hunter2@db:5432/app"),
///     "postgres://app:[REDACTED]@db:5432/app"
/// );
/// assert_eq!(redact_url("redis://:pw@cache:6379/0"), "redis://:[REDACTED]@cache:6379/0");
/// assert_eq!(redact_url("redis://cache:6379"), "redis://cache:6379");
/// assert_eq!(
///     redact_url("host=db user=app password=hunter2 dbname=app"),
///     "host=db user=app password=[REDACTED] dbname=app"
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    if let Some(scheme_end) = url.find("://") {
        let rest_start = scheme_end + 3;
        let rest = &url[rest_start..];
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if let Some(at) = authority.rfind('@') {
            let userinfo = &authority[..at];
            if let Some(colon) = userinfo.find(':') {
                return format!(
                    "{}{}:{REDACTED}{}",
                    &url[..rest_start],
                    &userinfo[..colon],
                    &rest[at..]
                );
            }
        }
        return url.to_owned();
    }
    // libpq key=value form.
    url.split(' ')
        .map(|pair| match pair.split_once('=') {
            Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}={REDACTED}"),
            _ => pair.to_owned(),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The password in `url` (`scheme://user:password@host…` or a `password=…` pair), if any: what a
/// health check must [`scrub`] from driver error messages before they are shown or logged.
///
/// ```
/// use obs_service::redact::url_password;
/// assert_eq!(url_password("postgres://app:pw@db/app"), Some("pw"));
/// assert_eq!(url_password("redis://cache:6379"), None);
/// ```
pub fn url_password(url: &str) -> Option<&str> {
    if let Some(scheme_end) = url.find("://") {
        let rest = &url[scheme_end + 3..];
        let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
        let userinfo = &authority[..authority.rfind('@')?];
        let (_, password) = userinfo.split_once(':')?;
        return (!password.is_empty()).then_some(password);
    }
    url.split(' ').find_map(|pair| {
        let (key, value) = pair.split_once('=')?;
        (key.eq_ignore_ascii_case("password") && !value.is_empty()).then_some(value)
    })
}

/// `message` with every occurrence of `secret` (and of its percent-decoded form, when they
/// differ) replaced by [`REDACTED`]. For error messages of drivers that might echo a credential.
///
/// ```
/// use obs_service::redact::scrub;
/// assert_eq!(scrub("auth failed for p@ss", Some("p%40ss")), "auth failed for [REDACTED]");
/// assert_eq!(scrub("no secret here", None), "no secret here");
/// ```
pub fn scrub(message: &str, secret: Option<&str>) -> String {
    let Some(secret) = secret.filter(|s| !s.is_empty()) else {
        return message.to_owned();
    };
    let mut out = message.replace(secret, REDACTED);
    let decoded = percent_decode(secret);
    if decoded != secret && !decoded.is_empty() {
        out = out.replace(&decoded, REDACTED);
    }
    out
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(hi), Some(lo)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn fold(byte: u8) -> u8 {
    if byte == b'-' {
        b'_'
    } else {
        byte.to_ascii_lowercase()
    }
}

fn normalise(name: &str) -> String {
    String::from_utf8(name.bytes().map(fold).collect()).unwrap_or_else(|_| name.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logging::{JsonLayer, MemoryWriter};
    use tracing_subscriber::layer::SubscriberExt as _;

    fn capture(redactor: Redactor, f: impl FnOnce()) -> (String, Vec<serde_json::Value>) {
        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry()
            .with(JsonLayer::new(writer.clone()).redactor(Arc::new(redactor)));
        tracing::subscriber::with_default(subscriber, f);
        (writer.contents(), writer.json_lines())
    }

    #[test]
    fn default_list_covers_the_usual_headers_and_fields() {
        let r = Redactor::default();
        for name in [
            "authorization",
            "Proxy-Authorization",
            "cookie",
            "Set-Cookie",
            "x-api-key",
            "X-Auth-Token",
            "password",
            "db_password",
            "client_secret",
            "refresh_token",
            "DATABASE_DSN",
            "x-session-id",
        ] {
            assert!(r.is_sensitive(name), "{name}");
        }
        for name in [
            "user_id",
            "method",
            "route",
            "status",
            "accept",
            "x-request-id",
        ] {
            assert!(!r.is_sensitive(name), "{name}");
        }
    }

    #[test]
    fn configured_list_applies_to_event_and_span_fields() {
        let redactor = Redactor::default().deny("ssn").allow("session");
        let (text, lines) = capture(redactor, || {
            let span = tracing::info_span!("request", customer_ssn = "123-45-6789", session = "s1");
            let _entered = span.enter();
            tracing::info!(
                ssn = "987-65-4321",
                api_key = "k-123",
                user = "ann",
                "saved"
            );
        });
        let line = &lines[0];
        assert_eq!(line["ssn"], REDACTED);
        assert_eq!(line["customer_ssn"], REDACTED);
        assert_eq!(line["api_key"], REDACTED);
        assert_eq!(line["session"], "s1", "allowed again");
        assert_eq!(line["user"], "ann");
        for secret in ["123-45-6789", "987-65-4321", "k-123"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn rendered_and_marked_headers_hide_sensitive_values() {
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", "Bearer tok-1".parse().unwrap());
        headers.insert("cookie", "sid=cookie-1".parse().unwrap());
        headers.insert("x-api-key", "key-1".parse().unwrap());
        headers.insert("accept", "application/json".parse().unwrap());
        let redactor = Redactor::default();
        let (text, lines) = capture(Redactor::default(), || {
            tracing::info!(headers = %redactor.headers(&headers), "incoming");
        });
        let rendered: serde_json::Value =
            serde_json::from_str(lines[0]["headers"].as_str().unwrap()).unwrap();
        assert_eq!(rendered["authorization"], REDACTED);
        assert_eq!(rendered["cookie"], REDACTED);
        assert_eq!(rendered["x-api-key"], REDACTED);
        assert_eq!(rendered["accept"], "application/json");
        for secret in ["tok-1", "cookie-1", "key-1"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }

        redactor.mark_sensitive(&mut headers);
        let (text, _) = capture(Redactor::none(), || {
            tracing::info!(headers = ?headers, "debug-formatted");
        });
        assert!(text.contains("application/json"), "{text}");
        for secret in ["tok-1", "cookie-1", "key-1"] {
            assert!(!text.contains(secret), "{secret} leaked: {text}");
        }
    }

    #[test]
    fn maps_and_urls() {
        let mut map = BTreeMap::from([
            ("Authorization".to_owned(), "Basic x".to_owned()),
            ("Accept".to_owned(), "*/*".to_owned()),
        ]);
        Redactor::default().redact_map(&mut map);
        assert_eq!(map["Authorization"], REDACTED);
        assert_eq!(map["Accept"], "*/*");

        assert_eq!(
            redact_url("postgres://u:p%40ss@h/db?sslmode=disable"),
            "postgres://u:[REDACTED]@h/db?sslmode=disable"
        );
        assert_eq!(redact_url("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(url_password("postgres://u:p%40ss@h/db"), Some("p%40ss"));
        assert_eq!(url_password("redis://h:6379"), None);
        assert_eq!(url_password("host=h password=pw"), Some("pw"));
        assert_eq!(
            scrub("auth failed for p@ss and p%40ss", Some("p%40ss")),
            "auth failed for [REDACTED] and [REDACTED]"
        );
        assert_eq!(scrub("nothing", None), "nothing");
    }

    #[test]
    fn installed_defaults_before_init() {
        assert!(installed().is_sensitive("password"));
    }
}
