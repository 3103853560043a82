//! The test harness: starts `ember-server` on a free port, talks to it with a raw-bytes RESP client and
//! decides whether an external tool (redis-cli, redis-benchmark) is there to drive it.
//!
//! Every server runs in its own temporary directory with `--save ""`, its log goes to a file there (shown
//! when a test fails), and it is killed when its [`Server`] is dropped. Every socket has read and write
//! timeouts, so a server that stops answering fails the test instead of hanging it.
//!
//! Environment:
//! - `EMBER_IO_BACKEND` (default `epoll`) is passed as `--io-backend`; `none` passes nothing, which lets
//!   the suite run against a real redis-server to check the expected replies.
//! - `EMBER_SERVER_BIN` uses that binary instead of building `ember-server`.
//! - `EMBER_REQUIRE_TOOLS=1` turns a missing redis-cli or redis-benchmark into a failure.

use std::fmt::Write as _;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Once, OnceLock};
use std::time::{Duration, Instant};

/// Replies that many tests expect, byte for byte as Redis sends them.
pub const OK: &[u8] = b"+OK\r\n";
pub const NIL: &[u8] = b"$-1\r\n";
pub const SYNTAX: &[u8] = b"-ERR syntax error\r\n";
pub const NOT_INT: &[u8] = b"-ERR value is not an integer or out of range\r\n";

/// How long a client waits for a reply before the test fails.
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a server may take to accept its first connection.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// Builds a workspace package once per test run with the test binary's own profile and target
/// directory, and returns that profile's output directory.
fn build_package(package: &str) -> PathBuf {
    // The test binary is `<target>/<profile>/deps/all-<hash>`.
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binary lives in <target>/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target dir");
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev".to_string(),
        Some(name) => name.to_string(),
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--quiet", "-p", package, "--profile", &profile])
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .unwrap_or_else(|e| panic!("running cargo build -p {package}: {e}"));
    assert!(status.success(), "cargo build -p {package} failed");
    profile_dir.to_path_buf()
}

/// Path of the server binary, built once per test run.
pub fn server_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("EMBER_SERVER_BIN") {
            return PathBuf::from(bin);
        }
        let bin = build_package("ember-server").join("ember-server");
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
}

/// The directory holding libember.a and libember.so, built once per test run.
pub fn ffi_lib_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = build_package("ember-ffi");
        assert!(
            dir.join("libember.a").exists(),
            "libember.a was not built in {}",
            dir.display()
        );
        dir
    })
}

/// The I/O backend argument for the server, from `EMBER_IO_BACKEND`.
pub fn io_backend() -> Option<String> {
    match std::env::var("EMBER_IO_BACKEND") {
        Ok(v) if v == "none" => None,
        Ok(v) if !v.is_empty() => Some(v),
        _ => Some("epoll".to_string()),
    }
}

/// The wall clock as unix time in milliseconds, to compare with the server's clock.
pub fn unix_time_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_millis() as i64
}

/// The wall clock as unix time in seconds.
pub fn unix_time_s() -> i64 {
    unix_time_ms() / 1000
}

/// A fresh temporary directory, removed by its owner.
pub fn temp_dir(tag: &str) -> PathBuf {
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ember-test-{}-{tag}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create temp dir");
    dir
}

/// The address-space cap of the test process and of everything it starts (servers, tools).
const MEMORY_CAP_BYTES: u64 = 4 << 30;

/// Caps this process's address space, and so that of every server and tool it starts, at
/// [`MEMORY_CAP_BYTES`]: a parser or server bug that allocates without bound then fails a test instead of
/// exhausting the machine's memory (which other work shares).
pub fn cap_memory() {
    static CAP: Once = Once::new();
    CAP.call_once(|| {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes into the valid, exclusively borrowed `lim`.
        if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0 {
            return;
        }
        let cap = MEMORY_CAP_BYTES as libc::rlim_t;
        if lim.rlim_cur == libc::RLIM_INFINITY || lim.rlim_cur > cap {
            lim.rlim_cur = cap.min(lim.rlim_max);
            // SAFETY: setrlimit only reads the valid `lim`; lowering the soft limit is always allowed.
            unsafe { libc::setrlimit(libc::RLIMIT_AS, &lim) };
        }
    });
}

