//! Typed calls for the hot paths (no argv to build, no reply tree to walk), key iteration, the host
//! clock, housekeeping and memory figures.
//!
//! Typed calls work on the selected database (ember_db_select(), or SELECT through ember_exec()).

use std::ffi::{c_char, c_void, CStr};

use ember_core::cmd::err;
use ember_core::glob::glob_match;
use ember_core::keyspace::is_expired;
use ember_core::reply::Reply;
use ember_core::table::NO_EXPIRE;
use ember_core::types::string::{CompactStr, IntBuf};
use ember_core::types::Value;

use crate::ember_status::{self, *};
use crate::reply::ember_reply;
use crate::{bytes_of, ember_clock_fn, ember_db, ffi_boundary};

/// Most keys one ember_scan() call returns.
pub const EMBER_SCAN_COUNT_MAX: usize = 1 << 20;

/// Memory figures from ember_db_memory().
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct ember_memory_stats {
    /// Keys in all databases.
    pub keys: u64,
    /// Keys with a TTL.
    pub expires: u64,
    /// Bytes held by keys, values and tables (Ember's own accounting).
    pub bytes: u64,
    /// Keys evicted because of maxmemory since the handle was opened.
    pub evicted_keys: u64,
    /// Keys deleted because their TTL passed since the handle was opened.
    pub expired_keys: u64,
}

/// The common prologue of the keyed calls: checks the handle and the key, clears the last error,
/// reads the clock, and runs `f` inside the panic boundary.
fn with_key(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    f: impl FnOnce(&mut ember_db, &[u8], u64) -> ember_status,
) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        let Ok(key) = bytes_of(key, keylen) else {
            return db.fail(EMBER_ERR_NULL, "NULL key with a non-zero length");
        };
        db.clear_error();
        let now = db.now_ms();
        f(db, key, now)
    })
}

pub(crate) fn handle<'a>(db: *mut ember_db) -> Option<&'a mut ember_db> {
    // SAFETY: every entry point requires `db` to be NULL or a live handle used by one thread.
    unsafe { db.as_mut() }
}

/// Stores a string value; `ttl_ms` > 0 sets a time to live in milliseconds, 0 stores without one
/// (clearing any old TTL). A negative TTL is EMBER_ERR_INVALID.
///
/// # Safety
/// - `db` is a live handle; `key`/`val` point to `keylen`/`vallen` readable bytes (NULL if 0).
#[no_mangle]
pub unsafe extern "C" fn ember_set(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    val: *const u8,
    vallen: usize,
    ttl_ms: i64,
) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        let (Ok(key), Ok(val)) = (bytes_of(key, keylen), bytes_of(val, vallen)) else {
            return db.fail(EMBER_ERR_NULL, "NULL key or value with a non-zero length");
        };
        if ttl_ms < 0 {
            return db.fail(
                EMBER_ERR_INVALID,
                "ERR invalid expire time in 'set' command",
            );
        }
        if !db.make_room() {
            return db.fail(EMBER_ERR_OOM, &err::OOM.0);
        }
        let now = db.now_ms();
        let expire = if ttl_ms > 0 {
            now.saturating_add(ttl_ms as u64)
        } else {
            NO_EXPIRE
        };
        db.used_estimate += (key.len() + val.len() + 96) as u64;
        let i = db.db;
        let value = ember_core::cmd::string_value(&mut db.ks, &db.config, val);
        db.ks
            .db_mut(i)
            .set(key, value, Some(expire), (now / 1000) as u32);
        db.ks.dirty += 1;
        db.clear_error();
        EMBER_OK
    })
}

/// Reads a string value without copying: `*val`/`*vallen` borrow Ember's storage and stay valid
/// until the next call on `db`. EMBER_ERR_NOT_FOUND when the key does not exist,
/// EMBER_ERR_WRONGTYPE when it is not a string.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `val` and `vallen` are writable.
#[no_mangle]
pub unsafe extern "C" fn ember_get(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    val: *mut *const u8,
    vallen: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key, now| {
        if val.is_null() || vallen.is_null() {
            return EMBER_ERR_NULL;
        }
        let (d, stats) = db.ks.db_and_stats(db.db);
        let (ptr, len) = match d.get(key, now, stats) {
            None => {
                stats.keyspace_misses += 1;
                return EMBER_ERR_NOT_FOUND;
            }
            Some(Value::Lz(z)) => {
                stats.keyspace_hits += 1;
                // Compressed values expand into the handle's scratch space.
                db.scratch.clear();
                z.expand_append(&mut db.scratch);
                (db.scratch.as_ptr(), db.scratch.len())
            }
            Some(Value::Str(s)) => {
                stats.keyspace_hits += 1;
                match s.raw() {
                    Some(bytes) => (bytes.as_ptr(), bytes.len()),
                    None => {
                        // Integers are stored as integers: format into the handle's scratch space.
                        let mut tmp: IntBuf = [0; 20];
                        let text = s.as_bytes(&mut tmp);
                        db.scratch.clear();
                        db.scratch.extend_from_slice(text);
                        (db.scratch.as_ptr(), db.scratch.len())
                    }
                }
            }
            Some(_) => {
                return db.fail(EMBER_ERR_WRONGTYPE, &err::WRONGTYPE.0);
            }
        };
        // SAFETY: both pointers were checked non-NULL and are writable per the contract; the data
        // stays in place until the next call on this handle, as documented.
        unsafe {
            *val = ptr;
            *vallen = len;
        }
        EMBER_OK
    })
}

