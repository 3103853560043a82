//! Hostile and malformed input: protocol errors (with whether the connection is closed), limits before
//! AUTH, the query buffer and client count limits, out-of-range arguments and pathological glob patterns.
//! After each, the server must still answer PING.

use std::time::{Duration, Instant};

use crate::harness::{assert_alive, encode, show, wait_for, Reply, Server, OK};

/// Sends `request` on a new connection and asserts that the server replies `reply` and then closes the
/// connection; then that it still answers PING on another one.
#[track_caller]
fn closes_with(s: &Server, request: &[u8], reply: &[u8]) {
    let mut c = s.connect();
    c.send_lossy(request);
    let got = c.expect_closed();
    assert!(
        got == reply,
        "request \"{}\"\n  expected \"{}\" and a close\n       got \"{}\"",
        show(request),
        show(reply),
        show(&got)
    );
    assert_alive_maybe_auth(s);
}

/// Like `assert_alive`, but a server with a password may answer PING with NOAUTH.
#[track_caller]
fn assert_alive_maybe_auth(s: &Server) {
    let got = s.connect().raw(&["PING"]);
    assert!(
        got == b"+PONG\r\n" || got == b"-NOAUTH Authentication required.\r\n",
        "PING after the bad input: \"{}\"",
        show(&got)
    );
}

