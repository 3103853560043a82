//! Lua scripting against a real redis-server (when installed): the same scripts give byte-identical
//! replies (conversions both ways, errors with their script name and line, SCRIPT LOAD/EXISTS,
//! EVALSHA, read-only scripts), and on Ember alone: SCRIPT KILL of a busy script, effects
//! propagated as one transaction, and hostile scripts.

use std::time::Duration;

use crate::harness::{wait_for, Server, Twins};

/// (script, numkeys and the rest) pairs whose replies must match redis-server's exactly.
const CASES: &[(&str, &[&str])] = &[
    ("return 1", &["0"]),
    ("return 'hello'", &["0"]),
    ("return 3.99", &["0"]),
    ("return -7.5", &["0"]),
    ("return true", &["0"]),
    ("return false", &["0"]),
    ("return nil", &["0"]),
    ("return {1, 2, {3, 'x'}, false, nil, 4}", &["0"]),
    (
        "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}",
        &["2", "k1", "k2", "a1", "a2"],
    ),
    (
        "return redis.call('set', KEYS[1], ARGV[1])",
        &["1", "s", "v"],
    ),
    ("return redis.call('get', KEYS[1])", &["1", "s"]),
    ("return redis.call('get', 'missing')", &["0"]),
    ("return redis.call('incr', 'n')", &["0"]),
    ("return redis.call('incrbyfloat', 'f', '1.5')", &["0"]),
    (
        "redis.call('rpush', 'l', 'a', 'b', 'c') return redis.call('lrange', 'l', 0, -1)",
        &["0"],
    ),
    ("return redis.call('hset', 'h', 'f', 1, 'g', 2)", &["0"]),
    ("return redis.call('hgetall', 'h')", &["0"]),
    ("return redis.call('zadd', 'z', 1.5, 'a', 2, 'b')", &["0"]),
    (
        "return redis.call('zrange', 'z', 0, -1, 'withscores')",
        &["0"],
    ),
    ("return redis.call('ping')", &["0"]),
    ("return redis.call('type', 's')", &["0"]),
    ("return redis.call('incr', 's')", &["0"]),
    ("return redis.pcall('incr', 's')", &["0"]),
    ("local r = redis.pcall('incr', 's') return r['err']", &["0"]),
    ("return redis.call('nosuchcommand')", &["0"]),
    ("return redis.call('get')", &["0"]),
    ("return redis.call()", &["0"]),
    ("return redis.call('get', {})", &["0"]),
    ("return redis.error_reply('My Error')", &["0"]),
    ("return redis.error_reply('oops')", &["0"]),
    ("return redis.status_reply('FINE')", &["0"]),
    ("return {err='CUSTOM something'}", &["0"]),
    ("return {ok='fine'}", &["0"]),
    ("error('boom')", &["0"]),
    ("error({err='TABLE err'})", &["0"]),
    ("return undefined_global", &["0"]),
    ("newglobal = 1", &["0"]),
    ("return +", &["0"]),
    ("return redis.sha1hex('')", &["0"]),
    ("return redis.sha1hex('Pizza & Mandolino')", &["0"]),
    ("return bit.band(0xff, 0x0f)", &["0"]),
    ("return bit.tohex(65535, -4)", &["0"]),
    ("return tostring(1e100)", &["0"]),
    ("return string.format('%d %s', 7, 'x')", &["0"]),
    ("return table.concat({'a', 'b'}, ',')", &["0"]),
    (
        "return cjson.encode({1, 2, {a = 'x/y', b = false}})",
        &["0"],
    ),
    ("return cjson.encode({})", &["0"]),
    ("return cjson.decode('[1, 2, {\"k\": \"v\"}]')[3].k", &["0"]),
    (
        "return cjson.encode(cjson.decode('{\"a\":[1,2,null,\"\\u00e9\"]}'))",
        &["0"],
    ),
    ("return cjson.decode('[1,2')", &["0"]),
    ("return cjson.encode({[1] = 1, [100] = 2})", &["0"]),
    ("return cjson.encode({[true] = 1})", &["0"]),
    (
        "return table.concat(cjson.decode('[0.0, -5e3, -1, 0.3e-3, 1023.2, 0e10]'), ' ')",
        &["0"],
    ),
    ("x = 1", &["0"]),
    ("redis.call = nil", &["0"]),
    ("return unpack({1, 2, 3}, -2, 2147483647)", &["0"]),
    ("return redis.call('set', 'x', 1)", &["1"]),
    ("return 1", &["-1"]),
    ("return 1", &["nan"]),
    ("return 1", &["3", "a"]),
];

