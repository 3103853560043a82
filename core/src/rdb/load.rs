//! Reading RDB: the [`Decoder`] over a byte slice, values of every type and encoding Redis 7.0
//! loads, whole files into a [`Keyspace`] ([`load_file`]) and RESTORE payloads
//! ([`restore_value`]). Every length is checked against what is left of the input before anything
//! is allocated for it.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

use super::packed::{self, Elem};
use super::{
    crc64, kind, len, lzf, opcode, RdbError, QUICKLIST_PACKED, QUICKLIST_PLAIN, RDB_VERSION,
};
use crate::cmd::{parse_f64, CoreConfig};
use crate::keyspace::Keyspace;
use crate::table::NO_EXPIRE;
use crate::types::hash::{Hash, Limits as HashLimits};
use crate::types::list::{End, List};
use crate::types::set::{Growth, Set};
use crate::types::stream::NodeLimits;
use crate::types::string::CompactStr;
use crate::types::zset::{Limits as ZLimits, ZSet};
use crate::types::Value;

/// A cursor over RDB bytes.
pub struct Decoder<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Decoder<'a> {
    pub fn new(buf: &'a [u8]) -> Self {
        Decoder { buf, at: 0 }
    }

    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.at
    }

    pub(super) fn err(&self, reason: &str) -> RdbError {
        RdbError {
            offset: self.at,
            reason: String::from(reason),
        }
    }

    fn left(&self) -> usize {
        self.buf.len() - self.at
    }

    pub(super) fn byte(&mut self) -> Result<u8, RdbError> {
        let b = *self
            .buf
            .get(self.at)
            .ok_or_else(|| self.err("unexpected end of data"))?;
        self.at += 1;
        Ok(b)
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&'a [u8], RdbError> {
        if n > self.left() {
            return Err(self.err("unexpected end of data"));
        }
        let s = &self.buf[self.at..self.at + n];
        self.at += n;
        Ok(s)
    }

    /// A length, or the code of a specially encoded string (`Err` side of the pair).
    fn len_or_encoding(&mut self) -> Result<Result<u64, u8>, RdbError> {
        let b = self.byte()?;
        Ok(match b >> 6 {
            len::BITS_6 => Ok(u64::from(b & 0x3f)),
            len::BITS_14 => Ok(u64::from(b & 0x3f) << 8 | u64::from(self.byte()?)),
            len::ENCODED => Err(b & 0x3f),
            _ => match b {
                len::BITS_32 => Ok(u64::from(u32::from_be_bytes(self.array()?))),
                len::BITS_64 => Ok(u64::from_be_bytes(self.array()?)),
                _ => return Err(self.err("unknown length encoding")),
            },
        })
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], RdbError> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    pub(super) fn len(&mut self) -> Result<u64, RdbError> {
        self.len_or_encoding()?
            .map_err(|_| self.err("encoded string where a length was expected"))
    }

    /// A count of items that each take at least one byte: never more than what is left.
    fn count(&mut self) -> Result<usize, RdbError> {
        let n = self.len()?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n <= self.left())
            .ok_or_else(|| self.err("length past the end of the data"))
    }

    /// A string: plain, an integer, or LZF-compressed.
    pub(super) fn string(&mut self) -> Result<Cow<'a, [u8]>, RdbError> {
        match self.len_or_encoding()? {
            Ok(n) => {
                let n = usize::try_from(n).map_err(|_| self.err("string too long"))?;
                Ok(Cow::Borrowed(self.take(n)?))
            }
            Err(len::ENC_INT8) => Ok(int_bytes(i64::from(self.byte()? as i8))),
            Err(len::ENC_INT16) => Ok(int_bytes(i64::from(i16::from_le_bytes(self.array()?)))),
            Err(len::ENC_INT32) => Ok(int_bytes(i64::from(i32::from_le_bytes(self.array()?)))),
            Err(len::ENC_LZF) => {
                let clen = self.count()?;
                let n = usize::try_from(self.len()?).map_err(|_| self.err("string too long"))?;
                // LZF expands at most about 130 times; a claimed length past that is a lie.
                if n > clen.saturating_mul(LZF_EXPANSION_MAX).max(64) {
                    return Err(self.err("compressed string length is implausible"));
                }
                let z = self.take(clen)?;
                lzf::decompress(z, n)
                    .map(Cow::Owned)
                    .ok_or_else(|| self.err("corrupt LZF data"))
            }
            Err(_) => Err(self.err("unknown string encoding")),
        }
    }

    pub(super) fn millis(&mut self) -> Result<u64, RdbError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    fn binary_double(&mut self) -> Result<f64, RdbError> {
        Ok(f64::from_le_bytes(self.array()?))
    }

    /// A score in the old text form (`ZSET`): a length byte, with 253/254/255 for NaN and
    /// the infinities.
    fn text_double(&mut self) -> Result<f64, RdbError> {
        match self.byte()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let s = self.take(usize::from(n))?;
                parse_f64(s).ok_or_else(|| self.err("bad score"))
            }
        }
    }
}

