//! Hash commands: HSET and its variants, field reads, counters, HRANDFIELD and HSCAN (Redis's
//! `t_hash.c`).
//!
//! Every write goes through [`Hash::set`], which applies Redis's encoding conversions, so the replies,
//! error texts, keyspace events (`hset`, `hdel`, `hincrby`, `hincrbyfloat`, and `del` when the last
//! field goes) and change counts are Redis 7.0's. A hash never stays empty: the write that removes its
//! last field deletes the key.

use super::KEY1;
use alloc::string::String;
use alloc::vec::Vec;

use super::keys::{parse_cursor, reply_scan, scan_options};
use super::{
    acl, arg_f64, arg_i64, eq_ci, err, flags as f, parse_f64, CmdError, CmdResult, Command, ExecCtx,
};
use crate::glob::glob_match;
use crate::journal::class;
use crate::resp::{Argv, ReplyWriter};
use crate::table::NO_EXPIRE;
use crate::types::hash::{FieldExpire, Hash, Limits};
use crate::types::string::{format_i64, parse_canonical_i64, IntBuf, I64_DIGITS_MAX};
use crate::types::Value;

const RW: u32 = acl::WRITE | acl::HASH;
const RO: u32 = acl::READ | acl::HASH;

const GROUP: &str = "hash";

