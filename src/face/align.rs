//! Alignment: a similarity transform taking a face's five landmarks onto a
//! canonical template, and the warp that produces the square face crop.
use opencv::core::{Mat, MatTraitConst, Scalar, Size, CV_64F};
use opencv::imgproc;
use serde::{Deserialize, Serialize};

use super::{FaceError, Landmarks};

/// Side of the canonical face crop, in pixels.
pub const CROP_SIDE: i32 = 112;

/// The ArcFace (insightface) 5-point template for 112 x 112 crops.
const ARCFACE_112: Landmarks =
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/// How much the ArcFace template is shrunk about the crop centre. ArcFace
/// crops are tight for recognition: the chin touches the bottom edge and
/// the forehead is cut just above the brows. Micro-expressions live in the
/// brows (AU1/2/4) and mouth corners (AU12/14/15), and motion analysis
/// needs a margin around them, so the face is made smaller: eyes-to-mouth
/// becomes about 33 px of 112 (ArcFace: 41), leaving the brows and a band
/// of forehead above them and the chin inside the crop.
const TEMPLATE_SHRINK: f32 = 0.8;

/// Upward shift of the shrunk template, in 112-px crop pixels: shrinking
/// about the centre alone leaves more room above the brows than below the
/// chin; this balances the two margins (checked on the astronaut photo).
const TEMPLATE_SHIFT_UP: f32 = 3.0;

/// The five canonical landmark positions in a `side` x `side` crop, in
/// [`Landmarks`] order.
pub fn canonical_landmarks(side: f32) -> Landmarks {
    let unit = side / 112.0;
    let mut out = [[0.0f32; 2]; 5];
    for (o, p) in out.iter_mut().zip(ARCFACE_112) {
        *o = [
            (56.0 + (p[0] - 56.0) * TEMPLATE_SHRINK) * unit,
            (56.0 + (p[1] - 56.0) * TEMPLATE_SHRINK - TEMPLATE_SHIFT_UP) * unit,
        ];
    }
    out
}

/// The framing of the MEGC2019 training flow (tight face crops: eyes a
/// third of the way down and 0.4 of the width apart, mouth corners at 0.78,
/// chin at the bottom edge, as read off the data set's apex crops and flow
/// images), in a `side` × `side` crop. Classification uses it so EPIR sees
/// faces framed as in training.
pub fn training_crop_landmarks(side: f32) -> Landmarks {
    [[0.30, 0.33], [0.70, 0.33], [0.50, 0.56], [0.34, 0.78], [0.66, 0.78]].map(|[x, y]| [x * side, y * side])
}

/// Crops at a smaller scale than this (crop pixels per image pixel: faces
/// at about half the frame's width and more) are taken from an
/// area-averaged copy of the face (`Similarity::warp_shrunk`). At 0.75,
/// which also averaged the synthetic set's ordinary framing, the quieter
/// crops lowered the spotting threshold: 8 false events instead of 4 in
/// `make eval-spotting` (2026-11-28).
const ANTI_ALIAS_BELOW: f64 = 0.4;

/// `image` warped by the affine map `m` (image → crop) into a `side` ×
/// `side` crop, bilinear, border pixels replicated.
fn warp_affine(image: &Mat, m: [[f64; 3]; 2], side: i32) -> Result<Mat, FaceError> {
    let m = Mat::from_slice_2d(&m)?;
    debug_assert_eq!(m.typ(), CV_64F);
    let mut out = Mat::default();
    imgproc::warp_affine(
        image,
        &mut out,
        &m,
        Size::new(side, side),
        imgproc::INTER_LINEAR,
        opencv::core::BORDER_REPLICATE,
        Scalar::default(),
    )?;
    Ok(out)
}

/// A similarity (rotation, uniform scale, translation, no reflection)
/// mapping image points to crop points: `x' = a x - b y + tx`,
/// `y' = b x + a y + ty`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Similarity {
    pub a: f64,
    pub b: f64,
    pub tx: f64,
    pub ty: f64,
}

