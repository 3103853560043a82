//! Fuzzes the RESP request parser: arbitrary bytes, parsed repeatedly as a client's query buffer would
//! be, must never panic, never claim more bytes than it was given, and always make progress or ask for
//! more. Run with `cargo +nightly fuzz run resp_parser` from `fuzz/`.
#![no_main]

use ember_core::resp::{parse_command, ArgBuf, ParseLimits, Parsed};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut args = ArgBuf::default();
    for unauthenticated in [false, true] {
        let limits = ParseLimits { max_bulk_len: 1 << 20, unauthenticated };
        let mut pos = 0;
        while pos < data.len() {
            match parse_command(&data[pos..], &limits, &mut args) {
                Ok(Parsed::Command { consumed, .. }) | Ok(Parsed::Skip { consumed }) => {
                    assert!(consumed > 0 && consumed <= data.len() - pos);
                    pos += consumed;
                }
                Ok(Parsed::Incomplete) | Err(_) => break,
            }
        }
    }
});
