//! Face appearance, so that a face coming back (after leaving the frame or
//! after a shot cut) gets its old ID only when it looks like the face that
//! had it, never because it shows up at the same place.
//!
//! Two parts: the geometry of the five landmarks in eye-normalised
//! coordinates (translation, scale and roll removed), and a texture: the
//! grey aligned crop's inner face (an ellipse that leaves out hair edges and
//! background) averaged to a coarse grid. Textures are compared by
//! correlation after removing mean and contrast, so lighting gain and
//! offset do not count; grid cells that fell outside the frame are marked
//! and left out of the comparison, so a face half out of the frame can still
//! be compared.
use opencv::core::{Mat, MatTraitConst, Size, CV_32F};
use opencv::imgproc;

use super::{FaceError, Landmarks, Similarity};

/// Side of the aligned crop the texture is read from (canonical framing).
const CROP_SIDE_PX: i32 = 112;
/// Texture grid side: the crop is area-averaged to this many cells a side.
pub const TEXTURE_GRID: usize = 28;
/// The inner-face ellipse in crop fractions: centre and semi-axes.
const ELLIPSE_CENTRE: [f32; 2] = [0.5, 0.57];
const ELLIPSE_SEMI_AXES: [f32; 2] = [0.26, 0.32];
/// Least fraction of the ellipse's cells both textures must have inside the
/// frame for a texture comparison.
const MIN_SHARED_CELLS: f32 = 0.5;

/// Thresholds for "the same person". On MTCNN's detections in the
/// synthetic scenes (`synth::scenes`, `tests/tracks.rs`
/// `print_appearance_distances`: 67 views, 1161 same-person and 1050
/// other-person pairs), texture distances were 0.00–0.10 for one person
/// (up to 1.3 only when the face was half hidden behind another) and
/// 0.63–0.99 between the two people; geometry overlapped (same person up
/// to 0.26, other person 0.10–0.21), so it is only a loose veto against a
/// face of clearly other proportions and the texture decides.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IdentityThresholds {
    /// Largest RMS landmark difference, in inter-eye distances.
    pub max_geometry: f32,
    /// Largest texture distance (1 − correlation).
    pub max_texture: f32,
}

impl Default for IdentityThresholds {
    fn default() -> Self {
        Self { max_geometry: 0.25, max_texture: 0.3 }
    }
}

/// What a face looks like.
#[derive(Clone, Debug, PartialEq)]
pub struct FaceDescriptor {
    /// Nose tip and mouth corners with the left eye at (0, 0) and the
    /// right eye at (1, 0).
    geometry: [f32; 6],
    /// Grey levels of the ellipse's grid cells (row-major over the
    /// `TEXTURE_GRID`² grid, cells outside the ellipse dropped); NaN where
    /// the cell lay outside the frame. `None`: geometry only.
    texture: Option<Vec<f32>>,
}

/// How far apart two descriptors are.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AppearanceDistance {
    pub geometry: f32,
    /// `None` when either has no texture or they share too few cells.
    pub texture: Option<f32>,
}

impl AppearanceDistance {
    /// Same person: every part that could be compared is within its
    /// threshold.
    pub fn same_person(&self, thresholds: &IdentityThresholds) -> bool {
        self.geometry <= thresholds.max_geometry && self.texture.is_none_or(|t| t <= thresholds.max_texture)
    }
}

/// The ellipse's cells of the texture grid, row-major.
fn ellipse_cells() -> impl Iterator<Item = (usize, usize)> {
    let n = TEXTURE_GRID;
    (0..n).flat_map(move |row| (0..n).map(move |col| (row, col))).filter(move |&(row, col)| {
        let x = (col as f32 + 0.5) / n as f32;
        let y = (row as f32 + 0.5) / n as f32;
        let dx = (x - ELLIPSE_CENTRE[0]) / ELLIPSE_SEMI_AXES[0];
        let dy = (y - ELLIPSE_CENTRE[1]) / ELLIPSE_SEMI_AXES[1];
        dx * dx + dy * dy <= 1.0
    })
}

