//! A pool of small blocks addressed by 32-bit handles: the keyspace table's entries live here, so
//! its bucket slots and chain links are 4 bytes instead of 8.
//!
//! Blocks are multiples of [`UNIT`] bytes, up to [`MAX_UNITS`] units, carved from chunks the pool
//! takes from the global allocator. A handle is a chunk number in its high bits and the unit
//! offset of the block's first unit in the low [`CHUNK_SHIFT`] bits, so finding a block is a
//! shift, a mask and one load; handle 0 is never handed out, so it means "no block". Chunks
//! start small (a set or a hash that just became a table holds a few hundred entries) and double
//! up to [`MAX_CHUNK_UNITS`]. Freed blocks go to a free list per size and serve the next request
//! of that size, so keys deleted and re-created reuse the same memory and churn does not fragment
//! it. Chunks are returned only when the pool is reset (the table emptied) or dropped.
//!
//! The handle space covers 2^17 chunks: about [`MAX_POOL_BYTES`] of blocks per pool (per table). A pool
//! asked for more stops the process like any allocation failure (`handle_alloc_error`, which
//! does not unwind), so no caller ever sees a half-done block move.
//!
//! Blocks may own memory outside the pool (the table's long keys); [`Pool::outside`] counts it
//! for the memory figures.

use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicUsize, Ordering};

/// Bytes held by every pool in the process but not in a live block (free lists and untouched
/// chunk room). A host that counts allocations subtracts it, so its used memory drops when keys
/// are deleted or evicted, as it would if each entry were its own allocation.
static IDLE_BYTES: AtomicUsize = AtomicUsize::new(0);

/// See [`IDLE_BYTES`].
pub fn idle_bytes() -> usize {
    IDLE_BYTES.load(Ordering::Relaxed)
}

/// Block size step and alignment.
pub const UNIT: usize = 8;
/// Largest block, in units (512 bytes).
pub const MAX_UNITS: usize = 64;
/// Units of the first chunk, as a power of two (1 KiB).
const FIRST_SHIFT: u32 = 7;
/// Units of the largest chunks, as a power of two (256 KiB).
const MAX_SHIFT: u32 = 15;
pub const MAX_CHUNK_UNITS: usize = 1 << MAX_SHIFT;
/// Chunks that double in size before they stay at [`MAX_CHUNK_UNITS`].
const DOUBLING: u32 = MAX_SHIFT - FIRST_SHIFT;
/// Bits of a handle that give the unit offset in its chunk.
pub const CHUNK_SHIFT: u32 = MAX_SHIFT;
/// Chunks one pool can have.
const MAX_CHUNKS: usize = 1 << (32 - CHUNK_SHIFT);
/// Most bytes of blocks one pool can address (all chunks at their largest).
pub const MAX_POOL_BYTES: u64 = (MAX_CHUNKS * MAX_CHUNK_UNITS * UNIT) as u64;

pub struct Pool {
    chunks: Vec<NonNull<u8>>,
    /// The untouched units of the last chunk: handles `bump..end`.
    bump: u32,
    end: u32,
    /// Free blocks of each size (index `units - 1`), linked through their first 4 bytes; empty
    /// until the first block is freed (a pool is part of every table, most never free).
    free: Vec<u32>,
    /// Bytes of chunks taken from the allocator.
    chunk_bytes: usize,
    /// This pool's part of [`IDLE_BYTES`].
    idle: usize,
    /// Heap bytes the blocks own outside the pool (see the module doc).
    pub outside: usize,
}

// SAFETY: the pool owns its chunks exclusively (no other pointer to them escapes except through
// `&self`/`&mut self` borrows), like a `Vec<u8>` does.
#[allow(unsafe_code)]
unsafe impl Send for Pool {}
// SAFETY: as above; `&Pool` only reads.
#[allow(unsafe_code)]
unsafe impl Sync for Pool {}

/// Units of chunk `k`.
#[inline]
fn chunk_units(k: usize) -> usize {
    1 << (FIRST_SHIFT + (k as u32).min(DOUBLING))
}

/// The first handle of chunk `k`.
#[inline]
fn chunk_start(k: usize) -> u32 {
    (k as u32) << CHUNK_SHIFT
}

/// The chunk and unit offset of handle `h`.
#[inline]
fn locate(h: u32) -> (usize, usize) {
    (
        (h >> CHUNK_SHIFT) as usize,
        (h & ((1 << CHUNK_SHIFT) - 1)) as usize,
    )
}

fn chunk_layout(k: usize) -> Layout {
    match Layout::from_size_align(chunk_units(k) * UNIT, UNIT) {
        Ok(l) => l,
        Err(_) => panic!("pool chunk layout"),
    }
}

impl Default for Pool {
    fn default() -> Self {
        Self::new()
    }
}

#[allow(unsafe_code)]
impl Pool {
    pub const fn new() -> Self {
        Pool {
            chunks: Vec::new(),
            bump: 0,
            end: 0,
            free: Vec::new(),
            chunk_bytes: 0,
            idle: 0,
            outside: 0,
        }
    }

    fn add_idle(&mut self, bytes: usize) {
        self.idle += bytes;
        IDLE_BYTES.fetch_add(bytes, Ordering::Relaxed);
    }

    fn sub_idle(&mut self, bytes: usize) {
        self.idle -= bytes;
        IDLE_BYTES.fetch_sub(bytes, Ordering::Relaxed);
    }

