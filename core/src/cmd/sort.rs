//! SORT and SORT_RO: sorting the elements of a list, set or sorted set, numerically or bytewise
//! (ALPHA), by the elements themselves or by weights read from other keys (BY), returning the elements
//! or values looked up for them (GET), optionally stored as a list (STORE), with the replies, errors
//! and keyspace events of Redis 7.0's `sort.c`.
//!
//! A pattern names a key by substituting an element for its first `*`; `key->field` reads a hash
//! field instead of a string, and `#` stands for the element itself. BY with a pattern that has no
//! `*` (`BY nosort`) skips sorting: lists and sorted sets keep their own order (reversed by DESC),
//! and LIMIT then copies only the requested range. Elements are copied out of the sorted key before
//! any pattern is looked up, so lookups (which may expire keys) never alias the collection.

use super::KEY1;
use alloc::boxed::Box;
use alloc::vec::Vec;
use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use core::cmp::Ordering;

use super::{acl, arg_i64, eq_ci, err, flags as f, CmdError, CmdResult, Command, ExecCtx};
use crate::journal::class;
use crate::keyspace::Keyspace;
use crate::resp::{Argv, ReplyWriter};
use crate::table::NO_EXPIRE;
use crate::types::list::{End, List};
use crate::types::string::{IntBuf, I64_DIGITS_MAX};
use crate::types::Value;

/// SORT names one key in the legacy triple; STORE's destination (anywhere among the options) makes
/// its keys movable, and BY/GET name keys derived from the data, so SORT_RO is movable too.
const ACL: u32 = acl::SET | acl::SORTEDSET | acl::LIST | acl::SLOW | acl::DANGEROUS;
const COST: &str = "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).";

/// A hex float's exponent is clamped to this magnitude before scaling: far past where any `f64`
/// overflows or underflows, and a bound on the scaling loop.
const HEX_EXP_MAX: i64 = 4096;

const NOT_DOUBLE: CmdError = CmdError::new("ERR One or more scores can't be converted into double");

const GROUP: &str = "generic";

#[rustfmt::skip]
pub static COMMANDS: &[Command] = &[
    cmd!("sort", -2, f::WRITE | f::DENYOOM | f::MOVABLE_KEYS, KEY1, acl::WRITE | ACL, sort, "Sort the elements in a list, set or sorted set", "1.0.0", COST),
    cmd!("sort_ro", -2, f::READONLY | f::MOVABLE_KEYS, KEY1, acl::READ | ACL, sort_ro, "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", "7.0.0", COST),
];

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA]
/// [STORE destination]. O(N+M*log(M)): N elements, M returned; O(N) when not sorting.
fn sort(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    sort_generic(ctx, argv, false)
}

/// SORT_RO key [BY pattern] [LIMIT offset count] [GET pattern ...] [ASC|DESC] [ALPHA].
/// O(N+M*log(M)): N elements, M returned; O(N) when not sorting.
fn sort_ro(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    sort_generic(ctx, argv, true)
}

/// SORT's options, as parsed.
struct Options<'a> {
    /// The last BY pattern.
    by: Option<&'a [u8]>,
    /// Some BY pattern had no `*`: nothing to sort by, so nothing is sorted (Redis keeps this even
    /// when a later BY has a `*`).
    dontsort: bool,
    offset: i64,
    /// Elements wanted; negative for all.
    count: i64,
    /// GET patterns, in order (bounded by the argument count).
    gets: Vec<&'a [u8]>,
    desc: bool,
    alpha: bool,
    store: Option<&'a [u8]>,
}

