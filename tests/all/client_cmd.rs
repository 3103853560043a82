//! The CLIENT command family over TCP: ids, CLIENT INFO/LIST lines, names, KILL, REPLY modes, PAUSE and
//! the per-connection NO-EVICT/NO-TOUCH switches.

use std::time::Duration;

use crate::harness::{encode, show, wait_for, Server, OK, SYNTAX};

/// The field names of a CLIENT INFO / CLIENT LIST line, in Redis 7.0's order.
const CLIENT_FIELDS: &[&str] = &[
    "id",
    "addr",
    "laddr",
    "fd",
    "name",
    "age",
    "idle",
    "flags",
    "db",
    "sub",
    "psub",
    "ssub",
    "multi",
    "qbuf",
    "qbuf-free",
    "argv-mem",
    "multi-mem",
    "rbs",
    "rbp",
    "obl",
    "oll",
    "omem",
    "tot-mem",
    "events",
    "cmd",
    "user",
    "redir",
    "resp",
];

/// Parses one CLIENT INFO line into (field, value) pairs.
fn fields(line: &str) -> Vec<(String, String)> {
    line.trim_end_matches('\n')
        .split(' ')
        .map(|f| {
            let (k, v) = f
                .split_once('=')
                .unwrap_or_else(|| panic!("bad field {f:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

fn field(line: &str, name: &str) -> String {
    fields(line)
        .into_iter()
        .find(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in {line:?}"))
        .1
}

#[test]
fn client_id_info_list() {
    let s = Server::start();
    let mut a = s.connect();
    let mut b = s.connect();
    let id_a = a.cmd(&["CLIENT", "ID"]).int();
    let id_b = b.cmd(&["CLIENT", "ID"]).int();
    assert!(id_b > id_a && id_a > 0, "ids {id_a} {id_b}");
    let info = a.cmd(&["CLIENT", "INFO"]).text();
    assert!(
        info.ends_with('\n') && info.matches('\n').count() == 1,
        "{info:?}"
    );
    let names: Vec<String> = fields(&info).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, CLIENT_FIELDS);
    assert_eq!(field(&info, "id"), id_a.to_string());
    assert_eq!(field(&info, "addr"), a.local_addr());
    assert_eq!(field(&info, "laddr"), format!("127.0.0.1:{}", s.port));
    assert_eq!(field(&info, "name"), "");
    assert_eq!(field(&info, "flags"), "N");
    assert_eq!(field(&info, "db"), "0");
    assert_eq!(field(&info, "multi"), "-1");
    assert_eq!(field(&info, "cmd"), "client|info");
    assert_eq!(field(&info, "user"), "default");
    assert_eq!(field(&info, "resp"), "2");

    a.check(&["SELECT", "3"], OK);
    a.check(&["CLIENT", "SETNAME", "alpha"], OK);
    let list = b.cmd(&["CLIENT", "LIST"]).text();
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.len(), 2, "{list:?}");
    let line_a = lines
        .iter()
        .find(|l| field(l, "id") == id_a.to_string())
        .expect("client a listed");
    assert_eq!(field(line_a, "name"), "alpha");
    assert_eq!(field(line_a, "db"), "3");
    assert_eq!(field(line_a, "cmd"), "client|setname");
    let names: Vec<String> = fields(line_a).into_iter().map(|(k, _)| k).collect();
    assert_eq!(names, CLIENT_FIELDS);

    let only_b = b.cmd(&["CLIENT", "LIST", "ID", &id_b.to_string()]).text();
    assert_eq!(only_b.lines().count(), 1);
    assert_eq!(field(&only_b, "id"), id_b.to_string());
    let two = b
        .cmd(&[
            "CLIENT",
            "LIST",
            "ID",
            &id_a.to_string(),
            &id_b.to_string(),
            "999999",
        ])
        .text();
    assert_eq!(two.lines().count(), 2);
    assert_eq!(
        b.cmd(&["CLIENT", "LIST", "TYPE", "normal"])
            .text()
            .lines()
            .count(),
        2
    );
    b.check(&["CLIENT", "LIST", "TYPE", "pubsub"], b"$0\r\n\r\n");
    b.check(
        &["CLIENT", "LIST", "TYPE", "bogus"],
        b"-ERR Unknown client type 'bogus'\r\n",
    );
    b.check(
        &["CLIENT", "LIST", "ID", "abc"],
        b"-ERR Invalid client ID\r\n",
    );
    b.check(&["CLIENT", "LIST", "BOGUS"], SYNTAX);
    b.check(
        &["CLIENT", "BOGUS"],
        b"-ERR unknown subcommand 'BOGUS'. Try CLIENT HELP.\r\n",
    );
}

#[test]
fn client_setname_getname() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["CLIENT", "GETNAME"], b"$-1\r\n");
    c.check(&["CLIENT", "SETNAME", "my-conn"], OK);
    c.check(&["CLIENT", "GETNAME"], b"$7\r\nmy-conn\r\n");
    let bad = b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n";
    c.check(&["CLIENT", "SETNAME", "a b"], bad);
    c.check(&["CLIENT", "SETNAME", "a\nb"], bad);
    c.check(&["CLIENT", "GETNAME"], b"$7\r\nmy-conn\r\n");
    // An empty name removes the name.
    c.check(&["CLIENT", "SETNAME", ""], OK);
    c.check(&["CLIENT", "GETNAME"], b"$-1\r\n");
    c.check(
        &["CLIENT", "SETNAME"],
        b"-ERR wrong number of arguments for 'client|setname' command\r\n",
    );
}

#[test]
fn client_kill() {
    let s = Server::start();
    let mut killer = s.connect();
    let mut victim = s.connect();
    victim.check(&["PING"], b"+PONG\r\n");
    killer.check(&["CLIENT", "KILL", &victim.local_addr()], OK);
    victim.send_lossy(&encode(&["PING"]));
    assert_eq!(victim.expect_closed(), b"");
    killer.check(&["CLIENT", "KILL", "1.2.3.4:5"], b"-ERR No such client\r\n");

    let mut victim = s.connect();
    let id = victim.cmd(&["CLIENT", "ID"]).int();
    killer.check(&["CLIENT", "KILL", "ID", &id.to_string()], b":1\r\n");
    victim.send_lossy(&encode(&["PING"]));
    victim.expect_closed();
    killer.check(&["CLIENT", "KILL", "ID", &id.to_string()], b":0\r\n");
    killer.check(
        &["CLIENT", "KILL", "ID", "abc"],
        b"-ERR client-id should be greater than 0\r\n",
    );
    let mut victim = s.connect();
    victim.check(&["PING"], b"+PONG\r\n");
    killer.check(
        &[
            "CLIENT",
            "KILL",
            "ADDR",
            &victim.local_addr(),
            "SKIPME",
            "yes",
        ],
        b":1\r\n",
    );
    victim.send_lossy(&encode(&["PING"]));
    victim.expect_closed();
    // SKIPME no lets a client kill itself: it gets its reply, then the connection closes.
    let own = killer.local_addr();
    killer.send(&encode(&["CLIENT", "KILL", "ADDR", &own, "SKIPME", "no"]));
    assert_eq!(killer.expect_closed(), b":1\r\n");
    let mut c = s.connect();
    c.check(&["CLIENT", "KILL", "ADDR", "1.2.3.4:5"], b":0\r\n");
    c.check(&["CLIENT", "KILL", "BOGUS", "x"], SYNTAX);
}

#[test]
fn client_kill_filter_errors() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(
        &["CLIENT", "KILL", "TYPE", "bogus"],
        b"-ERR Unknown client type 'bogus'\r\n",
    );
    c.check(
        &["CLIENT", "KILL", "USER", "nobody"],
        b"-ERR No such user 'nobody'\r\n",
    );
    c.check(&["CLIENT", "KILL", "TYPE", "pubsub"], b":0\r\n");
}

#[test]
fn client_reply_off_on_skip() {
    let s = Server::start();
    let mut c = s.connect();
    // OFF: nothing comes back until ON, whose +OK is the first reply.
    let mut req = encode(&["CLIENT", "REPLY", "OFF"]);
    req.extend(encode(&["SET", "k", "v"]));
    req.extend(encode(&["PING"]));
    req.extend(encode(&["SET", "s", "abc"]));
    req.extend(encode(&["INCR", "s"]));
    req.extend(encode(&["CLIENT", "REPLY", "ON"]));
    req.extend(encode(&["GET", "k"]));
    c.send(&req);
    assert_eq!(show(&c.read_raw()), show(OK));
    assert_eq!(c.read_raw(), b"$1\r\nv\r\n");
    // SKIP: no reply to itself or to the next command.
    let mut req = encode(&["CLIENT", "REPLY", "SKIP"]);
    req.extend(encode(&["ECHO", "skipped"]));
    req.extend(encode(&["ECHO", "shown"]));
    c.send(&req);
    assert_eq!(c.read_raw(), b"$5\r\nshown\r\n");
    c.check(&["CLIENT", "REPLY", "MAYBE"], SYNTAX);
    c.send(&encode(&["CLIENT", "REPLY", "OFF"]));
    c.send(&encode(&["PING"]));
    c.expect_silence(Duration::from_millis(200));
}

/// Errors raised before a command runs (unknown command, wrong arity) are silenced too.
#[test]
fn client_reply_off_silences_dispatch_errors() {
    let s = Server::start();
    let mut c = s.connect();
    let mut req = encode(&["CLIENT", "REPLY", "OFF"]);
    req.extend(encode(&["GET", "a", "b"]));
    req.extend(encode(&["NOSUCHCMD"]));
    req.extend(encode(&["CLIENT", "REPLY", "ON"]));
    c.send(&req);
    assert_eq!(show(&c.read_raw()), show(OK));
    let mut req = encode(&["CLIENT", "REPLY", "SKIP"]);
    req.extend(encode(&["GET", "a", "b"]));
    req.extend(encode(&["PING"]));
    c.send(&req);
    assert_eq!(show(&c.read_raw()), show(b"+PONG\r\n"));
}

#[test]
fn client_pause_write_and_unpause() {
    let s = Server::start();
    let mut admin = s.connect();
    let mut writer = s.connect();
    let mut reader = s.connect();
    writer.check(&["SET", "k", "before"], OK);
    admin.check(&["CLIENT", "PAUSE", "100000", "WRITE"], OK);
    // Reads go on; writes wait for the pause to end.
    reader.check(&["GET", "k"], b"$6\r\nbefore\r\n");
    writer.send(&encode(&["SET", "k", "after"]));
    writer.expect_silence(Duration::from_millis(300));
    reader.check(&["GET", "k"], b"$6\r\nbefore\r\n");
    admin.check(&["CLIENT", "UNPAUSE"], OK);
    assert_eq!(writer.read_raw(), OK);
    reader.check(&["GET", "k"], b"$5\r\nafter\r\n");
    admin.check(
        &["CLIENT", "PAUSE", "abc"],
        b"-ERR timeout is not an integer or out of range\r\n",
    );
    admin.check(
        &["CLIENT", "PAUSE", "10", "BOGUS"],
        b"-ERR CLIENT PAUSE mode must be WRITE or ALL\r\n",
    );
}

/// A pause of ALL commands holds every client, even one sending CLIENT UNPAUSE (as in Redis 7.0), until
/// it times out.
#[test]
fn client_pause_all_expires() {
    let s = Server::start();
    let mut admin = s.connect();
    let mut other = s.connect();
    admin.check(&["CLIENT", "PAUSE", "2000", "ALL"], OK);
    other.send(&encode(&["PING"]));
    other.expect_silence(Duration::from_millis(300));
    admin.send(&encode(&["CLIENT", "UNPAUSE"]));
    admin.expect_silence(Duration::from_millis(100));
    assert_eq!(other.read_raw(), b"+PONG\r\n");
    assert_eq!(admin.read_raw(), OK);
}

#[test]
fn client_no_evict_no_touch() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["CLIENT", "NO-EVICT", "ON"], OK);
    let info = c.cmd(&["CLIENT", "INFO"]).text();
    assert!(field(&info, "flags").contains('e'), "{info}");
    c.check(&["CLIENT", "NO-EVICT", "off"], OK);
    c.check(&["CLIENT", "NO-EVICT", "maybe"], SYNTAX);
    c.check(&["CLIENT", "NO-TOUCH", "ON"], OK);
    c.check(&["CLIENT", "NO-TOUCH", "OFF"], OK);
    c.check(&["CLIENT", "NO-TOUCH", "maybe"], SYNTAX);
}

#[test]
fn client_no_touch_keeps_idle_time() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "v"], OK);
    let idle = || c_idle(&s);
    assert!(
        wait_for(Duration::from_secs(10), || idle() >= 2),
        "OBJECT IDLETIME never reached 2"
    );
    c.check(&["CLIENT", "NO-TOUCH", "ON"], OK);
    c.check(&["GET", "k"], b"$1\r\nv\r\n");
    assert!(idle() >= 2, "GET under NO-TOUCH reset the idle time");
    c.check(&["CLIENT", "NO-TOUCH", "OFF"], OK);
    c.check(&["GET", "k"], b"$1\r\nv\r\n");
    assert!(idle() <= 1, "GET did not reset the idle time");
}

fn c_idle(s: &Server) -> i64 {
    s.connect().cmd(&["OBJECT", "IDLETIME", "k"]).int()
}
