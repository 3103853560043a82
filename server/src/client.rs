//! A connected client: its socket, query buffer, output buffer and per-connection state (selected
//! database, protocol, name, authentication, reply mode, flags).

use std::collections::HashSet;
use std::ops::Range;
use std::os::fd::RawFd;

use ember_core::resp::{ArgBuf, Argv, Proto, ReplyWriter};

/// Bytes read from a socket per `read` call.
pub const READ_CHUNK: usize = 16 * 1024;

/// A client is given at most this many bytes of input per event, so one busy pipeline cannot starve
/// the others.
pub const READ_PER_EVENT_MAX: usize = 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Set while the command after CLIENT REPLY SKIP runs.
    Skip,
}

/// A command's arguments copied into one buffer: queued by MULTI, or parked by a blocking command.
#[derive(Default)]
pub struct SavedArgv {
    buf: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

impl SavedArgv {
    pub fn new(argv: Argv<'_>) -> Self {
        let mut buf = Vec::new();
        let mut ranges = Vec::with_capacity(argv.len());
        for a in argv.iter() {
            ranges.push(buf.len()..buf.len() + a.len());
            buf.extend_from_slice(a);
        }
        SavedArgv { buf, ranges }
    }

    /// A command given as owned arguments.
    pub fn from_args(args: &[Vec<u8>]) -> Self {
        let mut buf = Vec::new();
        let mut ranges = Vec::with_capacity(args.len());
        for a in args {
            ranges.push(buf.len()..buf.len() + a.len());
            buf.extend_from_slice(a);
        }
        SavedArgv { buf, ranges }
    }

    pub fn argv(&self) -> Argv<'_> {
        Argv::new(&self.buf, &self.ranges)
    }

    /// Empties it, keeping the buffers, to build another command with [`SavedArgv::push`].
    pub fn clear(&mut self) {
        self.buf.clear();
        self.ranges.clear();
    }

    pub fn push(&mut self, arg: &[u8]) {
        self.ranges.push(self.buf.len()..self.buf.len() + arg.len());
        self.buf.extend_from_slice(arg);
    }

    /// Bytes held, as MULTI counts them against `client-query-buffer-limit`.
    pub fn mem_bytes(&self) -> usize {
        self.buf.len() + self.ranges.len() * std::mem::size_of::<Range<usize>>()
    }
}

/// The state of a client between MULTI and EXEC.
#[derive(Default)]
pub struct MultiState {
    pub queue: Vec<SavedArgv>,
    /// A command failed to queue (unknown, wrong arity, not allowed): EXEC answers EXECABORT.
    pub error: bool,
    /// Bytes held by the queue, counted against `client-query-buffer-limit`.
    pub bytes: usize,
    /// Some queued command writes (EXEC then waits out CLIENT PAUSE WRITE).
    pub has_write: bool,
    /// Some queued command may grow memory (EXEC is refused when out of memory).
    pub has_denyoom: bool,
    /// A queued command lacks the `stale` flag (EXEC answers -MASTERDOWN on a stale replica).
    pub has_nonstale: bool,
}

/// A key this client WATCHes.
pub struct Watched {
    pub db: u32,
    pub key: Vec<u8>,
    /// The key had already expired (but was not yet deleted) when it was watched.
    pub expired_at_watch: bool,
}