/// How much larger than its compressed form LZF data can be (a 3-byte back reference makes 264).
const LZF_EXPANSION_MAX: usize = 90;

fn int_bytes(n: i64) -> Cow<'static, [u8]> {
    let mut buf = crate::types::string::IntBuf::default();
    Cow::Owned(crate::types::string::format_i64(n, &mut buf).to_vec())
}

/// What building values consults: the encoding limits and a source of table seeds.
pub struct Builder<'c> {
    pub config: &'c CoreConfig,
    pub seed: u64,
}

impl Builder<'_> {
    fn next_seed(&mut self) -> u64 {
        self.seed = self
            .seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.seed
    }

    fn hash_limits(&mut self) -> HashLimits {
        HashLimits {
            entries_max: self.config.hash_max_listpack_entries,
            value_max: self.config.hash_max_listpack_value,
            table_seed: self.next_seed(),
        }
    }

    fn zset_limits(&mut self) -> ZLimits {
        ZLimits {
            entries_max: self.config.zset_max_listpack_entries,
            value_max: self.config.zset_max_listpack_value,
            seed: self.next_seed(),
        }
    }

    fn growth(&mut self) -> Growth {
        Growth {
            intset_entries_max: self.config.set_max_intset_entries,
            listpack_entries_max: self.config.set_max_listpack_entries,
            listpack_value_max: self.config.set_max_listpack_value,
            seed: self.next_seed(),
        }
    }
}

/// A value under construction from pairs or members, failing on duplicates as Redis does.
fn dup(d: &Decoder<'_>, what: &str) -> RdbError {
    d.err(&format!("duplicate {what} detected"))
}

fn score_of(d: &Decoder<'_>, e: &Elem<'_>) -> Result<f64, RdbError> {
    match e {
        Elem::Int(n) => Ok(*n as f64),
        Elem::Bytes(b) => parse_f64(b).ok_or_else(|| d.err("bad score")),
    }
}

