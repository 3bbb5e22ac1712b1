//! The file sink: NDJSON appended to one file, each batch written whole, flushed and fsynced
//! before it returns; the file is rotated by size and by UTC day between batches, never inside
//! one, and nothing already written is ever overwritten or truncated. Only the file's last
//! [`KEEP_CACHED`] bytes stay in the page cache.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use super::{Delta, SinkError};

/// When to start a new file. Checked before each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    /// Rotate once the file has reached this many bytes; `None` never rotates by size.
    pub max_bytes: Option<u64>,
    /// Rotate when the last write was on an earlier UTC day.
    pub daily: bool,
}

impl Default for Rotation {
    fn default() -> Rotation {
        Rotation {
            max_bytes: Some(100 * 1024 * 1024),
            daily: true,
        }
    }
}

/// Bytes at the end of the file kept in the page cache, for readers following it (`tail -f`, a
/// log shipper); the pages before them are dropped once fsynced. A backfill writes gigabytes
/// that nobody reads back, and pages just freed are cheaper to write into than fresh memory:
/// in a million-event backfill the file sink's and the checkpointer's CPU per 1,000 rows stayed
/// flat instead of tripling in its last part.
pub const KEEP_CACHED: u64 = 64 << 20;

/// An NDJSON file opened for appending.
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: File,
    rotation: Rotation,
    /// Bytes in the file, refreshed before each batch.
    size: u64,
    /// UTC day of the last write (the file's mtime when opened).
    last_write: NaiveDate,
    /// Bytes from the start of the file already dropped from the page cache.
    uncached: u64,
    /// See [`KEEP_CACHED`].
    keep_cached: u64,
}

impl FileSink {
    /// Opens `path` for appending, creating it with mode 0640. The directory must exist.
    pub fn open(path: &Path, rotation: Rotation) -> Result<FileSink, SinkError> {
        let file = open_append(path)?;
        drop_torn_tail(&file, path)?;
        let meta = file
            .metadata()
            .map_err(|e| file_error("inspect", path, e))?;
        let last_write = meta
            .modified()
            .map(|t| DateTime::<Utc>::from(t).date_naive())
            .unwrap_or_else(|_| Utc::now().date_naive());
        sync_dir(path)?;
        Ok(FileSink {
            path: path.to_path_buf(),
            file,
            rotation,
            size: meta.len(),
            last_write,
            uncached: 0,
            keep_cached: KEEP_CACHED,
        })
    }

    /// Appends the batch now; see [`FileSink::write_batch_at`].
    pub fn write_batch(&mut self, deltas: &[Delta]) -> Result<(), SinkError> {
        self.write_batch_at(deltas, Utc::now())
    }

    /// Rotates first if due at `now`, then appends every delta as a line and fsyncs. On a failed
    /// write the file is cut back to where the batch began, so a retry leaves no partial line.
    /// If another process moved or deleted the file, a new one is started rather than writing
    /// to a file nobody can find.
    pub fn write_batch_at(
        &mut self,
        deltas: &[Delta],
        now: DateTime<Utc>,
    ) -> Result<(), SinkError> {
        if deltas.is_empty() {
            return Ok(());
        }
        self.follow_path()?;
        if self.rotation_due(now) {
            self.rotate(now)?;
        }
        let written = write_lines(&mut self.file, deltas).and_then(|n| {
            self.file.sync_data()?;
            Ok(n)
        });
        match written {
            Ok(n) => {
                self.size += n;
                self.drop_cached_prefix();
            }
            Err(e) => {
                // Best effort: if cutting back fails too, the error below still reports the write.
                let _ = self.file.set_len(self.size);
                return Err(file_error("write", &self.path, e));
            }
        }
        self.last_write = now.date_naive();
        Ok(())
    }

