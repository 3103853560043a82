//! Ember's engine: the keyspace, the Redis data types, the command table and the RESP codec, as a
//! `#![no_std]` + `alloc` library shared by `ember-server` and the C ABI.
//!
//! Core never touches sockets, files, threads or clocks: the host passes the time in (`now_ms`) and calls
//! [`keyspace::Keyspace::expire_cycle`] when it wants active expiry.
//!
//! # Layout
//! - [`types`]: the values a key holds; [`types::string::CompactStr`] is the inline/integer/heap string.
//! - [`table`]: Ember's hash table: chained entries, incremental rehash, resize-safe SCAN cursor.
//! - [`journal`]: modified keys and keyspace events recorded for the host.
//! - [`keyspace`]: databases of keys with lazy and active expiry.
//! - [`cmd`]: the command table, the execution context and the command families.
//! - [`rdb`]: the RDB file format (files, DUMP/RESTORE payloads), saving and loading.
//! - [`reply`]: parsed reply trees (what the C ABI hands out).
//! - [`resp`]: the request parser and the RESP2/RESP3 reply writer.
//! - [`glob`]: Redis-compatible glob matching for KEYS, SCAN MATCH and CONFIG GET.

#![no_std]
// Unsafe code is denied except where a module allows it for a measured reason (table.rs: entries
// as one allocation with the key inline, zeroed bucket arrays, prefetch hints; types/packed.rs:
// exactly-sized compact-collection buffers and the leaked shared names; types/lz.rs: reading the
// leaked, never-freed dictionaries), each block with a SAFETY comment.
#![deny(unsafe_code)]

extern crate alloc;
#[cfg(any(test, feature = "std"))]
extern crate std;

pub mod cmd;
pub mod glob;
pub mod journal;
pub mod keyspace;
pub mod lfu;
pub mod pool;
pub mod rdb;
pub mod reply;
pub mod resp;
pub mod table;
pub mod types;

/// FNV-1a: a fast hash for short byte strings in fixed tables (command names, shared field names).
#[inline]
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Ember's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The Redis version whose behaviour Ember matches; clients and the test suite pick features by it.
pub const REDIS_VERSION: &str = "7.0.15";
