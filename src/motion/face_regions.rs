//! How far and which way the FACS-relevant parts of a face moved between an
//! event's onset and apex: the onset→apex flow averaged over small patches
//! around the 68 iBUG points of each region, with head motion removed, in
//! frame pixels and in % of the inter-ocular distance (IOD), turned into the
//! face's own frame (its eye line), plus action-unit *hints* from them.
//!
//! Sides are the person's own: their left eye is iBUG 42–47 (image right
//! for a face looking at the camera). Paired regions report the mean of both
//! sides with x meaning outward (away from the face's midline); midline
//! regions report x toward the person's own left.
use serde::{Deserialize, Serialize};

use super::FlowField;
use crate::face::Similarity;

/// Patch radius around each region point, as a fraction of the IOD: small
/// enough that neighbouring regions (brows and lids, ~0.2 IOD apart) stay
/// apart, large enough to average over flow noise.
const PATCH_RADIUS_IOD: f64 = 0.06;

/// A region moves "in a direction" for hints and labels when that component
/// reaches this share of the IOD (1 %, about 0.6 px on a 60-px IOD: below
/// it TV-L1 noise on a compressed video names directions at random).
pub const HINT_THRESHOLD_IOD_PERCENT: f32 = 1.0;

/// Share of a region's displacement a component needs to be named in its
/// direction label ("up" vs "up-outward").
const LABEL_COMPONENT_SHARE: f32 = 0.4;

/// Samples with the largest residuals dropped per round of the head-motion
/// fit (the expression itself, which is local).
const HEAD_FIT_TRIM: f64 = 0.3;
const HEAD_FIT_ROUNDS: usize = 3;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaceRegion {
    InnerBrows,
    OuterBrows,
    UpperLids,
    Cheeks,
    Nose,
    LipCorners,
    UpperLip,
    LowerLip,
    Chin,
}

impl FaceRegion {
    pub const ALL: [FaceRegion; 9] = [
        FaceRegion::InnerBrows,
        FaceRegion::OuterBrows,
        FaceRegion::UpperLids,
        FaceRegion::Cheeks,
        FaceRegion::Nose,
        FaceRegion::LipCorners,
        FaceRegion::UpperLip,
        FaceRegion::LowerLip,
        FaceRegion::Chin,
    ];

