//! The analysis pipeline: frames → faces → aligned crops → flow → spotting →
//! EPIR per event → session. `Analyzer` takes one frame at a time (the live
//! app feeds it from the camera); `analyze` runs it over a file with decoding
//! on its own thread.
mod analyzer;
pub mod batch;
pub mod cuts;
mod faces;
pub mod live;
mod offline;
mod options;
mod timings;

pub use analyzer::Analyzer;
pub use faces::FaceFinder;
pub use offline::{analyze, fill_in_source, Analysis, Progress};
pub use options::{AnalysisOptions, DetectorKind};
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
