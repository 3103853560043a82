//! Thin helpers over libc: every call goes through [`syscall!`], which turns -1 into `io::Error`.

use std::io;
use std::os::fd::RawFd;

/// Calls a libc function and maps a -1 return to the thread's `errno` as an `io::Error`.
/// Call sites pass plain values and pointers they have just set up, never unsafe expressions, which is
/// why main.rs allows `clippy::macro_metavars_in_unsafe` for this macro.
#[macro_export]
macro_rules! syscall {
    ($fn:ident ( $($arg:expr),* $(,)? )) => {{
        // SAFETY: the caller passes arguments valid for this libc call; see each call site.
        let res = unsafe { libc::$fn($($arg),*) };
        if res == -1 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    let flags = syscall!(fcntl(fd, libc::F_GETFL))?;
    syscall!(fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK))?;
    Ok(())
}

/// Reads up to `max` bytes, appending them to `buf` without zero-filling the spare capacity first.
/// `Ok(0)` means end of stream.
pub fn read_append(fd: RawFd, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
    buf.reserve(max);
    let len = buf.len();
    let spare = buf.spare_capacity_mut();
    let n = syscall!(read(fd, spare.as_mut_ptr().cast(), max))? as usize;
    // SAFETY: `reserve` guaranteed `max` writable bytes past `len`, read() initialized exactly the `n`
    // bytes it reports, and `n <= max`.
    unsafe { buf.set_len(len + n) };
    Ok(n)
}

pub fn write(fd: RawFd, buf: &[u8]) -> io::Result<usize> {
    let n = syscall!(write(fd, buf.as_ptr().cast(), buf.len()))?;
    Ok(n as usize)
}

pub fn close(fd: RawFd) {
    let _ = syscall!(close(fd));
}

/// Sets an integer socket option.
pub fn setsockopt_int(
    fd: RawFd,
    level: libc::c_int,
    name: libc::c_int,
    value: libc::c_int,
) -> io::Result<()> {
    syscall!(setsockopt(
        fd,
        level,
        name,
        (&value as *const libc::c_int).cast(),
        std::mem::size_of::<libc::c_int>() as libc::socklen_t
    ))?;
    Ok(())
}

/// Turns on TCP keepalive with the given idle interval (Redis's `anetKeepAlive`).
pub fn set_keepalive(fd: RawFd, interval_s: i32) -> io::Result<()> {
    setsockopt_int(fd, libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1)?;
    #[cfg(target_os = "linux")]
    {
        setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, interval_s.max(1))?;
        setsockopt_int(
            fd,
            libc::IPPROTO_TCP,
            libc::TCP_KEEPINTVL,
            (interval_s / 3).max(1),
        )?;
        setsockopt_int(fd, libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3)?;
    }
    Ok(())
}

/// Unix milliseconds from the real-time clock.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Unix microseconds from the real-time clock.
pub fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros() as u64)
        .unwrap_or(0)
}

/// The process's user and system CPU time in seconds.
pub fn cpu_times() -> (f64, f64) {
    // SAFETY: `rusage` is plain data; getrusage fills it and we read it only on success.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    if syscall!(getrusage(libc::RUSAGE_SELF, &mut ru)).is_err() {
        return (0.0, 0.0);
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

/// Memory the kernel says is available for new allocations (`MemAvailable` in /proc/meminfo),
/// when it says.
pub fn mem_available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}