impl FaceDescriptor {
    /// Geometry alone (no image at hand); `None` when the eyes coincide.
    pub fn from_landmarks(landmarks: &Landmarks) -> Option<Self> {
        let [le, re] = [landmarks[0], landmarks[1]];
        let (ex, ey) = (re[0] - le[0], re[1] - le[1]);
        let d2 = ex * ex + ey * ey;
        if !(d2.is_finite() && d2 > 1e-6) {
            return None;
        }
        // Rotate and scale so that the eye vector becomes (1, 0).
        let mut geometry = [0.0f32; 6];
        for (k, p) in landmarks[2..].iter().enumerate() {
            let (px, py) = (p[0] - le[0], p[1] - le[1]);
            geometry[2 * k] = (px * ex + py * ey) / d2;
            geometry[2 * k + 1] = (py * ex - px * ey) / d2;
        }
        geometry.iter().all(|g| g.is_finite()).then_some(Self { geometry, texture: None })
    }

    /// Geometry and texture of the face with `landmarks` in the 8-bit grey
    /// `grey` frame; `None` when the landmarks are degenerate.
    pub fn from_face(grey: &Mat, landmarks: &Landmarks) -> Result<Option<Self>, FaceError> {
        let Some(mut descriptor) = Self::from_landmarks(landmarks) else { return Ok(None) };
        let Some(to_crop) = Similarity::crop_from_face(landmarks, CROP_SIDE_PX) else { return Ok(None) };
        let crop = to_crop.warp(grey, CROP_SIDE_PX)?;
        let mut crop_f = Mat::default();
        crop.convert_to(&mut crop_f, CV_32F, 1.0, 0.0)?;
        let n = TEXTURE_GRID as i32;
        let mut grid = Mat::default();
        imgproc::resize(&crop_f, &mut grid, Size::new(n, n), 0.0, 0.0, imgproc::INTER_AREA)?;
        let to_image = to_crop.inverse();
        let (width, height) = (grey.cols() as f32, grey.rows() as f32);
        let cell = CROP_SIDE_PX as f32 / n as f32;
        let inside = |x: f32, y: f32| {
            let p = to_image.apply([x, y]);
            p[0] >= 0.0 && p[1] >= 0.0 && p[0] <= width - 1.0 && p[1] <= height - 1.0
        };
        let mut texture = Vec::new();
        for (row, col) in ellipse_cells() {
            let (x0, y0) = (col as f32 * cell, row as f32 * cell);
            let corners = [(x0, y0), (x0 + cell, y0), (x0, y0 + cell), (x0 + cell, y0 + cell)];
            let value = if corners.iter().all(|&(x, y)| inside(x, y)) {
                *grid.at_2d::<f32>(row as i32, col as i32)?
            } else {
                f32::NAN
            };
            texture.push(value);
        }
        descriptor.texture = Some(texture);
        Ok(Some(descriptor))
    }

    pub fn has_texture(&self) -> bool {
        self.texture.is_some()
    }

    /// Cells of the texture that lay inside the frame (0 without texture).
    pub fn visible_fraction(&self) -> f32 {
        self.texture.as_ref().map_or(0.0, |t| t.iter().filter(|v| v.is_finite()).count() as f32 / t.len().max(1) as f32)
    }

    pub fn distance(&self, other: &FaceDescriptor) -> AppearanceDistance {
        let squared: f32 = self.geometry.iter().zip(&other.geometry).map(|(a, b)| (a - b) * (a - b)).sum();
        let geometry = (squared / 3.0).sqrt();
        let texture = match (&self.texture, &other.texture) {
            (Some(a), Some(b)) => texture_distance(a, b),
            _ => None,
        };
        AppearanceDistance { geometry, texture }
    }

