//! The event loop's readiness layer: one [`Poller`] trait, one backend per file (Redis's `ae.c` with
//! `ae_epoll.c` and `ae_select.c`). epoll is the default on Linux; select() is the portable fallback and
//! can be chosen with `io-backend select`. Timers are the server's business: it passes the time until its
//! next cron tick as the poll timeout.

pub mod epoll;
pub mod select;

use std::io;
use std::os::fd::RawFd;

/// What a registered descriptor waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Interest {
    pub readable: bool,
    pub writable: bool,
}

impl Interest {
    pub const READ: Interest = Interest {
        readable: true,
        writable: false,
    };
    pub const READ_WRITE: Interest = Interest {
        readable: true,
        writable: true,
    };
}

/// A descriptor that became ready.
#[derive(Clone, Copy, Debug)]
pub struct Event {
    pub fd: RawFd,
    pub readable: bool,
    pub writable: bool,
}

pub trait Poller {
    /// Starts watching `fd`; fails when the backend cannot (select's FD_SETSIZE).
    fn add(&mut self, fd: RawFd, interest: Interest) -> io::Result<()>;
    fn modify(&mut self, fd: RawFd, interest: Interest) -> io::Result<()>;
    fn remove(&mut self, fd: RawFd) -> io::Result<()>;
    /// Waits up to `timeout_ms` and appends ready descriptors to `events` (cleared first).
    fn poll(&mut self, events: &mut Vec<Event>, timeout_ms: u64) -> io::Result<()>;
    /// The backend's name, for INFO and logs.
    fn name(&self) -> &'static str;
}

/// Makes the backend named by the `io-backend` config (`epoll` or `select`).
pub fn new_poller(name: &str) -> io::Result<Box<dyn Poller>> {
    match name {
        #[cfg(target_os = "linux")]
        "epoll" => Ok(Box::new(epoll::Epoll::new()?)),
        _ => Ok(Box::new(select::Select::new())),
    }
}