pub static COMMANDS: &[Command] = &[
    cmd!("hset", -4, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hset, "Set the string value of a hash field", "2.0.0", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs."),
    cmd!("hsetnx", 4, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hsetnx, "Set the value of a hash field, only if the field does not exist", "2.0.0", "O(1)"),
    cmd!("hmset", -4, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hset, "Set multiple hash fields to multiple values", "2.0.0", "O(N) where N is the number of fields being set."),
    cmd!("hget", 3, f::READONLY | f::FAST, KEY1, RO | acl::FAST, hget, "Get the value of a hash field", "2.0.0", "O(1)"),
    cmd!("hmget", -3, f::READONLY | f::FAST, KEY1, RO | acl::FAST, hmget, "Get the values of all the given hash fields", "2.0.0", "O(N) where N is the number of fields being requested."),
    cmd!("hdel", -3, f::WRITE | f::FAST, KEY1, RW | acl::FAST, hdel, "Delete one or more hash fields", "2.0.0", "O(N) where N is the number of fields to be removed."),
    cmd!("hlen", 2, f::READONLY | f::FAST, KEY1, RO | acl::FAST, hlen, "Get the number of fields in a hash", "2.0.0", "O(1)"),
    cmd!("hstrlen", 3, f::READONLY | f::FAST, KEY1, RO | acl::FAST, hstrlen, "Get the length of the value of a hash field", "3.2.0", "O(1)"),
    cmd!("hexists", 3, f::READONLY | f::FAST, KEY1, RO | acl::FAST, hexists, "Determine if a hash field exists", "2.0.0", "O(1)"),
    cmd!("hkeys", 2, f::READONLY, KEY1, RO | acl::SLOW, hkeys, "Get all the fields in a hash", "2.0.0", "O(N) where N is the size of the hash."),
    cmd!("hvals", 2, f::READONLY, KEY1, RO | acl::SLOW, hvals, "Get all the values in a hash", "2.0.0", "O(N) where N is the size of the hash."),
    cmd!("hgetall", 2, f::READONLY, KEY1, RO | acl::SLOW, hgetall, "Get all the fields and values in a hash", "2.0.0", "O(N) where N is the size of the hash."),
    cmd!("hincrby", 4, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hincrby, "Increment the integer value of a hash field by the given number", "2.0.0", "O(1)"),
    cmd!("hincrbyfloat", 4, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hincrbyfloat, "Increment the float value of a hash field by the given amount", "2.6.0", "O(1)"),
    cmd!("hrandfield", -2, f::READONLY, KEY1, RO | acl::SLOW, hrandfield, "Get one or multiple random fields from a hash", "6.2.0", "O(N) where N is the number of fields returned"),
    cmd!("hexpire", -6, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hexpire, "Set expiry for hash field using relative time to expire (seconds)", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("hpexpire", -6, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hpexpire, "Set expiry for hash field using relative time to expire (milliseconds)", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("hexpireat", -6, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hexpireat, "Set expiry for hash field using an absolute Unix timestamp (seconds)", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("hpexpireat", -6, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, hpexpireat, "Set expiry for hash field using an absolute Unix timestamp (milliseconds)", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("httl", -5, f::READONLY | f::FAST, KEY1, RO | acl::FAST, httl, "Returns the TTL in seconds of a hash field.", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("hpttl", -5, f::READONLY | f::FAST, KEY1, RO | acl::FAST, hpttl, "Returns the TTL in milliseconds of a hash field.", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("hexpiretime", -5, f::READONLY | f::FAST, KEY1, RO | acl::FAST, hexpiretime, "Returns the expiration time of a hash field as a Unix timestamp, in seconds.", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("hpexpiretime", -5, f::READONLY | f::FAST, KEY1, RO | acl::FAST, hpexpiretime, "Returns the expiration time of a hash field as a Unix timestamp, in msec.", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("hpersist", -5, f::WRITE | f::FAST, KEY1, RW | acl::FAST, hpersist, "Removes the expiration time for each specified field", "7.4.0", "O(N) where N is the number of specified fields"),
    cmd!("hscan", -3, f::READONLY, KEY1, RO | acl::SLOW, hscan, "Incrementally iterate hash fields and associated values", "2.8.0", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.."),
];

const NOT_INTEGER: CmdError = CmdError::new("ERR hash value is not an integer");
const NOT_FLOAT: CmdError = CmdError::new("ERR hash value is not a float");

/// The encoding limits from the config, with a fresh seed for a table a write may create.
fn limits(ctx: &mut ExecCtx<'_>) -> Limits {
    Limits {
        entries_max: ctx.config.hash_max_listpack_entries,
        value_max: ctx.config.hash_max_listpack_value,
        table_seed: ctx.ks.random(),
    }
}

/// Reads the hash at `key` (counting a hit or a miss) and hands it to `f` with the reply writer:
/// `None` when the key is absent, WRONGTYPE for another type.
fn with_hash<R>(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    f: impl FnOnce(Option<&Hash>, &mut ReplyWriter<'_>) -> R,
) -> Result<R, CmdError> {
    expire_due_fields(ctx, key);
    let h = match ctx
        .ks
        .lookup(ctx.db, key, ctx.now_ms, !ctx.no_touch, true, false)
    {
        None => None,
        Some(Value::Hash(h)) => Some(&*h),
        Some(_) => return Err(err::WRONGTYPE),
    };
    Ok(f(h, &mut ctx.out))
}

/// The hash at `key` for writing: `None` when the key is absent, WRONGTYPE for another type.
fn write_hash<'c>(ctx: &'c mut ExecCtx<'_>, key: &[u8]) -> Result<Option<&'c mut Hash>, CmdError> {
    expire_due_fields(ctx, key);
    match ctx.lookup_write(key) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(err::WRONGTYPE),
    }
}

/// Lazy field expiry (Redis 7.4): before a command sees the hash at `key`, the fields whose TTL
/// passed are deleted (an `hexpired` event), and the key too when none is left (`del`). Costs
/// nothing in a database where no hash has field TTLs.
fn expire_due_fields(ctx: &mut ExecCtx<'_>, key: &[u8]) {
    let db = ctx.ks.db_mut(ctx.db);
    if !db.has_field_ttls() {
        return;
    }
    let (gone, deleted) = db.expire_fields_of(key, ctx.now_ms);
    if gone > 0 {
        ctx.wrote(class::HASH, "hexpired", key);
        if deleted {
            ctx.notify(class::GENERIC, "del", key);
        }
    }
}

/// Runs `f` on the hash at `key`, or on a new hash that is stored only when `f` succeeds. (Redis
/// creates the key first; every write Ember may refuse succeeds on an empty hash, so the outcome is
/// the same.)
fn upsert<R>(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Hash) -> Result<R, CmdError>,
) -> Result<R, CmdError> {
    if let Some(h) = write_hash(ctx, key)? {
        return f(h);
    }
    let mut h = Hash::default();
    let r = f(&mut h)?;
    let now_s = ctx.now_s();
    // Not `ExecCtx::store`: the command counts its changes per field, as Redis does, and creating the
    // key is not one more.
    let db = ctx.ks.db_mut(ctx.db);
    if db.set(key, Value::Hash(h), Some(NO_EXPIRE), now_s) {
        ctx.notify(class::NEW, "new", key);
    }
    Ok(r)
}

/// A bulk reply of a stored value.
#[inline]
fn bulk_value(out: &mut ReplyWriter<'_>, v: &[u8]) {
    out.bulk(v);
}

/// HSET key field value [field value ...], and the deprecated HMSET (which replies OK instead of the
/// number of new fields). O(1) per pair.
fn hset(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    // Redis tells the two apart by the second letter of the name as sent.
    let name = argv.get(0);
    let is_hset = name.get(1).is_some_and(|c| c.eq_ignore_ascii_case(&b's'));
    if !argv.len().is_multiple_of(2) {
        let name = if is_hset { "hset" } else { "hmset" };
        return Err(err::wrong_arity(name));
    }
    let key = argv.get(1);
    let pairs = argv.tail(2);
    let limits = limits(ctx);
    let created = upsert(ctx, key, |h| {
        h.convert_for(pairs.iter().map(<[u8]>::len), &limits);
        let mut created = 0;
        for i in (0..pairs.len()).step_by(2) {
            created += h.set(pairs.get(i), pairs.get(i + 1), &limits) as i64;
        }
        Ok(created)
    })?;
    ctx.wrote(class::HASH, "hset", key);
    ctx.touched((pairs.len() / 2) as u64);
    if is_hset {
        ctx.out.int(created);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// HSETNX key field value. O(1).
fn hsetnx(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, field, value) = (argv.get(1), argv.get(2), argv.get(3));
    let limits = limits(ctx);
    let set = upsert(ctx, key, |h| {
        if h.contains(field) {
            return Ok(false);
        }
        h.convert_for([field.len(), value.len()].into_iter(), &limits);
        h.set(field, value, &limits);
        Ok(true)
    })?;
    if set {
        ctx.wrote(class::HASH, "hset", key);
        ctx.touched(1);
    }
    ctx.out.int(set as i64);
    Ok(())
}

/// HGET key field. O(1).
fn hget(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let field = argv.get(2);
    with_hash(ctx, argv.get(1), |h, out| {
        match h.and_then(|h| h.get(field)) {
            Some(v) => bulk_value(out, v),
            None => out.null(),
        }
    })
}

/// HMGET key field [field ...]. O(N) in the fields asked for; an absent key reads as an empty hash.
fn hmget(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let fields = argv.tail(2);
    with_hash(ctx, argv.get(1), |h, out| {
        out.array(fields.len());
        for field in fields.iter() {
            match h.and_then(|h| h.get(field)) {
                Some(v) => bulk_value(out, v),
                None => out.null(),
            }
        }
    })
}

/// HDEL key field [field ...]. O(N) in the fields removed; removing the last field deletes the key.
fn hdel(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let Some(h) = write_hash(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let (mut deleted, mut emptied) = (0u64, false);
    for field in argv.tail(2).iter() {
        if h.remove(field) {
            deleted += 1;
            if h.is_empty() {
                emptied = true;
                break;
            }
        }
    }
    if emptied {
        ctx.ks.db_mut(ctx.db).remove(key);
    }
    if deleted > 0 {
        ctx.wrote(class::HASH, "hdel", key);
        if emptied {
            ctx.notify(class::GENERIC, "del", key);
        }
        ctx.touched(deleted);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

/// HLEN key. O(1).
fn hlen(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    with_hash(ctx, argv.get(1), |h, out| {
        out.int(h.map_or(0, Hash::len) as i64)
    })
}

/// HSTRLEN key field. O(1).
fn hstrlen(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let field = argv.get(2);
    with_hash(ctx, argv.get(1), |h, out| {
        let n = h.and_then(|h| h.get(field)).map_or(0, <[u8]>::len);
        out.int(n as i64);
    })
}

/// HEXISTS key field. O(1).
fn hexists(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let field = argv.get(2);
    with_hash(ctx, argv.get(1), |h, out| {
        out.int(h.is_some_and(|h| h.contains(field)) as i64)
    })
}

/// The shared body of HKEYS, HVALS and HGETALL (a map in RESP3, a flat array in RESP2).
fn getall_generic(ctx: &mut ExecCtx<'_>, key: &[u8], fields: bool, values: bool) -> CmdResult {
    with_hash(ctx, key, |h, out| {
        let len = h.map_or(0, Hash::len);
        if fields && values {
            out.map(len);
        } else {
            out.array(len);
        }
        for (field, v) in h.into_iter().flat_map(|h| h.iter()) {
            if fields {
                out.bulk(field);
            }
            if values {
                bulk_value(out, v);
            }
        }
    })
}

/// HKEYS key. O(N).
fn hkeys(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    getall_generic(ctx, argv.get(1), true, false)
}

/// HVALS key. O(N).
fn hvals(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    getall_generic(ctx, argv.get(1), false, true)
}

/// HGETALL key. O(N).
fn hgetall(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    getall_generic(ctx, argv.get(1), true, true)
}

/// HINCRBY key field increment. O(1).
fn hincrby(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, field) = (argv.get(1), argv.get(2));
    let incr = arg_i64(argv.get(3))?;
    let limits = limits(ctx);
    let n = upsert(ctx, key, |h| {
        let cur = match h.get(field) {
            None => 0,
            Some(v) => parse_canonical_i64(v).ok_or(NOT_INTEGER)?,
        };
        let n = cur.checked_add(incr).ok_or(err::OVERFLOW)?;
        let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
        h.update(field, format_i64(n, &mut scratch), &limits);
        Ok(n)
    })?;
    ctx.wrote(class::HASH, "hincrby", key);
    ctx.touched(1);
    ctx.out.int(n);
    Ok(())
}

/// HINCRBYFLOAT key field increment. O(1).
fn hincrbyfloat(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, field) = (argv.get(1), argv.get(2));
    let incr = arg_f64(argv.get(3))?;
    if !incr.is_finite() {
        return Err(CmdError::new("ERR value is NaN or Infinity"));
    }
    let limits = limits(ctx);
    let text = upsert(ctx, key, |h| {
        let cur = match h.get(field) {
            None => 0.0,
            Some(v) => parse_f64(v).ok_or(NOT_FLOAT)?,
        };
        let sum = cur + incr;
        if !sum.is_finite() {
            return Err(CmdError::new("ERR increment would produce NaN or Infinity"));
        }
        let text = format_human(sum);
        h.update(field, text.as_bytes(), &limits);
        Ok(text)
    })?;
    // Float arithmetic may differ where the log is replayed: log the result.
    ctx.propagate_as(&[b"HSET", key, field, text.as_bytes()]);
    ctx.wrote(class::HASH, "hincrbyfloat", key);
    ctx.touched(1);
    ctx.out.bulk(text.as_bytes());
    Ok(())
}

/// Most decimals Redis's human float format (`ld2string` with `LD_STR_HUMAN`, `%.17Lf`) prints.
const HUMAN_DECIMALS_MAX: usize = 17;

/// From this magnitude on every f64 is an integer, and its shortest form pads with zeros
/// (2^63 prints as 9223372036854776000).
const F64_INTEGERS_FROM: f64 = 9_007_199_254_740_992.0;

/// Formats an HINCRBYFLOAT result like Redis's `LD_STR_HUMAN`: plain decimal notation, at most 17
/// decimals, no trailing zeros, no negative zero. Redis prints the exact value of an 80-bit long
/// double with `%.17Lf`. Printed that way an f64 shows its binary noise (10.6 as
/// 10.59999999999999964), so a fraction prints in the shortest form that reads back as the same f64,
/// rounded to 17 decimals only when that form has more; a large integer prints exactly, as Redis's
/// does (2^63 as 9223372036854775808).
fn format_human(v: f64) -> String {
    use core::fmt::Write;
    let mut s = String::new();
    let _ = write!(s, "{v}");
    let long_fraction = s
        .split_once('.')
        .is_some_and(|(_, frac)| frac.len() > HUMAN_DECIMALS_MAX);
    if long_fraction || v.abs() >= F64_INTEGERS_FROM {
        s.clear();
        let _ = write!(s, "{v:.HUMAN_DECIMALS_MAX$}");
        let kept = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(kept);
    }
    if s == "-0" {
        s.clear();
        s.push('0');
    }
    s
}

/// A small xorshift generator for HRANDFIELD, seeded from the keyspace's generator.
fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// HRANDFIELD key [count [WITHVALUES]]. O(N) in the fields returned.
fn hrandfield(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    if argv.len() == 2 {
        let mut rand = xorshift(ctx.ks.random());
        return with_hash(ctx, key, |h, out| {
            match h.and_then(|h| h.random_pair(&mut rand)) {
                Some((field, _)) => out.bulk(field),
                None => out.null(),
            }
        });
    }
    let count = arg_i64(argv.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::new(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withvalues = match argv.len() {
        3 => false,
        4 if eq_ci(argv.get(3), "withvalues") => true,
        _ => return Err(err::SYNTAX),
    };
    // With values the reply has two elements per field, and its length must still fit.
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::new("ERR value is out of range"));
    }
    if count < 0 && count.unsigned_abs() > super::RANDOM_REPEAT_MAX {
        return Err(CmdError::new("ERR value is out of range"));
    }
    let mut rand = xorshift(ctx.ks.random());
    with_hash(ctx, key, |h, out| match h {
        None => out.array(0),
        Some(h) => reply_random(out, h, count, withvalues, &mut rand),
    })
}

/// One HRANDFIELD element: the field, with its value when asked (a pair array in RESP3).
fn reply_pair(out: &mut ReplyWriter<'_>, withvalues: bool, field: &[u8], v: &[u8]) {
    if withvalues && out.resp3() {
        out.array(2);
    }
    out.bulk(field);
    if withvalues {
        bulk_value(out, v);
    }
}

/// HRANDFIELD with a count. Replies are written as fields are picked, so a huge negative count costs
/// no memory beyond the reply itself.
fn reply_random(
    out: &mut ReplyWriter<'_>,
    h: &Hash,
    count: i64,
    withvalues: bool,
    rand: &mut impl FnMut() -> u64,
) {
    let n = count.unsigned_abs();
    if n == 0 {
        out.array(0);
        return;
    }
    // A negative count allows repeats (and a count of 1 is one pick either way): independent picks.
    let repeats = count < 0 || n == 1;
    let len = if repeats { n } else { n.min(h.len() as u64) };
    let flat = withvalues && !out.resp3();
    out.array((if flat { len * 2 } else { len }) as usize);
    if !repeats {
        h.random_distinct(n, rand, |field, v| reply_pair(out, withvalues, field, v));
        return;
    }
    for _ in 0..n {
        let Some((field, v)) = h.random_pair(rand) else {
            debug_assert!(false, "an empty hash is never stored");
            return;
        };
        reply_pair(out, withvalues, field, v);
    }
}

/// Latest field expire time the HEXPIRE family accepts, in unix ms (Redis 7.4's
/// `HFE_MAX_ABS_TIME_MSEC`: 2^48 - 1 shifted right by two, about the year 4199).
pub const FIELD_EXPIRE_MAX_MS: u64 = ((1 << 48) - 1) >> 2;

/// The fields of a `FIELDS numfields field...` block whose keyword is at argument `at`: it must end
/// the command. `count_error` is the family's text for a bad count.
fn fields_block<'a>(
    argv: Argv<'a>,
    at: usize,
    count_error: &'static str,
) -> Result<Argv<'a>, CmdError> {
    if at + 1 >= argv.len() || !eq_ci(argv.get(at), "fields") {
        return Err(CmdError::new(
            "ERR Mandatory argument FIELDS is missing or not at the right position",
        ));
    }
    let n = arg_i64(argv.get(at + 1))
        .ok()
        .filter(|n| *n >= 1)
        .ok_or(CmdError::new(count_error))?;
    let fields = argv.tail(at + 2);
    if n as u64 != fields.len() as u64 {
        return Err(CmdError::new(
            "ERR The `numfields` parameter must match the number of arguments",
        ));
    }
    Ok(fields)
}

/// The HEXPIRE family's NX/XX/GT/LT condition.
#[derive(Clone, Copy, PartialEq, Eq)]
enum FieldCond {
    Always,
    Nx,
    Xx,
    Gt,
    Lt,
}

impl FieldCond {
    fn parse(arg: &[u8]) -> Option<FieldCond> {
        [
            ("nx", FieldCond::Nx),
            ("xx", FieldCond::Xx),
            ("gt", FieldCond::Gt),
            ("lt", FieldCond::Lt),
        ]
        .into_iter()
        .find(|(name, _)| eq_ci(arg, name))
        .map(|(_, c)| c)
    }

    /// Whether a field whose current expire time is `cur` (`None`: persistent, an infinite TTL)
    /// takes the new time `at`.
    fn allows(self, cur: Option<u64>, at: u64) -> bool {
        match self {
            FieldCond::Always => true,
            FieldCond::Nx => cur.is_none(),
            FieldCond::Xx => cur.is_some(),
            FieldCond::Gt => cur.is_some_and(|c| at > c),
            FieldCond::Lt => cur.is_none_or(|c| at < c),
        }
    }
}

/// Per-field replies of the HEXPIRE family and HPERSIST/HTTL (Redis 7.4's codes).
const NO_FIELD: i64 = -2;
const NO_TTL: i64 = -1;
const CONDITION_NOT_MET: i64 = 0;
const TTL_SET: i64 = 1;
const FIELD_DELETED: i64 = 2;
const PERSISTED: i64 = 1;

/// The body of HEXPIRE, HPEXPIRE, HEXPIREAT and HPEXPIREAT: `unit_ms` is 1000 for seconds, and
/// `relative` adds the command's clock. Fields given a time already past are deleted (reply 2).
fn hexpire_generic(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    name: &str,
    unit_ms: u64,
    relative: bool,
) -> CmdResult {
    let key = argv.get(1);
    // As in Redis, the key's type is checked before the arguments.
    let exists = write_hash(ctx, key)?.is_some();
    let time = arg_i64(argv.get(2))?;
    if time < 0 {
        return Err(CmdError::new("ERR invalid expire time, must be >= 0"));
    }
    let invalid = || {
        CmdError::owned(alloc::format!(
            "ERR invalid expire time in '{name}' command"
        ))
    };
    let base = if relative { ctx.now_ms } else { 0 };
    let at = (time as u64)
        .checked_mul(unit_ms)
        .filter(|ms| *ms <= FIELD_EXPIRE_MAX_MS.saturating_sub(base))
        .ok_or_else(invalid)?
        + base;
    let cond = FieldCond::parse(argv.get(3)).unwrap_or(FieldCond::Always);
    let fields_at = if cond == FieldCond::Always { 3 } else { 4 };
    let fields = fields_block(
        argv,
        fields_at,
        "ERR Parameter `numFields` should be greater than 0",
    )?;
    ctx.out.array(fields.len());
    if !exists {
        fields.iter().for_each(|_| ctx.out.int(NO_FIELD));
        return Ok(());
    }
    let (now, seed) = (ctx.now_ms, ctx.ks.random());
    let Some(h) = write_hash(ctx, key)? else {
        return Ok(());
    };
    let old_next = h.field_ttls().next_at;
    let (mut set, mut deleted) = (0u64, 0u64);
    let mut codes = Vec::with_capacity(fields.len());
    // What changed, logged as absolute times (and deletions) that replay exactly.
    let (mut timed, mut removed): (Vec<&[u8]>, Vec<&[u8]>) = (Vec::new(), Vec::new());
    for field in fields.iter() {
        let cur = match h.field_expire(field) {
            FieldExpire::NoField => {
                codes.push(NO_FIELD);
                continue;
            }
            FieldExpire::Persistent => None,
            FieldExpire::At(t) => Some(t),
        };
        if !cond.allows(cur, at) {
            codes.push(CONDITION_NOT_MET);
        } else if at <= now {
            h.remove(field);
            deleted += 1;
            codes.push(FIELD_DELETED);
            removed.push(field);
        } else {
            h.set_field_expire(field, at, seed);
            set += 1;
            codes.push(TTL_SET);
            timed.push(field);
        }
    }
    let (new_next, emptied) = (h.field_ttls().next_at, h.is_empty());
    for code in codes {
        ctx.out.int(code);
    }
    let db = ctx.ks.db_mut(ctx.db);
    if emptied {
        db.remove(key);
    } else {
        db.index_field_ttl(key, old_next, new_next);
    }
    if set > 0 {
        ctx.wrote(class::HASH, "hexpire", key);
    }
    if deleted > 0 {
        ctx.wrote(class::HASH, "hdel", key);
    }
    if emptied {
        ctx.notify(class::GENERIC, "del", key);
    }
    ctx.touched(set + deleted);
    ctx.propagate_nothing();
    if !timed.is_empty() {
        let (at, n) = (alloc::format!("{at}"), alloc::format!("{}", timed.len()));
        let mut args: Vec<&[u8]> =
            alloc::vec![b"HPEXPIREAT", key, at.as_bytes(), b"FIELDS", n.as_bytes()];
        args.extend(timed.iter().copied());
        ctx.propagate_as(&args);
    }
    if !removed.is_empty() {
        let mut args: Vec<&[u8]> = alloc::vec![b"HDEL", key];
        args.extend(removed.iter().copied());
        ctx.propagate_as(&args);
    }
    Ok(())
}

/// HEXPIRE key seconds [NX|XX|GT|LT] FIELDS numfields field [field ...]. O(N) in the fields.
fn hexpire(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    hexpire_generic(ctx, argv, "hexpire", 1000, true)
}

/// HPEXPIRE key milliseconds [NX|XX|GT|LT] FIELDS numfields field [field ...].
fn hpexpire(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    hexpire_generic(ctx, argv, "hpexpire", 1, true)
}

/// HEXPIREAT key unix-time-seconds [NX|XX|GT|LT] FIELDS numfields field [field ...].
fn hexpireat(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    hexpire_generic(ctx, argv, "hexpireat", 1000, false)
}

/// HPEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT] FIELDS numfields field [field ...].
fn hpexpireat(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    hexpire_generic(ctx, argv, "hpexpireat", 1, false)
}

/// The count error of the HEXPIRE family's read side (HTTL, HPERSIST, ...), which Redis words
/// differently from the write side's.
const READ_COUNT_ERROR: &str = "ERR Number of fields must be a positive integer";

/// The body of HTTL, HPTTL, HEXPIRETIME and HPEXPIRETIME: per field -2 (no such field), -1 (no
/// TTL), or the time left (`relative`) or the expire time, in seconds (rounded up) or ms.
fn httl_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, unit_ms: u64, relative: bool) -> CmdResult {
    let base = if relative { ctx.now_ms } else { 0 };
    with_hash(ctx, argv.get(1), |h, out| {
        let fields = fields_block(argv, 2, READ_COUNT_ERROR)?;
        out.array(fields.len());
        for field in fields.iter() {
            match h.map_or(FieldExpire::NoField, |h| h.field_expire(field)) {
                FieldExpire::NoField => out.int(NO_FIELD),
                FieldExpire::Persistent => out.int(NO_TTL),
                FieldExpire::At(at) => {
                    let ms = at.saturating_sub(base);
                    out.int((ms.div_ceil(unit_ms)) as i64);
                }
            }
        }
        Ok(())
    })?
}

/// HTTL key FIELDS numfields field [field ...]. O(N) in the fields.
fn httl(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    httl_generic(ctx, argv, 1000, true)
}

/// HPTTL key FIELDS numfields field [field ...].
fn hpttl(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    httl_generic(ctx, argv, 1, true)
}

/// HEXPIRETIME key FIELDS numfields field [field ...].
fn hexpiretime(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    httl_generic(ctx, argv, 1000, false)
}

/// HPEXPIRETIME key FIELDS numfields field [field ...].
fn hpexpiretime(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    httl_generic(ctx, argv, 1, false)
}

/// HPERSIST key FIELDS numfields field [field ...]: per field -2 (no such field), -1 (no TTL) or 1
/// (TTL removed, an `hpersist` event). O(N) in the fields.
fn hpersist(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let exists = write_hash(ctx, key)?.is_some();
    let fields = fields_block(argv, 2, READ_COUNT_ERROR)?;
    ctx.out.array(fields.len());
    let mut persisted = 0u64;
    if let Some(h) = write_hash(ctx, key)?.filter(|_| exists) {
        let mut codes = Vec::with_capacity(fields.len());
        for field in fields.iter() {
            codes.push(match h.field_expire(field) {
                FieldExpire::NoField => NO_FIELD,
                FieldExpire::Persistent => NO_TTL,
                FieldExpire::At(_) => {
                    h.persist_field(field);
                    persisted += 1;
                    PERSISTED
                }
            });
        }
        codes.into_iter().for_each(|c| ctx.out.int(c));
    } else {
        fields.iter().for_each(|_| ctx.out.int(NO_FIELD));
    }
    if persisted > 0 {
        ctx.wrote(class::HASH, "hpersist", key);
        ctx.touched(persisted);
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]. O(1) per call, O(N) for a full iteration.
fn hscan(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let cursor = parse_cursor(argv.get(2))?;
    // Like Redis, the key is looked up before the options are parsed: an absent key replies an
    // empty scan whatever the options say.
    with_hash(ctx, argv.get(1), |h, out| {
        let Some(h) = h else {
            reply_scan(out, 0, 0);
            return Ok(());
        };
        let opts = scan_options(argv, 3, false)?;
        let mut found: Vec<(&[u8], &[u8])> = Vec::new();
        let next = h.scan(cursor, opts.count, |field, v| found.push((field, v)));
        if let Some(p) = opts.pattern {
            found.retain(|(field, _)| glob_match(p, field, false));
        }
        reply_scan(out, next, found.len() * 2);
        for (field, v) in found {
            out.bulk(field);
            bulk_value(out, v);
        }
        Ok(())
    })?
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::{Host, NOW_MS};
    use crate::journal::Journal;
    use crate::resp::Proto;
    use alloc::collections::BTreeSet;
    use alloc::string::ToString;

    /// Hash replies read as bulk lists.
    trait HashHost {
        fn bulks(&mut self, args: &[&str]) -> Vec<String>;
    }

    impl HashHost for Host {
        /// The elements of a flat array reply of bulk strings.
        fn bulks(&mut self, args: &[&str]) -> Vec<String> {
            let reply = self.text(args);
            let mut lines = reply.split("\r\n");
            let mut items = Vec::new();
            lines.next();
            while let Some(l) = lines.next() {
                if l.starts_with('$') {
                    items.push(lines.next().unwrap_or("").to_string());
                }
            }
            items
        }
    }

    fn sorted(mut v: Vec<String>) -> Vec<String> {
        v.sort();
        v
    }

    #[test]
    fn field_ttl_replies_match_redis_7_4() {
        let mut h = Host::new();
        h.line("hset k a 1 b 2 c 3");
        h.events();
        // Missing key: -2 per field, after the arguments are checked.
        assert_eq!(
            h.line("hexpire nokey 100 FIELDS 2 a b"),
            "*2\r\n:-2\r\n:-2\r\n"
        );
        assert_eq!(h.line("httl nokey FIELDS 1 a"), "*1\r\n:-2\r\n");
        assert_eq!(h.line("hpersist nokey FIELDS 1 a"), "*1\r\n:-2\r\n");
        // Set, with a missing field among them; the compact hash converts to hold TTLs.
        assert_eq!(
            h.line("hexpire k 100 FIELDS 3 a zz b"),
            "*3\r\n:1\r\n:-2\r\n:1\r\n"
        );
        assert_eq!(h.events(), ["hexpire:k"]);
        assert_eq!(
            h.line("httl k FIELDS 3 a b c"),
            "*3\r\n:100\r\n:100\r\n:-1\r\n"
        );
        assert_eq!(h.line("hpttl k FIELDS 1 a"), "*1\r\n:100000\r\n");
        let at_s = (NOW_MS + 100_000) / 1000;
        assert_eq!(
            h.line("hexpiretime k FIELDS 1 a"),
            alloc::format!("*1\r\n:{at_s}\r\n")
        );
        assert_eq!(
            h.line("hpexpiretime k FIELDS 2 a c"),
            alloc::format!("*2\r\n:{}\r\n:-1\r\n", NOW_MS + 100_000)
        );
        // Conditions: NX only without a TTL, XX only with one, GT never beats "no TTL", LT always.
        assert_eq!(h.line("hexpire k 50 NX FIELDS 2 a c"), "*2\r\n:0\r\n:1\r\n");
        assert_eq!(h.line("hexpire k 500 XX FIELDS 1 c"), "*1\r\n:1\r\n");
        assert_eq!(h.line("hpersist k FIELDS 1 c"), "*1\r\n:1\r\n");
        assert_eq!(h.events(), ["hexpire:k", "hexpire:k", "hpersist:k"]);
        assert_eq!(h.line("hexpire k 500 XX FIELDS 1 c"), "*1\r\n:0\r\n");
        assert_eq!(
            h.line("hexpire k 500 GT FIELDS 2 a c"),
            "*2\r\n:1\r\n:0\r\n"
        );
        assert_eq!(h.line("hexpire k 50 GT FIELDS 1 a"), "*1\r\n:0\r\n");
        assert_eq!(h.line("hexpire k 50 LT FIELDS 2 a c"), "*2\r\n:1\r\n:1\r\n");
        assert_eq!(
            h.line("hpersist k FIELDS 3 a b zz"),
            "*3\r\n:1\r\n:1\r\n:-2\r\n"
        );
        assert_eq!(h.line("hpersist k FIELDS 1 a"), "*1\r\n:-1\r\n");
        // Absolute forms; a time in the past deletes the field (2), and the last field the key.
        let at = NOW_MS / 1000 + 10;
        assert_eq!(
            h.line(&alloc::format!("hexpireat k {at} FIELDS 1 a")),
            "*1\r\n:1\r\n"
        );
        assert_eq!(
            h.line(&alloc::format!("hpexpireat k {} FIELDS 1 b", NOW_MS + 5)),
            "*1\r\n:1\r\n"
        );
        assert_eq!(h.line("hpttl k FIELDS 2 a b"), "*2\r\n:10000\r\n:5\r\n");
        h.events();
        assert_eq!(h.line("hexpire k 0 FIELDS 2 a zz"), "*2\r\n:2\r\n:-2\r\n");
        assert_eq!(h.events(), ["hdel:k"]);
        assert_eq!(h.line("hpexpireat k 1 FIELDS 2 b c"), "*2\r\n:2\r\n:2\r\n");
        assert_eq!(h.events(), ["hdel:k", "del:k"]);
        assert!(!h.exists("k"));
    }

    #[test]
    fn field_ttl_argument_errors() {
        let mut h = Host::new();
        h.line("hset k a 1");
        h.line("set s x");
        let wrongtype = "WRONGTYPE Operation against a key holding the wrong kind of value";
        assert_eq!(h.err("hexpire s abc FIELDS 1 a"), wrongtype);
        assert_eq!(h.err("httl s FIELDS 1 a"), wrongtype);
        assert_eq!(
            h.err("hexpire k abc FIELDS 1 a"),
            "ERR value is not an integer or out of range"
        );
        assert_eq!(
            h.err("hexpire k -1 FIELDS 1 a"),
            "ERR invalid expire time, must be >= 0"
        );
        assert_eq!(
            h.err("hexpire k 9223372036854775807 FIELDS 1 a"),
            "ERR invalid expire time in 'hexpire' command"
        );
        assert_eq!(
            h.err("hpexpireat k 70368744177664 FIELDS 1 a"),
            "ERR invalid expire time in 'hpexpireat' command"
        );
        assert_eq!(
            h.line("hpexpireat k 70368744177663 FIELDS 1 a"),
            "*1\r\n:1\r\n"
        );
        let fields_missing =
            "ERR Mandatory argument FIELDS is missing or not at the right position";
        assert_eq!(h.err("hexpire k 10 XX NX FIELDS 1 a"), fields_missing);
        assert_eq!(h.err("hexpire k 10 FIELD 1 a"), fields_missing);
        assert_eq!(h.err("httl k FIELD 1 a"), fields_missing);
        let count = "ERR Parameter `numFields` should be greater than 0";
        assert_eq!(h.err("hexpire k 10 FIELDS 0 a"), count);
        assert_eq!(h.err("hexpire k 10 FIELDS x a"), count);
        assert_eq!(h.err("hexpire k 10 FIELDS -1 a"), count);
        let read_count = "ERR Number of fields must be a positive integer";
        assert_eq!(h.err("httl k FIELDS 0 a"), read_count);
        assert_eq!(h.err("hpersist k FIELDS 9223372036854775808 a"), read_count);
        let mismatch = "ERR The `numfields` parameter must match the number of arguments";
        assert_eq!(h.err("hexpire k 10 FIELDS 2 a"), mismatch);
        assert_eq!(h.err("hexpire k 10 FIELDS 1 a b"), mismatch);
        assert_eq!(h.err("httl nokey FIELDS 3 a b"), mismatch);
        assert_eq!(h.err("hexpire k 10 NX FIELDS 1"), mismatch);
        assert_eq!(
            h.err("hexpire k 10"),
            "ERR wrong number of arguments for 'hexpire' command"
        );
    }

    #[test]
    fn fields_expire_lazily_and_actively() {
        let mut h = Host::new();
        h.line("hset k a 1 b 2 c 3");
        h.line("hpexpire k 100 FIELDS 1 a");
        h.line("hpexpire k 200 FIELDS 1 b");
        // HSET clears a field's TTL; HINCRBY keeps it.
        h.line("hset k c 4");
        h.line("hpexpire k 300 FIELDS 1 c");
        h.line("hincrby k c 1");
        assert_eq!(h.line("hpttl k FIELDS 1 c"), "*1\r\n:300\r\n");
        h.events();
        // Lazily: the first command after the TTL sees the field gone.
        h.now_ms = NOW_MS + 100;
        assert_eq!(h.line("hget k a"), "$-1\r\n");
        assert_eq!(h.events(), ["hexpired:k"]);
        assert_eq!(h.line("hlen k"), ":2\r\n");
        // Actively: the cycle takes due hashes from the index, soonest first.
        h.now_ms = NOW_MS + 200;
        let mut journal = Journal::default();
        journal.event_mask = h.journal.event_mask;
        assert_eq!(h.ks.expire_field_cycle(h.now_ms, 100, &mut journal), 1);
        assert_eq!(h.line("hkeys k"), "*1\r\n$1\r\nc\r\n");
        h.line("hset k d 1");
        h.line("hset k c 9");
        assert_eq!(h.line("httl k FIELDS 1 c"), "*1\r\n:-1\r\n");
        // A renamed hash keeps its field TTLs and stays indexed under its new name.
        h.line("hpexpire k 50 FIELDS 2 c d");
        h.line("rename k k2");
        h.now_ms = NOW_MS + 250;
        assert_eq!(h.ks.expire_field_cycle(h.now_ms, 100, &mut journal), 2);
        let mut events = Vec::new();
        journal.drain(|_, r, key| {
            if let crate::journal::Record::Event(_, name) = r {
                events.push(alloc::format!("{name}:{}", String::from_utf8_lossy(key)));
            }
        });
        assert_eq!(events, ["hexpired:k", "hexpired:k2", "del:k2"]);
        assert!(!h.exists("k2"));
        assert!(!h.ks.db(0).has_field_ttls());
    }

    #[test]
    fn field_ttl_index_stays_bounded() {
        // Deleting or overwriting a hash with field TTLs drops its index entry, so churn does
        // not grow the index.
        let mut h = Host::new();
        for i in 0..100 {
            h.line(&alloc::format!("hset k{i} a 1"));
            h.line(&alloc::format!("hexpire k{i} 1000000 FIELDS 1 a"));
            if i % 2 == 0 {
                h.line(&alloc::format!("del k{i}"));
            } else {
                h.line(&alloc::format!("set k{i} x"));
            }
        }
        assert!(!h.ks.db(0).has_field_ttls());
        // Also once the TTLs are gone again (persisted, overwritten by HSET).
        for cmd in ["hpersist p FIELDS 1 a", "hset p a 2"] {
            h.line("hset p a 1");
            h.line("hexpire p 1000000 FIELDS 1 a");
            h.line(cmd);
            h.line("del p");
            assert!(!h.ks.db(0).has_field_ttls(), "{cmd}");
        }
        h.line("hset k a 1");
        h.line("hexpire k 100 FIELDS 1 a");
        h.line("hpersist k FIELDS 1 a");
        h.line("hexpire k 200 FIELDS 1 a");
        h.line("flushall");
        assert!(!h.ks.db(0).has_field_ttls());
    }

    #[test]
    fn set_get_and_events() {
        let mut h = Host::new();
        assert_eq!(h.text(&["hset", "k", "a", "1", "b", "2"]), ":2\r\n");
        assert_eq!(h.events(), ["new:k", "hset:k"]);
        assert_eq!(h.text(&["HSET", "k", "a", "3", "c", "x"]), ":1\r\n");
        assert_eq!(h.text(&["hmset", "k", "a", "4"]), "+OK\r\n");
        assert_eq!(h.events(), ["hset:k", "hset:k"]);
        assert_eq!(
            h.text(&["hset", "k", "a", "1", "b"]),
            "-ERR wrong number of arguments for 'hset' command"
        );
        assert_eq!(
            h.text(&["HMSET", "k", "a", "1", "b"]),
            "-ERR wrong number of arguments for 'hmset' command"
        );
        assert_eq!(h.text(&["hget", "k", "a"]), "$1\r\n4\r\n");
        assert_eq!(h.text(&["hget", "k", "zz"]), "$-1\r\n");
        assert_eq!(h.text(&["hget", "nokey", "a"]), "$-1\r\n");
        assert_eq!(
            h.text(&["hmget", "k", "a", "zz", "c"]),
            "*3\r\n$1\r\n4\r\n$-1\r\n$1\r\nx\r\n"
        );
        assert_eq!(h.text(&["hmget", "nokey", "a"]), "*1\r\n$-1\r\n");
        assert_eq!(h.text(&["hlen", "k"]), ":3\r\n");
        assert_eq!(h.text(&["hlen", "nokey"]), ":0\r\n");
        assert_eq!(h.text(&["hstrlen", "k", "c"]), ":1\r\n");
        assert_eq!(h.text(&["hstrlen", "k", "zz"]), ":0\r\n");
        assert_eq!(h.text(&["hexists", "k", "c"]), ":1\r\n");
        assert_eq!(h.text(&["hexists", "k", "zz"]), ":0\r\n");
        assert_eq!(h.text(&["hsetnx", "k", "c", "y"]), ":0\r\n");
        assert_eq!(h.events(), Vec::<String>::new());
        assert_eq!(h.text(&["hsetnx", "k", "d", "y"]), ":1\r\n");
        assert_eq!(h.text(&["hsetnx", "k2", "d", "y"]), ":1\r\n");
        assert_eq!(h.events(), ["hset:k", "new:k2", "hset:k2"]);
        assert_eq!(
            h.text(&["hkeys", "k"]),
            "*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n"
        );
        assert_eq!(
            h.text(&["hvals", "k"]),
            "*4\r\n$1\r\n4\r\n$1\r\n2\r\n$1\r\nx\r\n$1\r\ny\r\n"
        );
        assert_eq!(h.text(&["hgetall", "k2"]), "*2\r\n$1\r\nd\r\n$1\r\ny\r\n");
        assert_eq!(h.text(&["hgetall", "nokey"]), "*0\r\n");
        h.proto = Proto::Resp3;
        assert_eq!(h.text(&["hgetall", "k2"]), "%1\r\n$1\r\nd\r\n$1\r\ny\r\n");
        assert_eq!(h.text(&["hgetall", "nokey"]), "%0\r\n");
        assert_eq!(h.text(&["hget", "nokey", "a"]), "_\r\n");
    }

    #[test]
    fn wrong_type() {
        let mut h = Host::new();
        h.ks.db_mut(0).set(
            b"s",
            Value::Str(crate::types::string::CompactStr::from_value(b"v")),
            None,
            0,
        );
        let wrongtype = "-WRONGTYPE Operation against a key holding the wrong kind of value";
        for args in [
            &["hset", "s", "a", "1"][..],
            &["hsetnx", "s", "a", "1"],
            &["hget", "s", "a"],
            &["hmget", "s", "a"],
            &["hdel", "s", "a"],
            &["hlen", "s"],
            &["hstrlen", "s", "a"],
            &["hexists", "s", "a"],
            &["hkeys", "s"],
            &["hvals", "s"],
            &["hgetall", "s"],
            &["hincrby", "s", "a", "1"],
            &["hincrbyfloat", "s", "a", "1"],
            &["hrandfield", "s"],
            &["hrandfield", "s", "3"],
            &["hscan", "s", "0"],
        ] {
            assert_eq!(h.text(args), wrongtype, "{args:?}");
        }
        assert_eq!(h.events(), Vec::<String>::new());
    }

    #[test]
    fn hdel_deletes_the_emptied_key() {
        let mut h = Host::new();
        h.text(&["hset", "k", "a", "1", "b", "2", "c", "3"]);
        h.events();
        assert_eq!(h.text(&["hdel", "k", "x", "y"]), ":0\r\n");
        assert_eq!(h.events(), Vec::<String>::new());
        assert_eq!(h.text(&["hdel", "k", "a", "c", "f"]), ":2\r\n");
        assert_eq!(h.events(), ["hdel:k"]);
        assert_eq!(h.text(&["hdel", "k", "b", "d", "e"]), ":1\r\n");
        assert_eq!(h.events(), ["hdel:k", "del:k"]);
        assert_eq!(h.encoding("k"), "none");
        assert_eq!(h.text(&["hdel", "k", "b"]), ":0\r\n");
    }

    #[test]
    fn encoding_conversions() {
        let mut h = Host::new();
        h.config.hash_max_listpack_entries = 4;
        h.config.hash_max_listpack_value = 8;
        h.text(&["hset", "k", "a", "1", "b", "2", "c", "3", "d", "4"]);
        assert_eq!(h.encoding("k"), "listpack");
        h.text(&["hset", "k", "e", "5"]);
        assert_eq!(h.encoding("k"), "hashtable");
        assert_eq!(h.text(&["hlen", "k"]), ":5\r\n");
        assert_eq!(h.text(&["hget", "k", "c"]), "$1\r\n3\r\n");
        // A long value converts even when it only updates a field.
        h.text(&["hset", "v", "a", "1"]);
        h.text(&["hset", "v", "a", "123456789"]);
        assert_eq!(h.encoding("v"), "hashtable");
        // HSET checks every argument before writing, HINCRBYFLOAT its field and result.
        h.text(&["hset", "w", "123456789", "1"]);
        assert_eq!(h.encoding("w"), "hashtable");
        h.text(&["hincrbyfloat", "x", "tmp", "0.000005"]);
        assert_eq!(h.encoding("x"), "listpack");
        h.text(&["hincrbyfloat", "y", "tmp", "0.0000005"]);
        assert_eq!(h.encoding("y"), "hashtable");
        h.text(&["hincrbyfloat", "z", "abcdefgh", "1"]);
        assert_eq!(h.encoding("z"), "listpack");
        h.text(&["hincrbyfloat", "z2", "abcdefghi", "1"]);
        assert_eq!(h.encoding("z2"), "hashtable");
    }

    #[test]
    fn hincrby() {
        let mut h = Host::new();
        assert_eq!(h.text(&["hincrby", "k", "n", "2"]), ":2\r\n");
        assert_eq!(h.events(), ["new:k", "hincrby:k"]);
        assert_eq!(h.text(&["hincrby", "k", "n", "-5"]), ":-3\r\n");
        h.text(&["hset", "k", "s", " 11"]);
        assert_eq!(
            h.text(&["hincrby", "k", "s", "1"]),
            "-ERR hash value is not an integer"
        );
        assert_eq!(
            h.text(&["hincrby", "k", "n", "x"]),
            "-ERR value is not an integer or out of range"
        );
        h.text(&["hset", "k", "big", "-9223372036854775484"]);
        assert_eq!(
            h.text(&["hincrby", "k", "big", "-1"]),
            ":-9223372036854775485\r\n"
        );
        assert_eq!(
            h.text(&["hincrby", "k", "big", "-10000"]),
            "-ERR increment or decrement would overflow"
        );
        h.events();
        assert_eq!(
            h.text(&["hincrby", "k2", "n", "x"]),
            "-ERR value is not an integer or out of range"
        );
        assert_eq!(h.encoding("k2"), "none");
        assert_eq!(h.events(), Vec::<String>::new());
    }

    #[test]
    fn hincrbyfloat() {
        let mut h = Host::new();
        assert_eq!(
            h.text(&["hincrbyfloat", "k", "f", "1.23"]),
            "$4\r\n1.23\r\n"
        );
        assert_eq!(h.events(), ["new:k", "hincrbyfloat:k"]);
        assert_eq!(h.text(&["hincrbyfloat", "k", "f", "0.77"]), "$1\r\n2\r\n");
        assert_eq!(h.text(&["hincrbyfloat", "k", "f", "-0.1"]), "$3\r\n1.9\r\n");
        h.text(&["hset", "k", "i", "17179869184"]);
        assert_eq!(
            h.text(&["hincrbyfloat", "k", "i", "1"]),
            "$11\r\n17179869185\r\n"
        );
        h.text(&["hset", "k", "s", "11 "]);
        assert_eq!(
            h.text(&["hincrbyfloat", "k", "s", "1"]),
            "-ERR hash value is not a float"
        );
        h.text(&["hset", "k", "z", "1\u{0}2"]);
        assert_eq!(
            h.text(&["hincrbyfloat", "k", "z", "1"]),
            "-ERR hash value is not a float"
        );
        assert_eq!(
            h.text(&["hincrbyfloat", "k", "f", "abc"]),
            "-ERR value is not a valid float"
        );
        assert_eq!(
            h.text(&["hincrbyfloat", "hfoo", "f", "+inf"]),
            "-ERR value is NaN or Infinity"
        );
        assert_eq!(h.encoding("hfoo"), "none");
        h.text(&["hset", "k", "max", "1.7976931348623157e308"]);
        assert_eq!(
            h.text(&["hincrbyfloat", "k", "max", "1.7976931348623157e308"]),
            "-ERR increment would produce NaN or Infinity"
        );
        assert_eq!(format_human(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(format_human(1e-20), "0");
        assert_eq!(format_human(-1e-20), "0");
        assert_eq!(format_human(0.012345678901234568), "0.01234567890123457");
        assert_eq!(format_human(1.0 / 30000.0), "0.00003333333333333");
        assert_eq!(format_human(1e21), "1000000000000000000000");
        assert_eq!(format_human(9223372036854775808.0), "9223372036854775808");
        assert_eq!(format_human(-1e300).len(), 302);
        assert_eq!(format_human(-2.5), "-2.5");
    }

    #[test]
    fn hrandfield_counts_and_errors() {
        let mut h = Host::new();
        assert_eq!(h.text(&["hrandfield", "nokey"]), "$-1\r\n");
        assert_eq!(h.text(&["hrandfield", "nokey", "100"]), "*0\r\n");
        h.text(&["hset", "k", "a", "1", "b", "2", "c", "3"]);
        assert_eq!(h.text(&["hrandfield", "k", "0"]), "*0\r\n");
        let one = h.text(&["hrandfield", "k"]);
        assert!(["$1\r\na\r\n", "$1\r\nb\r\n", "$1\r\nc\r\n"].contains(&one.as_str()));
        assert_eq!(
            h.text(&["hrandfield", "k", "-9223372036854770000", "withvalues"]),
            "-ERR value is out of range"
        );
        assert_eq!(
            h.text(&["hrandfield", "k", "-9223372036854775808"]),
            "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"
        );
        assert_eq!(h.text(&["hrandfield", "k", "1", "x"]), "-ERR syntax error");
        assert_eq!(
            h.text(&["hrandfield", "k", "1", "withvalues", "x"]),
            "-ERR syntax error"
        );
        assert_eq!(h.bulks(&["hrandfield", "k", "-20"]).len(), 20);
        assert_eq!(h.bulks(&["hrandfield", "k", "-20", "withvalues"]).len(), 40);
        assert_eq!(sorted(h.bulks(&["hrandfield", "k", "10"])), ["a", "b", "c"]);
        assert_eq!(
            sorted(h.bulks(&["hrandfield", "k", "3", "withvalues"])),
            ["1", "2", "3", "a", "b", "c"]
        );
        h.proto = Proto::Resp3;
        let nested = h.text(&["hrandfield", "k", "2", "withvalues"]);
        assert!(nested.starts_with("*2\r\n*2\r\n$1\r\n"), "{nested}");
        let nested = h.text(&["hrandfield", "k", "-5", "withvalues"]);
        assert!(nested.starts_with("*5\r\n*2\r\n$1\r\n"), "{nested}");
        assert_eq!(nested.matches("*2\r\n").count(), 5);
    }

    /// Every path of HRANDFIELD returns distinct existing fields in the right number, and eventually
    /// all of them, for both encodings.
    #[test]
    fn hrandfield_paths_cover_the_hash() {
        for (entries_max, size) in [(128, 10), (4, 10), (128, 100), (16, 100)] {
            let mut h = Host::new();
            h.config.hash_max_listpack_entries = entries_max;
            let mut all = Vec::new();
            for i in 0..size {
                let f = alloc::format!("f{i}");
                h.text(&["hset", "k", &f, "v"]);
                all.push(f);
            }
            for count in [size + 5, size, size - 2, size / 2, size / 4, 2] {
                let mut seen = BTreeSet::new();
                // Enough rounds that missing a field would take a broken sampler (about 40 picks
                // per field).
                for _ in 0..(40 * size / count.min(size)).max(50) {
                    let got = h.bulks(&["hrandfield", "k", &count.to_string()]);
                    assert_eq!(got.len(), count.min(size));
                    let distinct: BTreeSet<_> = got.iter().cloned().collect();
                    assert_eq!(distinct.len(), got.len(), "repeats: {got:?}");
                    seen.extend(got);
                }
                assert_eq!(seen.len(), size, "count {count} of {size}");
            }
            let got = h.bulks(&["hrandfield", "k", "-1000"]);
            assert_eq!(got.len(), 1000);
            let mut hits = BTreeSet::new();
            for f in got {
                assert!(all.contains(&f));
                hits.insert(f);
            }
            if size <= 10 {
                assert_eq!(hits.len(), size);
            }
        }
    }

    #[test]
    fn hscan_both_encodings() {
        let mut h = Host::new();
        assert_eq!(
            h.text(&["hscan", "nokey", "0", "bogus"]),
            "*2\r\n$1\r\n0\r\n*0\r\n"
        );
        assert_eq!(h.text(&["hscan", "nokey", "x"]), "-ERR invalid cursor");
        h.text(&["hset", "small", "a", "1", "b", "2", "ab", "3"]);
        assert_eq!(
            h.text(&["hscan", "small", "0", "match", "a*"]),
            "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n"
        );
        assert_eq!(
            h.text(&["hscan", "small", "0", "count", "0"]),
            "-ERR syntax error"
        );
        assert_eq!(
            h.text(&["hscan", "small", "0", "type", "hash"]),
            "-ERR syntax error"
        );
        assert_eq!(
            h.text(&["hscan", "small", "0", "count", "x"]),
            "-ERR value is not an integer or out of range"
        );
        for i in 0..1000 {
            h.text(&["hset", "big", &alloc::format!("f{i}"), &i.to_string()]);
        }
        assert_eq!(h.encoding("big"), "hashtable");
        let mut cursor = "0".to_string();
        let mut seen = BTreeSet::new();
        loop {
            let items = h.bulks(&["hscan", "big", &cursor, "count", "20", "match", "f1*"]);
            cursor = items[0].clone();
            for pair in items[1..].chunks(2) {
                assert_eq!(pair[0], alloc::format!("f{}", pair[1]));
                seen.insert(pair[0].clone());
            }
            if cursor == "0" {
                break;
            }
        }
        assert_eq!(seen.len(), 111);
    }

    #[test]
    fn table_metadata() {
        for c in COMMANDS {
            assert_eq!(
                (c.info.first_key, c.info.last_key, c.info.key_step),
                (1, 1, 1)
            );
            assert_ne!(c.info.acl & acl::HASH, 0, "{}", c.info.name);
            let write = c.info.flags & f::WRITE != 0;
            assert_eq!(write, c.info.acl & acl::WRITE != 0, "{}", c.info.name);
            assert_eq!(
                c.info.flags & f::FAST != 0,
                c.info.acl & acl::FAST != 0,
                "{}",
                c.info.name
            );
        }
        assert_eq!(COMMANDS.len(), 25);
    }
}
