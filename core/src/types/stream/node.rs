//! A stream node: up to `stream-node-max-entries` consecutive entries packed into one buffer, the
//! unit Redis keeps in each leaf of its radix tree as a listpack.
//!
//! The buffer starts with the node's *master fields* (the field names of the first entry appended
//! to it), then holds the entries in ID order:
//!
//! ```text
//! master: varint(n) item*n
//! entry:  head  seq  [varint(n) (field value)*n]  value*m
//!         head = flags (2 bits) + delta of the ms part from the previous entry (5 + 7k bits)
//!         seq  = varint: seq - previous seq when the ms part is unchanged, else the seq itself
//! item:   varint(len << 1) bytes  |  varint(zigzag(int) << 1 | 1)
//! ```
//!
//! An entry whose field names equal the master fields (the common case: every event of a stream
//! has the same shape) sets `SAME_FIELDS` and stores only its values. Canonical integers are stored
//! as varints. IDs are deltas from the entry before (the first entry's base is the node's first
//! ID), so a typical entry costs two bytes of ID where Redis spends six, and there is no backward
//! length: the nodes are small and a backward walk decodes one forward first.
//!
//! Deleting an entry (XDEL, exact trimming) only sets its `DELETED` flag, a bit of the head's first
//! byte, so the buffer never moves; a node whose entries are all deleted is dropped by its stream.

use alloc::vec::Vec;

use super::StreamId;
use crate::rdb::packed::{lp_int_size, lp_item_size, LP_EMPTY_BYTES};
use crate::resp::ReplyWriter;
use crate::types::string::parse_canonical_i64;

/// Head flag: the entry was deleted.
pub const DELETED: u8 = 1;
/// Head flag: the entry's field names are the node's master fields; only values are stored.
pub const SAME_FIELDS: u8 = 2;

/// One field name or value of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Item<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl<'a> Item<'a> {
    /// Writes the item as a bulk string.
    #[inline]
    pub fn write(self, out: &mut ReplyWriter<'_>) {
        match self {
            Item::Bytes(b) => out.bulk(b),
            Item::Int(n) => out.bulk_i64(n),
        }
    }

    /// Whether the item reads as `bytes`.
    pub fn eq_bytes(self, bytes: &[u8]) -> bool {
        match self {
            Item::Bytes(b) => b == bytes,
            Item::Int(n) => parse_canonical_i64(bytes) == Some(n),
        }
    }

    /// The item's bytes, appended to `out`.
    pub fn append_to(self, out: &mut Vec<u8>) {
        match self {
            Item::Bytes(b) => out.extend_from_slice(b),
            Item::Int(n) => {
                let mut buf = [0u8; crate::types::string::I64_DIGITS_MAX];
                out.extend_from_slice(crate::types::string::format_i64(n, &mut buf));
            }
        }
    }
}

/// Appends a LEB128 varint.
#[inline]
pub fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// The varint at `at` and where the next field starts. The node's own writes are the only input,
/// so the buffer always holds a whole varint.
#[inline]
pub fn read_varint(buf: &[u8], mut at: usize) -> (u64, usize) {
    let (mut v, mut shift) = (0u64, 0);
    loop {
        let b = buf[at];
        at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return (v, at);
        }
        shift += 7;
    }
}

/// Bytes of the varint for `v`.
#[inline]
fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Appends an item: a canonical integer as a tagged varint, anything else length-prefixed.
fn put_item(out: &mut Vec<u8>, bytes: &[u8]) {
    if let Some(n) = parse_canonical_i64(bytes) {
        let z = ((n << 1) ^ (n >> 63)) as u64;
        if z < 1 << 63 {
            put_varint(out, z << 1 | 1);
            return;
        }
    }
    put_varint(out, (bytes.len() as u64) << 1);
    out.extend_from_slice(bytes);
}

/// The item at `at` and where the next one starts.
#[inline]
fn read_item(buf: &[u8], at: usize) -> (Item<'_>, usize) {
    let (tag, at) = read_varint(buf, at);
    if tag & 1 == 1 {
        let z = tag >> 1;
        return (Item::Int(((z >> 1) as i64) ^ -((z & 1) as i64)), at);
    }
    let end = at + (tag >> 1) as usize;
    (Item::Bytes(&buf[at..end]), end)
}

/// Where the item at `at` ends.
#[inline]
fn skip_item(buf: &[u8], at: usize) -> usize {
    let (tag, at) = read_varint(buf, at);
    if tag & 1 == 1 {
        at
    } else {
        at + (tag >> 1) as usize
    }
}

