//! One driver for every analysis. `AnalysisRun` owns the `Analyzer` on its
//! own thread (tch tensors are not `Sync`) and feeds it a file (see
//! `file_run`) or a live feed (see `live_run`); whoever started it (`glimpse
//! analyze`, the benchmark, `glimpse live`, the app) reads one stream of
//! `RunMessage`s. What changed is sent as a delta, not the session, so the
//! cost stays flat however long the video; a delta that finds the channel
//! full is merged into the next, so a busy consumer never holds the
//! analysis up and no change is lost.
use std::path::{Path, PathBuf};
use std::thread::JoinHandle;
use std::time::Instant;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender, TrySendError};

use super::clip::TakenAsClip;
use super::live_run::{LiveFrame, LiveSettings, LiveStarted, OpenFeed};
use super::live_save::LiveEnd;
use super::{AnalysisOptions, Analyzer, PipelineError, StageTimings};
use crate::capture::{measured_fps, SourceInfo};
use crate::device::{configure_threads, ThreadUse};
use crate::session::{Session, SessionDelta, SourceMeta};

/// What a run analyses.
pub enum RunSource {
    /// A video file or image folder, read start to end as fast as it decodes.
    File(PathBuf),
    /// A file as the app opens it: a clip too short for spotting is
    /// classified as one event (`clip::classify_clip`), anything else is
    /// analysed as `File`.
    FileOrClip(PathBuf),
    /// A camera, or a file played at its own pace as one; `settings` say
    /// where the recording, the journal and the session go.
    Live { open: OpenFeed, settings: LiveSettings },
}

pub enum RunCommand {
    Pause,
    Resume,
    /// End the run: a file is finished with the frames read so far, a live
    /// session is closed.
    Stop,
    /// End a file run without finishing it (a live session is closed as
    /// for `Stop`: it is never thrown away).
    Cancel,
    /// Reopen a lost live source.
    Retry,
}

/// How far an analysis has got, for progress bars.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Progress {
    pub frames_done: u64,
    /// Frames the container declares, when it does.
    pub frames_total: Option<u64>,
    /// Media time analysed.
    pub media_s: f64,
    pub elapsed_s: f64,
}

impl Progress {
    /// Seconds left at the rate so far, when the total is known.
    pub fn eta_s(&self) -> Option<f64> {
        let total = self.frames_total?;
        (self.frames_done > 0)
            .then(|| self.elapsed_s / self.frames_done as f64 * total.saturating_sub(self.frames_done) as f64)
    }
}

pub enum RunMessage {
    /// Once, first: the empty session the deltas build on (class names,
    /// source, settings), and for a live source where its files go.
    Started {
        session: Box<Session>,
        info: SourceInfo,
        live: Option<LiveStarted>,
    },
    /// What changed since the last update (several updates' worth when the
    /// channel was full); a live source adds the frame to show.
    Update {
        delta: SessionDelta,
        progress: Progress,
        live: Option<LiveFrame>,
    },
    /// Something that does not stop the run (autosave or recording failed).
    Warning(String),
    /// The live source failed (camera unplugged); the session stays open
    /// and a `Retry` reconnects.
    SourceLost {
        error: String,
    },
    SourceBack,
    Finished(Box<Finished>),
    /// The analysis failed; `session` holds what it had found. A live
    /// session's consumer saves it as for `Finished`.
    Failed {
        error: PipelineError,
        session: Option<Box<Session>>,
        live: Option<LiveEnd>,
    },
    /// A file run was cancelled; `session` holds what it had found.
    Cancelled {
        session: Box<Session>,
    },
}

impl RunMessage {
    /// Whether this is the run's last word.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Finished(_) | Self::Failed { .. } | Self::Cancelled { .. })
    }
}

/// A run's result: the completed session, and for a live source the
/// still-open autosave that `live_save::save_live_session` closes once the
/// consumer's reviews are in and the session is saved.
pub struct Finished {
    pub session: Session,
    pub timings: StageTimings,
    pub progress: Progress,
    pub live: Option<LiveEnd>,
    /// The source was a short clip, classified as one event.
    pub clip: Option<TakenAsClip>,
}

