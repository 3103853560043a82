//! Ember's keyspace hash table: chained buckets, incremental rehashing, and a resize-safe SCAN cursor.
//!
//! Each entry is one allocation holding its key, value, expire time and access clock, so a key costs one
//! allocation plus its bucket slot, and expire times need no second table keyed by the same string.
//! Growing never pauses: like Redis's `dict.c`, a resize allocates the new bucket array and then moves a
//! few buckets per operation ([`Table::rehash_step`]) and per cron tick ([`Table::rehash_for`]), looking up
//! keys in both arrays meanwhile. [`Table::scan`] walks buckets in reverse-binary cursor order, which
//! returns every entry present for the whole scan at least once even when the table grows or shrinks
//! between calls.

use alloc::vec::Vec;
use core::hash::BuildHasher;

use core::marker::PhantomData;
use core::ptr::NonNull;

/// No expire time set.
pub const NO_EXPIRE: u64 = 0;

/// Smallest bucket array.
const INITIAL_BUCKETS: usize = 4;

/// Per rehash step, at most this many empty buckets are visited for each bucket to move. Redis
/// visits 10; an empty visit here is one sequential 8-byte read, and a shrinking table (at most
/// one bucket in eight used) must finish moving before it empties: at 10, a set that shrinks from
/// 2^18 buckets is still rehashing 26k removals later, and random picks meanwhile probe both
/// arrays.
const EMPTY_VISITS_PER_STEP: usize = 64;

/// A table shrinks when fewer than one in `SHRINK_RATIO` buckets would be used.
const SHRINK_RATIO: usize = 8;

/// Past this load factor (in thousandths) a table grows even beyond its grow budget (Redis's
/// `HASHTABLE_MAX_LOAD_FACTOR`, 1.618), so chains stay short.
const FORCE_GROW_LOAD_MILLI: usize = 1618;

/// [`Table::random_fair`] picks exactly uniformly among entries whose chain is at most this long
/// (at a load factor of 1, 98% of entries).
const FAIR_CHAIN_MAX: usize = 4;

/// Buckets [`Table::random_fair`] probes before it settles for a less fair pick.
const FAIR_PROBES_MAX: usize = 256;

/// Hints the CPU to bring `*p` into cache; no effect on memory or on other targets.
#[inline(always)]
#[allow(unsafe_code)]
pub(crate) fn prefetch<T: ?Sized>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is a hint: it never faults nor changes memory, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(p.cast::<i8>());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// One key: its value, access clock, expire time and the key's bytes, in a single allocation.
/// The key is stored inline after the fixed fields (no separate string header), and the expire
/// time only when the entry has one (a TTL costs its 8 bytes, a key without one nothing), so an
/// entry costs a 36-byte header with a 24-byte value, the key and the rounding to 8 bytes: keys of
/// up to 12 bytes take 48 bytes, 56 with an expire time. Entries are reached through [`EntryBox`],
/// a thin owning pointer.
#[repr(C)]
pub struct Entry<V> {
    next: Option<EntryBox<V>>,
    pub value: V,
    /// The access clock in the low 24 bits ([`ACCESS_MASK`]; see [`Entry::access`]), the key's
    /// length in the next 7 ([`LONG_KEY`] when the key's part of the tail starts with a u32
    /// length), and [`HAS_EXPIRE_ROOM`] in the top bit.
    meta: u32,
    /// The expire time (u64 LE, with [`HAS_EXPIRE_ROOM`]), then the key (after a 4-byte length
    /// for long keys).
    tail: [u8],
}

/// The access clock's bits in `meta`: Redis's 24-bit `lru` field (seconds, wrapping every 194
/// days, or LFU data).
pub const ACCESS_MASK: u32 = (1 << 24) - 1;

/// Where the key length sits in `meta`, and the length of a key of [`LONG_KEY`] bytes or more,
/// whose length precedes it in the tail.
const KLEN_SHIFT: u32 = 24;
const LONG_KEY: u32 = 0x7f;

/// `meta` bit: the tail starts with 8 bytes of expire time ([`NO_EXPIRE`] once persisted).
const HAS_EXPIRE_ROOM: u32 = 1 << 31;

/// Seconds since an LRU access clock reading (both wrap at 24 bits, as Redis's do).
#[inline]
pub fn lru_idle_s(now_s: u32, access: u32) -> u32 {
    now_s.wrapping_sub(access) & ACCESS_MASK
}

/// The byte offsets of an entry's fields and its layout for a tail of `tail` bytes, as `repr(C)`
/// lays them out.
struct Shape {
    value: usize,
    meta: usize,
    tail: usize,
    layout: core::alloc::Layout,
}

fn shape<V>(tail: usize) -> Option<Shape> {
    use core::alloc::Layout;
    let l = Layout::new::<Option<EntryBox<V>>>();
    let (l, value) = l.extend(Layout::new::<V>()).ok()?;
    let (l, meta) = l.extend(Layout::new::<u32>()).ok()?;
    let (l, tail_at) = l.extend(Layout::array::<u8>(tail).ok()?).ok()?;
    debug_assert_eq!((meta, tail_at), (Offsets::<V>::META, Offsets::<V>::TAIL));
    Some(Shape {
        value,
        meta,
        tail: tail_at,
        layout: l.pad_to_align(),
    })
}

/// The offsets every dereference needs, as constants (the same `repr(C)` rules [`shape`]
/// applies, which checks them).
struct Offsets<V>(PhantomData<V>);

const fn align_up(n: usize, align: usize) -> usize {
    (n + align - 1) & !(align - 1)
}

impl<V> Offsets<V> {
    const VALUE: usize = align_up(
        core::mem::size_of::<Option<EntryBox<V>>>(),
        core::mem::align_of::<V>(),
    );
    const META: usize = align_up(
        Self::VALUE + core::mem::size_of::<V>(),
        core::mem::align_of::<u32>(),
    );
    const TAIL: usize = Self::META + 4;
}

