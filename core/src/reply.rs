//! Reply trees: a parsed RESP2/RESP3 reply. The C ABI runs commands into RESP3 bytes (the same writer
//! the server uses) and turns them into a [`Reply`] with [`parse_reply`], so embedders get typed
//! values without a second, tree-building code path in every command.

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::types::string::parse_canonical_i64;

/// Deepest nesting accepted when parsing a reply (replies Ember writes are at most a few levels).
pub const REPLY_DEPTH_MAX: usize = 64;

/// One reply value.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// `+OK`-style status text.
    Status(Vec<u8>),
    /// `-ERR ...` error text (code included).
    Error(Vec<u8>),
    Integer(i64),
    Double(f64),
    Boolean(bool),
    Null,
    /// A bulk string, or verbatim text (the 3-letter format is dropped), or a big number's digits.
    Bulk(Vec<u8>),
    BigNumber(Vec<u8>),
    Array(Vec<Reply>),
    Set(Vec<Reply>),
    /// Key/value pairs, in order.
    Map(Vec<(Reply, Reply)>),
    /// An out-of-band push message (pub/sub, invalidation).
    Push(Vec<Reply>),
}

/// Why bytes did not parse as a reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyError {
    /// More bytes are needed.
    Incomplete,
    /// The bytes are not RESP.
    Invalid,
    /// Nested deeper than [`REPLY_DEPTH_MAX`].
    TooDeep,
}

/// Parses one reply from the start of `input`; returns it and the bytes it used. Attributes (`|`)
/// are skipped, as clients do.
pub fn parse_reply(input: &[u8]) -> Result<(Reply, usize), ReplyError> {
    parse_at(input, 0, 0)
}

fn line(input: &[u8], pos: usize) -> Result<(&[u8], usize), ReplyError> {
    let rest = input.get(pos..).ok_or(ReplyError::Incomplete)?;
    let cr = memchr::memchr(b'\r', rest).ok_or(ReplyError::Incomplete)?;
    if rest.get(cr + 1) != Some(&b'\n') {
        return if cr + 1 >= rest.len() {
            Err(ReplyError::Incomplete)
        } else {
            Err(ReplyError::Invalid)
        };
    }
    Ok((&rest[..cr], pos + cr + 2))
}

fn number(text: &[u8]) -> Result<i64, ReplyError> {
    parse_canonical_i64(text).ok_or(ReplyError::Invalid)
}

fn parse_at(input: &[u8], pos: usize, depth: usize) -> Result<(Reply, usize), ReplyError> {
    if depth > REPLY_DEPTH_MAX {
        return Err(ReplyError::TooDeep);
    }
    let kind = *input.get(pos).ok_or(ReplyError::Incomplete)?;
    let (text, next) = line(input, pos + 1)?;
    let count = |text: &[u8]| -> Result<Option<usize>, ReplyError> {
        let n = number(text)?;
        Ok(if n < 0 { None } else { Some(n as usize) })
    };
    match kind {
        b'+' => Ok((Reply::Status(text.to_vec()), next)),
        b'-' => Ok((Reply::Error(text.to_vec()), next)),
        b':' => Ok((Reply::Integer(number(text)?), next)),
        b'_' => Ok((Reply::Null, next)),
        b'#' => match text {
            b"t" => Ok((Reply::Boolean(true), next)),
            b"f" => Ok((Reply::Boolean(false), next)),
            _ => Err(ReplyError::Invalid),
        },
        b',' => {
            let s = core::str::from_utf8(text).map_err(|_| ReplyError::Invalid)?;
            let d = match s {
                "inf" => f64::INFINITY,
                "-inf" => f64::NEG_INFINITY,
                "nan" => f64::NAN,
                _ => s.parse().map_err(|_| ReplyError::Invalid)?,
            };
            Ok((Reply::Double(d), next))
        }
        b'(' => Ok((Reply::BigNumber(text.to_vec()), next)),
        b'$' | b'=' | b'!' => {
            let Some(len) = count(text)? else {
                return Ok((Reply::Null, next));
            };
            let end = next.checked_add(len).ok_or(ReplyError::Invalid)?;
            if input.len() < end + 2 {
                return Err(ReplyError::Incomplete);
            }
            if &input[end..end + 2] != b"\r\n" {
                return Err(ReplyError::Invalid);
            }
            let mut data = &input[next..end];
            if kind == b'=' {
                data = data.get(4..).ok_or(ReplyError::Invalid)?;
            }
            let v = data.to_vec();
            Ok((
                if kind == b'!' {
                    Reply::Error(v)
                } else {
                    Reply::Bulk(v)
                },
                end + 2,
            ))
        }
        b'*' | b'~' | b'>' => {
            let Some(n) = count(text)? else {
                return Ok((Reply::Null, next));
            };
            let mut items = Vec::with_capacity(n.min(1024));
            let mut p = next;
            for _ in 0..n {
                let (item, q) = parse_at(input, p, depth + 1)?;
                items.push(item);
                p = q;
            }
            Ok((
                match kind {
                    b'*' => Reply::Array(items),
                    b'~' => Reply::Set(items),
                    _ => Reply::Push(items),
                },
                p,
            ))
        }
        b'%' | b'|' => {
            let Some(n) = count(text)? else {
                return Ok((Reply::Null, next));
            };
            let mut pairs = Vec::with_capacity(n.min(1024));
            let mut p = next;
            for _ in 0..n {
                let (k, q) = parse_at(input, p, depth + 1)?;
                let (v, q) = parse_at(input, q, depth + 1)?;
                pairs.push((k, v));
                p = q;
            }
            if kind == b'|' {
                // An attribute annotates the reply that follows it.
                return parse_at(input, p, depth + 1);
            }
            Ok((Reply::Map(pairs), p))
        }
        _ => Err(ReplyError::Invalid),
    }
}

impl Reply {
    /// Boxes the reply (the C ABI hands out pointers to boxed replies).
    pub fn boxed(self) -> Box<Reply> {
        Box::new(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn parses_every_type() {
        let input = b"%2\r\n$1\r\na\r\n*3\r\n:1\r\n_\r\n#t\r\n+OK\r\n~1\r\n,1.5\r\n";
        let (r, used) = parse_reply(input).unwrap();
        assert_eq!(used, input.len());
        assert_eq!(
            r,
            Reply::Map(vec![
                (
                    Reply::Bulk(b"a".to_vec()),
                    Reply::Array(vec![Reply::Integer(1), Reply::Null, Reply::Boolean(true)])
                ),
                (
                    Reply::Status(b"OK".to_vec()),
                    Reply::Set(vec![Reply::Double(1.5)])
                ),
            ])
        );
        assert_eq!(parse_reply(b"$-1\r\n").unwrap().0, Reply::Null);
        assert_eq!(
            parse_reply(b"=8\r\ntxt:abcd\r\n").unwrap().0,
            Reply::Bulk(b"abcd".to_vec())
        );
        assert_eq!(
            parse_reply(b"|1\r\n+a\r\n+b\r\n:5\r\n").unwrap().0,
            Reply::Integer(5)
        );
        assert_eq!(
            parse_reply(b"$3\r\nab").unwrap_err(),
            ReplyError::Incomplete
        );
        assert_eq!(parse_reply(b"?x\r\n").unwrap_err(), ReplyError::Invalid);
        let deep = b"*1\r\n".repeat(100);
        assert_eq!(parse_reply(&deep).unwrap_err(), ReplyError::TooDeep);
    }
}
