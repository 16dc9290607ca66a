use std::sync::Arc;
use std::time::SystemTime;

use tracing_core::Level;

use super::*;
use crate::catalogue::fields;
use crate::exchange::offer::{self, AccessLine, RequestSpan, RouteField};
use crate::exchange::{ACCESS_MESSAGE, SPAN_TARGET};
use crate::logging::Line;
use crate::logging::{MemoryWriter, RedactingFields};
use time::format_description::well_known::Rfc3339;
use tracing_subscriber::layer::SubscriberExt;

fn capture(f: impl FnOnce()) -> Vec<serde_json::Value> {
    let writer = MemoryWriter::new();
    let subscriber = tracing_subscriber::registry()
        .with(JsonLayer::new(writer.clone()).service("svc", "test", "1.0.0"));
    tracing::subscriber::with_default(subscriber, f);
    writer.json_lines()
}

#[test]
fn fixed_fields_are_present_and_well_formed() {
    let lines = capture(|| tracing::warn!(target: "my::target", "hello {}", 42));
    let line = &lines[0];
    assert_eq!(line["level"], "WARN");
    assert_eq!(line["message"], "hello 42");
    assert_eq!(line["target"], "my::target");
    assert_eq!(line["service"], "svc");
    assert_eq!(line["env"], "test");
    assert_eq!(line["version"], "1.0.0");
    let ts = line["timestamp"].as_str().unwrap();
    // 2026-11-23T04:43:00.123Z: RFC 3339, UTC, milliseconds.
    assert_eq!(ts.len(), 24, "{ts}");
    assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.', "{ts}");
    assert!(
        time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).is_ok()
    );
}

#[test]
fn more_callsites_than_cache_slots_each_keep_their_own_fields() {
    // 80 callsites for 64 slots: some share a slot, and each must still be rendered with
    // its own keys, found in the map.
    macro_rules! each {
        ($($name:ident)*) => {{ $( tracing::info!($name = 1, "line"); )* [$(stringify!($name)),*] }};
    }
    let mut names = Vec::new();
    let lines = capture(|| {
        for _ in 0..2 {
            names = each!(f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 f10 f11 f12 f13 f14 f15 f16 f17 f18 f19 f20 f21 f22 f23 f24 f25 f26 f27 f28 f29 f30 f31 f32 f33 f34 f35 f36 f37 f38 f39 f40 f41 f42 f43 f44 f45 f46 f47 f48 f49 f50 f51 f52 f53 f54 f55 f56 f57 f58 f59 f60 f61 f62 f63 f64 f65 f66 f67 f68 f69 f70 f71 f72 f73 f74 f75 f76 f77 f78 f79).to_vec();
        }
    });
    assert_eq!(lines.len(), 160);
    for (line, name) in lines.iter().zip(names.iter().cycle()) {
        assert_eq!(line[*name], 1, "{line}");
        let fields = line
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| k.starts_with('f'));
        assert_eq!(fields.count(), 1, "{line}");
    }
}

#[test]
fn span_fields_are_flattened_innermost_first() {
    let lines = capture(|| {
        let outer = tracing::info_span!("outer", request_id = "r1", layer = "outer");
        let _o = outer.enter();
        let inner = tracing::info_span!("inner", layer = "inner", step = tracing::field::Empty);
        let _i = inner.enter();
        inner.record("step", 3);
        tracing::info!(answer = true, "inside");
    });
    let line = &lines[0];
    assert_eq!(line["request_id"], "r1");
    assert_eq!(line["layer"], "inner");
    assert_eq!(line["step"], 3);
    assert_eq!(line["answer"], true);
    assert!(line.get("spans").is_none() && line.get("fields").is_none());
}

#[test]
fn a_callsite_mask_matches_the_redactor() {
    let writer = MemoryWriter::new();
    let layer = JsonLayer::new(writer.clone())
        .redactor(Arc::new(Redactor::default().deny("ssn").allow("token")));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        for _ in 0..2 {
            tracing::info!(customer_ssn = "123", token = "t", password = "p", "x");
        }
    });
    for line in writer.json_lines() {
        assert_eq!(line["customer_ssn"], "[REDACTED]");
        assert_eq!(line["password"], "[REDACTED]");
        assert_eq!(line["token"], "t");
    }
}

