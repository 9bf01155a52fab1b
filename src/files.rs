//! Files: writes that never leave a half-written file behind, and the XDG
//! folders and scratch folders the app and the tests use.
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A failed write; the I/O error is its `source`, so a chain (`{:#}`)
/// reads "cannot write <path>: <reason>".
#[derive(Debug, thiserror::Error)]
#[error("cannot write {path}")]
pub struct WriteError {
    pub path: PathBuf,
    #[source]
    pub reason: std::io::Error,
}

/// Recordings and analyses of faces are clinical data: what Glimpse writes
/// is readable by its owner alone (so never wider than the source it came
/// from), and the folders it creates are the owner's alone.
pub const PRIVATE_FILE_MODE: u32 = 0o600;
pub const PRIVATE_DIR_MODE: u32 = 0o700;

/// `create_dir_all` with the folders it creates private (existing ones are
/// left as they are: they are the user's).
pub fn create_private_dir_all(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new().recursive(true).mode(PRIVATE_DIR_MODE).create(dir)
}

/// Narrows `path` to the owner (for files a library such as OpenCV creates).
pub fn make_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(PRIVATE_FILE_MODE))
}

/// A new file, private from its first byte; fails if it exists.
pub fn create_private_new(path: &Path) -> std::io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create_new(true).mode(PRIVATE_FILE_MODE).open(path)
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, then renames it
/// over `path`: readers see the old file or the new one, never a torn one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let wrap = |reason| WriteError { path: path.to_path_buf(), reason };
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir_all(parent).map_err(wrap)?;
    }
    let tmp = temp_path_for(path);
    let result = (|| {
        let _ = fs::remove_file(&tmp);
        let mut file = create_private_new(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(wrap)
}

/// Runs `write` against a temporary path beside `path`, then renames it into
/// place; for writers (such as libtorch's) that insist on opening a path.
pub fn write_atomic_with<E>(path: &Path, write: impl FnOnce(&Path) -> Result<(), E>) -> Result<(), AtomicWithError<E>> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        create_private_dir_all(parent)
            .map_err(|reason| AtomicWithError::Io(WriteError { path: path.to_path_buf(), reason }))?;
    }
    let tmp = temp_path_for(path);
    if let Err(err) = write(&tmp) {
        let _ = fs::remove_file(&tmp);
        return Err(AtomicWithError::Writer(err));
    }
    make_private(&tmp).and_then(|()| fs::rename(&tmp, path)).map_err(|reason| {
        let _ = fs::remove_file(&tmp);
        AtomicWithError::Io(WriteError { path: path.to_path_buf(), reason })
    })
}

#[derive(Debug, thiserror::Error)]
pub enum AtomicWithError<E> {
    #[error(transparent)]
    Io(WriteError),
    #[error(transparent)]
    Writer(E),
}

/// Removes what an earlier, killed write of `path` left: temporaries of
/// the same name whose process is gone (ours are never touched). Best
/// effort: a leftover that cannot be removed only costs disk space.
fn remove_stale_temporaries(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else { return };
    let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.filter_map(Result::ok) {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(&prefix) else { continue };
        let Some((pid, tail)) = rest.split_once('.') else { continue };
        let Ok(pid) = pid.parse::<u32>() else { continue };
        let alive = pid == std::process::id() || Path::new(&format!("/proc/{pid}")).exists();
        if !alive && tail.starts_with("tmp.") {
            let _ = fs::remove_file(entry.path());
        }
    }
}

fn temp_path_for(path: &Path) -> PathBuf {
    remove_stale_temporaries(path);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Keep the real extension last: some writers pick the format from it.
    let tmp_name = format!(".{name}.{}.tmp.{}", std::process::id(), extension_of(path));
    path.with_file_name(tmp_name)
}

fn extension_of(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "part".into())
}

