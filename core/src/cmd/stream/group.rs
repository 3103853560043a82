//! Consumer-group commands: XGROUP (CREATE, SETID, DESTROY, CREATECONSUMER, DELCONSUMER, HELP),
//! XACK, XPENDING, XCLAIM and XAUTOCLAIM.

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{parse_bound, parse_id, stream_mut, stream_with_out, StreamId, XGROUP_SUBS};
use crate::cmd::keys::{reply_help, subcommand_arity, unknown_subcommand};
use crate::cmd::{arg_i64, eq_ci, err, CmdError, CmdResult, ExecCtx};
use crate::journal::class;
use crate::resp::{Argv, ReplyWriter};
use crate::types::stream::group::{Group, Pending};
use crate::types::stream::Stream;
use crate::types::Value;

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// `NOGROUP` for a command that names a key and a group.
fn no_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::owned(alloc::format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        key.escape_ascii(),
        group.escape_ascii()
    ))
}

/// `NOGROUP` for XGROUP and XINFO CONSUMERS.
pub fn no_group_for_key(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::owned(alloc::format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        group.escape_ascii(),
        key.escape_ascii()
    ))
}

fn subcommand_syntax(sub: &[u8]) -> CmdError {
    CmdError::owned(alloc::format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
        sub.escape_ascii()
    ))
}

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER|HELP ... O(1), DESTROY O(N) in the
/// group's pending entries and consumers.
pub fn xgroup(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let sub = argv.get(1);
    let Some(info) = XGROUP_SUBS.iter().find(|s| eq_ci(sub, s.name)) else {
        return Err(unknown_subcommand("xgroup", sub));
    };
    if !info.arity_ok(argv.len()) {
        return Err(subcommand_arity("xgroup", info.name));
    }
    if info.name == "help" {
        reply_help(ctx, XGROUP_HELP);
        return Ok(());
    }
    let (key, group) = (argv.get(2), argv.get(3));
    let mut mkstream = false;
    let mut entries_read = None;
    let mut i = 5;
    while i < argv.len() {
        let opt = argv.get(i);
        if eq_ci(opt, "mkstream") && info.name == "create" {
            mkstream = true;
        } else if eq_ci(opt, "entriesread")
            && i + 1 < argv.len()
            && matches!(info.name, "create" | "setid")
        {
            let n = arg_i64(argv.get(i + 1))?;
            if n < -1 {
                return Err(CmdError::new(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            entries_read = u64::try_from(n).ok();
            i += 1;
        } else {
            return Err(subcommand_syntax(sub));
        }
        i += 1;
    }
    let argc_ok = match info.name {
        "create" => argv.len() <= 8,
        "setid" => argv.len() == 5 || argv.len() == 7,
        _ => true,
    };
    if !argc_ok {
        return Err(subcommand_syntax(sub));
    }
    let exists = stream_mut(ctx, key)?.is_some();
    if !exists && !mkstream {
        return Err(CmdError::new(
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
        ));
    }
    // Every subcommand but CREATE needs the group, looked up before its other arguments.
    if info.name != "create" && info.name != "destroy" {
        let has = stream_mut(ctx, key)?.is_some_and(|s| s.groups.contains_key(group));
        if !has {
            return Err(no_group_for_key(key, group));
        }
    }
    match info.name {
        "create" => create(ctx, argv, exists, entries_read),
        "setid" => {
            let id_arg = argv.get(4);
            let s = stream_mut(ctx, key)?.ok_or(err::NO_SUCH_KEY)?;
            let id = match id_arg {
                b"$" => s.last_id,
                _ => parse_bound(id_arg, false, false)?,
            };
            let g = s
                .groups
                .get_mut(group)
                .ok_or_else(|| no_group_for_key(key, group))?;
            g.last_id = id;
            g.entries_read = entries_read;
            ctx.out.ok();
            ctx.notify(class::STREAM, "xgroup-setid", key);
            ctx.touched(1);
            Ok(())
        }
        "destroy" => {
            let s = stream_mut(ctx, key)?.ok_or(err::NO_SUCH_KEY)?;
            let removed = s.groups.remove(group).is_some();
            ctx.out.int(i64::from(removed));
            if removed {
                ctx.notify(class::STREAM, "xgroup-destroy", key);
                ctx.journal.ready(ctx.db, key);
                ctx.touched(1);
            }
            Ok(())
        }
        "createconsumer" => {
            let now_ms = ctx.now_ms;
            let s = stream_mut(ctx, key)?.ok_or(err::NO_SUCH_KEY)?;
            let g = s
                .groups
                .get_mut(group)
                .ok_or_else(|| no_group_for_key(key, group))?;
            let created = g.consumer(argv.get(4), now_ms).1;
            ctx.out.int(i64::from(created));
            if created {
                ctx.notify(class::STREAM, "xgroup-createconsumer", key);
                ctx.touched(1);
            }
            Ok(())
        }
        _ => {
            let s = stream_mut(ctx, key)?.ok_or(err::NO_SUCH_KEY)?;
            let g = s
                .groups
                .get_mut(group)
                .ok_or_else(|| no_group_for_key(key, group))?;
            match g.remove_consumer(argv.get(4)) {
                Some(pending) => {
                    ctx.out.int(pending as i64);
                    ctx.notify(class::STREAM, "xgroup-delconsumer", key);
                    ctx.touched(1);
                }
                None => ctx.out.int(0),
            }
            Ok(())
        }
    }
}

/// XGROUP CREATE key group id|$ [MKSTREAM] [ENTRIESREAD n].
fn create(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    exists: bool,
    entries_read: Option<u64>,
) -> CmdResult {
    let (key, group, id_arg) = (argv.get(2), argv.get(3), argv.get(4));
    let id = match id_arg {
        b"$" => None,
        _ => Some(parse_id(id_arg, 0)?),
    };
    if !exists {
        ctx.store(key, Value::Stream(Box::new(Stream::new())), None);
    }
    let s = stream_mut(ctx, key)?.ok_or(err::NO_SUCH_KEY)?;
    if s.groups.contains_key(group) {
        return Err(CmdError::new(
            "BUSYGROUP Consumer Group name already exists",
        ));
    }
    let id = id.unwrap_or(s.last_id);
    s.groups.insert(group.into(), Group::new(id, entries_read));
    ctx.out.ok();
    ctx.notify(class::STREAM, "xgroup-create", key);
    if exists {
        ctx.touched(1);
    }
    Ok(())
}

/// XACK key group id [id ...]. O(1) per ID.
pub fn xack(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, group) = (argv.get(1), argv.get(2));
    let Some(g) = stream_mut(ctx, key)?.and_then(|s| s.groups.get_mut(group)) else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut ids = Vec::with_capacity(argv.len() - 3);
    for arg in argv.iter().skip(3) {
        ids.push(parse_id(arg, 0)?);
    }
    let acked = ids.into_iter().filter(|&id| g.ack(id)).count();
    ctx.out.int(acked as i64);
    if acked > 0 {
        ctx.touched(acked as u64);
    }
    Ok(())
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]. O(N) in the entries
/// returned (and scanned, with IDLE); the summary is O(consumers).
pub fn xpending(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, group) = (argv.get(1), argv.get(2));
    let argc = argv.len();
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(err::SYNTAX);
    }
    let mut min_idle = None;
    let mut at = 3;
    let mut extended = None;
    if argc >= 6 {
        if eq_ci(argv.get(3), "idle") {
            min_idle = Some(arg_i64(argv.get(4))?);
            if argc < 8 {
                return Err(err::SYNTAX);
            }
            at = 5;
        }
        let count = arg_i64(argv.get(at + 2))?.max(0) as u64;
        let start = parse_bound(argv.get(at), false, true)?;
        let end = parse_bound(argv.get(at + 1), true, true)?;
        let consumer = (at + 3 < argc).then(|| argv.get(at + 3));
        extended = Some((start, end, count, consumer));
    }
    let now_ms = ctx.now_ms;
    let (v, out) = ctx.lookup_with_out(key, true);
    let g = match v {
        Some(Value::Stream(s)) => s.groups.get(group).ok_or_else(|| no_group(key, group))?,
        Some(_) => return Err(err::WRONGTYPE),
        None => return Err(no_group(key, group)),
    };
    let Some((start, end, count, consumer)) = extended else {
        write_summary(g, out);
        return Ok(());
    };
    let idle_ok = |p: &Pending| {
        let idle = now_ms.saturating_sub(p.delivery_ms);
        min_idle.is_none_or(|m| idle as i64 >= m)
    };
    // Lazily, so a short COUNT costs O(COUNT) whatever the size of the pending list.
    let take = usize::try_from(count).unwrap_or(usize::MAX);
    let range = start..=end.max(start);
    let picked: Vec<(StreamId, &Pending)> = match consumer {
        Some(name) => match g.consumers.get(name) {
            Some(c) => c
                .pel
                .range(range)
                .filter_map(|id| g.pel.get(id).map(|p| (*id, p)))
                .filter(|(id, p)| *id <= end && idle_ok(p))
                .take(take)
                .collect(),
            None => Vec::new(),
        },
        None => g
            .pel
            .range(range)
            .map(|(id, p)| (*id, p))
            .filter(|(id, p)| *id <= end && idle_ok(p))
            .take(take)
            .collect(),
    };
    out.array(picked.len());
    for (id, p) in picked {
        out.array(4);
        id.write(out);
        out.bulk(&p.owner);
        out.int(now_ms.saturating_sub(p.delivery_ms) as i64);
        out.int(p.deliveries as i64);
    }
    Ok(())
}

