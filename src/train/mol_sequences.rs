//! Eight-frame clips for MOL rendered from one composite sample (a 28 x 28
//! onset -> apex flow image and the apex face crop), with exact flow and
//! landmark targets.
//!
//! **Flow decoding.** Each channel of the flow PNG is min-max scaled to
//! 0..255 per image, so neither its zero nor its gain is stored. The zero
//! of u and of v is taken as the channel's median over the image (the
//! crop is the face, and most of a face does not move in a
//! micro-expression); u and v are assumed to share one gain (the only
//! assumption available: the true ratio is lost), and the field is scaled
//! so that its largest displacement is 1, then by a peak drawn uniformly
//! from `peak_px_at_128` (0.3-3 px at 128 px, the range of micro-expression
//! motion there) times `side / 128`. A constant channel pair decodes to no
//! motion. The 28 x 28 field is upsampled bilinearly to the frame side.
//!
//! **Frames.** With `F` the decoded onset -> apex flow (the onset at `y`
//! shows what the apex shows at `y + F(y)`), frame `t` is the apex `A`
//! sampled through a displacement map, `I_t(y) = A(y + D_t(y))`. The clip
//! goes from a pseudo-onset (`D_0 = F`) to the apex and back: frame `t`
//! holds about `alpha_t` of the motion, [`ALPHAS`] = 1, 3/4, 1/2, 1/4, 0,
//! 1/3, 2/3, 1 (four steps up to the apex at frame 4, three back down).
//!
//! **Flow targets, exact by construction.** The target of pair `t` is
//! `g_t = (alpha_{t+1} - alpha_t) F`, and the maps are chained through it,
//! `D_{t+1}(y) = g_t(y) + D_t(y + g_t(y))`, so that `I_{t+1}(y) = I_t(y +
//! g_t(y))` holds as an identity of the continuous images: backward-warping
//! frame `t` by the target gives frame `t + 1`. (The rendered frames are
//! sampled bilinearly from `A` once each, never from one another, so they
//! stay sharp; the only gap between the warped frame and the next one is
//! bilinear interpolation of frame `t`, measured in the tests.) Targets are
//! in pixels of the frame side, channel 0 along x, channel 1 along y.
//! `D_4` is the apex's map only to first order (the chained steps do not
//! cancel exactly), so frame 4 is the apex up to a small residual motion.
//!
//! **Landmarks.** A point at `p` in the apex appears in frame `t` at the
//! `y` with `y + D_t(y) = p`, found by fixed-point iteration (`D_t` is a
//! small smooth displacement, so the iteration contracts).
//!
//! **Noise.** Gaussian sensor noise of `noise_grey_levels` / 255, drawn per
//! pixel from a seeded generator, is added to the frames (not clamped).
use serde::{Deserialize, Serialize};

use super::augment::Rng;
use crate::model::input::{INPUT_CHANNELS, INPUT_SIDE};

/// Frames per clip.
pub const FRAMES: usize = 8;
/// Share of the onset -> apex motion each frame still holds.
pub const ALPHAS: [f32; FRAMES] = [1.0, 0.75, 0.5, 0.25, 0.0, 1.0 / 3.0, 2.0 / 3.0, 1.0];
/// Points per face (iBUG 300-W).
pub const LANDMARKS: usize = 68;

#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SequenceSettings {
    /// Side of the rendered frames in pixels (the model's `image_size`).
    pub side: usize,
    /// Range of the peak displacement, in pixels at a 128 px side.
    pub peak_px_at_128: [f32; 2],
    /// Standard deviation of the sensor noise, in grey levels of 255.
    pub noise_grey_levels: f32,
}

impl SequenceSettings {
    pub fn new(side: usize) -> Self {
        Self { side, peak_px_at_128: [0.3, 3.0], noise_grey_levels: 2.0 }
    }

    /// These settings with the peak displacement drawn from `[low, high]`
    /// px at 128 instead (MOL-lite's `--peak-px`); refuses a range that is
    /// not `0 < low <= high < infinity`.
    pub fn with_peak_px_at_128(self, range: [f32; 2]) -> Result<Self, SequenceError> {
        let [low, high] = range;
        if !(low > 0.0 && low <= high && high.is_finite()) {
            return Err(SequenceError::PeakRange { low, high });
        }
        Ok(Self { peak_px_at_128: range, ..self })
    }
}

