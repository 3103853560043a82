//! COMMAND and its subcommands, generated from the command table: COUNT, INFO, DOCS, LIST, GETKEYS.

use ember_core::cmd::{acl, eq_ci, flags as f, CmdError, CmdResult, CommandInfo};
use ember_core::glob::glob_match;
use ember_core::resp::{Argv, ReplyWriter};

use super::{reply, reply_help, scmd, subcmd, subcommand, ServerCommand};
use crate::client::Client;
use crate::server::Server;

const CONN: u32 = acl::CONNECTION | acl::SLOW;

static SUBS: &[CommandInfo] = &[
    subcmd!(
        "count",
        2,
        f::LOADING | f::STALE,
        CONN,
        "Get total number of Redis commands"
    ),
    subcmd!(
        "info",
        -2,
        f::LOADING | f::STALE,
        CONN,
        "Get array of specific Redis command details, or all when no argument is given."
    ),
    subcmd!(
        "docs",
        -2,
        f::LOADING | f::STALE,
        CONN,
        "Get array of specific Redis command documentation"
    ),
    subcmd!(
        "list",
        -2,
        f::LOADING | f::STALE,
        CONN,
        "Get an array of Redis command names"
    ),
    subcmd!(
        "getkeys",
        -4,
        f::LOADING | f::STALE,
        CONN,
        "Extract keys given a full Redis command"
    ),
    subcmd!(
        "help",
        2,
        f::LOADING | f::STALE,
        CONN,
        "Show helpful text about the different subcommands"
    ),
];

pub static COMMANDS: &[ServerCommand] = &[scmd!(
    "command",
    -1,
    f::LOADING | f::STALE,
    CONN,
    "server",
    command,
    "Get array of Redis command details",
    "2.8.13",
    SUBS
)];

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "HELP",
    "    Print this help.",
];

fn command(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    if argv.len() == 1 {
        let mut w = reply(c);
        w.array(s.commands.entries.len());
        for e in &s.commands.entries {
            write_info(&mut w, e.info, e.info.name);
        }
        return Ok(());
    }
    let sub = subcommand(&COMMANDS[0].info, argv)?;
    match sub.name {
        "count" => reply(c).int(s.commands.len() as i64),
        "info" => {
            let mut w = reply(c);
            if argv.len() == 2 {
                w.array(s.commands.entries.len());
                for e in &s.commands.entries {
                    write_info(&mut w, e.info, e.info.name);
                }
            } else {
                w.array(argv.len() - 2);
                for name in argv.tail(2).iter() {
                    match find(s, name) {
                        Some((info, full)) => write_info(&mut w, info, &full),
                        None => w.null_array(),
                    }
                }
            }
        }
        "docs" => {
            let found: Vec<(&'static CommandInfo, String)> = if argv.len() == 2 {
                s.commands
                    .entries
                    .iter()
                    .map(|e| (e.info, e.info.name.to_string()))
                    .collect()
            } else {
                argv.tail(2).iter().filter_map(|n| find(s, n)).collect()
            };
            let mut w = reply(c);
            w.map(found.len());
            for (info, full) in found {
                w.bulk(full.as_bytes());
                write_docs(&mut w, info);
            }
        }
        "list" => {
            // Every command and subcommand (`client|list`), optionally filtered.
            let mut all: Vec<(String, &CommandInfo)> = Vec::new();
            for e in &s.commands.entries {
                all.push((e.info.name.to_string(), e.info));
                for sub in e.info.subcommands {
                    all.push((format!("{}|{}", e.info.name, sub.name), sub));
                }
            }
            let names: Vec<String> = match argv.len() {
                2 => all.into_iter().map(|(n, _)| n).collect(),
                5 if eq_ci(argv.get(2), "filterby") => {
                    let (kind, value) = (argv.get(3), argv.get(4));
                    if eq_ci(kind, "pattern") {
                        all.into_iter()
                            .filter(|(n, _)| glob_match(value, n.as_bytes(), true))
                            .map(|(n, _)| n)
                            .collect()
                    } else if eq_ci(kind, "aclcat") {
                        let bit = acl::NAMES
                            .iter()
                            .find(|(_, n)| eq_ci(value, n))
                            .map_or(0, |(b, _)| *b);
                        all.into_iter()
                            .filter(|(_, i)| i.acl & bit != 0)
                            .map(|(n, _)| n)
                            .collect()
                    } else if eq_ci(kind, "module") {
                        Vec::new()
                    } else {
                        return Err(ember_core::cmd::err::SYNTAX);
                    }
                }
                _ => return Err(ember_core::cmd::err::SYNTAX),
            };
            let mut w = reply(c);
            w.array(names.len());
            for n in names {
                w.bulk(n.as_bytes());
            }
        }
        "getkeys" => {
            let target = argv.tail(2);
            let Some(e) = s.commands.get(target.get(0)) else {
                return Err(CmdError::new("ERR Invalid command specified"));
            };
            if !e.info.arity_ok(target.len()) {
                return Err(CmdError::new(
                    "ERR Invalid number of arguments specified for command",
                ));
            }
            let mut keys: Vec<usize> = e.info.key_positions(target.len()).collect();
            // SORT's STORE destination is found by reading its options (Redis's sortGetKeys).
            if e.info.name == "sort" {
                keys.extend(ember_core::cmd::sort::store_key_position(target));
            }
            let geo_options = match e.info.name {
                "georadius" => Some(6),
                "georadiusbymember" => Some(5),
                _ => None,
            };
            if matches!(e.info.name, "xread" | "xreadgroup") {
                keys.extend(ember_core::cmd::stream::key_positions(target));
            }
            if let Some(from) = geo_options {
                keys.extend(ember_core::cmd::zset::geo::store_key_positions(
                    target, from,
                ));
            }
            // EVAL-style commands name their keys through numkeys, and may name none.
            let by_numkeys = matches!(
                e.info.name,
                "eval" | "evalsha" | "eval_ro" | "evalsha_ro" | "fcall" | "fcall_ro"
            );
            if by_numkeys {
                let n = ember_core::cmd::arg_i64(target.get(2))
                    .ok()
                    .filter(|&n| n >= 0 && (n as usize) <= target.len() - 3)
                    .ok_or(CmdError::new("ERR Invalid arguments specified for command"))?;
                keys.extend(3..3 + n as usize);
            }
            if keys.is_empty() && !by_numkeys {
                return Err(CmdError::new("ERR The command has no key arguments"));
            }
            let mut w = reply(c);
            w.array(keys.len());
            for k in keys {
                w.bulk(target.get(k));
            }
        }
        _ => reply_help(c, HELP),
    }
    Ok(())
}

