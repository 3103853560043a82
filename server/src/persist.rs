//! RDB persistence for the server: SAVE writes `dir/dbfilename` at once; BGSAVE walks the
//! keyspace a slice per event-loop turn through core's snapshot (no fork: a key about to change
//! before the walk reached it is written first, so the file is the dataset of the moment BGSAVE
//! started) while commands keep running. Both write a temporary file, fsync it, rename it over the
//! old one and fsync the directory, so a crash leaves the previous file intact. The file is loaded
//! at startup; `save <seconds> <changes>` points start BGSAVE from the cron.

use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use ember_core::keyspace::SnapshotFormat;
use ember_core::rdb::commands::CommandWriter;
use ember_core::rdb::save::{Encoder, Options};
use ember_core::rdb::{load, save, Sink};

use crate::server::Server;
use crate::{log_at, sys};

/// Bytes a file writer buffers before a write(2).
const WRITE_BUFFER_BYTES: usize = 1 << 20;

/// A buffered file that remembers its first write error (the encoder's sink cannot fail).
pub struct FileSink {
    w: BufWriter<File>,
    err: Option<io::Error>,
}

impl FileSink {
    fn create(path: &Path) -> io::Result<Self> {
        Ok(FileSink {
            w: BufWriter::with_capacity(WRITE_BUFFER_BYTES, File::create(path)?),
            err: None,
        })
    }

    /// Flushes and fsyncs; the first error of the whole write, if any.
    fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.err.take() {
            return Err(e);
        }
        self.w.flush()?;
        self.w.get_ref().sync_all()
    }
}

impl Sink for FileSink {
    fn put(&mut self, bytes: &[u8]) {
        if self.err.is_none() {
            if let Err(e) = self.w.write_all(bytes) {
                self.err = Some(e);
            }
        }
    }
}

/// The state of RDB persistence (INFO persistence, LASTSAVE, MISCONF).
#[derive(Default)]
pub struct RdbState {
    /// A BGSAVE in progress: its temporary file and encoder.
    pub bgsave: Option<Bgsave>,
    /// BGSAVE SCHEDULE asked for a save once nothing else is saving.
    pub scheduled: bool,
    pub last_bgsave_failed: bool,
    pub last_bgsave_time_s: Option<u64>,
    /// Changes (the keyspace's dirty counter) when the running BGSAVE started.
    dirty_at_start: u64,
    /// Successful saves since startup (INFO `rdb_saves`).
    pub saves: u64,
}

/// A snapshot being written: its temporary file and encoder, and what it is for.
pub struct Bgsave {
    enc: SnapWriter,
    tmp: PathBuf,
    started_ms: u64,
    pub purpose: Purpose,
}

/// A snapshot's file writer: RDB, or commands for an AOF base without RDB preamble.
enum SnapWriter {
    Rdb(Encoder<FileSink>),
    Commands(CommandWriter<FileSink>),
}

impl SnapWriter {
    fn step(&mut self, ks: &mut ember_core::keyspace::Keyspace, slots: usize) -> bool {
        match self {
            SnapWriter::Rdb(e) => ks.snapshot_step(e, slots),
            SnapWriter::Commands(c) => ks.snapshot_step(c, slots),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            SnapWriter::Rdb(e) => e.finish().finish(),
            SnapWriter::Commands(c) => c.into_sink().finish(),
        }
    }
}

/// What a snapshot is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// BGSAVE: `dbfilename`.
    Rdb,
    /// BGREWRITEAOF: the AOF's new base file, number `seq`.
    AofBase { seq: u64 },
}

impl Server {
    /// Where the RDB file lives (the server runs in `dir`).
    pub fn rdb_path(&self) -> PathBuf {
        PathBuf::from(self.config.get_str("dbfilename"))
    }

    fn rdb_options(&self) -> Options {
        Options {
            compression: self.config.get_bool("rdbcompression"),
            checksum: self.config.get_bool("rdbchecksum"),
        }
    }

    /// Auxiliary fields, as Redis writes them.
    fn rdb_aux(&self) -> Vec<(Vec<u8>, Vec<u8>)> {
        vec![
            (
                b"redis-ver".to_vec(),
                ember_core::REDIS_VERSION.as_bytes().to_vec(),
            ),
            (b"redis-bits".to_vec(), b"64".to_vec()),
            (
                b"ctime".to_vec(),
                (sys::now_ms() / 1000).to_string().into_bytes(),
            ),
            (
                b"used-mem".to_vec(),
                crate::alloc::used().to_string().into_bytes(),
            ),
            (b"aof-base".to_vec(), b"0".to_vec()),
        ]
    }

