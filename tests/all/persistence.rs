//! RDB persistence across servers: files Ember writes are checked by redis-check-rdb and loaded by
//! redis-server, files redis-server writes (every type in its small and large encodings) load in
//! Ember, DUMP payloads RESTORE in both directions, and a BGSAVE taken under writes holds the data
//! of the moment it started. The redis-server parts skip when it is not installed.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::{find_in_path, temp_dir, Conn, Reply, Server};

/// Fills a server with every type, in small and large encodings, with TTLs and a stream with
/// consumer groups. Deterministic, so two servers filled alike hold the same data.
fn fill(c: &mut Conn) {
    let mut run = |args: &[&str]| {
        let r = c.cmd(args);
        assert!(!matches!(r, Reply::Error(_)), "{args:?}: {r:?}");
    };
    run(&["SET", "str", "hello"]);
    run(&["SET", "int", "-12345"]);
    run(&["SET", "bigint", "9223372036854775807"]);
    let long = "abcdefghij".repeat(300);
    run(&["SET", "long", &long]);
    run(&["SET", "ttl", "v", "EX", "100000"]);
    run(&["RPUSH", "list", "a", "b", "1", "-2", ""]);
    run(&["SADD", "intset", "1", "2", "-3", "1000000"]);
    run(&["SADD", "smallset", "a", "b", "c"]);
    run(&["HSET", "hash", "f1", "v1", "f2", "22"]);
    run(&[
        "ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c", "inf", "d",
    ]);
    for i in 0..700 {
        let (s, v) = (i.to_string(), format!("value-{i}"));
        run(&["RPUSH", "biglist", &v]);
        run(&["SADD", "bigset", &v]);
        run(&["SADD", "bigintset", &s]);
        run(&["HSET", "bighash", &format!("field-{i}"), &v]);
        run(&["ZADD", "bigzset", &format!("{}.5", i * 7 % 100), &v]);
        run(&[
            "XADD",
            "bigstream",
            &format!("{}-{}", 1000 + i / 3, i % 3),
            "sensor",
            &s,
            "temp",
            "21.5",
        ]);
    }
    run(&["XADD", "stream", "1-1", "a", "1", "b", "x"]);
    run(&["XADD", "stream", "1-2", "a", "2", "b", "y"]);
    run(&["XADD", "stream", "2-0", "other", "007"]);
    run(&["XDEL", "stream", "1-2"]);
    run(&["XGROUP", "CREATE", "stream", "g1", "0"]);
    run(&[
        "XREADGROUP",
        "GROUP",
        "g1",
        "alice",
        "COUNT",
        "1",
        "STREAMS",
        "stream",
        ">",
    ]);
    run(&["XGROUP", "CREATE", "stream", "g2", "$"]);
    run(&["XGROUP", "CREATECONSUMER", "stream", "g2", "bob"]);
    run(&["XADD", "empty-stream", "MAXLEN", "0", "5-5", "f", "v"]);
}

const KEYS: &[&str] = &[
    "str",
    "int",
    "bigint",
    "long",
    "ttl",
    "list",
    "intset",
    "smallset",
    "hash",
    "zset",
    "biglist",
    "bigset",
    "bigintset",
    "bighash",
    "bigzset",
    "bigstream",
    "stream",
    "empty-stream",
];

/// Everything a client can see of `key`, in a form that does not depend on encodings or on the
/// order of unordered types.
fn view(c: &mut Conn, key: &str) -> Vec<String> {
    let ty = c.cmd(&["TYPE", key]).text();
    let mut out = vec![ty.clone()];
    let sorted = |r: Reply| {
        let mut v: Vec<String> = r.items().iter().map(Reply::text).collect();
        v.sort();
        v
    };
    match ty.as_str() {
        "string" => out.push(c.cmd(&["GET", key]).text()),
        "list" => out.extend(
            c.cmd(&["LRANGE", key, "0", "-1"])
                .items()
                .iter()
                .map(Reply::text),
        ),
        "set" => out.extend(sorted(c.cmd(&["SMEMBERS", key]))),
        "hash" => {
            let items = c.cmd(&["HGETALL", key]);
            let mut pairs: Vec<String> = items
                .items()
                .chunks(2)
                .map(|p| format!("{}={}", p[0].text(), p[1].text()))
                .collect();
            pairs.sort();
            out.extend(pairs);
        }
        "zset" => out.push(format!(
            "{:?}",
            c.cmd(&["ZRANGE", key, "0", "-1", "WITHSCORES"])
        )),
        "stream" => {
            out.push(format!("{:?}", c.cmd(&["XRANGE", key, "-", "+"])));
            out.push(format!("{:?}", c.cmd(&["XINFO", "GROUPS", key])));
            let info = c.cmd(&["XINFO", "STREAM", key]);
            // radix-tree-keys and -nodes describe Redis's tree, not the data.
            for pair in info.items().chunks(2) {
                let name = pair[0].text();
                if !name.starts_with("radix-tree") {
                    out.push(format!("{name}={:?}", pair[1]));
                }
            }
        }
        _ => {}
    }
    let ttl = c.cmd(&["PTTL", key]).int();
    out.push(if ttl > 0 {
        "has-ttl".into()
    } else {
        ttl.to_string()
    });
    out
}

