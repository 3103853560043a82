//! Streams: an append-only log of entries (field-value pairs) ordered by a 128-bit ID, with
//! consumer groups (XADD, XRANGE, XREADGROUP...).
//!
//! The entries live in [`node::Node`]s of up to `stream-node-max-entries` entries (and about
//! `stream-node-max-bytes` bytes) each, packed with delta-coded IDs and shared field names. The
//! nodes sit in ID order in a deque: entries are only appended at the tail and trimmed from the
//! head, so a deque indexed by binary search over the nodes' first and last IDs does what Redis's
//! radix tree does with no tree overhead. Node boundaries follow Redis's rules exactly because
//! approximate trimming (`MAXLEN ~`) removes whole nodes and its results are observable.
//!
//! Besides its entries a stream remembers its last generated ID, how many entries were ever added,
//! the first live ID as last recorded and the greatest deleted ID: Redis 7.0 derives consumer-group
//! lag from these ([`Stream::estimate_read_counter`]).

pub mod group;
pub mod node;

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;

use crate::resp::ReplyWriter;
use crate::types::string::{format_u64, IntBuf};
use group::Group;
use node::{Node, Raw, DELETED};

/// A stream entry ID: milliseconds and a sequence number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

/// Longest text of an ID: two 20-digit numbers and a dash.
pub const ID_TEXT_MAX: usize = 41;

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub const fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The ID right after this one, `None` past the last.
    pub fn next(self) -> Option<StreamId> {
        match self.seq.checked_add(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => Some(StreamId {
                ms: self.ms.checked_add(1)?,
                seq: 0,
            }),
        }
    }

    /// The ID right before this one, `None` before the first.
    pub fn prev(self) -> Option<StreamId> {
        match self.seq.checked_sub(1) {
            Some(seq) => Some(StreamId { ms: self.ms, seq }),
            None => Some(StreamId {
                ms: self.ms.checked_sub(1)?,
                seq: u64::MAX,
            }),
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// `ms-seq` in `buf`.
    pub fn format(self, buf: &mut [u8; ID_TEXT_MAX]) -> &[u8] {
        let mut a: IntBuf = Default::default();
        let mut b: IntBuf = Default::default();
        let ms = format_u64(self.ms, &mut a);
        let seq = format_u64(self.seq, &mut b);
        buf[..ms.len()].copy_from_slice(ms);
        buf[ms.len()] = b'-';
        buf[ms.len() + 1..ms.len() + 1 + seq.len()].copy_from_slice(seq);
        &buf[..ms.len() + 1 + seq.len()]
    }

    /// Writes the ID as a bulk string.
    pub fn write(self, out: &mut ReplyWriter<'_>) {
        let mut buf = [0u8; ID_TEXT_MAX];
        out.bulk(self.format(&mut buf));
    }
}

/// Node size limits: `stream-node-max-bytes` and `stream-node-max-entries` (0: no limit).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub bytes_max: usize,
    pub entries_max: usize,
}

/// The most bytes a node's listpack may reach whatever `stream-node-max-bytes` says (Redis's
/// `STREAM_LISTPACK_MAX_SIZE`); it also keeps node offsets within `u32`.
const NODE_BYTES_MAX: usize = 1 << 30;

/// How XADD and XTRIM trim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Drop entries with an ID below this one.
    MinId(StreamId),
}

#[derive(Clone, Debug, Default)]
pub struct Stream {
    nodes: VecDeque<Node>,
    len: u64,
    /// The greatest ID ever added (or set by XSETID).
    pub last_id: StreamId,
    /// The first live entry's ID as last recorded (Redis's `first_id`).
    pub first_id: StreamId,
    /// The greatest ID deleted by XDEL (a tombstone that breaks lag arithmetic).
    pub max_deleted: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name, in name order (as XINFO GROUPS lists them).
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

impl Stream {
    pub fn new() -> Self {
        Self::default()
    }

    /// Live entries.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// The nodes in ID order (the RDB encoder writes one listpack per node).
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter()
    }

