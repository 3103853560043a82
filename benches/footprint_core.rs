//! The core-library side of the footprint benchmark (benches/footprint --core runs it): loads one
//! shape's commands into a `Keyspace` through the core command layer, with no server, and reports
//! the heap bytes the data holds per item.
//!
//! Usage: `footprint_core <shape letter> <items> <file of RESP requests>`. benches/footprint writes
//! the file with the same requests it pipelines to the servers. Every request must succeed. Prints
//! one line: `core_bytes_per_item=<f> core_allocs_per_item=<f> keys=<n> commands=<n>`.
//!
//! Bytes are the sizes requested from the allocator (a counting wrapper around the system
//! allocator), live after loading minus live before, so the figure leaves out the allocator's own
//! overhead and fragmentation that RSS includes.

use std::alloc::{GlobalAlloc, Layout, System};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};

use ember::cmd::{self, CoreConfig, Effects, ExecCtx, NameIndex};
use ember::journal::Journal;
use ember::keyspace::Keyspace;
use ember::resp::{parse_command, ArgBuf, ParseLimits, Parsed, Proto, ReplyWriter};

/// The system allocator, counting the bytes and blocks it hands out and takes back.
struct Counting;

static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);
static LIVE_BLOCKS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so `System`'s
// guarantees carry over; the counters are only bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract (non-zero size), as `System` needs.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
            LIVE_BLOCKS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, hence from `System`, with this `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        LIVE_BLOCKS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: `ptr` came from `System` with `layout`, and the caller guarantees `new_size`.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
            LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Databases in the keyspace, as ember-server's default `databases 16`.
const DATABASES: usize = 16;
/// The host clock every command sees (shape G's TTLs count from it; nothing expires during a run).
const NOW_MS: u64 = 1_700_000_000_000;
/// Room reserved up front for the longest request (RPUSH of 1,000 items) and its reply, so the
/// harness's own buffers do not grow while the data loads.
const ARGS_RESERVE: usize = 4096;
const REPLY_RESERVE: usize = 1 << 16;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, shape, items, path] = &args[..] else {
        eprintln!("usage: footprint_core <shape letter> <items> <file of RESP requests>");
        return ExitCode::from(2);
    };
    let Ok(items) = items.parse::<u64>() else {
        eprintln!("footprint_core: items must be a positive integer, got {items:?}");
        return ExitCode::from(2);
    };
    let input = match std::fs::read(path) {
        Ok(input) => input,
        Err(e) => {
            eprintln!("footprint_core: reading {path}: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&input, items.max(1)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("footprint_core: shape {shape}: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads every request of `input` into a fresh keyspace and prints the per-item figures.
fn run(input: &[u8], items: u64) -> Result<(), String> {
    let commands: Vec<&'static cmd::Command> =
        cmd::tables().into_iter().flat_map(|t| t.iter()).collect();
    let index = NameIndex::new(commands.iter().map(|c| &c.info));
    let config = CoreConfig::default();
    let limits = ParseLimits::default();
    let mut ks = Keyspace::new(DATABASES, 0x5EED_F007_9A1E_0001);
    let mut journal = Journal::default();
    let mut args = ArgBuf::default();
    args.ranges.reserve(ARGS_RESERVE);
    let mut out = Vec::with_capacity(REPLY_RESERVE);

    let (bytes_before, blocks_before) = live();
    let mut pos = 0;
    let mut count = 0u64;
    while pos < input.len() {
        // Argument ranges index the input from where this request starts.
        let request = &input[pos..];
        let source = match parse_command(request, &limits, &mut args) {
            Ok(Parsed::Command { consumed, source }) => {
                pos += consumed;
                source
            }
            Ok(Parsed::Skip { consumed }) => {
                pos += consumed;
                continue;
            }
            Ok(Parsed::Incomplete) => return Err(format!("truncated request at byte {pos}")),
            Err(e) => return Err(format!("at byte {pos}: {e}")),
        };
        let argv = args.argv(request, source);
        let name = argv.get(0);
        let command = index
            .get(name)
            .map(|i| commands[i])
            .ok_or_else(|| format!("unknown command {}", String::from_utf8_lossy(name)))?;
        if !command.info.arity_ok(argv.len()) {
            return Err(cmd::err::wrong_arity(command.info.name).to_string());
        }
        out.clear();
        let mut ctx = ExecCtx {
            ks: &mut ks,
            db: 0,
            now_ms: NOW_MS,
            out: ReplyWriter::new(&mut out, Proto::Resp2),
            config: &config,
            no_touch: false,
            effects: Effects::default(),
            may_block: false,
            journal: &mut journal,
        };
        (command.run)(&mut ctx, argv).map_err(|e| format!("request {count}: {e}"))?;
        drop(ctx);
        if out.first() == Some(&b'-') {
            return Err(format!(
                "request {count}: {}",
                String::from_utf8_lossy(&out).trim_end()
            ));
        }
        // Nobody watches keys here; drain anyway so the journal never holds on to memory.
        journal.drain(|_, _, _| {});
        count += 1;
    }
    // Finish incremental rehashing, as the server's cron does before its RSS settles: the old
    // bucket array is freed.
    for i in 0..ks.db_count() {
        while ks.db_mut(i).table_mut().rehash_step(1000) {}
    }
    let (bytes_after, blocks_after) = live();
    let bytes = bytes_after as f64 - bytes_before as f64;
    let blocks = blocks_after as f64 - blocks_before as f64;
    println!(
        "core_bytes_per_item={:.2} core_allocs_per_item={:.3} keys={} commands={count}",
        bytes / items as f64,
        blocks / items as f64,
        ks.total_keys()
    );
    Ok(())
}

/// Live bytes and blocks handed out by the allocator.
fn live() -> (usize, usize) {
    (
        LIVE_BYTES.load(Ordering::Relaxed),
        LIVE_BLOCKS.load(Ordering::Relaxed),
    )
}
