//! Client-side caching (CLIENT TRACKING): which clients cached which keys, and the invalidation
//! messages sent when those keys change.
//!
//! Like Redis, the tracking table is keyed by key name alone (not database): a client in default
//! mode is remembered for every key its read-only commands touched, and told once when the key
//! changes. BCAST clients register prefixes instead; the keys changed during one event-loop turn
//! are sent to them per prefix before the server sleeps. Invalidations go to the client itself as
//! RESP3 pushes or, with REDIRECT, to another client (a RESP2 redirect target receives them on the
//! `__redis__:invalidate` channel it subscribed to).

use std::collections::{HashMap, HashSet};
use std::os::fd::RawFd;

use ember_core::resp::Proto;

use crate::client::Client;
use crate::server::Server;

/// The channel RESP2 redirect targets receive invalidations on.
pub const INVALIDATE_CHANNEL: &[u8] = b"__redis__:invalidate";

/// A client's tracking settings (CLIENT TRACKING ON ...).
#[derive(Clone, Debug, Default)]
pub struct Tracking {
    /// Client id invalidations go to instead (0: the client itself).
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    pub prefixes: Vec<Vec<u8>>,
    /// CLIENT CACHING YES/NO for the next command.
    pub caching: Option<bool>,
    /// The redirect target went away.
    pub broken_redirect: bool,
}

/// What an invalidation message carries.
pub enum Payload<'a> {
    Keys(&'a [Vec<u8>]),
    /// Everything (a flush): a null instead of the key array.
    All,
}

#[derive(Default)]
pub struct BcastPrefix {
    pub clients: HashSet<u64>,
    /// Keys changed since the last broadcast, with the id of the client that changed each.
    pub pending: Vec<(Vec<u8>, u64)>,
}

#[derive(Default)]
pub struct TrackingState {
    /// Key -> ids of the clients that may have cached it.
    pub table: HashMap<Vec<u8>, HashSet<u64>>,
    pub prefixes: HashMap<Vec<u8>, BcastPrefix>,
    /// Client id -> file descriptor, for every connected client.
    pub ids: HashMap<u64, RawFd>,
    pub clients: usize,
    /// Invalidations for the client whose command is running, sent after its reply.
    pub pending_self: Vec<Option<Vec<Vec<u8>>>>,
}

impl TrackingState {
    /// Total (key, client) pairs (INFO `tracking_total_items`).
    pub fn items(&self) -> usize {
        self.table.values().map(HashSet::len).sum()
    }
}

fn write_invalidation(dest: &mut Client, redirected: bool, payload: &Payload<'_>) -> bool {
    let resp3 = dest.proto == Proto::Resp3;
    let pubsub_redirect = redirected && dest.is_pubsub();
    if !resp3 && !pubsub_redirect {
        return false;
    }
    dest.write_push(|w| {
        if resp3 {
            w.push(2);
            w.bulk(b"invalidate");
        } else {
            w.push(3);
            w.bulk(b"message");
            w.bulk(INVALIDATE_CHANNEL);
        }
        match payload {
            Payload::Keys(keys) => {
                w.array(keys.len());
                for k in keys.iter() {
                    w.bulk(k);
                }
            }
            Payload::All => w.null(),
        }
    });
    true
}