/// Bytes of an entry before its key (and its expire time, when it has one).
pub fn entry_header_size<V>() -> usize {
    Offsets::<V>::TAIL
}

impl<V> Entry<V> {
    /// Where the key's part of the tail starts.
    #[inline]
    fn key_at(&self) -> usize {
        if self.meta & HAS_EXPIRE_ROOM != 0 {
            8
        } else {
            0
        }
    }

    #[inline]
    pub fn key_bytes(&self) -> &[u8] {
        let tail = &self.tail[self.key_at()..];
        let klen = (self.meta >> KLEN_SHIFT) & LONG_KEY;
        if klen != LONG_KEY {
            return &tail[..klen as usize];
        }
        let mut n = [0u8; 4];
        n.copy_from_slice(&tail[..4]);
        &tail[4..4 + u32::from_le_bytes(n) as usize]
    }

    /// Absolute unix time in milliseconds, or [`NO_EXPIRE`].
    #[inline]
    pub fn expire_at_ms(&self) -> u64 {
        if self.meta & HAS_EXPIRE_ROOM == 0 {
            return NO_EXPIRE;
        }
        let mut at = [0u8; 8];
        at.copy_from_slice(&self.tail[..8]);
        u64::from_le_bytes(at)
    }

    #[inline]
    pub fn has_expire(&self) -> bool {
        self.expire_at_ms() != NO_EXPIRE
    }

    /// Sets the expire time (or clears it, [`NO_EXPIRE`]) in place; false when the entry has no
    /// room for one, which only [`Table::set_expire`] can add.
    #[inline]
    pub fn try_set_expire(&mut self, at_ms: u64) -> bool {
        if self.meta & HAS_EXPIRE_ROOM != 0 {
            self.tail[..8].copy_from_slice(&at_ms.to_le_bytes());
            true
        } else {
            at_ms == NO_EXPIRE
        }
    }

    /// The access clock: host seconds of the last access under an LRU (or no) policy, LFU data
    /// under an LFU one (see [`crate::lfu`]); 24 bits.
    #[inline]
    pub fn access(&self) -> u32 {
        self.meta & ACCESS_MASK
    }

    /// Sets the access clock (its low 24 bits).
    #[inline]
    pub fn set_access(&mut self, access: u32) {
        self.meta = (self.meta & !ACCESS_MASK) | (access & ACCESS_MASK);
    }

    /// Heap bytes of the entry itself (fields, key and rounding).
    pub fn alloc_size(&self) -> usize {
        core::mem::size_of_val(self)
    }
}

/// The owning, thin (one word) pointer to an [`Entry`]; `Option<EntryBox<V>>` is one word too.
/// `repr(transparent)` over a `NonNull` guarantees that `None` is the null pointer, which the
/// zeroed bucket arrays rely on.
#[repr(transparent)]
pub struct EntryBox<V> {
    ptr: NonNull<u8>,
    _owns: PhantomData<V>,
}

const _: () = assert!(core::mem::size_of::<Option<EntryBox<[u64; 3]>>>() == 8);

// SAFETY: an EntryBox owns its entry exclusively, like a Box; it is Send/Sync when the value is.
#[allow(unsafe_code)]
unsafe impl<V: Send> Send for EntryBox<V> {}
// SAFETY: as above; shared access only hands out `&Entry<V>`.
#[allow(unsafe_code)]
unsafe impl<V: Sync> Sync for EntryBox<V> {}

#[allow(unsafe_code)]
impl<V> EntryBox<V> {
    /// Allocates an entry for `key` holding `value`, with room for an expire time when it has
    /// one.
    pub fn new(key: &[u8], value: V, expire_at_ms: u64, access_s: u32) -> Self {
        let long = key.len() >= LONG_KEY as usize;
        let room = expire_at_ms != NO_EXPIRE;
        let tail = usize::from(room) * 8 + key.len() + usize::from(long) * 4;
        let Some(sh) = shape::<V>(tail) else {
            panic!(
                "an entry for a key of {} bytes overflows the address space",
                key.len()
            );
        };
        // SAFETY: the layout has a non-zero size (it holds at least the `next` word).
        let raw = unsafe { alloc::alloc::alloc(sh.layout) };
        let Some(ptr) = NonNull::new(raw) else {
            alloc::alloc::handle_alloc_error(sh.layout);
        };
        // SAFETY: `raw` is a fresh allocation of `sh.layout`, whose field offsets `shape` computed
        // exactly as repr(C) places them, each suitably aligned; every field is written once, and
        // the tail's parts (expire time, long key length, key) fit the `tail` bytes it was sized
        // for.
        unsafe {
            raw.cast::<Option<EntryBox<V>>>().write(None);
            raw.add(sh.value).cast::<V>().write(value);
            let klen = if long { LONG_KEY } else { key.len() as u32 };
            let meta = (access_s & ACCESS_MASK)
                | (klen << KLEN_SHIFT)
                | if room { HAS_EXPIRE_ROOM } else { 0 };
            raw.add(sh.meta).cast::<u32>().write(meta);
            let mut at = raw.add(sh.tail);
            if room {
                core::ptr::copy_nonoverlapping(expire_at_ms.to_le_bytes().as_ptr(), at, 8);
                at = at.add(8);
            }
            if long {
                let n = u32::try_from(key.len()).unwrap_or(u32::MAX).to_le_bytes();
                core::ptr::copy_nonoverlapping(n.as_ptr(), at, 4);
                at = at.add(4);
            }
            core::ptr::copy_nonoverlapping(key.as_ptr(), at, key.len());
        }
        EntryBox {
            ptr,
            _owns: PhantomData,
        }
    }

