//! The analysis worker: one thread owns the model (tch tensors are not
//! `Sync`), feeds every frame of a video to [`Analyzer`] and sends the UI
//! what changed in the session a few times a second, so results appear
//! while the analysis runs (a delta, not the session: the cost stays flat
//! however long the video).
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, Sender, TrySendError};

use crate::capture;
use crate::device::{announce, select_device, DeviceChoice};
use crate::pipeline::{fill_in_source, AnalysisOptions, Analyzer, PipelineError, Progress};
use crate::timeline::{Session, SessionDelta};

/// How often the UI hears of progress: results feel live.
const UPDATE_EVERY: Duration = Duration::from_millis(250);

pub enum AnalysisMessage {
    /// The device the worker picked, and the empty session the updates
    /// build on; once, first.
    Started {
        device: String,
        session: Box<Session>,
    },
    /// What changed since the last update.
    Update {
        delta: SessionDelta,
        progress: Progress,
    },
    Finished {
        session: Box<Session>,
        progress: Progress,
    },
    /// The analysis stopped; `session` holds what it had found.
    Failed {
        session: Option<Box<Session>>,
        error: String,
    },
    Cancelled {
        session: Box<Session>,
    },
}

/// A running analysis. Dropping it cancels the worker.
pub struct AnalysisJob {
    pub messages: Receiver<AnalysisMessage>,
    cancel: Arc<AtomicBool>,
    worker: Option<JoinHandle<()>>,
}

impl AnalysisJob {
    /// Starts analysing `path`; `wake` is called after every message so the
    /// UI repaints without polling.
    pub fn start(
        path: &Path,
        options: AnalysisOptions,
        device: DeviceChoice,
        wake: impl Fn() + Send + 'static,
    ) -> std::io::Result<Self> {
        // Small on purpose: an update that finds the channel full is kept
        // and merged into the next, so a busy UI never holds the worker up
        // and no change is lost.
        let (sender, messages) = bounded(4);
        let cancel = Arc::new(AtomicBool::new(false));
        let worker = {
            let (path, cancel) = (path.to_path_buf(), Arc::clone(&cancel));
            std::thread::Builder::new().name("glimpse-analysis".into()).spawn(move || {
                run(&path, options, device, &cancel, &sender, &wake);
            })?
        };
        Ok(Self { messages, cancel, worker: Some(worker) })
    }

    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}

impl Drop for AnalysisJob {
    fn drop(&mut self) {
        self.cancel();
        // Not joined: the worker notices the flag within a frame and exits
        // on its own; waiting here would freeze the UI for that long.
        drop(self.worker.take());
    }
}

