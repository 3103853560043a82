//! Observability hooks run after each command: MONITOR feeds, the slow log and latency samples.

use ember_core::resp::Argv;

use crate::client::Client;
use crate::server::{
    Server, SlowlogEntry, LATENCY_HISTORY_MAX, SLOWLOG_ARGS_MAX, SLOWLOG_ARG_BYTES_MAX,
};
use crate::sys;

impl Server {
    /// EVAL and friends are logged before the commands their script runs (they are
    /// `skip_monitor`, so the usual logging after the command does not apply).
    pub(crate) fn feed_monitors_for_script(&mut self, c: &Client, argv: Argv<'_>) {
        if !self.monitors.is_empty() {
            self.feed_monitors(c, argv);
        }
    }

    pub(crate) fn feed_monitors(&mut self, c: &Client, argv: Argv<'_>) {
        let now_us = sys::now_us();
        let mut line = format!(
            "+{}.{:06} [{} {}]",
            now_us / 1_000_000,
            now_us % 1_000_000,
            c.db,
            if c.unix {
                "unix:".to_string() + self.unix_path.as_deref().unwrap_or("")
            } else {
                c.addr.clone()
            }
        );
        for a in argv.iter() {
            line.push_str(" \"");
            for &b in a {
                match b {
                    b'\\' => line.push_str("\\\\"),
                    b'"' => line.push_str("\\\""),
                    b'\n' => line.push_str("\\n"),
                    b'\r' => line.push_str("\\r"),
                    b'\t' => line.push_str("\\t"),
                    7 => line.push_str("\\a"),
                    8 => line.push_str("\\b"),
                    0x20..=0x7e => line.push(b as char),
                    _ => line.push_str(&format!("\\x{b:02x}")),
                }
            }
            line.push('"');
        }
        line.push_str("\r\n");
        let monitors = self.monitors.clone();
        for fd in monitors {
            if fd == c.fd {
                continue;
            }
            if let Some(Some(m)) = self.clients.get_mut(fd as usize) {
                m.out.extend_from_slice(line.as_bytes());
                self.queue_write(fd);
            }
        }
    }

    pub(crate) fn slowlog_push(&mut self, c: &Client, argv: Argv<'_>, duration_us: u64) {
        let threshold = self.hot.slowlog_threshold_us;
        if threshold < 0 || duration_us < threshold as u64 {
            return;
        }
        let mut args: Vec<Vec<u8>> = Vec::new();
        let argc = argv.len();
        for (i, a) in argv.iter().enumerate() {
            if i == SLOWLOG_ARGS_MAX - 1 && argc > SLOWLOG_ARGS_MAX {
                args.push(
                    format!("... ({} more arguments)", argc - SLOWLOG_ARGS_MAX + 1).into_bytes(),
                );
                break;
            }
            if a.len() > SLOWLOG_ARG_BYTES_MAX {
                let mut v = a[..SLOWLOG_ARG_BYTES_MAX].to_vec();
                v.extend_from_slice(
                    format!("... ({} more bytes)", a.len() - SLOWLOG_ARG_BYTES_MAX).as_bytes(),
                );
                args.push(v);
            } else {
                args.push(a.to_vec());
            }
        }
        let entry = SlowlogEntry {
            id: self.slowlog_next_id,
            time_s: sys::now_ms() / 1000,
            duration_us,
            args,
            addr: c.addr.clone(),
            name: c.name.clone().unwrap_or_default(),
        };
        self.slowlog_next_id += 1;
        self.slowlog.push_front(entry);
        let max = self.hot.slowlog_max_len;
        self.slowlog.truncate(max);
    }

    pub fn latency_add(&mut self, event: &'static str, ms: u64) {
        let now_s = sys::now_ms() / 1000;
        let h = self.latency.entry(event).or_default();
        match h.back_mut() {
            Some(last) if last.0 == now_s => last.1 = last.1.max(ms),
            _ => h.push_back((now_s, ms)),
        }
        while h.len() > LATENCY_HISTORY_MAX {
            h.pop_front();
        }
        let m = self.latency_max.entry(event).or_insert(0);
        *m = (*m).max(ms);
    }
}
