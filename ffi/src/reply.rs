//! `ember_reply`: a command's reply as a tree, with typed accessors. Replies own their data; every
//! pointer an accessor hands out borrows from the reply and stays valid until ember_reply_free().

use crate::ember_status::{self, *};
use crate::ffi_boundary;
use ember_core::reply::Reply as Tree;

/// A reply from ember_exec() or a call returning several values. Opaque to C. Transparent over the
/// tree so that elements of an aggregate can be handed out as `ember_reply` pointers into their
/// parent.
#[repr(transparent)]
pub struct ember_reply(pub(crate) Tree);

/// What a reply holds.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ember_reply_kind {
    /// Bytes (a bulk string or verbatim text).
    EMBER_REPLY_STRING = 0,
    /// Status text such as "OK".
    EMBER_REPLY_STATUS = 1,
    /// Error text (only inside aggregates; a top-level error is a failed ember_exec()).
    EMBER_REPLY_ERROR = 2,
    EMBER_REPLY_INTEGER = 3,
    EMBER_REPLY_DOUBLE = 4,
    EMBER_REPLY_BOOLEAN = 5,
    EMBER_REPLY_NULL = 6,
    EMBER_REPLY_ARRAY = 7,
    EMBER_REPLY_SET = 8,
    /// Key/value pairs: read with ember_reply_map_entry().
    EMBER_REPLY_MAP = 9,
    EMBER_REPLY_PUSH = 10,
    /// A big number, as its decimal digits (read with ember_reply_bytes()).
    EMBER_REPLY_BIGNUM = 11,
}

use ember_reply_kind::*;

fn get<'a>(r: *const ember_reply) -> Option<&'a Tree> {
    // SAFETY: callers pass NULL or a reply from this library that is still alive.
    unsafe { r.as_ref() }.map(|r| &r.0)
}

/// The type of a reply (EMBER_REPLY_NULL for a NULL pointer).
///
/// # Safety
/// - `r` is NULL or a live reply (or an element of one).
#[no_mangle]
pub unsafe extern "C" fn ember_reply_type(r: *const ember_reply) -> ember_reply_kind {
    match get(r) {
        None | Some(Tree::Null) => EMBER_REPLY_NULL,
        Some(Tree::Bulk(_)) => EMBER_REPLY_STRING,
        Some(Tree::Status(_)) => EMBER_REPLY_STATUS,
        Some(Tree::Error(_)) => EMBER_REPLY_ERROR,
        Some(Tree::Integer(_)) => EMBER_REPLY_INTEGER,
        Some(Tree::Double(_)) => EMBER_REPLY_DOUBLE,
        Some(Tree::Boolean(_)) => EMBER_REPLY_BOOLEAN,
        Some(Tree::Array(_)) => EMBER_REPLY_ARRAY,
        Some(Tree::Set(_)) => EMBER_REPLY_SET,
        Some(Tree::Map(_)) => EMBER_REPLY_MAP,
        Some(Tree::Push(_)) => EMBER_REPLY_PUSH,
        Some(Tree::BigNumber(_)) => EMBER_REPLY_BIGNUM,
    }
}

/// The shared body of the one-value accessors: reads `r` with `read` into `*out`, EMBER_ERR_TYPE when
/// `read` finds a reply of another type.
fn read_into<T>(
    r: *const ember_reply,
    out: *mut T,
    read: impl FnOnce(&Tree) -> Option<T>,
) -> ember_status {
    ffi_boundary!({
        let (Some(tree), false) = (get(r), out.is_null()) else {
            return EMBER_ERR_NULL;
        };
        let Some(v) = read(tree) else {
            return EMBER_ERR_TYPE;
        };
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { *out = v };
        EMBER_OK
    })
}

/// Reads an integer reply (booleans read as 0 or 1).
///
/// # Safety
/// - `r` is NULL or a live reply; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_reply_integer(r: *const ember_reply, out: *mut i64) -> ember_status {
    read_into(r, out, |tree| match tree {
        Tree::Integer(n) => Some(*n),
        Tree::Boolean(b) => Some(*b as i64),
        _ => None,
    })
}

/// Reads a double reply (integers convert).
///
/// # Safety
/// - `r` is NULL or a live reply; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_reply_double(r: *const ember_reply, out: *mut f64) -> ember_status {
    read_into(r, out, |tree| match tree {
        Tree::Double(d) => Some(*d),
        Tree::Integer(n) => Some(*n as f64),
        _ => None,
    })
}

