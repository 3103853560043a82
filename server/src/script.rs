//! Lua scripting: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (LOAD EXISTS FLUSH KILL), on a
//! Lua 5.1 interpreter like Redis's.
//!
//! A script runs as a function compiled from its body (chunk name `@user_script`, so errors read
//! `user_script:LINE: ...` as in Redis). `redis.call` and `redis.pcall` run commands through the
//! server's ordinary dispatch on a script client (database, RESP version and all), which behaves
//! like a client inside EXEC: commands never block, and what they change is propagated to the AOF
//! and replicas as one MULTI/EXEC unit when the script ends. Replies convert between RESP and Lua
//! with Redis's rules (integers to numbers, nulls to `false`, status and error replies to
//! `{ok=...}` / `{err=...}` tables, and back).
//!
//! The global table is protected like Redis's: reading an undefined global or creating one is an
//! error. A script that runs longer than `busy-reply-threshold` (`lua-time-limit`) lets the event
//! loop serve other clients from an instruction-count hook: they get `-BUSY` except for the
//! commands flagged `allow_busy` (SCRIPT KILL, SHUTDOWN NOSAVE, ...), and SCRIPT KILL stops a
//! script that has not written yet.
//!
//! The Rust functions Lua calls reach the server through a pointer held in [`RUN`] for exactly the
//! duration of one script run: the event loop is single-threaded and, while Lua code runs, the
//! server is not otherwise borrowed (the command that started the script waits for it).

use std::cell::Cell;
use std::collections::HashMap;
use std::ptr;

use ember_core::cmd::{arg_i64, eq_ci, flags, CmdError, CmdResult};
use ember_core::reply::{parse_reply, Reply};
use ember_core::resp::{Argv, Proto, ReplyWriter};
use mlua::{Function, HookTriggers, Lua, LuaOptions, MultiValue, StdLib, Table, Value, VmState};

use crate::client::{Client, SavedArgv};
use crate::server::Server;
use crate::{log_at, sys};

/// Lua instructions between two checks of the running time (Redis's `LUA_HOOK_COUNT`-style
/// period).
const HOOK_INSTRUCTIONS: u32 = 100_000;
/// Most values `unpack` returns (Lua's C stack limit, LUAI_MAXCSTACK).
const UNPACK_MAX: i64 = 8000;
/// Scripts between two garbage collection steps (Redis steps every 50).
const GC_EVERY_RUNS: u64 = 50;
/// Deepest table nesting converted into a reply.
const REPLY_DEPTH_MAX: usize = 64;
/// Most values one script reply may hold (nested tables count their elements).
const REPLY_VALUES_MAX: usize = 1 << 24;
/// Most tables one script reply may hold (a table referenced twice at every level of a deep
/// nesting would otherwise take exponential time).
const REPLY_TABLES_MAX: usize = 1 << 20;

const BUSY_ERROR: &str =
    "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
const BUSY_FUNCTION_ERROR: &str =
    "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";
const KILLED_ERROR: &str = "ERR Script killed by user with SCRIPT KILL...";

