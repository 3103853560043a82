//! Criterion benches of the data types through the command layer: LPUSH+RPOP on a list,
//! HSET/HGET on a hash, SADD+SREM/SISMEMBER on a set, ZADD/ZRANGE/ZRANK on a sorted set, each on
//! one collection of 10, 1,000 and 1,000,000 elements, so both the compact encodings and the big
//! structures show, and how each operation scales with size; then BITCOUNT/BITPOS on 1 MiB,
//! PFADD/PFCOUNT on a 100k-element HyperLogLog, GEOSEARCH/GEOADD on 100k geo members, and
//! XADD/XRANGE/XREADGROUP on a stream of 1M entries.
//!
//! Run with `cargo bench --bench types` (a few minutes), or shorter with
//! `cargo bench --bench types -- --warm-up-time 1 --measurement-time 2`; filter with e.g.
//! `-- zset_1M`. Each collection is built once per size, outside the timed loops, and every timed
//! operation leaves the collection's size unchanged. Ratios between sizes matter more than
//! absolute times on a shared machine.

use std::hint::black_box;
use std::ops::Range;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion};
use ember::cmd::{self, CmdResult, CoreConfig, Effects, ExecCtx};
use ember::journal::Journal;
use ember::keyspace::Keyspace;
use ember::resp::{Argv, Proto, ReplyWriter};

/// Collection sizes and their names in bench ids.
const SIZES: [(usize, &str); 3] = [(10, "10"), (1_000, "1k"), (1_000_000, "1M")];
/// Sample count for the 1M-element groups (criterion's default is 100): their setup dominates.
const SAMPLES_BIG: usize = 10;
/// Distinct arguments a timed loop cycles through, spread over the collection, so the big
/// collections are probed all over rather than at one warm spot.
const PROBES: usize = 1024;
/// Elements per command while building a collection.
const BUILD_CHUNK: usize = 1000;
/// The one key each bench's keyspace holds.
const KEY: &[u8] = b"bench:collection";
/// The clock every command sees.
const NOW_MS: u64 = 1_700_000_000_000;

type Handler = fn(&mut ExecCtx<'_>, Argv<'_>) -> CmdResult;

fn handler(name: &str) -> Handler {
    cmd::find(name.as_bytes())
        .map(|c| c.run)
        .unwrap_or_else(|| panic!("{name} is a core command"))
}

/// One prepared command: its handler and its arguments (name first) in one buffer.
struct Req {
    run: Handler,
    buf: Vec<u8>,
    ranges: Vec<Range<usize>>,
}

impl Req {
    fn new<A: AsRef<[u8]>>(name: &str, args: &[A]) -> Req {
        let mut buf = name.as_bytes().to_vec();
        let mut ranges = Vec::with_capacity(args.len() + 1);
        ranges.push(0..buf.len());
        for a in args {
            let start = buf.len();
            buf.extend_from_slice(a.as_ref());
            ranges.push(start..buf.len());
        }
        Req {
            run: handler(name),
            buf,
            ranges,
        }
    }
}

/// A keyspace and what a dispatcher keeps around it.
struct Host {
    ks: Keyspace,
    journal: Journal,
    config: CoreConfig,
    out: Vec<u8>,
}

impl Host {
    fn new() -> Host {
        Host {
            ks: Keyspace::new(16, 7),
            journal: Journal::default(),
            config: CoreConfig::default(),
            out: Vec::with_capacity(1 << 12),
        }
    }

    /// Runs `req` in database 0; returns the reply's length.
    fn exec(&mut self, req: &Req) -> usize {
        self.out.clear();
        let mut ctx = ExecCtx {
            ks: &mut self.ks,
            db: 0,
            now_ms: NOW_MS,
            out: ReplyWriter::new(&mut self.out, Proto::Resp2),
            config: &self.config,
            no_touch: false,
            effects: Effects::default(),
            may_block: false,
            journal: &mut self.journal,
        };
        let failed = (req.run)(&mut ctx, Argv::new(&req.buf, &req.ranges)).is_err();
        drop(ctx);
        if failed {
            self.out.clear();
            self.out.extend_from_slice(b"-ERR");
        }
        self.out.len()
    }

