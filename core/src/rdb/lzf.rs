//! LZF, the compression RDB files use for long strings (`rdbcompression yes`): a byte-oriented
//! LZ77 with 8 KiB of history. A control byte below 32 starts a run of `ctrl + 1` literals;
//! otherwise its top three bits are a match length (7: one more length byte follows) and the low
//! five bits, with the next byte, the distance back minus one. Matches are at least 3 bytes.

use alloc::vec;
use alloc::vec::Vec;

/// Distance a match may reach back.
const WINDOW: usize = 1 << 13;
/// Longest match: 7 + 255 extra, plus the implied 2.
const MATCH_MAX: usize = 264;
/// Literals per run.
const LITERALS_MAX: usize = 32;
/// Slots of the compressor's table of recent 3-byte sequences.
const HASH_BITS: u32 = 14;

/// Compresses `input`; `None` when the result would not be shorter than `out_max` bytes (Redis
/// asks for at least 4 bytes saved and stores the string plain otherwise).
pub fn compress(input: &[u8], out_max: usize) -> Option<Vec<u8>> {
    if input.len() < 4 {
        return None;
    }
    let mut out = Vec::with_capacity(out_max.min(input.len()));
    let mut table = vec![0u32; 1 << HASH_BITS];
    let hash = |p: &[u8]| -> usize {
        let v = u32::from(p[0]) << 16 | u32::from(p[1]) << 8 | u32::from(p[2]);
        (v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize
    };
    let mut lit_start = 0usize;
    let mut i = 0usize;
    // Flushes pending literals in runs of at most 32.
    let flush = |out: &mut Vec<u8>, lits: &[u8]| {
        for run in lits.chunks(LITERALS_MAX) {
            out.push((run.len() - 1) as u8);
            out.extend_from_slice(run);
        }
    };
    while i + 2 < input.len() {
        let h = hash(&input[i..]);
        let cand = table[h] as usize;
        table[h] = i as u32 + 1;
        if cand > 0 {
            let cand = cand - 1;
            let dist = i - cand;
            if (1..=WINDOW).contains(&dist) && input[cand..cand + 3] == input[i..i + 3] {
                let max = (input.len() - i).min(MATCH_MAX);
                let mut len = 3;
                while len < max && input[cand + len] == input[i + len] {
                    len += 1;
                }
                flush(&mut out, &input[lit_start..i]);
                let (l, off) = (len - 2, dist - 1);
                if l < 7 {
                    out.push((l << 5 | off >> 8) as u8);
                } else {
                    out.push((7 << 5 | off >> 8) as u8);
                    out.push((l - 7) as u8);
                }
                out.push(off as u8);
                if out.len() >= out_max {
                    return None;
                }
                // Index the positions the match covered, so later data can refer to them.
                let end = i + len;
                let mut j = i + 1;
                while j + 2 < input.len() && j < end {
                    table[hash(&input[j..])] = j as u32 + 1;
                    j += 1;
                }
                i = end;
                lit_start = i;
                continue;
            }
        }
        i += 1;
    }
    flush(&mut out, &input[lit_start..]);
    (out.len() < out_max).then_some(out)
}

/// Decompresses `input` into exactly `len` bytes; `None` when the data is not valid LZF or does
/// not come out at that length.
pub fn decompress(input: &[u8], len: usize) -> Option<Vec<u8>> {
    // Grown as output is produced: the claimed length is only a bound, not trusted for memory.
    let mut out: Vec<u8> = Vec::with_capacity(len.min(input.len().saturating_mul(4)).min(1 << 20));
    let mut i = 0;
    while i < input.len() {
        let ctrl = usize::from(input[i]);
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lits = input.get(i..i + run)?;
            if out.len() + run > len {
                return None;
            }
            out.extend_from_slice(lits);
            i += run;
            continue;
        }
        let mut mlen = ctrl >> 5;
        if mlen == 7 {
            mlen += usize::from(*input.get(i)?);
            i += 1;
        }
        let back = ((ctrl & 0x1f) << 8) + usize::from(*input.get(i)?) + 1;
        i += 1;
        let mlen = mlen + 2;
        if back > out.len() || out.len() + mlen > len {
            return None;
        }
        let from = out.len() - back;
        // Byte by byte: a match may overlap what it produces.
        for k in 0..mlen {
            let b = out[from + k];
            out.push(b);
        }
    }
    (out.len() == len).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let mut text = Vec::new();
        for i in 0..2000u32 {
            text.extend_from_slice(alloc::format!("key:{} value {} ", i % 37, i % 11).as_bytes());
        }
        let z = compress(&text, text.len() - 4).expect("repetitive text compresses");
        assert!(z.len() < text.len() / 3);
        assert_eq!(decompress(&z, text.len()).as_deref(), Some(&text[..]));
        assert_eq!(decompress(&z, text.len() + 1), None);
        assert_eq!(compress(b"abcdefgh", 4), None);
        let aaa = [b'a'; 1000];
        let z = compress(&aaa, 996).unwrap();
        assert_eq!(decompress(&z, 1000).as_deref(), Some(&aaa[..]));
        // A back reference before the start, and a literal run past the end.
        assert_eq!(decompress(&[0x20, 0x05], 3), None);
        assert_eq!(decompress(&[0x05, b'a'], 6), None);
    }
}