    /// Heap bytes held beyond the stream's box.
    pub fn heap_size(&self) -> usize {
        let nodes: usize = self.nodes.iter().map(Node::heap_size).sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| name.len() + g.heap_size())
            .sum();
        nodes + self.nodes.capacity() * core::mem::size_of::<Node>() + groups
    }

    /// Appends entry `id`, which must be greater than [`Stream::last_id`], with its (field, value)
    /// pairs; `fields` holds at least one pair.
    pub fn append(&mut self, id: StreamId, fields: &[&[u8]], limits: NodeLimits) {
        debug_assert!(id > self.last_id || (self.entries_added == 0 && id > StreamId::MIN));
        debug_assert!(fields.len() >= 2 && fields.len().is_multiple_of(2));
        // A stream that XSETID moved below deleted entries at its end continues before them.
        if let Some(n) = self.nodes.back_mut() {
            if n.last >= id {
                n.drop_tail_from(id);
            }
        }
        // Redis's rule: a new node once the listpack plus the raw field and value bytes would
        // reach the byte limit (1 GiB at most), or the node counts its entry limit.
        let raw: usize = fields.iter().map(|f| f.len()).sum();
        let bytes_max = match limits.bytes_max {
            0 => NODE_BYTES_MAX,
            n => n.min(NODE_BYTES_MAX),
        };
        let fits = self.nodes.back().is_some_and(|n| {
            let bytes_ok = n.lp_bytes() + raw < bytes_max;
            let count_ok = limits.entries_max == 0 || (n.total as usize) < limits.entries_max;
            bytes_ok && count_ok && n.total < u32::MAX
        });
        if fits {
            if let Some(n) = self.nodes.back_mut() {
                n.append(id, fields);
            }
        } else {
            if let Some(n) = self.nodes.back_mut() {
                n.seal();
            }
            self.nodes.push_back(Node::new(id, fields));
        }
        if self.len == 0 {
            self.first_id = id;
        }
        self.len += 1;
        self.entries_added += 1;
        self.last_id = id;
    }

    /// The node holding `id`, if any could.
    fn node_index(&self, id: StreamId) -> Option<usize> {
        let i = self.nodes.partition_point(|n| n.last < id);
        (i < self.nodes.len() && self.nodes[i].first <= id).then_some(i)
    }

    /// The live entry `id`.
    pub fn get(&self, id: StreamId) -> Option<(&Node, Raw)> {
        let node = &self.nodes[self.node_index(id)?];
        let raw = node.find(id)?;
        (raw.flags & DELETED == 0).then_some((node, raw))
    }

    /// Whether the live entry `id` exists.
    pub fn contains(&self, id: StreamId) -> bool {
        self.get(id).is_some()
    }

    /// Deletes the live entry `id` (XDEL); false if there is none. Keeps `first_id` and
    /// `max_deleted` as Redis does.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some(i) = self.node_index(id) else {
            return false;
        };
        let Some(raw) = self.nodes[i].find(id) else {
            return false;
        };
        if !self.nodes[i].mark_deleted(raw.head_at) {
            return false;
        }
        if self.nodes[i].live == 0 {
            self.nodes.remove(i);
        }
        self.len -= 1;
        if id > self.max_deleted {
            self.max_deleted = id;
        }
        if self.len == 0 {
            self.first_id = StreamId::MIN;
        } else if id == self.first_id {
            self.first_id = self.first_entry_id().unwrap_or(StreamId::MIN);
        }
        true
    }

    /// The first live entry's ID.
    pub fn first_entry_id(&self) -> Option<StreamId> {
        let mut id = None;
        self.for_each(StreamId::MIN, StreamId::MAX, false, |_, raw| {
            id = Some(raw.id);
            false
        });
        id
    }

    /// The last live entry's ID.
    pub fn last_entry_id(&self) -> Option<StreamId> {
        let mut id = None;
        self.for_each(StreamId::MIN, StreamId::MAX, true, |_, raw| {
            id = Some(raw.id);
            false
        });
        id
    }

    /// Calls `f` on each live entry with an ID in `start..=end`, in order (`rev`: backwards),
    /// until it returns false.
    pub fn for_each(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(&Node, &Raw) -> bool,
    ) {
        self.for_each_at(start, end, rev, |i, raw| f(&self.nodes[i], raw));
    }

    /// [`Stream::for_each`] with the node's position instead of the node.
    fn for_each_at(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        mut f: impl FnMut(usize, &Raw) -> bool,
    ) {
        if start > end {
            return;
        }
        if !rev {
            let from = self.nodes.partition_point(|n| n.last < start);
            for (i, node) in self.nodes.range(from..).enumerate() {
                for raw in node.raw_iter() {
                    if raw.id < start || raw.flags & DELETED != 0 {
                        continue;
                    }
                    if raw.id > end || !f(from + i, &raw) {
                        return;
                    }
                }
            }
            return;
        }
        let to = self.nodes.partition_point(|n| n.first <= end);
        let mut raws: Vec<Raw> = Vec::new();
        for i in (0..to).rev() {
            raws.clear();
            raws.extend(self.nodes[i].raw_iter());
            for raw in raws.iter().rev() {
                if raw.id > end || raw.flags & DELETED != 0 {
                    continue;
                }
                if raw.id < start || !f(i, raw) {
                    return;
                }
            }
        }
    }

    /// Where up to `count` (0: all) live entries in `start..=end` are, in order (`rev`: backwards).
    pub fn collect(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        count: usize,
    ) -> Vec<(usize, Raw)> {
        let mut found = Vec::new();
        self.for_each_at(start, end, rev, |i, raw| {
            found.push((i, *raw));
            count == 0 || found.len() < count
        });
        found
    }

    /// Writes the entries [`Stream::collect`] found as an array.
    pub fn write_found(&self, found: &[(usize, Raw)], out: &mut ReplyWriter<'_>) {
        out.array(found.len());
        for at in found {
            self.write_entry(at, out);
        }
    }

    /// Writes one entry [`Stream::collect`] found.
    pub fn write_entry(&self, at: &(usize, Raw), out: &mut ReplyWriter<'_>) {
        self.nodes[at.0].write_entry(&at.1, out);
    }

    /// Writes up to `count` (0: all) live entries in `start..=end` as an array (XRANGE).
    pub fn write_range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        count: usize,
        out: &mut ReplyWriter<'_>,
    ) {
        let found = self.collect(start, end, rev, count);
        self.write_found(&found, out);
    }

    /// Trims (XADD and XTRIM with MAXLEN or MINID): removes whole nodes from the head while the
    /// rule allows; then, unless `approx`, marks entries of the next node deleted until the rule
    /// holds. `limit` (0: none) caps the entries removed; a node that would pass it stops the
    /// trim. Returns the entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        while let Some(node) = self.nodes.front_mut() {
            if let Trim::MaxLen(max) = how {
                if self.len <= max {
                    break;
                }
            }
            let live = u64::from(node.live);
            if limit != 0 && removed + live > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => self.len - live >= max,
                Trim::MinId(min) => node.last < min,
            };
            if whole {
                self.nodes.pop_front();
                self.len -= live;
                removed += live;
                continue;
            }
            if approx {
                break;
            }
            let heads: Vec<Raw> = node.raw_iter().collect();
            for raw in heads {
                let stop = match how {
                    Trim::MaxLen(max) => self.len <= max,
                    Trim::MinId(min) => raw.id >= min,
                };
                if stop {
                    break;
                }
                if node.mark_deleted(raw.head_at) {
                    self.len -= 1;
                    removed += 1;
                }
            }
            if node.live == 0 {
                self.nodes.pop_front();
            }
            break;
        }
        if removed > 0 {
            self.first_id = self.first_entry_id().unwrap_or(StreamId::MIN);
        }
        removed
    }

    /// Whether a tombstone (an XDEL'd ID) lies in `start..=end` of the live range, which makes
    /// counting entries by subtraction wrong (Redis's `streamRangeHasTombstones`).
    pub fn has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.len == 0 || self.max_deleted.is_zero() || self.first_id > self.max_deleted {
            return false;
        }
        start <= self.max_deleted && self.max_deleted <= end
    }

    /// The logical position (entries added up to and including it) of `id`, when it can be
    /// derived without a walk; `None` when tombstones make it unknown (Redis's
    /// `streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_read_counter(&self, id: StreamId) -> Option<u64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.len == 0 && id <= self.last_id {
            return Some(self.entries_added);
        }
        if id == self.last_id {
            return Some(self.entries_added);
        }
        if id > self.last_id {
            return None;
        }
        if self.max_deleted.is_zero() || self.max_deleted < self.first_id {
            if id < self.first_id {
                return Some(self.entries_added.saturating_sub(self.len));
            }
            if id == self.first_id {
                return Some(self.entries_added.saturating_sub(self.len) + 1);
            }
        }
        None
    }

    /// The lag of `g`: entries not yet delivered to it, `None` when it cannot be known (XINFO).
    /// Negative when XGROUP CREATE or SETID claimed more entries read than were added, as Redis
    /// reports it.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        let diff = |read: u64| (i128::from(self.entries_added) - i128::from(read)) as i64;
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = g.entries_read {
            if !self.has_tombstones(g.last_id, StreamId::MAX) {
                return Some(diff(read));
            }
        }
        self.estimate_read_counter(g.last_id).map(diff)
    }

    /// A canonical serialization for DEBUG DIGEST.
    pub fn canonical(&self, out: &mut Vec<u8>) {
        use super::put_bytes;
        let mut buf = [0u8; ID_TEXT_MAX];
        put_bytes(out, self.last_id.format(&mut buf));
        self.for_each(StreamId::MIN, StreamId::MAX, false, |node, raw| {
            put_bytes(out, raw.id.format(&mut buf));
            for (f, v) in node.pairs(raw) {
                let mut field = Vec::new();
                f.append_to(&mut field);
                v.append_to(&mut field);
                put_bytes(out, &field);
            }
            true
        });
        for (name, g) in &self.groups {
            put_bytes(out, name);
            put_bytes(out, g.last_id.format(&mut buf));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: NodeLimits = NodeLimits {
        bytes_max: 4096,
        entries_max: 3,
    };

    fn filled(n: u64) -> Stream {
        let mut s = Stream::new();
        for i in 1..=n {
            s.append(StreamId::new(i, 0), &[b"f", b"v"], LIMITS);
        }
        s
    }

    fn ids(s: &Stream, rev: bool) -> Vec<u64> {
        let mut v = Vec::new();
        s.for_each(StreamId::MIN, StreamId::MAX, rev, |_, r| {
            v.push(r.id.ms);
            true
        });
        v
    }

    #[test]
    fn nodes_split_at_the_entry_limit_and_ranges_cross_them() {
        let s = filled(10);
        assert_eq!(s.node_count(), 4);
        assert_eq!(ids(&s, false), (1..=10).collect::<Vec<_>>());
        assert_eq!(ids(&s, true), (1..=10).rev().collect::<Vec<_>>());
        let mut v = Vec::new();
        s.for_each(StreamId::new(3, 1), StreamId::new(8, 0), true, |_, r| {
            v.push(r.id.ms);
            true
        });
        assert_eq!(v, [8, 7, 6, 5, 4]);
        assert!(s.contains(StreamId::new(7, 0)));
        assert!(!s.contains(StreamId::new(7, 1)));
    }

    #[test]
    fn delete_keeps_counters_and_drops_empty_nodes() {
        let mut s = filled(6);
        assert!(s.delete(StreamId::new(1, 0)));
        assert!(!s.delete(StreamId::new(1, 0)));
        assert_eq!(s.first_id, StreamId::new(2, 0));
        s.delete(StreamId::new(2, 0));
        s.delete(StreamId::new(3, 0));
        assert_eq!(s.node_count(), 1);
        assert_eq!(s.max_deleted, StreamId::new(3, 0));
        assert_eq!((s.len(), s.entries_added), (3, 6));
        assert_eq!(ids(&s, true), [6, 5, 4]);
    }

    #[test]
    fn trimming_approx_removes_whole_nodes_only() {
        let mut s = filled(10);
        assert_eq!(s.trim(Trim::MaxLen(5), true, 0), 3);
        assert_eq!(s.len(), 7);
        assert_eq!(s.trim(Trim::MaxLen(5), false, 0), 2);
        assert_eq!(ids(&s, false), [6, 7, 8, 9, 10]);
        assert_eq!(s.first_id, StreamId::new(6, 0));
        assert_eq!(s.trim(Trim::MinId(StreamId::new(9, 0)), false, 0), 3);
        assert_eq!(ids(&s, false), [9, 10]);
        let mut s = filled(10);
        assert_eq!(
            s.trim(Trim::MaxLen(0), true, 4),
            3,
            "the limit stops at a node"
        );
    }
}