/// Appends an entry head: the two flag bits and the ms delta, five bits in the first byte.
fn put_head(out: &mut Vec<u8>, flags: u8, ms_delta: u64) {
    let low = (ms_delta & 0x1f) as u8;
    let rest = ms_delta >> 5;
    if rest == 0 {
        out.push(flags | low << 2);
    } else {
        out.push(flags | low << 2 | 0x80);
        put_varint(out, rest);
    }
}

/// The head at `at`: flags, ms delta, and where the seq starts.
#[inline]
fn read_head(buf: &[u8], at: usize) -> (u8, u64, usize) {
    let b = buf[at];
    let (flags, low) = (b & 3, u64::from(b >> 2 & 0x1f));
    if b & 0x80 == 0 {
        return (flags, low, at + 1);
    }
    let (rest, next) = read_varint(buf, at + 1);
    (flags, low | rest << 5, next)
}

/// A node of a stream.
#[derive(Clone, Debug)]
pub struct Node {
    /// The ID of the first entry appended (the base of the first delta; the node's key).
    pub first: StreamId,
    /// The ID of the last entry appended, deleted or not.
    pub last: StreamId,
    /// Entries appended, deleted ones included.
    pub total: u32,
    /// Entries not deleted.
    pub live: u32,
    /// Master field count and where the entries start.
    master_fields: u32,
    entries_at: u32,
    /// The size Redis's listpack for these entries would have, less its live and deleted counters
    /// (see [`Node::lp_bytes`]).
    lp_body: u32,
    buf: Vec<u8>,
}

/// A decoded entry of a node: its ID, flags and where its parts are.
#[derive(Clone, Copy, Debug)]
pub struct Raw {
    pub id: StreamId,
    pub flags: u8,
    /// Offset of the head (whose first byte holds the flags).
    pub head_at: u32,
    /// Offset of the field count (or of the values, with `SAME_FIELDS`).
    pub body_at: u32,
    /// Where the next entry starts.
    pub end: u32,
}

impl Node {
    /// A node whose first entry is `id` with `fields` (field, value pairs).
    pub fn new(id: StreamId, fields: &[&[u8]]) -> Node {
        let mut buf = Vec::new();
        let n = fields.len() / 2;
        put_varint(&mut buf, n as u64);
        for pair in fields.chunks_exact(2) {
            put_item(&mut buf, pair[0]);
        }
        let entries_at = buf.len() as u32;
        let master: usize = fields.chunks_exact(2).map(|p| lp_item_size(p[0])).sum();
        let lp_body = LP_EMPTY_BYTES + lp_int_size(n as i64) + master + lp_int_size(0);
        let mut node = Node {
            first: id,
            last: id,
            total: 0,
            live: 0,
            master_fields: n as u32,
            entries_at,
            lp_body: lp_body as u32,
            buf,
        };
        node.append(id, fields);
        node
    }

    /// Bytes of the buffer.
    pub fn bytes(&self) -> usize {
        self.buf.len()
    }

    /// The size of the listpack Redis would hold for this node: what `stream-node-max-bytes`
    /// limits, so that nodes end where Redis's end and approximate trimming removes the same
    /// entries.
    pub fn lp_bytes(&self) -> usize {
        self.lp_body as usize
            + lp_int_size(i64::from(self.live))
            + lp_int_size(i64::from(self.total - self.live))
    }

    /// Drops the entries from `id` on, which must all be deleted (XSETID may move a stream's last
    /// ID below deleted entries; the next XADD then continues from the last entry kept).
    pub fn drop_tail_from(&mut self, id: StreamId) {
        let mut kept = 0u32;
        let mut cut = None;
        let mut last = self.first;
        for raw in self.raw_iter() {
            if raw.id >= id {
                debug_assert!(
                    raw.flags & DELETED != 0,
                    "only deleted entries follow the last ID"
                );
                cut = Some(raw.head_at as usize);
                break;
            }
            kept += 1;
            last = raw.id;
        }
        if let Some(cut) = cut {
            // Redis keeps such tombstones in its listpack: `lp_body` keeps their share.
            self.buf.truncate(cut);
            self.total = kept;
            self.last = last;
        }
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        self.buf.capacity()
    }

    /// Gives back the growth room of a node that takes no more entries.
    pub fn seal(&mut self) {
        self.buf.shrink_to_fit();
    }

    /// Whether `fields` has exactly the master field names, in order.
    fn same_fields(&self, fields: &[&[u8]]) -> bool {
        if fields.len() / 2 != self.master_fields as usize {
            return false;
        }
        let mut at = varint_len(u64::from(self.master_fields));
        for pair in fields.chunks_exact(2) {
            let (item, next) = read_item(&self.buf, at);
            if !item.eq_bytes(pair[0]) {
                return false;
            }
            at = next;
        }
        true
    }