#[test]
fn fields_for_the_tracer_are_not_logged() {
    let lines = capture(|| {
        let span = tracing::info_span!(
            "request",
            request_id = "r1",
            otel.name = "GET /x",
            otel.kind = "server",
            otel.status_code = tracing::field::Empty
        );
        let _entered = span.enter();
        span.record("otel.status_code", "error");
        tracing::info!(otel.name = "ignored", kept = 1, "inside");
    });
    let line = lines[0].as_object().unwrap();
    assert_eq!(line["request_id"], "r1");
    assert_eq!(line["kept"], 1);
    assert!(line.keys().all(|k| !k.starts_with("otel.")), "{line:?}");

    let writer = MemoryWriter::new();
    let layer = tracing_subscriber::fmt::layer()
        .fmt_fields(RedactingFields::new(Arc::new(Redactor::default())))
        .with_ansi(false)
        .with_writer(writer.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        let span = tracing::info_span!("request", request_id = "r1", otel.kind = "server");
        let _entered = span.enter();
        tracing::info!("inside");
    });
    let pretty = writer.contents();
    assert!(
        pretty.contains("request_id=") && !pretty.contains("otel."),
        "{pretty}"
    );
}

#[test]
fn values_cannot_break_or_forge_a_line() {
    let evil = "x\"}\n{\"level\":\"ERROR\",\"message\":\"forged\r";
    let writer = MemoryWriter::new();
    let subscriber =
        tracing_subscriber::registry().with(JsonLayer::new(writer.clone()).service("s", "e", "v"));
    tracing::subscriber::with_default(subscriber, || {
        let span = tracing::info_span!("req", path = evil);
        let _e = span.enter();
        tracing::info!(level = evil, message_extra = evil, "{}", evil);
    });
    let text = writer.contents();
    assert_eq!(text.lines().count(), 1, "{text}");
    let line: serde_json::Value = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["message"], evil);
    assert_eq!(line["field_level"], evil);
    assert_eq!(line["path"], evil);
}

#[test]
fn sensitive_fields_are_redacted() {
    let lines = capture(|| {
        let span = tracing::info_span!("req", authorization = "Bearer abc");
        let _e = span.enter();
        tracing::info!(
            password = "hunter2",
            db_password = "x",
            user = "ann",
            "login"
        );
    });
    let line = &lines[0];
    assert_eq!(line["password"], "[REDACTED]");
    assert_eq!(line["db_password"], "[REDACTED]");
    assert_eq!(line["authorization"], "[REDACTED]");
    assert_eq!(line["user"], "ann");
    assert!(!serde_json::to_string(line).unwrap().contains("hunter2"));
}

/// A line's bytes and the instant its sink was given.
type Kept = (Vec<u8>, SystemTime);

/// Keeps what it is given, and takes only the levels it is told to.
#[derive(Clone, Default)]
struct Keep {
    lines: Arc<std::sync::Mutex<Vec<Kept>>>,
    max: Option<Level>,
}

impl LineSink for Keep {
    fn enabled(&self, metadata: &tracing_core::Metadata<'_>) -> bool {
        self.max.is_none_or(|max| *metadata.level() <= max)
    }

    fn write_line(&self, line: &Line<'_>) {
        let copy = (line.bytes().to_vec(), line.time());
        self.lines.lock().unwrap().push(copy);
    }
}

#[test]
fn every_sink_gets_the_same_bytes_and_instant() {
    let all = Keep::default();
    let errors = Keep {
        max: Some(Level::ERROR),
        ..Keep::default()
    };
    let layer = JsonLayer::for_sink(all.clone()).also(errors.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        let span = tracing::info_span!("req", request_id = "r-1");
        let _e = span.enter();
        tracing::info!("fine");
        tracing::error!(code = 7, "broken");
    });
    let all = all.lines.lock().unwrap();
    let errors = errors.lines.lock().unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0], all[1]);
    let line: serde_json::Value = serde_json::from_slice(&errors[0].0).unwrap();
    assert_eq!(line["request_id"], "r-1");
    // The timestamp field shows the instant the sinks were given.
    let millis = errors[0]
        .1
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64;
    let shown = time::OffsetDateTime::parse(line["timestamp"].as_str().unwrap(), &Rfc3339).unwrap();
    assert_eq!((shown.unix_timestamp_nanos() / 1_000_000) as i64, millis);
}

#[test]
fn a_line_no_sink_takes_is_not_rendered() {
    struct Counted(Arc<std::sync::atomic::AtomicUsize>);
    impl fmt::Debug for Counted {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            f.write_str("counted")
        }
    }
    let renders = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let errors = Keep {
        max: Some(Level::ERROR),
        ..Keep::default()
    };
    let layer = JsonLayer::for_sink(errors.clone());
    tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), || {
        tracing::info!(value = ?Counted(renders.clone()), "skipped");
        tracing::error!(value = ?Counted(renders.clone()), "kept");
    });
    assert_eq!(renders.load(std::sync::atomic::Ordering::Relaxed), 1);
    assert_eq!(errors.lines.lock().unwrap().len(), 1);
}

