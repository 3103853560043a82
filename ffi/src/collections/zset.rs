//! Typed calls for sorted sets: ZADD, ZSCORE, ZRANK, and ZRANGE by rank and by score.

use std::fmt::Display;

use ember_core::cmd::err;
use ember_core::reply::Reply as Tree;

use super::{check_arrays, run_count, run_member, run_reply, unexpected, with_key, Args, Bufs};
use crate::ember_db;
use crate::ember_status::{self, *};
use crate::reply::ember_reply;

/// ember_zrange()/ember_zrangebyscore(): highest scores first (ZRANGE ... REV).
pub const EMBER_ZRANGE_REV: u32 = 1 << 0;
/// ember_zrange()/ember_zrangebyscore(): each element is a 2-element array, the member (a string)
/// and its score (a double), instead of the member alone (ZRANGE ... WITHSCORES).
pub const EMBER_ZRANGE_WITHSCORES: u32 = 1 << 1;
/// ember_zrangebyscore(): exclude scores equal to `min` (Redis's `(min`).
pub const EMBER_ZRANGE_MIN_EXCLUSIVE: u32 = 1 << 2;
/// ember_zrangebyscore(): exclude scores equal to `max` (Redis's `(max`).
pub const EMBER_ZRANGE_MAX_EXCLUSIVE: u32 = 1 << 3;

/// Core's text for a NaN score bound (ZRANGE ... BYSCORE).
const NOT_FLOAT_RANGE: &str = "ERR min or max is not a float";

/// A score as command text that parses back to the same double: Rust's shortest round-trip form
/// (`1.5`, `1e300`, `inf`, `-inf`), after a prefix (`(` for an exclusive bound). NaN never gets
/// here.
struct Score(f64, &'static str);

impl Display for Score {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{:?}", self.1, self.0)
    }
}

/// ZADD: adds `count` members with their scores to the sorted set at `key` (created if missing),
/// or updates the score of members already there; `*added` (may be NULL) receives how many members
/// are new. Scores may be infinite; a NaN score or `count` 0 is EMBER_ERR_INVALID (nothing runs).
/// EMBER_ERR_WRONGTYPE when the key is not a sorted set.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `added` is NULL or writable.
/// - `scores`, `members` and `memberlens` have `count` elements; `members[i]` points to
///   `memberlens[i]` readable bytes (NULL allowed when 0).
#[no_mangle]
pub unsafe extern "C" fn ember_zadd(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    count: usize,
    scores: *const f64,
    members: *const *const u8,
    memberlens: *const usize,
    added: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        let arrays = [scores.cast(), members.cast(), memberlens.cast()];
        if let Err(status) = check_arrays(db, "zadd", count, &arrays) {
            return status;
        }
        // SAFETY: `scores` was checked non-NULL; the caller guarantees `count` readable elements.
        let scores = unsafe { std::slice::from_raw_parts(scores, count) };
        if scores.iter().any(|s| s.is_nan()) {
            return db.fail(EMBER_ERR_INVALID, &err::NOT_FLOAT.0);
        }
        let members = Bufs::new(count, members, memberlens);
        run_count(db, "zadd", key, added, |args| {
            for (i, &score) in scores.iter().enumerate() {
                args.push_text(Score(score, ""));
                // SAFETY: `i < count` and the arrays were checked non-NULL; the caller guarantees
                // they have `count` elements of readable bytes.
                args.push(unsafe { members.get(i) }?);
            }
            Ok(())
        })
    })
}

