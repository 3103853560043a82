//! Consumer groups: a named cursor into a stream (`last_id`), the group's pending entries list (PEL:
//! entries delivered to a consumer and not yet acknowledged, with their delivery time and count),
//! and its consumers, each with its own index of the pending entries it owns.
//!
//! Every pending entry is in the group's PEL and in exactly one consumer's, and names that
//! consumer; [`Group`]'s methods keep the two in step.

use alloc::boxed::Box;
use alloc::collections::{BTreeMap, BTreeSet};

use super::StreamId;

#[derive(Clone, Debug)]
pub struct Group {
    /// The last ID delivered to the group with `>`.
    pub last_id: StreamId,
    /// Entries the group has read (its logical position), `None` when unknown.
    pub entries_read: Option<u64>,
    /// Pending entries, by ID.
    pub pel: BTreeMap<StreamId, Pending>,
    /// Consumers by name, in name order.
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

/// A delivered, unacknowledged entry.
#[derive(Clone, Debug)]
pub struct Pending {
    pub owner: Box<[u8]>,
    /// When it was last delivered (unix ms).
    pub delivery_ms: u64,
    pub deliveries: u64,
}

#[derive(Clone, Debug, Default)]
pub struct Consumer {
    /// When the consumer last read or claimed (unix ms).
    pub seen_ms: u64,
    /// IDs of the pending entries it owns.
    pub pel: BTreeSet<StreamId>,
}

/// Heap bytes of one pending entry (map node share, owner name excluded).
const PENDING_BYTES: usize = 64;

impl Group {
    pub fn new(last_id: StreamId, entries_read: Option<u64>) -> Self {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Heap bytes held (an estimate of the maps' nodes).
    pub fn heap_size(&self) -> usize {
        let pel: usize = self
            .pel
            .values()
            .map(|p| PENDING_BYTES + p.owner.len() + 24)
            .sum();
        let consumers: usize = self
            .consumers
            .keys()
            .map(|name| name.len() + core::mem::size_of::<Consumer>() + 32)
            .sum();
        pel + consumers
    }

    /// The consumer `name`, created if missing; also says whether it was created.
    pub fn consumer(&mut self, name: &[u8], now_ms: u64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        if created {
            let c = Consumer {
                seen_ms: now_ms,
                pel: BTreeSet::new(),
            };
            self.consumers.insert(name.into(), c);
        }
        match self.consumers.get_mut(name) {
            Some(c) => (c, created),
            None => unreachable!("the consumer was just found or inserted"),
        }
    }

    /// Records that `id` was delivered to `owner` (XREADGROUP `>`): a new pending entry, or an
    /// existing one (after XGROUP SETID moved the cursor back) handed over and counted afresh.
    pub fn deliver(&mut self, id: StreamId, owner: &[u8], now_ms: u64) {
        if let Some(p) = self.pel.get_mut(&id) {
            if let Some(old) = self.consumers.get_mut(&p.owner) {
                old.pel.remove(&id);
            }
            p.owner = owner.into();
            p.delivery_ms = now_ms;
            p.deliveries = 1;
        } else {
            self.pel.insert(
                id,
                Pending {
                    owner: owner.into(),
                    delivery_ms: now_ms,
                    deliveries: 1,
                },
            );
        }
        if let Some(c) = self.consumers.get_mut(owner) {
            c.pel.insert(id);
        }
    }

    /// Acknowledges `id`; false if it was not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        let Some(p) = self.pel.remove(&id) else {
            return false;
        };
        if let Some(c) = self.consumers.get_mut(&p.owner) {
            c.pel.remove(&id);
        }
        true
    }

    /// Moves pending entry `id` to `owner` (XCLAIM, XAUTOCLAIM), creating it if missing (FORCE).
    /// Returns the pending entry for the caller to set its time and count.
    pub fn transfer(&mut self, id: StreamId, owner: &[u8]) -> &mut Pending {
        if let Some(p) = self.pel.get(&id) {
            if *p.owner != *owner {
                if let Some(old) = self.consumers.get_mut(&p.owner) {
                    old.pel.remove(&id);
                }
            }
        }
        if let Some(c) = self.consumers.get_mut(owner) {
            c.pel.insert(id);
        }
        let p = self.pel.entry(id).or_insert(Pending {
            owner: owner.into(),
            delivery_ms: 0,
            deliveries: 0,
        });
        if *p.owner != *owner {
            p.owner = owner.into();
        }
        p
    }

    /// Removes consumer `name` and its pending entries; the number it had pending, or `None`
    /// if there was no such consumer.
    pub fn remove_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in &c.pel {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_entries_follow_their_owner() {
        let mut g = Group::new(StreamId::MIN, None);
        let id = StreamId::new(1, 0);
        g.consumer(b"alice", 5);
        g.consumer(b"bob", 5);
        g.deliver(id, b"alice", 10);
        assert!(g.consumers[&b"alice"[..]].pel.contains(&id));
        let p = g.transfer(id, b"bob");
        p.deliveries += 1;
        assert!(g.consumers[&b"alice"[..]].pel.is_empty());
        assert!(g.consumers[&b"bob"[..]].pel.contains(&id));
        g.deliver(id, b"alice", 20);
        assert_eq!(g.pel[&id].deliveries, 1);
        assert!(g.consumers[&b"bob"[..]].pel.is_empty());
        assert_eq!(g.remove_consumer(b"alice"), Some(1));
        assert!(g.pel.is_empty());
        assert!(!g.ack(id));
        assert_eq!(g.remove_consumer(b"alice"), None);
    }
}
