//! INFO: the server's state in Redis's `section` / `field:value` text format.

use std::fmt::Write;

use ember_core::cmd::{acl, flags as f, CmdResult};
use ember_core::resp::Argv;

use super::{reply, scmd, ServerCommand};
use crate::client::Client;
use crate::server::Server;
use crate::{alloc, sys};

pub static COMMANDS: &[ServerCommand] = &[scmd!(
    "info",
    -1,
    f::LOADING | f::STALE,
    acl::SLOW | acl::DANGEROUS,
    "server",
    info,
    "Get information and statistics about the server",
    "1.0.0"
)];

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
];
const ALL_EXTRA: &[&str] = &["commandstats", "latencystats"];

/// INFO [section [section ...]]. O(1) per section (commandstats: O(commands)).
fn info(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let asked: Vec<String> = argv
        .tail(1)
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    // No argument means `default`; `all` and `everything` add the extra sections.
    let wanted = |section: &str, default: bool| {
        if asked.is_empty() {
            return default;
        }
        asked.iter().any(|a| match a.as_str() {
            "default" => default,
            "all" | "everything" => true,
            name => name == section,
        })
    };
    let mut out = String::new();
    let sections = DEFAULT_SECTIONS.iter().map(|s| (*s, true));
    for (section, default) in sections.chain(ALL_EXTRA.iter().map(|s| (*s, false))) {
        if !wanted(section, default) {
            continue;
        }
        if !out.is_empty() {
            out.push_str("\r\n");
        }
        write_section(s, c, section, &mut out);
    }
    reply(c).verbatim(b"txt", out.as_bytes());
    Ok(())
}

fn write_section(s: &Server, c: &Client, section: &str, out: &mut String) {
    let title = match section {
        "module_list" => "Modules".to_string(),
        "cpu" => "CPU".to_string(),
        "errorstats" => "Errorstats".to_string(),
        "commandstats" => "Commandstats".to_string(),
        "latencystats" => "Latencystats".to_string(),
        other => {
            let mut t = other.to_string();
            t[..1].make_ascii_uppercase();
            t
        }
    };
    let _ = write!(out, "# {title}\r\n");

    match section {
        "server" => section_server(s, out),
        "clients" => section_clients(s, c, out),
        "memory" => section_memory(s, out),
        "persistence" => section_persistence(s, out),
        "stats" => section_stats(s, out),
        "replication" => section_replication(s, out),
        "cpu" => section_cpu(out),
        "errorstats" => section_errorstats(s, out),
        "cluster" => section_cluster(out),
        "keyspace" => section_keyspace(s, out),
        "commandstats" => section_commandstats(s, out),
        _ => {}
    }
}

fn section_server(s: &Server, out: &mut String) {
    let now = sys::now_ms();
    let mut kv = Fields(out);
    let uptime = now.saturating_sub(s.start_ms) / 1000;
    kv.put("redis_version", &ember_core::REDIS_VERSION);
    kv.put("ember_version", &ember_core::VERSION);
    kv.put("redis_git_sha1", &"00000000");
    kv.put("redis_git_dirty", &0);
    kv.put("redis_build_id", &"0");
    kv.put("redis_mode", &"standalone");
    kv.put("os", &os_name());
    kv.put("arch_bits", &(usize::BITS));
    kv.put("monotonic_clock", &"POSIX clock_gettime");
    kv.put("multiplexing_api", &s.poller.name());
    kv.put("atomicvar_api", &"c11-builtin");
    kv.put("gcc_version", &"0.0.0");
    kv.put("process_id", &std::process::id());
    kv.put("process_supervised", &"no");
    kv.put("run_id", &s.run_id);
    kv.put("tcp_port", &s.tcp_port);
    kv.put("server_time_usec", &sys::now_us());
    kv.put("uptime_in_seconds", &uptime);
    kv.put("uptime_in_days", &(uptime / 86400));
    kv.put("hz", &s.hz);
    kv.put("configured_hz", &s.config.get_int("hz"));
    kv.put("lru_clock", &((now / 1000) & ((1 << 24) - 1)));
    kv.put("executable", &s.executable);
    kv.put(
        "config_file",
        &s.config
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
    );
    kv.put("io_threads_active", &0);
}

fn section_clients(s: &Server, c: &Client, out: &mut String) {
    let mut kv = Fields(out);
    kv.put("connected_clients", &(s.client_count));
    kv.put("cluster_connections", &0);
    kv.put("maxclients", &s.config.get_int("maxclients"));
    let (mut max_in, mut max_out) = (c.qbuf.len(), c.out.len());
    for o in s.other_clients() {
        max_in = max_in.max(o.qbuf.len());
        max_out = max_out.max(o.out.len());
    }
    kv.put("client_recent_max_input_buffer", &max_in);
    kv.put("client_recent_max_output_buffer", &max_out);
    // Clients in blocking commands and those waiting out CLIENT PAUSE count as blocked, as in Redis.
    let paused = s.other_clients().filter(|o| o.paused).count() + c.paused as usize;
    kv.put("blocked_clients", &(paused + s.blocking.blocked));
    kv.put("tracking_clients", &s.tracking.clients);
    kv.put("clients_in_timeout_table", &0);
}

