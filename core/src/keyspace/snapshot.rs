//! Point-in-time snapshots without fork: the RDB image of the keyspace as it was when
//! [`Keyspace::start_snapshot`] was called, written a slice at a time by
//! [`Keyspace::snapshot_step`] while commands keep changing the data.
//!
//! The walk visits each database's bucket slots in index order, with incremental rehashing paused
//! so that no key that existed at the start changes slot. A key in a slot the walk has not
//! reached yet is written *before* it changes: every path that hands out or changes an entry
//! ([`Db::get_entry`], `set`, `remove`, ...) calls [`Db::before_change`], which serializes the key
//! into the database's pending buffer (or, for a key that does not exist yet, records that the walk
//! must not write it) and remembers it, so that the walk skips it later. FLUSHDB and SWAPDB during
//! a snapshot first serialize the rest of the databases they touch. The memory cost is the keys
//! written early (drained to the file at every step) and the set of their names, freed database
//! by database as the walk completes them: no copy of the dataset.

use alloc::boxed::Box;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;

use super::{is_expired, Db, Keyspace};
use crate::rdb::commands::{self, CommandWriter};
use crate::rdb::save::{Encoder, Options};
use crate::rdb::Sink;
use crate::table::NO_EXPIRE;
use crate::types::Value;

/// What a snapshot's file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotFormat {
    /// An RDB file (after the header the caller wrote).
    Rdb { compression: bool },
    /// Commands in RESP (an AOF base without RDB preamble).
    Commands,
}

/// Where a snapshot's walk writes: an RDB encoder or a command writer.
pub trait SnapshotSink {
    fn select(&mut self, db: usize);
    fn key(&mut self, key: &[u8], value: &Value, expire_at_ms: Option<u64>);
    fn raw(&mut self, bytes: &[u8]);
}

impl<S: Sink> SnapshotSink for Encoder<S> {
    fn select(&mut self, db: usize) {
        self.select_only(db);
    }
    fn key(&mut self, key: &[u8], value: &Value, expire_at_ms: Option<u64>) {
        Encoder::key(self, key, value, expire_at_ms);
    }
    fn raw(&mut self, bytes: &[u8]) {
        self.raw_bytes(bytes);
    }
}

impl<S: Sink> SnapshotSink for CommandWriter<S> {
    fn select(&mut self, db: usize) {
        CommandWriter::select(self, db);
    }
    fn key(&mut self, key: &[u8], value: &Value, expire_at_ms: Option<u64>) {
        CommandWriter::key(self, key, value, expire_at_ms);
    }
    fn raw(&mut self, bytes: &[u8]) {
        CommandWriter::raw(self, bytes);
    }
}

/// Appends one key's record in `format` to `out` (keys written ahead of the walk).
fn write_record(format: SnapshotFormat, out: &mut Vec<u8>, key: &[u8], value: &Value, at: u64) {
    let at = (at != NO_EXPIRE).then_some(at);
    match format {
        SnapshotFormat::Rdb { compression } => {
            let mut enc = Encoder::new(
                core::mem::take(out),
                Options {
                    compression,
                    checksum: false,
                },
            );
            enc.key(key, value, at);
            *out = enc.into_sink();
        }
        SnapshotFormat::Commands => {
            let scratch = bumpalo::Bump::new();
            commands::write_key(out, key, value, at, &scratch);
        }
    }
}

/// A database's part of a running snapshot.
pub(super) struct DbSnap {
    /// The database index the records belong to (SWAPDB moves a `Db` to another index).
    origin: usize,
    /// Next bucket slot to walk; slots before it were written.
    cursor: usize,
    /// Keys written ahead of the walk, or created after the snapshot started: the walk skips them.
    saved: BTreeSet<Box<[u8]>>,
    /// Records (expire, type, key, value) written ahead of the walk, not yet passed to the file.
    pending: Vec<u8>,
    /// The snapshot's time: keys expired by then are left out.
    now_ms: u64,
    format: SnapshotFormat,
}

/// Cursor value of a database whose remaining keys were all serialized.
const DONE: usize = usize::MAX;

/// The running snapshot's walk over the databases.
pub(super) struct Driver {
    /// The database being walked.
    db: usize,
    /// The database of the last SELECTDB written.
    selected: Option<usize>,
}

impl Db {
    /// Writes `key` into the snapshot ahead of the walk if the walk has not reached it; called
    /// before anything changes or hands out the entry.
    #[inline]
    pub(super) fn before_change(&mut self, key: &[u8]) {
        if self.snap.is_some() {
            self.snapshot_key(key);
        }
    }

