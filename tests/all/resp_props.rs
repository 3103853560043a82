//! Property tests of the request parser `ember::resp::parse_command`: it never panics on any bytes, every
//! valid multibulk encoding parses back to its arguments, and every strict prefix of a command is
//! incomplete.

use ember::resp::{parse_command, ArgBuf, ArgSource, ParseLimits, Parsed};
use proptest::prelude::*;

use crate::harness::encode;

fn limits(unauthenticated: bool) -> ParseLimits {
    ParseLimits {
        unauthenticated,
        ..ParseLimits::default()
    }
}

/// Parses commands from `input` until it runs out or errors, checking the invariants of each step.
fn parse_all(input: &[u8], limits: &ParseLimits) {
    crate::harness::cap_memory();
    let mut args = ArgBuf::default();
    let mut pos = 0;
    // Every successful step consumes at least one byte, so this is bounded by the input length.
    while pos < input.len() {
        let rest = &input[pos..];
        match parse_command(rest, limits, &mut args) {
            Ok(Parsed::Command { consumed, source }) => {
                assert!(consumed > 0 && consumed <= rest.len());
                let argv = args.argv(rest, source);
                assert!(!argv.is_empty());
                for a in argv.iter() {
                    assert!(a.len() <= rest.len());
                }
                pos += consumed;
            }
            Ok(Parsed::Skip { consumed }) => {
                assert!(consumed > 0 && consumed <= rest.len());
                pos += consumed;
            }
            Ok(Parsed::Incomplete) | Err(_) => return,
        }
    }
}

/// Bytes that look like RESP often enough to reach deep into the parser.
fn resp_ish() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"*".to_vec()),
        Just(b"$".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"'".to_vec()),
        Just(b"\\x4".to_vec()),
        Just(b" ".to_vec()),
        Just(b"-1".to_vec()),
        Just(b"3000000000".to_vec()),
        (0u32..20).prop_map(|n| n.to_string().into_bytes()),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..40).prop_map(|v| v.concat())
}

fn arg() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..64),
        "[a-zA-Z0-9*$\r\n]{0,16}".prop_map(String::into_bytes),
    ]
}

/// Redis finds an inline command's newline with `strchr`, which stops at a NUL byte: the command stays
/// incomplete. (The parser once looped forever here, growing without bound; `cap_memory` turns such a
/// regression into a failure instead of an exhausted machine.)
#[test]
fn inline_nul_byte_hides_the_newline() {
    crate::harness::cap_memory();
    let mut args = ArgBuf::default();
    let r = parse_command(b"PING\x00junk\r\n", &ParseLimits::default(), &mut args);
    assert_eq!(r, Ok(Parsed::Incomplete));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512), unauth: bool) {
        parse_all(&bytes, &limits(unauth));
    }

    #[test]
    fn resp_like_bytes_never_panic(bytes in resp_ish(), unauth: bool) {
        parse_all(&bytes, &limits(unauth));
    }

    /// The same properties over inputs without NUL bytes: a NUL ends an inline line early, so these
    /// reach further into the inline parser.
    #[test]
    fn random_bytes_without_nul_never_panic(bytes in prop::collection::vec(1u8..=255, 0..512), unauth: bool) {
        parse_all(&bytes, &limits(unauth));
    }

    #[test]
    fn resp_like_bytes_without_nul_never_panic(bytes in resp_ish(), unauth: bool) {
        let bytes: Vec<u8> = bytes.into_iter().filter(|&b| b != 0).collect();
        parse_all(&bytes, &limits(unauth));
    }

    #[test]
    fn multibulk_round_trips(args in prop::collection::vec(arg(), 1..10), tail in prop::collection::vec(any::<u8>(), 0..16)) {
        let encoded = encode(&args);
        let mut input = encoded.clone();
        input.extend_from_slice(&tail);
        for buf in [&encoded[..], &input[..]] {
            let mut parsed = ArgBuf::default();
            let r = parse_command(buf, &ParseLimits::default(), &mut parsed);
            prop_assert_eq!(r, Ok(Parsed::Command { consumed: encoded.len(), source: ArgSource::Input }));
            let got: Vec<Vec<u8>> = parsed.argv(buf, ArgSource::Input).iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(&got, &args);
        }
    }

    #[test]
    fn pipelined_commands_parse_in_order(cmds in prop::collection::vec(prop::collection::vec(arg(), 1..4), 1..6)) {
        let input: Vec<u8> = cmds.iter().flat_map(|c| encode(c)).collect();
        let mut parsed = ArgBuf::default();
        let mut pos = 0;
        for want in &cmds {
            let rest = &input[pos..];
            let r = parse_command(rest, &ParseLimits::default(), &mut parsed);
            let Ok(Parsed::Command { consumed, source }) = r else {
                return Err(TestCaseError::fail(format!("{r:?}")));
            };
            let got: Vec<Vec<u8>> = parsed.argv(rest, source).iter().map(<[u8]>::to_vec).collect();
            prop_assert_eq!(&got, want);
            pos += consumed;
        }
        prop_assert_eq!(pos, input.len());
    }

    #[test]
    fn every_prefix_is_incomplete(args in prop::collection::vec(arg(), 1..6)) {
        let encoded = encode(&args);
        let mut parsed = ArgBuf::default();
        for cut in 0..encoded.len() {
            let r = parse_command(&encoded[..cut], &ParseLimits::default(), &mut parsed);
            prop_assert_eq!(r, Ok(Parsed::Incomplete), "prefix of {} bytes", cut);
        }
    }

    #[test]
    fn inline_words_round_trip(words in prop::collection::vec("[a-zA-Z0-9_:.-]{1,12}", 1..8), crlf: bool) {
        let mut line = words.join(" ").into_bytes();
        line.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        let mut parsed = ArgBuf::default();
        let r = parse_command(&line, &ParseLimits::default(), &mut parsed);
        let Ok(Parsed::Command { consumed, source }) = r else {
            return Err(TestCaseError::fail(format!("{r:?}")));
        };
        prop_assert_eq!(consumed, line.len());
        let got: Vec<String> = parsed
            .argv(&line, source)
            .iter()
            .map(|a| String::from_utf8(a.to_vec()).expect("utf-8"))
            .collect();
        prop_assert_eq!(got, words);
        for cut in 0..line.len() - 1 {
            let r = parse_command(&line[..cut], &ParseLimits::default(), &mut parsed);
            prop_assert_eq!(r, Ok(Parsed::Incomplete));
        }
    }
}
