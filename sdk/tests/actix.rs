//! The actix-web adapter over real HTTP, through the `actix` example (the axum demo's routes on
//! actix-web): request IDs, the access line, RED metrics with the axum layer's names, errors,
//! panics, health and the drain, hostile input; and the two adapters' metric families side by
//! side, so their names cannot drift apart.

mod common;
#[cfg(feature = "otlp")]
mod receivers;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use common::{Demo, sample};
use obs_service::catalogue;

fn actix(env: &[(&str, &str)]) -> Demo {
    Demo::start_example("actix", env)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().build().unwrap()
}

async fn metrics_text(demo: &Demo) -> String {
    let res = client().get(demo.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    res.text().await.unwrap()
}

fn header_id(res: &reqwest::Response) -> String {
    res.headers()["x-request-id"].to_str().unwrap().to_owned()
}

#[tokio::test]
async fn request_ids_are_kept_when_valid_and_replaced_when_not() {
    let demo = actix(&[]);
    let res = client()
        .get(demo.url("/users/7"))
        .header("x-request-id", "edge-abc.123")
        .send()
        .await
        .unwrap();
    assert_eq!(res.headers()["x-request-id"], "edge-abc.123");

    let evil = "x\"injected";
    let res = client()
        .get(demo.url("/users/7"))
        .header("x-request-id", evil)
        .send()
        .await
        .unwrap();
    let replaced = header_id(&res);
    assert_ne!(replaced, evil);
    assert!(catalogue::is_valid_request_id(&replaced));

    let long = "a".repeat(500);
    let res = client()
        .get(demo.url("/"))
        .header("x-request-id", &long)
        .send()
        .await
        .unwrap();
    assert_ne!(res.headers()["x-request-id"], long.as_str());
    assert!(catalogue::is_valid_request_id(&header_id(&res)));

    // Two IDs: neither is believed.
    let res = client()
        .get(demo.url("/"))
        .header("x-request-id", "first-id")
        .header("x-request-id", "second-id")
        .send()
        .await
        .unwrap();
    let made = header_id(&res);
    assert!(made != "first-id" && made != "second-id");

    let handler = demo.wait_for_line("handler line of the replaced id", |v| {
        v["request_id"] == replaced.as_str() && v["message"] == "looking up user"
    });
    assert_eq!(handler["route"], "/users/{id}");
    demo.wait_for_line("access line of the replaced id", |v| {
        v["request_id"] == replaced.as_str() && v["target"] == catalogue::ACCESS_LOG_TARGET
    });
    let all = demo.lines().join("\n");
    assert!(
        !all.contains("injected"),
        "a malformed request id reached the log"
    );
    assert!(
        !all.contains(&long),
        "a malformed request id reached the log"
    );
}

#[tokio::test]
async fn every_line_of_a_request_carries_its_id_and_one_access_line_is_written() {
    let demo = actix(&[("OBS_SERVICE_NAME", "actix-test"), ("OBS_ENV", "ci")]);
    let res = client()
        .get(demo.url("/users/42?q=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = header_id(&res);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap()["id"], 42);

    let access = demo.wait_for_line("access line", |v| {
        v["target"] == catalogue::ACCESS_LOG_TARGET && v["request_id"] == id.as_str()
    });
    assert_eq!(access["method"], "GET");
    assert_eq!(access["route"], "/users/{id}");
    assert_eq!(access["path"], "/users/42");
    assert_eq!(access["status"], 200);
    assert!(access["duration_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(access["level"], "INFO");

    // The handler's own line, with the request's ID and route at the top level.
    let handler = demo.wait_for_line("handler line", |v| v["message"] == "looking up user");
    assert_eq!(handler["request_id"], id.as_str());
    assert_eq!(handler["route"], "/users/{id}");
    assert_eq!(handler["user_id"], "42");
    for line in demo.json_lines() {
        for field in catalogue::LOG_FIELDS.iter().filter(|f| f.always) {
            assert!(
                line.get(field.name).is_some(),
                "{} missing from {line}",
                field.name
            );
        }
        assert_eq!(line["service"], "actix-test");
        assert_eq!(line["env"], "ci");
    }
    let access_lines = demo
        .json_lines()
        .into_iter()
        .filter(|v| v["target"] == catalogue::ACCESS_LOG_TARGET && v["request_id"] == id.as_str())
        .count();
    assert_eq!(access_lines, 1);

    // The SDK's own endpoints stay out of the access log.
    metrics_text(&demo).await;
    client().get(demo.url("/health/live")).send().await.unwrap();
    let last = client().get(demo.url("/")).send().await.unwrap();
    let last = header_id(&last);
    demo.wait_for_line("access line of the last request", |v| {
        v["request_id"] == last.as_str() && v["target"] == catalogue::ACCESS_LOG_TARGET
    });
    assert!(
        !demo
            .json_lines()
            .iter()
            .any(|v| v["path"] == "/metrics" || v["path"] == "/health/live")
    );
}

#[tokio::test]
async fn red_metrics_use_route_templates_and_bounded_labels() {
    let demo = actix(&[]);
    let c = client();
    for id in 0..20 {
        c.get(demo.url(&format!("/users/{id}")))
            .send()
            .await
            .unwrap();
    }
    assert_eq!(c.get(demo.url("/fail")).send().await.unwrap().status(), 500);
    let created = c
        .post(demo.url("/items"))
        .json(&serde_json::json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    c.request(
        reqwest::Method::from_bytes(b"PURGE").unwrap(),
        demo.url("/"),
    )
    .send()
    .await
    .unwrap();
    c.get(demo.url("/no/such/path")).send().await.unwrap();

    let text = metrics_text(&demo).await;
    let count = "http_server_request_duration_seconds_count";
    let route = catalogue::labels::HTTP_ROUTE;
    let method = catalogue::labels::HTTP_REQUEST_METHOD;
    let status = catalogue::labels::HTTP_RESPONSE_STATUS_CODE;
    assert_eq!(
        sample(
            &text,
            count,
            &[(route, "/users/{id}"), (method, "GET"), (status, "200")]
        ),
        Some(20.0),
        "{text}"
    );
    assert_eq!(
        sample(&text, count, &[(route, "/fail"), (status, "500")]),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &text,
            count,
            &[(route, "/items"), (method, "POST"), (status, "201")]
        ),
        Some(1.0)
    );
    assert_eq!(sample(&text, count, &[(method, "_OTHER")]), Some(1.0));
    assert_eq!(
        sample(
            &text,
            count,
            &[(route, catalogue::UNMATCHED_ROUTE), (status, "404")]
        ),
        Some(1.0)
    );
    assert!(!text.contains("/users/3"), "raw path leaked into a label");
    assert!(!text.contains("/no/such/path"));
    assert!(text.contains("# TYPE http_server_request_duration_seconds histogram"));
    assert_eq!(
        sample(
            &text,
            "http_server_active_requests",
            &[(method, "GET"), (catalogue::labels::URL_SCHEME, "http")]
        ),
        Some(1.0),
        "only the /metrics request itself is in flight"
    );
    assert!(
        sample(&text, "obs_build_info", &[("service", "actix")]).is_some(),
        "{text}"
    );
    // One single-threaded runtime per actix-web worker (as many as the machine has cores),
    // each observed: the series are their sums, written once.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
    assert_eq!(
        sample(&text, "tokio_runtime_workers", &[]),
        Some(workers as f64),
        "{text}"
    );
    assert_eq!(text.matches("# TYPE tokio_runtime_workers ").count(), 1);
}

#[tokio::test]
async fn a_flood_of_random_paths_adds_no_series() {
    let demo = actix(&[]);
    let c = client();
    c.get(demo.url("/nothing-here")).send().await.unwrap();
    let series = |text: &str| text.lines().filter(|l| !l.starts_with('#')).count();
    // The first scrape records its own /metrics series; count from the second on.
    metrics_text(&demo).await;
    let before = series(&metrics_text(&demo).await);
    for i in 0..300 {
        let path = format!("/scan/{i}/{}?q={i}", "x".repeat(i % 50));
        c.get(demo.url(&path)).send().await.unwrap();
    }
    let long_path = format!("/{}", "a%0A".repeat(2000));
    c.get(demo.url(&long_path)).send().await.unwrap();
    let after = series(&metrics_text(&demo).await);
    assert_eq!(before, after, "random paths created series");
}

#[tokio::test]
async fn hostile_paths_cannot_break_or_forge_a_log_line() {
    let demo = actix(&[]);
    let c = client();
    // Percent-encoded CR/LF and quotes, in an unmatched path and in a route's parameter.
    for path in [
        "/nothing/%0d%0a%22forged%22:%7B",
        "/users/%0d%0a%7B%22level%22:%22ERROR%22%7D",
    ] {
        let res = c.get(demo.url(path)).send().await.unwrap();
        assert_eq!(res.status(), 404);
        let id = header_id(&res);
        let access = demo.wait_for_line("access line", |v| {
            v["request_id"] == id.as_str() && v["target"] == catalogue::ACCESS_LOG_TARGET
        });
        assert_eq!(access["level"], "INFO");
    }
    // Every line is still one JSON object, none of them forged, and the service still answers.
    let lines = demo.json_lines();
    assert!(
        !lines
            .iter()
            .any(|v| v["level"] == "ERROR" || v.get("forged").is_some()),
        "{lines:#?}"
    );
    assert_eq!(c.get(demo.url("/")).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn a_client_that_goes_away_leaves_no_active_request_behind() {
    let demo = actix(&[]);
    let c = reqwest::Client::builder()
        .timeout(Duration::from_millis(100))
        .build()
        .unwrap();
    for _ in 0..5 {
        assert!(c.get(demo.url("/slow?ms=1500")).send().await.is_err());
    }
    let mut active = None;
    for _ in 0..100 {
        let text = metrics_text(&demo).await;
        active = sample(
            &text,
            "http_server_active_requests",
            &[("http_request_method", "GET")],
        );
        if active == Some(1.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(active, Some(1.0), "only the scrape itself may be in flight");
}

#[tokio::test]
async fn an_api_error_answers_the_safe_body_and_logs_the_detail() {
    let demo = actix(&[]);
    let res = client()
        .get(demo.url("/fail"))
        .header("x-request-id", "fail-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["x-request-id"], "fail-1");
    let text = res.text().await.unwrap();
    assert!(
        !text.contains("db-primary"),
        "internal detail leaked: {text}"
    );
    let body: catalogue::wire::ErrorBody = serde_json::from_str(&text).unwrap();
    assert_eq!(body.error.code, "internal");
    assert_eq!(body.error.message, "internal server error");
    assert_eq!(body.error.request_id.as_deref(), Some("fail-1"));

    let error = demo.wait_for_line("the error line", |v| {
        v["target"] == "obs::error" && v["request_id"] == "fail-1"
    });
    assert_eq!(error["level"], "ERROR");
    assert_eq!(error["status"], 500);
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("db-primary:5432 refused"),
        "{error}"
    );
    let access = demo.wait_for_line("the access line", |v| {
        v["target"] == catalogue::ACCESS_LOG_TARGET && v["request_id"] == "fail-1"
    });
    assert_eq!(access["status"], 500);
    assert_eq!(access["route"], "/fail");
}

#[tokio::test]
async fn a_panicking_handler_is_one_json_line_and_a_safe_500() {
    let demo = actix(&[]);
    let c = client();
    let res = c
        .get(demo.url("/panic"))
        .header("x-request-id", "panic-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["content-type"], "application/json");
    assert_eq!(res.headers()["x-request-id"], "panic-1");
    let text = res.text().await.unwrap();
    assert!(!text.contains("simulated panic"), "{text}");
    let body: catalogue::wire::ErrorBody = serde_json::from_str(&text).unwrap();
    assert_eq!(body.error.code, "internal");
    assert_eq!(body.error.request_id.as_deref(), Some("panic-1"));

    let panic_line = demo.wait_for_line("the panic line", |v| v["target"] == "obs::panic");
    assert_eq!(panic_line["level"], "ERROR");
    assert_eq!(panic_line["request_id"], "panic-1");
    assert_eq!(panic_line["panic"], "simulated panic in a handler");
    let access = demo.wait_for_line("the access line", |v| {
        v["target"] == catalogue::ACCESS_LOG_TARGET && v["request_id"] == "panic-1"
    });
    assert_eq!(access["status"], 500);

    // The worker keeps serving, on the same connection and on new ones.
    for _ in 0..4 {
        assert_eq!(
            c.get(demo.url("/panic")).send().await.unwrap().status(),
            500
        );
        assert_eq!(c.get(demo.url("/")).send().await.unwrap().status(), 200);
    }
    let text = metrics_text(&demo).await;
    assert_eq!(
        sample(
            &text,
            "http_server_request_duration_seconds_count",
            &[
                ("http_route", "/panic"),
                ("http_response_status_code", "500")
            ]
        ),
        Some(5.0)
    );
    // One line per panic, every line JSON.
    let lines = demo.json_lines();
    assert_eq!(
        lines.iter().filter(|v| v["target"] == "obs::panic").count(),
        5
    );
    assert!(!lines.iter().any(|v| v["message"] == "handler panicked"));
}

#[tokio::test]
async fn health_routes_answer_and_sigterm_drains_before_the_server_stops() {
    let mut demo = actix(&[("OBS_SHUTDOWN_DRAIN", "6s")]);
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let live = http.get(demo.url("/health/live")).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert_eq!(
        live.json::<serde_json::Value>().await.unwrap()["status"],
        "ok"
    );
    let ready = http.get(demo.url("/health/ready")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.headers()["content-type"], "application/json");
    let report: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(report["checks"]["disk"]["status"], "ok", "{report}");

    demo.send_sigterm();
    let started = std::time::Instant::now();
    let draining = loop {
        let r = http.get(demo.url("/health/ready")).send().await.unwrap();
        if r.status() == 503 {
            break r.json::<serde_json::Value>().await.unwrap();
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "readiness never failed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(draining["status"], "draining", "{draining}");
    // While draining, the service serves.
    assert_eq!(
        http.get(demo.url("/health/live"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        http.get(demo.url("/users/7"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert!(
        !demo
            .lines()
            .iter()
            .any(|l| l.contains("drained; no new connections")),
        "the drain window ended before the checks above"
    );
    let status = demo
        .wait_exit(Duration::from_secs(30))
        .expect("the example exits after the drain");
    assert!(status.success(), "{status}");
    let lines = demo.lines();
    let drained = lines
        .iter()
        .position(|l| l.contains("drained; no new connections"))
        .expect("the drain ended");
    let shut_down = lines
        .iter()
        .position(|l| l.contains("\"message\":\"shut down\""))
        .expect("the example logged its end");
    assert!(drained < shut_down, "{lines:#?}");
}

/// Every `http_server_*` family of a scrape: its type, and the label names of its series.
fn http_families(text: &str) -> BTreeMap<String, (String, BTreeSet<String>)> {
    let mut families = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            if name.starts_with("http_server_") {
                families.insert(name.to_owned(), (kind.to_owned(), BTreeSet::new()));
            }
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (series, _) = line.rsplit_once(' ').unwrap();
        let (name, labels) = series.split_once('{').unwrap_or((series, ""));
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| name.strip_suffix(suffix))
            .filter(|base| families.contains_key(*base))
            .unwrap_or(name);
        if let Some((_, names)) = families.get_mut(family) {
            for pair in labels.trim_end_matches('}').split("\",") {
                if let Some((label, _)) = pair.split_once('=')
                    && label != "le"
                {
                    names.insert(label.to_owned());
                }
            }
        }
    }
    families
}

#[tokio::test]
async fn the_actix_and_axum_adapters_write_the_same_families_and_labels() {
    let axum_demo = Demo::start(&[]);
    let actix_demo = actix(&[]);
    let c = client();
    let mut scrapes = Vec::new();
    for demo in [&axum_demo, &actix_demo] {
        for path in ["/", "/users/1", "/fail", "/nothing"] {
            c.get(demo.url(path)).send().await.unwrap();
        }
        c.post(demo.url("/items"))
            .json(&serde_json::json!({"name": "x"}))
            .send()
            .await
            .unwrap();
        scrapes.push(metrics_text(demo).await);
    }
    let (axum_families, actix_families) = (http_families(&scrapes[0]), http_families(&scrapes[1]));
    assert!(
        axum_families.contains_key(catalogue::HTTP_SERVER_REQUEST_DURATION.name)
            && axum_families.contains_key(catalogue::HTTP_SERVER_ACTIVE_REQUESTS.name),
        "{axum_families:#?}"
    );
    assert_eq!(actix_families, axum_families);
    // The same series for the same requests, bar the values.
    let series = |text: &str| -> BTreeSet<String> {
        text.lines()
            .filter(|l| l.starts_with("http_server_request_duration_seconds_count"))
            .map(|l| l.rsplit_once(' ').unwrap().0.to_owned())
            .collect()
    };
    assert_eq!(series(&scrapes[1]), series(&scrapes[0]));
}

#[cfg(feature = "otlp")]
#[tokio::test]
async fn the_callers_traceparent_is_continued_and_logs_carry_its_ids() {
    use receivers::{Mode, Receiver, hex, otlp_spans};
    const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
    const PARENT_ID: &str = "00f067aa0ba902b7";
    let receiver = Receiver::start(Mode::Accept);
    let demo = actix(&[("OTEL_EXPORTER_OTLP_ENDPOINT", &receiver.url())]);
    let res = client()
        .get(demo.url("/users/7"))
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_ID}-01"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let id = header_id(&res);
    let access = demo.wait_for_line("the access line", |v| {
        v["request_id"] == id.as_str() && v["target"] == catalogue::ACCESS_LOG_TARGET
    });
    let handler = demo.wait_for_line("the handler's line", |v| {
        v["request_id"] == id.as_str() && v["message"] == "looking up user"
    });
    assert!(demo.terminate());
    let requests = receiver.wait_for("the request span", |r| {
        otlp_spans(r)
            .iter()
            .any(|(_, s)| hex(&s.trace_id) == TRACE_ID)
    });
    let spans = otlp_spans(&requests);
    let (service, span) = spans
        .iter()
        .find(|(_, s)| hex(&s.trace_id) == TRACE_ID && s.name == "GET /users/{id}")
        .expect("the request span, named by the semantic conventions");
    assert_eq!(service, "actix");
    assert_eq!(hex(&span.parent_span_id), PARENT_ID);
    for line in [&access, &handler] {
        assert_eq!(line["trace_id"], TRACE_ID, "{line}");
        assert_eq!(line["span_id"], hex(&span.span_id).as_str(), "{line}");
    }
}

/// The two ways the middleware learns a route, in-process: before the handler runs (every
/// line names it), or from the answer (the histogram and the access line name it; the
/// handler's lines, written before routing is known to the middleware, do not).
#[cfg(feature = "actix")]
#[actix_web::test]
async fn the_route_comes_before_the_handler_or_from_the_answer() {
    use actix_web::dev::Service as _;
    use actix_web::{App, HttpResponse, test, web};
    use obs_service::Metrics;
    use obs_service::actix::HttpMiddleware;
    use obs_service::logging::{JsonLayer, MemoryWriter};
    use tracing_subscriber::layer::SubscriberExt;

    async fn user(id: web::Path<u32>) -> HttpResponse {
        tracing::info!(user_id = *id, "looking up user");
        HttpResponse::Ok().body("user")
    }
    async fn boom() -> HttpResponse {
        panic!("simulated panic in a handler")
    }

    for from_answer in [false, true] {
        let metrics = Metrics::new();
        let writer = MemoryWriter::new();
        let subscriber = tracing_subscriber::registry()
            .with(JsonLayer::new(writer.clone()).service("t", "test", "0"));
        let _guard = tracing::subscriber::set_default(subscriber);
        let middleware = match from_answer {
            true => HttpMiddleware::new(&metrics).route_from_answer(),
            false => HttpMiddleware::new(&metrics),
        };
        let app = test::init_service(
            App::new()
                .service(web::scope("/api").route("/users/{id}", web::get().to(user)))
                .route("/boom", web::get().to(boom))
                .wrap(middleware),
        )
        .await;
        for (path, status) in [("/api/users/7", 200), ("/nowhere", 404), ("/boom", 500)] {
            let request = test::TestRequest::get()
                .uri(path)
                .insert_header(("x-request-id", format!("req{}", path.len())))
                .to_request();
            // As actix-web's dispatcher does: an error is answered with its response.
            match app.call(request).await {
                Ok(response) => {
                    assert_eq!(response.status().as_u16(), status, "{path}");
                    // The exchange ends with the body: read it to the end.
                    test::read_body(response).await;
                }
                Err(error) => assert_eq!(error.error_response().status().as_u16(), status),
            }
        }
        let lines = writer.json_lines();
        let access = |id: &str| {
            lines
                .iter()
                .find(|l| l["target"] == catalogue::ACCESS_LOG_TARGET && l["request_id"] == id)
                .unwrap_or_else(|| panic!("no access line of {id} in {lines:?}"))
        };
        let mode = if from_answer {
            "from the answer"
        } else {
            "before"
        };
        assert_eq!(access("req12")["route"], "/api/users/{id}", "{mode}");
        assert_eq!(access("req12")["method"], "GET", "{mode}");
        assert_eq!(
            access("req8")["route"],
            catalogue::UNMATCHED_ROUTE,
            "{mode}"
        );
        let handler = lines
            .iter()
            .find(|l| l["message"] == "looking up user")
            .expect("the handler's line");
        assert_eq!(handler["request_id"], "req12", "{mode}");
        assert_eq!(handler["method"], "GET", "{mode}");
        match from_answer {
            false => assert_eq!(handler["route"], "/api/users/{id}"),
            true => assert!(handler.get("route").is_none(), "{handler}"),
        }
        // A panicking handler's request went with it: from the answer, its route is unknown.
        let panicked_route = match from_answer {
            false => "/boom",
            true => catalogue::UNMATCHED_ROUTE,
        };
        assert_eq!(access("req5")["status"], 500, "{mode}");
        assert_eq!(access("req5")["route"], panicked_route, "{mode}");
        // Each line has one `route` key at most (the access line's own and the span's agree).
        for line in &lines {
            let text = line.to_string();
            assert!(text.matches("\"route\":").count() <= 1, "{text}");
        }

        let text = metrics.render();
        let count = "http_server_request_duration_seconds_count";
        let route = catalogue::labels::HTTP_ROUTE;
        let status = catalogue::labels::HTTP_RESPONSE_STATUS_CODE;
        for (labels, n) in [
            ([(route, "/api/users/{id}"), (status, "200")], 1.0),
            ([(route, catalogue::UNMATCHED_ROUTE), (status, "404")], 1.0),
            ([(route, panicked_route), (status, "500")], 1.0),
        ] {
            assert_eq!(sample(&text, count, &labels), Some(n), "{mode}: {text}");
        }
        assert_eq!(
            sample(&text, "http_server_active_requests", &[]),
            Some(0.0),
            "{mode}: {text}"
        );
    }
}
