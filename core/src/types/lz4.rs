//! An LZ4 block encoder whose dictionary is indexed once, not on every call.
//!
//! LZ4 with a dictionary compresses a value as if the dictionary preceded it, so matches may
//! reach back into the dictionary. A general-purpose encoder (lz4_flex's `compress_with_dict`)
//! hashes the whole dictionary into its match table on every call: for an 8 KiB dictionary and a
//! 1 KiB value that is most of the work (4.3 us of a SET). A dictionary here is indexed once when
//! it is registered ([`DictIndex::new`], every position, so more of it is findable than with a
//! per-call index that samples every third position), and each call starts from a copy of that
//! table. The output is a standard LZ4 block, read back by lz4_flex's decoder.
//!
//! The encoder is LZ4's greedy "fast" parse: hash 4 bytes, look up the last position with that
//! hash, verify, extend the match forward (and back over pending literals), emit the sequence,
//! and skip ahead faster the longer nothing matches. Block rules: the last 5 bytes are literals,
//! no match starts in the last 12 bytes, offsets are 1..=65535.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// Bits of the match table's index.
const HASH_BITS: u32 = 12;
const TABLE_LEN: usize = 1 << HASH_BITS;
/// An empty table slot.
const EMPTY: u32 = u32::MAX;
/// LZ4's shortest match.
const MIN_MATCH: usize = 4;
/// The last bytes of a block are always literals.
const LAST_LITERALS: usize = 5;
/// No match starts within this many bytes of the end.
const MF_LIMIT: usize = 12;
/// Farthest a match reaches back.
const MAX_OFFSET: usize = 65_535;
/// Misses before the search starts skipping faster (LZ4's acceleration).
const SKIP_TRIGGER: u32 = 6;
/// A dictionary and its match table: for each hash of 4 bytes, the last dictionary position with
/// it.
pub struct DictIndex {
    bytes: Box<[u8]>,
    table: Box<[u32]>,
}