pub struct Client {
    pub id: u64,
    pub fd: RawFd,
    pub unix: bool,
    pub addr: String,
    pub laddr: String,
    pub name: Option<Vec<u8>>,
    pub db: usize,
    pub proto: Proto,
    pub authenticated: bool,
    pub qbuf: Vec<u8>,
    pub args: ArgBuf,
    pub out: Vec<u8>,
    /// Bytes of `out` already written to the socket.
    pub out_sent: usize,
    pub created_ms: u64,
    pub last_interaction_ms: u64,
    pub reply_mode: ReplyMode,
    /// Close once the output buffer is flushed (QUIT, protocol errors, CLIENT KILL of self).
    pub close_after_reply: bool,
    /// Close as soon as possible, dropping pending output.
    pub close_asap: bool,
    pub monitor: bool,
    /// Attached to the command stream with SYNC or PSYNC.
    pub replica: bool,
    /// The link to this server's master (REPLICAOF): its commands run without replies.
    pub master: bool,
    /// The client a Lua script runs its commands through (it stands for the script's caller).
    pub script: bool,
    /// A replica's REPLCONF listening-port, and the stream offset it last acknowledged.
    pub replica_port: u16,
    pub replica_ack_offset: u64,
    pub no_evict: bool,
    /// [`Client::memory`] at the event loop's last client-eviction check.
    pub mem_counted: usize,
    pub no_touch: bool,
    /// Waiting for CLIENT PAUSE to end before its pending commands run.
    pub paused: bool,
    /// Whether the poller currently watches for writability.
    pub write_interest: bool,
    pub last_cmd: &'static str,
    /// The subcommand of `last_cmd`, if it has subcommands (CLIENT LIST shows `cmd=client|list`).
    pub last_sub: Option<&'static str>,
    /// When the output buffer first passed the soft limit (0 when under it).
    pub soft_limit_since_ms: u64,
    pub net_in: u64,
    pub net_out: u64,
    pub multi: Option<MultiState>,
    /// A watched key was modified: the next EXEC fails.
    pub dirty_cas: bool,
    pub watched: Vec<Watched>,
    /// Running the commands of an EXEC.
    pub in_exec: bool,
    pub subs: HashSet<Vec<u8>>,
    pub psubs: HashSet<Vec<u8>>,
    pub ssubs: HashSet<Vec<u8>>,
    /// Byte ranges of `out` written as pub/sub messages during the current command: they reach the
    /// client even under CLIENT REPLY OFF/SKIP, like Redis's CLIENT_PUSHING.
    pub push_spans: Vec<Range<usize>>,
    /// While set, pushes for this client go in at this offset of `out`: keyspace notifications caused
    /// by a command precede its reply, as in Redis.
    pub insert_at: Option<usize>,
    /// CLIENT TRACKING settings, when on.
    pub tracking: Option<crate::tracking::Tracking>,
    /// Query-buffer bytes not yet consumed while a command runs (the buffer itself is detached
    /// then), so CLIENT LIST shows what Redis shows.
    pub qbuf_pending: usize,
    /// Already in the server's list of clients to flush before sleeping.
    pub write_queued: bool,
    /// Waiting in a blocking command (its input stays queued until then).
    pub blocked: Option<crate::blocking::Blocked>,
    /// A blocking command asked to wait (set by the core dispatcher, consumed by the server).
    pub block_request: Option<ember_core::cmd::BlockRequest>,
    /// While a blocked command is retried: the deadline of its first wait.
    pub retry_deadline: Option<u64>,
}

impl Client {
    pub fn new(
        id: u64,
        fd: RawFd,
        unix: bool,
        addr: String,
        laddr: String,
        now_ms: u64,
        authenticated: bool,
    ) -> Self {
        Client {
            id,
            fd,
            unix,
            addr,
            laddr,
            name: None,
            db: 0,
            proto: Proto::Resp2,
            authenticated,
            qbuf: Vec::new(),
            args: ArgBuf::default(),
            out: Vec::new(),
            out_sent: 0,
            created_ms: now_ms,
            last_interaction_ms: now_ms,
            reply_mode: ReplyMode::On,
            close_after_reply: false,
            close_asap: false,
            monitor: false,
            replica: false,
            master: false,
            script: false,
            replica_port: 0,
            replica_ack_offset: 0,
            no_evict: false,
            mem_counted: 0,
            no_touch: false,
            paused: false,
            write_interest: false,
            last_cmd: "NULL",
            last_sub: None,
            soft_limit_since_ms: 0,
            net_in: 0,
            net_out: 0,
            multi: None,
            dirty_cas: false,
            watched: Vec::new(),
            in_exec: false,
            subs: HashSet::new(),
            psubs: HashSet::new(),
            ssubs: HashSet::new(),
            push_spans: Vec::new(),
            insert_at: None,
            tracking: None,
            qbuf_pending: 0,
            write_queued: false,
            blocked: None,
            block_request: None,
            retry_deadline: None,
        }
    }