/// Helpers written in Lua: the error handler that turns any error into Redis's error table with
/// the script's source and line (an error `redis.call` raised is a table it left in [`Run`]: a
/// Rust function cannot raise a Lua table itself), and the protection of the global table.
const PRELUDE: &str = r#"
local take_error, describe = ...
local dbg = debug
-- Only source text compiles: Lua 5.1 does not verify bytecode (Redis's CVE-2015-4335).
local raw_loadstring = loadstring
loadstring = function(s, name)
  if type(s) == 'string' and string.byte(s, 1) == 27 then
    return nil, 'binary chunks are not allowed'
  end
  return raw_loadstring(s, name)
end
load = nil
-- The debug library can break the interpreter's invariants (upvalues of C functions, hooks):
-- scripts get only the introspection that cannot.
debug = {getinfo = dbg.getinfo, traceback = dbg.traceback}
newproxy = nil
local raw_unpack = unpack
local function handler(err)
  local level = 2
  local info = dbg.getinfo(level, 'nSl')
  while info and (info.what == 'C' or info.source == '=ember') do
    level = level + 1
    info = dbg.getinfo(level, 'nSl')
  end
  if type(err) ~= 'table' then
    local taken = take_error()
    if taken then
      err = taken
    elseif type(err) == 'string' then
      err = {err = 'ERR ' .. err}
    else
      -- An error raised by a Rust function: its message, where the script called it.
      local where = ''
      if info and info.currentline and info.currentline >= 0 then
        where = string.gsub(info.source, '^@', '') .. ':' .. info.currentline .. ': '
      end
      err = {err = 'ERR ' .. where .. describe(err)}
    end
  end
  if info then
    err['source'] = info.source
    err['line'] = info.currentline
  end
  return err
end
print = nil
-- Read-only tables (Redis 7 makes the globals and its libraries read-only): a proxy with no
-- fields of its own whose metatable reads through to the table, refuses writes, and is itself
-- hidden behind a read-only view; setmetatable and rawset refuse them too.
local readonly_tables = setmetatable({}, {__mode = 'k'})
local function refuse()
  error('Attempt to modify a readonly table', 2)
end
local function readonly(t, index)
  local view = setmetatable({}, {__newindex = refuse, __metatable = false})
  local proxy = setmetatable({}, {__index = index or t, __newindex = refuse, __metatable = view})
  readonly_tables[view] = true
  readonly_tables[proxy] = true
  return proxy
end
local raw_setmetatable, raw_rawset = setmetatable, rawset
setmetatable = function(t, mt)
  if readonly_tables[t] then error('Attempt to modify a readonly table', 2) end
  return raw_setmetatable(t, mt)
end
rawset = function(t, k, v)
  if readonly_tables[t] then error('Attempt to modify a readonly table', 2) end
  return raw_rawset(t, k, v)
end
-- Changing a function's or the thread's environment would step around the protection.
local raw_setfenv = setfenv
setfenv = nil
for _, name in ipairs({'redis', 'bit', 'cjson', 'string', 'table', 'math'}) do
  _G[name] = readonly(_G[name])
end
local string_meta = dbg.getmetatable('')
string_meta.__index = _G.string
string_meta.__metatable = readonly(string_meta)
-- The globals: every name reads through to the table built above; a name it lacks is an error
-- (Redis's "nonexistent global variable"); no name can be set.
local globals = {}
for k, v in pairs(_G) do globals[k] = v end
local G = {}
globals._G = G
-- Reading a global is a plain table lookup; only a name that is missing calls a function.
raw_setmetatable(globals, {__index = function(_, name)
  local info = dbg.getinfo(2, 'S')
  if info and info.what ~= 'C' then
    error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2)
  end
  return nil
end})
local gview = setmetatable({}, {__newindex = refuse, __metatable = false})
readonly_tables[gview] = true
readonly_tables[G] = true
raw_setmetatable(G, {__index = globals, __newindex = refuse, __metatable = gview})
raw_setfenv(0, G)
return function(f, ...)
  local n = select('#', ...)
  if n == 0 then
    return xpcall(f, handler)
  end
  local args = {...}
  return xpcall(function() return f(raw_unpack(args, 1, n)) end, handler)
end
"#;

/// The scripting engine: the interpreter and the scripts it compiled, by SHA-1.
pub struct Scripts {
    pub(crate) lua: Lua,
    /// Runs a compiled script under the error handler: `(ok, value)`.
    runner: Function,
    cache: HashMap<String, (Function, ScriptFlags)>,
    /// The SHA-1 of each script body compiled.
    by_body: HashMap<Box<[u8]>, String>,
    /// The script client, kept between runs.
    spare: Option<Box<Client>>,
    /// A killed script left the hook firing at every line.
    line_hook: bool,
    /// Scripts run, for the garbage collector's pace.
    runs: u64,
}

/// What the Rust side of a running script needs.
struct Run {
    server: *mut Server,
    client: Box<Client>,
    name: String,
    started_ms: u64,
    read_only: bool,
    allow_oom: bool,
    oom: bool,
    /// RESP version of the replies `redis.call` returns (`redis.setresp`).
    resp3: bool,
    wrote: bool,
    /// A read-only command ran: the caller's tracking remembers the script's declared keys.
    read: bool,
    /// A command called by the script is running (nothing may call another meanwhile).
    in_call: bool,
    kill: bool,
    /// The line the script was at when killed.
    kill_line: usize,
    /// The error table of a failed `redis.call`, for the error handler.
    pending_error: Option<Table>,
    /// The arguments of the command being called, rebuilt in place for each call.
    argv: SavedArgv,
}

thread_local! {
    /// The script running on this (the event loop's) thread, if any.
    static RUN: Cell<*mut Run> = const { Cell::new(ptr::null_mut()) };
}

/// Shebang flags (`#!lua flags=no-writes,allow-oom`), or a function's flags.
#[derive(Default, Clone, Copy)]
pub(crate) struct ScriptFlags {
    pub no_writes: bool,
    pub allow_oom: bool,
    pub allow_stale: bool,
    pub no_cluster: bool,
    pub allow_cross_slot: bool,
}

pub(crate) fn lua_err(e: mlua::Error) -> CmdError {
    CmdError::owned(format!("ERR {e}"))
}

impl Scripts {
    pub(crate) fn new() -> mlua::Result<Scripts> {
        // SAFETY: the debug library is loaded for the error handler and the globals protection,
        // as Redis loads it; scripts are trusted code run by the server's own users.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::new(),
            )
        };
        let g = lua.globals();
        for name in ["loadfile", "dofile"] {
            g.raw_set(name, Value::Nil)?;
        }
        let redis = lua.create_table()?;
        redis.set("sha1hex", lua.create_function(lua_sha1hex)?)?;
        redis.set("error_reply", lua.create_function(lua_error_reply)?)?;
        redis.set("status_reply", lua.create_function(lua_status_reply)?)?;
        redis.set("log", lua.create_function(lua_log)?)?;
        redis.set("setresp", lua.create_function(lua_setresp)?)?;
        redis.set("set_repl", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
        redis.set(
            "replicate_commands",
            lua.create_function(|_, _: MultiValue| Ok(true))?,
        )?;
        redis.set(
            "breakpoint",
            lua.create_function(|_, _: MultiValue| Ok(false))?,
        )?;
        redis.set("debug", lua.create_function(|_, _: MultiValue| Ok(()))?)?;
        for (name, level) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
        ] {
            redis.set(name, level)?;
        }
        for (name, v) in [
            ("REPL_NONE", 0),
            ("REPL_AOF", 1),
            ("REPL_SLAVE", 2),
            ("REPL_REPLICA", 2),
            ("REPL_ALL", 3),
        ] {
            redis.set(name, v)?;
        }
        redis.set("REDIS_VERSION", ember_core::REDIS_VERSION)?;
        redis.set("REDIS_VERSION_NUM", redis_version_num())?;
        g.raw_set("redis", redis)?;
        g.raw_set("bit", bit_library(&lua)?)?;
        g.raw_set("cjson", crate::script_json::library(&lua)?)?;
        // Lua 5.1.5's unpack overflows the C stack on huge ranges (Redis patches its copy of
        // Lua); this one checks the range against LUAI_MAXCSTACK first.
        g.raw_set("unpack", lua.create_function(lua_unpack)?)?;
        let redis: Table = g.raw_get("redis")?;
        redis.set(
            "call",
            lua.create_function(|lua, args| match lua_raw_call(lua, args)? {
                (true, v) => Ok(v),
                (false, err) => {
                    if let (Some(run), Value::Table(t)) = (current(), err) {
                        run.pending_error = Some(t);
                    }
                    Err(mlua::Error::runtime("redis.call failed"))
                }
            })?,
        )?;
        redis.set(
            "pcall",
            lua.create_function(|lua, args| Ok(lua_raw_call(lua, args)?.1))?,
        )?;
        let take =
            lua.create_function(|_, ()| Ok(current().and_then(|r| r.pending_error.take())))?;
        // The message of an error a Rust function raised, without mlua's traceback.
        let describe = lua.create_function(|_, v: Value| {
            Ok(match v {
                Value::Error(e) => error_message(&e),
                other => other.to_string().unwrap_or_default(),
            })
        })?;
        let runner: Function = lua
            .load(PRELUDE)
            .set_name("=ember")
            .call((take, describe))?;
        lua.set_hook(
            HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
            hook,
        )?;
        lua.gc_collect()?;
        Ok(Scripts {
            lua,
            runner,
            cache: HashMap::new(),
            by_body: HashMap::new(),
            spare: None,
            line_hook: false,
            runs: 0,
        })
    }

    /// Bytes of script bodies held (INFO's `used_memory_scripts_eval`).
    pub fn body_bytes(&self) -> usize {
        self.by_body.keys().map(|b| b.len()).sum()
    }

    pub fn count(&self) -> usize {
        self.cache.len()
    }

    /// Bytes the interpreter uses (`used_memory_lua`).
    pub fn lua_bytes(&self) -> usize {
        self.lua.used_memory()
    }

    /// Compiles `body` under its SHA-1 unless already known; returns the SHA-1.
    fn load(&mut self, body: &[u8]) -> Result<String, CmdError> {
        // A body seen before skips the SHA-1 (EVAL of the same script is the common case).
        if let Some(sha) = self.by_body.get(body) {
            return Ok(sha.clone());
        }
        let sha = crate::sha1::hex(body);
        if self.cache.contains_key(&sha) {
            return Ok(sha);
        }
        let source = strip_shebang(body);
        let f = self
            .lua
            .load(source.as_ref())
            .set_name("@user_script")
            .set_mode(mlua::chunk::ChunkMode::Text)
            .into_function()
            .map_err(|e| {
                let msg = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    other => other.to_string(),
                };
                CmdError::owned(format!("ERR Error compiling script (new function): {msg}"))
            })?;
        let flags = shebang_flags(body)?.unwrap_or_default();
        self.cache.insert(sha.clone(), (f, flags));
        self.by_body.insert(body.into(), sha.clone());
        Ok(sha)
    }
}

