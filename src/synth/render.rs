//! Pixels: the astronaut's head cut out with a soft elliptical edge, scaled
//! onto a plain canvas, and per frame warped by the active expressions and
//! blinks (one `remap` that also carries the head's similarity motion),
//! then sensor noise.
use opencv::core::{self, Mat, Rect, Scalar, Size, Vec3f, CV_32FC1, CV_32FC3, CV_8UC3};
use opencv::imgproc;
use opencv::prelude::*;

use super::face::{self, Bump, Point};
use super::plan::Plan;
use super::{SynthError, SynthSpec};

/// Target cheek-to-cheek width of a face on the canvas, in pixels.
const FACE_WIDTH_PX: f64 = 175.0;
/// Photo pixels kept around the head ellipse in the face layer.
const LAYER_MARGIN: f64 = 10.0;
/// A tight crop spans the face box (cheek to cheek, hairline to chin) and
/// no more, as the face contour bounds CASME II's and SAMM's crops.
const TIGHT_CROP_SPAN: f64 = 1.0;
/// How far a fully closed blink pulls lid and cheek skin over the eye.
const BLINK_SQUASH: f64 = 2.5;

/// A Gaussian bump in layer pixels, its direction already scaled so that
/// the whole class field peaks at a displacement of 1 px.
#[derive(Clone, Copy, Debug)]
struct LayerBump {
    centre: [f64; 2],
    direction: [f64; 2],
    inv_two_sigma2: f64,
    reach2: f64,
}

#[derive(Clone, Debug)]
struct ClassField(Vec<LayerBump>);

impl ClassField {
    fn at(&self, q: [f64; 2]) -> [f64; 2] {
        let mut d = [0.0, 0.0];
        for b in &self.0 {
            let (dx, dy) = (q[0] - b.centre[0], q[1] - b.centre[1]);
            let r2 = dx * dx + dy * dy;
            if r2 < b.reach2 {
                let w = (-r2 * b.inv_two_sigma2).exp();
                d[0] += w * b.direction[0];
                d[1] += w * b.direction[1];
            }
        }
        d
    }
}

/// One face's layer: the scaled head crop with its alpha, and where it sits.
struct FaceLayer {
    image: Mat,
    alpha: Mat,
    /// Layer pixels per photo pixel.
    scale: f64,
    /// Photo position of layer pixel (0, 0).
    origin: Point,
    /// Canvas position of the head centre at rest.
    anchor: [f64; 2],
    /// Canvas pixels this face can touch (rest placement plus motion margin).
    roi: Rect,
    fields: Vec<ClassField>,
    eyes: [[f64; 2]; 2],
    eye_inv_two_sigma2: [f64; 2],
}

impl FaceLayer {
    fn to_layer(&self, p: Point) -> [f64; 2] {
        [(p[0] - self.origin[0]) * self.scale, (p[1] - self.origin[1]) * self.scale]
    }

    /// Photo point → canvas at the rest pose.
    fn to_canvas(&self, p: Point) -> [f64; 2] {
        let q = self.to_layer(p);
        let c = self.to_layer(face::HEAD_CENTRE);
        [q[0] - c[0] + self.anchor[0], q[1] - c[1] + self.anchor[1]]
    }
}

pub struct Renderer {
    spec: SynthSpec,
    plan: Plan,
    background: Mat,
    faces: Vec<FaceLayer>,
}

fn ocv(e: opencv::Error) -> SynthError {
    SynthError::OpenCv(e)
}

