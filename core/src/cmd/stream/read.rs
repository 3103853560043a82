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
    let mut resolved = false;
    for k in 0..a.streams {
        let key = argv.get(a.keys_at + k);
        let id_arg = argv.get(a.keys_at + a.streams + k);
        let last = match ctx.lookup_read(key) {
            None => None,
            Some(Value::Stream(s)) => Some(s.last_id),
            Some(_) => return Err(err::WRONGTYPE),
        };
        let id = match id_arg {
            b"$" => {
                resolved = true;
                last.unwrap_or_default()
            }
            b">" => {
                return Err(CmdError::new(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ))
            }
            _ => parse_id(id_arg, 0)?,
        };
        from.push(From::After(id));
    }
    let served = serve(ctx, argv, &a, &from)?;
    if served == 0 {
        let rewrite = resolved.then(|| {
            let mut args: Vec<Vec<u8>> = argv.iter().map(<[u8]>::to_vec).collect();
            for (k, f) in from.iter().enumerate() {
                if let From::After(id) = f {
                    let mut buf = [0u8; crate::types::stream::ID_TEXT_MAX];
                    args[a.keys_at + a.streams + k] = id.format(&mut buf).to_vec();
                }
            }
            args
        });
        park(ctx, argv, &a, rewrite);
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
        park(ctx, argv, &a, None);
    }
    Ok(())
}

/// Parks the client when BLOCK was given and it may block; otherwise replies with a null array.
fn park(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, a: &ReadArgs<'_>, rewrite: Option<Vec<Vec<u8>>>) {
    match a.block {
        Some(deadline_ms) if ctx.may_block => {
            let keys = (0..a.streams).map(|k| argv.get(a.keys_at + k).to_vec());
            ctx.effects.block = Some(BlockRequest {
                keys: keys.collect(),
                deadline_ms,
                argv: rewrite,
            });
        }
        _ => ctx.out.null_array(),
    }
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
    let group = a.group.map(|(g, _)| g);
    let mut ready = Vec::with_capacity(a.streams);
    for (k, f) in from.iter().enumerate() {
        let s = match ctx.ks.db(ctx.db).peek(argv.get(a.keys_at + k), ctx.now_ms) {
            Some(e) => match &e.value {
                Value::Stream(s) => Some(s.as_ref()),
                _ => None,
            },
            None => None,
        };
        let has = match (f, s) {
            (_, None) => false,
            (From::After(_), Some(_)) if group.is_some() => true,
            (From::After(id), Some(s)) => has_entries_from(s, id.next()),
            (From::New, Some(s)) => {
                let last = group.and_then(|g| s.groups.get(g)).map(|g| g.last_id);
                has_entries_from(s, last.and_then(StreamId::next))
            }
        };
        ready.push(has);
    }
    let served = ready.iter().filter(|r| **r).count();
    if served == 0 {
        return Ok(0);
    }
    if ctx.out.resp3() {
        ctx.out.map(served);
    } else {
        ctx.out.array(served);
    }
    for (k, f) in from.iter().enumerate() {
        if !ready[k] {
            continue;
        }
        let key = argv.get(a.keys_at + k);
        if !ctx.out.resp3() {
            ctx.out.array(2);
        }
        ctx.out.bulk(key);
        match (a.group, *f) {
            (None, From::After(id)) => {
                let (v, out) = ctx.lookup_with_out(key, true);
                if let Some(Value::Stream(s)) = v {
                    let start = id.next().unwrap_or(StreamId::MAX);
                    s.write_range(start, StreamId::MAX, false, a.count, out);
                }
            }
            (Some((g, consumer)), f) => serve_group(ctx, key, g, consumer, f, a)?,
            (None, From::New) => ctx.out.array(0),
        }
    }
    Ok(served)
}

/// Serves one stream of XREADGROUP: new entries (`>`), delivered to `consumer` and added to the
/// group's pending entries unless NOACK, or the consumer's pending entries after an ID.
fn serve_group(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    from: From,
    a: &ReadArgs<'_>,
) -> CmdResult {
    let now_ms = ctx.now_ms;
    let (v, out) = ctx.lookup_with_out(key, false);
    let Some(Value::Stream(s)) = v else {
        out.array(0);
        return Ok(());
    };
    let s: &mut Stream = s;
    let Some(g) = s.groups.get_mut(group) else {
        out.array(0);
        return Ok(());
    };
    let (c, created) = g.consumer(consumer, now_ms);
    c.seen_ms = now_ms;
    match from {
        From::New => {
            let start = g.last_id.next().unwrap_or(StreamId::MAX);
            let found = s.collect(start, StreamId::MAX, false, a.count);
            s.write_found(&found, out);
            let counters: Vec<(StreamId, bool, Option<u64>)> = found
                .iter()
                .map(|(_, raw)| {
                    (
                        raw.id,
                        s.has_tombstones(raw.id, StreamId::MAX),
                        s.estimate_read_counter(raw.id),
                    )
                })
                .collect();
            let entries_added = s.entries_added;
            if let Some(g) = s.groups.get_mut(group) {
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
                    if !a.noack {
                        g.deliver(id, consumer, now_ms);
                    }
                }
            }
        }
        From::After(id) => {
            let ids: Vec<StreamId> = match id.next() {
                Some(start) => {
                    let pel = c.pel.range(start..);
                    match a.count {
                        0 => pel.copied().collect(),
                        n => pel.take(n).copied().collect(),
                    }
                }
                None => Vec::new(),
            };
            out.array(ids.len());
            for id in ids {
                match s.get(id) {
                    Some((node, raw)) => {
                        node.write_entry(&raw, out);
                        if let Some(p) = s.groups.get_mut(group).and_then(|g| g.pel.get_mut(&id)) {
                            p.delivery_ms = now_ms;
                            p.deliveries += 1;
                        }
                    }
                    None => {
                        out.array(2);
                        id.write(out);
                        out.null_array();
                    }
                }
            }
        }
    }
    if created {
        ctx.notify(class::STREAM, "xgroup-createconsumer", key);
    }
    ctx.touched(1);
    Ok(())
}
