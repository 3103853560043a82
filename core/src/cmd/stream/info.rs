//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS and XINFO HELP, with Redis 7.0's
//! fields in Redis 7.0's order.

use super::group::no_group_for_key;
use super::{stream_with_out, StreamId, XINFO_SUBS};
use crate::cmd::keys::{reply_help, subcommand_arity, unknown_subcommand};
use crate::cmd::{arg_i64, eq_ci, err, CmdError, CmdResult, ExecCtx};
use crate::resp::{Argv, ReplyWriter};
use crate::types::stream::group::Group;
use crate::types::stream::Stream;

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

/// Entries (and pending entries per group and consumer) XINFO STREAM FULL lists by default.
const FULL_COUNT_DEFAULT: usize = 10;

/// XINFO CONSUMERS|GROUPS|STREAM|HELP ... O(1) for GROUPS and CONSUMERS per item; STREAM FULL is
/// O(N) in the entries and pending entries listed.
pub fn xinfo(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let sub = argv.get(1);
    let Some(info) = XINFO_SUBS.iter().find(|s| eq_ci(sub, s.name)) else {
        return Err(unknown_subcommand("xinfo", sub));
    };
    if !info.arity_ok(argv.len()) {
        return Err(subcommand_arity("xinfo", info.name));
    }
    if info.name == "help" {
        reply_help(ctx, XINFO_HELP);
        return Ok(());
    }
    let key = argv.get(2);
    let now_ms = ctx.now_ms;
    let (s, out) = stream_with_out(ctx, key, true)?;
    let s: &Stream = s.ok_or(err::NO_SUCH_KEY)?;
    match info.name {
        "consumers" => {
            let group = argv.get(3);
            let g = s
                .groups
                .get(group)
                .ok_or_else(|| no_group_for_key(key, group))?;
            out.array(g.consumers.len());
            for (name, c) in &g.consumers {
                out.map(3);
                out.bulk(b"name");
                out.bulk(name);
                out.bulk(b"pending");
                out.int(c.pel.len() as i64);
                out.bulk(b"idle");
                out.int(now_ms.saturating_sub(c.seen_ms) as i64);
            }
        }
        "groups" => {
            out.array(s.groups.len());
            for (name, g) in &s.groups {
                out.map(6);
                out.bulk(b"name");
                out.bulk(name);
                out.bulk(b"consumers");
                out.int(g.consumers.len() as i64);
                out.bulk(b"pending");
                out.int(g.pel.len() as i64);
                out.bulk(b"last-delivered-id");
                g.last_id.write(out);
                write_counters(s, g, out);
            }
        }
        _ => {
            let syntax = || {
                CmdError::owned(alloc::format!(
                    "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
                    sub.escape_ascii()
                ))
            };
            match argv.len() {
                3 => write_stream(s, out),
                4 | 6 if eq_ci(argv.get(3), "full") => {
                    let count = match argv.len() {
                        6 if eq_ci(argv.get(4), "count") => match arg_i64(argv.get(5))? {
                            n if n < 0 => FULL_COUNT_DEFAULT,
                            n => usize::try_from(n).unwrap_or(usize::MAX),
                        },
                        6 => return Err(syntax()),
                        _ => FULL_COUNT_DEFAULT,
                    };
                    write_full(s, count, out);
                }
                _ => return Err(syntax()),
            }
        }
    }
    Ok(())
}

/// A group's `entries-read` and `lag` fields, null when unknown.
fn write_counters(s: &Stream, g: &Group, out: &mut ReplyWriter<'_>) {
    out.bulk(b"entries-read");
    match g.entries_read {
        Some(n) => out.int(n as i64),
        None => out.null(),
    }
    out.bulk(b"lag");
    match s.lag(g) {
        Some(n) => out.int(n),
        None => out.null(),
    }
}

/// The fields XINFO STREAM and XINFO STREAM FULL share.
fn write_header(s: &Stream, out: &mut ReplyWriter<'_>) {
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.node_count() as i64);
    out.bulk(b"last-generated-id");
    s.last_id.write(out);
    out.bulk(b"max-deleted-entry-id");
    s.max_deleted.write(out);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    s.first_id.write(out);
}

fn write_stream(s: &Stream, out: &mut ReplyWriter<'_>) {
    out.map(10);
    write_header(s, out);
    out.bulk(b"groups");
    out.int(s.groups.len() as i64);
    for (name, rev) in [(&b"first-entry"[..], false), (b"last-entry", true)] {
        out.bulk(name);
        let found = s.collect(StreamId::MIN, StreamId::MAX, rev, 1);
        match found.first() {
            Some(at) => s.write_entry(at, out),
            None => out.null(),
        }
    }
}

fn write_full(s: &Stream, count: usize, out: &mut ReplyWriter<'_>) {
    out.map(9);
    write_header(s, out);
    out.bulk(b"entries");
    s.write_range(StreamId::MIN, StreamId::MAX, false, count, out);
    out.bulk(b"groups");
    out.array(s.groups.len());
    let take = |n: usize| if count == 0 { n } else { n.min(count) };
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        g.last_id.write(out);
        write_counters(s, g, out);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        out.array(take(g.pel.len()));
        for (id, p) in g.pel.iter().take(take(g.pel.len())) {
            out.array(4);
            id.write(out);
            out.bulk(&p.owner);
            out.int(p.delivery_ms as i64);
            out.int(p.deliveries as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_ms as i64);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            out.array(take(c.pel.len()));
            for id in c.pel.iter().take(take(c.pel.len())) {
                let p = g.pel.get(id);
                out.array(3);
                id.write(out);
                out.int(p.map_or(0, |p| p.delivery_ms) as i64);
                out.int(p.map_or(0, |p| p.deliveries) as i64);
            }
        }
    }
}
