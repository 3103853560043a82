//! The Rust-API side of the embedding benchmark (benches/ffi-bench runs both): the same workload as
//! benches/c/ffi_bench.c on `Keyspace` directly, so the C ABI's overhead shows as a ratio.
//! Prints `rust_set_ns`, `rust_get_ns` and `rust_get_per_s`.

use std::fmt::Write;
use std::hint::black_box;
use std::time::Instant;

use ember::keyspace::Keyspace;
use ember::table::NO_EXPIRE;
use ember::types::string::CompactStr;
use ember::types::Value;

const KEYS: u64 = 1_000_000;
const GETS: u64 = 5_000_000;

fn main() {
    let mut ks = Keyspace::new(16, 7);
    let now = 1_700_000_000_000u64;
    let t0 = Instant::now();
    for i in 0..KEYS {
        let key = format!("key:{i}");
        ks.db_mut(0).set(
            key.as_bytes(),
            Value::Str(CompactStr::from_value(b"0123456789abcdef")),
            Some(NO_EXPIRE),
            0,
        );
    }
    println!(
        "rust_set_ns {:.1}",
        t0.elapsed().as_nanos() as f64 / KEYS as f64
    );
    let mut rng = 88172645463325252u64;
    let mut total = 0usize;
    let t0 = Instant::now();
    let mut key = String::with_capacity(32);
    for _ in 0..GETS {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        key.clear();
        let _ = write!(key, "key:{}", rng % KEYS);
        let (db, stats) = ks.db_and_stats(0);
        if let Some(Value::Str(s)) = db.get(key.as_bytes(), now, stats) {
            total += s.len();
        }
    }
    let t = t0.elapsed().as_secs_f64();
    println!("rust_get_ns {:.1}", t * 1e9 / GETS as f64);
    println!("rust_get_per_s {:.0}", GETS as f64 / t);
    black_box(total);
}
