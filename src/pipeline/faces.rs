//! The detection stage: runs the face detector every `detect_every_s` of
//! media time, then the face mesh on each face it found. Kept apart from
//! the analyzer so the offline runner can run it on the decode thread, in
//! parallel with the flow and spotting of earlier frames.
use std::time::Instant;

use super::{AnalysisOptions, DetectorKind, LandmarkKind, PipelineError};
use crate::capture::Frame;
use crate::face::{
    five_from_ibug68, FaceDetection, FaceDetector, FaceMesh, HaarDetector, MeshRoi, Mtcnn, MtcnnOptions,
};

pub struct FaceFinder {
    detector: Box<dyn FaceDetector>,
    mesh: Option<FaceMesh>,
    detect_every_s: f64,
    last_detection_s: Option<f64>,
}

/// What the detection stage found on one frame.
#[derive(Clone, Debug, Default)]
pub struct Found {
    /// `None` when the detector was not due on this frame.
    pub detections: Option<Vec<FaceDetection>>,
    pub detect_ms: f32,
    /// Time the face mesh took on this frame's faces.
    pub mesh_ms: f32,
}

impl FaceFinder {
    pub fn new(options: &AnalysisOptions, device: tch::Device) -> Result<Self, PipelineError> {
        let detector: Box<dyn FaceDetector> = match options.detector {
            DetectorKind::Mtcnn => {
                let dir = options.mtcnn_path()?;
                let mtcnn_options = MtcnnOptions { min_face_px: options.min_face_px, ..MtcnnOptions::default() };
                Box::new(Mtcnn::load(&dir, mtcnn_options, device)?)
            }
            DetectorKind::Haar => Box::new(HaarDetector::load(&HaarDetector::default_path())?),
        };
        let mesh = match options.landmarks {
            LandmarkKind::Mesh => Some(FaceMesh::load(&options.mesh_path()?, device)?),
            LandmarkKind::Detector => None,
        };
        Ok(Self { detector, mesh, detect_every_s: options.detect_every_s, last_detection_s: None })
    }

    /// The faces on this frame whether the detector is due or not (a short
    /// clip looks on every frame until it has found the face).
    pub fn find_now(&mut self, frame: &Frame) -> Result<Found, PipelineError> {
        self.last_detection_s = None;
        self.find(frame)
    }

    /// The faces when the detector is due on this frame, with the time the
    /// detector and the mesh took.
    pub fn find(&mut self, frame: &Frame) -> Result<Found, PipelineError> {
        let t = frame.timestamp_s;
        if self.last_detection_s.is_some_and(|last| t - last < self.detect_every_s - 1e-6) {
            return Ok(Found::default());
        }
        self.last_detection_s = Some(t);
        let started = Instant::now();
        let mut detections = self.detector.detect(&frame.image)?;
        let detect_ms = started.elapsed().as_secs_f32() * 1e3;
        let started = Instant::now();
        if let Some(mesh) = &self.mesh {
            for detection in &mut detections {
                add_mesh(mesh, &frame.image, detection)?;
            }
        }
        let mesh_ms = if self.mesh.is_some() { started.elapsed().as_secs_f32() * 1e3 } else { 0.0 };
        Ok(Found { detections: Some(detections), detect_ms, mesh_ms })
    }
}

/// Runs the mesh on a detected face, in MediaPipe's region around the box
/// turned by the detector's eye line; when the mesh sees a face there, its
/// 68 points are kept and the five points are re-derived from them (the
/// mesh places eyes and mouth corners more precisely than MTCNN's O-Net,
/// and Haar only guesses them). When it does not (a face cut by the frame
/// edge, a false box), the detector's points stay.
pub fn add_mesh(
    mesh: &FaceMesh,
    image: &opencv::core::Mat,
    detection: &mut FaceDetection,
) -> Result<(), PipelineError> {
    let landmarks = mesh.landmarks_in(image, &MeshRoi::from_detection(detection))?;
    if !landmarks.is_face() {
        return Ok(());
    }
    let points = landmarks.ibug68().to_vec();
    if let Some(five) = five_from_ibug68(&points) {
        detection.landmarks = five;
        detection.landmarks_estimated = false;
        detection.landmarks68 = Some(points);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use opencv::core::{Scalar, CV_8UC3};
    use opencv::prelude::*;

    use super::*;
    use crate::face::mtcnn::test_support::{astronaut, mtcnn};
    use crate::face::FaceBox;

    fn mesh() -> FaceMesh {
        let dir = crate::resources::locate(crate::resources::Resource::FaceMeshModel).expect("face mesh (run set-up)");
        FaceMesh::load(&dir, tch::Device::Cpu).expect("face mesh")
    }

    #[test]
    fn the_mesh_gives_68_points_on_the_face_and_the_five_from_them() {
        let image = astronaut();
        let detected = mtcnn(MtcnnOptions::default()).detect(&image).expect("detect").remove(0);
        let mut face = detected.clone();
        add_mesh(&mesh(), &image, &mut face).expect("mesh");
        let points = face.landmarks68.clone().expect("the mesh sees the astronaut");
        assert_eq!(points.len(), 68);
        assert_eq!(Some(face.landmarks), five_from_ibug68(&points));
        // The re-derived five stay near MTCNN's (measured 2-9 % of the
        // inter-ocular distance; see the mesh tests).
        let iod = (detected.landmarks[1][0] - detected.landmarks[0][0]).abs();
        for (a, b) in face.landmarks.iter().zip(&detected.landmarks) {
            assert!((a[0] - b[0]).hypot(a[1] - b[1]) < 0.15 * iod, "{a:?} vs MTCNN {b:?}");
        }

        // The points sit inside the detector's box, eyes above the nose
        // tip above the mouth above the chin.
        let b = &face.bbox;
        let margin = 0.15 * b.width;
        assert!(points.iter().all(|p| p[0] > b.x - margin
            && p[0] < b.x + b.width + margin
            && p[1] > b.y - margin
            && p[1] < b.y + b.height + margin));
        assert!(face.landmarks[0][1] < points[30][1] && points[30][1] < points[62][1] && points[62][1] < points[8][1]);
    }

    #[test]
    fn a_box_on_a_blank_wall_keeps_the_detector_points() {
        let wall = Mat::new_rows_cols_with_default(480, 640, CV_8UC3, Scalar::all(128.0)).expect("wall");
        let landmarks = [[280.0, 200.0], [360.0, 200.0], [320.0, 250.0], [290.0, 290.0], [350.0, 290.0]];
        let mut face = FaceDetection {
            bbox: FaceBox { x: 240.0, y: 140.0, width: 160.0, height: 190.0 },
            confidence: 0.9,
            landmarks,
            landmarks_estimated: true,
            landmarks68: None,
        };
        add_mesh(&mesh(), &wall, &mut face).expect("mesh");
        assert_eq!((face.landmarks, face.landmarks68, face.landmarks_estimated), (landmarks, None, true));
    }
}
