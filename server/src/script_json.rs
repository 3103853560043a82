//! The `cjson` library scripts get, as Redis bundles lua-cjson: `cjson.encode`, `cjson.decode`,
//! `cjson.null`, and the settings scripts call (`encode_max_depth`, `decode_max_depth`,
//! `encode_invalid_numbers`, `decode_invalid_numbers`, `encode_keep_buffer`,
//! `encode_sparse_array`, `encode_number_precision`) with lua-cjson's defaults and error texts.

use std::cell::Cell;

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

/// lua-cjson's defaults.
const DEFAULT_DEPTH: usize = 1000;
const SPARSE_RATIO: usize = 2;
const SPARSE_SAFE: usize = 10;

thread_local! {
    static ENCODE_MAX_DEPTH: Cell<usize> = const { Cell::new(DEFAULT_DEPTH) };
    static DECODE_MAX_DEPTH: Cell<usize> = const { Cell::new(DEFAULT_DEPTH) };
    static ENCODE_INVALID_NUMBERS: Cell<bool> = const { Cell::new(false) };
    static DECODE_INVALID_NUMBERS: Cell<bool> = const { Cell::new(true) };
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn is_null(v: &Value) -> bool {
    matches!(v, Value::LightUserData(LightUserData(p)) if p.is_null())
}

fn escape(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            8 => out.extend_from_slice(b"\\b"),
            12 => out.extend_from_slice(b"\\f"),
            0..=31 | 127 => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

fn number(lua: &Lua, out: &mut Vec<u8>, n: f64) -> mlua::Result<()> {
    if !n.is_finite() && !ENCODE_INVALID_NUMBERS.with(Cell::get) {
        return Err(mlua::Error::runtime(
            "Cannot serialise number: must not be NaN or Inf",
        ));
    }
    // Lua's own %.14g, as lua-cjson's default precision.
    match lua.coerce_string(Value::Number(n))? {
        Some(s) => out.extend_from_slice(&s.as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
    Ok(())
}

/// The length of `t` as an array, or `None` when it is to be an object (lua-cjson's rules).
fn array_length(t: &Table) -> mlua::Result<Option<usize>> {
    let mut max = 0usize;
    let mut items = 0usize;
    for pair in t.clone().pairs::<Value, Value>() {
        let (k, _) = pair?;
        let index = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 && n < 1e15 => n as usize,
            _ => return Ok(None),
        };
        max = max.max(index);
        items += 1;
    }
    if max > items * SPARSE_RATIO && max > SPARSE_SAFE {
        return Err(mlua::Error::runtime(
            "Cannot serialise table: excessively sparse array",
        ));
    }
    Ok(Some(max))
}

fn encode_value(lua: &Lua, out: &mut Vec<u8>, v: &Value, depth: usize) -> mlua::Result<()> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        v if is_null(v) => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Number(n) => number(lua, out, *n)?,
        Value::String(s) => escape(out, &s.as_bytes()),
        Value::Table(t) => {
            let depth = depth + 1;
            if depth > ENCODE_MAX_DEPTH.with(Cell::get) {
                return Err(mlua::Error::runtime(format!(
                    "Cannot serialise, excessive nesting ({depth})"
                )));
            }
            match array_length(t)? {
                Some(len) if len > 0 => {
                    out.push(b'[');
                    for i in 1..=len {
                        if i > 1 {
                            out.push(b',');
                        }
                        encode_value(lua, out, &t.raw_get::<Value>(i)?, depth)?;
                    }
                    out.push(b']');
                }
                _ => {
                    out.push(b'{');
                    let mut first = true;
                    for pair in t.clone().pairs::<Value, Value>() {
                        let (k, val) = pair?;
                        if !first {
                            out.push(b',');
                        }
                        first = false;
                        match &k {
                            Value::String(s) => escape(out, &s.as_bytes()),
                            Value::Integer(_) | Value::Number(_) => {
                                let mut key = Vec::new();
                                encode_value(lua, &mut key, &k, depth)?;
                                escape(out, &key);
                            }
                            other => {
                                return Err(mlua::Error::runtime(format!(
                                    "Cannot serialise {}: table key must be a number or string",
                                    other.type_name()
                                )))
                            }
                        }
                        out.push(b':');
                        encode_value(lua, out, &val, depth)?;
                    }
                    out.push(b'}');
                }
            }
        }
        other => {
            return Err(mlua::Error::runtime(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            )))
        }
    }
    Ok(())
}

