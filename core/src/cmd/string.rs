//! String commands: SET and its variants, GET and its variants, counters, ranges and LCS.

use alloc::vec::Vec;

use super::{acl, arg_f64, arg_i64, eq_ci, err, flags as f, CmdError, CmdResult, Command, ExecCtx};
use crate::journal::class;
use crate::resp::{format_double, Argv};
use crate::table::NO_EXPIRE;
use crate::types::string::{CompactStr, IntBuf, I64_DIGITS_MAX};
use crate::types::Value;

const RW: u32 = acl::WRITE | acl::STRING;
const RO: u32 = acl::READ | acl::STRING;

const GROUP: &str = "string";

pub static COMMANDS: &[Command] = &[
    cmd!(
        "set",
        -3,
        f::WRITE | f::DENYOOM,
        (1, 1, 1),
        RW | acl::SLOW,
        set,
        "Set the string value of a key",
        "1.0.0"
    ),
    cmd!(
        "get",
        2,
        f::READONLY | f::FAST,
        (1, 1, 1),
        RO | acl::FAST,
        get,
        "Get the value of a key",
        "1.0.0"
    ),
    cmd!(
        "getex",
        -2,
        f::WRITE | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        getex,
        "Get the value of a key and optionally set its expiration",
        "6.2.0"
    ),
    cmd!(
        "getdel",
        2,
        f::WRITE | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        getdel,
        "Get the value of a key and delete the key",
        "6.2.0"
    ),
    cmd!(
        "getset",
        3,
        f::WRITE | f::DENYOOM | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        getset,
        "Set the string value of a key and return its old value",
        "1.0.0"
    ),
    cmd!(
        "setnx",
        3,
        f::WRITE | f::DENYOOM | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        setnx,
        "Set the value of a key, only if the key does not exist",
        "1.0.0"
    ),
    cmd!(
        "setex",
        4,
        f::WRITE | f::DENYOOM,
        (1, 1, 1),
        RW | acl::SLOW,
        setex,
        "Set the value and expiration of a key",
        "2.0.0"
    ),
    cmd!(
        "psetex",
        4,
        f::WRITE | f::DENYOOM,
        (1, 1, 1),
        RW | acl::SLOW,
        psetex,
        "Set the value and expiration in milliseconds of a key",
        "2.6.0"
    ),
    cmd!(
        "mget",
        -2,
        f::READONLY | f::FAST,
        (1, -1, 1),
        RO | acl::FAST,
        mget,
        "Get the values of all the given keys",
        "1.0.0"
    ),
    cmd!(
        "mset",
        -3,
        f::WRITE | f::DENYOOM,
        (1, -1, 2),
        RW | acl::SLOW,
        mset,
        "Set multiple keys to multiple values",
        "1.0.1"
    ),
    cmd!(
        "msetnx",
        -3,
        f::WRITE | f::DENYOOM,
        (1, -1, 2),
        RW | acl::SLOW,
        msetnx,
        "Set multiple keys to multiple values, only if none of the keys exist",
        "1.0.1"
    ),
    cmd!(
        "append",
        3,
        f::WRITE | f::DENYOOM | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        append,
        "Append a value to a key",
        "2.0.0"
    ),
    cmd!(
        "strlen",
        2,
        f::READONLY | f::FAST,
        (1, 1, 1),
        RO | acl::FAST,
        strlen,
        "Get the length of the value stored in a key",
        "2.2.0"
    ),
    cmd!(
        "getrange",
        4,
        f::READONLY,
        (1, 1, 1),
        RO | acl::SLOW,
        getrange,
        "Get a substring of the string stored at a key",
        "2.4.0"
    ),
    cmd!(
        "substr",
        4,
        f::READONLY,
        (1, 1, 1),
        RO | acl::SLOW,
        getrange,
        "Get a substring of the string stored at a key",
        "1.0.0"
    ),
    cmd!(
        "setrange",
        4,
        f::WRITE | f::DENYOOM,
        (1, 1, 1),
        RW | acl::SLOW,
        setrange,
        "Overwrite part of a string at key starting at the specified offset",
        "2.2.0"
    ),
    cmd!(
        "incr",
        2,
        f::WRITE | f::DENYOOM | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        incr,
        "Increment the integer value of a key by one",
        "1.0.0"
    ),
    cmd!(
        "decr",
        2,
        f::WRITE | f::DENYOOM | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        decr,
        "Decrement the integer value of a key by one",
        "1.0.0"
    ),
    cmd!(
        "incrby",
        3,
        f::WRITE | f::DENYOOM | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        incrby,
        "Increment the integer value of a key by the given amount",
        "1.0.0"
    ),
    cmd!(
        "decrby",
        3,
        f::WRITE | f::DENYOOM | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        decrby,
        "Decrement the integer value of a key by the given number",
        "1.0.0"
    ),
    cmd!(
        "incrbyfloat",
        3,
        f::WRITE | f::DENYOOM | f::FAST,
        (1, 1, 1),
        RW | acl::FAST,
        incrbyfloat,
        "Increment the float value of a key by the given amount",
        "2.6.0"
    ),
    cmd!(
        "lcs",
        -3,
        f::READONLY,
        (1, 2, 1),
        RO | acl::SLOW,
        lcs,
        "Find longest common substring",
        "7.0.0"
    ),
];

