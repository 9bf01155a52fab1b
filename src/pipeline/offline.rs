//! Analysis of a recorded video: a decode thread feeds the analyzer over a
//! bounded channel, so decoding overlaps analysis and memory stays flat.
use std::path::Path;
use std::time::Instant;

use crossbeam_channel::bounded;

use super::{AnalysisOptions, Analyzer, PipelineError, Stage, StageTimings};
use crate::capture::{self, measured_fps, Frame};
use crate::face::FaceDetection;
use crate::timeline::{Session, SourceMeta};

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

pub struct Analysis {
    pub session: Session,
    pub timings: StageTimings,
    pub wall_s: f64,
}

/// What only the frames seen tell: their count, the rate measured from
/// their timestamps (the declared rate when they give none) and the span
/// they cover, a frame period included.
pub fn fill_in_source(source: &mut SourceMeta, first_t: f64, last_t: f64, frames: u64) {
    let fps = measured_fps(first_t, last_t, frames).unwrap_or(source.nominal_fps);
    source.measured_fps = fps;
    source.frame_count = frames;
    source.duration_s = last_t - first_t + if fps > 0.0 { 1.0 / fps } else { 0.0 };
}

/// A frame from the decode thread, with the detector's output when it ran.
struct Decoded {
    frame: Frame,
    decode_ms: f32,
    detections: Option<Vec<FaceDetection>>,
    detect_ms: f32,
}

/// Frames in flight between decoder and analyzer: enough to ride out a slow
/// frame, few enough to keep memory flat.
const QUEUE: usize = 8;

/// Analyses a video file or image folder from start to end. `progress` is
/// called every few frames; returning `false` from it cancels.
pub fn analyze(
    path: &Path,
    options: &AnalysisOptions,
    device: tch::Device,
    progress: &mut dyn FnMut(Progress) -> bool,
) -> Result<Analysis, PipelineError> {
    let started = Instant::now();
    let mut source = capture::open(path, options.folder_fps)?;
    let info = source.info().clone();
    let mut analyzer = Analyzer::new(options.clone(), &info, device)?;
    // Decoding and face detection run on one thread, flow, spotting and
    // classification on this one: the two halves cost about the same.
    let mut finder = analyzer.take_face_finder();
    if !device.is_cuda() {
        // Two threads already share the cores; libtorch's own intra-op
        // threads on top of them only contend.
        tch::set_num_threads(1);
    }
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
                            None => Ok((None, 0.0)),
                        };
                        found.map(|(detections, detect_ms)| Decoded { frame, decode_ms, detections, detect_ms })
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

    let mut frames = 0u64;
    let (mut first_t, mut last_t) = (None, 0.0);
    let mut result = Ok(());
    for message in frames_rx.iter() {
        let Decoded { frame, decode_ms, detections, detect_ms } = match message {
            Ok(x) => x,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        analyzer.timings.add(Stage::Decode, decode_ms);
        if let Err(e) = analyzer.push_detected(&frame, detections.as_deref(), detect_ms) {
            result = Err(e);
            break;
        }
        frames += 1;
        first_t.get_or_insert(frame.timestamp_s);
        last_t = frame.timestamp_s;
        if frames % 16 == 0 {
            let p = Progress {
                frames_done: frames,
                frames_total: info.frame_count,
                media_s: frame.timestamp_s,
                elapsed_s: started.elapsed().as_secs_f64(),
            };
            if !progress(p) {
                result = Err(PipelineError::Cancelled);
                break;
            }
        }
    }
    drop(frames_rx);
    let warnings = decoder.join().unwrap_or_else(|_| vec!["the decoder thread panicked".into()]);
    result?;
    if frames == 0 {
        return Err(PipelineError::Input { path: path.to_path_buf(), problem: "holds no decodable frame".into() });
    }
    let timings = analyzer.timings.clone();
    let mut session = analyzer.finish()?;
    fill_in_source(&mut session.source, first_t.unwrap_or_default(), last_t, frames);
    session.warnings.extend(warnings);
    progress(Progress {
        frames_done: frames,
        frames_total: Some(frames),
        media_s: last_t,
        elapsed_s: started.elapsed().as_secs_f64(),
    });
    Ok(Analysis { session, timings, wall_s: started.elapsed().as_secs_f64() })
}
