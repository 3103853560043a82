//! The connection and the protocol: PING, ECHO, QUIT, RESET, HELLO (RESP2 and RESP3 replies), AUTH with
//! `requirepass`, inline commands, pipelining and large values.

use crate::harness::{encode, Reply, Server, OK};
const NOAUTH: &[u8] = b"-NOAUTH Authentication required.\r\n";
const WRONGPASS: &[u8] = b"-WRONGPASS invalid username-password pair or user is disabled.\r\n";

/// Redis 7.0's HELLO reply for a client in protocol `proto` with id `id`.
fn hello_reply(proto: u8, id: i64) -> Vec<u8> {
    let head = if proto == 3 { "%7" } else { "*14" };
    format!(
        "{head}\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n\
         $5\r\nproto\r\n:{proto}\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n\
         $4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    )
    .into_bytes()
}

#[test]
fn ping_echo() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["PING"], b"+PONG\r\n");
    c.check(&["ping", "hello"], b"$5\r\nhello\r\n");
    c.check(
        &["PING", "a", "b"],
        b"-ERR wrong number of arguments for 'ping' command\r\n",
    );
    c.check(&["ECHO", "hi there"], b"$8\r\nhi there\r\n");
    c.check(&["ECHO", ""], b"$0\r\n\r\n");
    c.check(
        &["ECHO"],
        b"-ERR wrong number of arguments for 'echo' command\r\n",
    );
}

#[test]
fn quit_closes_after_ok() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["QUIT"], OK);
    assert_eq!(c.expect_closed(), b"");
    // Commands pipelined after QUIT are not executed.
    let mut c = s.connect();
    let mut req = encode(&["QUIT"]);
    req.extend_from_slice(&encode(&["SET", "after-quit", "1"]));
    c.send(&req);
    assert_eq!(c.expect_closed(), OK);
    let mut c = s.connect();
    c.check(&["EXISTS", "after-quit"], b":0\r\n");
}

#[test]
fn hello_resp3_and_back() {
    let s = Server::start();
    let mut c = s.connect();
    let id = c.cmd(&["CLIENT", "ID"]).int();
    c.check(&["HELLO"], &hello_reply(2, id));
    c.check(&["HELLO", "3"], &hello_reply(3, id));
    // RESP3 types for the same commands.
    c.check(&["GET", "nokey"], b"_\r\n");
    c.check(&["SET", "a", "1"], OK);
    c.check(&["MGET", "a", "nokey"], b"*2\r\n$1\r\n1\r\n_\r\n");
    c.check(
        &["CONFIG", "GET", "maxmemory"],
        b"%1\r\n$9\r\nmaxmemory\r\n$1\r\n0\r\n",
    );
    c.check(&["PING"], b"+PONG\r\n");
    c.check(&["HELLO", "2"], &hello_reply(2, id));
    c.check(&["GET", "nokey"], b"$-1\r\n");
    c.check(
        &["HELLO", "4"],
        b"-NOPROTO unsupported protocol version\r\n",
    );
    c.check(
        &["HELLO", "1"],
        b"-NOPROTO unsupported protocol version\r\n",
    );
    c.check(
        &["HELLO", "abc"],
        b"-ERR Protocol version is not an integer or out of range\r\n",
    );
    c.check(&["HELLO", "3", "SETNAME", "myname"], &hello_reply(3, id));
    c.check(&["CLIENT", "GETNAME"], b"$6\r\nmyname\r\n");
    c.check(
        &["HELLO", "3", "BOGUS"],
        b"-ERR Syntax error in HELLO option 'BOGUS'\r\n",
    );
}

#[test]
fn reset_restores_defaults() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "db0"], OK);
    assert!(matches!(c.cmd(&["HELLO", "3"]), Reply::Map(_)));
    c.check(&["SELECT", "2"], OK);
    c.check(&["CLIENT", "SETNAME", "someone"], OK);
    c.check(&["RESET"], b"+RESET\r\n");
    c.check(&["CLIENT", "GETNAME"], b"$-1\r\n");
    c.check(&["GET", "k"], b"$3\r\ndb0\r\n");
    c.check(&["GET", "nokey"], b"$-1\r\n");
}

#[test]
fn auth_without_password() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(
        &["AUTH", "secret"],
        b"-ERR AUTH <password> called without any password configured for the default user. \
          Are you sure your configuration is correct?\r\n",
    );
    // The default user has `nopass` then, so any password is accepted for it.
    c.check(&["AUTH", "default", "anything"], OK);
    c.check(&["PING"], b"+PONG\r\n");
}