fn views(c: &mut Conn) -> Vec<Vec<String>> {
    KEYS.iter().map(|k| view(c, k)).collect()
}

/// A fresh directory holding `rdb` as dump.rdb and an empty config file; returns the config path.
fn dir_with(rdb: &Path, tag: &str) -> PathBuf {
    let dir = temp_dir(tag);
    std::fs::copy(rdb, dir.join("dump.rdb")).expect("copy the RDB");
    let config = dir.join("server.conf");
    std::fs::write(&config, "").expect("write a config");
    config
}

fn redis_check_rdb(path: &Path) {
    let Some(bin) = find_in_path("redis-check-rdb") else {
        return;
    };
    let out = Command::new(bin)
        .arg(path)
        .output()
        .expect("run redis-check-rdb");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("RDB looks OK"),
        "{text}"
    );
}

/// redis-check-aof (when installed) finds the multi-part AOF in `aof_dir` valid.
fn redis_check_aof(aof_dir: &Path) {
    let Some(check) = find_in_path("redis-check-aof") else {
        return;
    };
    let out = Command::new(check)
        .arg(aof_dir.join("appendonly.aof.manifest"))
        .output()
        .expect("run redis-check-aof");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("valid"), "{text}");
}

#[test]
fn ember_rdb_loads_back_in_ember_and_in_redis() {
    let ember = Server::with_args(&["--enable-debug-command", "yes"]);
    let mut c = ember.connect();
    fill(&mut c);
    let before = views(&mut c);
    c.check(&["SAVE"], b"+OK\r\n");
    let rdb = ember.dir.join("dump.rdb");
    redis_check_rdb(&rdb);
    // Ember, restarted on its own file.
    let again = Server::with_config(Some(&dir_with(&rdb, "ember-rdb")), &[]);
    assert_eq!(views(&mut again.connect()), before);
    // DEBUG RELOAD goes through the same file.
    c.check(&["DEBUG", "RELOAD"], b"+OK\r\n");
    assert_eq!(views(&mut c), before);
    // redis-server on Ember's file.
    if let Some(redis) = Server::redis_with_config(&dir_with(&rdb, "redis-on-ember"), &[]) {
        assert_eq!(views(&mut redis.connect()), before);
    }
}

#[test]
fn redis_rdb_loads_in_ember() {
    let Some(redis) = Server::redis() else {
        return;
    };
    let mut r = redis.connect();
    fill(&mut r);
    let before = views(&mut r);
    r.check(&["SAVE"], b"+OK\r\n");
    let ember = Server::with_config(
        Some(&dir_with(&redis.dir.join("dump.rdb"), "ember-on-redis")),
        &[],
    );
    assert_eq!(views(&mut ember.connect()), before);
}

