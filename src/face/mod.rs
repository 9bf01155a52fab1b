//! Faces: detection (MTCNN in tch, Haar cascade as the fast fallback), track
//! IDs that stay stable across frames, and alignment to a canonical crop.
use std::path::PathBuf;

use opencv::core::Mat;
use serde::{Deserialize, Serialize};

pub mod align;
pub mod haar;
pub mod identity;
pub mod mesh;
pub mod mtcnn;
mod mtcnn_nets;
pub mod tracker;

pub use align::{canonical_landmarks, Similarity, CROP_SIDE};
pub use haar::HaarDetector;
pub use identity::{FaceDescriptor, IdentityThresholds};
pub use mesh::{five_from_ibug68, FaceMesh, MeshLandmarks, MeshRoi};
pub use mtcnn::{Mtcnn, MtcnnOptions};
pub use tracker::{FaceTracker, TrackedFace, TrackerOptions};

/// Axis-aligned box in image pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FaceBox {
    pub x: f32,
    pub y: f32,
    pub width: f32,
    pub height: f32,
}

/// Five points, in this order: left eye, right eye, nose tip, left mouth
/// corner, right mouth corner ("left" = smaller x in the image, as MTCNN
/// orders them).
pub type Landmarks = [[f32; 2]; 5];

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceDetection {
    pub bbox: FaceBox,
    /// Detector confidence in 0..1.
    pub confidence: f32,
    pub landmarks: Landmarks,
    /// True when the landmarks are guessed from the box (Haar fallback).
    pub landmarks_estimated: bool,
    /// The 68 iBUG points from the face mesh, when it ran on this face and
    /// saw one (`landmarks` are then derived from them, see
    /// [`mesh::five_from_ibug68`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landmarks68: Option<Vec<[f32; 2]>>,
}

#[derive(Debug, thiserror::Error)]
pub enum FaceError {
    #[error("MTCNN weights {path}: {problem}")]
    Weights { path: PathBuf, problem: String },
    #[error("MTCNN weights {path}: cannot read")]
    WeightsRead {
        path: PathBuf,
        #[source]
        source: tch::TchError,
    },
    #[error("MTCNN weights {path}: cannot load tensor {name}")]
    WeightsTensor {
        path: PathBuf,
        name: String,
        #[source]
        source: tch::TchError,
    },
    #[error("face mesh {path}: {problem}")]
    Mesh { path: PathBuf, problem: String },
    #[error("face mesh {path}: cannot read")]
    MeshRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("face mesh {path}: cannot load the weights")]
    MeshWeights {
        path: PathBuf,
        #[source]
        source: tch::TchError,
    },
    #[error("face mesh {path}: not a graph description")]
    MeshGraph {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("face mesh: {0}")]
    MeshInput(String),
    #[error("Haar cascade {path}: {problem}")]
    Cascade { path: PathBuf, problem: String },
    #[error("Haar cascade {path}: OpenCV cannot load it")]
    CascadeLoad {
        path: PathBuf,
        #[source]
        source: opencv::Error,
    },
    #[error("face detection: {0}")]
    Detect(String),
    #[error("libtorch")]
    Torch(#[from] tch::TchError),
    #[error("OpenCV")]
    OpenCv(#[from] opencv::Error),
}

/// Finds faces in a BGR 8-bit image.
pub trait FaceDetector: Send {
    fn detect(&mut self, bgr: &Mat) -> Result<Vec<FaceDetection>, FaceError>;
    fn name(&self) -> &'static str;
}
