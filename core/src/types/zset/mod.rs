//! Sorted sets: unique members ordered by a float score, ties broken by member bytes (ZADD, ZRANGE...).
//!
//! Two encodings, with Redis's thresholds and names. A small set (at most `zset-max-listpack-entries`
//! members, none longer than `zset-max-listpack-value` bytes) is its (member, score) entries packed
//! into one buffer in order ([`Packed`]), like Redis's listpack: compact, and fast enough at that
//! size with linear member lookups.
//! Past either limit it converts for good to a skip list with spans ([`skiplist`]) for O(log n)
//! ranks and ranges, plus a member -> score hash table ([`Table`]) for O(1) scores and ZSCAN's
//! cursor guarantee. Redis never converts back either, except for freshly built results
//! ([`ZSet::from_sorted`]).
//!
//! Every access goes by rank: range queries turn a score or lex range into a rank range with two
//! O(log n) descents ([`ZSet::count_while`]), and [`ZSet::range`] walks a rank range either way.

pub mod skiplist;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::fmt::Write;
use core::ops::Range;

use super::list::{
    fwd_entry_size as entry_size, read_fwd as read_forward, write_fwd_entry as write_entry,
};
use super::packed::{PackedBuf, PACKED_BYTES_MAX};
use super::put_bytes;
use super::string::CompactStr;
use crate::table::Table;
use bumpalo::Bump;
use skiplist::{bytes, SkipList, NIL};

/// What a sorted set consults when it grows: the compact encoding's limits and the hash seed for the
/// table it converts to.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `zset-max-listpack-entries`.
    pub entries_max: usize,
    /// `zset-max-listpack-value`: the longest member the compact encoding holds.
    pub value_max: usize,
    pub seed: u64,
}

#[derive(Clone, Debug, Default)]
pub struct ZSet {
    enc: Encoding,
}

// A sorted set lives inside the keyspace's 24-byte value, without a box of its own.
const _: () = assert!(core::mem::size_of::<ZSet>() == 16);

#[derive(Clone, Debug)]
enum Encoding {
    /// (member, score) entries in (score, member) order, packed into one buffer.
    Packed(Packed),
    Indexed(Box<Indexed>),
}

impl Default for Encoding {
    fn default() -> Self {
        Encoding::Packed(Packed::default())
    }
}

/// The compact encoding: the members' common prefix once (a varint length and the bytes), then
/// each element in (score, member) order as the rest of its member (a varint length and the
/// bytes) and its score, read from the front (a reverse walk first notes where the elements
/// start). A score that is an integer below 2^48 in magnitude is the varint of its zigzag form
/// times two (1-7 bytes), any other score the byte `1` and its 8 IEEE bytes. Members that share a
/// prefix store it once: `player:<6 digits>` with a score below 2^20 takes 10 bytes.
#[derive(Clone, Debug, Default)]
pub struct Packed {
    buf: PackedBuf,
}

/// Integer scores below this magnitude are stored as varints.
const SCORE_INT_LIMIT: f64 = (1u64 << 48) as f64;

/// The first byte of a score stored as its 8 IEEE bytes (an integer score's varint is even).
const SCORE_F64: u8 = 1;

/// Most bytes of an encoded score.
const SCORE_BYTES_MAX: usize = 9;

/// Writes the bytes of `score` into `out` and returns how many.
fn encode_score(score: f64, out: &mut [u8; SCORE_BYTES_MAX]) -> usize {
    let integral = score > -SCORE_INT_LIMIT
        && score < SCORE_INT_LIMIT
        && (score as i64) as f64 == score
        && !(score == 0.0 && score.is_sign_negative());
    if !integral {
        out[0] = SCORE_F64;
        out[1..].copy_from_slice(&score.to_bits().to_le_bytes());
        return SCORE_BYTES_MAX;
    }
    let n = score as i64;
    let mut v = (((n << 1) ^ (n >> 63)) as u64) << 1;
    let mut len = 0;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out[len] = byte;
            return len + 1;
        }
        out[len] = byte | 0x80;
        len += 1;
    }
}

/// The score at `at` and where the next entry starts.
#[inline]
fn read_score(buf: &[u8], at: usize) -> (f64, usize) {
    if buf[at] == SCORE_F64 {
        let mut raw = [0u8; 8];
        raw.copy_from_slice(&buf[at + 1..at + SCORE_BYTES_MAX]);
        return (
            f64::from_bits(u64::from_le_bytes(raw)),
            at + SCORE_BYTES_MAX,
        );
    }
    let (mut v, mut shift, mut i) = (0u64, 0, at);
    loop {
        let b = buf[i];
        i += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let z = v >> 1;
    ((((z >> 1) as i64) ^ -((z & 1) as i64)) as f64, i)
}

/// How many leading bytes `a` and `b` share.
fn common_len(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// A member of a compact set whole: `rest` when there is no prefix, else both joined in `scratch`.
#[inline]
fn join<'a>(prefix: &'a [u8], rest: &'a [u8], scratch: &'a Bump) -> &'a [u8] {
    if prefix.is_empty() {
        return rest;
    }
    let out = scratch.alloc_slice_fill_copy(prefix.len() + rest.len(), 0u8);
    out[..prefix.len()].copy_from_slice(prefix);
    out[prefix.len()..].copy_from_slice(rest);
    out
}

