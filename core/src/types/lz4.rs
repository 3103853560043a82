//! LZ4 blocks against a dictionary: an encoder whose dictionary is indexed once, not on every
//! call, and a decoder built for few, long sequences.
//!
//! LZ4 with a dictionary compresses a value as if the dictionary preceded it, so matches may
//! reach back into the dictionary. A general-purpose encoder (lz4_flex's `compress_with_dict`)
//! hashes the whole dictionary into its match table on every call: for an 8 KiB dictionary and a
//! 1 KiB value that is most of the work (4.3 us of a SET). A dictionary here is indexed once when
//! it is registered ([`DictIndex::new`]: every position, with a hash chain), and each call only
//! indexes its own input, in a table sized to it. The output is a standard LZ4 block.
//!
//! Decoding costs per sequence (a token, a literal run, a match), not per byte, so the encoder
//! spends its effort on fewer sequences: at each position it takes the longest of the input's
//! last match candidate and up to [`MAX_CHAIN`] dictionary positions with the same hash, it
//! tries one position later for a match that ends further (lazy matching), and it leaves matches
//! shorter than [`MIN_KEPT_MATCH`] as literals. On the 825-byte JSON document of `benches/core.rs`
//! that is 23 sequences in 145 bytes, where LZ4's greedy fast parse gave 32 in 164. It extends
//! a match back over pending literals and skips ahead faster the longer nothing matches. Block
//! rules: the last 5 bytes are literals, no match starts in the last 12 bytes, offsets are
//! 1..=65535.

use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

/// Bits of the match table's index.
const HASH_BITS: u32 = 12;
/// Bits of the smallest per-call table for the input's own positions.
const INPUT_HASH_BITS_MIN: u32 = 8;
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
/// Dictionary positions a search tries at most.
const MAX_CHAIN: u32 = 4;
/// Shorter matches are left as literals: decoding costs per sequence, and a match this short
/// saves at most two bytes.
const MIN_KEPT_MATCH: usize = 6;
/// Later starting points a lazy search tries after a match is found.
const LAZY_STEPS: usize = 1;
/// Misses before the search starts skipping faster (LZ4's acceleration).
const SKIP_TRIGGER: u32 = 6;
/// A dictionary and its match table: for each hash of 4 bytes, the last dictionary position with
/// it.
pub struct DictIndex {
    /// The dictionary, then [`DECODE_SLACK`] zero bytes for the decoder's fixed-size reads.
    bytes: Box<[u8]>,
    len: usize,
    table: Box<[u32]>,
    /// For each dictionary position, how far back the previous one with the same hash is (0:
    /// none), so a search can try every place in the dictionary a match may start.
    chain: Box<[u16]>,
}

#[inline]
fn read4(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

#[inline]
fn hash4(v: u32) -> usize {
    hash_bits(v, HASH_BITS)
}

#[inline]
fn hash_bits(v: u32, bits: u32) -> usize {
    (v.wrapping_mul(2_654_435_761) >> (32 - bits)) as usize
}

impl DictIndex {
    /// Indexes `bytes` (only the last 64 KiB can be reached by a match, so only those are kept).
    pub fn new(bytes: Vec<u8>) -> Self {
        let start = bytes.len().saturating_sub(MAX_OFFSET);
        let len = bytes.len() - start;
        let mut padded = Vec::with_capacity(len + DECODE_SLACK);
        padded.extend_from_slice(&bytes[start..]);
        padded.resize(len + DECODE_SLACK, 0);
        let bytes = padded.into_boxed_slice();
        let mut table = vec![EMPTY; TABLE_LEN].into_boxed_slice();
        let mut chain = vec![0u16; len].into_boxed_slice();
        for at in 0..len.saturating_sub(MIN_MATCH - 1) {
            let h = hash4(read4(&bytes, at));
            if table[h] != EMPTY {
                // Within 64 KiB, as the dictionary is.
                chain[at] = (at - table[h] as usize) as u16;
            }
            table[h] = at as u32;
        }
        DictIndex {
            bytes,
            len,
            table,
            chain,
        }
    }

    pub fn bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
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
        let dict = self.bytes();
        let d = dict.len();
        // The input's own positions go in a table sized to it (the dictionary's is shared and
        // read-only): a small value does not pay for clearing a big table.
        let bits = (usize::BITS - n.leading_zeros() - 1).clamp(INPUT_HASH_BITS_MIN, HASH_BITS);
        let mut table = vec![EMPTY; 1 << bits];
        let search = Search {
            dict,
            input,
            match_limit: n - LAST_LITERALS,
            bits,
            dict_table: &self.table,
            chain: &self.chain,
        };
        let search_limit = n - MF_LIMIT;
        let (mut anchor, mut i) = (0usize, 0usize);
        let mut misses = 1u32 << SKIP_TRIGGER;
        while i < search_limit {
            let (mut best, mut best_at) = search.find(&mut table, i);
            if best < MIN_KEPT_MATCH {
                i += (misses >> SKIP_TRIGGER) as usize;
                misses += 1;
                continue;
            }
            misses = 1 << SKIP_TRIGGER;
            // Lazy matching: a match starting a little later that also ends later is taken
            // instead (a few more literals, often one sequence fewer).
            let mut k = 1;
            while k <= LAZY_STEPS && i + k < search_limit {
                let (len, at) = search.find(&mut table, i + k);
                if len >= MIN_KEPT_MATCH && i + k + len > i + best {
                    i += k;
                    (best, best_at) = (len, at);
                    k = 1;
                } else {
                    k += 1;
                }
            }
            let (mut start, mut c) = (i, best_at);
            // Extend back over literals that match too.
            while start > anchor && c > 0 && search.byte(c - 1) == input[start - 1] {
                start -= 1;
                c -= 1;
            }
            let end = i + best;
            emit(out, &input[anchor..start], d + start - c, end - start);
            anchor = end;
            i = end;
            // Index a position inside the match, as LZ4 does, so the next search has a recent
            // candidate.
            if i >= 2 && i - 2 + MIN_MATCH <= n {
                table[hash_bits(read4(input, i - 2), bits)] = (i - 2) as u32;
            }
        }
        emit_last(out, &input[anchor..]);
    }
}