/// How a command sets the expire time of the key it writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ExpireArg {
    /// No option: SET clears the TTL, GETEX leaves it.
    Unset,
    /// Absolute unix time in milliseconds.
    At(u64),
    KeepTtl,
    Persist,
}

/// Turns a relative or absolute expire argument into an absolute time, with Redis's validation:
/// `ERR invalid expire time in '<cmd>' command` for values that are not positive or overflow.
pub fn expire_at(
    arg: &[u8],
    unit_ms: i64,
    relative: bool,
    now_ms: u64,
    cmd: &str,
) -> Result<u64, CmdError> {
    let v = arg_i64(arg)?;
    let invalid = || CmdError::owned(alloc::format!("ERR invalid expire time in '{cmd}' command"));
    if v <= 0 {
        return Err(invalid());
    }
    let mut ms = v.checked_mul(unit_ms).ok_or_else(invalid)?;
    if relative {
        ms = ms.checked_add(now_ms as i64).ok_or_else(invalid)?;
    }
    Ok(ms as u64)
}

/// An expire option as written, validated only when [`ExpireSpec::resolve`] runs (GETEX checks the
/// key before the time, SET the time first, as Redis does).
#[derive(Clone, Copy)]
enum ExpireSpec<'a> {
    Unset,
    KeepTtl,
    Persist,
    Time {
        arg: &'a [u8],
        unit_ms: i64,
        relative: bool,
        kind: u8,
    },
}

impl ExpireSpec<'_> {
    fn resolve(self, now_ms: u64, cmd: &str) -> Result<ExpireArg, CmdError> {
        Ok(match self {
            ExpireSpec::Unset => ExpireArg::Unset,
            ExpireSpec::KeepTtl => ExpireArg::KeepTtl,
            ExpireSpec::Persist => ExpireArg::Persist,
            ExpireSpec::Time {
                arg,
                unit_ms,
                relative,
                ..
            } => ExpireArg::At(expire_at(arg, unit_ms, relative, now_ms, cmd)?),
        })
    }
}

/// The expire options: name, milliseconds per unit, relative to now.
const TIME_OPTIONS: [(&str, i64, bool); 4] = [
    ("ex", 1000, true),
    ("px", 1, true),
    ("exat", 1000, false),
    ("pxat", 1, false),
];

struct SetOptions<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    expire: ExpireSpec<'a>,
}

