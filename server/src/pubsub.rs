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
    fn map(&mut self, space: Space) -> &mut HashMap<Vec<u8>, Vec<RawFd>> {
        match space {
            Space::Channel => &mut self.channels,
            Space::Pattern => &mut self.patterns,
            Space::Shard => &mut self.shard,
        }
    }

    pub fn add(&mut self, space: Space, name: &[u8], fd: RawFd) {
        self.map(space).entry(name.to_vec()).or_default().push(fd);
    }

    pub fn remove(&mut self, space: Space, name: &[u8], fd: RawFd) {
        let map = self.map(space);
        if let Some(fds) = map.get_mut(name) {
            fds.retain(|&f| f != fd);
            if fds.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Channels (or shard channels) with at least one subscriber, filtered by an optional glob.
    pub fn active(&self, space: Space, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let map = if space == Space::Shard {
            &self.shard
        } else {
            &self.channels
        };
        map.keys()
            .filter(|k| pattern.is_none_or(|p| glob_match(p, k, false)))
            .cloned()
            .collect()
    }

    pub fn subscribers(&self, space: Space, name: &[u8]) -> usize {
        let map = match space {
            Space::Channel => &self.channels,
            Space::Pattern => &self.patterns,
            Space::Shard => &self.shard,
        };
        map.get(name).map_or(0, Vec::len)
    }

    /// Distinct patterns with subscribers (PUBSUB NUMPAT).
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }
}

/// Writes one pub/sub message (`message`, `pmessage`, `smessage`, ...) in the client's protocol.
fn write_message(c: &mut Client, parts: &[&[u8]]) {
    c.write_push(|w| {
        w.push(parts.len());
        for p in parts {
            w.bulk(p);
        }
    });
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
        let mut receivers = 0;
        let direct = if space == Space::Shard {
            &self.pubsub.shard
        } else {
            &self.pubsub.channels
        };
        let fds: Vec<RawFd> = direct.get(channel).cloned().unwrap_or_default();
        let kind: &[u8] = if space == Space::Shard {
            b"smessage"
        } else {
            b"message"
        };
        for fd in fds {
            receivers += self.deliver(current.as_deref_mut(), fd, &[kind, channel, msg]) as usize;
        }
        if space != Space::Shard && !self.pubsub.patterns.is_empty() {
            let matched: Vec<(Vec<u8>, Vec<RawFd>)> = self
                .pubsub
                .patterns
                .iter()
                .filter(|(p, _)| glob_match(p, channel, false))
                .map(|(p, fds)| (p.clone(), fds.clone()))
                .collect();
            for (pattern, fds) in matched {
                for fd in fds {
                    let parts: [&[u8]; 4] = [b"pmessage", &pattern, channel, msg];
                    receivers += self.deliver(current.as_deref_mut(), fd, &parts) as usize;
                }
            }
        }
        receivers
    }

    fn deliver(&mut self, current: Option<&mut Client>, fd: RawFd, parts: &[&[u8]]) -> bool {
        if let Some(c) = current.filter(|c| c.fd == fd) {
            write_message(c, parts);
            return true;
        }
        let limits = self.hot.pubsub_limit;
        let Some(Some(c)) = self.clients.get_mut(fd as usize) else {
            return false;
        };
        write_message(c, parts);
        if crate::server::over_output_limit(c, limits, crate::sys::now_ms()) {
            crate::log_at!(
                Warning,
                "Client {} scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.info_line(crate::sys::now_ms())
            );
            c.close_asap = true;
            self.stats.client_outbuf_limit_disconnections += 1;
        }
        self.pending_writes.push(fd);
        true
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
