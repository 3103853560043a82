//! String commands over TCP, asserting Redis 7.0's reply bytes: SET with every option, the GET/SET
//! variants, ranges, counters and LCS.

use crate::harness::{unix_time_ms, unix_time_s, Conn, Reply, Server, NIL, NOT_INT, OK, SYNTAX};

/// Asserts that `PTTL key` lies in `lo..=hi`.
#[track_caller]
fn assert_pttl(c: &mut Conn, key: &str, lo: i64, hi: i64) {
    let pttl = c.cmd(&["PTTL", key]).int();
    assert!(
        (lo..=hi).contains(&pttl),
        "PTTL {key} = {pttl}, expected {lo}..={hi}"
    );
}

#[test]
fn set_and_get() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["GET", "k"], NIL);
    c.check(&["SET", "k", "v"], OK);
    c.check(&["GET", "k"], b"$1\r\nv\r\n");
    c.check(&["set", "k", ""], OK);
    c.check(&["get", "k"], b"$0\r\n\r\n");
    let binary = b"a\r\nb\x00c\xff";
    c.check(&[&b"SET"[..], b"bin", binary], OK);
    c.check(&["GET", "bin"], b"$7\r\na\r\nb\x00c\xff\r\n");
    c.check(&["SET", "n", "12345"], OK);
    c.check(&["GET", "n"], b"$5\r\n12345\r\n");
    c.check(
        &["SET", "k"],
        b"-ERR wrong number of arguments for 'set' command\r\n",
    );
    c.check(
        &["GET", "a", "b"],
        b"-ERR wrong number of arguments for 'get' command\r\n",
    );
}

#[test]
fn set_nx_xx_get() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "1", "XX"], NIL);
    c.check(&["EXISTS", "k"], b":0\r\n");
    c.check(&["SET", "k", "1", "NX"], OK);
    c.check(&["SET", "k", "2", "NX"], NIL);
    c.check(&["GET", "k"], b"$1\r\n1\r\n");
    c.check(&["SET", "k", "3", "XX"], OK);
    c.check(&["GET", "k"], b"$1\r\n3\r\n");
    // GET returns the old value (nil when there was none), also combined with NX/XX (Redis 7.0).
    c.check(&["SET", "k", "4", "GET"], b"$1\r\n3\r\n");
    c.check(&["SET", "new", "x", "GET"], NIL);
    c.check(&["GET", "new"], b"$1\r\nx\r\n");
    c.check(&["SET", "k", "5", "NX", "GET"], b"$1\r\n4\r\n");
    c.check(&["GET", "k"], b"$1\r\n4\r\n");
    c.check(&["SET", "other", "5", "XX", "GET"], NIL);
    c.check(&["EXISTS", "other"], b":0\r\n");
    c.check(&["SET", "k", "6", "XX", "GET"], b"$1\r\n4\r\n");
    c.check(&["GET", "k"], b"$1\r\n6\r\n");
    c.check(&["SET", "k", "v", "NX", "XX"], SYNTAX);
    c.check(&["SET", "k", "v", "BOGUS"], SYNTAX);
}

