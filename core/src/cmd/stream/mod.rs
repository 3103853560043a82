//! Stream commands (Redis's `t_stream.c`): XADD, XTRIM, XRANGE, XREVRANGE, XLEN, XDEL and XSETID
//! here; reads with XREAD and XREADGROUP in [`read`], consumer groups (XGROUP, XACK, XPENDING,
//! XCLAIM, XAUTOCLAIM) in [`group`], XINFO in [`info`].
//!
//! Replies, error texts and keyspace events (`xadd`, `xtrim`, `xdel`, `xsetid`, `xgroup-*`) are
//! Redis 7.0's. A stream is not deleted when it becomes empty: it keeps its last ID and groups.

pub mod group;
pub mod info;
pub mod read;

use alloc::boxed::Box;
use alloc::vec::Vec;

use super::{
    acl, arg_i64, eq_ci, err, flags as f, CmdError, CmdResult, Command, CommandInfo, ExecCtx, KEY1,
    NOKEYS,
};
use crate::journal::class;
use crate::resp::Argv;
use crate::types::stream::{NodeLimits, Stream, StreamId, Trim};
use crate::types::Value;

const RW: u32 = acl::WRITE | acl::STREAM;
const RO: u32 = acl::READ | acl::STREAM;

const GROUP: &str = "stream";

static XGROUP_SUBS: &[CommandInfo] = &[
    sub!(
        "create",
        -5,
        f::WRITE | f::DENYOOM,
        (2, 2, 1),
        RW | acl::SLOW,
        "Create a consumer group.",
        "5.0.0"
    ),
    sub!(
        "setid",
        -5,
        f::WRITE,
        (2, 2, 1),
        RW | acl::SLOW,
        "Set a consumer group to an arbitrary last delivered ID value.",
        "5.0.0"
    ),
    sub!(
        "destroy",
        4,
        f::WRITE,
        (2, 2, 1),
        RW | acl::SLOW,
        "Destroy a consumer group.",
        "5.0.0"
    ),
    sub!(
        "createconsumer",
        5,
        f::WRITE | f::DENYOOM,
        (2, 2, 1),
        RW | acl::SLOW,
        "Create a consumer in a consumer group.",
        "6.2.0"
    ),
    sub!(
        "delconsumer",
        5,
        f::WRITE,
        (2, 2, 1),
        RW | acl::SLOW,
        "Delete a consumer from a consumer group.",
        "5.0.0"
    ),
    sub!(
        "help",
        2,
        f::LOADING | f::STALE,
        NOKEYS,
        acl::STREAM | acl::SLOW,
        "Show helpful text about the different subcommands",
        "5.0.0"
    ),
];

static XINFO_SUBS: &[CommandInfo] = &[
    sub!(
        "consumers",
        4,
        f::READONLY,
        (2, 2, 1),
        RO | acl::SLOW,
        "List the consumers in a consumer group",
        "5.0.0"
    ),
    sub!(
        "groups",
        3,
        f::READONLY,
        (2, 2, 1),
        RO | acl::SLOW,
        "List the consumer groups of a stream",
        "5.0.0"
    ),
    sub!(
        "stream",
        -3,
        f::READONLY,
        (2, 2, 1),
        RO | acl::SLOW,
        "Get information about a stream",
        "5.0.0"
    ),
    sub!(
        "help",
        2,
        f::LOADING | f::STALE,
        NOKEYS,
        acl::STREAM | acl::SLOW,
        "Show helpful text about the different subcommands",
        "5.0.0"
    ),
];

