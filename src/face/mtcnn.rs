//! MTCNN (Zhang et al. 2016) as ported by facenet-pytorch 2.6.0, in tch.
//!
//! The three networks and the cascade follow `facenet_pytorch/models/mtcnn.py`
//! and `models/utils/detect_face.py` step by step: scale pyramid, PNet with
//! NMS 0.5 per scale and 0.7 across scales, box regression, squaring
//! (`rerec`), clamping (`pad`), RNet at 24 px with NMS 0.7, ONet at 48 px with
//! landmarks and a final NMS 0.7 using the "Min" overlap. Two deliberate
//! differences: images are resized with OpenCV's `INTER_AREA` instead of
//! torch's `interpolate(mode="area")` (equal for integer downscales, close
//! otherwise; OpenCV on u8 is several times faster), and a box whose crop is
//! empty is dropped together with its crop (facenet keeps the box, which
//! misaligns boxes and crops in that rare case). By default, when a frame
//! gives no face or one at its edge, the cascade runs again with a grey border round the frame
//! for its large-face scales and its RNet / ONet crops
//! (`MtcnnOptions::pad_fraction`), so faces that fill, overflow or are cut
//! by the frame are found (`tests/framing.rs`). On astronaut.png (min face
//! 40 px) facenet-pytorch itself gives box (180.3, 60.7)-(268.4, 172.2),
//! score 0.999996; this port gives (179.2, 62.3)-(267.0, 173.7), score
//! 0.99976, landmarks within 1.1 px of facenet's (tested below).
use std::path::Path;

use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Rect, Size};
use opencv::imgproc;
use serde::{Deserialize, Serialize};
use tch::nn;
use tch::{Device, Kind, Tensor};

use super::mtcnn_nets::{load_net, ONet, PNet, RNet};
use super::{FaceBox, FaceDetection, FaceDetector, FaceError, Landmarks};

/// Cascade settings. Defaults are facenet's, except the smallest face
/// (facenet: 20 px), raised to 40 px because the pipeline wants faces large
/// enough for micro-expression analysis and the smaller pyramid is faster,
/// and the border added for large faces (facenet: none; `pad_fraction: 0`
/// and `dense_large_scales: false` give facenet's cascade).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MtcnnOptions {
    /// Smallest face side searched for, in image pixels.
    pub min_face_px: f32,
    /// Score thresholds of PNet, RNet and ONet.
    pub thresholds: [f32; 3],
    /// Ratio between successive pyramid scales.
    pub factor: f32,
    /// Border added on every side of the frame, as a fraction of its longer
    /// side, when the frame itself gives no face or one that reaches its
    /// edge: the cascade runs again with it, for the pyramid scales that look for large faces (at least
    /// [`LARGE_FACE_SHARE`] of the shorter side) and for the RNet / ONet
    /// crops. (Always on, it changed the landmarks of ordinary faces enough
    /// to cost `make eval-spotting` 3 of 48 hits.) Without it a face that
    /// fills or overflows the frame is missed:
    /// PNet's window must hold the whole face, and a box that runs past the
    /// edge is cropped short and squashed. Boxes and landmarks are mapped
    /// back to the frame and may extend past its edges. 0: no border.
    pub pad_fraction: f32,
    /// Pyramid scales twice as dense (step `sqrt(factor)`) for large faces,
    /// and one more that fits the whole (padded) frame into PNet's window.
    pub dense_large_scales: bool,
}

/// Pyramid scales that look for faces at least this share of the frame's
/// shorter side run on the padded frame; smaller faces cannot reach a
/// border far enough to need it, and the unpadded frame is cheaper.
pub const LARGE_FACE_SHARE: f64 = 0.4;

impl Default for MtcnnOptions {
    fn default() -> Self {
        Self {
            min_face_px: 40.0,
            thresholds: [0.6, 0.7, 0.7],
            factor: 0.709,
            pad_fraction: DEFAULT_PAD_FRACTION,
            dense_large_scales: false,
        }
    }
}

/// Enough border for a face 1.1 times the width of a 4:3 frame (its square
/// MTCNN box is about 1.2 face widths) to fit inside the padded frame.
const DEFAULT_PAD_FRACTION: f32 = 0.4;

