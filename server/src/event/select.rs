//! The select() backend: portable, and limited to descriptors below FD_SETSIZE, which it refuses with a
//! clear error rather than corrupting the fd_set.

use std::io;
use std::os::fd::RawFd;

use super::{Event, Interest, Poller};
use crate::syscall;

/// select() cannot watch descriptors at or above this.
pub const FD_SETSIZE: usize = libc::FD_SETSIZE;

pub struct Select {
    interests: Vec<Option<Interest>>,
    max_fd: RawFd,
}

impl Select {
    pub fn new() -> Self {
        Select {
            interests: vec![None; FD_SETSIZE],
            max_fd: -1,
        }
    }

    fn slot(&mut self, fd: RawFd) -> io::Result<&mut Option<Interest>> {
        if fd < 0 || fd as usize >= FD_SETSIZE {
            return Err(io::Error::other(format!(
                "descriptor {fd} is past select()'s FD_SETSIZE ({FD_SETSIZE}); use io-backend epoll"
            )));
        }
        Ok(&mut self.interests[fd as usize])
    }
}

impl Default for Select {
    fn default() -> Self {
        Self::new()
    }
}

fn empty_set() -> libc::fd_set {
    // SAFETY: fd_set is plain data; FD_ZERO initializes it fully.
    unsafe {
        let mut s: libc::fd_set = std::mem::zeroed();
        libc::FD_ZERO(&mut s);
        s
    }
}

impl Poller for Select {
    fn add(&mut self, fd: RawFd, interest: Interest) -> io::Result<()> {
        *self.slot(fd)? = Some(interest);
        self.max_fd = self.max_fd.max(fd);
        Ok(())
    }

    fn modify(&mut self, fd: RawFd, interest: Interest) -> io::Result<()> {
        self.add(fd, interest)
    }

    fn remove(&mut self, fd: RawFd) -> io::Result<()> {
        *self.slot(fd)? = None;
        while self.max_fd >= 0 && self.interests[self.max_fd as usize].is_none() {
            self.max_fd -= 1;
        }
        Ok(())
    }

    fn poll(&mut self, events: &mut Vec<Event>, timeout_ms: u64) -> io::Result<()> {
        events.clear();
        let (mut rset, mut wset) = (empty_set(), empty_set());
        for fd in 0..=self.max_fd {
            if let Some(i) = self.interests[fd as usize] {
                // SAFETY: fd < FD_SETSIZE (checked in add), and the sets are initialized.
                unsafe {
                    if i.readable {
                        libc::FD_SET(fd, &mut rset);
                    }
                    if i.writable {
                        libc::FD_SET(fd, &mut wset);
                    }
                }
            }
        }
        let mut tv = libc::timeval {
            tv_sec: (timeout_ms / 1000) as libc::time_t,
            tv_usec: ((timeout_ms % 1000) * 1000) as libc::suseconds_t,
        };
        let n = match syscall!(select(
            self.max_fd + 1,
            &mut rset,
            &mut wset,
            std::ptr::null_mut(),
            &mut tv
        )) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        if n <= 0 {
            return Ok(());
        }
        for fd in 0..=self.max_fd {
            if self.interests[fd as usize].is_none() {
                continue;
            }
            // SAFETY: fd < FD_SETSIZE and the sets were filled by select().
            let (r, w) = unsafe { (libc::FD_ISSET(fd, &rset), libc::FD_ISSET(fd, &wset)) };
            if r || w {
                events.push(Event {
                    fd,
                    readable: r,
                    writable: w,
                });
            }
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "select"
    }
}
