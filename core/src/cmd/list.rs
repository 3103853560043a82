//! List commands: pushes and pops at both ends, index and range access, LINSERT, LREM, LTRIM, LPOS,
//! moves between lists (LMOVE, RPOPLPUSH), LMPOP, and the blocking forms BLPOP, BRPOP, BLMOVE,
//! BRPOPLPUSH and BLMPOP, with the replies, errors and keyspace events of Redis's `t_list.c`.
//!
//! A list never stays empty: the command that removes its last element deletes the key (with a
//! `del` event). A blocking command that finds nothing to pop writes no reply and asks its host to
//! park the client through [`super::Effects::block`]; the host runs the command again when one of
//! the keys changes, so the same handler serves the first attempt and every retry.

use super::KEY1;
use core::ops::Range;

use super::{
    acl, arg_i64, arg_timeout, eq_ci, err, flags as f, BlockRequest, CmdError, CmdResult, Command,
    ExecCtx,
};
use crate::journal::class;
use crate::resp::{Argv, ReplyWriter};
use crate::types::list::{End, List, Needle};
use crate::types::string::{CompactStr, IntBuf, I64_DIGITS_MAX};
use crate::types::Value;
use bumpalo::Bump;

const RW: u32 = acl::WRITE | acl::LIST;
const RO: u32 = acl::READ | acl::LIST;
const BLOCKING: u32 = RW | acl::SLOW | acl::BLOCKING;

const SRC_DST: (i32, i32, i32) = (1, 2, 1);
/// LMPOP and BLMPOP name their keys through a count, which first/last/step cannot express: Redis
/// reports 0, 0, 0 with the `movablekeys` flag.
const COUNTED_KEYS: (i32, i32, i32) = (0, 0, 0);

const PUSH_COST: &str = "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.";
const MPOP_COST: &str =
    "O(N+M) where N is the number of provided keys and M is the number of elements returned.";

const GROUP: &str = "list";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd!("lpush", -3, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, lpush,
        "Prepend one or multiple elements to a list", "1.0.0", PUSH_COST),
    cmd!("rpush", -3, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, rpush,
        "Append one or multiple elements to a list", "1.0.0", PUSH_COST),
    cmd!("lpushx", -3, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, lpushx,
        "Prepend an element to a list, only if the list exists", "2.2.0", PUSH_COST),
    cmd!("rpushx", -3, f::WRITE | f::DENYOOM | f::FAST, KEY1, RW | acl::FAST, rpushx,
        "Append an element to a list, only if the list exists", "2.2.0", PUSH_COST),
    cmd!("lpop", -2, f::WRITE | f::FAST, KEY1, RW | acl::FAST, lpop,
        "Remove and get the first elements in a list", "1.0.0",
        "O(N) where N is the number of elements returned"),
    cmd!("rpop", -2, f::WRITE | f::FAST, KEY1, RW | acl::FAST, rpop,
        "Remove and get the last elements in a list", "1.0.0",
        "O(N) where N is the number of elements returned"),
    cmd!("llen", 2, f::READONLY | f::FAST, KEY1, RO | acl::FAST, llen,
        "Get the length of a list", "1.0.0", "O(1)"),
    cmd!("lrange", 4, f::READONLY, KEY1, RO | acl::SLOW, lrange,
        "Get a range of elements from a list", "1.0.0",
        "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range."),
    cmd!("lindex", 3, f::READONLY, KEY1, RO | acl::SLOW, lindex,
        "Get an element from a list by its index", "1.0.0",
        "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1)."),
    cmd!("lset", 4, f::WRITE | f::DENYOOM, KEY1, RW | acl::SLOW, lset,
        "Set the value of an element in a list by its index", "1.0.0",
        "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1)."),
    cmd!("linsert", 5, f::WRITE | f::DENYOOM, KEY1, RW | acl::SLOW, linsert,
        "Insert an element before or after another element in a list", "2.2.0",
        "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N)."),
    cmd!("lrem", 4, f::WRITE, KEY1, RW | acl::SLOW, lrem,
        "Remove elements from a list", "1.0.0",
        "O(N+M) where N is the length of the list and M is the number of elements removed."),
    cmd!("ltrim", 4, f::WRITE, KEY1, RW | acl::SLOW, ltrim,
        "Trim a list to the specified range", "1.0.0",
        "O(N) where N is the number of elements to be removed by the operation."),
    cmd!("lpos", -3, f::READONLY, KEY1, RO | acl::SLOW, lpos,
        "Return the index of matching elements on a list", "6.0.6",
        "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time."),
    cmd!("rpoplpush", 3, f::WRITE | f::DENYOOM, SRC_DST, RW | acl::SLOW, rpoplpush,
        "Remove the last element in a list, prepend it to another list and return it", "1.2.0", "O(1)"),
    cmd!("lmove", 5, f::WRITE | f::DENYOOM, SRC_DST, RW | acl::SLOW, lmove,
        "Pop an element from a list, push it to another list and return it", "6.2.0", "O(1)"),
    cmd!("lmpop", -4, f::WRITE | f::MOVABLE_KEYS, COUNTED_KEYS, RW | acl::SLOW, lmpop,
        "Pop elements from a list", "7.0.0", MPOP_COST),
    cmd!("blpop", -3, f::WRITE | f::NOSCRIPT | f::BLOCKING, (1, -2, 1), BLOCKING, blpop,
        "Remove and get the first element in a list, or block until one is available", "2.0.0",
        "O(N) where N is the number of provided keys."),
    cmd!("brpop", -3, f::WRITE | f::NOSCRIPT | f::BLOCKING, (1, -2, 1), BLOCKING, brpop,
        "Remove and get the last element in a list, or block until one is available", "2.0.0",
        "O(N) where N is the number of provided keys."),
    cmd!("brpoplpush", 4, f::WRITE | f::DENYOOM | f::NOSCRIPT | f::BLOCKING, SRC_DST, BLOCKING,
        brpoplpush,
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "2.2.0", "O(1)"),
    cmd!("blmove", 6, f::WRITE | f::DENYOOM | f::NOSCRIPT | f::BLOCKING, SRC_DST, BLOCKING, blmove,
        "Pop an element from a list, push it to another list and return it; or block until one is available",
        "6.2.0", "O(1)"),
    cmd!("blmpop", -5, f::WRITE | f::BLOCKING | f::MOVABLE_KEYS, COUNTED_KEYS, BLOCKING, blmpop,
        "Pop elements from a list, or block until one is available", "7.0.0", MPOP_COST),
];