/// Bytes the decoder may write past the end of its output, and the zero padding after every
/// dictionary: its fast paths copy in fixed 16- and 32-byte pieces.
pub const DECODE_SLACK: usize = 64;

/// A block that does not decode to the expected length. Blocks are only ever written by this
/// process, so this is a bug, not bad input; the decoder still never reads or writes out of
/// bounds on it.
#[derive(Debug, PartialEq, Eq)]
pub struct Corrupt;

/// The padding that stands in for a dictionary when there is none.
static NO_DICT: [u8; DECODE_SLACK] = [0; DECODE_SLACK];

/// Appends the `len` bytes that `block` decodes to (against `dict`, if any) to `out`; on error
/// `out` is unchanged.
///
/// A decoder of its own rather than lz4_flex's: LZ4 decoding is bound by the work per sequence,
/// and a dictionary-compressed value is few, long sequences (a 1 KiB JSON document of a known
/// schema is about 30). Copying every literal run and match in fixed 16/32-byte pieces into an
/// output with slack, and reading a match's offset and length byte without a branch each,
/// decodes such a value in about two thirds of lz4_flex's time, and it writes into the
/// reply buffer's spare room, which saves zeroing it first.
#[allow(unsafe_code)]
pub fn decompress_append(
    block: &[u8],
    dict: Option<&DictIndex>,
    len: usize,
    out: &mut Vec<u8>,
) -> Result<(), Corrupt> {
    let (dict, d) = dict.map_or((NO_DICT.as_ptr(), 0), |x| (x.bytes.as_ptr(), x.len));
    let at = out.len();
    out.reserve(len + DECODE_SLACK);
    // SAFETY: `reserve` made `out` valid for `len + DECODE_SLACK` writes from `at`, and a
    // dictionary (or NO_DICT) is followed by DECODE_SLACK readable bytes (`DictIndex::new`).
    // `decode` initializes the first `len` of them when it returns Ok.
    unsafe {
        decode(block, dict, d, out.as_mut_ptr().add(at), len)?;
        out.set_len(at + len);
    }
    Ok(())
}

/// A length's extension bytes (after a token nibble of 15), added to `n`.
#[inline(always)]
fn read_len_ext(block: &[u8], ip: &mut usize, mut n: usize) -> Result<usize, Corrupt> {
    loop {
        let b = *block.get(*ip).ok_or(Corrupt)?;
        *ip += 1;
        n += b as usize;
        if b != 255 {
            return Ok(n);
        }
    }
}

