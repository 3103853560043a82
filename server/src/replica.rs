//! The replica side of replication (REPLICAOF host port).
//!
//! A helper thread connects to the master and does the handshake Redis 7 masters expect (PING,
//! AUTH with `masterauth`, REPLCONF listening-port and capa, PSYNC), then receives the full
//! resynchronization payload (an RDB file sent as a bulk string). The event loop polls for the
//! result from its cron: it empties the dataset, loads the payload, and adopts the socket as the
//! master client, whose commands then run like any client's but without replies (except
//! REPLCONF GETACK, answered with the offset applied). When the link drops, the replica tries
//! again every second; meanwhile it serves its stale data unless `replica-serve-stale-data no`
//! (then commands without the `stale` flag answer `-MASTERDOWN`). Writes from ordinary clients
//! answer `-READONLY` while `replica-read-only yes`.
//!
//! Every resynchronization is a full one (PSYNC ? -1): partial resynchronization from a backlog is
//! not implemented yet.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::sync::Arc;
use std::time::Duration;

use crate::client::SavedArgv;
use crate::log_at;
use crate::server::Server;
use crate::sys;

/// Milliseconds between two connection attempts to an unreachable master.
const RETRY_MS: u64 = 1000;
/// Milliseconds between two REPLCONF ACKs sent to the master.
const ACK_PERIOD_MS: u64 = 1000;
/// Longest handshake reply line accepted from a master.
const MAX_LINE: usize = 64 * 1024;
/// Largest buffer reserved up front for the payload (it grows as the bytes arrive).
const MAX_PREALLOC: usize = 64 << 20;

/// What the handshake thread hands to the event loop.
pub struct Synced {
    /// The connection, closed on drop unless adopted as the master client.
    stream: TcpStream,
    replid: String,
    offset: u64,
    /// The dataset of a full resynchronization; `None` when the master continued the stream.
    rdb: Option<Vec<u8>>,
    /// Stream bytes that arrived after the payload.
    rest: Vec<u8>,
    addr: String,
    laddr: String,
}

/// Where the link to the master stands.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Waiting to start a connection attempt.
    Connect,
    /// The handshake thread is connecting or transferring the payload.
    Syncing,
    /// The master client is attached.
    Connected,
}

/// This server's master, when it is a replica.
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// The master client's descriptor while connected.
    pub fd: Option<std::os::fd::RawFd>,
    /// The master's replication ID and the stream offset applied so far.
    pub replid: String,
    pub offset: u64,
    pub last_io_ms: u64,
    pub down_since_ms: u64,
    pub sync_started_ms: u64,
    last_ack_ms: u64,
    next_attempt_ms: u64,
    rx: Option<Receiver<Result<Synced, String>>>,
    cancel: Arc<AtomicBool>,
}

impl MasterLink {
    /// Whether the link is up (the replica's data is not stale).
    pub fn up(&self) -> bool {
        self.state == LinkState::Connected
    }

    /// ROLE's name for the link state.
    pub fn role_state(&self) -> &'static str {
        match self.state {
            LinkState::Connect => "connect",
            LinkState::Syncing => "sync",
            LinkState::Connected => "connected",
        }
    }
}

/// Encodes one command as a RESP array of bulk strings.
fn command(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::propagate::encode(&mut out, args);
    out
}

/// Reads one CRLF-terminated line (without the CRLF), bounded by [`MAX_LINE`].
fn read_line(r: &mut BufReader<TcpStream>) -> io::Result<String> {
    let mut line = Vec::new();
    r.by_ref()
        .take(MAX_LINE as u64)
        .read_until(b'\n', &mut line)?;
    if line.last() != Some(&b'\n') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "the master closed the connection or sent an overlong line",
        ));
    }
    while matches!(line.last(), Some(b'\n' | b'\r')) {
        line.pop();
    }
    Ok(String::from_utf8_lossy(&line).into_owned())
}