#[test]
fn set_expire_options() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "v", "EX", "100"], OK);
    c.check(&["TTL", "k"], b":100\r\n");
    c.check(&["SET", "k", "v", "PX", "100000"], OK);
    assert_pttl(&mut c, "k", 90_000, 100_000);
    let at_s = unix_time_s() + 200;
    c.check(&["SET", "k", "v", "EXAT", &at_s.to_string()], OK);
    let ttl = c.cmd(&["TTL", "k"]).int();
    assert!((190..=200).contains(&ttl), "TTL after EXAT: {ttl}");
    c.check(&["EXPIRETIME", "k"], format!(":{at_s}\r\n").as_bytes());
    let at_ms = unix_time_ms() + 300_000;
    c.check(&["SET", "k", "v", "PXAT", &at_ms.to_string()], OK);
    c.check(&["PEXPIRETIME", "k"], format!(":{at_ms}\r\n").as_bytes());
    // KEEPTTL keeps the expire time; a plain SET clears it.
    c.check(&["SET", "k", "v2", "KEEPTTL"], OK);
    c.check(&["PEXPIRETIME", "k"], format!(":{at_ms}\r\n").as_bytes());
    c.check(&["GET", "k"], b"$2\r\nv2\r\n");
    c.check(&["SET", "k", "v3"], OK);
    c.check(&["TTL", "k"], b":-1\r\n");
    // A time already in the past deletes the key (the SET still replies +OK).
    c.check(&["SET", "k", "v", "PXAT", "1"], OK);
    c.check(&["EXISTS", "k"], b":0\r\n");
    c.check(&["SET", "k", "v", "EXAT", "1", "GET"], NIL);
    c.check(&["EXISTS", "k"], b":0\r\n");
}

#[test]
fn set_option_errors() {
    let s = Server::start();
    let mut c = s.connect();
    let bad_time = b"-ERR invalid expire time in 'set' command\r\n";
    c.check(&["SET", "k", "v", "EX", "10", "PX", "100"], SYNTAX);
    c.check(&["SET", "k", "v", "EX", "10", "KEEPTTL"], SYNTAX);
    c.check(&["SET", "k", "v", "PXAT", "10", "EXAT", "100"], SYNTAX);
    c.check(&["SET", "k", "v", "EX"], SYNTAX);
    c.check(&["SET", "k", "v", "EX", "abc"], NOT_INT);
    c.check(&["SET", "k", "v", "PX", "1.5"], NOT_INT);
    c.check(&["SET", "k", "v", "EX", "0"], bad_time);
    c.check(&["SET", "k", "v", "EX", "-5"], bad_time);
    c.check(&["SET", "k", "v", "PX", "0"], bad_time);
    c.check(&["SET", "k", "v", "EXAT", "0"], bad_time);
    c.check(&["SET", "k", "v", "EX", "9223372036854775807"], bad_time);
    c.check(&["SET", "k", "v", "PX", "9223372036854775807"], bad_time);
    c.check(&["EXISTS", "k"], b":0\r\n");
}

#[test]
fn getex_getdel_getset() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["GETEX", "k"], NIL);
    c.check(&["SET", "k", "v"], OK);
    c.check(&["GETEX", "k", "EX", "100"], b"$1\r\nv\r\n");
    c.check(&["TTL", "k"], b":100\r\n");
    c.check(&["GETEX", "k", "PX", "50000"], b"$1\r\nv\r\n");
    assert_pttl(&mut c, "k", 40_000, 50_000);
    let at_s = unix_time_s() + 500;
    c.check(&["GETEX", "k", "EXAT", &at_s.to_string()], b"$1\r\nv\r\n");
    c.check(&["EXPIRETIME", "k"], format!(":{at_s}\r\n").as_bytes());
    let at_ms = unix_time_ms() + 600_000;
    c.check(&["GETEX", "k", "PXAT", &at_ms.to_string()], b"$1\r\nv\r\n");
    c.check(&["PEXPIRETIME", "k"], format!(":{at_ms}\r\n").as_bytes());
    c.check(&["GETEX", "k"], b"$1\r\nv\r\n");
    c.check(&["PEXPIRETIME", "k"], format!(":{at_ms}\r\n").as_bytes());
    c.check(&["GETEX", "k", "PERSIST"], b"$1\r\nv\r\n");
    c.check(&["TTL", "k"], b":-1\r\n");
    c.check(
        &["GETEX", "k", "EX", "0"],
        b"-ERR invalid expire time in 'getex' command\r\n",
    );
    c.check(&["GETEX", "k", "PERSIST", "EX", "10"], SYNTAX);
    c.check(&["GETEX", "k", "EX", "10", "PX", "10"], SYNTAX);
    c.check(&["GETEX", "k", "EX", "ten"], NOT_INT);
    // A past time returns the value and deletes the key.
    c.check(&["GETEX", "k", "PXAT", "1"], b"$1\r\nv\r\n");
    c.check(&["EXISTS", "k"], b":0\r\n");

    c.check(&["SET", "d", "val"], OK);
    c.check(&["GETDEL", "d"], b"$3\r\nval\r\n");
    c.check(&["GETDEL", "d"], NIL);
    c.check(&["EXISTS", "d"], b":0\r\n");

    c.check(&["GETSET", "g", "1"], NIL);
    c.check(&["SET", "g", "2", "EX", "100"], OK);
    c.check(&["GETSET", "g", "3"], b"$1\r\n2\r\n");
    c.check(&["GET", "g"], b"$1\r\n3\r\n");
    c.check(&["TTL", "g"], b":-1\r\n");
}

