//! A short clip as one event (`glimpse classify`). Data sets ship
//! micro-expressions as a few frames from onset to apex (CASME II, SAMM:
//! tight face crops at 200 fps), far shorter than the spotter's baseline, so
//! the spotter can say nothing about them. Here the whole clip is the event:
//! onset the first frame (or the one given), apex the one given or the frame
//! of peak facial motion from the onset, offset the last frame. The frames
//! go through the same `Analyzer` as any analysis (faces, alignment, the
//! spotter's regions, TV-L1 and EPIR in `add_event`), so the event is built
//! exactly as a spotted one is.
use std::path::Path;

use serde::Serialize;

use super::{AnalysisOptions, Analyzer, PipelineError};
use crate::capture::{self, SourceInfo};
use crate::session::Session;
use crate::spotting::{SpottedInterval, SpottingOptions};

/// The most frames a clip may have: each is kept (grey) until the event is
/// chosen, and a data set's onset→offset clip is a few hundred frames at
/// most (0.5 s at 200 fps is 100). A longer video is for the spotter.
pub const MAX_CLIP_FRAMES: u64 = 2000;

/// The rate a folder of frames is taken at when none is given: CASME II
/// and SAMM, the data sets that ship clips as frame folders, record at 200 fps.
pub const DATASET_FPS: f64 = 200.0;

/// The shortest media the spotter can find an event in, seconds: a frame's
/// motion is measured against one `reference_gap_s` back and confirmed
/// `reference_gap_s` later (the two-sided signal), a rise counts only
/// against a resting baseline spanning a second, and the event itself lasts
/// at least `min_duration_s`.
pub fn shortest_spottable_s(spotting: &SpottingOptions) -> f64 {
    2.0 * spotting.reference_gap_s + 1.0_f64.min(spotting.baseline_s) + spotting.min_duration_s
}

/// Whether a source is a clip to classify as one event rather than spot
/// in: its frame count known, at most `MAX_CLIP_FRAMES`, and spanning less
/// than the spotter needs at its frame rate. A source whose length or rate
/// is not known is spotted.
pub fn is_short_clip(info: &SourceInfo, spotting: &SpottingOptions) -> bool {
    let Some(frames) = info.frame_count.filter(|&n| (1..=MAX_CLIP_FRAMES).contains(&n)) else { return false };
    info.nominal_fps.is_finite()
        && info.nominal_fps > 0.0
        && (frames as f64) / info.nominal_fps < shortest_spottable_s(spotting)
}

/// What a window says of a clip it took as one event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TakenAsClip {
    pub frames: u64,
    pub apex: u64,
    pub apex_by: ApexBy,
}

impl TakenAsClip {
    pub fn of(clip: &ClassifiedClip) -> Self {
        Self {
            frames: clip.session.source.frame_count,
            apex: clip.event().map_or(0, |e| e.apex_frame),
            apex_by: clip.apex_by,
        }
    }

    pub fn notice(&self) -> String {
        let how = match self.apex_by {
            ApexBy::Given => "as given",
            ApexBy::PeakMotion => "by peak motion",
        };
        format!(
            "Short clip ({} frames): classified as one event, apex at frame {} {how} (too short for spotting)",
            self.frames, self.apex
        )
    }
}

fn too_long() -> String {
    format!(
        "over {MAX_CLIP_FRAMES} frames: classify takes a short clip as one event; \
         spot the events of a longer video with `glimpse analyze`"
    )
}

/// Where the event lies in the clip, as 0-based frame indices (the
/// session's and the exports' numbering); `None`: chosen from the clip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClipEvent {
    pub onset: Option<u64>,
    pub apex: Option<u64>,
}