#[test]
fn scripts_reply_like_redis() {
    let Some(mut t) = Twins::start() else {
        return;
    };
    for proto in ["2", "3"] {
        t.e.cmd(&["HELLO", proto]);
        t.r.cmd(&["HELLO", proto]);
        t.same("FLUSHALL");
        for (script, rest) in CASES {
            let mut args = vec!["EVAL".to_string(), script.to_string()];
            args.extend(rest.iter().map(|s| s.to_string()));
            t.same_args(&args);
        }
        // RESP3 replies inside the script, and RESP3 types returned from it.
        t.same_args(&[
            "EVAL".into(),
            "redis.setresp(3) return redis.call('hgetall', 'h')".into(),
            "0".into(),
        ]);
        t.same_args(&[
            "EVAL".into(),
            "redis.setresp(3) return {double=3.5}".into(),
            "0".into(),
        ]);
    }
    t.same_args(&["SCRIPT".into(), "LOAD".into(), "return ARGV[1]".into()]);
    let sha = "bd6d5d8ebe4ed4f84fe7390d71c8b2dd18ec5ea7";
    t.same_args(&["SCRIPT".into(), "EXISTS".into(), sha.into(), "nope".into()]);
    t.same_args(&["EVALSHA".into(), sha.into(), "0".into(), "x".into()]);
    t.same_args(&["EVALSHA".into(), sha.to_uppercase(), "0".into(), "y".into()]);
    t.same_args(&["EVALSHA".into(), "ffff".into(), "0".into()]);
    t.same_args(&[
        "EVAL_RO".into(),
        "return redis.call('set', 'a', 'b')".into(),
        "0".into(),
    ]);
    t.same_args(&[
        "EVAL".into(),
        "#!lua flags=no-writes\nreturn redis.call('set', 'a', 'b')".into(),
        "0".into(),
    ]);
    t.same_args(&[
        "EVAL".into(),
        "#!lua flags=no-writes\nreturn redis.call('get', 's')".into(),
        "0".into(),
    ]);
    t.same_args(&[
        "EVAL".into(),
        "#!lua flags=bogus\nreturn 1".into(),
        "0".into(),
    ]);
    t.same_args(&["EVAL".into(), "#!python\nreturn 1".into(), "0".into()]);
    t.same("SCRIPT FLUSH");
    t.same_args(&["SCRIPT".into(), "EXISTS".into(), sha.into()]);
    t.same("SCRIPT KILL");
    t.same("SCRIPT FLUSH BOGUS");
}

#[test]
fn functions_reply_like_redis() {
    let Some(mut t) = Twins::start() else {
        return;
    };
    let lib = "#!lua name=mylib\n\
        local function get(keys, args) return redis.call('get', keys[1]) end\n\
        redis.register_function('my_set', function(keys, args) return redis.call('set', keys[1], args[1]) end)\n\
        redis.register_function{function_name='my_get', callback=get, flags={'no-writes'}, description='reads one key'}";
    for proto in ["2", "3"] {
        t.e.cmd(&["HELLO", proto]);
        t.r.cmd(&["HELLO", proto]);
        t.same("FUNCTION FLUSH");
        t.same_args(&["FUNCTION".into(), "LOAD".into(), lib.into()]);
        t.same_args(&["FUNCTION".into(), "LOAD".into(), lib.into()]);
        t.same_args(&[
            "FUNCTION".into(),
            "LOAD".into(),
            "REPLACE".into(),
            lib.into(),
        ]);
        t.same("FCALL my_set 1 k v");
        t.same("FCALL MY_GET 1 k");
        t.same("FCALL_RO my_get 1 k");
        t.same("FCALL_RO my_set 1 k v");
        t.same("FCALL nosuch 0");
        t.same("FCALL my_get notanumber");
        t.same("FUNCTION STATS");
        // Redis lists a library's functions in hash order: compare listings of one function.
        t.same("FUNCTION DELETE mylib");
        let one = "#!lua name=one\nredis.register_function{function_name='f1', \
            callback=function() return 1 end, flags={'no-writes'}, description='d'}";
        t.same_args(&["FUNCTION".into(), "LOAD".into(), one.into()]);
        t.same("FUNCTION LIST");
        t.same("FUNCTION LIST WITHCODE LIBRARYNAME on*");
        t.same("FUNCTION LIST LIBRARYNAME nomatch*");
        t.same("FUNCTION DELETE one");
        t.same_args(&["FUNCTION".into(), "LOAD".into(), lib.into()]);
        for bad in [
            "return 1",
            "#!lua\nreturn 1",
            "#!lua name=bad-name\nreturn 1",
            "#!nolua name=x\nreturn 1",
            "#!lua name=empty\nlocal a = 1",
            "#!lua name=calls\nredis.call('ping')",
            "#!lua name=dup\nredis.register_function('my_set', function() end)",
        ] {
            t.same_args(&["FUNCTION".into(), "LOAD".into(), bad.into()]);
        }
        t.same("FUNCTION DELETE mylib");
        t.same("FUNCTION DELETE mylib");
    }
}