/// Parses the options after the key, in Redis's order: the first bad one is the error.
fn parse(argv: Argv<'_>, readonly: bool) -> Result<Options<'_>, CmdError> {
    let mut o = Options {
        by: None,
        dontsort: false,
        offset: 0,
        count: -1,
        gets: Vec::new(),
        desc: false,
        alpha: false,
        store: None,
    };
    let mut j = 2;
    while j < argv.len() {
        let (opt, left) = (argv.get(j), argv.len() - j - 1);
        if eq_ci(opt, "asc") {
            o.desc = false;
        } else if eq_ci(opt, "desc") {
            o.desc = true;
        } else if eq_ci(opt, "alpha") {
            o.alpha = true;
        } else if eq_ci(opt, "limit") && left >= 2 {
            o.offset = arg_i64(argv.get(j + 1))?;
            o.count = arg_i64(argv.get(j + 2))?;
            j += 2;
        } else if !readonly && eq_ci(opt, "store") && left >= 1 {
            o.store = Some(argv.get(j + 1));
            j += 1;
        } else if eq_ci(opt, "by") && left >= 1 {
            let pattern = argv.get(j + 1);
            o.dontsort |= !pattern.contains(&b'*');
            o.by = Some(pattern);
            j += 1;
        } else if eq_ci(opt, "get") && left >= 1 {
            o.gets.push(argv.get(j + 1));
            j += 1;
        } else {
            return Err(err::SYNTAX);
        }
        j += 1;
    }
    Ok(o)
}

/// The shared body of SORT and SORT_RO (Redis's `sortCommandGeneric`).
fn sort_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, readonly: bool) -> CmdResult {
    let mut o = parse(argv, readonly)?;
    // The elements, their sort keys and GET patterns live in the command's scratch arena.
    ctx.with_scratch(|ctx, arena| {
        let value = ctx.lookup_read(argv.get(1)).map(|v| &*v);
        // A set has no order of its own: stored without sorting, it would differ between a master
        // and its replicas, so Redis sorts it bytewise instead.
        if o.dontsort && o.store.is_some() && matches!(value, Some(Value::Set(_))) {
            o.dontsort = false;
            o.alpha = true;
            o.by = None;
        }
        let (mut items, start, len) = load(value, &o, arena)?;
        if !o.dontsort {
            load_sort_keys(ctx, &mut items, &o, arena)?;
            let (alpha, by, desc) = (o.alpha, o.by.is_some(), o.desc);
            items.sort_by(|a, b| {
                let cmp = compare(a, b, alpha, by);
                if desc {
                    cmp.reverse()
                } else {
                    cmp
                }
            });
        }
        debug_assert!(start + len <= items.len());
        let picked = items.get(start..start + len).unwrap_or_default();
        let mut gets = BumpVec::with_capacity_in(o.gets.len(), arena);
        gets.extend(o.gets.iter().map(|p| Pattern::compile(p)));
        match o.store {
            None => reply(ctx, picked, &gets),
            Some(dst) => store(ctx, dst, picked, &gets),
        }
        Ok(())
    })
}

/// One element to sort and what it sorts by, copied into the command's scratch arena (looking
/// patterns up may expire keys, so nothing may point into the database).
struct Item<'b> {
    elem: &'b [u8],
    /// Numeric sort: the weight (0 when BY names a missing key).
    score: f64,
    /// ALPHA with BY: the looked-up value; `None` (a missing key) sorts first.
    weight: Option<&'b [u8]>,
}

impl<'b> Item<'b> {
    fn new(elem: &[u8], arena: &'b Bump) -> Self {
        Item {
            elem: arena.alloc_slice_copy(elem),
            score: 0.0,
            weight: None,
        }
    }
}

/// Redis's LIMIT clamping over `n` elements: the first position and the number of elements wanted.
/// Both are bounded by `n` whatever the client asked for.
fn window(offset: i64, count: i64, n: usize) -> (usize, usize) {
    let n = i64::try_from(n).unwrap_or(i64::MAX);
    let mut start = offset.clamp(0, n);
    let count = count.clamp(-1, n);
    let mut end = if count < 0 { n - 1 } else { start + count - 1 };
    if start >= n {
        start = n - 1;
        end = n - 2;
    }
    end = end.min(n - 1);
    if end < start {
        (0, 0)
    } else {
        (start as usize, (end - start + 1) as usize)
    }
}

