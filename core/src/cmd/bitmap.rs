//! Bitmap commands: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO.
//!
//! Bitmaps are plain string values read as bit arrays, most significant bit of byte 0 first, so every
//! command here works on [`CompactStr`] bytes (an integer-encoded string reads as its decimal digits,
//! and is turned into bytes when written). Writes grow the string with zero bytes; the reach of an
//! offset is bounded by `proto-max-bulk-len` before anything is allocated, as in Redis's `bitops.c`.
//! Counting and scanning go a 64-bit word at a time; bitfields of up to 64 bits at any bit offset go
//! through a 72-bit window held in a `u128`.

use alloc::vec::Vec;

use super::ExecCtx;
use super::{acl, arg_i64, eq_ci, err, flags as f, CmdError, CmdResult, Command};
use crate::journal::class;
use crate::resp::Argv;
use crate::table::NO_EXPIRE;
use crate::types::string::{
    format_i64, parse_canonical_i64, CompactStr, IntBuf, I64_DIGITS_MAX, INLINE_MAX,
};
use crate::types::Value;

const RW: u32 = acl::WRITE | acl::BITMAP;
const RO: u32 = acl::READ | acl::BITMAP;

const GROUP: &str = "bitmap";

pub static COMMANDS: &[Command] = &[
    cmd!(
        "setbit",
        4,
        f::WRITE | f::DENYOOM,
        (1, 1, 1),
        RW | acl::SLOW,
        setbit,
        "Sets or clears the bit at offset in the string value stored at key",
        "2.2.0",
        "O(1)"
    ),
    cmd!(
        "getbit",
        3,
        f::READONLY | f::FAST,
        (1, 1, 1),
        RO | acl::FAST,
        getbit,
        "Returns the bit value at offset in the string value stored at key",
        "2.2.0",
        "O(1)"
    ),
    cmd!(
        "bitcount",
        -2,
        f::READONLY,
        (1, 1, 1),
        RO | acl::SLOW,
        bitcount,
        "Count set bits in a string",
        "2.6.0",
        "O(N)"
    ),
    cmd!(
        "bitpos",
        -3,
        f::READONLY,
        (1, 1, 1),
        RO | acl::SLOW,
        bitpos,
        "Find first bit set or clear in a string",
        "2.8.7",
        "O(N)"
    ),
    cmd!(
        "bitop",
        -4,
        f::WRITE | f::DENYOOM,
        (2, -1, 1),
        RW | acl::SLOW,
        bitop,
        "Perform bitwise operations between strings",
        "2.6.0",
        "O(N)"
    ),
    cmd!(
        "bitfield",
        -2,
        f::WRITE | f::DENYOOM,
        (1, 1, 1),
        RW | acl::SLOW,
        bitfield,
        "Perform arbitrary bitfield integer operations on strings",
        "3.2.0",
        "O(1) for each subcommand specified"
    ),
    cmd!(
        "bitfield_ro",
        -2,
        f::READONLY | f::FAST,
        (1, 1, 1),
        RO | acl::FAST,
        bitfield_ro,
        "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD",
        "6.0.0",
        "O(1) for each subcommand specified"
    ),
];

const ERR_OFFSET: CmdError = CmdError::new("ERR bit offset is not an integer or out of range");
const ERR_BIT_VALUE: CmdError = CmdError::new("ERR bit is not an integer or out of range");
const ERR_BIT_ARG: CmdError = CmdError::new("ERR The bit argument must be 1 or 0.");
const ERR_NOT_ONE_KEY: CmdError =
    CmdError::new("ERR BITOP NOT must be called with a single source key.");
const ERR_FIELD_TYPE: CmdError = CmdError::new(
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
);
const ERR_OVERFLOW_TYPE: CmdError = CmdError::new("ERR Invalid OVERFLOW type specified");
const ERR_RO_WRITE: CmdError = CmdError::new("ERR BITFIELD_RO only supports the GET subcommand");

/// Widest signed bitfield (`i64`); unsigned ones stop one short, since `u64` values could not be
/// replied as RESP integers.
const FIELD_BITS_MAX: i64 = 64;

// ------------------------------------------------------------------------------------------------
// Argument parsing
// ------------------------------------------------------------------------------------------------

/// Parses a bit offset. `field_bits` enables BITFIELD's `#N` form (the Nth field of that width).
/// The byte holding the offset must lie below `proto-max-bulk-len`, so no write can grow a string
/// much past it (Redis's `getBitOffsetFromArgument`).
fn bit_offset(arg: &[u8], field_bits: Option<u32>, len_max: u64) -> Result<u64, CmdError> {
    let (digits, scale) = match (arg.split_first(), field_bits) {
        (Some((b'#', rest)), Some(bits)) => (rest, bits as i64),
        _ => (arg, 1),
    };
    let offset = parse_canonical_i64(digits)
        .and_then(|n| n.checked_mul(scale))
        .filter(|&n| n >= 0)
        .ok_or(ERR_OFFSET)? as u64;
    if offset >> 3 >= len_max {
        return Err(ERR_OFFSET);
    }
    Ok(offset)
}

/// The unit of a BITCOUNT / BITPOS range: true for BIT, false for BYTE.
fn range_unit_is_bit(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ci(arg, "bit") {
        Ok(true)
    } else if eq_ci(arg, "byte") {
        Ok(false)
    } else {
        Err(err::SYNTAX)
    }
}

/// Resolves `start..=end` (negative values count from the end) against a string of `len` bytes,
/// in bytes or in bits, to an inclusive range of bit positions; `None` when the range is empty.
fn resolve_range(len: usize, start: i64, end: i64, in_bits: bool) -> Option<(u64, u64)> {
    let total = if in_bits { len as i64 * 8 } else { len as i64 };
    let start = if start < 0 { start + total } else { start }.max(0);
    let end = if end < 0 { end + total } else { end }
        .max(0)
        .min(total - 1);
    if start > end {
        return None;
    }
    let (start, end) = (start as u64, end as u64);
    Some(if in_bits {
        (start, end)
    } else {
        (start * 8, end * 8 + 7)
    })
}

// ------------------------------------------------------------------------------------------------
// Byte-level helpers
// ------------------------------------------------------------------------------------------------

/// A zero-filled buffer of `len` bytes; allocation failure is an error, not an abort.
fn zeroed(len: usize) -> Result<Vec<u8>, CmdError> {
    let mut v = Vec::new();
    v.try_reserve_exact(len).map_err(|_| err::STRING_TOO_LONG)?;
    v.resize(len, 0);
    Ok(v)
}