#[test]
fn setnx_setex_psetex() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SETNX", "k", "1"], b":1\r\n");
    c.check(&["SETNX", "k", "2"], b":0\r\n");
    c.check(&["GET", "k"], b"$1\r\n1\r\n");
    c.check(&["SETEX", "e", "100", "v"], OK);
    c.check(&["TTL", "e"], b":100\r\n");
    c.check(&["GET", "e"], b"$1\r\nv\r\n");
    c.check(
        &["SETEX", "e", "0", "v"],
        b"-ERR invalid expire time in 'setex' command\r\n",
    );
    c.check(
        &["SETEX", "e", "-10", "v"],
        b"-ERR invalid expire time in 'setex' command\r\n",
    );
    c.check(&["SETEX", "e", "abc", "v"], NOT_INT);
    c.check(&["PSETEX", "p", "100000", "v"], OK);
    assert_pttl(&mut c, "p", 90_000, 100_000);
    c.check(
        &["PSETEX", "p", "0", "v"],
        b"-ERR invalid expire time in 'psetex' command\r\n",
    );
    c.check(
        &["SETEX", "e", "10"],
        b"-ERR wrong number of arguments for 'setex' command\r\n",
    );
}

#[test]
fn mget_mset_msetnx() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["MSET", "a", "1", "b", "2"], OK);
    c.check(
        &["MGET", "a", "nokey", "b"],
        b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n",
    );
    c.check(
        &["MSET", "a", "1", "b"],
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    );
    c.check(
        &["MSET", "a"],
        b"-ERR wrong number of arguments for 'mset' command\r\n",
    );
    c.check(&["MSETNX", "a", "9", "c", "3"], b":0\r\n");
    c.check(&["EXISTS", "c"], b":0\r\n");
    c.check(&["GET", "a"], b"$1\r\n1\r\n");
    c.check(&["MSETNX", "c", "3", "d", "4"], b":1\r\n");
    c.check(&["MGET", "c", "d"], b"*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    c.check(
        &["MSETNX", "x", "1", "y"],
        b"-ERR wrong number of arguments for 'msetnx' command\r\n",
    );
    // The last value of a repeated key wins.
    c.check(&["MSET", "r", "1", "r", "2"], OK);
    c.check(&["GET", "r"], b"$1\r\n2\r\n");
}

#[test]
fn append_strlen() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["APPEND", "k", "Hello"], b":5\r\n");
    c.check(&["APPEND", "k", " World"], b":11\r\n");
    c.check(&["GET", "k"], b"$11\r\nHello World\r\n");
    c.check(&["STRLEN", "k"], b":11\r\n");
    c.check(&["STRLEN", "nokey"], b":0\r\n");
    c.check(&["SET", "n", "12345"], OK);
    c.check(&["STRLEN", "n"], b":5\r\n");
    c.check(&["APPEND", "n", "6"], b":6\r\n");
    c.check(&["INCR", "n"], b":123457\r\n");
    c.check(&["SET", "e", "x", "EX", "100"], OK);
    c.check(&["APPEND", "e", "y"], b":2\r\n");
    c.check(&["TTL", "e"], b":100\r\n");
}

