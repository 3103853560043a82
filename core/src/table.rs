//! Ember's keyspace hash table: chained buckets, incremental rehashing, and a resize-safe SCAN cursor.
//!
//! Each entry is one block holding its key, value, expire time and access clock, so a key costs one
//! block plus its bucket slot, and expire times need no second table keyed by the same string.
//! Blocks come from the table's [`Pool`] and are named by 32-bit handles: a bucket slot and a chain
//! link take 4 bytes, not 8. A value that packs (a short string or an integer, see [`Packable`])
//! is stored as its bytes inside the entry instead of a whole `V`, so `SET key:1 value` costs an
//! 8-byte header, the key, the value's bytes and rounding to 8.
//!
//! Growing never pauses: like Redis's `dict.c`, a resize allocates the new bucket array and then moves a
//! few buckets per operation ([`Table::rehash_step`]) and per cron tick ([`Table::rehash_for`]), looking up
//! keys in both arrays meanwhile. [`Table::scan`] walks buckets in reverse-binary cursor order, which
//! returns every entry present for the whole scan at least once even when the table grows or shrinks
//! between calls.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::hash::BuildHasher;
use core::marker::PhantomData;

use crate::pool::{Pool, MAX_UNITS, UNIT};

/// No expire time set.
pub const NO_EXPIRE: u64 = 0;

/// Smallest bucket array.
const INITIAL_BUCKETS: usize = 4;

/// Per rehash step, at most this many empty buckets are visited for each bucket to move. Redis
/// visits 10; an empty visit here is one sequential 4-byte read, and a shrinking table (at most
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

/// Most bytes a packed value takes.
pub const PACK_MAX: usize = 24;

/// How a table's value type is stored in an entry: whole, or (when [`Packable::pack`] says so) as
/// up to [`PACK_MAX`] bytes that [`Packable::unpack`] turns back into the same value. Reading a
/// packed value builds it afresh; changing it in place needs [`Table::get_mut_live`] with
/// `unpack`, which stores it whole.
pub trait Packable: Sized {
    /// Whether `pack` ever packs (tables of values that never do read them by reference through
    /// [`Entry::whole`]).
    const PACKS: bool = false;
    /// Writes the packed form into `out` and returns its length; `None` stores the value whole.
    fn pack(&self, _out: &mut [u8; PACK_MAX]) -> Option<usize> {
        None
    }
    /// The value `pack` wrote.
    fn unpack(_bytes: &[u8]) -> Self {
        unreachable!("a value that never packs was stored packed")
    }
}

impl Packable for () {}
impl Packable for f64 {}
impl Packable for u64 {}
impl Packable for usize {}

/// One key: its value (whole or packed), access clock, expire time and the key's bytes, in one
/// pool block:
///
/// ```text
/// next: u32 | meta: u32 | [expire: u64] | value: V              | key part
/// next: u32 | meta: u32 | [expire: u64] | len: u8 | key part    | len packed bytes
/// ```
///
/// (A packed value follows the key, so a new packed value of about the same length is written
/// over the old one in place.)
///
/// The key part is the key itself when it is shorter than [`MEDIUM_KEY`] bytes (its length is in
/// `meta`), a length byte and the key up to [`MEDIUM_KEY_MAX`] bytes, and past that a pointer and
/// length to a heap copy. A 10-byte key with a 16-byte packed value takes 40 bytes, 48 with an
/// expire time; with a whole 24-byte value, 48 and 56.
#[repr(C)]
pub struct Entry<V> {
    next: u32,
    /// The access clock in the low 24 bits ([`ACCESS_MASK`]; see [`Entry::access`]), the key
    /// part's kind in the next 6, [`PACKED`] and [`HAS_EXPIRE_ROOM`] in the top two.
    meta: u32,
    _value: PhantomData<V>,
    /// Everything after the header as bytes. A whole `V` inside it may have padding that was never
    /// initialized: the tail is only ever read as bytes outside the value's span, and the value
    /// through a `V` pointer (so `V` must not hold interior mutability behind such a byte view;
    /// none of the table's value types do).
    tail: [u8],
}

/// Bytes before the tail (`next` and `meta`).
const HEADER: usize = 8;

/// The access clock's bits in `meta`: Redis's 24-bit `lru` field (seconds, wrapping every 194
/// days, or LFU data).
pub const ACCESS_MASK: u32 = (1 << 24) - 1;

const KLEN_SHIFT: u32 = 24;
const KLEN_MASK: u32 = 0x3f;
/// Key part kinds past the inline lengths: a length byte then the key, or a heap reference.
const MEDIUM_KEY: u32 = 62;
const LONG_KEY: u32 = 63;
/// Longest key stored in the entry itself.
pub const MEDIUM_KEY_MAX: usize = 255;
/// Bytes of a long key's reference (pointer and length).
const LONG_REF: usize = 2 * core::mem::size_of::<usize>();

/// `meta` bit: the value is stored packed.
const PACKED: u32 = 1 << 30;
/// `meta` bit: the tail starts with 8 bytes of expire time ([`NO_EXPIRE`] once persisted).
const HAS_EXPIRE_ROOM: u32 = 1 << 31;

/// Seconds since an LRU access clock reading (both wrap at 24 bits, as Redis's do).
#[inline]
pub fn lru_idle_s(now_s: u32, access: u32) -> u32 {
    now_s.wrapping_sub(access) & ACCESS_MASK
}

/// Bytes of an entry before its key when its value is stored whole (without an expire time).
pub fn entry_header_size<V>() -> usize {
    HEADER + core::mem::size_of::<V>()
}

/// Pool units of a block of `bytes` bytes.
#[inline]
fn units_for(bytes: usize) -> usize {
    bytes.div_ceil(UNIT)
}

/// A value read from an entry: borrowed when stored whole, rebuilt when packed.
pub enum ValueRef<'a, V> {
    Borrowed(&'a V),
    Owned(V),
}

impl<V> core::ops::Deref for ValueRef<'_, V> {
    type Target = V;
    #[inline]
    fn deref(&self) -> &V {
        match self {
            ValueRef::Borrowed(v) => v,
            ValueRef::Owned(v) => v,
        }
    }
}