/// Copies `n` (> 0) bytes from `src` to `dst` in 32-byte pieces, at least two: up to the larger
/// of 64 and `n` rounded up to 32.
///
/// # Safety
/// `src` is readable and `dst` writable for that many bytes, and each 32-byte piece's source lies
/// at least 32 bytes before its destination, or in another allocation.
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn copy_pieces(src: *const u8, dst: *mut u8, n: usize) {
    // SAFETY: the caller's contract, piece by piece. The first two pieces are copied whether
    // or not the second is needed: most matches are up to 64 bytes, and a loop whose trip count
    // changes from one match to the next costs a mispredicted branch each time.
    unsafe {
        core::ptr::copy_nonoverlapping(src, dst, 32);
        core::ptr::copy_nonoverlapping(src.add(32), dst.add(32), 32);
        let mut k = 64;
        while k < n {
            core::ptr::copy_nonoverlapping(src.add(k), dst.add(k), 32);
            k += 32;
        }
    }
}

/// Copies a match of `ml` bytes starting `off` bytes before `out + op`; the part of it that lies
/// before the output (`off > op`) comes from the end of the dictionary.
///
/// # Safety
/// `1 <= off <= op + d`, `op + ml <= len` and `ml >= MIN_MATCH`, with `out` and `dict` valid as
/// for [`decode`].
#[allow(unsafe_code)]
#[inline(always)]
unsafe fn copy_match(out: *mut u8, op: usize, off: usize, ml: usize, dict: *const u8, d: usize) {
    if off <= op {
        // SAFETY: `off <= op`, so the source is in the output; `op + ml <= len`.
        let from = unsafe { out.add(op - off) };
        if off >= 32 {
            // SAFETY: each piece reads 32 bytes at least 32 before where it writes, bytes
            // already written (by earlier sequences or earlier pieces); as `op + ml <= len` and
            // `ml >= 4`, the last write ends before `len + 64`.
            unsafe { copy_pieces(from, out.add(op), ml) };
        } else {
            // A short period (a run): byte by byte, each from one already written.
            for k in 0..ml {
                // SAFETY: `op + k - off < op + k <= len`.
                unsafe { *out.add(op + k) = *from.add(k) };
            }
        }
    } else {
        let back = off - op;
        // SAFETY: `back <= d`, so the source is in the dictionary.
        let from = unsafe { dict.add(d - back) };
        if back >= ml {
            // SAFETY: the match lies in the dictionary (`back >= ml >= 4`), whose padding covers
            // the rest of the pieces (reads end before `d + 64`); writes end before `len + 64`.
            unsafe { copy_pieces(from, out.add(op), ml) };
        } else {
            // The match runs from the dictionary's end into the output.
            // SAFETY: `back` bytes of the dictionary, then bytes already written.
            unsafe {
                core::ptr::copy_nonoverlapping(from, out.add(op), back);
                for k in back..ml {
                    *out.add(op + k) = *out.add(op + k - off);
                }
            }
        }
    }
}

