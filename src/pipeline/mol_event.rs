//! MOL-lite on one spotted event: eight grey frames sampled evenly from
//! onset to offset, each aligned and cropped as the pipeline crops the face
//! for classification, prepared exactly as MOL-lite's training clips were
//! (`train::mol_inputs::apex_face`: the square face crop in grey,
//! area-resized to the model's side, 0..1; `train::mol_trainer`: mapped to
//! -1..1 by (g - 0.5) x 2), one forward pass, and its outputs mapped back
//! into the image.
use opencv::core::{Mat, Size};
use opencv::imgproc;
use opencv::prelude::*;
use tch::{Kind, Tensor};

use super::PipelineError;
use crate::face::Similarity;
use crate::model::mol::{MolError, MolModel};
use crate::motion::MotionError;

/// Side of the grid the predicted flow is averaged to for the overlay.
pub const FLOW_GRID: usize = 8;

/// `count` frame indices from `onset` to `offset`, both included, evenly
/// spaced and rounded to the nearest frame (repeated when the event spans
/// fewer frames than `count`).
pub fn sample_indices(onset: u64, offset: u64, count: usize) -> Vec<u64> {
    let (first, last) = (onset.min(offset), onset.max(offset));
    let span = (last - first) as f64;
    let steps = count.saturating_sub(1).max(1) as f64;
    (0..count).map(|i| first + (span * i as f64 / steps).round() as u64).collect()
}

/// Which of the sampled frames stands for the apex: the nearest one.
pub fn apex_position(indices: &[u64], apex: u64) -> usize {
    indices.iter().enumerate().min_by_key(|(_, &i)| i.abs_diff(apex)).map_or(0, |(k, _)| k)
}

/// What MOL-lite says about one event.
#[derive(Clone, Debug, PartialEq)]
pub struct MolEvent {
    pub probabilities: Vec<f32>,
    /// The apex frame's 68 points, image pixels.
    pub landmarks: Vec<[f32; 2]>,
    /// Onset→apex arrows `[x, y, dx, dy]`, image pixels.
    pub flow: Vec<[f32; 4]>,
}

/// One frame as MOL-lite's input plane: the classification crop at
/// `classify_side`, area-resized to `side`, in -1..1, row-major.
pub fn mol_plane(grey: &Mat, crop: &Similarity, classify_side: i32, side: i32) -> Result<Vec<f32>, PipelineError> {
    let face = crop.warp(grey, classify_side)?;
    let mut small = Mat::default();
    imgproc::resize(&face, &mut small, Size::new(side, side), 0.0, 0.0, imgproc::INTER_AREA)
        .map_err(MotionError::from)?;
    let bytes = small.data_bytes().map_err(MotionError::from)?;
    Ok(bytes.iter().map(|&g| crate::model::mol::input_level(f32::from(g) / 255.0)).collect())
}

/// Model-input pixel coordinates -> image pixels. The input is the
/// `classify_side` crop area-resized to `side`, so pixel centres scale
/// about the half-pixel offset (as `mol_inputs` scaled the training points).
pub struct InputToImage {
    crop_to_image: Similarity,
    /// Classification-crop pixels per input pixel.
    scale: f32,
}

impl InputToImage {
    pub fn new(crop: &Similarity, classify_side: i32, side: i32) -> Self {
        Self { crop_to_image: crop.inverse(), scale: classify_side as f32 / side as f32 }
    }

    pub fn point(&self, p: [f32; 2]) -> [f32; 2] {
        self.crop_to_image.apply([(p[0] + 0.5) * self.scale - 0.5, (p[1] + 0.5) * self.scale - 0.5])
    }
}

