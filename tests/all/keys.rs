//! Keyspace commands over TCP, asserting Redis 7.0's reply bytes: deletion and existence, KEYS and SCAN,
//! renames and moves between databases, the EXPIRE family, OBJECT, and database management. Also active
//! expiry: keys with a short TTL disappear without being touched.

use std::collections::BTreeSet;
use std::time::Duration;

use crate::harness::{unix_time_s, wait_for, Conn, Reply, Server, NIL, NOT_INT, OK, SYNTAX};

const DB_RANGE: &[u8] = b"-ERR DB index is out of range\r\n";
const SAME: &[u8] = b"-ERR source and destination objects are the same\r\n";

fn sorted(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = r.items().iter().map(Reply::text).collect();
    v.sort();
    v
}

/// Runs a whole SCAN (extra arguments after the cursor) and returns every key it returned.
fn scan_all(c: &mut Conn, extra: &[&str]) -> Vec<String> {
    let mut cursor = "0".to_string();
    let mut keys = Vec::new();
    for _ in 0..100_000 {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let r = c.cmd(&args);
        let items = r.items();
        assert_eq!(items.len(), 2, "SCAN reply {r:?}");
        keys.extend(items[1].items().iter().map(Reply::text));
        cursor = items[0].text();
        if cursor == "0" {
            return keys;
        }
    }
    panic!("SCAN did not finish");
}

#[test]
fn del_unlink_exists_type() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["MSET", "a", "1", "b", "2", "c", "3"], OK);
    c.check(&["EXISTS", "a", "a", "b", "nokey"], b":3\r\n");
    c.check(&["TYPE", "a"], b"+string\r\n");
    c.check(&["TYPE", "nokey"], b"+none\r\n");
    c.check(&["DEL", "a", "a", "nokey"], b":1\r\n");
    c.check(&["UNLINK", "b", "c", "nokey"], b":2\r\n");
    c.check(&["EXISTS", "a", "b", "c"], b":0\r\n");
    c.check(&["DEL", "a"], b":0\r\n");
    c.check(
        &["DEL"],
        b"-ERR wrong number of arguments for 'del' command\r\n",
    );
}

#[test]
fn keys_patterns() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(
        &[
            "MSET", "hello", "1", "hallo", "2", "hxllo", "3", "hllo", "4", "heeeello", "5",
        ],
        OK,
    );
    c.check(&["SET", "a*b", "6"], OK);
    let keys = |c: &mut Conn, p: &str| sorted(&c.cmd(&["KEYS", p]));
    assert_eq!(keys(&mut c, "h?llo"), ["hallo", "hello", "hxllo"]);
    assert_eq!(
        keys(&mut c, "h*llo"),
        ["hallo", "heeeello", "hello", "hllo", "hxllo"]
    );
    assert_eq!(keys(&mut c, "h[ae]llo"), ["hallo", "hello"]);
    assert_eq!(keys(&mut c, "h[^e]llo"), ["hallo", "hxllo"]);
    assert_eq!(keys(&mut c, "h[a-b]llo"), ["hallo"]);
    assert_eq!(keys(&mut c, "a\\*b"), ["a*b"]);
    assert_eq!(keys(&mut c, "*").len(), 6);
    assert!(keys(&mut c, "nomatch*").is_empty());
    c.check(&["KEYS", "hello"], b"*1\r\n$5\r\nhello\r\n");
}

