//! Administrative commands: DEBUG, SLOWLOG, LATENCY, MONITOR, SHUTDOWN, SAVE, BGSAVE, LASTSAVE,
//! ROLE, TIME, FUNCTION.

use std::hash::BuildHasher;

use ember_core::cmd::{acl, arg_i64, eq_ci, flags as f, CmdError, CmdResult, CommandInfo};
use ember_core::resp::{Argv, Proto};
use ember_core::types::Value;

use super::{reply, reply_help, scmd, subcmd, subcommand, ServerCommand};
use crate::client::Client;
use crate::server::{LatencyHistogram, Server};
use crate::{log_at, sys};

const ADM: u32 = acl::ADMIN | acl::SLOW | acl::DANGEROUS;

/// This table's description of command `name` (for its subcommand dispatch).
fn info_of(name: &str) -> &'static CommandInfo {
    match COMMANDS.iter().find(|c| c.info.name == name) {
        Some(c) => &c.info,
        None => unreachable!("{name} is in this table"),
    }
}

static SLOWLOG_SUBS: &[CommandInfo] = &[
    subcmd!(
        "get",
        -2,
        f::ADMIN | f::LOADING | f::STALE,
        ADM,
        "Get the slow log's entries"
    ),
    subcmd!(
        "len",
        2,
        f::ADMIN | f::LOADING | f::STALE,
        ADM,
        "Get the slow log's length"
    ),
    subcmd!(
        "reset",
        2,
        f::ADMIN | f::LOADING | f::STALE,
        ADM,
        "Clear all entries from the slow log"
    ),
    subcmd!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::SLOW,
        "Show helpful text about the different subcommands"
    ),
];

static LATENCY_SUBS: &[CommandInfo] = &[
    subcmd!(
        "latest",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Return the latest latency samples for all events."
    ),
    subcmd!(
        "history",
        3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Return timestamp-latency samples for the event."
    ),
    subcmd!(
        "reset",
        -2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Reset latency data for one or more events."
    ),
    subcmd!(
        "doctor",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Return a human readable latency analysis report."
    ),
    subcmd!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::SLOW,
        "Show helpful text about the different subcommands."
    ),
    subcmd!(
        "histogram",
        -2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Return the cumulative distribution of latencies of a subset of commands or all."
    ),
];

static MEMORY_SUBS: &[CommandInfo] = &[
    ember_core::cmd::CommandInfo {
        first_key: 2,
        last_key: 2,
        key_step: 1,
        ..subcmd!(
            "usage",
            -3,
            f::READONLY,
            acl::READ | acl::SLOW,
            "Estimate the memory usage of a key"
        )
    },
    subcmd!("stats", 2, 0, acl::SLOW, "Show memory usage details"),
    subcmd!("doctor", 2, 0, acl::SLOW, "Outputs memory problems report"),
    subcmd!(
        "malloc-stats",
        2,
        0,
        acl::SLOW,
        "Show allocator internal stats"
    ),
    subcmd!(
        "purge",
        2,
        0,
        acl::SLOW,
        "Ask the allocator to release memory"
    ),
    subcmd!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::SLOW,
        "Show helpful text about the different subcommands"
    ),
];