/// The bytes of a string value for writing, zero-padded to at least `len_min` bytes. An
/// integer-encoded value becomes its digits, as Redis unshares and decodes it before writing.
fn bytes_mut(s: &mut CompactStr, len_min: usize) -> Result<&mut [u8], CmdError> {
    let rebuild = match s {
        CompactStr::Int(_) => true,
        CompactStr::Inline { .. } => len_min > INLINE_MAX,
        CompactStr::Heap(b) => b.len() < len_min,
    };
    if rebuild {
        let mut v = match core::mem::replace(s, CompactStr::EMPTY) {
            CompactStr::Heap(b) => b.into_vec(),
            CompactStr::Int(n) => {
                let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
                format_i64(n, &mut scratch).to_vec()
            }
            other => other.to_vec(),
        };
        if v.len() < len_min {
            v.try_reserve_exact(len_min - v.len())
                .map_err(|_| err::STRING_TOO_LONG)?;
            v.resize(len_min, 0);
        }
        *s = CompactStr::from_vec(v);
    }
    match s {
        CompactStr::Inline { len, buf } => {
            let (old, new) = (*len as usize, (*len as usize).max(len_min));
            buf[old..new].fill(0);
            *len = new as u8;
            Ok(&mut buf[..new])
        }
        CompactStr::Heap(b) => Ok(&mut b[..]),
        // `from_vec` never builds an integer; kept as an error rather than a panic.
        CompactStr::Int(_) => Err(err::WRONGTYPE),
    }
}

/// Eight bytes as a word (native order: only compared against uniform patterns or popcounted).
#[inline]
fn word(chunk: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    u64::from_ne_bytes(w)
}

/// Number of set bits, four words per step.
fn popcount(bytes: &[u8]) -> u64 {
    let mut blocks = bytes.chunks_exact(32);
    let mut n = 0u64;
    for b in &mut blocks {
        n += (word(&b[..8]).count_ones()
            + word(&b[8..16]).count_ones()
            + word(&b[16..24]).count_ones()
            + word(&b[24..]).count_ones()) as u64;
    }
    let mut words = blocks.remainder().chunks_exact(8);
    for w in &mut words {
        n += word(w).count_ones() as u64;
    }
    n + words
        .remainder()
        .iter()
        .map(|b| b.count_ones() as u64)
        .sum::<u64>()
}

/// Set bits among bit positions `first..=last` (both within `bytes`).
fn count_bits(bytes: &[u8], first: u64, last: u64) -> u64 {
    let Some(span) = bytes.get((first >> 3) as usize..=(last >> 3) as usize) else {
        return 0;
    };
    let (Some(&head), Some(&tail)) = (span.first(), span.last()) else {
        return 0;
    };
    // Whole bytes, less the bits before `first` in the first byte and after `last` in the last.
    let before = head & !(0xffu8 >> (first & 7));
    let after = tail & (0x7fu8 >> (last & 7));
    popcount(span) - before.count_ones() as u64 - after.count_ones() as u64
}

/// The first byte other than `skip`, with its index, a word at a time.
fn find_byte_not(bytes: &[u8], skip: u8) -> Option<(usize, u8)> {
    let pattern = u64::from_ne_bytes([skip; 8]);
    let whole = bytes
        .chunks_exact(8)
        .take_while(|c| word(c) == pattern)
        .count()
        * 8;
    let rest = bytes.get(whole..)?;
    let i = rest.iter().position(|&b| b != skip)?;
    Some((whole + i, rest[i]))
}

/// The first bit equal to `bit` among positions `first..=last` (both within `bytes`).
fn first_bit(bytes: &[u8], first: u64, last: u64, bit: bool) -> Option<u64> {
    let (first_byte, last_byte) = (first >> 3, last >> 3);
    let span = bytes.get(first_byte as usize..=last_byte as usize)?;
    // Searching for 0 is searching for 1 in the complement.
    let flip = if bit { 0 } else { 0xff };
    let head_mask = 0xffu8 >> (first & 7);
    let tail_mask = 0xffu8 << (7 - (last & 7));
    let (&head, rest) = span.split_first()?;
    let mut m = (head ^ flip) & head_mask;
    if rest.is_empty() {
        m &= tail_mask;
    }
    if m != 0 {
        return Some(first_byte * 8 + m.leading_zeros() as u64);
    }
    let (&tail, middle) = rest.split_last()?;
    if let Some((i, b)) = find_byte_not(middle, flip) {
        return Some((first_byte + 1 + i as u64) * 8 + (b ^ flip).leading_zeros() as u64);
    }
    let m = (tail ^ flip) & tail_mask;
    (m != 0).then(|| last_byte * 8 + m.leading_zeros() as u64)
}

// ------------------------------------------------------------------------------------------------
// SETBIT, GETBIT, BITCOUNT, BITPOS
// ------------------------------------------------------------------------------------------------

/// SETBIT key offset value. O(1), plus the zero fill when the string grows.
fn setbit(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let offset = bit_offset(argv.get(2), None, ctx.config.proto_max_bulk_len)?;
    let on = match parse_canonical_i64(argv.get(3)) {
        Some(v @ (0 | 1)) => v == 1,
        _ => return Err(ERR_BIT_VALUE),
    };
    let byte = usize::try_from(offset >> 3).map_err(|_| err::STRING_TOO_LONG)?;
    let shift = 7 - (offset & 7) as u32;
    let (old, changed) = match ctx.write_str(key)? {
        Some(s) => {
            let grew = s.len() <= byte;
            let buf = bytes_mut(s, byte + 1)?;
            let old = (buf[byte] >> shift) & 1 == 1;
            let changed = grew || old != on;
            if changed {
                buf[byte] = (buf[byte] & !(1 << shift)) | ((on as u8) << shift);
                ctx.touched(1);
            }
            (old, changed)
        }
        None => {
            let mut buf = zeroed(byte + 1)?;
            buf[byte] = (on as u8) << shift;
            ctx.store(key, Value::Str(CompactStr::from_vec(buf)), Some(NO_EXPIRE));
            (false, true)
        }
    };
    if changed {
        ctx.wrote(class::STRING, "setbit", key);
    }
    ctx.out.int(old as i64);
    Ok(())
}

/// GETBIT key offset. O(1).
fn getbit(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let offset = bit_offset(argv.get(2), None, ctx.config.proto_max_bulk_len)?;
    ctx.with_str(argv.get(1), |s, out| {
        let bytes = s.unwrap_or_default();
        let byte = bytes.get((offset >> 3) as usize).copied().unwrap_or(0);
        out.int((byte >> (7 - (offset & 7)) & 1) as i64);
    })
}

/// BITCOUNT key [start end [BYTE | BIT]]. O(N).
fn bitcount(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    // Redis looks the key up (0 when absent, WRONGTYPE) before it reads the range.
    ctx.with_str(argv.get(1), |s, out| {
        let Some(bytes) = s else {
            out.int(0);
            return Ok(());
        };
        let range = match argv.len() {
            2 => resolve_range(bytes.len(), 0, -1, false),
            4 | 5 => {
                let (start, end) = (arg_i64(argv.get(2))?, arg_i64(argv.get(3))?);
                if start < 0 && end < 0 && start > end {
                    out.int(0);
                    return Ok(());
                }
                let in_bits = argv.len() == 5 && range_unit_is_bit(argv.get(4))?;
                resolve_range(bytes.len(), start, end, in_bits)
            }
            _ => return Err(err::SYNTAX),
        };
        out.int(range.map_or(0, |(first, last)| count_bits(bytes, first, last)) as i64);
        Ok(())
    })?
}

