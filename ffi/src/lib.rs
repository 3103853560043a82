//! libember: Ember's engine behind a C ABI, for C and any language with a C FFI, the way SQLite is
//! embedded: no server, no socket, no thread of its own. `include/ember.h` is generated from this
//! crate by the root `build.rs` (cbindgen).
//!
//! Every entry point returns an [`ember_status`], writes its out-parameters only on success, and runs
//! inside [`ffi_boundary!`], so a panic becomes `EMBER_ERR_PANIC` and never unwinds into C. Errors
//! leave a message readable with [`ember_errmsg`] until the next call on the same handle.
//!
//! # Layout
//! - this file: status codes, options, the `ember_db` handle, open/close, errors, `ember_exec`.
//! - [`reply`]: `ember_reply` accessors.
//! - [`typed`]: typed calls for the hot paths (get/set/del/exists/expire/ttl/incr), SCAN, clock,
//!   tick and memory figures.
//! - [`collections`]: typed calls for hashes, lists, sets and sorted sets, run through the same
//!   core command path as `ember_exec`.
//! - [`persist`]: saving the handle to an RDB file and loading one (`ember_db_save`,
//!   `ember_db_load`).
//!
//! # Threading
//! An `ember_db` must be used by one thread at a time (callers serialize access); different handles
//! are independent. [`ember_threadsafe`] reports 0: the library takes no internal locks.

#![allow(non_camel_case_types)]

pub mod collections;
pub mod persist;
pub mod reply;
pub mod typed;

use std::ffi::{c_char, c_void, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::OnceLock;

use ember_core::cmd::{self, CmdError, CoreConfig, Effects, ExecCtx};
use ember_core::journal::Journal;
use ember_core::keyspace::{EvictionPolicy, Keyspace};
use ember_core::reply::parse_reply;
use ember_core::resp::{Argv, Proto, ReplyWriter};

/// Major version of libember.
pub const EMBER_VERSION_MAJOR: u32 = 0;
/// Minor version of libember.
pub const EMBER_VERSION_MINOR: u32 = 1;
/// Patch version of libember.
pub const EMBER_VERSION_PATCH: u32 = 0;

/// Most databases a handle may have.
pub const EMBER_DATABASES_MAX: u32 = 1 << 16;

/// Result of every call.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_status {
    /// Success; out-parameters were written.
    EMBER_OK = 0,
    /// A required pointer was NULL.
    EMBER_ERR_NULL = 1,
    /// A Rust panic was caught at the boundary (a bug in Ember); the handle may be inconsistent.
    EMBER_ERR_PANIC = 2,
    /// An argument is invalid (argc 0, a negative TTL, a database index out of range, ...).
    EMBER_ERR_INVALID = 3,
    /// The command replied with an error (unknown command, syntax, arity, ...): see ember_errmsg().
    EMBER_ERR_COMMAND = 4,
    /// The key holds a value of another type.
    EMBER_ERR_WRONGTYPE = 5,
    /// The key does not exist.
    EMBER_ERR_NOT_FOUND = 6,
    /// The reply is not of the type the accessor reads.
    EMBER_ERR_TYPE = 7,
    /// An index is past the end of an aggregate reply.
    EMBER_ERR_RANGE = 8,
    /// maxmemory is reached and the policy cannot evict anything.
    EMBER_ERR_OOM = 9,
    /// A file could not be written or read (ember_db_save(), ember_db_load()): see ember_errmsg().
    EMBER_ERR_IO = 10,
    /// A file is not a valid RDB file (ember_db_load()): see ember_errmsg() for the offset and reason.
    EMBER_ERR_CORRUPT = 11,
}

use ember_status::*;

