//! The scripting commands' table entries: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (the
//! engine is [`crate::script`]).

use ember_core::cmd::{acl, flags as f, CommandInfo};

use super::{scmd, subcmd, ServerCommand};
use crate::script;

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

pub static COMMANDS: &[ServerCommand] = &[
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