impl Packed {
    /// A compact set of `items`, already in (score, member) order.
    fn from_sorted<'a>(items: impl Iterator<Item = (&'a [u8], f64)> + Clone) -> Packed {
        let mut first = None;
        let mut plen = usize::MAX;
        for (m, _) in items.clone() {
            let f = *first.get_or_insert(m);
            plen = plen.min(common_len(f, m));
        }
        let Some(first) = first else {
            return Packed::default();
        };
        let prefix = &first[..plen.min(first.len())];
        let mut out = Vec::new();
        push_entry(&mut out, prefix);
        let mut count = 0;
        for (m, s) in items {
            push_entry(&mut out, &m[prefix.len()..]);
            let mut sb = [0u8; SCORE_BYTES_MAX];
            let n = encode_score(s, &mut sb);
            out.extend_from_slice(&sb[..n]);
            count += 1;
        }
        Packed {
            buf: PackedBuf::from_vec(out, count),
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.buf.count()
    }

    /// The members' common prefix and where the first element starts.
    #[inline]
    fn prefix(&self) -> (&[u8], usize) {
        let buf = self.buf.as_slice();
        if buf.is_empty() {
            return (&[], 0);
        }
        read_forward(buf, 0)
    }

    /// The element at `at`: (the rest of its member, score, next element's offset).
    #[inline]
    fn read(&self, at: usize) -> (&[u8], f64, usize) {
        let buf = self.buf.as_slice();
        let (m, score_at) = read_forward(buf, at);
        let (s, next) = read_score(buf, score_at);
        (m, s, next)
    }

    /// Every element with its byte range, in order: (start, rest of member, score, end).
    fn elements(&self) -> impl Iterator<Item = (usize, &[u8], f64, usize)> {
        let mut at = self.prefix().1;
        let end = self.buf.len();
        core::iter::from_fn(move || {
            (at < end).then(|| {
                let (m, s, next) = self.read(at);
                let item = (at, m, s, next);
                at = next;
                item
            })
        })
    }

    /// Hands each element with its whole member to `f`, in order, while `f` returns true.
    fn each(&self, mut f: impl FnMut(&[u8], f64) -> bool) {
        let (prefix, _) = self.prefix();
        let mut whole = Vec::new();
        for (_, rest, s, _) in self.elements() {
            let go_on = if prefix.is_empty() {
                f(rest, s)
            } else {
                whole.clear();
                whole.extend_from_slice(prefix);
                whole.extend_from_slice(rest);
                f(&whole, s)
            };
            if !go_on {
                return;
            }
        }
    }

    /// The byte offset of the element at `rank` (`rank <= len`; `len` gives the end).
    fn offset_of(&self, rank: usize) -> usize {
        if rank >= self.len() {
            return self.buf.len();
        }
        // Entries have no back-lengths (a packed set is small, and a walk from the front costs
        // what one from the back would), so every rank is found from the front.
        self.elements().nth(rank).map_or(self.buf.len(), |e| e.0)
    }

    /// (rank, score, start, end) of `member`.
    fn find(&self, member: &[u8]) -> Option<(usize, f64, usize, usize)> {
        let rest = member.strip_prefix(self.prefix().0)?;
        self.elements()
            .enumerate()
            .find(|(_, e)| e.1 == rest)
            .map(|(rank, (at, _, s, end))| (rank, s, at, end))
    }

    /// Whether a member of `len` bytes keeps the buffer within [`PACKED_BYTES_MAX`], even when
    /// it shortens the shared prefix to nothing (every member then takes the prefix back).
    fn fits(&self, len: usize) -> bool {
        let regrow = self.len().saturating_mul(self.prefix().0.len());
        self.buf
            .len()
            .saturating_add(regrow)
            .saturating_add(len + 2 * SCORE_BYTES_MAX)
            <= PACKED_BYTES_MAX
    }

    /// Inserts (member, score) in order.
    fn insert(&mut self, member: &[u8], score: f64) {
        if self.buf.is_empty() {
            let n = entry_size(member.len());
            write_entry(self.buf.extend(n), member);
        } else {
            let prefix = self.prefix().0;
            if !member.starts_with(prefix) {
                self.shorten_prefix(common_len(prefix, member));
            }
        }
        let rest = &member[self.prefix().0.len()..];
        let at = self
            .elements()
            .find(|&(_, m, s, _)| !(s < score || (s == score && m < rest)))
            .map_or(self.buf.len(), |e| e.0);
        let mut sb = [0u8; SCORE_BYTES_MAX];
        let slen = encode_score(score, &mut sb);
        let msize = entry_size(rest.len());
        let out = self.buf.replace(at, at, msize + slen);
        write_entry(&mut out[..msize], rest);
        out[msize..].copy_from_slice(&sb[..slen]);
        self.buf.set_count(self.len() + 1);
    }

    /// Rewrites the set with only the first `keep` bytes of its prefix shared (a member without
    /// the whole prefix is coming). O(size); a prefix only ever shortens while the set lives.
    fn shorten_prefix(&mut self, keep: usize) {
        let (prefix, _) = self.prefix();
        let (kept, moved) = prefix.split_at(keep);
        let mut out = Vec::with_capacity(self.buf.len() + self.len() * moved.len());
        push_entry(&mut out, kept);
        let mut whole = Vec::new();
        let buf = self.buf.as_slice();
        for (at, rest, _, end) in self.elements() {
            whole.clear();
            whole.extend_from_slice(moved);
            whole.extend_from_slice(rest);
            push_entry(&mut out, &whole);
            // The score's bytes follow the member entry unchanged.
            let score_at = read_forward(buf, at).1;
            out.extend_from_slice(&buf[score_at..end]);
        }
        let count = self.len();
        self.buf = PackedBuf::from_vec(out, count);
    }

    fn remove_bytes(&mut self, from: usize, to: usize, count: usize) {
        self.buf.replace(from, to, 0);
        let left = self.len() - count;
        if left == 0 {
            // The last element went: so does the prefix.
            self.buf = PackedBuf::default();
        } else {
            self.buf.set_count(left);
        }
    }
}

/// Appends the forward entry of `bytes` to `out`.
fn push_entry(out: &mut Vec<u8>, bytes: &[u8]) {
    let at = out.len();
    out.resize(at + entry_size(bytes.len()), 0);
    write_entry(&mut out[at..], bytes);
}

/// The skip list encoding: the order, and member -> score.
#[derive(Debug)]
struct Indexed {
    list: SkipList,
    scores: Table<f64>,
}

impl Clone for Indexed {
    fn clone(&self) -> Self {
        let mut scores = Table::new(self.scores.hash(b"ember-zset-seed"));
        for e in self.scores.iter() {
            scores.insert_new(e.key_bytes(), *e.whole(), 0, 0);
        }
        Indexed {
            list: self.list.clone(),
            scores,
        }
    }
}

