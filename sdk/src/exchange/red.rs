//! The RED metrics of exchanges: a duration histogram by method, route and status, and the
//! count of exchanges in flight.
//!
//! An adapter describes its metric family (the histogram's name and label names, how a status
//! becomes a label value) and the gauges of its in-flight count, one per method slot; the core
//! records into them. Nothing here knows which transport the names belong to.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use metrics::{Gauge, Histogram, Key, Label, Recorder as _};

use super::route::{RouteTemplate, route_label};
use crate::exposition::{METADATA, Metrics};
use crate::slots::Slots;

/// The duration histogram of one kind of exchange.
#[derive(Debug)]
pub(crate) struct DurationFamily {
    /// The histogram's name.
    pub(crate) name: &'static str,
    /// The names of its method, route and status labels.
    pub(crate) labels: [&'static str; 3],
    /// A status as its label value; never allocates.
    pub(crate) status_label: fn(u16) -> &'static str,
    /// The `error_type` value of a status, for families that carry one where a status means
    /// a server fault (the RPC conventions'); `None` for families without the label.
    pub(crate) error_type: Option<fn(u16) -> Option<&'static str>>,
}

impl DurationFamily {
    /// The family's labels of one exchange, `error_type` last when it has one.
    fn labels<'a>(
        &self,
        method: &'static str,
        route: &'a str,
        status: u16,
    ) -> smallvec::SmallVec<[(&'static str, &'a str); 4]> {
        let [method_label, route_label, status_label] = self.labels;
        let mut labels = smallvec::SmallVec::new();
        labels.push((method_label, method));
        labels.push((route_label, route));
        labels.push((status_label, (self.status_label)(status)));
        if let Some(error_type) = self.error_type.and_then(|error_type| error_type(status)) {
            labels.push((crate::catalogue::labels::ERROR_TYPE, error_type));
        }
        labels
    }
}

/// The metrics an adapter records into. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Red {
    pub(crate) registry: Metrics,
    /// One gauge per method slot, so counting an exchange in costs no registry look-up.
    pub(crate) active: Arc<[Gauge]>,
    durations: Arc<DurationHandles>,
}

impl Red {
    /// Records into `registry`: the histogram of `family`, and `active` by method slot.
    pub(crate) fn new(
        registry: &Metrics,
        family: &'static DurationFamily,
        active: impl IntoIterator<Item = Gauge>,
    ) -> Self {
        Self {
            registry: registry.clone(),
            active: active.into_iter().collect(),
            durations: Arc::new(DurationHandles {
                family,
                by_route: RwLock::default(),
                recent: Slots::default(),
            }),
        }
    }

    /// The same family and registry, with other in-flight gauges.
    pub(crate) fn with_active(&self, active: impl IntoIterator<Item = Gauge>) -> Self {
        Self {
            registry: self.registry.clone(),
            active: active.into_iter().collect(),
            durations: self.durations.clone(),
        }
    }

    /// Keeps one traced exchange's duration as the exemplar of its bucket.
    pub(crate) fn keep_exemplar(
        &self,
        route: Option<&RouteTemplate>,
        method: &'static str,
        status: u16,
        seconds: f64,
        trace_id: [u8; 16],
    ) {
        let family = self.durations.family;
        self.registry.keep_exemplar(
            family.name,
            &family.labels(method, route_label(route), status),
            seconds,
            trace_id,
            crate::clock::since_epoch(),
        );
    }

    /// Records one exchange's duration.
    pub(crate) fn record(
        &self,
        route: Option<&RouteTemplate>,
        method: &'static str,
        status: u16,
        seconds: f64,
    ) {
        self.durations
            .record(&self.registry, route, method, status, seconds);
    }
}