pub static COMMANDS: &[Command] = &[
    cmd!("xadd", -5, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, xadd, "Appends a new entry to a stream", "5.0.0", "O(1) when adding a new entry, O(N) when trimming where N being the number of entries evicted."),
    cmd!("xtrim", -4, f::WRITE, KEY1, RW | acl::SLOW, xtrim, "Trims the stream to (approximately if '~' is passed) a certain size", "5.0.0", "O(N), with N being the number of evicted entries. Constant times are very small however, since entries are organized in macro nodes containing multiple entries that can be released with a single deallocation."),
    cmd!("xrange", -4, f::READONLY, KEY1, RO | acl::SLOW, xrange, "Return a range of elements in a stream, with IDs matching the specified IDs interval", "5.0.0", "O(N) with N being the number of elements being returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1)."),
    cmd!("xrevrange", -4, f::READONLY, KEY1, RO | acl::SLOW, xrevrange, "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE", "5.0.0", "O(N) with N being the number of elements returned. If N is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1)."),
    cmd!("xlen", 2, f::READONLY | f::FAST, KEY1, RO | acl::FAST, xlen, "Return the number of entries in a stream", "5.0.0", "O(1)"),
    cmd!("xdel", -3, f::WRITE | f::FAST, KEY1, RW | acl::FAST, xdel, "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.", "5.0.0", "O(1) for each single item to delete in the stream, regardless of the stream size."),
    cmd!("xsetid", -3, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, xsetid, "An internal command for replicating stream values", "5.0.0", "O(1)"),
    cmd!("xread", -4, f::READONLY | f::BLOCKING | f::MOVABLE_KEYS, NOKEYS, RO | acl::SLOW | acl::BLOCKING, read::xread, "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.", "5.0.0", "For each stream mentioned: O(N) with N being the number of elements being returned, it means that XREAD-ing with a fixed COUNT is O(1). Note that when the BLOCK option is used, XADD will pay O(M) time in order to serve the M clients blocked on the stream getting new data."),
    cmd!("xreadgroup", -7, f::WRITE | f::BLOCKING | f::MOVABLE_KEYS, NOKEYS, RW | acl::SLOW | acl::BLOCKING, read::xreadgroup, "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.", "5.0.0", "For each stream mentioned: O(M) with M being the number of elements returned. If M is constant (e.g. always asking for the first 10 elements with COUNT), you can consider it O(1). On the other side when XREADGROUP blocks, XADD will pay the O(N) time in order to serve the N clients blocked on the stream getting new data."),
    cmd!("xgroup", -2, 0, NOKEYS, acl::SLOW, group::xgroup, "A container for consumer groups commands", "5.0.0", subcommands: XGROUP_SUBS),
    cmd!("xack", -4, f::WRITE | f::FAST, KEY1, RW | acl::FAST, group::xack, "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.", "5.0.0", "O(1) for each message ID processed."),
    cmd!("xpending", -3, f::READONLY, KEY1, RO | acl::SLOW, group::xpending, "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.", "5.0.0", "O(N) with N being the number of elements returned, so asking for a small fixed number of entries per call is O(1). O(M), where M is the total number of entries scanned when used with the IDLE filter. When the command returns just the summary and the list of consumers is small, it runs in O(1) time; otherwise, an additional O(N) time for iterating every consumer."),
    cmd!("xclaim", -6, f::WRITE | f::FAST, KEY1, RW | acl::FAST, group::xclaim, "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.", "5.0.0", "O(log N) with N being the number of messages in the PEL of the consumer group."),
    cmd!("xautoclaim", -6, f::WRITE | f::FAST, KEY1, RW | acl::FAST, group::xautoclaim, "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.", "6.2.0", "O(1) if COUNT is small."),
    cmd!("xinfo", -2, 0, NOKEYS, acl::SLOW, info::xinfo, "A container for stream introspection commands", "5.0.0", subcommands: XINFO_SUBS),
];

/// Where XREAD and XREADGROUP name their keys, for COMMAND GETKEYS: the first half of the
/// arguments after STREAMS.
pub fn key_positions(argv: Argv<'_>) -> impl Iterator<Item = usize> {
    let streams = (1..argv.len()).find(|&i| eq_ci(argv.get(i), "streams"));
    let (from, n) = match streams {
        Some(i) => (i + 1, (argv.len() - i - 1) / 2),
        None => (0, 0),
    };
    from..from + n
}

const INVALID_ID: CmdError =
    CmdError::new("ERR Invalid stream ID specified as stream command argument");
const ID_TOO_SMALL: CmdError = CmdError::new(
    "ERR The ID specified in XADD is equal or smaller than the target stream top item",
);

