//! The sorted-set commands of the model: ZADD with its flags, ranks, score ranges and pops.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use super::*;

impl Model {
    pub(super) fn zsets(&mut self, name: &[u8], a: &[Vec<u8>]) -> Option<Answer> {
        Some(match name {
            b"ZADD" => self.zadd(a),
            b"ZINCRBY" => self.zadd(&[a[0].clone(), b"INCR".to_vec(), a[1].clone(), a[2].clone()]),
            b"ZREM" => self.zset_mut(&a[0]).map(|z| {
                int(z.map_or(0, |z| {
                    a[1..].iter().filter(|m| z.remove(*m).is_some()).count()
                }))
            }),
            b"ZSCORE" => self
                .zset_ref(&a[0])
                .map(|z| match z.and_then(|z| z.get(&a[1])) {
                    None => NIL.to_vec(),
                    Some(&score) => bulk(&score_text(score)),
                }),
            b"ZCARD" => self
                .zset_ref(&a[0])
                .map(|z| int(z.map_or(0, BTreeMap::len))),
            b"ZRANK" | b"ZREVRANK" => self.zset_ref(&a[0]).map(|z| {
                let Some(z) = z else { return NIL.to_vec() };
                let ranked = ranked(z);
                let rank = ranked.iter().position(|(m, _)| *m == a[1].as_slice());
                let rank = rank.map(|r| {
                    if name == b"ZRANK" {
                        r
                    } else {
                        ranked.len() - 1 - r
                    }
                });
                rank.map_or(NIL.to_vec(), int)
            }),
            b"ZRANGE" => self.zrange(a),
            b"ZRANGEBYSCORE" | b"ZCOUNT" => self.zrangebyscore(name == b"ZCOUNT", a),
            b"ZPOPMIN" | b"ZPOPMAX" => self.zpop(name == b"ZPOPMIN", a),
            b"ZREMRANGEBYRANK" => self.zremrangebyrank(a),
            _ => return None,
        })
    }

    /// ZADD key [NX | XX] [GT | LT] [CH] [INCR] score member [score member ...], with Redis's
    /// checks in Redis's order.
    fn zadd(&mut self, a: &[Vec<u8>]) -> Answer {
        let mut f = ZaddFlags::default();
        let mut at = 1;
        while let Some(opt) = a.get(at) {
            match opt.to_ascii_uppercase().as_slice() {
                b"NX" => f.nx = true,
                b"XX" => f.xx = true,
                b"GT" => f.gt = true,
                b"LT" => f.lt = true,
                b"CH" => f.ch = true,
                b"INCR" => f.incr = true,
                _ => break,
            }
            at += 1;
        }
        let pairs = &a[at..];
        if pairs.is_empty() || !pairs.len().is_multiple_of(2) {
            return Err(SYNTAX);
        }
        if f.nx && f.xx {
            return Err("ERR XX and NX options at the same time are not compatible");
        }
        if (f.gt || f.lt) && (f.nx || (f.gt && f.lt)) {
            return Err("ERR GT, LT, and/or NX options at the same time are not compatible");
        }
        if f.incr && pairs.len() > 2 {
            return Err("ERR INCR option supports a single increment-element pair");
        }
        let scores: Vec<f64> = pairs
            .chunks(2)
            .map(|p| parse_score(&p[0]).ok_or(NOT_FLOAT))
            .collect::<Result<_, _>>()?;
        if self.zset_ref(&a[0])?.is_none() && f.xx {
            return Ok(if f.incr { NIL.to_vec() } else { int(0) });
        }
        let z = self.zset_make(&a[0])?;
        let (mut added, mut updated, mut last) = (0, 0, None);
        for (pair, &score) in pairs.chunks(2).zip(&scores) {
            let member = &pair[1];
            let Some(&old) = z.get(member) else {
                if !f.xx {
                    z.insert(member.clone(), score);
                    (added, last) = (added + 1, Some(score));
                }
                continue;
            };
            if f.nx {
                continue;
            }
            let new = if f.incr { old + score } else { score };
            if new.is_nan() {
                return Err(NAN_SCORE);
            }
            if (f.lt && new >= old) || (f.gt && new <= old) {
                continue;
            }
            last = Some(new);
            if new != old {
                z.insert(member.clone(), new);
                updated += 1;
            }
        }
        Ok(match (f.incr, last) {
            (true, None) => NIL.to_vec(),
            (true, Some(score)) => bulk(&score_text(score)),
            (false, _) => int(if f.ch { added + updated } else { added }),
        })
    }

