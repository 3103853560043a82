//! The scripting commands' table entries: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, FCALL,
//! FCALL_RO and FUNCTION (the engines are [`crate::script`] and [`crate::function`]).

use ember_core::cmd::{acl, flags as f, CommandInfo};

use super::{scmd, subcmd, ServerCommand};
use crate::{function, script};

const EVAL_FLAGS: u32 = f::NOSCRIPT
    | f::SKIP_MONITOR
    | f::MAY_REPLICATE
    | f::NO_MANDATORY_KEYS
    | f::STALE
    | f::MOVABLE_KEYS;
const EVAL_RO_FLAGS: u32 =
    f::NOSCRIPT | f::SKIP_MONITOR | f::NO_MANDATORY_KEYS | f::STALE | f::READONLY | f::MOVABLE_KEYS;
const SCRIPTING: u32 = acl::SLOW | acl::SCRIPTING;

static SCRIPT_SUBS: &[CommandInfo] = &[
    subcmd!(
        "exists",
        -3,
        f::NOSCRIPT,
        SCRIPTING,
        "Check existence of scripts in the script cache."
    ),
    subcmd!(
        "flush",
        -2,
        f::NOSCRIPT,
        SCRIPTING,
        "Remove all the scripts from the script cache."
    ),
    subcmd!(
        "help",
        2,
        f::LOADING | f::STALE,
        SCRIPTING,
        "Show helpful text about the different subcommands"
    ),
    subcmd!(
        "kill",
        2,
        f::NOSCRIPT | f::ALLOW_BUSY,
        SCRIPTING,
        "Kill the script currently in execution."
    ),
    subcmd!(
        "load",
        3,
        f::NOSCRIPT | f::STALE,
        SCRIPTING,
        "Load the specified Lua script into the script cache."
    ),
];

static FUNCTION_SUBS: &[CommandInfo] = &[
    subcmd!(
        "delete",
        3,
        f::WRITE | f::NOSCRIPT,
        acl::WRITE | SCRIPTING,
        "Delete a function by name"
    ),
    subcmd!(
        "flush",
        -2,
        f::WRITE | f::NOSCRIPT,
        acl::WRITE | SCRIPTING,
        "Deleting all functions"
    ),
    subcmd!(
        "help",
        2,
        f::LOADING | f::STALE,
        SCRIPTING,
        "Show helpful text about the different subcommands"
    ),
    subcmd!(
        "kill",
        2,
        f::NOSCRIPT | f::ALLOW_BUSY,
        SCRIPTING,
        "Kill the function currently in execution."
    ),
    subcmd!(
        "list",
        -2,
        f::NOSCRIPT,
        SCRIPTING,
        "List information about all the functions"
    ),
    subcmd!(
        "load",
        -3,
        f::WRITE | f::DENYOOM | f::NOSCRIPT,
        acl::WRITE | SCRIPTING,
        "Create a function with the given arguments (name, code, description)"
    ),
    subcmd!(
        "stats",
        2,
        f::NOSCRIPT | f::ALLOW_BUSY,
        SCRIPTING,
        "Return information about the function currently running (name, description, duration)"
    ),
];

pub static COMMANDS: &[ServerCommand] = &[
    scmd!(
        "fcall",
        -3,
        EVAL_FLAGS,
        SCRIPTING,
        "scripting",
        function::fcall,
        "Invoke a function",
        "7.0.0"
    ),
    scmd!(
        "fcall_ro",
        -3,
        EVAL_RO_FLAGS,
        SCRIPTING,
        "scripting",
        function::fcall_ro,
        "Invoke a read-only function",
        "7.0.0"
    ),
    scmd!(
        "function",
        -2,
        0,
        acl::SLOW,
        "scripting",
        function::function,
        "A container for function commands",
        "7.0.0",
        FUNCTION_SUBS
    ),
    scmd!(
        "eval",
        -3,
        EVAL_FLAGS,
        SCRIPTING,
        "scripting",
        script::eval,
        "Execute a Lua script server side",
        "2.6.0"
    ),
    scmd!(
        "evalsha",
        -3,
        EVAL_FLAGS,
        SCRIPTING,
        "scripting",
        script::evalsha,
        "Execute a Lua script server side",
        "2.6.0"
    ),
    scmd!(
        "eval_ro",
        -3,
        EVAL_RO_FLAGS,
        SCRIPTING,
        "scripting",
        script::eval_ro,
        "Execute a read-only Lua script server side",
        "7.0.0"
    ),
    scmd!(
        "evalsha_ro",
        -3,
        EVAL_RO_FLAGS,
        SCRIPTING,
        "scripting",
        script::evalsha_ro,
        "Execute a read-only Lua script server side",
        "7.0.0"
    ),
    scmd!(
        "script",
        -2,
        0,
        acl::SLOW,
        "scripting",
        script::script,
        "A container for Lua scripts management commands",
        "2.6.0",
        SCRIPT_SUBS
    ),
];
