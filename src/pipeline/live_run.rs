//! A run over a live feed: a capture thread (camera or paced file) feeds
//! the run's worker, which owns the analyzer, records what it analyses,
//! keeps an autosave journal, and sends each frame's preview with what
//! changed in the session. Nothing here waits on the consumer: a busy UI
//! misses previews, never session changes. The reviewer's verdicts never
//! pass through here: the consumer journals them and saves the session
//! (`live_save`).
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Size};
use opencv::imgproc;

use super::live_save::LiveEnd;
use super::run::{Outbox, RunCommand, RunMessage};
use super::{AnalysisOptions, Analyzer, PipelineError};
use crate::capture::{CameraRequest, CameraSource, CaptureError, FeedEvent, FrameProducer, LiveFeed, Paced, Recorder};
use crate::session::journal::{Autosave, JournalReviews, JOURNAL_EXTENSION};

/// Opens the source; called again to reconnect after it failed.
pub type OpenFeed = Arc<dyn Fn() -> Result<Box<dyn FrameProducer>, CaptureError> + Send + Sync>;

/// A camera as a live source, opened with `request` (again on a retry).
pub fn open_camera(request: CameraRequest) -> OpenFeed {
    Arc::new(move || CameraSource::open(&request).map(|s| Box::new(s) as Box<dyn FrameProducer>))
}

/// A recorded video played at its own pace as a live source.
pub fn open_paced_file(path: PathBuf) -> OpenFeed {
    Arc::new(move || crate::capture::open(&path, None).map(|s| Box::new(Paced::new(s)) as Box<dyn FrameProducer>))
}

/// Frames waiting between capture and analysis: two, so the analysis
/// always works on the present and a backlog is dropped, oldest first.
const FEED_QUEUE: usize = 2;
/// Previews wider than this are scaled down for the screen.
const PREVIEW_MAX_WIDTH: i32 = 960;

/// Where a live session's files go.
#[derive(Clone, Debug)]
pub struct LiveSettings {
    /// Folder of the recording, the journal and the saved session.
    pub out_dir: PathBuf,
    /// File stem of all three, e.g. `live-20261123-162005`.
    pub name: String,
    pub record: bool,
    pub autosave_every: Duration,
}

impl LiveSettings {
    /// Files of this name that exist already in `out_dir` (the recording,
    /// the journal, the saved session, a recovery): a session never starts
    /// over an earlier interview.
    pub fn existing_files(&self) -> Vec<PathBuf> {
        let paths = self.paths();
        let recording = self.out_dir.join(format!("{}.avi", self.name));
        let recovered = self.out_dir.join(format!("{}.recovered.session.ron", self.name));
        [Some(recording), Some(paths.journal), Some(paths.session), Some(recovered)]
            .into_iter()
            .flatten()
            .filter(|p| p.exists())
            .collect()
    }

    /// A name picked by the program (`session_name_now`) made unique: two
    /// sessions started within one second get `-2`, `-3`… A name the user
    /// chose is not changed: `existing_files` refuses it instead.
    pub fn with_free_name(mut self) -> Self {
        let base = self.name.clone();
        let mut n = 1;
        while !self.existing_files().is_empty() {
            n += 1;
            self.name = format!("{base}-{n}");
        }
        self
    }

    pub fn paths(&self) -> LivePaths {
        LivePaths {
            recording: self.record.then(|| self.out_dir.join(format!("{}.avi", self.name))),
            journal: self.out_dir.join(format!("{}.{JOURNAL_EXTENSION}", self.name)),
            session: self.out_dir.join(format!("{}.session.ron", self.name)),
        }
    }
}

/// Where live sessions go unless told otherwise:
/// `$XDG_DATA_HOME/glimpse/live`, else `~/.local/share/glimpse/live`.
pub fn default_live_dir() -> Option<PathBuf> {
    Some(crate::files::xdg_dir("XDG_DATA_HOME", ".local/share")?.join("glimpse").join("live"))
}

/// A stem for a session started now: `live-YYYYMMDD-HHMMSS` (UTC).
pub fn session_name_now() -> String {
    let t = crate::utc::UtcTime::now();
    format!("live-{:04}{:02}{:02}-{:02}{:02}{:02}", t.year, t.month, t.day, t.hour, t.minute, t.second)
}

#[derive(Clone, Debug, PartialEq)]
pub struct LivePaths {
    pub recording: Option<PathBuf>,
    pub journal: PathBuf,
    pub session: PathBuf,
}