#[test]
fn scan_match_count_type() {
    let s = Server::start();
    let mut c = s.connect();
    let mut expected = BTreeSet::new();
    for i in 0..500 {
        let k = format!("key:{i}");
        c.check(&["SET", &k, "v"], OK);
        expected.insert(k);
    }
    c.check(&["SET", "other", "v"], OK);
    let all: BTreeSet<String> = scan_all(&mut c, &[]).into_iter().collect();
    assert_eq!(all.len(), 501);
    let matched: BTreeSet<String> = scan_all(&mut c, &["MATCH", "key:*", "COUNT", "7"])
        .into_iter()
        .collect();
    assert_eq!(matched, expected);
    let ones: BTreeSet<String> = scan_all(&mut c, &["MATCH", "key:1?", "COUNT", "1000"])
        .into_iter()
        .collect();
    assert_eq!(ones.len(), 10);
    assert_eq!(scan_all(&mut c, &["TYPE", "string"]).len(), 501);
    assert!(scan_all(&mut c, &["TYPE", "list"]).is_empty());
    assert!(scan_all(&mut c, &["MATCH", "nomatch*", "TYPE", "string"]).is_empty());
    c.check(&["SCAN", "abc"], b"-ERR invalid cursor\r\n");
    c.check(&["SCAN", "0", "COUNT", "0"], SYNTAX);
    c.check(&["SCAN", "0", "COUNT", "x"], NOT_INT);
    c.check(&["SCAN", "0", "BOGUS", "1"], SYNTAX);
    c.check(&["SCAN", "0", "MATCH"], SYNTAX);
    // An empty database has nothing to return.
    c.check(&["FLUSHALL"], OK);
    c.check(&["SCAN", "0"], b"*2\r\n$1\r\n0\r\n*0\r\n");
}

#[test]
fn randomkey_dbsize_flush() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["RANDOMKEY"], NIL);
    c.check(&["DBSIZE"], b":0\r\n");
    c.check(&["SET", "only", "1"], OK);
    c.check(&["RANDOMKEY"], b"$4\r\nonly\r\n");
    c.check(&["MSET", "a", "1", "b", "2"], OK);
    c.check(&["DBSIZE"], b":3\r\n");
    let k = c.cmd(&["RANDOMKEY"]).text();
    assert!(
        ["only", "a", "b"].contains(&k.as_str()),
        "RANDOMKEY gave {k}"
    );
    c.check(&["SELECT", "1"], OK);
    c.check(&["SET", "x", "1"], OK);
    c.check(&["FLUSHDB"], OK);
    c.check(&["DBSIZE"], b":0\r\n");
    c.check(&["SET", "x", "1"], OK);
    c.check(&["SELECT", "0"], OK);
    c.check(&["DBSIZE"], b":3\r\n");
    c.check(&["FLUSHDB", "ASYNC"], OK);
    c.check(&["DBSIZE"], b":0\r\n");
    c.check(&["SET", "y", "1"], OK);
    c.check(&["FLUSHALL", "SYNC"], OK);
    c.check(&["DBSIZE"], b":0\r\n");
    c.check(&["SELECT", "1"], OK);
    c.check(&["DBSIZE"], b":0\r\n");
    c.check(&["FLUSHDB", "BOGUS"], SYNTAX);
    c.check(&["FLUSHALL", "BOGUS"], SYNTAX);
}

#[test]
fn rename_renamenx() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["RENAME", "nokey", "x"], b"-ERR no such key\r\n");
    c.check(&["RENAMENX", "nokey", "x"], b"-ERR no such key\r\n");
    c.check(&["SET", "a", "1", "EX", "100"], OK);
    c.check(&["RENAME", "a", "b"], OK);
    c.check(&["EXISTS", "a"], b":0\r\n");
    c.check(&["GET", "b"], b"$1\r\n1\r\n");
    c.check(&["TTL", "b"], b":100\r\n");
    c.check(&["RENAME", "b", "b"], OK);
    c.check(&["GET", "b"], b"$1\r\n1\r\n");
    c.check(&["SET", "c", "2"], OK);
    // RENAME over an existing key replaces it (and its TTL).
    c.check(&["SET", "d", "old", "EX", "500"], OK);
    c.check(&["RENAME", "c", "d"], OK);
    c.check(&["GET", "d"], b"$1\r\n2\r\n");
    c.check(&["TTL", "d"], b":-1\r\n");
    c.check(&["RENAMENX", "b", "d"], b":0\r\n");
    c.check(&["RENAMENX", "b", "b"], b":0\r\n");
    c.check(&["RENAMENX", "b", "e"], b":1\r\n");
    c.check(&["MGET", "b", "e"], b"*2\r\n$-1\r\n$1\r\n1\r\n");
}

