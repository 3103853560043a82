//! Typed calls for the collection types: hashes, lists, sets and sorted sets, one module per
//! family as in core (`hash`, `list`, `set`, `zset`), with the shared plumbing in this file.
//!
//! Unlike the string calls in [`crate::typed`], these build an argument vector and run the core
//! command through the same path as `ember_exec` (arity, WRONGTYPE, maxmemory, keyspace events,
//! lazy expiry), then read the RESP3 reply that path leaves in the handle. The C caller gets typed
//! arguments and results without building an argv or walking a reply tree for the one-value
//! answers; several values come back as an `ember_reply` (the one ember_exec() returns).
//!
//! Conventions shared by every call here:
//! - arrays of buffers are `count` plus parallel arrays of pointers and lengths; `count` 0 is
//!   EMBER_ERR_INVALID (Redis's wrong-arity text), a NULL array EMBER_ERR_NULL, and nothing runs;
//! - counts written through an optional out-parameter (NULL to ignore) are Redis's integer reply;
//! - a missing key or member gives EMBER_ERR_NOT_FOUND with ember_errmsg() "" where Redis replies
//!   nil, and reads as empty where Redis replies with an empty aggregate;
//! - a pointer lent by the previous call may be passed as an argument: arguments are copied first.

pub mod hash;
pub mod list;
pub mod set;
pub mod zset;

use std::fmt::Display;
use std::io::Write;
use std::ops::Range;

use ember_core::cmd::err;
use ember_core::reply::{parse_reply, Reply as Tree};
use ember_core::resp::{Argv, Proto};

use crate::ember_status::{self, *};
use crate::reply::ember_reply;
use crate::typed::handle;
use crate::{bytes_of, element_of, ember_db, ffi_boundary, status_of};

/// A C array of `count` buffers: `ptrs[i]` points to `lens[i]` bytes.
#[derive(Clone, Copy)]
struct Bufs {
    count: usize,
    ptrs: *const *const u8,
    lens: *const usize,
}

impl Bufs {
    fn new(count: usize, ptrs: *const *const u8, lens: *const usize) -> Bufs {
        Bufs { count, ptrs, lens }
    }

    /// Buffer `i`, or EMBER_ERR_NULL for a NULL pointer with a non-zero length.
    ///
    /// # Safety
    /// `i < count`, and the entry point's contract holds: both arrays have `count` readable
    /// elements, checked non-NULL by [`check_arrays`].
    unsafe fn get<'a>(self, i: usize) -> Result<&'a [u8], ember_status> {
        debug_assert!(i < self.count);
        // SAFETY: forwarded from this function's contract.
        unsafe { element_of(self.ptrs, self.lens, i) }
    }
}

/// A command's arguments under construction in the handle's argument buffer.
struct Args<'a> {
    buf: &'a mut Vec<u8>,
    ranges: &'a mut Vec<Range<usize>>,
}

impl Args<'_> {
    fn push(&mut self, arg: &[u8]) {
        let start = self.buf.len();
        self.buf.extend_from_slice(arg);
        self.ranges.push(start..self.buf.len());
    }

    /// Pushes the text of `arg` (a number, or a score bound such as `(1.5`).
    fn push_text(&mut self, arg: impl Display) {
        let start = self.buf.len();
        // Writing into a Vec cannot fail.
        let _ = write!(self.buf, "{arg}");
        self.ranges.push(start..self.buf.len());
    }

    /// Pushes every buffer of `list`.
    ///
    /// # Safety
    /// As [`Bufs::get`] for every index below `list.count`.
    unsafe fn push_all(&mut self, list: Bufs) -> Result<(), ember_status> {
        for i in 0..list.count {
            // SAFETY: `i < list.count`; the rest is this function's contract.
            self.push(unsafe { list.get(i) }?);
        }
        Ok(())
    }
}

/// The common prologue of the collection calls: checks the handle and the key, clears the last
/// error, and runs `f` inside the panic boundary. The command path reads the clock itself.
fn with_key(
    db: *mut ember_db,
    key: *const u8,
    keylen: usize,
    f: impl FnOnce(&mut ember_db, &[u8]) -> ember_status,
) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        let Ok(key) = bytes_of(key, keylen) else {
            return db.fail(EMBER_ERR_NULL, "NULL key with a non-zero length");
        };
        db.clear_error();
        f(db, key)
    })
}