/// Borrows the bytes of a string, status, error or big-number reply (not NUL-terminated; binary
/// safe). Valid until the reply is freed.
///
/// # Safety
/// - `r` is NULL or a live reply; `ptr` and `len` are writable.
#[no_mangle]
pub unsafe extern "C" fn ember_reply_bytes(
    r: *const ember_reply,
    ptr: *mut *const u8,
    len: *mut usize,
) -> ember_status {
    ffi_boundary!({
        let (Some(tree), false, false) = (get(r), ptr.is_null(), len.is_null()) else {
            return EMBER_ERR_NULL;
        };
        let bytes = match tree {
            Tree::Bulk(b) | Tree::Status(b) | Tree::Error(b) | Tree::BigNumber(b) => b,
            _ => return EMBER_ERR_TYPE,
        };
        // SAFETY: both pointers were checked non-NULL and are writable per the contract.
        unsafe {
            *ptr = bytes.as_ptr();
            *len = bytes.len();
        }
        EMBER_OK
    })
}

/// The number of elements of an array, set or push reply, or of pairs of a map reply.
///
/// # Safety
/// - `r` is NULL or a live reply; `len` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_reply_len(r: *const ember_reply, len: *mut usize) -> ember_status {
    read_into(r, len, |tree| match tree {
        Tree::Array(v) | Tree::Set(v) | Tree::Push(v) => Some(v.len()),
        Tree::Map(m) => Some(m.len()),
        _ => None,
    })
}

fn as_reply(t: &Tree) -> *const ember_reply {
    // `ember_reply` is `repr(transparent)` over the tree, so a tree reference is a valid reply pointer.
    (t as *const Tree).cast::<ember_reply>()
}

/// Borrows element `index` of an array, set or push reply. The element lives as long as its parent
/// and must not be freed on its own.
///
/// # Safety
/// - `r` is NULL or a live reply; `out` is writable.
#[no_mangle]
pub unsafe extern "C" fn ember_reply_element(
    r: *const ember_reply,
    index: usize,
    out: *mut *const ember_reply,
) -> ember_status {
    ffi_boundary!({
        let (Some(tree), false) = (get(r), out.is_null()) else {
            return EMBER_ERR_NULL;
        };
        let items = match tree {
            Tree::Array(v) | Tree::Set(v) | Tree::Push(v) => v,
            _ => return EMBER_ERR_TYPE,
        };
        let Some(item) = items.get(index) else {
            return EMBER_ERR_RANGE;
        };
        // SAFETY: `out` was checked non-NULL and is writable per the contract.
        unsafe { *out = as_reply(item) };
        EMBER_OK
    })
}

/// Borrows pair `index` of a map reply.
///
/// # Safety
/// - `r` is NULL or a live reply; `key` and `value` are writable.
#[no_mangle]
pub unsafe extern "C" fn ember_reply_map_entry(
    r: *const ember_reply,
    index: usize,
    key: *mut *const ember_reply,
    value: *mut *const ember_reply,
) -> ember_status {
    ffi_boundary!({
        let (Some(tree), false, false) = (get(r), key.is_null(), value.is_null()) else {
            return EMBER_ERR_NULL;
        };
        let Tree::Map(pairs) = tree else {
            return EMBER_ERR_TYPE;
        };
        let Some((k, v)) = pairs.get(index) else {
            return EMBER_ERR_RANGE;
        };
        // SAFETY: both pointers were checked non-NULL and are writable per the contract.
        unsafe {
            *key = as_reply(k);
            *value = as_reply(v);
        }
        EMBER_OK
    })
}

/// Frees a reply returned by ember_exec(), ember_scan() or a collection call (ember_lrange(),
/// ember_smembers(), ember_zrange(), ember_zrangebyscore()), exactly once. NULL is a no-op. Never
/// call it on an element obtained with ember_reply_element()/ember_reply_map_entry().
///
/// # Safety
/// - `r` is NULL or a top-level reply from this library, not yet freed.
#[no_mangle]
pub unsafe extern "C" fn ember_reply_free(r: *mut ember_reply) {
    if r.is_null() {
        return;
    }
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: the caller passes a top-level reply from Box::into_raw, freed exactly once.
        drop(unsafe { Box::from_raw(r) });
    }));
}
