//! Transactions, pub/sub and keyspace notifications over TCP, with the hostile cases: a subscriber
//! that never reads, huge patterns, a MULTI queue past the query-buffer limit, misplaced EXEC/WATCH.

use std::time::Duration;

use crate::harness::{assert_alive, encode, info_field, wait_for, Server};

#[test]
fn multi_exec_watch_basics() {
    let s = Server::start();
    let mut c = s.connect();
    let mut other = s.connect();
    c.check(&["EXEC"], b"-ERR EXEC without MULTI\r\n");
    c.check(&["DISCARD"], b"-ERR DISCARD without MULTI\r\n");
    c.check(&["MULTI"], b"+OK\r\n");
    c.check(
        &["WATCH", "k"],
        b"-ERR WATCH inside MULTI is not allowed\r\n",
    );
    c.check(&["MULTI"], b"-ERR MULTI calls can not be nested\r\n");
    c.check(&["SET", "k", "1"], b"+QUEUED\r\n");
    c.check(&["INCR", "k"], b"+QUEUED\r\n");
    c.check(&["EXEC"], b"*2\r\n+OK\r\n:2\r\n");
    // A queuing error aborts EXEC; a runtime error does not stop the rest.
    c.check(&["MULTI"], b"+OK\r\n");
    c.check(
        &["NOSUCH"],
        b"-ERR unknown command 'NOSUCH', with args beginning with: \r\n",
    );
    c.check(
        &["EXEC"],
        b"-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
    c.check(&["MULTI"], b"+OK\r\n");
    c.check(&["SET", "s", "x"], b"+QUEUED\r\n");
    c.check(&["INCR", "s"], b"+QUEUED\r\n");
    c.check(&["GET", "s"], b"+QUEUED\r\n");
    c.check(
        &["EXEC"],
        b"*3\r\n+OK\r\n-ERR value is not an integer or out of range\r\n$1\r\nx\r\n",
    );
    // WATCH: another client's write aborts the transaction.
    c.check(&["WATCH", "k"], b"+OK\r\n");
    other.check(&["SET", "k", "changed"], b"+OK\r\n");
    c.check(&["MULTI"], b"+OK\r\n");
    c.check(&["GET", "k"], b"+QUEUED\r\n");
    c.check(&["EXEC"], b"*-1\r\n");
    c.check(&["WATCH", "k"], b"+OK\r\n");
    c.check(&["MULTI"], b"+OK\r\n");
    c.check(&["GET", "k"], b"+QUEUED\r\n");
    c.check(&["EXEC"], b"*1\r\n$7\r\nchanged\r\n");
}

#[test]
fn multi_queue_past_query_buffer_limit_closes_the_client() {
    let s = Server::with_args(&["--client-query-buffer-limit", "1mb"]);
    let mut c = s.connect();
    c.check(&["MULTI"], b"+OK\r\n");
    let value = "x".repeat(64 * 1024);
    let mut req = Vec::new();
    for _ in 0..40 {
        req.extend(encode(&["SET", "k", value.as_str()]));
    }
    c.send_lossy(&req);
    let got = c.expect_closed();
    assert!(
        got.starts_with(b"+QUEUED\r\n"),
        "{:?}",
        String::from_utf8_lossy(&got[..got.len().min(40)])
    );
    assert_alive(&s);
}

#[test]
fn publish_subscribe_and_patterns() {
    let s = Server::start();
    let mut sub = s.connect();
    let mut publisher = s.connect();
    sub.check(
        &["SUBSCRIBE", "news"],
        b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n",
    );
    sub.check(
        &["PSUBSCRIBE", "n*"],
        b"*3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n",
    );
    sub.check(
        &["GET", "x"],
        b"-ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n",
    );
    sub.check(&["PING"], b"*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    publisher.check(&["PUBLISH", "news", "hi"], b":2\r\n");
    let got = sub.read_raw();
    let mut all = got;
    while all.len() < 60 {
        all.extend(sub.read_raw());
    }
    assert_eq!(
        all,
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
    );
    publisher.check(
        &["PUBSUB", "NUMSUB", "news", "none"],
        b"*4\r\n$4\r\nnews\r\n:1\r\n$4\r\nnone\r\n:0\r\n",
    );
    publisher.check(&["PUBSUB", "NUMPAT"], b":1\r\n");
    // A 100k-character pattern is just a pattern.
    let huge = "a*".repeat(50_000);
    let mut psub = s.connect();
    let reply = psub.raw(&["PSUBSCRIBE", huge.as_str()]);
    assert!(reply.ends_with(b":1\r\n"));
    publisher.check(&["PUBLISH", "other", "x"], b":0\r\n");
}

#[test]
fn keyspace_notifications() {
    let s = Server::start();
    let mut c = s.connect();
    let mut sub = s.connect();
    c.check(
        &["CONFIG", "SET", "notify-keyspace-events", "KEA"],
        b"+OK\r\n",
    );
    c.check(
        &["CONFIG", "GET", "notify-keyspace-events"],
        b"*2\r\n$22\r\nnotify-keyspace-events\r\n$3\r\nAKE\r\n",
    );
    sub.check(
        &["PSUBSCRIBE", "__key*__:*"],
        b"*3\r\n$10\r\npsubscribe\r\n$10\r\n__key*__:*\r\n:1\r\n",
    );
    c.check(&["SET", "k", "v", "EX", "100"], b"+OK\r\n");
    let mut events = Vec::new();
    while events.len() < 4 {
        let r = sub.read_reply();
        events.push(r.items()[2].text() + " " + &r.items()[3].text());
    }
    assert_eq!(
        events,
        [
            "__keyspace@0__:k set",
            "__keyevent@0__:set k",
            "__keyspace@0__:k expire",
            "__keyevent@0__:expire k"
        ]
    );
}

#[test]
fn a_subscriber_that_never_reads_is_dropped() {
    let s = Server::with_args(&["--client-output-buffer-limit", "pubsub 256kb 0 0"]);
    let mut slow = s.connect();
    slow.check(
        &["SUBSCRIBE", "flood"],
        b"*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n",
    );
    let mut publisher = s.connect();
    let payload = "p".repeat(64 * 1024);
    // The subscriber reads nothing; its buffer passes 256 KiB and the server drops it.
    let dropped = wait_for(Duration::from_secs(20), || {
        for _ in 0..64 {
            publisher.raw(&["PUBLISH", "flood", payload.as_str()]);
        }
        let mut probe = s.connect();
        info_field(
            &probe.cmd(&["INFO", "stats"]).text(),
            "client_output_buffer_limit_disconnections",
        )
        .is_some_and(|v| v != "0")
    });
    assert!(dropped, "the slow subscriber was not disconnected");
    publisher.check(&["PUBLISH", "flood", "x"], b":0\r\n");
}