/// Reads one value of type `ty`; `Ok(None)` for an empty collection, which Redis skips.
pub fn value(d: &mut Decoder<'_>, ty: u8, b: &mut Builder<'_>) -> Result<Option<Value>, RdbError> {
    let cfg = b.config;
    let v = match ty {
        kind::STRING => Value::Str(CompactStr::from_value(&d.string()?)),
        kind::LIST => {
            let n = d.count()?;
            let mut l = List::with_compress_depth(cfg.list_compress_depth);
            for _ in 0..n {
                l.push(End::Tail, &d.string()?);
            }
            l.grew(cfg.list_max_listpack_size);
            Value::List(Box::new(l))
        }
        kind::LIST_ZIPLIST | kind::LIST_QUICKLIST | kind::LIST_QUICKLIST_2 => {
            let mut l = List::with_compress_depth(cfg.list_compress_depth);
            let nodes = if ty == kind::LIST_ZIPLIST {
                1
            } else {
                d.count()?
            };
            for _ in 0..nodes {
                let container = match ty {
                    kind::LIST_QUICKLIST_2 => d.len()?,
                    _ => QUICKLIST_PACKED,
                };
                let blob = d.string()?;
                match container {
                    QUICKLIST_PLAIN => l.push(End::Tail, &blob),
                    QUICKLIST_PACKED => {
                        let elems = match ty {
                            kind::LIST_QUICKLIST_2 => packed::listpack(&blob),
                            _ => packed::ziplist(&blob),
                        }
                        .ok_or_else(|| d.err("corrupt list node"))?;
                        if elems.is_empty() {
                            return Err(d.err("empty list node"));
                        }
                        let mut buf = Default::default();
                        for e in elems {
                            l.push(End::Tail, e.bytes(&mut buf));
                        }
                    }
                    _ => return Err(d.err("unknown quicklist container")),
                }
            }
            l.grew(cfg.list_max_listpack_size);
            Value::List(Box::new(l))
        }
        kind::SET | kind::SET_INTSET => {
            let mut s = Set::default();
            let growth = b.growth();
            if ty == kind::SET {
                for _ in 0..d.count()? {
                    if !s.insert(&d.string()?, growth) {
                        return Err(dup(d, "set members"));
                    }
                }
            } else {
                let blob = d.string()?;
                let ints = packed::intset(&blob).ok_or_else(|| d.err("corrupt intset"))?;
                let mut buf = Default::default();
                for n in ints {
                    let m = crate::types::string::format_i64(n, &mut buf);
                    if !s.insert(m, growth) {
                        return Err(dup(d, "set members"));
                    }
                }
            }
            Value::Set(Box::new(s))
        }
        kind::HASH => {
            let mut h = Hash::default();
            let limits = b.hash_limits();
            for _ in 0..d.count()? {
                let f = d.string()?;
                let v = d.string()?;
                if !h.set(&f, &v, &limits) {
                    return Err(dup(d, "hash fields"));
                }
            }
            Value::Hash(h)
        }
        kind::HASH_ZIPMAP | kind::HASH_ZIPLIST | kind::HASH_LISTPACK => {
            let blob = d.string()?;
            let mut h = Hash::default();
            let limits = b.hash_limits();
            let mut add = |f: &[u8], v: &[u8]| h.set(f, v, &limits);
            let ok = match ty {
                kind::HASH_ZIPMAP => packed::zipmap(&blob)
                    .ok_or_else(|| d.err("corrupt zipmap"))?
                    .into_iter()
                    .all(|(f, v)| add(f, v)),
                _ => {
                    let elems = match ty {
                        kind::HASH_ZIPLIST => packed::ziplist(&blob),
                        _ => packed::listpack(&blob),
                    }
                    .filter(|e| e.len() % 2 == 0)
                    .ok_or_else(|| d.err("corrupt packed hash"))?;
                    let (mut fb, mut vb) = (Default::default(), Default::default());
                    elems
                        .chunks_exact(2)
                        .all(|p| add(p[0].bytes(&mut fb), p[1].bytes(&mut vb)))
                }
            };
            if !ok {
                return Err(dup(d, "hash fields"));
            }
            Value::Hash(h)
        }
        kind::ZSET | kind::ZSET_2 => {
            let mut z = ZSet::new();
            let limits = b.zset_limits();
            for _ in 0..d.count()? {
                let m = d.string()?;
                let score = match ty {
                    kind::ZSET_2 => d.binary_double()?,
                    _ => d.text_double()?,
                };
                if score.is_nan() {
                    return Err(d.err("NaN score"));
                }
                if !z.insert(&m, score, &limits) {
                    return Err(dup(d, "sorted set members"));
                }
            }
            Value::ZSet(z)
        }
        kind::ZSET_ZIPLIST | kind::ZSET_LISTPACK => {
            let blob = d.string()?;
            let elems = match ty {
                kind::ZSET_ZIPLIST => packed::ziplist(&blob),
                _ => packed::listpack(&blob),
            }
            .filter(|e| e.len() % 2 == 0)
            .ok_or_else(|| d.err("corrupt packed sorted set"))?;
            let mut z = ZSet::new();
            let limits = b.zset_limits();
            let mut buf = Default::default();
            for p in elems.chunks_exact(2) {
                let score = score_of(d, &p[1])?;
                if !z.insert(p[0].bytes(&mut buf), score, &limits) {
                    return Err(dup(d, "sorted set members"));
                }
            }
            Value::ZSet(z)
        }
        kind::STREAM_LISTPACKS | kind::STREAM_LISTPACKS_2 => {
            let limits = NodeLimits {
                bytes_max: cfg.stream_node_max_bytes,
                entries_max: cfg.stream_node_max_entries,
            };
            // A stream is kept even when empty: it holds its last ID and groups.
            return Ok(Some(Value::Stream(Box::new(super::stream::load(
                d, ty, limits,
            )?))));
        }
        kind::MODULE | kind::MODULE_2 => return Err(d.err("module values are not supported")),
        _ => return Err(d.err(&format!("unknown value type {ty}"))),
    };
    let empty = match &v {
        Value::List(l) => l.is_empty(),
        Value::Set(s) => s.is_empty(),
        Value::Hash(h) => h.is_empty(),
        Value::ZSet(z) => z.is_empty(),
        _ => false,
    };
    Ok((!empty).then_some(v))
}