impl Indexed {
    fn new(seed: u64) -> Self {
        Indexed {
            list: SkipList::new(seed.rotate_left(17)),
            scores: Table::new(seed),
        }
    }

    fn push(&mut self, score: f64, member: CompactStr) {
        self.scores.insert_new(bytes(&member), score, 0, 0);
        self.list.insert(score, member);
    }
}

impl ZSet {
    pub fn new() -> Self {
        ZSet::default()
    }

    /// A set built from elements already in (score, member) order with distinct members, in the
    /// encoding Redis would give a fresh result of that size (`zsetConvertToListpackIfNeeded`).
    pub fn from_sorted<'a>(
        items: impl ExactSizeIterator<Item = (&'a [u8], f64)> + Clone,
        limits: &Limits,
    ) -> ZSet {
        let packed = items.len() <= limits.entries_max
            && items.clone().all(|(m, _)| m.len() <= limits.value_max)
            && items
                .clone()
                .map(|(m, _)| m.len() + 2 * SCORE_BYTES_MAX)
                .fold(0usize, usize::saturating_add)
                <= PACKED_BYTES_MAX;
        let enc = if packed {
            Encoding::Packed(Packed::from_sorted(items))
        } else {
            let mut ix = Indexed::new(limits.seed);
            for (m, s) in items {
                ix.push(s, CompactStr::from_bytes(m));
            }
            Encoding::Indexed(Box::new(ix))
        };
        ZSet { enc }
    }

    pub fn len(&self) -> usize {
        match &self.enc {
            Encoding::Packed(p) => p.len(),
            Encoding::Indexed(ix) => ix.list.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match &self.enc {
            Encoding::Packed(_) => "listpack",
            Encoding::Indexed(_) => "skiplist",
        }
    }

    /// Heap bytes owned beyond the `ZSet` itself; O(1) for the skip list.
    pub fn heap_size(&self) -> usize {
        match &self.enc {
            Encoding::Packed(p) => p.buf.heap_size(),
            Encoding::Indexed(ix) => {
                // The table holds its own copy of each member inline in its entry blocks.
                core::mem::size_of::<Indexed>()
                    + ix.list.heap_size()
                    + ix.list.member_heap()
                    + ix.scores.bucket_bytes()
                    + ix.scores.entry_bytes()
            }
        }
    }

    /// Members sorted bytewise with their scores.
    pub fn canonical(&self, out: &mut Vec<u8>) {
        let scratch = Bump::new();
        let mut pairs: Vec<(&[u8], u64)> =
            self.iter(&scratch).map(|(m, s)| (m, s.to_bits())).collect();
        pairs.sort_unstable();
        for (m, s) in pairs {
            put_bytes(out, m);
            out.extend_from_slice(&s.to_le_bytes());
        }
    }

    /// The score of `member`.
    pub fn score(&self, member: &[u8]) -> Option<f64> {
        match &self.enc {
            Encoding::Packed(p) => p.find(member).map(|e| e.1),
            Encoding::Indexed(ix) => ix.scores.get(member).map(|e| *e.whole()),
        }
    }

    /// The 0-based rank of `member` in ascending order.
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        match &self.enc {
            Encoding::Packed(p) => p.find(member).map(|e| e.0),
            Encoding::Indexed(ix) => {
                let score = *ix.scores.get(member)?.whole();
                ix.list.rank(score, member)
            }
        }
    }

    /// Sets the score of `member`, adding it when absent (true); converts the set to the skip list
    /// when it outgrows `limits`. The score must not be NaN.
    pub fn insert(&mut self, member: &[u8], score: f64, limits: &Limits) -> bool {
        debug_assert!(!score.is_nan());
        if let Encoding::Packed(p) = &mut self.enc {
            if let Some((_, old, at, end)) = p.find(member) {
                if old != score {
                    p.remove_bytes(at, end, 1);
                    p.insert(member, score);
                }
                return false;
            }
            if p.len() < limits.entries_max
                && member.len() <= limits.value_max
                && p.fits(member.len())
            {
                p.insert(member, score);
                return true;
            }
            self.convert(limits.seed);
        }
        let Encoding::Indexed(ix) = &mut self.enc else {
            unreachable!("converted above");
        };
        match ix.scores.get_mut(member) {
            Some(e) => {
                let old = *e.whole();
                if old != score {
                    *e.whole_mut() = score;
                    ix.list.update_score(old, member, score);
                }
                false
            }
            None => {
                ix.push(score, CompactStr::from_bytes(member));
                true
            }
        }
    }

    /// Moves the elements to the skip list encoding.
    fn convert(&mut self, seed: u64) {
        let Encoding::Packed(p) = &mut self.enc else {
            return;
        };
        let mut ix = Indexed::new(seed);
        p.each(|member, score| {
            ix.push(score, CompactStr::from_bytes(member));
            true
        });
        self.enc = Encoding::Indexed(Box::new(ix));
    }