/// Sends one command and reads its one-line reply.
fn ask(r: &mut BufReader<TcpStream>, args: &[&[u8]]) -> io::Result<String> {
    r.get_mut().write_all(&command(args))?;
    read_line(r)
}

/// What the handshake needs from the configuration.
struct Handshake {
    host: String,
    port: u16,
    listening_port: u16,
    auth: Option<(Option<String>, String)>,
    timeout: Duration,
    /// The master's replication ID and the offset applied, from an earlier link to it.
    cached: Option<(String, u64)>,
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Connects, handshakes and receives the full resynchronization payload (run on a helper thread).
fn full_sync(h: &Handshake, cancel: &AtomicBool) -> io::Result<Synced> {
    let addrs: Vec<_> = (h.host.as_str(), h.port).to_socket_addrs()?.collect();
    let mut last_err = io::Error::new(io::ErrorKind::NotFound, "no address for the master");
    let mut stream = None;
    for a in addrs {
        match TcpStream::connect_timeout(&a, h.timeout) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_err = e,
        }
    }
    let stream = stream.ok_or(last_err)?;
    stream.set_read_timeout(Some(h.timeout))?;
    stream.set_write_timeout(Some(h.timeout))?;
    let _ = stream.set_nodelay(true);
    let addr = stream
        .peer_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let laddr = stream
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    let mut r = BufReader::new(stream);
    log_at!(Notice, "Non blocking connect for SYNC fired the event.");
    let pong = ask(&mut r, &[b"PING"])?;
    if pong.starts_with('-') && !pong.starts_with("-NOAUTH") && !pong.starts_with("-NOPERM") {
        return Err(invalid(format!(
            "Error reply to PING from master: '{pong}'"
        )));
    }
    log_at!(
        Notice,
        "Master replied to PING, replication can continue..."
    );
    if let Some((user, pass)) = &h.auth {
        let reply = match user {
            Some(u) => ask(&mut r, &[b"AUTH", u.as_bytes(), pass.as_bytes()])?,
            None => ask(&mut r, &[b"AUTH", pass.as_bytes()])?,
        };
        if reply.starts_with('-') {
            return Err(invalid(format!("Unable to AUTH to MASTER: {reply}")));
        }
    }
    let port = h.listening_port.to_string();
    // Errors here are not fatal: older masters may not know an option.
    let _ = ask(&mut r, &[b"REPLCONF", b"listening-port", port.as_bytes()])?;
    let _ = ask(&mut r, &[b"REPLCONF", b"capa", b"psync2"])?;
    let reply = match &h.cached {
        Some((replid, offset)) => {
            log_at!(
                Notice,
                "Trying a partial resynchronization (request {replid}:{}).",
                offset + 1
            );
            let from = (offset + 1).to_string();
            ask(&mut r, &[b"PSYNC", replid.as_bytes(), from.as_bytes()])?
        }
        None => {
            log_at!(
                Notice,
                "Partial resynchronization not possible (no cached master)"
            );
            ask(&mut r, &[b"PSYNC", b"?", b"-1"])?
        }
    };
    let mut words = reply.split(' ');
    if let Some((replid, offset)) = h.cached.as_ref().filter(|_| reply.starts_with("+CONTINUE")) {
        log_at!(Notice, "Successful partial resynchronization with master.");
        let replid = words.nth(1).unwrap_or(replid).to_string();
        let rest = r.buffer().to_vec();
        let stream = r.into_inner();
        return Ok(Synced {
            stream,
            replid,
            offset: *offset,
            rdb: None,
            rest,
            addr,
            laddr,
        });
    }
    if words.next() != Some("+FULLRESYNC") {
        return Err(invalid(format!(
            "Unexpected reply to PSYNC from master: {reply}"
        )));
    }
    let replid = words.next().unwrap_or_default().to_string();
    let offset = words.next().and_then(|o| o.parse().ok()).unwrap_or(0);
    log_at!(Notice, "Full resync from master: {replid}:{offset}");
    // The master may send newlines to keep the link alive while it prepares the payload.
    let header = loop {
        if cancel.load(Ordering::Relaxed) {
            return Err(invalid("replication cancelled".into()));
        }
        let line = read_line(&mut r)?;
        if !line.is_empty() {
            break line;
        }
    };
    let len: usize = header
        .strip_prefix('$')
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| invalid(format!("Bad protocol from MASTER, the first byte is not '$' (we received '{header}'), are you sure the host and port are right?")))?;
    // The payload is held in memory and then loaded: refuse one that cannot fit.
    if let Some(avail) = sys::mem_available() {
        if len as u64 > avail {
            return Err(invalid(format!(
                "the master's payload ({len} bytes) is larger than the memory available ({avail} bytes)"
            )));
        }
    }
    log_at!(
        Notice,
        "MASTER <-> REPLICA sync: receiving {len} bytes from master"
    );
    let mut rdb = Vec::with_capacity(len.min(MAX_PREALLOC));
    let mut chunk = vec![0u8; 64 * 1024];
    while rdb.len() < len {
        if cancel.load(Ordering::Relaxed) {
            return Err(invalid("replication cancelled".into()));
        }
        let want = (len - rdb.len()).min(chunk.len());
        let n = r.read(&mut chunk[..want])?;
        if n == 0 {
            return Err(invalid(
                "the master closed the connection during the transfer".into(),
            ));
        }
        rdb.extend_from_slice(&chunk[..n]);
    }
    let rest = r.buffer().to_vec();
    let stream = r.into_inner();
    Ok(Synced {
        stream,
        replid,
        offset,
        rdb: Some(rdb),
        rest,
        addr,
        laddr,
    })
}