/// Checks the arrays of a multi-element call to command `name` (lowercase): `count` 0 is Redis's
/// arity error, a NULL array with a non-zero count EMBER_ERR_NULL.
fn check_arrays(
    db: &mut ember_db,
    name: &str,
    count: usize,
    arrays: &[*const ()],
) -> Result<(), ember_status> {
    if count == 0 {
        return Err(db.fail(EMBER_ERR_INVALID, &err::wrong_arity(name).0));
    }
    if arrays.iter().any(|p| p.is_null()) {
        return Err(db.fail(EMBER_ERR_NULL, "NULL array with a non-zero count"));
    }
    Ok(())
}

/// Runs `name key ...` through the core command path exactly as ember_exec() would, leaving the
/// RESP3 reply in `db.out`; `build` appends the arguments after the key. A failure (a NULL element,
/// or the command's error reply) is recorded as the last error and returned as `Err`.
fn run(
    db: &mut ember_db,
    name: &str,
    key: &[u8],
    build: impl FnOnce(&mut Args<'_>) -> Result<(), ember_status>,
) -> Result<(), ember_status> {
    // Taken out of the handle while `run` borrows it mutably, and put back for the next call.
    let mut buf = std::mem::take(&mut db.args);
    let mut ranges = std::mem::take(&mut db.ranges);
    buf.clear();
    ranges.clear();
    let mut args = Args {
        buf: &mut buf,
        ranges: &mut ranges,
    };
    args.push(name.as_bytes());
    args.push(key);
    let built = build(&mut args);
    let result = built.map(|()| db.run(Argv::new(&buf, &ranges), Proto::Resp3));
    db.args = buf;
    db.ranges = ranges;
    match result {
        Err(status) => Err(db.fail(status, "NULL element pointer with a non-zero length")),
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(db.fail(status_of(&e), &e.0)),
    }
}

/// The reply in `db.out` as a tree.
fn reply_tree(db: &mut ember_db) -> Result<Tree, ember_status> {
    match parse_reply(&db.out) {
        Ok((tree, _)) => Ok(tree),
        Err(_) => Err(unexpected(db)),
    }
}

/// The non-negative integer reply in `db.out` (a count, a length, a rank); None for a nil reply.
fn reply_index(db: &mut ember_db) -> Result<Option<usize>, ember_status> {
    match reply_tree(db)? {
        Tree::Integer(n) => usize::try_from(n).map(Some).map_err(|_| unexpected(db)),
        Tree::Null => Ok(None),
        _ => Err(unexpected(db)),
    }
}

/// Runs the command and writes its count reply to `*out` (which may be NULL).
fn run_count(
    db: &mut ember_db,
    name: &str,
    key: &[u8],
    out: *mut usize,
    build: impl FnOnce(&mut Args<'_>) -> Result<(), ember_status>,
) -> ember_status {
    if let Err(status) = run(db, name, key, build) {
        return status;
    }
    let n = match reply_index(db) {
        Ok(Some(n)) => n,
        Ok(None) => return unexpected(db),
        Err(status) => return status,
    };
    // SAFETY: `out` is NULL or writable per the entry point's contract.
    unsafe { put(out, n) };
    EMBER_OK
}

/// Runs the command and hands its whole reply to C as an `ember_reply` in `*out`.
fn run_reply(
    db: &mut ember_db,
    name: &str,
    key: &[u8],
    out: *mut *mut ember_reply,
    build: impl FnOnce(&mut Args<'_>) -> Result<(), ember_status>,
) -> ember_status {
    if out.is_null() {
        return db.fail(EMBER_ERR_NULL, "NULL out-parameter");
    }
    let tree = match run(db, name, key, build).and_then(|()| reply_tree(db)) {
        Ok(tree) => tree,
        Err(status) => return status,
    };
    // SAFETY: `out` was checked non-NULL and is writable per the entry point's contract.
    unsafe { *out = Box::into_raw(Box::new(ember_reply(tree))) };
    EMBER_OK
}

/// Runs the command and lends the bytes of its bulk-string reply through `*val`/`*vallen`:
/// EMBER_ERR_NOT_FOUND (last error "") for a nil reply.
fn run_lend(
    db: &mut ember_db,
    name: &str,
    key: &[u8],
    val: *mut *const u8,
    vallen: *mut usize,
    build: impl FnOnce(&mut Args<'_>) -> Result<(), ember_status>,
) -> ember_status {
    if val.is_null() || vallen.is_null() {
        return db.fail(EMBER_ERR_NULL, "NULL out-parameter");
    }
    if let Err(status) = run(db, name, key, build) {
        return status;
    }
    let range = match bulk_range(&db.out) {
        Some(Some(range)) => range,
        Some(None) => return EMBER_ERR_NOT_FOUND,
        None => return unexpected(db),
    };
    let bytes = &db.out[range];
    // SAFETY: both pointers were checked non-NULL and are writable per the contract; the bytes
    // stay in `db.out` until the next call on this handle, as documented.
    unsafe {
        *val = bytes.as_ptr();
        *vallen = bytes.len();
    }
    EMBER_OK
}

/// Where the bytes of a RESP3 bulk-string reply (`$<len>\r\n<bytes>\r\n`) sit in `out`;
/// `Some(None)` for a nil reply (`_\r\n`), None for anything else.
fn bulk_range(out: &[u8]) -> Option<Option<Range<usize>>> {
    match out.first()? {
        b'_' => Some(None),
        b'$' => {
            let eol = out.iter().position(|&b| b == b'\r')?;
            let len: usize = std::str::from_utf8(&out[1..eol]).ok()?.parse().ok()?;
            let start = eol.checked_add(2)?;
            let end = start.checked_add(len)?;
            let crlf = out.get(end..end.checked_add(2)?)?;
            (out.get(eol + 1) == Some(&b'\n') && crlf == b"\r\n").then_some(Some(start..end))
        }
        _ => None,
    }
}

/// A reply of a shape the command never sends: a bug in Ember, reported as such.
fn unexpected(db: &mut ember_db) -> ember_status {
    db.fail(EMBER_ERR_PANIC, "internal error: unexpected reply")
}

/// Writes `v` to `*out` unless `out` is NULL.
///
/// # Safety
/// `out` is NULL or writable.
unsafe fn put<T>(out: *mut T, v: T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per this function's contract.
        unsafe { *out = v };
    }
}

/// The body of the calls whose arguments are one array of buffers and whose reply is a count.
///
/// # Safety
/// `ptrs`/`lens` are NULL or have `count` elements of readable buffers; `out` is NULL or writable.
unsafe fn run_multi(
    db: &mut ember_db,
    name: &str,
    key: &[u8],
    count: usize,
    ptrs: *const *const u8,
    lens: *const usize,
    out: *mut usize,
) -> ember_status {
    if let Err(status) = check_arrays(db, name, count, &[ptrs.cast(), lens.cast()]) {
        return status;
    }
    let list = Bufs::new(count, ptrs, lens);
    // SAFETY: the arrays were checked non-NULL; the caller guarantees the rest.
    run_count(db, name, key, out, |args| unsafe { args.push_all(list) })
}

/// The body of the one-member lookups (`name key member`): checks `member` and that the required
/// out-parameter `out` is non-NULL, runs the command and returns its reply.
fn run_member<T>(
    db: &mut ember_db,
    name: &str,
    key: &[u8],
    member: *const u8,
    memberlen: usize,
    out: *mut T,
) -> Result<Tree, ember_status> {
    let Ok(member) = bytes_of(member, memberlen) else {
        return Err(db.fail(EMBER_ERR_NULL, "NULL member with a non-zero length"));
    };
    if out.is_null() {
        return Err(db.fail(EMBER_ERR_NULL, "NULL out-parameter"));
    }
    run(db, name, key, |args| {
        args.push(member);
        Ok(())
    })?;
    reply_tree(db)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ptr::{null, null_mut};

    /// A fresh handle for the tests of every family, closed on drop.
    pub(super) struct Db(pub(super) *mut ember_db);

    impl Db {
        pub(super) fn open() -> Db {
            let mut db = null_mut();
            // SAFETY: NULL options mean defaults; `db` is a writable pointer.
            assert_eq!(unsafe { crate::ember_db_open(null(), &mut db) }, EMBER_OK);
            Db(db)
        }
    }

    impl Drop for Db {
        fn drop(&mut self) {
            // SAFETY: the handle came from ember_db_open() and is closed once, here.
            unsafe { crate::ember_db_close(self.0) };
        }
    }

    #[test]
    fn bulk_range_reads_bulk_and_nil_replies_only() {
        assert_eq!(bulk_range(b"$5\r\nhello\r\n"), Some(Some(4..9)));
        assert_eq!(bulk_range(b"$0\r\n\r\n"), Some(Some(4..4)));
        assert_eq!(bulk_range(b"$3\r\na\r\n\r\n"), Some(Some(4..7)));
        assert_eq!(bulk_range(b"_\r\n"), Some(None));
        assert_eq!(bulk_range(b""), None);
        assert_eq!(bulk_range(b":1\r\n"), None);
        assert_eq!(bulk_range(b"$5\r\nhell"), None);
        assert_eq!(bulk_range(b"$x\r\n"), None);
        assert_eq!(bulk_range(b"$99999999999999999999999\r\n"), None);
    }
}
