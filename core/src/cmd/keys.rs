//! Generic keyspace commands: existence, deletion, iteration, renaming, moving, TTLs, OBJECT and the
//! database-level commands (DBSIZE, FLUSHDB, FLUSHALL, SELECT, SWAPDB).

use super::{KEY1, NOKEYS};
use alloc::vec::Vec;

use super::{
    acl, arg_i64, eq_ci, err, flags as f, CmdError, CmdResult, Command, CommandInfo, ExecCtx,
};
use crate::glob::glob_match;
use crate::journal::class;
use crate::keyspace::is_expired;
use crate::resp::{Argv, ReplyWriter};
use crate::table::NO_EXPIRE;
use crate::types::Value;

const KS: u32 = acl::KEYSPACE;

const GROUP: &str = "generic";

static OBJECT_SUBS: &[CommandInfo] = &[
    sub!(
        "encoding",
        3,
        f::READONLY,
        (2, 2, 1),
        KS | acl::READ | acl::SLOW,
        "Inspect the internal encoding of a Redis object"
    ),
    sub!(
        "freq",
        3,
        f::READONLY,
        (2, 2, 1),
        KS | acl::READ | acl::SLOW,
        "Get the logarithmic access frequency counter of a Redis object"
    ),
    sub!(
        "idletime",
        3,
        f::READONLY,
        (2, 2, 1),
        KS | acl::READ | acl::SLOW,
        "Get the time since a Redis object was last accessed"
    ),
    sub!(
        "refcount",
        3,
        f::READONLY,
        (2, 2, 1),
        KS | acl::READ | acl::SLOW,
        "Get the number of references to the value of the key"
    ),
    sub!(
        "help",
        2,
        f::LOADING | f::STALE,
        NOKEYS,
        KS | acl::SLOW,
        "Show helpful text about the different subcommands"
    ),
];