    /// The entry moved into a new allocation with room for an expire time, set to `at_ms`; its
    /// value, access clock and chain link come along.
    fn with_expire_room(self, at_ms: u64) -> Self {
        let fat = self.fat();
        core::mem::forget(self);
        // SAFETY: `fat` covers the live entry, which nothing else references now that `self` is
        // forgotten. The value and the link are moved out exactly once (read, then the old block
        // is freed without dropping them); the key is copied while the old block is still live.
        unsafe {
            let old = &*fat;
            let value = core::ptr::addr_of!((*fat).value).read();
            let next = core::ptr::addr_of!((*fat).next).read();
            let mut moved = EntryBox::new(old.key_bytes(), value, at_ms, old.access());
            moved.next = next;
            let layout = core::alloc::Layout::for_value(old);
            alloc::alloc::dealloc(fat.cast::<u8>(), layout);
            moved
        }
    }

    /// The entry as a (fat) raw pointer covering its whole allocation.
    #[inline]
    fn fat(&self) -> *mut Entry<V> {
        let p = self.ptr.as_ptr();
        // SAFETY: `meta` was written by `new` at this (4-aligned) offset of the live allocation.
        let meta = unsafe { p.add(Offsets::<V>::META).cast::<u32>().read() };
        let room = if meta & HAS_EXPIRE_ROOM != 0 { 8 } else { 0 };
        let klen = (meta >> KLEN_SHIFT) & LONG_KEY;
        let key = if klen == LONG_KEY {
            let mut n = [0u8; 4];
            // SAFETY: a long key's part of the tail starts with its 4-byte length, written by
            // `new`.
            unsafe {
                core::ptr::copy_nonoverlapping(p.add(Offsets::<V>::TAIL + room), n.as_mut_ptr(), 4)
            };
            4 + u32::from_le_bytes(n) as usize
        } else {
            klen as usize
        };
        core::ptr::slice_from_raw_parts_mut(p, room + key) as *mut Entry<V>
    }

    /// The next entry of the chain, read from the link alone (the entry's first field), without
    /// the key length a full dereference needs.
    #[inline]
    fn next_link(&self) -> Option<&EntryBox<V>> {
        // SAFETY: `Entry` is repr(C) with `next` first, so offset 0 of the live entry holds its
        // initialized `Option<EntryBox<V>>`, borrowed for as long as `self` is.
        unsafe { &*self.ptr.as_ptr().cast::<Option<EntryBox<V>>>() }.as_ref()
    }

    /// Takes the value out and frees the entry (its key and `next` link go with it).
    pub fn into_value(self) -> V {
        let fat = self.fat();
        core::mem::forget(self);
        // SAFETY: `fat` covers the live entry, which nothing else references now that `self` is
        // forgotten. The value is moved out exactly once; `next` is dropped in place; the key
        // bytes need no drop; then the allocation is freed with the layout it was made with.
        unsafe {
            let value = core::ptr::addr_of!((*fat).value).read();
            core::ptr::addr_of_mut!((*fat).next).drop_in_place();
            let layout = core::alloc::Layout::for_value(&*fat);
            alloc::alloc::dealloc(fat.cast::<u8>(), layout);
            value
        }
    }
}

#[allow(unsafe_code)]
impl<V> core::ops::Deref for EntryBox<V> {
    type Target = Entry<V>;
    #[inline]
    fn deref(&self) -> &Entry<V> {
        // SAFETY: the pointer covers the live, fully initialized entry owned by `self`.
        unsafe { &*self.fat() }
    }
}

#[allow(unsafe_code)]
impl<V> core::ops::DerefMut for EntryBox<V> {
    #[inline]
    fn deref_mut(&mut self) -> &mut Entry<V> {
        // SAFETY: as `deref`, and `&mut self` makes the access exclusive.
        unsafe { &mut *self.fat() }
    }
}

#[allow(unsafe_code)]
impl<V> Drop for EntryBox<V> {
    fn drop(&mut self) {
        let fat = self.fat();
        // SAFETY: `self` owns the entry; it is dropped in place once (its value and `next`), then
        // freed with the layout it was allocated with (repr(C), so `for_value` matches `shape`).
        unsafe {
            let layout = core::alloc::Layout::for_value(&*fat);
            core::ptr::drop_in_place(fat);
            alloc::alloc::dealloc(fat.cast::<u8>(), layout);
        }
    }
}

struct Buckets<V> {
    slots: Vec<Option<EntryBox<V>>>,
    used: usize,
}

impl<V> Buckets<V> {
    /// A zeroed bucket array. It comes from `alloc_zeroed` (calloc), so the operating system hands out
    /// zero pages lazily and growing a table of millions of keys does not stop to write every slot.
    #[allow(unsafe_code)]
    fn new(n: usize) -> Self {
        type Slot<V> = Option<EntryBox<V>>;
        let Ok(layout) = core::alloc::Layout::array::<Slot<V>>(n) else {
            panic!("bucket array of {n} slots overflows the address space");
        };
        if n == 0 {
            return Buckets::empty();
        }
        // SAFETY: the layout has a non-zero size (n > 0 and the slot is pointer-sized).
        let ptr = unsafe { alloc::alloc::alloc_zeroed(layout) };
        if ptr.is_null() {
            alloc::alloc::handle_alloc_error(layout);
        }
        // SAFETY: `Option<EntryBox<V>>` wraps a `NonNull`, so it is a nullable pointer whose all-zero
        // bit pattern is `None`, so the zeroed block holds `n` initialized `None`s; it was allocated by the global
        // allocator with exactly `Layout::array::<Slot<V>>(n)`, which is what `Vec` uses for capacity `n`.
        let slots = unsafe { Vec::from_raw_parts(ptr.cast::<Slot<V>>(), n, n) };
        Buckets { slots, used: 0 }
    }
    fn empty() -> Self {
        Buckets {
            slots: Vec::new(),
            used: 0,
        }
    }
    #[inline]
    fn mask(&self) -> u64 {
        (self.slots.len() as u64).wrapping_sub(1)
    }
}

