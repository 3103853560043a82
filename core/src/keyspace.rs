//! The keyspace: numbered databases of keys, with lazy and active expiry driven by a host clock.
//!
//! Time is always passed in (`now_ms`, unix milliseconds): core never reads a clock. A key whose expire
//! time has passed is deleted when it is next looked up (lazy expiry) or when the host's cron calls
//! [`Keyspace::expire_cycle`] (active expiry), which walks each database's table with a resize-safe cursor
//! and samples keys that carry a TTL, the way Redis's active expire cycle does.

use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use bumpalo::Bump;

mod snapshot;
pub use snapshot::{SnapshotFormat, SnapshotSink};

use crate::journal::{class, Journal};
use crate::lfu::{self, Lfu};
use crate::table::{Entry, Removed, Table, NO_EXPIRE};
use crate::types::hash::NO_FIELD_TTL;
use crate::types::lz::{self, DictId};
use crate::types::Value;

/// Default number of databases (`databases` config).
pub const DEFAULT_DATABASES: usize = 16;

/// Keys with a TTL examined per sampling round of the active expire cycle.
pub const EXPIRE_SAMPLE_KEYS: usize = 20;

/// Buckets visited at most per sampling round, so a database with few TTLs costs little to sample.
pub const EXPIRE_SAMPLE_BUCKETS_MAX: usize = 400;

/// Counters the keyspace keeps for INFO stats.
#[derive(Default, Clone, Copy, Debug)]
pub struct KeyspaceStats {
    pub expired_keys: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
}

/// One numbered database.
pub struct Db {
    table: Table<Value>,
    /// Keys that carry an expire time.
    volatile: usize,
    /// Where the active expire cycle resumes its walk.
    expire_cursor: u64,
    /// Running average TTL of sampled keys (ms), for INFO keyspace `avg_ttl`.
    pub avg_ttl_ms: u64,
    /// Whether expired keys are logged for the host (keyspace events, WATCH, tracking).
    log_expired: bool,
    /// Keys deleted by expiry since the host last drained them, each as a u32 length and the bytes.
    expired_log: Vec<u8>,
    /// Hashes with field TTLs (HEXPIRE), by a time no later than their earliest field expiry
    /// ([`crate::types::hash::FieldTtls::next_at`]), for the active expire cycle: one entry per
    /// such hash, kept in step by every path that stores, removes or re-times one.
    field_ttl_index: BTreeSet<(u64, Vec<u8>)>,
    /// LFU parameters while an LFU policy is selected: entries' `access_s` then holds an LFU
    /// counter instead of the LRU clock (see [`crate::lfu`]).
    lfu: Option<Lfu>,
    /// This database's part of a running snapshot ([`snapshot`]).
    snap: Option<alloc::boxed::Box<snapshot::DbSnap>>,
    /// Where [`Db::lookup_value`] rebuilds a packed value for reading.
    shadow: Value,
    /// Keys whose packed value a write lookup stored whole, to pack again once the command is
    /// done ([`Keyspace::repack`]).
    unpacked: Vec<Vec<u8>>,
    /// An AOF is being replayed: nothing expires (a later command in the log may have kept the
    /// key), as Redis does while loading.
    loading: bool,
}

/// The time a value is indexed under for field expiry: a hash that is (or was, until the cycle
/// notices) holding field TTLs.
fn field_ttl_time(v: &Value) -> Option<u64> {
    match v {
        Value::Hash(h) => Some(h.field_ttls().next_at).filter(|at| *at != NO_FIELD_TTL),
        _ => None,
    }
}

impl Db {
    pub fn new(seed: u64) -> Self {
        Db {
            table: Table::new(seed),
            volatile: 0,
            expire_cursor: 0,
            avg_ttl_ms: 0,
            log_expired: false,
            expired_log: Vec::new(),
            field_ttl_index: BTreeSet::new(),
            lfu: None,
            snap: None,
            shadow: Value::Str(crate::types::string::CompactStr::EMPTY),
            unpacked: Vec::new(),
            loading: false,
        }
    }

    /// Indexes the hash at `key` for field expiry at `at_ms`, dropping its entry at `old_ms`.
    pub fn index_field_ttl(&mut self, key: &[u8], old_ms: u64, at_ms: u64) {
        if old_ms == at_ms {
            return;
        }
        if old_ms != NO_FIELD_TTL {
            self.field_ttl_index.remove(&(old_ms, key.to_vec()));
        }
        if at_ms != NO_FIELD_TTL {
            self.field_ttl_index.insert((at_ms, key.to_vec()));
        }
    }

    /// Whether any hash in this database has field TTLs (or had, until the expire cycle notices).
    #[inline]
    pub fn has_field_ttls(&self) -> bool {
        !self.field_ttl_index.is_empty()
    }

    /// Keeps the field-expiry index in step with a value entering (`Some` new) or leaving (`old`)
    /// the table under `key`.
    fn reindex_value(&mut self, key: &[u8], old: Option<&Value>, new: Option<&Value>) {
        let old = old.and_then(field_ttl_time).unwrap_or(NO_FIELD_TTL);
        let new = new.and_then(field_ttl_time).unwrap_or(NO_FIELD_TTL);
        self.index_field_ttl(key, old, new);
    }

