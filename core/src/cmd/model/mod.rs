//! A reference model of the keyspace for model-based testing: plain `BTreeMap`, `VecDeque` and
//! `BTreeSet` values, an interpreter that answers a subset of the string, bitmap, list, hash, set,
//! sorted-set and stream commands with the RESP2 bytes Redis 7.0 sends, and a generator of random commands over
//! a small alphabet of keys, fields, members and scores, so that commands collide, keys change type
//! and WRONGTYPE is common.
//!
//! [`run`] sends each generated command to the model and to an executor of Ember's real command
//! table and compares the replies byte for byte; replies whose order Redis leaves unspecified
//! (SMEMBERS, HGETALL, SINTER, SUNION, SDIFF) are sorted first ([`normalise`]). After the sequence it
//! reads every key back whole. [`config`] shrinks the compact-encoding limits in most sequences so
//! that both encodings of every type, and the conversions between them, are exercised.
//!
//! Randomness comes from a [`Source`]: a seeded xorshift in the unit test, the fuzzer's bytes in
//! `fuzz/fuzz_targets/model.rs`. The module exists for tests and under the `fuzz-model` feature only.
//!
//! # Layout
//! - `mod.rs`: the model's values, the string, list, hash and set commands, reply encoding, and the
//!   driver ([`run`], [`step`], [`normalise`]).
//! - `zset.rs`: the sorted-set commands.
//! - `stream.rs`: the stream and bitmap commands.
//! - `gen.rs`: the sources of choices, [`config`] and the command generator ([`command`]).
//! - `tests.rs`: Ember against the model, and the model against hand-checked Redis replies.
//!
//! Scores are integers, halves and infinities, so that Redis's `%.17g` and Ember's shortest
//! formatting agree by construction; that formatting difference is not what this model tests.

use alloc::collections::{BTreeMap, BTreeSet, VecDeque};
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

use super::{CmdError, CoreConfig};
use crate::reply::{parse_reply, Reply};

mod gen;
mod stream;
#[cfg(test)]
mod tests;
mod zset;

use gen::key_name;
pub use gen::{command, config, FuzzBytes, Source, XorShift, KEYS};

/// One command: its name, then its arguments.
pub type Args = Vec<Vec<u8>>;

/// What a command answers: its RESP2 reply, or the text of its error.
type Answer = Result<Vec<u8>, &'static str>;

/// An executor of Ember's commands: the reply bytes or the command's error.
pub type Exec<'a> = dyn FnMut(&[&[u8]]) -> Result<Vec<u8>, CmdError> + 'a;

const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";
const SYNTAX: &str = "ERR syntax error";
const NOT_INTEGER: &str = "ERR value is not an integer or out of range";
const NOT_FLOAT: &str = "ERR value is not a valid float";
const NOT_POSITIVE: &str = "ERR value is out of range, must be positive";
const OVERFLOW: &str = "ERR increment or decrement would overflow";
const NAN_SCORE: &str = "ERR resulting score is not a number (NaN)";

/// A value as the model keeps it. Collections never stay empty: [`Model::exec`] drops them.
#[derive(Clone, Debug, PartialEq)]
enum Value {
    Str(Vec<u8>),
    List(VecDeque<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    /// Member to score; [`ranked`] gives Redis's order.
    ZSet(BTreeMap<Vec<u8>, f64>),
    /// Never dropped for being empty.
    Stream(stream::Stream),
}

impl Value {
    fn is_empty_collection(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            Value::Stream(_) => false,
        }
    }

    fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }
}

/// The model keyspace (one database, no expiry).
#[derive(Default, Debug)]
pub struct Model {
    db: BTreeMap<Vec<u8>, Value>,
}

