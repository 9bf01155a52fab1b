//! Dense optical flow through OpenCV: DIS (fast; spotting) and TV-L1 (the
//! method the MEGC2019 training flow was computed with; classification).
use opencv::core::{Mat, MatTraitConst, MatTraitConstManual, Ptr, Vec2f, CV_8UC1};
use opencv::optflow::{self, DualTVL1OpticalFlow};
use opencv::prelude::{DISOpticalFlowTrait, DenseOpticalFlowTrait};
use opencv::video::{DISOpticalFlow, DISOpticalFlow_PRESET_FAST, DISOpticalFlow_PRESET_ULTRAFAST};

use super::MotionError;

/// A flow field, row-major: pixel (x, y) of the first frame moves by
/// (u, v) pixels in the second.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowField {
    pub width: usize,
    pub height: usize,
    pub u: Vec<f32>,
    pub v: Vec<f32>,
}

impl FlowField {
    pub fn zeros(width: usize, height: usize) -> Self {
        Self { width, height, u: vec![0.0; width * height], v: vec![0.0; width * height] }
    }

    fn from_mat(flow: &Mat) -> Result<Self, MotionError> {
        let (width, height) = (flow.cols() as usize, flow.rows() as usize);
        let data = flow.data_typed::<Vec2f>()?;
        let (u, v) = data.iter().map(|p| (p[0], p[1])).unzip();
        Ok(Self { width, height, u, v })
    }

    /// Box-averaged down-sampling to `side`×`side` (the field must be square
    /// and a multiple of `side`, as aligned crops are). Displacements are
    /// rescaled to the new pixel size.
    pub fn downsample(&self, side: usize) -> FlowField {
        if self.width == side && self.height == side {
            return self.clone();
        }
        let (fx, fy) = (self.width / side.max(1), self.height / side.max(1));
        let scale = 1.0 / fx.max(1) as f32;
        let mut out = FlowField::zeros(side, side);
        let norm = 1.0 / (fx * fy).max(1) as f32;
        for y in 0..side {
            for x in 0..side {
                let (mut su, mut sv) = (0.0, 0.0);
                for yy in y * fy..(y + 1) * fy {
                    let row = yy * self.width;
                    for xx in x * fx..(x + 1) * fx {
                        su += self.u[row + xx];
                        sv += self.v[row + xx];
                    }
                }
                out.u[y * side + x] = su * norm * scale;
                out.v[y * side + x] = sv * norm * scale;
            }
        }
        out
    }
}

fn check_pair(prev: &Mat, next: &Mat) -> Result<(), MotionError> {
    for m in [prev, next] {
        if m.typ() != CV_8UC1 {
            return Err(MotionError::NotGrey(m.typ()));
        }
    }
    let (a, b) = ((prev.cols(), prev.rows()), (next.cols(), next.rows()));
    if a != b {
        return Err(MotionError::SizeMismatch { a, b });
    }
    Ok(())
}

/// Dense Inverse Search: ≈0.3 ms on a 112×112 crop.
pub struct DisFlow {
    engine: Ptr<DISOpticalFlow>,
}

// The engine is used by one thread at a time (the analysis worker).
unsafe impl Send for DisFlow {}

impl DisFlow {
    /// `fast`: the FAST preset instead of ULTRAFAST. Either way the search
    /// runs down to full resolution: the presets stop at a quarter, which
    /// smooths away the sub-pixel motion of a micro-expression.
    pub fn new(fast: bool) -> Result<Self, MotionError> {
        let preset = if fast { DISOpticalFlow_PRESET_FAST } else { DISOpticalFlow_PRESET_ULTRAFAST };
        let mut engine = DISOpticalFlow::create(preset)?;
        engine.set_finest_scale(0)?;
        Ok(Self { engine })
    }

    /// Flow from `prev` to `next`, both 8-bit grey of one size.
    pub fn calc(&mut self, prev: &Mat, next: &Mat) -> Result<FlowField, MotionError> {
        check_pair(prev, next)?;
        let mut flow = Mat::default();
        self.engine.calc(prev, next, &mut flow)?;
        FlowField::from_mat(&flow)
    }
}