    /// Deletes the fields of the hash at `key` whose TTL passed by `now_ms` (lazy field expiry,
    /// and the active cycle's per-key step), deleting the key when no field is left. Returns how
    /// many fields went and whether the key did.
    pub fn expire_fields_of(&mut self, key: &[u8], now_ms: u64) -> (usize, bool) {
        self.before_change(key);
        let Some(e) = self.table.get_mut(key) else {
            return (0, false);
        };
        let Some(Value::Hash(h)) = e.value_mut() else {
            return (0, false);
        };
        let old = h.field_ttls().next_at;
        if !h.has_due_fields(now_ms) {
            return (0, false);
        }
        let gone = h.expire_fields(now_ms, |_| {});
        if h.is_empty() {
            self.field_ttl_index.remove(&(old, key.to_vec()));
            self.remove(key);
            return (gone, true);
        }
        let next = h.field_ttls().next_at;
        self.index_field_ttl(key, old, next);
        (gone, false)
    }

    fn log_expired_key(&mut self, key: &[u8]) {
        if self.log_expired {
            self.expired_log
                .extend_from_slice(&(key.len() as u32).to_le_bytes());
            self.expired_log.extend_from_slice(key);
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Number of keys with an expire time.
    pub fn volatile_len(&self) -> usize {
        self.volatile
    }

    pub fn table(&self) -> &Table<Value> {
        &self.table
    }

    pub fn table_mut(&mut self) -> &mut Table<Value> {
        &mut self.table
    }

    /// Looks a key up, deleting it first if it has expired. Counts as an access. A packed value
    /// stays packed: read it with [`Entry::value`].
    pub fn get_entry(
        &mut self,
        key: &[u8],
        now_ms: u64,
        stats: &mut KeyspaceStats,
    ) -> Option<&mut Entry<Value>> {
        self.live_entry(key, now_ms, stats, false).0
    }

    /// [`Db::get_entry`], with a packed value stored whole first when `unpack` (its key is then
    /// queued for [`Keyspace::repack`], and the flag says so); also lends the shadow slot that
    /// [`Db::lookup_value`] reads packed values into.
    fn live_entry(
        &mut self,
        key: &[u8],
        now_ms: u64,
        stats: &mut KeyspaceStats,
        unpack: bool,
    ) -> (Option<&mut Entry<Value>>, &mut Value, bool) {
        self.before_change(key);
        // Borrow the fields apart: the live entry borrows the table while expiry updates the rest.
        let Db {
            table,
            volatile,
            log_expired,
            expired_log,
            field_ttl_index,
            shadow,
            unpacked,
            ..
        } = self;
        let loading = self.loading;
        let mut did_unpack = false;
        let is_dead = |e: &Entry<Value>| !loading && is_expired(e, now_ms);
        let found = match table.get_mut_live(key, is_dead, unpack.then_some(&mut did_unpack)) {
            Ok(found) => {
                if did_unpack {
                    unpacked.push(key.to_vec());
                }
                found
            }
            Err(expired) => {
                *volatile -= 1;
                if let Some(at) = field_ttl_time(&expired.value) {
                    field_ttl_index.remove(&(at, key.to_vec()));
                }
                if *log_expired {
                    expired_log.extend_from_slice(&(key.len() as u32).to_le_bytes());
                    expired_log.extend_from_slice(key);
                }
                stats.expired_keys += 1;
                None
            }
        };
        (found, shadow, did_unpack)
    }

    /// Looks a key up for a command (expiring it lazily), recording an access when `touch`.
    /// With `write`, the value to change in place (a packed one is stored whole first, and the
    /// flag returned says so); without, a packed value is rebuilt into a shadow slot so the entry
    /// keeps its packed form, and changes made there are not kept.
    fn lookup_value(
        &mut self,
        key: &[u8],
        now_ms: u64,
        stats: &mut KeyspaceStats,
        touch: bool,
        write: bool,
    ) -> (Option<&mut Value>, bool) {
        let lfu = self.lfu;
        let (e, shadow, unpacked) = self.live_entry(key, now_ms, stats, write);
        let Some(e) = e else {
            return (None, unpacked);
        };
        if touch {
            touch_entry(e, now_ms, lfu);
        }
        let v = if e.is_packed() {
            *shadow = e.value().into_owned();
            Some(shadow)
        } else {
            e.value_mut()
        };
        (v, unpacked)
    }

    /// A value for reading (a packed one rebuilt into the shadow slot; see
    /// [`Db::lookup_value`]).
    pub fn get(&mut self, key: &[u8], now_ms: u64, stats: &mut KeyspaceStats) -> Option<&Value> {
        self.lookup_value(key, now_ms, stats, false, false)
            .0
            .map(|v| &*v)
    }

    /// Whether `key` exists, looked up as a write does (lazy expiry, an access recorded),
    /// without reading its value.
    pub fn exists_for_write(&mut self, key: &[u8], now_ms: u64, stats: &mut KeyspaceStats) -> bool {
        let lfu = self.lfu;
        match self.get_entry(key, now_ms, stats) {
            Some(e) => {
                touch_entry(e, now_ms, lfu);
                true
            }
            None => false,
        }
    }

    /// Looks a key up without deleting it when expired (expired keys read as absent).
    pub fn peek(&self, key: &[u8], now_ms: u64) -> Option<&Entry<Value>> {
        self.table.get(key).filter(|e| !is_expired(e, now_ms))
    }

    /// Replaces the value of an existing key whole (packing it when it packs), keeping its expire
    /// time and access clock; false when the key is absent. For string writes that compute a new
    /// value from the old one (INCR), so a packed value stays packed.
    pub fn replace_value(&mut self, key: &[u8], value: Value) -> bool {
        self.before_change(key);
        match self.table.replace_value(key, value, None) {
            Ok((old, _, _)) => {
                debug_assert!(old.is_none_or(|old| field_ttl_time(&old).is_none()));
                true
            }
            Err(_) => false,
        }
    }

    pub fn contains(&mut self, key: &[u8], now_ms: u64, stats: &mut KeyspaceStats) -> bool {
        self.get_entry(key, now_ms, stats).is_some()
    }

    /// Deletes `key` if it exists and has expired; true when it did.
    pub fn expire_if_needed(&mut self, key: &[u8], now_ms: u64, stats: &mut KeyspaceStats) -> bool {
        match self.table.get(key) {
            Some(e) if is_expired(e, now_ms) => {
                self.remove(key);
                self.log_expired_key(key);
                stats.expired_keys += 1;
                true
            }
            _ => false,
        }
    }

    /// Stores `value` under `key`, replacing any old value. `expire_at_ms` is the new expire time, or
    /// `None` to keep the old one (KEEPTTL); `Some(NO_EXPIRE)` clears it.
    /// Returns true when the key was created.
    pub fn set(
        &mut self,
        key: &[u8],
        value: Value,
        expire_at_ms: Option<u64>,
        access_s: u32,
    ) -> bool {
        self.before_change(key);
        let lfu = self.lfu;
        let new = field_ttl_time(&value);
        match self.table.replace_value(key, value, expire_at_ms) {
            Ok((old, was, e)) => {
                let old = old.as_ref().and_then(field_ttl_time);
                // Under LFU an overwritten key keeps its counter, as in Redis.
                if lfu.is_none() {
                    e.set_access(access_s);
                }
                if let Some(at) = expire_at_ms {
                    self.adjust_volatile(was != NO_EXPIRE, at != NO_EXPIRE);
                }
                if old.is_some() || new.is_some() {
                    let none = NO_FIELD_TTL;
                    self.index_field_ttl(key, old.unwrap_or(none), new.unwrap_or(none));
                }
                false
            }
            Err(value) => {
                let at = expire_at_ms.unwrap_or(NO_EXPIRE);
                self.reindex_value(key, None, Some(&value));
                let access = lfu::initial(u64::from(access_s) * 1000, lfu);
                self.table.insert_new(key, value, at, access);
                self.adjust_volatile(false, at != NO_EXPIRE);
                true
            }
        }
    }

    /// Inserts a key known to be absent and returns its value, stored whole (for a command that
    /// goes on to fill a new collection).
    pub fn insert_new(&mut self, key: &[u8], value: Value, access_s: u32) -> &mut Value {
        self.before_change(key);
        self.reindex_value(key, None, Some(&value));
        let access = lfu::initial(u64::from(access_s) * 1000, self.lfu);
        self.table.insert_whole(key, value, access)
    }

    /// Removes a key (expired or not) and returns its entry.
    pub fn remove(&mut self, key: &[u8]) -> Option<Removed<Value>> {
        self.before_change(key);
        let e = self.table.remove(key)?;
        self.adjust_volatile(e.has_expire(), false);
        self.reindex_value(key, Some(&e.value), None);
        Some(e)
    }

    /// Sets or clears (`NO_EXPIRE`) the expire time of an existing key; false when the key is absent.
    pub fn set_expire(&mut self, key: &[u8], expire_at_ms: u64) -> bool {
        self.before_change(key);
        let Some(was) = self.table.set_expire(key, expire_at_ms) else {
            return false;
        };
        self.adjust_volatile(was != NO_EXPIRE, expire_at_ms != NO_EXPIRE);
        true
    }

    /// The LFU parameters while an LFU policy is selected.
    #[inline]
    pub fn lfu(&self) -> Option<Lfu> {
        self.lfu
    }

    /// Inserts an entry taken from another database (MOVE, SWAPDB-less moves), keeping its TTL.
    pub fn insert_entry(&mut self, key: &[u8], value: Value, expire_at_ms: u64, access_s: u32) {
        debug_assert!(self.table.get(key).is_none());
        self.before_change(key);
        self.reindex_value(key, None, Some(&value));
        self.table.insert_new(key, value, expire_at_ms, access_s);
        self.adjust_volatile(false, expire_at_ms != NO_EXPIRE);
    }

    fn adjust_volatile(&mut self, was: bool, now: bool) {
        match (was, now) {
            (false, true) => self.volatile += 1,
            (true, false) => self.volatile -= 1,
            _ => {}
        }
    }

    pub fn clear(&mut self) {
        self.snapshot_rest();
        self.table.clear();
        self.field_ttl_index.clear();
        self.volatile = 0;
        self.expire_cursor = 0;
        self.avg_ttl_ms = 0;
    }

    /// One active-expiry sampling round: examines up to [`EXPIRE_SAMPLE_KEYS`] keys with a TTL and deletes
    /// the expired ones. Returns (sampled, expired).
    fn expire_round(&mut self, now_ms: u64) -> (usize, usize) {
        let (mut sampled, mut expired, mut buckets, mut ttl_sum) = (0usize, 0usize, 0usize, 0u64);
        let mut cursor = self.expire_cursor;
        let (log, expired_log) = (self.log_expired, &mut self.expired_log);
        let index = &mut self.field_ttl_index;
        loop {
            cursor = self.table.scan_remove(cursor, |e| {
                if !e.has_expire() {
                    return false;
                }
                sampled += 1;
                if e.expire_at_ms() <= now_ms {
                    expired += 1;
                    if let Some(at) = field_ttl_time(&e.value()) {
                        index.remove(&(at, e.key_bytes().to_vec()));
                    }
                    if log {
                        let key = e.key_bytes();
                        expired_log.extend_from_slice(&(key.len() as u32).to_le_bytes());
                        expired_log.extend_from_slice(key);
                    }
                    true
                } else {
                    ttl_sum += e.expire_at_ms() - now_ms;
                    false
                }
            });
            buckets += 1;
            if cursor == 0 || sampled >= EXPIRE_SAMPLE_KEYS || buckets >= EXPIRE_SAMPLE_BUCKETS_MAX
            {
                break;
            }
        }
        self.expire_cursor = cursor;
        self.volatile -= expired;
        let live = sampled - expired;
        if live > 0 {
            // Same smoothing as Redis: each round's average counts for 2%.
            let avg = ttl_sum / live as u64;
            self.avg_ttl_ms = if self.avg_ttl_ms == 0 {
                avg
            } else {
                (self.avg_ttl_ms / 50) * 49 + avg / 50
            };
        }
        (sampled, expired)
    }
}

/// Records an access to `e`: its LRU clock, or its LFU counter under an LFU policy.
#[inline]
fn touch_entry(e: &mut Entry<Value>, now_ms: u64, lfu: Option<Lfu>) {
    e.set_access(lfu::touched(e.access(), now_ms, lfu));
}

#[inline]
pub fn is_expired(e: &Entry<Value>, now_ms: u64) -> bool {
    let at = e.expire_at_ms();
    at != NO_EXPIRE && at <= now_ms
}

/// What one call of [`Keyspace::expire_cycle`] did.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExpireReport {
    pub sampled: usize,
    pub expired: usize,
    /// The budget ran out while some database still had more than a quarter of its sample expired.
    pub budget_exhausted: bool,
}

/// Totals from [`Keyspace::memory_usage`].
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryUsage {
    pub keys: u64,
    pub expires: u64,
    pub bytes: u64,
}

/// `maxmemory-policy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EvictionPolicy {
    NoEviction,
    AllKeysLru,
    AllKeysLfu,
    AllKeysRandom,
    VolatileLru,
    VolatileLfu,
    VolatileRandom,
    VolatileTtl,
}