/// Read, write and create-if-missing access to one type's values, WRONGTYPE for another type. A
/// created collection that stays empty is dropped after the command.
macro_rules! typed {
    ($read:ident, $write:ident, $make:ident, $variant:ident, $t:ty) => {
        #[allow(dead_code)]
        fn $read(&self, key: &[u8]) -> Result<Option<&$t>, &'static str> {
            match self.db.get(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(WRONGTYPE),
            }
        }

        #[allow(dead_code)]
        fn $write(&mut self, key: &[u8]) -> Result<Option<&mut $t>, &'static str> {
            match self.db.get_mut(key) {
                None => Ok(None),
                Some(Value::$variant(v)) => Ok(Some(v)),
                Some(_) => Err(WRONGTYPE),
            }
        }

        #[allow(dead_code)]
        fn $make(&mut self, key: &[u8]) -> Result<&mut $t, &'static str> {
            let v = self
                .db
                .entry(key.to_vec())
                .or_insert_with(|| Value::$variant(Default::default()));
            match v {
                Value::$variant(v) => Ok(v),
                _ => Err(WRONGTYPE),
            }
        }
    };
}

impl Model {
    pub fn new() -> Self {
        Model::default()
    }

    typed!(str_ref, str_mut, str_make, Str, Vec<u8>);
    typed!(list_ref, list_mut, list_make, List, VecDeque<Vec<u8>>);
    typed!(
        hash_ref,
        hash_mut,
        hash_make,
        Hash,
        BTreeMap<Vec<u8>, Vec<u8>>
    );
    typed!(set_ref, set_mut, set_make, Set, BTreeSet<Vec<u8>>);
    typed!(zset_ref, zset_mut, zset_make, ZSet, BTreeMap<Vec<u8>, f64>);
    typed!(stream_ref, stream_mut, stream_make, Stream, stream::Stream);

    /// The reply Redis 7.0 sends to `args` in RESP2 (an error as `-text\r\n`). `args` must be a
    /// command [`command`] generates: the model panics on anything else.
    pub fn exec(&mut self, args: &[Vec<u8>]) -> Vec<u8> {
        let name = args[0].to_ascii_uppercase();
        let a = &args[1..];
        let answer = self
            .strings(&name, a)
            .or_else(|| self.lists(&name, a))
            .or_else(|| self.hashes(&name, a))
            .or_else(|| self.sets(&name, a))
            .or_else(|| self.zsets(&name, a))
            .or_else(|| self.streams(&name, a))
            .unwrap_or_else(|| panic!("the model has no {}", name.escape_ascii()));
        // Redis deletes a collection with its last element.
        self.db.retain(|_, v| !v.is_empty_collection());
        answer.unwrap_or_else(error)
    }

    /// Commands that read every key back whole, for the end of a sequence.
    pub fn read_back(&self) -> Vec<Args> {
        let mut out = Vec::new();
        for k in 0..KEYS {
            let key = key_name(k);
            out.push(vec![b"TYPE".to_vec(), key.clone()]);
            let read: &[&[u8]] = match self.db.get(&key) {
                None => continue,
                Some(Value::Str(_)) => &[b"GET"],
                Some(Value::List(_)) => &[b"LRANGE", b"0", b"-1"],
                Some(Value::Hash(_)) => &[b"HGETALL"],
                Some(Value::Set(_)) => &[b"SMEMBERS"],
                Some(Value::ZSet(_)) => &[b"ZRANGE", b"0", b"-1", b"WITHSCORES"],
                Some(Value::Stream(_)) => &[b"XRANGE", b"-", b"+"],
            };
            let mut args = vec![read[0].to_vec(), key];
            args.extend(read[1..].iter().map(|a| a.to_vec()));
            out.push(args);
        }
        out
    }