/// The message of an error from a Rust callback (the cause, not mlua's wrapping or traceback).
fn error_message(e: &mlua::Error) -> String {
    match e {
        mlua::Error::CallbackError { cause, .. } => error_message(cause),
        mlua::Error::RuntimeError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// A shebang line is replaced by a comment, so that line numbers stay the same.
fn strip_shebang(body: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    if body.starts_with(b"#!") {
        let mut v = b"--".to_vec();
        v.extend_from_slice(body);
        std::borrow::Cow::Owned(v)
    } else {
        std::borrow::Cow::Borrowed(body)
    }
}

/// Parses a `#!lua [flags=a,b]` first line; `None` without one.
fn shebang_flags(body: &[u8]) -> Result<Option<ScriptFlags>, CmdError> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let line_end = body.iter().position(|&b| b == b'\n').unwrap_or(body.len());
    let line = String::from_utf8_lossy(&body[2..line_end]);
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if engine != "lua" {
        let shebang = String::from_utf8_lossy(&body[..line_end]);
        return Err(CmdError::owned(format!(
            "ERR Unexpected engine in script shebang: {shebang}"
        )));
    }
    let mut f = ScriptFlags::default();
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(CmdError::owned(format!(
                "ERR Unknown lua shebang option: {part}"
            )));
        };
        for flag in list.split(',').filter(|s| !s.is_empty()) {
            match flag {
                "no-writes" => f.no_writes = true,
                "allow-oom" => f.allow_oom = true,
                "allow-stale" => f.allow_stale = true,
                "no-cluster" => f.no_cluster = true,
                "allow-cross-slot-keys" => f.allow_cross_slot = true,
                other => {
                    return Err(CmdError::owned(format!(
                        "ERR Unexpected flag in script shebang: {other}"
                    )))
                }
            }
        }
    }
    Ok(Some(f))
}

pub(crate) fn redis_version_num() -> i64 {
    let mut n = 0;
    for part in ember_core::REDIS_VERSION.split('.').take(3) {
        n = n * 256 + part.parse::<i64>().unwrap_or(0);
    }
    n
}

/// The running script, when called from inside one.
fn current() -> Option<&'static mut Run> {
    let p = RUN.with(Cell::get);
    // SAFETY: RUN is set by `run_script` to a `Run` on its stack for exactly the duration of the
    // Lua call and cleared before it returns; only this thread's Lua calls reach here.
    unsafe { p.as_mut() }
}

/// An `{err=...}` table as Redis's `luaPushError` builds it: a message without an error code
/// gets `ERR`.
fn error_table(lua: &Lua, msg: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    let text = if msg.split(' ').next().is_some_and(|code| {
        !code.is_empty() && code.bytes().all(|b| b.is_ascii_uppercase() || b == b'_')
    }) && msg.contains(' ')
    {
        msg.to_string()
    } else {
        format!("ERR {msg}")
    };
    t.set("err", text)?;
    Ok(t)
}

/// redis.call and redis.pcall: `(true, reply)` or `(false, error table)`.
fn lua_raw_call(lua: &Lua, args: MultiValue) -> mlua::Result<(bool, Value)> {
    let fail = |msg: &str| -> mlua::Result<(bool, Value)> {
        Ok((false, Value::Table(error_table(lua, msg)?)))
    };
    let Some(run) = current() else {
        return fail("ERR redis.call is only available inside a script");
    };
    if args.is_empty() {
        return fail("ERR Please specify at least one argument for this redis lib call");
    }
    let mut saved = std::mem::take(&mut run.argv);
    saved.clear();
    for v in args {
        let bytes = match v {
            Value::String(s) => s,
            Value::Integer(_) | Value::Number(_) => match lua.coerce_string(v)? {
                Some(s) => s,
                None => {
                    return fail("ERR Lua redis lib command arguments must be strings or integers")
                }
            },
            _ => return fail("ERR Lua redis lib command arguments must be strings or integers"),
        };
        saved.push(&bytes.as_bytes());
    }
    let result = call_command(lua, run, &saved);
    run.argv = saved;
    result
}

