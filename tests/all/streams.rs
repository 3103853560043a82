//! Streams and consumer groups: a random workload sent to Ember and to a real redis-server (when
//! installed) with byte-identical replies required, in RESP2 and RESP3, with a small node size so
//! that approximate trimming's node boundaries are compared too; then blocking reads and hostile
//! arguments against Ember alone.

use std::time::Duration;

use ember::types::set::Rng;

use crate::harness::{Server, Twins};

/// One random command of the workload. IDs are explicit (never `*`), so both servers see the
/// same ones whatever their clocks say; replies that carry times (idle, seen-time) are not asked.
fn random_command(rng: &mut Rng, ms: &mut u64) -> String {
    let key = ["s1", "s2"][(rng.next_u64() % 2) as usize];
    let pick = |rng: &mut Rng, n: u64| rng.next_u64() % n;
    let old_id =
        |rng: &mut Rng, ms: u64| format!("{}-{}", rng.next_u64() % (ms + 2), rng.next_u64() % 3);
    match pick(rng, 20) {
        0..=6 => {
            *ms += pick(rng, 3);
            let id = match pick(rng, 10) {
                0 => old_id(rng, *ms),
                1..=4 => format!("{ms}-*"),
                _ => {
                    *ms += 1;
                    format!("{ms}-{}", pick(rng, 4))
                }
            };
            let trim = match pick(rng, 8) {
                0 => format!(" MAXLEN ~ {}", pick(rng, 30)),
                1 => format!(" MAXLEN {}", pick(rng, 40) + 5),
                2 => format!(" MINID ~ {}", ms.saturating_sub(pick(rng, 40))),
                3 => format!(" MAXLEN ~ {} LIMIT {}", pick(rng, 20), pick(rng, 12)),
                _ => String::new(),
            };
            let fields = match pick(rng, 4) {
                0 => format!("other {} x", pick(rng, 1000)),
                1 => format!("temp {} unit C extra -{}", pick(rng, 100), pick(rng, 9)),
                _ => format!("temp {} unit C", pick(rng, 100)),
            };
            format!("XADD {key}{trim} {id} {fields}")
        }
        7 => format!("XDEL {key} {} {}", old_id(rng, *ms), old_id(rng, *ms)),
        8 => {
            let a = ["-", "+"][pick(rng, 2) as usize].to_string();
            let lo = pick(rng, *ms + 2);
            let bound = |rng: &mut Rng, b: u64| match pick(rng, 4) {
                0 => format!("({b}"),
                1 => format!("{b}-{}", pick(rng, 3)),
                _ => b.to_string(),
            };
            let (start, end) = match pick(rng, 3) {
                0 => ("-".to_string(), a),
                _ => {
                    let hi = lo + pick(rng, 30);
                    (bound(rng, lo), bound(rng, hi))
                }
            };
            let count = match pick(rng, 3) {
                0 => format!(" COUNT {}", pick(rng, 6)),
                _ => String::new(),
            };
            if pick(rng, 2) == 0 {
                format!("XRANGE {key} {start} {end}{count}")
            } else {
                format!("XREVRANGE {key} {end} {start}{count}")
            }
        }
        9 => format!("XLEN {key}"),
        10 => format!("XTRIM {key} MAXLEN ~ {}", pick(rng, 60)),
        11 => {
            let id = ["0", "$", "5"][pick(rng, 3) as usize];
            format!("XGROUP CREATE {key} g{} {id} MKSTREAM", pick(rng, 3))
        }
        12 | 13 => {
            let id = if pick(rng, 3) == 0 { "0" } else { ">" };
            let noack = if pick(rng, 4) == 0 { " NOACK" } else { "" };
            format!(
                "XREADGROUP GROUP g{} c{} COUNT {}{noack} STREAMS {key} {id}",
                pick(rng, 3),
                pick(rng, 3),
                pick(rng, 5) + 1
            )
        }
        14 => format!(
            "XACK {key} g{} {} {}",
            pick(rng, 3),
            old_id(rng, *ms),
            old_id(rng, *ms)
        ),
        15 => format!("XPENDING {key} g{}", pick(rng, 3)),
        16 => format!(
            "XAUTOCLAIM {key} g{} c{} 0 {} COUNT {} JUSTID",
            pick(rng, 3),
            pick(rng, 3),
            old_id(rng, *ms),
            pick(rng, 4) + 1
        ),
        17 => format!(
            "XCLAIM {key} g{} c{} 0 {} {}",
            pick(rng, 3),
            pick(rng, 3),
            old_id(rng, *ms),
            old_id(rng, *ms)
        ),
        18 => format!("XINFO GROUPS {key}"),
        _ => format!(
            "XREAD COUNT {} STREAMS s1 s2 {} {}",
            pick(rng, 4) + 1,
            old_id(rng, *ms),
            old_id(rng, *ms)
        ),
    }
}

