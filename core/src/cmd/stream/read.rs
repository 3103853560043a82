//! XREAD and XREADGROUP: entries after an ID from one or more streams, optionally waiting for them.
//!
//! A read that finds nothing and was given BLOCK asks its host to park the client on the stream
//! keys ([`crate::cmd::Effects::block`]) and is run again when one is written. XREAD's `$` ("only
//! what arrives from now on") is resolved before parking: the command parked is a copy with each
//! `$` replaced by the stream's last ID at that moment, so the retry sees exactly the new entries.

use alloc::vec::Vec;

use super::{parse_id, StreamId};
use crate::cmd::{arg_i64, eq_ci, err, BlockRequest, CmdError, CmdResult, ExecCtx};
use crate::journal::class;
use crate::resp::Argv;
use crate::types::stream::Stream;
use crate::types::Value;

/// Parsed options of XREAD and XREADGROUP.
struct ReadArgs<'a> {
    /// Entries per stream, 0 for all.
    count: usize,
    /// BLOCK's deadline (unix ms, 0: forever), if given.
    block: Option<u64>,
    noack: bool,
    /// GROUP's group and consumer names.
    group: Option<(&'a [u8], &'a [u8])>,
    /// Where the keys start, and how many streams.
    keys_at: usize,
    streams: usize,
}

