//! Label values for the HTTP metrics, chosen so no request can create unbounded series.

use std::sync::OnceLock;

use http::Method;

use crate::catalogue;

/// The `http_request_method` value, as its index in [`METHOD_LABELS`]: the method when
/// standard, `_OTHER` otherwise. An index, so per-method handles are kept in arrays and found
/// without comparing labels.
pub(crate) fn method_slot(method: &Method) -> usize {
    /// The index of `label`, worked out when compiling.
    const fn at(label: &str) -> usize {
        let mut i = 0;
        while i < METHOD_LABELS.len() {
            if METHOD_LABELS[i].len() == label.len() {
                let (a, b) = (METHOD_LABELS[i].as_bytes(), label.as_bytes());
                let mut j = 0;
                while j < a.len() && a[j] == b[j] {
                    j += 1;
                }
                if j == a.len() {
                    return i;
                }
            }
            i += 1;
        }
        panic!("not a method label")
    }
    match *method {
        Method::GET => const { at("GET") },
        Method::POST => const { at("POST") },
        Method::PUT => const { at("PUT") },
        Method::DELETE => const { at("DELETE") },
        Method::PATCH => const { at("PATCH") },
        Method::HEAD => const { at("HEAD") },
        Method::OPTIONS => const { at("OPTIONS") },
        Method::CONNECT => const { at("CONNECT") },
        Method::TRACE => const { at("TRACE") },
        _ => const { at(catalogue::OTHER_METHOD) },
    }
}

/// Every possible `http_request_method` value.
pub(crate) const METHOD_LABELS: [&str; 10] = [
    "CONNECT",
    "DELETE",
    "GET",
    "HEAD",
    "OPTIONS",
    "PATCH",
    "POST",
    "PUT",
    "TRACE",
    catalogue::OTHER_METHOD,
];

/// The `http_response_status_code` value, without allocating: status codes are 100..=999.
pub(crate) fn status(code: u16) -> &'static str {
    static TABLE: OnceLock<Box<[String]>> = OnceLock::new();
    let table = TABLE.get_or_init(|| (0..1000u16).map(|c| c.to_string()).collect());
    table
        .get(usize::from(code))
        .map(String::as_str)
        .unwrap_or("500")
}

/// The route template of a request, for routers other than axum's.
///
/// Insert it into the request's extensions before [`HttpLayer`](crate::HttpLayer) runs, or into the
/// response's extensions from inside the service (a hand-written router knows the route only
/// once it has matched); the layer reads both. With axum, `MatchedPath` is used automatically.
///
/// ```
/// let mut request = http::Request::new(());
/// request.extensions_mut().insert(obs_service::RouteTemplate::new("/users/{id}"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTemplate(std::sync::Arc<str>);

impl RouteTemplate {
    /// A route template such as `/users/{id}`. Never pass the raw path: every distinct value
    /// becomes a metric series.
    pub fn new(template: impl Into<std::sync::Arc<str>>) -> Self {
        Self(template.into())
    }

    /// The template.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A route template as the layer keeps it: whatever the router handed over, shared rather than
/// copied, since it is read on every request.
#[derive(Debug, Clone)]
pub(crate) enum Route {
    Template(RouteTemplate),
    #[cfg(feature = "axum")]
    Axum(axum::extract::MatchedPath),
}

impl std::ops::Deref for Route {
    type Target = str;

    fn deref(&self) -> &str {
        match self {
            Route::Template(template) => template.as_str(),
            #[cfg(feature = "axum")]
            Route::Axum(path) => path.as_str(),
        }
    }
}

/// The `http_route` value (and the span's and access line's `route`) of a request: its
/// template, or [`UNMATCHED_ROUTE`](catalogue::UNMATCHED_ROUTE) when no route matched.
pub(crate) fn route_label(route: Option<&Route>) -> &str {
    route.map_or(catalogue::UNMATCHED_ROUTE, |route| &**route)
}

/// The route of a request or response, if a router told us.
pub(crate) fn route_of(extensions: &http::Extensions) -> Option<Route> {
    if let Some(route) = extensions.get::<RouteTemplate>() {
        return Some(Route::Template(route.clone()));
    }
    #[cfg(feature = "axum")]
    if let Some(path) = extensions.get::<axum::extract::MatchedPath>() {
        return Some(Route::Axum(path.clone()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_methods_collapse() {
        let label = |m: &[u8]| METHOD_LABELS[method_slot(&Method::from_bytes(m).unwrap())];
        assert_eq!(label(b"PURGE"), "_OTHER");
        assert_eq!(label(b"get"), "_OTHER");
        assert_eq!(label(b"GET"), "GET");
        for m in catalogue::KNOWN_METHODS {
            assert_eq!(label(m.as_bytes()), *m);
        }
    }

    #[test]
    fn status_labels() {
        assert_eq!(status(200), "200");
        assert_eq!(status(599), "599");
        assert_eq!(status(101), "101");
    }
}