pub static COMMANDS: &[ServerCommand] = &[
    scmd!(
        "debug",
        -2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "server",
        debug,
        "A container for debugging commands",
        "1.0.0"
    ),
    scmd!(
        "slowlog",
        -2,
        0,
        acl::SLOW,
        "server",
        slowlog,
        "A container for slow log commands",
        "2.2.12",
        SLOWLOG_SUBS
    ),
    scmd!(
        "latency",
        -2,
        0,
        acl::SLOW,
        "server",
        latency,
        "A container for latency diagnostics commands",
        "2.8.13",
        LATENCY_SUBS
    ),
    scmd!(
        "monitor",
        1,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "server",
        monitor,
        "Listen for all requests received by the server in real time",
        "1.0.0"
    ),
    scmd!(
        "shutdown",
        -1,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::NO_MULTI | f::ALLOW_BUSY,
        ADM,
        "server",
        shutdown,
        "Synchronously save the dataset to disk and then shut down the server",
        "1.0.0"
    ),
    scmd!(
        "save",
        1,
        f::ADMIN | f::NOSCRIPT | f::NO_MULTI,
        ADM,
        "server",
        save,
        "Synchronously save the dataset to disk",
        "1.0.0"
    ),
    scmd!(
        "bgsave",
        -1,
        f::ADMIN | f::NOSCRIPT,
        ADM,
        "server",
        bgsave,
        "Asynchronously save the dataset to disk",
        "1.0.0"
    ),
    scmd!(
        "bgrewriteaof",
        1,
        f::ADMIN | f::NOSCRIPT,
        ADM,
        "server",
        bgrewriteaof,
        "Asynchronously rewrite the append-only file",
        "1.0.0"
    ),
    scmd!(
        "sync",
        1,
        f::ADMIN | f::NOSCRIPT | f::NO_MULTI,
        ADM,
        "server",
        sync,
        "Internal command used for replication",
        "1.0.0"
    ),
    scmd!(
        "psync",
        -3,
        f::ADMIN | f::NOSCRIPT | f::NO_MULTI,
        ADM,
        "server",
        psync,
        "Internal command used for replication",
        "2.8.0"
    ),
    scmd!(
        "replconf",
        -1,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE | f::ALLOW_BUSY,
        ADM,
        "server",
        replconf,
        "An internal command for configuring the replication stream",
        "3.0.0"
    ),
    scmd!(
        "replicaof",
        3,
        f::ADMIN | f::NOSCRIPT | f::STALE,
        ADM,
        "server",
        replicaof,
        "Make the server a replica of another instance, or promote it as master.",
        "5.0.0"
    ),
    scmd!(
        "slaveof",
        3,
        f::ADMIN | f::NOSCRIPT | f::STALE,
        ADM,
        "server",
        replicaof,
        "Make the server a replica of another instance, or promote it as master. Deprecated starting with Redis 5. Use REPLICAOF instead.",
        "1.0.0"
    ),
    scmd!(
        "lastsave",
        1,
        f::LOADING | f::STALE | f::FAST,
        acl::ADMIN | acl::FAST | acl::DANGEROUS,
        "server",
        lastsave,
        "Get the UNIX time stamp of the last successful save to disk",
        "1.0.0"
    ),
    scmd!(
        "role",
        1,
        f::NOSCRIPT | f::LOADING | f::STALE | f::FAST,
        acl::ADMIN | acl::FAST | acl::DANGEROUS,
        "server",
        role,
        "Return the role of the instance in the context of replication",
        "2.8.12"
    ),
    scmd!(
        "time",
        1,
        f::LOADING | f::STALE | f::FAST,
        acl::FAST,
        "server",
        time,
        "Return the current server time",
        "2.6.0"
    ),
    scmd!(
        "memory",
        -2,
        0,
        acl::SLOW,
        "server",
        memory,
        "A container for memory diagnostics commands",
        "4.0.0",
        MEMORY_SUBS
    ),
];

const DEBUG_HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "OBJECT <key>",
    "    Show low level info about the key and associated value.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Print this help.",
];

fn debug_allowed(s: &Server, c: &Client) -> CmdResult {
    match s.config.get_str("enable-debug-command").as_str() {
        "yes" => Ok(()),
        "local" if c.unix || crate::net::is_loopback(&c.addr) => Ok(()),
        _ => Err(CmdError::new("ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.")),
    }
}