    /// Writes a pub/sub message or confirmation, remembering its span (see `push_spans`).
    pub fn write_push(&mut self, f: impl FnOnce(&mut ReplyWriter<'_>)) {
        let start = self.out.len();
        f(&mut ReplyWriter::new(&mut self.out, self.proto));
        let Some(pos) = self.insert_at else {
            self.push_spans.push(start..self.out.len());
            return;
        };
        // Move the push, written at the end, back to the insertion point.
        let n = self.out.len() - start;
        self.out[pos..].rotate_right(n);
        for span in self.push_spans.iter_mut().filter(|r| r.start >= pos) {
            *span = span.start + n..span.end + n;
        }
        self.push_spans.push(pos..pos + n);
        self.insert_at = Some(pos + n);
    }

    /// Output bytes not yet written.
    pub fn pending_out(&self) -> usize {
        self.out.len() - self.out_sent
    }

    /// Channel and pattern subscriptions (what (UN)SUBSCRIBE replies count).
    pub fn sub_count(&self) -> usize {
        self.subs.len() + self.psubs.len()
    }

    /// Subscribed to anything, shard channels included: the pubsub output class and RESP2's limits apply.
    pub fn is_pubsub(&self) -> bool {
        !self.subs.is_empty() || !self.psubs.is_empty() || !self.ssubs.is_empty()
    }

    /// The peer's address without its port.
    pub fn ip(&self) -> &str {
        self.addr.rsplit_once(':').map_or(&self.addr, |(ip, _)| ip)
    }

    /// Flags as CLIENT LIST shows them.
    pub fn flags(&self) -> String {
        let mut f = String::new();
        if self.replica {
            f.push('S');
        }
        if self.master {
            f.push('M');
        }
        if self.monitor {
            f.push('O');
        }
        if self.is_pubsub() {
            f.push('P');
        }
        if self.blocked.is_some() {
            f.push('b');
        }
        if self.multi.is_some() {
            f.push('x');
        }
        if self.dirty_cas {
            f.push('d');
        }
        if let Some(t) = &self.tracking {
            f.push('t');
            if t.broken_redirect {
                f.push('R');
            }
            if t.bcast {
                f.push('B');
            }
        }
        if self.close_after_reply {
            f.push('c');
        }
        if self.close_asap {
            f.push('A');
        }
        if self.no_evict {
            f.push('e');
        }
        if self.no_touch {
            f.push('T');
        }
        if self.unix {
            f.push('U');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }

    /// Bytes the connection holds: its buffers' capacity and the client itself (what
    /// `maxmemory-clients` counts).
    pub fn memory(&self) -> usize {
        self.qbuf.capacity()
            + self.out.capacity()
            + self.multi.as_ref().map_or(0, |m| m.bytes)
            + std::mem::size_of::<Client>()
    }

    /// One CLIENT LIST / CLIENT INFO line (without the trailing newline).
    pub fn info_line(&self, now_ms: u64) -> String {
        let name = self
            .name
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let events = if self.write_interest { "rw" } else { "r" };
        let cmd = match self.last_sub {
            Some(sub) => format!("{}|{}", self.last_cmd, sub),
            None => self.last_cmd.to_string(),
        };
        let qbuf_cap = self.qbuf.capacity().max(self.qbuf.len());
        // Like Redis's reply list: output beyond what a 16 KiB static buffer holds.
        let omem = self.pending_out().saturating_sub(16 * 1024);
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp=0 obl=0 oll=0 omem={} tot-mem={} events={} cmd={} user=default redir={} resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_interaction_ms) / 1000,
            self.flags(),
            self.db,
            self.subs.len(),
            self.psubs.len(),
            self.ssubs.len(),
            self.multi.as_ref().map_or(-1, |m| m.queue.len() as i64),
            self.qbuf.len().max(self.qbuf_pending),
            qbuf_cap - self.qbuf.len(),
            qbuf_cap,
            omem,
            qbuf_cap + omem + std::mem::size_of::<Client>(),
            events,
            cmd,
            self.tracking.as_ref().map_or(-1, |t| t.redirect as i64),
            if self.proto == Proto::Resp3 { 3 } else { 2 },
        )
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // A script's client has no descriptor (-1).
        if self.fd >= 0 {
            crate::sys::close(self.fd);
        }
    }
}