#[test]
fn a_busy_script_can_be_killed_and_others_wait() {
    let s = Server::start();
    let mut a = s.connect();
    let mut b = s.connect();
    b.check(&["CONFIG", "SET", "lua-time-limit", "10"], b"+OK\r\n");
    b.check(&["SET", "k", "v"], b"+OK\r\n");
    a.send(&crate::harness::encode(&["EVAL", "while true do end", "0"]));
    let busy = wait_for(Duration::from_secs(5), || {
        b.raw(&["GET", "k"]).starts_with(b"-BUSY ")
    });
    assert!(busy, "other clients never saw the script as busy");
    b.check(&["SCRIPT", "KILL"], b"+OK\r\n");
    let killed = String::from_utf8_lossy(&a.read_raw()).into_owned();
    assert!(
        killed.starts_with("-ERR Script killed by user with SCRIPT KILL..."),
        "{killed}"
    );
    b.check(&["GET", "k"], b"$1\r\nv\r\n");
    b.check(
        &["SCRIPT", "KILL"],
        b"-NOTBUSY No scripts in execution right now.\r\n",
    );
    // A script that wrote cannot be killed; SHUTDOWN NOSAVE is the way out.
    a.send(&crate::harness::encode(&[
        "EVAL",
        "redis.call('set', 'w', 1) while true do end",
        "0",
    ]));
    let busy = wait_for(Duration::from_secs(5), || {
        b.raw(&["PING"]).starts_with(b"-BUSY ")
    });
    assert!(busy);
    let r = b.raw(&["SCRIPT", "KILL"]);
    assert!(
        r.starts_with(b"-UNKILLABLE "),
        "{}",
        String::from_utf8_lossy(&r)
    );
    b.send(&crate::harness::encode(&["SHUTDOWN", "NOSAVE"]));
    b.expect_closed();
}

#[test]
fn script_effects_reach_replicas_as_one_transaction() {
    use std::io::{Read, Write};
    let s = Server::start();
    let mut c = s.connect();
    // SYNC: the RDB payload ("$<len>\r\n" and the bytes, no CRLF), then the command stream.
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", s.port)).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    stream
        .write_all(&crate::harness::encode(&["SYNC"]))
        .expect("SYNC");
    let mut got = Vec::new();
    let mut read_more = |got: &mut Vec<u8>| {
        let mut buf = [0u8; 4096];
        if let Ok(n) = stream.read(&mut buf) {
            got.extend_from_slice(&buf[..n]);
        }
    };
    let ok = wait_for(Duration::from_secs(5), || {
        read_more(&mut got);
        got.windows(5).any(|w| w == b"REDIS")
    });
    assert!(ok);
    c.check(
        &[
            "EVAL",
            "redis.call('set', KEYS[1], 'a') redis.call('incr', 'n')",
            "1",
            "k",
        ],
        b"$-1\r\n",
    );
    let ok = wait_for(Duration::from_secs(5), || {
        read_more(&mut got);
        got.windows(4).any(|w| w == b"EXEC")
    });
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(ok, "{text}");
    let pos = |w: &str| {
        text.find(w)
            .unwrap_or_else(|| panic!("{w} missing: {text}"))
    };
    assert!(pos("MULTI") < pos("set") && pos("set") < pos("incr") && pos("incr") < pos("EXEC"));
    assert!(
        !text.contains("EVAL"),
        "scripts replicate their effects, not themselves"
    );
}

