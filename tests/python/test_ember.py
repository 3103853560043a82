"""Checks libember through ctypes (examples/python/ember.py); run by `cargo test` with the library path
in EMBER_LIB. Prints '<N> passed, 0 failed' on success and exits non-zero on any failure."""
import ctypes
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python"))
from ember import EMBER_ERR_NOT_FOUND, EMBER_OK, Ember, EmberError  # noqa: E402

EMBER_ERR_WRONGTYPE = 5
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        raise AssertionError(what)


with Ember(os.environ["EMBER_LIB"]) as db:
    check(db.version().count(".") == 2, "version")
    db.set(b"k", b"v\x00\xff")
    check(db.get(b"k") == b"v\x00\xff", "binary-safe get")
    check(db.get(b"missing") is None, "missing key")
    check(db.incr(b"n", 5) == 5 and db.incr(b"n", -1) == 4, "incr")
    check(db.execute("GET", "n") == b"4", "exec get of an integer")
    check(db.execute("SET", "s", "x", "PX", "100000") == b"OK", "exec set")
    check(0 < db.ttl_ms(b"s") <= 100000, "ttl")
    check(db.execute("MGET", "s", "nope") == [b"x", None], "mget")
    check(db.execute("LCS", "s", "s", "IDX")[b"len"] == 1, "map reply")
    check(db.execute("EXISTS", "s", "k", "nope") == 2, "exists")
    try:
        db.execute("INCR", "s")
        check(False, "INCR on a string must fail")
    except EmberError as e:
        check("not an integer" in str(e), "error text")
    try:
        db.execute("NOSUCH")
        check(False, "unknown command must fail")
    except EmberError as e:
        check("unknown command" in str(e), "unknown command text")
    check(db.delete(b"k") and not db.delete(b"k"), "delete")


def buffers(items):
    """The (pointers, lengths) arrays of a multi-element call."""
    return (ctypes.c_char_p * len(items))(*items), (ctypes.c_size_t * len(items))(*map(len, items))


# The collection calls straight through ctypes (the example binding wraps only the string calls).
with Ember(os.environ["EMBER_LIB"]) as db:
    lib, h = db._lib, db._db
    sz, szp, u8p = ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_uint8)
    arr = ctypes.POINTER(ctypes.c_char_p)
    lib.ember_rpush.argtypes = [ctypes.c_void_p, ctypes.c_char_p, sz, sz, arr, szp, szp]
    lib.ember_lpop.argtypes = [ctypes.c_void_p, ctypes.c_char_p, sz, ctypes.POINTER(u8p), szp]
    lib.ember_zadd.argtypes = [ctypes.c_void_p, ctypes.c_char_p, sz, sz,
                               ctypes.POINTER(ctypes.c_double), arr, szp, szp]
    lib.ember_zscore.argtypes = [ctypes.c_void_p, ctypes.c_char_p, sz, ctypes.c_char_p, sz,
                                 ctypes.POINTER(ctypes.c_double)]
    n = sz()
    ptrs, lens = buffers([b"a", b"b\x00c"])
    check(lib.ember_rpush(h, b"l", 1, 2, ptrs, lens, ctypes.byref(n)) == EMBER_OK and n.value == 2,
          "rpush")
    val, vlen = u8p(), sz()
    popped = []
    while lib.ember_lpop(h, b"l", 1, ctypes.byref(val), ctypes.byref(vlen)) == EMBER_OK:
        popped.append(ctypes.string_at(val, vlen.value))  # copy: the pointer is borrowed
    check(popped == [b"a", b"b\x00c"], "lpop order and binary safety")
    check(lib.ember_lpop(h, b"l", 1, ctypes.byref(val), ctypes.byref(vlen)) == EMBER_ERR_NOT_FOUND,
          "lpop on a missing key is 'no value'")
    check(lib.ember_errmsg(h) == b"", "no value is not an error")
    scores = (ctypes.c_double * 2)(1.5, -2.0)
    ptrs, lens = buffers([b"x", b"y"])
    check(lib.ember_zadd(h, b"z", 1, 2, scores, ptrs, lens, ctypes.byref(n)) == EMBER_OK
          and n.value == 2, "zadd")
    score = ctypes.c_double()
    check(lib.ember_zscore(h, b"z", 1, b"y", 1, ctypes.byref(score)) == EMBER_OK
          and score.value == -2.0, "zscore")
    check(db.execute("ZRANGE", "z", "0", "-1") == [b"y", b"x"], "zadd seen by ember_exec")
    check(lib.ember_rpush(h, b"z", 1, 2, ptrs, lens, ctypes.byref(n)) == EMBER_ERR_WRONGTYPE,
          "WRONGTYPE status")
    check(lib.ember_errmsg(h).startswith(b"WRONGTYPE "), "WRONGTYPE text")

print(f"{checks} passed, 0 failed")
