//! Sorted set commands: ZADD and ZINCRBY, scores and ranks, range queries by rank, score and lex
//! (ZRANGE, its deprecated forms and ZRANGESTORE), range removals, pops (ZPOPMIN/MAX, ZMPOP and the
//! blocking BZPOPMIN/MAX and BZMPOP), ZRANDMEMBER, the set operations (ZUNION, ZINTER, ZDIFF, their
//! STORE forms, ZINTERCARD) and ZSCAN.
//!
//! Replies follow Redis 7.0: a score is a double printed with 17 significant digits (`%.17g`, a bulk
//! string in RESP2), and WITHSCORES pairs are flat in RESP2 and nested two-element arrays in RESP3.
//! A sorted set that becomes empty is deleted, with a `del` event after the command's own event.

use super::KEY1;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use core::cmp::Ordering;
use core::ops::Range;

use super::keys::{parse_cursor, reply_scan, scan_options};
use super::{
    acl, arg_i64, arg_timeout, eq_ci, err, flags as f, BlockRequest, CmdError, CmdResult, Command,
    ExecCtx,
};
use crate::glob::glob_match;
use crate::journal::class;
use crate::resp::{Argv, ReplyWriter};
use crate::table::NO_EXPIRE;
use crate::types::set::{Member, Rng, Set};
use crate::types::string::{parse_canonical_i64, IntBuf, I64_DIGITS_MAX};
use crate::types::zset::skiplist::bytes;
use crate::types::zset::{parse_score, LexRange, Limits, ScoreRange, ScoreText, ZSet};
use crate::types::Value;

const GROUP: &str = "sorted-set";

#[path = "geo.rs"]
pub mod geo;

/// `numkeys key...` commands: every argument after numkeys, a superset of the keys (options
/// included) so that client-side caching tracks every input. Redis reports these as movablekeys.
const KEYS_AFTER_NUMKEYS: (i32, i32, i32) = (2, -1, 1);
/// STORE forms: Redis's legacy range names only the destination.
const DST: (i32, i32, i32) = (1, 1, 1);
const WF: u32 = acl::WRITE | acl::FAST | acl::SORTEDSET;
const WS: u32 = acl::WRITE | acl::SLOW | acl::SORTEDSET;
const RF: u32 = acl::READ | acl::FAST | acl::SORTEDSET;
const RS: u32 = acl::READ | acl::SLOW | acl::SORTEDSET;
const RO: u32 = f::READONLY;
const ROF: u32 = f::READONLY | f::FAST;
const MK: u32 = f::MOVABLE_KEYS;

