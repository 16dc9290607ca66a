//! The dashboards and rules against real programs, scraped by a real Prometheus (2.42 from
//! Debian) loaded with the bundled recording rules:
//! - the SDK's demo service under traffic, and its `grpc` example driven by Python's grpcio:
//!   every Service overview and SDK self-health panel query returns data, every service alert
//!   expression evaluates, and the gRPC example's `INTERNAL` answers count as server faults in
//!   the gRPC panels and in `HighGrpcErrorRate`;
//! - node-exporter, postgres-exporter and redis-exporter from Debian's packages: every
//!   Infrastructure (host) and Database panel query returns data, and every infrastructure
//!   alert expression evaluates.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres) and Redis on 127.0.0.1:6379,
//! as the test script sets up; `OBS_TEST_PG_DSN` and `OBS_TEST_REDIS_ADDR` override them.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use obs_mixin::rules::{Alert, alerts};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn(program: &Path, args: &[String], env: &[(&str, String)]) -> Killed {
    let mut cmd = Command::new(program);
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    Killed(
        cmd.spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", program.display())),
    )
}

fn query(promtool: &Path, url: &str, expr: &str) -> Result<String, String> {
    // A leading space keeps promtool from reading `-sum(…)` as a flag.
    let expr = format!(" {expr}");
    let out = Command::new(promtool)
        .args(["query", "instant", url, &expr])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        Ok(stdout)
    } else {
        Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)))
    }
}

/// Waits until `expr` returns something.
fn wait_for(promtool: &Path, url: &str, expr: &str) {
    let start = Instant::now();
    while query(promtool, url, expr)
        .unwrap_or_default()
        .trim()
        .is_empty()
    {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "`{expr}` never returned data; up: {:?}\ntargets: {}",
            query(promtool, url, "up"),
            fetch(url, "/api/v1/targets?state=active")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Replaces Grafana variables by what "All" and a short range select.
fn concrete(query: &str) -> String {
    query
        .replace("$__rate_interval", "20s")
        .replace("$__range", "1m")
        .replace("${job:regex}", ".+")
        .replace("$job", ".+")
        .replace("$instance", ".+")
        .replace("$container", ".+")
        .replace("$route", ".*")
        .replace("$check", ".+")
}

/// Panel targets that may legitimately return nothing here, with the reason.
const MAY_BE_EMPTY: &[(&str, &str)] = &[
    (
        "traces_service_graph_",
        "Tempo's metrics generator writes the service graph; no Tempo runs here",
    ),
    (
        "redis_memory_max_bytes{",
        "the local Redis runs without maxmemory",
    ),
    (
        "node_disk_",
        "a container may expose no block device statistics",
    ),
    ("container_", "cAdvisor cannot run on this machine"),
    (
        "process_virtual_memory_max_bytes{",
        "no address-space limit is set",
    ),
    (
        "sum by (exporter, reason) (rate(obs_exporter_dropped_total",
        "no exporter dropped anything",
    ),
    (
        "obs_exporter_send_failures_total",
        "the demo runs without a Loki, OTLP or Sentry exporter",
    ),
    (
        "obs_exporter_queue_items",
        "the demo runs without a Loki, OTLP or Sentry exporter",
    ),
];

/// Queries every Prometheus panel target of the dashboards `uids`, and evaluates `alerts`.
/// Returns what failed and how many queries ran.
fn check_live(
    promtool: &Path,
    url: &str,
    uids: &[&str],
    alerts: &[Alert],
    also_empty: &[&str],
) -> (Vec<String>, usize) {
    let mut failures = Vec::new();
    let mut checked = 0;
    let dashboards = obs_mixin::dashboards();
    for d in dashboards.iter().filter(|d| uids.contains(&d.uid.as_str())) {
        for (location, q) in obs_mixin::contract::promql_queries(&d.json) {
            let expr = concrete(&q);
            checked += 1;
            match query(promtool, url, &expr) {
                Err(e) => failures.push(format!("{location}: error {e} in {expr}")),
                Ok(out)
                    if out.trim().is_empty()
                        && !MAY_BE_EMPTY.iter().any(|(p, _)| q.contains(p))
                        && !also_empty.iter().any(|p| q.contains(p)) =>
                {
                    failures.push(format!("{location}: no data for {expr}"))
                }
                Ok(_) => {}
            }
        }
    }
    for alert in alerts {
        checked += 1;
        if let Err(e) = query(promtool, url, &alert.expr) {
            failures.push(format!("alert {}: error {e}", alert.name));
        }
    }
    (failures, checked)
}

/// Starts Prometheus scraping `(job, port)` targets every second, with the recording rules.
fn start_prometheus(prometheus: &Path, dir: &Path, port: u16, targets: &[(&str, u16)]) -> Killed {
    let rules = obs_tests::repo_root()
        .join("alert-rules")
        .join(obs_mixin::rules::RECORDING_FILE);
    let mut config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: ['{}']\nscrape_configs:\n",
        rules.display()
    );
    for (job, target_port) in targets {
        config.push_str(&format!(
            "- job_name: {job}\n  static_configs: [{{targets: ['127.0.0.1:{target_port}']}}]\n"
        ));
    }
    std::fs::write(dir.join("prometheus.yml"), config).unwrap();
    spawn(
        prometheus,
        &[
            format!("--config.file={}", dir.join("prometheus.yml").display()),
            format!("--storage.tsdb.path={}", dir.join("data").display()),
            format!("--web.listen-address=127.0.0.1:{port}"),
        ],
        &[],
    )
}

/// One HTTP/1.1 GET; the answer does not matter, only that the demo handled it.
/// The response to `GET {base}{path}` (`base` is `[http://]127.0.0.1:PORT`), headers included.
fn fetch(base: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let addr = base.trim_start_matches("http://");
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return format!("(nothing listens on {addr})");
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    let _ = write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    );
    let mut body = String::new();
    let _ = s.read_to_string(&mut body);
    body
}