    /// Runs `req` outside the timed loops and checks that it did not fail.
    fn check(&mut self, req: &Req) {
        self.exec(req);
        assert!(
            !self.out.starts_with(b"-"),
            "{} replied {}",
            req.buf.escape_ascii(),
            self.out.escape_ascii()
        );
    }

    /// Runs `req` outside the timed loops and checks its raw reply.
    fn expect(&mut self, req: &Req, reply: &[u8]) {
        self.exec(req);
        assert_eq!(
            self.out.escape_ascii().to_string(),
            reply.escape_ascii().to_string(),
            "{}",
            req.buf.escape_ascii()
        );
    }

    /// Fills `KEY` with `n` elements through `name` (RPUSH, HSET, SADD, ZADD): `args(i)` gives
    /// element i's arguments.
    fn build(&mut self, name: &str, n: usize, args: impl Fn(usize) -> Vec<Vec<u8>>) {
        for start in (0..n).step_by(BUILD_CHUNK) {
            let mut all: Vec<Vec<u8>> = vec![KEY.to_vec()];
            for i in start..n.min(start + BUILD_CHUNK) {
                all.extend(args(i));
            }
            self.check(&Req::new(name, &all));
        }
    }
}

fn member(i: usize) -> Vec<u8> {
    format!("member:{i}").into_bytes()
}

/// PROBES indexes spread evenly over 0..n (repeating when n < PROBES).
fn probes(n: usize) -> impl Iterator<Item = usize> {
    (0..PROBES).map(move |k| (k * n / PROBES + k) % n)
}

/// Times `reqs` in turn, one per iteration.
fn bench_cycle(g: &mut BenchmarkGroup<'_, WallTime>, id: &str, host: &mut Host, reqs: &[Req]) {
    reqs.iter().for_each(|r| host.check(r));
    let mut k = 0;
    g.bench_function(id, |b| {
        b.iter(|| {
            k = (k + 1) % reqs.len();
            black_box(host.exec(&reqs[k]))
        })
    });
}

/// Times pairs of requests (a change and its undo), both in one iteration.
fn bench_pairs(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    host: &mut Host,
    pairs: &[(Req, Req)],
) {
    for (first, second) in pairs {
        host.check(first);
        host.check(second);
    }
    let mut k = 0;
    g.bench_function(id, |b| {
        b.iter(|| {
            k = (k + 1) % pairs.len();
            let (first, second) = &pairs[k];
            black_box(host.exec(first) + host.exec(second))
        })
    });
}

fn group<'a>(
    c: &'a mut Criterion,
    ty: &str,
    n: usize,
    label: &str,
) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(format!("{ty}_{label}"));
    if n >= 1_000_000 {
        g.sample_size(SAMPLES_BIG);
    }
    g
}

fn list(c: &mut Criterion) {
    for (n, label) in SIZES {
        let mut host = Host::new();
        host.build("rpush", n, |i| {
            vec![format!("item{:06}", i % 1_000_000).into_bytes()]
        });
        host.expect(&Req::new("llen", &[KEY]), format!(":{n}\r\n").as_bytes());
        // LPUSH at the head, RPOP at the tail: the list keeps its length and rotates.
        let pairs = [(
            Req::new("lpush", &[KEY, b"item999999"]),
            Req::new("rpop", &[KEY]),
        )];
        let mut g = group(c, "list", n, label);
        bench_pairs(&mut g, "lpush_rpop", &mut host, &pairs);
        g.finish();
    }
}

