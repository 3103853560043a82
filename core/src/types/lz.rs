//! Compressed string values: an LZ4 block, optionally against a shared dictionary.
//!
//! A string value of at least `value-compression-min-size` bytes is stored as an [`LzStr`] when
//! LZ4 saves at least an eighth of it, so a value that does not compress is never stored worse
//! than plain. Per-value LZ4 only finds repeats inside one value; values of one application
//! (JSON documents of one schema, serialized objects, HTML fragments) mostly repeat each other,
//! so a keyspace trains a dictionary from a sample of its own values ([`train`]) and compresses
//! new values against it: LZ4 then encodes a field name already in the dictionary as a 3-byte
//! match instead of its bytes.
//!
//! Dictionaries are registered once in a process-wide, append-only table ([`register_dict`]) and
//! never freed, so a value can always be read back whichever dictionary version it was written
//! with (at most [`DICTS_MAX`] versions, a few KiB each). A value records its dictionary's id in
//! its header; id 0 is "no dictionary".

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicU16, AtomicUsize, Ordering};

use super::lz4::{self, DictIndex};

/// A dictionary's id (0: none).
pub type DictId = u16;

/// How many dictionaries a process registers at most.
pub const DICTS_MAX: usize = 255;

/// Bytes of a trained dictionary (LZ4 matches reach back 64 KiB; a few KiB hold what values of
/// one schema share). Measured on 1 KiB JSON documents of one schema with lz4_flex's encoder:
/// no dictionary 685 bytes per value, 4 KiB 306, 8 KiB 287. The dictionary is indexed once (see
/// [`super::lz4`]), so its size costs nothing per call.
pub const DICT_BYTES: usize = 8192;

/// Header of a compressed value: the uncompressed length (u32 LE) and the dictionary id (u16 LE).
const HEADER: usize = 6;

/// Values compressed and bytes saved, over all live [`LzStr`]s of the process.
static COMPRESSED_VALUES: AtomicUsize = AtomicUsize::new(0);
static BYTES_SAVED: AtomicUsize = AtomicUsize::new(0);

/// The registered dictionaries; slot `i` holds id `i + 1`. Set once, never freed.
static DICTS: [AtomicPtr<DictIndex>; DICTS_MAX] = [const { AtomicPtr::new(null_mut()) }; DICTS_MAX];
static DICTS_USED: AtomicU16 = AtomicU16::new(0);

/// Registers a dictionary for the life of the process and returns its id, or `None` once
/// [`DICTS_MAX`] are registered.
pub fn register_dict(bytes: Vec<u8>) -> Option<DictId> {
    let slot = DICTS_USED.fetch_add(1, Ordering::AcqRel) as usize;
    if slot >= DICTS_MAX {
        DICTS_USED.store(DICTS_MAX as u16, Ordering::Release);
        return None;
    }
    let leaked: &'static mut DictIndex = Box::leak(Box::new(DictIndex::new(bytes)));
    DICTS[slot].store(leaked, Ordering::Release);
    Some(slot as DictId + 1)
}

/// Dictionary `id` (`None` for 0 or an id never registered).
#[allow(unsafe_code)]
fn dict_index(id: DictId) -> Option<&'static DictIndex> {
    let slot = (id as usize).checked_sub(1).filter(|&s| s < DICTS_MAX)?;
    let p = DICTS[slot].load(Ordering::Acquire);
    if p.is_null() {
        return None;
    }
    // SAFETY: a non-null slot holds a pointer from `Box::leak` in `register_dict`, which is never
    // freed nor written through again.
    Some(unsafe { &*p })
}

/// Live compressed values and the bytes they save, process-wide (INFO memory).
pub fn stats() -> (usize, usize) {
    (
        COMPRESSED_VALUES.load(Ordering::Relaxed),
        BYTES_SAVED.load(Ordering::Relaxed),
    )
}

/// A compressed string: header then LZ4 block.
pub struct LzStr(Box<[u8]>);