#[test]
fn move_and_copy() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "v", "EX", "100"], OK);
    c.check(&["MOVE", "k", "0"], SAME);
    c.check(&["MOVE", "k", "16"], DB_RANGE);
    c.check(&["MOVE", "k", "x"], NOT_INT);
    c.check(&["MOVE", "nokey", "1"], b":0\r\n");
    c.check(&["MOVE", "k", "1"], b":1\r\n");
    c.check(&["EXISTS", "k"], b":0\r\n");
    c.check(&["SELECT", "1"], OK);
    c.check(&["GET", "k"], b"$1\r\nv\r\n");
    c.check(&["TTL", "k"], b":100\r\n");
    c.check(&["SELECT", "0"], OK);
    c.check(&["SET", "k", "here"], OK);
    c.check(&["MOVE", "k", "1"], b":0\r\n");
    c.check(&["GET", "k"], b"$4\r\nhere\r\n");

    c.check(&["COPY", "k", "k2"], b":1\r\n");
    c.check(&["GET", "k2"], b"$4\r\nhere\r\n");
    c.check(&["COPY", "k", "k2"], b":0\r\n");
    c.check(&["SET", "k", "new"], OK);
    c.check(&["COPY", "k", "k2", "REPLACE"], b":1\r\n");
    c.check(&["GET", "k2"], b"$3\r\nnew\r\n");
    c.check(&["COPY", "k", "k"], SAME);
    c.check(&["COPY", "nokey", "x"], b":0\r\n");
    c.check(&["COPY", "k", "k", "DB", "1"], b":0\r\n");
    c.check(&["COPY", "k", "k", "DB", "1", "REPLACE"], b":1\r\n");
    c.check(&["COPY", "k", "k3", "DB", "16"], DB_RANGE);
    c.check(&["COPY", "k", "k3", "DB", "x"], NOT_INT);
    c.check(&["COPY", "k", "k3", "BOGUS"], SYNTAX);
    c.check(&["SET", "t", "v", "EX", "100"], OK);
    c.check(&["COPY", "t", "t2"], b":1\r\n");
    c.check(&["TTL", "t2"], b":100\r\n");
    c.check(&["SELECT", "1"], OK);
    c.check(&["GET", "k"], b"$3\r\nnew\r\n");
    // The copy is independent of its source.
    c.check(&["APPEND", "k", "!"], b":4\r\n");
    c.check(&["SELECT", "0"], OK);
    c.check(&["GET", "k"], b"$3\r\nnew\r\n");
}

#[test]
fn expire_and_ttl() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["TTL", "nokey"], b":-2\r\n");
    c.check(&["PTTL", "nokey"], b":-2\r\n");
    c.check(&["EXPIRETIME", "nokey"], b":-2\r\n");
    c.check(&["PEXPIRETIME", "nokey"], b":-2\r\n");
    c.check(&["EXPIRE", "nokey", "100"], b":0\r\n");
    c.check(&["SET", "k", "v"], OK);
    c.check(&["TTL", "k"], b":-1\r\n");
    c.check(&["PTTL", "k"], b":-1\r\n");
    c.check(&["EXPIRETIME", "k"], b":-1\r\n");
    c.check(&["PEXPIRETIME", "k"], b":-1\r\n");
    c.check(&["EXPIRE", "k", "100"], b":1\r\n");
    c.check(&["TTL", "k"], b":100\r\n");
    let pttl = c.cmd(&["PTTL", "k"]).int();
    assert!((90_000..=100_000).contains(&pttl), "PTTL {pttl}");
    c.check(&["PEXPIRE", "k", "200000"], b":1\r\n");
    c.check(&["TTL", "k"], b":200\r\n");
    let at = unix_time_s() + 1000;
    c.check(&["EXPIREAT", "k", &at.to_string()], b":1\r\n");
    c.check(&["EXPIRETIME", "k"], format!(":{at}\r\n").as_bytes());
    c.check(
        &["PEXPIRETIME", "k"],
        format!(":{}\r\n", at * 1000).as_bytes(),
    );
    let at_ms = at * 1000 + 1234;
    c.check(&["PEXPIREAT", "k", &at_ms.to_string()], b":1\r\n");
    c.check(&["PEXPIRETIME", "k"], format!(":{at_ms}\r\n").as_bytes());
    c.check(&["EXPIRETIME", "k"], format!(":{}\r\n", at + 1).as_bytes());
    c.check(&["PERSIST", "k"], b":1\r\n");
    c.check(&["PERSIST", "k"], b":0\r\n");
    c.check(&["PERSIST", "nokey"], b":0\r\n");
    c.check(&["TTL", "k"], b":-1\r\n");
    // A time in the past deletes the key and still counts as set.
    c.check(&["EXPIRE", "k", "-1"], b":1\r\n");
    c.check(&["EXISTS", "k"], b":0\r\n");
    c.check(&["SET", "k", "v"], OK);
    c.check(&["EXPIREAT", "k", "1"], b":1\r\n");
    c.check(&["EXISTS", "k"], b":0\r\n");
    c.check(&["SET", "k", "v"], OK);
    c.check(&["PEXPIRE", "k", "0"], b":1\r\n");
    c.check(&["EXISTS", "k"], b":0\r\n");
    c.check(&["EXPIRE", "k", "abc"], NOT_INT);
    c.check(&["EXPIRE", "k", "1.5"], NOT_INT);
}

