//! Streams in RDB (`STREAM_LISTPACKS_2`, and the older `STREAM_LISTPACKS` on load): one listpack
//! per node keyed by its master ID (16 bytes, big-endian), laid out as Redis lays it out, then the
//! stream's counters and its consumer groups with their pending entries and consumers.
//!
//! A node's listpack: live count, deleted count, master field count, the master fields, 0; then
//! per entry its flags, ms and seq deltas from the master ID (wrapping), the field count and pairs
//! (or only the values, with `SAME_FIELDS`), and the entry's element count. Ember writes only live
//! entries, with the node's first live entry as master.

use alloc::borrow::Cow;
use alloc::boxed::Box;
use alloc::vec::Vec;

use super::load::Decoder;
use super::packed::{listpack, Elem, ListpackWriter};
use super::save::Encoder;
use super::{kind, RdbError, Sink};
use crate::types::stream::group::{Consumer, Group, Pending};
use crate::types::stream::node::{Item, DELETED, SAME_FIELDS};
use crate::types::stream::{NodeLimits, Stream, StreamId};

fn id_key(id: StreamId) -> [u8; 16] {
    let mut k = [0u8; 16];
    k[..8].copy_from_slice(&id.ms.to_be_bytes());
    k[8..].copy_from_slice(&id.seq.to_be_bytes());
    k
}

fn push_item(w: &mut ListpackWriter, item: Item<'_>) {
    match item {
        Item::Bytes(b) => w.push(b),
        Item::Int(n) => w.push_int(n),
    }
}

/// Writes `s` (after its type byte).
pub(super) fn save<S: Sink>(e: &mut Encoder<S>, s: &Stream) {
    let nodes: Vec<_> = s.nodes().filter(|n| n.live > 0).collect();
    e.len(nodes.len() as u64);
    for node in nodes {
        let live: Vec<_> = node.raw_iter().filter(|r| r.flags & DELETED == 0).collect();
        let Some(master) = live.first() else { continue };
        let master_fields: Vec<Item<'_>> = node.pairs(master).map(|(f, _)| f).collect();
        let mut w = ListpackWriter::new();
        w.push_int(live.len() as i64);
        w.push_int(0);
        w.push_int(master_fields.len() as i64);
        for f in &master_fields {
            push_item(&mut w, *f);
        }
        w.push_int(0);
        for raw in &live {
            let same = node.field_count(raw) == master_fields.len()
                && node
                    .pairs(raw)
                    .zip(&master_fields)
                    .all(|((f, _), m)| f == *m);
            let n = node.field_count(raw) as i64;
            w.push_int(if same { i64::from(SAME_FIELDS) } else { 0 });
            w.push_int(raw.id.ms.wrapping_sub(master.id.ms) as i64);
            w.push_int(raw.id.seq.wrapping_sub(master.id.seq) as i64);
            if !same {
                w.push_int(n);
            }
            for (f, v) in node.pairs(raw) {
                if !same {
                    push_item(&mut w, f);
                }
                push_item(&mut w, v);
            }
            w.push_int(if same { n + 3 } else { 2 * n + 4 });
        }
        e.string(&id_key(master.id));
        e.string(&w.finish());
    }
    e.len(s.len());
    e.len(s.last_id.ms);
    e.len(s.last_id.seq);
    e.len(s.first_id.ms);
    e.len(s.first_id.seq);
    e.len(s.max_deleted.ms);
    e.len(s.max_deleted.seq);
    e.len(s.entries_added);
    e.len(s.groups.len() as u64);
    for (name, g) in &s.groups {
        e.string(name);
        e.len(g.last_id.ms);
        e.len(g.last_id.seq);
        e.len(g.entries_read.unwrap_or(u64::MAX));
        e.len(g.pel.len() as u64);
        for (id, p) in &g.pel {
            e.raw(&id_key(*id));
            e.raw(&p.delivery_ms.to_le_bytes());
            e.len(p.deliveries);
        }
        e.len(g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            e.string(cname);
            e.raw(&c.seen_ms.to_le_bytes());
            e.len(c.pel.len() as u64);
            for id in &c.pel {
                e.raw(&id_key(*id));
            }
        }
    }
}

fn id_from_key(k: &[u8]) -> Option<StreamId> {
    let ms = u64::from_be_bytes(k.get(..8)?.try_into().ok()?);
    let seq = u64::from_be_bytes(k.get(8..16)?.try_into().ok()?);
    Some(StreamId { ms, seq })
}

/// An element that must be an integer.
fn int(e: Option<&Elem<'_>>) -> Option<i64> {
    match e? {
        Elem::Int(n) => Some(*n),
        Elem::Bytes(_) => None,
    }
}

