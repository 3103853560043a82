//! Ember against the model: 300 seeded sequences of 200 commands each, a failing sequence shrunk
//! to the commands it needs before it is printed, and the model itself checked against Redis 7.0
//! replies worked out by hand.

use super::*;
use crate::cmd::testing::Host;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::string::String;

/// Sequences, each from its own seed, and commands in each.
const SEQUENCES: u64 = 300;
const COMMANDS: usize = 200;

fn host(config: CoreConfig) -> Host {
    let mut h = Host::new();
    h.config = config;
    h
}

/// [`Host::exec`], with a panic turned into a reply the model never sends, so that the sequence
/// that led to it is printed.
fn exec(h: &mut Host, args: &[&[u8]]) -> Result<Vec<u8>, CmdError> {
    catch_unwind(AssertUnwindSafe(|| h.exec(args)))
        .unwrap_or_else(|_| Err(CmdError::new("PANIC (see the message above)")))
}

/// The first mismatch of `commands` run from scratch, if any.
fn replay(config: CoreConfig, commands: &[Args]) -> Option<Mismatch> {
    let (mut h, mut model) = (host(config), Model::new());
    for (i, args) in commands.iter().enumerate() {
        if let Some((expected, actual)) = step(&mut model, args, &mut |a| exec(&mut h, a)) {
            let commands = commands[..=i].to_vec();
            return Some(Mismatch {
                commands,
                expected,
                actual,
            });
        }
    }
    None
}

/// Drops every command whose removal keeps some mismatch, until none can go.
fn shrink(config: CoreConfig, failed: Mismatch) -> Mismatch {
    let mut best = failed;
    let mut i = 0;
    while i + 1 < best.commands.len() {
        let mut fewer = best.commands.clone();
        fewer.remove(i);
        match replay(config, &fewer) {
            Some(m) => best = m,
            None => i += 1,
        }
    }
    best
}

#[test]
fn ember_answers_as_the_model() {
    // (type, encoding) pairs seen on the key each command named.
    let mut seen: BTreeSet<(&str, &str)> = BTreeSet::new();
    for seed in 1..=SEQUENCES {
        let mut src = XorShift::new(seed);
        let config = config(&mut src);
        let mut h = host(config);
        let result = run(&mut src, COMMANDS, &mut |args| {
            let reply = exec(&mut h, args);
            if let Some(e) = h.ks.db(0).peek(args[1], h.now_ms) {
                seen.insert((e.value().type_name(), e.value().encoding_name()));
            }
            reply
        });
        if let Err(m) = result {
            let sent = m.commands.len();
            let m = shrink(config, m);
            panic!("seed {seed}, {config:?}, shrunk from {sent} commands:\n{m}");
        }
    }
    let want = [
        ("string", "int"),
        ("string", "embstr"),
        ("string", "raw"),
        ("list", "listpack"),
        ("list", "quicklist"),
        ("hash", "listpack"),
        ("hash", "hashtable"),
        ("set", "intset"),
        ("set", "listpack"),
        ("set", "hashtable"),
        ("zset", "listpack"),
        ("zset", "skiplist"),
        ("stream", "stream"),
    ];
    for w in want {
        assert!(seen.contains(&w), "no key was ever {w:?}; seen: {seen:?}");
    }
}

