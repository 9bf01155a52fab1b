//! The detection stage: runs the face detector every `detect_every_s` of
//! media time. Kept apart from the analyzer so the offline runner can run it
//! on the decode thread, in parallel with the flow and spotting of earlier
//! frames.
use super::{AnalysisOptions, DetectorKind, PipelineError};
use crate::capture::Frame;
use crate::face::{FaceDetection, FaceDetector, HaarDetector, Mtcnn, MtcnnOptions};

pub struct FaceFinder {
    detector: Box<dyn FaceDetector>,
    detect_every_s: f64,
    last_detection_s: Option<f64>,
}

impl FaceFinder {
    pub fn new(options: &AnalysisOptions, device: tch::Device) -> Result<Self, PipelineError> {
        let detector: Box<dyn FaceDetector> = match options.detector {
            DetectorKind::Mtcnn => {
                let dir = options.mtcnn_dir.clone().unwrap_or_else(Mtcnn::default_dir);
                let mtcnn_options = MtcnnOptions { min_face_px: options.min_face_px, ..MtcnnOptions::default() };
                Box::new(Mtcnn::load(&dir, mtcnn_options, device)?)
            }
            DetectorKind::Haar => Box::new(HaarDetector::load(&HaarDetector::default_path())?),
        };
        Ok(Self { detector, detect_every_s: options.detect_every_s, last_detection_s: None })
    }

    /// Detections when the detector is due on this frame, `None` otherwise,
    /// with the time it took (ms).
    pub fn find(&mut self, frame: &Frame) -> Result<(Option<Vec<FaceDetection>>, f32), PipelineError> {
        let t = frame.timestamp_s;
        if self.last_detection_s.is_some_and(|last| t - last < self.detect_every_s - 1e-6) {
            return Ok((None, 0.0));
        }
        self.last_detection_s = Some(t);
        let started = std::time::Instant::now();
        let detections = self.detector.detect(&frame.image)?;
        Ok((Some(detections), started.elapsed().as_secs_f32() * 1e3))
    }
}
