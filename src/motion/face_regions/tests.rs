//! Known displacements on synthetic flow fields must come out as the right
//! region, size and direction, whatever the face's tilt and head motion.
use super::*;

/// A face of `iod` px at `centre`, tilted by `tilt_deg` (clockwise on
/// screen), as 68 frame points, and the rotation applied (for vectors).
fn face(iod: f32, centre: [f32; 2], tilt_deg: f32) -> (Vec<[f32; 2]>, impl Fn([f32; 2]) -> [f32; 2]) {
    let (s, c) = tilt_deg.to_radians().sin_cos();
    let rotate = move |v: [f32; 2]| [c * v[0] - s * v[1], s * v[0] + c * v[1]];
    let points = face_template_68()
        .iter()
        .map(|p| {
            let r = rotate([p[0] * iod, p[1] * iod]);
            [centre[0] + r[0], centre[1] + r[1]]
        })
        .collect();
    (points, rotate)
}

/// Adds a Gaussian displacement `d` (px) of width `sigma` at `at`.
fn bump(flow: &mut FlowField, at: [f32; 2], d: [f32; 2], sigma: f32) {
    for y in 0..flow.height {
        for x in 0..flow.width {
            let r2 = (x as f32 - at[0]).powi(2) + (y as f32 - at[1]).powi(2);
            let w = (-r2 / (2.0 * sigma * sigma)).exp();
            flow.u[y * flow.width + x] += w * d[0];
            flow.v[y * flow.width + x] += w * d[1];
        }
    }
}

fn region(found: &[RegionDisplacement], r: FaceRegion) -> &RegionDisplacement {
    found.iter().find(|d| d.region == Some(r)).expect("region measured")
}

#[test]
fn inner_brows_raised_on_a_tilted_face_read_as_inner_brows_up() {
    // 25° tilt: "up" is the face's up, not the image's.
    let (points, rotate) = face(60.0, [120.0, 110.0], 25.0);
    let mut flow = FlowField::zeros(240, 240);
    let up = rotate([0.0, -1.5]);
    for i in [21, 22] {
        bump(&mut flow, points[i], up, 4.0);
    }
    let found = measure_regions(&flow, &Similarity::IDENTITY, &points).expect("measured");
    let strongest = strongest_region(&found).expect("something moved");
    assert_eq!(strongest.region, Some(FaceRegion::InnerBrows));
    assert_eq!(strongest.direction, "up");
    // Patch means of a 1.5-px peak: over 1 px, and 2 % of 60 px or more.
    assert!(strongest.px > 1.0 && strongest.px <= 1.5, "{strongest:?}");
    assert!(strongest.iod_percent > 1.6, "{strongest:?}");
    assert!(strongest.dy_px > 0.9 * strongest.px);
    let hints = au_hints(&found);
    assert_eq!(hints.first().map(String::as_str), Some("inner brows up: AU1?"), "{hints:?}");
    assert!(!hints.iter().any(|h| h.contains("AU4") || h.contains("AU12")), "{hints:?}");
}

#[test]
fn lip_corners_pulled_up_and_out_under_head_motion_read_as_au12() {
    let (points, _) = face(50.0, [100.0, 90.0], 0.0);
    // The whole head shifts 3 px right, 2 px up and turns 0.5° about the
    // nose while the lip corners rise and spread by 1.2 px.
    let mut flow = FlowField::zeros(200, 200);
    let theta = 0.5f32.to_radians();
    for y in 0..200 {
        for x in 0..200 {
            let (dx, dy) = (x as f32 - 100.0, y as f32 - 110.0);
            flow.u[y * 200 + x] = 3.0 - theta * dy;
            flow.v[y * 200 + x] = -2.0 + theta * dx;
        }
    }
    bump(&mut flow, points[48], [-0.7, -1.1], 4.0);
    bump(&mut flow, points[54], [0.7, -1.1], 4.0);
    let found = measure_regions(&flow, &Similarity::IDENTITY, &points).expect("measured");
    let corners = region(&found, FaceRegion::LipCorners);
    assert_eq!(corners.direction, "up-outward", "{found:#?}");
    assert!(corners.dx_px > 0.2 && corners.dy_px > 0.6, "{corners:?}");
    assert_eq!(strongest_region(&found).and_then(|d| d.region), Some(FaceRegion::LipCorners));
    // The head motion itself is gone: the brows and chin stay put.
    for r in [FaceRegion::InnerBrows, FaceRegion::OuterBrows, FaceRegion::Chin] {
        assert!(region(&found, r).px < 0.15, "{r:?} moved: {found:#?}");
    }
    let hints = au_hints(&found);
    assert_eq!(hints, vec!["lip corners up: AU12?".to_string()]);
}