/// A running server, killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

impl Server {
    /// A server with the default test arguments.
    pub fn start() -> Server {
        Server::with_args(&[])
    }

    /// A server with extra redis-server style arguments (`["--requirepass", "x"]`).
    pub fn with_args(extra: &[&str]) -> Server {
        Server::with_config(None, extra)
    }

    /// A real redis-server with the same test arguments, to compare replies against; `None` (the
    /// test skips) when it is not installed.
    pub fn redis() -> Option<Server> {
        if !require_tool("redis-server") {
            return None;
        }
        let bin = find_in_path("redis-server")?;
        Some(Server::spawn(&bin, None, &[]))
    }

    /// A real redis-server started from a config file in its own directory (which may hold an
    /// RDB file for it to load); `None` when redis-server is not installed.
    pub fn redis_with_config(config: &Path, extra: &[&str]) -> Option<Server> {
        if !require_tool("redis-server") {
            return None;
        }
        let bin = find_in_path("redis-server")?;
        Some(Server::spawn(&bin, Some(config), extra))
    }

    /// A server started with a config file (written by the caller into `dir`) and extra arguments.
    pub fn with_config(config: Option<&Path>, extra: &[&str]) -> Server {
        Server::spawn(server_bin(), config, extra)
    }

    fn spawn(bin: &Path, config: Option<&Path>, extra: &[&str]) -> Server {
        let ember = bin == server_bin();
        cap_memory();
        let dir = match config.and_then(Path::parent) {
            Some(d) => d.to_path_buf(),
            None => temp_dir("srv"),
        };
        let mut last_log = String::new();
        // The port is found free and then handed to the server, so another process can take it in
        // between: try a few ports before giving up.
        for _ in 0..5 {
            let port = free_port();
            let log = dir.join("server.log");
            let mut cmd = Command::new(bin);
            if let Some(c) = config {
                cmd.arg(c);
            }
            cmd.args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
            ])
            .args(["--dir", dir.to_str().expect("utf-8 temp dir")])
            .args(["--logfile", log.to_str().expect("utf-8 temp dir")]);
            if let Some(backend) = io_backend().filter(|_| ember) {
                cmd.args(["--io-backend", &backend]);
            }
            cmd.args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            // SAFETY: the closure runs in the forked child before exec and only calls prctl, which is
            // async-signal-safe. It makes the kernel kill the server if the thread that started it dies
            // (a test binary that aborts or is killed must not leave servers running).
            unsafe {
                cmd.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
            let child = cmd.spawn().expect("spawn ember-server");
            let mut server = Server {
                child,
                port,
                dir: dir.clone(),
            };
            if server.wait_ready() {
                return server;
            }
            last_log = server.log();
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
        panic!("the server did not start; its last log:\n{last_log}");
    }