impl Server {
    /// Sends an invalidation meant for client `target` (following its redirect). `current` is the
    /// client running a command; messages for it wait until after its reply.
    pub fn send_invalidation(
        &mut self,
        current: Option<&mut Client>,
        target: u64,
        payload: Payload<'_>,
    ) {
        let current_id = current.as_ref().map(|c| c.id);
        let redirect = if current_id == Some(target) {
            current
                .as_ref()
                .and_then(|c| c.tracking.as_ref())
                .map(|t| t.redirect)
        } else {
            self.client_by_id(target)
                .and_then(|c| c.tracking.as_ref())
                .map(|t| t.redirect)
        };
        let Some(redirect) = redirect else { return };
        let dest_id = if redirect != 0 { redirect } else { target };
        let dest_exists = current_id == Some(dest_id) || self.client_by_id(dest_id).is_some();
        if !dest_exists {
            // The redirect target is gone: tell a RESP3 client once per message, as Redis does.
            let notify = |c: &mut Client| {
                if let Some(t) = c.tracking.as_mut() {
                    t.broken_redirect = true;
                }
                if c.proto == Proto::Resp3 {
                    c.write_push(|w| {
                        w.push(2);
                        w.bulk(b"tracking-redir-broken");
                        w.int(redirect as i64);
                    });
                }
            };
            match current {
                Some(c) if c.id == target => notify(c),
                _ => {
                    if let Some(fd) = self.tracking.ids.get(&target).copied() {
                        if let Some(Some(c)) = self.clients.get_mut(fd as usize) {
                            notify(c);
                            self.queue_write(fd);
                        }
                    }
                }
            }
            return;
        }
        if current_id == Some(dest_id) && self.executing {
            let keys = match payload {
                Payload::Keys(k) => Some(k.to_vec()),
                Payload::All => None,
            };
            self.tracking.pending_self.push(keys);
            return;
        }
        if let Some(c) = current.filter(|c| c.id == dest_id) {
            write_invalidation(c, redirect != 0, &payload);
            return;
        }
        let Some(fd) = self.tracking.ids.get(&dest_id).copied() else {
            return;
        };
        if let Some(Some(dest)) = self.clients.get_mut(fd as usize) {
            if write_invalidation(dest, redirect != 0, &payload) {
                self.queue_write(fd);
            }
        }
    }

    /// Writes the invalidations held back for the client whose command just finished.
    pub fn flush_self_invalidations(&mut self, c: &mut Client) {
        let redirected = c.tracking.as_ref().is_some_and(|t| t.redirect != 0);
        for keys in std::mem::take(&mut self.tracking.pending_self) {
            let payload = match &keys {
                Some(k) => Payload::Keys(k),
                None => Payload::All,
            };
            write_invalidation(c, redirected, &payload);
        }
    }

    pub fn client_by_id(&self, id: u64) -> Option<&Client> {
        let fd = *self.tracking.ids.get(&id)?;
        self.clients.get(fd as usize)?.as_deref()
    }

    /// A key changed: invalidate it for the clients that cached it, and queue it for BCAST prefixes.
    /// `by_current` says the running client changed it (NOLOOP skips it); expiry and eviction are
    /// the server's doing.
    pub fn tracking_key_changed(
        &mut self,
        mut current: Option<&mut Client>,
        key: &[u8],
        by_current: bool,
    ) {
        if self.tracking.clients == 0 && self.tracking.table.is_empty() {
            return;
        }
        let origin = current.as_ref().filter(|_| by_current).map_or(0, |c| c.id);
        if let Some(ids) = self.tracking.table.remove(key) {
            let keys = [key.to_vec()];
            for id in ids {
                // The table is not cleaned when a client stops tracking or switches to BCAST: skip
                // such clients here, as Redis does.
                let tracking = match current.as_ref() {
                    Some(c) if c.id == id => c.tracking.as_ref(),
                    _ => self.client_by_id(id).and_then(|c| c.tracking.as_ref()),
                };
                let mode = tracking.map(|t| (t.bcast, t.noloop && id == origin));
                if matches!(mode, Some((false, false))) {
                    self.send_invalidation(current.as_deref_mut(), id, Payload::Keys(&keys));
                }
            }
        }
        for (prefix, state) in self.tracking.prefixes.iter_mut() {
            if key.starts_with(prefix) {
                state.pending.push((key.to_vec(), origin));
            }
        }
    }

    /// A database was flushed: every tracking client is told to drop everything; FLUSHALL also
    /// forgets the whole table.
    pub fn tracking_flushed(&mut self, mut current: Option<&mut Client>, all_dbs: bool) {
        if self.tracking.clients == 0 {
            // Nobody to tell, but keys remembered for clients that stopped tracking still go.
            if all_dbs {
                self.tracking.table.clear();
                self.refresh_modified_tracking();
            }
            return;
        }
        let mut ids: Vec<u64> = self
            .clients
            .iter()
            .flatten()
            .filter(|c| c.tracking.is_some())
            .map(|c| c.id)
            .collect();
        if let Some(c) = current.as_ref().filter(|c| c.tracking.is_some()) {
            ids.push(c.id);
        }
        for id in ids {
            self.send_invalidation(current.as_deref_mut(), id, Payload::All);
        }
        if all_dbs {
            self.tracking.table.clear();
        }
    }