impl<V: Clone> ValueRef<'_, V> {
    pub fn into_owned(self) -> V {
        match self {
            ValueRef::Borrowed(v) => v.clone(),
            ValueRef::Owned(v) => v,
        }
    }
}

#[allow(unsafe_code)]
impl<V> Entry<V> {
    #[inline]
    fn exp_len(&self) -> usize {
        if self.meta & HAS_EXPIRE_ROOM != 0 {
            8
        } else {
            0
        }
    }

    /// Where the key part starts in the tail: after the whole value, or the packed length byte.
    #[inline]
    fn key_at(&self) -> usize {
        self.exp_len()
            + if self.meta & PACKED != 0 {
                1
            } else {
                core::mem::size_of::<V>()
            }
    }

    /// Bytes of the key part.
    #[inline]
    fn key_part_len(&self) -> usize {
        match (self.meta >> KLEN_SHIFT) & KLEN_MASK {
            LONG_KEY => LONG_REF,
            MEDIUM_KEY => 1 + self.tail[self.key_at()] as usize,
            n => n as usize,
        }
    }

    /// The packed value's bytes (empty when the value is whole).
    #[inline]
    fn packed_bytes(&self) -> &[u8] {
        if self.meta & PACKED == 0 {
            return &[];
        }
        let n = self.tail[self.exp_len()] as usize;
        let at = self.key_at() + self.key_part_len();
        &self.tail[at..at + n]
    }

    #[inline]
    pub fn key_bytes(&self) -> &[u8] {
        let at = self.key_at();
        match (self.meta >> KLEN_SHIFT) & KLEN_MASK {
            LONG_KEY => {
                let (p, n) = self.long_key_ref(at);
                // SAFETY: a long key's reference points to its boxed slice of `n` bytes, owned by
                // this entry (freed only when the entry is taken apart).
                unsafe { core::slice::from_raw_parts(p, n) }
            }
            MEDIUM_KEY => {
                let n = self.tail[at] as usize;
                &self.tail[at + 1..at + 1 + n]
            }
            n => &self.tail[at..at + n as usize],
        }
    }

    #[allow(unsafe_code)]
    fn long_key_ref(&self, at: usize) -> (*mut u8, usize) {
        let w = core::mem::size_of::<usize>();
        assert!(at + 2 * w <= self.tail.len());
        // SAFETY: the reference's two words lie inside the tail (checked above), written by
        // `write_long_ref` as a pointer (keeping its provenance) and a length, unaligned.
        unsafe {
            let at = self.tail.as_ptr().add(at);
            (
                at.cast::<*mut u8>().read_unaligned(),
                at.add(w).cast::<usize>().read_unaligned(),
            )
        }
    }