    #[cold]
    fn snapshot_key(&mut self, key: &[u8]) {
        let Db { table, snap, .. } = self;
        let Some(s) = snap.as_deref_mut() else {
            return;
        };
        if s.cursor == DONE || s.saved.contains(key) {
            return;
        }
        let Some(e) = table.get(key) else {
            // Created after the start: wherever it lands (an insert may start a resize that puts
            // it past the walk), the walk must not write it.
            s.saved.insert(key.into());
            return;
        };
        if table.slot_of(key) < s.cursor {
            return;
        }
        if !is_expired(e, s.now_ms) {
            write_record(s.format, &mut s.pending, key, &e.value(), e.expire_at_ms());
        }
        s.saved.insert(key.into());
    }

    /// Serializes every key the walk has not reached into the pending buffer (before FLUSHDB or
    /// SWAPDB changes the whole database).
    pub(super) fn snapshot_rest(&mut self) {
        let Db { table, snap, .. } = self;
        let Some(s) = snap.as_deref_mut() else {
            return;
        };
        if s.cursor == DONE {
            return;
        }
        for slot in s.cursor..table.slot_count() {
            for e in table.chain_at(slot) {
                if !s.saved.contains(e.key_bytes()) && !is_expired(e, s.now_ms) {
                    write_record(
                        s.format,
                        &mut s.pending,
                        e.key_bytes(),
                        &e.value(),
                        e.expire_at_ms(),
                    );
                }
            }
        }
        s.cursor = DONE;
        s.saved = BTreeSet::new();
    }
}

impl Keyspace {
    /// Whether a snapshot is running.
    pub fn snapshot_running(&self) -> bool {
        self.snapshot.is_some()
    }

    /// Starts a snapshot of the keyspace as it is now (`now_ms`: keys expired by then are left
    /// out). The host then calls [`Keyspace::snapshot_step`] until it returns true.
    pub fn start_snapshot(&mut self, now_ms: u64, format: SnapshotFormat) {
        if self.snapshot.is_some() {
            return;
        }
        for (i, db) in self.dbs.iter_mut().enumerate() {
            db.table.pause_rehash();
            db.snap = Some(Box::new(DbSnap {
                origin: i,
                cursor: 0,
                saved: BTreeSet::new(),
                pending: Vec::new(),
                now_ms,
                format,
            }));
        }
        self.snapshot = Some(Driver {
            db: 0,
            selected: None,
        });
    }