/// Longest ID argument parsed (Redis reads IDs through a 128-byte buffer).
const ID_ARG_MAX: usize = 127;

/// Parses an unsigned decimal part of an ID (leading zeros allowed, as `strtoull` does).
fn parse_part(s: &[u8]) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let zeros = s.iter().take_while(|&&c| c == b'0').count();
    let s = &s[zeros.min(s.len() - 1)..];
    if s.len() > 20 {
        return None;
    }
    s.iter().try_fold(0u64, |v, &c| {
        c.is_ascii_digit().then_some(())?;
        v.checked_mul(10)?.checked_add(u64::from(c - b'0'))
    })
}

/// Parses `ms-seq` or `ms` (the seq is then `missing_seq`).
pub fn parse_id(arg: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    if arg.len() > ID_ARG_MAX {
        return Err(INVALID_ID);
    }
    let (ms, seq) = match arg.iter().position(|&c| c == b'-') {
        Some(dash) => (parse_part(&arg[..dash]), parse_part(&arg[dash + 1..])),
        None => (parse_part(arg), Some(missing_seq)),
    };
    match (ms, seq) {
        (Some(ms), Some(seq)) => Ok(StreamId { ms, seq }),
        _ => Err(INVALID_ID),
    }
}

/// Parses a range bound: `-`, `+`, an ID, or (with `exclusive_ok`) `(ID`, which excludes the ID
/// itself. `end` picks the missing seq (the bound's last ID) and which way `(` moves.
pub fn parse_bound(arg: &[u8], end: bool, exclusive_ok: bool) -> Result<StreamId, CmdError> {
    match arg {
        b"-" => return Ok(StreamId::MIN),
        b"+" => return Ok(StreamId::MAX),
        _ => {}
    }
    let missing_seq = if end { u64::MAX } else { 0 };
    if let (true, Some(rest)) = (exclusive_ok, arg.strip_prefix(b"(")) {
        let id = parse_id(rest, missing_seq)?;
        return if end {
            id.prev()
                .ok_or(CmdError::new("ERR invalid end ID for the interval"))
        } else {
            id.next()
                .ok_or(CmdError::new("ERR invalid start ID for the interval"))
        };
    }
    parse_id(arg, missing_seq)
}

/// The node limits from the config.
fn node_limits(ctx: &ExecCtx<'_>) -> NodeLimits {
    NodeLimits {
        bytes_max: ctx.config.stream_node_max_bytes,
        entries_max: ctx.config.stream_node_max_entries,
    }
}

/// A looked-up value as a stream: `None` when absent, WRONGTYPE for another type.
fn as_stream(v: Option<&mut Value>) -> Result<Option<&mut Stream>, CmdError> {
    match v {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(err::WRONGTYPE),
    }
}

/// The stream at `key` for reading (counting a hit or miss).
fn stream_of<'c>(ctx: &'c mut ExecCtx<'_>, key: &[u8]) -> Result<Option<&'c mut Stream>, CmdError> {
    as_stream(ctx.lookup_read(key))
}

/// The stream at `key` for writing.
fn stream_mut<'c>(
    ctx: &'c mut ExecCtx<'_>,
    key: &[u8],
) -> Result<Option<&'c mut Stream>, CmdError> {
    as_stream(ctx.lookup_write(key))
}

/// The stream at `key` (`read`: counting a hit or miss) beside the reply writer: `None` when
/// absent, WRONGTYPE for another type.
fn stream_with_out<'c, 'a>(
    ctx: &'c mut ExecCtx<'a>,
    key: &[u8],
    read: bool,
) -> Result<(Option<&'c mut Stream>, &'c mut crate::resp::ReplyWriter<'a>), CmdError> {
    match ctx.lookup_with_out(key, read) {
        (None, out) => Ok((None, out)),
        (Some(Value::Stream(s)), out) => Ok((Some(s), out)),
        (Some(_), _) => Err(err::WRONGTYPE),
    }
}