impl Renderer {
    pub fn new(spec: &SynthSpec, plan: Plan, photo: &Mat) -> Result<Self, SynthError> {
        let (w, h) = (spec.width as f64, spec.height as f64);
        let slot = w / spec.faces as f64;
        let framing = &spec.framing;
        let mut half = [face::HEAD_SEMI_AXES[0] + LAYER_MARGIN, face::HEAD_SEMI_AXES[1] + LAYER_MARGIN];
        let scale = if framing.tight_crop {
            let (box_w, box_h) = (face::FACE_BOX[2] - face::FACE_BOX[0], face::FACE_BOX[3] - face::FACE_BOX[1]);
            let scale = (w / (box_w * TIGHT_CROP_SPAN)).min(h / (box_h * TIGHT_CROP_SPAN));
            // The layer must cover the whole frame around the face box.
            let centre = face_box_centre();
            for axis in 0..2 {
                let frame_half = [w, h][axis] / (2.0 * scale);
                let reach = (centre[axis] - face::HEAD_CENTRE[axis]).abs() + frame_half + LAYER_MARGIN;
                half[axis] = half[axis].max(reach);
            }
            scale
        } else if let Some(fraction) = framing.face_width {
            fraction * w / face::FACE_WIDTH
        } else {
            (FACE_WIDTH_PX / face::FACE_WIDTH).min(0.95 * slot / (2.0 * half[0])).min(0.95 * h / (2.0 * half[1]))
        };
        let origin = [face::HEAD_CENTRE[0] - half[0], face::HEAD_CENTRE[1] - half[1]];
        let size = Size::new((2.0 * half[0] * scale).round() as i32, (2.0 * half[1] * scale).round() as i32);

        let mut photo_f = Mat::default();
        photo.convert_to(&mut photo_f, CV_32FC3, 1.0, 0.0).map_err(ocv)?;
        let m =
            Mat::from_slice_2d(&[[scale, 0.0, -scale * origin[0]], [0.0, scale, -scale * origin[1]]]).map_err(ocv)?;
        let mut image = Mat::default();
        imgproc::warp_affine(
            &photo_f,
            &mut image,
            &m,
            size,
            imgproc::INTER_CUBIC,
            core::BORDER_REFLECT,
            Scalar::all(0.0),
        )
        .map_err(ocv)?;

        // Soft elliptical alpha: 1 inside 85% of the head ellipse, 0 outside
        // it; a tight crop shows the photo around the head too.
        let mut alpha =
            Mat::new_rows_cols_with_default(size.height, size.width, CV_32FC1, Scalar::all(0.0)).map_err(ocv)?;
        let centre = [(face::HEAD_CENTRE[0] - origin[0]) * scale, (face::HEAD_CENTRE[1] - origin[1]) * scale];
        let axes = [face::HEAD_SEMI_AXES[0] * scale, face::HEAD_SEMI_AXES[1] * scale];
        for y in 0..size.height {
            let row = alpha.at_row_mut::<f32>(y).map_err(ocv)?;
            for (x, a) in row.iter_mut().enumerate() {
                let r = ((x as f64 - centre[0]) / axes[0]).hypot((y as f64 - centre[1]) / axes[1]);
                let t = if framing.tight_crop { 1.0 } else { ((1.0 - r) / 0.15).clamp(0.0, 1.0) };
                *a = (t * t * (3.0 - 2.0 * t)) as f32;
            }
        }

        let background = plain_background(photo, spec)?;
        let iod = face::inter_eye_distance() * scale;
        let margin = (spec.head_motion_px as f64 + 0.02 * size.width.max(size.height) as f64 + 3.0).ceil() as i32;
        let mut faces = Vec::new();
        for i in 0..spec.faces {
            let anchor = match (framing.tight_crop, framing.face_center) {
                (true, _) => face_anchor(scale, [0.5 * w, 0.5 * h]),
                (false, Some((x, y))) => face_anchor(scale, [x * w, y * h]),
                (false, None) => [(i as f64 + 0.5) * slot, 0.5 * h],
            };
            let top_left = [(anchor[0] - centre[0]).floor() as i32, (anchor[1] - centre[1]).floor() as i32];
            let x0 = (top_left[0] - margin).max(0);
            let y0 = (top_left[1] - margin).max(0);
            let x1 = (top_left[0] + size.width + margin).min(spec.width as i32);
            let y1 = (top_left[1] + size.height + margin).min(spec.height as i32);
            let mut layer = FaceLayer {
                image: image.clone(),
                alpha: alpha.clone(),
                scale,
                origin,
                anchor,
                roi: Rect::new(x0, y0, x1 - x0, y1 - y0),
                fields: Vec::new(),
                eyes: [[0.0; 2]; 2],
                eye_inv_two_sigma2: [1.0 / (2.0 * (0.22 * iod).powi(2)), 1.0 / (2.0 * (0.12 * iod).powi(2))],
            };
            layer.eyes = [layer.to_layer(face::LEFT_EYE_OPENING), layer.to_layer(face::RIGHT_EYE_OPENING)];
            layer.fields =
                (0..super::CLASS_NAMES.len()).map(|c| class_field(&layer, &face::class_bumps(c), size)).collect();
            faces.push(layer);
        }
        Ok(Self { spec: spec.clone(), plan, background, faces })
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Canvas box of a face's skin at rest, as (x, y, width, height).
    pub fn face_box(&self, face: usize) -> [f64; 4] {
        let l = &self.faces[face];
        let a = l.to_canvas([face::FACE_BOX[0], face::FACE_BOX[1]]);
        let b = l.to_canvas([face::FACE_BOX[2], face::FACE_BOX[3]]);
        [a[0], a[1], b[0] - a[0], b[1] - a[1]]
    }

    /// A photo point of a face, in canvas pixels at rest.
    pub fn canvas_point(&self, face: usize, p: Point) -> [f64; 2] {
        self.faces[face].to_canvas(p)
    }

    /// The expression displacement (canvas pixels, at rest pose) that frame
    /// `index` applies at photo point `p` of `face`; blinks not included.
    pub fn displacement_at(&self, face: usize, index: u64, p: Point) -> [f64; 2] {
        let layer = &self.faces[face];
        let q = layer.to_layer(p);
        let mut d = [0.0, 0.0];
        for e in self.plan.events.iter().filter(|e| e.face as usize == face) {
            let a = e.strength(index) * e.amplitude_px as f64;
            let f = layer.fields[e.class].at(q);
            d[0] += a * f[0];
            d[1] += a * f[1];
        }
        d
    }

    /// Frame `index` as BGR 8-bit.
    pub fn render(&self, index: u64) -> Result<Mat, SynthError> {
        let mut canvas = self.background.clone();
        for (i, layer) in self.faces.iter().enumerate() {
            self.draw_face(&mut canvas, i as u32, layer, index)?;
        }
        let mut out = with_sensor_noise(canvas, self.spec.noise_sigma, mix(self.spec.seed, index))?;
        if self.spec.framing.grey {
            let mut grey = Mat::default();
            imgproc::cvt_color(&out, &mut grey, imgproc::COLOR_BGR2GRAY, 0).map_err(ocv)?;
            imgproc::cvt_color(&grey, &mut out, imgproc::COLOR_GRAY2BGR, 0).map_err(ocv)?;
        }
        Ok(out)
    }

    fn draw_face(&self, canvas: &mut Mat, face: u32, layer: &FaceLayer, index: u64) -> Result<(), SynthError> {
        let pose = self.plan.pose(face, index);
        let active: Vec<(&ClassField, f64)> = self
            .plan
            .events
            .iter()
            .filter(|e| e.face == face)
            .map(|e| (&layer.fields[e.class], e.strength(index) * e.amplitude_px as f64))
            .filter(|(_, a)| *a > 0.0)
            .collect();
        let closure: f64 =
            self.plan.blinks.iter().filter(|b| b.face == face).map(|b| b.closure(index)).fold(0.0, f64::max);
        let (sin, cos) = (-pose.angle_deg.to_radians()).sin_cos();
        let centre = layer.to_layer(face::HEAD_CENTRE);
        let roi = layer.roi;
        let mut map_x =
            Mat::new_rows_cols_with_default(roi.height, roi.width, CV_32FC1, Scalar::all(0.0)).map_err(ocv)?;
        let mut map_y = map_x.clone();
        // The cut-out's edge follows the head only, not the expression.
        let mut rest_x = map_x.clone();
        let mut rest_y = map_x.clone();
        for v in 0..roi.height {
            let row_x = map_x.at_row_mut::<f32>(v).map_err(ocv)?;
            let row_y = map_y.at_row_mut::<f32>(v).map_err(ocv)?;
            let rest_row_x = rest_x.at_row_mut::<f32>(v).map_err(ocv)?;
            let rest_row_y = rest_y.at_row_mut::<f32>(v).map_err(ocv)?;
            for u in 0..roi.width as usize {
                // Canvas → layer through the inverse head similarity.
                let rx = (roi.x as usize + u) as f64 - layer.anchor[0] - pose.dx;
                let ry = (roi.y + v) as f64 - layer.anchor[1] - pose.dy;
                let q = [cos * rx - sin * ry + centre[0], sin * rx + cos * ry + centre[1]];
                // Backward displacement: a feature at c shows up at c + D(c).
                let mut src = q;
                for (field, amplitude) in &active {
                    let d = field.at(q);
                    src[0] -= amplitude * d[0];
                    src[1] -= amplitude * d[1];
                }
                if closure > 0.0 {
                    for eye in &layer.eyes {
                        let (dx, dy) = (q[0] - eye[0], q[1] - eye[1]);
                        let e = dx * dx * layer.eye_inv_two_sigma2[0] + dy * dy * layer.eye_inv_two_sigma2[1];
                        if e < 12.0 {
                            src[1] += dy * closure * BLINK_SQUASH * (-e).exp();
                        }
                    }
                }
                rest_row_x[u] = q[0] as f32;
                rest_row_y[u] = q[1] as f32;
                row_x[u] = src[0] as f32;
                row_y[u] = src[1] as f32;
            }
        }
        let mut warped = Mat::default();
        imgproc::remap(
            &layer.image,
            &mut warped,
            &map_x,
            &map_y,
            imgproc::INTER_LINEAR,
            core::BORDER_REFLECT,
            Scalar::all(0.0),
        )
        .map_err(ocv)?;
        let mut alpha = Mat::default();
        imgproc::remap(
            &layer.alpha,
            &mut alpha,
            &rest_x,
            &rest_y,
            imgproc::INTER_LINEAR,
            core::BORDER_CONSTANT,
            Scalar::all(0.0),
        )
        .map_err(ocv)?;
        for v in 0..roi.height {
            let a_row = alpha.at_row::<f32>(v).map_err(ocv)?;
            let f_row = warped.at_row::<Vec3f>(v).map_err(ocv)?;
            let c_row =
                &mut canvas.at_row_mut::<Vec3f>(roi.y + v).map_err(ocv)?[roi.x as usize..(roi.x + roi.width) as usize];
            for ((c, f), &a) in c_row.iter_mut().zip(f_row).zip(a_row) {
                if a > 0.0 {
                    for k in 0..3 {
                        c[k] += a * (f[k] - c[k]);
                    }
                }
            }
        }
        Ok(())
    }
}

/// Centre of the face's skin box in the photo.
fn face_box_centre() -> Point {
    [0.5 * (face::FACE_BOX[0] + face::FACE_BOX[2]), 0.5 * (face::FACE_BOX[1] + face::FACE_BOX[3])]
}

/// Canvas position of the head centre that puts the face box's centre at
/// `face_centre` (canvas pixels) for a layer of `scale`.
fn face_anchor(scale: f64, face_centre: [f64; 2]) -> [f64; 2] {
    let c = face_box_centre();
    [face_centre[0] - (c[0] - face::HEAD_CENTRE[0]) * scale, face_centre[1] - (c[1] - face::HEAD_CENTRE[1]) * scale]
}

/// Bumps mapped into the layer, each group's sum scaled to peak at 1 px.
fn class_field(layer: &FaceLayer, bumps: &[Bump], size: Size) -> ClassField {
    let to_layer = |b: &Bump| {
        let sigma = b.sigma * layer.scale;
        LayerBump {
            centre: layer.to_layer(b.centre),
            direction: b.direction,
            inv_two_sigma2: 1.0 / (2.0 * sigma * sigma),
            reach2: (4.0 * sigma).powi(2),
        }
    };
    let mut out = Vec::new();
    let groups: std::collections::BTreeSet<usize> = bumps.iter().map(|b| b.group).collect();
    for group in groups {
        let field = ClassField(bumps.iter().filter(|b| b.group == group).map(to_layer).collect());
        let mut peak = 0.0f64;
        for y in 0..size.height {
            for x in 0..size.width {
                let d = field.at([x as f64, y as f64]);
                peak = peak.max(d[0].hypot(d[1]));
            }
        }
        let k = if peak > 0.0 { 1.0 / peak } else { 0.0 };
        out.extend(field.0.into_iter().map(|b| LayerBump { direction: [b.direction[0] * k, b.direction[1] * k], ..b }));
    }
    ClassField(out)
}

/// The wall colour beside the head, as a gentle top-to-bottom gradient.
fn plain_background(photo: &Mat, spec: &SynthSpec) -> Result<Mat, SynthError> {
    let mut sum = [0.0f64; 3];
    let mut n = 0.0;
    for rect in [Rect::new(128, 30, 20, 40), Rect::new(306, 30, 20, 40)] {
        let mean = core::mean(&Mat::roi(photo, rect).map_err(ocv)?, &core::no_array()).map_err(ocv)?;
        for k in 0..3 {
            sum[k] += mean[k];
        }
        n += 1.0;
    }
    let colour = sum.map(|s| s / n);
    let mut bg = Mat::new_rows_cols_with_default(spec.height as i32, spec.width as i32, CV_32FC3, Scalar::all(0.0))
        .map_err(ocv)?;
    for y in 0..spec.height as i32 {
        let shade = 1.04 - 0.12 * y as f64 / spec.height.max(1) as f64;
        let px = Vec3f::from([(colour[0] * shade) as f32, (colour[1] * shade) as f32, (colour[2] * shade) as f32]);
        for c in bg.at_row_mut::<Vec3f>(y).map_err(ocv)? {
            *c = px;
        }
    }
    Ok(bg)
}

/// A float BGR canvas with Gaussian sensor noise of `sigma` grey levels
/// (drawn from `seed`; none at 0) added, as BGR 8-bit.
pub(super) fn with_sensor_noise(mut canvas: Mat, sigma: f32, seed: u64) -> Result<Mat, SynthError> {
    if sigma > 0.0 {
        let mut noise =
            Mat::new_rows_cols_with_default(canvas.rows(), canvas.cols(), CV_32FC3, Scalar::all(0.0)).map_err(ocv)?;
        let mut rng = core::RNG::new(seed).map_err(ocv)?;
        rng.fill(&mut noise, core::RNG_NORMAL, &Scalar::all(0.0), &Scalar::all(sigma as f64), false).map_err(ocv)?;
        let mut noisy = Mat::default();
        core::add(&canvas, &noise, &mut noisy, &core::no_array(), -1).map_err(ocv)?;
        canvas = noisy;
    }
    let mut out = Mat::default();
    canvas.convert_to(&mut out, CV_8UC3, 1.0, 0.0).map_err(ocv)?;
    Ok(out)
}

/// A per-frame seed for the noise generator.
fn mix(seed: u64, frame: u64) -> u64 {
    let mut rng = crate::train::augment::Rng::new(seed ^ frame.wrapping_mul(0xD6E8_FEB8_6659_FD93));
    rng.next_u64() | 1
}
