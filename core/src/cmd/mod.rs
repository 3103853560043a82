//! The command model: a static table per command family declaring name, arity, flags, key positions and
//! ACL categories beside the handler, and the [`ExecCtx`] a handler runs in.
//!
//! Data commands live here in core, grouped by family (`string.rs`, `keys.rs`, ...). The server adds its
//! own families (CLIENT, CONFIG, INFO, ...) with the same [`CommandInfo`] metadata, so COMMAND and its
//! subcommands describe every command from one source. A handler returns `Result<(), CmdError>`; only the
//! dispatcher turns the error into `-ERR ...` text.

/// One row of a command table: name, arity, flags, key positions (first, last, step), ACL
/// categories, handler, then COMMAND DOCS' summary, since and (optionally) complexity. The group
/// comes from the `GROUP` constant of the table's module.
macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $acl:expr, $run:expr, $summary:literal, $since:literal, subcommands: $subs:expr) => {
        cmd!(@row $name, $arity, $flags, $keys, $acl, $run, $summary, $since, subcommands: $subs)
    };
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $acl:expr, $run:expr, $summary:literal, $since:literal $(, $complexity:expr)?) => {
        cmd!(@row $name, $arity, $flags, $keys, $acl, $run, $summary, $since, $(complexity: $complexity)?)
    };
    (@row $name:literal, $arity:expr, $flags:expr, $keys:expr, $acl:expr, $run:expr, $summary:literal, $since:literal, $($field:ident: $value:expr)?) => {
        $crate::cmd::Command {
            info: $crate::cmd::CommandInfo {
                since: $since,
                $($field: $value,)?
                ..sub!($name, $arity, $flags, $keys, $acl, $summary)
            },
            run: $run,
        }
    };
}

/// One subcommand's description (OBJECT ENCODING, XGROUP CREATE, ...) for its parent's
/// `subcommands`: name, arity, flags, key positions, ACL categories, summary and, when it differs
/// from its parent's, the version that added it. The group comes from the module's `GROUP`.
macro_rules! sub {
    ($name:literal, $arity:expr, $flags:expr, $keys:expr, $acl:expr, $summary:literal $(, $since:literal)?) => {
        $crate::cmd::CommandInfo {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $keys.0,
            last_key: $keys.1,
            key_step: $keys.2,
            acl: $acl,
            group: GROUP,
            summary: $summary,
            $(since: $since,)?
            ..$crate::cmd::BLANK
        }
    };
}

pub mod bitmap;
pub mod dump;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod list;
/// A reference model and command generator for the model-based test and fuzz target.
#[cfg(any(test, feature = "fuzz-model"))]
#[doc(hidden)]
pub mod model;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
#[cfg(test)]
pub(crate) mod testing;
pub mod zset;

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use bumpalo::Bump;

use crate::journal::{class, Journal};
use crate::keyspace::{Db, Keyspace, KeyspaceStats};
use crate::resp::{Argv, ReplyWriter};
use crate::types::string::{parse_canonical_i64, CompactStr};
use crate::types::Value;

/// Command flags (Redis's `CMD_*`), as bits.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const MOVABLE_KEYS: u32 = 1 << 15;
    pub const ALLOW_BUSY: u32 = 1 << 16;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 17;

    /// Names COMMAND reports, in bit order.
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (MAY_REPLICATE, "may_replicate"),
        (NO_MULTI, "no_multi"),
        (MOVABLE_KEYS, "movablekeys"),
        (ALLOW_BUSY, "allow_busy"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    ];
}

/// ACL categories, as bits.
pub mod acl {
    pub const KEYSPACE: u32 = 1 << 0;
    pub const READ: u32 = 1 << 1;
    pub const WRITE: u32 = 1 << 2;
    pub const SET: u32 = 1 << 3;
    pub const SORTEDSET: u32 = 1 << 4;
    pub const LIST: u32 = 1 << 5;
    pub const HASH: u32 = 1 << 6;
    pub const STRING: u32 = 1 << 7;
    pub const BITMAP: u32 = 1 << 8;
    pub const HYPERLOGLOG: u32 = 1 << 9;
    pub const GEO: u32 = 1 << 10;
    pub const STREAM: u32 = 1 << 11;
    pub const PUBSUB: u32 = 1 << 12;
    pub const ADMIN: u32 = 1 << 13;
    pub const FAST: u32 = 1 << 14;
    pub const SLOW: u32 = 1 << 15;
    pub const BLOCKING: u32 = 1 << 16;
    pub const DANGEROUS: u32 = 1 << 17;
    pub const CONNECTION: u32 = 1 << 18;
    pub const TRANSACTION: u32 = 1 << 19;
    pub const SCRIPTING: u32 = 1 << 20;

