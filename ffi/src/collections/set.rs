//! Typed calls for sets: SADD, SREM, SISMEMBER, SMEMBERS.

use ember_core::reply::Reply as Tree;

use super::{run_member, run_multi, run_reply, unexpected, with_key};
use crate::ember_db;
use crate::ember_status::{self, *};
use crate::reply::ember_reply;

/// SADD: adds `count` members to the set at `key` (created if missing); `*added` (may be NULL)
/// receives how many were not members before. `count` 0 is EMBER_ERR_INVALID (nothing runs).
/// EMBER_ERR_WRONGTYPE when the key is not a set.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `added` is NULL or writable.
/// - `members`/`memberlens` have `count` elements; `members[i]` points to `memberlens[i]` readable
///   bytes (NULL allowed when 0).
#[no_mangle]
pub unsafe extern "C" fn ember_sadd(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    count: usize,
    members: *const *const u8,
    memberlens: *const usize,
    added: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        // SAFETY: forwarded from this entry point's contract.
        unsafe { run_multi(db, "sadd", key, count, members, memberlens, added) }
    })
}

/// SREM: removes `count` members from the set at `key` (removing the last one deletes the key);
/// `*removed` (may be NULL) receives how many were members. A missing key counts as an empty set.
/// `count` 0 is EMBER_ERR_INVALID (nothing runs). EMBER_ERR_WRONGTYPE when the key is not a set.
///
/// # Safety
/// As ember_sadd(), with `removed` NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn ember_srem(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    count: usize,
    members: *const *const u8,
    memberlens: *const usize,
    removed: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        // SAFETY: forwarded from this entry point's contract.
        unsafe { run_multi(db, "srem", key, count, members, memberlens, removed) }
    })
}

/// SISMEMBER: `*is_member` receives 1 if `member` is in the set at `key`, 0 if not or if the key
/// does not exist. EMBER_ERR_WRONGTYPE when the key is not a set.
///
/// # Safety
/// - `db` is a live handle; `key`/`member` point to `keylen`/`memberlen` readable bytes (NULL if
///   0); `is_member` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_sismember(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    member: *const u8,
    memberlen: usize,
    is_member: *mut i32,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        let found = match run_member(db, "sismember", key, member, memberlen, is_member) {
            Ok(Tree::Integer(n)) => n != 0,
            Ok(_) => return unexpected(db),
            Err(status) => return status,
        };
        // SAFETY: run_member() checked `is_member` non-NULL; it is writable per the contract.
        unsafe { *is_member = found as i32 };
        EMBER_OK
    })
}

/// SMEMBERS: every member of the set at `key`, in no particular order. `*out` receives a set reply
/// (EMBER_REPLY_SET; read it with ember_reply_len() and ember_reply_element()), empty for a missing
/// key, to free with ember_reply_free() exactly once. EMBER_ERR_WRONGTYPE when the key is not a
/// set.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_smembers(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    out: *mut *mut ember_reply,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        run_reply(db, "smembers", key, out, |_| Ok(()))
    })
}