/// One sample's apex face at the frame side.
#[derive(Clone, Debug, PartialEq)]
pub struct ApexFace {
    pub side: usize,
    /// Grey levels in 0..1, row-major.
    pub grey: Vec<f32>,
    /// The 68 iBUG points in pixels of this side (pixel centres at integers).
    pub landmarks: [[f32; 2]; LANDMARKS],
}

/// A rendered clip and its targets.
#[derive(Clone, Debug, PartialEq)]
pub struct Sequence {
    pub side: usize,
    /// `[FRAMES, side, side]` grey levels in 0..1 plus noise.
    pub frames: Vec<f32>,
    /// `[FRAMES - 1, 2, side, side]`: pair `t`'s target `g_t` (x, then y).
    pub flows: Vec<f32>,
    /// `[FRAMES][LANDMARKS]` points in pixels.
    pub landmarks: Vec<[[f32; 2]; LANDMARKS]>,
    /// The peak displacement drawn, in pixels of this side.
    pub peak_px: f32,
}

#[derive(Debug, thiserror::Error)]
pub enum SequenceError {
    #[error("a flow image of {expected} values was expected, found {found}")]
    FlowSize { expected: usize, found: usize },
    #[error("the apex face is {found} values for a {side} px side")]
    ApexSize { side: usize, found: usize },
    #[error("the peak displacement range must satisfy 0 < low <= high, found {low}..{high}")]
    PeakRange { low: f32, high: f32 },
}

/// The 28 x 28 flow image (CHW in 0..1, `model::input`) -> the decoded
/// onset -> apex field, `[u plane, v plane]`, largest magnitude 1 (all zero
/// when the image holds no motion).
pub fn unit_flow(flow: &[f32]) -> Result<[Vec<f32>; 2], SequenceError> {
    let plane = INPUT_SIDE * INPUT_SIDE;
    if flow.len() != INPUT_CHANNELS * plane {
        return Err(SequenceError::FlowSize { expected: INPUT_CHANNELS * plane, found: flow.len() });
    }
    let centred = |channel: &[f32]| {
        let mut sorted = channel.to_vec();
        sorted.sort_by(f32::total_cmp);
        // Even count: the mean of the two middle values.
        let median = 0.5 * (sorted[plane / 2 - 1] + sorted[plane / 2]);
        channel.iter().map(|v| v - median).collect::<Vec<f32>>()
    };
    let (u, v) = (centred(&flow[..plane]), centred(&flow[plane..2 * plane]));
    let peak = u.iter().zip(&v).map(|(a, b)| a.hypot(*b)).fold(0.0f32, f32::max);
    if peak < 1e-6 {
        return Ok([vec![0.0; plane], vec![0.0; plane]]);
    }
    Ok([u.iter().map(|a| a / peak).collect(), v.iter().map(|b| b / peak).collect()])
}

/// Bilinear sample of a `side` x `side` plane at (x, y), edges replicated.
pub fn sample(plane: &[f32], side: usize, x: f32, y: f32) -> f32 {
    let last = (side - 1) as f32;
    let (x, y) = (x.clamp(0.0, last), y.clamp(0.0, last));
    let (x0, y0) = (x.floor() as usize, y.floor() as usize);
    let (x1, y1) = ((x0 + 1).min(side - 1), (y0 + 1).min(side - 1));
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let at = |xx: usize, yy: usize| plane[yy * side + xx];
    let top = at(x0, y0) + (at(x1, y0) - at(x0, y0)) * fx;
    let bottom = at(x0, y1) + (at(x1, y1) - at(x0, y1)) * fx;
    top + (bottom - top) * fy
}

/// Backward warp: `out(y) = plane(y + flow(y))`, bilinear, edges replicated.
pub fn warp(plane: &[f32], flow_x: &[f32], flow_y: &[f32], side: usize) -> Vec<f32> {
    (0..side * side)
        .map(|i| sample(plane, side, (i % side) as f32 + flow_x[i], (i / side) as f32 + flow_y[i]))
        .collect()
}

