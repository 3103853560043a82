//! Hashes: field -> value maps (HSET, HGET, ...).
//!
//! Small hashes (within `hash-max-listpack-entries`/`-value`) are their pairs packed into one
//! buffer in insertion order ([`Packed`], the list-node entry format), like Redis's listpack:
//! lookups are linear, but a few dozen short pairs cost one allocation and scan faster than they
//! hash. A hash that outgrows either limit converts to Ember's hash table for
//! good (Redis never converts back either); the table also gives HSCAN its cursor guarantee. The
//! conversion rules are Redis's `hashTypeTryConversion` and `hashTypeSet`, so OBJECT ENCODING reports
//! `listpack` or `hashtable` exactly when Redis would.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use super::list::{
    fwd_entry_size as entry_size, read_fwd as read_forward, write_fwd_entry as write_entry,
};
use super::packed::{entry, PackedBuf, PACKED_BYTES_MAX};
use super::put_bytes;
use super::string::CompactStr;
use crate::table::{Table, NO_EXPIRE};

#[derive(Debug)]
pub enum Hash {
    /// Pairs in insertion order, packed into one buffer like Redis's listpack.
    Pairs(Packed),
    /// Field -> value; each entry's expire time is its field's TTL (HEXPIRE), counted in
    /// [`FieldTtls`].
    Table(Box<Fields>),
}

// A hash lives inside the keyspace's 24-byte value, without a box of its own.
const _: () = assert!(core::mem::size_of::<Hash>() == 16);

/// The per-field TTLs of a hash (Redis 7.4's HEXPIRE family). Only the table encoding holds them:
/// a compact hash converts on its first field TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldTtls {
    /// Fields with an expire time.
    pub count: usize,
    /// No field expires before this (ms), and the database indexes the hash under this time for
    /// active expiry; [`NO_FIELD_TTL`] when the hash is not indexed. Losing a field TTL leaves it
    /// as it is (still a lower bound); only [`Hash::expire_fields`] raises it, so the index entry
    /// moves only where the database sees it.
    pub next_at: u64,
}

impl FieldTtls {
    /// One field lost its TTL (deleted, overwritten or persisted); `next_at` stays put.
    fn drop_one(&mut self) {
        self.count -= 1;
    }
}

impl Default for FieldTtls {
    fn default() -> Self {
        FieldTtls {
            count: 0,
            next_at: NO_FIELD_TTL,
        }
    }
}

/// [`FieldTtls::next_at`] of a hash without field TTLs.
pub const NO_FIELD_TTL: u64 = u64::MAX;

/// A field's expire time as the HEXPIRE family sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldExpire {
    /// The field does not exist.
    NoField,
    /// The field exists without a TTL.
    Persistent,
    /// The field expires at this time (ms).
    At(u64),
}

/// When a compact hash converts to a table, and the seed the new table hashes with.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `hash-max-listpack-entries`: the most pairs a compact hash holds.
    pub entries_max: usize,
    /// `hash-max-listpack-value`: the longest field or value a compact hash holds, in bytes.
    pub value_max: usize,
    /// Seed of the table a conversion creates (random per hash, against collision flooding).
    pub table_seed: u64,
}

/// Tables with at most this many fields pick a random field exactly uniformly, by position.
const RANDOM_EXACT_MAX: usize = 64;

/// A compact hash: field and value entries alternating in one exactly-sized buffer, each a varint
/// length and the bytes (forward-only: a hash is never walked from its end), or for a field that
/// is a shared name ([`super::packed::names`]: the field names of hashes that follow one schema),
/// a two-byte reference. Ten pairs of a 5-byte shared field name and a 6-byte value cost 90 bytes.
#[derive(Clone, Debug, Default)]
pub struct Packed {
    buf: PackedBuf,
}

/// Where one pair sits in a [`Packed`] buffer.
#[derive(Clone, Copy)]
struct PairAt {
    field: usize,
    value: usize,
    end: usize,
}

impl Packed {
    /// Every pair with its position, in order.
    fn pairs(&self) -> impl Iterator<Item = (PairAt, &[u8], &[u8])> {
        let buf = self.buf.as_slice();
        let mut at = 0;
        core::iter::from_fn(move || {
            if at >= buf.len() {
                return None;
            }
            let (f, value_at) = entry::read(buf, at);
            let (v, end) = read_forward(buf, value_at);
            let pos = PairAt {
                field: at,
                value: value_at,
                end,
            };
            at = end;
            Some((pos, f, v))
        })
    }

