//! CONFIG GET, SET, RESETSTAT, REWRITE and HELP.

use ember_core::cmd::{acl, flags as f, CmdError, CmdResult, CommandInfo};
use ember_core::resp::Argv;

use super::{reply, reply_help, scmd, subcmd, subcommand, ServerCommand};
use crate::client::Client;
use crate::config::{Config, Kind, PARAMS};
use crate::log_at;
use crate::server::{CmdStat, Server, Stats};

const ADM: u32 = acl::ADMIN | acl::SLOW | acl::DANGEROUS;

static SUBS: &[CommandInfo] = &[
    subcmd!(
        "get",
        -3,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Get the values of configuration parameters"
    ),
    subcmd!(
        "set",
        -4,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Set configuration parameters to the given values"
    ),
    subcmd!(
        "resetstat",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Reset the stats returned by INFO"
    ),
    subcmd!(
        "rewrite",
        2,
        f::ADMIN | f::NOSCRIPT | f::LOADING | f::STALE,
        ADM,
        "Rewrite the configuration file with the in memory configuration"
    ),
    subcmd!(
        "help",
        2,
        f::LOADING | f::STALE,
        acl::SLOW,
        "Show helpful text about the different subcommands"
    ),
];

pub static COMMANDS: &[ServerCommand] = &[scmd!(
    "config",
    -2,
    0,
    acl::SLOW,
    "server",
    config,
    "A container for server configuration commands",
    "2.0.0",
    SUBS
)];

const HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Print this help.",
];

fn config(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let sub = subcommand(&COMMANDS[0].info, argv)?;
    match sub.name {
        "get" => {
            let patterns: Vec<&[u8]> = argv.tail(2).iter().collect();
            let mut pairs = s.config.matching(&patterns);
            // `dir` reads back as the absolute working directory, as in Redis.
            for (name, value) in pairs.iter_mut() {
                if name == "dir" {
                    if let Ok(cwd) = std::env::current_dir() {
                        *value = cwd.display().to_string();
                    }
                }
            }
            let mut w = reply(c);
            w.map(pairs.len());
            for (k, v) in pairs {
                w.bulk(k.as_bytes());
                w.bulk(v.as_bytes());
            }
        }
        "set" => set(s, c, argv)?,
        "resetstat" => {
            s.stats = Stats::default();
            s.cmd_stats = vec![CmdStat::default(); s.commands.len()];
            s.ks.stats = Default::default();
            reply(c).ok();
        }
        "rewrite" => {
            let Some(path) = s.config.file.clone() else {
                return Err(CmdError::new(
                    "ERR The server is running without a config file",
                ));
            };
            let original = std::fs::read_to_string(&path).unwrap_or_default();
            let text = s.config.rewrite_text(&original);
            let tmp = path.with_extension("rewrite.tmp");
            std::fs::write(&tmp, text)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(|e| CmdError::owned(format!("ERR Rewriting config file: {e}")))?;
            log_at!(Notice, "CONFIG REWRITE executed with success.");
            reply(c).ok();
        }
        _ => reply_help(c, HELP),
    }
    Ok(())
}

/// CONFIG SET name value [name value ...]: all or nothing.
fn set(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    if !argv.len().is_multiple_of(2) {
        return Err(ember_core::cmd::keys::subcommand_arity("config", "set"));
    }
    let mut staged: Vec<(usize, String, String)> = Vec::new();
    for i in (2..argv.len()).step_by(2) {
        let name = String::from_utf8_lossy(argv.get(i)).into_owned();
        let value = String::from_utf8_lossy(argv.get(i + 1)).into_owned();
        let Some(idx) = Config::find(&name) else {
            return Err(CmdError::owned(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
            )));
        };
        if staged.iter().any(|(j, _, _)| *j == idx) {
            return Err(CmdError::owned(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
            )));
        }
        staged.push((idx, name, value));
    }
    // Validate everything on a scratch config first so a bad value changes nothing.
    let mut parsed: Vec<(&'static str, Vec<String>)> = Vec::new();
    let mut trial = Config::new();
    for (idx, name, value) in &staged {
        let param = &PARAMS[*idx];
        let mut args: Vec<String> = if matches!(param.kind, Kind::Save | Kind::OutputLimit) {
            value.split_whitespace().map(String::from).collect()
        } else {
            vec![value.clone()]
        };
        if args.is_empty() {
            args.push(String::new());
        }
        trial.apply(param.name, &args, true).map_err(|reason| {
            CmdError::owned(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - {reason}"
            ))
        })?;
        parsed.push((param.name, args));
    }
    if let Some((_, dir)) = parsed.iter().find(|(n, _)| *n == "dir") {
        std::env::set_current_dir(&dir[0]).map_err(|e| {
            CmdError::owned(format!(
                "ERR CONFIG SET failed (possibly related to argument 'dir') - {e}"
            ))
        })?;
    }
    let listen_before = (s.config.get_str("port"), s.config.get_str("bind"));
    let snapshot = s.config.snapshot();
    for (name, args) in &parsed {
        // Validated above, so this cannot fail.
        let _ = s.config.apply(name, args, true);
    }
    if (s.config.get_str("port"), s.config.get_str("bind")) != listen_before {
        if let Err(e) = s.rebind() {
            // Applying failed: every directive of this CONFIG SET goes back to its old value.
            s.config.restore(snapshot);
            let _ = s.rebind();
            let name = parsed
                .iter()
                .map(|(n, _)| *n)
                .find(|n| *n == "port" || *n == "bind")
                .unwrap_or("port");
            return Err(CmdError::owned(format!(
                "ERR CONFIG SET failed (possibly related to argument '{name}') - Unable to listen on this port: {e}"
            )));
        }
    }
    s.apply_config();
    // appendonly turns the AOF on (a new base through a rewrite) or off.
    if parsed.iter().any(|(n, _)| *n == "appendonly") {
        let on = s.config.get_bool("appendonly");
        if on && !s.aof.enabled() {
            s.aof_enable(false).map_err(|e| {
                CmdError::owned(format!(
                    "ERR CONFIG SET failed (possibly related to argument 'appendonly') - {e}"
                ))
            })?;
        } else if !on && s.aof.enabled() {
            s.aof_disable();
        }
    }
    reply(c).ok();
    Ok(())
}
