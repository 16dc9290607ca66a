//! `obs-gen`: writes a complete self-hosted monitoring stack for services that use `obs-service`.
//!
//! A run goes through one module per stage, each owning the parts of both targets (compose and
//! Kubernetes) for its stage:
//!
//! 1. [`init`] gathers the answers of `obs-gen init` (from flags or the wizard) and makes the
//!    configuration from them; `obs-gen generate` reads it from `obs.toml` instead.
//! 2. [`model`] is that configuration, typed, so a duration, a port or an address is checked
//!    once, when it is read.
//! 3. [`validate`] checks what types cannot (clashing ports, duplicate names, required pairs).
//! 4. [`render`] builds each output file from serde structures, one renderer per output and a
//!    thin wrapper per target.
//! 5. [`check`] re-parses them and runs the mixin's name-contract checks
//!    ([`check::self_check`]), as `obs-gen check` does on a directory.
//! 6. [`write`](mod@write) compares the result with the output directory, refuses to overwrite
//!    files the user changed, and writes atomically.
//!
//! [`cli`] drives the stages from the command line, [`error`] is what stops them, and
//! [`doctor`] stands apart: it checks a running service rather than a stack.
#![deny(missing_docs, unreachable_pub)]

pub mod check;
pub mod cli;
pub mod doctor;
pub mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
pub mod init;
pub mod model;
pub mod render;
pub mod validate;
pub mod write;