    fn strings(&mut self, name: &[u8], a: &[Vec<u8>]) -> Option<Answer> {
        Some(match name {
            b"SET" => self.set(a),
            b"GET" => self.str_ref(&a[0]).map(|s| opt_bulk(s.map(Vec::as_slice))),
            b"APPEND" => self.str_make(&a[0]).map(|s| {
                s.extend_from_slice(&a[1]);
                int(s.len())
            }),
            b"INCRBY" => self.incrby(a),
            b"DEL" => Ok(int(a
                .iter()
                .filter(|k| self.db.remove(*k).is_some())
                .count())),
            b"EXISTS" => Ok(int(a.iter().filter(|k| self.db.contains_key(*k)).count())),
            b"TYPE" => {
                let name = self.db.get(&a[0]).map_or("none", Value::type_name);
                Ok(format!("+{name}\r\n").into_bytes())
            }
            _ => return None,
        })
    }

    /// SET key value [NX | XX] [GET]
    fn set(&mut self, a: &[Vec<u8>]) -> Answer {
        let (mut nx, mut xx, mut get) = (false, false, false);
        for opt in &a[2..] {
            match opt.to_ascii_uppercase().as_slice() {
                b"NX" if !xx => nx = true,
                b"XX" if !nx => xx = true,
                b"GET" => get = true,
                _ => return Err(SYNTAX),
            }
        }
        let old = match get {
            true => Some(opt_bulk(self.str_ref(&a[0])?.map(Vec::as_slice))),
            false => None,
        };
        let found = self.db.contains_key(&a[0]);
        if (nx && found) || (xx && !found) {
            return Ok(old.unwrap_or_else(|| NIL.to_vec()));
        }
        self.db.insert(a[0].clone(), Value::Str(a[1].clone()));
        Ok(old.unwrap_or_else(|| OK.to_vec()))
    }

    /// INCRBY key increment
    fn incrby(&mut self, a: &[Vec<u8>]) -> Answer {
        let by = parse_i64(&a[1]).ok_or(NOT_INTEGER)?;
        let old = match self.str_ref(&a[0])? {
            None => 0,
            Some(s) => parse_i64(s).ok_or(NOT_INTEGER)?,
        };
        let new = old.checked_add(by).ok_or(OVERFLOW)?;
        let text = format!("{new}").into_bytes();
        self.db.insert(a[0].clone(), Value::Str(text));
        Ok(int_i64(new))
    }

    fn lists(&mut self, name: &[u8], a: &[Vec<u8>]) -> Option<Answer> {
        Some(match name {
            b"LPUSH" | b"RPUSH" => self.list_make(&a[0]).map(|l| {
                for e in &a[1..] {
                    match name {
                        b"LPUSH" => l.push_front(e.clone()),
                        _ => l.push_back(e.clone()),
                    }
                }
                int(l.len())
            }),
            b"LPOP" | b"RPOP" => self.pop(name == b"LPOP", a),
            b"LLEN" => self
                .list_ref(&a[0])
                .map(|l| int(l.map_or(0, VecDeque::len))),
            b"LRANGE" => self.lrange(a),
            b"LINDEX" => self.lindex(a),
            b"LSET" => self.lset(a),
            b"LREM" => self.lrem(a),
            b"LTRIM" => self.ltrim(a),
            b"LINSERT" => self.linsert(a),
            b"LPOS" => self.lpos(a),
            _ => return None,
        })
    }

    /// LPOP/RPOP key [count]
    fn pop(&mut self, left: bool, a: &[Vec<u8>]) -> Answer {
        let count = a.get(1).map(|c| parse_positive(c)).transpose()?;
        let Some(list) = self.list_mut(&a[0])? else {
            return Ok(if count.is_some() { NIL_ARRAY } else { NIL }.to_vec());
        };
        let mut take = || match left {
            true => list.pop_front(),
            false => list.pop_back(),
        };
        Ok(match count {
            None => opt_bulk(take().as_deref()),
            Some(n) => {
                let items: Vec<Vec<u8>> = (0..n).map_while(|_| take()).collect();
                bulks(items.iter().map(Vec::as_slice))
            }
        })
    }