/// The MTCNN cascade with its weights, on one device.
pub struct Mtcnn {
    options: MtcnnOptions,
    device: Device,
    pnet: PNet,
    rnet: RNet,
    onet: ONet,
    _stores: [nn::VarStore; 3],
}

impl Mtcnn {
    /// Reads `pnet.safetensors`, `rnet.safetensors` and `onet.safetensors`
    /// from `dir`, checking every tensor's name and shape.
    pub fn load(dir: &Path, options: MtcnnOptions, device: Device) -> Result<Self, FaceError> {
        validate(&options)?;
        let (pnet_store, pnet) = load_net(&dir.join("pnet.safetensors"), device, PNet::new)?;
        let (rnet_store, rnet) = load_net(&dir.join("rnet.safetensors"), device, RNet::new)?;
        let (onet_store, onet) = load_net(&dir.join("onet.safetensors"), device, ONet::new)?;
        Ok(Self { options, device, pnet, rnet, onet, _stores: [pnet_store, rnet_store, onet_store] })
    }

    pub fn options(&self) -> &MtcnnOptions {
        &self.options
    }

    pub fn set_options(&mut self, options: MtcnnOptions) -> Result<(), FaceError> {
        validate(&options)?;
        self.options = options;
        Ok(())
    }

    /// The cascade on `frame` (RGB); boxes and landmarks in frame pixels.
    /// When it finds nothing, or a face that reaches the frame's edge,
    /// again with the border (whose faces are kept if it finds any).
    fn run(&self, frame: &Mat) -> Result<Vec<FaceDetection>, FaceError> {
        let faces = self.run_padded(frame, frame, 0)?;
        let border = (self.options.pad_fraction * frame.cols().max(frame.rows()) as f32).round() as i32;
        let (w, h) = (frame.cols() as f32, frame.rows() as f32);
        let at_edge = |b: &FaceBox| b.x <= 1.0 || b.y <= 1.0 || b.x + b.width >= w - 1.0 || b.y + b.height >= h - 1.0;
        if border <= 0 || !(faces.is_empty() || faces.iter().any(|f| at_edge(&f.bbox))) {
            return Ok(faces);
        }
        let mut padded = Mat::default();
        opencv::core::copy_make_border(
            frame,
            &mut padded,
            border,
            border,
            border,
            border,
            opencv::core::BORDER_CONSTANT,
            opencv::core::Scalar::all(128.0),
        )?;
        let mut padded_faces = self.run_padded(frame, &padded, border)?;
        if padded_faces.is_empty() {
            return Ok(faces);
        }
        let shift = border as f32;
        for face in &mut padded_faces {
            face.bbox.x -= shift;
            face.bbox.y -= shift;
            for p in &mut face.landmarks {
                p[0] -= shift;
                p[1] -= shift;
            }
        }
        Ok(padded_faces)
    }