    /// Writes up to `slots` bucket slots of the walk, and everything written ahead of it, to `enc`
    /// (after its header). Returns true when the snapshot is complete (the caller then finishes the
    /// encoder); true at once when none is running.
    pub fn snapshot_step<W: SnapshotSink>(&mut self, enc: &mut W, slots: usize) -> bool {
        let Some(drv) = self.snapshot.as_mut() else {
            return true;
        };
        for db in self.dbs.iter_mut() {
            if let Some(s) = db.snap.as_deref_mut() {
                if !s.pending.is_empty() {
                    if drv.selected != Some(s.origin) {
                        enc.select(s.origin);
                        drv.selected = Some(s.origin);
                    }
                    enc.raw(&s.pending);
                    s.pending.clear();
                }
            }
        }
        let mut left = slots;
        while left > 0 && drv.db < self.dbs.len() {
            let db = &mut self.dbs[drv.db];
            let Db { table, snap, .. } = db;
            let Some(s) = snap.as_deref_mut() else {
                drv.db += 1;
                continue;
            };
            if s.cursor == DONE || s.cursor >= table.slot_count() {
                // Pending records of this database were drained above.
                if s.pending.is_empty() {
                    *snap = None;
                    table.resume_rehash();
                    drv.db += 1;
                } else {
                    break;
                }
                continue;
            }
            for e in table.chain_at(s.cursor) {
                if s.saved.contains(e.key_bytes()) || is_expired(e, s.now_ms) {
                    continue;
                }
                if drv.selected != Some(s.origin) {
                    enc.select(s.origin);
                    drv.selected = Some(s.origin);
                }
                let at = e.expire_at_ms();
                enc.key(e.key_bytes(), &e.value(), (at != NO_EXPIRE).then_some(at));
            }
            s.cursor += 1;
            left -= 1;
        }
        if drv.db >= self.dbs.len() {
            // SWAPDB may have moved a finished database behind the walk: release them all.
            for db in self.dbs.iter_mut() {
                if let Some(s) = db.snap.take() {
                    debug_assert!(s.pending.is_empty());
                    db.table.resume_rehash();
                }
            }
            self.snapshot = None;
            return true;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::SnapshotFormat;
    use alloc::format;
    use alloc::vec::Vec;

    use crate::cmd::testing::{Host, NOW_MS};
    use crate::rdb::{load, save};

    fn run(h: &mut Host, line: &str) {
        let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        h.exec(&args).unwrap_or_else(|e| panic!("{line}: {e}"));
    }

    /// (db, key, canonical value, expire) of every key, sorted.
    fn image(ks: &crate::keyspace::Keyspace) -> Vec<(usize, Vec<u8>, Vec<u8>, u64)> {
        let mut out = Vec::new();
        for (i, db) in ks.dbs().enumerate() {
            for e in db.table().iter() {
                let mut c = Vec::new();
                e.value().canonical(&mut c);
                out.push((i, e.key_bytes().to_vec(), c, e.expire_at_ms()));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn the_file_is_the_dataset_of_the_moment_the_snapshot_started() {
        let mut h = Host::new();
        for i in 0..3000 {
            run(&mut h, &format!("SET k{i} v{i}"));
            run(&mut h, &format!("RPUSH l{} x{i}", i % 50));
        }
        run(&mut h, "HSET h a 1 b 2");
        h.ks.db_mut(1).set(
            b"other",
            crate::types::Value::Str(crate::types::string::CompactStr::from_value(b"1")),
            None,
            0,
        );
        h.ks.db_mut(2).set(
            b"third",
            crate::types::Value::Str(crate::types::string::CompactStr::from_value(b"3")),
            None,
            0,
        );
        let before = image(&h.ks);
        h.ks.start_snapshot(NOW_MS, SnapshotFormat::Rdb { compression: true });
        let mut enc = save::Encoder::new(Vec::new(), save::Options::default());
        enc.header(&[]);
        let mut step = 0;
        while !h.ks.snapshot_step(&mut enc, 7) {
            // Change data the walk has and has not reached yet: overwrite, delete, create,
            // grow the table, flush and swap whole databases.
            run(&mut h, &format!("SET k{} changed", (step * 37) % 3000));
            run(&mut h, &format!("DEL k{}", (step * 53 + 11) % 3000));
            run(&mut h, &format!("SET new{step} x"));
            run(&mut h, &format!("RPUSH l{} more", step % 50));
            run(&mut h, &format!("HSET h a {step}"));
            if step == 40 {
                h.ks.db_mut(1).clear();
            }
            if step == 80 {
                h.ks.swap_dbs(0, 2);
                run(&mut h, "SET third changed-after-swap");
                h.ks.swap_dbs(0, 2);
            }
            step += 1;
        }
        // The SWAPDB at step 80 serialized the rest of databases 0 and 2 at once.
        assert_eq!(step, 81, "the walk took several steps");
        let file = enc.finish();
        let mut back = crate::keyspace::Keyspace::new(16, 3);
        load::load_file(&file, &mut back, &h.config, NOW_MS).unwrap();
        assert_eq!(image(&back), before);
        // The live keyspace kept every change, and rehashing resumed.
        assert!(!h.ks.snapshot_running());
        assert!(h.ks.db(0).table().get(b"new5").is_some());
    }

    #[test]
    fn growth_and_swapdb_during_a_snapshot_keep_it_exact_and_release_the_tables() {
        let mut h = Host::new();
        for i in 0..1000 {
            run(&mut h, &format!("SET k{i} v{i}"));
        }
        h.ks.db_mut(1).set(
            b"one",
            crate::types::Value::Str(crate::types::string::CompactStr::from_value(b"1")),
            None,
            0,
        );
        let before = image(&h.ks);
        h.ks.start_snapshot(NOW_MS, SnapshotFormat::Rdb { compression: false });
        let mut enc = save::Encoder::new(Vec::new(), save::Options::default());
        enc.header(&[]);
        // Part of database 0 walked, then enough new keys that the table starts growing.
        assert!(!h.ks.snapshot_step(&mut enc, 300));
        for i in 0..5000 {
            run(&mut h, &format!("SET fresh{i} x"));
        }
        // Finish database 0, then swap it with 1 (not walked yet) and go on.
        while h.ks.snapshot.as_ref().is_some_and(|d| d.db == 0) {
            h.ks.snapshot_step(&mut enc, 50);
        }
        h.ks.swap_dbs(0, 1);
        h.ks.swap_dbs(0, 1);
        while !h.ks.snapshot_step(&mut enc, 50) {}
        let file = enc.finish();
        let mut back = crate::keyspace::Keyspace::new(16, 3);
        load::load_file(&file, &mut back, &h.config, NOW_MS).unwrap();
        assert_eq!(
            image(&back),
            before,
            "keys created during the snapshot stay out of it"
        );
        for db in h.ks.dbs() {
            assert!(!db.table().rehash_paused(), "every table rehashes again");
        }
    }
}
