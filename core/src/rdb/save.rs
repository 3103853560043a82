//! Writing RDB: the [`Encoder`] turns keys into RDB bytes for a [`Sink`], one key at a time, so a
//! host can write a file incrementally; [`dump`] builds a DUMP payload.

use alloc::vec::Vec;
use bumpalo::Bump;

use super::{crc64, kind, len, lzf, opcode, Sink, RDB_VERSION};
use crate::types::set::Member;
use crate::types::string::{parse_canonical_i64, IntBuf};
use crate::types::Value;

/// How values are written.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// `rdbcompression`: strings longer than 20 bytes LZF-compressed when that saves 4 bytes.
    pub compression: bool,
    /// `rdbchecksum`: a CRC-64 at the end (zero when off).
    pub checksum: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            compression: true,
            checksum: true,
        }
    }
}

/// Strings shorter than this are never compressed.
const COMPRESS_MIN_LEN: usize = 21;
/// Strings longer than this are never tried as integers.
const INT_ENCODE_MAX_LEN: usize = 11;

pub struct Encoder<S: Sink> {
    sink: S,
    crc: u64,
    opts: Options,
    scratch: Bump,
    /// Bytes written so far.
    written: u64,
}

impl<S: Sink> Encoder<S> {
    pub fn new(sink: S, opts: Options) -> Self {
        Encoder {
            sink,
            crc: 0,
            opts,
            scratch: Bump::new(),
            written: 0,
        }
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The sink, for the host to flush between keys.
    pub fn sink_mut(&mut self) -> &mut S {
        &mut self.sink
    }

    pub(super) fn raw(&mut self, b: &[u8]) {
        if self.opts.checksum {
            self.crc = crc64::update(self.crc, b);
        }
        self.written += b.len() as u64;
        self.sink.put(b);
    }

    /// The magic, the version and the auxiliary fields.
    pub fn header(&mut self, aux: &[(&[u8], &[u8])]) {
        self.raw(b"REDIS0010");
        for (k, v) in aux {
            self.raw(&[opcode::AUX]);
            self.string(k);
            self.string(v);
        }
    }

    /// Starts database `db`, which holds `keys` keys, `expires` of them with a TTL.
    pub fn select_db(&mut self, db: usize, keys: usize, expires: usize) {
        self.raw(&[opcode::SELECTDB]);
        self.len(db as u64);
        self.raw(&[opcode::RESIZEDB]);
        self.len(keys as u64);
        self.len(expires as u64);
    }

    /// One key: its expire time (absolute unix ms) if any, its type, name and value.
    pub fn key(&mut self, key: &[u8], value: &Value, expire_at_ms: Option<u64>) {
        if let Some(at) = expire_at_ms {
            self.raw(&[opcode::EXPIRETIME_MS]);
            self.raw(&at.to_le_bytes());
        }
        self.raw(&[type_of(value)]);
        self.string(key);
        self.value_body(value);
        self.scratch.reset();
    }

    /// A SELECTDB without RESIZEDB (a snapshot switching databases mid-stream).
    pub fn select_only(&mut self, db: usize) {
        self.raw(&[opcode::SELECTDB]);
        self.len(db as u64);
    }

    /// Bytes another encoder produced (records written ahead of a snapshot's walk), counted in
    /// this one's checksum.
    pub fn raw_bytes(&mut self, b: &[u8]) {
        self.raw(b);
    }

    /// The sink, without EOF or checksum (records for another encoder to pass on).
    pub fn into_sink(self) -> S {
        self.sink
    }

    /// EOF and the checksum; gives the sink back.
    /// A function library's source code (a FUNCTION2 record; after the header, before the data).
    pub fn function(&mut self, code: &[u8]) {
        self.raw(&[opcode::FUNCTION2]);
        self.string(code);
    }

    pub fn finish(mut self) -> S {
        self.raw(&[opcode::EOF]);
        let crc = if self.opts.checksum { self.crc } else { 0 };
        self.sink.put(&crc.to_le_bytes());
        self.sink
    }

    pub(super) fn len(&mut self, n: u64) {
        if n < 1 << 6 {
            self.raw(&[len::BITS_6 << 6 | n as u8]);
        } else if n < 1 << 14 {
            self.raw(&[len::BITS_14 << 6 | (n >> 8) as u8, n as u8]);
        } else if n <= u64::from(u32::MAX) {
            self.raw(&[len::BITS_32]);
            self.raw(&(n as u32).to_be_bytes());
        } else {
            self.raw(&[len::BITS_64]);
            self.raw(&n.to_be_bytes());
        }
    }

    /// A string: as an integer when it is a small one, LZF-compressed when that pays, else plain.
    pub(super) fn string(&mut self, s: &[u8]) {
        if s.len() <= INT_ENCODE_MAX_LEN {
            if let Some(n) = parse_canonical_i64(s) {
                if self.int_string(n) {
                    return;
                }
            }
        }
        if self.opts.compression && s.len() >= COMPRESS_MIN_LEN {
            if let Some(z) = lzf::compress(s, s.len() - 4) {
                self.raw(&[len::ENCODED << 6 | len::ENC_LZF]);
                self.len(z.len() as u64);
                self.len(s.len() as u64);
                self.raw(&z);
                return;
            }
        }
        self.len(s.len() as u64);
        self.raw(s);
    }

    /// An integer in the 8, 16 or 32-bit string encoding; false when it does not fit.
    fn int_string(&mut self, n: i64) -> bool {
        let enc = len::ENCODED << 6;
        if let Ok(v) = i8::try_from(n) {
            self.raw(&[enc | len::ENC_INT8, v as u8]);
        } else if let Ok(v) = i16::try_from(n) {
            self.raw(&[enc | len::ENC_INT16]);
            self.raw(&v.to_le_bytes());
        } else if let Ok(v) = i32::try_from(n) {
            self.raw(&[enc | len::ENC_INT32]);
            self.raw(&v.to_le_bytes());
        } else {
            return false;
        }
        true
    }

    /// A string given as an integer.
    pub(super) fn int_as_string(&mut self, n: i64) {
        if !self.int_string(n) {
            let mut buf = IntBuf::default();
            let s = crate::types::string::format_i64(n, &mut buf);
            self.len(s.len() as u64);
            self.raw(s);
        }
    }

    /// The value's body (after its type byte).
    fn value_body(&mut self, value: &Value) {
        match value {
            Value::Str(s) => match s.as_i64() {
                Some(n) => self.int_as_string(n),
                None => self.string(&s.to_vec()),
            },
            Value::Lz(z) => self.string(&z.to_vec()),
            Value::List(l) => {
                self.len(l.len() as u64);
                let scratch = core::mem::take(&mut self.scratch);
                for item in l.iter(&scratch) {
                    self.string(item);
                }
                self.scratch = scratch;
            }
            Value::Set(s) => {
                self.len(s.len() as u64);
                for m in s.iter() {
                    match m {
                        Member::Int(n) => self.int_as_string(n),
                        Member::Bytes(b) => self.string(b),
                    }
                }
            }
            Value::Hash(h) => {
                self.len(h.len() as u64);
                for (f, v) in h.iter() {
                    self.string(f);
                    self.string(v);
                }
            }
            Value::ZSet(z) => {
                self.len(z.len() as u64);
                let scratch = core::mem::take(&mut self.scratch);
                for (m, score) in z.iter(&scratch) {
                    self.string(m);
                    self.raw(&score.to_le_bytes());
                }
                self.scratch = scratch;
            }
            Value::Stream(s) => super::stream::save(self, s),
        }
    }
}

/// The type byte Ember writes a value with.
fn type_of(value: &Value) -> u8 {
    match value {
        Value::Str(_) | Value::Lz(_) => kind::STRING,
        Value::List(_) => kind::LIST,
        Value::Set(_) => kind::SET,
        Value::Hash(_) => kind::HASH,
        Value::ZSet(_) => kind::ZSET_2,
        Value::Stream(_) => kind::STREAM_LISTPACKS_2,
    }
}

/// Writes every database of `ks` that holds keys (keys already expired at `now_ms` left out)
/// between `header` and `finish`: a synchronous save of the whole keyspace.
pub fn save_keyspace<S: Sink>(e: &mut Encoder<S>, ks: &crate::keyspace::Keyspace, now_ms: u64) {
    for (i, db) in ks.dbs().enumerate() {
        if db.is_empty() {
            continue;
        }
        e.select_db(i, db.len(), db.volatile_len());
        for entry in db.table().iter() {
            if crate::keyspace::is_expired(entry, now_ms) {
                continue;
            }
            let at = entry.expire_at_ms();
            let at = (at != crate::table::NO_EXPIRE).then_some(at);
            e.key(entry.key_bytes(), &entry.value(), at);
        }
    }
}

/// A DUMP payload: the type byte and value, the RDB version and a CRC-64 of both.
pub fn dump(value: &Value, compression: bool) -> Vec<u8> {
    let mut e = Encoder::new(
        Vec::new(),
        Options {
            compression,
            checksum: true,
        },
    );
    e.raw(&[type_of(value)]);
    e.value_body(value);
    e.raw(&RDB_VERSION.to_le_bytes());
    let crc = e.crc;
    let mut out = e.sink;
    out.extend_from_slice(&crc.to_le_bytes());
    out
}
