//! An audit log of mutating requests.
//!
//! [`AuditLayer`] writes one event per `POST`, `PUT`, `PATCH` and `DELETE` request, at `INFO`
//! with the target `obs::audit` ([`AUDIT_LOG_TARGET`]), once the response status is known:
//!
//! ```json
//! {"timestamp": "…", "level": "INFO", "message": "audit", "target": "obs::audit",
//!  "user_id": "u-42", "method": "DELETE", "route": "/items/{id}", "path": "/items/7",
//!  "status": 204, "client_ip": "203.0.113.9", "request_id": "0193…", …}
//! ```
//!
//! - **User**: an [`IdentifyUser`] hook the service supplies reads the request (a header set by
//!   the auth gateway, an extension set by an outer auth layer). An auth middleware or handler
//!   *inside* the audit layer can instead put an [`AuditUser`] into the response's extensions,
//!   which wins. `user_id` is left out when neither knows.
//! - **Client IP**: the peer address (axum's `ConnectInfo<SocketAddr>`, or a `SocketAddr`
//!   extension). `X-Forwarded-For` is honoured only when the peer is one of the
//!   [trusted proxies](AuditLayer::trusted_proxies): the client is then the right-most address
//!   that is not itself a trusted proxy. A client can therefore never choose the IP it is
//!   logged with. Without a known peer, `client_ip` is left out.
//! - **Route**: the route template (axum's `MatchedPath` or a
//!   [`RouteTemplate`]), `unmatched` otherwise; the raw `path` is there
//!   too, since an audit trail needs to know *which* item changed.
//!
//! Put it inside [`HttpLayer`](crate::HttpLayer) (which gives the request its ID) and outside
//! the panic layer (so a panicking handler is audited with status 500):
//!
//! ```
//! use axum::{routing::post, Router};
//! use obs_service::audit::AuditLayer;
//! use obs_service::{HttpLayer, Metrics};
//!
//! let metrics = Metrics::new();
//! let audit = AuditLayer::new()
//!     .user_id(|parts: &http::request::Parts| {
//!         parts.headers.get("x-user-id")?.to_str().ok().map(str::to_owned)
//!     })
//!     .trusted_proxies(["10.0.0.0/8", "127.0.0.1"])
//!     .expect("valid proxy addresses");
//! let app: Router = Router::new()
//!     .route("/items", post(|| async { "created" }))
//!     .layer(obs_service::panic::layer())
//!     .layer(audit)
//!     .layer(HttpLayer::new(&metrics));
//! // Serve with `app.into_make_service_with_connect_info::<std::net::SocketAddr>()` so the
//! // peer address is known.
//! ```
//!
//! # A separate audit file
//!
//! Audit events have their own target, so a per-layer filter can send them elsewhere, for
//! example to their own JSON file while the normal log leaves them out:
//!
//! ```
//! use obs_service::catalogue::AUDIT_LOG_TARGET;
//! use obs_service::logging::{JsonLayer, MemoryWriter};
//! use tracing_subscriber::filter::{filter_fn, Targets};
//! use tracing_subscriber::prelude::*;
//!
//! let (stdout, audit_file) = (MemoryWriter::new(), MemoryWriter::new()); // e.g. a rolling file
//! let subscriber = tracing_subscriber::registry()
//!     .with(JsonLayer::new(stdout.clone())
//!         .with_filter(filter_fn(|meta| meta.target() != AUDIT_LOG_TARGET)))
//!     .with(JsonLayer::new(audit_file.clone())
//!         .with_filter(Targets::new().with_target(AUDIT_LOG_TARGET, tracing::Level::INFO)));
//! tracing::subscriber::with_default(subscriber, || {
//!     tracing::info!(target: "obs::audit", user_id = "u-1", "audit");
//!     tracing::info!("business as usual");
//! });
//! assert_eq!(audit_file.json_lines().len(), 1);
//! assert_eq!(stdout.json_lines()[0]["message"], "business as usual");
//! ```

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{HeaderMap, Method, Request, Response};
use ipnet::IpNet;

use crate::catalogue::{self, AUDIT_LOG_TARGET, fields};
use crate::{RequestId, RouteTemplate};

/// Finds the user a request acts for. Implemented for closures
/// `Fn(&http::request::Parts) -> Option<String>`.
pub trait IdentifyUser: Clone + Send + Sync + 'static {
    /// The user id, if the request says.
    fn user_id(&self, request: &http::request::Parts) -> Option<String>;
}

impl<F> IdentifyUser for F
where
    F: Fn(&http::request::Parts) -> Option<String> + Clone + Send + Sync + 'static,
{
    fn user_id(&self, request: &http::request::Parts) -> Option<String> {
        self(request)
    }
}

/// The default [`IdentifyUser`]: knows nobody (only an [`AuditUser`] in the response names
/// the user).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoUser;