#[test]
fn dump_payloads_restore_both_ways() {
    let ember = Server::start();
    let mut e = ember.connect();
    fill(&mut e);
    let redis = Server::redis();
    let mut r = redis.as_ref().map(Server::connect);
    if let Some(r) = r.as_mut() {
        fill(r);
    }
    for key in KEYS {
        let want = view(&mut e, key);
        let payload = e.cmd(&["DUMP", key]).bytes().to_vec();
        let copy = format!("{key}:copy");
        let restore = |c: &mut Conn| {
            let args: Vec<&[u8]> = vec![b"RESTORE", copy.as_bytes(), b"0", &payload];
            c.check(&args, b"+OK\r\n");
        };
        restore(&mut e);
        assert_eq!(
            view(&mut e, &copy)[..want.len() - 1],
            want[..want.len() - 1],
            "{key}"
        );
        if let Some(r) = r.as_mut() {
            // Ember's payload in redis-server, and redis-server's in Ember.
            restore(r);
            assert_eq!(
                view(r, &copy)[..want.len() - 1],
                want[..want.len() - 1],
                "{key} in redis"
            );
            let theirs = r.cmd(&["DUMP", key]).bytes().to_vec();
            let back = format!("{key}:from-redis");
            let args: Vec<&[u8]> = vec![b"RESTORE", back.as_bytes(), b"0", &theirs];
            e.check(&args, b"+OK\r\n");
            assert_eq!(
                view(&mut e, &back)[..want.len() - 1],
                want[..want.len() - 1],
                "{key} from redis"
            );
        }
    }
    e.check(
        &["RESTORE", "str", "0", "x"],
        b"-BUSYKEY Target key name already exists.\r\n",
    );
    e.check(
        &["RESTORE", "new", "0", "0123456789ab"],
        b"-ERR DUMP payload version or checksum are wrong\r\n",
    );
    e.check(
        &["RESTORE", "new", "-1", "x"],
        b"-ERR Invalid TTL value, must be >= 0\r\n",
    );
}

#[test]
fn bgsave_under_writes_saves_the_moment_it_started() {
    let ember = Server::start();
    let mut c = ember.connect();
    let mut w = ember.connect();
    // Enough keys that the walk spans many event-loop turns.
    for chunk in 0..20 {
        let mut args = vec!["MSET".to_string()];
        for i in chunk * 10_000..(chunk + 1) * 10_000 {
            args.push(format!("key:{i}"));
            args.push(format!("value:{i}"));
        }
        c.cmd(&args);
    }
    c.cmd(&["RPUSH", "list", "a", "b"]);
    let rss_before = rss_bytes(ember.pid());
    let mut rss_peak = rss_before;
    c.check(&["BGSAVE"], b"+Background saving started\r\n");
    // Writes while it runs: overwrite, delete and create keys all over the table.
    let started = Instant::now();
    let mut i = 0;
    loop {
        let info = c.cmd(&["INFO", "persistence"]).text();
        if info.contains("rdb_bgsave_in_progress:0") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "BGSAVE did not finish"
        );
        w.cmd(&["SET", &format!("key:{}", i * 7919 % 200_000), "changed"]);
        w.cmd(&["DEL", &format!("key:{}", i * 104_729 % 200_000)]);
        w.cmd(&["SET", &format!("new:{i}"), "x"]);
        w.cmd(&["RPUSH", "list", "c"]);
        rss_peak = rss_peak.max(rss_bytes(ember.pid()));
        i += 1;
    }
    // No copy of the dataset: the save costs a few buffers.
    assert!(
        rss_peak as f64 <= rss_before as f64 * 1.2,
        "RSS {rss_before} before the save, {rss_peak} at its peak"
    );
    assert!(i > 0, "the save ran while commands were served");
    let loaded = Server::with_config(Some(&dir_with(&ember.dir.join("dump.rdb"), "bgsave")), &[]);
    let mut l = loaded.connect();
    assert_eq!(l.cmd(&["DBSIZE"]).int(), 200_001);
    for k in [0, 1, 7919, 104_729, 199_999] {
        assert_eq!(
            l.cmd(&["GET", &format!("key:{k}")]).text(),
            format!("value:{k}")
        );
    }
    assert_eq!(l.cmd(&["LLEN", "list"]).int(), 2);
    assert_eq!(l.cmd(&["EXISTS", "new:0"]).int(), 0);
}

/// A fresh directory with an empty config file, for servers restarted on the same files.
fn empty_dir(tag: &str) -> PathBuf {
    let dir = temp_dir(tag);
    let config = dir.join("server.conf");
    std::fs::write(&config, "").expect("write a config");
    config
}