/// A 28 x 28 plane upsampled bilinearly to `side` (pixel centres aligned,
/// as `align_corners = false`).
fn upsample(plane: &[f32], side: usize) -> Vec<f32> {
    let scale = INPUT_SIDE as f32 / side as f32;
    (0..side * side)
        .map(|i| {
            let source = |p: usize| (p as f32 + 0.5) * scale - 0.5;
            sample(plane, INPUT_SIDE, source(i % side), source(i / side))
        })
        .collect()
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut Rng) -> f32 {
    let u1 = rng.unit().max(f64::MIN_POSITIVE);
    let u2 = rng.unit();
    ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
}

/// Renders one clip. `unit` is [`unit_flow`]'s field; the peak and the
/// noise come from `rng`, so one seed gives one clip.
pub fn render(
    apex: &ApexFace,
    unit: &[Vec<f32>; 2],
    settings: &SequenceSettings,
    rng: &mut Rng,
) -> Result<Sequence, SequenceError> {
    let side = settings.side;
    if apex.side != side || apex.grey.len() != side * side {
        return Err(SequenceError::ApexSize { side, found: apex.grey.len() });
    }
    let plane = INPUT_SIDE * INPUT_SIDE;
    if unit[0].len() != plane || unit[1].len() != plane {
        return Err(SequenceError::FlowSize { expected: plane, found: unit[0].len().min(unit[1].len()) });
    }
    let [low, high] = settings.peak_px_at_128;
    let peak_px = (low + (high - low) * rng.unit() as f32) * side as f32 / 128.0;
    let field = [upsample(&unit[0], side), upsample(&unit[1], side)];
    let pixels = side * side;
    let mut map = [field[0].iter().map(|f| f * peak_px).collect::<Vec<f32>>(), Vec::new()];
    map[1] = field[1].iter().map(|f| f * peak_px).collect();
    let mut maps = vec![map];
    let mut flows = Vec::with_capacity((FRAMES - 1) * 2 * pixels);
    for t in 0..FRAMES - 1 {
        let step = (ALPHAS[t + 1] - ALPHAS[t]) * peak_px;
        let gx: Vec<f32> = field[0].iter().map(|f| f * step).collect();
        let gy: Vec<f32> = field[1].iter().map(|f| f * step).collect();
        let previous = &maps[t];
        // D_{t+1}(y) = g_t(y) + D_t(y + g_t(y)).
        let next: [Vec<f32>; 2] = [0, 1].map(|axis| {
            (0..pixels)
                .map(|i| {
                    let (x, y) = ((i % side) as f32 + gx[i], (i / side) as f32 + gy[i]);
                    [&gx, &gy][axis][i] + sample(&previous[axis], side, x, y)
                })
                .collect()
        });
        flows.extend_from_slice(&gx);
        flows.extend_from_slice(&gy);
        maps.push(next);
    }
    let noise = settings.noise_grey_levels / 255.0;
    let mut frames = Vec::with_capacity(FRAMES * pixels);
    let mut landmarks = Vec::with_capacity(FRAMES);
    for map in &maps {
        frames.extend(warp(&apex.grey, &map[0], &map[1], side).into_iter().map(|g| g + noise * normal(rng)));
        landmarks.push(apex.landmarks.map(|p| carried_point(p, map, side)));
    }
    Ok(Sequence { side, frames, flows, landmarks, peak_px })
}

/// The `y` with `y + D(y) = p`, by fixed-point iteration from `p`.
fn carried_point(p: [f32; 2], map: &[Vec<f32>; 2], side: usize) -> [f32; 2] {
    let mut y = p;
    for _ in 0..20 {
        y = [p[0] - sample(&map[0], side, y[0], y[1]), p[1] - sample(&map[1], side, y[0], y[1])];
    }
    y
}

