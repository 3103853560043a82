//! Connection commands: PING, ECHO, QUIT, RESET, HELLO, AUTH.

use ember_core::cmd::{acl, eq_ci, err, flags as f, CmdError, CmdResult};
use ember_core::resp::{Argv, Proto};

use super::{reply, scmd, ServerCommand};
use crate::client::{Client, ReplyMode};
use crate::server::Server;

const CONN: u32 = acl::CONNECTION;

pub static COMMANDS: &[ServerCommand] = &[
    scmd!(
        "ping",
        -1,
        f::FAST,
        CONN | acl::FAST,
        "connection",
        ping,
        "Ping the server",
        "1.0.0"
    ),
    scmd!(
        "echo",
        2,
        f::FAST,
        CONN | acl::FAST,
        "connection",
        echo,
        "Echo the given string",
        "1.0.0"
    ),
    scmd!(
        "quit",
        -1,
        f::ALLOW_BUSY | f::NO_AUTH | f::LOADING | f::STALE | f::FAST,
        CONN | acl::FAST,
        "connection",
        quit,
        "Close the connection",
        "1.0.0"
    ),
    scmd!(
        "reset",
        1,
        f::NO_AUTH | f::LOADING | f::STALE | f::FAST,
        CONN | acl::FAST,
        "connection",
        reset,
        "Reset the connection",
        "6.2.0"
    ),
    scmd!(
        "hello",
        -1,
        f::NO_AUTH | f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::ALLOW_BUSY,
        CONN | acl::FAST,
        "connection",
        hello,
        "Handshake with Redis",
        "6.0.0"
    ),
    scmd!(
        "auth",
        -2,
        f::NO_AUTH | f::NOSCRIPT | f::LOADING | f::STALE | f::FAST | f::ALLOW_BUSY,
        CONN | acl::FAST,
        "connection",
        auth,
        "Authenticate to the server",
        "1.0.0"
    ),
];

/// PING [message]. O(1).
fn ping(_s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    if c.is_pubsub() && c.proto == Proto::Resp2 {
        // A subscribed RESP2 client gets its pong in pub/sub message form.
        let msg: &[u8] = if argv.len() > 1 { argv.get(1) } else { b"" };
        let mut w = reply(c);
        w.array(2);
        w.bulk(b"pong");
        w.bulk(msg);
        return Ok(());
    }
    match argv.len() {
        1 => reply(c).simple(b"PONG"),
        2 => reply(c).bulk(argv.get(1)),
        _ => return Err(err::wrong_arity("ping")),
    }
    Ok(())
}

/// ECHO message. O(1).
fn echo(_s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    reply(c).bulk(argv.get(1));
    Ok(())
}

/// QUIT. O(1).
fn quit(_s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    reply(c).ok();
    c.close_after_reply = true;
    Ok(())
}

/// RESET. O(1).
fn reset(s: &mut Server, c: &mut Client, _argv: Argv<'_>) -> CmdResult {
    c.db = 0;
    c.proto = Proto::Resp2;
    c.name = None;
    c.reply_mode = ReplyMode::On;
    c.no_evict = false;
    c.no_touch = false;
    if c.monitor {
        c.monitor = false;
        s.monitors.retain(|&fd| fd != c.fd);
    }
    c.multi = None;
    s.unwatch_all(c);
    s.unsubscribe_all(c);
    s.tracking_disable(c);
    c.authenticated = s.config.get_str("requirepass").is_empty();
    reply(c).simple(b"RESET");
    Ok(())
}

const WRONGPASS: CmdError =
    CmdError::new("WRONGPASS invalid username-password pair or user is disabled.");

/// Checks a username/password pair against the default user.
fn check_auth(s: &Server, user: &[u8], pass: &[u8]) -> Result<(), CmdError> {
    let required = s.config.get_str("requirepass");
    if user != b"default" {
        return Err(WRONGPASS);
    }
    if required.is_empty() || required.as_bytes() == pass {
        Ok(())
    } else {
        Err(WRONGPASS)
    }
}

/// AUTH [username] password. O(N) in the password length.
fn auth(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    if argv.len() > 3 {
        return Err(err::SYNTAX);
    }
    if argv.len() == 2 && s.config.get_str("requirepass").is_empty() {
        return Err(CmdError::new(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    let (user, pass) = if argv.len() == 3 {
        (argv.get(1), argv.get(2))
    } else {
        (&b"default"[..], argv.get(1))
    };
    check_auth(s, user, pass)?;
    c.authenticated = true;
    reply(c).ok();
    Ok(())
}

/// HELLO [protover [AUTH username password] [SETNAME clientname]]. O(1).
fn hello(s: &mut Server, c: &mut Client, argv: Argv<'_>) -> CmdResult {
    let mut proto = c.proto;
    let mut i = 1;
    if argv.len() >= 2 {
        let v = ember_core::cmd::arg_i64(argv.get(1))
            .map_err(|_| CmdError::new("ERR Protocol version is not an integer or out of range"))?;
        proto = match v {
            2 => Proto::Resp2,
            3 => Proto::Resp3,
            _ => return Err(CmdError::new("NOPROTO unsupported protocol version")),
        };
        i = 2;
    }
    let mut name: Option<&[u8]> = None;
    let mut creds: Option<(&[u8], &[u8])> = None;
    while i < argv.len() {
        let a = argv.get(i);
        let more = argv.len() - i - 1;
        if eq_ci(a, "auth") && more >= 2 {
            creds = Some((argv.get(i + 1), argv.get(i + 2)));
            i += 3;
        } else if eq_ci(a, "setname") && more >= 1 {
            name = Some(argv.get(i + 1));
            i += 2;
        } else {
            return Err(CmdError::owned(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(a)
            )));
        }
    }
    if let Some((user, pass)) = creds {
        check_auth(s, user, pass)?;
        c.authenticated = true;
    }
    if !c.authenticated {
        return Err(CmdError::new("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = name {
        super::client::validate_name(n)?;
        c.name = if n.is_empty() { None } else { Some(n.to_vec()) };
    }
    c.proto = proto;
    let id = c.id;
    let mut w = reply(c);
    w.map(7);
    w.bulk(b"server");
    w.bulk(b"redis");
    w.bulk(b"version");
    w.bulk(ember_core::REDIS_VERSION.as_bytes());
    w.bulk(b"proto");
    w.int(if proto == Proto::Resp3 { 3 } else { 2 });
    w.bulk(b"id");
    w.int(id as i64);
    w.bulk(b"mode");
    w.bulk(b"standalone");
    w.bulk(b"role");
    w.bulk(b"master");
    w.bulk(b"modules");
    w.array(0);
    Ok(())
}