impl IdentifyUser for NoUser {
    fn user_id(&self, _request: &http::request::Parts) -> Option<String> {
        None
    }
}

/// The user a request acted for, as set by code *inside* the audit layer: put it into the
/// response's extensions (an auth middleware or the handler knows the user once it has checked
/// the credentials). It takes precedence over the [`IdentifyUser`] hook.
///
/// ```
/// use axum::response::IntoResponse;
/// use obs_service::audit::AuditUser;
///
/// async fn delete_item() -> axum::response::Response {
///     let mut response = http::StatusCode::NO_CONTENT.into_response();
///     response.extensions_mut().insert(AuditUser::new("u-42"));
///     response
/// }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditUser(pub String);

impl AuditUser {
    /// The user `id`.
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }
}

/// A trusted-proxy entry that is neither an IP address nor a CIDR network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("trusted proxy {0:?} is neither an IP address nor a CIDR network (10.0.0.0/8)")]
pub struct InvalidProxy(pub String);

/// The audit layer. See the [module documentation](self).
#[derive(Debug, Clone)]
pub struct AuditLayer<U = NoUser> {
    user: U,
    trusted: Arc<[IpNet]>,
}

impl Default for AuditLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl AuditLayer {
    /// Audits mutating requests; no user hook, no trusted proxies (`X-Forwarded-For` ignored).
    pub fn new() -> Self {
        Self {
            user: NoUser,
            trusted: Arc::from(Vec::new()),
        }
    }
}

impl<U> AuditLayer<U> {
    /// Finds the user with `hook` (a closure over the request's
    /// [`Parts`](http::request::Parts), or any [`IdentifyUser`]).
    pub fn user_id<V: IdentifyUser>(self, hook: V) -> AuditLayer<V> {
        AuditLayer {
            user: hook,
            trusted: self.trusted,
        }
    }

    /// The proxies whose `X-Forwarded-For` is believed: IP addresses (`10.1.2.3`, `::1`) or CIDR
    /// networks (`10.0.0.0/8`). Replaces the previous list.
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Result<Self, InvalidProxy>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut nets = Vec::new();
        for proxy in proxies {
            let text = proxy.as_ref().trim();
            let net = match text.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => text
                    .parse::<IpAddr>()
                    .map(IpNet::from)
                    .map_err(|_| InvalidProxy(text.to_owned()))?,
            };
            nets.push(net);
        }
        self.trusted = nets.into();
        Ok(self)
    }
}

impl<S, U: Clone> tower_layer::Layer<S> for AuditLayer<U> {
    type Service = Audit<S, U>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit {
            inner,
            user: self.user.clone(),
            trusted: self.trusted.clone(),
        }
    }
}

/// The service of [`AuditLayer`].
#[derive(Debug, Clone)]
pub struct Audit<S, U = NoUser> {
    inner: S,
    user: U,
    trusted: Arc<[IpNet]>,
}

/// Whether requests with `method` are audited: `POST`, `PUT`, `PATCH` and `DELETE`.
pub fn is_mutating(method: &Method) -> bool {
    matches!(
        *method,
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    )
}

impl<S, U, ReqBody, ResBody> tower_service::Service<Request<ReqBody>> for Audit<S, U>
where
    S: tower_service::Service<Request<ReqBody>, Response = Response<ResBody>>,
    U: IdentifyUser,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if !is_mutating(request.method()) {
            return ResponseFuture {
                inner: self.inner.call(request),
                pending: None,
            };
        }
        let (parts, body) = request.into_parts();
        let pending = Pending {
            user_id: self.user.user_id(&parts),
            method: parts.method.as_str().to_owned(),
            route: route_of(&parts.extensions),
            path: crate::exchange::access::truncate_path(parts.uri.path()).to_owned(),
            client_ip: client_ip(peer_of(&parts.extensions), &parts.headers, &self.trusted),
            request_id: parts
                .extensions
                .get::<RequestId>()
                .cloned()
                .or_else(RequestId::current)
                .map(|id| id.to_string()),
        };
        ResponseFuture {
            inner: self.inner.call(Request::from_parts(parts, body)),
            pending: Some(pending),
        }
    }
}

struct Pending {
    user_id: Option<String>,
    method: String,
    route: Option<String>,
    path: String,
    client_ip: Option<IpAddr>,
    request_id: Option<String>,
}