    fn find(&self, field: &[u8]) -> Option<(PairAt, &[u8])> {
        self.pairs()
            .find(|(_, f, _)| *f == field)
            .map(|(at, _, v)| (at, v))
    }

    fn len(&self) -> usize {
        self.buf.count()
    }

    /// Whether `extra` more bytes keep the buffer within [`PACKED_BYTES_MAX`].
    fn fits(&self, extra: usize) -> bool {
        self.buf.len().saturating_add(extra) <= PACKED_BYTES_MAX
    }

    /// Replaces the value entry of the pair at `at` with `value`.
    fn set_value(&mut self, at: PairAt, value: &[u8]) {
        let n = entry_size(value.len());
        write_entry(self.buf.replace(at.value, at.end, n), value);
    }

    /// Appends a pair.
    fn push(&mut self, field: &[u8], value: &[u8]) {
        let (fsize, name) = entry::plan(field);
        let vsize = entry_size(value.len());
        let out = self.buf.extend(fsize + vsize);
        entry::write(&mut out[..fsize], field, name);
        write_entry(&mut out[fsize..], value);
        self.buf.set_count(self.len() + 1);
    }

    /// Removes the pair at `at`.
    fn remove(&mut self, at: PairAt) {
        self.buf.replace(at.field, at.end, 0);
        self.buf.set_count(self.len() - 1);
    }

    fn heap_size(&self) -> usize {
        self.buf.heap_size()
    }
}

/// A hash in the table encoding: the table and its field TTL bookkeeping, boxed together so a
/// [`Hash`] is two words.
#[derive(Debug)]
pub struct Fields {
    pub table: Table<CompactStr>,
    pub ttls: FieldTtls,
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        match self {
            Hash::Pairs(p) => Hash::Pairs(p.clone()),
            Hash::Table(f) => {
                let t = &f.table;
                let mut copy = Table::new(t.hash(b"ember-hash-seed"));
                for e in t.iter() {
                    copy.insert_new(e.key_bytes(), e.whole().clone(), e.expire_at_ms(), 0);
                }
                Hash::Table(Box::new(Fields {
                    table: copy,
                    ttls: f.ttls,
                }))
            }
        }
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pairs(Packed::default())
    }
}

/// The bytes of a stored value: the table encoding stores values raw
/// ([`CompactStr::from_bytes`]), never integer-encoded, so they read as bytes without formatting.
#[inline]
fn bytes_of(v: &CompactStr) -> &[u8] {
    v.raw().unwrap_or(&[])
}

impl Hash {
    pub fn len(&self) -> usize {
        match self {
            Hash::Pairs(p) => p.len(),
            Hash::Table(f) => f.table.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Hash::Pairs(_) => "listpack",
            Hash::Table(..) => "hashtable",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Hash::Pairs(p) => p.heap_size(),
            Hash::Table(f) => {
                let t = &f.table;
                core::mem::size_of::<Fields>()
                    + t.bucket_bytes()
                    + t.entry_bytes()
                    + t.iter().map(|e| e.whole().heap_size()).sum::<usize>()
            }
        }
    }

    /// Field/value pairs sorted by field.
    pub fn canonical(&self, out: &mut Vec<u8>) {
        let mut pairs: Vec<(&[u8], &[u8])> = self.iter().collect();
        pairs.sort();
        for (f, v) in pairs {
            put_bytes(out, f);
            put_bytes(out, v);
        }
    }

