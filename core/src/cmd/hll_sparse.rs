//! The sparse encoding of a HyperLogLog: run-length opcodes over the registers, used while most of
//! them are zero. Byte-compatible with Redis's `HLL_SPARSE` encoding.
//!
//! Three opcodes, each covering a run of consecutive registers:
//! - ZERO `00xxxxxx`: `xxxxxx + 1` (1..=64) zero registers.
//! - XZERO `01xxxxxx yyyyyyyy`: the 14-bit `xxxxxxyyyyyyyy + 1` (1..=16384) zero registers.
//! - VAL `1vvvvvxx`: `xx + 1` (1..=4) registers that all hold `vvvvv + 1` (1..=32).
//!
//! A valid body covers exactly [`REGISTERS`] registers. A register value above [`VAL_MAX`], or an
//! update that would grow the string past its size limit, makes the caller promote the HLL to the
//! dense encoding.
//!
//! Updates follow Redis's procedure (split the run holding the register into at most three
//! opcodes, then merge equal VAL neighbours), so the same PFADDs give the same bytes as in Redis.
//! Every walk is bounded by the body's length and checks that runs stay within the registers: a
//! corrupt body is an error, never a panic or an out-of-bounds access.

use alloc::vec::Vec;
use core::fmt::Write;

use super::{HDR_SIZE, REGISTERS};

/// Longest run of one ZERO opcode.
const ZERO_LEN_MAX: usize = 64;
/// Longest run of one XZERO opcode.
const XZERO_LEN_MAX: usize = 16384;
/// Longest run of one VAL opcode.
const VAL_LEN_MAX: usize = 4;
/// Largest register value a VAL opcode can hold.
pub const VAL_MAX: u8 = 32;
/// How many opcodes the merge pass after an update looks at (Redis's bound).
const MERGE_SCAN_OPS: usize = 5;

/// A sparse body that does not describe exactly [`REGISTERS`] registers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt;

/// What [`set`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SetOutcome {
    /// The register already held the value or more.
    Unchanged,
    Updated,
    /// The value does not fit a VAL opcode, or the string would pass its size limit: the caller
    /// converts to dense and sets the register there. Nothing was changed.
    Promote,
}

/// One decoded opcode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Zero(usize),
    XZero(usize),
    /// Value and run length.
    Val(u8, usize),
}

impl Op {
    /// Registers covered.
    fn span(self) -> usize {
        match self {
            Op::Zero(n) | Op::XZero(n) | Op::Val(_, n) => n,
        }
    }

    /// Bytes taken.
    fn size(self) -> usize {
        match self {
            Op::XZero(_) => 2,
            _ => 1,
        }
    }

    /// The value of the registers covered.
    fn value(self) -> u8 {
        match self {
            Op::Val(v, _) => v,
            _ => 0,
        }
    }
}

/// Decodes the opcode at `body[p]`; `None` past the end. An XZERO cut short by the end reads its
/// missing byte as zero, as Redis does (it reads the string's terminating NUL).
fn op_at(body: &[u8], p: usize) -> Option<Op> {
    let b = *body.get(p)?;
    let lo = body.get(p + 1).copied().unwrap_or(0) as usize;
    Some(match b >> 6 {
        0 => Op::Zero((b & 0x3f) as usize + 1),
        1 => Op::XZero(((((b & 0x3f) as usize) << 8) | lo) + 1),
        _ => Op::Val(((b >> 2) & 0x1f) + 1, (b & 3) as usize + 1),
    })
}

fn val_byte(value: u8, len: usize) -> u8 {
    debug_assert!((1..=VAL_MAX).contains(&value) && (1..=VAL_LEN_MAX).contains(&len));
    0x80 | ((value - 1) << 2) | (len - 1) as u8
}

/// Appends the opcode for a run of `len` zero registers: ZERO when it fits, else XZERO.
fn push_zeros(out: &mut Vec<u8>, len: usize) {
    debug_assert!((1..=XZERO_LEN_MAX).contains(&len));
    if len <= ZERO_LEN_MAX {
        out.push((len - 1) as u8);
    } else {
        out.push(0x40 | ((len - 1) >> 8) as u8);
        out.push(((len - 1) & 0xff) as u8);
    }
}