/// Parses SET's (or GETEX's) options with Redis's rules: NX and XX exclude each other, one kind of
/// expire option at most (repeating the same one is allowed; the last value wins).
fn parse_set_options<'a>(
    argv: Argv<'a>,
    from: usize,
    is_getex: bool,
) -> Result<SetOptions<'a>, CmdError> {
    let mut o = SetOptions {
        nx: false,
        xx: false,
        get: false,
        expire: ExpireSpec::Unset,
    };
    let mut i = from;
    while i < argv.len() {
        let a = argv.get(i);
        let next = (i + 1 < argv.len()).then(|| argv.get(i + 1));
        let time_kind = TIME_OPTIONS.iter().position(|(name, _, _)| eq_ci(a, name));
        let compatible = |kind: Option<u8>| match (o.expire, kind) {
            (ExpireSpec::Unset, _) => true,
            (ExpireSpec::Time { kind: k, .. }, Some(new)) => k == new,
            _ => false,
        };
        if !is_getex && eq_ci(a, "nx") && !o.xx {
            o.nx = true;
        } else if !is_getex && eq_ci(a, "xx") && !o.nx {
            o.xx = true;
        } else if !is_getex && eq_ci(a, "get") {
            o.get = true;
        } else if !is_getex
            && eq_ci(a, "keepttl")
            && matches!(o.expire, ExpireSpec::Unset | ExpireSpec::KeepTtl)
        {
            o.expire = ExpireSpec::KeepTtl;
        } else if is_getex
            && eq_ci(a, "persist")
            && matches!(o.expire, ExpireSpec::Unset | ExpireSpec::Persist)
        {
            o.expire = ExpireSpec::Persist;
        } else if let (Some(k), Some(v)) = (time_kind, next) {
            if !compatible(Some(k as u8)) {
                return Err(err::SYNTAX);
            }
            let (_, unit_ms, relative) = TIME_OPTIONS[k];
            o.expire = ExpireSpec::Time {
                arg: v,
                unit_ms,
                relative,
                kind: k as u8,
            };
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    Ok(o)
}

/// SET key value [NX | XX] [GET] [EX seconds | PX ms | EXAT unix-s | PXAT unix-ms | KEEPTTL]. O(1).
fn set(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let o = parse_set_options(argv, 3, false)?;
    let expire = match o.expire.resolve(ctx.now_ms, "set")? {
        ExpireArg::At(at) => Some(at),
        ExpireArg::KeepTtl => None,
        _ => Some(NO_EXPIRE),
    };
    set_generic(ctx, argv.get(1), argv.get(2), o.nx, o.xx, o.get, expire)
}

/// The shared body of SET, SETNX, SETEX, PSETEX and GETSET.
fn set_generic(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    value: &[u8],
    nx: bool,
    xx: bool,
    get: bool,
    expire: Option<u64>,
) -> CmdResult {
    let found = if get {
        ctx.with_str(key, |old, out| match old {
            Some(old) => {
                out.bulk(old);
                true
            }
            None => {
                out.null();
                false
            }
        })?
    } else {
        ctx.exists_for_write(key)
    };
    if (nx && found) || (xx && !found) {
        if !get {
            ctx.out.null();
        }
        return Ok(());
    }
    ctx.store_string(key, value, expire);
    ctx.wrote(class::STRING, "set", key);
    if let Some(at) = expire.filter(|at| *at != NO_EXPIRE) {
        ctx.notify(class::GENERIC, "expire", key);
        // Replayed later, a relative TTL would end later: log the absolute time.
        let mut buf = IntBuf::default();
        let at = crate::types::string::format_u64(at, &mut buf);
        ctx.propagate_as(&[b"SET", key, value, b"PXAT", at]);
    }
    if !get {
        ctx.out.ok();
    }
    Ok(())
}

/// Replies with the bytes of a string value (a compressed one expands straight into the reply,
/// and stays compressed); WRONGTYPE for another type.
fn reply_value(out: &mut crate::resp::ReplyWriter<'_>, v: &Value) -> CmdResult {
    match v {
        Value::Str(s) => {
            let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
            out.bulk(s.as_bytes(&mut scratch));
        }
        Value::Lz(z) => out.bulk_with(z.raw_len(), |b| z.expand_append(b)),
        _ => return Err(err::WRONGTYPE),
    }
    Ok(())
}

/// Replies with a string value or null; returns whether the key existed.
fn reply_str_or_null(ctx: &mut ExecCtx<'_>, key: &[u8]) -> Result<bool, CmdError> {
    match ctx.lookup_with_out(key, true) {
        (None, out) => {
            out.null();
            Ok(false)
        }
        (Some(v), out) => reply_value(out, v).map(|()| true),
    }
}

/// GET key. O(1).
fn get(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    reply_str_or_null(ctx, argv.get(1)).map(|_| ())
}

/// GETEX key [EX seconds | PX ms | EXAT unix-s | PXAT unix-ms | PERSIST]. O(1).
fn getex(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let o = parse_set_options(argv, 2, true)?;
    let key = argv.get(1);
    let now = ctx.now_ms;
    // Redis looks the key up (null, WRONGTYPE) before it validates the expire time.
    let exists = match ctx.lookup_check(key) {
        None => false,
        Some(Value::Str(_) | Value::Lz(_)) => true,
        Some(_) => return Err(err::WRONGTYPE),
    };
    if !exists {
        ctx.lookup_read(key);
        ctx.out.null();
        return Ok(());
    }
    let expire = o.expire.resolve(now, "getex")?;
    reply_str_or_null(ctx, key)?;
    match expire {
        ExpireArg::At(at) if ctx.already_expired(at) => {
            ctx.ks.db_mut(ctx.db).remove(key);
            ctx.touched(1);
            ctx.wrote(class::GENERIC, "del", key);
            ctx.propagate_as(&[b"DEL", key]);
        }
        ExpireArg::At(at) => {
            ctx.ks.db_mut(ctx.db).set_expire(key, at);
            ctx.touched(1);
            ctx.wrote(class::GENERIC, "expire", key);
            let mut buf = IntBuf::default();
            let at = crate::types::string::format_u64(at, &mut buf);
            ctx.propagate_as(&[b"PEXPIREAT", key, at]);
        }
        ExpireArg::Persist => {
            let db = ctx.ks.db_mut(ctx.db);
            if db.peek(key, now).is_some_and(|e| e.has_expire()) {
                db.set_expire(key, NO_EXPIRE);
                ctx.touched(1);
                ctx.wrote(class::GENERIC, "persist", key);
                ctx.propagate_as(&[b"PERSIST", key]);
            }
        }
        _ => {}
    }
    Ok(())
}

/// GETDEL key. O(1).
fn getdel(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    if !reply_str_or_null(ctx, key)? {
        return Ok(());
    }
    ctx.ks.db_mut(ctx.db).remove(key);
    ctx.touched(1);
    ctx.wrote(class::GENERIC, "del", key);
    ctx.propagate_as(&[b"DEL", key]);
    Ok(())
}

/// GETSET key value. O(1).
fn getset(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    set_generic(
        ctx,
        argv.get(1),
        argv.get(2),
        false,
        false,
        true,
        Some(NO_EXPIRE),
    )
}

/// SETNX key value. O(1).
fn setnx(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    if ctx.exists_for_write(key) {
        ctx.out.int(0);
    } else {
        ctx.store_string(key, argv.get(2), Some(NO_EXPIRE));
        ctx.wrote(class::STRING, "set", key);
        ctx.out.int(1);
    }
    Ok(())
}

/// SETEX key seconds value. O(1).
fn setex(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let at = expire_at(argv.get(2), 1000, true, ctx.now_ms, "setex")?;
    set_generic(ctx, argv.get(1), argv.get(3), false, false, false, Some(at))
}

/// PSETEX key milliseconds value. O(1).
fn psetex(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let at = expire_at(argv.get(2), 1, true, ctx.now_ms, "psetex")?;
    set_generic(ctx, argv.get(1), argv.get(3), false, false, false, Some(at))
}

/// MGET key [key ...]. O(N).
fn mget(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    ctx.out.array(argv.len() - 1);
    for key in argv.tail(1).iter() {
        // A key of another type reads as null in MGET.
        if reply_str_or_null(ctx, key).is_err() {
            ctx.out.null();
        }
    }
    Ok(())
}

/// MSET-style commands take key/value pairs after the name.
fn check_pairs(argv: Argv<'_>, name: &str) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(err::wrong_arity(name));
    }
    Ok(())
}

