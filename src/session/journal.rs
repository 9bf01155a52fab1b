//! The live session's autosave: an append-only journal, one RON value per
//! line: the session as it started, then what changed (deltas and review
//! edits). Appending costs what changed, not the whole session, so it can
//! be synced to disk every couple of seconds for hours; after a crash the
//! session is rebuilt by replaying it, and a line torn by the crash is
//! left out.
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender};
use serde::{Deserialize, Serialize};

use super::delta::SessionDelta;
use super::model::{Review, Session};

/// Journal files end in this; a finished session's journal is removed.
pub const JOURNAL_EXTENSION: &str = "journal";

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum JournalEntry {
    /// The first line: the session as it started (no frames, no events).
    Start(Box<Session>),
    Delta(SessionDelta),
    Review {
        event_id: u32,
        review: Review,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("journal {path}: cannot serialise an entry")]
    Serialize {
        path: PathBuf,
        #[source]
        source: ron::Error,
    },
    #[error("journal {path}: line 1 is not the start of a session ({problem})")]
    NoStart { path: PathBuf, problem: String },
    #[error("journal {path}: line 1 is not the start of a session")]
    StartUnreadable {
        path: PathBuf,
        #[source]
        source: ron::error::SpannedError,
    },
}

impl JournalError {
    /// The message with its causes ("journal …: No space left on device"),
    /// for the autosave thread's answers, which travel as text.
    fn chain(self) -> String {
        format!("{:#}", anyhow::Error::new(self))
    }
}

/// Appends entries to a journal file.
pub struct JournalWriter {
    path: PathBuf,
    file: BufWriter<File>,
}

impl JournalWriter {
    /// Creates the journal (failing if one is already there) with the
    /// session's starting state as its first line.
    pub fn create(path: &Path, start: &Session) -> Result<Self, JournalError> {
        let io = |source| JournalError::Io { path: path.to_path_buf(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            crate::files::create_private_dir_all(parent).map_err(io)?;
        }
        let file = crate::files::create_private_new(path).map_err(io)?;
        let mut writer = Self { path: path.to_path_buf(), file: BufWriter::new(file) };
        let mut header = start.clone();
        header.frames.clear();
        header.events.clear();
        writer.append(&JournalEntry::Start(Box::new(header)))?;
        writer.sync()?;
        Ok(writer)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Buffers one entry; `sync` puts it on disk.
    pub fn append(&mut self, entry: &JournalEntry) -> Result<(), JournalError> {
        let line =
            ron::to_string(entry).map_err(|source| JournalError::Serialize { path: self.path.clone(), source })?;
        let io = |source| JournalError::Io { path: self.path.clone(), source };
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.write_all(b"\n").map_err(io)
    }

    /// Flushes and waits until the data is on disk.
    pub fn sync(&mut self) -> Result<(), JournalError> {
        let io = |source| JournalError::Io { path: self.path.clone(), source };
        self.file.flush().map_err(io)?;
        self.file.get_ref().sync_data().map_err(io)
    }
}

/// A session rebuilt from its journal.
#[derive(Debug)]
pub struct Recovered {
    pub session: Session,
    /// Entries replayed (the start line included).
    pub entries: usize,
    /// The last line, when it could not be read, and why: a crash mid-write
    /// tears it.
    pub stopped_at: Option<(usize, String)>,
    /// Lines before the last that could not be read (damage, not a crash),
    /// and why; replay goes on past them.
    pub skipped: Vec<(usize, String)>,
}

impl Recovered {
    /// Every line was read: nothing of the journal is left to recover.
    pub fn is_complete(&self) -> bool {
        self.stopped_at.is_none() && self.skipped.is_empty()
    }
}

/// Rebuilds the session a journal records from every line it can read: a
/// damaged line is left out (and said), the lines after it still count.
pub fn replay(path: &Path) -> Result<Recovered, JournalError> {
    let io = |source| JournalError::Io { path: path.to_path_buf(), source };
    let reader = BufReader::new(File::open(path).map_err(io)?);
    let mut lines = reader.lines();
    let first = match lines.next() {
        Some(line) => line.map_err(io)?,
        None => return Err(JournalError::NoStart { path: path.to_path_buf(), problem: "the file is empty".into() }),
    };
    let mut session = match ron::from_str::<JournalEntry>(&first) {
        Ok(JournalEntry::Start(session)) => *session,
        Ok(_) => {
            return Err(JournalError::NoStart { path: path.to_path_buf(), problem: "another entry comes first".into() })
        }
        Err(source) => return Err(JournalError::StartUnreadable { path: path.to_path_buf(), source }),
    };
    let mut entries = 1;
    let mut unreadable = Vec::new();
    for (i, line) in lines.enumerate() {
        let line_number = i + 2;
        let parsed =
            line.map_err(|e| e.to_string()).and_then(|l| ron::from_str::<JournalEntry>(&l).map_err(|e| e.to_string()));
        match parsed {
            Ok(JournalEntry::Delta(delta)) => session.apply_delta(delta),
            Ok(JournalEntry::Review { event_id, review }) => {
                session.apply_review(event_id, review);
            }
            Ok(JournalEntry::Start(_)) => {
                unreadable.push((line_number, "a second start line".to_string()));
                continue;
            }
            Err(problem) => {
                unreadable.push((line_number, problem));
                continue;
            }
        }
        entries += 1;
    }
    // Only the very last line can have been torn by a crash.
    let last_line = entries + unreadable.len();
    let stopped_at = match unreadable.last() {
        Some(&(line, _)) if line == last_line => unreadable.pop(),
        _ => None,
    };
    let skipped = unreadable;
    session.complete = false;
    session.events.sort_by(|a, b| a.onset_s.total_cmp(&b.onset_s).then(a.face_id.cmp(&b.face_id)));
    Ok(Recovered { session, entries, stopped_at, skipped })
}

/// Journals left in `dir`: sessions that did not close properly.
pub fn unfinished_journals(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == JOURNAL_EXTENSION))
        .collect();
    found.sort();
    found
}