impl End {
    fn push_event(self) -> &'static str {
        match self {
            End::Head => "lpush",
            End::Tail => "rpush",
        }
    }

    fn pop_event(self) -> &'static str {
        match self {
            End::Head => "lpop",
            End::Tail => "rpop",
        }
    }
}

/// Parses LEFT / RIGHT.
fn arg_end(arg: &[u8]) -> Result<End, CmdError> {
    if eq_ci(arg, "left") {
        Ok(End::Head)
    } else if eq_ci(arg, "right") {
        Ok(End::Tail)
    } else {
        Err(err::SYNTAX)
    }
}

/// Parses a count that may not be negative (Redis's `getPositiveLongFromObjectOrReply`); `negative`
/// is the error for a negative value.
fn arg_count(arg: &[u8], negative: CmdError) -> Result<usize, CmdError> {
    let n = arg_i64(arg)?;
    usize::try_from(n).map_err(|_| negative)
}

/// Parses a count that must be at least 1, with one error for anything else (LMPOP's numkeys and
/// COUNT, Redis's `getRangeLongFromObjectOrReply` with a message).
fn arg_at_least_one(arg: &[u8], error: &'static str) -> Result<usize, CmdError> {
    match arg_i64(arg) {
        Ok(n) if n >= 1 => Ok(usize::try_from(n).unwrap_or(usize::MAX)),
        _ => Err(CmdError::new(error)),
    }
}

/// The list at `key` together with the reply writer. A `read` lookup counts a keyspace hit or miss
/// and honours CLIENT NO-TOUCH, as [`ExecCtx::lookup_read`] does; otherwise it is a write lookup.
fn list_at<'c, 'a>(
    ctx: &'c mut ExecCtx<'a>,
    key: &[u8],
    read: bool,
) -> Result<(Option<&'c mut List>, &'c mut ReplyWriter<'a>), CmdError> {
    match ctx.lookup_with_out(key, read) {
        (None, out) => Ok((None, out)),
        (Some(Value::List(l)), out) => Ok((Some(l), out)),
        (Some(_), _) => Err(err::WRONGTYPE),
    }
}

/// Adds a new list under `key`, which a write lookup just found absent (Redis's `dbAdd`: a `new`
/// event, no change counted).
fn add_list(ctx: &mut ExecCtx<'_>, key: &[u8], list: List) {
    let now_s = ctx.now_s();
    ctx.ks
        .db_mut(ctx.db)
        .insert_new(key, Value::List(alloc::boxed::Box::new(list)), now_s);
    ctx.notify(class::NEW, "new", key);
}

/// Records elements popped from `key` (Redis's `listElementsRemoved`): the pop event, the deletion of
/// a list left empty, and `count` changes.
fn popped(ctx: &mut ExecCtx<'_>, key: &[u8], end: End, now_empty: bool, count: usize) {
    ctx.wrote(class::LIST, end.pop_event(), key);
    if now_empty {
        ctx.ks.db_mut(ctx.db).remove(key);
        ctx.notify(class::GENERIC, "del", key);
    }
    ctx.touched(count as u64);
}

#[inline]
fn reply_item(out: &mut ReplyWriter<'_>, item: &CompactStr) {
    let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
    out.bulk(item.as_bytes(&mut scratch));
}

/// Replies with the elements from `start` to `end` inclusive, negative indexes counting from the
/// tail (Redis's `addListRangeReply`). Writes as it walks: nothing is allocated for the range.
fn reply_range(out: &mut ReplyWriter<'_>, l: &List, start: i64, end: i64, scratch: &Bump) {
    let len = l.len() as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    if start > end || start >= len {
        out.array(0);
        return;
    }
    let end = end.min(len - 1);
    out.array((end - start + 1) as usize);
    for it in l.range(start as usize, end as usize + 1, scratch) {
        out.bulk(it);
    }
}

/// Pops up to `count` elements from one end, replying with each as it goes; returns how many.
fn pop_into_reply(out: &mut ReplyWriter<'_>, l: &mut List, end: End, count: usize) -> usize {
    let n = count.min(l.len());
    out.array(n);
    for _ in 0..n {
        if let Some(it) = l.pop(end) {
            reply_item(out, &it);
        }
    }
    n
}

