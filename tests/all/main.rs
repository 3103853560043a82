//! Cross-crate tests: one binary with a module per topic (bumpalo's `tests/all/main.rs`).
//!
//! Server tests start `ember-server` on a free port (see [`harness`]), send raw RESP bytes and assert the
//! raw reply bytes against Redis 7.0's (mini-redis `tests/server.rs`); [`clients`] drives it with real
//! clients. `EMBER_IO_BACKEND=select` runs the same suite on the select(2) backend.
//!
//! # Layout
//! - [`harness`]: starting servers, the raw-bytes RESP client, tool detection.
//! - [`strings`]: string commands (SET options, GET/SET variants, ranges, counters, LCS).
//! - [`keys`]: keyspace commands, the EXPIRE family, OBJECT, databases, active and lazy expiry.
//! - [`protocol`]: PING/ECHO/QUIT/RESET, HELLO and RESP3, AUTH, inline commands, pipelining.
//! - [`client_cmd`]: the CLIENT command family.
//! - [`server_cmds`]: CONFIG, INFO, DEBUG, SLOWLOG, LATENCY, MONITOR, SHUTDOWN, COMMAND and friends.
//! - [`bad_input`]: protocol errors, limits and hostile arguments.
//! - [`pubsub_tx`]: MULTI/EXEC/WATCH, pub/sub, keyspace notifications and their hostile cases.
//! - [`resp_props`]: property tests of the request parser.
//! - [`c_abi`]: C programs and the Python ctypes binding against libember.
//! - [`clients`]: redis-cli, redis-benchmark and Python's redis package.
//! - [`geo_hll`]: geo and HyperLogLog replies against a real redis-server.
//! - [`persistence`]: RDB files and DUMP payloads across Ember and redis-server, BGSAVE under writes.
//! - [`streams`]: streams and consumer groups, against a real redis-server and on their own.
//! - [`scripting`]: EVAL and SCRIPT against a real redis-server, busy scripts, script effects.
//! - [`replication`]: Ember replicas of Ember and of redis-server, and a redis-server replica of
//!   Ember.

mod bad_input;
mod c_abi;
mod client_cmd;
mod clients;
mod geo_hll;
mod harness;
mod keys;
mod persistence;
mod protocol;
mod pubsub_tx;
mod replication;
mod resp_props;
mod scripting;
mod server_cmds;
mod streams;
mod strings;