/// XPENDING's summary: count, smallest and greatest ID, and per consumer its count.
fn write_summary(g: &Group, out: &mut ReplyWriter<'_>) {
    out.array(4);
    out.int(g.pel.len() as i64);
    let (Some((first, _)), Some((last, _))) = (g.pel.first_key_value(), g.pel.last_key_value())
    else {
        out.null();
        out.null();
        out.null_array();
        return;
    };
    first.write(out);
    last.write(out);
    let busy: Vec<(&Box<[u8]>, usize)> = g
        .consumers
        .iter()
        .filter(|(_, c)| !c.pel.is_empty())
        .map(|(n, c)| (n, c.pel.len()))
        .collect();
    out.array(busy.len());
    for (name, n) in busy {
        out.array(2);
        out.bulk(name);
        out.bulk_i64(n as i64);
    }
}

/// Checks that `key` holds a stream with group `group` (XCLAIM, XAUTOCLAIM): WRONGTYPE or
/// NOGROUP otherwise.
fn check_group(ctx: &mut ExecCtx<'_>, key: &[u8], group: &[u8]) -> CmdResult {
    match stream_mut(ctx, key)? {
        Some(s) if s.groups.contains_key(group) => Ok(()),
        _ => Err(no_group(key, group)),
    }
}

/// Writes claimed entries: their IDs (JUSTID), or the entries.
fn write_claimed(s: &Stream, ids: &[StreamId], justid: bool, out: &mut ReplyWriter<'_>) {
    out.array(ids.len());
    for &id in ids {
        match (justid, s.get(id)) {
            (false, Some((node, raw))) => node.write_entry(&raw, out),
            _ => id.write(out),
        }
    }
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-ms]
/// [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID id]. O(log N) per ID.
pub fn xclaim(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, group, consumer) = (argv.get(1), argv.get(2), argv.get(3));
    check_group(ctx, key, group)?;
    let min_idle = arg_i64(argv.get(4))
        .map_err(|_| CmdError::new("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0) as u64;
    let mut i = 5;
    let mut ids = Vec::new();
    while i < argv.len() {
        match parse_id(argv.get(i), 0) {
            Ok(id) => ids.push(id),
            Err(_) => break,
        }
        i += 1;
    }
    let now_ms = ctx.now_ms;
    let (mut force, mut justid) = (false, false);
    let mut delivery_ms = None;
    let mut retry_count = None;
    let mut last_id = None;
    while i < argv.len() {
        let opt = argv.get(i);
        let value = (i + 1 < argv.len()).then(|| argv.get(i + 1));
        let invalid = |what: &'static str| {
            CmdError::owned(alloc::format!(
                "ERR Invalid {what} option argument for XCLAIM"
            ))
        };
        match value {
            _ if eq_ci(opt, "force") => force = true,
            _ if eq_ci(opt, "justid") => justid = true,
            Some(v) if eq_ci(opt, "idle") => {
                let ms = arg_i64(v).map_err(|_| invalid("IDLE"))?;
                // Out of range either way: the delivery time falls back to now.
                delivery_ms = Some((now_ms as i64).checked_sub(ms).unwrap_or(-1));
                i += 1;
            }
            Some(v) if eq_ci(opt, "time") => {
                delivery_ms = Some(arg_i64(v).map_err(|_| invalid("TIME"))?);
                i += 1;
            }
            Some(v) if eq_ci(opt, "retrycount") => {
                retry_count = Some(arg_i64(v).map_err(|_| invalid("RETRYCOUNT"))?);
                i += 1;
            }
            Some(v) if eq_ci(opt, "lastid") => {
                last_id = Some(parse_id(v, 0)?);
                i += 1;
            }
            _ => {
                return Err(CmdError::owned(alloc::format!(
                    "ERR Unrecognized XCLAIM option '{}'",
                    opt.escape_ascii()
                )))
            }
        }
        i += 1;
    }
    let delivery_ms = match delivery_ms {
        Some(t) if t >= 0 && t as u64 <= now_ms => t as u64,
        _ => now_ms,
    };
    let (Some(s), out) = stream_with_out(ctx, key, false)? else {
        return Err(no_group(key, group));
    };
    let mut claimed = Vec::new();
    let mut created = false;
    // The claims replay as XCLAIMs with their delivery time and count; entries gone from the
    // stream leave the pending list as XACKs.
    let mut log: Vec<Vec<Vec<u8>>> = Vec::new();
    for id in ids {
        let exists = s.contains(id);
        let Some(g) = s.groups.get_mut(group) else {
            break;
        };
        if let Some(last) = last_id.filter(|l| *l > g.last_id) {
            g.last_id = last;
        }
        if !exists {
            if g.ack(id) {
                let mut buf = [0u8; crate::types::stream::ID_TEXT_MAX];
                log.push(super::read::words(&[
                    b"XACK",
                    key,
                    group,
                    id.format(&mut buf),
                ]));
            }
            continue;
        }
        match g.pel.get(&id) {
            Some(p) => {
                let idle = now_ms.saturating_sub(p.delivery_ms);
                if min_idle != 0 && idle < min_idle {
                    continue;
                }
            }
            None if force => {}
            None => continue,
        }
        let forced = !g.pel.contains_key(&id);
        let (c, new) = g.consumer(consumer, now_ms);
        c.seen_ms = now_ms;
        created |= new;
        let p = g.transfer(id, consumer);
        if forced {
            p.deliveries = 1;
        }
        p.delivery_ms = delivery_ms;
        match retry_count {
            Some(n) if n >= 0 => p.deliveries = n as u64,
            _ if !justid => p.deliveries += 1,
            _ => {}
        }
        let (at, count) = (p.delivery_ms, p.deliveries);
        claimed.push(id);
        let last = g.last_id;
        log.push(super::read::claim(
            key, group, consumer, id, at, count, last,
        ));
    }
    if let (Some(last), Some(g)) = (last_id, s.groups.get_mut(group)) {
        if last > g.last_id {
            g.last_id = last;
        }
    }
    write_claimed(s, &claimed, justid, out);
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    if !log.is_empty() || last_id.is_some() {
        ctx.touched(1);
    }
    ctx.propagate_nothing();
    if let Some(last) = last_id {
        // LASTID moves the cursor even when nothing was claimed.
        let mut buf = [0u8; crate::types::stream::ID_TEXT_MAX];
        let last = last.format(&mut buf).to_vec();
        let cmd: Vec<&[u8]> =
            alloc::vec![b"XCLAIM", key, group, consumer, b"0", b"0-0", b"LASTID", &last];
        if log.is_empty() {
            ctx.propagate_as(&cmd);
        }
    }
    for cmd in &log {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        ctx.propagate_as(&args);
    }
    Ok(())
}