/// Deletes a key; `*deleted` (may be NULL) receives 1 if it existed, 0 otherwise.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `deleted` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ember_del(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    deleted: *mut i32,
) -> ember_status {
    with_key(db, key, keylen, |db, key, now| {
        let (d, stats) = db.ks.db_and_stats(db.db);
        let existed = !d.expire_if_needed(key, now, stats) && d.remove(key).is_some();
        if !deleted.is_null() {
            // SAFETY: `deleted` is non-NULL and writable per the contract.
            unsafe { *deleted = existed as i32 };
        }
        EMBER_OK
    })
}

/// `*exists` receives 1 if the key exists (and has not expired), 0 otherwise.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `exists` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_exists(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    exists: *mut i32,
) -> ember_status {
    with_key(db, key, keylen, |db, key, now| {
        if exists.is_null() {
            return EMBER_ERR_NULL;
        }
        let (d, stats) = db.ks.db_and_stats(db.db);
        let found = d.contains(key, now, stats);
        // SAFETY: `exists` was checked non-NULL and is writable per the contract.
        unsafe { *exists = found as i32 };
        EMBER_OK
    })
}

/// Sets a key's time to live in milliseconds (0 or less deletes the key, as EXPIRE does);
/// `*applied` (may be NULL) receives 1 if the key existed.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `applied` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ember_expire(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    ttl_ms: i64,
    applied: *mut i32,
) -> ember_status {
    with_key(db, key, keylen, |db, key, now| {
        let (d, stats) = db.ks.db_and_stats(db.db);
        let exists = d.contains(key, now, stats);
        if exists {
            if ttl_ms <= 0 {
                d.remove(key);
            } else {
                d.set_expire(key, now.saturating_add(ttl_ms as u64));
            }
        }
        if !applied.is_null() {
            // SAFETY: `applied` is non-NULL and writable per the contract.
            unsafe { *applied = exists as i32 };
        }
        EMBER_OK
    })
}

/// `*ttl_ms` receives the remaining time to live in milliseconds, -1 for a key without one and -2
/// for a missing key (PTTL's answers).
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `ttl_ms` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_ttl(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    ttl_ms: *mut i64,
) -> ember_status {
    with_key(db, key, keylen, |db, key, now| {
        if ttl_ms.is_null() {
            return EMBER_ERR_NULL;
        }
        let (d, stats) = db.ks.db_and_stats(db.db);
        let ttl = match d.get_entry(key, now, stats) {
            None => -2,
            Some(e) if !e.has_expire() => -1,
            Some(e) => (e.expire_at_ms() - now) as i64,
        };
        // SAFETY: `ttl_ms` was checked non-NULL and is writable per the contract.
        unsafe { *ttl_ms = ttl };
        EMBER_OK
    })
}

/// Adds `delta` to the integer stored at `key` (a missing key counts as 0), keeping its TTL, and
/// writes the new value to `*result` (may be NULL). EMBER_ERR_COMMAND when the value is not an
/// integer or the result would overflow; EMBER_ERR_WRONGTYPE for a non-string key.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `result` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ember_incr(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    delta: i64,
    result: *mut i64,
) -> ember_status {
    with_key(db, key, keylen, |db, key, now| {
        let (d, stats) = db.ks.db_and_stats(db.db);
        let n = match d.get(key, now, stats) {
            Some(Value::Str(s)) => {
                let Some(cur) = s.as_i64() else {
                    return db.fail(EMBER_ERR_COMMAND, &err::NOT_INTEGER.0);
                };
                let Some(n) = cur.checked_add(delta) else {
                    return db.fail(EMBER_ERR_COMMAND, &err::OVERFLOW.0);
                };
                // Replaced whole, so a packed integer stays packed.
                d.replace_value(key, Value::Str(CompactStr::from_i64(n)));
                n
            }
            // A compressed value is long text, never an integer.
            Some(Value::Lz(_)) => {
                return db.fail(EMBER_ERR_COMMAND, &err::NOT_INTEGER.0);
            }
            None => {
                d.set(
                    key,
                    Value::Str(CompactStr::from_i64(delta)),
                    Some(NO_EXPIRE),
                    (now / 1000) as u32,
                );
                delta
            }
            Some(_) => {
                return db.fail(EMBER_ERR_WRONGTYPE, &err::WRONGTYPE.0);
            }
        };
        db.ks.dirty += 1;
        if !result.is_null() {
            // SAFETY: `result` is non-NULL and writable per the contract.
            unsafe { *result = n };
        }
        EMBER_OK
    })
}