/// A histogram handle for one method and status code.
type MethodStatusHandle = (&'static str, u16, Histogram);

/// Histogram handles by route, method and status.
///
/// Registering through the recorder on every exchange means building a `Key` (a label vector)
/// and hashing it into the registry; this cache makes the common case one read-locked map
/// look-up by the borrowed route. It stays small because every key is bounded: route
/// templates (one shared value for unmatched exchanges), the method labels, and status codes.
struct DurationHandles {
    family: &'static DurationFamily,
    /// FxHash: route templates come from the router, not from clients, so SipHash's flooding
    /// resistance buys nothing here.
    by_route: RwLock<HashMap<Box<str>, Vec<MethodStatusHandle>, rustc_hash::FxBuildHasher>>,
    /// In front of the map, read without a lock: the first handle seen at each slot, found
    /// by the address of its route's text. Adapters hand every exchange of a route the same
    /// shared text, and the slot holds a clone of it, so while the slot lives no other text
    /// can have that address: an equal address and length is the same route, with no hash of
    /// the text and no string comparison.
    recent: Slots<RecentHandle>,
}

struct RecentHandle {
    /// Keeps the text `record` compares addresses with alive.
    route: Option<RouteTemplate>,
    method: &'static str,
    status: u16,
    handle: Histogram,
}

impl DurationHandles {
    fn record(
        &self,
        registry: &Metrics,
        route: Option<&RouteTemplate>,
        method: &'static str,
        status: u16,
        seconds: f64,
    ) {
        let text = route_label(route);
        let slot = self
            .recent
            .slot((text.as_ptr() as usize, method.as_ptr() as usize, status));
        if let Some(recent) = slot.get()
            && std::ptr::eq(route_label(recent.route.as_ref()), text)
            && recent.status == status
            // Method labels are literals: the same address, short of a copy.
            && (std::ptr::eq(recent.method, method) || recent.method == method)
        {
            recent.handle.record(seconds);
            return;
        }
        let handle = self.handle(registry, text, method, status);
        handle.record(seconds);
        // The first handle at a slot keeps it; the others are found in the map.
        let _ = slot.set(RecentHandle {
            route: route.cloned(),
            method,
            status,
            handle,
        });
    }

    fn handle(
        &self,
        registry: &Metrics,
        route: &str,
        method: &'static str,
        status: u16,
    ) -> Histogram {
        {
            let map = self.by_route.read().unwrap_or_else(|e| e.into_inner());
            if let Some(handle) = map.get(route).and_then(|handles| {
                handles
                    .iter()
                    .find(|(m, s, _)| *m == method && *s == status)
            }) {
                return handle.2.clone();
            }
        }
        let labels = self
            .family
            .labels(method, route, status)
            .into_iter()
            .map(|(name, value)| Label::new(name, value.to_owned()))
            .collect::<Vec<_>>();
        let key = Key::from_parts(self.family.name, labels);
        let handle = registry.recorder().register_histogram(&key, &METADATA);
        let mut map = self.by_route.write().unwrap_or_else(|e| e.into_inner());
        let handles = map.entry(route.into()).or_default();
        if !handles.iter().any(|(m, s, _)| *m == method && *s == status) {
            handles.push((method, status, handle.clone()));
        }
        handle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue;

    static FAMILY: DurationFamily = DurationFamily {
        name: "test_exchange_duration_seconds",
        labels: ["method", "route", "status"],
        status_label: |status| match status {
            200 => "200",
            404 => "404",
            _ => "500",
        },
        error_type: None,
    };

    #[test]
    fn every_route_method_and_status_counts_in_its_own_series() {
        let metrics = Metrics::new();
        let red = Red::new(&metrics, &FAMILY, []);
        // More routes than slots, each route's text shared (as axum shares it) and also
        // rebuilt as an equal text at another address (as a hand-made RouteTemplate is).
        let routes: Vec<RouteTemplate> = (0..100)
            .map(|i| RouteTemplate::new(format!("/r{i}/{{id}}")))
            .collect();
        for round in 0..3 {
            for route in &routes {
                let copy = RouteTemplate::new(route.as_str());
                for (method, status) in [("GET", 200), ("POST", 200), ("GET", 500)] {
                    red.record(Some(route), method, status, 0.001);
                    red.record(Some(&copy), method, status, 0.001);
                }
            }
            red.record(None, "GET", 404, 0.001);
            let text = metrics.render();
            let count = |route: &str, method: &str, status: &str| {
                let series = format!(
                    "test_exchange_duration_seconds_count{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} "
                );
                let line = text
                    .lines()
                    .find(|l| l.starts_with(&series))
                    .unwrap_or_else(|| panic!("{series} missing"));
                line[series.len()..].parse::<u64>().unwrap()
            };
            for i in [0, 37, 63, 64, 99] {
                let route = format!("/r{i}/{{id}}");
                for (method, status) in [("GET", "200"), ("POST", "200"), ("GET", "500")] {
                    assert_eq!(count(&route, method, status), 2 * (round + 1));
                }
            }
            assert_eq!(count(catalogue::UNMATCHED_ROUTE, "GET", "404"), round + 1);
        }
    }
}
