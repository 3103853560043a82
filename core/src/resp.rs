//! RESP: the request parser (multibulk and inline commands) and the reply writer (RESP2 and RESP3).
//!
//! The parser is a pure function over the bytes a client sent: it returns the byte ranges of the next
//! command's arguments (zero-copy for multibulk requests; inline requests, which can contain quoted
//! escapes, are unescaped into a scratch buffer) or says how much more it needs. It never allocates in
//! proportion to a length the client claims, only to bytes that actually arrived, so hostile headers
//! like `*3000000000` cost nothing. Error texts match Redis's byte for byte.
//!
//! The writer appends reply bytes straight into an output buffer in the client's protocol version.

use alloc::vec::Vec;
use core::fmt;
use core::ops::Range;

use crate::types::string::{format_i64, format_u64, parse_canonical_i64 as parse_i64, IntBuf};

/// Longest inline request, or multibulk/bulk header line, without a newline (Redis `PROTO_INLINE_MAX_SIZE`).
pub const INLINE_MAX: usize = 64 * 1024;

/// Default `proto-max-bulk-len`: the largest bulk argument.
pub const PROTO_MAX_BULK_LEN_DEFAULT: u64 = 512 * 1024 * 1024;

/// Largest multibulk argument count (Redis accepts up to INT_MAX).
pub const MULTIBULK_MAX: u64 = i32::MAX as u64;

/// Before AUTH (when a password is set), at most this many arguments...
pub const UNAUTH_MULTIBULK_MAX: u64 = 10;
/// ...and bulk arguments of at most this many bytes.
pub const UNAUTH_BULK_MAX: u64 = 16 * 1024;

/// Reserve at most this many argument slots up front, whatever count the header claims.
const ARGS_RESERVE_MAX: usize = 1024;

/// Limits the parser enforces.
#[derive(Clone, Copy, Debug)]
pub struct ParseLimits {
    pub max_bulk_len: u64,
    /// True before a client has authenticated to a server with a password.
    pub unauthenticated: bool,
}

impl Default for ParseLimits {
    fn default() -> Self {
        ParseLimits {
            max_bulk_len: PROTO_MAX_BULK_LEN_DEFAULT,
            unauthenticated: false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProtocolError {
    InvalidMultibulkLength,
    InvalidBulkLength,
    ExpectedDollar(u8),
    TooBigMbulkCount,
    TooBigBulkCount,
    TooBigInline,
    UnbalancedQuotes,
    UnauthenticatedMultibulk,
    UnauthenticatedBulk,
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Protocol error: ")?;
        match self {
            ProtocolError::InvalidMultibulkLength => f.write_str("invalid multibulk length"),
            ProtocolError::InvalidBulkLength => f.write_str("invalid bulk length"),
            ProtocolError::ExpectedDollar(c) => write!(f, "expected '$', got '{}'", *c as char),
            ProtocolError::TooBigMbulkCount => f.write_str("too big mbulk count string"),
            ProtocolError::TooBigBulkCount => f.write_str("too big bulk count string"),
            ProtocolError::TooBigInline => f.write_str("too big inline request"),
            ProtocolError::UnbalancedQuotes => f.write_str("unbalanced quotes in request"),
            ProtocolError::UnauthenticatedMultibulk => {
                f.write_str("unauthenticated multibulk length")
            }
            ProtocolError::UnauthenticatedBulk => f.write_str("unauthenticated bulk length"),
        }
    }
}

impl core::error::Error for ProtocolError {}

/// Where a parsed command's argument bytes live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgSource {
    /// Ranges index the input buffer.
    Input,
    /// Ranges index the parser's scratch buffer (unescaped inline arguments).
    Scratch,
}

/// Outcome of one [`parse_command`] call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A command: its arguments are in `args`; `consumed` bytes of input belong to it.
    Command { consumed: usize, source: ArgSource },
    /// Input that carries no command (`*0`, `*-1`, an empty inline line): skip `consumed` bytes.
    Skip { consumed: usize },
    /// More bytes are needed.
    Incomplete,
}

/// Reusable argument storage for the parser.
#[derive(Default, Debug)]
pub struct ArgBuf {
    pub ranges: Vec<Range<usize>>,
    pub scratch: Vec<u8>,
}

