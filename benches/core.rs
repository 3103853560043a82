//! Criterion benches of Ember's core: the keyspace table against hashbrown on the same keys, RESP
//! parsing throughput, SET/GET through the command layer, and GET/SET of a 1 KiB value stored
//! compressed (`value-compression yes`, the default) against the same value stored plain; after
//! those, the compressed/plain ratios of GET and SET from rounds alternating between the two.
//!
//! Run with `cargo bench --bench core`. Ratios matter more than absolute times on a shared machine.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use ember::cmd::{self, CoreConfig, Effects, ExecCtx};
use ember::keyspace::Keyspace;
use ember::resp::{parse_command, ArgBuf, ParseLimits, Parsed, Proto, ReplyWriter};
use ember::table::{Table, NO_EXPIRE};

const KEYS: usize = 1_000_000;

fn keys() -> Vec<Vec<u8>> {
    (0..KEYS).map(|i| format!("key:{i}").into_bytes()).collect()
}

fn table(c: &mut Criterion) {
    let keys = keys();
    let mut g = c.benchmark_group("table_1M");
    g.sample_size(10);
    g.bench_function("ember_insert", |b| {
        b.iter_batched(
            || Table::<u64>::new(1),
            |mut t| {
                for (i, k) in keys.iter().enumerate() {
                    t.insert_new(k, i as u64, NO_EXPIRE, 0);
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("hashbrown_insert", |b| {
        b.iter_batched(
            || {
                hashbrown::HashMap::<Vec<u8>, u64, foldhash::fast::FixedState>::with_hasher(
                    Default::default(),
                )
            },
            |mut t| {
                for (i, k) in keys.iter().enumerate() {
                    t.insert(k.clone(), i as u64);
                }
                t
            },
            BatchSize::PerIteration,
        )
    });
    let mut ember_t = Table::<u64>::new(1);
    let mut hb: hashbrown::HashMap<Vec<u8>, u64, foldhash::fast::FixedState> = Default::default();
    for (i, k) in keys.iter().enumerate() {
        ember_t.insert_new(k, i as u64, NO_EXPIRE, 0);
        hb.insert(k.clone(), i as u64);
    }
    while ember_t.rehash_step(1000) {}
    g.bench_function("ember_lookup", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for k in keys.iter().step_by(7) {
                sum += ember_t.get(k).map_or(0, |e| *e.whole());
            }
            black_box(sum)
        })
    });
    g.bench_function("hashbrown_lookup", |b| {
        b.iter(|| {
            let mut sum = 0u64;
            for k in keys.iter().step_by(7) {
                sum += hb.get(k.as_slice()).copied().unwrap_or(0);
            }
            black_box(sum)
        })
    });
    g.bench_function("ember_delete_reinsert", |b| {
        b.iter(|| {
            for k in keys.iter().step_by(97) {
                if let Some(e) = ember_t.remove(k) {
                    ember_t.insert_new(k, e.value, NO_EXPIRE, 0);
                }
            }
        })
    });
    g.bench_function("hashbrown_delete_reinsert", |b| {
        b.iter(|| {
            for k in keys.iter().step_by(97) {
                if let Some(v) = hb.remove(k.as_slice()) {
                    hb.insert(k.clone(), v);
                }
            }
        })
    });
    g.finish();
}

fn resp(c: &mut Criterion) {
    let mut input = Vec::new();
    for i in 0..10_000 {
        let k = format!("key:{i}");
        input.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$16\r\nvalue-0123456789\r\n",
                k.len(),
                k
            )
            .as_bytes(),
        );
    }
    let mut g = c.benchmark_group("resp");
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("parse_pipeline", |b| {
        let mut args = ArgBuf::default();
        let limits = ParseLimits::default();
        b.iter(|| {
            let mut pos = 0;
            let mut n = 0;
            while let Ok(Parsed::Command { consumed, .. }) =
                parse_command(&input[pos..], &limits, &mut args)
            {
                pos += consumed;
                n += 1;
            }
            black_box(n)
        })
    });
    g.finish();
}

fn commands(c: &mut Criterion) {
    let set = cmd::find(b"set")
        .map(|c| c.run)
        .expect("set is a core command");
    let get = cmd::find(b"get")
        .map(|c| c.run)
        .expect("get is a core command");
    let mut ks = Keyspace::new(16, 7);
    let config = CoreConfig::default();
    let mut out = Vec::with_capacity(1 << 16);
    let mut args = ArgBuf::default();
    let mut journal = ember::journal::Journal::default();
    let set_req = b"*3\r\n$3\r\nSET\r\n$9\r\nkey:12345\r\n$16\r\nvalue-0123456789\r\n".to_vec();
    let get_req = b"*2\r\n$3\r\nGET\r\n$9\r\nkey:12345\r\n".to_vec();
    let mut run = |req: &[u8],
                   f: fn(&mut ExecCtx<'_>, ember::resp::Argv<'_>) -> cmd::CmdResult,
                   out: &mut Vec<u8>| {
        let Ok(Parsed::Command { source, .. }) =
            parse_command(req, &ParseLimits::default(), &mut args)
        else {
            return;
        };
        out.clear();
        let mut ctx = ExecCtx {
            ks: &mut ks,
            db: 0,
            now_ms: 1_700_000_000_000,
            out: ReplyWriter::new(out, Proto::Resp2),
            config: &config,
            no_touch: false,
            effects: Effects::default(),
            may_block: false,
            journal: &mut journal,
        };
        let _ = f(&mut ctx, args.argv(req, source));
    };
    let mut g = c.benchmark_group("commands");
    g.bench_function("set", |b| b.iter(|| run(&set_req, set, &mut out)));
    g.bench_function("get", |b| b.iter(|| run(&get_req, get, &mut out)));
    g.finish();
}