#[test]
fn multibulk_header_errors_close_the_connection() {
    let s = Server::start();
    closes_with(
        &s,
        b"*3000000000\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    );
    closes_with(
        &s,
        b"*blabla\r\n",
        b"-ERR Protocol error: invalid multibulk length\r\n",
    );
    closes_with(
        &s,
        b"*1\r\n$-10\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    closes_with(
        &s,
        b"*1\r\n$2000000000\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    closes_with(
        &s,
        b"*1\r\n$blabla\r\n",
        b"-ERR Protocol error: invalid bulk length\r\n",
    );
    closes_with(
        &s,
        b"*1\r\nfoo\r\n",
        b"-ERR Protocol error: expected '$', got 'f'\r\n",
    );
    // Commands before the bad one in the same packet are still answered.
    let mut req = encode(&["SET", "before", "1"]);
    req.extend_from_slice(b"*1\r\n$-10\r\n");
    closes_with(
        &s,
        &req,
        b"+OK\r\n-ERR Protocol error: invalid bulk length\r\n",
    );
    let mut c = s.connect();
    c.check(&["GET", "before"], b"$1\r\n1\r\n");
}

#[test]
fn empty_and_negative_multibulk_are_ignored() {
    let s = Server::start();
    let mut c = s.connect();
    c.check_raw(b"*-10\r\n*0\r\n*-1\r\nPING\r\n", b"+PONG\r\n");
    c.send(b"*0\r\n");
    c.check(&["PING"], b"+PONG\r\n");
    c.send(b"*-10\r\n");
    c.check(&["ECHO", "still here"], b"$10\r\nstill here\r\n");
}

#[test]
fn oversized_lines_close_the_connection() {
    let s = Server::start();
    let inline = vec![b'a'; 70 * 1024];
    closes_with(
        &s,
        &inline,
        b"-ERR Protocol error: too big inline request\r\n",
    );
    let mut count = b"*".to_vec();
    count.extend(std::iter::repeat_n(b'1', 70 * 1024));
    closes_with(
        &s,
        &count,
        b"-ERR Protocol error: too big mbulk count string\r\n",
    );
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(std::iter::repeat_n(b'1', 70 * 1024));
    closes_with(
        &s,
        &bulk,
        b"-ERR Protocol error: too big bulk count string\r\n",
    );
    closes_with(
        &s,
        b"set \"foo\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    closes_with(
        &s,
        b"set \"foo\"bar baz\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    closes_with(
        &s,
        b"set 'foo\r\n",
        b"-ERR Protocol error: unbalanced quotes in request\r\n",
    );
    // A long but complete inline command is fine.
    let mut c = s.connect();
    let value = "v".repeat(60 * 1024);
    c.check_raw(format!("SET long {value}\r\n").as_bytes(), OK);
    c.check(&["STRLEN", "long"], b":61440\r\n");
}

#[test]
fn limits_before_auth() {
    let s = Server::with_args(&["--requirepass", "pw"]);
    closes_with(
        &s,
        b"*11\r\n",
        b"-ERR Protocol error: unauthenticated multibulk length\r\n",
    );
    closes_with(
        &s,
        b"*1\r\n$16385\r\n",
        b"-ERR Protocol error: unauthenticated bulk length\r\n",
    );
    let mut c = s.connect();
    // At the limits the command is parsed and refused normally.
    let mut ten = vec!["MSET"];
    ten.extend(std::iter::repeat_n("x", 9));
    c.check(&ten, b"-NOAUTH Authentication required.\r\n");
    let big = "b".repeat(16 * 1024);
    c.check(&["ECHO", &big], b"-NOAUTH Authentication required.\r\n");
    c.check(&["AUTH", "pw"], OK);
    // After AUTH the limits are gone.
    let mut eleven = vec!["MSET"];
    eleven.extend(std::iter::repeat_n("y", 10));
    c.check(&eleven, OK);
    let bigger = "b".repeat(100 * 1024);
    c.check(&["SET", "big", &bigger], OK);
    c.check(&["STRLEN", "big"], b":102400\r\n");
}

#[test]
fn query_buffer_limit_closes_the_connection() {
    let s = Server::with_args(&["--client-query-buffer-limit", "1mb"]);
    let mut c = s.connect();
    c.check(&["PING"], b"+PONG\r\n");
    let mut req = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$4000000\r\n".to_vec();
    req.extend(std::iter::repeat_n(b'x', 1536 * 1024));
    c.send_lossy(&req);
    assert_eq!(c.expect_closed(), b"", "no reply before the close");
    assert_alive(&s);
    let mut c = s.connect();
    c.check(&["EXISTS", "k"], b":0\r\n");
    // Below the limit a large value goes through.
    let value = "v".repeat(900 * 1024);
    c.check(&["SET", "k", &value], OK);
}

#[test]
fn maxclients_refuses_one_more() {
    let s = Server::with_args(&["--maxclients", "2"]);
    let mut a = s.connect();
    // Wait until only this connection is registered (the start-up probe may still be closing).
    let settled = wait_for(Duration::from_secs(10), || {
        a.cmd(&["CLIENT", "LIST"]).text().lines().count() == 1
    });
    assert!(settled, "the start-up probe connection never went away");
    let mut b = s.connect();
    b.check(&["PING"], b"+PONG\r\n");
    let mut c = s.connect();
    assert_eq!(c.expect_closed(), b"-ERR max number of clients reached\r\n");
    a.check(&["PING"], b"+PONG\r\n");
    drop(b);
    let ok = wait_for(Duration::from_secs(10), || {
        a.cmd(&["CLIENT", "LIST"]).text().lines().count() == 1
    });
    assert!(ok, "closed client still listed");
    s.connect().check(&["PING"], b"+PONG\r\n");
}

#[test]
fn out_of_range_arguments() {
    let s = Server::start();
    let mut c = s.connect();
    let too_big = b"-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";
    c.check(&["SETRANGE", "k", "536870908", "xxxxx"], too_big);
    c.check(&["SETRANGE", "k", "536870912", "x"], too_big);
    c.check(&["EXISTS", "k"], b":0\r\n");
    c.check(&["SET", "k", "v"], OK);
    c.check(&["SETRANGE", "k", "536870908", "xxxxx"], too_big);
    c.check(
        &["SETRANGE", "k", "-1", "x"],
        b"-ERR offset is out of range\r\n",
    );
    c.check(&["GET", "k"], b"$1\r\nv\r\n");
    c.check(
        &["EXPIRE", "k", "10000000000000000"],
        b"-ERR invalid expire time in 'expire' command\r\n",
    );
    c.check(
        &["EXPIREAT", "k", "10000000000000000"],
        b"-ERR invalid expire time in 'expireat' command\r\n",
    );
    c.check(
        &["PEXPIRE", "k", "9223372036854775807"],
        b"-ERR invalid expire time in 'pexpire' command\r\n",
    );
    c.check(&["TTL", "k"], b":-1\r\n");
    c.check(
        &["SET", "k", "v", "EX", "0"],
        b"-ERR invalid expire time in 'set' command\r\n",
    );
    c.check(&["SET", "n", "9223372036854775807"], OK);
    c.check(
        &["INCR", "n"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    c.check(
        &["INCRBY", "n", "1"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    c.check(&["SET", "f", "1.5"], OK);
    c.check(
        &["INCRBYFLOAT", "f", "inf"],
        b"-ERR increment would produce NaN or Infinity\r\n",
    );
    c.check(
        &["INCRBYFLOAT", "f", "nan"],
        b"-ERR value is not a valid float\r\n",
    );
    c.check(&["GET", "f"], b"$3\r\n1.5\r\n");
    assert_alive(&s);
}

#[test]
fn pathological_glob_patterns() {
    let s = Server::start();
    let mut c = s.connect();
    let long_key = "a".repeat(10_000);
    c.check(&["SET", &long_key, "v"], OK);
    c.check(&["SET", "short", "v"], OK);
    let pattern = format!("{}b", "a*".repeat(50));
    let started = Instant::now();
    c.check(&["KEYS", &pattern], b"*0\r\n");
    let r = c.cmd(&["SCAN", "0", "MATCH", &pattern, "COUNT", "1000"]);
    assert_eq!(r.items()[1].items().len(), 0, "SCAN MATCH {r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "matching took {:?}",
        started.elapsed()
    );
    let stars = "*".repeat(100_000);
    let r = c.cmd(&["KEYS", &stars]);
    assert!(
        matches!(r, Reply::Array(_)),
        "KEYS with 100000 stars: {r:?}"
    );
    let nested = "*a".repeat(50_000);
    let r = c.cmd(&["KEYS", &nested]);
    assert!(
        matches!(r, Reply::Array(_)),
        "KEYS with 50000 nested stars: {r:?}"
    );
    let r = c.cmd(&["SCAN", "0", "MATCH", &nested, "COUNT", "1000"]);
    assert!(r.items().len() == 2, "SCAN with nested stars: {r:?}");
    assert_alive(&s);
}

/// Redis looks for an inline command's newline with `strchr`, which stops at a NUL byte: a NUL before
/// the newline leaves the command incomplete (no reply, the connection stays open) until the line passes
/// the 64 KiB inline limit.
#[test]
fn inline_nul_byte() {
    let s = Server::start();
    let mut c = s.connect();
    c.send(b"PING\x00junk\r\n");
    c.expect_silence(Duration::from_millis(300));
    assert_alive(&s);
    c.send_lossy(&vec![b'a'; 70 * 1024]);
    assert_eq!(
        c.expect_closed(),
        b"-ERR Protocol error: too big inline request\r\n"
    );
    assert_alive(&s);
}