#[test]
fn hostile_scripts_get_errors_and_the_server_lives() {
    let s = Server::start();
    let mut c = s.connect();
    // A table that contains itself is cut off at a depth limit instead of recursing forever.
    let r = c.raw(&["EVAL", "local t = {} t[1] = t return t", "0"]);
    assert!(String::from_utf8_lossy(&r).contains("reached lua stack limit"));
    // Deep recursion in Lua is Lua's own stack overflow error.
    let r = c.raw(&[
        "EVAL",
        "local function f() return f() + 1 end return f()",
        "0",
    ]);
    assert!(r.starts_with(b"-ERR "), "{}", String::from_utf8_lossy(&r));
    // The sandbox has no file access.
    let r = c.raw(&["EVAL", "return dofile('/etc/passwd')", "0"]);
    assert!(r.starts_with(b"-ERR "), "{}", String::from_utf8_lossy(&r));
    // Blocking commands do not block inside a script.
    c.check(
        &[
            "EVAL",
            "return redis.call('blmpop', 0, 1, 'nolist', 'left')",
            "0",
        ],
        b"$-1\r\n",
    );
    // Commands that scripts may not run.
    let r = c.raw(&["EVAL", "return redis.call('eval', 'return 1', 0)", "0"]);
    assert!(String::from_utf8_lossy(&r).contains("not allowed from script"));
    // Bytecode never loads (Lua 5.1 does not verify it), from EVAL or from loadstring.
    let r = c.raw(&["EVAL", "\x1bLuaQ\x00\x01\x04\x08\x04\x08\x00", "0"]);
    assert!(
        r.starts_with(b"-ERR Error compiling script"),
        "{}",
        String::from_utf8_lossy(&r)
    );
    let r = c.raw(&[
        "EVAL",
        "return loadstring(string.dump(function() return 1 end))",
        "0",
    ]);
    assert_eq!(r, b"$-1\r\n", "{}", String::from_utf8_lossy(&r));
    // Nothing reaches the interpreter's internals.
    for script in [
        "debug.setupvalue(redis.call, 1, 'x') return redis.call('ping')",
        "debug.sethook() while true do end",
        "return newproxy(true)",
    ] {
        let r = c.raw(&["EVAL", script, "0"]);
        assert!(
            r.starts_with(b"-ERR "),
            "{script}: {}",
            String::from_utf8_lossy(&r)
        );
    }
    // Subcommands that scripts may not run, and writes through a subcommand in a read-only script.
    for script in [
        "return redis.call('script', 'flush')",
        "return redis.call('config', 'set', 'maxmemory', '1')",
    ] {
        let r = c.raw(&["EVAL", script, "0"]);
        assert!(
            String::from_utf8_lossy(&r).contains("not allowed from script"),
            "{script}"
        );
    }
    let r = c.raw(&[
        "EVAL_RO",
        "return redis.call('xgroup', 'create', 's', 'g', '$', 'MKSTREAM')",
        "0",
    ]);
    assert!(String::from_utf8_lossy(&r).contains("Write commands are not allowed"));
    c.check(&["EXISTS", "s"], b":0\r\n");
    // A table referenced twice at every level: bounded work, not 2^64 values.
    let r = c.raw(&[
        "EVAL",
        "local t = {1} for i = 1, 70 do t = {t, t} end return t",
        "0",
    ]);
    assert_eq!(r, b"-ERR the script's reply has too many values\r\n");
    c.check(&["PING"], b"+PONG\r\n");
}

#[test]
fn script_flags_and_watch_follow_the_script() {
    let s = Server::start();
    let mut c = s.connect();
    // EVALSHA keeps the flags the script was loaded with.
    let sha = c
        .cmd(&[
            "SCRIPT",
            "LOAD",
            "#!lua flags=no-writes\nreturn redis.call('set', 'k', 'v')",
        ])
        .text();
    let r = c.raw(&["EVALSHA", &sha, "0"]);
    assert!(String::from_utf8_lossy(&r).contains("Write commands are not allowed"));
    // A script's write to a key its own caller watches fails the caller's transaction.
    c.check(&["WATCH", "w"], b"+OK\r\n");
    c.check(
        &["EVAL", "return redis.call('set', KEYS[1], 1)", "1", "w"],
        b"+OK\r\n",
    );
    c.check(&["MULTI"], b"+OK\r\n");
    c.check(&["GET", "w"], b"+QUEUED\r\n");
    c.check(&["EXEC"], b"*-1\r\n");
}