/// BITPOS key bit [start [end [BYTE | BIT]]]. O(N).
///
/// Without an explicit end, a string of all ones has its first clear bit just past its end.
fn bitpos(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let bit = match arg_i64(argv.get(2))? {
        b @ (0 | 1) => b == 1,
        _ => return Err(ERR_BIT_ARG),
    };
    ctx.with_str(argv.get(1), |s, out| {
        // An absent key is an endless run of zeros.
        let Some(bytes) = s else {
            out.int(if bit { -1 } else { 0 });
            return Ok(());
        };
        let len = bytes.len();
        let (range, end_given) = match argv.len() {
            3 => (resolve_range(len, 0, -1, false), false),
            4..=6 => {
                let start = arg_i64(argv.get(3))?;
                let in_bits = argv.len() == 6 && range_unit_is_bit(argv.get(5))?;
                let end = match argv.len() {
                    4 => len as i64 - 1,
                    _ => arg_i64(argv.get(4))?,
                };
                (resolve_range(len, start, end, in_bits), argv.len() > 4)
            }
            _ => return Err(err::SYNTAX),
        };
        let pos = match range {
            None => -1,
            Some((first, last)) => match first_bit(bytes, first, last, bit) {
                Some(p) => p as i64,
                None if !bit && !end_given => last as i64 + 1,
                None => -1,
            },
        };
        out.int(pos);
        Ok(())
    })?
}

// ------------------------------------------------------------------------------------------------
// BITOP
// ------------------------------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum BitOp {
    And,
    Or,
    Xor,
    Not,
}

/// Folds one source into the result; sources shorter than the longest read as zero-padded.
fn fold_source(op: BitOp, res: &mut Vec<u8>, src: &[u8], first: bool) -> CmdResult {
    let grow =
        |res: &mut Vec<u8>, n: usize| res.try_reserve_exact(n).map_err(|_| err::STRING_TOO_LONG);
    if first {
        grow(res, src.len())?;
        match op {
            BitOp::Not => res.extend(src.iter().map(|b| !b)),
            _ => res.extend_from_slice(src),
        }
        return Ok(());
    }
    let common = res.len().min(src.len());
    let (head, tail) = res.split_at_mut(common);
    let pairs = head.iter_mut().zip(src);
    match op {
        BitOp::And => {
            pairs.for_each(|(r, s)| *r &= s);
            tail.fill(0);
        }
        BitOp::Or => pairs.for_each(|(r, s)| *r |= s),
        BitOp::Xor => pairs.for_each(|(r, s)| *r ^= s),
        BitOp::Not => {}
    }
    if let Some(extra) = src.get(common..).filter(|e| !e.is_empty()) {
        grow(res, extra.len())?;
        match op {
            BitOp::And => res.resize(src.len(), 0),
            _ => res.extend_from_slice(extra),
        }
    }
    Ok(())
}

/// BITOP AND | OR | XOR | NOT destkey key [key ...]. O(N) in the longest source.
///
/// An empty result deletes the destination; the reply is the result's length.
fn bitop(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let name = argv.get(1);
    let op = [
        ("and", BitOp::And),
        ("or", BitOp::Or),
        ("xor", BitOp::Xor),
        ("not", BitOp::Not),
    ]
    .into_iter()
    .find(|(n, _)| eq_ci(name, n))
    .ok_or(err::SYNTAX)?
    .1;
    if op == BitOp::Not && argv.len() != 4 {
        return Err(ERR_NOT_ONE_KEY);
    }
    let dest = argv.get(2);
    let mut res = Vec::new();
    let mut big = Vec::new();
    for i in 3..argv.len() {
        let mut scratch: IntBuf = [0; I64_DIGITS_MAX];
        let src: &[u8] = match ctx.lookup_read(argv.get(i)) {
            None => &[],
            Some(v) => v.str_bytes(&mut scratch, &mut big).ok_or(err::WRONGTYPE)?,
        };
        fold_source(op, &mut res, src, i == 3)?;
    }
    let len = res.len();
    if len > 0 {
        ctx.store(dest, Value::Str(CompactStr::from_vec(res)), Some(NO_EXPIRE));
        ctx.wrote(class::STRING, "set", dest);
    } else if ctx.lookup_write(dest).is_some() {
        ctx.ks.db_mut(ctx.db).remove(dest);
        ctx.touched(1);
        ctx.wrote(class::GENERIC, "del", dest);
    }
    ctx.out.int(len as i64);
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// BITFIELD
// ------------------------------------------------------------------------------------------------

/// A bitfield's type: `i1`..`i64` or `u1`..`u63`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct FieldType {
    signed: bool,
    bits: u32,
}

impl FieldType {
    fn parse(arg: &[u8]) -> Result<Self, CmdError> {
        // The sign letter is case-sensitive, as in Redis.
        let (signed, digits) = match arg.split_first() {
            Some((b'i', d)) => (true, d),
            Some((b'u', d)) => (false, d),
            _ => return Err(ERR_FIELD_TYPE),
        };
        let bits_max = if signed {
            FIELD_BITS_MAX
        } else {
            FIELD_BITS_MAX - 1
        };
        let bits = parse_canonical_i64(digits)
            .filter(|b| (1..=bits_max).contains(b))
            .ok_or(ERR_FIELD_TYPE)?;
        Ok(FieldType {
            signed,
            bits: bits as u32,
        })
    }

    /// The low `bits` bits.
    fn mask(self) -> u64 {
        u64::MAX >> (64 - self.bits)
    }

    /// The low `bits` bits of `raw` read as this type (sign-extended when signed).
    fn value(self, raw: u64) -> i64 {
        let raw = raw & self.mask();
        if self.signed && self.bits < 64 && raw >> (self.bits - 1) & 1 == 1 {
            (raw | !self.mask()) as i64
        } else {
            raw as i64
        }
    }
}

/// What happens when SET or INCRBY leaves a field's range.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum FieldOpKind {
    Get,
    Set(i64),
    IncrBy(i64),
}

#[derive(Clone, Copy, Debug)]
struct FieldOp {
    kind: FieldOpKind,
    ty: FieldType,
    offset: u64,
    overflow: Overflow,
}