#[test]
fn getrange_substr() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "Hello, world"], OK);
    c.check(&["GETRANGE", "k", "0", "3"], b"$4\r\nHell\r\n");
    c.check(&["GETRANGE", "k", "-3", "-1"], b"$3\r\nrld\r\n");
    c.check(&["GETRANGE", "k", "0", "-1"], b"$12\r\nHello, world\r\n");
    c.check(&["GETRANGE", "k", "10", "100"], b"$2\r\nld\r\n");
    c.check(&["GETRANGE", "k", "5", "3"], b"$0\r\n\r\n");
    c.check(&["GETRANGE", "k", "-1", "-5"], b"$0\r\n\r\n");
    // Redis 7.0 clamps a negative end to 0, so this returns the first byte.
    c.check(&["GETRANGE", "k", "-100", "-50"], b"$1\r\nH\r\n");
    c.check(&["GETRANGE", "nokey", "0", "-1"], b"$0\r\n\r\n");
    c.check(&["GETRANGE", "k", "a", "1"], NOT_INT);
    c.check(&["SUBSTR", "k", "7", "-1"], b"$5\r\nworld\r\n");
    c.check(&["SET", "n", "1234"], OK);
    c.check(&["GETRANGE", "n", "1", "2"], b"$2\r\n23\r\n");
}

#[test]
fn setrange() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "Hello World"], OK);
    c.check(&["SETRANGE", "k", "6", "Redis"], b":11\r\n");
    c.check(&["GET", "k"], b"$11\r\nHello Redis\r\n");
    c.check(&["SETRANGE", "k", "11", "!"], b":12\r\n");
    c.check(&["GET", "k"], b"$12\r\nHello Redis!\r\n");
    c.check(&["SETRANGE", "pad", "5", "x"], b":6\r\n");
    c.check(&["GET", "pad"], b"$6\r\n\x00\x00\x00\x00\x00x\r\n");
    // An empty value neither creates a key nor pads one.
    c.check(&["SETRANGE", "empty", "0", ""], b":0\r\n");
    c.check(&["EXISTS", "empty"], b":0\r\n");
    c.check(&["SETRANGE", "k", "100", ""], b":12\r\n");
    c.check(&["STRLEN", "k"], b":12\r\n");
    c.check(&["SET", "n", "1234"], OK);
    c.check(&["SETRANGE", "n", "1", "x"], b":4\r\n");
    c.check(&["GET", "n"], b"$4\r\n1x34\r\n");
    c.check(
        &["SETRANGE", "k", "-1", "x"],
        b"-ERR offset is out of range\r\n",
    );
    c.check(&["SETRANGE", "k", "x", "x"], NOT_INT);
}