    /// The cascade with every box in `rgb`'s pixels, where `rgb` is `frame`
    /// with `border` pixels added on each side; PNet looks for faces smaller
    /// than [`LARGE_FACE_SHARE`] of the frame on `frame` itself.
    fn run_padded(&self, frame: &Mat, rgb: &Mat, border: i32) -> Result<Vec<FaceDetection>, FaceError> {
        let (w, h) = (rgb.cols(), rgb.rows());
        let th = self.options.thresholds;
        let large_face_px = LARGE_FACE_SHARE * f64::from(frame.cols().min(frame.rows()));

        // Stage 1: PNet over the pyramid.
        let mut candidates: Vec<Candidate> = Vec::new();
        let scales = pyramid(w, h, self.options.min_face_px, self.options.factor);
        let scales = if self.options.dense_large_scales {
            densify_large_scales(&scales, w.min(h), large_face_px, self.options.factor)
        } else {
            scales
        };
        for scale in scales {
            let (source, offset) = if border > 0 && 12.0 / scale < large_face_px { (frame, border) } else { (rgb, 0) };
            let (sw, sh) = (source.cols(), source.rows());
            let size = Size::new((f64::from(sw) * scale + 1.0) as i32, (f64::from(sh) * scale + 1.0) as i32);
            if size.width < 12 || size.height < 12 {
                continue;
            }
            let mut scaled = Mat::default();
            imgproc::resize(source, &mut scaled, size, 0.0, 0.0, imgproc::INTER_AREA)?;
            let input = to_batch(&[scaled], size.height, size.width, 1, self.device)?;
            let (reg, prob) = self.pnet.forward(&input);
            let mut found = generate_boxes(&reg, &prob, scale as f32, th[0])?;
            let keep = nms(&found, 0.5, Overlap::Union);
            let shift = offset as f32;
            candidates.extend(keep.into_iter().map(|i| {
                let c = found[i];
                Candidate { b: [c.b[0] + shift, c.b[1] + shift, c.b[2] + shift, c.b[3] + shift], ..c }
            }));
            found.clear();
        }
        let keep = nms(&candidates, 0.7, Overlap::Union);
        let mut boxes: Vec<Candidate> = keep
            .into_iter()
            .map(|i| {
                let c = candidates[i];
                let (rw, rh) = (c.b[2] - c.b[0], c.b[3] - c.b[1]);
                let b =
                    [c.b[0] + c.reg[0] * rw, c.b[1] + c.reg[1] * rh, c.b[2] + c.reg[2] * rw, c.b[3] + c.reg[3] * rh];
                Candidate { b: rerec(b), ..c }
            })
            .collect();
        if boxes.is_empty() {
            return Ok(Vec::new());
        }

        // Stage 2: RNet on 24 px crops.
        let (kept, batch) = crops(rgb, &boxes, 24)?;
        boxes = kept;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let (reg, prob) = self.rnet.forward(&to_batch(&batch, 24, 24, padded_batch(batch.len()), self.device)?);
        let reg = rows(&reg, 4)?;
        let prob = rows(&prob, 2)?;
        let passed: Vec<Candidate> = boxes
            .iter()
            .zip(reg.iter().zip(&prob))
            .filter(|(_, (_, p))| p[1] > th[1])
            .map(|(c, (r, p))| Candidate { b: c.b, score: p[1], reg: [r[0], r[1], r[2], r[3]] })
            .collect();
        let keep = nms(&passed, 0.7, Overlap::Union);
        boxes =
            keep.into_iter().map(|i| Candidate { b: rerec(bbreg(passed[i].b, passed[i].reg)), ..passed[i] }).collect();
        if boxes.is_empty() {
            return Ok(Vec::new());
        }

        // Stage 3: ONet on 48 px crops, with landmarks.
        let (kept, batch) = crops(rgb, &boxes, 48)?;
        boxes = kept;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let (reg, points, prob) = self.onet.forward(&to_batch(&batch, 48, 48, padded_batch(batch.len()), self.device)?);
        let reg = rows(&reg, 4)?;
        let points = rows(&points, 10)?;
        let prob = rows(&prob, 2)?;
        let mut faces: Vec<(Candidate, Landmarks)> = Vec::new();
        for (i, c) in boxes.iter().enumerate() {
            let score = prob[i][1];
            if score <= th[2] {
                continue;
            }
            let (wi, hi) = (c.b[2] - c.b[0] + 1.0, c.b[3] - c.b[1] + 1.0);
            let p = &points[i];
            let mut landmarks = [[0.0f32; 2]; 5];
            for (k, point) in landmarks.iter_mut().enumerate() {
                *point = [wi * p[k] + c.b[0] - 1.0, hi * p[5 + k] + c.b[1] - 1.0];
            }
            let r = [reg[i][0], reg[i][1], reg[i][2], reg[i][3]];
            faces.push((Candidate { b: bbreg(c.b, r), score, reg: r }, landmarks));
        }
        let finals: Vec<Candidate> = faces.iter().map(|f| f.0).collect();
        let keep = nms(&finals, 0.7, Overlap::Min);
        Ok(keep
            .into_iter()
            .map(|i| {
                let (c, landmarks) = faces[i];
                FaceDetection {
                    bbox: FaceBox { x: c.b[0], y: c.b[1], width: c.b[2] - c.b[0], height: c.b[3] - c.b[1] },
                    confidence: c.score,
                    landmarks,
                    landmarks_estimated: false,
                    landmarks68: None,
                }
            })
            .collect())
    }
}

