//! The server: listeners, clients, the event loop, the cron, and command dispatch.
//!
//! One thread runs everything, like Redis: the poller reports ready sockets, each client's query buffer
//! is parsed and executed command by command, replies are appended to its output buffer, and all
//! buffers with pending output are flushed before the loop sleeps again. The cron runs `hz` times a
//! second for active expiry, incremental rehashing, client timeouts and statistics.

use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::ops::Range;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixListener;
use std::sync::atomic::{AtomicBool, Ordering};

use ember_core::cmd::{
    eq_ci, err, flags, CmdError, CmdResult, CommandInfo, CoreConfig, Effects, ExecCtx,
};
use ember_core::journal::{Journal, Record};
use ember_core::keyspace::{EvictionPolicy, Keyspace};
use ember_core::resp::{parse_command, Argv, ParseLimits, Parsed, ReplyWriter};

use crate::client::{Client, ReplyMode, SavedArgv, READ_CHUNK, READ_PER_EVENT_MAX};
use crate::cmd::{CommandTable, Handler};
use crate::config::Config;
use crate::event::{new_poller, Event, Interest, Poller};
use crate::net::{accept_tcp, accept_unix, bind_tcp, is_loopback, PROTECTED_MODE_ERROR};
use crate::{log_at, sys};

/// Set by the SIGTERM/SIGINT handler; the loop shuts down when it sees it.
pub static SHUTDOWN_SIGNAL: AtomicBool = AtomicBool::new(false);

/// Slowlog arguments kept per entry, and bytes kept per argument (Redis's limits).
pub const SLOWLOG_ARGS_MAX: usize = 32;
pub const SLOWLOG_ARG_BYTES_MAX: usize = 128;

/// Samples kept per latency event.
pub const LATENCY_HISTORY_MAX: usize = 160;

/// Keys evicted at most per eviction pass, so one command never stalls the server for long.
const EVICTIONS_PER_CALL_MAX: usize = 10_000;

/// Keys examined per active-expire call; the cron repeats calls within its time budget.
const EXPIRE_BATCH_KEYS: usize = 200;

/// A client's output buffer keeps at most this much capacity once everything was written (Redis
/// keeps its 16 KiB static reply buffer); a bigger one is freed, so output that went to the socket
/// (invalidation messages, a burst of big replies) stops counting toward `maxmemory`, where it
/// would make eviction feed on itself.
const OUT_RETAIN_MAX: usize = 16 * 1024;

struct Listener {
    fd: RawFd,
    unix: bool,
    // Kept so the socket stays open; the fd above is borrowed from it.
    _tcp: Option<TcpListener>,
    _unix: Option<UnixListener>,
}

#[derive(Default, Clone)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Latency histogram of the command, or of each of its subcommands (by position).
    pub latency: Option<Box<LatencyHistogram>>,
    pub sub_latency: Vec<Option<Box<LatencyHistogram>>>,
}

/// Buckets of a command latency histogram: bucket `i` counts calls that took under 2^(i+1)
/// microseconds (and at least 2^i, bucket 0 from zero).
pub const LATENCY_BUCKETS: usize = 40;

/// LATENCY HISTOGRAM's per-command data.
#[derive(Clone)]
pub struct LatencyHistogram {
    pub calls: u64,
    pub buckets: [u64; LATENCY_BUCKETS],
}

impl LatencyHistogram {
    pub fn record(&mut self, us: u64) {
        self.calls += 1;
        let i = (63 - us.max(1).leading_zeros()) as usize;
        self.buckets[i.min(LATENCY_BUCKETS - 1)] += 1;
    }
}

pub struct SlowlogEntry {
    pub id: u64,
    pub time_s: u64,
    pub duration_us: u64,
    pub args: Vec<Vec<u8>>,
    pub addr: String,
    pub name: Vec<u8>,
}

#[derive(Default)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub rejected_connections: u64,
    pub net_in: u64,
    pub net_out: u64,
    pub error_replies: u64,
    pub errors: HashMap<String, u64>,
    /// (time ms, commands processed) samples for instantaneous_ops_per_sec.
    pub ops_samples: VecDeque<(u64, u64)>,
    pub client_qbuf_limit_disconnections: u64,
    pub client_outbuf_limit_disconnections: u64,
    /// Clients closed by `maxmemory-clients` (INFO's evicted_clients).
    pub evicted_clients: u64,
    /// Replicas served a full resynchronization, or a continuation of their stream.
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

/// Journal records and expired keys copied out so their handlers can use the server, in buffers
/// kept between commands so the steady state allocates nothing. A `None` record is an expired key.
#[derive(Default)]
struct JournalCopy {
    keys: Vec<u8>,
    records: Vec<(usize, Option<Record>, Range<usize>)>,
}

impl JournalCopy {
    fn push(&mut self, db: usize, record: Option<Record>, key: &[u8]) {
        let start = self.keys.len();
        self.keys.extend_from_slice(key);
        self.records.push((db, record, start..self.keys.len()));
    }
}

pub struct Pause {
    pub until_ms: u64,
    /// Only write commands wait (CLIENT PAUSE ... WRITE).
    pub write_only: bool,
}

/// Config values read on every command or loop turn, copied out of [`Config`] by `apply_config`.
pub struct HotConfig {
    pub qbuf_limit: usize,
    pub latency_threshold_ms: u64,
    pub slowlog_threshold_us: i64,
    pub slowlog_max_len: usize,
    /// `client-output-buffer-limit` (hard bytes, soft bytes, soft seconds) for normal clients...
    pub output_limit: (u64, u64, u64),
    /// ...for replicas...
    pub replica_limit: (u64, u64, u64),
    /// ...and for pub/sub subscribers.
    pub pubsub_limit: (u64, u64, u64),
    pub maxmemory: u64,
    /// `maxmemory-clients` in bytes (a percentage resolved against `maxmemory`); 0 when off.
    pub maxmemory_clients: u64,
    pub eviction_policy: EvictionPolicy,
    pub eviction_samples: usize,
    pub min_replicas_to_write: i64,
    pub min_replicas_max_lag: i64,
    pub latency_tracking: bool,
    pub tracking_table_max_keys: usize,
}

impl HotConfig {
    fn new(config: &Config) -> Self {
        let output_limits = config.output_limits();
        HotConfig {
            qbuf_limit: config.get_int("client-query-buffer-limit") as usize,
            latency_threshold_ms: config.get_int("latency-monitor-threshold") as u64,
            slowlog_threshold_us: config.get_int("slowlog-log-slower-than"),
            slowlog_max_len: config.get_int("slowlog-max-len").max(0) as usize,
            output_limit: output_limits[0],
            replica_limit: output_limits[1],
            pubsub_limit: output_limits[2],
            maxmemory: config.get_int("maxmemory").max(0) as u64,
            maxmemory_clients: client_eviction_limit(config),
            eviction_policy: EvictionPolicy::from_name(&config.get_str("maxmemory-policy"))
                .unwrap_or(EvictionPolicy::NoEviction),
            eviction_samples: config.get_int("maxmemory-samples").clamp(1, 64) as usize,
            min_replicas_to_write: config.get_int("min-replicas-to-write"),
            min_replicas_max_lag: config.get_int("min-replicas-max-lag"),
            latency_tracking: config.get_bool("latency-tracking"),
            tracking_table_max_keys: config.get_int("tracking-table-max-keys").max(0) as usize,
        }
    }
}

/// The lowest `maxmemory-clients` takes effect at (Redis's floor, so a tiny setting does not evict
/// every connection, including the one that could raise it again).
const CLIENT_EVICTION_FLOOR: u64 = 128 * 1024;

/// `maxmemory-clients` in bytes: the value, or its percentage of `maxmemory`; 0 when off.
fn client_eviction_limit(config: &Config) -> u64 {
    let raw = config.get_str("maxmemory-clients");
    let bytes = match raw.strip_suffix('%') {
        Some(pct) => {
            let pct: u128 = pct.parse().unwrap_or(0);
            let max = config.get_int("maxmemory").max(0) as u128;
            u64::try_from(max * pct / 100).unwrap_or(u64::MAX)
        }
        None => config.get_int("maxmemory-clients").max(0) as u64,
    };
    if bytes == 0 {
        0
    } else {
        bytes.max(CLIENT_EVICTION_FLOOR)
    }
}