/// Traffic for the demo: the answer does not matter.
fn get(port: u16, path: &str) {
    fetch(&format!("127.0.0.1:{port}"), path);
}

/// Python with grpcio and grpcio-health-checking (`.ci/run deps` installs them), the gRPC
/// client that drives the `grpc` example. In CI a missing one fails; elsewhere the test skips.
fn python_with_grpcio() -> Option<PathBuf> {
    let python = obs_tests::require_tool("python3")?;
    let found = Command::new(&python)
        .args(["-c", "import grpc, grpc_health.v1"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    match found {
        true => Some(python),
        false if obs_tests::in_ci() => panic!(
            "python3 lacks grpcio or grpcio-health-checking; .ci/run installs them (CI=true, so this fails instead of skipping)"
        ),
        false => {
            eprintln!(
                "\n!!! SKIPPING: python3 lacks grpcio. Run `bash .ci/run deps` to install it. !!!\n"
            );
            None
        }
    }
}

#[test]
fn service_dashboards_and_alerts_work_against_the_sdk_demo() {
    let Some(prometheus) = obs_tests::require_tool("prometheus") else {
        return;
    };
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let Some(python) = python_with_grpcio() else {
        return;
    };
    let demo = obs_tests::process::demo_binary();
    let grpc_demo = obs_tests::process::example_binary("grpc");
    let dir = tempfile::tempdir().unwrap();
    let (demo_port, prom_port) = (free_port(), free_port());
    // Output kept, and the port checked, so a demo that cannot start says why instead of
    // showing up as a target that is down.
    let mut demo_proc = obs_tests::process::Proc::spawn(
        "demo",
        &demo,
        &[],
        &[
            ("DEMO_ADDR", format!("127.0.0.1:{demo_port}")),
            ("OBS_LOG", "warn".into()),
        ],
        dir.path(),
    );
    obs_tests::process::wait_for_port(
        &format!("127.0.0.1:{demo_port}"),
        Duration::from_secs(30),
        &mut demo_proc,
    );
    // The gRPC example: gRPC on one port, /metrics on another, driven by grpcio (OK,
    // NOT_FOUND, INTERNAL, UNIMPLEMENTED and health checks, over and over).
    let (grpc_port, grpc_http_port) = (free_port(), free_port());
    let mut grpc_proc = obs_tests::process::Proc::spawn(
        "grpc-demo",
        &grpc_demo,
        &[],
        &[
            ("DEMO_ADDR", format!("127.0.0.1:{grpc_http_port}")),
            ("DEMO_GRPC_ADDR", format!("127.0.0.1:{grpc_port}")),
            ("OBS_LOG", "warn".into()),
        ],
        dir.path(),
    );
    obs_tests::process::wait_for_port(
        &format!("127.0.0.1:{grpc_http_port}"),
        Duration::from_secs(30),
        &mut grpc_proc,
    );
    let _grpc_client = spawn(
        &python,
        &[
            obs_tests::repo_root()
                .join("tests/clients/grpc_client.py")
                .display()
                .to_string(),
            format!("127.0.0.1:{grpc_port}"),
            "0".into(),
        ],
        &[],
    );
    let _prom = start_prometheus(
        &prometheus,
        dir.path(),
        prom_port,
        &[("demo", demo_port), ("grpc-demo", grpc_http_port)],
    );
    let url = format!("http://127.0.0.1:{prom_port}");

    let stop = Arc::new(AtomicBool::new(false));
    let traffic = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // The gRPC example's own outgoing calls, through the SDK's gRPC client layer.
            let upstream = ["/upstream/1", "/upstream/missing", "/upstream/boom"];
            let paths = [
                "/",
                "/users/1",
                "/users/2",
                "/fail",
                "/slow?ms=30",
                "/no/such/route",
                "/health/ready",
                "/items",
                "/upstream",
            ];
            while !stop.load(Ordering::Relaxed) {
                for path in paths {
                    get(demo_port, path);
                }
                for path in upstream {
                    get(grpc_http_port, path);
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };
    wait_for(&promtool, &url, "up{job=\"demo\"} == 1");
    // The recording rules have seen traffic, 5xx included, in their window.
    wait_for(
        &promtool,
        &url,
        "job:http_server_request_errors:ratio_rate5m{job=\"demo\"} > 0",
    );
    // The gRPC example's calls, INTERNAL included, in the window of the rates.
    wait_for(
        &promtool,
        &url,
        "rate(rpc_server_call_duration_seconds_count{job=\"grpc-demo\",rpc_method=\"demo.v1.Users/Get\",rpc_response_status_code=\"INTERNAL\",error_type=\"INTERNAL\"}[15s]) > 0",
    );
    std::thread::sleep(Duration::from_secs(5));
    let alerts = alerts::service_alerts(&obs_mixin::Thresholds::default()).alerts;
    let (failures, checked) = check_live(
        &promtool,
        &url,
        &["obs-service-overview", "obs-sdk-self-health"],
        &alerts,
        &[],
    );
    // One call in five is INTERNAL and one UNIMPLEMENTED (on `_OTHER`): the server-fault ratio
    // is well above the alert's threshold, so its expression selects the gRPC example.
    let grpc_alert = alerts
        .iter()
        .find(|a| a.name == "HighGrpcErrorRate")
        .expect("the gRPC alert");
    let firing = query(&promtool, &url, &grpc_alert.expr).unwrap();
    let unserved = query(
        &promtool,
        &url,
        "rpc_server_call_duration_seconds_count{job=\"grpc-demo\",rpc_method=\"_OTHER\",rpc_response_status_code=\"UNIMPLEMENTED\"} > 0",
    )
    .unwrap();
    let raw_paths = query(
        &promtool,
        &url,
        "count(rpc_server_call_duration_seconds_count{rpc_method=~\".*Nope.*\"})",
    )
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    traffic.join().unwrap();
    assert!(checked > 40, "{checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(
        firing.contains("grpc-demo"),
        "HighGrpcErrorRate: {firing:?}"
    );
    assert!(!unserved.trim().is_empty(), "no _OTHER series");
    assert!(
        raw_paths.trim().is_empty(),
        "a raw path became a label: {raw_paths}"
    );
}

/// What the OpenTelemetry Python SDK's Prometheus exporter serves for a Flask app (stable HTTP
/// conventions, see design.md): extra `error_type`, `url_scheme`, `network_protocol_version`
/// labels, no `http_route` on unrouted requests, no obs_build_info and no `process_*` metrics.
/// Counts grow with the seconds since `start`.
fn otel_exposition(start: Instant) -> String {
    let n = (start.elapsed().as_secs_f64() * 10.0) as u64 + 1;
    let series = [
        (
            r#"http_request_method="GET",http_response_status_code="200",http_route="/items",network_protocol_version="1.1",url_scheme="http""#,
            8 * n,
        ),
        (
            r#"error_type="500",http_request_method="GET",http_response_status_code="500",http_route="/items",network_protocol_version="1.1",url_scheme="http""#,
            n,
        ),
        (
            r#"http_request_method="GET",http_response_status_code="404",network_protocol_version="1.1",url_scheme="http""#,
            n,
        ),
    ];
    let mut out = String::from(
        "# HELP target_info Target metadata\n# TYPE target_info gauge\ntarget_info{service_name=\"otel-app\",telemetry_sdk_language=\"python\"} 1.0\n\
         # HELP http_server_active_requests Number of active HTTP server requests.\n# TYPE http_server_active_requests gauge\n\
         http_server_active_requests{http_request_method=\"GET\",url_scheme=\"http\"} 2.0\n\
         # HELP http_server_request_duration_seconds Duration of HTTP server requests.\n# TYPE http_server_request_duration_seconds histogram\n",
    );
    for (labels, count) in series {
        for le in obs_catalogue::HTTP_DURATION_BUCKETS {
            // Every request takes between 25 and 50 ms.
            let c = if *le >= 0.05 { count } else { 0 };
            out.push_str(&format!(
                "http_server_request_duration_seconds_bucket{{{labels},le=\"{le:?}\"}} {c}\n"
            ));
        }
        out.push_str(&format!(
            "http_server_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n"
        ));
        out.push_str(&format!(
            "http_server_request_duration_seconds_count{{{labels}}} {count}\n"
        ));
        out.push_str(&format!(
            "http_server_request_duration_seconds_sum{{{labels}}} {}\n",
            count as f64 * 0.04
        ));
    }
    // What the requests instrumentation of the same SDK records for the app's outgoing calls:
    // the stable HTTP client conventions, `error_type` on failures.
    out.push_str("# HELP http_client_request_duration_seconds Duration of HTTP client requests.\n# TYPE http_client_request_duration_seconds histogram\n");
    for (labels, count) in [
        (
            r#"http_request_method="GET",http_response_status_code="200",network_protocol_version="1.1",server_address="users.internal",server_port="80""#,
            4 * n,
        ),
        (
            r#"error_type="503",http_request_method="GET",http_response_status_code="503",network_protocol_version="1.1",server_address="users.internal",server_port="80""#,
            n,
        ),
    ] {
        for le in obs_catalogue::HTTP_DURATION_BUCKETS {
            let c = if *le >= 0.025 { count } else { 0 };
            out.push_str(&format!(
                "http_client_request_duration_seconds_bucket{{{labels},le=\"{le:?}\"}} {c}\n"
            ));
        }
        out.push_str(&format!(
            "http_client_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n"
        ));
        out.push_str(&format!(
            "http_client_request_duration_seconds_count{{{labels}}} {count}\n"
        ));
        out.push_str(&format!(
            "http_client_request_duration_seconds_sum{{{labels}}} {}\n",
            count as f64 * 0.02
        ));
    }
    // What an OpenTelemetry SDK's gRPC server instrumentation records under the stable RPC
    // conventions: `rpc_method` as `package.Service/Method`, status names, `error_type` on the
    // server faults, and server and network labels the SDK does not set.
    out.push_str("# HELP rpc_server_call_duration_seconds Measures the duration of inbound remote procedure calls.\n# TYPE rpc_server_call_duration_seconds histogram\n");
    for (labels, count) in [
        (
            r#"network_type="ipv4",rpc_method="demo.v1.Users/Get",rpc_response_status_code="OK",rpc_system_name="grpc",server_address="0.0.0.0",server_port="50051""#,
            6 * n,
        ),
        (
            r#"network_type="ipv4",rpc_method="demo.v1.Users/Get",rpc_response_status_code="NOT_FOUND",rpc_system_name="grpc",server_address="0.0.0.0",server_port="50051""#,
            2 * n,
        ),
        (
            r#"error_type="INTERNAL",network_type="ipv4",rpc_method="demo.v1.Users/Get",rpc_response_status_code="INTERNAL",rpc_system_name="grpc",server_address="0.0.0.0",server_port="50051""#,
            n,
        ),
    ] {
        for le in obs_catalogue::HTTP_DURATION_BUCKETS {
            let c = if *le >= 0.01 { count } else { 0 };
            out.push_str(&format!(
                "rpc_server_call_duration_seconds_bucket{{{labels},le=\"{le:?}\"}} {c}\n"
            ));
        }
        out.push_str(&format!(
            "rpc_server_call_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n"
        ));
        out.push_str(&format!(
            "rpc_server_call_duration_seconds_count{{{labels}}} {count}\n"
        ));
        out.push_str(&format!(
            "rpc_server_call_duration_seconds_sum{{{labels}}} {}\n",
            count as f64 * 0.008
        ));
    }
    // And its gRPC client instrumentation: the server called, by address and port, and every
    // code but OK as `error_type`.
    out.push_str("# HELP rpc_client_call_duration_seconds Measures the duration of outbound remote procedure calls.\n# TYPE rpc_client_call_duration_seconds histogram\n");
    for (labels, count) in [
        (
            r#"network_type="ipv4",rpc_method="demo.v1.Users/Get",rpc_response_status_code="OK",rpc_system_name="grpc",server_address="users.internal",server_port="50051""#,
            3 * n,
        ),
        (
            r#"error_type="UNAVAILABLE",network_type="ipv4",rpc_method="demo.v1.Users/Get",rpc_response_status_code="UNAVAILABLE",rpc_system_name="grpc",server_address="users.internal",server_port="50051""#,
            n,
        ),
    ] {
        for le in obs_catalogue::HTTP_DURATION_BUCKETS {
            let c = if *le >= 0.025 { count } else { 0 };
            out.push_str(&format!(
                "rpc_client_call_duration_seconds_bucket{{{labels},le=\"{le:?}\"}} {c}\n"
            ));
        }
        out.push_str(&format!(
            "rpc_client_call_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {count}\n"
        ));
        out.push_str(&format!(
            "rpc_client_call_duration_seconds_count{{{labels}}} {count}\n"
        ));
        out.push_str(&format!(
            "rpc_client_call_duration_seconds_sum{{{labels}}} {}\n",
            count as f64 * 0.02
        ));
    }
    out
}

#[test]
fn the_service_overview_works_for_an_opentelemetry_sdk_service() {
    let Some(prometheus) = obs_tests::require_tool("prometheus") else {
        return;
    };
    let Some(promtool) = obs_tests::require_tool("promtool") else {
        return;
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let otel_port = listener.local_addr().unwrap().port();
    let start = Instant::now();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = [0u8; 2048];
            let _ = stream.read(&mut request);
            let body = otel_exposition(start);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let prom_port = free_port();
    let _prom = start_prometheus(
        &prometheus,
        dir.path(),
        prom_port,
        &[("otel-app", otel_port)],
    );
    let url = format!("http://127.0.0.1:{prom_port}");
    wait_for(
        &promtool,
        &url,
        "job:http_server_request_errors:ratio_rate5m{job=\"otel-app\"} > 0",
    );
    std::thread::sleep(Duration::from_secs(5));
    // The RED, route, status and saturation panels must all work; what only obs-service emits
    // (build info, process metrics) is allowed to be empty.
    let sdk_only = [
        "obs_build_info",
        "process_",
        "obs_health_check",
        "obs_exporter_dropped_total",
        "tokio_runtime_",
    ];
    let (failures, checked) =
        check_live(&promtool, &url, &["obs-service-overview"], &[], &sdk_only);
    assert!(checked > 20, "{checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The unrouted requests show up under an empty route, not lost.
    let unrouted = query(
        &promtool,
        &url,
        "instance_route_code:http_server_request_duration_seconds_count:rate5m{job=\"otel-app\", http_route=\"\", http_response_status_code=\"404\"} > 0",
    )
    .unwrap();
    assert!(
        !unrouted.trim().is_empty(),
        "unrouted OpenTelemetry requests were lost"
    );
}

#[test]
fn exporter_dashboards_and_alerts_work_against_real_exporters() {
    let tools: Vec<Option<PathBuf>> = [
        "prometheus",
        "promtool",
        "prometheus-node-exporter",
        "prometheus-postgres-exporter",
        "prometheus-redis-exporter",
    ]
    .iter()
    .map(|t| obs_tests::require_tool(t))
    .collect();
    let Some(tools) = tools.into_iter().collect::<Option<Vec<PathBuf>>>() else {
        return;
    };
    let [prometheus, promtool, node, postgres, redis] = &tools[..] else {
        unreachable!()
    };
    let dir = tempfile::tempdir().unwrap();
    let (node_port, pg_port, redis_port, prom_port) =
        (free_port(), free_port(), free_port(), free_port());
    let t = obs_mixin::Thresholds::default();

    let _node = spawn(
        node,
        &[format!("--web.listen-address=127.0.0.1:{node_port}")],
        &[],
    );
    let pg_dsn = std::env::var("OBS_TEST_PG_DSN")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres?sslmode=disable".into());
    let _pg = spawn(
        postgres,
        &[format!("--web.listen-address=127.0.0.1:{pg_port}")],
        &[("DATA_SOURCE_NAME", pg_dsn)],
    );
    let redis_addr =
        std::env::var("OBS_TEST_REDIS_ADDR").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let _redis = spawn(
        redis,
        &[
            format!("-web.listen-address=127.0.0.1:{redis_port}"),
            format!("-redis.addr={redis_addr}"),
        ],
        &[],
    );
    let targets = [
        (t.node_job.as_str(), node_port),
        (t.postgres_job.as_str(), pg_port),
        (t.redis_job.as_str(), redis_port),
    ];
    let _prom = start_prometheus(prometheus, dir.path(), prom_port, &targets);
    let url = format!("http://127.0.0.1:{prom_port}");

    // All three targets up, then long enough for 20s rate windows.
    wait_for(promtool, &url, "count(up == 1) == 3");
    std::thread::sleep(Duration::from_secs(8));
    let pg_up = query(promtool, &url, "pg_up == 1").unwrap();
    assert!(
        !pg_up.trim().is_empty(),
        "postgres-exporter cannot reach PostgreSQL"
    );
    let redis_up = query(promtool, &url, "redis_up == 1").unwrap();
    assert!(
        !redis_up.trim().is_empty(),
        "redis-exporter cannot reach Redis"
    );

    let alerts = alerts::infrastructure_alerts(&t).alerts;
    let (failures, checked) = check_live(
        promtool,
        &url,
        &["obs-infrastructure", "obs-database"],
        &alerts,
        &[],
    );
    assert!(checked > 30, "{checked}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
