"""Checks libember through ctypes (examples/python/ember.py); run by `cargo test` with the library path
in EMBER_LIB. Prints '<N> passed, 0 failed' on success and exits non-zero on any failure."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "examples", "python"))
from ember import Ember, EmberError  # noqa: E402

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

print(f"{checks} passed, 0 failed")