impl ClipEvent {
    /// Why these frames cannot be an event in a clip of `frames` frames
    /// (`None`: the count is not known yet, only their order is checked).
    fn check(&self, frames: Option<u64>) -> Result<(), String> {
        if let (Some(onset), Some(apex)) = (self.onset, self.apex) {
            if apex <= onset {
                return Err(format!("the apex (frame {apex}) must come after the onset (frame {onset})"));
            }
        }
        let Some(frames) = frames else { return Ok(()) };
        if frames < 2 {
            return Err(format!("{frames} frame(s): an event needs at least two (onset and apex)"));
        }
        let last = frames - 1;
        if let Some(onset) = self.onset.filter(|&onset| onset >= last) {
            return Err(format!(
                "the onset (frame {onset}) must be before the last frame ({last}; frames are numbered from 0)"
            ));
        }
        if let Some(apex) = self.apex.filter(|&apex| apex > last) {
            return Err(format!("the apex (frame {apex}) is past the last frame ({last}; frames are numbered from 0)"));
        }
        Ok(())
    }
}

/// How the apex was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ApexBy {
    Given,
    /// The frame with the most facial motion from the onset.
    PeakMotion,
}

impl ApexBy {
    pub fn name(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::PeakMotion => "peak_motion",
        }
    }
}

/// A clip classified as one event.
pub struct ClassifiedClip {
    /// The clip's frames, its faces and the one event.
    pub session: Session,
    pub apex_by: ApexBy,
    /// Facial motion (the spotter's expressive regions, px) of each frame
    /// from the onset, by frame index; `None` at and before the onset.
    pub motion_from_onset: Vec<Option<f32>>,
}

impl ClassifiedClip {
    /// The clip's one event.
    pub fn event(&self) -> Option<&crate::session::Event> {
        self.session.events.first()
    }
}

/// Classifies the clip at `path` (a video, or a folder of numbered frames
/// played at `options.folder_fps`) as one event.
pub fn classify_clip(
    path: &Path,
    options: &AnalysisOptions,
    event: ClipEvent,
    device: tch::Device,
) -> Result<ClassifiedClip, PipelineError> {
    let bad = |problem: String| PipelineError::Input { path: path.to_path_buf(), problem };
    event.check(None).map_err(bad)?;
    let mut source = capture::open(path, options.folder_fps)?;
    // A folder's frame count is exact (a container's is a claim): frames
    // out of range are refused before any work.
    if source.info().kind == capture::SourceKind::ImageFolder {
        event.check(source.info().frame_count).map_err(bad)?;
    }
    if source.info().frame_count.is_some_and(|n| n > MAX_CLIP_FRAMES) {
        return Err(bad(too_long()));
    }
    let mut analyzer = Analyzer::new(options.clone(), source.info(), device)?;
    analyzer.treat_as_one_event();
    let mut finder = analyzer.take_face_finder().ok_or_else(|| bad("the face detector is not loaded".into()))?;
    let mut timestamps = Vec::new();
    let mut face_found = false;
    while let Some(frame) = source.next_frame()? {
        if timestamps.len() as u64 == MAX_CLIP_FRAMES {
            return Err(bad(too_long()));
        }
        timestamps.push(frame.timestamp_s);
        // A clip is a fraction of a second: the detector looks at every
        // frame until it finds the face (one it misses on the first frame is
        // found on the next), then at its usual pace, the tracker holding
        // the face in between.
        let found = if face_found { finder.find(&frame)? } else { finder.find_now(&frame)? };
        face_found |= found.detections.as_ref().is_some_and(|d| !d.is_empty());
        analyzer.push_detected(&frame, &found)?;
    }
    let frames = timestamps.len() as u64;
    event.check(Some(frames)).map_err(bad)?;
    let last = frames - 1;
    let onset = event.onset.unwrap_or(0);
    // The face seen longest (a data set's crop shows one).
    let face_id = analyzer
        .session()
        .faces
        .iter()
        .max_by_key(|f| (f.frames_present, std::cmp::Reverse(f.id)))
        .map(|f| f.id)
        .ok_or_else(|| bad(format!("no face found in its {frames} frames")))?;

    let mut motion_from_onset = vec![None; frames as usize];
    for index in onset + 1..frames {
        motion_from_onset[index as usize] = analyzer.motion_between(face_id, onset, index)?.map(|m| m.expressive());
    }
    let (apex, apex_by) = match event.apex {
        Some(apex) => (apex, ApexBy::Given),
        None => {
            let peak = peak_frame(&motion_from_onset)
                .ok_or_else(|| bad("no facial motion could be measured from the onset".into()))?;
            (peak, ApexBy::PeakMotion)
        }
    };
    let at = |index: u64| timestamps[index as usize];
    let interval = SpottedInterval {
        onset_frame: onset,
        apex_frame: apex,
        offset_frame: last,
        onset_s: at(onset),
        apex_s: at(apex),
        offset_s: at(last),
        rise_px: motion_from_onset[apex as usize].unwrap_or(0.0),
        // Not spotted: there is no resting baseline to measure it against.
        score: 0.0,
    };
    analyzer.add_event(face_id, interval)?;
    let mut session = analyzer.finish()?;
    super::fill_in_source(&mut session.source, timestamps[0], at(last), frames);
    session.warnings.extend(source.warnings());
    session.settings.push(("event".into(), "the whole clip as one event (glimpse classify)".into()));
    session.settings.push(("apex_by".into(), apex_by.name().into()));
    Ok(ClassifiedClip { session, apex_by, motion_from_onset })
}