/// The shared body of LPUSH, RPUSH, LPUSHX and RPUSHX; `existing_only` for the X forms.
fn push_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, end: End, existing_only: bool) -> CmdResult {
    let key = argv.get(1);
    let fill = ctx.config.list_max_listpack_size;
    let values = argv.tail(2);
    let len = match list_at(ctx, key, false)? {
        (Some(l), _) => {
            values.iter().for_each(|v| l.push(end, v));
            l.grew(fill);
            l.len()
        }
        (None, out) if existing_only => {
            out.int(0);
            return Ok(());
        }
        (None, _) => {
            let mut l = List::with_compress_depth(ctx.config.list_compress_depth);
            values.iter().for_each(|v| l.push(end, v));
            l.grew(fill);
            let n = l.len();
            add_list(ctx, key, l);
            n
        }
    };
    ctx.touched(values.len() as u64);
    ctx.wrote(class::LIST, end.push_event(), key);
    ctx.out.int(len as i64);
    Ok(())
}

/// LPUSH key element [element ...]. O(1) per element.
fn lpush(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    push_generic(ctx, argv, End::Head, false)
}

/// RPUSH key element [element ...]. O(1) per element.
fn rpush(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    push_generic(ctx, argv, End::Tail, false)
}

/// LPUSHX key element [element ...]. O(1) per element.
fn lpushx(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    push_generic(ctx, argv, End::Head, true)
}

/// RPUSHX key element [element ...]. O(1) per element.
fn rpushx(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    push_generic(ctx, argv, End::Tail, true)
}

/// The shared body of LPOP and RPOP: one element as a bulk, or with a count an array.
fn pop_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, end: End, name: &str) -> CmdResult {
    if argv.len() > 3 {
        return Err(err::wrong_arity(name));
    }
    let count = match argv.len() {
        3 => Some(arg_count(argv.get(2), err::OUT_OF_RANGE)?),
        _ => None,
    };
    let key = argv.get(1);
    let fill = ctx.config.list_max_listpack_size;
    let (Some(l), out) = list_at(ctx, key, false)? else {
        match count {
            Some(_) => ctx.out.null_array(),
            None => ctx.out.null(),
        }
        return Ok(());
    };
    let n = match count {
        Some(0) => {
            out.array(0);
            return Ok(());
        }
        Some(count) => pop_into_reply(out, l, end, count),
        None => match l.pop(end) {
            Some(it) => {
                reply_item(out, &it);
                1
            }
            None => {
                out.null();
                return Ok(());
            }
        },
    };
    l.shrank(fill);
    let now_empty = l.is_empty();
    popped(ctx, key, end, now_empty, n);
    Ok(())
}

/// LPOP key [count]. O(N) in the elements returned.
fn lpop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    pop_generic(ctx, argv, End::Head, "lpop")
}

/// RPOP key [count]. O(N) in the elements returned.
fn rpop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    pop_generic(ctx, argv, End::Tail, "rpop")
}

/// LLEN key. O(1).
fn llen(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (l, out) = list_at(ctx, argv.get(1), true)?;
    out.int(l.map_or(0, |l| l.len()) as i64);
    Ok(())
}

/// LRANGE key start stop. O(S+N): S to reach start, N elements returned.
fn lrange(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (start, end) = (arg_i64(argv.get(2))?, arg_i64(argv.get(3))?);
    ctx.with_scratch(|ctx, scratch| {
        match list_at(ctx, argv.get(1), true)? {
            (Some(l), out) => reply_range(out, l, start, end, scratch),
            (None, out) => out.array(0),
        }
        Ok(())
    })
}

/// LINDEX key index. O(1).
fn lindex(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    // Redis looks the key up (null, WRONGTYPE) before it parses the index.
    ctx.with_scratch(|ctx, scratch| {
        let (Some(l), out) = list_at(ctx, argv.get(1), true)? else {
            ctx.out.null();
            return Ok(());
        };
        match l.get(arg_i64(argv.get(2))?, scratch) {
            Some(it) => out.bulk(it),
            None => out.null(),
        }
        Ok(())
    })
}

/// LSET key index element. O(1).
fn lset(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let fill = ctx.config.list_max_listpack_size;
    let l = list_at(ctx, key, false)?.0.ok_or(err::NO_SUCH_KEY)?;
    if !l.set(arg_i64(argv.get(2))?, argv.get(3)) {
        return Err(CmdError::new("ERR index out of range"));
    }
    l.grew(fill);
    l.shrank(fill);
    ctx.touched(1);
    ctx.wrote(class::LIST, "lset", key);
    ctx.out.ok();
    Ok(())
}

/// LINSERT key BEFORE|AFTER pivot element. O(N) to find the pivot.
fn linsert(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let after = match argv.get(2) {
        a if eq_ci(a, "after") => true,
        a if eq_ci(a, "before") => false,
        _ => return Err(err::SYNTAX),
    };
    let key = argv.get(1);
    let fill = ctx.config.list_max_listpack_size;
    let (Some(l), out) = list_at(ctx, key, false)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let Some(at) = l.position(&Needle::new(argv.get(3)), &Bump::new()) else {
        out.int(-1);
        return Ok(());
    };
    l.insert(at + after as usize, argv.get(4));
    l.grew(fill);
    let len = l.len();
    ctx.touched(1);
    ctx.wrote(class::LIST, "linsert", key);
    ctx.out.int(len as i64);
    Ok(())
}

