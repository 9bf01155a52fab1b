//! Analysis of a recorded video: a decode thread feeds the analyzer over a
//! bounded channel, so decoding overlaps analysis and memory stays flat.
use std::path::Path;
use std::time::Instant;

use crossbeam_channel::bounded;

use super::{AnalysisOptions, Analyzer, PipelineError, Stage, StageTimings};
use crate::capture::{self, measured_fps, Frame};
use crate::timeline::Session;

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
        (self.frames_done > 0).then(|| self.elapsed_s / self.frames_done as f64 * total.saturating_sub(self.frames_done) as f64)
    }
}

pub struct Analysis {
    pub session: Session,
    pub timings: StageTimings,
    pub wall_s: f64,
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
    let (frames_tx, frames_rx) = bounded::<Result<(Frame, f32), PipelineError>>(QUEUE);
    let decoder = std::thread::Builder::new()
        .name("glimpse-decode".into())
        .spawn(move || {
            loop {
                let started = Instant::now();
                let next = source.next_frame();
                let ms = started.elapsed().as_secs_f32() * 1e3;
                let stop = !matches!(next, Ok(Some(_)));
                let message = next.map(|f| f.map(|f| (f, ms))).map_err(PipelineError::from).transpose();
                if let Some(message) = message {
                    if frames_tx.send(message).is_err() {
                        break;
                    }
                }
                if stop {
                    break;
                }
            }
            source.warnings()
        })
        .map_err(|e| PipelineError::Input { path: path.to_path_buf(), problem: format!("cannot start the decoder thread: {e}") })?;

    let mut frames = 0u64;
    let (mut first_t, mut last_t) = (None, 0.0);
    let mut result = Ok(());
    for message in frames_rx.iter() {
        let (frame, decode_ms) = match message {
            Ok(x) => x,
            Err(e) => {
                result = Err(e);
                break;
            }
        };
        analyzer.timings.add(Stage::Decode, decode_ms);
        if let Err(e) = analyzer.push(&frame) {
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
    let first_t = first_t.unwrap_or_default();
    let fps = measured_fps(first_t, last_t, frames).unwrap_or(info.nominal_fps);
    session.source.measured_fps = fps;
    session.source.frame_count = frames;
    session.source.duration_s = last_t - first_t + if fps > 0.0 { 1.0 / fps } else { 0.0 };
    session.warnings = warnings;
    progress(Progress {
        frames_done: frames,
        frames_total: Some(frames),
        media_s: last_t,
        elapsed_s: started.elapsed().as_secs_f64(),
    });
    Ok(Analysis { session, timings, wall_s: started.elapsed().as_secs_f64() })
}