    fn start_encoder(&self, tmp: &Path) -> io::Result<Encoder<FileSink>> {
        let mut enc = Encoder::new(FileSink::create(tmp)?, self.rdb_options());
        let aux = self.rdb_aux();
        let pairs: Vec<(&[u8], &[u8])> = aux.iter().map(|(k, v)| (&k[..], &v[..])).collect();
        enc.header(&pairs);
        self.write_functions(&mut enc);
        Ok(enc)
    }

    /// The function libraries, as RDB records after the header.
    pub fn write_functions<S: ember_core::rdb::Sink>(&self, enc: &mut Encoder<S>) {
        if let Some(f) = &self.functions {
            for code in f.codes() {
                enc.function(code);
            }
        }
    }

    /// Loads the function libraries an RDB file held (replacing libraries of the same name).
    pub fn load_functions(&mut self, codes: &[Vec<u8>]) {
        for code in codes {
            if let Err(e) = crate::function::restore_library(self, code) {
                log_at!(
                    Warning,
                    "Can't load a function library from the RDB: {}",
                    e.0
                );
            }
        }
    }

    /// SAVE: writes the whole dataset now.
    pub fn save_rdb(&mut self) -> io::Result<()> {
        let tmp = PathBuf::from(format!("temp-{}.rdb", std::process::id()));
        let written = (|| {
            let mut enc = self.start_encoder(&tmp)?;
            save::save_keyspace(&mut enc, &self.ks, sys::now_ms());
            enc.finish().finish()?;
            install(&tmp, &self.rdb_path())
        })();
        match &written {
            Ok(()) => {
                log_at!(Notice, "DB saved on disk");
                self.saved(self.ks.dirty);
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                log_at!(Warning, "Failed saving the DB: {e}");
                self.rdb.last_bgsave_failed = true;
            }
        }
        written
    }

    /// Records a successful save of the dataset as it was at change count `dirty_then`.
    fn saved(&mut self, dirty_then: u64) {
        self.ks.dirty = self.ks.dirty.saturating_sub(dirty_then);
        self.lastsave_s = sys::now_ms() / 1000;
        self.rdb.last_bgsave_failed = false;
        self.rdb.saves += 1;
    }

    /// Seconds the running BGSAVE has taken so far.
    pub fn bgsave_elapsed_s(&self) -> Option<u64> {
        let bg = self.rdb.bgsave.as_ref()?;
        Some(sys::now_ms().saturating_sub(bg.started_ms) / 1000)
    }

    /// BGSAVE: starts the incremental snapshot; an error when one is already running.
    pub fn start_bgsave(&mut self) -> io::Result<()> {
        if self.rdb.bgsave.is_some() {
            return Err(io::Error::other("Background save already in progress"));
        }
        let tmp = PathBuf::from(format!("temp-bg-{}.rdb", std::process::id()));
        self.start_snapshot_job(&tmp, Purpose::Rdb)?;
        self.rdb.dirty_at_start = self.ks.dirty;
        log_at!(Notice, "Background saving started");
        Ok(())
    }

    /// Starts writing a snapshot of the keyspace to `tmp` for `purpose`: an RDB file, or for an
    /// AOF base with `aof-use-rdb-preamble no`, commands.
    pub fn start_snapshot_job(&mut self, tmp: &Path, purpose: Purpose) -> io::Result<()> {
        let commands = matches!(purpose, Purpose::AofBase { .. })
            && !self.config.get_bool("aof-use-rdb-preamble");
        let (enc, format) = if commands {
            let mut w = CommandWriter::new(FileSink::create(tmp)?);
            if let Some(f) = &self.functions {
                for code in f.codes() {
                    let mut cmd = Vec::new();
                    crate::propagate::encode(&mut cmd, &[b"FUNCTION", b"LOAD", b"REPLACE", code]);
                    w.raw(&cmd);
                }
            }
            (SnapWriter::Commands(w), SnapshotFormat::Commands)
        } else {
            let compression = self.config.get_bool("rdbcompression");
            let e = self.start_encoder(tmp)?;
            (SnapWriter::Rdb(e), SnapshotFormat::Rdb { compression })
        };
        let now = sys::now_ms();
        self.ks.start_snapshot(now, format);
        self.rdb.bgsave = Some(Bgsave {
            enc,
            tmp: tmp.to_path_buf(),
            started_ms: now,
            purpose,
        });
        Ok(())
    }

