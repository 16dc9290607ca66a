//! The compose target: `compose.yaml` with every container of the stack, the configuration
//! file of each component it runs, the bundled rules and dashboards as files, `.env.example`
//! and a README. In local mode the same files without `compose.yaml`, for host programs.

use crate::model::{Config, LogShipper};
use crate::render::{
    OutFile, alertmanager, alloy, frontend, grafana, loki, prometheus, promtail, tempo,
};

pub mod containers;
pub mod env;
mod readme;

/// Where the log shipper reaches the Docker API: the read-only socket proxy of `compose.yaml`
/// (see [`containers`]), or, in local mode where no proxy runs, the host's socket.
pub fn docker_api(cfg: &Config) -> &'static str {
    match cfg.local {
        None => containers::DOCKER_API_PROXY,
        Some(_) => "unix:///var/run/docker.sock",
    }
}

/// Renders every file of the compose target (and its local mode) for `cfg` (validated).
pub fn render(cfg: &Config) -> Vec<OutFile> {
    let mut files = vec![
        OutFile {
            path: "prometheus/prometheus.yml".into(),
            contents: prometheus::render(cfg),
        },
        OutFile {
            path: "alertmanager/alertmanager.yml".into(),
            contents: alertmanager::render(cfg),
        },
        OutFile {
            path: "alertmanager/entrypoint.sh".into(),
            contents: alertmanager::entrypoint(cfg),
        },
        OutFile {
            path: "loki/config.yaml".into(),
            contents: loki::render(cfg),
        },
        OutFile {
            path: "grafana/provisioning/datasources/datasources.yaml".into(),
            contents: grafana::datasources(cfg),
        },
        OutFile {
            path: "grafana/provisioning/dashboards/obs.yaml".into(),
            contents: grafana::provider(),
        },
        OutFile {
            path: ".env.example".into(),
            contents: env::example(cfg),
        },
        OutFile {
            path: ".gitignore".into(),
            // Local mode: the entrypoint's private copy with the webhook URL, and the state of
            // the programs, live in the tree too.
            contents: match cfg.local {
                None => ".env\n".into(),
                Some(_) => {
                    ".env\nalertmanager/.secrets/\nalertmanager/data/\nprometheus/data/\n".into()
                }
            },
        },
        OutFile {
            path: "README.md".into(),
            contents: readme::render(cfg),
        },
    ];
    // Local mode runs the components as host programs: there is no compose project.
    if cfg.local.is_none() {
        files.push(OutFile {
            path: "compose.yaml".into(),
            contents: containers::render(cfg),
        });
        if let Some(contents) = containers::app_healthchecks(cfg) {
            files.push(OutFile {
                path: "app-healthchecks.yaml".into(),
                contents,
            });
        }
    }
    match cfg.log_shipper {
        LogShipper::Alloy => files.push(OutFile {
            path: "alloy/config.alloy".into(),
            contents: alloy::render(cfg, docker_api(cfg)),
        }),
        LogShipper::Promtail => files.push(OutFile {
            path: "promtail/config.yml".into(),
            contents: promtail::render(cfg, docker_api(cfg)),
        }),
        LogShipper::None => {}
    }
    files.extend(frontend::render(cfg));
    if cfg.tracing {
        files.push(OutFile {
            path: "tempo/config.yaml".into(),
            contents: tempo::render(cfg),
        });
    }
    let thresholds = cfg.thresholds_for_rules();
    // The SLOs' promtool tests sit in rules/tests/, beside the rules they name as `../…`.
    for rule in obs_mixin::rule_files(&thresholds)
        .into_iter()
        .chain(obs_mixin::slo_test_files(&thresholds))
    {
        files.push(OutFile {
            path: format!("prometheus/rules/{}", rule.file_name),
            contents: rule.yaml,
        });
    }
    for d in obs_mixin::dashboards_for(&thresholds) {
        let mut text = serde_json::to_string_pretty(&d.json).expect("dashboards serialise");
        text.push('\n');
        files.push(OutFile {
            path: format!("grafana/dashboards/{}", d.file_name),
            contents: text,
        });
    }
    files
}
