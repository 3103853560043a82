//! Lists: a double-ended sequence of byte strings (LPUSH/RPUSH, LRANGE, ...).
//!
//! Like Redis's quicklist, a list is a sequence of packed nodes: each node is one byte buffer of
//! up to [`NODE_BYTES_MAX`] bytes holding its elements back to back, each as a varint length, the
//! bytes, and a reversed varint of the entry's size so a node can be walked from either end (the
//! listpack layout, without its integer encodings). A 10-byte element costs 12 bytes. The nodes
//! sit in a ring buffer, so both ends are O(1): a node keeps free room before its first element
//! (`start`), so pushing and popping at the head does not move the node's bytes. Finding an index
//! is O(nodes) plus a walk inside one node, as in Redis.
//!
//! OBJECT ENCODING reports `listpack` while the list would fit one listpack node under
//! `list-max-listpack-size` and `quicklist` beyond, with Redis 7.2's rules: a list turns
//! `quicklist` as soon as it outgrows the limit and back to `listpack` only once it shrinks under
//! half of it, so a list at the boundary does not flip on every push and pop. The size that rule
//! needs is kept as a running count of the bytes the elements would take in a Redis listpack.
//!
//! Every mutation goes through a method here, which keeps that count right; commands call
//! [`List::grew`] or [`List::shrank`] afterwards to let the encoding name follow.
//!
//! With a compress depth `d` (`list-compress-depth`), every node but the `d` first and `d` last is
//! kept LZ4-compressed when that saves at least an eighth of it, as Redis compresses quicklist
//! nodes. Pushes and pops work on the uncompressed end nodes; a node that becomes interior is
//! compressed, one that becomes an end node is expanded. Readers expand compressed nodes into the
//! command's scratch arena and leave the list as it was; writers in the middle expand the node
//! in place and compress it again.

use alloc::collections::VecDeque;
use alloc::vec;
use alloc::vec::Vec;

use bumpalo::Bump;

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

/// Most bytes of elements one node holds (an element larger than this gets a node of its own).
/// Ember's nodes are a storage choice, independent of `list-max-listpack-size`, which only decides
/// the encoding name.
pub const NODE_BYTES_MAX: usize = 8192;

/// Free room a node makes before its first element when a push at the head finds none.
const HEAD_ROOM_MIN: usize = 64;

/// Nodes smaller than this are never compressed (Redis's `MIN_COMPRESS_BYTES`).
const COMPRESS_MIN_BYTES: usize = 48;

/// The deepest `list-compress-depth` a list applies (Redis caps it at 2^16 - 1 the same way).
pub const COMPRESS_DEPTH_MAX: usize = u16::MAX as usize;

/// Which end of a list a command works on (Redis's `LIST_HEAD` / `LIST_TAIL`; LEFT / RIGHT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    Head,
    Tail,
}

/// An element to look for (LINSERT's pivot, LREM, LPOS).
#[derive(Clone, Copy, Debug)]
pub struct Needle<'a> {
    bytes: &'a [u8],
}

impl<'a> Needle<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Needle { bytes }
    }

    /// Whether `item` holds exactly these bytes.
    #[inline]
    pub fn matches(&self, item: &[u8]) -> bool {
        item == self.bytes
    }
}

/// Bytes of `v` as a LEB128 varint.
#[inline]
fn varint_len(v: usize) -> usize {
    match v {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        0x4000..=0x1f_ffff => 3,
        0x20_0000..=0xfff_ffff => 4,
        _ => 5,
    }
}

/// Bytes one element of `len` bytes takes in a node: a forward-only entry and its back-length.
#[inline]
pub(crate) fn entry_size(len: usize) -> usize {
    let body = fwd_entry_size(len);
    body + varint_len(body)
}

/// Writes the entry of `value` into `out` (exactly [`entry_size`] bytes).
pub(crate) fn write_entry(out: &mut [u8], value: &[u8]) {
    write_fwd_entry(out, value);
    let at = fwd_entry_size(value.len());
    // The body's size, readable backwards: the last byte holds the low 7 bits, each byte before it
    // the next 7, and every byte but the first written has the continuation bit.
    let body = at;
    let n = varint_len(body);
    for k in 0..n {
        let group = ((body >> (7 * k)) & 0x7f) as u8;
        let flag = if k + 1 < n { 0x80 } else { 0 };
        out[at + n - 1 - k] = group | flag;
    }
}

/// The element whose entry starts at `at`, and where the next entry starts.
#[inline]
pub(crate) fn read_forward(buf: &[u8], at: usize) -> (&[u8], usize) {
    let (value, body_end) = read_fwd(buf, at);
    (value, body_end + varint_len(body_end - at))
}