#[test]
fn expire_options() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "v"], OK);
    // GT treats a key without TTL as infinite, LT as longer than any TTL.
    c.check(&["EXPIRE", "k", "100", "XX"], b":0\r\n");
    c.check(&["EXPIRE", "k", "100", "GT"], b":0\r\n");
    c.check(&["TTL", "k"], b":-1\r\n");
    c.check(&["EXPIRE", "k", "100", "LT"], b":1\r\n");
    c.check(&["TTL", "k"], b":100\r\n");
    c.check(&["EXPIRE", "k", "50", "NX"], b":0\r\n");
    c.check(&["EXPIRE", "k", "200", "LT"], b":0\r\n");
    c.check(&["EXPIRE", "k", "200", "GT"], b":1\r\n");
    c.check(&["TTL", "k"], b":200\r\n");
    c.check(&["EXPIRE", "k", "150", "GT"], b":0\r\n");
    c.check(&["EXPIRE", "k", "150", "XX"], b":1\r\n");
    c.check(&["EXPIRE", "k", "300", "XX", "GT"], b":1\r\n");
    c.check(&["TTL", "k"], b":300\r\n");
    c.check(&["PERSIST", "k"], b":1\r\n");
    c.check(&["EXPIRE", "k", "50", "NX"], b":1\r\n");
    c.check(&["TTL", "k"], b":50\r\n");
    c.check(&["PEXPIRE", "k", "100000", "gt"], b":1\r\n");
    c.check(&["TTL", "k"], b":100\r\n");
    let at = (unix_time_s() + 10).to_string();
    c.check(&["EXPIREAT", "k", &at, "LT"], b":1\r\n");
    c.check(&["EXPIREAT", "k", &at, "NX"], b":0\r\n");
    c.check(
        &["EXPIRE", "k", "10", "NX", "XX"],
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    c.check(
        &["EXPIRE", "k", "10", "NX", "GT"],
        b"-ERR NX and XX, GT or LT options at the same time are not compatible\r\n",
    );
    c.check(
        &["EXPIRE", "k", "10", "GT", "LT"],
        b"-ERR GT and LT options at the same time are not compatible\r\n",
    );
    c.check(
        &["EXPIRE", "k", "10", "FOO"],
        b"-ERR Unsupported option FOO\r\n",
    );
    c.check(&["EXPIRE", "nokey", "10", "NX"], b":0\r\n");
}

