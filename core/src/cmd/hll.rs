//! HyperLogLog commands (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST) over Redis's own HLL string
//! format, with Redis 7.0's replies, errors and keyspace events (Redis's `hyperloglog.c`).
//!
//! An HLL is a plain string value laid out byte for byte as Redis lays it out, so GET, SET, DUMP and
//! RESTORE move HLLs between Ember and Redis unchanged:
//! - a 16-byte header: the magic `HYLL`, the encoding (0 dense, 1 sparse), 3 unused bytes, and the
//!   cached cardinality as a little-endian u64 whose top bit marks the cache invalid;
//! - dense: 16384 registers of 6 bits, packed least significant bit first (12288 bytes);
//! - sparse: run-length opcodes (see [`sparse`]), promoted to dense past [`SPARSE_BYTES_MAX`] bytes
//!   or when a register passes 32.
//!
//! An element is hashed with MurmurHash64A (seed `0xadc83b19`): the low 14 bits choose the
//! register, and one plus the trailing zeros of the other 50 bits (at most 51) is the value the
//! register is raised to. The cardinality comes from the register histogram through Ertl's
//! improved estimator ("New cardinality estimation algorithms for HyperLogLog sketches",
//! arXiv:1702.01284), computed in the same order as Redis so the numbers agree exactly.
//!
//! Strings that are not HLLs get `WRONGTYPE Key is not a valid HyperLogLog string value.`; an HLL
//! whose sparse opcodes do not cover exactly the registers gets `INVALIDOBJ`. Corrupt bytes are
//! never trusted: every walk checks its bounds.

#[path = "hll_sparse.rs"]
mod sparse;

use super::KEY1;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::{acl, eq_ci, flags as f, CmdError, CmdResult, Command, ExecCtx};
use crate::journal::class;
use crate::resp::Argv;
use crate::table::NO_EXPIRE;
use crate::types::string::CompactStr;
use crate::types::Value;
use sparse::{Corrupt, SetOutcome};

/// Bits of the hash that choose the register.
const P: u32 = 14;
/// Registers per HLL.
const REGISTERS: usize = 1 << P;
/// Bits of the hash left for the run of zeros; register values go up to `Q + 1`.
const Q: usize = 64 - P as usize;
/// Bits per dense register.
const REG_BITS: usize = 6;
const REG_MASK: u8 = (1 << REG_BITS) - 1;
/// Header: magic, encoding, 3 unused bytes, cached cardinality.
const HDR_SIZE: usize = 16;
const DENSE_SIZE: usize = HDR_SIZE + REGISTERS * REG_BITS / 8;
const MAGIC: &[u8; 4] = b"HYLL";
/// Offset of the encoding byte, and of the cardinality cache's top byte (whose high bit is set
/// while the cache is invalid).
const ENC_AT: usize = 4;
const CARD_AT: usize = 8;
const CACHE_INVALID_AT: usize = 15;
/// Encoding bytes as stored (never reused: they are part of the on-disk format).
#[repr(u8)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Encoding {
    Dense = 0,
    Sparse = 1,
}
/// `hll-sparse-max-bytes`: a sparse HLL (header included) that would grow past this becomes dense.
/// Redis's default; the server's config knows the directive but `CoreConfig` does not carry it.
const SPARSE_BYTES_MAX: usize = 3000;
/// MurmurHash64A seed Redis uses for HLL elements.
const HASH_SEED: u64 = 0xadc8_3b19;
/// The estimator's constant, 1 / (2 ln 2).
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
/// Bound on the terms of the estimator's series (they converge after a few dozen).
const SERIES_TERMS_MAX: usize = 2048;

const _: () = assert!(DENSE_SIZE == 12304 && Q == 50);

const NOT_HLL: CmdError = CmdError::new("WRONGTYPE Key is not a valid HyperLogLog string value.");
const INVALID: CmdError = CmdError::new("INVALIDOBJ Corrupted HLL object detected");

const ALL_KEYS: (i32, i32, i32) = (1, -1, 1);
const HLL: u32 = acl::HYPERLOGLOG;

const GROUP: &str = "hyperloglog";

pub static COMMANDS: &[Command] = &[
    cmd!("pfadd", -2, f::WRITE | f::DENYOOM | f::FAST, KEY1, acl::WRITE | HLL | acl::FAST, pfadd, "Adds the specified elements to the specified HyperLogLog.", "2.8.9", "O(1) to add every element."),
    cmd!("pfcount", -2, f::READONLY | f::MAY_REPLICATE, ALL_KEYS, acl::READ | HLL | acl::SLOW, pfcount, "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).", "2.8.9", "O(1) with a very small average constant time when called with a single key. O(N) with N being the number of keys, and much bigger constant times, when called with multiple keys."),
    cmd!("pfmerge", -2, f::WRITE | f::DENYOOM, ALL_KEYS, acl::WRITE | HLL | acl::SLOW, pfmerge, "Merge N different HyperLogLogs into a single one.", "2.8.9", "O(N) to merge N HyperLogLogs, but with high constant times."),
    cmd!("pfdebug", -3, f::WRITE | f::DENYOOM | f::ADMIN, (2, 2, 1), acl::WRITE | HLL | acl::ADMIN | acl::SLOW | acl::DANGEROUS, pfdebug, "Internal commands for debugging HyperLogLog values", "2.8.9", "N/A"),
    cmd!("pfselftest", 1, f::ADMIN, (0, 0, 0), HLL | acl::ADMIN | acl::SLOW | acl::DANGEROUS, pfselftest, "An internal command for testing HyperLogLog values", "2.8.9", "N/A"),
];

