//! The `[remote_write]` table, which both targets read.

use serde::{Deserialize, Serialize};

/// The `[remote_write]` table: Prometheus also sends every sample to a scale-out store (Mimir,
/// Thanos Receive, VictoriaMetrics). Credentials are never stored: only the names of the
/// variables (compose, in `.env`) or Secret keys (Kubernetes) holding them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteWrite {
    /// The receiver's push URL, `http://` or `https://`, e.g.
    /// `https://mimir.example.com/api/v1/push`.
    pub url: String,
    /// Basic-auth user name (not a secret; often the tenant). Needs `password_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Variable (Secret key on Kubernetes) holding the basic-auth password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// Variable (Secret key on Kubernetes) holding a bearer token; instead of basic auth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token_env: Option<String>,
}

impl RemoteWrite {
    /// The variables this remote write reads, with what they hold.
    pub fn secret_vars(&self) -> Vec<(&str, &'static str)> {
        let mut v = Vec::new();
        if let Some(p) = &self.password_env {
            v.push((p.as_str(), "remote-write basic-auth password"));
        }
        if let Some(t) = &self.bearer_token_env {
            v.push((t.as_str(), "remote-write bearer token"));
        }
        v
    }
}