    pub const NAMES: &[(u32, &str)] = &[
        (KEYSPACE, "keyspace"),
        (READ, "read"),
        (WRITE, "write"),
        (SET, "set"),
        (SORTEDSET, "sortedset"),
        (LIST, "list"),
        (HASH, "hash"),
        (STRING, "string"),
        (BITMAP, "bitmap"),
        (HYPERLOGLOG, "hyperloglog"),
        (GEO, "geo"),
        (STREAM, "stream"),
        (PUBSUB, "pubsub"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (SLOW, "slow"),
        (BLOCKING, "blocking"),
        (DANGEROUS, "dangerous"),
        (CONNECTION, "connection"),
        (TRANSACTION, "transaction"),
        (SCRIPTING, "scripting"),
    ];
}

/// Static description of a command (or subcommand).
#[derive(Debug)]
pub struct CommandInfo {
    /// Lowercase name (`get`, or `get` for the subcommand `object|encoding`'s last part).
    pub name: &'static str,
    /// Redis arity: N means exactly N arguments (name included), -N means at least N.
    pub arity: i32,
    pub flags: u32,
    /// Key positions: first, last (negative counts from the end), step; all 0 when there are no keys.
    pub first_key: i32,
    pub last_key: i32,
    pub key_step: i32,
    pub acl: u32,
    /// COMMAND DOCS group (`string`, `generic`, `connection`, `server`, ...).
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub complexity: &'static str,
    /// Subcommands, described for COMMAND; the parent's handler dispatches them.
    pub subcommands: &'static [CommandInfo],
}

impl CommandInfo {
    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let argc = argc as i64;
        let a = self.arity as i64;
        if a >= 0 {
            argc == a
        } else {
            argc >= -a
        }
    }

    /// Positions of the keys in `argv` (COMMAND GETKEYS, cluster routing).
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let argc = argc as i64;
        let first = self.first_key as i64;
        let last = if self.last_key < 0 {
            argc + self.last_key as i64
        } else {
            self.last_key as i64
        };
        let step = (self.key_step as i64).max(1);
        let end = if first == 0 { -1 } else { last.min(argc - 1) };
        (0..)
            .map(move |k| first + k * step)
            .take_while(move |&p| p <= end && p >= 1)
            .map(|p| p as usize)
    }
}

/// Key positions (first, last, step) of a command whose one key is its first argument.
pub const KEY1: (i32, i32, i32) = (1, 1, 1);
/// Key positions of a command that names no key (or names them through a count: `movablekeys`).
pub const NOKEYS: (i32, i32, i32) = (0, 0, 0);

/// A blank description to build others from (`..BLANK`).
pub const BLANK: CommandInfo = CommandInfo {
    name: "",
    arity: 0,
    flags: 0,
    first_key: 0,
    last_key: 0,
    key_step: 0,
    acl: 0,
    group: "generic",
    summary: "",
    since: "1.0.0",
    complexity: "O(1)",
    subcommands: &[],
};

/// A core command: its description and handler.
pub struct Command {
    pub info: CommandInfo,
    pub run: fn(&mut ExecCtx<'_>, Argv<'_>) -> CmdResult,
}

/// Every core command table.
pub fn tables() -> [&'static [Command]; 12] {
    [
        string::COMMANDS,
        keys::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        zset::geo::COMMANDS,
        sort::COMMANDS,
        bitmap::COMMANDS,
        hll::COMMANDS,
        stream::COMMANDS,
        dump::COMMANDS,
    ]
}

/// Finds a core command by name (case-insensitive) with a linear search. A dispatcher looks names
/// up through a [`NameIndex`] instead.
pub fn find(name: &[u8]) -> Option<&'static Command> {
    tables()
        .into_iter()
        .flat_map(|t| t.iter())
        .find(|c| eq_ci(name, c.info.name))
}