/// Parses BITFIELD's subcommands, all of them before anything runs (Redis's `bitfieldGeneric`).
fn parse_field_ops(argv: Argv<'_>, len_max: u64) -> Result<Vec<FieldOp>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < argv.len() {
        let remaining = argv.len() - j - 1;
        let sub = argv.get(j);
        let takes_value = if eq_ci(sub, "get") && remaining >= 2 {
            false
        } else if (eq_ci(sub, "set") || eq_ci(sub, "incrby")) && remaining >= 3 {
            true
        } else if eq_ci(sub, "overflow") && remaining >= 1 {
            let kind = argv.get(j + 1);
            overflow = if eq_ci(kind, "wrap") {
                Overflow::Wrap
            } else if eq_ci(kind, "sat") {
                Overflow::Sat
            } else if eq_ci(kind, "fail") {
                Overflow::Fail
            } else {
                return Err(ERR_OVERFLOW_TYPE);
            };
            j += 2;
            continue;
        } else {
            return Err(err::SYNTAX);
        };
        let ty = FieldType::parse(argv.get(j + 1))?;
        let offset = bit_offset(argv.get(j + 2), Some(ty.bits), len_max)?;
        let kind = match takes_value {
            false => FieldOpKind::Get,
            true if eq_ci(sub, "set") => FieldOpKind::Set(arg_i64(argv.get(j + 3))?),
            true => FieldOpKind::IncrBy(arg_i64(argv.get(j + 3))?),
        };
        ops.push(FieldOp {
            kind,
            ty,
            offset,
            overflow,
        });
        j += 3 + takes_value as usize;
    }
    Ok(ops)
}

/// Reads `bits` (1..=64) bits at bit `offset`; bytes past the end read as zero. The field spans at
/// most 9 bytes, loaded into the top of a `u128`.
fn read_bits(bytes: &[u8], offset: u64, bits: u32) -> u64 {
    let start = usize::try_from(offset >> 3).unwrap_or(usize::MAX);
    let window = bytes.get(start..).unwrap_or(&[]);
    let w = window
        .iter()
        .take(9)
        .enumerate()
        .fold(0u128, |w, (i, &b)| w | (b as u128) << (120 - 8 * i));
    ((w << (offset & 7)) >> (128 - bits)) as u64
}

