//! Sets: unordered collections of unique byte strings (SADD, SISMEMBER, ...).
//!
//! Sets of integers within `set-max-intset-entries` are a sorted vector of i64 (Redis's intset);
//! other sets use Ember's hash table, which also gives SSCAN its cursor guarantee.

use alloc::vec::Vec;

use super::put_bytes;
use crate::table::Table;

#[derive(Debug)]
pub enum Set {
    /// Sorted, unique integers.
    Ints(Vec<i64>),
    /// Members (the table's values are unused).
    Table(Table<()>),
}

impl Clone for Set {
    fn clone(&self) -> Self {
        match self {
            Set::Ints(v) => Set::Ints(v.clone()),
            Set::Table(t) => {
                let mut copy = Table::new(t.hash(b"ember-set-seed"));
                for e in t.iter() {
                    copy.insert_new(e.key_bytes(), (), 0, 0);
                }
                Set::Table(copy)
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
            Set::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Set::Ints(_) => "intset",
            Set::Table(_) => "hashtable",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Set::Ints(v) => v.capacity() * 8,
            Set::Table(t) => {
                t.bucket_bytes()
                    + t.iter()
                        .map(|e| core::mem::size_of_val(e) + e.key.heap_size())
                        .sum::<usize>()
            }
        }
    }

    /// Members sorted bytewise.
    pub fn canonical(&self, out: &mut Vec<u8>) {
        let mut members: Vec<Vec<u8>> = match self {
            Set::Ints(v) => v
                .iter()
                .map(|n| alloc::format!("{n}").into_bytes())
                .collect(),
            Set::Table(t) => t.iter().map(|e| e.key_bytes().to_vec()).collect(),
        };
        members.sort();
        for m in members {
            put_bytes(out, &m);
        }
    }
}
