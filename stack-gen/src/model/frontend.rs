//! The keys of the Sentry setup `obs-gen` writes for a web front end: `frontend` and the
//! `[sentry_sampling]` table.

use serde::{Deserialize, Serialize};

/// A web front end `obs-gen` writes a Sentry setup for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum Frontend {
    /// Next.js with `@sentry/nextjs`: client, server and edge initialisation,
    /// `instrumentation.ts` and the `next.config` wrapper.
    Nextjs,
}

impl Frontend {
    /// The name used in obs.toml and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Frontend::Nextjs => "nextjs",
        }
    }
}

/// Deserialising through this names the key in the error, which serde's own "unknown variant"
/// message does not.
impl TryFrom<String> for Frontend {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        match value.as_str() {
            "nextjs" => Ok(Frontend::Nextjs),
            _ => Err(format!(
                "frontend: {value:?} is not a frontend obs-gen writes (known: nextjs)"
            )),
        }
    }
}

/// A service's `public_url`: an absolute http or https URL with a host, without user name,
/// password, query or fragment (a base URL; a path is allowed and ignored). Checked once, when
/// obs.toml or `--public-url` is read; kept as written, with its origin.
///
/// ```
/// use obs_gen::model::PublicUrl;
/// let url: PublicUrl = "https://api.example.com/v1".parse().unwrap();
/// assert_eq!(url.origin(), "https://api.example.com");
/// assert_eq!(url.as_str(), "https://api.example.com/v1");
/// assert!("api.example.com".parse::<PublicUrl>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PublicUrl {
    text: String,
    origin: String,
}

impl PublicUrl {
    /// The URL as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Its origin (`https://api.example.com`, `http://localhost:8080`), what the frontend's
    /// `tracePropagationTargets` match.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl std::str::FromStr for PublicUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let url = super::http_url::parse(s)?;
        Ok(PublicUrl {
            text: s.to_owned(),
            origin: url.origin().ascii_serialization(),
        })
    }
}

impl TryFrom<String> for PublicUrl {
    type Error = String;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<PublicUrl> for String {
    fn from(url: PublicUrl) -> String {
        url.text
    }
}

impl std::fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

/// The `[sentry_sampling]` table: how much the generated frontend Sentry setup sends. The
/// rates apply to the browser, the Next.js server and the edge runtime alike; the services
/// follow the browser's decision for the traces it starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentrySampling {
    /// Fraction of error events sent, 0 to 1 (`sampleRate`). Default 1.
    pub sample_rate: f64,
    /// Fraction of page loads, navigations and requests traced, 0 to 1 (`tracesSampleRate`).
    /// Default 0.1; raise it for low traffic, lower it when the trace quota runs out.
    pub traces_sample_rate: f64,
}

impl Default for SentrySampling {
    fn default() -> Self {
        SentrySampling {
            sample_rate: 1.0,
            traces_sample_rate: 0.1,
        }
    }
}

impl SentrySampling {
    pub(super) fn is_default(&self) -> bool {
        *self == SentrySampling::default()
    }
}