    /// Removes `member`; true when it was there.
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match &mut self.enc {
            Encoding::Packed(p) => match p.find(member) {
                Some((_, _, at, end)) => {
                    p.remove_bytes(at, end, 1);
                    true
                }
                None => false,
            },
            Encoding::Indexed(ix) => match ix.scores.remove(member) {
                Some(e) => {
                    ix.list.remove(e.value, member);
                    true
                }
                None => false,
            },
        }
    }

    /// How many leading elements (in ascending order) satisfy `pred`, which must hold for a prefix
    /// of the order only. O(log n).
    pub fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.enc {
            Encoding::Packed(p) => {
                let mut n = 0;
                p.each(|m, s| {
                    let holds = pred(s, m);
                    n += usize::from(holds);
                    holds
                });
                n
            }
            Encoding::Indexed(ix) => ix.list.count_while(pred),
        }
    }

    /// The ranks of the elements whose scores fall in `r`.
    pub fn score_ranks(&self, r: &ScoreRange) -> Range<usize> {
        let start = self.count_while(|s, _| !r.gte_min(s));
        let end = self.count_while(|s, _| r.lte_max(s));
        start..end.max(start)
    }

    /// The ranks of the elements whose members fall in `r` (meaningful when all scores are equal).
    pub fn lex_ranks(&self, r: &LexRange<'_>) -> Range<usize> {
        let start = self.count_while(|_, m| !r.gte_min(m));
        let end = self.count_while(|_, m| r.lte_max(m));
        start..end.max(start)
    }

    /// The element at 0-based `rank` (a compact set's member joined in `scratch`).
    pub fn get<'a>(&'a self, rank: usize, scratch: &'a Bump) -> Option<(&'a [u8], f64)> {
        match &self.enc {
            Encoding::Packed(p) => (rank < p.len()).then(|| {
                let (m, s, _) = p.read(p.offset_of(rank));
                (join(p.prefix().0, m, scratch), s)
            }),
            Encoding::Indexed(ix) => match ix.list.at_rank(rank) {
                NIL => None,
                x => Some(ix.list.entry(x)),
            },
        }
    }

    /// The elements with ranks in `ranks` (clamped to the set), ascending or descending (`rev`); a
    /// compact set's members are joined in `scratch`.
    pub fn range<'a>(&'a self, ranks: Range<usize>, rev: bool, scratch: &'a Bump) -> Iter<'a> {
        let end = ranks.end.min(self.len());
        let start = ranks.start.min(end);
        let inner = match &self.enc {
            Encoding::Packed(p) if rev => {
                // Entries are read forward only: note where each element of the range starts,
                // then hand them out from the last.
                let front = p.offset_of(start);
                let mut starts = Vec::with_capacity(end - start);
                let mut at = front;
                for _ in start..end {
                    starts.push(at);
                    at = p.read(at).2;
                }
                Inner::PackedRev { buf: p, starts }
            }
            Encoding::Packed(p) => Inner::Packed {
                buf: p,
                front: p.offset_of(start),
            },
            Encoding::Indexed(ix) => {
                let node = match (start == end, rev) {
                    (true, _) => NIL,
                    (false, false) if start == 0 => ix.list.first(),
                    (false, true) if end == self.len() => ix.list.last(),
                    (false, false) => ix.list.at_rank(start),
                    (false, true) => ix.list.at_rank(end - 1),
                };
                Inner::Indexed {
                    list: &ix.list,
                    node,
                }
            }
        };
        Iter {
            inner,
            remaining: end - start,
            rev,
            scratch,
        }
    }

    /// Every element in ascending order.
    pub fn iter<'a>(&'a self, scratch: &'a Bump) -> Iter<'a> {
        self.range(0..self.len(), false, scratch)
    }

    /// Removes the elements with ranks in `ranks`; returns how many.
    pub fn remove_ranks(&mut self, ranks: Range<usize>) -> usize {
        let end = ranks.end.min(self.len());
        let start = ranks.start.min(end);
        match &mut self.enc {
            Encoding::Packed(p) => {
                let (from, to) = (p.offset_of(start), p.offset_of(end));
                p.remove_bytes(from, to, end - start);
                end - start
            }
            Encoding::Indexed(ix) => {
                let scores = &mut ix.scores;
                let n = ix.list.remove_ranks(start, end, |m, _| {
                    scores.remove(bytes(&m));
                });
                scores.shrink_if_sparse();
                n
            }
        }
    }

    /// Removes and returns the lowest (or with `max`, the highest) element.
    pub fn pop(&mut self, max: bool) -> Option<(CompactStr, f64)> {
        match &mut self.enc {
            Encoding::Packed(p) => {
                if p.len() == 0 {
                    return None;
                }
                let at = if max {
                    p.offset_of(p.len() - 1)
                } else {
                    p.prefix().1
                };
                let (rest, s, end) = p.read(at);
                let prefix = p.prefix().0;
                let mut whole = Vec::with_capacity(prefix.len() + rest.len());
                whole.extend_from_slice(prefix);
                whole.extend_from_slice(rest);
                let m = CompactStr::from_vec(whole);
                p.remove_bytes(at, end, 1);
                Some((m, s))
            }
            Encoding::Indexed(ix) => {
                let rank = if max {
                    ix.list.len().checked_sub(1)?
                } else {
                    0
                };
                let mut out = None;
                let x = ix.list.at_rank(rank);
                if x != NIL {
                    ix.scores.prefetch_slot(ix.list.entry(x).0);
                }
                let scores = &mut ix.scores;
                ix.list.remove_ranks(rank, rank + 1, |m, s| {
                    scores.remove(bytes(&m));
                    out = Some((m, s));
                });
                out
            }
        }
    }

    /// One ZSCAN call: visits buckets from `cursor` until `count` members were seen, the iteration
    /// ends, or `20 * count` buckets were visited (Redis doubles COUNT for sorted sets, which reply
    /// two elements per member, and bounds its work at ten times that). Returns the next cursor.
    /// The compact encoding is visited whole in one call and returns 0, as Redis does.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        scratch: &'a Bump,
        mut visit: impl FnMut(&'a [u8], f64),
    ) -> u64 {
        match &self.enc {
            Encoding::Packed(p) => {
                let prefix = p.prefix().0;
                for (_, m, s, _) in p.elements() {
                    visit(join(prefix, m, scratch), s);
                }
                0
            }
            Encoding::Indexed(ix) => ix.scores.scan_some(cursor, count.saturating_mul(2), |e| {
                visit(e.key_bytes(), *e.whole());
                2
            }),
        }
    }

    /// Checks the encoding's invariants. For tests.
    #[cfg(test)]
    fn check(&self) {
        match &self.enc {
            Encoding::Packed(p) => {
                let mut all: Vec<(Vec<u8>, f64)> = Vec::new();
                p.each(|m, s| {
                    all.push((m.to_vec(), s));
                    true
                });
                assert_eq!(all.len(), p.len());
                assert!(all
                    .windows(2)
                    .all(|w| w[0].1 < w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0)));
            }
            Encoding::Indexed(ix) => {
                ix.list.check();
                assert_eq!(ix.scores.len(), ix.list.len());
                for (m, s) in self.iter(&Bump::new()) {
                    assert_eq!(ix.scores.get(m).map(|e| *e.whole()), Some(s));
                }
            }
        }
    }
}