/// Appends the body of an empty HLL: every register zero.
pub fn push_empty(out: &mut Vec<u8>) {
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(XZERO_LEN_MAX);
        out.push(0x40 | ((n - 1) >> 8) as u8);
        out.push(((n - 1) & 0xff) as u8);
        left -= n;
    }
}

/// Calls `f(first, len, value)` for each run of registers, in order (zero runs too). Errs, after
/// the runs before it, when a run passes the last register or the body ends short of it: a valid
/// body covers exactly [`REGISTERS`] registers, with nothing after them.
pub fn for_each_run(body: &[u8], mut f: impl FnMut(usize, usize, u8)) -> Result<(), Corrupt> {
    let (mut p, mut idx) = (0, 0);
    // Every opcode takes at least one byte: at most `body.len()` iterations.
    while let Some(op) = op_at(body, p) {
        let span = op.span();
        if idx + span > REGISTERS {
            return Err(Corrupt);
        }
        f(idx, span, op.value());
        idx += span;
        p += op.size();
    }
    if idx == REGISTERS {
        Ok(())
    } else {
        Err(Corrupt)
    }
}

/// Adds the registers to `hist` (a count per value); errs on a corrupt body.
pub fn histogram(body: &[u8], hist: &mut [u32; 64]) -> Result<(), Corrupt> {
    for_each_run(body, |_, len, v| hist[v as usize] += len as u32)
}

/// Raises register `index` of the sparse HLL `hll` (header included) to `count` if it holds less.
/// `len_max` is `hll-sparse-max-bytes`: an update that would grow the string past it asks for
/// promotion instead. Errs (changing nothing) when no opcode covers the register.
pub fn set(
    hll: &mut Vec<u8>,
    index: usize,
    count: u8,
    len_max: usize,
) -> Result<SetOutcome, Corrupt> {
    debug_assert!(index < REGISTERS && count >= 1);
    if count > VAL_MAX {
        return Ok(SetOutcome::Promote);
    }
    let body = hll.get(HDR_SIZE..).ok_or(Corrupt)?;
    // Find the opcode covering the register; `prev` is the one before it.
    let (mut p, mut first, mut prev) = (0, 0, None);
    let op = loop {
        let op = op_at(body, p).ok_or(Corrupt)?;
        if index < first + op.span() {
            break op;
        }
        prev = Some(p);
        p += op.size();
        first += op.span();
    };
    let at = HDR_SIZE + p;
    match op {
        Op::Val(v, _) if v >= count => return Ok(SetOutcome::Unchanged),
        // A run of one register: rewrite the opcode in place.
        Op::Val(_, 1) | Op::Zero(1) => hll[at] = val_byte(count, 1),
        _ => {
            let last = first + op.span() - 1;
            let mut seq = Vec::with_capacity(5);
            let old = op.value();
            if index != first {
                match op {
                    Op::Val(..) => seq.push(val_byte(old, index - first)),
                    _ => push_zeros(&mut seq, index - first),
                }
            }
            seq.push(val_byte(count, 1));
            if index != last {
                match op {
                    Op::Val(..) => seq.push(val_byte(old, last - index)),
                    _ => push_zeros(&mut seq, last - index),
                }
            }
            if seq.len() > op.size() && hll.len() + seq.len() - op.size() > len_max {
                return Ok(SetOutcome::Promote);
            }
            // An XZERO cut short by the end still counts as two bytes, as in Redis: the string
            // changes length by the opcodes' difference, and what passes it falls off.
            let len = hll.len() + seq.len() - op.size();
            hll.splice(at..(at + op.size()).min(hll.len()), seq);
            hll.truncate(len);
        }
    }
    merge_vals(hll, HDR_SIZE + prev.unwrap_or(0));
    Ok(SetOutcome::Updated)
}