    /// Bytes taken from the allocator (live blocks, free blocks and untouched room).
    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes
            + self.chunks.capacity() * core::mem::size_of::<NonNull<u8>>()
            + self.free.capacity() * 4
    }

    /// Bytes of the blocks in use.
    pub fn live_bytes(&self) -> usize {
        self.chunk_bytes - self.idle
    }

    /// A block of `units` units (1 to [`MAX_UNITS`]), uninitialized; its handle is never 0.
    pub fn alloc(&mut self, units: usize) -> u32 {
        debug_assert!((1..=MAX_UNITS).contains(&units));
        let h = self.take_block(units);
        self.sub_idle(units * UNIT);
        h
    }

    fn take_block(&mut self, units: usize) -> u32 {
        let head = self.free.get(units - 1).copied().unwrap_or(0);
        if head != 0 {
            // SAFETY: a free block's first 4 bytes hold the next free block of its size, written
            // by `free`; the block lies inside a live chunk.
            self.free[units - 1] = unsafe { self.ptr(head).cast::<u32>().read() };
            return head;
        }
        if (self.end - self.bump) as usize >= units {
            let h = self.bump;
            self.bump += units as u32;
            return h;
        }
        self.new_chunk();
        let h = self.bump;
        self.bump += units as u32;
        h
    }

    /// Starts a new chunk; the rest of the current one becomes a free block.
    fn new_chunk(&mut self) {
        let k = self.chunks.len();
        let layout = chunk_layout(k);
        if k >= MAX_CHUNKS {
            // The handle space is spent: fail like any allocation (the process stops; nothing
            // unwinds through a half-changed table).
            alloc::alloc::handle_alloc_error(layout);
        }
        let rest = (self.end - self.bump) as usize;
        if rest > 0 {
            // Already idle: link it without counting it again.
            self.sub_idle(rest * UNIT);
            self.free(self.bump, rest);
            self.bump = self.end;
        }
        // SAFETY: the layout has a non-zero size.
        let raw = unsafe { alloc::alloc::alloc(layout) };
        let Some(p) = NonNull::new(raw) else {
            alloc::alloc::handle_alloc_error(layout);
        };
        self.chunks.push(p);
        self.chunk_bytes += layout.size();
        self.add_idle(layout.size());
        // Handle 0 means "none": the first chunk's first unit is never handed out.
        let start = chunk_start(k);
        self.bump = if k == 0 { 1 } else { start };
        // The last chunk would end at 2^32, past the largest handle: its last unit goes unused.
        let end = u64::from(start) + chunk_units(k) as u64;
        self.end = end.min(u64::from(u32::MAX)) as u32;
    }

    /// Returns a block of `units` units (its contents are dead).
    pub fn free(&mut self, h: u32, units: usize) {
        debug_assert!(h != 0 && (1..=MAX_UNITS).contains(&units));
        self.add_idle(units * UNIT);
        if self.free.is_empty() {
            self.free = alloc::vec![0; MAX_UNITS];
        }
        // SAFETY: `h` is a block of at least one unit (4 bytes) in a live chunk, no longer in use.
        unsafe { self.ptr(h).cast::<u32>().write(self.free[units - 1]) };
        self.free[units - 1] = h;
    }

    /// The address of block `h`.
    #[inline]
    pub fn ptr(&self, h: u32) -> *mut u8 {
        let (k, off) = locate(h);
        debug_assert!(k < self.chunks.len() && off < chunk_units(k));
        // SAFETY: `h` was handed out by `alloc`, so chunk `k` exists and `off` units lie inside it.
        unsafe { self.chunks[k].as_ptr().add(off * UNIT) }
    }

    /// Frees every chunk (the blocks' contents must already be dead).
    pub fn reset(&mut self) {
        for (k, p) in self.chunks.drain(..).enumerate() {
            // SAFETY: chunk `k` was allocated by `new_chunk` with `chunk_layout(k)`.
            unsafe { alloc::alloc::dealloc(p.as_ptr(), chunk_layout(k)) };
        }
        self.chunks = Vec::new();
        self.bump = 0;
        self.end = 0;
        self.free = Vec::new();
        self.chunk_bytes = 0;
        self.outside = 0;
        let idle = self.idle;
        self.sub_idle(idle);
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_map_to_their_chunk() {
        for k in [0, 1, 7, 8, 9, 100, MAX_CHUNKS - 1] {
            let start = chunk_start(k);
            assert_eq!(locate(start), (k, 0));
            let last = start + (chunk_units(k) as u32 - 1);
            assert_eq!(locate(last), (k, chunk_units(k) - 1));
        }
        assert_eq!(MAX_POOL_BYTES, 32 << 30);
    }

    #[test]
    fn blocks_are_distinct_and_reused() {
        let mut p = Pool::new();
        let mut blocks = alloc::vec::Vec::new();
        for i in 0..20_000usize {
            let units = 1 + i % MAX_UNITS;
            let h = p.alloc(units);
            assert_ne!(h, 0);
            // SAFETY: the block has `units * UNIT` bytes.
            #[allow(unsafe_code)]
            unsafe {
                core::ptr::write_bytes(p.ptr(h), (i % 251) as u8, units * UNIT)
            };
            blocks.push((h, units, (i % 251) as u8));
        }
        for &(h, units, byte) in &blocks {
            // SAFETY: as above; nothing else wrote this block.
            #[allow(unsafe_code)]
            let s = unsafe { core::slice::from_raw_parts(p.ptr(h), units * UNIT) };
            assert!(s.iter().all(|&b| b == byte));
        }
        let bytes = p.chunk_bytes();
        for &(h, units, _) in &blocks {
            p.free(h, units);
        }
        for &(_, units, _) in &blocks {
            p.alloc(units);
        }
        assert_eq!(p.chunk_bytes(), bytes, "freed blocks were not reused");
    }
}
