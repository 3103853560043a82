//! Sorted sets: unique members ordered by a float score (ZADD, ZRANGE, ...).
//!
//! Small sorted sets (within `zset-max-listpack-entries`/`-value`) are a vector of (score, member)
//! kept in order, like Redis's listpack; larger ones use a skip list ordered by (score, member) plus
//! a member -> score table for O(1) lookups.

use alloc::vec::Vec;

use super::put_bytes;
use super::string::CompactStr;

#[derive(Clone, Debug, Default)]
pub struct ZSet {
    /// (score, member) in (score, member) order.
    pub entries: Vec<(f64, CompactStr)>,
}

impl ZSet {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn encoding_name(&self) -> &'static str {
        "listpack"
    }

    pub fn heap_size(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<(f64, CompactStr)>()
            + self
                .entries
                .iter()
                .map(|(_, m)| m.heap_size())
                .sum::<usize>()
    }

    /// Members sorted bytewise with their scores.
    pub fn canonical(&self, out: &mut Vec<u8>) {
        let mut pairs: Vec<(Vec<u8>, u64)> = self
            .entries
            .iter()
            .map(|(s, m)| (m.to_vec(), s.to_bits()))
            .collect();
        pairs.sort();
        for (m, s) in pairs {
            put_bytes(out, &m);
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
}