/// Checks a DUMP payload's version and checksum and gives its body (type byte and value).
pub fn verify_payload(p: &[u8]) -> Option<&[u8]> {
    if p.len() < 10 {
        return None;
    }
    let (body, footer) = p.split_at(p.len() - 10);
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return None;
    }
    let crc = u64::from_le_bytes(footer[2..].try_into().ok()?);
    (crc64::update(0, &p[..p.len() - 8]) == crc).then_some(body)
}

/// The value of a verified DUMP payload body; `Ok(None)` for an empty collection.
pub fn restore_value(body: &[u8], b: &mut Builder<'_>) -> Result<Option<Value>, RdbError> {
    let mut d = Decoder::new(body);
    let ty = d.byte()?;
    value(&mut d, ty, b)
}

/// What loading a file found.
#[derive(Debug, Default)]
pub struct Loaded {
    pub keys: usize,
    /// Keys whose TTL had passed, not loaded.
    pub expired: usize,
    /// Empty collections, skipped as Redis skips them.
    pub empty: usize,
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub version: u16,
    /// Where the file ended (after its checksum): an AOF base may go on with commands.
    pub end: usize,
    /// Things skipped that the host may want to log (module data).
    pub notes: Vec<String>,
    /// The function libraries' source code (Redis 7's FUNCTION2 records), for the host to load.
    pub functions: Vec<Vec<u8>>,
}

/// Skips a module's serialized value (opcodes until its EOF).
fn skip_module_value(d: &mut Decoder<'_>) -> Result<(), RdbError> {
    loop {
        match d.len()? {
            0 => return Ok(()),
            1 | 2 => {
                d.len()?;
            }
            3 => {
                d.take(4)?;
            }
            4 => {
                d.take(8)?;
            }
            5 => {
                d.string()?;
            }
            _ => return Err(d.err("unknown module opcode")),
        }
    }
}

/// Loads an RDB file held in `buf` into `ks` (which should be empty), checking its checksum.
/// Keys already expired at `now_ms` are skipped.
pub fn load_file(
    buf: &[u8],
    ks: &mut Keyspace,
    config: &CoreConfig,
    now_ms: u64,
) -> Result<Loaded, RdbError> {
    let mut loader = Loader::start(buf, now_ms)?;
    while !loader.step(buf, ks, config, usize::MAX)? {}
    Ok(loader.finish())
}

/// An RDB file loaded a slice at a time ([`Loader::step`]), so a host can serve requests (with
/// `-LOADING`) meanwhile. It keeps its place in the file, not the file: each step is given the
/// same bytes.
pub struct Loader {
    at: usize,
    db: usize,
    expire_at: Option<u64>,
    now_ms: u64,
    seed: u64,
    loaded: Loaded,
}

