//! The RPC methods a server serves: the values `rpc_method` may take.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

use super::Code;
use crate::catalogue;
use crate::exchange::RouteTemplate;

/// Most methods kept with a label of their own: far more than a server serves, so it only
/// bounds the series of a server whose handlers answer paths tonic does not route (a proxy).
const MAX_METHODS: usize = 1024;

/// The methods calls were answered for, and the services the user listed.
///
/// A method is known once a call to it was answered with anything but `UNIMPLEMENTED`: tonic
/// answers `UNIMPLEMENTED` for every path it does not route, so a client cannot make up a
/// known method. Listed services narrow it further: only their methods can be known.
#[derive(Clone, Default)]
pub(crate) struct Methods {
    services: Vec<Box<str>>,
    /// By the method's path without its leading `/`; shared by the layer's clones.
    known: Arc<RwLock<HashMap<Box<str>, RouteTemplate, rustc_hash::FxBuildHasher>>>,
}

impl std::fmt::Debug for Methods {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Methods")
            .field("services", &self.services)
            .finish_non_exhaustive()
    }
}

/// The one `_OTHER` template, shared so its series is found by address.
pub(crate) fn other() -> RouteTemplate {
    static OTHER: OnceLock<RouteTemplate> = OnceLock::new();
    OTHER
        .get_or_init(|| RouteTemplate::new(catalogue::OTHER_METHOD))
        .clone()
}

/// `package.Service/Method` of a path `/package.Service/Method`, split at its `/`; `None`
/// for any other shape.
fn split(path: &str) -> Option<(&str, &str)> {
    let (service, method) = path.strip_prefix('/')?.split_once('/')?;
    (!service.is_empty() && !method.is_empty() && !method.contains('/'))
        .then_some((service, method))
}

impl Methods {
    /// These methods, and those of the service `name`.
    pub(crate) fn with_service(&self, name: String) -> Self {
        let mut services = self.services.clone();
        if !services.iter().any(|s| **s == *name) {
            services.push(name.into());
        }
        Self {
            services,
            known: self.known.clone(),
        }
    }

    /// The method of `path`, if it is known already.
    pub(crate) fn known(&self, path: &str) -> Option<RouteTemplate> {
        let name = path.strip_prefix('/')?;
        self.known
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// The `rpc_method` of a call to `path` answered with `code`: the method once it is known
    /// to be served, `_OTHER` otherwise.
    pub(crate) fn resolve(&self, path: &str, code: Code) -> RouteTemplate {
        if let Some(known) = self.known(path) {
            return known;
        }
        let Some((service, _)) = split(path) else {
            return other();
        };
        if code == Code::Unimplemented
            || (!self.services.is_empty() && !self.services.iter().any(|s| **s == *service))
        {
            return other();
        }
        let name = &path[1..];
        let mut known = self.known.write().unwrap_or_else(|e| e.into_inner());
        if known.len() >= MAX_METHODS && !known.contains_key(name) {
            return other();
        }
        known
            .entry(name.into())
            .or_insert_with(|| RouteTemplate::new(name))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_method_is_known_once_answered() {
        let methods = Methods::default();
        assert!(methods.known("/demo.v1.Users/Get").is_none());
        assert_eq!(
            methods
                .resolve("/demo.v1.Users/Get", Code::Unimplemented)
                .as_str(),
            "_OTHER"
        );
        assert!(methods.known("/demo.v1.Users/Get").is_none());
        let get = methods.resolve("/demo.v1.Users/Get", Code::NotFound);
        assert_eq!(get.as_str(), "demo.v1.Users/Get");
        // Known now, whatever the answer.
        assert_eq!(methods.known("/demo.v1.Users/Get"), Some(get.clone()));
        assert_eq!(
            methods.resolve("/demo.v1.Users/Get", Code::Unimplemented),
            get
        );
    }

    #[test]
    fn paths_of_other_shapes_and_unlisted_services_are_other() {
        let methods = Methods::default().with_service("demo.v1.Users".into());
        for path in [
            "/",
            "//x",
            "/a/",
            "/a/b/c",
            "no-slash",
            "/demo.v1.Other/Get",
        ] {
            assert_eq!(methods.resolve(path, Code::Ok).as_str(), "_OTHER", "{path}");
        }
        assert_eq!(
            methods.resolve("/demo.v1.Users/List", Code::Ok).as_str(),
            "demo.v1.Users/List"
        );
    }

    #[test]
    fn the_known_methods_are_bounded() {
        let methods = Methods::default();
        for i in 0..MAX_METHODS + 10 {
            methods.resolve(&format!("/s/m{i}"), Code::Ok);
        }
        assert_eq!(methods.known.read().unwrap().len(), MAX_METHODS);
        assert_eq!(methods.resolve("/s/late", Code::Ok).as_str(), "_OTHER");
    }
}
