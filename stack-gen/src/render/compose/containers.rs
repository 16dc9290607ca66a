//! `compose.yaml`: every container of the stack, with pinned images, a health check that runs a
//! binary present in its image, ports published on `bind_address` only, named volumes, restart
//! policies and memory limits.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use crate::model::{Config, LogShipper, Port};
use crate::render::{Image, comment, images, prometheus, remote_write, yaml_with_note};

/// Port Grafana listens on inside its container.
pub const GRAFANA_PORT: u16 = 3000;

#[derive(Serialize)]
struct ComposeFile {
    name: String,
    services: BTreeMap<String, Service>,
    volumes: BTreeMap<String, Empty>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    secrets: BTreeMap<String, FromEnvironment>,
}

/// A compose secret taken from a variable of the environment (`.env`), mounted at
/// `/run/secrets/<name>`: how the remote-write credentials reach Prometheus, which expands no
/// variables in its configuration.
#[derive(Serialize)]
struct FromEnvironment {
    environment: String,
}

#[derive(Serialize)]
struct Empty {}

#[derive(Serialize, Default)]
struct Service {
    image: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    entrypoint: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    command: Vec<String>,
    restart: &'static str,
    mem_limit: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pid: Option<&'static str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    environment: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ports: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    volumes: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    extra_hosts: Vec<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    depends_on: BTreeMap<String, DependsOn>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    secrets: Vec<String>,
    healthcheck: Healthcheck,
    logging: Logging,
}

#[derive(Serialize)]
struct DependsOn {
    condition: &'static str,
}

#[derive(Serialize, Default)]
struct Healthcheck {
    test: Vec<String>,
    interval: &'static str,
    timeout: &'static str,
    retries: u32,
    start_period: &'static str,
}

#[derive(Serialize, Default)]
struct Logging {
    driver: &'static str,
    options: BTreeMap<&'static str, &'static str>,
}

fn logging() -> Logging {
    Logging {
        driver: "json-file",
        options: BTreeMap::from([("max-size", "10m"), ("max-file", "3")]),
    }
}

/// A health check with busybox (or alpine) `wget`.
fn wget(url: &str) -> Healthcheck {
    check(vec![
        "CMD".into(),
        "wget".into(),
        "-q".into(),
        "--spider".into(),
        url.into(),
    ])
}

/// A health check for images without wget or curl but with bash (Ubuntu, Debian): an HTTP
/// request over bash's `/dev/tcp`, healthy on a 200 answer.
fn bash_http(port: u16, path: &str) -> Healthcheck {
    let script = format!(
        "exec 3<>/dev/tcp/127.0.0.1/{port} && printf 'GET {path} HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"
    );
    check(vec!["CMD".into(), "bash".into(), "-c".into(), script])
}

fn check(test: Vec<String>) -> Healthcheck {
    Healthcheck {
        test,
        interval: "30s",
        timeout: "5s",
        retries: 5,
        start_period: "30s",
    }
}

fn publish(cfg: &Config, host: Port, container: u16) -> String {
    let bind = match cfg.bind_address {
        IpAddr::V6(ip) => format!("[{ip}]"),
        IpAddr::V4(ip) => ip.to_string(),
    };
    format!("{bind}:{host}:{container}")
}