/// `maxmemory-policy`: which keys to evict when `maxmemory` is reached.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_policy {
    EMBER_POLICY_NOEVICTION = 0,
    EMBER_POLICY_ALLKEYS_LRU = 1,
    EMBER_POLICY_ALLKEYS_LFU = 2,
    EMBER_POLICY_ALLKEYS_RANDOM = 3,
    EMBER_POLICY_VOLATILE_LRU = 4,
    EMBER_POLICY_VOLATILE_LFU = 5,
    EMBER_POLICY_VOLATILE_RANDOM = 6,
    EMBER_POLICY_VOLATILE_TTL = 7,
}

/// Options for ember_db_open(). Zero-initialize and set what you need; a NULL options pointer means
/// all defaults.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct ember_options {
    /// Number of databases (SELECT 0..n-1); 0 means 16.
    pub databases: u32,
    /// Memory limit in bytes for keys and values (Ember's own accounting); 0 means no limit.
    pub maxmemory: u64,
    /// What to evict at the limit.
    pub policy: ember_policy,
    /// Keys sampled per eviction; 0 means 5.
    pub maxmemory_samples: u32,
    /// Longest string a command may build (proto-max-bulk-len); 0 means 512 MiB.
    pub max_string_len: u64,
}

/// A host clock: returns unix time in milliseconds. `ctx` is the pointer given to ember_db_set_clock().
pub type ember_clock_fn = Option<unsafe extern "C" fn(ctx: *mut c_void) -> u64>;

/// A database handle: the keyspace and everything a command needs. Opaque to C.
pub struct ember_db {
    pub(crate) ks: Keyspace,
    pub(crate) journal: Journal,
    pub(crate) config: CoreConfig,
    /// The selected database (SELECT through ember_exec, or ember_db_select).
    pub(crate) db: usize,
    pub(crate) clock: ember_clock_fn,
    pub(crate) clock_ctx: *mut c_void,
    pub(crate) maxmemory: u64,
    pub(crate) policy: EvictionPolicy,
    pub(crate) samples: usize,
    /// Memory estimate, refreshed by ember_db_tick() and after evictions, grown by each write.
    pub(crate) used_estimate: u64,
    errmsg: CString,
    /// The reply of the last command run (ember_exec(), the collection calls), kept to reuse its
    /// capacity. The collection calls lend bytes out of it until the next call.
    pub(crate) out: Vec<u8>,
    /// The text of an integer ember_get() lends out.
    pub(crate) scratch: Vec<u8>,
    /// The flat copy of a command's arguments (ember_exec(), the collection calls). Never lent
    /// out, so a pointer the previous call lent (into `out` or `scratch`) may be passed as an
    /// argument: it is copied here before anything it points into is overwritten.
    pub(crate) args: Vec<u8>,
    /// Argument ranges into `args`, kept to reuse their capacity.
    pub(crate) ranges: Vec<std::ops::Range<usize>>,
}

/// Runs `$body` (which yields an `ember_status`) so that a panic becomes `EMBER_ERR_PANIC`.
macro_rules! ffi_boundary {
    ($body:block) => {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| $body)) {
            Ok(status) => status,
            Err(_) => $crate::ember_status::EMBER_ERR_PANIC,
        }
    };
}
pub(crate) use ffi_boundary;

/// The core command called `name`, in any case, through one index built on first use.
fn core_command(name: &[u8]) -> Option<&'static cmd::Command> {
    static INDEX: OnceLock<(cmd::NameIndex, Vec<&'static cmd::Command>)> = OnceLock::new();
    let (index, commands) = INDEX.get_or_init(|| {
        let commands: Vec<&'static cmd::Command> = cmd::tables().into_iter().flatten().collect();
        (
            cmd::NameIndex::new(commands.iter().map(|c| &c.info)),
            commands,
        )
    });
    index.get(name).map(|i| commands[i])
}