// ---------------------------------------------------------------------------------------------
// Hashing

/// Austin Appleby's MurmurHash64A, reading 8-byte blocks little-endian as Redis does on every
/// platform.
fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut blocks = data.chunks_exact(8);
    for block in &mut blocks {
        let mut b = [0u8; 8];
        b.copy_from_slice(block);
        let mut k = u64::from_le_bytes(b).wrapping_mul(M);
        k ^= k >> R;
        h ^= k.wrapping_mul(M);
        h = h.wrapping_mul(M);
    }
    let tail = blocks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^ (h >> R)
}

/// The register an element maps to, and the value it raises the register to (1..=51).
fn register_of(element: &[u8]) -> (usize, u8) {
    let h = murmur64a(element, HASH_SEED);
    let index = (h & (REGISTERS as u64 - 1)) as usize;
    // The sentinel bit bounds the count at Q + 1.
    let rest = (h >> P) | (1 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---------------------------------------------------------------------------------------------
// Dense registers (`regs` is the 12288 bytes after the header)

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let (byte, shift) = (i * REG_BITS / 8, i * REG_BITS % 8);
    let lo = regs[byte] as u16;
    let hi = regs.get(byte + 1).copied().unwrap_or(0) as u16;
    (((lo | (hi << 8)) >> shift) as u8) & REG_MASK
}

fn dense_set(regs: &mut [u8], i: usize, value: u8) {
    let (byte, shift) = (i * REG_BITS / 8, i * REG_BITS % 8);
    let bits = ((value & REG_MASK) as u16) << shift;
    let keep = !((REG_MASK as u16) << shift);
    regs[byte] = (regs[byte] & keep as u8) | bits as u8;
    // The last register ends inside its byte; every other straddling one has a next byte.
    if let Some(next) = regs.get_mut(byte + 1) {
        *next = (*next & (keep >> 8) as u8) | (bits >> 8) as u8;
    }
}

/// Calls `f(index, value)` for every dense register, four registers (three bytes) at a time.
fn dense_for_each(regs: &[u8], mut f: impl FnMut(usize, u8)) {
    for (g, b) in regs.chunks_exact(3).enumerate() {
        let w = b[0] as u32 | (b[1] as u32) << 8 | (b[2] as u32) << 16;
        for k in 0..4 {
            f(g * 4 + k, ((w >> (6 * k)) as u8) & REG_MASK);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Cardinality estimation

/// Correctly rounded IEEE-754 square root of a finite `x >= 0` (core has no `sqrt` without std;
/// the estimate must match Redis's libm bit for bit). Integer square root of the scaled mantissa,
/// rounded to nearest even.
fn sqrt(x: f64) -> f64 {
    if x.is_nan() || x < 0.0 {
        return f64::NAN;
    }
    if x == 0.0 || x.is_infinite() {
        return x;
    }
    let bits = x.to_bits();
    let (mut exp, mut mant) = (((bits >> 52) & 0x7ff) as i64, bits & ((1 << 52) - 1));
    if exp == 0 {
        // Subnormal: normalize the mantissa.
        let shift = mant.leading_zeros() as i64 - 11;
        mant <<= shift;
        exp = 1 - shift;
    } else {
        mant |= 1 << 52;
    }
    // x = mant * 2^e with mant in [2^52, 2^53); make e even.
    let mut e = exp - 1075;
    if e & 1 != 0 {
        mant <<= 1;
        e -= 1;
    }
    // sqrt(mant * 2^60) lies in [2^56, 2^57): 57 bits, of which 53 are kept.
    let n = (mant as u128) << 60;
    let (mut root, mut rem, mut bit) = (0u128, n, 1u128 << 126);
    while bit > n {
        bit >>= 2;
    }
    while bit != 0 {
        if rem >= root + bit {
            rem -= root + bit;
            root = (root >> 1) + bit;
        } else {
            root >>= 1;
        }
        bit >>= 2;
    }
    let (mut q, low) = ((root >> 4) as u64, (root & 0xf) as u64);
    if low > 8 || (low == 8 && (rem != 0 || q & 1 == 1)) {
        q += 1;
    }
    // Result = q * 2^(e/2 - 26), exact in f64 (q <= 2^53, the power of two is in range).
    let scale = f64::from_bits(((e / 2 - 26 + 1023) as u64) << 52);
    q as f64 * scale
}

/// Ertl's sigma(x) = x + sum over k >= 1 of x^(2^k) 2^(k-1).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let (mut y, mut z) = (1.0, x);
    for _ in 0..SERIES_TERMS_MAX {
        x *= x;
        let prev = z;
        z += x * y;
        y += y;
        if z == prev {
            break;
        }
    }
    z
}

/// Ertl's tau(x) = (1 - x - sum over k >= 1 of (1 - x^(2^-k))^2 2^-k) / 3.
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let (mut y, mut z) = (1.0, 1.0 - x);
    for _ in 0..SERIES_TERMS_MAX {
        x = sqrt(x);
        let prev = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if z == prev {
            break;
        }
    }
    z / 3.0
}

/// C's `llround` into the u64 Redis keeps: half away from zero; out of range gives the bit
/// pattern of `LLONG_MIN` as x86-64 does.
fn round_to_u64(e: f64) -> u64 {
    const TWO_POW_63: f64 = (1u64 << 63) as f64;
    if !(0.0..TWO_POW_63).contains(&e) {
        return 1 << 63;
    }
    let t = e as u64;
    if e - t as f64 >= 0.5 {
        t + 1
    } else {
        t
    }
}

/// The cardinality estimate from a histogram of register values (values above Q + 1, which only
/// corrupt dense data can hold, are not counted, as in Redis).
fn estimate(hist: &[u32; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - hist[Q + 1] as f64) / m);
    for &c in hist[1..=Q].iter().rev() {
        z += c as f64;
        z *= 0.5;
    }
    z += m * sigma(hist[0] as f64 / m);
    round_to_u64(ALPHA_INF * m * m / z)
}

// ---------------------------------------------------------------------------------------------
// HLL values (`hll` is the whole string, header included, already checked by `hll_bytes`)

/// The bytes of a string that holds an HLL (Redis's `isHLLObjectOrReply`): the magic, a known
/// encoding, and for dense the exact length.
fn hll_bytes(s: &CompactStr) -> Result<&[u8], CmdError> {
    let b = s.raw().ok_or(NOT_HLL)?;
    let ok = b.len() >= HDR_SIZE
        && &b[..4] == MAGIC
        && match b[ENC_AT] {
            e if e == Encoding::Dense as u8 => b.len() == DENSE_SIZE,
            e => e == Encoding::Sparse as u8,
        };
    if ok {
        Ok(b)
    } else {
        Err(NOT_HLL)
    }
}

fn encoding(hll: &[u8]) -> Encoding {
    if hll[ENC_AT] == Encoding::Dense as u8 {
        Encoding::Dense
    } else {
        Encoding::Sparse
    }
}

/// A new, empty, sparse HLL with a valid cached cardinality of 0.
fn new_hll() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR_SIZE + 2);
    v.extend_from_slice(MAGIC);
    v.push(Encoding::Sparse as u8);
    v.resize(HDR_SIZE, 0);
    sparse::push_empty(&mut v);
    v
}