/// Runs one command for `redis.call`/`redis.pcall`.
fn call_command(lua: &Lua, run: &mut Run, saved: &SavedArgv) -> mlua::Result<(bool, Value)> {
    let fail = |msg: &str| -> mlua::Result<(bool, Value)> {
        Ok((false, Value::Table(error_table(lua, msg)?)))
    };
    let cmd = saved.argv();
    // SAFETY: see `current`: the server outlives the run and nothing else borrows it meanwhile.
    let s = unsafe { &mut *run.server };
    let Some(idx) = s.commands.lookup(cmd.get(0)) else {
        return fail("ERR Unknown Redis command called from script");
    };
    let info = s.commands.entries[idx].info;
    if !info.arity_ok(cmd.len()) {
        return fail("ERR Wrong number of args calling Redis command from script");
    }
    // A subcommand's flags decide (SCRIPT LOAD and CONFIG SET are noscript, XGROUP CREATE writes).
    let cmd_flags = crate::server::command_flags(info, cmd);
    if cmd_flags & flags::NOSCRIPT != 0 {
        return fail("ERR This Redis command is not allowed from script");
    }
    let writes = cmd_flags & flags::WRITE != 0;
    if writes && run.read_only {
        return fail("ERR Write commands are not allowed from read-only scripts.");
    }
    if cmd_flags & flags::DENYOOM != 0 && run.oom && !run.allow_oom {
        return fail("OOM command not allowed when used memory > 'maxmemory'.");
    }
    if writes && s.master.is_some() && s.config.get_bool("replica-read-only") {
        return fail("READONLY You can't write against a read only replica.");
    }
    if run.in_call {
        return fail("ERR redis.call is not reentrant");
    }
    run.in_call = true;
    run.client.out.clear();
    run.client.proto = if run.resp3 {
        Proto::Resp3
    } else {
        Proto::Resp2
    };
    s.call(&mut run.client, cmd);
    run.in_call = false;
    run.wrote |= writes;
    run.read |= cmd_flags & flags::READONLY != 0;
    let out = std::mem::take(&mut run.client.out);
    let converted = match parse_reply(&out) {
        Ok((reply, _)) => reply_to_lua(lua, &reply, run.resp3),
        Err(_) => return fail("ERR the command's reply could not be read"),
    };
    run.client.out = out;
    run.client.out.clear();
    match converted? {
        Value::Table(t) if t.contains_key("err")? => Ok((false, Value::Table(t))),
        v => Ok((true, v)),
    }
}

/// A RESP reply as Lua sees it (Redis's `redisProtocolToLuaType`).
fn reply_to_lua(lua: &Lua, r: &Reply, resp3: bool) -> mlua::Result<Value> {
    let wrap = |key: &str, v: Value| -> mlua::Result<Value> {
        let t = lua.create_table()?;
        t.set(key, v)?;
        Ok(Value::Table(t))
    };
    Ok(match r {
        Reply::Status(s) => wrap("ok", Value::String(lua.create_string(s)?))?,
        Reply::Error(e) => wrap("err", Value::String(lua.create_string(e)?))?,
        Reply::Integer(n) => Value::Number(*n as f64),
        Reply::Bulk(b) => Value::String(lua.create_string(b)?),
        Reply::Null if resp3 => Value::Nil,
        Reply::Null => Value::Boolean(false),
        Reply::Boolean(b) => Value::Boolean(*b),
        Reply::Double(d) => wrap("double", Value::Number(*d))?,
        Reply::BigNumber(b) => wrap("big_number", Value::String(lua.create_string(b)?))?,
        Reply::Array(items) | Reply::Push(items) => {
            let t = lua.create_table_with_capacity(items.len(), 0)?;
            for (i, item) in items.iter().enumerate() {
                t.raw_set(i + 1, reply_to_lua(lua, item, resp3)?)?;
            }
            Value::Table(t)
        }
        Reply::Set(items) => {
            let t = lua.create_table()?;
            for item in items {
                t.raw_set(reply_to_lua(lua, item, resp3)?, true)?;
            }
            wrap("set", Value::Table(t))?
        }
        Reply::Map(pairs) => {
            let t = lua.create_table()?;
            for (k, v) in pairs {
                t.raw_set(reply_to_lua(lua, k, resp3)?, reply_to_lua(lua, v, resp3)?)?;
            }
            wrap("map", Value::Table(t))?
        }
    })
}

/// The walk over a script's return value: the RESP version the script chose, the tables being
/// written (a table inside itself would never end), and how many more values may be written (a
/// table referenced twice at every level would take exponential time).
struct ReplyWalk {
    script_resp3: bool,
    path: Vec<*const std::ffi::c_void>,
    budget: usize,
    tables: usize,
}

/// Writes a script's return value as the caller's reply (Redis's `luaReplyToRedisReply`). False
/// when the reply has more than [`REPLY_VALUES_MAX`] values or [`REPLY_TABLES_MAX`] tables (the
/// walk stops there).
fn write_value(w: &mut ReplyWriter<'_>, v: &Value, walk: &mut ReplyWalk) -> bool {
    let script_resp3 = walk.script_resp3;
    if walk.budget == 0 {
        return false;
    }
    walk.budget -= 1;
    match v {
        Value::String(s) => w.bulk(&s.as_bytes()),
        Value::Boolean(true) if !script_resp3 => w.int(1),
        Value::Boolean(false) if !script_resp3 => w.null(),
        Value::Boolean(b) => w.boolean(*b),
        Value::Integer(n) => w.int(*n),
        Value::Number(n) => w.int(*n as i64),
        Value::Table(t) => {
            if walk.tables == 0 {
                return false;
            }
            walk.tables -= 1;
            let ptr = t.to_pointer();
            if walk.path.len() >= REPLY_DEPTH_MAX || walk.path.contains(&ptr) {
                w.error(b"ERR reached lua stack limit");
                return true;
            }
            walk.path.push(ptr);
            let ok = write_table(w, t, walk);
            walk.path.pop();
            return ok;
        }
        _ => w.null(),
    }
    true
}