#[test]
fn errors_keep_their_chain() {
    #[derive(Debug)]
    struct Outer(std::io::Error);
    impl fmt::Display for Outer {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("query failed")
        }
    }
    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }
    let err = Outer(std::io::Error::other("connection reset"));
    let lines = capture(|| tracing::error!(error = &err as &dyn std::error::Error, "boom"));
    assert_eq!(lines[0]["error"], "query failed: connection reset");
}

/// What the request span and the access line look like to the JSON layer: the callsite
/// shapes of `HttpService`, with the typed values offered or not; inside an outer span
/// with trace IDs looked up, or alone without (as `init` sets the layer up), where the
/// access line is rendered directly.
fn request_lines(
    redactor: Redactor,
    values: &RequestSpan,
    (access, path): &(AccessLine, &str),
    offer: bool,
    record_route_again: bool,
    outer_span: bool,
) -> Vec<String> {
    let writer = MemoryWriter::new();
    let layer = JsonLayer::new(writer.clone())
        .service("svc", "test", "1.0.0")
        .trace_ids(outer_span)
        .redactor(Arc::new(redactor));
    let subscriber = tracing_subscriber::registry().with(layer);
    tracing::subscriber::with_default(subscriber, || {
        let outer = match outer_span {
            true => tracing::info_span!("connection", peer = "10.0.0.1", route = "outer"),
            false => tracing::Span::none(),
        };
        let _outer = outer.enter();
        let open = || {
            tracing::info_span!(
                target: SPAN_TARGET,
                "request",
                request_id = %values.id,
                method = values.method,
                route = values.route(),
                otel.status_code = tracing::field::Empty,
                sentry.trace = tracing::field::Empty,
                trace_id = values.trace_id.as_deref(),
            )
        };
        let visits = VISITS.with(std::cell::Cell::get);
        let span = match offer {
            true => offer::offering_request_span(values.clone(), open),
            false => open(),
        };
        // Offered, the values are taken and no field is visited.
        assert_eq!(VISITS.with(std::cell::Cell::get) == visits, offer);
        {
            let _entered = span.enter();
            tracing::info!(user = 7, "inside");
            if values.route_field == RouteField::Pending {
                // As the core records a route the answer named.
                let label = crate::exchange::route_label(values.route.as_ref());
                match offer {
                    true => offer::offering_late_route(values.route.clone(), || {
                        span.record("route", label);
                    }),
                    false => {
                        span.record("route", label);
                    }
                }
            }
            span.record("otel.status_code", "error");
            if record_route_again {
                span.record("route", "/again/{x}");
            }
            tracing::warn!(request_id = "forged", "inside again");
        }
        // A named status (a gRPC code) is a field of its own callsite, as in the core.
        let write = || match access.status_name {
            Some(status) => tracing::event!(
                target: crate::catalogue::ACCESS_LOG_TARGET,
                parent: &span,
                tracing::Level::INFO,
                { fields::PATH } = *path,
                { fields::STATUS } = status,
                { fields::DURATION_MS } = offer::millis(access.duration_us),
                { fields::MESSAGE } = ACCESS_MESSAGE
            ),
            None => tracing::event!(
                target: crate::catalogue::ACCESS_LOG_TARGET,
                parent: &span,
                tracing::Level::INFO,
                { fields::PATH } = *path,
                { fields::STATUS } = access.status,
                { fields::DURATION_MS } = offer::millis(access.duration_us),
                { fields::MESSAGE } = ACCESS_MESSAGE
            ),
        };
        match offer {
            true => offer::offering_access_line(*access, path, write),
            false => write(),
        }
    });
    let lines = writer.json_lines();
    if offer {
        // The typed access line is stamped with the end the core measured.
        let stamp = time::OffsetDateTime::parse(
            lines.last().unwrap()["timestamp"].as_str().unwrap(),
            &Rfc3339,
        )
        .unwrap();
        assert_eq!(
            stamp.unix_timestamp_nanos() / 1_000_000,
            access.since_epoch.as_millis() as i128
        );
    }
    // Everything but the timestamp, which may tick between the two runs.
    lines
        .into_iter()
        .map(|mut line| {
            line.as_object_mut().unwrap().remove("timestamp");
            line.to_string()
        })
        .collect()
}

