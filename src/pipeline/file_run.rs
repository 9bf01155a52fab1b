//! A run over a recorded video or image folder: a decode thread feeds the
//! analyzer over a bounded channel, so decoding overlaps analysis and
//! memory stays flat. Decoding and face detection run on that thread,
//! flow, spotting and classification on the run's: the two halves cost
//! about the same.
use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, TryRecvError};

use super::run::{Outbox, RunCommand, RunMessage};
use super::{AnalysisOptions, Analyzer, FaceFinder, Found, PipelineError, Stage};
use crate::capture::{self, Frame, FrameSource};

/// How often a file run reports: results feel live, and taking a delta
/// this often costs little.
const UPDATE_EVERY: Duration = Duration::from_millis(250);

/// Frames in flight between decoder and analyzer: enough to ride out a slow
/// frame, few enough to keep memory flat.
const QUEUE: usize = 8;

/// A frame from the decode thread, with the detector's output when it ran.
struct Decoded {
    frame: Frame,
    decode_ms: f32,
    found: Found,
}

/// Why the frame loop ended.
enum Ending {
    /// The file ended, or `Stop`: the session is finished.
    Finish,
    Cancel,
    Fail(PipelineError),
}

/// What the commands say the loop should do next.
enum Control {
    Continue,
    Stop,
    Cancel,
}

pub(super) fn run(
    path: &Path,
    options: AnalysisOptions,
    device: tch::Device,
    commands: &Receiver<RunCommand>,
    mut out: Outbox,
) {
    let source = match capture::open(path, options.folder_fps) {
        Ok(source) => source,
        Err(e) => return out.fail(e.into()),
    };
    let info = source.info().clone();
    let mut analyzer = match Analyzer::new(options, &info, device) {
        Ok(analyzer) => analyzer,
        Err(e) => return out.fail(e),
    };
    out.expect_frames(info.frame_count);
    let (frames, decoder) = match spawn_decoder(path, source, analyzer.take_face_finder()) {
        Ok(decoder) => decoder,
        Err(e) => return out.fail(e),
    };
    let session = Box::new(analyzer.session().clone());
    if out.send(RunMessage::Started { session, info, live: None }).is_err() {
        return;
    }
    let (mut paused, mut last_update) = (false, Instant::now());
    let ending = loop {
        match obey(commands, &mut paused) {
            Control::Continue => {}
            Control::Stop => break Ending::Finish,
            Control::Cancel => break Ending::Cancel,
        }
        let Ok(message) = frames.recv() else { break Ending::Finish };
        let Decoded { frame, decode_ms, found } = match message {
            Ok(decoded) => decoded,
            Err(e) => break Ending::Fail(e),
        };
        analyzer.timings.add(Stage::Decode, decode_ms);
        if let Err(e) = analyzer.push_detected(&frame, &found) {
            break Ending::Fail(e);
        }
        out.analysed(frame.timestamp_s);
        if last_update.elapsed() >= UPDATE_EVERY {
            last_update = Instant::now();
            if !out.update(analyzer.take_delta(), None) {
                break Ending::Cancel;
            }
        }
    };
    drop(frames);
    let warnings = decoder.join().unwrap_or_else(|_| vec!["the decoder thread panicked".into()]);
    let message = match ending {
        Ending::Cancel => RunMessage::Cancelled { session: out.so_far(&analyzer) },
        Ending::Fail(error) => RunMessage::Failed { error, session: Some(out.so_far(&analyzer)), live: None },
        Ending::Finish if out.frames() == 0 => RunMessage::Failed {
            error: PipelineError::Input { path: path.to_path_buf(), problem: "holds no decodable frame".into() },
            session: None,
            live: None,
        },
        Ending::Finish => match out.finish(analyzer, None) {
            RunMessage::Finished(mut finished) => {
                finished.session.warnings.extend(warnings);
                RunMessage::Finished(finished)
            }
            other => other,
        },
    };
    let _ = out.send(message);
}

/// Takes the commands waiting, and waits for more while paused.
fn obey(commands: &Receiver<RunCommand>, paused: &mut bool) -> Control {
    loop {
        let command = if *paused {
            match commands.recv() {
                Ok(command) => command,
                Err(_) => return Control::Cancel,
            }
        } else {
            match commands.try_recv() {
                Ok(command) => command,
                Err(TryRecvError::Empty) => return Control::Continue,
                Err(TryRecvError::Disconnected) => return Control::Cancel,
            }
        };
        match command {
            RunCommand::Pause => *paused = true,
            RunCommand::Resume => *paused = false,
            RunCommand::Stop => return Control::Stop,
            RunCommand::Cancel => return Control::Cancel,
            RunCommand::Retry => {}
        }
    }
}

type DecodedFrames = Receiver<Result<Decoded, PipelineError>>;

/// Starts the decode thread; it ends at the end of the source, at an error,
/// or when the receiver is dropped, and returns the source's warnings.
fn spawn_decoder(
    path: &Path,
    mut source: Box<dyn FrameSource>,
    mut finder: Option<FaceFinder>,
) -> Result<(DecodedFrames, JoinHandle<Vec<String>>), PipelineError> {
    let (frames_tx, frames_rx) = bounded::<Result<Decoded, PipelineError>>(QUEUE);
    let decoder = std::thread::Builder::new()
        .name("glimpse-decode".into())
        .spawn(move || {
            loop {
                let started = Instant::now();
                let next = source.next_frame();
                let decode_ms = started.elapsed().as_secs_f32() * 1e3;
                let message = match next {
                    Ok(Some(frame)) => {
                        let found = match &mut finder {
                            Some(finder) => finder.find(&frame),
                            None => Ok(Found::default()),
                        };
                        found.map(|found| Decoded { frame, decode_ms, found })
                    }
                    Ok(None) => break,
                    Err(e) => Err(PipelineError::from(e)),
                };
                let failed = message.is_err();
                if frames_tx.send(message).is_err() || failed {
                    break;
                }
            }
            source.warnings()
        })
        .map_err(|e| PipelineError::Input {
            path: path.to_path_buf(),
            problem: format!("cannot start the decoder thread: {e}"),
        })?;
    Ok((frames_rx, decoder))
}