    /// Heap bytes of the key when it is stored outside the block.
    #[inline]
    pub fn key_heap_size(&self) -> usize {
        match (self.meta >> KLEN_SHIFT) & KLEN_MASK {
            LONG_KEY => self.key_bytes().len(),
            _ => 0,
        }
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

    /// Bytes of the entry's block (fields, key and rounding; a long key's heap copy apart, see
    /// [`Entry::key_heap_size`]).
    pub fn alloc_size(&self) -> usize {
        units_for(HEADER + self.tail.len()) * UNIT
    }

    /// Whether the value is stored packed (read through [`Entry::value`] only).
    #[inline]
    pub fn is_packed(&self) -> bool {
        self.meta & PACKED != 0
    }

    /// The whole value.
    ///
    /// # Safety
    /// The value is stored whole (not packed).
    #[inline]
    unsafe fn whole_unchecked(&self) -> &V {
        // SAFETY: a whole value lives right after the expire time (block offset 8 or 16,
        // aligned for any `V` a table accepts), initialized by `make` and owned by the entry.
        unsafe { &*self.tail.as_ptr().add(self.exp_len()).cast::<V>() }
    }

    /// The whole value, to change in place.
    ///
    /// # Safety
    /// As [`Entry::whole_unchecked`].
    #[inline]
    unsafe fn whole_mut_unchecked(&mut self) -> &mut V {
        let at = self.exp_len();
        // SAFETY: as in `whole_unchecked`; `&mut self` makes the access exclusive.
        unsafe { &mut *self.tail.as_mut_ptr().add(at).cast::<V>() }
    }

    /// The value: borrowed when stored whole, rebuilt from its bytes when packed.
    #[inline]
    pub fn value(&self) -> ValueRef<'_, V>
    where
        V: Packable,
    {
        match self.as_whole() {
            Some(v) => ValueRef::Borrowed(v),
            None => ValueRef::Owned(V::unpack(self.packed_bytes())),
        }
    }

    /// The value of a table whose values never pack (checked at compile time).
    #[inline]
    pub fn whole(&self) -> &V
    where
        V: Packable,
    {
        const { assert!(!V::PACKS) };
        // SAFETY: a value that never packs is always stored whole.
        unsafe { self.whole_unchecked() }
    }

    /// The value of a table whose values never pack, to change in place.
    #[inline]
    pub fn whole_mut(&mut self) -> &mut V
    where
        V: Packable,
    {
        const { assert!(!V::PACKS) };
        // SAFETY: as in `whole`.
        unsafe { self.whole_mut_unchecked() }
    }

    /// The value by reference when it is stored whole; `None` when packed (for readers that
    /// look for a collection, which never packs).
    #[inline]
    pub fn as_whole(&self) -> Option<&V> {
        // SAFETY: checked not packed.
        (!self.is_packed()).then(|| unsafe { self.whole_unchecked() })
    }

    /// The value to change in place; `None` when it is stored packed.
    #[inline]
    pub fn value_mut(&mut self) -> Option<&mut V> {
        if self.is_packed() {
            return None;
        }
        // SAFETY: checked not packed.
        Some(unsafe { self.whole_mut_unchecked() })
    }
}

/// The entry at block address `p`, as a fat pointer covering its fields.
#[inline]
#[allow(unsafe_code)]
fn fat<V>(p: *mut u8) -> *mut Entry<V> {
    // SAFETY: `p` is a live entry written by `make`: `meta` at offset 4, then the expire time, the
    // packed length byte when packed, the medium key length byte when medium, all initialized.
    unsafe {
        let meta = p.add(4).cast::<u32>().read();
        let exp = if meta & HAS_EXPIRE_ROOM != 0 { 8 } else { 0 };
        let (key_at, packed) = if meta & PACKED != 0 {
            (exp + 1, *p.add(HEADER + exp) as usize)
        } else {
            (exp + core::mem::size_of::<V>(), 0)
        };
        let key_part = match (meta >> KLEN_SHIFT) & KLEN_MASK {
            LONG_KEY => LONG_REF,
            MEDIUM_KEY => 1 + *p.add(HEADER + key_at) as usize,
            n => n as usize,
        };
        core::ptr::slice_from_raw_parts_mut(p, key_at + key_part + packed) as *mut Entry<V>
    }
}

/// A key to store: borrowed bytes, or (moving an entry) the heap copy of a long key.
enum KeySrc<'a> {
    Bytes(&'a [u8]),
    Boxed(Box<[u8]>),
}

/// What an entry holds besides its key, taken out to move it or to hand it back.
struct Parts<V> {
    value: V,
    room: bool,
    at_ms: u64,
    access: u32,
}

/// An entry removed from the table: its value, expire time and access clock.
pub struct Removed<V> {
    pub value: V,
    expire_at_ms: u64,
    access: u32,
    /// What the entry took besides its value's own heap: its block and a long key's copy.
    pub entry_bytes: usize,
}

impl<V> Removed<V> {
    pub fn expire_at_ms(&self) -> u64 {
        self.expire_at_ms
    }
    pub fn has_expire(&self) -> bool {
        self.expire_at_ms != NO_EXPIRE
    }
    pub fn access(&self) -> u32 {
        self.access
    }
    pub fn into_value(self) -> V {
        self.value
    }
}

/// The key part's kind (for `meta`) and length for a key of `klen` bytes.
#[inline]
fn key_shape(klen: usize) -> (u32, usize) {
    if klen < MEDIUM_KEY as usize {
        (klen as u32, klen)
    } else if klen <= MEDIUM_KEY_MAX {
        (MEDIUM_KEY, 1 + klen)
    } else {
        (LONG_KEY, LONG_REF)
    }
}

/// Units of an entry with these parts.
#[inline]
fn entry_units<V>(room: bool, pack_len: Option<usize>, key_part: usize) -> usize {
    let exp = if room { 8 } else { 0 };
    let value_part = match pack_len {
        Some(n) => 1 + n,
        None => core::mem::size_of::<V>(),
    };
    units_for(HEADER + exp + value_part + key_part)
}

/// The packed form of `value` in `out` when `may_pack` and it packs (a length beyond the buffer
/// would be a bug in `pack`: the value is then stored whole).
#[inline]
fn pack_of<V: Packable>(value: &V, may_pack: bool, out: &mut [u8; PACK_MAX]) -> Option<usize> {
    if may_pack {
        value.pack(out).filter(|&n| n <= PACK_MAX)
    } else {
        None
    }
}

/// Writes a new entry into a fresh block and returns its handle (with no `next`). The value is
/// packed when `may_pack` and it packs.
#[allow(unsafe_code)]
fn make<V: Packable>(pool: &mut Pool, key: KeySrc<'_>, parts: Parts<V>, may_pack: bool) -> u32 {
    let Parts {
        value,
        room,
        at_ms,
        access,
    } = parts;
    let mut packed = [0u8; PACK_MAX];
    let pack_len = pack_of(&value, may_pack, &mut packed);
    let klen = match &key {
        KeySrc::Bytes(k) => k.len(),
        KeySrc::Boxed(k) => k.len(),
    };
    let (kind, key_part) = key_shape(klen);
    let units = entry_units::<V>(room, pack_len, key_part);
    debug_assert!(units <= MAX_UNITS);
    let h = pool.alloc(units);
    let p = pool.ptr(h);
    let meta = (access & ACCESS_MASK)
        | (kind << KLEN_SHIFT)
        | if pack_len.is_some() { PACKED } else { 0 }
        | if room { HAS_EXPIRE_ROOM } else { 0 };
    // SAFETY: `p` is a fresh block of `units * UNIT` bytes, 8-aligned, which holds every part
    // written below (sized above); the value is moved in exactly once (or dropped when packed).
    unsafe {
        p.cast::<u32>().write(0);
        p.add(4).cast::<u32>().write(meta);
        let mut at = p.add(HEADER);
        if room {
            core::ptr::copy_nonoverlapping(at_ms.to_le_bytes().as_ptr(), at, 8);
            at = at.add(8);
        }
        match pack_len {
            Some(n) => {
                *at = n as u8;
                at = at.add(1);
                drop(value);
            }
            None => {
                at.cast::<V>().write(value);
                at = at.add(core::mem::size_of::<V>());
            }
        }
        match key {
            KeySrc::Bytes(k) if kind != LONG_KEY => {
                if kind == MEDIUM_KEY {
                    *at = klen as u8;
                    at = at.add(1);
                }
                core::ptr::copy_nonoverlapping(k.as_ptr(), at, klen);
                at = at.add(klen);
            }
            KeySrc::Bytes(k) => {
                write_long_ref(at, Box::from(k));
                at = at.add(LONG_REF);
            }
            KeySrc::Boxed(b) => {
                write_long_ref(at, b);
                at = at.add(LONG_REF);
            }
        }
        if let Some(n) = pack_len {
            core::ptr::copy_nonoverlapping(packed.as_ptr(), at, n);
        }
    }
    if kind == LONG_KEY {
        pool.outside += klen;
    }
    h
}

/// Stores a long key's heap copy as (pointer, length) at `at`; the entry owns it from now on.
#[allow(unsafe_code)]
unsafe fn write_long_ref(at: *mut u8, key: Box<[u8]>) {
    let n = key.len();
    let p = Box::into_raw(key).cast::<u8>();
    // SAFETY: the caller sized the block for a LONG_REF at `at`; unaligned writes of a pointer
    // and a length.
    unsafe {
        at.cast::<*mut u8>().write_unaligned(p);
        at.add(core::mem::size_of::<usize>())
            .cast::<usize>()
            .write_unaligned(n);
    }
}

/// Moves the value out of entry `e` (a packed one rebuilt) with its expire time and clock; the
/// block must then be freed without dropping the value again.
///
/// # Safety
/// `e` is a live entry whose value is not used again after this.
#[allow(unsafe_code)]
unsafe fn take_parts<V: Packable>(e: &Entry<V>) -> Parts<V> {
    let value = if e.is_packed() {
        V::unpack(e.packed_bytes())
    } else {
        // SAFETY: the value is stored whole; the caller never reads it again.
        unsafe { core::ptr::read(e.whole_unchecked()) }
    };
    Parts {
        value,
        room: e.meta & HAS_EXPIRE_ROOM != 0,
        at_ms: e.expire_at_ms(),
        access: e.access(),
    }
}

/// Takes entry `h` apart (the value moved out, a long key's copy dropped) and frees its block.
/// Returns the parts and the bytes the entry took (its block and a long key's copy).
#[allow(unsafe_code)]
fn take<V: Packable>(pool: &mut Pool, h: u32) -> (Parts<V>, usize) {
    let p = pool.ptr(h);
    // SAFETY: `h` is a live entry; the fat pointer covers it. The value is moved out once and the
    // block freed without dropping it; a long key's box, owned only by this entry, is rebuilt
    // and dropped.
    let (parts, units, key_heap) = unsafe {
        let e = &*fat::<V>(p);
        let parts = take_parts(e);
        let key_heap = e.key_heap_size();
        if key_heap > 0 {
            let (kp, n) = e.long_key_ref(e.key_at());
            drop(Box::from_raw(core::ptr::slice_from_raw_parts_mut(kp, n)));
        }
        (parts, e.alloc_size() / UNIT, key_heap)
    };
    pool.outside -= key_heap;
    pool.free(h, units);
    (parts, units * UNIT + key_heap)
}

/// Moves entry `h` to a new block with its key and chain link, its other parts changed by `f`,
/// and returns the new handle. The new block is written before the old one is freed, so the
/// key is copied straight across (a long key's copy changes hands).
#[allow(unsafe_code)]
fn move_entry<V: Packable, R>(
    pool: &mut Pool,
    h: u32,
    may_pack: bool,
    f: impl FnOnce(&mut Parts<V>) -> R,
) -> (u32, R) {
    let p = pool.ptr(h);
    // SAFETY: `h` is live; its block stays allocated (and unchanged: `make` writes only the new
    // block) until the `free` at the end, so the key slice read from it stays valid while `make`
    // copies it. The value is moved out once; a long key's box moves to the new entry, so the
    // old block is freed without dropping anything.
    unsafe {
        let e = &*fat::<V>(p);
        let mut parts = take_parts(e);
        let r = f(&mut parts);
        let next = e.next;
        let units = e.alloc_size() / UNIT;
        let key = if e.key_heap_size() > 0 {
            let (kp, n) = e.long_key_ref(e.key_at());
            pool.outside -= n;
            KeySrc::Boxed(Box::from_raw(core::ptr::slice_from_raw_parts_mut(kp, n)))
        } else {
            KeySrc::Bytes(&*(e.key_bytes() as *const [u8]))
        };
        let nh = make(pool, key, parts, may_pack);
        set_next(pool, nh, next);
        pool.free(h, units);
        (nh, r)
    }
}

#[inline]
#[allow(unsafe_code)]
fn next_of(pool: &Pool, h: u32) -> u32 {
    // SAFETY: `next` is the first field of the live entry `h`.
    unsafe { pool.ptr(h).cast::<u32>().read() }
}

#[inline]
#[allow(unsafe_code)]
fn set_next(pool: &mut Pool, h: u32, next: u32) {
    // SAFETY: as in `next_of`; `&mut Pool` makes the write exclusive.
    unsafe { pool.ptr(h).cast::<u32>().write(next) }
}

struct Buckets {
    /// Chain heads (entry handles, 0 for none).
    slots: Vec<u32>,
    used: usize,
}

impl Buckets {
    /// A zeroed bucket array (`vec![0; n]` comes from `alloc_zeroed`, so the operating system
    /// hands out zero pages lazily and growing a table of millions of keys does not stop to write
    /// every slot).
    fn new(n: usize) -> Self {
        Buckets {
            slots: vec![0; n],
            used: 0,
        }
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

/// Where an entry's handle is stored: a bucket slot (array, index) or the previous entry's link.
#[derive(Clone, Copy)]
enum Link {
    Slot(usize, usize),
    Next(u32),
}

pub struct Table<V: Packable> {
    hasher: foldhash::fast::FixedState,
    /// `ht[0]` is the live array; while rehashing, entries move from `ht[0]` to `ht[1]`.
    ht: [Buckets; 2],
    /// Next bucket of `ht[0]` to move, while a rehash is in progress.
    rehash_idx: Option<usize>,
    /// Number of outstanding "pause rehash" holds (a snapshot walking the table).
    rehash_paused: u32,
    /// Most bytes a new bucket array may take (the host's room under maxmemory), unless the load
    /// factor passes [`FORCE_GROW_LOAD_MILLI`].
    grow_budget: usize,
    pool: Pool,
    _values: PhantomData<V>,
}

#[allow(unsafe_code)]
impl<V: Packable> Table<V> {
    pub fn new(seed: u64) -> Self {
        const {
            assert!(core::mem::align_of::<V>() <= UNIT);
            assert!(
                HEADER + 8 + core::mem::size_of::<V>() + 1 + MEDIUM_KEY_MAX <= MAX_UNITS * UNIT
            );
        }
        Table {
            hasher: foldhash::fast::FixedState::with_seed(seed),
            ht: [Buckets::empty(), Buckets::empty()],
            rehash_idx: None,
            rehash_paused: 0,
            grow_budget: usize::MAX,
            pool: Pool::new(),
            _values: PhantomData,
        }
    }

    /// The live entry `h`.
    #[inline]
    fn at(&self, h: u32) -> &Entry<V> {
        // SAFETY: `h` is a live entry of this table's pool; `&self` keeps it from changing.
        unsafe { &*fat::<V>(self.pool.ptr(h)) }
    }

    /// The live entry `h`, exclusively.
    #[inline]
    fn at_mut(&mut self, h: u32) -> &mut Entry<V> {
        // SAFETY: as in `at`; `&mut self` makes the access exclusive.
        unsafe { &mut *fat::<V>(self.pool.ptr(h)) }
    }

    #[inline]
    fn next(&self, h: u32) -> u32 {
        next_of(&self.pool, h)
    }

    #[inline]
    fn link(&self, l: Link) -> u32 {
        match l {
            Link::Slot(t, i) => self.ht[t].slots[i],
            Link::Next(h) => self.next(h),
        }
    }

    #[inline]
    fn set_link(&mut self, l: Link, h: u32) {
        match l {
            Link::Slot(t, i) => self.ht[t].slots[i] = h,
            Link::Next(p) => set_next(&mut self.pool, p, h),
        }
    }

    /// `key`'s entry in array `t`: the link that holds it and its handle.
    #[inline]
    fn find_in(&self, t: usize, hash: u64, key: &[u8]) -> Option<(Link, u32)> {
        let b = &self.ht[t];
        if b.slots.is_empty() {
            return None;
        }
        let idx = (hash & b.mask()) as usize;
        let mut link = Link::Slot(t, idx);
        let mut h = b.slots[idx];
        while h != 0 {
            if self.at(h).key_bytes() == key {
                return Some((link, h));
            }
            link = Link::Next(h);
            h = self.next(h);
        }
        None
    }

    /// `key`'s entry: its array, link and handle.
    #[inline]
    fn find(&self, key: &[u8]) -> Option<(usize, Link, u32)> {
        if self.is_empty() {
            return None;
        }
        let hash = self.hash(key);
        (0..self.table_count()).find_map(|t| self.find_in(t, hash, key).map(|(l, h)| (t, l, h)))
    }

    /// Unlinks entry `h` (held by `link` in array `t`) and takes it apart.
    fn unlink(&mut self, t: usize, link: Link, h: u32) -> Removed<V> {
        let next = self.next(h);
        self.set_link(link, next);
        self.ht[t].used -= 1;
        let (parts, bytes): (Parts<V>, usize) = take(&mut self.pool, h);
        Removed {
            value: parts.value,
            expire_at_ms: parts.at_ms,
            access: parts.access,
            entry_bytes: bytes,
        }
    }

    /// Rebuilds entry `h` (held by `link`) through `f` and returns the new handle.
    fn rebuild<R>(
        &mut self,
        link: Link,
        h: u32,
        may_pack: bool,
        f: impl FnOnce(&mut Parts<V>) -> R,
    ) -> (u32, R) {
        let (nh, r) = move_entry(&mut self.pool, h, may_pack, f);
        self.set_link(link, nh);
        (nh, r)
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
        let (_, _, h) = self.find(key)?;
        Some(self.at(h))
    }

    /// The entry of `key`, to change its metadata or (see [`Entry::value_mut`]) a whole value.
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut Entry<V>> {
        self.rehash_step(1);
        let (_, _, h) = self.find(key)?;
        Some(self.at_mut(h))
    }

    /// Looks `key` up once: returns the entry, or removes and returns it as `Err` when `is_dead`
    /// says so (an expired key), so lazy expiry costs a single chain walk. With `unpack`, a packed
    /// value is stored whole first, so [`Entry::value_mut`] gives it, and the flag says whether
    /// that happened.
    pub fn get_mut_live(
        &mut self,
        key: &[u8],
        is_dead: impl FnOnce(&Entry<V>) -> bool,
        unpack: Option<&mut bool>,
    ) -> Result<Option<&mut Entry<V>>, Removed<V>> {
        if self.is_empty() {
            return Ok(None);
        }
        self.rehash_step(1);
        let Some((t, link, mut h)) = self.find(key) else {
            return Ok(None);
        };
        if is_dead(self.at(h)) {
            return Err(self.unlink(t, link, h));
        }
        if let Some(unpacked) = unpack {
            if self.at(h).is_packed() {
                h = self.rebuild(link, h, false, |_| {}).0;
                *unpacked = true;
            }
        }
        Ok(Some(self.at_mut(h)))
    }

    /// Inserts a key that the caller knows is absent, and returns its entry.
    pub fn insert_new(
        &mut self,
        key: &[u8],
        value: V,
        expire_at_ms: u64,
        access_s: u32,
    ) -> &mut Entry<V> {
        let h = self.insert_with(key, value, expire_at_ms, access_s, true);
        self.at_mut(h)
    }

    /// Inserts a key that the caller knows is absent with its value stored whole, and returns the
    /// value (to fill in place).
    pub fn insert_whole(&mut self, key: &[u8], value: V, access_s: u32) -> &mut V {
        let h = self.insert_with(key, value, NO_EXPIRE, access_s, false);
        // SAFETY: the value was stored whole (`may_pack` false).
        unsafe { self.at_mut(h).whole_mut_unchecked() }
    }

    fn insert_with(
        &mut self,
        key: &[u8],
        value: V,
        expire_at_ms: u64,
        access_s: u32,
        may_pack: bool,
    ) -> u32 {
        debug_assert!(self.get(key).is_none());
        self.rehash_step(1);
        self.grow_if_needed();
        let hash = self.hash(key);
        let t = if self.is_rehashing() { 1 } else { 0 };
        let room = expire_at_ms != NO_EXPIRE;
        let parts = Parts {
            value,
            room,
            at_ms: expire_at_ms,
            access: access_s,
        };
        let h = make(&mut self.pool, KeySrc::Bytes(key), parts, may_pack);
        let b = &mut self.ht[t];
        let idx = (hash & b.mask()) as usize;
        let head = b.slots[idx];
        b.slots[idx] = h;
        b.used += 1;
        set_next(&mut self.pool, h, head);
        h
    }

    /// Replaces the value of `key` (packed when it packs), and its expire time when
    /// `expire_at_ms` is given ([`NO_EXPIRE`] clears it), keeping its access clock. Returns the old
    /// value when it was stored whole (a packed one owns nothing and is dropped unread), the old
    /// expire time and the entry; `Err(value)` when the key is absent.
    #[allow(clippy::type_complexity)]
    pub fn replace_value(
        &mut self,
        key: &[u8],
        value: V,
        expire_at_ms: Option<u64>,
    ) -> Result<(Option<V>, u64, &mut Entry<V>), V> {
        self.rehash_step(1);
        let Some((_, link, h)) = self.find(key) else {
            return Err(value);
        };
        let e = self.at(h);
        let was = e.expire_at_ms();
        let room = e.meta & HAS_EXPIRE_ROOM != 0;
        let needs_room = !room && expire_at_ms.is_some_and(|at| at != NO_EXPIRE);
        let mut packed = [0u8; PACK_MAX];
        let pack_len = pack_of(&value, true, &mut packed);
        let key_part = e.key_part_len();
        let units = e.alloc_size() / UNIT;
        // Whole for whole, or packed for packed in a block of the same size: no new block.
        let same_shape = !needs_room
            && match (e.is_packed(), pack_len) {
                (false, None) => true,
                (true, Some(_)) => entry_units::<V>(room, pack_len, key_part) == units,
                _ => false,
            };
        if same_shape {
            let e = self.at_mut(h);
            if let Some(at) = expire_at_ms {
                e.try_set_expire(at);
            }
            let exp = e.exp_len();
            let old = match pack_len {
                None => {
                    // SAFETY: the value is stored whole (checked above).
                    let slot = unsafe { e.whole_mut_unchecked() };
                    Some(core::mem::replace(slot, value))
                }
                Some(n) => {
                    let at = e.key_at() + key_part;
                    let p = self.pool.ptr(h);
                    // SAFETY: the block has `units` units, which hold the header, the expire
                    // time, the length byte, the key part and `n` packed bytes (`entry_units`
                    // said so above); the new length byte and bytes replace the old ones.
                    unsafe {
                        *p.add(HEADER + exp) = n as u8;
                        core::ptr::copy_nonoverlapping(packed.as_ptr(), p.add(HEADER + at), n);
                    }
                    drop(value);
                    None
                }
            };
            return Ok((old, was, self.at_mut(h)));
        }
        let packed = e.is_packed();
        let (nh, old) = self.rebuild(link, h, true, |p| {
            if let Some(at) = expire_at_ms {
                p.room |= at != NO_EXPIRE;
                p.at_ms = at;
            }
            Some(core::mem::replace(&mut p.value, value)).filter(|_| !packed)
        });
        Ok((old, was, self.at_mut(nh)))
    }

    /// Packs the value of `key` again if it is stored whole and packs (after a command changed
    /// it in place); false when it did not.
    pub fn repack(&mut self, key: &[u8]) -> bool {
        let Some((_, link, h)) = self.find(key) else {
            return false;
        };
        let e = self.at(h);
        let mut scratch = [0u8; PACK_MAX];
        if e.is_packed() || e.as_whole().and_then(|v| v.pack(&mut scratch)).is_none() {
            return false;
        }
        self.rebuild(link, h, true, |_| {});
        true
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

    /// Sets (or clears, [`NO_EXPIRE`]) the expire time of `key` and returns the one it had;
    /// `None` when the key is absent. An entry created without an expire time moves to a new
    /// block with room for one (its chain link is updated in place).
    pub fn set_expire(&mut self, key: &[u8], at_ms: u64) -> Option<u64> {
        self.rehash_step(1);
        let (_, link, h) = self.find(key)?;
        let e = self.at_mut(h);
        let was = e.expire_at_ms();
        if !e.try_set_expire(at_ms) {
            let packed = e.is_packed();
            self.rebuild(link, h, packed, |p| {
                p.room = true;
                p.at_ms = at_ms;
            });
        }
        Some(was)
    }

    /// Removes `key` and returns its value, expire time and access clock.
    pub fn remove(&mut self, key: &[u8]) -> Option<Removed<V>> {
        self.rehash_step(1);
        let (t, link, h) = self.find(key)?;
        Some(self.unlink(t, link, h))
    }

    /// Drops every entry and returns the table to its initial empty state.
    pub fn clear(&mut self) {
        for t in 0..2 {
            let slots = core::mem::take(&mut self.ht[t].slots);
            for mut h in slots {
                while h != 0 {
                    let next = self.next(h);
                    drop(take::<V>(&mut self.pool, h).0);
                    h = next;
                }
            }
            self.ht[t] = Buckets::empty();
        }
        self.pool.reset();
        self.rehash_idx = None;
    }

    /// Bytes of the blocks holding the entries (the room the pool holds for more is not
    /// counted; see [`crate::pool::idle_bytes`]).
    pub fn entry_bytes(&self) -> usize {
        self.pool.live_bytes() + self.pool.outside
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
            let bytes = buckets.saturating_mul(core::mem::size_of::<u32>());
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
        let new_mask = self.ht[1].mask();
        while moved < n && self.ht[0].used > 0 {
            debug_assert!(idx < self.ht[0].slots.len());
            let mut h = core::mem::take(&mut self.ht[0].slots[idx]);
            if h == 0 {
                idx += 1;
                empty_visits -= 1;
                if empty_visits == 0 {
                    break;
                }
                continue;
            }
            while h != 0 {
                let next = self.next(h);
                let hash = self.hasher.hash_one(self.at(h).key_bytes());
                let slot = (hash & new_mask) as usize;
                let head = self.ht[1].slots[slot];
                set_next(&mut self.pool, h, head);
                self.ht[1].slots[slot] = h;
                self.ht[0].used -= 1;
                self.ht[1].used += 1;
                h = next;
            }
            idx += 1;
            moved += 1;
        }
        if self.ht[0].used == 0 {
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

    /// The entries of chain head `h`.
    fn chain(&self, mut h: u32) -> impl Iterator<Item = &Entry<V>> {
        core::iter::from_fn(move || {
            if h == 0 {
                return None;
            }
            let e = self.at(h);
            h = e.next;
            Some(e)
        })
    }

    /// The arrays a scan visits at `cursor`: (smaller, larger) while rehashing.
    fn scan_order(&self) -> (usize, usize) {
        if self.ht[0].slots.len() <= self.ht[1].slots.len() {
            (0, 1)
        } else {
            (1, 0)
        }
    }

    /// Visits the buckets at `cursor` (see the module doc) and returns the next cursor, 0 when done.
    pub fn scan<'a>(&'a self, cursor: u64, mut visit: impl FnMut(&'a Entry<V>)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let mut v = cursor;
        let mut emit = |t: usize, v: u64| {
            let b = &self.ht[t];
            for e in self.chain(b.slots[(v & b.mask()) as usize]) {
                visit(e);
            }
        };
        if !self.is_rehashing() {
            emit(0, v);
            v |= !self.ht[0].mask();
            return next_cursor(v);
        }
        let (small, large) = self.scan_order();
        let (m0, m1) = (self.ht[small].mask(), self.ht[large].mask());
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

    /// Visits the chain of bucket `v` of array `t`, removing the entries `visit` says to.
    fn sweep(&mut self, t: usize, v: u64, visit: &mut impl FnMut(&mut Entry<V>) -> bool) {
        let idx = (v & self.ht[t].mask()) as usize;
        let mut link = Link::Slot(t, idx);
        loop {
            let h = self.link(link);
            if h == 0 {
                break;
            }
            if visit(self.at_mut(h)) {
                drop(self.unlink(t, link, h));
            } else {
                link = Link::Next(h);
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
        if !self.is_rehashing() {
            self.sweep(0, v, &mut visit);
            v |= !self.ht[0].mask();
            return next_cursor(v);
        }
        let (small, large) = self.scan_order();
        let (m0, m1) = (self.ht[small].mask(), self.ht[large].mask());
        self.sweep(small, v, &mut visit);
        loop {
            self.sweep(large, v, &mut visit);
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
            let head = self.live_bucket(live.start + (r % span) as usize);
            if head == 0 {
                continue;
            }
            let mut len = 1;
            let mut cur = self.next(head);
            while cur != 0 {
                len += 1;
                cur = self.next(cur);
            }
            // The high bits of the same draw choose the entry (the low ones chose the bucket).
            let k = ((r >> 40) % len.max(FAIR_CHAIN_MAX) as u64) as usize;
            if k < len {
                return self.chain(head).nth(k);
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

    /// The chain head at index `i` of [`Table::live_buckets`] (0 when empty).
    #[inline]
    fn live_bucket(&self, i: usize) -> u32 {
        let n0 = self.ht[0].slots.len();
        if i < n0 {
            self.ht[0].slots[i]
        } else {
            self.ht[1].slots[i - n0]
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
        let mut head = 0;
        for _ in 0..64 {
            head = self.live_bucket(live.start + (rand() % span as u64) as usize);
            if head != 0 {
                break;
            }
        }
        if head == 0 {
            let from = (rand() % span as u64) as usize;
            head = (0..span)
                .map(|k| self.live_bucket(live.start + (from + k) % span))
                .find(|&h| h != 0)?;
        }
        let chain_len = self.chain(head).count() as u64;
        self.chain(head).nth((rand() % chain_len) as usize)
    }

    /// Heap bytes used by the bucket arrays (entries are counted by [`Table::entry_bytes`]).
    pub fn bucket_bytes(&self) -> usize {
        self.bucket_count() * core::mem::size_of::<u32>()
    }

    /// Bucket slots across both arrays: the index space of [`Table::slot_of`] and
    /// [`Table::chain_at`] (array 0's slots, then array 1's).
    pub fn slot_count(&self) -> usize {
        self.ht[0].slots.len() + self.ht[1].slots.len()
    }

    /// The slot `key` is in, or would be inserted into, in [`Table::slot_count`]'s index space.
    /// While rehashing is paused a key's slot does not change.
    pub fn slot_of(&self, key: &[u8]) -> usize {
        let hash = self.hash(key);
        let n0 = self.ht[0].slots.len();
        let t = match self.find(key) {
            Some((t, _, _)) => t,
            None if self.is_rehashing() => 1,
            None => 0,
        };
        let idx = (hash & self.ht[t].mask()) as usize;
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
        self.chain(head.copied().unwrap_or(0))
    }

    /// Iterates over all entries (order unspecified).
    pub fn iter(&self) -> impl Iterator<Item = &Entry<V>> {
        self.ht
            .iter()
            .flat_map(|b| b.slots.iter())
            .flat_map(|&h| self.chain(h))
    }
}

impl<V: Packable> core::fmt::Debug for Table<V> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Table")
            .field("len", &(self.ht[0].used + self.ht[1].used))
            .field(
                "buckets",
                &(self.ht[0].slots.len() + self.ht[1].slots.len()),
            )
            .finish()
    }
}

impl<V: Packable> Drop for Table<V> {
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

    impl Packable for Vec<u8> {}
    impl Packable for [u64; 3] {}

    /// Packs small numbers (as a string value packs), to test packed entries.
    #[derive(Clone, Debug, PartialEq)]
    struct Small(u64);
    impl Packable for Small {
        const PACKS: bool = true;
        fn pack(&self, out: &mut [u8; PACK_MAX]) -> Option<usize> {
            (self.0 < 1 << 16).then(|| {
                out[..2].copy_from_slice(&(self.0 as u16).to_le_bytes());
                2
            })
        }
        fn unpack(b: &[u8]) -> Self {
            Small(u64::from(u16::from_le_bytes([b[0], b[1]])))
        }
    }

    fn key(i: usize) -> Vec<u8> {
        format!("key:{i}").into_bytes()
    }

    #[test]
    fn insert_get_remove_through_rehash() {
        let mut t: Table<usize> = Table::new(7);
        for i in 0..10_000 {
            t.insert_new(&key(i), i, NO_EXPIRE, 0);
            assert_eq!(t.get(&key(i / 2)).map(|e| *e.whole()), Some(i / 2));
        }
        assert_eq!(t.len(), 10_000);
        for i in (0..10_000).step_by(2) {
            assert_eq!(t.remove(&key(i)).map(|e| e.value), Some(i));
        }
        assert_eq!(t.len(), 5_000);
        assert!(t.get(&key(4)).is_none());
        assert_eq!(t.get(&key(5)).map(|e| *e.whole()), Some(5));
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
                seen.insert(*e.whole());
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
                    .filter(|e| *e.whole() == 0 && e.key_bytes() != b"key:0")
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
            if n <= MEDIUM_KEY_MAX {
                assert!(e.alloc_size() >= entry_header_size::<Vec<u8>>() + n);
            }
        }
        for &n in &lens {
            let e = t.get(&key(n)).expect("present");
            assert_eq!(
                (e.key_bytes(), e.expire_at_ms(), e.access()),
                (&key(n)[..], 77, 9)
            );
            assert_eq!(*e.whole(), alloc::vec![n as u8; 3]);
        }
        // A 10-byte key with a whole 24-byte value takes 48 bytes, 56 with an expire time (the
        // module's promise).
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
                (e.key_bytes(), e.expire_at_ms(), e.access(), &e.whole()[..]),
                (&key(i)[..], at, i as u32, &[i as u8][..])
            );
        }
        assert_eq!(grown.set_expire(&key(0), NO_EXPIRE), Some(1000));
        assert!(!grown.get(&key(0)).expect("present").has_expire());
        assert_eq!(grown.len(), 64);
        let removed = t.remove(&key(255)).expect("present");
        assert_eq!((removed.expire_at_ms(), removed.access()), (NO_EXPIRE, 9));
        assert_eq!(removed.into_value(), alloc::vec![255u8; 3]);
        assert!(t.get(&key(255)).is_none());
        assert_eq!(t.len(), lens.len() - 1);
        // Dropping the table frees the rest (valgrind and the allocator counters watch this).
    }

    #[test]
    fn packed_values_round_trip_through_every_change() {
        let mut t: Table<Small> = Table::new(11);
        for i in 0..3000usize {
            // Every third value is too big to pack; every fifth key is long.
            let v = if i.is_multiple_of(3) {
                1 << 20
            } else {
                i as u64
            };
            let k = if i.is_multiple_of(5) {
                alloc::vec![b'k'; 300 + i]
            } else {
                key(i)
            };
            let at = if i.is_multiple_of(2) {
                NO_EXPIRE
            } else {
                5000 + i as u64
            };
            let e = t.insert_new(&k, Small(v), at, i as u32 & ACCESS_MASK);
            assert_eq!(e.is_packed(), !i.is_multiple_of(3));
        }
        let k = |i: usize| {
            if i.is_multiple_of(5) {
                alloc::vec![b'k'; 300 + i]
            } else {
                key(i)
            }
        };
        // An expire time added, a value replaced (packed <-> whole), an unpack for writing.
        for i in (0..3000).step_by(7) {
            t.set_expire(&k(i), 42);
        }
        for i in (0..3000usize).step_by(4) {
            let new = if i.is_multiple_of(8) {
                Small(7)
            } else {
                Small(1 << 30)
            };
            assert!(t.replace_value(&k(i), new, None).is_ok());
        }
        for i in (0..3000).step_by(9) {
            let mut unpacked = false;
            let Ok(Some(e)) = t.get_mut_live(&k(i), |_| false, Some(&mut unpacked)) else {
                panic!("key {i} missing");
            };
            assert!(!e.is_packed());
            e.value_mut().unwrap().0 += 1;
            assert_eq!(unpacked, i % 3 != 0 && i % 4 != 0 || i % 8 == 0);
        }
        while t.rehash_step(100) {}
        for i in 0..3000usize {
            let mut want = if i.is_multiple_of(3) {
                1 << 20
            } else {
                i as u64
            };
            if i.is_multiple_of(4) {
                want = if i.is_multiple_of(8) { 7 } else { 1 << 30 };
            }
            if i.is_multiple_of(9) {
                want += 1;
            }
            let at = match (i % 7, i % 2) {
                (0, _) => 42,
                (_, 0) => NO_EXPIRE,
                _ => 5000 + i as u64,
            };
            let e = t.get(&k(i)).expect("present");
            assert_eq!(
                (e.key_bytes(), e.value().0, e.expire_at_ms(), e.access()),
                (&k(i)[..], want, at, i as u32 & ACCESS_MASK),
                "key {i}"
            );
        }
        for i in (0..3000).step_by(2) {
            assert!(t.remove(&k(i)).is_some());
        }
        assert_eq!(t.len(), 1500);
        assert_eq!(t.iter().count(), 1500);
        // The memory figures count live blocks and long keys' heap copies, exactly.
        let counted: usize = t.iter().map(|e| e.alloc_size() + e.key_heap_size()).sum();
        assert_eq!(t.entry_bytes(), counted);
        let mut freed = 0;
        for i in (1..3000).step_by(2) {
            freed += t.remove(&k(i)).map_or(0, |r| r.entry_bytes);
        }
        assert_eq!((freed, t.entry_bytes(), t.len()), (counted, 0, 0));
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
        assert!((0..buckets * 2).all(|i| t.get(&key(i)).map(|e| *e.whole()) == Some(i)));
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
            counts[*t.random_fair(&mut rng).unwrap().whole()] += 1;
        }
        // 200 expected each (sd ~14) for a key whose chain is at most FAIR_CHAIN_MAX long,
        // whether it shares its bucket or not; 200 * FAIR_CHAIN_MAX / chain for a longer chain.
        for (i, &c) in counts.iter().enumerate() {
            let h = t.hash(&key(i));
            let chain = t
                .chain(t.ht[0].slots[(h & t.ht[0].mask()) as usize])
                .count();
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
