//! Sets: unordered collections of unique byte strings (SADD, SISMEMBER, ...).
//!
//! Like Redis 7.2, a set has three encodings. While every member is the canonical decimal form of
//! an `i64` and there are at most `set-max-intset-entries` of them, the set is a sorted vector of
//! `i64` (Redis's intset): 8 bytes a member, membership by binary search. A small set of other
//! members (at most `set-max-listpack-entries`, none longer than `set-max-listpack-value`) is one
//! packed buffer of varint-length entries, like Redis's listpack without its back-lengths (a set
//! is never walked from its end): 11 bytes for a 10-byte member, linear lookups. Past those limits it converts for good to Ember's hash table, which also
//! gives SSCAN its cursor guarantee (Redis never converts back either).
//!
//! The set algebra the commands share ([`union`], [`difference`]) builds its result the way SADD
//! builds a set, so a STORE gets the encoding Redis would give it.
//!
//! Random picks (SPOP, SRANDMEMBER) are uniform: an index into the integers or the packed
//! members, and for the table [`Table::random_fair`]'s rejection sampling (exact for every member
//! whose bucket chain is at most four long, where Redis's `dictGetFairRandomKey` picks among a
//! run of buckets).

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::cmp::Reverse;

use super::list::{
    fwd_entry_size as entry_size, read_fwd as read_forward, write_fwd_entry as write_entry,
};
use super::put_bytes;
use super::string::{format_i64, parse_canonical_i64, IntBuf, I64_DIGITS_MAX};
use crate::table::Table;

/// The integer encoding never holds more members than this, whatever the config says (Redis caps
/// `set-max-intset-entries` the same way because of intset internals).
pub const INTSET_ENTRIES_MAX: usize = 1 << 30;

/// When `count * SUB_STRATEGY_MUL` exceeds the set size, distinct random members are chosen by
/// shuffling all members rather than by repeated picks (Redis's `SRANDMEMBER_SUB_STRATEGY_MUL`).
const SUB_STRATEGY_MUL: usize = 3;

/// Repeated picks for distinct members give up after this many tries per member and shuffle
/// instead (a bound; with uniform picks and `count <= size / 3` it is never reached in practice).
const DISTINCT_TRIES_PER_MEMBER: usize = 64;

/// A member as a set holds it: an integer of the intset encoding or the bytes of a table member.
/// Members of one set are all the same variant, so the derived order sorts integers numerically.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Member<'a> {
    Int(i64),
    Bytes(&'a [u8]),
}

impl<'a> Member<'a> {
    /// The member's bytes; an integer is formatted into `scratch`.
    pub fn bytes<'s>(&'s self, scratch: &'s mut IntBuf) -> &'s [u8] {
        match self {
            Member::Int(n) => format_i64(*n, scratch),
            Member::Bytes(b) => b,
        }
    }

    /// The integer the member encodes, when it is the canonical form of one.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Member::Int(n) => Some(*n),
            Member::Bytes(b) => parse_canonical_i64(b),
        }
    }

    pub fn owned(&self) -> OwnedMember {
        match self {
            Member::Int(n) => OwnedMember::Int(*n),
            Member::Bytes(b) => OwnedMember::Bytes(b.to_vec()),
        }
    }
}

/// A member taken out of a set (SPOP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OwnedMember {
    Int(i64),
    Bytes(Vec<u8>),
}

impl OwnedMember {
    pub fn as_member(&self) -> Member<'_> {
        match self {
            OwnedMember::Int(n) => Member::Int(*n),
            OwnedMember::Bytes(b) => Member::Bytes(b),
        }
    }
}

/// What a set consults when it grows: the integer encoding's limit (`set-max-intset-entries`) and
/// the hash seed for a table it converts to.
#[derive(Clone, Copy, Debug)]
pub struct Growth {
    pub intset_entries_max: usize,
    /// `set-max-listpack-entries`.
    pub listpack_entries_max: usize,
    /// `set-max-listpack-value`: the longest member the packed encoding holds.
    pub listpack_value_max: usize,
    pub seed: u64,
}

/// A small set of members packed into one buffer (entries in the list-node format).
#[derive(Clone, Debug, Default)]
pub struct Packed {
    buf: Vec<u8>,
    len: usize,
}

impl Packed {
    fn members(&self) -> impl Iterator<Item = (usize, &[u8], usize)> {
        let mut at = 0;
        core::iter::from_fn(move || {
            (at < self.buf.len()).then(|| {
                let (m, next) = read_forward(&self.buf, at);
                let item = (at, m, next);
                at = next;
                item
            })
        })
    }