impl EvictionPolicy {
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "noeviction" => Self::NoEviction,
            "allkeys-lru" => Self::AllKeysLru,
            "allkeys-lfu" => Self::AllKeysLfu,
            "allkeys-random" => Self::AllKeysRandom,
            "volatile-lru" => Self::VolatileLru,
            "volatile-lfu" => Self::VolatileLfu,
            "volatile-random" => Self::VolatileRandom,
            "volatile-ttl" => Self::VolatileTtl,
            _ => return None,
        })
    }

    fn volatile_only(self) -> bool {
        matches!(
            self,
            Self::VolatileLru | Self::VolatileLfu | Self::VolatileRandom | Self::VolatileTtl
        )
    }
}

/// All databases plus keyspace-wide counters.
pub struct Keyspace {
    dbs: Vec<Db>,
    /// Where the next expire cycle starts, so every database gets its turn under a small budget.
    expire_next_db: usize,
    pub stats: KeyspaceStats,
    /// Whether the active expire cycle runs (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: bool,
    /// Writes since the last save (INFO `rdb_changes_since_last_save`).
    pub dirty: u64,
    /// Whether the databases log expired keys (see [`Keyspace::set_log_expired`]).
    log_expired: bool,
    rng: u64,
    /// The per-command scratch arena, lent out by [`Keyspace::take_scratch`].
    scratch: Bump,
    /// The dictionary string values are compressed against, and its training.
    pub compression: Compression,
    /// Whether OBJECT REFCOUNT reports small integers as shared (Redis stops sharing them under
    /// maxmemory with an LRU or LFU policy).
    pub shared_integers: bool,
    /// A running snapshot's walk ([`snapshot`]).
    snapshot: Option<snapshot::Driver>,
    /// An AOF is being replayed ([`Keyspace::set_loading`]).
    loading: bool,
    /// A lookup stored a packed value whole since the last [`Keyspace::repack`].
    repack_due: bool,
}