impl ArgBuf {
    pub fn argv<'a>(&'a self, input: &'a [u8], source: ArgSource) -> Argv<'a> {
        let buf = match source {
            ArgSource::Input => input,
            ArgSource::Scratch => &self.scratch,
        };
        Argv {
            buf,
            ranges: &self.ranges,
        }
    }
}

/// A command's arguments (the command name is `argv[0]`), borrowed from the input or scratch buffer.
#[derive(Clone, Copy)]
pub struct Argv<'a> {
    buf: &'a [u8],
    ranges: &'a [Range<usize>],
}

impl<'a> Argv<'a> {
    pub fn new(buf: &'a [u8], ranges: &'a [Range<usize>]) -> Self {
        Argv { buf, ranges }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.ranges.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }

    #[inline]
    pub fn get(&self, i: usize) -> &'a [u8] {
        &self.buf[self.ranges[i].clone()]
    }

    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.ranges.iter().map(|r| &self.buf[r.clone()])
    }

    /// The first `n` arguments.
    pub fn head(&self, n: usize) -> Argv<'a> {
        Argv {
            buf: self.buf,
            ranges: &self.ranges[..n.min(self.ranges.len())],
        }
    }

    /// The arguments from index `from` on.
    pub fn tail(&self, from: usize) -> Argv<'a> {
        Argv {
            buf: self.buf,
            ranges: &self.ranges[from.min(self.ranges.len())..],
        }
    }
}

/// Parses the next command at the start of `input` into `args`.
pub fn parse_command(
    input: &[u8],
    limits: &ParseLimits,
    args: &mut ArgBuf,
) -> Result<Parsed, ProtocolError> {
    args.ranges.clear();
    match input.first() {
        None => Ok(Parsed::Incomplete),
        Some(b'*') => parse_multibulk(input, limits, args),
        Some(_) => parse_inline(input, args),
    }
}

/// Reads a header line (`*N` or `$N`) starting at `pos`: returns the number and the position after CRLF.
fn header_line(
    input: &[u8],
    pos: usize,
    too_big: ProtocolError,
) -> Result<Option<(Option<i64>, usize)>, ProtocolError> {
    let rest = &input[pos..];
    let Some(cr) = memchr::memchr(b'\r', rest) else {
        return if rest.len() > INLINE_MAX {
            Err(too_big)
        } else {
            Ok(None)
        };
    };
    if cr > INLINE_MAX {
        return Err(too_big);
    }
    // The '\n' after '\r' must have arrived (Redis does not check that it is a '\n').
    if cr + 2 > rest.len() {
        return Ok(None);
    }
    Ok(Some((parse_i64(&rest[1..cr]), pos + cr + 2)))
}

fn parse_multibulk(
    input: &[u8],
    limits: &ParseLimits,
    args: &mut ArgBuf,
) -> Result<Parsed, ProtocolError> {
    let Some((count, mut pos)) = header_line(input, 0, ProtocolError::TooBigMbulkCount)? else {
        return Ok(Parsed::Incomplete);
    };
    let count = match count {
        Some(n) if n > MULTIBULK_MAX as i64 => return Err(ProtocolError::InvalidMultibulkLength),
        None => return Err(ProtocolError::InvalidMultibulkLength),
        Some(n) if n <= 0 => return Ok(Parsed::Skip { consumed: pos }),
        Some(n) => n as u64,
    };
    if limits.unauthenticated && count > UNAUTH_MULTIBULK_MAX {
        return Err(ProtocolError::UnauthenticatedMultibulk);
    }
    args.ranges.reserve((count as usize).min(ARGS_RESERVE_MAX));
    for _ in 0..count {
        match input.get(pos) {
            None => return Ok(Parsed::Incomplete),
            Some(b'$') => {}
            Some(&c) => return Err(ProtocolError::ExpectedDollar(c)),
        }
        let Some((len, data)) = header_line(input, pos, ProtocolError::TooBigBulkCount)? else {
            return Ok(Parsed::Incomplete);
        };
        let len = match len {
            Some(n) if n >= 0 && (n as u64) <= limits.max_bulk_len => n as u64,
            _ => return Err(ProtocolError::InvalidBulkLength),
        };
        if limits.unauthenticated && len > UNAUTH_BULK_MAX {
            return Err(ProtocolError::UnauthenticatedBulk);
        }
        let len = len as usize;
        // Data plus its CRLF; like Redis, the two trailing bytes are skipped without being checked.
        if input.len() - data < len + 2 {
            return Ok(Parsed::Incomplete);
        }
        args.ranges.push(data..data + len);
        pos = data + len + 2;
    }
    Ok(Parsed::Command {
        consumed: pos,
        source: ArgSource::Input,
    })
}