#[test]
fn auth_with_requirepass() {
    let s = Server::with_args(&["--requirepass", "s3cret"]);
    let mut c = s.connect();
    c.check(&["GET", "k"], NOAUTH);
    c.check(&["PING"], NOAUTH);
    c.check(&["AUTH", "wrong"], WRONGPASS);
    c.check(&["AUTH", "default", "wrong"], WRONGPASS);
    c.check(&["AUTH", "a", "b", "c"], b"-ERR syntax error\r\n");
    assert!(c
        .raw(&["HELLO", "3"])
        .starts_with(b"-NOAUTH HELLO must be called"));
    c.check(&["HELLO", "3", "AUTH", "default", "wrong"], WRONGPASS);
    c.check(&["AUTH", "s3cret"], OK);
    c.check(&["SET", "k", "v"], OK);
    c.check(&["GET", "k"], b"$1\r\nv\r\n");

    let mut c2 = s.connect();
    c2.check(&["AUTH", "default", "s3cret"], OK);
    c2.check(&["GET", "k"], b"$1\r\nv\r\n");

    let mut c3 = s.connect();
    let id = c3.cmd(&["HELLO", "3", "AUTH", "default", "s3cret"]);
    let Reply::Map(pairs) = id else {
        panic!("HELLO with AUTH: {id:?}")
    };
    assert_eq!(pairs[2], (Reply::Bulk(b"proto".to_vec()), Reply::Int(3)));
    c3.check(&["GET", "k"], b"$1\r\nv\r\n");

    // QUIT needs no authentication.
    let mut c4 = s.connect();
    c4.check(&["QUIT"], OK);
    c4.expect_closed();
}

#[test]
fn hello_before_auth_error_text() {
    let s = Server::with_args(&["--requirepass", "s3cret"]);
    let mut c = s.connect();
    c.check(
        &["HELLO", "3"],
        b"-NOAUTH HELLO must be called with the client already authenticated, otherwise the \
          HELLO AUTH <user> <pass> option can be used to authenticate the client and \
          select the RESP protocol version at the same time\r\n",
    );
}

#[test]
fn inline_commands() {
    let s = Server::start();
    let mut c = s.connect();
    c.check_raw(b"PING\r\n", b"+PONG\r\n");
    c.check_raw(b"ping\n", b"+PONG\r\n");
    c.check_raw(b"set a \"b c\"\r\n", OK);
    c.check_raw(b"get a\r\n", b"$3\r\nb c\r\n");
    c.check_raw(b"set q 'it\\'s'\r\n", OK);
    c.check_raw(b"get q\r\n", b"$4\r\nit's\r\n");
    c.check_raw(b"set x \"\\x41\\x00\\n\"\r\n", OK);
    c.check_raw(b"get x\r\n", b"$3\r\nA\x00\n\r\n");
    c.check_raw(b"   \r\n\r\nECHO   spaced\r\n", b"$6\r\nspaced\r\n");
    c.check_raw(b"MGET a q\r\n", b"*2\r\n$3\r\nb c\r\n$4\r\nit's\r\n");
}

/// Redis splits inline arguments with `isspace`, which also skips a leading vertical tab or form feed and
/// accepts one after a closing quote.
#[test]
fn inline_vertical_tab_is_whitespace() {
    let s = Server::start();
    let mut c = s.connect();
    c.check_raw(b"\x0bPING\r\n", b"+PONG\r\n");
    c.check_raw(b"ECHO \"a\"\x0b\r\n", b"$1\r\na\r\n");
    c.check_raw(b"ECHO \"a\"\x0c\r\n", b"$1\r\na\r\n");
}

#[test]
fn pipelining_and_split_writes() {
    let s = Server::start();
    let mut c = s.connect();
    let mut req = Vec::new();
    for i in 0..1000 {
        req.extend_from_slice(&encode(&["INCR", "counter"]));
        if i % 100 == 0 {
            req.extend_from_slice(b"PING\r\n");
        }
    }
    c.send(&req);
    for i in 0..1000 {
        assert_eq!(c.read_raw(), format!(":{}\r\n", i + 1).into_bytes());
        if i % 100 == 0 {
            assert_eq!(c.read_raw(), b"+PONG\r\n");
        }
    }
    // One command delivered a byte at a time.
    let cmd = encode(&["SET", "split", "value"]);
    for b in &cmd {
        c.send(std::slice::from_ref(b));
    }
    assert_eq!(c.read_raw(), OK);
    c.check(&["GET", "split"], b"$5\r\nvalue\r\n");
}

#[test]
fn large_values() {
    let s = Server::start();
    let mut c = s.connect();
    let big: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    c.check(&[&b"SET"[..], b"big", &big], OK);
    let got = c.cmd(&["GET", "big"]);
    assert!(got.bytes() == big, "GET big returned a different value");
    c.check(&["STRLEN", "big"], b":3000000\r\n");
    // A compressible value comes back intact too.
    let text = "abcdefgh".repeat(100_000);
    c.check(&["SET", "text", &text], OK);
    assert_eq!(c.cmd(&["GET", "text"]).text(), text);
    c.check(&["GETRANGE", "text", "799996", "-1"], b"$4\r\nefgh\r\n");
}