    /// Reopens `PATH` if it no longer names the file we hold, and refreshes the size.
    fn follow_path(&mut self) -> Result<(), SinkError> {
        let held = self
            .file
            .metadata()
            .map_err(|e| file_error("inspect", &self.path, e))?;
        let same = match fs::metadata(&self.path) {
            Ok(m) => m.dev() == held.dev() && m.ino() == held.ino(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => false,
            Err(e) => return Err(file_error("inspect", &self.path, e)),
        };
        if same {
            self.size = held.len();
            self.uncached = self.uncached.min(self.size);
            return Ok(());
        }
        tracing::warn!(path = %self.path.display(), "NDJSON file was moved or deleted by another process; starting a new one");
        self.file = open_append(&self.path)?;
        sync_dir(&self.path)?;
        self.size = self
            .file
            .metadata()
            .map_err(|e| file_error("inspect", &self.path, e))?
            .len();
        self.uncached = 0;
        Ok(())
    }

    /// Drops the fsynced pages before the last `keep_cached` bytes from the page cache (a hint:
    /// nothing is lost if the kernel ignores it).
    fn drop_cached_prefix(&mut self) {
        // Whole pages only, so each call starts where the last one ended.
        let upto = self.size.saturating_sub(self.keep_cached) / PAGE * PAGE;
        if upto > self.uncached {
            drop_from_cache(&self.file, self.uncached, upto - self.uncached);
            self.uncached = upto;
        }
    }

    fn rotation_due(&self, now: DateTime<Utc>) -> bool {
        if self.size == 0 {
            return false;
        }
        let too_big = self.rotation.max_bytes.is_some_and(|max| self.size >= max);
        let new_day = self.rotation.daily && self.last_write < now.date_naive();
        too_big || new_day
    }

    /// Renames the file to `PATH.<timestamp>` (plus `.1`, `.2`… if taken) and starts a new one.
    fn rotate(&mut self, now: DateTime<Utc>) -> Result<(), SinkError> {
        let target = rotated_name(&self.path, now);
        fs::rename(&self.path, &target).map_err(|e| file_error("rotate", &self.path, e))?;
        self.file = open_append(&self.path)?;
        sync_dir(&self.path)?;
        self.size = 0;
        self.uncached = 0;
        tracing::info!(path = %self.path.display(), rotated_to = %target.display(), "rotated NDJSON file");
        Ok(())
    }
}

/// Writes one line per delta through a 1 MiB buffer, flushed; returns the bytes written.
fn write_lines(file: &mut File, deltas: &[Delta]) -> io::Result<u64> {
    let mut out = io::BufWriter::with_capacity(1 << 20, file);
    let (mut line, mut bytes) = (String::new(), 0);
    for delta in deltas {
        line.clear();
        delta.push_line(&mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
        bytes += line.len() as u64;
    }
    out.flush()?;
    Ok(bytes)
}

/// A process killed mid-write can leave a last line without its newline. That batch was never
/// acknowledged (its cursor did not move, so it is delivered again), so the torn line is cut off
/// rather than glued to the next record.
fn drop_torn_tail(file: &File, path: &Path) -> Result<(), SinkError> {
    use std::io::{Read, Seek, SeekFrom};
    let len = file
        .metadata()
        .map_err(|e| file_error("inspect", path, e))?
        .len();
    let mut reader = File::open(path).map_err(|e| file_error("read", path, e))?;
    let mut keep = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while keep > 0 {
        let start = keep.saturating_sub(chunk.len() as u64);
        let n = (keep - start) as usize;
        reader
            .seek(SeekFrom::Start(start))
            .map_err(|e| file_error("read", path, e))?;
        reader
            .read_exact(&mut chunk[..n])
            .map_err(|e| file_error("read", path, e))?;
        match chunk[..n].iter().rposition(|b| *b == b'\n') {
            Some(i) => {
                keep = start + i as u64 + 1;
                break;
            }
            None => keep = start,
        }
    }
    if keep < len {
        tracing::warn!(path = %path.display(), bytes = len - keep, "cutting off a torn last line left by an interrupted write; it is delivered again");
        file.set_len(keep)
            .map_err(|e| file_error("truncate", path, e))?;
        file.sync_data().map_err(|e| file_error("fsync", path, e))?;
    }
    Ok(())
}

fn open_append(path: &Path) -> Result<File, SinkError> {
    OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
        .map_err(|e| file_error("open", path, e))
}

/// The first free name among `PATH.<YYYYMMDDTHHMMSSZ>`, `PATH.<…>.1`, `PATH.<…>.2`, …
fn rotated_name(path: &Path, now: DateTime<Utc>) -> PathBuf {
    let mut base = OsString::from(path.as_os_str());
    base.push(format!(".{}", now.format("%Y%m%dT%H%M%SZ")));
    let mut candidate = PathBuf::from(&base);
    let mut n = 0u32;
    while fs::symlink_metadata(&candidate).is_ok() {
        n += 1;
        let mut name = base.clone();
        name.push(format!(".{n}"));
        candidate = PathBuf::from(name);
    }
    candidate
}

/// Makes the file's directory entry durable (after creating or renaming it).
fn sync_dir(path: &Path) -> Result<(), SinkError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| file_error("sync the directory of", path, e))
}

fn file_error(action: &'static str, path: &Path, cause: io::Error) -> SinkError {
    SinkError::File {
        action,
        path: path.to_path_buf(),
        cause,
    }
}

