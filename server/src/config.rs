//! Server configuration: redis.conf syntax from a file, `--name value` arguments like redis-server, and
//! CONFIG GET/SET/REWRITE at run time.
//!
//! Every directive is one row of [`PARAMS`]: its name, kind (with bounds), default and whether it can be
//! changed at run time. Values are kept as typed [`Val`]s; the server reads the ones it uses through
//! typed getters. Directives for features Ember does not have yet are still accepted and reported, with
//! Redis's defaults, so existing config files and tools keep working; they are marked `inert` below.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use ember_core::glob::glob_match;
use ember_core::resp::{split_args, ArgBuf};

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A byte count that accepts `kb`, `mb`, `gb` suffixes.
    Mem {
        min: i64,
        max: i64,
    },
    Enum(&'static [&'static str]),
    Str,
    /// `save <seconds> <changes> ...`, or `""`.
    Save,
    /// `client-output-buffer-limit <class> <hard> <soft> <seconds> ...`.
    OutputLimit,
    /// `notify-keyspace-events` flags, kept in canonical order.
    Events,
    /// A byte count or a percentage (`10%`) of maxmemory.
    MemOrPercent,
}

/// One directive.
pub struct Param {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub kind: Kind,
    pub default: &'static str,
    /// Cannot be changed with CONFIG SET.
    pub immutable: bool,
}

const fn p(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        alias: None,
        kind,
        default,
        immutable: false,
    }
}

const fn fixed(name: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        alias: None,
        kind,
        default,
        immutable: true,
    }
}

const fn aka(name: &'static str, alias: &'static str, kind: Kind, default: &'static str) -> Param {
    Param {
        name,
        alias: Some(alias),
        kind,
        default,
        immutable: false,
    }
}

const B: Kind = Kind::Bool;
const S: Kind = Kind::Str;
const INT: Kind = Kind::Int {
    min: i32::MIN as i64,
    max: i32::MAX as i64,
};
const UINT: Kind = Kind::Int {
    min: 0,
    max: i32::MAX as i64,
};
const LONG: Kind = Kind::Int {
    min: 0,
    max: i64::MAX,
};
const MEM: Kind = Kind::Mem {
    min: 0,
    max: i64::MAX,
};
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