/// Appends the live entries of one node's listpack to `s`.
fn load_node(
    s: &mut Stream,
    master: StreamId,
    elems: &[Elem<'_>],
    limits: NodeLimits,
) -> Option<()> {
    let mut it = elems.iter();
    let live = int(it.next())?;
    let deleted = int(it.next())?;
    let nmaster = usize::try_from(int(it.next())?).ok()?;
    if live < 0 || deleted < 0 || nmaster > elems.len() {
        return None;
    }
    let master_fields: Vec<Vec<u8>> = (0..nmaster)
        .map(|_| it.next().map(|e| e.to_vec()))
        .collect::<Option<_>>()?;
    if int(it.next())? != 0 {
        return None;
    }
    let mut seen = 0i64;
    let mut fields: Vec<Vec<u8>> = Vec::new();
    while let Some(flags) = it.next() {
        let flags = int(Some(flags))?;
        let ms = master.ms.wrapping_add(int(it.next())? as u64);
        let seq = master.seq.wrapping_add(int(it.next())? as u64);
        let id = StreamId { ms, seq };
        let same = flags & i64::from(SAME_FIELDS) != 0;
        fields.clear();
        let n = if same {
            for f in &master_fields {
                fields.push(f.clone());
                fields.push(it.next()?.to_vec());
            }
            nmaster
        } else {
            let n = usize::try_from(int(it.next())?)
                .ok()
                .filter(|&n| n <= elems.len())?;
            for _ in 0..n * 2 {
                fields.push(it.next()?.to_vec());
            }
            n
        };
        let count = int(it.next())?;
        let want = if same { n as i64 + 3 } else { 2 * n as i64 + 4 };
        if count != want || n == 0 {
            return None;
        }
        if flags & i64::from(DELETED) != 0 {
            continue;
        }
        if id <= s.last_id && !(s.entries_added == 0 && id > StreamId::MIN) {
            return None;
        }
        let refs: Vec<&[u8]> = fields.iter().map(Vec::as_slice).collect();
        s.append(id, &refs, limits);
        seen += 1;
    }
    (seen == live).then_some(())
}

/// Reads a stream of type `ty` (after its type byte).
pub(super) fn load(d: &mut Decoder<'_>, ty: u8, limits: NodeLimits) -> Result<Stream, RdbError> {
    let mut s = Stream::new();
    let nodes = d.len()?;
    for _ in 0..nodes {
        let key = d.string()?;
        let master = id_from_key(&key)
            .filter(|_| key.len() == 16)
            .ok_or_else(|| d.err("stream node key is not an ID"))?;
        let blob = d.string()?;
        let elems = listpack(&blob).ok_or_else(|| d.err("stream listpack is corrupt"))?;
        if elems.is_empty() {
            return Err(d.err("empty stream listpack"));
        }
        load_node(&mut s, master, &elems, limits)
            .ok_or_else(|| d.err("stream listpack entries are corrupt"))?;
    }
    let length = d.len()?;
    if length != s.len() {
        return Err(d.err("stream length does not match its entries"));
    }
    let last_id = StreamId::new(d.len()?, d.len()?);
    let first_entry = s.first_entry_id();
    if s.last_entry_id().is_some_and(|top| top > last_id) {
        return Err(d.err("stream last ID is below its entries"));
    }
    s.last_id = last_id;
    if ty == kind::STREAM_LISTPACKS_2 {
        s.first_id = StreamId::new(d.len()?, d.len()?);
        s.max_deleted = StreamId::new(d.len()?, d.len()?);
        s.entries_added = d.len()?;
        if s.entries_added < length {
            return Err(d.err("stream entries-added is below its length"));
        }
    } else {
        s.first_id = first_entry.unwrap_or_default();
        s.max_deleted = StreamId::MIN;
        s.entries_added = length;
    }
    let groups = d.len()?;
    for _ in 0..groups {
        let name = d.string()?;
        let last = StreamId::new(d.len()?, d.len()?);
        let entries_read = match ty {
            kind::STREAM_LISTPACKS_2 => match d.len()? {
                u64::MAX => None,
                n => Some(n),
            },
            _ => s.estimate_read_counter(last),
        };
        let mut g = Group::new(last, entries_read);
        let pending = d.len()?;
        for _ in 0..pending {
            let id = id_from_key(d.take(16)?).ok_or_else(|| d.err("bad PEL ID"))?;
            let delivery_ms = d.millis()?;
            let deliveries = d.len()?;
            let p = Pending {
                owner: Box::default(),
                delivery_ms,
                deliveries,
            };
            if g.pel.insert(id, p).is_some() {
                return Err(d.err("duplicate stream PEL entry"));
            }
        }
        let mut assigned = alloc::collections::BTreeSet::new();
        let consumers = d.len()?;
        for _ in 0..consumers {
            let cname: Box<[u8]> = Cow::into_owned(d.string()?).into_boxed_slice();
            let seen_ms = d.millis()?;
            let mut c = Consumer {
                seen_ms,
                pel: Default::default(),
            };
            let owned = d.len()?;
            for _ in 0..owned {
                let id = id_from_key(d.take(16)?).ok_or_else(|| d.err("bad PEL ID"))?;
                let p = g
                    .pel
                    .get_mut(&id)
                    .ok_or_else(|| d.err("consumer PEL entry not in the group PEL"))?;
                if !assigned.insert(id) || !c.pel.insert(id) {
                    return Err(d.err("stream PEL entry owned twice"));
                }
                p.owner = cname.clone();
            }
            if g.consumers.insert(cname, c).is_some() {
                return Err(d.err("duplicate stream consumer"));
            }
        }
        if assigned.len() != g.pel.len() {
            return Err(d.err("stream PEL entry without a consumer"));
        }
        if s.groups
            .insert(Cow::into_owned(name).into_boxed_slice(), g)
            .is_some()
        {
            return Err(d.err("duplicate stream consumer group"));
        }
    }
    Ok(s)
}