    /// LRANGE key start stop
    fn lrange(&mut self, a: &[Vec<u8>]) -> Answer {
        let (start, stop) = (arg_i64(&a[1])?, arg_i64(&a[2])?);
        let Some(list) = self.list_ref(&a[0])? else {
            return Ok(EMPTY_ARRAY.to_vec());
        };
        Ok(match clamp(list.len(), start, stop) {
            None => EMPTY_ARRAY.to_vec(),
            Some((s, e)) => bulks(list.range(s..=e).map(Vec::as_slice)),
        })
    }

    /// LINDEX key index
    fn lindex(&mut self, a: &[Vec<u8>]) -> Answer {
        let Some(list) = self.list_ref(&a[0])? else {
            return Ok(NIL.to_vec());
        };
        let at = index(list.len(), arg_i64(&a[1])?);
        Ok(opt_bulk(at.and_then(|i| list.get(i)).map(Vec::as_slice)))
    }

    /// LSET key index element
    fn lset(&mut self, a: &[Vec<u8>]) -> Answer {
        let Some(list) = self.list_mut(&a[0])? else {
            return Err("ERR no such key");
        };
        let at = index(list.len(), arg_i64(&a[1])?).ok_or("ERR index out of range")?;
        list[at] = a[2].clone();
        Ok(OK.to_vec())
    }

    /// LREM key count element
    fn lrem(&mut self, a: &[Vec<u8>]) -> Answer {
        let count = arg_i64(&a[1])?;
        let Some(list) = self.list_mut(&a[0])? else {
            return Ok(int(0));
        };
        let mut hits: Vec<usize> = (0..list.len()).filter(|&i| list[i] == a[2]).collect();
        if count < 0 {
            hits.reverse();
        }
        if count != 0 {
            hits.truncate(count.unsigned_abs() as usize);
        }
        hits.sort_unstable();
        for &i in hits.iter().rev() {
            list.remove(i);
        }
        Ok(int(hits.len()))
    }

    /// LTRIM key start stop
    fn ltrim(&mut self, a: &[Vec<u8>]) -> Answer {
        let (start, stop) = (arg_i64(&a[1])?, arg_i64(&a[2])?);
        if let Some(list) = self.list_mut(&a[0])? {
            match clamp(list.len(), start, stop) {
                None => list.clear(),
                Some((s, e)) => {
                    list.truncate(e + 1);
                    list.drain(..s);
                }
            }
        }
        Ok(OK.to_vec())
    }

    /// LINSERT key BEFORE|AFTER pivot element
    fn linsert(&mut self, a: &[Vec<u8>]) -> Answer {
        let after = match a[1].to_ascii_uppercase().as_slice() {
            b"AFTER" => true,
            b"BEFORE" => false,
            _ => return Err(SYNTAX),
        };
        let Some(list) = self.list_mut(&a[0])? else {
            return Ok(int(0));
        };
        let Some(at) = list.iter().position(|e| *e == a[2]) else {
            return Ok(int_i64(-1));
        };
        list.insert(at + after as usize, a[3].clone());
        Ok(int(list.len()))
    }

    /// LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]
    fn lpos(&mut self, a: &[Vec<u8>]) -> Answer {
        let (mut rank, mut count, mut maxlen) = (1i64, None, 0usize);
        for opt in a[2..].chunks(2) {
            let n = arg_i64(&opt[1])?;
            match opt[0].to_ascii_uppercase().as_slice() {
                b"RANK" if n == 0 => return Err(RANK_ZERO),
                b"RANK" => rank = n,
                b"COUNT" if n < 0 => return Err("ERR COUNT can't be negative"),
                b"COUNT" => count = Some(n as usize),
                b"MAXLEN" if n < 0 => return Err("ERR MAXLEN can't be negative"),
                b"MAXLEN" => maxlen = n as usize,
                _ => return Err(SYNTAX),
            }
        }
        let Some(list) = self.list_ref(&a[0])? else {
            return Ok(if count.is_some() { EMPTY_ARRAY } else { NIL }.to_vec());
        };
        let len = list.len();
        let scan = len.min(if maxlen == 0 { len } else { maxlen });
        let at = |i: usize| if rank > 0 { i } else { len - 1 - i };
        let found = (0..scan).map(at).filter(|&i| list[i] == a[1]);
        let mut found = found.skip(rank.unsigned_abs() as usize - 1);
        Ok(match count {
            None => found.next().map_or(NIL.to_vec(), int),
            Some(0) => array(found.map(int).collect()),
            Some(n) => array(found.take(n).map(int).collect()),
        })
    }

