//! Pub/sub delivery: who is subscribed to which channel, pattern and shard channel, publishing a
//! message to them, and keyspace notifications built on top (`__keyspace@<db>__:<key>` and
//! `__keyevent@<db>__:<event>`).
//!
//! Subscribers are identified by their file descriptor; a client's own sets of channels are the other
//! half of the index, so freeing a client removes exactly its entries.

use std::collections::HashMap;
use std::os::fd::RawFd;

use ember_core::glob::glob_match;
use ember_core::journal::class;
use ember_core::resp::{Proto, ReplyWriter};

use crate::client::Client;
use crate::server::Server;

/// Which namespace a subscription lives in.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Space {
    Channel,
    Pattern,
    Shard,
}

#[derive(Default)]
pub struct Registry {
    channels: HashMap<Vec<u8>, Vec<RawFd>>,
    patterns: HashMap<Vec<u8>, Vec<RawFd>>,
    shard: HashMap<Vec<u8>, Vec<RawFd>>,
}

impl Registry {
    fn map(&self, space: Space) -> &HashMap<Vec<u8>, Vec<RawFd>> {
        match space {
            Space::Channel => &self.channels,
            Space::Pattern => &self.patterns,
            Space::Shard => &self.shard,
        }
    }

    fn map_mut(&mut self, space: Space) -> &mut HashMap<Vec<u8>, Vec<RawFd>> {
        match space {
            Space::Channel => &mut self.channels,
            Space::Pattern => &mut self.patterns,
            Space::Shard => &mut self.shard,
        }
    }

    pub fn add(&mut self, space: Space, name: &[u8], fd: RawFd) {
        self.map_mut(space)
            .entry(name.to_vec())
            .or_default()
            .push(fd);
    }

    pub fn remove(&mut self, space: Space, name: &[u8], fd: RawFd) {
        let map = self.map_mut(space);
        if let Some(fds) = map.get_mut(name) {
            fds.retain(|&f| f != fd);
            if fds.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Channels (or shard channels) with at least one subscriber, filtered by an optional glob.
    pub fn active(&self, space: Space, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.map(space)
            .keys()
            .filter(|k| pattern.is_none_or(|p| glob_match(p, k, false)))
            .cloned()
            .collect()
    }

    pub fn subscribers(&self, space: Space, name: &[u8]) -> usize {
        self.map(space).get(name).map_or(0, Vec::len)
    }

    /// Distinct patterns with subscribers (PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }
}

/// One message on its way to its subscribers: encoded once per protocol, then copied into each
/// subscriber's output buffer.
struct Delivery {
    resp2: Vec<u8>,
    resp3: Vec<u8>,
    now_ms: u64,
    limits: (u64, u64, u64),
    receivers: usize,
}

impl Delivery {
    fn new(now_ms: u64, limits: (u64, u64, u64)) -> Self {
        Delivery {
            resp2: Vec::new(),
            resp3: Vec::new(),
            now_ms,
            limits,
            receivers: 0,
        }
    }

    fn encode(&mut self, parts: &[&[u8]]) {
        for (buf, proto) in [
            (&mut self.resp2, Proto::Resp2),
            (&mut self.resp3, Proto::Resp3),
        ] {
            buf.clear();
            let mut w = ReplyWriter::new(buf, proto);
            w.push(parts.len());
            for p in parts {
                w.bulk(p);
            }
        }
    }

    fn frame(&self, proto: Proto) -> &[u8] {
        if proto == Proto::Resp3 {
            &self.resp3
        } else {
            &self.resp2
        }
    }

    /// Appends the message to subscriber `fd` (`current` is out of the client table) and closes
    /// subscribers past the pubsub output limit.
    fn deliver(
        &mut self,
        current: Option<&mut Client>,
        clients: &mut [Option<Box<Client>>],
        pending_writes: &mut Vec<RawFd>,
        stats: &mut crate::server::Stats,
        fd: RawFd,
    ) {
        if let Some(c) = current.filter(|c| c.fd == fd) {
            let frame = self.frame(c.proto);
            c.write_push(|w| w.buf.extend_from_slice(frame));
            self.receivers += 1;
            return;
        }
        let Some(Some(c)) = clients.get_mut(fd as usize) else {
            return;
        };
        c.out.extend_from_slice(self.frame(c.proto));
        self.receivers += 1;
        if crate::server::over_output_limit(c, self.limits, self.now_ms) {
            crate::log_at!(
                Warning,
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.info_line(self.now_ms)
            );
            c.close_asap = true;
            stats.client_outbuf_limit_disconnections += 1;
        }
        if !c.write_queued {
            c.write_queued = true;
            pending_writes.push(fd);
        }
    }
}

impl Server {
    /// Delivers a message to every subscriber of `channel` (and of matching patterns unless `space`
    /// is `Shard`). `current` is the client running the command, which is out of the client table.
    /// Returns the number of receivers.
    pub fn publish(
        &mut self,
        mut current: Option<&mut Client>,
        space: Space,
        channel: &[u8],
        msg: &[u8],
    ) -> usize {
        let kind: &[u8] = if space == Space::Shard {
            b"smessage"
        } else {
            b"message"
        };
        let mut out = Delivery::new(crate::sys::now_ms(), self.hot.pubsub_limit);
        out.encode(&[kind, channel, msg]);
        let Server {
            pubsub,
            clients,
            pending_writes,
            stats,
            ..
        } = self;
        if let Some(fds) = pubsub.map(space).get(channel) {
            for &fd in fds {
                out.deliver(current.as_deref_mut(), clients, pending_writes, stats, fd);
            }
        }
        if space != Space::Shard {
            for (pattern, fds) in &pubsub.patterns {
                if !glob_match(pattern, channel, false) {
                    continue;
                }
                out.encode(&[b"pmessage", pattern, channel, msg]);
                for &fd in fds {
                    out.deliver(current.as_deref_mut(), clients, pending_writes, stats, fd);
                }
            }
        }
        out.receivers
    }

    /// Publishes a keyspace event as configured by `notify-keyspace-events`.
    pub fn notify_keyspace_event(
        &mut self,
        current: Option<&mut Client>,
        db: usize,
        event: &str,
        key: &[u8],
    ) {
        let mask = self.journal.event_mask;
        let mut current = current;
        if mask & class::KEYSPACE != 0 {
            let mut channel = format!("__keyspace@{db}__:").into_bytes();
            channel.extend_from_slice(key);
            self.publish(
                current.as_deref_mut(),
                Space::Channel,
                &channel,
                event.as_bytes(),
            );
        }
        if mask & class::KEYEVENT != 0 {
            let channel = format!("__keyevent@{db}__:{event}").into_bytes();
            self.publish(current, Space::Channel, &channel, key);
        }
    }

    /// Drops every subscription of a client that is going away.
    pub fn unsubscribe_all(&mut self, c: &mut Client) {
        for ch in c.subs.drain() {
            self.pubsub.remove(Space::Channel, &ch, c.fd);
        }
        for p in c.psubs.drain() {
            self.pubsub.remove(Space::Pattern, &p, c.fd);
        }
        for ch in c.ssubs.drain() {
            self.pubsub.remove(Space::Shard, &ch, c.fd);
        }
    }
}