fn debug(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = argv.get(1);
    if eq_ci(sub, "help") {
        reply_help(c, DEBUG_HELP);
        return Ok(());
    }
    debug_allowed(s, c)?;
    let argc = argv.len();
    if eq_ci(sub, "sleep") && argc == 3 {
        let secs = ember_core::cmd::arg_f64(argv.get(2))?;
        if secs > 0.0 {
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
        }
        reply(c).ok();
    } else if eq_ci(sub, "reload") {
        // DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save, empty the keyspace, load the file.
        let opts: Vec<&[u8]> = argv.tail(2).iter().collect();
        let has = |w: &str| opts.iter().any(|o| eq_ci(o, w));
        if opts
            .iter()
            .any(|o| !["merge", "noflush", "nosave"].iter().any(|w| eq_ci(o, w)))
        {
            return Err(CmdError::new(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
        s.finish_bgsave();
        if !has("nosave") && s.save_rdb().is_err() {
            return Err(CmdError::new("ERR Error trying to save the DB"));
        }
        if !has("noflush") {
            s.ks.flush_all();
        }
        let loaded = s.load_rdb().unwrap_or_else(|e| {
            log_at!(Warning, "DEBUG RELOAD: {e}");
            false
        });
        if !loaded {
            return Err(CmdError::new(
                "ERR Error trying to load the RDB dump, check server logs.",
            ));
        }
        log_at!(Notice, "DB reloaded by DEBUG RELOAD");
        reply(c).ok();
    } else if eq_ci(sub, "loadaof") && argc == 2 {
        // DEBUG LOADAOF: write and fsync the AOF, empty the keyspace, load the AOF back.
        s.finish_bgsave();
        s.aof_flush(true);
        s.ks.flush_all();
        if s.aof.enabled() || s.aof_exists() {
            if let Err(e) = s.load_aof() {
                log_at!(Warning, "DEBUG LOADAOF: {e}");
                return Err(CmdError::new(
                    "ERR Error loading the AOF file, check server logs.",
                ));
            }
        }
        log_at!(Notice, "Append Only File loaded by DEBUG LOADAOF");
        reply(c).ok();
    } else if eq_ci(sub, "set-active-expire") && argc == 3 {
        s.ks.active_expire = arg_i64(argv.get(2))? != 0;
        reply(c).ok();
    } else if eq_ci(sub, "log") && argc == 3 {
        log_at!(
            Warning,
            "DEBUG LOG: {}",
            String::from_utf8_lossy(argv.get(2))
        );
        reply(c).ok();
    } else if eq_ci(sub, "object") && argc == 3 {
        let now = sys::now_ms();
        let Some(e) = s.ks.db(c.db).peek(argv.get(2), now) else {
            return Err(ember_core::cmd::err::NO_SUCH_KEY);
        };
        let value = e.value();
        let serialized = match &*value {
            Value::Str(v) => rdb_string_len(v),
            Value::Lz(z) => rdb_bytes_len(z.raw_len()),
            other => other.heap_size(),
        };
        let text = format!(
            "Value at:{:p} refcount:{} encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
            e as *const _,
            ember_core::cmd::keys::refcount(&value, s.ks.shared_integers),
            value.encoding_name(),
            serialized,
            e.access(),
            ember_core::table::lru_idle_s((now / 1000) as u32, e.access())
        );
        reply(c).simple(text.as_bytes());
    } else if eq_ci(sub, "digest") && argc == 2 {
        let now = sys::now_ms();
        let mut acc = [0u8; 20];
        for (i, db) in s.ks.dbs().enumerate() {
            for e in db
                .table()
                .iter()
                .filter(|e| !ember_core::keyspace::is_expired(e, now))
            {
                let d = digest_entry(i as u64, e.key_bytes(), &e.value(), e.expire_at_ms());
                for (a, b) in acc.iter_mut().zip(d) {
                    *a ^= b;
                }
            }
        }
        reply(c).simple(hex(&acc).as_bytes());
    } else if eq_ci(sub, "digest-value") {
        let now = sys::now_ms();
        let digests: Vec<String> = argv
            .tail(2)
            .iter()
            .map(|k| match s.ks.db(c.db).peek(k, now) {
                Some(e) => hex(&digest_entry(0, b"", &e.value(), 0)),
                None => "0".repeat(40),
            })
            .collect();
        let mut w = reply(c);
        w.array(digests.len());
        for d in digests {
            w.simple(d.as_bytes());
        }
    } else if eq_ci(sub, "protocol") && argc == 3 {
        debug_protocol(c, argv.get(2))?;
    } else if eq_ci(sub, "quicklist-packed-threshold") && argc == 3 {
        // Ember's lists have no quicklist nodes to pack: the knob is accepted and has nothing to tune.
        crate::config::parse_mem(&String::from_utf8_lossy(argv.get(2)))
            .ok_or(CmdError::new("ERR argument must be a memory value"))?;
        reply(c).ok();
    } else if eq_ci(sub, "pause-cron") && argc == 3 {
        s.cron_paused = arg_i64(argv.get(2))? != 0;
        reply(c).ok();
    } else if eq_ci(sub, "change-repl-id") && argc == 2 {
        s.replid = format!("{:040x}", sys::now_us() as u128 * 0x9E37_79B9_7F4A_7C15);
        s.replid.truncate(40);
        reply(c).ok();
    } else {
        return Err(CmdError::owned(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try DEBUG HELP.",
            String::from_utf8_lossy(sub)
        )));
    }
    Ok(())
}

/// The bytes a string takes in an RDB file without compression: integers in 8, 16 or 32 bits take
/// a type byte plus that, other strings a length prefix (1, 2 or 5 bytes) plus their bytes.
fn rdb_string_len(v: &ember_core::types::string::CompactStr) -> usize {
    if let Some(n) = v.as_i64() {
        if i8::try_from(n).is_ok() {
            return 2;
        } else if i16::try_from(n).is_ok() {
            return 3;
        } else if i32::try_from(n).is_ok() {
            return 5;
        }
    }
    rdb_bytes_len(v.len())
}

/// Bytes of a string of `len` bytes in an RDB file, with its length prefix (no LZF).
fn rdb_bytes_len(len: usize) -> usize {
    let prefix = if len < 1 << 6 {
        1
    } else if len < 1 << 14 {
        2
    } else {
        5
    };
    prefix + len
}

/// A 20-byte digest of one key's content (DEBUG DIGEST, DEBUG DIGEST-VALUE).
fn digest_entry(db: u64, key: &[u8], value: &Value, expire_at_ms: u64) -> [u8; 20] {
    let mut bytes = Vec::new();
    value.canonical(&mut bytes);
    let mut out = [0u8; 20];
    for (i, chunk) in out.chunks_mut(8).enumerate() {
        let h = foldhash::fast::FixedState::with_seed(0x51_7c_c1_b7_27_22_0a_95 ^ i as u64)
            .hash_one((db, key, value.type_name(), &bytes, expire_at_ms));
        chunk.copy_from_slice(&h.to_le_bytes()[..chunk.len()]);
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// DEBUG PROTOCOL type: a sample reply of each RESP type.
fn debug_protocol(c: &mut Client, name: &[u8]) -> CmdResult {
    let resp3 = c.proto == Proto::Resp3;
    let mut w = reply(c);
    if eq_ci(name, "string") {
        w.bulk(b"Hello World");
    } else if eq_ci(name, "integer") {
        w.int(12345);
    } else if eq_ci(name, "double") {
        #[allow(clippy::approx_constant)] // Redis's literal sample value, not pi.
        w.double(3.141);
    } else if eq_ci(name, "bignum") {
        w.bignum(b"1234567999999999999999999999999999999");
    } else if eq_ci(name, "null") {
        w.null();
    } else if eq_ci(name, "array") || eq_ci(name, "set") {
        if eq_ci(name, "set") {
            w.set(3);
        } else {
            w.array(3);
        }
        for j in 0..3 {
            w.int(j);
        }
    } else if eq_ci(name, "map") {
        w.map(3);
        for j in 0..3 {
            w.int(j);
            w.boolean(j == 1);
        }
    } else if eq_ci(name, "attrib") {
        if resp3 {
            w.attribute(1);
            w.bulk(b"key-popularity");
            w.array(2);
            w.bulk(b"key:123");
            w.int(90);
        }
        w.bulk(b"Some real reply following the attribute");
    } else if eq_ci(name, "push") {
        if !resp3 {
            return Err(CmdError::new("ERR RESP2 is not supported by this command"));
        }
        w.push(2);
        w.bulk(b"server-cpu-usage");
        w.int(42);
        w.bulk(b"Some real reply following the push reply");
    } else if eq_ci(name, "true") {
        w.boolean(true);
    } else if eq_ci(name, "false") {
        w.boolean(false);
    } else if eq_ci(name, "verbatim") {
        w.verbatim(b"txt", b"This is a verbatim\nstring");
    } else {
        return Err(CmdError::new("ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false"));
    }
    Ok(())
}

const SLOWLOG_HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

fn slowlog(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = subcommand(info_of("slowlog"), argv)?;
    match sub.name {
        "get" => {
            let mut count = 10i64;
            if argv.len() == 3 {
                count = arg_i64(argv.get(2))
                    .ok()
                    .filter(|&n| n >= -1)
                    .ok_or(CmdError::new(
                        "ERR count should be greater than or equal to -1",
                    ))?;
            } else if argv.len() > 3 {
                return Err(ember_core::cmd::keys::subcommand_arity("slowlog", "get"));
            }
            let n = if count == -1 {
                s.slowlog.len()
            } else {
                (count as usize).min(s.slowlog.len())
            };
            let mut w = reply(c);
            w.array(n);
            for e in s.slowlog.iter().take(n) {
                w.array(6);
                w.int(e.id as i64);
                w.int(e.time_s as i64);
                w.int(e.duration_us as i64);
                w.array(e.args.len());
                for a in &e.args {
                    w.bulk(a);
                }
                w.bulk(e.addr.as_bytes());
                w.bulk(&e.name);
            }
        }
        "len" => reply(c).int(s.slowlog.len() as i64),
        "reset" => {
            s.slowlog.clear();
            reply(c).ok();
        }
        _ => reply_help(c, SLOWLOG_HELP),
    }
    Ok(())
}

const LATENCY_HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HELP",
    "    Prints this help.",
];

fn latency(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = subcommand(info_of("latency"), argv)?;
    match sub.name {
        "latest" => {
            let mut events: Vec<_> = s
                .latency
                .iter()
                .filter_map(|(k, h)| h.back().map(|l| (*k, *l)))
                .collect();
            events.sort();
            let mut w = reply(c);
            w.array(events.len());
            for (name, (ts, ms)) in events {
                w.array(4);
                w.bulk(name.as_bytes());
                w.int(ts as i64);
                w.int(ms as i64);
                w.int(*s.latency_max.get(name).unwrap_or(&ms) as i64);
            }
        }
        "history" => {
            let name = String::from_utf8_lossy(argv.get(2)).into_owned();
            let samples: Vec<(u64, u64)> = s
                .latency
                .get(name.as_str())
                .map(|h| h.iter().copied().collect())
                .unwrap_or_default();
            let mut w = reply(c);
            w.array(samples.len());
            for (ts, ms) in samples {
                w.array(2);
                w.int(ts as i64);
                w.int(ms as i64);
            }
        }
        "reset" => {
            let n = if argv.len() == 2 {
                let n = s.latency.len();
                s.latency.clear();
                s.latency_max.clear();
                n
            } else {
                let mut n = 0;
                for a in argv.tail(2).iter() {
                    let name = String::from_utf8_lossy(a).into_owned();
                    if s.latency.remove(name.as_str()).is_some() {
                        n += 1;
                    }
                    s.latency_max.remove(name.as_str());
                }
                n
            };
            reply(c).int(n as i64);
        }
        "histogram" => latency_histogram(s, c, argv),
        "doctor" => {
            let text = if s.config.get_int("latency-monitor-threshold") == 0 {
                "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".to_string()
            } else if s.latency.is_empty() {
                "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep better.\n".to_string()
            } else {
                let mut t =
                    String::from("Dave, I have observed latency spikes in this Redis instance.\n");
                for (k, h) in &s.latency {
                    t.push_str(&format!(
                        "{k}: {} latency spikes (max {}ms)\n",
                        h.len(),
                        s.latency_max.get(k).unwrap_or(&0)
                    ));
                }
                t
            };
            reply(c).verbatim(b"txt", text.as_bytes());
        }
        _ => reply_help(c, LATENCY_HELP),
    }
    Ok(())
}

/// MONITOR. O(1).
fn monitor(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    if !c.monitor {
        c.monitor = true;
        s.monitors.push(c.fd);
    }
    reply(c).ok();
    Ok(())
}

/// SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT].
fn shutdown(s: &mut Server, _c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let (mut nosave, mut save, mut abort, mut other) = (false, false, false, false);
    for a in argv.tail(1).iter() {
        if eq_ci(a, "nosave") {
            nosave = true;
        } else if eq_ci(a, "save") {
            save = true;
        } else if eq_ci(a, "abort") {
            abort = true;
        } else if eq_ci(a, "now") || eq_ci(a, "force") {
            other = true;
        } else {
            return Err(ember_core::cmd::err::SYNTAX);
        }
    }
    if (abort && (nosave || save || other)) || (nosave && save) {
        return Err(ember_core::cmd::err::SYNTAX);
    }
    if abort {
        return Err(CmdError::new("ERR No shutdown in progress."));
    }
    // A save now would hold a script's writes half done: only NOSAVE stops a busy script.
    if !nosave && s.script_busy {
        return Err(crate::script::busy_error(s.running_function));
    }
    if save || (s.has_save_points() && !nosave) {
        s.finish_bgsave();
        log_at!(Notice, "Saving the final RDB snapshot before exiting.");
        if s.save_rdb().is_err() && !other {
            return Err(CmdError::new("ERR Errors trying to SHUTDOWN. Check logs."));
        }
    }
    // Saved above when it had to be: the loop only exits.
    s.shutdown_nosave = true;
    s.shutdown_requested = true;
    Ok(())
}

/// SAVE. O(N) in the dataset.
fn save(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    if s.rdb.bgsave.is_some() {
        return Err(CmdError::new("ERR Background save already in progress"));
    }
    s.save_rdb()
        .map_err(|_| CmdError::new("ERR Error saving the DB, check the server logs."))?;
    reply(c).ok();
    Ok(())
}

/// BGSAVE [SCHEDULE]: starts the forkless snapshot. O(1); the save itself runs between events.
fn bgsave(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let schedule = match argv.len() {
        1 => false,
        2 if eq_ci(argv.get(1), "schedule") => true,
        _ => return Err(ember_core::cmd::err::SYNTAX),
    };
    // Inside a transaction the save would catch half of it: it starts after.
    if c.in_exec {
        s.rdb.scheduled = true;
        reply(c).simple(b"Background saving scheduled");
        return Ok(());
    }
    if s.rdb.bgsave.is_some() {
        if schedule {
            s.rdb.scheduled = true;
            reply(c).simple(b"Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::new("ERR Background save already in progress"));
    }
    s.start_bgsave()
        .map_err(|e| CmdError::owned(format!("ERR Can't save in background: {e}")))?;
    reply(c).simple(b"Background saving started");
    Ok(())
}

/// BGREWRITEAOF: a new AOF base through the forkless snapshot. O(1); the rewrite runs between
/// events.
fn bgrewriteaof(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    if c.in_exec {
        s.aof.rewrite_scheduled = true;
        reply(c).simple(b"Background append only file rewriting scheduled");
        return Ok(());
    }
    match s.rdb.bgsave.as_ref().map(|b| b.purpose) {
        Some(crate::persist::Purpose::AofBase { .. }) => Err(CmdError::new(
            "ERR Background append only file rewriting already in progress",
        )),
        Some(crate::persist::Purpose::Rdb) => {
            s.aof.rewrite_scheduled = true;
            reply(c).simple(b"Background append only file rewriting scheduled");
            Ok(())
        }
        None => {
            s.start_aof_rewrite().map_err(|e| {
                CmdError::owned(format!("ERR Can't rewrite the append only file: {e}"))
            })?;
            log_at!(Notice, "Background append only file rewriting started");
            reply(c).simple(b"Background append only file rewriting started");
            Ok(())
        }
    }
}

/// SYNC: the dataset as an RDB payload, then the command stream (what a replica, or the test
/// suite's stream reader, attaches to).
fn sync(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    s.attach_replica(c, false);
    Ok(())
}

/// PSYNC replid offset: always a full resynchronization.
fn psync(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let offset = arg_i64(argv.get(2))
        .ok()
        .and_then(|o| u64::try_from(o).ok());
    if argv.get(1) != b"?" {
        if let Some(offset) = offset {
            if s.continue_replica(c, argv.get(1), offset) {
                return Ok(());
            }
        }
        s.stats.sync_partial_err += 1;
    }
    s.attach_replica(c, true);
    Ok(())
}

/// REPLCONF option value ...: a replica's listening-port and ACKs are noted; capa and the rest
/// are accepted. GETACK from a master is answered where its stream is read
/// ([`Server::process_input`]).
fn replconf(_s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(ember_core::cmd::err::SYNTAX);
    }
    let mut i = 1;
    while i + 1 < argv.len() {
        let (opt, val) = (argv.get(i), argv.get(i + 1));
        if eq_ci(opt, "ack") {
            // An ACK expects no reply.
            if let Ok(off) = arg_i64(val) {
                c.replica_ack_offset = off.max(0) as u64;
            }
            return Ok(());
        }
        if eq_ci(opt, "getack") {
            return Ok(());
        }
        if eq_ci(opt, "listening-port") {
            c.replica_port = arg_i64(val)
                .ok()
                .and_then(|p| u16::try_from(p).ok())
                .ok_or(CmdError::new("ERR value is out of range"))?;
        }
        i += 2;
    }
    reply(c).ok();
    Ok(())
}

/// REPLICAOF host port | NO ONE.
fn replicaof(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    if c.master {
        return Err(CmdError::new(
            "ERR Command is not valid when client is a replica.",
        ));
    }
    if eq_ci(argv.get(1), "no") && eq_ci(argv.get(2), "one") {
        s.promote_to_master();
        reply(c).ok();
        return Ok(());
    }
    let port = arg_i64(argv.get(2))
        .ok()
        .and_then(|p| u16::try_from(p).ok())
        .ok_or(CmdError::new("ERR Invalid master port"))?;
    let host = String::from_utf8_lossy(argv.get(1)).into_owned();
    if s.replicate_from(host.clone(), port) {
        log_at!(
            Notice,
            "REPLICAOF {host}:{port} enabled (user request from '{}')",
            c.info_line(sys::now_ms())
        );
        reply(c).ok();
    } else {
        log_at!(Notice, "REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
        reply(c).simple(b"OK Already connected to specified master");
    }
    Ok(())
}

fn lastsave(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    reply(c).int(s.lastsave_s as i64);
    Ok(())
}

fn role(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    if let Some(link) = &s.master {
        let mut w = reply(c);
        w.array(5);
        w.bulk(b"slave");
        w.bulk(link.host.as_bytes());
        w.int(i64::from(link.port));
        w.bulk(link.role_state().as_bytes());
        w.int(if link.up() { link.offset as i64 } else { -1 });
        return Ok(());
    }
    let replicas: Vec<(String, u16, u64)> = s
        .prop
        .replicas
        .iter()
        .filter_map(|&fd| s.clients.get(fd as usize)?.as_ref())
        .map(|r| (r.ip().to_string(), r.replica_port, r.replica_ack_offset))
        .collect();
    let mut w = reply(c);
    w.array(3);
    w.bulk(b"master");
    w.int(s.prop.offset as i64);
    w.array(replicas.len());
    for (ip, port, off) in replicas {
        w.array(3);
        w.bulk(ip.as_bytes());
        w.bulk(port.to_string().as_bytes());
        w.bulk(off.to_string().as_bytes());
    }
    Ok(())
}

fn time(_s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    let us = sys::now_us();
    let mut w = reply(c);
    w.array(2);
    w.bulk_i64((us / 1_000_000) as i64);
    w.bulk_i64((us % 1_000_000) as i64);
    Ok(())
}

const MEMORY_HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

/// Bytes one key takes: its entry (fields and key) and its value's heap.
fn key_memory(e: &ember_core::table::Entry<Value>) -> usize {
    ember_core::keyspace::entry_bytes(e)
}

/// MEMORY USAGE key [SAMPLES count] | STATS | DOCTOR | MALLOC-STATS | PURGE | HELP.
fn memory(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = subcommand(info_of("memory"), argv)?;
    match sub.name {
        "usage" => {
            match argv.len() {
                3 => {}
                5 if eq_ci(argv.get(3), "samples") => {
                    if arg_i64(argv.get(4))? < 0 {
                        return Err(ember_core::cmd::err::SYNTAX);
                    }
                }
                _ => return Err(ember_core::cmd::err::SYNTAX),
            }
            let now = sys::now_ms();
            match s.ks.db(c.db).peek(argv.get(2), now) {
                Some(e) => {
                    let n = key_memory(e) as i64;
                    reply(c).int(n);
                }
                None => reply(c).null(),
            }
        }
        "stats" => {
            let used = crate::alloc::used();
            let peak = crate::alloc::peak().max(used);
            let data = s.ks.memory_usage();
            let keys = data.keys.max(1);
            let fields: [(&str, i64); 6] = [
                ("peak.allocated", peak as i64),
                ("total.allocated", used as i64),
                ("keys.count", data.keys as i64),
                ("keys.bytes-per-key", (data.bytes / keys) as i64),
                ("dataset.bytes", data.bytes as i64),
                (
                    "overhead.total",
                    used.saturating_sub(data.bytes as usize) as i64,
                ),
            ];
            let mut w = reply(c);
            w.map(fields.len());
            for (k, v) in fields {
                w.bulk(k.as_bytes());
                w.int(v);
            }
        }
        "doctor" => {
            let text = "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.";
            reply(c).verbatim(b"txt", text.as_bytes());
        }
        "malloc-stats" => {
            reply(c).verbatim(b"txt", b"Stats not supported for the current allocator")
        }
        "purge" => reply(c).ok(),
        _ => reply_help(c, MEMORY_HELP),
    }
    Ok(())
}

/// LATENCY HISTOGRAM [command ...]: for each command (a container command stands for its
/// subcommands) that ran since the last CONFIG RESETSTAT, its calls and the cumulative distribution
/// of its latencies over power-of-two microsecond buckets.
fn latency_histogram(s: &Server, c: &mut Client, argv: Argv<'_>) {
    let mut rows: Vec<(String, &LatencyHistogram)> = Vec::new();
    if argv.len() == 2 {
        for idx in 0..s.commands.len() {
            histogram_rows(s, idx, None, &mut rows);
        }
    } else {
        for name in argv.tail(2).iter() {
            let text = String::from_utf8_lossy(name).to_ascii_lowercase();
            let (parent, sub) = match text.split_once('|') {
                Some((p, sub)) => (p, Some(sub)),
                None => (text.as_str(), None),
            };
            if let Some(idx) = s.commands.lookup(parent.as_bytes()) {
                if rows.iter().any(|(n, _)| *n == text) {
                    continue;
                }
                histogram_rows(s, idx, sub, &mut rows);
            }
        }
    }
    let mut w = reply(c);
    w.map(rows.len());
    for (name, h) in rows {
        w.bulk(name.as_bytes());
        w.map(2);
        w.bulk(b"calls");
        w.int(h.calls as i64);
        w.bulk(b"histogram_usec");
        let used: Vec<(usize, u64)> = h
            .buckets
            .iter()
            .copied()
            .enumerate()
            .filter(|(_, n)| *n > 0)
            .collect();
        w.map(used.len());
        let mut cumulative = 0u64;
        for (i, n) in used {
            cumulative += n;
            w.int(1i64 << (i + 1));
            w.int(cumulative as i64);
        }
    }
}

/// Adds the latency histograms of command `idx` to `rows`: its own and its subcommands', or only
/// subcommand `only_sub`'s.
fn histogram_rows<'a>(
    s: &'a Server,
    idx: usize,
    only_sub: Option<&str>,
    rows: &mut Vec<(String, &'a LatencyHistogram)>,
) {
    let e = &s.commands.entries[idx];
    let st = &s.cmd_stats[idx];
    if only_sub.is_none() {
        if let Some(h) = &st.latency {
            rows.push((e.info.name.to_string(), h));
        }
    }
    for (pos, h) in st.sub_latency.iter().enumerate() {
        let (Some(h), Some(sub)) = (h, e.info.subcommands.get(pos)) else {
            continue;
        };
        if only_sub.is_none_or(|want| want.eq_ignore_ascii_case(sub.name)) {
            rows.push((format!("{}|{}", e.info.name, sub.name), h));
        }
    }
}
