//! The host the command families' unit tests run commands in: a keyspace and what a dispatcher
//! keeps around it. Each family's tests wrap it with the reply form their assertions read.

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};

use super::{err, find, CmdError, CoreConfig, Effects, ExecCtx};
use crate::journal::{class, Journal, Record};
use crate::keyspace::Keyspace;
use crate::reply::{parse_reply, Reply};
use crate::resp::{Argv, Proto, ReplyWriter};

/// The clock every test command sees.
pub const NOW_MS: u64 = 1_700_000_000_000;

pub struct Host {
    pub ks: Keyspace,
    pub journal: Journal,
    pub config: CoreConfig,
    pub proto: Proto,
    /// Whether commands may ask to block (the host is not inside MULTI or a script).
    pub may_block: bool,
    /// What the last command asked of its host.
    pub effects: Effects,
    /// The clock commands see (starts at [`NOW_MS`]).
    pub now_ms: u64,
}

impl Host {
    /// Sixteen databases, a fixed random seed, and every keyspace event recorded.
    pub fn new() -> Self {
        Host::with_seed(7)
    }

    pub fn with_seed(seed: u64) -> Self {
        let mut journal = Journal::default();
        journal.event_mask = class::KEYSPACE | class::KEYEVENT | class::ALL | class::NEW;
        Host {
            ks: Keyspace::new(16, seed),
            journal,
            config: CoreConfig::default(),
            proto: Proto::Resp2,
            may_block: false,
            effects: Effects::default(),
            now_ms: NOW_MS,
        }
    }

    /// Runs one command in database 0 as the dispatcher would: the raw reply, or the command's
    /// error (the arity check worded as Redis words it). A command that fails must not have
    /// written a reply.
    pub fn exec(&mut self, args: &[&[u8]]) -> Result<Vec<u8>, CmdError> {
        let (mut buf, mut ranges) = (Vec::new(), Vec::new());
        for a in args {
            let start = buf.len();
            buf.extend_from_slice(a);
            ranges.push(start..buf.len());
        }
        let argv = Argv::new(&buf, &ranges);
        let Some(cmd) = find(argv.get(0)) else {
            panic!("unknown command {:?}", argv.get(0).escape_ascii());
        };
        if !cmd.info.arity_ok(argv.len()) {
            return Err(err::wrong_arity(cmd.info.name));
        }
        let mut out = Vec::new();
        let mut ctx = ExecCtx {
            ks: &mut self.ks,
            db: 0,
            now_ms: self.now_ms,
            out: ReplyWriter::new(&mut out, self.proto),
            config: &self.config,
            no_touch: false,
            effects: Effects::default(),
            may_block: self.may_block,
            journal: &mut self.journal,
        };
        let result = (cmd.run)(&mut ctx, argv);
        self.effects = core::mem::take(&mut ctx.effects);
        drop(ctx);
        match result {
            Ok(()) => Ok(out),
            Err(e) => {
                assert!(out.is_empty(), "{args:?} wrote a reply before failing");
                Err(e)
            }
        }
    }

    /// [`Host::exec`] on its arguments as text: the reply as text, an error as `-text`.
    pub fn text(&mut self, args: &[&str]) -> String {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        match self.exec(&args) {
            Ok(out) => String::from_utf8_lossy(&out).into_owned(),
            Err(e) => alloc::format!("-{e}"),
        }
    }

    /// [`Host::text`] on a line of space-separated arguments.
    pub fn line(&mut self, line: &str) -> String {
        self.text(&line.split(' ').collect::<Vec<_>>())
    }

    /// [`Host::exec`] with its reply parsed (exactly one reply).
    pub fn reply(&mut self, args: &[&[u8]]) -> Result<Reply, CmdError> {
        let out = self.exec(args)?;
        let (reply, used) = parse_reply(&out).expect("a well-formed reply");
        assert_eq!(used, out.len(), "{args:?}: one reply");
        Ok(reply)
    }

    /// [`Host::reply`] on a line of space-separated arguments.
    pub fn reply_line(&mut self, line: &str) -> Result<Reply, CmdError> {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.reply(&words)
    }

    /// The reply of a command that must succeed.
    pub fn ok(&mut self, line: &str) -> Reply {
        self.reply_line(line)
            .unwrap_or_else(|e| panic!("{line}: {e}"))
    }

    /// The error text of a command that must fail.
    pub fn err(&mut self, line: &str) -> String {
        match self.reply_line(line) {
            Err(e) => e.0.into_owned(),
            Ok(r) => panic!("{line}: expected an error, got {r:?}"),
        }
    }

    /// The reply of a command that must answer an integer.
    pub fn int(&mut self, line: &str) -> i64 {
        match self.reply_line(line) {
            Ok(Reply::Integer(n)) => n,
            r => panic!("{line}: {r:?}"),
        }
    }

    /// The keyspace events recorded since the last call, as `event:key`.
    pub fn events(&mut self) -> Vec<String> {
        let mut names = Vec::new();
        self.journal.drain(|_, r, key| {
            if let Record::Event(_, name) = r {
                names.push(alloc::format!("{name}:{}", key.escape_ascii()));
            }
        });
        names
    }

    /// The encoding OBJECT ENCODING would report for `key` in database 0, or `none`.
    pub fn encoding(&self, key: &str) -> &'static str {
        self.ks
            .db(0)
            .peek(key.as_bytes(), self.now_ms)
            .map_or("none", |e| e.value().encoding_name())
    }

    pub fn exists(&self, key: &str) -> bool {
        self.ks.db(0).peek(key.as_bytes(), self.now_ms).is_some()
    }
}

/// An array of bulk strings, as RESP; `~` stands for a null bulk.
pub fn bulks(items: &str) -> String {
    let items: Vec<&str> = items.split(' ').filter(|s| !s.is_empty()).collect();
    let mut s = alloc::format!("*{}\r\n", items.len());
    for it in items {
        s += &match it {
            "~" => String::from("$-1\r\n"),
            _ => alloc::format!("${}\r\n{it}\r\n", it.len()),
        };
    }
    s
}

/// A [`Host`] that keeps the names of the keyspace events of the last command only, for tests
/// that check one command at a time. Commands may block.
pub struct StepHost {
    host: Host,
    pub events: Vec<&'static str>,
}

impl StepHost {
    pub fn new() -> Self {
        let mut host = Host::new();
        host.may_block = true;
        StepHost {
            host,
            events: Vec::new(),
        }
    }

    /// Runs a command given as space-separated words; returns the reply (an error as `-text`).
    pub fn run(&mut self, line: &str) -> String {
        self.run_args(&line.split(' ').collect::<Vec<_>>())
    }

    pub fn run_args(&mut self, args: &[&str]) -> String {
        let reply = self.host.text(args);
        let events = &mut self.events;
        events.clear();
        self.host.journal.drain(|_, r, _| {
            if let Record::Event(_, name) = r {
                events.push(name);
            }
        });
        reply
    }

    /// Runs each command and checks its reply.
    pub fn check(&mut self, cases: &[(&str, &str)]) {
        for (line, want) in cases {
            assert_eq!(self.run(line), *want, "{line}");
        }
    }
}

impl Deref for StepHost {
    type Target = Host;
    fn deref(&self) -> &Host {
        &self.host
    }
}

impl DerefMut for StepHost {
    fn deref_mut(&mut self) -> &mut Host {
        &mut self.host
    }
}