fn hash(c: &mut Criterion) {
    for (n, label) in SIZES {
        let mut host = Host::new();
        host.build("hset", n, |i| {
            vec![
                format!("field:{i}").into_bytes(),
                format!("value:{i}").into_bytes(),
            ]
        });
        host.expect(&Req::new("hlen", &[KEY]), format!(":{n}\r\n").as_bytes());
        let fields: Vec<Vec<u8>> = probes(n)
            .map(|i| format!("field:{i}").into_bytes())
            .collect();
        // Overwrites an existing field: the hash keeps its size.
        let hset: Vec<Req> = fields
            .iter()
            .map(|f| Req::new("hset", &[KEY, f, b"value:updated"]))
            .collect();
        let hget: Vec<Req> = fields.iter().map(|f| Req::new("hget", &[KEY, f])).collect();
        let mut g = group(c, "hash", n, label);
        bench_cycle(&mut g, "hset_existing", &mut host, &hset);
        bench_cycle(&mut g, "hget", &mut host, &hget);
        g.finish();
    }
}

fn set(c: &mut Criterion) {
    for (n, label) in SIZES {
        let mut host = Host::new();
        host.build("sadd", n, |i| vec![member(i)]);
        host.expect(&Req::new("scard", &[KEY]), format!(":{n}\r\n").as_bytes());
        // Adds a member that is not there, then removes it.
        let pairs: Vec<(Req, Req)> = (0..PROBES)
            .map(|k| {
                let m = format!("absent:{k}").into_bytes();
                (Req::new("sadd", &[KEY, &m]), Req::new("srem", &[KEY, &m]))
            })
            .collect();
        let sismember: Vec<Req> = probes(n)
            .map(|i| Req::new("sismember", &[KEY.to_vec(), member(i)]))
            .collect();
        let mut g = group(c, "set", n, label);
        bench_pairs(&mut g, "sadd_srem", &mut host, &pairs);
        bench_cycle(&mut g, "sismember", &mut host, &sismember);
        g.finish();
    }
}

fn zset(c: &mut Criterion) {
    for (n, label) in SIZES {
        let mut host = Host::new();
        host.build("zadd", n, |i| vec![i.to_string().into_bytes(), member(i)]);
        host.expect(&Req::new("zcard", &[KEY]), format!(":{n}\r\n").as_bytes());
        // Moves a member half the set away, then back to its own score: each ZADD changes a
        // score and the member's rank.
        let pairs: Vec<(Req, Req)> = probes(n)
            .map(|i| {
                let far = ((i + n / 2) % n) as f64 + 0.5;
                let (m, far, own) = (member(i), far.to_string(), i.to_string());
                (
                    Req::new("zadd", &[KEY, far.as_bytes(), &m]),
                    Req::new("zadd", &[KEY, own.as_bytes(), &m]),
                )
            })
            .collect();
        let zrange = [Req::new("zrange", &[KEY, b"0", b"9"])];
        let zrank: Vec<Req> = probes(n)
            .map(|i| Req::new("zrank", &[KEY.to_vec(), member(i)]))
            .collect();
        let mut g = group(c, "zset", n, label);
        bench_pairs(&mut g, "zadd_move_x2", &mut host, &pairs);
        bench_cycle(&mut g, "zrange_0_9", &mut host, &zrange);
        bench_cycle(&mut g, "zrank", &mut host, &zrank);
        g.finish();
    }
}

/// BITCOUNT and BITPOS over a 1 MiB string, word at a time: the whole string is counted, and
/// BITPOS looks for the one clear bit in its last byte.
fn bitmap(c: &mut Criterion) {
    let mut host = Host::new();
    let mut value = vec![0xffu8; 1 << 20];
    *value.last_mut().expect("non-empty") = 0xfe;
    // SETRANGE writes in place, so the bitmap stays plain (a SET of such a compressible value
    // would store it LZ4-compressed, and each count would first expand it).
    host.check(&Req::new("setrange", &[KEY, b"0".as_slice(), &value]));
    host.expect(
        &Req::new("bitcount", &[KEY]),
        format!(":{}\r\n", (1 << 23) - 1).as_bytes(),
    );
    host.expect(
        &Req::new("bitpos", &[KEY, b"0"]),
        format!(":{}\r\n", (1 << 23) - 1).as_bytes(),
    );
    let mut g = c.benchmark_group("bitmap_1MiB");
    bench_cycle(
        &mut g,
        "bitcount",
        &mut host,
        &[Req::new("bitcount", &[KEY])],
    );
    bench_cycle(
        &mut g,
        "bitpos_0",
        &mut host,
        &[Req::new("bitpos", &[KEY, b"0"])],
    );
    g.finish();
}