/// Longest command name a [`NameIndex`] looks up (longer names cannot match).
pub const NAME_MAX: usize = 32;

/// Command names to positions in a dispatcher's table, looked up case-insensitively without
/// allocating: the per-command lookup of the server and of ember_exec().
pub struct NameIndex {
    /// Lowercase names and their positions in the command table.
    names: Vec<(&'static str, usize)>,
    /// Open addressing over `names` by [`name_hash`], linear probing; [`NO_SLOT`] marks a free
    /// slot. At most a quarter full, so a lookup is one hash and usually one comparison.
    slots: Vec<u16>,
}

/// A free slot of [`NameIndex::slots`].
const NO_SLOT: u16 = u16::MAX;

impl NameIndex {
    /// Indexes `names` (lowercase, as command tables spell them) by their position.
    pub fn new<'a>(names: impl IntoIterator<Item = &'a CommandInfo>) -> Self {
        let names: Vec<(&'static str, usize)> = names
            .into_iter()
            .enumerate()
            .map(|(i, info)| (info.name, i))
            .collect();
        assert!(names.len() < NO_SLOT as usize, "command table too large");
        let size = (names.len() * 4).next_power_of_two().max(8);
        let mut slots = vec![NO_SLOT; size];
        for (at, (name, _)) in names.iter().enumerate() {
            let mut i = crate::fnv1a(name.as_bytes()) as usize & (size - 1);
            while slots[i] != NO_SLOT {
                i = (i + 1) & (size - 1);
            }
            slots[i] = at as u16;
        }
        NameIndex { names, slots }
    }

    /// The position of the command called `name`, in any case.
    pub fn get(&self, name: &[u8]) -> Option<usize> {
        if name.len() > NAME_MAX {
            return None;
        }
        let mut buf = [0u8; NAME_MAX];
        let lower = &mut buf[..name.len()];
        lower.copy_from_slice(name);
        lower.make_ascii_lowercase();
        let mask = self.slots.len() - 1;
        let mut i = crate::fnv1a(lower) as usize & mask;
        loop {
            let (n, at) = *self.names.get(usize::from(self.slots[i]))?;
            if n.as_bytes() == &*lower {
                return Some(at);
            }
            i = (i + 1) & mask;
        }
    }
}

/// A command's failure; the dispatcher writes it as an error reply. The text carries its code
/// (`ERR`, `WRONGTYPE`, ...) and matches Redis's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdError(pub Cow<'static, str>);

pub type CmdResult = Result<(), CmdError>;

impl CmdError {
    pub const fn new(text: &'static str) -> Self {
        CmdError(Cow::Borrowed(text))
    }
    pub fn owned(text: String) -> Self {
        CmdError(Cow::Owned(text))
    }
}

impl core::fmt::Display for CmdError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for CmdError {}

/// Redis's shared error replies.
pub mod err {
    use super::CmdError;
    pub const WRONGTYPE: CmdError =
        CmdError::new("WRONGTYPE Operation against a key holding the wrong kind of value");
    pub const SYNTAX: CmdError = CmdError::new("ERR syntax error");
    pub const NOT_INTEGER: CmdError = CmdError::new("ERR value is not an integer or out of range");
    pub const NOT_FLOAT: CmdError = CmdError::new("ERR value is not a valid float");
    pub const OVERFLOW: CmdError = CmdError::new("ERR increment or decrement would overflow");
    pub const NO_SUCH_KEY: CmdError = CmdError::new("ERR no such key");
    pub const DB_INDEX: CmdError = CmdError::new("ERR DB index is out of range");
    pub const STRING_TOO_LONG: CmdError =
        CmdError::new("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    pub const OUT_OF_RANGE: CmdError = CmdError::new("ERR value is out of range, must be positive");
    /// A write refused at the memory limit when nothing more can be evicted.
    pub const OOM: CmdError =
        CmdError::new("OOM command not allowed when used memory > 'maxmemory'.");

    /// The reply to a command (or `cmd|sub` subcommand) called with the wrong number of arguments.
    pub fn wrong_arity(name: &str) -> CmdError {
        CmdError::owned(alloc::format!(
            "ERR wrong number of arguments for '{name}' command"
        ))
    }
}

/// Settings core commands consult (a subset of the server config).
#[derive(Clone, Copy, Debug)]
pub struct CoreConfig {
    /// `proto-max-bulk-len`: the longest string a command may build.
    pub proto_max_bulk_len: u64,
    /// `hash-max-listpack-entries` / `-value`: the compact hash encoding's limits.
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    /// `set-max-intset-entries`: the integer-set encoding's limit.
    pub set_max_intset_entries: usize,
    /// `set-max-listpack-entries` / `-value` (Redis 7.2 names; used for small non-integer sets).
    pub set_max_listpack_entries: usize,
    pub set_max_listpack_value: usize,
    /// `zset-max-listpack-entries` / `-value`: the compact sorted-set encoding's limits.
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    /// `list-max-listpack-size` (negative: a size class, positive: elements per node).
    pub list_max_listpack_size: i64,
    /// `list-compress-depth`: list nodes kept uncompressed at each end of a new list (0: none).
    /// Ember's default is 1 where Redis's is 0: interior nodes are LZ4-compressed.
    pub list_compress_depth: usize,
    /// `value-compression`: string values set whole (SET, MSET, ...) of at least
    /// `value-compression-min-size` bytes are stored LZ4-compressed when that saves an eighth.
    pub value_compression: bool,
    pub value_compression_min_size: usize,
    /// `stream-node-max-bytes` / `-entries`: when a stream starts a new node (0: no limit).
    pub stream_node_max_bytes: usize,
    pub stream_node_max_entries: usize,
}

/// Ember's default `list-compress-depth` (Redis's is 0): lists longer than three nodes keep their
/// interior nodes LZ4-compressed, which makes a long list of short items cost less than its
/// payload while pushes and pops at the ends never touch a compressed node.
pub const LIST_COMPRESS_DEPTH_DEFAULT: usize = 1;

/// Default `value-compression-min-size`: shorter values rarely compress by an eighth.
pub const VALUE_COMPRESSION_MIN_SIZE_DEFAULT: usize = 64;

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            proto_max_bulk_len: crate::resp::PROTO_MAX_BULK_LEN_DEFAULT,
            hash_max_listpack_entries: 512,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            set_max_listpack_entries: 128,
            set_max_listpack_value: 64,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            list_compress_depth: LIST_COMPRESS_DEPTH_DEFAULT,
            value_compression: true,
            value_compression_min_size: VALUE_COMPRESSION_MIN_SIZE_DEFAULT,
            stream_node_max_bytes: 4096,
            stream_node_max_entries: 100,
        }
    }
}

