//! The append-only file, in Redis 7's multi-part layout: a directory (`appenddirname`) holding a
//! base file (an RDB image), incremental files of commands in RESP, and a manifest naming them in
//! order. Commands reach the current incremental file through propagation ([`crate::propagate`]),
//! written before the replies of the same event-loop turn go out and fsynced per `appendfsync`
//! (`always`: before those replies; `everysec`: once a second). BGREWRITEAOF opens a new
//! incremental file and writes a new base through the forkless snapshot; when the base is
//! complete the manifest switches to it and the old files go.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use ember_core::rdb::load;
use ember_core::resp::{parse_command, Argv, Parsed};

use crate::persist::Purpose;
use crate::server::Server;
use crate::{log_at, sys};

/// When the incremental file is fsynced.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Fsync {
    Always,
    #[default]
    EverySec,
    No,
}

/// One file the manifest names.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Part {
    name: String,
    seq: u64,
}

/// The manifest: the base file (if any) and the incremental files, oldest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Manifest {
    base: Option<Part>,
    incrs: Vec<Part>,
}

impl Manifest {
    fn parse(text: &str) -> Result<Manifest, String> {
        let mut m = Manifest::default();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let words: Vec<&str> = line.split_whitespace().collect();
            let get = |k: &str| {
                words
                    .chunks(2)
                    .find(|p| p[0] == k && p.len() == 2)
                    .map(|p| p[1])
            };
            let (Some(name), Some(seq), Some(ty)) = (get("file"), get("seq"), get("type")) else {
                return Err(format!("Invalid AOF manifest line {}: {line}", n + 1));
            };
            let seq = seq
                .parse()
                .map_err(|_| format!("Invalid AOF manifest seq on line {}", n + 1))?;
            if name.contains('/') {
                return Err(format!("Invalid AOF manifest file name: {name}"));
            }
            let part = Part {
                name: name.to_string(),
                seq,
            };
            match ty {
                "b" => m.base = Some(part),
                "i" => m.incrs.push(part),
                "h" => {}
                _ => return Err(format!("Unknown AOF file type '{ty}' in the manifest")),
            }
        }
        Ok(m)
    }

    fn render(&self) -> String {
        let mut s = String::new();
        if let Some(b) = &self.base {
            s.push_str(&format!("file {} seq {} type b\n", b.name, b.seq));
        }
        for i in &self.incrs {
            s.push_str(&format!("file {} seq {} type i\n", i.name, i.seq));
        }
        s
    }

    fn next_incr_seq(&self) -> u64 {
        self.incrs.iter().map(|p| p.seq).max().unwrap_or(0) + 1
    }
}

/// The AOF's state.
#[derive(Default)]
pub struct Aof {
    /// The open incremental file while `appendonly` is on.
    file: Option<File>,
    manifest: Manifest,
    /// Propagated bytes not yet written.
    buf: Vec<u8>,
    pub fsync: Fsync,
    last_fsync_ms: u64,
    /// Bytes written to the file and not yet fsynced.
    unsynced: bool,
    pub last_write_failed: bool,
    pub last_rewrite_failed: bool,
    pub rewrite_scheduled: bool,
    /// The AOF size (base and incremental files) after the last rewrite, and now.
    pub base_size: u64,
    pub current_size: u64,
    last_annotation_s: u64,
    /// Length of the incremental file after its last whole write.
    good_len: u64,
    /// Failed rewrites in a row, and no automatic rewrite before this time (unix ms).
    pub rewrite_failures: u32,
    pub rewrite_retry_at_ms: u64,
}

impl Aof {
    /// Bytes logged and not yet written to the file.
    pub fn buffered(&self) -> usize {
        self.buf.capacity()
    }

    pub fn enabled(&self) -> bool {
        self.file.is_some()
    }

    /// Adds propagated bytes.
    pub fn feed(&mut self, bytes: &[u8]) {
        if self.file.is_some() {
            self.buf.extend_from_slice(bytes);
        }
    }

    /// With `aof-timestamp-enabled`, a `#TS:` annotation before the commands of a new second.
    pub fn annotate(&mut self, now_s: u64) {
        if self.file.is_some() && now_s != self.last_annotation_s {
            self.last_annotation_s = now_s;
            self.buf
                .extend_from_slice(format!("#TS:{now_s}\r\n").as_bytes());
        }
    }