#[test]
fn stream_replies_match_redis() {
    let Some(mut t) = Twins::start() else {
        return;
    };
    t.same("CONFIG SET stream-node-max-entries 5");
    let mut rng = Rng::new(51);
    let mut ms = 100;
    for proto in ["2", "3"] {
        t.e.cmd(&["HELLO", proto]);
        t.r.cmd(&["HELLO", proto]);
        for _ in 0..3000 {
            let command = random_command(&mut rng, &mut ms);
            t.same(&command);
        }
        for key in ["s1", "s2"] {
            t.same(&format!("XRANGE {key} - +"));
            t.same(&format!("XINFO GROUPS {key}"));
            t.same(&format!("XPENDING {key} g1"));
        }
    }
    for bad in [
        "XADD s1 0-0 f v",
        "XADD s1 1-x f v",
        "XADD s1 MAXLEN -1 * f v",
        "XADD s1 MAXLEN 1 MINID 1 * f v",
        "XADD s1 LIMIT 5 * f v",
        "XADD s1 MAXLEN 5 LIMIT 5 * f v",
        "XADD s1 * f",
        "XRANGE s1 (- +",
        "XRANGE s1 - (0-0",
        "XRANGE s1 (18446744073709551615-18446744073709551615 +",
        "XRANGE s1 - + COUNT",
        "XRANGE s1 - + COUNT 0",
        "XREAD STREAMS s1",
        "XREAD STREAMS s1 >",
        "XREADGROUP GROUP nog c STREAMS s1 >",
        "XREADGROUP GROUP g1 c STREAMS s1 $",
        "XGROUP CREATE s1 g1 $",
        "XGROUP CREATE nokey g $",
        "XGROUP SETID s1 nog 0",
        "XGROUP FOO s1",
        "XGROUP DESTROY s1",
        "XAUTOCLAIM s1 g1 c 0 0 COUNT 0",
        "XAUTOCLAIM s1 g1 c 0 0 COUNT 8070450532247928833",
        "XCLAIM s1 g1 c x 0-1",
        "XCLAIM s1 g1 c 0 0-1 IDLE",
        "XSETID s1 1-0",
        "XSETID nokey 1-0",
        "XSETID s1 18446744073709551615-18446744073709551615 ENTRIESADDED -1 MAXDELETEDID 0-0",
        "XINFO STREAM nokey",
        "XINFO STREAM s1 FULL COUNT x",
        "XPENDING s1 g1 IDLE 1 - +",
        "XTRIM s1 LIMIT 3",
        "XTRIM s1 FOO 3",
        "COMMAND GETKEYS XREADGROUP GROUP g c STREAMS a b 0 0",
        "XADD s3 18446744073709551615-18446744073709551615 f v",
        "XADD s3 * f v",
        "XADD s3 18446744073709551615-* f v",
        "XADD s4 MAXLEN 1 MINID abc * f v",
        "XSETID s1 18446744073709551615-0 ENTRIESADDED 99999",
        "XSETID s2 18446744073709551615-0 MAXDELETEDID 1-0",
        "XGROUP SETID s1 nogroup badid",
        "XGROUP CREATE s1 gx $ MKSTREAM MKSTREAM MKSTREAM MKSTREAM",
        "XGROUP CREATE s1 gneg 0 ENTRIESREAD 99999999",
        "XINFO GROUPS s1",
        "XGROUP HELP",
        "XINFO HELP",
        "XRANGE s1 000000000000000000000000009-1 +",
        "XAUTOCLAIM s1 g1 c 0 0 COUNT 700000000000000000",
        "XCLAIM s1 g1 c 0 0-1 IDLE -9223372036854775808 JUSTID",
    ] {
        t.same(bad);
    }
    // A key named twice: the second read sees what the first delivered.
    t.same("XGROUP CREATE twice g 0 MKSTREAM");
    t.same("XADD twice 1-1 f v");
    t.same("XREADGROUP GROUP g c STREAMS twice twice > >");
    // Nodes ended by the byte limit (100-byte values, 4096-byte nodes) trim as Redis's do.
    t.same("CONFIG SET stream-node-max-entries 100");
    let value = "v".repeat(100);
    for i in 1..=200 {
        t.same(&format!("XADD bytes {i}-0 f {value}"));
    }
    t.same("XTRIM bytes MAXLEN ~ 10");
    t.same("XLEN bytes");
    // XSETID below a deleted last entry, then XADD: the stream stays ordered and whole.
    for c in [
        "XADD tomb 1-0 a 1",
        "XADD tomb 5-0 a 2",
        "XDEL tomb 5-0",
        "XSETID tomb 2-0",
        "XADD tomb 3-0 a 3",
        "XRANGE tomb - +",
        "XDEL tomb 3-0",
        "XLEN tomb",
    ] {
        t.same(c);
    }
}