impl LzStr {
    /// Compresses `bytes` against dictionary `dict_id`; `None` when that saves less than an eighth.
    pub fn compress(bytes: &[u8], dict_id: DictId) -> Option<LzStr> {
        let raw_len = u32::try_from(bytes.len()).ok()?;
        let mut header = [0u8; HEADER];
        header[..4].copy_from_slice(&raw_len.to_le_bytes());
        let keep = |n: usize| HEADER + n <= bytes.len() - bytes.len() / 8;
        let out: Vec<u8> = match dict_index(dict_id) {
            Some(d) => {
                header[4..].copy_from_slice(&dict_id.to_le_bytes());
                let mut block = Vec::new();
                d.compress(bytes, &mut block);
                if !keep(block.len()) {
                    return None;
                }
                let mut out = Vec::with_capacity(HEADER + block.len());
                out.extend_from_slice(&header);
                out.extend_from_slice(&block);
                out
            }
            None => {
                let mut out =
                    vec![0u8; HEADER + lz4_flex::block::get_maximum_output_size(bytes.len())];
                let n = lz4_flex::block::compress_into(bytes, &mut out[HEADER..]).ok()?;
                if !keep(n) {
                    return None;
                }
                out[..HEADER].copy_from_slice(&header);
                out.truncate(HEADER + n);
                out
            }
        };
        Some(LzStr::adopt(out.into_boxed_slice()))
    }

    fn adopt(b: Box<[u8]>) -> LzStr {
        let s = LzStr(b);
        COMPRESSED_VALUES.fetch_add(1, Ordering::Relaxed);
        BYTES_SAVED.fetch_add(s.saved(), Ordering::Relaxed);
        s
    }

    fn saved(&self) -> usize {
        self.raw_len().saturating_sub(self.0.len())
    }

    /// Length of the uncompressed string.
    pub fn raw_len(&self) -> usize {
        let mut n = [0u8; 4];
        n.copy_from_slice(&self.0[..4]);
        u32::from_le_bytes(n) as usize
    }

    /// Heap bytes the value takes.
    pub fn heap_size(&self) -> usize {
        self.0.len()
    }

    /// Appends the string ([`LzStr::raw_len`] bytes) to `out`.
    pub fn expand_append(&self, out: &mut Vec<u8>) {
        let id = DictId::from_le_bytes([self.0[4], self.0[5]]);
        let len = self.raw_len();
        let done = lz4::decompress_append(&self.0[HEADER..], dict_index(id), len, out);
        // The block was written by `compress` from exactly `raw_len` bytes with this dictionary.
        debug_assert_eq!(done, Ok(()), "compressed value does not expand");
        if done.is_err() {
            // Never seen; keep the reply well-formed all the same.
            out.resize(out.len() + len, 0);
        }
    }

    /// The string, uncompressed.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.expand_append(&mut out);
        out
    }
}

impl Clone for LzStr {
    fn clone(&self) -> Self {
        LzStr::adopt(self.0.clone())
    }
}

impl Drop for LzStr {
    fn drop(&mut self) {
        COMPRESSED_VALUES.fetch_sub(1, Ordering::Relaxed);
        BYTES_SAVED.fetch_sub(self.saved(), Ordering::Relaxed);
    }
}

impl core::fmt::Debug for LzStr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "LzStr({} -> {} bytes)", self.raw_len(), self.0.len())
    }
}

/// Window whose repeats across samples a dictionary is trained to cover (LZ4's minimum match is 4
/// bytes; 8 keeps chance matches out of the counts).
const TRAIN_WINDOW: usize = 8;
/// Candidate pieces of samples a dictionary is assembled from (longer pieces keep the context
/// around a shared field name, which LZ4 then matches in one go).
const TRAIN_SEGMENT: usize = 256;
/// Buckets of the window-frequency table.
const TRAIN_BUCKETS: usize = 1 << 16;

#[inline]
fn window_bucket(w: &[u8]) -> usize {
    let mut x = [0u8; 8];
    x.copy_from_slice(&w[..TRAIN_WINDOW]);
    (u64::from_le_bytes(x).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 48) as usize
}

