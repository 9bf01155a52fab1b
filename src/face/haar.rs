//! OpenCV's frontal-face Haar cascade: fast, no landmarks (they are placed
//! at fixed proportions of the box), used when MTCNN is too slow or absent.
use std::path::{Path, PathBuf};

use opencv::core::{Mat, MatTraitConst, Rect, Size, Vector};
use opencv::imgproc;
use opencv::objdetect::{CascadeClassifier, CascadeClassifierTrait, CascadeClassifierTraitConst};

use super::{FaceBox, FaceDetection, FaceDetector, FaceError, Landmarks};

/// Landmarks as fractions of the Haar box (x from its left, y from its
/// top), in [`Landmarks`] order. Derived from MTCNN's landmarks on the
/// astronaut photo expressed in the Haar box found there (177,67 93x93 px),
/// then made left-right symmetric about the box centre and level. Measured:
/// eyes (0.295, 0.375) (0.754, 0.399), nose (0.523, 0.675), mouth corners
/// (0.263, 0.785) (0.740, 0.809). The astronaut smiles broadly, so the mouth
/// corners are wider and higher than on a neutral face.
const BOX_LANDMARKS: Landmarks = [[0.271, 0.387], [0.729, 0.387], [0.500, 0.675], [0.261, 0.797], [0.739, 0.797]];

/// Haar gives no probability. The level weight of a kept detection (the
/// last stage's sum minus its threshold, as `detectMultiScale3` reports
/// it) is squashed with `w / (w + LEVEL_WEIGHT_HALF)`: a weight of
/// `LEVEL_WEIGHT_HALF` reads as 0.5. Measured on the astronaut: weight
/// about 7.4 for the true face (confidence 0.88).
const LEVEL_WEIGHT_HALF: f64 = 1.0;

pub struct HaarDetector {
    // CascadeClassifier is `Send` in the opencv crate (each instance owns
    // its own cv::CascadeClassifier); it is not `Sync`, and `detect` takes
    // `&mut self`, so one thread uses it at a time.
    cascade: CascadeClassifier,
    path: PathBuf,
    /// Pyramid step of detectMultiScale.
    pub scale_factor: f64,
    /// Neighbouring hits needed to keep a detection.
    pub min_neighbors: i32,
    /// Smallest face side in pixels.
    pub min_face_px: i32,
}

impl HaarDetector {
    /// Debian's `opencv-data` copy of the frontal-face cascade.
    pub fn default_path() -> PathBuf {
        PathBuf::from("/usr/share/opencv4/haarcascades/haarcascade_frontalface_default.xml")
    }

    pub fn load(path: &Path) -> Result<Self, FaceError> {
        let cascade_error = |problem: String| FaceError::Cascade { path: path.to_path_buf(), problem };
        if !path.is_file() {
            return Err(cascade_error("file not found (Debian package opencv-data installs it)".into()));
        }
        let name = path.to_str().ok_or_else(|| cascade_error("path is not valid UTF-8".into()))?;
        let load_error = |source| FaceError::CascadeLoad { path: path.to_path_buf(), source };
        let cascade = CascadeClassifier::new(name).map_err(load_error)?;
        if cascade.empty().map_err(load_error)? {
            return Err(cascade_error("not a cascade OpenCV can read".into()));
        }
        Ok(Self { cascade, path: path.to_path_buf(), scale_factor: 1.1, min_neighbors: 5, min_face_px: 40 })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Landmarks placed in `b` at [`BOX_LANDMARKS`].
pub fn landmarks_from_box(b: &FaceBox) -> Landmarks {
    BOX_LANDMARKS.map(|[fx, fy]| [b.x + fx * b.width, b.y + fy * b.height])
}

fn confidence(level_weight: f64) -> f32 {
    let w = level_weight.max(0.0);
    (w / (w + LEVEL_WEIGHT_HALF)) as f32
}

impl FaceDetector for HaarDetector {
    fn detect(&mut self, bgr: &Mat) -> Result<Vec<FaceDetection>, FaceError> {
        if bgr.empty() {
            return Ok(Vec::new());
        }
        let mut grey = Mat::default();
        match bgr.typ() {
            opencv::core::CV_8UC3 => imgproc::cvt_color(bgr, &mut grey, imgproc::COLOR_BGR2GRAY, 0)?,
            opencv::core::CV_8UC4 => imgproc::cvt_color(bgr, &mut grey, imgproc::COLOR_BGRA2GRAY, 0)?,
            opencv::core::CV_8UC1 => grey = bgr.try_clone()?,
            other => {
                return Err(FaceError::Detect(format!(
                    "expected an 8-bit BGR, BGRA or grey image, got OpenCV type {other}"
                )))
            }
        }
        let mut equalized = Mat::default();
        imgproc::equalize_hist(&grey, &mut equalized)?;
        let mut rects = Vector::<Rect>::new();
        let mut levels = Vector::<i32>::new();
        let mut weights = Vector::<f64>::new();
        self.cascade.detect_multi_scale3(
            &equalized,
            &mut rects,
            &mut levels,
            &mut weights,
            self.scale_factor,
            self.min_neighbors,
            0,
            Size::new(self.min_face_px, self.min_face_px),
            Size::default(),
            true,
        )?;
        let mut out: Vec<FaceDetection> = rects
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let bbox = FaceBox { x: r.x as f32, y: r.y as f32, width: r.width as f32, height: r.height as f32 };
                FaceDetection {
                    bbox,
                    confidence: confidence(weights.get(i).unwrap_or(0.0)),
                    landmarks: landmarks_from_box(&bbox),
                    landmarks_estimated: true,
                    landmarks68: None,
                }
            })
            .collect();
        out.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        Ok(out)
    }

