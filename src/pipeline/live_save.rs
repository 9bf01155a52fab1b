//! How a live session reaches the disk. The reviewer's verdicts belong to
//! whoever shows the session (the app): it writes each one into the
//! journal as it is made and, at the end, applies them all to the session
//! the run finished with, saves it, and only then removes the journal. A
//! journal left behind (crash, failed save) is replayed by `recover_session`.
use std::path::{Path, PathBuf};

use super::live_run::LivePaths;
use super::run::{fill_in_source, RunMessage};
use crate::session::journal::{Autosave, JournalError, JournalReviews, JOURNAL_EXTENSION};
use crate::session::{Review, Session, SessionError};

/// What a live run hands its consumer at the end.
pub struct LiveEnd {
    pub paths: LivePaths,
    /// Still open: removed only once the session is saved.
    pub autosave: Option<Autosave>,
    /// How the recording closed (frames written), when there was one.
    pub recording: Option<Result<u64, String>>,
}

/// The reviewer's verdicts during a run, kept by the reviewer's side: each
/// goes into the live session's journal at once (a crash keeps it), and
/// all are applied to the session the run ends with (the analysis never
/// sees them).
#[derive(Default)]
pub struct ReviewLog {
    journal: Option<JournalReviews>,
    made: Vec<(u32, Review)>,
}

impl ReviewLog {
    pub fn new(journal: Option<JournalReviews>) -> Self {
        Self { journal, made: Vec::new() }
    }

    pub fn record(&mut self, event_id: u32, review: Review) {
        if let Some(journal) = &self.journal {
            journal.record_review(event_id, review.clone());
        }
        self.made.push((event_id, review));
    }

    pub fn is_empty(&self) -> bool {
        self.made.is_empty()
    }

    /// The verdicts, in the order they were made, on `session`'s events.
    pub fn apply_to(&self, session: &mut Session) {
        for (event_id, review) in &self.made {
            session.apply_review(*event_id, review.clone());
        }
    }
}

/// A live session on disk.
#[derive(Debug)]
pub struct SavedLiveSession {
    pub path: PathBuf,
    /// Why the journal could not be removed; the session is saved all the same.
    pub journal_left: Option<String>,
}

/// Ends a live session: the reviewer's verdicts applied, the session saved
/// atomically, and then, only then, the journal removed. A failed save
/// keeps the journal, for `recover_session`.
pub fn save_live_session(
    session: &mut Session,
    paths: &LivePaths,
    autosave: Option<Autosave>,
    reviews: &ReviewLog,
) -> Result<SavedLiveSession, SessionError> {
    reviews.apply_to(session);
    session.save_ron(&paths.session)?;
    let journal_left =
        autosave.and_then(|autosave| autosave.finish_and_remove().err().map(|e| crate::error_text::error_chain(&e)));
    Ok(SavedLiveSession { path: paths.session.clone(), journal_left })
}

/// A run's last message that no one took (the consumer is gone): its
/// session is saved, and its journal kept, since only the journal has the
/// reviews the consumer made; the next start offers to recover it.
pub(super) fn save_unclaimed(message: RunMessage) {
    let (session, live) = match message {
        RunMessage::Finished(finished) => (Some(finished.session), finished.live),
        RunMessage::Failed { session, live, .. } => (session.map(|s| *s), live),
        _ => (None, None),
    };
    if let (Some(session), Some(live)) = (session, live) {
        let _ = session.save_ron(&live.paths.session);
    }
}

/// Count, duration and rate, from the frames the session holds.
pub fn fill_in_live_source(session: &mut Session) {
    let first = session.frames.first().map_or(0.0, |f| f.timestamp_s);
    let last = session.frames.last().map_or(0.0, |f| f.timestamp_s);
    fill_in_source(&mut session.source, first, last, session.frames.len() as u64);
}

