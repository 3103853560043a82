//! Lists: a double-ended sequence of byte strings (LPUSH/RPUSH, LRANGE, ...).
//!
//! Elements live in a ring buffer of [`CompactStr`] (short elements inline, integers as integers).
//! OBJECT ENCODING reports `listpack` while the list is within `list-max-listpack-size` and
//! `quicklist` beyond, matching Redis's names for the two regimes.

use alloc::collections::VecDeque;
use alloc::vec::Vec;

use super::put_bytes;
use super::string::CompactStr;

/// Elements at most for the `listpack` encoding name (Redis's default `list-max-listpack-size -2`
/// means 8 KiB per node; 128 small elements is the equivalent for Ember's reporting).
pub const LISTPACK_ELEMENTS_MAX: usize = 128;

#[derive(Clone, Debug, Default)]
pub struct List {
    pub items: VecDeque<CompactStr>,
}

impl List {
    pub fn new() -> Self {
        List {
            items: VecDeque::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn encoding_name(&self) -> &'static str {
        if self.items.len() <= LISTPACK_ELEMENTS_MAX {
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
}