/// What a command did that its host must know about.
#[derive(Default, Debug)]
pub struct Effects {
    /// Number of changes (feeds `dirty`, persistence and WATCH).
    pub dirty: u64,
    /// The selected database changed (SELECT runs in the server, but MOVE-like commands may set it).
    pub select_db: Option<usize>,
    /// A blocking command found nothing to pop and wrote no reply: the host parks the client until
    /// one of the keys changes (then runs the command again) or the timeout passes (then replies
    /// with a null array).
    pub block: Option<BlockRequest>,
    /// What the command logs to the AOF and replicas.
    pub propagate: Propagate,
}

/// What a command propagates (to the AOF and replicas), Redis's `alsoPropagate` and
/// `rewriteClientCommandVector`: the command itself when it changed something, or commands that
/// replay its effect exactly whenever they run (SET ... EX becomes SET ... PXAT, SPOP becomes SREM,
/// an XADD `*` names the ID it made).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Propagate {
    /// The command as it was sent, if it changed anything (`dirty > 0`).
    #[default]
    AsIs,
    /// These commands instead (each a list of arguments, name first).
    Replace(Vec<Vec<Vec<u8>>>),
}

/// What a blocked command waits for.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockRequest {
    /// Keys (in the selected database) whose change may unblock the command.
    pub keys: Vec<Vec<u8>>,
    /// Absolute deadline in unix milliseconds, or 0 to wait forever.
    pub deadline_ms: u64,
    /// The command to park instead of the one that ran (XREAD with `$` parks with the IDs it
    /// resolved), name included.
    pub argv: Option<Vec<Vec<u8>>>,
}