/// Values sampled before a keyspace trains its compression dictionary.
pub const DICT_SAMPLES: usize = 64;
/// Bytes of a value a sample keeps (dictionaries are a few KiB; the start of values of one kind
/// shows what they share).
const DICT_SAMPLE_BYTES: usize = 2048;

/// A keyspace's value-compression dictionary: none until [`DICT_SAMPLES`] compressible values were
/// seen, then one trained from them and registered for the life of the process. Values written
/// before it stay readable (they carry dictionary id 0).
#[derive(Default)]
pub struct Compression {
    dict: DictId,
    samples: Vec<Vec<u8>>,
    /// Registration failed (the process-wide table is full): compress without a dictionary.
    exhausted: bool,
}

impl Compression {
    /// The dictionary to compress `value` against; while there is none yet, `value` may become a
    /// training sample.
    pub fn dict_for(&mut self, value: &[u8]) -> DictId {
        if self.dict != 0 || self.exhausted {
            return self.dict;
        }
        self.samples
            .push(value[..value.len().min(DICT_SAMPLE_BYTES)].to_vec());
        if self.samples.len() >= DICT_SAMPLES {
            let dict = lz::train(&self.samples, lz::DICT_BYTES);
            self.samples = Vec::new();
            match lz::register_dict(dict) {
                Some(id) => self.dict = id,
                None => self.exhausted = true,
            }
        }
        self.dict
    }