/// Dual TV-L1 with OpenCV's defaults (as the training flow was computed).
pub struct TvL1Flow {
    engine: Ptr<DualTVL1OpticalFlow>,
}

unsafe impl Send for TvL1Flow {}

impl TvL1Flow {
    pub fn new() -> Result<Self, MotionError> {
        Ok(Self { engine: optflow::create_opt_flow_dual_tvl1()? })
    }

    pub fn calc(&mut self, prev: &Mat, next: &Mat) -> Result<FlowField, MotionError> {
        check_pair(prev, next)?;
        let mut flow = Mat::default();
        self.engine.calc(prev, next, &mut flow)?;
        FlowField::from_mat(&flow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opencv::core::{Rect, Scalar, CV_8UC1};
    use opencv::imgproc;
    use opencv::prelude::*;

    /// A textured 8-bit image: smooth blobs a flow method can lock onto.
    pub(crate) fn texture(side: i32, shift_x: f64, shift_y: f64) -> Mat {
        let mut img = Mat::new_rows_cols_with_default(side, side, CV_8UC1, Scalar::all(0.0)).expect("alloc");
        for y in 0..side {
            for x in 0..side {
                let (fx, fy) = (x as f64 - shift_x, y as f64 - shift_y);
                let value = 128.0 + 60.0 * (fx * 0.21).sin() * (fy * 0.17).cos() + 40.0 * ((fx + fy) * 0.11).sin();
                *img.at_2d_mut::<u8>(y, x).expect("pixel") = value.clamp(0.0, 255.0) as u8;
            }
        }
        img
    }

    fn median(values: &[f32]) -> f32 {
        let mut v = values.to_vec();
        v.sort_by(f32::total_cmp);
        v[v.len() / 2]
    }

    #[test]
    fn dis_and_tvl1_recover_a_known_shift() {
        let (a, b) = (texture(112, 0.0, 0.0), texture(112, 1.5, -1.0));
        let inner = |f: &FlowField, get: fn(&FlowField) -> &Vec<f32>| {
            let roi: Vec<f32> =
                (20..92).flat_map(|y| (20..92).map(move |x| (y, x))).map(|(y, x)| get(f)[y * 112 + x]).collect();
            median(&roi)
        };
        for (name, flow) in [
            ("dis", DisFlow::new(true).expect("dis").calc(&a, &b).expect("flow")),
            ("tvl1", TvL1Flow::new().expect("tvl1").calc(&a, &b).expect("flow")),
        ] {
            let (u, v) = (inner(&flow, |f| &f.u), inner(&flow, |f| &f.v));
            assert!(
                (u - 1.5).abs() < 0.2 && (v + 1.0).abs() < 0.2,
                "{name}: median flow ({u}, {v}), expected (1.5, -1)"
            );
        }
    }

    #[test]
    fn mismatched_frames_are_refused() {
        let a = texture(64, 0.0, 0.0);
        let b = Mat::roi(&texture(112, 0.0, 0.0), Rect::new(0, 0, 32, 32)).expect("roi").try_clone().expect("clone");
        assert!(matches!(DisFlow::new(false).expect("dis").calc(&a, &b), Err(MotionError::SizeMismatch { .. })));
        let mut colour = Mat::default();
        imgproc::cvt_color_def(&a, &mut colour, imgproc::COLOR_GRAY2BGR).expect("cvt");
        assert!(matches!(DisFlow::new(false).expect("dis").calc(&colour, &colour), Err(MotionError::NotGrey(_))));
    }

    #[test]
    fn downsampling_averages_and_rescales() {
        let mut f = FlowField::zeros(4, 4);
        f.u.iter_mut().for_each(|u| *u = 2.0);
        f.v[0] = 4.0;
        let d = f.downsample(2);
        assert_eq!(d.u, vec![1.0; 4]);
        assert_eq!(d.v, vec![0.5, 0.0, 0.0, 0.0]);
    }
}
