//! The RDB format, version 10 as Redis 7.0 writes it: pure functions over bytes, so that files,
//! DUMP/RESTORE payloads and (later) replication share one codec. The host owns the files.
//!
//! A file is `REDIS0010`, auxiliary fields, then per database a SELECTDB (and RESIZEDB) opcode
//! and its keys (each optionally preceded by its expire time and an LRU or LFU hint, then a type
//! byte, the key and the value), then EOF and a CRC-64 of everything before it. A DUMP payload is
//! one type byte and value, the RDB version (2 bytes) and the CRC-64 (8 bytes).
//!
//! [`save::Encoder`] writes Ember's values in the simplest encodings Redis 7.0 loads (plain
//! lists, sets and hashes, binary-score sorted sets, streams as listpacks); [`load`] reads every
//! encoding Redis 7.0 writes or still loads (LZF and integer strings, quicklists of listpacks or
//! ziplists, intsets, zipmaps, ziplist and listpack hashes and sorted sets, both stream formats),
//! checking every length against the input: a corrupt file is an error with its offset, never a
//! panic or an allocation sized by the file.
//!
//! # Layout
//! - `mod.rs`: opcodes and type bytes, errors, the [`Sink`] the encoder writes to.
//! - `save.rs`: the encoder and DUMP payloads.
//! - `load.rs`: the decoder, whole files into a keyspace, RESTORE payloads.
//! - `stream.rs`: streams and their consumer groups in Redis's listpack layout.
//! - `commands.rs`: keys as the commands that rebuild them (an AOF base without RDB preamble).
//! - `packed.rs`: listpacks (read and written), ziplists, intsets and zipmaps (read).
//! - `lzf.rs`, `crc64.rs`: the string compression and the checksum.

pub mod commands;
pub mod crc64;
pub mod load;
pub mod lzf;
pub mod packed;
pub mod save;
mod stream;

use alloc::string::String;
use alloc::vec::Vec;

/// The RDB version written, and the newest one loaded.
pub const RDB_VERSION: u16 = 10;

/// Opcodes: on-disk codes, fixed forever.
pub mod opcode {
    pub const FUNCTION2: u8 = 245;
    pub const FUNCTION_PRE_GA: u8 = 246;
    pub const MODULE_AUX: u8 = 247;
    pub const IDLE: u8 = 248;
    pub const FREQ: u8 = 249;
    pub const AUX: u8 = 250;
    pub const RESIZEDB: u8 = 251;
    pub const EXPIRETIME_MS: u8 = 252;
    pub const EXPIRETIME: u8 = 253;
    pub const SELECTDB: u8 = 254;
    pub const EOF: u8 = 255;
}

/// Value type bytes: on-disk codes, fixed forever.
pub mod kind {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
}

/// Length prefixes: two top bits of the first byte.
mod len {
    pub const BITS_6: u8 = 0;
    pub const BITS_14: u8 = 1;
    pub const BITS_32: u8 = 0x80;
    pub const BITS_64: u8 = 0x81;
    /// The low six bits say how the string is encoded.
    pub const ENCODED: u8 = 3;
    pub const ENC_INT8: u8 = 0;
    pub const ENC_INT16: u8 = 1;
    pub const ENC_INT32: u8 = 2;
    pub const ENC_LZF: u8 = 3;
}

/// A quicklist node holding one element as is (`LIST_QUICKLIST_2`).
const QUICKLIST_PLAIN: u64 = 1;
/// A quicklist node holding a listpack.
const QUICKLIST_PACKED: u64 = 2;

/// Why a file or payload could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RdbError {
    /// Byte offset in the input where reading failed.
    pub offset: usize,
    pub reason: String,
}

impl core::fmt::Display for RdbError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} at offset {}", self.reason, self.offset)
    }
}

impl core::error::Error for RdbError {}

