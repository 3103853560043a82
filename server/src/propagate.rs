//! Command propagation: the stream of commands that replays the dataset's changes, fed to the
//! AOF and to replicas attached with SYNC/PSYNC (Redis's `propagate`/`alsoPropagate`).
//!
//! Each command that changed something contributes what core said to log (itself, or commands
//! that replay its effect deterministically). An execution unit (a command, or a whole EXEC)
//! collects its ops and writes them at its end, wrapped in MULTI/EXEC when there is more than one.
//! Keys the server deletes on its own (lazy and active expiry, eviction) are logged as DEL at once,
//! never inside a transaction. A SELECT precedes a command whose database differs from the
//! stream's. Nothing is built while there is no AOF and no replica.

use std::os::fd::RawFd;

use ember_core::resp::Argv;

use crate::client::Client;
use crate::server::Server;

#[derive(Default)]
pub struct Propagation {
    /// Ops of the running execution unit: database and arguments.
    pub pending: Vec<(usize, Vec<Vec<u8>>)>,
    /// The database the stream is in (`None`: SELECT before the next command).
    stream_db: Option<usize>,
    /// Connections that attached to the stream with SYNC or PSYNC.
    pub replicas: Vec<RawFd>,
    /// Bytes sent down the replication stream so far (`master_repl_offset`).
    pub offset: u64,
    /// The last `repl-backlog-size` bytes of the stream, from the first replica on, so that a
    /// replica that lost its link can continue where it was (PSYNC partial resynchronization).
    pub backlog: Option<std::collections::VecDeque<u8>>,
    /// When the replicas were last sent a PING (`repl-ping-replica-period`).
    pub last_ping_ms: u64,
    /// Encoding scratch.
    buf: Vec<u8>,
}

/// Appends one command in RESP (an array of bulk strings).
pub(crate) fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

impl Server {
    /// Whether anything consumes the stream.
    pub fn propagating(&self) -> bool {
        self.aof.enabled() || !self.prop.replicas.is_empty() || self.prop.backlog.is_some()
    }

    /// Queues the ops of a command that ran in database `db`: `effects` as core left them, or the
    /// command as sent (`argv`) when it changed something.
    pub fn collect_propagation(
        &mut self,
        db: usize,
        argv: Argv<'_>,
        propagate: ember_core::cmd::Propagate,
        dirty: u64,
    ) {
        if !self.propagating() {
            return;
        }
        match propagate {
            ember_core::cmd::Propagate::AsIs if dirty > 0 => {
                let args = argv.iter().map(<[u8]>::to_vec).collect();
                self.prop.pending.push((db, args));
            }
            ember_core::cmd::Propagate::AsIs => {}
            ember_core::cmd::Propagate::Replace(list) => {
                self.prop.pending.extend(list.into_iter().map(|a| (db, a)));
            }
        }
    }

    /// Queues a server command as sent (PUBLISH, ...).
    pub fn propagate_as_sent(&mut self, db: usize, argv: Argv<'_>) {
        if self.propagating() {
            let args = argv.iter().map(<[u8]>::to_vec).collect();
            self.prop.pending.push((db, args));
        }
    }

    /// Logs a DEL of a key the server removed on its own (expiry, eviction), at once.
    pub fn propagate_deletion(&mut self, db: usize, key: &[u8]) {
        if self.propagating() {
            self.emit(db, &[b"DEL", key]);
        }
    }

    /// Ends an execution unit: writes its ops, in MULTI/EXEC when there are several.
    pub fn flush_propagation(&mut self) {
        if self.prop.pending.is_empty() {
            return;
        }
        let ops = std::mem::take(&mut self.prop.pending);
        let wrap = ops.len() > 1;
        if wrap {
            let db = self.prop.stream_db.unwrap_or(ops[0].0);
            self.emit(db, &[b"MULTI"]);
        }
        for (db, args) in &ops {
            let args: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
            self.emit(*db, &args);
        }
        if wrap {
            let db = self.prop.stream_db.unwrap_or(0);
            self.emit(db, &[b"EXEC"]);
        }
    }

    /// Writes one command to the stream, after a SELECT when its database differs.
    fn emit(&mut self, db: usize, args: &[&[u8]]) {
        let mut buf = std::mem::take(&mut self.prop.buf);
        buf.clear();
        if self.prop.stream_db != Some(db) {
            encode(&mut buf, &[b"SELECT", db.to_string().as_bytes()]);
            self.prop.stream_db = Some(db);
        }
        encode(&mut buf, args);
        if self.config.get_bool("aof-timestamp-enabled") {
            self.aof.annotate(crate::sys::now_ms() / 1000);
        }
        self.aof.feed(&buf);
        self.feed_replicas(&buf);
        self.prop.buf = buf;
    }