/// A running analysis. Dropping it cancels a file run and closes a live one.
pub struct AnalysisRun {
    pub messages: Receiver<RunMessage>,
    commands: Sender<RunCommand>,
    thread: Option<JoinHandle<()>>,
}

impl AnalysisRun {
    /// Starts the run on `device` (chosen once by the binary); `wake` runs
    /// after every message (the app passes `ctx.request_repaint`).
    pub fn start(
        source: RunSource,
        options: AnalysisOptions,
        device: tch::Device,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        // Small on purpose: see the module comment.
        let (sender, messages) = bounded(4);
        let (commands, inbox) = unbounded();
        let name = match source {
            RunSource::File(_) | RunSource::FileOrClip(_) => "glimpse-analysis",
            RunSource::Live { .. } => "glimpse-live",
        };
        let thread = std::thread::Builder::new().name(name.into()).spawn(move || {
            // Decoding, detection, recording and the UI already share the
            // cores; it also makes the app's numbers those of the command line.
            configure_threads(device, ThreadUse::Pipeline);
            let outbox = Outbox::new(sender, Box::new(wake));
            match source {
                RunSource::File(path) => super::file_run::run(&path, options, device, &inbox, outbox),
                RunSource::FileOrClip(path) => super::clip_run::run(&path, options, device, &inbox, outbox),
                RunSource::Live { open, settings } => {
                    super::live_run::run(open, settings, options, device, &inbox, outbox)
                }
            }
        })?;
        Ok(Self { messages, commands, thread: Some(thread) })
    }

    pub fn send(&self, command: RunCommand) {
        let _ = self.commands.send(command);
    }

    pub fn cancel(&self) {
        self.send(RunCommand::Cancel);
    }

    /// Stops the run and waits for its last message (at exit: a live
    /// session must still be saved by its consumer).
    pub fn stop_and_wait(mut self) -> Option<RunMessage> {
        self.send(RunCommand::Stop);
        // Drained to the end, so the worker's last messages never block it.
        let last = self.messages.iter().filter(RunMessage::is_final).last();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        last
    }
}

impl Drop for AnalysisRun {
    fn drop(&mut self) {
        // Not joined here (that would freeze the UI): the worker sees the
        // command within a frame and ends on its own.
        self.cancel();
    }
}

/// What only the frames seen tell: their count, the rate measured from
/// their timestamps (the declared rate when they give none) and the span
/// they cover, a frame period included.
/// With fewer than two frames there is no rate to measure: `measured_fps`
/// stays 0 and the declared rate stands in for the span.
pub fn fill_in_source(source: &mut SourceMeta, first_t: f64, last_t: f64, frames: u64) {
    let measured = measured_fps(first_t, last_t, frames);
    let fps = measured.unwrap_or(source.nominal_fps);
    source.measured_fps = measured.unwrap_or(0.0);
    source.frame_count = frames;
    source.duration_s = last_t - first_t + if fps > 0.0 { 1.0 / fps } else { 0.0 };
}

/// The run's side of the message channel, and what it knows of the frames
/// analysed so far.
pub(super) struct Outbox {
    sender: Sender<RunMessage>,
    wake: Box<dyn Fn() + Send>,
    /// Changes not yet delivered (the channel was full).
    pending: SessionDelta,
    started: Instant,
    frames: u64,
    first_t: Option<f64>,
    last_t: f64,
    frames_total: Option<u64>,
}

impl Outbox {
    fn new(sender: Sender<RunMessage>, wake: Box<dyn Fn() + Send>) -> Self {
        Self {
            sender,
            wake,
            pending: SessionDelta::default(),
            started: Instant::now(),
            frames: 0,
            first_t: None,
            last_t: 0.0,
            frames_total: None,
        }
    }

    /// Sends a message that must arrive (waits for room); gives it back
    /// when no one listens any more.
    pub(super) fn send(&self, message: RunMessage) -> Result<(), Box<RunMessage>> {
        let sent = self.sender.send(message).map_err(|e| Box::new(e.0));
        (self.wake)();
        sent
    }