    /// Whether the AOF grew enough since its last rewrite for `auto-aof-rewrite-percentage` and
    /// `-min-size` to ask for another.
    pub fn wants_rewrite(&self, percentage: u64, min_size: u64) -> bool {
        if self.file.is_none() || percentage == 0 || self.current_size < min_size {
            return false;
        }
        let base = self.base_size.max(1);
        (self.current_size - base.min(self.current_size)) * 100 / base >= percentage
    }
}

impl Server {
    fn aof_dir(&self) -> PathBuf {
        PathBuf::from(self.config.get_str("appenddirname"))
    }

    fn aof_name(&self) -> String {
        self.config.get_str("appendfilename")
    }

    fn manifest_path(&self) -> PathBuf {
        self.aof_dir().join(format!("{}.manifest", self.aof_name()))
    }

    /// Writes the manifest through a temporary file and a rename.
    fn write_manifest(&self, m: &Manifest) -> io::Result<()> {
        let path = self.manifest_path();
        let tmp = self
            .aof_dir()
            .join(format!("temp-{}.manifest", self.aof_name()));
        let mut f = File::create(&tmp)?;
        f.write_all(m.render().as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &path)?;
        File::open(self.aof_dir())?.sync_all()
    }

    /// Opens a new incremental file (the next seq) and makes it the one commands go to.
    fn open_new_incr(&mut self) -> io::Result<()> {
        self.aof_flush(true);
        let seq = self.aof.manifest.next_incr_seq();
        let name = format!("{}.{seq}.incr.aof", self.aof_name());
        // A fresh file: an unreferenced one of the same name (from an abandoned AOF) is replaced.
        let file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(true)
            .open(self.aof_dir().join(&name))?;
        let mut m = self.aof.manifest.clone();
        m.incrs.push(Part { name, seq });
        // Until a base exists the manifest is not written: a crash before it then loads the RDB
        // file (or nothing), never an incremental file without what came before it.
        if m.base.is_some() {
            self.write_manifest(&m)?;
        }
        self.aof.manifest = m;
        self.aof.file = Some(file);
        self.aof.good_len = 0;
        self.reset_stream_db();
        Ok(())
    }

    /// Reopens the last incremental file of a loaded AOF for appending.
    fn reopen_last_incr(&mut self) -> io::Result<bool> {
        let Some(last) = self.aof.manifest.incrs.last() else {
            return Ok(false);
        };
        let path = self.aof_dir().join(&last.name);
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        self.aof.good_len = file.metadata()?.len();
        self.aof.file = Some(file);
        self.reset_stream_db();
        Ok(true)
    }

    /// Turns the AOF on. At startup, after loading it: appending to its last incremental file, or
    /// with no AOF yet a new one and a base written at once (`sync`). At run time: the files on
    /// disk describe an older dataset, so a new incremental file and a rewrite for the base,
    /// through the snapshot; the manifest names them once the base is complete.
    pub fn aof_enable(&mut self, sync: bool) -> io::Result<()> {
        fs::create_dir_all(self.aof_dir())?;
        if sync {
            if let Ok(text) = fs::read_to_string(self.manifest_path()) {
                self.aof.manifest = Manifest::parse(&text).map_err(io::Error::other)?;
            }
            if self.aof.manifest.base.is_some() && self.reopen_last_incr()? {
                self.refresh_propagating();
                return Ok(());
            }
        } else {
            // The old log is abandoned: removing its manifest keeps a crash before the new base
            // from loading it.
            let _ = fs::remove_file(self.manifest_path());
            self.aof.manifest = Manifest::default();
        }
        self.open_new_incr()?;
        self.refresh_propagating();
        self.start_aof_rewrite()?;
        if sync {
            self.finish_bgsave();
        }
        Ok(())
    }

    /// Turns the AOF off (CONFIG SET appendonly no).
    pub fn aof_disable(&mut self) {
        self.aof_flush(true);
        self.aof.file = None;
        self.refresh_propagating();
    }