/// Joins adjacent VAL opcodes of equal value whose runs fit one opcode, looking at a few opcodes
/// from `from` (the neighbourhood of an update).
fn merge_vals(hll: &mut Vec<u8>, from: usize) {
    let mut p = from;
    for _ in 0..MERGE_SCAN_OPS {
        let Some(&b) = hll.get(p) else { break };
        if b & 0x80 == 0 {
            p += if b & 0x40 != 0 { 2 } else { 1 };
            continue;
        }
        if let Some(&next) = hll.get(p + 1) {
            let (v1, l1) = ((b >> 2) & 0x1f, (b & 3) as usize + 1);
            let (v2, l2) = ((next >> 2) & 0x1f, (next & 3) as usize + 1);
            if next & 0x80 != 0 && v1 == v2 && l1 + l2 <= VAL_LEN_MAX {
                hll[p + 1] = val_byte(v1 + 1, l1 + l2);
                hll.remove(p);
                // Look at the same place again: the merged run may join its right neighbour.
                continue;
            }
        }
        p += 1;
    }
}

/// PFDEBUG DECODE's text: `z:len`, `Z:len` and `v:value,len` for each opcode, space separated.
/// Not validated.
pub fn decode(body: &[u8], out: &mut alloc::string::String) {
    let mut p = 0;
    while let Some(op) = op_at(body, p) {
        let _ = match op {
            Op::Zero(n) => write!(out, "z:{n} "),
            Op::XZero(n) => write!(out, "Z:{n} "),
            Op::Val(v, n) => write!(out, "v:{v},{n} "),
        };
        p += op.size();
    }
    while out.ends_with(' ') {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec;

    fn empty() -> Vec<u8> {
        let mut v = vec![0u8; HDR_SIZE];
        push_empty(&mut v);
        v
    }

    fn registers(hll: &[u8]) -> Vec<u8> {
        let mut r = vec![0u8; REGISTERS];
        for_each_run(&hll[HDR_SIZE..], |first, len, v| {
            r[first..first + len].fill(v)
        })
        .unwrap();
        r
    }

    fn text(hll: &[u8]) -> String {
        let mut s = String::new();
        decode(&hll[HDR_SIZE..], &mut s);
        s
    }

    /// A small deterministic generator (xorshift).
    fn rng(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn empty_is_one_xzero() {
        let h = empty();
        assert_eq!(&h[HDR_SIZE..], [0x7f, 0xff]);
        assert_eq!(text(&h), "Z:16384");
        let mut hist = [0; 64];
        histogram(&h[HDR_SIZE..], &mut hist).unwrap();
        assert_eq!(hist[0], REGISTERS as u32);
    }

    #[test]
    fn updates_split_and_merge_runs() {
        let mut h = empty();
        assert_eq!(set(&mut h, 100, 3, 3000), Ok(SetOutcome::Updated));
        assert_eq!(text(&h), "Z:100 v:3,1 Z:16283");
        assert_eq!(set(&mut h, 100, 2, 3000), Ok(SetOutcome::Unchanged));
        assert_eq!(set(&mut h, 101, 3, 3000), Ok(SetOutcome::Updated));
        assert_eq!(text(&h), "Z:100 v:3,2 Z:16282");
        assert_eq!(set(&mut h, 0, 1, 3000), Ok(SetOutcome::Updated));
        assert_eq!(text(&h), "v:1,1 Z:99 v:3,2 Z:16282");
        assert_eq!(set(&mut h, 16383, 32, 3000), Ok(SetOutcome::Updated));
        assert_eq!(text(&h), "v:1,1 Z:99 v:3,2 Z:16281 v:32,1");
        assert_eq!(set(&mut h, 5, 33, 3000), Ok(SetOutcome::Promote));
        // Equal neighbours merge; a raise inside a VAL run splits it.
        set(&mut h, 102, 3, 3000).unwrap();
        assert_eq!(text(&h), "v:1,1 Z:99 v:3,3 Z:16280 v:32,1");
        set(&mut h, 101, 5, 3000).unwrap();
        assert_eq!(text(&h), "v:1,1 Z:99 v:3,1 v:5,1 v:3,1 Z:16280 v:32,1");
        set(&mut h, 1, 1, 3000).unwrap();
        assert_eq!(text(&h), "v:1,2 Z:98 v:3,1 v:5,1 v:3,1 Z:16280 v:32,1");
        let r = registers(&h);
        assert_eq!(
            (r[0], r[100], r[101], r[102], r[103], r[16383]),
            (1, 3, 5, 3, 0, 32)
        );
    }

    #[test]
    fn random_updates_match_a_plain_array() {
        let mut state = 0x9e37_79b9_7f4a_7c15;
        for round in 0..20 {
            let mut h = empty();
            let mut model = vec![0u8; REGISTERS];
            for _ in 0..(round * 37 % 400) {
                let x = rng(&mut state);
                let i = (x % REGISTERS as u64) as usize;
                // Cluster some updates so runs of values form.
                let i = if x & 0x100 != 0 { i % 64 } else { i };
                let v = ((x >> 20) % 8 + 1) as u8;
                let before = model[i];
                let out = set(&mut h, i, v, usize::MAX).unwrap();
                assert_eq!(out == SetOutcome::Updated, v > before);
                model[i] = model[i].max(v);
            }
            assert_eq!(registers(&h), model);
            let mut hist = [0; 64];
            histogram(&h[HDR_SIZE..], &mut hist).unwrap();
        }
    }

    #[test]
    fn growth_past_the_limit_asks_for_promotion() {
        let mut h = empty();
        let limit = h.len() + 3;
        assert_eq!(set(&mut h, 500, 1, limit), Ok(SetOutcome::Updated));
        let before = h.clone();
        assert_eq!(set(&mut h, 1000, 1, limit), Ok(SetOutcome::Promote));
        assert_eq!(h, before);
    }

    #[test]
    fn corrupt_bodies_are_errors() {
        let mut hist = [0; 64];
        // Too few registers, too many, bytes after the last one (a cut-short XZERO reads as a run
        // of one), an empty body.
        for body in [
            &[0x7f, 0xfe][..],
            &[0x7f, 0xff, 0x00],
            &[0x7f, 0xff, 0x40],
            &[],
        ] {
            assert_eq!(histogram(body, &mut hist), Err(Corrupt), "{body:?}");
            assert_eq!(for_each_run(body, |_, _, _| {}), Err(Corrupt), "{body:?}");
        }
        // A cut-short XZERO that covers the last register is accepted, as in Redis.
        assert_eq!(for_each_run(&[0x7f, 0xfe, 0x40], |_, _, _| {}), Ok(()));
        // A register past the opcodes cannot be set.
        let mut h = vec![0u8; HDR_SIZE];
        h.extend_from_slice(&[0x7f, 0x00]);
        assert_eq!(set(&mut h, 16200, 1, 3000), Err(Corrupt));
        h.truncate(HDR_SIZE + 1);
        assert_eq!(text(&h), "Z:16129");
        // Replacing it grows the string by one byte, not two: the last byte falls off (Redis).
        assert_eq!(set(&mut h, 0, 1, 3000), Ok(SetOutcome::Updated));
        assert_eq!(h[HDR_SIZE..], [0x80, 0x7e]);
        h.push(0);
        assert_eq!(set(&mut h, 10000, 1, 3000), Ok(SetOutcome::Updated));
    }

    #[test]
    fn huge_runs_do_not_overflow() {
        // Many maximal XZEROs: the walk stops at the first run past the registers.
        let body: Vec<u8> = [0x7f, 0xff].repeat(200_000);
        let mut hist = [0; 64];
        assert_eq!(histogram(&body, &mut hist), Err(Corrupt));
        let body: Vec<u8> = [0x3f].repeat(300_000);
        assert_eq!(histogram(&body, &mut hist), Err(Corrupt));
        let mut h = vec![0u8; HDR_SIZE];
        h.extend_from_slice(&body);
        assert_eq!(
            set(&mut h, REGISTERS - 1, 1, usize::MAX),
            Ok(SetOutcome::Updated)
        );
    }
}
