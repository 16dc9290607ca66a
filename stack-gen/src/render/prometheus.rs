//! `prometheus/prometheus.yml`: a job per service, the exporters, the stack's own components,
//! Alertmanager and the bundled rule files.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::model::{Config, Duration, HostPort, Local, LogShipper};

#[derive(Serialize)]
struct PrometheusConfig {
    global: Global,
    storage: Storage,
    alerting: Alerting,
    rule_files: Vec<String>,
    scrape_configs: Vec<ScrapeConfig>,
    #[serde(skip_serializing_if = "serde_json::Value::is_null")]
    remote_write: serde_json::Value,
}

#[derive(Serialize)]
struct Global {
    scrape_interval: Duration,
    evaluation_interval: Duration,
    external_labels: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Storage {
    exemplars: Exemplars,
}

#[derive(Serialize)]
struct Exemplars {
    max_exemplars: u32,
}

#[derive(Serialize)]
struct Alerting {
    alertmanagers: Vec<StaticConfigs>,
}

#[derive(Serialize)]
struct StaticConfigs {
    static_configs: Vec<Targets>,
}

#[derive(Serialize)]
struct Targets {
    targets: Vec<String>,
}

#[derive(Serialize)]
struct ScrapeConfig {
    job_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    metrics_path: Option<String>,
    static_configs: Vec<Targets>,
}

/// The address Prometheus (in its container) uses for a service target: a loopback host means
/// the docker host, which the container reaches as `host.docker.internal`.
pub fn scrape_target(target: &HostPort) -> HostPort {
    match target.host() {
        "localhost" | "127.0.0.1" | "::1" => HostPort::docker_host(target.port()),
        _ => target.clone(),
    }
}

fn job(name: &str, target: impl ToString) -> ScrapeConfig {
    ScrapeConfig {
        job_name: name.into(),
        metrics_path: None,
        static_configs: vec![Targets {
            targets: vec![target.to_string()],
        }],
    }
}

/// The feature flags Prometheus runs with, on the command line of the compose container and
/// in the local-mode instructions; Prometheus 2.42 (Debian's) and 3.x both take them.
/// Exemplar storage always: a scrape then asks for OpenMetrics and keeps the `trace_id`
/// exemplars the SDK writes on its latency buckets. The remote-write receiver only with
/// tracing, where Tempo's metrics generator writes the service graph into it.
pub fn flags(cfg: &Config) -> Vec<String> {
    let mut flags = vec!["--enable-feature=exemplar-storage".to_string()];
    if cfg.tracing {
        flags.push("--web.enable-remote-write-receiver".into());
    }
    flags
}

/// How many exemplars Prometheus keeps in memory (a ring over every series): its default,
/// written out so the compose and Kubernetes stacks say the same.
pub const MAX_EXEMPLARS: u32 = 100_000;

/// Renders `prometheus.yml`.
pub fn render(cfg: &Config) -> String {
    let mut scrape_configs = Vec::new();
    // Validation gives every compose service a target.
    for (s, target) in cfg
        .services
        .iter()
        .filter_map(|s| Some((s, s.target.as_ref()?)))
    {
        let target = match cfg.local {
            Some(_) => target.to_string(),
            None => scrape_target(target).to_string(),
        };
        scrape_configs.push(ScrapeConfig {
            job_name: s.name.clone(),
            metrics_path: Some(s.metrics_path.clone()),
            static_configs: vec![Targets {
                targets: vec![target],
            }],
        });
    }
    let alertmanager = match &cfg.local {
        Some(local) => {
            scrape_configs.extend(local_jobs(cfg, local));
            local.alertmanager.to_string()
        }
        None => {
            scrape_configs.extend(compose_jobs(cfg));
            "alertmanager:9093".into()
        }
    };
    let doc = PrometheusConfig {
        global: Global {
            scrape_interval: cfg.scrape_interval.clone(),
            evaluation_interval: cfg.evaluation_interval.clone(),
            external_labels: BTreeMap::from([
                ("env", cfg.environment.clone()),
                ("project", cfg.project.clone()),
            ]),
        },
        storage: Storage {
            exemplars: Exemplars {
                max_exemplars: MAX_EXEMPLARS,
            },
        },
        alerting: Alerting {
            alertmanagers: vec![StaticConfigs {
                static_configs: vec![Targets {
                    targets: vec![alertmanager],
                }],
            }],
        },
        rule_files: vec!["rules/*.yml".into(), "rules/*.yaml".into()],
        scrape_configs,
        remote_write: match cfg.remote_write {
            Some(_) => super::remote_write::prometheus_yml(cfg),
            None => serde_json::Value::Null,
        },
    };
    let mut note = vec![
        "Rule files are relative to this file: prometheus/rules/ holds the bundled alerting and",
        "recording rules with the thresholds of obs.toml's [alerts] table.",
    ];
    if cfg.remote_write.is_some() {
        note.extend([
            "remote_write ([remote_write] in obs.toml) reads its credentials from files: compose",
            "secrets filled from .env, or in local mode files under prometheus/secrets/.",
        ]);
    }
    if cfg.local.is_some() {
        note.extend([
            "Local mode (obs.toml [local]): every address is a host address; start Prometheus with",
            "--web.listen-address set to local.prometheus and the flags of README.md.",
        ]);
    }
    super::yaml_with_note(&doc, &super::comment(&note))
}

/// The jobs of the stack's own components in local mode: Prometheus, Alertmanager and the
/// exporters `[local]` lists.
fn local_jobs(cfg: &Config, local: &Local) -> Vec<ScrapeConfig> {
    let mut jobs = vec![
        job("prometheus", &local.prometheus),
        job("alertmanager", &local.alertmanager),
    ];
    if let Some(node) = &local.node_exporter {
        jobs.push(job(&cfg.alerts.node_job, node));
    }
    if let (Some(_), Some(addr)) = (&cfg.databases.postgres, &local.postgres_exporter) {
        jobs.push(job(&cfg.alerts.postgres_job, addr));
    }
    if let (Some(_), Some(addr)) = (&cfg.databases.redis, &local.redis_exporter) {
        jobs.push(job(&cfg.alerts.redis_job, addr));
    }
    jobs
}

/// The jobs of the stack's own containers, by their compose service names.
fn compose_jobs(cfg: &Config) -> Vec<ScrapeConfig> {
    let mut scrape_configs = vec![
        job("prometheus", "localhost:9090"),
        job("alertmanager", "alertmanager:9093"),
        job("grafana", "grafana:3000"),
        job("loki", "loki:3100"),
    ];
    match cfg.log_shipper {
        LogShipper::Alloy => scrape_configs.push(job("alloy", "alloy:12345")),
        LogShipper::Promtail => scrape_configs.push(job("promtail", "promtail:9080")),
        LogShipper::None => {}
    }
    if cfg.tracing {
        scrape_configs.push(job("tempo", "tempo:3200"));
    }
    scrape_configs.push(job(&cfg.alerts.node_job, "node-exporter:9100"));
    scrape_configs.push(job("cadvisor", "cadvisor:8080"));
    if cfg.databases.postgres.is_some() {
        scrape_configs.push(job(&cfg.alerts.postgres_job, "postgres-exporter:9187"));
    }
    if cfg.databases.redis.is_some() {
        scrape_configs.push(job(&cfg.alerts.redis_job, "redis-exporter:9121"));
    }
    scrape_configs
}