#[test]
fn incr_family() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["INCR", "n"], b":1\r\n");
    c.check(&["INCRBY", "n", "10"], b":11\r\n");
    c.check(&["DECR", "n"], b":10\r\n");
    c.check(&["DECRBY", "n", "20"], b":-10\r\n");
    c.check(&["INCRBY", "n", "-5"], b":-15\r\n");
    c.check(&["GET", "n"], b"$3\r\n-15\r\n");
    c.check(&["DECR", "m"], b":-1\r\n");
    c.check(&["SET", "s", "abc"], OK);
    c.check(&["INCR", "s"], NOT_INT);
    c.check(&["SET", "s", " 1"], OK);
    c.check(&["INCR", "s"], NOT_INT);
    c.check(&["SET", "s", "01"], OK);
    c.check(&["INCR", "s"], NOT_INT);
    c.check(&["SET", "s", "1.5"], OK);
    c.check(&["INCR", "s"], NOT_INT);
    c.check(&["INCRBY", "n", "x"], NOT_INT);
    c.check(&["INCRBY", "n", "99999999999999999999"], NOT_INT);
    c.check(&["SET", "big", "9223372036854775806"], OK);
    c.check(&["INCR", "big"], b":9223372036854775807\r\n");
    c.check(
        &["INCR", "big"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    c.check(&["GET", "big"], b"$19\r\n9223372036854775807\r\n");
    c.check(&["SET", "small", "-9223372036854775808"], OK);
    c.check(
        &["DECR", "small"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    c.check(
        &["DECRBY", "n", "-9223372036854775808"],
        b"-ERR decrement would overflow\r\n",
    );
    // INCR keeps the expire time.
    c.check(&["SET", "t", "1", "EX", "100"], OK);
    c.check(&["INCR", "t"], b":2\r\n");
    c.check(&["TTL", "t"], b":100\r\n");
}

#[test]
fn incrbyfloat() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "f", "10.50"], OK);
    c.check(&["INCRBYFLOAT", "f", "0.1"], b"$4\r\n10.6\r\n");
    c.check(&["INCRBYFLOAT", "f", "-5"], b"$3\r\n5.6\r\n");
    c.check(&["SET", "f", "5.0e3"], OK);
    c.check(&["INCRBYFLOAT", "f", "2.0e2"], b"$4\r\n5200\r\n");
    c.check(&["INCRBYFLOAT", "new", "3"], b"$1\r\n3\r\n");
    c.check(&["INCRBYFLOAT", "new", "1.5"], b"$3\r\n4.5\r\n");
    c.check(&["GET", "new"], b"$3\r\n4.5\r\n");
    c.check(
        &["INCRBYFLOAT", "f", "abc"],
        b"-ERR value is not a valid float\r\n",
    );
    c.check(
        &["INCRBYFLOAT", "f", "nan"],
        b"-ERR value is not a valid float\r\n",
    );
    c.check(&["SET", "s", "abc"], OK);
    c.check(
        &["INCRBYFLOAT", "s", "1"],
        b"-ERR value is not a valid float\r\n",
    );
    c.check(
        &["INCRBYFLOAT", "f", "inf"],
        b"-ERR increment would produce NaN or Infinity\r\n",
    );
    c.check(&["GET", "f"], b"$4\r\n5200\r\n");
    c.check(&["SET", "i", "5"], OK);
    c.check(&["INCRBYFLOAT", "i", "-5"], b"$1\r\n0\r\n");
}

#[test]
fn lcs() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["MSET", "key1", "ohmytext", "key2", "mynewtext"], OK);
    c.check(&["LCS", "key1", "key2"], b"$6\r\nmytext\r\n");
    c.check(&["LCS", "key1", "key2", "LEN"], b":6\r\n");
    let idx: &[u8] = b"*4\r\n$7\r\nmatches\r\n*2\r\n\
        *2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n\
        *2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n\
        $3\r\nlen\r\n:6\r\n";
    c.check(&["LCS", "key1", "key2", "IDX"], idx);
    c.check(
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"],
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n",
    );
    c.check(
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"],
        b"*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n",
    );
    c.check(
        &["LCS", "key1", "key2", "IDX", "WITHMATCHLEN"],
        b"*4\r\n$7\r\nmatches\r\n*2\r\n\
        *3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n\
        *3\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n:2\r\n\
        $3\r\nlen\r\n:6\r\n",
    );
    c.check(&["LCS", "key1", "nokey"], b"$0\r\n\r\n");
    c.check(&["LCS", "nokey", "nokey2", "LEN"], b":0\r\n");
    c.check(
        &["LCS", "key1", "key2", "LEN", "IDX"],
        b"-ERR If you want both the length and indexes, please just use IDX.\r\n",
    );
    c.check(&["LCS", "key1", "key2", "BOGUS"], SYNTAX);
    c.check(&["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "x"], NOT_INT);
    // RESP3 replies with a map.
    assert!(matches!(c.cmd(&["HELLO", "3"]), Reply::Map(_)));
    c.check(
        &["LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4"],
        b"%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n$3\r\nlen\r\n:6\r\n",
    );
}

#[test]
fn unknown_command() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(
        &["NOSUCHCMD", "a", "b"],
        b"-ERR unknown command 'NOSUCHCMD', with args beginning with: 'a' 'b' \r\n",
    );
    c.check(
        &["nosuch"],
        b"-ERR unknown command 'nosuch', with args beginning with: \r\n",
    );
}