impl Server {
    /// REPLICAOF host port: follows `host:port` (dropping any current link). Returns false when
    /// already following exactly that master.
    pub fn replicate_from(&mut self, host: String, port: u16) -> bool {
        if self
            .master
            .as_ref()
            .is_some_and(|m| m.host.eq_ignore_ascii_case(&host) && m.port == port)
        {
            return false;
        }
        self.drop_master_link();
        // Clients waiting on keys would be served from the master's writes: they are told the
        // instance changed, as Redis does.
        let blocked: Vec<u64> = self
            .clients
            .iter()
            .flatten()
            .filter(|c| c.blocked.is_some())
            .map(|c| c.id)
            .collect();
        for id in blocked {
            self.unblock_by_id(id, crate::blocking::Unblock::BecameReplica);
        }
        // Replicas of this server resynchronize from the new dataset.
        let replicas = self.prop.replicas.clone();
        for fd in replicas {
            if let Some(c) = self.clients.get_mut(fd as usize).and_then(Option::as_mut) {
                c.close_asap = true;
            }
        }
        log_at!(Notice, "Connecting to MASTER {host}:{port}");
        let now = sys::now_ms();
        self.master = Some(MasterLink {
            host,
            port,
            state: LinkState::Connect,
            fd: None,
            replid: String::new(),
            offset: 0,
            last_io_ms: now,
            down_since_ms: now,
            sync_started_ms: 0,
            last_ack_ms: 0,
            next_attempt_ms: now,
            rx: None,
            cancel: Arc::new(AtomicBool::new(false)),
        });
        true
    }

    /// REPLICAOF NO ONE: stops following the master and keeps the data, under a new replication
    /// ID (the dataset may now diverge from the master's).
    pub fn promote_to_master(&mut self) {
        if self.master.is_none() {
            return;
        }
        self.drop_master_link();
        self.master = None;
        self.replid = crate::server::new_replid();
        log_at!(Notice, "MASTER MODE enabled (user request)");
    }

