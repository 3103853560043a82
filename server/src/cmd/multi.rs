//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
//!
//! Between MULTI and EXEC the dispatcher queues commands instead of running them (see
//! `Server::call`); EXEC runs the queue unless a command failed to queue (EXECABORT) or a watched key
//! was modified or expired since WATCH (a null reply).

use ember_core::cmd::{acl, flags as f, CmdError, CmdResult};
use ember_core::resp::Argv;

use super::{reply, scmd, ServerCommand};
use crate::client::{Client, MultiState, Watched};
use crate::server::Server;

const TX: u32 = acl::TRANSACTION | acl::FAST;

pub static COMMANDS: &[ServerCommand] = &[
    scmd!(
        "multi",
        1,
        f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::ALLOW_BUSY,
        TX,
        "transactions",
        multi,
        "Mark the start of a transaction block",
        "1.2.0"
    ),
    scmd!(
        "exec",
        1,
        f::NOSCRIPT | f::LOADING | f::STALE | f::SKIP_SLOWLOG,
        acl::TRANSACTION | acl::SLOW,
        "transactions",
        exec,
        "Execute all commands issued after MULTI",
        "1.2.0"
    ),
    scmd!(
        "discard",
        1,
        f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::ALLOW_BUSY,
        TX,
        "transactions",
        discard,
        "Discard all commands issued after MULTI",
        "2.0.0"
    ),
    scmd!(
        "watch",
        -2,
        f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::ALLOW_BUSY,
        TX,
        "transactions",
        watch,
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        "2.2.0"
    ),
    scmd!(
        "unwatch",
        1,
        f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::ALLOW_BUSY,
        TX,
        "transactions",
        unwatch,
        "Forget about all watched keys",
        "2.2.0"
    ),
];

/// Commands that run immediately even between MULTI and EXEC.
pub fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

/// MULTI. O(1).
fn multi(_s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    if c.multi.is_some() {
        return Err(CmdError::new("ERR MULTI calls can not be nested"));
    }
    c.multi = Some(MultiState::default());
    reply(c).ok();
    Ok(())
}

/// DISCARD. O(N) in the queued commands.
fn discard(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    if c.multi.take().is_none() {
        return Err(CmdError::new("ERR DISCARD without MULTI"));
    }
    s.unwatch_all(c);
    reply(c).ok();
    Ok(())
}

/// EXEC. Runs the queued commands and replies with an array of their replies.
fn exec(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    let Some(state) = c.multi.take() else {
        return Err(CmdError::new("ERR EXEC without MULTI"));
    };
    if state.error {
        s.unwatch_all(c);
        return Err(CmdError::new(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let aborted = c.dirty_cas || s.watched_key_expired(c);
    s.unwatch_all(c);
    if aborted {
        reply(c).null_array();
        return Ok(());
    }
    reply(c).array(state.queue.len());
    c.in_exec = true;
    for q in &state.queue {
        s.call(c, q.argv());
    }
    c.in_exec = false;
    Ok(())
}

/// WATCH key [key ...]. O(1) per key.
fn watch(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    if c.multi.is_some() {
        return Err(CmdError::new("ERR WATCH inside MULTI is not allowed"));
    }
    let now = crate::sys::now_ms();
    for key in argv.tail(1).iter() {
        if c.watched
            .iter()
            .any(|w| w.db as usize == c.db && w.key == key)
        {
            continue;
        }
        let db = s.ks.db(c.db);
        let expired_at_watch = db.table().get(key).is_some() && db.peek(key, now).is_none();
        c.watched.push(Watched {
            db: c.db as u32,
            key: key.to_vec(),
            expired_at_watch,
        });
        s.watchers
            .entry((c.db as u32, key.to_vec()))
            .or_default()
            .push(c.fd);
        *s.journal
            .watched
            .entry((c.db as u32, key.to_vec()))
            .or_insert(0) += 1;
    }
    s.refresh_expiry_logging();
    reply(c).ok();
    Ok(())
}

/// UNWATCH. O(N) in the watched keys.
fn unwatch(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    s.unwatch_all(c);
    reply(c).ok();
    Ok(())
}

impl Server {
    /// Forgets every key `c` watches and clears its dirty flag.
    pub fn unwatch_all(&mut self, c: &mut Client) {
        for w in c.watched.drain(..) {
            let k = (w.db, w.key);
            if let Some(fds) = self.watchers.get_mut(&k) {
                fds.retain(|&fd| fd != c.fd);
                if fds.is_empty() {
                    self.watchers.remove(&k);
                }
            }
            if let Some(n) = self.journal.watched.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    self.journal.watched.remove(&k);
                }
            }
        }
        c.dirty_cas = false;
        self.refresh_expiry_logging();
    }

    /// A watched key that was live at WATCH has logically expired since (Redis 7.0's check at EXEC).
    fn watched_key_expired(&self, c: &Client) -> bool {
        let now = crate::sys::now_ms();
        c.watched.iter().any(|w| {
            let db = self.ks.db(w.db as usize);
            !w.expired_at_watch
                && db.table().get(&w.key).is_some()
                && db.peek(&w.key, now).is_none()
        })
    }

    /// Marks the clients watching `key` in `db` as dirty after it changed (`current` is the client
    /// running now, which is out of the table). `existed` is set for flushes and SWAPDB: whether the
    /// key was in the database that went away. Keys that were already expired when watched follow
    /// Redis 7.0: their deletion is no change, and a stale key stays stale.
    pub fn touch_watched_key(
        &mut self,
        current: Option<&mut Client>,
        db: usize,
        key: &[u8],
        existed: Option<bool>,
    ) {
        // Most writes happen with nothing watched: skip building the lookup key.
        if self.watchers.is_empty() {
            return;
        }
        let Some(fds) = self.watchers.get(&(db as u32, key.to_vec())) else {
            return;
        };
        let fds = fds.clone();
        let now = crate::sys::now_ms();
        let table = self.ks.db(db);
        let present = table.table().get(key).is_some();
        let stale = present && table.peek(key, now).is_none();
        let judge = |c: &mut Client| {
            let Some(w) = c
                .watched
                .iter_mut()
                .find(|w| w.db as usize == db && w.key == key)
            else {
                return;
            };
            if w.expired_at_watch {
                if !present {
                    w.expired_at_watch = false;
                    return;
                }
                if stale {
                    return;
                }
            } else if existed == Some(false) && stale {
                w.expired_at_watch = true;
                return;
            }
            c.dirty_cas = true;
        };
        let current_fd = current.as_ref().map(|c| c.fd);
        if let Some(c) = current {
            if fds.contains(&c.fd) {
                judge(c);
            }
        }
        for fd in fds {
            if Some(fd) == current_fd {
                continue;
            }
            if let Some(Some(other)) = self.clients.get_mut(fd as usize) {
                judge(other);
            }
        }
    }
}
