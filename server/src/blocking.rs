//! Blocked clients (BLPOP, BLMOVE, BZPOPMIN, ...): a blocking command that finds nothing to pop asks
//! to wait (`Effects::block`); the client is parked with a copy of its command, indexed by the keys
//! it waits on. When one of those keys is written with a value of the type the command pops from,
//! the waiting clients are served in the order they blocked by running their command again; a
//! client whose deadline passes gets a null array, and CLIENT UNBLOCK ends the wait early. The
//! client's pipelined commands after the blocking one wait with it, as in Redis.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::os::fd::RawFd;

use ember_core::cmd::{BlockRequest, CommandInfo};
use ember_core::resp::{Argv, ReplyWriter};

use crate::client::{Client, SavedArgv};
use crate::server::Server;

/// A parked command.
pub struct Blocked {
    pub cmd: SavedArgv,
    pub keys: Vec<(u32, Vec<u8>)>,
    /// Absolute deadline (unix ms), 0 for none; kept across retries.
    pub deadline_ms: u64,
    /// The value type the command pops from ("list", "zset"); other types do not wake it.
    pub wants: &'static str,
}

#[derive(Default)]
pub struct BlockingState {
    /// (db, key) -> clients waiting on it, in blocking order.
    pub waiting: HashMap<(u32, Vec<u8>), Vec<RawFd>>,
    /// Keys written since the waiting clients were last served.
    pub ready: Vec<(u32, Vec<u8>)>,
    /// (deadline, fd) of clients with a timeout.
    pub deadlines: BTreeSet<(u64, RawFd)>,
    pub blocked: usize,
}

/// How a wait ends without the command succeeding.
pub enum Unblock {
    /// Timeout (or CLIENT UNBLOCK ... TIMEOUT): a null array.
    Timeout,
    /// CLIENT UNBLOCK ... ERROR.
    Error,
}

/// The value type a blocking command of `group` pops from ("" for any).
fn wanted_type(group: &str) -> &'static str {
    match group {
        "list" => "list",
        "sorted-set" | "sorted_set" | "zset" => "zset",
        "stream" => "stream",
        _ => "",
    }
}

impl Server {
    /// Parks `c` on the keys of `req` with a copy of the command (`info`, `argv`).
    pub fn block_client(
        &mut self,
        c: &mut Client,
        info: &CommandInfo,
        argv: Argv<'_>,
        req: BlockRequest,
    ) {
        let db = c.db as u32;
        let keys: Vec<(u32, Vec<u8>)> = req.keys.into_iter().map(|k| (db, k)).collect();
        for k in &keys {
            let list = self.blocking.waiting.entry(k.clone()).or_default();
            if !list.contains(&c.fd) {
                list.push(c.fd);
            }
        }
        // A retried command keeps the deadline of its first wait.
        let deadline_ms = c.retry_deadline.take().unwrap_or(req.deadline_ms);
        if deadline_ms > 0 {
            self.blocking.deadlines.insert((deadline_ms, c.fd));
        }
        self.blocking.blocked += 1;
        c.blocked = Some(Blocked {
            cmd: SavedArgv::new(argv),
            keys,
            deadline_ms,
            wants: wanted_type(info.group),
        });
        self.refresh_modified_tracking();
    }

    /// Removes `c` from every wait list (served, timed out, unblocked or gone); returns what it
    /// was waiting in.
    pub fn unregister_blocked(&mut self, c: &mut Client) -> Option<Blocked> {
        let b = c.blocked.take()?;
        for k in &b.keys {
            if let Some(list) = self.blocking.waiting.get_mut(k) {
                list.retain(|&fd| fd != c.fd);
                if list.is_empty() {
                    self.blocking.waiting.remove(k);
                }
            }
        }
        if b.deadline_ms > 0 {
            self.blocking.deadlines.remove(&(b.deadline_ms, c.fd));
        }
        self.blocking.blocked -= 1;
        self.refresh_modified_tracking();
        Some(b)
    }

    /// Notes that a key was written, for the clients waiting on it.
    pub fn signal_key(&mut self, db: usize, key: &[u8]) {
        if self.blocking.blocked > 0
            && self
                .blocking
                .waiting
                .contains_key(&(db as u32, key.to_vec()))
        {
            self.blocking.ready.push((db as u32, key.to_vec()));
        }
    }