    /// Closes the link to the master (the helper thread stops at its next check).
    fn drop_master_link(&mut self) {
        let Some(link) = self.master.as_mut() else {
            return;
        };
        link.cancel.store(true, Ordering::Relaxed);
        link.rx = None;
        if let Some(fd) = link.fd.take() {
            if let Some(c) = self.clients.get_mut(fd as usize).and_then(Option::take) {
                self.free_client(c);
            }
        }
    }

    /// The master client on `fd` closed: the link is down until the next attempt succeeds. (A
    /// master client of a link since replaced changes nothing.)
    pub fn master_link_lost(&mut self, fd: std::os::fd::RawFd) {
        if let Some(link) = self.master.as_mut().filter(|l| l.fd == Some(fd)) {
            log_at!(Warning, "Connection with master lost.");
            let now = sys::now_ms();
            link.fd = None;
            link.state = LinkState::Connect;
            link.down_since_ms = now;
            link.next_attempt_ms = now + RETRY_MS;
        }
    }

    /// Counts bytes of the master's stream applied (after each of its commands).
    pub fn master_applied(&mut self, bytes: usize) {
        if let Some(link) = self.master.as_mut() {
            link.offset += bytes as u64;
            link.last_io_ms = sys::now_ms();
        }
    }

    /// REPLCONF ACK <offset>, as sent to the master.
    pub fn master_ack(&self) -> Vec<u8> {
        let offset = self.master.as_ref().map_or(0, |m| m.offset).to_string();
        command(&[b"REPLCONF", b"ACK", offset.as_bytes()])
    }

    /// Drives the link from the cron: starts connection attempts, installs a finished transfer,
    /// acknowledges the offset, and drops a master silent for longer than `repl-timeout`.
    pub fn replication_cron(&mut self, now: u64) {
        let timeout_ms = (self.config.get_int("repl-timeout").max(1) as u64) * 1000;
        let Some(link) = self.master.as_mut() else {
            return;
        };
        // The local file loads first; the master's data replaces it after.
        if self.loading.is_some() {
            return;
        }
        match link.state {
            LinkState::Connect if now >= link.next_attempt_ms => {
                let (tx, rx) = mpsc::channel();
                let cancel = Arc::new(AtomicBool::new(false));
                link.cancel = cancel.clone();
                link.rx = Some(rx);
                link.state = LinkState::Syncing;
                link.sync_started_ms = now;
                let pass = self.config.get_str("masterauth");
                let user = self.config.get_str("masteruser");
                let h = Handshake {
                    host: link.host.clone(),
                    port: link.port,
                    listening_port: self.tcp_port,
                    auth: (!pass.is_empty()).then(|| {
                        (
                            (!user.is_empty()).then(|| user.to_string()),
                            pass.to_string(),
                        )
                    }),
                    timeout: Duration::from_millis(timeout_ms),
                    cached: (!link.replid.is_empty()).then(|| (link.replid.clone(), link.offset)),
                };
                log_at!(Notice, "MASTER <-> REPLICA sync started");
                let spawned =
                    std::thread::Builder::new()
                        .name("ember-repl".into())
                        .spawn(move || {
                            let r = full_sync(&h, &cancel).map_err(|e| e.to_string());
                            let _ = tx.send(r);
                        });
                if let Err(e) = spawned {
                    log_at!(Warning, "Can't start the replication thread: {e}");
                    self.master_retry_later(now);
                }
            }
            LinkState::Connect => {}
            LinkState::Syncing => {
                let got = match link.rx.as_ref().map(Receiver::try_recv) {
                    Some(Ok(r)) => r,
                    Some(Err(TryRecvError::Empty)) => return,
                    Some(Err(TryRecvError::Disconnected)) | None => {
                        Err("the replication thread ended".into())
                    }
                };
                link.rx = None;
                match got {
                    Ok(synced) => self.install_sync(synced),
                    Err(e) => {
                        log_at!(Warning, "Error condition on socket for SYNC: {e}");
                        self.master_retry_later(now);
                    }
                }
            }
            LinkState::Connected => {
                if now.saturating_sub(link.last_io_ms) > timeout_ms {
                    log_at!(Warning, "MASTER timeout: no data nor PING received...");
                    if let Some(fd) = link.fd {
                        if let Some(c) = self.clients.get_mut(fd as usize).and_then(Option::as_mut)
                        {
                            c.close_asap = true;
                            self.queue_write(fd);
                        }
                    }
                } else if now.saturating_sub(link.last_ack_ms) >= ACK_PERIOD_MS {
                    link.last_ack_ms = now;
                    if let Some(fd) = link.fd {
                        let ack = self.master_ack();
                        if let Some(c) = self.clients.get_mut(fd as usize).and_then(Option::as_mut)
                        {
                            c.out.extend_from_slice(&ack);
                            self.queue_write(fd);
                        }
                    }
                }
            }
        }
    }