/// Decodes `block` into `out[..len]`, matches reaching back `op + d` bytes into `dict[..d]`.
///
/// # Safety
/// `out` is valid for writes of `len + DECODE_SLACK` bytes, `dict` for reads of
/// `d + DECODE_SLACK` bytes. Bounds are checked against `len` and the block, so any block is
/// safe; writes past `len` (into the slack) are garbage.
#[allow(unsafe_code)]
unsafe fn decode(
    block: &[u8],
    dict: *const u8,
    d: usize,
    out: *mut u8,
    len: usize,
) -> Result<(), Corrupt> {
    let end = block.len();
    let src = block.as_ptr();
    let (mut ip, mut op) = (0usize, 0usize);
    // Sequences whose token, literals (up to 14), offset and length byte all lie within 18
    // bytes of `ip` take the short path: a 16-byte literal copy, the offset and length byte
    // read without a branch each. A long literal run, a long match length, anything invalid,
    // and the block's last bytes take the general path, which decodes the same sequence again
    // from `ip`, checking everything.
    let quick_end = end.saturating_sub(18);
    loop {
        while ip < quick_end {
            // SAFETY: `ip + 18 <= end` for every read of the block here.
            let token = unsafe { *src.add(ip) };
            let lit = (token >> 4) as usize;
            let m = (token & 15) as usize;
            if lit == 15 {
                break;
            }
            let p = ip + 1 + lit;
            // SAFETY: as above (`p + 3 <= ip + 18`).
            let (off, b) = unsafe {
                (
                    u16::from_le_bytes([*src.add(p), *src.add(p + 1)]) as usize,
                    *src.add(p + 2) as usize,
                )
            };
            let (ml, step) = if m == 15 {
                (m + MIN_MATCH + b, 3)
            } else {
                (m + MIN_MATCH, 2)
            };
            let at = op + lit;
            if b == 255 && m == 15 || off == 0 || off > at + d || at + ml > len {
                break;
            }
            // SAFETY: literals: `ip + 17 <= end`, `op + 16 <= len + DECODE_SLACK`; the match
            // was just checked.
            unsafe {
                core::ptr::copy_nonoverlapping(src.add(ip + 1), out.add(op), 16);
                copy_match(out, at, off, ml, dict, d);
            }
            ip = p + step;
            op = at + ml;
        }
        let token = *block.get(ip).ok_or(Corrupt)?;
        ip += 1;
        let mut lit = (token >> 4) as usize;
        if lit == 15 {
            lit = read_len_ext(block, &mut ip, lit)?;
        }
        if lit > end - ip || lit > len - op {
            return Err(Corrupt);
        }
        // SAFETY: both ranges were just checked.
        unsafe { core::ptr::copy_nonoverlapping(src.add(ip), out.add(op), lit) };
        ip += lit;
        op += lit;
        if ip == end {
            // The last sequence is literals only.
            return if op == len { Ok(()) } else { Err(Corrupt) };
        }
        let off = block.get(ip..ip + 2).ok_or(Corrupt)?;
        let off = u16::from_le_bytes([off[0], off[1]]) as usize;
        ip += 2;
        let mut ml = (token & 15) as usize + MIN_MATCH;
        if ml == 15 + MIN_MATCH {
            ml = read_len_ext(block, &mut ip, ml)?;
        }
        if off == 0 || off > op + d || ml > len - op {
            return Err(Corrupt);
        }
        // SAFETY: just checked.
        unsafe { copy_match(out, op, off, ml, dict, d) };
        op += ml;
    }
}

/// One call's match search: the dictionary and input as one virtual sequence (the dictionary is
/// `0..d`, the input `d..`), the input's table (passed in) and the dictionary's.
struct Search<'a> {
    dict: &'a [u8],
    input: &'a [u8],
    match_limit: usize,
    bits: u32,
    dict_table: &'a [u32],
    chain: &'a [u16],
}

impl Search<'_> {
    /// The byte at a virtual position.
    #[inline(always)]
    fn byte(&self, p: usize) -> u8 {
        let d = self.dict.len();
        if p < d {
            self.dict[p]
        } else {
            self.input[p - d]
        }
    }

    /// The longest match for input position `i` (length, virtual start), among the input's
    /// most recent position with its hash and the dictionary's chain for it; `i` is indexed
    /// for later searches.
    #[inline(always)]
    fn find(&self, table: &mut [u32], i: usize) -> (usize, usize) {
        let d = self.dict.len();
        let v = read4(self.input, i);
        let slot = &mut table[hash_bits(v, self.bits)];
        let recent = *slot;
        *slot = i as u32;
        let mut best = (0usize, 0usize);
        if recent != EMPTY {
            self.consider(d + recent as usize, i, &mut best);
        }
        let mut c = self.dict_table[hash4(v)];
        let mut tries = 0;
        while c != EMPTY && tries < MAX_CHAIN {
            self.consider(c as usize, i, &mut best);
            let step = self.chain[c as usize];
            c = if step == 0 {
                EMPTY
            } else {
                c - u32::from(step)
            };
            tries += 1;
        }
        best
    }

    /// Measures candidate `c` for input position `i` if it could beat `best`.
    #[inline(always)]
    fn consider(&self, c: usize, i: usize, best: &mut (usize, usize)) {
        let here = self.dict.len() + i;
        if here - c > MAX_OFFSET || self.byte(c + best.0) != self.input[i + best.0] {
            return;
        }
        let len = match_len(self.dict, self.input, c, i, self.match_limit);
        if len > best.0 {
            *best = (len, c);
        }
    }
}

/// How long a match at virtual position `c` (dictionary then input) runs against the input from
/// `i`, up to `limit`.
#[inline]
fn match_len(dict: &[u8], input: &[u8], c: usize, i: usize, limit: usize) -> usize {
    let d = dict.len();
    let mut len = 0;
    if c < d {
        len = common_prefix(&dict[c..], &input[i..limit]);
        if c + len < d {
            return len;
        }
    }
    len + common_prefix(&input[c + len - d..], &input[i + len..limit])
}