/// Writes the low `bits` bits of `value` at bit `offset`; the caller has grown `bytes` to hold them.
fn write_bits(bytes: &mut [u8], offset: u64, bits: u32, value: u64) {
    let shift = (offset & 7) as u32;
    let start = (offset >> 3) as usize;
    let n = (shift + bits).div_ceil(8) as usize;
    let Some(span) = bytes.get_mut(start..start + n) else {
        debug_assert!(false, "bitfield write past the string");
        return;
    };
    let mut w = span
        .iter()
        .enumerate()
        .fold(0u128, |w, (i, &b)| w | (b as u128) << (120 - 8 * i));
    let low = 128 - bits - shift;
    let mask = (u128::MAX >> (128 - bits)) << low;
    w = (w & !mask) | ((value as u128) << low & mask);
    for (i, b) in span.iter_mut().enumerate() {
        *b = (w >> (120 - 8 * i)) as u8;
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: `None` when `value + incr` fits in `bits` bits,
/// otherwise the value to store (wrapped or saturated; unused under FAIL). A SET passes its value
/// as `u64`, so a negative one overflows high.
fn check_unsigned(value: u64, incr: i64, bits: u32, overflow: Overflow) -> Option<u64> {
    let max = u64::MAX >> (64 - bits);
    let max_incr = max.wrapping_sub(value) as i64;
    let min_incr = value.wrapping_neg() as i64;
    let wrapped = value.wrapping_add(incr as u64) & max;
    if value > max || (incr > 0 && incr > max_incr) {
        Some(if overflow == Overflow::Sat {
            max
        } else {
            wrapped
        })
    } else if incr < 0 && incr < min_incr {
        Some(if overflow == Overflow::Sat {
            0
        } else {
            wrapped
        })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`, the signed twin of [`check_unsigned`].
fn check_signed(value: i64, incr: i64, bits: u32, overflow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let max_incr = (max as u64).wrapping_sub(value as u64) as i64;
    let min_incr = min.wrapping_sub(value);
    let wrapped = FieldType { signed: true, bits }.value(value.wrapping_add(incr) as u64);
    let wide = bits == 64;
    if value > max || (!wide && incr > max_incr) || (value >= 0 && incr > 0 && incr > max_incr) {
        Some(if overflow == Overflow::Sat {
            max
        } else {
            wrapped
        })
    } else if value < min
        || (!wide && incr < min_incr)
        || (value < 0 && incr < 0 && incr < min_incr)
    {
        Some(if overflow == Overflow::Sat {
            min
        } else {
            wrapped
        })
    } else {
        None
    }
}

/// Runs one SET or INCRBY: the reply (`None` when OVERFLOW FAIL refused it) and whether the stored
/// bits changed. SET replies with the old value, INCRBY with the new one.
fn write_field(bytes: &mut [u8], op: &FieldOp) -> (Option<i64>, bool) {
    let FieldOp {
        ty, offset, kind, ..
    } = *op;
    let raw_old = read_bits(bytes, offset, ty.bits);
    let (reply, new, overflowed) = match (kind, ty.signed) {
        (FieldOpKind::IncrBy(d), true) => {
            let old = ty.value(raw_old);
            let limit = check_signed(old, d, ty.bits, op.overflow);
            let new = limit.unwrap_or(old.wrapping_add(d));
            (new, new as u64, limit.is_some())
        }
        (FieldOpKind::Set(v), true) => {
            let limit = check_signed(v, 0, ty.bits, op.overflow);
            (
                ty.value(raw_old),
                limit.unwrap_or(v) as u64,
                limit.is_some(),
            )
        }
        (FieldOpKind::IncrBy(d), false) => {
            let limit = check_unsigned(raw_old, d, ty.bits, op.overflow);
            let new = limit.unwrap_or(raw_old.wrapping_add(d as u64));
            (new as i64, new, limit.is_some())
        }
        (FieldOpKind::Set(v), false) => {
            let limit = check_unsigned(v as u64, 0, ty.bits, op.overflow);
            (raw_old as i64, limit.unwrap_or(v as u64), limit.is_some())
        }
        (FieldOpKind::Get, _) => return (Some(ty.value(raw_old)), false),
    };
    if overflowed && op.overflow == Overflow::Fail {
        return (None, false);
    }
    write_bits(bytes, offset, ty.bits, new);
    (Some(reply), new & ty.mask() != raw_old)
}

/// Runs the operations in order on a string already grown for every write, collecting replies;
/// returns the number of changes (every write counts when the string was created or grown).
fn run_field_ops(
    bytes: &mut [u8],
    ops: &[FieldOp],
    grown: bool,
    replies: &mut Vec<Option<i64>>,
) -> u64 {
    let mut changes = 0;
    for op in ops {
        let (reply, changed) = write_field(bytes, op);
        if reply.is_some() && op.kind != FieldOpKind::Get && (grown || changed) {
            changes += 1;
        }
        replies.push(reply);
    }
    changes
}

/// The body of BITFIELD and BITFIELD_RO.
fn bitfield_generic(ctx: &mut ExecCtx<'_>, argv: Argv<'_>, read_only: bool) -> CmdResult {
    let key = argv.get(1);
    let ops = parse_field_ops(argv, ctx.config.proto_max_bulk_len)?;
    let highest = ops
        .iter()
        .filter(|op| op.kind != FieldOpKind::Get)
        .map(|op| op.offset + op.ty.bits as u64 - 1)
        .max();
    let Some(highest) = highest else {
        // Only GETs: a read, which neither creates nor grows the string.
        return ctx.with_str(key, |s, out| {
            let bytes = s.unwrap_or_default();
            out.array(ops.len());
            for op in &ops {
                out.int(op.ty.value(read_bits(bytes, op.offset, op.ty.bits)));
            }
        });
    };
    if read_only {
        return Err(ERR_RO_WRITE);
    }
    let len = usize::try_from((highest >> 3) + 1).map_err(|_| err::STRING_TOO_LONG)?;
    let mut replies = Vec::with_capacity(ops.len());
    let changes = match ctx.write_str(key)? {
        Some(s) => {
            let grown = s.len() < len;
            run_field_ops(bytes_mut(s, len)?, &ops, grown, &mut replies)
        }
        None => {
            let mut bytes = zeroed(len)?;
            let changes = run_field_ops(&mut bytes, &ops, true, &mut replies);
            // Created even when every write failed; only changes count as dirty (as Redis does).
            let now_s = ctx.now_s();
            let value = Value::Str(CompactStr::from_vec(bytes));
            ctx.ks
                .db_mut(ctx.db)
                .set(key, value, Some(NO_EXPIRE), now_s);
            ctx.notify(class::NEW, "new", key);
            changes
        }
    };
    if changes > 0 {
        ctx.touched(changes);
        ctx.wrote(class::STRING, "setbit", key);
    }
    ctx.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => ctx.out.int(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// BITFIELD key [GET type offset | [OVERFLOW WRAP | SAT | FAIL] SET type offset value |
/// [OVERFLOW WRAP | SAT | FAIL] INCRBY type offset increment ...]. O(1) per subcommand.
fn bitfield(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    bitfield_generic(ctx, argv, false)
}

/// BITFIELD_RO key [GET type offset ...]. O(1) per subcommand.
fn bitfield_ro(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    bitfield_generic(ctx, argv, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::flags;
    use crate::cmd::testing::Host;
    use crate::resp::Proto;
    use alloc::string::{String, ToString};
    use alloc::vec;

    /// Bitmaps are strings: tests put and read them directly.
    trait BitmapHost {
        fn set(&mut self, key: &str, value: &[u8]);
        fn get(&self, key: &str) -> Option<Vec<u8>>;
    }

    impl BitmapHost for Host {
        fn set(&mut self, key: &str, value: &[u8]) {
            let v = Value::Str(CompactStr::from_value(value));
            self.ks.db_mut(0).set(key.as_bytes(), v, None, 0);
        }

        fn get(&self, key: &str) -> Option<Vec<u8>> {
            self.ks.db(0).peek(key.as_bytes(), 0)?.value().str_to_vec()
        }
    }

    /// xorshift64*: deterministic randomness without std.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }

        /// Random bytes, mostly runs of 0x00 and 0xff so that scans cross whole words.
        fn bytes(&mut self, len: usize) -> Vec<u8> {
            let run = [0, 0xff][self.below(2) as usize];
            (0..len)
                .map(|_| match self.below(8) {
                    0 => self.next() as u8,
                    _ => run,
                })
                .collect()
        }
    }

    fn bit_at(bytes: &[u8], pos: i64) -> bool {
        bytes
            .get((pos / 8) as usize)
            .is_some_and(|b| (b >> (7 - pos % 8)) & 1 == 1)
    }

    fn int(n: i64) -> String {
        alloc::format!(":{n}\r\n")
    }

    const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value";
    const OFFSET_ERR: &str = "-ERR bit offset is not an integer or out of range";
    const SYNTAX: &str = "-ERR syntax error";

    #[test]
    fn table_metadata() {
        let info = |name: &str| &COMMANDS.iter().find(|c| c.info.name == name).unwrap().info;
        assert_eq!(info("setbit").flags, flags::WRITE | flags::DENYOOM);
        assert_eq!(info("getbit").flags, flags::READONLY | flags::FAST);
        assert_eq!(info("bitfield_ro").acl, acl::READ | acl::BITMAP | acl::FAST);
        assert_eq!(info("bitop").acl, acl::WRITE | acl::BITMAP | acl::SLOW);
        let keys = |name: &str, argc| info(name).key_positions(argc).collect::<Vec<_>>();
        assert_eq!(keys("bitop", 6), [2, 3, 4, 5]);
        assert_eq!(keys("bitfield", 5), [1]);
        for c in COMMANDS {
            assert_eq!(
                (c.info.group, c.info.acl & acl::BITMAP),
                ("bitmap", acl::BITMAP)
            );
        }
    }

    #[test]
    fn setbit_getbit() {
        let mut h = Host::new();
        assert_eq!(h.line("setbit k 1 1"), int(0));
        assert_eq!(h.events(), ["new:k", "setbit:k"]);
        assert_eq!(h.get("k").unwrap(), b"\x40");
        assert_eq!(h.line("setbit k 1 1"), int(1));
        assert_eq!(h.events(), Vec::<String>::new(), "no change, no event");
        assert_eq!(h.ks.dirty, 1);
        assert_eq!(h.line("setbit k 17 0"), int(0));
        assert_eq!(h.events(), ["setbit:k"], "growing is a change");
        assert_eq!(h.get("k").unwrap(), b"\x40\x00\x00");
        assert_eq!(h.line("getbit k 1"), int(1));
        assert_eq!(h.line("getbit k 2"), int(0));
        assert_eq!(h.line("getbit k 100000"), int(0));
        assert_eq!(h.line("getbit nokey 0"), int(0));
        // Integer-encoded values are their digits: "1" is 0x31.
        h.set("n", b"1");
        assert_eq!(
            (h.line("getbit n 2"), h.line("getbit n 7")),
            (int(1), int(1))
        );
        assert_eq!(h.line("setbit n 6 1"), int(0));
        assert_eq!(h.get("n").unwrap(), b"3");
        // Growing past the inline limit onto the heap, then further.
        assert_eq!(h.line("setbit n 400 1"), int(0));
        assert_eq!(h.line("setbit n 4000 1"), int(0));
        let v = h.get("n").unwrap();
        assert_eq!((v.len(), v[0], v[50], v[500]), (501, b'3', 0x80, 0x80));
        assert_eq!(h.line("getbit n 4000"), int(1));
    }

    #[test]
    fn errors_and_limits() {
        let mut h = Host::new();
        for line in [
            "setbit k 4294967296 1",
            "setbit k -1 1",
            "setbit k #1 1",
            "getbit k x",
        ] {
            assert_eq!(h.line(line), OFFSET_ERR, "{line}");
        }
        assert_eq!(h.line("getbit k 4294967296"), OFFSET_ERR);
        for bad in ["-1", "2", "10", "x", ""] {
            let reply = h.text(&["setbit", "k", "0", bad]);
            assert_eq!(reply, "-ERR bit is not an integer or out of range");
        }
        assert_eq!(h.get("k"), None);
        // The last offset below the limit is accepted (a small limit keeps this cheap).
        h.config.proto_max_bulk_len = 1000;
        assert_eq!(h.line("setbit k 8000 1"), OFFSET_ERR);
        assert_eq!(h.line("setbit k 7999 1"), int(0));
        assert_eq!(h.get("k").unwrap().len(), 1000);
        h.ks.db_mut(0)
            .set(b"l", Value::List(Default::default()), None, 0);
        for line in [
            "setbit l 0 1",
            "getbit l 0",
            "bitcount l",
            "bitpos l 1",
            "bitfield l get u8 0",
            "bitfield l set u8 0 1",
            "bitfield_ro l",
            "bitop or d k l",
        ] {
            assert_eq!(h.line(line), WRONGTYPE, "{line}");
        }
    }

    #[test]
    fn bitcount_and_bitpos_cases() {
        let mut h = Host::new();
        h.set("s", b"foobar");
        assert_eq!(h.line("bitcount s"), int(26));
        assert_eq!(h.line("bitcount s 1 -2"), int(18));
        assert_eq!(h.line("bitcount s -2 1"), int(0));
        assert_eq!(h.line("bitcount s 5 30 bit"), int(17));
        assert_eq!(h.line("bitcount s -6 -7"), int(0));
        assert_eq!(
            h.line("bitcount s -1 -2 nope"),
            int(0),
            "before the unit is read"
        );
        for line in ["bitcount s 0", "bitcount s 0 1 x", "bitcount s 0 1 bit x"] {
            assert_eq!(h.line(line), SYNTAX);
        }
        let not_int = "-ERR value is not an integer or out of range";
        assert_eq!(h.line("bitcount s a 1"), not_int);
        assert_eq!(
            h.line("bitcount nokey 0"),
            int(0),
            "an absent key comes first"
        );
        h.set("n", b"123");
        assert_eq!(h.line("bitcount n"), int(10));
        h.set("e", b"");
        assert_eq!(h.line("bitpos e 0"), int(-1));
        assert_eq!(h.line("bitpos nokey 0 x"), int(0));
        assert_eq!(h.line("bitpos nokey 1"), int(-1));
        assert_eq!(
            h.line("bitpos s 2"),
            "-ERR The bit argument must be 1 or 0."
        );
        assert_eq!(h.line("bitpos s x"), not_int);
        assert_eq!(h.line("bitpos s 1 0 1 x"), SYNTAX);
        assert_eq!(h.line("bitpos s 1 0 1 bit x"), SYNTAX);
        h.set("f", b"\xff\xff\xff");
        assert_eq!(h.line("bitpos f 0"), int(24));
        assert_eq!(h.line("bitpos f 0 1"), int(24));
        assert_eq!(h.line("bitpos f 0 0 -1"), int(-1));
        assert_eq!(h.line("bitpos f 0 5"), int(-1));
        h.set("z", b"\x00\xff\x00");
        assert_eq!(h.line("bitpos z 1 1 1"), int(8));
        assert_eq!(h.line("bitpos z 0 8 8 bit"), int(-1));
        assert_eq!(h.line("bitpos z 0 16 200 BIT"), int(16));
    }

    /// BITCOUNT and BITPOS against bit-by-bit loops over random strings and ranges.
    #[test]
    fn bitcount_and_bitpos_match_naive() {
        let mut h = Host::new();
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..1000 {
            let len = rng.below(80) as i64;
            let s = rng.bytes(len as usize);
            h.set("s", &s);
            let in_bits = rng.below(2) == 1;
            let (unit, unit_len) = if in_bits {
                ("bit", len * 8)
            } else {
                ("byte", len)
            };
            let span = unit_len + 3;
            let start = rng.below(2 * span as u64) as i64 - span;
            let end = rng.below(2 * span as u64) as i64 - span;
            // The naive range, with Redis's index rules.
            let norm = |i: i64, n: i64| if i < 0 { (i + n).max(0) } else { i };
            let (lo, hi) = (norm(start, unit_len), norm(end, unit_len).min(unit_len - 1));
            let (lo, hi) = if in_bits {
                (lo, hi)
            } else {
                (lo * 8, hi * 8 + 7)
            };
            let count = match start < 0 && end < 0 && start > end {
                true => 0,
                false => (lo..=hi).filter(|&p| bit_at(&s, p)).count() as i64,
            };
            let range = alloc::format!("{start} {end} {unit}");
            assert_eq!(
                h.line(&alloc::format!("bitcount s {range}")),
                int(count),
                "{s:?} {range}"
            );
            for bit in [false, true] {
                let found = (lo..=hi).find(|&p| bit_at(&s, p) == bit).unwrap_or(-1);
                let line = alloc::format!("bitpos s {} {range}", bit as u8);
                assert_eq!(h.line(&line), int(found), "{s:?} {line}");
                // Without an end (bytes only), all ones has its first zero just past the end.
                let open_lo = norm(start, len) * 8;
                let expect = match (open_lo..len * 8).find(|&p| bit_at(&s, p) == bit) {
                    Some(p) => p,
                    None if !bit && open_lo < len * 8 => len * 8,
                    None => -1,
                };
                let line = alloc::format!("bitpos s {} {start}", bit as u8);
                assert_eq!(h.line(&line), int(expect), "{s:?} {line}");
            }
        }
    }

    #[test]
    fn bitop_cases() {
        let mut h = Host::new();
        h.set("a", b"\x01\x02\xff\xff");
        h.set("b", b"\x01\x02\xff");
        h.set("i", b"1");
        h.set("j", b"2");
        for (line, expect) in [
            ("and dest a b", &b"\x01\x02\xff\x00"[..]),
            ("or dest a b", b"\x01\x02\xff\xff"),
            ("xor dest a b", b"\x00\x00\x00\xff"),
            ("and dest nokey a", b"\x00\x00\x00\x00"),
            ("not dest b", b"\xfe\xfd\x00"),
            ("xor dest i j i", b"2"),
        ] {
            assert_eq!(
                h.line(&alloc::format!("bitop {line}")),
                int(expect.len() as i64)
            );
            assert_eq!(h.get("dest").unwrap(), expect, "{line}");
        }
        h.events();
        assert_eq!(h.line("BITOP AND dest nokey nokey2"), int(0));
        assert_eq!(
            (h.events(), h.get("dest")),
            (vec!["del:dest".to_string()], None)
        );
        assert_eq!(h.line("bitop or dest nokey"), int(0));
        assert_eq!(h.events(), Vec::<String>::new());
        assert_eq!(h.line("bitop or dest a"), int(4));
        assert_eq!(h.events(), ["new:dest", "set:dest"]);
        assert_eq!(h.line("bitop not a a"), int(4));
        assert_eq!(h.get("a").unwrap(), b"\xfe\xfd\x00\x00");
        let not_err = "-ERR BITOP NOT must be called with a single source key.";
        assert_eq!(h.line("bitop not d a b"), not_err);
        assert_eq!(h.line("bitop nand d a"), SYNTAX);
    }

    /// BITOP against a byte-by-byte fold of random sources.
    #[test]
    fn bitop_matches_naive() {
        let mut h = Host::new();
        let mut rng = Rng(42);
        for op in ["and", "or", "xor", "not"] {
            for _ in 0..30 {
                let n = if op == "not" {
                    1
                } else {
                    1 + rng.below(5) as usize
                };
                let srcs: Vec<Vec<u8>> = (0..n)
                    .map(|_| {
                        let len = rng.below(100) as usize;
                        rng.bytes(len)
                    })
                    .collect();
                let mut line = alloc::format!("bitop {op} t");
                for (i, v) in srcs.iter().enumerate() {
                    h.set(&alloc::format!("v{i}"), v);
                    line.push_str(&alloc::format!(" v{i}"));
                }
                let max = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
                let expect: Vec<u8> = (0..max)
                    .map(|i| {
                        let mut it = srcs.iter().map(|s| s.get(i).copied().unwrap_or(0));
                        let first = it.next().unwrap_or(0);
                        it.fold(first, |acc, b| match op {
                            "and" => acc & b,
                            "or" => acc | b,
                            _ => acc ^ b,
                        }) ^ if op == "not" { 0xff } else { 0 }
                    })
                    .collect();
                assert_eq!(h.line(&line), int(max as i64));
                assert_eq!(h.get("t").unwrap_or_default(), expect, "{line}");
            }
        }
    }

    #[test]
    fn bitfield_cases() {
        let mut h = Host::new();
        let reply = h.line("bitfield b set i8 0 255 set i8 0 100 get i8 0");
        assert_eq!(reply, "*3\r\n:0\r\n:-1\r\n:100\r\n");
        assert_eq!(h.events(), ["new:b", "setbit:b"]);
        assert_eq!(h.line("bitfield b"), "*0\r\n");
        let reply = h.line("bitfield u set u8 0 255 incrby u8 0 100 get u8 0");
        assert_eq!(reply, "*3\r\n:0\r\n:99\r\n:99\r\n");
        h.line("bitfield abc set u8 #0 65 set u8 #1 66");
        h.line("bitfield abc set u8 #2 67");
        assert_eq!(h.get("abc").unwrap(), b"ABC");
        // Saturation, with the quirks of Redis's checks (values checked against a real server):
        // a negative unsigned SET saturates high, and so does a signed one so negative that
        // `max - value` wraps.
        let reply = h.line("bitfield s overflow sat set u8 0 -5 set i4 8 -100 set i17 12 -100000");
        assert_eq!(reply, "*3\r\n:0\r\n:0\r\n:0\r\n");
        let reply = h.line("bitfield_ro s get u8 0 get i4 8 get i17 12");
        assert_eq!(reply, "*3\r\n:255\r\n:-8\r\n:-65536\r\n");
        h.line(
            "bitfield q overflow sat set i17 0 -9223372036854775808 set i8 17 -9223372036854775807",
        );
        let reply = h.line("bitfield q get i17 0 get i8 17");
        assert_eq!(reply, "*2\r\n:65535\r\n:127\r\n");
        let reply = h.line("bitfield q overflow wrap set i17 0 -9223372036854775808 get i17 0");
        assert_eq!(reply, "*2\r\n:65535\r\n:0\r\n");
        let line = "bitfield s overflow fail incrby u8 0 1 overflow wrap incrby u8 0 1";
        assert_eq!(h.line(line), "*2\r\n$-1\r\n:0\r\n");
        h.proto = Proto::Resp3;
        assert_eq!(
            h.line("bitfield s overflow fail incrby u8 0 -1"),
            "*1\r\n_\r\n"
        );
        h.proto = Proto::Resp2;
        // Regressions from the Redis suite (#3221, #3564).
        h.set("r", b"1");
        assert_eq!(h.line("bitfield r get u1 0"), "*1\r\n:0\r\n");
        let reply = h.line("bitfield m set i8 0 10 set i8 64 10 incrby i8 10 99900");
        assert_eq!(reply, "*3\r\n:0\r\n:0\r\n:60\r\n");
        // The widest types at unaligned offsets.
        h.line("bitfield w set i64 3 -9223372036854775808 set u63 70 9223372036854775807");
        let reply = h.line("bitfield w get i64 3 get u63 70 get i64 70");
        assert_eq!(
            reply,
            "*3\r\n:-9223372036854775808\r\n:9223372036854775807\r\n:-2\r\n"
        );
        assert_eq!(h.get("w").unwrap().len(), 17);
    }

    #[test]
    fn bitfield_errors_and_dirty() {
        let mut h = Host::new();
        let type_err = "-ERR Invalid bitfield type. Use something like i16 u8. \
                        Note that u64 is not supported but i64 is.";
        for ty in ["u64", "i65", "i0", "x8", "I8", "u", "i+8", ""] {
            assert_eq!(h.text(&["bitfield", "k", "get", ty, "0"]), type_err, "{ty}");
        }
        for off in ["-1", "#-1", "#536870912", "x", "#", "1#"] {
            assert_eq!(
                h.line(&alloc::format!("bitfield k get u8 {off}")),
                OFFSET_ERR
            );
        }
        assert_eq!(
            h.line("bitfield k get i64 #9223372036854775807"),
            OFFSET_ERR
        );
        assert_eq!(h.line("bitfield k get u8 #536870911"), "*1\r\n:0\r\n");
        let not_int = "-ERR value is not an integer or out of range";
        assert_eq!(h.line("bitfield k set u8 0 x"), not_int);
        for line in [
            "bitfield k get u8",
            "bitfield k foo u8 0",
            "bitfield k overflow",
        ] {
            assert_eq!(h.line(line), SYNTAX, "{line}");
        }
        let reply = h.line("bitfield k overflow nope get u8 0");
        assert_eq!(reply, "-ERR Invalid OVERFLOW type specified");
        let ro_err = "-ERR BITFIELD_RO only supports the GET subcommand";
        assert_eq!(h.line("bitfield_ro k get u8 0 set u8 0 1"), ro_err);
        assert_eq!(
            h.line("bitfield_ro k incrby u8 0 1 get u8 x"),
            OFFSET_ERR,
            "parsing first"
        );
        assert_eq!((h.get("k"), h.ks.dirty), (None, 0));
        // A refused write still creates the key, but changes nothing.
        let reply = h.line("bitfield f overflow fail set u8 0 1000");
        assert_eq!(reply, "*1\r\n$-1\r\n");
        assert_eq!(h.get("f").unwrap(), b"\x00");
        assert_eq!((h.ks.dirty, h.events()), (0, vec!["new:f".to_string()]));
        // Each write counts when it changes bits or the string grew; INCRBY always changes.
        h.line("bitfield g set i5 0 0");
        assert_eq!(h.ks.dirty, 1);
        h.line("bitfield g set i5 0 0 set i5 0 1 set i5 0 1 incrby u2 5 0");
        assert_eq!(h.ks.dirty, 2);
        h.line("bitfield g set i5 90 0 get u8 0");
        assert_eq!(h.ks.dirty, 3);
        assert_eq!(h.events(), ["new:g", "setbit:g", "setbit:g", "setbit:g"]);
        // The offset limit bounds growth before anything is allocated.
        h.config.proto_max_bulk_len = 16;
        assert_eq!(h.line("bitfield g set u8 128 1"), OFFSET_ERR);
        assert_eq!(h.line("bitfield g set i64 127 -1"), "*1\r\n:0\r\n");
        assert_eq!(h.get("g").unwrap().len(), 24);
    }

    /// The reference model: one bit per `bool`, plain loops and `i128` arithmetic.
    struct Model {
        bits: Vec<bool>,
    }

    impl Model {
        fn get(&self, off: u64, ty: FieldType) -> i128 {
            let mut v: i128 = 0;
            for i in 0..ty.bits as u64 {
                let bit = self.bits.get((off + i) as usize).copied().unwrap_or(false);
                v = (v << 1) | bit as i128;
            }
            if ty.signed && (v >> (ty.bits - 1)) & 1 == 1 {
                v -= 1i128 << ty.bits;
            }
            v
        }

        fn put(&mut self, off: u64, ty: FieldType, v: i128) {
            for i in 0..ty.bits as u64 {
                self.bits[(off + i) as usize] = (v >> (ty.bits as u64 - 1 - i)) & 1 == 1;
            }
        }

        /// Runs one operation: its reply (`None` for a refused write).
        fn apply(&mut self, op: &FieldOp) -> Option<i64> {
            let ty = op.ty;
            let (min, max) = match ty.signed {
                true => (-(1i128 << (ty.bits - 1)), (1i128 << (ty.bits - 1)) - 1),
                false => (0, (1i128 << ty.bits) - 1),
            };
            let old = self.get(op.offset, ty);
            let target = match op.kind {
                FieldOpKind::Get => return Some(old as i64),
                FieldOpKind::IncrBy(d) => old + d as i128,
                // Redis reads an unsigned SET value as its 64-bit pattern.
                FieldOpKind::Set(v) if !ty.signed => v as u64 as i128,
                FieldOpKind::Set(v) => v as i128,
            };
            // Redis's signed check computes `max - value` in 64 bits; a SET value so negative
            // that it wraps counts as too large, so SAT stores the maximum.
            let wraps_high = ty.signed
                && matches!(op.kind, FieldOpKind::Set(_))
                && target < max - i64::MAX as i128;
            let stored = match op.overflow {
                _ if (min..=max).contains(&target) => target,
                Overflow::Fail => return None,
                Overflow::Sat if target > max || wraps_high => max,
                Overflow::Sat => min,
                Overflow::Wrap => (target - min).rem_euclid(max - min + 1) + min,
            };
            self.put(op.offset, ty, stored);
            Some(match op.kind {
                FieldOpKind::Set(_) => old as i64,
                _ => stored as i64,
            })
        }

        fn bytes(&self) -> Vec<u8> {
            let byte = |c: &[bool]| c.iter().fold(0u8, |b, &x| (b << 1) | x as u8);
            self.bits.chunks(8).map(byte).collect()
        }
    }

    /// A random operand, biased towards the edges of the type and of `i64`.
    fn random_value(rng: &mut Rng, ty: FieldType) -> i64 {
        let edge = 1i64.checked_shl(ty.bits - 1).unwrap_or(i64::MIN);
        match rng.below(6) {
            0 => rng.next() as i64,
            1 => rng.below(7) as i64 - 3,
            2 => edge.wrapping_sub(rng.below(3) as i64),
            3 => edge.wrapping_neg().wrapping_add(rng.below(3) as i64 - 1),
            4 => (rng.next() as i64) >> (64 - ty.bits),
            _ => [i64::MIN, i64::MAX, -1, 0][rng.below(4) as usize],
        }
    }

    /// A random operation and its arguments, under the given OVERFLOW mode.
    fn random_op(rng: &mut Rng, overflow: Overflow, args: &mut String) -> FieldOp {
        let signed = rng.below(2) == 1;
        let bits = 1 + rng.below(if signed { 64 } else { 63 }) as u32;
        let ty = FieldType { signed, bits };
        let (offset, offset_arg) = match rng.below(4) {
            0 => {
                let n = rng.below(4);
                (n * bits as u64, alloc::format!("#{n}"))
            }
            _ => {
                let n = rng.below(300);
                (n, n.to_string())
            }
        };
        let (kind, name) = match rng.below(3) {
            0 => (FieldOpKind::Get, "get"),
            1 => (FieldOpKind::Set(random_value(rng, ty)), "set"),
            _ => (FieldOpKind::IncrBy(random_value(rng, ty)), "incrby"),
        };
        let sign = if signed { 'i' } else { 'u' };
        args.push_str(&alloc::format!(" {name} {sign}{bits} {offset_arg}"));
        if let FieldOpKind::Set(v) | FieldOpKind::IncrBy(v) = kind {
            args.push_str(&alloc::format!(" {v}"));
        }
        FieldOp {
            kind,
            ty,
            offset,
            overflow,
        }
    }

    /// Random BITFIELD commands against the model: replies and stored bytes must agree.
    #[test]
    fn bitfield_matches_model() {
        let mut h = Host::new();
        let mut rng = Rng(0x1234_5678_9abc_def1);
        let mut model = Model { bits: Vec::new() };
        for round in 0..4000 {
            if round % 500 == 0 {
                h.ks.db_mut(0).remove(b"k");
                model.bits.clear();
            }
            let mut line = String::from("bitfield k");
            let mut ops = Vec::new();
            let mut overflow = Overflow::Wrap;
            for _ in 0..1 + rng.below(4) {
                if rng.below(3) == 0 {
                    overflow =
                        [Overflow::Wrap, Overflow::Sat, Overflow::Fail][rng.below(3) as usize];
                    line.push_str(&alloc::format!(" overflow {overflow:?}"));
                }
                ops.push(random_op(&mut rng, overflow, &mut line));
            }
            // The string grows to the farthest write before any operation runs, as in Redis.
            let reach = ops
                .iter()
                .filter(|op| op.kind != FieldOpKind::Get)
                .map(|op| (op.offset + op.ty.bits as u64).div_ceil(8) * 8)
                .max();
            if let Some(reach) = reach {
                let reach = (reach as usize).max(model.bits.len());
                model.bits.resize(reach, false);
            }
            let mut expect = alloc::format!("*{}\r\n", ops.len());
            for op in &ops {
                match model.apply(op) {
                    Some(v) => expect.push_str(&int(v)),
                    None => expect.push_str("$-1\r\n"),
                }
            }
            assert_eq!(h.line(&line), expect, "{line}");
            assert_eq!(h.get("k").unwrap_or_default(), model.bytes(), "{line}");
        }
    }
}