pub struct Table<V> {
    hasher: foldhash::fast::FixedState,
    /// `ht[0]` is the live array; while rehashing, entries move from `ht[0]` to `ht[1]`.
    ht: [Buckets<V>; 2],
    /// Next bucket of `ht[0]` to move, while a rehash is in progress.
    rehash_idx: Option<usize>,
    /// Number of outstanding "pause rehash" holds (a snapshot walking the table).
    rehash_paused: u32,
    /// Most bytes a new bucket array may take (the host's room under maxmemory), unless the load
    /// factor passes [`FORCE_GROW_LOAD_MILLI`].
    grow_budget: usize,
}

impl<V> Table<V> {
    pub fn new(seed: u64) -> Self {
        Table {
            hasher: foldhash::fast::FixedState::with_seed(seed),
            ht: [Buckets::empty(), Buckets::empty()],
            rehash_idx: None,
            rehash_paused: 0,
            grow_budget: usize::MAX,
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.ht[0].used + self.ht[1].used
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total bucket slots across both arrays.
    pub fn bucket_count(&self) -> usize {
        self.ht[0].slots.len() + self.ht[1].slots.len()
    }

    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    pub fn get(&self, key: &[u8]) -> Option<&Entry<V>> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        for t in 0..self.table_count() {
            let b = &self.ht[t];
            let mut cur = b.slots[(h & b.mask()) as usize].as_deref();
            while let Some(e) = cur {
                if e.key_bytes() == key {
                    return Some(e);
                }
                cur = e.next.as_deref();
            }
        }
        None
    }

    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry<V>> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step(1);
        let h = self.hash(key);
        // While rehashing, find which array holds the key first; then walk that one chain mutably.
        let t = if self.is_rehashing() && !self.chain_contains(0, h, key) {
            1
        } else {
            0
        };
        let mask = self.ht[t].mask();
        let mut cur = self.ht[t].slots[(h & mask) as usize].as_deref_mut();
        while let Some(e) = cur {
            if e.key_bytes() == key {
                return Some(e);
            }
            cur = e.next.as_deref_mut();
        }
        None
    }

    /// Looks `key` up once: returns the entry, or removes and returns it as `Err` when `is_dead`
    /// says so (an expired key), so lazy expiry costs a single chain walk.
    #[allow(clippy::type_complexity)]
    pub fn get_mut_live(
        &mut self,
        key: &[u8],
        is_dead: impl FnOnce(&Entry<V>) -> bool,
    ) -> Result<Option<&mut Entry<V>>, EntryBox<V>> {
        if self.is_empty() {
            return Ok(None);
        }
        self.rehash_step(1);
        let h = self.hash(key);
        let t = if self.is_rehashing() && !self.chain_contains(0, h, key) {
            1
        } else {
            0
        };
        let b = &mut self.ht[t];
        let mask = b.mask();
        let mut link = &mut b.slots[(h & mask) as usize];
        loop {
            match link {
                None => return Ok(None),
                Some(e) if e.key_bytes() == key => break,
                Some(e) => link = &mut e.next,
            }
        }
        let dead = link.as_deref().is_some_and(is_dead);
        if dead {
            let Some(mut removed) = link.take() else {
                return Ok(None);
            };
            *link = removed.next.take();
            b.used -= 1;
            return Err(removed);
        }
        Ok(link.as_deref_mut())
    }

    fn chain_contains(&self, t: usize, h: u64, key: &[u8]) -> bool {
        let b = &self.ht[t];
        let mut cur = b.slots[(h & b.mask()) as usize].as_deref();
        while let Some(e) = cur {
            if e.key_bytes() == key {
                return true;
            }
            cur = e.next.as_deref();
        }
        false
    }

    /// Inserts a key that the caller knows is absent, and returns its entry.
    pub fn insert_new(
        &mut self,
        key: &[u8],
        value: V,
        expire_at_ms: u64,
        access_s: u32,
    ) -> &mut Entry<V> {
        debug_assert!(self.get(key).is_none());
        self.rehash_step(1);
        self.grow_if_needed();
        let h = self.hash(key);
        let t = if self.is_rehashing() { 1 } else { 0 };
        let b = &mut self.ht[t];
        let idx = (h & b.mask()) as usize;
        let next = b.slots[idx].take();
        b.used += 1;
        let mut entry = EntryBox::new(key, value, expire_at_ms, access_s);
        entry.next = next;
        b.slots[idx].insert(entry)
    }

    /// Starts loading the bucket slot `key` lives in, for a lookup the caller is about to make
    /// after other work (the miss then overlaps that work).
    #[inline]
    pub fn prefetch_slot(&self, key: &[u8]) {
        if self.is_empty() {
            return;
        }
        let h = self.hash(key);
        for b in &self.ht[..self.table_count()] {
            if let Some(slot) = b.slots.get((h & b.mask()) as usize) {
                prefetch(slot);
            }
        }
    }

