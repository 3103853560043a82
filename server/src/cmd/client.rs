//! CLIENT and its subcommands: ID, INFO, LIST, KILL, SETNAME, GETNAME, REPLY, PAUSE, UNPAUSE,
//! NO-EVICT, NO-TOUCH, HELP.

use ember_core::cmd::{acl, arg_i64, eq_ci, err, flags as f, CmdError, CmdResult, CommandInfo};
use ember_core::resp::{Argv, ReplyWriter};

use super::{reply, reply_help, scmd, subcmd, subcommand, ServerCommand};
use crate::client::{Client, ReplyMode};
use crate::server::{Pause, Server};
use crate::sys;
use crate::tracking::Tracking;

const C: u32 = acl::CONNECTION | acl::SLOW;
const ADM: u32 = acl::ADMIN | acl::DANGEROUS | acl::CONNECTION | acl::SLOW;

static SUBS: &[CommandInfo] = &[
    subcmd!("id", 2, f::NOSCRIPT | f::LOADING | f::STALE, C, "Returns the client ID for the current connection"),
    subcmd!("info", 2, f::NOSCRIPT | f::LOADING | f::STALE, C, "Returns information about the current client connection."),
    subcmd!("list", -2, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE, ADM, "Get the list of client connections"),
    subcmd!("kill", -3, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE, ADM, "Kill the connection of a client"),
    subcmd!("setname", 3, f::NOSCRIPT | f::LOADING | f::STALE, C, "Set the current connection name"),
    subcmd!("getname", 2, f::NOSCRIPT | f::LOADING | f::STALE, C, "Get the current connection name"),
    subcmd!("reply", 3, f::NOSCRIPT | f::LOADING | f::STALE, C, "Instruct the server whether to reply to commands"),
    subcmd!("pause", -3, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE, ADM, "Stop processing commands from clients for some time"),
    subcmd!("unpause", 2, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE, ADM, "Resume processing of clients that were paused"),
    subcmd!("no-evict", 3, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE, ADM, "Set client eviction mode for the current connection"),
    subcmd!("no-touch", 3, f::NOSCRIPT | f::LOADING | f::STALE, C, "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access."),
    subcmd!("tracking", -3, f::NOSCRIPT | f::LOADING | f::STALE, C, "Enable or disable server assisted client side caching support"),
    subcmd!("caching", 3, f::NOSCRIPT | f::LOADING | f::STALE, C, "Instruct the server about tracking or not keys in the next request"),
    subcmd!("getredir", 2, f::NOSCRIPT | f::LOADING | f::STALE, C, "Get tracking notifications redirection client ID if any"),
    subcmd!("trackinginfo", 2, f::NOSCRIPT | f::LOADING | f::STALE, C, "Return information about server assisted client side caching for the current connection"),
    subcmd!("unblock", -3, f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE, ADM, "Unblock a client blocked in a blocking command from a different connection"),
    subcmd!("help", 2, f::LOADING | f::STALE, C, "Show helpful text about the different subcommands"),
];

pub static COMMANDS: &[ServerCommand] = &[scmd!(
    "client",
    -2,
    f::NOSCRIPT,
    acl::SLOW,
    "connection",
    client,
    "A container for client connection commands",
    "2.4.0",
    SUBS
)];

const HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "    * ID <client-id>",
    "      Kill connections by client id.",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "NO-TOUCH (ON|OFF)",
    "    Will not touch LRU/LFU stats when this mode is on.",
    "HELP",
    "    Print this help.",
];