    fn find(&self, m: &[u8]) -> Option<(usize, usize)> {
        self.members()
            .find(|(_, x, _)| *x == m)
            .map(|(at, _, end)| (at, end))
    }

    fn push(&mut self, m: &[u8]) {
        let at = self.buf.len();
        let n = entry_size(m.len());
        self.buf.reserve_exact(n);
        self.buf.resize(at + n, 0);
        write_entry(&mut self.buf[at..], m);
        self.len += 1;
    }
}

/// A small pseudo-random generator (SplitMix64) for random picks, seeded by the host's randomness.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform number in `0..n` (`n > 0`), by Lemire's multiply-shift (bias below 2^-40 here).
    pub fn below(&mut self, n: usize) -> usize {
        debug_assert!(n > 0);
        ((self.next_u64() as u128 * n as u128) >> 64) as usize
    }
}

#[derive(Debug)]
pub enum Set {
    /// Sorted, unique integers.
    Ints(Vec<i64>),
    /// A few members, packed, in insertion order.
    Packed(Packed),
    /// Members (the table's values are unused); boxed, so the small encodings stay small.
    Table(Box<Table<()>>),
}

impl Clone for Set {
    fn clone(&self) -> Self {
        match self {
            Set::Ints(v) => Set::Ints(v.clone()),
            Set::Packed(p) => Set::Packed(p.clone()),
            Set::Table(t) => {
                let mut copy = Table::new(t.hash(b"ember-set-seed"));
                for e in t.iter() {
                    copy.insert_new(e.key_bytes(), (), 0, 0);
                }
                Set::Table(Box::new(copy))
            }
        }
    }
}

impl Default for Set {
    fn default() -> Self {
        Set::Ints(Vec::new())
    }
}

impl Set {
    pub fn len(&self) -> usize {
        match self {
            Set::Ints(v) => v.len(),
            Set::Packed(p) => p.len,
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Packed(_) => "listpack",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Set::Ints(v) => v.capacity() * 8,
            Set::Packed(p) => p.buf.capacity(),
            Set::Table(t) => t.bucket_bytes() + t.entry_bytes(),
        }
    }

    /// Members sorted bytewise.
    pub fn canonical(&self, out: &mut Vec<u8>) {
        let mut members: Vec<Vec<u8>> = match self {
            Set::Ints(v) => v
                .iter()
                .map(|n| alloc::format!("{n}").into_bytes())
                .collect(),
            Set::Packed(p) => p.members().map(|(_, m, _)| m.to_vec()).collect(),
            Set::Table(t) => t.iter().map(|e| e.key_bytes().to_vec()).collect(),
        };
        members.sort();
        for m in members {
            put_bytes(out, &m);
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.contains_member(Member::Bytes(m))
    }

    pub fn contains_member(&self, m: Member<'_>) -> bool {
        match self {
            Set::Ints(v) => m.as_i64().is_some_and(|n| v.binary_search(&n).is_ok()),
            Set::Packed(p) => {
                let mut scratch = [0u8; I64_DIGITS_MAX];
                p.find(m.bytes(&mut scratch)).is_some()
            }
            Set::Table(t) => {
                let mut scratch = [0u8; I64_DIGITS_MAX];
                t.get(m.bytes(&mut scratch)).is_some()
            }
        }
    }

    /// Adds `m`; false when it was already a member.
    pub fn insert(&mut self, m: &[u8], growth: Growth) -> bool {
        self.insert_member(Member::Bytes(m), growth)
    }

    /// Adds `m`, converting the encoding as Redis 7.2's `setTypeAdd` does: an intset takes a
    /// non-integer by becoming packed (or a table when that would pass the packed limits) and
    /// converts when it passes its own limit; a packed set becomes a table past its limits. False
    /// when `m` was already a member.
    pub fn insert_member(&mut self, m: Member<'_>, growth: Growth) -> bool {
        let mut scratch = [0u8; I64_DIGITS_MAX];
        if let Set::Ints(v) = self {
            if let Some(n) = m.as_i64() {
                let Err(at) = v.binary_search(&n) else {
                    return false;
                };
                v.insert(at, n);
                if v.len() > growth.intset_entries_max.min(INTSET_ENTRIES_MAX) {
                    let fits = v.len() <= growth.listpack_entries_max;
                    self.convert(fits, growth.seed);
                }
                return true;
            }
            let bytes = m.bytes(&mut scratch);
            let fits =
                v.len() < growth.listpack_entries_max && bytes.len() <= growth.listpack_value_max;
            self.convert(fits, growth.seed);
        }
        let bytes = m.bytes(&mut scratch);
        if let Set::Packed(p) = self {
            if p.find(bytes).is_some() {
                return false;
            }
            if p.len < growth.listpack_entries_max && bytes.len() <= growth.listpack_value_max {
                p.push(bytes);
                return true;
            }
            self.convert(false, growth.seed);
        }
        let Set::Table(t) = self else {
            unreachable!("converted to a table above");
        };
        if t.get(bytes).is_some() {
            return false;
        }
        t.insert_new(bytes, (), 0, 0);
        true
    }

    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.remove_member(Member::Bytes(m))
    }

