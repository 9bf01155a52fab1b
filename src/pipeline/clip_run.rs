//! A file as the app opens it: a clip too short for spotting (`clip::is_short_clip`)
//! is classified as one event, as `glimpse classify` does; anything else is
//! analysed as any file is (`file_run`). Decided on the run's thread, so the
//! window never waits on opening the source.
use std::path::Path;
use std::time::Instant;

use crossbeam_channel::Receiver;

use super::clip::{classify_clip, is_short_clip, ClipEvent, TakenAsClip};
use super::run::{Finished, Outbox, Progress, RunCommand, RunMessage};
use super::{AnalysisOptions, StageTimings};
use crate::capture;

pub(super) fn run(
    path: &Path,
    options: AnalysisOptions,
    device: tch::Device,
    commands: &Receiver<RunCommand>,
    out: Outbox,
) {
    let info = match capture::open(path, options.folder_fps) {
        Ok(source) => source.info().clone(),
        Err(e) => return out.fail(e.into()),
    };
    if !is_short_clip(&info, &options.spotting) {
        return super::file_run::run(path, options, device, commands, out);
    }
    let started = Instant::now();
    // A clip is a fraction of a second of frames: classified in one go.
    let message = match classify_clip(path, &options, ClipEvent::default(), device) {
        Ok(clip) => {
            let taken = TakenAsClip::of(&clip);
            let source = &clip.session.source;
            let progress = Progress {
                frames_done: source.frame_count,
                frames_total: Some(source.frame_count),
                media_s: source.duration_s,
                elapsed_s: started.elapsed().as_secs_f64(),
            };
            RunMessage::Finished(Box::new(Finished {
                session: clip.session,
                timings: StageTimings::default(),
                progress,
                live: None,
                clip: Some(taken),
            }))
        }
        Err(error) => RunMessage::Failed { error, session: None, live: None },
    };
    let _ = out.send(message);
}