/// ZSCORE: `*score` receives the score of `member` in the sorted set at `key`. EMBER_ERR_NOT_FOUND
/// (ember_errmsg() "") when the key or the member does not exist, EMBER_ERR_WRONGTYPE when the key
/// is not a sorted set.
///
/// # Safety
/// - `db` is a live handle; `key`/`member` point to `keylen`/`memberlen` readable bytes (NULL if
///   0); `score` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_zscore(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    member: *const u8,
    memberlen: usize,
    score: *mut f64,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        let value = match run_member(db, "zscore", key, member, memberlen, score) {
            Ok(Tree::Double(d)) => d,
            Ok(Tree::Null) => return EMBER_ERR_NOT_FOUND,
            Ok(_) => return unexpected(db),
            Err(status) => return status,
        };
        // SAFETY: run_member() checked `score` non-NULL; it is writable per the contract.
        unsafe { *score = value };
        EMBER_OK
    })
}

/// ZRANK: `*rank` receives the 0-based position of `member` in the sorted set at `key`, lowest
/// score first (ties ordered by member bytes). EMBER_ERR_NOT_FOUND (ember_errmsg() "") when the key
/// or the member does not exist, EMBER_ERR_WRONGTYPE when the key is not a sorted set.
///
/// # Safety
/// - `db` is a live handle; `key`/`member` point to `keylen`/`memberlen` readable bytes (NULL if
///   0); `rank` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_zrank(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    member: *const u8,
    memberlen: usize,
    rank: *mut usize,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        let position = match run_member(db, "zrank", key, member, memberlen, rank) {
            Ok(Tree::Integer(n)) => match usize::try_from(n) {
                Ok(r) => r,
                Err(_) => return unexpected(db),
            },
            Ok(Tree::Null) => return EMBER_ERR_NOT_FOUND,
            Ok(_) => return unexpected(db),
            Err(status) => return status,
        };
        // SAFETY: run_member() checked `rank` non-NULL; it is writable per the contract.
        unsafe { *rank = position };
        EMBER_OK
    })
}

/// Checks that `flags` holds only bits of `allowed`.
fn check_flags(db: &mut ember_db, flags: u32, allowed: u32) -> Result<(), ember_status> {
    if flags & !allowed != 0 {
        return Err(db.fail(EMBER_ERR_INVALID, "unknown bits in flags"));
    }
    Ok(())
}

/// Pushes ZRANGE's REV and WITHSCORES options for `flags`.
fn push_range_flags(args: &mut Args<'_>, flags: u32) {
    if flags & EMBER_ZRANGE_REV != 0 {
        args.push(b"REV");
    }
    if flags & EMBER_ZRANGE_WITHSCORES != 0 {
        args.push(b"WITHSCORES");
    }
}

/// ZRANGE by rank: the members from rank `start` to `stop`, both included, lowest score first
/// (highest first with EMBER_ZRANGE_REV); negative ranks count from the end (-1 is the last) and
/// out-of-range ones are clamped. `flags` is 0 or a combination of EMBER_ZRANGE_REV and
/// EMBER_ZRANGE_WITHSCORES (other bits: EMBER_ERR_INVALID). `*out` receives an array reply (empty
/// for a missing key) of member strings, or with EMBER_ZRANGE_WITHSCORES of [member, score] pairs
/// (2-element arrays: a string and a double), to free with ember_reply_free() exactly once.
/// EMBER_ERR_WRONGTYPE when the key is not a sorted set.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_zrange(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    start: i64,
    stop: i64,
    flags: u32,
    out: *mut *mut ember_reply,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        if let Err(status) = check_flags(db, flags, EMBER_ZRANGE_REV | EMBER_ZRANGE_WITHSCORES) {
            return status;
        }
        run_reply(db, "zrange", key, out, |args| {
            args.push_text(start);
            args.push_text(stop);
            push_range_flags(args, flags);
            Ok(())
        })
    })
}

