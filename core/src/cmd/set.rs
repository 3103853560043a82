//! Set commands: adding and removing members, membership and cardinality, random members (SPOP,
//! SRANDMEMBER), SMOVE, the set algebra (SINTER, SUNION, SDIFF, their STORE forms, SINTERCARD) and
//! SSCAN, with Redis 7.0's replies, error texts and keyspace events (Redis's `t_set.c`).
//!
//! A set that loses its last member is deleted (`del` event), and a STORE whose result is empty
//! deletes its destination. Reads stream their reply straight from the stored set: a handler first
//! looks the key up through [`ExecCtx`] (expiry, hit/miss counters, access clock, WRONGTYPE), then
//! borrows the set beside the reply writer.

use super::{KEY1, NOKEYS};
use alloc::boxed::Box;
use alloc::vec::Vec;
use bumpalo::collections::Vec as BumpVec;

use super::keys::{parse_cursor, reply_scan, scan_options};
use super::{acl, arg_i64, eq_ci, err, flags as f, CmdError, CmdResult, Command, ExecCtx};
use crate::glob::glob_match;
use crate::journal::class;
use crate::keyspace::Keyspace;
use crate::resp::{Argv, ReplyWriter};
use crate::table::NO_EXPIRE;
use crate::types::set::{difference, union, Growth, Member, Rng, Set};
use crate::types::string::IntBuf;
use crate::types::string::I64_DIGITS_MAX;
use crate::types::Value;

const RW: u32 = acl::WRITE | acl::SET;
const RO: u32 = acl::READ | acl::SET;
const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);
const GROUP: &str = "set";

const O_N_TOTAL: &str = "O(N) where N is the total number of elements in all given sets.";

