//! Random commands for the model: the sources of choices, the limits of a sequence and a
//! generator per type over small alphabets.

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;

use super::{Args, CoreConfig};

/// Where a command sequence's choices come from.
pub trait Source {
    /// A number below `n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize;

    /// Whether the source has run dry (a sequence stops there).
    fn exhausted(&self) -> bool {
        false
    }
}

/// A seeded xorshift64* generator: the same seed gives the same sequence on every machine.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        XorShift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
}

impl Source for XorShift {
    fn below(&mut self, n: usize) -> usize {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize % n
    }
}

/// A fuzzer's input: each choice takes one byte (two for choices past 256), zero once it runs out.
pub struct FuzzBytes<'a>(&'a [u8]);

impl<'a> FuzzBytes<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        FuzzBytes(data)
    }
}

impl Source for FuzzBytes<'_> {
    fn below(&mut self, n: usize) -> usize {
        let width = if n > 256 { 2 } else { 1 };
        let (head, rest) = self.0.split_at(width.min(self.0.len()));
        self.0 = rest;
        head.iter().fold(0usize, |acc, &b| acc << 8 | b as usize) % n
    }

    fn exhausted(&self) -> bool {
        self.0.is_empty()
    }
}

/// The limits of a sequence: Ember's defaults in a third of the sequences, otherwise compact
/// encodings so small that they convert after a few elements (or never hold any).
pub fn config(src: &mut dyn Source) -> CoreConfig {
    let mut c = CoreConfig::default();
    if src.below(3) == 0 {
        return c;
    }
    let value_max = [1, 3, 8, 64];
    c.hash_max_listpack_entries = src.below(6);
    c.hash_max_listpack_value = value_max[src.below(4)];
    c.set_max_intset_entries = src.below(6);
    c.set_max_listpack_entries = src.below(6);
    c.set_max_listpack_value = value_max[src.below(4)];
    c.zset_max_listpack_entries = src.below(6);
    c.zset_max_listpack_value = value_max[src.below(4)];
    c.list_max_listpack_size = [-2, -1, 1, 2, 3, 4][src.below(6)];
    c
}

/// Keys each type's commands mostly use (`k0 k1` strings, `k2 k3` lists, ...); one command in eight
/// picks any key, so that types collide.
const KEYS_PER_TYPE: usize = 2;
const TYPES: usize = 6;
/// Every key a sequence uses.
pub const KEYS: usize = KEYS_PER_TYPE * TYPES;
const STRING: usize = 0;
const LIST: usize = 1;
const HASH: usize = 2;
const SET: usize = 3;
const ZSET: usize = 4;
const STREAM: usize = 5;

/// Past every compact-encoding value limit (64 by default) and the 44-byte embedded string.
const LONG: &[u8] = &[b'x'; 70];
const VALUES: &[&[u8]] = &[
    b"a",
    b"b",
    b"c",
    b"1",
    b"2",
    b"-3",
    b"10",
    b"",
    b"007",
    b"9223372036854775807",
];
const INCREMENTS: &[&[u8]] = &[b"-3", b"-1", b"0", b"1", b"2", b"5", b"100"];
const INCREMENTS_HUGE: &[&[u8]] = &[b"9223372036854775807", b"-9223372036854775808"];
const FIELDS: &[&[u8]] = &[b"f1", b"f2", b"f3", b"f4", b"f5", b"1"];
const INT_MEMBERS: &[&[u8]] = &[b"1", b"2", b"3", b"-4", b"10", b"0"];
const MEMBERS: &[&[u8]] = &[b"1", b"2", b"-4", b"a", b"b", b"c", b"007", b""];
const ZMEMBERS: &[&[u8]] = &[b"a", b"b", b"c", b"d", b"e", b"f", b"1", b"-2"];
const SCORES: &[&[u8]] = &[
    b"0", b"1", b"-1", b"2", b"-2", b"3", b"0.5", b"-1.5", b"2.5",
];
const INFINITIES: &[&[u8]] = &[b"inf", b"-inf", b"+inf"];
const BOUNDS: &[&[u8]] = &[
    b"-inf", b"+inf", b"0", b"1", b"(1", b"2", b"(2", b"-1", b"(-1", b"1.5", b"(0.5", b"(inf",
    b"(-inf", b"3", b"inf",
];

pub(super) fn key_name(k: usize) -> Vec<u8> {
    format!("k{k}").into_bytes()
}