    /// Removes `key` and returns its entry.
    /// Sets (or clears, [`NO_EXPIRE`]) the expire time of `key` and returns the one it had;
    /// `None` when the key is absent. An entry created without an expire time moves to a new
    /// allocation with room for one (its chain link is updated in place).
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> Option<u64> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        for t in 0..self.table_count() {
            let mask = self.ht[t].mask();
            let mut link = &mut self.ht[t].slots[(h & mask) as usize];
            loop {
                match link {
                    None => break,
                    Some(e) if e.key_bytes() == key => {
                        let was = e.expire_at_ms();
                        if !e.try_set_expire(at_ms) {
                            let entry = link.take()?;
                            *link = Some(entry.with_expire_room(at_ms));
                        }
                        return Some(was);
                    }
                    Some(e) => link = &mut e.next,
                }
            }
        }
        None
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<EntryBox<V>> {
        if self.is_empty() {
            return None;
        }
        self.rehash_step(1);
        let h = self.hash(key);
        for t in 0..self.table_count() {
            let mask = self.ht[t].mask();
            let b = &mut self.ht[t];
            let mut link = &mut b.slots[(h & mask) as usize];
            loop {
                match link {
                    None => break,
                    Some(e) if e.key_bytes() == key => {
                        let mut removed = link.take()?;
                        *link = removed.next.take();
                        b.used -= 1;
                        return Some(removed);
                    }
                    Some(e) => link = &mut e.next,
                }
            }
        }
        None
    }

    /// Drops every entry and returns the table to its initial empty state.
    pub fn clear(&mut self) {
        for b in &mut self.ht {
            // Unlink chains iteratively: a long chain dropped recursively could exhaust the stack.
            for slot in b.slots.iter_mut() {
                let mut cur = slot.take();
                while let Some(mut e) = cur {
                    cur = e.next.take();
                }
            }
            *b = Buckets::empty();
        }
        self.rehash_idx = None;
    }

    #[inline]
    fn table_count(&self) -> usize {
        if self.is_rehashing() {
            2
        } else {
            1
        }
    }

    fn grow_if_needed(&mut self) {
        if self.is_rehashing() {
            return;
        }
        let size = self.ht[0].slots.len();
        if size == 0 {
            self.ht[0] = Buckets::new(INITIAL_BUCKETS);
        } else if self.ht[0].used >= size {
            // Redis's `dictExpand(d, used + 1)`: the next power of two, so the load factor after
            // growing is at least one half.
            let buckets = (self.ht[0].used + 1).next_power_of_two();
            let bytes = buckets.saturating_mul(core::mem::size_of::<Option<EntryBox<V>>>());
            // Like Redis's `dictExpandAllowed`: a growth that would take the server past its
            // memory limit waits (chains lengthen a little) until the load factor forces it.
            if bytes > self.grow_budget && self.ht[0].used * 1000 < size * FORCE_GROW_LOAD_MILLI {
                return;
            }
            self.start_resize(buckets);
        }
    }

    /// Sets how many bytes a new bucket array may take (`usize::MAX`: no limit).
    pub fn set_grow_budget(&mut self, bytes: usize) {
        self.grow_budget = bytes;
    }

    /// Starts shrinking when the table is mostly empty; the host calls this from its cron.
    pub fn shrink_if_sparse(&mut self) {
        if self.is_rehashing() || self.rehash_paused > 0 {
            return;
        }
        let size = self.ht[0].slots.len();
        let used = self.ht[0].used;
        if size > INITIAL_BUCKETS && used * SHRINK_RATIO < size {
            self.start_resize(used.max(INITIAL_BUCKETS).next_power_of_two());
        }
    }

    fn start_resize(&mut self, buckets: usize) {
        if buckets == self.ht[0].slots.len() {
            return;
        }
        self.ht[1] = Buckets::new(buckets);
        self.rehash_idx = Some(0);
    }

    /// Pauses incremental rehashing (while something walks the buckets directly); pair with resume.
    pub fn pause_rehash(&mut self) {
        self.rehash_paused += 1;
    }

    /// Whether a hold from [`Table::pause_rehash`] is outstanding.
    pub fn rehash_paused(&self) -> bool {
        self.rehash_paused > 0
    }

    pub fn resume_rehash(&mut self) {
        self.rehash_paused = self.rehash_paused.saturating_sub(1);
    }