    /// Appends bytes of the stream to every replica's output.
    fn feed_replicas(&mut self, bytes: &[u8]) {
        let size = self.config.get_int("repl-backlog-size").max(1) as usize;
        let Some(backlog) = self.prop.backlog.as_mut() else {
            return;
        };
        self.prop.offset += bytes.len() as u64;
        backlog.extend(bytes.iter().copied());
        if backlog.len() > size {
            let excess = backlog.len() - size;
            backlog.drain(..excess);
        }
        if self.prop.replicas.is_empty() {
            return;
        }
        let replicas = std::mem::take(&mut self.prop.replicas);
        let (limit, now) = (self.hot.replica_limit, crate::sys::now_ms());
        for &fd in &replicas {
            if let Some(Some(c)) = self.clients.get_mut(fd as usize) {
                c.out.extend_from_slice(bytes);
                if !c.close_asap && crate::server::over_output_limit(c, limit, now) {
                    crate::log_at!(
                        Warning,
                        "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                        c.info_line(now)
                    );
                    c.close_asap = true;
                    self.stats.client_outbuf_limit_disconnections += 1;
                }
            }
            self.queue_write(fd);
        }
        self.prop.replicas = replicas;
    }

    /// Sends the replicas a PING every `repl-ping-replica-period` seconds, so that an idle link
    /// does not look dead to them (the AOF does not get it).
    pub fn ping_replicas(&mut self, now_ms: u64) {
        let period = self.config.get_int("repl-ping-replica-period").max(1) as u64 * 1000;
        if self.prop.replicas.is_empty() || now_ms.saturating_sub(self.prop.last_ping_ms) < period {
            return;
        }
        self.prop.last_ping_ms = now_ms;
        let mut buf = Vec::new();
        encode(&mut buf, &[b"PING"]);
        self.feed_replicas(&buf);
    }

    /// Makes the next command of the stream start with a SELECT (a new AOF file, a new replica).
    pub fn reset_stream_db(&mut self) {
        self.prop.stream_db = None;
    }

    /// PSYNC replid offset: continues a replica's stream from `offset` when this server's stream
    /// is the one it followed and the backlog still holds that part; false for a full resync.
    pub fn continue_replica(&mut self, c: &mut Client, replid: &[u8], offset: u64) -> bool {
        let Some(backlog) = self.prop.backlog.as_ref() else {
            return false;
        };
        let first = self.prop.offset + 1 - backlog.len() as u64;
        if replid != self.replid.as_bytes() || offset < first || offset > self.prop.offset + 1 {
            return false;
        }
        let skip = (offset - first) as usize;
        c.out
            .extend_from_slice(format!("+CONTINUE {}\r\n", self.replid).as_bytes());
        c.out.extend(backlog.iter().skip(skip).copied());
        c.replica = true;
        c.replica_ack_offset = offset.saturating_sub(1);
        self.prop.replicas.push(c.fd);
        self.prop.last_ping_ms = crate::sys::now_ms();
        self.stats.sync_partial_ok += 1;
        crate::log_at!(
            Notice,
            "Partial resynchronization request from {} accepted. Sending {} bytes of backlog starting from offset {offset}.",
            c.addr,
            backlog.len() - skip
        );
        self.refresh_propagating();
        true
    }

    /// SYNC / PSYNC: sends `c` the dataset as an RDB payload, then the command stream.
    pub fn attach_replica(&mut self, c: &mut Client, psync: bool) {
        let mut enc = ember_core::rdb::save::Encoder::new(Vec::new(), Default::default());
        enc.header(&[(b"redis-ver", ember_core::REDIS_VERSION.as_bytes())]);
        self.write_functions(&mut enc);
        ember_core::rdb::save::save_keyspace(&mut enc, &self.ks, crate::sys::now_ms());
        let rdb = enc.finish();
        if psync {
            c.out.extend_from_slice(
                format!("+FULLRESYNC {} {}\r\n", self.replid, self.prop.offset).as_bytes(),
            );
        }
        // The payload is a bulk length and the bytes, with no CRLF after them.
        c.out
            .extend_from_slice(format!("${}\r\n", rdb.len()).as_bytes());
        c.out.extend_from_slice(&rdb);
        c.replica = true;
        c.replica_ack_offset = self.prop.offset;
        if self.prop.backlog.is_none() {
            self.prop.backlog = Some(std::collections::VecDeque::new());
        }
        self.stats.sync_full += 1;
        self.prop.replicas.push(c.fd);
        self.prop.last_ping_ms = crate::sys::now_ms();
        self.reset_stream_db();
        self.refresh_propagating();
    }

    /// Forgets a replica connection that closed.
    pub fn detach_replica(&mut self, fd: RawFd) {
        self.prop.replicas.retain(|&r| r != fd);
        self.refresh_propagating();
    }

    /// Keeps the keyspace logging what propagation needs (expired and evicted keys).
    pub fn refresh_propagating(&mut self) {
        self.journal.propagating = self.propagating();
        self.refresh_expiry_logging();
    }
}