/// Redis lets an expire option repeat (the last one wins); only different kinds conflict.
#[test]
fn set_repeated_expire_option() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "v", "EX", "10", "EX", "20"], OK);
    c.check(&["TTL", "k"], b":20\r\n");
    c.check(&["SET", "k", "v", "EX", "10", "PXAT", "20"], SYNTAX);
}

/// GETEX looks the key up before it validates the expire time: a missing key is just nil.
#[test]
fn getex_missing_key_before_expire_check() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["GETEX", "nokey", "EX", "0"], NIL);
    c.check(&["GETEX", "nokey", "PX", "-5"], NIL);
}

/// Redis computes INCRBYFLOAT in long double and prints it with 17 significant digits, so the usual
/// decimal sums come out short; strtold also reads hexadecimal floats.
#[test]
#[ignore = "server bug: INCRBYFLOAT uses f64 (1.1 + 2.2 gives 3.3000000000000003, Redis 3.3) and rejects hex floats"]
fn incrbyfloat_long_double_results() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "f", "1.1"], OK);
    c.check(&["INCRBYFLOAT", "f", "2.2"], b"$3\r\n3.3\r\n");
    c.check(&["SET", "f", "0.1"], OK);
    c.check(&["INCRBYFLOAT", "f", "0.2"], b"$3\r\n0.3\r\n");
    c.check(&["SET", "h", "1"], OK);
    c.check(&["INCRBYFLOAT", "h", "0x10"], b"$2\r\n17\r\n");
}

/// A JSON-like document that LZ4 compresses well, distinct per `i`.
fn doc(i: usize) -> String {
    let item = format!("{{\"sku\":\"KB-{i:05}\",\"name\":\"Mechanical keyboard\",\"qty\":2}}");
    format!(
        "{{\"id\":{i},\"type\":\"order\",\"status\":\"paid\",\"items\":[{}],\"notes\":\"gift\"}}",
        vec![item; 6].join(",")
    )
}

/// Bulk reply bytes for `s`.
fn bulk(s: &str) -> Vec<u8> {
    format!("${}\r\n{s}\r\n", s.len()).into_bytes()
}

