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
    /// Skin that moves only with the head (nose and cheeks): the head's
    /// motion is fitted here.
    pub rigid: [Rect; 3],
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
        // Brows sit 0.35–0.8 inter-ocular distances above the eye centres;
        // the band between belongs to the lids, which blinks move.
        let brow =
            |eye: [f32; 2]| rect(eye[0] - 0.45 * iod, eye[1] - 0.8 * iod, eye[0] + 0.45 * iod, eye[1] - 0.36 * iod);
        let eye =
            |eye: [f32; 2]| rect(eye[0] - 0.35 * iod, eye[1] - 0.3 * iod, eye[0] + 0.35 * iod, eye[1] + 0.25 * iod);
        let mouth_y = 0.5 * (mouth_left[1] + mouth_right[1]);
        Self {
            brows: [brow(left_eye), brow(right_eye)],
            eyes: [eye(left_eye), eye(right_eye)],
            mouth: rect(
                mouth_left[0] - 0.3 * iod,
                mouth_y - 0.35 * iod,
                mouth_right[0] + 0.3 * iod,
                mouth_y + 0.5 * iod,
            ),
            nose: rect(nose[0] - 0.18 * iod, nose[1] - 0.5 * iod, nose[0] + 0.18 * iod, nose[1] + 0.02 * iod),
            rigid: [
                rect(nose[0] - 0.18 * iod, nose[1] - 0.5 * iod, nose[0] + 0.18 * iod, nose[1] + 0.02 * iod),
                // Cheeks, kept clear of the mouth: a smile pulls the skin
                // near the lip corners.
                rect(left_eye[0] - 0.3 * iod, left_eye[1] + 0.35 * iod, nose[0] - 0.25 * iod, mouth_y - 0.45 * iod),
                rect(nose[0] + 0.25 * iod, right_eye[1] + 0.35 * iod, right_eye[0] + 0.3 * iod, mouth_y - 0.45 * iod),
            ],
        }
    }

    /// Region motion of `flow` (computed on the crop these regions were
    /// placed on). The head's motion, an affine field fitted on the rigid
    /// regions (translation, rotation and scale of the head), is removed
    /// first; each region then reports a high percentile of the remaining
    /// magnitude, so a small moving patch (a lip corner) is not averaged away
    /// by the still skin around it.
    ///
    /// `inside` (one flag per crop pixel, row by row) marks the pixels that
    /// show the frame; `None`: all do. The rest of a crop that runs past the
    /// frame's edge (a close-up, a face cut by the border) is the edge's
    /// pixels replicated, whose flow is the border sliding over the face:
    /// those pixels count for nothing, and a region mostly outside reports
    /// no motion.
    pub fn motion(&self, flow: &FlowField, inside: Option<&[bool]>) -> RegionMotion {
        let smoothed = box_filter(flow, SMOOTHING_RADIUS);
        let flow = &smoothed;
        let shows = |i: usize| inside.is_none_or(|m| m.get(i).copied().unwrap_or(false));
        let head_field = fit_affine(flow, &self.rigid, &shows);
        let centre = [flow.width as f32 / 2.0, flow.height as f32 / 2.0];
        let head = [head_field.at(centre[0], centre[1]).0, head_field.at(centre[0], centre[1]).1];
        let region = |r: Rect| -> f32 {
            let area = (r.x1 - r.x0) * (r.y1 - r.y0);
            let mut magnitudes = Vec::with_capacity(area);
            for y in r.y0..r.y1 {
                for x in r.x0..r.x1 {
                    let i = y * flow.width + x;
                    if shows(i) {
                        let (hu, hv) = head_field.at(x as f32, y as f32);
                        magnitudes.push(((flow.u[i] - hu).powi(2) + (flow.v[i] - hv).powi(2)).sqrt());
                    }
                }
            }
            if (magnitudes.len() as f32) < MIN_REGION_SHOWN * area as f32 {
                return 0.0;
            }
            percentile(&mut magnitudes, REGION_PERCENTILE)
        };
        RegionMotion {
            brows: region(self.brows[0]).max(region(self.brows[1])),
            mouth: region(self.mouth),
            eyes: region(self.eyes[0]).max(region(self.eyes[1])),
            head,
        }
    }
}

