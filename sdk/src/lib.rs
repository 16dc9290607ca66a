//! Observability for Rust services, matched to the monitoring stack `obs-gen` writes.
//!
//! With default features: JSON logs with request IDs, RED metrics on `/metrics`, and a tower
//! layer that ties them together. With `default-features = false`, only the dependency-free
//! [`catalogue`] remains: the name contract the generated dashboards and rules rely on.
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs, unreachable_pub)]

pub mod catalogue;
