//! A connected client: its socket, query buffer, output buffer and per-connection state (selected
//! database, protocol, name, authentication, reply mode, flags).

use std::os::fd::RawFd;

use ember_core::resp::{ArgBuf, Proto};

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
    pub no_evict: bool,
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
            no_evict: false,
            no_touch: false,
            paused: false,
            write_interest: false,
            last_cmd: "NULL",
            last_sub: None,
            soft_limit_since_ms: 0,
            net_in: 0,
            net_out: 0,
        }
    }

    /// Output bytes not yet written.
    pub fn pending_out(&self) -> usize {
        self.out.len() - self.out_sent
    }

    /// Flags as CLIENT LIST shows them.
    pub fn flags(&self) -> String {
        let mut f = String::new();
        if self.monitor {
            f.push('O');
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
        let omem = self.out.capacity();
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub=0 psub=0 ssub=0 multi=-1 qbuf={} qbuf-free={} argv-mem=0 multi-mem=0 rbs={} rbp=0 obl=0 oll=0 omem={} tot-mem={} events={} cmd={} user=default redir=-1 resp={}",
            self.id,
            self.addr,
            self.laddr,
            self.fd,
            name,
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_interaction_ms) / 1000,
            self.flags(),
            self.db,
            self.qbuf.len(),
            qbuf_cap - self.qbuf.len(),
            qbuf_cap,
            omem,
            qbuf_cap + omem + std::mem::size_of::<Client>(),
            events,
            cmd,
            if self.proto == Proto::Resp3 { 3 } else { 2 },
        )
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        crate::sys::close(self.fd);
    }
}
