//! Label values of the HTTP metrics, chosen so no request can create unbounded series, and
//! the route a request matched.

use std::collections::HashMap;
use std::sync::{OnceLock, RwLock};

use http::Method;

use crate::catalogue;
use crate::exchange::RouteTemplate;
#[cfg(feature = "axum")]
use crate::slots::Slots;

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

/// The routes requests matched, as the core keeps them: [`RouteTemplate`]s, shared rather
/// than copied, since one is read on every request. One for the process ([`Routes::get`]):
/// the responses' futures find it without holding a reference of their own.
///
/// A router other than axum's hands over a `RouteTemplate` itself. axum hands every request
/// of a route a `MatchedPath` sharing one text; the template for it is found by that text's
/// address in lock-free slots (each holds a clone of the `MatchedPath`, so while it lives no
/// other text can have that address), and by the text in a map behind them. The map is
/// bounded by the router's routes: a client chooses none of its keys.
#[derive(Default)]
pub(crate) struct Routes {
    #[cfg(feature = "axum")]
    matched: Slots<(axum::extract::MatchedPath, RouteTemplate)>,
    by_text: RwLock<HashMap<Box<str>, RouteTemplate, rustc_hash::FxBuildHasher>>,
}

impl Routes {
    /// The process's routes.
    pub(crate) fn get() -> &'static Routes {
        static ROUTES: OnceLock<Routes> = OnceLock::new();
        ROUTES.get_or_init(Routes::default)
    }

    /// The route of a request or response, if a router told us: axum's `MatchedPath` first,
    /// since an axum service has one on every routed request and a failed look-up of the other
    /// would cost each of them a hash probe.
    pub(crate) fn of(&self, extensions: &http::Extensions) -> Option<RouteTemplate> {
        #[cfg(feature = "axum")]
        if let Some(path) = extensions.get::<axum::extract::MatchedPath>() {
            return Some(self.matched(path));
        }
        extensions.get::<RouteTemplate>().cloned()
    }

    #[cfg(feature = "axum")]
    fn matched(&self, path: &axum::extract::MatchedPath) -> RouteTemplate {
        let text = path.as_str();
        let slot = self.matched.slot(text.as_ptr() as usize);
        if let Some((kept, route)) = slot.get()
            && std::ptr::eq(kept.as_str(), text)
        {
            return route.clone();
        }
        let route = self.template(text);
        // The first path at a slot keeps it; the others are found in the map.
        let _ = slot.set((path.clone(), route.clone()));
        route
    }

    /// The one template of `text`: axum's nested routers and actix-web's resource map hand
    /// over a new text per request, and every exchange of a route shares one template.
    #[cfg_attr(
        not(any(feature = "axum", feature = "actix")),
        allow(
            dead_code,
            reason = "only axum's and actix-web's routes are found by their text"
        )
    )]
    pub(crate) fn template(&self, text: &str) -> RouteTemplate {
        if let Some(route) = self
            .by_text
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(text)
        {
            return route.clone();
        }
        self.by_text
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entry(text.into())
            .or_insert_with(|| RouteTemplate::new(text))
            .clone()
    }
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

    #[test]
    fn each_route_text_has_one_template() {
        let routes = Routes::default();
        let mut extensions = http::Extensions::new();
        assert!(routes.of(&extensions).is_none());
        extensions.insert(RouteTemplate::new("/given"));
        assert_eq!(routes.of(&extensions).unwrap().as_str(), "/given");
        // Texts at other addresses (as axum's nested routers make per request) share the
        // template of their text.
        let a = routes.template(&String::from("/users/{id}"));
        let b = routes.template(&String::from("/users/{id}"));
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_ne!(routes.template("/other"), a);
    }
}
