//! Typed calls for lists: LPUSH, RPUSH, LPOP, RPOP, LRANGE.

use super::{run_lend, run_multi, run_reply, with_key};
use crate::ember_db;
use crate::ember_status;
use crate::reply::ember_reply;

/// LPUSH: inserts `count` elements at the head of the list at `key` (created if missing), one after
/// the other, so the last one ends up first; `*len` (may be NULL) receives the list's new length.
/// `count` 0 is EMBER_ERR_INVALID (nothing runs). EMBER_ERR_WRONGTYPE when the key is not a list.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `len` is NULL or writable.
/// - `vals`/`vallens` have `count` elements; `vals[i]` points to `vallens[i]` readable bytes (NULL
///   allowed when 0).
#[no_mangle]
pub unsafe extern "C" fn ember_lpush(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    count: usize,
    vals: *const *const u8,
    vallens: *const usize,
    len: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        // SAFETY: forwarded from this entry point's contract.
        unsafe { run_multi(db, "lpush", key, count, vals, vallens, len) }
    })
}

/// RPUSH: appends `count` elements at the tail of the list at `key` (created if missing), in order;
/// `*len` (may be NULL) receives the list's new length. `count` 0 is EMBER_ERR_INVALID (nothing
/// runs). EMBER_ERR_WRONGTYPE when the key is not a list.
///
/// # Safety
/// As ember_lpush().
#[no_mangle]
pub unsafe extern "C" fn ember_rpush(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    count: usize,
    vals: *const *const u8,
    vallens: *const usize,
    len: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        // SAFETY: forwarded from this entry point's contract.
        unsafe { run_multi(db, "rpush", key, count, vals, vallens, len) }
    })
}

/// LPOP: removes and returns the first element of the list at `key` (removing the last one deletes
/// the key). `*val`/`*vallen` borrow the handle's reply buffer and stay valid until the next call
/// on `db` (to which they may be passed). EMBER_ERR_NOT_FOUND (with ember_errmsg() "") when the key
/// does not exist: there is no value, which is not an error. EMBER_ERR_WRONGTYPE when the key is
/// not a list.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `val` and `vallen` are
///   writable.
#[no_mangle]
pub unsafe extern "C" fn ember_lpop(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    val: *mut *const u8,
    vallen: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        run_lend(db, "lpop", key, val, vallen, |_| Ok(()))
    })
}

/// RPOP: as ember_lpop(), from the tail of the list.
///
/// # Safety
/// As ember_lpop().
#[no_mangle]
pub unsafe extern "C" fn ember_rpop(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    val: *mut *const u8,
    vallen: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        run_lend(db, "rpop", key, val, vallen, |_| Ok(()))
    })
}

/// LRANGE: the elements from index `start` to `stop`, both included; negative indexes count from
/// the end (-1 is the last element) and out-of-range ones are clamped. `*out` receives an array
/// reply of strings (empty for a missing key or an empty range) to free with ember_reply_free()
/// exactly once. EMBER_ERR_WRONGTYPE when the key is not a list.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_lrange(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    start: i64,
    stop: i64,
    out: *mut *mut ember_reply,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        run_reply(db, "lrange", key, out, |args| {
            args.push_text(start);
            args.push_text(stop);
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::tests::Db;
    use crate::ember_status::*;
    use std::ptr::null;

    #[test]
    fn lpop_lends_from_the_reply_buffer_and_reports_no_value() {
        let db = Db::open();
        let vals = [b"a".as_ptr(), b"bc".as_ptr()];
        let lens = [1, 2];
        let mut len = 0;
        // SAFETY: the key and arrays are valid for the lengths given; `len` is writable.
        let status = unsafe {
            ember_rpush(
                db.0,
                b"l".as_ptr(),
                1,
                2,
                vals.as_ptr(),
                lens.as_ptr(),
                &mut len,
            )
        };
        assert_eq!((status, len), (EMBER_OK, 2));
        let (mut p, mut n) = (null(), 0);
        for want in [&b"a"[..], b"bc"] {
            // SAFETY: the key is valid; `p` and `n` are writable.
            let status = unsafe { ember_lpop(db.0, b"l".as_ptr(), 1, &mut p, &mut n) };
            assert_eq!(status, EMBER_OK);
            // SAFETY: the call lent `n` bytes at `p`, valid until the next call on the handle.
            assert_eq!(unsafe { std::slice::from_raw_parts(p, n) }, want);
        }
        // SAFETY: as above.
        let status = unsafe { ember_lpop(db.0, b"l".as_ptr(), 1, &mut p, &mut n) };
        assert_eq!(status, EMBER_ERR_NOT_FOUND);
        // SAFETY: `db` is live and the message pointer is valid until the next call.
        assert!(unsafe { std::ffi::CStr::from_ptr(crate::ember_errmsg(db.0)) }.is_empty());
    }
}