    /// The current dictionary's id (0: none yet).
    pub fn dict(&self) -> DictId {
        self.dict
    }
}

/// The scratch arena keeps up to this many bytes of chunks between commands; a command that needed
/// more gives the excess back to the allocator.
pub const SCRATCH_RETAIN_MAX: usize = 1 << 20;

impl Keyspace {
    /// `seed` seeds the tables' hashers and the random source behind RANDOMKEY; pass something random.
    pub fn new(databases: usize, seed: u64) -> Self {
        let databases = databases.max(1);
        let dbs = (0..databases as u64)
            .map(|i| Db::new(seed ^ i.wrapping_mul(0x9E37_79B9_7F4A_7C15)))
            .collect();
        Keyspace {
            dbs,
            expire_next_db: 0,
            stats: KeyspaceStats::default(),
            active_expire: true,
            dirty: 0,
            log_expired: false,
            rng: seed | 1,
            scratch: Bump::new(),
            compression: Compression::default(),
            shared_integers: true,
            snapshot: None,
            loading: false,
            repack_due: false,
        }
    }

    /// Looks a key up in database `db` for a command, expiring it lazily: `touch` records an
    /// access, `count` a keyspace hit or miss. With `unpack`, a packed string is stored whole so
    /// the caller can change it in place (and packed again by [`Keyspace::repack`]); without, the
    /// caller gets a copy and changes to it are not kept.
    pub fn lookup(
        &mut self,
        db: usize,
        key: &[u8],
        now_ms: u64,
        touch: bool,
        count: bool,
        unpack: bool,
    ) -> Option<&mut Value> {
        let Keyspace {
            dbs,
            stats,
            repack_due,
            ..
        } = self;
        let (v, unpacked) = dbs[db].lookup_value(key, now_ms, stats, touch, unpack);
        *repack_due |= unpacked;
        if count {
            if v.is_some() {
                stats.keyspace_hits += 1;
            } else {
                stats.keyspace_misses += 1;
            }
        }
        v
    }

    /// Lends the scratch arena for one command's intermediate results (set operations, SORT):
    /// bump allocation, freed all at once by [`Keyspace::restore_scratch`].
    pub fn take_scratch(&mut self) -> Bump {
        core::mem::take(&mut self.scratch)
    }

    /// Takes the scratch arena back, emptied; past [`SCRATCH_RETAIN_MAX`] its chunks are freed.
    pub fn restore_scratch(&mut self, mut scratch: Bump) {
        if scratch.allocated_bytes() > SCRATCH_RETAIN_MAX {
            scratch = Bump::new();
        } else {
            scratch.reset();
        }
        self.scratch = scratch;
    }

    pub fn db_count(&self) -> usize {
        self.dbs.len()
    }

    pub fn db(&self, i: usize) -> &Db {
        &self.dbs[i]
    }

    pub fn db_mut(&mut self, i: usize) -> &mut Db {
        &mut self.dbs[i]
    }

    /// A database and the keyspace counters, borrowed together.
    pub fn db_and_stats(&mut self, i: usize) -> (&mut Db, &mut KeyspaceStats) {
        (&mut self.dbs[i], &mut self.stats)
    }

