//! Real clients against the server: redis-cli (one-shot commands, `--pipe` mass insertion and a session
//! fed through stdin), redis-benchmark, and Python's redis package when it is installed.

use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{encode, require_tool, Conn, Server, OK};

/// How long a tool may run before the test kills it and fails.
const TOOL_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `program args` with `stdin` as its input, killing it if it runs longer than [`TOOL_TIMEOUT`].
fn run(program: &str, args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {program}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + TOOL_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the tool") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{program} {args:?} still running after {TOOL_TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let _ = writer.join();
    Output {
        status,
        stdout: out_reader.join().expect("stdout reader"),
        stderr: err_reader.join().expect("stderr reader"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn redis_cli_one_shot() {
    if !require_tool("redis-cli") {
        return;
    }
    let s = Server::start();
    let port = s.port.to_string();
    let cli = |args: &[&str]| {
        let mut all = vec!["-p", port.as_str()];
        all.extend_from_slice(args);
        let out = run("redis-cli", &all, b"");
        assert!(out.status.success(), "redis-cli {args:?}: {out:?}");
        text(&out.stdout)
    };
    assert_eq!(cli(&["set", "a", "b"]), "OK\n");
    assert_eq!(cli(&["get", "a"]), "b\n");
    assert_eq!(cli(&["incrby", "n", "5"]), "5\n");
    assert_eq!(cli(&["get", "nokey"]), "\n");
    assert_eq!(cli(&["mget", "a", "n"]), "b\n5\n");
    assert_eq!(cli(&["ping"]), "PONG\n");
    assert!(cli(&["get", "a", "extra"]).contains("ERR wrong number of arguments for 'get' command"));
    assert_eq!(cli(&["-3", "get", "nokey"]), "\n");
    assert!(cli(&["info", "server"]).contains("redis_version:7.0.15"));
    assert_eq!(cli(&["--no-raw", "get", "a"]), "\"b\"\n");
    assert_eq!(
        cli(&["--no-raw", "mget", "a", "nokey"]),
        "1) \"b\"\n2) (nil)\n"
    );
}

#[test]
fn redis_cli_pipe_mass_insert() {
    if !require_tool("redis-cli") {
        return;
    }
    let s = Server::start();
    let mut input = Vec::new();
    for i in 0..1000 {
        input.extend(encode(&["SET", &format!("key:{i}"), &format!("value:{i}")]));
    }
    let port = s.port.to_string();
    let out = run("redis-cli", &["-p", &port, "--pipe"], &input);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "redis-cli --pipe: {out:?}");
    assert!(
        stdout.contains("errors: 0, replies: 1000"),
        "redis-cli --pipe said: {stdout}"
    );
    let mut c = s.connect();
    c.check(&["DBSIZE"], b":1000\r\n");
    c.check(&["GET", "key:999"], b"$9\r\nvalue:999\r\n");
}

#[test]
fn redis_cli_session_from_stdin() {
    if !require_tool("redis-cli") {
        return;
    }
    let s = Server::start();
    let port = s.port.to_string();
    let session = b"set x 10\nincr x\nget x\nselect 1\nget x\nset \"with space\" 'v v'\nget \"with space\"\nbogus\n";
    let out = run("redis-cli", &["-p", &port], session);
    assert!(out.status.success(), "redis-cli: {out:?}");
    assert_eq!(
        text(&out.stdout),
        "OK\n11\n11\nOK\n\nOK\nv v\nERR unknown command 'bogus', with args beginning with: \n\n"
    );
}

#[test]
fn redis_benchmark_runs_clean() {
    if !require_tool("redis-benchmark") {
        return;
    }
    let s = Server::start();
    let port = s.port.to_string();
    let out = run(
        "redis-benchmark",
        &[
            "-p",
            &port,
            "-t",
            "set,get,incr,mset,ping",
            "-n",
            "20000",
            "-P",
            "16",
            "-q",
        ],
        b"",
    );
    let stdout = text(&out.stdout);
    let stderr = text(&out.stderr);
    assert!(
        out.status.success(),
        "redis-benchmark failed: {stdout}\n{stderr}"
    );
    for line in stdout.lines().chain(stderr.lines()) {
        let lower = line.to_ascii_lowercase();
        assert!(
            !lower.contains("err") && !lower.contains("warn"),
            "redis-benchmark reported: {line}\n{stdout}\n{stderr}"
        );
    }
    for test in [
        "PING_INLINE",
        "PING_MBULK",
        "SET",
        "GET",
        "INCR",
        "MSET (10 keys)",
    ] {
        assert!(
            stdout.contains(&format!("{test}: ")),
            "{test} missing from redis-benchmark output:\n{stdout}"
        );
    }
    let mut c = s.connect();
    let counter = c.cmd(&["GET", "counter:__rand_int__"]).text();
    assert_eq!(counter, "20000");
}

#[test]
fn python_redis_package() {
    let has_python = Command::new("python3")
        .args(["-c", "import redis"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_python {
        eprintln!("skipping: python3 with the redis package not installed");
        return;
    }
    let s = Server::start();
    let script = format!(
        r#"
import redis
r = redis.Redis(host="127.0.0.1", port={port}, decode_responses=True)
assert r.ping() is True
assert r.set("k", "v", ex=100) is True
assert r.get("k") == "v"
assert r.ttl("k") == 100
assert r.incr("n") == 1
assert r.mset({{"a": "1", "b": "2"}}) is True
assert r.mget("a", "b", "nokey") == ["1", "2", None]
assert r.set("k", "w", get=True) == "v"
assert r.getex("k", persist=True) == "w"
assert r.ttl("k") == -1
assert r.lcs("a", "b") == ""
p = r.pipeline(transaction=False)
for i in range(100):
    p.set(f"p{{i}}", i)
assert all(p.execute())
assert r.dbsize() == 104
assert sorted(r.scan_iter(match="p9*")) == sorted(["p9"] + [f"p9{{i}}" for i in range(10)])
assert r.info("server")["redis_version"] == "7.0.15"
assert r.client_setname("py") is True
assert r.client_getname() == "py"
try:
    r.execute_command("NOSUCHCMD")
    raise SystemExit("no error")
except redis.ResponseError as e:
    assert "unknown command" in str(e)
if int(redis.__version__.split(".")[0]) >= 5:
    r3 = redis.Redis(host="127.0.0.1", port={port}, protocol=3, decode_responses=True)
    assert r3.get("a") == "1"
    assert r3.get("nokey") is None
print("python ok")
"#,
        port = s.port
    );
    let out = run("python3", &["-c", &script], b"");
    assert!(
        out.status.success() && text(&out.stdout).contains("python ok"),
        "python redis client: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn redis_crate_client() {
    use redis::Commands;

    let s = Server::start();
    let client = redis::Client::open(format!("redis://127.0.0.1:{}/", s.port)).expect("client");
    let mut con = client.get_connection().expect("connect");
    let pong: String = redis::cmd("PING").query(&mut con).expect("PING");
    assert_eq!(pong, "PONG");
    let () = con.set_ex("k", "v", 100).expect("SET EX");
    let v: String = con.get("k").expect("GET");
    assert_eq!(v, "v");
    let ttl: i64 = con.ttl("k").expect("TTL");
    assert_eq!(ttl, 100);
    let missing: Option<String> = con.get("nokey").expect("GET missing");
    assert_eq!(missing, None);
    let n: i64 = con.incr("n", 5).expect("INCRBY");
    assert_eq!(n, 5);
    let f: f64 = con.incr("f", 1.5).expect("INCRBYFLOAT");
    assert_eq!(f, 1.5);
    let (a, b): (String, i64) = redis::pipe()
        .set("p", "1")
        .ignore()
        .get("p")
        .incr("p", 1)
        .query(&mut con)
        .expect("pipeline");
    assert_eq!((a.as_str(), b), ("1", 2));
    let values: Vec<Option<String>> = con.mget(&["k", "nokey", "p"]).expect("MGET");
    assert_eq!(values, [Some("v".into()), None, Some("2".into())]);
    let mut keys: Vec<String> = con.scan_match("p*").expect("SCAN").collect();
    keys.sort();
    assert_eq!(keys, ["p"]);
    let err = redis::cmd("INCR")
        .arg("k")
        .query::<i64>(&mut con)
        .unwrap_err();
    assert_eq!(err.kind(), redis::ErrorKind::ResponseError, "{err}");
    assert!(
        err.to_string()
            .contains("value is not an integer or out of range"),
        "{err}"
    );
    let info: redis::InfoDict = redis::cmd("INFO").query(&mut con).expect("INFO");
    assert_eq!(
        info.get::<String>("redis_version").as_deref(),
        Some("7.0.15")
    );

    let resp3 = redis::Client::open(format!("redis://127.0.0.1:{}/?protocol=resp3", s.port))
        .expect("client");
    let mut con3 = resp3.get_connection().expect("connect with HELLO 3");
    let v: String = con3.get("k").expect("GET over RESP3");
    assert_eq!(v, "v");
    let missing: Option<String> = con3.get("nokey").expect("GET missing over RESP3");
    assert_eq!(missing, None);
    let cfg: std::collections::HashMap<String, String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg("maxmemory")
        .query(&mut con3)
        .expect("CONFIG GET over RESP3");
    assert_eq!(cfg.get("maxmemory").map(String::as_str), Some("0"));
}

/// `maxmemory-clients`: a client that piles up output it never reads is closed once all clients
/// together pass the limit, its memory is freed, the keys stay, and a NO-EVICT client survives.
#[test]
fn client_eviction_closes_the_biggest_client() {
    let s = Server::start();
    let mut admin = s.connect();
    admin.check(&["CLIENT", "NO-EVICT", "on"], OK);
    admin.check(&["SETRANGE", "big", "200000", "x"], b":200001\r\n");
    admin.check(&["CONFIG", "SET", "maxmemory-clients", "1mb"], OK);
    let mut hog = s.connect();
    // Pipelined GETs of a 200 KB value that the client never reads: their replies outgrow what
    // the socket takes and stay in the client's output buffer.
    let mut pipeline = Vec::new();
    for _ in 0..200 {
        pipeline.extend_from_slice(&encode(&["GET", "big"]));
    }
    hog.send_lossy(&pipeline);
    let evicted = |admin: &mut Conn| {
        admin
            .cmd(&["INFO", "stats"])
            .text()
            .lines()
            .find_map(|l| l.strip_prefix("evicted_clients:"))
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while evicted(&mut admin) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(evicted(&mut admin), 1);
    admin.check(&["EXISTS", "big"], b":1\r\n");
    admin.check(&["PING"], b"+PONG\r\n");
    let clients = admin.cmd(&["CLIENT", "LIST"]).text();
    assert_eq!(clients.lines().count(), 1, "{clients}");
    admin.check(&["CONFIG", "SET", "maxmemory-clients", "0"], OK);
}