/// Builds a dictionary of at most `size` bytes from `samples`: the pieces of the samples whose
/// 8-byte windows recur across the most samples, picked greedily so that what one piece covers
/// does not count for the next (the idea of zstd's "cover" trainer, much simplified). Content
/// that only one sample has is left out: it would not help compress any other value.
pub fn train(samples: &[Vec<u8>], size: usize) -> Vec<u8> {
    // In how many samples each window (by bucket) occurs.
    let mut freq = vec![0u32; TRAIN_BUCKETS];
    let mut seen = vec![u32::MAX; TRAIN_BUCKETS];
    for (i, s) in samples.iter().enumerate() {
        for w in s.windows(TRAIN_WINDOW) {
            let b = window_bucket(w);
            if seen[b] != i as u32 {
                seen[b] = i as u32;
                freq[b] += 1;
            }
        }
    }
    let segments: Vec<&[u8]> = samples
        .iter()
        .flat_map(|s| s.chunks(TRAIN_SEGMENT))
        .filter(|c| c.len() >= TRAIN_WINDOW)
        .collect();
    let score = |seg: &[u8], freq: &[u32]| -> u64 {
        seg.windows(TRAIN_WINDOW)
            .map(|w| u64::from(freq[window_bucket(w)].saturating_sub(1)))
            .sum()
    };
    let mut dict = Vec::with_capacity(size);
    let mut taken = vec![false; segments.len()];
    while dict.len() + TRAIN_WINDOW <= size {
        let best = segments
            .iter()
            .enumerate()
            .filter(|(i, _)| !taken[*i])
            .map(|(i, seg)| (score(seg, &freq), i))
            .max();
        let Some((_, i)) = best.filter(|(s, _)| *s > 0) else {
            break;
        };
        taken[i] = true;
        let seg = segments[i];
        let seg = &seg[..seg.len().min(size - dict.len())];
        dict.extend_from_slice(seg);
        for w in seg.windows(TRAIN_WINDOW) {
            freq[window_bucket(w)] = 0;
        }
    }
    dict
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn doc(i: usize) -> Vec<u8> {
        format!(
            "{{\"id\":{i},\"name\":\"user{i}\",\"email\":\"user{i}@example.com\",\"active\":true,\
             \"roles\":[\"reader\",\"writer\"],\"address\":{{\"street\":\"{} Main Street\",\
             \"city\":\"Springfield\",\"zip\":\"{:05}\"}},\"created\":\"2024-01-{:02}T10:00:00Z\"}}",
            i * 7 % 1000,
            i * 31 % 100_000,
            1 + i % 28
        )
        .into_bytes()
    }

    #[test]
    fn round_trips_with_and_without_a_dictionary() {
        let samples: Vec<Vec<u8>> = (0..64).map(doc).collect();
        let d = train(&samples, DICT_BYTES);
        assert!(!d.is_empty() && d.len() <= DICT_BYTES);
        let id = register_dict(d).expect("a free dictionary slot");
        for i in 1000..1010 {
            let v = doc(i);
            let plain = LzStr::compress(&v, 0);
            let with = LzStr::compress(&v, id).expect("compresses against the dictionary");
            assert_eq!(with.to_vec(), v);
            assert_eq!(with.raw_len(), v.len());
            if let Some(p) = &plain {
                assert_eq!(p.to_vec(), v);
                assert!(with.heap_size() < p.heap_size());
            }
            assert!(
                with.heap_size() * 2 < v.len(),
                "{} of {}",
                with.heap_size(),
                v.len()
            );
        }
    }

    #[test]
    fn incompressible_values_stay_plain() {
        let mut x = 7u64;
        let noise: Vec<u8> = (0..300)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect();
        assert!(LzStr::compress(&noise, 0).is_none());
        assert!(LzStr::compress(&[b'a'; 100], 0).is_some());
    }

    #[test]
    fn stats_follow_live_values() {
        // Other tests run in parallel and create values too, so compare the counts this test's
        // own values move, which are at least their share.
        let v = LzStr::compress(&[b'z'; 1000], 0).expect("compresses");
        let (n, saved) = stats();
        assert!(n >= 1 && saved >= 900);
        let copy = v.clone();
        assert_eq!(copy.to_vec(), v.to_vec());
        drop(copy);
        drop(v);
    }
}