    /// Advances a running BGSAVE by about `budget_us` microseconds of work; finishes it when the
    /// walk is complete.
    pub fn bgsave_step(&mut self, budget_us: u64) {
        let Some(mut bg) = self.rdb.bgsave.take() else {
            return;
        };
        let deadline = sys::now_us() + budget_us;
        let mut done = false;
        while !done && sys::now_us() < deadline {
            done = bg.enc.step(&mut self.ks, SNAPSHOT_BUCKETS_PER_STEP);
        }
        if !done {
            self.rdb.bgsave = Some(bg);
            return;
        }
        let elapsed_s = sys::now_ms().saturating_sub(bg.started_ms) / 1000;
        let written = bg.enc.finish();
        if let Purpose::AofBase { seq } = bg.purpose {
            let result = written.and_then(|()| self.finish_aof_rewrite(&bg.tmp, seq));
            self.aof.last_rewrite_failed = result.is_err();
            match result {
                Ok(()) => self.aof.rewrite_failures = 0,
                Err(e) => {
                    let _ = fs::remove_file(&bg.tmp);
                    log_at!(Warning, "Background AOF rewrite error: {e}");
                    // Automatic rewrites back off: 2, 4, 8, ... seconds, at most an hour.
                    self.aof.rewrite_failures += 1;
                    let wait_s = 1u64 << self.aof.rewrite_failures.min(11);
                    self.aof.rewrite_retry_at_ms = sys::now_ms() + wait_s.min(3600) * 1000;
                }
            }
            return;
        }
        let result = written.and_then(|()| install(&bg.tmp, &self.rdb_path()));
        self.rdb.last_bgsave_time_s = Some(elapsed_s);
        match result {
            Ok(()) => {
                log_at!(Notice, "Background saving terminated with success");
                self.saved(self.rdb.dirty_at_start);
            }
            Err(e) => {
                let _ = fs::remove_file(&bg.tmp);
                log_at!(Warning, "Background saving error: {e}");
                self.rdb.last_bgsave_failed = true;
            }
        }
    }

    /// Finishes a running BGSAVE at once (SAVE, SHUTDOWN, DEBUG RELOAD need the file now).
    pub fn finish_bgsave(&mut self) {
        while self.rdb.bgsave.is_some() {
            self.bgsave_step(u64::MAX / 4);
        }
    }

    /// The cron's part: save points and scheduled saves start a BGSAVE.
    pub fn persistence_cron(&mut self, now_ms: u64) {
        self.aof_flush(false);
        if self.rdb.bgsave.is_some() {
            return;
        }
        let pct = self.config.get_int("auto-aof-rewrite-percentage").max(0) as u64;
        let min = self.config.get_int("auto-aof-rewrite-min-size").max(0) as u64;
        if self.aof.wants_rewrite(pct, min) && now_ms >= self.aof.rewrite_retry_at_ms {
            log_at!(
                Notice,
                "Starting automatic rewriting of AOF on {}% growth",
                pct
            );
            self.aof.rewrite_scheduled = true;
        }
        if self.aof.rewrite_scheduled {
            self.aof.rewrite_scheduled = false;
            if let Err(e) = self.start_aof_rewrite() {
                log_at!(
                    Warning,
                    "Can't rewrite the append only file in background: {e}"
                );
            }
            return;
        }
        if self.rdb.scheduled {
            self.rdb.scheduled = false;
            let _ = self.start_bgsave();
            return;
        }
        let since_s = (now_ms / 1000).saturating_sub(self.lastsave_s);
        let points = self.config.get_str("save");
        let words: Vec<u64> = points
            .split_whitespace()
            .filter_map(|w| w.parse().ok())
            .collect();
        let due = words
            .chunks_exact(2)
            .any(|p| self.ks.dirty >= p[1] && p[1] > 0 && since_s >= p[0]);
        // After a failed save, retry no sooner than Redis does (5 seconds).
        let retry_ok = !self.rdb.last_bgsave_failed || since_s >= 5;
        if due && retry_ok {
            log_at!(
                Notice,
                "{} changes in {} seconds. Saving...",
                self.ks.dirty,
                since_s
            );
            if let Err(e) = self.start_bgsave() {
                log_at!(Warning, "Can't save in background: {e}");
            }
        }
    }

    /// Whether save points are configured (SHUTDOWN and SIGTERM then save first).
    pub fn has_save_points(&self) -> bool {
        !self.config.get_str("save").trim().is_empty()
    }

