//! The astronaut's face: hand-measured landmarks in astronaut.png and the
//! displacement fields that make each micro-expression class on it.
//!
//! The points were read off scikit-image 0.24.0's astronaut.png (512×512,
//! Eileen Collins, frontal) by eye: crops of the face, eyes and mouth were
//! enlarged 5–9× with a 10 px grid drawn over them and each point placed at
//! the pixel it sits on (pupil centres, lip-corner junctions, brow midlines,
//! lower-lip edge, chin tip). Expect ±1–2 px; the MTCNN work cross-checks
//! the five standard points.

/// A point in astronaut.png pixels.
pub type Point = [f64; 2];

pub const LEFT_EYE: Point = [204.0, 101.0];
pub const RIGHT_EYE: Point = [246.0, 103.5];
pub const NOSE_TIP: Point = [223.0, 127.0];
pub const LEFT_MOUTH: Point = [203.0, 140.0];
pub const RIGHT_MOUTH: Point = [244.5, 141.0];
/// Brows, outer → centre → inner, for the image-left brow …
pub const LEFT_BROW: [Point; 3] = [[192.0, 90.0], [202.0, 88.5], [212.0, 91.5]];
/// … and inner → centre → outer for the image-right one.
pub const RIGHT_BROW: [Point; 3] = [[238.0, 93.5], [250.0, 92.0], [259.0, 93.0]];
/// Centre of each eye opening (between the corners), for blinks.
pub const LEFT_EYE_OPENING: Point = [202.0, 101.0];
pub const RIGHT_EYE_OPENING: Point = [247.5, 103.0];
pub const LOWER_LIP: Point = [221.0, 153.0];
pub const CHIN: Point = [222.0, 178.0];
/// Between lower lip and chin, where a jaw drop moves the skin most.
pub const JAW: Point = [221.5, 165.5];
/// Skin extent of the face (cheek to cheek, hairline to chin), for the box
/// written to the ground truth.
pub const FACE_BOX: [f64; 4] = [179.0, 70.0, 273.0, 185.0];
/// Soft elliptical cut-out of the head (hair included) laid on the canvas.
pub const HEAD_CENTRE: Point = [224.0, 122.0];
pub const HEAD_SEMI_AXES: [f64; 2] = [64.0, 80.0];
/// The cheek-to-cheek width the canvas scale is chosen from.
pub const FACE_WIDTH: f64 = FACE_BOX[2] - FACE_BOX[0];

pub fn inter_eye_distance() -> f64 {
    (RIGHT_EYE[0] - LEFT_EYE[0]).hypot(RIGHT_EYE[1] - LEFT_EYE[1])
}

/// One Gaussian-weighted displacement: `direction` (unit-free, scaled
/// later) at `centre`, falling off with `sigma` (both in photo pixels).
#[derive(Clone, Copy, Debug)]
pub struct Bump {
    pub centre: Point,
    pub direction: [f64; 2],
    pub sigma: f64,
    /// Bumps of one group move one feature (brows, jaw); each group's
    /// summed field is normalised to peak at the event's amplitude.
    pub group: usize,
}

/// The bumps of one class (0 negative, 1 positive, 2 surprise), in photo
/// pixels; the renderer normalises their sum to a peak of 1 canvas pixel.
pub fn class_bumps(class: usize) -> Vec<Bump> {
    let iod = inter_eye_distance();
    let brow = 0.22 * iod;
    let mouth = 0.22 * iod;
    let bump = |centre, direction, sigma| Bump { centre, direction, sigma, group: 0 };
    let jaw = |centre, sigma| Bump { centre, direction: [0.0, 1.0], sigma, group: 1 };
    match class {
        // Brows lowered and drawn together (corrugator / AU4).
        0 => vec![
            bump(LEFT_BROW[2], [0.45, 1.0], brow),
            bump(LEFT_BROW[1], [0.25, 0.8], brow),
            bump(RIGHT_BROW[0], [-0.45, 1.0], brow),
            bump(RIGHT_BROW[1], [-0.25, 0.8], brow),
        ],
        // Lip corners pulled up and outward (zygomaticus / AU12).
        1 => vec![bump(LEFT_MOUTH, [-0.3, -1.0], mouth), bump(RIGHT_MOUTH, [0.3, -1.0], mouth)],
        // Brows raised (AU1+2) and the jaw dropped (AU26).
        _ => LEFT_BROW
            .iter()
            .chain(RIGHT_BROW.iter())
            .map(|&c| bump(c, [0.0, -1.0], brow))
            .chain([jaw(LOWER_LIP, 0.25 * iod), jaw(CHIN, 0.3 * iod)])
            .collect(),
    }
}

/// Where each class's motion is measured, with the expected direction of
/// image motion there (unit vector), in photo pixels.
pub fn class_probes(class: usize) -> Vec<(Point, [f64; 2])> {
    match class {
        0 => vec![(LEFT_BROW[2], [0.0, 1.0]), (RIGHT_BROW[0], [0.0, 1.0])],
        1 => vec![(LEFT_MOUTH, [0.0, -1.0]), (RIGHT_MOUTH, [0.0, -1.0])],
        _ => vec![(LEFT_BROW[1], [0.0, -1.0]), (RIGHT_BROW[1], [0.0, -1.0]), (JAW, [0.0, 1.0])],
    }
}