/// PFADD of an element not seen yet, and PFCOUNT right after (which recounts whenever the add
/// changed a register), on a dense HyperLogLog of 100k elements.
fn hll(c: &mut Criterion) {
    let mut host = Host::new();
    host.build("pfadd", 100_000, |i| vec![member(i)]);
    let pairs: Vec<(Req, Req)> = (0..PROBES)
        .map(|k| {
            let m = format!("new:{k}").into_bytes();
            (Req::new("pfadd", &[KEY, &m]), Req::new("pfcount", &[KEY]))
        })
        .collect();
    let mut g = c.benchmark_group("hll_100k");
    bench_pairs(&mut g, "pfadd_pfcount", &mut host, &pairs);
    bench_cycle(
        &mut g,
        "pfcount_cached",
        &mut host,
        &[Req::new("pfcount", &[KEY])],
    );
    g.finish();
}

/// GEOSEARCH by radius (100 km and 1000 km) and by box around points spread over the world, and
/// GEOADD moving an existing member, on a geo set of 100k members.
fn geo(c: &mut Criterion) {
    let n = 100_000;
    // A low-discrepancy spread of points: the same data every run, no random source needed.
    let point = |i: usize| {
        let lon = (i as f64 * 0.618_033_988_749_895).fract() * 360.0 - 180.0;
        let lat = (i as f64 * 0.754_877_666_246_693).fract() * 170.0 - 85.0;
        (format!("{lon:.6}"), format!("{lat:.6}"))
    };
    let mut host = Host::new();
    host.build("geoadd", n, |i| {
        let (lon, lat) = point(i);
        vec![lon.into_bytes(), lat.into_bytes(), member(i)]
    });
    host.expect(&Req::new("zcard", &[KEY]), format!(":{n}\r\n").as_bytes());
    let search = |shape: &[&str]| -> Vec<Req> {
        probes(n)
            .map(|i| {
                let (lon, lat) = point(i * 7 + 3);
                let mut args = vec![KEY.to_vec(), b"FROMLONLAT".to_vec(), lon.into_bytes()];
                args.push(lat.into_bytes());
                args.extend(shape.iter().map(|a| a.as_bytes().to_vec()));
                Req::new("geosearch", &args)
            })
            .collect()
    };
    let near = search(&["BYRADIUS", "100", "km", "ASC"]);
    let far = search(&["BYRADIUS", "1000", "km", "COUNT", "10"]);
    let boxed = search(&["BYBOX", "200", "200", "km", "WITHDIST"]);
    let moves: Vec<(Req, Req)> = probes(n)
        .map(|i| {
            let (lon, lat) = point(i);
            let (lon2, lat2) = point(i + 1);
            let m = member(i);
            (
                Req::new("geoadd", &[KEY, lon2.as_bytes(), lat2.as_bytes(), &m]),
                Req::new("geoadd", &[KEY, lon.as_bytes(), lat.as_bytes(), &m]),
            )
        })
        .collect();
    let mut g = c.benchmark_group("geo_100k");
    bench_cycle(&mut g, "geosearch_radius_100km", &mut host, &near);
    bench_cycle(&mut g, "geosearch_radius_1000km_count10", &mut host, &far);
    bench_cycle(&mut g, "geosearch_box_200km", &mut host, &boxed);
    bench_pairs(&mut g, "geoadd_move_x2", &mut host, &moves);
    g.finish();
}