/// A JSON text being decoded.
struct Decoder<'a, 'l> {
    lua: &'l Lua,
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Decoder<'_, '_> {
    fn fail<T>(&self, what: &str) -> mlua::Result<T> {
        Err(mlua::Error::runtime(format!(
            "Expected {what} but found {} at character {}",
            self.token(),
            self.pos + 1
        )))
    }

    /// lua-cjson's name for the token at the current position.
    fn token(&self) -> &'static str {
        let rest = &self.s[self.pos.min(self.s.len())..];
        match rest.first() {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            Some(b'-' | b'0'..=b'9') => "T_NUMBER",
            _ if rest.starts_with(b"true") || rest.starts_with(b"false") => "T_BOOLEAN",
            _ if rest.starts_with(b"null") => "T_NULL",
            _ => "invalid token",
        }
    }

    fn skip_ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn value(&mut self) -> mlua::Result<Value> {
        self.skip_ws();
        match self.s.get(self.pos) {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::String(self.lua.create_string(self.string()?)?)),
            Some(b't') if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            Some(b'f') if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            Some(b'n') if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            Some(b'-' | b'0'..=b'9' | b'.' | b'i' | b'I' | b'n' | b'N') => self.number(),
            _ => self.fail("value"),
        }
    }

    fn enter(&mut self) -> mlua::Result<()> {
        self.depth += 1;
        if self.depth > DECODE_MAX_DEPTH.with(Cell::get) {
            return Err(mlua::Error::runtime(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth,
                self.pos + 1
            )));
        }
        self.pos += 1;
        Ok(())
    }

    /// After an element: consumes a comma (false: another element follows) or `end` (true);
    /// anything else fails, expecting `what`.
    fn comma_or(&mut self, end: u8, what: &str) -> mlua::Result<bool> {
        self.skip_ws();
        match self.s.get(self.pos) {
            Some(b',') => {
                self.pos += 1;
                Ok(false)
            }
            Some(&b) if b == end => {
                self.pos += 1;
                Ok(true)
            }
            _ => self.fail(what),
        }
    }

    fn object(&mut self) -> mlua::Result<Value> {
        self.enter()?;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        loop {
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b'"') {
                return self.fail("object key string");
            }
            let key = self.lua.create_string(self.string()?)?;
            self.skip_ws();
            if self.s.get(self.pos) != Some(&b':') {
                return self.fail("colon");
            }
            self.pos += 1;
            let v = self.value()?;
            t.raw_set(key, v)?;
            if self.comma_or(b'}', "comma or object end")? {
                break;
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn array(&mut self) -> mlua::Result<Value> {
        self.enter()?;
        let t = self.lua.create_table()?;
        self.skip_ws();
        if self.s.get(self.pos) == Some(&b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        let mut i = 1;
        loop {
            let v = self.value()?;
            t.raw_set(i, v)?;
            i += 1;
            if self.comma_or(b']', "comma or array end")? {
                break;
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn string(&mut self) -> mlua::Result<Vec<u8>> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&b) = self.s.get(self.pos) else {
                return self.fail("string end");
            };
            self.pos += 1;
            match b {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return self.fail("escape");
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.s[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                let low = self.hex4()?;
                                if (0xDC00..0xE000).contains(&low) {
                                    cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                                }
                            }
                            let c = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        _ => return self.fail("valid escape"),
                    }
                }
                0..=31 => return self.fail("string without control characters"),
                _ => out.push(b),
            }
        }
    }

    fn hex4(&mut self) -> mlua::Result<u32> {
        let digits = self.s.get(self.pos..self.pos + 4);
        let v = digits
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| u32::from_str_radix(d, 16).ok());
        match v {
            Some(v) => {
                self.pos += 4;
                Ok(v)
            }
            None => self.fail("unicode escape"),
        }
    }

    fn number(&mut self) -> mlua::Result<Value> {
        let start = self.pos;
        while self.pos < self.s.len()
            && matches!(self.s[self.pos], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9' | b'x' | b'X' | b'a'..=b'd' | b'f' | b'A'..=b'D' | b'F' | b'i' | b'I' | b'n' | b'N' | b't' | b'T' | b'y' | b'Y')
        {
            self.pos += 1;
        }
        let text = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("");
        let lower = text.to_ascii_lowercase();
        let parsed = match lower.as_str() {
            "nan" | "-nan" | "inf" | "-inf" | "infinity" | "-infinity"
                if DECODE_INVALID_NUMBERS.with(Cell::get) =>
            {
                lower.parse::<f64>().ok()
            }
            _ if lower.starts_with("0x") || lower.starts_with("-0x") => None,
            _ => lower.parse::<f64>().ok().filter(|n| n.is_finite()),
        };
        match parsed {
            Some(n) => Ok(Value::Number(n)),
            None => {
                self.pos = start;
                self.fail("value")
            }
        }
    }
}