    fn wait_ready(&mut self) -> bool {
        let deadline = Instant::now() + START_TIMEOUT;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            // Ready once PING is answered: a server loading a big file answers -LOADING until done.
            if let Ok(mut sock) = TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = sock.set_read_timeout(Some(Duration::from_secs(2)));
                let mut reply = [0u8; 64];
                // Any answer but -LOADING (a password-protected server says -NOAUTH).
                let answered = sock.write_all(b"PING\r\n").is_ok()
                    && sock
                        .read(&mut reply)
                        .is_ok_and(|n| n > 0 && !reply[..n].starts_with(b"-LOADING"));
                if answered {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// A new client connection.
    pub fn connect(&self) -> Conn {
        Conn::connect(self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Waits (bounded) for the server process to exit and returns whether it did.
    pub fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        false
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL (a crash: no shutdown work) and waits for it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(30).collect();
            eprintln!("--- server log (last lines) ---");
            for l in tail.iter().rev() {
                eprintln!("{l}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local_addr").port()
}

/// Bytes shown readably in assertion messages.
pub fn show(bytes: &[u8]) -> String {
    let mut s = String::new();
    let cut = bytes.len().min(2000);
    for &b in &bytes[..cut] {
        match b {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => {
                let _ = write!(s, "\\x{b:02x}");
            }
        }
    }
    if cut < bytes.len() {
        let _ = write!(s, "...({} bytes)", bytes.len());
    }
    s
}

/// Encodes a command as a RESP multibulk.
pub fn encode<A: AsRef<[u8]>>(args: &[A]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        let a = a.as_ref();
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// A parsed RESP2/RESP3 reply.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// `$-1`, `*-1` and RESP3's `_`.
    Nil,
    Array(Vec<Reply>),
    Map(Vec<(Reply, Reply)>),
    Set(Vec<Reply>),
    Push(Vec<Reply>),
    Double(String),
    Bool(bool),
    BigNum(String),
    Verbatim(String, Vec<u8>),
    /// An attribute map followed by the reply it describes.
    Attribute(Vec<(Reply, Reply)>, Box<Reply>),
}

impl Reply {
    /// The bytes of a bulk, simple string or verbatim reply.
    pub fn bytes(&self) -> &[u8] {
        match self {
            Reply::Bulk(b) | Reply::Verbatim(_, b) => b,
            Reply::Simple(s) => s.as_bytes(),
            other => panic!("not a string reply: {other:?}"),
        }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }

    pub fn int(&self) -> i64 {
        match self {
            Reply::Int(n) => *n,
            other => panic!("not an integer reply: {other:?}"),
        }
    }

    pub fn items(&self) -> &[Reply] {
        match self {
            Reply::Array(v) | Reply::Set(v) | Reply::Push(v) => v,
            other => panic!("not an aggregate reply: {other:?}"),
        }
    }
}

/// Parses one reply from the start of `buf`: `Ok(None)` if more bytes are needed.
pub fn parse_reply(buf: &[u8]) -> Result<Option<(Reply, usize)>, String> {
    parse_at(buf, 0, 0)
}

const NEST_MAX: usize = 128;

fn parse_at(buf: &[u8], pos: usize, depth: usize) -> Result<Option<(Reply, usize)>, String> {
    if depth > NEST_MAX {
        return Err("reply nested too deeply".into());
    }
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    let Some(nl) = buf[pos..].windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let line = &buf[pos + 1..pos + nl];
    let text = || String::from_utf8_lossy(line).into_owned();
    let next = pos + nl + 2;
    let num = || -> Result<i64, String> {
        std::str::from_utf8(line)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad length line {:?}", text()))
    };
    let done = |r: Reply, end: usize| Ok(Some((r, end)));
    match kind {
        b'+' => done(Reply::Simple(text()), next),
        b'-' => done(Reply::Error(text()), next),
        b':' => done(Reply::Int(num()?), next),
        b',' => done(Reply::Double(text()), next),
        b'(' => done(Reply::BigNum(text()), next),
        b'_' => done(Reply::Nil, next),
        b'#' => match line {
            b"t" => done(Reply::Bool(true), next),
            b"f" => done(Reply::Bool(false), next),
            _ => Err(format!("bad boolean {:?}", text())),
        },
        b'$' | b'=' | b'!' => {
            let n = num()?;
            if n < 0 {
                return done(Reply::Nil, next);
            }
            let n = n as usize;
            if buf.len() < next + n + 2 {
                return Ok(None);
            }
            if &buf[next + n..next + n + 2] != b"\r\n" {
                return Err("bulk not followed by CRLF".into());
            }
            let data = buf[next..next + n].to_vec();
            let end = next + n + 2;
            match kind {
                b'$' => done(Reply::Bulk(data), end),
                b'!' => done(
                    Reply::Error(String::from_utf8_lossy(&data).into_owned()),
                    end,
                ),
                _ => {
                    if data.len() < 4 || data[3] != b':' {
                        return Err("bad verbatim string".into());
                    }
                    let fmt = String::from_utf8_lossy(&data[..3]).into_owned();
                    done(Reply::Verbatim(fmt, data[4..].to_vec()), end)
                }
            }
        }
        b'*' | b'~' | b'>' => {
            let n = num()?;
            if n < 0 {
                return done(Reply::Nil, next);
            }
            let mut items = Vec::new();
            let mut at = next;
            for _ in 0..n {
                let Some((r, end)) = parse_at(buf, at, depth + 1)? else {
                    return Ok(None);
                };
                items.push(r);
                at = end;
            }
            let r = match kind {
                b'*' => Reply::Array(items),
                b'~' => Reply::Set(items),
                _ => Reply::Push(items),
            };
            done(r, at)
        }
        b'%' | b'|' => {
            let n = num()?;
            let mut pairs = Vec::new();
            let mut at = next;
            for _ in 0..n.max(0) {
                let Some((k, end)) = parse_at(buf, at, depth + 1)? else {
                    return Ok(None);
                };
                let Some((v, end)) = parse_at(buf, end, depth + 1)? else {
                    return Ok(None);
                };
                pairs.push((k, v));
                at = end;
            }
            if kind == b'%' {
                return done(Reply::Map(pairs), at);
            }
            let Some((inner, end)) = parse_at(buf, at, depth + 1)? else {
                return Ok(None);
            };
            done(Reply::Attribute(pairs, Box::new(inner)), end)
        }
        other => Err(format!("unknown reply type byte {:?}", other as char)),
    }
}

/// A raw-bytes client connection.
pub struct Conn {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    pub fn connect(port: u16) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to the server");
        stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .expect("timeout");
        stream
            .set_write_timeout(Some(REPLY_TIMEOUT))
            .expect("timeout");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    /// This end's address, as the server shows it (CLIENT LIST `addr`, SLOWLOG, MONITOR).
    pub fn local_addr(&self) -> String {
        self.stream.local_addr().expect("local_addr").to_string()
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the server");
    }

    /// Sends raw bytes, tolerating a server that already closed the connection.
    pub fn send_lossy(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Reads more bytes into the buffer; returns false at end of stream.
    fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 64 * 1024];
        loop {
            match self.stream.read(&mut chunk) {
                Ok(0) => return false,
                Ok(n) => {
                    self.buf.extend_from_slice(&chunk[..n]);
                    return true;
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return false,
                Err(e) => panic!(
                    "no complete reply within {REPLY_TIMEOUT:?} ({e}); got so far: \"{}\"",
                    show(&self.buf)
                ),
            }
        }
    }

    /// Reads one complete reply and returns its raw bytes.
    pub fn read_raw(&mut self) -> Vec<u8> {
        loop {
            match parse_reply(&self.buf) {
                Ok(Some((_, end))) => return self.buf.drain(..end).collect(),
                Ok(None) => {}
                Err(e) => panic!("malformed reply ({e}): \"{}\"", show(&self.buf)),
            }
            if !self.fill() {
                panic!(
                    "connection closed before a complete reply; got: \"{}\"",
                    show(&self.buf)
                );
            }
        }
    }

    /// Reads one complete reply, parsed.
    pub fn read_reply(&mut self) -> Reply {
        let raw = self.read_raw();
        parse_reply(&raw).expect("reparse").expect("complete").0
    }

    /// Sends a command and returns the raw bytes of its reply.
    pub fn raw<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Vec<u8> {
        self.send(&encode(args));
        self.read_raw()
    }

    /// Sends a command and returns its parsed reply.
    pub fn cmd<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Reply {
        self.send(&encode(args));
        self.read_reply()
    }

    /// Sends a command and asserts the exact bytes of its reply.
    #[track_caller]
    pub fn check<A: AsRef<[u8]>>(&mut self, args: &[A], expected: &[u8]) {
        let got = self.raw(args);
        assert!(
            got == expected,
            "command {:?}\n  expected: \"{}\"\n       got: \"{}\"",
            args.iter()
                .map(|a| show(a.as_ref()))
                .collect::<Vec<_>>()
                .join(" "),
            show(expected),
            show(&got)
        );
    }

    /// Sends raw bytes and asserts the exact bytes of the one reply they produce.
    #[track_caller]
    pub fn check_raw(&mut self, request: &[u8], expected: &[u8]) {
        self.send(request);
        let got = self.read_raw();
        assert!(
            got == expected,
            "request \"{}\"\n  expected: \"{}\"\n       got: \"{}\"",
            show(request),
            show(expected),
            show(&got)
        );
    }

    /// Asserts that the server closes the connection (after any replies still buffered), returning
    /// whatever bytes arrived before the close.
    #[track_caller]
    pub fn expect_closed(&mut self) -> Vec<u8> {
        let deadline = Instant::now() + REPLY_TIMEOUT;
        loop {
            let mut chunk = [0u8; 64 * 1024];
            match self.stream.read(&mut chunk) {
                Ok(0) => return std::mem::take(&mut self.buf),
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == ErrorKind::ConnectionReset => {
                    return std::mem::take(&mut self.buf)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!(
                    "the server did not close the connection ({e}); got: \"{}\"",
                    show(&self.buf)
                ),
            }
            assert!(
                Instant::now() < deadline,
                "the server kept sending and did not close the connection"
            );
        }
    }

    /// Asserts that nothing arrives within `wait` (for CLIENT REPLY OFF and friends).
    #[track_caller]
    pub fn expect_silence(&mut self, wait: Duration) {
        assert!(
            self.buf.is_empty(),
            "unexpected bytes: \"{}\"",
            show(&self.buf)
        );
        self.stream.set_read_timeout(Some(wait)).expect("timeout");
        let mut chunk = [0u8; 1024];
        let r = self.stream.read(&mut chunk);
        self.stream
            .set_read_timeout(Some(REPLY_TIMEOUT))
            .expect("timeout");
        match r {
            Ok(0) => panic!("connection closed"),
            Ok(n) => panic!("unexpected bytes: \"{}\"", show(&chunk[..n])),
            Err(e) => assert!(
                matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                "read failed: {e}"
            ),
        }
    }
}

/// Asserts that the server answers PING on a fresh connection.
#[track_caller]
pub fn assert_alive(server: &Server) {
    let mut c = server.connect();
    c.check(&["PING"], b"+PONG\r\n");
}

/// Polls `f` until it returns true or `timeout` passes; returns the last result.
pub fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Whether `tool` is on the PATH. A missing tool skips the calling test with a message, or fails it
/// when `EMBER_REQUIRE_TOOLS=1` (as in CI).
pub fn require_tool(tool: &str) -> bool {
    if find_in_path(tool).is_some() {
        return true;
    }
    if std::env::var("EMBER_REQUIRE_TOOLS").is_ok_and(|v| v == "1") {
        panic!("{tool} is not installed and EMBER_REQUIRE_TOOLS=1");
    }
    eprintln!("skipping: {tool} not installed");
    false
}

/// The full path of an executable on the PATH.
pub fn find_in_path(tool: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(tool))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Parses an INFO reply into (field, value) pairs, ignoring section headers.
pub fn info_fields(info: &str) -> Vec<(String, String)> {
    info.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim_end().to_string()))
        .collect()
}

/// One field of an INFO reply.
pub fn info_field(info: &str, name: &str) -> Option<String> {
    info_fields(info)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// Ember and a real redis-server side by side, each with a connection.
pub struct Twins {
    pub e: Conn,
    pub r: Conn,
    _servers: (Server, Server),
}

impl Twins {
    /// Both servers, or `None` (the test skips) when redis-server is not installed.
    pub fn start() -> Option<Twins> {
        let redis = Server::redis()?;
        let ember = Server::start();
        Some(Twins {
            e: ember.connect(),
            r: redis.connect(),
            _servers: (ember, redis),
        })
    }

    /// Sends `args` to both servers and checks the raw replies are the same.
    pub fn same_args(&mut self, args: &[String]) {
        let (x, y) = (self.e.raw(args), self.r.raw(args));
        assert!(
            x == y,
            "{args:?}\nember: {}\nredis: {}",
            String::from_utf8_lossy(&x),
            String::from_utf8_lossy(&y)
        );
    }

    /// [`Twins::same_args`] for a command written as space-separated words.
    pub fn same(&mut self, command: &str) {
        self.same_args(&command.split(' ').map(String::from).collect::<Vec<_>>());
    }
}