/// Bytes one forward-only entry of `len` bytes takes: the varint length and the bytes, without
/// the back-length that lets list nodes be walked from the tail. Packed hashes, sets and sorted
/// sets only ever walk forward, so they save that byte per element.
#[inline]
pub(crate) fn fwd_entry_size(len: usize) -> usize {
    varint_len(len) + len
}

/// Writes the forward-only entry of `value` into `out` (exactly [`fwd_entry_size`] bytes).
pub(crate) fn write_fwd_entry(out: &mut [u8], value: &[u8]) {
    let mut at = 0;
    let mut v = value.len();
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out[at] = byte;
            at += 1;
            break;
        }
        out[at] = byte | 0x80;
        at += 1;
    }
    out[at..at + value.len()].copy_from_slice(value);
}

/// The element whose forward-only entry starts at `at`, and where the next entry starts.
#[inline]
pub(crate) fn read_fwd(buf: &[u8], at: usize) -> (&[u8], usize) {
    let (mut len, mut shift, mut i) = (0usize, 0, at);
    loop {
        let b = buf[i];
        i += 1;
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    (&buf[i..i + len], i + len)
}

/// Where the entry that ends at `end` starts.
#[inline]
pub(crate) fn entry_start_before(buf: &[u8], end: usize) -> usize {
    let (mut body, mut shift, mut i) = (0usize, 0, end);
    loop {
        i -= 1;
        let b = buf[i];
        body |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    i - body
}

/// Grows `buf` for `extra` more bytes by doubling, but never past the node size (a full node then
/// holds [`NODE_BYTES_MAX`] bytes, not the next power of two's worth).
fn reserve_capped(buf: &mut Vec<u8>, extra: usize) {
    let need = buf.len() + extra;
    if need > buf.capacity() {
        let target = (buf.capacity() * 2)
            .max(need)
            .max(HEAD_ROOM_MIN)
            .min(NODE_BYTES_MAX.max(need));
        buf.reserve_exact(target - buf.len());
    }
}

/// One packed node: elements in `buf[start..]`, or, when `raw_len` is not 0, an LZ4 block in
/// `buf` that expands to `raw_len` bytes of elements.
#[derive(Clone, Debug, Default)]
struct Node {
    buf: Vec<u8>,
    /// Free bytes before the first element (room for pushes at the head); 0 when compressed.
    start: usize,
    count: usize,
    /// The uncompressed size of a compressed node; 0 for a plain one.
    raw_len: u32,
    /// A compression attempt found too little to gain; not tried again until the node changes.
    incompressible: bool,
}

impl Node {
    fn is_compressed(&self) -> bool {
        self.raw_len != 0
    }

    /// Stores the node LZ4-compressed when that saves at least an eighth of it.
    fn compress(&mut self) {
        if self.is_compressed() || self.incompressible {
            return;
        }
        let raw = &self.buf[self.start..];
        if raw.len() < COMPRESS_MIN_BYTES || raw.len() > u32::MAX as usize {
            self.incompressible = true;
            return;
        }
        let mut out = vec![0u8; lz4_flex::block::get_maximum_output_size(raw.len())];
        match lz4_flex::block::compress_into(raw, &mut out) {
            Ok(n) if n <= raw.len() - raw.len() / 8 => {
                out.truncate(n);
                out.shrink_to_fit();
                self.raw_len = raw.len() as u32;
                self.buf = out;
                self.start = 0;
            }
            _ => self.incompressible = true,
        }
    }

    /// Expands `block` (a compressed node's buffer) into `out`, which has its uncompressed size.
    fn expand_into(block: &[u8], out: &mut [u8]) {
        let done = lz4_flex::block::decompress_into(block, out);
        // The block was written by `compress` from exactly `out.len()` bytes.
        debug_assert_eq!(
            done.ok(),
            Some(out.len()),
            "list node block does not expand"
        );
    }

    /// Stores the node plainly again (before a change, or when it becomes an end node).
    fn expand(&mut self) {
        if self.is_compressed() {
            let mut raw = vec![0u8; self.raw_len as usize];
            Self::expand_into(&self.buf, &mut raw);
            self.buf = raw;
            self.start = 0;
            self.raw_len = 0;
        }
        self.incompressible = false;
    }

    /// The node's element bytes, expanded into `scratch` when it is compressed.
    fn bytes_in<'a>(&'a self, scratch: &'a Bump) -> &'a [u8] {
        if !self.is_compressed() {
            return &self.buf[self.start..];
        }
        let out = scratch.alloc_slice_fill_copy(self.raw_len as usize, 0u8);
        Self::expand_into(&self.buf, out);
        out
    }

    /// Every element, head to tail, of a node that may be compressed.
    fn elements_in<'a>(&'a self, scratch: &'a Bump) -> NodeIter<'a> {
        let buf = self.bytes_in(scratch);
        NodeIter {
            buf,
            front: 0,
            back: buf.len(),
        }
    }

    fn used(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Whether an entry of `size` bytes may join (an empty node takes anything).
    fn has_room(&self, size: usize) -> bool {
        self.count == 0 || self.used() + size <= NODE_BYTES_MAX
    }

    fn push_tail(&mut self, value: &[u8]) {
        debug_assert!(!self.is_compressed());
        self.incompressible = false;
        let size = entry_size(value.len());
        let at = self.buf.len();
        reserve_capped(&mut self.buf, size);
        self.buf.resize(at + size, 0);
        write_entry(&mut self.buf[at..], value);
        self.count += 1;
    }

    fn push_head(&mut self, value: &[u8]) {
        debug_assert!(!self.is_compressed());
        self.incompressible = false;
        let size = entry_size(value.len());
        if self.start < size {
            // Make room before the elements, in proportion to them so pushes stay amortized O(1),
            // without taking the node past its size.
            let room = size
                .max(HEAD_ROOM_MIN)
                .max(self.used() / 2)
                .min(NODE_BYTES_MAX.saturating_sub(self.used()))
                .max(size);
            let mut buf = Vec::with_capacity(room + self.used());
            buf.resize(room, 0);
            buf.extend_from_slice(&self.buf[self.start..]);
            self.buf = buf;
            self.start = room;
        }
        self.start -= size;
        let at = self.start;
        write_entry(&mut self.buf[at..at + size], value);
        self.count += 1;
    }

    fn pop_head(&mut self) -> CompactStr {
        self.expand();
        let (value, next) = read_forward(&self.buf, self.start);
        let item = CompactStr::from_value(value);
        self.start = next;
        self.count -= 1;
        if self.count == 0 {
            self.buf.clear();
            self.start = 0;
        }
        item
    }

    fn pop_tail(&mut self) -> CompactStr {
        self.expand();
        let at = entry_start_before(&self.buf, self.buf.len());
        let item = CompactStr::from_value(read_forward(&self.buf, at).0);
        self.buf.truncate(at);
        self.count -= 1;
        if self.count == 0 {
            self.buf.clear();
            self.start = 0;
        }
        item
    }

    /// The byte offset of element `i` (`i < count`), walking from the nearer end.
    fn offset_of(&self, i: usize) -> usize {
        debug_assert!(!self.is_compressed());
        if i <= self.count / 2 {
            let mut at = self.start;
            for _ in 0..i {
                at = read_forward(&self.buf, at).1;
            }
            at
        } else {
            let mut at = self.buf.len();
            for _ in i..self.count {
                at = entry_start_before(&self.buf, at);
            }
            at
        }
    }

    /// Element `i` of a node that may be compressed.
    fn get_in<'a>(&'a self, i: usize, scratch: &'a Bump) -> &'a [u8] {
        if !self.is_compressed() {
            return read_forward(&self.buf, self.offset_of(i)).0;
        }
        let mut it = self.elements_in(scratch);
        it.nth(i).unwrap_or(&[])
    }

    /// Replaces the entry at `at..end` with `value`'s entry (or removes it, for `None`).
    fn splice(&mut self, at: usize, end: usize, value: Option<&[u8]>) {
        debug_assert!(!self.is_compressed());
        self.incompressible = false;
        let size = value.map_or(0, |v| entry_size(v.len()));
        let old = end - at;
        if size > old {
            self.buf.splice(at..at, core::iter::repeat_n(0, size - old));
        } else if size < old {
            self.buf.drain(at + size..end);
        }
        if let Some(v) = value {
            write_entry(&mut self.buf[at..at + size], v);
        }
    }

    /// Every element, head to tail.
    fn elements(&self) -> NodeIter<'_> {
        debug_assert!(!self.is_compressed());
        NodeIter {
            buf: &self.buf,
            front: self.start,
            back: self.buf.len(),
        }
    }

    /// Rebuilds the node from the elements `keep` says to keep; returns how many went and their
    /// listpack bytes.
    fn retain(&mut self, mut keep: impl FnMut(&[u8]) -> bool) -> (usize, usize) {
        self.expand();
        let mut buf = Vec::with_capacity(self.used());
        let (mut removed, mut freed, mut count) = (0, 0, 0);
        for v in self.elements() {
            if keep(v) {
                let at = buf.len();
                buf.resize(at + entry_size(v.len()), 0);
                write_entry(&mut buf[at..], v);
                count += 1;
            } else {
                removed += 1;
                freed += packed_size(v);
            }
        }
        if removed > 0 {
            self.buf = buf;
            self.start = 0;
            self.count = count;
        }
        (removed, freed)
    }
}

/// The elements of a node, from either end.
#[derive(Clone)]
struct NodeIter<'a> {
    buf: &'a [u8],
    front: usize,
    back: usize,
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (value, next) = read_forward(self.buf, self.front);
        self.front = next;
        Some(value)
    }
}