/// Copies the elements to sort out of `value`; returns them with the range of them to output.
/// Without sorting, a list or sorted set gives only that range, in its own order (reversed by DESC).
fn load<'b>(
    value: Option<&Value>,
    o: &Options<'_>,
    arena: &'b Bump,
) -> Result<(BumpVec<'b, Item<'b>>, usize, usize), CmdError> {
    let n = match value {
        None => 0,
        Some(Value::List(l)) => l.len(),
        Some(Value::Set(s)) => s.len(),
        Some(Value::ZSet(z)) => z.len(),
        Some(_) => return Err(err::WRONGTYPE),
    };
    let (start, len) = window(o.offset, o.count, n);
    // Positions `from..from + len`, counted from the head, hold the range in either direction.
    let from = if o.desc { n - start - len } else { start };
    let mut items = BumpVec::new_in(arena);
    match value {
        Some(Value::List(l)) if o.dontsort => {
            items.reserve(len);
            let range = l
                .range(from, from + len, arena)
                .map(|e| Item::new(e, arena));
            if o.desc {
                items.extend(range.rev());
            } else {
                items.extend(range);
            }
        }
        Some(Value::ZSet(z)) if o.dontsort => {
            items.reserve(len);
            items.extend(
                z.range(from..from + len, o.desc, arena)
                    .map(|(m, _)| Item::new(m, arena)),
            );
        }
        Some(Value::List(l)) => {
            items.reserve(n);
            items.extend(l.iter(arena).map(|e| Item::new(e, arena)));
        }
        Some(Value::ZSet(z)) => {
            items.reserve(n);
            items.extend(z.iter(arena).map(|(m, _)| Item::new(m, arena)));
        }
        Some(Value::Set(s)) => {
            items.reserve(n);
            let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
            items.extend(s.iter().map(|m| Item::new(m.bytes(&mut scratch), arena)));
        }
        _ => {}
    }
    let ranged = o.dontsort && matches!(value, Some(Value::List(_) | Value::ZSet(_)));
    Ok(if ranged {
        (items, 0, len)
    } else {
        (items, start, len)
    })
}

/// Fills in what each element sorts by: its score (numeric sort, from the element or the BY
/// lookup) or, for ALPHA with BY, the looked-up value. Every element is looked at before a score
/// that is not a number fails the command, as in Redis.
fn load_sort_keys<'b>(
    ctx: &mut ExecCtx<'_>,
    items: &mut [Item<'b>],
    o: &Options<'_>,
    arena: &'b Bump,
) -> CmdResult {
    let by = o.by.map(Pattern::compile);
    let mut reader = Reader::new(ctx);
    let mut bad = false;
    for it in items.iter_mut() {
        let elem = it.elem;
        match (&by, o.alpha) {
            (Some(by), true) => {
                it.weight = reader.with(by, elem, |v| v.map(|v| &*arena.alloc_slice_copy(v)));
            }
            (None, true) => {}
            (Some(by), false) => {
                if let Some(score) = reader.with(by, elem, |v| v.map(parse_score)) {
                    bad |= score.is_none();
                    it.score = score.unwrap_or(0.0);
                }
            }
            (None, false) => {
                let score = parse_score(elem);
                bad |= score.is_none();
                it.score = score.unwrap_or(0.0);
            }
        }
    }
    if bad {
        Err(NOT_DOUBLE)
    } else {
        Ok(())
    }
}

/// Redis's `sortCompare` before DESC: numbers by score then bytewise (so equal scores give a
/// deterministic order); ALPHA bytewise, by the BY values when there is a BY (missing ones first,
/// ties left in place).
fn compare(a: &Item<'_>, b: &Item<'_>, alpha: bool, by: bool) -> Ordering {
    if !alpha {
        return match a.score.partial_cmp(&b.score) {
            Some(Ordering::Equal) | None => a.elem.cmp(b.elem),
            Some(o) => o,
        };
    }
    if !by {
        return a.elem.cmp(b.elem);
    }
    match (a.weight, b.weight) {
        (Some(x), Some(y)) => x.cmp(y),
        (x, y) => x.is_some().cmp(&y.is_some()),
    }
}

/// Replies with the sorted elements, or with the GET values for each (null where a key is missing).
fn reply(ctx: &mut ExecCtx<'_>, items: &[Item<'_>], gets: &[Pattern<'_>]) {
    let (mut reader, out) = Reader::split(ctx);
    out.array(items.len() * gets.len().max(1));
    for it in items {
        let elem = it.elem;
        if gets.is_empty() {
            out.bulk(elem);
        }
        for get in gets {
            reader.with(get, elem, |v| match v {
                Some(v) => out.bulk(v),
                None => out.null(),
            });
        }
    }
}