    /// Removes `m`; false when it was not a member. A table that became sparse starts shrinking.
    pub fn remove_member(&mut self, m: Member<'_>) -> bool {
        match self {
            Set::Ints(v) => match m.as_i64().map(|n| v.binary_search(&n)) {
                Some(Ok(i)) => {
                    v.remove(i);
                    true
                }
                _ => false,
            },
            Set::Packed(p) => {
                let mut scratch = [0u8; I64_DIGITS_MAX];
                match p.find(m.bytes(&mut scratch)) {
                    Some((at, end)) => {
                        p.buf.drain(at..end);
                        p.len -= 1;
                        true
                    }
                    None => false,
                }
            }
            Set::Table(t) => {
                let mut scratch = [0u8; I64_DIGITS_MAX];
                let removed = t.remove(m.bytes(&mut scratch)).is_some();
                if removed {
                    t.shrink_if_sparse();
                }
                removed
            }
        }
    }

    /// Converts an intset to the packed encoding (`packed`) or a table, or a packed set to a table
    /// (Redis's `setTypeConvert`).
    fn convert(&mut self, packed: bool, seed: u64) {
        let mut scratch = [0u8; I64_DIGITS_MAX];
        let next = match self {
            Set::Ints(v) if packed => {
                let mut p = Packed::default();
                for &n in v.iter() {
                    p.push(format_i64(n, &mut scratch));
                }
                Set::Packed(p)
            }
            Set::Ints(v) => {
                let mut t = Table::new(seed);
                for &n in v.iter() {
                    t.insert_new(format_i64(n, &mut scratch), (), 0, 0);
                }
                Set::Table(Box::new(t))
            }
            Set::Packed(p) => {
                let mut t = Table::new(seed);
                for (_, m, _) in p.members() {
                    t.insert_new(m, (), 0, 0);
                }
                Set::Table(Box::new(t))
            }
            Set::Table(_) => return,
        };
        *self = next;
    }

    /// Every member: integers in ascending order, packed members in insertion order, table
    /// members in table order.
    pub fn iter(&self) -> impl Iterator<Item = Member<'_>> + '_ {
        let (ints, packed, table) = match self {
            Set::Ints(v) => (Some(v.iter()), None, None),
            Set::Packed(p) => (None, Some(p), None),
            Set::Table(t) => (None, None, Some(t.iter())),
        };
        ints.into_iter()
            .flatten()
            .map(|&n| Member::Int(n))
            .chain(
                packed
                    .into_iter()
                    .flat_map(|p| p.members().map(|(_, m, _)| Member::Bytes(m))),
            )
            .chain(
                table
                    .into_iter()
                    .flatten()
                    .map(|e| Member::Bytes(e.key_bytes())),
            )
    }

