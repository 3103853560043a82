//! Model-based fuzzing: the fuzzer's bytes choose the compact-encoding limits and then a sequence
//! of string, list, hash, set and sorted-set commands; each command runs through Ember's real
//! command table and through the reference model in `ember_core::cmd::model`, and the replies must
//! match (see that module for what it covers). A mismatch panics with the commands that led to it.
//! Run with `cargo +nightly fuzz run model` from `fuzz/`; the unit test
//! `cmd::model::tests::ember_answers_as_the_model` runs the same model from seeded sequences.
#![no_main]

use ember_core::cmd::model::{self, FuzzBytes};
use ember_core::cmd::{err, find, CmdError, CoreConfig, Effects, ExecCtx};
use ember_core::journal::Journal;
use ember_core::keyspace::Keyspace;
use ember_core::resp::{Argv, Proto, ReplyWriter};
use libfuzzer_sys::fuzz_target;

/// Longest sequence one input runs; longer inputs are cut there.
const COMMANDS_MAX: usize = 1000;

/// The clock every command sees (nothing here expires).
const NOW_MS: u64 = 1_700_000_000_000;

/// One database of a keyspace, run as a dispatcher runs commands (RESP2, not blocking).
struct Engine {
    ks: Keyspace,
    journal: Journal,
    config: CoreConfig,
}

impl Engine {
    fn exec(&mut self, args: &[&[u8]]) -> Result<Vec<u8>, CmdError> {
        let (mut buf, mut ranges) = (Vec::new(), Vec::new());
        for a in args {
            let start = buf.len();
            buf.extend_from_slice(a);
            ranges.push(start..buf.len());
        }
        let argv = Argv::new(&buf, &ranges);
        let cmd = find(argv.get(0)).expect("the model sends core commands only");
        if !cmd.info.arity_ok(argv.len()) {
            return Err(err::wrong_arity(cmd.info.name));
        }
        let mut out = Vec::new();
        let mut ctx = ExecCtx {
            ks: &mut self.ks,
            db: 0,
            now_ms: NOW_MS,
            out: ReplyWriter::new(&mut out, Proto::Resp2),
            config: &self.config,
            no_touch: false,
            effects: Effects::default(),
            may_block: false,
            journal: &mut self.journal,
        };
        let result = (cmd.run)(&mut ctx, argv);
        self.journal.drain(|_, _, _| {});
        match result {
            Ok(()) => Ok(out),
            Err(e) => {
                assert!(
                    out.is_empty(),
                    "{} wrote a reply before failing",
                    cmd.info.name
                );
                Err(e)
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut src = FuzzBytes::new(data);
    let config = model::config(&mut src);
    let mut engine = Engine {
        ks: Keyspace::new(16, 7),
        journal: Journal::default(),
        config,
    };
    if let Err(mismatch) = model::run(&mut src, COMMANDS_MAX, &mut |args| engine.exec(args)) {
        panic!("{config:?}\n{mismatch}");
    }
});