fn base(images: &BTreeMap<String, Image>, component: &str, health: Healthcheck) -> Service {
    let img = images
        .get(component)
        .unwrap_or_else(|| panic!("stack-gen/data/images.toml lacks [{component}]"));
    Service {
        image: img.image.clone(),
        restart: "unless-stopped",
        mem_limit: img.memory.clone(),
        healthcheck: health,
        logging: logging(),
        ..Service::default()
    }
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

const HOST_GATEWAY: &str = "host.docker.internal:host-gateway";

/// The Docker API as the log shipper reaches it in compose: the socket proxy's service.
pub const DOCKER_API_PROXY: &str = "tcp://docker-socket-proxy:2375";

/// The read-only Docker API proxy the log shipper talks to instead of the socket.
///
/// Whoever can write to the Docker socket is root on the host, and `:ro` on the mount does not
/// change that: it only stops the file from being replaced, while every API call (create a
/// privileged container, exec) is still a write to the socket. So only this proxy mounts it,
/// and it answers GET requests (`POST: 0`) to the endpoints the shipper's Docker discovery and
/// log source call, and nothing else: `/containers` (list, inspect, logs), `/networks` (the
/// discovery's network labels; it fails without them), `/_ping` and `/version` (the client's API
/// version handshake). Events, images, info, exec, volumes, secrets and the rest stay refused.
/// Reading the log files from `/var/lib/docker/containers` instead would need that directory
/// (every container's logs and config, readable by root only) and lose the compose service
/// names, which only the API gives. It publishes no port: only the stack's network reaches it.
fn docker_socket_proxy(images: &BTreeMap<String, Image>) -> Service {
    let mut proxy = base(
        images,
        "docker-socket-proxy",
        wget("http://127.0.0.1:2375/_ping"),
    );
    proxy.environment = [
        ("CONTAINERS", "1"),
        ("NETWORKS", "1"),
        ("PING", "1"),
        ("VERSION", "1"),
        ("EVENTS", "0"),
        ("POST", "0"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    proxy.volumes = strings(&["/var/run/docker.sock:/var/run/docker.sock:ro"]);
    proxy
}

/// `depends_on` of a log shipper: Loki, and the Docker API proxy.
fn shipper_depends_on() -> BTreeMap<String, DependsOn> {
    ["loki", "docker-socket-proxy"]
        .into_iter()
        .map(|s| {
            (
                s.to_string(),
                DependsOn {
                    condition: "service_started",
                },
            )
        })
        .collect()
}

/// A compose override for the user's own services (`app-healthchecks.yaml`): a health check on
/// each service's liveness path (`health_path`, by default the SDK's `/health/live`), keyed by the
/// names in `obs.toml`. It is applied with the app's compose file:
/// `docker compose -f compose.yaml -f monitoring/app-healthchecks.yaml up -d`. `None` when
/// there is no service.
pub fn app_healthchecks(cfg: &Config) -> Option<String> {
    #[derive(Serialize)]
    struct Override {
        services: BTreeMap<String, AppService>,
    }
    #[derive(Serialize)]
    struct AppService {
        healthcheck: Healthcheck,
    }
    if cfg.services.is_empty() {
        return None;
    }
    let services = cfg
        .services
        .iter()
        // Validation gives every compose service a target.
        .filter_map(|svc| Some((svc, svc.target.as_ref()?)))
        .map(|(svc, target)| {
            // Inside its own container the service listens on the target's port.
            let port = target.port();
            let url = format!("http://127.0.0.1:{port}{}", svc.health_path);
            // Service images differ: busybox/alpine have wget, Debian-based ones often curl.
            let probe = format!("wget -q --spider {url} || curl -fsS -o /dev/null {url}");
            let healthcheck = check(vec!["CMD-SHELL".into(), probe]);
            (svc.name.clone(), AppService { healthcheck })
        })
        .collect();
    Some(yaml_with_note(
        &Override { services },
        &comment(&[
            "Liveness health checks for your own services, keyed by their names in obs.toml.",
            "Apply it with your app's compose file (the service names must match):",
            "  docker compose -f compose.yaml -f monitoring/app-healthchecks.yaml up -d",
            "Each image needs wget or curl; for a distroless image, replace `test` with your",
            "binary's own probe. The checks use the liveness path, so a dependency that is",
            "down (readiness) does not mark the service's container unhealthy.",
        ]),
    ))
}

/// Renders `compose.yaml`.
pub fn render(cfg: &Config) -> String {
    let images = images();
    let mut services = BTreeMap::new();
    let mut volumes = BTreeMap::new();
    let mut volume = |name: &str| {
        volumes.insert(name.to_string(), Empty {});
    };

    let mut prometheus = base(
        &images,
        "prometheus",
        wget("http://127.0.0.1:9090/-/healthy"),
    );
    prometheus.command = vec![
        "--config.file=/etc/prometheus/prometheus.yml".into(),
        "--storage.tsdb.path=/prometheus".into(),
        format!("--storage.tsdb.retention.time={}", cfg.retention),
    ];
    prometheus.command.extend(prometheus::flags(cfg));
    prometheus.ports = vec![publish(cfg, cfg.ports.prometheus, 9090)];
    prometheus.volumes = strings(&[
        "./prometheus:/etc/prometheus:ro",
        "prometheus-data:/prometheus",
    ]);
    prometheus.extra_hosts = vec![HOST_GATEWAY.into()];
    prometheus.depends_on = BTreeMap::from([(
        "alertmanager".to_string(),
        DependsOn {
            condition: "service_started",
        },
    )]);
    let mut secrets = BTreeMap::new();
    for (name, var) in cfg
        .remote_write
        .iter()
        .flat_map(remote_write::compose_secrets)
    {
        prometheus.secrets.push(name.into());
        secrets.insert(name.to_string(), FromEnvironment { environment: var });
    }
    services.insert("prometheus".to_string(), prometheus);
    volume("prometheus-data");

    let mut am = base(
        &images,
        "alertmanager",
        wget("http://127.0.0.1:9093/-/healthy"),
    );
    am.entrypoint = strings(&["/bin/sh", "/etc/alertmanager/entrypoint.sh"]);
    am.ports = vec![publish(cfg, cfg.ports.alertmanager, 9093)];
    am.volumes = strings(&[
        "./alertmanager:/etc/alertmanager:ro",
        "alertmanager-data:/alertmanager",
    ]);
    am.environment = BTreeMap::from([(
        "ALERTMANAGER_EXTERNAL_URL".to_string(),
        format!(
            "http://{}:{}/",
            host_for_url(&cfg.bind_address),
            cfg.ports.alertmanager
        ),
    )]);
    if let Some(var) = cfg.alerting.receiver.secret_var() {
        let name = var.name;
        am.environment
            .insert(name.to_string(), format!("${{{name}:-}}"));
    }
    services.insert("alertmanager".to_string(), am);
    volume("alertmanager-data");

    // Grafana's Alpine images ship busybox wget (and curl), its Ubuntu images curl only.
    let health = format!("http://127.0.0.1:{GRAFANA_PORT}/api/health");
    let grafana_check = check(vec![
        "CMD-SHELL".into(),
        format!("wget -q --spider {health} || curl -fsS -o /dev/null {health}"),
    ]);
    let mut grafana = base(&images, "grafana", grafana_check);
    grafana.ports = vec![publish(cfg, cfg.ports.grafana, GRAFANA_PORT)];
    grafana.volumes = strings(&[
        "./grafana/provisioning:/etc/grafana/provisioning:ro",
        "./grafana/dashboards:/etc/grafana/dashboards:ro",
        "grafana-data:/var/lib/grafana",
    ]);
    grafana.environment = BTreeMap::from(
        [
            ("GF_SECURITY_ADMIN_USER", "admin".to_string()),
            (
                "GF_SECURITY_ADMIN_PASSWORD",
                "${GF_SECURITY_ADMIN_PASSWORD:?GF_SECURITY_ADMIN_PASSWORD must be set in .env}"
                    .to_string(),
            ),
            ("GF_AUTH_ANONYMOUS_ENABLED", "false".to_string()),
            ("GF_AUTH_DISABLE_LOGIN_FORM", "false".to_string()),
            ("GF_USERS_ALLOW_SIGN_UP", "false".to_string()),
            ("GF_USERS_ALLOW_ORG_CREATE", "false".to_string()),
            ("GF_ANALYTICS_REPORTING_ENABLED", "false".to_string()),
            ("GF_ANALYTICS_CHECK_FOR_UPDATES", "false".to_string()),
            (
                "GF_SERVER_ROOT_URL",
                format!(
                    "http://{}:{}/",
                    host_for_url(&cfg.bind_address),
                    cfg.ports.grafana
                ),
            ),
        ]
        .map(|(k, v)| (k.to_string(), v)),
    );
    grafana.depends_on = ["prometheus", "loki"]
        .iter()
        .map(|s| {
            (
                s.to_string(),
                DependsOn {
                    condition: "service_started",
                },
            )
        })
        .collect();
    if cfg.tracing {
        grafana.depends_on.insert(
            "tempo".into(),
            DependsOn {
                condition: "service_started",
            },
        );
    }
    services.insert("grafana".to_string(), grafana);
    volume("grafana-data");

    let mut loki = base(&images, "loki", wget("http://127.0.0.1:3100/ready"));
    loki.command = vec!["-config.file=/etc/loki/config.yaml".into()];
    loki.ports = vec![publish(cfg, cfg.ports.loki, 3100)];
    loki.volumes = strings(&["./loki:/etc/loki:ro", "loki-data:/loki"]);
    services.insert("loki".to_string(), loki);
    volume("loki-data");

    match cfg.log_shipper {
        LogShipper::Alloy => {
            let mut alloy = base(&images, "alloy", bash_http(12345, "/-/ready"));
            alloy.command = strings(&[
                "run",
                "/etc/alloy/config.alloy",
                "--storage.path=/var/lib/alloy/data",
                "--server.http.listen-addr=0.0.0.0:12345",
                "--disable-reporting",
            ]);
            alloy.volumes = strings(&["./alloy:/etc/alloy:ro", "alloy-data:/var/lib/alloy/data"]);
            alloy.depends_on = shipper_depends_on();
            services.insert("alloy".to_string(), alloy);
            services.insert(
                "docker-socket-proxy".to_string(),
                docker_socket_proxy(&images),
            );
            volume("alloy-data");
        }
        LogShipper::Promtail => {
            let mut promtail = base(&images, "promtail", bash_http(9080, "/ready"));
            promtail.command = vec!["-config.file=/etc/promtail/config.yml".into()];
            promtail.volumes = strings(&[
                "./promtail:/etc/promtail:ro",
                "promtail-positions:/var/lib/promtail",
            ]);
            promtail.depends_on = shipper_depends_on();
            services.insert("promtail".to_string(), promtail);
            services.insert(
                "docker-socket-proxy".to_string(),
                docker_socket_proxy(&images),
            );
            volume("promtail-positions");
        }
        LogShipper::None => {}
    }

    let mut node = base(
        &images,
        "node-exporter",
        wget("http://127.0.0.1:9100/metrics"),
    );
    node.pid = Some("host");
    node.command = strings(&[
        "--path.procfs=/host/proc",
        "--path.sysfs=/host/sys",
        "--path.rootfs=/rootfs",
        // `$$` is compose's escape for a literal `$`.
        "--collector.filesystem.mount-points-exclude=^/(sys|proc|dev|host|etc)($$|/)",
    ]);
    node.volumes = strings(&[
        "/proc:/host/proc:ro",
        "/sys:/host/sys:ro",
        "/:/rootfs:ro,rslave",
    ]);
    services.insert("node-exporter".to_string(), node);

    let mut cadvisor = base(&images, "cadvisor", wget("http://127.0.0.1:8080/healthz"));
    cadvisor.command = strings(&["--docker_only=true", "--housekeeping_interval=30s"]);
    cadvisor.volumes = strings(&[
        "/:/rootfs:ro",
        "/var/run:/var/run:ro",
        "/sys:/sys:ro",
        "/var/lib/docker/:/var/lib/docker:ro",
        "/dev/disk/:/dev/disk:ro",
    ]);
    services.insert("cadvisor".to_string(), cadvisor);

    // Validation requires the address of every database on compose.
    let address = |db: &crate::model::Database| {
        db.address
            .clone()
            .expect("a compose database has its address")
    };
    if let Some(pg) = &cfg.databases.postgres {
        let mut e = base(
            &images,
            "postgres-exporter",
            wget("http://127.0.0.1:9187/metrics"),
        );
        e.environment = BTreeMap::from(
            [
                (
                    "DATA_SOURCE_URI",
                    format!(
                        "{}/postgres?sslmode=${{POSTGRES_EXPORTER_SSLMODE:-disable}}",
                        address(pg)
                    ),
                ),
                (
                    "DATA_SOURCE_USER",
                    "${POSTGRES_EXPORTER_USER:-postgres}".to_string(),
                ),
                (
                    "DATA_SOURCE_PASS",
                    "${POSTGRES_EXPORTER_PASSWORD:-}".to_string(),
                ),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        e.extra_hosts = vec![HOST_GATEWAY.into()];
        services.insert("postgres-exporter".to_string(), e);
    }
    if let Some(redis) = &cfg.databases.redis {
        let mut e = base(
            &images,
            "redis-exporter",
            wget("http://127.0.0.1:9121/metrics"),
        );
        e.environment = BTreeMap::from(
            [
                ("REDIS_ADDR", format!("redis://{}", address(redis))),
                ("REDIS_PASSWORD", "${REDIS_PASSWORD:-}".to_string()),
            ]
            .map(|(k, v)| (k.to_string(), v)),
        );
        e.extra_hosts = vec![HOST_GATEWAY.into()];
        services.insert("redis-exporter".to_string(), e);
    }

    if cfg.tracing {
        let mut tempo = base(&images, "tempo", wget("http://127.0.0.1:3200/ready"));
        tempo.command = vec!["-config.file=/etc/tempo/config.yaml".into()];
        tempo.ports = vec![
            publish(cfg, cfg.ports.tempo, 3200),
            publish(cfg, cfg.ports.otlp_grpc, 4317),
            publish(cfg, cfg.ports.otlp_http, 4318),
        ];
        tempo.volumes = strings(&["./tempo:/etc/tempo:ro", "tempo-data:/var/tempo"]);
        services.insert("tempo".to_string(), tempo);
        volume("tempo-data");
    }

    let file = ComposeFile {
        name: cfg.project.clone(),
        services,
        volumes,
        secrets,
    };
    yaml_with_note(
        &file,
        &comment(&[
            "Start: docker compose up -d   (in this directory; .env holds the Grafana admin password)",
            "Every port is published on bind_address only; Prometheus reaches services on the docker",
            "host as host.docker.internal (extra_hosts maps it to the host gateway on Linux).",
        ]),
    )
}

/// The host part of a URL for `bind_address` (`0.0.0.0` is shown as localhost).
pub fn host_for_url(bind: &IpAddr) -> String {
    match bind {
        b if b.is_unspecified() => "localhost".into(),
        IpAddr::V6(b) => format!("[{b}]"),
        IpAddr::V4(b) => b.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_healthchecks_probe_each_service_on_its_liveness_path() {
        let mut cfg = Config::default();
        let mut worker = crate::model::Service::new("worker", "10.0.0.5:9000".parse().unwrap());
        worker.health_path = "/live".into();
        cfg.services = vec![
            crate::model::Service::new("api", "api:8080".parse().unwrap()),
            worker,
        ];
        let text = app_healthchecks(&cfg).expect("services exist");
        let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap();
        let test = |name: &str| {
            doc["services"][name]["healthcheck"]["test"][1]
                .as_str()
                .unwrap()
                .to_owned()
        };
        assert_eq!(
            doc["services"]["api"]["healthcheck"]["test"][0],
            "CMD-SHELL"
        );
        assert!(
            test("api").contains("http://127.0.0.1:8080/health/live"),
            "{}",
            test("api")
        );
        assert!(
            test("worker").contains("http://127.0.0.1:9000/live"),
            "{}",
            test("worker")
        );
        cfg.services.clear();
        assert!(app_healthchecks(&cfg).is_none());
    }
}
