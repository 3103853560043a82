//! Pub/sub commands: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB.

use ember_core::cmd::{acl, flags as f, CmdResult, CommandInfo};
use ember_core::resp::Argv;

use super::{reply, reply_help, scmd, subcmd, subcommand, ServerCommand};
use crate::client::Client;
use crate::pubsub::Space;
use crate::server::Server;

const PS: u32 = acl::PUBSUB | acl::SLOW;
const SUB_FLAGS: u32 = f::PUBSUB | f::NOSCRIPT | f::LOADING | f::STALE;

static PUBSUB_SUBS: &[CommandInfo] = &[
    subcmd!(
        "channels",
        -2,
        f::PUBSUB | f::LOADING | f::STALE,
        PS,
        "List active channels"
    ),
    subcmd!(
        "numsub",
        -2,
        f::PUBSUB | f::LOADING | f::STALE,
        PS,
        "Get the count of subscribers for channels"
    ),
    subcmd!(
        "numpat",
        2,
        f::PUBSUB | f::LOADING | f::STALE,
        PS,
        "Get the count of unique patterns pattern subscriptions"
    ),
    subcmd!(
        "shardchannels",
        -2,
        f::PUBSUB | f::LOADING | f::STALE,
        PS,
        "List active shard channels"
    ),
    subcmd!(
        "shardnumsub",
        -2,
        f::PUBSUB | f::LOADING | f::STALE,
        PS,
        "Get the count of subscribers for shard channels"
    ),
    subcmd!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::SLOW,
        "Show helpful text about the different subcommands"
    ),
];

pub static COMMANDS: &[ServerCommand] = &[
    scmd!(
        "subscribe",
        -2,
        SUB_FLAGS,
        PS,
        "pubsub",
        subscribe,
        "Listen for messages published to the given channels",
        "2.0.0"
    ),
    scmd!(
        "unsubscribe",
        -1,
        SUB_FLAGS,
        PS,
        "pubsub",
        unsubscribe,
        "Stop listening for messages posted to the given channels",
        "2.0.0"
    ),
    scmd!(
        "psubscribe",
        -2,
        SUB_FLAGS,
        PS,
        "pubsub",
        psubscribe,
        "Listen for messages published to channels matching the given patterns",
        "2.0.0"
    ),
    scmd!(
        "punsubscribe",
        -1,
        SUB_FLAGS,
        PS,
        "pubsub",
        punsubscribe,
        "Stop listening for messages posted to channels matching the given patterns",
        "2.0.0"
    ),
    scmd!(
        "ssubscribe",
        -2,
        SUB_FLAGS,
        PS,
        "pubsub",
        ssubscribe,
        "Listen for messages published to the given shard channels",
        "7.0.0"
    ),
    scmd!(
        "sunsubscribe",
        -1,
        SUB_FLAGS,
        PS,
        "pubsub",
        sunsubscribe,
        "Stop listening for messages posted to the given shard channels",
        "7.0.0"
    ),
    scmd!(
        "publish",
        3,
        f::PUBSUB | f::LOADING | f::STALE | f::FAST | f::MAY_REPLICATE,
        acl::PUBSUB | acl::FAST,
        "pubsub",
        publish,
        "Post a message to a channel",
        "2.0.0"
    ),
    scmd!(
        "spublish",
        3,
        f::PUBSUB | f::LOADING | f::STALE | f::FAST | f::MAY_REPLICATE,
        acl::PUBSUB | acl::FAST,
        "pubsub",
        spublish,
        "Post a message to a shard channel",
        "7.0.0"
    ),
    scmd!(
        "pubsub",
        -2,
        0,
        acl::SLOW,
        "pubsub",
        pubsub,
        "A container for Pub/Sub commands",
        "2.8.0",
        PUBSUB_SUBS
    ),
];

/// Commands a RESP2 client may run while subscribed.
pub fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// One (un)subscribe confirmation: [kind, name or null, count].
fn confirm(c: &mut Client, kind: &[u8], name: Option<&[u8]>, count: usize) {
    c.write_push(|w| {
        w.push(3);
        w.bulk(kind);
        match name {
            Some(n) => w.bulk(n),
            None => w.null(),
        }
        w.int(count as i64);
    });
}

fn set_of(c: &mut Client, space: Space) -> &mut std::collections::HashSet<Vec<u8>> {
    match space {
        Space::Channel => &mut c.subs,
        Space::Pattern => &mut c.psubs,
        Space::Shard => &mut c.ssubs,
    }
}

