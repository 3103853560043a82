//! `CompactStr`: Ember's byte-string type for keys and string values.
//!
//! Three representations in 24 bytes: short strings (up to [`INLINE_MAX`] bytes) live inline with no heap
//! allocation, strings that are the canonical decimal form of an `i64` are stored as the integer (so INCR
//! never parses or formats on the hot path and `OBJECT ENCODING` says `int`), and everything else is a
//! boxed slice. Always binary safe: the bytes are never interpreted except by the integer check.

use alloc::boxed::Box;
use alloc::vec::Vec;

/// Longest string stored inline, without a heap allocation.
pub const INLINE_MAX: usize = 22;

/// Longest decimal form of an `i64` (`-9223372036854775808`).
pub const I64_DIGITS_MAX: usize = 20;

/// Scratch space for reading an integer-encoded string as bytes.
pub type IntBuf = [u8; I64_DIGITS_MAX];

#[derive(Clone)]
pub enum CompactStr {
    Inline { len: u8, buf: [u8; INLINE_MAX] },
    Int(i64),
    Heap(Box<[u8]>),
}

const _: () = assert!(core::mem::size_of::<CompactStr>() == 24);

/// Hash field values are stored whole.
impl crate::table::Packable for CompactStr {}

impl CompactStr {
    /// An empty string.
    pub const EMPTY: CompactStr = CompactStr::Inline {
        len: 0,
        buf: [0; INLINE_MAX],
    };

    /// Stores `bytes` as-is (inline or boxed); never integer-encoded. Used for keys, which are hashed and
    /// compared as bytes.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_MAX {
            let mut buf = [0u8; INLINE_MAX];
            buf[..bytes.len()].copy_from_slice(bytes);
            CompactStr::Inline {
                len: bytes.len() as u8,
                buf,
            }
        } else {
            CompactStr::Heap(bytes.into())
        }
    }

    /// Stores `bytes` as a value: integer-encoded when it is the canonical form of an `i64`.
    pub fn from_value(bytes: &[u8]) -> Self {
        match parse_canonical_i64(bytes) {
            Some(n) => CompactStr::Int(n),
            None => Self::from_bytes(bytes),
        }
    }

    /// Takes ownership of a buffer built by a command (APPEND, SETRANGE), shrinking or inlining it.
    pub fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_MAX {
            Self::from_bytes(&v)
        } else {
            CompactStr::Heap(v.into_boxed_slice())
        }
    }

    pub fn from_i64(n: i64) -> Self {
        CompactStr::Int(n)
    }

    /// The bytes of the string; an integer is formatted into `scratch`.
    #[inline]
    pub fn as_bytes<'a>(&'a self, scratch: &'a mut IntBuf) -> &'a [u8] {
        match self {
            CompactStr::Inline { len, buf } => &buf[..*len as usize],
            CompactStr::Heap(b) => b,
            CompactStr::Int(n) => format_i64(*n, scratch),
        }
    }

    /// The bytes of a string known not to be integer-encoded (keys). Integer strings are formatted into a
    /// fresh buffer, so prefer [`CompactStr::as_bytes`] for values.
    #[inline]
    pub fn raw(&self) -> Option<&[u8]> {
        match self {
            CompactStr::Inline { len, buf } => Some(&buf[..*len as usize]),
            CompactStr::Heap(b) => Some(b),
            CompactStr::Int(_) => None,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut scratch = [0u8; I64_DIGITS_MAX];
        self.as_bytes(&mut scratch).to_vec()
    }

    pub fn len(&self) -> usize {
        match self {
            CompactStr::Inline { len, .. } => *len as usize,
            CompactStr::Heap(b) => b.len(),
            CompactStr::Int(n) => {
                let mut scratch = [0u8; I64_DIGITS_MAX];
                format_i64(*n, &mut scratch).len()
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The integer value when the string is (or parses as) a canonical `i64`.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            CompactStr::Int(n) => Some(*n),
            other => other.raw().and_then(parse_canonical_i64),
        }
    }

    /// The name OBJECT ENCODING reports, matching Redis's `int`, `embstr` and `raw`.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            CompactStr::Int(_) => "int",
            CompactStr::Inline { .. } => "embstr",
            CompactStr::Heap(b) if b.len() <= 44 => "embstr",
            CompactStr::Heap(_) => "raw",
        }
    }

    /// Heap bytes owned beyond the 24-byte handle.
    pub fn heap_size(&self) -> usize {
        match self {
            CompactStr::Heap(b) => b.len(),
            _ => 0,
        }
    }
}

impl PartialEq<[u8]> for CompactStr {
    fn eq(&self, other: &[u8]) -> bool {
        let mut scratch = [0u8; I64_DIGITS_MAX];
        self.as_bytes(&mut scratch) == other
    }
}

impl core::fmt::Debug for CompactStr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let mut scratch = [0u8; I64_DIGITS_MAX];
        let b = self.as_bytes(&mut scratch);
        write!(f, "\"{}\"", b.escape_ascii())
    }
}

/// Formats `n` in decimal into the end of `buf` and returns the digits.
pub fn format_i64(n: i64, buf: &mut IntBuf) -> &[u8] {
    let digits = format_u64(n.unsigned_abs(), buf).len();
    if n >= 0 {
        return &buf[buf.len() - digits..];
    }
    // i64::MIN has 19 digits: the sign always fits.
    let pos = buf.len() - digits - 1;
    buf[pos] = b'-';
    &buf[pos..]
}

/// Formats `v` in decimal into the end of `buf` and returns the digits.
pub fn format_u64(mut v: u64, buf: &mut IntBuf) -> &[u8] {
    let mut pos = buf.len();
    loop {
        pos -= 1;
        buf[pos] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &buf[pos..]
}

/// Parses a strict decimal `i64` the way Redis's `string2ll` does: optional `-`, no `+`, no leading
/// zeros, no spaces, no overflow. Such a string round-trips exactly through [`format_i64`].
pub fn parse_canonical_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > I64_DIGITS_MAX {
        return None;
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_ints() {
        assert_eq!(parse_canonical_i64(b"0"), Some(0));
        assert_eq!(parse_canonical_i64(b"-1"), Some(-1));
        assert_eq!(parse_canonical_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_canonical_i64(b"-9223372036854775808"), Some(i64::MIN));
        for bad in [
            &b""[..],
            b"-",
            b"-0",
            b"01",
            b"+1",
            b" 1",
            b"1 ",
            b"9223372036854775808",
            b"1a",
        ] {
            assert_eq!(parse_canonical_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn representations_round_trip() {
        let mut s = [0u8; I64_DIGITS_MAX];
        for v in [
            &b""[..],
            b"hello",
            b"12345",
            b"-7",
            b"0123",
            &[0xffu8; 40][..],
            &[b'x'; 22][..],
            &[b'y'; 23][..],
        ] {
            let c = CompactStr::from_value(v);
            assert_eq!(c.as_bytes(&mut s), v);
            assert_eq!(c.len(), v.len());
        }
        assert!(matches!(
            CompactStr::from_value(b"12345"),
            CompactStr::Int(12345)
        ));
        assert!(matches!(
            CompactStr::from_bytes(b"12345"),
            CompactStr::Inline { .. }
        ));
        assert_eq!(format_i64(i64::MIN, &mut s), b"-9223372036854775808");
    }
}