/// A live session brought back from its journal after a crash.
#[derive(Debug)]
pub struct RecoveredSession {
    pub session: Session,
    /// Where the recovered session was saved.
    pub saved: PathBuf,
    /// Said to the user: how much came back and what was lost.
    pub summary: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error(transparent)]
    Journal(#[from] JournalError),
    #[error(transparent)]
    Save(#[from] SessionError),
}

/// Rebuilds the session a journal guarded, saves it beside the journal
/// (`<name>.session.ron`, or `<name>.recovered.session.ron` if that name is
/// taken) and then removes the journal.
pub fn recover_session(journal: &Path) -> Result<RecoveredSession, RecoverError> {
    let recovered = crate::session::journal::replay(journal)?;
    let complete = recovered.is_complete();
    let mut session = recovered.session;
    fill_in_live_source(&mut session);
    let mut summary = format!(
        "recovered {} frames ({:.1} s) and {} events from {}",
        session.frames.len(),
        session.source.duration_s,
        session.events.len(),
        journal.display()
    );
    for (line, problem) in &recovered.skipped {
        summary.push_str(&format!("; line {line} is damaged and was left out ({problem})"));
    }
    if let Some((line, problem)) = &recovered.stopped_at {
        summary.push_str(&format!("; line {line}, the last, was cut off by the crash and left out ({problem})"));
    }
    session.warnings.push(format!(
        "this live session was not closed properly and was recovered from its autosave; \
         it ends at {:.1} s, and up to the last few seconds before the crash may be missing",
        session.source.duration_s
    ));
    let stem = journal.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "live".into());
    let dir = journal.parent().map(Path::to_path_buf).unwrap_or_default();
    // Never over an earlier session or an earlier recovery.
    let saved = std::iter::once(format!("{stem}.session.ron"))
        .chain(std::iter::once(format!("{stem}.recovered.session.ron")))
        .chain((2..).map(|n| format!("{stem}.recovered-{n}.session.ron")))
        .map(|name| dir.join(name))
        .find(|path| !path.exists())
        .unwrap_or_else(|| dir.join(format!("{stem}.recovered-last.session.ron")));
    session.save_ron(&saved)?;
    if complete {
        let _ = std::fs::remove_file(journal);
    } else {
        // What could not be read stays on disk, but the journal is no
        // longer offered for recovery at every start.
        let kept = journal.with_extension(format!("{JOURNAL_EXTENSION}.partly-recovered"));
        if std::fs::rename(journal, &kept).is_ok() {
            summary.push_str(&format!("; the journal is kept as {}", kept.display()));
        }
    }
    Ok(RecoveredSession { session, saved, summary })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::pipeline::live_run::testing::{demo_clip, settings, start};
    use crate::pipeline::live_run::{open_paced_file, LiveSettings};
    use crate::pipeline::run::RunCommand;
    use crate::session::journal::replay;
    use crate::session::ReviewStatus;

    /// The reviewer confirms the first event while the session runs, as
    /// the app does: the verdict is in the journal at once and in the saved
    /// session, and the worker never had it.
    #[test]
    fn a_review_made_during_a_live_session_is_journalled_and_saved_without_the_worker() {
        let dir = crate::files::scratch_dir("live-review");
        let settings = LiveSettings { record: false, ..settings(&dir, "reviewed") };
        let journal = settings.paths().journal;
        let run = start(open_paced_file(demo_clip()), settings);
        let verdict = Review { status: ReviewStatus::Confirmed, relabelled_class: Some(2), note: "seen live".into() };
        let (mut shown, mut reviews, mut reviewed) = (Session::default(), ReviewLog::default(), None);
        let finished = loop {
            match run.messages.recv_timeout(Duration::from_secs(60)).expect("a message") {
                RunMessage::Started { session, live, .. } => {
                    shown = *session;
                    reviews = ReviewLog::new(live.expect("live").reviews);
                }
                RunMessage::Update { delta, .. } => {
                    shown.apply_delta(delta);
                    if let (None, Some(event)) = (reviewed, shown.events.first()) {
                        let id = event.id;
                        assert!(shown.apply_review(id, verdict.clone()));
                        reviews.record(id, verdict.clone());
                        reviewed = Some(id);
                        run.send(RunCommand::Stop);
                    }
                }
                RunMessage::Finished(finished) => break finished,
                RunMessage::Failed { error, .. } => panic!("failed: {error}"),
                _ => {}
            }
        };
        let id = reviewed.expect("an event was spotted and reviewed");
        let review_of = |session: &Session| session.events.iter().find(|e| e.id == id).map(|e| e.review.clone());
        let mut session = finished.session;
        assert_eq!(review_of(&session), Some(Review::default()), "the worker never sees the verdict");
        let replayed = replay(&journal).expect("the journal replays").session;
        assert_eq!(review_of(&replayed), Some(verdict.clone()), "the journal has the verdict");
        let end = finished.live.expect("a live end");
        let saved = save_live_session(&mut session, &end.paths, end.autosave, &reviews).expect("saved");
        let loaded = Session::load(&saved.path).expect("loads");
        assert_eq!(review_of(&loaded), Some(verdict), "the saved session has the verdict");
        assert!(saved.journal_left.is_none() && !journal.exists(), "the journal goes once the session is saved");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}

#[cfg(test)]
mod recovery_tests {
    use super::*;
    use crate::session::journal::{JournalEntry, JournalWriter};

    fn journal_with(dir: &Path, name: &str, extra_lines: &[&str]) -> PathBuf {
        let path = dir.join(format!("{name}.{JOURNAL_EXTENSION}"));
        let mut writer = JournalWriter::create(&path, &Session::default()).expect("journal");
        writer.append(&JournalEntry::Delta(Default::default())).expect("append");
        writer.sync().expect("sync");
        drop(writer);
        let mut text = std::fs::read_to_string(&path).expect("read");
        for line in extra_lines {
            text.push_str(line);
            text.push('\n');
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    /// Earlier files are never overwritten: the session, then an earlier
    /// recovery, each keep their bytes.
    #[test]
    fn a_recovery_never_overwrites_an_earlier_session_or_recovery() {
        let dir = crate::files::scratch_dir("recover-names");
        std::fs::write(dir.join("live.session.ron"), b"the interview").expect("write");
        std::fs::write(dir.join("live.recovered.session.ron"), b"an earlier recovery").expect("write");
        let journal = journal_with(&dir, "live", &[]);
        let recovered = recover_session(&journal).expect("recovers");
        assert_eq!(recovered.saved, dir.join("live.recovered-2.session.ron"));
        assert_eq!(std::fs::read(dir.join("live.session.ron")).expect("read"), b"the interview");
        assert_eq!(std::fs::read(dir.join("live.recovered.session.ron")).expect("read"), b"an earlier recovery");
        assert!(!journal.exists(), "a fully read journal goes");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// A journal with a damaged line is recovered as far as it reads and
    /// kept (set aside), never deleted.
    #[test]
    fn a_partly_read_journal_is_kept() {
        let dir = crate::files::scratch_dir("recover-partial");
        let journal = journal_with(&dir, "live", &["(damaged", "Delta(())"]);
        let recovered = recover_session(&journal).expect("recovers");
        assert!(recovered.summary.contains("line 3 is damaged"), "{}", recovered.summary);
        let kept = dir.join(format!("live.{JOURNAL_EXTENSION}.partly-recovered"));
        assert!(kept.is_file(), "{}", recovered.summary);
        assert!(recovered.summary.contains("kept as"), "{}", recovered.summary);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