/// What a live run says when it starts, beside the session.
pub struct LiveStarted {
    pub paths: LivePaths,
    /// Writes the reviewer's verdicts into the journal (none when the
    /// session is not autosaved).
    pub reviews: Option<JournalReviews>,
}

/// A live run's news with each frame.
pub struct LiveFrame {
    pub preview: Option<PreviewImage>,
    pub stats: LiveStats,
}

/// A frame for the screen, RGBA.
pub struct PreviewImage {
    /// The session frame it shows; `None` while paused (not analysed).
    pub index: Option<u64>,
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
    pub captured_at: Instant,
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LiveStats {
    /// The rate frames arrive at, measured over the last second.
    pub capture_fps: f64,
    /// Frames the analysis could not keep up with, dropped oldest first.
    pub dropped: u64,
    pub analysed: u64,
    /// Analysis time per frame, smoothed.
    pub analysis_ms: f64,
    pub paused: bool,
}

struct Worker {
    open: OpenFeed,
    out: Outbox,
    analyzer: Analyzer,
    autosave: Option<Autosave>,
    recorder: Option<Recorder>,
    paths: LivePaths,
    feed: Option<LiveFeed>,
    origin: Instant,
    next_index: u64,
    paused: bool,
    arrivals: VecDeque<Instant>,
    dropped_before: u64,
    analysis_ms: f64,
}

pub(super) fn run(
    open: OpenFeed,
    settings: LiveSettings,
    options: AnalysisOptions,
    device: tch::Device,
    commands: &Receiver<RunCommand>,
    out: Outbox,
) {
    // Recordings of faces: the folder is the owner's alone. Glimpse's own
    // folder is narrowed even if an older version made it wider; a folder
    // the user named keeps the modes the user gave it.
    let _ = crate::files::create_private_dir_all(&settings.out_dir);
    if default_live_dir().as_deref() == Some(settings.out_dir.as_path()) {
        use std::os::unix::fs::PermissionsExt;
        let private = std::fs::Permissions::from_mode(crate::files::PRIVATE_DIR_MODE);
        let _ = std::fs::set_permissions(&settings.out_dir, private);
    }
    if let Some(existing) = settings.existing_files().into_iter().next() {
        return out.fail(PipelineError::Input {
            path: existing,
            problem: format!(
                "exists already: a live session named `{}` would overwrite it; choose another name",
                settings.name
            ),
        });
    }
    let feed = match start_feed(&open) {
        Ok(feed) => feed,
        Err(e) => return out.fail(e.into()),
    };
    let info = feed.info().clone();
    let paths = settings.paths();
    let mut warnings = Vec::new();
    let recorder = match &paths.recording {
        Some(path) => match Recorder::start(path, info.width, info.height, info.nominal_fps) {
            Ok(recorder) => Some(recorder),
            Err(e) => {
                warnings.push(format!("{e}; the session goes on without a recording"));
                None
            }
        },
        None => None,
    };
    // The session refers to the recording, so it can be reviewed later.
    let mut session_info = info.clone();
    if let Some(recorder) = &recorder {
        session_info.path = recorder.path().to_path_buf();
    }
    // Probabilities as each frame comes, not a batch later; events as they
    // happen, so the spotting baseline only looks back; one flow per event,
    // as each TV-L1 flow holds the analysis thread for about 0.1 s.
    let spotting = options.spotting.clone().trailing();
    let options = AnalysisOptions { track_batch: Some(1), spotting, classify_onset_jitter: 0, ..options };
    let analyzer = match Analyzer::new(options, &session_info, device) {
        Ok(analyzer) => analyzer,
        Err(e) => return out.fail(e),
    };
    let autosave = match Autosave::start(&paths.journal, analyzer.session(), settings.autosave_every) {
        Ok(autosave) => Some(autosave),
        Err(e) => {
            warnings.push(format!("{e}; this session is NOT autosaved"));
            None
        }
    };
    let session = Box::new(analyzer.session().clone());
    let started = LiveStarted { paths: paths.clone(), reviews: autosave.as_ref().map(Autosave::reviews) };
    let _ = out.send(RunMessage::Started { session, info, live: Some(started) });
    for warning in warnings {
        let _ = out.send(RunMessage::Warning(warning));
    }
    let mut worker = Worker {
        open,
        out,
        analyzer,
        autosave,
        recorder,
        paths,
        feed: Some(feed),
        origin: Instant::now(),
        next_index: 0,
        paused: false,
        arrivals: VecDeque::new(),
        dropped_before: 0,
        analysis_ms: 0.0,
    };
    let failure = worker.main_loop(commands);
    worker.finish(failure);
}

impl Worker {
    fn send(&self, message: RunMessage) {
        let _ = self.out.send(message);
    }