fn decode(lua: &Lua, text: mlua::LuaString) -> mlua::Result<Value> {
    let bytes = text.as_bytes();
    let mut d = Decoder {
        lua,
        s: &bytes,
        pos: 0,
        depth: 0,
    };
    let v = d.value()?;
    d.skip_ws();
    if d.pos != d.s.len() {
        return d.fail("the end");
    }
    Ok(v)
}

fn setting_depth(
    cell: &'static std::thread::LocalKey<Cell<usize>>,
    args: MultiValue,
) -> mlua::Result<usize> {
    if let Some(v) = args.front() {
        let n = match v {
            Value::Integer(i) => *i as f64,
            Value::Number(n) => *n,
            _ => return Err(mlua::Error::runtime("bad argument #1 (number expected)")),
        };
        if !(1.0..=2147483647.0).contains(&n) {
            return Err(mlua::Error::runtime(
                "bad argument #1 (expected integer between 1 and 2147483647)",
            ));
        }
        cell.with(|c| c.set(n as usize));
    }
    Ok(cell.with(Cell::get))
}

fn setting_bool(
    cell: &'static std::thread::LocalKey<Cell<bool>>,
    args: MultiValue,
) -> mlua::Result<bool> {
    if let Some(v) = args.front() {
        let on = match v {
            Value::Boolean(b) => *b,
            Value::String(s) => matches!(s.to_str()?.as_ref(), "on" | "true"),
            _ => return Err(mlua::Error::runtime("bad argument #1 (boolean expected)")),
        };
        cell.with(|c| c.set(on));
    }
    Ok(cell.with(Cell::get))
}

/// Builds the `cjson` table.
pub fn library(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            encode_value(lua, &mut out, &v, 0)?;
            lua.create_string(out)
        })?,
    )?;
    t.set("decode", lua.create_function(decode)?)?;
    t.set("null", null())?;
    t.set(
        "encode_max_depth",
        lua.create_function(|_, a: MultiValue| setting_depth(&ENCODE_MAX_DEPTH, a))?,
    )?;
    t.set(
        "decode_max_depth",
        lua.create_function(|_, a: MultiValue| setting_depth(&DECODE_MAX_DEPTH, a))?,
    )?;
    t.set(
        "encode_invalid_numbers",
        lua.create_function(|_, a: MultiValue| setting_bool(&ENCODE_INVALID_NUMBERS, a))?,
    )?;
    t.set(
        "decode_invalid_numbers",
        lua.create_function(|_, a: MultiValue| setting_bool(&DECODE_INVALID_NUMBERS, a))?,
    )?;
    // Accepted for compatibility: buffers, sparse arrays and precision keep lua-cjson's defaults.
    t.set(
        "encode_keep_buffer",
        lua.create_function(|_, _: MultiValue| Ok(true))?,
    )?;
    t.set(
        "encode_sparse_array",
        lua.create_function(|_, _: MultiValue| Ok(()))?,
    )?;
    t.set(
        "encode_number_precision",
        lua.create_function(|_, _: MultiValue| Ok(14))?,
    )?;
    t.set("_NAME", "cjson")?;
    t.set("_VERSION", "2.1.0")?;
    Ok(t)
}