/// A random command of a random type.
pub fn command(src: &mut dyn Source) -> Args {
    let mut g = Gen(src);
    match g.below(TYPES) {
        STRING => g.string(),
        LIST => g.list(),
        HASH => g.hash(),
        SET => g.set(),
        ZSET => g.zset(),
        _ => g.stream(),
    }
}

/// Arguments from anything that reads as bytes.
macro_rules! args {
    ($($a:expr),* $(,)?) => { vec![$(AsRef::<[u8]>::as_ref(&$a).to_vec()),*] };
}

struct Gen<'a>(&'a mut dyn Source);

impl Gen<'_> {
    fn below(&mut self, n: usize) -> usize {
        self.0.below(n)
    }

    fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    fn pick(&mut self, items: &[&[u8]]) -> Vec<u8> {
        items[self.below(items.len())].to_vec()
    }

    /// Mostly a key of type `ty`, sometimes any key.
    fn key(&mut self, ty: usize) -> Vec<u8> {
        match self.one_in(8) {
            true => key_name(self.below(KEYS)),
            false => key_name(ty * KEYS_PER_TYPE + self.below(KEYS_PER_TYPE)),
        }
    }

    /// A key of any type's.
    fn any_key(&mut self) -> Vec<u8> {
        let ty = self.below(TYPES);
        self.key(ty)
    }

    /// Between 1 and `max` of `item`.
    fn some(&mut self, max: usize, mut item: impl FnMut(&mut Self) -> Vec<u8>) -> Vec<Vec<u8>> {
        let n = 1 + self.below(max);
        (0..n).map(|_| item(self)).collect()
    }

    fn int(&mut self, lo: i64, hi: i64) -> Vec<u8> {
        let n = lo + self.below((hi - lo + 1) as usize) as i64;
        format!("{n}").into_bytes()
    }

    fn index(&mut self) -> Vec<u8> {
        match self.one_in(12) {
            true => self.pick(&[b"100", b"-100"]),
            false => self.int(-5, 5),
        }
    }

    /// A pop count, now and then a negative one.
    fn count(&mut self) -> Vec<u8> {
        match self.one_in(16) {
            true => b"-1".to_vec(),
            false => self.int(0, 4),
        }
    }

    fn value(&mut self) -> Vec<u8> {
        match self.one_in(16) {
            true => LONG.to_vec(),
            false => self.pick(VALUES),
        }
    }

    fn increment(&mut self) -> Vec<u8> {
        match self.one_in(12) {
            true => self.pick(INCREMENTS_HUGE),
            false => self.pick(INCREMENTS),
        }
    }

    fn score(&mut self) -> Vec<u8> {
        match self.one_in(10) {
            true => self.pick(INFINITIES),
            false => self.pick(SCORES),
        }
    }

    /// `item` from `items`, now and then the long one.
    fn or_long(&mut self, items: &[&[u8]]) -> Vec<u8> {
        match self.one_in(20) {
            true => LONG.to_vec(),
            false => self.pick(items),
        }
    }

    fn string(&mut self) -> Args {
        let key = self.key(STRING);
        match self.below(13) {
            9 => args![
                b"SETBIT",
                key,
                self.bit_offset(),
                self.pick(&[b"0", b"1", b"1", b"2"])
            ],
            10 => args![b"GETBIT", key, self.bit_offset()],
            11 => match self.one_in(2) {
                true => args![b"BITCOUNT", key],
                false => args![b"BITCOUNT", key, self.index(), self.index()],
            },
            12 => args![b"BITPOS", key, self.pick(&[b"0", b"1"])],
            0..=2 => {
                let mut c = args![b"SET", key, self.value()];
                for opt in [&b"NX"[..], b"XX", b"GET"] {
                    if self.one_in(4) {
                        c.push(opt.to_vec());
                    }
                }
                c
            }
            3 => args![b"GET", key],
            4 => args![b"APPEND", key, self.value()],
            5 => args![b"INCRBY", key, self.increment()],
            6 => [args![b"DEL"], self.some(3, Self::any_key)].concat(),
            7 => [args![b"EXISTS"], self.some(3, Self::any_key)].concat(),
            _ => args![b"TYPE", self.any_key()],
        }
    }

    fn list(&mut self) -> Args {
        let key = self.key(LIST);
        match self.below(16) {
            0..=3 => {
                let name: &[u8] = if self.one_in(2) { b"LPUSH" } else { b"RPUSH" };
                [args![name, key], self.some(4, Self::value)].concat()
            }
            4 | 5 => {
                let name: &[u8] = if self.one_in(2) { b"LPOP" } else { b"RPOP" };
                match self.one_in(2) {
                    true => args![name, key],
                    false => args![name, key, self.count()],
                }
            }
            6 => args![b"LLEN", key],
            7 => args![b"LRANGE", key, self.index(), self.index()],
            8 => args![b"LINDEX", key, self.index()],
            9 => args![b"LSET", key, self.index(), self.value()],
            10 => args![b"LREM", key, self.int(-2, 2), self.value()],
            11 => args![b"LTRIM", key, self.index(), self.index()],
            12 | 13 => {
                let side: &[u8] = if self.one_in(2) { b"BEFORE" } else { b"AFTER" };
                args![b"LINSERT", key, side, self.value(), self.value()]
            }
            _ => self.lpos(key),
        }
    }

    fn lpos(&mut self, key: Vec<u8>) -> Args {
        let mut c = args![b"LPOS", key, self.value()];
        if self.one_in(2) {
            let rank = if self.one_in(10) {
                b"0".to_vec()
            } else {
                self.pick(&[b"1", b"2", b"3", b"-1", b"-2"])
            };
            c.extend([b"RANK".to_vec(), rank]);
        }
        if self.one_in(2) {
            let count = if self.one_in(12) {
                b"-1".to_vec()
            } else {
                self.int(0, 3)
            };
            c.extend([b"COUNT".to_vec(), count]);
        }
        if self.one_in(3) {
            let maxlen = if self.one_in(12) {
                b"-1".to_vec()
            } else {
                self.int(0, 4)
            };
            c.extend([b"MAXLEN".to_vec(), maxlen]);
        }
        c
    }

    fn hash(&mut self) -> Args {
        let key = self.key(HASH);
        let field = |g: &mut Self| g.or_long(FIELDS);
        match self.below(10) {
            0..=2 => {
                let mut c = args![b"HSET", key];
                for _ in 0..1 + self.below(3) {
                    let pair = [field(self), self.value()];
                    c.extend(pair);
                }
                c
            }
            3 => args![b"HGET", key, field(self)],
            4 => [args![b"HDEL", key], self.some(2, field)].concat(),
            5 => args![b"HLEN", key],
            6 => args![b"HEXISTS", key, field(self)],
            7 | 8 => args![b"HINCRBY", key, field(self), self.increment()],
            _ => args![b"HGETALL", key],
        }
    }

    fn set(&mut self) -> Args {
        let key = self.key(SET);
        let ints_only = self.one_in(2);
        let member = move |g: &mut Self| match ints_only {
            true => g.pick(INT_MEMBERS),
            false => g.or_long(MEMBERS),
        };
        match self.below(12) {
            0..=3 => [args![b"SADD", key], self.some(4, member)].concat(),
            4 => [args![b"SREM", key], self.some(2, member)].concat(),
            5 => args![b"SISMEMBER", key, member(self)],
            6 => args![b"SCARD", key],
            7 => args![b"SMEMBERS", key],
            8..=10 => {
                let name = self.pick(&[b"SINTER", b"SUNION", b"SDIFF"]);
                [args![name, key], self.some(2, |g| g.key(SET))].concat()
            }
            _ => [args![b"SINTERSTORE", key], self.some(3, |g| g.key(SET))].concat(),
        }
    }

    fn zset(&mut self) -> Args {
        let key = self.key(ZSET);
        let member = |g: &mut Self| g.or_long(ZMEMBERS);
        // Writes that add outweigh those that remove, so that sets grow past the small limits.
        match self.below(18) {
            0..=5 => self.zadd(key),
            6 => args![b"ZINCRBY", key, self.score(), member(self)],
            7 => [args![b"ZREM", key], self.some(2, member)].concat(),
            8 => args![b"ZSCORE", key, member(self)],
            9 => args![b"ZCARD", key],
            10 => {
                let name = self.pick(&[b"ZRANK", b"ZREVRANK"]);
                args![name, key, member(self)]
            }
            11 | 12 => {
                let mut c = args![b"ZRANGE", key, self.index(), self.index()];
                for opt in [&b"REV"[..], b"WITHSCORES"] {
                    if self.one_in(2) {
                        c.push(opt.to_vec());
                    }
                }
                c
            }
            13 | 14 => {
                let mut c = args![b"ZRANGEBYSCORE", key, self.pick(BOUNDS), self.pick(BOUNDS)];
                if self.one_in(2) {
                    c.push(b"WITHSCORES".to_vec());
                }
                if self.one_in(3) {
                    c.extend([b"LIMIT".to_vec(), self.int(-1, 3), self.int(-1, 3)]);
                }
                c
            }
            15 => args![b"ZCOUNT", key, self.pick(BOUNDS), self.pick(BOUNDS)],
            16 => {
                let name = self.pick(&[b"ZPOPMIN", b"ZPOPMAX"]);
                match self.one_in(2) {
                    true => args![name, key],
                    false => args![name, key, self.count()],
                }
            }
            _ => args![b"ZREMRANGEBYRANK", key, self.index(), self.index()],
        }
    }

    /// A bit offset: mostly within a few bytes, now and then out of range.
    fn bit_offset(&mut self) -> Vec<u8> {
        match self.below(16) {
            0 => self.pick(&[b"-1", b"4294967296", b"x"]),
            1 => b"300".to_vec(),
            _ => self.int(0, 40),
        }
    }

    /// A stream ID for XADD: explicit, or `ms-*`, over a small range so that adds collide.
    fn stream_id(&mut self) -> Vec<u8> {
        match self.below(10) {
            0 => b"0-0".to_vec(),
            1..=3 => format!("{}-*", self.below(8)).into_bytes(),
            _ => format!("{}-{}", self.below(8), self.below(3)).into_bytes(),
        }
    }

    /// A range bound of XRANGE: `-`, `+`, an ID, a bare ms, or exclusive.
    fn stream_bound(&mut self) -> Vec<u8> {
        match self.below(8) {
            0 => b"-".to_vec(),
            1 => b"+".to_vec(),
            2 => format!("{}", self.below(8)).into_bytes(),
            3 => format!("({}-{}", self.below(8), self.below(3)).into_bytes(),
            4 => b"(0-0".to_vec(),
            _ => format!("{}-{}", self.below(8), self.below(3)).into_bytes(),
        }
    }

    fn stream(&mut self) -> Args {
        let key = self.key(STREAM);
        match self.below(12) {
            0..=4 => {
                let mut c = args![b"XADD", key];
                if self.one_in(5) {
                    c.extend(args![b"MAXLEN", b"=", self.int(0, 4)]);
                }
                c.push(self.stream_id());
                // Mostly the same fields, so that entries share their node's field names.
                match self.one_in(3) {
                    true => {
                        for _ in 0..1 + self.below(3) {
                            let pair = [self.or_long(FIELDS), self.value()];
                            c.extend(pair);
                        }
                    }
                    false => c.extend(args![b"f1", self.value(), b"f2", self.value()]),
                }
                c
            }
            5 => args![b"XLEN", key],
            6 | 7 => {
                let name: &[u8] = if self.one_in(2) {
                    b"XRANGE"
                } else {
                    b"XREVRANGE"
                };
                let mut c = args![name, key, self.stream_bound(), self.stream_bound()];
                if self.one_in(2) {
                    c.extend(args![b"COUNT", self.int(-1, 3)]);
                }
                c
            }
            8 | 9 => {
                let ids = self.some(3, |g| format!("{}-{}", g.below(8), g.below(3)).into_bytes());
                [args![b"XDEL", key], ids].concat()
            }
            10 => args![b"XTRIM", key, b"MAXLEN", b"=", self.int(0, 4)],
            _ => {
                let min = format!("{}-{}", self.below(8), self.below(3));
                args![b"XTRIM", key, b"MINID", b"=", min]
            }
        }
    }

    fn zadd(&mut self, key: Vec<u8>) -> Args {
        let mut c = args![b"ZADD", key];
        let mut incr = false;
        for opt in [&b"NX"[..], b"XX", b"GT", b"LT", b"CH", b"INCR"] {
            if self.one_in(7) {
                incr |= opt == b"INCR";
                c.push(opt.to_vec());
            }
        }
        let pairs = if incr && !self.one_in(8) {
            1
        } else {
            1 + self.below(3)
        };
        for _ in 0..pairs {
            let score = self.score();
            c.extend([score, self.or_long(ZMEMBERS)]);
        }
        c
    }
}
