//! Redis-style log lines (`pid:M 26 Nov 2026 16:00:00.123 * message`) to stdout or the `logfile`,
//! filtered by `loglevel`.

use std::fs::OpenOptions;
use std::io::Write;
use std::sync::Mutex;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub enum Level {
    Debug,
    Verbose,
    Notice,
    Warning,
}

struct Sink {
    min: Level,
    file: Option<std::fs::File>,
}

static SINK: Mutex<Sink> = Mutex::new(Sink {
    min: Level::Notice,
    file: None,
});

pub fn parse_level(name: &str) -> Level {
    match name {
        "debug" => Level::Debug,
        "verbose" => Level::Verbose,
        "warning" | "nothing" => Level::Warning,
        _ => Level::Notice,
    }
}

/// Sets the level and destination; an empty `logfile` logs to stdout.
pub fn configure(level: &str, logfile: &str) -> std::io::Result<()> {
    let file = if logfile.is_empty() {
        None
    } else {
        Some(OpenOptions::new().create(true).append(true).open(logfile)?)
    };
    let mut s = SINK.lock().unwrap_or_else(|e| e.into_inner());
    s.min = parse_level(level);
    s.file = file;
    Ok(())
}

pub fn set_level(level: &str) {
    SINK.lock().unwrap_or_else(|e| e.into_inner()).min = parse_level(level);
}

pub fn log(level: Level, msg: std::fmt::Arguments<'_>) {
    let mut s = SINK.lock().unwrap_or_else(|e| e.into_inner());
    if level < s.min {
        return;
    }
    let mark = match level {
        Level::Debug => '.',
        Level::Verbose => '-',
        Level::Notice => '*',
        Level::Warning => '#',
    };
    let line = format!(
        "{}:M {} {} {}\n",
        std::process::id(),
        timestamp(),
        mark,
        msg
    );
    match s.file.as_mut() {
        Some(f) => {
            let _ = f.write_all(line.as_bytes());
        }
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(line.as_bytes());
            let _ = out.flush();
        }
    }
}

/// `26 Nov 2026 16:00:00.123` in UTC.
fn timestamp() -> String {
    let ms = crate::sys::now_ms();
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{:02} {} {} {:02}:{:02}:{:02}.{:03}",
        d,
        MONTHS[(m - 1) as usize],
        y,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        ms % 1000
    )
}

/// Days since 1970-01-01 to (year, month, day), Howard Hinnant's algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + (m <= 2) as i64, m, d)
}

#[macro_export]
macro_rules! log_at {
    ($lvl:ident, $($arg:tt)*) => { $crate::log::log($crate::log::Level::$lvl, format_args!($($arg)*)) };
}