/// Moves a string's bytes out (leaving it empty) to edit them as a vector.
fn take(s: &mut CompactStr) -> Vec<u8> {
    match core::mem::replace(s, CompactStr::EMPTY) {
        CompactStr::Heap(b) => b.into_vec(),
        other => other.to_vec(),
    }
}

/// A string's bytes, mutable in place (an integer-encoded string, never an HLL, gives none).
fn bytes_mut(s: &mut CompactStr) -> &mut [u8] {
    match s {
        CompactStr::Inline { len, buf } => &mut buf[..*len as usize],
        CompactStr::Heap(b) => b,
        CompactStr::Int(_) => &mut [],
    }
}

fn cached_card(hll: &[u8]) -> Option<u64> {
    let mut b = [0u8; 8];
    b.copy_from_slice(&hll[CARD_AT..HDR_SIZE]);
    (hll[CACHE_INVALID_AT] & 0x80 == 0).then(|| u64::from_le_bytes(b))
}

fn invalidate_cache(hll: &mut [u8]) {
    hll[CACHE_INVALID_AT] |= 0x80;
}

/// Converts a sparse HLL to dense in place, keeping the header (and so the cached cardinality).
/// A corrupt HLL is left as it was.
fn to_dense(hll: &mut Vec<u8>) -> Result<(), Corrupt> {
    if encoding(hll) == Encoding::Dense {
        return Ok(());
    }
    let mut dense = vec![0u8; DENSE_SIZE];
    dense[..HDR_SIZE].copy_from_slice(&hll[..HDR_SIZE]);
    dense[ENC_AT] = Encoding::Dense as u8;
    let regs = &mut dense[HDR_SIZE..];
    sparse::for_each_run(&hll[HDR_SIZE..], |first, len, v| {
        if v != 0 {
            for i in first..first + len {
                dense_set(regs, i, v);
            }
        }
    })?;
    *hll = dense;
    Ok(())
}

/// Raises register `index` to `count` if it is lower, promoting a sparse HLL to dense when the
/// value or the size calls for it. Returns whether the register changed.
fn raise(hll: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    if encoding(hll) == Encoding::Sparse {
        match sparse::set(hll, index, count, SPARSE_BYTES_MAX)? {
            SetOutcome::Unchanged => return Ok(false),
            SetOutcome::Updated => {
                // Redis invalidates the cache with each sparse update, so a PFADD that then
                // meets corruption leaves it invalid too.
                invalidate_cache(hll);
                return Ok(true);
            }
            SetOutcome::Promote => to_dense(hll)?,
        }
    }
    let regs = &mut hll[HDR_SIZE..];
    if dense_get(regs, index) >= count {
        return Ok(false);
    }
    dense_set(regs, index, count);
    Ok(true)
}