/// The share of a region's pixels that must move for it to count as moving.
const REGION_PERCENTILE: f32 = 0.9;

/// A region with less of itself inside the frame than this reports no motion.
const MIN_REGION_SHOWN: f32 = 0.3;

/// Flow is averaged over (2r+1)² pixels before magnitudes are taken: pixel
/// noise averages out, while the smooth displacement of skin (its bumps are
/// about ten pixels across on the spotting crop) keeps its size.
const SMOOTHING_RADIUS: usize = 2;

/// Separable box filter of both components, the window clipped at borders.
fn box_filter(flow: &FlowField, radius: usize) -> FlowField {
    let (w, h) = (flow.width, flow.height);
    let blur = |field: &[f32]| -> Vec<f32> {
        let mut rows = vec![0.0f32; w * h];
        for y in 0..h {
            for x in 0..w {
                let (x0, x1) = (x.saturating_sub(radius), (x + radius + 1).min(w));
                rows[y * w + x] = field[y * w + x0..y * w + x1].iter().sum::<f32>() / (x1 - x0) as f32;
            }
        }
        let mut out = vec![0.0f32; w * h];
        for y in 0..h {
            let (y0, y1) = (y.saturating_sub(radius), (y + radius + 1).min(h));
            for x in 0..w {
                out[y * w + x] = (y0..y1).map(|yy| rows[yy * w + x]).sum::<f32>() / (y1 - y0) as f32;
            }
        }
        out
    };
    FlowField { width: w, height: h, u: blur(&flow.u), v: blur(&flow.v) }
}

/// u = a0 + a1·x + a2·y, v = b0 + b1·x + b2·y.
#[derive(Clone, Copy, Debug, PartialEq)]
struct AffineField {
    a: [f32; 3],
    b: [f32; 3],
}

impl AffineField {
    fn at(&self, x: f32, y: f32) -> (f32, f32) {
        (self.a[0] + self.a[1] * x + self.a[2] * y, self.b[0] + self.b[1] * x + self.b[2] * y)
    }
}

/// Least-squares affine flow over the pixels of `rects`; falls back to the
/// median translation when the pixels cannot pin down the linear terms.
fn fit_affine(flow: &FlowField, rects: &[Rect], shows: &dyn Fn(usize) -> bool) -> AffineField {
    // Normal equations in coordinates centred on the crop, for conditioning.
    let (cx, cy) = (flow.width as f64 / 2.0, flow.height as f64 / 2.0);
    let mut ata = [[0.0f64; 3]; 3];
    let (mut atu, mut atv) = ([0.0f64; 3], [0.0f64; 3]);
    let mut us = Vec::new();
    let mut vs = Vec::new();
    for r in rects {
        for y in r.y0..r.y1 {
            for x in r.x0..r.x1 {
                let i = y * flow.width + x;
                if !shows(i) {
                    continue;
                }
                let row = [1.0, x as f64 - cx, y as f64 - cy];
                for j in 0..3 {
                    for k in 0..3 {
                        ata[j][k] += row[j] * row[k];
                    }
                    atu[j] += row[j] * flow.u[i] as f64;
                    atv[j] += row[j] * flow.v[i] as f64;
                }
                us.push(flow.u[i]);
                vs.push(flow.v[i]);
            }
        }
    }
    let translation = AffineField { a: [percentile(&mut us, 0.5), 0.0, 0.0], b: [percentile(&mut vs, 0.5), 0.0, 0.0] };
    let (Some(pa), Some(pb)) = (solve3(ata, atu), solve3(ata, atv)) else { return translation };
    // Back to crop coordinates: a0 + a1(x − cx) + a2(y − cy).
    let uncentre = |p: [f64; 3]| [(p[0] - p[1] * cx - p[2] * cy) as f32, p[1] as f32, p[2] as f32];
    AffineField { a: uncentre(pa), b: uncentre(pb) }
}