pub static COMMANDS: &[Command] = &[
    cmd!("sadd", -3, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, sadd,
        "Add one or more members to a set", "1.0.0",
        "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments."),
    cmd!("srem", -3, f::WRITE | f::FAST, KEY1, RW | acl::FAST, srem,
        "Remove one or more members from a set", "1.0.0",
        "O(N) where N is the number of members to be removed."),
    cmd!("sismember", 3, f::READONLY | f::FAST, KEY1, RO | acl::FAST, sismember,
        "Determine if a given value is a member of a set", "1.0.0", "O(1)"),
    cmd!("smismember", -3, f::READONLY | f::FAST, KEY1, RO | acl::FAST, smismember,
        "Returns the membership associated with the given elements for a set", "6.2.0",
        "O(N) where N is the number of elements being checked for membership"),
    cmd!("scard", 2, f::READONLY | f::FAST, KEY1, RO | acl::FAST, scard,
        "Get the number of members in a set", "1.0.0", "O(1)"),
    cmd!("smembers", 2, f::READONLY, KEY1, RO | acl::SLOW, smembers,
        "Get all the members in a set", "1.0.0", "O(N) where N is the set cardinality."),
    cmd!("spop", -2, f::WRITE | f::FAST, KEY1, RW | acl::FAST, spop,
        "Remove and return one or multiple random members from a set", "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the value of the passed count."),
    cmd!("srandmember", -2, f::READONLY, KEY1, RO | acl::SLOW, srandmember,
        "Get one or multiple random members from a set", "1.0.0",
        "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count."),
    cmd!("smove", 4, f::WRITE | f::FAST, (1, 2, 1), RW | acl::FAST, smove,
        "Move a member from one set to another", "1.0.0", "O(1)"),
    cmd!("sinter", -2, f::READONLY, ALL_KEYS, RO | acl::SLOW, sinter,
        "Intersect multiple sets", "1.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    cmd!("sintercard", -3, f::READONLY | f::MOVABLE_KEYS, NOKEYS, RO | acl::SLOW, sintercard,
        "Intersect multiple sets and return the cardinality of the result", "7.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    cmd!("sinterstore", -3, f::WRITE | f::DENYOOM, ALL_KEYS, RW | acl::SLOW, sinterstore,
        "Intersect multiple sets and store the resulting set in a key", "1.0.0",
        "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets."),
    cmd!("sunion", -2, f::READONLY, ALL_KEYS, RO | acl::SLOW, sunion,
        "Add multiple sets", "1.0.0", O_N_TOTAL),
    cmd!("sunionstore", -3, f::WRITE | f::DENYOOM, ALL_KEYS, RW | acl::SLOW, sunionstore,
        "Add multiple sets and store the resulting set in a key", "1.0.0", O_N_TOTAL),
    cmd!("sdiff", -2, f::READONLY, ALL_KEYS, RO | acl::SLOW, sdiff,
        "Subtract multiple sets", "1.0.0", O_N_TOTAL),
    cmd!("sdiffstore", -3, f::WRITE | f::DENYOOM, ALL_KEYS, RW | acl::SLOW, sdiffstore,
        "Subtract multiple sets and store the resulting set in a key", "1.0.0", O_N_TOTAL),
    cmd!("sscan", -3, f::READONLY, KEY1, RO | acl::SLOW, sscan,
        "Incrementally iterate Set elements", "2.8.0",
        "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

const NUMKEYS: CmdError = CmdError::new("ERR numkeys should be greater than 0");
const NUMKEYS_ARGS: CmdError =
    CmdError::new("ERR Number of keys can't be greater than number of args");
const LIMIT_NEGATIVE: CmdError = CmdError::new("ERR LIMIT can't be negative");
/// SRANDMEMBER's count must have an absolute value (Redis: `-LONG_MAX..LONG_MAX`).
const COUNT_RANGE: CmdError = CmdError::new(
    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
);

/// SPOP with a count moves the members that stay into a new set once fewer than one in this many
/// would stay (Redis's `SPOP_MOVE_STRATEGY_MUL`).
const SPOP_MOVE_STRATEGY_MUL: usize = 5;

/// The set a value holds: `Ok(None)` when the key is absent, WRONGTYPE for another type.
fn as_set(v: Option<&mut Value>) -> Result<Option<&mut Set>, CmdError> {
    match v {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(err::WRONGTYPE),
    }
}

/// The set stored at `key`, after a `ctx.lookup_*` call did the lookup's side effects; borrowing
/// only the keyspace leaves the reply writer free.
fn stored<'k>(ks: &'k Keyspace, db: usize, key: &[u8]) -> Option<&'k Set> {
    match ks.db(db).table().get(key).and_then(|e| e.as_whole()) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

fn stored_mut<'k>(ks: &'k mut Keyspace, db: usize, key: &[u8]) -> Option<&'k mut Set> {
    match ks
        .db_mut(db)
        .table_mut()
        .get_mut(key)
        .and_then(|e| e.value_mut())
    {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

/// Looks each key up for reading (WRONGTYPE at the first non-set); true when all exist.
fn lookup_all(ctx: &mut ExecCtx<'_>, keys: &[&[u8]]) -> Result<bool, CmdError> {
    let mut all = true;
    for key in keys {
        all &= as_set(ctx.lookup_read(key))?.is_some();
    }
    Ok(all)
}

/// How sets grow in this command: the config's intset limit and a fresh seed for a new table.
fn growth(ctx: &mut ExecCtx<'_>) -> Growth {
    Growth {
        intset_entries_max: ctx.config.set_max_intset_entries,
        listpack_entries_max: ctx.config.set_max_listpack_entries,
        listpack_value_max: ctx.config.set_max_listpack_value,
        seed: ctx.ks.random(),
    }
}

fn reply_member(out: &mut ReplyWriter<'_>, m: Member<'_>) {
    match m {
        Member::Int(n) => out.bulk_i64(n),
        Member::Bytes(b) => out.bulk(b),
    }
}

/// Deletes a set that lost its last member.
fn delete_emptied(ctx: &mut ExecCtx<'_>, key: &[u8]) {
    ctx.ks.db_mut(ctx.db).remove(key);
    ctx.notify(class::GENERIC, "del", key);
}

/// Adds a new key holding `set` (Redis's `dbAdd`, with its `new` event).
fn add_key(ctx: &mut ExecCtx<'_>, key: &[u8], set: Set) {
    let now_s = ctx.now_s();
    ctx.ks
        .db_mut(ctx.db)
        .insert_new(key, Value::Set(Box::new(set)), now_s);
    ctx.notify(class::NEW, "new", key);
}

/// Stores a STORE command's result in `dst` and replies with its size; an empty result deletes
/// `dst` instead (Redis's `setKey` / `dbDelete`).
fn store_result(ctx: &mut ExecCtx<'_>, dst: &[u8], set: Set, event: &'static str) {
    let (now, db) = (ctx.now_ms, ctx.db);
    let (db, stats) = ctx.ks.db_and_stats(db);
    let expired = db.expire_if_needed(dst, now, stats);
    let n = set.len();
    if n == 0 {
        if !expired && db.remove(dst).is_some() {
            ctx.touched(1);
            ctx.wrote(class::GENERIC, "del", dst);
        }
    } else {
        ctx.store(dst, Value::Set(Box::new(set)), Some(NO_EXPIRE));
        ctx.wrote(class::SET, event, dst);
    }
    ctx.out.int(n as i64);
}

/// SADD key member [member ...]. O(1) per member.
fn sadd(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let growth = growth(ctx);
    let members = argv.tail(2);
    let added = match as_set(ctx.lookup_write(key))? {
        Some(set) => members.iter().filter(|m| set.insert(m, growth)).count(),
        None => {
            let mut set = Set::default();
            let n = members.iter().filter(|m| set.insert(m, growth)).count();
            add_key(ctx, key, set);
            n
        }
    };
    if added > 0 {
        ctx.wrote(class::SET, "sadd", key);
        ctx.touched(added as u64);
    }
    ctx.out.int(added as i64);
    Ok(())
}

/// SREM key member [member ...]. O(N) in the members named.
fn srem(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let Some(set) = as_set(ctx.lookup_write(key))? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut removed = 0;
    for m in argv.tail(2).iter() {
        if set.remove(m) {
            removed += 1;
            if set.is_empty() {
                break;
            }
        }
    }
    let emptied = set.is_empty();
    if removed > 0 {
        ctx.wrote(class::SET, "srem", key);
        if emptied {
            delete_emptied(ctx, key);
        }
        ctx.touched(removed);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// SISMEMBER key member. O(1).
fn sismember(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let m = argv.get(2);
    let found = as_set(ctx.lookup_read(argv.get(1)))?.is_some_and(|s| s.contains(m));
    ctx.out.int(found as i64);
    Ok(())
}

/// SMISMEMBER key member [member ...]. O(N) in the members named; a missing key is an empty set.
fn smismember(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    lookup_all(ctx, &[key])?;
    let set = stored(ctx.ks, ctx.db, key);
    ctx.out.array(argv.len() - 2);
    for m in argv.tail(2).iter() {
        ctx.out.int(set.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

/// SCARD key. O(1).
fn scard(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let n = as_set(ctx.lookup_read(argv.get(1)))?.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// SMEMBERS key. O(N).
fn smembers(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    inter_generic(ctx, &[argv.get(1)], Inter::Reply)
}

/// SPOP key [count]. O(1) without a count, O(count) with one.
fn spop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    match argv.len() {
        2 => spop_one(ctx, argv.get(1)),
        3 => spop_count(ctx, argv.get(1), argv.get(2)),
        _ => Err(err::SYNTAX),
    }
}

fn spop_one(ctx: &mut ExecCtx<'_>, key: &[u8]) -> CmdResult {
    let mut rng = Rng::new(ctx.ks.random());
    let Some(set) = as_set(ctx.lookup_write(key))? else {
        ctx.out.null();
        return Ok(());
    };
    let popped = set.pop_random(&mut rng);
    let emptied = set.is_empty();
    let Some(m) = popped else {
        ctx.out.null();
        return Ok(());
    };
    ctx.wrote(class::SET, "spop", key);
    reply_member(&mut ctx.out, m.as_member());
    if emptied {
        delete_emptied(ctx, key);
    }
    ctx.touched(1);
    // The random pick replays as the removal of what was picked.
    let mut buf = IntBuf::default();
    ctx.propagate_as(&[b"SREM", key, m.as_member().bytes(&mut buf)]);
    Ok(())
}

/// SPOP with a count, following Redis's three cases: the whole set, members popped one by one, or
/// (when most of the set goes) the few that stay moved into a new set and the rest replied.
fn spop_count(ctx: &mut ExecCtx<'_>, key: &[u8], count: &[u8]) -> CmdResult {
    let count = arg_i64(count)
        .ok()
        .filter(|&n| n >= 0)
        .ok_or(err::OUT_OF_RANGE)? as u64;
    let Some(size) = as_set(ctx.lookup_write(key))?.map(|s| s.len()) else {
        ctx.out.set(0);
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    let growth = growth(ctx);
    let mut rng = Rng::new(ctx.ks.random());
    ctx.wrote(class::SET, "spop", key);
    ctx.touched(count.min(size as u64));
    if count >= size as u64 {
        if let Some(set) = stored(ctx.ks, ctx.db, key) {
            ctx.out.set(set.len());
            for m in set.iter() {
                reply_member(&mut ctx.out, m);
            }
        }
        delete_emptied(ctx, key);
        ctx.propagate_as(&[b"DEL", key]);
        return Ok(());
    }
    let count = count as usize;
    let Some(set) = stored_mut(ctx.ks, ctx.db, key) else {
        return Ok(());
    };
    let out = &mut ctx.out;
    out.set(count);
    let remaining = size - count;
    // The random picks replay as SREM of what was picked.
    let mut gone: Vec<Vec<u8>> = Vec::with_capacity(count);
    let mut buf = IntBuf::default();
    if remaining.saturating_mul(SPOP_MOVE_STRATEGY_MUL) > count {
        for _ in 0..count {
            if let Some(m) = set.pop_random(&mut rng) {
                reply_member(out, m.as_member());
                gone.push(m.as_member().bytes(&mut buf).to_vec());
            }
        }
    } else {
        // A new set built like any other: an intset while the members that stay allow it.
        let mut keep = Set::default();
        for _ in 0..remaining {
            if let Some(m) = set.pop_random(&mut rng) {
                keep.insert_member(m.as_member(), growth);
            }
        }
        for m in set.iter() {
            reply_member(out, m);
            gone.push(m.bytes(&mut buf).to_vec());
        }
        *set = keep;
    }
    for batch in gone.chunks(SPOP_PROPAGATE_BATCH) {
        let mut args: Vec<&[u8]> = alloc::vec![b"SREM", key];
        args.extend(batch.iter().map(Vec::as_slice));
        ctx.propagate_as(&args);
    }
    Ok(())
}

/// Members per SREM an SPOP with a count is logged as (Redis's batch size).
const SPOP_PROPAGATE_BATCH: usize = 1024;

/// SRANDMEMBER key [count]. O(1) without a count, O(|count|) with one.
fn srandmember(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    match argv.len() {
        2 => {
            let key = argv.get(1);
            let mut rng = Rng::new(ctx.ks.random());
            lookup_all(ctx, &[key])?;
            match stored(ctx.ks, ctx.db, key).and_then(|s| s.random(&mut rng)) {
                Some(m) => reply_member(&mut ctx.out, m),
                None => ctx.out.null(),
            }
            Ok(())
        }
        3 => srandmember_count(ctx, argv.get(1), argv.get(2)),
        _ => Err(err::SYNTAX),
    }
}

/// SRANDMEMBER with a count: a negative count allows repeats, a positive one gives distinct members
/// (the whole set when it is at least the set's size).
fn srandmember_count(ctx: &mut ExecCtx<'_>, key: &[u8], count: &[u8]) -> CmdResult {
    let n = arg_i64(count)?;
    if n == i64::MIN {
        return Err(COUNT_RANGE);
    }
    let (count, distinct) = (n.unsigned_abs(), n > 0);
    if !distinct && count > super::RANDOM_REPEAT_MAX {
        return Err(CmdError::new("ERR value is out of range"));
    }
    let mut rng = Rng::new(ctx.ks.random());
    lookup_all(ctx, &[key])?;
    let set = stored(ctx.ks, ctx.db, key);
    let out = &mut ctx.out;
    let Some(set) = set.filter(|_| count > 0) else {
        out.array(0);
        return Ok(());
    };
    if !distinct || count == 1 {
        // The reply grows with the client's count, as in Redis; nothing else is allocated for it.
        out.array(count as usize);
        for _ in 0..count {
            if let Some(m) = set.random(&mut rng) {
                reply_member(out, m);
            }
        }
    } else if count >= set.len() as u64 {
        out.array(set.len());
        for m in set.iter() {
            reply_member(out, m);
        }
    } else {
        let picked = set.random_distinct(count as usize, &mut rng);
        out.array(picked.len());
        for m in picked {
            reply_member(out, m);
        }
    }
    Ok(())
}

/// SMOVE source destination member. O(1).
fn smove(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (src, dst, m) = (argv.get(1), argv.get(2), argv.get(3));
    let src_is_set = ctx.lookup_write(src).map(|v| matches!(v, Value::Set(_)));
    let dst_is_set = ctx.lookup_write(dst).map(|v| matches!(v, Value::Set(_)));
    let Some(src_is_set) = src_is_set else {
        ctx.out.int(0);
        return Ok(());
    };
    if !src_is_set || dst_is_set == Some(false) {
        return Err(err::WRONGTYPE);
    }
    if src == dst {
        let found = stored(ctx.ks, ctx.db, src).is_some_and(|s| s.contains(m));
        ctx.out.int(found as i64);
        return Ok(());
    }
    let growth = growth(ctx);
    let removed = stored_mut(ctx.ks, ctx.db, src).map(|s| (s.remove(m), s.is_empty()));
    let Some((true, emptied)) = removed else {
        ctx.out.int(0);
        return Ok(());
    };
    ctx.wrote(class::SET, "srem", src);
    if emptied {
        delete_emptied(ctx, src);
    }
    let added = match stored_mut(ctx.ks, ctx.db, dst) {
        Some(set) => set.insert(m, growth),
        None => {
            let mut set = Set::default();
            set.insert(m, growth);
            add_key(ctx, dst, set);
            true
        }
    };
    ctx.touched(1 + added as u64);
    if added {
        ctx.wrote(class::SET, "sadd", dst);
    }
    ctx.out.int(1);
    Ok(())
}

/// What an intersection produces.
#[derive(Clone, Copy)]
enum Inter<'a> {
    /// The members, as a set reply (SINTER, SMEMBERS).
    Reply,
    /// The cardinality, counting at most `limit` members when it is not 0 (SINTERCARD).
    Card { limit: usize },
    /// A new value for the destination key (SINTERSTORE).
    Store(&'a [u8]),
}

/// The shared body of SINTER, SMEMBERS, SINTERCARD and SINTERSTORE: walk the smallest set and keep
/// the members every other set has (Redis's `sinterGenericCommand`).
fn inter_generic(ctx: &mut ExecCtx<'_>, keys: &[&[u8]], mode: Inter<'_>) -> CmdResult {
    let growth = growth(ctx);
    if !lookup_all(ctx, keys)? {
        match mode {
            Inter::Reply => ctx.out.set(0),
            Inter::Card { .. } => ctx.out.int(0),
            Inter::Store(dst) => store_result(ctx, dst, Set::default(), "sinterstore"),
        }
        return Ok(());
    }
    ctx.with_scratch(|ctx, arena| {
        let mut sets = BumpVec::with_capacity_in(keys.len(), arena);
        sets.extend(keys.iter().filter_map(|k| stored(ctx.ks, ctx.db, k)));
        sets.sort_unstable_by_key(|s| s.len());
        let Some((&first, rest)) = sets.split_first() else {
            return;
        };
        let common = first.iter().filter(|&m| {
            rest.iter()
                .all(|&s| core::ptr::eq(s, first) || s.contains_member(m))
        });
        match mode {
            Inter::Reply => {
                let mut found = BumpVec::new_in(arena);
                found.extend(common);
                ctx.out.set(found.len());
                for &m in found.iter() {
                    reply_member(&mut ctx.out, m);
                }
            }
            Inter::Card { limit } => {
                let n = common
                    .take(if limit == 0 { usize::MAX } else { limit })
                    .count();
                ctx.out.int(n as i64);
            }
            Inter::Store(dst) => {
                let mut result = Set::default();
                for m in common {
                    result.insert_member(m, growth);
                }
                // The inputs borrow the database the result goes into.
                drop(sets);
                store_result(ctx, dst, result, "sinterstore");
            }
        }
    });
    Ok(())
}

/// SINTER key [key ...]. O(N*M): N the smallest set's size, M the number of sets.
fn sinter(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = argv.tail(1).iter().collect();
    inter_generic(ctx, &keys, Inter::Reply)
}

/// SINTERSTORE destination key [key ...]. O(N*M).
fn sinterstore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = argv.tail(2).iter().collect();
    inter_generic(ctx, &keys, Inter::Store(argv.get(1)))
}

/// SINTERCARD numkeys key [key ...] [LIMIT limit]. O(N*M).
fn sintercard(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let numkeys = arg_i64(argv.get(1))
        .ok()
        .filter(|&n| n > 0)
        .ok_or(NUMKEYS)?;
    if numkeys > argv.len() as i64 - 2 {
        return Err(NUMKEYS_ARGS);
    }
    let end = 2 + numkeys as usize;
    let mut limit = 0;
    let mut i = end;
    while i < argv.len() {
        if eq_ci(argv.get(i), "limit") && i + 1 < argv.len() {
            limit = arg_i64(argv.get(i + 1))
                .ok()
                .filter(|&n| n >= 0)
                .ok_or(LIMIT_NEGATIVE)? as usize;
            i += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    let keys: Vec<&[u8]> = (2..end).map(|i| argv.get(i)).collect();
    inter_generic(ctx, &keys, Inter::Card { limit })
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Diff,
}

/// The shared body of SUNION, SDIFF and their STORE forms (Redis's `sunionDiffGenericCommand`):
/// the result is built as a set (so a STORE gets the encoding Redis would give it), then replied
/// or stored.
fn union_diff(ctx: &mut ExecCtx<'_>, keys: &[&[u8]], dst: Option<&[u8]>, op: Op) -> CmdResult {
    let growth = growth(ctx);
    lookup_all(ctx, keys)?;
    let sets: Vec<Option<&Set>> = keys.iter().map(|k| stored(ctx.ks, ctx.db, k)).collect();
    let result = match op {
        Op::Union => union(&sets, growth),
        Op::Diff => difference(sets, growth),
    };
    match dst {
        None => {
            ctx.out.set(result.len());
            for m in result.iter() {
                reply_member(&mut ctx.out, m);
            }
        }
        Some(dst) => {
            let event = if op == Op::Union {
                "sunionstore"
            } else {
                "sdiffstore"
            };
            store_result(ctx, dst, result, event);
        }
    }
    Ok(())
}

/// SUNION key [key ...]. O(N) in the total size.
fn sunion(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = argv.tail(1).iter().collect();
    union_diff(ctx, &keys, None, Op::Union)
}

/// SUNIONSTORE destination key [key ...]. O(N) in the total size.
fn sunionstore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = argv.tail(2).iter().collect();
    union_diff(ctx, &keys, Some(argv.get(1)), Op::Union)
}

/// SDIFF key [key ...]. O(N) in the total size.
fn sdiff(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = argv.tail(1).iter().collect();
    union_diff(ctx, &keys, None, Op::Diff)
}

/// SDIFFSTORE destination key [key ...]. O(N) in the total size.
fn sdiffstore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let keys: Vec<&[u8]> = argv.tail(2).iter().collect();
    union_diff(ctx, &keys, Some(argv.get(1)), Op::Diff)
}

/// SSCAN key cursor [MATCH pattern] [COUNT count]. O(1) per call. An intset is returned whole
/// with cursor 0, as Redis does; a table is scanned with the keyspace's resize-safe cursor,
/// visiting at most 10 * COUNT buckets per call.
fn sscan(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let mut cursor = parse_cursor(argv.get(2))?;
    if !lookup_all(ctx, &[key])? {
        reply_scan(&mut ctx.out, 0, 0);
        return Ok(());
    }
    let opts = scan_options(argv, 3, false)?;
    let mut found: Vec<Member<'_>> = Vec::new();
    match stored(ctx.ks, ctx.db, key) {
        None => cursor = 0,
        Some(Set::Ints(v)) => {
            found.extend(v.iter().map(|&n| Member::Int(n)));
            cursor = 0;
        }
        // Like an intset, a packed set is returned whole.
        Some(s @ Set::Packed(_)) => {
            found.extend(s.iter());
            cursor = 0;
        }
        Some(Set::Table(t)) => {
            cursor = t.scan_some(cursor, opts.count, |e| {
                found.push(Member::Bytes(e.key_bytes()));
                1
            });
        }
    }
    if let Some(p) = opts.pattern {
        let mut scratch = [0u8; I64_DIGITS_MAX];
        found.retain(|m| glob_match(p, m.bytes(&mut scratch), false));
    }
    reply_scan(&mut ctx.out, cursor, found.len());
    for m in found {
        reply_member(&mut ctx.out, m);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::Host;
    use crate::reply::Reply;
    use crate::resp::Proto;
    use alloc::string::{String, ToString};
    use alloc::vec;

    trait SetHost {
        fn sorted(&mut self, line: &str) -> Vec<String>;
    }

    impl SetHost for Host {
        /// The members of an array or set reply, sorted.
        fn sorted(&mut self, line: &str) -> Vec<String> {
            let mut v = strings(self.ok(line));
            v.sort();
            v
        }
    }

    fn strings(r: Reply) -> Vec<String> {
        match r {
            Reply::Array(items) | Reply::Set(items) => items
                .into_iter()
                .map(|i| match i {
                    Reply::Bulk(b) => String::from_utf8_lossy(&b).into_owned(),
                    other => panic!("not a bulk: {other:?}"),
                })
                .collect(),
            other => panic!("not a collection: {other:?}"),
        }
    }

    fn words(s: &str) -> Vec<String> {
        let mut v: Vec<String> = s.split(' ').map(String::from).collect();
        v.sort();
        v
    }

    #[test]
    fn add_remove_and_membership() {
        let mut w = Host::with_seed(0x5eed);
        assert_eq!(w.int("sadd s foo"), 1);
        assert_eq!(w.encoding("s"), "listpack");
        assert_eq!(w.int("sadd s bar bar foo"), 1);
        assert_eq!(w.events(), ["new:s", "sadd:s", "sadd:s"]);
        assert_eq!(w.int("sadd s foo"), 0);
        assert!(w.events().is_empty());
        assert_eq!(w.int("scard s"), 2);
        assert_eq!((w.int("sismember s foo"), w.int("sismember s bla")), (1, 0));
        assert_eq!(
            w.ok("smismember s bla foo"),
            Reply::Array(vec![Reply::Integer(0), Reply::Integer(1)])
        );
        assert_eq!(
            w.ok("smismember nokey a b"),
            Reply::Array(vec![Reply::Integer(0), Reply::Integer(0)])
        );
        assert_eq!(w.sorted("smembers s"), words("bar foo"));
        assert_eq!(w.int("srem s qux"), 0);
        assert_eq!(w.int("srem s foo qux"), 1);
        assert_eq!(w.int("srem s bar foo"), 1);
        assert!(!w.exists("s"));
        assert_eq!(w.events(), ["srem:s", "srem:s", "del:s"]);
        assert_eq!(w.int("scard s"), 0);
        assert_eq!(w.ok("smembers s"), Reply::Array(vec![]));

        assert_eq!(w.int("sadd i 17 16 -5"), 3);
        assert_eq!(w.encoding("i"), "intset");
        assert_eq!(w.int("sismember i 16"), 1);
        assert_eq!(w.int("sismember i 016"), 0);
        assert_eq!(w.int("sadd i 213244124402402314402033402"), 1);
        assert_eq!(w.encoding("i"), "listpack");
        assert_eq!(w.int("sismember i 213244124402402314402033402"), 1);
        assert_eq!(
            w.int("srem i 1 2 3 16 17 -5 213244124402402314402033402"),
            4
        );
        assert!(!w.exists("i"));
    }

    #[test]
    fn intset_limit_follows_config() {
        let mut w = Host::with_seed(0x5eed);
        w.config.set_max_intset_entries = 4;
        assert_eq!(w.int("sadd i 1 2 3 4"), 4);
        assert_eq!(w.encoding("i"), "intset");
        assert_eq!(w.int("sadd i 5"), 1);
        // Redis 7.2: an intset past its limit becomes packed while it fits.
        assert_eq!(w.encoding("i"), "listpack");
        w.config.set_max_listpack_entries = 5;
        assert_eq!(w.int("sadd i 6"), 1);
        assert_eq!(w.encoding("i"), "hashtable");
        w.config.set_max_intset_entries = 0;
        assert_eq!(w.int("sadd z 1"), 1);
        assert_eq!(w.encoding("z"), "listpack");
        w.config.set_max_listpack_entries = 0;
        assert_eq!(w.int("sadd y 1"), 1);
        assert_eq!(w.encoding("y"), "hashtable");
    }

    #[test]
    fn wrong_types() {
        let mut w = Host::with_seed(0x5eed);
        w.ok("set str x");
        w.ok("sadd s a");
        const WT: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
        for line in [
            "sadd str a",
            "srem str a",
            "sismember str a",
            "smismember str a",
            "scard str",
            "smembers str",
            "spop str",
            "spop str 2",
            "srandmember str",
            "srandmember str 2",
            "smove str s a",
            "smove s str a",
            "sinter s str",
            "sinter nokey str",
            "sintercard 2 nokey str",
            "sinterstore d s str",
            "sunion str s",
            "sunionstore d s str",
            "sdiff nokey str",
            "sdiffstore d str",
            "sscan str 0",
        ] {
            assert_eq!(w.err(line), WT, "{line}");
        }
        // A missing source answers 0 before the destination's type is checked, as in Redis.
        assert_eq!(w.int("smove nokey str a"), 0);
        assert!(!w.exists("d"));
    }

    #[test]
    fn spop_paths() {
        let mut w = Host::with_seed(0x5eed);
        // The table paths: no packed encoding.
        w.config.set_max_listpack_entries = 0;
        let all: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
        w.ok(&alloc::format!("sadd s {}", all.join(" ")));
        w.events();
        let mut popped = strings(w.ok("spop s 2"));
        assert_eq!(popped.len(), 2);
        assert_eq!(w.int("scard s"), 18);
        popped.extend(strings(w.ok("spop s 15")));
        assert_eq!(w.int("scard s"), 3);
        popped.extend(strings(w.ok("spop s 30")));
        assert!(!w.exists("s"));
        popped.sort();
        let mut expected = all.clone();
        expected.sort();
        assert_eq!(popped, expected);
        assert_eq!(w.events(), ["spop:s", "spop:s", "spop:s", "del:s"]);

        assert_eq!(w.ok("spop s"), Reply::Null);
        assert_eq!(w.ok("spop s 3"), Reply::Array(vec![]));
        assert_eq!(
            w.err("spop s -1"),
            "ERR value is out of range, must be positive"
        );
        assert_eq!(
            w.err("spop s x"),
            "ERR value is out of range, must be positive"
        );
        assert_eq!(w.err("spop s 1 2"), "ERR syntax error");

        w.ok("sadd t a b");
        assert_eq!(w.ok("spop t 0"), Reply::Array(vec![]));
        let one = strings(w.ok("spop t 1"));
        let Reply::Bulk(last) = w.ok("spop t") else {
            panic!()
        };
        assert_ne!(one[0].as_bytes(), &last[..]);
        assert!(!w.exists("t"));
        w.events();

        // Most of a table of integers goes: the two that stay form a new set, an intset.
        w.ok(&alloc::format!("sadd h a {}", all.join(" ")));
        w.ok("srem h a");
        assert_eq!(w.encoding("h"), "hashtable");
        w.proto = Proto::Resp3;
        let Reply::Set(items) = w.ok("spop h 18") else {
            panic!("a set reply")
        };
        assert_eq!(items.len(), 18);
        assert_eq!(w.int("scard h"), 2);
        assert_eq!(w.encoding("h"), "intset");
    }

    #[test]
    fn srandmember_counts() {
        let mut w = Host::with_seed(0x5eed);
        w.ok("sadd s a b c");
        assert_eq!(w.ok("srandmember s 0"), Reply::Array(vec![]));
        assert_eq!(w.ok("srandmember nokey 5"), Reply::Array(vec![]));
        assert_eq!(w.ok("srandmember nokey"), Reply::Null);
        assert_eq!(w.sorted("srandmember s 10"), words("a b c"));
        assert_eq!(w.sorted("srandmember s 3"), words("a b c"));
        let two = w.sorted("srandmember s 2");
        assert!(two.len() == 2 && two[0] != two[1]);
        let many = w.sorted("srandmember s -50");
        assert_eq!(many.len(), 50);
        assert!(many.iter().all(|m| ["a", "b", "c"].contains(&m.as_str())));
        assert_eq!(
            w.err("srandmember s -9223372036854775808"),
            COUNT_RANGE.0.to_string()
        );
        assert_eq!(w.err("srandmember s x"), err::NOT_INTEGER.0.to_string());
        assert_eq!(w.err("srandmember s 1 2"), "ERR syntax error");
        w.proto = Proto::Resp3;
        assert!(matches!(w.ok("srandmember s 2"), Reply::Array(_)));
        assert!(w
            .events()
            .iter()
            .all(|e| e.starts_with("new:") || e.starts_with("sadd:")));
    }

    /// Pearson's chi-square statistic of `samples` against a uniform distribution.
    fn chi_square(samples: &[String]) -> f64 {
        let mut counts = alloc::collections::BTreeMap::new();
        for s in samples {
            *counts.entry(s).or_insert(0.0) += 1.0;
        }
        let expected = samples.len() as f64 / counts.len() as f64;
        counts
            .values()
            .map(|c| (c - expected) * (c - expected) / expected)
            .sum()
    }

    #[test]
    fn srandmember_is_uniform() {
        // The suite's histogram test: df = 9, 40 means a 0.00001 probability.
        let mut w = Host::with_seed(0x5eed);
        w.ok("sadd h 1 5 10 50 125 MARY PATRICIA LINDA BARBARA ELIZABETH");
        w.ok("sadd i 0 1 2 3 4 5 6 7 8 9");
        for key in ["h", "i"] {
            let samples = strings(w.ok(&alloc::format!("srandmember {key} -1000")));
            assert!(chi_square(&samples) < 40.0, "{key} negative");
            for size in [8, 2] {
                let mut all = Vec::new();
                for _ in 0..1000 / size {
                    let got = strings(w.ok(&alloc::format!("srandmember {key} {size}")));
                    let mut distinct = got.clone();
                    distinct.sort();
                    distinct.dedup();
                    assert_eq!(distinct.len(), size);
                    all.extend(got);
                }
                assert!(chi_square(&all) < 40.0, "{key} {size}");
            }
        }
    }

    #[test]
    fn smove_semantics() {
        let mut w = Host::with_seed(0x5eed);
        // The table paths: no packed encoding.
        w.config.set_max_listpack_entries = 0;
        let setup = |w: &mut Host| {
            w.ok("del a b c");
            w.ok("sadd a 1 x y");
            w.ok("sadd b 2 3 4");
            w.events();
        };
        setup(&mut w);
        assert_eq!(w.int("smove a b x"), 1);
        assert_eq!(w.sorted("smembers b"), words("2 3 4 x"));
        assert_eq!(w.encoding("b"), "hashtable");
        assert_eq!(w.events(), ["srem:a", "sadd:b"]);
        setup(&mut w);
        assert_eq!(w.int("smove a b 1"), 1);
        assert_eq!(w.encoding("b"), "intset");
        assert_eq!(w.int("smove a b nope"), 0);
        assert_eq!(w.int("smove a a x"), 1);
        assert_eq!(w.int("smove a a nope"), 0);
        assert_eq!(w.int("smove a c x"), 1);
        assert_eq!(w.encoding("c"), "hashtable");
        assert_eq!(w.int("smove b d 2"), 1);
        assert_eq!(w.encoding("d"), "intset");
        w.events();
        // Already a member of the destination: only the source changes.
        w.ok("sadd e y");
        w.events();
        assert_eq!(w.int("smove a e y"), 1);
        assert!(!w.exists("a"));
        assert_eq!(w.events(), ["srem:a", "del:a"]);
        assert_eq!(w.int("scard e"), 1);
    }

    #[test]
    fn algebra() {
        let mut w = Host::with_seed(0x5eed);
        // The table paths: no packed encoding.
        w.config.set_max_listpack_entries = 0;
        w.ok("sadd s1 0 1 2 3 4 195 199 foo");
        w.ok("sadd s2 195 196 197 198 199 foo");
        w.ok("sadd s3 199 195 1000 2000");
        assert_eq!(w.sorted("sinter s1 s2"), words("195 199 foo"));
        assert_eq!(w.sorted("sinter s1 s2 s3"), words("195 199"));
        assert_eq!(w.sorted("sinter s1 s1 s1").len(), 8);
        assert_eq!(w.ok("sinter s1 nokey"), Reply::Array(vec![]));
        assert_eq!(w.int("sintercard 2 s1 s2"), 3);
        assert_eq!(w.int("sintercard 2 s1 s2 limit 2"), 2);
        assert_eq!(w.int("sintercard 2 s1 s2 LIMIT 0"), 3);
        assert_eq!(w.int("sintercard 1 nokey limit 10"), 0);
        assert_eq!(
            w.sorted("sunion s2 nokey s3"),
            words("1000 195 196 197 198 199 2000 foo")
        );
        assert_eq!(w.sorted("sdiff s1 s2 s3"), words("0 1 2 3 4"));
        assert_eq!(w.ok("sdiff s1 nokey s1"), Reply::Array(vec![]));
        assert_eq!(w.ok("sdiff nokey s1"), Reply::Array(vec![]));
        // A big first set against small ones takes the copy-and-remove path.
        w.ok("sadd t1 a b c d e f g h i j k l");
        for (i, m) in ["a", "b", "c", "d"].iter().enumerate() {
            w.ok(&alloc::format!("sadd u{i} {m}"));
        }
        assert_eq!(w.sorted("sdiff t1 u0 u1 u2 u3"), words("e f g h i j k l"));
        assert_eq!(
            w.sorted("sdiff t1 u0 nokey"),
            words("b c d e f g h i j k l")
        );

        w.events();
        assert_eq!(w.int("sinterstore d s1 s3"), 2);
        assert_eq!(w.encoding("d"), "intset");
        assert_eq!(w.int("sunionstore d s1 s3"), 10);
        assert_eq!(w.encoding("d"), "hashtable");
        assert_eq!(w.int("sdiffstore d s3 s1"), 2);
        assert_eq!(w.encoding("d"), "intset");
        assert_eq!(
            w.events(),
            ["new:d", "sinterstore:d", "sunionstore:d", "sdiffstore:d"]
        );
        w.ok("set str x");
        w.ok("expire str 100");
        assert_eq!(w.int("sunionstore str s3"), 4);
        assert_eq!(w.int("ttl str"), -1);
        for line in [
            "sinterstore d s1 nokey",
            "sunionstore d nokey",
            "sdiffstore d s1 s1",
        ] {
            w.ok("sadd d z");
            w.events();
            assert_eq!(w.int(line), 0);
            assert!(!w.exists("d"));
            assert_eq!(w.events(), ["del:d"]);
        }
        assert_eq!(w.int("sdiffstore d nokey"), 0);
        assert!(w.events().is_empty());
        w.proto = Proto::Resp3;
        assert!(matches!(w.ok("sinter s1 s2"), Reply::Set(_)));
        assert!(matches!(w.ok("sunion s1 s2"), Reply::Set(_)));
        assert_eq!(w.ok("sdiff nokey"), Reply::Set(vec![]));
        assert_eq!(w.ok("smembers nokey"), Reply::Set(vec![]));
    }

    #[test]
    fn sintercard_errors() {
        let mut w = Host::with_seed(0x5eed);
        for (line, text) in [
            ("sintercard 0 s", "ERR numkeys should be greater than 0"),
            ("sintercard a s", "ERR numkeys should be greater than 0"),
            (
                "sintercard 2 s",
                "ERR Number of keys can't be greater than number of args",
            ),
            ("sintercard 1 s s2", "ERR syntax error"),
            ("sintercard 1 s limit", "ERR syntax error"),
            ("sintercard 1 s limit -1", "ERR LIMIT can't be negative"),
            ("sintercard 1 s limit a", "ERR LIMIT can't be negative"),
        ] {
            assert_eq!(w.err(line), text, "{line}");
        }
    }

    #[test]
    fn sscan_iterates() {
        let mut w = Host::with_seed(0x5eed);
        let ints: Vec<String> = (0..100).map(|i| i.to_string()).collect();
        w.ok(&alloc::format!("sadd i {}", ints.join(" ")));
        let Reply::Array(r) = w.ok("sscan i 0 count 5") else {
            panic!()
        };
        assert_eq!(r[0], Reply::Bulk(b"0".to_vec()));
        assert_eq!(strings(r[1].clone()).len(), 100);
        let Reply::Array(r) = w.ok("sscan i 0 match *9") else {
            panic!()
        };
        assert_eq!(strings(r[1].clone()).len(), 10);

        let members: Vec<String> = (0..1000).map(|i| alloc::format!("m{i}")).collect();
        w.ok(&alloc::format!("sadd h {}", members.join(" ")));
        let (mut cursor, mut seen, mut calls) = (String::from("0"), Vec::new(), 0);
        loop {
            let Reply::Array(r) = w.ok(&alloc::format!("sscan h {cursor} count 10")) else {
                panic!()
            };
            let Reply::Bulk(c) = &r[0] else { panic!() };
            cursor = String::from_utf8_lossy(c).into_owned();
            seen.extend(strings(r[1].clone()));
            calls += 1;
            if cursor == "0" {
                break;
            }
        }
        assert!(calls > 10);
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), 1000);

        assert_eq!(
            w.ok("sscan nokey 0 count 0"),
            Reply::Array(vec![Reply::Bulk(b"0".to_vec()), Reply::Array(vec![])])
        );
        assert_eq!(w.err("sscan h x"), "ERR invalid cursor");
        assert_eq!(w.err("sscan h 0 count 0"), "ERR syntax error");
        assert_eq!(w.err("sscan h 0 count x"), err::NOT_INTEGER.0.to_string());
        assert_eq!(w.err("sscan h 0 type set"), "ERR syntax error");
        assert_eq!(w.err("sscan h 0 match"), "ERR syntax error");
    }

    #[test]
    fn command_table() {
        for c in COMMANDS {
            assert_eq!(c.info.group, "set", "{}", c.info.name);
            assert_ne!(c.info.acl & acl::SET, 0, "{}", c.info.name);
            let rw = c.info.flags & (f::WRITE | f::READONLY);
            let acl_rw = c.info.acl & (acl::WRITE | acl::READ);
            assert_eq!(rw == f::WRITE, acl_rw == acl::WRITE, "{}", c.info.name);
            let fast = c.info.flags & f::FAST != 0;
            assert_eq!(fast, c.info.acl & acl::FAST != 0, "{}", c.info.name);
            assert_eq!(!fast, c.info.acl & acl::SLOW != 0, "{}", c.info.name);
        }
        assert_eq!(COMMANDS.len(), 17);
    }
}
