//! `obs-gen doctor` against the real demo and its actix-web twin (everything passes), against deliberately broken
//! services (each problem is reported with a fix, and the exit code is 1), and against a service
//! behind TLS whose certificate a private CA made for the test issued.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use obs_tests::process::{free_port, start_demo, start_example};
use serde_json::Value;

fn doctor(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_obs-gen"))
        .arg("doctor")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn parse_checks(json: &str) -> Vec<Value> {
    let v: Value = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    v["checks"].as_array().unwrap().clone()
}

fn status_of<'a>(checks: &'a [Value], name: &str) -> &'a Value {
    checks
        .iter()
        .find(|c| c["check"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {checks:?}"))
}

#[test]
fn the_demo_passes_every_check_with_its_log_file() {
    let tmp = tempfile::tempdir().unwrap();
    let (demo, addr) = start_demo("demo", &[], None, tmp.path());
    let url = format!("http://{addr}");
    let log = demo.log_path().display().to_string();
    let (code, stdout, stderr) = doctor(&[&url, "--log-file", &log, "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let checks = parse_checks(&stdout);
    assert!(checks.len() >= 18, "{checks:?}");
    for c in &checks {
        assert_eq!(c["status"], "pass", "{c}");
    }
    // Every metric a plain SDK service always exposes was checked.
    for m in obs_catalogue::METRICS
        .iter()
        .filter(|m| obs_gen::doctor::always_exposed(m))
    {
        status_of(&checks, &format!("metric {}", m.name));
    }
    // The table for people.
    let (code, stdout, _) = doctor(&[&url]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("ok    metric http_server_request_duration_seconds"),
        "{stdout}"
    );
    assert!(stdout.contains("skip  logs"), "{stdout}");
    assert!(stdout.contains("checks passed"), "{stdout}");
    assert!(
        !stdout.contains("error body"),
        "a 200 has no error body: {stdout}"
    );

    // A failing route: its answer is read as the SDK's error body.
    error_body_check(
        &url,
        0,
        "pass",
        "500 internal: code, message and the request_id sent",
    );
}

/// Runs the doctor against `url/fail` and checks its exit code and its "error body" finding.
#[test]
fn the_actix_example_passes_every_check_with_its_log_file() {
    // The same SDK on actix-web: the doctor knows no framework, only what the service exposes.
    let tmp = tempfile::tempdir().unwrap();
    let (actix, addr) = start_example("actix", "actix", &[], None, tmp.path());
    let url = format!("http://{addr}");
    let log = actix.log_path().display().to_string();
    let (code, stdout, stderr) = doctor(&[&url, "--log-file", &log, "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let checks = parse_checks(&stdout);
    for c in &checks {
        assert_eq!(c["status"], "pass", "{c}");
    }
    for m in obs_catalogue::METRICS
        .iter()
        .filter(|m| obs_gen::doctor::always_exposed(m))
    {
        status_of(&checks, &format!("metric {}", m.name));
    }
    error_body_check(
        &url,
        0,
        "pass",
        "500 internal: code, message and the request_id sent",
    );
}

fn error_body_check(url: &str, code: i32, status: &str, detail: &str) {
    let (got, stdout, _) = doctor(&[&format!("{url}/fail"), "--json", "--timeout", "1"]);
    assert_eq!(got, code, "{stdout}");
    let body = status_of(&parse_checks(&stdout), "error body").clone();
    assert_eq!(body["status"], status, "{body}");
    assert!(body["detail"].as_str().unwrap().contains(detail), "{body}");
}

#[test]
fn the_demo_passes_with_its_stdout_piped_in() {
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let mut demo = Command::new(obs_tests::process::demo_binary())
        .env("DEMO_ADDR", &addr)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = demo.stdout.take().unwrap();
    for _ in 0..200 {
        if std::net::TcpStream::connect(&addr).is_ok() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = Command::new(env!("CARGO_BIN_EXE_obs-gen"))
        .args([
            "doctor",
            &format!("http://{addr}/users/7"),
            "--log-file",
            "-",
            "--json",
        ])
        .stdin(Stdio::from(stdout))
        .output()
        .unwrap();
    let _ = demo.kill();
    let _ = demo.wait();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let checks = parse_checks(&text);
    assert_eq!(status_of(&checks, "log request_id")["status"], "pass");
    assert_eq!(status_of(&checks, "log fields")["status"], "pass");
}

/// A service that gets observability wrong in many ways at once.
fn broken_service(metrics: &'static str) -> String {
    use axum::routing::get;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let app = axum::Router::new()
                .route("/", get(|| async { "hello" }))
                .route("/metrics", get(move || async move { metrics }))
                .route("/health/live", get(|| async { "OK" }))
                .route(
                    "/fail",
                    get(|| async {
                        (
                            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                            r#"{"error":{"code":"internal","msg":"boom"}}"#,
                        )
                    }),
                )
                .route(
                    "/health/ready",
                    get(|| async {
                        r#"{"status":"down","timestamp":"2026-01-01T00:00:00Z","version":"1","uptime_seconds":3,"checks":{"db":{"status":"down","critical":true,"latency_ms":1.5}}}"#
                    }),
                );
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}")
}

/// The latency metric as a summary (what metrics-exporter-prometheus renders without buckets),
/// the active-requests gauge without `url_scheme`, no `process_*`, no build information.
const SUMMARY_METRICS: &str = "\
# TYPE http_server_request_duration_seconds summary
http_server_request_duration_seconds{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",quantile=\"0.5\"} 0.001
http_server_request_duration_seconds_sum{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 0.001
http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 1
# TYPE http_server_active_requests gauge
http_server_active_requests{http_request_method=\"GET\"} 0
";

/// A histogram with buckets other than the catalogue's.
const WRONG_BUCKETS: &str = "\
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",le=\"0.1\"} 1
http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",le=\"1\"} 1
http_server_request_duration_seconds_bucket{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\",le=\"+Inf\"} 1
http_server_request_duration_seconds_sum{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 0.001
http_server_request_duration_seconds_count{http_request_method=\"GET\",http_route=\"/\",http_response_status_code=\"200\"} 1
# TYPE process_cpu_seconds_total gauge
process_cpu_seconds_total 1
";

#[test]
fn a_broken_service_gets_every_problem_reported_with_a_fix() {
    let url = broken_service(SUMMARY_METRICS);
    let tmp = tempfile::tempdir().unwrap();
    let log = tmp.path().join("app.log");
    std::fs::write(
        &log,
        "starting up\n{\"msg\":\"plain tracing JSON\",\"lvl\":\"info\"}\n",
    )
    .unwrap();
    let log = log.display().to_string();
    let (code, stdout, stderr) = doctor(&[&url, "--log-file", &log, "--json", "--timeout", "1"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let checks = parse_checks(&stdout);
    let expect = [
        ("request id", "without x-request-id"),
        (
            "metric http_server_request_duration_seconds",
            "TYPE summary, expected histogram",
        ),
        (
            "metric http_server_active_requests",
            "lacks the label(s) url_scheme",
        ),
        ("metric obs_build_info", "missing from /metrics"),
        ("metric process_cpu_seconds_total", "missing from /metrics"),
        ("health live", "not JSON"),
        ("health ready", "status down answered with 200"),
        (
            "log lines are JSON",
            "1 of 2 lines are not JSON objects (line 1: starting up)",
        ),
        ("log fields", "missing timestamp"),
        ("log request_id", "no line with request_id"),
    ];
    for (name, detail) in expect {
        let c = status_of(&checks, name);
        assert_eq!(c["status"], "fail", "{c}");
        assert!(
            c["detail"].as_str().unwrap().contains(detail),
            "{name}: {c}"
        );
        assert!(
            !c["fix"].as_str().unwrap_or("").is_empty(),
            "{name} has a fix: {c}"
        );
    }
    assert!(
        status_of(&checks, "metric http_server_request_duration_seconds")["fix"]
            .as_str()
            .unwrap()
            .contains("histogram")
    );
    // The table: one line per failure, each with its fix.
    let (code, table, stderr) = doctor(&[&url, "--log-file", &log, "--timeout", "1"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("check(s) failed"), "{stderr}");
    let failed = checks.iter().filter(|c| c["status"] == "fail").count();
    let rows = table.lines().filter(|l| l.starts_with("FAIL  ")).count();
    let fixes = table
        .lines()
        .filter(|l| l.starts_with("FAIL ") && l.contains(". Fix: "))
        .count();
    assert_eq!((rows, fixes), (failed, failed), "{table}");
}

#[test]
fn wrong_buckets_wrong_types_and_no_service_are_reported() {
    let url = broken_service(WRONG_BUCKETS);
    let (code, stdout, _) = doctor(&[&url, "--json", "--timeout", "1"]);
    assert_eq!(code, 1, "{stdout}");
    let checks = parse_checks(&stdout);
    let h = status_of(&checks, "metric http_server_request_duration_seconds");
    assert_eq!(h["status"], "fail");
    assert!(
        h["detail"]
            .as_str()
            .unwrap()
            .contains("buckets le=0.1,1,+Inf instead of 0.005,0.01,"),
        "{h}"
    );
    let cpu = status_of(&checks, "metric process_cpu_seconds_total");
    assert!(
        cpu["detail"]
            .as_str()
            .unwrap()
            .contains("TYPE gauge, expected counter"),
        "{cpu}"
    );

    // An error answer that is not the SDK's error body.
    error_body_check(
        &url,
        1,
        "fail",
        "not the SDK's error body (missing field `message`",
    );

    // Nothing listening.
    let (code, stdout, _) = doctor(&[&format!("http://127.0.0.1:{}", free_port()), "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let checks = parse_checks(&stdout);
    let r = status_of(&checks, "request id");
    assert!(
        r["detail"].as_str().unwrap().contains("cannot connect"),
        "{r}"
    );
    // And a URL the doctor cannot use (not https://, which it now speaks).
    let (code, stdout, _) = doctor(&["ftp://example.com", "--json"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        status_of(&parse_checks(&stdout), "service URL")["detail"]
            .as_str()
            .unwrap()
            .contains("not an http:// or https:// URL"),
        "{stdout}"
    );
}

/// A private CA and a certificate it issued for 127.0.0.1 and localhost, made for one test.
struct Pki {
    /// The CA's certificate as PEM: what `--cacert` is given.
    ca_pem: String,
    leaf: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
}

use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose,
        IsCa, KeyPair, KeyUsagePurpose,
    };
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(DnType::CommonName, "obs doctor test CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate().unwrap()).unwrap();
    // rcgen reads "127.0.0.1" as an IP address, "localhost" as a DNS name.
    let mut leaf =
        CertificateParams::new(["127.0.0.1".to_string(), "localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let key = KeyPair::generate().unwrap();
    let cert = leaf.signed_by(&key, &ca).unwrap();
    Pki {
        ca_pem: ca.pem(),
        leaf: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    }
}

/// A self-signed certificate for 127.0.0.1 (its own CA for `--cacert`); with `ca`, one marked
/// as a CA, as OpenSSL's `req -x509` makes them.
fn self_signed(ca: bool) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    let mut params = CertificateParams::new(["127.0.0.1".to_string()]).unwrap();
    if ca {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    }
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    Pki {
        ca_pem: cert.pem(),
        leaf: cert.der().clone(),
        key: PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    }
}

/// axum's listener for TLS: each accepted connection is a finished handshake. A client that
/// refuses the certificate ends its handshake, and the listener waits for the next one.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    tls: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = std::net::SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            let handshake = tokio::time::timeout(Duration::from_secs(5), self.tls.accept(tcp));
            if let Ok(Ok(tls)) = handshake.await {
                return (tls, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// The Authorization header of `ops-user:s3cret-pw`, which [`sdk_like_service`] may require.
const BASIC_AUTH: &str = "Basic b3BzLXVzZXI6czNjcmV0LXB3";

/// What the doctor checks of the SDK, served by hand over HTTPS: the request ID sent back,
/// `metrics` on `/metrics`, the health answers; `/moved` redirects to `/`, `/loop` to itself,
/// `/slow` answers after three seconds. With `auth`, every request needs [`BASIC_AUTH`].
fn sdk_like_service(pki: &Pki, metrics: String, auth: bool) -> String {
    use axum::http::{HeaderMap, StatusCode, header};
    use axum::response::{IntoResponse, Redirect};
    use axum::routing::get;
    use tokio_rustls::rustls;

    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![pki.leaf.clone()], pki.key.clone_key())
    .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    let live = r#"{"status":"ok","timestamp":"2026-01-01T00:00:00.000Z","version":"1","uptime_seconds":3}"#;
    let ready = r#"{"status":"ok","timestamp":"2026-01-01T00:00:00.000Z","version":"1","uptime_seconds":3,"checks":{}}"#;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let echo_id = |headers: HeaderMap| async move {
                let id = headers.get(obs_catalogue::REQUEST_ID_HEADER).cloned();
                (
                    id.map(|id| [(obs_catalogue::REQUEST_ID_HEADER, id)]),
                    "hello",
                )
            };
            let app = axum::Router::new()
                .route("/", get(echo_id))
                .route("/moved", get(|| async { Redirect::to("/") }))
                .route("/loop", get(|| async { Redirect::to("/loop") }))
                .route(
                    "/slow",
                    get(move |headers: HeaderMap| async move {
                        tokio::time::sleep(Duration::from_secs(3)).await;
                        echo_id(headers).await
                    }),
                )
                .route("/metrics", get(move || async move { metrics }))
                .route("/health/live", get(move || async move { live }))
                .route("/health/ready", get(move || async move { ready }))
                .route("/health", get(move || async move { ready }))
                .layer(axum::middleware::from_fn(
                    move |req: axum::extract::Request, next: axum::middleware::Next| async move {
                        let given = req.headers().get(header::AUTHORIZATION);
                        if auth && given.is_none_or(|v| v != BASIC_AUTH) {
                            return StatusCode::UNAUTHORIZED.into_response();
                        }
                        next.run(req).await
                    },
                ));
            let listener = TlsListener {
                tcp: tokio::net::TcpListener::from_std(listener).unwrap(),
                tls: tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
            };
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("https://{addr}")
}

/// `/metrics` as the SDK renders it: every metric a plain SDK service always exposes, with
/// its type, help, labels and (for the histogram) the catalogue's buckets.
fn sdk_metrics() -> String {
    use obs_catalogue::MetricKind;
    let mut out = String::new();
    for m in obs_catalogue::METRICS
        .iter()
        .filter(|m| obs_gen::doctor::always_exposed(m))
    {
        let kind = match m.kind {
            MetricKind::Counter => "counter",
            MetricKind::Gauge => "gauge",
            MetricKind::Histogram => "histogram",
        };
        let help = m.help.replace('\\', "\\\\").replace('\n', "\\n");
        out.push_str(&format!(
            "# HELP {} {help}\n# TYPE {} {kind}\n",
            m.name, m.name
        ));
        let labels: Vec<String> = m.labels.iter().map(|l| format!("{l}=\"x\"")).collect();
        let series = |name: String, extra: Option<String>| {
            let all: Vec<String> = labels.iter().cloned().chain(extra).collect();
            format!("{name}{{{}}} 1\n", all.join(","))
        };
        if m.kind == MetricKind::Histogram {
            let bounds = m.buckets.unwrap().iter().map(f64::to_string);
            for le in bounds.chain(["+Inf".to_string()]) {
                out.push_str(&series(
                    format!("{}_bucket", m.name),
                    Some(format!("le=\"{le}\"")),
                ));
            }
            out.push_str(&series(format!("{}_sum", m.name), None));
            out.push_str(&series(format!("{}_count", m.name), None));
        } else {
            out.push_str(&series(m.name.to_string(), None));
        }
    }
    out
}

/// Writes the CA of `pki` where `--cacert` can read it.
fn ca_file(pki: &Pki, dir: &std::path::Path) -> String {
    let path = dir.join("ca.pem");
    std::fs::write(&path, &pki.ca_pem).unwrap();
    path.display().to_string()
}

#[test]
fn https_with_a_private_ca_passes_with_cacert_and_fails_clearly_without() {
    let pki = pki();
    let url = sdk_like_service(&pki, sdk_metrics(), false);
    let tmp = tempfile::tempdir().unwrap();
    let ca = ca_file(&pki, tmp.path());

    let (code, stdout, stderr) = doctor(&[&url, "--cacert", &ca, "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let checks = parse_checks(&stdout);
    for c in checks.iter().filter(|c| c["check"] != "logs") {
        assert_eq!(c["status"], "pass", "{c}");
    }
    // The certificate names localhost too.
    let port = url.rsplit(':').next().unwrap();
    let (code, stdout, _) = doctor(&[&format!("https://localhost:{port}"), "--cacert", &ca]);
    assert_eq!(code, 0, "{stdout}");

    // Without the CA: unreachable as far as the doctor goes, with one line saying why.
    let (code, stdout, stderr) = doctor(&[&url, "--json"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let checks = parse_checks(&stdout);
    let r = status_of(&checks, "request id");
    let detail = r["detail"].as_str().unwrap();
    assert!(
        detail.contains(&format!("{url}: certificate not trusted"))
            && detail.contains("UnknownIssuer: no trusted CA issued it"),
        "{r}"
    );
    assert!(r["fix"].as_str().unwrap().contains("--cacert"), "{r}");
    assert_eq!(status_of(&checks, "health")["status"], "skip");
    let (code, table, _) = doctor(&[&url]);
    assert_eq!(code, 1);
    let line = table
        .lines()
        .find(|l| l.starts_with("FAIL request id: "))
        .unwrap_or_else(|| panic!("{table}"));
    assert!(
        line.contains("certificate not trusted") && line.contains(". Fix: pass the CA"),
        "{line}"
    );
}

#[test]
fn a_self_signed_certificate_is_trusted_with_cacert_only() {
    let tmp = tempfile::tempdir().unwrap();
    let pki = self_signed(false);
    let url = sdk_like_service(&pki, sdk_metrics(), false);
    let ca = ca_file(&pki, tmp.path());
    let (code, stdout, _) = doctor(&[&url, "--cacert", &ca]);
    assert_eq!(code, 0, "{stdout}");
    let (code, stdout, _) = doctor(&[&url, "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let r = status_of(&parse_checks(&stdout), "request id").clone();
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("{url}: certificate not trusted (UnknownIssuer")),
        "{r}"
    );

    // One that says it is a CA, which rustls refuses as a server's own even when trusted:
    // the message says so and what to serve instead.
    let pki = self_signed(true);
    let url = sdk_like_service(&pki, sdk_metrics(), false);
    let ca = ca_file(&pki, tmp.path());
    let (code, stdout, _) = doctor(&[&url, "--cacert", &ca, "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let r = status_of(&parse_checks(&stdout), "request id").clone();
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("certificate not trusted (CaUsedAsEndEntity: the server presents a CA certificate as its own"),
        "{r}"
    );
}

#[test]
fn a_cacert_that_is_no_certificate_is_bad_input_naming_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key.pem");
    std::fs::write(&key, rcgen::KeyPair::generate().unwrap().serialize_pem()).unwrap();
    let missing = tmp.path().join("missing.pem");
    for file in [&key, &missing] {
        let file = file.display().to_string();
        let (code, stdout, stderr) = doctor(&["https://127.0.0.1:1", "--cacert", &file]);
        assert_eq!(code, 2, "{stdout}{stderr}");
        assert!(stdout.is_empty(), "no report: {stdout}");
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(&format!("--cacert {file}: ")), "{stderr}");
    }
}

#[test]
fn a_line_prometheus_refuses_is_named() {
    let pki = pki();
    let tmp = tempfile::tempdir().unwrap();
    let ca = ca_file(&pki, tmp.path());
    let bad = "http_server_active_requests{http_request_method=\"GET\",http_request_method=\"POST\",url_scheme=\"https\"} 0";
    let metrics = format!("# TYPE up gauge\nup 1\n{bad}\n{}", sdk_metrics());
    let url = sdk_like_service(&pki, metrics, false);
    let (code, stdout, _) = doctor(&[&url, "--cacert", &ca, "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let checks = parse_checks(&stdout);
    let m = status_of(&checks, "metrics endpoint");
    assert_eq!(m["status"], "fail", "{m}");
    let detail = m["detail"].as_str().unwrap();
    let shown: String = bad.chars().take(100).collect();
    assert!(
        detail.contains("line 3: duplicate label names") && detail.contains(&format!("{shown}…")),
        "{m}"
    );
    assert_eq!(status_of(&checks, "metrics")["status"], "skip");
    // The other checks still ran.
    assert_eq!(status_of(&checks, "health live")["status"], "pass");
}

#[test]
fn credentials_in_the_url_are_used_and_never_printed() {
    let pki = pki();
    let tmp = tempfile::tempdir().unwrap();
    let ca = ca_file(&pki, tmp.path());
    let url = sdk_like_service(&pki, sdk_metrics(), true);
    let with_creds = url.replace("https://", "https://ops-user:s3cret-pw@");
    let secret = |out: &str| out.contains("s3cret") || out.contains("ops-user");

    // Used: the service answers 401 without them.
    let (code, stdout, stderr) = doctor(&[&url, "--cacert", &ca, "--json"]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    let (code, stdout, stderr) = doctor(&[&with_creds, "--cacert", &ca, "--json"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(!secret(&stdout) && !secret(&stderr), "{stdout}{stderr}");
    // Shown in the form the url crate writes, with the root path.
    let shown = url.replace("https://", "https://***@") + "/";
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()["url"],
        shown.as_str()
    );

    // Nor in failures: the table, an untrusted certificate, a redirect loop, a URL that does
    // not parse, nothing listening.
    let closed = format!("http://ops-user:s3cret-pw@127.0.0.1:{}", free_port());
    for args in [
        vec![
            with_creds.clone(),
            "--cacert".into(),
            ca.clone(),
            "--log-file".into(),
            "-".into(),
            "--timeout".into(),
            "1".into(),
        ],
        vec![with_creds.clone()],
        vec![format!("{with_creds}/loop"), "--cacert".into(), ca.clone()],
        vec!["https://ops-user:s3cret-pw/x@127.0.0.1:1/".into()],
        vec![closed],
    ] {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let (code, stdout, stderr) = doctor(&args);
        assert_eq!(code, 1, "{args:?}: {stdout}{stderr}");
        assert!(
            !secret(&stdout) && !secret(&stderr),
            "{args:?}: {stdout}{stderr}"
        );
        assert!(stdout.contains("***@"), "{args:?}: {stdout}");
    }
}

#[test]
fn redirects_are_followed_a_few_times_and_requests_time_out() {
    let pki = pki();
    let tmp = tempfile::tempdir().unwrap();
    let ca = ca_file(&pki, tmp.path());
    let url = sdk_like_service(&pki, sdk_metrics(), false);

    // /moved answers with a redirect to /, which sends the request ID back.
    let (code, stdout, _) = doctor(&[&format!("{url}/moved"), "--cacert", &ca, "--json"]);
    assert_eq!(code, 0, "{stdout}");
    // /loop never ends.
    let (code, stdout, _) = doctor(&[&format!("{url}/loop"), "--cacert", &ca, "--json"]);
    assert_eq!(code, 1, "{stdout}");
    let r = status_of(&parse_checks(&stdout), "request id").clone();
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("more than 5 redirects"),
        "{r}"
    );

    // /slow answers after 3 s, past --timeout 1.
    let started = std::time::Instant::now();
    let (code, stdout, _) = doctor(&[
        &format!("{url}/slow"),
        "--cacert",
        &ca,
        "--json",
        "--timeout",
        "1",
    ]);
    assert_eq!(code, 1, "{stdout}");
    let r = status_of(&parse_checks(&stdout), "request id").clone();
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains("no complete answer within 1s"),
        "{r}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A port that accepts connections and never answers the TLS handshake: the connect
    // timeout, not the total one.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_url = format!("https://{}", silent.local_addr().unwrap());
    let started = std::time::Instant::now();
    let (code, stdout, _) = doctor(&[
        &silent_url,
        "--json",
        "--connect-timeout",
        "1",
        "--timeout",
        "10",
    ]);
    assert_eq!(code, 1, "{stdout}");
    let r = status_of(&parse_checks(&stdout), "request id").clone();
    assert!(
        r["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("cannot connect to {silent_url} within 1s")),
        "{r}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(silent);
}

/// What the SDK's gRPC layer exposes beside the HTTP metrics: `error_type` on the server
/// faults alone.
fn grpc_metrics(buckets: &[&str]) -> String {
    let mut out = sdk_metrics();
    out.push_str("# TYPE rpc_server_call_duration_seconds histogram\n");
    for (labels, count) in [
        (
            r#"rpc_system_name="grpc",rpc_method="demo.v1.Users/Get",rpc_response_status_code="OK""#,
            3,
        ),
        (
            r#"rpc_system_name="grpc",rpc_method="demo.v1.Users/Get",rpc_response_status_code="INTERNAL",error_type="INTERNAL""#,
            1,
        ),
    ] {
        for le in buckets.iter().chain(&["+Inf"]) {
            out.push_str(&format!(
                "rpc_server_call_duration_seconds_bucket{{{labels},le=\"{le}\"}} {count}\n"
            ));
        }
        out.push_str(&format!(
            "rpc_server_call_duration_seconds_sum{{{labels}}} 0.01\nrpc_server_call_duration_seconds_count{{{labels}}} {count}\n"
        ));
    }
    out
}

#[test]
fn a_grpc_services_call_metrics_are_checked_when_exposed() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let buckets: Vec<String> = obs_catalogue::HTTP_DURATION_BUCKETS
        .iter()
        .map(|b| b.to_string())
        .collect();
    let buckets: Vec<&str> = buckets.iter().map(String::as_str).collect();
    let good = sdk_like_service(&pki, grpc_metrics(&buckets), false);
    let (_, stdout, _) = doctor(&[&good, "--json", "--cacert", &ca_file(&pki, dir.path())]);
    let checks = parse_checks(&stdout);
    let grpc = status_of(&checks, "metric rpc_server_call_duration_seconds");
    assert_eq!(grpc["status"], "pass", "{grpc}");

    let wrong = sdk_like_service(&pki, grpc_metrics(&["0.1", "1"]), false);
    let (code, stdout, _) = doctor(&[&wrong, "--json", "--cacert", &ca_file(&pki, dir.path())]);
    assert_eq!(code, 1, "{stdout}");
    let checks = parse_checks(&stdout);
    let grpc = status_of(&checks, "metric rpc_server_call_duration_seconds");
    assert_eq!(grpc["status"], "fail", "{grpc}");
    assert!(
        grpc["detail"]
            .as_str()
            .unwrap()
            .contains("buckets le=0.1,1,+Inf"),
        "{grpc}"
    );

    // A service without gRPC has nothing of it to check.
    let plain = sdk_like_service(&pki, sdk_metrics(), false);
    let (_, stdout, _) = doctor(&[&plain, "--json", "--cacert", &ca_file(&pki, dir.path())]);
    let checks = parse_checks(&stdout);
    assert!(
        !checks
            .iter()
            .any(|c| c["check"] == "metric rpc_server_call_duration_seconds"),
        "{stdout}"
    );
}
