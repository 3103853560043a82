//! ember-server: a Redis 7 compatible server over ember-core.
//!
//! Usage is redis-server's: `ember-server [/path/to/redis.conf] [--name value ...]`.
//!
//! # Layout
//! - [`server`]: listeners, clients, the event loop, the cron and command dispatch.
//! - [`client`]: per-connection state and buffers.
//! - [`event`]: the `Poller` trait with its epoll and select backends.
//! - [`cmd`]: the command table and the server-only command families (connection, CLIENT, CONFIG,
//!   INFO, COMMAND, admin).
//! - [`config`]: redis.conf parsing, `--name value` arguments, CONFIG GET/SET/REWRITE.
//! - [`blocking`]: clients parked in blocking commands, served when their keys change.
//! - [`net`]: binding listeners and accepting connections; protected mode.
//! - [`observe`]: MONITOR feeds, the slow log and latency samples.
//! - [`pubsub`]: subscriptions, message delivery and keyspace notifications.
//! - [`tracking`]: client-side caching (CLIENT TRACKING) and invalidation messages.
//! - [`log`]: Redis-style log lines.
//! - [`sys`]: the `syscall!` helper and small libc wrappers.
//! - [`alloc`]: the counting allocator behind `used_memory`.

// `syscall!` expands its arguments inside `unsafe`; every call passes plain values (see sys.rs).
#![allow(clippy::macro_metavars_in_unsafe)]

mod alloc;
mod aof;
mod blocking;
mod client;
mod cmd;
mod config;
mod event;
mod function;
mod log;
mod net;
mod observe;
mod persist;
mod propagate;
mod pubsub;
mod replica;
mod script;
mod script_json;
mod server;
mod sha1;
mod sys;
mod tracking;

use std::sync::atomic::Ordering;

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;

extern "C" fn on_signal(_sig: libc::c_int) {
    server::SHUTDOWN_SIGNAL.store(true, Ordering::Relaxed);
}

fn install_signals() {
    let handler: extern "C" fn(libc::c_int) = on_signal;
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe; SIG_IGN for SIGPIPE
    // makes writes to closed sockets return EPIPE instead of killing the process.
    unsafe {
        libc::signal(libc::SIGTERM, handler as libc::sighandler_t);
        libc::signal(libc::SIGINT, handler as libc::sighandler_t);
        libc::signal(libc::SIGPIPE, libc::SIG_IGN);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "-v" || a == "--version") {
        println!(
            "Ember server v={} (Redis compatible v={}) bits={} malloc=libc",
            ember_core::VERSION,
            ember_core::REDIS_VERSION,
            usize::BITS
        );
        return;
    }
    if args.iter().any(|a| a == "-h" || a == "--help") {
        println!("Usage: ember-server [/path/to/redis.conf] [--name value ...]");
        println!("       ember-server --port 7777 --loglevel verbose");
        println!(
            "Defaults: 127.0.0.1:6379, no persistence configured until the persistence work lands."
        );
        return;
    }
    let config = match config::Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    if let Err(e) = log::configure(&config.get_str("loglevel"), &config.get_str("logfile")) {
        eprintln!("Can't open the log file: {e}");
        std::process::exit(1);
    }
    log_at!(Warning, "oO0OoO0OoO0Oo Ember is starting oO0OoO0OoO0Oo");
    log_at!(
        Warning,
        "Ember version={} (Redis compatible version={}), bits={}, pid={}, just started",
        ember_core::VERSION,
        ember_core::REDIS_VERSION,
        usize::BITS,
        std::process::id()
    );
    if config.file.is_none() {
        log_at!(Warning, "Warning: no config file specified, using the default config. In order to specify a config file use ember-server /path/to/redis.conf");
    }
    let dir = config.get_str("dir");
    if !dir.is_empty() {
        if let Err(e) = std::env::set_current_dir(&dir) {
            log_at!(Warning, "Can't chdir to '{dir}': {e}");
            std::process::exit(1);
        }
    }
    install_signals();
    let mut srv = match server::Server::new(config) {
        Ok(s) => s,
        Err(e) => {
            log_at!(
                Warning,
                "Failed creating the event loop. Error message: '{e}'"
            );
            std::process::exit(1);
        }
    };
    srv.remove_stale_temp_files();
    let appendonly = srv.config.get_bool("appendonly");
    let loaded = if appendonly && srv.aof_exists() {
        srv.load_aof().map(|()| false)
    } else {
        srv.start_rdb_load()
    };
    let rdb_loading = loaded.unwrap_or_else(|e| persist::exit_on_load_error(&e));
    if appendonly {
        srv.aof_after_load = true;
    }
    // The first second of loading happens before the port opens; a bigger file goes on in the
    // event loop, where commands get -LOADING until it is done.
    if rdb_loading || appendonly {
        srv.finish_loading_slice(STARTUP_LOAD_SLICE_US);
    }
    if let Err(e) = srv.listen() {
        log_at!(Warning, "Warning: {e}");
        // Redis's wording: scripts (the Redis test suite among them) look for it.
        log_at!(
            Warning,
            "Failed listening on port {} (TCP), aborting.",
            srv.config.get_int("port")
        );
        std::process::exit(1);
    }
    let pidfile = srv.config.get_str("pidfile");
    if !pidfile.is_empty() {
        let _ = std::fs::write(&pidfile, format!("{}\n", std::process::id()));
    }
    if srv.config.get_bool("always-show-logo") {
        show_logo(srv.tcp_port);
    }
    log_at!(Notice, "Running mode=standalone, port={}.", srv.tcp_port);
    log_at!(Notice, "Event loop backend: {}", srv.poller.name());
    log_at!(Notice, "Server initialized");
    log_at!(Notice, "Ready to accept connections");
    // `replicaof host port` in the configuration: follow that master from the start.
    let replicaof = srv.config.get_str("replicaof").to_string();
    if let Some((host, port)) = replicaof.split_once(' ') {
        match port.trim().parse::<u16>() {
            Ok(port) => {
                srv.replicate_from(host.trim().to_string(), port);
            }
            Err(_) => log_at!(Warning, "Invalid master port in 'replicaof {replicaof}'"),
        }
    }
    if let Err(e) = srv.run() {
        log_at!(Warning, "Event loop failed: {e}");
        std::process::exit(1);
    }
}

/// The startup banner `always-show-logo yes` asks for. Like Redis's, it names the port and the
/// PID on lines of their own (tools such as Redis's test suite wait for " PID: <pid>").
/// Microseconds of loading before the port opens.
const STARTUP_LOAD_SLICE_US: u64 = 1_000_000;

fn show_logo(port: u16) {
    let lines = [
        String::from("           ,"),
        format!(
            "          ( )       Ember {} (Redis {} compatible) 64 bit",
            env!("CARGO_PKG_VERSION"),
            ember_core::REDIS_VERSION
        ),
        String::from("         (   )"),
        String::from("        ( ( ) )     Running in standalone mode"),
        format!("         '---'      Port: {port}"),
        format!("                    PID: {}", std::process::id()),
    ];
    for line in lines {
        log_at!(Notice, "{line}");
    }
}
