//! Replication: an Ember replica of Ember and of a real redis-server, a redis-server replica of
//! Ember, the read-only and stale-data rules, and promotion with REPLICAOF NO ONE.

use std::time::Duration;

use crate::harness::{wait_for, Conn, Reply, Server};

/// Waits until `replica` reports its link to the master up.
fn wait_link_up(replica: &mut Conn) {
    let up = wait_for(Duration::from_secs(10), || {
        replica
            .cmd(&["INFO", "replication"])
            .text()
            .contains("master_link_status:up")
    });
    assert!(up, "the replica never connected to its master");
}

/// Waits until `key` reads `want` on `conn`.
fn wait_value(conn: &mut Conn, key: &str, want: &str) {
    let ok = wait_for(Duration::from_secs(10), || {
        // Nil until the write arrives.
        conn.cmd(&["GET", key]) == Reply::Bulk(want.as_bytes().to_vec())
    });
    assert!(ok, "{key} never became {want:?} on the replica");
}

/// Writes every type on `master` (in two databases, with a TTL), then checks `replica` has it.
fn exercise(master: &mut Conn, replica: &mut Conn, replica_port: u16) {
    master.cmd(&["SET", "before", "sync"]);
    master.cmd(&["RPUSH", "list", "a", "b", "c"]);
    master.cmd(&["SET", "ttl", "v", "EX", "1000"]);
    replica.check(
        &["REPLICAOF", "127.0.0.1", &master_port(master)],
        b"+OK\r\n",
    );
    wait_link_up(replica);
    wait_value(replica, "before", "sync");
    assert_eq!(replica.cmd(&["LRANGE", "list", "0", "-1"]).items().len(), 3);
    let ttl = replica.cmd(&["TTL", "ttl"]).int();
    assert!((990..=1000).contains(&ttl), "TTL {ttl}");
    // The stream after the sync: writes in several databases, a transaction, a deletion.
    master.cmd(&["HSET", "h", "f", "v", "g", "w"]);
    master.cmd(&["SELECT", "5"]);
    master.cmd(&["SADD", "s", "x", "y"]);
    master.cmd(&["MULTI"]);
    master.cmd(&["INCR", "n"]);
    master.cmd(&["INCR", "n"]);
    master.cmd(&["EXEC"]);
    master.cmd(&["SELECT", "0"]);
    master.cmd(&["DEL", "list"]);
    master.cmd(&["SET", "after", "sync"]);
    wait_value(replica, "after", "sync");
    replica.check(&["HGET", "h", "g"], b"$1\r\nw\r\n");
    replica.check(&["EXISTS", "list"], b":0\r\n");
    replica.cmd(&["SELECT", "5"]);
    replica.check(&["SCARD", "s"], b":2\r\n");
    replica.check(&["GET", "n"], b"$1\r\n2\r\n");
    replica.cmd(&["SELECT", "0"]);
    // Ordinary clients may not write to a replica.
    replica.check(
        &["SET", "k", "v"],
        b"-READONLY You can't write against a read only replica.\r\n",
    );
    let role = replica.cmd(&["ROLE"]);
    assert_eq!(role.items()[0].bytes(), b"slave");
    assert_eq!(role.items()[3].bytes(), b"connected");
    // The master lists its replica, with the port it announced, once it acknowledged.
    let listed = wait_for(Duration::from_secs(5), || {
        master
            .cmd(&["INFO", "replication"])
            .text()
            .contains(&format!("port={replica_port},state=online"))
    });
    assert!(listed, "the master does not list its replica");
}

fn master_port(conn: &mut Conn) -> String {
    let info = conn.cmd(&["CONFIG", "GET", "port"]);
    info.items()[1].text()
}

#[test]
fn ember_replicates_ember() {
    let master = Server::start();
    let replica = Server::start();
    let mut m = master.connect();
    let mut r = replica.connect();
    exercise(&mut m, &mut r, replica.port);
    // Promotion keeps the data and accepts writes again.
    r.check(&["REPLICAOF", "NO", "ONE"], b"+OK\r\n");
    r.check(&["GET", "after"], b"$4\r\nsync\r\n");
    r.check(&["SET", "k", "v"], b"+OK\r\n");
    assert_eq!(r.cmd(&["ROLE"]).items()[0].bytes(), b"master");
}