pub struct Server {
    pub config: Config,
    /// Modified keys and keyspace events recorded by the running command.
    pub journal: Journal,
    journal_copy: JournalCopy,
    pub pubsub: crate::pubsub::Registry,
    pub tracking: crate::tracking::TrackingState,
    pub blocking: crate::blocking::BlockingState,
    /// Clients watching each (db, key).
    pub watchers: HashMap<(u32, Vec<u8>), Vec<RawFd>>,
    pub hot: HotConfig,
    pub core_cfg: CoreConfig,
    pub ks: Keyspace,
    pub commands: CommandTable,
    pub cmd_stats: Vec<CmdStat>,
    pub poller: Box<dyn Poller>,
    listeners: Vec<Listener>,
    /// Clients indexed by file descriptor.
    pub clients: Vec<Option<Box<Client>>>,
    pub client_count: usize,
    next_client_id: u64,
    pub(crate) pending_writes: Vec<RawFd>,
    flush_scratch: Vec<RawFd>,
    pub stats: Stats,
    /// Memory of all clients at the loop's last client-eviction check (`maxmemory-clients`).
    clients_mem_total: u64,
    pub slowlog: VecDeque<SlowlogEntry>,
    pub slowlog_next_id: u64,
    pub latency: HashMap<&'static str, VecDeque<(u64, u64)>>,
    pub latency_max: HashMap<&'static str, u64>,
    pub start_ms: u64,
    pub run_id: String,
    pub replid: String,
    /// The Lua engine, created by the first script.
    pub scripts: Option<crate::script::Scripts>,
    /// SCRIPT KILL was asked while a script is busy.
    pub script_kill_requested: bool,
    /// A script (or function) has run past `busy-reply-threshold` and serves other clients.
    pub script_busy: bool,
    /// The script running is a function (FCALL), which FUNCTION KILL stops, not SCRIPT KILL.
    pub running_function: bool,
    /// The function running: its name, the FCALL that runs it and when it started (FUNCTION
    /// STATS).
    pub running_fcall: Option<(String, Vec<Vec<u8>>, u64)>,
    /// The function libraries (FUNCTION LOAD), in their own interpreter.
    pub functions: Option<crate::function::Functions>,
    /// This server's master, while it is a replica (REPLICAOF host port).
    pub master: Option<crate::replica::MasterLink>,
    pub lastsave_s: u64,
    /// RDB saving: a running BGSAVE, the last save's outcome.
    pub rdb: crate::persist::RdbState,
    /// The append-only file.
    pub aof: crate::aof::Aof,
    /// The RDB file being loaded at startup (commands get `-LOADING` meanwhile).
    pub loading: Option<crate::persist::Loading>,
    /// `appendonly yes` with no AOF yet: it starts once the RDB file is loaded.
    pub aof_after_load: bool,
    /// The command stream for the AOF and replicas.
    pub prop: crate::propagate::Propagation,
    pub pause: Option<Pause>,
    pub shutdown_requested: bool,
    /// SHUTDOWN NOSAVE / FORCE for the pending shutdown.
    pub shutdown_nosave: bool,
    pub shutdown_force: bool,
    /// A command is running: invalidations for its own client wait until after its reply.
    pub executing: bool,
    /// DEBUG PAUSE-CRON: the cron does nothing while set.
    pub cron_paused: bool,
    pub monitors: Vec<RawFd>,
    pub tcp_port: u16,
    pub unix_path: Option<String>,
    pub executable: String,
    pub hz: u64,
    cron_loops: u64,
}

/// Microseconds of BGSAVE (or startup loading) work per event-loop turn.
const BGSAVE_SLICE_US: u64 = 1000;

impl Server {
    /// One slice of the startup load; when it completes, the AOF starts if it waited for it. A
    /// bad file ends the process, as it would have before the port opened.
    pub fn finish_loading_slice(&mut self, budget_us: u64) {
        match self.loading_step(budget_us) {
            Ok(false) => {}
            Ok(true) => {
                if std::mem::take(&mut self.aof_after_load) {
                    if let Err(e) = self.aof_enable(true) {
                        log_at!(Warning, "Can't open the append-only file: {e}");
                        std::process::exit(1);
                    }
                }
            }
            Err(e) => crate::persist::exit_on_load_error(&e),
        }
    }

    pub fn new(config: Config) -> io::Result<Self> {
        let seed = random_seed();
        let databases = config.get_int("databases").max(1) as usize;
        let poller = new_poller(&config.get_str("io-backend"))?;
        let commands = CommandTable::build();
        let cmd_stats = vec![CmdStat::default(); commands.len()];
        let now = sys::now_ms();
        let mut s = Server {
            core_cfg: CoreConfig::default(),
            ks: Keyspace::new(databases, seed),
            commands,
            cmd_stats,
            poller,
            listeners: Vec::new(),
            clients: Vec::new(),
            client_count: 0,
            next_client_id: 1,
            pending_writes: Vec::new(),
            flush_scratch: Vec::new(),
            stats: Stats::default(),
            clients_mem_total: 0,
            slowlog: VecDeque::new(),
            slowlog_next_id: 0,
            latency: HashMap::new(),
            latency_max: HashMap::new(),
            start_ms: now,
            run_id: hex_id(seed),
            replid: hex_id(seed.rotate_left(17) ^ 0x5bd1_e995),
            master: None,
            scripts: None,
            script_kill_requested: false,
            script_busy: false,
            running_function: false,
            running_fcall: None,
            functions: None,
            lastsave_s: now / 1000,
            rdb: Default::default(),
            aof: Default::default(),
            loading: None,
            aof_after_load: false,
            prop: Default::default(),
            pause: None,
            shutdown_requested: false,
            shutdown_nosave: false,
            shutdown_force: false,
            executing: false,
            cron_paused: false,
            monitors: Vec::new(),
            tcp_port: 0,
            unix_path: None,
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            hz: 10,
            cron_loops: 0,
            hot: HotConfig::new(&config),
            journal: Journal::default(),
            journal_copy: JournalCopy::default(),
            pubsub: Default::default(),
            tracking: Default::default(),
            blocking: Default::default(),
            watchers: HashMap::new(),
            config,
        };
        s.apply_config();
        Ok(s)
    }

    /// Copies config values the hot paths read into plain fields.
    pub fn apply_config(&mut self) {
        let events = self.config.get_str("notify-keyspace-events");
        self.journal.event_mask = ember_core::journal::class::parse(events.as_bytes()).unwrap_or(0);
        self.refresh_expiry_logging();
        self.core_cfg.proto_max_bulk_len = self.config.get_int("proto-max-bulk-len") as u64;
        let size = |name: &str| self.config.get_int(name).max(0) as usize;
        self.core_cfg.hash_max_listpack_entries = size("hash-max-listpack-entries");
        self.core_cfg.hash_max_listpack_value = size("hash-max-listpack-value");
        self.core_cfg.set_max_intset_entries = size("set-max-intset-entries");
        self.core_cfg.set_max_listpack_entries = size("set-max-listpack-entries");
        self.core_cfg.set_max_listpack_value = size("set-max-listpack-value");
        self.core_cfg.zset_max_listpack_entries = size("zset-max-listpack-entries");
        self.core_cfg.zset_max_listpack_value = size("zset-max-listpack-value");
        self.core_cfg.list_max_listpack_size = self.config.get_int("list-max-listpack-size");
        self.core_cfg.list_compress_depth = size("list-compress-depth");
        self.core_cfg.value_compression = self.config.get_bool("value-compression");
        self.core_cfg.value_compression_min_size = size("value-compression-min-size");
        self.core_cfg.stream_node_max_bytes = size("stream-node-max-bytes");
        self.aof.fsync = match self.config.get_str("appendfsync").as_str() {
            "always" => crate::aof::Fsync::Always,
            "no" => crate::aof::Fsync::No,
            _ => crate::aof::Fsync::EverySec,
        };
        self.core_cfg.stream_node_max_entries = size("stream-node-max-entries");
        self.hz = self.config.get_int("hz").clamp(1, 500) as u64;
        self.hot = HotConfig::new(&self.config);
        if self.hot.maxmemory == 0 {
            self.ks.set_grow_budget(usize::MAX);
        }
        // Redis stops sharing small integers when maxmemory is set with an LRU or LFU policy
        // (every key then needs its own access clock); OBJECT REFCOUNT shows it.
        self.ks.shared_integers = self.hot.maxmemory == 0
            || !matches!(
                self.hot.eviction_policy,
                EvictionPolicy::AllKeysLru
                    | EvictionPolicy::VolatileLru
                    | EvictionPolicy::AllKeysLfu
                    | EvictionPolicy::VolatileLfu
            );
        let lfu = matches!(
            self.hot.eviction_policy,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        )
        .then(|| ember_core::lfu::Lfu {
            log_factor: self.config.get_int("lfu-log-factor").max(0) as u64,
            decay_minutes: self.config.get_int("lfu-decay-time").max(0) as u64,
        });
        self.ks.set_lfu(lfu);
        crate::log::set_level(&self.config.get_str("loglevel"));
    }

