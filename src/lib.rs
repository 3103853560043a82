//! Ember: a Redis-compatible in-memory data store whose core is also a C library.
//!
//! This root package re-exports [`ember_core`] and hosts the cross-crate tests (`tests/`) and
//! benchmarks (`benches/`). The server lives in `server/` (`ember-server`).

pub use ember_core::*;