fn count_of(c: &Client, space: Space) -> usize {
    if space == Space::Shard {
        c.ssubs.len()
    } else {
        c.sub_count()
    }
}

fn subscribe_generic(
    s: &mut Server,
    c: &mut Client,
    argv: Argv<'_>,
    space: Space,
    kind: &[u8],
) -> CmdResult {
    for name in argv.tail(1).iter() {
        if set_of(c, space).insert(name.to_vec()) {
            s.pubsub.add(space, name, c.fd);
        }
        let n = count_of(c, space);
        confirm(c, kind, Some(name), n);
    }
    Ok(())
}

fn unsubscribe_generic(
    s: &mut Server,
    c: &mut Client,
    argv: Argv<'_>,
    space: Space,
    kind: &[u8],
) -> CmdResult {
    let names: Vec<Vec<u8>> = if argv.len() > 1 {
        argv.tail(1).iter().map(|n| n.to_vec()).collect()
    } else {
        set_of(c, space).iter().cloned().collect()
    };
    if names.is_empty() {
        let n = count_of(c, space);
        confirm(c, kind, None, n);
        return Ok(());
    }
    for name in names {
        if set_of(c, space).remove(&name) {
            s.pubsub.remove(space, &name, c.fd);
        }
        let n = count_of(c, space);
        confirm(c, kind, Some(&name), n);
    }
    Ok(())
}

/// SUBSCRIBE channel [channel ...]. O(N).
fn subscribe(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    subscribe_generic(s, c, argv, Space::Channel, b"subscribe")
}

/// UNSUBSCRIBE [channel ...]. O(N).
fn unsubscribe(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    unsubscribe_generic(s, c, argv, Space::Channel, b"unsubscribe")
}

/// PSUBSCRIBE pattern [pattern ...]. O(N).
fn psubscribe(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    subscribe_generic(s, c, argv, Space::Pattern, b"psubscribe")
}

/// PUNSUBSCRIBE [pattern ...]. O(N).
fn punsubscribe(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    unsubscribe_generic(s, c, argv, Space::Pattern, b"punsubscribe")
}

/// SSUBSCRIBE shardchannel [shardchannel ...]. O(N).
fn ssubscribe(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    subscribe_generic(s, c, argv, Space::Shard, b"ssubscribe")
}

/// SUNSUBSCRIBE [shardchannel ...]. O(N).
fn sunsubscribe(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    unsubscribe_generic(s, c, argv, Space::Shard, b"sunsubscribe")
}

/// PUBLISH channel message. O(N+M): subscribers plus patterns.
fn publish(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let n = s.publish(Some(c), Space::Channel, argv.get(1), argv.get(2));
    reply(c).int(n as i64);
    // Replicas deliver it to their own subscribers.
    s.propagate_as_sent(c.db, argv);
    Ok(())
}

/// SPUBLISH shardchannel message. O(N).
fn spublish(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let n = s.publish(Some(c), Space::Shard, argv.get(1), argv.get(2));
    reply(c).int(n as i64);
    Ok(())
}

const HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// PUBSUB CHANNELS|NUMSUB|NUMPAT|SHARDCHANNELS|SHARDNUMSUB|HELP.
fn pubsub(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = subcommand(&COMMANDS[8].info, argv)?;
    match sub.name {
        "channels" | "shardchannels" => {
            if argv.len() > 3 {
                return Err(ember_core::cmd::keys::subcommand_arity("pubsub", sub.name));
            }
            let space = if sub.name == "channels" {
                Space::Channel
            } else {
                Space::Shard
            };
            let pattern = (argv.len() == 3).then(|| argv.get(2));
            let names = s.pubsub.active(space, pattern);
            let mut w = reply(c);
            w.array(names.len());
            for n in names {
                w.bulk(&n);
            }
        }
        "numsub" | "shardnumsub" => {
            let space = if sub.name == "numsub" {
                Space::Channel
            } else {
                Space::Shard
            };
            let channels = argv.tail(2);
            // A flat array of channel, count pairs (not a map, even in RESP3), as Redis sends it.
            let mut w = reply(c);
            w.array(channels.len() * 2);
            for ch in channels.iter() {
                w.bulk(ch);
                w.int(s.pubsub.subscribers(space, ch) as i64);
            }
        }
        "numpat" => {
            let n = s.pubsub.pattern_count();
            reply(c).int(n as i64);
        }
        _ => reply_help(c, HELP),
    }
    Ok(())
}