/// An XDG base folder: `$<var>` when it is an absolute path (the spec says
/// to ignore a relative one), else `$HOME/<fallback>`.
pub fn xdg_dir(var: &str, fallback: &str) -> Option<PathBuf> {
    std::env::var_os(var)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(fallback)))
}

/// A fresh, empty folder for one test: `glimpse-<tag>-<pid>` under the
/// system's temporary folder.
#[cfg(test)]
pub(crate) fn scratch_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("glimpse-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    #[allow(clippy::expect_used)]
    fs::create_dir_all(&dir).expect("create a scratch folder");
    dir
}

/// Temporary files `write_atomic*` left in `dir` (there should be none).
#[cfg(test)]
pub(crate) fn temporary_files_in(dir: &Path) -> Vec<PathBuf> {
    fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().contains(".tmp")))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_killed_writers_temporary_is_removed_by_the_next_write() {
        let dir = scratch_dir("stale-temporaries");
        let target = dir.join("a.annotated.mp4");
        // pid 4194305 is above Linux's pid_max: that process cannot exist.
        let stale = dir.join(".a.annotated.mp4.4194305.tmp.mp4");
        let ours = dir.join(format!(".a.annotated.mp4.{}.tmp.mp4", std::process::id()));
        let other_file = dir.join(".b.annotated.mp4.4194305.tmp.mp4");
        for file in [&stale, &ours, &other_file] {
            fs::write(file, b"half a video").expect("write");
        }
        write_atomic(&target, b"video").expect("write");
        assert!(!stale.exists(), "the dead writer's temporary stays");
        assert!(other_file.exists(), "another file's temporary was removed");
        assert_eq!(fs::read(&target).expect("read"), b"video");
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn what_glimpse_writes_is_private_to_its_owner() {
        use std::os::unix::fs::PermissionsExt;
        let dir = scratch_dir("private-modes");
        let mode = |p: &Path| fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        write_atomic(&dir.join("new/folder/a.csv"), b"x").expect("write");
        assert_eq!(mode(&dir.join("new/folder/a.csv")), 0o600);
        assert_eq!(mode(&dir.join("new")), 0o700);
        assert_eq!(mode(&dir.join("new/folder")), 0o700);
        write_atomic_with(&dir.join("b.mp4"), |tmp: &Path| fs::write(tmp, b"made by a library")).expect("write");
        assert_eq!(mode(&dir.join("b.mp4")), 0o600);
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn replaces_the_file_and_leaves_no_temporary() {
        let dir = std::env::temp_dir().join(format!("glimpse-io-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let target = dir.join("nested/report.json");
        write_atomic(&target, b"first").expect("first write");
        write_atomic(&target, b"second").expect("second write");
        assert_eq!(fs::read(&target).expect("read back"), b"second");
        let leftovers = temporary_files_in(&dir.join("nested"));
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_failed_write_names_the_path_and_the_reason_once() {
        let dir = scratch_dir("io-chain");
        let blocker = dir.join("a-file");
        fs::write(&blocker, b"not a folder").expect("write");
        let target = blocker.join("report.json");
        let err = write_atomic(&target, b"x").expect_err("a file stands where the folder should be");
        assert_eq!(err.to_string(), format!("cannot write {}", target.display()));
        let chain = format!("{:#}", anyhow::Error::new(err));
        let reason = chain.strip_prefix(&format!("cannot write {}: ", target.display())).unwrap_or_default();
        assert!(!reason.is_empty() && !reason.contains("cannot write"), "{chain}");
        fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_failed_write_keeps_the_earlier_file() {
        let dir = std::env::temp_dir().join(format!("glimpse-io-fail-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let target = dir.join("weights.safetensors");
        write_atomic(&target, b"good").expect("write");
        let result: Result<(), AtomicWithError<String>> =
            write_atomic_with(&target, |_| Err("writer failed".to_string()));
        assert!(result.is_err());
        assert_eq!(fs::read(&target).expect("read back"), b"good");
        fs::remove_dir_all(&dir).expect("cleanup");
    }
}