#[test]
fn typed_request_values_render_the_lines_their_fields_would() {
    let id = |s: &str| crate::RequestId::parse(s).unwrap();
    let route = |s: &str| Some(crate::RouteTemplate::new(s));
    // The last field: the route comes only with the answer (the span opens without `route`,
    // which is recorded, as this route, after the first line).
    let requests = [
        (id("req-1"), "GET", route("/users/{id}"), None, false),
        (
            id("a:b.c_d-9"),
            "POST",
            None,
            Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
            false,
        ),
        (
            id("x"),
            "_OTHER",
            route("/we\"ird/\\{id}\n"),
            Some("t".to_owned()),
            false,
        ),
        (
            id("req-pending"),
            "DELETE",
            route("/late/{id}"),
            Some("4bf92f3577b34da6a3ce929d0e0e4736".to_owned()),
            true,
        ),
        (id("req-pending-2"), "GET", None, None, true),
    ];
    let accesses = [
        (
            AccessLine {
                status_name: None,
                status: 200,
                duration_us: 106,
                since_epoch: std::time::Duration::new(1_764_547_200, 123_456_789),
            },
            "/users/42",
        ),
        (
            AccessLine {
                status_name: None,
                status: 503,
                duration_us: 12_345_500,
                since_epoch: std::time::Duration::new(1_764_547_201, 999_999_999),
            },
            "",
        ),
        (
            AccessLine {
                status_name: None,
                status: 404,
                duration_us: 0,
                since_epoch: std::time::Duration::new(1_764_547_202, 0),
            },
            "/a%22b",
        ),
        (
            AccessLine {
                status_name: None,
                status: 200,
                duration_us: 86_400_000_123,
                since_epoch: std::time::Duration::new(1_764_547_203, 5_000_000),
            },
            "/long",
        ),
        // A gRPC call's: its status by name.
        (
            AccessLine {
                status_name: Some("NOT_FOUND"),
                status: 5,
                duration_us: 1_250,
                since_epoch: std::time::Duration::new(1_764_547_204, 0),
            },
            "/demo.v1.Users/Get",
        ),
    ];
    let redactors = [
        Redactor::default(),
        Redactor::default()
            .deny("route")
            .deny("path")
            .deny("status"),
        Redactor::default().deny("request_id").deny("duration_ms"),
    ];
    let mut compared = 0;
    for (id, method, route, trace_id, route_pending) in &requests {
        let values = RequestSpan {
            id: id.clone(),
            method,
            route: route.clone(),
            route_field: match route_pending {
                true => RouteField::Pending,
                false => RouteField::AtOpen,
            },
            trace_id: trace_id.clone(),
        };
        for access in &accesses {
            for (hides, redactor) in redactors.iter().enumerate() {
                for (again, outer) in [(false, true), (true, true), (false, false), (true, false)] {
                    let direct = DIRECT_ACCESS_LINES.with(std::cell::Cell::get);
                    let plain = PLAIN_ACCESS_LINES.with(std::cell::Cell::get);
                    let typed =
                        request_lines(redactor.clone(), &values, access, true, again, outer);
                    // Directly exactly when the span kept its typed values and is alone,
                    // and with the constant keys when no typed field is hidden.
                    assert_eq!(
                        DIRECT_ACCESS_LINES.with(std::cell::Cell::get) - direct,
                        usize::from(!again && !outer)
                    );
                    assert_eq!(
                        PLAIN_ACCESS_LINES.with(std::cell::Cell::get) - plain,
                        usize::from(!again && !outer && hides == 0)
                    );
                    let visited =
                        request_lines(redactor.clone(), &values, access, false, again, outer);
                    assert_eq!(typed.len(), 3);
                    assert_eq!(typed, visited, "{values:?} {access:?} {redactor:?}");
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, 300);
}

#[test]
fn typed_values_are_taken_only_by_their_callsites() {
    let values = RequestSpan {
        id: crate::RequestId::parse("req-typed").unwrap(),
        method: "GET",
        route: None,
        route_field: RouteField::AtOpen,
        trace_id: None,
    };
    let lines = capture(|| {
        // Offered while some other span is opened: it renders its own fields, and the
        // offer is gone afterwards.
        let other = offer::offering_request_span(values.clone(), || {
            tracing::info_span!("request", request_id = "req-visited")
        });
        let _entered = other.enter();
        tracing::info!("in other");
        // An access-line offer an ordinary event does not take.
        offer::offering_access_line(
            AccessLine {
                status_name: None,
                status: 500,
                duration_us: 1000,
                since_epoch: std::time::Duration::ZERO,
            },
            "/",
            || tracing::info!(status = 201, "not the access line"),
        );
    });
    assert_eq!(lines[0]["request_id"], "req-visited");
    assert_eq!(lines[1]["status"], 201);
    assert!(offer::take_request_span().is_none() && offer::take_access_line().is_none());
}