/// Sends a blocking XREADGROUP on `s` for group `g` and lets the server park it.
fn block_in_group(c: &mut crate::harness::Conn) {
    c.send(&crate::harness::encode(&[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ]));
    std::thread::sleep(Duration::from_millis(50));
}

#[test]
fn blocking_reads_wake_on_new_entries_and_fail_when_the_stream_goes() {
    let server = Server::start();
    let mut c = server.connect();
    let mut waiter = server.connect();
    c.cmd(&["XADD", "s", "5-0", "old", "1"]);
    waiter.send(&crate::harness::encode(&[
        "XREAD", "BLOCK", "0", "STREAMS", "s", "$",
    ]));
    std::thread::sleep(Duration::from_millis(50));
    c.cmd(&["XADD", "s", "6-0", "new", "2"]);
    assert_eq!(
        waiter.read_raw(),
        b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n6-0\r\n*2\r\n$3\r\nnew\r\n$1\r\n2\r\n"
    );
    // A timeout answers a null array.
    waiter.check(&["XREAD", "BLOCK", "30", "STREAMS", "s", "$"], b"*-1\r\n");
    // XREADGROUP learns its stream is gone; XREAD keeps waiting for a new one.
    c.cmd(&["XGROUP", "CREATE", "s", "g", "$"]);
    block_in_group(&mut waiter);
    c.cmd(&["DEL", "s"]);
    assert_eq!(
        waiter.read_raw(),
        b"-UNBLOCKED the stream key no longer exists\r\n"
    );
    c.cmd(&["XADD", "s", "1-0", "a", "b"]);
    c.cmd(&["XGROUP", "CREATE", "s", "g", "$"]);
    block_in_group(&mut waiter);
    c.cmd(&["XGROUP", "DESTROY", "s", "g"]);
    let reply = waiter.read_raw();
    assert!(
        reply.starts_with(b"-NOGROUP"),
        "{}",
        String::from_utf8_lossy(&reply)
    );
    // A blocked read without COUNT is served at most 1000 entries, as Redis serves it.
    waiter.send(&crate::harness::encode(&[
        "XREAD", "BLOCK", "0", "STREAMS", "many", "$",
    ]));
    std::thread::sleep(Duration::from_millis(50));
    c.cmd(&["MULTI"]);
    for i in 1..=1500 {
        c.cmd(&["XADD", "many", &format!("{i}-0"), "f", "v"]);
    }
    c.cmd(&["EXEC"]);
    let served = crate::harness::parse_reply(&waiter.read_raw())
        .unwrap()
        .unwrap()
        .0;
    assert_eq!(served.items()[0].items()[1].items().len(), 1000);
    // Inside MULTI a blocking read does not block.
    c.cmd(&["MULTI"]);
    c.cmd(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    c.check(&["EXEC"], b"*1\r\n*-1\r\n");
}

#[test]
fn hostile_stream_arguments_get_errors_and_memory_stays_bounded() {
    let server = Server::start();
    let mut c = server.connect();
    c.check(
        &[
            "XADD",
            "s",
            "18446744073709551615-18446744073709551615",
            "f",
            "v",
        ],
        b"$41\r\n18446744073709551615-18446744073709551615\r\n",
    );
    c.check(
        &["XADD", "s", "*", "f", "v"],
        b"-ERR The stream has exhausted the last possible ID, unable to add more items\r\n",
    );
    let long_id = "1".repeat(200);
    c.check(
        &["XRANGE", "s", &long_id, "+"],
        b"-ERR Invalid stream ID specified as stream command argument\r\n",
    );
    c.check(
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "c",
            "0",
            "0",
            "COUNT",
            "9223372036854775807",
        ],
        b"-ERR COUNT must be > 0\r\n",
    );
    c.check(
        &["XRANGE", "s", "-", "+", "COUNT", "9223372036854775807"],
        b"*1\r\n*2\r\n$41\r\n18446744073709551615-18446744073709551615\r\n*2\r\n$1\r\nf\r\n$1\r\nv\r\n",
    );
    // A huge XINFO FULL COUNT lists what there is.
    let full = c.cmd(&[
        "XINFO",
        "STREAM",
        "s",
        "FULL",
        "COUNT",
        "9223372036854775807",
    ]);
    assert_eq!(full.items().len(), 18);
}