/// Finds `name` or `parent|sub`, returning its description and full name.
fn find(s: &Server, name: &[u8]) -> Option<(&'static CommandInfo, String)> {
    let text = String::from_utf8_lossy(name).to_ascii_lowercase();
    match text.split_once('|') {
        None => s
            .commands
            .get(name)
            .map(|e| (e.info, e.info.name.to_string())),
        Some((parent, sub)) => {
            let p = s.commands.get(parent.as_bytes())?;
            let info = p.info.subcommands.iter().find(|i| i.name == sub)?;
            Some((info, format!("{}|{}", p.info.name, info.name)))
        }
    }
}

/// One COMMAND INFO entry: name, arity, flags, first key, last key, step, ACL categories, tips, key
/// specs, subcommands.
fn write_info(w: &mut ReplyWriter<'_>, info: &CommandInfo, full_name: &str) {
    w.array(10);
    w.bulk(full_name.as_bytes());
    w.int(info.arity as i64);
    let flags: Vec<&str> = f::NAMES
        .iter()
        .filter(|(bit, _)| info.flags & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    w.set(flags.len());
    for n in flags {
        w.simple(n.as_bytes());
    }
    w.int(info.first_key as i64);
    w.int(info.last_key as i64);
    w.int(info.key_step as i64);
    let cats: Vec<&str> = acl::NAMES
        .iter()
        .filter(|(bit, _)| info.acl & bit != 0)
        .map(|(_, n)| *n)
        .collect();
    w.set(cats.len());
    for n in cats {
        w.simple(format!("@{n}").as_bytes());
    }
    // Tips, key specs and subcommands are sets in RESP3, as Redis sends them.
    w.set(0);
    if info.first_key > 0 {
        write_key_spec(w, info);
    } else {
        w.set(0);
    }
    w.set(info.subcommands.len());
    for sub in info.subcommands {
        write_info(w, sub, &format!("{full_name}|{}", sub.name));
    }
}

/// Key-spec flags derived from the command's flags (RO/access for reads, RW/update for writes); the
/// finer flags Redis declares per command (OW, insert, delete, ...) are not modelled yet.
fn key_flags(info: &CommandInfo) -> (&'static [u8], &'static [u8]) {
    if info.flags & f::WRITE == 0 {
        (b"RO", b"access")
    } else {
        (b"RW", b"update")
    }
}

/// The Redis 7 key specification equivalent to the legacy (first, last, step) triple.
fn write_key_spec(w: &mut ReplyWriter<'_>, info: &CommandInfo) {
    w.set(1);
    w.map(3);
    w.bulk(b"flags");
    let (rw, kind) = key_flags(info);
    w.set(2);
    w.simple(rw);
    w.simple(kind);
    w.bulk(b"begin_search");
    w.map(2);
    w.bulk(b"type");
    w.bulk(b"index");
    w.bulk(b"spec");
    w.map(1);
    w.bulk(b"index");
    w.int(info.first_key as i64);
    w.bulk(b"find_keys");
    w.map(2);
    w.bulk(b"type");
    w.bulk(b"range");
    w.bulk(b"spec");
    w.map(3);
    w.bulk(b"lastkey");
    w.int(if info.last_key < 0 {
        info.last_key as i64
    } else {
        (info.last_key - info.first_key) as i64
    });
    w.bulk(b"keystep");
    w.int(info.key_step as i64);
    w.bulk(b"limit");
    w.int(0);
}

fn write_docs(w: &mut ReplyWriter<'_>, info: &CommandInfo) {
    let has_subs = !info.subcommands.is_empty();
    w.map(4 + has_subs as usize);
    w.bulk(b"summary");
    w.bulk(info.summary.as_bytes());
    w.bulk(b"since");
    w.bulk(info.since.as_bytes());
    w.bulk(b"group");
    w.bulk(info.group.as_bytes());
    w.bulk(b"complexity");
    w.bulk(info.complexity.as_bytes());
    if has_subs {
        w.bulk(b"subcommands");
        w.map(info.subcommands.len());
        for sub in info.subcommands {
            w.bulk(format!("{}|{}", info.name, sub.name).as_bytes());
            write_docs(
                w,
                &CommandInfo {
                    group: info.group,
                    since: info.since,
                    ..*sub
                },
            );
        }
    }
}
