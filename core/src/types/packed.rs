//! The buffer of a compact collection, and the shared names its entries may point to.
//!
//! [`PackedBuf`] holds the entries of a compact hash or sorted set: exactly as many bytes as they
//! take (each change reallocates, which the size-class allocator does in place within a class)
//! and the element count, behind one pointer, so the whole collection fits in the 24-byte
//! [`super::Value`] without a box of its own.
//!
//! [`names`] is a process-wide table of short byte strings that recur across many collections
//! (the field names of hashes that follow one schema: `name`, `email`, `created`, ...). An entry
//! whose bytes are a shared name is stored as a two-byte reference instead of its bytes, and reads
//! back as a `&'static` slice of the table, so readers see ordinary bytes.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::alloc::Layout;
use core::ptr::NonNull;

/// The most bytes a [`PackedBuf`] holds (Redis's listpack safety limit, 1 GiB); a collection about
/// to pass it converts to its table encoding.
pub const PACKED_BYTES_MAX: usize = 1 << 30;

/// Exactly-sized bytes plus an element count, in 16 bytes.
pub struct PackedBuf {
    ptr: NonNull<u8>,
    len: u32,
    count: u32,
}

const _: () = assert!(core::mem::size_of::<PackedBuf>() == 16);

// SAFETY: a PackedBuf owns its bytes exclusively, like a Box<[u8]>.
#[allow(unsafe_code)]
unsafe impl Send for PackedBuf {}
// SAFETY: as above; `&PackedBuf` only reads.
#[allow(unsafe_code)]
unsafe impl Sync for PackedBuf {}

impl Default for PackedBuf {
    fn default() -> Self {
        PackedBuf {
            ptr: NonNull::dangling(),
            len: 0,
            count: 0,
        }
    }
}

impl core::fmt::Debug for PackedBuf {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PackedBuf")
            .field("len", &self.len)
            .field("count", &self.count)
            .finish()
    }
}