#[inline]
fn read4(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn hash4(v: u32) -> usize {
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

impl DictIndex {
    /// Indexes `bytes` (only the last 64 KiB can be reached by a match, so only those are kept).
    pub fn new(bytes: Vec<u8>) -> Self {
        let start = bytes.len().saturating_sub(MAX_OFFSET);
        let bytes: Box<[u8]> = bytes[start..].into();
        let mut table = vec![EMPTY; TABLE_LEN].into_boxed_slice();
        for at in 0..bytes.len().saturating_sub(MIN_MATCH - 1) {
            table[hash4(read4(&bytes, at))] = at as u32;
        }
        DictIndex { bytes, table }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Compresses `input` as an LZ4 block against the dictionary into `out` (cleared first).
    /// Positions are "virtual": the dictionary is `0..d`, the input `d..d + input.len()`.
    pub fn compress(&self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(input.len() + input.len() / 255 + 16);
        let n = input.len();
        if n < MF_LIMIT + 1 {
            emit_last(out, input);
            return;
        }
        let dict = &self.bytes[..];
        let d = dict.len();
        // A copy of the dictionary's table on the stack (16 KiB): no allocation per call.
        let mut table = [EMPTY; TABLE_LEN];
        table.copy_from_slice(&self.table);
        // The byte at a virtual position.
        let vbyte = |p: usize| if p < d { dict[p] } else { input[p - d] };
        let match_limit = n - LAST_LITERALS;
        let search_limit = n - MF_LIMIT;
        let (mut anchor, mut i) = (0usize, 0usize);
        let mut misses = 1u32 << SKIP_TRIGGER;
        while i < search_limit {
            let seq = read4(input, i);
            let h = hash4(seq);
            let cand = table[h];
            table[h] = (d + i) as u32;
            let here = d + i;
            let found = cand != EMPTY && {
                let c = cand as usize;
                here - c <= MAX_OFFSET && (0..MIN_MATCH).all(|k| vbyte(c + k) == input[i + k])
            };
            if !found {
                i += (misses >> SKIP_TRIGGER) as usize;
                misses += 1;
                continue;
            }
            misses = 1 << SKIP_TRIGGER;
            let (mut start, mut c) = (i, cand as usize);
            // Extend back over literals that match too.
            while start > anchor && c > 0 && vbyte(c - 1) == input[start - 1] {
                start -= 1;
                c -= 1;
            }
            // Extend forward, up to the literals the block must end with.
            let mut end = i + MIN_MATCH;
            let mut cp = cand as usize + MIN_MATCH;
            if cp < d {
                // The dictionary part of the candidate, then (if it runs on) the input.
                let run = common_prefix(&dict[cp..], &input[end..match_limit]);
                end += run;
                cp += run;
            }
            if cp >= d && end < match_limit {
                let run = common_prefix(&input[cp - d..], &input[end..match_limit]);
                end += run;
            }
            emit(out, &input[anchor..start], d + start - c, end - start);
            anchor = end;
            i = end;
            // Index a position inside the match, as LZ4 does, so the next search has a recent
            // candidate.
            if i >= 2 && i - 2 + MIN_MATCH <= n {
                table[hash4(read4(input, i - 2))] = (d + i - 2) as u32;
            }
        }
        emit_last(out, &input[anchor..]);
    }
}

/// How many leading bytes `a` and `b` share, 8 at a time.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let max = a.len().min(b.len());
    let mut k = 0;
    while k + 8 <= max {
        let x = u64::from_le_bytes([
            a[k],
            a[k + 1],
            a[k + 2],
            a[k + 3],
            a[k + 4],
            a[k + 5],
            a[k + 6],
            a[k + 7],
        ]) ^ u64::from_le_bytes([
            b[k],
            b[k + 1],
            b[k + 2],
            b[k + 3],
            b[k + 4],
            b[k + 5],
            b[k + 6],
            b[k + 7],
        ]);
        if x != 0 {
            return k + (x.trailing_zeros() / 8) as usize;
        }
        k += 8;
    }
    while k < max && a[k] == b[k] {
        k += 1;
    }
    k
}

/// Writes a length's extension bytes (after a token nibble of 15).
fn put_len_ext(out: &mut Vec<u8>, mut rest: usize) {
    while rest >= 255 {
        out.push(255);
        rest -= 255;
    }
    out.push(rest as u8);
}

/// One sequence: literals, then a match of `len` bytes `offset` back.
fn emit(out: &mut Vec<u8>, literals: &[u8], offset: usize, len: usize) {
    let lit = literals.len();
    let ml = len - MIN_MATCH;
    out.push(((lit.min(15) as u8) << 4) | ml.min(15) as u8);
    if lit >= 15 {
        put_len_ext(out, lit - 15);
    }
    out.extend_from_slice(literals);
    out.extend_from_slice(&(offset as u16).to_le_bytes());
    if ml >= 15 {
        put_len_ext(out, ml - 15);
    }
}

/// The final sequence: literals only.
fn emit_last(out: &mut Vec<u8>, literals: &[u8]) {
    let lit = literals.len();
    out.push((lit.min(15) as u8) << 4);
    if lit >= 15 {
        put_len_ext(out, lit - 15);
    }
    out.extend_from_slice(literals);
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn roundtrip(dict: &DictIndex, input: &[u8]) -> usize {
        let mut out = Vec::new();
        dict.compress(input, &mut out);
        let mut back = vec![0u8; input.len()];
        let n = lz4_flex::block::decompress_into_with_dict(&out, &mut back, dict.bytes())
            .unwrap_or_else(|e| panic!("{e:?} for {} input bytes", input.len()));
        assert_eq!(n, input.len());
        assert_eq!(back, input);
        out.len()
    }

    #[test]
    fn blocks_decode_with_lz4_flex() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        let doc = |i: u64| {
            format!(
                "{{\"id\":{i},\"name\":\"user{i}\",\"email\":\"user{i}@example.com\",\"tags\":[\"a\",\"b\"],\"score\":{}}}",
                i * 7 % 1000
            )
            .into_bytes()
        };
        let dict_bytes: Vec<u8> = (0..40).flat_map(doc).collect();
        for dict in [
            DictIndex::new(Vec::new()),
            DictIndex::new(dict_bytes.clone()),
            DictIndex::new(b"abc".to_vec()),
            // A dictionary longer than a match can reach keeps its last 64 KiB.
            DictIndex::new((0..70_000).map(|i| (i % 251) as u8).collect()),
        ] {
            for len in 0..40 {
                roundtrip(&dict, &vec![b'z'; len]);
                let noise: Vec<u8> = (0..len).map(|_| rand(256) as u8).collect();
                roundtrip(&dict, &noise);
            }
            for i in 0..200 {
                let mut v = doc(1000 + i);
                if i % 3 == 0 {
                    v.extend_from_slice(&doc(i));
                }
                if i % 5 == 0 {
                    v.extend((0..rand(3000)).map(|_| rand(4) as u8 + b'a'));
                }
                roundtrip(&dict, &v);
            }
            roundtrip(&dict, &vec![7u8; 200_000]);
            let big: Vec<u8> = (0..100_000).map(|_| rand(16) as u8).collect();
            roundtrip(&dict, &big);
        }
        // The dictionary pays: a document of the trained kind shrinks far more with it.
        let with = roundtrip(&DictIndex::new(dict_bytes), &doc(5000));
        let without = roundtrip(&DictIndex::new(Vec::new()), &doc(5000));
        assert!(with * 2 < without, "{with} vs {without}");
    }
}
