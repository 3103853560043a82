//! Ember's global allocator: size classes for small blocks, the system allocator for the rest, and
//! a byte count so `used_memory` in INFO and MEMORY reports what Ember really holds, not an estimate.
//!
//! A keyspace is mostly small blocks (table entries, collection headers, short buffers) that the
//! system allocator stores with an 8-byte header each, rounded up to 16 bytes. Rust hands the size
//! back on every free, so no header is needed at all: blocks of up to [`SMALL_MAX`] bytes come from
//! per-class free lists carved out of [`CHUNK_BYTES`] chunks, in steps of [`GRAIN`] bytes, with
//! nothing stored beside them. A 72-byte entry costs 72 bytes instead of 80, a 40-byte one 40
//! instead of 48. Freed blocks go back to their class's list and serve the next request of that
//! class, so churn does not fragment (keys deleted and re-created reuse the same blocks); chunks
//! are kept for the life of the process.
//!
//! The server is single-threaded, so the lock around the classes is never contended; it is there
//! because a global allocator must be safe to call from any thread.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::ptr::{self, null_mut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Size-class step; also the alignment every small block has.
const GRAIN: usize = 8;
/// Largest block served from the size classes.
pub const SMALL_MAX: usize = 512;
/// Number of size classes.
const CLASSES: usize = SMALL_MAX / GRAIN;
/// Bytes a class takes from the system at a time.
const CHUNK_BYTES: usize = 64 * 1024;
const CHUNK_LAYOUT: Layout = match Layout::from_size_align(CHUNK_BYTES, GRAIN) {
    Ok(l) => l,
    Err(_) => panic!("chunk layout"),
};

/// A freed block, linked into its class's free list through its own first word.
struct Free {
    next: *mut Free,
}

#[derive(Clone, Copy)]
struct Class {
    /// Freed blocks of this class.
    free: *mut Free,
    /// The untouched rest of the current chunk: `bump..end`.
    bump: *mut u8,
    end: *mut u8,
}

const EMPTY_CLASS: Class = Class {
    free: null_mut(),
    bump: null_mut(),
    end: null_mut(),
};

/// The size classes behind a lock.
pub struct Slab {
    lock: AtomicBool,
    classes: UnsafeCell<[Class; CLASSES]>,
    /// Bytes of chunks taken from the system.
    chunk_bytes: AtomicUsize,
}

// SAFETY: `classes` is only touched while `lock` is held (see `Slab::with`), and the raw pointers
// in it point into chunks owned by the slab, not tied to any thread.
unsafe impl Sync for Slab {}

/// Whether a request is served by the size classes (decided from the layout alone, so alloc and
/// dealloc of one block always agree).
#[inline]
fn is_small(layout: &Layout) -> bool {
    layout.size() != 0 && layout.size() <= SMALL_MAX && layout.align() <= GRAIN
}

/// The class index and block size of a small request.
#[inline]
fn class_of(size: usize) -> (usize, usize) {
    let k = (size - 1) / GRAIN;
    (k, (k + 1) * GRAIN)
}

impl Slab {
    pub const fn new() -> Self {
        Slab {
            lock: AtomicBool::new(false),
            classes: UnsafeCell::new([EMPTY_CLASS; CLASSES]),
            chunk_bytes: AtomicUsize::new(0),
        }
    }

    #[inline]
    fn with<R>(&self, f: impl FnOnce(&mut [Class; CLASSES]) -> R) -> R {
        while self
            .lock
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            std::hint::spin_loop();
        }
        // SAFETY: the lock is held, so this is the only reference to the classes until it is
        // released below; `f` cannot reach the slab again (it allocates only through `System`).
        let r = f(unsafe { &mut *self.classes.get() });
        self.lock.store(false, Ordering::Release);
        r
    }

    /// A block for a small request (`is_small`), or null when the system is out of memory.
    #[inline]
    fn alloc_small(&self, size: usize) -> *mut u8 {
        let (k, block) = class_of(size);
        self.with(|classes| {
            let c = &mut classes[k];
            if !c.free.is_null() {
                let f = c.free;
                // SAFETY: `f` heads this class's free list: a block of this class that was freed,
                // whose first word holds the next free block.
                c.free = unsafe { (*f).next };
                return f.cast::<u8>();
            }
            if (c.end as usize) - (c.bump as usize) < block {
                // SAFETY: a non-zero-size layout.
                let chunk = unsafe { System.alloc(CHUNK_LAYOUT) };
                if chunk.is_null() {
                    return null_mut();
                }
                self.chunk_bytes.fetch_add(CHUNK_BYTES, Ordering::Relaxed);
                // The tail of the previous chunk (less than one block) is left unused.
                c.bump = chunk;
                // SAFETY: one past the end of the chunk just allocated.
                c.end = unsafe { chunk.add(CHUNK_BYTES) };
            }
            let p = c.bump;
            // SAFETY: `block` bytes fit between `bump` and `end` (checked above).
            c.bump = unsafe { p.add(block) };
            p
        })
    }

    /// Returns a small block to its class.
    ///
    /// # Safety
    /// `p` came from `alloc_small` with a size of the same class and is not used again.
    #[inline]
    unsafe fn dealloc_small(&self, p: *mut u8, size: usize) {
        let (k, _) = class_of(size);
        self.with(|classes| {
            let c = &mut classes[k];
            let f = p.cast::<Free>();
            // SAFETY: the block is at least GRAIN bytes, GRAIN-aligned and no longer in use, so
            // its first word can hold the free-list link.
            unsafe { f.write(Free { next: c.free }) };
            c.free = f;
        })
    }

    /// Bytes of chunks taken from the system so far.
    pub fn chunk_bytes(&self) -> usize {
        self.chunk_bytes.load(Ordering::Relaxed)
    }
}

