//! The session model. Every struct is `#[serde(default)]` so that sessions
//! written by older versions load with new fields defaulted.
use serde::{Deserialize, Serialize};

use crate::capture::SourceKind;
use crate::face::{FaceBox, Landmarks, Similarity};
use crate::motion::RegionDisplacement;

pub const SESSION_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Session {
    pub format_version: u32,
    /// The Glimpse version that wrote it.
    pub glimpse_version: String,
    pub created_unix_s: u64,
    pub source: SourceMeta,
    /// Class names in model order (index = class id).
    pub class_names: Vec<String>,
    /// How the analysis was run (detector, flow, spotting thresholds…), as
    /// `key: value` pairs for the record.
    pub settings: Vec<(String, String)>,
    pub faces: Vec<FaceSummary>,
    pub frames: Vec<FrameRecord>,
    pub events: Vec<Event>,
    /// False while an analysis or live session is still adding to it.
    pub complete: bool,
    /// Problems that did not stop the analysis (a truncated file, …).
    pub warnings: Vec<String>,
    /// Written by `deidentify::deidentified`: no source path, dates or notes.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deidentified: bool,
    /// Reviewed events that a later analysis of the source (other settings)
    /// no longer spotted: their verdicts are kept here, not dropped (see
    /// `carry::carry_reviews`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reviewed_not_spotted: Vec<Event>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceMeta {
    pub path: String,
    pub kind: SourceKind,
    pub width: i32,
    pub height: i32,
    /// The rate the container declares (0 if none).
    pub nominal_fps: f64,
    /// The rate measured from the frames' timestamps.
    pub measured_fps: f64,
    pub frame_count: u64,
    pub duration_s: f64,
}

/// One tracked face over the whole session.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaceSummary {
    pub id: u32,
    pub first_frame: u64,
    pub last_frame: u64,
    /// Frames in which the face was present (detected or held).
    pub frames_present: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrameRecord {
    pub index: u64,
    pub timestamp_s: f64,
    pub faces: Vec<FaceFrame>,
}

/// One face in one frame.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaceFrame {
    pub face_id: u32,
    pub bbox: FaceBox,
    pub landmarks: Landmarks,
    /// The 68 iBUG points (OpenFace's `x_0..x_67`), on frames where the face
    /// mesh ran; [`Session::landmarks68_at`] finds the latest for a frame.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub landmarks68: Option<Vec<[f32; 2]>>,
    /// Detector confidence of the latest detection of this face.
    pub confidence: f32,
    /// True when the face was detected in this very frame (false: held from
    /// an earlier detection between detector runs).
    pub detected: bool,
    /// Facial-motion score of the spotter (head motion removed), when known.
    pub motion: Option<f32>,
    /// The motion rose above the face's resting baseline (see
    /// `Spotter::is_moving`); `None` while the baseline builds or in
    /// sessions from before it was recorded. [`Session::moving_track`]
    /// adds the frames inside the face's events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub moving: Option<bool>,
    /// Per-frame class probabilities (flow from a reference ~0.5 s back).
    pub probabilities: Option<Vec<f32>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Found by the model, not yet reviewed.
    #[default]
    Candidate,
    Confirmed,
    Rejected,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Review {
    pub status: ReviewStatus,
    /// The reviewer's class, when it differs from the model's.
    pub relabelled_class: Option<usize>,
    pub note: String,
}

/// One spotted micro-expression.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    pub id: u32,
    pub face_id: u32,
    pub onset_frame: u64,
    pub apex_frame: u64,
    pub offset_frame: u64,
    pub onset_s: f64,
    pub apex_s: f64,
    pub offset_s: f64,
    /// The model's class (index into `Session::class_names`).
    pub class: usize,
    pub probabilities: Vec<f32>,
    /// Spotting strength: peak motion over the rolling baseline, in MADs.
    pub score: f32,
    /// EPIR token attention over the input patch grid, row-major, sums to 1.
    pub attention: Vec<f32>,
    pub attention_rows: usize,
    pub attention_cols: usize,
    /// Image → the crop the attention grid covers, scaled so the crop is the
    /// unit square (heatmaps are drawn through its inverse). `None` in
    /// sessions from before it was recorded: the face box stands in.
    pub attention_crop: Option<Similarity>,
    pub review: Review,
    /// Onset→apex displacement of the FACS regions (see
    /// `motion::face_regions`); empty when it could not be measured, with
    /// the reason in `region_motion_note`, and in sessions from before it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub region_motion: Vec<RegionDisplacement>,
    /// Candidate action units from `region_motion`, strongest first: hints
    /// to look at ("inner brows up: AU1?"), not detections.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub au_hints: Vec<String>,
    /// Why `region_motion` is empty ("no 68-point landmarks …").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region_motion_note: Option<String>,
    /// EPIR's own probabilities when another model decided `probabilities`
    /// (`--classifier both`); empty otherwise (then `probabilities` are
    /// EPIR's, or MOL's alone with `--classifier mol`): see
    /// [`Event::epir_probabilities`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub epir_probabilities: Vec<f32>,
    /// MOL-lite's class probabilities (`--classifier mol` or `both`);
    /// empty when MOL did not run, and in sessions from before it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mol_probabilities: Vec<f32>,
    /// MOL-lite's 68 predicted iBUG landmarks at the apex frame, in image
    /// pixels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mol_landmarks: Vec<[f32; 2]>,
    /// MOL-lite's predicted onset→apex flow as arrows on an 8 x 8 grid
    /// over the face crop: `[x, y, dx, dy]` in image pixels (the sum of its
    /// per-pair flows up to the apex, each grid cell's mean).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mol_flow: Vec<[f32; 4]>,
}

impl Event {
    /// An unreviewed event of `face_id` at `[onset, apex, offset]` frames
    /// of a `fps` video, with its times (for tests).
    #[cfg(test)]
    pub(crate) fn at_frames(id: u32, face_id: u32, [onset, apex, offset]: [u64; 3], fps: f64) -> Self {
        Self {
            id,
            face_id,
            onset_frame: onset,
            apex_frame: apex,
            offset_frame: offset,
            onset_s: onset as f64 / fps,
            apex_s: apex as f64 / fps,
            offset_s: offset as f64 / fps,
            ..Self::default()
        }
    }

    /// EPIR's probabilities, or empty where EPIR did not classify the
    /// event (`--classifier mol`).
    pub fn epir_probabilities(&self) -> &[f32] {
        if !self.epir_probabilities.is_empty() {
            &self.epir_probabilities
        } else if self.mol_probabilities.is_empty() {
            &self.probabilities
        } else {
            &[]
        }
    }

    /// The class a report should show: the reviewer's if relabelled.
    pub fn final_class(&self) -> usize {
        self.review.relabelled_class.unwrap_or(self.class)
    }
}