    /// Opens the TCP and Unix listeners the config asks for.
    pub fn listen(&mut self) -> io::Result<()> {
        let tcp = self.bind_tcp_listeners()?;
        for l in tcp {
            self.add_listener(l)?;
        }
        let path = self.config.get_str("unixsocket");
        if !path.is_empty() {
            let _ = std::fs::remove_file(&path);
            let l = UnixListener::bind(&path)?;
            l.set_nonblocking(true)?;
            let perm = self.config.get_int("unixsocketperm");
            if perm != 0 {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(perm as u32))?;
            }
            let fd = l.as_raw_fd();
            self.poller.add(fd, Interest::READ)?;
            self.listeners.push(Listener {
                fd,
                unix: true,
                _tcp: None,
                _unix: Some(l),
            });
            self.unix_path = Some(path);
        }
        if self.listeners.is_empty() {
            return Err(io::Error::other(
                "Configured to not listen anywhere, exiting.",
            ));
        }
        Ok(())
    }

    fn add_listener(&mut self, l: TcpListener) -> io::Result<()> {
        self.tcp_port = l.local_addr()?.port();
        let fd = l.as_raw_fd();
        self.poller.add(fd, Interest::READ)?;
        self.listeners.push(Listener {
            fd,
            unix: false,
            _tcp: Some(l),
            _unix: None,
        });
        Ok(())
    }

    /// Binds the TCP sockets `bind` and `port` ask for (`-addr` marks an address that may fail).
    fn bind_tcp_listeners(&self) -> io::Result<Vec<TcpListener>> {
        let port = self.config.get_int("port") as u16;
        let backlog = self.config.get_int("tcp-backlog") as i32;
        let mut out = Vec::new();
        if port == 0 {
            return Ok(out);
        }
        for addr in self.config.get_str("bind").split_whitespace() {
            let (optional, addr) = match addr.strip_prefix('-') {
                Some(a) => (true, a),
                None => (false, addr),
            };
            let ip: IpAddr = match addr {
                "*" => IpAddr::from([0, 0, 0, 0]),
                "::*" => IpAddr::from([0u16; 8]),
                a => a
                    .parse()
                    .map_err(|_| io::Error::other(format!("invalid bind address '{a}'")))?,
            };
            match bind_tcp(SocketAddr::new(ip, port), backlog) {
                Ok(l) => out.push(l),
                Err(e) if optional => log_at!(Verbose, "Skipping optional bind {ip}:{port}: {e}"),
                Err(e) => {
                    return Err(io::Error::new(
                        e.kind(),
                        format!("Could not create server TCP listening socket {ip}:{port}: {e}"),
                    ))
                }
            }
        }
        Ok(out)
    }

    /// CONFIG SET port/bind: closes the TCP listeners and binds what the config now says. The caller
    /// restores the old values and calls this again when it fails.
    pub fn rebind(&mut self) -> io::Result<()> {
        let old: Vec<RawFd> = self
            .listeners
            .iter()
            .filter(|l| !l.unix)
            .map(|l| l.fd)
            .collect();
        for fd in old {
            let _ = self.poller.remove(fd);
        }
        self.listeners.retain(|l| l.unix);
        for l in self.bind_tcp_listeners()? {
            self.add_listener(l)?;
        }
        Ok(())
    }

    /// Runs the event loop until shutdown.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events: Vec<Event> = Vec::with_capacity(1024);
        let mut next_cron = sys::now_ms();
        loop {
            let now = sys::now_ms();
            let wake = self
                .next_block_deadline()
                .map_or(next_cron, |d| d.min(next_cron));
            // A running BGSAVE or load works between events: the loop only checks for them.
            let timeout = match (&self.rdb.bgsave, &self.loading) {
                (None, None) => wake.saturating_sub(now),
                _ => 0,
            };
            self.poller.poll(&mut events, timeout)?;
            for ev in events.iter().copied() {
                self.dispatch(ev, true);
            }
            if self
                .next_block_deadline()
                .is_some_and(|d| d <= sys::now_ms())
            {
                self.expire_blocked(sys::now_ms());
            }
            self.serve_ready_keys();
            self.tracking_before_sleep();
            // The AOF is written (and under `always` fsynced) before the replies go out.
            self.aof_flush(false);
            self.flush_pending();
            self.evict_clients();
            if self.rdb.bgsave.is_some() {
                self.bgsave_step(BGSAVE_SLICE_US);
            }
            if self.loading.is_some() {
                self.finish_loading_slice(BGSAVE_SLICE_US);
            }
            let now = sys::now_ms();
            if now >= next_cron {
                self.cron(now);
                next_cron = now + 1000 / self.hz;
            }
            if SHUTDOWN_SIGNAL.load(Ordering::Relaxed) {
                log_at!(Warning, "Received SIGTERM scheduling shutdown...");
                self.shutdown_requested = true;
            }
            if self.shutdown_requested {
                if self.has_save_points() && !self.shutdown_nosave {
                    self.finish_bgsave();
                    log_at!(Notice, "Saving the final RDB snapshot before exiting.");
                    if self.save_rdb().is_err() && !self.shutdown_force {
                        log_at!(Warning, "Error trying to save the DB, can't exit.");
                        self.shutdown_requested = false;
                        continue;
                    }
                }
                self.prepare_shutdown();
                return Ok(());
            }
        }
    }

    pub fn prepare_shutdown(&mut self) {
        log_at!(Warning, "User requested shutdown...");
        self.finish_bgsave();
        self.aof_flush(true);
        self.flush_pending();
        if let Some(p) = &self.unix_path {
            let _ = std::fs::remove_file(p);
        }
        let pidfile = self.config.get_str("pidfile");
        if !pidfile.is_empty() {
            let _ = std::fs::remove_file(pidfile);
        }
        log_at!(Warning, "Ember is now ready to exit, bye bye...");
    }

    fn accept_all(&mut self, lfd: RawFd, unix: bool) {
        // Accept a bounded batch per event, like Redis's MAX_ACCEPTS_PER_CALL.
        for _ in 0..1000 {
            let accepted = if unix {
                accept_unix(lfd)
            } else {
                accept_tcp(lfd)
            };
            match accepted {
                Ok((fd, addr, laddr)) => self.new_client(fd, unix, addr, laddr),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    log_at!(Warning, "Accepting client connection: {e}");
                    return;
                }
            }
        }
    }

    fn new_client(&mut self, fd: RawFd, unix: bool, addr: String, laddr: String) {
        self.stats.connections_received += 1;
        let reject = |msg: &[u8]| {
            let _ = sys::write(fd, msg);
            sys::close(fd);
        };
        if sys::set_nonblocking(fd).is_err() {
            sys::close(fd);
            return;
        }
        if !unix {
            let _ = sys::setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_NODELAY, 1);
            let ka = self.config.get_int("tcp-keepalive");
            if ka > 0 {
                let _ = sys::set_keepalive(fd, ka as i32);
            }
        }
        if self.client_count >= self.config.get_int("maxclients") as usize {
            self.stats.rejected_connections += 1;
            reject(b"-ERR max number of clients reached\r\n");
            return;
        }
        let password_set = !self.config.get_str("requirepass").is_empty();
        if !unix && self.config.get_bool("protected-mode") && !password_set && !is_loopback(&addr) {
            self.stats.rejected_connections += 1;
            reject(PROTECTED_MODE_ERROR.as_bytes());
            return;
        }
        if let Err(e) = self.poller.add(fd, Interest::READ) {
            log_at!(
                Warning,
                "Error registering fd event for the new client: {e} (fd={fd})"
            );
            self.stats.rejected_connections += 1;
            reject(b"-ERR max number of clients reached\r\n");
            return;
        }
        let id = self.next_client_id;
        self.next_client_id += 1;
        let c = Client::new(id, fd, unix, addr, laddr, sys::now_ms(), !password_set);
        self.register_client(c);
        let idx = fd as usize;
        log_at!(
            Verbose,
            "Accepted client {}",
            self.clients[idx]
                .as_ref()
                .map(|c| c.addr.as_str())
                .unwrap_or("")
        );
    }

    /// Registers the socket of a finished replication handshake as the master client.
    pub fn adopt_master_client(&mut self, fd: RawFd, addr: String, laddr: String) -> Option<RawFd> {
        if sys::set_nonblocking(fd).is_err() || self.poller.add(fd, Interest::READ).is_err() {
            sys::close(fd);
            return None;
        }
        let id = self.next_client_id;
        self.next_client_id += 1;
        let mut c = Client::new(id, fd, false, addr, laddr, sys::now_ms(), true);
        c.master = true;
        self.register_client(c);
        Some(fd)
    }

    /// Puts a new connection in the client table, indexed by its descriptor.
    fn register_client(&mut self, c: Client) {
        let idx = c.fd as usize;
        if self.clients.len() <= idx {
            self.clients.resize_with(idx + 1, || None);
        }
        self.tracking.ids.insert(c.id, c.fd);
        self.clients[idx] = Some(Box::new(c));
        self.client_count += 1;
    }

    /// Handles one poller event: a listener accepts, a client reads or writes. With `aof_first`,
    /// the AOF is written before replies go out (so they follow their writes to disk, fsynced
    /// under `always`).
    fn dispatch(&mut self, ev: Event, aof_first: bool) {
        if let Some(l) = self.listeners.iter().find(|l| l.fd == ev.fd) {
            let (fd, unix) = (l.fd, l.unix);
            self.accept_all(fd, unix);
            return;
        }
        if ev.readable {
            self.handle_readable(ev.fd);
        }
        if ev.writable {
            if aof_first {
                self.aof_flush(false);
            }
            self.flush_client(ev.fd);
        }
    }

    /// Serves ready clients while a script runs past the busy threshold (from its hook): they get
    /// -BUSY unless their command may run meanwhile. The script's own caller is out of the table,
    /// so it waits.
    pub fn process_events_while_busy(&mut self) {
        let mut events: Vec<Event> = Vec::with_capacity(64);
        if self.poller.poll(&mut events, 0).is_err() {
            return;
        }
        // What the script has pending belongs to its own execution unit: the commands served
        // meanwhile must not flush it.
        let pending = std::mem::take(&mut self.prop.pending);
        let self_invalidations = std::mem::take(&mut self.tracking.pending_self);
        let executing = std::mem::replace(&mut self.executing, false);
        for ev in events.iter().copied() {
            self.dispatch(ev, false);
        }
        self.flush_pending();
        self.prop.pending = pending;
        self.tracking.pending_self = self_invalidations;
        self.executing = executing;
    }

    /// Takes a client out of the table for processing (put it back with [`Server::put_client`]).
    fn take_client(&mut self, fd: RawFd) -> Option<Box<Client>> {
        self.clients.get_mut(fd as usize)?.take()
    }

    fn put_client(&mut self, c: Box<Client>) {
        let fd = c.fd as usize;
        self.clients[fd] = Some(c);
    }

    pub fn free_client(&mut self, mut c: Box<Client>) {
        self.clients_mem_total = self.clients_mem_total.saturating_sub(c.mem_counted as u64);
        c.mem_counted = 0;
        let _ = self.poller.remove(c.fd);
        self.unsubscribe_all(&mut c);
        self.unwatch_all(&mut c);
        self.tracking_disable(&mut c);
        self.tracking.ids.remove(&c.id);
        self.unregister_blocked(&mut c);
        self.monitors.retain(|&m| m != c.fd);
        if c.replica {
            self.detach_replica(c.fd);
        }
        if c.master {
            self.master_link_lost(c.fd);
        }
        self.client_count -= 1;
        log_at!(
            Verbose,
            "Client closed connection id={} addr={}",
            c.id,
            c.addr
        );
        drop(c);
    }

    fn handle_readable(&mut self, fd: RawFd) {
        let Some(mut c) = self.take_client(fd) else {
            return;
        };
        let qbuf_limit = self.hot.qbuf_limit;
        let mut total = 0;
        let mut eof = false;
        loop {
            match sys::read_append(fd, &mut c.qbuf, READ_CHUNK) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => {
                    total += n;
                    if n < READ_CHUNK || total >= READ_PER_EVENT_MAX {
                        break;
                    }
                }
                Err(e) => {
                    if e.kind() != io::ErrorKind::WouldBlock
                        && e.kind() != io::ErrorKind::Interrupted
                    {
                        eof = true;
                    }
                    break;
                }
            }
        }
        c.net_in += total as u64;
        self.stats.net_in += total as u64;
        if total > 0 {
            c.last_interaction_ms = sys::now_ms();
        }
        if c.qbuf.len() > qbuf_limit {
            log_at!(Warning, "Closing client that reached max query buffer length: {} (qbuf initial bytes: {:?})", c.info_line(sys::now_ms()), String::from_utf8_lossy(&c.qbuf[..c.qbuf.len().min(64)]));
            self.stats.client_qbuf_limit_disconnections += 1;
            self.free_client(c);
            return;
        }
        self.process_input(&mut c);
        if eof && !c.close_after_reply {
            // The peer closed: answer what it sent (it may have half-closed), then go.
            c.close_after_reply = true;
        }
        self.finish_client(c);
    }

    /// Puts a processed client back, queueing its output, or frees it.
    pub(crate) fn finish_client(&mut self, c: Box<Client>) {
        if c.close_asap {
            self.free_client(c);
            return;
        }
        let fd = c.fd;
        let pending = c.pending_out() > 0;
        let close = c.close_after_reply && !pending;
        self.put_client(c);
        if pending {
            self.queue_write(fd);
        } else if close {
            if let Some(c) = self.take_client(fd) {
                self.free_client(c);
            }
        }
    }

    /// Parses and runs every complete command in the client's query buffer.
    pub fn process_input(&mut self, c: &mut Client) {
        let mut consumed_total = 0;
        while !c.close_after_reply && !c.close_asap {
            if c.paused || c.blocked.is_some() {
                break;
            }
            // A replica applies nothing from its master while a script runs (it stays atomic).
            if c.master && self.script_busy {
                break;
            }
            let limits = ParseLimits {
                max_bulk_len: self.core_cfg.proto_max_bulk_len,
                unauthenticated: !c.authenticated,
            };
            let input = &c.qbuf[consumed_total..];
            let mut args = std::mem::take(&mut c.args);
            match parse_command(input, &limits, &mut args) {
                Ok(Parsed::Incomplete) => {
                    c.args = args;
                    break;
                }
                Ok(Parsed::Skip { consumed }) => {
                    consumed_total += consumed;
                    c.args = args;
                    if c.master {
                        self.master_applied(consumed);
                    }
                }
                Ok(Parsed::Command { consumed, source }) => {
                    // Borrow the arguments from a detached query buffer so the client stays mutable.
                    let qbuf = std::mem::take(&mut c.qbuf);
                    let argv = args.argv(&qbuf[consumed_total..], source);
                    let reply_start = c.out.len();
                    c.push_spans.clear();
                    c.qbuf_pending = qbuf.len() - consumed_total;
                    // The master's commands see its keys as it does: a key whose TTL passed by
                    // this server's clock stays until the master's DEL (as Redis's replicas do).
                    let was_loading = c.master && self.ks.loading();
                    if c.master {
                        self.ks.set_loading(true);
                    }
                    let ran = self.call(c, argv);
                    if c.master && !was_loading {
                        self.ks.set_loading(false);
                    }
                    c.qbuf_pending = 0;
                    if c.master {
                        // The master hears nothing back but the acknowledgements it asks for,
                        // which count the stream up to (not including) the request.
                        c.out.truncate(reply_start);
                        c.push_spans.clear();
                        if eq_ci(argv.get(0), "replconf") && eq_ci(argv.get(1), "getack") {
                            let ack = self.master_ack();
                            c.out.extend_from_slice(&ack);
                        }
                        self.master_applied(consumed);
                    } else if ran {
                        apply_reply_mode(c, reply_start);
                    }
                    c.qbuf = qbuf;
                    c.args = args;
                    if !ran {
                        // Paused: keep the command in the buffer to run later.
                        c.paused = true;
                        break;
                    }
                    consumed_total += consumed;
                    if self.hot.maxmemory_clients > 0 {
                        self.evict_clients_during(c);
                    }
                }
                Err(e) => {
                    c.args = args;
                    let msg = e.to_string();
                    log_at!(
                        Verbose,
                        "Protocol error ({msg}) from client: {}",
                        c.info_line(sys::now_ms())
                    );
                    self.reply_error(c, &CmdError::owned(format!("ERR {msg}")));
                    c.close_after_reply = true;
                    consumed_total = c.qbuf.len();
                    break;
                }
            }
        }
        if consumed_total > 0 {
            c.qbuf.drain(..consumed_total.min(c.qbuf.len()));
        }
        if c.qbuf.is_empty() && c.qbuf.capacity() > 64 * 1024 {
            c.qbuf = Vec::new();
        }
        self.check_output_limits(c);
    }

    /// Looks up and runs one command. Returns false when the command must wait for CLIENT PAUSE.
    pub(crate) fn call(&mut self, c: &mut Client, argv: Argv<'_>) -> bool {
        let Some(idx) = self.check_command(c, argv) else {
            if let Some(m) = c.multi.as_mut() {
                m.error = true;
            }
            return true;
        };
        let info = self.commands.entries[idx].info;
        if c.is_pubsub()
            && c.proto == ember_core::resp::Proto::Resp2
            && !crate::cmd::pubsub::allowed_while_subscribed(info.name)
        {
            self.cmd_stats[idx].rejected += 1;
            let msg = format!("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", info.name);
            self.reply_error(c, &CmdError::owned(msg));
            if let Some(m) = c.multi.as_mut() {
                m.error = true;
            }
            return true;
        }
        // The master's stream is applied as sent: no refusals (a replica never reads it while a
        // script is busy, nor while loading).
        if !c.in_exec && !c.master {
            if let Some(refusal) = self.refusal(c, info, argv) {
                self.reject(c, idx, info, refusal);
                return true;
            }
            // Keys evicted to make room are announced before the command runs.
            self.process_journal(Some(c));
        }
        if c.multi.is_some() && !crate::cmd::multi::runs_inside_multi(info.name) {
            self.queue_command(c, idx, argv);
            return true;
        }
        if let Some(p) = self.pause.as_ref().filter(|_| !c.in_exec && !c.master) {
            let queued_write = info.name == "exec" && c.multi.as_ref().is_some_and(|m| m.has_write);
            let waits = !p.write_only
                || info.flags & flags::WRITE != 0
                || queued_write
                || info.name == "eval"
                || info.name == "evalsha";
            if waits && sys::now_ms() < p.until_ms {
                return false;
            }
        }
        c.last_cmd = info.name;
        c.last_sub = match argv.len() {
            2.. => info
                .subcommands
                .iter()
                .find(|s| eq_ci(argv.get(1), s.name))
                .map(|s| s.name),
            _ => None,
        };
        let reply_start = c.out.len();
        let start_us = sys::now_us();
        self.executing = true;
        let result = match self.commands.entries[idx].handler {
            Handler::Core(run) => self.run_core(c, run, argv, start_us / 1000),
            Handler::Server(run) => run(self, c, argv),
        };
        let duration_us = sys::now_us().saturating_sub(start_us);
        let st = &mut self.cmd_stats[idx];
        // A command that blocks is counted once, when it is served or times out.
        if c.block_request.is_none() {
            st.calls += 1;
        }
        st.usec += duration_us;
        self.stats.commands_processed += 1;
        if let Err(e) = result {
            self.cmd_stats[idx].failed += 1;
            self.reply_error(c, &e);
        }
        c.insert_at = Some(reply_start);
        self.process_journal(Some(c));
        c.insert_at = None;
        self.executing = c.in_exec;
        // A script's reads are tracked for its caller as the keys it declared, when it ends.
        if info.flags & flags::READONLY != 0 && c.tracking.is_some() && !c.script {
            self.tracking_remember(c, info.key_positions(argv.len()).map(|i| argv.get(i)));
        }
        if c.multi.is_none() && info.name != "client" && !c.script {
            if let Some(t) = c.tracking.as_mut() {
                t.caching = None;
            }
        }
        if !c.in_exec && !self.tracking.pending_self.is_empty() {
            self.flush_self_invalidations(c);
        }
        self.after_call(c, idx, argv, duration_us);
        if !c.in_exec {
            self.flush_propagation();
        }
        if let Some(req) = c.block_request.take() {
            self.block_client(c, info, argv, req);
        }
        if info.name == "swapdb" && self.blocking.blocked > 0 {
            let index = |i: usize| {
                ember_core::cmd::arg_i64(argv.get(i))
                    .ok()
                    .filter(|n| *n >= 0)
                    .map(|n| n as usize)
            };
            if let (Some(a), Some(b)) = (index(1), index(2)) {
                self.signal_swapped(a, b);
            }
        }
        true
    }

    /// Why the server refuses to run a command right now: out of memory for commands that may grow
    /// it, or too few replicas for writes (`min-replicas-to-write`; Ember has no replicas yet).
    fn refusal(&mut self, c: &Client, info: &CommandInfo, argv: Argv<'_>) -> Option<CmdError> {
        let queued = |f: fn(&crate::client::MultiState) -> bool| {
            info.name == "exec" && c.multi.as_ref().is_some_and(f)
        };
        // First, and touching nothing: a script is running and serves clients from its hook.
        if self.script_busy && command_flags(info, argv) & flags::ALLOW_BUSY == 0 {
            return Some(crate::script::busy_error(self.running_function));
        }
        if self.loading.is_some() && info.flags & flags::LOADING == 0 {
            return Some(CmdError::new(
                "LOADING Redis is loading the dataset in memory",
            ));
        }
        if let Some(link) = &self.master {
            let stale_ok = command_flags(info, argv) & flags::STALE != 0;
            if !link.up()
                && !self.config.get_bool("replica-serve-stale-data")
                && (!stale_ok || queued(|m| m.has_nonstale))
            {
                return Some(CmdError::new("MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."));
            }
            let writes = command_flags(info, argv) & flags::WRITE != 0 || queued(|m| m.has_write);
            if writes && self.config.get_bool("replica-read-only") {
                return Some(CmdError::new(
                    "READONLY You can't write against a read only replica.",
                ));
            }
        }
        // A replica leaves eviction to its master (Redis's replica-ignore-maxmemory yes).
        if self.hot.maxmemory > 0 && self.master.is_none() {
            let fits = self.perform_evictions();
            let room = (self.hot.maxmemory as usize).saturating_sub(crate::alloc::used());
            self.ks.set_grow_budget(room);
            if !fits && (info.flags & flags::DENYOOM != 0 || queued(|m| m.has_denyoom)) {
                return Some(err::OOM);
            }
        }
        let writes = command_flags(info, argv) & flags::WRITE != 0 || queued(|m| m.has_write);
        if writes && self.aof.last_write_failed {
            return Some(CmdError::new("MISCONF Errors writing to the AOF file: the last write or fsync failed; check the server logs"));
        }
        if writes
            && self.rdb.last_bgsave_failed
            && self.has_save_points()
            && self.config.get_bool("stop-writes-on-bgsave-error")
        {
            return Some(CmdError::new("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error."));
        }
        if writes && self.hot.min_replicas_to_write > 0 && self.hot.min_replicas_max_lag > 0 {
            return Some(CmdError::new(
                "NOREPLICAS Not enough good replicas to write.",
            ));
        }
        None
    }

    /// Replies with a refusal; EXEC discards its transaction, a command being queued dooms it.
    fn reject(&mut self, c: &mut Client, idx: usize, info: &CommandInfo, refusal: CmdError) {
        self.cmd_stats[idx].rejected += 1;
        if info.name == "exec" {
            c.multi = None;
            self.unwatch_all(c);
            let text = format!("EXECABORT Transaction discarded because of: {}", refusal.0);
            self.reply_error(c, &CmdError::owned(text));
        } else {
            if let Some(m) = c.multi.as_mut() {
                m.error = true;
            }
            self.reply_error(c, &refusal);
        }
        self.process_journal(Some(c));
    }

    /// Queues a command between MULTI and EXEC (or refuses it, which makes EXEC abort).
    fn queue_command(&mut self, c: &mut Client, idx: usize, argv: Argv<'_>) {
        let info = self.commands.entries[idx].info;
        let Some(m) = c.multi.as_mut() else { return };
        if info.flags & flags::NO_MULTI != 0 {
            m.error = true;
            self.cmd_stats[idx].rejected += 1;
            self.reply_error(
                c,
                &CmdError::new("ERR Command not allowed inside a transaction"),
            );
            return;
        }
        let cmd = SavedArgv::new(argv);
        m.bytes += cmd.mem_bytes();
        let too_big = m.bytes > self.hot.qbuf_limit;
        m.queue.push(cmd);
        let cmd_flags = command_flags(info, argv);
        m.has_write |= cmd_flags & flags::WRITE != 0;
        m.has_denyoom |= cmd_flags & flags::DENYOOM != 0;
        m.has_nonstale |= cmd_flags & flags::STALE == 0;
        if too_big {
            log_at!(
                Warning,
                "Closing client whose MULTI queue passed client-query-buffer-limit: {}",
                c.info_line(sys::now_ms())
            );
            self.stats.client_qbuf_limit_disconnections += 1;
            c.close_asap = true;
            return;
        }
        ReplyWriter::new(&mut c.out, c.proto).simple(b"QUEUED");
    }

    /// Evicts keys by `maxmemory-policy` until memory use is back under `maxmemory`; false when it
    /// cannot get there (noeviction, or nothing left to evict).
    pub fn perform_evictions(&mut self) -> bool {
        let max = self.hot.maxmemory as usize;
        // Replicas' output buffers do not count (they grow with the very writes evictions would
        // make room for), as in Redis.
        let used = crate::alloc::used().saturating_sub(self.mem_not_counted_for_evict());
        if max == 0 || used <= max {
            return true;
        }
        // Like Redis, what counts is the memory the deleted keys held, not the allocator's total
        // after each one: the journal, keyspace events and invalidation messages an eviction
        // produces take memory too, and counting it would evict the next key for them, and so on
        // until the database is empty.
        let to_free = (used - max) as u64;
        let mut freed = 0u64;
        self.ks.evict(
            self.hot.eviction_policy,
            self.hot.eviction_samples,
            sys::now_ms(),
            &mut self.journal,
            EVICTIONS_PER_CALL_MAX,
            |last| {
                freed += last;
                freed >= to_free
            },
        )
    }

    /// Memory eviction leaves out: the replicas' output buffers and the AOF's pending buffer.
    pub fn mem_not_counted_for_evict(&self) -> usize {
        let replicas: usize = self
            .prop
            .replicas
            .iter()
            .filter_map(|&fd| self.clients.get(fd as usize)?.as_deref())
            .map(|c| c.out.capacity())
            .sum();
        replicas + self.aof.buffered()
    }

    /// Modified keys are recorded while clients track keys or wait in blocking commands.
    pub fn refresh_modified_tracking(&mut self) {
        // Keys remembered for clients that since stopped tracking still leave the table when they
        // change or are flushed, as in Redis.
        self.journal.track_all_modified = self.tracking.clients > 0
            || !self.tracking.table.is_empty()
            || self.blocking.blocked > 0;
        self.refresh_expiry_logging();
    }

    /// Turns expired-key logging on while anything listens for modified keys or expired events.
    pub fn refresh_expiry_logging(&mut self) {
        use ember_core::journal::class;
        let m = self.journal.event_mask;
        let events = m & (class::KEYSPACE | class::KEYEVENT) != 0 && m & class::EXPIRED != 0;
        self.ks
            .set_log_expired(self.journal.wants_modified() || events || self.journal.propagating);
    }

    /// Acts on what the last command (or cron step) recorded: expired keys, modified keys (WATCH) and
    /// keyspace events. `current` is the client that ran the command, which is out of the table.
    pub fn process_journal(&mut self, mut current: Option<&mut Client>) {
        use ember_core::journal::class;
        let mut copy = std::mem::take(&mut self.journal_copy);
        // Expired keys first: they went away before the command changed anything. The server, not
        // the client, deleted them, which matters to NOLOOP tracking.
        self.ks.drain_expired(|db, key| copy.push(db, None, key));
        self.journal.drain(|db, r, key| copy.push(db, Some(r), key));
        for (db, record, range) in copy.records.drain(..) {
            let key = &copy.keys[range];
            match record {
                None => {
                    self.propagate_deletion(db, key);
                    self.touch_watched_key(current.as_deref_mut(), db, key, None);
                    self.tracking_key_changed(current.as_deref_mut(), key, false);
                    if self.journal.event_mask & class::EXPIRED != 0 {
                        self.notify_keyspace_event(current.as_deref_mut(), db, "expired", key);
                    }
                }
                Some(Record::Modified) => {
                    self.signal_key(db, key);
                    self.touch_watched_key(current.as_deref_mut(), db, key, None);
                    self.tracking_key_changed(current.as_deref_mut(), key, true);
                }
                Some(Record::Ready) => self.signal_key(db, key),
                Some(Record::Deleted) => self.propagate_deletion(db, key),
                Some(Record::Replaced { existed }) => {
                    self.touch_watched_key(current.as_deref_mut(), db, key, Some(existed))
                }
                Some(Record::Event(_, name)) => {
                    self.notify_keyspace_event(current.as_deref_mut(), db, name, key)
                }
                Some(Record::Flushed) => {
                    self.signal_flushed(db);
                    self.tracking_flushed(
                        current.as_deref_mut(),
                        db == ember_core::journal::ALL_DBS,
                    )
                }
            }
        }
        copy.keys.clear();
        ember_core::journal::release_excess(&mut copy.keys);
        ember_core::journal::release_excess(&mut copy.records);
        self.journal_copy = copy;
    }

    /// Finds the command and checks arity and authentication, replying with the error when one fails.
    fn check_command(&mut self, c: &mut Client, argv: Argv<'_>) -> Option<usize> {
        let name = argv.get(0);
        let Some(idx) = self.commands.lookup(name) else {
            let mut args = String::new();
            for a in argv.tail(1).iter() {
                if args.len() >= 128 {
                    break;
                }
                let shown: String = String::from_utf8_lossy(a)
                    .chars()
                    .take(128 - args.len())
                    .collect();
                args.push_str(&format!("'{shown}' "));
            }
            let shown: String = String::from_utf8_lossy(name).chars().take(128).collect();
            let text = format!("ERR unknown command '{shown}', with args beginning with: {args}");
            self.reply_error(c, &CmdError::owned(text));
            return None;
        };
        let info = self.commands.entries[idx].info;
        let rejection = if !info.arity_ok(argv.len()) {
            err::wrong_arity(info.name)
        } else if !c.authenticated && info.flags & flags::NO_AUTH == 0 {
            CmdError::new("NOAUTH Authentication required.")
        } else {
            return Some(idx);
        };
        self.cmd_stats[idx].rejected += 1;
        self.reply_error(c, &rejection);
        None
    }

    /// MONITOR, slow log and latency bookkeeping after a command ran.
    fn after_call(&mut self, c: &Client, idx: usize, argv: Argv<'_>, duration_us: u64) {
        let info = self.commands.entries[idx].info;
        self.record_latency(idx, c.last_sub, duration_us);
        if !self.monitors.is_empty() && info.flags & (flags::ADMIN | flags::SKIP_MONITOR) == 0 {
            self.feed_monitors(c, argv);
        }
        if info.flags & flags::SKIP_SLOWLOG == 0 {
            self.slowlog_push(c, argv, duration_us);
        }
        let threshold_ms = self.hot.latency_threshold_ms;
        if threshold_ms > 0 && duration_us / 1000 >= threshold_ms {
            let event = if info.flags & flags::FAST != 0 {
                "fast-command"
            } else {
                "command"
            };
            self.latency_add(event, duration_us / 1000);
        }
    }

    /// Adds a call to the command's (or subcommand's) latency histogram (`latency-tracking`).
    fn record_latency(&mut self, idx: usize, sub: Option<&'static str>, us: u64) {
        if !self.hot.latency_tracking {
            return;
        }
        let info = self.commands.entries[idx].info;
        let st = &mut self.cmd_stats[idx];
        let slot = match sub.and_then(|name| info.subcommands.iter().position(|s| s.name == name)) {
            Some(pos) => {
                if st.sub_latency.len() <= pos {
                    st.sub_latency.resize(pos + 1, None);
                }
                &mut st.sub_latency[pos]
            }
            None => &mut st.latency,
        };
        slot.get_or_insert_with(|| {
            Box::new(LatencyHistogram {
                calls: 0,
                buckets: [0; LATENCY_BUCKETS],
            })
        })
        .record(us);
    }

    fn run_core(
        &mut self,
        c: &mut Client,
        run: fn(&mut ExecCtx<'_>, Argv<'_>) -> CmdResult,
        argv: Argv<'_>,
        now_ms: u64,
    ) -> CmdResult {
        let mut ctx = ExecCtx {
            ks: &mut self.ks,
            db: c.db,
            now_ms,
            out: ReplyWriter::new(&mut c.out, c.proto),
            config: &self.core_cfg,
            no_touch: c.no_touch,
            effects: Effects::default(),
            may_block: !c.in_exec && !c.master,
            journal: &mut self.journal,
        };
        let r = run(&mut ctx, argv);
        let effects = std::mem::take(&mut ctx.effects);
        drop(ctx);
        let ran_in = c.db;
        if let Some(db) = effects.select_db {
            c.db = db;
        }
        if effects.block.is_none() && r.is_ok() {
            self.collect_propagation(ran_in, argv, effects.propagate, effects.dirty);
        }
        c.block_request = effects.block;
        r
    }

    /// Writes an error reply and counts it in the error stats.
    pub fn reply_error(&mut self, c: &mut Client, e: &CmdError) {
        let text = e.0.as_ref();
        let code = text.split(' ').next().unwrap_or("ERR");
        self.stats.error_replies += 1;
        // Look up before inserting so a repeated error code allocates nothing.
        match self.stats.errors.get_mut(code) {
            Some(n) => *n += 1,
            None => {
                self.stats.errors.insert(code.to_string(), 1);
            }
        }
        ReplyWriter::new(&mut c.out, c.proto).error(text.as_bytes());
    }

    /// Closes clients whose output passed the configured hard limit, or the soft limit for too long.
    fn check_output_limits(&mut self, c: &mut Client) {
        let limits = if c.replica {
            self.hot.replica_limit
        } else if c.is_pubsub() {
            self.hot.pubsub_limit
        } else {
            self.hot.output_limit
        };
        let now = sys::now_ms();
        if over_output_limit(c, limits, now) {
            log_at!(
                Warning,
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.info_line(now)
            );
            self.stats.client_outbuf_limit_disconnections += 1;
            c.close_asap = true;
        }
    }

    /// Closes the clients that use the most memory (query and output buffers) until all clients
    /// together use less than `maxmemory-clients`, as Redis's client eviction does; clients with
    /// CLIENT NO-EVICT count but stay. Runs before the loop sleeps, once output went to the
    /// sockets; O(clients) when `maxmemory-clients` is set, nothing otherwise.
    fn evict_clients(&mut self) {
        let limit = self.hot.maxmemory_clients;
        if limit == 0 {
            return;
        }
        let mut total = 0u64;
        for c in self.clients.iter_mut().flatten() {
            c.mem_counted = c.memory();
            total += c.mem_counted as u64;
        }
        self.clients_mem_total = total;
        while self.clients_mem_total >= limit {
            let Some((fd, _)) = self.biggest_evictable() else {
                return;
            };
            let Some(c) = self.take_client(fd) else {
                return;
            };
            self.note_eviction(&c);
            self.free_client(c);
        }
    }

    /// Client eviction between the commands of one client's input, as Redis checks before every
    /// command (a pipeline of big replies can pass the limit long before the loop sleeps): the
    /// running client counts at its current size, the others at their size when last counted.
    /// The biggest evictable client goes first, the running one included.
    fn evict_clients_during(&mut self, c: &mut Client) {
        let limit = self.hot.maxmemory_clients;
        self.recount_client(c);
        while self.clients_mem_total >= limit {
            let mine = (!c.no_evict).then_some(c.mem_counted);
            match (self.biggest_evictable(), mine) {
                (Some((fd, mem)), m) if m.is_none_or(|m| mem > m) => {
                    let Some(o) = self.take_client(fd) else {
                        return;
                    };
                    self.note_eviction(&o);
                    self.free_client(o);
                }
                (_, Some(_)) => {
                    self.note_eviction(c);
                    c.close_asap = true;
                    c.out = Vec::new();
                    c.out_sent = 0;
                    return;
                }
                _ => return,
            }
        }
    }

    /// The client in the table that client eviction closes first: the biggest (as last counted)
    /// without CLIENT NO-EVICT and not already closing; its descriptor and memory.
    fn biggest_evictable(&self) -> Option<(RawFd, usize)> {
        self.other_clients()
            .filter(|o| !o.no_evict && !o.close_asap)
            .map(|o| (o.fd, o.mem_counted))
            .max_by_key(|&(_, mem)| mem)
    }

    /// Logs and counts a client closed by client eviction.
    fn note_eviction(&mut self, c: &Client) {
        log_at!(Notice, "Evicting client: {}", c.info_line(sys::now_ms()));
        self.stats.evicted_clients += 1;
    }

    /// Brings the client-memory total up to date with what `c` holds now (after a command, a write
    /// to its socket), so client eviction between checks judges every client by its current size.
    fn recount_client(&mut self, c: &mut Client) {
        let now = c.memory();
        self.clients_mem_total =
            (self.clients_mem_total + now as u64).saturating_sub(c.mem_counted as u64);
        c.mem_counted = now;
    }

    /// Puts a client with new output on the list flushed before the loop sleeps (once).
    pub fn queue_write(&mut self, fd: RawFd) {
        if let Some(Some(c)) = self.clients.get_mut(fd as usize) {
            if !c.write_queued {
                c.write_queued = true;
                self.pending_writes.push(fd);
            }
        }
    }

    fn flush_pending(&mut self) {
        // Swap with a kept scratch vector so the steady state allocates nothing.
        let mut fds = std::mem::take(&mut self.flush_scratch);
        std::mem::swap(&mut fds, &mut self.pending_writes);
        for &fd in &fds {
            self.flush_client(fd);
        }
        fds.clear();
        self.flush_scratch = fds;
    }

    /// Writes as much pending output as the socket takes; watches for writability when some is left.
    fn flush_client(&mut self, fd: RawFd) {
        let Some(mut c) = self.take_client(fd) else {
            return;
        };
        c.write_queued = false;
        let mut failed = false;
        while c.pending_out() > 0 {
            match sys::write(fd, &c.out[c.out_sent..]) {
                Ok(n) => {
                    c.out_sent += n;
                    c.net_out += n as u64;
                    self.stats.net_out += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    failed = true;
                    break;
                }
            }
        }
        if failed || c.close_asap {
            self.free_client(c);
            return;
        }
        if c.pending_out() == 0 {
            c.out.clear();
            c.out_sent = 0;
            if c.out.capacity() > OUT_RETAIN_MAX {
                c.out = Vec::new();
            }
            if self.hot.maxmemory_clients > 0 {
                self.recount_client(&mut c);
            }
            if c.close_after_reply {
                self.free_client(c);
                return;
            }
            if c.write_interest {
                let _ = self.poller.modify(fd, Interest::READ);
                c.write_interest = false;
            }
        } else if !c.write_interest {
            let _ = self.poller.modify(fd, Interest::READ_WRITE);
            c.write_interest = true;
        }
        self.put_client(c);
    }

    /// Runs pending commands of clients that were waiting for CLIENT PAUSE to end.
    pub fn resume_paused(&mut self) {
        for fd in self.client_fds(|c| c.paused) {
            if let Some(mut c) = self.take_client(fd) {
                c.paused = false;
                self.process_input(&mut c);
                self.finish_client(c);
            }
        }
    }

    fn cron(&mut self, now: u64) {
        if self.cron_paused {
            return;
        }
        self.cron_loops += 1;
        let period_us = 1_000_000 / self.hz;
        // Active expiry gets a quarter of the cron period, in batches. A replica leaves expiry to
        // its master, whose DELs arrive in the stream.
        if self.ks.active_expire && self.master.is_none() {
            let deadline = sys::now_us() + period_us / 4;
            loop {
                let r = self.ks.expire_cycle(now, EXPIRE_BATCH_KEYS);
                if !r.budget_exhausted || sys::now_us() >= deadline {
                    break;
                }
            }
            self.ks
                .expire_field_cycle(now, EXPIRE_BATCH_KEYS, &mut self.journal);
            self.process_journal(None);
        }
        if self.hot.maxmemory > 0 && self.master.is_none() {
            self.perform_evictions();
            self.process_journal(None);
        }
        if self.config.get_bool("activerehashing") {
            let deadline = sys::now_us() + 1000;
            for i in 0..self.ks.db_count() {
                let t = self.ks.db_mut(i).table_mut();
                t.shrink_if_sparse();
                t.rehash_for(|| sys::now_us() < deadline);
            }
        }
        let timeout_s = self.config.get_int("timeout") as u64;
        if timeout_s > 0 {
            let idle = self.client_fds(|c| {
                !c.monitor
                    && !c.master
                    && !c.replica
                    && now.saturating_sub(c.last_interaction_ms) / 1000 > timeout_s
            });
            for fd in idle {
                if let Some(c) = self.take_client(fd) {
                    log_at!(Verbose, "Closing idle client");
                    self.free_client(c);
                }
            }
        }
        if let Some(p) = &self.pause {
            if now >= p.until_ms {
                self.pause = None;
                self.resume_paused();
            }
        }
        self.stats
            .ops_samples
            .push_back((now, self.stats.commands_processed));
        while self.stats.ops_samples.len() > 16 {
            self.stats.ops_samples.pop_front();
        }
        self.persistence_cron(now);
        self.replication_cron(now);
        self.ping_replicas(now);
        crate::alloc::update_peak();
    }

    pub fn ops_per_sec(&self) -> u64 {
        match (
            self.stats.ops_samples.front(),
            self.stats.ops_samples.back(),
        ) {
            (Some(a), Some(b)) if b.0 > a.0 => (b.1 - a.1) * 1000 / (b.0 - a.0),
            _ => 0,
        }
    }

    /// Every connected client except the one being processed (which is out of the table).
    pub fn other_clients(&self) -> impl Iterator<Item = &Client> {
        self.clients.iter().flatten().map(|b| &**b)
    }

    /// The descriptors of the clients in the table that match `pred`.
    fn client_fds(&self, pred: impl Fn(&Client) -> bool) -> Vec<RawFd> {
        self.other_clients()
            .filter(|c| pred(c))
            .map(|c| c.fd)
            .collect()
    }

    /// Marks clients for closing; returns how many matched. The current client is handled by the caller.
    pub fn kill_clients(&mut self, pred: impl Fn(&Client) -> bool) -> usize {
        let fds = self.client_fds(pred);
        for &fd in &fds {
            if let Some(c) = self.take_client(fd) {
                self.free_client(c);
            }
        }
        fds.len()
    }
}