/// Runs MOL-lite on `planes` (one per sampled frame, `mol_plane`), the
/// apex at `apex_at` among them.
pub fn run_mol(
    model: &MolModel,
    planes: &[Vec<f32>],
    apex_at: usize,
    to_image: &InputToImage,
) -> Result<MolEvent, MolError> {
    let side = model.config.image_size;
    let count = planes.len() as i64;
    let flat: Vec<f32> = planes.iter().flatten().copied().collect();
    let frames = Tensor::from_slice(&flat).reshape([1, count, 1, side, side]).to_device(model.device);
    let out = tch::no_grad(|| model.forward(&frames, false))?;
    let probabilities =
        Vec::<f32>::try_from(out.class_logits.softmax(-1, Kind::Float).flatten(0, -1).to_device(tch::Device::Cpu))?;
    // Pair p's landmarks are frame p + 1's; the onset frame has none of its own.
    let pair = apex_at.max(1) - 1;
    let points = Vec::<f32>::try_from(out.landmarks.get(0).get(pair as i64).to_device(tch::Device::Cpu))?;
    let landmarks = points.chunks(2).map(|p| to_image.point([p[0], p[1]])).collect();
    // Onset→apex: the pair flows up to the apex, summed (the pairs chain,
    // so this is the onset→apex flow to first order).
    let pairs = apex_at.max(1) as i64;
    let summed = out.flows.get(0).narrow(0, 0, pairs).sum_dim_intlist([0i64].as_slice(), false, Kind::Float);
    let cell = side / FLOW_GRID as i64;
    let grid = summed.unsqueeze(0).avg_pool2d([cell, cell], [cell, cell], [0, 0], false, true, None).get(0);
    let values = Vec::<f32>::try_from(grid.flatten(0, -1).to_device(tch::Device::Cpu))?;
    let cells = FLOW_GRID * FLOW_GRID;
    let flow = (0..cells)
        .map(|i| {
            let centre = [
                ((i % FLOW_GRID) as i64 * cell) as f32 + 0.5 * cell as f32 - 0.5,
                ((i / FLOW_GRID) as i64 * cell) as f32 + 0.5 * cell as f32 - 0.5,
            ];
            let (from, to) =
                (to_image.point(centre), to_image.point([centre[0] + values[i], centre[1] + values[cells + i]]));
            [from[0], from[1], to[0] - from[0], to[1] - from[1]]
        })
        .collect();
    Ok(MolEvent { probabilities, landmarks, flow })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eight_frames_from_onset_to_offset() {
        assert_eq!(sample_indices(100, 114, 8), vec![100, 102, 104, 106, 108, 110, 112, 114]);
        // 10 frames: rounded, ends included, in order.
        let ten = sample_indices(20, 29, 8);
        assert_eq!((ten[0], ten[7]), (20, 29));
        assert_eq!(ten, vec![20, 21, 23, 24, 25, 26, 28, 29]);
        // Fewer frames than samples: repeats, still from onset to offset.
        assert_eq!(sample_indices(5, 8, 8), vec![5, 5, 6, 6, 7, 7, 8, 8]);
        assert_eq!(sample_indices(7, 7, 8), vec![7; 8]);
        assert_eq!(apex_position(&sample_indices(100, 114, 8), 107), 3);
        assert_eq!(apex_position(&sample_indices(100, 114, 8), 100), 0);
    }

    #[test]
    fn input_points_map_back_through_the_crop() {
        // A crop that halves the image about the origin: 112 px of crop
        // cover 224 image px; the 64 px input covers the same.
        let crop = Similarity { a: 0.5, b: 0.0, tx: 0.0, ty: 0.0 };
        let to_image = InputToImage::new(&crop, 112, 64);
        // The input's edge is the crop's edge, -0.5 crop px, which the
        // warp (pixel centres at integers) takes from image px -1.
        let corner = to_image.point([-0.5, -0.5]);
        assert!((corner[0] + 1.0).abs() < 1e-4 && (corner[1] + 1.0).abs() < 1e-4, "{corner:?}");
        let far = to_image.point([63.5, 63.5]);
        assert!((far[0] - 223.0).abs() < 1e-3, "{far:?}");
    }
}