fn section_memory(s: &Server, out: &mut String) {
    let mut kv = Fields(out);
    let used = alloc::used();
    let rss = alloc::rss();
    let peak = alloc::peak().max(used);
    kv.put("used_memory", &used);
    kv.put("used_memory_human", &human_bytes(used as u64));
    kv.put("used_memory_rss", &rss);
    kv.put("used_memory_rss_human", &human_bytes(rss as u64));
    kv.put("used_memory_peak", &peak);
    kv.put("used_memory_peak_human", &human_bytes(peak as u64));
    kv.put(
        "used_memory_peak_perc",
        &format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64),
    );
    let overhead: usize = s.ks.dbs().map(|d| d.table().bucket_bytes()).sum();
    kv.put("used_memory_dataset", &used);
    kv.put("used_memory_overhead", &overhead);
    kv.put("used_memory_startup", &0);
    kv.put("allocator_allocated", &used);
    // Small blocks live in the size classes' chunks, used or free.
    kv.put("allocator_slab", &crate::alloc::slab_bytes());
    kv.put("allocator_resident", &rss);
    kv.put("total_system_memory", &total_system_memory());
    let sc = s.scripts.as_ref();
    kv.put("used_memory_lua", &sc.map_or(0, |sc| sc.lua_bytes()));
    kv.put(
        "used_memory_scripts_eval",
        &sc.map_or(0, |sc| sc.body_bytes()),
    );
    kv.put("number_of_cached_scripts", &sc.map_or(0, |sc| sc.count()));
    kv.put("used_memory_scripts", &sc.map_or(0, |sc| sc.body_bytes()));
    let maxmemory = s.config.get_int("maxmemory");
    kv.put("maxmemory", &maxmemory);
    kv.put("maxmemory_human", &human_bytes(maxmemory as u64));
    kv.put("maxmemory_policy", &s.config.get_str("maxmemory-policy"));
    kv.put(
        "mem_fragmentation_ratio",
        &format!("{:.2}", rss as f64 / used.max(1) as f64),
    );
    kv.put("mem_not_counted_for_evict", &s.mem_not_counted_for_evict());
    let (mut replicas, mut normal) = (0usize, 0usize);
    for c in s.clients.iter().flatten() {
        if c.replica {
            replicas += c.memory();
        } else {
            normal += c.memory();
        }
    }
    kv.put("mem_clients_slaves", &replicas);
    kv.put("mem_clients_normal", &normal);
    kv.put("mem_aof_buffer", &s.aof.buffered());
    kv.put("mem_allocator", &"ember-slab+libc");
    let (compressed, saved) = ember_core::types::lz::stats();
    kv.put("compressed_values", &compressed);
    kv.put("compression_bytes_saved", &saved);
    kv.put(
        "compression_dictionary",
        &u64::from(s.ks.compression.dict()),
    );
    kv.put(
        "shared_field_names",
        &ember_core::types::packed::names::count(),
    );
    kv.put("lazyfree_pending_objects", &0);
}

