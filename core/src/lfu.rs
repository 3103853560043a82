//! Access tracking for eviction: Redis's LRU clock or LFU counter, in the entry's 24-bit access
//! clock ([`crate::table::Entry::access`]).
//!
//! Under an LRU (or no, or random) policy it holds the last access in host seconds (wrapping at
//! 24 bits, every 194 days, as Redis's LRU clock does). Under
//! an LFU policy (`allkeys-lfu`, `volatile-lfu`) it holds what Redis keeps in its 24-bit `lru`
//! field: the time of the last decrement in minutes (16 bits, wrapping) and a logarithmic access
//! counter (8 bits) that starts at [`LFU_INIT_VAL`], grows with probability
//! `1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1)` per access and loses one per
//! `lfu-decay-time` minutes without access. As in Redis, switching policy at runtime reinterprets
//! the field, and the data takes some time to adjust.

use core::sync::atomic::{AtomicU64, Ordering};

/// The counter a new key starts with, so it is not evicted before it had a chance to be used.
pub const LFU_INIT_VAL: u8 = 5;

/// `lfu-log-factor` and `lfu-decay-time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lfu {
    pub log_factor: u64,
    pub decay_minutes: u64,
}

/// The random source of counter increments (xorshift; statistical quality is all LFU needs).
static RNG: AtomicU64 = AtomicU64::new(0x9E37_79B9_7F4A_7C15);

fn rand_unit() -> f64 {
    let mut x = RNG.load(Ordering::Relaxed);
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    RNG.store(x, Ordering::Relaxed);
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xFFFF) as u32
}

/// Packs the decrement time and counter.
fn pack(minutes: u32, counter: u8) -> u32 {
    (minutes & 0xFFFF) << 8 | u32::from(counter)
}

/// The access field of a key created at `now_ms`.
pub fn initial(now_ms: u64, lfu: Option<Lfu>) -> u32 {
    match lfu {
        Some(_) => pack(minutes(now_ms), LFU_INIT_VAL),
        None => (now_ms / 1000) as u32,
    }
}

/// The access field of a key given counter `counter` at `now_ms` (RESTORE ... FREQ).
pub fn with_counter(now_ms: u64, counter: u8) -> u32 {
    pack(minutes(now_ms), counter)
}

/// The counter of `data` after the decay since its last decrement (Redis's `LFUDecrAndReturn`):
/// what OBJECT FREQ reports.
pub fn counter(data: u32, now_ms: u64, lfu: Lfu) -> u8 {
    let last = (data >> 8) & 0xFFFF;
    let now = minutes(now_ms);
    let elapsed = if now >= last {
        now - last
    } else {
        0xFFFF - last + now
    };
    let counter = (data & 0xFF) as u8;
    let periods = match lfu.decay_minutes {
        0 => 0,
        d => u64::from(elapsed) / d,
    };
    counter.saturating_sub(periods.min(255) as u8)
}

/// The access field after an access at `now_ms` (Redis's `updateLFU`, or the LRU clock).
pub fn touched(data: u32, now_ms: u64, lfu: Option<Lfu>) -> u32 {
    let Some(lfu) = lfu else {
        return (now_ms / 1000) as u32;
    };
    let mut c = counter(data, now_ms, lfu);
    if c < 255 {
        let base = f64::from(c.saturating_sub(LFU_INIT_VAL));
        let p = 1.0 / (base * lfu.log_factor as f64 + 1.0);
        if rand_unit() < p {
            c += 1;
        }
    }
    pack(minutes(now_ms), c)
}

/// A key's eviction priority under `lfu` (higher goes first): the rarer the use, the higher.
pub fn eviction_score(data: u32, now_ms: u64, lfu: Lfu) -> u64 {
    256 - u64::from(counter(data, now_ms, lfu))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LFU: Lfu = Lfu {
        log_factor: 10,
        decay_minutes: 1,
    };

    #[test]
    fn counters_grow_logarithmically_and_decay() {
        let t0 = 1_700_000_000_000u64;
        let mut d = initial(t0, Some(LFU));
        assert_eq!(counter(d, t0, LFU), LFU_INIT_VAL);
        for _ in 0..1000 {
            d = touched(d, t0, Some(LFU));
        }
        let after_1k = counter(d, t0, LFU);
        for _ in 0..99_000 {
            d = touched(d, t0, Some(LFU));
        }
        let after_100k = counter(d, t0, LFU);
        // Redis's table for lfu-log-factor 10: ~18 after 1k hits, ~142 after 100k.
        assert!((12..=30).contains(&after_1k), "{after_1k}");
        assert!((100..=200).contains(&after_100k), "{after_100k}");
        // One point per idle minute.
        assert_eq!(counter(d, t0 + 10 * 60_000, LFU), after_100k - 10);
        assert_eq!(counter(d, t0 + 1000 * 60_000, LFU), 0);
        let no_decay = Lfu {
            decay_minutes: 0,
            ..LFU
        };
        assert_eq!(counter(d, t0 + 1000 * 60_000, no_decay), after_100k);
        assert!(eviction_score(initial(t0, Some(LFU)), t0, LFU) > eviction_score(d, t0, LFU));
    }

    #[test]
    fn lru_mode_stores_seconds() {
        assert_eq!(initial(5_500, None), 5);
        assert_eq!(touched(1, 9_999, None), 9);
    }
}
