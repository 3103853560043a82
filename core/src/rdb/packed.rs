//! Redis's packed encodings as they appear inside RDB values: listpacks (read and written: Redis
//! 7.0's lists, hashes, sorted sets and stream nodes), and the older ziplists, intsets and zipmaps
//! (read only: Redis 7.0 still loads them). Every reader checks each length against the blob it
//! was given and fails instead of reading past it.

use alloc::vec::Vec;

use crate::types::string::{format_i64, parse_canonical_i64, IntBuf};

/// One element of a packed blob: bytes, or an integer the blob stored as one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Elem<'a> {
    Bytes(&'a [u8]),
    Int(i64),
}

impl<'a> Elem<'a> {
    /// The element's bytes (an integer formatted into `buf`).
    pub fn bytes<'b>(&'b self, buf: &'b mut IntBuf) -> &'b [u8] {
        match self {
            Elem::Bytes(b) => b,
            Elem::Int(n) => format_i64(*n, buf),
        }
    }

    pub fn to_vec(self) -> Vec<u8> {
        let mut buf = IntBuf::default();
        self.bytes(&mut buf).to_vec()
    }
}

/// Little-endian unsigned integer of `n` bytes at `at`.
fn le(b: &[u8], at: usize, n: usize) -> Option<u64> {
    let s = b.get(at..at + n)?;
    Some(s.iter().rev().fold(0u64, |v, &x| v << 8 | u64::from(x)))
}

/// Sign-extends the low `bits` bits of `v`.
fn signed(v: u64, bits: u32) -> i64 {
    let shift = 64 - bits;
    ((v << shift) as i64) >> shift
}

// ------------------------------------------------------------------------------------------------
// Listpack
// ------------------------------------------------------------------------------------------------

/// Size of a listpack header: total bytes (u32) and element count (u16).
const LP_HEADER: usize = 6;
const LP_END: u8 = 0xff;
/// The element count a header holds when there are too many to count.
const LP_COUNT_UNKNOWN: u16 = u16::MAX;

/// Bytes of the back-length that follows an entry of `l` bytes.
fn lp_backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes a listpack spends on the integer `v` (encoding and back-length).
pub fn lp_int_size(v: i64) -> usize {
    let enc = match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    };
    enc + lp_backlen_size(enc)
}

/// Bytes a listpack spends on `s` (as an integer when it is one).
pub fn lp_item_size(s: &[u8]) -> usize {
    if let Some(n) = parse_canonical_i64(s) {
        return lp_int_size(n);
    }
    let n = s.len();
    let enc = match n {
        0..=63 => 1 + n,
        64..=4095 => 2 + n,
        _ => 5 + n,
    };
    enc + lp_backlen_size(enc)
}

/// Bytes of an empty listpack (header and end byte).
pub const LP_EMPTY_BYTES: usize = LP_HEADER + 1;

/// The elements of a listpack, or `None` when it is malformed.
pub fn listpack(blob: &[u8]) -> Option<Vec<Elem<'_>>> {
    let total = le(blob, 0, 4)? as usize;
    let count = le(blob, 4, 2)? as u16;
    if total != blob.len() || blob.len() < LP_HEADER + 1 || blob[blob.len() - 1] != LP_END {
        return None;
    }
    let mut out = Vec::new();
    let mut at = LP_HEADER;
    loop {
        let b = *blob.get(at)?;
        if b == LP_END {
            break;
        }
        let (elem, len) = match b {
            0x00..=0x7f => (Elem::Int(i64::from(b)), 1),
            0x80..=0xbf => {
                let n = usize::from(b & 0x3f);
                (Elem::Bytes(blob.get(at + 1..at + 1 + n)?), 1 + n)
            }
            0xc0..=0xdf => {
                let v = u64::from(b & 0x1f) << 8 | u64::from(*blob.get(at + 1)?);
                (Elem::Int(signed(v, 13)), 2)
            }
            0xe0..=0xef => {
                let n = usize::from(b & 0x0f) << 8 | usize::from(*blob.get(at + 1)?);
                (Elem::Bytes(blob.get(at + 2..at + 2 + n)?), 2 + n)
            }
            0xf0 => {
                let n = le(blob, at + 1, 4)? as usize;
                (
                    Elem::Bytes(blob.get(at + 5..(at + 5).checked_add(n)?)?),
                    5 + n,
                )
            }
            0xf1 => (Elem::Int(signed(le(blob, at + 1, 2)?, 16)), 3),
            0xf2 => (Elem::Int(signed(le(blob, at + 1, 3)?, 24)), 4),
            0xf3 => (Elem::Int(signed(le(blob, at + 1, 4)?, 32)), 5),
            0xf4 => (Elem::Int(le(blob, at + 1, 8)? as i64), 9),
            _ => return None,
        };
        at = at.checked_add(len + lp_backlen_size(len))?;
        if at > blob.len() - 1 {
            return None;
        }
        out.push(elem);
    }
    if at != blob.len() - 1 || (count != LP_COUNT_UNKNOWN && usize::from(count) != out.len()) {
        return None;
    }
    Some(out)
}