    /// Before sleeping: sends BCAST invalidations collected during this loop turn and trims the
    /// tracking table to `tracking-table-max-keys`.
    pub fn tracking_before_sleep(&mut self) {
        if self.tracking.clients == 0 {
            return;
        }
        let mut messages: Vec<(u64, Vec<Vec<u8>>)> = Vec::new();
        for state in self.tracking.prefixes.values_mut() {
            if state.pending.is_empty() {
                continue;
            }
            let pending = std::mem::take(&mut state.pending);
            for &id in &state.clients {
                let noloop = self
                    .tracking
                    .ids
                    .get(&id)
                    .and_then(|&fd| self.clients.get(fd as usize)?.as_ref())
                    .and_then(|c| c.tracking.as_ref())
                    .is_some_and(|t| t.noloop);
                let keys: Vec<Vec<u8>> = pending
                    .iter()
                    .filter(|(_, origin)| !(noloop && *origin == id))
                    .map(|(k, _)| k.clone())
                    .collect();
                if !keys.is_empty() {
                    messages.push((id, keys));
                }
            }
        }
        for (id, keys) in messages {
            self.send_invalidation(None, id, Payload::Keys(&keys));
        }
        let max = self.hot.tracking_table_max_keys;
        if max > 0 && self.tracking.table.len() > max {
            let excess: Vec<Vec<u8>> = self
                .tracking
                .table
                .keys()
                .take(self.tracking.table.len() - max)
                .cloned()
                .collect();
            for key in excess {
                self.tracking_key_changed(None, &key, false);
            }
        }
    }

    /// Remembers the keys a read-only command of a default-mode tracking client touched.
    pub fn tracking_remember<'a>(&mut self, c: &Client, keys: impl Iterator<Item = &'a [u8]>) {
        let Some(t) = c.tracking.as_ref() else { return };
        if t.bcast || (t.optin && t.caching != Some(true)) || (t.optout && t.caching == Some(false))
        {
            return;
        }
        for k in keys {
            // Copy the key only the first time it is tracked.
            match self.tracking.table.get_mut(k) {
                Some(ids) => {
                    ids.insert(c.id);
                }
                None => {
                    self.tracking
                        .table
                        .insert(k.to_vec(), HashSet::from([c.id]));
                }
            }
        }
    }

    /// Turns tracking off for a client (CLIENT TRACKING OFF, disconnect).
    pub fn tracking_disable(&mut self, c: &mut Client) {
        let Some(t) = c.tracking.take() else { return };
        for p in &t.prefixes {
            if let Some(state) = self.tracking.prefixes.get_mut(p) {
                state.clients.remove(&c.id);
                if state.clients.is_empty() {
                    self.tracking.prefixes.remove(p);
                }
            }
        }
        self.tracking.clients -= 1;
        self.refresh_modified_tracking();
    }

    /// Turns tracking on with `t`'s settings.
    pub fn tracking_enable(&mut self, c: &mut Client, mut t: Tracking) {
        if t.bcast && t.prefixes.is_empty() {
            t.prefixes.push(Vec::new());
        }
        for p in &t.prefixes {
            self.tracking
                .prefixes
                .entry(p.clone())
                .or_default()
                .clients
                .insert(c.id);
        }
        if c.tracking.is_none() {
            self.tracking.clients += 1;
        } else if let Some(old) = c.tracking.take() {
            // Re-enabling keeps the old prefixes registered, as Redis does.
            for p in old.prefixes {
                if !t.prefixes.contains(&p) {
                    t.prefixes.push(p);
                }
            }
        }
        c.tracking = Some(t);
        self.refresh_modified_tracking();
    }
}