pub static COMMANDS: &[Command] = &[
    cmd!("del", -2, f::WRITE, (1, -1, 1), KS | acl::WRITE | acl::SLOW, del, "Delete a key", "1.0.0"),
    cmd!("unlink", -2, f::WRITE | f::FAST, (1, -1, 1), KS | acl::WRITE | acl::FAST, del, "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.", "4.0.0"),
    cmd!("exists", -2, f::READONLY | f::FAST, (1, -1, 1), KS | acl::READ | acl::FAST, exists, "Determine if a key exists", "1.0.0"),
    cmd!("type", 2, f::READONLY | f::FAST, KEY1, KS | acl::READ | acl::FAST, type_, "Determine the type stored at key", "1.0.0"),
    cmd!("keys", 2, f::READONLY, NOKEYS, KS | acl::READ | acl::SLOW | acl::DANGEROUS, keys, "Find all keys matching the given pattern", "1.0.0"),
    cmd!("scan", -2, f::READONLY, NOKEYS, KS | acl::READ | acl::SLOW, scan, "Incrementally iterate the keys space", "2.8.0"),
    cmd!("randomkey", 1, f::READONLY, NOKEYS, KS | acl::READ | acl::SLOW, randomkey, "Return a random key from the keyspace", "1.0.0"),
    cmd!("rename", 3, f::WRITE, (1, 2, 1), KS | acl::WRITE | acl::SLOW, rename, "Rename a key", "1.0.0"),
    cmd!("renamenx", 3, f::WRITE | f::FAST, (1, 2, 1), KS | acl::WRITE | acl::FAST, renamenx, "Rename a key, only if the new key does not exist", "1.0.0"),
    cmd!("move", 3, f::WRITE | f::FAST, KEY1, KS | acl::WRITE | acl::FAST, move_, "Move a key to another database", "1.0.0"),
    cmd!("copy", -3, f::WRITE | f::DENYOOM, (1, 2, 1), KS | acl::WRITE | acl::SLOW, copy, "Copy a key", "6.2.0"),
    cmd!("expire", -3, f::WRITE | f::FAST, KEY1, KS | acl::WRITE | acl::FAST, expire, "Set a key's time to live in seconds", "1.0.0"),
    cmd!("pexpire", -3, f::WRITE | f::FAST, KEY1, KS | acl::WRITE | acl::FAST, pexpire, "Set a key's time to live in milliseconds", "2.6.0"),
    cmd!("expireat", -3, f::WRITE | f::FAST, KEY1, KS | acl::WRITE | acl::FAST, expireat, "Set the expiration for a key as a UNIX timestamp", "1.2.0"),
    cmd!("pexpireat", -3, f::WRITE | f::FAST, KEY1, KS | acl::WRITE | acl::FAST, pexpireat, "Set the expiration for a key as a UNIX timestamp specified in milliseconds", "2.6.0"),
    cmd!("ttl", 2, f::READONLY | f::FAST, KEY1, KS | acl::READ | acl::FAST, ttl, "Get the time to live for a key in seconds", "1.0.0"),
    cmd!("pttl", 2, f::READONLY | f::FAST, KEY1, KS | acl::READ | acl::FAST, pttl, "Get the time to live for a key in milliseconds", "2.6.0"),
    cmd!("expiretime", 2, f::READONLY | f::FAST, KEY1, KS | acl::READ | acl::FAST, expiretime, "Get the expiration Unix timestamp for a key", "7.0.0"),
    cmd!("pexpiretime", 2, f::READONLY | f::FAST, KEY1, KS | acl::READ | acl::FAST, pexpiretime, "Get the expiration Unix timestamp for a key in milliseconds", "7.0.0"),
    cmd!("persist", 2, f::WRITE | f::FAST, KEY1, KS | acl::WRITE | acl::FAST, persist, "Remove the expiration from a key", "2.2.0"),
    cmd!("touch", -2, f::READONLY | f::FAST, (1, -1, 1), KS | acl::READ | acl::FAST, touch, "Alters the last access time of a key(s). Returns the number of existing keys specified.", "3.2.1"),
    cmd!("object", -2, 0, NOKEYS, acl::SLOW, object, "A container for object introspection commands", "2.2.3", subcommands: OBJECT_SUBS),
    cmd!("dbsize", 1, f::READONLY | f::FAST, NOKEYS, KS | acl::READ | acl::FAST, dbsize, "Return the number of keys in the selected database", "1.0.0"),
    cmd!("flushdb", -1, f::WRITE, NOKEYS, KS | acl::WRITE | acl::SLOW | acl::DANGEROUS, flushdb, "Remove all keys from the current database", "1.0.0"),
    cmd!("flushall", -1, f::WRITE, NOKEYS, KS | acl::WRITE | acl::SLOW | acl::DANGEROUS, flushall, "Remove all keys from all databases", "1.0.0"),
    cmd!("select", 2, f::LOADING | f::STALE | f::FAST, NOKEYS, acl::CONNECTION | acl::FAST, select, "Change the selected database for the current connection", "1.0.0"),
    cmd!("swapdb", 3, f::WRITE | f::FAST, NOKEYS, KS | acl::WRITE | acl::FAST | acl::DANGEROUS, swapdb, "Swaps two Redis databases", "4.0.0"),
];

/// DEL key [key ...] (and UNLINK). O(N).
fn del(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut n = 0;
    for key in argv.tail(1).iter() {
        let (now, db) = (ctx.now_ms, ctx.db);
        let (db, stats) = ctx.ks.db_and_stats(db);
        if !db.expire_if_needed(key, now, stats) && db.remove(key).is_some() {
            n += 1;
            ctx.wrote(class::GENERIC, "del", key);
        }
    }
    ctx.touched(n as u64);
    ctx.out.int(n);
    Ok(())
}

