//! What commands did to keys that the host must act on: modified keys (WATCH, client-side caching) and
//! keyspace events (`notify-keyspace-events`).
//!
//! Commands record into the journal as they run; the host drains it after each command. Recording is
//! free when nobody listens: a modified key is kept only while some client watches a key or tracks
//! keys, and an event only when its class is enabled.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::ops::Range;

/// Keyspace event classes (the letters of `notify-keyspace-events`).
pub mod class {
    /// `K`: publish on `__keyspace@<db>__:<key>`.
    pub const KEYSPACE: u32 = 1 << 0;
    /// `E`: publish on `__keyevent@<db>__:<event>`.
    pub const KEYEVENT: u32 = 1 << 1;
    /// `g`: generic commands (DEL, EXPIRE, RENAME, ...).
    pub const GENERIC: u32 = 1 << 2;
    /// `$`: string commands.
    pub const STRING: u32 = 1 << 3;
    /// `l`: list commands.
    pub const LIST: u32 = 1 << 4;
    /// `s`: set commands.
    pub const SET: u32 = 1 << 5;
    /// `h`: hash commands.
    pub const HASH: u32 = 1 << 6;
    /// `z`: sorted set commands.
    pub const ZSET: u32 = 1 << 7;
    /// `x`: expired events.
    pub const EXPIRED: u32 = 1 << 8;
    /// `e`: evicted events.
    pub const EVICTED: u32 = 1 << 9;
    /// `t`: stream commands.
    pub const STREAM: u32 = 1 << 10;
    /// `m`: key miss events (excluded from `A`).
    pub const KEY_MISS: u32 = 1 << 11;
    /// `d`: module key type events.
    pub const MODULE: u32 = 1 << 12;
    /// `n`: new key events (excluded from `A`).
    pub const NEW: u32 = 1 << 13;
    /// `A`: alias for `g$lshzxetd`.
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    const LETTERS: &[(u8, u32)] = &[
        (b'K', KEYSPACE),
        (b'E', KEYEVENT),
        (b'g', GENERIC),
        (b'$', STRING),
        (b'l', LIST),
        (b's', SET),
        (b'h', HASH),
        (b'z', ZSET),
        (b'x', EXPIRED),
        (b'e', EVICTED),
        (b't', STREAM),
        (b'd', MODULE),
        (b'm', KEY_MISS),
        (b'n', NEW),
    ];

    /// Parses a `notify-keyspace-events` string; `None` for an unknown letter.
    pub fn parse(flags: &[u8]) -> Option<u32> {
        let mut mask = 0;
        for &c in flags {
            mask |= match c {
                b'A' => ALL,
                c => LETTERS.iter().find(|(l, _)| *l == c)?.1,
            };
        }
        Some(mask)
    }

    /// The canonical string for a mask (what CONFIG GET returns), in Redis's order: `A` or the class
    /// letters, then `K`, `E`, `m`, `n`.
    pub fn format(mask: u32, out: &mut alloc::string::String) {
        if mask & ALL == ALL {
            out.push('A');
        } else {
            for &(l, bit) in LETTERS.iter().filter(|(_, b)| ALL & b != 0) {
                if mask & bit != 0 {
                    out.push(l as char);
                }
            }
        }
        for (l, bit) in [
            ('K', KEYSPACE),
            ('E', KEYEVENT),
            ('m', KEY_MISS),
            ('n', NEW),
        ] {
            if mask & bit != 0 {
                out.push(l);
            }
        }
    }
}

/// The database index of a [`Record::Flushed`] that emptied every database (FLUSHALL).
pub const ALL_DBS: usize = u32::MAX as usize;

/// One journal record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Record {
    /// A key was written (or deleted, or expired): invalidates WATCH and tracked keys.
    Modified,
    /// A keyspace event of a class, with its name (`set`, `expire`, `del`, ...).
    Event(u32, &'static str),
    /// The whole database was emptied (FLUSHDB, FLUSHALL): every tracked key in it is invalid.
    Flushed,
    /// A watched key's database was flushed or swapped; `existed` tells whether the key was in the
    /// old database (live or not yet deleted), which WATCH needs to judge stale keys.
    Replaced { existed: bool },
    /// Clients blocked on the key should look again, though its data did not change (XGROUP
    /// DESTROY: Redis's `signalKeyAsReady` without `signalModifiedKey`).
    Ready,
    /// The server deleted the key on its own (eviction): the AOF and replicas get a DEL.
    Deleted,
}

/// Bytes of capacity an emptied buffer keeps for the next command; past it the buffer is freed, so
/// a burst (an eviction of many long keys) does not stay allocated, counted against `maxmemory`.
pub const RETAIN_BYTES: usize = 16 * 1024;