/// MSET key value [key value ...]. O(N).
fn mset(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    check_pairs(argv, "mset")?;
    for i in (1..argv.len()).step_by(2) {
        ctx.store_string(argv.get(i), argv.get(i + 1), Some(NO_EXPIRE));
        ctx.wrote(class::STRING, "set", argv.get(i));
    }
    ctx.out.ok();
    Ok(())
}

/// MSETNX key value [key value ...]. O(N).
fn msetnx(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    check_pairs(argv, "msetnx")?;
    for i in (1..argv.len()).step_by(2) {
        if ctx.exists_for_write(argv.get(i)) {
            ctx.out.int(0);
            return Ok(());
        }
    }
    for i in (1..argv.len()).step_by(2) {
        ctx.store_string(argv.get(i), argv.get(i + 1), Some(NO_EXPIRE));
        ctx.wrote(class::STRING, "set", argv.get(i));
    }
    ctx.out.int(1);
    Ok(())
}

fn check_len(ctx: &ExecCtx<'_>, len: u64) -> CmdResult {
    if len > ctx.config.proto_max_bulk_len {
        return Err(err::STRING_TOO_LONG);
    }
    Ok(())
}

/// APPEND key value. O(1) amortized.
fn append(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, tail) = (argv.get(1), argv.get(2));
    let max = ctx.config.proto_max_bulk_len;
    let new_len = match ctx.write_str(key)? {
        None => {
            ctx.store(
                key,
                Value::Str(CompactStr::from_value(tail)),
                Some(NO_EXPIRE),
            );
            tail.len()
        }
        Some(s) => {
            let total = s.len() + tail.len();
            if total as u64 > max {
                return Err(err::STRING_TOO_LONG);
            }
            let mut v = Vec::new();
            v.try_reserve_exact(total)
                .map_err(|_| err::STRING_TOO_LONG)?;
            let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
            v.extend_from_slice(s.as_bytes(&mut scratch));
            v.extend_from_slice(tail);
            *s = CompactStr::from_vec(v);
            ctx.touched(1);
            total
        }
    };
    ctx.wrote(class::STRING, "append", key);
    ctx.out.int(new_len as i64);
    Ok(())
}