fn write_table(w: &mut ReplyWriter<'_>, t: &Table, walk: &mut ReplyWalk) -> bool {
    if let Ok(Value::String(e)) = t.raw_get::<Value>("err") {
        let text = String::from_utf8_lossy(&e.as_bytes()).replace(['\r', '\n'], " ");
        w.error(text.as_bytes());
        return true;
    }
    if let Ok(Value::String(s)) = t.raw_get::<Value>("ok") {
        let text = String::from_utf8_lossy(&s.as_bytes()).replace(['\r', '\n'], " ");
        w.simple(text.as_bytes());
        return true;
    }
    if let Ok(Value::Number(d)) = t.raw_get::<Value>("double") {
        w.double(d);
        return true;
    }
    if let Ok(Value::String(b)) = t.raw_get::<Value>("big_number") {
        w.bignum(&b.as_bytes());
        return true;
    }
    if let Ok(Value::Table(m)) = t.raw_get::<Value>("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(Result::ok).collect();
        w.map(pairs.len());
        return pairs
            .iter()
            .all(|(k, v)| write_value(w, k, walk) && write_value(w, v, walk));
    }
    if let Ok(Value::Table(s)) = t.raw_get::<Value>("set") {
        let members: Vec<Value> = s
            .pairs::<Value, Value>()
            .filter_map(Result::ok)
            .map(|(k, _)| k)
            .collect();
        w.set(members.len());
        return members.iter().all(|m| write_value(w, m, walk));
    }
    // An array: elements 1, 2, ... up to the first nil.
    let mut items = Vec::new();
    loop {
        match t.raw_get::<Value>(items.len() + 1) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    w.array(items.len());
    items.iter().all(|v| write_value(w, v, walk))
}

fn lua_sha1hex(_: &Lua, args: MultiValue) -> mlua::Result<String> {
    match args.front() {
        Some(Value::String(s)) if args.len() == 1 => Ok(crate::sha1::hex(&s.as_bytes())),
        Some(v @ (Value::Number(_) | Value::Integer(_))) if args.len() == 1 => {
            Ok(crate::sha1::hex(v.to_string()?.as_bytes()))
        }
        _ => Err(mlua::Error::runtime("wrong number of arguments")),
    }
}

fn lua_error_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Table> {
    match args.front() {
        Some(Value::String(s)) if args.len() == 1 => {
            let text = s.to_str()?.to_string();
            let text = text.strip_prefix('-').unwrap_or(&text);
            let full = match text.split_once(' ') {
                Some(_) => text.to_string(),
                None => format!("ERR {text}"),
            };
            let t = lua.create_table()?;
            t.set("err", full)?;
            Ok(t)
        }
        _ => error_table(lua, "wrong number or type of arguments"),
    }
}

fn lua_status_reply(lua: &Lua, args: MultiValue) -> mlua::Result<Table> {
    match args.front() {
        Some(Value::String(s)) if args.len() == 1 => {
            let t = lua.create_table()?;
            t.set("ok", s.clone())?;
            Ok(t)
        }
        _ => error_table(lua, "wrong number or type of arguments"),
    }
}

pub(crate) fn lua_log(lua: &Lua, args: MultiValue) -> mlua::Result<()> {
    if args.len() < 2 {
        return Err(mlua::Error::runtime(
            "redis.log() requires two arguments or more.",
        ));
    }
    let mut it = args.into_iter();
    let level = match it.next() {
        Some(Value::Integer(n)) => n,
        Some(Value::Number(n)) => n as i64,
        _ => {
            return Err(mlua::Error::runtime(
                "First argument must be a number (log level).",
            ))
        }
    };
    let mut msg = String::new();
    for (i, v) in it.enumerate() {
        if i > 0 {
            msg.push(' ');
        }
        if let Some(s) = lua.coerce_string(v)? {
            msg.push_str(&s.to_string_lossy());
        }
    }
    match level {
        0 => log_at!(Debug, "{msg}"),
        1 => log_at!(Verbose, "{msg}"),
        2 => log_at!(Notice, "{msg}"),
        3 => log_at!(Warning, "{msg}"),
        _ => return Err(mlua::Error::runtime("Invalid debug level.")),
    }
    Ok(())
}

fn lua_setresp(_: &Lua, args: MultiValue) -> mlua::Result<()> {
    let v = match args.front() {
        Some(Value::Integer(n)) if args.len() == 1 => *n,
        Some(Value::Number(n)) if args.len() == 1 => *n as i64,
        _ => {
            return Err(mlua::Error::runtime(
                "redis.setresp() requires one argument.",
            ))
        }
    };
    if v != 2 && v != 3 {
        return Err(mlua::Error::runtime("RESP version must be 2 or 3."));
    }
    if let Some(run) = current() {
        run.resp3 = v == 3;
    }
    Ok(())
}

/// `unpack(t [, i [, j]])`: t[i], ..., t[j] (raw reads), at most [`UNPACK_MAX`] of them.
fn lua_unpack(_: &Lua, (t, i, j): (Table, Option<f64>, Option<f64>)) -> mlua::Result<MultiValue> {
    let first = i.map_or(1, |n| n as i64);
    let last = match j {
        Some(n) => n as i64,
        None => t.raw_len() as i64,
    };
    if first > last {
        return Ok(MultiValue::new());
    }
    if last.saturating_sub(first) >= UNPACK_MAX {
        return Err(mlua::Error::runtime("too many results to unpack"));
    }
    let mut out = MultiValue::new();
    for k in first..=last {
        out.push_back(t.raw_get::<Value>(k)?);
    }
    Ok(out)
}

/// The `bit` library (LuaBitOp's API, as Redis bundles it): 32-bit operations on numbers.
fn bit_library(lua: &Lua) -> mlua::Result<Table> {
    fn tobit(v: f64) -> i32 {
        // LuaBitOp normalizes through a double with 2^52 + 2^51 added; modular conversion gives
        // the same result for the values scripts use.
        (v as i64) as i32
    }
    let t = lua.create_table()?;
    t.set("tobit", lua.create_function(|_, a: f64| Ok(tobit(a)))?)?;
    t.set("bnot", lua.create_function(|_, a: f64| Ok(!tobit(a)))?)?;
    let fold = |op: fn(i32, i32) -> i32| {
        move |_: &Lua, args: mlua::Variadic<f64>| {
            Ok(args
                .iter()
                .skip(1)
                .fold(tobit(args.first().copied().unwrap_or(0.0)), |acc, &x| {
                    op(acc, tobit(x))
                }))
        }
    };
    t.set("band", lua.create_function(fold(|a, b| a & b))?)?;
    t.set("bor", lua.create_function(fold(|a, b| a | b))?)?;
    t.set("bxor", lua.create_function(fold(|a, b| a ^ b))?)?;
    t.set(
        "lshift",
        lua.create_function(|_, (a, n): (f64, f64)| {
            Ok(((tobit(a) as u32) << (tobit(n) & 31)) as i32)
        })?,
    )?;
    t.set(
        "rshift",
        lua.create_function(|_, (a, n): (f64, f64)| {
            Ok(((tobit(a) as u32) >> (tobit(n) & 31)) as i32)
        })?,
    )?;
    t.set(
        "arshift",
        lua.create_function(|_, (a, n): (f64, f64)| Ok(tobit(a) >> (tobit(n) & 31)))?,
    )?;
    t.set(
        "rol",
        lua.create_function(|_, (a, n): (f64, f64)| {
            Ok((tobit(a) as u32).rotate_left((tobit(n) & 31) as u32) as i32)
        })?,
    )?;
    t.set(
        "ror",
        lua.create_function(|_, (a, n): (f64, f64)| {
            Ok((tobit(a) as u32).rotate_right((tobit(n) & 31) as u32) as i32)
        })?,
    )?;
    t.set(
        "bswap",
        lua.create_function(|_, a: f64| Ok(tobit(a).swap_bytes()))?,
    )?;
    t.set(
        "tohex",
        lua.create_function(|_, (a, n): (f64, Option<f64>)| {
            let n = n.map_or(8, tobit);
            let upper = n < 0;
            let n = n.unsigned_abs().clamp(1, 8) as usize;
            let v = tobit(a) as u32;
            let s = if upper {
                format!("{v:08X}")
            } else {
                format!("{v:08x}")
            };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

/// The instruction-count hook: past the busy threshold, serves other clients; stops a killed
/// script.
fn hook(lua: &Lua, debug: &mlua::debug::Debug) -> mlua::Result<VmState> {
    let p = RUN.with(Cell::get);
    if p.is_null() {
        // A function library's loading code runs without a script context, under a deadline.
        if crate::function::load_timed_out() {
            return Err(mlua::Error::runtime("FUNCTION LOAD timeout"));
        }
        return Ok(VmState::Continue);
    }
    // SAFETY: see `current`. No reference to the `Run` is held while other clients are served
    // (SCRIPT KILL reads it meanwhile); hooks fire between Lua instructions, never inside a
    // `redis.call`.
    let (server, started_ms) = unsafe { ((*p).server, (*p).started_ms) };
    // SAFETY: as above; the server outlives the run and is not otherwise borrowed meanwhile.
    let s = unsafe { &mut *server };
    let elapsed = sys::now_ms().saturating_sub(started_ms);
    let threshold = s.config.get_int("busy-reply-threshold").max(0) as u64;
    if !s.script_busy && elapsed >= threshold {
        // SAFETY: as above.
        let name = unsafe { (*p).name.clone() };
        log_at!(
            Warning,
            "Slow script detected: still in execution after {elapsed} milliseconds. You can try killing the script using the SCRIPT KILL command. Script name is: {name}."
        );
        s.script_busy = true;
    }
    let mut kill = false;
    if s.script_busy {
        s.process_events_while_busy();
        kill = s.shutdown_requested || std::mem::take(&mut s.script_kill_requested);
    }
    // SAFETY: as above; nothing else refers to the `Run` now.
    let run = unsafe { &mut *p };
    run.kill |= kill;
    if run.kill {
        run.kill_line = debug.current_line().unwrap_or(0);
        // From now on the error comes back at every line, so a `pcall` in the script cannot
        // swallow it for good (the hook returns to counting for the next script).
        lua.set_hook(HookTriggers::new().every_line(), hook)?;
        return Err(mlua::Error::runtime(KILLED_ERROR));
    }
    Ok(VmState::Continue)
}

/// Makes the script client stand for the caller `c`: its ID and descriptor (NOLOOP tracking and
/// WATCH find the caller through them), database, and its tracking and watched keys for the
/// duration of the script.
fn lend_caller(client: &mut Client, c: &mut Client) {
    client.id = c.id;
    client.fd = c.fd;
    client.db = c.db;
    client.in_exec = true;
    client.script = true;
    client.tracking = c.tracking.take();
    client.watched = std::mem::take(&mut c.watched);
    client.dirty_cas = c.dirty_cas;
}

/// Gives the caller back what [`lend_caller`] lent, and leaves the script client blank.
fn return_caller(client: &mut Client, c: &mut Client) {
    c.tracking = client.tracking.take();
    c.watched = std::mem::take(&mut client.watched);
    c.dirty_cas = client.dirty_cas;
    client.dirty_cas = false;
    // Not the caller's socket any more: Drop must not close it.
    client.fd = -1;
    client.out.clear();
    client.multi = None;
    client.push_spans.clear();
}

/// Which interpreter runs a script: EVAL's, or the function libraries' (as in Redis, SCRIPT FLUSH
/// leaves functions alone).
#[derive(Clone, Copy)]
pub(crate) enum Which {
    Eval,
    Function,
}

fn engine_of(s: &mut Server, which: Which) -> Option<&mut Scripts> {
    match which {
        Which::Eval => s.scripts.as_mut(),
        Which::Function => s.functions.as_mut().map(|f| &mut f.engine),
    }
}

/// A compiled script or function to run.
pub(crate) struct Target {
    pub which: Which,
    pub f: Function,
    pub flags: ScriptFlags,
    /// What errors name it by: the script's SHA-1, or the function's name.
    pub name: String,
    /// A function gets KEYS and ARGV as its two arguments; a script, as globals.
    pub params: bool,
}

/// Runs the compiled script `sha` for `c`, writing its reply.
fn run_script(
    s: &mut Server,
    c: &mut Client,
    sha: &str,
    keys: Argv<'_>,
    args: Argv<'_>,
    read_only: bool,
) -> CmdResult {
    let Some(sc) = s.scripts.as_ref() else {
        return Err(CmdError::new("ERR scripting is not available"));
    };
    let Some((f, flags)) = sc.cache.get(sha) else {
        return Err(CmdError::new(
            "NOSCRIPT No matching script. Please use EVAL.",
        ));
    };
    let target = Target {
        which: Which::Eval,
        f: f.clone(),
        flags: *flags,
        name: sha.to_string(),
        params: false,
    };
    run_target(s, c, target, keys, args, read_only)
}

/// Runs `t` for `c` with `keys` and `args`, writing its reply.
pub(crate) fn run_target(
    s: &mut Server,
    c: &mut Client,
    t: Target,
    keys: Argv<'_>,
    args: Argv<'_>,
    read_only: bool,
) -> CmdResult {
    let Some(sc) = engine_of(s, t.which) else {
        return Err(CmdError::new("ERR scripting is not available"));
    };
    let (f, flags, lua, runner) = (t.f, t.flags, sc.lua.clone(), sc.runner.clone());
    let oom = s.hot.maxmemory > 0 && crate::alloc::used() > s.hot.maxmemory as usize;
    let to_table = |a: Argv<'_>| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(a.len(), 0)?;
        for (i, x) in a.iter().enumerate() {
            t.raw_set(i + 1, lua.create_string(x)?)?;
        }
        Ok(t)
    };
    let g = lua.globals();
    let keys_t = to_table(keys).map_err(lua_err)?;
    let args_t = to_table(args).map_err(lua_err)?;
    if !t.params {
        g.raw_set("KEYS", keys_t.clone()).map_err(lua_err)?;
        g.raw_set("ARGV", args_t.clone()).map_err(lua_err)?;
    }
    // The script client stands for the caller in client tracking: same ID (NOLOOP), and the
    // caller's tracking state for the duration of the script.
    s.running_function = t.params;
    if let Some(sc) = engine_of(s, t.which) {
        if std::mem::take(&mut sc.line_hook) {
            sc.lua
                .set_hook(
                    HookTriggers::new().every_nth_instruction(HOOK_INSTRUCTIONS),
                    hook,
                )
                .map_err(lua_err)?;
        }
    }
    let spare = engine_of(s, t.which).and_then(|sc| sc.spare.take());
    let mut client = spare.unwrap_or_else(|| {
        Box::new(Client::new(
            0,
            -1,
            false,
            "lua".into(),
            String::new(),
            sys::now_ms(),
            true,
        ))
    });
    lend_caller(&mut client, c);
    let mut run = Run {
        server: s,
        client,
        name: t.name,
        started_ms: sys::now_ms(),
        read_only: read_only || flags.no_writes,
        allow_oom: flags.allow_oom,
        oom,
        resp3: false,
        wrote: false,
        read: false,
        in_call: false,
        kill: false,
        kill_line: 0,
        pending_error: None,
        argv: SavedArgv::default(),
    };
    RUN.with(|r| r.set(&mut run));
    let result = if t.params {
        runner.call::<(bool, Value)>((f, keys_t, args_t))
    } else {
        runner.call::<(bool, Value)>(f)
    };
    RUN.with(|r| r.set(ptr::null_mut()));
    return_caller(&mut run.client, c);
    let (killed, line, resp3, read) = (run.kill, run.kill_line, run.resp3, run.read);
    if killed {
        if let Some(sc) = engine_of(s, t.which) {
            sc.line_hook = true;
        }
    }
    let source = if t.params {
        "@user_function"
    } else {
        "@user_script"
    };
    let name = std::mem::take(&mut run.name);
    if let Some(sc) = engine_of(s, t.which) {
        sc.spare = Some(run.client);
        // Like Redis, a step of garbage collection every few scripts keeps the heap small.
        sc.runs = sc.runs.wrapping_add(1);
        if sc.runs % GC_EVERY_RUNS == 0 {
            let _ = sc.lua.gc_step();
        }
    }
    if s.script_busy {
        s.script_busy = false;
        s.script_kill_requested = false;
        log_at!(Warning, "Slow script finished.");
    }
    if read && c.tracking.is_some() {
        s.tracking_remember(c, keys.iter());
    }
    let _ = g.raw_set("KEYS", Value::Nil);
    let _ = g.raw_set("ARGV", Value::Nil);
    if killed {
        return Err(CmdError::owned(format!(
            "{KILLED_ERROR} script: {name}, on {source}:{line}."
        )));
    }
    match result {
        Ok((true, v)) => {
            let mut walk = ReplyWalk {
                script_resp3: resp3,
                path: Vec::new(),
                budget: REPLY_VALUES_MAX,
                tables: REPLY_TABLES_MAX,
            };
            // Built aside: a reply cut short at the limit must not reach the client half written.
            let mut buf = Vec::new();
            if !write_value(&mut ReplyWriter::new(&mut buf, c.proto), &v, &mut walk) {
                return Err(CmdError::new("ERR the script's reply has too many values"));
            }
            c.out.extend_from_slice(&buf);
        }
        Ok((false, Value::Table(t))) => {
            let msg: String = t
                .raw_get::<Option<mlua::LuaString>>("err")
                .ok()
                .flatten()
                .map(|s| s.to_string_lossy())
                .unwrap_or_else(|| "ERR unknown error".into());
            let line: Option<i64> = t.raw_get("line").ok();
            let source: Option<String> = t.raw_get("source").ok();
            let mut text = msg.replace(['\r', '\n'], " ");
            if let (Some(line), Some(source)) = (line, source) {
                text.push_str(&format!(" script: {name}, on {source}:{line}."));
            }
            return Err(CmdError::owned(text));
        }
        Ok((false, other)) => {
            let msg = lua
                .coerce_string(other)
                .ok()
                .flatten()
                .map(|s| s.to_string_lossy());
            return Err(CmdError::owned(format!(
                "ERR Error running script {name}, {}",
                msg.unwrap_or_else(|| "execution failure".into())
            )));
        }
        Err(e) => {
            return Err(CmdError::owned(format!(
                "ERR Error running script {name}, {}",
                e.to_string().lines().next().unwrap_or("")
            )))
        }
    }
    Ok(())
}

/// The scripting engine, created on first use.
fn engine(s: &mut Server) -> Result<&mut Scripts, CmdError> {
    if s.scripts.is_none() {
        s.scripts = Some(Scripts::new().map_err(lua_err)?);
    }
    s.scripts
        .as_mut()
        .ok_or(CmdError::new("ERR scripting is not available"))
}

/// Parses `numkeys` and splits the rest into KEYS and ARGV.
pub(crate) fn split_keys<'a>(argv: Argv<'a>) -> Result<(Argv<'a>, Argv<'a>), CmdError> {
    let n = arg_i64(argv.get(2))?;
    if n < 0 {
        return Err(CmdError::new("ERR Number of keys can't be negative"));
    }
    let n = n as usize;
    if n > argv.len() - 3 {
        return Err(CmdError::new(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let rest = argv.tail(3);
    Ok((rest.head(n), rest.tail(n)))
}

fn eval_generic(
    s: &mut Server,
    c: &mut Client,
    argv: Argv<'_>,
    by_sha: bool,
    ro: bool,
) -> CmdResult {
    let (keys, args) = split_keys(argv)?;
    engine(s)?;
    let body = argv.get(1);
    let sha = if by_sha {
        String::from_utf8_lossy(body).to_ascii_lowercase()
    } else {
        engine(s)?.load(body)?
    };
    s.feed_monitors_for_script(c, argv);
    run_script(s, c, &sha, keys, args, ro)
}

pub fn eval(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    eval_generic(s, c, argv, false, false)
}

pub fn evalsha(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    eval_generic(s, c, argv, true, false)
}

pub fn eval_ro(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    eval_generic(s, c, argv, false, true)
}

pub fn evalsha_ro(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    eval_generic(s, c, argv, true, true)
}

const SCRIPT_HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Print this help.",
];

/// SCRIPT LOAD | EXISTS | FLUSH | KILL | HELP.
pub fn script(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = argv.get(1);
    let argc = argv.len();
    if eq_ci(sub, "load") && argc == 3 {
        shebang_flags(argv.get(2))?;
        let sha = engine(s)?.load(argv.get(2))?;
        crate::cmd::reply(c).bulk(sha.as_bytes());
    } else if eq_ci(sub, "exists") && argc >= 3 {
        let sc = s.scripts.as_ref();
        let mut w = crate::cmd::reply(c);
        w.array(argc - 2);
        for sha in argv.tail(2).iter() {
            let sha = String::from_utf8_lossy(sha).to_ascii_lowercase();
            w.int(i64::from(sc.is_some_and(|sc| sc.cache.contains_key(&sha))));
        }
    } else if eq_ci(sub, "flush") && argc <= 3 {
        if argc == 3 && !eq_ci(argv.get(2), "sync") && !eq_ci(argv.get(2), "async") {
            return Err(CmdError::new(
                "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
            ));
        }
        // A fresh interpreter drops the compiled scripts and any global state they left.
        s.scripts = None;
        crate::cmd::reply(c).ok();
    } else if eq_ci(sub, "kill") && argc == 2 {
        kill(s, false)?;
        crate::cmd::reply(c).ok();
    } else if eq_ci(sub, "help") && argc == 2 {
        crate::cmd::reply_help(c, SCRIPT_HELP);
    } else {
        return Err(CmdError::owned(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try SCRIPT HELP.",
            String::from_utf8_lossy(sub)
        )));
    }
    Ok(())
}

/// SCRIPT KILL (`function` false) / FUNCTION KILL: asks the busy script to stop, unless it
/// wrote or is of the other kind.
pub(crate) fn kill(s: &mut Server, function: bool) -> Result<(), CmdError> {
    if !s.script_busy {
        return Err(CmdError::new("NOTBUSY No scripts in execution right now."));
    }
    if s.running_function != function {
        return Err(busy_error(s.running_function));
    }
    if current().is_some_and(|r| r.wrote) {
        return Err(CmdError::new("UNKILLABLE Sorry the script already executed write commands against the dataset. You can either wait the script termination or kill the server in a hard way using the SHUTDOWN NOSAVE command."));
    }
    s.script_kill_requested = true;
    Ok(())
}

/// The refusal a busy script gives to commands without `allow_busy`.
pub fn busy_error(function: bool) -> CmdError {
    CmdError::new(if function {
        BUSY_FUNCTION_ERROR
    } else {
        BUSY_ERROR
    })
}