/// Stores the sorted elements (or their GET values, empty where a key is missing) as a list at
/// `dst`, replacing its value and TTL, and replies with the length. An empty result deletes `dst`.
fn store(ctx: &mut ExecCtx<'_>, dst: &[u8], items: &[Item<'_>], gets: &[Pattern<'_>]) {
    let mut list = List::with_compress_depth(ctx.config.list_compress_depth);
    let mut reader = Reader::new(ctx);
    for it in items {
        let elem = it.elem;
        if gets.is_empty() {
            list.push(End::Tail, elem);
        }
        for get in gets {
            reader.with(get, elem, |v| list.push(End::Tail, v.unwrap_or(b"")));
        }
    }
    let n = list.len();
    // A destination past its TTL is gone before it is replaced or deleted.
    let (now_ms, db) = (ctx.now_ms, ctx.db);
    let (db, stats) = ctx.ks.db_and_stats(db);
    let expired = db.expire_if_needed(dst, now_ms, stats);
    if n == 0 {
        if !expired && db.remove(dst).is_some() {
            ctx.touched(1);
            ctx.wrote(class::GENERIC, "del", dst);
        }
    } else {
        list.grew(ctx.config.list_max_listpack_size);
        ctx.store(dst, Value::List(Box::new(list)), Some(NO_EXPIRE));
        ctx.wrote(class::LIST, "sortstore", dst);
        // Redis counts one change per stored element; `store` counted the first.
        ctx.touched(n as u64 - 1);
    }
    ctx.out.int(n as i64);
}

/// The position of the key SORT stores to, for COMMAND GETKEYS and key permissions (Redis's
/// `sortGetKeys`): the argument after the last STORE. LIMIT's two arguments and BY's and GET's one
/// are skipped as Redis skips them, so a pattern spelled `store` is not taken for the option.
pub fn store_key_position(argv: Argv<'_>) -> Option<usize> {
    let mut found = None;
    let mut i = 2;
    while i < argv.len() {
        let arg = argv.get(i);
        if eq_ci(arg, "limit") {
            i += 2;
        } else if eq_ci(arg, "get") || eq_ci(arg, "by") {
            i += 1;
        } else if eq_ci(arg, "store") && i + 1 < argv.len() {
            found = Some(i + 1);
        }
        i += 1;
    }
    found
}

/// A BY or GET pattern, split once (Redis's `lookupKeyByPattern`).
#[derive(Debug, PartialEq, Eq)]
enum Pattern<'a> {
    /// `#`: the element itself.
    Element,
    /// No `*`: names no key for any element.
    Nothing,
    /// `prefix*suffix`, a string key, or with `->field` (after the `*`, field not empty) a hash
    /// field.
    Key {
        prefix: &'a [u8],
        suffix: &'a [u8],
        field: Option<&'a [u8]>,
    },
}

impl<'a> Pattern<'a> {
    fn compile(p: &'a [u8]) -> Self {
        if p == b"#" {
            return Pattern::Element;
        }
        let Some(star) = p.iter().position(|&c| c == b'*') else {
            return Pattern::Nothing;
        };
        let rest = &p[star + 1..];
        let arrow = rest.windows(2).position(|w| w == b"->");
        let (suffix, field) = match arrow {
            Some(at) if at + 2 < rest.len() => (&rest[..at], Some(&rest[at + 2..])),
            _ => (rest, None),
        };
        Pattern::Key {
            prefix: &p[..star],
            suffix,
            field,
        }
    }
}

/// Looks patterns up in the selected database the way a read command does (hits and misses
/// counted, access clock touched unless CLIENT NO-TOUCH, expired keys removed).
struct Reader<'k> {
    ks: &'k mut Keyspace,
    db: usize,
    now_ms: u64,
    touch: bool,
    /// The key being built, reused across elements.
    key: Vec<u8>,
}

impl<'k> Reader<'k> {
    fn new(ctx: &'k mut ExecCtx<'_>) -> Self {
        Reader::split(ctx).0
    }

    /// A reader beside the reply writer.
    fn split<'c, 'a>(ctx: &'c mut ExecCtx<'a>) -> (Reader<'c>, &'c mut ReplyWriter<'a>) {
        let reader = Reader {
            ks: ctx.ks,
            db: ctx.db,
            now_ms: ctx.now_ms,
            touch: !ctx.no_touch,
            key: Vec::new(),
        };
        (reader, &mut ctx.out)
    }