    /// snake_case, as in exports (`inner_brows`).
    pub fn key(self) -> &'static str {
        match self {
            FaceRegion::InnerBrows => "inner_brows",
            FaceRegion::OuterBrows => "outer_brows",
            FaceRegion::UpperLids => "upper_lids",
            FaceRegion::Cheeks => "cheeks",
            FaceRegion::Nose => "nose",
            FaceRegion::LipCorners => "lip_corners",
            FaceRegion::UpperLip => "upper_lip",
            FaceRegion::LowerLip => "lower_lip",
            FaceRegion::Chin => "chin",
        }
    }

    /// Words for people ("inner brows").
    pub fn label(self) -> &'static str {
        match self {
            FaceRegion::InnerBrows => "inner brows",
            FaceRegion::OuterBrows => "outer brows",
            FaceRegion::UpperLids => "upper lids",
            FaceRegion::Cheeks => "cheeks",
            FaceRegion::Nose => "nose",
            FaceRegion::LipCorners => "lip corners",
            FaceRegion::UpperLip => "upper lip",
            FaceRegion::LowerLip => "lower lip",
            FaceRegion::Chin => "chin",
        }
    }

    /// Paired regions have a side on each half of the face.
    pub fn paired(self) -> bool {
        matches!(
            self,
            FaceRegion::InnerBrows
                | FaceRegion::OuterBrows
                | FaceRegion::UpperLids
                | FaceRegion::Cheeks
                | FaceRegion::LipCorners
        )
    }

    /// The region's points, as (the person's right side, left side) for
    /// paired regions and (midline, nothing) for the others. Cheeks are
    /// the centroid of lower lid, nose wing and face contour at that height
    /// (the cheekbone, which AU6 lifts); `Anchor::Mean` marks those.
    fn anchors(self) -> (&'static [Anchor], &'static [Anchor]) {
        use Anchor::{Mean, Point as P};
        match self {
            FaceRegion::InnerBrows => (&[P(21)], &[P(22)]),
            FaceRegion::OuterBrows => (&[P(17), P(18)], &[P(25), P(26)]),
            FaceRegion::UpperLids => (&[P(37), P(38)], &[P(43), P(44)]),
            FaceRegion::Cheeks => (&[Mean([1, 41, 31])], &[Mean([15, 46, 35])]),
            FaceRegion::Nose => (&[P(29), P(31), P(33), P(35)], &[]),
            FaceRegion::LipCorners => (&[P(48), P(60)], &[P(54), P(64)]),
            FaceRegion::UpperLip => (&[P(50), P(51), P(52), P(61), P(62), P(63)], &[]),
            FaceRegion::LowerLip => (&[P(56), P(57), P(58), P(65), P(66), P(67)], &[]),
            FaceRegion::Chin => (&[P(7), P(8), P(9)], &[]),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum Anchor {
    Point(usize),
    Mean([usize; 3]),
}

impl Anchor {
    fn locate(self, points: &[[f32; 2]]) -> [f64; 2] {
        match self {
            Anchor::Point(i) => [f64::from(points[i][0]), f64::from(points[i][1])],
            Anchor::Mean(ids) => {
                let n = ids.len() as f64;
                let sum = ids
                    .iter()
                    .fold([0.0, 0.0], |s, &i| [s[0] + f64::from(points[i][0]), s[1] + f64::from(points[i][1])]);
                [sum[0] / n, sum[1] / n]
            }
        }
    }
}

/// One region's onset→apex displacement, head motion removed, in the
/// face's frame (x along the eye line, y up).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RegionDisplacement {
    pub region: Option<FaceRegion>,
    /// Frame pixels along the eye line: outward (paired regions, mean of
    /// both sides) or toward the person's own left (midline regions).
    pub dx_px: f32,
    /// Frame pixels up the face (perpendicular to the eye line).
    pub dy_px: f32,
    /// Length of (dx, dy), frame pixels.
    pub px: f32,
    /// Length as % of the inter-ocular distance (eye centre to eye centre).
    pub iod_percent: f32,
    /// "up", "down-inward", "left" (person's own), … or "still" below the
    /// hint threshold.
    pub direction: String,
}

impl RegionDisplacement {
    fn new(region: FaceRegion, dx_px: f32, dy_px: f32, iod_px: f32) -> Self {
        let px = dx_px.hypot(dy_px);
        let iod_percent = 100.0 * px / iod_px;
        let to_percent = |c: f32| 100.0 * c / iod_px;
        let direction = direction_label(region.paired(), to_percent(dx_px), to_percent(dy_px));
        Self { region: Some(region), dx_px, dy_px, px, iod_percent, direction }
    }

    /// Up (+) / down (−) component in % IOD.
    pub fn up_percent(&self) -> f32 {
        self.dy_px * self.iod_percent / self.px.max(f32::MIN_POSITIVE)
    }

    /// Outward or person's-left (+) component in % IOD.
    pub fn across_percent(&self) -> f32 {
        self.dx_px * self.iod_percent / self.px.max(f32::MIN_POSITIVE)
    }
}

/// "up", "down-outward", "right" … from components in % IOD; "still" when
/// the motion is under the hint threshold.
fn direction_label(paired: bool, across: f32, up: f32) -> String {
    let length = across.hypot(up);
    if length < HINT_THRESHOLD_IOD_PERCENT {
        return "still".into();
    }
    let vertical = (up.abs() >= LABEL_COMPONENT_SHARE * length).then_some(if up > 0.0 { "up" } else { "down" });
    let horizontal = (across.abs() >= LABEL_COMPONENT_SHARE * length).then_some(match (paired, across > 0.0) {
        (true, true) => "outward",
        (true, false) => "inward",
        (false, true) => "left",
        (false, false) => "right",
    });
    match (vertical, horizontal) {
        (Some(v), Some(h)) => format!("{v}-{h}"),
        (Some(v), None) => v.into(),
        (None, Some(h)) => h.into(),
        (None, None) => "still".into(),
    }
}

/// Why no region motion could be measured.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RegionMotionError {
    #[error("no 68-point landmarks for this face (the face mesh did not run)")]
    NoLandmarks68,
    #[error("expected 68 landmarks, got {0}")]
    WrongPointCount(usize),
    #[error("the eye centres coincide: no inter-ocular distance")]
    NoEyeDistance,
    #[error("the face lies outside the flow field")]
    OutsideFlow,
}

