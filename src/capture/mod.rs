//! Frames in: video files (through OpenCV's FFmpeg backend) and folders of
//! numbered images. Every frame carries the timestamp its container gave it;
//! the frame rate is measured from those timestamps, never assumed.
mod avi_index;
pub mod camera;
pub mod feed;
mod image_folder;
mod recorder;
mod video_file;

use std::path::{Path, PathBuf};

use opencv::core::Mat;
use serde::{Deserialize, Serialize};

pub use camera::{list_cameras, CameraDevice, CameraRequest, CameraSource};
pub use feed::{FeedEvent, FrameProducer, LiveFeed, Paced};
pub use image_folder::{frame_files, is_image_file, ImageFolder};
pub use recorder::{RecordError, Recorder};
pub use video_file::{open_video_capture, OrientedCapture, VideoFile};

/// One decoded frame, BGR 8-bit.
pub struct Frame {
    /// 0-based position in the source.
    pub index: u64,
    /// Presentation time from the container (or index / fps for image folders).
    pub timestamp_s: f64,
    pub image: Mat,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    #[default]
    VideoFile,
    ImageFolder,
    Camera,
}

/// What a source says about itself before any frame is read.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SourceInfo {
    pub path: PathBuf,
    pub kind: SourceKind,
    pub width: i32,
    pub height: i32,
    /// The rate the container declares; 0 when it declares none.
    pub nominal_fps: f64,
    /// Frames the container claims to hold (containers can be wrong).
    pub frame_count: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: no such file or folder")]
    Missing { path: PathBuf },
    #[error("{path}: cannot be opened as a video ({reason})")]
    NotVideo { path: PathBuf, reason: String },
    #[error("{path}: {problem}")]
    BadFolder { path: PathBuf, problem: String },
    #[error("{path}: cannot list")]
    List {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: frame {index}: {problem}")]
    BadFrame { path: PathBuf, index: u64, problem: String },
    #[error("{path}: OpenCV")]
    OpenCv {
        path: PathBuf,
        #[source]
        source: opencv::Error,
    },
    #[error("camera {index}: {problem}")]
    Camera { index: u32, problem: String },
    #[error("camera {index}")]
    CameraBackend {
        index: u32,
        #[source]
        source: nokhwa::NokhwaError,
    },
    #[error("camera {index}: cannot decode a frame")]
    CameraFrame {
        index: u32,
        #[source]
        source: camera::DecodeError,
    },
    #[error("cannot start the capture thread")]
    Thread(#[source] std::io::Error),
}

/// A stream of frames.
pub trait FrameSource: Send {
    fn info(&self) -> &SourceInfo;
    /// The next frame, `None` at the end. A source that ends early (a
    /// truncated file) ends cleanly; `warnings` says so.
    fn next_frame(&mut self) -> Result<Option<Frame>, CaptureError>;
    /// Problems met while reading that did not stop it (e.g. undecodable
    /// frames skipped at the end of a truncated file).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Opens a video file, or a folder of numbered images played at `folder_fps`
/// (image folders carry no timestamps, so the rate must be given).
pub fn open(path: &Path, folder_fps: Option<f64>) -> Result<Box<dyn FrameSource>, CaptureError> {
    if !path.exists() {
        return Err(CaptureError::Missing { path: path.to_path_buf() });
    }
    if path.is_dir() {
        let fps = folder_fps.ok_or_else(|| CaptureError::BadFolder {
            path: path.to_path_buf(),
            problem: "an image folder has no timestamps: give its frame rate with --fps".into(),
        })?;
        Ok(Box::new(ImageFolder::open(path, fps)?))
    } else {
        Ok(Box::new(VideoFile::open(path)?))
    }
}

/// Frame rate measured from timestamps: frames per second over the span
/// between the first and last, or `None` with fewer than two frames.
pub fn measured_fps(first_timestamp_s: f64, last_timestamp_s: f64, frames: u64) -> Option<f64> {
    let span = last_timestamp_s - first_timestamp_s;
    (frames >= 2 && span > 0.0).then(|| (frames - 1) as f64 / span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measured_fps_uses_the_span_between_timestamps() {
        assert_eq!(measured_fps(0.0, 1.0, 31), Some(30.0));
        assert_eq!(measured_fps(0.5, 0.5, 1), None);
        assert_eq!(measured_fps(0.0, 0.0, 5), None);
    }

    #[test]
    fn missing_path_is_named() {
        let err = open(Path::new("/nonexistent/clip.mp4"), None).err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some("/nonexistent/clip.mp4: no such file or folder"));
    }
}