    /// ZRANGE key start stop [REV] [WITHSCORES] (by rank)
    fn zrange(&mut self, a: &[Vec<u8>]) -> Answer {
        let (mut rev, mut withscores) = (false, false);
        for opt in &a[3..] {
            match opt.to_ascii_uppercase().as_slice() {
                b"REV" => rev = true,
                b"WITHSCORES" => withscores = true,
                _ => return Err(SYNTAX),
            }
        }
        let (start, stop) = (arg_i64(&a[1])?, arg_i64(&a[2])?);
        let Some(z) = self.zset_ref(&a[0])? else {
            return Ok(EMPTY_ARRAY.to_vec());
        };
        let mut ranked = ranked(z);
        if rev {
            ranked.reverse();
        }
        Ok(match clamp(ranked.len(), start, stop) {
            None => EMPTY_ARRAY.to_vec(),
            Some((s, e)) => scored(&ranked[s..=e], withscores),
        })
    }

    /// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count], or ZCOUNT key min max
    fn zrangebyscore(&mut self, count_only: bool, a: &[Vec<u8>]) -> Answer {
        let bounds = parse_bound(&a[1]).zip(parse_bound(&a[2]));
        let (min, max) = bounds.ok_or("ERR min or max is not a float")?;
        let (mut withscores, mut offset, mut limit) = (false, 0, -1);
        let mut opts = a[3..].iter();
        while let Some(opt) = opts.next() {
            match opt.to_ascii_uppercase().as_slice() {
                b"WITHSCORES" => withscores = true,
                b"LIMIT" => {
                    let mut next = || opts.next().map_or(Err(SYNTAX), |n| arg_i64(n));
                    (offset, limit) = (next()?, next()?);
                }
                _ => return Err(SYNTAX),
            }
        }
        let Some(z) = self.zset_ref(&a[0])? else {
            return Ok(if count_only {
                int(0)
            } else {
                EMPTY_ARRAY.to_vec()
            });
        };
        let ranked = ranked(z);
        let in_range = ranked
            .into_iter()
            .filter(|&(_, s)| min.below(s) && max.above(s));
        let in_range: Vec<(&[u8], f64)> = in_range.collect();
        if count_only {
            return Ok(int(in_range.len()));
        }
        // A negative offset selects nothing, a negative count everything after the offset.
        let skip = usize::try_from(offset).unwrap_or(usize::MAX);
        let take = usize::try_from(limit).unwrap_or(usize::MAX);
        let page: Vec<(&[u8], f64)> = in_range.into_iter().skip(skip).take(take).collect();
        Ok(scored(&page, withscores))
    }

    /// ZPOPMIN/ZPOPMAX key [count]
    fn zpop(&mut self, min: bool, a: &[Vec<u8>]) -> Answer {
        let count = a.get(1).map(|c| parse_positive(c)).transpose()?;
        let Some(z) = self.zset_mut(&a[0])? else {
            return Ok(EMPTY_ARRAY.to_vec());
        };
        let mut ranked: Vec<(Vec<u8>, f64)> = ranked(z)
            .into_iter()
            .map(|(m, s)| (m.to_vec(), s))
            .collect();
        if !min {
            ranked.reverse();
        }
        ranked.truncate(count.unwrap_or(1));
        for (m, _) in &ranked {
            z.remove(m);
        }
        let items: Vec<(&[u8], f64)> = ranked.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
        Ok(scored(&items, true))
    }

    /// ZREMRANGEBYRANK key start stop
    fn zremrangebyrank(&mut self, a: &[Vec<u8>]) -> Answer {
        let (start, stop) = (arg_i64(&a[1])?, arg_i64(&a[2])?);
        let Some(z) = self.zset_mut(&a[0])? else {
            return Ok(int(0));
        };
        let ranked: Vec<Vec<u8>> = ranked(z).into_iter().map(|(m, _)| m.to_vec()).collect();
        let Some((s, e)) = clamp(ranked.len(), start, stop) else {
            return Ok(int(0));
        };
        for m in &ranked[s..=e] {
            z.remove(m);
        }
        Ok(int(e - s + 1))
    }
}

#[derive(Default)]
struct ZaddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// One end of a score range: `(` makes it exclusive.
#[derive(Clone, Copy)]
struct Bound {
    score: f64,
    open: bool,
}

impl Bound {
    /// Whether `s` is on the allowed side of this bound taken as a minimum.
    fn below(self, s: f64) -> bool {
        if self.open {
            self.score < s
        } else {
            self.score <= s
        }
    }

    /// Whether `s` is on the allowed side of this bound taken as a maximum.
    fn above(self, s: f64) -> bool {
        if self.open {
            s < self.score
        } else {
            s <= self.score
        }
    }
}

fn parse_bound(arg: &[u8]) -> Option<Bound> {
    match arg.strip_prefix(b"(") {
        Some(rest) => parse_score(rest).map(|score| Bound { score, open: true }),
        None => parse_score(arg).map(|score| Bound { score, open: false }),
    }
}

/// Members in Redis's order: by score, then by member bytes.
fn ranked(z: &BTreeMap<Vec<u8>, f64>) -> Vec<(&[u8], f64)> {
    let mut v: Vec<(&[u8], f64)> = z.iter().map(|(m, s)| (m.as_slice(), *s)).collect();
    v.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
    v
}