    /// Moves up to `n` buckets to the new array, visiting at most `10 * n` empty ones. Returns true while
    /// a rehash is still in progress.
    pub fn rehash_step(&mut self, n: usize) -> bool {
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        if self.rehash_paused > 0 {
            return true;
        }
        let mut empty_visits = n * EMPTY_VISITS_PER_STEP;
        let mut moved = 0;
        let [old, new] = &mut self.ht;
        let new_mask = new.mask();
        while moved < n && old.used > 0 {
            debug_assert!(idx < old.slots.len());
            let mut chain = old.slots[idx].take();
            if chain.is_none() {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    break;
                }
                continue;
            }
            while let Some(mut e) = chain {
                chain = e.next.take();
                let h = self.hasher.hash_one(e.key_bytes());
                let slot = &mut new.slots[(h & new_mask) as usize];
                e.next = slot.take();
                *slot = Some(e);
                old.used -= 1;
                new.used += 1;
            }
            idx += 1;
            moved += 1;
        }
        if old.used == 0 {
            self.ht.swap(0, 1);
            self.ht[1] = Buckets::empty();
            self.rehash_idx = None;
            false
        } else {
            self.rehash_idx = Some(idx);
            true
        }
    }

    /// Rehashes in steps of 100 buckets until done or `keep_going` says stop (a time budget).
    pub fn rehash_for(&mut self, mut keep_going: impl FnMut() -> bool) {
        while self.rehash_step(100) && keep_going() {}
    }

    /// Visits the buckets at `cursor` (see the module doc) and returns the next cursor, 0 when done.
    pub fn scan<'a>(&'a self, cursor: u64, mut visit: impl FnMut(&'a Entry<V>)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        let mut emit = |b: &'a Buckets<V>, v: u64| {
            let mut cur = b.slots[(v & b.mask()) as usize].as_deref();
            while let Some(e) = cur {
                visit(e);
                cur = e.next.as_deref();
            }
        };
        if !self.is_rehashing() {
            let t0 = &self.ht[0];
            emit(t0, v);
            v |= !t0.mask();
            return next_cursor(v);
        }
        let (small, large) = if self.ht[0].slots.len() <= self.ht[1].slots.len() {
            (&self.ht[0], &self.ht[1])
        } else {
            (&self.ht[1], &self.ht[0])
        };
        let (m0, m1) = (small.mask(), large.mask());
        emit(small, v);
        loop {
            emit(large, v);
            v |= !m1;
            v = next_cursor(v);
            if v & (m0 ^ m1) == 0 {
                break;
            }
        }
        v
    }

    /// One call of a SCAN-family command: scans from `cursor` until the scan wraps, `count` reply
    /// elements were gathered (`visit` returns how many an entry gave: 0 when filtered out, 2 for
    /// a field and its value), or, as Redis bounds it, `10 * count` buckets were visited so a
    /// sparse table still answers promptly. Returns the next cursor.
    pub fn scan_some<'a>(
        &'a self,
        mut cursor: u64,
        count: usize,
        mut visit: impl FnMut(&'a Entry<V>) -> usize,
    ) -> u64 {
        let mut gathered = 0usize;
        let mut buckets_left = count.saturating_mul(10);
        loop {
            cursor = self.scan(cursor, |e| gathered += visit(e));
            buckets_left = buckets_left.saturating_sub(1);
            if cursor == 0 || buckets_left == 0 || gathered >= count {
                return cursor;
            }
        }
    }

    /// Mutable variant of [`Table::scan`] used by active expiry: `visit` returns true to delete the entry.
    pub fn scan_remove(
        &mut self,
        cursor: u64,
        mut visit: impl FnMut(&mut Entry<V>) -> bool,
    ) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        let mut sweep = |b: &mut Buckets<V>, v: u64| {
            let mask = b.mask();
            let mut link = &mut b.slots[(v & mask) as usize];
            loop {
                let remove = match link.as_deref_mut() {
                    None => break,
                    Some(e) => visit(e),
                };
                if remove {
                    let Some(mut removed) = link.take() else {
                        break;
                    };
                    *link = removed.next.take();
                    b.used -= 1;
                } else {
                    match link {
                        None => break,
                        Some(e) => link = &mut e.next,
                    }
                }
            }
        };
        if !self.is_rehashing() {
            let t0 = &mut self.ht[0];
            sweep(t0, v);
            v |= !t0.mask();
            return next_cursor(v);
        }
        let (a, b) = self.ht.split_at_mut(1);
        let (small, large) = if a[0].slots.len() <= b[0].slots.len() {
            (&mut a[0], &mut b[0])
        } else {
            (&mut b[0], &mut a[0])
        };
        let (m0, m1) = (small.mask(), large.mask());
        sweep(small, v);
        loop {
            sweep(large, v);
            v |= !m1;
            v = next_cursor(v);
            if v & (m0 ^ m1) == 0 {
                break;
            }
        }
        v
    }

    /// A uniformly chosen entry (exactly, unless its chain is longer than [`FAIR_CHAIN_MAX`]);
    /// `rand` supplies random numbers. Rejection sampling: a uniformly chosen bucket is accepted
    /// with probability `chain length / FAIR_CHAIN_MAX`, then one of its entries uniformly, so
    /// every entry of a chain of up to `FAIR_CHAIN_MAX` has the same chance, which a pick of a
    /// random bucket's random entry does not give (an entry alone in its bucket would be favoured
    /// over one that shares it). A probe reads one bucket and its chain's links; after
    /// [`FAIR_PROBES_MAX`] probes (a table far sparser than its shrink point) it settles for
    /// [`Table::random_entry`].
    pub fn random_fair(&self, mut rand: impl FnMut() -> u64) -> Option<&Entry<V>> {
        if self.is_empty() {
            return None;
        }
        let live = self.live_buckets();
        let span = live.len() as u64;
        for _ in 0..FAIR_PROBES_MAX {
            let r = rand();
            let Some(head) = self.live_bucket(live.start + (r % span) as usize) else {
                continue;
            };
            let mut len = 1;
            let mut cur = head.next_link();
            while let Some(e) = cur {
                len += 1;
                cur = e.next_link();
            }
            // The high bits of the same draw choose the entry (the low ones chose the bucket).
            let k = ((r >> 40) % len.max(FAIR_CHAIN_MAX) as u64) as usize;
            if k < len {
                let mut e = head;
                for _ in 0..k {
                    e = e.next_link()?;
                }
                return Some(&**e);
            }
        }
        self.random_entry(rand)
    }

    /// The buckets that can hold entries, as one index space: the old array's from the rehash
    /// index on (those before it have moved), then the new array's.
    fn live_buckets(&self) -> core::ops::Range<usize> {
        let n0 = self.ht[0].slots.len();
        self.rehash_idx.unwrap_or(0)..n0 + self.ht[1].slots.len()
    }

    /// The chain at index `i` of [`Table::live_buckets`].
    #[inline]
    fn live_bucket(&self, i: usize) -> Option<&EntryBox<V>> {
        let n0 = self.ht[0].slots.len();
        if i < n0 {
            self.ht[0].slots[i].as_ref()
        } else {
            self.ht[1].slots[i - n0].as_ref()
        }
    }

    /// A uniformly chosen bucket's entry; `rand` supplies random numbers.
    pub fn random_entry(&self, mut rand: impl FnMut() -> u64) -> Option<&Entry<V>> {
        if self.is_empty() {
            return None;
        }
        let live = self.live_buckets();
        let span = live.len();
        // Random probes first; a sparse table falls back to a linear walk from a random bucket so the
        // search is always bounded.
        let mut head = None;
        for _ in 0..64 {
            if let Some(e) = self.live_bucket(live.start + (rand() % span as u64) as usize) {
                head = Some(e);
                break;
            }
        }
        if head.is_none() {
            let from = (rand() % span as u64) as usize;
            head = (0..span)
                .map(|k| live.start + (from + k) % span)
                .find_map(|i| self.live_bucket(i));
        }
        let head = head?;
        let mut chain_len = 0u64;
        let mut cur = Some(&**head);
        while let Some(e) = cur {
            chain_len += 1;
            cur = e.next.as_deref();
        }
        let mut k = rand() % chain_len;
        let mut cur: &Entry<V> = head;
        while k > 0 {
            cur = cur.next.as_deref()?;
            k -= 1;
        }
        Some(cur)
    }

    /// Heap bytes used by the bucket arrays (entries are counted by their owners).
    pub fn bucket_bytes(&self) -> usize {
        self.bucket_count() * core::mem::size_of::<Option<EntryBox<V>>>()
    }

    /// Bucket slots across both arrays: the index space of [`Table::slot_of`] and
    /// [`Table::chain_at`] (array 0's slots, then array 1's).
    pub fn slot_count(&self) -> usize {
        self.ht[0].slots.len() + self.ht[1].slots.len()
    }

    /// The slot `key` is in, or would be inserted into, in [`Table::slot_count`]'s index space.
    /// While rehashing is paused a key's slot does not change.
    pub fn slot_of(&self, key: &[u8]) -> usize {
        let h = self.hash(key);
        let n0 = self.ht[0].slots.len();
        for t in 0..self.table_count() {
            let b = &self.ht[t];
            if b.slots.is_empty() {
                continue;
            }
            let idx = (h & b.mask()) as usize;
            let mut cur = b.slots[idx].as_deref();
            while let Some(e) = cur {
                if e.key_bytes() == key {
                    return if t == 0 { idx } else { n0 + idx };
                }
                cur = e.next.as_deref();
            }
        }
        let t = if self.is_rehashing() { 1 } else { 0 };
        let b = &self.ht[t];
        let idx = (h & b.mask()) as usize;
        if t == 0 {
            idx
        } else {
            n0 + idx
        }
    }

    /// The entries of slot `i` of [`Table::slot_count`]'s index space.
    pub fn chain_at(&self, i: usize) -> impl Iterator<Item = &Entry<V>> {
        let n0 = self.ht[0].slots.len();
        let head = match i < n0 {
            true => self.ht[0].slots.get(i),
            false => self.ht[1].slots.get(i - n0),
        };
        let mut cur = head.and_then(|s| s.as_deref());
        core::iter::from_fn(move || {
            let e = cur?;
            cur = e.next.as_deref();
            Some(e)
        })
    }

    /// Iterates over all entries (order unspecified).
    pub fn iter(&self) -> impl Iterator<Item = &Entry<V>> {
        self.ht
            .iter()
            .flat_map(|b| b.slots.iter())
            .flat_map(|slot| {
                let mut cur = slot.as_deref();
                core::iter::from_fn(move || {
                    let e = cur?;
                    cur = e.next.as_deref();
                    Some(e)
                })
            })
    }
}

