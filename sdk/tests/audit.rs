//! The audit layer inside the full stack: one event per mutating request, the user from the hook
//! or the response, client IPs through trusted proxies only, panics audited as 500.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use http::{Request, StatusCode};
use obs_service::audit::{AuditLayer, AuditUser};
use obs_service::logging::{JsonLayer, MemoryWriter};
use obs_service::{HttpLayer, Metrics, catalogue};
use tower::ServiceExt as _;
use tracing_subscriber::layer::SubscriberExt as _;

fn app() -> Router {
    let audit = AuditLayer::new()
        .user_id(|parts: &http::request::Parts| {
            parts
                .headers
                .get("x-user-id")?
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .trusted_proxies(["10.0.0.0/8"])
        .unwrap();
    Router::new()
        .route(
            "/items",
            post(|| async { (StatusCode::CREATED, "created") }),
        )
        .route("/items", get(|| async { "list" }))
        .route(
            "/items/{id}",
            delete(|| async {
                let mut response = StatusCode::NO_CONTENT.into_response();
                response
                    .extensions_mut()
                    .insert(AuditUser::new("from-handler"));
                response
            }),
        )
        .route(
            "/crash",
            post(|| async {
                if true {
                    panic!("bug");
                }
                "unreachable"
            }),
        )
        .layer(obs_service::panic::layer())
        .layer(audit)
        .layer(HttpLayer::new(&Metrics::new()))
}

struct Sent {
    method: &'static str,
    path: &'static str,
    peer: Option<&'static str>,
    headers: &'static [(&'static str, &'static str)],
}

/// Sends each request through the app and returns the response IDs and the audit lines.
async fn run(
    requests: &[Sent],
) -> (
    Vec<(StatusCode, String)>,
    Vec<serde_json::Value>,
    MemoryWriter,
) {
    let writer = MemoryWriter::new();
    let subscriber = tracing_subscriber::registry().with(JsonLayer::new(writer.clone()));
    let _guard = tracing::subscriber::set_default(subscriber);
    let mut responses = Vec::new();
    for sent in requests {
        let mut builder = Request::builder().method(sent.method).uri(sent.path);
        for (k, v) in sent.headers {
            builder = builder.header(*k, *v);
        }
        let mut request = builder.body(Body::empty()).unwrap();
        if let Some(peer) = sent.peer {
            request
                .extensions_mut()
                .insert(ConnectInfo(peer.parse::<SocketAddr>().unwrap()));
        }
        let response = app().oneshot(request).await.unwrap();
        let id = response.headers()[catalogue::REQUEST_ID_HEADER]
            .to_str()
            .unwrap()
            .to_owned();
        responses.push((response.status(), id));
    }
    let audit = writer
        .json_lines()
        .into_iter()
        .filter(|l| l["target"] == catalogue::AUDIT_LOG_TARGET)
        .collect();
    (responses, audit, writer)
}

#[tokio::test]
async fn one_event_per_mutating_request_with_user_route_status_and_ip() {
    let (responses, audit, _) = run(&[
        Sent {
            method: "POST",
            path: "/items",
            peer: Some("203.0.113.9:40000"),
            headers: &[("x-user-id", "u-42")],
        },
        Sent {
            method: "GET",
            path: "/items",
            peer: Some("203.0.113.9:40001"),
            headers: &[("x-user-id", "u-42")],
        },
        Sent {
            method: "DELETE",
            path: "/items/7",
            peer: Some("203.0.113.9:40002"),
            headers: &[],
        },
    ])
    .await;
    assert_eq!(audit.len(), 2, "GET is not audited: {audit:#?}");

    let created = &audit[0];
    assert_eq!(created["message"], "audit");
    assert_eq!(created["level"], "INFO");
    assert_eq!(created["user_id"], "u-42");
    assert_eq!(created["method"], "POST");
    assert_eq!(created["route"], "/items");
    assert_eq!(created["path"], "/items");
    assert_eq!(created["status"], 201);
    assert_eq!(created["client_ip"], "203.0.113.9");
    assert_eq!(created["request_id"], responses[0].1.as_str());

    let deleted = &audit[1];
    assert_eq!(
        deleted["user_id"], "from-handler",
        "the response's AuditUser wins"
    );
    assert_eq!(deleted["route"], "/items/{id}");
    assert_eq!(deleted["path"], "/items/7");
    assert_eq!(deleted["status"], 204);
    assert_eq!(deleted["request_id"], responses[2].1.as_str());
}

#[tokio::test]
async fn forwarded_for_only_counts_from_a_trusted_proxy() {
    let spoof = &[("x-forwarded-for", "198.51.100.1")][..];
    let (_, audit, _) = run(&[
        // Straight from the internet, claiming another address: the peer is logged.
        Sent {
            method: "POST",
            path: "/items",
            peer: Some("203.0.113.9:1"),
            headers: spoof,
        },
        // Through the trusted load balancer: the forwarded address is logged.
        Sent {
            method: "POST",
            path: "/items",
            peer: Some("10.0.0.2:1"),
            headers: &[("x-forwarded-for", "6.6.6.6, 198.51.100.1, 10.0.0.3")],
        },
        // No peer known (no ConnectInfo): no address, whatever the header says.
        Sent {
            method: "POST",
            path: "/items",
            peer: None,
            headers: spoof,
        },
    ])
    .await;
    assert_eq!(audit[0]["client_ip"], "203.0.113.9");
    assert_eq!(audit[1]["client_ip"], "198.51.100.1");
    assert!(audit[2].get("client_ip").is_none(), "{}", audit[2]);
    assert!(audit[2].get("user_id").is_none(), "{}", audit[2]);
}

#[tokio::test]
async fn a_panicking_mutation_is_audited_as_500_and_unmatched_routes_share_one_value() {
    let (responses, audit, writer) = run(&[
        Sent {
            method: "POST",
            path: "/crash",
            peer: Some("203.0.113.9:1"),
            headers: &[("x-user-id", "u-1")],
        },
        Sent {
            method: "PUT",
            path: "/nowhere/1",
            peer: Some("203.0.113.9:1"),
            headers: &[],
        },
    ])
    .await;
    assert_eq!(responses[0].0, 500);
    assert_eq!(audit[0]["status"], 500);
    assert_eq!(audit[0]["user_id"], "u-1");
    assert_eq!(audit[0]["request_id"], responses[0].1.as_str());
    assert_eq!(audit[1]["status"], 404);
    assert_eq!(audit[1]["route"], catalogue::UNMATCHED_ROUTE);
    assert_eq!(audit[1]["path"], "/nowhere/1");
    // The audit target is its own: the access lines are separate.
    let access = writer
        .json_lines()
        .into_iter()
        .filter(|l| l["target"] == catalogue::ACCESS_LOG_TARGET)
        .count();
    assert_eq!(access, 2);
}