/// The frame of the most motion (the earliest of equals).
fn peak_frame(motion: &[Option<f32>]) -> Option<u64> {
    motion
        .iter()
        .enumerate()
        .filter_map(|(i, m)| m.filter(|m| m.is_finite()).map(|m| (i as u64, m)))
        .fold(None, |best: Option<(u64, f32)>, (i, m)| match best {
            Some((_, b)) if b >= m => best,
            _ => Some((i, m)),
        })
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn onset_and_apex_out_of_order_or_range_are_refused() {
        let event = |onset, apex| ClipEvent { onset, apex };
        assert_eq!(event(Some(2), Some(6)).check(Some(10)), Ok(()));
        assert_eq!(event(None, None).check(None), Ok(()));
        let refused = |e: ClipEvent, frames| e.check(frames).expect_err("refused");
        assert_eq!(refused(event(Some(5), Some(5)), None), "the apex (frame 5) must come after the onset (frame 5)");
        assert_eq!(refused(event(None, None), Some(1)), "1 frame(s): an event needs at least two (onset and apex)");
        assert!(refused(event(Some(9), None), Some(10))
            .starts_with("the onset (frame 9) must be before the last frame (9;"));
        assert!(refused(event(None, Some(10)), Some(10)).starts_with("the apex (frame 10) is past the last frame (9;"));
    }

    #[test]
    fn a_clip_shorter_than_the_spotter_needs_is_short_and_a_longer_one_is_not() {
        let spotting = SpottingOptions::default();
        // 2 x 0.6 s reference gap + 1 s baseline + 0.06 s shortest event.
        assert!((shortest_spottable_s(&spotting) - 2.26).abs() < 1e-9);
        let info = |frames, fps| SourceInfo {
            frame_count: frames,
            nominal_fps: fps,
            kind: capture::SourceKind::VideoFile,
            ..SourceInfo::default()
        };
        assert!(is_short_clip(&info(Some(10), 30.0), &spotting));
        assert!(is_short_clip(&info(Some(67), 30.0), &spotting), "2.23 s");
        assert!(!is_short_clip(&info(Some(68), 30.0), &spotting), "2.27 s");
        assert!(!is_short_clip(&info(Some(360), 30.0), &spotting), "the demo clip");
        assert!(is_short_clip(&info(Some(100), DATASET_FPS), &spotting), "a CASME II clip");
        assert!(!is_short_clip(&info(None, 30.0), &spotting), "length unknown");
        assert!(!is_short_clip(&info(Some(0), 30.0), &spotting));
        assert!(!is_short_clip(&info(Some(10), 0.0), &spotting), "rate unknown");
        let notice = TakenAsClip { frames: 10, apex: 6, apex_by: ApexBy::PeakMotion }.notice();
        assert!(notice.starts_with("Short clip (10 frames): classified as one event, apex at frame 6 by peak motion"));
    }

    #[test]
    fn the_peak_is_the_earliest_frame_of_most_motion() {
        assert_eq!(peak_frame(&[None, Some(0.2), Some(0.9), Some(0.9), Some(0.4)]), Some(2));
        assert_eq!(peak_frame(&[None, Some(f32::NAN), Some(0.1)]), Some(2));
        assert_eq!(peak_frame(&[None, None]), None);
    }
}
