//! Lists: a double-ended sequence of byte strings (LPUSH/RPUSH, LRANGE, ...).
//!
//! Elements live in a ring buffer of [`CompactStr`] (short elements inline, integers as integers), so
//! both ends and any index are O(1). OBJECT ENCODING reports `listpack` while the list would fit one
//! listpack node under `list-max-listpack-size` and `quicklist` beyond, with Redis 7.2's rules: a list
//! turns `quicklist` as soon as it outgrows the limit and back to `listpack` only once it shrinks
//! under half of it, so a list at the boundary does not flip on every push and pop. The size that
//! rule needs is kept as a running count of the bytes the elements would take in a listpack.
//!
//! Every mutation goes through a method here, which keeps that count right; commands call
//! [`List::grew`] or [`List::shrank`] afterwards to let the encoding name follow.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::put_bytes;
use super::string::{parse_canonical_i64, CompactStr};

/// Bytes of a listpack's header (total bytes + element count) and end marker.
const LISTPACK_OVERHEAD: usize = 6 + 1;

/// Node byte limits for negative `list-max-listpack-size` values -1 to -5 (Redis's
/// `optimization_level`); values past -5 use the last.
const NODE_BYTES_BY_CLASS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];

/// With a positive `list-max-listpack-size` (an element count), a node still may not pass this many
/// bytes (Redis's `SIZE_SAFETY_LIMIT`).
const NODE_BYTES_SAFETY: usize = 8192;

/// Ring-buffer slots a list keeps even when it shrinks, so small lists are never reallocated.
const SPARE_SLOTS_MIN: usize = 16;

/// Which end of a list a command works on (Redis's `LIST_HEAD` / `LIST_TAIL`; LEFT / RIGHT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// An element to look for (LINSERT's pivot, LREM, LPOS), with its integer form worked out once so
/// integer-encoded elements compare without being formatted.
#[derive(Clone, Copy, Debug)]
pub struct Needle<'a> {
    bytes: &'a [u8],
    int: Option<i64>,
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Needle {
            bytes,
            int: parse_canonical_i64(bytes),
        }
    }

    /// Whether `item` holds exactly these bytes.
    #[inline]
    pub fn matches(&self, item: &CompactStr) -> bool {
        match item {
            CompactStr::Int(n) => self.int == Some(*n),
            other => other.raw() == Some(self.bytes),
        }
    }
}

#[derive(Clone, Debug)]
pub struct List {
    items: VecDeque<CompactStr>,
    /// Sum of [`packed_size`] over the elements.
    packed_bytes: usize,
    /// Whether OBJECT ENCODING says `listpack` (else `quicklist`).
    packed: bool,
}

impl Default for List {
    fn default() -> Self {
        Self::new()
    }
}