/// Runs one request through the command layer.
fn exec(
    ks: &mut Keyspace,
    config: &CoreConfig,
    req: &[u8],
    f: fn(&mut ExecCtx<'_>, ember::resp::Argv<'_>) -> cmd::CmdResult,
    out: &mut Vec<u8>,
) {
    let mut args = ArgBuf::default();
    let mut journal = ember::journal::Journal::default();
    let Ok(Parsed::Command { source, .. }) = parse_command(req, &ParseLimits::default(), &mut args)
    else {
        return;
    };
    out.clear();
    let mut ctx = ExecCtx {
        ks,
        db: 0,
        now_ms: 1_700_000_000_000,
        out: ReplyWriter::new(out, Proto::Resp2),
        config,
        no_touch: false,
        effects: Effects::default(),
        may_block: false,
        journal: &mut journal,
    };
    let _ = f(&mut ctx, args.argv(req, source));
}

/// A JSON order document of about 1 KiB; documents share their field names.
fn order_doc(i: usize) -> Vec<u8> {
    let item = |k: usize| {
        format!(
            "{{\"sku\":\"KB-{:05}\",\"name\":\"Mechanical keyboard\",\"qty\":{},\"unit_price\":{}.{:02}}}",
            (i * 7919 + k * 104_729) % 100_000,
            1 + (i + k) % 4,
            20 + (i * 31 + k) % 300,
            (i + k * 13) % 100
        )
    };
    let items: Vec<String> = (0..9).map(item).collect();
    format!(
        "{{\"id\":{i},\"type\":\"order\",\"status\":\"paid\",\"customer\":{{\"id\":{},\"email\":\"user{i}@example.com\",\"tier\":\"gold\"}},\"items\":[{}],\"currency\":\"EUR\"}}",
        100_000 + i * 37 % 900_000,
        items.join(",")
    )
    .into_bytes()
}

fn compression(c: &mut Criterion) {
    let set = cmd::find(b"set").map(|c| c.run).expect("set");
    let get = cmd::find(b"get").map(|c| c.run).expect("get");
    let request = |args: &[&[u8]]| -> Vec<u8> {
        let mut r = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            r.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            r.extend_from_slice(a);
            r.extend_from_slice(b"\r\n");
        }
        r
    };
    let mut out = Vec::with_capacity(1 << 16);
    let doc = order_doc(12_345);
    let set_req = request(&[b"SET", b"doc", &doc]);
    let get_req = request(&[b"GET", b"doc"]);
    // One keyspace storing values plain, one compressed, each holding the same documents.
    let mut spaces: Vec<(&str, CoreConfig, Keyspace)> = [("plain", false), ("compressed", true)]
        .into_iter()
        .map(|(name, on)| {
            let config = CoreConfig {
                value_compression: on,
                ..CoreConfig::default()
            };
            let mut ks = Keyspace::new(1, 7);
            // Enough documents for the keyspace to train its dictionary first.
            for i in 0..100 {
                let req = request(&[b"SET", format!("doc:{i}").as_bytes(), &order_doc(i)]);
                exec(&mut ks, &config, &req, set, &mut out);
            }
            exec(&mut ks, &config, &set_req, set, &mut out);
            exec(&mut ks, &config, &get_req, get, &mut out);
            assert!(
                out.windows(doc.len()).any(|w| w == &doc[..]),
                "GET returns the value"
            );
            (name, config, ks)
        })
        .collect();
    let mut g = c.benchmark_group("value_1k");
    for (name, config, ks) in spaces.iter_mut() {
        g.bench_function(format!("get_{name}"), |b| {
            b.iter(|| exec(ks, config, &get_req, get, &mut out))
        });
        g.bench_function(format!("set_{name}"), |b| {
            b.iter(|| exec(ks, config, &set_req, set, &mut out))
        });
    }
    g.finish();
    // The ratio itself, from rounds that alternate between the two keyspaces: on a shared
    // machine the load changes between criterion's separate measurements, but it hits two
    // rounds a few milliseconds apart alike.
    for (what, req, f) in [("GET", &get_req, get), ("SET", &set_req, set)] {
        let mut ratios: Vec<f64> = (0..RATIO_ROUNDS)
            .map(|_| {
                let mut round = |(_, config, ks): &mut (&str, CoreConfig, Keyspace)| {
                    let t = std::time::Instant::now();
                    for _ in 0..RATIO_OPS {
                        exec(ks, config, req, f, &mut out);
                    }
                    t.elapsed().as_secs_f64()
                };
                let plain = round(&mut spaces[0]);
                round(&mut spaces[1]) / plain
            })
            .collect();
        ratios.sort_by(f64::total_cmp);
        println!(
            "value_1k {what}: compressed/plain {:.2} (median of {RATIO_ROUNDS} alternating rounds of \
             {RATIO_OPS}; middle half {:.2} to {:.2})",
            ratios[RATIO_ROUNDS / 2],
            ratios[RATIO_ROUNDS / 4],
            ratios[RATIO_ROUNDS * 3 / 4]
        );
    }
}

/// Alternating rounds behind the compressed/plain ratios, and commands per round.
const RATIO_ROUNDS: usize = 41;
const RATIO_OPS: usize = 5_000;

criterion_group!(benches, table, resp, commands, compression);
criterion_main!(benches);
