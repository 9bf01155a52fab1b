//! The arguments shared by every command that runs the video pipeline
//! (`analyze`, `eval-spotting`, `live`, `bench pipeline`), turned into
//! `AnalysisOptions`.
use std::path::PathBuf;

use anyhow::{bail, Result};
use glimpse::pipeline::{AnalysisOptions, Classifier, DetectorKind, LandmarkKind};

/// Options shared by every command that runs the analysis pipeline.
#[derive(clap::Args, Clone)]
pub struct PipelineArgs {
    /// EPIR weights (the config RON beside them; default: the installed ones).
    #[arg(long)]
    pub weights: Option<PathBuf>,
    /// What classifies each spotted event: EPIR (onset→apex flow), MOL-lite
    /// (eight frames onset→offset; also predicts flow and landmarks; its
    /// classifier is weak), or both (the mean of their probabilities).
    #[arg(long, value_enum, default_value_t = Classifier::Epir)]
    pub classifier: Classifier,
    /// MOL-lite weights (the config RON beside them; default: the installed ones).
    #[arg(long)]
    pub mol_weights: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = DetectorKind::Mtcnn)]
    pub detector: DetectorKind,
    /// MTCNN weights folder (default: $GLIMPSE_MTCNN, else the installed one).
    #[arg(long)]
    pub mtcnn: Option<PathBuf>,
    /// Landmarks: the face mesh's 68 points (default) or the detector's five.
    #[arg(long, value_enum, default_value_t = LandmarkKind::Mesh)]
    pub landmarks: LandmarkKind,
    /// Converted Face Mesh folder (default: $GLIMPSE_FACE_MESH, else the installed one).
    #[arg(long)]
    pub mesh: Option<PathBuf>,
    /// Frame rate of image-folder inputs (they carry no timestamps).
    #[arg(long)]
    pub fps: Option<f64>,
    /// Spotting sensitivity, 0 (only strong events) to 1 (everything); 0.5 is the default threshold.
    #[arg(long)]
    pub sensitivity: Option<f32>,
    /// Run the face detector this often, seconds (tracks hold in between).
    #[arg(long, default_value_t = 0.4)]
    pub detect_every: f64,
    /// Per-frame class probabilities this many times a second (0: every frame).
    #[arg(long, default_value_t = 10.0)]
    pub track_hz: f64,
    /// Side at which classification flow is computed before averaging to 28×28.
    #[arg(long, default_value_t = 112)]
    pub classify_flow_side: i32,
    /// Classify each event from its onset and this many frames either side
    /// of it, averaging the probabilities (0: the onset alone; live
    /// sessions always use 0).
    #[arg(long, default_value_t = 1)]
    pub onset_jitter: u32,
    /// Spotting flow between means of this many consecutive aligned crops
    /// (odd, 1..=9; 1: single frames). 5 steadies small, re-encoded faces
    /// (H.264, MJPEG) at the price of more false events from head motion.
    #[arg(long, default_value_t = 1)]
    pub spotting_frame_mean: usize,
    /// Spotting baseline of a recorded file: centred on each moment (2 s
    /// either side; events are decided 2 s later) or trailing (the last
    /// 4 s, as live sessions always use).
    #[arg(long, value_enum, default_value_t = Baseline::Centred)]
    pub baseline: Baseline,
}

/// Where the spotting baseline lies around the moment it judges.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Baseline {
    Centred,
    Trailing,
}

impl PipelineArgs {
    /// The options, with every data file they need found (a missing one
    /// fails here, naming where it was looked for, before any video is read).
    pub fn options(&self) -> Result<AnalysisOptions> {
        if !(self.detect_every > 0.0 && self.detect_every.is_finite()) {
            bail!("--detect-every must be a positive number of seconds, got {}", self.detect_every);
        }
        if !(self.track_hz >= 0.0 && self.track_hz.is_finite()) {
            bail!("--track-hz must be 0 or positive, got {}", self.track_hz);
        }
        if self.spotting_frame_mean.is_multiple_of(2) || !(1..=9).contains(&self.spotting_frame_mean) {
            bail!("--spotting-frame-mean must be odd and within 1..=9, got {}", self.spotting_frame_mean);
        }
        let mut options = AnalysisOptions {
            spotting_frame_mean: self.spotting_frame_mean,
            detector: self.detector,
            detect_every_s: self.detect_every,
            track_hz: self.track_hz,
            classify_flow_side: self.classify_flow_side,
            classify_onset_jitter: self.onset_jitter,
            weights: self.weights.clone(),
            classifier: self.classifier,
            mol_weights: self.mol_weights.clone(),
            mtcnn_dir: self.mtcnn.clone(),
            landmarks: self.landmarks,
            mesh_dir: self.mesh.clone(),
            folder_fps: self.fps,
            ..AnalysisOptions::default()
        };
        if let Some(sensitivity) = self.sensitivity {
            if !(0.0..=1.0).contains(&sensitivity) {
                bail!("--sensitivity must be within 0..1, got {sensitivity}");
            }
            options.spotting = options.spotting.with_sensitivity(sensitivity);
        }
        if self.baseline == Baseline::Trailing {
            options.spotting = options.spotting.trailing();
        }
        Ok(options.located()?)
    }
}
