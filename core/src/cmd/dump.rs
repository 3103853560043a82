//! DUMP and RESTORE: a key's value as Redis's serialized payload (an RDB value, the RDB version
//! and a CRC-64), so values move between Ember and redis-server in either direction.

use alloc::vec::Vec;

use super::{acl, arg_i64, eq_ci, err, flags as f, CmdError, CmdResult, Command, ExecCtx, KEY1};
use crate::journal::class;
use crate::rdb::{load, save};
use crate::resp::Argv;
use crate::table::{ACCESS_MASK, NO_EXPIRE};

const GROUP: &str = "generic";
const KS: u32 = acl::KEYSPACE;

pub static COMMANDS: &[Command] = &[
    cmd!("dump", 2, f::READONLY, KEY1, KS | acl::READ | acl::SLOW, dump, "Return a serialized version of the value stored at the specified key.", "2.6.0", "O(1) to access the key and additional O(N*M) to serialize it, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1)."),
    cmd!("restore", -4, f::WRITE | f::DENYOOM, KEY1, KS | acl::WRITE | acl::SLOW | acl::DANGEROUS, restore, "Create a key using the provided serialized value, previously obtained using DUMP.", "2.6.0", "O(1) to create the new key and additional O(N*M) to reconstruct the serialized value, where N is the number of Redis objects composing the value and M their average size. For small string values the time complexity is thus O(1)+O(1*M) where M is small, so simply O(1). However for sorted set values the complexity is O(N*M*log(N)) because inserting values into sorted sets is O(log(N))."),
];

/// DUMP key. O(N) in the value's size.
fn dump(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let payload: Option<Vec<u8>> = ctx.lookup_read(argv.get(1)).map(|v| save::dump(v, true));
    match payload {
        Some(p) => ctx.out.bulk(&p),
        None => ctx.out.null(),
    }
    Ok(())
}

/// RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds] [FREQ frequency].
/// O(N) in the value's size.
fn restore(ctx: &mut ExecCtx<'_>, argv: Argv<'_>) -> CmdResult {
    let key = argv.get(1);
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut i = 4;
    while i < argv.len() {
        let opt = argv.get(i);
        let more = i + 1 < argv.len();
        if eq_ci(opt, "replace") {
            replace = true;
        } else if eq_ci(opt, "absttl") {
            absttl = true;
        } else if eq_ci(opt, "idletime") && more && freq.is_none() {
            let n = arg_i64(argv.get(i + 1))?;
            if n < 0 {
                return Err(CmdError::new("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(n);
            i += 1;
        } else if eq_ci(opt, "freq") && more && idle.is_none() {
            let n = arg_i64(argv.get(i + 1))?;
            if !(0..=255).contains(&n) {
                return Err(CmdError::new(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(n);
            i += 1;
        } else {
            return Err(err::SYNTAX);
        }
        i += 1;
    }
    if !replace && ctx.lookup_write(key).is_some() {
        return Err(CmdError::new("BUSYKEY Target key name already exists."));
    }
    let ttl = arg_i64(argv.get(2))?;
    if ttl < 0 {
        return Err(CmdError::new("ERR Invalid TTL value, must be >= 0"));
    }
    let body = load::verify_payload(argv.get(3)).ok_or(CmdError::new(
        "ERR DUMP payload version or checksum are wrong",
    ))?;
    let seed = ctx.ks.random();
    let mut builder = load::Builder {
        config: ctx.config,
        seed,
    };
    let value = match load::restore_value(body, &mut builder) {
        Ok(Some(v)) => v,
        _ => return Err(CmdError::new("ERR Bad data format")),
    };
    let now_ms = ctx.now_ms;
    let deleted = replace && ctx.ks.db_mut(ctx.db).remove(key).is_some();
    let expire_at = match (ttl, absttl) {
        (0, _) => None,
        (t, true) => Some(t as u64),
        (t, false) => Some(now_ms.saturating_add(t as u64)),
    };
    if expire_at.is_some_and(|at| ctx.already_expired(at)) {
        if deleted {
            ctx.wrote(class::GENERIC, "del", key);
            ctx.touched(1);
            ctx.propagate_as(&[b"DEL", key]);
        }
        ctx.out.ok();
        return Ok(());
    }
    let (db, _) = ctx.db();
    let lfu = db.lfu();
    let access = match (lfu, idle, freq) {
        (Some(_), _, Some(n)) => crate::lfu::with_counter(now_ms, n as u8),
        (None, Some(s), _) => {
            ((now_ms / 1000) as u32).wrapping_sub(s.min(i64::from(ACCESS_MASK)) as u32)
                & ACCESS_MASK
        }
        _ => crate::lfu::initial(now_ms, lfu),
    };
    db.insert_entry(key, value, expire_at.unwrap_or(NO_EXPIRE), access);
    ctx.out.ok();
    ctx.notify(class::NEW, "new", key);
    ctx.wrote(class::GENERIC, "restore", key);
    ctx.touched(1);
    if let (Some(at), false) = (expire_at, absttl) {
        // A relative TTL replayed later would end later: log the absolute time.
        let at = alloc::format!("{at}");
        let mut args: Vec<&[u8]> = argv.iter().collect();
        args[2] = at.as_bytes();
        args.push(b"ABSTTL");
        ctx.propagate_as(&args);
    }
    Ok(())
}