#[rustfmt::skip]
pub static PARAMS: &[Param] = &[
    // Networking and clients.
    p("bind", S, "* -::*"),
    p("port", Kind::Int { min: 0, max: 65535 }, "6379"),
    fixed("unixsocket", S, ""),
    fixed("unixsocketperm", Kind::Int { min: 0, max: 0o777 }, "0"),
    fixed("tcp-backlog", UINT, "511"),
    p("protected-mode", B, "yes"),
    p("requirepass", S, ""),
    p("maxclients", Kind::Int { min: 1, max: u32::MAX as i64 }, "10000"),
    p("timeout", UINT, "0"),
    p("tcp-keepalive", UINT, "300"),
    p("client-query-buffer-limit", Kind::Mem { min: 1024 * 1024, max: i64::MAX }, "1gb"),
    p("proto-max-bulk-len", Kind::Mem { min: 1024 * 1024, max: i64::MAX }, "512mb"),
    p("client-output-buffer-limit", Kind::OutputLimit, "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    fixed("io-backend", Kind::Enum(&["epoll", "select"]), "epoll"),
    // Server.
    // Like Redis, any non-negative hz is accepted and the server clamps it to 1..=500.
    p("hz", UINT, "10"),
    p("dynamic-hz", B, "yes"),
    fixed("databases", Kind::Int { min: 1, max: i32::MAX as i64 }, "16"),
    p("loglevel", Kind::Enum(LOGLEVELS), "notice"),
    fixed("logfile", S, ""),
    fixed("daemonize", B, "no"),
    fixed("pidfile", S, ""),
    p("dir", S, "./"),
    p("dbfilename", S, "dump.rdb"),
    p("save", Kind::Save, "3600 1 300 100 60 10000"),
    p("slowlog-log-slower-than", Kind::Int { min: -1, max: i64::MAX }, "10000"),
    p("slowlog-max-len", LONG, "128"),
    p("latency-monitor-threshold", LONG, "0"),
    p("latency-tracking", B, "yes"),
    p("maxmemory", MEM, "0"),
    p("maxmemory-policy", Kind::Enum(POLICIES), "noeviction"),
    p("maxmemory-samples", Kind::Int { min: 1, max: 64 }, "5"),
    p("maxmemory-eviction-tenacity", Kind::Int { min: 0, max: 100 }, "10"),
    p("maxmemory-clients", Kind::MemOrPercent, "0"),
    // Redis shows the replication source here; Ember does not replicate yet, so it stays empty.
    Param {name: "replicaof", alias: Some("slaveof"), kind: S, default: "", immutable: true },
    // A testing knob Redis hides from CONFIG GET patterns (see HIDDEN).
    p("key-load-delay", INT, "0"),
    p("notify-keyspace-events", Kind::Events, ""),
    p("enable-debug-command", Kind::Enum(&["no", "yes", "local"]), "no"),
    fixed("enable-protected-configs", Kind::Enum(&["no", "yes", "local"]), "no"),
    fixed("enable-module-command", Kind::Enum(&["no", "yes", "local"]), "no"),
    p("activerehashing", B, "yes"),
    fixed("always-show-logo", B, "no"),
    p("active-expire-effort", Kind::Int { min: 1, max: 10 }, "1"),
    // Inert for now: accepted and reported with Redis's defaults until their features land.
    p("appendonly", B, "no"),
    p("appendfilename", S, "appendonly.aof"),
    p("appenddirname", S, "appendonlydir"),
    p("appendfsync", Kind::Enum(&["always", "everysec", "no"]), "everysec"),
    p("no-appendfsync-on-rewrite", B, "no"),
    p("auto-aof-rewrite-percentage", UINT, "100"),
    p("auto-aof-rewrite-min-size", MEM, "64mb"),
    p("aof-use-rdb-preamble", B, "yes"),
    p("aof-timestamp-enabled", B, "no"),
    p("aof-load-truncated", B, "yes"),
    p("rdbcompression", B, "yes"),
    p("rdbchecksum", B, "yes"),
    p("rdb-del-sync-files", B, "no"),
    p("stop-writes-on-bgsave-error", B, "yes"),
    p("sanitize-dump-payload", Kind::Enum(&["no", "yes", "clients"]), "no"),
    aka("replica-serve-stale-data", "slave-serve-stale-data", B, "yes"),
    aka("replica-read-only", "slave-read-only", B, "yes"),
    aka("replica-priority", "slave-priority", Kind::Int { min: 0, max: i32::MAX as i64 }, "100"),
    p("repl-diskless-sync", B, "yes"),
    p("repl-diskless-sync-delay", UINT, "5"),
    p("repl-diskless-sync-max-replicas", UINT, "0"),
    p("repl-diskless-load", Kind::Enum(&["disabled", "on-empty-db", "swapdb"]), "disabled"),
    p("repl-backlog-size", MEM, "1mb"),
    p("repl-backlog-ttl", UINT, "3600"),
    p("repl-timeout", Kind::Int { min: 1, max: i32::MAX as i64 }, "60"),
    p("repl-ping-replica-period", Kind::Int { min: 1, max: i32::MAX as i64 }, "10"),
    aka("min-replicas-to-write", "min-slaves-to-write", UINT, "0"),
    aka("min-replicas-max-lag", "min-slaves-max-lag", UINT, "10"),
    p("masterauth", S, ""),
    p("masteruser", S, ""),
    p("lazyfree-lazy-eviction", B, "no"),
    p("lazyfree-lazy-expire", B, "no"),
    p("lazyfree-lazy-server-del", B, "no"),
    p("lazyfree-lazy-user-del", B, "no"),
    p("lazyfree-lazy-user-flush", B, "no"),
    p("replica-lazy-flush", B, "no"),
    p("propagation-error-behavior", Kind::Enum(&["ignore", "panic", "panic-on-replicas"]), "ignore"),
    aka("hash-max-listpack-entries", "hash-max-ziplist-entries", LONG, "512"),
    aka("hash-max-listpack-value", "hash-max-ziplist-value", LONG, "64"),
    aka("list-max-listpack-size", "list-max-ziplist-size", INT, "-2"),
    p("list-compress-depth", UINT, "1"),
    // Ember's own: string values set whole are stored LZ4-compressed (see ember_core::types::lz).
    p("value-compression", B, "yes"),
    p("value-compression-min-size", UINT, "64"),
    p("set-max-intset-entries", LONG, "512"),
    p("set-max-listpack-entries", LONG, "128"),
    p("set-max-listpack-value", LONG, "64"),
    aka("zset-max-listpack-entries", "zset-max-ziplist-entries", LONG, "128"),
    aka("zset-max-listpack-value", "zset-max-ziplist-value", LONG, "64"),
    p("hll-sparse-max-bytes", LONG, "3000"),
    p("stream-node-max-bytes", MEM, "4096"),
    p("stream-node-max-entries", LONG, "100"),
    aka("busy-reply-threshold", "lua-time-limit", LONG, "5000"),
    p("lfu-log-factor", UINT, "10"),
    p("lfu-decay-time", UINT, "1"),
    p("activedefrag", B, "no"),
    p("jemalloc-bg-thread", B, "yes"),
    p("io-threads", Kind::Int { min: 1, max: 128 }, "1"),
    p("io-threads-do-reads", B, "no"),
    p("tracking-table-max-keys", LONG, "1000000"),
    p("acllog-max-len", LONG, "128"),
    p("cluster-enabled", B, "no"),
    p("supervised", Kind::Enum(&["no", "upstart", "systemd", "auto"]), "no"),
    p("syslog-enabled", B, "no"),
    p("crash-log-enabled", B, "yes"),
    p("set-proc-title", B, "yes"),
    p("oom-score-adj", Kind::Enum(&["no", "yes", "relative", "absolute"]), "no"),
    p("disable-thp", B, "yes"),
];

/// Directives CONFIG GET only returns when asked for by exact name.
const HIDDEN: &[&str] = &["key-load-delay"];

/// A parsed value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Val {
    Bool(bool),
    Int(i64),
    Str(String),
    Save(Vec<(u64, u64)>),
    /// Per class (normal, replica, pubsub): hard, soft limit in bytes, soft seconds.
    OutputLimit([(u64, u64, u64); 3]),
}