impl<'a> DoubleEndedIterator for NodeIter<'a> {
    #[inline]
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let at = entry_start_before(self.buf, self.back);
        self.back = at;
        Some(read_forward(self.buf, at).0)
    }
}

/// Elements `front..back` (positions in the list) of a list, from either end.
pub struct Iter<'a> {
    nodes: &'a VecDeque<Node>,
    /// Where compressed nodes are expanded.
    scratch: &'a Bump,
    /// The front cursor: node index and the elements left of it in that node.
    front: (usize, Option<NodeIter<'a>>),
    back: (usize, Option<NodeIter<'a>>),
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        loop {
            if let Some(it) = self.front.1.as_mut() {
                if let Some(v) = it.next() {
                    self.left -= 1;
                    return Some(v);
                }
            }
            self.front.0 += 1;
            self.front.1 = Some(self.nodes.get(self.front.0)?.elements_in(self.scratch));
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl<'a> DoubleEndedIterator for Iter<'a> {
    fn next_back(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        loop {
            if let Some(it) = self.back.1.as_mut() {
                if let Some(v) = it.next_back() {
                    self.left -= 1;
                    return Some(v);
                }
            }
            self.back.0 = self.back.0.checked_sub(1)?;
            self.back.1 = Some(self.nodes.get(self.back.0)?.elements_in(self.scratch));
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[derive(Clone, Debug)]
pub struct List {
    nodes: VecDeque<Node>,
    len: usize,
    /// Sum of [`packed_size`] over the elements.
    packed_bytes: usize,
    /// Whether OBJECT ENCODING says `listpack` (else `quicklist`).
    packed: bool,
    /// Nodes kept uncompressed at each end; 0 compresses nothing (`list-compress-depth`).
    depth: u16,
}

impl Default for List {
    fn default() -> Self {
        Self::new()
    }
}

impl List {
    pub fn new() -> Self {
        List {
            nodes: VecDeque::new(),
            len: 0,
            packed_bytes: 0,
            packed: true,
            depth: 0,
        }
    }

    /// An empty list that keeps all but `depth` nodes at each end compressed (0: none).
    pub fn with_compress_depth(depth: usize) -> Self {
        List {
            depth: depth.min(COMPRESS_DEPTH_MAX) as u16,
            ..List::new()
        }
    }

    /// How many nodes are compressed (for tests and introspection).
    pub fn compressed_nodes(&self) -> usize {
        self.nodes.iter().filter(|n| n.is_compressed()).count()
    }

    /// Whether node `k` lies deeper than the compress depth from both ends.
    fn interior(&self, k: usize) -> bool {
        let d = usize::from(self.depth);
        d > 0 && k >= d && k + d < self.nodes.len()
    }

    /// Puts the nodes next to the ends in their state after one node joined or left at an end:
    /// the `depth` nodes at each end plain, the first interior node at each side compressed.
    fn settle_ends(&mut self) {
        let (d, n) = (usize::from(self.depth), self.nodes.len());
        if d == 0 {
            return;
        }
        for k in (0..d.min(n)).chain(n.saturating_sub(d)..n) {
            self.nodes[k].expand();
        }
        for k in [d, n.wrapping_sub(d + 1)] {
            if k < n && self.interior(k) {
                self.nodes[k].compress();
            }
        }
    }

    /// Puts every node in its state (after nodes were added or removed in the middle).
    fn settle_all(&mut self) {
        if self.depth == 0 {
            return;
        }
        for k in 0..self.nodes.len() {
            if self.interior(k) {
                self.nodes[k].compress();
            } else {
                self.nodes[k].expand();
            }
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        if self.packed {
            "listpack"
        } else {
            "quicklist"
        }
    }

    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * core::mem::size_of::<Node>()
            + self.nodes.iter().map(|n| n.buf.capacity()).sum::<usize>()
    }

    pub fn canonical(&self, out: &mut Vec<u8>) {
        let scratch = Bump::new();
        for it in self.iter(&scratch) {
            put_bytes(out, it);
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
    /// half the limit becomes `listpack`. Also gives back the node slots of a list that shrank
    /// to a quarter of them.
    pub fn shrank(&mut self, fill: i64) {
        if !self.packed && !exceeds(fill, self.listpack_bytes(), self.len(), true) {
            self.packed = true;
        }
        let cap = self.nodes.capacity();
        if cap > 8 && cap / 4 > self.nodes.len() {
            self.nodes.shrink_to(2 * self.nodes.len());
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
        let size = entry_size(value.len());
        self.packed_bytes += packed_size(value);
        self.len += 1;
        match end {
            End::Head => {
                if !self.nodes.front().is_some_and(|n| n.has_room(size)) {
                    self.nodes.push_front(Node::default());
                    self.settle_ends();
                }
                if let Some(n) = self.nodes.front_mut() {
                    n.expand();
                    n.push_head(value);
                }
            }
            End::Tail => {
                if !self.nodes.back().is_some_and(|n| n.has_room(size)) {
                    self.nodes.push_back(Node::default());
                    self.settle_ends();
                }
                if let Some(n) = self.nodes.back_mut() {
                    n.expand();
                    n.push_tail(value);
                }
            }
        }
    }

    /// Removes and returns the element at one end.
    pub fn pop(&mut self, end: End) -> Option<CompactStr> {
        let item = match end {
            End::Head => {
                let n = self.nodes.front_mut()?;
                let item = n.pop_head();
                if n.count == 0 {
                    self.nodes.pop_front();
                    self.settle_ends();
                }
                item
            }
            End::Tail => {
                let n = self.nodes.back_mut()?;
                let item = n.pop_tail();
                if n.count == 0 {
                    self.nodes.pop_back();
                    self.settle_ends();
                }
                item
            }
        };
        self.len -= 1;
        self.packed_bytes -= packed_size_of(&item);
        Some(item)
    }

    /// The position of `index` (negative counts from the tail, -1 being the last element), if it is
    /// inside the list.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let len = self.len() as i64;
        let i = if index < 0 { len + index } else { index };
        (0..len).contains(&i).then_some(i as usize)
    }

    /// The node holding position `i` (`i < len`) and the position inside it, counting from the
    /// nearer end of the list.
    fn locate(&self, i: usize) -> (usize, usize) {
        debug_assert!(i < self.len);
        if i < self.len / 2 {
            let mut skipped = 0;
            for (k, n) in self.nodes.iter().enumerate() {
                if i < skipped + n.count {
                    return (k, i - skipped);
                }
                skipped += n.count;
            }
        } else {
            let mut end = self.len;
            for (k, n) in self.nodes.iter().enumerate().rev() {
                if i >= end - n.count {
                    return (k, i - (end - n.count));
                }
                end -= n.count;
            }
        }
        (self.nodes.len().saturating_sub(1), 0)
    }

    /// The element at `index` (negative counts from the tail); a compressed node is expanded into
    /// `scratch`.
    pub fn get<'a>(&'a self, index: i64, scratch: &'a Bump) -> Option<&'a [u8]> {
        let (k, j) = self.locate(self.resolve(index)?);
        Some(self.nodes[k].get_in(j, scratch))
    }

    /// Replaces the element at `index` (negative counts from the tail); false when out of range.
    pub fn set(&mut self, index: i64, value: &[u8]) -> bool {
        let Some(i) = self.resolve(index) else {
            return false;
        };
        let (k, j) = self.locate(i);
        let n = &mut self.nodes[k];
        n.expand();
        let at = n.offset_of(j);
        let (old, end) = read_forward(&n.buf, at);
        self.packed_bytes = self.packed_bytes - packed_size(old) + packed_size(value);
        n.splice(at, end, Some(value));
        if self.interior(k) {
            self.nodes[k].compress();
        }
        true
    }

    /// Inserts an element so that it lands at position `at` (`at <= len`).
    pub fn insert(&mut self, at: usize, value: &[u8]) {
        debug_assert!(at <= self.len());
        if at == 0 {
            return self.push(End::Head, value);
        }
        if at >= self.len {
            return self.push(End::Tail, value);
        }
        let (k, j) = self.locate(at);
        self.packed_bytes += packed_size(value);
        self.len += 1;
        let n = &mut self.nodes[k];
        n.expand();
        let off = n.offset_of(j);
        n.splice(off, off, Some(value));
        n.count += 1;
        if n.used() > 2 * NODE_BYTES_MAX && n.count > 1 {
            self.split(k);
            self.settle_all();
        } else if self.interior(k) {
            self.nodes[k].compress();
        }
    }

    /// Splits node `k` in two halves.
    fn split(&mut self, k: usize) {
        let n = &mut self.nodes[k];
        let half = n.count / 2;
        let cut = n.offset_of(half);
        let tail = Node {
            buf: n.buf[cut..].to_vec(),
            count: n.count - half,
            ..Node::default()
        };
        n.buf.truncate(cut);
        n.count = half;
        self.nodes.insert(k + 1, tail);
    }

    /// Elements from head to tail; compressed nodes are expanded into `scratch`.
    pub fn iter<'a>(&'a self, scratch: &'a Bump) -> Iter<'a> {
        self.range(0, self.len, scratch)
    }

    /// Elements at positions `from..to` (clamped to the list); compressed nodes are expanded into
    /// `scratch`.
    pub fn range<'a>(&'a self, from: usize, to: usize, scratch: &'a Bump) -> Iter<'a> {
        let to = to.min(self.len);
        let from = from.min(to);
        if from == to {
            return Iter {
                nodes: &self.nodes,
                scratch,
                front: (0, None),
                back: (0, None),
                left: 0,
            };
        }
        let (fk, fj) = self.locate(from);
        let (bk, bj) = self.locate(to - 1);
        let mut front = self.nodes[fk].elements_in(scratch);
        for _ in 0..fj {
            front.next();
        }
        // The back cursor ends after element `bj` of its node, found from the nearer side: for a
        // range inside one node, from the front cursor (LRANGE 0 99 walks 100 entries, not the
        // whole node).
        let mut back = if fk == bk {
            front.clone()
        } else {
            self.nodes[bk].elements_in(scratch)
        };
        let count = self.nodes[bk].count;
        let (ahead, behind) = if fk == bk {
            (bj + 1 - fj, count - bj - 1)
        } else {
            (bj + 1, count - bj - 1)
        };
        if ahead <= behind {
            let mut probe = back.clone();
            for _ in 0..ahead {
                probe.next();
            }
            back.back = probe.front;
        } else {
            for _ in 0..behind {
                back.next_back();
            }
        }
        if fk == bk {
            // One node: one cursor serves both ends.
            back.front = front.front;
            front = back.clone();
        }
        Iter {
            nodes: &self.nodes,
            scratch,
            front: (fk, Some(front)),
            back: (bk, Some(back)),
            left: to - from,
        }
    }

    /// The first position holding `needle`.
    pub fn position(&self, needle: &Needle<'_>, scratch: &Bump) -> Option<usize> {
        self.iter(scratch).position(|it| needle.matches(it))
    }

    /// Removes elements equal to `needle`: at most `limit` of them (0: all), the first ones from the
    /// head or, with `from_tail`, the last ones. Returns how many went. O(N).
    pub fn remove_matching(&mut self, needle: &Needle<'_>, limit: usize, from_tail: bool) -> usize {
        // Nodes are rebuilt from the head, so removing the last `limit` matches means skipping the
        // matches before them.
        let mut skip = 0;
        if from_tail && limit > 0 {
            let scratch = Bump::new();
            let total = self.iter(&scratch).filter(|it| needle.matches(it)).count();
            skip = total.saturating_sub(limit);
        }
        let limit = if limit == 0 { usize::MAX } else { limit };
        let (mut seen, mut removed) = (0usize, 0usize);
        for n in self.nodes.iter_mut() {
            if removed == limit {
                break;
            }
            let (gone, freed) = n.retain(|it| {
                if removed == limit || !needle.matches(it) {
                    return true;
                }
                seen += 1;
                if seen <= skip {
                    return true;
                }
                removed += 1;
                false
            });
            self.packed_bytes -= freed;
            self.len -= gone;
        }
        self.nodes.retain(|n| n.count > 0);
        self.settle_all();
        removed
    }

    /// Removes `head` elements from the head and `tail` from the tail (LTRIM); counts past the
    /// length remove everything.
    pub fn trim(&mut self, head: usize, tail: usize) {
        let head = head.min(self.len);
        let mut i = 0;
        let keep_to = self.len.saturating_sub(tail).max(head);
        let (mut removed, mut freed) = (0, 0);
        for n in self.nodes.iter_mut() {
            let (from, to) = (i, i + n.count);
            i = to;
            if from >= head && to <= keep_to {
                continue;
            }
            let mut pos = from;
            let (gone, f) = n.retain(|_| {
                let keep = pos >= head && pos < keep_to;
                pos += 1;
                keep
            });
            removed += gone;
            freed += f;
        }
        self.nodes.retain(|n| n.count > 0);
        self.settle_all();
        self.len -= removed;
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

/// Bytes `item` takes as a Redis listpack entry: encoding byte(s), data, and the back-length that
/// lets a listpack be walked from the tail (Redis's `lpEncodeBacklen`). Integers in canonical form
/// take Redis's integer encodings.
fn packed_size(item: &[u8]) -> usize {
    let entry = match parse_canonical_i64(item) {
        Some(n) => match n {
            0..=127 => 1,
            -4096..=4095 => 2,
            -32768..=32767 => 3,
            -8_388_608..=8_388_607 => 4,
            -2_147_483_648..=2_147_483_647 => 5,
            _ => 9,
        },
        None => {
            let len = item.len();
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

/// [`packed_size`] of a popped element.
fn packed_size_of(item: &CompactStr) -> usize {
    match item {
        CompactStr::Int(n) => {
            let mut scratch = [0u8; 20];
            packed_size(super::string::format_i64(*n, &mut scratch))
        }
        other => packed_size(other.raw().unwrap_or(&[])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn contents(l: &List) -> Vec<Vec<u8>> {
        let bump = Bump::new();
        l.iter(&bump).map(<[u8]>::to_vec).collect()
    }

    /// The running counts agree with the elements, and reading backwards gives the same elements.
    fn check_bytes(l: &List) {
        let bump = Bump::new();
        let sum: usize = l.iter(&bump).map(packed_size).sum();
        assert_eq!(l.packed_bytes, sum);
        assert_eq!(l.nodes.iter().map(|n| n.count).sum::<usize>(), l.len());
        assert!(l.nodes.iter().all(|n| n.count > 0));
        let mut back: Vec<Vec<u8>> = l.iter(&bump).rev().map(<[u8]>::to_vec).collect();
        back.reverse();
        assert_eq!(back, contents(l));
        // Exactly the interior nodes are compressed, unless compression would gain too little.
        for (k, n) in l.nodes.iter().enumerate() {
            if l.interior(k) {
                assert!(n.is_compressed() || n.incompressible, "node {k} left plain");
            } else {
                assert!(!n.is_compressed(), "end node {k} compressed");
            }
        }
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
        let bump = Bump::new();
        let mut l = List::new();
        l.push(End::Tail, b"b");
        l.push(End::Head, b"a");
        l.push(End::Tail, b"12");
        assert_eq!(
            contents(&l),
            vec![b"a".to_vec(), b"b".to_vec(), b"12".to_vec()]
        );
        assert_eq!(l.get(-1, &bump), Some(&b"12"[..]));
        assert!(
            l.get(3, &bump).is_none()
                && l.get(-4, &bump).is_none()
                && l.get(i64::MIN, &bump).is_none()
        );
        assert!(l.set(-3, b"x") && !l.set(3, b"y"));
        l.insert(1, b"mid");
        assert_eq!(l.pop(End::Head).map(|s| s.to_vec()), Some(b"x".to_vec()));
        assert_eq!(l.pop(End::Tail).map(|s| s.to_vec()), Some(b"12".to_vec()));
        assert_eq!(contents(&l), vec![b"mid".to_vec(), b"b".to_vec()]);
        check_bytes(&l);
    }

    #[test]
    fn needle_compares_bytes() {
        assert!(Needle::new(b"42").matches(b"42"));
        assert!(!Needle::new(b"042").matches(b"42"));
        assert!(!Needle::new(b"42").matches(b"042"));
    }

    #[test]
    fn entries_read_both_ways() {
        for len in [0usize, 1, 127, 128, 200, 16_000, 20_000] {
            let value: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let size = entry_size(len);
            let mut buf = vec![0u8; size + 3];
            write_entry(&mut buf[3..], &value);
            let (got, next) = read_forward(&buf, 3);
            assert_eq!((got, next), (&value[..], size + 3), "{len}");
            assert_eq!(entry_start_before(&buf, size + 3), 3, "{len}");
        }
        assert_eq!(entry_size(10), 12);
    }

    #[test]
    fn full_nodes_waste_little() {
        let mut l = List::new();
        for i in 0..100_000u32 {
            l.push(End::Tail, alloc::format!("item{i:06}").as_bytes());
        }
        for i in 0..100_000u32 {
            l.push(End::Head, alloc::format!("item{i:06}").as_bytes());
        }
        // 12 bytes per 10-byte element, and node buffers no larger than a node.
        let used: usize = l.nodes.iter().map(|n| n.buf.len() - n.start).sum();
        assert_eq!(used, 12 * 200_000);
        assert!(
            l.heap_size() < used + used / 20,
            "{} for {used}",
            l.heap_size()
        );
    }

    #[test]
    fn elements_larger_than_a_node_get_their_own() {
        let bump = Bump::new();
        let big = vec![b'z'; NODE_BYTES_MAX * 2];
        let mut l = list_of(&[b"a", &big, b"b"]);
        l.push(End::Head, &big);
        assert_eq!(l.nodes.len(), 4);
        assert_eq!(l.get(1, &bump), Some(&b"a"[..]));
        assert_eq!(l.get(-2, &bump), Some(&big[..]));
        l.insert(2, b"mid");
        assert_eq!(l.range(1, 4, &bump).count(), 3);
        assert_eq!(l.pop(End::Head).map(|s| s.len()), Some(big.len()));
        check_bytes(&l);
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
        let bump = Bump::new();
        let mut l = list_of(&[b"a", b"b", b"c", b"d", b"e"]);
        assert_eq!(l.range(1, 3, &bump).count(), 2);
        assert_eq!(l.range(4, 100, &bump).count(), 1);
        assert_eq!(l.range(7, 100, &bump).count(), 0);
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
        assert!(l.nodes.capacity() < 64, "{}", l.nodes.capacity());
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
        assert_eq!(packed_size(b"7"), 2);
        assert_eq!(packed_size(b"-1"), 3);
        assert_eq!(packed_size(b"hello"), 7);
        assert_eq!(packed_size(&[b'x'; 200]), 204);
        assert_eq!(packed_size_of(&CompactStr::from_value(b"-1")), 3);
    }

    #[test]
    fn random_operations_match_a_vec() {
        random_operations(&[b"1", b"x", b"-300", &[b'y'; 70], b""], 5000, 0);
        // Elements of a few KiB: nodes fill, split and empty all the time, and with a compress
        // depth, nodes move between the ends and the compressed interior.
        for (depth, steps) in [(0, 3000), (1, 400), (2, 400)] {
            random_operations(
                &[b"1", &[b'a'; 3000], &[b'b'; 5000], &[b'c'; 9000], b"x"],
                steps,
                depth,
            );
        }
    }

    #[test]
    fn interior_nodes_compress_and_read_back() {
        let bump = Bump::new();
        let item = |i: usize| alloc::format!("item{:06}", i).into_bytes();
        let (mut plain, mut packed) = (List::new(), List::with_compress_depth(1));
        for i in 0..100_000 {
            plain.push(End::Tail, &item(i));
            packed.push(End::Tail, &item(i));
        }
        check_bytes(&packed);
        assert!(packed.compressed_nodes() + 2 == packed.nodes.len());
        assert!(
            packed.heap_size() * 2 < plain.heap_size(),
            "{} vs {}",
            packed.heap_size(),
            plain.heap_size()
        );
        for i in [0, 1, 999, 50_000, 99_998, 99_999] {
            assert_eq!(packed.get(i as i64, &bump), Some(&item(i)[..]));
        }
        let middle: Vec<&[u8]> = packed.range(49_000, 51_000, &bump).collect();
        assert_eq!(middle.len(), 2000);
        assert_eq!(middle[1500], &item(50_500)[..]);
        // Change the middle, then pop everything from alternating ends.
        assert!(packed.set(60_000, b"changed"));
        packed.insert(70_000, b"inserted");
        assert_eq!(packed.get(60_000, &bump), Some(&b"changed"[..]));
        assert_eq!(packed.get(70_000, &bump), Some(&b"inserted"[..]));
        check_bytes(&packed);
        let mut model: alloc::collections::VecDeque<Vec<u8>> =
            packed.iter(&bump).map(<[u8]>::to_vec).collect();
        let mut n = 0;
        while let Some(v) = packed.pop(if n % 2 == 0 { End::Head } else { End::Tail }) {
            let want = if n % 2 == 0 {
                model.pop_front()
            } else {
                model.pop_back()
            };
            assert_eq!(Some(v.to_vec()), want);
            n += 1;
            if n % 10_000 == 0 {
                check_bytes(&packed);
            }
        }
        assert_eq!(n, 100_001);
    }

    fn random_operations(values: &[&[u8]; 5], steps: usize, depth: usize) {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let (mut l, mut model) = (List::with_compress_depth(depth), Vec::<Vec<u8>>::new());
        for _ in 0..steps {
            let bump = Bump::new();
            let v = values[next(5) as usize];
            let at = next(model.len() as u64 + 1) as usize;
            match next(9) {
                0 | 7 => {
                    l.push(End::Head, v);
                    model.insert(0, v.to_vec());
                }
                8 => {
                    let got = l.pop(End::Tail).map(|s| s.to_vec());
                    assert_eq!(got, model.pop());
                    if let Some(i) = (!model.is_empty()).then(|| next(model.len() as u64) as i64) {
                        assert!(l.set(i, v));
                        model[i as usize] = v.to_vec();
                        assert_eq!(l.get(i - model.len() as i64, &bump), Some(v));
                    }
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
            let (a, b) = (
                next(model.len() as u64 + 2) as usize,
                next(model.len() as u64 + 2) as usize,
            );
            let (from, to) = (a.min(b), a.max(b));
            let want: Vec<&[u8]> = model
                .get(from.min(model.len())..to.min(model.len()))
                .unwrap_or_default()
                .iter()
                .map(Vec::as_slice)
                .collect();
            assert_eq!(l.range(from, to, &bump).collect::<Vec<_>>(), want);
            assert_eq!(l.range(from, to, &bump).len(), want.len());
            let mut rev: Vec<&[u8]> = l.range(from, to, &bump).rev().collect();
            rev.reverse();
            assert_eq!(rev, want);
        }
    }
}
