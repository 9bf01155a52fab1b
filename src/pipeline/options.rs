//! How an analysis is run. Every duration is in seconds.
use std::path::PathBuf;

use crate::resources::{self, NotFound, Resource};

use serde::{Deserialize, Serialize};

use crate::spotting::SpottingOptions;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DetectorKind {
    /// MTCNN (P/R/O-Net in libtorch): boxes and five landmarks.
    #[default]
    Mtcnn,
    /// OpenCV's Haar cascade: faster, landmarks estimated from the box.
    Haar,
}

/// Where a face's landmarks come from.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LandmarkKind {
    /// MediaPipe Face Mesh on each detected face: 468 points, of which the
    /// 68 iBUG ones are kept; alignment and the motion regions use them.
    #[default]
    Mesh,
    /// The detector's five points only (MTCNN's, or Haar's guess from the box).
    Detector,
}

/// Which model classifies each spotted event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Classifier {
    /// EPIR on the onset→apex TV-L1 flow (the shipped classifier).
    #[default]
    Epir,
    /// MOL-lite on eight aligned grey frames from onset to offset (its
    /// classifier is weak: see weights/mol-lite-megc2019.md).
    Mol,
    /// Both: the event's class from the mean of their probabilities.
    Both,
}

impl Classifier {
    /// MOL-lite runs on each event (its probabilities, flow and landmarks
    /// are stored whatever decides the class).
    pub fn runs_mol(self) -> bool {
        matches!(self, Self::Mol | Self::Both)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Epir => "epir",
            Self::Mol => "mol",
            Self::Both => "both",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AnalysisOptions {
    pub detector: DetectorKind,
    /// Run the detector this often; tracks hold their box in between.
    pub detect_every_s: f64,
    /// Smallest face the detector looks for, in source pixels.
    pub min_face_px: f32,
    /// The crop alignment is re-fitted at most this often, so the crop does
    /// not jitter with the landmarks.
    pub align_window_s: f64,
    /// Side of the aligned crop the spotting flow is computed on.
    pub spotting_side: i32,
    /// Spotting flow runs between means of this many consecutive aligned
    /// crops (odd; 1: single frames, the default), centred on the frame they
    /// stand for. Re-encoding puts frame-to-frame flicker on a small face
    /// that the flow reads as motion, and a skin movement lasts many frames,
    /// so a mean helps there: on the 20 % and 35 % faces of
    /// `tests/framing_spotting.rs` (2 seeds, 3 encodings, 48 events) 1 found
    /// 41 with 9 false events, 3 found 44 with 7, 5 found 45 with 4. But it
    /// also lowers the noise that head-motion residue is measured against:
    /// on `make eval-spotting` (60 events) 1 found 46 with 4 false, 3 found
    /// 45 with 6, 5 found 46 with 7 (2026-11-28, trailing baseline), so it
    /// is not the default.
    pub spotting_frame_mean: usize,
    /// Side of the aligned crop that classification flow starts from (then
    /// area-averaged to 28×28).
    pub classify_side: i32,
    /// Side at which the classification flow is computed, then averaged
    /// down to 28×28 (a divisor of `classify_side`, multiple of 28). On the
    /// synthetic clips 112 classified 22 of 27 spotted events right and 28
    /// (flow on the 28×28 resize) 12 of 27: sub-pixel motion is lost at 28.
    pub classify_flow_side: i32,
    /// An event is classified from its onset and this many frames either
    /// side of it, the probabilities averaged (0: the onset alone; live
    /// sessions use 0). The spotter's onset is where its signal crossed
    /// 15 % of the rise, which a frame of noise moves, and EPIR's class
    /// moved with it: a one-frame change of onset changed the class of 10
    /// of 43 eval-spotting events. With 1 (three onsets), right classes
    /// among the hits went from 35 to 37 of 47 on `make eval-spotting`, 103
    /// to 119 of 128 on the framing table and 3 to 4 of 4 on the demo clip
    /// (2026-12-07; with 2: 39, 120 and 4); each extra onset costs a TV-L1
    /// flow, so 2 ran the demo clip about 20 % slower end to end, 1 about 12 %.
    pub classify_onset_jitter: u32,
    pub spotting: SpottingOptions,
    /// Per-frame class probabilities this many times a second (0: every frame).
    pub track_hz: f64,
    /// Per-frame track inputs classified together in one model call:
    /// `None` picks 32 on a GPU, where one call costs about what 32 do,
    /// and 1 on the CPU, where batching gains nothing and would only delay
    /// the probabilities. Live sessions always use 1.
    pub track_batch: Option<usize>,
    /// EPIR weights (the config RON beside them); `None`: the shipped ones,
    /// found by `resources`.
    pub weights: Option<PathBuf>,
    /// What classifies each event. EPIR always runs for the per-frame
    /// class track.
    pub classifier: Classifier,
    /// MOL-lite weights (the config RON beside them); `None`: the shipped
    /// ones, found by `resources` (only looked for when MOL runs).
    pub mol_weights: Option<PathBuf>,
    /// MTCNN weights folder; `None`: the installed one, found by `resources`.
    pub mtcnn_dir: Option<PathBuf>,
    pub landmarks: LandmarkKind,
    /// Converted Face Mesh folder; `None`: the installed one, found by `resources`.
    pub mesh_dir: Option<PathBuf>,
    /// Frame rate of image folders (they carry no timestamps).
    pub folder_fps: Option<f64>,
}

impl Default for AnalysisOptions {
    fn default() -> Self {
        Self {
            detector: DetectorKind::Mtcnn,
            detect_every_s: 0.4,
            min_face_px: 40.0,
            align_window_s: 1.0,
            spotting_side: 128,
            spotting_frame_mean: 1,
            classify_side: 112,
            classify_flow_side: 112,
            classify_onset_jitter: 1,
            spotting: SpottingOptions::offline(),
            track_hz: 10.0,
            track_batch: None,
            weights: None,
            classifier: Classifier::Epir,
            mol_weights: None,
            mtcnn_dir: None,
            landmarks: LandmarkKind::Mesh,
            mesh_dir: None,
            folder_fps: None,
        }
    }
}

impl AnalysisOptions {
    /// The EPIR weights: the ones given, else the shipped ones.
    pub fn weights_path(&self) -> Result<PathBuf, NotFound> {
        given_or_located(&self.weights, Resource::EpirWeights)
    }

    /// The MOL-lite weights: the ones given, else the shipped ones.
    pub fn mol_weights_path(&self) -> Result<PathBuf, NotFound> {
        given_or_located(&self.mol_weights, Resource::MolWeights)
    }

    pub fn mtcnn_path(&self) -> Result<PathBuf, NotFound> {
        given_or_located(&self.mtcnn_dir, Resource::MtcnnModel)
    }

    pub fn mesh_path(&self) -> Result<PathBuf, NotFound> {
        given_or_located(&self.mesh_dir, Resource::FaceMeshModel)
    }

    /// These options with the data files this run needs found and named,
    /// so a missing one fails before any work and reports name the files used.
    pub fn located(self) -> Result<Self, NotFound> {
        let weights = Some(self.weights_path()?);
        let mol_weights = match self.classifier.runs_mol() {
            true => Some(self.mol_weights_path()?),
            false => self.mol_weights.clone(),
        };
        let mtcnn_dir = match self.detector {
            DetectorKind::Mtcnn => Some(self.mtcnn_path()?),
            DetectorKind::Haar => self.mtcnn_dir.clone(),
        };
        let mesh_dir = match self.landmarks {
            LandmarkKind::Mesh => Some(self.mesh_path()?),
            LandmarkKind::Detector => self.mesh_dir.clone(),
        };
        Ok(Self { weights, mol_weights, mtcnn_dir, mesh_dir, ..self })
    }

    /// The track batch for `device` (see `track_batch`).
    pub fn track_batch_for(&self, device: tch::Device) -> usize {
        self.track_batch.unwrap_or(if device.is_cuda() { 32 } else { 1 }).max(1)
    }

    /// The settings worth keeping with a session, as `key: value` pairs.
    pub fn describe(&self) -> Vec<(String, String)> {
        let s = &self.spotting;
        [
            ("detector", format!("{:?}", self.detector).to_lowercase()),
            ("detect_every_s", self.detect_every_s.to_string()),
            ("landmarks", format!("{:?}", self.landmarks).to_lowercase()),
            ("min_face_px", self.min_face_px.to_string()),
            ("align_window_s", self.align_window_s.to_string()),
            (
                "spotting_flow",
                match self.spotting_frame_mean {
                    0 | 1 => format!("DIS on a {0}x{0} aligned crop", self.spotting_side),
                    frames => format!("DIS on a {0}x{0} aligned crop, mean of {frames} frames", self.spotting_side),
                },
            ),
            (
                "classify_flow",
                format!(
                    "TV-L1 at {0}x{0} from a {1}x{1} aligned crop, averaged to 28x28",
                    self.classify_flow_side, self.classify_side
                ),
            ),
            ("classify_onset_jitter", self.classify_onset_jitter.to_string()),
            ("reference_gap_s", s.reference_gap_s.to_string()),
            ("baseline_s", s.baseline_s.to_string()),
            ("baseline_lookahead_s", s.lookahead_s().to_string()),
            // What the sensitivity slider set (`with_sensitivity`), for the record.
            ("sensitivity", format!("{:.2}", sensitivity_of(s.threshold_sigmas))),
            ("threshold_sigmas", s.threshold_sigmas.to_string()),
            ("min_motion_px", s.min_motion_px.to_string()),
            ("max_duration_s", s.max_duration_s.to_string()),
            ("max_onset_to_apex_s", s.max_onset_to_apex_s.to_string()),
            ("track_hz", self.track_hz.to_string()),
            ("track_batch", self.track_batch.map_or_else(|| "auto".to_string(), |b| b.to_string())),
            ("weights", self.weights.as_ref().map_or_else(|| "shipped".to_string(), |w| w.display().to_string())),
            ("classifier", self.classifier.name().to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        // MOL-lite's weights, where it classifies.
        .chain(
            self.mol_weights
                .as_ref()
                .filter(|_| self.classifier.runs_mol())
                .map(|path| ("mol_weights".to_string(), path.display().to_string())),
        )
        .collect()
    }
}

/// The sensitivity (0..1) a spotting threshold corresponds to: the inverse
/// of `SpottingOptions::with_sensitivity`.
pub fn sensitivity_of(threshold_sigmas: f32) -> f32 {
    (1.0 - threshold_sigmas / 12.0).clamp(0.0, 1.0)
}

fn given_or_located(given: &Option<PathBuf>, resource: Resource) -> Result<PathBuf, NotFound> {
    given.clone().map_or_else(|| resources::locate(resource), Ok)
}