    fn hashes(&mut self, name: &[u8], a: &[Vec<u8>]) -> Option<Answer> {
        Some(match name {
            b"HSET" => self.hash_make(&a[0]).map(|h| {
                let pairs = a[1..].chunks(2);
                int(pairs
                    .filter(|p| h.insert(p[0].clone(), p[1].clone()).is_none())
                    .count())
            }),
            b"HGET" => self
                .hash_ref(&a[0])
                .map(|h| opt_bulk(h.and_then(|h| h.get(&a[1])).map(Vec::as_slice))),
            b"HDEL" => self.hash_mut(&a[0]).map(|h| {
                int(h.map_or(0, |h| {
                    a[1..].iter().filter(|f| h.remove(*f).is_some()).count()
                }))
            }),
            b"HLEN" => self
                .hash_ref(&a[0])
                .map(|h| int(h.map_or(0, BTreeMap::len))),
            b"HEXISTS" => self
                .hash_ref(&a[0])
                .map(|h| int(h.is_some_and(|h| h.contains_key(&a[1])) as usize)),
            b"HINCRBY" => self.hincrby(a),
            b"HGETALL" => self.hash_ref(&a[0]).map(|h| {
                let pairs = h.into_iter().flatten();
                bulks(pairs.flat_map(|(f, v)| [f.as_slice(), v.as_slice()]))
            }),
            _ => return None,
        })
    }

    /// HINCRBY key field increment
    fn hincrby(&mut self, a: &[Vec<u8>]) -> Answer {
        let by = arg_i64(&a[2])?;
        let hash = self.hash_make(&a[0])?;
        let old = match hash.get(&a[1]) {
            None => 0,
            Some(v) => parse_i64(v).ok_or("ERR hash value is not an integer")?,
        };
        let new = old.checked_add(by).ok_or(OVERFLOW)?;
        hash.insert(a[1].clone(), format!("{new}").into_bytes());
        Ok(int_i64(new))
    }

    fn sets(&mut self, name: &[u8], a: &[Vec<u8>]) -> Option<Answer> {
        Some(match name {
            b"SADD" => self
                .set_make(&a[0])
                .map(|s| int(a[1..].iter().filter(|m| s.insert(m.to_vec())).count())),
            b"SREM" => self
                .set_mut(&a[0])
                .map(|s| int(s.map_or(0, |s| a[1..].iter().filter(|m| s.remove(*m)).count()))),
            b"SISMEMBER" => self
                .set_ref(&a[0])
                .map(|s| int(s.is_some_and(|s| s.contains(&a[1])) as usize)),
            b"SCARD" => self.set_ref(&a[0]).map(|s| int(s.map_or(0, BTreeSet::len))),
            b"SMEMBERS" => self
                .set_ref(&a[0])
                .map(|s| bulks(s.into_iter().flatten().map(Vec::as_slice))),
            b"SINTER" | b"SUNION" | b"SDIFF" => self
                .set_algebra(name, a)
                .map(|s| bulks(s.iter().map(Vec::as_slice))),
            b"SINTERSTORE" => self.set_algebra(b"SINTER", &a[1..]).map(|s| {
                let n = s.len();
                self.db.insert(a[0].clone(), Value::Set(s));
                int(n)
            }),
            _ => return None,
        })
    }

