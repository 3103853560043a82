//! The values a key can hold. Each Redis type has its own module (`string`, `list`, `hash`, `set`,
//! `zset`, `stream`); [`Value`] is the enum the keyspace stores, 24 bytes, collections boxed.

pub mod hash;
pub mod list;
pub mod lz;
pub mod lz4;
pub mod packed;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

use alloc::boxed::Box;
use alloc::vec::Vec;

use string::CompactStr;

/// A key's value.
#[derive(Clone, Debug)]
pub enum Value {
    Str(CompactStr),
    /// A string stored compressed (`value-compression`); reads as a string everywhere.
    Lz(lz::LzStr),
    List(Box<list::List>),
    Hash(hash::Hash),
    Set(Box<set::Set>),
    ZSet(zset::ZSet),
    Stream(Box<stream::Stream>),
}

const _: () = assert!(core::mem::size_of::<Value>() == 24);

/// Packed-form kinds of a string value in a keyspace entry.
const PACKED_BYTES: u8 = 0;
const PACKED_INT: u8 = 1;

/// Short strings (those kept inline, up to 22 bytes) and integers are stored packed in their
/// keyspace entry: a kind byte, then the bytes, or the integer in as few little-endian bytes as
/// hold it. Unpacking gives back the same representation, so OBJECT ENCODING does not change.
impl crate::table::Packable for Value {
    const PACKS: bool = true;

    fn pack(&self, out: &mut [u8; crate::table::PACK_MAX]) -> Option<usize> {
        match self {
            Value::Str(CompactStr::Inline { len, buf }) => {
                let n = usize::from(*len);
                out[0] = PACKED_BYTES;
                out[1..1 + n].copy_from_slice(&buf[..n]);
                Some(1 + n)
            }
            Value::Str(CompactStr::Int(v)) => {
                // Bytes needed for the two's complement value, sign included.
                let sig = if *v < 0 {
                    64 - v.leading_ones()
                } else {
                    64 - v.leading_zeros()
                };
                let n = (sig as usize + 1).div_ceil(8).max(1);
                out[0] = PACKED_INT;
                out[1..1 + n].copy_from_slice(&v.to_le_bytes()[..n]);
                Some(1 + n)
            }
            _ => None,
        }
    }

    fn unpack(bytes: &[u8]) -> Self {
        let (kind, rest) = bytes.split_first().unwrap_or((&PACKED_BYTES, &[]));
        if *kind == PACKED_INT {
            let fill = if rest.last().is_some_and(|b| b & 0x80 != 0) {
                0xff
            } else {
                0
            };
            let mut le = [fill; 8];
            le[..rest.len()].copy_from_slice(rest);
            Value::Str(CompactStr::Int(i64::from_le_bytes(le)))
        } else {
            Value::Str(CompactStr::from_bytes(rest))
        }
    }
}

impl Value {
    /// Turns a compressed string back into a plain one (before a command changes it in place).
    pub fn expand(&mut self) {
        if let Value::Lz(z) = self {
            *self = Value::Str(CompactStr::from_vec(z.to_vec()));
        }
    }

    /// The bytes of a string value (an integer formatted into `int`, a compressed string expanded
    /// into `big`), or `None` for another type. Reading never changes how the value is stored.
    pub fn str_bytes<'a>(
        &'a self,
        int: &'a mut string::IntBuf,
        big: &'a mut Vec<u8>,
    ) -> Option<&'a [u8]> {
        match self {
            Value::Str(s) => Some(s.as_bytes(int)),
            Value::Lz(z) => {
                big.clear();
                z.expand_append(big);
                Some(big)
            }
            _ => None,
        }
    }

    /// The bytes of a string value, owned; `None` for another type.
    pub fn str_to_vec(&self) -> Option<Vec<u8>> {
        match self {
            Value::Str(s) => Some(s.to_vec()),
            Value::Lz(z) => Some(z.to_vec()),
            _ => None,
        }
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) | Value::Lz(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    /// The name OBJECT ENCODING reports.
    pub fn encoding_name(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding_name(),
            Value::Lz(_) => "raw",
            Value::List(l) => l.encoding_name(),
            Value::Hash(h) => h.encoding_name(),
            Value::Set(s) => s.encoding_name(),
            Value::ZSet(z) => z.encoding_name(),
            Value::Stream(_) => "stream",
        }
    }

    /// Heap bytes owned by the value beyond its 24-byte handle.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
            Value::Lz(z) => z.heap_size(),
            Value::List(l) => core::mem::size_of::<list::List>() + l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => core::mem::size_of::<set::Set>() + s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Stream(s) => core::mem::size_of::<stream::Stream>() + s.heap_size(),
        }
    }

    /// A canonical serialization for DEBUG DIGEST: equal values give equal bytes whatever their
    /// encoding or internal order (unordered types sort their elements).
    pub fn canonical(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.type_name().as_bytes());
        out.push(0);
        match self {
            Value::Str(s) => out.extend_from_slice(&s.to_vec()),
            Value::Lz(z) => out.extend_from_slice(&z.to_vec()),
            Value::List(l) => l.canonical(out),
            Value::Hash(h) => h.canonical(out),
            Value::Set(s) => s.canonical(out),
            Value::ZSet(z) => z.canonical(out),
            Value::Stream(s) => s.canonical(out),
        }
    }
}

