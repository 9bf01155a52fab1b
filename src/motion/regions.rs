//! Facial regions of the aligned crop where micro-expressions show (brows,
//! mouth), the eyes (watched separately so blinks can be told apart) and the
//! nose (rigid: its flow is the head's own motion, subtracted everywhere).
use crate::face::Landmarks;

use super::FlowField;

/// Pixel rectangle [x0, x1) × [y0, y1) in the crop.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rect {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

/// Regions placed from the five landmarks of the aligned crop, in units of
/// the inter-ocular distance so they scale with the crop.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceRegions {
    pub brows: [Rect; 2],
    pub eyes: [Rect; 2],
    pub mouth: Rect,
    pub nose: Rect,
}

/// Mean facial motion per region after head-motion compensation, in crop
/// pixels.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RegionMotion {
    /// The larger of the two brow regions.
    pub brows: f32,
    pub mouth: f32,
    /// The larger of the two eye regions (blinks).
    pub eyes: f32,
    /// The head's own displacement (median nose flow), removed from the rest.
    pub head: [f32; 2],
}

impl RegionMotion {
    /// The spotting signal: the strongest expressive region.
    pub fn expressive(&self) -> f32 {
        self.brows.max(self.mouth)
    }
}

impl FaceRegions {
    pub fn from_landmarks(landmarks: &Landmarks, width: usize, height: usize) -> Self {
        let [left_eye, right_eye, nose, mouth_left, mouth_right] = *landmarks;
        let iod = ((right_eye[0] - left_eye[0]).powi(2) + (right_eye[1] - left_eye[1]).powi(2)).sqrt().max(1.0);
        let rect = |x0: f32, y0: f32, x1: f32, y1: f32| {
            let clamp = |v: f32, hi: usize| (v.round().max(0.0) as usize).min(hi);
            let (x0, x1) = (clamp(x0, width), clamp(x1, width));
            let (y0, y1) = (clamp(y0, height), clamp(y1, height));
            Rect { x0, y0, x1: x1.max(x0), y1: y1.max(y0) }
        };
        let brow = |eye: [f32; 2]| rect(eye[0] - 0.45 * iod, eye[1] - 0.75 * iod, eye[0] + 0.45 * iod, eye[1] - 0.28 * iod);
        let eye = |eye: [f32; 2]| rect(eye[0] - 0.35 * iod, eye[1] - 0.22 * iod, eye[0] + 0.35 * iod, eye[1] + 0.2 * iod);
        let mouth_y = 0.5 * (mouth_left[1] + mouth_right[1]);
        Self {
            brows: [brow(left_eye), brow(right_eye)],
            eyes: [eye(left_eye), eye(right_eye)],
            mouth: rect(mouth_left[0] - 0.3 * iod, mouth_y - 0.35 * iod, mouth_right[0] + 0.3 * iod, mouth_y + 0.5 * iod),
            nose: rect(nose[0] - 0.18 * iod, nose[1] - 0.5 * iod, nose[0] + 0.18 * iod, nose[1] + 0.02 * iod),
        }
    }

    /// Region motion of `flow` (computed on the crop these regions were
    /// placed on).
    pub fn motion(&self, flow: &FlowField) -> RegionMotion {
        let head = [median_in(&flow.u, flow.width, self.nose), median_in(&flow.v, flow.width, self.nose)];
        let mean_magnitude = |r: Rect| -> f32 {
            let mut sum = 0.0;
            let mut n = 0usize;
            for y in r.y0..r.y1 {
                for x in r.x0..r.x1 {
                    let i = y * flow.width + x;
                    sum += ((flow.u[i] - head[0]).powi(2) + (flow.v[i] - head[1]).powi(2)).sqrt();
                    n += 1;
                }
            }
            if n == 0 {
                0.0
            } else {
                sum / n as f32
            }
        };
        RegionMotion {
            brows: mean_magnitude(self.brows[0]).max(mean_magnitude(self.brows[1])),
            mouth: mean_magnitude(self.mouth),
            eyes: mean_magnitude(self.eyes[0]).max(mean_magnitude(self.eyes[1])),
            head,
        }
    }
}

fn median_in(field: &[f32], width: usize, r: Rect) -> f32 {
    let mut values: Vec<f32> = (r.y0..r.y1).flat_map(|y| (r.x0..r.x1).map(move |x| field[y * width + x])).collect();
    if values.is_empty() {
        return 0.0;
    }
    let mid = values.len() / 2;
    values.select_nth_unstable_by(mid, f32::total_cmp);
    values[mid]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Landmarks roughly where a 112-px aligned crop puts them.
    const CROP_LANDMARKS: Landmarks = [[38.0, 48.0], [74.0, 48.0], [56.0, 68.0], [42.0, 86.0], [70.0, 86.0]];

    #[test]
    fn head_motion_is_removed_and_local_motion_kept() {
        let regions = FaceRegions::from_landmarks(&CROP_LANDMARKS, 112, 112);
        let mut flow = FlowField::zeros(112, 112);
        // The whole head moves 2 px right; the left mouth corner also 1 px up.
        flow.u.iter_mut().for_each(|u| *u = 2.0);
        let m = regions.mouth;
        for y in m.y0..m.y1 {
            for x in m.x0..(m.x0 + m.x1) / 2 {
                flow.v[y * 112 + x] = -1.0;
            }
        }
        let motion = regions.motion(&flow);
        assert_eq!(motion.head, [2.0, 0.0]);
        assert!(motion.brows < 1e-6 && motion.eyes < 1e-6, "{motion:?}");
        assert!((motion.mouth - 0.5).abs() < 0.05, "half the mouth region moved 1 px: {motion:?}");
        assert_eq!(motion.expressive(), motion.mouth);
    }

    #[test]
    fn regions_sit_where_the_face_parts_are() {
        let r = FaceRegions::from_landmarks(&CROP_LANDMARKS, 112, 112);
        assert!(r.brows[0].y1 < r.eyes[0].y0 + 2, "brows above the eyes");
        assert!(r.eyes[0].y1 < r.nose.y1 && r.nose.y1 < r.mouth.y0 + 10);
        assert!(r.mouth.y1 <= 112 && r.brows[0].y0 > 0);
    }
}