fn run(
    path: &Path,
    options: AnalysisOptions,
    device: DeviceChoice,
    cancel: &AtomicBool,
    sender: &Sender<AnalysisMessage>,
    wake: &dyn Fn(),
) {
    let send = |message| {
        let delivered = sender.send(message).is_ok();
        wake();
        delivered
    };
    let choice = device;
    let device = match select_device(choice) {
        Ok(device) => device,
        Err(e) => {
            send(AnalysisMessage::Failed { session: None, error: e.to_string() });
            return;
        }
    };
    if !device.is_cuda() {
        // As `glimpse analyze` does: the UI and the playback decoder share
        // the cores, and libtorch's intra-op threads on top only contend.
        // It also makes the app's numbers those of the command line.
        tch::set_num_threads(1);
    }
    let started = Instant::now();
    let mut source = match capture::open(path, options.folder_fps) {
        Ok(source) => source,
        Err(e) => {
            send(AnalysisMessage::Failed { session: None, error: e.to_string() });
            return;
        }
    };
    let info = source.info().clone();
    let mut analyzer = match Analyzer::new(options, &info, device) {
        Ok(analyzer) => analyzer,
        Err(e) => {
            send(AnalysisMessage::Failed { session: None, error: e.to_string() });
            return;
        }
    };
    send(AnalysisMessage::Started { device: announce(choice, device), session: Box::new(analyzer.session().clone()) });
    let mut pending = SessionDelta::default();
    let (mut frames, mut first_t, mut last_t) = (0u64, None, 0.0);
    let mut last_update = Instant::now();
    let progress_now = |frames, media_s| Progress {
        frames_done: frames,
        frames_total: info.frame_count,
        media_s,
        elapsed_s: started.elapsed().as_secs_f64(),
    };
    let failure = loop {
        if cancel.load(Ordering::Relaxed) {
            send(AnalysisMessage::Cancelled { session: Box::new(analyzer.session().clone()) });
            return;
        }
        let frame = match source.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break None,
            Err(e) => break Some(PipelineError::from(e)),
        };
        if let Err(e) = analyzer.push(&frame) {
            break Some(e);
        }
        frames += 1;
        first_t.get_or_insert(frame.timestamp_s);
        last_t = frame.timestamp_s;
        if last_update.elapsed() >= UPDATE_EVERY {
            last_update = Instant::now();
            pending.merge(analyzer.take_delta());
            let mut delta = std::mem::take(&mut pending);
            fill_in_source(&mut delta.source, first_t.unwrap_or_default(), last_t, frames);
            match sender.try_send(AnalysisMessage::Update { delta, progress: progress_now(frames, last_t) }) {
                Ok(()) => wake(),
                Err(TrySendError::Full(AnalysisMessage::Update { delta, .. })) => pending = delta,
                Err(_) => return,
            }
        }
    };
    if let Some(error) = failure {
        let mut session = analyzer.session().clone();
        fill_in_source(&mut session.source, first_t.unwrap_or_default(), last_t, frames);
        send(AnalysisMessage::Failed { session: Some(Box::new(session)), error: error.to_string() });
        return;
    }
    if frames == 0 {
        send(AnalysisMessage::Failed { session: None, error: format!("{} holds no decodable frame", path.display()) });
        return;
    }
    let warnings = source.warnings();
    match analyzer.finish() {
        Ok(mut session) => {
            fill_in_source(&mut session.source, first_t.unwrap_or_default(), last_t, frames);
            session.warnings = warnings;
            let mut progress = progress_now(frames, last_t);
            progress.frames_total = Some(frames);
            send(AnalysisMessage::Finished { session: Box::new(session), progress });
        }
        Err(e) => {
            send(AnalysisMessage::Failed { session: None, error: e.to_string() });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worker streams snapshots while it runs and stops soon after a
    /// cancel, handing back the session so far.
    #[test]
    fn cancelling_stops_the_worker_and_keeps_the_session_so_far() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let options =
            AnalysisOptions { weights: root.join("weights/epir-megc2019.safetensors"), ..AnalysisOptions::default() };
        let job = AnalysisJob::start(&root.join("assets/demo/astronaut-demo.mp4"), options, DeviceChoice::Cpu, || {})
            .expect("worker starts");
        let timeout = Duration::from_secs(120);
        let (mut updates, mut copy) = (0, Session::default());
        let outcome = loop {
            match job.messages.recv_timeout(timeout).expect("a message before the timeout") {
                AnalysisMessage::Started { session, .. } => copy = *session,
                AnalysisMessage::Update { delta, progress } => {
                    assert!(progress.frames_done > 0);
                    copy.apply_delta(delta);
                    updates += 1;
                    // Enough frames that some are settled (see below),
                    // however fast this machine analyses.
                    if copy.frames.len() > 90 {
                        job.cancel();
                    }
                }
                other => break other,
            }
        };
        assert!(updates >= 2, "updates stream in before the cancel takes effect");
        match outcome {
            AnalysisMessage::Cancelled { session } => {
                assert!(!session.frames.is_empty(), "frames so far are kept");
                // The UI's copy, built from the updates, is the session up
                // to the last update.
                let n = copy.frames.len();
                assert!(n > 60 && n <= session.frames.len(), "{n} frames");
                // The newest second may still get its motion filled in.
                assert_eq!(copy.frames[..n - 60], session.frames[..n - 60]);
                assert_eq!(copy.class_names, session.class_names);
            }
            AnalysisMessage::Failed { error, .. } => panic!("failed instead of cancelling: {error}"),
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
        let folder = crate::io::scratch_dir("ui-analysis-broken");
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
            weights: root.join("weights/epir-megc2019.safetensors"),
            folder_fps: Some(30.0),
            ..AnalysisOptions::default()
        };
        let job = AnalysisJob::start(&folder, options, DeviceChoice::Cpu, || {}).expect("worker starts");
        let outcome = loop {
            match job.messages.recv_timeout(Duration::from_secs(120)).expect("a message") {
                AnalysisMessage::Started { .. } | AnalysisMessage::Update { .. } => {}
                other => break other,
            }
        };
        match outcome {
            AnalysisMessage::Failed { session, error } => {
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