/// Parses BLOCK's milliseconds into a deadline (0: forever).
fn block_deadline(arg: &[u8], now_ms: u64) -> Result<u64, CmdError> {
    let ms =
        arg_i64(arg).map_err(|_| CmdError::new("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::new("ERR timeout is negative"));
    }
    Ok(match ms {
        0 => 0,
        ms => now_ms.saturating_add(ms as u64),
    })
}

fn parse_args<'a>(argv: Argv<'a>, with_group: bool, now_ms: u64) -> Result<ReadArgs<'a>, CmdError> {
    let mut a = ReadArgs {
        count: 0,
        block: None,
        noack: false,
        group: None,
        keys_at: 0,
        streams: 0,
    };
    let mut i = 1;
    while i < argv.len() {
        let opt = argv.get(i);
        let more = argv.len() - i - 1;
        if eq_ci(opt, "block") && more >= 1 {
            a.block = Some(block_deadline(argv.get(i + 1), now_ms)?);
            i += 1;
        } else if eq_ci(opt, "count") && more >= 1 {
            a.count = usize::try_from(arg_i64(argv.get(i + 1))?.max(0)).unwrap_or(usize::MAX);
            i += 1;
        } else if eq_ci(opt, "streams") && more >= 1 {
            if !more.is_multiple_of(2) {
                return Err(CmdError::new(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            a.keys_at = i + 1;
            a.streams = more / 2;
            break;
        } else if eq_ci(opt, "group") && more >= 2 {
            if !with_group {
                return Err(CmdError::new(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            a.group = Some((argv.get(i + 1), argv.get(i + 2)));
            i += 2;
        } else if eq_ci(opt, "noack") {
            if !with_group {
                return Err(CmdError::new(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            a.noack = true;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if a.streams == 0 {
        return Err(err::SYNTAX);
    }
    if with_group && a.group.is_none() {
        return Err(CmdError::new("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(a)
}

/// Where a read of one stream starts.
#[derive(Clone, Copy)]
enum From {
    /// Entries after this ID (XREAD, or XREADGROUP's history of the consumer).
    After(StreamId),
    /// XREADGROUP `>`: entries never delivered to the group.
    New,
}

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...].
/// O(N) in the entries returned.
pub fn xread(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let a = parse_args(argv, false, ctx.now_ms)?;
    let mut from = Vec::with_capacity(a.streams);
    for k in 0..a.streams {
        let key = argv.get(a.keys_at + k);
        let id_arg = argv.get(a.keys_at + a.streams + k);
        let last = match ctx.lookup_read(key) {
            None => None,
            Some(Value::Stream(s)) => Some(s.last_id),
            Some(_) => return Err(err::WRONGTYPE),
        };
        let id = match id_arg {
            b"$" => last.unwrap_or_default(),
            b">" => {
                return Err(CmdError::new(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ))
            }
            _ => parse_id(id_arg, 0)?,
        };
        from.push(From::After(id));
    }
    if serve(ctx, argv, &a, &from)? == 0 {
        park(ctx, argv, &a, &from);
    }
    Ok(())
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key
/// [key ...] id [id ...]. O(N) in the entries returned.
pub fn xreadgroup(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let a = parse_args(argv, true, ctx.now_ms)?;
    let Some((group, _)) = a.group else {
        return Err(err::SYNTAX);
    };
    let mut from = Vec::with_capacity(a.streams);
    for k in 0..a.streams {
        let key = argv.get(a.keys_at + k);
        let id_arg = argv.get(a.keys_at + a.streams + k);
        match ctx.lookup_write(key) {
            Some(Value::Stream(s)) if s.groups.contains_key(group) => {}
            Some(Value::Stream(_)) | None => {
                return Err(CmdError::owned(alloc::format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                key.escape_ascii(),
                group.escape_ascii()
            )))
            }
            Some(_) => return Err(err::WRONGTYPE),
        }
        from.push(match id_arg {
            b">" => From::New,
            b"$" => {
                return Err(CmdError::new(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ))
            }
            _ => From::After(parse_id(id_arg, 0)?),
        });
    }
    if serve(ctx, argv, &a, &from)? == 0 {
        park(ctx, argv, &a, &from);
    }
    Ok(())
}

/// Entries a blocked read is served at most when it gave no COUNT (Redis's default for a read
/// served from the blocked state).
const BLOCKED_COUNT_DEFAULT: &[u8] = b"1000";

/// Parks the client when BLOCK was given and it may block; otherwise replies with a null array.
/// The command parked has each `$` replaced by the ID it stood for, and COUNT 1000 when it had no
/// COUNT.
fn park(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, a: &ReadArgs<'_>, from: &[From]) {
    let Some(deadline_ms) = a.block.filter(|_| ctx.may_block) else {
        ctx.out.null_array();
        return;
    };
    let id_at = |k: usize| a.keys_at + a.streams + k;
    let dollar = |k: usize| argv.get(id_at(k)) == b"$";
    let rewrite = (a.count == 0 || (0..a.streams).any(dollar)).then(|| {
        let mut args: Vec<Vec<u8>> = argv.iter().map(<[u8]>::to_vec).collect();
        for (k, f) in from.iter().enumerate() {
            if let (true, From::After(id)) = (dollar(k), f) {
                let mut buf = [0u8; crate::types::stream::ID_TEXT_MAX];
                args[id_at(k)] = id.format(&mut buf).to_vec();
            }
        }
        if a.count == 0 {
            args.splice(1..1, [b"COUNT".to_vec(), BLOCKED_COUNT_DEFAULT.to_vec()]);
        }
        args
    });
    let keys = (0..a.streams).map(|k| argv.get(a.keys_at + k).to_vec());
    ctx.effects.block = Some(BlockRequest {
        keys: keys.collect(),
        deadline_ms,
        argv: rewrite,
    });
}

/// Whether `s` has a live entry in `start..`.
fn has_entries_from(s: &Stream, start: Option<StreamId>) -> bool {
    let Some(start) = start else {
        return false;
    };
    let mut any = false;
    s.for_each(start, StreamId::MAX, false, |_, _| {
        any = true;
        false
    });
    any
}

/// Replies with the entries of every stream that has some (XREAD), or is read by history
/// (XREADGROUP), and returns how many streams that was; nothing is written when it is 0.
fn serve(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    a: &ReadArgs<'_>,
    from: &[From],
) -> Result<usize, CmdError> {
    if let Some((group, consumer)) = a.group {
        return serve_group(ctx, argv, a, from, group, consumer);
    }
    let mut ready = Vec::with_capacity(a.streams);
    for (k, f) in from.iter().enumerate() {
        let has = match (
            ctx.ks.db(ctx.db).peek(argv.get(a.keys_at + k), ctx.now_ms),
            f,
        ) {
            (Some(e), From::After(id)) => match e.as_whole() {
                Some(Value::Stream(s)) => has_entries_from(s, id.next()),
                _ => false,
            },
            _ => false,
        };
        ready.push(has);
    }
    let served = ready.iter().filter(|r| **r).count();
    if served == 0 {
        return Ok(0);
    }
    write_header(ctx, served);
    for (k, f) in from.iter().enumerate() {
        if !ready[k] {
            continue;
        }
        let key = argv.get(a.keys_at + k);
        write_key(ctx, key);
        let (v, out) = ctx.lookup_with_out(key, true);
        if let (Some(Value::Stream(s)), From::After(id)) = (v, f) {
            let start = id.next().unwrap_or(StreamId::MAX);
            s.write_range(start, StreamId::MAX, false, a.count, out);
        }
    }
    Ok(served)
}

/// The reply's outer container: a map in RESP3, an array of pairs in RESP2.
fn write_header(ctx: &mut ExecCtx<'_>, n: usize) {
    if ctx.out.resp3() {
        ctx.out.map(n);
    } else {
        ctx.out.array(n);
    }
}

/// A stream's name, opening its pair in RESP2.
fn write_key(ctx: &mut ExecCtx<'_>, key: &[u8]) {
    if !ctx.out.resp3() {
        ctx.out.array(2);
    }
    ctx.out.bulk(key);
}

/// What XREADGROUP read from one stream.
enum Served {
    /// New entries, delivered to the consumer (where they are in the stream).
    New(Vec<(usize, crate::types::stream::node::Raw)>),
    /// The consumer's pending entries after an ID.
    History(Vec<StreamId>),
    /// `>` found nothing: the stream is left out of the reply.
    Nothing,
}

/// XREADGROUP's reads, one stream after the other (a key named twice sees what the first read
/// delivered), then the reply for the streams that gave something.
fn serve_group(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    a: &ReadArgs<'_>,
    from: &[From],
    group: &[u8],
    consumer: &[u8],
) -> Result<usize, CmdError> {
    let mut results = Vec::with_capacity(a.streams);
    let mut created = Vec::new();
    let mut log: Vec<Vec<Vec<u8>>> = Vec::new();
    for (k, f) in from.iter().enumerate() {
        let key = argv.get(a.keys_at + k);
        let (served, new_consumer) = deliver(ctx, key, group, consumer, *f, a, &mut log);
        if new_consumer {
            created.push(key);
        }
        results.push(served);
    }
    // The reads replay as the state changes they made: consumers created, entries claimed with
    // their delivery time and count, the group's cursor and read counter.
    ctx.propagate_nothing();
    for cmd in &log {
        let args: Vec<&[u8]> = cmd.iter().map(Vec::as_slice).collect();
        ctx.propagate_as(&args);
    }
    let served = results
        .iter()
        .filter(|r| !matches!(r, Served::Nothing))
        .count();
    if served > 0 {
        write_header(ctx, served);
    }
    for (k, r) in results.iter().enumerate() {
        if matches!(r, Served::Nothing) {
            continue;
        }
        let key = argv.get(a.keys_at + k);
        write_key(ctx, key);
        let (v, out) = ctx.lookup_with_out(key, false);
        let Some(Value::Stream(s)) = v else {
            out.array(0);
            continue;
        };
        match r {
            Served::New(found) => s.write_found(found, out),
            Served::History(ids) => {
                out.array(ids.len());
                for &id in ids {
                    match s.get(id) {
                        Some((node, raw)) => node.write_entry(&raw, out),
                        None => {
                            out.array(2);
                            id.write(out);
                            out.null_array();
                        }
                    }
                }
            }
            Served::Nothing => {}
        }
    }
    for key in created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    if served > 0 {
        ctx.touched(1);
    }
    Ok(served)
}

pub(super) fn words(args: &[&[u8]]) -> Vec<Vec<u8>> {
    args.iter().map(|a| a.to_vec()).collect()
}

/// The XCLAIM that replays a delivery: `id` pending for `consumer` since `at_ms`, delivered
/// `count` times, with the group's cursor at `last`.
pub(super) fn claim(
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: StreamId,
    at_ms: u64,
    count: u64,
    last: StreamId,
) -> Vec<Vec<u8>> {
    let (mut a, mut b) = (
        [0u8; crate::types::stream::ID_TEXT_MAX],
        [0u8; crate::types::stream::ID_TEXT_MAX],
    );
    let (at, count) = (alloc::format!("{at_ms}"), alloc::format!("{count}"));
    words(&[
        b"XCLAIM",
        key,
        group,
        consumer,
        b"0",
        id.format(&mut a),
        b"TIME",
        at.as_bytes(),
        b"RETRYCOUNT",
        count.as_bytes(),
        b"FORCE",
        b"JUSTID",
        b"LASTID",
        last.format(&mut b),
    ])
}

/// Reads one stream for XREADGROUP and updates the group: new entries become pending for
/// `consumer` (unless NOACK) and move the group's cursor and read counter; history reads count a
/// delivery of each pending entry still in the stream. The consumer is created (second value) and
/// its seen time set only when the stream is served.
fn deliver(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    from: From,
    a: &ReadArgs<'_>,
    log: &mut Vec<Vec<Vec<u8>>>,
) -> (Served, bool) {
    let now_ms = ctx.now_ms;
    let Some(Value::Stream(s)) = ctx.lookup_write(key) else {
        return (Served::Nothing, false);
    };
    let s: &mut Stream = s;
    let Some(last_id) = s.groups.get(group).map(|g| g.last_id) else {
        return (Served::Nothing, false);
    };
    match from {
        From::New => {
            let found = match last_id.next() {
                Some(start) => s.collect(start, StreamId::MAX, false, a.count),
                None => Vec::new(),
            };
            if found.is_empty() {
                return (Served::Nothing, false);
            }
            let counters: Vec<(StreamId, bool, Option<u64>)> = found
                .iter()
                .map(|(_, raw)| {
                    let id = raw.id;
                    (
                        id,
                        s.has_tombstones(id, StreamId::MAX),
                        s.estimate_read_counter(id),
                    )
                })
                .collect();
            let entries_added = s.entries_added;
            let Some(g) = s.groups.get_mut(group) else {
                return (Served::Nothing, false);
            };
            let (c, created) = g.consumer(consumer, now_ms);
            c.seen_ms = now_ms;
            let log_from = log.len();
            let mut moved = false;
            for (id, tombstones, estimate) in counters {
                if id <= g.last_id {
                    continue;
                }
                match g.entries_read {
                    Some(n) if !tombstones => g.entries_read = Some(n + 1),
                    _ if entries_added > 0 => g.entries_read = estimate,
                    _ => {}
                }
                g.last_id = id;
                moved = true;
                if !a.noack {
                    g.deliver(id, consumer, now_ms);
                    log.push(claim(key, group, consumer, id, now_ms, 1, g.last_id));
                }
            }
            // Like Redis 7.0: delivered entries replay as XCLAIMs only (they create the consumer
            // and carry the group's last ID); without them, a new consumer and (NOACK) the moved
            // last ID replay on their own.
            if log.len() == log_from {
                if created {
                    log.push(words(&[b"XGROUP", b"CREATECONSUMER", key, group, consumer]));
                }
                if moved {
                    let read = g.entries_read.map_or(-1, |n| n as i64);
                    let mut idbuf = [0u8; crate::types::stream::ID_TEXT_MAX];
                    let last = g.last_id.format(&mut idbuf).to_vec();
                    let read = alloc::format!("{read}").into_bytes();
                    log.push(words(&[
                        b"XGROUP",
                        b"SETID",
                        key,
                        group,
                        &last,
                        b"ENTRIESREAD",
                        &read,
                    ]));
                }
            }
            (Served::New(found), created)
        }
        From::After(id) => {
            let created = match s.groups.get_mut(group) {
                Some(g) => {
                    let (c, created) = g.consumer(consumer, now_ms);
                    c.seen_ms = now_ms;
                    created
                }
                None => false,
            };
            let pending = s
                .groups
                .get(group)
                .and_then(|g| g.consumers.get(consumer))
                .map(|c| {
                    let after = c.pel.range(id.next().unwrap_or(StreamId::MAX)..);
                    let after = after.filter(|_| id < StreamId::MAX);
                    match a.count {
                        0 => after.copied().collect::<Vec<_>>(),
                        n => after.take(n).copied().collect(),
                    }
                })
                .unwrap_or_default();
            let live: Vec<bool> = pending.iter().map(|&p| s.contains(p)).collect();
            if let Some(g) = s.groups.get_mut(group) {
                if created {
                    log.push(words(&[b"XGROUP", b"CREATECONSUMER", key, group, consumer]));
                }
                let last = g.last_id;
                for (&p, _) in pending.iter().zip(&live).filter(|(_, l)| **l) {
                    if let Some(n) = g.pel.get_mut(&p) {
                        n.delivery_ms = now_ms;
                        n.deliveries += 1;
                        log.push(claim(key, group, consumer, p, now_ms, n.deliveries, last));
                    }
                }
            }
            (Served::History(pending), created)
        }
    }
}