/// Frees an empty buffer's capacity when it is past [`RETAIN_BYTES`].
pub fn release_excess<T>(v: &mut Vec<T>) {
    if v.is_empty() && v.capacity().saturating_mul(core::mem::size_of::<T>()) > RETAIN_BYTES {
        *v = Vec::new();
    }
}

/// The journal of one command (or cron step).
#[derive(Default)]
pub struct Journal {
    /// Keep modified-key records (somebody watches or tracks keys).
    pub track_all_modified: bool,
    /// Keep records of keys the server deletes on its own (an AOF or replicas log them).
    pub propagating: bool,
    /// Event classes to record (from `notify-keyspace-events`); records need K or E plus the class.
    pub event_mask: u32,
    /// Watched keys and how many clients watch each, so flushes can tell which watched keys they touch.
    pub watched: BTreeMap<(u32, Vec<u8>), u32>,
    keys: Vec<u8>,
    records: Vec<(u32, Record, Range<usize>)>,
}

impl Journal {
    fn push(&mut self, db: usize, r: Record, key: &[u8]) {
        let start = self.keys.len();
        self.keys.extend_from_slice(key);
        self.records.push((db as u32, r, start..self.keys.len()));
    }

    /// Whether modified keys are being recorded at all.
    #[inline]
    pub fn wants_modified(&self) -> bool {
        self.track_all_modified || !self.watched.is_empty()
    }

    /// Records that `key` in `db` was written.
    #[inline]
    pub fn modified(&mut self, db: usize, key: &[u8]) {
        if self.wants_modified() {
            self.push(db, Record::Modified, key);
        }
    }

    /// Records that the server deleted `key` on its own (eviction), for the AOF and replicas.
    #[inline]
    pub fn deleted(&mut self, db: usize, key: &[u8]) {
        if self.propagating {
            self.push(db, Record::Deleted, key);
        }
    }

    /// Records that clients blocked on `key` should look again (no WATCH or tracking effect).
    #[inline]
    pub fn ready(&mut self, db: usize, key: &[u8]) {
        if self.track_all_modified {
            self.push(db, Record::Ready, key);
        }
    }

    /// Records a keyspace event when its class is enabled.
    #[inline]
    pub fn event(&mut self, class: u32, name: &'static str, db: usize, key: &[u8]) {
        let m = self.event_mask;
        if m & (class::KEYSPACE | class::KEYEVENT) != 0 && m & class != 0 {
            self.push(db, Record::Event(class, name), key);
        }
    }

    /// Records that a watched key's database is being flushed or swapped.
    pub fn replaced(&mut self, db: usize, key: &[u8], existed: bool) {
        self.push(db, Record::Replaced { existed }, key);
    }

    /// Records that database `db` (or every database: [`ALL_DBS`]) was emptied.
    pub fn flushed(&mut self, db: usize) {
        if self.track_all_modified {
            self.push(db, Record::Flushed, b"");
        }
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Hands every record to `f` in order and empties the journal.
    pub fn drain(&mut self, mut f: impl FnMut(usize, Record, &[u8])) {
        for (db, r, range) in self.records.drain(..) {
            f(db as usize, r, &self.keys[range]);
        }
        self.keys.clear();
        release_excess(&mut self.keys);
        release_excess(&mut self.records);
    }

    /// Watched keys of `db`, for flushes and SWAPDB.
    pub fn watched_in(&self, db: usize) -> Vec<Vec<u8>> {
        self.watched
            .keys()
            .filter(|(d, _)| *d as usize == db)
            .map(|(_, k)| k.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;

    #[test]
    fn flags_round_trip() {
        assert_eq!(
            class::parse(b"KEA"),
            Some(class::KEYSPACE | class::KEYEVENT | class::ALL)
        );
        assert_eq!(class::parse(b"Kq"), None);
        let mut s = String::new();
        class::format(class::parse(b"AKE").unwrap_or(0), &mut s);
        assert_eq!(s, "AKE");
        let mut s = String::new();
        class::format(class::parse(b"gxE").unwrap_or(0), &mut s);
        assert_eq!(s, "gxE");
    }

    #[test]
    fn records_only_what_is_asked() {
        let mut j = Journal::default();
        j.modified(0, b"k");
        j.event(class::STRING, "set", 0, b"k");
        assert!(j.is_empty());
        j.event_mask = class::KEYEVENT | class::STRING;
        j.track_all_modified = true;
        j.modified(0, b"k");
        j.event(class::STRING, "set", 1, b"k2");
        j.event(class::GENERIC, "del", 1, b"k2");
        let mut seen = alloc::vec::Vec::new();
        j.drain(|db, r, k| seen.push((db, r, k.to_vec())));
        assert_eq!(
            seen,
            alloc::vec![
                (0, Record::Modified, b"k".to_vec()),
                (1, Record::Event(class::STRING, "set"), b"k2".to_vec())
            ]
        );
        assert!(j.is_empty());
    }
}