    /// A uniformly chosen member; `None` when the set is empty.
    pub fn random(&self, rng: &mut Rng) -> Option<Member<'_>> {
        match self {
            Set::Ints(v) if v.is_empty() => None,
            Set::Ints(v) => Some(Member::Int(v[rng.below(v.len())])),
            Set::Packed(p) if p.len == 0 => None,
            Set::Packed(p) => p
                .members()
                .nth(rng.below(p.len))
                .map(|(_, m, _)| Member::Bytes(m)),
            Set::Table(t) => t
                .random_fair(|| rng.next_u64())
                .map(|e| Member::Bytes(e.key_bytes())),
        }
    }

    /// Removes and returns a uniformly chosen member.
    pub fn pop_random(&mut self, rng: &mut Rng) -> Option<OwnedMember> {
        let m = self.random(rng)?.owned();
        let removed = self.remove_member(m.as_member());
        debug_assert!(removed);
        Some(m)
    }

    /// `count` distinct members, uniformly chosen, in random order; `count` must be below `len()`,
    /// so the work and memory are bounded by the set size whatever the client asked for.
    pub fn random_distinct(&self, count: usize, rng: &mut Rng) -> Vec<Member<'_>> {
        let size = self.len();
        debug_assert!(count < size);
        if count * SUB_STRATEGY_MUL <= size {
            // Redis's CASE 4: few members out of many, so repeated picks rarely collide.
            let mut seen = BTreeSet::new();
            let mut picked = Vec::with_capacity(count);
            for _ in 0..count.saturating_mul(DISTINCT_TRIES_PER_MEMBER) {
                let Some(m) = self.random(rng) else { break };
                if seen.insert(m) {
                    picked.push(m);
                    if picked.len() == count {
                        return picked;
                    }
                }
            }
        }
        // Redis's CASE 3 (most of the members): a partial Fisher-Yates shuffle of all of them.
        let mut all: Vec<Member<'_>> = self.iter().collect();
        for i in 0..count {
            let j = i + rng.below(size - i);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    }
}

/// Every member of the sets (a missing key is `None`, an empty set), in a set built the way
/// SADD builds one, so a STORE gets the encoding Redis would give it.
pub fn union(sets: &[Option<&Set>], growth: Growth) -> Set {
    let mut result = Set::default();
    for set in sets.iter().flatten() {
        for m in set.iter() {
            result.insert_member(m, growth);
        }
    }
    result
}

