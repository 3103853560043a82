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
    /// XREADGROUP: the key being deleted or losing its type ends the wait with an error.
    pub gone_error: bool,
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

/// What a written key means for a client waiting on it.
enum Serve {
    /// Run the command again.
    Yes,
    /// Keep waiting.
    No,
    /// End the wait with an error (the stream of a waiting XREADGROUP went away).
    Gone,
    /// End the wait with an error (the group of a waiting XREADGROUP went away).
    NoGroup,
}

/// How a wait ends without the command succeeding.
pub enum Unblock {
    /// Timeout (or CLIENT UNBLOCK ... TIMEOUT): a null array.
    Timeout,
    /// CLIENT UNBLOCK ... ERROR.
    Error,
    /// The stream a waiting XREADGROUP reads was deleted or replaced.
    KeyGone,
    /// The consumer group a waiting XREADGROUP reads through was destroyed.
    NoGroup,
    /// The server became a replica: its data now comes from the master.
    BecameReplica,
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
        let keys: Vec<(u32, Vec<u8>)> = req.keys.iter().map(|k| (db, k.clone())).collect();
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
        let cmd = match &req.argv {
            Some(args) => SavedArgv::from_args(args),
            None => SavedArgv::new(argv),
        };
        c.blocked = Some(Blocked {
            cmd,
            keys,
            deadline_ms,
            wants: wanted_type(info.group),
            gone_error: info.name == "xreadgroup",
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
        self.signal_dbs(|db| db == a || db == b);
    }

    /// Marks every key waited on in database `db` (or all, for FLUSHALL) as ready: a waiting
    /// XREADGROUP learns its stream is gone.
    pub fn signal_flushed(&mut self, db: usize) {
        self.signal_dbs(|d| db == ember_core::journal::ALL_DBS || d == db);
    }

    fn signal_dbs(&mut self, hit: impl Fn(usize) -> bool) {
        if self.blocking.blocked == 0 {
            return;
        }
        let keys: Vec<(u32, Vec<u8>)> = self
            .blocking
            .waiting
            .keys()
            .filter(|(db, _)| hit(*db as usize))
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
                // A key that expired meanwhile is deleted now (and logged as a DEL), as Redis
                // does when it looks at a ready key; its waiters stay blocked.
                let now = crate::sys::now_ms();
                let (db, stats) = self.ks.db_and_stats(key.0 as usize);
                if db.expire_if_needed(&key.1, now, stats) {
                    self.process_journal(None);
                }
                let fds = self.blocking.waiting.get(&key).cloned().unwrap_or_default();
                for fd in fds {
                    let Some(mut c) = self.clients.get_mut(fd as usize).and_then(Option::take)
                    else {
                        continue;
                    };
                    match self.key_can_serve(&key, &c) {
                        Serve::Yes => self.retry_blocked(&mut c),
                        Serve::No => {}
                        Serve::Gone => self.unblock_with(&mut c, Unblock::KeyGone),
                        Serve::NoGroup => self.unblock_with(&mut c, Unblock::NoGroup),
                    }
                    self.resume_client(c);
                }
            }
        }
    }

    /// Whether `key` now holds the type `c`'s command pops from: a key that became a string, or was
    /// deleted, leaves the client blocked, as in Redis, except XREADGROUP's, which ends with an
    /// error.
    fn key_can_serve(&self, key: &(u32, Vec<u8>), c: &Client) -> Serve {
        let Some(b) = c.blocked.as_ref() else {
            return Serve::No;
        };
        if b.wants.is_empty() {
            return Serve::Yes;
        }
        let now = crate::sys::now_ms();
        let value = self
            .ks
            .db(key.0 as usize)
            .peek(&key.1, now)
            .and_then(|e| e.as_whole());
        // Packed values are strings, which no blocked command waits for.
        let holds = value.is_some_and(|v| v.type_name() == b.wants);
        match (holds, b.gone_error) {
            (true, false) => Serve::Yes,
            (true, true) => {
                // XREADGROUP: its group may have gone with the stream staying.
                let argv = b.cmd.argv();
                let group = (1..argv.len().saturating_sub(1))
                    .find(|&i| ember_core::cmd::eq_ci(argv.get(i), "group"))
                    .map(|i| argv.get(i + 1));
                match (value, group) {
                    (Some(ember_core::types::Value::Stream(s)), Some(g))
                        if !s.groups.contains_key(g) =>
                    {
                        Serve::NoGroup
                    }
                    _ => Serve::Yes,
                }
            }
            (false, true) => Serve::Gone,
            (false, false) => Serve::No,
        }
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
        let Some(b) = self.unregister_blocked(c) else {
            return;
        };
        // The command counts as called once its wait ends.
        let idx = self.commands.lookup(b.cmd.argv().get(0));
        if let Some(idx) = idx {
            self.cmd_stats[idx].calls += 1;
        }
        let text = match how {
            Unblock::Timeout => {
                ReplyWriter::new(&mut c.out, c.proto).null_array();
                return;
            }
            Unblock::Error => "UNBLOCKED client unblocked via CLIENT UNBLOCK",
            Unblock::KeyGone => "UNBLOCKED the stream key no longer exists",
            Unblock::NoGroup => {
                "NOGROUP the consumer group this client was blocked on no longer exists"
            }
            Unblock::BecameReplica => {
                "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)"
            }
        };
        if let Some(idx) = idx {
            self.cmd_stats[idx].failed += 1;
        }
        self.reply_error(c, &ember_core::cmd::CmdError::new(text));
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