/// Work XAUTOCLAIM may do per entry it may claim: it examines at most COUNT times this many
/// pending entries.
const AUTOCLAIM_ATTEMPTS_FACTOR: u64 = 10;
/// COUNT may be at most `i64::MAX` over this (Redis: the larger of the attempts factor and the
/// size of a stream ID), so that the reply's bookkeeping cannot overflow.
const AUTOCLAIM_COUNT_DIVISOR: i64 = 16;

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]. O(COUNT).
pub fn xautoclaim(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (key, group, consumer) = (argv.get(1), argv.get(2), argv.get(3));
    let min_idle = arg_i64(argv.get(4))
        .map_err(|_| CmdError::new("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0) as u64;
    let start = parse_bound(argv.get(5), false, true)?;
    let mut count = 100u64;
    let mut justid = false;
    let mut i = 6;
    while i < argv.len() {
        let opt = argv.get(i);
        if eq_ci(opt, "count") && i + 1 < argv.len() {
            count = arg_i64(argv.get(i + 1))
                .ok()
                .filter(|n| (1..=i64::MAX / AUTOCLAIM_COUNT_DIVISOR).contains(n))
                .ok_or(CmdError::new("ERR COUNT must be > 0"))? as u64;
            i += 1;
        } else if eq_ci(opt, "justid") {
            justid = true;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    check_group(ctx, key, group)?;
    let now_ms = ctx.now_ms;
    let (Some(s), out) = stream_with_out(ctx, key, false)? else {
        return Err(no_group(key, group));
    };
    let mut attempts = count * AUTOCLAIM_ATTEMPTS_FACTOR;
    let (mut claimed, mut deleted) = (Vec::new(), Vec::new());
    let mut cursor = Some(start);
    let mut created = false;
    let mut log: Vec<Vec<Vec<u8>>> = Vec::new();
    while attempts > 0 && count > 0 {
        let Some(from) = cursor else { break };
        let Some(id) = s
            .groups
            .get(group)
            .and_then(|g| g.pel.range(from..).next().map(|(id, _)| *id))
        else {
            cursor = None;
            break;
        };
        cursor = id.next();
        attempts -= 1;
        let exists = s.contains(id);
        let Some(g) = s.groups.get_mut(group) else {
            break;
        };
        if !exists {
            g.ack(id);
            deleted.push(id);
            let mut buf = [0u8; crate::types::stream::ID_TEXT_MAX];
            log.push(super::read::words(&[
                b"XACK",
                key,
                group,
                id.format(&mut buf),
            ]));
            count -= 1;
            continue;
        }
        let idle = g
            .pel
            .get(&id)
            .map_or(0, |p| now_ms.saturating_sub(p.delivery_ms));
        if min_idle != 0 && idle < min_idle {
            continue;
        }
        let (c, new) = g.consumer(consumer, now_ms);
        c.seen_ms = now_ms;
        created |= new;
        let p = g.transfer(id, consumer);
        p.delivery_ms = now_ms;
        if !justid {
            p.deliveries += 1;
        }
        let deliveries = p.deliveries;
        claimed.push(id);
        let last = g.last_id;
        log.push(super::read::claim(
            key, group, consumer, id, now_ms, deliveries, last,
        ));
        count -= 1;
    }
    // The cursor is the next pending entry, 0-0 when the scan reached the end.
    let next = cursor
        .and_then(|from| {
            s.groups
                .get(group)?
                .pel
                .range(from..)
                .next()
                .map(|(id, _)| *id)
        })
        .unwrap_or(StreamId::MIN);
    out.array(3);
    next.write(out);
    write_claimed(s, &claimed, justid, out);
    out.array(deleted.len());
    for id in deleted {
        id.write(out);
    }
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    if !log.is_empty() {
        ctx.touched(1);
    }
    ctx.propagate_nothing();
    for cmd in &log {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        ctx.propagate_as(&args);
    }
    Ok(())
}