impl Pending {
    fn write(self, status: u16, user: Option<&AuditUser>) {
        let user_id = user.map(|u| u.0.clone()).or(self.user_id);
        let route = self.route.as_deref().unwrap_or(catalogue::UNMATCHED_ROUTE);
        tracing::event!(
            target: AUDIT_LOG_TARGET,
            tracing::Level::INFO,
            { fields::USER_ID } = user_id,
            { fields::METHOD } = self.method,
            { fields::ROUTE } = route,
            { fields::PATH } = self.path,
            { fields::STATUS } = status,
            { fields::CLIENT_IP } = self.client_ip.map(|ip| ip.to_string()),
            { fields::REQUEST_ID } = self.request_id,
            "audit"
        );
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`Audit`].
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        pending: Option<Pending>,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = ready!(this.inner.poll(cx));
        if let Some(pending) = this.pending.take() {
            match &result {
                Ok(response) => pending.write(
                    response.status().as_u16(),
                    response.extensions().get::<AuditUser>(),
                ),
                // No response: the connection is closed, which the client sees as a failure.
                Err(_) => pending.write(500, None),
            }
        }
        Poll::Ready(result)
    }
}

fn route_of(extensions: &http::Extensions) -> Option<String> {
    if let Some(route) = extensions.get::<RouteTemplate>() {
        return Some(route.as_str().to_owned());
    }
    #[cfg(feature = "axum")]
    if let Some(path) = extensions.get::<axum::extract::MatchedPath>() {
        return Some(path.as_str().to_owned());
    }
    None
}

fn peer_of(extensions: &http::Extensions) -> Option<IpAddr> {
    #[cfg(feature = "axum")]
    if let Some(info) = extensions.get::<axum::extract::ConnectInfo<SocketAddr>>() {
        return Some(info.0.ip());
    }
    extensions.get::<SocketAddr>().map(SocketAddr::ip)
}

/// The client address of a request that came from `peer`: `X-Forwarded-For` is read only when
/// `peer` is a trusted proxy, right to left, skipping trusted proxies; the first address that is
/// not one is the client. A malformed entry ends the walk at the last good hop.
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = peer.map(canonical)?;
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .collect();
    let mut client = peer;
    for hop in hops.iter().rev() {
        let Some(ip) = parse_hop(hop) else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    Some(client)
}

/// An `X-Forwarded-For` entry: `1.2.3.4`, `2001:db8::1`, `[2001:db8::1]:443` or `1.2.3.4:80`.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse::<IpAddr>()
        .or_else(|_| hop.parse::<SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(canonical)
}

/// IPv4-mapped IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack socket reports) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        AuditLayer::new()
            .trusted_proxies(list)
            .unwrap()
            .trusted
            .to_vec()
    }

    fn xff(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append("x-forwarded-for", v.parse().unwrap());
        }
        headers
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let trusted = nets(&["10.0.0.0/8", "192.0.2.1"]);
        let headers = xff(&["198.51.100.7"]);
        // An untrusted peer cannot choose its logged address.
        assert_eq!(
            client_ip(ip("203.0.113.5"), &headers, &trusted),
            ip("203.0.113.5")
        );
        // A trusted proxy's header names the client.
        assert_eq!(
            client_ip(ip("10.1.2.3"), &headers, &trusted),
            ip("198.51.100.7")
        );
        // Spoofed left-most entries are ignored: the right-most untrusted hop is the client.
        let chain = xff(&["1.1.1.1, 198.51.100.7", "10.9.9.9"]);
        assert_eq!(
            client_ip(ip("192.0.2.1"), &chain, &trusted),
            ip("198.51.100.7")
        );
        // All hops trusted: the left-most.
        let internal = xff(&["10.0.0.5, 10.0.0.6"]);
        assert_eq!(
            client_ip(ip("10.0.0.7"), &internal, &trusted),
            ip("10.0.0.5")
        );
        // A malformed entry stops the walk at the last good hop.
        let junk = xff(&["198.51.100.7, nonsense"]);
        assert_eq!(client_ip(ip("10.0.0.7"), &junk, &trusted), ip("10.0.0.7"));
        // No header: the peer.
        assert_eq!(
            client_ip(ip("10.0.0.7"), &HeaderMap::new(), &trusted),
            ip("10.0.0.7")
        );
        // No peer known: no address at all, whatever the header says.
        assert_eq!(client_ip(None, &headers, &trusted), None);
        // No trusted proxies: the header is ignored.
        assert_eq!(client_ip(ip("10.0.0.7"), &headers, &[]), ip("10.0.0.7"));
        // Ports and brackets, and v4-mapped peers.
        let ported = xff(&["[2001:db8::1]:443"]);
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.1"), &ported, &trusted),
            ip("2001:db8::1")
        );
    }

    #[test]
    fn proxy_lists_are_validated() {
        assert_eq!(
            AuditLayer::new()
                .trusted_proxies(["10.0.0.0/33"])
                .unwrap_err(),
            InvalidProxy("10.0.0.0/33".into())
        );
        assert!(
            AuditLayer::new()
                .trusted_proxies(["::1", " 127.0.0.1 "])
                .is_ok()
        );
    }

    #[test]
    fn only_mutating_methods_are_audited() {
        for m in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            assert!(is_mutating(&m));
        }
        for m in [Method::GET, Method::HEAD, Method::OPTIONS] {
            assert!(!is_mutating(&m));
        }
    }
}