impl ember_db {
    pub(crate) fn now_ms(&self) -> u64 {
        match self.clock {
            // SAFETY: the host registered this callback and context with ember_db_set_clock() and
            // promised it stays valid while the handle uses it.
            Some(f) => unsafe { f(self.clock_ctx) },
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0),
        }
    }

    /// Records an error message and returns `status`.
    pub(crate) fn fail(&mut self, status: ember_status, msg: &str) -> ember_status {
        let clean: Vec<u8> = msg.bytes().filter(|&b| b != 0).collect();
        self.errmsg = CString::new(clean).unwrap_or_default();
        status
    }

    pub(crate) fn clear_error(&mut self) {
        if !self.errmsg.as_bytes().is_empty() {
            self.errmsg = CString::default();
        }
    }

    /// Runs a core command, writing its reply into `self.out` in `proto`. Returns the error text
    /// when the command failed (also written to `out` as an error reply).
    pub(crate) fn run(&mut self, argv: Argv<'_>, proto: Proto) -> Result<(), CmdError> {
        self.out.clear();
        let result = self.run_inner(argv, proto);
        if let Err(e) = &result {
            ReplyWriter::new(&mut self.out, proto).error(e.0.as_bytes());
        }
        result
    }

    fn run_inner(&mut self, argv: Argv<'_>, proto: Proto) -> Result<(), CmdError> {
        let name = argv.get(0);
        let Some(command) = core_command(name) else {
            let shown = String::from_utf8_lossy(&name[..name.len().min(128)]).into_owned();
            return Err(CmdError::owned(format!("ERR unknown command '{shown}'")));
        };
        if !command.info.arity_ok(argv.len()) {
            return Err(cmd::err::wrong_arity(command.info.name));
        }
        if command.info.flags & cmd::flags::DENYOOM != 0 && !self.make_room() {
            return Err(cmd::err::OOM);
        }
        if command.info.flags & cmd::flags::WRITE != 0 {
            self.used_estimate += argv.iter().map(|a| a.len() as u64 + 16).sum::<u64>();
        }
        let now_ms = self.now_ms();
        let mut ctx = ExecCtx {
            ks: &mut self.ks,
            db: self.db,
            now_ms,
            out: ReplyWriter::new(&mut self.out, proto),
            config: &self.config,
            no_touch: false,
            effects: Effects::default(),
            may_block: false,
            journal: &mut self.journal,
        };
        let result = (command.run)(&mut ctx, argv);
        if let Some(db) = ctx.effects.select_db {
            self.db = db;
        }
        result
    }

    /// Evicts by the policy until the estimate is under maxmemory; false when that is impossible.
    pub(crate) fn make_room(&mut self) -> bool {
        if self.maxmemory == 0 || self.used_estimate <= self.maxmemory {
            return true;
        }
        self.used_estimate = self.ks.memory_usage().bytes;
        let now = self.now_ms();
        let (max, estimate) = (self.maxmemory, &mut self.used_estimate);
        self.ks.evict(
            self.policy,
            self.samples,
            now,
            &mut self.journal,
            usize::MAX,
            |freed| {
                *estimate = estimate.saturating_sub(freed);
                *estimate <= max
            },
        )
    }
}

/// The library version, e.g. "0.1.0" (static, never freed).
#[no_mangle]
pub extern "C" fn ember_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// 1 if an `ember_db` may be used from several threads at once, 0 if callers must serialize access
/// to each handle (this build: 0).
#[no_mangle]
pub extern "C" fn ember_threadsafe() -> i32 {
    0
}