impl<V> core::fmt::Debug for Table<V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Table")
            .field("len", &self.len())
            .field("buckets", &self.bucket_count())
            .finish()
    }
}

impl<V> Drop for Table<V> {
    fn drop(&mut self) {
        self.clear();
    }
}

/// Increments the reversed cursor: reverse the bits, add one, reverse back.
#[inline]
fn next_cursor(v: u64) -> u64 {
    v.reverse_bits().wrapping_add(1).reverse_bits()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::collections::BTreeSet;
    use alloc::format;
    use alloc::vec::Vec;

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn insert_get_remove_through_rehash() {
        let mut t: Table<usize> = Table::new(7);
        for i in 0..10_000 {
            t.insert_new(&key(i), i, NO_EXPIRE, 0);
            assert_eq!(t.get(&key(i / 2)).map(|e| e.value), Some(i / 2));
        }
        assert_eq!(t.len(), 10_000);
        for i in (0..10_000).step_by(2) {
            assert_eq!(t.remove(&key(i)).map(|e| e.value), Some(i));
        }
        assert_eq!(t.len(), 5_000);
        assert!(t.get(&key(4)).is_none());
        assert_eq!(t.get(&key(5)).map(|e| e.value), Some(5));
        assert_eq!(t.iter().count(), 5_000);
    }

    #[test]
    fn scan_returns_every_stable_key_across_resizes() {
        let mut t: Table<usize> = Table::new(1);
        for i in 0..1000 {
            t.insert_new(&key(i), i, NO_EXPIRE, 0);
        }
        let mut seen = BTreeSet::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = t.scan(cursor, |e| {
                seen.insert(e.value);
            });
            // Grow and shrink the table between calls with keys that are not part of the stable set.
            round += 1;
            if round % 3 == 0 {
                for j in 0..200 {
                    t.insert_new(&key(100_000 + round * 1000 + j), 0, NO_EXPIRE, 0);
                }
            } else if round % 3 == 1 {
                let extra: Vec<Vec<u8>> = t
                    .iter()
                    .filter(|e| e.value == 0 && e.key_bytes() != b"key:0")
                    .map(|e| e.key_bytes().to_vec())
                    .collect();
                for k in extra {
                    t.remove(&k);
                }
                t.shrink_if_sparse();
            }
            t.rehash_step(3);
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(&i), "key {i} missed");
        }
    }

    #[test]
    fn keys_of_every_length_live_inline() {
        let mut t: Table<Vec<u8>> = Table::new(5);
        let lens = [
            0usize, 1, 10, 12, 13, 126, 127, 128, 254, 255, 256, 1000, 100_000,
        ];
        let key = |n: usize| (0..n).map(|i| (i % 251) as u8).collect::<Vec<u8>>();
        for &n in &lens {
            let e = t.insert_new(&key(n), alloc::vec![n as u8; 3], 77, 9);
            assert_eq!(e.key_bytes(), &key(n)[..]);
            assert!(e.alloc_size() >= entry_header_size::<Vec<u8>>() + n);
        }
        for &n in &lens {
            let e = t.get(&key(n)).expect("present");
            assert_eq!(
                (e.key_bytes(), e.expire_at_ms(), e.access()),
                (&key(n)[..], 77, 9)
            );
            assert_eq!(e.value, alloc::vec![n as u8; 3]);
        }
        // A 10-byte key with a 24-byte value takes 48 bytes, 56 with an expire time (the module's
        // promise).
        let mut small: Table<[u64; 3]> = Table::new(1);
        assert_eq!(
            small.insert_new(b"key:123456", [0; 3], 0, 0).alloc_size(),
            48
        );
        assert_eq!(
            small.insert_new(b"key:654321", [0; 3], 5, 0).alloc_size(),
            56
        );
        // A TTL added later moves the entry to a block with room for it, keeping its value,
        // access clock and chain; persisting keeps the room.
        for &n in &lens {
            assert_eq!(t.set_expire(&key(n), NO_EXPIRE), Some(77));
        }
        let mut grown: Table<Vec<u8>> = Table::new(3);
        for i in 0..64 {
            grown.insert_new(&key(i), alloc::vec![i as u8], NO_EXPIRE, i as u32);
        }
        for i in (0..64).step_by(3) {
            assert_eq!(grown.set_expire(&key(i), 1000 + i as u64), Some(NO_EXPIRE));
        }
        assert_eq!(grown.set_expire(b"absent", 5), None);
        for i in 0..64 {
            let e = grown.get(&key(i)).expect("present");
            let at = if i % 3 == 0 {
                1000 + i as u64
            } else {
                NO_EXPIRE
            };
            assert_eq!(
                (e.key_bytes(), e.expire_at_ms(), e.access(), &e.value[..]),
                (&key(i)[..], at, i as u32, &[i as u8][..])
            );
        }
        assert_eq!(grown.set_expire(&key(0), NO_EXPIRE), Some(1000));
        assert!(!grown.get(&key(0)).expect("present").has_expire());
        assert_eq!(grown.len(), 64);
        let removed = t.remove(&key(255)).expect("present");
        assert_eq!(removed.key_bytes(), &key(255)[..]);
        assert_eq!(removed.into_value(), alloc::vec![255u8; 3]);
        assert!(t.get(&key(255)).is_none());
        assert_eq!(t.len(), lens.len() - 1);
        // Dropping the table frees the rest (valgrind and the allocator counters watch this).
    }

    #[test]
    fn growth_waits_for_the_budget_until_chains_get_long() {
        let mut t: Table<usize> = Table::new(9);
        for i in 0..64 {
            t.insert_new(&key(i), i, NO_EXPIRE, 0);
        }
        while t.rehash_step(100) {}
        let buckets = t.bucket_count();
        t.set_grow_budget(16);
        // Past one key per bucket the table would grow; with no room it waits...
        for i in 64..(buckets * 1618 / 1000) {
            t.insert_new(&key(i), i, NO_EXPIRE, 0);
            assert!(!t.is_rehashing(), "grew at {i} keys");
        }
        // ...until the load factor passes 1.618, and then grows whatever the budget.
        for i in (buckets * 1618 / 1000)..(buckets * 2) {
            t.insert_new(&key(i), i, NO_EXPIRE, 0);
        }
        assert!(t.is_rehashing() || t.bucket_count() > buckets);
        assert!((0..buckets * 2).all(|i| t.get(&key(i)).map(|e| e.value) == Some(i)));
    }

    #[test]
    fn random_fair_is_uniform_across_chains() {
        let mut t: Table<usize> = Table::new(9);
        for i in 0..1000 {
            t.insert_new(&key(i), i, NO_EXPIRE, 0);
        }
        // Settled, as a table mostly is: while a growth moves entries, the old array's chains are
        // twice as long and a few may pass FAIR_CHAIN_MAX.
        while t.rehash_step(100) {}
        let mut x = 88172645463325252u64;
        let mut rng = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut counts = alloc::vec![0u32; 1000];
        for _ in 0..200_000 {
            counts[t.random_fair(&mut rng).unwrap().value] += 1;
        }
        // 200 expected each (sd ~14) for a key whose chain is at most FAIR_CHAIN_MAX long,
        // whether it shares its bucket or not; 200 * FAIR_CHAIN_MAX / chain for a longer chain.
        for (i, &c) in counts.iter().enumerate() {
            let h = t.hash(&key(i));
            let mut cur = t.ht[0].slots[(h & t.ht[0].mask()) as usize].as_deref();
            let mut chain = 0;
            while let Some(e) = cur {
                chain += 1;
                cur = e.next.as_deref();
            }
            let expect = 200 * FAIR_CHAIN_MAX.min(chain) / chain;
            assert!(
                c.abs_diff(expect as u32) < 70,
                "key {i}: {c} picks, chain {chain}"
            );
        }
        let empty: Table<usize> = Table::new(1);
        assert!(empty.random_fair(&mut rng).is_none());
    }

    #[test]
    fn random_entry_finds_keys() {
        let mut t: Table<usize> = Table::new(3);
        assert!(t.random_entry(|| 4).is_none());
        for i in 0..100 {
            t.insert_new(&key(i), i, NO_EXPIRE, 0);
        }
        let mut x = 12345u64;
        let mut rng = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..100 {
            assert!(t.random_entry(&mut rng).is_some());
        }
    }
}
