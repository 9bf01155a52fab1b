//! Motion: dense optical flow between aligned face crops (DIS for spotting,
//! TV-L1 for classification, as the training data), optical strain, facial
//! regions with head-motion compensation, and the 28×28 encoding EPIR was
//! trained on.
mod encode;
pub mod face_regions;
mod flow;
mod regions;
mod strain;

pub use encode::{epir_input, EPIR_SIDE};
pub use face_regions::{au_hints, measure_regions, FaceRegion, RegionDisplacement, RegionMotionError};
pub use flow::{DisFlow, FlowField, TvL1Flow};
pub use regions::{FaceRegions, RegionMotion};
pub use strain::flow_to_strain;

#[derive(Debug, thiserror::Error)]
pub enum MotionError {
    #[error("optical flow: OpenCV")]
    OpenCv(#[from] opencv::Error),
    #[error("optical flow: frames differ in size ({a:?} vs {b:?})")]
    SizeMismatch { a: (i32, i32), b: (i32, i32) },
    #[error("optical flow: expected 8-bit grey frames, found OpenCV type {0}")]
    NotGrey(i32),
}