/// EXISTS key [key ...]. O(N); a key named twice counts twice.
fn exists(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (now, db) = (ctx.now_ms, ctx.db);
    let (db, stats) = ctx.ks.db_and_stats(db);
    let n = argv
        .tail(1)
        .iter()
        .filter(|k| db.contains(k, now, stats))
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

/// TYPE key. O(1).
fn type_(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (now, db) = (ctx.now_ms, ctx.db);
    let (db, stats) = ctx.ks.db_and_stats(db);
    let name = db
        .get(argv.get(1), now, stats)
        .map_or("none", |v| v.type_name());
    ctx.out.simple(name.as_bytes());
    Ok(())
}

/// KEYS pattern. O(N) in the database size.
fn keys(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let pattern = argv.get(1);
    let all = pattern == b"*";
    let now = ctx.now_ms;
    let db = ctx.ks.db(ctx.db);
    let found: Vec<&[u8]> = db
        .table()
        .iter()
        .filter(|e| !is_expired(e, now) && (all || glob_match(pattern, e.key_bytes(), false)))
        .map(|e| e.key_bytes())
        .collect();
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// Parses a SCAN-family cursor (`ERR invalid cursor`) like Redis's `strtoul`-based parser: an optional
/// sign, digits, no spaces, no overflow; a negative cursor wraps around (`-1` is the largest cursor).
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::new("ERR invalid cursor");
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        _ => (false, arg),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// The options SCAN and its per-key forms (HSCAN, SSCAN, ZSCAN) take after the cursor.
pub struct ScanOptions<'a> {
    /// The MATCH pattern; none for `*`, which matches everything.
    pub pattern: Option<&'a [u8]>,
    /// COUNT: how many elements a call aims for (default 10).
    pub count: usize,
    /// SCAN's TYPE filter.
    pub type_name: Option<&'a [u8]>,
}

/// Parses `[MATCH pattern] [COUNT count]`, and `[TYPE type]` when `with_type`, from argument
/// `from` on. A COUNT below 1 and anything else are a syntax error, as in Redis.
pub fn scan_options(
    argv: Argv<'_>,
    from: usize,
    with_type: bool,
) -> Result<ScanOptions<'_>, CmdError> {
    let mut opts = ScanOptions {
        pattern: None,
        count: 10,
        type_name: None,
    };
    let mut i = from;
    while i < argv.len() {
        let a = argv.get(i);
        let has_value = i + 1 < argv.len();
        if eq_ci(a, "count") && has_value {
            let count = arg_i64(argv.get(i + 1))?;
            if count < 1 {
                return Err(err::SYNTAX);
            }
            opts.count = usize::try_from(count).unwrap_or(usize::MAX);
        } else if eq_ci(a, "match") && has_value {
            opts.pattern = Some(argv.get(i + 1)).filter(|p| *p != b"*");
        } else if with_type && eq_ci(a, "type") && has_value {
            opts.type_name = Some(argv.get(i + 1));
        } else {
            return Err(err::SYNTAX);
        }
        i += 2;
    }
    Ok(opts)
}

/// Writes the head of a SCAN-family reply: the next cursor, then an array of `len` elements.
pub fn reply_scan(out: &mut ReplyWriter<'_>, cursor: u64, len: usize) {
    out.array(2);
    out.bulk_u64(cursor);
    out.array(len);
}

/// SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]. O(1) per call, O(N) for a full iteration.
fn scan(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let cursor = parse_cursor(argv.get(1))?;
    let opts = scan_options(argv, 2, true)?;
    let now = ctx.now_ms;
    let db = ctx.ks.db(ctx.db);
    let mut found: Vec<&[u8]> = Vec::new();
    let mut expired: Vec<Vec<u8>> = Vec::new();
    let cursor = db.table().scan_some(cursor, opts.count, |e| {
        if is_expired(e, now) {
            expired.push(e.key_bytes().to_vec());
            return 0;
        }
        if opts
            .pattern
            .is_some_and(|p| !glob_match(p, e.key_bytes(), false))
        {
            return 0;
        }
        if opts
            .type_name
            .is_some_and(|t| !t.eq_ignore_ascii_case(e.value().type_name().as_bytes()))
        {
            return 0;
        }
        found.push(e.key_bytes());
        1
    });
    reply_scan(&mut ctx.out, cursor, found.len());
    for k in found {
        ctx.out.bulk(k);
    }
    if !expired.is_empty() {
        let (db, stats) = ctx.ks.db_and_stats(ctx.db);
        for k in &expired {
            db.expire_if_needed(k, now, stats);
        }
    }
    Ok(())
}