    /// SINTER, SUNION or SDIFF of `keys`: WRONGTYPE if any key holds another type, a missing key
    /// is an empty set.
    fn set_algebra(&self, op: &[u8], keys: &[Vec<u8>]) -> Result<BTreeSet<Vec<u8>>, &'static str> {
        let sets: Vec<Option<&BTreeSet<Vec<u8>>>> = keys
            .iter()
            .map(|k| self.set_ref(k))
            .collect::<Result<_, _>>()?;
        let empty = BTreeSet::new();
        let (first, rest) = (sets[0].unwrap_or(&empty), &sets[1..]);
        let keep = |m: &Vec<u8>| match op {
            b"SINTER" => rest.iter().all(|s| s.is_some_and(|s| s.contains(m))),
            _ => !rest.iter().any(|s| s.is_some_and(|s| s.contains(m))),
        };
        Ok(match op {
            b"SUNION" => sets
                .iter()
                .flatten()
                .flat_map(|s| s.iter())
                .cloned()
                .collect(),
            _ => first.iter().filter(|m| keep(m)).cloned().collect(),
        })
    }
}

const RANK_ZERO: &str = "ERR RANK can't be zero: use 1 to start from the first match, 2 from the \
                         second ... or use negative to start from the end of the list";

/// Redis's range clamp (LRANGE, LTRIM, ZRANGE): inclusive indexes into `len` items, or `None`
/// for an empty range.
fn clamp(len: usize, start: i64, stop: i64) -> Option<(usize, usize)> {
    let len = len as i64;
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let stop = if stop < 0 {
        len + stop
    } else {
        stop.min(len - 1)
    };
    (start <= stop && start < len).then_some((start as usize, stop as usize))
}

/// A LINDEX/LSET index (negative counts from the end) resolved against `len`.
fn index(len: usize, i: i64) -> Option<usize> {
    let i = if i < 0 { len as i64 + i } else { i };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// Redis's `string2ll`: the canonical decimal form of an `i64` and nothing else.
fn parse_i64(b: &[u8]) -> Option<i64> {
    let n: i64 = core::str::from_utf8(b).ok()?.parse().ok()?;
    (format!("{n}").as_bytes() == b).then_some(n)
}

fn arg_i64(b: &[u8]) -> Result<i64, &'static str> {
    parse_i64(b).ok_or(NOT_INTEGER)
}

/// A count that must not be negative (LPOP, ZPOPMIN).
fn parse_positive(b: &[u8]) -> Result<usize, &'static str> {
    usize::try_from(arg_i64(b)?).map_err(|_| NOT_POSITIVE)
}

fn parse_score(b: &[u8]) -> Option<f64> {
    let d: f64 = core::str::from_utf8(b).ok()?.parse().ok()?;
    (!d.is_nan()).then_some(d)
}

/// A score as Redis's `%.17g` prints the scores this model uses (integers, halves, infinities).
fn score_text(d: f64) -> Vec<u8> {
    if d.is_infinite() {
        return if d > 0.0 {
            b"inf".to_vec()
        } else {
            b"-inf".to_vec()
        };
    }
    format!("{d}").into_bytes()
}

const OK: &[u8] = b"+OK\r\n";
const NIL: &[u8] = b"$-1\r\n";
const NIL_ARRAY: &[u8] = b"*-1\r\n";
const EMPTY_ARRAY: &[u8] = b"*0\r\n";

fn error(text: &str) -> Vec<u8> {
    format!("-{text}\r\n").into_bytes()
}

fn int(n: usize) -> Vec<u8> {
    int_i64(n as i64)
}

fn int_i64(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

fn bulk(b: &[u8]) -> Vec<u8> {
    let mut out = format!("${}\r\n", b.len()).into_bytes();
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
    out
}

fn opt_bulk(b: Option<&[u8]>) -> Vec<u8> {
    b.map_or(NIL.to_vec(), bulk)
}

/// An array of already encoded replies.
fn array(items: Vec<Vec<u8>>) -> Vec<u8> {
    let mut out = format!("*{}\r\n", items.len()).into_bytes();
    items.iter().for_each(|i| out.extend_from_slice(i));
    out
}

fn bulks<'a>(items: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    array(items.map(bulk).collect())
}

