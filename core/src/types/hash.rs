//! Hashes: field -> value maps (HSET, HGET, ...).
//!
//! Small hashes (within `hash-max-listpack-entries`/`-value`) are a vector of pairs in insertion
//! order, like Redis's listpack; larger ones convert to Ember's hash table, which also gives HSCAN its
//! cursor guarantee.

use alloc::vec::Vec;

use super::put_bytes;
use super::string::CompactStr;
use crate::table::Table;

#[derive(Debug)]
pub enum Hash {
    /// Pairs in insertion order.
    Pairs(Vec<(CompactStr, CompactStr)>),
    /// Field -> value.
    Table(Table<CompactStr>),
}

impl Clone for Hash {
    fn clone(&self) -> Self {
        match self {
            Hash::Pairs(p) => Hash::Pairs(p.clone()),
            Hash::Table(t) => {
                let mut copy = Table::new(t.hash(b"ember-hash-seed"));
                for e in t.iter() {
                    copy.insert_new(e.key_bytes(), e.value.clone(), e.expire_at_ms, 0);
                }
                Hash::Table(copy)
            }
        }
    }
}

impl Default for Hash {
    fn default() -> Self {
        Hash::Pairs(Vec::new())
    }
}

impl Hash {
    pub fn len(&self) -> usize {
        match self {
            Hash::Pairs(p) => p.len(),
            Hash::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn encoding_name(&self) -> &'static str {
        match self {
            Hash::Pairs(_) => "listpack",
            Hash::Table(_) => "hashtable",
        }
    }

    pub fn heap_size(&self) -> usize {
        match self {
            Hash::Pairs(p) => {
                p.capacity() * core::mem::size_of::<(CompactStr, CompactStr)>()
                    + p.iter()
                        .map(|(f, v)| f.heap_size() + v.heap_size())
                        .sum::<usize>()
            }
            Hash::Table(t) => {
                t.bucket_bytes()
                    + t.iter()
                        .map(|e| {
                            core::mem::size_of_val(e) + e.key.heap_size() + e.value.heap_size()
                        })
                        .sum::<usize>()
            }
        }
    }

    /// Field/value pairs sorted by field.
    pub fn canonical(&self, out: &mut Vec<u8>) {
        let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = match self {
            Hash::Pairs(p) => p.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
            Hash::Table(t) => t
                .iter()
                .map(|e| (e.key_bytes().to_vec(), e.value.to_vec()))
                .collect(),
        };
        pairs.sort();
        for (f, v) in pairs {
            put_bytes(out, &f);
            put_bytes(out, &v);
        }
    }
}