/// The (first) incremental file of the AOF in `aof_dir`.
fn incr_file(aof_dir: &Path) -> PathBuf {
    std::fs::read_dir(aof_dir)
        .expect("AOF dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .expect("an incremental file")
}

/// The resident set of process `pid`, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

#[test]
fn acknowledged_writes_survive_kill_9_with_appendfsync_always_and_everysec() {
    for fsync in ["always", "everysec"] {
        let config = empty_dir("aof-kill");
        let args = ["--appendonly", "yes", "--appendfsync", fsync];
        let mut ember = Server::with_config(Some(&config), &args);
        let mut c = ember.connect();
        // Every reply received is an acknowledged write.
        let mut acked = 0;
        for i in 0..3000 {
            let r = c.cmd(&["SET", &format!("k{i}"), &format!("v{i}")]);
            assert_eq!(r.text(), "OK");
            acked += 1;
            if i % 500 == 0 {
                c.cmd(&["INCR", "counter"]);
            }
        }
        ember.kill9();
        let again = Server::with_config(Some(&config), &args);
        let mut c = again.connect();
        assert_eq!(c.cmd(&["DBSIZE"]).int(), acked + 1, "appendfsync {fsync}");
        assert_eq!(c.cmd(&["GET", "k2999"]).text(), "v2999");
        assert_eq!(c.cmd(&["GET", "counter"]).text(), "6");
    }
}

#[test]
fn a_truncated_aof_loads_its_prefix_or_is_refused() {
    let config = empty_dir("aof-cut");
    let args = ["--appendonly", "yes"];
    let dir = config.parent().expect("dir").to_path_buf();
    // Servers remove their directory when dropped: this one stays until the end.
    let mut first = Server::with_config(Some(&config), &args);
    let mut c = first.connect();
    for i in 0..100 {
        c.cmd(&["RPUSH", "list", &format!("item{i}")]);
    }
    c.cmd(&["MULTI"]);
    c.cmd(&["SET", "a", "1"]);
    c.cmd(&["SET", "b", "2"]);
    c.cmd(&["EXEC"]);
    first.kill9();
    let aof_dir = dir.join("appendonlydir");
    let incr = incr_file(&aof_dir);
    redis_check_aof(&aof_dir);
    let whole = std::fs::read(&incr).expect("read the AOF");
    // Cut inside the MULTI: the transaction goes, the list stays whole.
    let cut = whole.len() - 10;
    std::fs::write(&incr, &whole[..cut]).expect("truncate");
    let refused = Command::new(crate::harness::server_bin())
        .arg(&config)
        .args(["--port", "0", "--dir", dir.to_str().expect("utf-8")])
        .args(["--appendonly", "yes", "--aof-load-truncated", "no"])
        .output()
        .expect("run ember-server");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(said.contains("Unexpected end of file"), "{said}");
    let ember = Server::with_config(Some(&config), &args);
    let mut c = ember.connect();
    assert_eq!(c.cmd(&["LLEN", "list"]).int(), 100);
    assert_eq!(c.cmd(&["EXISTS", "a", "b"]).int(), 0);
    assert!(ember.log().contains("Truncating the AOF"));
}

#[test]
fn bgrewriteaof_keeps_every_write_and_kill_9_during_bgsave_keeps_the_old_rdb() {
    let config = empty_dir("aof-rewrite");
    let args = ["--appendonly", "yes", "--enable-debug-command", "yes"];
    let dir = config.parent().expect("dir").to_path_buf();
    let mut ember = Server::with_config(Some(&config), &args);
    let mut c = ember.connect();
    for chunk in 0..10 {
        let mut mset = vec!["MSET".to_string()];
        for i in chunk * 10_000..(chunk + 1) * 10_000 {
            mset.push(format!("key:{i}"));
            mset.push(format!("value:{i}"));
        }
        c.cmd(&mset);
    }
    c.check(
        &["BGREWRITEAOF"],
        b"+Background append only file rewriting started\r\n",
    );
    // Writes during the rewrite land in the new incremental file.
    for i in 0..500 {
        c.cmd(&["SET", &format!("during:{i}"), "x"]);
        c.cmd(&["DEL", &format!("key:{}", i * 7)]);
    }
    while !c
        .cmd(&["INFO", "persistence"])
        .text()
        .contains("aof_rewrite_in_progress:0")
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    c.check(&["DEBUG", "LOADAOF"], b"+OK\r\n");
    assert_eq!(c.cmd(&["DBSIZE"]).int(), 100_000);
    // A SAVE, then a BGSAVE killed half way: the file from the SAVE is still whole.
    c.check(&["SAVE"], b"+OK\r\n");
    let saved = std::fs::read(dir.join("dump.rdb")).expect("dump.rdb");
    c.check(&["BGSAVE"], b"+Background saving started\r\n");
    ember.kill9();
    assert_eq!(
        std::fs::read(dir.join("dump.rdb")).expect("dump.rdb"),
        saved
    );
    redis_check_rdb(&dir.join("dump.rdb"));
}

#[test]
fn the_redis_fixture_rdb_loads_with_every_encoding() {
    // Written by redis-server 7.0.15: small and large encodings of every type (listpacks, intset,
    // quicklist, skiplist, hash table) and a stream with a deleted entry, a group and two consumers.
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/redis-7.0-every-type.rdb");
    let ember = Server::with_config(Some(&dir_with(&fixture, "fixture")), &[]);
    let mut c = ember.connect();
    assert_eq!(c.cmd(&["DBSIZE"]).int(), 15);
    assert_eq!(c.cmd(&["GET", "str"]).text(), "hello");
    assert_eq!(c.cmd(&["GET", "int"]).text(), "-12345");
    assert_eq!(c.cmd(&["STRLEN", "long"]).int(), 300);
    assert!(c.cmd(&["TTL", "ttl"]).int() > 0);
    assert_eq!(view(&mut c, "list")[1..5], ["a", "b", "1", "-2"]);
    assert_eq!(c.cmd(&["SMISMEMBER", "intset", "-3", "4"]).items().len(), 2);
    assert_eq!(c.cmd(&["HGET", "hash", "f2"]).text(), "22");
    assert_eq!(c.cmd(&["ZSCORE", "zset", "b"]).text(), "2.5");
    for (key, n) in [
        ("biglist", 300),
        ("bigset", 300),
        ("bigintset", 300),
        ("bighash", 300),
        ("bigzset", 300),
    ] {
        let cmd = match key {
            "biglist" => "LLEN",
            "bighash" => "HLEN",
            "bigzset" => "ZCARD",
            _ => "SCARD",
        };
        assert_eq!(c.cmd(&[cmd, key]).int(), n, "{key}");
    }
    assert_eq!(c.cmd(&["SISMEMBER", "bigintset", "299000897"]).int(), 1);
    assert_eq!(c.cmd(&["ZSCORE", "bigzset", "member-10"]).text(), "5");
    assert_eq!(c.cmd(&["XLEN", "stream"]).int(), 299);
    let groups = c.cmd(&["XINFO", "GROUPS", "stream"]);
    let fields = groups.items()[0].items();
    assert_eq!(fields[1].text(), "g1");
    assert_eq!(fields[3].int(), 2, "consumers");
    assert_eq!(fields[7].text(), "1001-0", "last-delivered-id");
    let pending = c.cmd(&["XPENDING", "stream", "g1"]);
    assert_eq!(pending.items()[0].int(), 3);
    assert_eq!(
        c.cmd(&["XINFO", "CONSUMERS", "stream", "g1"]).items().len(),
        2
    );
}

#[test]
fn aof_replay_keeps_keys_a_later_command_saved_and_refuses_malformed_commands() {
    let config = empty_dir("aof-ttl");
    let dir = config.parent().expect("dir").to_path_buf();
    let args = ["--appendonly", "yes", "--enable-debug-command", "yes"];
    let ember = Server::with_config(Some(&config), &args);
    let mut c = ember.connect();
    c.cmd(&["SET", "k", "v", "PX", "300"]);
    c.cmd(&["PERSIST", "k"]);
    c.cmd(&["SET", "j", "v", "PX", "300"]);
    c.cmd(&["EXPIRE", "j", "100000"]);
    c.cmd(&["SET", "gone", "v", "PX", "300"]);
    std::thread::sleep(Duration::from_millis(500));
    // Logged TTLs that passed are not applied early: PERSIST and EXPIRE replay first.
    c.check(&["DEBUG", "LOADAOF"], b"+OK\r\n");
    assert_eq!(c.cmd(&["GET", "k"]).text(), "v");
    assert!(c.cmd(&["TTL", "j"]).int() > 90_000);
    assert_eq!(c.cmd(&["EXISTS", "gone"]).int(), 0);
    // A save inside a transaction waits for its end.
    c.cmd(&["MULTI"]);
    c.cmd(&["INCR", "x"]);
    c.cmd(&["BGREWRITEAOF"]);
    let exec = c.cmd(&["EXEC"]);
    assert_eq!(
        exec.items()[1].text(),
        "Background append only file rewriting scheduled"
    );
    // A logged command with too few arguments stops the load with a reason.
    let aof_dir = dir.join("appendonlydir");
    let incr = incr_file(&aof_dir);
    c.check(&["DEBUG", "LOADAOF"], b"+OK\r\n");
    let mut data = std::fs::read(&incr).expect("read");
    data.extend_from_slice(b"*1\r\n$3\r\nSET\r\n");
    std::fs::write(&incr, &data).expect("write");
    let refused = Command::new(crate::harness::server_bin())
        .arg(&config)
        .args([
            "--port",
            "0",
            "--dir",
            dir.to_str().expect("utf-8"),
            "--appendonly",
            "yes",
        ])
        .output()
        .expect("run ember-server");
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stdout);
    assert!(
        said.contains("wrong number of arguments for 'set'"),
        "{said}"
    );
}