pub struct Config {
    values: Vec<Val>,
    /// The file the config came from, for CONFIG REWRITE and INFO.
    pub file: Option<PathBuf>,
}

/// Parses `1gb`, `100mb`, `64k`, plain bytes (Redis's `memtoull`).
pub fn parse_mem(s: &str) -> Option<i64> {
    let lower = s.to_ascii_lowercase();
    let units: &[(&str, i64)] = &[
        ("gb", 1 << 30),
        ("g", 1_000_000_000),
        ("mb", 1 << 20),
        ("m", 1_000_000),
        ("kb", 1 << 10),
        ("k", 1000),
        ("b", 1),
    ];
    for (suffix, mul) in units {
        if let Some(num) = lower.strip_suffix(suffix) {
            return num.parse::<i64>().ok()?.checked_mul(*mul);
        }
    }
    lower.parse::<i64>().ok()
}

/// An integer value within a directive's bounds.
fn in_range(v: i64, min: i64, max: i64) -> Result<Val, String> {
    if (min..=max).contains(&v) {
        Ok(Val::Int(v))
    } else {
        Err(format!(
            "argument must be between {min} and {max} inclusive"
        ))
    }
}

fn parse_value(param: &Param, args: &[String]) -> Result<Val, String> {
    let one = || -> Result<&str, String> {
        if args.len() == 1 {
            Ok(args[0].as_str())
        } else {
            Err("wrong number of arguments".into())
        }
    };
    match param.kind {
        Kind::Bool => match one()?.to_ascii_lowercase().as_str() {
            "yes" => Ok(Val::Bool(true)),
            "no" => Ok(Val::Bool(false)),
            _ => Err("argument must be 'yes' or 'no'".into()),
        },
        Kind::Int { min, max } => {
            let v: i64 = one()?
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            in_range(v, min, max)
        }
        Kind::Mem { min, max } => {
            let v = parse_mem(one()?)
                .filter(|v| *v >= 0)
                .ok_or_else(|| "argument must be a memory value".to_string())?;
            in_range(v, min, max)
        }
        Kind::Enum(options) => {
            let v = one()?.to_ascii_lowercase();
            if options.contains(&v.as_str()) {
                Ok(Val::Str(v))
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    options.join(", ")
                ))
            }
        }
        Kind::Str => Ok(Val::Str(args.join(" "))),
        Kind::MemOrPercent => {
            let text = one()?;
            if let Some(pct) = text.strip_suffix('%') {
                let n: i64 = pct
                    .parse()
                    .map_err(|_| "argument must be a memory or percent value".to_string())?;
                if n > 100 {
                    return Err("percentage argument must be less or equal to 100".into());
                }
                if n < 0 {
                    return Err("argument must be a memory or percent value".into());
                }
                return Ok(Val::Str(format!("{n}%")));
            }
            let v = parse_mem(text)
                .filter(|v| *v >= 0)
                .ok_or_else(|| "argument must be a memory or percent value".to_string())?;
            Ok(Val::Int(v))
        }
        Kind::Events => {
            let mask = ember_core::journal::class::parse(one()?.as_bytes()).ok_or_else(|| {
                "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".to_string()
            })?;
            let mut canonical = String::new();
            ember_core::journal::class::format(mask, &mut canonical);
            Ok(Val::Str(canonical))
        }
        Kind::Save => {
            let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if !words.len().is_multiple_of(2) {
                return Err("Invalid save parameters".into());
            }
            let mut out = Vec::new();
            for pair in words.chunks(2) {
                let s = pair[0]
                    .parse::<u64>()
                    .map_err(|_| "Invalid save parameters".to_string())?;
                let c = pair[1]
                    .parse::<u64>()
                    .map_err(|_| "Invalid save parameters".to_string())?;
                out.push((s, c));
            }
            Ok(Val::Save(out))
        }
        Kind::OutputLimit => {
            let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if words.is_empty() || !words.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            let mut limits = [
                (0, 0, 0),
                (268_435_456, 67_108_864, 60),
                (33_554_432, 8_388_608, 60),
            ];
            for w in words.chunks(4) {
                let class = match w[0].to_ascii_lowercase().as_str() {
                    "normal" => 0,
                    "slave" | "replica" => 1,
                    "pubsub" => 2,
                    _ => {
                        return Err(
                            "Invalid client class specified in buffer limit configuration.".into(),
                        )
                    }
                };
                let hard = parse_mem(w[1]).filter(|v| *v >= 0);
                let soft = parse_mem(w[2]).filter(|v| *v >= 0);
                let secs = w[3].parse::<u64>().ok();
                match (hard, soft, secs) {
                    (Some(h), Some(s), Some(t)) => limits[class] = (h as u64, s as u64, t),
                    _ => return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into()),
                }
            }
            Ok(Val::OutputLimit(limits))
        }
    }
}

