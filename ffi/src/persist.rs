//! Saving a handle's data to an RDB file and loading one: the same files redis-server and
//! ember-server read and write (RDB version 10), so an embedded database can be seeded from a
//! server's snapshot or hand its data to one.

use std::fs;
use std::io::Write;

use ember_core::rdb::{load, save};

use crate::typed::handle;
use crate::{bytes_of, ember_db, ember_status, ffi_boundary};
use ember_status::*;

/// The path argument as a file path (UTF-8 is not required on Unix); an error status (with its
/// message set) for NULL or empty.
fn path_arg(
    db: &mut ember_db,
    path: *const u8,
    len: usize,
) -> Result<std::path::PathBuf, ember_status> {
    use std::os::unix::ffi::OsStrExt;
    match bytes_of(path, len) {
        Err(_) => Err(db.fail(EMBER_ERR_NULL, "NULL path with a non-zero length")),
        Ok([]) => Err(db.fail(EMBER_ERR_INVALID, "empty path")),
        Ok(p) => Ok(std::path::PathBuf::from(std::ffi::OsStr::from_bytes(p))),
    }
}

/// Writes every database of `db` to the RDB file at `path` (`pathlen` bytes, not NUL-terminated):
/// through a temporary file in the same directory, fsynced and renamed over `path`, so a crash
/// leaves the old file whole. Keys already expired are left out.
///
/// # Safety
/// - `db` is a live handle; `path` points to `pathlen` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ember_db_save(
    db: *mut ember_db,
    path: *const u8,
    pathlen: usize,
) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        let path = match path_arg(db, path, pathlen) {
            Ok(p) => p,
            Err(status) => return status,
        };
        let mut enc = save::Encoder::new(Vec::new(), save::Options::default());
        enc.header(&[(b"redis-ver", ember_core::REDIS_VERSION.as_bytes())]);
        save::save_keyspace(&mut enc, &db.ks, db.now_ms());
        let bytes = enc.finish();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        let written = (|| -> std::io::Result<()> {
            let mut f = fs::File::create(&tmp)?;
            f.write_all(&bytes)?;
            f.sync_all()?;
            fs::rename(&tmp, &path)?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::File::open(dir)?.sync_all()?;
            }
            Ok(())
        })();
        match written {
            Ok(()) => {
                db.ks.dirty = 0;
                db.clear_error();
                EMBER_OK
            }
            Err(e) => {
                let _ = fs::remove_file(&tmp);
                db.fail(EMBER_ERR_IO, &format!("saving {}: {e}", path.display()))
            }
        }
    })
}

/// Replaces the data of `db` with the RDB file at `path` (`pathlen` bytes): every database is
/// emptied, then loaded. A corrupt file is EMBER_ERR_CORRUPT with the offset and reason in
/// ember_errmsg(), and leaves the handle's data as it was.
///
/// # Safety
/// - `db` is a live handle; `path` points to `pathlen` readable bytes.
#[no_mangle]
pub unsafe extern "C" fn ember_db_load(
    db: *mut ember_db,
    path: *const u8,
    pathlen: usize,
) -> ember_status {
    ffi_boundary!({
        let Some(db) = handle(db) else {
            return EMBER_ERR_NULL;
        };
        let path = match path_arg(db, path, pathlen) {
            Ok(p) => p,
            Err(status) => return status,
        };
        let data = match fs::read(&path) {
            Ok(d) => d,
            Err(e) => return db.fail(EMBER_ERR_IO, &format!("reading {}: {e}", path.display())),
        };
        // Loaded into a fresh keyspace first: a bad file changes nothing.
        let mut fresh = ember_core::keyspace::Keyspace::new(db.ks.db_count(), db.ks.random());
        match load::load_file(&data, &mut fresh, &db.config, db.now_ms()) {
            Ok(_) => {
                db.ks = fresh;
                db.used_estimate = db.ks.memory_usage().bytes;
                db.clear_error();
                EMBER_OK
            }
            Err(e) => db.fail(EMBER_ERR_CORRUPT, &format!("{}: {e}", path.display())),
        }
    })
}
