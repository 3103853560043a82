//! Keys as the commands that rebuild them, in RESP: the form of an AOF base file written with
//! `aof-use-rdb-preamble no` (Redis's `rewriteAppendOnlyFile` without the RDB preamble). Large
//! collections are split into commands of at most [`ITEMS_PER_COMMAND`] elements; a key with a TTL
//! ends with PEXPIREAT; a stream is rebuilt with its entries, its counters (XSETID), its groups,
//! their pending entries (XCLAIM ... FORCE JUSTID) and consumers.

use alloc::vec::Vec;
use bumpalo::Bump;

use crate::types::set::Member;
use crate::types::stream::node::DELETED;
use crate::types::stream::{Stream, StreamId, ID_TEXT_MAX};
use crate::types::string::{format_i64, format_u64, IntBuf};
use crate::types::Value;

/// Elements per RPUSH, SADD, HMSET or ZADD (Redis's `AOF_REWRITE_ITEMS_PER_CMD`).
pub const ITEMS_PER_COMMAND: usize = 64;

/// Appends one command.
pub fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    let mut buf = IntBuf::default();
    out.push(b'*');
    out.extend_from_slice(format_u64(args.len() as u64, &mut buf));
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(format_u64(a.len() as u64, &mut buf));
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Appends `name key` followed by `items` in commands of at most [`ITEMS_PER_COMMAND`] elements
/// (`per` arguments each).
fn batched(out: &mut Vec<u8>, name: &[u8], key: &[u8], items: &[Vec<u8>], per: usize) {
    for chunk in items.chunks(ITEMS_PER_COMMAND * per) {
        let mut args: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        args.push(name);
        args.push(key);
        args.extend(chunk.iter().map(Vec::as_slice));
        command(out, &args);
    }
}

/// A snapshot written as commands (an AOF base with `aof-use-rdb-preamble no`).
pub struct CommandWriter<S: super::Sink> {
    sink: S,
    scratch: Bump,
    buf: Vec<u8>,
}

impl<S: super::Sink> CommandWriter<S> {
    pub fn new(sink: S) -> Self {
        CommandWriter {
            sink,
            scratch: Bump::new(),
            buf: Vec::new(),
        }
    }

    pub fn into_sink(self) -> S {
        self.sink
    }

    /// A SELECT of database `db`.
    pub fn select(&mut self, db: usize) {
        let mut n = IntBuf::default();
        self.buf.clear();
        command(&mut self.buf, &[b"SELECT", format_u64(db as u64, &mut n)]);
        self.sink.put(&self.buf);
    }

    /// The commands of one key.
    pub fn key(&mut self, key: &[u8], value: &Value, expire_at_ms: Option<u64>) {
        self.buf.clear();
        write_key(&mut self.buf, key, value, expire_at_ms, &self.scratch);
        self.scratch.reset();
        self.sink.put(&self.buf);
    }

    /// Bytes another writer produced in this form.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.sink.put(bytes);
    }
}

/// Appends the commands that rebuild `key` with `value` and its expire time.
pub fn write_key(
    out: &mut Vec<u8>,
    key: &[u8],
    value: &Value,
    expire_at_ms: Option<u64>,
    scratch: &Bump,
) {
    let mut buf = IntBuf::default();
    match value {
        Value::Str(_) | Value::Lz(_) => {
            let v = value.str_to_vec().unwrap_or_default();
            command(out, &[b"SET", key, &v]);
        }
        Value::List(l) => {
            let items: Vec<Vec<u8>> = l.iter(scratch).map(<[u8]>::to_vec).collect();
            batched(out, b"RPUSH", key, &items, 1);
        }
        Value::Set(s) => {
            let items: Vec<Vec<u8>> = s
                .iter()
                .map(|m| match m {
                    Member::Int(n) => format_i64(n, &mut buf).to_vec(),
                    Member::Bytes(b) => b.to_vec(),
                })
                .collect();
            batched(out, b"SADD", key, &items, 1);
        }
        Value::Hash(h) => {
            let items: Vec<Vec<u8>> = h
                .iter()
                .flat_map(|(f, v)| [f.to_vec(), v.to_vec()])
                .collect();
            batched(out, b"HMSET", key, &items, 2);
        }
        Value::ZSet(z) => {
            let mut items = Vec::with_capacity(z.len() * 2);
            for (m, score) in z.iter(scratch) {
                let mut s = Vec::new();
                crate::resp::format_double(score, &mut s);
                items.push(s);
                items.push(m.to_vec());
            }
            batched(out, b"ZADD", key, &items, 2);
        }
        Value::Stream(s) => write_stream(out, key, s),
    }
    if let Some(at) = expire_at_ms {
        command(out, &[b"PEXPIREAT", key, format_u64(at, &mut buf)]);
    }
}

fn id_text(id: StreamId) -> Vec<u8> {
    let mut buf = [0u8; ID_TEXT_MAX];
    id.format(&mut buf).to_vec()
}

fn write_stream(out: &mut Vec<u8>, key: &[u8], s: &Stream) {
    let mut any = false;
    for node in s.nodes() {
        for raw in node.raw_iter().filter(|r| r.flags & DELETED == 0) {
            let id = id_text(raw.id);
            let mut fields: Vec<Vec<u8>> = Vec::new();
            for (f, v) in node.pairs(&raw) {
                let (mut a, mut b) = (Vec::new(), Vec::new());
                f.append_to(&mut a);
                v.append_to(&mut b);
                fields.push(a);
                fields.push(b);
            }
            let mut args: Vec<&[u8]> = alloc::vec![b"XADD", key, &id];
            args.extend(fields.iter().map(Vec::as_slice));
            command(out, &args);
            any = true;
        }
    }
    let last = id_text(s.last_id);
    if !any {
        // An empty stream still exists: created and emptied at once (with the ID 0-1, valid
        // whatever the last ID; XSETID then restores it), as Redis rewrites it.
        command(out, &[b"XADD", key, b"MAXLEN", b"0", b"0-1", b"x", b"y"]);
    }
    let mut buf = IntBuf::default();
    let added = format_u64(s.entries_added, &mut buf).to_vec();
    let max_deleted = id_text(s.max_deleted);
    command(
        out,
        &[
            b"XSETID",
            key,
            &last,
            b"ENTRIESADDED",
            &added,
            b"MAXDELETEDID",
            &max_deleted,
        ],
    );
    for (name, g) in &s.groups {
        let gid = id_text(g.last_id);
        let read = match g.entries_read {
            Some(n) => format_u64(n, &mut buf).to_vec(),
            None => b"-1".to_vec(),
        };
        command(
            out,
            &[b"XGROUP", b"CREATE", key, name, &gid, b"ENTRIESREAD", &read],
        );
        for (id, p) in &g.pel {
            let (id, at) = (id_text(*id), format_u64(p.delivery_ms, &mut buf).to_vec());
            let count = format_u64(p.deliveries, &mut buf).to_vec();
            command(
                out,
                &[
                    b"XCLAIM",
                    key,
                    name,
                    &p.owner,
                    b"0",
                    &id,
                    b"TIME",
                    &at,
                    b"RETRYCOUNT",
                    &count,
                    b"JUSTID",
                    b"FORCE",
                ],
            );
        }
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                command(out, &[b"XGROUP", b"CREATECONSUMER", key, name, cname]);
            }
        }
    }
}