/// Adds elements; `changed` counts those that raised a register.
fn add_all<'a>(
    hll: &mut Vec<u8>,
    elements: impl Iterator<Item = &'a [u8]>,
    changed: &mut u64,
) -> Result<(), Corrupt> {
    for e in elements {
        let (index, count) = register_of(e);
        if raise(hll, index, count)? {
            *changed += 1;
        }
    }
    Ok(())
}

/// Raises each of `max`'s registers to the HLL's (a union of sketches).
fn merge_into(max: &mut [u8], hll: &[u8]) -> Result<(), Corrupt> {
    let body = &hll[HDR_SIZE..];
    match encoding(hll) {
        Encoding::Dense => dense_for_each(body, |i, v| max[i] = max[i].max(v)),
        Encoding::Sparse => sparse::for_each_run(body, |first, len, v| {
            for r in &mut max[first..first + len] {
                *r = (*r).max(v);
            }
        })?,
    }
    Ok(())
}

/// The estimated cardinality of an HLL (ignoring its cache).
fn count(hll: &[u8]) -> Result<u64, Corrupt> {
    let mut hist = [0u32; 64];
    let body = &hll[HDR_SIZE..];
    match encoding(hll) {
        Encoding::Dense => dense_for_each(body, |_, v| hist[v as usize] += 1),
        Encoding::Sparse => sparse::histogram(body, &mut hist)?,
    }
    Ok(estimate(&hist))
}

/// The estimated cardinality of one register per byte.
fn count_raw(registers: &[u8]) -> u64 {
    let mut hist = [0u32; 64];
    for &r in registers {
        hist[(r & REG_MASK) as usize] += 1;
    }
    estimate(&hist)
}