    /// Hands `f` what `pattern` names for `elem`: the element, a string value or a hash field's
    /// value, or `None` when the key is missing or of another type.
    fn with<R>(
        &mut self,
        pattern: &Pattern<'_>,
        elem: &[u8],
        f: impl FnOnce(Option<&[u8]>) -> R,
    ) -> R {
        let (prefix, suffix, field) = match pattern {
            Pattern::Element => return f(Some(elem)),
            Pattern::Nothing => return f(None),
            Pattern::Key {
                prefix,
                suffix,
                field,
            } => (*prefix, *suffix, *field),
        };
        self.key.clear();
        self.key.extend_from_slice(prefix);
        self.key.extend_from_slice(elem);
        self.key.extend_from_slice(suffix);
        let value = self
            .ks
            .lookup(self.db, &self.key, self.now_ms, self.touch, true, false);
        let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
        let mut big = Vec::new();
        let found = match (value, field) {
            (Some(v), None) => v.str_bytes(&mut scratch, &mut big),
            (Some(Value::Hash(h)), Some(field)) => h.get_live(field, self.now_ms),
            _ => None,
        };
        f(found)
    }
}

/// Reads a weight the way Redis's `strtod` check does: the whole text (up to a NUL byte) must be a
/// number, leading white space allowed, decimal or hex; an empty text is 0; NaN, overflow and
/// underflow (a subnormal or zero result from nonzero digits) are errors.
fn parse_score(text: &[u8]) -> Option<f64> {
    let text = text.split(|&c| c == 0).next().unwrap_or_default();
    if text.is_empty() {
        return Some(0.0);
    }
    let body = match text.iter().position(|c| !b" \t\n\x0b\x0c\r".contains(c)) {
        Some(at) => &text[at..],
        None => return None,
    };
    let (negative, digits) = match body.split_first() {
        Some((b'-', rest)) => (true, rest),
        Some((b'+', rest)) => (false, rest),
        _ => (false, body),
    };
    if digits.first().is_some_and(|c| matches!(c, b'+' | b'-')) {
        return None;
    }
    let v = match digits {
        [b'0', x, hex @ ..] if (x | 0x20) == b'x' && !hex.is_empty() => parse_hex(hex)?,
        _ => core::str::from_utf8(digits).ok()?.parse::<f64>().ok()?,
    };
    let infinite_text = digits.first().is_some_and(|c| (c | 0x20) == b'i');
    let nonzero_digits = digits
        .iter()
        .take_while(|c| !matches!(c, b'e' | b'E' | b'p' | b'P'))
        .any(|c| matches!(c, b'1'..=b'9' | b'a'..=b'f' | b'A'..=b'F'));
    let out_of_range = (v.is_infinite() && !infinite_text)
        || (v == 0.0 && nonzero_digits)
        || (v != 0.0 && v.abs() < f64::MIN_POSITIVE);
    if v.is_nan() || out_of_range {
        return None;
    }
    Some(if negative { -v } else { v })
}