/// Mean distance between the eye centres (points 36-41 and 42-47), as the
/// official `get_pupil_distance`: the landmark error's normaliser.
pub fn inter_ocular(points: &[[f32; 2]]) -> f32 {
    let centre = |range: std::ops::Range<usize>| {
        let n = range.len() as f32;
        let (sx, sy) = points[range].iter().fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
        [sx / n, sy / n]
    };
    let (left, right) = (centre(36..42), centre(42..48));
    (right[0] - left[0]).hypot(right[1] - left[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth test face: long-wavelength grey pattern in 0..1.
    fn smooth_apex(side: usize) -> ApexFace {
        let grey = (0..side * side)
            .map(|i| {
                let (x, y) = ((i % side) as f32, (i / side) as f32);
                0.5 + 0.25 * (x * 0.15).sin() * (y * 0.11).cos() + 0.15 * ((x + y) * 0.09).sin()
            })
            .collect();
        let mut landmarks = [[0.0f32; 2]; LANDMARKS];
        for (k, p) in landmarks.iter_mut().enumerate() {
            *p = [8.0 + (k % 10) as f32 * 5.0, 10.0 + (k / 10) as f32 * 6.0];
        }
        ApexFace { side, grey, landmarks }
    }

    /// A flow image whose u and v are Gaussian bumps `spread` (pixels^2 of
    /// the 28 x 28 image) wide on a still background.
    fn bump_flow(spread: f32) -> Vec<f32> {
        let plane = INPUT_SIDE * INPUT_SIDE;
        let mut flow = vec![0.0f32; 3 * plane];
        for i in 0..plane {
            let (x, y) = ((i % INPUT_SIDE) as f32, (i / INPUT_SIDE) as f32);
            flow[i] = 0.4 + 0.3 * (-((x - 9.0).powi(2) + (y - 18.0).powi(2)) / spread).exp();
            flow[plane + i] = 0.6 - 0.4 * (-((x - 18.0).powi(2) + (y - 9.0).powi(2)) / (1.25 * spread)).exp();
            flow[2 * plane + i] = 0.5;
        }
        flow
    }

    #[test]
    fn unit_flow_zero_is_the_median_and_peak_is_one() {
        // Narrow bumps: the still background is most of the image.
        let unit = unit_flow(&bump_flow(8.0)).expect("decodes");
        let peak = unit[0].iter().zip(&unit[1]).map(|(a, b)| a.hypot(*b)).fold(0.0f32, f32::max);
        assert!((peak - 1.0).abs() < 1e-6, "peak {peak}");
        // Far from both bumps the flow is at its zero level.
        let corner = INPUT_SIDE * INPUT_SIDE - 1;
        assert!(
            unit[0][corner].abs() < 1e-3 && unit[1][corner].abs() < 1e-3,
            "{} {}",
            unit[0][corner],
            unit[1][corner]
        );
        // The v bump is a dip: negative (upward) motion.
        let v_bump = 9 * INPUT_SIDE + 18;
        assert!(unit[1][v_bump] < -0.9, "{}", unit[1][v_bump]);
        let still = unit_flow(&vec![0.5; 3 * 28 * 28]).expect("decodes");
        assert!(still[0].iter().chain(&still[1]).all(|v| *v == 0.0));
        let message = unit_flow(&[0.0; 10]).expect_err("too short").to_string();
        assert!(message.contains("2352") && message.contains("10"), "{message}");
    }

    /// Backward-warping frame t by pair t's target gives frame t+1, up to
    /// bilinear interpolation of frame t, whose error is at most
    /// max|f''| / 8 per sample (pixel spacing 1): 1.4e-3 grey (0..1) for
    /// this pattern, at the largest peak (3 px at 128).
    #[test]
    fn warping_a_frame_by_its_target_gives_the_next_frame() {
        let side = 64;
        let apex = smooth_apex(side);
        let unit = unit_flow(&bump_flow(30.0)).expect("decodes");
        let settings = SequenceSettings { side, peak_px_at_128: [3.0, 3.0], noise_grey_levels: 0.0 };
        let clip = render(&apex, &unit, &settings, &mut Rng::new(1)).expect("renders");
        assert!((clip.peak_px - 1.5).abs() < 1e-6);
        let pixels = side * side;
        let mut worst = 0.0f32;
        let mut moved = 0.0f32;
        for t in 0..FRAMES - 1 {
            let frame = &clip.frames[t * pixels..(t + 1) * pixels];
            let next = &clip.frames[(t + 1) * pixels..(t + 2) * pixels];
            let flow = &clip.flows[t * 2 * pixels..(t + 1) * 2 * pixels];
            let warped = warp(frame, &flow[..pixels], &flow[pixels..], side);
            for i in 0..pixels {
                worst = worst.max((warped[i] - next[i]).abs());
                moved = moved.max((frame[i] - next[i]).abs());
            }
        }
        // |f''| of the pattern: 0.25 (0.15^2 + 0.11^2) + 0.15 * 2 * 0.09^2.
        let bound = (0.25 * (0.15f32.powi(2) + 0.11f32.powi(2)) + 0.15 * 2.0 * 0.09f32.powi(2)) / 8.0;
        assert!(worst < bound, "warped frame differs from the next by {worst}, over the bound {bound}");
        assert!(moved > 10.0 * worst, "the frames barely move: {moved} vs {worst}");
    }

    /// A wider peak range scales the motion, targets and frame changes
    /// alike: the same clip drawn at 4x the peak has 4x the targets.
    #[test]
    fn a_larger_peak_range_renders_proportionally_larger_motion() {
        let side = 64;
        let apex = smooth_apex(side);
        let unit = unit_flow(&bump_flow(30.0)).expect("decodes");
        let quiet = SequenceSettings { noise_grey_levels: 0.0, ..SequenceSettings::new(side) };
        let low = quiet.with_peak_px_at_128([1.0, 1.0]).expect("1 px");
        let high = quiet.with_peak_px_at_128([4.0, 4.0]).expect("4 px");
        let (a, b) = (
            render(&apex, &unit, &low, &mut Rng::new(2)).expect("renders"),
            render(&apex, &unit, &high, &mut Rng::new(2)).expect("renders"),
        );
        assert!((b.peak_px - 4.0 * a.peak_px).abs() < 1e-6, "{} vs {}", a.peak_px, b.peak_px);
        let largest = |v: &[f32]| v.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let ratio = largest(&b.flows) / largest(&a.flows);
        assert!((ratio - 4.0).abs() < 1e-4, "targets scale by {ratio}");
        // Largest change of a pixel from one frame to the next.
        let change = |c: &Sequence| {
            let steps: Vec<f32> = c.frames.iter().zip(&c.frames[side * side..]).map(|(x, y)| y - x).collect();
            largest(&steps)
        };
        assert!(change(&b) > 3.0 * change(&a), "frame changes {} vs {}", change(&a), change(&b));
        for bad in [[0.0, 1.0], [2.0, 1.0], [1.0, f32::INFINITY], [f32::NAN, 1.0]] {
            let message = quiet.with_peak_px_at_128(bad).expect_err("bad range").to_string();
            assert!(message.contains("peak displacement range"), "{bad:?}: {message}");
        }
    }

    #[test]
    fn landmarks_follow_the_warp_and_the_apex_frame_is_the_apex() {
        let side = 64;
        let apex = smooth_apex(side);
        let unit = unit_flow(&bump_flow(30.0)).expect("decodes");
        let settings = SequenceSettings { side, peak_px_at_128: [3.0, 3.0], noise_grey_levels: 0.0 };
        let clip = render(&apex, &unit, &settings, &mut Rng::new(1)).expect("renders");
        let pixels = side * side;
        // Frame 4 holds the apex up to the chained steps' second-order residue.
        let apex_frame = &clip.frames[4 * pixels..5 * pixels];
        let gap = apex_frame.iter().zip(&apex.grey).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        assert!(gap < 5e-3, "frame 4 differs from the apex by {gap}");
        let onset_shift = clip.landmarks[0]
            .iter()
            .zip(&apex.landmarks)
            .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
            .fold(0.0f32, f32::max);
        assert!(onset_shift > 0.5 && onset_shift < 1.6, "onset landmarks moved by {onset_shift} px");
        let apex_shift = clip.landmarks[4]
            .iter()
            .zip(&apex.landmarks)
            .map(|(a, b)| (a[0] - b[0]).hypot(a[1] - b[1]))
            .fold(0.0f32, f32::max);
        // The chained steps' residue: a few per cent of the 1.5 px peak.
        assert!(apex_shift < 0.1, "apex-frame landmarks moved by {apex_shift} px");
    }

    #[test]
    fn inter_ocular_distance_of_two_eye_rings() {
        let mut points = [[0.0f32; 2]; LANDMARKS];
        for (i, p) in points[36..42].iter_mut().enumerate() {
            *p = [10.0 + i as f32, 20.0];
        }
        for (i, p) in points[42..48].iter_mut().enumerate() {
            *p = [40.0 + i as f32, 24.0];
        }
        assert!((inter_ocular(&points) - 30.0f32.hypot(4.0)).abs() < 1e-5);
    }
}