/// String values stored compressed (value-compression, on by default) read and write exactly as
/// plain ones through every string command, before and after the keyspace trains its dictionary,
/// and `value-compression no` stores them plain.
#[test]
fn compressed_values_behave_as_plain_strings() {
    let s = Server::start();
    let mut c = s.connect();
    // Enough values to train the dictionary (64 samples), then more written against it.
    for i in 0..100 {
        c.check(&["SET", &format!("doc:{i}"), &doc(i)], OK);
    }
    let info = c.cmd(&["INFO", "memory"]).text();
    let field = |name: &str| -> i64 {
        info.lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(-1)
    };
    assert!(field("compressed_values") >= 100, "{info}");
    assert!(field("compression_bytes_saved") > 100 * 200, "{info}");
    assert!(field("compression_dictionary") >= 1, "{info}");
    for i in [0, 63, 64, 99] {
        let (k, v) = (format!("doc:{i}"), doc(i));
        c.check(&["GET", &k], &bulk(&v));
        c.check(&["STRLEN", &k], format!(":{}\r\n", v.len()).as_bytes());
        c.check(&["GETRANGE", &k, "5", "20"], &bulk(&v[5..=20]));
        c.check(&["GETRANGE", &k, "-10", "-1"], &bulk(&v[v.len() - 10..]));
        c.check(&["TYPE", &k], b"+string\r\n");
        c.check(&["OBJECT", "ENCODING", &k], b"$3\r\nraw\r\n");
    }
    let (v0, v1) = (doc(0), doc(1));
    let mget = c.cmd(&["MGET", "doc:0", "nokey", "doc:1"]);
    assert_eq!(mget.items()[0].bytes(), v0.as_bytes());
    assert_eq!(mget.items()[2].bytes(), v1.as_bytes());
    c.check(&["SET", "doc:0", "small", "GET"], &bulk(&v0));
    c.check(&["GET", "doc:0"], &bulk("small"));
    c.check(&["GETSET", "doc:1", "x"], &bulk(&v1));
    c.check(&["GETDEL", "doc:2"], &bulk(&doc(2)));
    c.check(&["EXISTS", "doc:2"], b":0\r\n");
    c.check(&["GETEX", "doc:3", "EX", "100"], &bulk(&doc(3)));
    // In-place writers see the plain bytes and keep the result right.
    let v4 = doc(4);
    c.check(
        &["APPEND", "doc:4", "!!"],
        format!(":{}\r\n", v4.len() + 2).as_bytes(),
    );
    c.check(&["GET", "doc:4"], &bulk(&format!("{v4}!!")));
    let v5 = doc(5);
    c.check(
        &["SETRANGE", "doc:5", "0", "XY"],
        format!(":{}\r\n", v5.len()).as_bytes(),
    );
    c.check(&["GET", "doc:5"], &bulk(&format!("XY{}", &v5[2..])));
    c.check(&["INCR", "doc:6"], NOT_INT);
    let ones: i64 = doc(7).bytes().map(|b| b.count_ones() as i64).sum();
    c.check(&["BITCOUNT", "doc:7"], format!(":{ones}\r\n").as_bytes());
    c.check(&["SETBIT", "doc:8", "0", "1"], b":0\r\n");
    let mut v8 = doc(8).into_bytes();
    v8[0] |= 0x80;
    assert_eq!(c.cmd(&["GET", "doc:8"]).bytes(), &v8[..]);
    c.check(&["COPY", "doc:9", "copy"], b":1\r\n");
    c.check(&["GET", "copy"], &bulk(&doc(9)));
    c.check(&["RENAME", "doc:10", "renamed"], OK);
    c.check(&["GET", "renamed"], &bulk(&doc(10)));
    c.check(
        &["BITOP", "AND", "dest", "doc:11", "doc:11"],
        format!(":{}\r\n", doc(11).len()).as_bytes(),
    );
    c.check(&["GET", "dest"], &bulk(&doc(11)));
    c.check(
        &["LCS", "doc:12", "doc:12", "LEN"],
        format!(":{}\r\n", doc(12).len()).as_bytes(),
    );
    c.check(&["RPUSH", "l", "12"], b":1\r\n");
    let sorted = c.cmd(&["SORT", "l", "BY", "nosort", "GET", "doc:*"]);
    assert_eq!(sorted.items()[0].bytes(), doc(12).as_bytes());
    c.check(
        &["HSET", "doc:13", "f", "v"],
        b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
    );
    // With compression off, new values are stored plain (and old ones still read back).
    c.check(&["CONFIG", "SET", "value-compression", "no"], OK);
    c.check(&["SET", "plain", &doc(1000)], OK);
    c.check(&["OBJECT", "ENCODING", "plain"], b"$3\r\nraw\r\n");
    c.check(&["GET", "plain"], &bulk(&doc(1000)));
    c.check(&["GET", "doc:99"], &bulk(&doc(99)));
    // Values that do not compress by an eighth, or are short, stay plain too.
    c.check(&["CONFIG", "SET", "value-compression", "yes"], OK);
    let noise: String = (0..200u32)
        .map(|i| char::from(b'!' + (i.wrapping_mul(2654435761) >> 26) as u8))
        .collect();
    c.check(&["SET", "noise", &noise], OK);
    c.check(&["GET", "noise"], &bulk(&noise));
}

