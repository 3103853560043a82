//! The server's command table: core's data commands plus the server-only families registered here
//! (connection, CLIENT, CONFIG, INFO, admin), all described by the same `CommandInfo` metadata.

pub mod admin;
pub mod client;
pub mod command;
pub mod config;
pub mod connection;
pub mod info;
pub mod multi;
pub mod pubsub;
pub mod scripting;

use ember_core::cmd::{self as core_cmd, CmdResult, CommandInfo, ExecCtx, NameIndex};
use ember_core::resp::{Argv, ReplyWriter};

use crate::client::Client;
use crate::server::Server;

pub type ServerFn = fn(&mut Server, &mut Client, Argv<'_>) -> CmdResult;

/// A server-only command.
pub struct ServerCommand {
    pub info: CommandInfo,
    pub run: ServerFn,
}

#[derive(Clone, Copy)]
pub enum Handler {
    Core(fn(&mut ExecCtx<'_>, Argv<'_>) -> CmdResult),
    Server(ServerFn),
}

pub struct Registered {
    pub info: &'static CommandInfo,
    pub handler: Handler,
}

pub struct CommandTable {
    pub entries: Vec<Registered>,
    by_name: NameIndex,
}

/// Every server-only command family.
fn server_tables() -> [&'static [ServerCommand]; 9] {
    [
        connection::COMMANDS,
        client::COMMANDS,
        config::COMMANDS,
        info::COMMANDS,
        admin::COMMANDS,
        command::COMMANDS,
        multi::COMMANDS,
        pubsub::COMMANDS,
        scripting::COMMANDS,
    ]
}

impl CommandTable {
    pub fn build() -> Self {
        let mut entries = Vec::new();
        for table in core_cmd::tables() {
            for c in table {
                entries.push(Registered {
                    info: &c.info,
                    handler: Handler::Core(c.run),
                });
            }
        }
        for table in server_tables() {
            for c in table {
                entries.push(Registered {
                    info: &c.info,
                    handler: Handler::Server(c.run),
                });
            }
        }
        let by_name = NameIndex::new(entries.iter().map(|e| e.info));
        CommandTable { entries, by_name }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Case-insensitive lookup without allocating.
    pub fn lookup(&self, name: &[u8]) -> Option<usize> {
        self.by_name.get(name)
    }

    pub fn get(&self, name: &[u8]) -> Option<&Registered> {
        self.lookup(name).map(|i| &self.entries[i])
    }
}

/// The reply writer for a client.
#[inline]
pub fn reply(c: &mut Client) -> ReplyWriter<'_> {
    ReplyWriter::new(&mut c.out, c.proto)
}

/// Builds a server command's description (`group` names the COMMAND DOCS group).
macro_rules! scmd {
    ($name:literal, $arity:expr, $flags:expr, $acl:expr, $group:literal, $run:expr, $summary:literal, $since:literal) => {
        scmd!(
            $name,
            $arity,
            $flags,
            $acl,
            $group,
            $run,
            $summary,
            $since,
            &[]
        )
    };
    ($name:literal, $arity:expr, $flags:expr, $acl:expr, $group:literal, $run:expr, $summary:literal, $since:literal, $subs:expr) => {
        $crate::cmd::ServerCommand {
            info: ember_core::cmd::CommandInfo {
                name: $name,
                arity: $arity,
                flags: $flags,
                acl: $acl,
                group: $group,
                summary: $summary,
                since: $since,
                subcommands: $subs,
                ..ember_core::cmd::BLANK
            },
            run: $run,
        }
    };
}
pub(crate) use scmd;

/// Describes a subcommand for COMMAND.
macro_rules! subcmd {
    ($name:literal, $arity:expr, $flags:expr, $acl:expr, $summary:literal) => {
        ember_core::cmd::CommandInfo {
            name: $name,
            arity: $arity,
            flags: $flags,
            acl: $acl,
            summary: $summary,
            ..ember_core::cmd::BLANK
        }
    };
}
pub(crate) use subcmd;

/// Finds the subcommand `argv[1]` of `parent` and checks its arity.
pub fn subcommand(
    parent: &'static CommandInfo,
    argv: Argv<'_>,
) -> Result<&'static CommandInfo, core_cmd::CmdError> {
    let sub = argv.get(1);
    let Some(info) = parent
        .subcommands
        .iter()
        .find(|s| core_cmd::eq_ci(sub, s.name))
    else {
        return Err(core_cmd::keys::unknown_subcommand(parent.name, sub));
    };
    if !info.arity_ok(argv.len()) {
        return Err(core_cmd::keys::subcommand_arity(parent.name, info.name));
    }
    Ok(info)
}

/// Replies with HELP lines.
pub fn reply_help(c: &mut Client, lines: &[&str]) {
    let mut w = reply(c);
    w.array(lines.len());
    for l in lines {
        w.simple(l.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_name_is_unique_and_consistent() {
        let t = CommandTable::build();
        let mut names = BTreeSet::new();
        for e in &t.entries {
            assert!(names.insert(e.info.name), "duplicate {}", e.info.name);
            assert_eq!(e.info.name, e.info.name.to_ascii_lowercase());
            assert!(e.info.name.len() <= core_cmd::NAME_MAX);
            for s in e.info.subcommands {
                assert!(s.arity.unsigned_abs() >= 2, "{}|{}", e.info.name, s.name);
            }
        }
        assert!(t.lookup(b"GeT").is_some());
        assert!(t.lookup(b"nosuchcommand").is_none());
    }
}