/// Parses a blocking command's timeout (seconds, fractions allowed) into an absolute deadline
/// (0 = forever), with Redis's errors.
pub fn arg_timeout(arg: &[u8], now_ms: u64) -> Result<u64, CmdError> {
    let secs = parse_f64(arg)
        .filter(|s| s.is_finite())
        .ok_or(CmdError::new("ERR timeout is not a float or out of range"))?;
    if secs < 0.0 {
        return Err(CmdError::new("ERR timeout is negative"));
    }
    // Milliseconds, truncated as Redis does.
    let ms = secs * 1000.0;
    if ms >= (i64::MAX / 2) as f64 {
        return Err(CmdError::new("ERR timeout is out of range"));
    }
    let ms = ms as u64;
    Ok(if ms == 0 {
        0
    } else {
        now_ms.saturating_add(ms)
    })
}

/// The context one command runs in.
pub struct ExecCtx<'a> {
    pub ks: &'a mut Keyspace,
    /// The client's selected database.
    pub db: usize,
    /// The host's clock, unix milliseconds.
    pub now_ms: u64,
    pub out: ReplyWriter<'a>,
    pub config: &'a CoreConfig,
    /// Lookups do not update the access clock (CLIENT NO-TOUCH, OBJECT, TYPE with no-touch).
    pub no_touch: bool,
    pub effects: Effects,
    /// Blocking commands may block (a server client outside MULTI); otherwise they act as their
    /// non-blocking form and reply null when there is nothing to pop.
    pub may_block: bool,
    /// Modified keys and keyspace events for the host.
    pub journal: &'a mut Journal,
}

impl Drop for ExecCtx<'_> {
    /// A command is done: short strings it changed in place are packed again.
    fn drop(&mut self) {
        self.ks.repack();
    }
}

impl<'a> ExecCtx<'a> {
    /// The selected database and keyspace counters.
    #[inline]
    pub fn db(&mut self) -> (&mut Db, &mut KeyspaceStats) {
        self.ks.db_and_stats(self.db)
    }

    #[inline]
    pub fn now_s(&self) -> u32 {
        (self.now_ms / 1000) as u32
    }

    /// Runs `f` with the keyspace's scratch arena, for intermediate results that die with the
    /// command (Redis would allocate them one by one from the heap). Everything `f` allocates there
    /// is freed at once when it returns.
    pub fn with_scratch<R>(&mut self, f: impl FnOnce(&mut Self, &Bump) -> R) -> R {
        let scratch = self.ks.take_scratch();
        let r = f(self, &scratch);
        self.ks.restore_scratch(scratch);
        r
    }

    /// Looks up a key for reading, counting a hit or a miss.
    pub fn lookup_read(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.lookup_with_out(key, true).0
    }