pub static COMMANDS: &[Command] = &[
    cmd!("zadd", -4, f::WRITE | f::DENYOOM | f::FAST, KEY1, WF, zadd, "Add one or more members to a sorted set, or update its score if it already exists", "1.2.0", "O(log(N)) for each item added, where N is the number of elements in the sorted set."),
    cmd!("zincrby", 4, f::WRITE | f::DENYOOM | f::FAST, KEY1, WF, zincrby, "Increment the score of a member in a sorted set", "1.2.0", "O(log(N)) where N is the number of elements in the sorted set."),
    cmd!("zrem", -3, f::WRITE | f::FAST, KEY1, WF, zrem, "Remove one or more members from a sorted set", "1.2.0", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed."),
    cmd!("zcard", 2, ROF, KEY1, RF, zcard, "Get the number of members in a sorted set", "1.2.0", "O(1)"),
    cmd!("zscore", 3, ROF, KEY1, RF, zscore, "Get the score associated with the given member in a sorted set", "1.2.0", "O(1)"),
    cmd!("zmscore", -3, ROF, KEY1, RF, zmscore, "Get the score associated with the given members in a sorted set", "6.2.0", "O(N) where N is the number of members being requested."),
    cmd!("zrank", 3, ROF, KEY1, RF, zrank, "Determine the index of a member in a sorted set", "2.0.0", "O(log(N))"),
    cmd!("zrevrank", 3, ROF, KEY1, RF, zrevrank, "Determine the index of a member in a sorted set, with scores ordered from high to low", "2.0.0", "O(log(N))"),
    cmd!("zcount", 4, ROF, KEY1, RF, zcount, "Count the members in a sorted set with scores within the given values", "2.0.0", "O(log(N)) with N being the number of elements in the sorted set."),
    cmd!("zlexcount", 4, ROF, KEY1, RF, zlexcount, "Count the number of members in a sorted set between a given lexicographical range", "2.8.9", "O(log(N)) with N being the number of elements in the sorted set."),
    cmd!("zrange", -4, RO, KEY1, RS, zrange, "Return a range of members in a sorted set", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    cmd!("zrangestore", -5, f::WRITE | f::DENYOOM, (1, 2, 1), WS, zrangestore, "Store a range of members from sorted set into another key", "6.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key."),
    cmd!("zrevrange", -4, RO, KEY1, RS, zrevrange, "Return a range of members in a sorted set, by index, with scores ordered from high to low", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned."),
    cmd!("zrangebyscore", -4, RO, KEY1, RS, zrangebyscore, "Return a range of members in a sorted set, by score", "1.0.5", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    cmd!("zrevrangebyscore", -4, RO, KEY1, RS, zrevrangebyscore, "Return a range of members in a sorted set, by score, with scores ordered from high to low", "2.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    cmd!("zrangebylex", -4, RO, KEY1, RS, zrangebylex, "Return a range of members in a sorted set, by lexicographical range", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    cmd!("zrevrangebylex", -4, RO, KEY1, RS, zrevrangebylex, "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned."),
    cmd!("zremrangebyrank", 4, f::WRITE, KEY1, WS, zremrangebyrank, "Remove all members in a sorted set within the given indexes", "2.0.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    cmd!("zremrangebyscore", 4, f::WRITE, KEY1, WS, zremrangebyscore, "Remove all members in a sorted set within the given scores", "1.2.0", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    cmd!("zremrangebylex", 4, f::WRITE, KEY1, WS, zremrangebylex, "Remove all members in a sorted set between the given lexicographical range", "2.8.9", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation."),
    cmd!("zpopmin", -2, f::WRITE | f::FAST, KEY1, WF, zpopmin, "Remove and return members with the lowest scores in a sorted set", "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    cmd!("zpopmax", -2, f::WRITE | f::FAST, KEY1, WF, zpopmax, "Remove and return members with the highest scores in a sorted set", "5.0.0", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped."),
    cmd!("zmpop", -4, f::WRITE | MK, (2, -2, 1), WS, zmpop, "Remove and return members with scores in a sorted set", "7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    cmd!("bzpopmin", -3, f::WRITE | f::NOSCRIPT | f::FAST | f::BLOCKING, (1, -2, 1), WF | acl::BLOCKING, bzpopmin, "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available", "5.0.0", "O(log(N)) with N being the number of elements in the sorted set."),
    cmd!("bzpopmax", -3, f::WRITE | f::NOSCRIPT | f::FAST | f::BLOCKING, (1, -2, 1), WF | acl::BLOCKING, bzpopmax, "Remove and return the member with the highest score from one or more sorted sets, or block until one is available", "5.0.0", "O(log(N)) with N being the number of elements in the sorted set."),
    cmd!("bzmpop", -5, f::WRITE | f::BLOCKING | MK, (3, -2, 1), WS | acl::BLOCKING, bzmpop, "Remove and return members with scores in a sorted set or block until one is available", "7.0.0", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped."),
    cmd!("zrandmember", -2, RO, KEY1, RS, zrandmember, "Get one or multiple random elements from a sorted set", "6.2.0", "O(N) where N is the number of elements returned"),
    cmd!("zunion", -3, RO | MK, KEYS_AFTER_NUMKEYS, RS, zunion, "Add multiple sorted sets", "6.2.0", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    cmd!("zinter", -3, RO | MK, KEYS_AFTER_NUMKEYS, RS, zinter, "Intersect multiple sorted sets", "6.2.0", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    cmd!("zdiff", -3, RO | MK, KEYS_AFTER_NUMKEYS, RS, zdiff, "Subtract multiple sorted sets", "6.2.0", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    cmd!("zintercard", -3, RO | MK, KEYS_AFTER_NUMKEYS, RS, zintercard, "Intersect multiple sorted sets and return the cardinality of the result", "7.0.0", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets."),
    cmd!("zunionstore", -4, f::WRITE | f::DENYOOM | MK, DST, WS, zunionstore, "Add multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set."),
    cmd!("zinterstore", -4, f::WRITE | f::DENYOOM | MK, DST, WS, zinterstore, "Intersect multiple sorted sets and store the resulting sorted set in a new key", "2.0.0", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set."),
    cmd!("zdiffstore", -4, f::WRITE | f::DENYOOM | MK, DST, WS, zdiffstore, "Subtract multiple sorted sets and store the resulting sorted set in a new key", "6.2.0", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set."),
    cmd!("zscan", -3, RO, KEY1, RS, zscan, "Incrementally iterate sorted sets elements and associated scores", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

const NAN_RESULT: CmdError = CmdError::new("ERR resulting score is not a number (NaN)");
const NOT_FLOAT_RANGE: CmdError = CmdError::new("ERR min or max is not a float");
const NOT_LEX_RANGE: CmdError = CmdError::new("ERR min or max not valid string range item");

use super::RANDOM_REPEAT_MAX;

// ---------------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------------

/// The compact-encoding limits, with a fresh hash seed for a set that converts.
fn limits(ctx: &mut ExecCtx<'_>) -> Limits {
    Limits {
        entries_max: ctx.config.zset_max_listpack_entries,
        value_max: ctx.config.zset_max_listpack_value,
        seed: ctx.ks.random(),
    }
}

/// Looks `key` up as [`ExecCtx::lookup_with_out`] does and gives the sorted set (`None` when
/// absent, WRONGTYPE for another type) and the reply writer.
fn zset_of<'c, 'a>(
    ctx: &'c mut ExecCtx<'a>,
    key: &[u8],
    read: bool,
) -> Result<(Option<&'c mut ZSet>, &'c mut ReplyWriter<'a>), CmdError> {
    match ctx.lookup_with_out(key, read) {
        (None, out) => Ok((None, out)),
        (Some(Value::ZSet(z)), out) => Ok((Some(z), out)),
        (Some(_), _) => Err(err::WRONGTYPE),
    }
}

/// Deletes `key`, whose sorted set just became empty, with the `del` event.
fn delete_emptied(ctx: &mut ExecCtx<'_>, key: &[u8]) {
    ctx.ks.db_mut(ctx.db).remove(key);
    ctx.notify(class::GENERIC, "del", key);
}

/// Stores a computed sorted set at `dst` (replacing any value and TTL) and replies with its size;
/// an empty result deletes `dst` instead, as Redis's STORE commands do.
fn store_result(ctx: &mut ExecCtx<'_>, dst: &[u8], z: ZSet, event: &'static str) {
    let n = z.len();
    // A write lookup first, so an expired destination counts as new.
    let existed = ctx.lookup_write(dst).is_some();
    if n > 0 {
        ctx.store(dst, Value::ZSet(z), Some(NO_EXPIRE));
        ctx.wrote(class::ZSET, event, dst);
    } else if existed {
        ctx.ks.db_mut(ctx.db).remove(dst);
        ctx.wrote(class::GENERIC, "del", dst);
        ctx.touched(1);
    }
    ctx.out.int(n as i64);
}

/// Replies with a score: a RESP3 double, or a bulk string in RESP2.
fn reply_score(out: &mut ReplyWriter<'_>, score: f64) {
    out.double_text(ScoreText::new(score).as_bytes());
}

/// Replies with members, and with WITHSCORES their scores: flat pairs in RESP2, nested pairs in
/// RESP3.
fn reply_elements<'x>(
    out: &mut ReplyWriter<'_>,
    items: impl ExactSizeIterator<Item = (&'x [u8], f64)>,
    withscores: bool,
) {
    let nested = withscores && out.resp3();
    out.array(if withscores && !nested {
        2 * items.len()
    } else {
        items.len()
    });
    for (m, s) in items {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            reply_score(out, s);
        }
    }
}

fn score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    ScoreRange::parse(min, max).ok_or(NOT_FLOAT_RANGE)
}

fn lex_range<'a>(min: &'a [u8], max: &'a [u8]) -> Result<LexRange<'a>, CmdError> {
    LexRange::parse(min, max).ok_or(NOT_LEX_RANGE)
}

/// Redis's index normalization for rank ranges (negative counts from the end, `end` inclusive): the
/// ascending ranks `start..=end` address, or those of the reversed order with `rev`.
fn rank_window(len: usize, start: i64, end: i64, rev: bool) -> Range<usize> {
    let llen = len as i64;
    let start = if start < 0 { start + llen } else { start }.max(0);
    let end = if end < 0 { end + llen } else { end };
    if start > end || start >= llen {
        return 0..0;
    }
    let end = end.min(llen - 1);
    let (start, end) = (start as usize, end as usize);
    if rev {
        len - 1 - end..len - start
    } else {
        start..end + 1
    }
}

// ---------------------------------------------------------------------------------------------
// ZADD, ZINCRBY, ZREM
// ---------------------------------------------------------------------------------------------

/// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...].
/// O(log(N)) per element.
fn zadd(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    zadd_generic(ctx, argv, false)
}

/// ZINCRBY key increment member. O(log(N)).
fn zincrby(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    zadd_generic(ctx, argv, true)
}

#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// ZADD's option parsing and checks, in Redis's order; returns the flags and where the
/// score/member pairs start.
fn parse_zadd(argv: Argv<'_>, incr: bool) -> Result<(AddFlags, usize), CmdError> {
    let mut o = AddFlags {
        incr,
        ..AddFlags::default()
    };
    let mut i = 2;
    while i < argv.len() {
        let a = argv.get(i);
        let flag = match () {
            _ if eq_ci(a, "nx") => &mut o.nx,
            _ if eq_ci(a, "xx") => &mut o.xx,
            _ if eq_ci(a, "ch") => &mut o.ch,
            _ if eq_ci(a, "incr") => &mut o.incr,
            _ if eq_ci(a, "gt") => &mut o.gt,
            _ if eq_ci(a, "lt") => &mut o.lt,
            _ => break,
        };
        *flag = true;
        i += 1;
    }
    let args = argv.len() - i;
    if args == 0 || !args.is_multiple_of(2) {
        return Err(err::SYNTAX);
    }
    if o.nx && o.xx {
        return Err(CmdError::new(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (o.nx && (o.gt || o.lt)) || (o.gt && o.lt) {
        return Err(CmdError::new(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if o.incr && args > 2 {
        return Err(CmdError::new(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    Ok((o, i))
}

/// What ZADD did: new members, members whose score changed, pairs not skipped by NX/XX/GT/LT, and
/// the last resulting score (ZINCRBY's reply).
struct AddCounts {
    added: u64,
    updated: u64,
    processed: u64,
    last: f64,
}

/// Applies score/member pairs with ZADD's flags. Only INCR can fail (a NaN sum), and INCR takes a
/// single pair, so an error leaves the set unchanged.
fn add_all<'m>(
    z: &mut ZSet,
    o: &AddFlags,
    pairs: impl Iterator<Item = (f64, &'m [u8])>,
    lim: &Limits,
) -> Result<AddCounts, CmdError> {
    let mut c = AddCounts {
        added: 0,
        updated: 0,
        processed: 0,
        last: 0.0,
    };
    for (score, member) in pairs {
        let current = z.score(member);
        let new = match current {
            Some(_) if o.nx => continue,
            None if o.xx => continue,
            None => score,
            Some(cur) => {
                let new = if o.incr { cur + score } else { score };
                if new.is_nan() {
                    return Err(NAN_RESULT);
                }
                if (o.lt && new >= cur) || (o.gt && new <= cur) {
                    continue;
                }
                new
            }
        };
        c.processed += 1;
        c.last = new;
        if z.insert(member, new, lim) {
            c.added += 1;
        } else if current != Some(new) {
            c.updated += 1;
        }
    }
    Ok(c)
}

fn zadd_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, incr_cmd: bool) -> CmdResult {
    let key = argv.get(1);
    let (o, first) = parse_zadd(argv, incr_cmd)?;
    // Every score is parsed before anything changes: the command applies fully or not at all.
    let scores = (first..argv.len())
        .step_by(2)
        .map(|j| parse_score(argv.get(j)).ok_or(err::NOT_FLOAT))
        .collect::<Result<Vec<f64>, _>>()?;
    let lim = limits(ctx);
    let (existing, out) = zset_of(ctx, key, false)?;
    let created = existing.is_none();
    if created && o.xx {
        if o.incr {
            out.null();
        } else {
            out.int(0);
        }
        return Ok(());
    }
    let mut fresh = ZSet::new();
    let z = existing.unwrap_or(&mut fresh);
    let members = (first + 1..argv.len()).step_by(2).map(|j| argv.get(j));
    let AddCounts {
        added,
        updated,
        processed,
        last,
    } = add_all(z, &o, scores.iter().copied().zip(members), &lim)?;
    if o.incr {
        if processed > 0 {
            reply_score(out, last);
        } else {
            out.null();
        }
    } else {
        out.int((if o.ch { added + updated } else { added }) as i64);
    }
    let event = if o.incr { "zincr" } else { "zadd" };
    commit_add(ctx, key, created.then_some(fresh), added + updated, event);
    Ok(())
}

/// Records what an add did to `key`: stores the set when the command `created` it (`fresh`),
/// counts the changes and emits `event`; nothing when nothing changed.
fn commit_add(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    created: Option<ZSet>,
    changes: u64,
    event: &'static str,
) {
    if changes == 0 {
        return;
    }
    match created {
        Some(fresh) => {
            // `store` records the `new` event and one change.
            ctx.store(key, Value::ZSet(fresh), None);
            ctx.touched(changes - 1);
        }
        None => ctx.touched(changes),
    }
    ctx.wrote(class::ZSET, event, key);
}

/// ZREM key member [member ...]. O(M*log(N)).
fn zrem(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let (z, out) = zset_of(ctx, key, false)?;
    let Some(z) = z else {
        out.int(0);
        return Ok(());
    };
    let mut n = 0u64;
    for m in argv.tail(2).iter() {
        if z.remove(m) {
            n += 1;
            if z.is_empty() {
                break;
            }
        }
    }
    let emptied = z.is_empty();
    out.int(n as i64);
    if n > 0 {
        ctx.wrote(class::ZSET, "zrem", key);
        if emptied {
            delete_emptied(ctx, key);
        }
        ctx.touched(n);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scores, ranks and counts
// ---------------------------------------------------------------------------------------------

/// ZCARD key. O(1).
fn zcard(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    out.int(z.map_or(0, |z| z.len()) as i64);
    Ok(())
}

/// ZSCORE key member. O(1).
fn zscore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    match z.and_then(|z| z.score(argv.get(2))) {
        Some(s) => reply_score(out, s),
        None => out.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]. O(N) in the members asked for.
fn zmscore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    out.array(argv.len() - 2);
    for m in argv.tail(2).iter() {
        match z.as_ref().and_then(|z| z.score(m)) {
            Some(s) => reply_score(out, s),
            None => out.null(),
        }
    }
    Ok(())
}

/// ZRANK key member. O(log(N)).
fn zrank(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    rank_generic(ctx, argv, false)
}

/// ZREVRANK key member. O(log(N)).
fn zrevrank(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    rank_generic(ctx, argv, true)
}

fn rank_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, rev: bool) -> CmdResult {
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    let rank = z.and_then(|z| {
        let r = z.rank(argv.get(2))?;
        Some(if rev { z.len() - 1 - r } else { r })
    });
    match rank {
        Some(r) => out.int(r as i64),
        None => out.null(),
    }
    Ok(())
}

/// ZCOUNT key min max. O(log(N)).
fn zcount(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let r = score_range(argv.get(2), argv.get(3))?;
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    out.int(z.map_or(0, |z| z.score_ranks(&r).len()) as i64);
    Ok(())
}

/// ZLEXCOUNT key min max. O(log(N)).
fn zlexcount(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let r = lex_range(argv.get(2), argv.get(3))?;
    let (z, out) = zset_of(ctx, argv.get(1), true)?;
    out.int(z.map_or(0, |z| z.lex_ranks(&r).len()) as i64);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Range queries
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum By {
    Auto,
    Rank,
    Score,
    Lex,
}

/// ZRANGE key start stop [BYSCORE | BYLEX] [REV] [LIMIT offset count] [WITHSCORES].
/// O(log(N)+M).
fn zrange(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Auto, None)
}

/// ZRANGESTORE dst src min max [BYSCORE | BYLEX] [REV] [LIMIT offset count]. O(log(N)+M).
fn zrangestore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, 2, Some(argv.get(1)), By::Auto, None)
}

/// ZREVRANGE key start stop [WITHSCORES]. O(log(N)+M).
fn zrevrange(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Rank, Some(true))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]. O(log(N)+M).
fn zrangebyscore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Score, Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]. O(log(N)+M).
fn zrevrangebyscore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Score, Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]. O(log(N)+M).
fn zrangebylex(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Lex, Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]. O(log(N)+M).
fn zrevrangebylex(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, 1, None, By::Lex, Some(true))
}

/// A parsed range query.
enum Query<'a> {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange<'a>),
}

/// The options after `<src> <min> <max>`.
struct RangeOptions {
    withscores: bool,
    offset: i64,
    /// Negative: no limit.
    limit: i64,
    rev: bool,
    by: By,
}

fn parse_range_options(
    argv: Argv<'_>,
    from: usize,
    store: bool,
    mut by: By,
    rev: Option<bool>,
) -> Result<RangeOptions, CmdError> {
    let mut o = RangeOptions {
        withscores: false,
        offset: 0,
        limit: -1,
        rev: false,
        by,
    };
    let mut rev_given = rev;
    let mut j = from;
    while j < argv.len() {
        let a = argv.get(j);
        if !store && eq_ci(a, "withscores") {
            o.withscores = true;
        } else if eq_ci(a, "limit") && argv.len() - j > 2 {
            o.offset = arg_i64(argv.get(j + 1))?;
            o.limit = arg_i64(argv.get(j + 2))?;
            j += 2;
        } else if rev_given.is_none() && eq_ci(a, "rev") {
            rev_given = Some(true);
        } else if by == By::Auto && eq_ci(a, "bylex") {
            by = By::Lex;
        } else if by == By::Auto && eq_ci(a, "byscore") {
            by = By::Score;
        } else {
            return Err(err::SYNTAX);
        }
        j += 1;
    }
    o.rev = rev_given.unwrap_or(false);
    o.by = if by == By::Auto { By::Rank } else { by };
    if o.limit != -1 && o.by == By::Rank {
        return Err(CmdError::new(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if o.withscores && o.by == By::Lex {
        return Err(CmdError::new(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    Ok(o)
}

/// The ascending ranks a query selects, after LIMIT: `offset` skips and `limit` caps elements in
/// the direction of the query (a negative offset selects nothing, a negative limit means all).
fn query_window(z: &ZSet, q: &Query<'_>, o: &RangeOptions) -> Range<usize> {
    let ranks = match q {
        Query::Rank(start, end) => return rank_window(z.len(), *start, *end, o.rev),
        Query::Score(r) => z.score_ranks(r),
        Query::Lex(r) => z.lex_ranks(r),
    };
    if o.offset < 0 {
        return 0..0;
    }
    let skip = (o.offset as u64).min(ranks.len() as u64) as usize;
    let take = if o.limit < 0 {
        ranks.len() - skip
    } else {
        (o.limit as u64).min((ranks.len() - skip) as u64) as usize
    };
    if o.rev {
        ranks.end - skip - take..ranks.end - skip
    } else {
        ranks.start + skip..ranks.start + skip + take
    }
}

/// ZRANGE and its variants, and ZRANGESTORE when `dst` is given. `src_at` is the source key's
/// position; the deprecated forms fix the range kind and direction.
fn range_generic(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    src_at: usize,
    dst: Option<&[u8]>,
    by: By,
    rev: Option<bool>,
) -> CmdResult {
    let key = argv.get(src_at);
    let o = parse_range_options(argv, src_at + 3, dst.is_some(), by, rev)?;
    let (mut min, mut max) = (argv.get(src_at + 1), argv.get(src_at + 2));
    if o.rev && o.by != By::Rank {
        // The deprecated reverse forms and REV take the range as max, min.
        core::mem::swap(&mut min, &mut max);
    }
    let query = match o.by {
        By::Score => Query::Score(score_range(min, max)?),
        By::Lex => Query::Lex(lex_range(min, max)?),
        _ => Query::Rank(arg_i64(min)?, arg_i64(max)?),
    };
    let lim = limits(ctx);
    ctx.with_scratch(|ctx, scratch| {
        let (z, out) = zset_of(ctx, key, true)?;
        let Some(dst) = dst else {
            match z {
                None => out.array(0),
                Some(z) => {
                    let w = query_window(z, &query, &o);
                    reply_elements(out, z.range(w, o.rev, scratch), o.withscores);
                }
            }
            return Ok(());
        };
        let result = match z {
            None => ZSet::new(),
            Some(z) => {
                let w = query_window(z, &query, &o);
                ZSet::from_sorted(z.range(w, false, scratch), &lim)
            }
        };
        store_result(ctx, dst, result, "zrangestore");
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Range removals
// ---------------------------------------------------------------------------------------------

/// ZREMRANGEBYRANK key start stop. O(log(N)+M).
fn zremrangebyrank(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let q = Query::Rank(arg_i64(argv.get(2))?, arg_i64(argv.get(3))?);
    remrange_generic(ctx, argv.get(1), q, "zremrangebyrank")
}

/// ZREMRANGEBYSCORE key min max. O(log(N)+M).
fn zremrangebyscore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let q = Query::Score(score_range(argv.get(2), argv.get(3))?);
    remrange_generic(ctx, argv.get(1), q, "zremrangebyscore")
}

/// ZREMRANGEBYLEX key min max. O(log(N)+M).
fn zremrangebylex(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let q = Query::Lex(lex_range(argv.get(2), argv.get(3))?);
    remrange_generic(ctx, argv.get(1), q, "zremrangebylex")
}

fn remrange_generic(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    q: Query<'_>,
    event: &'static str,
) -> CmdResult {
    let (z, out) = zset_of(ctx, key, false)?;
    let Some(z) = z else {
        out.int(0);
        return Ok(());
    };
    let ranks = match &q {
        Query::Rank(start, end) => rank_window(z.len(), *start, *end, false),
        Query::Score(r) => z.score_ranks(r),
        Query::Lex(r) => z.lex_ranks(r),
    };
    let n = z.remove_ranks(ranks);
    let emptied = z.is_empty();
    out.int(n as i64);
    if n > 0 {
        ctx.wrote(class::ZSET, event, key);
        if emptied {
            delete_emptied(ctx, key);
        }
        ctx.touched(n as u64);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Pops, blocking pops
// ---------------------------------------------------------------------------------------------

/// The shape of a pop reply.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PopShape {
    /// `[member, score, ...]` (ZPOPMIN/MAX; with a count in RESP2).
    Flat,
    /// `[[member, score], ...]` (ZPOPMIN/MAX with a count in RESP3).
    Nested,
    /// `[key, member, score]` (BZPOPMIN/MAX).
    KeyFlat,
    /// `[key, [[member, score], ...]]` (ZMPOP, BZMPOP).
    KeyNested,
}

/// The first of `keys` that exists: `Ok(None)` when none does, WRONGTYPE when that first value is
/// not a sorted set (later keys are not checked, as in Redis).
fn first_zset<'k>(ctx: &mut ExecCtx<'_>, keys: &[&'k [u8]]) -> Result<Option<&'k [u8]>, CmdError> {
    for &k in keys {
        match ctx.lookup_write(k) {
            None => continue,
            Some(Value::ZSet(_)) => return Ok(Some(k)),
            Some(_) => return Err(err::WRONGTYPE),
        }
    }
    Ok(None)
}

/// Pops up to `count` elements (at least one) from the sorted set at `key` and replies.
fn pop_from(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    max: bool,
    count: u64,
    shape: PopShape,
) -> Result<u64, CmdError> {
    let (z, out) = zset_of(ctx, key, false)?;
    let Some(z) = z else {
        out.null_array();
        return Ok(0);
    };
    let n = count.min(z.len() as u64) as usize;
    match shape {
        PopShape::Flat => out.array(2 * n),
        PopShape::Nested => out.array(n),
        PopShape::KeyFlat => {
            out.array(2 * n + 1);
            out.bulk(key);
        }
        PopShape::KeyNested => {
            out.array(2);
            out.bulk(key);
            out.array(n);
        }
    }
    let nested = matches!(shape, PopShape::Nested | PopShape::KeyNested);
    for _ in 0..n {
        let Some((m, s)) = z.pop(max) else {
            break;
        };
        if nested {
            out.array(2);
        }
        out.bulk(bytes(&m));
        reply_score(out, s);
    }
    let emptied = z.is_empty();
    ctx.wrote(class::ZSET, if max { "zpopmax" } else { "zpopmin" }, key);
    if emptied {
        delete_emptied(ctx, key);
    }
    ctx.touched(n as u64);
    Ok(n as u64)
}

/// ZPOPMIN key [count]. O(log(N)*M).
fn zpopmin(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    zpop_generic(ctx, argv, false)
}

/// ZPOPMAX key [count]. O(log(N)*M).
fn zpopmax(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    zpop_generic(ctx, argv, true)
}

fn zpop_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, max: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(err::SYNTAX);
    }
    let count = match argv.len() {
        3 => match arg_i64(argv.get(2))? {
            c if c < 0 => return Err(err::OUT_OF_RANGE),
            c => Some(c as u64),
        },
        _ => None,
    };
    let key = argv.get(1);
    if first_zset(ctx, &[key])?.is_none() || count == Some(0) {
        ctx.out.array(0);
        return Ok(());
    }
    let shape = if count.is_some() && ctx.out.resp3() {
        PopShape::Nested
    } else {
        PopShape::Flat
    };
    pop_from(ctx, key, max, count.unwrap_or(1), shape)?;
    Ok(())
}

/// Parses a `1..=i64::MAX` argument, with `msg` for anything else (Redis's
/// `getRangeLongFromObjectOrReply` with a message).
fn arg_positive(arg: &[u8], msg: &'static str) -> Result<u64, CmdError> {
    match parse_canonical_i64(arg) {
        Some(n) if n >= 1 => Ok(n as u64),
        _ => Err(CmdError::new(msg)),
    }
}

/// ZMPOP numkeys key [key ...] MIN | MAX [COUNT count]. O(K) + O(M*log(N)).
fn zmpop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    mpop_generic(ctx, argv, 1, false)
}

/// BZMPOP timeout numkeys key [key ...] MIN | MAX [COUNT count]. O(K) + O(M*log(N)).
fn bzmpop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    mpop_generic(ctx, argv, 2, true)
}

fn mpop_generic(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    numkeys_at: usize,
    block: bool,
) -> CmdResult {
    let numkeys = arg_positive(argv.get(numkeys_at), "ERR numkeys should be greater than 0")?;
    let where_at = numkeys_at as u64 + numkeys + 1;
    if where_at >= argv.len() as u64 {
        return Err(err::SYNTAX);
    }
    let where_at = where_at as usize;
    let max = match argv.get(where_at) {
        w if eq_ci(w, "min") => false,
        w if eq_ci(w, "max") => true,
        _ => return Err(err::SYNTAX),
    };
    let mut count = None;
    let mut j = where_at + 1;
    while j < argv.len() {
        if count.is_none() && eq_ci(argv.get(j), "count") && j + 1 < argv.len() {
            count = Some(arg_positive(
                argv.get(j + 1),
                "ERR count should be greater than 0",
            )?);
            j += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    let keys: Vec<&[u8]> = (numkeys_at + 1..where_at).map(|i| argv.get(i)).collect();
    let count = count.unwrap_or(1);
    if block {
        return blocking_pop(ctx, &keys, argv.get(1), max, count, PopShape::KeyNested);
    }
    match first_zset(ctx, &keys)? {
        Some(k) => {
            // The replay pops what this pop took, not what it asked for.
            let popped = pop_from(ctx, k, max, count, PopShape::KeyNested)?;
            propagate_pop(ctx, k, max, Some(popped));
            Ok(())
        }
        None => {
            ctx.out.null_array();
            Ok(())
        }
    }
}

/// BZPOPMIN key [key ...] timeout. O(log(N)).
fn bzpopmin(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    bzpop_generic(ctx, argv, false)
}

/// BZPOPMAX key [key ...] timeout. O(log(N)).
fn bzpopmax(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    bzpop_generic(ctx, argv, true)
}

fn bzpop_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, max: bool) -> CmdResult {
    let keys: Vec<&[u8]> = (1..argv.len() - 1).map(|i| argv.get(i)).collect();
    blocking_pop(
        ctx,
        &keys,
        argv.get(argv.len() - 1),
        max,
        1,
        PopShape::KeyFlat,
    )
}

/// ZMPOP and the blocking pops replay as ZPOPMIN or ZPOPMAX of the key they took from.
fn propagate_pop(ctx: &mut ExecCtx<'_>, key: &[u8], max: bool, count: Option<u64>) {
    let name: &[u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    match count {
        Some(n) => {
            let n = alloc::format!("{n}");
            ctx.propagate_as(&[name, key, n.as_bytes()]);
        }
        None => ctx.propagate_as(&[name, key]),
    }
}

/// The blocking pops: pop from the first non-empty sorted set among `keys` like the non-blocking
/// form; with nothing to pop, ask the host to park the client on the keys (no reply), or inside
/// MULTI reply as on timeout (a null array).
fn blocking_pop(
    ctx: &mut ExecCtx<'_>,
    keys: &[&[u8]],
    timeout: &[u8],
    max: bool,
    count: u64,
    shape: PopShape,
) -> CmdResult {
    let deadline_ms = arg_timeout(timeout, ctx.now_ms)?;
    for &k in keys {
        match ctx.lookup_write(k) {
            None => continue,
            Some(Value::ZSet(z)) if z.is_empty() => continue,
            Some(Value::ZSet(_)) => {
                let popped = pop_from(ctx, k, max, count, shape)?;
                let count = matches!(shape, PopShape::KeyNested).then_some(popped);
                propagate_pop(ctx, k, max, count);
                return Ok(());
            }
            Some(_) => return Err(err::WRONGTYPE),
        }
    }
    if !ctx.may_block {
        ctx.out.null_array();
        return Ok(());
    }
    let mut seen = BTreeSet::new();
    let keys = keys
        .iter()
        .filter(|k| seen.insert(**k))
        .map(|k| k.to_vec())
        .collect();
    ctx.effects.block = Some(BlockRequest {
        keys,
        deadline_ms,
        argv: None,
    });
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ZRANDMEMBER
// ---------------------------------------------------------------------------------------------

/// ZRANDMEMBER key [count [WITHSCORES]]. O(N) in the elements returned.
fn zrandmember(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let mut rng = Rng::new(ctx.ks.random());
    if argv.len() < 3 {
        return ctx.with_scratch(|ctx, scratch| {
            let (z, out) = zset_of(ctx, key, true)?;
            let z = z.filter(|z| !z.is_empty());
            match z.and_then(|z| z.get(rng.below(z.len()), scratch)) {
                Some((m, _)) => out.bulk(m),
                None => out.null(),
            }
            Ok(())
        });
    }
    let count = arg_i64(argv.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::new(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if argv.len() > 4 || (argv.len() == 4 && !eq_ci(argv.get(3), "withscores")) {
        return Err(err::SYNTAX);
    }
    let withscores = argv.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::new("ERR value is out of range"));
    }
    randmember_count(ctx, key, count, withscores, &mut rng)
}

/// ZRANDMEMBER with a count: `count` distinct members when positive (at most the set), `-count`
/// independent picks when negative.
fn randmember_count(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    count: i64,
    withscores: bool,
    rng: &mut Rng,
) -> CmdResult {
    ctx.with_scratch(|ctx, scratch| {
        let (z, out) = zset_of(ctx, key, true)?;
        let Some(z) = z else {
            out.array(0);
            return Ok(());
        };
        let size = z.len();
        if count == 0 || size == 0 {
            out.array(0);
        } else if count < 0 || count == 1 {
            let picks = count.unsigned_abs();
            if picks > RANDOM_REPEAT_MAX {
                return Err(CmdError::new("ERR value is out of range"));
            }
            let items =
                (0..picks as usize).map(|_| z.get(rng.below(size), scratch).unwrap_or((b"", 0.0)));
            reply_elements(out, items, withscores);
        } else if count as u64 >= size as u64 {
            reply_elements(out, z.iter(scratch), withscores);
        } else {
            // Distinct picks (count < size, so the sample is bounded by the set): Floyd's algorithm
            // for the ranks, then a shuffle so the order is random too.
            let k = count as usize;
            let mut chosen = BTreeSet::new();
            for j in size - k..size {
                let t = rng.below(j + 1);
                if !chosen.insert(t) {
                    chosen.insert(j);
                }
            }
            let mut ranks: Vec<usize> = chosen.into_iter().collect();
            for i in (1..ranks.len()).rev() {
                ranks.swap(i, rng.below(i + 1));
            }
            let items = ranks
                .iter()
                .map(|&r| z.get(r, scratch).unwrap_or((b"", 0.0)));
            reply_elements(out, items, withscores);
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// ZUNION, ZINTER, ZDIFF, their STORE forms, ZINTERCARD
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Folds `value` into `target` (Redis's `zunionInterAggregate`: a NaN sum becomes 0).
    fn fold(self, target: &mut f64, value: f64) {
        match self {
            Aggregate::Sum => {
                *target += value;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if value < *target {
                    *target = value;
                }
            }
            Aggregate::Max => {
                if value > *target {
                    *target = value;
                }
            }
        }
    }
}

/// One input of a set operation. A plain set counts as a sorted set whose scores are all 1.
enum Input<'a> {
    Missing,
    /// A sorted set, and the arena its compact encoding's members are joined in.
    Z(&'a ZSet, &'a Bump),
    /// A set, with its members as bytes (integers of the intset encoding formatted into the
    /// command's scratch arena).
    Set(&'a Set, &'a [&'a [u8]]),
}

struct Source<'a> {
    input: Input<'a>,
    weight: f64,
}

impl<'a> Source<'a> {
    fn len(&self) -> usize {
        match &self.input {
            Input::Missing => 0,
            Input::Z(z, _) => z.len(),
            Input::Set(s, _) => s.len(),
        }
    }

    fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.input {
            Input::Missing => None,
            Input::Z(z, _) => z.score(member),
            Input::Set(s, _) => s.contains(member).then_some(1.0),
        }
    }

    /// Visits every (member, unweighted score) until `f` returns false.
    fn visit(&self, mut f: impl FnMut(&'a [u8], f64) -> bool) {
        match self.input {
            Input::Missing => {}
            Input::Z(z, arena) => {
                for (m, s) in z.iter(arena) {
                    if !f(m, s) {
                        return;
                    }
                }
            }
            Input::Set(_, members) => {
                for &m in members {
                    if !f(m, 1.0) {
                        return;
                    }
                }
            }
        }
    }
}

/// A set's members as bytes: stored bytes are borrowed, integers formatted into `arena`.
fn set_members<'a>(s: &'a Set, arena: &'a Bump) -> &'a [&'a [u8]] {
    let mut members = BumpVec::with_capacity_in(s.len(), arena);
    let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
    for m in s.iter() {
        members.push(match m {
            Member::Bytes(b) => b,
            Member::Int(_) => &*arena.alloc_slice_copy(m.bytes(&mut scratch)),
        });
    }
    members.into_bump_slice()
}

/// ZUNION numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX] [WITHSCORES].
/// O(N)+O(M*log(M)).
fn zunion(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    setop_generic(ctx, argv, None, SetOp::Union, false, "zunion")
}

/// ZINTER numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX] [WITHSCORES].
/// O(N*K)+O(M*log(M)).
fn zinter(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    setop_generic(ctx, argv, None, SetOp::Inter, false, "zinter")
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]. O(L + (N-K)log(N)).
fn zdiff(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    setop_generic(ctx, argv, None, SetOp::Diff, false, "zdiff")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]. O(N*K).
fn zintercard(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    setop_generic(ctx, argv, None, SetOp::Inter, true, "zintercard")
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX].
/// O(N)+O(M*log(M)).
fn zunionstore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    setop_generic(
        ctx,
        argv,
        Some(argv.get(1)),
        SetOp::Union,
        false,
        "zunionstore",
    )
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS weight ...] [AGGREGATE SUM | MIN | MAX].
/// O(N*K)+O(M*log(M)).
fn zinterstore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    setop_generic(
        ctx,
        argv,
        Some(argv.get(1)),
        SetOp::Inter,
        false,
        "zinterstore",
    )
}

/// ZDIFFSTORE destination numkeys key [key ...]. O(L + (N-K)log(N)).
fn zdiffstore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    setop_generic(
        ctx,
        argv,
        Some(argv.get(1)),
        SetOp::Diff,
        false,
        "zdiffstore",
    )
}

/// The options after the keys of a set operation.
struct SetOpOptions {
    weights: Option<Vec<f64>>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT; 0 for none.
    limit: u64,
}

fn parse_setop_options(
    argv: Argv<'_>,
    from: usize,
    n: usize,
    op: SetOp,
    store: bool,
    card: bool,
) -> Result<SetOpOptions, CmdError> {
    let mut o = SetOpOptions {
        weights: None,
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = from;
    while j < argv.len() {
        let (a, remaining) = (argv.get(j), argv.len() - j);
        if op != SetOp::Diff && !card && remaining > n && eq_ci(a, "weights") {
            let weights = (j + 1..=j + n)
                .map(|i| {
                    parse_score(argv.get(i)).ok_or(CmdError::new("ERR weight value is not a float"))
                })
                .collect::<Result<Vec<f64>, _>>()?;
            o.weights = Some(weights);
            j += n + 1;
        } else if op != SetOp::Diff && !card && remaining >= 2 && eq_ci(a, "aggregate") {
            o.aggregate = match argv.get(j + 1) {
                x if eq_ci(x, "sum") => Aggregate::Sum,
                x if eq_ci(x, "min") => Aggregate::Min,
                x if eq_ci(x, "max") => Aggregate::Max,
                _ => return Err(err::SYNTAX),
            };
            j += 2;
        } else if !store && !card && eq_ci(a, "withscores") {
            o.withscores = true;
            j += 1;
        } else if card && remaining >= 2 && eq_ci(a, "limit") {
            const NEGATIVE: CmdError = CmdError::new("ERR LIMIT can't be negative");
            let limit = arg_i64(argv.get(j + 1)).map_err(|_| NEGATIVE)?;
            o.limit = u64::try_from(limit).map_err(|_| NEGATIVE)?;
            j += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    Ok(o)
}

/// Sorts a result into (score, member) order.
fn sort_result(result: &mut [(&[u8], f64)]) {
    result.sort_unstable_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.0.cmp(b.0))
    });
}

/// An input's score times its weight, with Redis's rule that NaN (`inf * 0`) counts as 0.
fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

/// Every member of any input, with its aggregated weighted scores: all (member, score) pairs in
/// the arena, sorted by member (input order kept among equals, so sums add up in Redis's order),
/// then each run folded into one.
fn union<'s>(
    sources: &[Source<'s>],
    agg: Aggregate,
    arena: &'s Bump,
) -> BumpVec<'s, (&'s [u8], f64)> {
    let total = sources.iter().map(Source::len).sum();
    let mut all: BumpVec<'s, (&'s [u8], f64, usize)> = BumpVec::with_capacity_in(total, arena);
    for src in sources {
        src.visit(|m, s| {
            all.push((m, weighted(s, src.weight), all.len()));
            true
        });
    }
    all.sort_unstable_by(|a, b| a.0.cmp(b.0).then(a.2.cmp(&b.2)));
    let mut acc: BumpVec<'s, (&'s [u8], f64)> = BumpVec::with_capacity_in(all.len(), arena);
    for &(m, v, _) in all.iter() {
        match acc.last_mut() {
            Some((last, t)) if *last == m => agg.fold(t, v),
            _ => acc.push((m, v)),
        }
    }
    acc
}

/// The members of every input (the smallest first), with aggregated weighted scores; with
/// `count_only` just their number, stopping at `limit` (0: no limit).
fn inter<'s>(
    sources: &[Source<'s>],
    agg: Aggregate,
    count_only: bool,
    limit: u64,
    arena: &'s Bump,
) -> (BumpVec<'s, (&'s [u8], f64)>, u64) {
    let mut result = BumpVec::new_in(arena);
    let mut count = 0u64;
    let Some((first, rest)) = sources.split_first() else {
        return (result, 0);
    };
    first.visit(|m, s| {
        let mut score = weighted(s, first.weight);
        for other in rest {
            match other.score(m) {
                Some(v) => agg.fold(&mut score, v * other.weight),
                None => return true,
            }
        }
        count += 1;
        if count_only {
            return limit == 0 || count < limit;
        }
        result.push((m, score));
        true
    });
    (result, count)
}

/// The members of the first input that no other input has, with their scores.
fn diff<'s>(sources: &[Source<'s>], arena: &'s Bump) -> BumpVec<'s, (&'s [u8], f64)> {
    let mut result = BumpVec::new_in(arena);
    if let Some((first, rest)) = sources.split_first() {
        first.visit(|m, s| {
            if !rest.iter().any(|other| other.score(m).is_some()) {
                result.push((m, s));
            }
            true
        });
    }
    result
}

/// Checks numkeys (Redis's errors, before anything is sized by it) and looks every input up (lazy
/// expiry, stats): each must be absent, a sorted set or a set. Returns the number of inputs.
fn check_inputs(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    numkeys_at: usize,
    name: &str,
) -> Result<usize, CmdError> {
    let setnum = arg_i64(argv.get(numkeys_at))?;
    if setnum < 1 {
        return Err(CmdError::owned(alloc::format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if setnum as u64 > (argv.len() - numkeys_at - 1) as u64 {
        return Err(err::SYNTAX);
    }
    let n = setnum as usize;
    for key in argv.tail(numkeys_at + 1).iter().take(n) {
        match ctx.lookup_read(key) {
            None | Some(Value::ZSet(_)) | Some(Value::Set(_)) => {}
            Some(_) => return Err(err::WRONGTYPE),
        }
    }
    Ok(n)
}

/// The set operations: ZUNION, ZINTER, ZDIFF, ZINTERCARD (`card`), and their STORE forms (`dst`).
fn setop_generic(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    dst: Option<&[u8]>,
    op: SetOp,
    card: bool,
    name: &str,
) -> CmdResult {
    let numkeys_at = if dst.is_some() { 2 } else { 1 };
    let n = check_inputs(ctx, argv, numkeys_at, name)?;
    let o = parse_setop_options(argv, numkeys_at + 1 + n, n, op, dst.is_some(), card)?;
    let lim = limits(ctx);
    let keys = argv.tail(numkeys_at + 1);
    ctx.with_scratch(|ctx, arena| {
        let (db, now) = (ctx.ks.db(ctx.db), ctx.now_ms);
        let mut sources = BumpVec::with_capacity_in(n, arena);
        for i in 0..n {
            sources.push(Source {
                input: match db.peek(keys.get(i), now).and_then(|e| e.as_whole()) {
                    Some(Value::ZSet(z)) => Input::Z(z, arena),
                    Some(Value::Set(s)) => Input::Set(s, set_members(s, arena)),
                    _ => Input::Missing,
                },
                weight: o.weights.as_ref().map_or(1.0, |w| w[i]),
            });
        }
        if op != SetOp::Diff {
            // Smallest first: the intersection probes the others with each of its elements.
            sources.sort_unstable_by_key(|s| s.len());
        }
        let mut result = match op {
            SetOp::Union => union(&sources, o.aggregate, arena),
            SetOp::Diff => diff(&sources, arena),
            SetOp::Inter => {
                let (result, count) = inter(&sources, o.aggregate, card, o.limit, arena);
                if card {
                    ctx.out.int(count as i64);
                    return Ok(());
                }
                result
            }
        };
        sort_result(&mut result);
        let Some(dst) = dst else {
            reply_elements(&mut ctx.out, result.iter().copied(), o.withscores);
            return Ok(());
        };
        let z = ZSet::from_sorted(result.iter().copied(), &lim);
        // The inputs borrow the database the result goes into.
        drop(result);
        drop(sources);
        let event = match op {
            SetOp::Union => "zunionstore",
            SetOp::Inter => "zinterstore",
            SetOp::Diff => "zdiffstore",
        };
        store_result(ctx, dst, z, event);
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// ZSCAN
// ---------------------------------------------------------------------------------------------

/// ZSCAN key cursor [MATCH pattern] [COUNT count]. O(1) per call, O(N) for a full iteration.
fn zscan(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let cursor = parse_cursor(argv.get(2))?;
    ctx.with_scratch(|ctx, scratch| {
        let (z, out) = zset_of(ctx, argv.get(1), true)?;
        let Some(z) = z else {
            reply_scan(out, 0, 0);
            return Ok(());
        };
        let opts = scan_options(argv, 3, false)?;
        let mut found: Vec<(&[u8], f64)> = Vec::new();
        let cursor = z.scan(cursor, opts.count, scratch, |m, s| found.push((m, s)));
        if let Some(p) = opts.pattern {
            found.retain(|(m, _)| glob_match(p, m, false));
        }
        reply_scan(out, cursor, 2 * found.len());
        for (m, s) in found {
            out.bulk(m);
            out.bulk(ScoreText::new(s).as_bytes());
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::{Host, NOW_MS};
    use crate::reply::{parse_reply, Reply};
    use crate::resp::Proto;
    use alloc::format;
    use alloc::string::{String, ToString};
    use alloc::vec;

    trait ZsetHost {
        fn raw(&mut self, args: &[&[u8]]) -> Vec<u8>;
        fn run(&mut self, line: &str) -> String;
    }

    impl ZsetHost for Host {
        /// Runs one command given as separate arguments and returns the raw reply bytes.
        fn raw(&mut self, args: &[&[u8]]) -> Vec<u8> {
            self.exec(args)
                .unwrap_or_else(|e| format!("-{e}\r\n").into_bytes())
        }

        /// Runs a command written as a line of space-separated arguments and renders the reply.
        fn run(&mut self, line: &str) -> String {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            let raw = self.raw(&args);
            if raw.is_empty() {
                return String::from("(no reply)");
            }
            let (reply, used) = parse_reply(&raw).expect("valid RESP");
            assert_eq!(used, raw.len(), "one reply");
            render(&reply)
        }
    }

    /// A compact text form of a reply: bulk strings as their text, `nil`, arrays in brackets,
    /// RESP3 doubles with a leading comma, errors with a leading `!`.
    fn render(r: &Reply) -> String {
        let list = |v: &[Reply]| {
            let items: Vec<String> = v.iter().map(render).collect();
            format!("[{}]", items.join(" "))
        };
        match r {
            Reply::Status(s) | Reply::Bulk(s) | Reply::BigNumber(s) => {
                String::from_utf8_lossy(s).into_owned()
            }
            Reply::Error(e) => format!("!{}", String::from_utf8_lossy(e)),
            Reply::Integer(n) => n.to_string(),
            Reply::Double(d) => format!(",{d}"),
            Reply::Boolean(b) => b.to_string(),
            Reply::Null => String::from("nil"),
            Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => list(v),
            Reply::Map(_) => String::from("(map)"),
        }
    }

    #[test]
    fn zadd_options_and_errors() {
        let mut t = Host::new();
        assert_eq!(t.run("zadd z 10 x 20 y 30 z"), "3");
        assert_eq!(t.events(), ["new:z", "zadd:z"]);
        assert_eq!(t.run("zadd z xx 5 foo 11 x 21 y 40 zap"), "0");
        assert_eq!(t.run("zrange z 0 -1 withscores"), "[x 11 y 21 z 30]");
        assert_eq!(t.run("zadd z gt ch 5 foo 12 x 20 y"), "2");
        assert_eq!(t.run("zadd z lt ch 4 foo 13 x 19 y"), "2");
        assert_eq!(t.run("zrange z 0 -1 withscores"), "[foo 4 x 12 y 19 z 30]");
        assert_eq!(t.run("zadd z nx 1 x 2 new"), "1");
        assert_eq!(t.run("zscore z x"), "12");
        assert_eq!(t.run("zadd z ch 12 x 30 z"), "0");
        t.events();
        assert_eq!(t.run("zadd z 12 x"), "0");
        assert!(t.events().is_empty(), "no change, no event");
        assert_eq!(t.run("zadd z incr 3 x"), "15");
        assert_eq!(t.events(), ["zincr:z"]);
        assert_eq!(t.run("zadd z lt incr 1 x"), "nil");
        assert_eq!(t.run("zadd none xx 1 a"), "0");
        assert_eq!(t.run("zadd none xx incr 1 a"), "nil");
        assert_eq!(t.run("exists none"), "0");
        for (line, err) in [
            (
                "zadd z xx nx 1 a",
                "!ERR XX and NX options at the same time are not compatible",
            ),
            (
                "zadd z gt nx 1 a",
                "!ERR GT, LT, and/or NX options at the same time are not compatible",
            ),
            (
                "zadd z lt gt 1 a",
                "!ERR GT, LT, and/or NX options at the same time are not compatible",
            ),
            (
                "zadd z incr 1 a 2 b",
                "!ERR INCR option supports a single increment-element pair",
            ),
            ("zadd z 1 a 2", "!ERR syntax error"),
            (
                "zadd z nx",
                "!ERR wrong number of arguments for 'zadd' command",
            ),
            ("zadd z xx ch", "!ERR syntax error"),
            ("zadd z nan a", "!ERR value is not a valid float"),
            ("zadd z 1 a 2 b 3.x c", "!ERR value is not a valid float"),
            ("zadd z 1e400 a", "!ERR value is not a valid float"),
            (
                "zincrby z 1 a 2",
                "!ERR wrong number of arguments for 'zincrby' command",
            ),
        ] {
            assert_eq!(t.run(line), err, "{line}");
        }
        assert_eq!(
            t.raw(&[b"zadd", b"z", b"", b"a"]),
            b"-ERR value is not a valid float\r\n"
        );
        assert_eq!(t.run("zcard z"), "5", "a failed ZADD changes nothing");
        assert_eq!(t.run("zincrby n +inf a"), "inf");
        assert_eq!(
            t.run("zincrby n -inf a"),
            "!ERR resulting score is not a number (NaN)"
        );
        assert_eq!(t.run("zscore n a"), "inf");
        assert_eq!(t.run("zadd n +inf x -inf y"), "2");
        assert_eq!(t.run("zadd n gt incr 1 x"), "nil");
        t.run("set s v");
        assert_eq!(
            t.run("zadd s 1 a"),
            "!WRONGTYPE Operation against a key holding the wrong kind of value"
        );
    }

    #[test]
    fn encodings_follow_the_limits() {
        let mut t = Host::new();
        t.config.zset_max_listpack_entries = 3;
        t.config.zset_max_listpack_value = 5;
        t.run("zadd a 1 x 2 y 3 z");
        assert_eq!(t.encoding("a"), "listpack");
        t.run("zadd a 4 w");
        assert_eq!(t.encoding("a"), "skiplist");
        t.run("zadd b 1 longmember");
        assert_eq!(t.encoding("b"), "skiplist");
        t.config.zset_max_listpack_entries = 0;
        t.run("zadd c 1 x");
        assert_eq!(t.encoding("c"), "skiplist");
        // Results are encoded by their final size.
        t.config.zset_max_listpack_entries = 1;
        t.run("zadd src 1 a 2 b");
        assert_eq!(t.run("zrangestore d1 src 0 0"), "1");
        assert_eq!(t.encoding("d1"), "listpack");
        assert_eq!(t.run("zrangestore d2 src 0 1"), "2");
        assert_eq!(t.encoding("d2"), "skiplist");
        assert_eq!(t.run("zunionstore d3 1 a"), "4");
        assert_eq!(t.encoding("d3"), "skiplist");
    }

    /// The same commands give the same replies in both encodings.
    #[test]
    fn ranges_in_both_encodings() {
        for entries in [128, 0] {
            let mut t = Host::new();
            t.config.zset_max_listpack_entries = entries;
            t.run("zadd z -inf a 1 b 2 c 3 d 4 e 5 f +inf g");
            assert_eq!(
                t.encoding("z"),
                if entries == 0 { "skiplist" } else { "listpack" }
            );
            for (line, want) in [
                ("zrange z 0 -1", "[a b c d e f g]"),
                ("zrange z -2 -1", "[f g]"),
                ("zrange z 5 -2", "[f]"),
                ("zrange z -100 1", "[a b]"),
                ("zrange z 3 100", "[d e f g]"),
                ("zrange z 4 2", "[]"),
                ("zrevrange z 0 2 withscores", "[g inf f 5 e 4]"),
                ("zrevrange z -2 -1", "[b a]"),
                ("zrangebyscore z -inf 2", "[a b c]"),
                ("zrangebyscore z (1 (4", "[c d]"),
                ("zrangebyscore z (4 (2", "[]"),
                ("zrangebyscore z 2 (2", "[]"),
                ("zrangebyscore z 0 10 limit 2 3", "[d e f]"),
                ("zrangebyscore z 0 10 limit 20 3", "[]"),
                ("zrangebyscore z 0 10 limit -1 3", "[]"),
                ("zrangebyscore z 0 10 limit 1 -1", "[c d e f]"),
                ("zrevrangebyscore z +inf 4", "[g f e]"),
                (
                    "zrevrangebyscore z 10 0 limit 2 3 withscores",
                    "[d 3 c 2 b 1]",
                ),
                ("zrange z 5 0 byscore rev limit 0 2 withscores", "[f 5 e 4]"),
                ("zrange z (1 3 byscore", "[c d]"),
                ("zcount z 0 3", "3"),
                ("zcount z (0 (3", "2"),
                ("zrank z c", "2"),
                ("zrevrank z c", "4"),
                ("zrank z nope", "nil"),
                ("zrank nokey a", "nil"),
                ("zmscore z a nope f", "[-inf nil 5]"),
                ("zmscore nokey a", "[nil]"),
                ("zcard z", "7"),
            ] {
                assert_eq!(t.run(line), want, "{line} ({entries})");
            }
            t.run("del z");
            t.run("zadd l 0 alpha 0 bar 0 cool 0 down 0 elephant 0 foo 0 great 0 hill 0 omega");
            for (line, want) in [
                ("zrangebylex l - [cool", "[alpha bar cool]"),
                ("zrangebylex l (bar (down", "[cool]"),
                ("zrevrangebylex l + [d limit 0 4", "[omega hill great foo]"),
                ("zrevrangebylex l [down [bar", "[down cool bar]"),
                ("zrange l [b [d bylex", "[bar cool]"),
                ("zrange l [d [b bylex rev", "[cool bar]"),
                ("zrangebylex l [bar [down limit 1 1", "[cool]"),
                ("zlexcount l - +", "9"),
                ("zlexcount l + -", "0"),
                ("zlexcount l (bar [foo", "4"),
                ("zlexcount l (maxstring +", "1"),
            ] {
                assert_eq!(t.run(line), want, "{line} ({entries})");
            }
        }
    }

    #[test]
    fn range_errors() {
        let mut t = Host::new();
        t.run("zadd z 1 a 2 b");
        for (line, err) in [
            ("zrangebyscore z str 1", "!ERR min or max is not a float"),
            ("zrangebyscore z 1 NaN", "!ERR min or max is not a float"),
            ("zcount z (x 1", "!ERR min or max is not a float"),
            ("zrangebylex z foo bar", "!ERR min or max not valid string range item"),
            ("zrangebylex z +x [bar", "!ERR min or max not valid string range item"),
            ("zlexcount z [a b", "!ERR min or max not valid string range item"),
            ("zrange z 0 -1 limit 1 2", "!ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"),
            ("zrange z [a [b bylex withscores", "!ERR syntax error, WITHSCORES not supported in combination with BYLEX"),
            ("zrevrange z 0 -1 byscore", "!ERR syntax error"),
            ("zrangebyscore z 0 -1 rev", "!ERR syntax error"),
            ("zrange z 0 -1 rev rev", "!ERR syntax error"),
            ("zrange z 0 -1 limit 1", "!ERR syntax error"),
            ("zrangestore d z 0 -1 withscores", "!ERR syntax error"),
            ("zrange z a 1", "!ERR value is not an integer or out of range"),
            ("zremrangebyrank z 0 x", "!ERR value is not an integer or out of range"),
            ("zremrangebyscore z 1 str", "!ERR min or max is not a float"),
        ] {
            assert_eq!(t.run(line), err, "{line}");
        }
        t.run("set s v");
        assert_eq!(
            t.run("zrangestore d s 0 -1"),
            "!WRONGTYPE Operation against a key holding the wrong kind of value"
        );
    }

    #[test]
    fn resp3_replies() {
        let mut t = Host::new();
        t.proto = Proto::Resp3;
        t.run("zadd z 1 a 2.5 b");
        assert_eq!(t.raw(&[b"zscore", b"z", b"b"]), b",2.5\r\n");
        assert_eq!(t.raw(&[b"zscore", b"z", b"x"]), b"_\r\n");
        assert_eq!(t.run("zrange z 0 -1 withscores"), "[[a ,1] [b ,2.5]]");
        assert_eq!(t.run("zrange z 0 -1"), "[a b]");
        assert_eq!(t.run("zunion 1 z withscores"), "[[a ,1] [b ,2.5]]");
        assert_eq!(t.run("zrandmember z -2 withscores").matches('[').count(), 3);
        assert_eq!(t.run("zpopmin z"), "[a ,1]");
        t.run("zadd z 1 a");
        assert_eq!(t.run("zpopmin z 1"), "[[a ,1]]");
        assert_eq!(t.run("zmpop 1 z max"), "[z [[b ,2.5]]]");
        assert_eq!(t.raw(&[b"zmpop", b"1", b"z", b"max"]), b"_\r\n");
    }

    #[test]
    fn removals_delete_empty_keys() {
        let mut t = Host::new();
        t.run("zadd z 1 a 2 b 3 c 4 d 5 e");
        t.events();
        assert_eq!(t.run("zrem z x a b"), "2");
        assert_eq!(t.events(), ["zrem:z"]);
        assert_eq!(t.run("zremrangebyscore z (3 5"), "2");
        assert_eq!(t.run("zrange z 0 -1"), "[c]");
        assert_eq!(t.run("zrem z c d"), "1");
        assert_eq!(t.run("exists z"), "0");
        t.events();
        t.run("zadd z 1 a 2 b 3 c 4 d 5 e");
        assert_eq!(t.run("zremrangebyrank z 1 3"), "3");
        assert_eq!(t.run("zrange z 0 -1"), "[a e]");
        assert_eq!(t.run("zremrangebyrank z 10 -1"), "0");
        assert_eq!(t.run("zremrangebyrank z -10 -1"), "2");
        assert_eq!(t.run("exists z"), "0");
        assert_eq!(
            t.events(),
            [
                "new:z",
                "zadd:z",
                "zremrangebyrank:z",
                "zremrangebyrank:z",
                "del:z"
            ]
        );
        t.run("zadd l 0 a 0 b 0 c");
        assert_eq!(t.run("zremrangebylex l (a +"), "2");
        assert_eq!(t.run("zremrangebylex l - +"), "1");
        assert_eq!(t.run("exists l"), "0");
        assert_eq!(t.run("zremrangebylex none - +"), "0");
        assert_eq!(t.run("zrem none a"), "0");
    }

    #[test]
    fn pops() {
        let mut t = Host::new();
        assert_eq!(t.run("zpopmin z"), "[]");
        t.run("zadd z -1 a 1 b 2 c 3 d 4 e");
        assert_eq!(t.run("zpopmin z"), "[a -1]");
        assert_eq!(t.run("zpopmax z 2"), "[e 4 d 3]");
        assert_eq!(t.run("zpopmax z 0"), "[]");
        assert_eq!(
            t.run("zpopmin z -1"),
            "!ERR value is out of range, must be positive"
        );
        assert_eq!(t.run("zpopmin z 1 2"), "!ERR syntax error");
        t.events();
        assert_eq!(t.run("zpopmin z 9223372036854775807"), "[b 1 c 2]");
        assert_eq!(t.events(), ["zpopmin:z", "del:z"]);
        t.run("set s v");
        assert_eq!(
            t.run("zpopmin s 0"),
            "!WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        assert_eq!(
            t.run("zpopmin s -1"),
            "!ERR value is out of range, must be positive"
        );
        t.run("zadd z2 1 a 2 b 3 c");
        assert_eq!(t.run("zmpop 2 z z2 min count 2"), "[z2 [[a 1] [b 2]]]");
        assert_eq!(t.run("zmpop 2 z none max"), "nil");
        assert_eq!(
            t.run("zmpop 2 s z2 max"),
            "!WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        for (line, err) in [
            ("zmpop 0 z min", "!ERR numkeys should be greater than 0"),
            ("zmpop a z min", "!ERR numkeys should be greater than 0"),
            ("zmpop 5 z min", "!ERR syntax error"),
            ("zmpop 1 z bad", "!ERR syntax error"),
            ("zmpop 1 z min count", "!ERR syntax error"),
            ("zmpop 1 z min count 1 count 2", "!ERR syntax error"),
            (
                "zmpop 1 z min count 0",
                "!ERR count should be greater than 0",
            ),
            (
                "zmpop 1 z max count a",
                "!ERR count should be greater than 0",
            ),
            (
                "zmpop 1 z",
                "!ERR wrong number of arguments for 'zmpop' command",
            ),
        ] {
            assert_eq!(t.run(line), err, "{line}");
        }
    }

    #[test]
    fn blocking_pops() {
        let mut t = Host::new();
        t.run("zadd z 0 a 1 b");
        t.may_block = true;
        assert_eq!(t.run("bzpopmin none z 1"), "[z a 0]");
        assert_eq!(t.run("bzmpop 0 2 none z max count 5"), "[z [[b 1]]]");
        assert_eq!(t.run("exists z"), "0");
        assert!(t.effects.block.is_none());
        // Nothing to pop: no reply, a block request on each key once.
        assert_eq!(t.run("bzpopmax k1 k2 k1 1.5"), "(no reply)");
        assert_eq!(
            t.effects.block,
            Some(BlockRequest {
                keys: vec![b"k1".to_vec(), b"k2".to_vec()],
                deadline_ms: NOW_MS + 1500,
                argv: None,
            })
        );
        assert_eq!(t.run("bzmpop 0 1 k1 min"), "(no reply)");
        assert_eq!(t.effects.block.as_ref().map(|b| b.deadline_ms), Some(0));
        // Inside MULTI: a null array at once.
        t.may_block = false;
        assert_eq!(t.raw(&[b"bzpopmin", b"k1", b"0"]), b"*-1\r\n");
        assert!(t.effects.block.is_none());
        t.may_block = true;
        for (line, err) in [
            ("bzpopmin k1 -1", "!ERR timeout is negative"),
            (
                "bzpopmin k1 abc",
                "!ERR timeout is not a float or out of range",
            ),
            ("bzmpop 1 0 k1 min", "!ERR numkeys should be greater than 0"),
            (
                "bzmpop 1 1 k1 min count 0",
                "!ERR count should be greater than 0",
            ),
            ("bzmpop 1 1 k1 bad", "!ERR syntax error"),
            (
                "bzmpop 0 1",
                "!ERR wrong number of arguments for 'bzmpop' command",
            ),
        ] {
            assert_eq!(t.run(line), err, "{line}");
            assert!(t.effects.block.is_none(), "{line}");
        }
        t.run("set s v");
        assert_eq!(
            t.run("bzpopmin s 0"),
            "!WRONGTYPE Operation against a key holding the wrong kind of value"
        );
    }

    #[test]
    fn set_operations() {
        let mut t = Host::new();
        t.run("zadd a 1 a 2 b 3 c");
        t.run("zadd b 1 b 2 c 3 d");
        for (line, want) in [
            ("zunion 2 a b withscores", "[a 1 b 3 d 3 c 5]"),
            ("zunion 2 a b weights 2 3 withscores", "[a 2 b 7 d 9 c 12]"),
            ("zunion 2 a b aggregate min withscores", "[a 1 b 1 c 2 d 3]"),
            ("zunion 2 a b aggregate max withscores", "[a 1 b 2 c 3 d 3]"),
            ("zinter 2 a b withscores", "[b 3 c 5]"),
            ("zinter 2 a b weights 2 3 aggregate max", "[b c]"),
            ("zdiff 2 a b withscores", "[a 1]"),
            ("zdiff 2 a a", "[]"),
            ("zintercard 2 a b", "2"),
            ("zintercard 2 a b limit 1", "1"),
            ("zintercard 2 a b limit 0", "2"),
            ("zunion 1 none", "[]"),
            ("zinter 2 a none", "[]"),
            ("zunionstore c 2 a b", "4"),
            ("zrange c 0 -1 withscores", "[a 1 b 3 d 3 c 5]"),
            ("zinterstore c 2 a b weights 2 3", "2"),
            ("zrange c 0 -1 withscores", "[b 7 c 12]"),
            ("zdiffstore c 2 a b", "1"),
            ("zrange c 0 -1 withscores", "[a 1]"),
            ("zinterstore c 2 a none", "0"),
            ("exists c", "0"),
        ] {
            assert_eq!(t.run(line), want, "{line}");
        }
        t.events();
        t.run("zunionstore c 2 a b");
        assert_eq!(t.events(), ["new:c", "zunionstore:c"]);
        t.run("zdiffstore c 1 none");
        assert_eq!(t.events(), ["del:c"]);
        // Infinities: +inf + -inf is NaN, which a sum turns into 0.
        t.run("zadd i1 +inf k");
        t.run("zadd i2 -inf k");
        assert_eq!(t.run("zunion 2 i1 i2 withscores"), "[k 0]");
        assert_eq!(t.run("zinter 2 i1 i1 withscores"), "[k inf]");
        t.run("zadd ni -inf x");
        assert_eq!(t.run("zunion 1 ni weights 0 withscores"), "[x 0]");
        for (line, err) in [
            (
                "zunion 0 a",
                "!ERR at least 1 input key is needed for 'zunion' command",
            ),
            (
                "zinterstore d 0 a",
                "!ERR at least 1 input key is needed for 'zinterstore' command",
            ),
            (
                "zintercard 0 a",
                "!ERR at least 1 input key is needed for 'zintercard' command",
            ),
            ("zunion 3 a b", "!ERR syntax error"),
            ("zunion 9223372036854775807 a", "!ERR syntax error"),
            ("zunion x a", "!ERR value is not an integer or out of range"),
            ("zunion 2 a b weights 1", "!ERR syntax error"),
            (
                "zunion 2 a b weights nan nan",
                "!ERR weight value is not a float",
            ),
            ("zunion 2 a b aggregate avg", "!ERR syntax error"),
            ("zdiff 2 a b weights 1 2", "!ERR syntax error"),
            ("zunionstore d 2 a b withscores", "!ERR syntax error"),
            ("zintercard 1 a a", "!ERR syntax error"),
            ("zintercard 1 a limit", "!ERR syntax error"),
            ("zintercard 1 a limit -1", "!ERR LIMIT can't be negative"),
            ("zintercard 1 a limit x", "!ERR LIMIT can't be negative"),
        ] {
            assert_eq!(t.run(line), err, "{line}");
        }
        t.run("set s v");
        assert_eq!(
            t.run("zunion 2 a s"),
            "!WRONGTYPE Operation against a key holding the wrong kind of value"
        );
        // Plain sets are inputs with score 1, when the set commands are there to make one.
        if crate::cmd::find(b"sadd").is_some() {
            t.run("sadd set a b c");
            assert_eq!(t.run("zunionstore c 2 set b weights 2 3"), "4");
            assert_eq!(t.run("zrange c 0 -1 withscores"), "[a 2 b 5 c 8 d 9]");
            assert_eq!(t.run("zinter 2 set b withscores"), "[b 2 c 3]");
            assert_eq!(t.run("zdiff 2 set b withscores"), "[a 1]");
        }
    }

    #[test]
    fn random_members() {
        let mut t = Host::new();
        assert_eq!(t.run("zrandmember none"), "nil");
        assert_eq!(t.run("zrandmember none 5"), "[]");
        t.run("zadd z 1 a 2 b 3 c 4 d 5 e");
        assert_eq!(t.run("zrandmember z 0"), "[]");
        let all = t.run("zrandmember z 10 withscores");
        assert_eq!(all, "[a 1 b 2 c 3 d 4 e 5]");
        for _ in 0..50 {
            let r = t.run("zrandmember z 3");
            let mut items: Vec<&str> = r
                .trim_matches(|c| c == '[' || c == ']')
                .split(' ')
                .collect();
            items.sort_unstable();
            items.dedup();
            assert_eq!(items.len(), 3, "{r}");
            assert!(items.iter().all(|m| ["a", "b", "c", "d", "e"].contains(m)));
        }
        let r = t.run("zrandmember z -20 withscores");
        assert_eq!(r.split(' ').count(), 40);
        let mut seen = BTreeSet::new();
        for _ in 0..200 {
            seen.insert(t.run("zrandmember z"));
        }
        assert_eq!(seen.len(), 5);
        for (line, err) in [
            ("zrandmember z -9223372036854770000 withscores", "!ERR value is out of range"),
            ("zrandmember z -9223372036854775808", "!ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"),
            ("zrandmember z -9223372036854775807", "!ERR value is out of range"),
            ("zrandmember z 1 withscore", "!ERR syntax error"),
            ("zrandmember z 1 withscores x", "!ERR syntax error"),
        ] {
            assert_eq!(t.run(line), err, "{line}");
        }
        // A huge positive count only returns the set.
        assert_eq!(
            t.run("zrandmember z 9223372036854775807")
                .split(' ')
                .count(),
            5
        );
    }

    #[test]
    fn zscan_both_encodings() {
        for entries in [128, 0] {
            let mut t = Host::new();
            t.config.zset_max_listpack_entries = entries;
            let mut line = String::from("zadd z");
            for i in 0..300 {
                line.push_str(&format!(" {i} key:{i}"));
            }
            t.run(&line);
            let mut cursor = String::from("0");
            let mut seen = alloc::collections::BTreeMap::new();
            loop {
                let r = t.run(&format!("zscan z {cursor} count 7"));
                let inner = r.trim_start_matches('[').trim_end_matches(']');
                let (next, items) = inner.split_once(" [").unwrap_or((inner, ""));
                let items: Vec<&str> = items
                    .trim_end_matches(']')
                    .split(' ')
                    .filter(|s| !s.is_empty())
                    .collect();
                for pair in items.chunks(2) {
                    seen.insert(pair[0].to_string(), pair[1].to_string());
                }
                cursor = next.to_string();
                if cursor == "0" {
                    break;
                }
            }
            assert_eq!(seen.len(), 300);
            assert!(seen.iter().all(|(k, v)| *k == format!("key:{v}")));
            let r = t.run("zscan z 0 match key:29? count 1000");
            let (cursor, items) = r.split_once(' ').unwrap_or_default();
            let mut items: Vec<&str> = items
                .trim_matches(|c| c == '[' || c == ']')
                .split(' ')
                .collect();
            items.sort_unstable();
            assert_eq!(cursor, "[0");
            assert_eq!(items.len(), 20);
            assert_eq!(items[..3], ["290", "291", "292"]);
        }
        let mut t = Host::new();
        assert_eq!(t.run("zscan none 0"), "[0 []]");
        assert_eq!(t.run("zscan none x"), "!ERR invalid cursor");
        t.run("zadd z 1 a");
        assert_eq!(t.run("zscan z 0 count 0"), "!ERR syntax error");
        assert_eq!(t.run("zscan z 0 type zset"), "!ERR syntax error");
    }

    #[test]
    fn big_sets_stay_consistent() {
        let mut t = Host::new();
        t.config.zset_max_listpack_entries = 16;
        for i in 0..2000 {
            t.run(&format!("zadd z {} m{}", (i * 7919) % 1000, i % 700));
            if i % 5 == 0 {
                t.run(&format!("zrem z m{}", (i * 31) % 700));
            }
        }
        let all = t.run("zrange z 0 -1 withscores");
        let items: Vec<&str> = all
            .trim_matches(|c| c == '[' || c == ']')
            .split(' ')
            .collect();
        let pairs: Vec<(f64, &str)> = items
            .chunks(2)
            .map(|p| (p[1].parse().unwrap_or(f64::NAN), p[0]))
            .collect();
        assert!(pairs
            .windows(2)
            .all(|w| w[0].0 < w[1].0 || (w[0].0 == w[1].0 && w[0].1 < w[1].1)));
        for (rank, (_, m)) in pairs.iter().enumerate().step_by(37) {
            assert_eq!(t.run(&format!("zrank z {m}")), rank.to_string());
        }
        let n = pairs.len();
        assert_eq!(t.run("zcard z"), n.to_string());
        assert_eq!(t.run("zremrangebyrank z 0 -2"), (n - 1).to_string());
        assert_eq!(t.run("zcard z"), "1");
    }
}