/// Where an encoder's bytes go: a buffer, or the host's file writer.
pub trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cmd::testing::{Host, NOW_MS};
    use alloc::vec;

    /// A keyspace with every type, small and large encodings, TTLs, and a stream with groups.
    fn filled() -> Host {
        let mut h = Host::new();
        let mut run = |line: &str| {
            let args: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
            h.exec(&args).unwrap_or_else(|e| panic!("{line}: {e}"));
        };
        run("SET s hello");
        run("SET n 12345");
        run("SET big -9223372036854775808");
        run(&alloc::format!("SET long {}", "abcdefgh".repeat(100)));
        run("SET ttl v PX 100000");
        run("RPUSH l a b 3 -4");
        run("SADD si 1 2 3 -7");
        run("SADD ss a b c");
        run("HSET h f1 v1 f2 2");
        run("ZADD z 1 a 2.5 b -inf c");
        run("XADD x 1-1 f v g 1");
        run("XADD x 1-2 f w g 2");
        run("XADD x 5-0 other 007");
        run("XDEL x 1-2");
        run("XGROUP CREATE x g 0");
        run("XREADGROUP GROUP g alice COUNT 1 STREAMS x >");
        run("XGROUP CREATE x g2 $ ENTRIESREAD 3");
        run("XGROUP CREATECONSUMER x g2 bob");
        for i in 0..300 {
            run(&alloc::format!("RPUSH biglist item{i}"));
            run(&alloc::format!("SADD bigset m{i}"));
            run(&alloc::format!("HSET bighash f{i} v{i}"));
            run(&alloc::format!("ZADD bigz {i} m{i}"));
            run(&alloc::format!("XADD bigx {}-0 a {i} b x", i + 1));
        }
        h
    }

    fn digest(h: &Host) -> Vec<(Vec<u8>, Vec<u8>, u64)> {
        let mut out: Vec<_> =
            h.ks.db(0)
                .table()
                .iter()
                .map(|e| {
                    let mut c = Vec::new();
                    e.value().canonical(&mut c);
                    (e.key_bytes().to_vec(), c, e.expire_at_ms())
                })
                .collect();
        out.sort();
        out
    }

    #[test]
    fn a_saved_keyspace_loads_back_equal() {
        let h = filled();
        for opts in [
            save::Options::default(),
            save::Options {
                compression: false,
                checksum: false,
            },
        ] {
            let mut e = save::Encoder::new(Vec::new(), opts);
            e.header(&[(b"redis-ver", b"7.0.15")]);
            save::save_keyspace(&mut e, &h.ks, NOW_MS);
            let file = e.finish();
            let mut back = Host::new();
            let loaded = load::load_file(&file, &mut back.ks, &back.config, NOW_MS).unwrap();
            assert_eq!(loaded.keys, h.ks.db(0).len());
            assert_eq!(digest(&back), digest(&h));
            // Every truncation fails cleanly; so does a flipped byte (the checksum, or a length).
            if opts.checksum {
                for cut in (1..file.len()).step_by(97) {
                    let mut ks = crate::keyspace::Keyspace::new(16, 1);
                    assert!(load::load_file(&file[..cut], &mut ks, &back.config, NOW_MS).is_err());
                }
                let mut bad = file.clone();
                bad[file.len() / 2] ^= 0x20;
                let mut ks = crate::keyspace::Keyspace::new(16, 1);
                assert!(load::load_file(&bad, &mut ks, &back.config, NOW_MS).is_err());
            }
        }
    }

    #[test]
    fn an_lzf_string_claiming_a_huge_length_is_refused_without_allocating_it() {
        // A STRING, LZF-encoded: 100 compressed bytes claiming to expand to 2^40 bytes.
        let mut body = vec![kind::STRING, 0xc3, 0x40, 100, 0x81];
        body.extend_from_slice(&(1u64 << 40).to_be_bytes());
        body.extend_from_slice(&[0u8; 100]);
        let config = crate::cmd::CoreConfig::default();
        let mut b = load::Builder {
            config: &config,
            seed: 1,
        };
        assert!(load::restore_value(&body, &mut b).is_err());
        // Plausible-sized but lying: decoding stops at the data's end.
        let mut body = vec![kind::STRING, 0xc3, 100, 0x5f, 0xff];
        body.extend_from_slice(&[0x1f; 100]);
        assert!(load::restore_value(&body, &mut b).is_err());
    }

    #[test]
    fn mutated_files_fail_cleanly() {
        let h = filled();
        let mut e = save::Encoder::new(
            Vec::new(),
            save::Options {
                compression: true,
                checksum: false,
            },
        );
        e.header(&[]);
        save::save_keyspace(&mut e, &h.ks, NOW_MS);
        let file = e.finish();
        let mut rng = crate::types::set::Rng::new(99);
        for _ in 0..800 {
            let mut bad = file.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bad.len());
                bad[at] = rng.next_u64() as u8;
            }
            // Without a checksum the damage reaches the value decoders: errors, never panics.
            let mut ks = crate::keyspace::Keyspace::new(16, 1);
            let _ = load::load_file(&bad, &mut ks, &h.config, NOW_MS);
        }
    }

    #[test]
    fn a_file_loaded_a_key_at_a_time_loads_the_same() {
        let h = filled();
        let mut e = save::Encoder::new(Vec::new(), save::Options::default());
        e.header(&[]);
        save::save_keyspace(&mut e, &h.ks, NOW_MS);
        let file = e.finish();
        let mut back = Host::new();
        let mut loader = load::Loader::start(&file, NOW_MS).unwrap();
        let mut steps = 0;
        while !loader.step(&file, &mut back.ks, &h.config, 1).unwrap() {
            steps += 1;
            assert!(loader.offset() <= file.len());
        }
        assert!(steps >= h.ks.db(0).len());
        assert_eq!(loader.finish().keys, h.ks.db(0).len());
        assert_eq!(digest(&back), digest(&h));
    }

    #[test]
    fn dump_payloads_restore_and_reject_damage() {
        let h = filled();
        let mut b = load::Builder {
            config: &h.config,
            seed: 1,
        };
        for e in h.ks.db(0).table().iter() {
            let p = save::dump(&e.value(), true);
            let body = load::verify_payload(&p).expect("a fresh payload verifies");
            let v = load::restore_value(body, &mut b).unwrap().unwrap();
            let (mut x, mut y) = (Vec::new(), Vec::new());
            v.canonical(&mut x);
            e.value().canonical(&mut y);
            assert_eq!(x, y);
            let mut bad = p.clone();
            bad[0] ^= 1;
            assert!(load::verify_payload(&bad).is_none());
        }
        // A valid checksum over a corrupt body is an error, never a panic.
        for seed in 0..200u64 {
            let p = save::dump(
                &h.ks
                    .db(0)
                    .table()
                    .iter()
                    .nth((seed % 10) as usize)
                    .unwrap()
                    .value(),
                false,
            );
            let mut body = p[..p.len() - 10].to_vec();
            let at = (seed as usize * 7919) % body.len();
            body[at] = body[at].wrapping_add(1 + seed as u8);
            let _ = load::restore_value(&body, &mut b);
        }
    }
}