fn format_value(v: &Val) -> String {
    match v {
        Val::Bool(b) => (if *b { "yes" } else { "no" }).into(),
        Val::Int(n) => n.to_string(),
        Val::Str(s) => s.clone(),
        Val::Save(pairs) => pairs
            .iter()
            .map(|(s, c)| format!("{s} {c}"))
            .collect::<Vec<_>>()
            .join(" "),
        Val::OutputLimit(l) => {
            let names = ["normal", "slave", "pubsub"];
            let mut out = String::new();
            for (i, (h, s, t)) in l.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                let _ = write!(out, "{} {h} {s} {t}", names[i]);
            }
            out
        }
    }
}

/// Why a config file or argument list was rejected.
#[derive(Debug)]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub text: String,
    pub reason: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "\n*** FATAL CONFIG FILE ERROR (Redis {}) ***",
            ember_core::REDIS_VERSION
        )?;
        writeln!(
            f,
            "Reading the configuration file {}, at line {}",
            self.file, self.line
        )?;
        writeln!(f, ">>> '{}'", self.text)?;
        write!(f, "{}", self.reason)
    }
}

impl Config {
    pub fn new() -> Self {
        let values = PARAMS
            .iter()
            .map(|p| {
                let args: Vec<String> = if p.default.is_empty() {
                    vec![String::new()]
                } else {
                    vec![p.default.to_string()]
                };
                parse_value(p, &args).unwrap_or(Val::Str(p.default.to_string()))
            })
            .collect();
        Config { values, file: None }
    }

    pub fn find(name: &str) -> Option<usize> {
        PARAMS.iter().position(|p| {
            p.name.eq_ignore_ascii_case(name)
                || p.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
        })
    }