/// Selects the database typed calls and ember_exec() work on.
///
/// # Safety
/// - `db` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn ember_db_select(db: *mut ember_db, index: u32) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        if index as usize >= db.ks.db_count() {
            return db.fail(EMBER_ERR_INVALID, &err::DB_INDEX.0);
        }
        db.db = index as usize;
        EMBER_OK
    })
}

/// One step of a key iteration with SCAN's guarantee (every key present for the whole iteration is
/// returned at least once, even while the table grows). Start with `cursor` 0; `*next_cursor` is 0
/// when the iteration is complete. `match`/`matchlen` is an optional glob (NULL/0: all keys), `type`
/// an optional NUL-terminated type name ("string", ...; NULL: any), `count` a hint of keys per call
/// (0 means 10). `*keys` receives an array reply of key names to free with ember_reply_free().
///
/// # Safety
/// - `db` is a live handle; `match_` points to `matchlen` readable bytes or is NULL with 0;
///   `type_` is NULL or a NUL-terminated string; `next_cursor` and `keys` are writable.
#[no_mangle]
pub unsafe extern "C" fn ember_scan(
    db: *mut ember_db,
    cursor: u64,
    match_: *const u8,
    matchlen: usize,
    type_: *const c_char,
    count: usize,
    next_cursor: *mut u64,
    keys: *mut *mut ember_reply,
) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        if next_cursor.is_null() || keys.is_null() {
            return EMBER_ERR_NULL;
        }
        let Ok(pattern) = bytes_of(match_, matchlen) else {
            return EMBER_ERR_NULL;
        };
        // SAFETY: the caller guarantees `type_` is NULL or NUL-terminated.
        let type_name = (!type_.is_null()).then(|| unsafe { CStr::from_ptr(type_) }.to_bytes());
        let count = if count == 0 {
            10
        } else {
            count.min(EMBER_SCAN_COUNT_MAX)
        };
        let now = db.now_ms();
        let table = db.ks.db(db.db).table();
        let mut found: Vec<Reply> = Vec::new();
        let mut cur = cursor;
        let mut budget = count.saturating_mul(10);
        loop {
            cur = table.scan(cur, |e| {
                let keep = !is_expired(e, now)
                    && (pattern.is_empty() || glob_match(pattern, e.key_bytes(), false))
                    && type_name
                        .is_none_or(|t| t.eq_ignore_ascii_case(e.value().type_name().as_bytes()));
                if keep {
                    found.push(Reply::Bulk(e.key_bytes().to_vec()));
                }
            });
            budget -= 1;
            if cur == 0 || budget == 0 || found.len() >= count {
                break;
            }
        }
        // SAFETY: both pointers were checked non-NULL and are writable per the contract.
        unsafe {
            *next_cursor = cur;
            *keys = Box::into_raw(Box::new(ember_reply(Reply::Array(found))));
        }
        EMBER_OK
    })
}

/// Makes `clock(ctx)` the handle's source of time (unix milliseconds) for expiry; NULL restores the
/// system clock. The callback must stay valid while the handle uses it, and must not call back into
/// the library.
///
/// # Safety
/// - `db` is a live handle; `clock` is NULL or a function safe to call with `ctx` at any later call
///   on `db`.
#[no_mangle]
pub unsafe extern "C" fn ember_db_set_clock(
    db: *mut ember_db,
    clock: ember_clock_fn,
    ctx: *mut c_void,
) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        db.clock = clock;
        db.clock_ctx = ctx;
        EMBER_OK
    })
}

/// Background work the host schedules: active expiry (deleting expired keys and hash fields
/// nobody reads) and incremental rehashing, for about `budget_us` microseconds. Call it every 100 ms or so.
///
/// # Safety
/// - `db` is a live handle.
#[no_mangle]
pub unsafe extern "C" fn ember_db_tick(db: *mut ember_db, budget_us: u64) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        let start = std::time::Instant::now();
        let budget = std::time::Duration::from_micros(budget_us);
        let now = db.now_ms();
        loop {
            let r = db.ks.expire_cycle(now, 200);
            if !r.budget_exhausted || start.elapsed() >= budget {
                break;
            }
        }
        // Hash fields with a TTL (HEXPIRE) expire here too.
        db.ks.expire_field_cycle(now, 200, &mut db.journal);
        for i in 0..db.ks.db_count() {
            let t = db.ks.db_mut(i).table_mut();
            t.shrink_if_sparse();
            t.rehash_for(|| start.elapsed() < budget);
        }
        if db.maxmemory > 0 {
            db.used_estimate = db.ks.memory_usage().bytes;
            db.make_room();
        }
        EMBER_OK
    })
}

/// Memory and key counts. O(keys): a stats call, not for every operation.
///
/// # Safety
/// - `db` is a live handle; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_db_memory(
    db: *mut ember_db,
    out: *mut ember_memory_stats,
) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        if out.is_null() {
            return EMBER_ERR_NULL;
        }
        let m = db.ks.memory_usage();
        let stats = ember_memory_stats {
            keys: m.keys,
            expires: m.expires,
            bytes: m.bytes,
            evicted_keys: db.ks.stats.evicted_keys,
            expired_keys: db.ks.stats.expired_keys,
        };
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { *out = stats };
        EMBER_OK
    })
}