/// Measures every region from the onset→apex `flow`, which covers the crop
/// that `image_to_flow` maps frame pixels into, and the face's 68 iBUG
/// points at onset in frame pixels.
///
/// Head motion is removed by a rigid fit (translation + small rotation) of
/// the flow over the whole face, trimmed of its largest residuals: a median
/// would remove translation only, and a head tilting by half a degree moves
/// brows and chin ~1 px in opposite directions, as much as the expression.
/// Scale is left out of the fit, since brows up with jaw down (surprise) is
/// a vertical stretch a scale term would partly absorb.
pub fn measure_regions(
    flow: &FlowField,
    image_to_flow: &Similarity,
    points: &[[f32; 2]],
) -> Result<Vec<RegionDisplacement>, RegionMotionError> {
    if points.len() != 68 {
        return Err(RegionMotionError::WrongPointCount(points.len()));
    }
    let centre = |ids: std::ops::RangeInclusive<usize>| {
        let n = ids.clone().count() as f64;
        let s = ids.fold([0.0, 0.0], |s, i| [s[0] + f64::from(points[i][0]), s[1] + f64::from(points[i][1])]);
        [s[0] / n, s[1] / n]
    };
    // The person's right eye (image left) and left eye.
    let (right_eye, left_eye) = (centre(36..=41), centre(42..=47));
    let eye_line = [left_eye[0] - right_eye[0], left_eye[1] - right_eye[1]];
    let iod = eye_line[0].hypot(eye_line[1]);
    if !(iod.is_finite() && iod > 1e-6) {
        return Err(RegionMotionError::NoEyeDistance);
    }
    // Face frame in image coordinates: toward the person's left, and up.
    let toward_left = [eye_line[0] / iod, eye_line[1] / iod];
    let up = [toward_left[1], -toward_left[0]];

    let to_flow = |p: [f64; 2]| {
        let q = image_to_flow.apply([p[0] as f32, p[1] as f32]);
        [f64::from(q[0]), f64::from(q[1])]
    };
    let head =
        fit_head_motion(flow, &points.iter().map(|p| to_flow([f64::from(p[0]), f64::from(p[1])])).collect::<Vec<_>>())
            .ok_or(RegionMotionError::OutsideFlow)?;
    let radius = (PATCH_RADIUS_IOD * iod * image_to_flow.scale()).max(1.0);
    let flow_to_image = image_to_flow.inverse();
    // A flow-pixel displacement at `q` as a frame-pixel vector.
    let to_image_vector = |q: [f64; 2], d: [f64; 2]| {
        let a = flow_to_image.apply([q[0] as f32, q[1] as f32]);
        let b = flow_to_image.apply([(q[0] + d[0]) as f32, (q[1] + d[1]) as f32]);
        [f64::from(b[0] - a[0]), f64::from(b[1] - a[1])]
    };
    // Mean residual displacement (frame px, face frame: toward left, up)
    // over the patches of `anchors`.
    let side_motion = |anchors: &[Anchor]| -> Option<[f64; 2]> {
        let mut sum = [0.0, 0.0];
        let mut n = 0usize;
        for anchor in anchors {
            let q = to_flow(anchor.locate(points));
            if let Some(d) = patch_mean(flow, q, radius, &head) {
                let v = to_image_vector(q, d);
                sum[0] += v[0] * toward_left[0] + v[1] * toward_left[1];
                sum[1] += v[0] * up[0] + v[1] * up[1];
                n += 1;
            }
        }
        (n > 0).then(|| [sum[0] / n as f64, sum[1] / n as f64])
    };
    let mut out = Vec::with_capacity(FaceRegion::ALL.len());
    for region in FaceRegion::ALL {
        let (first, second) = region.anchors();
        let motion = if region.paired() {
            // Outward is toward the person's right on their right side.
            match (side_motion(first), side_motion(second)) {
                (Some(r), Some(l)) => Some([(-r[0] + l[0]) / 2.0, (r[1] + l[1]) / 2.0]),
                (Some(r), None) => Some([-r[0], r[1]]),
                (None, Some(l)) => Some(l),
                (None, None) => None,
            }
        } else {
            side_motion(first)
        };
        if let Some([dx, dy]) = motion {
            out.push(RegionDisplacement::new(region, dx as f32, dy as f32, iod as f32));
        }
    }
    if out.is_empty() {
        return Err(RegionMotionError::OutsideFlow);
    }
    Ok(out)
}

