//! The stream and bitmap commands of the model. A stream is a `BTreeMap` from ID to its flat
//! field-value list plus the last ID ever added; it is not dropped when it empties. IDs are
//! explicit (`ms-seq`, `ms-*`), never `*`, so the model needs no clock. Trimming is exact (`=`):
//! how much `~` trims depends on Ember's node layout, which the twin test against redis-server
//! checks instead. Bitmaps are strings: SETBIT, GETBIT, BITCOUNT and BITPOS as Redis 7.0 answers.

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::vec::Vec;

use super::*;

/// A stream ID.
pub(super) type Id = (u64, u64);

#[derive(Clone, Debug, Default, PartialEq)]
pub(super) struct Stream {
    entries: BTreeMap<Id, Vec<Vec<u8>>>,
    last: Id,
}

const ID_TOO_SMALL: &str =
    "ERR The ID specified in XADD is equal or smaller than the target stream top item";
const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

fn id_text(id: Id) -> Vec<u8> {
    format!("{}-{}", id.0, id.1).into_bytes()
}

/// `ms-seq` or `ms` (seq `missing`).
fn parse_id(arg: &[u8], missing: u64) -> Result<Id, &'static str> {
    let num = |s: &[u8]| -> Option<u64> { core::str::from_utf8(s).ok()?.parse().ok() };
    let text = arg;
    let id = match text.iter().position(|&c| c == b'-') {
        Some(d) => num(&text[..d]).zip(num(&text[d + 1..])),
        None => num(text).map(|ms| (ms, missing)),
    };
    id.ok_or(INVALID_ID)
}

/// A range bound: `-`, `+`, an ID, or `(ID` (exclusive).
fn parse_bound(arg: &[u8], end: bool) -> Result<Id, &'static str> {
    match arg {
        b"-" => return Ok((0, 0)),
        b"+" => return Ok((u64::MAX, u64::MAX)),
        _ => {}
    }
    let missing = if end { u64::MAX } else { 0 };
    let Some(rest) = arg.strip_prefix(b"(") else {
        return parse_id(arg, missing);
    };
    let (ms, seq) = parse_id(rest, missing)?;
    let moved = match end {
        true if seq > 0 => Some((ms, seq - 1)),
        true => ms.checked_sub(1).map(|ms| (ms, u64::MAX)),
        false if seq < u64::MAX => Some((ms, seq + 1)),
        false => ms.checked_add(1).map(|ms| (ms, 0)),
    };
    moved.ok_or(if end {
        "ERR invalid end ID for the interval"
    } else {
        "ERR invalid start ID for the interval"
    })
}

fn entry(id: Id, fields: &[Vec<u8>]) -> Vec<u8> {
    array(alloc::vec![
        bulk(&id_text(id)),
        bulks(fields.iter().map(Vec::as_slice))
    ])
}

impl Model {
    pub(super) fn streams(&mut self, name: &[u8], a: &[Vec<u8>]) -> Option<Answer> {
        Some(match name {
            b"XADD" => self.xadd(a),
            b"XLEN" => self
                .stream_ref(&a[0])
                .map(|s| int(s.map_or(0, |s| s.entries.len()))),
            b"XRANGE" => self.xrange(a, false),
            b"XREVRANGE" => self.xrange(a, true),
            b"XDEL" => self.xdel(a),
            b"XTRIM" => self.xtrim(a),
            b"SETBIT" => self.setbit(a),
            b"GETBIT" => self.getbit(a),
            b"BITCOUNT" => self.bitcount(a),
            b"BITPOS" => self.bitpos(a),
            _ => return None,
        })
    }

    /// XADD key [MAXLEN = n] ms-seq|ms-* field value [field value ...]
    fn xadd(&mut self, a: &[Vec<u8>]) -> Answer {
        let (maxlen, at) = match a[1].as_slice() {
            b"MAXLEN" => (Some(arg_i64(&a[3])? as usize), 4),
            _ => (None, 1),
        };
        let arg = &a[at];
        let auto_seq = arg.ends_with(b"-*");
        let id = match auto_seq {
            true => (parse_id(&arg[..arg.len() - 2], 0)?.0, 0),
            false => parse_id(arg, 0)?,
        };
        if !auto_seq && id == (0, 0) {
            return Err("ERR The ID specified in XADD must be greater than 0-0");
        }
        let last = self.stream_ref(&a[0])?.map_or((0, 0), |s| s.last);
        let id = match auto_seq {
            true if id.0 == last.0 => (id.0, last.1.checked_add(1).ok_or(ID_TOO_SMALL)?),
            _ => id,
        };
        if id <= last {
            return Err(ID_TOO_SMALL);
        }
        let s = self.stream_make(&a[0])?;
        s.entries.insert(id, a[at + 1..].to_vec());
        s.last = id;
        if let Some(max) = maxlen {
            while s.entries.len() > max {
                s.entries.pop_first();
            }
        }
        Ok(bulk(&id_text(id)))
    }

