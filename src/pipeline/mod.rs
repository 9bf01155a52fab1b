//! The analysis pipeline: frames → faces → aligned crops → flow → spotting →
//! EPIR per event → session. `Analyzer` takes one frame at a time;
//! `AnalysisRun` is the one loop that drives it, over a file (`file_run`)
//! or a live feed (`live_run`), for every command and the app.
mod analyzer;
pub mod batch;
pub mod clip;
pub mod clip_batch;
mod clip_run;
pub mod cuts;
mod faces;
mod file_run;
pub mod mol_event;
pub mod live_run;
pub mod live_save;
mod options;
pub mod run;
mod timings;

pub use analyzer::Analyzer;
pub use clip::{classify_clip, is_short_clip, ApexBy, ClassifiedClip, ClipEvent, TakenAsClip};
pub use faces::{FaceFinder, Found};
pub use options::{sensitivity_of, AnalysisOptions, Classifier, DetectorKind, LandmarkKind};
pub use run::{analyze, fill_in_source, Analysis, AnalysisRun, Finished, Progress, RunCommand, RunMessage, RunSource};
pub use timings::{Stage, StageTimings};

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Capture(#[from] crate::capture::CaptureError),
    #[error(transparent)]
    Face(#[from] crate::face::FaceError),
    #[error(transparent)]
    Motion(#[from] crate::motion::MotionError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Mol(#[from] crate::model::mol::MolError),
    #[error(transparent)]
    Resource(#[from] crate::resources::NotFound),
    #[error("{path}: OpenCV")]
    OpenCv {
        path: PathBuf,
        #[source]
        source: opencv::Error,
    },
    #[error("{path}: {problem}")]
    Input { path: PathBuf, problem: String },
    #[error("analysis cancelled")]
    Cancelled,
}