/// Rigid head motion in flow pixels: (tx, ty) at `centre`, plus rotation
/// `theta` (radians, small-angle), so that the flow at (x, y) is about
/// `(tx − θ (y − cy), ty + θ (x − cx))`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct HeadMotion {
    centre: [f64; 2],
    t: [f64; 2],
    theta: f64,
}

impl HeadMotion {
    fn at(&self, x: f64, y: f64) -> [f64; 2] {
        let (dx, dy) = (x - self.centre[0], y - self.centre[1]);
        [self.t[0] - self.theta * dy, self.t[1] + self.theta * dx]
    }
}

/// Trimmed least-squares rigid fit of the flow inside the box of the face's
/// points (flow pixels); `None` when the box misses the field.
fn fit_head_motion(flow: &FlowField, points: &[[f64; 2]]) -> Option<HeadMotion> {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in points {
        x0 = x0.min(p[0]);
        y0 = y0.min(p[1]);
        x1 = x1.max(p[0]);
        y1 = y1.max(p[1]);
    }
    let clamp_x = |v: f64| v.round().clamp(0.0, flow.width as f64 - 1.0) as usize;
    let clamp_y = |v: f64| v.round().clamp(0.0, flow.height as f64 - 1.0) as usize;
    if x1 < 0.0 || y1 < 0.0 || x0 > flow.width as f64 - 1.0 || y0 > flow.height as f64 - 1.0 {
        return None;
    }
    let mut samples: Vec<(f64, f64, f64, f64)> = Vec::new();
    for y in clamp_y(y0)..=clamp_y(y1) {
        for x in clamp_x(x0)..=clamp_x(x1) {
            let i = y * flow.width + x;
            let (u, v) = (f64::from(flow.u[i]), f64::from(flow.v[i]));
            if u.is_finite() && v.is_finite() {
                samples.push((x as f64, y as f64, u, v));
            }
        }
    }
    if samples.len() < 3 {
        return None;
    }
    let mut fit = rigid_fit(&samples);
    for _ in 1..HEAD_FIT_ROUNDS {
        let residual = |s: &(f64, f64, f64, f64)| {
            let m = fit.at(s.0, s.1);
            (s.2 - m[0]).hypot(s.3 - m[1])
        };
        samples.sort_by(|a, b| residual(a).total_cmp(&residual(b)));
        let keep = ((samples.len() as f64) * (1.0 - HEAD_FIT_TRIM)).ceil() as usize;
        samples.truncate(keep.max(3));
        fit = rigid_fit(&samples);
    }
    Some(fit)
}

fn rigid_fit(samples: &[(f64, f64, f64, f64)]) -> HeadMotion {
    let n = samples.len() as f64;
    let (mut cx, mut cy, mut mu, mut mv) = (0.0, 0.0, 0.0, 0.0);
    for s in samples {
        cx += s.0;
        cy += s.1;
        mu += s.2;
        mv += s.3;
    }
    let (cx, cy, mu, mv) = (cx / n, cy / n, mu / n, mv / n);
    // With coordinates centred on the samples' mean the translation is the
    // mean flow and the rotation decouples from it.
    let (mut num, mut den) = (0.0, 0.0);
    for s in samples {
        let (x, y) = (s.0 - cx, s.1 - cy);
        num += (s.3 - mv) * x - (s.2 - mu) * y;
        den += x * x + y * y;
    }
    let theta = if den > 0.0 { num / den } else { 0.0 };
    HeadMotion { centre: [cx, cy], t: [mu, mv], theta }
}