/// How many leading bytes `a` and `b` share, 8 at a time.
#[inline]
fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    let max = a.len().min(b.len());
    let (a, b) = (&a[..max], &b[..max]);
    let mut k = 0;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let (Ok(x), Ok(y)) = (<[u8; 8]>::try_from(x), <[u8; 8]>::try_from(y)) else {
            break;
        };
        let diff = u64::from_le_bytes(x) ^ u64::from_le_bytes(y);
        if diff != 0 {
            return k + (diff.trailing_zeros() / 8) as usize;
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
    use crate::types::set::Rng;
    use alloc::format;

    fn roundtrip(dict: &DictIndex, input: &[u8]) -> usize {
        let mut out = Vec::new();
        dict.compress(input, &mut out);
        let mut back = vec![0u8; input.len()];
        let n = lz4_flex::block::decompress_into_with_dict(&out, &mut back, dict.bytes())
            .unwrap_or_else(|e| panic!("{e:?} for {} input bytes", input.len()));
        assert_eq!(n, input.len());
        assert_eq!(back, input);
        assert_eq!(expand(&out, Some(dict), input.len()).as_deref(), Ok(input));
        // lz4_flex's own encoder parses differently (matches across the dictionary's end,
        // overlapping runs): its blocks decode too.
        let theirs = lz4_flex::block::compress_with_dict(input, dict.bytes());
        assert_eq!(
            expand(&theirs, Some(dict), input.len()).as_deref(),
            Ok(input)
        );
        if dict.bytes().is_empty() {
            assert_eq!(expand(&theirs, None, input.len()).as_deref(), Ok(input));
        }
        out.len()
    }

    /// Decodes after a few bytes already in the buffer, which must stay.
    fn expand(block: &[u8], dict: Option<&DictIndex>, len: usize) -> Result<Vec<u8>, Corrupt> {
        let mut out = b"head".to_vec();
        let r = decompress_append(block, dict, len, &mut out);
        assert_eq!(&out[..4], b"head");
        assert_eq!(out.len(), if r.is_ok() { 4 + len } else { 4 });
        r.map(|()| out[4..].to_vec())
    }

    #[test]
    fn corrupt_blocks_are_refused_not_overrun() {
        let mut rng = Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut rand = move |n: usize| rng.below(n);
        let alphabet = b"abcdefgh{}\":,0123";
        let text: Vec<u8> = (0..3000)
            .map(|i| alphabet[(i * 7 + i / 13) % alphabet.len()])
            .collect();
        let dict = DictIndex::new(text[..1000].to_vec());
        for len in [0usize, 1, 16, 17, 40, 300, 2000] {
            let input = &text[1000..1000 + len];
            let mut block = Vec::new();
            dict.compress(input, &mut block);
            // Wrong lengths, truncations.
            for wrong in [len + 1, len.saturating_sub(1), len + 100] {
                if wrong != len {
                    assert_eq!(expand(&block, Some(&dict), wrong), Err(Corrupt));
                }
            }
            for cut in 0..block.len() {
                assert!(expand(&block[..cut], Some(&dict), len).is_err());
            }
            // Flipped bytes: any result but a crash (and a right-sized one when Ok).
            for _ in 0..2000 {
                let mut bad = block.clone();
                for _ in 0..1 + rand(3) {
                    if bad.is_empty() {
                        break;
                    }
                    let at = rand(bad.len());
                    bad[at] = rand(256) as u8;
                }
                let _ = expand(&bad, Some(&dict), len);
                let _ = expand(&bad, None, len);
            }
        }
        // Random garbage.
        for _ in 0..5000 {
            let n = rand(64);
            let junk: Vec<u8> = (0..n).map(|_| rand(256) as u8).collect();
            let _ = expand(&junk, Some(&dict), rand(200));
        }
        // An offset of zero, an offset before the dictionary, a match past the end.
        assert_eq!(expand(&[0x04, b'a', 0, 0, 0x00], None, 5), Err(Corrupt));
        assert_eq!(expand(&[0x10, b'a', 2, 0, 0x00], None, 5), Err(Corrupt));
        assert_eq!(
            expand(&[0x10, b'a', 1, 0, 0x10, b'b'], None, 6),
            Ok(b"aaaaab".to_vec())
        );
        assert_eq!(
            expand(&[0x10, b'a', 1, 0, 0x10, b'b'], None, 5),
            Err(Corrupt)
        );
    }

    #[test]
    fn blocks_decode_with_lz4_flex() {
        let mut rng = Rng::new(0x2545_f491_4f6c_dd1d);
        let mut rand = move |n: usize| rng.below(n);
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