    /// Two different databases at once (MOVE, COPY ... DB).
    pub fn two_dbs(&mut self, a: usize, b: usize) -> (&mut Db, &mut Db) {
        debug_assert_ne!(a, b);
        if a < b {
            let (x, y) = self.dbs.split_at_mut(b);
            (&mut x[a], &mut y[0])
        } else {
            let (x, y) = self.dbs.split_at_mut(a);
            (&mut y[0], &mut x[b])
        }
    }

    /// Marks the keyspace as loading an AOF (nothing expires, past expire times are kept) or
    /// done loading.
    pub fn set_loading(&mut self, on: bool) {
        self.loading = on;
        for db in &mut self.dbs {
            db.loading = on;
        }
    }

    /// Whether an AOF is being loaded.
    pub fn loading(&self) -> bool {
        self.loading
    }

    pub fn swap_dbs(&mut self, a: usize, b: usize) {
        self.dbs[a].snapshot_rest();
        self.dbs[b].snapshot_rest();
        self.dbs.swap(a, b);
    }

    pub fn dbs(&self) -> impl Iterator<Item = &Db> {
        self.dbs.iter()
    }

    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(Db::len).sum()
    }

    pub fn flush_all(&mut self) {
        for db in &mut self.dbs {
            db.clear();
        }
    }

    /// A pseudo-random number (xorshift64*); not for anything security-sensitive.
    pub fn random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Active expiry: samples keys with a TTL in each database and deletes the expired ones, repeating a
    /// database while more than a quarter of its sample had expired, until `budget` keys were examined.
    pub fn expire_cycle(&mut self, now_ms: u64, budget: usize) -> ExpireReport {
        let mut report = ExpireReport::default();
        if !self.active_expire {
            return report;
        }
        let n = self.dbs.len();
        for k in 0..n {
            let i = (self.expire_next_db + k) % n;
            let db = &mut self.dbs[i];
            while db.volatile > 0 {
                if report.sampled >= budget {
                    report.budget_exhausted = true;
                    self.expire_next_db = i;
                    self.stats.expired_keys += report.expired as u64;
                    return report;
                }
                let (sampled, expired) = db.expire_round(now_ms);
                report.sampled += sampled;
                report.expired += expired;
                if sampled == 0 || expired * 4 <= sampled {
                    break;
                }
            }
        }
        self.expire_next_db = (self.expire_next_db + 1) % n;
        self.stats.expired_keys += report.expired as u64;
        report
    }

    /// The active half of hash field expiry: in every database, takes the hashes whose earliest
    /// field TTL has passed (from the field-expiry index, soonest first), deletes their due fields
    /// and, when nothing is left, the key. Journals each hash as modified with an `hexpired`
    /// event (and `del` for a deleted key), as Redis 7.4 does. Visits at most `keys_max` index
    /// entries; returns how many fields expired.
    pub fn expire_field_cycle(
        &mut self,
        now_ms: u64,
        keys_max: usize,
        journal: &mut Journal,
    ) -> usize {
        let mut fields = 0;
        let mut visited = 0;
        for i in 0..self.dbs.len() {
            let db = &mut self.dbs[i];
            while visited < keys_max {
                let due = db
                    .field_ttl_index
                    .first()
                    .is_some_and(|(t, _)| *t <= now_ms);
                let Some((_, key)) = due.then(|| db.field_ttl_index.pop_first()).flatten() else {
                    break;
                };
                visited += 1;
                // The hash is re-indexed under its next field expiry, if it has one left.
                let (gone, deleted) = db.expire_fields_of(&key, now_ms);
                if gone == 0 {
                    continue;
                }
                fields += gone;
                journal.modified(i, &key);
                journal.event(class::HASH, "hexpired", i, &key);
                if deleted {
                    journal.event(class::GENERIC, "del", i, &key);
                }
            }
        }
        fields
    }

    /// Picks the key `policy` would evict next, by sampling `samples` keys per database (Redis's
    /// approximated LRU; under LFU policies the lowest decayed access counter goes first). Returns the database and key, or `None` when nothing is evictable.
    pub fn eviction_candidate(
        &mut self,
        policy: EvictionPolicy,
        samples: usize,
        now_ms: u64,
    ) -> Option<(usize, alloc::vec::Vec<u8>)> {
        if policy == EvictionPolicy::NoEviction {
            return None;
        }
        let volatile_only = policy.volatile_only();
        let now_s = (now_ms / 1000) as u32;
        let mut best: Option<(u64, usize, alloc::vec::Vec<u8>)> = None;
        for i in 0..self.dbs.len() {
            let eligible = if volatile_only {
                self.dbs[i].volatile
            } else {
                self.dbs[i].len()
            };
            if eligible == 0 {
                continue;
            }
            let mut seed = self.random();
            let table = &self.dbs[i].table;
            let lfu = self.dbs[i].lfu;
            let mut consider = |e: &Entry<Value>| {
                let score = match (policy, lfu) {
                    (EvictionPolicy::VolatileTtl, _) => u64::MAX - e.expire_at_ms(),
                    (EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom, _) => 1,
                    (EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu, Some(lfu)) => {
                        lfu::eviction_score(e.access(), now_ms, lfu)
                    }
                    _ => u64::from(crate::table::lru_idle_s(now_s, e.access())) + 1,
                };
                if best.as_ref().is_none_or(|b| score > b.0) {
                    best = Some((score, i, e.key_bytes().to_vec()));
                }
            };
            if volatile_only {
                // Volatile keys may be rare among the rest, so random draws could miss them all.
                // Like Redis's sample of its expires table, take the volatile keys of consecutive
                // buckets from a random cursor; a scan that wraps twice has seen every bucket, so
                // a database with a volatile key always yields one.
                let (mut cursor, mut taken, mut wraps) = (seed, 0, 0);
                while taken < samples && wraps < 2 {
                    cursor = table.scan(cursor, |e| {
                        if e.has_expire() {
                            taken += 1;
                            consider(e);
                        }
                    });
                    if cursor == 0 {
                        wraps += 1;
                    }
                }
                continue;
            }
            for _ in 0..samples {
                let Some(e) = table.random_entry(|| {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    seed
                }) else {
                    break;
                };
                consider(e);
            }
        }
        best.map(|(_, db, key)| (db, key))
    }

    /// Evicts keys by `policy` until `fits` says memory use is under the limit, at most `keys_max`
    /// keys. `fits` is told the bytes the last eviction freed by Ember's accounting (0 before the
    /// first), for hosts that keep an estimate; a host with an allocator count reads that instead.
    /// Each eviction is journaled as a modified key and an `evicted` event. False when memory still
    /// does not fit (noeviction, nothing left to evict, or `keys_max` reached).
    pub fn evict(
        &mut self,
        policy: EvictionPolicy,
        samples: usize,
        now_ms: u64,
        journal: &mut Journal,
        keys_max: usize,
        mut fits: impl FnMut(u64) -> bool,
    ) -> bool {
        let mut freed = 0;
        for _ in 0..keys_max {
            if fits(freed) {
                return true;
            }
            let Some((db, key)) = self.eviction_candidate(policy, samples, now_ms) else {
                return false;
            };
            freed = self.dbs[db]
                .remove(&key)
                .map_or(0, |e| removed_bytes(&e) as u64);
            self.stats.evicted_keys += 1;
            journal.modified(db, &key);
            journal.deleted(db, &key);
            journal.event(class::EVICTED, "evicted", db, &key);
        }
        fits(freed)
    }

    /// What the data takes in memory, by Ember's own accounting: each entry (see [`entry_bytes`])
    /// and the bucket arrays. O(keys): meant for stats calls, not for every command.
    pub fn memory_usage(&self) -> MemoryUsage {
        let mut m = MemoryUsage::default();
        for db in &self.dbs {
            m.keys += db.len() as u64;
            m.expires += db.volatile as u64;
            let heap: usize = db.table.iter().map(|e| e.value().heap_size()).sum();
            let bytes = db.table.bucket_bytes() + db.table.entry_bytes() + heap;
            m.bytes += bytes as u64;
        }
        m
    }

    /// Packs again the short strings that commands changed in place (APPEND, SETRANGE, SETBIT,
    /// ...) or looked up for writing without changing (a write command on the wrong type), so a
    /// short string is stored packed between commands whatever it went through. The host calls
    /// this after each command ([`crate::cmd::ExecCtx`] does when dropped); it costs one flag
    /// test unless [`Keyspace::lookup`] stored a value whole.
    pub fn repack(&mut self) {
        if !core::mem::take(&mut self.repack_due) {
            return;
        }
        for db in self.dbs.iter_mut().filter(|db| !db.unpacked.is_empty()) {
            for key in core::mem::take(&mut db.unpacked) {
                db.table.repack(&key);
            }
        }
    }

    /// Limits how many bytes growing a database's table may take (the room left under
    /// `maxmemory`; `usize::MAX` for none), so a write near the limit does not trigger a growth
    /// that would force evictions (Redis's `dictExpandAllowed`).
    pub fn set_grow_budget(&mut self, bytes: usize) {
        for db in &mut self.dbs {
            db.table.set_grow_budget(bytes);
        }
    }

    /// Selects LFU tracking (an LFU `maxmemory-policy`) with its parameters, or the LRU clock.
    pub fn set_lfu(&mut self, lfu: Option<Lfu>) {
        for db in &mut self.dbs {
            db.lfu = lfu;
        }
    }

    /// Turns logging of expired keys on or off in every database.
    pub fn set_log_expired(&mut self, on: bool) {
        self.log_expired = on;
        for db in &mut self.dbs {
            db.log_expired = on;
            if !on {
                db.expired_log.clear();
            }
        }
    }

    /// Hands every key deleted by expiry since the last call to `f` (database index, key).
    pub fn drain_expired(&mut self, mut f: impl FnMut(usize, &[u8])) {
        if !self.log_expired {
            return;
        }
        for (i, db) in self.dbs.iter_mut().enumerate() {
            let log = core::mem::take(&mut db.expired_log);
            let mut rest = &log[..];
            while rest.len() >= 4 {
                let n = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
                let Some(key) = rest.get(4..4 + n) else { break };
                f(i, key);
                rest = &rest[4 + n..];
            }
            db.expired_log = log;
            db.expired_log.clear();
            crate::journal::release_excess(&mut db.expired_log);
        }
    }

    /// Cron housekeeping: shrinks sparse tables and spends `steps` rehash steps per rehashing database.
    pub fn maintain_tables(&mut self, steps: usize) {
        for db in &mut self.dbs {
            db.table.shrink_if_sparse();
            db.table.rehash_step(steps);
        }
    }
}