    fn main_loop(&mut self, commands: &Receiver<RunCommand>) -> Option<PipelineError> {
        loop {
            while let Ok(command) = commands.try_recv() {
                if !self.obey(command) {
                    return None;
                }
            }
            let Some(feed) = &self.feed else {
                // Source lost: wait for Retry or Stop.
                match commands.recv_timeout(Duration::from_millis(200)) {
                    Ok(command) => {
                        if !self.obey(command) {
                            return None;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                    Err(RecvTimeoutError::Disconnected) => return None,
                }
                continue;
            };
            if self.paused && feed.can_hold() {
                // A clip waits where it is: nothing plays unrecorded, and
                // Resume goes on from the frame it stopped at.
                match commands.recv_timeout(Duration::from_millis(200)) {
                    Ok(command) => {
                        if !self.obey(command) {
                            return None;
                        }
                    }
                    Err(RecvTimeoutError::Timeout) => {
                        // Again, in case the window's queue was full.
                        let stats = self.stats();
                        self.out.update(Default::default(), Some(LiveFrame { preview: None, stats }));
                    }
                    Err(RecvTimeoutError::Disconnected) => return None,
                }
                continue;
            }
            match feed.next(Duration::from_millis(50)) {
                None => {}
                Some(FeedEvent::Frame { frame, captured_at }) => {
                    if let Err(e) = self.on_frame(frame, captured_at) {
                        return Some(e);
                    }
                }
                Some(FeedEvent::Ended) => return None,
                Some(FeedEvent::Failed(e)) => {
                    self.dropped_before += feed.dropped();
                    self.feed = None;
                    self.arrivals.clear();
                    self.send(RunMessage::SourceLost { error: crate::error_text::error_chain(&e) });
                }
            }
            if let Some(error) = self.autosave.as_ref().and_then(Autosave::take_error) {
                self.send(RunMessage::Warning(format!("autosave failed: {error}")));
            }
        }
    }

    /// Carries out a command; `false` when the session is to end.
    fn obey(&mut self, command: RunCommand) -> bool {
        match command {
            RunCommand::Pause | RunCommand::Resume => {
                self.paused = matches!(command, RunCommand::Pause);
                if let Some(feed) = &self.feed {
                    feed.hold(self.paused);
                }
                // The rate is measured afresh after a held clip's gap.
                self.arrivals.clear();
                // A held clip sends no frames, so the window learns of the
                // pause from this.
                let stats = self.stats();
                self.out.update(Default::default(), Some(LiveFrame { preview: None, stats }));
            }
            RunCommand::Stop | RunCommand::Cancel => return false,
            RunCommand::Retry => {
                if self.feed.is_none() {
                    match start_feed(&self.open) {
                        Ok(feed) => {
                            feed.hold(self.paused);
                            self.feed = Some(feed);
                            self.send(RunMessage::SourceBack);
                        }
                        Err(e) => self.send(RunMessage::SourceLost { error: crate::error_text::error_chain(&e) }),
                    }
                }
            }
        }
        true
    }

    fn on_frame(&mut self, mut frame: crate::capture::Frame, captured_at: Instant) -> Result<(), PipelineError> {
        self.arrivals.push_back(captured_at);
        while self.arrivals.front().is_some_and(|&t| captured_at.duration_since(t) > Duration::from_secs(1)) {
            self.arrivals.pop_front();
        }
        let mut index = None;
        let mut delta = Default::default();
        if !self.paused {
            // Session frames are numbered and timed by this worker: the
            // numbering matches the recording (dropped and paused frames are
            // in neither), and the clock runs on across a reconnect.
            frame.index = self.next_index;
            frame.timestamp_s = captured_at.duration_since(self.origin).as_secs_f64();
            self.next_index += 1;
            if let Some(recorder) = &self.recorder {
                if let Err(e) = recorder.write(&frame.image) {
                    self.recorder = None;
                    self.send(RunMessage::Warning(format!("{e}; recording stopped, the analysis goes on")));
                }
            }
            let started = Instant::now();
            self.analyzer.push(&frame)?;
            let ms = started.elapsed().as_secs_f64() * 1e3;
            self.analysis_ms = if self.analysis_ms == 0.0 { ms } else { 0.9 * self.analysis_ms + 0.1 * ms };
            self.out.analysed(frame.timestamp_s);
            delta = self.analyzer.take_delta();
            // The journal has every change before the consumer can show
            // it, so a review of what it shows always lands after it.
            if let Some(autosave) = &self.autosave {
                autosave.record_delta(delta.clone());
            }
            index = Some(frame.index);
        }
        let preview = preview_of(&frame.image, index, captured_at).ok();
        let stats = self.stats();
        self.out.update(delta, Some(LiveFrame { preview, stats }));
        Ok(())
    }

    fn stats(&self) -> LiveStats {
        let capture_fps = match (self.arrivals.front(), self.arrivals.back()) {
            (Some(first), Some(last)) if self.arrivals.len() > 1 => {
                let span = last.duration_since(*first).as_secs_f64();
                if span > 0.0 {
                    (self.arrivals.len() - 1) as f64 / span
                } else {
                    0.0
                }
            }
            _ => 0.0,
        };
        LiveStats {
            capture_fps,
            dropped: self.dropped_before + self.feed.as_ref().map_or(0, LiveFeed::dropped),
            analysed: self.next_index,
            analysis_ms: self.analysis_ms,
            paused: self.paused,
        }
    }

    /// Ends the session: the analysis is finished and the recording closed;
    /// the consumer gets the session with the open autosave to save it.
    fn finish(mut self, failure: Option<PipelineError>) {
        drop(self.feed.take());
        let recording = self.recorder.take().map(|r| r.finish().map_err(|e| crate::error_text::error_chain(&e)));
        if let Some(Err(e)) = &recording {
            self.send(RunMessage::Warning(e.clone()));
        }
        let end = LiveEnd { paths: self.paths, autosave: self.autosave, recording };
        let message = match failure {
            // The analyzer may have stopped mid-frame: keep what it had.
            Some(error) => {
                RunMessage::Failed { error, session: Some(self.out.so_far(&self.analyzer)), live: Some(end) }
            }
            None => self.out.finish(self.analyzer, Some(end)),
        };
        if let Err(unclaimed) = self.out.send(message) {
            super::live_save::save_unclaimed(*unclaimed);
        }
    }
}

fn start_feed(open: &OpenFeed) -> Result<LiveFeed, CaptureError> {
    let open = Arc::clone(open);
    LiveFeed::start(move || open(), FEED_QUEUE, || {})
}

/// BGR frame → RGBA for the screen, scaled down if wide.
fn preview_of(image: &Mat, index: Option<u64>, captured_at: Instant) -> opencv::Result<PreviewImage> {
    let mut scaled = Mat::default();
    let source = if image.cols() > PREVIEW_MAX_WIDTH {
        let scale = f64::from(PREVIEW_MAX_WIDTH) / f64::from(image.cols());
        imgproc::resize(image, &mut scaled, Size::new(0, 0), scale, scale, imgproc::INTER_AREA)?;
        &scaled
    } else {
        image
    };
    let mut rgba = Mat::default();
    imgproc::cvt_color_def(source, &mut rgba, imgproc::COLOR_BGR2RGBA)?;
    Ok(PreviewImage {
        index,
        width: rgba.cols() as usize,
        height: rgba.rows() as usize,
        rgba: rgba.data_bytes()?.to_vec(),
        captured_at,
    })
}

/// Live runs of the demo clip played as a camera, for the tests here, of
/// the save and of the window.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use super::{LiveSettings, OpenFeed};
    use crate::pipeline::run::{AnalysisRun, RunSource};
    use crate::pipeline::AnalysisOptions;

    pub fn demo_clip() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("assets/demo/astronaut-demo.mp4")
    }