    /// Applies one directive (`name arg...`); the error is the reason text.
    pub fn apply(&mut self, name: &str, args: &[String], at_runtime: bool) -> Result<(), String> {
        let i = Self::find(name)
            .ok_or_else(|| "Bad directive or wrong number of arguments".to_string())?;
        let param = &PARAMS[i];
        if args.is_empty() {
            return Err("wrong number of arguments".into());
        }
        if at_runtime && param.immutable {
            // Setting an immutable directive to the value it already has is allowed (a no-op).
            return match parse_value(param, args) {
                Ok(v) if v == self.values[i] => Ok(()),
                _ => Err("can't set immutable config".into()),
            };
        }
        let mut v = parse_value(param, args)?;
        if param.name == "hz" {
            // Redis accepts any hz and keeps it within 1..=500.
            if let Val::Int(n) = &mut v {
                *n = (*n).clamp(1, 500);
            }
        }
        self.values[i] = v;
        Ok(())
    }

    /// Loads redis.conf text; `origin` names it in errors.
    pub fn load_text(&mut self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let mut args = ArgBuf::default();
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |reason: String| ConfigError {
                file: origin.into(),
                line: n + 1,
                text: line.into(),
                reason,
            };
            split_args(line.as_bytes(), &mut args)
                .map_err(|_| err("Unbalanced quotes in configuration line".into()))?;
            let words: Vec<String> = args
                .ranges
                .iter()
                .map(|r| String::from_utf8_lossy(&args.scratch[r.clone()]).into_owned())
                .collect();
            let Some((name, rest)) = words.split_first() else {
                continue;
            };
            self.apply(name, rest, false).map_err(err)?;
        }
        Ok(())
    }

    /// Builds the config from redis-server style arguments: an optional config file first, then
    /// `--name value ...` options (which override the file).
    pub fn from_args(args: &[String]) -> Result<Self, ConfigError> {
        let mut cfg = Config::new();
        let mut rest = args;
        if let Some(first) = args.first().filter(|a| !a.starts_with("--")) {
            let path = Path::new(first);
            let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
                file: first.clone(),
                line: 0,
                text: String::new(),
                reason: format!("Fatal error, can't open config file '{first}': {e}"),
            })?;
            cfg.load_text(&text, first)?;
            cfg.file = std::fs::canonicalize(path)
                .ok()
                .or_else(|| Some(path.to_path_buf()));
            rest = &args[1..];
        }
        // Each `--name` starts a directive; following words are its arguments, as in redis-server.
        let mut text = String::new();
        for a in rest {
            if let Some(name) = a.strip_prefix("--") {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(name);
            } else {
                text.push(' ');
                text.push_str(&quote(a));
            }
        }
        cfg.load_text(&text, "(command line)")?;
        Ok(cfg)
    }

    /// A copy of every value, for rolling back a CONFIG SET whose apply step failed.
    pub fn snapshot(&self) -> Vec<Val> {
        self.values.clone()
    }

    pub fn restore(&mut self, values: Vec<Val>) {
        self.values = values;
    }

    pub fn get_int(&self, name: &str) -> i64 {
        match Self::find(name).map(|i| &self.values[i]) {
            Some(Val::Int(n)) => *n,
            Some(Val::Bool(b)) => *b as i64,
            _ => 0,
        }
    }

    pub fn get_bool(&self, name: &str) -> bool {
        matches!(
            Self::find(name).map(|i| &self.values[i]),
            Some(Val::Bool(true))
        )
    }

    pub fn get_str(&self, name: &str) -> String {
        Self::find(name)
            .map(|i| format_value(&self.values[i]))
            .unwrap_or_default()
    }

    pub fn output_limits(&self) -> [(u64, u64, u64); 3] {
        match Self::find("client-output-buffer-limit").map(|i| &self.values[i]) {
            Some(Val::OutputLimit(l)) => *l,
            _ => [(0, 0, 0); 3],
        }
    }

    /// CONFIG GET: every (name, value) whose name or alias matches one of the glob patterns.
    pub fn matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (i, p) in PARAMS.iter().enumerate() {
            for name in std::iter::once(p.name).chain(p.alias) {
                // Hidden directives answer only to their exact name, never to a glob.
                if HIDDEN.contains(&p.name) {
                    if patterns
                        .iter()
                        .any(|pat| pat.eq_ignore_ascii_case(name.as_bytes()))
                    {
                        out.push((name.to_string(), format_value(&self.values[i])));
                    }
                    continue;
                }
                if patterns
                    .iter()
                    .any(|pat| glob_match(pat, name.as_bytes(), true))
                    && !out.iter().any(|(n, _)| n == name)
                {
                    out.push((name.to_string(), format_value(&self.values[i])));
                }
            }
        }
        out
    }

    /// The config file text CONFIG REWRITE writes: the original lines kept, changed values rewritten in
    /// place, and new non-default values appended.
    pub fn rewrite_text(&self, original: &str) -> String {
        let mut seen = vec![false; PARAMS.len()];
        let mut out = String::new();
        let line_for = |i: usize| format!("{} {}\n", PARAMS[i].name, quote(&self.rewrite_value(i)));
        for raw in original.lines() {
            let line = raw.trim();
            let name = line.split_whitespace().next().unwrap_or("");
            match Self::find(name).filter(|_| !line.starts_with('#')) {
                Some(i) if !seen[i] => {
                    seen[i] = true;
                    out.push_str(&line_for(i));
                }
                Some(_) => {}
                None => {
                    out.push_str(raw);
                    out.push('\n');
                }
            }
        }
        let defaults = Config::new();
        let added: Vec<String> = (0..PARAMS.len())
            .filter(|&i| !seen[i] && self.values[i] != defaults.values[i])
            .map(line_for)
            .collect();
        if !added.is_empty() && !original.lines().any(|l| l.trim() == REWRITE_MARKER) {
            out.push_str(REWRITE_MARKER);
            out.push('\n');
        }
        for l in added {
            out.push_str(&l);
        }
        out
    }

    /// A value as CONFIG REWRITE writes it: memory sizes in the largest whole unit (`2mb`).
    fn rewrite_value(&self, i: usize) -> String {
        match (&PARAMS[i].kind, &self.values[i]) {
            (Kind::Mem { .. }, Val::Int(n)) if *n != 0 => {
                let n = *n;
                for (unit, name) in [(1i64 << 30, "gb"), (1 << 20, "mb"), (1 << 10, "kb")] {
                    if n % unit == 0 {
                        return format!("{}{name}", n / unit);
                    }
                }
                n.to_string()
            }
            (_, v) => format_value(v),
        }
    }
}