#[allow(unsafe_code)]
impl PackedBuf {
    #[inline]
    pub fn len(&self) -> usize {
        self.len as usize
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The element count the owner keeps here.
    #[inline]
    pub fn count(&self) -> usize {
        self.count as usize
    }

    /// Sets the element count (at most `u32::MAX`: a compact collection holds far fewer).
    #[inline]
    pub fn set_count(&mut self, count: usize) {
        self.count = u32::try_from(count).unwrap_or(u32::MAX);
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` points to `len` initialized bytes owned by `self` (dangling only when
        // `len` is 0, which a zero-length slice allows).
        unsafe { core::slice::from_raw_parts(self.ptr.as_ptr(), self.len()) }
    }

    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as `as_slice`, and `&mut self` makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len()) }
    }

    /// Replaces the bytes `from..to` with `new` zeroed bytes and returns them for the caller to
    /// fill. The caller keeps the total within [`PACKED_BYTES_MAX`].
    pub fn replace(&mut self, from: usize, to: usize, new: usize) -> &mut [u8] {
        let old_len = self.len();
        assert!(
            from <= to && to <= old_len,
            "replace {from}..{to} of {old_len}"
        );
        let new_len = old_len - (to - from) + new;
        assert!(
            new_len <= PACKED_BYTES_MAX,
            "packed buffer of {new_len} bytes"
        );
        let tail = old_len - to;
        if new_len < old_len {
            // SAFETY: both ranges lie within the `old_len` live bytes; `copy` allows overlap.
            unsafe {
                let p = self.ptr.as_ptr();
                core::ptr::copy(p.add(to), p.add(from + new), tail);
            }
            self.resize_alloc(old_len, new_len);
        } else if new_len > old_len {
            self.resize_alloc(old_len, new_len);
            // SAFETY: the allocation now holds `new_len` bytes; the tail moves right within it.
            unsafe {
                let p = self.ptr.as_ptr();
                core::ptr::copy(p.add(to), p.add(from + new), tail);
            }
        }
        self.len = new_len as u32;
        let region = &mut self.as_mut_slice()[from..from + new];
        region.fill(0);
        region
    }

    /// Appends `new` zeroed bytes and returns them.
    pub fn extend(&mut self, new: usize) -> &mut [u8] {
        let end = self.len();
        self.replace(end, end, new)
    }

    /// Reallocates from `old` to `new` bytes (either may be 0), keeping the first `min` bytes.
    fn resize_alloc(&mut self, old: usize, new: usize) {
        let layout = |n| Layout::from_size_align(n, 1).unwrap_or(Layout::new::<u8>());
        let ptr = match (old, new) {
            (0, 0) => return,
            (_, 0) => {
                // SAFETY: `ptr` was allocated with `layout(old)` (old > 0).
                unsafe { alloc::alloc::dealloc(self.ptr.as_ptr(), layout(old)) };
                NonNull::dangling()
            }
            (0, _) => {
                // SAFETY: a non-zero size.
                let p = unsafe { alloc::alloc::alloc(layout(new)) };
                NonNull::new(p).unwrap_or_else(|| alloc::alloc::handle_alloc_error(layout(new)))
            }
            _ => {
                // SAFETY: `ptr` was allocated with `layout(old)`; `new` is non-zero and below
                // isize::MAX (at most PACKED_BYTES_MAX).
                let p = unsafe { alloc::alloc::realloc(self.ptr.as_ptr(), layout(old), new) };
                NonNull::new(p).unwrap_or_else(|| alloc::alloc::handle_alloc_error(layout(new)))
            }
        };
        self.ptr = ptr;
    }

    /// A buffer holding a copy of `bytes`, with `count` elements.
    pub fn from_slice(bytes: &[u8], count: usize) -> Self {
        let mut b = PackedBuf::default();
        b.extend(bytes.len()).copy_from_slice(bytes);
        b.set_count(count);
        b
    }

    /// A buffer taking over the bytes of `v` (its allocation trimmed to its length, not copied),
    /// with `count` elements. `v` holds at most [`PACKED_BYTES_MAX`] bytes.
    pub fn from_vec(v: Vec<u8>, count: usize) -> Self {
        assert!(
            v.len() <= PACKED_BYTES_MAX,
            "packed buffer of {} bytes",
            v.len()
        );
        let len = v.len() as u32;
        let raw: *mut [u8] = Box::into_raw(v.into_boxed_slice());
        PackedBuf {
            // A boxed slice's pointer is never null (dangling when empty, as `default` is); its
            // block has the layout `resize_alloc` frees with: `len` bytes, alignment 1.
            ptr: NonNull::new(raw.cast::<u8>()).unwrap_or(NonNull::dangling()),
            len,
            count: u32::try_from(count).unwrap_or(u32::MAX),
        }
    }

    /// Heap bytes held.
    pub fn heap_size(&self) -> usize {
        self.len()
    }
}

impl Clone for PackedBuf {
    fn clone(&self) -> Self {
        PackedBuf::from_slice(self.as_slice(), self.count())
    }
}

impl Drop for PackedBuf {
    fn drop(&mut self) {
        let len = self.len();
        self.resize_alloc(len, 0);
    }
}

/// Shared names: a process-wide, append-only table of at most [`names::NAMES_MAX`] byte strings
/// that entries of compact collections refer to by index.
///
/// A string becomes a name once it has been written [`names::ADMIT_AFTER`] times (counted in a
/// small table of hashed counters, so one-off strings never take a slot); names are never
/// removed, so a reference stays valid for the life of the process. Lookups are lock-free; adding
/// a name takes a spin lock. The table holds at most `NAMES_MAX * NAME_BYTES_MAX` bytes.
pub mod names {
    use alloc::boxed::Box;
    use alloc::vec::Vec;
    use core::ptr::null_mut;
    use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU8, AtomicUsize, Ordering};

    /// How many names the process keeps (an index fits the 7 bits of a reference).
    pub const NAMES_MAX: usize = 128;
    /// Shortest and longest name: shorter strings gain nothing from a two-byte reference.
    pub const NAME_BYTES_MIN: usize = 3;
    pub const NAME_BYTES_MAX: usize = 32;
    /// Writes of a string before it becomes a name.
    pub const ADMIT_AFTER: u8 = 32;

    /// Slots of the name -> index table (open addressing, at most half full).
    const INDEX_SLOTS: usize = 2 * NAMES_MAX;
    /// Counters of strings that are not names yet, each a 24-bit fingerprint of the string it
    /// counts and an 8-bit count. A write of another string with the same slot decrements the
    /// count and takes the slot over at zero (a Misra-Gries summary), so only a string written far
    /// more often than its slot's other strings reaches [`ADMIT_AFTER`].
    const COUNTERS: usize = 1024;

    static NAMES: [AtomicPtr<Box<[u8]>>; NAMES_MAX] =
        [const { AtomicPtr::new(null_mut()) }; NAMES_MAX];
    /// Index + 1 of the name hashed to each slot, 0 for an empty slot.
    static INDEX: [AtomicU8; INDEX_SLOTS] = [const { AtomicU8::new(0) }; INDEX_SLOTS];
    static USED: AtomicUsize = AtomicUsize::new(0);
    static ADDING: AtomicBool = AtomicBool::new(false);
    static SEEN: [AtomicU32; COUNTERS] = [const { AtomicU32::new(0) }; COUNTERS];

    /// FNV-1a (names are a few bytes long), its high bits folded down for the slot choice.
    fn hash(bytes: &[u8]) -> u64 {
        let h = crate::fnv1a(bytes);
        h ^ (h >> 29)
    }

    /// The bytes of name `index`, or `None` for an index never given out.
    #[allow(unsafe_code)]
    pub fn get(index: u8) -> Option<&'static [u8]> {
        let p = NAMES.get(usize::from(index))?.load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: a non-null slot holds a pointer from `Box::leak` in `add`, never freed nor
        // written through again.
        Some(unsafe { &**p })
    }

    /// The index of `bytes` if it is a name.
    pub fn find(bytes: &[u8]) -> Option<u8> {
        if !(NAME_BYTES_MIN..=NAME_BYTES_MAX).contains(&bytes.len()) {
            return None;
        }
        find_hashed(bytes, hash(bytes))
    }

    fn find_hashed(bytes: &[u8], h: u64) -> Option<u8> {
        let mut slot = h as usize % INDEX_SLOTS;
        loop {
            let i = INDEX[slot].load(Ordering::Acquire);
            if i == 0 {
                return None;
            }
            if get(i - 1) == Some(bytes) {
                return Some(i - 1);
            }
            slot = (slot + 1) % INDEX_SLOTS;
        }
    }

    /// The index of `bytes` if it is a name, after counting this write of it: a string written
    /// often enough becomes a name now (while the table has room).
    pub fn find_or_admit(bytes: &[u8]) -> Option<u8> {
        if !(NAME_BYTES_MIN..=NAME_BYTES_MAX).contains(&bytes.len()) {
            return None;
        }
        let h = hash(bytes);
        if let Some(i) = find_hashed(bytes, h) {
            return Some(i);
        }
        if USED.load(Ordering::Relaxed) >= NAMES_MAX {
            return None;
        }
        // Relaxed load and store: a lost update between threads only miscounts one write.
        let counter = &SEEN[(h >> 32) as usize % COUNTERS];
        let fingerprint = (h >> 40) as u32 & 0x00ff_ffff;
        let c = counter.load(Ordering::Relaxed);
        let (owner, n) = (c >> 8, c & 0xff);
        let next = if owner == fingerprint {
            (owner << 8) | (n + 1).min(0xff)
        } else if n > 1 {
            (owner << 8) | (n - 1)
        } else {
            (fingerprint << 8) | 1
        };
        if owner == fingerprint && n + 1 >= u32::from(ADMIT_AFTER) {
            counter.store(0, Ordering::Relaxed);
            return add(bytes, h);
        }
        counter.store(next, Ordering::Relaxed);
        None
    }

    fn add(bytes: &[u8], h: u64) -> Option<u8> {
        while ADDING
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_err()
        {
            core::hint::spin_loop();
        }
        let added = (|| {
            if let Some(i) = find_hashed(bytes, h) {
                return Some(i);
            }
            let index = USED.load(Ordering::Relaxed);
            if index >= NAMES_MAX {
                return None;
            }
            let leaked: &'static mut Box<[u8]> =
                Box::leak(Box::new(Vec::from(bytes).into_boxed_slice()));
            NAMES[index].store(leaked, Ordering::Release);
            let mut slot = h as usize % INDEX_SLOTS;
            while INDEX[slot].load(Ordering::Relaxed) != 0 {
                slot = (slot + 1) % INDEX_SLOTS;
            }
            INDEX[slot].store(index as u8 + 1, Ordering::Release);
            USED.store(index + 1, Ordering::Release);
            Some(index as u8)
        })();
        ADDING.store(false, Ordering::Release);
        added
    }

    /// How many names there are (INFO).
    pub fn count() -> usize {
        USED.load(Ordering::Acquire)
    }
}

/// The entry codec of a compact hash's buffer: the list-node forward entry (a varint length and the
/// bytes), or for a shared name the two bytes `0x80 | index, 0x00` (a varint no writer emits: its
/// last group is zero).
pub mod entry {
    use super::names;
    use crate::types::list::{fwd_entry_size, read_fwd, write_fwd_entry};

    /// Bytes of the entry for `bytes` (counted as one more write of it), and the shared name it
    /// is, if any.
    #[inline]
    pub fn plan(bytes: &[u8]) -> (usize, Option<u8>) {
        match names::find_or_admit(bytes) {
            Some(i) => (2, Some(i)),
            None => (fwd_entry_size(bytes.len()), None),
        }
    }

    /// Writes the entry [`plan`] sized.
    #[inline]
    pub fn write(out: &mut [u8], bytes: &[u8], name: Option<u8>) {
        match name {
            Some(i) => {
                out[0] = 0x80 | i;
                out[1] = 0;
            }
            None => write_fwd_entry(out, bytes),
        }
    }

    /// The entry at `at` and where the next one starts.
    #[inline]
    pub fn read(buf: &[u8], at: usize) -> (&[u8], usize) {
        let b = buf[at];
        if b & 0x80 != 0 && buf[at + 1] == 0 {
            return (names::get(b & 0x7f).unwrap_or(&[]), at + 2);
        }
        read_fwd(buf, at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replace_grows_shrinks_and_keeps_the_rest() {
        let mut b = PackedBuf::default();
        b.extend(3).copy_from_slice(b"abc");
        b.replace(1, 2, 3).copy_from_slice(b"XYZ");
        assert_eq!(b.as_slice(), b"aXYZc");
        b.replace(0, 4, 1).copy_from_slice(b"q");
        assert_eq!(b.as_slice(), b"qc");
        b.set_count(7);
        let c = b.clone();
        assert_eq!((c.as_slice(), c.count()), (&b"qc"[..], 7));
        b.replace(0, 2, 0);
        assert!(b.is_empty());
        b.extend(1000)[999] = 5;
        assert_eq!(b.as_slice()[999], 5);
    }

    #[test]
    fn a_string_written_often_becomes_a_name() {
        let s = b"a-field-name-for-this-test";
        let before = names::count();
        let mut got = None;
        for _ in 0..names::ADMIT_AFTER {
            got = names::find_or_admit(s);
        }
        let i = got.expect("admitted");
        assert_eq!(names::get(i), Some(&s[..]));
        assert_eq!(names::find(s), Some(i));
        assert!(names::count() > before);
        assert_eq!(names::find_or_admit(b"ab"), None, "too short");
        let (size, name) = entry::plan(s);
        let mut out = [0u8; 2];
        entry::write(&mut out[..size], s, name);
        assert_eq!(entry::read(&out, 0), (&s[..], 2));
    }
}