impl Similarity {
    pub const IDENTITY: Similarity = Similarity { a: 1.0, b: 0.0, tx: 0.0, ty: 0.0 };

    /// Least-squares similarity taking `from` onto `to` (Umeyama 1991; in 2-D
    /// the rotation-scale matrix `[[a, -b], [b, a]]` is linear in `a`, `b`, so
    /// the closed form below is exact and cannot reflect). `None` when the
    /// points of `from` coincide or anything is not finite.
    pub fn fit(from: &Landmarks, to: &Landmarks) -> Option<Self> {
        let n = from.len() as f64;
        let mean = |pts: &Landmarks| {
            let (sx, sy) = pts.iter().fold((0.0, 0.0), |(sx, sy), p| (sx + f64::from(p[0]), sy + f64::from(p[1])));
            (sx / n, sy / n)
        };
        let (fx, fy) = mean(from);
        let (gx, gy) = mean(to);
        let (mut spread, mut dot, mut cross) = (0.0f64, 0.0f64, 0.0f64);
        for (p, q) in from.iter().zip(to) {
            let (px, py) = (f64::from(p[0]) - fx, f64::from(p[1]) - fy);
            let (qx, qy) = (f64::from(q[0]) - gx, f64::from(q[1]) - gy);
            spread += px * px + py * py;
            dot += px * qx + py * qy;
            cross += px * qy - py * qx;
        }
        if !(spread.is_finite() && dot.is_finite() && cross.is_finite()) || spread < 1e-9 {
            return None;
        }
        let (a, b) = (dot / spread, cross / spread);
        if a * a + b * b < 1e-18 {
            return None;
        }
        let s = Similarity { a, b, tx: gx - (a * fx - b * fy), ty: gy - (b * fx + a * fy) };
        s.is_finite().then_some(s)
    }

    /// The transform taking a face with these landmarks into a `side` x
    /// `side` crop with the landmarks on [`canonical_landmarks`].
    pub fn crop_from_face(landmarks: &Landmarks, side: i32) -> Option<Self> {
        Self::fit(landmarks, &canonical_landmarks(side as f32))
    }

    /// The transform into a `side` × `side` crop framed as the training
    /// data ([`training_crop_landmarks`]).
    pub fn training_crop_from_face(landmarks: &Landmarks, side: i32) -> Option<Self> {
        Self::fit(landmarks, &training_crop_landmarks(side as f32))
    }