    /// Marks every key waited on in databases `a` and `b` as ready (after SWAPDB).
    pub fn signal_swapped(&mut self, a: usize, b: usize) {
        let keys: Vec<(u32, Vec<u8>)> = self
            .blocking
            .waiting
            .keys()
            .filter(|(db, _)| *db as usize == a || *db as usize == b)
            .cloned()
            .collect();
        self.blocking.ready.extend(keys);
    }

    /// Serves clients waiting on keys that were written: each runs its command again, in blocking
    /// order; one that still finds nothing stays blocked.
    pub fn serve_ready_keys(&mut self) {
        // Bounded: each round serves clients already waiting, and a served client leaves its lists.
        let mut rounds = 0;
        while !self.blocking.ready.is_empty() && rounds < 1000 {
            rounds += 1;
            let ready = std::mem::take(&mut self.blocking.ready);
            let mut seen = HashSet::new();
            for key in ready {
                if !seen.insert(key.clone()) {
                    continue;
                }
                let fds = self.blocking.waiting.get(&key).cloned().unwrap_or_default();
                for fd in fds {
                    let Some(mut c) = self.clients.get_mut(fd as usize).and_then(Option::take)
                    else {
                        continue;
                    };
                    if self.key_can_serve(&key, &c) {
                        self.retry_blocked(&mut c);
                    }
                    self.resume_client(c);
                }
            }
        }
    }

    /// Whether `key` now holds the type `c`'s command pops from: a key that became a string, or was
    /// deleted, leaves the client blocked, as in Redis.
    fn key_can_serve(&self, key: &(u32, Vec<u8>), c: &Client) -> bool {
        let wants = c.blocked.as_ref().map_or("", |b| b.wants);
        if wants.is_empty() {
            return true;
        }
        let now = crate::sys::now_ms();
        self.ks
            .db(key.0 as usize)
            .peek(&key.1, now)
            .is_some_and(|e| e.value.type_name() == wants)
    }

    /// Runs a blocked client's command again, keeping its original deadline if it blocks anew.
    fn retry_blocked(&mut self, c: &mut Client) {
        let Some(b) = self.unregister_blocked(c) else {
            return;
        };
        c.retry_deadline = Some(b.deadline_ms);
        self.call(c, b.cmd.argv());
        c.retry_deadline = None;
    }

    /// Puts a client back after it was served or unblocked and runs what it pipelined meanwhile.
    pub fn resume_client(&mut self, mut c: Box<Client>) {
        if c.blocked.is_none() && !c.qbuf.is_empty() {
            self.process_input(&mut c);
        }
        self.finish_client(c);
    }

    /// Ends a wait without success: null array on timeout, an error for CLIENT UNBLOCK ... ERROR.
    pub fn unblock_with(&mut self, c: &mut Client, how: Unblock) {
        self.unregister_blocked(c);
        let mut w = ReplyWriter::new(&mut c.out, c.proto);
        match how {
            Unblock::Timeout => w.null_array(),
            Unblock::Error => w.error(b"UNBLOCKED client unblocked via CLIENT UNBLOCK"),
        }
    }

    /// CLIENT UNBLOCK: ends the wait of client `id`; false when it is not blocked.
    pub fn unblock_by_id(&mut self, id: u64, how: Unblock) -> bool {
        let Some(&fd) = self.tracking.ids.get(&id) else {
            return false;
        };
        let Some(mut c) = self.clients.get_mut(fd as usize).and_then(Option::take) else {
            return false;
        };
        let was_blocked = c.blocked.is_some();
        if was_blocked {
            self.unblock_with(&mut c, how);
        }
        self.resume_client(c);
        was_blocked
    }

    /// Times out clients whose deadline passed.
    pub fn expire_blocked(&mut self, now_ms: u64) {
        while let Some(&(deadline, fd)) = self.blocking.deadlines.first() {
            if deadline > now_ms {
                break;
            }
            let Some(mut c) = self.clients.get_mut(fd as usize).and_then(Option::take) else {
                self.blocking.deadlines.pop_first();
                continue;
            };
            if c.blocked
                .as_ref()
                .is_some_and(|b| b.deadline_ms == deadline)
            {
                self.unblock_with(&mut c, Unblock::Timeout);
            } else {
                self.blocking.deadlines.pop_first();
            }
            self.resume_client(c);
        }
    }

    /// When the next blocked client times out, if any.
    pub fn next_block_deadline(&self) -> Option<u64> {
        self.blocking.deadlines.first().map(|&(d, _)| d)
    }
}