    fn name(&self) -> &'static str {
        "haar"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::mtcnn::test_support::{astronaut, mtcnn};
    use crate::face::MtcnnOptions;

    fn iou(a: &FaceBox, b: &FaceBox) -> f32 {
        let iw = ((a.x + a.width).min(b.x + b.width) - a.x.max(b.x)).max(0.0);
        let ih = ((a.y + a.height).min(b.y + b.height) - a.y.max(b.y)).max(0.0);
        let inter = iw * ih;
        inter / (a.width * a.height + b.width * b.height - inter)
    }

    fn haar() -> HaarDetector {
        let path = HaarDetector::default_path();
        HaarDetector::load(&path).unwrap_or_else(|e| panic!("{e} (apt-get install opencv-data)"))
    }

    #[test]
    fn finds_the_astronaut_where_mtcnn_does() {
        let image = astronaut();
        let faces = haar().detect(&image).expect("detect");
        let reference = mtcnn(MtcnnOptions::default()).detect(&image).expect("mtcnn").remove(0);
        assert_eq!(faces.len(), 1, "{faces:?}");
        let f = &faces[0];
        assert!(iou(&f.bbox, &reference.bbox) > 0.5, "haar {:?} vs mtcnn {:?}", f.bbox, reference.bbox);
        assert!(f.landmarks_estimated && f.confidence > 0.5 && f.confidence < 1.0, "{f:?}");
        // The estimated landmarks are near MTCNN's (within a tenth of the box).
        for (p, q) in f.landmarks.iter().zip(&reference.landmarks) {
            assert!((p[0] - q[0]).hypot(p[1] - q[1]) < 0.1 * f.bbox.width, "{p:?} vs {q:?}");
        }
    }

    #[test]
    fn finds_nothing_in_a_blank_image() {
        let blank = Mat::new_rows_cols_with_default(480, 640, opencv::core::CV_8UC3, opencv::core::Scalar::all(90.0))
            .expect("blank");
        assert!(haar().detect(&blank).expect("detect").is_empty());
    }

    #[test]
    fn missing_or_bad_cascade_names_the_file() {
        let missing = std::env::temp_dir().join("glimpse-no-such-cascade.xml");
        let message = HaarDetector::load(&missing).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("glimpse-no-such-cascade.xml") && message.contains("not found"), "{message}");
        let bad = std::env::temp_dir().join(format!("glimpse-bad-cascade-{}.xml", std::process::id()));
        std::fs::write(&bad, "<?xml version=\"1.0\"?>\n<opencv_storage></opencv_storage>\n").expect("write");
        let message = HaarDetector::load(&bad).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(&bad.display().to_string()), "{message}");
        std::fs::remove_file(&bad).expect("cleanup");
    }
}