/// Opens a new, empty database handle.
///
/// # Safety
/// - `options` is NULL or points to a valid `ember_options`.
/// - `out` points to writable storage for one pointer; on success it receives a handle that must be
///   closed with ember_db_close() exactly once.
#[no_mangle]
pub unsafe extern "C" fn ember_db_open(
    options: *const ember_options,
    out: *mut *mut ember_db,
) -> ember_status {
    ffi_boundary!({
        if out.is_null() {
            return EMBER_ERR_NULL;
        }
        // SAFETY: the caller guarantees `options` is NULL or valid.
        let o = unsafe { options.as_ref() }
            .copied()
            .unwrap_or(ember_options {
                databases: 0,
                maxmemory: 0,
                policy: ember_policy::EMBER_POLICY_NOEVICTION,
                maxmemory_samples: 0,
                max_string_len: 0,
            });
        if o.databases > EMBER_DATABASES_MAX {
            return EMBER_ERR_INVALID;
        }
        let databases = if o.databases == 0 {
            16
        } else {
            o.databases as usize
        };
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x5eed)
            ^ (out as usize as u64).rotate_left(17);
        let mut config = CoreConfig::default();
        if o.max_string_len > 0 {
            config.proto_max_bulk_len = o.max_string_len;
        }
        let policy = policy_of(o.policy);
        let mut ks = Keyspace::new(databases, seed);
        if matches!(
            policy,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        ) {
            // Redis's defaults for lfu-log-factor and lfu-decay-time.
            ks.set_lfu(Some(ember_core::lfu::Lfu {
                log_factor: 10,
                decay_minutes: 1,
            }));
        }
        let db = Box::new(ember_db {
            ks,
            journal: Journal::default(),
            config,
            db: 0,
            clock: None,
            clock_ctx: std::ptr::null_mut(),
            maxmemory: o.maxmemory,
            policy,
            samples: if o.maxmemory_samples == 0 {
                5
            } else {
                o.maxmemory_samples.min(64) as usize
            },
            used_estimate: 0,
            errmsg: CString::default(),
            out: Vec::new(),
            scratch: Vec::new(),
            args: Vec::new(),
            ranges: Vec::new(),
        });
        // SAFETY: `out` was checked non-NULL and the caller guarantees it is writable.
        unsafe { *out = Box::into_raw(db) };
        EMBER_OK
    })
}

fn policy_of(p: ember_policy) -> EvictionPolicy {
    use ember_policy::*;
    match p {
        EMBER_POLICY_NOEVICTION => EvictionPolicy::NoEviction,
        EMBER_POLICY_ALLKEYS_LRU => EvictionPolicy::AllKeysLru,
        EMBER_POLICY_ALLKEYS_LFU => EvictionPolicy::AllKeysLfu,
        EMBER_POLICY_ALLKEYS_RANDOM => EvictionPolicy::AllKeysRandom,
        EMBER_POLICY_VOLATILE_LRU => EvictionPolicy::VolatileLru,
        EMBER_POLICY_VOLATILE_LFU => EvictionPolicy::VolatileLfu,
        EMBER_POLICY_VOLATILE_RANDOM => EvictionPolicy::VolatileRandom,
        EMBER_POLICY_VOLATILE_TTL => EvictionPolicy::VolatileTtl,
    }
}

/// Closes a handle and frees everything it owns. NULL is a no-op.
///
/// # Safety
/// - `db` is NULL or a handle from ember_db_open() not yet closed; it must not be used afterwards.
#[no_mangle]
pub unsafe extern "C" fn ember_db_close(db: *mut ember_db) {
    if db.is_null() {
        return;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: the caller passes a live handle from ember_db_open(), closed exactly once.
        drop(unsafe { Box::from_raw(db) });
    }));
}

/// The message of the last failed call on `db` ("" after a success), NUL-terminated. Valid until the
/// next call on `db`; owned by the handle (do not free). Returns "" for NULL.
///
/// # Safety
/// - `db` is NULL or a live handle.
#[no_mangle]
pub unsafe extern "C" fn ember_errmsg(db: *const ember_db) -> *const c_char {
    // SAFETY: the caller guarantees `db` is NULL or live.
    match unsafe { db.as_ref() } {
        Some(db) => db.errmsg.as_ptr(),
        None => c"".as_ptr(),
    }
}