    /// Writes what propagation produced; fsyncs per `appendfsync` (`force`: now).
    pub fn aof_flush(&mut self, force_fsync: bool) {
        let Some(file) = self.aof.file.as_mut() else {
            return;
        };
        if !self.aof.buf.is_empty() {
            match file.write_all(&self.aof.buf) {
                Ok(()) => {
                    self.aof.current_size += self.aof.buf.len() as u64;
                    self.aof.good_len += self.aof.buf.len() as u64;
                    self.aof.unsynced = true;
                    self.aof.last_write_failed = false;
                }
                Err(e) => {
                    log_at!(Warning, "Error writing to the AOF file: {e}");
                    // Part of the buffer may have reached the file: cut it back, so the retry
                    // does not leave a torn command in the middle of the log.
                    if let Err(t) = file.set_len(self.aof.good_len) {
                        log_at!(Warning, "Could not remove a short write from the AOF: {t}");
                    }
                    if self.aof.fsync == Fsync::Always {
                        log_at!(Warning, "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting...");
                        std::process::exit(1);
                    }
                    self.aof.last_write_failed = true;
                    return;
                }
            }
            self.aof.buf.clear();
            if self.aof.buf.capacity() > 1 << 20 {
                self.aof.buf = Vec::new();
            }
        }
        let now = sys::now_ms();
        let due = match self.aof.fsync {
            Fsync::Always => true,
            Fsync::EverySec => now.saturating_sub(self.aof.last_fsync_ms) >= 1000,
            Fsync::No => false,
        };
        if self.aof.unsynced && (due || force_fsync) {
            if let Some(file) = self.aof.file.as_ref() {
                if let Err(e) = file.sync_data() {
                    log_at!(Warning, "Error fsyncing the AOF file: {e}");
                    if self.aof.fsync == Fsync::Always {
                        std::process::exit(1);
                    }
                    self.aof.last_write_failed = true;
                    return;
                }
            }
            self.aof.unsynced = false;
            self.aof.last_write_failed = false;
            self.aof.last_fsync_ms = now;
        }
    }

    /// BGREWRITEAOF: commands from now on go to a new incremental file while the snapshot writes
    /// a new base.
    pub fn start_aof_rewrite(&mut self) -> io::Result<()> {
        if self.rdb.bgsave.is_some() {
            self.aof.rewrite_scheduled = true;
            return Ok(());
        }
        fs::create_dir_all(self.aof_dir())?;
        if !self.aof.manifest.incrs.is_empty() && self.aof.file.is_some() {
            // The file commands go to during the rewrite follows what the new base covers.
            self.open_new_incr()?;
        }
        let seq = self.aof.manifest.base.as_ref().map_or(0, |b| b.seq) + 1;
        let tmp = self
            .aof_dir()
            .join(format!("temp-rewriteaof-{}.aof", std::process::id()));
        self.start_snapshot_job(&tmp, Purpose::AofBase { seq })
    }

    /// The snapshot of a rewrite finished at `tmp`: it becomes the base, and the incremental files
    /// before the current one go.
    pub fn finish_aof_rewrite(&mut self, tmp: &Path, seq: u64) -> io::Result<()> {
        let ext = if self.config.get_bool("aof-use-rdb-preamble") {
            "rdb"
        } else {
            "aof"
        };
        let name = format!("{}.{seq}.base.{ext}", self.aof_name());
        fs::rename(tmp, self.aof_dir().join(&name))?;
        let old = self.aof.manifest.clone();
        // With the AOF off, the base holds everything: no incremental file follows it.
        let current = old.incrs.last().cloned().filter(|_| self.aof.enabled());
        let m = Manifest {
            base: Some(Part { name, seq }),
            incrs: current.into_iter().collect(),
        };
        self.write_manifest(&m)?;
        self.aof.manifest = m.clone();
        for p in old.base.iter().chain(old.incrs.iter()) {
            if !m.incrs.contains(p) && m.base.as_ref() != Some(p) {
                let _ = fs::remove_file(self.aof_dir().join(&p.name));
            }
        }
        self.aof.base_size = self.aof_files_size();
        self.aof.current_size = self.aof.base_size;
        log_at!(Notice, "Background AOF rewrite finished successfully");
        Ok(())
    }

    fn aof_files_size(&self) -> u64 {
        let m = &self.aof.manifest;
        m.base
            .iter()
            .chain(m.incrs.iter())
            .filter_map(|p| fs::metadata(self.aof_dir().join(&p.name)).ok())
            .map(|md| md.len())
            .sum()
    }