/// LREM key count element. O(N).
fn lrem(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let count = arg_i64(argv.get(2))?;
    let key = argv.get(1);
    let fill = ctx.config.list_max_listpack_size;
    let (Some(l), _) = list_at(ctx, key, false)? else {
        ctx.out.int(0);
        return Ok(());
    };
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = l.remove_matching(&Needle::new(argv.get(3)), limit, count < 0);
    l.shrank(fill);
    let now_empty = l.is_empty();
    if removed > 0 {
        ctx.touched(removed as u64);
        ctx.wrote(class::LIST, "lrem", key);
    }
    if now_empty {
        ctx.ks.db_mut(ctx.db).remove(key);
        ctx.notify(class::GENERIC, "del", key);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

/// LTRIM key start stop. O(N) in the elements removed.
fn ltrim(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (start, end) = (arg_i64(argv.get(2))?, arg_i64(argv.get(3))?);
    let key = argv.get(1);
    let fill = ctx.config.list_max_listpack_size;
    let (Some(l), _) = list_at(ctx, key, false)? else {
        ctx.out.ok();
        return Ok(());
    };
    let len = l.len() as i64;
    let start = if start < 0 { len + start } else { start }.max(0);
    let end = if end < 0 { len + end } else { end };
    let (head, tail) = if start > end || start >= len {
        (len, 0)
    } else {
        (start, len - end.min(len - 1) - 1)
    };
    l.trim(head as usize, tail as usize);
    l.shrank(fill);
    let now_empty = l.is_empty();
    ctx.wrote(class::LIST, "ltrim", key);
    if now_empty {
        ctx.ks.db_mut(ctx.db).remove(key);
        ctx.notify(class::GENERIC, "del", key);
    }
    ctx.touched((head + tail) as u64);
    ctx.out.ok();
    Ok(())
}

/// LPOS's options.
struct LposOptions {
    /// Which match to start from (1 = the first); negative searches from the tail.
    rank: i64,
    /// Matches to return (0 = all); `None` for a single index instead of an array.
    count: Option<usize>,
    /// Elements to scan at most (0 = all).
    maxlen: usize,
}

fn parse_lpos(argv: Argv<'_>) -> Result<LposOptions, CmdError> {
    let mut o = LposOptions {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 3;
    while i < argv.len() {
        let opt = argv.get(i);
        let has_value = i + 1 < argv.len();
        let value = if has_value { argv.get(i + 1) } else { b"" };
        if eq_ci(opt, "rank") && has_value {
            o.rank = arg_i64(value)?;
            if o.rank == 0 {
                return Err(CmdError::new(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
            // -i64::MIN does not exist; later Redis versions refuse it the same way.
            if o.rank == i64::MIN {
                return Err(CmdError::new("ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807"));
            }
        } else if eq_ci(opt, "count") && has_value {
            o.count = Some(arg_count(
                value,
                CmdError::new("ERR COUNT can't be negative"),
            )?);
        } else if eq_ci(opt, "maxlen") && has_value {
            o.maxlen = arg_count(value, CmdError::new("ERR MAXLEN can't be negative"))?;
        } else {
            return Err(err::SYNTAX);
        }
        i += 2;
    }
    Ok(o)
}

/// Positions of the elements matching `needle` among the first `scan` of `items`, leaving out the
/// first `skip` matches and keeping `want` at most. The result is bounded by the list's length,
/// whatever COUNT asked for.
fn matching<'l>(
    items: impl Iterator<Item = (usize, &'l [u8])>,
    needle: &Needle<'_>,
    scan: usize,
    skip: usize,
    want: usize,
) -> alloc::vec::Vec<i64> {
    items
        .take(scan)
        .filter(|(_, it)| needle.matches(it))
        .skip(skip)
        .take(want)
        .map(|(i, _)| i as i64)
        .collect()
}

/// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]. O(N).
fn lpos(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let o = parse_lpos(argv)?;
    ctx.with_scratch(|ctx, scratch| {
        let (Some(l), out) = list_at(ctx, argv.get(1), true)? else {
            match o.count {
                Some(_) => ctx.out.array(0),
                None => ctx.out.null(),
            }
            return Ok(());
        };
        let needle = Needle::new(argv.get(2));
        let len = l.len();
        let scan = if o.maxlen == 0 {
            len
        } else {
            o.maxlen.min(len)
        };
        let skip = usize::try_from(o.rank.unsigned_abs() - 1).unwrap_or(usize::MAX);
        let want = match o.count {
            None => 1,
            Some(0) => usize::MAX,
            Some(n) => n,
        };
        let found = if o.rank < 0 {
            let from_tail = l
                .iter(scratch)
                .rev()
                .enumerate()
                .map(|(k, it)| (len - 1 - k, it));
            matching(from_tail, &needle, scan, skip, want)
        } else {
            matching(l.iter(scratch).enumerate(), &needle, scan, skip, want)
        };
        match o.count {
            Some(_) => {
                out.array(found.len());
                found.iter().for_each(|&i| out.int(i));
            }
            None => match found.first() {
                Some(&i) => out.int(i),
                None => out.null(),
            },
        }
        Ok(())
    })
}

/// The shared body of LMOVE, RPOPLPUSH and, once an element is there, BLMOVE and BRPOPLPUSH.
/// Replies with the moved element, or null when the source is empty.
fn move_generic(ctx: &mut ExecCtx<'_>, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    let fill = ctx.config.list_max_listpack_size;
    if list_at(ctx, src, false)?.0.is_none() {
        ctx.out.null();
        return Ok(());
    }
    // The destination's type is checked before anything is popped.
    let dst_exists = list_at(ctx, dst, false)?.0.is_some();
    let Some(value) = list_at(ctx, src, false)?.0.and_then(|l| l.pop(from)) else {
        ctx.out.null();
        return Ok(());
    };
    let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
    let bytes = value.as_bytes(&mut scratch);
    if dst_exists {
        if let (Some(l), _) = list_at(ctx, dst, false)? {
            l.push(to, bytes);
            l.grew(fill);
        }
    } else {
        let mut l = List::with_compress_depth(ctx.config.list_compress_depth);
        l.push(to, bytes);
        l.grew(fill);
        add_list(ctx, dst, l);
    }
    ctx.wrote(class::LIST, to.push_event(), dst);
    ctx.out.bulk(bytes);
    let now_empty = match list_at(ctx, src, false)?.0 {
        Some(l) => {
            l.shrank(fill);
            l.is_empty()
        }
        None => false,
    };
    popped(ctx, src, from, now_empty, 1);
    Ok(())
}

/// LMOVE source destination LEFT|RIGHT LEFT|RIGHT. O(1).
fn lmove(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (from, to) = (arg_end(argv.get(3))?, arg_end(argv.get(4))?);
    move_generic(ctx, argv.get(1), argv.get(2), from, to)
}

/// RPOPLPUSH source destination. O(1).
fn rpoplpush(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    move_generic(ctx, argv.get(1), argv.get(2), End::Tail, End::Head)
}

/// How a multi-key pop replies with what it took from the first non-empty list.
#[derive(Clone, Copy, PartialEq, Eq)]
enum PopReply {
    /// BLPOP, BRPOP: `[key, element]`.
    One,
    /// LMPOP, BLMPOP: `[key, [element ...]]` with up to this many elements.
    Many(usize),
}

/// Pops from the first of the keys at `keys` in `argv` holding a list, and replies; false (and no
/// reply) when none does. A key of another type met before a list stops the search with WRONGTYPE.
fn pop_first(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    keys: Range<usize>,
    end: End,
    reply: PopReply,
) -> Result<bool, CmdError> {
    let fill = ctx.config.list_max_listpack_size;
    for i in keys {
        let key = argv.get(i);
        let (Some(l), out) = list_at(ctx, key, false)? else {
            continue;
        };
        if l.is_empty() {
            continue;
        }
        out.array(2);
        out.bulk(key);
        let n = match reply {
            PopReply::One => {
                let it = l.pop(end).unwrap_or(CompactStr::EMPTY);
                reply_item(out, &it);
                1
            }
            PopReply::Many(count) => pop_into_reply(out, l, end, count),
        };
        l.shrank(fill);
        let now_empty = l.is_empty();
        popped(ctx, key, end, now_empty, n);
        // BLPOP, LMPOP and the like replay as the plain pop from the key they took from.
        let name: &[u8] = match end {
            End::Head => b"LPOP",
            End::Tail => b"RPOP",
        };
        match reply {
            PopReply::One => ctx.propagate_as(&[name, key]),
            PopReply::Many(_) => {
                let n = alloc::format!("{n}");
                ctx.propagate_as(&[name, key, n.as_bytes()]);
            }
        }
        return Ok(true);
    }
    Ok(false)
}

/// LMPOP's and BLMPOP's arguments after the timeout: `numkeys key [key ...] LEFT|RIGHT [COUNT n]`,
/// starting at `at`. Returns the key positions, the end and the count, validated in Redis's order.
fn parse_mpop(argv: Argv<'_>, at: usize) -> Result<(Range<usize>, End, usize), CmdError> {
    let numkeys = arg_at_least_one(argv.get(at), "ERR numkeys should be greater than 0")?;
    let keys_end = numkeys
        .checked_add(at + 1)
        .filter(|&e| e < argv.len())
        .ok_or(err::SYNTAX)?;
    let end = arg_end(argv.get(keys_end))?;
    let mut count = None;
    let mut i = keys_end + 1;
    while i < argv.len() {
        if count.is_none() && eq_ci(argv.get(i), "count") && i + 1 < argv.len() {
            count = Some(arg_at_least_one(
                argv.get(i + 1),
                "ERR count should be greater than 0",
            )?);
            i += 2;
        } else {
            return Err(err::SYNTAX);
        }
    }
    Ok((at + 1..keys_end, end, count.unwrap_or(1)))
}

/// LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count]. O(N+M): N keys, M elements returned.
fn lmpop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (keys, end, count) = parse_mpop(argv, 1)?;
    if !pop_first(ctx, argv, keys, end, PopReply::Many(count))? {
        ctx.out.null_array();
    }
    Ok(())
}

/// Parks the client on `keys` until `deadline_ms`, or, where it may not block (inside MULTI),
/// replies as a timeout would: a null array, or with `null_bulk` (BLMOVE, BRPOPLPUSH) a null bulk.
fn block_on(
    ctx: &mut ExecCtx<'_>,
    keys: impl Iterator<Item = alloc::vec::Vec<u8>>,
    deadline_ms: u64,
    null_bulk: bool,
) {
    if ctx.may_block {
        ctx.effects.block = Some(BlockRequest {
            keys: keys.collect(),
            deadline_ms,
            argv: None,
        });
    } else if null_bulk {
        ctx.out.null();
    } else {
        ctx.out.null_array();
    }
}

/// The shared body of BLPOP and BRPOP.
fn bpop_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, end: End) -> CmdResult {
    let last = argv.len() - 1;
    let deadline_ms = arg_timeout(argv.get(last), ctx.now_ms)?;
    if !pop_first(ctx, argv, 1..last, end, PopReply::One)? {
        block_on(
            ctx,
            (1..last).map(|i| argv.get(i).to_vec()),
            deadline_ms,
            false,
        );
    }
    Ok(())
}

/// BLPOP key [key ...] timeout. O(N) in the keys.
fn blpop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    bpop_generic(ctx, argv, End::Head)
}

/// BRPOP key [key ...] timeout. O(N) in the keys.
fn brpop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    bpop_generic(ctx, argv, End::Tail)
}

/// The shared body of BLMOVE and BRPOPLPUSH once their arguments are parsed.
fn bmove_generic(
    ctx: &mut ExecCtx<'_>,
    argv: Argv<'_>,
    from: End,
    to: End,
    deadline_ms: u64,
) -> CmdResult {
    let (src, dst) = (argv.get(1), argv.get(2));
    if list_at(ctx, src, false)?.0.is_some() {
        move_generic(ctx, src, dst, from, to)?;
        let side = |e: End| -> &'static [u8] {
            match e {
                End::Head => b"LEFT",
                End::Tail => b"RIGHT",
            }
        };
        if argv.len() == 4 {
            ctx.propagate_as(&[b"RPOPLPUSH", src, dst]);
        } else {
            ctx.propagate_as(&[b"LMOVE", src, dst, side(from), side(to)]);
        }
        return Ok(());
    }
    block_on(ctx, core::iter::once(src.to_vec()), deadline_ms, true);
    Ok(())
}

/// BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout. O(1).
fn blmove(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (from, to) = (arg_end(argv.get(3))?, arg_end(argv.get(4))?);
    let deadline_ms = arg_timeout(argv.get(5), ctx.now_ms)?;
    bmove_generic(ctx, argv, from, to, deadline_ms)
}

/// BRPOPLPUSH source destination timeout. O(1).
fn brpoplpush(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let deadline_ms = arg_timeout(argv.get(3), ctx.now_ms)?;
    bmove_generic(ctx, argv, End::Tail, End::Head, deadline_ms)
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]. O(N+M): N keys, M elements.
fn blmpop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    // Redis checks numkeys, the end and COUNT before the timeout.
    let (keys, end, count) = parse_mpop(argv, 2)?;
    let deadline_ms = arg_timeout(argv.get(1), ctx.now_ms)?;
    if !pop_first(ctx, argv, keys.clone(), end, PopReply::Many(count))? {
        block_on(ctx, keys.map(|i| argv.get(i).to_vec()), deadline_ms, false);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::find;
    use crate::cmd::testing::{bulks, StepHost, NOW_MS};
    use crate::resp::Proto;
    use crate::table::NO_EXPIRE;
    use alloc::string::String;
    use alloc::vec::Vec;

    const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";
    const NOT_INT: &str = "-ERR value is not an integer or out of range";
    const MIN: &str = "-9223372036854775808";
    const MAX: &str = "9223372036854775807";

    #[test]
    fn push_pop_and_nulls() {
        let mut h = StepHost::new();
        assert_eq!(h.run("rpush l a b 1"), ":3\r\n");
        assert_eq!((&h.events[..], h.effects.dirty), (&["new", "rpush"][..], 3));
        h.check(&[
            ("lpush l z", ":4\r\n"),
            ("lpushx nokey a", ":0\r\n"),
            ("rpushx l x y", ":6\r\n"),
        ]);
        assert!(!h.exists("nokey"));
        assert_eq!(h.run("lrange l 0 -1"), bulks("z a b 1 x y"));
        assert_eq!(h.run("lpop l"), "$1\r\nz\r\n");
        assert_eq!((h.run("rpop l 2"), h.effects.dirty), (bulks("y x"), 2));
        assert_eq!(h.run("lpop l 0"), "*0\r\n");
        assert_eq!(
            (h.run("lpop l 10"), &h.events[..]),
            (bulks("a b 1"), &["lpop", "del"][..])
        );
        assert!(!h.exists("l"));
        h.check(&[
            ("lpop l", "$-1\r\n"),
            ("lpop l 1", "*-1\r\n"),
            ("lpop l 0", "*-1\r\n"),
        ]);
        h.proto = Proto::Resp3;
        h.check(&[
            ("rpop l", "_\r\n"),
            ("rpop l 3", "_\r\n"),
            ("lpop l -1", "-ERR value is out of range, must be positive"),
            ("lpop l x", NOT_INT),
            (
                "lpop l 1 1",
                "-ERR wrong number of arguments for 'lpop' command",
            ),
            (
                "rpop l 1 1",
                "-ERR wrong number of arguments for 'rpop' command",
            ),
        ]);
        let v = Value::Str(CompactStr::from_value(b"x"));
        h.ks.db_mut(0).set(b"s", v, Some(NO_EXPIRE), 0);
        for line in [
            "lpush s a",
            "lpushx s a",
            "lpop s",
            "llen s",
            "lrange s 0 1",
            "lindex s 0",
            "lset s 0 a",
            "linsert s before a b",
            "lrem s 0 a",
            "ltrim s 0 1",
            "lpos s a",
            "rpoplpush s d",
            "lmpop 1 s left",
            "blpop s 0",
            "blmove s d left left 0",
            "blmpop 0 1 s left",
        ] {
            assert_eq!(h.run(line), WRONGTYPE, "{line}");
        }
    }

    #[test]
    fn binary_and_integer_elements() {
        let mut h = StepHost::new();
        let elements = ["12", "-0", "012", "9223372036854775808", "", "a b\r\n"];
        h.run_args(&[&["rpush", "l"][..], &elements].concat());
        let want: String = elements
            .iter()
            .map(|e| alloc::format!("${}\r\n{e}\r\n", e.len()))
            .collect();
        assert_eq!(h.run("lrange l 0 -1"), alloc::format!("*6\r\n{want}"));
        h.check(&[
            ("lpos l 012", ":2\r\n"),
            ("lpos l 12", ":0\r\n"),
            ("lrem l 0 -0", ":1\r\n"),
        ]);
    }

    #[test]
    fn ranges_and_trims() {
        let mut h = StepHost::new();
        h.run("rpush l a b c d");
        h.check(&[
            ("lrange l 1 2", &bulks("b c")),
            ("lrange l -100 100", &bulks("a b c d")),
            (&alloc::format!("lrange l {MIN} {MAX}"), &bulks("a b c d")),
            (&alloc::format!("lrange l {MAX} {MIN}"), "*0\r\n"),
            ("lrange l 2 1", "*0\r\n"),
            ("lrange l 4 9", "*0\r\n"),
            ("lrange l 0 x", NOT_INT),
            ("lrange nokey 0 -1", "*0\r\n"),
            ("ltrim l 1 -2", "+OK\r\n"),
            ("lrange l 0 -1", &bulks("b c")),
        ]);
        assert_eq!(h.run(&alloc::format!("ltrim l {MAX} {MIN}")), "+OK\r\n");
        assert_eq!((&h.events[..], h.effects.dirty), (&["ltrim", "del"][..], 2));
        assert_eq!(
            (h.run("ltrim l 0 1"), h.events.len()),
            ("+OK\r\n".into(), 0)
        );
    }

    #[test]
    fn index_set_insert_rem() {
        let mut h = StepHost::new();
        h.run("rpush l a b a c a");
        h.check(&[
            ("lindex l -1", "$1\r\na\r\n"),
            ("lindex l 5", "$-1\r\n"),
            (&alloc::format!("lindex l {MIN}"), "$-1\r\n"),
            ("lindex l x", NOT_INT),
            ("lindex nokey x", "$-1\r\n"),
            ("lset l 1 B", "+OK\r\n"),
            ("lset l 5 B", "-ERR index out of range"),
            (&alloc::format!("lset l {MAX} B"), "-ERR index out of range"),
            ("lset nokey x B", "-ERR no such key"),
            ("linsert l after c d", ":6\r\n"),
            ("linsert l BEFORE a 0", ":7\r\n"),
            ("linsert l before zz 0", ":-1\r\n"),
            ("linsert nokey before zz 0", ":0\r\n"),
            ("linsert l middle a 0", "-ERR syntax error"),
            ("lrange l 0 -1", &bulks("0 a B a c d a")),
            ("lrem l -2 a", ":2\r\n"),
            ("lrange l 0 -1", &bulks("0 a B c d")),
            ("lrem l 1 zz", ":0\r\n"),
            ("lrem nokey 1 zz", ":0\r\n"),
            ("lrem l x zz", NOT_INT),
            ("ltrim l 0 0", "+OK\r\n"),
            (&alloc::format!("lrem l {MIN} 0"), ":1\r\n"),
        ]);
        assert_eq!(h.events, ["lrem", "del"]);
    }

    #[test]
    fn lpos_options() {
        let mut h = StepHost::new();
        h.run("rpush l a b c 1 2 3 c c");
        h.check(&[
            ("lpos l c", ":2\r\n"),
            ("lpos l c rank 2", ":6\r\n"),
            ("lpos l c rank 4", "$-1\r\n"),
            ("lpos l c rank -1", ":7\r\n"),
            ("lpos l c count 0", "*3\r\n:2\r\n:6\r\n:7\r\n"),
            ("lpos l c count 2 rank -1", "*2\r\n:7\r\n:6\r\n"),
            ("lpos l c count 0 maxlen 3", "*1\r\n:2\r\n"),
            ("lpos l c count 0 maxlen 7 rank 2", "*1\r\n:6\r\n"),
            (&alloc::format!("lpos l c count {MAX} rank {MAX}"), "*0\r\n"),
            ("lpos nokey c count 1", "*0\r\n"),
            ("lpos nokey c", "$-1\r\n"),
            ("lpos l c count -1", "-ERR COUNT can't be negative"),
            ("lpos l c maxlen -1", "-ERR MAXLEN can't be negative"),
            ("lpos l c count", "-ERR syntax error"),
            ("lpos l c foo 1", "-ERR syntax error"),
        ]);
        // Options are checked before the key.
        assert!(h
            .run("lpos nokey c rank 0")
            .starts_with("-ERR RANK can't be zero: use 1 to"));
        let min_rank = h.run(&alloc::format!("lpos l c rank {MIN}"));
        assert!(min_rank.starts_with("-ERR value is out of range"));
    }

    #[test]
    fn moves_between_lists() {
        let mut h = StepHost::new();
        h.run("rpush src a b");
        assert_eq!(h.run("rpoplpush src dst"), "$1\r\nb\r\n");
        assert_eq!(
            (&h.events[..], h.effects.dirty),
            (&["new", "lpush", "rpop"][..], 1)
        );
        assert_eq!(h.run("lmove src dst left RIGHT"), "$1\r\na\r\n");
        assert_eq!(h.events, ["rpush", "lpop", "del"]);
        assert!(!h.exists("src"));
        h.check(&[
            ("lrange dst 0 -1", &bulks("b a")),
            ("lmove src dst left right", "$-1\r\n"),
            ("lmove dst dst left right", "$1\r\nb\r\n"),
            ("lrange dst 0 -1", &bulks("a b")),
            ("lmove dst dst up right", "-ERR syntax error"),
            ("rpush one x", ":1\r\n"),
            ("rpoplpush one one", "$1\r\nx\r\n"),
            ("lrange one 0 -1", &bulks("x")),
        ]);
        let v = Value::Str(CompactStr::from_value(b"x"));
        h.ks.db_mut(0).set(b"s", v, Some(NO_EXPIRE), 0);
        let cases = [
            ("rpoplpush dst s", WRONGTYPE),
            ("llen dst", ":2\r\n"),
            ("rpoplpush no s", "$-1\r\n"),
        ];
        h.check(&cases);
    }

    #[test]
    fn lmpop_replies_and_errors() {
        let mut h = StepHost::new();
        h.run("rpush l2 a b c");
        let popped = |elements: &str| alloc::format!("*2\r\n$2\r\nl2\r\n{}", bulks(elements));
        assert_eq!(h.run("lmpop 2 l1 l2 right count 2"), popped("c b"));
        assert_eq!(
            (h.run("lmpop 2 l1 l2 left"), &h.events[..]),
            (popped("a"), &["lpop", "del"][..])
        );
        let numkeys = "-ERR numkeys should be greater than 0";
        let count = "-ERR count should be greater than 0";
        h.check(&[
            ("lmpop 2 l1 l2 left", "*-1\r\n"),
            ("lmpop 0 l left", numkeys),
            ("lmpop a l left", numkeys),
            ("lmpop -1 l left", numkeys),
            (&alloc::format!("lmpop {MAX} l left"), "-ERR syntax error"),
            ("lmpop 1 l bad", "-ERR syntax error"),
            ("lmpop 1 l left bad", "-ERR syntax error"),
            ("lmpop 1 l right left", "-ERR syntax error"),
            ("lmpop 1 l count", "-ERR syntax error"),
            ("lmpop 1 l left count 1 count 2", "-ERR syntax error"),
            ("lmpop 1 l left count 0", count),
            ("lmpop 1 l left count a", count),
            (
                "lmpop 1",
                "-ERR wrong number of arguments for 'lmpop' command",
            ),
            // BLMPOP checks its timeout after the rest, as Redis does.
            ("blmpop x 0 l left", numkeys),
            (
                "blmpop x 1 l left",
                "-ERR timeout is not a float or out of range",
            ),
            ("blmpop -1 1 l left", "-ERR timeout is negative"),
        ]);
    }

    #[test]
    fn blocking_forms() {
        let mut h = StepHost::new();
        h.run("rpush b x y");
        assert_eq!(
            (h.run("blpop a b 0"), &h.events[..]),
            (bulks("b x"), &["lpop"][..])
        );
        assert!(h.effects.block.is_none());
        assert_eq!(
            (h.run("brpop a b 1.5"), &h.events[..]),
            (bulks("b y"), &["rpop", "del"][..])
        );
        assert_eq!(h.run("blpop a b 1.5"), "");
        let block = |h: &StepHost| {
            h.effects
                .block
                .as_ref()
                .map(|b| (b.keys.clone(), b.deadline_ms))
        };
        let keys = |names: &[&str]| names.iter().map(|k| k.as_bytes().to_vec()).collect();
        assert_eq!(block(&h), Some((keys(&["a", "b"]), NOW_MS + 1500)));
        assert_eq!(h.run("blmove a d left left 0"), "");
        assert_eq!(block(&h), Some((keys(&["a"]), 0)));
        assert_eq!(h.run("blmpop 0.01 2 a c left count 3"), "");
        assert_eq!(block(&h), Some((keys(&["a", "c"]), NOW_MS + 10)));
        h.may_block = false;
        h.check(&[
            ("blpop a 0", "*-1\r\n"),
            ("blmpop 0 1 a left", "*-1\r\n"),
            ("brpoplpush a d 0", "$-1\r\n"),
            ("rpush a 1 2", ":2\r\n"),
            ("brpoplpush a d 0", "$1\r\n2\r\n"),
            ("blmove a d left right 0", "$1\r\n1\r\n"),
            ("lrange d 0 -1", &bulks("2 1")),
            ("rpush a 1 2 3", ":3\r\n"),
            (
                "blmpop 0 1 a right count 2",
                &alloc::format!("*2\r\n$1\r\na\r\n{}", bulks("3 2")),
            ),
            ("blpop a -1", "-ERR timeout is negative"),
            ("blpop a abc", "-ERR timeout is not a float or out of range"),
            (
                "brpoplpush a d inf",
                "-ERR timeout is not a float or out of range",
            ),
            ("blmove a d up left x", "-ERR syntax error"),
            (
                "blmove a d left left x",
                "-ERR timeout is not a float or out of range",
            ),
        ]);
        assert!(h.effects.block.is_none());
    }

    #[test]
    fn encoding_follows_config() {
        let mut h = StepHost::new();
        h.config.list_max_listpack_size = 3;
        h.run("rpush l a b c");
        assert_eq!(h.encoding("l"), "listpack");
        h.run("rpush l d");
        assert_eq!(h.encoding("l"), "quicklist");
        h.run("ltrim l 0 0");
        assert_eq!(h.encoding("l"), "listpack");
    }

    #[test]
    fn table_metadata() {
        let info = |name: &str| &find(name.as_bytes()).expect("command").info;
        assert_eq!(COMMANDS.len(), 22);
        assert!(COMMANDS
            .iter()
            .all(|c| c.info.group == "list" && c.info.acl & acl::LIST != 0));
        let blpop = info("blpop");
        assert_eq!(blpop.key_positions(4).collect::<Vec<_>>(), [1, 2]);
        assert_ne!(blpop.flags & f::BLOCKING, 0);
        assert_ne!(info("lpush").flags & f::DENYOOM, 0);
        assert_ne!(info("lmpop").flags & f::MOVABLE_KEYS, 0);
        assert_eq!(info("llen").acl, acl::READ | acl::LIST | acl::FAST);
        assert_eq!(
            info("blmove").acl,
            acl::WRITE | acl::LIST | acl::SLOW | acl::BLOCKING
        );
    }
}