    fn master_retry_later(&mut self, now: u64) {
        if let Some(link) = self.master.as_mut() {
            link.state = LinkState::Connect;
            link.next_attempt_ms = now + RETRY_MS;
        }
    }

    /// Replaces the dataset with the master's payload and attaches the master client.
    fn install_sync(&mut self, s: Synced) {
        let now = sys::now_ms();
        let Some(fd) = self.adopt_master_client(s.stream.into_raw_fd(), s.addr, s.laddr) else {
            self.master_retry_later(now);
            return;
        };
        let Some(mut c) = self.clients.get_mut(fd as usize).and_then(Option::take) else {
            self.master_retry_later(now);
            return;
        };
        let Some(rdb) = s.rdb else {
            // A continuation: the data stays, the stream goes on from the offset we had.
            c.qbuf = s.rest;
            if let Some(link) = self.master.as_mut() {
                link.state = LinkState::Connected;
                link.fd = Some(fd);
                link.replid = s.replid;
                link.last_io_ms = now;
            }
            self.process_input(&mut c);
            self.finish_client(c);
            return;
        };
        log_at!(Notice, "MASTER <-> REPLICA sync: Flushing old data");
        // Like FLUSHALL: watchers and tracking clients learn the keys are gone.
        let flush = SavedArgv::from_args(&[b"FLUSHALL".to_vec()]);
        self.call(&mut c, flush.argv());
        c.out.clear();
        log_at!(Notice, "MASTER <-> REPLICA sync: Loading DB in memory");
        let start = sys::now_us();
        match ember_core::rdb::load::load_file(&rdb, &mut self.ks, &self.core_cfg, now) {
            Ok(loaded) => {
                self.functions = None;
                self.adopt_loaded(&loaded, "the master's RDB");
                log_at!(
                    Notice,
                    "MASTER <-> REPLICA sync: Finished with success ({} keys in {:.3} seconds)",
                    loaded.keys,
                    (sys::now_us() - start) as f64 / 1e6
                );
            }
            Err(e) => {
                log_at!(
                    Warning,
                    "Failed trying to load the MASTER synchronization DB from socket: {e}"
                );
                self.ks.flush_all();
                self.free_client(c);
                self.master_retry_later(now);
                return;
            }
        }
        self.ks.dirty += 1;
        c.qbuf = s.rest;
        if let Some(link) = self.master.as_mut() {
            link.state = LinkState::Connected;
            link.fd = Some(fd);
            link.replid = s.replid.clone();
            link.offset = s.offset;
            link.last_io_ms = now;
        }
        self.replid = s.replid;
        // The AOF restarts from the new dataset, rewritten at once: until its new base exists it
        // would hold the FLUSHALL without the data.
        if self.aof.enabled() {
            self.finish_bgsave();
            match self.start_aof_rewrite() {
                Ok(()) => self.finish_bgsave(),
                Err(e) => log_at!(Warning, "Can't rewrite the AOF after a full sync: {e}"),
            }
        }
        self.process_input(&mut c);
        self.finish_client(c);
    }
}