/// Builds argument ranges over a flat copy of the C arguments.
///
/// # Safety
/// `argv[i]` points to `argvlen[i]` readable bytes for every `i < argc` (NULL allowed when the length
/// is 0).
unsafe fn gather_args(
    argc: usize,
    argv: *const *const u8,
    argvlen: *const usize,
    buf: &mut Vec<u8>,
    ranges: &mut Vec<std::ops::Range<usize>>,
) -> Result<(), ember_status> {
    if argv.is_null() || argvlen.is_null() {
        return Err(EMBER_ERR_NULL);
    }
    buf.clear();
    ranges.clear();
    for i in 0..argc {
        // SAFETY: the caller guarantees `argv` and `argvlen` have `argc` readable elements.
        let bytes = unsafe { element_of(argv, argvlen, i) }?;
        ranges.push(buf.len()..buf.len() + bytes.len());
        buf.extend_from_slice(bytes);
    }
    Ok(())
}

/// Element `i` of a C array of buffers given as parallel pointer and length arrays.
///
/// # Safety
/// `ptrs` and `lens` are non-NULL with more than `i` readable elements, and `ptrs[i]` points to
/// `lens[i]` readable bytes (NULL allowed when the length is 0).
pub(crate) unsafe fn element_of<'a>(
    ptrs: *const *const u8,
    lens: *const usize,
    i: usize,
) -> Result<&'a [u8], ember_status> {
    // SAFETY: the caller guarantees both arrays have more than `i` readable elements.
    let (p, len) = unsafe { (*ptrs.add(i), *lens.add(i)) };
    bytes_of(p, len)
}

/// A (pointer, length) pair as a slice; NULL is allowed only with length 0.
pub(crate) fn bytes_of<'a>(p: *const u8, len: usize) -> Result<&'a [u8], ember_status> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(EMBER_ERR_NULL);
    }
    // SAFETY: callers pass pointers the C caller guarantees to be valid for `len` bytes for the
    // duration of the call.
    Ok(unsafe { std::slice::from_raw_parts(p, len) })
}

/// Maps a command error to a status: WRONGTYPE and OOM get their own codes.
pub(crate) fn status_of(e: &CmdError) -> ember_status {
    if e.0.starts_with("WRONGTYPE") {
        EMBER_ERR_WRONGTYPE
    } else if e.0.starts_with("OOM") {
        EMBER_ERR_OOM
    } else {
        EMBER_ERR_COMMAND
    }
}

/// Runs any data command (`argv[0]` is its name, e.g. "SET") and returns its reply tree.
///
/// On success `*out` receives a reply to free with ember_reply_free() exactly once. When the command
/// replies with an error (unknown command, wrong arguments, wrong type), the status is
/// EMBER_ERR_COMMAND (EMBER_ERR_WRONGTYPE, EMBER_ERR_OOM), ember_errmsg() has the text and `*out` is
/// not written. Server-only commands (CLIENT, CONFIG, INFO, ...) are not available here.
///
/// # Safety
/// - `db` is a live handle; `out` is writable.
/// - `argv` and `argvlen` have `argc` elements; `argv[i]` points to `argvlen[i]` readable bytes
///   (binary safe, need not be NUL-terminated).
#[no_mangle]
pub unsafe extern "C" fn ember_exec(
    db: *mut ember_db,
    argc: usize,
    argv: *const *const u8,
    argvlen: *const usize,
    out: *mut *mut reply::ember_reply,
) -> ember_status {
    ffi_boundary!({
        // SAFETY: the caller guarantees `db` is NULL or live.
        let Some(db) = (unsafe { db.as_mut() }) else {
            return EMBER_ERR_NULL;
        };
        if out.is_null() {
            return EMBER_ERR_NULL;
        }
        match exec_into_out(db, argc, argv, argvlen, Proto::Resp3) {
            Ok(EMBER_OK) => match parse_reply(&db.out) {
                Ok((tree, _)) => {
                    // SAFETY: `out` was checked non-NULL and is writable per the contract.
                    unsafe { *out = Box::into_raw(Box::new(reply::ember_reply(tree))) };
                    EMBER_OK
                }
                Err(_) => db.fail(EMBER_ERR_PANIC, "internal error: unreadable reply"),
            },
            Ok(status) | Err(status) => status,
        }
    })
}