/// What one key takes by Ember's accounting: the entry's allocation (its fields and the key,
/// rounded to the allocator's 8-byte classes) and the heap bytes of its value.
pub fn entry_bytes(e: &Entry<Value>) -> usize {
    e.alloc_size() + e.key_heap_size() + e.value().heap_size()
}

/// What a removed key took, as [`entry_bytes`] counted it.
pub fn removed_bytes(e: &Removed<Value>) -> usize {
    e.entry_bytes + e.value.heap_size()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::string::CompactStr;
    use alloc::format;

    fn s(v: &str) -> Value {
        Value::Str(CompactStr::from_value(v.as_bytes()))
    }

    #[test]
    fn lazy_expiry_on_access() {
        let mut ks = Keyspace::new(2, 42);
        let (db, stats) = ks.db_and_stats(0);
        db.set(b"a", s("1"), Some(1000), 0);
        db.set(b"b", s("2"), Some(NO_EXPIRE), 0);
        assert_eq!(db.volatile_len(), 1);
        assert!(db.get(b"a", 999, stats).is_some());
        assert!(db.get(b"a", 1000, stats).is_none());
        assert_eq!(db.len(), 1);
        assert_eq!(db.volatile_len(), 0);
        assert_eq!(stats.expired_keys, 1);
    }

    #[test]
    fn volatile_eviction_finds_a_rare_volatile_key() {
        // One key with a TTL among thousands: random draws would mostly miss it, yet a volatile
        // policy must always find it (the conformance suite's tracking test depends on it).
        for seed in 0..50 {
            let mut ks = Keyspace::new(1, seed);
            let db = ks.db_mut(0);
            for i in 0..5000 {
                db.set(format!("k{i}").as_bytes(), s("v"), None, 0);
            }
            db.set(b"volatile", s("v"), Some(1_000_000), 0);
            for policy in [EvictionPolicy::VolatileRandom, EvictionPolicy::VolatileTtl] {
                let got = ks.eviction_candidate(policy, 5, 0);
                assert_eq!(got, Some((0, b"volatile".to_vec())), "seed {seed}");
            }
        }
        let mut ks = Keyspace::new(1, 7);
        ks.db_mut(0).set(b"a", s("v"), None, 0);
        assert_eq!(
            ks.eviction_candidate(EvictionPolicy::VolatileLru, 5, 0),
            None
        );
        assert!(ks
            .eviction_candidate(EvictionPolicy::AllKeysLru, 5, 0)
            .is_some());
    }

    #[test]
    fn scratch_arena_is_reused_and_bounded() {
        let mut ks = Keyspace::new(1, 1);
        let scratch = ks.take_scratch();
        scratch.alloc_slice_fill_copy(1000, 0u8);
        ks.restore_scratch(scratch);
        let scratch = ks.take_scratch();
        let kept = scratch.allocated_bytes();
        assert!(
            kept > 0,
            "a small arena keeps its chunk for the next command"
        );
        scratch.alloc_slice_fill_copy(4 * SCRATCH_RETAIN_MAX, 0u8);
        ks.restore_scratch(scratch);
        let scratch = ks.take_scratch();
        assert!(scratch.allocated_bytes() <= SCRATCH_RETAIN_MAX);
        ks.restore_scratch(scratch);
    }

    #[test]
    fn keepttl_and_overwrite() {
        let mut ks = Keyspace::new(1, 1);
        let db = ks.db_mut(0);
        db.set(b"a", s("1"), Some(500), 0);
        db.set(b"a", s("2"), None, 0);
        assert_eq!(db.peek(b"a", 0).map(|e| e.expire_at_ms()), Some(500));
        db.set(b"a", s("3"), Some(NO_EXPIRE), 0);
        assert_eq!(db.volatile_len(), 0);
    }

    #[test]
    fn active_expiry_clears_expired_keys_within_budget() {
        let mut ks = Keyspace::new(16, 9);
        for i in 0..5000 {
            let k = format!("k{i}");
            let at = if i % 2 == 0 { 100 } else { NO_EXPIRE };
            ks.db_mut(3).set(k.as_bytes(), s("v"), Some(at), 0);
        }
        let r = ks.expire_cycle(200, 50);
        assert!(r.sampled <= 50 + EXPIRE_SAMPLE_KEYS);
        assert!(r.budget_exhausted);
        let mut rounds = 0;
        while ks.db(3).volatile_len() > 0 && rounds < 10_000 {
            ks.expire_cycle(200, 1000);
            rounds += 1;
        }
        assert_eq!(ks.db(3).len(), 2500);
        assert_eq!(ks.stats.expired_keys, 2500);
    }
}