    /// Moves this descriptor towards `newer` by weight `w` (a track's
    /// running appearance); texture cells known on one side only take the
    /// known value.
    pub fn blend(&mut self, newer: &FaceDescriptor, w: f32) {
        for (g, n) in self.geometry.iter_mut().zip(&newer.geometry) {
            *g += w * (n - *g);
        }
        match (&mut self.texture, &newer.texture) {
            (Some(mine), Some(theirs)) => {
                for (m, t) in mine.iter_mut().zip(theirs) {
                    *m = match (m.is_finite(), t.is_finite()) {
                        (true, true) => *m + w * (t - *m),
                        (false, true) => *t,
                        _ => *m,
                    };
                }
            }
            (None, Some(theirs)) => self.texture = Some(theirs.clone()),
            _ => {}
        }
    }
}

/// 1 − Pearson correlation over the cells both textures have; `None` when
/// they share too few cells or either is flat there.
fn texture_distance(a: &[f32], b: &[f32]) -> Option<f32> {
    let shared: Vec<(f32, f32)> =
        a.iter().zip(b).filter(|(x, y)| x.is_finite() && y.is_finite()).map(|(x, y)| (*x, *y)).collect();
    if (shared.len() as f32) < MIN_SHARED_CELLS * a.len().max(1) as f32 {
        return None;
    }
    let n = shared.len() as f32;
    let (ma, mb) = shared.iter().fold((0.0, 0.0), |(sa, sb), (x, y)| (sa + x / n, sb + y / n));
    let (mut sab, mut saa, mut sbb) = (0.0f32, 0.0f32, 0.0f32);
    for (x, y) in &shared {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= 1e-6 || sbb <= 1e-6 {
        return None;
    }
    Some(1.0 - sab / (saa * sbb).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FACE: Landmarks = [[100.0, 100.0], [140.0, 100.0], [120.0, 122.0], [104.0, 138.0], [136.0, 138.0]];

    fn moved(landmarks: &Landmarks, scale: f32, angle: f32, shift: [f32; 2]) -> Landmarks {
        let (s, c) = angle.sin_cos();
        landmarks.map(|[x, y]| [scale * (c * x - s * y) + shift[0], scale * (s * x + c * y) + shift[1]])
    }

    #[test]
    fn geometry_ignores_place_size_and_roll_but_not_proportions() {
        let a = FaceDescriptor::from_landmarks(&FACE).expect("descriptor");
        let b = FaceDescriptor::from_landmarks(&moved(&FACE, 1.7, 0.3, [55.0, -20.0])).expect("descriptor");
        assert!(a.distance(&b).geometry < 1e-4, "{:?}", a.distance(&b));
        // A face half as long again below the eyes is another face.
        let longer = FACE.map(|[x, y]| [x, 100.0 + 1.5 * (y - 100.0)]);
        let c = FaceDescriptor::from_landmarks(&longer).expect("descriptor");
        let d = a.distance(&c);
        assert!(d.geometry > IdentityThresholds::default().max_geometry, "{d:?}");
        assert!(!d.same_person(&IdentityThresholds::default()));
        assert!(FaceDescriptor::from_landmarks(&[[1.0, 1.0]; 5]).is_none());
    }

    #[test]
    fn texture_correlation_ignores_gain_and_offset_and_missing_cells() {
        let a: Vec<f32> = (0..100).map(|i| ((i * 37) % 101) as f32).collect();
        let brighter: Vec<f32> = a.iter().map(|v| 1.5 * v + 20.0).collect();
        assert!(texture_distance(&a, &brighter).is_some_and(|d| d.abs() < 1e-4));
        let mut half = brighter.clone();
        half[..40].iter_mut().for_each(|v| *v = f32::NAN);
        assert!(texture_distance(&a, &half).is_some_and(|d| d.abs() < 1e-4));
        half[..60].iter_mut().for_each(|v| *v = f32::NAN);
        assert_eq!(texture_distance(&a, &half), None, "too few shared cells");
        let other: Vec<f32> = (0..100).map(|i| ((i * 53) % 97) as f32).collect();
        assert!(texture_distance(&a, &other).is_some_and(|d| d > 0.5));
    }
}