    /// Looks up a key for writing (no hit/miss accounting).
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.lookup_with_out(key, false).0
    }

    /// Looks a key up and lends the reply writer beside the value. A `read` lookup counts a
    /// keyspace hit or miss and honours CLIENT NO-TOUCH; a write lookup always touches the key.
    pub fn lookup_with_out(
        &mut self,
        key: &[u8],
        read: bool,
    ) -> (Option<&mut Value>, &mut ReplyWriter<'a>) {
        let touch = !(read && self.no_touch);
        let v = self
            .ks
            .lookup(self.db, key, self.now_ms, touch, read, !read);
        (v, &mut self.out)
    }

    /// Whether `key` exists, looked up as a write does (lazy expiry, the key touched, no hit or
    /// miss counted), without reading its value (SET NX/XX, SETNX, MSETNX).
    pub fn exists_for_write(&mut self, key: &[u8]) -> bool {
        let (db, stats) = self.ks.db_and_stats(self.db);
        db.exists_for_write(key, self.now_ms, stats)
    }

    /// Looks a key up as a write does (lazy expiry, the key touched, no hit or miss counted)
    /// only to learn whether it exists or its type: a packed string stays packed, and the value
    /// given is a copy of it.
    pub fn lookup_check(&mut self, key: &[u8]) -> Option<&Value> {
        self.ks
            .lookup(self.db, key, self.now_ms, true, false, false)
            .map(|v| &*v)
    }

    /// A string value for reading (counting a hit or a miss) that the caller may still change in
    /// place, as PFCOUNT does with its cache: `Ok(None)` when absent, WRONGTYPE for another type.
    pub fn read_str(&mut self, key: &[u8]) -> Result<Option<&mut CompactStr>, CmdError> {
        let touch = !self.no_touch;
        as_str(self.ks.lookup(self.db, key, self.now_ms, touch, true, true))
    }

    /// A string value for writing: `Ok(None)` when absent, WRONGTYPE for another type.
    pub fn write_str(&mut self, key: &[u8]) -> Result<Option<&mut CompactStr>, CmdError> {
        as_str(self.lookup_write(key))
    }

    /// Reads a string value's bytes and hands them to `f` together with the reply writer.
    pub fn with_str<R>(
        &mut self,
        key: &[u8],
        f: impl FnOnce(Option<&[u8]>, &mut ReplyWriter<'a>) -> R,
    ) -> Result<R, CmdError> {
        let (v, out) = self.lookup_with_out(key, true);
        // A compressed value expands into a buffer of its own and stays compressed.
        let (mut int, mut big) = ([0u8; crate::types::string::I64_DIGITS_MAX], Vec::new());
        let bytes = match v {
            None => None,
            Some(v) => Some(v.str_bytes(&mut int, &mut big).ok_or(err::WRONGTYPE)?),
        };
        Ok(f(bytes, out))
    }

    /// Stores a value, replacing the old one. `expire_at_ms`: see [`Db::set`].
    /// Records the `new` event when the key did not exist. The command records its own event.
    pub fn store(&mut self, key: &[u8], value: Value, expire_at_ms: Option<u64>) {
        let now_s = self.now_s();
        if self.ks.db_mut(self.db).set(key, value, expire_at_ms, now_s) {
            self.notify(class::NEW, "new", key);
        }
        self.touched(1);
    }

    /// Stores a string value set whole by a command (SET, MSET, GETSET, ...): compressed when
    /// `value-compression` is on, the value is long enough and LZ4 saves at least an eighth.
    pub fn store_string(&mut self, key: &[u8], bytes: &[u8], expire_at_ms: Option<u64>) {
        let value = string_value(self.ks, self.config, bytes);
        self.store(key, value, expire_at_ms);
    }

    /// Records a keyspace event on `key` in the selected database.
    #[inline]
    pub fn notify(&mut self, class: u32, name: &'static str, key: &[u8]) {
        self.journal.event(class, name, self.db, key);
    }

    /// Records that `key` in the selected database was written, with its keyspace event.
    #[inline]
    pub fn wrote(&mut self, class: u32, name: &'static str, key: &[u8]) {
        self.journal.modified(self.db, key);
        self.journal.event(class, name, self.db, key);
    }

    /// Propagates `args` (one command) in place of the command itself; several calls propagate
    /// several commands, in order.
    pub fn propagate_as(&mut self, args: &[&[u8]]) {
        let cmd: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        match &mut self.effects.propagate {
            Propagate::Replace(list) => list.push(cmd),
            p => *p = Propagate::Replace(vec![cmd]),
        }
    }

    /// Propagates nothing, whatever the command changed.
    pub fn propagate_nothing(&mut self) {
        self.effects.propagate = Propagate::Replace(Vec::new());
    }

    /// Whether an expire time at `at_ms` has passed, so that setting it deletes the key. Never
    /// while an AOF is replayed: a later logged command may keep the key.
    pub fn already_expired(&self, at_ms: u64) -> bool {
        !self.ks.loading() && at_ms <= self.now_ms
    }

    /// Records `n` changes.
    #[inline]
    pub fn touched(&mut self, n: u64) {
        self.effects.dirty += n;
        self.ks.dirty += n;
    }
}

/// The value a whole-string write stores for `bytes` in `ks` under `cfg`: compressed (against
/// the keyspace's dictionary once trained) when `value-compression` is on, the value has at least
/// `value-compression-min-size` bytes and LZ4 saves an eighth; plain otherwise.
pub fn string_value(ks: &mut Keyspace, cfg: &CoreConfig, bytes: &[u8]) -> Value {
    if cfg.value_compression && bytes.len() >= cfg.value_compression_min_size.max(1) {
        let dict = ks.compression.dict_for(bytes);
        if let Some(z) = crate::types::lz::LzStr::compress(bytes, dict) {
            return Value::Lz(z);
        }
    }
    Value::Str(CompactStr::from_value(bytes))
}