fn parse_inline(input: &[u8], args: &mut ArgBuf) -> Result<Parsed, ProtocolError> {
    // Redis looks for the newline with strchr(), which stops at a NUL byte: a line with a NUL before
    // its newline is never complete, and hits the inline size limit instead.
    let nl = memchr::memchr2(b'\n', 0, input).filter(|&i| input[i] == b'\n');
    let Some(nl) = nl else {
        return if input.len() > INLINE_MAX {
            Err(ProtocolError::TooBigInline)
        } else {
            Ok(Parsed::Incomplete)
        };
    };
    if nl > INLINE_MAX {
        return Err(ProtocolError::TooBigInline);
    }
    let mut line = &input[..nl];
    if let Some(stripped) = line.strip_suffix(b"\r") {
        line = stripped;
    }
    split_args(line, args)?;
    if args.ranges.is_empty() {
        return Ok(Parsed::Skip { consumed: nl + 1 });
    }
    Ok(Parsed::Command {
        consumed: nl + 1,
        source: ArgSource::Scratch,
    })
}

/// Splits an inline line into arguments with redis-cli's quoting rules: whitespace separates, "double
/// quotes" understand `\n \r \t \b \a \\ \" \xHH`, 'single quotes' understand `\'`, and a closing quote
/// must be followed by whitespace or the end of the line.
pub fn split_args(line: &[u8], args: &mut ArgBuf) -> Result<(), ProtocolError> {
    args.scratch.clear();
    args.ranges.clear();
    // The line is a C string to Redis: a NUL byte ends it.
    let line = &line[..memchr::memchr(0, line).unwrap_or(line.len())];
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && is_space(line[i]) {
            i += 1;
        }
        if i >= n {
            return Ok(());
        }
        let start = args.scratch.len();
        let (mut in_dq, mut in_sq) = (false, false);
        loop {
            if in_dq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && is_hex(line[i + 2])
                    && is_hex(line[i + 3])
                {
                    args.scratch
                        .push(hex_val(line[i + 2]) * 16 + hex_val(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    args.scratch.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    args.scratch.push(c);
                }
            } else if in_sq {
                if i >= n {
                    return Err(ProtocolError::UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    args.scratch.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !is_space(line[i + 1]) {
                        return Err(ProtocolError::UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    args.scratch.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => in_dq = true,
                    b'\'' => in_sq = true,
                    c => args.scratch.push(c),
                }
            }
            i += 1;
        }
        args.ranges.push(start..args.scratch.len());
    }
}

/// C's isspace(): space, \t, \n, \v, \f, \r.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn is_hex(c: u8) -> bool {
    c.is_ascii_hexdigit()
}

fn hex_val(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c.to_ascii_lowercase().wrapping_sub(b'a').wrapping_add(10),
    }
}

/// The protocol a client speaks (HELLO 2 / HELLO 3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

/// Appends replies to an output buffer in the client's protocol.
pub struct ReplyWriter<'a> {
    pub buf: &'a mut Vec<u8>,
    pub proto: Proto,
}

impl<'a> ReplyWriter<'a> {
    pub fn new(buf: &'a mut Vec<u8>, proto: Proto) -> Self {
        ReplyWriter { buf, proto }
    }

    #[inline]
    pub fn resp3(&self) -> bool {
        self.proto == Proto::Resp3
    }

