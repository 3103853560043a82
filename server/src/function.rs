//! Redis 7 functions: FUNCTION LOAD | DELETE | FLUSH | LIST | STATS | KILL and FCALL, FCALL_RO.
//!
//! A library is Lua source starting with `#!lua name=<library>`. Loading runs it once in its own
//! environment, where `redis.register_function` (and `redis.log`) is all the API there is; the
//! functions it registers are then called by FCALL with KEYS and ARGV as their two arguments and
//! the full `redis` API (`redis.call` and the rest), on the same machinery as EVAL
//! ([`crate::script::run_target`]) but in an interpreter of their own, so SCRIPT FLUSH leaves them.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;

use ember_core::cmd::{eq_ci, CmdError, CmdResult};
use ember_core::glob::glob_match;
use ember_core::resp::Argv;
use mlua::{Function, Lua, MultiValue, Table, Value};

use crate::client::Client;
use crate::cmd::reply;
use crate::script::{lua_err, run_target, split_keys, ScriptFlags, Scripts, Target, Which};
use crate::server::Server;
use crate::sys;

/// Longest a library's loading code may run.
const LOAD_TIMEOUT_MS: u64 = 500;

/// One function a library registered.
struct Registered {
    name: String,
    f: Function,
    flags: ScriptFlags,
    description: Option<String>,
}

/// A loaded library: its source and the names of its functions.
struct Library {
    code: Vec<u8>,
    functions: Vec<String>,
}