/// What the autosave thread is told.
enum AutosaveMessage {
    Delta(SessionDelta),
    Review {
        event_id: u32,
        review: Review,
    },
    /// Sync now and answer (a clean stop).
    Flush(Sender<Result<(), String>>),
    /// Sync and end: review handles may still hold the channel open.
    Stop,
}

/// A thread that keeps a journal: deltas are merged in memory and written
/// with one sync every `period`, so the cost stays small however often
/// they arrive; review edits are written at once.
pub struct Autosave {
    messages: Sender<AutosaveMessage>,
    errors: Receiver<String>,
    path: PathBuf,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Autosave {
    pub fn start(path: &Path, start: &Session, period: Duration) -> Result<Self, JournalError> {
        let mut writer = JournalWriter::create(path, start)?;
        // Unbounded in effect: entries are small and the thread only
        // appends to a buffer; a slow disk delays the sync, not the sender.
        let (messages, inbox) = crossbeam_channel::unbounded::<AutosaveMessage>();
        let (error_tx, errors) = bounded::<String>(8);
        let thread = std::thread::Builder::new()
            .name("glimpse-autosave".into())
            .spawn(move || {
                let mut pending: Option<SessionDelta> = None;
                let mut last_sync = Instant::now();
                let mut failed = false;
                let report = |result: Result<(), JournalError>, failed: &mut bool| {
                    if let Err(e) = result {
                        // Said once: a full disk would otherwise repeat it
                        // every period.
                        if !*failed {
                            let _ = error_tx.try_send(e.chain());
                        }
                        *failed = true;
                    }
                };
                loop {
                    let wait = period.saturating_sub(last_sync.elapsed());
                    match inbox.recv_timeout(wait) {
                        Ok(AutosaveMessage::Delta(delta)) => match &mut pending {
                            Some(p) => p.merge(delta),
                            None => pending = Some(delta),
                        },
                        Ok(AutosaveMessage::Review { event_id, review }) => {
                            let result = write_pending(&mut writer, &mut pending)
                                .and_then(|()| writer.append(&JournalEntry::Review { event_id, review }))
                                .and_then(|()| writer.sync());
                            report(result, &mut failed);
                        }
                        Ok(AutosaveMessage::Flush(answer)) => {
                            let result = write_pending(&mut writer, &mut pending).and_then(|()| writer.sync());
                            let _ = answer.send(result.map_err(JournalError::chain));
                            last_sync = Instant::now();
                        }
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(AutosaveMessage::Stop) | Err(RecvTimeoutError::Disconnected) => {
                            let result = write_pending(&mut writer, &mut pending).and_then(|()| writer.sync());
                            report(result, &mut failed);
                            return;
                        }
                    }
                    if last_sync.elapsed() >= period {
                        let result = write_pending(&mut writer, &mut pending).and_then(|()| writer.sync());
                        report(result, &mut failed);
                        last_sync = Instant::now();
                    }
                }
            })
            .map_err(|source| JournalError::Io { path: path.to_path_buf(), source })?;
        Ok(Self { messages, errors, path: path.to_path_buf(), thread: Some(thread) })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn record_delta(&self, delta: SessionDelta) {
        let _ = self.messages.send(AutosaveMessage::Delta(delta));
    }

    pub fn record_review(&self, event_id: u32, review: Review) {
        let _ = self.messages.send(AutosaveMessage::Review { event_id, review });
    }

    /// A handle for the reviewer's thread, which is not the one feeding
    /// the deltas: it owns the verdicts.
    pub fn reviews(&self) -> JournalReviews {
        JournalReviews { messages: self.messages.clone() }
    }

    /// A write that failed since the last look (disk full, folder gone).
    pub fn take_error(&self) -> Option<String> {
        self.errors.try_recv().ok()
    }

    /// Writes everything received so far and syncs it, waiting for that.
    pub fn flush(&self) -> Result<(), String> {
        let (answer, result) = bounded(1);
        self.messages
            .send(AutosaveMessage::Flush(answer))
            .map_err(|_| "the autosave thread has stopped".to_string())?;
        result.recv().map_err(|_| "the autosave thread has stopped".to_string())?
    }

    /// Stops the thread and deletes the journal: the session it guarded
    /// has been saved for good.
    pub fn finish_and_remove(mut self) -> Result<(), JournalError> {
        self.stop();
        std::fs::remove_file(&self.path).map_err(|source| JournalError::Io { path: self.path.clone(), source })
    }

    fn stop(&mut self) {
        // The thread ends after a last sync.
        let _ = self.messages.send(AutosaveMessage::Stop);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Writes review edits into an autosave's journal; cloneable, and harmless
/// once the autosave has stopped (the edit then goes nowhere).
#[derive(Clone)]
pub struct JournalReviews {
    messages: Sender<AutosaveMessage>,
}

impl JournalReviews {
    pub fn record_review(&self, event_id: u32, review: Review) {
        let _ = self.messages.send(AutosaveMessage::Review { event_id, review });
    }
}

impl Drop for Autosave {
    fn drop(&mut self) {
        self.stop();
    }
}

fn write_pending(writer: &mut JournalWriter, pending: &mut Option<SessionDelta>) -> Result<(), JournalError> {
    match pending.take() {
        Some(delta) => writer.append(&JournalEntry::Delta(delta)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::{DeltaTracker, Event, FaceFrame, FrameRecord, ReviewStatus};

    fn scratch(name: &str) -> PathBuf {
        crate::files::scratch_dir(&format!("journal-{name}"))
    }

    /// A session growing as the analyzer grows it: frames, motion filled in
    /// 18 frames late, an event every 40 frames.
    fn grow(session: &mut Session, tracker: &mut DeltaTracker, frames: std::ops::Range<u64>) -> SessionDelta {
        for index in frames {
            session.frames.push(FrameRecord {
                index,
                timestamp_s: index as f64 / 30.0,
                faces: vec![FaceFrame { face_id: 0, ..FaceFrame::default() }],
            });
            tracker.frame_changed(session.frames.len() - 1);
            if index >= 18 {
                let back = session.frames.len() - 19;
                session.frames[back].faces[0].motion = Some(index as f32);
                tracker.frame_changed(back);
            }
            if index % 40 == 39 {
                let id = session.events.len() as u32;
                session.events.push(Event {
                    id,
                    onset_frame: index - 10,
                    onset_s: (index - 10) as f64 / 30.0,
                    ..Event::default()
                });
            }
        }
        tracker.take(session)
    }

    #[test]
    fn replaying_a_journal_gives_back_the_session_with_its_reviews() {
        let dir = scratch("replay");
        let path = dir.join("live.journal");
        let start = Session { class_names: vec!["negative".into(), "positive".into()], ..Session::default() };
        let (mut session, mut tracker) = (start.clone(), DeltaTracker::default());
        let autosave = Autosave::start(&path, &start, Duration::from_millis(20)).expect("journal");
        for chunk in 0..10u64 {
            autosave.record_delta(grow(&mut session, &mut tracker, chunk * 30..(chunk + 1) * 30));
            if chunk == 5 {
                let review =
                    Review { status: ReviewStatus::Confirmed, relabelled_class: Some(1), note: "clear".into() };
                session.apply_review(1, review.clone());
                autosave.record_review(1, review);
            }
        }
        autosave.flush().expect("flushed");
        let recovered = replay(&path).expect("replays");
        assert_eq!(recovered.stopped_at, None);
        assert_eq!(recovered.session.frames, session.frames);
        assert_eq!(recovered.session.events, session.events);
        assert_eq!(recovered.session.class_names, start.class_names);
        assert!(!recovered.session.complete);
        assert_eq!(unfinished_journals(&dir), vec![path.clone()]);
        autosave.finish_and_remove().expect("removed");
        assert!(unfinished_journals(&dir).is_empty());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_line_torn_by_a_crash_is_left_out_and_said() {
        let dir = scratch("torn");
        let path = dir.join("live.journal");
        let start = Session::default();
        let (mut session, mut tracker) = (start.clone(), DeltaTracker::default());
        let mut writer = JournalWriter::create(&path, &start).expect("journal");
        writer.append(&JournalEntry::Delta(grow(&mut session, &mut tracker, 0..60))).expect("append");
        let kept = session.clone();
        writer.append(&JournalEntry::Delta(grow(&mut session, &mut tracker, 60..120))).expect("append");
        writer.sync().expect("sync");
        drop(writer);
        // The crash cut the last line in half.
        let bytes = std::fs::read(&path).expect("read");
        let last_line_start = bytes[..bytes.len() - 1].iter().rposition(|&b| b == b'\n').expect("two lines") + 1;
        std::fs::write(&path, &bytes[..last_line_start + (bytes.len() - last_line_start) / 2]).expect("truncate");
        let recovered = replay(&path).expect("replays");
        let (line, _) = recovered.stopped_at.expect("the torn line is reported");
        assert_eq!(line, 3);
        assert_eq!(recovered.session.frames, kept.frames);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_damaged_line_in_the_middle_is_left_out_and_the_rest_replayed() {
        let dir = scratch("damaged-middle");
        let path = dir.join("live.journal");
        let start = Session::default();
        let (mut session, mut tracker) = (start.clone(), DeltaTracker::default());
        let mut writer = JournalWriter::create(&path, &start).expect("journal");
        for chunk in 0..3u64 {
            writer
                .append(&JournalEntry::Delta(grow(&mut session, &mut tracker, chunk * 30..(chunk + 1) * 30)))
                .expect("append");
        }
        writer.sync().expect("sync");
        drop(writer);
        let text = std::fs::read_to_string(&path).expect("read");
        let mut lines: Vec<&str> = text.lines().collect();
        lines[2] = "(garbage";
        std::fs::write(&path, lines.join("\n") + "\n").expect("write");
        let recovered = replay(&path).expect("replays");
        assert_eq!(recovered.stopped_at, None, "a middle line is no crash's torn line");
        assert_eq!(recovered.skipped.len(), 1);
        assert_eq!(recovered.skipped[0].0, 3);
        // The line after the damage still counts: frames up to 89 are back;
        // those only the damaged line held (30-41: later deltas re-send a
        // frame only when it changes, up to 18 frames back) are missing.
        let indices: Vec<u64> = recovered.session.frames.iter().map(|f| f.index).collect();
        assert_eq!(indices.last(), Some(&89));
        assert!(indices.contains(&29) && !indices.contains(&35), "{indices:?}");
        assert!(!recovered.is_complete());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn a_file_that_is_not_a_journal_is_refused_with_its_name() {
        let dir = scratch("bad");
        let path = dir.join("notes.journal");
        std::fs::write(&path, "hello\n").expect("write");
        let err = replay(&path).expect_err("refused").to_string();
        assert!(err.contains("notes.journal") && err.contains("line 1"), "{err}");
        std::fs::write(&path, "").expect("write");
        assert!(replay(&path).expect_err("refused").to_string().contains("empty"));
        // An existing journal is never overwritten by a new session.
        assert!(JournalWriter::create(&path, &Session::default()).is_err());
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