    #[inline]
    fn line(&mut self, prefix: u8, n: i64) {
        let mut scratch: IntBuf = [0; 20];
        self.buf.push(prefix);
        self.buf.extend_from_slice(format_i64(n, &mut scratch));
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+text`; CR and LF in `text` are replaced by spaces so the reply stays one line.
    pub fn simple(&mut self, text: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend(
            text.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// An error reply; `text` starts with its code (`ERR ...`, `WRONGTYPE ...`).
    pub fn error(&mut self, text: &[u8]) {
        self.buf.push(b'-');
        self.buf.extend(
            text.iter()
                .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    #[inline]
    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    #[inline]
    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.extend_from_slice(data);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk reply of `len` bytes that `append` adds to the output buffer (a compressed value
    /// expanding straight into it).
    pub fn bulk_with(&mut self, len: usize, append: impl FnOnce(&mut Vec<u8>)) {
        self.line(b'$', len as i64);
        let at = self.buf.len();
        append(&mut *self.buf);
        debug_assert_eq!(
            self.buf.len(),
            at + len,
            "bulk_with appended the wrong length"
        );
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A bulk reply of a formatted integer.
    pub fn bulk_i64(&mut self, n: i64) {
        let mut scratch: IntBuf = [0; 20];
        self.bulk(format_i64(n, &mut scratch));
    }

    /// A bulk reply of a formatted unsigned integer (a SCAN cursor).
    pub fn bulk_u64(&mut self, n: u64) {
        let mut scratch: IntBuf = [0; 20];
        self.bulk(format_u64(n, &mut scratch));
    }

    /// A null bulk (`$-1` in RESP2, `_` in RESP3).
    pub fn null(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// A null array (`*-1` in RESP2, `_` in RESP3).
    pub fn null_array(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, len: usize) {
        self.line(b'*', len as i64);
    }

    /// A map header of `len` pairs (an array of `2 * len` items in RESP2).
    pub fn map(&mut self, len: usize) {
        if self.resp3() {
            self.line(b'%', len as i64);
        } else {
            self.line(b'*', 2 * len as i64);
        }
    }

    /// A set header (an array in RESP2).
    pub fn set(&mut self, len: usize) {
        if self.resp3() {
            self.line(b'~', len as i64);
        } else {
            self.line(b'*', len as i64);
        }
    }

    /// A push header (an array in RESP2), for pub/sub and tracking messages.
    pub fn push(&mut self, len: usize) {
        if self.resp3() {
            self.line(b'>', len as i64);
        } else {
            self.line(b'*', len as i64);
        }
    }

    /// A double: `,d` in RESP3, a bulk string in RESP2.
    pub fn double(&mut self, d: f64) {
        let mut tmp = Vec::new();
        format_double(d, &mut tmp);
        self.double_text(&tmp);
    }

    /// A double already formatted (`text` is its digits): `,text` in RESP3, a bulk string in
    /// RESP2.
    pub fn double_text(&mut self, text: &[u8]) {
        if self.resp3() {
            self.buf.push(b',');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    /// A boolean: `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    pub fn boolean(&mut self, b: bool) {
        if self.resp3() {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// A big number: `(digits` in RESP3, a bulk string in RESP2.
    pub fn bignum(&mut self, digits: &[u8]) {
        if self.resp3() {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits);
        }
    }

    /// An attribute header of `len` pairs (RESP3 only; callers skip it in RESP2).
    pub fn attribute(&mut self, len: usize) {
        self.line(b'|', len as i64);
    }

    /// Verbatim text (`=` with a 3-letter format in RESP3, a bulk string in RESP2).
    pub fn verbatim(&mut self, format: &[u8; 3], text: &[u8]) {
        if self.resp3() {
            self.line(b'=', text.len() as i64 + 4);
            self.buf.extend_from_slice(format);
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }

    pub fn bulks<'b>(&mut self, items: impl ExactSizeIterator<Item = &'b [u8]>) {
        self.array(items.len());
        for it in items {
            self.bulk(it);
        }
    }
}

/// Formats a double the way Redis's RESP3 double replies and INFO do: `inf`, `-inf`, `nan`, integers
/// without a fraction, otherwise the shortest representation that reads back to the same value.
pub fn format_double(d: f64, out: &mut Vec<u8>) {
    use core::fmt::Write;
    struct W<'a>(&'a mut Vec<u8>);
    impl Write for W<'_> {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.extend_from_slice(s.as_bytes());
            Ok(())
        }
    }
    if d.is_nan() {
        out.extend_from_slice(b"nan");
    } else if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"inf" } else { b"-inf" });
    } else {
        let _ = write!(W(out), "{}", d);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn parse(input: &[u8]) -> Result<(Parsed, Vec<Vec<u8>>), ProtocolError> {
        let mut a = ArgBuf::default();
        let p = parse_command(input, &ParseLimits::default(), &mut a)?;
        let argv = match p {
            Parsed::Command { source, .. } => {
                a.argv(input, source).iter().map(|s| s.to_vec()).collect()
            }
            _ => vec![],
        };
        Ok((p, argv))
    }

    #[test]
    fn multibulk() {
        let (p, argv) = parse(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nrest").unwrap();
        assert_eq!(
            p,
            Parsed::Command {
                consumed: 20,
                source: ArgSource::Input
            }
        );
        assert_eq!(argv, vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(
            parse(b"*2\r\n$3\r\nGET\r\n$1\r\nk").unwrap().0,
            Parsed::Incomplete
        );
        assert_eq!(parse(b"*0\r\n").unwrap().0, Parsed::Skip { consumed: 4 });
        assert_eq!(parse(b"*-10\r\n").unwrap().0, Parsed::Skip { consumed: 6 });
    }

    #[test]
    fn multibulk_errors() {
        assert_eq!(
            parse(b"*3000000000\r\n").unwrap_err(),
            ProtocolError::InvalidMultibulkLength
        );
        assert_eq!(
            parse(b"*blabla\r\n").unwrap_err(),
            ProtocolError::InvalidMultibulkLength
        );
        assert_eq!(
            parse(b"*1\r\n$-10\r\n").unwrap_err(),
            ProtocolError::InvalidBulkLength
        );
        assert_eq!(
            parse(b"*1\r\n$2000000000\r\n").unwrap_err(),
            ProtocolError::InvalidBulkLength
        );
        assert_eq!(
            parse(b"*1\r\n$blabla\r\n").unwrap_err(),
            ProtocolError::InvalidBulkLength
        );
        assert_eq!(
            parse(b"*1\r\nfoo\r\n").unwrap_err(),
            ProtocolError::ExpectedDollar(b'f')
        );
        let long = vec![b'1'; INLINE_MAX + 10];
        let mut big = b"*".to_vec();
        big.extend_from_slice(&long);
        assert_eq!(parse(&big).unwrap_err(), ProtocolError::TooBigMbulkCount);
        let mut a = ArgBuf::default();
        let unauth = ParseLimits {
            unauthenticated: true,
            ..Default::default()
        };
        assert_eq!(
            parse_command(b"*11\r\n", &unauth, &mut a).unwrap_err(),
            ProtocolError::UnauthenticatedMultibulk
        );
        assert_eq!(
            parse_command(b"*1\r\n$16385\r\n", &unauth, &mut a).unwrap_err(),
            ProtocolError::UnauthenticatedBulk
        );
    }

    #[test]
    fn inline() {
        let (p, argv) = parse(b"set k \"a\\x41\\n\" 'b\\'c'\r\n").unwrap();
        assert!(matches!(p, Parsed::Command { consumed: 24, .. }));
        assert_eq!(
            argv,
            vec![
                b"set".to_vec(),
                b"k".to_vec(),
                b"aA\n".to_vec(),
                b"b'c".to_vec()
            ]
        );
        assert_eq!(parse(b"\r\n").unwrap().0, Parsed::Skip { consumed: 2 });
        assert_eq!(parse(b"ping").unwrap().0, Parsed::Incomplete);
        assert_eq!(
            parse(b"set \"a\r\n").unwrap_err(),
            ProtocolError::UnbalancedQuotes
        );
        assert_eq!(
            parse(b"set \"a\"b\r\n").unwrap_err(),
            ProtocolError::UnbalancedQuotes
        );
        assert_eq!(
            parse(&vec![b'a'; INLINE_MAX + 1]).unwrap_err(),
            ProtocolError::TooBigInline
        );
        // A NUL hides the newline, as with Redis's strchr(); it never loops or panics.
        assert_eq!(parse(b"PING\x00junk\r\n").unwrap().0, Parsed::Incomplete);
        let (_, argv) = parse(b"\x0bPING\x0b\r\n").unwrap();
        assert_eq!(argv, vec![b"PING\x0b".to_vec()]);
        let mut a = ArgBuf::default();
        split_args(b"a\x00b c", &mut a).unwrap();
        assert_eq!(a.ranges.len(), 1);
    }

    #[test]
    fn writer() {
        let mut out = Vec::new();
        let mut w = ReplyWriter::new(&mut out, Proto::Resp2);
        w.null();
        w.map(1);
        w.double(1.5);
        w.boolean(true);
        assert_eq!(out, b"$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n");
        let mut out = Vec::new();
        let mut w = ReplyWriter::new(&mut out, Proto::Resp3);
        w.null();
        w.map(1);
        w.double(f64::INFINITY);
        w.boolean(false);
        assert_eq!(out, b"_\r\n%1\r\n,inf\r\n#f\r\n");
    }
}