impl FaceDetector for Mtcnn {
    fn detect(&mut self, bgr: &Mat) -> Result<Vec<FaceDetection>, FaceError> {
        if bgr.empty() || bgr.rows() < 12 || bgr.cols() < 12 {
            return Ok(Vec::new());
        }
        let rgb = to_rgb(bgr)?;
        tch::no_grad(|| self.run(&rgb))
    }

    fn name(&self) -> &'static str {
        "mtcnn"
    }
}

fn validate(o: &MtcnnOptions) -> Result<(), FaceError> {
    let ok = o.min_face_px.is_finite()
        && o.min_face_px >= 12.0
        && o.factor > 0.1
        && o.factor < 0.95
        && o.thresholds.iter().all(|t| (0.0..1.0).contains(t));
    if ok {
        Ok(())
    } else {
        Err(FaceError::Detect(format!(
            "MTCNN options {o:?}: need min_face_px >= 12, factor in (0.1, 0.95) and thresholds in [0, 1)"
        )))
    }
}

/// Pyramid scales as facenet computes them (in f64, like Python floats).
fn pyramid(w: i32, h: i32, min_face_px: f32, factor: f32) -> Vec<f64> {
    let m = 12.0 / f64::from(min_face_px);
    let mut minl = f64::from(w.min(h)) * m;
    let mut scale = m;
    let mut scales = Vec::new();
    while minl >= 12.0 {
        scales.push(scale);
        scale *= f64::from(factor);
        minl *= f64::from(factor);
    }
    scales
}

/// `scales` with one more between each pair of those that look for faces
/// of `large_face_px` or more (the geometric mean), and the scale that fits
/// the image's shorter side `min_side` into PNet's 12 px window when the
/// pyramid stopped short of it.
fn densify_large_scales(scales: &[f64], min_side: i32, large_face_px: f64, factor: f32) -> Vec<f64> {
    let mut out = Vec::with_capacity(scales.len() * 2);
    for (i, &scale) in scales.iter().enumerate() {
        out.push(scale);
        if let Some(&next) = scales.get(i + 1) {
            if 12.0 / next >= large_face_px {
                out.push((scale * next).sqrt());
            }
        }
    }
    let fit = 12.0 / f64::from(min_side);
    if out.last().is_some_and(|&last| last * f64::from(factor).sqrt() > fit) {
        out.push(fit);
    }
    out
}

// ---------------------------------------------------------------- images

fn to_rgb(image: &Mat) -> Result<Mat, FaceError> {
    let code = match image.typ() {
        opencv::core::CV_8UC3 => imgproc::COLOR_BGR2RGB,
        opencv::core::CV_8UC1 => imgproc::COLOR_GRAY2RGB,
        opencv::core::CV_8UC4 => imgproc::COLOR_BGRA2RGB,
        other => {
            return Err(FaceError::Detect(format!(
                "expected an 8-bit BGR, BGRA or grey image, got OpenCV type {other}"
            )))
        }
    };
    let mut rgb = Mat::default();
    imgproc::cvt_color(image, &mut rgb, code, 0)?;
    Ok(rgb)
}

/// RGB u8 images of one size into a normalised `[N, 3, h, w]` float batch.
/// The batch size RNet and ONet run at for `n` candidates: the next power
/// of two. libtorch's oneDNN convolutions compile and cache code per input
/// shape, and the candidate count changes with every frame: unpadded, a
/// 1-hour analysis kept compiling new shapes and its memory kept growing.
/// Padded, there are a dozen shapes; the padding rows are ignored.
fn padded_batch(n: usize) -> usize {
    n.next_power_of_two()
}