impl Default for Slab {
    fn default() -> Self {
        Self::new()
    }
}

/// The global allocator: [`Slab`] for small blocks, `System` for the rest, counting both.
pub struct Counting;

static SLAB: Slab = Slab::new();
static USED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// Bytes a block of `layout` really takes (its class size when small).
#[inline]
fn charged(layout: &Layout) -> usize {
    if is_small(layout) {
        class_of(layout.size()).1
    } else {
        layout.size()
    }
}

// SAFETY: small blocks come from the slab's classes, which hand each block out once until it is
// freed, sized and aligned for the layout (class size >= size, GRAIN alignment >= align); every
// other request is forwarded to `System` unchanged. `is_small` depends on the layout only, so a
// block is always freed where it came from.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = if is_small(&layout) {
            SLAB.alloc_small(layout.size())
        } else {
            // SAFETY: forwarded unchanged; the caller upholds GlobalAlloc's contract.
            unsafe { System.alloc(layout) }
        };
        if !p.is_null() {
            USED.fetch_add(charged(&layout), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if is_small(&layout) {
            // SAFETY: `ptr` came from `alloc` with this layout, hence from the slab's class.
            unsafe { SLAB.dealloc_small(ptr, layout.size()) };
        } else {
            // SAFETY: forwarded unchanged; `ptr` came from this allocator with `layout`.
            unsafe { System.dealloc(ptr, layout) };
        }
        USED.fetch_sub(charged(&layout), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if is_small(&layout) {
            // SAFETY: as `alloc`; a reused block is dirty, so it is cleared.
            let p = unsafe { self.alloc(layout) };
            if !p.is_null() {
                // SAFETY: the block has at least `layout.size()` writable bytes.
                unsafe { ptr::write_bytes(p, 0, layout.size()) };
            }
            return p;
        }
        // SAFETY: forwarded unchanged (calloc: fresh pages come zeroed without being written).
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            USED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size` with `layout.align()` is a valid layout.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (is_small(&layout), is_small(&new_layout)) {
            (false, false) => {
                // SAFETY: forwarded unchanged; `ptr` came from `System` with `layout`.
                let p = unsafe { System.realloc(ptr, layout, new_size) };
                if !p.is_null() {
                    USED.fetch_add(new_size, Ordering::Relaxed);
                    USED.fetch_sub(layout.size(), Ordering::Relaxed);
                }
                p
            }
            (true, true) if class_of(layout.size()).0 == class_of(new_size).0 => ptr,
            _ => {
                // SAFETY: a valid layout (above); the old block stays valid until freed below.
                let p = unsafe { self.alloc(new_layout) };
                if !p.is_null() {
                    // SAFETY: both blocks hold at least the smaller size and do not overlap.
                    unsafe {
                        ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                }
                p
            }
        }
    }
}

/// Bytes currently allocated (small blocks at their class size), less the room keyspace pools
/// hold for entries not yet created (their free blocks), which the next keys take without
/// allocating: deleting or evicting keys lowers it, as freeing them one by one would.
pub fn used() -> usize {
    USED.load(Ordering::Relaxed)
        .saturating_sub(ember_core::pool::idle_bytes())
}

/// Bytes the size classes took from the system (their blocks, used or free, and chunk tails).
pub fn slab_bytes() -> usize {
    SLAB.chunk_bytes()
}

/// Highest `used()` seen by [`update_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

pub fn update_peak() {
    PEAK.fetch_max(used(), Ordering::Relaxed);
}

/// Resident set size from /proc (0 where unavailable).
pub fn rss() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks of every class, freed and reused in a shuffled order, never overlap and keep what
    /// was written to them.
    #[test]
    fn classes_hand_out_disjoint_blocks_and_reuse_freed_ones() {
        let slab = Slab::new();
        let mut live: Vec<(*mut u8, usize, u8)> = Vec::new();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: usize| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % n as u64) as usize
        };
        for round in 0..20_000usize {
            if live.len() > 500 && rand(3) == 0 {
                let (p, size, tag) = live.swap_remove(rand(live.len()));
                // SAFETY: written below with `size` bytes of `tag`.
                let bytes = unsafe { std::slice::from_raw_parts(p, size) };
                assert!(bytes.iter().all(|&b| b == tag), "block overwritten");
                // SAFETY: allocated from this slab with `size`, not used again.
                unsafe { slab.dealloc_small(p, size) };
                continue;
            }
            let size = 1 + rand(SMALL_MAX);
            let p = slab.alloc_small(size);
            assert!(!p.is_null());
            assert_eq!(p as usize % GRAIN, 0);
            let tag = round as u8;
            // SAFETY: the block has at least `size` bytes.
            unsafe { ptr::write_bytes(p, tag, size) };
            live.push((p, size, tag));
        }
        let mut spans: Vec<(usize, usize)> = live
            .iter()
            .map(|&(p, size, _)| (p as usize, p as usize + size))
            .collect();
        spans.sort_unstable();
        assert!(spans.windows(2).all(|w| w[0].1 <= w[1].0), "blocks overlap");
        for &(p, size, tag) in &live {
            // SAFETY: as above.
            let bytes = unsafe { std::slice::from_raw_parts(p, size) };
            assert!(bytes.iter().all(|&b| b == tag));
        }
        // Freed blocks are reused: the slab took far less than the blocks ever allocated.
        assert!(slab.chunk_bytes() < 20_000 * SMALL_MAX / 2);
    }

    /// Reallocation keeps the bytes across every pair of sources: class to class, class to
    /// system, system to class, system to system, and in place within a class.
    #[test]
    fn realloc_moves_between_classes_and_the_system() {
        let sizes = [1usize, 8, 9, 100, 512, 513, 4096, 100_000, 40, 7];
        let mut layout = Layout::from_size_align(sizes[0], 8).unwrap();
        // SAFETY: a valid non-zero layout.
        let mut p = unsafe { Counting.alloc(layout) };
        assert!(!p.is_null());
        // SAFETY: the block has `layout.size()` bytes.
        unsafe { ptr::write_bytes(p, 0xab, layout.size()) };
        for &next in &sizes[1..] {
            let keep = layout.size().min(next);
            // SAFETY: `p` came from `Counting` with `layout`; `next` is non-zero and fits isize.
            let q = unsafe { Counting.realloc(p, layout, next) };
            assert!(!q.is_null());
            // SAFETY: the new block has at least `keep` initialized bytes.
            let kept = unsafe { std::slice::from_raw_parts(q, keep) };
            assert!(
                kept.iter().all(|&b| b == 0xab),
                "{} -> {next}",
                layout.size()
            );
            layout = Layout::from_size_align(next, 8).unwrap();
            // SAFETY: the new block has `next` bytes.
            unsafe { ptr::write_bytes(q, 0xab, next) };
            p = q;
        }
        // SAFETY: `p` came from `Counting` with `layout`.
        unsafe { Counting.dealloc(p, layout) };
        // Zeroed small blocks are zero even when reused.
        let small = Layout::from_size_align(48, 8).unwrap();
        for _ in 0..3 {
            // SAFETY: a valid layout; the block is freed below.
            unsafe {
                let z = Counting.alloc_zeroed(small);
                assert!(std::slice::from_raw_parts(z, 48).iter().all(|&b| b == 0));
                ptr::write_bytes(z, 0xff, 48);
                Counting.dealloc(z, small);
            }
        }
    }

    #[test]
    fn only_small_aligned_requests_use_the_classes() {
        let small = |size, align| is_small(&Layout::from_size_align(size, align).unwrap());
        assert!(small(1, 1) && small(SMALL_MAX, 8));
        assert!(!small(SMALL_MAX + 1, 8) && !small(64, 16) && !small(0, 1));
        assert_eq!(class_of(1), (0, 8));
        assert_eq!(class_of(8), (0, 8));
        assert_eq!(class_of(9), (1, 16));
        assert_eq!(class_of(SMALL_MAX), (CLASSES - 1, SMALL_MAX));
    }
}