    /// Held by the tests that run a clip in real time (live sessions) or
    /// whole analyses in the window, so that the lib's tests do not starve
    /// each other of the two cores and make real-time runs drop frames.
    pub fn one_heavy_test_at_a_time() -> std::sync::MutexGuard<'static, ()> {
        static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
        HEAVY.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Recorded into `dir` as `name`, autosaved every half second.
    pub fn settings(dir: &Path, name: &str) -> LiveSettings {
        LiveSettings {
            out_dir: dir.to_path_buf(),
            name: name.into(),
            record: true,
            autosave_every: Duration::from_millis(500),
        }
    }

    pub fn start(open: OpenFeed, settings: LiveSettings) -> AnalysisRun {
        let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("weights/epir-megc2019.safetensors");
        let options = AnalysisOptions { weights: Some(weights), ..AnalysisOptions::default() };
        AnalysisRun::start(RunSource::Live { open, settings }, options, tch::Device::Cpu, || {}).expect("worker starts")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::{self, Paced, SourceInfo};
    use crate::pipeline::live_save::{save_live_session, ReviewLog};
    use crate::session::Session;
    use testing::{demo_clip, settings, start};

    /// Reusing a name never overwrites an earlier interview: a run with a
    /// taken name fails before it opens anything, naming the file; a name
    /// the program picks is made unique instead.
    #[test]
    fn a_taken_name_is_refused_and_a_picked_one_made_unique() {
        let dir = crate::files::scratch_dir("live-name-taken");
        std::fs::write(dir.join("interview.avi"), b"an earlier recording").expect("write");
        let taken = LiveSettings {
            out_dir: dir.clone(),
            name: "interview".into(),
            record: true,
            autosave_every: Duration::from_secs(2),
        };
        assert_eq!(taken.existing_files(), vec![dir.join("interview.avi")]);
        let run = start(open_paced_file(demo_clip()), taken.clone());
        let failure = run.messages.iter().find_map(|m| match m {
            RunMessage::Failed { error, .. } => Some(error.to_string()),
            _ => None,
        });
        let failure = failure.expect("the run refuses the name");
        assert!(failure.contains("interview.avi") && failure.contains("would overwrite"), "{failure}");
        assert_eq!(std::fs::read(dir.join("interview.avi")).expect("read"), b"an earlier recording");
        assert_eq!(taken.with_free_name().name, "interview-2");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn session_names_carry_the_utc_date_and_time() {
        let name = session_name_now();
        assert!(name.starts_with("live-20") && name.len() == "live-20261123-162005".len(), "{name}");
    }

    /// The demo clip played as a camera: the UI's copy built from the
    /// updates equals the saved session, the recording has one frame per
    /// session frame, and the journal is gone once the session is saved.
    #[test]
    fn a_live_session_streams_records_and_saves() {
        let _heavy = testing::one_heavy_test_at_a_time();
        let dir = std::env::temp_dir().join(format!("glimpse-live-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let run = start(open_paced_file(demo_clip()), settings(&dir, "live-test"));
        let mut copy = Session::default();
        let (mut previews, mut last_stats) = (0, LiveStats::default());
        let finished = loop {
            match run.messages.recv_timeout(Duration::from_secs(60)).expect("a message") {
                RunMessage::Started { info, live, session } => {
                    assert_eq!((info.width, info.height), (640, 480));
                    assert_eq!(session.class_names.len(), 3);
                    copy = *session;
                    assert!(live.expect("live").paths.journal.is_file(), "the journal exists while the session runs");
                }
                RunMessage::Update { delta, live, .. } => {
                    copy.apply_delta(delta);
                    let LiveFrame { preview, stats } = live.expect("a live update");
                    if let Some(preview) = preview {
                        assert_eq!(preview.rgba.len(), preview.width * preview.height * 4);
                        previews += 1;
                    }
                    last_stats = stats;
                }
                RunMessage::Finished(finished) => break finished,
                RunMessage::Failed { error, .. } => panic!("failed: {error}"),
                RunMessage::Warning(w) => panic!("warning: {w}"),
                RunMessage::SourceLost { error } => panic!("lost: {error}"),
                RunMessage::SourceBack | RunMessage::Cancelled { .. } => {}
            }
        };
        let mut session = finished.session;
        let end = finished.live.expect("a live end");
        let frames = session.frames.len() as u64;
        // Measured: 340-358 of 360 on an idle 2-core VM; a loaded one drops more.
        assert!(frames > 180, "most of the 360 frames are analysed in real time ({frames})");
        assert_eq!(frames + last_stats.dropped, 360, "every frame is analysed or counted as dropped");
        // The 30 fps clip, as measured from arrival times (lower when the
        // machine is too busy to decode it in real time: 13.5 was seen with
        // a 1-hour analysis sharing the two cores, so the floor only says
        // that a rate was measured, not how fast this machine is).
        assert!((5.0..35.0).contains(&last_stats.capture_fps), "{}", last_stats.capture_fps);
        assert!(previews > 0);
        // The copy kept by deltas holds every frame the session holds.
        assert_eq!(copy.frames, session.frames);
        assert_eq!(copy.class_names, session.class_names);
        assert_eq!(end.recording.expect("recorded").expect("recording closed"), frames);
        assert!(end.paths.journal.exists(), "the journal stays until the consumer has saved");
        let saved = save_live_session(&mut session, &end.paths, end.autosave, &ReviewLog::default()).expect("saved");
        assert_eq!(Session::load(&saved.path).expect("loads").frames.len() as u64, frames);
        assert!(!settings(&dir, "live-test").paths().journal.exists(), "the journal is removed after a clean save");
        assert!(!session.events.is_empty(), "the demo clip's micro-expressions are spotted live");
        // Events as they happen: the baseline trails, though the options
        // given (a recorded file's defaults) centre it.
        assert_eq!(AnalysisOptions::default().spotting.lookahead_s(), 2.0);
        let lookahead = session.settings.iter().find(|(key, _)| key == "baseline_lookahead_s").map(|(_, v)| v.as_str());
        assert_eq!(lookahead, Some("0"), "{:?}", session.settings);
        let jitter = session.settings.iter().find(|(key, _)| key == "classify_onset_jitter").map(|(_, v)| v.as_str());
        assert_eq!(jitter, Some("0"), "{:?}", session.settings);
        // Clinical data: the recording and the session are the owner's alone.
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777;
        assert_eq!(mode(&saved.path), 0o600);
        assert_eq!(mode(end.paths.recording.as_deref().expect("recorded")), 0o600);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    /// A producer that fails after `fail_after` frames, like a camera
    /// pulled out mid-session; reopened, it works again.
    struct Unplugged {
        inner: Paced<Box<dyn crate::capture::FrameSource>>,
        left: Option<u64>,
    }

    impl FrameProducer for Unplugged {
        fn info(&self) -> SourceInfo {
            self.inner.info()
        }
        fn next_frame(&mut self) -> Result<Option<crate::capture::Frame>, CaptureError> {
            match &mut self.left {
                Some(0) => Err(CaptureError::Camera { index: 0, problem: "No such device (os error 19)".into() }),
                Some(n) => {
                    *n -= 1;
                    self.inner.next_frame()
                }
                None => self.inner.next_frame(),
            }
        }
    }

    /// The camera goes away after 60 frames: the session is kept, the UI is
    /// told, a retry reconnects and the session goes on where it was, its
    /// clock running on.
    #[test]
    fn a_lost_source_keeps_the_session_and_a_retry_resumes_it() {
        let dir = std::env::temp_dir().join(format!("glimpse-live-lost-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let clip = demo_clip();
        let opened = Arc::new(std::sync::atomic::AtomicU32::new(0));
        let counter = Arc::clone(&opened);
        let open: OpenFeed = Arc::new(move || {
            let first = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
            let inner = Paced::new(capture::open(&clip, None)?);
            Ok(Box::new(Unplugged { inner, left: first.then_some(60) }) as Box<dyn FrameProducer>)
        });
        let run = start(open, LiveSettings { record: false, ..settings(&dir, "live-test") });
        let (mut lost, mut frames_when_lost, mut frames) = (None, 0, 0);
        let session = loop {
            match run.messages.recv_timeout(Duration::from_secs(60)).expect("a message") {
                RunMessage::Update { live: Some(LiveFrame { stats, .. }), .. } => {
                    frames = stats.analysed;
                    if frames >= 200 {
                        run.send(RunCommand::Stop);
                    }
                }
                RunMessage::SourceLost { error } => {
                    frames_when_lost = frames;
                    lost = Some(error);
                    std::thread::sleep(Duration::from_millis(300));
                    run.send(RunCommand::Retry);
                }
                RunMessage::Finished(finished) => {
                    let mut session = finished.session;
                    let end = finished.live.expect("a live end");
                    save_live_session(&mut session, &end.paths, end.autosave, &ReviewLog::default()).expect("saved");
                    break session;
                }
                RunMessage::Failed { error, .. } => panic!("failed: {error}"),
                _ => {}
            }
        };
        let error = lost.expect("the loss was reported");
        assert!(error.starts_with("camera 0: No such device"), "{error}");
        assert!(frames_when_lost <= 60);
        assert_eq!(opened.load(std::sync::atomic::Ordering::SeqCst), 2, "reopened once");
        // One session across the reconnect: numbering goes on, and the
        // clock shows the gap (0.3 s waited before the retry).
        assert!(session.frames.len() >= 200);
        assert!(session.frames.windows(2).all(|w| w[1].index == w[0].index + 1));
        let gap = session.frames.windows(2).map(|w| w[1].timestamp_s - w[0].timestamp_s).fold(0.0, f64::max);
        assert!(gap >= 0.3, "largest gap {gap:.3} s");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