    /// XRANGE key start end [COUNT n], XREVRANGE key end start [COUNT n]
    fn xrange(&mut self, a: &[Vec<u8>], rev: bool) -> Answer {
        let (lo, hi) = if rev { (&a[2], &a[1]) } else { (&a[1], &a[2]) };
        let start = parse_bound(lo, false)?;
        let end = parse_bound(hi, true)?;
        let count = match a.get(3) {
            Some(_) => Some(arg_i64(&a[4])?.max(0) as usize),
            None => None,
        };
        let Some(s) = self.stream_ref(&a[0])? else {
            return Ok(EMPTY_ARRAY.to_vec());
        };
        if count == Some(0) {
            return Ok(NIL_ARRAY.to_vec());
        }
        let take = count.unwrap_or(usize::MAX);
        let items: Vec<Vec<u8>> = match (start <= end, rev) {
            (false, _) => Vec::new(),
            (true, false) => s
                .entries
                .range(start..=end)
                .take(take)
                .map(|(id, f)| entry(*id, f))
                .collect(),
            (true, true) => s
                .entries
                .range(start..=end)
                .rev()
                .take(take)
                .map(|(id, f)| entry(*id, f))
                .collect(),
        };
        Ok(array(items))
    }

    /// XDEL key id [id ...]
    fn xdel(&mut self, a: &[Vec<u8>]) -> Answer {
        let Some(s) = self.stream_mut(&a[0])? else {
            return Ok(int(0));
        };
        let ids = a[1..]
            .iter()
            .map(|i| parse_id(i, 0))
            .collect::<Result<Vec<Id>, _>>()?;
        Ok(int(ids
            .into_iter()
            .filter(|id| s.entries.remove(id).is_some())
            .count()))
    }

    /// XTRIM key MAXLEN|MINID = threshold
    fn xtrim(&mut self, a: &[Vec<u8>]) -> Answer {
        let maxlen = a[1].as_slice() == b"MAXLEN";
        let (max, min) = match maxlen {
            true => (arg_i64(&a[3])? as usize, (0, 0)),
            false => (0, parse_id(&a[3], 0)?),
        };
        let Some(s) = self.stream_mut(&a[0])? else {
            return Ok(int(0));
        };
        let before = s.entries.len();
        match maxlen {
            true => {
                while s.entries.len() > max {
                    s.entries.pop_first();
                }
            }
            false => s.entries.retain(|id, _| *id >= min),
        }
        Ok(int(before - s.entries.len()))
    }

    /// SETBIT key offset 0|1
    fn setbit(&mut self, a: &[Vec<u8>]) -> Answer {
        let offset = bit_offset(&a[1])?;
        let bit = match a[2].as_slice() {
            b"0" => 0u8,
            b"1" => 1,
            _ => return Err("ERR bit is not an integer or out of range"),
        };
        let s = self.str_make(&a[0])?;
        let byte = offset / 8;
        if s.len() <= byte {
            s.resize(byte + 1, 0);
        }
        let mask = 0x80u8 >> (offset % 8);
        let old = s[byte] & mask != 0;
        match bit {
            1 => s[byte] |= mask,
            _ => s[byte] &= !mask,
        }
        Ok(int(usize::from(old)))
    }

    /// GETBIT key offset
    fn getbit(&mut self, a: &[Vec<u8>]) -> Answer {
        let offset = bit_offset(&a[1])?;
        let s = self.str_ref(&a[0])?.map_or(&[][..], Vec::as_slice);
        let bit = s
            .get(offset / 8)
            .is_some_and(|b| b & (0x80 >> (offset % 8)) != 0);
        Ok(int(usize::from(bit)))
    }

    /// BITCOUNT key [start end] (bytes)
    fn bitcount(&mut self, a: &[Vec<u8>]) -> Answer {
        let range = match a.len() {
            3 => Some((arg_i64(&a[1])?, arg_i64(&a[2])?)),
            _ => None,
        };
        let s = self.str_ref(&a[0])?.map_or(&[][..], Vec::as_slice);
        let bytes = match range {
            None => s,
            // Redis's clamping: negative from the end, then into the string (a negative end
            // becomes 0, unlike LRANGE), both negative and crossed is empty.
            Some((start, end)) if start < 0 && end < 0 && start > end => &[][..],
            Some((start, end)) => {
                let len = s.len() as i64;
                let from_end = |i: i64| if i < 0 { (len + i).max(0) } else { i };
                let (lo, hi) = (from_end(start), from_end(end).min(len - 1));
                match lo <= hi {
                    true => &s[lo as usize..=hi as usize],
                    false => &[][..],
                }
            }
        };
        Ok(int(bytes.iter().map(|b| b.count_ones() as usize).sum()))
    }

    /// BITPOS key 0|1
    fn bitpos(&mut self, a: &[Vec<u8>]) -> Answer {
        let bit = match a[1].as_slice() {
            b"0" => false,
            b"1" => true,
            _ => return Err("ERR The bit argument must be 1 or 0."),
        };
        let Some(s) = self.str_ref(&a[0])? else {
            return Ok(int_i64(if bit { -1 } else { 0 }));
        };
        if s.is_empty() {
            // The whole-string range of an empty string is empty: it holds neither bit.
            return Ok(int_i64(-1));
        }
        let found = (0..s.len() * 8).find(|&i| (s[i / 8] & (0x80 >> (i % 8)) != 0) == bit);
        Ok(match (found, bit) {
            (Some(i), _) => int(i),
            // Looking for a clear bit past a string of set bits finds the first bit after it.
            (None, false) => int(s.len() * 8),
            (None, true) => int_i64(-1),
        })
    }
}

/// A bit offset: 0 to 2^32 - 1.
fn bit_offset(arg: &[u8]) -> Result<usize, &'static str> {
    parse_i64(arg)
        .filter(|n| (0..1 << 32).contains(n))
        .map(|n| n as usize)
        .ok_or("ERR bit offset is not an integer or out of range")
}