/// STRLEN key. O(1).
fn strlen(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let n = match ctx.lookup_read(argv.get(1)) {
        None => 0,
        Some(Value::Str(s)) => s.len(),
        Some(Value::Lz(z)) => z.raw_len(),
        Some(_) => return Err(err::WRONGTYPE),
    };
    ctx.out.int(n as i64);
    Ok(())
}

/// GETRANGE key start end (and SUBSTR). O(N) in the returned length.
fn getrange(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (start, end) = (arg_i64(argv.get(2))?, arg_i64(argv.get(3))?);
    ctx.with_str(argv.get(1), |s, out| {
        out.bulk(substring(s.unwrap_or_default(), start, end));
    })
}

/// The bytes GETRANGE returns for `start..=end` (negative indexes count from the end).
fn substring(bytes: &[u8], mut start: i64, mut end: i64) -> &[u8] {
    let len = bytes.len() as i64;
    if start < 0 && end < 0 && start > end {
        return b"";
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        b""
    } else {
        &bytes[start as usize..=end as usize]
    }
}

/// SETRANGE key offset value. O(1) plus the copy.
fn setrange(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, value) = (argv.get(1), argv.get(3));
    let offset = arg_i64(argv.get(2))?;
    if offset < 0 {
        return Err(CmdError::new("ERR offset is out of range"));
    }
    let offset = offset as u64;
    let existing = ctx.write_str(key)?.is_some();
    if value.is_empty() {
        let n = if existing {
            ctx.read_str(key)?.map_or(0, |s| s.len())
        } else {
            0
        };
        ctx.out.int(n as i64);
        return Ok(());
    }
    check_len(ctx, offset + value.len() as u64)?;
    let offset = offset as usize;
    let mut v = match ctx.write_str(key)? {
        Some(s) => s.to_vec(),
        None => Vec::new(),
    };
    let need = offset + value.len();
    if v.len() < need {
        v.try_reserve_exact(need - v.len())
            .map_err(|_| err::STRING_TOO_LONG)?;
        v.resize(need, 0);
    }
    v[offset..need].copy_from_slice(value);
    let len = v.len();
    match ctx.write_str(key)? {
        Some(s) => {
            *s = CompactStr::from_vec(v);
            ctx.touched(1);
        }
        None => ctx.store(key, Value::Str(CompactStr::from_vec(v)), Some(NO_EXPIRE)),
    }
    ctx.wrote(class::STRING, "setrange", key);
    ctx.out.int(len as i64);
    Ok(())
}