#[test]
fn touch_object_encoding() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["MSET", "a", "1", "b", "2"], OK);
    c.check(&["TOUCH", "a", "b", "nokey"], b":2\r\n");
    c.check(&["SET", "int", "12345"], OK);
    c.check(&["SET", "neg", "-42"], OK);
    c.check(&["SET", "emb", "hello"], OK);
    c.check(&["SET", "raw", &"x".repeat(45)], OK);
    c.check(&["SET", "edge", &"y".repeat(44)], OK);
    c.check(&["OBJECT", "ENCODING", "int"], b"$3\r\nint\r\n");
    c.check(&["OBJECT", "ENCODING", "neg"], b"$3\r\nint\r\n");
    c.check(&["OBJECT", "ENCODING", "emb"], b"$6\r\nembstr\r\n");
    c.check(&["OBJECT", "ENCODING", "edge"], b"$6\r\nembstr\r\n");
    c.check(&["OBJECT", "ENCODING", "raw"], b"$3\r\nraw\r\n");
    c.check(&["OBJECT", "ENCODING", "nokey"], NIL);
    // Integers below 10000 are shared objects in Redis.
    c.check(&["SET", "small", "100"], OK);
    c.check(&["OBJECT", "REFCOUNT", "small"], b":2147483647\r\n");
    c.check(&["APPEND", "emb", "!"], b":6\r\n");
    c.check(&["OBJECT", "REFCOUNT", "emb"], b":1\r\n");
    c.check(&["OBJECT", "REFCOUNT", "nokey"], NIL);
    c.check(&["OBJECT", "IDLETIME", "emb"], b":0\r\n");
    c.check(
        &["OBJECT", "FREQ", "emb"],
        b"-ERR An LFU maxmemory policy is not selected, access frequency not tracked. \
          Please note that when switching between policies at runtime LRU and LFU data will \
          take some time to adjust.\r\n",
    );
    c.check(
        &["OBJECT", "BOGUS", "a"],
        b"-ERR unknown subcommand 'BOGUS'. Try OBJECT HELP.\r\n",
    );
    let help = c.cmd(&["OBJECT", "HELP"]);
    assert!(help.items().len() > 4, "OBJECT HELP: {help:?}");
}

/// Under an LFU policy OBJECT FREQ answers and OBJECT IDLETIME refuses; the counter grows with
/// use, and eviction keeps the often-used key.
#[test]
fn object_freq_under_lfu() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["CONFIG", "SET", "maxmemory-policy", "allkeys-lfu"], OK);
    c.check(&["SET", "lfu", "value"], OK);
    let freq = c.cmd(&["OBJECT", "FREQ", "lfu"]);
    assert!(
        matches!(freq, Reply::Int(n) if n >= 0),
        "OBJECT FREQ: {freq:?}"
    );
    c.check(
        &["OBJECT", "IDLETIME", "lfu"],
        b"-ERR An LFU maxmemory policy is selected, idle time not tracked. \
          Please note that when switching between policies at runtime LRU and LFU data will \
          take some time to adjust.\r\n",
    );
    // A new key starts at 5 (LFU_INIT_VAL); a thousand reads take it well past that.
    c.check(&["SET", "hot", "v"], OK);
    c.check(&["OBJECT", "FREQ", "hot"], b":5\r\n");
    for _ in 0..1000 {
        c.cmd(&["GET", "hot"]);
    }
    let hot = c.cmd(&["OBJECT", "FREQ", "hot"]).int();
    assert!(hot > 10, "OBJECT FREQ after 1000 reads: {hot}");
    // Under memory pressure the cold keys go first.
    for i in 0..2000 {
        c.check(&["SET", &format!("cold:{i}"), "x"], OK);
    }
    let used: i64 = c
        .cmd(&["INFO", "memory"])
        .text()
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory");
    c.check(
        // About 800 of the 24-byte entries of the cold keys.
        &["CONFIG", "SET", "maxmemory", &(used - 20_000).to_string()],
        OK,
    );
    c.check(&["SET", "trigger", "x"], OK);
    let left = c.cmd(&["DBSIZE"]).int();
    assert!(left < 2002, "nothing evicted: {left} keys");
    c.check(&["EXISTS", "hot"], b":1\r\n");
}

/// Redis makes a string raw when it is modified in place (APPEND, SETRANGE), whatever its length.
#[test]
#[ignore = "server bug: OBJECT ENCODING still says embstr after APPEND/SETRANGE (Redis says raw)"]
fn append_and_setrange_make_raw_strings() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "a", "hello"], OK);
    c.check(&["APPEND", "a", "!"], b":6\r\n");
    c.check(&["OBJECT", "ENCODING", "a"], b"$3\r\nraw\r\n");
    c.check(&["SET", "r", "hello"], OK);
    c.check(&["SETRANGE", "r", "0", "J"], b":5\r\n");
    c.check(&["OBJECT", "ENCODING", "r"], b"$3\r\nraw\r\n");
}

