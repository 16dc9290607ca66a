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