/// The shared body of INCR, DECR, INCRBY and DECRBY; keeps the key's TTL.
fn incr_by(ctx: &mut ExecCtx<'_>, key: &[u8], delta: i64) -> CmdResult {
    // Read, then replace whole: a packed integer stays packed.
    let cur = match ctx.lookup_check(key) {
        None => None,
        Some(Value::Str(s)) => Some(s.as_i64().ok_or(err::NOT_INTEGER)?),
        // Compressed values are long text, never integers.
        Some(Value::Lz(_)) => return Err(err::NOT_INTEGER),
        Some(_) => return Err(err::WRONGTYPE),
    };
    let result = match cur {
        Some(cur) => {
            let n = cur.checked_add(delta).ok_or(err::OVERFLOW)?;
            let db = ctx.ks.db_mut(ctx.db);
            db.replace_value(key, Value::Str(CompactStr::from_i64(n)));
            ctx.touched(1);
            n
        }
        None => {
            ctx.store(
                key,
                Value::Str(CompactStr::from_i64(delta)),
                Some(NO_EXPIRE),
            );
            delta
        }
    };
    ctx.wrote(class::STRING, "incrby", key);
    ctx.out.int(result);
    Ok(())
}

/// INCR key. O(1).
fn incr(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    incr_by(ctx, argv.get(1), 1)
}

/// DECR key. O(1).
fn decr(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    incr_by(ctx, argv.get(1), -1)
}

/// INCRBY key increment. O(1).
fn incrby(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let d = arg_i64(argv.get(2))?;
    incr_by(ctx, argv.get(1), d)
}

/// DECRBY key decrement. O(1).
fn decrby(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let d = arg_i64(argv.get(2))?;
    let d = d
        .checked_neg()
        .ok_or(CmdError::new("ERR decrement would overflow"))?;
    incr_by(ctx, argv.get(1), d)
}

/// INCRBYFLOAT key increment. O(1). Keeps the key's TTL.
fn incrbyfloat(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let delta = arg_f64(argv.get(2))?;
    let cur = match ctx.write_str(key)? {
        Some(s) => {
            let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
            super::parse_f64(s.as_bytes(&mut scratch)).ok_or(err::NOT_FLOAT)?
        }
        None => 0.0,
    };
    let v = cur + delta;
    if !v.is_finite() {
        return Err(CmdError::new("ERR increment would produce NaN or Infinity"));
    }
    let mut text = Vec::new();
    format_double(v, &mut text);
    let value = CompactStr::from_value(&text);
    match ctx.write_str(key)? {
        Some(s) => {
            *s = value;
            ctx.touched(1);
        }
        None => ctx.store(key, Value::Str(value), Some(NO_EXPIRE)),
    }
    ctx.wrote(class::STRING, "incrbyfloat", key);
    ctx.out.bulk(&text);
    // Float arithmetic may differ where the log is replayed: log the result.
    ctx.propagate_as(&[b"SET", key, &text, b"KEEPTTL"]);
    Ok(())
}

/// A range of consecutive matches: (start in a, end in a, start in b, end in b), inclusive.
type MatchRange = (usize, usize, usize, usize);