/// Mean flow minus head motion over the disc of `radius` around `q` (flow
/// pixels); `None` when the disc misses the field.
fn patch_mean(flow: &FlowField, q: [f64; 2], radius: f64, head: &HeadMotion) -> Option<[f64; 2]> {
    let r = radius.ceil() as i64;
    let (qx, qy) = (q[0].round() as i64, q[1].round() as i64);
    let (mut su, mut sv, mut n) = (0.0, 0.0, 0usize);
    for y in (qy - r).max(0)..=(qy + r).min(flow.height as i64 - 1) {
        for x in (qx - r).max(0)..=(qx + r).min(flow.width as i64 - 1) {
            let (fx, fy) = (x as f64, y as f64);
            if (fx - q[0]).hypot(fy - q[1]) > radius {
                continue;
            }
            let i = y as usize * flow.width + x as usize;
            let m = head.at(fx, fy);
            su += f64::from(flow.u[i]) - m[0];
            sv += f64::from(flow.v[i]) - m[1];
            n += 1;
        }
    }
    (n > 0).then(|| [su / n as f64, sv / n as f64])
}

/// A generic frontal face's 68 iBUG points, eye midpoint at the origin,
/// one inter-ocular distance per unit, y down (image convention): the
/// outline the event details draw, and the face unit tests move. Proportions
/// as on the astronaut the synthetic clips are made from (mouth 0.93 IOD
/// and chin 1.8 IOD below the eyes, cheek to cheek 2.2 IOD).
pub fn face_template_68() -> [[f32; 2]; 68] {
    let mut p = [[0.0f32; 2]; 68];
    // Jaw 0–16: the lower half of an ellipse, ear to ear through the chin.
    for (i, point) in p.iter_mut().take(17).enumerate() {
        let t = std::f32::consts::PI * (1.0 - i as f32 / 16.0);
        *point = [1.1 * t.cos(), 0.2 + 1.6 * t.sin()];
    }
    #[rustfmt::skip]
    let rest: [[f32; 2]; 51] = [
        // Brows 17–21 (person's right, outer → inner), 22–26 (inner → outer).
        [-0.85, -0.30], [-0.70, -0.38], [-0.55, -0.40], [-0.38, -0.37], [-0.22, -0.32],
        [0.22, -0.32], [0.38, -0.37], [0.55, -0.40], [0.70, -0.38], [0.85, -0.30],
        // Nose bridge 27–30 to the tip, base 31–35.
        [0.0, -0.05], [0.0, 0.15], [0.0, 0.35], [0.0, 0.55],
        [-0.22, 0.65], [-0.11, 0.68], [0.0, 0.70], [0.11, 0.68], [0.22, 0.65],
        // Person's right eye 36–41, left eye 42–47.
        [-0.72, 0.0], [-0.58, -0.08], [-0.42, -0.08], [-0.28, 0.0], [-0.42, 0.06], [-0.58, 0.06],
        [0.28, 0.0], [0.42, -0.08], [0.58, -0.08], [0.72, 0.0], [0.58, 0.06], [0.42, 0.06],
        // Outer lip 48–59, inner lip 60–67.
        [-0.40, 0.95], [-0.25, 0.88], [-0.10, 0.85], [0.0, 0.87], [0.10, 0.85], [0.25, 0.88],
        [0.40, 0.95], [0.25, 1.05], [0.12, 1.09], [0.0, 1.10], [-0.12, 1.09], [-0.25, 1.05],
        [-0.33, 0.95], [-0.10, 0.92], [0.0, 0.93], [0.10, 0.92], [0.33, 0.95], [0.10, 0.98],
        [0.0, 0.99], [-0.10, 0.98],
    ];
    p[17..].copy_from_slice(&rest);
    p
}

impl FaceRegion {
    /// The region's place on each side of [`face_template_68`]: two points
    /// for paired regions (person's right first), one for the others.
    pub fn template_sides(self) -> Vec<[f32; 2]> {
        let template = face_template_68();
        let (first, second) = self.anchors();
        [first, second]
            .iter()
            .filter(|anchors| !anchors.is_empty())
            .map(|anchors| {
                let n = anchors.len() as f64;
                let s = anchors.iter().fold([0.0, 0.0], |s, a| {
                    let p = a.locate(&template);
                    [s[0] + p[0], s[1] + p[1]]
                });
                [(s[0] / n) as f32, (s[1] / n) as f32]
            })
            .collect()
    }
}

/// Which way a region must move for a hint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintMotion {
    Up,
    Down,
    /// Paired regions: toward the midline.
    Inward,
}