/// Runs a command like ember_exec() but returns the reply as RESP bytes, the way a server would
/// send them: `protover` is 2 or 3. Error replies are returned as bytes too (status EMBER_OK).
/// Free `*out` with ember_bytes_free(*out, *outlen) exactly once.
///
/// # Safety
/// As ember_exec(); `out` and `outlen` are writable.
#[no_mangle]
pub unsafe extern "C" fn ember_exec_resp(
    db: *mut ember_db,
    argc: usize,
    argv: *const *const u8,
    argvlen: *const usize,
    protover: i32,
    out: *mut *mut u8,
    outlen: *mut usize,
) -> ember_status {
    ffi_boundary!({
        // SAFETY: the caller guarantees `db` is NULL or live.
        let Some(db) = (unsafe { db.as_mut() }) else {
            return EMBER_ERR_NULL;
        };
        if out.is_null() || outlen.is_null() {
            return EMBER_ERR_NULL;
        }
        let proto = match protover {
            2 => Proto::Resp2,
            3 => Proto::Resp3,
            _ => return db.fail(EMBER_ERR_INVALID, "protover must be 2 or 3"),
        };
        if let Err(status) = exec_into_out(db, argc, argv, argvlen, proto) {
            return status;
        }
        // An error reply is a reply like any other here.
        db.clear_error();
        let bytes: Box<[u8]> = db.out.as_slice().into();
        // SAFETY: both pointers were checked non-NULL and are writable per the contract.
        unsafe {
            *outlen = bytes.len();
            *out = Box::into_raw(bytes).cast::<u8>();
        }
        EMBER_OK
    })
}

/// Validates the C arguments and runs the command into `db.out`. `Err` is a call that ran nothing
/// (argc 0, a NULL argument); `Ok` is the command's own status, EMBER_OK or the code of its error
/// reply, whose text is then in ember_errmsg().
fn exec_into_out(
    db: &mut ember_db,
    argc: usize,
    argv: *const *const u8,
    argvlen: *const usize,
    proto: Proto,
) -> Result<ember_status, ember_status> {
    if argc == 0 {
        return Err(db.fail(
            EMBER_ERR_INVALID,
            "argc must be at least 1 (the command name)",
        ));
    }
    // Taken out of the handle while `run` borrows it mutably, and put back for the next call.
    let mut buf = std::mem::take(&mut db.args);
    let mut ranges = std::mem::take(&mut db.ranges);
    // SAFETY: the caller of the entry point guarantees argv/argvlen describe `argc` buffers.
    let gathered = unsafe { gather_args(argc, argv, argvlen, &mut buf, &mut ranges) };
    let result = gathered.map(|()| db.run(Argv::new(&buf, &ranges), proto));
    db.args = buf;
    db.ranges = ranges;
    match result {
        Err(status) => Err(db.fail(status, "NULL argument pointer with a non-zero length")),
        Ok(Ok(())) => {
            db.clear_error();
            Ok(EMBER_OK)
        }
        Ok(Err(e)) => Ok(db.fail(status_of(&e), &e.0)),
    }
}

/// Frees a byte buffer returned by the library (ember_exec_resp(), ember_get_copy()). NULL is a
/// no-op.
///
/// # Safety
/// - `ptr`/`len` are exactly what the library returned, freed exactly once.
#[no_mangle]
pub unsafe extern "C" fn ember_bytes_free(ptr: *mut u8, len: usize) {
    if ptr.is_null() {
        return;
    }
    // SAFETY: the pointer and length come from Box<[u8]>::into_raw in this library.
    drop(unsafe { Box::from_raw(std::ptr::slice_from_raw_parts_mut(ptr, len)) });
}