#[test]
fn brows_drawn_down_and_together_read_as_au4_through_a_crop() {
    // The flow covers a crop at half scale, rotated: the measure goes back
    // to frame pixels and the face's own frame.
    let (points, _) = face(80.0, [300.0, 260.0], 0.0);
    let image_to_flow = Similarity { a: 0.5 * 0.2f64.cos(), b: 0.5 * 0.2f64.sin(), tx: -40.0, ty: -20.0 };
    let mut flow = FlowField::zeros(260, 260);
    let to_flow_vector = |d: [f32; 2]| {
        let o = image_to_flow.apply([0.0, 0.0]);
        let e = image_to_flow.apply(d);
        [e[0] - o[0], e[1] - o[1]]
    };
    // Frame px: person's right inner brow moves right-down (inward), left
    // one left-down: 2 px down, 1 px in.
    bump(&mut flow, image_to_flow.apply(points[21]), to_flow_vector([1.0, 2.0]), 3.0);
    bump(&mut flow, image_to_flow.apply(points[22]), to_flow_vector([-1.0, 2.0]), 3.0);
    let found = measure_regions(&flow, &image_to_flow, &points).expect("measured");
    let inner = region(&found, FaceRegion::InnerBrows);
    assert_eq!(inner.direction, "down-inward", "{inner:?}");
    // Frame pixels, not flow pixels: most of the 2.24-px peak survives the
    // patch mean.
    assert!(inner.px > 1.5 && inner.px < 2.3, "{inner:?}");
    assert!(inner.dx_px < 0.0 && inner.dy_px < 0.0);
    let hints = au_hints(&found);
    assert!(hints.contains(&"brows down: AU4?".to_string()), "{hints:?}");
    assert!(hints.contains(&"brows together: AU4?".to_string()), "{hints:?}");
    assert!(!hints.iter().any(|h| h.contains("AU1")), "{hints:?}");
}

#[test]
fn a_dropped_jaw_reads_as_lips_apart_and_a_still_face_gives_no_hints() {
    let (points, _) = face(60.0, [120.0, 100.0], -10.0);
    let mut flow = FlowField::zeros(240, 240);
    let found = measure_regions(&flow, &Similarity::IDENTITY, &points).expect("measured");
    assert!(found.iter().all(|d| d.direction == "still" && d.px < 1e-4));
    assert!(au_hints(&found).is_empty());
    assert_eq!(strongest_region(&found), None);

    let (s, c) = (-10f32).to_radians().sin_cos();
    let down = [-s * 2.0, c * 2.0];
    bump(&mut flow, points[57], down, 6.0);
    bump(&mut flow, points[8], down, 10.0);
    let found = measure_regions(&flow, &Similarity::IDENTITY, &points).expect("measured");
    assert_eq!(region(&found, FaceRegion::LowerLip).direction, "down");
    assert_eq!(region(&found, FaceRegion::Chin).direction, "down");
    let hints = au_hints(&found);
    assert!(hints.contains(&"lips apart: AU25/26?".to_string()), "{hints:?}");
    assert!(!hints.iter().any(|h| h.contains("AU17")), "{hints:?}");
}

#[test]
fn without_68_points_nothing_is_guessed() {
    let flow = FlowField::zeros(64, 64);
    let five = [[10.0f32, 10.0]; 5];
    assert_eq!(measure_regions(&flow, &Similarity::IDENTITY, &five), Err(RegionMotionError::WrongPointCount(5)));
    let collapsed = [[10.0f32, 10.0]; 68];
    assert_eq!(measure_regions(&flow, &Similarity::IDENTITY, &collapsed), Err(RegionMotionError::NoEyeDistance));
    let (far, _) = face(30.0, [900.0, 900.0], 0.0);
    assert_eq!(measure_regions(&flow, &Similarity::IDENTITY, &far), Err(RegionMotionError::OutsideFlow));
}

#[test]
fn the_template_puts_each_region_where_it_belongs() {
    let y = |r: FaceRegion| r.template_sides()[0][1];
    assert!(y(FaceRegion::OuterBrows) < y(FaceRegion::UpperLids));
    assert!(y(FaceRegion::UpperLids) < y(FaceRegion::Cheeks));
    assert!(y(FaceRegion::Nose) < y(FaceRegion::UpperLip));
    assert!(y(FaceRegion::UpperLip) < y(FaceRegion::LowerLip));
    assert!(y(FaceRegion::LowerLip) < y(FaceRegion::Chin));
    let sides = FaceRegion::InnerBrows.template_sides();
    assert_eq!(sides.len(), 2);
    assert!(sides[0][0] < 0.0 && sides[1][0] > 0.0, "person's right side is image left");
    assert_eq!(FaceRegion::Chin.template_sides().len(), 1);
}