/// The comment CONFIG REWRITE puts before the directives it adds.
const REWRITE_MARKER: &str = "# Generated by CONFIG REWRITE";

impl Default for Config {
    fn default() -> Self {
        Self::new()
    }
}

/// Quotes a config argument when it is empty or holds spaces or quotes.
fn quote(s: &str) -> String {
    if !s.is_empty()
        && !s
            .bytes()
            .any(|c| c.is_ascii_whitespace() || c == b'"' || c == b'\'' || c == b'\\')
    {
        return s.to_string();
    }
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_parse() {
        let c = Config::new();
        assert_eq!(c.get_int("port"), 6379);
        assert_eq!(c.get_int("proto-max-bulk-len"), 512 << 20);
        assert_eq!(c.get_str("save"), "3600 1 300 100 60 10000");
        assert_eq!(c.get_str("bind"), "* -::*");
    }

    #[test]
    fn file_and_args() {
        let mut c = Config::new();
        c.load_text("# comment\nport 7000\nmaxmemory 1gb\nsave \"\"\n", "x.conf")
            .unwrap();
        assert_eq!(c.get_int("port"), 7000);
        assert_eq!(c.get_int("maxmemory"), 1 << 30);
        assert_eq!(c.get_str("save"), "");
        let e = c.load_text("port 7000\nnosuch 1\n", "y.conf").unwrap_err();
        assert_eq!(
            (e.line, e.reason.as_str()),
            (2, "Bad directive or wrong number of arguments")
        );
        let e = c.load_text("port abc\n", "y.conf").unwrap_err();
        assert!(e.reason.contains("integer"));
        let args: Vec<String> = ["--port", "7001", "--save", "", "--loglevel", "warning"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let c = Config::from_args(&args).unwrap();
        assert_eq!(c.get_int("port"), 7001);
        assert_eq!(c.get_str("save"), "");
        assert_eq!(c.get_str("loglevel"), "warning");
    }

    #[test]
    fn rewrite_keeps_unknown_lines() {
        let mut c = Config::new();
        c.apply("maxclients", &["50".into()], true).unwrap();
        let text = c.rewrite_text("# hi\nport 6379\nport 6380\n");
        assert_eq!(
            text,
            "# hi\nport 6379\n# Generated by CONFIG REWRITE\nmaxclients 50\n"
        );
    }
}