    /// Whether an AOF exists to load (its manifest).
    pub fn aof_exists(&self) -> bool {
        self.manifest_path().exists()
    }

    /// Loads the AOF (base, then incremental files in order) into the keyspace.
    pub fn load_aof(&mut self) -> Result<(), String> {
        let text = fs::read_to_string(self.manifest_path())
            .map_err(|e| format!("Can't read the AOF manifest: {e}"))?;
        let m = Manifest::parse(&text)?;
        let start = sys::now_us();
        if let Some(b) = &m.base {
            let path = self.aof_dir().join(&b.name);
            let data =
                fs::read(&path).map_err(|e| format!("Can't open the AOF base {}: {e}", b.name))?;
            if data.starts_with(b"REDIS") {
                let loaded = load::load_file(&data, &mut self.ks, &self.core_cfg, sys::now_ms())
                    .map_err(|e| format!("Bad AOF base {}: {e}", b.name))?;
                self.load_functions(&loaded.functions);
                // An AOF from before Redis 7 keeps its commands after the RDB preamble.
                if loaded.end < data.len() {
                    self.replay(&path, &data[loaded.end..], false)?;
                }
            } else {
                self.replay(&path, &data, false)?;
            }
        }
        let last = m.incrs.len().saturating_sub(1);
        for (i, p) in m.incrs.iter().enumerate() {
            let path = self.aof_dir().join(&p.name);
            let data = match fs::read(&path) {
                Ok(d) => d,
                Err(e) if e.kind() == io::ErrorKind::NotFound && i == last => Vec::new(),
                Err(e) => return Err(format!("Can't open the AOF file {}: {e}", p.name)),
            };
            self.replay(&path, &data, i == last)?;
        }
        self.aof.manifest = m;
        self.aof.base_size = self.aof_files_size();
        self.aof.current_size = self.aof.base_size;
        self.ks.dirty = 0;
        log_at!(
            Notice,
            "DB loaded from append only file: {:.3} seconds",
            (sys::now_us() - start) as f64 / 1e6
        );
        Ok(())
    }

    /// Runs the commands of one AOF file. A file that ends in the middle of a command (or of a
    /// MULTI) is cut there when it is the last one and `aof-load-truncated` allows it.
    fn replay(&mut self, path: &Path, data: &[u8], last: bool) -> Result<(), String> {
        // Nothing expires while the log is replayed: a later command may keep the key.
        self.ks.set_loading(true);
        let r = self.replay_commands(path, data, last);
        self.ks.set_loading(false);
        r
    }