    /// Appends entry `id` (greater than [`Node::last`], or the first) with `fields`.
    pub fn append(&mut self, id: StreamId, fields: &[&[u8]]) {
        debug_assert!(self.total == 0 || id > self.last);
        let prev = if self.total == 0 {
            self.first
        } else {
            self.last
        };
        let same = self.same_fields(fields);
        self.lp_body += self.lp_entry_size(id, fields, same) as u32;
        let ms_delta = id.ms - prev.ms;
        put_head(&mut self.buf, if same { SAME_FIELDS } else { 0 }, ms_delta);
        put_varint(
            &mut self.buf,
            if ms_delta == 0 {
                id.seq - prev.seq
            } else {
                id.seq
            },
        );
        if same {
            for pair in fields.chunks_exact(2) {
                put_item(&mut self.buf, pair[1]);
            }
        } else {
            put_varint(&mut self.buf, (fields.len() / 2) as u64);
            for f in fields {
                put_item(&mut self.buf, f);
            }
        }
        self.last = id;
        self.total += 1;
        self.live += 1;
    }

    /// What an entry adds to Redis's listpack: flags, ID deltas from the master ID, the field
    /// count and names unless they are the master's, the values, and the element count.
    fn lp_entry_size(&self, id: StreamId, fields: &[&[u8]], same: bool) -> usize {
        let n = fields.len() / 2;
        let mut size = lp_int_size(if same { i64::from(SAME_FIELDS) } else { 0 })
            + lp_int_size(id.ms.wrapping_sub(self.first.ms) as i64)
            + lp_int_size(id.seq.wrapping_sub(self.first.seq) as i64);
        for pair in fields.chunks_exact(2) {
            if !same {
                size += lp_item_size(pair[0]);
            }
            size += lp_item_size(pair[1]);
        }
        if !same {
            size += lp_int_size(n as i64);
        }
        let count = if same { n + 3 } else { 2 * n + 4 };
        size + lp_int_size(count as i64)
    }

    /// The entries in order, deleted ones included.
    pub fn raw_iter(&self) -> RawIter<'_> {
        RawIter {
            node: self,
            at: self.entries_at as usize,
            prev: self.first,
            left: self.total,
        }
    }

    /// Marks the entry whose head is at `head_at` deleted; false if it already was.
    pub fn mark_deleted(&mut self, head_at: u32) -> bool {
        let b = &mut self.buf[head_at as usize];
        if *b & DELETED != 0 {
            return false;
        }
        *b |= DELETED;
        self.live -= 1;
        true
    }

    /// The entry `id`, deleted or not.
    pub fn find(&self, id: StreamId) -> Option<Raw> {
        self.raw_iter()
            .take_while(|r| r.id <= id)
            .find(|r| r.id == id)
    }

    /// Number of fields of `raw`.
    pub fn field_count(&self, raw: &Raw) -> usize {
        if raw.flags & SAME_FIELDS != 0 {
            self.master_fields as usize
        } else {
            read_varint(&self.buf, raw.body_at as usize).0 as usize
        }
    }

    /// The (field, value) pairs of `raw`.
    pub fn pairs<'a>(&'a self, raw: &Raw) -> Pairs<'a> {
        if raw.flags & SAME_FIELDS != 0 {
            Pairs {
                buf: &self.buf,
                names: Some(varint_len(u64::from(self.master_fields))),
                at: raw.body_at as usize,
                left: self.master_fields as usize,
            }
        } else {
            let (n, at) = read_varint(&self.buf, raw.body_at as usize);
            Pairs {
                buf: &self.buf,
                names: None,
                at,
                left: n as usize,
            }
        }
    }

    /// Writes `raw` as XRANGE replies it: `[id, [field, value, ...]]`.
    pub fn write_entry(&self, raw: &Raw, out: &mut ReplyWriter<'_>) {
        out.array(2);
        raw.id.write(out);
        out.array(self.field_count(raw) * 2);
        for (f, v) in self.pairs(raw) {
            f.write(out);
            v.write(out);
        }
    }
}

/// The entries of a node in order (see [`Node::raw_iter`]).
pub struct RawIter<'a> {
    node: &'a Node,
    at: usize,
    prev: StreamId,
    left: u32,
}