#[test]
fn the_model_answers_as_redis() {
    // Hand-checked against Redis 7.0 for the rules the model encodes.
    let mut m = Model::new();
    let mut run = |line: &str| {
        let args: Args = line.split(' ').map(|w| w.as_bytes().to_vec()).collect();
        String::from_utf8(m.exec(&args)).unwrap()
    };
    assert_eq!(run("RPUSH l a b a c a"), ":5\r\n");
    assert_eq!(run("LPOS l a RANK -1 COUNT 0"), "*3\r\n:4\r\n:2\r\n:0\r\n");
    assert_eq!(run("LPOS l a RANK 2 MAXLEN 2"), "$-1\r\n");
    assert_eq!(run("LREM l -2 a"), ":2\r\n");
    assert_eq!(
        run("LRANGE l 0 -1"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(run("RPOP l 2"), "*2\r\n$1\r\nc\r\n$1\r\nb\r\n");
    assert_eq!(run("LPOP l 0"), "*0\r\n");
    assert_eq!(run("LPOP l"), "$1\r\na\r\n");
    assert_eq!(run("LPOP l 1"), "*-1\r\n");
    assert_eq!(run("ZADD z 1 a 2 b"), ":2\r\n");
    assert_eq!(run("ZADD z GT CH 0 a 3 b 1 c"), ":2\r\n");
    assert_eq!(run("ZADD z XX INCR 1 d"), "$-1\r\n");
    assert_eq!(
        run("ZADD z NX GT 1 a"),
        "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
    );
    assert_eq!(run("ZADD z INCR inf a"), "$3\r\ninf\r\n");
    assert_eq!(
        run("ZINCRBY z -inf a"),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(
        run("ZRANGEBYSCORE z (1 +inf WITHSCORES LIMIT 1 -1"),
        "*2\r\n$1\r\na\r\n$3\r\ninf\r\n"
    );
    assert_eq!(
        run("ZPOPMAX z 2"),
        "*4\r\n$1\r\na\r\n$3\r\ninf\r\n$1\r\nb\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        run("ZPOPMIN z -1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(run("SET s 1 GET"), "$-1\r\n");
    assert_eq!(
        run("SADD s x"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(
        run("SINTER nosuch s"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    assert_eq!(run("SET s 2 NX GET"), "$1\r\n1\r\n");
    assert_eq!(
        run("INCRBY s 9223372036854775807"),
        "-ERR increment or decrement would overflow\r\n"
    );
    assert_eq!(run("APPEND s 0"), ":2\r\n");
    assert_eq!(run("TYPE z"), "+zset\r\n");
    assert_eq!(run("ZREMRANGEBYRANK z 0 -1"), ":1\r\n");
    assert_eq!(run("TYPE z"), "+none\r\n");
    assert_eq!(run("XADD x 3-* f1 007 f2 -3"), "$3\r\n3-0\r\n");
    assert_eq!(run("XADD x 3-* f1 a"), "$3\r\n3-1\r\n");
    assert_eq!(run("XADD x MAXLEN = 1 5-1 f1 b f2 c"), "$3\r\n5-1\r\n");
    assert_eq!(
        run("XADD x 4-9 f v"),
        "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"
    );
    assert_eq!(
        run("XRANGE x (3-1 + COUNT 5"),
        "*1\r\n*2\r\n$3\r\n5-1\r\n*4\r\n$2\r\nf1\r\n$1\r\nb\r\n$2\r\nf2\r\n$1\r\nc\r\n"
    );
    assert_eq!(run("XREVRANGE x + - COUNT 0"), "*-1\r\n");
    assert_eq!(run("XRANGE nosuch - + COUNT 0"), "*0\r\n");
    assert_eq!(
        run("XRANGE x - (0-0"),
        "-ERR invalid end ID for the interval\r\n"
    );
    assert_eq!(run("XTRIM x MINID = 6-0"), ":1\r\n");
    assert_eq!(run("XLEN x"), ":0\r\n");
    assert_eq!(run("TYPE x"), "+stream\r\n");
    assert_eq!(run("SETBIT b 9 1"), ":0\r\n");
    assert_eq!(run("BITCOUNT b -3 -2"), ":0\r\n");
    assert_eq!(run("BITPOS b 0"), ":0\r\n");
    assert_eq!(run("BITPOS b 1"), ":9\r\n");
    assert_eq!(run("GETBIT b 9"), ":1\r\n");
    assert_eq!(
        run("SETBIT b 4294967296 1"),
        "-ERR bit offset is not an integer or out of range\r\n"
    );
}

#[test]
fn fuzz_bytes_run_dry() {
    let data: Vec<u8> = (0..=255).collect();
    let mut src = FuzzBytes::new(&data);
    let mut h = host(config(&mut src));
    let sent = run(&mut src, 1000, &mut |args| exec(&mut h, args)).unwrap();
    assert!(src.exhausted());
    assert!(sent > KEYS, "some commands, then every key read back");
}