fn as_str(v: Option<&mut Value>) -> Result<Option<&mut CompactStr>, CmdError> {
    match v {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(v @ Value::Lz(_)) => {
            // A caller that may change the string in place gets it plain (and it stays plain
            // until a command sets it whole again); the fast read paths never come here.
            v.expand();
            match v {
                Value::Str(s) => Ok(Some(s)),
                _ => Err(err::WRONGTYPE),
            }
        }
        #[allow(unreachable_patterns)]
        Some(_) => Err(err::WRONGTYPE),
    }
}

/// Most elements one SRANDMEMBER, HRANDFIELD or ZRANDMEMBER with a negative count (repeats
/// allowed) returns. Redis has no limit, but the reply is built in memory before any output-buffer
/// limit applies, so a hostile count must not be able to allocate without bound; past the limit the
/// command answers "ERR value is out of range".
pub const RANDOM_REPEAT_MAX: u64 = 1 << 24;

/// Parses an integer argument (`ERR value is not an integer or out of range`).
pub fn arg_i64(arg: &[u8]) -> Result<i64, CmdError> {
    parse_canonical_i64(arg).ok_or(err::NOT_INTEGER)
}

/// Parses a float argument the way Redis's `string2ld` does: no leading space, no NaN, bounded length.
pub fn arg_f64(arg: &[u8]) -> Result<f64, CmdError> {
    parse_f64(arg).ok_or(err::NOT_FLOAT)
}

/// Longest accepted float string (Redis `MAX_LONG_DOUBLE_CHARS`).
pub const FLOAT_CHARS_MAX: usize = 5 * 1024;

pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() >= FLOAT_CHARS_MAX || s[0].is_ascii_whitespace() {
        return None;
    }
    let text = core::str::from_utf8(s).ok()?;
    let v: f64 = text.parse().ok()?;
    if v.is_nan() {
        return None;
    }
    Some(v)
}

/// Case-insensitive ASCII comparison of an argument with a keyword.
#[inline]
pub fn eq_ci(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;

    #[test]
    fn name_index_finds_every_command_in_any_case() {
        let commands: Vec<&Command> = tables().into_iter().flatten().collect();
        let index = NameIndex::new(commands.iter().map(|c| &c.info));
        for (i, c) in commands.iter().enumerate() {
            let upper = c.info.name.to_ascii_uppercase();
            assert_eq!(index.get(upper.as_bytes()), Some(i), "{}", c.info.name);
            assert_eq!(index.get(c.info.name.as_bytes()), Some(i));
        }
        assert_eq!(index.get(b"nosuchcommand"), None);
        assert_eq!(index.get(b""), None);
        assert_eq!(index.get(&[b'g'; NAME_MAX + 1]), None);
    }

    #[test]
    fn tables_are_consistent() {
        let mut names = BTreeSet::new();
        for table in tables() {
            for c in table.iter() {
                assert!(
                    names.insert(c.info.name),
                    "duplicate command {}",
                    c.info.name
                );
                assert_eq!(c.info.name, c.info.name.to_ascii_lowercase());
                assert_ne!(c.info.arity, 0, "{}", c.info.name);
                if c.info.first_key > 0 {
                    assert!(c.info.key_step > 0, "{}", c.info.name);
                    let min_argc = c.info.arity.unsigned_abs() as i32;
                    assert!(
                        c.info.first_key < min_argc,
                        "{}: first key past arity",
                        c.info.name
                    );
                    if c.info.last_key > 0 {
                        assert!(
                            c.info.last_key < min_argc,
                            "{}: last key past arity",
                            c.info.name
                        );
                    }
                } else {
                    assert_eq!(
                        (c.info.last_key, c.info.key_step),
                        (0, 0),
                        "{}",
                        c.info.name
                    );
                }
                let rw = c.info.flags & (flags::WRITE | flags::READONLY);
                assert_ne!(rw, flags::WRITE | flags::READONLY, "{}", c.info.name);
            }
        }
    }
}