/// Builds a listpack.
pub struct ListpackWriter {
    buf: Vec<u8>,
    count: usize,
}

impl Default for ListpackWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl ListpackWriter {
    pub fn new() -> Self {
        ListpackWriter {
            buf: alloc::vec![0; LP_HEADER],
            count: 0,
        }
    }

    fn backlen(&mut self, l: usize) {
        let n = lp_backlen_size(l);
        // Most significant group first; every byte but the first carries the continuation bit.
        for k in (0..n).rev() {
            let group = ((l >> (7 * k)) & 0x7f) as u8;
            self.buf.push(if k == n - 1 { group } else { group | 0x80 });
        }
    }

    /// Appends `bytes`, as an integer when it is one (as Redis does).
    pub fn push(&mut self, bytes: &[u8]) {
        match parse_canonical_i64(bytes) {
            Some(n) => self.push_int(n),
            None => self.push_str(bytes),
        }
    }

    pub fn push_str(&mut self, s: &[u8]) {
        let start = self.buf.len();
        let n = s.len();
        if n < 64 {
            self.buf.push(0x80 | n as u8);
        } else if n < 4096 {
            self.buf
                .extend_from_slice(&[0xe0 | (n >> 8) as u8, n as u8]);
        } else {
            self.buf.push(0xf0);
            self.buf.extend_from_slice(&(n as u32).to_le_bytes());
        }
        self.buf.extend_from_slice(s);
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    pub fn push_int(&mut self, v: i64) {
        let start = self.buf.len();
        match v {
            0..=127 => self.buf.push(v as u8),
            -4096..=4095 => {
                let u = (v as u16) & 0x1fff;
                self.buf
                    .extend_from_slice(&[0xc0 | (u >> 8) as u8, u as u8]);
            }
            -32768..=32767 => {
                self.buf.push(0xf1);
                self.buf.extend_from_slice(&(v as i16).to_le_bytes());
            }
            -8388608..=8388607 => {
                self.buf.push(0xf2);
                self.buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            -2147483648..=2147483647 => {
                self.buf.push(0xf3);
                self.buf.extend_from_slice(&(v as i32).to_le_bytes());
            }
            _ => {
                self.buf.push(0xf4);
                self.buf.extend_from_slice(&v.to_le_bytes());
            }
        }
        let l = self.buf.len() - start;
        self.backlen(l);
        self.count += 1;
    }

    /// The finished blob.
    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(LP_END);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = u16::try_from(self.count)
            .ok()
            .filter(|&c| c != LP_COUNT_UNKNOWN)
            .unwrap_or(LP_COUNT_UNKNOWN);
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

// ------------------------------------------------------------------------------------------------
// Ziplist, intset, zipmap (loaded, never written)
// ------------------------------------------------------------------------------------------------

/// The elements of a ziplist, or `None` when it is malformed.
pub fn ziplist(blob: &[u8]) -> Option<Vec<Elem<'_>>> {
    let total = le(blob, 0, 4)? as usize;
    let count = le(blob, 8, 2)? as u16;
    if total != blob.len() || blob.len() < 11 || blob[blob.len() - 1] != 0xff {
        return None;
    }
    let mut out = Vec::new();
    let mut at = 10;
    loop {
        let first = *blob.get(at)?;
        if first == 0xff {
            break;
        }
        at += match first {
            0xfe => 5,
            _ => 1,
        };
        let b = *blob.get(at)?;
        let (elem, len) = match b >> 6 {
            0 => {
                let n = usize::from(b & 0x3f);
                (Elem::Bytes(blob.get(at + 1..at + 1 + n)?), 1 + n)
            }
            1 => {
                let n = usize::from(b & 0x3f) << 8 | usize::from(*blob.get(at + 1)?);
                (Elem::Bytes(blob.get(at + 2..at + 2 + n)?), 2 + n)
            }
            2 => {
                let s = blob.get(at + 1..at + 5)?;
                let n = u32::from_be_bytes([s[0], s[1], s[2], s[3]]) as usize;
                (
                    Elem::Bytes(blob.get(at + 5..(at + 5).checked_add(n)?)?),
                    5 + n,
                )
            }
            _ => match b {
                0xc0 => (Elem::Int(signed(le(blob, at + 1, 2)?, 16)), 3),
                0xd0 => (Elem::Int(signed(le(blob, at + 1, 4)?, 32)), 5),
                0xe0 => (Elem::Int(le(blob, at + 1, 8)? as i64), 9),
                0xf0 => (Elem::Int(signed(le(blob, at + 1, 3)?, 24)), 4),
                0xfe => (Elem::Int(i64::from(*blob.get(at + 1)? as i8)), 2),
                0xf1..=0xfd => (Elem::Int(i64::from(b & 0x0f) - 1), 1),
                _ => return None,
            },
        };
        at += len;
        if at > blob.len() - 1 {
            return None;
        }
        out.push(elem);
    }
    if at != blob.len() - 1 || (count != u16::MAX && usize::from(count) != out.len()) {
        return None;
    }
    Some(out)
}

/// The integers of an intset, or `None` when it is malformed.
pub fn intset(blob: &[u8]) -> Option<Vec<i64>> {
    let width = le(blob, 0, 4)? as usize;
    let len = le(blob, 4, 4)? as usize;
    if !matches!(width, 2 | 4 | 8) || blob.len() != 8 + width.checked_mul(len)? {
        return None;
    }
    let bits = (width * 8) as u32;
    (0..len)
        .map(|i| le(blob, 8 + i * width, width).map(|v| signed(v, bits)))
        .collect()
}

/// The (field, value) pairs of a zipmap, or `None` when it is malformed.
pub fn zipmap(blob: &[u8]) -> Option<Vec<(&[u8], &[u8])>> {
    let len_at = |at: usize| -> Option<(usize, usize)> {
        match *blob.get(at)? {
            254 => Some((le(blob, at + 1, 4)? as usize, at + 5)),
            255 => None,
            b => Some((usize::from(b), at + 1)),
        }
    };
    let mut out = Vec::new();
    let mut at = 1;
    while *blob.get(at)? != 255 {
        let (klen, k_at) = len_at(at)?;
        let key = blob.get(k_at..k_at.checked_add(klen)?)?;
        let (vlen, free_at) = len_at(k_at + klen)?;
        let free = usize::from(*blob.get(free_at)?);
        let value = blob.get(free_at + 1..(free_at + 1).checked_add(vlen)?)?;
        at = free_at + 1 + vlen + free;
        out.push((key, value));
    }
    (at == blob.len() - 1).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listpack_round_trips_every_encoding() {
        let items: Vec<Vec<u8>> = [
            "0",
            "127",
            "128",
            "-1",
            "-4096",
            "4095",
            "4096",
            "-32768",
            "32767",
            "32768",
            "8388607",
            "-8388609",
            "2147483647",
            "2147483648",
            "-9223372036854775808",
            "",
            "abc",
            "007",
            "+1",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([
            alloc::vec![b'x'; 63],
            alloc::vec![b'y'; 64],
            alloc::vec![b'z'; 5000],
        ])
        .collect();
        let mut w = ListpackWriter::new();
        for i in &items {
            w.push(i);
        }
        let blob = w.finish();
        let back: Vec<Vec<u8>> = listpack(&blob)
            .unwrap()
            .into_iter()
            .map(Elem::to_vec)
            .collect();
        assert_eq!(back, items);
        for cut in [2, 7, blob.len() / 2, blob.len() - 2] {
            let mut bad = blob[..blob.len() - cut].to_vec();
            bad.push(LP_END);
            assert_eq!(listpack(&bad), None, "cut {cut}");
        }
        assert_eq!(listpack(&[]), None);
    }

    #[test]
    fn old_encodings_decode() {
        // An intset of 16-bit integers: 5, -3.
        assert_eq!(
            intset(&[2, 0, 0, 0, 2, 0, 0, 0, 5, 0, 0xfd, 0xff]),
            Some(alloc::vec![5, -3])
        );
        assert_eq!(intset(&[2, 0, 0, 0, 3, 0, 0, 0, 5, 0]), None);
        // A ziplist holding "ab" and 12 (an immediate).
        let zl = [
            17, 0, 0, 0, 14, 0, 0, 0, 2, 0, 0, 2, b'a', b'b', 4, 0xfd, 0xff,
        ];
        assert_eq!(
            ziplist(&zl),
            Some(alloc::vec![Elem::Bytes(b"ab"), Elem::Int(12)])
        );
        assert_eq!(ziplist(&zl[..16]), None);
        // A zipmap {a: bc}.
        let zm = [1, 1, b'a', 2, 0, b'b', b'c', 255];
        assert_eq!(zipmap(&zm), Some(alloc::vec![(&b"a"[..], &b"bc"[..])]));
        assert_eq!(zipmap(&zm[..6]), None);
    }
}