/// ZRANGE by score: the members whose score lies between `min` and `max`, both included unless
/// EMBER_ZRANGE_MIN_EXCLUSIVE / EMBER_ZRANGE_MAX_EXCLUSIVE say otherwise; -INFINITY and INFINITY
/// are open ends, a NaN bound is EMBER_ERR_INVALID, and `min` > `max` is an empty range. Members
/// come lowest score first, or highest first with EMBER_ZRANGE_REV (`min` and `max` keep their
/// meaning). Of the members in range, the first `offset` are skipped and at most `count` returned
/// (`count` 0: all of them). `flags` combines EMBER_ZRANGE_REV, EMBER_ZRANGE_WITHSCORES and the two
/// exclusive bits (other bits: EMBER_ERR_INVALID). `*out` receives an array reply as
/// ember_zrange()'s, to free with ember_reply_free() exactly once. EMBER_ERR_WRONGTYPE when the key
/// is not a sorted set.
///
/// # Safety
/// - `db` is a live handle; `key` points to `keylen` readable bytes; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_zrangebyscore(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    min: f64,
    max: f64,
    flags: u32,
    offset: usize,
    count: usize,
    out: *mut *mut ember_reply,
) -> ember_status {
    with_key(db, key, keylen, |db, key| {
        let allowed = EMBER_ZRANGE_REV
            | EMBER_ZRANGE_WITHSCORES
            | EMBER_ZRANGE_MIN_EXCLUSIVE
            | EMBER_ZRANGE_MAX_EXCLUSIVE;
        if let Err(status) = check_flags(db, flags, allowed) {
            return status;
        }
        if min.is_nan() || max.is_nan() {
            return db.fail(EMBER_ERR_INVALID, NOT_FLOAT_RANGE);
        }
        let open = |bit: u32| if flags & bit != 0 { "(" } else { "" };
        let min = Score(min, open(EMBER_ZRANGE_MIN_EXCLUSIVE));
        let max = Score(max, open(EMBER_ZRANGE_MAX_EXCLUSIVE));
        run_reply(db, "zrange", key, out, |args| {
            // With REV, ZRANGE takes the bounds as `max min`.
            let (first, second) = if flags & EMBER_ZRANGE_REV != 0 {
                (max, min)
            } else {
                (min, max)
            };
            args.push_text(first);
            args.push_text(second);
            args.push(b"BYSCORE");
            if offset > 0 || count > 0 {
                // Core reads both as i64; anything larger is past the end of any set anyway.
                let limit = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
                args.push(b"LIMIT");
                args.push_text(limit(offset));
                args.push_text(if count == 0 { -1 } else { limit(count) });
            }
            push_range_flags(args, flags);
            Ok(())
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collections::tests::Db;
    use std::ptr::null;

    #[test]
    fn scores_print_as_text_that_parses_back() {
        for s in [
            1.5,
            -0.0,
            1e300,
            5e-324,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1 + 0.2,
        ] {
            let text = Score(s, "").to_string();
            let back = ember_core::types::zset::parse_score(text.as_bytes());
            assert_eq!(back.map(f64::to_bits), Some(s.to_bits()), "{text}");
        }
        assert_eq!(Score(2.0, "(").to_string(), "(2.0");
    }

    #[test]
    fn zadd_rejects_nan_and_zero_counts_before_running() {
        let db = Db::open();
        let (members, lens, nan) = ([b"m".as_ptr()], [1], [f64::NAN]);
        let mut added = 7;
        let key = b"z".as_ptr();
        // SAFETY: the key and arrays are valid for the lengths given; `added` is writable.
        let status = unsafe {
            ember_zadd(
                db.0,
                key,
                1,
                1,
                nan.as_ptr(),
                members.as_ptr(),
                lens.as_ptr(),
                &mut added,
            )
        };
        assert_eq!((status, added), (EMBER_ERR_INVALID, 7));
        // SAFETY: a zero count reads no array.
        let status = unsafe { ember_zadd(db.0, key, 1, 0, null(), null(), null(), &mut added) };
        assert_eq!((status, added), (EMBER_ERR_INVALID, 7));
        let mut exists = 1;
        // SAFETY: the key is valid; `exists` is writable.
        let status = unsafe { crate::typed::ember_exists(db.0, key, 1, &mut exists) };
        assert_eq!((status, exists), (EMBER_OK, 0));
    }
}
