//! Autosave of a recorded video's review edits: a crash, a killed window or
//! a power cut between Confirm and Save loses nothing. The reviewed events
//! (with their verdicts, classes and notes) go to a small private file in
//! the data folder, named after the source; opening that source again
//! brings the edits back onto its session. An explicit Save, or Discard in
//! the unsaved-work prompt, removes the file.
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;
use serde::{Deserialize, Serialize};

use crate::session::Event;

/// Edits wait this long for more before they are written (a burst of
/// Confirm clicks is one write).
const SETTLE: Duration = Duration::from_secs(2);

/// The file: which source the verdicts belong to, when they were written,
/// and the reviewed events themselves.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AutosavedReviews {
    pub source_path: String,
    pub written_unix_s: u64,
    pub events: Vec<Event>,
}

/// The autosave folder in the XDG data folder.
pub fn default_autosave_dir() -> Option<PathBuf> {
    crate::files::xdg_dir("XDG_DATA_HOME", ".local/share").map(|d| d.join("glimpse").join("review-autosave"))
}

/// `<stem>-<16 hex digits of FNV-1a of the path>.reviews.ron`: one file a
/// source, findable from the path alone, readable by a person.
pub fn autosave_path(dir: &Path, source_path: &str) -> PathBuf {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in source_path.as_bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    let stem = Path::new(source_path).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let stem: String = stem.chars().filter(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')).take(40).collect();
    dir.join(format!("{stem}-{hash:016x}.reviews.ron"))
}

pub struct ReviewAutosave {
    dir: Option<PathBuf>,
    /// The document revision last written (or being written).
    written_revision: Option<u64>,
    /// When the edits not yet written were first seen.
    changed_since: Option<Instant>,
    writing: Option<Receiver<Result<PathBuf, String>>>,
}

impl ReviewAutosave {
    pub fn new(dir: Option<PathBuf>) -> Self {
        Self { dir, written_revision: None, changed_since: None, writing: None }
    }

    /// Writes `reviewed` for `source_path` once the edits have settled;
    /// call every frame while there is unsaved review work. `Err` once per
    /// failed write.
    pub fn tick(&mut self, source_path: &str, revision: u64, reviewed: impl FnOnce() -> Vec<Event>) -> Result<(), String> {
        let finished = self.writing.as_ref().and_then(|w| w.try_recv().ok());
        if finished.is_some() {
            self.writing = None;
        }
        let failed = match finished {
            Some(Err(e)) => {
                // Try again after the next edit, not every frame.
                Err(format!("review autosave failed: {e}"))
            }
            _ => Ok(()),
        };
        let Some(dir) = &self.dir else { return failed };
        if self.written_revision == Some(revision) || self.writing.is_some() || source_path.is_empty() {
            return failed;
        }
        let since = *self.changed_since.get_or_insert_with(Instant::now);
        if since.elapsed() < SETTLE {
            return failed;
        }
        let file = AutosavedReviews {
            source_path: source_path.to_string(),
            written_unix_s: crate::utc::unix_now_s(),
            events: reviewed(),
        };
        let path = autosave_path(dir, source_path);
        let (sender, receiver) = crossbeam_channel::bounded(1);
        // The UI never waits on the disk.
        let spawned = std::thread::Builder::new().name("glimpse-review-autosave".into()).spawn(move || {
            let written = ron::ser::to_string_pretty(&file, ron::ser::PrettyConfig::default())
                .map_err(|e| e.to_string())
                .and_then(|text| crate::files::write_atomic(&path, text.as_bytes()).map_err(|e| format!("{e:#}")))
                .map(|()| path);
            let _ = sender.send(written);
        });
        match spawned {
            Ok(_) => {
                self.writing = Some(receiver);
                self.written_revision = Some(revision);
                self.changed_since = None;
                failed
            }
            Err(e) => Err(format!("review autosave: cannot start its thread: {e}")),
        }
    }

    /// Waits for a write in flight (tests, and before removing the file).
    pub fn wait(&mut self) -> Option<Result<PathBuf, String>> {
        self.writing.take()?.recv().ok()
    }

    /// The autosaved edits of `source_path`, if any; an unreadable file is
    /// an error naming it (and is left in place for the user).
    pub fn find(&self, source_path: &str) -> Option<Result<AutosavedReviews, String>> {
        let path = autosave_path(self.dir.as_ref()?, source_path);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
            Err(e) => return Some(Err(format!("cannot read the review autosave {}: {e}", path.display()))),
        };
        Some(
            ron::from_str::<AutosavedReviews>(&text)
                .map_err(|e| format!("the review autosave {} is damaged ({e}); it is left as it is", path.display()))
                .and_then(|saved| {
                    if saved.source_path == source_path {
                        Ok(saved)
                    } else {
                        Err(format!("the review autosave {} belongs to {}", path.display(), saved.source_path))
                    }
                }),
        )
    }

    /// The edits were saved to the session file, or the user discarded
    /// them: the autosave goes.
    pub fn remove(&mut self, source_path: &str) {
        let _ = self.wait();
        self.written_revision = None;
        self.changed_since = None;
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_file(autosave_path(dir, source_path));
        }
    }

    /// Nothing is unsaved any more (a new document): the next edit starts
    /// a new count.
    pub fn reset(&mut self) {
        self.written_revision = None;
        self.changed_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{Review, ReviewStatus};

    fn confirmed(note: &str) -> Event {
        Event {
            id: 3,
            face_id: 1,
            onset_frame: 40,
            apex_frame: 44,
            offset_frame: 50,
            review: Review { status: ReviewStatus::Confirmed, relabelled_class: Some(2), note: note.into() },
            ..Event::default()
        }
    }

    #[test]
    fn settled_edits_are_written_privately_found_again_and_removed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = crate::files::scratch_dir("review-autosave");
        let source = "/clinic/interview ü 1.mp4";
        let mut autosave = ReviewAutosave::new(Some(dir.clone()));
        assert!(autosave.find(source).is_none());
        // Not before the edits settle.
        autosave.tick(source, 5, || vec![confirmed("first")]).expect("tick");
        assert!(autosave.wait().is_none(), "written before the edits settled");
        autosave.changed_since = Some(Instant::now() - SETTLE);
        autosave.tick(source, 5, || vec![confirmed("first")]).expect("tick");
        let path = autosave.wait().expect("a write").expect("written");
        assert_eq!(path, autosave_path(&dir, source));
        assert!(path.file_name().expect("a name").to_string_lossy().starts_with("interviewü1-"));
        assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        let found = autosave.find(source).expect("found").expect("readable");
        assert_eq!(found.events, vec![confirmed("first")]);
        assert!(found.written_unix_s > 1_700_000_000);
        // The same revision is not written twice.
        autosave.changed_since = Some(Instant::now() - SETTLE);
        autosave.tick(source, 5, || vec![confirmed("second")]).expect("tick");
        assert!(autosave.wait().is_none());
        // Another source's autosave is another file.
        assert!(autosave.find("/clinic/other.mp4").is_none());
        autosave.remove(source);
        assert!(!path.exists());
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn a_damaged_autosave_is_reported_and_left_in_place() {
        let dir = crate::files::scratch_dir("review-autosave-damaged");
        let source = "/videos/a.mp4";
        let path = autosave_path(&dir, source);
        std::fs::write(&path, "(source_path: \"/videos/a.mp4\", events: [(id: ").expect("write");
        let autosave = ReviewAutosave::new(Some(dir.clone()));
        let error = autosave.find(source).expect("found").expect_err("damaged");
        assert!(error.contains("damaged") && error.contains(&path.display().to_string()), "{error}");
        assert!(path.exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