impl List {
    pub fn new() -> Self {
        List {
            items: VecDeque::new(),
            packed_bytes: 0,
            packed: true,
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn encoding_name(&self) -> &'static str {
        if self.packed {
            "listpack"
        } else {
            "quicklist"
        }
    }

    pub fn heap_size(&self) -> usize {
        self.items.capacity() * core::mem::size_of::<CompactStr>()
            + self.items.iter().map(CompactStr::heap_size).sum::<usize>()
    }

    pub fn canonical(&self, out: &mut Vec<u8>) {
        for it in &self.items {
            put_bytes(out, &it.to_vec());
        }
    }

    /// Lets the encoding name follow a command that added elements: a `listpack` list past the
    /// limit `fill` (`list-max-listpack-size`) becomes `quicklist`.
    pub fn grew(&mut self, fill: i64) {
        if self.packed && exceeds(fill, self.listpack_bytes(), self.len(), false) {
            self.packed = false;
        }
    }

    /// Lets the encoding name follow a command that removed elements: a `quicklist` list back under
    /// half the limit becomes `listpack`. Also gives back memory once the ring buffer is mostly
    /// empty, keeping room to grow again (amortized O(1): the buffer lost 3/4 of its capacity).
    pub fn shrank(&mut self, fill: i64) {
        if !self.packed && !exceeds(fill, self.listpack_bytes(), self.len(), true) {
            self.packed = true;
        }
        let cap = self.items.capacity();
        if cap > SPARE_SLOTS_MIN && cap / 4 > self.len() {
            self.items.shrink_to((2 * self.len()).max(SPARE_SLOTS_MIN));
        }
    }

    /// Picks the encoding name from scratch (a list built by a loader rather than by commands).
    pub fn fit(&mut self, fill: i64) {
        self.packed = true;
        self.grew(fill);
    }

    fn listpack_bytes(&self) -> usize {
        LISTPACK_OVERHEAD + self.packed_bytes
    }

    /// Adds an element at one end.
    pub fn push(&mut self, end: End, value: &[u8]) {
        let item = CompactStr::from_value(value);
        self.packed_bytes += packed_size(&item);
        match end {
            End::Head => self.items.push_front(item),
            End::Tail => self.items.push_back(item),
        }
    }

    /// Removes and returns the element at one end.
    pub fn pop(&mut self, end: End) -> Option<CompactStr> {
        let item = match end {
            End::Head => self.items.pop_front(),
            End::Tail => self.items.pop_back(),
        }?;
        self.packed_bytes -= packed_size(&item);
        Some(item)
    }

    /// The position of `index` (negative counts from the tail, -1 being the last element), if it is
    /// inside the list.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 { len + index } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The element at `index` (negative counts from the tail).
    pub fn get(&self, index: i64) -> Option<&CompactStr> {
        self.items.get(self.resolve(index)?)
    }

    /// Replaces the element at `index` (negative counts from the tail); false when out of range.
    pub fn set(&mut self, index: i64, value: &[u8]) -> bool {
        let Some(slot) = self.resolve(index).and_then(|i| self.items.get_mut(i)) else {
            return false;
        };
        let item = CompactStr::from_value(value);
        self.packed_bytes = self.packed_bytes - packed_size(slot) + packed_size(&item);
        *slot = item;
        true
    }

    /// Inserts an element so that it lands at position `at` (`at <= len`).
    pub fn insert(&mut self, at: usize, value: &[u8]) {
        debug_assert!(at <= self.len());
        let item = CompactStr::from_value(value);
        self.packed_bytes += packed_size(&item);
        self.items.insert(at.min(self.len()), item);
    }

    /// Elements from head to tail.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &CompactStr> + ExactSizeIterator {
        self.items.iter()
    }

    /// Elements at positions `from..to` (clamped to the list).
    pub fn range(
        &self,
        from: usize,
        to: usize,
    ) -> impl DoubleEndedIterator<Item = &CompactStr> + ExactSizeIterator {
        let to = to.min(self.len());
        self.items.range(from.min(to)..to)
    }

    /// The first position holding `needle`.
    pub fn position(&self, needle: &Needle<'_>) -> Option<usize> {
        self.items.iter().position(|it| needle.matches(it))
    }

    /// Removes elements equal to `needle`: at most `limit` of them (0: all), the first ones from the
    /// head or, with `from_tail`, the last ones. Returns how many went. O(N).
    pub fn remove_matching(&mut self, needle: &Needle<'_>, limit: usize, from_tail: bool) -> usize {
        // `retain` walks from the head, so removing the last `limit` matches means skipping the
        // matches before them.
        let mut skip = 0;
        if from_tail && limit > 0 {
            let total = self.items.iter().filter(|it| needle.matches(it)).count();
            skip = total.saturating_sub(limit);
        }
        let limit = if limit == 0 { usize::MAX } else { limit };
        let (mut seen, mut removed, mut freed) = (0usize, 0usize, 0usize);
        self.items.retain(|it| {
            if removed == limit || !needle.matches(it) {
                return true;
            }
            seen += 1;
            if seen <= skip {
                return true;
            }
            removed += 1;
            freed += packed_size(it);
            false
        });
        self.packed_bytes -= freed;
        removed
    }

    /// Removes `head` elements from the head and `tail` from the tail (LTRIM); counts past the
    /// length remove everything.
    pub fn trim(&mut self, head: usize, tail: usize) {
        let head = head.min(self.len());
        let freed: usize = self.items.drain(..head).map(|it| packed_size(&it)).sum();
        self.packed_bytes -= freed;
        let keep = self.len().saturating_sub(tail);
        let freed: usize = self.items.drain(keep..).map(|it| packed_size(&it)).sum();
        self.packed_bytes -= freed;
    }
}