/// `images` (RGB, `h`×`w`) as a normalised NCHW batch of `batch` rows; rows
/// past the images are zero.
fn to_batch(images: &[Mat], h: i32, w: i32, batch: usize, device: Device) -> Result<Tensor, FaceError> {
    let per_image = (h * w * 3) as usize;
    let batch = batch.max(images.len());
    let mut bytes = Vec::with_capacity(per_image * batch);
    for image in images {
        let data = image.data_bytes()?;
        if data.len() != per_image {
            return Err(FaceError::Detect(format!("internal: image of {} bytes, expected {per_image}", data.len())));
        }
        bytes.extend_from_slice(data);
    }
    bytes.resize(per_image * batch, 0);
    let batch = Tensor::from_slice(&bytes)
        .view([batch as i64, i64::from(h), i64::from(w), 3])
        .permute([0, 3, 1, 2])
        .to_kind(Kind::Float);
    Ok(((batch - 127.5) * 0.0078125).to_device(device))
}

fn rows(t: &Tensor, width: usize) -> Result<Vec<Vec<f32>>, FaceError> {
    let flat = Vec::<f32>::try_from(t.to_device(Device::Cpu).to_kind(Kind::Float).contiguous().view([-1]))?;
    Ok(flat.chunks(width).map(<[f32]>::to_vec).collect())
}

/// Crops each box (clamped to the image as facenet's `pad` does) and resizes
/// it to `side`. Boxes whose crop would be empty are dropped.
fn crops(rgb: &Mat, boxes: &[Candidate], side: i32) -> Result<(Vec<Candidate>, Vec<Mat>), FaceError> {
    let (w, h) = (rgb.cols(), rgb.rows());
    let mut kept = Vec::with_capacity(boxes.len());
    let mut out = Vec::with_capacity(boxes.len());
    for c in boxes {
        let x = (c.b[0].trunc() as i32).max(1);
        let y = (c.b[1].trunc() as i32).max(1);
        let ex = (c.b[2].trunc() as i32).min(w);
        let ey = (c.b[3].trunc() as i32).min(h);
        // facenet crops only when ey > y - 1 and ex > x - 1.
        if ey < y || ex < x {
            continue;
        }
        let roi = Mat::roi(rgb, Rect::new(x - 1, y - 1, ex - x + 1, ey - y + 1))?;
        let mut resized = Mat::default();
        imgproc::resize(&roi, &mut resized, Size::new(side, side), 0.0, 0.0, imgproc::INTER_AREA)?;
        kept.push(*c);
        out.push(resized);
    }
    Ok((kept, out))
}

// ---------------------------------------------------------------- boxes

/// A box `[x1, y1, x2, y2]`, its score and PNet/RNet/ONet regression.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Candidate {
    b: [f32; 4],
    score: f32,
    reg: [f32; 4],
}

/// facenet's `generateBoundingBox`: PNet cells at or above `threshold`.
fn generate_boxes(reg: &Tensor, prob: &Tensor, scale: f32, threshold: f32) -> Result<Vec<Candidate>, FaceError> {
    let size = prob.size();
    let (mh, mw) = (size[2] as usize, size[3] as usize);
    let face = Vec::<f32>::try_from(prob.get(0).get(1).to_device(Device::Cpu).contiguous().view([-1]))?;
    let reg = Vec::<f32>::try_from(reg.get(0).to_device(Device::Cpu).contiguous().view([-1]))?;
    let plane = mh * mw;
    let (stride, cell) = (2.0f32, 12.0f32);
    let mut out = Vec::new();
    for row in 0..mh {
        for col in 0..mw {
            let i = row * mw + col;
            let score = face[i];
            if score < threshold {
                continue;
            }
            let (bx, by) = (col as f32, row as f32);
            out.push(Candidate {
                b: [
                    ((stride * bx + 1.0) / scale).floor(),
                    ((stride * by + 1.0) / scale).floor(),
                    ((stride * bx + cell) / scale).floor(),
                    ((stride * by + cell) / scale).floor(),
                ],
                score,
                reg: [reg[i], reg[plane + i], reg[2 * plane + i], reg[3 * plane + i]],
            });
        }
    }
    Ok(out)
}

fn bbreg(b: [f32; 4], r: [f32; 4]) -> [f32; 4] {
    let (w, h) = (b[2] - b[0] + 1.0, b[3] - b[1] + 1.0);
    [b[0] + r[0] * w, b[1] + r[1] * h, b[2] + r[2] * w, b[3] + r[3] * h]
}