/// Times a sequence of requests per iteration (a change, what it leads to, and its undo).
fn bench_steps(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    host: &mut Host,
    steps: &[Vec<Req>],
) {
    for step in steps {
        step.iter().for_each(|r| host.check(r));
    }
    let mut k = 0;
    g.bench_function(id, |b| {
        b.iter(|| {
            k = (k + 1) % steps.len();
            black_box(steps[k].iter().map(|r| host.exec(r)).sum::<usize>())
        })
    });
}

/// A stream of 1M entries of three fields (IDs `1-0` to `1000000-0`): XADD with approximate
/// trimming at that length, XRANGE and XREVRANGE of 10 entries from points all over it, and a
/// consumer group reading 10 new entries (XGROUP SETID back, XREADGROUP, XACK of the 10).
fn stream(c: &mut Criterion) {
    let n = 1_000_000;
    let mut host = Host::new();
    let fields = |i: usize| {
        [
            b"sensor".to_vec(),
            format!("s-{:04}", i % 5000).into_bytes(),
            b"temp".to_vec(),
            format!("{}.{}", 15 + i % 20, i % 10).into_bytes(),
            b"state".to_vec(),
            b"ok".to_vec(),
        ]
    };
    for i in 1..=n {
        let mut args = vec![KEY.to_vec(), format!("{i}-0").into_bytes()];
        args.extend(fields(i));
        let req = Req::new("xadd", &args);
        host.exec(&req);
    }
    host.expect(&Req::new("xlen", &[KEY]), format!(":{n}\r\n").as_bytes());
    host.check(&Req::new("xgroup", &[&b"CREATE"[..], KEY, b"g", b"0"]));
    let maxlen = n.to_string();
    let adds: Vec<Req> = (0..PROBES)
        .map(|k| {
            let mut args = vec![KEY.to_vec(), b"MAXLEN".to_vec(), b"~".to_vec()];
            args.extend([maxlen.clone().into_bytes(), b"*".to_vec()]);
            args.extend(fields(k));
            Req::new("xadd", &args)
        })
        .collect();
    let ranges: Vec<Req> = probes(n / 2)
        .map(|i| {
            let start = format!("{}", n / 2 + i);
            Req::new("xrange", &[KEY, start.as_bytes(), b"+", b"COUNT", b"10"])
        })
        .collect();
    let revs: Vec<Req> = probes(n / 2)
        .map(|i| {
            let end = format!("{}", n / 2 + i);
            Req::new("xrevrange", &[KEY, end.as_bytes(), b"-", b"COUNT", b"10"])
        })
        .collect();
    let reads: Vec<Vec<Req>> = probes(n / 2)
        .map(|i| {
            let from = n / 2 + i;
            let mut ack = vec![KEY.to_vec(), b"g".to_vec()];
            ack.extend((from + 1..=from + 10).map(|id| format!("{id}-0").into_bytes()));
            vec![
                Req::new(
                    "xgroup",
                    &[&b"SETID"[..], KEY, b"g", format!("{from}-0").as_bytes()],
                ),
                Req::new(
                    "xreadgroup",
                    &[
                        &b"GROUP"[..],
                        b"g",
                        b"alice",
                        b"COUNT",
                        b"10",
                        b"STREAMS",
                        KEY,
                        b">",
                    ],
                ),
                Req::new("xack", &ack),
            ]
        })
        .collect();
    let mut g = c.benchmark_group("stream_1M");
    g.sample_size(SAMPLES_BIG * 3);
    bench_cycle(&mut g, "xrange_count10", &mut host, &ranges);
    bench_cycle(&mut g, "xrevrange_count10", &mut host, &revs);
    bench_steps(
        &mut g,
        "xgroup_setid_xreadgroup10_xack10",
        &mut host,
        &reads,
    );
    bench_cycle(&mut g, "xadd_maxlen_approx", &mut host, &adds);
    g.finish();
}

criterion_group!(benches, list, hash, set, zset, bitmap, hll, geo, stream);
criterion_main!(benches);
