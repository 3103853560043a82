"""What the whole-server benchmarks (vs-redis, vs-redis-pubsub-multi, footprint) share: servers
started on a free 127.0.0.1 port and stopped on exit, /proc readers, RESP encoding and reading, a
pipelined loader, and number formatting.

The scripts import it from their own directory:

    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    import benchlib

Stdlib only; Linux (reads /proc).
"""

import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time

HOST = "127.0.0.1"
CLK_TCK = os.sysconf("SC_CLK_TCK")
REPO = os.path.dirname(os.path.dirname(os.path.realpath(__file__)))
NO_REDIS_NOTE = "redis-server is not installed (or --no-redis given): ember-only figures."


def log(msg=""):
    print(msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- /proc

def proc_cpu_ticks(pid):
    """utime + stime (whole thread group) of pid, in clock ticks."""
    with open(f"/proc/{pid}/stat") as f:
        data = f.read()
    # comm (field 2) may contain spaces/parentheses: split after the last ')'.
    fields = data[data.rindex(")") + 2:].split()
    # fields[0] is field 3 (state); utime is field 14, stime field 15.
    return int(fields[11]) + int(fields[12])


def proc_rss_bytes(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


# ---------------------------------------------------------------- RESP

def resp_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def simple_request(port, *args, timeout=5.0):
    """Send one command, return the first reply line (without CRLF) as str."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(resp_command(*args))
        buf = b""
        while b"\r\n" not in buf:
            chunk = s.recv(4096)
            if not chunk:
                break
            buf += chunk
        return buf.split(b"\r\n", 1)[0].decode(errors="replace")


def read_reply(sock):
    """Read one complete RESP2/RESP3 reply from a blocking socket; returns raw bytes.
    Good enough for the small control replies used here (no pushes interleaved)."""
    buf = b""
    while True:
        end = resp_end(buf, 0)
        if end is not None:
            return buf[:end]
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"connection closed (partial reply {buf[:80]!r})")
        buf += chunk


def resp_end(buf, pos):
    """Index just past the RESP value starting at pos, or None if incomplete."""
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        return None
    t = buf[pos:pos + 1]
    if t in (b"+", b"-", b":", b",", b"#", b"_", b"("):
        return nl + 2
    if t in (b"$", b"=", b"!"):
        n = int(buf[pos + 1:nl])
        if n < 0:
            return nl + 2
        end = nl + 2 + n + 2
        return end if len(buf) >= end else None
    if t in (b"*", b">", b"~", b"%", b"|"):
        n = int(buf[pos + 1:nl])
        if t in (b"%", b"|"):
            n *= 2
        p = nl + 2
        for _ in range(max(n, 0)):
            p = resp_end(buf, p)
            if p is None:
                return None
        return p
    raise ValueError(f"bad RESP type byte {t!r} in {buf[pos:pos + 40]!r}")


def request(port, *args, timeout=5.0):
    """Send one command on a new connection, return the whole raw reply."""
    with socket.create_connection((HOST, port), timeout=timeout) as s:
        s.sendall(resp_command(*args))
        return read_reply(s)


def pipeline(port, batches, nreplies, timeout=120):
    """Send every chunk of `batches` (an iterable of RESP bytes) on one connection while a
    thread reads the replies, which must be one line each (+OK, :n) or a bulk string without a
    line break inside (an XADD ID), until nreplies arrived. Returns the first error text (an error
    reply, a closed connection, too few replies) or None."""
    sock = socket.create_connection((HOST, port), timeout=timeout)
    state = {"replies": 0, "error": None}
    done = threading.Event()

    def reader():
        rest, in_bulk = b"", False
        try:
            while state["replies"] < nreplies:
                chunk = sock.recv(1 << 16)
                if not chunk:
                    state["error"] = state["error"] or "connection closed by server"
                    break
                buf, pos = rest + chunk, 0
                while True:
                    end = buf.find(b"\r\n", pos)
                    if end < 0:
                        break
                    first = buf[pos:pos + 1]
                    if in_bulk:
                        in_bulk = False
                        state["replies"] += 1
                    elif first == b"$" and buf[pos:end] != b"$-1":
                        in_bulk = True
                    else:
                        if first == b"-" and state["error"] is None:
                            state["error"] = buf[pos:end].decode(errors="replace")
                        state["replies"] += 1
                    pos = end + 2
                rest = buf[pos:]
        except OSError as e:
            state["error"] = state["error"] or str(e)
        done.set()

    th = threading.Thread(target=reader, daemon=True)
    th.start()
    try:
        for chunk in batches:
            sock.sendall(chunk)
            if done.is_set():
                break
    except OSError as e:
        state["error"] = state["error"] or str(e)
    done.wait(timeout=300)
    sock.close()
    if state["replies"] < nreplies and state["error"] is None:
        state["error"] = f"only {state['replies']} replies received"
    return state["error"]


# ---------------------------------------------------------------- servers

class Server:
    """One ember-server or redis-server process on a free 127.0.0.1 port, persistence off."""

    # Tried when the first argument set fails: a server that rejects --bind/--appendonly.
    FALLBACK_ARGS = ["--port", "{port}", "--save", ""]
    # "wb" keeps the last start's log; "ab" keeps every start's.
    LOG_MODE = "wb"

    def __init__(self, name, path, workdir):
        self.name = name
        self.path = path
        self.workdir = os.path.join(workdir, name)
        os.makedirs(self.workdir, exist_ok=True)
        self.proc = None
        self.port = None
        self.dead = False
        self.logfile = None
        self.logpath = os.path.join(self.workdir, "server.log")
        self.argsets = [
            ["--port", "{port}", "--bind", HOST, "--save", "", "--appendonly", "no"],
            self.FALLBACK_ARGS,
        ]

    @property
    def pid(self):
        return self.proc.pid

    def _spawn(self, args):
        self.port = free_port()
        self.logfile = open(self.logpath, self.LOG_MODE)
        argv = [self.path] + [a.replace("{port}", str(self.port)) for a in args]
        self.proc = subprocess.Popen(
            argv,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self.logfile,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if simple_request(self.port, "PING", timeout=1.0) == "+PONG":
                    return True
            except (OSError, ValueError):
                pass
            time.sleep(0.05)
        self.stop()
        return False

    def start(self):
        self.dead = False
        while self.argsets:
            args = self.argsets[0]
            if self._spawn(args):
                del self.argsets[1:]  # remember what worked for restarts
                return
            exited = self.proc is not None and self.proc.poll() is not None
            log(f"[{self.name}] failed to start with {args!r}; log tail:\n{self.log_tail()}")
            self.stop()
            if not exited or len(self.argsets) == 1:
                break
            self.argsets.pop(0)
            log(f"[{self.name}] retrying with {self.argsets[0]!r}")
        raise RuntimeError(f"{self.name} ({self.path}) did not start")

    def log_tail(self, n=15):
        try:
            with open(self.logpath, "rb") as f:
                lines = f.read().decode(errors="replace").splitlines()
            return "\n".join("    " + l for l in lines[-n:])
        except OSError:
            return "    (no log)"

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.terminate()
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            except ProcessLookupError:
                pass
        self.proc = None
        if self.logfile:
            self.logfile.close()
            self.logfile = None


LIVE_SERVERS = []


def stop_all():
    for s in LIVE_SERVERS:
        try:
            s.stop()
        except Exception as e:  # noqa: BLE001 - best effort cleanup
            log(f"warning: stopping {s.name}: {e}")


def default_ember():
    """target/release/ember-server, honouring CARGO_TARGET_DIR."""
    target = os.environ.get("CARGO_TARGET_DIR") or os.path.join(REPO, "target")
    return os.path.join(target, "release", "ember-server")


def ensure_ember(path):
    """Build ember-server in release mode if `path` does not exist; exits on failure."""
    if os.path.exists(path):
        return
    log(f"{path} not found: running cargo build --release -p ember-server")
    if subprocess.run(["cargo", "build", "--release", "-p", "ember-server"], cwd=REPO).returncode != 0:
        sys.exit("error: cargo build --release -p ember-server failed")
    if not os.path.exists(path):
        sys.exit(f"error: {path} still missing after build")


def exit_on_signals():
    """SIGTERM and SIGHUP unwind like Ctrl-C does, so atexit/finally stop the servers."""
    def on_signal(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)


def print_binaries(ember, redis_path, no_redis):
    """The report's `- ember:` and `- redis:` lines."""
    print(f"- ember: `{ember}`")
    if redis_path:
        ver = subprocess.run([redis_path, "--version"], capture_output=True, text=True).stdout.strip()
        print(f"- redis: `{redis_path}` ({ver})")
    else:
        print("- redis: " + ("skipped (--no-redis)" if no_redis else "**redis-server is not installed**")
              + ": ember-only figures")


# ---------------------------------------------------------------- formatting

def fmt_int(x):
    return "-" if x is None else f"{x:,.0f}"


def fmt(x, digits=3):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0 or (isinstance(a, float) and math.isnan(a)):
        return None
    return a / b