/// Short strings and integers are stored packed in their entry: MEMORY USAGE shows the small
/// block, values of every encoding come back unchanged through reads, in-place changes, expire
/// times and DEBUG RELOAD, and deleting keys gives their memory back to `used_memory` at once.
#[test]
fn compact_entries_keep_values_and_give_memory_back() {
    let server = Server::with_args(&["--enable-debug-command", "yes"]);
    let mut c = server.connect();
    let used = |c: &mut Conn| -> i64 {
        let info = c.cmd(&["INFO", "memory"]).text();
        crate::harness::info_field(&info, "used_memory")
            .and_then(|v| v.parse().ok())
            .expect("used_memory")
    };
    // A 10-byte key with a 16-byte value: a 40-byte block (the whole value slot would make 48).
    c.check(&["SET", "key:123456", "0123456789abcdef"], OK);
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "key:123456"]).int(), 40);
    c.check(&["SET", "int:123456", "123456"], OK);
    assert_eq!(c.cmd(&["MEMORY", "USAGE", "int:123456"]).int(), 24);
    let values = [
        "",
        "0",
        "-1",
        "9223372036854775807",
        "-9223372036854775808",
        "007",
        "22 bytes of text here.",
        "23 bytes of text here..",
        "binary\u{0}\u{1}\u{ff}",
    ];
    for (i, v) in values.iter().enumerate() {
        c.check(&["SET", &format!("v:{i}"), v], OK);
    }
    c.check(&["EXPIRE", "v:1", "1000"], b":1\r\n");
    c.check(&["APPEND", "v:2", "5"], b":3\r\n");
    c.check(&["INCRBY", "v:3", "-7"], b":9223372036854775800\r\n");
    c.check(&["SETRANGE", "v:6", "0", "X"], b":22\r\n");
    c.check(&["DEBUG", "RELOAD"], OK);
    let expect = |i: usize| match i {
        2 => "-15".to_string(),
        3 => "9223372036854775800".to_string(),
        6 => "X2 bytes of text here.".to_string(),
        _ => values[i].to_string(),
    };
    for i in 0..values.len() {
        let got = c.cmd(&["GET", &format!("v:{i}")]);
        assert_eq!(got, Reply::Bulk(expect(i).into_bytes()), "v:{i}");
    }
    let ttl = c.cmd(&["TTL", "v:1"]).int();
    assert!((990..=1000).contains(&ttl), "TTL {ttl}");
    c.check(&["OBJECT", "ENCODING", "v:3"], b"$3\r\nint\r\n");
    // 20,000 keys, then all deleted: used_memory comes back down (the pool keeps the room but
    // does not count it).
    let before = used(&mut c);
    let pipeline = |c: &mut Conn, cmd: &str, with_value: bool| {
        let mut bytes = Vec::new();
        for i in 0..20_000 {
            let (k, v) = (format!("bulk:{i}"), i.to_string());
            let args: Vec<&str> = match with_value {
                true => vec![cmd, &k, &v],
                false => vec![cmd, &k],
            };
            bytes.extend_from_slice(&crate::harness::encode(&args));
        }
        c.send(&bytes);
        for _ in 0..20_000 {
            assert!(!matches!(c.read_reply(), Reply::Error(_)));
        }
    };
    pipeline(&mut c, "SET", true);
    let loaded = used(&mut c);
    assert!(loaded - before > 20_000 * 24, "{before} -> {loaded}");
    pipeline(&mut c, "DEL", false);
    let after = used(&mut c);
    assert!(
        after - before < (loaded - before) / 2,
        "used_memory stayed up: {before} -> {loaded} -> {after}"
    );
}