impl Iterator for RawIter<'_> {
    type Item = Raw;

    fn next(&mut self) -> Option<Raw> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let buf = &self.node.buf;
        let head_at = self.at;
        let (flags, ms_delta, at) = read_head(buf, head_at);
        let (seq, mut at) = read_varint(buf, at);
        let id = if ms_delta == 0 {
            StreamId {
                ms: self.prev.ms,
                seq: self.prev.seq + seq,
            }
        } else {
            StreamId {
                ms: self.prev.ms + ms_delta,
                seq,
            }
        };
        let body_at = at;
        if flags & SAME_FIELDS != 0 {
            for _ in 0..self.node.master_fields {
                at = skip_item(buf, at);
            }
        } else {
            let (n, mut a) = read_varint(buf, at);
            for _ in 0..n * 2 {
                a = skip_item(buf, a);
            }
            at = a;
        }
        self.at = at;
        self.prev = id;
        Some(Raw {
            id,
            flags,
            head_at: head_at as u32,
            body_at: body_at as u32,
            end: at as u32,
        })
    }
}

/// The (field, value) pairs of an entry.
pub struct Pairs<'a> {
    buf: &'a [u8],
    /// Where the next master field name is, for a `SAME_FIELDS` entry.
    names: Option<usize>,
    at: usize,
    left: usize,
}

impl<'a> Iterator for Pairs<'a> {
    type Item = (Item<'a>, Item<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let field = match &mut self.names {
            Some(n) => {
                let (f, next) = read_item(self.buf, *n);
                *n = next;
                f
            }
            None => {
                let (f, next) = read_item(self.buf, self.at);
                self.at = next;
                f
            }
        };
        let (value, next) = read_item(self.buf, self.at);
        self.at = next;
        Some((field, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    fn pairs_of(n: &Node, r: &Raw) -> Vec<(Vec<u8>, Vec<u8>)> {
        n.pairs(r)
            .map(|(f, v)| {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                f.append_to(&mut a);
                v.append_to(&mut b);
                (a, b)
            })
            .collect()
    }

    #[test]
    fn entries_round_trip_with_and_without_master_fields() {
        let mut n = Node::new(id(5, 0), &[b"temp", b"21", b"unit", b"C"]);
        n.append(id(5, 1), &[b"temp", b"-7", b"unit", b"F"]);
        n.append(id(900, 3), &[b"other", b"x"]);
        n.append(id(u64::MAX, u64::MAX), &[b"temp", b"007", b"unit", b""]);
        let raws: Vec<Raw> = n.raw_iter().collect();
        let ids: Vec<StreamId> = raws.iter().map(|r| r.id).collect();
        assert_eq!(
            ids,
            [id(5, 0), id(5, 1), id(900, 3), id(u64::MAX, u64::MAX)]
        );
        assert_eq!(raws[1].flags, SAME_FIELDS);
        assert_eq!(raws[2].flags, 0);
        assert_eq!(pairs_of(&n, &raws[2]), [(b"other".to_vec(), b"x".to_vec())]);
        assert_eq!(
            pairs_of(&n, &raws[3]),
            [
                (b"temp".to_vec(), b"007".to_vec()),
                (b"unit".to_vec(), b"".to_vec())
            ]
        );
        assert_eq!(pairs_of(&n, &raws[1])[0].1, b"-7");
        assert!(n.mark_deleted(raws[1].head_at));
        assert!(!n.mark_deleted(raws[1].head_at));
        assert_eq!(
            n.find(id(5, 1)).map(|r| r.flags),
            Some(SAME_FIELDS | DELETED)
        );
        assert_eq!(n.find(id(5, 2)).map(|r| r.id), None);
        assert_eq!((n.live, n.total), (3, 4));
    }

    #[test]
    fn items_keep_integers_exact() {
        for s in [
            &b"0"[..],
            b"-1",
            b"9223372036854775807",
            b"-9223372036854775808",
            b"01",
            b"+1",
            b"1 ",
        ] {
            let mut buf = Vec::new();
            put_item(&mut buf, s);
            let (item, end) = read_item(&buf, 0);
            assert_eq!(end, buf.len());
            let mut back = Vec::new();
            item.append_to(&mut back);
            assert_eq!(back, s);
            assert_eq!(skip_item(&buf, 0), buf.len());
        }
        for d in [0u64, 31, 32, 1 << 40, u64::MAX] {
            let mut buf = Vec::new();
            put_head(&mut buf, DELETED, d);
            assert_eq!(read_head(&buf, 0), (DELETED, d, buf.len()));
            let mut v = Vec::new();
            put_varint(&mut v, d);
            assert_eq!(v.len(), varint_len(d));
        }
    }
}