/// Solves a 3×3 system by Cramer's rule; `None` when (near) singular.
fn solve3(m: [[f64; 3]; 3], r: [f64; 3]) -> Option<[f64; 3]> {
    let det = |m: [[f64; 3]; 3]| {
        m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
            + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
    };
    let d = det(m);
    let scale = m[0][0].abs().max(1.0).powi(3);
    if d.abs() < 1e-9 * scale {
        return None;
    }
    let mut out = [0.0; 3];
    for (col, slot) in out.iter_mut().enumerate() {
        let mut mc = m;
        for row in 0..3 {
            mc[row][col] = r[row];
        }
        *slot = det(mc) / d;
    }
    Some(out)
}

fn percentile(values: &mut [f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let at = ((values.len() - 1) as f32 * q).round() as usize;
    values.select_nth_unstable_by(at, f32::total_cmp);
    values[at]
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
        let motion = regions.motion(&flow, None);
        assert!((motion.head[0] - 2.0).abs() < 1e-4 && motion.head[1].abs() < 0.1, "{motion:?}");
        assert!(motion.brows < 1e-6 && motion.eyes < 1e-6, "{motion:?}");
        assert!((motion.mouth - 1.0).abs() < 0.05, "half the mouth region moved 1 px: {motion:?}");
        assert_eq!(motion.expressive(), motion.mouth);
    }

    #[test]
    fn head_rotation_and_zoom_are_removed() {
        let regions = FaceRegions::from_landmarks(&CROP_LANDMARKS, 112, 112);
        let mut flow = FlowField::zeros(112, 112);
        // 1° rotation and 1 % zoom about (50, 60), plus a 1.5 px shift.
        let (c, s) = ((1f32).to_radians().cos() * 1.01, (1f32).to_radians().sin() * 1.01);
        for y in 0..112 {
            for x in 0..112 {
                let (dx, dy) = (x as f32 - 50.0, y as f32 - 60.0);
                flow.u[y * 112 + x] = c * dx - s * dy - dx + 1.5;
                flow.v[y * 112 + x] = s * dx + c * dy - dy;
            }
        }
        let motion = regions.motion(&flow, None);
        assert!(motion.expressive() < 1e-3 && motion.eyes < 1e-3, "{motion:?}");
    }

    #[test]
    fn regions_sit_where_the_face_parts_are() {
        let r = FaceRegions::from_landmarks(&CROP_LANDMARKS, 112, 112);
        assert!(r.brows[0].y1 < r.eyes[0].y0 + 2, "brows above the eyes");
        assert!(r.eyes[0].y1 < r.nose.y1 && r.nose.y1 < r.mouth.y0 + 10);
        assert!(r.mouth.y1 <= 112 && r.brows[0].y0 > 0);
    }

    #[test]
    fn pixels_past_the_frame_edge_count_for_nothing() {
        let regions = FaceRegions::from_landmarks(&CROP_LANDMARKS, 112, 112);
        // The frame ends at crop row 80: below it the edge row is replicated
        // and slides over the face as the head moves; the mouth lies mostly
        // past it, the brows and cheeks above.
        let inside: Vec<bool> = (0..112 * 112).map(|i| i / 112 < 80).collect();
        let mut flow = FlowField::zeros(112, 112);
        for i in 80 * 112..112 * 112 {
            flow.v[i] = 3.0;
        }
        let unmasked = regions.motion(&flow, None);
        assert!(unmasked.mouth > 2.0, "{unmasked:?}");
        let masked = regions.motion(&flow, Some(&inside));
        assert_eq!((masked.mouth, masked.brows, masked.eyes), (0.0, 0.0, 0.0), "{masked:?}");
        assert!(masked.head[1].abs() < 1e-6, "{masked:?}");
        // A real movement inside the frame is still seen.
        let b = regions.brows[0];
        for y in b.y0..b.y1 {
            for x in b.x0..b.x1 {
                flow.u[y * 112 + x] = 1.5;
            }
        }
        let moved = regions.motion(&flow, Some(&inside));
        assert!((moved.brows - 1.5).abs() < 0.1 && moved.mouth == 0.0, "{moved:?}");
    }
}