    /// Removes temporary files a crash left in `dir` and the AOF directory (a save or rewrite that
    /// never finished; the files they would have replaced are whole).
    pub fn remove_stale_temp_files(&self) {
        let aof_dir = PathBuf::from(self.config.get_str("appenddirname"));
        for dir in [PathBuf::from("."), aof_dir] {
            let Ok(entries) = fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                let ours = name.starts_with("temp-")
                    && [".rdb", ".aof", ".manifest"]
                        .iter()
                        .any(|x| name.ends_with(x));
                if ours {
                    log_at!(
                        Notice,
                        "Removing {name}, left by a save that did not finish"
                    );
                    let _ = fs::remove_file(e.path());
                }
            }
        }
    }

    /// Starts loading `dir/dbfilename` at startup, a slice per event-loop turn
    /// ([`Server::loading_step`]); commands meanwhile get `-LOADING`. Ok(false) when there is no
    /// file.
    pub fn start_rdb_load(&mut self) -> Result<bool, String> {
        let Some(data) = self.read_rdb_file()? else {
            return Ok(false);
        };
        let now = sys::now_ms();
        let loader = load::Loader::start(&data, now).map_err(|e| self.bad_rdb(e))?;
        self.loading = Some(Loading {
            data,
            loader,
            started_us: sys::now_us(),
            started_s: now / 1000,
        });
        Ok(true)
    }

    /// Loads for about `budget_us` microseconds; true when there is nothing (left) to load. An
    /// error is fatal to the caller (the file is bad).
    pub fn loading_step(&mut self, budget_us: u64) -> Result<bool, String> {
        let Some(mut l) = self.loading.take() else {
            return Ok(true);
        };
        let deadline = sys::now_us() + budget_us;
        loop {
            let done = l
                .loader
                .step(&l.data, &mut self.ks, &self.core_cfg, LOAD_KEYS_PER_STEP)
                .map_err(|e| self.bad_rdb(e))?;
            if done {
                break;
            }
            if sys::now_us() >= deadline {
                self.loading = Some(l);
                return Ok(false);
            }
        }
        self.finish_rdb_load(&l.loader.finish(), l.started_us);
        Ok(true)
    }

    /// The RDB file's bytes; `None` when there is no file.
    fn read_rdb_file(&self) -> Result<Option<Vec<u8>>, String> {
        let path = self.rdb_path();
        match fs::read(&path) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(format!("Can't open {}: {e}", path.display())),
        }
    }

    fn bad_rdb(&self, e: impl std::fmt::Display) -> String {
        format!("Bad RDB file {}: {e}", self.rdb_path().display())
    }

    /// Takes in what an RDB load brought besides keys (function libraries, notes on what it
    /// skipped); `from` names the source in the log.
    pub fn adopt_loaded(&mut self, loaded: &load::Loaded, from: &str) {
        self.load_functions(&loaded.functions);
        for note in &loaded.notes {
            log_at!(Warning, "While loading {from}: {note}");
        }
    }

    /// The end of loading `dir/dbfilename`, begun at `started_us`.
    fn finish_rdb_load(&mut self, loaded: &load::Loaded, started_us: u64) {
        self.adopt_loaded(loaded, "the RDB");
        log_at!(
            Notice,
            "DB loaded from disk: {:.3} seconds ({} keys, {} expired skipped)",
            (sys::now_us() - started_us) as f64 / 1e6,
            loaded.keys,
            loaded.expired
        );
        self.ks.dirty = 0;
    }

    /// INFO persistence's loading fields: (start time, total bytes, loaded bytes).
    pub fn loading_progress(&self) -> Option<(u64, usize, usize)> {
        let l = self.loading.as_ref()?;
        Some((l.started_s, l.data.len(), l.loader.offset()))
    }

    /// Loads `dir/dbfilename` into the (empty) keyspace at once (DEBUG RELOAD); Ok(false) when
    /// there is none.
    pub fn load_rdb(&mut self) -> Result<bool, String> {
        let Some(data) = self.read_rdb_file()? else {
            return Ok(false);
        };
        let start = sys::now_us();
        let loaded = load::load_file(&data, &mut self.ks, &self.core_cfg, sys::now_ms())
            .map_err(|e| self.bad_rdb(e))?;
        self.finish_rdb_load(&loaded, start);
        Ok(true)
    }
}

/// Stops the process on a file that cannot be loaded at startup, as Redis does.
pub fn exit_on_load_error(e: &str) -> ! {
    log_at!(Warning, "{e}");
    log_at!(
        Warning,
        "Fatal error loading the DB, check server logs. Exiting."
    );
    std::process::exit(1);
}

/// Keys a loading step reads between checks of its time budget.
const LOAD_KEYS_PER_STEP: usize = 256;

/// An RDB file being loaded at startup.
pub struct Loading {
    data: Vec<u8>,
    loader: load::Loader,
    started_us: u64,
    started_s: u64,
}

/// Buckets a BGSAVE step walks between checks of its time budget.
const SNAPSHOT_BUCKETS_PER_STEP: usize = 256;

/// Moves a finished temporary file over `path` and makes the rename durable.
fn install(tmp: &Path, path: &Path) -> io::Result<()> {
    fs::rename(tmp, path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    File::open(dir)?.sync_all()
}