/// Iterates a rank range of a [`ZSet`], yielding (member, score).
#[derive(Clone)]
pub struct Iter<'a> {
    inner: Inner<'a>,
    remaining: usize,
    rev: bool,
    scratch: &'a Bump,
}

#[derive(Clone)]
enum Inner<'a> {
    Packed {
        buf: &'a Packed,
        front: usize,
    },
    PackedRev {
        buf: &'a Packed,
        /// Where the elements still to come start, the next one last.
        starts: Vec<usize>,
    },
    Indexed {
        list: &'a SkipList,
        node: u32,
    },
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        match &mut self.inner {
            Inner::Packed { buf, front } => {
                let (m, s, next) = buf.read(*front);
                *front = next;
                Some((join(buf.prefix().0, m, self.scratch), s))
            }
            Inner::PackedRev { buf, starts } => {
                let (m, s, _) = buf.read(starts.pop()?);
                Some((join(buf.prefix().0, m, self.scratch), s))
            }
            Inner::Indexed { list, node } => {
                let x = *node;
                if x == NIL {
                    return None;
                }
                *node = if self.rev { list.prev(x) } else { list.next(x) };
                Some(list.entry(x))
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Iter<'_> {}

/// Longest score text accepted (Redis's `MAX_LONG_DOUBLE_CHARS`).
pub const SCORE_CHARS_MAX: usize = 5 * 1024;

/// Parses a score, increment or weight the way Redis's `getDoubleFromObject` does: no spaces, no
/// NaN, and no overflow to infinity or underflow to zero (only `inf` itself is infinite).
pub fn parse_score(arg: &[u8]) -> Option<f64> {
    if arg.is_empty() || arg.len() >= SCORE_CHARS_MAX || arg[0].is_ascii_whitespace() {
        return None;
    }
    let v: f64 = core::str::from_utf8(arg).ok()?.parse().ok()?;
    if v.is_nan() || (v.is_infinite() && !arg.iter().any(|c| c.eq_ignore_ascii_case(&b'i'))) {
        return None;
    }
    let mantissa = arg.split(|&c| c == b'e' || c == b'E').next().unwrap_or(arg);
    if v == 0.0 && mantissa.iter().any(|c| (b'1'..=b'9').contains(c)) {
        return None;
    }
    Some(v)
}

/// A score as Redis 7.0 prints it: `%.17g` (17 significant digits, exponent form below 1e-4 and
/// from 1e17), `inf` and `-inf`.
pub struct ScoreText {
    buf: [u8; 40],
    len: usize,
}

impl Write for ScoreText {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.len + s.len();
        self.buf
            .get_mut(self.len..end)
            .ok_or(core::fmt::Error)?
            .copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

impl ScoreText {
    const EMPTY: ScoreText = ScoreText {
        buf: [0; 40],
        len: 0,
    };

    /// Any short formatted number (at most 40 bytes), without a heap allocation: a geo distance
    /// or coordinate in a reply.
    pub fn from_fmt(args: core::fmt::Arguments<'_>) -> Self {
        let mut t = Self::EMPTY;
        let _ = t.write_fmt(args);
        t
    }

    pub fn new(d: f64) -> Self {
        let mut t = Self::EMPTY;
        if d.is_nan() {
            let _ = t.write_str("nan");
        } else if d.is_infinite() {
            let _ = t.write_str(if d > 0.0 { "inf" } else { "-inf" });
        } else if d == 0.0 {
            let _ = t.write_str(if d.is_sign_negative() { "-0" } else { "0" });
        } else if d > -1e15 && d < 1e15 && (d as i64) as f64 == d {
            // An integral score below 10^15 prints under %.17g as its exact integer: skip the
            // general float formatting (the common case for counters and timestamps-as-scores).
            let mut digits = [0u8; crate::types::string::I64_DIGITS_MAX];
            let text = crate::types::string::format_i64(d as i64, &mut digits);
            t.buf[..text.len()].copy_from_slice(text);
            t.len = text.len();
        } else {
            t.format_g17(d);
        }
        t
    }

    /// `%.17g` for a finite non-zero `d`: Rust's correctly rounded `{:.16e}` gives the 17 digits and
    /// the exponent; %g then picks the notation and drops trailing zeros.
    fn format_g17(&mut self, d: f64) {
        let mut sci = Self::EMPTY;
        let _ = write!(sci, "{:.16e}", d.abs());
        let text = sci.as_bytes();
        let e_at = text.iter().position(|&c| c == b'e').unwrap_or(text.len());
        let mut digits = [0u8; 17];
        let mut n = 0;
        for &c in &text[..e_at] {
            if c.is_ascii_digit() && n < digits.len() {
                digits[n] = c;
                n += 1;
            }
        }
        let exp: i32 = core::str::from_utf8(&text[(e_at + 1).min(text.len())..])
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        // Significant digits without trailing zeros.
        let sig = &digits[..digits[..n]
            .iter()
            .rposition(|&c| c != b'0')
            .map_or(1, |i| i + 1)];
        let s = |t: &mut Self, b: &[u8]| {
            let _ = t.write_str(core::str::from_utf8(b).unwrap_or(""));
        };
        if d < 0.0 {
            s(self, b"-");
        }
        if !(-4..17).contains(&exp) {
            s(self, &sig[..1]);
            if sig.len() > 1 {
                s(self, b".");
                s(self, &sig[1..]);
            }
            let _ = write!(self, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
        } else if exp >= 0 {
            let int_len = exp as usize + 1;
            if sig.len() <= int_len {
                s(self, sig);
                for _ in sig.len()..int_len {
                    s(self, b"0");
                }
            } else {
                s(self, &sig[..int_len]);
                s(self, b".");
                s(self, &sig[int_len..]);
            }
        } else {
            s(self, b"0.");
            for _ in 0..(-exp - 1) {
                s(self, b"0");
            }
            s(self, sig);
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

/// A score interval, each end inclusive or exclusive (`(1.5` in Redis's syntax).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub min_ex: bool,
    pub max_ex: bool,
}

impl ScoreRange {
    /// Parses Redis's `min max` syntax: a float (`inf`, `-inf` and `+inf` included), optionally
    /// prefixed by `(` for an open end; NaN is rejected. Like Redis's `strtod`, leading spaces are
    /// skipped and an empty number reads as 0.
    pub fn parse(min: &[u8], max: &[u8]) -> Option<ScoreRange> {
        let (min, min_ex) = parse_score_bound(min)?;
        let (max, max_ex) = parse_score_bound(max)?;
        Some(ScoreRange {
            min,
            max,
            min_ex,
            max_ex,
        })
    }

    #[inline]
    pub fn gte_min(&self, s: f64) -> bool {
        if self.min_ex {
            s > self.min
        } else {
            s >= self.min
        }
    }

    #[inline]
    pub fn lte_max(&self, s: f64) -> bool {
        if self.max_ex {
            s < self.max
        } else {
            s <= self.max
        }
    }
}

fn parse_score_bound(arg: &[u8]) -> Option<(f64, bool)> {
    let (text, ex) = match arg.split_first() {
        Some((b'(', rest)) => (rest, true),
        _ => (arg, false),
    };
    let text = core::str::from_utf8(text)
        .ok()?
        .trim_start_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() {
        return Some((0.0, ex));
    }
    let v: f64 = text.parse().ok()?;
    (!v.is_nan()).then_some((v, ex))
}

/// One end of a lex range: `-` and `+` (below and above every member), `[m` (inclusive), `(m`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexBound<'a> {
    Min,
    Max,
    Incl(&'a [u8]),
    Excl(&'a [u8]),
}

impl<'a> LexBound<'a> {
    pub fn parse(arg: &'a [u8]) -> Option<Self> {
        match arg.split_first()? {
            (b'-', []) => Some(LexBound::Min),
            (b'+', []) => Some(LexBound::Max),
            (b'[', rest) => Some(LexBound::Incl(rest)),
            (b'(', rest) => Some(LexBound::Excl(rest)),
            _ => None,
        }
    }
}

/// A member interval for the BYLEX commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LexRange<'a> {
    pub min: LexBound<'a>,
    pub max: LexBound<'a>,
}

impl<'a> LexRange<'a> {
    pub fn parse(min: &'a [u8], max: &'a [u8]) -> Option<Self> {
        Some(LexRange {
            min: LexBound::parse(min)?,
            max: LexBound::parse(max)?,
        })
    }

    #[inline]
    pub fn gte_min(&self, m: &[u8]) -> bool {
        match self.min {
            LexBound::Min => true,
            LexBound::Max => false,
            LexBound::Incl(v) => m >= v,
            LexBound::Excl(v) => m > v,
        }
    }

    #[inline]
    pub fn lte_max(&self, m: &[u8]) -> bool {
        match self.max {
            LexBound::Min => false,
            LexBound::Max => true,
            LexBound::Incl(v) => m <= v,
            LexBound::Excl(v) => m < v,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn integral_scores_print_as_percent_g17_would() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut values: Vec<f64> = (0..20_000)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                let n = (x % 1_000_000_000_000_000) as i64 >> (i % 50);
                if i % 2 == 0 {
                    n as f64
                } else {
                    -(n as f64)
                }
            })
            .collect();
        values.extend([
            1.0,
            -1.0,
            9.0,
            10.0,
            1e14,
            999_999_999_999_999.0,
            -123_456.0,
        ]);
        for d in values.into_iter().filter(|d| *d != 0.0) {
            let mut slow = ScoreText {
                buf: [0; 40],
                len: 0,
            };
            slow.format_g17(d);
            assert_eq!(ScoreText::new(d).as_bytes(), slow.as_bytes(), "{d}");
        }
    }

    #[test]
    fn packed_scores_round_trip() {
        let limit = (1u64 << 48) as f64;
        for score in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            100.0,
            -12345.0,
            limit - 1.0,
            -(limit - 1.0),
            limit,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MIN_POSITIVE,
            1e300,
        ] {
            let mut b = [0u8; SCORE_BYTES_MAX];
            let n = encode_score(score, &mut b);
            let (back, next) = read_score(&b, 0);
            assert_eq!(back.to_bits(), score.to_bits(), "{score}");
            assert_eq!(next, n);
        }
        let mut b = [0u8; SCORE_BYTES_MAX];
        assert_eq!(encode_score(5.0, &mut b), 1);
        assert_eq!(encode_score(-32.0, &mut b), 1);
        assert_eq!(encode_score(32.0, &mut b), 2);
        assert_eq!(encode_score(0.5, &mut b), 9);
    }

    #[test]
    fn packed_members_are_compact() {
        let limits = Limits {
            entries_max: 128,
            value_max: 64,
            seed: 1,
        };
        let mut z = ZSet::default();
        for i in 0..100 {
            z.insert(
                alloc::format!("member:{i:03}").as_bytes(),
                i as f64,
                &limits,
            );
        }
        assert_eq!(z.encoding_name(), "listpack");
        // The common prefix `member:0` once (9 bytes), then per member the 2 bytes after it and
        // their length, and a small integer score (1 byte below 32, 2 from 32 on).
        let Encoding::Packed(p) = &z.enc else {
            panic!("packed")
        };
        assert_eq!(p.prefix().0, b"member:0");
        assert_eq!(p.buf.len(), 9 + 100 * 3 + 32 + 68 * 2);
        assert_eq!(
            z.range(97..100, true, &Bump::new())
                .map(|e| e.1)
                .collect::<Vec<_>>(),
            [99.0, 98.0, 97.0]
        );
        z.check();
    }

    use super::*;
    use alloc::format;

    /// xorshift64*, for reproducible random tests.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    type Model = Vec<(f64, Vec<u8>)>;

    fn model_insert(model: &mut Model, score: f64, member: &[u8]) {
        let at = model.partition_point(|(s, m)| *s < score || (*s == score && m[..] < *member));
        model.insert(at, (score, member.to_vec()));
    }

    fn collect(it: Iter<'_>) -> Model {
        it.map(|(m, s)| (s, m.to_vec())).collect()
    }

    fn list_items(list: &SkipList, rev: bool) -> Model {
        let mut out = Vec::new();
        let mut x = if rev { list.last() } else { list.first() };
        while x != NIL {
            let (m, s) = list.entry(x);
            out.push((s, m.to_vec()));
            x = if rev { list.prev(x) } else { list.next(x) };
        }
        out
    }

    /// Removes a random rank range from both: mostly short ones, sometimes a mass deletion (which
    /// compacts the arena).
    fn remove_random_ranks(list: &mut SkipList, model: &mut Model, rng: &mut Rng) {
        let len = model.len();
        let a = rng.below(len + 2);
        let b = if rng.below(8) == 0 {
            len + 1
        } else {
            a + rng.below(6)
        };
        let mut removed = Vec::new();
        let n = list.remove_ranks(a, b, |m, s| removed.push((s, m.to_vec())));
        let expect: Model = if a < b && a < len {
            model.drain(a..b.min(len)).collect()
        } else {
            Vec::new()
        };
        assert_eq!(n, expect.len());
        assert_eq!(removed, expect);
    }

    /// Random inserts, score updates, removals, rank queries and range deletions on the skip list,
    /// checked against a sorted vector and the list's own invariant check.
    #[test]
    fn skiplist_matches_sorted_vector() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut list = SkipList::new(42);
        let mut model: Model = Vec::new();
        for step in 0..30_000 {
            // Some members are too long to be stored inline.
            let member = match rng.below(400) {
                n if n % 8 == 0 => format!("a-member-name-longer-than-inline-{n}").into_bytes(),
                n => format!("m{n}").into_bytes(),
            };
            // Few distinct scores, so ties (ordered by member) are common.
            let score = rng.below(40) as f64 / 4.0 - 3.0;
            let pos = model.iter().position(|(_, m)| *m == member);
            match rng.below(12) {
                0..=4 => {
                    match pos {
                        Some(i) => {
                            list.update_score(model[i].0, &member, score);
                            model.remove(i);
                        }
                        None => {
                            list.insert(score, CompactStr::from_bytes(&member));
                        }
                    }
                    model_insert(&mut model, score, &member);
                }
                5..=6 => match pos {
                    Some(i) => {
                        let (s, _) = model.remove(i);
                        assert_eq!(list.remove(s, &member).map(|m| m.to_vec()), Some(member));
                    }
                    None => assert!(list.remove(score, &member).is_none()),
                },
                7 => remove_random_ranks(&mut list, &mut model, &mut rng),
                8 => {
                    if let Some(i) = pos {
                        assert_eq!(list.rank(model[i].0, &member), Some(i));
                    } else {
                        assert_eq!(list.rank(score, &member), None);
                    }
                    let r = rng.below(model.len() + 1);
                    let x = list.at_rank(r);
                    match model.get(r) {
                        Some((s, m)) => assert_eq!(list.entry(x), (&m[..], *s)),
                        None => assert_eq!(x, NIL),
                    }
                }
                9..=10 => {
                    let n = list.count_while(|s, m| s < score || (s == score && m <= &member[..]));
                    let expect = model
                        .iter()
                        .filter(|(s, m)| *s < score || (*s == score && *m <= member))
                        .count();
                    assert_eq!(n, expect);
                }
                _ => {
                    assert_eq!(list_items(&list, false), model);
                    let mut rev = model.clone();
                    rev.reverse();
                    assert_eq!(list_items(&list, true), rev);
                }
            }
            assert_eq!(list.len(), model.len());
            if step % 1000 == 0 {
                list.check();
            }
        }
        list.check();
        assert_eq!(list_items(&list, false), model);
    }

    fn limits(entries_max: usize, value_max: usize) -> Limits {
        Limits {
            entries_max,
            value_max,
            seed: 99,
        }
    }

    /// Whole-set checks after a random round: invariants, order, score ranges, a full scan, and
    /// equal digests for a clone and a rebuilt compact copy.
    fn check_against_model(z: &ZSet, model: &Model) {
        z.check();
        assert_eq!(collect(z.iter(&Bump::new())), *model);
        // Score and lex ranges.
        let r = ScoreRange::parse(b"(2", b"5").unwrap();
        let expect: Model = model
            .iter()
            .filter(|(s, _)| *s > 2.0 && *s <= 5.0)
            .cloned()
            .collect();
        assert_eq!(
            collect(z.range(z.score_ranks(&r), false, &Bump::new())),
            expect
        );
        // A full scan visits every member once.
        let (mut seen, scratch) = (Vec::new(), Bump::new());
        let mut cursor = 0;
        loop {
            cursor = z.scan(cursor, 1, &scratch, |m, s| seen.push((s, m.to_vec())));
            if cursor == 0 {
                break;
            }
        }
        seen.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        assert_eq!(seen, *model);
        // Clones and rebuilt copies agree whatever their encoding.
        let copy = z.clone();
        copy.check();
        let packed =
            ZSet::from_sorted(model.iter().map(|(s, m)| (&m[..], *s)), &limits(1000, 1000));
        assert_eq!(packed.encoding_name(), "listpack");
        let (mut a, mut b) = (Vec::new(), Vec::new());
        copy.canonical(&mut a);
        packed.canonical(&mut b);
        assert_eq!(a, b);
        assert!(z.heap_size() > 0 || z.is_empty());
    }

    /// The public API over both encodings (with small limits so sets convert midway) against a
    /// sorted vector.
    #[test]
    fn zset_matches_model_across_encodings() {
        let mut rng = Rng(7);
        for round in 0..40 {
            let lim = limits(1 + round % 20, 6);
            let mut z = ZSet::new();
            let mut model: Model = Vec::new();
            for _ in 0..400 {
                let len = if rng.below(30) == 0 {
                    8
                } else {
                    1 + rng.below(3)
                };
                let mut member: Vec<u8> = (0..len).map(|_| b'a' + rng.below(4) as u8).collect();
                // Even rounds: most members share a prefix, which the compact encoding stores
                // once and shortens when a member without it comes.
                if round % 2 == 0 && rng.below(20) != 0 {
                    member.splice(0..0, *b"cc");
                }
                let score = rng.below(8) as f64;
                let pos = model.iter().position(|(_, m)| *m == member);
                match rng.below(10) {
                    0..=4 => {
                        assert_eq!(z.insert(&member, score, &lim), pos.is_none());
                        if let Some(i) = pos {
                            model.remove(i);
                        }
                        model_insert(&mut model, score, &member);
                    }
                    5 => {
                        assert_eq!(z.remove(&member), pos.is_some());
                        if let Some(i) = pos {
                            model.remove(i);
                        }
                    }
                    6 => {
                        let max = rng.below(2) == 1;
                        let popped = z.pop(max).map(|(m, s)| (s, m.to_vec()));
                        let expect = if max {
                            model.pop()
                        } else {
                            (!model.is_empty()).then(|| model.remove(0))
                        };
                        assert_eq!(popped, expect);
                    }
                    7 => {
                        let a = rng.below(model.len() + 2);
                        let b = a + rng.below(4);
                        let n = z.remove_ranks(a..b);
                        let (a, b) = (a.min(model.len()), b.min(model.len()));
                        assert_eq!(n, b - a);
                        model.drain(a..b);
                    }
                    _ => {
                        assert_eq!(z.score(&member), pos.map(|i| model[i].0));
                        assert_eq!(z.rank(&member), pos);
                        let a = rng.below(model.len() + 2);
                        let b = rng.below(model.len() + 2);
                        let rev = rng.below(2) == 1;
                        let mut expect: Model = model
                            .get(a..b.min(model.len()))
                            .map_or(Vec::new(), |s| s.to_vec());
                        if rev {
                            expect.reverse();
                        }
                        assert_eq!(collect(z.range(a..b, rev, &Bump::new())), expect);
                        let r = rng.below(model.len() + 1);
                        assert_eq!(
                            z.get(r, &Bump::new()),
                            model.get(r).map(|(s, m)| (&m[..], *s))
                        );
                    }
                }
                assert_eq!(z.len(), model.len());
                if model.len() > lim.entries_max || model.iter().any(|(_, m)| m.len() > 6) {
                    assert_eq!(z.encoding_name(), "skiplist");
                }
            }
            check_against_model(&z, &model);
        }
    }

    #[test]
    fn lex_ranges_on_equal_scores() {
        let lim = limits(128, 64);
        for skip in [false, true] {
            let mut z = ZSet::new();
            if skip {
                z.convert(1);
            }
            for m in [
                "alpha", "bar", "cool", "down", "elephant", "foo", "great", "hill", "omega",
            ] {
                z.insert(m.as_bytes(), 0.0, &lim);
            }
            let count =
                |min: &[u8], max: &[u8]| z.lex_ranks(&LexRange::parse(min, max).unwrap()).len();
            assert_eq!(count(b"-", b"+"), 9);
            assert_eq!(count(b"+", b"-"), 0);
            assert_eq!(count(b"[bar", b"[foo"), 5);
            assert_eq!(count(b"(bar", b"(foo"), 3);
            assert_eq!(count(b"(maxstring", b"+"), 1);
            assert_eq!(count(b"[c", b"-"), 0);
            let r = z.lex_ranks(&LexRange::parse(b"[bar", b"[down").unwrap());
            let scratch = Bump::new();
            let got: Vec<&[u8]> = z.range(r, true, &scratch).map(|(m, _)| m).collect();
            assert_eq!(got, [&b"down"[..], b"cool", b"bar"]);
        }
        assert_eq!(LexBound::parse(b"+x"), None);
        assert_eq!(LexBound::parse(b"foo"), None);
        assert_eq!(LexBound::parse(b""), None);
        assert_eq!(LexBound::parse(b"["), Some(LexBound::Incl(b"")));
    }

    #[test]
    fn scores_print_like_redis_7_0() {
        let text = |d: f64| {
            alloc::string::String::from_utf8(ScoreText::new(d).as_bytes().to_vec())
                .unwrap_or_default()
        };
        assert_eq!(text(1.0), "1");
        assert_eq!(text(-2.5), "-2.5");
        assert_eq!(text(0.1), "0.10000000000000001");
        assert_eq!(text(1e-5), "1.0000000000000001e-05");
        assert_eq!(text(0.0001), "0.0001");
        assert_eq!(text(1e16), "10000000000000000");
        assert_eq!(text(1e17), "1e+17");
        assert_eq!(text(123456789.125), "123456789.125");
        assert_eq!(text(f64::MAX), "1.7976931348623157e+308");
        assert_eq!(text(f64::from_bits(20)), "9.8813129168249309e-323");
        assert_eq!(text(f64::NEG_INFINITY), "-inf");
        assert_eq!(text(-0.0), "-0");
        // Every formatted score reads back exactly.
        let mut x = 0x1234_5678_9abc_def0u64;
        for _ in 0..2000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let d = f64::from_bits(x);
            if d.is_finite() {
                assert_eq!(text(d).parse::<f64>().ok(), Some(d), "{d:e}");
            }
        }
        assert_eq!(parse_score(b"inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"-Infinity"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"1e-400"), None);
        assert_eq!(parse_score(b"0e-400"), Some(0.0));
        assert_eq!(parse_score(b" 1"), None);
        assert_eq!(parse_score(b""), None);
    }

    #[test]
    fn score_range_syntax() {
        let r = ScoreRange::parse(b"(1.5", b"+inf").unwrap();
        assert!(r.min_ex && !r.max_ex && r.min == 1.5 && r.max == f64::INFINITY);
        assert_eq!(
            ScoreRange::parse(b"-inf", b"(3").unwrap().min,
            f64::NEG_INFINITY
        );
        assert!(ScoreRange::parse(b"str", b"1").is_none());
        assert!(ScoreRange::parse(b"1", b"NaN").is_none());
        assert!(ScoreRange::parse(b"1 ", b"2").is_none());
        let r = ScoreRange::parse(b"2", b"(2").unwrap();
        assert!(r.gte_min(2.0) && !r.lte_max(2.0));
    }
}
