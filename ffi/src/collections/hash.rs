//! Typed calls for hashes: HSET, HGET, HDEL.

use super::{check_arrays, run_count, run_lend, run_multi, with_key, Bufs};
use crate::bytes_of;
use crate::ember_db;
use crate::ember_status::{self, *};

/// HSET: sets `count` fields of the hash at `key` (created if missing) to their values;
/// `*added` (may be NULL) receives the number of fields that did not exist before. A field named
/// twice takes its last value. `count` 0 is EMBER_ERR_INVALID (nothing runs). EMBER_ERR_WRONGTYPE
/// when the key is not a hash.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `added` is NULL or writable.
/// - `fields`/`fieldlens` and `vals`/`vallens` have `count` elements; `fields[i]` points to
///   `fieldlens[i]` readable bytes and `vals[i]` to `vallens[i]` (NULL allowed when 0).
#[no_mangle]
pub unsafe extern "C" fn ember_hset(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    count: usize,
    fields: *const *const u8,
    fieldlens: *const usize,
    vals: *const *const u8,
    vallens: *const usize,
    added: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        let arrays = [fields.cast(), fieldlens.cast(), vals.cast(), vallens.cast()];
        if let Err(status) = check_arrays(db, "hset", count, &arrays) {
            return status;
        }
        let fields = Bufs::new(count, fields, fieldlens);
        let vals = Bufs::new(count, vals, vallens);
        run_count(db, "hset", key, added, |args| {
            for i in 0..count {
                // SAFETY: `i < count` and the arrays were checked non-NULL; the caller guarantees
                // they have `count` elements of readable bytes.
                let (f, v) = unsafe { (fields.get(i)?, vals.get(i)?) };
                args.push(f);
                args.push(v);
            }
            Ok(())
        })
    })
}

/// HGET: reads a field without copying: `*val`/`*vallen` borrow the handle's reply buffer and stay
/// valid until the next call on `db` (to which they may be passed). EMBER_ERR_NOT_FOUND (with
/// ember_errmsg() "") when the key or the field does not exist, EMBER_ERR_WRONGTYPE when the key is
/// not a hash.
///
/// # Safety
/// - `db` is a live handle; `key`/`field` point to `keylen`/`fieldlen` readable bytes (NULL if 0);
///   `val` and `vallen` are writable.
#[no_mangle]
pub unsafe extern "C" fn ember_hget(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    field: *const u8,
    fieldlen: usize,
    val: *mut *const u8,
    vallen: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        let Ok(field) = bytes_of(field, fieldlen) else {
            return db.fail(EMBER_ERR_NULL, "NULL field with a non-zero length");
        };
        run_lend(db, "hget", key, val, vallen, |args| {
            args.push(field);
            Ok(())
        })
    })
}

/// HDEL: removes `count` fields from the hash at `key` (removing the last one deletes the key);
/// `*deleted` (may be NULL) receives how many existed. A missing key counts as an empty hash.
/// `count` 0 is EMBER_ERR_INVALID (nothing runs). EMBER_ERR_WRONGTYPE when the key is not a hash.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `deleted` is NULL or writable.
/// - `fields`/`fieldlens` have `count` elements; `fields[i]` points to `fieldlens[i]` readable
///   bytes (NULL allowed when 0).
#[no_mangle]
pub unsafe extern "C" fn ember_hdel(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    count: usize,
    fields: *const *const u8,
    fieldlens: *const usize,
    deleted: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        // SAFETY: forwarded from this entry point's contract.
        unsafe { run_multi(db, "hdel", key, count, fields, fieldlens, deleted) }
    })
}