/// The LCS dynamic-programming table for `a` and `b` (row width returned alongside), refusing tables
/// whose size would pass `proto-max-bulk-len`, as Redis does.
fn lcs_table(a: &[u8], b: &[u8], limit: u64) -> Result<(Vec<u32>, usize), CmdError> {
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1).saturating_mul(blen as u64 + 1);
    if cells.saturating_mul(4) > limit {
        return Err(CmdError::new(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let w = blen + 1;
    let mut dp: Vec<u32> = Vec::new();
    dp.try_reserve_exact(cells as usize).map_err(|_| {
        CmdError::new("ERR Insufficient memory, failed allocating transient memory for LCS")
    })?;
    dp.resize(cells as usize, 0);
    for i in 1..=alen {
        for j in 1..=blen {
            dp[i * w + j] = if a[i - 1] == b[j - 1] {
                dp[(i - 1) * w + j - 1] + 1
            } else {
                dp[(i - 1) * w + j].max(dp[i * w + j - 1])
            };
        }
    }
    Ok((dp, w))
}

/// Walks the table back from the end: the LCS itself and its runs of consecutive matches, last first.
fn lcs_walk(a: &[u8], b: &[u8], dp: &[u32], w: usize, total: usize) -> (Vec<u8>, Vec<MatchRange>) {
    let mut result = alloc::vec![0u8; total];
    let mut ranges: Vec<MatchRange> = Vec::new();
    let mut open: Option<MatchRange> = None;
    let (mut i, mut j, mut idx) = (a.len(), b.len(), total);
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            result[idx - 1] = a[i - 1];
            open = match open {
                Some((as_, ae, bs, be)) if as_ == i && bs == j => Some((i - 1, ae, j - 1, be)),
                Some(r) => {
                    ranges.push(r);
                    Some((i - 1, i - 1, j - 1, j - 1))
                }
                None => Some((i - 1, i - 1, j - 1, j - 1)),
            };
            idx -= 1;
            i -= 1;
            j -= 1;
        } else {
            if dp[(i - 1) * w + j] > dp[i * w + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            if let Some(r) = open.take() {
                ranges.push(r);
            }
        }
    }
    ranges.extend(open);
    (result, ranges)
}

/// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN]. O(N*M) time and memory.
fn lcs(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (mut getlen, mut getidx, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut i = 3;
    while i < argv.len() {
        let a = argv.get(i);
        if eq_ci(a, "idx") {
            getidx = true;
        } else if eq_ci(a, "len") {
            getlen = true;
        } else if eq_ci(a, "withmatchlen") {
            withmatchlen = true;
        } else if eq_ci(a, "minmatchlen") && i + 1 < argv.len() {
            minmatchlen = arg_i64(argv.get(i + 1))?.max(0);
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if getlen && getidx {
        return Err(CmdError::new(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let mut fetch = |key: &[u8]| -> Result<Vec<u8>, CmdError> {
        match ctx.lookup_read(key).map(|v| v.str_to_vec()) {
            None => Ok(Vec::new()),
            Some(Some(s)) => Ok(s),
            Some(None) => Err(CmdError::new(
                "ERR The specified keys must contain string values",
            )),
        }
    };
    let a = fetch(argv.get(1))?;
    let b = fetch(argv.get(2))?;
    let (dp, w) = lcs_table(&a, &b, ctx.config.proto_max_bulk_len)?;
    let total = dp[a.len() * w + b.len()] as usize;
    if getlen {
        ctx.out.int(total as i64);
        return Ok(());
    }
    let (result, ranges) = lcs_walk(&a, &b, &dp, w, total);
    if !getidx {
        ctx.out.bulk(&result);
        return Ok(());
    }
    let kept: Vec<_> = ranges
        .into_iter()
        .filter(|r| (r.1 - r.0 + 1) as i64 >= minmatchlen)
        .collect();
    ctx.out.map(2);
    ctx.out.bulk(b"matches");
    ctx.out.array(kept.len());
    for (as_, ae, bs, be) in kept {
        ctx.out.array(2 + withmatchlen as usize);
        ctx.out.array(2);
        ctx.out.int(as_ as i64);
        ctx.out.int(ae as i64);
        ctx.out.array(2);
        ctx.out.int(bs as i64);
        ctx.out.int(be as i64);
        if withmatchlen {
            ctx.out.int((ae - as_ + 1) as i64);
        }
    }
    ctx.out.bulk(b"len");
    ctx.out.int(total as i64);
    Ok(())
}