/// Squares a box about its centre (facenet's `rerec`).
fn rerec(b: [f32; 4]) -> [f32; 4] {
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let l = w.max(h);
    let x1 = b[0] + w * 0.5 - l * 0.5;
    let y1 = b[1] + h * 0.5 - l * 0.5;
    [x1, y1, x1 + l, y1 + l]
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Overlap {
    /// torchvision `nms`: IoU, areas without the +1.
    Union,
    /// facenet's `nms_numpy(.., 'Min')`: intersection over the smaller area,
    /// pixel-inclusive (+1) areas.
    Min,
}

/// Greedy NMS; indices kept, highest score first (ties: lower index first).
fn nms(boxes: &[Candidate], threshold: f32, overlap: Overlap) -> Vec<usize> {
    let one = if overlap == Overlap::Min { 1.0 } else { 0.0 };
    let area = |b: &[f32; 4]| (b[2] - b[0] + one) * (b[3] - b[1] + one);
    let mut order: Vec<usize> = (0..boxes.len()).collect();
    order.sort_by(|&i, &j| boxes[j].score.total_cmp(&boxes[i].score).then(i.cmp(&j)));
    let mut suppressed = vec![false; boxes.len()];
    let mut keep = Vec::new();
    for (k, &i) in order.iter().enumerate() {
        if suppressed[i] {
            continue;
        }
        keep.push(i);
        let a = &boxes[i].b;
        for &j in &order[k + 1..] {
            if suppressed[j] {
                continue;
            }
            let b = &boxes[j].b;
            let iw = (a[2].min(b[2]) - a[0].max(b[0]) + one).max(0.0);
            let ih = (a[3].min(b[3]) - a[1].max(b[1]) + one).max(0.0);
            let inter = iw * ih;
            let o = match overlap {
                Overlap::Union => inter / (area(a) + area(b) - inter),
                Overlap::Min => inter / area(a).min(area(b)),
            };
            if o > threshold {
                suppressed[j] = true;
            }
        }
    }
    keep
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Shared by the face tests: the astronaut photo and the weights, where
    //! `resources` finds them (set-up's cache for a test binary), failing
    //! loudly when absent.
    use std::path::PathBuf;

    use opencv::core::Mat;
    use opencv::imgcodecs;
    use opencv::prelude::*;

    use super::{Mtcnn, MtcnnOptions};
    use crate::resources::{locate, Resource};

    pub fn astronaut_path() -> PathBuf {
        locate(Resource::AstronautPhoto).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn mtcnn_dir() -> PathBuf {
        locate(Resource::MtcnnModel).unwrap_or_else(|e| panic!("{e}"))
    }

    pub fn astronaut() -> Mat {
        let path = astronaut_path();
        assert!(path.is_file(), "astronaut.png not found at {} (run set-up or set GLIMPSE_ASTRONAUT)", path.display());
        let image = imgcodecs::imread(&path.to_string_lossy(), imgcodecs::IMREAD_COLOR).expect("imread");
        assert_eq!((image.cols(), image.rows()), (512, 512), "unexpected astronaut.png at {}", path.display());
        image
    }

    pub fn mtcnn(options: MtcnnOptions) -> Mtcnn {
        let dir = mtcnn_dir();
        Mtcnn::load(&dir, options, tch::Device::Cpu).unwrap_or_else(|e| {
            panic!("MTCNN weights not usable in {} (run set-up or set GLIMPSE_MTCNN): {e}", dir.display())
        })
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use opencv::core::{Scalar, CV_8UC3};
    use opencv::prelude::*;

    use super::test_support::{astronaut, mtcnn};
    use super::*;

    fn canvas(value: f64) -> Mat {
        Mat::new_rows_cols_with_default(480, 640, CV_8UC3, Scalar::all(value)).expect("canvas")
    }

    fn paste(dst: &mut Mat, src: &Mat, x: i32, y: i32) {
        let mut roi = Mat::roi_mut(dst, Rect::new(x, y, src.cols(), src.rows())).expect("roi");
        src.copy_to(&mut roi).expect("copy");
    }

    fn scaled(src: &Mat, factor: f64) -> Mat {
        let mut out = Mat::default();
        imgproc::resize(src, &mut out, Size::default(), factor, factor, imgproc::INTER_AREA).expect("resize");
        out
    }

    #[test]
    fn finds_the_astronaut_with_plausible_landmarks() {
        let mut detector = mtcnn(MtcnnOptions::default());
        let faces = detector.detect(&astronaut()).expect("detect");
        assert_eq!(faces.len(), 1, "{faces:?}");
        let f = &faces[0];
        assert!(f.confidence > 0.9, "{f:?}");
        let [le, re, nose, lm, rm] = f.landmarks;
        assert!(le[0] < re[0] && lm[0] < rm[0], "{f:?}");
        assert!(le[1].max(re[1]) < nose[1] && nose[1] < lm[1].min(rm[1]), "{f:?}");
        assert!(le[0] < nose[0] && nose[0] < re[0], "{f:?}");
        // Measured: box 88 x 111 px, eyes 42.7 px apart.
        let eyes = ((re[0] - le[0]).powi(2) + (re[1] - le[1]).powi(2)).sqrt();
        assert!((35.0..52.0).contains(&eyes), "inter-eye distance {eyes}");
        let b = f.bbox;
        for p in f.landmarks {
            assert!(p[0] > b.x && p[0] < b.x + b.width && p[1] > b.y && p[1] < b.y + b.height, "{f:?}");
        }
        assert!(!f.landmarks_estimated);
        // facenet-pytorch 2.6.0's own detect_face on the same file and
        // settings; the gap is torch's vs OpenCV's area resampling.
        let facenet =
            [[205.369, 101.485], [246.858, 103.105], [225.058, 129.244], [201.154, 139.576], [245.145, 141.092]];
        for (p, q) in f.landmarks.iter().zip(facenet) {
            assert!((p[0] - q[0]).hypot(p[1] - q[1]) < 1.5, "{p:?} vs facenet {q:?}");
        }
        let facenet_box = [180.322, 60.713, 268.395, 172.167];
        let ours = [b.x, b.y, b.x + b.width, b.y + b.height];
        assert!(ours.iter().zip(facenet_box).all(|(o, r)| (o - r).abs() < 2.5), "{ours:?} vs facenet {facenet_box:?}");
    }

    #[test]
    fn detection_is_deterministic() {
        let mut detector = mtcnn(MtcnnOptions::default());
        let image = astronaut();
        let a = detector.detect(&image).expect("detect");
        let b = detector.detect(&image).expect("detect");
        assert_eq!(a, b);
    }

    #[test]
    fn finds_two_faces_side_by_side() {
        let mut detector = mtcnn(MtcnnOptions::default());
        let small = scaled(&astronaut(), 0.6); // 307 px, face about 60 px
        let mut frame = canvas(128.0);
        paste(&mut frame, &small, 6, 80);
        paste(&mut frame, &small, 640 - 6 - small.cols(), 80);
        let faces = detector.detect(&frame).expect("detect");
        assert_eq!(faces.len(), 2, "{faces:?}");
        let (left, right) =
            if faces[0].bbox.x < faces[1].bbox.x { (&faces[0], &faces[1]) } else { (&faces[1], &faces[0]) };
        assert!(left.bbox.x + left.bbox.width < 320.0 && right.bbox.x > 320.0, "{faces:?}");
        assert!((left.bbox.y - right.bbox.y).abs() < 3.0, "{faces:?}");
    }

    #[test]
    fn finds_nothing_in_grey_or_noise() {
        let mut detector = mtcnn(MtcnnOptions::default());
        assert!(detector.detect(&canvas(128.0)).expect("detect").is_empty());
        let mut noise = canvas(0.0);
        let mut state = 0x2545_f491_4f6c_dd1du64;
        for byte in noise.data_bytes_mut().expect("bytes") {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            *byte = (state >> 56) as u8;
        }
        let faces = detector.detect(&noise).expect("detect");
        assert!(faces.is_empty(), "{faces:?}");
        assert!(detector.detect(&Mat::default()).expect("detect").is_empty());
    }

    fn temp_dir(tag: &str) -> PathBuf {
        crate::files::scratch_dir(&format!("mtcnn-{tag}"))
    }

    #[test]
    fn missing_weights_name_the_file() {
        let dir = temp_dir("missing");
        let message =
            Mtcnn::load(&dir, MtcnnOptions::default(), Device::Cpu).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(&dir.join("pnet.safetensors").display().to_string()), "{message}");
        assert!(message.contains("not found"), "{message}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn wrong_weights_name_the_file_tensor_and_shapes() {
        let dir = temp_dir("wrong");
        let source = super::test_support::mtcnn_dir();
        for net in ["pnet", "onet"] {
            let from = source.join(format!("{net}.safetensors"));
            std::fs::copy(&from, dir.join(format!("{net}.safetensors")))
                .unwrap_or_else(|e| panic!("{} (run set-up or set GLIMPSE_MTCNN): {e}", from.display()));
        }
        // An RNet whose first convolution is too wide, and no dense5_2.
        let mut tensors = Tensor::read_safetensors(source.join("rnet.safetensors")).expect("read rnet");
        tensors.retain(|(name, _)| name != "dense5_2.weight");
        for (name, t) in tensors.iter_mut() {
            if name == "conv1.weight" {
                *t = Tensor::zeros([30, 3, 3, 3], (Kind::Float, Device::Cpu));
            }
        }
        let rnet = dir.join("rnet.safetensors");
        Tensor::write_safetensors(&tensors, &rnet).expect("write");
        let message =
            Mtcnn::load(&dir, MtcnnOptions::default(), Device::Cpu).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(&rnet.display().to_string()), "{message}");
        assert!(message.contains("tensor conv1.weight has shape [30, 3, 3, 3], expected [28, 3, 3, 3]"), "{message}");
        assert!(message.contains("missing tensor dense5_2.weight (expected shape [4, 128])"), "{message}");
        std::fs::write(&rnet, b"not safetensors").expect("write");
        let message =
            Mtcnn::load(&dir, MtcnnOptions::default(), Device::Cpu).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains(&rnet.display().to_string()) && message.contains("cannot read"), "{message}");
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn nms_keeps_the_best_of_overlapping_boxes() {
        let c = |b: [f32; 4], score: f32| Candidate { b, score, reg: [0.0; 4] };
        let boxes = [c([0., 0., 10., 10.], 0.8), c([1., 1., 11., 11.], 0.9), c([20., 20., 30., 30.], 0.7)];
        assert_eq!(nms(&boxes, 0.5, Overlap::Union), vec![1, 2]);
        // A small box inside a big one: IoU is low, "Min" overlap is 1.
        let nested = [c([0., 0., 40., 40.], 0.9), c([10., 10., 20., 20.], 0.95)];
        assert_eq!(nms(&nested, 0.7, Overlap::Union), vec![1, 0]);
        assert_eq!(nms(&nested, 0.7, Overlap::Min), vec![1]);
        assert_eq!(rerec([0., 0., 10., 20.]), [-5., 0., 15., 20.]);
    }

    /// Timing, not a check: `cargo test --release --lib mtcnn_speed -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn mtcnn_speed() {
        let image = astronaut();
        let mut frame = canvas(128.0);
        let face = Mat::roi(&image, Rect::new(96, 16, 320, 320)).expect("roi").try_clone().expect("clone");
        let face = scaled(&face, 0.75);
        paste(&mut frame, &face, 200, 100);
        for min_face_px in [40.0, 80.0] {
            let mut detector = mtcnn(MtcnnOptions { min_face_px, ..Default::default() });
            let n = detector.detect(&frame).expect("detect").len();
            let runs = 30;
            let mut times = Vec::new();
            for _ in 0..runs {
                let start = std::time::Instant::now();
                detector.detect(&frame).expect("detect");
                times.push(start.elapsed().as_secs_f64() * 1000.0);
            }
            times.sort_by(f64::total_cmp);
            let ms = times[runs / 2];
            eprintln!("MTCNN 640x480, min_face_px {min_face_px}: {ms:.1} ms/frame (median of {runs}), {n} face(s), torch threads {}", tch::get_num_threads());
        }
    }
}
