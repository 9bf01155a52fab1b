//! The arguments of every command that runs the video pipeline (`analyze`,
//! `eval-spotting`, `live`, `bench pipeline`), turned into `AnalysisOptions`.
use std::path::PathBuf;

use anyhow::{bail, Result};
use glimpse::pipeline::{AnalysisOptions, DetectorKind};

use super::DEFAULT_WEIGHTS;

/// Options shared by every command that runs the analysis pipeline.
#[derive(clap::Args, Clone)]
pub struct PipelineArgs {
    /// EPIR weights (the config RON beside them).
    #[arg(long, default_value = DEFAULT_WEIGHTS)]
    pub weights: PathBuf,
    #[arg(long, value_enum, default_value_t = DetectorKind::Mtcnn)]
    pub detector: DetectorKind,
    /// MTCNN weights folder (default: the set-up cache).
    #[arg(long)]
    pub mtcnn: Option<PathBuf>,
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
}

impl PipelineArgs {
    pub fn options(&self) -> Result<AnalysisOptions> {
        if !(self.detect_every > 0.0 && self.detect_every.is_finite()) {
            bail!("--detect-every must be a positive number of seconds, got {}", self.detect_every);
        }
        if !(self.track_hz >= 0.0 && self.track_hz.is_finite()) {
            bail!("--track-hz must be 0 or positive, got {}", self.track_hz);
        }
        let mut options = AnalysisOptions {
            detector: self.detector,
            detect_every_s: self.detect_every,
            track_hz: self.track_hz,
            classify_flow_side: self.classify_flow_side,
            weights: self.weights.clone(),
            mtcnn_dir: self.mtcnn.clone(),
            folder_fps: self.fps,
            ..AnalysisOptions::default()
        };
        if let Some(sensitivity) = self.sensitivity {
            if !(0.0..=1.0).contains(&sensitivity) {
                bail!("--sensitivity must be within 0..1, got {sensitivity}");
            }
            options.spotting = options.spotting.with_sensitivity(sensitivity);
        }
        Ok(options)
    }
}

#[derive(clap::Args)]
pub struct AnalyzeArgs {
    /// Video files, folders of videos (each video in it), or folders of numbered frames.
    #[arg(required_unless_present = "list")]
    pub inputs: Vec<PathBuf>,
    /// A file listing inputs, one per line (blank lines and # comments skipped).
    #[arg(long)]
    pub list: Option<PathBuf>,
    /// Where the session and exports go (default: beside each input).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Analyse inputs again even when all their outputs exist (default: skip them, so a
    /// stopped batch resumes where it was).
    #[arg(long)]
    pub force: bool,
    /// Take only share INDEX of COUNT of the inputs (every COUNT-th, from INDEX; 0-based),
    /// e.g. `--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`.
    #[arg(long, value_name = "INDEX/COUNT")]
    pub shard: Option<String>,
    /// Also write the batch summary as JSON here.
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Sample this process's memory (RSS) every few seconds into this CSV.
    #[arg(long)]
    pub memory_log: Option<PathBuf>,
    /// Seconds between memory samples.
    #[arg(long, default_value_t = 10.0)]
    pub memory_every: f64,
    /// Exports: csv, intervals, json, ron, eaf, video, or all.
    #[arg(long, default_value = "ron,csv,intervals,eaf")]
    pub export: String,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

#[derive(clap::Args)]
pub struct EvalSpottingArgs {
    /// Clips with `<clip>.truth.json` beside them.
    #[arg(required = true)]
    pub clips: Vec<PathBuf>,
    /// Also write the scores as JSON here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub pipeline: PipelineArgs,
}

