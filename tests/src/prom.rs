//! A small client of Prometheus' and Alertmanager's HTTP APIs, and bounded waiting.

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Prometheus' HTTP API at `base` (`http://127.0.0.1:9090`).
#[derive(Debug, Clone)]
pub struct Prometheus {
    base: String,
    http: reqwest::Client,
}

impl Prometheus {
    /// A client of the Prometheus listening on `addr` (`host:port`).
    pub fn new(addr: &str) -> Prometheus {
        Prometheus {
            base: format!("http://{addr}"),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("reqwest client"),
        }
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, String> {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .await
            .map_err(|e| format!("GET {path}: {e}"))?;
        let status = resp.status();
        let body: Value = resp
            .json()
            .await
            .map_err(|e| format!("GET {path}: {status}, not JSON: {e}"))?;
        if body["status"] != "success" {
            return Err(format!(
                "GET {path}: {status} {}: {}",
                body["errorType"].as_str().unwrap_or(""),
                body["error"].as_str().unwrap_or("")
            ));
        }
        Ok(body["data"].clone())
    }

    /// The exemplars of the series `expr` selects over the last `minutes` minutes
    /// (`/api/v1/query_exemplars`): one element per series, with its `seriesLabels` and
    /// `exemplars` (`labels`, `value`, `timestamp`).
    pub async fn query_exemplars(&self, expr: &str, minutes: u64) -> Result<Vec<Value>, String> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_err(|e| e.to_string())?
            .as_secs();
        let (start, end) = ((now - minutes * 60).to_string(), (now + 60).to_string());
        let data = self
            .get(
                "/api/v1/query_exemplars",
                &[("query", expr), ("start", &start), ("end", &end)],
            )
            .await?;
        Ok(data.as_array().cloned().unwrap_or_default())
    }

    /// Evaluates `expr` now (`/api/v1/query`). Returns the result's samples: the vector's
    /// elements, or one element for a scalar or string; an error for a bad query.
    pub async fn query(&self, expr: &str) -> Result<Vec<Value>, String> {
        let data = self.get("/api/v1/query", &[("query", expr)]).await?;
        match data["resultType"].as_str() {
            Some("vector" | "matrix") => Ok(data["result"].as_array().cloned().unwrap_or_default()),
            Some(_) => Ok(vec![data["result"].clone()]),
            None => Err(format!("unexpected answer {data}")),
        }
    }

    /// Every rule group (`/api/v1/rules`).
    pub async fn rule_groups(&self) -> Result<Vec<Value>, String> {
        let data = self.get("/api/v1/rules", &[]).await?;
        Ok(data["groups"].as_array().cloned().unwrap_or_default())
    }

    /// Every active alert (`/api/v1/alerts`), pending and firing.
    pub async fn alerts(&self) -> Result<Vec<Value>, String> {
        let data = self.get("/api/v1/alerts", &[]).await?;
        Ok(data["alerts"].as_array().cloned().unwrap_or_default())
    }

    /// Every active scrape target (`/api/v1/targets`).
    pub async fn targets(&self) -> Result<Vec<Value>, String> {
        let data = self.get("/api/v1/targets", &[("state", "active")]).await?;
        Ok(data["activeTargets"]
            .as_array()
            .cloned()
            .unwrap_or_default())
    }
}

/// The alerts Alertmanager at `addr` holds (`/api/v2/alerts`).
pub async fn alertmanager_alerts(addr: &str) -> Result<Vec<Value>, String> {
    let resp = reqwest::Client::new()
        .get(format!("http://{addr}/api/v2/alerts"))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let body: Value = resp.json().await.map_err(|e| e.to_string())?;
    body.as_array()
        .cloned()
        .ok_or_else(|| format!("not a list: {body}"))
}

/// Calls `probe` every 250 ms until it returns `Some`, for at most `timeout`. Panics naming
/// `what` (and what `describe` says about the state) when time runs out.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, String>>,
{
    let start = Instant::now();
    loop {
        let last = match probe().await {
            Ok(v) => return v,
            Err(e) => e,
        };
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}; last state: {last}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Whether an alert (Prometheus' or Alertmanager's JSON) has all `labels`.
pub fn has_labels(alert: &Value, labels: &[(&str, &str)]) -> bool {
    labels
        .iter()
        .all(|(k, v)| alert["labels"][*k].as_str() == Some(*v))
}