/// Whether a listpack of `bytes` bytes and `count` elements passes the node limit of
/// `list-max-listpack-size` = `fill` (Redis's `quicklistNodeExceedsLimit`), or with `shrinking`, half
/// of it (Redis's `listTypeTryConvertQuicklist`, which leaves out the byte safety limit).
fn exceeds(fill: i64, bytes: usize, count: usize, shrinking: bool) -> bool {
    let divisor = if shrinking { 2 } else { 1 };
    if fill < 0 {
        let class = (fill.unsigned_abs() as usize - 1).min(NODE_BYTES_BY_CLASS.len() - 1);
        bytes > NODE_BYTES_BY_CLASS[class] / divisor
    } else {
        let count_max = fill.max(1) as usize / divisor;
        (!shrinking && bytes > NODE_BYTES_SAFETY) || count > count_max
    }
}

/// Bytes `item` takes as a listpack entry: encoding byte(s), data, and the back-length that lets a
/// listpack be walked from the tail (Redis's `lpEncodeBacklen`).
fn packed_size(item: &CompactStr) -> usize {
    let entry = match item {
        CompactStr::Int(n) => match *n {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8_388_608..=8_388_607 => 4,
            -2_147_483_648..=2_147_483_647 => 5,
            _ => 9,
        },
        other => {
            let len = other.len();
            len + match len {
                0..=63 => 1,
                64..=4095 => 2,
                _ => 5,
            }
        }
    };
    let backlen = match entry {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    entry + backlen
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn contents(l: &List) -> Vec<Vec<u8>> {
        l.iter().map(CompactStr::to_vec).collect()
    }

    fn check_bytes(l: &List) {
        let sum: usize = l.iter().map(packed_size).sum();
        assert_eq!(l.packed_bytes, sum);
    }

    fn list_of(items: &[&[u8]]) -> List {
        let mut l = List::new();
        for it in items {
            l.push(End::Tail, it);
        }
        l
    }

    #[test]
    fn ends_and_indexes() {
        let mut l = List::new();
        l.push(End::Tail, b"b");
        l.push(End::Head, b"a");
        l.push(End::Tail, b"12");
        assert_eq!(
            contents(&l),
            vec![b"a".to_vec(), b"b".to_vec(), b"12".to_vec()]
        );
        assert!(matches!(l.get(-1), Some(CompactStr::Int(12))));
        assert!(l.get(3).is_none() && l.get(-4).is_none() && l.get(i64::MIN).is_none());
        assert!(l.set(-3, b"x") && !l.set(3, b"y"));
        l.insert(1, b"mid");
        assert_eq!(l.pop(End::Head).map(|s| s.to_vec()), Some(b"x".to_vec()));
        assert_eq!(l.pop(End::Tail).map(|s| s.to_vec()), Some(b"12".to_vec()));
        assert_eq!(contents(&l), vec![b"mid".to_vec(), b"b".to_vec()]);
        check_bytes(&l);
    }

    #[test]
    fn needle_compares_integers_and_bytes() {
        let int = CompactStr::from_value(b"42");
        let text = CompactStr::from_value(b"042");
        assert!(Needle::new(b"42").matches(&int));
        assert!(!Needle::new(b"042").matches(&int));
        assert!(Needle::new(b"042").matches(&text));
        assert!(!Needle::new(b"42").matches(&text));
    }

    #[test]
    fn remove_matching_from_either_end() {
        let items: &[&[u8]] = &[b"a", b"1", b"a", b"b", b"a", b"1"];
        let mut l = list_of(items);
        assert_eq!(l.remove_matching(&Needle::new(b"a"), 2, true), 2);
        assert_eq!(
            contents(&l),
            [&b"a"[..], b"1", b"b", b"1"].map(<[u8]>::to_vec)
        );
        let mut l = list_of(items);
        assert_eq!(l.remove_matching(&Needle::new(b"a"), 1, false), 1);
        assert_eq!(l.remove_matching(&Needle::new(b"1"), 0, false), 2);
        assert_eq!(contents(&l), [&b"a"[..], b"b", b"a"].map(<[u8]>::to_vec));
        check_bytes(&l);
    }

    #[test]
    fn trim_and_range() {
        let mut l = list_of(&[b"a", b"b", b"c", b"d", b"e"]);
        assert_eq!(l.range(1, 3).count(), 2);
        assert_eq!(l.range(4, 100).count(), 1);
        assert_eq!(l.range(7, 100).count(), 0);
        l.trim(1, 2);
        assert_eq!(contents(&l), vec![b"b".to_vec(), b"c".to_vec()]);
        l.trim(usize::MAX, usize::MAX);
        assert!(l.is_empty());
        check_bytes(&l);
    }

    #[test]
    fn encoding_follows_the_limit_with_hysteresis() {
        let mut l = List::new();
        // 100-byte elements take 103 bytes each: 80 pass 8 KiB, 39 fit in half of it.
        for _ in 0..128 {
            l.push(End::Tail, &[b'x'; 100]);
            l.grew(-2);
        }
        assert_eq!(l.encoding_name(), "quicklist");
        while l.len() > 70 {
            l.pop(End::Tail);
            l.shrank(-2);
        }
        // Under the 8 KiB limit but not under half of it: still a quicklist.
        assert_eq!(l.encoding_name(), "quicklist");
        while l.len() > 39 {
            l.pop(End::Tail);
            l.shrank(-2);
        }
        assert_eq!(l.encoding_name(), "listpack");
        while l.len() > 10 {
            l.pop(End::Head);
            l.shrank(-2);
        }
        assert!(l.items.capacity() < 64, "{}", l.items.capacity());
        let mut l = list_of(&[b"a", b"b", b"c"]);
        l.fit(2);
        assert_eq!(l.encoding_name(), "quicklist");
        l.pop(End::Head);
        l.pop(End::Head);
        l.shrank(2);
        assert_eq!(l.encoding_name(), "listpack");
    }

    #[test]
    fn packed_sizes_match_listpack() {
        assert_eq!(packed_size(&CompactStr::from_value(b"7")), 2);
        assert_eq!(packed_size(&CompactStr::from_value(b"-1")), 3);
        assert_eq!(packed_size(&CompactStr::from_value(b"hello")), 7);
        assert_eq!(packed_size(&CompactStr::from_value(&[b'x'; 200])), 204);
    }

    #[test]
    fn random_operations_match_a_vec() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let values: [&[u8]; 5] = [b"1", b"x", b"-300", &[b'y'; 70], b""];
        let (mut l, mut model) = (List::new(), Vec::<Vec<u8>>::new());
        for _ in 0..5000 {
            let v = values[next(5) as usize];
            let at = next(model.len() as u64 + 1) as usize;
            match next(7) {
                0 => {
                    l.push(End::Head, v);
                    model.insert(0, v.to_vec());
                }
                1 | 2 => {
                    l.push(End::Tail, v);
                    model.push(v.to_vec());
                }
                3 => {
                    let got = l.pop(End::Head).map(|s| s.to_vec());
                    assert_eq!(got, (!model.is_empty()).then(|| model.remove(0)));
                }
                4 => {
                    l.insert(at, v);
                    model.insert(at, v.to_vec());
                }
                5 => {
                    let limit = next(3) as usize;
                    let from_tail = next(2) == 0;
                    let removed = l.remove_matching(&Needle::new(v), limit, from_tail);
                    let mut hits: Vec<usize> =
                        (0..model.len()).filter(|&i| model[i] == v).collect();
                    if from_tail {
                        hits.reverse();
                    }
                    hits.truncate(if limit == 0 { usize::MAX } else { limit });
                    hits.sort_unstable();
                    hits.iter().rev().for_each(|&i| drop(model.remove(i)));
                    assert_eq!(removed, hits.len());
                }
                _ => {
                    let (head, tail) = (next(3) as usize, next(3) as usize);
                    l.trim(head, tail);
                    model.drain(..head.min(model.len()));
                    model.truncate(model.len().saturating_sub(tail));
                }
            }
            l.grew(-2);
            l.shrank(-2);
            assert_eq!(contents(&l), model);
            check_bytes(&l);
        }
    }
}