    /// This transform followed by a uniform scaling of the crop by `factor`.
    pub fn scaled(&self, factor: f64) -> Self {
        Self { a: self.a * factor, b: self.b * factor, tx: self.tx * factor, ty: self.ty * factor }
    }

    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        let (x, y) = (f64::from(p[0]), f64::from(p[1]));
        [(self.a * x - self.b * y + self.tx) as f32, (self.b * x + self.a * y + self.ty) as f32]
    }

    /// The transform undoing this one (crop → image). A fitted similarity
    /// always has a non-zero scale, so this is finite for them.
    pub fn inverse(&self) -> Self {
        let s2 = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / s2, -self.b / s2);
        Similarity { a, b, tx: -(a * self.tx - b * self.ty), ty: -(b * self.tx + a * self.ty) }
    }

    /// Crop pixels per image pixel.
    pub fn scale(&self) -> f64 {
        self.a.hypot(self.b)
    }

    /// Rotation in radians (counter-clockwise in x-right, y-up terms; with
    /// image y pointing down, positive turns clockwise on screen).
    pub fn angle(&self) -> f64 {
        self.b.atan2(self.a)
    }

    /// `self` after `first`: a point goes through `first`, then `self`.
    pub fn compose(&self, first: &Similarity) -> Self {
        Similarity {
            a: self.a * first.a - self.b * first.b,
            b: self.b * first.a + self.a * first.b,
            tx: self.a * first.tx - self.b * first.ty + self.tx,
            ty: self.b * first.tx + self.a * first.ty + self.ty,
        }
    }

    fn is_finite(&self) -> bool {
        self.a.is_finite() && self.b.is_finite() && self.tx.is_finite() && self.ty.is_finite()
    }

    /// Warps `image` (grey or BGR, any depth OpenCV warps) into a `side` x
    /// `side` crop: bilinear, with the border replicated.
    pub fn warp(&self, image: &Mat, side: i32) -> Result<Mat, FaceError> {
        if side <= 0 || image.empty() {
            return Err(FaceError::Detect(format!(
                "cannot warp a {}x{} image to a {side} px crop",
                image.cols(),
                image.rows()
            )));
        }
        if !self.is_finite() {
            return Err(FaceError::Detect(format!("cannot warp with a non-finite transform {self:?}")));
        }
        if self.scale() < ANTI_ALIAS_BELOW {
            if let Some(out) = self.warp_shrunk(image, side)? {
                return Ok(out);
            }
        }
        let m = [[self.a, -self.b, self.tx], [self.b, self.a, self.ty]];
        warp_affine(image, m, side)
    }

    /// Which pixels of a `side` × `side` crop show the `cols` × `rows`
    /// frame, at least `margin` crop pixels inside its edge (one flag per
    /// pixel, row by row); `None` when all of them do.
    pub fn inside_mask(&self, cols: i32, rows: i32, side: i32, margin: f64) -> Option<Vec<bool>> {
        let inverse = self.inverse();
        let m = margin / self.scale().max(1e-9);
        let (xmax, ymax) = (f64::from(cols) - 1.0 - m, f64::from(rows) - 1.0 - m);
        let mut all = true;
        let mask: Vec<bool> = (0..side)
            .flat_map(|y| (0..side).map(move |x| (x, y)))
            .map(|(x, y)| {
                let [px, py] = inverse.apply([x as f32, y as f32]).map(f64::from);
                let shown = px >= m && px <= xmax && py >= m && py <= ymax;
                all &= shown;
                shown
            })
            .collect();
        (!all).then_some(mask)
    }

    /// The crop of a face larger than it: the face's part of the image is
    /// first area-averaged to about the crop's resolution, then warped.
    /// Bilinear sampling straight from a face 3-5 times the crop's size
    /// (a close-up) reads one pixel in ten and aliases: skin texture and
    /// sensor noise shimmer in the flow as false motion, and a close-up at
    /// 60 % of the frame width gave 3 of 4 events and 2 false ones where a
    /// face at 20 % gave 4 and none (tests/framing_spotting.rs). `None`
    /// when the crop lies wholly outside the image (the plain warp then
    /// replicates the border, as for any crop).
    fn warp_shrunk(&self, image: &Mat, side: i32) -> Result<Option<Mat>, FaceError> {
        let scale = self.scale();
        let inverse = self.inverse();
        let s = side as f32;
        let corners = [[0.0, 0.0], [s, 0.0], [0.0, s], [s, s]].map(|p| inverse.apply(p));
        // Two crop pixels of margin for the bilinear taps at the edges.
        let margin = (2.0 / scale) as f32;
        let (cols, rows) = (image.cols(), image.rows());
        let lo = |v: f32| (v - margin).floor().max(0.0) as i32;
        let x0 = corners.iter().map(|p| p[0]).fold(f32::MAX, f32::min);
        let y0 = corners.iter().map(|p| p[1]).fold(f32::MAX, f32::min);
        let x1 = corners.iter().map(|p| p[0]).fold(f32::MIN, f32::max);
        let y1 = corners.iter().map(|p| p[1]).fold(f32::MIN, f32::max);
        let (x0, y0) = (lo(x0).min(cols), lo(y0).min(rows));
        let x1 = ((x1 + margin).ceil() as i32).clamp(x0, cols);
        let y1 = ((y1 + margin).ceil() as i32).clamp(y0, rows);
        let (w, h) = (x1 - x0, y1 - y0);
        if w < 2 || h < 2 {
            return Ok(None);
        }
        let region = Mat::roi(image, opencv::core::Rect::new(x0, y0, w, h))?;
        let (sw, sh) = (((f64::from(w) * scale).round() as i32).max(1), ((f64::from(h) * scale).round() as i32).max(1));
        let mut small = Mat::default();
        imgproc::resize(&region, &mut small, Size::new(sw, sh), 0.0, 0.0, imgproc::INTER_AREA)?;
        // Small pixel (u, v) covers image pixels around x = x0 - 0.5 +
        // fx (u + 0.5) (pixel centres at integers), and likewise in y.
        let (fx, fy) = (f64::from(w) / f64::from(sw), f64::from(h) / f64::from(sh));
        let (ox, oy) = (f64::from(x0) - 0.5 + 0.5 * fx, f64::from(y0) - 0.5 + 0.5 * fy);
        let m = [
            [self.a * fx, -self.b * fy, self.a * ox - self.b * oy + self.tx],
            [self.b * fx, self.a * fy, self.b * ox + self.a * oy + self.ty],
        ];
        warp_affine(&small, m, side).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use opencv::core::CV_8UC1;
    use opencv::prelude::*;

    use super::*;
    use crate::face::mtcnn::test_support::{astronaut, mtcnn};
    use crate::face::{FaceDetector, MtcnnOptions};

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn fit_recovers_a_known_transform() {
        let truth = Similarity { a: 0.6 * 0.8f64.cos(), b: 0.6 * 0.8f64.sin(), tx: -31.5, ty: 12.25 };
        let from: Landmarks = [[200.0, 100.0], [247.0, 104.0], [225.0, 130.0], [201.0, 140.0], [246.0, 142.0]];
        let mut to = [[0.0f32; 2]; 5];
        for (t, f) in to.iter_mut().zip(&from) {
            *t = truth.apply(*f);
        }
        let fitted = Similarity::fit(&from, &to).expect("fit");
        for (x, y) in [(fitted.a, truth.a), (fitted.b, truth.b), (fitted.tx, truth.tx), (fitted.ty, truth.ty)] {
            assert!(close(x, y, 1e-4), "{fitted:?} vs {truth:?}");
        }
        assert!(close(fitted.scale(), 0.6, 1e-6) && close(fitted.angle(), 0.8, 1e-6));
        let inverse = fitted.inverse();
        for p in from {
            let back = inverse.apply(fitted.apply(p));
            assert!(
                close(f64::from(back[0]), f64::from(p[0]), 1e-3) && close(f64::from(back[1]), f64::from(p[1]), 1e-3)
            );
        }
        let id = inverse.compose(&fitted);
        assert!(
            close(id.a, 1.0, 1e-12) && close(id.b, 0.0, 1e-12) && close(id.tx, 0.0, 1e-9) && close(id.ty, 0.0, 1e-9)
        );
    }

    #[test]
    fn fit_never_reflects_and_refuses_degenerate_points() {
        let from: Landmarks = [[0.0, 0.0], [10.0, 0.0], [5.0, 5.0], [1.0, 10.0], [9.0, 10.0]];
        let mut mirrored = from;
        for p in mirrored.iter_mut() {
            p[0] = -p[0];
        }
        // The best similarity onto a mirror image is no reflection: the
        // determinant a^2 + b^2 is positive by construction, and it fits worse.
        let s = Similarity::fit(&from, &mirrored).expect("fit");
        assert!(s.scale() < 0.9, "{s:?}");
        assert_eq!(Similarity::fit(&[[3.0, 4.0]; 5], &from), None);
        assert_eq!(Similarity::fit(&from, &[[3.0, 4.0]; 5]), None);
        assert_eq!(Similarity::fit(&[[f32::NAN, 0.0]; 5], &from), None);
    }

    #[test]
    fn template_keeps_order_and_margins() {
        let t = canonical_landmarks(CROP_SIDE as f32);
        assert!(t[0][0] < t[1][0] && t[3][0] < t[4][0]);
        assert!(t[0][1] < t[2][1] && t[2][1] < t[3][1]);
        // Eyes to mouth about 33 px: brows and forehead above, chin below.
        let eye_mouth = (t[3][1] + t[4][1]) / 2.0 - (t[0][1] + t[1][1]) / 2.0;
        assert!((30.0..36.0).contains(&eye_mouth), "{eye_mouth}");
        let half = canonical_landmarks(56.0);
        assert!(close(f64::from(half[2][0]) * 2.0, f64::from(t[2][0]), 1e-4));
    }

    #[test]
    fn warping_the_astronaut_puts_landmarks_on_the_template() {
        let image = astronaut();
        let face = mtcnn(MtcnnOptions::default()).detect(&image).expect("detect").remove(0);
        let s = Similarity::crop_from_face(&face.landmarks, CROP_SIDE).expect("fit");
        let template = canonical_landmarks(CROP_SIDE as f32);
        // Five points, four degrees of freedom: the fit leaves a residual.
        // The astronaut smiles broadly (mouth corners high and wide), so
        // measured: eyes 2.1 and 2.0 px, nose 4.4, mouth corners 5.7 and 5.5.
        let residuals: Vec<f32> = face
            .landmarks
            .iter()
            .zip(&template)
            .map(|(p, q)| {
                let m = s.apply(*p);
                (m[0] - q[0]).hypot(m[1] - q[1])
            })
            .collect();
        assert!(residuals[0] < 2.5 && residuals[1] < 2.5, "{residuals:?}");
        assert!(residuals.iter().all(|&r| r < 6.5), "{residuals:?}");
        let crop = s.warp(&image, CROP_SIDE).expect("warp");
        assert_eq!((crop.cols(), crop.rows(), crop.typ()), (CROP_SIDE, CROP_SIDE, image.typ()));
        // Detect again on a 3x upscaled crop: each landmark is where the
        // transform maps it (measured: within 0.8 px).
        let mut big = Mat::default();
        imgproc::resize(&crop, &mut big, Size::new(336, 336), 0.0, 0.0, imgproc::INTER_CUBIC).expect("resize");
        let again = mtcnn(MtcnnOptions::default()).detect(&big).expect("detect");
        assert_eq!(again.len(), 1, "{again:?}");
        for (p, q) in again[0].landmarks.iter().zip(&face.landmarks) {
            let q = s.apply(*q);
            let d = (p[0] / 3.0 - q[0]).hypot(p[1] / 3.0 - q[1]);
            assert!(d < 2.0, "re-detected {p:?}/3 vs mapped {q:?}: {d} px");
        }
        if let Some(dir) = std::env::var_os("GLIMPSE_FACE_DEBUG_DIR") {
            let path = std::path::Path::new(&dir).join("astronaut-crop.png");
            opencv::imgcodecs::imwrite(&path.to_string_lossy(), &big, &opencv::core::Vector::new()).expect("write");
        }
        // Grey images warp too.
        let mut grey = Mat::default();
        imgproc::cvt_color(&image, &mut grey, imgproc::COLOR_BGR2GRAY, 0).expect("grey");
        let crop = s.warp(&grey, CROP_SIDE).expect("warp grey");
        assert_eq!(crop.typ(), CV_8UC1);
    }

    fn mean_abs_diff(a: &Mat, b: &Mat) -> f64 {
        let (a, b) = (a.data_bytes().expect("a"), b.data_bytes().expect("b"));
        a.iter().zip(b).map(|(&x, &y)| (f64::from(x) - f64::from(y)).abs()).sum::<f64>() / a.len() as f64
    }

    #[test]
    fn a_large_face_is_averaged_down_not_aliased() {
        // A 1-px checkerboard crop at a quarter of its size: averaging gives
        // flat grey; reading one pixel in four would give black or white.
        let mut board = Mat::new_rows_cols_with_default(512, 512, CV_8UC1, Scalar::all(0.0)).expect("board");
        for y in 0..512 {
            for x in 0..512 {
                *board.at_2d_mut::<u8>(y, x).expect("px") = if (x + y) % 2 == 0 { 255 } else { 0 };
            }
        }
        let quarter = Similarity { a: 0.25 * 0.6f64.cos(), b: 0.25 * 0.6f64.sin(), tx: 10.0, ty: -40.0 };
        let crop = quarter.warp(&board, 112).expect("warp");
        let bytes = crop.data_bytes().expect("bytes");
        let worst = bytes.iter().map(|&v| (f64::from(v) - 127.5).abs()).fold(0.0, f64::max);
        assert!(worst < 12.0, "grey expected, a pixel is {worst} from mid-grey");

        // On a real face the averaged crop matches the direct one where
        // there is nothing to alias (after both are smoothed), and the
        // same face points land in the same crop pixels: no shift.
        let image = astronaut();
        let mut grey = Mat::default();
        imgproc::cvt_color_def(&image, &mut grey, imgproc::COLOR_BGR2GRAY).expect("grey");
        let face = mtcnn(MtcnnOptions::default()).detect(&image).expect("detect").remove(0);
        let small = Similarity::crop_from_face(&face.landmarks, 32).expect("fit");
        assert!(small.scale() < ANTI_ALIAS_BELOW, "{}", small.scale());
        let averaged = small.warp(&grey, 32).expect("averaged");
        let m = [[small.a, -small.b, small.tx], [small.b, small.a, small.ty]];
        let direct = warp_affine(&grey, m, 32).expect("direct");
        let blur = |m: &Mat| {
            let mut out = Mat::default();
            imgproc::gaussian_blur_def(m, &mut out, Size::new(5, 5), 1.5).expect("blur");
            out
        };
        let diff = mean_abs_diff(&blur(&averaged), &blur(&direct));
        assert!(diff < 4.0, "smoothed crops differ by {diff} grey levels on average");
        // A shift of one crop pixel would differ far more.
        let shifted = warp_affine(&grey, [[m[0][0], m[0][1], m[0][2] + 1.0], m[1]], 32).expect("shifted");
        assert!(mean_abs_diff(&blur(&shifted), &blur(&direct)) > diff * 1.5);
    }

    #[test]
    fn inside_mask_marks_the_crop_pixels_that_show_the_frame() {
        // Crop pixel = image pixel / 2 + 10: the 100-px crop covers image
        // x, y in -20..180; a 120 x 400 frame leaves the crop's right part
        // (image x >= 120, crop x >= 70) outside, less a 4-crop-px margin.
        let s = Similarity { a: 0.5, b: 0.0, tx: 10.0, ty: 10.0 };
        let mask = s.inside_mask(120, 400, 100, 4.0).expect("partly outside");
        let shown = |x: usize, y: usize| mask[y * 100 + x];
        assert!(shown(20, 50) && shown(60, 50));
        assert!(!shown(68, 50) && !shown(90, 50), "right of the frame and its margin");
        assert!(!shown(50, 2) && !shown(12, 50), "past the top and left edges (image -16 px) and margins");
        assert!(shown(14, 14), "image pixel (8, 8), 4 crop px inside");
        // Wholly inside (image 20..220 in a 1000-px frame): no mask.
        let inner = Similarity { tx: -10.0, ty: -10.0, ..s };
        assert!(inner.inside_mask(1000, 1000, 100, 4.0).is_none());
    }
}