#[test]
fn ember_replicates_redis_and_answers_wait() {
    let Some(redis) = Server::redis() else { return };
    let replica = Server::start();
    let mut m = redis.connect();
    let mut r = replica.connect();
    exercise(&mut m, &mut r, replica.port);
    // WAIT makes redis-server ask for an acknowledgement (REPLCONF GETACK), which Ember answers.
    m.cmd(&["SET", "acked", "1"]);
    assert_eq!(m.cmd(&["WAIT", "1", "5000"]).int(), 1);
    // The master's expiry reaches the replica as a DEL.
    m.cmd(&["SET", "short", "v", "PX", "50"]);
    let gone = wait_for(Duration::from_secs(5), || {
        r.cmd(&["EXISTS", "short"]).int() == 0
    });
    assert!(gone);
}

#[test]
fn redis_replicates_ember() {
    let Some(redis) = Server::redis() else { return };
    let master = Server::start();
    let mut m = master.connect();
    let mut r = redis.connect();
    exercise(&mut m, &mut r, redis.port);
}

#[test]
fn a_stale_replica_refuses_what_lacks_the_stale_flag() {
    let replica = Server::start();
    let mut r = replica.connect();
    let mut other = replica.connect();
    r.cmd(&["SET", "xx", "1"]);
    r.check(
        &["CONFIG", "SET", "replica-serve-stale-data", "no"],
        b"+OK\r\n",
    );
    // A command queued before the link went down fails the whole EXEC.
    r.check(&["MULTI"], b"+OK\r\n");
    r.check(&["GET", "xx"], b"+QUEUED\r\n");
    other.check(&["REPLICAOF", "localhsot", "0"], b"+OK\r\n");
    r.check(
        &["EXEC"],
        b"-EXECABORT Transaction discarded because of: MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n",
    );
    r.check(
        &["PING"],
        b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n",
    );
    // INFO and CONFIG GET carry the stale flag.
    assert!(r
        .cmd(&["INFO", "replication"])
        .text()
        .contains("master_link_status:down"));
    assert_eq!(r.cmd(&["CONFIG", "GET", "port"]).items().len(), 2);
    other.check(&["REPLICAOF", "NO", "ONE"], b"+OK\r\n");
    r.check(&["GET", "xx"], b"$1\r\n1\r\n");
    r.check(
        &["REPLICAOF", "127.0.0.1", "notaport"],
        b"-ERR Invalid master port\r\n",
    );
}

/// Cuts the replica's link to its master and checks it comes back by continuing the stream, with
/// the writes made meanwhile.
fn continues_after_link_loss(master: &mut Conn, replica: &mut Conn) {
    master.cmd(&["SET", "before_cut", "1"]);
    wait_value(replica, "before_cut", "1");
    let killed = replica.cmd(&["CLIENT", "KILL", "TYPE", "master"]).int();
    assert_eq!(killed, 1);
    master.cmd(&["SET", "during_cut", "2"]);
    master.cmd(&["INCR", "counter"]);
    wait_link_up(replica);
    wait_value(replica, "during_cut", "2");
    replica.check(&["GET", "counter"], b"$1\r\n1\r\n");
    let stats = master.cmd(&["INFO", "stats"]).text();
    assert!(stats.contains("sync_partial_ok:1"), "{stats}");
}

/// Makes `replica` a replica of `master`, waits for the link, then runs
/// [`continues_after_link_loss`].
fn link_then_cut(master: &Server, replica: &Server) {
    let (mut m, mut r) = (master.connect(), replica.connect());
    r.check(
        &["REPLICAOF", "127.0.0.1", &master.port.to_string()],
        b"+OK\r\n",
    );
    wait_link_up(&mut r);
    continues_after_link_loss(&mut m, &mut r);
}

#[test]
fn ember_replica_continues_from_ember_backlog() {
    link_then_cut(&Server::start(), &Server::start());
}

#[test]
fn ember_replica_continues_from_redis_backlog() {
    let Some(redis) = Server::redis() else { return };
    link_then_cut(&redis, &Server::start());
}

#[test]
fn redis_replica_continues_from_ember_backlog() {
    let Some(redis) = Server::redis() else { return };
    link_then_cut(&Server::start(), &redis);
}