#[test]
fn an_aof_base_without_rdb_preamble_rebuilds_every_type() {
    let config = empty_dir("aof-commands");
    let dir = config.parent().expect("dir").to_path_buf();
    let args = [
        "--appendonly",
        "yes",
        "--aof-use-rdb-preamble",
        "no",
        "--enable-debug-command",
        "yes",
    ];
    let ember = Server::with_config(Some(&config), &args);
    let mut c = ember.connect();
    fill(&mut c);
    let before = views(&mut c);
    c.check(
        &["BGREWRITEAOF"],
        b"+Background append only file rewriting started\r\n",
    );
    while !c
        .cmd(&["INFO", "persistence"])
        .text()
        .contains("aof_rewrite_in_progress:0")
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let aof_dir = dir.join("appendonlydir");
    let manifest =
        std::fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).expect("manifest");
    assert!(manifest.contains(".base.aof"), "{manifest}");
    redis_check_aof(&aof_dir);
    c.check(&["DEBUG", "LOADAOF"], b"+OK\r\n");
    assert_eq!(views(&mut c), before);
}

#[test]
fn function_libraries_survive_aof_replay_rewrites_and_rdb_reloads() {
    let config = empty_dir("functions");
    let args = ["--appendonly", "yes", "--enable-debug-command", "yes"];
    let ember = Server::with_config(Some(&config), &args);
    let mut c = ember.connect();
    let lib = "#!lua name=keep\nredis.register_function('bump', function(keys) return redis.call('incr', keys[1]) end)";
    c.check(&["FUNCTION", "LOAD", lib], b"$4\r\nkeep\r\n");
    c.check(&["FCALL", "bump", "1", "n"], b":1\r\n");
    // Replayed from the incremental file: FUNCTION LOAD, then what the function wrote.
    c.check(&["DEBUG", "LOADAOF"], b"+OK\r\n");
    c.check(&["FCALL", "bump", "1", "n"], b":2\r\n");
    // From a rewritten base (RDB preamble), and from a base written as commands.
    for preamble in ["yes", "no"] {
        c.check(
            &["CONFIG", "SET", "aof-use-rdb-preamble", preamble],
            b"+OK\r\n",
        );
        c.cmd(&["BGREWRITEAOF"]);
        let done = crate::harness::wait_for(Duration::from_secs(10), || {
            c.cmd(&["INFO", "persistence"])
                .text()
                .contains("aof_rewrite_in_progress:0")
        });
        assert!(done);
        c.check(&["DEBUG", "LOADAOF"], b"+OK\r\n");
        assert!(c.cmd(&["FCALL", "bump", "1", "n"]).int() >= 3);
    }
    // A deletion replays too; an RDB file holds the libraries as well.
    c.check(&["FUNCTION", "DELETE", "keep"], b"+OK\r\n");
    c.check(&["DEBUG", "LOADAOF"], b"+OK\r\n");
    c.check(&["FCALL", "bump", "1", "n"], b"-ERR Function not found\r\n");
    c.check(&["FUNCTION", "LOAD", lib], b"$4\r\nkeep\r\n");
    c.check(&["DEBUG", "RELOAD"], b"+OK\r\n");
    assert!(c.cmd(&["FCALL", "bump", "1", "n"]).int() >= 4);
}