    /// Ends a run that could not start.
    pub(super) fn fail(&self, error: PipelineError) {
        let _ = self.send(RunMessage::Failed { error, session: None, live: None });
    }

    pub(super) fn expect_frames(&mut self, total: Option<u64>) {
        self.frames_total = total;
    }

    /// A frame was analysed.
    pub(super) fn analysed(&mut self, timestamp_s: f64) {
        self.frames += 1;
        self.first_t.get_or_insert(timestamp_s);
        self.last_t = timestamp_s;
    }

    pub(super) fn frames(&self) -> u64 {
        self.frames
    }

    pub(super) fn progress(&self) -> Progress {
        Progress {
            frames_done: self.frames,
            frames_total: self.frames_total,
            media_s: self.last_t,
            elapsed_s: self.started.elapsed().as_secs_f64(),
        }
    }

    fn fill_in(&self, source: &mut SourceMeta) {
        fill_in_source(source, self.first_t.unwrap_or_default(), self.last_t, self.frames);
    }

    /// Offers `delta`, with any not yet delivered, without waiting; `false`
    /// when no one listens any more.
    pub(super) fn update(&mut self, delta: SessionDelta, live: Option<LiveFrame>) -> bool {
        self.pending.merge(delta);
        let mut delta = std::mem::take(&mut self.pending);
        self.fill_in(&mut delta.source);
        match self.sender.try_send(RunMessage::Update { delta, progress: self.progress(), live }) {
            Ok(()) => {
                (self.wake)();
                true
            }
            Err(TrySendError::Full(RunMessage::Update { delta, .. })) => {
                self.pending = delta;
                true
            }
            Err(_) => false,
        }
    }

    /// The session so far (the run stopped early), its span filled in.
    pub(super) fn so_far(&self, analyzer: &Analyzer) -> Box<Session> {
        let mut session = analyzer.session().clone();
        self.fill_in(&mut session.source);
        Box::new(session)
    }

    /// Ends the analysis: open candidates judged, the session completed and
    /// its span filled in; the last progress counts every frame.
    pub(super) fn finish(&self, analyzer: Analyzer, live: Option<LiveEnd>) -> RunMessage {
        let timings = analyzer.timings.clone();
        match analyzer.finish() {
            Ok(mut session) => {
                self.fill_in(&mut session.source);
                let progress = Progress { frames_total: Some(self.frames), ..self.progress() };
                RunMessage::Finished(Box::new(Finished { session, timings, progress, live, clip: None }))
            }
            Err(error) => RunMessage::Failed { error, session: None, live: None },
        }
    }
}

/// A finished file analysis.
pub struct Analysis {
    pub session: Session,
    pub timings: StageTimings,
    pub wall_s: f64,
}