/// The libraries and their functions, in an interpreter of their own.
pub struct Functions {
    pub(crate) engine: Scripts,
    libraries: BTreeMap<String, Library>,
    functions: HashMap<String, Registered>,
}

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The library name from the `#!lua name=<name>` first line.
fn library_name(code: &[u8]) -> Result<String, CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::new("ERR Missing library metadata"));
    }
    let end = code.iter().position(|&b| b == b'\n').unwrap_or(code.len());
    let line = String::from_utf8_lossy(&code[2..end]).into_owned();
    let mut parts = line.split(' ').filter(|p| !p.is_empty());
    let engine = parts.next().unwrap_or("");
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::owned(format!("ERR Engine '{engine}' not found")));
    }
    let mut name = None;
    for part in parts {
        match part.split_once('=') {
            Some(("name", v)) => name = Some(v.to_string()),
            _ => {
                return Err(CmdError::owned(format!(
                    "ERR Invalid metadata value given: {part}"
                )))
            }
        }
    }
    let name = name.ok_or(CmdError::new("ERR Library name was not given"))?;
    if !valid_name(&name) {
        return Err(CmdError::new("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    Ok(name)
}

fn parse_flags(t: &Table) -> mlua::Result<ScriptFlags> {
    let mut f = ScriptFlags::default();
    for v in t.sequence_values::<Value>() {
        let Value::String(s) = v? else {
            return Err(mlua::Error::runtime("unknown flag given"));
        };
        match s.to_str()?.as_ref() {
            "no-writes" => f.no_writes = true,
            "allow-oom" => f.allow_oom = true,
            "allow-stale" => f.allow_stale = true,
            "no-cluster" => f.no_cluster = true,
            "allow-cross-slot-keys" => f.allow_cross_slot = true,
            _ => return Err(mlua::Error::runtime("unknown flag given")),
        }
    }
    Ok(f)
}

/// `redis.register_function(name, callback)` or `redis.register_function{function_name=...,
/// callback=..., flags={...}, description=...}`.
fn register(args: MultiValue, out: &RefCell<Vec<Registered>>) -> mlua::Result<()> {
    let mut it = args.into_iter();
    let (name, f, flags, description) = match (it.next(), it.next()) {
        (Some(Value::String(n)), Some(Value::Function(f))) => {
            (n.to_str()?.to_string(), f, ScriptFlags::default(), None)
        }
        (Some(Value::Table(t)), None) => {
            let mut name = None;
            let mut f = None;
            let mut flags = ScriptFlags::default();
            let mut description = None;
            for pair in t.pairs::<String, Value>() {
                let (k, v) = pair?;
                match (k.as_str(), v) {
                    ("function_name", Value::String(s)) => name = Some(s.to_str()?.to_string()),
                    ("callback", Value::Function(cb)) => f = Some(cb),
                    ("flags", Value::Table(fl)) => flags = parse_flags(&fl)?,
                    ("description", Value::String(s)) => {
                        description = Some(s.to_str()?.to_string())
                    }
                    (other, _) => {
                        return Err(mlua::Error::runtime(format!(
                            "unknown argument given to redis.register_function: {other}"
                        )))
                    }
                }
            }
            let name = name.ok_or_else(|| {
                mlua::Error::runtime("redis.register_function must get a function name argument")
            })?;
            let f = f.ok_or_else(|| {
                mlua::Error::runtime("redis.register_function must get a callback argument")
            })?;
            (name, f, flags, description)
        }
        _ => {
            return Err(mlua::Error::runtime(
                "wrong number of arguments to redis.register_function",
            ))
        }
    };
    if !valid_name(&name) {
        return Err(mlua::Error::runtime("Function names can only contain letters, numbers, or underscores(_) and must be at least one character long"));
    }
    let mut out = out.borrow_mut();
    if out.iter().any(|r| r.name == name) {
        return Err(mlua::Error::runtime(
            "Function already exists in the library",
        ));
    }
    out.push(Registered {
        name,
        f,
        flags,
        description,
    });
    Ok(())
}

thread_local! {
    /// While a library loads: when its code must have finished.
    static LOAD_DEADLINE_MS: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

/// The load deadline, for the interpreter's hook: an error once it passed.
pub(crate) fn load_timed_out() -> bool {
    let at = LOAD_DEADLINE_MS.with(std::cell::Cell::get);
    at != 0 && sys::now_ms() > at
}

impl Functions {
    fn new() -> Result<Functions, CmdError> {
        Ok(Functions {
            engine: Scripts::new().map_err(lua_err)?,
            libraries: BTreeMap::new(),
            functions: HashMap::new(),
        })
    }

    /// Runs a library's code and returns the functions it registered.
    fn compile(&self, code: &[u8]) -> Result<Vec<Registered>, CmdError> {
        let lua: &Lua = &self.engine.lua;
        let err = |e: mlua::Error| {
            let msg = match &e {
                mlua::Error::SyntaxError { message, .. } => message.clone(),
                mlua::Error::RuntimeError(m) => m.clone(),
                mlua::Error::CallbackError { cause, .. } => cause.to_string(),
                other => other.to_string(),
            };
            // Lua's traceback is for logs, not for the reply.
            let msg = msg
                .split("\nstack traceback")
                .next()
                .unwrap_or("")
                .trim_end();
            CmdError::owned(format!("ERR Error registering functions: ERR {msg}"))
        };
        let registered = Rc::new(RefCell::new(Vec::new()));
        let env = lua.create_table().map_err(lua_err)?;
        let api = lua.create_table().map_err(lua_err)?;
        let sink = registered.clone();
        let reg = lua
            .create_function(move |_, args: MultiValue| register(args, &sink))
            .map_err(lua_err)?;
        api.set("register_function", reg).map_err(lua_err)?;
        api.set(
            "log",
            lua.create_function(crate::script::lua_log)
                .map_err(lua_err)?,
        )
        .map_err(lua_err)?;
        for (name, level) in [
            ("LOG_DEBUG", 0),
            ("LOG_VERBOSE", 1),
            ("LOG_NOTICE", 2),
            ("LOG_WARNING", 3),
        ] {
            api.set(name, level).map_err(lua_err)?;
        }
        api.set("REDIS_VERSION", ember_core::REDIS_VERSION)
            .map_err(lua_err)?;
        api.set("REDIS_VERSION_NUM", crate::script::redis_version_num())
            .map_err(lua_err)?;
        // Anything else under `redis` is not there while loading (redis.call in particular).
        let api_meta = lua.create_table().map_err(lua_err)?;
        let missing: Function = lua
            .load("return function(_, name) error(\"Script attempted to access nonexistent global variable '\" .. tostring(name) .. \"'\", 2) end")
            .eval()
            .map_err(lua_err)?;
        api_meta.set("__index", missing).map_err(lua_err)?;
        api.set_metatable(Some(api_meta)).map_err(lua_err)?;
        env.raw_set("redis", api).map_err(lua_err)?;
        // Everything else (string, table, math, ...) comes from the interpreter's globals.
        let meta = lua.create_table().map_err(lua_err)?;
        meta.set("__index", lua.globals()).map_err(lua_err)?;
        let refuse: Function = lua
            .load("return function() error('Attempt to modify a readonly table', 2) end")
            .eval()
            .map_err(lua_err)?;
        meta.set("__newindex", refuse).map_err(lua_err)?;
        env.set_metatable(Some(meta)).map_err(lua_err)?;
        // The first line is the shebang: a comment to Lua, so line numbers stay the same.
        let mut source = b"--".to_vec();
        source.extend_from_slice(code);
        let chunk = lua
            .load(source)
            .set_name("@user_function")
            .set_mode(mlua::chunk::ChunkMode::Text)
            .set_environment(env.clone())
            .into_function()
            .map_err(|e| match e {
                mlua::Error::SyntaxError { message, .. } => {
                    CmdError::owned(format!("ERR Error compiling function: {message}"))
                }
                other => err(other),
            })?;
        LOAD_DEADLINE_MS.with(|d| d.set(sys::now_ms() + LOAD_TIMEOUT_MS));
        let ran = chunk.call::<()>(());
        LOAD_DEADLINE_MS.with(|d| d.set(0));
        ran.map_err(|e| {
            if load_timed_out_error(&e) {
                CmdError::new("ERR FUNCTION LOAD timeout")
            } else {
                err(e)
            }
        })?;
        // After loading, the functions see the full API through the globals.
        env.raw_set("redis", Value::Nil).map_err(lua_err)?;
        let out = std::mem::take(&mut *registered.borrow_mut());
        if out.is_empty() {
            return Err(CmdError::new("ERR No functions registered"));
        }
        Ok(out)
    }

    /// FUNCTION LOAD: the library's name.
    fn load(&mut self, code: &[u8], replace: bool) -> Result<String, CmdError> {
        let name = library_name(code)?;
        if self.libraries.contains_key(&name) && !replace {
            return Err(CmdError::owned(format!(
                "ERR Library '{name}' already exists"
            )));
        }
        let registered = self.compile(code)?;
        for r in &registered {
            if let Some(existing) = self.functions.get(&r.name.to_ascii_lowercase()) {
                let owner = self
                    .libraries
                    .iter()
                    .find(|(_, l)| l.functions.contains(&existing.name))
                    .map(|(n, _)| n.as_str());
                if owner != Some(name.as_str()) {
                    return Err(CmdError::owned(format!(
                        "ERR Function {} already exists",
                        r.name
                    )));
                }
            }
        }
        self.delete(&name);
        let functions = registered.iter().map(|r| r.name.clone()).collect();
        for r in registered {
            self.functions.insert(r.name.to_ascii_lowercase(), r);
        }
        self.libraries.insert(
            name.clone(),
            Library {
                code: code.to_vec(),
                functions,
            },
        );
        Ok(name)
    }

    fn delete(&mut self, name: &str) -> bool {
        match self.libraries.remove(name) {
            Some(lib) => {
                for f in lib.functions {
                    self.functions.remove(&f.to_ascii_lowercase());
                }
                true
            }
            None => false,
        }
    }

    /// Library sources, for the RDB file and AOF rewrites.
    pub fn codes(&self) -> impl Iterator<Item = &[u8]> {
        self.libraries.values().map(|l| l.code.as_slice())
    }
}

fn load_timed_out_error(e: &mlua::Error) -> bool {
    e.to_string().contains("FUNCTION LOAD timeout")
}

/// Loads a library from an RDB file or an AOF (REPLACE semantics).
pub fn restore_library(s: &mut Server, code: &[u8]) -> Result<(), CmdError> {
    functions(s)?.load(code, true).map(|_| ())
}

/// Deletes a library replayed from an AOF (nothing when there is none).
pub fn delete_library(s: &mut Server, name: &str) {
    if let Some(f) = s.functions.as_mut() {
        f.delete(name);
    }
}

fn functions(s: &mut Server) -> Result<&mut Functions, CmdError> {
    if s.functions.is_none() {
        s.functions = Some(Functions::new()?);
    }
    s.functions
        .as_mut()
        .ok_or(CmdError::new("ERR functions are not available"))
}

const FUNCTION_HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library code (if WITHCODE is given)",
    "    * List of functions",
    "    * Each function's name, description and flags",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "HELP",
    "    Print this help.",
];

/// FUNCTION LOAD | DELETE | FLUSH | LIST | STATS | KILL | HELP.
pub fn function(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = argv.get(1);
    let argc = argv.len();
    if eq_ci(sub, "load") && argc >= 3 {
        let replace = argc == 4 && eq_ci(argv.get(2), "replace");
        if argc > 4 || (argc == 4 && !replace) {
            return Err(CmdError::owned(format!(
                "ERR Unknown option given: {}",
                String::from_utf8_lossy(argv.get(2))
            )));
        }
        let name = functions(s)?.load(argv.get(argc - 1), replace)?;
        s.ks.dirty += 1;
        s.propagate_as_sent(c.db, argv);
        reply(c).bulk(name.as_bytes());
    } else if eq_ci(sub, "delete") && argc == 3 {
        let name = String::from_utf8_lossy(argv.get(2)).into_owned();
        if !functions(s)?.delete(&name) {
            return Err(CmdError::new("ERR Library not found"));
        }
        s.ks.dirty += 1;
        s.propagate_as_sent(c.db, argv);
        reply(c).ok();
    } else if eq_ci(sub, "flush") && argc <= 3 {
        if argc == 3 && !eq_ci(argv.get(2), "sync") && !eq_ci(argv.get(2), "async") {
            return Err(CmdError::new(
                "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
            ));
        }
        s.functions = None;
        s.ks.dirty += 1;
        s.propagate_as_sent(c.db, argv);
        reply(c).ok();
    } else if eq_ci(sub, "list") {
        list(s, c, argv)?;
    } else if eq_ci(sub, "stats") && argc == 2 {
        let (libs, funcs) = s
            .functions
            .as_ref()
            .map_or((0, 0), |f| (f.libraries.len(), f.functions.len()));
        let running = s.running_fcall.clone().filter(|_| s.script_busy);
        let mut w = reply(c);
        w.map(2);
        w.bulk(b"running_script");
        match running {
            Some((name, command, started_ms)) => {
                w.map(3);
                w.bulk(b"name");
                w.bulk(name.as_bytes());
                w.bulk(b"command");
                w.array(command.len());
                for a in &command {
                    w.bulk(a);
                }
                w.bulk(b"duration_ms");
                w.int(sys::now_ms().saturating_sub(started_ms) as i64);
            }
            None => w.null(),
        }
        w.bulk(b"engines");
        w.map(1);
        w.bulk(b"LUA");
        w.map(2);
        w.bulk(b"libraries_count");
        w.int(libs as i64);
        w.bulk(b"functions_count");
        w.int(funcs as i64);
    } else if eq_ci(sub, "kill") && argc == 2 {
        crate::script::kill(s, true)?;
        reply(c).ok();
    } else if eq_ci(sub, "help") && argc == 2 {
        crate::cmd::reply_help(c, FUNCTION_HELP);
    } else {
        return Err(CmdError::owned(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try FUNCTION HELP.",
            String::from_utf8_lossy(sub)
        )));
    }
    Ok(())
}

/// FUNCTION LIST [LIBRARYNAME pattern] [WITHCODE].
fn list(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let mut pattern: Option<&[u8]> = None;
    let mut with_code = false;
    let mut i = 2;
    while i < argv.len() {
        let a = argv.get(i);
        if eq_ci(a, "withcode") && !with_code {
            with_code = true;
            i += 1;
        } else if eq_ci(a, "libraryname") && pattern.is_none() && i + 1 < argv.len() {
            pattern = Some(argv.get(i + 1));
            i += 2;
        } else {
            return Err(CmdError::owned(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
    }
    let Some(f) = s.functions.as_ref() else {
        reply(c).array(0);
        return Ok(());
    };
    let libs: Vec<(&String, &Library)> = f
        .libraries
        .iter()
        .filter(|(n, _)| match pattern {
            Some(p) => glob_match(p, n.as_bytes(), false),
            None => true,
        })
        .collect();
    let mut w = reply(c);
    w.array(libs.len());
    for (name, lib) in libs {
        w.map(if with_code { 4 } else { 3 });
        w.bulk(b"library_name");
        w.bulk(name.as_bytes());
        w.bulk(b"engine");
        w.bulk(b"LUA");
        w.bulk(b"functions");
        w.array(lib.functions.len());
        for fname in &lib.functions {
            let Some(r) = f.functions.get(&fname.to_ascii_lowercase()) else {
                w.null();
                continue;
            };
            w.map(3);
            w.bulk(b"name");
            w.bulk(r.name.as_bytes());
            w.bulk(b"description");
            match &r.description {
                Some(d) => w.bulk(d.as_bytes()),
                None => w.null(),
            }
            w.bulk(b"flags");
            let flags: Vec<&str> = [
                (r.flags.no_writes, "no-writes"),
                (r.flags.allow_oom, "allow-oom"),
                (r.flags.allow_stale, "allow-stale"),
                (r.flags.no_cluster, "no-cluster"),
                (r.flags.allow_cross_slot, "allow-cross-slot-keys"),
            ]
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, n)| *n)
            .collect();
            w.set(flags.len());
            for fl in flags {
                w.simple(fl.as_bytes());
            }
        }
        if with_code {
            w.bulk(b"library_code");
            w.bulk(&lib.code);
        }
    }
    Ok(())
}

fn fcall_generic(s: &mut Server, c: &mut Client, argv: Argv<'_>, ro: bool) -> CmdResult {
    if ember_core::cmd::arg_i64(argv.get(2)).is_err() {
        return Err(CmdError::new("ERR Bad number of keys provided"));
    }
    let (keys, args) = split_keys(argv)?;
    let name = String::from_utf8_lossy(argv.get(1)).to_ascii_lowercase();
    let Some(r) = s.functions.as_ref().and_then(|f| f.functions.get(&name)) else {
        return Err(CmdError::new("ERR Function not found"));
    };
    if ro && !r.flags.no_writes {
        return Err(CmdError::new(
            "ERR Can not execute a script with write flag using *_ro command.",
        ));
    }
    let target = Target {
        which: Which::Function,
        f: r.f.clone(),
        flags: r.flags,
        name: r.name.clone(),
        params: true,
    };
    s.feed_monitors_for_script(c, argv);
    let command = argv.iter().map(<[u8]>::to_vec).collect();
    s.running_fcall = Some((target.name.clone(), command, sys::now_ms()));
    let result = run_target(s, c, target, keys, args, ro);
    s.running_fcall = None;
    result
}

/// FCALL function numkeys [key ...] [arg ...].
pub fn fcall(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    fcall_generic(s, c, argv, false)
}

/// FCALL_RO function numkeys [key ...] [arg ...].
pub fn fcall_ro(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    fcall_generic(s, c, argv, true)
}