/// Most attempts RANDOMKEY makes to find a key that has not expired.
const RANDOMKEY_TRIES_MAX: usize = 100;

/// RANDOMKEY. O(1).
fn randomkey(ctx: &mut ExecCtx<'_>, _argv: Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    for attempt in 0..RANDOMKEY_TRIES_MAX {
        let mut seed = ctx.ks.random();
        let db = ctx.ks.db(ctx.db);
        let picked = db.table().random_fair(|| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 11
        });
        let Some(e) = picked else {
            ctx.out.null();
            return Ok(());
        };
        let key = e.key_bytes().to_vec();
        if is_expired(e, now) && attempt + 1 < RANDOMKEY_TRIES_MAX {
            let (db, stats) = ctx.ks.db_and_stats(ctx.db);
            db.expire_if_needed(&key, now, stats);
            continue;
        }
        ctx.out.bulk(&key);
        return Ok(());
    }
    ctx.out.null();
    Ok(())
}

fn rename_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, nx: bool) -> CmdResult {
    let (src, dst) = (argv.get(1), argv.get(2));
    let (now, now_s) = (ctx.now_ms, ctx.now_s());
    let (db, stats) = ctx.ks.db_and_stats(ctx.db);
    if db.get_entry(src, now, stats).is_none() {
        return Err(err::NO_SUCH_KEY);
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if db.contains(dst, now, stats) {
        if nx {
            ctx.out.int(0);
            return Ok(());
        }
        db.remove(dst);
    }
    let Some(e) = db.remove(src) else {
        return Err(err::NO_SUCH_KEY);
    };
    let at = e.expire_at_ms();
    db.insert_entry(dst, e.into_value(), at, now_s);
    ctx.touched(1);
    ctx.notify(class::NEW, "new", dst);
    ctx.wrote(class::GENERIC, "rename_from", src);
    ctx.wrote(class::GENERIC, "rename_to", dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// RENAME key newkey. O(1).
fn rename(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    rename_generic(ctx, argv, false)
}

/// RENAMENX key newkey. O(1).
fn renamenx(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    rename_generic(ctx, argv, true)
}

fn parse_db_index(ctx: &ExecCtx<'_>, arg: &[u8]) -> Result<usize, CmdError> {
    let i = arg_i64(arg)?;
    if i < 0 || i as usize >= ctx.ks.db_count() {
        return Err(err::DB_INDEX);
    }
    Ok(i as usize)
}

/// MOVE key db. O(1).
fn move_(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let target = parse_db_index(ctx, argv.get(2))?;
    if target == ctx.db {
        return Err(CmdError::new(
            "ERR source and destination objects are the same",
        ));
    }
    let now = ctx.now_ms;
    let now_s = ctx.now_s();
    let mut stats = ctx.ks.stats;
    let (src, dst) = ctx.ks.two_dbs(ctx.db, target);
    let moved =
        if src.get_entry(key, now, &mut stats).is_none() || dst.contains(key, now, &mut stats) {
            false
        } else if let Some(e) = src.remove(key) {
            let at = e.expire_at_ms();
            dst.insert_entry(key, e.into_value(), at, now_s);
            true
        } else {
            false
        };
    ctx.ks.stats = stats;
    if moved {
        ctx.touched(1);
        let j = &mut *ctx.journal;
        j.event(class::NEW, "new", target, key);
        j.modified(ctx.db, key);
        j.modified(target, key);
        j.event(class::GENERIC, "move_from", ctx.db, key);
        j.event(class::GENERIC, "move_to", target, key);
    }
    ctx.out.int(moved as i64);
    Ok(())
}

/// COPY source destination [DB destination-db] [REPLACE]. O(N) in the value size.
fn copy(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (src, dst) = (argv.get(1), argv.get(2));
    let (mut target, mut replace) = (ctx.db, false);
    let mut i = 3;
    while i < argv.len() {
        let a = argv.get(i);
        if eq_ci(a, "replace") {
            replace = true;
        } else if eq_ci(a, "db") && i + 1 < argv.len() {
            target = parse_db_index(ctx, argv.get(i + 1))?;
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if src == dst && target == ctx.db {
        return Err(CmdError::new(
            "ERR source and destination objects are the same",
        ));
    }
    let (now, now_s) = (ctx.now_ms, ctx.now_s());
    let mut stats = ctx.ks.stats;
    let Some(e) = ctx.ks.db_mut(ctx.db).get_entry(src, now, &mut stats) else {
        ctx.ks.stats = stats;
        ctx.out.int(0);
        return Ok(());
    };
    let (value, expire_at_ms) = (e.value().into_owned(), e.expire_at_ms());
    let dst_db = ctx.ks.db_mut(target);
    if dst_db.contains(dst, now, &mut stats) {
        if !replace {
            ctx.ks.stats = stats;
            ctx.out.int(0);
            return Ok(());
        }
        dst_db.remove(dst);
    }
    dst_db.insert_entry(dst, value, expire_at_ms, now_s);
    ctx.ks.stats = stats;
    ctx.touched(1);
    ctx.journal.event(class::NEW, "new", target, dst);
    ctx.journal.modified(target, dst);
    ctx.journal.event(class::GENERIC, "copy_to", target, dst);
    ctx.out.int(1);
    Ok(())
}

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT key time [NX | XX | GT | LT]. O(1).
fn expire_generic(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    unit_ms: i64,
    relative: bool,
    name: &str,
) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for a in argv.tail(3).iter() {
        if eq_ci(a, "nx") {
            nx = true;
        } else if eq_ci(a, "xx") {
            xx = true;
        } else if eq_ci(a, "gt") {
            gt = true;
        } else if eq_ci(a, "lt") {
            lt = true;
        } else {
            return Err(CmdError::owned(alloc::format!(
                "ERR Unsupported option {}",
                a.escape_ascii()
            )));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::new(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::new(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let when = arg_i64(argv.get(2))?;
    let invalid = || {
        CmdError::owned(alloc::format!(
            "ERR invalid expire time in '{name}' command"
        ))
    };
    let mut at = when.checked_mul(unit_ms).ok_or_else(invalid)?;
    if relative {
        at = at.checked_add(ctx.now_ms as i64).ok_or_else(invalid)?;
    }
    let gone = at < 0 || ctx.already_expired(at as u64);
    let key = argv.get(1);
    let now = ctx.now_ms;
    let (db, stats) = ctx.ks.db_and_stats(ctx.db);
    let Some(e) = db.get_entry(key, now, stats) else {
        ctx.out.int(0);
        return Ok(());
    };
    let current = if e.has_expire() {
        Some(e.expire_at_ms() as i64)
    } else {
        None
    };
    let refused = (nx && current.is_some())
        || (xx && current.is_none())
        || (gt && current.is_none_or(|c| at <= c))
        || (lt && current.is_some_and(|c| at >= c));
    if refused {
        ctx.out.int(0);
        return Ok(());
    }
    if gone {
        db.remove(key);
        ctx.wrote(class::GENERIC, "del", key);
        ctx.propagate_as(&[b"DEL", key]);
    } else {
        db.set_expire(key, at as u64);
        ctx.wrote(class::GENERIC, "expire", key);
        // Logged with the absolute time, and the condition flags as given.
        let text = alloc::format!("{at}");
        let mut args: Vec<&[u8]> = alloc::vec![b"PEXPIREAT", key, text.as_bytes()];
        args.extend(argv.tail(3).iter());
        ctx.propagate_as(&args);
    }
    ctx.touched(1);
    ctx.out.int(1);
    Ok(())
}

fn expire(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    expire_generic(ctx, argv, 1000, true, "expire")
}

fn pexpire(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    expire_generic(ctx, argv, 1, true, "pexpire")
}

fn expireat(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    expire_generic(ctx, argv, 1000, false, "expireat")
}

fn pexpireat(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    expire_generic(ctx, argv, 1, false, "pexpireat")
}

/// The shared body of TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 when absent, -1 without a TTL.
fn ttl_generic(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    output_ms: bool,
    absolute: bool,
) -> CmdResult {
    let now = ctx.now_ms;
    let (db, stats) = ctx.ks.db_and_stats(ctx.db);
    let reply = match db.get_entry(argv.get(1), now, stats) {
        None => -2,
        Some(e) if !e.has_expire() => -1,
        Some(e) => {
            let at = e.expire_at_ms() as i64;
            let t = if absolute {
                at
            } else {
                (at - now as i64).max(0)
            };
            if output_ms {
                t
            } else {
                (t + 500) / 1000
            }
        }
    };
    ctx.out.int(reply);
    Ok(())
}

fn ttl(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv, false, false)
}

fn pttl(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv, true, false)
}

fn expiretime(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv, false, true)
}

fn pexpiretime(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv, true, true)
}

/// PERSIST key. O(1).
fn persist(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let now = ctx.now_ms;
    let (db, stats) = ctx.ks.db_and_stats(ctx.db);
    let had = db
        .get_entry(key, now, stats)
        .is_some_and(|e| e.has_expire());
    if had {
        db.set_expire(key, NO_EXPIRE);
        ctx.touched(1);
        ctx.wrote(class::GENERIC, "persist", key);
    }
    ctx.out.int(had as i64);
    Ok(())
}

/// TOUCH key [key ...]. O(N).
fn touch(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let n = argv
        .tail(1)
        .iter()
        .filter(|k| ctx.lookup_read(k).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

/// Integers below this are "shared" in Redis (`OBJ_SHARED_INTEGERS`).
const SHARED_INTEGERS: i64 = 10_000;

/// The reference count OBJECT REFCOUNT and DEBUG OBJECT report. Redis shares the integers
/// 0..10000 between keys and reports them with its "shared" count; Ember stores such integers inline
/// in the entry, which is shared-nothing but just as cheap, and reports the same number so tools that
/// look for it behave the same.
pub fn refcount(value: &Value, shared_integers: bool) -> i64 {
    match value {
        Value::Str(s)
            if shared_integers
                && s.as_i64()
                    .is_some_and(|n| (0..SHARED_INTEGERS).contains(&n)) =>
        {
            i32::MAX as i64
        }
        _ => 1,
    }
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// Replies with a HELP listing.
pub fn reply_help(ctx: &mut ExecCtx<'_>, lines: &[&str]) {
    ctx.out.array(lines.len());
    for l in lines {
        ctx.out.simple(l.as_bytes());
    }
}

/// The error for an unknown subcommand of `cmd`.
pub fn unknown_subcommand(cmd: &str, sub: &[u8]) -> CmdError {
    CmdError::owned(alloc::format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        sub.escape_ascii(),
        cmd.to_ascii_uppercase()
    ))
}

/// The error for a subcommand called with the wrong number of arguments.
pub fn subcommand_arity(cmd: &str, sub: &str) -> CmdError {
    err::wrong_arity(&alloc::format!("{cmd}|{sub}"))
}

/// OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT key, OBJECT HELP. O(1).
fn object(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let sub = argv.get(1);
    let Some(info) = OBJECT_SUBS.iter().find(|s| eq_ci(sub, s.name)) else {
        return Err(unknown_subcommand("object", sub));
    };
    if !info.arity_ok(argv.len()) {
        return Err(subcommand_arity("object", info.name));
    }
    if info.name == "help" {
        reply_help(ctx, OBJECT_HELP);
        return Ok(());
    }
    let now = ctx.now_ms;
    let now_s = ctx.now_s();
    let shared = ctx.ks.shared_integers;
    let db = ctx.ks.db(ctx.db);
    let lfu = db.lfu();
    let Some(e) = db.peek(argv.get(2), now) else {
        ctx.out.null();
        return Ok(());
    };
    match info.name {
        "encoding" => {
            let enc = e.value().encoding_name();
            ctx.out.bulk(enc.as_bytes());
        }
        "idletime" if lfu.is_some() => {
            return Err(CmdError::new(
                "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
            ))
        }
        "idletime" => ctx
            .out
            .int(i64::from(crate::table::lru_idle_s(now_s, e.access()))),
        "refcount" => ctx.out.int(refcount(&e.value(), shared)),
        _ => match lfu {
            Some(lfu) => ctx
                .out
                .int(i64::from(crate::lfu::counter(e.access(), now, lfu))),
            None => {
                return Err(CmdError::new(
                    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
                ))
            }
        },
    }
    Ok(())
}

/// DBSIZE. O(1).
fn dbsize(ctx: &mut ExecCtx<'_>, _argv: Argv<'_>) -> CmdResult {
    let n = ctx.ks.db(ctx.db).len();
    ctx.out.int(n as i64);
    Ok(())
}

fn flush_mode(argv: Argv<'_>) -> CmdResult {
    match argv.len() {
        1 => Ok(()),
        2 if eq_ci(argv.get(1), "async") || eq_ci(argv.get(1), "sync") => Ok(()),
        _ => Err(err::SYNTAX),
    }
}

/// FLUSHDB [ASYNC | SYNC]. O(N).
fn flushdb(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    flush_mode(argv)?;
    touch_watched(ctx, ctx.db, None);
    ctx.journal.flushed(ctx.db);
    let db = ctx.ks.db_mut(ctx.db);
    let n = db.len() as u64;
    db.clear();
    ctx.touched(n.max(1));
    ctx.out.ok();
    Ok(())
}

/// FLUSHALL [ASYNC | SYNC]. O(N).
fn flushall(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    flush_mode(argv)?;
    for i in 0..ctx.ks.db_count() {
        touch_watched(ctx, i, None);
    }
    ctx.journal.flushed(crate::journal::ALL_DBS);
    let n = ctx.ks.total_keys() as u64;
    ctx.ks.flush_all();
    ctx.touched(n.max(1));
    ctx.out.ok();
    Ok(())
}

/// Before `emptied` is flushed or swapped with `replaced_with`, records the watched keys whose
/// existence changes (Redis's `touchAllWatchedKeysInDb`).
fn touch_watched(ctx: &mut ExecCtx<'_>, emptied: usize, replaced_with: Option<usize>) {
    for key in ctx.journal.watched_in(emptied) {
        let exists = |db: usize| ctx.ks.db(db).table().get(&key).is_some();
        let existed = exists(emptied);
        if existed || replaced_with.is_some_and(exists) {
            ctx.journal.replaced(emptied, &key, existed);
        }
    }
}

/// SELECT index. O(1).
fn select(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let i = parse_db_index(ctx, argv.get(1))?;
    ctx.db = i;
    ctx.effects.select_db = Some(i);
    ctx.out.ok();
    Ok(())
}

/// SWAPDB index1 index2. O(1).
fn swapdb(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let a = arg_i64(argv.get(1)).map_err(|_| CmdError::new("ERR invalid first DB index"))?;
    let b = arg_i64(argv.get(2)).map_err(|_| CmdError::new("ERR invalid second DB index"))?;
    let n = ctx.ks.db_count() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(err::DB_INDEX);
    }
    if a != b {
        touch_watched(ctx, a as usize, Some(b as usize));
        touch_watched(ctx, b as usize, Some(a as usize));
        ctx.ks.swap_dbs(a as usize, b as usize);
        ctx.touched(1);
    }
    ctx.out.ok();
    Ok(())
}