/// Analyses a video file or image folder from start to end and waits for
/// it. `progress` hears how far it has got a few times a second; returning
/// `false` from it cancels.
pub fn analyze(
    path: &Path,
    options: &AnalysisOptions,
    device: tch::Device,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Analysis, PipelineError> {
    let run = AnalysisRun::start(RunSource::File(path.to_path_buf()), options.clone(), device, || {}).map_err(|e| {
        PipelineError::Input { path: path.to_path_buf(), problem: format!("cannot start the analysis thread: {e}") }
    })?;
    let mut cancelled = false;
    for message in run.messages.iter() {
        match message {
            RunMessage::Update { progress: p, .. } if !cancelled && !progress(p) => {
                run.cancel();
                cancelled = true;
            }
            RunMessage::Finished(finished) => {
                let Finished { session, timings, progress: last, .. } = *finished;
                progress(last);
                return Ok(Analysis { session, timings, wall_s: last.elapsed_s });
            }
            RunMessage::Failed { error, .. } => return Err(error),
            RunMessage::Cancelled { .. } => return Err(PipelineError::Cancelled),
            _ => {}
        }
    }
    Err(PipelineError::Input { path: path.to_path_buf(), problem: "the analysis thread stopped unexpectedly".into() })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn start(path: PathBuf, options: AnalysisOptions) -> AnalysisRun {
        AnalysisRun::start(RunSource::File(path), options, tch::Device::Cpu, || {}).expect("worker starts")
    }

    /// A file run streams deltas while it runs and stops soon after a
    /// cancel, handing back the session so far.
    #[test]
    fn cancelling_stops_the_worker_and_keeps_the_session_so_far() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let options = AnalysisOptions {
            weights: Some(root.join("weights/epir-megc2019.safetensors")),
            ..AnalysisOptions::default()
        };
        let run = start(root.join("assets/demo/astronaut-demo.mp4"), options);
        let timeout = Duration::from_secs(120);
        let (mut updates, mut copy) = (0, Session::default());
        let outcome = loop {
            match run.messages.recv_timeout(timeout).expect("a message before the timeout") {
                RunMessage::Started { session, .. } => copy = *session,
                RunMessage::Update { delta, progress, .. } => {
                    assert!(progress.frames_done > 0);
                    copy.apply_delta(delta);
                    updates += 1;
                    // Enough frames that some are settled (see below),
                    // however fast this machine analyses.
                    if copy.frames.len() > 90 {
                        run.cancel();
                    }
                }
                other => break other,
            }
        };
        assert!(updates >= 2, "updates stream in before the cancel takes effect");
        match outcome {
            RunMessage::Cancelled { session } => {
                assert!(!session.frames.is_empty(), "frames so far are kept");
                // The UI's copy, built from the updates, is the session up
                // to the last update.
                let n = copy.frames.len();
                assert!(n > 60 && n <= session.frames.len(), "{n} frames");
                // The newest second may still get its motion filled in.
                assert_eq!(copy.frames[..n - 60], session.frames[..n - 60]);
                assert_eq!(copy.class_names, session.class_names);
            }
            RunMessage::Failed { error, .. } => panic!("failed instead of cancelling: {error}"),
            _ => panic!("finished instead of cancelling"),
        }
    }

    /// A frame that cannot be read half-way through: the worker reports the
    /// error, naming the file, and hands back what it had analysed.
    #[test]
    fn an_error_mid_analysis_is_reported_and_the_session_so_far_kept() {
        use opencv::core::{Mat, Vector};
        use opencv::videoio::{VideoCapture, VideoCaptureTrait};
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let folder = crate::files::scratch_dir("ui-analysis-broken");
        let mut capture = VideoCapture::from_file(
            root.join("assets/demo/astronaut-demo.mp4").to_str().expect("utf-8"),
            opencv::videoio::CAP_ANY,
        )
        .expect("demo clip");
        for i in 0..40 {
            let mut frame = Mat::default();
            assert!(capture.read(&mut frame).expect("read"));
            let path = folder.join(format!("frame{i:03}.png"));
            assert!(opencv::imgcodecs::imwrite(path.to_str().expect("utf-8"), &frame, &Vector::new()).expect("png"));
        }
        std::fs::write(folder.join("frame030.png"), b"not a png").expect("break one frame");
        let options = AnalysisOptions {
            weights: Some(root.join("weights/epir-megc2019.safetensors")),
            folder_fps: Some(30.0),
            ..AnalysisOptions::default()
        };
        let run = start(folder.clone(), options);
        let outcome = loop {
            match run.messages.recv_timeout(Duration::from_secs(120)).expect("a message") {
                RunMessage::Started { .. } | RunMessage::Update { .. } => {}
                other => break other,
            }
        };
        match outcome {
            RunMessage::Failed { session, error, .. } => {
                let error = error.to_string();
                assert!(error.contains("frame030.png") && error.contains("not a readable image"), "{error}");
                let session = session.expect("the session so far is handed back");
                assert_eq!(session.frames.len(), 30, "frames 0-29 were analysed");
                assert_eq!(session.source.frame_count, 30);
            }
            _ => panic!("a broken frame did not fail the analysis"),
        }
        std::fs::remove_dir_all(&folder).expect("cleanup");
    }
}