/// The value of a hex float's text after `0x`: hex digits with at most one `.`, at least one digit,
/// then optionally `p` and a signed decimal exponent of two. Digits past the first 16 significant
/// ones only move the exponent (they are below `f64`'s precision).
fn parse_hex(text: &[u8]) -> Option<f64> {
    let (mantissa, exp) = match text.iter().position(|&c| (c | 0x20) == b'p') {
        Some(at) => (&text[..at], Some(&text[at + 1..])),
        None => (text, None),
    };
    let (mut value, mut shift, mut digits, mut dot) = (0u64, 0i64, 0usize, false);
    for &c in mantissa {
        if c == b'.' && !dot {
            dot = true;
            continue;
        }
        let d = (c as char).to_digit(16)?;
        digits += 1;
        if value >> 60 == 0 {
            value = value * 16 + d as u64;
            shift -= 4 * dot as i64;
        } else {
            shift += 4 * !dot as i64;
        }
    }
    if digits == 0 {
        return None;
    }
    if let Some(exp) = exp {
        let (negative, exp_digits) = match exp.split_first() {
            Some((b'-', rest)) => (true, rest),
            Some((b'+', rest)) => (false, rest),
            _ => (false, exp),
        };
        if exp_digits.is_empty() || !exp_digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let e = exp_digits
            .iter()
            .fold(0i64, |e, &c| (e * 10 + (c - b'0') as i64).min(HEX_EXP_MAX));
        shift += if negative { -e } else { e };
    }
    let mut v = value as f64;
    let shift = shift.clamp(-HEX_EXP_MAX, HEX_EXP_MAX);
    let step = if shift < 0 { 0.5 } else { 2.0 };
    for _ in 0..shift.unsigned_abs() {
        v *= step;
    }
    Some(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::find;
    use crate::cmd::testing::{bulks, Host, StepHost};
    use crate::resp::Proto;
    use alloc::string::String;

    const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";
    const NOT_INT: &str = "-ERR value is not an integer or out of range";
    const SYNTAX: &str = "-ERR syntax error";
    const BAD_DOUBLE: &str = "-ERR One or more scores can't be converted into double";

    #[test]
    fn numeric_and_alpha_order() {
        let mut h = StepHost::new();
        h.run("rpush l 3 10 2 1.5 -inf 1e3 0x10");
        h.check(&[
            ("sort l", &bulks("-inf 1.5 2 3 10 0x10 1e3")),
            ("sort l desc", &bulks("1e3 0x10 10 3 2 1.5 -inf")),
            ("sort l ALPHA", &bulks("-inf 0x10 1.5 10 1e3 2 3")),
            ("sort l alpha desc asc", &bulks("-inf 0x10 1.5 10 1e3 2 3")),
            ("sort_ro l limit 1 2", &bulks("1.5 2")),
            ("sort nokey", "*0\r\n"),
            ("sort nokey alpha limit 0 1 get #", "*0\r\n"),
        ]);
        // Equal scores fall back to bytes: "+0" < "-0" < "0".
        h.run("rpush z 0 -0 +0");
        assert_eq!(h.run("sort z"), bulks("+0 -0 0"));
        h.run("rpush bad 1 x 2");
        h.check(&[
            ("sort bad", BAD_DOUBLE),
            ("sort bad alpha", &bulks("1 2 x")),
            ("sort bad store d", BAD_DOUBLE),
        ]);
        assert!(!h.exists("d"));
    }

    #[test]
    fn limit_is_clamped() {
        let mut h = StepHost::new();
        h.run("rpush l 5 4 3 2 1");
        let max = i64::MAX;
        let min = i64::MIN;
        h.check(&[
            ("sort l limit 0 0", "*0\r\n"),
            ("sort l limit 0 -1", &bulks("1 2 3 4 5")),
            ("sort l limit -10 2", &bulks("1 2")),
            ("sort l limit 3 100", &bulks("4 5")),
            ("sort l limit 5 1", "*0\r\n"),
            (&alloc::format!("sort l limit {max} {max}"), "*0\r\n"),
            (
                &alloc::format!("sort l limit {min} {min}"),
                &bulks("1 2 3 4 5"),
            ),
            (&alloc::format!("sort l limit 2 {max}"), &bulks("3 4 5")),
            ("sort l desc limit 1 2", &bulks("4 3")),
            ("sort l limit 1 x", NOT_INT),
            ("sort l limit 1", SYNTAX),
        ]);
        assert_eq!(window(0, -1, 0), (0, 0));
        assert_eq!(window(i64::MAX, i64::MAX, 3), (0, 0));
        assert_eq!(window(1, -5, 3), (1, 2));
    }

    #[test]
    fn sets_and_sorted_sets() {
        let mut h = StepHost::new();
        h.run("sadd ints 30 1 20");
        h.run("sadd words b a c");
        h.run("zadd z 1 a 5 b 2 c 10 d 3 e");
        h.check(&[
            ("sort ints", &bulks("1 20 30")),
            ("sort ints alpha desc", &bulks("30 20 1")),
            ("sort words alpha", &bulks("a b c")),
            ("sort words", BAD_DOUBLE),
            ("sort z alpha desc", &bulks("e d c b a")),
            ("sort z by nosort", &bulks("a c e b d")),
            ("sort z by nosort desc", &bulks("d b e c a")),
            ("sort z by nosort limit 1 2", &bulks("c e")),
            ("sort z by nosort desc limit 1 2", &bulks("b e")),
            ("sort z by nosort desc limit 0 1", &bulks("d")),
            ("sort z by nosort limit 5 10", "*0\r\n"),
            ("sort z by nosort limit -10 100", &bulks("a c e b d")),
            // A set stored without sorting is sorted bytewise, whatever BY said.
            ("sort ints by nosort store dst", ":3\r\n"),
            ("lrange dst 0 -1", &bulks("1 20 30")),
        ]);
    }

    #[test]
    fn lists_by_nosort_keep_their_order() {
        let mut h = StepHost::new();
        h.run("lpush l 2 1 4 3 5");
        h.check(&[
            ("sort l by nosort", &bulks("5 3 4 1 2")),
            ("sort l by nosort desc", &bulks("2 1 4 3 5")),
            ("sort l by nosort limit 0 3", &bulks("5 3 4")),
            ("sort l by nosort desc limit 1 2", &bulks("1 4")),
            ("sort l by nosort limit 4 9", &bulks("2")),
            ("sort l by nosort limit 0 3 store t", ":3\r\n"),
            ("lrange t 0 -1", &bulks("5 3 4")),
            // The first BY without `*` wins.
            ("sort l by nosort by w_*", &bulks("5 3 4 1 2")),
        ]);
    }

    #[test]
    fn hash_fields_past_their_ttl_read_as_missing() {
        let mut h = Host::new();
        h.line("rpush l a b");
        h.line("hset h_a f 1");
        h.line("hset h_b f 2");
        h.line("hpexpire h_b 10 FIELDS 1 f");
        assert_eq!(
            h.text(&["sort", "l", "alpha", "get", "h_*->f"]),
            bulks("1 2")
        );
        // Not yet deleted by any cycle, but past its TTL: SORT does not see it.
        h.now_ms += 10;
        assert_eq!(
            h.text(&["sort", "l", "alpha", "get", "h_*->f"]),
            bulks("1 ~")
        );
    }

    #[test]
    fn by_and_get_patterns() {
        let mut h = StepHost::new();
        h.run("rpush l a b c d");
        h.run("mset w_a 3 w_b 1 w_c 2 v_a A v_b B");
        h.run("hset h_a f 30 g x");
        h.run("hset h_b f 10");
        h.run("hset h_c f 20");
        h.run("rpush w_d 0");
        h.check(&[
            // d's weight is a list: missing, so 0.
            ("sort l by w_*", &bulks("d b c a")),
            ("sort l by h_*->f", &bulks("d b c a")),
            ("sort l by h_*->f desc limit 0 2", &bulks("a c")),
            ("sort l by w_* alpha desc", &bulks("a c b d")),
            ("sort l by h_*->g alpha", &bulks("b c d a")),
            (
                "sort l by w_* get # get v_* get h_*->f",
                &bulks("d ~ ~ b B 10 c ~ 20 a A 30"),
            ),
            ("sort l alpha get nothing limit 0 2", &bulks("~ ~")),
            ("sort l by w_* get w_*-> limit 0 1", &bulks("~")),
            ("sort l by v_*", BAD_DOUBLE),
        ]);
        // `->` with no field is part of the key name.
        h.run_args(&["set", "x:a->", "100"]);
        assert_eq!(
            h.run("sort_ro l by nosort get x:*-> limit 0 1"),
            bulks("100")
        );
        h.proto = Proto::Resp3;
        assert_eq!(h.run("sort l alpha get v_* limit 2 1"), "*1\r\n_\r\n");
    }

    #[test]
    fn store_events_and_ttl() {
        let mut h = StepHost::new();
        h.run("rpush src 3 1 2");
        h.run("set w_1 x");
        assert_eq!(h.run("sort src store dst"), ":3\r\n");
        assert_eq!(
            (&h.events[..], h.effects.dirty),
            (&["new", "sortstore"][..], 3)
        );
        assert_eq!(h.run("lrange dst 0 -1"), bulks("1 2 3"));
        h.run("expire dst 100");
        assert_eq!(h.run("sort src get w_* store dst"), ":3\r\n");
        assert_eq!(h.events, ["sortstore"]);
        h.check(&[
            ("ttl dst", ":-1\r\n"),
            ("lrange dst 0 -1", "*3\r\n$1\r\nx\r\n$0\r\n\r\n$0\r\n\r\n"),
        ]);
        // An empty result deletes the destination.
        assert_eq!(h.run("sort src limit 5 5 store dst"), ":0\r\n");
        assert_eq!((&h.events[..], h.effects.dirty), (&["del"][..], 1));
        assert!(!h.exists("dst"));
        assert_eq!(h.run("sort nokey store dst"), ":0\r\n");
        assert_eq!((h.events.len(), h.effects.dirty), (0, 0));
        // Sorting a list into itself.
        assert_eq!(h.run("sort src desc store src"), ":3\r\n");
        assert_eq!(h.run("lrange src 0 -1"), bulks("3 2 1"));
    }

    #[test]
    fn errors() {
        let mut h = StepHost::new();
        h.run("set s x");
        h.run("rpush l 1");
        h.check(&[
            ("sort s", WRONGTYPE),
            ("sort_ro s", WRONGTYPE),
            ("sort s store d", WRONGTYPE),
            ("sort l foo", SYNTAX),
            ("sort l by", SYNTAX),
            ("sort l get", SYNTAX),
            ("sort l store", SYNTAX),
            ("sort_ro l store d", SYNTAX),
            // Options are checked before the key's type.
            ("sort s limit a 1", NOT_INT),
            ("sort s alpha bad", SYNTAX),
        ]);
    }

    #[test]
    fn scores_parse_like_strtod() {
        let cases: &[(&[u8], Option<f64>)] = &[
            (b"", Some(0.0)),
            (b" 5", Some(5.0)),
            (b"\t-2.5e1", Some(-25.0)),
            (b"+.5", Some(0.5)),
            (b"1.", Some(1.0)),
            (b"-inf", Some(f64::NEG_INFINITY)),
            (b"Infinity", Some(f64::INFINITY)),
            (b"0x10", Some(16.0)),
            (b"-0X1.8p1", Some(-3.0)),
            (b"0x.8", Some(0.5)),
            (b"0x1P-2", Some(0.25)),
            (b"0xffffffffffffffffff", Some(4.722366482869645e21)),
            (b"7\0junk", Some(7.0)),
            (b"0e99", Some(0.0)),
            (b" ", None),
            (b"5 ", None),
            (b"0x", None),
            (b"0x1p", None),
            (b"0xg", None),
            (b"+-1", None),
            (b"nan", None),
            (b"1e400", None),
            (b"1e-400", None),
            (b"1e-310", None),
            (b"0x1p99999", None),
            (b"abc", None),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_score(text),
                *want,
                "{:?}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn patterns_compile() {
        let key = |prefix: &'static str, suffix: &'static str, field: Option<&'static str>| {
            Pattern::Key {
                prefix: prefix.as_bytes(),
                suffix: suffix.as_bytes(),
                field: field.map(str::as_bytes),
            }
        };
        assert_eq!(Pattern::compile(b"#"), Pattern::Element);
        assert_eq!(Pattern::compile(b"##"), Pattern::Nothing);
        assert_eq!(Pattern::compile(b"a->b"), Pattern::Nothing);
        assert_eq!(Pattern::compile(b"w_*"), key("w_", "", None));
        assert_eq!(Pattern::compile(b"a*b->f"), key("a", "b", Some("f")));
        assert_eq!(Pattern::compile(b"a->*b->"), key("a->", "b->", None));
        assert_eq!(Pattern::compile(b"*->x->y"), key("", "", Some("x->y")));
        assert_eq!(Pattern::compile(b"*a*"), key("", "a*", None));
    }

    #[test]
    fn store_key_is_found_like_redis() {
        let position = |line: &str| {
            let words: Vec<&str> = line.split(' ').collect();
            let (mut buf, mut ranges) = (Vec::new(), Vec::new());
            for w in &words {
                ranges.push(buf.len()..buf.len() + w.len());
                buf.extend_from_slice(w.as_bytes());
            }
            store_key_position(Argv::new(&buf, &ranges))
        };
        assert_eq!(position("sort abc"), None);
        assert_eq!(position("sort abc store def"), Some(3));
        assert_eq!(
            position("sort abc store invalid store stillbad store def"),
            Some(7)
        );
        assert_eq!(position("sort abc get store by store limit store 1"), None);
        assert_eq!(position("sort abc STORE"), None);
    }

    #[test]
    fn table_metadata() {
        let info = |name: &str| &find(name.as_bytes()).expect("command").info;
        let sort = info("sort");
        assert_eq!((sort.arity, sort.group), (-2, "generic"));
        assert_eq!(
            sort.flags,
            f::WRITE | f::DENYOOM | f::MOVABLE_KEYS,
            "sort flags"
        );
        assert_eq!(sort.key_positions(4).collect::<Vec<_>>(), [1]);
        assert_eq!(
            sort.acl,
            acl::WRITE | acl::SET | acl::SORTEDSET | acl::LIST | acl::SLOW | acl::DANGEROUS
        );
        let ro = info("sort_ro");
        assert_eq!(ro.flags & (f::READONLY | f::WRITE), f::READONLY);
        assert_eq!(ro.acl & (acl::READ | acl::WRITE), acl::READ);
    }
}