fn section_persistence(s: &Server, out: &mut String) {
    let mut kv = Fields(out);
    kv.put("loading", &u8::from(s.loading.is_some()));
    if let Some((start, total, done)) = s.loading_progress() {
        kv.put("loading_start_time", &start);
        kv.put("loading_total_bytes", &total);
        kv.put("loading_loaded_bytes", &done);
        let perc = format!("{:.2}", done as f64 * 100.0 / total.max(1) as f64);
        kv.put("loading_loaded_perc", &perc);
    }
    kv.put("async_loading", &0);
    kv.put("current_cow_peak", &0);
    kv.put("current_cow_size", &0);
    kv.put("rdb_changes_since_last_save", &s.ks.dirty);
    kv.put("rdb_bgsave_in_progress", &u8::from(s.rdb.bgsave.is_some()));
    kv.put("rdb_last_save_time", &s.lastsave_s);
    let status = if s.rdb.last_bgsave_failed {
        "err"
    } else {
        "ok"
    };
    kv.put("rdb_last_bgsave_status", &status);
    kv.put(
        "rdb_last_bgsave_time_sec",
        &s.rdb.last_bgsave_time_s.map_or(-1, |t| t as i64),
    );
    kv.put(
        "rdb_current_bgsave_time_sec",
        &s.bgsave_elapsed_s().map_or(-1, |t| t as i64),
    );
    kv.put("rdb_saves", &s.rdb.saves);
    kv.put("rdb_last_cow_size", &0);
    let rewriting = s
        .rdb
        .bgsave
        .as_ref()
        .is_some_and(|b| matches!(b.purpose, crate::persist::Purpose::AofBase { .. }));
    kv.put("aof_enabled", &u8::from(s.aof.enabled()));
    kv.put("aof_rewrite_in_progress", &u8::from(rewriting));
    kv.put("aof_rewrite_scheduled", &u8::from(s.aof.rewrite_scheduled));
    kv.put("aof_last_rewrite_time_sec", &-1);
    kv.put("aof_current_rewrite_time_sec", &-1);
    let status = |failed: bool| if failed { "err" } else { "ok" };
    kv.put(
        "aof_last_bgrewrite_status",
        &status(s.aof.last_rewrite_failed),
    );
    kv.put("aof_last_write_status", &status(s.aof.last_write_failed));
    if s.aof.enabled() {
        kv.put("aof_current_size", &s.aof.current_size);
        kv.put("aof_base_size", &s.aof.base_size);
        kv.put("aof_pending_rewrite", &0);
        kv.put("aof_buffer_length", &0);
        kv.put("aof_pending_bio_fsync", &0);
        kv.put("aof_delayed_fsync", &0);
    }
    kv.put("module_fork_in_progress", &0);
}

fn section_stats(s: &Server, out: &mut String) {
    let mut kv = Fields(out);
    kv.put("total_connections_received", &s.stats.connections_received);
    kv.put("total_commands_processed", &s.stats.commands_processed);
    kv.put("instantaneous_ops_per_sec", &s.ops_per_sec());
    kv.put("total_net_input_bytes", &s.stats.net_in);
    kv.put("total_net_output_bytes", &s.stats.net_out);
    kv.put("rejected_connections", &s.stats.rejected_connections);
    kv.put("sync_full", &s.stats.sync_full);
    kv.put("sync_partial_ok", &s.stats.sync_partial_ok);
    kv.put("sync_partial_err", &s.stats.sync_partial_err);
    kv.put("expired_keys", &s.ks.stats.expired_keys);
    kv.put("evicted_keys", &s.ks.stats.evicted_keys);
    kv.put("evicted_clients", &s.stats.evicted_clients);
    kv.put("keyspace_hits", &s.ks.stats.keyspace_hits);
    kv.put("keyspace_misses", &s.ks.stats.keyspace_misses);
    kv.put("pubsub_channels", &0);
    kv.put("pubsub_patterns", &0);
    kv.put("latest_fork_usec", &0);
    kv.put("total_forks", &0);
    // MIGRATE (which would cache connections to other servers) is not implemented.
    kv.put("migrate_cached_sockets", &0);
    kv.put(
        "client_query_buffer_limit_disconnections",
        &s.stats.client_qbuf_limit_disconnections,
    );
    kv.put(
        "client_output_buffer_limit_disconnections",
        &s.stats.client_outbuf_limit_disconnections,
    );
    kv.put("tracking_total_keys", &s.tracking.table.len());
    kv.put("tracking_total_items", &s.tracking.items());
    kv.put("tracking_total_prefixes", &s.tracking.prefixes.len());
    kv.put("total_error_replies", &s.stats.error_replies);
    kv.put("unexpected_error_replies", &0);
    kv.put("dump_payload_sanitizations", &0);
    kv.put("total_reads_processed", &0);
    kv.put("total_writes_processed", &0);
}

