//! The route an exchange matched: the value of its route label, span field and access line.

use std::sync::Arc;

use crate::catalogue;

/// The route template of a request, for routers other than axum's.
///
/// Insert it into the request's extensions before [`HttpLayer`](crate::HttpLayer) runs, or into the
/// response's extensions from inside the service (a hand-written router knows the route only
/// once it has matched); the layer reads both. With axum, `MatchedPath` is used automatically,
/// and wins over a `RouteTemplate` on the same request.
///
/// ```
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(obs_service::RouteTemplate::new("/users/{id}"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate(Arc<str>);

impl RouteTemplate {
    /// A route template such as `/users/{id}`. Never pass the raw path: every distinct value
    /// becomes a metric series.
    pub fn new(template: impl Into<Arc<str>>) -> Self {
        Self(template.into())
    }

    /// The template.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for RouteTemplate {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

/// The route label (and the span's and access line's `route`) of an exchange: its template,
/// or [`UNMATCHED_ROUTE`](catalogue::UNMATCHED_ROUTE) when no route matched, so a scan of
/// random paths adds no series.
pub(crate) fn route_label(route: Option<&RouteTemplate>) -> &str {
    route.map_or(catalogue::UNMATCHED_ROUTE, RouteTemplate::as_str)
}