#[test]
fn select_and_swapdb() {
    let s = Server::start();
    let mut c = s.connect();
    c.check(&["SET", "k", "db0"], OK);
    c.check(&["SELECT", "1"], OK);
    c.check(&["GET", "k"], NIL);
    c.check(&["SET", "k", "db1"], OK);
    c.check(&["SET", "only1", "x"], OK);
    c.check(&["SELECT", "16"], DB_RANGE);
    c.check(&["SELECT", "-1"], DB_RANGE);
    c.check(&["SELECT", "abc"], NOT_INT);
    c.check(&["GET", "k"], b"$3\r\ndb1\r\n");
    c.check(&["SELECT", "0"], OK);
    c.check(&["SWAPDB", "0", "1"], OK);
    c.check(&["GET", "k"], b"$3\r\ndb1\r\n");
    c.check(&["DBSIZE"], b":2\r\n");
    // Another client sees the swap too.
    let mut other = s.connect();
    other.check(&["GET", "only1"], b"$1\r\nx\r\n");
    other.check(&["SELECT", "1"], OK);
    other.check(&["GET", "k"], b"$3\r\ndb0\r\n");
    c.check(&["SWAPDB", "0", "0"], OK);
    c.check(&["SWAPDB", "0", "16"], DB_RANGE);
    c.check(&["SWAPDB", "abc", "1"], b"-ERR invalid first DB index\r\n");
    c.check(&["SWAPDB", "0", "abc"], b"-ERR invalid second DB index\r\n");
}

#[test]
fn active_expiry_without_access() {
    let s = Server::start();
    let mut c = s.connect();
    for i in 0..50 {
        c.check(&["SET", &format!("short:{i}"), "v", "PX", "50"], OK);
    }
    c.check(&["SET", "keeper", "v"], OK);
    c.check(&["SET", "later", "v", "EX", "1000"], OK);
    // DBSIZE does not touch keys, so only the active expire cycle can shrink it.
    let gone = wait_for(Duration::from_secs(10), || c.cmd(&["DBSIZE"]).int() == 2);
    assert!(
        gone,
        "short-lived keys were not actively expired: {:?}",
        c.cmd(&["DBSIZE"])
    );
    c.check(&["EXISTS", "keeper", "later"], b":2\r\n");
}

#[test]
fn lazy_expiry_on_access() {
    let s = Server::with_args(&["--enable-debug-command", "yes"]);
    let mut c = s.connect();
    c.check(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"], OK);
    c.check(&["SET", "k", "v", "PX", "30"], OK);
    c.check(&["SET", "k2", "v", "PX", "30"], OK);
    std::thread::sleep(Duration::from_millis(300));
    // With the active cycle off, expired keys are still counted until something touches them.
    c.check(&["DBSIZE"], b":2\r\n");
    c.check(&["GET", "k"], NIL);
    c.check(&["DBSIZE"], b":1\r\n");
    c.check(&["EXISTS", "k2"], b":0\r\n");
    c.check(&["DBSIZE"], b":0\r\n");
    c.check(&["DEBUG", "SET-ACTIVE-EXPIRE", "1"], OK);
}

#[test]
fn hash_fields_expire_actively_through_the_server() {
    let s = Server::start();
    let mut c = s.connect();
    for i in 0..20 {
        let key = format!("h:{i}");
        c.check(&["HSET", &key, "short", "1", "long", "2"], b":2\r\n");
        c.check(
            &["HPEXPIRE", &key, "50", "FIELDS", "1", "short"],
            b"*1\r\n:1\r\n",
        );
    }
    c.check(&["HSET", "gone", "only", "1"], b":1\r\n");
    c.check(
        &["HPEXPIRE", "gone", "50", "FIELDS", "1", "only"],
        b"*1\r\n:1\r\n",
    );
    // DBSIZE touches no key: only the active cycle can delete "gone", whose last field expires.
    let deleted = wait_for(Duration::from_secs(10), || c.cmd(&["DBSIZE"]).int() == 20);
    assert!(deleted, "hash fields were not actively expired");
    // The other hashes lost only their short-lived field, without being read.
    c.check(&["HLEN", "h:7"], b":1\r\n");
    c.check(
        &["HTTL", "h:7", "FIELDS", "2", "short", "long"],
        b"*2\r\n:-2\r\n:-1\r\n",
    );
}