/// Candidate action units from region motion: a region moving this way by
/// at least [`HINT_THRESHOLD_IOD_PERCENT`] suggests the AU. After the
/// appearance changes of FACS (Ekman & Friesen 1978; Ekman, Friesen &
/// Hager 2002): AU1 raises the inner brows, AU2 the outer; AU4 lowers and
/// draws them together; AU5 raises the upper lids; AU6 lifts the cheeks;
/// AU9 wrinkles the nose upward; AU10 raises the upper lip; AU12 pulls the
/// lip corners up and out, AU15 down; AU17 pushes the chin up; AU25/26 part
/// the lips and drop the jaw. These are hints to look at, not detections:
/// one region's motion fits several AUs and flow is noisy.
pub const AU_HINTS: [(FaceRegion, HintMotion, &str); 12] = [
    (FaceRegion::InnerBrows, HintMotion::Up, "inner brows up: AU1?"),
    (FaceRegion::OuterBrows, HintMotion::Up, "outer brows up: AU2?"),
    (FaceRegion::InnerBrows, HintMotion::Down, "brows down: AU4?"),
    (FaceRegion::InnerBrows, HintMotion::Inward, "brows together: AU4?"),
    (FaceRegion::UpperLids, HintMotion::Up, "upper lids up: AU5?"),
    (FaceRegion::Cheeks, HintMotion::Up, "cheeks up: AU6?"),
    (FaceRegion::Nose, HintMotion::Up, "nose wrinkle up: AU9?"),
    (FaceRegion::UpperLip, HintMotion::Up, "upper lip up: AU10?"),
    (FaceRegion::LipCorners, HintMotion::Up, "lip corners up: AU12?"),
    (FaceRegion::LipCorners, HintMotion::Down, "lip corners down: AU15?"),
    (FaceRegion::Chin, HintMotion::Up, "chin up: AU17?"),
    (FaceRegion::LowerLip, HintMotion::Down, "lips apart: AU25/26?"),
];

impl HintMotion {
    /// This component of `d`, in % IOD (positive when it moves this way).
    fn component(self, d: &RegionDisplacement) -> f32 {
        match self {
            HintMotion::Up => d.up_percent(),
            HintMotion::Down => -d.up_percent(),
            HintMotion::Inward => -d.across_percent(),
        }
    }
}

/// The hints of [`AU_HINTS`] that `regions` meet, strongest first, with
/// one hint per AU text prefix kept ("brows down" and "brows together"
/// both stay: they say different things).
pub fn au_hints(regions: &[RegionDisplacement]) -> Vec<String> {
    let mut met: Vec<(f32, &str)> = AU_HINTS
        .iter()
        .filter_map(|(region, motion, text)| {
            let d = regions.iter().find(|d| d.region == Some(*region))?;
            let amount = motion.component(d);
            (amount >= HINT_THRESHOLD_IOD_PERCENT).then_some((amount, *text))
        })
        .collect();
    met.sort_by(|a, b| b.0.total_cmp(&a.0));
    met.into_iter().map(|(_, text)| text.to_string()).collect()
}

/// The regions that moved past the hint threshold, strongest first, in
/// words: "lower lip down 2.9 % IOD (1.8 px), inner brows up 2.3 % IOD
/// (1.4 px)"; "no region moved 1 % IOD" when none did.
pub fn region_summary(regions: &[RegionDisplacement]) -> String {
    let mut moved: Vec<&RegionDisplacement> =
        regions.iter().filter(|d| d.iod_percent >= HINT_THRESHOLD_IOD_PERCENT).collect();
    if moved.is_empty() {
        return format!("no region moved {HINT_THRESHOLD_IOD_PERCENT} % IOD");
    }
    moved.sort_by(|a, b| b.iod_percent.total_cmp(&a.iod_percent));
    moved
        .iter()
        .map(|d| {
            let name = d.region.map_or("region", FaceRegion::label);
            format!("{name} {} {:.1} % IOD ({:.1} px)", d.direction, d.iod_percent, d.px)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The region that moved most (by % IOD), if any moved past the threshold.
pub fn strongest_region(regions: &[RegionDisplacement]) -> Option<&RegionDisplacement> {
    regions
        .iter()
        .filter(|d| d.iod_percent >= HINT_THRESHOLD_IOD_PERCENT)
        .max_by(|a, b| a.iod_percent.total_cmp(&b.iod_percent))
}

#[cfg(test)]
mod tests;