impl Loader {
    /// Checks the magic and version at the start of `buf`.
    pub fn start(buf: &[u8], now_ms: u64) -> Result<Loader, RdbError> {
        let mut d = Decoder::new(buf);
        let magic = d.take(9)?;
        if &magic[..5] != b"REDIS" {
            return Err(RdbError {
                offset: 0,
                reason: "wrong signature trying to load DB from file".into(),
            });
        }
        let version = core::str::from_utf8(&magic[5..])
            .ok()
            .and_then(|v| v.parse::<u16>().ok())
            .filter(|v| (1..=RDB_VERSION).contains(v))
            .ok_or_else(|| d.err("can't handle this RDB format version"))?;
        Ok(Loader {
            at: d.offset(),
            db: 0,
            expire_at: None,
            now_ms,
            seed: now_ms ^ 0x5bd1_e995,
            loaded: Loaded {
                version,
                ..Loaded::default()
            },
        })
    }

    /// Bytes read so far.
    pub fn offset(&self) -> usize {
        self.at
    }

    /// What was loaded (after the step that returned true).
    pub fn finish(self) -> Loaded {
        self.loaded
    }

    /// Loads up to `keys_max` more keys; true once the file's end (and checksum) is reached.
    pub fn step(
        &mut self,
        buf: &[u8],
        ks: &mut Keyspace,
        config: &CoreConfig,
        keys_max: usize,
    ) -> Result<bool, RdbError> {
        let mut d = Decoder { buf, at: self.at };
        let mut builder = Builder {
            config,
            seed: self.seed,
        };
        let r = self.run(&mut d, &mut builder, ks, keys_max);
        self.at = d.offset();
        self.seed = builder.seed;
        r
    }

    fn run(
        &mut self,
        d: &mut Decoder<'_>,
        builder: &mut Builder<'_>,
        ks: &mut Keyspace,
        keys_max: usize,
    ) -> Result<bool, RdbError> {
        let now_s = (self.now_ms / 1000) as u32;
        let mut keys = 0usize;
        while keys < keys_max {
            let op = d.byte()?;
            match op {
                opcode::EXPIRETIME_MS => self.expire_at = Some(d.millis()?),
                opcode::EXPIRETIME => {
                    self.expire_at = Some(u64::from(u32::from_le_bytes(d.array()?)) * 1000)
                }
                opcode::FREQ => {
                    d.byte()?;
                }
                opcode::IDLE => {
                    d.len()?;
                }
                opcode::SELECTDB => {
                    let n = d.len()?;
                    self.db = usize::try_from(n)
                        .ok()
                        .filter(|&n| n < ks.db_count())
                        .ok_or_else(|| d.err("the file uses more databases than configured"))?;
                }
                opcode::RESIZEDB => {
                    d.len()?;
                    d.len()?;
                }
                opcode::AUX => {
                    let k = d.string()?.into_owned();
                    let v = d.string()?.into_owned();
                    self.loaded.aux.push((k, v));
                }
                opcode::MODULE_AUX => {
                    d.len()?;
                    d.len()?;
                    d.len()?;
                    skip_module_value(d)?;
                    self.loaded
                        .notes
                        .push("skipped module auxiliary data".into());
                }
                opcode::FUNCTION2 => {
                    let code = d.string()?.into_owned();
                    self.loaded.functions.push(code);
                }
                opcode::FUNCTION_PRE_GA => {
                    return Err(d.err("pre-release function format not supported"))
                }
                opcode::EOF => {
                    if self.loaded.version >= 5 {
                        let end = d.offset();
                        let stored = d.millis()?;
                        if stored != 0 && crc64::update(0, &d.buf[..end]) != stored {
                            return Err(RdbError {
                                offset: end,
                                reason: "wrong RDB checksum".into(),
                            });
                        }
                    }
                    self.loaded.end = d.offset();
                    return Ok(true);
                }
                ty => {
                    keys += 1;
                    let key = d.string()?;
                    let at = self.expire_at.take();
                    let Some(value) = value(d, ty, builder)? else {
                        self.loaded.empty += 1;
                        continue;
                    };
                    if at.is_some_and(|at| at <= self.now_ms) {
                        self.loaded.expired += 1;
                        continue;
                    }
                    let target = ks.db_mut(self.db);
                    if target.table().get(&key).is_some() {
                        return Err(d.err("duplicate key"));
                    }
                    target.insert_entry(&key, value, at.unwrap_or(NO_EXPIRE), now_s);
                    self.loaded.keys += 1;
                }
            }
        }
        Ok(false)
    }
}
