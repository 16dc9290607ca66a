//! `obs-gen`: writes a complete self-hosted monitoring stack for services that use `obs-service`.
//!
//! The flow of every run: [`model`] reads `obs.toml` (or the wizard and flags build it) into
//! typed values, so a duration, a port or an address is checked once, when it is read;
//! [`validate`] checks what types cannot (clashing ports, duplicate names, required pairs), [`render`] builds each output file from serde structures,
//! [`check::self_check`] re-parses them and runs the mixin's name-contract checks, and
//! [`write`](mod@write) compares the result with the output directory, refuses to overwrite files the user
//! changed, and writes atomically.
#![deny(missing_docs, unreachable_pub)]

pub mod check;
pub mod cli;
pub mod doctor;
pub mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod model;
pub mod render;
pub mod validate;
pub mod wizard;
pub mod write;