    fn replay_commands(&mut self, path: &Path, data: &[u8], last: bool) -> Result<(), String> {
        let mut at = 0;
        let mut db = 0usize;
        let mut multi: Option<(usize, Vec<Vec<Vec<u8>>>)> = None;
        let name = path.display().to_string();
        let mut args = ember_core::resp::ArgBuf::default();
        let limits = ember_core::resp::ParseLimits {
            max_bulk_len: u64::MAX,
            unauthenticated: false,
        };
        while at < data.len() {
            // `aof-timestamp-enabled` annotations: `#TS:<unix seconds>` lines.
            if data[at] == b'#' {
                match data[at..].iter().position(|&b| b == b'\n') {
                    Some(n) => {
                        at += n + 1;
                        continue;
                    }
                    None => break,
                }
            }
            let (consumed, source) = match parse_command(&data[at..], &limits, &mut args) {
                Ok(Parsed::Command { consumed, source }) => (consumed, source),
                Ok(Parsed::Skip { consumed }) => {
                    at += consumed;
                    continue;
                }
                Ok(Parsed::Incomplete) => break,
                Err(e) => {
                    return Err(format!(
                        "Bad file format reading the append only file {name} at offset {at}: {e:?}"
                    ))
                }
            };
            let argv = args.argv(&data[at..at + consumed], source);
            let start = at;
            at += consumed;
            if argv.is_empty() {
                continue;
            }
            let cmd = argv.get(0).to_ascii_lowercase();
            match cmd.as_slice() {
                b"multi" => multi = Some((start, Vec::new())),
                b"exec" => {
                    if let Some((_, queued)) = multi.take() {
                        for q in queued {
                            let a: Vec<&[u8]> = q.iter().map(Vec::as_slice).collect();
                            self.replay_one(&mut db, &a, &name)?;
                        }
                    }
                }
                _ => match multi.as_mut() {
                    Some((_, q)) => q.push(argv.iter().map(<[u8]>::to_vec).collect()),
                    None => {
                        let a: Vec<&[u8]> = argv.iter().collect();
                        self.replay_one(&mut db, &a, &name)?;
                    }
                },
            }
        }
        // What follows the last whole command (or an unfinished MULTI) is a torn write.
        let good = multi.map_or(at, |(start, _)| start);
        if good < data.len() {
            if !last || !self.config.get_bool("aof-load-truncated") {
                return Err(format!("Unexpected end of file reading the append only file {name} at offset {good}. You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."));
            }
            log_at!(Warning, "!!! Warning: short read while loading the AOF file {name}!!! Truncating the AOF at offset {good}");
            let f = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(|e| e.to_string())?;
            f.set_len(good as u64).map_err(|e| e.to_string())?;
            f.sync_all().map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// FUNCTION LOAD [REPLACE] / DELETE / FLUSH from the file.
    fn replay_function(&mut self, args: &[&[u8]], name: &str) -> Result<(), String> {
        let sub = args
            .get(1)
            .map(|a| a.to_ascii_lowercase())
            .unwrap_or_default();
        let bad = || format!("Bad FUNCTION command in the append only file {name}");
        match sub.as_slice() {
            b"load" => {
                let code = args.last().filter(|_| args.len() >= 3).ok_or_else(bad)?;
                crate::function::restore_library(self, code).map_err(|e| {
                    format!(
                        "Can't load a function library from the append only file {name}: {}",
                        e.0
                    )
                })
            }
            b"delete" => {
                let lib = args.get(2).ok_or_else(bad)?;
                crate::function::delete_library(self, &String::from_utf8_lossy(lib));
                Ok(())
            }
            b"flush" => {
                self.functions = None;
                Ok(())
            }
            _ => Err(bad()),
        }
    }

    /// Runs one logged command against the keyspace (SELECT moves `db`).
    fn replay_one(&mut self, db: &mut usize, args: &[&[u8]], name: &str) -> Result<(), String> {
        let cmd = args[0].to_ascii_lowercase();
        if cmd == b"select" {
            let n = args
                .get(1)
                .and_then(|a| std::str::from_utf8(a).ok())
                .and_then(|s| s.parse::<usize>().ok())
                .filter(|&n| n < self.ks.db_count())
                .ok_or_else(|| format!("Bad SELECT in the append only file {name}"))?;
            *db = n;
            return Ok(());
        }
        if cmd == b"publish" || cmd == b"spublish" {
            return Ok(());
        }
        if cmd == b"function" {
            return self.replay_function(args, name);
        }
        let Some(c) = ember_core::cmd::find(&cmd) else {
            return Err(format!(
                "Unknown command '{}' reading the append only file {name}",
                String::from_utf8_lossy(&cmd[..cmd.len().min(64)])
            ));
        };
        if !c.info.arity_ok(args.len()) {
            return Err(format!(
                "Bad file format reading the append only file {name}: wrong number of arguments for '{}'",
                c.info.name
            ));
        }
        let mut buf = Vec::new();
        let mut ranges = Vec::with_capacity(args.len());
        for a in args {
            ranges.push(buf.len()..buf.len() + a.len());
            buf.extend_from_slice(a);
        }
        let argv = Argv::new(&buf, &ranges);
        let mut out = Vec::new();
        let mut journal = ember_core::journal::Journal::default();
        let mut ctx = ember_core::cmd::ExecCtx {
            ks: &mut self.ks,
            db: *db,
            now_ms: sys::now_ms(),
            out: ember_core::resp::ReplyWriter::new(&mut out, ember_core::resp::Proto::Resp2),
            config: &self.core_cfg,
            no_touch: true,
            effects: Default::default(),
            may_block: false,
            journal: &mut journal,
        };
        // A command that fails here failed when it was logged too (it changed nothing).
        let _ = (c.run)(&mut ctx, argv);
        drop(ctx);
        self.ks.drain_expired(|_, _| {});
        Ok(())
    }
}
