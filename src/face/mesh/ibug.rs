//! The 68-point iBUG 300-W layout taken from the 468-point mesh.
//!
//! Each iBUG point is the mesh vertex at the same anatomical place (MediaPipe's
//! canonical face model numbering; the mesh is left-right symmetric, and so is
//! this table: iBUG mirror pairs map to mesh mirror pairs, which
//! `tests::ibug_table_is_mirror_symmetric` checks on a mirrored photo). "Left"
//! is the image's left, i.e. the subject's right, as in iBUG.
//!
//! The jaw follows the mesh's face oval down to the chin (152); its ends, 0
//! and 16, are the oval's vertices at eye-corner height (127, 356), where
//! iBUG's jaw starts beside the ear. Eye corners are the mesh's lid corners
//! (33, 133, 362, 263). The nose tip (iBUG 30) is vertex 4, the mesh's most
//! protruding nose point (smallest z on the astronaut), with the bridge
//! 27–29 spread evenly above it from the nasion (168).
#[rustfmt::skip]
pub const IBUG68_FROM_MESH: [usize; 68] = [
    // Jaw 0–16, image left to right through the chin (152).
    127, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 356,
    // Brows 17–21 (image left, outer to inner) and 22–26 (inner to outer).
    71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
    // Nose: bridge 27–30 top to tip, base 31–35 left to right.
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    // Image-left eye 36–41: outer corner, upper lid, inner corner, lower lid.
    33, 160, 158, 133, 153, 144,
    // Image-right eye 42–47: inner corner, upper lid, outer corner, lower lid.
    362, 385, 387, 263, 373, 380,
    // Outer lip 48–59: left corner, upper lip to the right corner, lower lip back.
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    // Inner lip 60–67: left corner, upper, right corner, lower.
    78, 82, 13, 312, 308, 317, 14, 87,
];

/// The five MTCNN-style points (eye centres, nose tip, mouth corners) from
/// the 68 iBUG points: each eye's centre is the mean of its six contour
/// points, as MTCNN's eye point sits on the pupil.
pub fn five_from_ibug68(points: &[[f32; 2]]) -> Option<crate::face::Landmarks> {
    if points.len() != 68 || points.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    let mean = |range: std::ops::Range<usize>| {
        let n = range.len() as f32;
        let (sx, sy) = points[range].iter().fold((0.0, 0.0), |(sx, sy), p| (sx + p[0], sy + p[1]));
        [sx / n, sy / n]
    };
    Some([mean(36..42), mean(42..48), points[30], points[48], points[54]])
}