/// The step in which the cached prefix is dropped: a multiple of every page size Linux uses (4,
/// 16 or 64 KiB), so each drop starts on a page boundary where the last one ended.
const PAGE: u64 = 64 << 10;

/// Asks the kernel to drop `len` bytes of `file` from `offset` from the page cache.
#[cfg(target_os = "linux")]
fn drop_from_cache(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd as _;
    let (Ok(offset), Ok(len)) = (i64::try_from(offset), i64::try_from(len)) else {
        return;
    };
    // SAFETY: posix_fadvise only reads its integer arguments; the descriptor is open.
    unsafe {
        libc::posix_fadvise(file.as_raw_fd(), offset, len, libc::POSIX_FADV_DONTNEED);
    }
}

#[cfg(not(target_os = "linux"))]
fn drop_from_cache(_: &File, _: u64, _: u64) {}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::value::RawValue;
    use std::collections::HashMap;
    use std::os::unix::fs::PermissionsExt;

    fn delta(id: &str) -> Delta {
        let data = RawValue::from_string(format!(r#"{{"uuid":"{id}","padding":"0123456789"}}"#));
        Delta::new("system_log", id, "2024-01-01T00:00:00.000Z", data.unwrap())
    }

    fn batch(prefix: &str, n: usize) -> Vec<Delta> {
        (0..n).map(|i| delta(&format!("{prefix}-{i}"))).collect()
    }

    fn at(day: u32, hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 3, day, hour, 0, 0).unwrap()
    }

    /// Every file starting with the sink's name, with the ids of its lines in order.
    fn files_and_ids(dir: &Path) -> HashMap<String, Vec<String>> {
        let mut out = HashMap::new();
        for entry in fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let text = fs::read_to_string(entry.path()).unwrap();
            let ids = text
                .lines()
                .map(|l| {
                    let v: serde_json::Value = serde_json::from_str(l).unwrap();
                    v["id"].as_str().unwrap().to_owned()
                })
                .collect();
            out.insert(entry.file_name().into_string().unwrap(), ids);
        }
        out
    }

    #[cfg(target_os = "linux")]
    fn on_tmpfs(dir: &Path) -> bool {
        use std::os::unix::ffi::OsStrExt as _;
        let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: statfs reads a NUL-terminated path and fills the zeroed struct it is given.
        unsafe {
            let mut fs: libc::statfs = std::mem::zeroed();
            libc::statfs(c.as_ptr(), &mut fs) == 0 && fs.f_type == libc::TMPFS_MAGIC
        }
    }

    #[cfg(target_os = "linux")]
    fn page_size() -> usize {
        // SAFETY: sysconf only reads its argument.
        usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap()
    }

    /// For each page of the file at `path`, whether it is in the page cache.
    #[cfg(target_os = "linux")]
    fn cached_pages(path: &Path) -> Vec<bool> {
        use std::os::fd::AsRawFd as _;
        let file = File::open(path).unwrap();
        let len = file.metadata().unwrap().len() as usize;
        let page = page_size();
        let mut resident = vec![0u8; len.div_ceil(page)];
        // SAFETY: a read-only shared mapping of `len` bytes of an open file, never touched, and
        // unmapped before returning; mincore writes one byte per page into `resident`.
        unsafe {
            let map = libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                0,
            );
            assert_ne!(map, libc::MAP_FAILED);
            assert_eq!(libc::mincore(map, len, resident.as_mut_ptr()), 0);
            libc::munmap(map, len);
        }
        resident.iter().map(|r| r & 1 == 1).collect()
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn only_the_last_bytes_of_the_file_stay_in_the_page_cache_and_every_line_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        if on_tmpfs(dir.path()) {
            // tmpfs pages are the file itself: the kernel cannot drop them.
            eprintln!("SKIPPED: {} is on tmpfs", dir.path().display());
            return;
        }
        let path = dir.path().join("events.ndjson");
        let rotation = Rotation {
            max_bytes: None,
            daily: false,
        };
        let mut sink = FileSink::open(&path, rotation).unwrap();
        sink.keep_cached = 64 << 10;
        for b in 0..40 {
            sink.write_batch_at(&batch(&format!("b{b}"), 100), at(1, 12))
                .unwrap();
        }
        let pages = cached_pages(&path);
        // 64 KiB kept, and up to 64 KiB more as the prefix is dropped in 64 KiB steps.
        let kept = (64 << 10) / page_size();
        assert!(pages.len() > 4 * kept, "{} pages: write more", pages.len());
        let dropped = &pages[..pages.len() - 2 * kept];
        assert_eq!(
            dropped.iter().filter(|c| **c).count(),
            0,
            "pages before the last 128 KiB are out of the cache"
        );
        let tail = &pages[pages.len() - kept..];
        assert!(tail.iter().all(|c| *c), "the last 64 KiB stay cached");
        let ids = &files_and_ids(dir.path())["events.ndjson"];
        assert_eq!(ids.len(), 4000);
        assert_eq!(ids[0], "b0-0");
        assert_eq!(ids[3999], "b39-99");
    }

    #[test]
    fn rotation_by_size_keeps_every_line_exactly_once_and_never_splits_a_batch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        let rotation = Rotation {
            max_bytes: Some(300),
            daily: false,
        };
        let mut sink = FileSink::open(&path, rotation).unwrap();
        for b in 0..10 {
            sink.write_batch_at(&batch(&format!("b{b}"), 3), at(1, 12))
                .unwrap();
        }
        let files = files_and_ids(dir.path());
        assert!(files.len() > 3, "expected several rotated files: {files:?}");
        assert!(files.contains_key("events.ndjson.20240301T120000Z.1"));
        let mut all: Vec<String> = files.values().flatten().cloned().collect();
        all.sort();
        let mut expected: Vec<String> = (0..10)
            .flat_map(|b| (0..3).map(move |i| format!("b{b}-{i}")))
            .collect();
        expected.sort();
        assert_eq!(all, expected);
        for ids in files.values() {
            assert_eq!(ids.len() % 3, 0, "a batch was split: {ids:?}");
            for chunk in ids.chunks(3) {
                let prefix = chunk[0].split('-').next().unwrap();
                assert!(chunk.iter().all(|id| id.starts_with(&format!("{prefix}-"))));
            }
        }
    }

    #[test]
    fn a_write_on_a_later_utc_day_rotates_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        let rotation = Rotation {
            max_bytes: None,
            daily: true,
        };
        let mut sink = FileSink::open(&path, rotation).unwrap();
        sink.write_batch_at(&batch("mon", 2), at(4, 23)).unwrap();
        sink.write_batch_at(&batch("mon-late", 1), at(4, 23))
            .unwrap();
        sink.write_batch_at(&batch("tue", 2), at(5, 1)).unwrap();
        let files = files_and_ids(dir.path());
        assert_eq!(files.len(), 2, "{files:?}");
        assert_eq!(
            files["events.ndjson.20240305T010000Z"],
            ["mon-0", "mon-1", "mon-late-0"]
        );
        assert_eq!(files["events.ndjson"], ["tue-0", "tue-1"]);
    }

    #[test]
    fn a_file_moved_away_by_another_process_is_replaced_not_written_blind() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        let mut sink = FileSink::open(&path, Rotation::default()).unwrap();
        sink.write_batch(&batch("before", 1)).unwrap();
        fs::rename(&path, dir.path().join("moved.ndjson")).unwrap();
        sink.write_batch(&batch("after", 1)).unwrap();
        let files = files_and_ids(dir.path());
        assert_eq!(files["moved.ndjson"], ["before-0"]);
        assert_eq!(files["events.ndjson"], ["after-0"]);
    }

    #[test]
    fn a_new_file_is_created_with_mode_0640_less_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let probe = dir.path().join("probe");
        OpenOptions::new()
            .create_new(true)
            .write(true)
            .mode(0o777)
            .open(&probe)
            .unwrap();
        let umask = !fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
        let path = dir.path().join("events.ndjson");
        FileSink::open(&path, Rotation::default()).unwrap();
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640 & !umask);
    }

    #[test]
    fn reopening_appends_to_what_is_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.ndjson");
        FileSink::open(&path, Rotation::default())
            .unwrap()
            .write_batch(&batch("first", 2))
            .unwrap();
        FileSink::open(&path, Rotation::default())
            .unwrap()
            .write_batch(&batch("second", 1))
            .unwrap();
        let files = files_and_ids(dir.path());
        assert_eq!(files["events.ndjson"], ["first-0", "first-1", "second-0"]);
    }

    #[test]
    fn a_missing_directory_is_an_error_naming_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no-such-dir").join("events.ndjson");
        let err = FileSink::open(&path, Rotation::default()).unwrap_err();
        assert!(
            err.to_string().contains(&path.display().to_string()),
            "{err}"
        );
    }

    #[test]
    fn a_torn_last_line_from_a_killed_writer_is_cut_off_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.ndjson");
        fs::write(&path, "{\"a\":1}\n{\"b\":2}\n{\"torn\":").unwrap();
        let sink = FileSink::open(&path, Rotation::default()).unwrap();
        drop(sink);
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
        fs::write(&path, "no newline at all").unwrap();
        FileSink::open(&path, Rotation::default()).unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "");
    }
}