fn random_seed() -> u64 {
    let mut buf = [0u8; 8];
    if let Ok(mut f) = std::fs::File::open("/dev/urandom") {
        use std::io::Read;
        let _ = f.read_exact(&mut buf);
    }
    u64::from_ne_bytes(buf) ^ sys::now_us() ^ (std::process::id() as u64) << 32
}

/// A 40-character hex id (run id, replication id).
/// A command's flags, a subcommand's when it names one (CONFIG GET is `stale`, CONFIG is not).
pub(crate) fn command_flags(info: &CommandInfo, argv: Argv<'_>) -> u32 {
    if argv.len() >= 2 {
        if let Some(sub) = info.subcommands.iter().find(|s| eq_ci(argv.get(1), s.name)) {
            return sub.flags;
        }
    }
    info.flags
}

/// A fresh random replication ID (40 hex digits).
pub fn new_replid() -> String {
    hex_id(random_seed() ^ 0x9e37_79b9_7f4a_7c15)
}

fn hex_id(seed: u64) -> String {
    let mut x = seed | 1;
    let mut s = String::with_capacity(40);
    while s.len() < 40 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        s.push_str(&format!("{:016x}", x));
    }
    s.truncate(40);
    s
}

/// Whether a client's pending output passed `limits` (hard bytes, soft bytes, soft seconds); tracks
/// when the soft limit was first passed.
pub fn over_output_limit(c: &mut Client, limits: (u64, u64, u64), now_ms: u64) -> bool {
    let (hard, soft, soft_s) = limits;
    let used = c.pending_out() as u64;
    let over_soft = soft > 0 && used > soft;
    if !over_soft {
        c.soft_limit_since_ms = 0;
    } else if c.soft_limit_since_ms == 0 {
        c.soft_limit_since_ms = now_ms;
    }
    let soft_expired = over_soft && now_ms.saturating_sub(c.soft_limit_since_ms) / 1000 >= soft_s;
    (hard > 0 && used > hard) || soft_expired
}

/// CLIENT REPLY: drops what a top-level command replied while OFF or SKIP, keeping pub/sub and
/// invalidation pushes; SKIP lasts one command and starts after the CLIENT REPLY SKIP that asked.
fn apply_reply_mode(c: &mut Client, reply_start: usize) {
    if matches!(c.reply_mode, ReplyMode::Off | ReplyMode::Skip) {
        let kept: Vec<u8> = c
            .push_spans
            .iter()
            .filter(|r| r.start >= reply_start)
            .flat_map(|r| c.out[r.clone()].iter().copied())
            .collect();
        c.out.truncate(reply_start);
        c.out.extend_from_slice(&kept);
    }
    c.reply_mode = match c.reply_mode {
        ReplyMode::Skip => ReplyMode::On,
        ReplyMode::SkipNext => ReplyMode::Skip,
        mode => mode,
    };
}
