"""ember.py: a small ctypes binding to libember (no third-party packages).

    from ember import Ember
    db = Ember("target/release/libember.so")
    db.set(b"k", b"v", ttl_ms=1000)
    db.get(b"k")            # b"v"
    db.execute(b"INCRBY", b"n", b"5")  # 5

Replies from execute() become Python values: bytes, int, float, bool, None, list, dict, set.
"""
import ctypes
import os

EMBER_OK = 0
EMBER_ERR_NOT_FOUND = 6

(STRING, STATUS, ERROR, INTEGER, DOUBLE, BOOLEAN, NULL, ARRAY, SET, MAP, PUSH, BIGNUM) = range(12)


class EmberError(Exception):
    """A failed call; `status` is the ember_status code."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


class Ember:
    def __init__(self, path=None):
        path = path or os.environ.get("EMBER_LIB", "libember.so")
        lib = ctypes.CDLL(path)
        p, sz, u8p = ctypes.c_void_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_uint8)
        lib.ember_db_open.argtypes = [p, ctypes.POINTER(p)]
        lib.ember_db_close.argtypes = [p]
        lib.ember_errmsg.argtypes = [p]
        lib.ember_errmsg.restype = ctypes.c_char_p
        lib.ember_version.restype = ctypes.c_char_p
        lib.ember_set.argtypes = [p, ctypes.c_char_p, sz, ctypes.c_char_p, sz, ctypes.c_int64]
        lib.ember_get.argtypes = [p, ctypes.c_char_p, sz, ctypes.POINTER(u8p), ctypes.POINTER(sz)]
        lib.ember_del.argtypes = [p, ctypes.c_char_p, sz, ctypes.POINTER(ctypes.c_int32)]
        lib.ember_incr.argtypes = [p, ctypes.c_char_p, sz, ctypes.c_int64, ctypes.POINTER(ctypes.c_int64)]
        lib.ember_ttl.argtypes = [p, ctypes.c_char_p, sz, ctypes.POINTER(ctypes.c_int64)]
        lib.ember_exec.argtypes = [p, sz, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(sz), ctypes.POINTER(p)]
        lib.ember_reply_free.argtypes = [p]
        lib.ember_reply_type.argtypes = [p]
        lib.ember_reply_integer.argtypes = [p, ctypes.POINTER(ctypes.c_int64)]
        lib.ember_reply_double.argtypes = [p, ctypes.POINTER(ctypes.c_double)]
        lib.ember_reply_bytes.argtypes = [p, ctypes.POINTER(u8p), ctypes.POINTER(sz)]
        lib.ember_reply_len.argtypes = [p, ctypes.POINTER(sz)]
        lib.ember_reply_element.argtypes = [p, sz, ctypes.POINTER(p)]
        lib.ember_reply_map_entry.argtypes = [p, sz, ctypes.POINTER(p), ctypes.POINTER(p)]
        self._lib = lib
        self._db = p()
        self._check(lib.ember_db_open(None, ctypes.byref(self._db)))

    def close(self):
        if self._db:
            self._lib.ember_db_close(self._db)
            self._db = ctypes.c_void_p()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def version(self):
        return self._lib.ember_version().decode()

    def _check(self, status):
        if status != EMBER_OK:
            raise EmberError(status, self._lib.ember_errmsg(self._db).decode(errors="replace"))

    def set(self, key, value, ttl_ms=0):
        self._check(self._lib.ember_set(self._db, key, len(key), value, len(value), ttl_ms))

    def get(self, key):
        ptr, n = ctypes.POINTER(ctypes.c_uint8)(), ctypes.c_size_t()
        status = self._lib.ember_get(self._db, key, len(key), ctypes.byref(ptr), ctypes.byref(n))
        if status == EMBER_ERR_NOT_FOUND:
            return None
        self._check(status)
        return ctypes.string_at(ptr, n.value)  # copy: the pointer is borrowed

    def delete(self, key):
        out = ctypes.c_int32()
        self._check(self._lib.ember_del(self._db, key, len(key), ctypes.byref(out)))
        return bool(out.value)

    def incr(self, key, delta=1):
        out = ctypes.c_int64()
        self._check(self._lib.ember_incr(self._db, key, len(key), delta, ctypes.byref(out)))
        return out.value

    def ttl_ms(self, key):
        out = ctypes.c_int64()
        self._check(self._lib.ember_ttl(self._db, key, len(key), ctypes.byref(out)))
        return out.value

    def execute(self, *args):
        args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        argv = (ctypes.c_char_p * len(args))(*args)
        lens = (ctypes.c_size_t * len(args))(*[len(a) for a in args])
        reply = ctypes.c_void_p()
        self._check(self._lib.ember_exec(self._db, len(args), argv, lens, ctypes.byref(reply)))
        try:
            return self._value(reply)
        finally:
            self._lib.ember_reply_free(reply)

    def _value(self, r):
        lib, t = self._lib, self._lib.ember_reply_type(r)
        if t in (STRING, STATUS, ERROR, BIGNUM):
            ptr, n = ctypes.POINTER(ctypes.c_uint8)(), ctypes.c_size_t()
            lib.ember_reply_bytes(r, ctypes.byref(ptr), ctypes.byref(n))
            data = ctypes.string_at(ptr, n.value)
            return int(data) if t == BIGNUM else data
        if t in (INTEGER, BOOLEAN):
            v = ctypes.c_int64()
            lib.ember_reply_integer(r, ctypes.byref(v))
            return bool(v.value) if t == BOOLEAN else v.value
        if t == DOUBLE:
            v = ctypes.c_double()
            lib.ember_reply_double(r, ctypes.byref(v))
            return v.value
        if t == NULL:
            return None
        n = ctypes.c_size_t()
        lib.ember_reply_len(r, ctypes.byref(n))
        if t == MAP:
            out = {}
            for i in range(n.value):
                k, v = ctypes.c_void_p(), ctypes.c_void_p()
                lib.ember_reply_map_entry(r, i, ctypes.byref(k), ctypes.byref(v))
                out[self._value(k)] = self._value(v)
            return out
        items = []
        for i in range(n.value):
            e = ctypes.c_void_p()
            lib.ember_reply_element(r, i, ctypes.byref(e))
            items.append(self._value(e))
        return set(items) if t == SET else items


if __name__ == "__main__":
    with Ember() as db:
        db.set(b"greeting", b"hello", ttl_ms=60000)
        print(db.get(b"greeting"), db.ttl_ms(b"greeting"), db.execute("INCRBY", "visits", 3))
