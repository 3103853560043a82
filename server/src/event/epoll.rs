//! The epoll backend (Linux): level-triggered, one `epoll_event` array reused across polls.

use std::io;
use std::os::fd::RawFd;

use super::{Event, Interest, Poller};
use crate::syscall;

/// Most events returned by one `epoll_wait`.
const EVENTS_MAX: usize = 1024;

pub struct Epoll {
    epfd: RawFd,
    buf: Vec<libc::epoll_event>,
}

impl Epoll {
    pub fn new() -> io::Result<Self> {
        let epfd = syscall!(epoll_create1(libc::EPOLL_CLOEXEC))?;
        Ok(Epoll {
            epfd,
            buf: vec![libc::epoll_event { events: 0, u64: 0 }; EVENTS_MAX],
        })
    }

    fn ctl(&mut self, op: libc::c_int, fd: RawFd, interest: Interest) -> io::Result<()> {
        let mut flags = 0u32;
        if interest.readable {
            flags |= libc::EPOLLIN as u32;
        }
        if interest.writable {
            flags |= libc::EPOLLOUT as u32;
        }
        let mut ev = libc::epoll_event {
            events: flags,
            u64: fd as u64,
        };
        syscall!(epoll_ctl(self.epfd, op, fd, &mut ev))?;
        Ok(())
    }
}

impl Poller for Epoll {
    fn add(&mut self, fd: RawFd, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_ADD, fd, interest)
    }

    fn modify(&mut self, fd: RawFd, interest: Interest) -> io::Result<()> {
        self.ctl(libc::EPOLL_CTL_MOD, fd, interest)
    }

    fn remove(&mut self, fd: RawFd) -> io::Result<()> {
        let mut ev = libc::epoll_event { events: 0, u64: 0 };
        syscall!(epoll_ctl(self.epfd, libc::EPOLL_CTL_DEL, fd, &mut ev))?;
        Ok(())
    }

    fn poll(&mut self, events: &mut Vec<Event>, timeout_ms: u64) -> io::Result<()> {
        events.clear();
        let timeout = timeout_ms.min(i32::MAX as u64) as i32;
        let n = match syscall!(epoll_wait(
            self.epfd,
            self.buf.as_mut_ptr(),
            self.buf.len() as i32,
            timeout
        )) {
            Ok(n) => n as usize,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
            Err(e) => return Err(e),
        };
        for ev in &self.buf[..n] {
            let bits = ev.events;
            let err = bits & (libc::EPOLLERR | libc::EPOLLHUP) as u32 != 0;
            events.push(Event {
                fd: ev.u64 as RawFd,
                readable: bits & libc::EPOLLIN as u32 != 0 || err,
                writable: bits & libc::EPOLLOUT as u32 != 0 || err,
            });
        }
        Ok(())
    }

    fn name(&self) -> &'static str {
        "epoll"
    }
}

impl Drop for Epoll {
    fn drop(&mut self) {
        crate::sys::close(self.epfd);
    }
}
