//! `[remote_write]` in the two forms Prometheus takes it: a `remote_write` entry of
//! `prometheus.yml` (compose and local mode), and a `remoteWrite` entry of the Prometheus
//! Operator's `PrometheusSpec` (the kube-prometheus-stack values). Credentials are read from
//! files (compose: secrets filled from `.env`) or Secret keys (Kubernetes); never written here.

use serde_json::{Value, json};

use crate::model::{Config, RemoteWrite};

/// Compose secret (and file under `/run/secrets/`) holding the basic-auth password.
pub const PASSWORD_SECRET: &str = "remote_write_password";
/// Compose secret (and file under `/run/secrets/`) holding the bearer token.
pub const TOKEN_SECRET: &str = "remote_write_token";
/// The Kubernetes Secret the user creates with the remote-write credentials.
pub const KUBERNETES_SECRET: &str = "obs-remote-write";
/// Key of the user name in [`KUBERNETES_SECRET`] (the Operator reads it from a Secret too).
pub const USERNAME_KEY: &str = "username";

/// Where Prometheus reads a secret file: beside `prometheus.yml` in local mode (Prometheus
/// resolves relative paths against the configuration's directory), compose's secret mount
/// otherwise.
fn secret_file(cfg: &Config, name: &str) -> String {
    match cfg.local {
        Some(_) => format!("secrets/{name}"),
        None => format!("/run/secrets/{name}"),
    }
}

/// The compose secrets the Prometheus container needs: (secret name, variable in `.env`).
pub fn compose_secrets(rw: &RemoteWrite) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Some(p) = &rw.password_env {
        v.push((PASSWORD_SECRET, p.clone()));
    }
    if let Some(t) = &rw.bearer_token_env {
        v.push((TOKEN_SECRET, t.clone()));
    }
    v
}

/// The `remote_write` list of `prometheus.yml`.
pub fn prometheus_yml(cfg: &Config) -> Value {
    let Some(rw) = &cfg.remote_write else {
        return json!([]);
    };
    let mut entry = json!({ "url": rw.url, "name": "obs" });
    if let (Some(user), Some(_)) = (&rw.username, &rw.password_env) {
        entry["basic_auth"] = json!({
            "username": user,
            "password_file": secret_file(cfg, PASSWORD_SECRET),
        });
    }
    if rw.bearer_token_env.is_some() {
        entry["authorization"] = json!({
            "type": "Bearer",
            "credentials_file": secret_file(cfg, TOKEN_SECRET),
        });
    }
    json!([entry])
}

/// The `remoteWrite` list of a Prometheus Operator `PrometheusSpec`: credentials as keys of
/// [`KUBERNETES_SECRET`], named after the variables of obs.toml.
pub fn operator_spec(rw: &RemoteWrite) -> Value {
    let key = |k: &str| json!({ "name": KUBERNETES_SECRET, "key": k });
    let mut entry = json!({ "url": rw.url, "name": "obs" });
    if let (Some(_), Some(password)) = (&rw.username, &rw.password_env) {
        entry["basicAuth"] = json!({ "username": key(USERNAME_KEY), "password": key(password) });
    }
    if let Some(token) = &rw.bearer_token_env {
        entry["authorization"] = json!({ "type": "Bearer", "credentials": key(token) });
    }
    json!([entry])
}