/// Appends `bytes` with a length prefix (for canonical serializations).
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_le_bytes());
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod packing_tests {
    use super::*;
    use crate::cmd::testing::Host;
    use crate::table::{Packable, PACK_MAX};

    fn round_trip(v: Value) -> Option<usize> {
        let mut out = [0u8; PACK_MAX];
        let n = v.pack(&mut out)?;
        let back = Value::unpack(&out[..n]);
        match (&v, &back) {
            (Value::Str(CompactStr::Int(a)), Value::Str(CompactStr::Int(b))) => assert_eq!(a, b),
            (Value::Str(a), Value::Str(b)) => {
                assert_eq!(a.raw(), b.raw());
                assert_eq!(a.encoding_name(), b.encoding_name());
            }
            _ => panic!("{v:?} came back as {back:?}"),
        }
        Some(n)
    }

    #[test]
    fn integers_and_short_strings_pack_and_come_back_the_same() {
        let ints = [
            0i64,
            1,
            -1,
            127,
            128,
            -128,
            -129,
            255,
            256,
            32767,
            -32768,
            123_456,
            i64::from(i32::MAX),
            i64::from(i32::MIN),
            i64::MAX,
            i64::MIN,
        ];
        for n in ints {
            let len = round_trip(Value::Str(CompactStr::from_i64(n))).expect("packs");
            assert!(len <= 9, "{n} took {len}");
        }
        assert_eq!(round_trip(Value::Str(CompactStr::from_i64(100))), Some(2));
        assert_eq!(
            round_trip(Value::Str(CompactStr::from_i64(123_456))),
            Some(4)
        );
        for len in [0usize, 1, 16, 22] {
            let s = alloc::vec![b'x'; len];
            assert_eq!(
                round_trip(Value::Str(CompactStr::from_bytes(&s))),
                Some(1 + len)
            );
        }
        // Longer strings and collections are stored whole.
        let long = alloc::vec![b'x'; 23];
        assert_eq!(round_trip(Value::Str(CompactStr::from_bytes(&long))), None);
        let mut out = [0u8; PACK_MAX];
        assert!(Value::Hash(hash::Hash::default()).pack(&mut out).is_none());
    }

    #[test]
    fn short_strings_stay_packed_between_commands() {
        let mut h = Host::new();
        let packed =
            |h: &Host, k: &str| h.ks.db(0).table().get(k.as_bytes()).map(|e| e.is_packed());
        for line in [
            "SET s ab",
            "APPEND s cd",
            "SETRANGE s 1 ZZ",
            "SETBIT s 3 1",
            "INCR n",
            "INCRBY n -500",
            "SET e 1 EX 100",
            "EXPIRE s 100",
            "PERSIST s",
        ] {
            let r = h.line(line);
            assert!(!r.starts_with('-'), "{line}: {r}");
        }
        // A write command of another type looks the key up for writing and fails.
        assert!(h.line("LPUSH s x").starts_with("-WRONGTYPE"));
        for k in ["s", "n", "e"] {
            assert_eq!(packed(&h, k), Some(true), "{k}");
        }
        assert_eq!(h.line("GET n"), "$4\r\n-499\r\n");
        assert_eq!(h.line("OBJECT ENCODING n"), "$3\r\nint\r\n");
        assert_eq!(h.line("STRLEN s"), ":4\r\n");
        assert_eq!(h.line("GETBIT s 3"), ":1\r\n");
        // Growing past the packed size stores the value whole, and shrinking packs it again.
        h.line("APPEND s 0123456789012345678901234567890");
        assert_eq!(packed(&h, "s"), Some(false));
        h.line("SET s short");
        assert_eq!(packed(&h, "s"), Some(true));
        assert_eq!(h.line("GET s"), "$5\r\nshort\r\n");
    }
}
