//! Which header and field values never reach a log line.

/// Decides which fields and headers are sensitive. A name is sensitive when, lower-cased and with
/// `-` read as `_`, it contains one of the deny-list entries: `db_password`, `X-Api-Key` and
/// `refresh_token` are all caught by the defaults.
///
/// ```
/// use obs_sdk::redact::Redactor;
///
/// let redactor = Redactor::default();
/// assert!(redactor.is_sensitive("Authorization"));
/// assert!(redactor.is_sensitive("db_password"));
/// assert!(!redactor.is_sensitive("user_id"));
///
/// let custom = Redactor::default().deny("ssn");
/// assert!(custom.is_sensitive("customer_ssn"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redactor {
    deny: Vec<String>,
}

/// The default deny-list.
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
];

/// What a redacted value is replaced with.
pub const REDACTED: &str = "[REDACTED]";

impl Default for Redactor {
    fn default() -> Self {
        Self {
            deny: DEFAULT_DENY_LIST.iter().map(|s| (*s).to_owned()).collect(),
        }
    }
}

impl Redactor {
    /// A redactor with an empty deny-list: nothing is hidden.
    pub fn none() -> Self {
        Self { deny: Vec::new() }
    }

    /// Adds an entry to the deny-list.
    pub fn deny(mut self, entry: &str) -> Self {
        self.deny.push(normalise(entry));
        self
    }

    /// Whether values under `name` must be hidden.
    pub fn is_sensitive(&self, name: &str) -> bool {
        if self.deny.is_empty() {
            return false;
        }
        // Called for every logged field, so compare in place instead of allocating a
        // normalised copy of the name.
        let name = name.as_bytes();
        self.deny.iter().any(|entry| {
            let entry = entry.as_bytes();
            entry.len() <= name.len()
                && name
                    .windows(entry.len())
                    .any(|window| window.iter().zip(entry).all(|(&n, &e)| fold(n) == e))
        })
    }
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