    /// Every field and its value: insertion order for the compact encoding, table order otherwise.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let (pairs, table) = match self {
            Hash::Pairs(p) => (Some(p), None),
            Hash::Table(f) => (None, Some(&f.table)),
        };
        pairs
            .into_iter()
            .flat_map(|p| p.pairs().map(|(_, f, v)| (f, v)))
            .chain(
                table
                    .into_iter()
                    .flat_map(|t| t.iter())
                    .map(|e| (e.key_bytes(), bytes_of(e.whole()))),
            )
    }

    /// The value of `field`.
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match self {
            Hash::Pairs(p) => p.find(field).map(|(_, v)| v),
            Hash::Table(f) => f.table.get(field).map(|e| bytes_of(e.whole())),
        }
    }

    /// The value of `field` unless its TTL has passed by `now_ms`: for readers that do not delete
    /// expired fields themselves (SORT's BY and GET patterns).
    pub fn get_live(&self, field: &[u8], now_ms: u64) -> Option<&[u8]> {
        match self {
            Hash::Table(f) => f
                .table
                .get(field)
                .filter(|e| !e.has_expire() || e.expire_at_ms() > now_ms)
                .map(|e| bytes_of(e.whole())),
            Hash::Pairs(_) => self.get(field),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Converts a compact hash to a table when one of `lens` (the fields and values about to be
    /// written) is longer than the compact encoding allows (Redis's `hashTypeTryConversion`).
    pub fn convert_for(&mut self, mut lens: impl Iterator<Item = usize>, limits: &Limits) {
        if matches!(self, Hash::Pairs(_)) && lens.any(|n| n > limits.value_max) {
            self.convert(limits.table_seed);
        }
    }

    /// Converts a compact hash to a table; a table stays as it is.
    pub fn convert(&mut self, seed: u64) {
        let Hash::Pairs(pairs) = self else {
            return;
        };
        let mut table = Table::new(seed);
        for (_, f, v) in pairs.pairs() {
            debug_assert!(table.get(f).is_none(), "duplicate field");
            table.insert_new(f, CompactStr::from_bytes(v), NO_EXPIRE, 0);
        }
        *self = Hash::Table(Box::new(Fields {
            table,
            ttls: FieldTtls::default(),
        }));
    }

    /// Sets `field` to `value`; true when the field is new. Converts to a table first when the field
    /// or value is too long for the compact encoding, and after when there are too many pairs.
    /// Overwriting a field clears its TTL, as HSET does in Redis.
    pub fn set(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        self.put(field, value, limits, false)
    }

    /// [`Hash::set`] for commands that change a field's value in place (HINCRBY, HINCRBYFLOAT):
    /// an existing field keeps its TTL.
    pub fn update(&mut self, field: &[u8], value: &[u8], limits: &Limits) -> bool {
        self.put(field, value, limits, true)
    }

    fn put(&mut self, field: &[u8], value: &[u8], limits: &Limits, keep_ttl: bool) -> bool {
        self.convert_for([field.len(), value.len()].into_iter(), limits);
        let pair = entry_size(field.len()) + entry_size(value.len());
        if matches!(self, Hash::Pairs(p) if !p.fits(pair)) {
            self.convert(limits.table_seed);
        }
        match self {
            Hash::Pairs(p) => {
                let inserted = match p.find(field) {
                    Some((at, _)) => {
                        p.set_value(at, value);
                        false
                    }
                    None => {
                        p.push(field, value);
                        true
                    }
                };
                // Like Redis, checked after updates too: a lowered limit applies on the next write.
                if p.len() > limits.entries_max {
                    self.convert(limits.table_seed);
                }
                inserted
            }
            Hash::Table(f) => match f.table.get_mut(field) {
                Some(e) => {
                    *e.whole_mut() = CompactStr::from_bytes(value);
                    if !keep_ttl && e.has_expire() {
                        e.try_set_expire(NO_EXPIRE);
                        f.ttls.drop_one();
                    }
                    false
                }
                None => {
                    f.table
                        .insert_new(field, CompactStr::from_bytes(value), NO_EXPIRE, 0);
                    true
                }
            },
        }
    }

    /// Removes `field`; true when it was there. A table shrinks when it becomes sparse, as Redis's
    /// `hashTypeDelete` resizes after every delete.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match self {
            Hash::Pairs(p) => match p.find(field) {
                Some((at, _)) => {
                    p.remove(at);
                    true
                }
                None => false,
            },
            Hash::Table(f) => {
                let (t, ttls) = (&mut f.table, &mut f.ttls);
                let Some(e) = t.remove(field) else {
                    return false;
                };
                if e.has_expire() {
                    ttls.drop_one();
                }
                t.shrink_if_sparse();
                true
            }
        }
    }

    /// The TTL state of `field`.
    pub fn field_expire(&self, field: &[u8]) -> FieldExpire {
        match self {
            Hash::Pairs(_) if self.contains(field) => FieldExpire::Persistent,
            Hash::Pairs(_) => FieldExpire::NoField,
            Hash::Table(f) => match f.table.get(field) {
                None => FieldExpire::NoField,
                Some(e) if e.has_expire() => FieldExpire::At(e.expire_at_ms()),
                Some(_) => FieldExpire::Persistent,
            },
        }
    }

    /// The field TTL bookkeeping: none for a compact hash.
    pub fn field_ttls(&self) -> FieldTtls {
        match self {
            Hash::Pairs(_) => FieldTtls::default(),
            Hash::Table(f) => f.ttls,
        }
    }

    /// Whether [`Hash::expire_fields`] has work at `now_ms`: a field may have expired, or the
    /// bookkeeping may have gone stale.
    #[inline]
    pub fn has_due_fields(&self, now_ms: u64) -> bool {
        matches!(self, Hash::Table(f) if f.ttls.next_at <= now_ms)
    }

    /// Gives an existing `field` the expire time `at_ms` (a compact hash converts to a table, the
    /// only encoding that stores field TTLs). Returns the hash's new [`FieldTtls::next_at`] when it
    /// moved earlier, so the caller can re-index the hash; `None` otherwise or when the field is
    /// absent.
    pub fn set_field_expire(&mut self, field: &[u8], at_ms: u64, seed: u64) -> Option<u64> {
        if matches!(self, Hash::Pairs(_)) {
            if !self.contains(field) {
                return None;
            }
            self.convert(seed);
        }
        let Hash::Table(f) = self else {
            return None;
        };
        let (t, ttls) = (&mut f.table, &mut f.ttls);
        if t.set_expire(field, at_ms)? == NO_EXPIRE {
            ttls.count += 1;
        }
        if at_ms < ttls.next_at {
            ttls.next_at = at_ms;
            return Some(at_ms);
        }
        None
    }

    /// Clears the TTL of `field`; true when it had one.
    pub fn persist_field(&mut self, field: &[u8]) -> bool {
        let Hash::Table(f) = self else {
            return false;
        };
        let (t, ttls) = (&mut f.table, &mut f.ttls);
        match t.get_mut(field) {
            Some(e) if e.has_expire() => {
                e.try_set_expire(NO_EXPIRE);
                ttls.drop_one();
                true
            }
            _ => false,
        }
    }

    /// Deletes the fields whose TTL has passed by `now_ms`, passing each to `expired`, and
    /// recomputes [`FieldTtls::next_at`] from the fields left. Returns how many went. O(N) in the
    /// hash's size, and only run when [`Hash::has_due_fields`] says a field is due.
    pub fn expire_fields(&mut self, now_ms: u64, mut expired: impl FnMut(&[u8])) -> usize {
        let Hash::Table(f) = self else {
            return 0;
        };
        let (t, ttls) = (&mut f.table, &mut f.ttls);
        if ttls.count == 0 {
            ttls.next_at = NO_FIELD_TTL;
            return 0;
        }
        let (mut gone, mut next_at) = (0, NO_FIELD_TTL);
        let mut cursor = 0;
        loop {
            cursor = t.scan_remove(cursor, |e| {
                if !e.has_expire() {
                    return false;
                }
                if e.expire_at_ms() <= now_ms {
                    expired(e.key_bytes());
                    gone += 1;
                    return true;
                }
                next_at = next_at.min(e.expire_at_ms());
                false
            });
            if cursor == 0 {
                break;
            }
        }
        ttls.count -= gone;
        ttls.next_at = next_at;
        if gone > 0 {
            t.shrink_if_sparse();
        }
        gone
    }

    /// A random field and its value, close to uniformly chosen (exactly for compact hashes and small
    /// tables); `rand` supplies random numbers.
    pub fn random_pair(&self, rand: &mut impl FnMut() -> u64) -> Option<(&[u8], &[u8])> {
        let len = self.len();
        if len == 0 {
            return None;
        }
        match self {
            Hash::Pairs(_) => self.iter().nth((rand() % len as u64) as usize),
            Hash::Table(f) if len <= RANDOM_EXACT_MAX => {
                let e = f.table.iter().nth((rand() % len as u64) as usize)?;
                Some((e.key_bytes(), bytes_of(e.whole())))
            }
            Hash::Table(f) => {
                let t = &f.table;
                let e = t.random_fair(&mut *rand)?;
                Some((e.key_bytes(), bytes_of(e.whole())))
            }
        }
    }

    /// Visits `n` distinct random pairs, or every pair when `n` reaches the size, by Redis's
    /// HRANDFIELD strategies: everything; for most of the hash, all but random drops; for a few
    /// pairs, a uniform selection in order (compact) or random picks until enough distinct ones
    /// came up (table). Memory stays within the hash's size whatever `n` is.
    pub fn random_distinct<'a>(
        &'a self,
        n: u64,
        rand: &mut impl FnMut() -> u64,
        mut visit: impl FnMut(&'a [u8], &'a [u8]),
    ) {
        let size = self.len() as u64;
        if n >= size {
            self.iter().for_each(|(f, v)| visit(f, v));
        } else if n.saturating_mul(3) > size {
            let mut all: Vec<(&[u8], &[u8])> = self.iter().collect();
            while all.len() as u64 > n {
                let i = (rand() % all.len() as u64) as usize;
                all.swap_remove(i);
            }
            all.into_iter().for_each(|(f, v)| visit(f, v));
        } else if let Hash::Pairs(_) = self {
            // Selection sampling (Knuth's algorithm S): each pair is taken with probability
            // needed / left, which yields a uniform subset in insertion order.
            let (mut needed, mut left) = (n, size);
            for (f, v) in self.iter() {
                if rand() % left < needed {
                    visit(f, v);
                    needed -= 1;
                    if needed == 0 {
                        break;
                    }
                }
                left -= 1;
            }
        } else {
            let mut picked = BTreeSet::new();
            while (picked.len() as u64) < n {
                let Some((f, v)) = self.random_pair(rand) else {
                    return;
                };
                if picked.insert(f) {
                    visit(f, v);
                }
            }
        }
    }

    /// One HSCAN call: visits buckets from `cursor` until `count` pairs were seen, the iteration
    /// ends, or `20 * count` buckets were visited (Redis doubles COUNT for hashes, which reply two
    /// elements per field, and bounds its work at ten times that). Returns the next cursor. A compact hash is visited whole and returns
    /// 0, as Redis returns a listpack whole.
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        match self {
            Hash::Pairs(_) => {
                self.iter().for_each(|(f, v)| visit(f, v));
                0
            }
            Hash::Table(f) => f.table.scan_some(cursor, count.saturating_mul(2), |e| {
                visit(e.key_bytes(), bytes_of(e.whole()));
                2
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    const LIMITS: Limits = Limits {
        entries_max: 4,
        value_max: 8,
        table_seed: 99,
    };

    fn rng(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    #[test]
    fn shared_field_names_read_back_as_bytes() {
        let limits = Limits {
            entries_max: 128,
            value_max: 64,
            table_seed: 5,
        };
        let field = b"hash-test-shared-field";
        let mut hashes: Vec<Hash> = Vec::new();
        for i in 0..2 * super::super::packed::names::ADMIT_AFTER as usize {
            let mut h = Hash::default();
            assert!(h.set(b"pl", b"x", &limits));
            assert!(h.set(field, format!("v{i}").as_bytes(), &limits));
            assert!(h.set(b"la", b"y", &limits));
            hashes.push(h);
        }
        assert!(super::super::packed::names::find(field).is_some());
        let h = hashes.last_mut().unwrap();
        // The shared field takes two bytes; the rest (too short to share) are literal entries.
        assert_eq!(
            h.heap_size(),
            (1 + 2 + 1 + 1) + (2 + 1 + 3) + (1 + 2 + 1 + 1)
        );
        assert_eq!(h.get(field), Some(&b"v63"[..]));
        assert!(!h.set(field, b"new", &limits));
        let all: Vec<_> = h.iter().collect();
        assert_eq!(
            all,
            [(&b"pl"[..], &b"x"[..]), (field, b"new"), (b"la", b"y")]
        );
        assert!(h.remove(field));
        assert_eq!(h.len(), 2);
        assert_eq!(h.get(b"la"), Some(&b"y"[..]));
        let mut first = hashes.swap_remove(0);
        first.convert(1);
        assert_eq!(first.get(field), Some(&b"v0"[..]));
    }

    #[test]
    fn compact_until_a_limit_passes() {
        let mut h = Hash::default();
        for i in 0..4 {
            assert!(h.set(
                format!("f{i}").as_bytes(),
                format!("{i}").as_bytes(),
                &LIMITS
            ));
        }
        assert_eq!(h.encoding_name(), "listpack");
        assert!(!h.set(b"f0", b"x", &LIMITS));
        assert_eq!(h.encoding_name(), "listpack");
        let order: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(order, [&b"f0"[..], b"f1", b"f2", b"f3"]);
        assert!(h.set(b"f4", b"", &LIMITS));
        assert_eq!(h.encoding_name(), "hashtable");
        assert_eq!(h.len(), 5);
        assert_eq!(h.get(b"f0").map(|v| v.to_vec()), Some(b"x".to_vec()));
        assert_eq!(h.get(b"f3"), Some(&b"3"[..]));

        let mut long_value = Hash::default();
        long_value.set(b"f", b"123456789", &LIMITS);
        assert_eq!(long_value.encoding_name(), "hashtable");
        let mut long_field = Hash::default();
        long_field.set(b"123456789", b"", &LIMITS);
        assert_eq!(long_field.encoding_name(), "hashtable");
        let mut exact = Hash::default();
        exact.set(b"12345678", b"abcdefgh", &LIMITS);
        assert_eq!(exact.encoding_name(), "listpack");
    }

    #[test]
    fn compact_pairs_are_packed() {
        let limits = Limits {
            entries_max: 128,
            value_max: 64,
            table_seed: 1,
        };
        let mut h = Hash::default();
        for i in 0..10 {
            h.set(
                format!("field:{i}").as_bytes(),
                format!("v{i:05}").as_bytes(),
                &limits,
            );
        }
        // 10 pairs of 7 + 6 bytes take 15 bytes each (a length byte per string), in one exactly
        // sized buffer.
        assert_eq!(h.heap_size(), 150);
        assert!(!h.set(b"field:3", b"longer value", &limits));
        assert!(h.remove(b"field:0"));
        assert_eq!(h.get(b"field:3"), Some(&b"longer value"[..]));
        assert_eq!(h.len(), 9);
        assert_eq!(h.iter().next(), Some((&b"field:1"[..], &b"v00001"[..])));
    }

    #[test]
    fn remove_and_clone_both_encodings() {
        for n in [3, 100] {
            let mut h = Hash::default();
            for i in 0..n {
                h.set(
                    format!("f{i}").as_bytes(),
                    format!("{i}").as_bytes(),
                    &LIMITS,
                );
            }
            let copy = h.clone();
            assert!(h.remove(b"f1"));
            assert!(!h.remove(b"f1"));
            assert_eq!(h.len(), n as usize - 1);
            assert_eq!(copy.len(), n as usize);
            assert!(copy.contains(b"f1"));
            let (mut a, mut b) = (Vec::new(), Vec::new());
            copy.canonical(&mut a);
            h.set(b"f1", b"1", &LIMITS);
            h.canonical(&mut b);
            assert_eq!(a, b);
        }
    }

    #[test]
    fn random_pair_reaches_every_field() {
        for n in [3usize, 50, 500] {
            let mut h = Hash::default();
            for i in 0..n {
                h.set(format!("f{i}").as_bytes(), b"", &LIMITS);
            }
            let mut r = rng(n as u64 + 1);
            let mut hits = alloc::vec![0u32; n];
            for _ in 0..n * 200 {
                let (f, _) = h.random_pair(&mut r).expect("not empty");
                let i: usize = core::str::from_utf8(&f[1..]).unwrap().parse().unwrap();
                hits[i] += 1;
            }
            // Roughly uniform: every field within a factor of three of the mean of 200.
            assert!(
                hits.iter().all(|&c| (66..600).contains(&c)),
                "{n}: {hits:?}"
            );
        }
        assert!(Hash::default().random_pair(&mut rng(1)).is_none());
    }

    #[test]
    fn scan_covers_a_table() {
        let mut h = Hash::default();
        for i in 0..1000 {
            h.set(
                format!("f{i}").as_bytes(),
                format!("{i}").as_bytes(),
                &LIMITS,
            );
        }
        let mut seen = alloc::collections::BTreeSet::new();
        let mut cursor = 0;
        loop {
            cursor = h.scan(cursor, 10, |f, _| {
                seen.insert(f.to_vec());
            });
            if cursor == 0 {
                break;
            }
        }
        assert_eq!(seen.len(), 1000);
    }
}