fn section_replication(s: &Server, out: &mut String) {
    let now = sys::now_ms();
    let mut kv = Fields(out);
    let replicas: Vec<&crate::client::Client> = s
        .prop
        .replicas
        .iter()
        .filter_map(|&fd| s.clients.get(fd as usize)?.as_deref())
        .collect();
    let offset = match &s.master {
        Some(link) => link.offset,
        None => s.prop.offset,
    };
    if let Some(link) = &s.master {
        kv.put("role", &"slave");
        kv.put("master_host", &link.host);
        kv.put("master_port", &link.port);
        kv.put("master_link_status", &if link.up() { "up" } else { "down" });
        let io_ago = if link.up() {
            now.saturating_sub(link.last_io_ms) / 1000
        } else {
            u64::MAX
        };
        kv.put(
            "master_last_io_seconds_ago",
            &if link.up() { io_ago as i64 } else { -1 },
        );
        let syncing = link.state == crate::replica::LinkState::Syncing;
        kv.put("master_sync_in_progress", &u8::from(syncing));
        kv.put("slave_read_repl_offset", &link.offset);
        kv.put("slave_repl_offset", &link.offset);
        if !link.up() {
            kv.put(
                "master_link_down_since_seconds",
                &(now.saturating_sub(link.down_since_ms) / 1000),
            );
        }
        kv.put("slave_priority", &s.config.get_int("replica-priority"));
        kv.put(
            "slave_read_only",
            &u8::from(s.config.get_bool("replica-read-only")),
        );
        kv.put("replica_announced", &1);
    } else {
        kv.put("role", &"master");
    }
    kv.put("connected_slaves", &replicas.len());
    for (i, r) in replicas.iter().enumerate() {
        kv.put(
            &format!("slave{i}"),
            &format!(
                "ip={},port={},state=online,offset={},lag={}",
                r.ip(),
                r.replica_port,
                r.replica_ack_offset,
                now.saturating_sub(r.last_interaction_ms) / 1000
            ),
        );
    }
    kv.put("master_failover_state", &"no-failover");
    kv.put("master_replid", &s.replid);
    kv.put(
        "master_replid2",
        &"0000000000000000000000000000000000000000",
    );
    kv.put("master_repl_offset", &offset);
    kv.put("second_repl_offset", &-1);
    let histlen = s.prop.backlog.as_ref().map_or(0, |b| b.len() as u64);
    kv.put("repl_backlog_active", &u8::from(s.prop.backlog.is_some()));
    kv.put("repl_backlog_size", &s.config.get_int("repl-backlog-size"));
    kv.put(
        "repl_backlog_first_byte_offset",
        &if histlen > 0 {
            s.prop.offset + 1 - histlen
        } else {
            0
        },
    );
    kv.put("repl_backlog_histlen", &histlen);
}

fn section_cpu(out: &mut String) {
    let mut kv = Fields(out);
    let (user, sys_t) = sys::cpu_times();
    kv.put("used_cpu_sys", &format!("{sys_t:.6}"));
    kv.put("used_cpu_user", &format!("{user:.6}"));
    kv.put("used_cpu_sys_children", &"0.000000");
    kv.put("used_cpu_user_children", &"0.000000");
}

fn section_errorstats(s: &Server, out: &mut String) {
    let mut errs: Vec<_> = s.stats.errors.iter().collect();
    errs.sort();
    for (code, n) in errs {
        let _ = write!(out, "errorstat_{code}:count={n}\r\n");
    }
}

fn section_cluster(out: &mut String) {
    let mut kv = Fields(out);
    kv.put("cluster_enabled", &0);
}

fn section_keyspace(s: &Server, out: &mut String) {
    for (i, db) in s.ks.dbs().enumerate() {
        if !db.is_empty() {
            let _ = write!(
                out,
                "db{i}:keys={},expires={},avg_ttl={}\r\n",
                db.len(),
                db.volatile_len(),
                db.avg_ttl_ms
            );
        }
    }
}

fn section_commandstats(s: &Server, out: &mut String) {
    for (i, e) in s.commands.entries.iter().enumerate() {
        let st = &s.cmd_stats[i];
        if st.calls == 0 && st.rejected == 0 && st.failed == 0 {
            continue;
        }
        let per = if st.calls > 0 {
            st.usec as f64 / st.calls as f64
        } else {
            0.0
        };
        let _ = write!(
            out,
            "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
            e.info.name, st.calls, st.usec, per, st.rejected, st.failed
        );
    }
}

/// Writes `field:value` lines.
struct Fields<'a>(&'a mut String);

impl Fields<'_> {
    fn put(&mut self, k: &str, v: &dyn std::fmt::Display) {
        let _ = write!(self.0, "{k}:{v}\r\n");
    }
}

/// `1.50M`-style sizes as INFO prints them.
pub fn human_bytes(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if n < 1024 * 1024 {
        format!("{:.2}K", f / 1024.0)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.2}M", f / 1048576.0)
    } else {
        format!("{:.2}G", f / 1073741824.0)
    }
}

fn os_name() -> String {
    // SAFETY: utsname is plain data that uname fills; we read it only on success.
    let mut u: libc::utsname = unsafe { std::mem::zeroed() };
    if crate::syscall!(uname(&mut u)).is_err() {
        return "unknown".into();
    }
    let field = |f: &[libc::c_char]| {
        let bytes: Vec<u8> = f
            .iter()
            .take_while(|&&c| c != 0)
            .map(|&c| c as u8)
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    };
    format!(
        "{} {} {}",
        field(&u.sysname),
        field(&u.release),
        field(&u.machine)
    )
}

fn total_system_memory() -> u64 {
    // SAFETY: sysconf has no memory-safety preconditions.
    let (pages, size) = unsafe {
        (
            libc::sysconf(libc::_SC_PHYS_PAGES),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (pages.max(0) as u64) * (size.max(0) as u64)
}
