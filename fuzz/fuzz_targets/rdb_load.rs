//! Fuzzes the RDB loader and RESTORE payloads: arbitrary bytes as a whole file (after the magic, so
//! the fuzzer reaches the opcodes) and as a DUMP payload body must never panic, read out of bounds
//! or allocate by a length the input claims; whatever loads must save and load back equal. Run with
//! `cargo +nightly fuzz run rdb_load` from `fuzz/`; seed it with files redis-server wrote
//! (`tests/fixtures/*.rdb`).
#![no_main]

use ember_core::cmd::CoreConfig;
use ember_core::keyspace::Keyspace;
use ember_core::rdb::{load, save};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let config = CoreConfig::default();
    // As a file, with and without a valid header in front.
    let mut ks = Keyspace::new(16, 1);
    let _ = load::load_file(data, &mut ks, &config, 0);
    let mut file = b"REDIS0010".to_vec();
    file.extend_from_slice(data);
    let mut ks = Keyspace::new(16, 1);
    if load::load_file(&file, &mut ks, &config, 0).is_ok() {
        let mut enc = save::Encoder::new(Vec::new(), save::Options::default());
        enc.header(&[]);
        save::save_keyspace(&mut enc, &ks, 0);
        let again = enc.finish();
        let mut back = Keyspace::new(16, 1);
        load::load_file(&again, &mut back, &config, 0).expect("a saved keyspace loads");
        assert_eq!(back.total_keys(), ks.total_keys());
    }
    // As a RESTORE payload body (the checksum is what the fuzzer cannot forge).
    let mut b = load::Builder { config: &config, seed: 1 };
    if let Ok(Some(v)) = load::restore_value(data, &mut b) {
        let p = save::dump(&v, true);
        let body = load::verify_payload(&p).expect("a fresh payload verifies");
        load::restore_value(body, &mut b).expect("a dumped value restores");
    }
});