/// The members of the first set that no other set has (none when a later key names the same
/// set). Like Redis, picks between probing the other sets for each member of the first (about
/// `len(first) * sets` lookups, given a factor 2 for its better constants) and copying the first
/// set then removing the others' members (about the total size).
pub fn difference(mut sets: Vec<Option<&Set>>, growth: Growth) -> Set {
    let mut result = Set::default();
    let Some((Some(first), rest)) = sets.split_first_mut() else {
        return result;
    };
    let first: &Set = first;
    if rest.iter().flatten().any(|&s| core::ptr::eq(s, first)) {
        return result;
    }
    let present = rest.iter().flatten().count() + 1;
    let probe_work = first.len().saturating_mul(present) / 2;
    let copy_work = first.len() + rest.iter().flatten().map(|s| s.len()).sum::<usize>();
    if probe_work <= copy_work {
        // Larger sets first: a member they share is found sooner.
        rest.sort_by_key(|s| Reverse(s.map_or(0, |s| s.len())));
        for m in first.iter() {
            if !rest.iter().flatten().any(|s| s.contains_member(m)) {
                result.insert_member(m, growth);
            }
        }
    } else {
        for m in first.iter() {
            result.insert_member(m, growth);
        }
        for set in rest.iter().flatten() {
            for m in set.iter() {
                result.remove_member(m);
            }
            if result.is_empty() {
                break;
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::vec;

    const GROW: Growth = Growth {
        intset_entries_max: 512,
        listpack_entries_max: 128,
        listpack_value_max: 64,
        seed: 7,
    };

    fn members(s: &Set) -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = s
            .iter()
            .map(|m| m.bytes(&mut [0; I64_DIGITS_MAX]).to_vec())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn intset_converts_on_non_integer_and_on_size() {
        let mut s = Set::default();
        assert!(s.insert(b"5", GROW));
        assert!(!s.insert(b"5", GROW));
        assert!(s.insert(b"-3", GROW));
        assert!(s.insert(b"007", GROW), "not canonical: a string member");
        assert_eq!(s.encoding_name(), "listpack");
        assert!(s.contains(b"5") && s.contains(b"-3") && s.contains(b"007"));
        assert!(!s.contains(b"7"));

        let small = Growth {
            intset_entries_max: 3,
            listpack_entries_max: 0,
            listpack_value_max: 0,
            seed: 1,
        };
        let mut s = Set::default();
        for n in [3, 1, 2] {
            assert!(s.insert(format!("{n}").as_bytes(), small));
        }
        assert_eq!(s.encoding_name(), "intset");
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![Member::Int(1), Member::Int(2), Member::Int(3)]
        );
        assert!(s.insert(b"4", small));
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(
            members(&s),
            vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec(), b"4".to_vec()]
        );
        assert!(s.remove(b"2") && !s.remove(b"2"));
        assert!(s.contains_member(Member::Int(4)));
        assert_eq!(s.len(), 3);
    }

    #[test]
    fn integers_past_i64_are_strings() {
        let s_first = b"213244124402402314402033402";
        let mut s = Set::default();
        assert!(s.insert(s_first, GROW));
        assert_eq!(s.encoding_name(), "listpack");
        assert!(s.contains(s_first));
    }

    #[test]
    fn packed_sets_follow_redis_7_2_conversions() {
        let g = Growth {
            intset_entries_max: 4,
            listpack_entries_max: 6,
            listpack_value_max: 8,
            seed: 3,
        };
        // Integers past the intset limit, within the packed one: packed.
        let mut s = Set::default();
        for n in 0..5 {
            s.insert(format!("{n}").as_bytes(), g);
        }
        assert_eq!(s.encoding_name(), "listpack");
        assert!(s.contains(b"3") && !s.contains(b"9"));
        assert!(!s.insert(b"3", g));
        s.insert(b"x", g);
        assert_eq!(s.encoding_name(), "listpack");
        assert!(s.remove(b"0") && !s.remove(b"0"));
        assert_eq!(s.len(), 5);
        // An 11-byte member entry for a 10-byte member, in one exactly sized buffer.
        let mut p = Set::default();
        p.insert(
            b"abcdefghij",
            Growth {
                listpack_value_max: 64,
                ..g
            },
        );
        assert_eq!(p.heap_size(), 11);
        // Past the entry limit, or a member too long: a table, for good.
        s.insert(b"y", g);
        s.insert(b"z", g);
        assert_eq!(s.encoding_name(), "hashtable");
        let mut s = Set::default();
        s.insert(b"a", g);
        s.insert(b"123456789", g);
        assert_eq!(s.encoding_name(), "hashtable");
        assert_eq!(members(&s), vec![b"123456789".to_vec(), b"a".to_vec()]);
        // A non-integer into a full intset goes straight to a table when the packed limit is lower.
        let tight = Growth {
            listpack_entries_max: 2,
            ..g
        };
        let mut s = Set::default();
        for n in 0..3 {
            s.insert(format!("{n}").as_bytes(), tight);
        }
        s.insert(b"x", tight);
        assert_eq!(s.encoding_name(), "hashtable");
    }

    #[test]
    fn random_picks_are_uniform_on_small_tables() {
        let mut s = Set::default();
        for i in 0..10 {
            s.insert(format!("m{i}").as_bytes(), GROW);
        }
        let mut rng = Rng::new(42);
        let mut counts = alloc::collections::BTreeMap::new();
        for _ in 0..10_000 {
            let m = s.random(&mut rng).map(|m| m.bytes(&mut [0; 20]).to_vec());
            *counts.entry(m).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), 10);
        // Each expects 1000; a chain-biased pick would give some members half as much.
        assert!(
            counts.values().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn random_picks_cover_a_rehashing_table() {
        let mut s = Set::default();
        let mut i = 0;
        let table = Growth {
            listpack_entries_max: 0,
            ..GROW
        };
        while !(matches!(&s, Set::Table(t) if t.is_rehashing()) && s.len() > 16) {
            s.insert(format!("k{i}").as_bytes(), table);
            i += 1;
        }
        let mut rng = Rng::new(11);
        let mut counts = alloc::collections::BTreeMap::new();
        let n = s.len();
        for _ in 0..1000 * n {
            let m = s.random(&mut rng).map(|m| m.bytes(&mut [0; 20]).to_vec());
            *counts.entry(m).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), n);
        assert!(
            counts.values().all(|&c| (850..1150).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn random_distinct_and_pop() {
        let mut rng = Rng::new(3);
        for first in [&b"1"[..], b"x"] {
            let mut s = Set::default();
            s.insert(first, GROW);
            for i in 0..100 {
                s.insert(format!("{i}").as_bytes(), GROW);
            }
            for count in [1, 5, 33, 34, 60, 99] {
                let picked = s.random_distinct(count, &mut rng);
                assert_eq!(picked.len(), count);
                let distinct: BTreeSet<_> = picked.iter().collect();
                assert_eq!(distinct.len(), count);
                assert!(picked.iter().all(|m| s.contains_member(*m)));
            }
            let total = s.len();
            let mut popped = BTreeSet::new();
            while let Some(m) = s.pop_random(&mut rng) {
                assert!(!s.contains_member(m.as_member()));
                assert!(popped.insert(m.as_member().bytes(&mut [0; 20]).to_vec()));
            }
            assert_eq!(popped.len(), total);
            assert!(s.is_empty());
        }
    }
}