/// Trimming options of XADD and XTRIM.
#[derive(Default)]
struct TrimArgs {
    how: Option<Trim>,
    approx: bool,
    /// `None` when no LIMIT was given.
    limit: Option<u64>,
}

/// Default work limit of an approximate trim without LIMIT, in entries per node allowed.
const TRIM_LIMIT_NODES: u64 = 100;
/// The approximate trim limit when `stream-node-max-entries` is 0.
const TRIM_LIMIT_DEFAULT: u64 = 10_000;

impl TrimArgs {
    /// Parses MAXLEN/MINID [=|~] threshold and LIMIT at `argv[*i]`; false when the argument is
    /// none of them.
    fn parse(&mut self, argv: Argv<'_>, i: &mut usize) -> Result<bool, CmdError> {
        let opt = argv.get(*i);
        let more = argv.len() - 1 - *i;
        let maxlen = eq_ci(opt, "maxlen");
        if (maxlen || eq_ci(opt, "minid")) && more >= 1 {
            if self.how.is_some() {
                return Err(CmdError::new(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            let mut at = *i + 1;
            let next = argv.get(at);
            if (next == b"~" || next == b"=") && more >= 2 {
                self.approx = next == b"~";
                at += 1;
            }
            let threshold = argv.get(at);
            let how = if maxlen {
                let n = arg_i64(threshold)?;
                if n < 0 {
                    return Err(CmdError::new("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(parse_id(threshold, 0)?)
            };
            self.how = Some(how);
            *i = at;
            return Ok(true);
        }
        if eq_ci(opt, "limit") && more >= 1 {
            let n = arg_i64(argv.get(*i + 1))?;
            if n < 0 {
                return Err(CmdError::new("ERR The LIMIT argument must be >= 0."));
            }
            self.limit = Some(n as u64);
            *i += 1;
            return Ok(true);
        }
        Ok(false)
    }

    /// Checks the combination and gives the work limit for [`Stream::trim`] (0: none).
    fn work_limit(&self, ctx: &ExecCtx<'_>) -> Result<u64, CmdError> {
        if self.how.is_none() && self.limit.is_some_and(|n| n != 0) {
            return Err(CmdError::new(
                "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
            ));
        }
        if !self.approx {
            if self.limit.is_some() {
                return Err(CmdError::new(
                    "ERR syntax error, LIMIT cannot be used without the special ~ option",
                ));
            }
            return Ok(0);
        }
        Ok(self.limit.unwrap_or_else(|| {
            match TRIM_LIMIT_NODES.saturating_mul(ctx.config.stream_node_max_entries as u64) {
                0 => TRIM_LIMIT_DEFAULT,
                n => n.min(1_000_000),
            }
        }))
    }
}

/// How XADD was asked to pick the new ID.
#[derive(Clone, Copy)]
enum NewId {
    /// `*`: the time, or the next ID.
    Auto,
    /// `ms-*`: that ms, the next seq.
    Ms(u64),
    Exact(StreamId),
}

fn parse_new_id(arg: &[u8]) -> Result<NewId, CmdError> {
    if arg == b"*" {
        return Ok(NewId::Auto);
    }
    if let Some(ms) = arg.strip_suffix(b"-*") {
        return parse_part(ms).map(NewId::Ms).ok_or(INVALID_ID);
    }
    parse_id(arg, 0).map(NewId::Exact)
}

/// The ID XADD gives the next entry of `s`.
fn next_id(s: &Stream, how: NewId, now_ms: u64) -> Result<StreamId, CmdError> {
    let last = s.last_id;
    if last == StreamId::MAX {
        return Err(CmdError::new(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    match how {
        NewId::Auto if now_ms > last.ms => Ok(StreamId::new(now_ms, 0)),
        NewId::Auto => last.next().ok_or(ID_TOO_SMALL),
        NewId::Ms(ms) if ms > last.ms => Ok(StreamId::new(ms, 0)),
        NewId::Ms(ms) if ms == last.ms => last
            .seq
            .checked_add(1)
            .map(|seq| StreamId::new(ms, seq))
            .ok_or(ID_TOO_SMALL),
        NewId::Ms(_) => Err(ID_TOO_SMALL),
        NewId::Exact(id) if id > last => Ok(id),
        NewId::Exact(_) => Err(ID_TOO_SMALL),
    }
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value
/// [field value ...]. O(1) plus the trimmed entries.
fn xadd(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let mut trim = TrimArgs::default();
    let mut nomkstream = false;
    let mut i = 2;
    while i < argv.len() {
        let opt = argv.get(i);
        if eq_ci(opt, "nomkstream") {
            nomkstream = true;
        } else if opt == b"*" || !trim.parse(argv, &mut i)? {
            break;
        }
        i += 1;
    }
    let how = if i < argv.len() {
        parse_new_id(argv.get(i))?
    } else {
        NewId::Auto
    };
    let fields = argv.len().saturating_sub(i + 1);
    if fields < 2 || !fields.is_multiple_of(2) {
        return Err(err::wrong_arity("xadd"));
    }
    if matches!(how, NewId::Exact(id) if id.is_zero()) {
        return Err(CmdError::new(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let limit = trim.work_limit(ctx)?;
    let limits = node_limits(ctx);
    let now_ms = ctx.now_ms;
    let created = stream_mut(ctx, key)?.is_none();
    if created {
        if nomkstream {
            ctx.out.null();
            return Ok(());
        }
        // Check the ID first: a failed XADD leaves no empty stream behind.
        next_id(&Stream::new(), how, now_ms)?;
        ctx.store(key, Value::Stream(Box::new(Stream::new())), None);
    }
    let Some(s) = stream_mut(ctx, key)? else {
        return Ok(());
    };
    let id = next_id(s, how, now_ms)?;
    let fields: Vec<&[u8]> = argv.iter().skip(i + 1).collect();
    s.append(id, &fields, limits);
    let trimmed = match trim.how {
        Some(how) => s.trim(how, trim.approx, limit),
        None => 0,
    };
    // Logged with the ID it made and, for an approximate trim, the exact result of the trim.
    let trim_args = trim.how.map(|how| exact_trim(s, how, trim.approx));
    let mut idbuf = [0u8; crate::types::stream::ID_TEXT_MAX];
    let mut args: Vec<&[u8]> = alloc::vec![b"XADD", key];
    if nomkstream {
        args.push(b"NOMKSTREAM");
    }
    if let Some((name, threshold)) = &trim_args {
        args.extend([*name, &b"="[..], threshold.as_slice()]);
    }
    args.push(id.format(&mut idbuf));
    args.extend(fields.iter().copied());
    ctx.propagate_as(&args);
    id.write(&mut ctx.out);
    ctx.wrote(class::STREAM, "xadd", key);
    if trimmed > 0 {
        ctx.notify(class::STREAM, "xtrim", key);
    }
    if !created {
        ctx.touched(1);
    }
    Ok(())
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]. O(N) in the entries removed.
fn xtrim(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let mut trim = TrimArgs::default();
    let mut i = 2;
    while i < argv.len() {
        if !trim.parse(argv, &mut i)? {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if trim.how.is_none() && trim.limit.is_some_and(|n| n != 0) {
        trim.work_limit(ctx)?;
    }
    let Some(how) = trim.how else {
        return Err(CmdError::new(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    };
    let limit = trim.work_limit(ctx)?;
    let Some(s) = stream_mut(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let removed = s.trim(how, trim.approx, limit);
    let (name, threshold) = exact_trim(s, how, trim.approx);
    ctx.out.int(removed as i64);
    if removed > 0 {
        ctx.wrote(class::STREAM, "xtrim", key);
        ctx.touched(removed);
        ctx.propagate_as(&[b"XTRIM", key, name, b"=", &threshold]);
    }
    Ok(())
}

/// The trim option that replays a trim exactly: an approximate one (whose result depends on node
/// boundaries, and whose LIMIT replicas ignore) becomes `=` with the length or first ID it left.
fn exact_trim(s: &Stream, how: Trim, approx: bool) -> (&'static [u8], Vec<u8>) {
    let mut buf = [0u8; crate::types::stream::ID_TEXT_MAX];
    match (how, approx) {
        (Trim::MaxLen(_), true) => (b"MAXLEN", alloc::format!("{}", s.len()).into_bytes()),
        (Trim::MaxLen(n), false) => (b"MAXLEN", alloc::format!("{n}").into_bytes()),
        (Trim::MinId(_), true) => {
            let first = s.first_entry_id().unwrap_or(s.last_id);
            (b"MINID", first.format(&mut buf).to_vec())
        }
        (Trim::MinId(id), false) => (b"MINID", id.format(&mut buf).to_vec()),
    }
}

/// XRANGE key start end [COUNT count]. O(N) in the entries returned.
fn xrange(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range(ctx, argv, false)
}

/// XREVRANGE key end start [COUNT count]. O(N) in the entries returned.
fn xrevrange(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    range(ctx, argv, true)
}

fn range(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, rev: bool) -> CmdResult {
    let (a, b) = if rev { (3, 2) } else { (2, 3) };
    let start = parse_bound(argv.get(a), false, true)?;
    let end = parse_bound(argv.get(b), true, true)?;
    let mut count = None;
    let mut i = 4;
    while i < argv.len() {
        if eq_ci(argv.get(i), "count") && i + 1 < argv.len() {
            count = Some(arg_i64(argv.get(i + 1))?.max(0) as usize);
            i += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    let (v, out) = ctx.lookup_with_out(argv.get(1), true);
    let s = match v {
        None => {
            out.array(0);
            return Ok(());
        }
        Some(Value::Stream(s)) => s,
        Some(_) => return Err(err::WRONGTYPE),
    };
    match count {
        Some(0) => out.null_array(),
        Some(n) => {
            s.write_range(start, end, rev, n, out);
        }
        None => {
            s.write_range(start, end, rev, 0, out);
        }
    }
    Ok(())
}

/// XLEN key. O(1).
fn xlen(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let n = stream_of(ctx, argv.get(1))?.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// XDEL key id [id ...]. O(1) per ID (a node's entries are scanned).
fn xdel(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let Some(s) = stream_mut(ctx, key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let mut ids = Vec::with_capacity(argv.len() - 2);
    for arg in argv.iter().skip(2) {
        ids.push(parse_id(arg, 0)?);
    }
    let deleted = ids.into_iter().filter(|&id| s.delete(id)).count();
    ctx.out.int(deleted as i64);
    if deleted > 0 {
        ctx.wrote(class::STREAM, "xdel", key);
        ctx.touched(deleted as u64);
    }
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added MAXDELETEDID max-deleted-id]. O(1).
fn xsetid(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let id = parse_id(argv.get(2), 0)?;
    let mut added = None;
    let mut max_deleted = None;
    let mut i = 3;
    while i < argv.len() {
        let more = i + 1 < argv.len();
        let opt = argv.get(i);
        if eq_ci(opt, "entriesadded") && more {
            let n = arg_i64(argv.get(i + 1))?;
            if n < 0 {
                return Err(CmdError::new("ERR entries_added must be positive"));
            }
            added = Some(n as u64);
        } else if eq_ci(opt, "maxdeletedid") && more {
            let m = parse_id(argv.get(i + 1), 0)?;
            if id < m {
                return Err(CmdError::new(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            max_deleted = Some(m);
        } else {
            return Err(err::SYNTAX);
        }
        i += 2;
    }
    let Some(s) = stream_mut(ctx, key)? else {
        return Err(err::NO_SUCH_KEY);
    };
    if !s.is_empty() {
        // The new last ID may not hide an existing entry.
        if s.last_entry_id().is_some_and(|top| id < top) {
            return Err(CmdError::new(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if added.is_some_and(|n| n < s.len()) {
            return Err(CmdError::new(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if let Some(n) = added {
        s.entries_added = n;
    }
    if let Some(m) = max_deleted.filter(|m| !m.is_zero()) {
        s.max_deleted = m;
    }
    ctx.out.ok();
    ctx.notify(class::STREAM, "xsetid", key);
    ctx.touched(1);
    Ok(())
}
