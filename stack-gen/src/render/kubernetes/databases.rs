//! `[databases]` on Kubernetes: the values of the prometheus-community exporter charts
//! (`prometheus-postgres-exporter`, `prometheus-redis-exporter`) with their ServiceMonitor on,
//! labelled for kube-prometheus-stack, or a ServiceMonitor for an exporter the cluster already
//! runs. Either way the scrape job is `postgres_job` / `redis_job` of `[alerts]`, which the
//! bundled database alerts select, and the password is a reference to an existing Secret: no
//! value is written.

use serde_json::{Value, json};

use super::{RELEASE_LABEL, metadata, settings};
use crate::model::{Config, Database, ExporterService};
use crate::render::{comment, yaml_with_note};

/// The chart of postgres-exporter and the version the values are written for (app v0.20.1,
/// whose metric names the Database dashboard and the alerts read).
pub(super) const POSTGRES_CHART: (&str, &str) = ("prometheus-postgres-exporter", "8.2.0");
/// The chart of redis_exporter and the version the values are written for (app v1.89.0).
pub(super) const REDIS_CHART: (&str, &str) = ("prometheus-redis-exporter", "6.29.0");

/// The chart and the scrape job of a `[databases]` key.
fn chart_and_job<'a>(cfg: &'a Config, name: &str) -> ((&'static str, &'static str), &'a str) {
    if name == "postgres" {
        (POSTGRES_CHART, &cfg.alerts.postgres_job)
    } else {
        (REDIS_CHART, &cfg.alerts.redis_job)
    }
}

/// Relabels the scraped target's `job` to the database's job: the charts and the user's
/// Service would name it after the Service, and the alerts select it by `[alerts]`.
fn job_relabeling(job: &str) -> Value {
    json!([{ "action": "replace", "targetLabel": "job", "replacement": job }])
}

/// The values files of the charts to install, by file name under `values/`.
pub(super) fn values_files(cfg: &Config) -> Vec<(String, String)> {
    cfg.databases
        .watched()
        .filter(|(_, db)| db.exporter.is_none())
        .map(|(name, db)| {
            let ((chart, _), _) = chart_and_job(cfg, name);
            (format!("{chart}.yaml"), chart_values(cfg, name, db))
        })
        .collect()
}

/// The helm commands that install the charts of [`values_files`], one line each.
pub(super) fn helm_commands(cfg: &Config) -> Vec<String> {
    let ns = settings(cfg).namespace;
    cfg.databases
        .watched()
        .filter(|(_, db)| db.exporter.is_none())
        .map(|(name, _)| {
            let ((chart, version), _) = chart_and_job(cfg, name);
            format!(
                "helm upgrade --install {name}-exporter prometheus-community/{chart} --version {version} -n {ns} -f values/{chart}.yaml"
            )
        })
        .collect()
}

fn chart_values(cfg: &Config, name: &str, db: &Database) -> String {
    let k = settings(cfg);
    let ((chart, version), job) = chart_and_job(cfg, name);
    let address = db
        .address
        .as_ref()
        .expect("validation requires the address without an exporter");
    let service_monitor = json!({
        "enabled": true,
        "labels": { RELEASE_LABEL: k.prometheus_release },
        "interval": cfg.scrape_interval,
        "relabelings": job_relabeling(job),
    });
    let mut secret_lines = Vec::new();
    let doc = if name == "postgres" {
        let mut datasource = json!({
            "host": address.host(),
            "port": address.port().to_string(),
            "user": db.user.as_deref().unwrap_or("postgres"),
            "database": "postgres",
            "sslmode": "disable",
        });
        if let Some(secret) = &db.password_secret {
            datasource["passwordSecret"] = json!({ "name": secret.name, "key": secret.key });
            secret_lines.push(format!(
                "The password is the key {} of the Secret {} (create it before installing).",
                secret.key, secret.name
            ));
        } else {
            secret_lines.push(
                "No password: set databases.postgres.password_secret to the Secret holding it."
                    .to_string(),
            );
        }
        json!({ "config": { "datasource": datasource }, "serviceMonitor": service_monitor })
    } else {
        let mut doc = json!({
            "redisAddress": format!("redis://{address}"),
            "serviceMonitor": service_monitor,
        });
        if let Some(secret) = &db.password_secret {
            let mut auth = json!({
                "enabled": true,
                "secret": { "name": secret.name, "key": secret.key },
            });
            if let Some(user) = &db.user {
                auth["redisUser"] = json!(user);
            }
            doc["auth"] = auth;
            secret_lines.push(format!(
                "The password is the key {} of the Secret {} (create it before installing).",
                secret.key, secret.name
            ));
        } else {
            secret_lines.push(
                "No password: set databases.redis.password_secret if Redis requires one.".into(),
            );
        }
        doc
    };
    let mut note = vec![
        format!("Values for the prometheus-community/{chart} chart, version {version}:"),
        format!(
            "  helm upgrade --install {name}-exporter prometheus-community/{chart} --version {version} -n {} -f values/{chart}.yaml",
            k.namespace
        ),
        String::new(),
        format!(
            "Its ServiceMonitor carries release: {} so kube-prometheus-stack scrapes it, and sets job to {job:?},",
            k.prometheus_release
        ),
        "the job the bundled database alerts select ([alerts] in obs.toml).".to_string(),
    ];
    note.extend(secret_lines);
    let lines: Vec<&str> = note.iter().map(String::as_str).collect();
    yaml_with_note(&doc, &comment(&lines))
}

/// ServiceMonitors for the exporters the cluster already runs, by file stem.
pub(super) fn service_monitors(cfg: &Config) -> Vec<(String, Value)> {
    cfg.databases
        .watched()
        .filter_map(|(name, db)| Some((name, db.exporter.as_ref()?)))
        .map(|(name, exporter)| {
            let (_, job) = chart_and_job(cfg, name);
            (
                format!("{name}-exporter"),
                service_monitor(cfg, name, job, exporter),
            )
        })
        .collect()
}

fn service_monitor(cfg: &Config, name: &str, job: &str, exporter: &ExporterService) -> Value {
    let k = settings(cfg);
    let namespace = exporter.namespace.clone().unwrap_or(k.namespace);
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(cfg, &format!("obs-{name}-exporter"), &[(RELEASE_LABEL, &k.prometheus_release)]),
        "spec": {
            "selector": { "matchLabels": exporter.selector },
            "namespaceSelector": { "matchNames": [namespace] },
            "endpoints": [{
                "port": exporter.port,
                "path": "/metrics",
                "interval": cfg.scrape_interval,
                "scheme": "http",
                "relabelings": job_relabeling(job),
            }],
        },
    })
}