/// Client names may not contain spaces, newlines or other special characters.
pub fn validate_name(name: &[u8]) -> CmdResult {
    if name.iter().any(|&b| !(b'!'..=b'~').contains(&b)) {
        return Err(CmdError::new(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn on_off(arg: &[u8]) -> Result<bool, CmdError> {
    if eq_ci(arg, "on") {
        Ok(true)
    } else if eq_ci(arg, "off") {
        Ok(false)
    } else {
        Err(err::SYNTAX)
    }
}

fn client(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = subcommand(&COMMANDS[0].info, argv)?;
    let now = sys::now_ms();
    match sub.name {
        "id" => {
            let id = c.id as i64;
            reply(c).int(id);
        }
        "info" => {
            let line = c.info_line(now) + "\n";
            reply(c).verbatim(b"txt", line.as_bytes());
        }
        "list" => list(s, c, argv, now)?,
        "kill" => kill(s, c, argv)?,
        "setname" => {
            let name = argv.get(2);
            validate_name(name)?;
            c.name = if name.is_empty() {
                None
            } else {
                Some(name.to_vec())
            };
            reply(c).ok();
        }
        "getname" => match c.name.clone() {
            Some(n) => reply(c).bulk(&n),
            None => reply(c).null(),
        },
        "reply" => {
            let mode = argv.get(2);
            if eq_ci(mode, "on") {
                c.reply_mode = ReplyMode::On;
                reply(c).ok();
            } else if eq_ci(mode, "off") {
                c.reply_mode = ReplyMode::Off;
            } else if eq_ci(mode, "skip") {
                if c.reply_mode == ReplyMode::On {
                    c.reply_mode = ReplyMode::SkipNext;
                }
            } else {
                return Err(err::SYNTAX);
            }
        }
        "pause" => {
            let ms = arg_i64(argv.get(2))
                .map_err(|_| CmdError::new("ERR timeout is not an integer or out of range"))?;
            if ms < 0 {
                return Err(CmdError::new("ERR timeout is negative"));
            }
            let write_only = match argv.len() {
                3 => false,
                4 if eq_ci(argv.get(3), "write") => true,
                4 if eq_ci(argv.get(3), "all") => false,
                4 => return Err(CmdError::new("ERR CLIENT PAUSE mode must be WRITE or ALL")),
                _ => return Err(err::SYNTAX),
            };
            let until_ms = now.saturating_add(ms as u64);
            // A new pause never shortens an existing one, and ALL wins over WRITE.
            let (until_ms, write_only) = match &s.pause {
                Some(p) => (p.until_ms.max(until_ms), p.write_only && write_only),
                None => (until_ms, write_only),
            };
            s.pause = Some(Pause {
                until_ms,
                write_only,
            });
            reply(c).ok();
        }
        "unpause" => {
            s.pause = None;
            s.resume_paused();
            reply(c).ok();
        }
        "no-evict" => {
            c.no_evict = on_off(argv.get(2))?;
            reply(c).ok();
        }
        "no-touch" => {
            c.no_touch = on_off(argv.get(2))?;
            reply(c).ok();
        }
        "tracking" => tracking(s, c, argv)?,
        "unblock" => {
            let id = arg_i64(argv.get(2))?;
            let how = match argv.len() {
                3 => crate::blocking::Unblock::Timeout,
                4 if eq_ci(argv.get(3), "timeout") => crate::blocking::Unblock::Timeout,
                4 if eq_ci(argv.get(3), "error") => crate::blocking::Unblock::Error,
                4 => {
                    return Err(CmdError::new(
                        "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                    ))
                }
                _ => return Err(err::SYNTAX),
            };
            let done = id > 0 && s.unblock_by_id(id as u64, how);
            reply(c).int(done as i64);
        }
        "caching" => caching(c, argv.get(2))?,
        "getredir" => {
            let id = c.tracking.as_ref().map_or(-1, |t| t.redirect as i64);
            reply(c).int(id);
        }
        "trackinginfo" => trackinginfo(c),
        _ => reply_help(c, HELP),
    }
    Ok(())
}

/// A client class as CLIENT LIST/KILL TYPE names it.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    Replica,
    Master,
    PubSub,
}

fn parse_type(kind: &[u8]) -> Result<ClientType, CmdError> {
    Ok(if eq_ci(kind, "normal") {
        ClientType::Normal
    } else if eq_ci(kind, "replica") || eq_ci(kind, "slave") {
        ClientType::Replica
    } else if eq_ci(kind, "master") {
        ClientType::Master
    } else if eq_ci(kind, "pubsub") {
        ClientType::PubSub
    } else {
        return Err(CmdError::owned(format!(
            "ERR Unknown client type '{}'",
            String::from_utf8_lossy(kind)
        )));
    })
}

/// The class of a client.
fn type_of(c: &Client) -> ClientType {
    if c.master {
        ClientType::Master
    } else if c.replica {
        ClientType::Replica
    } else if c.is_pubsub() {
        ClientType::PubSub
    } else {
        ClientType::Normal
    }
}

/// CLIENT LIST [TYPE type] [ID id [id ...]].
fn list(s: &mut Server, c: &mut Client, argv: Argv<'_>, now: u64) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut kind: Option<ClientType> = None;
    if argv.len() == 4 && eq_ci(argv.get(2), "type") {
        kind = Some(parse_type(argv.get(3))?);
    } else if argv.len() > 3 && eq_ci(argv.get(2), "id") {
        let mut v = Vec::new();
        for a in argv.tail(3).iter() {
            let id = arg_i64(a)
                .ok()
                .filter(|&n| n > 0)
                .ok_or(CmdError::new("ERR Invalid client ID"))?;
            v.push(id as u64);
        }
        ids = Some(v);
    } else if argv.len() != 2 {
        return Err(err::SYNTAX);
    }
    let mut lines: Vec<(u64, String)> = Vec::new();
    {
        let wanted = |o: &Client| {
            ids.as_ref().is_none_or(|v| v.contains(&o.id)) && kind.is_none_or(|k| type_of(o) == k)
        };
        for other in s.other_clients() {
            if wanted(other) {
                lines.push((other.id, other.info_line(now)));
            }
        }
        if wanted(c) {
            lines.push((c.id, c.info_line(now)));
        }
    }
    lines.sort_by_key(|(id, _)| *id);
    let mut text = String::new();
    for (_, l) in lines {
        text.push_str(&l);
        text.push('\n');
    }
    reply(c).verbatim(b"txt", text.as_bytes());
    Ok(())
}

/// CLIENT KILL ip:port | CLIENT KILL [ID id] [ADDR addr] [LADDR addr] [TYPE type] [USER user] [SKIPME yes/no].
fn kill(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    if argv.len() == 3 {
        let addr = String::from_utf8_lossy(argv.get(2)).into_owned();
        let mut n = s.kill_clients(|o| o.addr == addr);
        if c.addr == addr {
            c.close_after_reply = true;
            n += 1;
        }
        if n == 0 {
            return Err(CmdError::new("ERR No such client"));
        }
        reply(c).ok();
        return Ok(());
    }
    if !argv.len().is_multiple_of(2) {
        return Err(err::SYNTAX);
    }
    let (mut id, mut addr, mut laddr, mut skipme, mut kind) = (None, None, None, true, None);
    for pair in (2..argv.len()).step_by(2) {
        let (k, v) = (argv.get(pair), argv.get(pair + 1));
        if eq_ci(k, "id") {
            let n = arg_i64(v)
                .ok()
                .filter(|&n| n > 0)
                .ok_or(CmdError::new("ERR client-id should be greater than 0"))?;
            id = Some(n as u64);
        } else if eq_ci(k, "addr") {
            addr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ci(k, "laddr") {
            laddr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ci(k, "type") {
            kind = Some(parse_type(v)?);
        } else if eq_ci(k, "user") {
            // Ember has only the default user so far.
            if v != b"default" {
                return Err(CmdError::owned(format!(
                    "ERR No such user '{}'",
                    String::from_utf8_lossy(v)
                )));
            }
        } else if eq_ci(k, "skipme") {
            skipme = if eq_ci(v, "yes") {
                true
            } else if eq_ci(v, "no") {
                false
            } else {
                return Err(err::SYNTAX);
            };
        } else {
            return Err(err::SYNTAX);
        }
    }
    let matches = |o: &Client| {
        kind.is_none_or(|k| type_of(o) == k)
            && id.is_none_or(|i| o.id == i)
            && addr.as_ref().is_none_or(|a| &o.addr == a)
            && laddr.as_ref().is_none_or(|a| &o.laddr == a)
    };
    let mut n = s.kill_clients(matches);
    if !skipme && matches(c) {
        c.close_after_reply = true;
        n += 1;
    }
    reply(c).int(n as i64);
    Ok(())
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [PREFIX prefix ...] [BCAST] [OPTIN] [OPTOUT] [NOLOOP].
fn tracking(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let on = on_off(argv.get(2))?;
    let mut t = Tracking::default();
    let mut i = 3;
    while i < argv.len() {
        let a = argv.get(i);
        let more = i + 1 < argv.len();
        if eq_ci(a, "redirect") && more {
            if t.redirect != 0 {
                return Err(CmdError::new(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            let id = arg_i64(argv.get(i + 1))?;
            if id != c.id as i64 && (id <= 0 || s.client_by_id(id as u64).is_none()) {
                return Err(CmdError::new(
                    "ERR The client ID you want redirect to does not exist",
                ));
            }
            t.redirect = id as u64;
            i += 1;
        } else if eq_ci(a, "bcast") {
            t.bcast = true;
        } else if eq_ci(a, "optin") {
            t.optin = true;
        } else if eq_ci(a, "optout") {
            t.optout = true;
        } else if eq_ci(a, "noloop") {
            t.noloop = true;
        } else if eq_ci(a, "prefix") && more {
            t.prefixes.push(argv.get(i + 1).to_vec());
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if !on {
        s.tracking_disable(c);
        reply(c).ok();
        return Ok(());
    }
    if !t.bcast && !t.prefixes.is_empty() {
        return Err(CmdError::new(
            "ERR PREFIX option requires BCAST mode to be enabled",
        ));
    }
    if let Some(old) = &c.tracking {
        if old.bcast != t.bcast {
            return Err(CmdError::new("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."));
        }
    }
    if t.bcast && (t.optin || t.optout) {
        return Err(CmdError::new(
            "ERR OPTIN and OPTOUT are not compatible with BCAST",
        ));
    }
    if t.optin && t.optout {
        return Err(CmdError::new("ERR You can't use both OPTIN and OPTOUT"));
    }
    if let Some(old) = &c.tracking {
        if (t.optin && old.optout) || (t.optout && old.optin) {
            return Err(CmdError::new("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."));
        }
    }
    if t.bcast {
        check_prefix_collisions(c, &t.prefixes)?;
    }
    s.tracking_enable(c, t);
    reply(c).ok();
    Ok(())
}

/// Prefixes of one BCAST client must not overlap, with its existing ones or with each other.
fn check_prefix_collisions(c: &Client, prefixes: &[Vec<u8>]) -> CmdResult {
    let overlap = |a: &[u8], b: &[u8]| a.starts_with(b) || b.starts_with(a);
    let show = |p: &[u8]| String::from_utf8_lossy(p).into_owned();
    for (i, p) in prefixes.iter().enumerate() {
        if let Some(old) = c
            .tracking
            .as_ref()
            .and_then(|t| t.prefixes.iter().find(|o| overlap(p, o)))
        {
            return Err(CmdError::owned(format!(
                "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                show(p),
                show(old)
            )));
        }
        if let Some(other) = prefixes[i + 1..].iter().find(|o| overlap(p, o)) {
            return Err(CmdError::owned(format!(
                "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                show(p),
                show(other)
            )));
        }
    }
    Ok(())
}

/// CLIENT CACHING YES|NO.
fn caching(c: &mut Client, opt: &[u8]) -> CmdResult {
    let Some(t) = c.tracking.as_mut() else {
        return Err(CmdError::new("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"));
    };
    if eq_ci(opt, "yes") {
        if !t.optin {
            return Err(CmdError::new(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
        t.caching = Some(true);
    } else if eq_ci(opt, "no") {
        if !t.optout {
            return Err(CmdError::new(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
        t.caching = Some(false);
    } else {
        return Err(err::SYNTAX);
    }
    reply(c).ok();
    Ok(())
}

/// CLIENT TRACKINGINFO.
fn trackinginfo(c: &mut Client) {
    let t = c.tracking.as_ref();
    let mut flags: Vec<&str> = vec![if t.is_some() { "on" } else { "off" }];
    if let Some(t) = t {
        if t.bcast {
            flags.push("bcast");
        }
        if t.optin {
            flags.push("optin");
            if t.caching == Some(true) {
                flags.push("caching-yes");
            }
        }
        if t.optout {
            flags.push("optout");
            if t.caching == Some(false) {
                flags.push("caching-no");
            }
        }
        if t.noloop {
            flags.push("noloop");
        }
        if t.broken_redirect {
            flags.push("broken_redirect");
        }
    }
    // Write through the output buffer field alone so `t` can keep borrowing the settings.
    let mut w = ReplyWriter::new(&mut c.out, c.proto);
    w.map(3);
    w.bulk(b"flags");
    w.set(flags.len());
    for f in flags {
        w.bulk(f.as_bytes());
    }
    w.bulk(b"redirect");
    w.int(t.map_or(-1, |t| t.redirect as i64));
    w.bulk(b"prefixes");
    let prefixes = t.map_or(&[][..], |t| &t.prefixes);
    w.array(prefixes.len());
    for p in prefixes {
        w.bulk(p);
    }
}