/// Runs `f` on the bytes of the HLL at `key` (a new empty one when absent), then stores them back.
/// Returns `f`'s result and whether the key was created. WRONGTYPE when the key is no HLL.
fn edit_hll<R>(
    ctx: &mut ExecCtx<'_>,
    key: &[u8],
    f: impl FnOnce(&mut Vec<u8>, bool) -> R,
) -> Result<(R, bool), CmdError> {
    match ctx.write_str(key)? {
        Some(s) => {
            hll_bytes(s)?;
            let mut hll = take(s);
            let r = f(&mut hll, false);
            *s = CompactStr::from_vec(hll);
            Ok((r, false))
        }
        None => {
            let mut hll = new_hll();
            let r = f(&mut hll, true);
            ctx.store(key, Value::Str(CompactStr::from_vec(hll)), Some(NO_EXPIRE));
            Ok((r, true))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Commands

/// PFADD key [element ...]. O(1) per element. Replies 1 when a register changed (or the key was
/// created), else 0.
fn pfadd(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let mut changed = 0;
    let (result, created) = edit_hll(ctx, key, |hll, created| {
        let r = add_all(hll, argv.tail(2).iter(), &mut changed);
        if r.is_ok() && (changed > 0 || created) {
            invalidate_cache(hll);
        }
        r
    })?;
    if result.is_err() {
        // Registers raised before the corruption was found stay raised, as in Redis.
        if changed > 0 {
            ctx.journal.modified(ctx.db, key);
            ctx.touched(changed);
        }
        return Err(INVALID);
    }
    // Creating the key counts as a change; `store` already recorded it.
    if changed > 0 || created {
        ctx.touched(changed);
        ctx.wrote(class::STRING, "pfadd", key);
    }
    ctx.out.int((changed > 0 || created) as i64);
    Ok(())
}

/// PFCOUNT key [key ...]. One key: O(1) with a valid cache, else one pass over the registers,
/// caching the result in the value. Several keys: their union's estimate, nothing modified.
fn pfcount(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 2 {
        let mut max = vec![0u8; REGISTERS];
        for key in argv.tail(1).iter() {
            if let Some(s) = ctx.read_str(key)? {
                merge_into(&mut max, hll_bytes(s)?).map_err(|_| INVALID)?;
            }
        }
        ctx.out.int(count_raw(&max) as i64);
        return Ok(());
    }
    let key = argv.get(1);
    let Some(s) = ctx.read_str(key)? else {
        ctx.out.int(0);
        return Ok(());
    };
    if let Some(card) = cached_card(hll_bytes(s)?) {
        ctx.out.int(card as i64);
        return Ok(());
    }
    let hll = bytes_mut(s);
    let card = count(hll).map_err(|_| INVALID)?;
    hll[CARD_AT..HDR_SIZE].copy_from_slice(&card.to_le_bytes());
    // The value changed (its cache), though PFCOUNT is a read: WATCH and replicas must see it.
    ctx.journal.modified(ctx.db, key);
    ctx.touched(1);
    ctx.out.int(card as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]. O(N) in the number of keys, with high constants. The
/// destination's own registers take part; it becomes dense when any input is dense.
fn pfmerge(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let mut max = vec![0u8; REGISTERS];
    let mut dense = false;
    for key in argv.tail(1).iter() {
        if let Some(s) = ctx.read_str(key)? {
            let hll = hll_bytes(s)?;
            dense |= encoding(hll) == Encoding::Dense;
            merge_into(&mut max, hll).map_err(|_| INVALID)?;
        }
    }
    let dest = argv.get(1);
    let (result, created) = edit_hll(ctx, dest, |hll, _| -> Result<(), Corrupt> {
        if dense {
            to_dense(hll)?;
        }
        for (i, &r) in max.iter().enumerate() {
            if r != 0 {
                raise(hll, i, r)?;
            }
        }
        invalidate_cache(hll);
        Ok(())
    })?;
    result.map_err(|_| INVALID)?;
    if !created {
        ctx.touched(1);
    }
    // Redis reports a merge as a "pfadd": it is a mass add of elements.
    ctx.wrote(class::STRING, "pfadd", dest);
    ctx.out.ok();
    Ok(())
}

/// PFDEBUG GETREG | DECODE | ENCODING | TODENSE key. O(N) in the registers. GETREG and TODENSE
/// convert a sparse value to dense in place.
fn pfdebug(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let (sub, key) = (argv.get(1), argv.get(2));
    let name = || {
        let mut n = String::from_utf8_lossy(sub).into_owned();
        n.retain(|c| c != '\r' && c != '\n');
        n
    };
    let arity_err = || {
        CmdError::owned(alloc::format!(
            "ERR Wrong number of arguments for the '{}' subcommand",
            name()
        ))
    };
    let Some(s) = ctx.write_str(key)? else {
        return Err(CmdError::new("ERR The specified key does not exist"));
    };
    let enc = encoding(hll_bytes(s)?);
    if eq_ci(sub, "getreg") || eq_ci(sub, "todense") {
        if argv.len() != 3 {
            return Err(arity_err());
        }
        let getreg = eq_ci(sub, "getreg");
        let mut hll = take(s);
        let converted = to_dense(&mut hll);
        let mut regs = Vec::new();
        if getreg && converted.is_ok() {
            regs.resize(REGISTERS, 0);
            dense_for_each(&hll[HDR_SIZE..], |i, v| regs[i] = v);
        }
        *s = CompactStr::from_vec(hll);
        converted.map_err(|_| INVALID)?;
        if enc == Encoding::Sparse {
            ctx.journal.modified(ctx.db, key);
            ctx.touched(1);
        }
        if getreg {
            ctx.out.array(REGISTERS);
            for r in regs {
                ctx.out.int(r as i64);
            }
        } else {
            ctx.out.int((enc == Encoding::Sparse) as i64);
        }
    } else if eq_ci(sub, "decode") {
        if argv.len() != 3 {
            return Err(arity_err());
        }
        if enc != Encoding::Sparse {
            return Err(CmdError::new("ERR HLL encoding is not sparse"));
        }
        let mut text = String::new();
        sparse::decode(&bytes_mut(s)[HDR_SIZE..], &mut text);
        ctx.out.bulk(text.as_bytes());
    } else if eq_ci(sub, "encoding") {
        if argv.len() != 3 {
            return Err(arity_err());
        }
        ctx.out.simple(match enc {
            Encoding::Dense => b"dense",
            Encoding::Sparse => b"sparse",
        });
    } else {
        return Err(CmdError::owned(alloc::format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            name()
        )));
    }
    Ok(())
}

/// PFSELFTEST. Checks the register packing, sparse/dense agreement and the estimate's error on
/// known inputs; replies OK or the first failure.
fn pfselftest(ctx: &mut ExecCtx<'_>, _argv: Argv<'_>) -> CmdResult {
    self_test()?;
    ctx.out.ok();
    Ok(())
}

/// Elements the self-test adds; checkpoints every power of ten.
const SELF_TEST_ELEMENTS: u64 = 100_000;

fn self_test() -> CmdResult {
    let fail = |text: String| Err(CmdError::owned(alloc::format!("ERR TESTFAILED {text}")));
    // Register packing: pseudo-random values read back exactly.
    let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..4 {
        let mut expected = vec![0u8; REGISTERS];
        for (i, e) in expected.iter_mut().enumerate() {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            *e = if round == 0 {
                REG_MASK
            } else {
                (state >> 58) as u8
            };
            dense_set(&mut regs, i, *e);
        }
        for (i, &e) in expected.iter().enumerate() {
            if dense_get(&regs, i) != e {
                return fail(alloc::format!("Register error at {i}"));
            }
        }
    }
    // Sparse and dense agree, and the estimate stays within 5 standard errors.
    let (mut sp, mut de) = (new_hll(), new_hll());
    to_dense(&mut de).map_err(|_| INVALID)?;
    let rel_err = 1.04 / sqrt(REGISTERS as f64);
    let mut checkpoint = 10;
    for n in 1..=SELF_TEST_ELEMENTS {
        let e = n.to_le_bytes();
        let mut changed = 0;
        add_all(&mut sp, [&e[..]].into_iter(), &mut changed).map_err(|_| INVALID)?;
        add_all(&mut de, [&e[..]].into_iter(), &mut changed).map_err(|_| INVALID)?;
        if n != checkpoint {
            continue;
        }
        checkpoint *= 10;
        let (cs, cd) = (
            count(&sp).map_err(|_| INVALID)?,
            count(&de).map_err(|_| INVALID)?,
        );
        if cs != cd {
            return fail(alloc::format!("dense/sparse disagree: {cd} / {cs}"));
        }
        let abs_err = (cd as f64 - n as f64).abs();
        if abs_err > (rel_err * 5.0 * n as f64).max(1.0) {
            return fail(alloc::format!("too big error. card:{cd} abserr:{abs_err}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::Host;
    use crate::reply::Reply;

    trait HllHost {
        fn status(&mut self, line: &str) -> String;
        fn bulk(&mut self, line: &str) -> String;
        fn get(&self, key: &str) -> Vec<u8>;
        fn put(&mut self, key: &str, bytes: &[u8]);
        fn add_range(&mut self, key: &str, from: u64, to: u64);
    }

    impl HllHost for Host {
        fn status(&mut self, line: &str) -> String {
            match self.reply_line(line) {
                Ok(Reply::Status(s)) => String::from_utf8(s).unwrap(),
                r => panic!("{line}: {r:?}"),
            }
        }

        fn bulk(&mut self, line: &str) -> String {
            match self.reply_line(line) {
                Ok(Reply::Bulk(s)) => String::from_utf8(s).unwrap(),
                r => panic!("{line}: {r:?}"),
            }
        }

        fn get(&self, key: &str) -> Vec<u8> {
            let e = self.ks.db(0).table().get(key.as_bytes());
            match e.and_then(|e| e.value().str_to_vec()) {
                Some(v) => v,
                None => panic!("{key}: not a string"),
            }
        }

        fn put(&mut self, key: &str, bytes: &[u8]) {
            self.exec(&[b"set", key.as_bytes(), bytes]).unwrap();
        }

        /// Adds `e{from}`..`e{to - 1}` in batches of 1000.
        fn add_range(&mut self, key: &str, from: u64, to: u64) {
            let names: Vec<Vec<u8>> = (from..to)
                .map(|i| alloc::format!("e{i}").into_bytes())
                .collect();
            for chunk in names.chunks(1000) {
                let mut args: Vec<&[u8]> = vec![b"pfadd", key.as_bytes()];
                args.extend(chunk.iter().map(|n| n.as_slice()));
                self.exec(&args).unwrap();
            }
        }
    }

    fn fnv1a(bytes: &[u8]) -> u64 {
        bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
        })
    }

    #[test]
    fn bytes_match_redis() {
        // Values and bytes written by redis-server 7.0.15 for the same commands.
        let mut w = Host::with_seed(0x5eed);
        assert_eq!(w.int("pfadd h a b c"), 1);
        let mut expected = b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80".to_vec();
        expected.extend_from_slice(b"`\xf3\x80P\xb1\x84K\xfb\x80BZ");
        assert_eq!(w.get("h"), expected);
        assert_eq!(
            w.bulk("pfdebug decode h"),
            "Z:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603"
        );
        assert_eq!(w.int("pfcount h"), 3);
        expected[8] = 3;
        expected[15] = 0;
        assert_eq!(w.get("h"), expected);
        assert_eq!(w.int("pfadd e"), 1);
        assert_eq!(w.get("e"), b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\x80\x7f\xff");
        w.reply(&[
            b"pfadd",
            b"x",
            b"",
            b"foo",
            b"bar",
            b"baz",
            b"hello world",
            b"0123456789abcdef",
        ])
        .unwrap();
        assert_eq!(
            w.bulk("pfdebug decode x"),
            "Z:5938 v:2,1 z:10 v:1,1 Z:608 v:4,1 Z:789 v:5,1 Z:2050 v:4,1 Z:607 v:1,1 Z:6376"
        );
        assert_eq!(w.int("pfcount x"), 6);
    }

    #[test]
    fn estimates_and_promotion_match_redis() {
        // (elements, PFCOUNT, encoding, length and FNV-1a of the bytes) from redis-server 7.0.15.
        let expected = [
            (10, 10, "sparse", 48, 0xd06c_25fb_eaa2_3420u64),
            (100, 100, "sparse", 285, 0x40de_c5e3_b151_3cfa),
            (1000, 1008, "sparse", 1906, 0x4ded_8ea0_046b_668d),
            (3000, 2979, "dense", 12304, 0xb581_fa7f_a1f6_8d1c),
            (10000, 9973, "dense", 12304, 0x9114_1a08_52dc_0034),
            (100_000, 100_853, "dense", 12304, 0xfd1f_c236_9477_3e63),
        ];
        let mut w = Host::with_seed(0x5eed);
        let mut n = 0;
        for (target, card, enc, len, hash) in expected {
            w.add_range("k", n, target);
            n = target;
            assert_eq!(w.int("pfcount k"), card, "{target}");
            // Within 2% of the truth.
            assert!(
                (card - target as i64).abs() * 50 <= target as i64,
                "{target}"
            );
            assert_eq!(w.status("pfdebug encoding k"), enc);
            let bytes = w.get("k");
            assert_eq!((bytes.len(), fnv1a(&bytes)), (len, hash), "{target}");
        }
    }

    #[test]
    fn sparse_and_dense_count_the_same() {
        let mut w = Host::with_seed(0x5eed);
        for round in 0..30u64 {
            w.reply_line("del a b").ok();
            w.int("pfadd a");
            w.int("pfadd b");
            assert_eq!(w.int("pfdebug todense b"), 1);
            assert_eq!(w.int("pfdebug todense b"), 0);
            let (from, to) = (round * 1000, round * 1000 + round * round);
            w.add_range("a", from, to);
            w.add_range("b", from, to);
            assert_eq!(w.status("pfdebug encoding a"), "sparse");
            assert_eq!(w.status("pfdebug encoding b"), "dense");
            assert_eq!(w.int("pfcount a"), w.int("pfcount b"));
            assert_eq!(w.int("pfcount a a"), w.int("pfcount b"));
            let regs = |w: &mut Host, k: &str| {
                w.reply_line(&alloc::format!("pfdebug getreg {k}")).unwrap()
            };
            assert_eq!(regs(&mut w, "a"), regs(&mut w, "b"));
            assert_eq!(w.status("pfdebug encoding a"), "dense");
        }
    }

    #[test]
    fn add_count_cache_and_events() {
        let mut w = Host::with_seed(0x5eed);
        assert_eq!(w.int("pfadd h"), 1);
        assert_eq!(w.events(), ["new:h", "pfadd:h"]);
        assert_eq!(w.int("pfadd h"), 0);
        assert_eq!(w.int("pfcount h"), 0);
        assert_eq!(w.get("h")[15], 0);
        assert_eq!(w.int("pfadd h a b c"), 1);
        assert_eq!(w.int("pfadd h a b c"), 0);
        assert_eq!(w.events(), ["pfadd:h"]);
        assert_eq!(w.get("h")[15], 0x80);
        assert_eq!(w.int("pfcount h"), 3);
        assert_eq!(w.get("h")[15], 0);
        assert!(w.events().is_empty());
        assert_eq!(w.int("pfcount nosuch"), 0);
        assert_eq!(w.int("pfcount nosuch h"), 3);
    }

    #[test]
    fn merge_unions_and_creates() {
        let mut w = Host::with_seed(0x5eed);
        w.int("pfadd a x y z");
        w.int("pfadd b y z w");
        w.events();
        assert_eq!(w.status("pfmerge d a b nosuch"), "OK");
        assert_eq!(w.events(), ["new:d", "pfadd:d"]);
        assert_eq!(w.int("pfcount d"), 4);
        assert_eq!(w.status("pfdebug encoding d"), "sparse");
        assert_eq!(w.status("pfmerge d"), "OK");
        assert_eq!(w.int("pfcount d"), 4);
        // A dense input makes the destination dense.
        w.int("pfdebug todense b");
        w.int("pfadd c q");
        assert_eq!(w.status("pfmerge c b"), "OK");
        assert_eq!(w.status("pfdebug encoding c"), "dense");
        assert_eq!(w.int("pfcount c"), 4);
        // The union of two large sketches.
        w.add_range("l1", 0, 20_000);
        w.add_range("l2", 10_000, 30_000);
        assert_eq!(w.status("pfmerge l3 l1 l2"), "OK");
        let union = w.int("pfcount l3");
        assert_eq!(union, w.int("pfcount l1 l2"));
        assert!((union - 30_000).abs() < 600, "{union}");
    }

    #[test]
    fn type_and_corruption_errors() {
        const NOT: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
        let mut w = Host::with_seed(0x5eed);
        w.reply_line("set s bar").unwrap();
        w.reply_line("set n 12345").unwrap();
        for line in [
            "pfadd s 1",
            "pfcount s",
            "pfcount n",
            "pfmerge x s",
            "pfmerge s x",
            "pfdebug getreg s",
        ] {
            assert_eq!(w.err(line), NOT, "{line}");
        }
        w.reply_line("sadd set a").unwrap();
        assert!(w.err("pfadd set a").starts_with("WRONGTYPE Operation"));
        // Broken magic, unknown encoding, dense of the wrong length.
        w.int("pfadd h a b c");
        let good = w.get("h");
        for (at, byte) in [(0, b'0'), (4, b'x'), (4, 0)] {
            let mut bad = good.clone();
            bad[at] = byte;
            w.put("h", &bad);
            assert_eq!(w.err("pfcount h"), NOT);
        }
        // Bytes after the registers.
        for tail in [&b"hello"[..], b"@"] {
            let mut bad = good.clone();
            bad.extend_from_slice(tail);
            w.put("h", &bad);
            for line in ["pfcount h", "pfcount h h", "pfmerge h", "pfdebug getreg h"] {
                assert_eq!(
                    w.err(line),
                    "INVALIDOBJ Corrupted HLL object detected",
                    "{line}"
                );
            }
        }
        // Too few registers.
        let mut short = good[..HDR_SIZE].to_vec();
        short.push(0x00);
        w.put("h", &short);
        for line in [
            "pfcount h",
            "pfcount h h",
            "pfadd h a b c d e f g",
            "pfdebug getreg h",
            "pfmerge h",
        ] {
            assert_eq!(
                w.err(line),
                "INVALIDOBJ Corrupted HLL object detected",
                "{line}"
            );
        }
        // Runs adding up past 2^32 registers, then a VAL.
        let mut huge = good[..HDR_SIZE].to_vec();
        huge[15] = 0;
        for _ in 0..(131_072 + 1000) {
            huge.extend_from_slice(&[0x7f, 0xff]);
        }
        huge.push(0xff);
        w.put("h", &huge);
        assert_eq!(
            w.err("pfcount h h"),
            "INVALIDOBJ Corrupted HLL object detected"
        );
        assert_eq!(
            w.err("pfdebug getreg h"),
            "INVALIDOBJ Corrupted HLL object detected"
        );
        huge[15] = 0x80;
        w.put("h", &huge);
        assert_eq!(
            w.err("pfcount h"),
            "INVALIDOBJ Corrupted HLL object detected"
        );
    }

    #[test]
    fn random_corruption_never_panics() {
        let mut w = Host::with_seed(0x5eed);
        let mut state = 0x1234_5678_9abc_def1u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for round in 0..80 {
            w.reply_line("del h").ok();
            let n = next() % 3000;
            w.add_range("h", round * 10_000, round * 10_000 + n);
            let mut bytes = w.get("h");
            for _ in 0..(1 + next() % 5) {
                let at = (next() % bytes.len() as u64) as usize;
                bytes[at] = next() as u8;
            }
            w.put("h", &bytes);
            let _ = w.reply_line("pfcount h");
            let _ = w.reply_line("pfcount h h");
            let _ = w.reply_line("pfadd h a b c d e f g h i j k");
            let _ = w.reply_line("pfdebug decode h");
            let _ = w.reply_line("pfmerge h2 h");
            let _ = w.reply_line("pfdebug getreg h");
        }
    }

    #[test]
    fn debug_subcommands() {
        let mut w = Host::with_seed(0x5eed);
        assert_eq!(
            w.err("pfdebug getreg nosuch"),
            "ERR The specified key does not exist"
        );
        w.int("pfadd h a");
        assert_eq!(
            w.err("pfdebug foo h"),
            "ERR Unknown PFDEBUG subcommand 'foo'"
        );
        assert_eq!(
            w.err("pfdebug encoding h x"),
            "ERR Wrong number of arguments for the 'encoding' subcommand"
        );
        match w.reply_line("pfdebug getreg h").unwrap() {
            Reply::Array(regs) => {
                assert_eq!(regs.len(), REGISTERS);
                let set = regs.iter().filter(|r| **r != Reply::Integer(0)).count();
                assert_eq!(set, 1);
            }
            r => panic!("{r:?}"),
        }
        assert_eq!(w.status("pfdebug encoding h"), "dense");
        assert_eq!(w.err("pfdebug decode h"), "ERR HLL encoding is not sparse");
        assert_eq!(w.status("pfselftest"), "OK");
    }

    #[test]
    fn register_packing_and_hash() {
        let mut regs = vec![0u8; DENSE_SIZE - HDR_SIZE];
        for i in 0..REGISTERS {
            dense_set(&mut regs, i, (i % 64) as u8);
        }
        for i in 0..REGISTERS {
            assert_eq!(dense_get(&regs, i), (i % 64) as u8);
        }
        let mut seen = 0;
        dense_for_each(&regs, |i, v| {
            assert_eq!(v, (i % 64) as u8);
            seen += 1;
        });
        assert_eq!(seen, REGISTERS);
        // Counts stay within 1..=51 whatever the hash.
        for i in 0..10_000u32 {
            let (index, count) = register_of(&i.to_le_bytes());
            assert!(index < REGISTERS && (1..=51).contains(&count));
        }
    }

    #[test]
    fn estimator_numerics() {
        assert_eq!(ALPHA_INF, "0.721347520444481703680".parse::<f64>().unwrap());
        let mut x = 1e-310f64;
        while x < 1e300 {
            assert_eq!(sqrt(x), x.sqrt(), "{x:e}");
            let y = f64::from_bits(x.to_bits() + 1);
            assert_eq!(sqrt(y), y.sqrt(), "{y:e}");
            x *= 1.37;
        }
        for i in 1..REGISTERS {
            let v = i as f64 / REGISTERS as f64;
            assert_eq!(sqrt(v), v.sqrt());
        }
        assert_eq!(
            (
                round_to_u64(2.5),
                round_to_u64(2.4999),
                round_to_u64(f64::INFINITY)
            ),
            (3, 2, 1 << 63)
        );
        let mut hist = [0u32; 64];
        hist[0] = REGISTERS as u32;
        assert_eq!(estimate(&hist), 0);
    }
}