/// Members, each followed by its score when `withscores` (RESP2's flat form).
fn scored(items: &[(&[u8], f64)], withscores: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for &(m, s) in items {
        out.push(bulk(m));
        if withscores {
            out.push(bulk(&score_text(s)));
        }
    }
    array(out)
}

/// `reply` with the elements of an unordered reply (SMEMBERS, HGETALL's pairs, the set algebra)
/// sorted, as the model sends them; any other reply unchanged.
pub fn normalise(args: &[Vec<u8>], reply: Vec<u8>) -> Vec<u8> {
    let group = match args[0].to_ascii_uppercase().as_slice() {
        b"SMEMBERS" | b"SINTER" | b"SUNION" | b"SDIFF" => 1,
        b"HGETALL" => 2,
        _ => return reply,
    };
    let Ok((Reply::Array(items), used)) = parse_reply(&reply) else {
        return reply;
    };
    let items: Option<Vec<Vec<u8>>> = items
        .into_iter()
        .map(|r| match r {
            Reply::Bulk(b) => Some(b),
            _ => None,
        })
        .collect();
    let Some(items) = items.filter(|i| used == reply.len() && i.len() % group == 0) else {
        return reply;
    };
    let mut groups: Vec<&[Vec<u8>]> = items.chunks(group).collect();
    groups.sort();
    bulks(groups.into_iter().flatten().map(Vec::as_slice))
}

/// A reply from Ember that differs from the model's, after the commands that led to it.
#[derive(Debug)]
pub struct Mismatch {
    /// The commands sent, the mismatching one last.
    pub commands: Vec<Args>,
    pub expected: Vec<u8>,
    pub actual: Vec<u8>,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Ember's reply differs from the model's after:")?;
        for args in &self.commands {
            writeln!(f, "  {}", Shown(args))?;
        }
        writeln!(f, "expected: {}", self.expected.escape_ascii())?;
        write!(f, "actual:   {}", self.actual.escape_ascii())
    }
}

/// A command as redis-cli would take it: arguments quoted when they need it.
pub struct Shown<'a>(pub &'a [Vec<u8>]);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, a) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { " " };
            let plain = !a.is_empty() && a.iter().all(|c| c.is_ascii_graphic() && *c != b'"');
            match plain {
                true => write!(f, "{sep}{}", a.escape_ascii())?,
                false => write!(f, "{sep}\"{}\"", a.escape_ascii())?,
            }
        }
        Ok(())
    }
}

/// Runs `args` on the model and through `exec`: the expected and the actual reply when they differ.
pub fn step(
    model: &mut Model,
    args: &[Vec<u8>],
    exec: &mut Exec<'_>,
) -> Option<(Vec<u8>, Vec<u8>)> {
    let expected = model.exec(args);
    let argv: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
    let actual = match exec(&argv) {
        Ok(reply) => normalise(args, reply),
        Err(e) => error(&e.0),
    };
    (expected != actual).then_some((expected, actual))
}

/// Runs up to `commands_max` generated commands (fewer when the source runs dry), then reads every
/// key back; the first mismatch stops the run. Returns the number of commands sent.
pub fn run(
    src: &mut dyn Source,
    commands_max: usize,
    exec: &mut Exec<'_>,
) -> Result<usize, Mismatch> {
    let mut model = Model::new();
    let mut sent: Vec<Args> = Vec::new();
    while sent.len() < commands_max && !src.exhausted() {
        sent.push(command(src));
        if let Some((expected, actual)) = step(&mut model, &sent[sent.len() - 1], exec) {
            return Err(Mismatch {
                commands: sent,
                expected,
                actual,
            });
        }
    }
    for args in model.read_back() {
        sent.push(args);
        if let Some((expected, actual)) = step(&mut model, &sent[sent.len() - 1], exec) {
            return Err(Mismatch {
                commands: sent,
                expected,
                actual,
            });
        }
    }
    Ok(sent.len())
}
